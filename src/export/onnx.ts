/**
 * A trained model → ONNX, from model.json's topology and the weights' bytes alone (no
 * TensorFlow.js), written with `onnx-proto`.
 *
 * The graph keeps the spec's layout: its input is NHWC `[batch, H, W, C]` (a sequence NWC
 * `[batch, length, C]`, a vector `[batch, features]`) with a symbolic batch dimension, and so is
 * every output. Inside, a tensor is channels-last or channels-first: convolutions and pools need
 * channels-first (ONNX's NCHW, NCW for Conv1D and the 1-D pools),
 * so a Transpose is put before them only when the tensor is not already so, and back only where
 * a layer needs channels-last (flatten, reshape, dense, the output) — a flatten after a conv
 * therefore flattens in TF.js's order. Elementwise layers, normalisations, PReLU, softmax and
 * maxout work in either layout on the right axis.
 *
 * Opset 13 by default. With `opset` ≥ 17, layer normalisation is ONNX's LayerNormalization
 * (before, Reduce/Sub/Div/Sqrt); from 18 on, Reduce ops take their axes as an input. Newer ops
 * replace their compositions where the opset has them: HardSwish (14), Mish (18), Gelu (20).
 * Merges (Add, Multiply, Concatenate…) bring their inputs to one rank and layout and broadcast.
 */
import onnxProto from "onnx-proto";
import { ExportError, floatValues, type ModelFolder, type NormalizerFile } from "./model-folder.js";
import { readTopology, weightOf, type Topology, type TopologyLayer } from "./topology.js";

const { onnx } = onnxProto;

export const DEFAULT_OPSET = 13;
export const MIN_OPSET = 13;
/** The newest opset export writes (the op set it uses does not change after it). */
export const MAX_OPSET = 21;
/** What one ONNX file can hold (protobuf's 2 GB), less room for the graph. */
const MAX_ONNX_BYTES = 2 ** 31 - 64 * 2 ** 20;
/** The `producer_name` of every ONNX file nnc writes: `nnc export` overwrites only files that carry it. */
export const ONNX_PRODUCER = "nnc";

export interface OnnxOptions {
  /** ONNX opset (13 … 21). Default 13. */
  opset?: number;
  /**
   * Fold the run's normaliser (normalizer.json) into the graph as its first Sub/Div (or Mul),
   * so the model takes the inputs `nnc predict` takes. Default true; without one it changes nothing.
   */
  normalize?: boolean;
  /** nnc's version, written as the model's producer_version. */
  version?: string;
}

export interface OnnxResult {
  bytes: Uint8Array;
  opset: number;
  inputs: { name: string; shape: (number | string)[] }[];
  outputs: { name: string; shape: (number | string)[] }[];
  /** What happened to the run's normaliser. */
  normalizer: "folded" | "not folded" | "none";
  nodes: number;
  /** Class names (from data.json) recorded in the metadata. */
  classNames?: string[];
}

// ---------------------------------------------------------------------------------------
// Tensors and the graph

type Layout = "last" | "first";

/** A tensor of the graph: its logical shape (channels-last, batch left out) and how it is laid out. */
interface Value {
  name: string;
  shape: number[];
  layout: Layout;
}

const AttrType = onnx.AttributeProto.AttributeType;
const DataType = onnx.TensorProto.DataType;

type AttrValue = number | string | number[] | { floats: number[] } | { float: number };

/** The permutation from channels-last to channels-first for a tensor of `rank` axes (batch included): NHWC → NCHW, NWC → NCW. */
function toFirst(rank: number): number[] {
  return [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
}

/** The permutation back: NCHW → NHWC, NCW → NWC. */
function toLast(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
}

/** Values of an array of shape `shape` (row-major) with its axes permuted: out axis i is in axis perm[i]. */
export function permuteData(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const outShape = perm.map((p) => shape[p]!);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const index = new Array<number>(outShape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < index.length; i++) src += index[i]! * strides[perm[i]!]!;
    out[o] = data[src]!;
    for (let i = index.length - 1; i >= 0; i--) {
      if (++index[i]! < outShape[i]!) break;
      index[i] = 0;
    }
  }
  return out;
}

function attribute(name: string, value: AttrValue): onnxProto.onnx.IAttributeProto {
  if (typeof value === "string") return { name, type: AttrType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === "number") return { name, type: AttrType.INT, i: value };
  if (Array.isArray(value)) return { name, type: AttrType.INTS, ints: value };
  if ("float" in value) return { name, type: AttrType.FLOAT, f: value.float };
  return { name, type: AttrType.FLOATS, floats: value.floats };
}

class Graph {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly used = new Set<string>();
  /** value name → the same tensor in the other layout, made once. */
  private readonly converted = new Map<string, Value>();

  constructor(readonly opset: number) {}

  reserve(name: string): void {
    this.used.add(name);
  }

  fresh(wanted: string): string {
    let name = wanted;
    for (let i = 2; this.used.has(name); i++) name = `${wanted}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Adds a node; returns its (first) output's name, `output` when given. */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue>, base: string, output?: string): string {
    const out = output ?? this.fresh(base);
    this.nodes.push({ opType: op, input: inputs, output: [out], name: this.fresh(`${base}/${op}`), attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return out;
  }

  floats(base: string, data: Float32Array | number[], dims: number[]): string {
    const name = this.fresh(base);
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    const expected = dims.reduce((a, b) => a * b, 1);
    if (values.length !== expected) throw new Error(`export: ${name} has ${values.length} values for dims [${dims.join(", ")}]`);
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice() });
    return name;
  }

  int64s(base: string, data: number[]): string {
    const name = this.fresh(base);
    const values = BigInt64Array.from(data.map((d) => BigInt(d)));
    this.initializers.push({ name, dims: [data.length], dataType: DataType.INT64, rawData: new Uint8Array(values.buffer) });
    return name;
  }

  /** Drops the nodes and initializers no output needs (a Pad a max pool took over, say). */
  prune(outputs: string[]): void {
    const needed = new Set(outputs);
    const kept: onnxProto.onnx.INodeProto[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      if (!(n.output ?? []).some((o) => needed.has(o))) continue;
      kept.push(n);
      for (const input of n.input ?? []) needed.add(input);
    }
    this.nodes.splice(0, this.nodes.length, ...kept.reverse());
    const inits = this.initializers.filter((t) => needed.has(t.name!));
    this.initializers.splice(0, this.initializers.length, ...inits);
  }

  /** A Reduce* node over `axes` (an attribute before opset 18, an input from 18 on). */
  reduce(op: string, x: string, axes: number[], keepdims: boolean, base: string): string {
    if (this.opset >= 18) return this.node(op, [x, this.int64s(`${base}/axes`, axes)], { keepdims: keepdims ? 1 : 0 }, base);
    return this.node(op, [x], { axes, keepdims: keepdims ? 1 : 0 }, base);
  }

  /** `v` channels-first (NCHW, or NCW for a sequence) when it is an image or a sequence, else as it is. */
  first(v: Value): Value {
    return (v.shape.length === 3 || v.shape.length === 2) && v.layout === "last" ? this.relayout(v, "first") : v;
  }

  /** `v` channels-last (as the spec and TF.js lay it out). */
  last(v: Value): Value {
    return v.layout === "first" ? this.relayout(v, "last") : v;
  }

  private relayout(v: Value, layout: Layout): Value {
    const done = this.converted.get(v.name);
    if (done) return done;
    const rank = v.shape.length + 1;
    const suffix = rank === 3 ? (layout === "first" ? "ncw" : "nwc") : layout === "first" ? "nchw" : "nhwc";
    const name = this.node("Transpose", [v.name], { perm: layout === "first" ? toFirst(rank) : toLast(rank) }, `${v.name}/${suffix}`);
    const out: Value = { name, shape: v.shape, layout };
    this.converted.set(v.name, out);
    this.converted.set(name, v);
    return out;
  }
}

/** Logical axis (with the batch axis 0; channels-last) → the axis of `v` as it is laid out. */
function physicalAxis(v: Value, axis: number): number {
  if (v.layout === "last") return axis;
  return toFirst(v.shape.length + 1).indexOf(axis);
}

/** Dims for a constant of `c` values, one per channel, that broadcasts over `v`. */
function channelDims(v: Value, c: number): number[] {
  return v.layout === "first" ? [c, ...new Array<number>(v.shape.length - 1).fill(1)] : [c];
}

// ---------------------------------------------------------------------------------------
// Layer configs

function num(layer: TopologyLayer, key: string, shown: string, fallback?: number): number {
  const v = layer.config[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ExportError(`${shown}: the ${layer.className} layer \`${layer.name}\` has no \`${key}\` in its config.`);
  }
  if (typeof v !== "number" || !Number.isFinite(v)) throw new ExportError(`${shown}: the ${layer.className} layer \`${layer.name}\` has a \`${key}\` that is not a number (${JSON.stringify(v).slice(0, 40)}).`);
  return v;
}

