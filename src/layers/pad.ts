/**
 * `pad 1`, `pad 1x2`, `pad 0x1x0x1` (top x bottom x left x right): zeros around an image, so
 * "pad then conv" and AlexNet's 55x55 are exact; `pad channels 16`: zero channels appended, the
 * parameter-free shortcut of ResNet's option A and PyramidNet. `crop …` takes rows and columns
 * off the same way.
 */
import type { EmitContext, LayerKind, ResolveContext } from "./kind.js";
import { fail, formatShape, noIntendedShape, noMultiplyAdds, noParams, noWeights, ok, requireImage } from "./shape.js";
import type { Padding } from "../language/vocabulary.js";
import { COMMON } from "./words.js";
import { tuple } from "./torch.js";

/** Zeros around an image, [top, bottom, left, right], and zero channels appended. */
export interface PadConfig {
  op: "pad";
  sides: [number, number, number, number];
  channels: number;
}
export interface CropConfig {
  op: "crop";
  sides: [number, number, number, number];
}

const SIDES = "`N` (every side), `HxW` (top and bottom, left and right) or `TxBxLxR`";

function sidesText(s: readonly [number, number, number, number]): string {
  const [t, b, l, r] = s;
  if (t === b && l === r) return t === l ? `${t}` : `${t}x${l}`;
  return s.join("x");
}

/** The sides as written: 1, 2 or 4 sizes, each a whole number ≥ 0. */
function readSides(ctx: ResolveContext, word: string): [number, number, number, number] | undefined {
  const first = ctx.first;
  if (!first) return [0, 0, 0, 0];
  const dims = ctx.sizes(first, `the sizes of \`${word}\``);
  if (!dims) return undefined;
  if (dims.length === 1) return [dims[0]!, dims[0]!, dims[0]!, dims[0]!];
  if (dims.length === 2) return [dims[0]!, dims[0]!, dims[1]!, dims[1]!];
  if (dims.length === 4) return [dims[0]!, dims[1]!, dims[2]!, dims[3]!];
  ctx.error("NN1013", `\`${word}\` takes ${SIDES}, but \`${ctx.source(first)}\` has ${dims.length} sizes.`, first.range, `For example \`${word} 1\` or \`${word} 0x1x0x1\`.`);
  return undefined;
}

export const pad: LayerKind<"pad"> = {
  words: {
    word: "pad",
    positional: "size",
    info: {
      positional: [{ name: "sides", form: "dims", optional: true, summary: `zeros around the image: ${SIDES}` }],
      options: { ...COMMON, channels: { value: "integer", summary: "zero channels appended (a parameter-free shortcut)" } },
      activation: false,
      summary: "zero padding around an image, or zero channels appended",
      example: "pad 1",
    },
  },
  resolve(ctx) {
    const sides = readSides(ctx, "pad");
    const channelsOpt = ctx.layer.options["channels"];
    const channels = channelsOpt ? (channelsOpt.value ? ctx.positiveInt(channelsOpt.value, "the channels `pad` appends") : undefined) : 0;
    if (!sides || channels === undefined) return undefined;
    if (!ctx.first && channels === 0) {
      ctx.error("NN1008", "`pad` needs its sizes (`pad 1`, `pad 1x2`, `pad 0x1x0x1`) or `channels N`.", ctx.layer.op.range);
      return undefined;
    }
    if (channelsOpt) ctx.subject("filters", channelsOpt.range);
    return { op: "pad", sides, channels };
  },
  shape(config, input) {
    const [t, b, l, r] = config.sides;
    if (t + b + l + r === 0) {
      if (input.length === 0) return fail("NN3001", "input", "`pad channels` needs an input with channels, but its input has no dimensions.");
      return ok([...input.slice(0, -1), input[input.length - 1]! + config.channels]);
    }
    const notImage = requireImage(pad.text(config), input);
    if (notImage) return notImage;
    return ok([input[0]! + t + b, input[1]! + l + r, input[2]! + config.channels]);
  },
  params: noParams,
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: (c) => (c.sides.every((s) => s === 0) ? `pad channels ${c.channels}` : `pad ${sidesText(c.sides)}${c.channels > 0 ? ` channels ${c.channels}` : ""}`),
  label: () => "pad",
  baseName: () => "pad",
  rows: (c) => [
    ["top, bottom, left, right", c.sides.join(", ")],
    ...(c.channels > 0 ? ([["zero channels", String(c.channels)]] as [string, string][]) : []),
  ],
  intended: (c, input) => (input?.length === 3 ? [input[0]! + c.sides[0] + c.sides[1], input[1]! + c.sides[2] + c.sides[3], input[2]! + c.channels] : undefined),
  tfjs({ config: c }, ctx) {
    const [t, b, l, r] = c.sides;
    const spatial = t + b + l + r > 0;
    if (spatial && c.channels === 0) {
      ctx.applied(`tf.layers.zeroPadding2d({ name: ${ctx.name}, padding: [[${t}, ${b}], [${l}, ${r}]] })`, ctx.input(), undefined);
      return;
    }
    const input = spatial ? ctx.before("spatial", (name) => `tf.layers.zeroPadding2d({ name: ${name}, padding: [[${t}, ${b}], [${l}, ${r}]] })`, ctx.input()) : ctx.input();
    ctx.applied(`nnc.channelPad({ name: ${ctx.name}, channels: ${c.channels} })`, input, undefined);
  },
  pytorch({ config: c }, ctx) {
    const [t, b, l, r] = c.sides;
    const spatial = t + b + l + r > 0;
    if (spatial && c.channels === 0) {
      const attr = ctx.module(`nn.ZeroPad2d(${tuple([l, r, t, b])})`);
      ctx.output(`self.${attr}(${ctx.input()})`, undefined);
      return;
    }
    if (spatial) ctx.helper("spatial");
    const attr = ctx.module(`nnc.ChannelPad(${c.channels})`);
    ctx.output(`self.${attr}(${spatial ? `F.pad(${ctx.input()}, ${tuple([l, r, t, b])})` : ctx.input()})`, undefined);
  },
};

