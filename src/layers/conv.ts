/** `conv 5x5x32 relu same stride 2`: 2-D convolution, grouped with `groups G` (ResNeXt). */
import type { EmitContext, LayerKind, ResolveContext } from "./kind.js";
import { fullPadding } from "./pad.js";
import { activationParams, fail, finiteCount, lastAxis, nearestDivisors, orList, pair, requirePositive, requireSequenceOrImage, sequenceAsImage, slideWindow, withActivation, elementCount, noIntendedShape, allPositive } from "./shape.js";
import { withTrailing } from "./dense.js";
import { activationRows, pairText, weightRows } from "./rows.js";
import type { ActivationSpec, ShapeResult, WeightOptions } from "./types.js";
import type { Padding } from "../language/vocabulary.js";
import { COMMON, WEIGHTS, WINDOW } from "./words.js";
import { channels, paddingArg, torchWindow, tuple, windowInput } from "./torch.js";

export type ConvConfig = {
  op: "conv";
  kernel: [number, number];
  filters: number;
  strides: [number, number];
  dilation: [number, number];
  padding: Padding;
  /** Channel groups (1: an ordinary convolution). */
  groups: number;
  /** Written for a sequence (length x channels): a 1-D convolution, its kernel, stride and dilation `[k, 1]`. */
  sequence?: true;
  activation?: ActivationSpec;
} & WeightOptions;

