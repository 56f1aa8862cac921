/**
 * Layers TensorFlow.js lacks, and the one place that maps the spec's activations onto
 * TensorFlow.js layers.
 *
 * Every custom layer is a `tf.layers.Layer` subclass registered with
 * `tf.serialization.registerClass` under a `Nnc…` class name, so a model.json that uses it
 * loads back with `tf.loadLayersModel` in any process that has imported this module
 * (`io.ts` imports it for that reason).
 *
 * Shapes are channels-last throughout, as the compiler's shape rules assume.
 */

import * as tf from "@tensorflow/tfjs";
import "./backends/cpu/kernels.js";
import type { ActivationConfig } from "./config.js";

export type { ActivationConfig };

/** The arguments every TF.js layer takes (`LayerArgs` is not exported by name). */
type BaseLayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = tf.Shape;
type ConfigDict = tf.serialization.ConfigDict;

function oneShape(inputShape: Shape | Shape[]): Shape {
  // A single-input layer gets either a shape or a list holding one shape.
  if (inputShape.length > 0 && Array.isArray(inputShape[0])) {
    const shapes = inputShape as Shape[];
    if (shapes.length !== 1) throw new Error(`expected one input, got ${shapes.length}`);
    return shapes[0]!;
  }
  return inputShape as Shape;
}

function oneTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(inputs)) {
    if (inputs.length !== 1) throw new Error(`expected one input tensor, got ${inputs.length}`);
    return inputs[0]!;
  }
  return inputs;
}

