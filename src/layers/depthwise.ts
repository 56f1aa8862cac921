/** `depthwise 3x3 multiplier 2 stride 2 same`: one filter per input channel (MobileNet's). */
import type { LayerKind, ResolveContext } from "./kind.js";
import { withTrailing } from "./dense.js";
import { strideWithDilation, windowOptions } from "./conv.js";
import { fullPadding } from "./pad.js";
import { activationParams, elementCount, finiteCount, lastAxis, noIntendedShape, pair, requireImage, requirePositive, slideWindow, withActivation, allPositive } from "./shape.js";
import { activationRows, pairText, weightRows } from "./rows.js";
import type { ActivationSpec, WeightOptions } from "./types.js";
import type { Padding } from "../language/vocabulary.js";
import { COMMON, WEIGHTS, WINDOW } from "./words.js";
import { channels, paddingArg, torchWindow, tuple, windowInput } from "./torch.js";

export type DepthwiseConfig = {
  op: "depthwise";
  kernel: [number, number];
  /** Output channels per input channel. */
  multiplier: number;
  strides: [number, number];
  dilation: [number, number];
  padding: Padding;
  activation?: ActivationSpec;
} & WeightOptions;

/** `K` or `KxK`: the window of a depthwise conv, which has no filters of its own. */
function windowKernel(ctx: ResolveContext): [number, number] | undefined {
  const first = ctx.first;
  if (!first) return undefined;
  const dims = ctx.dims(first, "the kernel of `depthwise`");
  if (!dims) return undefined;
  if (dims.length > 2) {
    ctx.error("NN1013", `A \`depthwise\` kernel is \`KxK\` (height x width), but \`${ctx.source(first)}\` has ${dims.length} dimensions.`, first.range, `A depthwise conv makes \`multiplier\` filters per input channel: write \`depthwise ${dims[0]}x${dims[1]}\`, or \`separable ${ctx.source(first)}\` for a depthwise conv followed by a 1x1 conv.`);
    return undefined;
  }
  return [dims[0]!, dims[1] ?? dims[0]!];
}

export const depthwise: LayerKind<"depthwise"> = {
  words: {
    word: "depthwise",
    positional: "kernel",
    info: {
      positional: [{ name: "kernel", form: "dims", summary: "the window, `K` or `KxK`" }],
      options: {
        ...COMMON,
        ...WEIGHTS,
        ...WINDOW,
        multiplier: { value: "integer", summary: "filters per input channel (default 1)" },
      },
      activation: true,
      summary: "depthwise convolution: each channel convolved with its own filters",
      example: "depthwise 3x3 stride 2 same no_bias",
    },
  },
  resolve(ctx) {
    const kernel = windowKernel(ctx);
    const multiplier = ctx.intOption("multiplier", 1);
    const strides = ctx.pairOption("stride", [1, 1]);
    // TensorFlow.js saves a depthwise layer's dilation but computes without it: not offered.
    const dilation: [number, number] = [1, 1];
    const padding = ctx.padding("valid");
    const w = ctx.weights();
    const m = ctx.layer.options["multiplier"];
    if (m) ctx.subject("multiplier", m.range);
    if (!kernel || multiplier === undefined || !strides || !dilation || !padding || !w || !ctx.activationOk) return undefined;
    return withTrailing({ op: "depthwise", kernel, multiplier, strides, dilation, padding, ...w }, ctx.activation);
  },
  shape(config, input) {
    const words = depthwise.text(config);
    // The messages are made only when a value is wrong: a large spec checks thousands of these.
    if (!allPositive([config.kernel, [config.multiplier], config.strides, config.dilation])) {
      const bad =
        requirePositive("kernel", "The kernel of `depthwise`", pair(config.kernel), config.kernel) ??
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
    const channels = input[2]! * config.multiplier;
    return withActivation(config.activation, [slid.height, slid.width, channels], words, slid.warnings);
  },
  params(c, input) {
    const out = lastAxis(input) * c.multiplier;
    return { trainable: c.kernel[0] * c.kernel[1] * out + (c.useBias ? out : 0) + activationParams(c.activation, [out]), nonTrainable: 0 };
  },
  weights: (c, input) => [{ name: "kernel", shape: `${c.kernel[0]}x${c.kernel[1]}x${lastAxis(input)}x${c.multiplier}`, values: BigInt(c.kernel[0]) * BigInt(c.kernel[1]) * BigInt(lastAxis(input)) * BigInt(c.multiplier) }],
  multiplyAdds: (c, _input, output) => finiteCount(elementCount(output) * c.kernel[0] * c.kernel[1]),
  text: (c) => `depthwise ${pair(c.kernel)}${c.multiplier > 1 ? ` multiplier ${c.multiplier}` : ""}`,
  label: () => "depthwise",
  baseName: () => "depthwise",
  rows: (c) => [
    ["kernel", pairText(c.kernel)],
    ["multiplier", String(c.multiplier)],
    ["stride", pairText(c.strides)],
    ["padding", c.padding],
    ...activationRows(c.activation, true),
    ...weightRows(c),
  ],
  intended: noIntendedShape,
  tfjs({ config: c }, ctx) {
    const { input, padding } = fullPadding(ctx, c.kernel, c.dilation, c.padding);
    const opts = [...windowOptions(ctx, c, padding), `depthMultiplier: ${c.multiplier}`, ...ctx.weightOptions(c, "depthwise")];
    ctx.applied(`tf.layers.depthwiseConv2d({ ${opts.join(", ")}${ctx.trainable} })`, input, c.activation, true);
  },
  pytorch({ config: c, inputShapes }, ctx) {
    const input = inputShapes[0]!;
    const cin = channels(input);
    const w = torchWindow(ctx, input, c.kernel, c.strides, c.dilation, c.padding);
    const dilation = c.dilation.some((v) => v !== 1) ? `, dilation=${tuple(c.dilation)}` : "";
    // A depthwise conv is a conv with one group per input channel (output channel c·multiplier + m in both).
    const attr = ctx.module(`nn.Conv2d(${cin}, ${cin * c.multiplier}, ${tuple(c.kernel)}, stride=${tuple(c.strides)}${paddingArg(w)}${dilation}, groups=${cin}${c.useBias ? "" : ", bias=False"})`);
    ctx.weight(attr, { tf: "depthwise_kernel", path: "weight", layout: "depthwise", shape: [...c.kernel, cin, c.multiplier], init: c.kernelInit, l1: c.l1, l2: c.l2 });
    if (c.useBias) ctx.weight(attr, { tf: "bias", path: "bias", layout: "same", shape: [cin * c.multiplier], init: { constant: c.biasInit } });
    ctx.output(`self.${attr}(${windowInput(ctx, w)})`, c.activation, true);
  },
};
