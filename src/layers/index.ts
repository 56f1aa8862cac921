/**
 * The layer kinds: one record per kind (each in its own file), collected in `LAYERS`, whose
 * type asks for one record per `LayerOp` — a kind added to `LayerConfig` without a record, or
 * a record missing its shape rule, counts, words or code, is a compile error naming what it
 * lacks. Everything else reads a kind through the functions here.
 */
import type { LayerKind } from "./kind.js";
import type { Config, LayerConfig, LayerOp, ParamCount, Shape, ShapeErrorSubject, ShapeResult, WeightTensor } from "./types.js";
import type { LayerKindInfo } from "./words.js";
import { activation } from "./activation.js";
import { conv } from "./conv.js";
import { dense } from "./dense.js";
import { depthwise } from "./depthwise.js";
import { dropout } from "./dropout.js";
import { input } from "./input.js";
import { add, concat, multiply } from "./merge.js";
import { batchnorm, groupnorm, layernorm } from "./norms.js";
import { crop, pad } from "./pad.js";
import { globalPool, pool } from "./pool.js";
import { flatten, reshape } from "./reshape.js";
import { separable } from "./separable.js";
import { fail } from "./shape.js";
import { upconv } from "./upconv.js";
import { upsample } from "./upsample.js";

export const LAYERS: { readonly [K in LayerOp]: LayerKind<K> } = {
  input,
  dense,
  conv,
  depthwise,
  separable,
  upconv,
  pool,
  global_pool: globalPool,
  upsample,
  pad,
  crop,
  flatten,
  reshape,
  dropout,
  batchnorm,
  layernorm,
  groupnorm,
  activation,
  add,
  concat,
  multiply,
};

function kindOf<K extends LayerOp>(config: Config<K>): LayerKind<K> {
  return LAYERS[config.op as K] as LayerKind<K>;
}

/** The vocabulary of layer words, in the order of `LAYERS`: head word → its positional values and options. */
export function layerWordTable(): Record<string, LayerKindInfo> {
  const table: Record<string, LayerKindInfo> = {};
  for (const kind of Object.values(LAYERS) as LayerKind<LayerOp>[]) if (kind.words) table[kind.words.word] = kind.words.info;
  return table;
}

/** Head word → kind, made once (no prototype: `constructor` is no word). */
let byWord: Map<string, LayerKind<LayerOp>> | undefined;

/** The kind a head word writes (`global` → global_pool), if any. */
export function kindOfWord(word: string): LayerKind<LayerOp> | undefined {
  if (!byWord) {
    byWord = new Map();
    for (const kind of Object.values(LAYERS) as LayerKind<LayerOp>[]) if (kind.words) byWord.set(kind.words.word, kind);
  }
  return byWord.get(word);
}

/** Which part of a layer its first positional value is (`conv`'s kernel), for error ranges. */
export function positionalSubject(word: string): ShapeErrorSubject {
  return kindOfWord(word)?.words?.positional ?? "layer";
}

/**
 * The shape that comes out of a layer, given the shapes that go in (batch left out): one
 * shape, or two or more for a merge. `input` ignores `inputs`.
 */
export function outputShape(config: LayerConfig, inputs: readonly Shape[]): ShapeResult {
  const kind = kindOf(config);
  if (config.op === "input") return kind.shape(config, [], inputs);
  const first = inputs[0];
  // Only a checker bug can leave a layer without input; report it rather than throw.
  if (first === undefined) return fail("NN3001", "input", `\`${kind.text(config)}\` has no input.`);
  return kind.shape(config, first, inputs);
}

/** Parameters as Keras / TensorFlow.js `countParams()` counts them; `frozen` is the caller's business. */
export function paramCount(config: LayerConfig, input: Shape): ParamCount {
  return kindOf(config).params(config, input);
}

/** The weight tensors of a layer with their exact sizes, as BigInts (NN3015). */
export function weightTensors(config: LayerConfig, input: Shape): WeightTensor[] {
  return kindOf(config).weights(config, input);
}

/** One sample's multiply-adds through a layer, as torchinfo's Mult-Adds. */
export function multiplyAdds(config: LayerConfig, input: Shape, output: Shape): number {
  return kindOf(config).multiplyAdds(config, input, output);
}

/** The layer as the spec would write it, without its options: `conv 5x5x32`, `pool avg 3`. */
export function layerWords(config: LayerConfig): string {
  return kindOf(config).text(config);
}

/** The kind column of a summary: `conv`, `pool avg`, `dense`, `relu`, `global avgpool`. */
export function kindLabel(config: LayerConfig): string {
  return kindOf(config).label(config);
}

/** The base of a layer's automatic name: `conv` for `conv1`. */
export function baseName(config: LayerConfig): string {
  return kindOf(config).baseName(config);
}

/** The resolved options of a layer, defaults included, as `[name, value]` rows. */
export function configRows(config: LayerConfig): [string, string][] {
  return kindOf(config).rows(config);
}

/** The shape a layer would give if its input were right (dense → its units), to go on checking. */
export function intendedShape(config: LayerConfig, input: Shape | undefined): number[] | undefined {
  return kindOf(config).intended(config, input);
}

/** Whether a model with this layer has convolutions (the runtime's backend choice reads it). */
export function isConvolution(config: LayerConfig): boolean {
  return config.op === "conv" || config.op === "depthwise" || config.op === "separable" || config.op === "upconv";
}

export type { EmitContext, EmittedLayer, LayerKind, ResolveContext, TorchContext, TorchLayout, TorchWeight } from "./kind.js";
export type * from "./types.js";
