/**
 * The table of shape cases (house style, habit 10): one row per {layer, input, expected}.
 * test/shape-rules.test.ts runs every row through the shape rules; test/differential.test.ts
 * builds the same layer in TensorFlow.js and checks that it agrees.
 *
 * Shapes leave the batch dimension out. `params` is what Keras / TF.js `countParams()` says.
 */
import type { ActivationSpec, LayerConfig, ParamCount, ShapeError, ShapeWarning, WeightOptions } from "../src/typecheck/layer-config.js";
import type { Padding } from "../src/language/vocabulary.js";

export type ShapeExpectation = { shape: number[]; params: ParamCount } | { error: ShapeError["code"] };

export interface ShapeCase {
  /** Reads as a sentence: the spec's words, the input, what comes out. */
  name: string;
  config: LayerConfig;
  /** The shape going in; for `add` the list of shapes; for `input` none (`[]`). */
  input: number[] | number[][];
  expected: ShapeExpectation;
  /** The one warning expected with a successful shape; none when absent. */
  warning?: "NN3101" | "NN3102" | "NN3103";
  /** Words the message or hint must contain. */
  says?: string[];
  /**
   * Where TensorFlow.js deliberately disagrees, and why. Absent: TF.js agrees (same shape and
   * parameters, or it also fails). Present on an error: TF.js accepts the layer. Present on a
   * success: TF.js refuses it, and codegen must work around that.
   */
  tfjsDiffers?: string;
}

/** The shapes a case feeds to `outputShape`. */
export function inputsOf(c: ShapeCase): number[][] {
  const input = c.input;
  if (input.length === 0) return [];
  return Array.isArray(input[0]) ? (input as number[][]) : [input as number[]];
}

/** The single input shape of a case (the first, for `add`). */
export function firstInput(c: ShapeCase): number[] {
  return inputsOf(c)[0] ?? [];
}

// ---------------------------------------------------------------------------------------
// Builders (the defaults a parser would fill in)

type Pair = number | [number, number];
const pairOf = (p: Pair): [number, number] => (typeof p === "number" ? [p, p] : p);

const WEIGHTS: WeightOptions = { useBias: true, kernelInit: { name: "glorot_uniform" }, biasInit: 0, l1: 0, l2: 0 };

type SimpleActivation = Exclude<ActivationSpec, { name: "leaky_relu" | "elu" | "maxout" }>["name"];
const act = (name: SimpleActivation): ActivationSpec => ({ name });
const leaky = (alpha: number): ActivationSpec => ({ name: "leaky_relu", alpha });
const elu = (alpha: number): ActivationSpec => ({ name: "elu", alpha });
const maxout = (k: number): ActivationSpec => ({ name: "maxout", k });

interface WeightOpts {
  activation?: ActivationSpec;
  useBias?: boolean;
}

function input(...shape: number[]): LayerConfig {
  return { op: "input", shape };
}

function dense(units: number, opts: WeightOpts = {}): LayerConfig {
  const c: LayerConfig = { op: "dense", units, ...WEIGHTS, useBias: opts.useBias ?? true };
  if (opts.activation) c.activation = opts.activation;
  return c;
}

function conv(kernel: Pair, filters: number, opts: WeightOpts & { stride?: Pair; dilation?: Pair; padding?: Padding } = {}): LayerConfig {
  const c: LayerConfig = {
    op: "conv",
    kernel: pairOf(kernel),
    filters,
    strides: pairOf(opts.stride ?? 1),
    dilation: pairOf(opts.dilation ?? 1),
    padding: opts.padding ?? "valid",
    groups: 1,
    ...WEIGHTS,
    useBias: opts.useBias ?? true,
  };
  if (opts.activation) c.activation = opts.activation;
  return c;
}

/** `pool N`: max, stride = window, valid, as in Keras. */
function pool(size: Pair, opts: { mode?: "max" | "avg"; stride?: Pair; padding?: Padding } = {}): LayerConfig {
  return { op: "pool", mode: opts.mode ?? "max", size: pairOf(size), strides: pairOf(opts.stride ?? size), padding: opts.padding ?? "valid" };
}

const globalPool = (mode: "max" | "avg"): LayerConfig => ({ op: "global_pool", mode });
const flatten: LayerConfig = { op: "flatten" };
const reshape = (...shape: number[]): LayerConfig => ({ op: "reshape", shape });
const dropout = (rate: number): LayerConfig => ({ op: "dropout", rate });
function batchnorm(activation?: ActivationSpec): LayerConfig {
  const c: LayerConfig = { op: "batchnorm", momentum: 0.99, epsilon: 1e-3 };
  if (activation) c.activation = activation;
  return c;
}
function layernorm(activation?: ActivationSpec): LayerConfig {
  const c: LayerConfig = { op: "layernorm", epsilon: 1e-3 };
  if (activation) c.activation = activation;
  return c;
}
function groupnorm(groups: number, activation?: ActivationSpec): LayerConfig {
  const c: LayerConfig = { op: "groupnorm", groups, epsilon: 1e-3 };
  if (activation) c.activation = activation;
  return c;
}
const activation = (spec: ActivationSpec): LayerConfig => ({ op: "activation", activation: spec });
const add: LayerConfig = { op: "add" };
const concat: LayerConfig = { op: "concat" };
const multiply: LayerConfig = { op: "multiply" };