function pair(layer: TopologyLayer, key: string, shown: string, fallback?: number): [number, number] {
  const v = layer.config[key];
  if ((v === undefined || v === null) && fallback !== undefined) return [fallback, fallback];
  if (typeof v === "number" && Number.isInteger(v) && v > 0) return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number" && Number.isInteger(x) && x > 0)) return [v[0] as number, v[1] as number];
  throw new ExportError(`${shown}: the ${layer.className} layer \`${layer.name}\` has a \`${key}\` that is not one or two positive whole numbers (${JSON.stringify(v)?.slice(0, 40)}).`);
}

/** A 1-D layer's window option: TF.js writes `[n]` (Conv1D's kernel_size, Pooling1D's pool_size…), Keras sometimes `n`. */
function single(layer: TopologyLayer, key: string, shown: string, fallback?: number): number {
  const v = layer.config[key];
  if ((v === undefined || v === null) && fallback !== undefined) return fallback;
  if (typeof v === "number" && Number.isInteger(v) && v > 0) return v;
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === "number" && Number.isInteger(v[0]) && v[0] > 0) return v[0];
  throw new ExportError(`${shown}: the ${layer.className} layer \`${layer.name}\` has a \`${key}\` that is not one positive whole number (${JSON.stringify(v)?.slice(0, 40)}).`);
}

function padding(layer: TopologyLayer, shown: string): "valid" | "same" {
  const p = layer.config["padding"] ?? "valid";
  if (p === "valid" || p === "same") return p;
  throw new ExportError(`${shown}: the ${layer.className} layer \`${layer.name}\` has padding ${JSON.stringify(p)}; export knows valid and same (nnc writes \`full\` as ZeroPadding2D + valid).`);
}

function channelsLast(layer: TopologyLayer, shown: string): void {
  const f = layer.config["data_format"];
  if (f !== undefined && f !== null && f !== "channels_last") throw new ExportError(`${shown}: the ${layer.className} layer \`${layer.name}\` is ${String(f)}; export reads channels_last models, as nnc builds them.`);
}

/** TF's output size and [begin, end] padding of one spatial axis. */
function window(size: number, k: number, s: number, d: number, mode: "valid" | "same"): { out: number; pads: [number, number] } {
  const eff = d * (k - 1) + 1;
  if (mode === "valid") return { out: Math.ceil((size - eff + 1) / s), pads: [0, 0] };
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + eff - size, 0);
  const begin = Math.floor(total / 2);
  return { out, pads: [begin, total - begin] };
}

/** ZeroPadding2D's `padding`, Cropping2D's `cropping`: n, [rows, cols] or [[top, bottom], [left, right]]. */
function padPairs(layer: TopologyLayer, key: string, shown: string): [[number, number], [number, number]] {
  const p = layer.config[key];
  const count = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 0;
  const ok = (a: unknown): a is [number, number] => Array.isArray(a) && a.length === 2 && a.every(count);
  if (Array.isArray(p) && p.length === 2 && ok(p[0]) && ok(p[1])) return [[p[0][0], p[0][1]], [p[1][0], p[1][1]]];
  if (ok(p)) return [[p[0], p[0]], [p[1], p[1]]];
  if (count(p)) return [[p, p], [p, p]];
  throw new ExportError(`${shown}: the ${layer.className} layer \`${layer.name}\` has a ${key} export cannot read (${JSON.stringify(p)?.slice(0, 60)}).`);
}

function sequence(v: Value, layer: TopologyLayer, shown: string): [number, number] {
  if (v.shape.length !== 2) throw new ExportError(`${shown}: the ${layer.className} layer \`${layer.name}\` needs a sequence (length x channels), but its input is ${v.shape.join("x")}.`);
  return [v.shape[0]!, v.shape[1]!];
}

function image(v: Value, layer: TopologyLayer, shown: string): [number, number, number] {
  if (v.shape.length !== 3) throw new ExportError(`${shown}: the ${layer.className} layer \`${layer.name}\` needs an image (height x width x channels), but its input is ${v.shape.join("x")}.`);
  return [v.shape[0]!, v.shape[1]!, v.shape[2]!];
}

// ---------------------------------------------------------------------------------------
// The exporter

/** Activations by the name TF.js's `activation` option and Activation layer use. */
const ACTIVATIONS = new Set(["linear", "relu", "relu6", "sigmoid", "hard_sigmoid", "tanh", "softplus", "softsign", "selu", "softmax", "log_softmax", "elu", "swish", "mish", "gelu", "gelu_new"]);

/** TF.js writes some activations by their class name (`hardSigmoid`), Keras in snake case. */
const ACTIVATION_ALIASES: Record<string, string> = { hardSigmoid: "hard_sigmoid", logSoftmax: "log_softmax" };

class OnnxEmitter {
  private readonly values = new Map<string, Value>();
  /** The outputs of ZeroPadding2D layers: what was padded, by how much. */
  private readonly zeroPadded = new Map<string, { source: Value; pads: [[number, number], [number, number]] }>();

  constructor(
    private readonly g: Graph,
    private readonly folder: ModelFolder,
  ) {}

  private get shown(): string {
    return this.folder.shown;
  }

  private weight(layer: TopologyLayer, short: string): { data: Float32Array; shape: number[] } {
    const e = weightOf(layer, short, this.shown);
    return { data: floatValues(this.folder, e), shape: e.shape };
  }

  private optionalWeight(layer: TopologyLayer, short: string): { data: Float32Array; shape: number[] } | undefined {
    return layer.weights.has(short) ? this.weight(layer, short) : undefined;
  }

  private one(layer: TopologyLayer): Value {
    if (layer.inputs.length !== 1) throw new ExportError(`${this.shown}: the ${layer.className} layer \`${layer.name}\` takes ${layer.inputs.length} inputs; it takes one.`);
    return this.values.get(layer.inputs[0]!)!;
  }

  activation(v: Value, name: string, base: string, layer: TopologyLayer): Value {
    const g = this.g;
    switch (name) {
      case "linear":
        return v;
      case "relu":
        return { ...v, name: g.node("Relu", [v.name], {}, base) };
      case "sigmoid":
        return { ...v, name: g.node("Sigmoid", [v.name], {}, base) };
      case "tanh":
        return { ...v, name: g.node("Tanh", [v.name], {}, base) };
      case "softplus":
        return { ...v, name: g.node("Softplus", [v.name], {}, base) };
      case "selu":
        // ONNX's defaults are TF's constants rounded to float32.
        return { ...v, name: g.node("Selu", [v.name], {}, base) };
      case "elu":
        return { ...v, name: g.node("Elu", [v.name], { alpha: { float: 1 } }, base) };
      case "softmax":
        return { ...v, name: g.node("Softmax", [v.name], { axis: physicalAxis(v, v.shape.length) }, base) };
      case "log_softmax":
        return { ...v, name: g.node("LogSoftmax", [v.name], { axis: physicalAxis(v, v.shape.length) }, base) };
      case "relu6":
        return { ...v, name: g.node("Clip", [v.name, g.floats(`${base}/min`, [0], []), g.floats(`${base}/max`, [6], [])], {}, base) };
      case "hard_sigmoid":
        // TF.js's (and Keras 2's) hard sigmoid: clip(0.2·x + 0.5, 0, 1).
        return { ...v, name: g.node("HardSigmoid", [v.name], { alpha: { float: 0.2 }, beta: { float: 0.5 } }, base) };
      case "softsign":
        return { ...v, name: g.node("Softsign", [v.name], {}, base) };
      case "swish": {
        const s = g.node("Sigmoid", [v.name], {}, `${base}/sigmoid`);
        return { ...v, name: g.node("Mul", [v.name, s], {}, base) };
      }
      case "mish": {
        // x · tanh(softplus(x)); ONNX's Mish (opset 18) is the same function.
        if (g.opset >= 18) return { ...v, name: g.node("Mish", [v.name], {}, base) };
        const t = g.node("Tanh", [g.node("Softplus", [v.name], {}, `${base}/softplus`)], {}, `${base}/tanh`);
        return { ...v, name: g.node("Mul", [v.name, t], {}, base) };
      }
      case "gelu": {
        // The exact form, 0.5·x·(1 + erf(x/√2)), as TF.js computes it; ONNX's Gelu from opset 20.
        if (g.opset >= 20) return { ...v, name: g.node("Gelu", [v.name], {}, base) };
        const erf = g.node("Erf", [g.node("Div", [v.name, g.floats(`${base}/sqrt2`, [Math.SQRT2], [])], {}, `${base}/scaled`)], {}, `${base}/erf`);
        const cdf = g.node("Mul", [g.node("Add", [erf, g.floats(`${base}/one`, [1], [])], {}, `${base}/one_plus`), g.floats(`${base}/half`, [0.5], [])], {}, `${base}/cdf`);
        return { ...v, name: g.node("Mul", [v.name, cdf], {}, base) };
      }
      case "gelu_new": {
        // The tanh form: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); ONNX's Gelu approximate "tanh" from opset 20.
        if (g.opset >= 20) return { ...v, name: g.node("Gelu", [v.name], { approximate: "tanh" }, base) };
        const cube = g.node("Mul", [v.name, g.node("Mul", [v.name, v.name], {}, `${base}/square`)], {}, `${base}/cube`);
        const inner = g.node("Add", [v.name, g.node("Mul", [cube, g.floats(`${base}/c`, [0.044715], [])], {}, `${base}/cube_c`)], {}, `${base}/inner`);
        const t = g.node("Tanh", [g.node("Mul", [inner, g.floats(`${base}/k`, [Math.sqrt(2 / Math.PI)], [])], {}, `${base}/scaled`)], {}, `${base}/tanh`);
        const half = g.node("Mul", [g.node("Add", [t, g.floats(`${base}/one`, [1], [])], {}, `${base}/one_plus`), g.floats(`${base}/half`, [0.5], [])], {}, `${base}/half`);
        return { ...v, name: g.node("Mul", [v.name, half], {}, base) };
      }
    }
    throw new ExportError(`${this.shown}: the layer \`${layer.name}\` uses the activation ${JSON.stringify(name)}, which export does not know. It knows ${[...ACTIVATIONS].join(", ")}.`);
  }