export const conv: LayerKind<"conv"> = {
  words: {
    word: "conv",
    positional: "kernel",
    info: {
      positional: [{ name: "kernel", form: "dims", summary: "`KxKxF` (kernel and filters), `KxK` or `K` with `filters F`" }],
      options: {
        ...COMMON,
        ...WEIGHTS,
        ...WINDOW,
        filters: { value: "integer", summary: "number of output channels" },
        dilation: { value: "pair", summary: "spacing between kernel taps (atrous convolution)" },
        groups: { value: "integer", summary: "split the channels into G groups convolved apart (ResNeXt's cardinality)" },
      },
      activation: true,
      summary: "2-D convolution",
      example: "conv 5x5x32 relu same",
    },
  },
  resolve(ctx) {
    const sequence = ctx.inputRank === 2;
    const kf = kernelAndFilters(ctx, "conv");
    const strides = ctx.pairOption("stride", [1, 1]);
    const dilation = ctx.pairOption("dilation", [1, 1]);
    const groups = ctx.intOption("groups", 1);
    const padding = ctx.padding("valid");
    const w = ctx.weights();
    if (!kf || !strides || !dilation || groups === undefined || !padding || !w || !ctx.activationOk) return undefined;
    if (sequence) {
      const one = alongSequence(ctx, "conv", { stride: strides, dilation });
      if (!one) return undefined;
      return withTrailing({ op: "conv", kernel: [kf.kernel[0], 1], filters: kf.filters, strides: [strides[0], 1], dilation: [dilation[0], 1], padding, groups, sequence: true, ...w }, ctx.activation);
    }
    return withTrailing({ op: "conv", kernel: kf.kernel, filters: kf.filters, strides, dilation, padding, groups, ...w }, ctx.activation);
  },
  shape(config, input) {
    const words = convText(config);
    // The messages are made only when a value is wrong: a large spec checks thousands of these.
    if (!allPositive([config.kernel, [config.filters], config.strides, config.dilation, [config.groups]])) {
      const bad =
        requirePositive("kernel", `The kernel of \`conv\``, `${config.kernel[0]}x${config.kernel[1]}`, config.kernel) ??
        requirePositive("filters", `The number of filters of \`conv\``, `${config.filters}`, [config.filters]) ??
        requirePositive("stride", `The stride of \`${words}\``, pair(config.strides), config.strides) ??
        requirePositive("dilation", `The dilation of \`${words}\``, pair(config.dilation), config.dilation) ??
        requirePositive("groups", `The number of groups of \`${words}\``, `${config.groups}`, [config.groups]);
      if (bad) return bad;
    }
    const combination = strideWithDilation(words, config.strides, config.dilation);
    if (combination) return combination;
    if (config.groups > 1 && config.dilation.some((d) => d > 1)) {
      return fail("NN3007", "dilation", `\`${words} groups ${config.groups}\` cannot also be dilated: nnc's grouped convolution has no dilation.`, "Use `groups` or `dilation`, not both?");
    }
    const notImage = requireSequenceOrImage(words, input);
    if (notImage) return notImage;
    const image = sequenceAsImage(input) ?? input;
    if (input.length === 2) {
      const bad1d = oneDimensional(words, config.kernel, config.strides, config.dilation, config.padding, input);
      if (bad1d) return bad1d;
      if (config.groups > 1) return fail("NN3007", "groups", `\`${words} groups ${config.groups}\` on a sequence: nnc's grouped convolution is for images only.`, "Reshape to an image (`reshape Lx1xC`) and use a 2-D `conv Kx1xF groups G`?");
    }
    if (config.groups > 1) {
      const divides = groupsDivide(words, config.groups, image[2]!, config.filters);
      if (divides) return divides;
    }
    const slid = slideWindow({ words, subject: "kernel", noun: "kernel", kernel: config.kernel, strides: config.strides, dilation: config.dilation, padding: config.padding }, input);
    if (!slid.ok) return slid.result;
    return withActivation(config.activation, input.length === 2 ? [slid.height, config.filters] : [slid.height, slid.width, config.filters], words, slid.warnings);
  },
  params(c, input) {
    const [kh, kw] = c.kernel;
    return { trainable: kh * kw * (lastAxis(input) / c.groups) * c.filters + (c.useBias ? c.filters : 0) + activationParams(c.activation, [c.filters]), nonTrainable: 0 };
  },
  weights(c, input) {
    const [kh, kw] = c.kernel;
    const perGroup = lastAxis(input) / c.groups;
    return [{ name: "kernel", shape: `${kh}x${kw}x${perGroup}x${c.filters}`, values: BigInt(kh) * BigInt(kw) * BigInt(Math.floor(perGroup)) * BigInt(c.filters) }];
  },
  multiplyAdds: (c, input, output) => finiteCount((elementCount(output) * c.kernel[0] * c.kernel[1] * lastAxis(input)) / c.groups),
  text: convText,
  label: () => "conv",
  baseName: () => "conv",
  rows: (c) => [
    ["kernel", pairText(c.kernel)],
    ["filters", String(c.filters)],
    ["stride", pairText(c.strides)],
    ["dilation", pairText(c.dilation)],
    ["padding", c.padding],
    ...(c.groups > 1 ? ([["groups", String(c.groups)]] as [string, string][]) : []),
    ...activationRows(c.activation, true),
    ...weightRows(c),
  ],
  intended: noIntendedShape,
  tfjs({ config: c, inputShapes }, ctx) {
    if (inputShapes[0]?.length === 2) {
      // A 1-D convolution over a sequence (the checker refused dilation, groups and `full` there).
      const act = ctx.builtin(c.activation);
      const opts = [`name: ${ctx.name}`, `filters: ${c.filters}`, `kernelSize: ${c.kernel[0]}`, `strides: ${c.strides[0]}`, `padding: ${ctx.literal(c.padding)}`, ...(act ? [`activation: ${ctx.literal(act)}`] : []), ...ctx.weightOptions(c)];
      ctx.applied(`tf.layers.conv1d({ ${opts.join(", ")}${ctx.trainable} })`, ctx.input(), c.activation, true);
      return;
    }
    const { input, padding } = fullPadding(ctx, c.kernel, c.dilation, c.padding);
    const dilated = c.dilation[0] !== 1 || c.dilation[1] !== 1;
    const opts = [
      ...windowOptions(ctx, c, padding, [`filters: ${c.filters}`]),
      ...(dilated ? [`dilationRate: ${ctx.literal(c.dilation)}`] : []),
      ...(c.groups > 1 ? [`groups: ${c.groups}`] : []),
      ...ctx.weightOptions(c),
    ];
    // TF.js has no gradient for a dilated conv2d (the runtime's layer spreads the kernel) and
    // no groups (the runtime's grouped layer).
    const factory = c.groups > 1 ? "nnc.groupedConv2d" : dilated ? "nnc.dilatedConv2d" : "tf.layers.conv2d";
    ctx.applied(`${factory}({ ${opts.join(", ")}${ctx.trainable} })`, input, c.activation, true);
  },
  pytorch({ config: c, inputShapes }, ctx) {
    const input = inputShapes[0]!;
    const cin = channels(input);
    const sequence = input.length === 2;
    const axes = sequence ? 1 : 2;
    const [k, s, d] = [c.kernel.slice(0, axes), c.strides.slice(0, axes), c.dilation.slice(0, axes)];
    const w = torchWindow(ctx, input, k, s, d, c.padding);
    const dilation = d.some((v) => v !== 1) ? `, dilation=${tuple(d)}` : "";
    const groups = c.groups > 1 ? `, groups=${c.groups}` : "";
    const attr = ctx.module(`nn.Conv${axes}d(${cin}, ${c.filters}, ${tuple(k)}, stride=${tuple(s)}${paddingArg(w)}${dilation}${groups}${c.useBias ? "" : ", bias=False"})`);
    ctx.weight(attr, { tf: "kernel", path: "weight", layout: sequence ? "conv1d" : "conv2d", shape: [...k, cin / c.groups, c.filters], init: c.kernelInit, l1: c.l1, l2: c.l2 });
    if (c.useBias) ctx.weight(attr, { tf: "bias", path: "bias", layout: "same", shape: [c.filters], init: { constant: c.biasInit } });
    ctx.output(`self.${attr}(${windowInput(ctx, w)})`, c.activation, true);
  },
};

