/**
 * The checkpoint phase's reading side: finding a run's checkpoint and checking that it can
 * resume this model and recipe (../train.ts's restoreWeights and restoreState apply it).
 */
import type * as tf from "@tensorflow/tfjs";
import { resolve } from "node:path";
import type { TrainConfig } from "../config.js";
import { CHECKPOINT_DIR, CheckpointError, locateCheckpoint, readCheckpoint, type Checkpoint } from "../checkpoint.js";
import { pathText } from "../io.js";
import { TrainError } from "./error.js";

function schedulesOverEpochs(schedule: TrainConfig["schedule"]): boolean {
  return schedule.name === "cosine" || (schedule.name === "warmup" && schedule.then.name === "cosine");
}

/**
 * Checks that a checkpoint can resume this model and recipe: an error (TrainError) when its
 * weights cannot carry over, warnings (through `log`) when the run will differ from an
 * uninterrupted one.
 */
export function checkResumable(checkpoint: Checkpoint, model: tf.LayersModel, topology: string, config: TrainConfig, epochs: number, log: (line: string) => void): void {
  const s = checkpoint.state;
  const where = pathText(checkpoint.dir);
  if (s.model !== config.model) {
    throw new TrainError(`The checkpoint in ${where} is of the model \`${s.model}\`, not \`${config.model}\`. Resume it with the spec that trained it, or train \`${config.model}\` without --resume.`);
  }
  const now = new Map(model.weights.map((w) => [w.originalName, w.shape]));
  const then = new Map(s.weights.map((w) => [w.name, w.shape]));
  const problems: string[] = [];
  for (const [name, shape] of then) {
    const mine = now.get(name);
    if (mine === undefined) problems.push(`the checkpoint has \`${name}\`, the model does not`);
    else if (mine.join("x") !== shape.join("x")) problems.push(`\`${name}\` is ${shape.join("x")} in the checkpoint but ${mine.join("x")} in the spec`);
  }
  for (const name of now.keys()) if (!then.has(name)) problems.push(`the model has \`${name}\`, the checkpoint does not`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 3).join("; ") + (problems.length > 3 ? `; and ${problems.length - 3} more` : "");
    throw new TrainError(
      `The model \`${config.model}\` changed since the checkpoint in ${where} was written, so its weights do not fit: ${shown}. A checkpoint resumes only the model it was made of. Hint: undo the change, or train without --resume (\`pretrained\` starts from the layers of a saved model that still fit).`,
    );
  }
  if (s.optimizer.name !== config.optimizer.name) {
    throw new TrainError(
      `The checkpoint in ${where} was trained with \`${s.optimizer.name}\`, but the recipe now says \`${config.optimizer.name}\`: the optimizer's state cannot carry over. Hint: undo the change to resume, or train without --resume.`,
    );
  }
  if (s.topology !== topology) log(`warning: the layers of \`${config.model}\` changed since the checkpoint (their weights still fit): training goes on from its weights, but will not match an uninterrupted run.`);
  const changed = (Object.keys({ ...s.config, ...config }) as (keyof TrainConfig)[]).filter((k) => k !== "epochs" && k !== "seed" && JSON.stringify(s.config[k]) !== JSON.stringify(config[k]));
  if (changed.length > 0) log(`warning: the recipe's ${changed.map((k) => `\`${k}\``).join(", ")} changed since the checkpoint: the resumed run will not match an uninterrupted one.`);
  if (s.epochs !== epochs) {
    const lr = schedulesOverEpochs(config.schedule) ? ` The ${config.schedule.name} schedule spreads over all epochs, so the learning rates from here on differ from the first run's plan.` : "";
    log(`warning: the checkpoint's run was to train ${s.epochs} epochs, this one trains ${epochs}.${lr}`);
  }
}

export async function openCheckpoint(path: string): Promise<Checkpoint> {
  const found = locateCheckpoint(resolve(path));
  if (!found) {
    throw new TrainError(`There is no checkpoint in ${path}: it holds no \`${CHECKPOINT_DIR}/\` folder (nor is it one). \`nnc train\` writes one into its output folder (default runs/MODEL) at the end of every epoch; pass that folder to --resume.`);
  }
  try {
    return await readCheckpoint(found.dir, found.runDir);
  } catch (e) {
    if (e instanceof CheckpointError) throw new TrainError(e.message);
    throw e;
  }
}