  private activationOf(layer: TopologyLayer): string {
    const a = layer.config["activation"] ?? "linear";
    if (typeof a !== "string") throw new ExportError(`${this.shown}: the layer \`${layer.name}\` has an activation export cannot read (${JSON.stringify(a).slice(0, 60)}).`);
    return ACTIVATION_ALIASES[a] ?? a;
  }

  /** Converts `layers` (all but the inputs, in order). */
  emit(layers: TopologyLayer[]): void {
    for (const layer of layers) this.values.set(layer.name, this.layer(layer));
  }

  value(name: string): Value {
    return this.values.get(name)!;
  }

  private layer(layer: TopologyLayer): Value {
    const g = this.g;
    const shown = this.shown;
    const base = layer.name;
    switch (layer.className) {
      case "InputLayer":
        throw new Error("export: input layers are made before the others");
      case "Dense": {
        const x = g.last(this.one(layer));
        const kernel = this.weight(layer, "kernel");
        const [units] = kernel.shape.slice(-1);
        const fanIn = x.shape[x.shape.length - 1]!;
        if (kernel.shape.length !== 2 || kernel.shape[0] !== fanIn) throw new ExportError(`${shown}: the Dense layer \`${layer.name}\` has a kernel of shape [${kernel.shape.join(", ")}] for ${fanIn} inputs.`);
        const w = g.floats(`${base}/kernel`, kernel.data, kernel.shape);
        const bias = layer.config["use_bias"] === false ? undefined : this.weight(layer, "bias");
        const b = bias ? g.floats(`${base}/bias`, bias.data, bias.shape) : undefined;
        let y: string;
        if (x.shape.length === 1) y = g.node("Gemm", [x.name, w, ...(b ? [b] : [])], {}, base);
        else {
          y = g.node("MatMul", [x.name, w], {}, base);
          if (b) y = g.node("Add", [y, b], {}, `${base}/bias`);
        }
        return this.activation({ name: y, shape: [...x.shape.slice(0, -1), units!], layout: "last" }, this.activationOf(layer), `${base}/${this.activationOf(layer)}`, layer);
      }
      case "Conv2D":
      case "NncDilatedConv2D":
      case "NncGroupedConv2D":
        return this.conv(layer);
      case "DepthwiseConv2D":
        return this.depthwise(layer);
      case "SeparableConv2D":
        return this.separable(layer);
      case "Conv2DTranspose":
        return this.convTranspose(layer);
      case "UpSampling2D":
        return this.upsample(layer);
      case "Cropping2D": {
        channelsLast(layer, shown);
        const x = this.one(layer);
        const [h, w, c] = image(x, layer, shown);
        const [[top, bottom], [left, right]] = padPairs(layer, "cropping", shown);
        if (top + bottom >= h || left + right >= w) throw new ExportError(`${shown}: the Cropping2D layer \`${layer.name}\` crops ${top}+${bottom} rows and ${left}+${right} columns from ${h}x${w}.`);
        const y = g.node("Slice", [x.name, g.int64s(`${base}/starts`, [top, left]), g.int64s(`${base}/ends`, [h - bottom, w - right]), g.int64s(`${base}/axes`, [physicalAxis(x, 1), physicalAxis(x, 2)])], {}, base);
        return { name: y, shape: [h - top - bottom, w - left - right, c], layout: x.layout };
      }
      case "NncChannelPad": {
        const x = this.one(layer);
        const extra = num(layer, "channels", shown);
        if (!Number.isInteger(extra) || extra < 0) throw new ExportError(`${shown}: the NncChannelPad layer \`${layer.name}\` adds ${extra} channels.`);
        const rank = x.shape.length + 1;
        const pads = new Array<number>(2 * rank).fill(0);
        pads[rank + physicalAxis(x, x.shape.length)] = extra;
        const y = g.node("Pad", [x.name, g.int64s(`${base}/pads`, pads)], { mode: "constant" }, base);
        return { name: y, shape: [...x.shape.slice(0, -1), x.shape[x.shape.length - 1]! + extra], layout: x.layout };
      }
      case "ZeroPadding2D": {
        channelsLast(layer, shown);
        const x = this.one(layer);
        const [h, w] = image(x, layer, shown);
        const pads = padPairs(layer, "padding", shown);
        const [[top, bottom], [left, right]] = pads;
        const begin = x.layout === "first" ? [0, 0, top, left] : [0, top, left, 0];
        const end = x.layout === "first" ? [0, 0, bottom, right] : [0, bottom, right, 0];
        const y = g.node("Pad", [x.name, g.int64s(`${base}/pads`, [...begin, ...end])], { mode: "constant" }, base);
        this.zeroPadded.set(y, { source: x, pads });
        return { name: y, shape: [h + top + bottom, w + left + right, x.shape[2]!], layout: x.layout };
      }
      case "MaxPooling2D":
      case "AveragePooling2D":
        return this.pool(layer);
      case "Conv1D":
        return this.conv1d(layer);
      case "MaxPooling1D":
      case "AveragePooling1D":
        return this.pool1d(layer);
      case "GlobalAveragePooling1D":
      case "GlobalMaxPooling1D": {
        channelsLast(layer, shown);
        if (layer.config["keepdims"] === true) throw new ExportError(`${shown}: the layer \`${layer.name}\` keeps its dims; export handles global pools that give a vector, as nnc builds them.`);
        const x = this.one(layer);
        const [, c] = sequence(x, layer, shown);
        const y = g.reduce(layer.className === "GlobalAveragePooling1D" ? "ReduceMean" : "ReduceMax", x.name, [physicalAxis(x, 1)], false, base);
        return { name: y, shape: [c], layout: "last" };
      }
      case "GlobalAveragePooling2D":
      case "GlobalMaxPooling2D": {
        channelsLast(layer, shown);
        if (layer.config["keepdims"] === true) throw new ExportError(`${shown}: the layer \`${layer.name}\` keeps its dims; export handles global pools that give a vector, as nnc builds them.`);
        const x = this.one(layer);
        const [, , c] = image(x, layer, shown);
        const axes = [physicalAxis(x, 1), physicalAxis(x, 2)];
        const y = g.reduce(layer.className === "GlobalAveragePooling2D" ? "ReduceMean" : "ReduceMax", x.name, axes, false, base);
        return { name: y, shape: [c], layout: "last" };
      }
      case "Flatten": {
        const x = g.last(this.one(layer));
        if (x.shape.length === 1) return x;
        const y = g.node("Flatten", [x.name], { axis: 1 }, base);
        return { name: y, shape: [x.shape.reduce((a, b) => a * b, 1)], layout: "last" };
      }
      case "Reshape": {
        const x = g.last(this.one(layer));
        const target = layer.config["target_shape"];
        if (!Array.isArray(target) || !target.every((d) => Number.isInteger(d) && (d > 0 || d === -1))) throw new ExportError(`${shown}: the Reshape layer \`${layer.name}\` has a target_shape export cannot read.`);
        const size = x.shape.reduce((a, b) => a * b, 1);
        const known = (target as number[]).filter((d) => d > 0).reduce((a, b) => a * b, 1);
        const shape = (target as number[]).map((d) => (d === -1 ? size / known : d));
        if (shape.reduce((a, b) => a * b, 1) !== size || !shape.every(Number.isInteger)) throw new ExportError(`${shown}: the Reshape layer \`${layer.name}\` cannot make ${x.shape.join("x")} into ${target.join("x")}.`);
        const y = g.node("Reshape", [x.name, g.int64s(`${base}/shape`, [0, ...shape])], {}, base);
        return { name: y, shape, layout: "last" };
      }
      case "Dropout":
      case "SpatialDropout1D":
      case "SpatialDropout2D":
      case "GaussianNoise":
      case "GaussianDropout":
        // Inference: identity.
        return this.one(layer);
      case "BatchNormalization":
        return this.batchNorm(layer);
      case "LayerNormalization":
        return this.layerNorm(layer);
      case "NncGroupNorm":
        return this.groupNorm(layer);
      case "NncMaxout":
        return this.maxout(layer);
      case "Activation": {
        return this.activation(this.one(layer), this.activationOf(layer), base, layer);
      }
      case "ReLU": {
        const x = this.one(layer);
        const max = layer.config["max_value"];
        if (max === undefined || max === null) return { ...x, name: g.node("Relu", [x.name], {}, base) };
        if (typeof max !== "number") throw new ExportError(`${shown}: the ReLU layer \`${layer.name}\` has a max_value that is not a number.`);
        return { ...x, name: g.node("Clip", [x.name, g.floats(`${base}/min`, [0], []), g.floats(`${base}/max`, [max], [])], {}, base) };
      }
      case "LeakyReLU": {
        const x = this.one(layer);
        return { ...x, name: g.node("LeakyRelu", [x.name], { alpha: { float: num(layer, "alpha", shown, 0.3) } }, base) };
      }
      case "ELU":
      case "NncElu": {
        const x = this.one(layer);
        return { ...x, name: g.node("Elu", [x.name], { alpha: { float: num(layer, "alpha", shown, 1) } }, base) };
      }
      case "Softmax": {
        const x = this.one(layer);
        let axis = layer.config["axis"] ?? -1;
        if (Array.isArray(axis) && axis.length === 1) axis = axis[0];
        if (typeof axis !== "number" || !Number.isInteger(axis)) throw new ExportError(`${shown}: the Softmax layer \`${layer.name}\` has an axis export cannot read (${JSON.stringify(axis)}).`);
        const rank = x.shape.length + 1;
        const logical = axis < 0 ? rank + axis : axis;
        if (logical < 1 || logical >= rank) throw new ExportError(`${shown}: the Softmax layer \`${layer.name}\` has axis ${axis}, outside its rank-${rank} input.`);
        return { ...x, name: g.node("Softmax", [x.name], { axis: physicalAxis(x, logical) }, base) };
      }
      case "PReLU":
        return this.prelu(layer);
      case "Add":
      case "Subtract":
      case "Multiply":
      case "Maximum":
      case "Minimum":
      case "Average":
        return this.elementwise(layer);
      case "Concatenate":
        return this.concatenate(layer);
      case "NncHardActivation":
        return this.hardActivation(layer);
    }
    throw new ExportError(
      `${shown}: export does not know the layer class ${layer.className} (layer \`${layer.name}\`). It knows the layers nnc builds: Dense, Conv1D, Conv2D, NncDilatedConv2D, NncGroupedConv2D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose, UpSampling2D, ZeroPadding2D, Cropping2D, NncChannelPad, MaxPooling1D, AveragePooling1D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling1D, GlobalMaxPooling1D, GlobalAveragePooling2D, GlobalMaxPooling2D, Flatten, Reshape, Dropout, BatchNormalization, LayerNormalization, NncGroupNorm, NncMaxout, Activation, ReLU, LeakyReLU, ELU, NncElu, NncHardActivation, PReLU, Softmax, Add, Subtract, Multiply, Maximum, Minimum, Average, Concatenate.`,
    );
  }

