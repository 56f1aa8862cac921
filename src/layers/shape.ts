/**
 * What the shape rules of every layer kind share: window arithmetic, the spec's words for
 * messages, results, hints, and the activation a layer may end in. Pure: nothing here throws;
 * a user's mistake is a `ShapeError` value.
 */
import type { Padding } from "../language/vocabulary.js";
import type { ActivationSpec, ParamCount, Shape, ShapeError, ShapeErrorSubject, ShapeResult, ShapeWarning } from "./types.js";

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

/** Every value of every list a positive whole number (the common case, checked before any message is made). */
export function allPositive(lists: readonly (readonly number[])[]): boolean {
  for (const list of lists) for (const n of list) if (!(Number.isInteger(n) && n > 0)) return false;
  return true;
}

export function isPositiveInteger(n: number): boolean {
  return Number.isInteger(n) && n > 0;
}

export function lastAxis(shape: Shape): number {
  return shape.length === 0 ? 0 : shape[shape.length - 1]!;
}

// ---------------------------------------------------------------------------------------
// Words of the spec, for messages

/** `2` for a square pair, `2x1` otherwise (as `stride` and `pool` are written). */
export function pair(p: readonly [number, number]): string {
  return p[0] === p[1] ? `${p[0]}` : `${p[0]}x${p[1]}`;
}

