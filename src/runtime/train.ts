/**
 * The training loop generated code calls: `nnc.train(buildModel, recipe, options, info)`.
 * Picks the backend, loads and checks the data, fits the normaliser on the training split
 * only, then runs mini-batch gradient descent with the recipe's optimizer, schedule,
 * clipping, weight decay, augmentation, validation, early stopping and checkpoints, and
 * saves the model (TF.js layers format), its history and the normaliser's statistics.
 *
 * Every epoch ends with a checkpoint (checkpoint.ts) from which `resume` goes on exactly as
 * an uninterrupted run would on the same backend: the weights, the optimizer's slots and step
 * count, the random generator that shuffles and augments, the step number that dropout's
 * seeds derive from, the best epoch and early stopping's counters, and the history. A loss
 * that is not finite stops the run before the step's update, naming the layer whose gradient
 * blew up; the checkpoint of the last good epoch stays as it was.
 */
import * as tf from "@tensorflow/tfjs";
import { join, resolve } from "node:path";
import type { LossName, MetricName, TrainConfig } from "./config.js";
import { selectBackend, type BackendName } from "./backend.js";
import { BEST_DIR, CHECKPOINT_DIR, CheckpointError, EARLY_STOP_BIN, locateCheckpoint, readCheckpoint, STATE_JSON, topologyHash, writeBest, writeCheckpoint, type Checkpoint } from "./checkpoint.js";
import { clipGradients } from "./clip.js";
import { augmentBatch, SeededRandom } from "./data/augment.js";
import { DataError, loadData, type Dataset } from "./data/index.js";
import { fitSamples, type Normalizer } from "./data/normalize.js";
import { Batcher, dataFacts, fitBatches, normalizeInMemory, passOver, splitData, targetMode, userDataset, type LoopSplit, type SplitPlan, type UserData } from "./train-data.js";
import { loadableLayerName, loadModel, locatePretrained, makeDirs, MakeDirError, ModelFileError, modelFiles, pathText, removeStaleTemporaries, saveModel, shareIdenticalFiles, WEIGHTS_BIN, writeJsonAtomic, type ModelFiles } from "./io.js";
import { backendMemoryLimit, bytesText, measuredSize, modelTooBig, outOfMemory, slotsPerWeight, stackOverflow, stepMemory, updateCopies, type MemoryLimit, type ModelSize } from "./memory.js";
import { createOptimizer, slotNames, type Optimizer } from "./optimizers.js";
import { checkRunFolder, DATA_JSON, markRunFolder, RUN_DIRS, RUN_FILES, RunFolderError } from "./run-folder.js";
import { Progress } from "./progress.js";
import { learningRateAt } from "./schedules.js";

export interface TrainOptions {
  backend?: BackendName;
  /** Overrides the recipe's epochs. */
  epochs?: number;
  /** Where the model, history and checkpoints go (default `runs/<model>`). */
  out?: string;
  /** Folder the data paths are relative to (the spec's folder). */
  baseDir?: string;
  /** One JSON line per epoch instead of a progress bar. */
  logJson?: boolean;
  /** Overrides the recipe's seed. */
  seed?: number;
  /** Where log lines go (default: stderr for progress, stdout for results). */
  log?: (line: string) => void;
  /** Stop each epoch after this many batches (smoke tests). */
  maxBatchesPerEpoch?: number;
  /** Save nothing (tests). */
  noSave?: boolean;
  /**
   * Go on from the checkpoint in this folder: a run's output folder (holding `checkpoint/`)
   * or the checkpoint folder itself. The output folder then defaults to that run's.
   */
  resume?: string;
  /**
   * Write into `out` even when it holds files nnc did not write (run-folder.ts says what nnc
   * otherwise refuses).
   */
  force?: boolean;
  /**
   * Ctrl-C (SIGINT) stops the run after the batch in progress (a checkpoint being written is
   * finished first) and `train` throws a TrainError whose `interrupted` says which epoch the
   * run's checkpoint holds; a second Ctrl-C stops at once. Without it, SIGINT is left alone.
   */
  interruptible?: boolean;
  /**
   * The data to train on instead of the recipe's `data` source: tensors (or arrays) of every
   * sample, or batches (an async iterable of `{ x, y }`, or a function returning a fresh one for
   * each pass; a `tf.data.Dataset` works as `() => ds`), per split.
   */
  data?: UserData;
  /** Metrics the caller reads from the history besides the recipe's (`nnc search`'s objective): a `val_` one needs validation data. */
  reads?: MetricName[];
}

/** What codegen knows about the model without building it. */
export interface ModelInfo {
  inputShape: number[];
  outputShape: number[];
  /** The model has convolutions, so training needs Conv2DBackpropFilter. */
  convolutional: boolean;
  /** Multiply-adds of one sample's forward pass (dense and conv layers), when codegen gave them. */
  multiplyAdds?: number;
  /** Every weight, trainable and not (the summary's total). */
  parameters?: number;
  /** The weights the optimizer updates. */
  trainableParameters?: number;
  /** The floats of every layer's output for one sample, summed: what a batch's activations hold per sample. */
  activationsPerSample?: number;
}

export interface EpochRecord {
  epoch: number;
  lr: number;
  loss: number;
  acc?: number;
  val_loss?: number;
  val_acc?: number;
  seconds: number;
}

export interface TrainResult {
  backend: string;
  seed: number;
  history: EpochRecord[];
  /** Metrics on the data source's test split, when it has one. */
  test?: { loss: number; acc?: number };
  stoppedEarly: boolean;
  outDir?: string;
}

/** A training run that cannot go on: a message for the user, no stack trace. */
export class TrainError extends Error {
  override name = "TrainError";
  /**
   * Set when Ctrl-C stopped the run (`interruptible`): the epochs its checkpoint holds (0: none
   * finished, nothing to resume) and the run folder to resume from.
   */
  interrupted?: { epoch: number; runDir: string | undefined };
}

function lossFunction(loss: LossName, units: number): (y: tf.Tensor, p: tf.Tensor) => tf.Scalar {
  switch (loss) {
    case "crossentropy":
    case "sparse_crossentropy":
      return (y, p) => tf.metrics.categoricalCrossentropy(y, p).mean() as tf.Scalar;
    case "binary_crossentropy":
      return (y, p) => tf.metrics.binaryCrossentropy(y, p).mean() as tf.Scalar;
    case "mse":
      return (y, p) => tf.losses.meanSquaredError(y, p) as tf.Scalar;
    case "mae":
      return (y, p) => tf.losses.absoluteDifference(y, p) as tf.Scalar;
    case "hinge":
      return (y, p) => tf.losses.hingeLoss(y, p) as tf.Scalar;
  }
}

/** Fraction of rows whose predicted class matches. */
function accuracy(y: tf.Tensor, p: tf.Tensor, units: number, loss: LossName): tf.Scalar {
  return tf.tidy(() => {
    // One unit: a probability cut at 0.5, or (hinge) a score cut at 0; labels are 0/1.
    if (units === 1) return p.greater(loss === "hinge" ? 0 : 0.5).toFloat().equal(y.greater(0.5).toFloat()).toFloat().mean() as tf.Scalar;
    return p.argMax(-1).equal(y.argMax(-1)).toFloat().mean() as tf.Scalar;
  });
}

