/**
 * Models for the export tests: the spec test/fixtures/export-every-layer.nn compiled by the
 * real pipeline and emitter, built by the runtime (in this process), given random weights
 * (batchnorm's moving statistics, PReLU slopes, norm gammas included) and saved as run folders.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { generate } from "../src/codegen/index.js";
import { SeededRandom } from "../src/common/random.js";
import { checkText } from "../src/pipeline.js";
import { saveModel } from "../src/runtime/io.js";
import { channelPad, groupedConv2d, NncHardActivation } from "../src/runtime/layers.js";
import { markRunFolder } from "../src/runtime/run-folder.js";

export const EVERY_LAYER_SPEC = join(import.meta.dirname, "fixtures", "export-every-layer.nn");

/** Compiles a spec and builds each of its models with the runtime (seed 1). */
export async function buildSpec(text: string, dir: string, name = "spec"): Promise<Map<string, tf.LayersModel>> {
  const r = checkText(text);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("\n"));
  const runtime = pathToFileURL(join(import.meta.dirname, "..", "src", "runtime", "index.ts")).href;
  const files = await generate(r.program, { specPath: `${name}.nn`, sourceLines: text.split("\n"), version: "test", runtimeImport: runtime, format: false });
  const folder = join(dir, `${name}-modules`);
  mkdirSync(folder, { recursive: true });
  const models = new Map<string, tf.LayersModel>();
  for (const f of files) {
    const path = join(folder, f.name);
    writeFileSync(path, f.content);
    const mod = (await import(pathToFileURL(path).href)) as Record<string, (seed: number) => tf.LayersModel>;
    models.set(f.model, mod[f.builder]!(1));
  }
  return models;
}

export function buildEveryLayer(dir: string): Promise<Map<string, tf.LayersModel>> {
  return buildSpec(readFileSync(EVERY_LAYER_SPEC, "utf8"), dir, "every");
}

/** Gives every weight seeded random values: variances in [0.5, 2], gammas around 1, the rest in ±0.5. */
export function randomiseWeights(model: tf.LayersModel, seed: number): void {
  const rnd = new SeededRandom(seed).next;
  const values = model.weights.map((w) => {
    const n = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    const data = new Float32Array(n);
    const name = w.originalName;
    for (let i = 0; i < n; i++) {
      const u = rnd();
      data[i] = name.endsWith("moving_variance") ? 0.5 + 1.5 * u : name.endsWith("gamma") ? 0.5 + u : name.endsWith("moving_mean") ? 2 * u - 1 : u - 0.5;
    }
    return tf.tensor(data, w.shape as number[]);
  });
  model.setWeights(values);
  for (const v of values) v.dispose();
}

/** Saves `model` as a run folder in `dir`, with a normalizer.json and data.json when given. */
export async function writeRun(model: tf.LayersModel, dir: string, extra: { normalizer?: unknown; data?: unknown } = {}): Promise<string> {
  await saveModel(model, dir);
  await markRunFolder(dir, model.name);
  if (extra.normalizer !== undefined) writeFileSync(join(dir, "normalizer.json"), JSON.stringify(extra.normalizer));
  if (extra.data !== undefined) writeFileSync(join(dir, "data.json"), JSON.stringify(extra.data));
  return dir;
}

/** `n` seeded random inputs of the model's input shape, spread over ±`scale`. */
export function randomInputs(model: tf.LayersModel, n: number, seed: number, scale = 2): { data: Float32Array; shape: number[] } {
  const shape = [n, ...(model.inputs[0]!.shape.slice(1) as number[])];
  const rnd = new SeededRandom(seed).next;
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rnd() * 2 - 1) * scale);
  return { data, shape };
}

/** The largest difference between `a` and `b`, relative to |b| where |b| > 1. */
export function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!));
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

// ---------------------------------------------------------------------------------------
// Modern layer kinds (issue 14), built directly with TF.js layers: what a model.json holds
// when a spec uses them, whichever builder wrote it.

