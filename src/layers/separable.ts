/** `separable 3x3x64 relu same`: a depthwise conv then a 1x1 conv (Xception, MobileNet's blocks in one layer). */
import type { LayerKind } from "./kind.js";
import { withTrailing } from "./dense.js";
import { kernelAndFilters, strideWithDilation, windowOptions } from "./conv.js";
import { fullPadding } from "./pad.js";
import { activationParams, finiteCount, lastAxis, noIntendedShape, pair, requireImage, requirePositive, slideWindow, withActivation, allPositive } from "./shape.js";
import { activationRows, pairText, weightRows } from "./rows.js";
import type { ActivationSpec, WeightOptions } from "./types.js";
import type { Padding } from "../language/vocabulary.js";
import { COMMON, WEIGHTS, WINDOW } from "./words.js";
import { channels, paddingArg, torchWindow, tuple, windowInput } from "./torch.js";

export type SeparableConfig = {
  op: "separable";
  kernel: [number, number];
  filters: number;
  multiplier: number;
  strides: [number, number];
  dilation: [number, number];
  padding: Padding;
  activation?: ActivationSpec;
} & WeightOptions;

export const separable: LayerKind<"separable"> = {
  words: {
    word: "separable",
    positional: "kernel",
    info: {
      positional: [{ name: "kernel", form: "dims", summary: "`KxKxF` (window and filters), `KxK` or `K` with `filters F`" }],
      options: {
        ...COMMON,
        ...WEIGHTS,
        ...WINDOW,
        filters: { value: "integer", summary: "number of output channels" },
        multiplier: { value: "integer", summary: "depthwise filters per input channel (default 1)" },
      },
      activation: true,
      summary: "depthwise separable convolution: a depthwise conv, then a 1x1 conv",
      example: "separable 3x3x128 relu same",
    },
  },
  resolve(ctx) {
    const kf = kernelAndFilters(ctx, "separable");
    const multiplier = ctx.intOption("multiplier", 1);
    const strides = ctx.pairOption("stride", [1, 1]);
    // TensorFlow.js saves a depthwise layer's dilation but computes without it: not offered.
    const dilation: [number, number] = [1, 1];
    const padding = ctx.padding("valid");
    const w = ctx.weights();
    const m = ctx.layer.options["multiplier"];
    if (m) ctx.subject("multiplier", m.range);
    if (!kf || multiplier === undefined || !strides || !dilation || !padding || !w || !ctx.activationOk) return undefined;
    return withTrailing({ op: "separable", kernel: kf.kernel, filters: kf.filters, multiplier, strides, dilation, padding, ...w }, ctx.activation);
  },
  shape(config, input) {
    const words = separable.text(config);
    // The messages are made only when a value is wrong: a large spec checks thousands of these.
    if (!allPositive([config.kernel, [config.filters], [config.multiplier], config.strides, config.dilation])) {
      const bad =
        requirePositive("kernel", "The kernel of `separable`", pair(config.kernel), config.kernel) ??
        requirePositive("filters", "The number of filters of `separable`", `${config.filters}`, [config.filters]) ??
        requirePositive("multiplier", `The multiplier of \`${words}\``, `${config.multiplier}`, [config.multiplier]) ??
        requirePositive("stride", `The stride of \`${words}\``, pair(config.strides), config.strides) ??
        requirePositive("dilation", `The dilation of \`${words}\``, pair(config.dilation), config.dilation);
      if (bad) return bad;
    }
    const combination = strideWithDilation(words, config.strides, config.dilation);
    if (combination) return combination;
    const notImage = requireImage(words, input);
    if (notImage) return notImage;
    const slid = slideWindow({ words, subject: "kernel", noun: "kernel", kernel: config.kernel, strides: config.strides, dilation: config.dilation, padding: config.padding }, input);
    if (!slid.ok) return slid.result;
    return withActivation(config.activation, [slid.height, slid.width, config.filters], words, slid.warnings);
  },
  params(c, input) {
    const mid = lastAxis(input) * c.multiplier;
    return { trainable: c.kernel[0] * c.kernel[1] * mid + mid * c.filters + (c.useBias ? c.filters : 0) + activationParams(c.activation, [c.filters]), nonTrainable: 0 };
  },
  weights(c, input) {
    const mid = BigInt(lastAxis(input)) * BigInt(c.multiplier);
    return [
      { name: "depthwise kernel", shape: `${c.kernel[0]}x${c.kernel[1]}x${lastAxis(input)}x${c.multiplier}`, values: BigInt(c.kernel[0]) * BigInt(c.kernel[1]) * mid },
      { name: "pointwise kernel", shape: `1x1x${mid}x${c.filters}`, values: mid * BigInt(c.filters) },
    ];
  },
  multiplyAdds(c, input, output) {
    const positions = (output[0] ?? 0) * (output[1] ?? 0);
    const mid = lastAxis(input) * c.multiplier;
    return finiteCount(positions * mid * c.kernel[0] * c.kernel[1] + positions * mid * c.filters);
  },
  text: (c) => `separable ${c.kernel[0]}x${c.kernel[1]}x${c.filters}`,
  label: () => "separable",
  baseName: () => "separable",
  rows: (c) => [
    ["kernel", pairText(c.kernel)],
    ["filters", String(c.filters)],
    ["multiplier", String(c.multiplier)],
    ["stride", pairText(c.strides)],
    ["padding", c.padding],
    ...activationRows(c.activation, true),
    ...weightRows(c),
  ],
  intended: noIntendedShape,
  tfjs({ config: c }, ctx) {
    const { input, padding } = fullPadding(ctx, c.kernel, c.dilation, c.padding);
    const opts = [
      ...windowOptions(ctx, c, padding, [`filters: ${c.filters}`]),
      `depthMultiplier: ${c.multiplier}`,
      ...ctx.weightOptions(c, "depthwise"),
      ...ctx.weightOptions({ ...c, useBias: false, biasInit: 0 }, "pointwise").filter((o) => !o.startsWith("useBias")),
    ];
    ctx.applied(`tf.layers.separableConv2d({ ${opts.join(", ")}${ctx.trainable} })`, input, c.activation, true);
  },
  pytorch({ config: c, inputShapes }, ctx) {
    const input = inputShapes[0]!;
    const cin = channels(input);
    const w = torchWindow(ctx, input, c.kernel, c.strides, c.dilation, c.padding);
    const dilation = c.dilation.some((v) => v !== 1) ? `, dilation=${tuple(c.dilation)}` : "";
    const attr = ctx.module(`nnc.Separable(${cin}, ${c.filters}, ${tuple(c.kernel)}, multiplier=${c.multiplier}, stride=${tuple(c.strides)}${paddingArg(w)}${dilation}${c.useBias ? "" : ", bias=False"})`);
    ctx.weight(attr, { tf: "depthwise_kernel", path: "depthwise.weight", layout: "depthwise", shape: [...c.kernel, cin, c.multiplier], init: c.kernelInit, l1: c.l1, l2: c.l2 });
    ctx.weight(attr, { tf: "pointwise_kernel", path: "pointwise.weight", layout: "conv2d", shape: [1, 1, cin * c.multiplier, c.filters], init: c.kernelInit, l1: c.l1, l2: c.l2 });
    if (c.useBias) ctx.weight(attr, { tf: "bias", path: "pointwise.bias", layout: "same", shape: [c.filters], init: { constant: c.biasInit } });
    ctx.output(`self.${attr}(${windowInput(ctx, w)})`, c.activation, true);
  },
};