/** The run folder's weight files, which often hold the same bytes: the final model, the best epoch's, the checkpoint's and early stopping's best. */
const weightFiles = (outDir: string): string[] => [join(outDir, WEIGHTS_BIN), join(outDir, BEST_DIR, WEIGHTS_BIN), join(outDir, CHECKPOINT_DIR, WEIGHTS_BIN), join(outDir, CHECKPOINT_DIR, EARLY_STOP_BIN)];

const capitalised = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const sameShapeAs = (a: number[], b: number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

function permutation(n: number, random: () => number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/** Mean loss and accuracy of the model on a split, in batches (inference mode). */
async function evaluate(model: tf.LayersModel, split: LoopSplit, batcher: Batcher, lossFn: (y: tf.Tensor, p: tf.Tensor) => tf.Scalar, units: number, batch: number, classify: boolean, lossName: LossName): Promise<{ loss: number; acc?: number; n: number }> {
  let loss = 0;
  let acc = 0;
  let n = 0;
  for await (const b of passOver(split, batcher, batch)) {
    const [l, a] = tf.tidy(() => {
      const p = model.apply(b.x, { training: false }) as tf.Tensor;
      return [lossFn(b.y, p).mul(b.size), classify ? accuracy(b.y, p, units, lossName).mul(b.size) : tf.scalar(0)];
    });
    tf.dispose([b.x, b.y]);
    // data(), not dataSync(): webgpu cannot read back synchronously in Node.
    loss += (await l!.data())[0]!;
    acc += (await a!.data())[0]!;
    l!.dispose();
    a!.dispose();
    n += b.size;
  }
  if (n === 0) return { loss: NaN, n };
  return classify ? { loss: loss / n, acc: acc / n, n } : { loss: loss / n, n };
}

function metricValue(record: EpochRecord, metric: MetricName): number | undefined {
  return record[metric];
}

function better(metric: MetricName, a: number, b: number | undefined): boolean {
  if (b === undefined) return true;
  return metric.endsWith("acc") ? a > b : a < b;
}

/** Copies of every weight, to restore the best epoch. */
function snapshot(model: tf.LayersModel): tf.Tensor[] {
  return model.getWeights().map((w) => w.clone());
}

/** Which layer a weight belongs to, as the spec and the summary name it. */
interface WeightOwner {
  layer: string;
  /** The weight within the layer: kernel, bias, gamma, … */
  weight: string;
}

/** Weight owners by the weight's variable name (gradient keys) and by its originalName (files). */
function weightOwners(model: tf.LayersModel): { byVariable: Map<string, WeightOwner>; byOriginal: Map<string, WeightOwner> } {
  const byVariable = new Map<string, WeightOwner>();
  const byOriginal = new Map<string, WeightOwner>();
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const owner = { layer: layer.name, weight: w.originalName.startsWith(layer.name + "/") ? w.originalName.slice(layer.name.length + 1) : w.originalName };
      byVariable.set(w.name, owner);
      byOriginal.set(w.originalName, owner);
    }
  }
  return { byVariable, byOriginal };
}

function ownerText(owner: WeightOwner | undefined, fallback: string): string {
  return owner ? `\`${owner.layer}\` (${owner.weight})` : `\`${fallback}\``;
}

/** A number for a message: 10, 0.001, 3.1e38, NaN, infinity. */
function numberText(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "infinity" : "-infinity";
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return x.toExponential(1).replace("e+", "e");
  return String(Number(x.toPrecision(3)));
}

/**
 * Each Dropout layer's seed for one step, from the run's seed, the step number and the
 * layer's place. TF.js's dropout draws its mask from `randomUniform(…, seed)`, which restarts
 * its generator on every call: with one fixed seed every step would drop the same units.
 * Deriving the seed from the step number gives every step its own mask, and the same mask
 * again in a resumed run.
 */
class DropoutSeeds {
  private readonly layers: { layer: tf.layers.Layer; seed: unknown }[];

  constructor(
    model: tf.LayersModel,
    private readonly base: number,
  ) {
    this.layers = model.layers.filter((l) => l.getClassName() === "Dropout").map((layer) => ({ layer, seed: Reflect.get(layer, "seed") }));
  }

  step(iteration: number): void {
    this.layers.forEach(({ layer }, i) => {
      let h = Math.imul((this.base >>> 0) ^ 0x9e3779b9, 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13) ^ iteration, 0xc2b2ae35);
      h = Math.imul(h ^ (h >>> 16) ^ (i + 1), 0x27d4eb2f);
      Reflect.set(layer, "seed", (h ^ (h >>> 15)) >>> 0);
    });
  }

  /** The seeds the model was built with, so a saved model.json says what the spec says. */
  reset(): void {
    for (const { layer, seed } of this.layers) Reflect.set(layer, "seed", seed);
  }
}

/** The first weight in serialised model files that is NaN or infinite, by originalName. */
function firstNonFinite(files: ModelFiles): { name: string; value: number } | undefined {
  const values = new Float32Array(files.weights.buffer, files.weights.byteOffset, files.weights.byteLength >>> 2);
  let offset = 0;
  for (const spec of files.specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.dtype === "float32" || spec.dtype === undefined) {
      for (let i = offset; i < offset + size; i++) if (!Number.isFinite(values[i]!)) return { name: spec.name, value: values[i]! };
    }
    offset += size;
  }
  return undefined;
}

/**
 * The rest of a divergence message: where the last good weights are, and what to try. Inputs
 * so large that float32 overflows on them (`scale`) are named as the cause instead of the
 * learning rate; merely large ones are named first.
 */
function divergenceAdvice(checkpointDir: string | undefined, lastEpoch: number, config: TrainConfig, lr: number, scale?: InputScale): string {
  const kept =
    checkpointDir === undefined ? "" : lastEpoch > 0 ? ` The weights of the last good epoch (${lastEpoch}) are kept in ${pathText(checkpointDir)}.` : " No epoch had finished, so there is no checkpoint to go back to.";
  const seen = scale ? `${scale.feature} reaches ${numberText(scale.value)} after \`${normalizeText(config)}\`` : "";
  const fix = config.normalize.kind === "standard" ? "rescale that input (or drop the rows where it is extreme)" : "add `normalize standard` to the recipe (or rescale that input)";
  if (scale && scale.value >= HUGE_INPUT) {
    return `${kept} The inputs are the cause, not the learning rate: ${seen}, so large that the products and squares of the first layers overflow a 32-bit float (at most about 3.4e38). Hint: ${fix}.`;
  }
  const large = scale && scale.value >= LARGE_INPUT ? ` The inputs are large (${seen}), which alone can make training diverge: ${fix} first.` : "";
  const hint = config.clip
    ? `Hint: lower the learning rate (now ${numberText(lr)}), or clip harder than \`clip ${config.clip.by} ${config.clip.threshold}\`.`
    : `Hint: add \`clip norm 1.0\` to the recipe, or lower the learning rate (now ${numberText(lr)}).`;
  return `${kept}${large} ${hint}`;
}

