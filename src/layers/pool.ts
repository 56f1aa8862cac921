/** `pool avg 3 stride 2 same` and `global avgpool`: pooling over windows, and over the whole image. */
import type { LayerKind } from "./kind.js";
import { fullWindowPadding } from "./pad.js";
import { noIntendedShape, noMultiplyAdds, noParams, noWeights, ok, pair, requirePositive, requireSequenceOrImage, sequenceAsImage, slideWindow, allPositive } from "./shape.js";
import { alongSequence, oneDimensional } from "./conv.js";
import { pairText } from "./rows.js";
import type { Padding } from "../language/vocabulary.js";
import { COMMON, WINDOW } from "./words.js";
import { paddingArg, torchWindow, tuple, windowInput } from "./torch.js";

export interface PoolConfig {
  op: "pool";
  mode: "max" | "avg";
  size: [number, number];
  strides: [number, number];
  padding: Padding;
  /** Written for a sequence: a 1-D window, `[k, 1]`. */
  sequence?: true;
}
export interface GlobalPoolConfig {
  op: "global_pool";
  mode: "max" | "avg";
}

const poolText = (c: PoolConfig): string => `pool ${c.mode === "avg" ? "avg " : ""}${c.sequence ? c.size[0] : pair(c.size)}`;

export const pool: LayerKind<"pool"> = {
  words: {
    word: "pool",
    positional: "size",
    info: {
      positional: [{ name: "size", form: "dims", optional: true, summary: "window `N` or `NxM` (default 2); stride defaults to the window" }],
      options: {
        ...COMMON,
        ...WINDOW,
        max: { value: "flag", summary: "max pooling (the default)" },
        avg: { value: "flag", summary: "average pooling" },
      },
      activation: false,
      summary: "max or average pooling over windows",
      example: "pool avg 3 stride 2 same",
    },
  },
  resolve(ctx) {
    const size = ctx.first ? ctx.pair(ctx.first, "the window of `pool`") : ([2, 2] as [number, number]);
    const strides = size ? ctx.pairOption("stride", size) : undefined;
    const padding = ctx.padding("valid");
    const mode = ctx.exclusive(["max", "avg"], "max");
    if (!size || !strides || !padding || !mode) return undefined;
    if (ctx.inputRank === 2) {
      if (!alongSequence(ctx, "pool", { stride: strides }) || (ctx.first && !alongSequence(ctx, "pool", { window: size }))) return undefined;
      return { op: "pool", mode: mode as "max" | "avg", size: [size[0], 1], strides: [strides[0], 1], padding, sequence: true };
    }
    return { op: "pool", mode: mode as "max" | "avg", size, strides, padding };
  },
  shape(config, input) {
    const words = poolText(config);
    // The messages are made only when a value is wrong: a large spec checks thousands of these.
    if (!allPositive([config.size, config.strides])) {
      const bad = requirePositive("size", `The window of \`pool\``, pair(config.size), config.size) ?? requirePositive("stride", `The stride of \`${words}\``, pair(config.strides), config.strides);
      if (bad) return bad;
    }
    const notImage = requireSequenceOrImage(words, input);
    if (notImage) return notImage;
    if (input.length === 2) {
      const bad1d = oneDimensional(words, config.size, config.strides, [1, 1], config.padding, input);
      if (bad1d) return bad1d;
    }
    const slid = slideWindow({ words, subject: "size", noun: "window", kernel: config.size, strides: config.strides, dilation: [1, 1], padding: config.padding }, input);
    if (!slid.ok) return slid.result;
    return ok(input.length === 2 ? [slid.height, input[1]!] : [slid.height, slid.width, input[2]!], slid.warnings);
  },
  params: noParams,
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: poolText,
  label: (c) => (c.mode === "avg" ? "pool avg" : "pool"),
  baseName: () => "pool",
  rows: (c) => [
    ["mode", c.mode],
    ["window", pairText(c.size)],
    ["stride", pairText(c.strides)],
    ["padding", c.padding],
  ],
  intended: noIntendedShape,
  tfjs({ config: c, inputShapes }, ctx) {
    if (inputShapes[0]?.length === 2) {
      const fn = c.mode === "max" ? "maxPooling1d" : "averagePooling1d";
      ctx.applied(`tf.layers.${fn}({ name: ${ctx.name}, poolSize: ${c.size[0]}, strides: ${c.strides[0]}, padding: ${ctx.literal(c.padding)} })`, ctx.input(), undefined);
      return;
    }
    const { input, padding } = fullWindowPadding(ctx, c.size, c.padding);
    const fn = c.mode === "max" ? "maxPooling2d" : "averagePooling2d";
    ctx.applied(`tf.layers.${fn}({ name: ${ctx.name}, poolSize: ${ctx.literal(c.size)}, strides: ${ctx.literal(c.strides)}, padding: ${ctx.literal(padding)} })`, input, undefined);
  },
  pytorch({ config: c, inputShapes }, ctx) {
    const input = inputShapes[0]!;
    const axes = input.length === 2 ? 1 : 2;
    const [k, s] = [c.size.slice(0, axes), c.strides.slice(0, axes)];
    const d = `${axes}d`;
    // `full` pads zeros that windows may take (the TF.js code adds a zero-padding layer);
    // `same` pads nothing a window takes: −∞ for max, left out of the average.
    const w = torchWindow(ctx, input, k, s, [1, 1], c.padding, c.padding === "full");
    if (c.mode === "max") {
      const attr = ctx.module(`nn.MaxPool${d}(${tuple(k)}, stride=${tuple(s)}${paddingArg(w)})`);
      ctx.output(`self.${attr}(${windowInput(ctx, w, c.padding === "same" ? 'float("-inf")' : undefined)})`, undefined);
      return;
    }
    if (c.padding === "same" && w.explicit) {
      const attr = ctx.module(`nnc.AvgPoolSame(${tuple(k)}, stride=${tuple(s)}, pad=${tuple(w.explicit)})`);
      ctx.output(`self.${attr}(${ctx.input()})`, undefined);
      return;
    }
    const attr = ctx.module(`nn.AvgPool${d}(${tuple(k)}, stride=${tuple(s)}${paddingArg(w)}${c.padding === "same" && w.padding.some((p) => p > 0) ? ", count_include_pad=False" : ""})`);
    ctx.output(`self.${attr}(${windowInput(ctx, w)})`, undefined);
  },
};