function positiveInteger(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new Error(`${what} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------
// SeparableConv2D's depth multiplier

/**
 * TF.js (4.22) leaves `depth_multiplier` out of the config a SeparableConv2D saves, so a model
 * with `separable … multiplier 2` saved as model.json loads back with a multiplier of 1: a
 * depthwise kernel [kh, kw, C, 1] where the weights hold [kh, kw, C, 2], and TF.js refuses them
 * ("Shape mismatch"). Two fixes, made once when this module loads:
 *
 * - SeparableConv2D's getConfig writes `depthMultiplier`, so models saved from now on load in any
 *   TF.js (and copies made from a layer's config, as `inspect.ts` makes, have the right shape);
 * - a model's loadWeights, before TF.js sets the weights, gives a SeparableConv2D whose saved
 *   depthwise kernel says another multiplier (the fourth axis) that multiplier: its depthwise and
 *   pointwise kernels are made again in the saved shapes. That loads a model.json saved before
 *   the first fix. The layer's output shape does not depend on the multiplier.
 */
interface SeparableInternals {
  depthMultiplier: number;
  depthwiseKernel?: LayerVariableInternals;
  pointwiseKernel?: LayerVariableInternals;
}

/** The fields of TF.js's (unexported) LayerVariable this fix touches. */
interface LayerVariableInternals {
  originalName: string;
  shape: Shape;
  dtype: tf.DataType;
  val: tf.Variable;
}

type SeparableClass = { prototype: tf.layers.Layer & { getConfig(): ConfigDict } };

function separableClass(): SeparableClass | undefined {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap["SeparableConv2D"] as unknown;
  return Array.isArray(entry) ? (entry[0] as SeparableClass) : undefined;
}

/** Gives `variable` a new value of `shape` (zeros: loadWeights sets it next). */
function remakeVariable(variable: LayerVariableInternals, shape: number[]): void {
  const old = variable.val;
  const zeros = tf.zeros(shape, variable.dtype);
  old.dispose();
  variable.val = tf.variable(zeros, old.trainable, old.name, variable.dtype);
  zeros.dispose();
  variable.shape = shape;
}

/** Sets a SeparableConv2D's multiplier from the saved depthwise kernel among `weights`, where they differ. */
export function adoptSavedDepthMultiplier(layer: tf.layers.Layer, weights: tf.NamedTensorMap): boolean {
  if (layer.getClassName() !== "SeparableConv2D") return false;
  const l = layer as unknown as SeparableInternals;
  const depthwise = l.depthwiseKernel;
  const pointwise = l.pointwiseKernel;
  if (!depthwise || !pointwise) return false;
  const saved = weights[depthwise.originalName];
  if (!saved || saved.rank !== 4 || depthwise.shape.length !== 4) return false;
  const [kh, kw, c, m] = saved.shape as [number, number, number, number];
  const [dh, dw, dc, dm] = depthwise.shape as [number, number, number, number];
  if (m === dm || kh !== dh || kw !== dw || c !== dc || m < 1) return false;
  const filters = pointwise.shape[3] as number;
  remakeVariable(depthwise, [kh, kw, c, m]);
  remakeVariable(pointwise, [1, 1, c * m, filters]);
  l.depthMultiplier = m;
  return true;
}

function fixSeparableConv2D(): void {
  const cls = separableClass();
  if (!cls || Object.hasOwn(cls.prototype, "getConfig")) return;
  const inherited = cls.prototype.getConfig;
  Object.defineProperty(cls.prototype, "getConfig", {
    value: function getConfig(this: tf.layers.Layer & SeparableInternals): ConfigDict {
      return { ...inherited.call(this), depthMultiplier: this.depthMultiplier };
    },
    writable: true,
    configurable: true,
  });
  const model = tf.LayersModel.prototype as unknown as { loadWeights(weights: tf.NamedTensorMap, strict?: boolean): void; layers: tf.layers.Layer[] };
  const loadWeights = model.loadWeights;
  Object.defineProperty(tf.LayersModel.prototype, "loadWeights", {
    value: function (this: typeof model, weights: tf.NamedTensorMap, strict?: boolean): void {
      for (const layer of this.layers) adoptSavedDepthMultiplier(layer, weights);
      loadWeights.call(this, weights, strict);
    },
    writable: true,
    configurable: true,
  });
}
fixSeparableConv2D();

// ---------------------------------------------------------------------------------------
// Maxout

export interface MaxoutArgs extends BaseLayerArgs {
  /** Size of each group of consecutive units of the last axis (k ≥ 2 in the spec). */
  k: number;
}

/**
 * Maxout (Goodfellow et al. 2013): the maximum over groups of `k` consecutive units of the
 * last axis, so a last dimension C becomes C/k. No weights.
 */
export class NncMaxout extends tf.layers.Layer {
  static className = "NncMaxout";
  readonly k: number;

  constructor(args: MaxoutArgs) {
    super(args);
    this.k = positiveInteger(args.k, "maxout's k");
  }

  private channels(inputShape: Shape): number {
    const c = inputShape[inputShape.length - 1];
    if (inputShape.length < 2 || c == null) {
      throw new Error(`${this.name}: maxout needs an input of rank ≥ 2 with a known last dimension, got [${inputShape.join(", ")}]`);
    }
    if (c % this.k !== 0) {
      throw new Error(`${this.name}: maxout(${this.k}) needs a last dimension divisible by ${this.k}, got ${c}`);
    }
    return c;
  }

  override build(inputShape: Shape | Shape[]): void {
    this.channels(oneShape(inputShape));
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = oneShape(inputShape);
    const c = this.channels(shape);
    return [...shape.slice(0, -1), c / this.k];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      const c = this.channels(x.shape);
      const grouped = tf.reshape(x, [...x.shape.slice(0, -1), c / this.k, this.k]);
      return tf.max(grouped, -1);
    });
  }

  override getConfig(): ConfigDict {
    return { ...super.getConfig(), k: this.k };
  }
}
tf.serialization.registerClass(NncMaxout);

// ---------------------------------------------------------------------------------------
// ELU with a slope

export interface EluArgs extends BaseLayerArgs {
  /** Scale of the negative part, α(eˣ − 1) for x < 0. */
  alpha: number;
}

/**
 * ELU with any α. TF.js's own `tf.layers.elu` throws NotImplementedError for α ≠ 1, so
 * `activationLayer` uses this one then: relu(x) + α·elu(min(x, 0)).
 */
export class NncElu extends tf.layers.Layer {
  static className = "NncElu";
  readonly alpha: number;

  constructor(args: EluArgs) {
    super(args);
    if (typeof args.alpha !== "number" || !Number.isFinite(args.alpha)) throw new Error(`elu's alpha must be a number, got ${String(args.alpha)}`);
    this.alpha = args.alpha;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return oneShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      return tf.add(tf.relu(x), tf.mul(tf.elu(tf.minimum(x, 0)), this.alpha));
    });
  }

  override getConfig(): ConfigDict {
    return { ...super.getConfig(), alpha: this.alpha };
  }
}
tf.serialization.registerClass(NncElu);