export const crop: LayerKind<"crop"> = {
  words: {
    word: "crop",
    positional: "size",
    info: {
      positional: [{ name: "sides", form: "dims", summary: `rows and columns taken off: ${SIDES}` }],
      options: { ...COMMON },
      activation: false,
      summary: "crop rows and columns off the sides of an image",
      example: "crop 1",
    },
  },
  resolve(ctx) {
    if (!ctx.first) {
      ctx.error("NN1008", "`crop` needs its sizes: `crop 1`, `crop 1x2` or `crop 0x1x0x1`.", ctx.layer.op.range);
      return undefined;
    }
    const sides = readSides(ctx, "crop");
    return sides ? { op: "crop", sides } : undefined;
  },
  shape(config, input) {
    const words = crop.text(config);
    const notImage = requireImage(words, input);
    if (notImage) return notImage;
    const [t, b, l, r] = config.sides;
    const h = input[0]! - t - b;
    const w = input[1]! - l - r;
    if (h < 1 || w < 1) {
      return fail("NN3002", "size", `\`${words}\` takes ${t + b} rows and ${l + r} columns off, which leaves nothing of its ${formatShape(input)} input.`, "Crop less?");
    }
    return ok([h, w, input[2]!]);
  },
  params: noParams,
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: (c) => `crop ${sidesText(c.sides)}`,
  label: () => "crop",
  baseName: () => "crop",
  rows: (c) => [["top, bottom, left, right", c.sides.join(", ")]],
  intended: noIntendedShape,
  tfjs({ config: c }, ctx) {
    const [t, b, l, r] = c.sides;
    ctx.applied(`tf.layers.cropping2D({ name: ${ctx.name}, cropping: [[${t}, ${b}], [${l}, ${r}]] })`, ctx.input(), undefined);
  },
  pytorch({ config: c }, ctx) {
    const attr = ctx.module(`nnc.Crop(${tuple(c.sides)})`);
    ctx.output(`self.${attr}(${ctx.input()})`, undefined);
  },
};

/** `full` padding: pad k'−1 on every side with a zero-padding layer, then a valid window. */
export function fullPadding(ctx: EmitContext, kernel: readonly [number, number], dilation: readonly [number, number], padding: Padding): { input: string; padding: "valid" | "same" } {
  if (padding !== "full") return { input: ctx.input(), padding };
  const ph = dilation[0] * (kernel[0] - 1);
  const pw = dilation[1] * (kernel[1] - 1);
  const input = ctx.before("pad", (name) => `tf.layers.zeroPadding2d({ name: ${name}, padding: [[${ph}, ${ph}], [${pw}, ${pw}]] })`, ctx.input());
  return { input, padding: "valid" };
}

export function fullWindowPadding(ctx: EmitContext, size: readonly [number, number], padding: Padding): { input: string; padding: "valid" | "same" } {
  return fullPadding(ctx, size, [1, 1], padding);
}

