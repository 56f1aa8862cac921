/**
 * One pure shape rule per layer kind (house style, habit 10): given a resolved layer
 * configuration and the shape(s) flowing into it, say what comes out, or why nothing can.
 * Semantics are those of Keras / TensorFlow.js with channels-last images, except where the
 * spec language is deliberately stricter (a `dense` on an image is an error here, where Keras
 * would silently apply it to the last axis). test/shape-cases.ts holds the table of cases that
 * both the fast test and the differential test against TensorFlow.js run.
 *
 * Nothing here throws: a user's mistake is a `ShapeError` value.
 */
import type { ActivationSpec, LayerConfig, LayerOp, ParamCount, Shape, ShapeError, ShapeErrorSubject, ShapeResult, ShapeWarning } from "./layer-config.js";
import type { Padding } from "../language/vocabulary.js";

// ---------------------------------------------------------------------------------------
// Arithmetic

/** The span of a dilated window: k' = d·(k−1)+1. */
export function effectiveKernel(k: number, d: number): number {
  return d * (k - 1) + 1;
}

/**
 * Output length of a conv/pool window along one axis of length `n`, for window `k`, stride
 * `s`, dilation `d` (k' = d·(k−1)+1): valid ceil((n − k' + 1)/s), same ceil(n/s),
 * full ceil((n + k' − 1)/s). Zero or negative when a valid window does not fit.
 */
export function windowLength(n: number, k: number, s: number, d: number, padding: Padding): number {
  const span = effectiveKernel(k, d);
  let length: number;
  switch (padding) {
    case "valid":
      length = Math.ceil((n - span + 1) / s);
      break;
    case "same":
      length = Math.ceil(n / s);
      break;
    case "full":
      length = Math.ceil((n + span - 1) / s);
      break;
  }
  return length === 0 ? 0 : length; // never -0
}

/** A shape as the spec writes it: `28x28x1`, `100`. */
export function formatShape(shape: Shape): string {
  return shape.length === 0 ? "()" : shape.join("x");
}