// ---------------------------------------------------------------------------------------
// Group normalisation

export interface GroupNormArgs extends BaseLayerArgs {
  /** Number of groups the channels (last axis) are split into; must divide it. */
  groups: number;
  /** Added to the variance before the square root. Default 1e-5 (as in Wu & He). */
  epsilon?: number;
}

/**
 * Group normalisation (Wu & He 2018), channels-last: the channels are split into `groups`
 * groups of C/G consecutive channels; each sample's group is normalised by the mean and
 * (biased) variance over all its positions and its C/G channels — (H, W, C/G) for images,
 * (C/G) for rank-2 [n, C] inputs — then scaled by gamma and shifted by beta, one each per
 * channel (2C trainable weights, initialised to ones and zeros). Same in training and
 * inference; no moving statistics.
 */
export class NncGroupNorm extends tf.layers.Layer {
  static className = "NncGroupNorm";
  readonly groups: number;
  readonly epsilon: number;
  private gamma: tf.LayerVariable | null = null;
  private beta: tf.LayerVariable | null = null;

  constructor(args: GroupNormArgs) {
    super(args);
    this.groups = positiveInteger(args.groups, "groupnorm's groups");
    this.epsilon = args.epsilon ?? 1e-5;
    if (!(this.epsilon >= 0)) throw new Error(`groupnorm's epsilon must be ≥ 0, got ${this.epsilon}`);
  }

  private channels(inputShape: Shape): number {
    const c = inputShape[inputShape.length - 1];
    if (inputShape.length < 2 || c == null) {
      throw new Error(`${this.name}: groupnorm needs an input of rank ≥ 2 with a known last dimension, got [${inputShape.join(", ")}]`);
    }
    if (c % this.groups !== 0) {
      throw new Error(`${this.name}: groupnorm with ${this.groups} groups needs a channel count divisible by ${this.groups}, got ${c}`);
    }
    return c;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = oneShape(inputShape);
    const c = this.channels(shape);
    this.gamma = this.addWeight("gamma", [c], "float32", tf.initializers.ones(), undefined, true);
    this.beta = this.addWeight("beta", [c], "float32", tf.initializers.zeros(), undefined, true);
    this.inputSpec = [new tf.InputSpec({ ndim: shape.length, axes: { [shape.length - 1]: c } })];
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return oneShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      if (this.gamma === null || this.beta === null) throw new Error(`${this.name}: call() before build()`);
      const rank = x.rank;
      const c = this.channels(x.shape);
      // [n, ...spatial, C] → [n, ...spatial, G, C/G]; reduce over spatial and C/G.
      const grouped = tf.reshape(x, [...x.shape.slice(0, -1), this.groups, c / this.groups]);
      const axes: number[] = [];
      for (let a = 1; a < rank - 1; a++) axes.push(a);
      axes.push(rank);
      const { mean, variance } = tf.moments(grouped, axes, true);
      const normalised = tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, this.epsilon)));
      const y = tf.reshape(normalised, x.shape);
      return tf.add(tf.mul(y, this.gamma.read()), this.beta.read());
    });
  }

  override getConfig(): ConfigDict {
    return { ...super.getConfig(), groups: this.groups, epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(NncGroupNorm);

// ---------------------------------------------------------------------------------------
// Dilated convolution

/** The activations TF.js layers take by name, as functions (softmax over the last axis). */
const ACTIVATION_FNS: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  sigmoid: (x) => tf.sigmoid(x),
  tanh: (x) => tf.tanh(x),
  softplus: (x) => tf.softplus(x),
  selu: (x) => tf.selu(x),
  softmax: (x) => tf.softmax(x, -1),
  relu6: (x) => tf.relu6(x),
  // TF.js's own: x·sigmoid(x), and GELU in its exact erf form.
  swish: (x) => tf.mul(x, tf.sigmoid(x)),
  gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.div(x, Math.SQRT2)), 1)),
};