  /** A `Conv` node on channels-first `x` with a kernel already in ONNX's layout [F, C/group, kh, kw]. */
  private convNode(x: Value, kernel: Float32Array, filters: number, bias: Float32Array | undefined, k: [number, number], strides: [number, number], dilation: [number, number], mode: "valid" | "same", group: number, base: string): Value {
    const g = this.g;
    const [h, w, cin] = x.shape as [number, number, number];
    const rows = window(h, k[0], strides[0], dilation[0], mode);
    const cols = window(w, k[1], strides[1], dilation[1], mode);
    const inputs = [x.name, g.floats(`${base}/kernel`, kernel, [filters, cin / group, k[0], k[1]])];
    if (bias) inputs.push(g.floats(`${base}/bias`, bias, [filters]));
    const attrs: Record<string, AttrValue> = { kernel_shape: k, strides, dilations: dilation, pads: [rows.pads[0], cols.pads[0], rows.pads[1], cols.pads[1]] };
    if (group !== 1) attrs["group"] = group;
    return { name: g.node("Conv", inputs, attrs, base), shape: [rows.out, cols.out, filters], layout: "first" };
  }

  private bias(layer: TopologyLayer, filters: number): Float32Array | undefined {
    if ((layer.config["use_bias"] ?? layer.config["useBias"]) === false) return undefined;
    const bias = this.weight(layer, "bias");
    if (bias.data.length !== filters) throw new ExportError(`${this.shown}: the ${layer.className} layer \`${layer.name}\` has ${bias.data.length} biases for ${filters} filters.`);
    return bias.data;
  }

  private withActivation(layer: TopologyLayer, v: Value): Value {
    const act = this.activationOf(layer);
    return this.activation(v, act, `${layer.name}/${act}`, layer);
  }

  /** Conv2D, nnc's dilated conv, and nnc's grouped conv (Keras's `groups`: kernel [kh, kw, C/G, F]). */
  private conv(layer: TopologyLayer): Value {
    const shown = this.shown;
    channelsLast(layer, shown);
    const x = this.g.first(this.one(layer));
    const [, , cin] = image(x, layer, shown);
    const kernel = this.weight(layer, "kernel");
    const k = pair(layer, "kernel_size", shown);
    const filters = num(layer, "filters", shown);
    const groups = num(layer, "groups", shown, 1);
    if (!Number.isInteger(groups) || groups < 1 || cin % groups !== 0 || filters % groups !== 0) throw new ExportError(`${shown}: the ${layer.className} layer \`${layer.name}\` has ${groups} groups for ${cin} input channels and ${filters} filters.`);
    const expected = [k[0], k[1], cin / groups, filters];
    if (kernel.shape.join() !== expected.join()) throw new ExportError(`${shown}: the layer \`${layer.name}\` has a kernel of shape [${kernel.shape.join(", ")}], not [${expected.join(", ")}].`);
    const y = this.convNode(x, permuteData(kernel.data, kernel.shape, [3, 2, 0, 1]), filters, this.bias(layer, filters), k, pair(layer, "strides", shown, 1), pair(layer, "dilation_rate", shown, 1), padding(layer, shown), groups, layer.name);
    return this.withActivation(layer, y);
  }

  /**
   * Conv1D on a sequence: a Conv with a 1-D kernel on channels-first NCW. TF.js's kernel [k, C, F]
   * → ONNX's [F, C, k]; SAME pads as TF (the odd cell at the end).
   */
  private conv1d(layer: TopologyLayer): Value {
    const g = this.g;
    const shown = this.shown;
    channelsLast(layer, shown);
    const x = g.first(this.one(layer));
    const [length, cin] = sequence(x, layer, shown);
    const k = single(layer, "kernel_size", shown);
    const s = single(layer, "strides", shown, 1);
    const d = single(layer, "dilation_rate", shown, 1);
    const filters = num(layer, "filters", shown);
    const kernel = this.weight(layer, "kernel");
    if (kernel.shape.join() !== [k, cin, filters].join()) throw new ExportError(`${shown}: the Conv1D layer \`${layer.name}\` has a kernel of shape [${kernel.shape.join(", ")}], not [${[k, cin, filters].join(", ")}].`);
    // TF.js (4.22) has no `causal` padding: its conv1d refuses it, so padding() does too.
    const out = window(length, k, s, d, padding(layer, shown));
    const inputs = [x.name, g.floats(`${layer.name}/kernel`, permuteData(kernel.data, kernel.shape, [2, 1, 0]), [filters, cin, k])];
    const bias = this.bias(layer, filters);
    if (bias) inputs.push(g.floats(`${layer.name}/bias`, bias, [filters]));
    const y = g.node("Conv", inputs, { kernel_shape: [k], strides: [s], dilations: [d], pads: out.pads }, layer.name);
    return this.withActivation(layer, { name: y, shape: [out.out, filters], layout: "first" });
  }

  /**
   * MaxPooling1D, AveragePooling1D: MaxPool / AveragePool with a 1-D window on NCW. TF.js pools a
   * sequence as an image of width 1, with TF's SAME padding; an average leaves the padding out
   * (`count_include_pad` 0).
   */
  private pool1d(layer: TopologyLayer): Value {
    const g = this.g;
    const shown = this.shown;
    channelsLast(layer, shown);
    const x = g.first(this.one(layer));
    const [length, c] = sequence(x, layer, shown);
    const k = single(layer, "pool_size", shown, 2);
    const s = single(layer, "strides", shown, k);
    const w = window(length, k, s, 1, padding(layer, shown));
    const max = layer.className === "MaxPooling1D";
    const attrs: Record<string, AttrValue> = { kernel_shape: [k], strides: [s], pads: w.pads };
    if (!max) attrs["count_include_pad"] = 0;
    const y = g.node(max ? "MaxPool" : "AveragePool", [x.name], attrs, layer.name);
    return { name: y, shape: [w.out, c], layout: "first" };
  }