/** Same rank and the same size on every axis. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** Number of values in a tensor of this shape (batch left out). */
export function elementCount(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isPositiveInteger(n: number): boolean {
  return Number.isInteger(n) && n > 0;
}

function lastAxis(shape: Shape): number {
  return shape.length === 0 ? 0 : shape[shape.length - 1]!;
}

// ---------------------------------------------------------------------------------------
// Words of the spec, for messages

/** `2` for a square pair, `2x1` otherwise (as `stride` and `pool` are written). */
function pair(p: readonly [number, number]): string {
  return p[0] === p[1] ? `${p[0]}` : `${p[0]}x${p[1]}`;
}

function activationWord(a: ActivationSpec): string {
  switch (a.name) {
    case "leaky_relu":
    case "elu":
      return `${a.name}(${a.alpha})`;
    case "maxout":
      return `maxout(${a.k})`;
    default:
      return a.name;
  }
}

type Config<K extends LayerOp> = Extract<LayerConfig, { op: K }>;

/** The layer as the spec would write it, without its options: `conv 5x5x32`, `pool avg 3`. */
export function layerWords(config: LayerConfig): string {
  switch (config.op) {
    case "input":
      return `input ${formatShape(config.shape)}`;
    case "dense":
      return `dense ${config.units}`;
    case "conv":
      return `conv ${config.kernel[0]}x${config.kernel[1]}x${config.filters}`;
    case "pool":
      return `pool ${config.mode === "avg" ? "avg " : ""}${pair(config.size)}`;
    case "global_pool":
      return `global ${config.mode}pool`;
    case "flatten":
      return "flatten";
    case "reshape":
      return `reshape ${formatShape(config.shape)}`;
    case "dropout":
      return `dropout ${config.rate}`;
    case "batchnorm":
    case "layernorm":
      return config.op;
    case "groupnorm":
      return `groupnorm ${config.groups}`;
    case "activation":
      return activationWord(config.activation);
    case "add":
      return "residual";
  }
}

/** "it has no dimensions" / "2x2x2x2 has 4 dimensions". */
function dimensionsWords(shape: Shape): string {
  return shape.length === 0 ? "it has no dimensions" : `${formatShape(shape)} has ${shape.length} dimensions`;
}

function plural(n: number, word: string): string {
  return n === 1 ? `${word}` : `${n} ${word}s`;
}

// ---------------------------------------------------------------------------------------
// Results

function ok(shape: number[], warnings: ShapeWarning[] = []): ShapeResult {
  return warnings.length > 0 ? { ok: true, shape, warnings } : { ok: true, shape };
}

function fail(code: ShapeError["code"], subject: ShapeErrorSubject, message: string, hint?: string): ShapeResult {
  const error: ShapeError = { code, subject, message };
  if (hint !== undefined) error.hint = hint;
  return { ok: false, error };
}

function warn(code: ShapeWarning["code"], subject: ShapeErrorSubject, message: string, hint?: string): ShapeWarning {
  const warning: ShapeWarning = { code, subject, message };
  if (hint !== undefined) warning.hint = hint;
  return warning;
}

/** NN3006 for the first value that is not a positive whole number, else undefined. */
function requirePositive(subject: ShapeErrorSubject, what: string, written: string, values: readonly number[]): ShapeResult | undefined {
  if (values.every(isPositiveInteger)) return undefined;
  const must = written.includes("x") ? "positive whole numbers" : "a positive whole number";
  return fail("NN3006", subject, `${what} must be ${must}, but it is ${written}.`);
}

// ---------------------------------------------------------------------------------------
// Hints

/** Divisors d of n with min <= d <= max, nearest to `target` first (at most `count`), ascending. */
function nearestDivisors(n: number, target: number, min: number, max: number, count: number): number[] {
  if (!isPositiveInteger(n) || n > 1e12) return [];
  const divisors: number[] = [];
  for (let d = 1; d * d <= n; d++) {
    if (n % d !== 0) continue;
    for (const e of d * d === n ? [d] : [d, n / d]) if (e >= min && e <= max) divisors.push(e);
  }
  return divisors
    .sort((a, b) => Math.abs(a - target) - Math.abs(b - target) || a - b)
    .slice(0, count)
    .sort((a, b) => a - b);
}

function orList(words: readonly string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

/** A `reshape` that turns a vector or a matrix into an image, preferring square images. */
function reshapeHint(shape: Shape): string {
  if (shape.length === 2) return `Add \`reshape ${shape[0]}x${shape[1]}x1\` before it?`;
  const n = shape[0] ?? 0;
  if (shape.length === 1 && isPositiveInteger(n) && n <= 1e9) {
    for (const c of [1, 3]) {
      const side = Math.round(Math.sqrt(n / c));
      if (side > 1 && side * side * c === n) return `Add \`reshape ${side}x${side}x${c}\` (or another HxWxC with H·W·C = ${n}) before it?`;
    }
    return `Add \`reshape HxWxC\` (with H·W·C = ${n}) before it?`;
  }
  return "Add `reshape HxWxC` before it?";
}

// ---------------------------------------------------------------------------------------
// Pieces shared by several rules

/** Conv, pool and global pool take an image: height x width x channels. */
function requireImage(words: string, input: Shape): ShapeResult | undefined {
  if (input.length === 3) return undefined;
  return fail(
    "NN3001",
    "input",
    `\`${words}\` needs an image (height x width x channels, rank 3), but its input is ${formatShape(input)} (rank ${input.length}).`,
    reshapeHint(input),
  );
}

interface Window {
  /** `conv 5x5x32` or `pool 2`, for messages. */
  words: string;
  subject: "kernel" | "size";
  /** `kernel` or `window`, for hints. */
  noun: string;
  kernel: readonly [number, number];
  strides: readonly [number, number];
  dilation: readonly [number, number];
  padding: Padding;
}

/** Slides a (dilated) window over the height and width of an image input. */
function slideWindow(w: Window, input: Shape): { ok: true; height: number; width: number; warnings: ShapeWarning[] } | { ok: false; result: ShapeResult } {
  const [h, wd] = [input[0]!, input[1]!];
  const spans = [effectiveKernel(w.kernel[0], w.dilation[0]), effectiveKernel(w.kernel[1], w.dilation[1])] as const;
  const height = windowLength(h, w.kernel[0], w.strides[0], w.dilation[0], w.padding);
  const width = windowLength(wd, w.kernel[1], w.strides[1], w.dilation[1], w.padding);
  if (height < 1 || width < 1) {
    const dilated = w.dilation[0] > 1 || w.dilation[1] > 1;
    const spanWords = `${spans[0]}x${spans[1]}`;
    const message = dilated
      ? `\`${w.words} dilation ${pair(w.dilation)}\` spans ${spanWords}, so with \`valid\` padding it needs an input at least ${spanWords}, but its input is ${formatShape(input)}.`
      : `\`${w.words}\` with \`valid\` padding needs an input at least ${spanWords}, but its input is ${formatShape(input)}.`;
    return { ok: false, result: fail("NN3002", w.subject, message, `Use \`same\` padding, or a smaller ${w.noun}?`) };
  }
  const warnings: ShapeWarning[] = [];
  if (w.padding === "valid") {
    // Windows narrower than the stride skip input between them by design (a 1x1 stride-2
    // projection), and `same` would not pad them: only tiling windows "drop" a remainder.
    const droppedRows = spans[0] >= w.strides[0] ? (h - spans[0]) % w.strides[0] : 0;
    const droppedColumns = spans[1] >= w.strides[1] ? (wd - spans[1]) % w.strides[1] : 0;
    if (droppedRows > 0 || droppedColumns > 0) {
      const parts: string[] = [];
      if (droppedRows > 0) parts.push(`the last ${plural(droppedRows, "row")}`);
      if (droppedColumns > 0) parts.push(`the last ${plural(droppedColumns, "column")}`);
      const stride = w.strides[0] === 1 && w.strides[1] === 1 ? "" : ` with \`stride ${pair(w.strides)}\``;
      warnings.push(
        warn(
          "NN3101",
          w.subject,
          `\`${w.words}\`${stride} and \`valid\` padding does not tile its ${formatShape(input)} input: it drops ${parts.join(" and ")}.`,
          "Use `same` padding to keep them, or sizes that tile exactly?",
        ),
      );
    }
  }
  return { ok: true, height, width, warnings };
}

/**
 * An activation applied to a shape, either as its own layer or as the trailing word of
 * `dense`, `conv` and the norms (`producer` names that layer for messages). Only `maxout`
 * changes the shape; `softmax` over one unit is legal but pointless.
 */
function applyActivation(activation: ActivationSpec, shape: number[], producer: string | undefined, warnings: ShapeWarning[]): ShapeResult {
  const word = activationWord(activation);
  const last = lastAxis(shape);
  const what = producer === undefined ? `its input is ${formatShape(shape)}` : `\`${producer}\` gives ${formatShape(shape)}`;
  if (activation.name === "maxout") {
    const k = activation.k;
    const bad = requirePositive("activation", `The group size of \`maxout\``, `${k}`, [k]);
    if (bad) return bad;
    if (shape.length === 0 || last % k !== 0) {
      const options = nearestDivisors(last, k, 2, last - 1, 2).map((d) => `\`maxout(${d})\``);
      return fail(
        "NN3005",
        "activation",
        `\`${word}\` takes the maximum over groups of ${k} units, so it needs a last axis divisible by ${k}, but ${what}.`,
        options.length > 0 ? `Use ${orList(options)}?` : `Give it a last axis divisible by ${k}?`,
      );
    }
    return ok([...shape.slice(0, -1), last / k], warnings);
  }
  if (activation.name === "softmax" && shape.length > 0 && last === 1) {
    warnings.push(
      warn(
        "NN3103",
        "activation",
        `\`softmax\` over a single unit always outputs 1: ${what}, and softmax normalises over the last axis.`,
        "Use `sigmoid` for one output, or one unit per class?",
      ),
    );
  }
  return ok(shape, warnings);
}

function withActivation(activation: ActivationSpec | undefined, shape: number[], producer: string, warnings: ShapeWarning[]): ShapeResult {
  return activation === undefined ? ok(shape, warnings) : applyActivation(activation, shape, producer, warnings);
}

// ---------------------------------------------------------------------------------------
// The rules, one per layer kind

type Rule<K extends LayerOp> = (config: Config<K>, input: Shape, inputs: readonly Shape[]) => ShapeResult;

const RULES: { [K in LayerOp]: Rule<K> } = {
  input(config) {
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

  dense(config, input) {
    const words = layerWords(config);
    const bad = requirePositive("units", `The number of units of \`dense\``, `${config.units}`, [config.units]);
    if (bad) return bad;
    if (input.length !== 1) {
      return fail(
        "NN3001",
        "input",
        `\`dense\` needs a vector (rank 1), but its input is ${formatShape(input)}.`,
        input.length === 3 ? "Add `flatten` (or `global avgpool`) before it?" : "Add `flatten` before it?",
      );
    }
    return withActivation(config.activation, [config.units], words, []);
  },

  conv(config, input) {
    const words = layerWords(config);
    const bad =
      requirePositive("kernel", `The kernel of \`conv\``, `${config.kernel[0]}x${config.kernel[1]}`, config.kernel) ??
      requirePositive("filters", `The number of filters of \`conv\``, `${config.filters}`, [config.filters]) ??
      requirePositive("stride", `The stride of \`${words}\``, pair(config.strides), config.strides) ??
      requirePositive("dilation", `The dilation of \`${words}\``, pair(config.dilation), config.dilation);
    if (bad) return bad;
    // TensorFlow.js (like TensorFlow) refuses the pair unless every stride or every dilation is 1,
    // even when they are on different axes.
    if (config.strides.some((s) => s > 1) && config.dilation.some((d) => d > 1)) {
      return fail(
        "NN3007",
        "dilation",
        `\`${words}\` cannot combine \`stride ${pair(config.strides)}\` with \`dilation ${pair(config.dilation)}\`: either every stride or every dilation must be 1 (TensorFlow.js refuses the pair).`,
        `Keep \`dilation ${pair(config.dilation)}\` with \`stride 1\`, and downsample after it (a \`pool\`, or a strided \`conv\`)?`,
      );
    }
    const notImage = requireImage(words, input);
    if (notImage) return notImage;
    const slid = slideWindow(
      { words, subject: "kernel", noun: "kernel", kernel: config.kernel, strides: config.strides, dilation: config.dilation, padding: config.padding },
      input,
    );
    if (!slid.ok) return slid.result;
    return withActivation(config.activation, [slid.height, slid.width, config.filters], words, slid.warnings);
  },

  pool(config, input) {
    const words = layerWords(config);
    const bad =
      requirePositive("size", `The window of \`pool\``, pair(config.size), config.size) ??
      requirePositive("stride", `The stride of \`${words}\``, pair(config.strides), config.strides);
    if (bad) return bad;
    const notImage = requireImage(words, input);
    if (notImage) return notImage;
    const slid = slideWindow(
      { words, subject: "size", noun: "window", kernel: config.size, strides: config.strides, dilation: [1, 1], padding: config.padding },
      input,
    );
    if (!slid.ok) return slid.result;
    return ok([slid.height, slid.width, input[2]!], slid.warnings);
  },

  global_pool(config, input) {
    const notImage = requireImage(layerWords(config), input);
    if (notImage) return notImage;
    return ok([input[2]!]);
  },

  flatten(_config, input) {
    if (input.length === 1) {
      return ok(
        [...input],
        [warn("NN3102", "layer", `\`flatten\` has no effect: its input ${formatShape(input)} is already a vector.`, "Remove it?")],
      );
    }
    return ok([elementCount(input)]);
  },

  reshape(config, input) {
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
        input.length === 1
          ? `\`reshape ${formatShape(target)}\` holds ${want} values, but its input has ${have}.`
          : `\`reshape ${formatShape(target)}\` holds ${want} values, but its input ${formatShape(input)} holds ${have}.`,
        `Pick sizes whose product is ${have}?`,
      );
    }
    return ok([...target]);
  },

  dropout(_config, input) {
    return ok([...input]);
  },

  batchnorm(config, input) {
    return withActivation(config.activation, [...input], "batchnorm", []);
  },

  layernorm(config, input) {
    return withActivation(config.activation, [...input], "layernorm", []);
  },

  groupnorm(config, input) {
    const words = layerWords(config);
    const bad = requirePositive("groups", `The number of groups of \`groupnorm\``, `${config.groups}`, [config.groups]);
    if (bad) return bad;
    const channels = lastAxis(input);
    if (input.length === 0 || channels % config.groups !== 0) {
      const options = nearestDivisors(channels, config.groups, 1, channels, 2).map((d) => `\`groupnorm ${d}\``);
      return fail(
        "NN3005",
        "groups",
        `\`${words}\` splits the channels into ${config.groups} groups, so it needs a channel count divisible by ${config.groups}, but its input ${formatShape(input)} has ${channels}.`,
        options.length > 0 ? `Use ${orList(options)}?` : undefined,
      );
    }
    return withActivation(config.activation, [...input], words, []);
  },

  activation(config, input) {
    return applyActivation(config.activation, [...input], undefined, []);
  },

  add(_config, _input, inputs) {
    const first = inputs[0]!;
    for (const other of inputs.slice(1)) {
      if (!sameShape(first, other)) {
        const bothImages = first.length === 3 && other.length === 3;
        return fail(
          "NN3004",
          "layer",
          `The branches of a \`residual\` must end in the same shape to be added, but one ends in ${formatShape(first)} and another in ${formatShape(other)}.`,
          bothImages
            ? "Use `residual project { … }` to put a 1x1 `conv` (with the main branch's stride) on the skip path?"
            : "Make both branches end in the same shape?",
        );
      }
    }
    return ok([...first]);
  },
};

/**
 * The shape that comes out of a layer, given the shapes that go in (batch left out): one
 * shape, or two or more for `add`. `input` ignores `inputs`.
 */
export function outputShape(config: LayerConfig, inputs: readonly Shape[]): ShapeResult {
  const rule = RULES[config.op] as Rule<LayerOp>;
  if (config.op === "input") return rule(config, [], inputs);
  const input = inputs[0];
  // Only a checker bug can leave a layer without input; report it rather than throw.
  if (input === undefined) return fail("NN3001", "input", `\`${layerWords(config)}\` has no input.`);
  return rule(config, input, inputs);
}

// ---------------------------------------------------------------------------------------
// Parameters

/** PReLU is channel-wise: one learnt slope per unit of the last axis. */
function activationParams(activation: ActivationSpec | undefined, shape: Shape): number {
  return activation?.name === "prelu" ? lastAxis(shape) : 0;
}

/**
 * Parameters of a layer for the given input shape, as Keras / TensorFlow.js `countParams()`
 * counts them (batchnorm's moving mean and variance are non-trainable). A `prelu` activation
 * adds one slope per channel. `frozen` is the caller's business.
 */
export function paramCount(config: LayerConfig, input: Shape): ParamCount {
  const channels = lastAxis(input);
  switch (config.op) {
    case "dense":
      return {
        trainable: channels * config.units + (config.useBias ? config.units : 0) + activationParams(config.activation, [config.units]),
        nonTrainable: 0,
      };
    case "conv": {
      const [kh, kw] = config.kernel;
      return {
        trainable: kh * kw * channels * config.filters + (config.useBias ? config.filters : 0) + activationParams(config.activation, [config.filters]),
        nonTrainable: 0,
      };
    }
    case "batchnorm":
      return { trainable: 2 * channels + activationParams(config.activation, input), nonTrainable: 2 * channels };
    case "layernorm":
    case "groupnorm":
      return { trainable: 2 * channels + activationParams(config.activation, input), nonTrainable: 0 };
    case "activation":
      return { trainable: activationParams(config.activation, input), nonTrainable: 0 };
    default:
      return { trainable: 0, nonTrainable: 0 };
  }
}

/**
 * The most values one tensor may hold: TensorFlow.js indexes a tensor's values with 32-bit
 * integers (and WebAssembly's whole memory is 4 GiB), so no backend holds more. nnc checks every
 * weight and every sample's activations against it (NN3015), and a batch of them in a recipe.
 */
export const MAX_TENSOR_VALUES = 2 ** 31 - 1;

/**
 * The weight tensors of a layer with their exact sizes, as BigInts: a dense layer on a huge
 * input has more weights than a double counts exactly, which is what NN3015 must say.
 */
export function weightTensors(config: LayerConfig, input: Shape): { name: string; shape: string; values: bigint }[] {
  const channels = BigInt(lastAxis(input));
  switch (config.op) {
    case "dense":
      return [{ name: "kernel", shape: `${lastAxis(input)}x${config.units}`, values: channels * BigInt(config.units) }];
    case "conv": {
      const [kh, kw] = config.kernel;
      return [{ name: "kernel", shape: `${kh}x${kw}x${lastAxis(input)}x${config.filters}`, values: BigInt(kh) * BigInt(kw) * channels * BigInt(config.filters) }];
    }
    default:
      return [];
  }
}

/** The number of values in a shape, exactly. */
export function exactCount(shape: Shape): bigint {
  return shape.reduce((a, b) => a * BigInt(b), 1n);
}

/**
 * Multiply-adds of one sample's forward pass through a layer, as torchinfo counts "Mult-Adds":
 * a dense layer's product (for every position of a rank > 1 input) and a conv layer's
 * (every output value is a kernel-sized dot product). Every other layer is elementwise or a
 * reduction and counts 0. The runtime uses the sum to judge whether the wasm backend's
 * threads will pay for themselves.
 */
export function multiplyAdds(config: LayerConfig, input: Shape, output: Shape): number {
  const channels = lastAxis(input);
  let n = 0;
  if (config.op === "dense") n = elementCount(input) * config.units;
  else if (config.op === "conv") n = elementCount(output) * config.kernel[0] * config.kernel[1] * channels;
  return Number.isFinite(n) && n > 0 ? n : 0;
}