export function activationWord(a: ActivationSpec): string {
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

/** "it has no dimensions" / "2x2x2x2 has 4 dimensions". */
export function dimensionsWords(shape: Shape): string {
  return shape.length === 0 ? "it has no dimensions" : `${formatShape(shape)} has ${shape.length} dimensions`;
}

export function plural(n: number, word: string): string {
  return n === 1 ? `${word}` : `${n} ${word}s`;
}

// ---------------------------------------------------------------------------------------
// Results

export function ok(shape: number[], warnings: ShapeWarning[] = []): ShapeResult {
  return warnings.length > 0 ? { ok: true, shape, warnings } : { ok: true, shape };
}

export function fail(code: ShapeError["code"], subject: ShapeErrorSubject, message: string, hint?: string): ShapeResult {
  const error: ShapeError = { code, subject, message };
  if (hint !== undefined) error.hint = hint;
  return { ok: false, error };
}

export function warn(code: ShapeWarning["code"], subject: ShapeErrorSubject, message: string, hint?: string): ShapeWarning {
  const warning: ShapeWarning = { code, subject, message };
  if (hint !== undefined) warning.hint = hint;
  return warning;
}

/** NN3006 for the first value that is not a positive whole number, else undefined. */
export function requirePositive(subject: ShapeErrorSubject, what: string, written: string, values: readonly number[]): ShapeResult | undefined {
  if (values.every(isPositiveInteger)) return undefined;
  const must = written.includes("x") ? "positive whole numbers" : "a positive whole number";
  return fail("NN3006", subject, `${what} must be ${must}, but it is ${written}.`);
}

// ---------------------------------------------------------------------------------------
// Hints

/** Divisors d of n with min <= d <= max, nearest to `target` first (at most `count`), ascending. */
export function nearestDivisors(n: number, target: number, min: number, max: number, count: number): number[] {
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

export function orList(words: readonly string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

/** A `reshape` that turns a vector or a matrix into an image, preferring square images. */
export function reshapeHint(shape: Shape): string {
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
/**
 * A window over a sequence (length x channels, rank 2) is the image rule with a width of 1: the
 * kernel, stride and dilation are `[k, 1]` there. Undefined when the input is an image.
 */
export function sequenceAsImage(input: Shape): number[] | undefined {
  return input.length === 2 ? [input[0]!, 1, input[1]!] : undefined;
}

/** Conv, pool and global pool take a sequence (length x channels) or an image (height x width x channels). */
export function requireSequenceOrImage(words: string, input: Shape): ShapeResult | undefined {
  if (input.length === 2 || input.length === 3) return undefined;
  return fail(
    "NN3001",
    "input",
    `\`${words}\` needs an image (height x width x channels, rank 3) or a sequence (length x channels, rank 2), but its input is ${formatShape(input)} (rank ${input.length}).`,
    reshapeHint(input),
  );
}

export function requireImage(words: string, input: Shape): ShapeResult | undefined {
  if (input.length === 3) return undefined;
  return fail(
    "NN3001",
    "input",
    `\`${words}\` needs an image (height x width x channels, rank 3), but its input is ${formatShape(input)} (rank ${input.length}).`,
    reshapeHint(input),
  );
}

export interface Window {
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
export function slideWindow(w: Window, given: Shape): { ok: true; height: number; width: number; warnings: ShapeWarning[] } | { ok: false; result: ShapeResult } {
  // A sequence (length x channels) slides as an image one column wide; its messages speak of positions.
  const sequence = given.length === 2;
  const input = sequenceAsImage(given) ?? given;
  const [h, wd] = [input[0]!, input[1]!];
  const one = (p: readonly [number, number]): string => (sequence ? `${p[0]}` : pair(p));
  const spans = [effectiveKernel(w.kernel[0], w.dilation[0]), effectiveKernel(w.kernel[1], w.dilation[1])] as const;
  const height = windowLength(h, w.kernel[0], w.strides[0], w.dilation[0], w.padding);
  const width = windowLength(wd, w.kernel[1], w.strides[1], w.dilation[1], w.padding);
  if (height < 1 || width < 1) {
    const dilated = w.dilation[0] > 1 || w.dilation[1] > 1;
    const spanWords = sequence ? `${spans[0]} positions` : `${spans[0]}x${spans[1]}`;
    const atLeast = sequence ? `of at least ${spanWords}` : `at least ${spanWords}`;
    const message = dilated
      ? `\`${w.words} dilation ${one(w.dilation)}\` spans ${spanWords}, so with \`valid\` padding it needs an input ${atLeast}, but its input is ${formatShape(given)}.`
      : `\`${w.words}\` with \`valid\` padding needs an input ${atLeast}, but its input is ${formatShape(given)}.`;
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
      if (droppedRows > 0) parts.push(`the last ${plural(droppedRows, sequence ? "position" : "row")}`);
      if (droppedColumns > 0) parts.push(`the last ${plural(droppedColumns, "column")}`);
      const stride = w.strides[0] === 1 && w.strides[1] === 1 ? "" : ` with \`stride ${one(w.strides)}\``;
      const dropped = warn(
        "NN3101",
        w.subject,
        `\`${w.words}\`${stride} and \`valid\` padding does not tile its ${formatShape(given)} input: it drops ${parts.join(" and ")}.`,
        "Use `same` padding to keep them, or sizes that tile exactly?",
      );
      dropped.dropped = { rows: droppedRows, columns: droppedColumns };
      warnings.push(dropped);
    }
  }
  return { ok: true, height, width, warnings };
}

/**
 * An activation applied to a shape, either as its own layer or as the trailing word of
 * `dense`, `conv` and the norms (`producer` names that layer for messages). Only `maxout`
 * changes the shape; `softmax` over one unit is legal but pointless.
 */
export function applyActivation(activation: ActivationSpec, shape: number[], producer: string | undefined, warnings: ShapeWarning[]): ShapeResult {
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

export function withActivation(activation: ActivationSpec | undefined, shape: number[], producer: string, warnings: ShapeWarning[]): ShapeResult {
  return activation === undefined ? ok(shape, warnings) : applyActivation(activation, shape, producer, warnings);
}


/** PReLU is channel-wise: one learnt slope per unit of the last axis. */
export function activationParams(activation: ActivationSpec | undefined, shape: Shape): number {
  return activation?.name === "prelu" ? lastAxis(shape) : 0;
}

/** What a layer without weights counts. */
export function noParams(): ParamCount {
  return { trainable: 0, nonTrainable: 0 };
}
export function noWeights(): [] {
  return [];
}
/** Elementwise layers and reductions count no multiply-adds (torchinfo's convention). */
export function noMultiplyAdds(): number {
  return 0;
}
/** A count as a number when it is one (an overflowing product counts 0). */
export function finiteCount(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}
/** The input's shape, for layers that keep it. */
export function sameAsInput(_config: unknown, input: Shape | undefined): number[] | undefined {
  return input ? [...input] : undefined;
}
export function noIntendedShape(): undefined {
  return undefined;
}