  /** A depthwise kernel [kh, kw, C, M] → ONNX's [C·M, 1, kh, kw] (output channel c·M + m, as TF orders them). */
  private depthwiseKernel(layer: TopologyLayer, cin: number): { data: Float32Array; k: [number, number]; multiplier: number } {
    const shown = this.shown;
    const kernel = this.weight(layer, "depthwise_kernel");
    const k = pair(layer, "kernel_size", shown);
    // TF.js's SeparableConv2D leaves depth_multiplier out of its config: the kernel says it.
    const multiplier = num(layer, "depth_multiplier", shown, kernel.shape.length === 4 ? kernel.shape[3] : 1);
    const expected = [k[0], k[1], cin, multiplier];
    if (kernel.shape.join() !== expected.join()) throw new ExportError(`${shown}: the ${layer.className} layer \`${layer.name}\` has a depthwise kernel of shape [${kernel.shape.join(", ")}], not [${expected.join(", ")}].`);
    return { data: permuteData(kernel.data, kernel.shape, [2, 3, 0, 1]), k, multiplier };
  }

  /**
   * DepthwiseConv2D: a Conv with one group per input channel. TF.js's layer (4.x) runs undilated
   * whatever its `dilation_rate` says (its call passes no dilation), so the export does too: the
   * ONNX model computes what the trained model computes.
   */
  private depthwise(layer: TopologyLayer): Value {
    const shown = this.shown;
    channelsLast(layer, shown);
    const x = this.g.first(this.one(layer));
    const [, , cin] = image(x, layer, shown);
    const { data, k, multiplier } = this.depthwiseKernel(layer, cin);
    const filters = cin * multiplier;
    const y = this.convNode(x, data, filters, this.bias(layer, filters), k, pair(layer, "strides", shown, 1), [1, 1], padding(layer, shown), cin, layer.name);
    return this.withActivation(layer, y);
  }

  /** SeparableConv2D: the depthwise Conv (strides, padding, dilation; no bias), then a 1x1 Conv with the bias. */
  private separable(layer: TopologyLayer): Value {
    const shown = this.shown;
    channelsLast(layer, shown);
    const x = this.g.first(this.one(layer));
    const [, , cin] = image(x, layer, shown);
    const { data, k, multiplier } = this.depthwiseKernel(layer, cin);
    const mid = cin * multiplier;
    const d = this.convNode(x, data, mid, undefined, k, pair(layer, "strides", shown, 1), pair(layer, "dilation_rate", shown, 1), padding(layer, shown), cin, `${layer.name}/depthwise`);
    const filters = num(layer, "filters", shown);
    const pointwise = this.weight(layer, "pointwise_kernel");
    if (pointwise.shape.join() !== [1, 1, mid, filters].join()) throw new ExportError(`${shown}: the SeparableConv2D layer \`${layer.name}\` has a pointwise kernel of shape [${pointwise.shape.join(", ")}], not [1, 1, ${mid}, ${filters}].`);
    const y = this.convNode(d, permuteData(pointwise.data, pointwise.shape, [3, 2, 0, 1]), filters, this.bias(layer, filters), [1, 1], [1, 1], [1, 1], "valid", 1, layer.name);
    return this.withActivation(layer, y);
  }

  /**
   * Conv2DTranspose: ConvTranspose with explicit pads and output_padding. TF.js's output is
   * n·s (same) or n·s + max(k − s, 0) (valid); its padding is the forward conv's from that size
   * back to n (SAME: the odd cell at the end), and what the pads leave short is output_padding.
   */
  private convTranspose(layer: TopologyLayer): Value {
    const shown = this.shown;
    channelsLast(layer, shown);
    const x = this.g.first(this.one(layer));
    const [h, w, cin] = image(x, layer, shown);
    const kernel = this.weight(layer, "kernel");
    const k = pair(layer, "kernel_size", shown);
    const strides = pair(layer, "strides", shown, 1);
    const dilation = pair(layer, "dilation_rate", shown, 1);
    if (dilation.some((d) => d !== 1)) throw new ExportError(`${shown}: the Conv2DTranspose layer \`${layer.name}\` is dilated; TF.js runs transposed convs without dilation, and so does export.`);
    const mode = padding(layer, shown);
    const filters = num(layer, "filters", shown);
    const expected = [k[0], k[1], filters, cin];
    if (kernel.shape.join() !== expected.join()) throw new ExportError(`${shown}: the Conv2DTranspose layer \`${layer.name}\` has a kernel of shape [${kernel.shape.join(", ")}], not [${expected.join(", ")}].`);
    const axis = (n: number, k: number, s: number): { out: number; pads: [number, number]; extra: number } => {
      const out = mode === "same" ? n * s : n * s + Math.max(k - s, 0);
      const total = mode === "same" ? Math.max((n - 1) * s + k - out, 0) : 0;
      const begin = Math.floor(total / 2);
      return { out, pads: [begin, total - begin], extra: out - ((n - 1) * s + k - total) };
    };
    const rows = axis(h, k[0], strides[0]);
    const cols = axis(w, k[1], strides[1]);
    const g = this.g;
    const base = layer.name;
    // TF.js [kh, kw, out, in] → ONNX's [in, out, kh, kw].
    const inputs = [x.name, g.floats(`${base}/kernel`, permuteData(kernel.data, kernel.shape, [3, 2, 0, 1]), [cin, filters, k[0], k[1]])];
    const bias = this.bias(layer, filters);
    if (bias) inputs.push(g.floats(`${base}/bias`, bias, [filters]));
    const attrs: Record<string, AttrValue> = { kernel_shape: k, strides, pads: [rows.pads[0], cols.pads[0], rows.pads[1], cols.pads[1]] };
    if (rows.extra !== 0 || cols.extra !== 0) attrs["output_padding"] = [rows.extra, cols.extra];
    const y = g.node("ConvTranspose", inputs, attrs, base);
    return this.withActivation(layer, { name: y, shape: [rows.out, cols.out, filters], layout: "first" });
  }

  /**
   * UpSampling2D: Resize by whole factors. TF.js resizes with alignCorners and halfPixelCenters
   * false: a source coordinate is the output's divided by the factor, ONNX's "asymmetric"
   * (nearest: its floor).
   */
  private upsample(layer: TopologyLayer): Value {
    const g = this.g;
    const shown = this.shown;
    channelsLast(layer, shown);
    const x = g.first(this.one(layer));
    const [h, w, c] = image(x, layer, shown);
    const [sh, sw] = pair(layer, "size", shown, 2);
    const interpolation = layer.config["interpolation"] ?? "nearest";
    if (interpolation !== "nearest" && interpolation !== "bilinear") throw new ExportError(`${shown}: the UpSampling2D layer \`${layer.name}\` interpolates ${JSON.stringify(interpolation)}; export knows nearest and bilinear.`);
    const attrs: Record<string, AttrValue> = { mode: interpolation === "nearest" ? "nearest" : "linear", coordinate_transformation_mode: "asymmetric" };
    if (interpolation === "nearest") attrs["nearest_mode"] = "floor";
    const y = g.node("Resize", [x.name, "", g.floats(`${layer.name}/scales`, [1, 1, sh, sw], [4])], attrs, layer.name);
    return { name: y, shape: [h * sh, w * sw, c], layout: "first" };
  }

  /**
   * Inputs of a merge brought to one rank and layout: like TF.js, a lower-rank input gets axes of
   * size 1 after the batch axis; images go channels-first when one of them already is.
   */
  private mergeInputs(layer: TopologyLayer): { xs: Value[]; rank: number; layout: Layout } {
    const g = this.g;
    if (layer.inputs.length < 2) throw new ExportError(`${this.shown}: the ${layer.className} layer \`${layer.name}\` has ${layer.inputs.length} input.`);
    const values = layer.inputs.map((n) => this.values.get(n)!);
    const rank = Math.max(...values.map((v) => v.shape.length));
    const layout: Layout = (rank === 3 || rank === 2) && values.some((v) => v.layout === "first") ? "first" : "last";
    const xs = values.map((v, i) => {
      let u = v;
      if (v.shape.length < rank) {
        const shape = [...new Array<number>(rank - v.shape.length).fill(1), ...v.shape];
        u = g.last(v);
        u = { name: g.node("Reshape", [u.name, g.int64s(`${layer.name}/shape${i}`, [0, ...shape])], {}, `${layer.name}/expand${i}`), shape, layout: "last" };
      }
      return layout === "first" ? g.first(u) : g.last(u);
    });
    return { xs, rank, layout };
  }

