/**
 * What both targets' emitters share: the generated-file marker, literals, comment text, names
 * handed out once, the recipe as the runtimes read it (`TrainConfig`) and what a generated
 * `train()` tells its runtime about the model (`modelInfo`).
 */
import type { OptimizerConfig, TrainConfig } from "../runtime/config.js";
import { OPTIMIZERS } from "../language/vocabulary.js";
import { isConvolution } from "../layers/index.js";
import type { CheckedModel, CheckedRecipe } from "../typecheck/index.js";
import { elementCount, multiplyAdds } from "../typecheck/index.js";

/** The marker `nnc build` looks for before it overwrites a file. */
export const GENERATED_MARKER = "nnc:generated";

export interface EmitOptions {
  /** The spec's file name as shown in comments (no directories: output must not depend on where it was built). */
  specName: string;
  /** A line of the spec (0-based), for the comments that point back at it. */
  sourceLine: (line: number) => string;
  /** Module specifier of the runtime: "nnc/runtime", or a file URL when `nnc train` runs the module in place. */
  runtimeImport: string;
  version: string;
}

/** A string, number, array or object as a TypeScript literal (JSON is valid TS; U+2028/9 escaped for old parsers). */
export function literal(value: unknown): string {
  return JSON.stringify(value).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/**
 * Hands out names that are each used once: a layer `a_pre` and the `a_pre` variable the
 * emitter makes for layer `a`'s activation must not both be `const a_pre`.
 */
export class NameSet {
  private readonly used = new Set<string>();
  constructor(taken: Iterable<string> = []) {
    for (const t of taken) this.used.add(t);
  }
  fresh(wanted: string): string {
    let name = wanted;
    for (let i = 2; this.used.has(name); i++) name = `${wanted}_${i}`;
    this.used.add(name);
    return name;
  }
}

export function pascal(name: string): string {
  return name
    .split("_")
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join("");
}

/** A comment-safe rendering of one line of the spec. */
export function commentText(s: string): string {
  return s.replace(/\*\//g, "* /").replace(/[\r\n\u2028\u2029]/g, " ").trim();
}

/**
 * How many classes a model with this output tells apart, for a recipe with this loss: its
 * units, or 2 for one unit under a two-class loss. Undefined for one unit under `mse` or
 * `mae` (a regression on the label's value).
 */
function classCount(model: CheckedModel | undefined, loss: string): number | undefined {
  const units = model?.output?.[model.output.length - 1];
  if (units === undefined) return undefined;
  if (units > 1) return units;
  return loss === "binary_crossentropy" || loss === "hinge" ? 2 : undefined;
}

/** The recipe as the runtime reads it; with its model, CSV and IDX labels are checked against the model's classes. */
export function trainConfig(recipe: CheckedRecipe, model?: CheckedModel): TrainConfig {
  const optimizer: OptimizerConfig = { name: recipe.optimizer.name as OptimizerConfig["name"], args: { ...recipe.optimizer.args } };
  let data = recipe.data!;
  const classes = classCount(model, recipe.loss ?? "");
  if ((data.source === "csv" || data.source === "idx") && classes !== undefined) data = { ...data, classes };
  const config: TrainConfig = {
    model: recipe.model,
    data,
    normalize: recipe.normalize,
    augment: recipe.augment,
    loss: recipe.loss as TrainConfig["loss"],
    optimizer,
    lr: recipe.lr ?? OPTIMIZERS[recipe.optimizer.name]!.defaultLr,
    schedule: recipe.schedule,
    weightDecay: recipe.weightDecay,
    batch: recipe.batch,
    epochs: recipe.epochs,
    metrics: recipe.metrics as TrainConfig["metrics"],
  };
  if (recipe.clip) config.clip = recipe.clip;
  if (recipe.validate !== undefined) config.validate = recipe.validate;
  if (recipe.earlyStop) config.earlyStop = recipe.earlyStop as TrainConfig["earlyStop"];
  if (recipe.checkpoint) config.checkpoint = recipe.checkpoint as TrainConfig["checkpoint"];
  if (recipe.seed !== undefined) config.seed = recipe.seed;
  if (recipe.pretrained !== undefined) config.pretrained = recipe.pretrained;
  return config;
}

/** What a generated `train()` tells the runtime about its model (the runtime's `ModelInfo`). */
export interface EmittedModelInfo {
  inputShape: number[];
  outputShape: number[];
  convolutional: boolean;
  multiplyAdds: number;
  parameters: number;
  trainableParameters: number;
  activationsPerSample: number;
}

/**
 * What a generated `train()` passes the runtime about its model: shapes, whether it has
 * convolutions, one sample's multiply-adds (from which the wasm backend decides on threads),
 * and the counts the runtime weighs against the backend's memory before it builds anything.
 * Commands that call the runtime's `train()` themselves (`nnc sanity`) pass the same.
 */
export function modelInfo(model: CheckedModel): EmittedModelInfo {
  return {
    inputShape: [...(model.input ?? [])],
    outputShape: [...(model.output ?? [])],
    convolutional: model.layers.some((l) => isConvolution(l.config)),
    multiplyAdds: model.layers.reduce((sum, l) => sum + multiplyAdds(l.config, l.inputShapes[0] ?? [], l.outputShape), 0),
    parameters: model.params.total,
    trainableParameters: model.params.trainable,
    activationsPerSample: model.layers.reduce((sum, l) => sum + elementCount(l.outputShape), 0),
  };
}