function knownActivation(name: string | undefined, layer: string): string {
  const a = name ?? "linear";
  if (!ACTIVATION_FNS[a]) throw new Error(`${layer}: unknown activation ${a}`);
  return a;
}

/** What nnc's own 2-D convolutions take, as `tf.layers.conv2d` does. */
interface OwnConv2DArgs extends BaseLayerArgs {
  filters: number;
  kernelSize: [number, number];
  strides: [number, number];
  padding: "valid" | "same";
  useBias?: boolean;
  /** A TF.js built-in activation name (`builtinActivation`). Default linear. */
  activation?: string;
  kernelInitializer?: ReturnType<typeof tf.initializers.glorotUniform>;
  biasInitializer?: ReturnType<typeof tf.initializers.zeros>;
  kernelRegularizer?: ReturnType<typeof tf.regularizers.l1l2>;
}

/**
 * What nnc's 2-D convolutions share (a kernel [kh, kw, C/groups, F] named `kernel`, a bias
 * `bias`, an inline activation, the output shape of a `valid`/`same` window with a dilation):
 * each says how many input channels a filter sees and how it convolves. Initialisers and
 * regularisers are not serialised: a loaded model has its trained weights.
 */
abstract class NncOwnConv2D extends tf.layers.Layer {
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: "valid" | "same";
  readonly useBias: boolean;
  readonly activationName: string;
  private readonly kernelInit: ReturnType<typeof tf.initializers.glorotUniform>;
  private readonly biasInit: ReturnType<typeof tf.initializers.zeros>;
  private readonly kernelReg: ReturnType<typeof tf.regularizers.l1l2> | undefined;
  protected kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: OwnConv2DArgs, what: string) {
    super(args);
    this.filters = positiveInteger(args.filters, `${what}'s filters`);
    this.kernelSize = [positiveInteger(args.kernelSize[0], `${what}'s kernel height`), positiveInteger(args.kernelSize[1], `${what}'s kernel width`)];
    this.strides = [positiveInteger(args.strides[0], `${what}'s stride`), positiveInteger(args.strides[1], `${what}'s stride`)];
    if (args.padding !== "valid" && args.padding !== "same") throw new Error(`${this.name}: padding must be valid or same, got ${String(args.padding)}`);
    this.padding = args.padding;
    this.useBias = args.useBias ?? true;
    this.activationName = knownActivation(args.activation, this.name);
    this.kernelInit = args.kernelInitializer ?? tf.initializers.glorotUniform({});
    this.biasInit = args.biasInitializer ?? tf.initializers.zeros();
    this.kernelReg = args.kernelRegularizer;
  }

  /** The input channels one filter sees (all of them, or a group's), checking the input shape. */
  protected abstract channelsPerFilter(shape: Shape): number;
  /** The dilation along height and width (1 where none). */
  protected abstract dilation(): [number, number];
  /** The convolution of x by the kernel, before bias and activation. */
  protected abstract convolve(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor;
  /** What the subclass adds to the config. */
  protected abstract ownConfig(): ConfigDict;

  override build(inputShape: Shape | Shape[]): void {
    const shape = oneShape(inputShape);
    const perFilter = this.channelsPerFilter(shape);
    this.kernel = this.addWeight("kernel", [this.kernelSize[0], this.kernelSize[1], perFilter, this.filters], "float32", this.kernelInit, this.kernelReg, true);
    if (this.useBias) this.bias = this.addWeight("bias", [this.filters], "float32", this.biasInit, undefined, true);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = oneShape(inputShape);
    this.channelsPerFilter(shape);
    const [dh, dw] = this.dilation();
    const out = (size: number | null | undefined, k: number, s: number, d: number): number | null => {
      if (size == null) return null;
      return this.padding === "same" ? Math.ceil(size / s) : Math.ceil((size - (d * (k - 1) + 1) + 1) / s);
    };
    return [shape[0] ?? null, out(shape[1], this.kernelSize[0], this.strides[0], dh), out(shape[2], this.kernelSize[1], this.strides[1], dw), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      if (this.kernel === null) throw new Error(`${this.name}: call() before build()`);
      let y = this.convolve(oneTensor(inputs) as tf.Tensor4D, this.kernel.read() as tf.Tensor4D);
      if (this.bias) y = tf.add(y, this.bias.read());
      return ACTIVATION_FNS[this.activationName]!(y);
    });
  }

  override getConfig(): ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      ...this.ownConfig(),
      useBias: this.useBias,
      activation: this.activationName,
    };
  }
}

