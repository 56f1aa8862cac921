/**
 * `upconv 2x2x64 stride 2 same`: transposed convolution (Keras's Conv2DTranspose, PyTorch's
 * ConvTranspose2d; U-Net's "up-convolution"). Output per axis, as Keras computes it:
 * `same` n·s, `valid` n·s + max(k − s, 0) (= (n−1)·s + k when k ≥ s).
 */
import type { LayerKind } from "./kind.js";
import { withTrailing } from "./dense.js";
import { kernelAndFilters } from "./conv.js";
import { activationParams, elementCount, fail, finiteCount, lastAxis, noIntendedShape, pair, requireImage, requirePositive, withActivation, allPositive } from "./shape.js";
import { activationRows, pairText, weightRows } from "./rows.js";
import type { ActivationSpec, WeightOptions } from "./types.js";
import { COMMON, WEIGHTS } from "./words.js";
import { channels, tuple } from "./torch.js";

export type UpconvConfig = {
  op: "upconv";
  kernel: [number, number];
  filters: number;
  strides: [number, number];
  padding: "valid" | "same";
  activation?: ActivationSpec;
} & WeightOptions;

/** The output length of a transposed convolution along one axis. */
export function upconvLength(n: number, k: number, s: number, padding: "valid" | "same"): number {
  return padding === "same" ? n * s : n * s + Math.max(k - s, 0);
}

export const upconv: LayerKind<"upconv"> = {
  words: {
    word: "upconv",
    positional: "kernel",
    info: {
      positional: [{ name: "kernel", form: "dims", summary: "`KxKxF` (kernel and filters), `KxK` or `K` with `filters F`" }],
      options: {
        ...COMMON,
        ...WEIGHTS,
        stride: { value: "pair", summary: "upsampling factor: `stride 2` doubles height and width" },
        same: { value: "flag", summary: "output = input·stride" },
        valid: { value: "flag", summary: "output = input·stride + max(k − stride, 0)" },
        filters: { value: "integer", summary: "number of output channels" },
      },
      activation: true,
      summary: "transposed convolution (learnt upsampling)",
      example: "upconv 2x2x64 stride 2",
    },
  },
  resolve(ctx) {
    const kf = kernelAndFilters(ctx, "upconv");
    const strides = ctx.pairOption("stride", [1, 1]);
    const padding = ctx.padding("valid");
    const w = ctx.weights();
    if (!kf || !strides || !padding || !w || !ctx.activationOk) return undefined;
    if (padding === "full") {
      const full = ctx.layer.options["full"]!;
      ctx.error("NN3007", "`upconv` takes `valid` or `same` padding: a transposed convolution's `full` would be a `valid` convolution's, which `conv … full` already is.", full.range, "Use `same` (output = input·stride) or `valid`?");
      return undefined;
    }
    return withTrailing({ op: "upconv", kernel: kf.kernel, filters: kf.filters, strides, padding, ...w }, ctx.activation);
  },
  shape(config, input) {
    const words = upconv.text(config);
    // The messages are made only when a value is wrong: a large spec checks thousands of these.
    if (!allPositive([config.kernel, [config.filters], config.strides])) {
      const bad =
        requirePositive("kernel", "The kernel of `upconv`", pair(config.kernel), config.kernel) ??
        requirePositive("filters", "The number of filters of `upconv`", `${config.filters}`, [config.filters]) ??
        requirePositive("stride", `The stride of \`${words}\``, pair(config.strides), config.strides);
      if (bad) return bad;
    }
    const notImage = requireImage(words, input);
    if (notImage) return notImage;
    const h = upconvLength(input[0]!, config.kernel[0], config.strides[0], config.padding);
    const w = upconvLength(input[1]!, config.kernel[1], config.strides[1], config.padding);
    if (h < 1 || w < 1) return fail("NN3002", "kernel", `\`${words}\` gives no output for its ${input.join("x")} input.`);
    return withActivation(config.activation, [h, w, config.filters], words, []);
  },
  params: (c, input) => ({ trainable: c.kernel[0] * c.kernel[1] * lastAxis(input) * c.filters + (c.useBias ? c.filters : 0) + activationParams(c.activation, [c.filters]), nonTrainable: 0 }),
  weights: (c, input) => [{ name: "kernel", shape: `${c.kernel[0]}x${c.kernel[1]}x${c.filters}x${lastAxis(input)}`, values: BigInt(c.kernel[0]) * BigInt(c.kernel[1]) * BigInt(lastAxis(input)) * BigInt(c.filters) }],
  // Every input value meets every tap of every filter once.
  multiplyAdds: (c, input) => finiteCount(elementCount(input) * c.kernel[0] * c.kernel[1] * c.filters),
  text: (c) => `upconv ${c.kernel[0]}x${c.kernel[1]}x${c.filters}`,
  label: () => "upconv",
  baseName: () => "upconv",
  rows: (c) => [["kernel", pairText(c.kernel)], ["filters", String(c.filters)], ["stride", pairText(c.strides)], ["padding", c.padding], ...activationRows(c.activation, true), ...weightRows(c)],
  intended: noIntendedShape,
  tfjs({ config: c }, ctx) {
    const act = ctx.builtin(c.activation);
    const opts = [
      `name: ${ctx.name}`,
      `filters: ${c.filters}`,
      `kernelSize: ${ctx.literal(c.kernel)}`,
      `strides: ${ctx.literal(c.strides)}`,
      `padding: ${ctx.literal(c.padding)}`,
      ...(act ? [`activation: ${ctx.literal(act)}`] : []),
      ...ctx.weightOptions(c),
    ];
    ctx.applied(`tf.layers.conv2dTranspose({ ${opts.join(", ")}${ctx.trainable} })`, ctx.input(), c.activation, true);
  },
  pytorch({ config: c, inputShapes }, ctx) {
    const input = inputShapes[0]!;
    const cin = channels(input);
    // PyTorch's transposed conv gives (n−1)·s + k; TF's is upconvLength, of which `same` drops
    // ⌊max(k−s, 0)/2⌋ at the start: output_padding adds what is missing at the end, a slice drops the rest.
    const axes = [0, 1].map((a) => {
      const [n, k, s] = [input[a]!, c.kernel[a]!, c.strides[a]!];
      const full = (n - 1) * s + k;
      const length = upconvLength(n, k, s, c.padding);
      const start = c.padding === "same" ? Math.floor(Math.max(k - s, 0) / 2) : 0;
      const extra = Math.max(start + length - full, 0);
      return { start, length, extra, cut: start > 0 || full + extra > start + length };
    });
    const extra = axes.some((a) => a.extra > 0) ? `, output_padding=${tuple(axes.map((a) => a.extra))}` : "";
    const attr = ctx.module(`nn.ConvTranspose2d(${cin}, ${c.filters}, ${tuple(c.kernel)}, stride=${tuple(c.strides)}${extra}${c.useBias ? "" : ", bias=False"})`);
    ctx.weight(attr, { tf: "kernel", path: "weight", layout: "upconv", shape: [...c.kernel, c.filters, cin], init: c.kernelInit, l1: c.l1, l2: c.l2 });
    if (c.useBias) ctx.weight(attr, { tf: "bias", path: "bias", layout: "same", shape: [c.filters], init: { constant: c.biasInit } });
    const [h, w] = axes as [(typeof axes)[0], (typeof axes)[0]];
    const slice = h.cut || w.cut ? `[:, :, ${h.start}:${h.start + h.length}, ${w.start}:${w.start + w.length}]` : "";
    ctx.output(`self.${attr}(${ctx.input()})${slice}`, c.activation, true);
  },
};