export const globalPool: LayerKind<"global_pool"> = {
  words: {
    word: "global",
    positional: "layer",
    info: {
      positional: [],
      options: {
        ...COMMON,
        avgpool: { value: "flag", summary: "global average pooling" },
        maxpool: { value: "flag", summary: "global max pooling" },
        avg: { value: "flag", summary: "global average pooling" },
        max: { value: "flag", summary: "global max pooling" },
      },
      activation: false,
      summary: "pool each channel over all positions: HxWxC (or LxC) → C",
      example: "global avgpool",
    },
  },
  resolve(ctx) {
    const words = ["avgpool", "avg", "maxpool", "max"];
    const mode = ctx.exclusive(words, undefined);
    if (mode === undefined && !words.some((k) => ctx.layer.options[k])) {
      ctx.error("NN1008", "`global` needs the kind of pooling: `global avgpool` or `global maxpool`.", ctx.layer.op.range);
    }
    return mode ? { op: "global_pool", mode: mode.startsWith("avg") ? "avg" : "max" } : undefined;
  },
  shape(config, input) {
    const notImage = requireSequenceOrImage(`global ${config.mode}pool`, input);
    if (notImage) return notImage;
    return ok([input[input.length - 1]!]);
  },
  params: noParams,
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: (c) => `global ${c.mode}pool`,
  label: (c) => (c.mode === "avg" ? "global avgpool" : "global maxpool"),
  baseName: () => "global_pool",
  rows: (c) => [["mode", c.mode]],
  intended: noIntendedShape,
  tfjs({ config: c, inputShapes }, ctx) {
    const d = inputShapes[0]?.length === 2 ? "1d" : "2d";
    ctx.applied(`tf.layers.${c.mode === "avg" ? "globalAveragePooling" : "globalMaxPooling"}${d}({ name: ${ctx.name} })`, ctx.input(), undefined);
  },
  pytorch({ config: c }, ctx) {
    const attr = ctx.module(`nnc.GlobalPool(${ctx.literal(c.mode)})`);
    ctx.output(`self.${attr}(${ctx.input()})`, undefined);
  },
};