export interface DilatedConv2DArgs extends OwnConv2DArgs {
  dilationRate: [number, number];
}

/**
 * A 2-D convolution with dilation > 1 that can be trained: TF.js computes no gradient for
 * `conv2d` with dilations ("not yet supported in gradients"). The kernel is spread out by
 * inserting d−1 zero rows/columns between its taps (concat, reshape and slice, all
 * differentiable) and convolved with dilation 1 — the same function as the dilated
 * convolution, `same` padding included, since both use the effective size d·(k−1)+1. Its
 * weights are a plain KxK kernel (same names and count as `tf.layers.conv2d`).
 */
export class NncDilatedConv2D extends NncOwnConv2D {
  static className = "NncDilatedConv2D";
  readonly dilationRate: [number, number];

  constructor(args: DilatedConv2DArgs) {
    super(args, "conv");
    this.dilationRate = args.dilationRate;
  }

  protected channelsPerFilter(shape: Shape): number {
    const cin = shape[shape.length - 1];
    if (shape.length !== 4 || cin == null) throw new Error(`${this.name}: a dilated conv needs NHWC input with known channels, got [${shape.join(", ")}]`);
    return cin;
  }

  protected dilation(): [number, number] {
    return this.dilationRate;
  }

  private effective(k: number, d: number): number {
    return d * (k - 1) + 1;
  }

  /** [kh, kw, ci, co] → [d·(kh−1)+1, d·(kw−1)+1, ci, co] with zeros between the taps. */
  private spread(kernel: tf.Tensor4D): tf.Tensor4D {
    let k: tf.Tensor4D = kernel;
    for (const axis of [0, 1] as const) {
      const d = this.dilationRate[axis];
      if (d <= 1) continue;
      const size = k.shape[axis];
      const expanded = tf.expandDims(k, axis + 1); // [.., size, 1, ..]
      const zerosShape = [...expanded.shape];
      zerosShape[axis + 1] = d - 1;
      const joined = tf.concat([expanded, tf.zeros(zerosShape)], axis + 1); // [.., size, d, ..]
      const merged = [...k.shape] as [number, number, number, number];
      merged[axis] = size * d;
      const flat = tf.reshape(joined, merged) as tf.Tensor4D;
      const begin: [number, number, number, number] = [0, 0, 0, 0];
      const keep = [...merged] as [number, number, number, number];
      keep[axis] = this.effective(size, d);
      k = tf.slice(flat, begin, keep);
    }
    return k;
  }