/** One training step's outcome, kept until the next step shows the weights survived it. */
interface StepRecord {
  epoch: number;
  batch: number;
  loss: number;
  grads: Record<string, tf.Tensor>;
}

/**
 * Each tensor's L2 norm without overflow: ‖g‖ = m·‖g/m‖ with m = max|g|, the last product
 * taken in doubles (a float32 Σg² overflows long before the gradient itself does). NaN or
 * infinite when the tensor holds such a value. One read-back.
 */
async function norms(tensors: Record<string, tf.Tensor>): Promise<[string, number][]> {
  const keys = Object.keys(tensors);
  if (keys.length === 0) return [];
  const parts = tf.tidy(() =>
    tf.stack(
      keys.flatMap((k) => {
        const t = tensors[k]!;
        const m = t.abs().max();
        const safe = tf.where(tf.greater(m, 0), m, tf.onesLike(m));
        return [m, t.div(safe).square().sum()];
      }),
    ),
  );
  const values = await parts.data();
  parts.dispose();
  return keys.map((k, i) => {
    const m = values[2 * i]!;
    return [k, m === 0 ? 0 : Number.isFinite(m) ? m * Math.sqrt(values[2 * i + 1]!) : m];
  });
}

/**
 * Which gradients blew up: "the gradient of layer `x` (kernel) grew to 3.1e38 (the largest;
 * next: …)", or which overflowed or became NaN and the largest finite one. Undefined when
 * every gradient is NaN.
 */
async function largestGradient(grads: Record<string, tf.Tensor>, owners: Map<string, WeightOwner>): Promise<string | undefined> {
  const found = await norms(grads);
  const infinite = found.filter(([, n]) => n === Infinity);
  const nan = found.filter(([, n]) => Number.isNaN(n));
  const finite = found.filter(([, n]) => Number.isFinite(n)).sort((a, b) => b[1] - a[1]);
  if (finite.length === 0 && infinite.length === 0) return undefined;
  const names = (list: [string, number][]): string => {
    const shown = list.slice(0, 3).map(([n]) => ownerText(owners.get(n), n));
    return (list.length > 1 ? "layers " : "layer ") + shown.join(", ") + (list.length > 3 ? ` and ${list.length - 3} more` : "");
  };
  if (infinite.length === 0 && nan.length === 0) {
    const [name, norm] = finite[0]!;
    const next = finite
      .slice(1, 3)
      .map(([n, v]) => `${ownerText(owners.get(n), n)} ${numberText(v)}`)
      .join(", ");
    return `the gradient of layer ${ownerText(owners.get(name), name)} grew to ${numberText(norm)} (the largest${next ? `; next: ${next}` : ""})`;
  }
  const parts: string[] = [];
  if (infinite.length > 0) parts.push(`the gradient${infinite.length > 1 ? "s" : ""} of ${names(infinite)} overflowed to infinity`);
  if (nan.length > 0) parts.push(`the gradient${nan.length > 1 ? "s" : ""} of ${names(nan)} became NaN`);
  if (finite.length > 0) parts.push(`the largest finite one is that of layer ${ownerText(owners.get(finite[0]![0]), finite[0]![0])} (${numberText(finite[0]![1])})`);
  return parts.join("; ");
}

/**
 * Why the loss or the gradients of a step are not finite. Its update was not applied, so the
 * weights are those before it. If they are still finite, this step's gradients say which
 * layer blew up; if the previous step's update already broke them (its loss and gradients
 * were finite, but learning rate × gradient overflowed), the previous step's gradients do.
 */
async function explainDivergence(now: StepRecord, previous: StepRecord | undefined, vars: Record<string, tf.Variable>, owners: Map<string, WeightOwner>): Promise<string> {
  const weightNorms = await norms(vars);
  const broken = weightNorms.find(([, n]) => !Number.isFinite(n));
  if (broken) {
    const made = `the update made the weights of layer ${ownerText(owners.get(broken[0]), broken[0])} ${numberText(broken[1])}`;
    if (previous) {
      const top = await largestGradient(previous.grads, owners);
      return `The weights overflowed in epoch ${previous.epoch}, batch ${previous.batch} (its loss was still ${numberText(previous.loss)}): ${top ? `${top}, and ` : ""}${made}.`;
    }
    return `The weights are no longer finite in epoch ${now.epoch}, batch ${now.batch}: ${made}.`;
  }
  const where = Number.isFinite(now.loss)
    ? `The gradients overflowed in epoch ${now.epoch}, batch ${now.batch} (the loss was ${numberText(now.loss)})`
    : `The loss became ${Number.isNaN(now.loss) ? "NaN" : "infinite"} in epoch ${now.epoch}, batch ${now.batch}`;
  const top = await largestGradient(now.grads, owners);
  if (top) return `${where}: ${top}.`;
  // Every gradient is NaN: the forward pass overflowed. Name the largest weights instead.
  const largest = weightNorms.sort((a, b) => b[1] - a[1])[0];
  return largest ? `${where}: every gradient is NaN, so the forward pass overflowed; the largest weights are those of layer ${ownerText(owners.get(largest[0]), largest[0])} (norm ${numberText(largest[1])}).` : `${where}.`;
}

function schedulesOverEpochs(schedule: TrainConfig["schedule"]): boolean {
  return schedule.name === "cosine" || (schedule.name === "warmup" && schedule.then.name === "cosine");
}

/**
 * Checks that a checkpoint can resume this model and recipe: an error (TrainError) when its
 * weights cannot carry over, warnings (through `log`) when the run will differ from an
 * uninterrupted one.
 */