export function convText(c: { kernel: readonly [number, number]; filters: number; sequence?: true }): string {
  return c.sequence ? `conv ${c.kernel[0]}x${c.filters}` : `conv ${c.kernel[0]}x${c.kernel[1]}x${c.filters}`;
}

/**
 * On a sequence a window has one axis: a stride or dilation written `2x1` is refused (NN1013),
 * `2` is read as along the length. Undefined after an error.
 */
export function alongSequence(ctx: ResolveContext, word: string, pairs: Record<string, [number, number]>): true | undefined {
  for (const [key, p] of Object.entries(pairs)) {
    if (p[0] === p[1]) continue;
    const o = ctx.layer.options[key];
    ctx.error("NN1013", `\`${word}\` on a sequence (length x channels) slides along one axis, so its ${key} is one number, not \`${p[0]}x${p[1]}\`.`, o?.value?.range ?? o?.range ?? ctx.layer.op.range, `Write \`${key} ${p[0]}\`.`);
    return undefined;
  }
  return true;
}

/** What nnc's 1-D windows do not offer (yet): a 2-D kernel on a sequence, dilation, `full` padding. */
export function oneDimensional(words: string, kernel: readonly [number, number], strides: readonly [number, number], dilation: readonly [number, number], padding: string, input: readonly number[]): ShapeResult | undefined {
  if (kernel[1] !== 1 || strides[1] !== 1 || dilation[1] !== 1) {
    return fail("NN3001", "input", `\`${words}\` is a 2-D window, but its input ${input.join("x")} is a sequence (length x channels).`, `Slide along the sequence with a 1-D window (\`conv 5x32\`, \`pool 2\`), or make it an image with \`reshape ${input.join("x")}x1\`?`);
  }
  if (dilation[0] > 1) return fail("NN3007", "dilation", `\`${words} dilation ${dilation[0]}\` on a sequence: nnc's 1-D convolution has no dilation yet (TensorFlow.js has no gradient for it).`, "Reshape to an image (`reshape Lx1xC`) and use a 2-D `conv Kx1xF dilation Dx1`?");
  if (padding === "full") return fail("NN3007", "padding", `\`${words} full\` on a sequence: \`full\` padding is offered for images only.`, "Use `same`, or `valid`?");
  return undefined;
}