  /** Add, Multiply, Subtract, Maximum, Minimum, Average: ONNX's broadcasting ops, after `mergeInputs`. */
  private elementwise(layer: TopologyLayer): Value {
    const g = this.g;
    const { xs, rank, layout } = this.mergeInputs(layer);
    const shape: number[] = [];
    for (let a = 0; a < rank; a++) {
      const dims = new Set(xs.map((v) => v.shape[a]!).filter((d) => d !== 1));
      if (dims.size > 1) throw new ExportError(`${this.shown}: the ${layer.className} layer \`${layer.name}\` combines ${xs.map((v) => v.shape.join("x")).join(" and ")}, which do not broadcast.`);
      shape.push(dims.size === 0 ? 1 : [...dims][0]!);
    }
    const names = xs.map((v) => v.name);
    const base = layer.name;
    let y: string;
    switch (layer.className) {
      case "Add":
        y = g.node(names.length === 2 ? "Add" : "Sum", names, {}, base);
        break;
      case "Subtract":
        if (names.length !== 2) throw new ExportError(`${this.shown}: the Subtract layer \`${layer.name}\` has ${names.length} inputs; it takes two.`);
        y = g.node("Sub", names, {}, base);
        break;
      case "Multiply":
        y = names.slice(1).reduce((acc, n, i) => g.node("Mul", [acc, n], {}, i === names.length - 2 ? base : `${base}/mul${i}`), names[0]!);
        break;
      case "Maximum":
      case "Minimum":
        y = g.node(layer.className === "Maximum" ? "Max" : "Min", names, {}, base);
        break;
      default: {
        // Average: the sum times 1/n, as TF.js computes it.
        const sum = g.node(names.length === 2 ? "Add" : "Sum", names, {}, `${base}/sum`);
        y = g.node("Mul", [sum, g.floats(`${base}/scale`, [1 / names.length], [])], {}, base);
      }
    }
    return { name: y, shape, layout };
  }

  /** Concatenate: Concat on the axis as laid out; the inputs share a rank and agree off the axis. */
  private concatenate(layer: TopologyLayer): Value {
    const shown = this.shown;
    const values = layer.inputs.map((n) => this.values.get(n)!);
    const rank = values[0]!.shape.length;
    if (values.some((v) => v.shape.length !== rank)) throw new ExportError(`${shown}: the Concatenate layer \`${layer.name}\` joins ${values.map((v) => v.shape.join("x")).join(", ")}, of different ranks.`);
    const axis = num(layer, "axis", shown, -1);
    const logical = axis < 0 ? rank + 1 + axis : axis;
    if (!Number.isInteger(logical) || logical < 1 || logical > rank) throw new ExportError(`${shown}: the Concatenate layer \`${layer.name}\` joins on axis ${axis}, outside its rank-${rank + 1} inputs.`);
    const { xs, layout } = this.mergeInputs(layer);
    const shape = [...xs[0]!.shape];
    shape[logical - 1] = 0;
    for (const v of xs) {
      if (v.shape.some((d, i) => i !== logical - 1 && d !== xs[0]!.shape[i])) throw new ExportError(`${shown}: the Concatenate layer \`${layer.name}\` joins ${xs.map((u) => u.shape.join("x")).join(", ")} on axis ${axis}: the other axes differ.`);
      shape[logical - 1]! += v.shape[logical - 1]!;
    }
    const y = this.g.node("Concat", xs.map((v) => v.name), { axis: physicalAxis({ name: "", shape, layout }, logical) }, layer.name);
    return { name: y, shape, layout };
  }