function checkResumable(checkpoint: Checkpoint, model: tf.LayersModel, topology: string, config: TrainConfig, epochs: number, log: (line: string) => void): void {
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

async function openCheckpoint(path: string): Promise<Checkpoint> {
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

/** Runs `write`, turning a file system error (disk full, no permission) into a TrainError. */
async function writing(what: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (e) {
    if (e instanceof MakeDirError) throw new TrainError(e.message);
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code === "string") throw new TrainError(`Cannot write ${pathText(what)}: ${(e as Error).message}.`);
    throw e;
  }
}

/**
 * A failure inside TF.js that is a resource running out, as a TrainError: its recursion over
 * a very deep model running out of stack, or memory running out (or overrun, on wasm).
 * Undefined for anything else.
 */
function resourceFailure(e: unknown, config: TrainConfig, backend: string): TrainError | undefined {
  if (e instanceof TrainError) return undefined;
  if (stackOverflow(e)) {
    return new TrainError(
      `The model \`${config.model}\` is too deep for TF.js: building or running it recursed once per layer and ran out of JavaScript stack (Maximum call stack size exceeded). ` +
        `On Node's default stack TF.js builds a chain of up to about ${DEEPEST_CHAIN.toLocaleString("en-US")} layers (${(DEEPEST_CHAIN / 2).toLocaleString("en-US")} residual blocks of one dense layer each). Hint: use fewer layers (a smaller \`repeat\` count).`,
    );
  }
  const oom = outOfMemory(e);
  if (oom) {
    return new TrainError(
      `TF.js ran out of memory on the ${backend} backend (${oom}). Hint: lower the batch size or the model's size${backend === "wasm" ? ", or train with --backend cpu, which can use all of the machine's free memory" : ""}.`,
    );
  }
  return undefined;
}

/**
 * The longest chain of layers TF.js built under `nnc train` on Node 20's default stack:
 * `repeat N residual { dense 4 relu }` (two layers a block) built at N = 2,109 and overflowed
 * at 2,125 (bisection, cpu backend). The overflow is in tfjs-layers' Container constructor,
 * whose buildMapOfGraph recurses once per layer; a process that has built smaller models
 * before gets further (about 4,400 blocks: the optimised function's frames are smaller). A
 * message's estimate, not a limit nnc enforces.
 */
const DEEPEST_CHAIN = 4200;

/** What is left for the data on a backend after the model's step, for loadData. */
function dataBudget(limit: MemoryLimit, size: ModelSize, config: TrainConfig, copies: number): { bytes: number; why: string } {
  const need = stepMemory(size, slotsPerWeight(config), copies, config.batch).total;
  return { bytes: Math.max(0, limit.usable - need), why: `${limit.why}; training the model itself takes about ${bytesText(need)} of it` };
}

/** The largest input value the model sees, and where: what a divergence message may blame. */
interface InputScale {
  value: number;
  feature: string;
}

/** Inputs this large make float32 overflow in the first layers (their squares pass 3.4e38 near 1.8e19). */
const HUGE_INPUT = 1e18;
/** Inputs this large often make training diverge; worth a mention before the learning rate. */
const LARGE_INPUT = 1e6;

/** One input value's name for messages: a CSV column, an image's pixel, or a feature number. */
function featureName(f: number, data: Dataset, inputShape: number[]): string {
  const named = data.featureNames?.[f];
  if (named !== undefined) return named;
  if (inputShape.length === 3) {
    const [, w, c] = inputShape as [number, number, number];
    const row = Math.floor(f / (w * c));
    const col = Math.floor(f / c) % w;
    return `pixel (row ${row + 1}, column ${col + 1}${c > 1 ? `, channel ${(f % c) + 1}` : ""})`;
  }
  return inputShape.length === 1 ? `feature ${f + 1}` : `input value ${f + 1} (of ${inputShape.join("x")})`;
}

function normalizeText(config: TrainConfig): string {
  return config.normalize.kind === "scale" ? `normalize scale(${config.normalize.factor})` : `normalize ${config.normalize.kind}`;
}

/** Per feature of `x` ([n, ...]): the largest |value|, and whether every value is finite. Two reductions, one read-back each. */
async function featureExtremes(x: tf.Tensor): Promise<{ maxAbs: Float32Array; finite: boolean[] }> {
  const n = x.shape[0]!;
  const maxAbs = tf.tidy(() => tf.max(tf.abs(tf.reshape(x, [n, -1])), 0));
  // x·0 is NaN exactly where x is NaN or infinite (max may skip NaN on some backends).
  const poison = tf.tidy(() => tf.sum(tf.mul(tf.reshape(x, [n, -1]), 0), 0));
  try {
    const m = (await maxAbs.data()) as Float32Array;
    const p = await poison.data();
    return { maxAbs: m, finite: Array.from(p, (v) => Number.isFinite(v)) };
  } finally {
    maxAbs.dispose();
    poison.dispose();
  }
}

/**
 * Refuses data that is not finite, naming the feature; `normalised` says whether `x` is what
 * the model sees (after the recipe's normalisation). Returns the largest |value| and its feature.
 */
async function checkFinite(x: tf.Tensor, split: string, data: Dataset, config: TrainConfig, inputShape: number[], normalised = false): Promise<InputScale> {
  const { maxAbs, finite } = await featureExtremes(x);
  const bad = finite.indexOf(false);
  if (bad >= 0) {
    const name = featureName(bad, data, inputShape);
    const what = Number.isNaN(maxAbs[bad]) ? "NaN" : "infinite";
    if (!normalised) throw new TrainError(`The ${split} data holds ${what} values in ${name}. Every input must be a finite number: drop those rows or fill them in.`);
    throw new TrainError(
      `After \`${normalizeText(config)}\`, ${name} of the ${split} data is ${what}: its values leave the range of a 32-bit float (about ±3.4e38), so training would stop at its first step. Hint: rescale that input before training (divide the column by a large power of ten), or choose another normalisation.`,
    );
  }
  let top = 0;
  for (let f = 1; f < maxAbs.length; f++) if (maxAbs[f]! > maxAbs[top]!) top = f;
  return { value: maxAbs[top] ?? 0, feature: featureName(top, data, inputShape) };
}

/** Refuses normalisation statistics that overflowed float32 (features near 1e38), naming the feature. */
function checkStatistics(stats: Record<string, number[]>, data: Dataset, config: TrainConfig, inputShape: number[]): void {
  const kind = config.normalize.kind;
  const hint = "Hint: rescale that input before training (divide the column by a large power of ten, say 1e30), so that its values stay far below 3.4e38.";
  if (kind === "standard") {
    const mean = stats["mean"] ?? [];
    const std = stats["std"] ?? [];
    const f = mean.findIndex((m, i) => !Number.isFinite(m) || !Number.isFinite(std[i]!));
    if (f >= 0) {
      throw new TrainError(
        `\`normalize standard\` cannot be fitted to ${featureName(f, data, inputShape)}: its values are so large that their ${Number.isFinite(mean[f]!) ? "variance" : "mean"} overflows a 32-bit float (at most about 3.4e38), so every normalised value would be NaN. ${hint}`,
      );
    }
  } else if (kind === "minmax") {
    const min = stats["min"] ?? [];
    const max = stats["max"] ?? [];
    const f = min.findIndex((m, i) => !Number.isFinite(Math.fround(max[i]! - m)));
    if (f >= 0) {
      throw new TrainError(
        `\`normalize minmax\` cannot be fitted to ${featureName(f, data, inputShape)}: its values span from ${numberText(min[f]!)} to ${numberText(max[f]!)}, a range that overflows a 32-bit float (at most about 3.4e38). ${hint}`,
      );
    }
  }
}

export async function train(build: (seed: number) => tf.LayersModel, config: TrainConfig, options: TrainOptions = {}, info?: ModelInfo): Promise<TrainResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  // Production mode: no debug checks, and no TF.js banner on stdout (the backend line says
  // what TF.js's banner would).
  tf.enableProdMode();
  const checkpoint = options.resume !== undefined ? await openCheckpoint(options.resume) : undefined;
  let seed = options.seed ?? config.seed ?? Math.floor(Math.random() * 2 ** 31);
  if (checkpoint) {
    if (options.seed !== undefined && options.seed !== checkpoint.state.seed) log(`warning: --seed ${options.seed} is ignored: a resumed run goes on with the checkpoint's seed ${checkpoint.state.seed}.`);
    seed = checkpoint.state.seed;
  }
  const epochs = options.epochs ?? config.epochs;
  // The output folder is checked before anything is written or deleted (run-folder.ts).
  const outDir = options.noSave ? undefined : resolve(options.out ?? checkpoint?.runDir ?? join("runs", config.model));
  if (outDir) {
    try {
      checkRunFolder(outDir, { ...(options.force ? { force: true } : {}), ...(checkpoint ? { resumedRun: checkpoint.runDir } : {}) });
    } catch (e) {
      if (e instanceof RunFolderError) throw new TrainError(e.message);
      throw e;
    }
  }
  const backend = await selectBackend(options.backend ?? "auto", log, {
    needsConvGradients: info?.convolutional ?? true,
    ...(info?.multiplyAdds !== undefined ? { multiplyAddsPerBatch: info.multiplyAdds * config.batch } : {}),
  });
  const randomSeed = config.seed === undefined && options.seed === undefined && !checkpoint;
  log(`seed ${seed}${randomSeed ? " (chosen at random; add `seed " + seed + "` to the recipe to repeat this run)" : checkpoint ? " (the checkpoint's)" : ""}`);

  // Memory: with codegen's counts, refuse a model that cannot fit before building it.
  const limit = backendMemoryLimit(backend.name);
  const copies = limit ? await updateCopies(config) : 0;
  const given: ModelSize | undefined =
    info?.parameters !== undefined && info.trainableParameters !== undefined && info.activationsPerSample !== undefined
      ? { parameters: info.parameters, trainableParameters: info.trainableParameters, activationsPerSample: info.activationsPerSample }
      : undefined;
  if (limit && given) {
    const refusal = modelTooBig(given, config, copies, limit, backend.name);
    if (refusal) throw new TrainError(refusal);
  }

  let model: tf.LayersModel;
  let topology: string;
  try {
    model = build(seed);
  } catch (e) {
    throw resourceFailure(e, config, backend.name) ?? e;
  }
  try {
    topology = topologyHash(model.toJSON(null, false));
  } catch (e) {
    model.dispose();
    throw resourceFailure(e, config, backend.name) ?? e;
  }
  const unloadable = model.layers.map((l) => l.name).filter((n) => !loadableLayerName(n));
  if (unloadable.length > 0) {
    model.dispose();
    throw new TrainError(
      `The model \`${config.model}\` has a layer named ${unloadable.map((n) => `\`${n}\``).join(", ")}: TF.js could train it, but not load the saved model.json again (its loader keeps layers in a plain JavaScript object, where \`${unloadable[0]}\` is already taken). Rename the layer.`,
    );
  }
  // Without codegen's counts (generated code older than them), measure the built model.
  const size = given ?? measuredSize(model);
  if (limit && !given) {
    const refusal = modelTooBig(size, config, copies, limit, backend.name);
    if (refusal) {
      model.dispose();
      throw new TrainError(refusal);
    }
  }
  const inputShape = info?.inputShape ?? (model.inputs[0]!.shape.slice(1) as number[]);
  const outputShape = info?.outputShape ?? (model.outputs[0]!.shape.slice(1) as number[]);
  const units = outputShape[outputShape.length - 1] ?? 1;
  const owners = weightOwners(model);

  let optimizer: Optimizer | undefined;
  let data: Dataset | undefined;
  let splits: SplitPlan | undefined;
  let best: { value: number; weights: tf.Tensor[]; epoch: number } | undefined;
  let previous: StepRecord | undefined;
  let interrupted = false;
  let onInterrupt: (() => void) | undefined;
  let failed = false;
  if (options.interruptible) {
    onInterrupt = () => {
      interrupted = true;
      log("interrupted: stopping after the step in progress (press Ctrl-C again to stop at once)");
    };
    process.once("SIGINT", onInterrupt);
  }
  /** Ctrl-C before the loop: the checkpoint resumed from (when writing back into its run) is still there. */
  const stopBeforeTraining = (): never => {
    const kept = checkpoint && outDir && resolve(checkpoint.runDir) === outDir ? checkpoint.state.epoch : 0;
    const error = new TrainError(kept > 0 ? `Interrupted before training went on: the checkpoint in ${pathText(checkpoint!.dir)} still holds epoch ${kept}.` : "Interrupted before the first epoch finished: there is nothing to resume from.");
    error.interrupted = { epoch: kept, runDir: outDir };
    throw error;
  };
  try {
    if (checkpoint) {
      checkResumable(checkpoint, model, topology, config, epochs, log);
      const saved = checkpoint.weights();
      try {
        const lacking = model.weights.find((w) => saved[w.originalName]?.shape.join("x") !== w.shape.join("x"));
        if (lacking) throw new TrainError(`The checkpoint in ${pathText(checkpoint.dir)} has no weight \`${lacking.originalName}\` of shape ${lacking.shape.join("x")} in its model.json, though its state.json lists one. Was it edited? Train again without --resume.`);
        model.setWeights(model.weights.map((w) => saved[w.originalName]!));
      } finally {
        tf.dispose(Object.values(saved));
      }
    }

    const regression = config.loss === "mse" || config.loss === "mae";
    const outputs = outputShape.reduce((p, d) => p * d, 1);
    // `targets: input`: an autoencoder, whose targets are its inputs (no labels read, no classes).
    const reconstruct = config.data.target === "input";
    let userBatches: Parameters<typeof splitData>[3];
    try {
      if (options.data) {
        const given = await userDataset(options.data, inputShape, regression, outputs, outputShape, reconstruct);
        data = given.dataset;
        userBatches = given.batches;
      } else {
        // The model's classes (one sigmoid unit: 2), so that a label out of range is reported with its file and row.
        data = await loadData(config.data, {
          inputShape,
          seed,
          baseDir: options.baseDir ?? process.cwd(),
          ...(reconstruct ? {} : { classes: units > 1 ? units : 2 }),
          task: regression ? "regression" : "classification",
          outputs,
          outputShape,
          ...(limit ? { memory: dataBudget(limit, size, config, copies) } : {}),
        });
      }
    } catch (e) {
      if (e instanceof DataError) throw new TrainError(e.message);
      throw e;
    }
    const mode = targetMode(config, data);
    const classify = mode !== "input" && (data.classes > 0 || !regression);
    if (mode !== "input" && outputShape.length > 1 && (mode === "labels" || (mode === "values" && data.targetSize !== outputs))) {
      throw new TrainError(
        `The model \`${config.model}\` ends in ${outputShape.join("x")}, which needs a target per value, but ${data.description} gives ${mode === "labels" ? "one class per sample" : `${data.targetSize} targets per sample`}.${sameShapeAs(inputShape, outputShape) ? " To train it to give back its input, add `targets: input` to the data." : ""}`,
      );
    }
    if ((mode === "input" || mode === "pixels") && config.augment.length > 0) {
      throw new TrainError(`Augmentation would change the inputs but not their ${mode === "input" ? "copies as targets" : "per-pixel targets"}: remove \`augment\` from the recipe.`);
    }
    if (mode === "input" && !sameShapeAs(inputShape, outputShape)) {
      throw new TrainError(`With \`targets: input\` the model \`${config.model}\` must give back its input, ${inputShape.join("x")}, but it ends in ${outputShape.join("x")}.`);
    }
    if (data.classes === 0 && !regression && mode !== "input") {
      throw new TrainError(`${capitalised(data.description)} gives regression targets, but the recipe's loss \`${config.loss}\` compares classes. Use \`loss mse\` or \`loss mae\`, or give the data class labels.`);
    }
    if (units > 1 && data.classes > units) {
      throw new TrainError(`The data has ${data.classes} classes, but the model \`${config.model}\` ends in ${units} units.`);
    }
    log(`data: ${data.description}${mode === "input" && !data.description.includes("as targets") ? ", the inputs as targets" : mode === "pixels" && !data.description.includes("per pixel") ? ", a class per pixel" : ""}`);
    if (interrupted) stopBeforeTraining();

    if (config.pretrained && !checkpoint) {
      const found = locatePretrained(config.pretrained, options.baseDir ?? process.cwd());
      if (typeof found === "string") throw new TrainError(found);
      const { dir, json } = found;
      let source: tf.LayersModel;
      try {
        source = await loadModel(dir, json);
      } catch (e) {
        if (e instanceof ModelFileError) throw new TrainError(`The pretrained model ${JSON.stringify(config.pretrained)} cannot be loaded: ${e.message}`);
        throw e;
      }
      let copied = 0;
      for (const layer of model.layers) {
        const from = source.layers.find((l) => l.name === layer.name);
        if (!from) continue;
        const ws = from.getWeights();
        const mine = layer.getWeights();
        if (ws.length === mine.length && ws.every((w, i) => w.shape.join() === mine[i]!.shape.join())) {
          layer.setWeights(ws);
          copied++;
        }
      }
      source.dispose();
      log(`pretrained: copied the weights of ${copied} layers from ${pathText(join(dir, json))}`);
    }

    // Split off validation data (never the test split), fit the normaliser on what trains.
    const rng = new SeededRandom(seed ^ 0x9e3779b9);
    const random = rng.next;
    let plan: SplitPlan;
    try {
      plan = splitData(data, config, random, userBatches, options.reads);
    } catch (e) {
      if (e instanceof DataError) throw new TrainError(e.message);
      throw e;
    }
    splits = plan;
    for (const note of plan.notes) log(note);
    const features = inputShape.reduce((p, d) => p * d, 1);
    const trainSamples = plan.train.samples;
    if (trainSamples?.x) await checkFinite(trainSamples.x, "training", data, config, inputShape);
    let normalizer: Normalizer;
    let userBatchCount = 0;
    try {
      if (trainSamples) normalizer = await fitSamples(config.normalize, trainSamples, features);
      else ({ normalizer, batches: userBatchCount } = await fitBatches(config.normalize, plan.train.batches!, features));
    } catch (e) {
      if (e instanceof DataError) throw new TrainError(e.message);
      throw e;
    }
    checkStatistics(normalizer.stats, data, config, inputShape);
    if (mode === "input" && config.loss === "binary_crossentropy" && trainSamples?.x) {
      // The targets are the inputs as the source gives them: binary cross-entropy needs them in [0, 1].
      const [low, high] = tf.tidy(() => [trainSamples.x!.min(), trainSamples.x!.max()]);
      const range = [(await low!.data())[0]!, (await high!.data())[0]!];
      tf.dispose([low!, high!]);
      if (range[0]! < 0 || range[1]! > 1) {
        throw new TrainError(`With \`targets: input\` and \`loss binary_crossentropy\` the inputs are the targets and must lie in [0, 1], but ${data.description} has values from ${range[0]} to ${range[1]}. Use \`loss mse\` (or \`mae\`), or scale the data to [0, 1].`);
      }
    }
    const targetSize = mode === "values" ? outputs : mode === "pixels" ? (data.targetSize ?? 1) : 1;
    const batcher = new Batcher(normalizer, inputShape, config.loss, units, targetSize, outputShape, mode);
    for (const part of [plan.train, plan.validation, plan.test]) if (part?.samples) part.samples = normalizeInMemory(part.samples, normalizer, mode === "input", config.normalize.kind === "none");
    // What the model sees must be finite; and very large inputs explain a divergence better than the learning rate.
    let scale: InputScale | undefined;
    for (const part of [plan.train, plan.validation, plan.test]) {
      if (!part?.samples?.x) continue;
      const found = await checkFinite(part.samples.x, part.role, data, config, inputShape, true);
      if (part.role === "training") scale = found;
    }
    const trainCount = plan.train.samples?.n ?? userBatchCount;
    if (trainCount === 0) throw new TrainError(`${capitalised(data.description)} has no training samples.`);
    if (interrupted) stopBeforeTraining();
    const lossFn = lossFunction(config.loss, units);
    optimizer = createOptimizer(config.optimizer, config.lr);
    const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const vars: Record<string, tf.Variable> = Object.fromEntries(trainable.map((v) => [v.name, v]));
    const kernels = trainable.filter((v) => /kernel/.test(v.name));
    const images = inputShape.length === 3 && config.augment.length > 0;
    const dropouts = new DropoutSeeds(model, seed);
    // Optimizer slots are keyed by variable name, which TF.js makes unique per process
    // (`dense1/kernel_1` for a second model); files key them by the weight's own name.
    const originalOf = new Map(model.trainableWeights.map((w) => [w.name, w.originalName]));
    const variableOf = new Map(model.trainableWeights.map((w) => [w.originalName, w.name]));

    if (outDir) {
      await writing(outDir, async () => {
        makeDirs(outDir);
        await markRunFolder(outDir, config.model);
        const removed = await removeStaleTemporaries(outDir, RUN_FILES, Object.keys(RUN_DIRS));
        if (removed.length > 0) log(`removed ${removed.length === 1 ? "a temporary file" : `${removed.length} temporary files and folders`} that a killed run left in ${pathText(outDir)}: ${removed.slice(0, 3).join(", ")}${removed.length > 3 ? ", …" : ""}`);
      });
    }
    const checkpointDir = outDir ? join(outDir, CHECKPOINT_DIR) : undefined;
    const progress = new Progress({ json: options.logJson ?? !process.stderr.isTTY, write: log, epochs });
    const history: EpochRecord[] = [];
    const bestMetric: MetricName = config.checkpoint?.metric ?? (plan.validation ? "val_loss" : "loss");
    let bestEpoch: { metric: MetricName; value: number; epoch: number } | null = null;
    let sinceBest = 0;
    let stoppedEarly = false;
    let iteration = 0;
    let startEpoch = 0;
    const batches = plan.train.samples ? Math.ceil(trainCount / config.batch) : trainCount;

    if (checkpoint) {
      const s = checkpoint.state;
      // Slots are restored by name: each must belong to a weight the model trains, be one the
      // optimizer keeps, and have that weight's shape; every trained weight needs all of them.
      const stateShown = pathText(join(checkpoint.dir, STATE_JSON));
      const again = "Was it edited? Train again without --resume.";
      const wanted = slotNames(config.optimizer);
      const shapeOf = new Map(model.trainableWeights.map((w) => [w.originalName, w.shape]));
      const slots = checkpoint.optimizerSlots();
      try {
        const renamed: Record<string, tf.Tensor> = {};
        const found = new Set<string>();
        for (const [key, t] of Object.entries(slots)) {
          const cut = key.lastIndexOf("/");
          const weight = key.slice(0, cut);
          const slot = key.slice(cut + 1);
          const variable = variableOf.get(weight);
          if (variable === undefined) throw new TrainError(`${stateShown}: \`optimizer.slots\` holds state for \`${weight}\`, which the model does not train. ${again}`);
          if (!wanted.includes(slot)) throw new TrainError(`${stateShown}: \`optimizer.slots\` holds a slot \`${slot}\` for \`${weight}\`, which ${config.optimizer.name} does not keep (it keeps ${wanted.map((w) => `\`${w}\``).join(", ") || "none"}). ${again}`);
          const shape = shapeOf.get(weight)!;
          if (t.shape.join("x") !== shape.join("x")) throw new TrainError(`${stateShown}: \`optimizer.slots\` gives \`${key}\` the shape ${t.shape.join("x")}, but the weight \`${weight}\` is ${shape.join("x")}. ${again}`);
          renamed[`${variable}/${slot}`] = t;
          found.add(key);
        }
        for (const weight of shapeOf.keys()) {
          const missing = wanted.filter((slot) => !found.has(`${weight}/${slot}`));
          if (missing.length > 0) throw new TrainError(`${stateShown}: \`optimizer.slots\` lacks ${missing.map((m) => `\`${weight}/${m}\``).join(", ")}. ${again}`);
        }
        optimizer.setState({ iterations: s.iterations, slots: renamed });
      } finally {
        tf.dispose(Object.values(slots));
      }
      rng.restore(s.random);
      iteration = s.iterations;
      startEpoch = s.epoch;
      history.push(...s.history);
      if (s.best && s.best.metric === bestMetric) bestEpoch = s.best;
      if (s.earlyStop && config.earlyStop && s.config.earlyStop?.metric === config.earlyStop.metric) {
        const saved = checkpoint.earlyStopWeights();
        const lacking = saved ? model.weights.find((w) => saved[w.originalName]?.shape.join("x") !== w.shape.join("x")) : undefined;
        if (saved && lacking) {
          tf.dispose(Object.values(saved));
          throw new TrainError(`${stateShown}: \`earlyStop.weights\` lacks \`${lacking.originalName}\` of shape ${lacking.shape.join("x")}. ${again}`);
        }
        best = { value: s.earlyStop.value, epoch: s.earlyStop.epoch, weights: saved ? model.weights.map((w) => saved[w.originalName]!) : [] };
        sinceBest = s.earlyStop.sinceBest;
      }
      stoppedEarly = s.stoppedEarly;
      const left = stoppedEarly ? "it had stopped early, so nothing is left to train" : startEpoch >= epochs ? "nothing is left to train" : `training epochs ${startEpoch + 1}–${epochs}`;
      log(`resuming from epoch ${startEpoch} of ${epochs} (${pathText(checkpoint.dir)}): ${left}`);
    }

    // Ctrl-C: finish the batch (or the checkpoint being written), then stop with what resume needs.
    // The epoch the checkpoint in outDir holds: the resumed one when writing back into its run.
    let savedEpoch = checkpoint && outDir && resolve(checkpoint.runDir) === outDir ? startEpoch : 0;
    const stopAfter = (finished: number): never => {
      const error = new TrainError(
        savedEpoch > 0 && checkpointDir
          ? `Interrupted after epoch ${savedEpoch} of ${epochs}: its checkpoint is in ${pathText(checkpointDir)}.`
          : `Interrupted in epoch ${finished + 1} of ${epochs}, before any checkpoint was written: there is nothing to resume from.`,
      );
      error.interrupted = { epoch: checkpointDir ? savedEpoch : 0, runDir: outDir };
      throw error;
    };
    if (interrupted) stopAfter(startEpoch);
    let lr = config.lr;
    for (let epoch = startEpoch; epoch < epochs && !stoppedEarly; epoch++) {
      const started = performance.now();
      lr = learningRateAt(config.schedule, config.lr, epoch, epochs);
      optimizer.learningRate = lr;
      const order = plan.train.samples ? permutation(trainCount, random) : undefined;
      let lossSum = 0;
      let accSum = 0;
      let seen = 0;
      const limit = Math.min(batches, options.maxBatchesPerEpoch ?? batches);
      let b = 0;
      for await (const batch of passOver(plan.train, batcher, config.batch, order, limit)) {
        const size = batch.size;
        dropouts.step(iteration);
        const step = tf.tidy(() => {
          let xb = batch.x;
          const yb = batch.y;
          if (images) xb = augmentBatch(xb as tf.Tensor4D, config.augment, random);
          let acc: tf.Scalar | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const pred = model.apply(xb, { training: true }) as tf.Tensor;
            // The prediction dies with this scope: measure accuracy on it here.
            acc = tf.keep(classify ? accuracy(yb, pred, units, config.loss) : tf.scalar(0));
            let loss = lossFn(yb, pred);
            for (const r of model.calculateLosses()) loss = loss.add(r);
            if (config.weightDecay > 0 && kernels.length > 0) {
              // L2 weight decay: λ/2 · Σ‖W‖² over every kernel (biases and norms are not decayed).
              loss = loss.add(tf.addN(kernels.map((k) => k.square().sum())).mul(config.weightDecay / 2));
            }
            return loss as tf.Scalar;
          }, trainable);
          // Σ of every gradient component: finite exactly when all of them are (or when
          // their sum overflows, which is divergence too). Read back with the loss. Summed per
          // gradient, not over a concatenation, which would copy every gradient each step.
          const sums = Object.values(grads).map((g) => g.sum());
          const gradSum = sums.length === 0 ? tf.scalar(0) : sums.length === 1 ? sums[0]! : tf.addN(sums);
          const readout = tf.stack([value, acc!, gradSum]);
          acc!.dispose();
          return { grads, readout };
        });
        tf.dispose([batch.x, batch.y]);
        b++;
        // The one read-back of the step, before the update: a loss that is not finite stops
        // the run with the weights as they were before this batch.
        // data(), not dataSync(): webgpu cannot read back synchronously in Node.
        const [l, a, g] = await step.readout.data();
        step.readout.dispose();
        const now: StepRecord = { epoch: epoch + 1, batch: b, loss: l!, grads: step.grads };
        if (!Number.isFinite(l!) || !Number.isFinite(g!)) {
          let message: string;
          try {
            message = await explainDivergence(now, previous, vars, owners.byVariable);
          } finally {
            tf.dispose(Object.values(step.grads));
          }
          throw new TrainError(message + divergenceAdvice(checkpointDir, epoch, config, lr, scale));
        }
        tf.tidy(() => optimizer!.applyGradients(vars, config.clip ? clipGradients(step.grads, config.clip) : step.grads));
        // This step's gradients live until the next step's loss shows the update left the
        // weights finite: if it did not, they say which layer blew up (no extra work per step).
        if (previous) tf.dispose(Object.values(previous.grads));
        previous = now;
        iteration++;
        lossSum += l! * size;
        accSum += a! * size;
        seen += size;
        progress.batch(epoch, b, Math.max(limit, b), lossSum / seen, classify ? accSum / seen : undefined);
        if (interrupted) stopAfter(epoch);
      }
      dropouts.reset();
      if (seen === 0) throw new TrainError(`The training data gave no batches in epoch ${epoch + 1}: an iterable of batches given to train() must start over on each pass (pass a function that returns a fresh one).`);
      const record: EpochRecord = { epoch: epoch + 1, lr, loss: lossSum / seen, ...(classify ? { acc: accSum / seen } : {}), seconds: (performance.now() - started) / 1000 };
      if (plan.validation) {
        const v = await evaluate(model, plan.validation, batcher, lossFn, units, Math.max(config.batch, 256), classify, config.loss);
        record.val_loss = v.loss;
        if (v.acc !== undefined) record.val_acc = v.acc;
      }
      history.push(record);
      progress.epoch(record);

      if (config.earlyStop) {
        const value = metricValue(record, config.earlyStop.metric);
        if (value !== undefined) {
          if (better(config.earlyStop.metric, value, best?.value)) {
            best?.weights.forEach((w) => w.dispose());
            best = { value, weights: config.earlyStop.restoreBest ? snapshot(model) : [], epoch: epoch + 1 };
            sinceBest = 0;
          } else if (++sinceBest >= config.earlyStop.patience) {
            stoppedEarly = true;
          }
        }
      }

      if (outDir && checkpointDir) {
        const files = await modelFiles(model);
        const bad = firstNonFinite(files);
        if (bad) {
          const owner = owners.byOriginal.get(bad.name);
          throw new TrainError(
            `The weights of layer ${ownerText(owner, bad.name)} became ${numberText(bad.value)} in epoch ${epoch + 1}, though every batch's loss was finite: the last updates overflowed them.` +
              divergenceAdvice(checkpointDir, epoch, config, lr, scale),
          );
        }
        // best/ before checkpoint/: after a crash between the two, the resumed run redoes
        // this epoch and writes the same best/ again; the other order could lose it.
        const value = metricValue(record, bestMetric);
        if (value !== undefined && Number.isFinite(value) && better(bestMetric, value, bestEpoch?.value)) {
          bestEpoch = { metric: bestMetric, value, epoch: epoch + 1 };
          const snapshotOfBest = bestEpoch;
          await writing(join(outDir, BEST_DIR), () => writeBest(join(outDir, BEST_DIR), files, snapshotOfBest));
        }
        const state = optimizer.getState();
        try {
          const slots: Record<string, tf.Tensor> = {};
          for (const [key, t] of Object.entries(state.slots)) {
            const cut = key.lastIndexOf("/");
            slots[`${originalOf.get(key.slice(0, cut)) ?? key.slice(0, cut)}/${key.slice(cut + 1)}`] = t;
          }
          const earlyWeights = best && best.weights.length > 0 ? Object.fromEntries(model.weights.map((w, i) => [w.originalName, best!.weights[i]!])) : undefined;
          await writing(checkpointDir, () =>
            writeCheckpoint(checkpointDir, {
              model: files,
              optimizerSlots: slots,
              ...(earlyWeights ? { earlyStopWeights: earlyWeights } : {}),
              state: {
                model: config.model,
                epoch: epoch + 1,
                epochs,
                iterations: iteration,
                seed,
                random: rng.state(),
                stoppedEarly,
                config,
                topology,
                weights: files.specs.map((w) => ({ name: w.name, shape: w.shape })),
                optimizer: { name: config.optimizer.name },
                best: bestEpoch,
                earlyStop: best ? { value: best.value, epoch: best.epoch, sinceBest } : null,
                history,
              },
            }),
          );
          savedEpoch = epoch + 1;
          // best/ and the checkpoint often hold the same weights (the best epoch is the last, or early stopping's copy is): one copy on disk.
          await shareIdenticalFiles(weightFiles(outDir));
        } finally {
          tf.dispose(Object.values(state.slots));
        }
      }
      if (stoppedEarly && config.earlyStop) {
        log(`early stop: ${config.earlyStop.metric} has not improved for ${config.earlyStop.patience} epochs (best ${best?.value.toFixed(4)} in epoch ${best?.epoch})`);
      }
      if (interrupted) stopAfter(epoch + 1);
    }
    if (config.earlyStop?.restoreBest && best && best.weights.length > 0 && best.epoch !== history.length) {
      model.setWeights(best.weights);
      log(`restored the weights of epoch ${best.epoch}`);
    }

    const result: TrainResult = { backend: backend.name, seed, history, stoppedEarly };
    // The test split, held back until now: the final weights are measured on it once.
    if (plan.test) {
      const t = await evaluate(model, plan.test, batcher, lossFn, units, Math.max(config.batch, 256), classify, config.loss);
      result.test = { loss: t.loss, ...(t.acc !== undefined ? { acc: t.acc } : {}) };
      log(`test: loss ${t.loss.toFixed(4)}${t.acc !== undefined ? `, acc ${(t.acc * 100).toFixed(2)}%` : ""} on ${t.n} samples (evaluated once, after training)`);
    }
    if (outDir) {
      await writing(outDir, async () => {
        await saveModel(model, outDir);
        await writeJsonAtomic(join(outDir, "history.json"), { model: config.model, backend: backend.name, seed, epochs: history, test: result.test ?? null });
        await writeJsonAtomic(join(outDir, "normalizer.json"), { kind: config.normalize.kind, stats: normalizer.stats });
        await writeJsonAtomic(join(outDir, DATA_JSON), dataFacts(data!, config, inputShape, regression ? outputs : undefined, options.data ? undefined : { baseDir: options.baseDir ?? process.cwd() }, outputShape));
        await shareIdenticalFiles(weightFiles(outDir));
      });
      result.outDir = outDir;
      log(`saved ${join(outDir, "model.json")} and history.json`);
    }
    return result;
  } catch (e) {
    failed = true;
    throw resourceFailure(e, config, backend.name) ?? e;
  } finally {
    if (onInterrupt) process.removeListener("SIGINT", onInterrupt);
    try {
      if (previous) tf.dispose(Object.values(previous.grads));
      best?.weights.forEach((w) => w.dispose());
      optimizer?.dispose();
      for (const part of [splits?.train, splits?.validation, splits?.test]) {
        part?.samples?.x?.dispose();
        part?.samples?.raw?.dispose();
      }
      // Tensors of the source that no split kept (a holdout gathered copies of them).
      for (const part of [data?.train, data?.validation, data?.test]) if (part?.x && !part.x.isDisposed) part.x.dispose();
      if (data?.close) await data.close();
      model.dispose();
    } catch (e) {
      // After wasm ran out of memory its heap may be broken, and freeing fails too: the first error is the one to report.
      if (!failed) throw e;
    }
  }
}