type Sym = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;

/** Depthwise convs: multipliers 1 and 2, strides, same and valid, dilation, with and without bias. */
function depthwiseModel(): tf.LayersModel {
  const input = tf.input({ shape: [13, 12, 3], name: "input1" });
  let x = apply(tf.layers.depthwiseConv2d({ name: "dw1", kernelSize: 3, depthMultiplier: 1, padding: "same", activation: "relu6" }), input);
  x = apply(tf.layers.depthwiseConv2d({ name: "dw2", kernelSize: [3, 2], depthMultiplier: 2, strides: 2, padding: "valid", useBias: false, activation: "swish" }), x);
  x = apply(tf.layers.depthwiseConv2d({ name: "dw3", kernelSize: 3, depthMultiplier: 1, padding: "same", dilationRate: 2 }), x);
  x = apply(tf.layers.depthwiseConv2d({ name: "dw4", kernelSize: 2, depthMultiplier: 2, strides: [2, 1], padding: "same", activation: "gelu" }), x);
  return tf.model({ name: "depthwise", inputs: input, outputs: x });
}

/** Separable convs: depthwise then pointwise, multipliers 1 and 2, strides, dilation. */
function separableModel(): tf.LayersModel {
  const input = tf.input({ shape: [12, 11, 4], name: "input1" });
  let x = apply(tf.layers.separableConv2d({ name: "sep1", filters: 6, kernelSize: 3, depthMultiplier: 2, strides: 2, padding: "same", activation: "gelu" }), input);
  x = apply(tf.layers.separableConv2d({ name: "sep2", filters: 5, kernelSize: 3, padding: "valid", useBias: false }), x);
  x = apply(tf.layers.separableConv2d({ name: "sep3", filters: 3, kernelSize: 2, depthMultiplier: 3, dilationRate: 2, padding: "same", activation: "relu6" }), x);
  return tf.model({ name: "separable", inputs: input, outputs: x });
}

/** Transposed convs: stride 2 same and valid, a kernel smaller than the stride, non-square strides. */
function transposeModel(): tf.LayersModel {
  const input = tf.input({ shape: [5, 4, 3], name: "input1" });
  let x = apply(tf.layers.conv2dTranspose({ name: "up1", filters: 4, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }), input);
  x = apply(tf.layers.conv2dTranspose({ name: "up2", filters: 3, kernelSize: 3, strides: 2, padding: "valid" }), x);
  x = apply(tf.layers.conv2dTranspose({ name: "up3", filters: 2, kernelSize: [4, 1], strides: [2, 3], padding: "same", useBias: false, activation: "tanh" }), x);
  x = apply(tf.layers.conv2dTranspose({ name: "up4", filters: 2, kernelSize: [1, 2], strides: [2, 1], padding: "valid" }), x);
  return tf.model({ name: "transpose", inputs: input, outputs: x });
}

/** UpSampling2D nearest and bilinear, on the input (channels-last) and after a conv (channels-first). */
function upsampleModel(): tf.LayersModel {
  const input = tf.input({ shape: [5, 6, 2], name: "input1" });
  let x = apply(tf.layers.upSampling2d({ name: "near1", size: [2, 3], interpolation: "nearest" }), input);
  x = apply(tf.layers.conv2d({ name: "conv1", filters: 3, kernelSize: 3, padding: "same" }), x);
  x = apply(tf.layers.upSampling2d({ name: "bilinear1", size: [3, 2], interpolation: "bilinear" }), x);
  const y = apply(tf.layers.upSampling2d({ name: "bilinear2", size: [2, 2], interpolation: "bilinear" }), input);
  const z = apply(tf.layers.conv2d({ name: "conv2", filters: 3, kernelSize: [4, 3], strides: [2, 1], padding: "same" }), x);
  const w = apply(tf.layers.conv2d({ name: "conv3", filters: 3, kernelSize: 2, strides: [3, 3], padding: "valid" }), z);
  const v = apply(tf.layers.add({ name: "add1" }), [w, apply(tf.layers.conv2d({ name: "conv4", filters: 3, kernelSize: 1, strides: [2, 1] }), y)]);
  return tf.model({ name: "upsample", inputs: input, outputs: v });
}