  /**
   * nnc's hard activations (`runtime/layers.ts`): hard_sigmoid = relu6(x + 3) / 6, which is
   * HardSigmoid with α = 1/6, β = 0.5; hard_swish = x · hard_sigmoid(x), HardSwish from opset 14.
   */
  private hardActivation(layer: TopologyLayer): Value {
    const g = this.g;
    const x = this.one(layer);
    // The runtime saves snake case; TF.js's loader hands configs back in camel case.
    const raw = layer.config["kind"];
    const kind = raw === "hardSigmoid" ? "hard_sigmoid" : raw === "hardSwish" ? "hard_swish" : raw;
    const base = layer.name;
    const sigmoid = (name: string): string => g.node("HardSigmoid", [x.name], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } }, name);
    if (kind === "hard_sigmoid") return { ...x, name: sigmoid(base) };
    if (kind === "hard_swish") {
      if (g.opset >= 14) return { ...x, name: g.node("HardSwish", [x.name], {}, base) };
      return { ...x, name: g.node("Mul", [x.name, sigmoid(`${base}/hard_sigmoid`)], {}, base) };
    }
    throw new ExportError(`${this.shown}: the NncHardActivation layer \`${layer.name}\` has the kind ${JSON.stringify(kind)}; export knows hard_sigmoid and hard_swish.`);
  }

  /**
   * Max and average pooling. A max pool over a ZeroPadding2D (nnc's \`pool … full\`) becomes one
   * MaxPool with the padding as its own pads, then Max with 0 in the windows that reach into the
   * padding: ONNX pads a max pool with −∞, not 0, and ONNX Runtime's Pad→MaxPool fusion would
   * otherwise silently drop the zeros (onnx/optimizer#318; onnxsim#290).
   */
  private pool(layer: TopologyLayer): Value {
    const g = this.g;
    const shown = this.shown;
    channelsLast(layer, shown);
    const input = this.one(layer);
    const max = layer.className === "MaxPooling2D";
    const [kh, kw] = pair(layer, "pool_size", shown, 2);
    let padded = max ? this.zeroPadded.get(input.name) : undefined;
    let source = input;
    if (padded && (padded.pads[0].some((p) => p >= kh) || padded.pads[1].some((p) => p >= kw))) {
      // ONNX Runtime takes a max pool's pads only below the window: pad explicitly, with −0 (equal
      // to 0, but bytes that are not zeros, so ONNX Runtime does not fuse the Pad into the pool).
      const [[top, bottom], [left, right]] = padded.pads;
      const from = padded.source;
      const begin = from.layout === "first" ? [0, 0, top, left] : [0, top, left, 0];
      const end = from.layout === "first" ? [0, 0, bottom, right] : [0, bottom, right, 0];
      const name = g.node("Pad", [from.name, g.int64s(`${layer.name}/zero_pads`, [...begin, ...end]), g.floats(`${layer.name}/minus_zero`, [-0], [])], { mode: "constant" }, `${layer.name}/zero_padding`);
      source = { ...input, name, layout: from.layout };
      padded = undefined;
    }
    const x = g.first(padded ? padded.source : source);
    const [h, w, c] = image(input, layer, shown);
    const strides = pair(layer, "strides", shown, kh);
    const mode = padding(layer, shown);
    const rows = window(h, kh, strides[0], 1, mode);
    const cols = window(w, kw, strides[1], 1, mode);
    const zero = padded?.pads ?? [
      [0, 0],
      [0, 0],
    ];
    const pads = [zero[0][0] + rows.pads[0], zero[1][0] + cols.pads[0], zero[0][1] + rows.pads[1], zero[1][1] + cols.pads[1]];
    const attrs: Record<string, AttrValue> = { kernel_shape: [kh, kw], strides, pads };
    // TF leaves padded cells out of an average; so does ONNX with count_include_pad 0.
    if (!max) attrs["count_include_pad"] = 0;
    let y = g.node(max ? "MaxPool" : "AveragePool", [x.name], attrs, layer.name);
    if (padded) {
      // Per axis: does window i reach cells of the zero padding, and cells inside the padded image at all?
      const reach = (out: number, k: number, s: number, before: number, size: number, zb: number, ze: number): { zero: boolean; inside: boolean }[] =>
        Array.from({ length: out }, (_, i) => {
          const first = i * s - before; // in the original image's coordinates
          const lo = Math.max(first, -zb);
          const hi = Math.min(first + k - 1, size + ze - 1);
          return { inside: lo <= hi, zero: lo <= hi && (lo < 0 || hi >= size) };
        });
      const [oh, ow] = [rows.out, cols.out];
      const [sh, sw] = [h - zero[0][0] - zero[0][1], w - zero[1][0] - zero[1][1]];
      const rowReach = reach(oh, kh, strides[0], pads[0]!, sh, zero[0][0], zero[0][1]);
      const colReach = reach(ow, kw, strides[1], pads[1]!, sw, zero[1][0], zero[1][1]);
      const mask = new Float32Array(oh * ow);
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const r = rowReach[i]!;
          const q = colReach[j]!;
          mask[i * ow + j] = r.inside && q.inside && (r.zero || q.zero) ? 0 : -Infinity;
        }
      }
      y = g.node("Max", [y, g.floats(`${layer.name}/zero_padding`, mask, [oh, ow])], {}, `${layer.name}/zero_padding`);
    }
    return { name: y, shape: [rows.out, cols.out, c], layout: "first" };
  }

  /** Checks that a normalisation is over the last axis only, and returns it. */
  private lastAxisOnly(layer: TopologyLayer, x: Value): void {
    const rank = x.shape.length + 1;
    let axis = layer.config["axis"] ?? -1;
    if (Array.isArray(axis) && axis.length === 1) axis = axis[0];
    if (axis !== -1 && axis !== rank - 1) throw new ExportError(`${this.shown}: the ${layer.className} layer \`${layer.name}\` normalises over axis ${JSON.stringify(axis)}; export handles the last axis (the channels), as nnc builds it.`);
  }

  /** BatchNormalization in inference form: the moving statistics. */
  private batchNorm(layer: TopologyLayer): Value {
    const g = this.g;
    let x = this.one(layer);
    this.lastAxisOnly(layer, x);
    const c = x.shape[x.shape.length - 1]!;
    const eps = num(layer, "epsilon", this.shown, 1e-3);
    const mean = this.weight(layer, "moving_mean").data;
    const variance = this.weight(layer, "moving_variance").data;
    const gamma = layer.config["scale"] === false ? new Float32Array(c).fill(1) : this.weight(layer, "gamma").data;
    const beta = layer.config["center"] === false ? new Float32Array(c).fill(0) : this.weight(layer, "beta").data;
    for (const [what, arr] of [["moving_mean", mean], ["moving_variance", variance], ["gamma", gamma], ["beta", beta]] as const) {
      if (arr.length !== c) throw new ExportError(`${this.shown}: the BatchNormalization layer \`${layer.name}\` has ${arr.length} values of \`${what}\` for ${c} channels.`);
    }
    // ONNX's BatchNormalization takes the channels on axis 1: images and sequences channels-first, vectors as they are.
    if (x.shape.length === 3 || x.layout === "first") x = g.first(x);
    if (x.shape.length === 3 || x.shape.length === 1 || x.layout === "first") {
      const base = layer.name;
      const y = g.node("BatchNormalization", [x.name, g.floats(`${base}/gamma`, gamma, [c]), g.floats(`${base}/beta`, beta, [c]), g.floats(`${base}/moving_mean`, mean, [c]), g.floats(`${base}/moving_variance`, variance, [c])], { epsilon: { float: eps } }, base);
      return { ...x, name: y };
    }
    // Other ranks: y = x·scale + shift on the last axis.
    const scale = new Float32Array(c);
    const shift = new Float32Array(c);
    for (let i = 0; i < c; i++) {
      scale[i] = gamma[i]! / Math.sqrt(variance[i]! + eps);
      shift[i] = beta[i]! - mean[i]! * scale[i]!;
    }
    const y = g.node("Mul", [x.name, g.floats(`${layer.name}/scale`, scale, [c])], {}, layer.name);
    return { ...x, name: g.node("Add", [y, g.floats(`${layer.name}/shift`, shift, [c])], {}, `${layer.name}/shift`) };
  }

  /** (x − mean) / √(var + ε) over one axis of `x` as laid out, then the per-channel gamma and beta. */
  private normalise(x: Value, axes: number[], eps: number, base: string): string {
    const g = this.g;
    const mean = g.reduce("ReduceMean", x.name, axes, true, `${base}/mean`);
    const centred = g.node("Sub", [x.name, mean], {}, `${base}/centred`);
    const squared = g.node("Mul", [centred, centred], {}, `${base}/squared`);
    const variance = g.reduce("ReduceMean", squared, axes, true, `${base}/variance`);
    const std = g.node("Sqrt", [g.node("Add", [variance, g.floats(`${base}/epsilon`, [eps], [])], {}, `${base}/variance_eps`)], {}, `${base}/std`);
    return g.node("Div", [centred, std], {}, `${base}/normalised`);
  }

  private affine(x: Value, y: string, layer: TopologyLayer, c: number, gamma: Float32Array | undefined, beta: Float32Array | undefined): string {
    const g = this.g;
    const dims = channelDims(x, c);
    if (gamma) y = g.node("Mul", [y, g.floats(`${layer.name}/gamma`, gamma, dims)], {}, `${layer.name}/gamma`);
    if (beta) y = g.node("Add", [y, g.floats(`${layer.name}/beta`, beta, dims)], {}, `${layer.name}/beta`);
    return y;
  }

  private layerNorm(layer: TopologyLayer): Value {
    const g = this.g;
    const x = this.one(layer);
    this.lastAxisOnly(layer, x);
    const c = x.shape[x.shape.length - 1]!;
    const eps = num(layer, "epsilon", this.shown, 1e-3);
    const gamma = layer.config["scale"] === false ? undefined : this.weight(layer, "gamma").data;
    const beta = layer.config["center"] === false ? undefined : this.weight(layer, "beta").data;
    if (g.opset >= 17) {
      const v = g.last(x);
      const y = g.node("LayerNormalization", [v.name, g.floats(`${layer.name}/gamma`, gamma ?? new Float32Array(c).fill(1), [c]), g.floats(`${layer.name}/beta`, beta ?? new Float32Array(c), [c])], { axis: -1, epsilon: { float: eps } }, layer.name);
      return { ...v, name: y };
    }
    const y = this.normalise(x, [physicalAxis(x, x.shape.length)], eps, layer.name);
    return { ...x, name: this.affine(x, y, layer, c, gamma, beta) };
  }

  /**
   * Group normalisation (`runtime/layers.ts`): channels split into G groups of consecutive
   * channels, each sample's group normalised over its positions and channels. Channels-first,
   * that is a Reshape to [n, G, rest], the mean and variance over the last axis, and a Reshape back.
   */
  private groupNorm(layer: TopologyLayer): Value {
    const g = this.g;
    let x = g.first(this.one(layer));
    const c = x.shape[x.shape.length - 1]!;
    const groups = num(layer, "groups", this.shown);
    if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) throw new ExportError(`${this.shown}: the NncGroupNorm layer \`${layer.name}\` has ${groups} groups for ${c} channels.`);
    const eps = num(layer, "epsilon", this.shown, 1e-5);
    let back: number[] | undefined;
    if (x.shape.length !== 1 && x.layout !== "first") {
      // A rank other than 1 or 3: move the channels to axis 1 here, and back after.
      const rank = x.shape.length + 1;
      const perm = [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
      back = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
      x = { ...x, name: g.node("Transpose", [x.name], { perm }, `${layer.name}/channels_first`) };
    }
    const grouped = g.node("Reshape", [x.name, g.int64s(`${layer.name}/groups`, [0, groups, -1])], {}, `${layer.name}/grouped`);
    const normalised = this.normalise({ name: grouped, shape: [], layout: "last" }, [2], eps, layer.name);
    const shape = g.node("Shape", [x.name], {}, `${layer.name}/shape`);
    let y = g.node("Reshape", [normalised, shape], {}, `${layer.name}/ungrouped`);
    const dims = x.shape.length === 1 ? [c] : [c, ...new Array<number>(x.shape.length - 1).fill(1)];
    y = g.node("Mul", [y, g.floats(`${layer.name}/gamma`, this.weight(layer, "gamma").data, dims)], {}, `${layer.name}/gamma`);
    y = g.node("Add", [y, g.floats(`${layer.name}/beta`, this.weight(layer, "beta").data, dims)], {}, `${layer.name}/beta`);
    if (back) return { ...x, name: g.node("Transpose", [y], { perm: back }, `${layer.name}/channels_last`) };
    return { ...x, name: y };
  }

  /** Maxout: the maximum over groups of k consecutive channels, a Reshape and a ReduceMax. */
  private maxout(layer: TopologyLayer): Value {
    const g = this.g;
    const x = this.one(layer);
    const k = num(layer, "k", this.shown);
    const c = x.shape[x.shape.length - 1]!;
    if (!Number.isInteger(k) || k < 1 || c % k !== 0) throw new ExportError(`${this.shown}: the NncMaxout layer \`${layer.name}\` takes groups of ${k} from ${c} channels.`);
    const outShape = [...x.shape.slice(0, -1), c / k];
    if (x.layout === "first") {
      const grouped = g.node("Reshape", [x.name, g.int64s(`${layer.name}/groups`, [0, c / k, k, ...x.shape.slice(0, -1)])], {}, `${layer.name}/grouped`);
      return { name: g.reduce("ReduceMax", grouped, [2], false, layer.name), shape: outShape, layout: "first" };
    }
    const grouped = g.node("Reshape", [x.name, g.int64s(`${layer.name}/groups`, [0, ...outShape, k])], {}, `${layer.name}/grouped`);
    return { name: g.reduce("ReduceMax", grouped, [x.shape.length + 1], false, layer.name), shape: outShape, layout: "last" };
  }

  /** PReLU: slopes of the shape TF.js keeps (1 on shared axes), laid out as the input is. */
  private prelu(layer: TopologyLayer): Value {
    const g = this.g;
    const x = this.one(layer);
    const alpha = this.weight(layer, "alpha");
    if (alpha.shape.length !== x.shape.length || alpha.shape.some((d, i) => d !== 1 && d !== x.shape[i])) {
      throw new ExportError(`${this.shown}: the PReLU layer \`${layer.name}\` has slopes of shape [${alpha.shape.join(", ")}] for an input of ${x.shape.join("x")}.`);
    }
    // Channels-first: the slopes' last axis first ([h, w, c] → [c, h, w], [l, c] → [c, l]).
    const perm = [alpha.shape.length - 1, ...alpha.shape.slice(0, -1).map((_, i) => i)];
    const data = x.layout === "first" ? permuteData(alpha.data, alpha.shape, perm) : alpha.data;
    const dims = x.layout === "first" ? perm.map((p) => alpha.shape[p]!) : alpha.shape;
    return { ...x, name: g.node("PRelu", [x.name, g.floats(`${layer.name}/alpha`, data, dims)], {}, layer.name) };
  }

  /** The graph's input: the input layer, normalised when asked. */
  input(layer: TopologyLayer, normalizer: NormalizerFile | undefined): { value: Value; shape: number[]; folded: boolean } {
    const shown = this.shown;
    const batchShape = layer.config["batch_input_shape"] ?? layer.config["batchInputShape"];
    if (!Array.isArray(batchShape) || batchShape.length < 2 || !batchShape.slice(1).every((d) => Number.isInteger(d) && d > 0)) {
      throw new ExportError(`${shown}: the input layer \`${layer.name}\` has no fixed shape (batch_input_shape ${JSON.stringify(batchShape)?.slice(0, 60)}).`);
    }
    const dtype = layer.config["dtype"] ?? "float32";
    if (dtype !== "float32") throw new ExportError(`${shown}: the input layer \`${layer.name}\` takes ${String(dtype)}; export handles float32 inputs.`);
    const shape = batchShape.slice(1) as number[];
    this.g.reserve(layer.name);
    let value: Value = { name: layer.name, shape, layout: "last" };
    let folded = false;
    if (normalizer && normalizer.kind !== "none") {
      value = { ...value, name: this.normalizer(layer, value, normalizer) };
      folded = true;
    }
    this.values.set(layer.name, value);
    return { value, shape, folded };
  }

  /** The run's normaliser as the graph's first ops (`runtime/data/normalize.ts`, same formulas). */
  private normalizer(layer: TopologyLayer, x: Value, n: NormalizerFile): string {
    const g = this.g;
    const features = x.shape.reduce((a, b) => a * b, 1);
    const base = "normalize";
    const need = (key: keyof NormalizerFile["stats"]): number[] => {
      const v = n.stats[key];
      if (!v || (key !== "factor" && v.length !== features)) {
        throw new ExportError(`normalizer.json: the ${n.kind} normaliser has ${v ? v.length : "no"} values of \`${key}\`, but the model's input \`${layer.name}\` has ${features} features (${x.shape.join("x")}). Is it from another run?`);
      }
      return v;
    };
    if (n.kind === "scale") return g.node("Mul", [x.name, g.floats(`${base}/factor`, [need("factor")[0]!], [])], {}, base);
    const [sub, div] = n.kind === "standard" ? [need("mean"), need("std")] : [need("min"), need("max").map((m, i) => (m - n.stats.min![i]! < 1e-7 ? 1 : m - n.stats.min![i]!))];
    const centred = g.node("Sub", [x.name, g.floats(`${base}/${n.kind === "standard" ? "mean" : "min"}`, sub, x.shape)], {}, `${base}/centred`);
    return g.node("Div", [centred, g.floats(`${base}/${n.kind === "standard" ? "std" : "range"}`, div, x.shape)], {}, base);
  }
}

