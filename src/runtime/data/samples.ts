/**
 * The contract between data sources and everything that consumes them (training, `nnc
 * evaluate`, `nnc predict --data`, `nnc inspect`, `nnc sanity`).
 *
 * A source gives a `Dataset`: a training split and, where the source has them, its own
 * validation and test splits. Each split is a `Samples`: either held in memory as one tensor
 * (`x`), or streamed (`read`), for sources larger than memory (an image folder), where the
 * consumer asks for a batch of samples by index and the source decodes them, in worker threads,
 * while the previous batch trains. Inputs are never normalised here: the normaliser is fitted
 * on the training split by the consumer.
 */
import * as tf from "@tensorflow/tfjs";
import type { ImageFit } from "../config.js";

export interface Samples {
  /** How many samples. */
  readonly n: number;
  /** Classification: each sample's class, 0..classes−1. (Neither labels nor targets: the inputs are the targets, `targets: input`.) */
  readonly labels?: Int32Array;
  /** Regression: each sample's targets, row-major, `Dataset.targetSize` per sample. */
  readonly targets?: Float32Array;
  /** In memory: every input, [n, ...inputShape], float32, as the source gives it (not normalised). */
  readonly x?: tf.Tensor;
  /**
   * In memory, when the inputs are the targets (`targets: input`) and training normalised `x`
   * in place: the inputs as the source gave them, the targets. The consumer disposes it with `x`.
   */
  readonly raw?: tf.Tensor;
  /**
   * Streamed: the inputs of the samples at `indices`, row-major, inputSize floats each, in the
   * order asked. May be called again before an earlier call resolved (prefetch). Rejects with a
   * `DataError` naming the file when a sample cannot be read.
   */
  read?(indices: Int32Array): Promise<Float32Array>;
  /** Where sample `i` comes from, for messages ("photos/train/cat/001.jpg"). */
  where?(i: number): string;
}

/** How raw inputs become the model's input: saved with a trained model, so `nnc predict` prepares new inputs the same way. */
export type Preprocess =
  /** Images decoded, converted to `channels` (1 grey, 3 RGB), fitted to height×width by `fit`, pixels scaled to [0, 1]. */
  | { kind: "image"; height: number; width: number; channels: number; fit: ImageFit }
  /** Numeric features in this order (a CSV's columns by name; other sources leave `names` out). */
  | { kind: "features"; names?: string[] };

export interface Dataset {
  train: Samples;
  /** The source's own validation split (a `validation` folder or file), when it has one. */
  validation?: Samples;
  /** The source's own test split, when it has one. */
  test?: Samples;
  /** How many classes (0 for regression). */
  classes: number;
  /** The name of each class index, where the source has names (image folders, CSV label names, CIFAR). */
  classNames?: string[];
  /** Regression: values per sample in `targets`, and their names (a CSV's target columns). */
  targetSize?: number;
  targetNames?: string[];
  /**
   * What `targets` hold: regression values (the default), or — for a model that ends in an image
   * (segmentation) — a class number per pixel, `targetSize` of them per sample, below `classes`.
   */
  targetKind?: "values" | "classes";
  /** What the source is, for messages: "mnist (8,000 training digits, 2,000 test digits)". */
  description: string;
  /** Each input value's name for messages, in row-major order, where the source has names (a CSV's columns). */
  featureNames?: string[];
  /** How raw inputs were prepared (see `Preprocess`). */
  preprocess?: Preprocess;
  /** Releases what the source holds open (worker threads, file handles); tensors are the consumer's to dispose. */
  close?(): Promise<void>;
}

/** Samples held in memory. */
export function memorySamples(x: tf.Tensor, y: { labels: Int32Array } | { targets: Float32Array }): Samples {
  const n = x.shape[0] ?? 0;
  return "labels" in y ? { n, x, labels: y.labels } : { n, x, targets: y.targets };
}

/**
 * The samples at `indices` of `s` as a new `Samples` (in memory: gathered, a new tensor the caller
 * disposes; streamed: reads through to `s`).
 */
export function subsetSamples(s: Samples, indices: Int32Array, targetSize = 1): Samples {
  const labels = s.labels ? Int32Array.from(indices, (i) => s.labels![i]!) : undefined;
  let targets: Float32Array | undefined;
  if (s.targets) {
    targets = new Float32Array(indices.length * targetSize);
    indices.forEach((i, k) => targets!.set(s.targets!.subarray(i * targetSize, (i + 1) * targetSize), k * targetSize));
  }
  const out: { -readonly [K in keyof Samples]: Samples[K] } = { n: indices.length };
  if (labels) out.labels = labels;
  if (targets) out.targets = targets;
  if (s.x) {
    const x = s.x;
    out.x = tf.tidy(() => tf.gather(x, tf.tensor1d(indices, "int32")));
  }
  if (s.read) {
    const read = s.read.bind(s);
    out.read = (idx) => read(Int32Array.from(idx, (i) => indices[i]!));
  }
  if (s.where) {
    const where = s.where.bind(s);
    out.where = (i) => where(indices[i]!);
  }
  return out;
}

/** The inputs of the samples at `indices`, as a float32 tensor [k, ...inputShape], from memory or the stream. */
export async function readBatch(s: Samples, indices: Int32Array, inputShape: number[]): Promise<tf.Tensor> {
  if (s.x) {
    const x = s.x;
    return tf.tidy(() => tf.gather(x, tf.tensor1d(indices, "int32")));
  }
  if (!s.read) throw new Error("readBatch: the samples have neither `x` nor `read`");
  const values = await s.read(indices);
  return tf.tensor(values, [indices.length, ...inputShape], "float32");
}
