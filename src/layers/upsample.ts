/** `upsample 2`, `upsample 2 bilinear`: repeat (or interpolate) rows and columns. */
import type { LayerKind } from "./kind.js";
import { noIntendedShape, noMultiplyAdds, noParams, noWeights, ok, pair, requireImage, requirePositive } from "./shape.js";
import { pairText } from "./rows.js";
import { COMMON } from "./words.js";
import { tuple } from "./torch.js";

export interface UpsampleConfig {
  op: "upsample";
  size: [number, number];
  mode: "nearest" | "bilinear";
}

export const upsample: LayerKind<"upsample"> = {
  words: {
    word: "upsample",
    positional: "size",
    info: {
      positional: [{ name: "size", form: "dims", optional: true, summary: "factor `N` or `NxM` (default 2)" }],
      options: {
        ...COMMON,
        nearest: { value: "flag", summary: "repeat each row and column (the default)" },
        bilinear: { value: "flag", summary: "interpolate linearly between neighbours" },
      },
      activation: false,
      summary: "upsampling by a whole factor, nearest or bilinear",
      example: "upsample 2 bilinear",
    },
  },
  resolve(ctx) {
    const size = ctx.first ? ctx.pair(ctx.first, "the factor of `upsample`") : ([2, 2] as [number, number]);
    const mode = ctx.exclusive(["nearest", "bilinear"], "nearest");
    if (!size || !mode) return undefined;
    return { op: "upsample", size, mode: mode as "nearest" | "bilinear" };
  },
  shape(config, input) {
    const words = upsample.text(config);
    const bad = requirePositive("size", "The factor of `upsample`", pair(config.size), config.size);
    if (bad) return bad;
    const notImage = requireImage(words, input);
    if (notImage) return notImage;
    return ok([input[0]! * config.size[0], input[1]! * config.size[1], input[2]!]);
  },
  params: noParams,
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: (c) => `upsample ${pair(c.size)}${c.mode === "bilinear" ? " bilinear" : ""}`,
  label: (c) => (c.mode === "bilinear" ? "upsample bilinear" : "upsample"),
  baseName: () => "upsample",
  rows: (c) => [["factor", pairText(c.size)], ["interpolation", c.mode]],
  intended: (c, input) => (input?.length === 3 ? [input[0]! * c.size[0], input[1]! * c.size[1], input[2]!] : undefined),
  tfjs({ config: c }, ctx) {
    ctx.applied(`tf.layers.upSampling2d({ name: ${ctx.name}, size: ${ctx.literal(c.size)}, interpolation: ${ctx.literal(c.mode)} })`, ctx.input(), undefined);
  },
  pytorch({ config: c }, ctx) {
    const attr = ctx.module(`nnc.Upsample${c.mode === "bilinear" ? "Bilinear" : "Nearest"}(${tuple(c.size)})`);
    ctx.output(`self.${attr}(${ctx.input()})`, undefined);
  },
};