/** Asymmetric zero padding (before a conv and before a max pool) and cropping, in both layouts. */
function cropModel(): tf.LayersModel {
  const input = tf.input({ shape: [9, 10, 2], name: "input1" });
  let x = apply(tf.layers.cropping2D({ name: "crop1", cropping: [[1, 0], [2, 1]] }), input);
  x = apply(tf.layers.zeroPadding2d({ name: "pad1", padding: [[1, 2], [0, 3]] }), x);
  x = apply(tf.layers.conv2d({ name: "conv1", filters: 3, kernelSize: 3, padding: "valid" }), x);
  x = apply(tf.layers.zeroPadding2d({ name: "pad2", padding: [[0, 1], [2, 0]] }), x);
  x = apply(tf.layers.maxPooling2d({ name: "pool1", poolSize: 2, strides: 2 }), x);
  x = apply(tf.layers.cropping2D({ name: "crop2", cropping: [[0, 1], [1, 0]] }), x);
  x = apply(tf.layers.zeroPadding2d({ name: "pad3", padding: [[1, 0], [0, 1]] }), x);
  x = apply(tf.layers.maxPooling2d({ name: "pool2", poolSize: 2, strides: 1 }), x);
  return tf.model({ name: "crop", inputs: input, outputs: x });
}

/** Concatenate: 2–4 images (mixed layouts) on the channels, on the width, and vectors. */
function concatModel(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 2], name: "input1" });
  const a = apply(tf.layers.conv2d({ name: "conv1", filters: 3, kernelSize: 3, padding: "same" }), input);
  const b = apply(tf.layers.conv2d({ name: "conv2", filters: 2, kernelSize: 1 }), input);
  const two = apply(tf.layers.concatenate({ name: "cat2", axis: -1 }), [a, b]);
  const four = apply(tf.layers.concatenate({ name: "cat4" }), [input, two, b, input]);
  const wide = apply(tf.layers.concatenate({ name: "cat_width", axis: 2 }), [four, apply(tf.layers.conv2d({ name: "conv3", filters: 11, kernelSize: [1, 3], padding: "valid" }), four)]);
  const pooled = apply(tf.layers.globalAveragePooling2d({ name: "gap1" }), wide);
  const d1 = apply(tf.layers.dense({ name: "dense1", units: 4, activation: "tanh" }), pooled);
  const flat = apply(tf.layers.flatten({ name: "flatten1" }), b);
  const three = apply(tf.layers.concatenate({ name: "cat_vectors" }), [pooled, d1, flat]);
  const out = apply(tf.layers.dense({ name: "dense2", units: 5 }), three);
  return tf.model({ name: "concat", inputs: input, outputs: out });
}

/** Squeeze-and-excitation (Multiply of 1x1xC by HxWxC), same-shape Multiply, broadcast Add, a vector times an image. */
function multiplyModel(): tf.LayersModel {
  const input = tf.input({ shape: [7, 6, 4], name: "input1" });
  const features = apply(tf.layers.conv2d({ name: "conv1", filters: 6, kernelSize: 3, padding: "same", activation: "relu" }), input);
  const squeezed = apply(tf.layers.globalAveragePooling2d({ name: "gap1" }), features);
  const hidden = apply(tf.layers.dense({ name: "dense1", units: 3, activation: "relu" }), squeezed);
  const gate = apply(tf.layers.dense({ name: "dense2", units: 6, activation: "sigmoid" }), hidden);
  const gate3 = apply(tf.layers.reshape({ name: "reshape1", targetShape: [1, 1, 6] }), gate);
  const excited = apply(tf.layers.multiply({ name: "se_multiply" }), [features, gate3]);
  const other = apply(tf.layers.conv2d({ name: "conv2", filters: 6, kernelSize: 1, activation: "sigmoid" }), input);
  const same = apply(tf.layers.multiply({ name: "multiply_same" }), [excited, other, features]);
  const shifted = apply(tf.layers.add({ name: "add_broadcast" }), [gate3, same]);
  const scaled = apply(tf.layers.multiply({ name: "multiply_vector" }), [shifted, gate]);
  return tf.model({ name: "multiply", inputs: input, outputs: scaled });
}