  protected convolve(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor {
    return tf.conv2d(x, this.spread(kernel), this.strides, this.padding);
  }

  protected ownConfig(): ConfigDict {
    return { dilationRate: this.dilationRate };
  }
}
tf.serialization.registerClass(NncDilatedConv2D);

export function dilatedConv2d(args: DilatedConv2DArgs): NncDilatedConv2D {
  return new NncDilatedConv2D(args);
}

// ---------------------------------------------------------------------------------------
// Grouped convolution

export interface GroupedConv2DArgs extends OwnConv2DArgs {
  /** Groups the input channels and the filters are split into; must divide both. */
  groups: number;
}

/**
 * Keras's `Conv2D` with `groups` (ResNeXt, ShuffleNet): the C input channels are split into
 * G groups of C/G consecutive channels and the filters into G groups of F/G; group g's filters
 * see only group g's channels, and the outputs are concatenated in group order. The weights
 * are Keras's: `kernel` [kh, kw, C/G, F] (group g's filters are its columns g·F/G …) and
 * `bias` [F], so kh·kw·(C/G)·F + F parameters. One depthwise convolution (multiplier F/G)
 * when every group has one input channel, else a split, G convolutions and a concat.
 */
export class NncGroupedConv2D extends NncOwnConv2D {
  static className = "NncGroupedConv2D";
  readonly groups: number;

  constructor(args: GroupedConv2DArgs) {
    super(args, "grouped conv");
    this.groups = positiveInteger(args.groups, "grouped conv's groups");
    if (this.filters % this.groups !== 0) throw new Error(`${this.name}: a grouped conv with ${this.groups} groups needs filters divisible by ${this.groups}, got ${this.filters}`);
  }

  protected channelsPerFilter(shape: Shape): number {
    const c = shape[shape.length - 1];
    if (shape.length !== 4 || c == null) throw new Error(`${this.name}: a grouped conv needs NHWC input with known channels, got [${shape.join(", ")}]`);
    if (c % this.groups !== 0) throw new Error(`${this.name}: a grouped conv with ${this.groups} groups needs input channels divisible by ${this.groups}, got ${c}`);
    return c / this.groups;
  }

  override build(inputShape: Shape | Shape[]): void {
    super.build(inputShape);
    const c = oneShape(inputShape)[3]!;
    this.inputSpec = [new tf.InputSpec({ ndim: 4, axes: { [3]: c } })];
  }

  protected dilation(): [number, number] {
    return [1, 1];
  }

  protected convolve(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor {
    const [kh, kw, perGroup] = kernel.shape;
    const g = this.groups;
    if (g === 1) return tf.conv2d(x, kernel, this.strides, this.padding);
    if (perGroup === 1) {
      // One channel per group: a depthwise convolution with F/G filters per channel, whose
      // filter [kh, kw, C, F/G] is the kernel [kh, kw, 1, F] as it lies in memory.
      return tf.depthwiseConv2d(x, tf.reshape(kernel, [kh, kw, g, this.filters / g]) as tf.Tensor4D, this.strides, this.padding);
    }
    const xs = tf.split<tf.Tensor4D>(x, g, 3);
    const ks = tf.split<tf.Tensor4D>(kernel, g, 3);
    return tf.concat(
      xs.map((xi, i) => tf.conv2d(xi, ks[i]!, this.strides, this.padding)),
      3,
    );
  }

  protected ownConfig(): ConfigDict {
    return { groups: this.groups };
  }
}
tf.serialization.registerClass(NncGroupedConv2D);

export function groupedConv2d(args: GroupedConv2DArgs): NncGroupedConv2D {
  return new NncGroupedConv2D(args);
}

// ---------------------------------------------------------------------------------------
// Channel padding

export interface ChannelPadArgs extends BaseLayerArgs {
  /** Zero channels appended after the input's last channel. */
  channels: number;
}

/**
 * Appends `channels` zero channels on the last axis: [..., C] → [..., C + channels]. The
 * parameter-free shortcut of ResNet's option A and PyramidNet, where a residual block widens
 * its input. The gradient of the input is the first C channels of the output's.
 */
export class NncChannelPad extends tf.layers.Layer {
  static className = "NncChannelPad";
  readonly channels: number;