function grouped(kernel: Pair, filters: number, groups: number, opts: { stride?: Pair; padding?: Padding } = {}): LayerConfig {
  return { op: "conv", kernel: pairOf(kernel), filters, strides: pairOf(opts.stride ?? 1), dilation: [1, 1], padding: opts.padding ?? "valid", groups, ...WEIGHTS };
}
function depthwise(kernel: Pair, opts: WeightOpts & { multiplier?: number; stride?: Pair; padding?: Padding } = {}): LayerConfig {
  const c: LayerConfig = { op: "depthwise", kernel: pairOf(kernel), multiplier: opts.multiplier ?? 1, strides: pairOf(opts.stride ?? 1), dilation: [1, 1], padding: opts.padding ?? "valid", ...WEIGHTS, useBias: opts.useBias ?? true };
  if (opts.activation) c.activation = opts.activation;
  return c;
}
function separable(kernel: Pair, filters: number, opts: WeightOpts & { multiplier?: number; stride?: Pair; padding?: Padding } = {}): LayerConfig {
  const c: LayerConfig = { op: "separable", kernel: pairOf(kernel), filters, multiplier: opts.multiplier ?? 1, strides: pairOf(opts.stride ?? 1), dilation: [1, 1], padding: opts.padding ?? "valid", ...WEIGHTS, useBias: opts.useBias ?? true };
  if (opts.activation) c.activation = opts.activation;
  return c;
}
function upconv(kernel: Pair, filters: number, opts: WeightOpts & { stride?: Pair; padding?: "valid" | "same" } = {}): LayerConfig {
  const c: LayerConfig = { op: "upconv", kernel: pairOf(kernel), filters, strides: pairOf(opts.stride ?? 1), padding: opts.padding ?? "valid", ...WEIGHTS, useBias: opts.useBias ?? true };
  if (opts.activation) c.activation = opts.activation;
  return c;
}
const upsample = (size: Pair, mode: "nearest" | "bilinear" = "nearest"): LayerConfig => ({ op: "upsample", size: pairOf(size), mode });
const pad = (sides: [number, number, number, number], channels = 0): LayerConfig => ({ op: "pad", sides, channels });
const crop = (sides: [number, number, number, number]): LayerConfig => ({ op: "crop", sides });
/** A 1-D conv over a sequence, as the resolver writes it: kernel, stride and dilation `[k, 1]`. */
function conv1d(k: number, filters: number, opts: { stride?: number; padding?: Padding; dilation?: number } = {}): LayerConfig {
  return { op: "conv", kernel: [k, 1], filters, strides: [opts.stride ?? 1, 1], dilation: [opts.dilation ?? 1, 1], padding: opts.padding ?? "valid", groups: 1, sequence: true, ...WEIGHTS };
}
const pool1d = (k: number, opts: { mode?: "max" | "avg"; stride?: number; padding?: Padding } = {}): LayerConfig => ({ op: "pool", mode: opts.mode ?? "max", size: [k, 1], strides: [opts.stride ?? k, 1], padding: opts.padding ?? "valid", sequence: true });

const ok = (shape: number[], trainable = 0, nonTrainable = 0): ShapeExpectation => ({ shape, params: { trainable, nonTrainable } });
const err = (code: ShapeError["code"]): ShapeExpectation => ({ error: code });

// Why TF.js accepts what we refuse (or refuses what we accept), said once.
const TFJS_ANY_RANK = "TF.js takes an input of any rank; nnc's layers take vectors and images (rank 1 to 3) only";
const TFJS_DENSE_LAST_AXIS = "TF.js applies Dense to the last axis of a higher-rank input; nnc asks for an explicit flatten";
const TFJS_BROADCASTS = "TF.js's Add broadcasts a size-1 or missing axis; a residual must match exactly";
const TFJS_NO_CHECK = "TF.js does not check this value and builds a meaningless layer";

// ---------------------------------------------------------------------------------------

