/** `flatten` (HxWxC → H·W·C) and `reshape 7x7x64`. */
import type { LayerKind } from "./kind.js";
import { dimensionsWords, elementCount, fail, formatShape, isPositiveInteger, noMultiplyAdds, noParams, noWeights, ok, warn } from "./shape.js";
import { COMMON } from "./words.js";
import { tuple } from "./torch.js";

export interface FlattenConfig {
  op: "flatten";
}
export interface ReshapeConfig {
  op: "reshape";
  shape: number[];
}

export const flatten: LayerKind<"flatten"> = {
  words: { word: "flatten", positional: "layer", info: { positional: [], options: { ...COMMON }, activation: false, summary: "HxWxC → H·W·C", example: "flatten" } },
  resolve: () => ({ op: "flatten" }),
  shape(_config, input) {
    if (input.length === 1) return ok([...input], [warn("NN3102", "layer", `\`flatten\` has no effect: its input ${formatShape(input)} is already a vector.`, "Remove it?")]);
    return ok([elementCount(input)]);
  },
  params: noParams,
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: () => "flatten",
  label: () => "flatten",
  baseName: () => "flatten",
  rows: () => [],
  intended: (_c, input) => (input ? [elementCount(input)] : undefined),
  tfjs(layer, ctx) {
    // Flattening a vector changes nothing (the checker warned); TF.js would refuse it.
    if (layer.inputShapes[0]?.length === 1) ctx.assign(ctx.input());
    else ctx.applied(`tf.layers.flatten({ name: ${ctx.name} })`, ctx.input(), undefined);
  },
  pytorch(layer, ctx) {
    if (layer.inputShapes[0]?.length === 1) {
      ctx.output(ctx.input(), undefined);
      return;
    }
    // In channels-last order, as TF.js flattens: a dense layer after it takes the same weights.
    const attr = ctx.module("nnc.Flatten()");
    ctx.output(`self.${attr}(${ctx.input()})`, undefined);
  },
};

export const reshape: LayerKind<"reshape"> = {
  words: {
    word: "reshape",
    positional: "shape",
    info: {
      positional: [{ name: "shape", form: "dims", summary: "the new shape, same number of values" }],
      options: { ...COMMON },
      activation: false,
      summary: "reshape to the given dimensions",
      example: "reshape 7x7x64",
    },
  },
  resolve(ctx) {
    const shape = ctx.first ? ctx.dims(ctx.first, "the shape of `reshape`") : undefined;
    return shape ? { op: "reshape", shape } : undefined;
  },
  shape(config, input) {
    const target = config.shape;
    const badDim = target.find((n) => !isPositiveInteger(n));
    if (badDim !== undefined) {
      return fail(
        "NN3006",
        "shape",
        `Every size of a reshape must be a positive whole number, but \`reshape ${formatShape(target)}\` has ${badDim}.`,
        badDim === -1 ? `Write every size out: nnc does not infer a -1 (here the input holds ${elementCount(input)} values)?` : undefined,
      );
    }
    if (target.length < 1 || target.length > 3) {
      return fail("NN3008", "shape", `\`reshape\` needs 1 to 3 dimensions (features, or height x width x channels), but ${dimensionsWords(target)}.`);
    }
    const have = elementCount(input);
    const want = elementCount(target);
    if (have !== want) {
      return fail(
        "NN3003",
        "shape",
        input.length === 1 ? `\`reshape ${formatShape(target)}\` holds ${want} values, but its input has ${have}.` : `\`reshape ${formatShape(target)}\` holds ${want} values, but its input ${formatShape(input)} holds ${have}.`,
        `Pick sizes whose product is ${have}?`,
      );
    }
    return ok([...target]);
  },
  params: noParams,
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: (c) => `reshape ${formatShape(c.shape)}`,
  label: () => "reshape",
  baseName: () => "reshape",
  rows: (c) => [["shape", formatShape(c.shape)]],
  intended: (c) => [...c.shape],
  tfjs({ config: c }, ctx) {
    ctx.applied(`tf.layers.reshape({ name: ${ctx.name}, targetShape: ${ctx.literal(c.shape)} })`, ctx.input(), undefined);
  },
  pytorch({ config: c }, ctx) {
    const attr = ctx.module(`nnc.Reshape(${tuple(c.shape)})`);
    ctx.output(`self.${attr}(${ctx.input()})`, undefined);
  },
};