/** Every new activation, in Activation layers and as dense/conv `activation`. */
function activationsModel(): tf.LayersModel {
  const input = tf.input({ shape: [5, 5, 3], name: "input1" });
  let x = apply(tf.layers.conv2d({ name: "conv1", filters: 4, kernelSize: 3, padding: "same", activation: "gelu" }), input);
  for (const a of ["relu6", "swish", "gelu", "mish", "softsign", "hardSigmoid"] as const) {
    const y = apply(tf.layers.activation({ name: `act_${a}`, activation: a }), x);
    x = apply(tf.layers.conv2d({ name: `conv_${a}`, filters: 4, kernelSize: 1, activation: a === "relu6" ? "swish" : a === "swish" ? "relu6" : "linear" }), y);
  }
  const flat = apply(tf.layers.flatten({ name: "flatten1" }), x);
  const d = apply(tf.layers.dense({ name: "dense_gelu", units: 8, activation: "gelu" }), flat);
  const e = apply(tf.layers.dense({ name: "dense_swish", units: 8, activation: "swish" }), d);
  const f = apply(tf.layers.dense({ name: "dense_relu6", units: 6, activation: "relu6" }), e);
  return tf.model({ name: "activations", inputs: input, outputs: f });
}

/** GELU's tanh form (`gelu_new`): TF.js saves it but cannot load it back (it looks up `geluNew`), so ONNX only. */
export function geluNewModel(): tf.LayersModel {
  const input = tf.input({ shape: [6], name: "input1" });
  const x = apply(tf.layers.dense({ name: "dense1", units: 8, activation: "gelu_new" }), input);
  const y = apply(tf.layers.activation({ name: "act1", activation: "gelu_new" }), apply(tf.layers.dense({ name: "dense2", units: 4 }), x));
  return tf.model({ name: "gelu_new", inputs: input, outputs: y });
}

/**
 * Sequences (length x channels): Conv1D (strides, same/valid, dilation, with and without
 * bias, activations), max and average pools (same with uneven padding, valid, strides other than
 * the window), batchnorm and PReLU on channels-first sequences, both global pools, a merge.
 */
function sequence1dModel(): tf.LayersModel {
  const input = tf.input({ shape: [23, 3], name: "input1" });
  let x = apply(tf.layers.conv1d({ name: "conv1", filters: 5, kernelSize: 4, padding: "same", activation: "relu" }), input);
  x = apply(tf.layers.maxPooling1d({ name: "pool1", poolSize: 3, strides: 2, padding: "same" }), x);
  x = apply(tf.layers.conv1d({ name: "conv2", filters: 6, kernelSize: 3, strides: 2, padding: "valid", useBias: false, activation: "tanh" }), x);
  x = apply(tf.layers.averagePooling1d({ name: "pool2", poolSize: 3, strides: 1, padding: "same" }), x);
  x = apply(tf.layers.batchNormalization({ name: "bn1" }), x);
  x = apply(tf.layers.prelu({ name: "prelu1" }), x);
  const a = apply(tf.layers.conv1d({ name: "conv3", filters: 4, kernelSize: 2, dilationRate: 2, padding: "same", activation: "swish" }), x);
  const b = apply(tf.layers.conv1d({ name: "conv4", filters: 4, kernelSize: 3, padding: "same" }), x);
  const c = apply(tf.layers.averagePooling1d({ name: "pool3", poolSize: 2, strides: 1, padding: "valid" }), apply(tf.layers.add({ name: "add1" }), [a, b]));
  const d = apply(tf.layers.maxPooling1d({ name: "pool4", poolSize: 2, padding: "valid" }), c);
  const max = apply(tf.layers.globalMaxPooling1d({ name: "gmax1" }), d);
  const avg = apply(tf.layers.globalAveragePooling1d({ name: "gavg1" }), c);
  const both = apply(tf.layers.concatenate({ name: "cat1" }), [max, avg]);
  return tf.model({ name: "sequence1d", inputs: input, outputs: apply(tf.layers.dense({ name: "dense1", units: 3 }), both) });
}