/** `KxKxF`, or `KxK`/`K` with `filters F`: the kernel and the filters of a conv-like layer. */
export function kernelAndFilters(ctx: ResolveContext, word: string): { kernel: [number, number]; filters: number } | undefined {
  const first = ctx.first;
  const kernel = first ? ctx.dims(first, `the kernel of \`${word}\``) : undefined;
  const filtersOpt = ctx.layer.options["filters"];
  const filtersOptValue = filtersOpt?.value ? ctx.positiveInt(filtersOpt.value, "the number of filters") : undefined;
  if (!kernel || !first) return undefined;
  const written = (): string => ctx.source(first);
  if (ctx.inputRank === 2 && kernel.length !== 1) {
    // On a sequence: `KxF` (length x filters).
    if (kernel.length === 2) {
      if (filtersOpt) ctx.error("NN1012", `The filters are given twice: \`${written()}\` already says ${kernel[1]}.`, filtersOpt.range, `Drop \`filters\`, or write the kernel as \`${kernel[0]}\`.`);
      return { kernel: [kernel[0]!, kernel[0]!], filters: kernel[1]! };
    }
    ctx.error("NN1013", `On a sequence (length x channels) a ${word} kernel is \`KxF\` (length x filters), but \`${written()}\` has ${kernel.length} dimensions.`, first.range, `For example \`${word} 5x32\`, or \`reshape\` the input to an image for a 2-D ${word}.`);
    return undefined;
  }
  if (kernel.length === 3) {
    if (filtersOpt) ctx.error("NN1012", `The filters are given twice: \`${written()}\` already says ${kernel[2]}.`, filtersOpt.range, `Drop \`filters\`, or write the kernel as \`${kernel[0]}x${kernel[1]}\`.`);
    return { kernel: [kernel[0]!, kernel[1]!], filters: kernel[2]! };
  }
  if (kernel.length <= 2) {
    const kh = kernel[0]!;
    const kw = kernel[1] ?? kernel[0]!;
    if (!filtersOpt) {
      ctx.error("NN1008", `\`${word} ${written()}\` needs a number of filters.`, first.range, `Write \`${word} ${kh}x${kw}x32\` or \`${word} ${written()} filters 32\`.`);
      return undefined;
    }
    return filtersOptValue === undefined ? undefined : { kernel: [kh, kw], filters: filtersOptValue };
  }
  ctx.error("NN1013", `A ${word} kernel is \`KxKxF\` (height x width x filters), but \`${written()}\` has ${kernel.length} dimensions.`, first.range, `This is a 2-D convolution, e.g. \`${word} 3x3x64\`.`);
  return undefined;
}

/** TensorFlow.js (like TensorFlow) refuses stride with dilation unless every stride or every dilation is 1. */
export function strideWithDilation(words: string, strides: [number, number], dilation: [number, number]): ShapeResult | undefined {
  if (!(strides.some((s) => s > 1) && dilation.some((d) => d > 1))) return undefined;
  return fail(
    "NN3007",
    "dilation",
    `\`${words}\` cannot combine \`stride ${pair(strides)}\` with \`dilation ${pair(dilation)}\`: either every stride or every dilation must be 1 (TensorFlow.js refuses the pair).`,
    `Keep \`dilation ${pair(dilation)}\` with \`stride 1\`, and downsample after it (a \`pool\`, or a strided \`conv\`)?`,
  );
}

/** NN3005 when the groups do not divide the channels in or out. */
function groupsDivide(words: string, groups: number, channels: number, filters: number): ShapeResult | undefined {
  for (const [n, what] of [
    [channels, `its input has ${channels} channels`],
    [filters, `it makes ${filters} filters`],
  ] as const) {
    if (n % groups === 0) continue;
    const options = nearestDivisors(gcd(channels, filters), groups, 2, Math.max(2, gcd(channels, filters)), 2).map((d) => `\`groups ${d}\``);
    return fail("NN3005", "groups", `\`${words} groups ${groups}\` splits its input and its filters into ${groups} groups, so both must be divisible by ${groups}, but ${what}.`, options.length > 0 ? `Use ${orList(options)}?` : undefined);
  }
  return undefined;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The options every 2-D window layer's TF.js code shares: name, kernel, stride, padding and the
 * built-in activation (conv, depthwise and separable write them alike).
 */
export function windowOptions(ctx: EmitContext, c: { kernel: readonly [number, number]; strides: readonly [number, number]; activation?: ActivationSpec }, padding: "valid" | "same", head: string[] = []): string[] {
  const act = ctx.builtin(c.activation);
  return [`name: ${ctx.name}`, ...head, `kernelSize: ${ctx.literal(c.kernel)}`, `strides: ${ctx.literal(c.strides)}`, `padding: ${ctx.literal(padding)}`, ...(act ? [`activation: ${ctx.literal(act)}`] : [])];
}
