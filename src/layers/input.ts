/** `input 28x28x1`: the model's input; the batch dimension is left out. */
import type { LayerKind } from "./kind.js";
import { dimensionsWords, fail, formatShape, isPositiveInteger, noIntendedShape, noMultiplyAdds, noParams, noWeights, ok } from "./shape.js";
import { COMMON } from "./words.js";

export interface InputConfig {
  op: "input";
  shape: number[];
}

export const input: LayerKind<"input"> = {
  words: {
    word: "input",
    positional: "shape",
    info: {
      positional: [{ name: "shape", form: "dims", summary: "features (`10`), or height x width x channels (`28x28x1`)" }],
      options: { name: COMMON.name! },
      activation: false,
      summary: "the model's input; the batch dimension is left out",
      example: "input 28x28x1",
    },
  },
  resolve(ctx) {
    const shape = ctx.first ? ctx.dims(ctx.first, "the input shape") : undefined;
    return shape ? { op: "input", shape } : undefined;
  },
  shape(config) {
    const shape = config.shape;
    if (shape.length < 1 || shape.length > 3) {
      return fail("NN3008", "shape", `\`input\` needs 1 to 3 dimensions (features, or height x width x channels), but ${dimensionsWords(shape)}.`, shape.length > 3 ? "Leave the batch dimension out?" : undefined);
    }
    const bad = shape.find((n) => !isPositiveInteger(n));
    if (bad !== undefined) {
      return fail("NN3008", "shape", `Every size of an input must be a positive whole number, but \`input ${formatShape(shape)}\` has ${bad}.`);
    }
    return ok([...shape]);
  },
  params: noParams,
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: (c) => `input ${formatShape(c.shape)}`,
  label: () => "input",
  baseName: () => "input",
  rows: (c) => [["shape", formatShape(c.shape)]],
  intended: noIntendedShape,
  tfjs(layer, ctx) {
    ctx.assign(`tf.input({ shape: ${ctx.literal(layer.config.shape)}, name: ${ctx.name} })`);
  },
  pytorch(_layer, ctx) {
    // The spec's channels-last input, channels-first inside the module.
    ctx.output("nnc.to_channels_first(x)", undefined);
  },
};