  constructor(args: ChannelPadArgs) {
    super(args);
    this.channels = positiveInteger(args.channels, "channel padding's channels");
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = oneShape(inputShape);
    const c = shape[shape.length - 1];
    if (shape.length < 2) throw new Error(`${this.name}: channel padding needs an input of rank ≥ 2, got [${shape.join(", ")}]`);
    return [...shape.slice(0, -1), c == null ? null : c + this.channels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      const paddings = x.shape.map((_, i): [number, number] => (i === x.rank - 1 ? [0, this.channels] : [0, 0]));
      return tf.pad(x, paddings);
    });
  }

  override getConfig(): ConfigDict {
    return { ...super.getConfig(), channels: this.channels };
  }
}
tf.serialization.registerClass(NncChannelPad);

// ---------------------------------------------------------------------------------------
// Hard sigmoid and hard swish

export type HardActivationKind = "hard_sigmoid" | "hard_swish";

export interface HardActivationArgs extends BaseLayerArgs {
  kind: HardActivationKind;
}

/**
 * MobileNetV3's hard sigmoid relu6(x + 3)/6 and hard swish x·relu6(x + 3)/6 — PyTorch's
 * Hardsigmoid/Hardswish and Keras 3's definitions. Not TF.js's `hardSigmoid`, which is the
 * Keras 2 clip(0.2x + 0.5, 0, 1).
 */
export class NncHardActivation extends tf.layers.Layer {
  static className = "NncHardActivation";
  readonly kind: HardActivationKind;

  constructor(args: HardActivationArgs) {
    super(args);
    // TF.js's loader turns snake_case string values of a saved config into camelCase.
    const kind = ({ hardSigmoid: "hard_sigmoid", hardSwish: "hard_swish" } as Record<string, HardActivationKind>)[args.kind] ?? args.kind;
    if (kind !== "hard_sigmoid" && kind !== "hard_swish") throw new Error(`NncHardActivation's kind must be hard_sigmoid or hard_swish, got ${String(args.kind)}`);
    this.kind = kind;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return oneShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      const gate = tf.div(tf.relu6(tf.add(x, 3)), 6);
      return this.kind === "hard_swish" ? tf.mul(x, gate) : gate;
    });
  }

  override getConfig(): ConfigDict {
    return { ...super.getConfig(), kind: this.kind };
  }
}
tf.serialization.registerClass(NncHardActivation);


// ---------------------------------------------------------------------------------------
// Factories

/** Name and trainability, as generated code passes them to every factory. */
export interface CommonArgs {
  name?: string;
  /** False for a frozen layer. Default true. */
  trainable?: boolean;
}

function common(args: CommonArgs): CommonArgs {
  const out: CommonArgs = {};
  if (args.name !== undefined) out.name = args.name;
  if (args.trainable !== undefined) out.trainable = args.trainable;
  return out;
}

export function maxout(args: { k: number } & CommonArgs): NncMaxout {
  return new NncMaxout({ ...common(args), k: args.k });
}

export function channelPad(args: { channels: number } & CommonArgs): NncChannelPad {
  return new NncChannelPad({ ...common(args), channels: args.channels });
}

export function groupNorm(args: { groups: number; epsilon?: number } & CommonArgs): NncGroupNorm {
  return new NncGroupNorm({ ...common(args), groups: args.groups, ...(args.epsilon === undefined ? {} : { epsilon: args.epsilon }) });
}

/** TF.js `sharedAxes` for a channel-wise slope: every non-batch axis but the last (batch = 0). */
function sharedAxesFor(rankWithBatch: number): number[] {
  const axes: number[] = [];
  for (let a = 1; a < rankWithBatch - 1; a++) axes.push(a);
  return axes;
}