/** Issue 14's sequence spec, and one with every 1-D option nnc writes: built by the real emitter (`buildSpec`). */
export const SEQUENCE_SPEC = `model seq1d {
  input 100x8 -> conv 5x16 relu same -> pool 2 -> conv 3 filters 32 stride 2 -> pool avg 2 same -> global maxpool -> dense 2 softmax
}

model seq1d_more {
  input 31x3
  conv 4x6 same no_bias swish
  pool 3 stride 2 same
  conv 3x5 stride 2 same tanh
  pool avg 3 stride 1 same
  pool avg 2 stride 1 valid
  batchnorm prelu
  global avgpool
  dense 4
}
`;

/** The stock TF.js layers of issue 14, one model each, by name. */
export function buildModernModels(): Map<string, tf.LayersModel> {
  return new Map([
    ["depthwise", depthwiseModel()],
    ["separable", separableModel()],
    ["transpose", transposeModel()],
    ["upsample", upsampleModel()],
    ["crop", cropModel()],
    ["concat", concatModel()],
    ["multiply", multiplyModel()],
    ["activations", activationsModel()],
    ["sequence1d", sequence1dModel()],
  ]);
}

/** nnc's custom layers of issue 14 (`runtime/layers.ts`): grouped convs, hard activations, channel padding. */
export function customModernModel(): tf.LayersModel {
  const input = tf.input({ shape: [8, 9, 4], name: "input1" });
  let x = apply(groupedConv2d({ name: "gconv1", filters: 6, kernelSize: [3, 3], strides: [1, 1], padding: "same", groups: 2, activation: "relu6" }), input);
  x = apply(new NncHardActivation({ name: "hswish1", kind: "hard_swish" }), x);
  x = apply(groupedConv2d({ name: "gconv2", filters: 6, kernelSize: [3, 2], strides: [2, 2], padding: "valid", groups: 3, useBias: false, activation: "gelu" }), x);
  x = apply(channelPad({ name: "cpad1", channels: 2 }), x);
  x = apply(new NncHardActivation({ name: "hsigmoid1", kind: "hard_sigmoid" }), x);
  x = apply(groupedConv2d({ name: "gconv3", filters: 4, kernelSize: [1, 1], strides: [1, 1], padding: "valid", groups: 1, activation: "swish" }), x);
  // One input channel per group: the runtime's depthwise path.
  x = apply(groupedConv2d({ name: "gconv4", filters: 8, kernelSize: [3, 3], strides: [1, 1], padding: "same", groups: 4 }), x);
  const flat = apply(tf.layers.flatten({ name: "flatten1" }), x);
  const d = apply(tf.layers.dense({ name: "dense1", units: 5 }), flat);
  const padded = apply(channelPad({ name: "cpad2", channels: 3 }), d);
  const out = apply(new NncHardActivation({ name: "hswish2", kind: "hard_swish" }), padded);
  return tf.model({ name: "custom", inputs: input, outputs: out });
}

/** A grouped conv with one group only: TF.js's Conv2D in a TF.js export. */
export function oneGroupModel(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 3], name: "input1" });
  const x = apply(groupedConv2d({ name: "gconv1", filters: 4, kernelSize: [3, 3], strides: [2, 2], padding: "same", groups: 1, activation: "gelu" }), input);
  return tf.model({ name: "one_group", inputs: input, outputs: apply(tf.layers.flatten({ name: "flatten1" }), x) });
}