function dim(d: number | string): onnxProto.onnx.TensorShapeProto.IDimension {
  return typeof d === "string" ? { dimParam: d } : { dimValue: d };
}

function valueInfo(name: string, shape: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: shape.map(dim) } } } };
}

/** The ONNX IR version that goes with an opset (onnx/helper.py's table). */
function irVersion(opset: number): number {
  if (opset <= 13) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

/** Converts the model in `folder` to an ONNX model. */
export function exportOnnx(folder: ModelFolder, options: OnnxOptions = {}): OnnxResult {
  const opset = options.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) throw new ExportError(`The ONNX opset must be a whole number from ${MIN_OPSET} to ${MAX_OPSET}, not ${opset}.`);
  if (folder.weights.byteLength > MAX_ONNX_BYTES) {
    throw new ExportError(`${folder.shown}: the model's weights take ${(folder.weights.byteLength / 2 ** 30).toFixed(2)} GB, but an ONNX file holds at most 2 GB (one protobuf message); export does not write ONNX's external-data form. Export it with --format tfjs.`);
  }
  const top = readTopology(folder);
  const g = new Graph(opset);
  const emitter = new OnnxEmitter(g, folder);
  // The graph's outputs carry the output layers' names: nothing else may take them.
  for (const name of top.outputs) g.reserve(name);
  const fold = options.normalize !== false && folder.normalizer !== undefined && folder.normalizer.kind !== "none";
  const inputs: OnnxResult["inputs"] = [];
  for (const name of top.inputs) {
    const layer = top.layers.find((l) => l.name === name)!;
    if (layer.className !== "InputLayer") throw new ExportError(`${folder.shown}: the model's input \`${name}\` is a ${layer.className}, not an InputLayer.`);
    const { shape } = emitter.input(layer, fold && top.inputs.length === 1 ? folder.normalizer : undefined);
    inputs.push({ name, shape: ["batch", ...shape] });
  }
  for (const l of top.layers) if (l.className === "InputLayer" && !top.inputs.includes(l.name)) throw new ExportError(`${folder.shown}: the input layer \`${l.name}\` is not one of the model's inputs.`);
  emitter.emit(top.layers.filter((l) => l.className !== "InputLayer"));
  const outputs: OnnxResult["outputs"] = [];
  const outputNames = new Set<string>();
  for (const name of top.outputs) {
    let v = emitter.value(name);
    v = g.last(v);
    // The graph's output carries the output layer's name.
    const outName = outputNames.has(name) || inputs.some((i) => i.name === name) ? g.fresh(`${name}_output`) : name;
    if (v.name !== outName) g.node("Identity", [v.name], {}, `${name}/output`, outName);
    outputNames.add(outName);
    outputs.push({ name: outName, shape: ["batch", ...v.shape] });
  }
  g.prune(outputs.map((o) => o.name));
  const classNames = folder.data?.classNames;
  const normalizerNote = !folder.normalizer || folder.normalizer.kind === "none" ? "none" : fold ? "folded" : "not folded";
  const doc = [
    `Exported by nnc ${options.version ?? ""} from ${folder.shown} (model \`${top.name}\`).`.replace("nnc  from", "nnc from"),
    `Input ${inputs.map((i) => `\`${i.name}\` [${i.shape.join(", ")}]`).join(", ")}: channels-last (NHWC) as in the spec; output ${outputs.map((o) => `\`${o.name}\` [${o.shape.join(", ")}]`).join(", ")}.`,
    normalizerNote === "folded"
      ? `The run's ${folder.normalizer!.kind} normaliser is folded in as the first ops: feed inputs as they come before normalisation.`
      : normalizerNote === "not folded"
        ? `The run's ${folder.normalizer!.kind} normaliser is NOT in the graph: normalise inputs first (metadata nnc.normalizer holds its statistics).`
        : "The run has no normaliser: inputs go in as they are.",
    ...(classNames ? [`Classes: ${classNames.join(", ")}.`] : []),
  ].join("\n");
  const metadata: Record<string, string> = {
    "nnc.model": top.name,
    "nnc.layout": "NHWC",
    "nnc.normalizer": normalizerNote === "not folded" ? JSON.stringify(folder.normalizer) : normalizerNote === "folded" ? `folded:${folder.normalizer!.kind}` : "none",
  };
  if (folder.data) {
    metadata["nnc.task"] = folder.data.task;
    if (classNames) metadata["nnc.classes"] = JSON.stringify(classNames);
    if (folder.data.targetNames) metadata["nnc.targets"] = JSON.stringify(folder.data.targetNames);
    if (folder.data.preprocess !== undefined) metadata["nnc.preprocess"] = JSON.stringify(folder.data.preprocess);
  }
  const model = onnx.ModelProto.create({
    irVersion: irVersion(opset),
    opsetImport: [{ domain: "", version: opset }],
    producerName: ONNX_PRODUCER,
    producerVersion: options.version ?? "",
    modelVersion: 1,
    docString: doc,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: top.name,
      node: g.nodes,
      initializer: g.initializers,
      input: inputs.map((i) => valueInfo(i.name, i.shape)),
      output: outputs.map((o) => valueInfo(o.name, o.shape)),
    },
  });
  const bytes = onnx.ModelProto.encode(model).finish();
  return { bytes, opset, inputs, outputs, normalizer: normalizerNote, nodes: g.nodes.length, ...(classNames ? { classNames } : {}) };
}

/**
 * Whether `bytes` are an ONNX model nnc wrote (its producer_name): a file export may replace.
 * Reads only the top-level fields of the ModelProto up to producer_name (field 2), skipping the
 * others by their length, so a large model is not decoded and a file that is not protobuf is
 * simply not ours.
 */
export function isNncOnnx(bytes: Uint8Array): boolean {
  let at = 0;
  const varint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (at >= bytes.length) return undefined;
      const b = bytes[at++]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    return undefined;
  };
  while (at < bytes.length) {
    const tag = varint();
    if (tag === undefined) return false;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      if (varint() === undefined) return false;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const length = varint();
      if (length === undefined || at + length > bytes.length) return false;
      if (field === 2) return new TextDecoder().decode(bytes.subarray(at, at + length)) === ONNX_PRODUCER;
      at += length;
    } else return false;
  }
  return false;
}