/**
 * PReLU with one learnt slope per channel (the last axis), as the spec means it: a plain
 * `tf.layers.prelu` whose `sharedAxes` are every non-batch axis but the last. Without them
 * TF.js learns one slope per element (H·W·C of them) and fixes the spatial size.
 *
 * `inputRank` is the rank of one sample, batch axis excluded (the compiler's shapes): 1 for
 * a vector [C], 3 for an image [H, W, C]. Left out, the axes are taken from the input shape
 * when the layer is built. Either way the saved config is a standard Keras PReLU.
 */
export function channelwisePrelu(args: { inputRank?: number } & CommonArgs = {}): tf.layers.Layer {
  if (args.inputRank !== undefined) {
    const axes = sharedAxesFor(positiveInteger(args.inputRank, "channelwisePrelu's inputRank") + 1);
    return tf.layers.prelu({ ...common(args), ...(axes.length > 0 ? { sharedAxes: axes } : {}) });
  }
  const layer = tf.layers.prelu(common(args));
  const build = layer.build.bind(layer);
  layer.build = (inputShape: Shape | Shape[]): void => {
    const axes = sharedAxesFor(oneShape(inputShape).length);
    // PReLU reads its (TypeScript-private) sharedAxes in build() and writes them in getConfig().
    Reflect.set(layer, "sharedAxes", axes.length > 0 ? axes : null);
    build(inputShape);
  };
  return layer;
}

/**
 * The spec's activations that TF.js layers take by name as their `activation` option (dense,
 * conv, and nnc's convs), each with that name; the others are layers of their own
 * (`activationLayer`). GELU is TF.js's exact erf form; swish is x·sigmoid(x).
 */
export const BUILTIN_ACTIVATIONS: Readonly<Record<string, string>> = {
  relu: "relu",
  sigmoid: "sigmoid",
  tanh: "tanh",
  softplus: "softplus",
  selu: "selu",
  linear: "linear",
  softmax: "softmax",
  relu6: "relu6",
  swish: "swish",
  gelu: "gelu",
};

/** The TF.js built-in activation name for `spec`, or undefined where it needs a layer of its own. */
export function builtinActivation(spec: ActivationConfig | undefined): string | undefined {
  if (!spec) return undefined;
  return Object.hasOwn(BUILTIN_ACTIVATIONS, spec.name) ? BUILTIN_ACTIVATIONS[spec.name] : undefined;
}

/**
 * The TF.js layer for an activation of the spec. Softmax is over the last axis (TF.js's
 * softmax layer defaults to axis 1, right only for rank-2 inputs); PReLU is channel-wise;
 * ELU with α ≠ 1 and maxout are ours.
 */
export function activationLayer(spec: ActivationConfig, name?: string, trainable?: boolean): tf.layers.Layer {
  const args = common({ ...(name === undefined ? {} : { name }), ...(trainable === undefined ? {} : { trainable }) });
  switch (spec.name) {
    case "leaky_relu":
      return tf.layers.leakyReLU({ ...args, alpha: spec.alpha });
    case "elu":
      // tf.layers.elu rejects any α but 1.
      return spec.alpha === 1 ? tf.layers.elu(args) : new NncElu({ ...args, alpha: spec.alpha });
    case "softmax":
      return tf.layers.softmax({ ...args, axis: -1 });
    case "prelu":
      return channelwisePrelu(args);
    case "maxout":
      return maxout({ ...args, k: spec.k });
    case "hard_sigmoid":
    case "hard_swish":
      return new NncHardActivation({ ...args, kind: spec.name });
    case "relu":
    case "relu6":
    case "swish":
    case "gelu":
    case "selu":
    case "sigmoid":
    case "tanh":
    case "softplus":
    case "linear":
      return tf.layers.activation({ ...args, activation: spec.name });
  }
}