export const SHAPE_CASES: readonly ShapeCase[] = [
  // --- input ------------------------------------------------------------------------
  { name: "input 10 is a vector of 10 features", config: input(10), input: [], expected: ok([10]) },
  { name: "input 28x28x1 is an image", config: input(28, 28, 1), input: [], expected: ok([28, 28, 1]) },
  { name: "input 4x16 is a matrix", config: input(4, 16), input: [], expected: ok([4, 16]) },
  { name: "input 1 is a single feature", config: input(1), input: [], expected: ok([1]) },
  {
    name: "input 2x2x2x2 has too many dimensions",
    config: input(2, 2, 2, 2),
    input: [],
    expected: err("NN3008"),
    says: ["2x2x2x2", "batch"],
    tfjsDiffers: TFJS_ANY_RANK,
  },
  { name: "input with no dimensions is refused", config: input(), input: [], expected: err("NN3008"), tfjsDiffers: "TF.js takes a shape-less input as one scalar per example" },
  { name: "input 0x3 has an empty axis", config: input(0, 3), input: [], expected: err("NN3008"), says: ["0x3", "0"] },
  { name: "input -1 has a negative size", config: input(-1), input: [], expected: err("NN3008") },
  { name: "input 2.5 has a fractional size", config: input(2.5), input: [], expected: err("NN3008") },

  // --- dense ------------------------------------------------------------------------
  { name: "dense 10 on 784 features has 7850 parameters", config: dense(10), input: [784], expected: ok([10], 7850) },
  { name: "dense 1 sigmoid on 10 features", config: dense(1, { activation: act("sigmoid") }), input: [10], expected: ok([1], 11) },
  { name: "dense 100 tanh no_bias has no bias vector", config: dense(100, { activation: act("tanh"), useBias: false }), input: [10], expected: ok([100], 1000) },
  { name: "dense 5 leaky_relu(0.2) on 3 features", config: dense(5, { activation: leaky(0.2) }), input: [3], expected: ok([5], 20) },
  { name: "dense 4 elu(1) on 4 features", config: dense(4, { activation: elu(1) }), input: [4], expected: ok([4], 20) },
  { name: "dense 10 prelu adds one slope per unit", config: dense(10, { activation: act("prelu") }), input: [20], expected: ok([10], 220) },
  { name: "dense 12 maxout(3) gives 4 units", config: dense(12, { activation: maxout(3) }), input: [8], expected: ok([4], 108) },
  { name: "dense 10 softmax over classes", config: dense(10, { activation: act("softmax") }), input: [64], expected: ok([10], 650) },
  {
    name: "dense 1 softmax always outputs 1",
    config: dense(1, { activation: act("softmax") }),
    input: [10],
    expected: ok([1], 11),
    warning: "NN3103",
    says: ["`softmax`", "`sigmoid`"],
  },
  {
    name: "dense on a 7x7x64 image needs a flatten first",
    config: dense(10),
    input: [7, 7, 64],
    expected: err("NN3001"),
    says: ["`dense` needs a vector (rank 1), but its input is 7x7x64", "Add `flatten` (or `global avgpool`) before it?"],
    tfjsDiffers: TFJS_DENSE_LAST_AXIS,
  },
  { name: "dense on a 4x16 matrix needs a flatten first", config: dense(10), input: [4, 16], expected: err("NN3001"), says: ["4x16", "`flatten`"], tfjsDiffers: TFJS_DENSE_LAST_AXIS },
  { name: "dense 0 has no units", config: dense(0), input: [10], expected: err("NN3006"), says: ["units", "0"] },
  { name: "dense 1.5 has a fractional unit count", config: dense(1.5), input: [10], expected: err("NN3006") },
  { name: "dense 10 maxout(3) cannot split 10 units into threes", config: dense(10, { activation: maxout(3) }), input: [8], expected: err("NN3005"), says: ["`maxout(3)`", "`dense 10` gives 10", "`maxout(2)` or `maxout(5)`"] },

  // --- conv -------------------------------------------------------------------------
  { name: "conv 5x5x32 same keeps 28x28", config: conv(5, 32, { padding: "same", activation: act("relu") }), input: [28, 28, 1], expected: ok([28, 28, 32], 832) },
  { name: "conv 5x5x32 valid shrinks 28x28 to 24x24", config: conv(5, 32), input: [28, 28, 1], expected: ok([24, 24, 32], 832) },
  { name: "conv 3x3x8 stride 2 valid tiles 9x9 exactly", config: conv(3, 8, { stride: 2 }), input: [9, 9, 3], expected: ok([4, 4, 8], 224) },
  {
    name: "conv 3x3x8 stride 2 valid on 10x10 drops the last row and column",
    config: conv(3, 8, { stride: 2 }),
    input: [10, 10, 3],
    expected: ok([4, 4, 8], 224),
    warning: "NN3101",
    says: ["`conv 3x3x8`", "`stride 2`", "the last row and the last column", "`same`"],
  },
  { name: "conv 3x3x8 stride 2 same halves 10x10 to 5x5", config: conv(3, 8, { stride: 2, padding: "same" }), input: [10, 10, 3], expected: ok([5, 5, 8], 224) },
  { name: "conv 3x3x8 stride 2 same rounds 9x9 up to 5x5", config: conv(3, 8, { stride: 2, padding: "same" }), input: [9, 9, 3], expected: ok([5, 5, 8], 224) },
  { name: "conv 3x3x8 full grows 8x8 to 10x10", config: conv(3, 8, { padding: "full" }), input: [8, 8, 2], expected: ok([10, 10, 8], 152) },
  { name: "conv 3x3x8 full stride 2 on 8x8 gives 5x5", config: conv(3, 8, { padding: "full", stride: 2 }), input: [8, 8, 2], expected: ok([5, 5, 8], 152) },
  { name: "conv 3x3x8 full stride 3 on 7x7 gives 3x3", config: conv(3, 8, { padding: "full", stride: 3 }), input: [7, 7, 2], expected: ok([3, 3, 8], 152) },
  { name: "conv 3x3x4 dilation 2 valid spans 5x5", config: conv(3, 4, { dilation: 2 }), input: [9, 9, 2], expected: ok([5, 5, 4], 76) },
  { name: "conv 3x3x4 dilation 2 same keeps 9x9", config: conv(3, 4, { dilation: 2, padding: "same" }), input: [9, 9, 2], expected: ok([9, 9, 4], 76) },
  { name: "conv 3x3x4 dilation 2 full grows 6x6 by 4", config: conv(3, 4, { dilation: 2, padding: "full" }), input: [6, 6, 2], expected: ok([10, 10, 4], 76) },
  { name: "conv 3x3x4 dilation 2x1 valid shrinks rows by 4 and columns by 2", config: conv(3, 4, { dilation: [2, 1] }), input: [9, 9, 2], expected: ok([5, 7, 4], 76) },
  { name: "conv 3x3x4 dilation 3 valid spans exactly its 7x7 input", config: conv(3, 4, { dilation: 3 }), input: [7, 7, 2], expected: ok([1, 1, 4], 76) },
  { name: "conv 1x1x16 mixes channels only", config: conv(1, 16), input: [8, 8, 4], expected: ok([8, 8, 16], 80) },
  { name: "conv 3x1x4 rectangular kernel valid on 8x6", config: conv([3, 1], 4), input: [8, 6, 2], expected: ok([6, 6, 4], 28) },
  { name: "conv 1x5x4 stride 2x1 same on 7x9", config: conv([1, 5], 4, { stride: [2, 1], padding: "same" }), input: [7, 9, 3], expected: ok([4, 9, 4], 64) },
  { name: "conv 2x2x4 stride 2x3 valid tiles 8x8 exactly", config: conv(2, 4, { stride: [2, 3] }), input: [8, 8, 1], expected: ok([4, 3, 4], 20) },
  {
    name: "conv 2x2x4 stride 2x3 valid on 9x9 drops a row; its columns are skipped by the stride anyway",
    config: conv(2, 4, { stride: [2, 3] }),
    input: [9, 9, 1],
    expected: ok([4, 3, 4], 20),
    warning: "NN3101",
    says: ["`stride 2x3`", "the last row"],
  },
  { name: "conv 2x2x4 stride 3 valid on 10x10 skips input between windows and warns of nothing", config: conv(2, 4, { stride: 3 }), input: [10, 10, 1], expected: ok([3, 3, 4], 20) },
  { name: "conv 1x1 stride 2 valid on 56x56 (a ResNet projection) warns of nothing", config: conv(1, 8, { stride: 2 }), input: [56, 56, 4], expected: ok([28, 28, 8], 40) },
  { name: "conv 3x3x4 stride 2 valid on 8x8 drops a row and a column", config: conv(3, 4, { stride: 2 }), input: [8, 8, 1], expected: ok([3, 3, 4], 40), warning: "NN3101", says: ["the last row and the last column"] },
  { name: "conv 5x5x8 valid with the kernel as large as its input gives 1x1", config: conv(5, 8), input: [5, 5, 3], expected: ok([1, 1, 8], 608) },
  { name: "conv 4x4x2 even kernel same keeps 6x6", config: conv(4, 2, { padding: "same" }), input: [6, 6, 1], expected: ok([6, 6, 2], 34) },
  { name: "conv 4x4x2 even kernel full grows 6x6 to 9x9", config: conv(4, 2, { padding: "full" }), input: [6, 6, 1], expected: ok([9, 9, 2], 34) },
  { name: "conv 5x5x4 same may be larger than its 3x3 input", config: conv(5, 4, { padding: "same" }), input: [3, 3, 2], expected: ok([3, 3, 4], 204) },
  { name: "conv 5x5x4 full may be larger than its 3x3 input", config: conv(5, 4, { padding: "full" }), input: [3, 3, 2], expected: ok([7, 7, 4], 204) },
  { name: "conv 7x7x4 stride 2 same on 3x3 gives 2x2", config: conv(7, 4, { stride: 2, padding: "same" }), input: [3, 3, 2], expected: ok([2, 2, 4], 396) },
  { name: "conv 3x3x8 no_bias has no bias vector", config: conv(3, 8, { useBias: false, padding: "same" }), input: [8, 8, 3], expected: ok([8, 8, 8], 216) },
  { name: "conv 3x3x8 prelu adds one slope per channel", config: conv(3, 8, { padding: "same", activation: act("prelu") }), input: [8, 8, 3], expected: ok([8, 8, 8], 232) },
  { name: "conv 3x3x9 maxout(3) gives 3 channels", config: conv(3, 9, { padding: "same", activation: maxout(3) }), input: [8, 8, 3], expected: ok([8, 8, 3], 252) },
  { name: "conv 3x3x8 sigmoid valid on 6x6", config: conv(3, 8, { activation: act("sigmoid") }), input: [6, 6, 1], expected: ok([4, 4, 8], 80) },
  { name: "conv 1x1x1 softmax over one channel always outputs 1", config: conv(1, 1, { activation: act("softmax") }), input: [4, 4, 3], expected: ok([4, 4, 1], 4), warning: "NN3103" },
  {
    name: "conv 5x5x4 valid does not fit a 3x3 input",
    config: conv(5, 4),
    input: [3, 3, 2],
    expected: err("NN3002"),
    says: ["`conv 5x5x4`", "`valid`", "at least 5x5", "3x3x2", "`same`", "smaller kernel"],
  },
  { name: "conv 5x3x4 valid does not fit 4 rows", config: conv([5, 3], 4), input: [4, 8, 2], expected: err("NN3002"), says: ["at least 5x3", "4x8x2"] },
  { name: "conv 3x3x4 dilation 2 valid spans 5x5 and does not fit 4x4", config: conv(3, 4, { dilation: 2 }), input: [4, 4, 2], expected: err("NN3002"), says: ["`conv 3x3x4 dilation 2` spans 5x5"] },
  {
    name: "conv with stride 2 and dilation 2 is refused",
    config: conv(3, 4, { stride: 2, dilation: 2 }),
    input: [9, 9, 2],
    expected: err("NN3007"),
    says: ["`stride 2`", "`dilation 2`", "must be 1"],
  },
  { name: "conv with stride 2x1 and dilation 1x2 is refused too", config: conv(3, 4, { stride: [2, 1], dilation: [1, 2] }), input: [9, 9, 2], expected: err("NN3007") },
  { name: "conv same with stride 2 and dilation 2 is refused", config: conv(3, 4, { stride: 2, dilation: 2, padding: "same" }), input: [9, 9, 2], expected: err("NN3007") },
  { name: "conv with a 0x3 kernel is refused", config: conv([0, 3], 2), input: [6, 6, 1], expected: err("NN3006"), says: ["kernel", "0x3"], tfjsDiffers: TFJS_NO_CHECK },
  { name: "conv with 0 filters is refused", config: conv(3, 0), input: [6, 6, 1], expected: err("NN3006"), says: ["filters"] },
  { name: "conv with 2.5 filters is refused", config: conv(3, 2.5), input: [6, 6, 1], expected: err("NN3006") },
  { name: "conv with stride 0 is refused", config: conv(3, 2, { stride: 0 }), input: [6, 6, 1], expected: err("NN3006"), says: ["stride"] },
  { name: "conv with dilation 0 is refused", config: conv(3, 2, { dilation: 0 }), input: [6, 6, 1], expected: err("NN3006"), says: ["dilation"], tfjsDiffers: TFJS_NO_CHECK },
  {
    name: "conv on a vector of 784 needs a reshape to an image",
    config: conv(5, 32),
    input: [784],
    expected: err("NN3001"),
    says: ["`conv 5x5x32`", "784", "reshape 28x28x1"],
  },
  { name: "conv on a vector of 3072 suggests a colour image", config: conv(3, 8), input: [3072], expected: err("NN3001"), says: ["reshape 32x32x3"] },
  { name: "conv on a 4x16 matrix needs a channel axis", config: conv(3, 8), input: [4, 16], expected: err("NN3001"), says: ["reshape 4x16x1"] },
  { name: "conv 3x3x8 maxout(3) cannot split 8 channels into threes", config: conv(3, 8, { padding: "same", activation: maxout(3) }), input: [8, 8, 3], expected: err("NN3005") },

  // --- pool -------------------------------------------------------------------------
  { name: "pool 2 halves 28x28", config: pool(2), input: [28, 28, 32], expected: ok([14, 14, 32]) },
  {
    name: "pool 2 on 7x7 drops the last row and column",
    config: pool(2),
    input: [7, 7, 64],
    expected: ok([3, 3, 64]),
    warning: "NN3101",
    says: ["`pool 2`", "7x7x64", "the last row and the last column", "`same`"],
  },
  { name: "pool 2 same on 7x7 keeps the last row and column", config: pool(2, { padding: "same" }), input: [7, 7, 64], expected: ok([4, 4, 64]) },
  { name: "pool 3 stride 2 valid tiles 7x7 exactly", config: pool(3, { stride: 2 }), input: [7, 7, 4], expected: ok([3, 3, 4]) },
  { name: "pool 3 stride 2 valid on 8x8 drops a row and a column", config: pool(3, { stride: 2 }), input: [8, 8, 4], expected: ok([3, 3, 4]), warning: "NN3101" },
  { name: "pool avg 3 stride 2 same on 8x8 gives 4x4", config: pool(3, { mode: "avg", stride: 2, padding: "same" }), input: [8, 8, 4], expected: ok([4, 4, 4]) },
  { name: "pool avg 3 stride 1 same keeps 5x5", config: pool(3, { mode: "avg", stride: 1, padding: "same" }), input: [5, 5, 2], expected: ok([5, 5, 2]) },
  { name: "pool avg 2 halves 6x6", config: pool(2, { mode: "avg" }), input: [6, 6, 3], expected: ok([3, 3, 3]) },
  { name: "pool 2 full on 5x5 gives 3x3", config: pool(2, { padding: "full" }), input: [5, 5, 2], expected: ok([3, 3, 2]) },
  { name: "pool 3 stride 1 full grows 4x4 to 6x6", config: pool(3, { stride: 1, padding: "full" }), input: [4, 4, 2], expected: ok([6, 6, 2]) },
  { name: "pool avg 2 full on 4x4 gives 3x3", config: pool(2, { mode: "avg", padding: "full" }), input: [4, 4, 1], expected: ok([3, 3, 1]) },
  { name: "pool 2x3 rectangular window tiles 8x9", config: pool([2, 3]), input: [8, 9, 2], expected: ok([4, 3, 2]) },
  { name: "pool 2x1 on 7x8 drops only the last row", config: pool([2, 1]), input: [7, 8, 2], expected: ok([3, 8, 2]), warning: "NN3101", says: ["`pool 2x1`", "the last row"] },
  { name: "pool 1x2 on 6x5 drops only the last column", config: pool([1, 2]), input: [6, 5, 2], expected: ok([6, 2, 2]), warning: "NN3101", says: ["the last column"] },
  { name: "pool 2 stride 3 valid on 8x8 gives 3x3", config: pool(2, { stride: 3 }), input: [8, 8, 2], expected: ok([3, 3, 2]) },
  { name: "pool 2 stride 1 valid on 5x5 gives 4x4", config: pool(2, { stride: 1 }), input: [5, 5, 2], expected: ok([4, 4, 2]) },
  { name: "pool 4 as large as its 4x4 input gives 1x1", config: pool(4), input: [4, 4, 8], expected: ok([1, 1, 8]) },
  { name: "pool 5 same on a smaller 3x3 input gives 1x1", config: pool(5, { padding: "same" }), input: [3, 3, 2], expected: ok([1, 1, 2]) },
  { name: "pool 5 stride 1 same keeps a smaller 3x3 input", config: pool(5, { stride: 1, padding: "same" }), input: [3, 3, 2], expected: ok([3, 3, 2]) },
  { name: "pool 5 full on a smaller 3x3 input gives 2x2", config: pool(5, { padding: "full" }), input: [3, 3, 2], expected: ok([2, 2, 2]) },
  {
    name: "pool 3 valid does not fit a 2x2 input",
    config: pool(3),
    input: [2, 2, 64],
    expected: err("NN3002"),
    says: ["`pool 3`", "`valid`", "at least 3x3", "2x2x64", "`same`", "smaller window"],
  },
  { name: "pool 3x1 valid does not fit 2 rows", config: pool([3, 1]), input: [2, 5, 1], expected: err("NN3002") },
  { name: "pool 0 is refused", config: pool(0), input: [4, 4, 1], expected: err("NN3006"), says: ["window"] },
  { name: "pool 2 stride 0 is refused", config: pool(2, { stride: 0 }), input: [4, 4, 1], expected: err("NN3006"), says: ["stride"] },
  { name: "pool 1.5 is refused", config: pool(1.5), input: [4, 4, 1], expected: err("NN3006") },
  { name: "pool on a vector of 100 needs a reshape to an image", config: pool(2), input: [100], expected: err("NN3001"), says: ["`pool 2`", "reshape 10x10x1"] },
  { name: "pool on a 4x16 matrix needs a channel axis", config: pool(2), input: [4, 16], expected: err("NN3001") },

  // --- global pool ------------------------------------------------------------------
  { name: "global avgpool turns 7x7x64 into 64", config: globalPool("avg"), input: [7, 7, 64], expected: ok([64]) },
  { name: "global maxpool turns 1x1x16 into 16", config: globalPool("max"), input: [1, 1, 16], expected: ok([16]) },
  { name: "global avgpool on a rectangular 5x3x2", config: globalPool("avg"), input: [5, 3, 2], expected: ok([2]) },
  { name: "global maxpool turns 4x4x8 into 8", config: globalPool("max"), input: [4, 4, 8], expected: ok([8]) },
  { name: "global avgpool on a vector needs an image", config: globalPool("avg"), input: [64], expected: err("NN3001"), says: ["`global avgpool`", "reshape 8x8x1"] },
  { name: "global maxpool on a 4x16 sequence pools its length", config: globalPool("max"), input: [4, 16], expected: ok([16]) },

  // --- flatten ----------------------------------------------------------------------
  { name: "flatten turns 7x7x64 into 3136", config: flatten, input: [7, 7, 64], expected: ok([3136]) },
  { name: "flatten turns 1x1x10 into 10", config: flatten, input: [1, 1, 10], expected: ok([10]) },
  { name: "flatten turns 4x16 into 64", config: flatten, input: [4, 16], expected: ok([64]) },
  { name: "flatten turns 5x3x2 into 30", config: flatten, input: [5, 3, 2], expected: ok([30]) },
  {
    name: "flatten of a vector has no effect",
    config: flatten,
    input: [100],
    expected: ok([100]),
    warning: "NN3102",
    says: ["no effect", "100"],
    tfjsDiffers: "TF.js's Flatten refuses a rank-1 input (min_ndim=3 with the batch); codegen must leave this layer out",
  },

  // --- reshape ----------------------------------------------------------------------
  { name: "reshape 28x28x1 turns 784 features into an image", config: reshape(28, 28, 1), input: [784], expected: ok([28, 28, 1]) },
  { name: "reshape 7x7x64 turns 3136 into an image", config: reshape(7, 7, 64), input: [3136], expected: ok([7, 7, 64]) },
  { name: "reshape 3136 turns 7x7x64 into a vector", config: reshape(3136), input: [7, 7, 64], expected: ok([3136]) },
  { name: "reshape 4x4 turns 2x8 into a square", config: reshape(4, 4), input: [2, 8], expected: ok([4, 4]) },
  { name: "reshape 2x2x3 turns 12 into a small image", config: reshape(2, 2, 3), input: [12], expected: ok([2, 2, 3]) },
  { name: "reshape 3x3 cannot hold 10 values", config: reshape(3, 3), input: [10], expected: err("NN3003"), says: ["9", "10"] },
  { name: "reshape 7x7x32 cannot hold 7x7x64", config: reshape(7, 7, 32), input: [3136], expected: err("NN3003"), says: ["1568", "3136"] },
  { name: "reshape 0x10 has an empty axis", config: reshape(0, 10), input: [10], expected: err("NN3006") },
  { name: "reshape -1x5 must write every size out", config: reshape(-1, 5), input: [10], expected: err("NN3006"), tfjsDiffers: "TF.js infers a -1 size; the spec language writes every size out" },
  { name: "reshape 2x2x2x2 has too many dimensions", config: reshape(2, 2, 2, 2), input: [16], expected: err("NN3008"), tfjsDiffers: TFJS_ANY_RANK },

  // --- dropout ----------------------------------------------------------------------
  { name: "dropout 0.5 keeps 1024 features", config: dropout(0.5), input: [1024], expected: ok([1024]) },
  { name: "dropout 0.1 keeps a 12x12x32 image", config: dropout(0.1), input: [12, 12, 32], expected: ok([12, 12, 32]) },
  { name: "dropout 0 keeps a 4x16 matrix", config: dropout(0), input: [4, 16], expected: ok([4, 16]) },
  { name: "dropout 0.9 keeps 10 features", config: dropout(0.9), input: [10], expected: ok([10]) },
  { name: "dropout 0.25 keeps a 1x1x1 image", config: dropout(0.25), input: [1, 1, 1], expected: ok([1, 1, 1]) },

  // --- batchnorm --------------------------------------------------------------------
  { name: "batchnorm on 8x8x16 learns 32 and tracks 32", config: batchnorm(), input: [8, 8, 16], expected: ok([8, 8, 16], 32, 32) },
  { name: "batchnorm on 100 features", config: batchnorm(), input: [100], expected: ok([100], 200, 200) },
  { name: "batchnorm on a 4x16 matrix normalises its last axis", config: batchnorm(), input: [4, 16], expected: ok([4, 16], 32, 32) },
  { name: "batchnorm relu on 4x4x8", config: batchnorm(act("relu")), input: [4, 4, 8], expected: ok([4, 4, 8], 16, 16) },
  { name: "batchnorm prelu adds one slope per channel", config: batchnorm(act("prelu")), input: [4, 4, 8], expected: ok([4, 4, 8], 24, 16) },
  { name: "batchnorm maxout(2) halves 8 channels", config: batchnorm(maxout(2)), input: [4, 4, 8], expected: ok([4, 4, 4], 16, 16) },
  { name: "batchnorm maxout(3) cannot split 8 channels", config: batchnorm(maxout(3)), input: [4, 4, 8], expected: err("NN3005"), says: ["`batchnorm` gives 4x4x8"] },

  // --- layernorm --------------------------------------------------------------------
  { name: "layernorm on 10 features learns 20", config: layernorm(), input: [10], expected: ok([10], 20) },
  { name: "layernorm on 8x8x16 learns 32", config: layernorm(), input: [8, 8, 16], expected: ok([8, 8, 16], 32) },
  { name: "layernorm on a 4x16 matrix learns 32", config: layernorm(), input: [4, 16], expected: ok([4, 16], 32) },
  { name: "layernorm prelu on 10 features learns 30", config: layernorm(act("prelu")), input: [10], expected: ok([10], 30) },
  { name: "layernorm tanh on 6 features", config: layernorm(act("tanh")), input: [6], expected: ok([6], 12) },
  { name: "layernorm maxout(4) on 4x4x8 gives 2 channels", config: layernorm(maxout(4)), input: [4, 4, 8], expected: ok([4, 4, 2], 16) },
  { name: "layernorm softmax over one feature always outputs 1", config: layernorm(act("softmax")), input: [1], expected: ok([1], 2), warning: "NN3103" },

  // --- groupnorm --------------------------------------------------------------------
  { name: "groupnorm 8 on 8x8x32 learns 64", config: groupnorm(8), input: [8, 8, 32], expected: ok([8, 8, 32], 64) },
  { name: "groupnorm 1 on 4x4x6 is a layer norm over the image", config: groupnorm(1), input: [4, 4, 6], expected: ok([4, 4, 6], 12) },
  { name: "groupnorm 6 on 4x4x6 is an instance norm", config: groupnorm(6), input: [4, 4, 6], expected: ok([4, 4, 6], 12) },
  { name: "groupnorm 4 on 12 features", config: groupnorm(4), input: [12], expected: ok([12], 24) },
  { name: "groupnorm 2 relu on 4x4x8", config: groupnorm(2, act("relu")), input: [4, 4, 8], expected: ok([4, 4, 8], 16) },
  { name: "groupnorm 2 prelu adds one slope per channel", config: groupnorm(2, act("prelu")), input: [4, 4, 8], expected: ok([4, 4, 8], 24) },
  {
    name: "groupnorm 8 cannot split 12 channels",
    config: groupnorm(8),
    input: [4, 4, 12],
    expected: err("NN3005"),
    says: ["`groupnorm 8`", "4x4x12", "12", "`groupnorm 4` or `groupnorm 6`"],
  },
  { name: "groupnorm 5 cannot split 3 channels", config: groupnorm(5), input: [4, 4, 3], expected: err("NN3005") },
  { name: "groupnorm 0 is refused", config: groupnorm(0), input: [4, 4, 8], expected: err("NN3006"), says: ["groups"] },

  // --- activation layers ------------------------------------------------------------
  { name: "relu keeps 7x7x64", config: activation(act("relu")), input: [7, 7, 64], expected: ok([7, 7, 64]) },
  { name: "leaky_relu(0.1) keeps 100 features", config: activation(leaky(0.1)), input: [100], expected: ok([100]) },
  { name: "elu(1) keeps 10 features", config: activation(elu(1)), input: [10], expected: ok([10]) },
  { name: "selu keeps a 4x16 matrix", config: activation(act("selu")), input: [4, 16], expected: ok([4, 16]) },
  { name: "sigmoid keeps 3 features", config: activation(act("sigmoid")), input: [3], expected: ok([3]) },
  { name: "tanh keeps 2x2x3", config: activation(act("tanh")), input: [2, 2, 3], expected: ok([2, 2, 3]) },
  { name: "softplus keeps 5 features", config: activation(act("softplus")), input: [5], expected: ok([5]) },
  { name: "linear keeps 5 features", config: activation(act("linear")), input: [5], expected: ok([5]) },
  { name: "prelu on 4x4x8 learns one slope per channel", config: activation(act("prelu")), input: [4, 4, 8], expected: ok([4, 4, 8], 8) },
  { name: "prelu on 10 features learns 10 slopes", config: activation(act("prelu")), input: [10], expected: ok([10], 10) },
  { name: "prelu on a 4x16 matrix learns 16 slopes", config: activation(act("prelu")), input: [4, 16], expected: ok([4, 16], 16) },
  { name: "softmax keeps 10 classes", config: activation(act("softmax")), input: [10], expected: ok([10]) },
  { name: "softmax over one feature always outputs 1", config: activation(act("softmax")), input: [1], expected: ok([1]), warning: "NN3103" },
  { name: "softmax over a 4x4x1 image's single channel always outputs 1", config: activation(act("softmax")), input: [4, 4, 1], expected: ok([4, 4, 1]), warning: "NN3103" },
  { name: "maxout(2) halves 10 features", config: activation(maxout(2)), input: [10], expected: ok([5]) },
  { name: "maxout(4) on 4x4x8 gives 2 channels", config: activation(maxout(4)), input: [4, 4, 8], expected: ok([4, 4, 2]) },
  { name: "maxout(3) cannot split 10 features", config: activation(maxout(3)), input: [10], expected: err("NN3005"), says: ["its input is 10"] },
  { name: "maxout(0) is refused", config: activation(maxout(0)), input: [10], expected: err("NN3006") },
  { name: "maxout(2.5) is refused", config: activation(maxout(2.5)), input: [10], expected: err("NN3006") },

  // --- add (residual join) ------------------------------------------------------------
  { name: "add of two 8x8x16 branches", config: add, input: [[8, 8, 16], [8, 8, 16]], expected: ok([8, 8, 16]) },
  { name: "add of two 10-feature branches", config: add, input: [[10], [10]], expected: ok([10]) },
  { name: "add of three 10-feature branches", config: add, input: [[10], [10], [10]], expected: ok([10]) },
  { name: "add of two 4x16 branches", config: add, input: [[4, 16], [4, 16]], expected: ok([4, 16]) },
  { name: "add of two 1x1x1 branches", config: add, input: [[1, 1, 1], [1, 1, 1]], expected: ok([1, 1, 1]) },
  {
    name: "add of 16x16x128 and 32x32x64 branches is refused",
    config: add,
    input: [[16, 16, 128], [32, 32, 64]],
    expected: err("NN3004"),
    says: ["16x16x128", "32x32x64", "`residual project"],
  },
  { name: "add of 10, 10 and 12 feature branches is refused", config: add, input: [[10], [10], [12]], expected: err("NN3004"), says: ["10", "12"] },
  { name: "add of 8x8x16 and 8x8x1 branches is refused", config: add, input: [[8, 8, 16], [8, 8, 1]], expected: err("NN3004"), tfjsDiffers: TFJS_BROADCASTS },
  { name: "add of 8 features and a 4x4x8 image is refused", config: add, input: [[8], [4, 4, 8]], expected: err("NN3004"), tfjsDiffers: TFJS_BROADCASTS },

  // --- merges (issue 14) ---------------------------------------------------------------
  { name: "concat of 28x28x64 and 28x28x32 gives 96 channels", config: concat, input: [[28, 28, 64], [28, 28, 32]], expected: ok([28, 28, 96]) },
  { name: "concat of four Inception branches", config: concat, input: [[28, 28, 64], [28, 28, 128], [28, 28, 32], [28, 28, 32]], expected: ok([28, 28, 256]) },
  { name: "concat of two vectors", config: concat, input: [[10], [6]], expected: ok([16]) },
  { name: "concat of 28x28x8 and 14x14x8 is refused on the height", config: concat, input: [[28, 28, 8], [14, 14, 8]], expected: err("NN3017"), says: ["height", "28x28x8", "14x14x8"] },
  { name: "concat of 8x8x4 and 8x9x4 is refused on the width", config: concat, input: [[8, 8, 4], [8, 9, 4]], expected: err("NN3017"), says: ["width"] },
  { name: "concat of a vector and an image is refused", config: concat, input: [[8], [4, 4, 8]], expected: err("NN3017"), says: ["rank"] },
  { name: "multiply of two 8x8x16 tensors", config: multiply, input: [[8, 8, 16], [8, 8, 16]], expected: ok([8, 8, 16]) },
  { name: "multiply of 8x8x16 by a 1x1x16 gate broadcasts (squeeze-and-excitation)", config: multiply, input: [[8, 8, 16], [1, 1, 16]], expected: ok([8, 8, 16]) },
  { name: "multiply of 8x8x16 by a 1x1x8 gate is refused on the channels", config: multiply, input: [[8, 8, 16], [1, 1, 8]], expected: err("NN3017"), says: ["channels", "1x1x8"] },
  { name: "multiply of a vector and an image is refused", config: multiply, input: [[16], [8, 8, 16]], expected: err("NN3017"), tfjsDiffers: "TF.js's Multiply broadcasts a missing leading axis; nnc asks for the same rank (reshape 1x1xC)" },

  // --- grouped, depthwise, separable and transposed convolutions ------------------------
  { name: "conv 3x3x128 groups 32 on 56x56x128 (ResNeXt)", config: grouped(3, 128, 32, { padding: "same" }), input: [56, 56, 128], expected: ok([56, 56, 128], 3 * 3 * 4 * 128 + 128) },
  { name: "conv 1x1x8 groups 2 stride 2 on 9x9x4", config: grouped(1, 8, 2, { stride: 2 }), input: [9, 9, 4], expected: ok([5, 5, 8], 1 * 1 * 2 * 8 + 8) },
  { name: "conv 3x3x8 groups 3 on 6 channels does not divide the filters", config: grouped(3, 8, 3, { padding: "same" }), input: [6, 6, 6], expected: err("NN3005"), says: ["8 filters"] },
  { name: "conv 3x3x6 groups 4 on 6 channels does not divide the channels", config: grouped(3, 8, 4, { padding: "same" }), input: [6, 6, 6], expected: err("NN3005"), says: ["6 channels"] },
  { name: "depthwise 3x3 same keeps 14x14x32", config: depthwise(3, { padding: "same", useBias: false }), input: [14, 14, 32], expected: ok([14, 14, 32], 288) },
  { name: "depthwise 3x3 stride 2 same halves 112x112x64", config: depthwise(3, { stride: 2, padding: "same" }), input: [112, 112, 64], expected: ok([56, 56, 64], 576 + 64) },
  { name: "depthwise 3x3 multiplier 2 valid on 8x8x3", config: depthwise(3, { multiplier: 2 }), input: [8, 8, 3], expected: ok([6, 6, 6], 54 + 6) },
  { name: "depthwise 5x5 valid on 4x4 does not fit", config: depthwise(5), input: [4, 4, 3], expected: err("NN3002") },
  { name: "depthwise 3x3 full grows 6x6 to 8x8", config: depthwise(3, { padding: "full" }), input: [6, 6, 2], expected: ok([8, 8, 2], 18 + 2) },
  { name: "depthwise on a vector needs an image", config: depthwise(3), input: [64], expected: err("NN3001") },
  { name: "separable 3x3x64 same on 28x28x32", config: separable(3, 64, { padding: "same" }), input: [28, 28, 32], expected: ok([28, 28, 64], 288 + 32 * 64 + 64) },
  { name: "separable 3x3x16 multiplier 2 stride 2 valid on 9x9x4", config: separable(3, 16, { multiplier: 2, stride: 2 }), input: [9, 9, 4], expected: ok([4, 4, 16], 72 + 8 * 16 + 16) },
  { name: "upconv 2x2x64 stride 2 same doubles 14x14", config: upconv(2, 64, { stride: 2, padding: "same" }), input: [14, 14, 128], expected: ok([28, 28, 64], 4 * 128 * 64 + 64) },
  { name: "upconv 3x3x8 stride 2 valid on 7x7 gives 15x15 ((n−1)·s + k)", config: upconv(3, 8, { stride: 2 }), input: [7, 7, 4], expected: ok([15, 15, 8], 9 * 4 * 8 + 8) },
  { name: "upconv 1x1x8 stride 2 valid on 5x5 gives 10x10 (n·s when k < s)", config: upconv(1, 8, { stride: 2 }), input: [5, 5, 4], expected: ok([10, 10, 8], 4 * 8 + 8) },
  { name: "upconv 3x3x4 stride 1 valid grows 5x5 to 7x7", config: upconv(3, 4), input: [5, 5, 2], expected: ok([7, 7, 4], 9 * 2 * 4 + 4) },

  // --- upsampling, padding, cropping ------------------------------------------------------
  { name: "upsample 2 doubles 7x7x16", config: upsample(2), input: [7, 7, 16], expected: ok([14, 14, 16]) },
  { name: "upsample 2x3 bilinear on 4x5x2", config: upsample([2, 3], "bilinear"), input: [4, 5, 2], expected: ok([8, 15, 2]) },
  { name: "upsample on a vector needs an image", config: upsample(2), input: [10], expected: err("NN3001") },
  { name: "pad 1 grows 28x28 to 30x30", config: pad([1, 1, 1, 1]), input: [28, 28, 3], expected: ok([30, 30, 3]) },
  { name: "pad 0x1x0x1 adds a row below and a column right (Keras's MobileNet)", config: pad([0, 1, 0, 1]), input: [224, 224, 3], expected: ok([225, 225, 3]) },
  { name: "pad channels 16 appends zero channels (ResNet option A)", config: pad([0, 0, 0, 0], 16), input: [16, 16, 16], expected: ok([16, 16, 32]) },
  { name: "pad 2 channels 4 pads both", config: pad([2, 2, 2, 2], 4), input: [4, 4, 4], expected: ok([8, 8, 8]) },
  { name: "crop 1 shrinks 30x30 to 28x28", config: crop([1, 1, 1, 1]), input: [30, 30, 3], expected: ok([28, 28, 3]) },
  { name: "crop 0x1x2x0 takes a row and two columns off", config: crop([0, 1, 2, 0]), input: [8, 8, 1], expected: ok([7, 6, 1]) },
  { name: "crop 2 leaves nothing of 4x4", config: crop([2, 2, 2, 2]), input: [4, 4, 1], expected: err("NN3002"), says: ["4x4"] },

  // --- activations of today's papers -----------------------------------------------------
  { name: "relu6 keeps the shape", config: activation(act("relu6")), input: [4, 4, 8], expected: ok([4, 4, 8]) },
  { name: "swish keeps the shape", config: activation(act("swish")), input: [10], expected: ok([10]) },
  { name: "gelu keeps the shape", config: activation(act("gelu")), input: [10], expected: ok([10]) },
  { name: "hard_sigmoid keeps the shape", config: activation(act("hard_sigmoid")), input: [3, 3, 2], expected: ok([3, 3, 2]) },
  { name: "hard_swish keeps the shape", config: activation(act("hard_swish")), input: [3, 3, 2], expected: ok([3, 3, 2]) },

  // --- sequences (length x channels): 1-D windows ---------------------------------------
  { name: "conv 5x32 same keeps a 100x8 sequence's length", config: conv1d(5, 32, { padding: "same" }), input: [100, 8], expected: ok([100, 32], 5 * 8 * 32 + 32) },
  { name: "conv 3x16 stride 2 valid on 11x4 gives 5x16", config: conv1d(3, 16, { stride: 2 }), input: [11, 4], expected: ok([5, 16], 3 * 4 * 16 + 16) },
  { name: "conv 3x16 stride 2 valid on 10x4 drops the last position", config: conv1d(3, 16, { stride: 2 }), input: [10, 4], expected: ok([4, 16], 3 * 4 * 16 + 16), warning: "NN3101", says: ["position"] },
  { name: "conv 7x8 valid does not fit a 5x4 sequence", config: conv1d(7, 8), input: [5, 4], expected: err("NN3002"), says: ["7 positions"] },
  { name: "conv 3x8 dilation 2 on a sequence is refused", config: conv1d(3, 8, { dilation: 2 }), input: [20, 4], expected: err("NN3007"), tfjsDiffers: "TF.js builds a dilated conv1d, but computes no gradient for it" },
  { name: "conv 3x8 groups 2 on a sequence is refused", config: { ...conv1d(3, 8), groups: 2 } as LayerConfig, input: [20, 4], expected: err("NN3007"), tfjsDiffers: "TF.js's conv1d has no groups; nnc's grouped layer is 2-D" },
  { name: "pool 2 halves a 50x16 sequence", config: pool1d(2), input: [50, 16], expected: ok([25, 16]) },
  { name: "pool avg 3 stride 1 same keeps a 9x2 sequence", config: pool1d(3, { mode: "avg", stride: 1, padding: "same" }), input: [9, 2], expected: ok([9, 2]) },
  { name: "global maxpool of a 12x32 sequence gives 32", config: globalPool("max"), input: [12, 32], expected: ok([32]) },
  { name: "global avgpool of a 12x32 sequence gives 32", config: globalPool("avg"), input: [12, 32], expected: ok([32]) },
];
