/**
 * Merges of two or more tensors: `add` (a residual's join, or `add { … } { … }`), `concat` (on
 * the channel axis: Inception, DenseNet, U-Net's long skips) and `multiply` (a squeeze-and-
 * excitation gate). Written as statements with branches (see the checker's `merge`), not as
 * layer words. `multiply` broadcasts an axis of size 1 (a 1x1xC gate scales an HxWxC image),
 * as TensorFlow.js and PyTorch do; `add` needs equal shapes.
 */
import type { LayerKind } from "./kind.js";
import { fail, formatShape, noIntendedShape, noMultiplyAdds, noParams, noWeights, ok, sameShape } from "./shape.js";
import type { Shape, ShapeResult } from "./types.js";

export interface AddConfig {
  op: "add";
}
export interface ConcatConfig {
  op: "concat";
}
export interface MultiplyConfig {
  op: "multiply";
}

/** The name of an axis of a shape: `height`, `width`, `channels`; `length` for sequences. */
export function axisName(rank: number, axis: number): string {
  if (rank === 3) return ["height", "width", "channels"][axis]!;
  if (rank === 2) return ["length", "channels"][axis]!;
  return rank === 1 ? "features" : `axis ${axis + 1}`;
}

const ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"];
export function ordinal(i: number): string {
  return ORDINALS[i] ?? `${i + 1}th`;
}

function rankDisagrees(word: string, inputs: readonly Shape[]): ShapeResult | undefined {
  const first = inputs[0]!;
  const j = inputs.findIndex((s) => s.length !== first.length);
  if (j < 0) return undefined;
  return fail("NN3017", "layer", `The inputs of this \`${word}\` must have the same rank, but the first is ${formatShape(first)} (rank ${first.length}) and the ${ordinal(j)} ${formatShape(inputs[j]!)} (rank ${inputs[j]!.length}).`, "Flatten or reshape one of them first?");
}

/** Elementwise product, broadcasting size-1 axes. */
function elementwise(word: "multiply", inputs: readonly Shape[]): ShapeResult {
  const rank = rankDisagrees(word, inputs);
  if (rank) return rank;
  const out = [...inputs[0]!];
  for (let j = 1; j < inputs.length; j++) {
    const s = inputs[j]!;
    for (let a = 0; a < out.length; a++) {
      if (out[a] === s[a] || s[a] === 1) continue;
      if (out[a] === 1) {
        out[a] = s[a]!;
        continue;
      }
      const sizeOne = " (or be 1, to scale every position alike)";
      return fail(
        "NN3017",
        "layer",
        `The inputs of this \`${word}\` must agree on every axis${sizeOne}, but they differ in ${axisName(out.length, a)} (axis ${a + 1}): the first is ${formatShape(inputs[0]!)} and the ${ordinal(j)} ${formatShape(s)}.`,
        "A gate is usually 1x1xC: `global avgpool -> dense C sigmoid -> reshape 1x1xC`?",
      );
    }
  }
  return ok(out);
}

export const add: LayerKind<"add"> = {
  words: undefined,
  resolve: undefined,
  shape(_config, _input, inputs) {
    const first = inputs[0]!;
    for (let j = 1; j < inputs.length; j++) {
      const other = inputs[j]!;
      if (sameShape(first, other)) continue;
      const axis = first.length === other.length ? first.findIndex((n, a) => n !== other[a]) : -1;
      const where = axis >= 0 ? `: they differ in ${axisName(first.length, axis)} (axis ${axis + 1})` : "";
      return fail(
        "NN3004",
        "layer",
        `Branches must end in the same shape to be added, but the first ends in ${formatShape(first)} and the ${ordinal(j)} in ${formatShape(other)}${where}.`,
        first.length === 3 && other.length === 3 ? "Use `residual project { … }` to put a 1x1 `conv` (with the main branch's stride) on the skip path?" : "Make both branches end in the same shape?",
      );
    }
    return ok([...first]);
  },
  params: noParams,
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: () => "add",
  label: () => "add",
  baseName: () => "add",
  rows: () => [],
  intended: noIntendedShape,
  tfjs(_layer, ctx) {
    ctx.assign(`nnc.apply(tf.layers.add({ name: ${ctx.name} }), [${ctx.inputs().join(", ")}])`);
  },
  pytorch(_layer, ctx) {
    ctx.output(ctx.inputs().join(" + "), undefined);
  },
};

export const multiply: LayerKind<"multiply"> = {
  words: undefined,
  resolve: undefined,
  shape: (_c, _input, inputs) => elementwise("multiply", inputs),
  params: noParams,
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: () => "multiply",
  label: () => "multiply",
  baseName: () => "multiply",
  rows: () => [],
  intended: noIntendedShape,
  tfjs(_layer, ctx) {
    ctx.assign(`nnc.apply(tf.layers.multiply({ name: ${ctx.name} }), [${ctx.inputs().join(", ")}])`);
  },
  pytorch(_layer, ctx) {
    // Size-1 axes broadcast in PyTorch as in TF.js (the same rank, channels first in both operands).
    ctx.output(ctx.inputs().join(" * "), undefined);
  },
};

export const concat: LayerKind<"concat"> = {
  words: undefined,
  resolve: undefined,
  shape(_config, _input, inputs) {
    const rank = rankDisagrees("concat", inputs);
    if (rank) return rank;
    const first = inputs[0]!;
    if (first.length === 0) return fail("NN3017", "layer", "`concat` joins tensors on their last axis, but its inputs have no dimensions.");
    let channels = 0;
    for (let j = 0; j < inputs.length; j++) {
      const s = inputs[j]!;
      for (let a = 0; a < first.length - 1; a++) {
        if (s[a] === first[a]) continue;
        return fail(
          "NN3017",
          "layer",
          `The inputs of this \`concat\` must agree on every axis but the last (${axisName(first.length, first.length - 1)}), but they differ in ${axisName(first.length, a)} (axis ${a + 1}): the first is ${formatShape(first)} and the ${ordinal(j)} ${formatShape(s)}.`,
          first.length === 3 ? "Give the branches `same` padding and the same strides, or `crop`/`pad`/`upsample` one to the other's size?" : undefined,
        );
      }
      channels += s[s.length - 1]!;
    }
    return ok([...first.slice(0, -1), channels]);
  },
  params: noParams,
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: () => "concat",
  label: () => "concat",
  baseName: () => "concat",
  rows: () => [["axis", "last (channels)"]],
  intended: noIntendedShape,
  tfjs(_layer, ctx) {
    ctx.assign(`nnc.apply(tf.layers.concatenate({ name: ${ctx.name}, axis: -1 }), [${ctx.inputs().join(", ")}])`);
  },
  pytorch(_layer, ctx) {
    // The channels are axis 1 inside the module.
    ctx.output(`torch.cat([${ctx.inputs().join(", ")}], 1)`, undefined);
  },
};
