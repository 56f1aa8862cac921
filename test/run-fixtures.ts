/**
 * Trained runs written directly, for the tests of `nnc predict` and `nnc evaluate`: a model
 * with known weights (input → optional flatten → one dense layer) saved by the runtime's
 * `saveModel`, its normalizer.json and data.json as `nnc train` writes them, and the same model
 * computed by hand in plain JavaScript, so every number the commands print can be checked
 * against an independent computation.
 */
import * as tf from "@tensorflow/tfjs";
import { writeFileSync } from "node:fs";
import { PNG } from "pngjs";
import { join } from "node:path";
import { saveModel } from "../src/runtime/io.js";

export interface DenseRun {
  /** One sample's input shape (an image shape is flattened before the dense layer). */
  inputShape: number[];
  /** The dense layer's kernel, [inputs][units]. */
  W: number[][];
  b: number[];
  activation: "softmax" | "sigmoid" | "linear";
  /** Standard normalisation's statistics (none when left out). */
  mean?: number[];
  std?: number[];
  /** data.json's content (no data.json when left out: a run of an older nnc). */
  data?: Record<string, unknown>;
}

/** Writes the run folder `dir` for `spec`. */
export async function writeRun(dir: string, spec: DenseRun): Promise<void> {
  await tf.setBackend("cpu");
  const input = tf.input({ shape: spec.inputShape, name: "input" });
  const flat = spec.inputShape.length > 1 ? (tf.layers.flatten({ name: "flatten1" }).apply(input) as tf.SymbolicTensor) : input;
  const dense = tf.layers.dense({ units: spec.b.length, activation: spec.activation, name: "dense1" });
  const out = dense.apply(flat) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: "m" });
  dense.setWeights([tf.tensor2d(spec.W), tf.tensor1d(spec.b)]);
  await saveModel(model, dir);
  model.dispose();
  writeFileSync(join(dir, "nnc-run.json"), JSON.stringify({ format: "nnc-run", version: 1, model: "m" }));
  const normalizer = spec.mean ? { kind: "standard", stats: { mean: spec.mean, std: spec.std } } : { kind: "none", stats: {} };
  writeFileSync(join(dir, "normalizer.json"), JSON.stringify(normalizer));
  writeFileSync(join(dir, "history.json"), JSON.stringify({ model: "m", backend: "cpu", seed: 1, epochs: [{ epoch: 1, lr: 0.01, loss: 1, seconds: 0.1 }] }));
  if (spec.data) writeFileSync(join(dir, "data.json"), JSON.stringify(spec.data, null, 2));
}

/** The run's outputs for one raw input, computed by hand (in doubles). */
export function forward(spec: DenseRun, x: number[]): number[] {
  const z = spec.b.map((bias, u) => x.reduce((s, v, i) => s + ((v - (spec.mean?.[i] ?? 0)) / (spec.std?.[i] ?? 1)) * spec.W[i]![u]!, bias));
  if (spec.activation === "linear") return z;
  if (spec.activation === "sigmoid") return z.map((v) => 1 / (1 + Math.exp(-v)));
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** A .npy file of float32 (`<f4`) or int32 (`<i4`) values, little-endian, C order, as np.save writes it. */
export function npyFile(shape: number[], values: number[], descr: "<f4" | "<i4" = "<f4"): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  while ((10 + header.length + 1) % 64 !== 0) header += " ";
  header += "\n";
  const head = Buffer.alloc(10);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  head.writeUInt16LE(header.length, 8);
  const data = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => (descr === "<f4" ? data.writeFloatLE(v, i * 4) : data.writeInt32LE(v, i * 4)));
  return Buffer.concat([head, Buffer.from(header, "latin1"), data]);
}

/** A seeded generator of numbers in [0, 1) (mulberry32), so fixtures are the same on every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The three-class "iris-like" classifier of 4 features the tests share. */
export const IRIS: DenseRun = {
  inputShape: [4],
  W: [
    [1.5, -0.5, -1.0],
    [-0.8, 1.2, 0.1],
    [0.3, -0.2, 1.4],
    [-1.1, 0.6, 0.9],
  ],
  b: [0.1, -0.2, 0.05],
  activation: "softmax",
  mean: [5, 3, 4, 1],
  std: [0.8, 0.4, 1.7, 0.7],
  data: {
    task: "classification",
    classes: 3,
    classNames: ["setosa", "versicolor", "virginica"],
    inputShape: [4],
    source: '"iris.csv" (150 rows, 4 features, 3 classes)',
    loss: "crossentropy",
    label: "species",
    featureNames: ["sepal_length", "sepal_width", "petal_length", "petal_width"],
    preprocess: { kind: "features", names: ["sepal_length", "sepal_width", "petal_length", "petal_width"] },
  },
};

/** Rows of IRIS's four features, drawn from a seed. */
export function irisRows(n: number, seed: number): number[][] {
  const r = random(seed);
  return Array.from({ length: n }, () => IRIS.mean!.map((m, i) => Number((m + (r() * 2 - 1) * 2 * IRIS.std![i]!).toFixed(2))));
}

/** An RGB PNG of `width` × `height` pixels from its values (R, G, B per pixel, row by row, 0..255). */
export function pngRgb(width: number, height: number, rgb: number[]): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    png.data[i * 4] = rgb[i * 3]!;
    png.data[i * 4 + 1] = rgb[i * 3 + 1]!;
    png.data[i * 4 + 2] = rgb[i * 3 + 2]!;
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}

/** A classifier of 2x2 RGB images into cat and dog, trained (as data.json says) on an image folder fitted by stretching. */
export const PHOTOS: DenseRun = {
  inputShape: [2, 2, 3],
  W: Array.from({ length: 12 }, (_, i) => [Math.sin(i) * 2, Math.cos(i) * 2]),
  b: [0.1, -0.1],
  activation: "softmax",
  data: { task: "classification", classes: 2, classNames: ["cat", "dog"], inputShape: [2, 2, 3], source: "images", loss: "crossentropy", preprocess: { kind: "image", height: 2, width: 2, channels: 3, fit: "stretch" } },
};
