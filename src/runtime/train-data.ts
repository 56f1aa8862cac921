/**
 * The training loop's view of its data: which samples train, which validate and which test
 * (`splitData`), and batches of them normalised and turned into the loss's targets, read ahead
 * by one batch so a streamed source decodes the next batch while this one trains.
 *
 * The protocol is the lectures' train / validation / test: the validation split is the source's
 * own, or held out of the training data (`validate F`, stratified by class and seeded), and is
 * what early stopping, best checkpoints, search objectives and every `val_*` metric read; the
 * test split is evaluated once, after training. A recipe that reads a `val_*` metric without
 * validation data gets `DEFAULT_VALIDATION` held out, and the log says so.
 */
import * as tf from "@tensorflow/tfjs";
import { resolve } from "node:path";
import type { DataConfig, LossName, NormalizeConfig, TrainConfig } from "./config.js";
import { DataError } from "./data/common.js";
import { fitStream, type Normalizer } from "./data/normalize.js";
import { memorySamples, readBatch, subsetSamples, type Dataset, type Samples } from "./data/samples.js";

/** The fraction of the training data held out when a recipe needs validation data and names none. */
export const DEFAULT_VALIDATION = 0.1;

/** A batch as the user's own code hands it over (`train({ data: { train: batches } })`). */
export interface UserBatch {
  x: tf.Tensor;
  /** Class indices [m] (or [m, 1]), one-hot rows [m, classes], or regression targets [m, k]. */
  y: tf.Tensor;
}

/** A split of the user's own data: tensors (or arrays) of every sample, or batches to iterate once per epoch. */
export type UserSplit =
  | { x: tf.Tensor | Float32Array | number[] | number[][]; y: tf.Tensor | Int32Array | Float32Array | number[] | number[][] }
  | AsyncIterable<UserBatch>
  | (() => AsyncIterable<UserBatch>);

/** `train({ data })`: the user's data instead of the recipe's `data` source. */
export interface UserData {
  train: UserSplit;
  validation?: UserSplit;
  test?: UserSplit;
  /** The name of each class index, saved with the model for `nnc predict`. */
  classNames?: string[];
}

/** A split the loop reads: samples by index (in memory or streamed), or the user's batches. */
export interface LoopSplit {
  role: "training" | "validation" | "test";
  samples?: Samples;
  /** The user's batches, iterated afresh each pass. */
  batches?: () => AsyncIterable<UserBatch>;
}

/** Why a split is there, for the log: "validation: 10% of the training data held out…". */
export interface SplitPlan {
  train: LoopSplit;
  validation?: LoopSplit;
  test?: LoopSplit;
  /** Log lines that say where validation data came from. */
  notes: string[];
}

/** Whether the recipe reads a metric measured on validation data. */
export function needsValidation(config: TrainConfig, reads: readonly string[] = []): boolean {
  const metrics = [config.earlyStop?.metric, config.checkpoint?.metric, ...config.metrics, ...reads];
  return metrics.some((m) => m !== undefined && m.startsWith("val_"));
}

const percent = (f: number): string => `${+(f * 100).toFixed(2)}%`;

/**
 * Holds out `fraction` of `s`: per class (stratified), each class's samples shuffled by
 * `random` and the first ones of each taken, so every class keeps its share (largest
 * remainders decide the rounding; at least one sample is held out and one kept). Without
 * labels (regression), a shuffled fraction. Both parts keep the source's order.
 */
export function holdOut(s: Samples, fraction: number, random: () => number, targetSize = 1): { train: Samples; validation: Samples } {
  const n = s.n;
  if (n < 2) throw new DataError(`Holding out ${percent(fraction)} for validation needs at least 2 training samples, but there ${n === 1 ? "is 1" : `are ${n}`}.`);
  const total = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = s.labels ? s.labels[i]! : 0;
    let g = groups.get(c);
    if (!g) groups.set(c, (g = []));
    g.push(i);
  }
  const classes = [...groups.keys()].sort((a, b) => a - b);
  const share = classes.map((c) => (groups.get(c)!.length * total) / n);
  const take = share.map(Math.floor);
  let left = total - take.reduce((a, b) => a + b, 0);
  const byRemainder = classes.map((_, k) => k).sort((a, b) => share[b]! - take[b]! - (share[a]! - take[a]!) || a - b);
  for (const k of byRemainder) {
    if (left === 0) break;
    if (take[k]! < groups.get(classes[k]!)!.length) {
      take[k]!++;
      left--;
    }
  }
  const held = new Uint8Array(n);
  classes.forEach((c, k) => {
    const g = groups.get(c)!;
    for (let i = g.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [g[i], g[j]] = [g[j]!, g[i]!];
    }
    for (let i = 0; i < take[k]!; i++) held[g[i]!] = 1;
  });
  const valIdx: number[] = [];
  const trainIdx: number[] = [];
  for (let i = 0; i < n; i++) (held[i] ? valIdx : trainIdx).push(i);
  return { train: subsetSamples(s, Int32Array.from(trainIdx), targetSize), validation: subsetSamples(s, Int32Array.from(valIdx), targetSize) };
}

/**
 * Decides the splits: the source's validation split, else `validate F` held out of the
 * training data, else — when the recipe reads a `val_*` metric — `DEFAULT_VALIDATION` held out.
 * The test split is never used for validation. Disposes the training tensor it splits.
 */
export function splitData(data: Dataset, config: TrainConfig, random: () => number, user?: { validation?: () => AsyncIterable<UserBatch>; train?: () => AsyncIterable<UserBatch>; test?: () => AsyncIterable<UserBatch> }, reads: readonly string[] = []): SplitPlan {
  const notes: string[] = [];
  const fromUser = (role: LoopSplit["role"], b: (() => AsyncIterable<UserBatch>) | undefined): LoopSplit | undefined => (b ? { role, batches: b } : undefined);
  let train: LoopSplit = fromUser("training", user?.train) ?? { role: "training", samples: data.train };
  let validation: LoopSplit | undefined = fromUser("validation", user?.validation) ?? (data.validation ? { role: "validation", samples: data.validation } : undefined);
  const test: LoopSplit | undefined = fromUser("test", user?.test) ?? (data.test ? { role: "test", samples: data.test } : undefined);
  if (validation) {
    if (config.validate !== undefined) notes.push(`validation: the data's own validation split (${validation.samples ? `${validation.samples.n.toLocaleString("en-US")} samples` : "the batches given"}); \`validate ${config.validate}\` is not used`);
    else notes.push(`validation: the data's own validation split${validation.samples ? ` (${validation.samples.n.toLocaleString("en-US")} samples)` : ""}`);
  } else {
    const fraction = config.validate ?? (needsValidation(config, reads) ? DEFAULT_VALIDATION : undefined);
    if (fraction !== undefined) {
      if (!train.samples) {
        throw new DataError(`The recipe ${config.validate !== undefined ? `holds out \`validate ${config.validate}\`` : "reads a `val_` metric"}, but the training data is given as batches, which cannot be split: pass \`validation\` batches too.`);
      }
      const whole = train.samples;
      const parts = holdOut(whole, fraction, random, data.targetSize ?? 1);
      whole.x?.dispose();
      train = { role: "training", samples: parts.train };
      validation = { role: "validation", samples: parts.validation };
      const how = data.train.labels ? "stratified by class" : "at random";
      notes.push(
        config.validate !== undefined
          ? `validation: ${percent(fraction)} of the training data held out (${parts.validation.n.toLocaleString("en-US")} samples, ${how}, by the seed)`
          : `validation: the recipe reads a \`val_\` metric but has no validation data, so ${percent(fraction)} of the training data is held out (${parts.validation.n.toLocaleString("en-US")} samples, ${how}); add \`validate F\` to choose the fraction`,
      );
    }
  }
  if (test) notes.push(`test: ${test.samples ? `${test.samples.n.toLocaleString("en-US")} samples` : "the batches given"}, evaluated once, after training`);
  return { train, ...(validation ? { validation } : {}), ...(test ? { test } : {}), notes };
}

/**
 * Class indices → what the loss compares with the model's output: the class (one unit) or
 * one-hot rows, as 0/1 for every loss — TF.js's hinge loss maps 0/1 labels to ±1 itself.
 */
export function classTargets(labels: Int32Array, _loss: LossName, units: number): tf.Tensor {
  return tf.tidy(() => {
    const idx = tf.tensor1d(labels, "int32");
    if (units === 1) return idx.toFloat().reshape([-1, 1]);
    return tf.oneHot(idx, units).toFloat();
  });
}

/**
 * Per-pixel class numbers (a segmentation mask per sample, `pixels` values each) → what the loss
 * compares with an output of `outputShape` [...pixels, C]: one-hot over the C channels, or the
 * class itself (0/1) for one sigmoid channel.
 */
export function pixelTargets(classes: Float32Array, outputShape: number[]): tf.Tensor {
  return tf.tidy(() => {
    const c = outputShape[outputShape.length - 1]!;
    const pixels = outputShape.slice(0, -1).reduce((p, d) => p * d, 1);
    const m = classes.length / pixels;
    const ids = tf.tensor1d(classes, "float32");
    if (c === 1) return ids.reshape([m, ...outputShape]);
    return tf.oneHot(ids.toInt(), c).toFloat().reshape([m, ...outputShape]);
  });
}

/**
 * What a batch's targets are made of: a class per sample (`labels`), regression values
 * (`values`, shaped like the output), a class per pixel (`pixels`, one-hot per pixel), or the
 * inputs themselves before normalisation (`input`: an autoencoder).
 */
export type TargetMode = "labels" | "values" | "pixels" | "input";

/** The targets of a run: from the recipe (`targets: input`), the model's output and the data. */
export function targetMode(config: TrainConfig, data: Dataset): TargetMode {
  if (config.data.target === "input") return "input";
  if (data.targetKind === "classes") return "pixels";
  if (data.targetSize !== undefined) return "values";
  return "labels";
}

/** A batch ready for the model: normalised inputs and the loss's targets. */
export interface Batch {
  x: tf.Tensor;
  y: tf.Tensor;
  size: number;
}

/**
 * Makes batches of a split: inputs gathered or read, targets built. In-memory samples are
 * normalised once, before training (`normalizeInMemory`), so their batches are only gathered;
 * streamed samples and the user's batches are normalised batch by batch.
 */
export class Batcher {
  constructor(
    private readonly normalizer: Normalizer,
    private readonly inputShape: number[],
    private readonly loss: LossName,
    private readonly units: number,
    private readonly targetSize: number,
    /** One sample's output shape (default: a vector of `units`). */
    private readonly outputShape: number[] = [units],
    private readonly mode: TargetMode = "labels",
  ) {}

  /** The samples at `idx` of `s`. */
  async of(s: Samples, idx: Int32Array): Promise<Batch> {
    let x = await readBatch(s, idx, this.inputShape);
    let y: tf.Tensor | undefined;
    if (this.mode === "input") {
      // The targets are the inputs as the source gives them: kept aside before normalising (in memory: `raw`).
      if (!s.x) y = x.reshape([idx.length, ...this.outputShape]);
      else {
        const raw = s.raw ?? s.x;
        y = tf.tidy(() => tf.gather(raw, tf.tensor1d(idx, "int32")).reshape([idx.length, ...this.outputShape]));
      }
    }
    if (!s.x) {
      const raw = x;
      x = this.normalizer.apply(raw);
      raw.dispose();
    }
    if (y) return { x, y, size: idx.length };
    if (s.labels && this.mode !== "pixels") {
      const labels = s.labels;
      y = classTargets(Int32Array.from(idx, (i) => labels[i]!), this.loss, this.units);
    } else {
      if (!s.targets) {
        x.dispose();
        throw new DataError(this.mode === "pixels" ? "The samples have no per-pixel labels." : "The samples have neither class labels nor targets.");
      }
      const k = this.targetSize;
      const t = new Float32Array(idx.length * k);
      idx.forEach((i, j) => t.set(s.targets!.subarray(i * k, (i + 1) * k), j * k));
      y = this.mode === "pixels" ? pixelTargets(t, this.outputShape) : tf.tensor(t, [idx.length, ...(k === sizeOf(this.outputShape) ? this.outputShape : [k])]);
    }
    return { x, y, size: idx.length };
  }

  /** A batch the user's code gave: checked, normalised, its `y` turned into targets. */
  user(b: UserBatch, role: string, index: number): Batch {
    const where = `batch ${index + 1} of the ${role} data`;
    if (!(b?.x instanceof tf.Tensor)) throw new DataError(`${capital(where)} is not an object { x, y } of two tensors.`);
    const m = b.x.shape[0] ?? 0;
    const size = this.inputShape.reduce((p, d) => p * d, 1);
    if (m === 0 || b.x.size !== m * size) throw new DataError(`${capital(where)}: x has the shape [${b.x.shape.join(", ")}], but the model takes [batch, ${this.inputShape.join(", ")}].`);
    if (this.mode !== "input" && !(b.y instanceof tf.Tensor)) throw new DataError(`${capital(where)} is not an object { x, y } of two tensors.`);
    if (this.mode !== "input" && b.y.shape[0] !== m) throw new DataError(`${capital(where)}: x holds ${m} samples but y holds ${b.y.shape[0]}.`);
    const x = tf.tidy(() => this.normalizer.apply(b.x.toFloat().reshape([m, ...this.inputShape])));
    try {
      return { x, y: this.userTargets(b, m, where), size: m };
    } catch (e) {
      x.dispose();
      throw e;
    }
  }

  /** The loss's targets for a batch of the user's `m` samples. */
  private userTargets(b: UserBatch, m: number, where: string): tf.Tensor {
    const outputs = sizeOf(this.outputShape);
    return tf.tidy(() => {
      if (this.mode === "input") return b.x.toFloat().reshape([m, ...this.outputShape]);
      if (this.loss === "mse" || this.loss === "mae") {
        if (b.y.size !== m * this.targetSize) throw new DataError(`${capital(where)}: y has the shape [${b.y.shape.join(", ")}], but the model gives ${this.targetSize} value${this.targetSize === 1 ? "" : "s"} per sample.`);
        return b.y.toFloat().reshape([m, ...(this.targetSize === outputs ? this.outputShape : [this.targetSize])]);
      }
      if (this.outputShape.length > 1) {
        // Per-pixel classes: one-hot like the output, or a class number per pixel.
        const pixels = outputs / this.units;
        if (b.y.size === m * outputs && this.units > 1) return b.y.toFloat().reshape([m, ...this.outputShape]);
        if (b.y.size !== m * pixels) throw new DataError(`${capital(where)}: y has the shape [${b.y.shape.join(", ")}], but the model gives ${this.outputShape.join("x")} per sample: give a class per pixel [${m}, ${this.outputShape.slice(0, -1).join(", ")}]${this.units > 1 ? ` or one-hot pixels [${m}, ${this.outputShape.join(", ")}]` : ""}.`);
        const ids = b.y.toFloat().reshape([m * pixels]);
        return this.units === 1 ? ids.reshape([m, ...this.outputShape]) : tf.oneHot(ids.toInt(), this.units).toFloat().reshape([m, ...this.outputShape]);
      }
      if (b.y.rank === 2 && b.y.shape[1] === this.units && this.units > 1) return b.y.toFloat();
      if (b.y.size !== m) throw new DataError(`${capital(where)}: y has the shape [${b.y.shape.join(", ")}]; give class indices [${m}] or one-hot rows [${m}, ${this.units}].`);
      const idx = b.y.reshape([m]).toInt();
      if (this.units === 1) return idx.toFloat().reshape([m, 1]);
      return tf.oneHot(idx, this.units).toFloat();
    });
  }
}

const capital = (s: string): string => s[0]!.toUpperCase() + s.slice(1);
const sizeOf = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);

/**
 * The batches of one pass over `split`: in `order` (or the samples' own order), at most
 * `limit`, each read while the previous one trains (the read of batch b+1 starts before batch
 * b is handed out, so a streamed source decodes in its workers meanwhile).
 */
export async function* passOver(split: LoopSplit, batcher: Batcher, batch: number, order?: Int32Array, limit = Infinity): AsyncGenerator<Batch> {
  if (split.batches) {
    let i = 0;
    for await (const b of split.batches()) {
      if (i >= limit) break;
      yield batcher.user(b, split.role, i++);
    }
    return;
  }
  const s = split.samples!;
  const n = s.n;
  const count = Math.min(Math.ceil(n / batch), limit);
  const indices = (b: number): Int32Array => {
    const from = b * batch;
    const to = Math.min(n, from + batch);
    return order ? order.slice(from, to) : Int32Array.from({ length: to - from }, (_, k) => from + k);
  };
  let pending: Promise<Batch> | undefined = count > 0 ? batcher.of(s, indices(0)) : undefined;
  try {
    for (let b = 0; b < count; b++) {
      const current = await pending!;
      pending = b + 1 < count ? batcher.of(s, indices(b + 1)) : undefined;
      // A read that fails while this batch trains is reported when it is awaited; until then, keep it from being "unhandled".
      pending?.catch(() => {});
      yield current;
    }
  } finally {
    // Stopped early (an error, Ctrl-C, `limit`): the batch read ahead is not needed.
    // (After wasm ran out of memory its heap may be broken and freeing fails too: the first error is the one reported.)
    if (pending) {
      void pending.then(
        (b) => {
          try {
            tf.dispose([b.x, b.y]);
          } catch {
            // see above
          }
        },
        () => {},
      );
    }
  }
}

/** Class indices from a label tensor or array: whole numbers from 0, or the argmax of one-hot rows. */
async function labelsOf(y: tf.Tensor | ArrayLike<number> | number[][], n: number, role: string): Promise<Int32Array> {
  const t = y instanceof tf.Tensor ? y : tf.tensor(y as number[]);
  try {
    if (t.shape[0] !== n) throw new DataError(`The ${role} data holds ${n} inputs but ${t.shape[0]} labels.`);
    if (t.rank === 2 && t.shape[1]! > 1) return Int32Array.from(await t.argMax(1).data());
    const v = await t.data();
    return Int32Array.from(v, (l, i) => {
      if (!Number.isInteger(l) || l < 0) throw new DataError(`The ${role} labels must be class indices (whole numbers from 0), but label ${i} is ${l}.`);
      return l;
    });
  } finally {
    if (!(y instanceof tf.Tensor)) t.dispose();
  }
}

/** The user's `train({ data })` as a Dataset (tensors) plus the splits given as batches. */
export async function userDataset(data: UserData, inputShape: number[], regression: boolean, targetSize: number, outputShape: number[] = [targetSize], reconstruct = false): Promise<{ dataset: Dataset; batches: { train?: () => AsyncIterable<UserBatch>; validation?: () => AsyncIterable<UserBatch>; test?: () => AsyncIterable<UserBatch> } }> {
  const batches: { train?: () => AsyncIterable<UserBatch>; validation?: () => AsyncIterable<UserBatch>; test?: () => AsyncIterable<UserBatch> } = {};
  const splits: Partial<Record<"train" | "validation" | "test", Samples>> = {};
  let classes = 0;
  for (const role of ["train", "validation", "test"] as const) {
    const given = data[role];
    if (given === undefined) continue;
    if (typeof given === "function") {
      batches[role] = given;
      continue;
    }
    const tfData = given as { iterator?: () => Promise<{ next(): Promise<IteratorResult<unknown>> }> };
    if (typeof tfData.iterator === "function") {
      // A tf.data.Dataset: a fresh iterator on each pass; its elements may be { xs, ys }.
      batches[role] = () => ({
        [Symbol.asyncIterator]: () => {
          let it: { next(): Promise<IteratorResult<unknown>> } | undefined;
          return {
            next: async (): Promise<IteratorResult<UserBatch>> => {
              it ??= await tfData.iterator!();
              const r = await it.next();
              if (r.done) return { done: true, value: undefined };
              const e = r.value as { x?: tf.Tensor; y?: tf.Tensor; xs?: tf.Tensor; ys?: tf.Tensor };
              return { done: false, value: { x: (e.x ?? e.xs)!, y: (e.y ?? e.ys)! } };
            },
          };
        },
      });
      continue;
    }
    if (typeof (given as AsyncIterable<UserBatch>)[Symbol.asyncIterator] === "function") {
      const iterable = given as AsyncIterable<UserBatch>;
      // A generator is its own iterator: it runs once, and training passes over the data many times.
      if ((iterable[Symbol.asyncIterator] as () => unknown).call(iterable) === iterable && role === "train") {
        throw new DataError("`data.train` is an async generator, which runs once, but training passes over the data once per epoch and once more to fit the normaliser: pass a function that returns a fresh one, e.g. `train: () => batches()`.");
      }
      batches[role] = () => iterable;
      continue;
    }
    const { x: gx, y: gy } = given as { x: tf.Tensor | number[]; y: tf.Tensor | number[] };
    const shown = role === "train" ? "training" : role;
    const xt = gx instanceof tf.Tensor ? gx : tf.tensor(gx as number[]);
    const n = xt.shape[0] ?? 0;
    const size = inputShape.reduce((p, d) => p * d, 1);
    if (n === 0 || xt.size !== n * size) {
      if (!(gx instanceof tf.Tensor)) xt.dispose();
      throw new DataError(`The ${shown} inputs have the shape [${xt.shape.join(", ")}], but the model takes [n, ${inputShape.join(", ")}].`);
    }
    const x = tf.tidy(() => xt.toFloat().reshape([n, ...inputShape]));
    if (!(gx instanceof tf.Tensor)) xt.dispose();
    if (reconstruct) {
      // The inputs are the targets: `y` is not read.
      splits[role] = { n, x };
      continue;
    }
    if (!regression && outputShape.length > 1) {
      // A class per pixel: class numbers shaped like the output's pixels, or one-hot pixels.
      const units = outputShape[outputShape.length - 1]!;
      const pixels = sizeOf(outputShape) / units;
      const yt = gy instanceof tf.Tensor ? gy : tf.tensor(gy as number[]);
      try {
        const ids = yt.size === n * pixels * units && units > 1 ? tf.tidy(() => yt.reshape([n * pixels, units]).argMax(1).toFloat()) : yt.size === n * pixels ? tf.tidy(() => yt.toFloat().reshape([-1])) : undefined;
        if (!ids) throw new DataError(`The ${shown} labels have the shape [${yt.shape.join(", ")}], but the model gives ${outputShape.join("x")} per sample: give a class per pixel [${n}, ${outputShape.slice(0, -1).join(", ")}]${units > 1 ? ` or one-hot pixels [${n}, ${outputShape.join(", ")}]` : ""}.`);
        const values = Float32Array.from(await ids.data());
        ids.dispose();
        const limit = units > 1 ? units : 2;
        const bad = values.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= limit);
        if (bad >= 0) throw new DataError(`The ${shown} labels: pixel ${bad % pixels} of sample ${Math.floor(bad / pixels)} is ${values[bad]}, but a class per pixel is a whole number from 0 to ${limit - 1}.`);
        splits[role] = memorySamples(x, { targets: values });
        classes = limit;
      } catch (e) {
        x.dispose();
        throw e;
      } finally {
        if (!(gy instanceof tf.Tensor)) yt.dispose();
      }
      continue;
    }
    if (regression) {
      const yt = gy instanceof tf.Tensor ? gy : tf.tensor(gy as number[]);
      const values = Float32Array.from(await yt.data());
      if (!(gy instanceof tf.Tensor)) yt.dispose();
      if (values.length !== n * targetSize) {
        x.dispose();
        throw new DataError(`The ${shown} targets hold ${values.length} values for ${n} inputs, but the model gives ${targetSize} per sample.`);
      }
      splits[role] = memorySamples(x, { targets: values });
    } else {
      let labels: Int32Array;
      try {
        labels = await labelsOf(gy, n, shown);
      } catch (e) {
        x.dispose();
        throw e;
      }
      for (const l of labels) classes = Math.max(classes, l + 1);
      splits[role] = memorySamples(x, { labels });
    }
  }
  if (!splits.train && !batches.train) throw new DataError("`train({ data })` needs `data.train`.");
  const dataset: Dataset = {
    train: splits.train ?? { n: 0 },
    classes: regression || reconstruct ? 0 : Math.max(classes, data.classNames?.length ?? 0),
    description: `the data given to train() (${splits.train ? `${splits.train.n.toLocaleString("en-US")} training samples` : "training batches"}${splits.validation ? `, ${splits.validation.n.toLocaleString("en-US")} validation` : ""}${splits.test ? `, ${splits.test.n.toLocaleString("en-US")} test` : ""})`,
    preprocess: { kind: "features" },
  };
  if (splits.validation) dataset.validation = splits.validation;
  if (splits.test) dataset.test = splits.test;
  if (regression && !reconstruct) dataset.targetSize = targetSize;
  else if (!regression && !reconstruct && outputShape.length > 1) {
    dataset.targetSize = sizeOf(outputShape) / outputShape[outputShape.length - 1]!;
    dataset.targetKind = "classes";
  }
  if (data.classNames) dataset.classNames = data.classNames;
  return { dataset, batches };
}

/**
 * One pass over the user's training batches: fits the normaliser on their inputs, batch by
 * batch, and counts the batches (what an epoch's progress counts up to).
 */
export async function fitBatches(config: NormalizeConfig, batches: () => AsyncIterable<UserBatch>, features: number): Promise<{ normalizer: Normalizer; batches: number }> {
  // Only `standard` and `minmax` need the values; the others read the batches' shapes.
  const needsValues = config.kind === "standard" || config.kind === "minmax";
  let count = 0;
  let samples = 0;
  const inputs = async function* (): AsyncGenerator<Float32Array> {
    for await (const b of batches()) {
      if (!(b?.x instanceof tf.Tensor)) throw new DataError(`Batch ${count + 1} of the training data is not an object { x, y } of two tensors.`);
      const m = b.x.shape[0] ?? 0;
      if (b.x.size !== m * features) throw new DataError(`Batch ${count + 1} of the training data: x has the shape [${b.x.shape.join(", ")}], but the model takes ${features} values per sample.`);
      count++;
      samples += m;
      if (needsValues) yield Float32Array.from((await b.x.data()) as Float32Array);
    }
    if (samples === 0) throw new DataError("The training batches given to train() are empty.");
  };
  if (!needsValues) for await (const _ of inputs()) void _;
  const normalizer = await fitStream(config, features, inputs);
  return { normalizer, batches: count };
}

/**
 * Normalises in-memory samples once, replacing their tensor (what `Batcher.of` then only gathers
 * from); streamed ones pass as they are. `keepRaw` (the inputs are the targets): the tensor as the
 * source gave it stays, as `raw`, unless normalising leaves it as it is (`normalize none`).
 */
export function normalizeInMemory(s: Samples, normalizer: Normalizer, keepRaw = false, identity = false): Samples {
  if (!s.x) return s;
  if (keepRaw && identity) return s;
  const x = normalizer.apply(s.x);
  if (keepRaw) return { ...s, x, raw: s.x };
  s.x.dispose();
  return { ...s, x };
}

/** What `data.json` records beside a trained model (schema/data.schema.json), for `nnc predict` and `nnc evaluate`. */
export function dataFacts(data: Dataset, config: TrainConfig, inputShape: number[], targetSize: number | undefined, source?: { baseDir: string }, outputShape?: number[]): Record<string, unknown> {
  const mode = targetMode(config, data);
  const task = mode === "input" ? "autoencoder" : mode === "pixels" ? "segmentation" : targetSize !== undefined ? "regression" : "classification";
  const facts: Record<string, unknown> = {
    task,
    classes: mode === "input" ? 0 : data.classes,
    inputShape,
    source: data.description,
    loss: config.loss,
  };
  if (outputShape && (outputShape.length > 1 || mode === "input")) facts["outputShape"] = outputShape;
  if (data.classNames && mode !== "input") facts["classNames"] = data.classNames;
  if (targetSize !== undefined && mode !== "input") {
    facts["targetSize"] = targetSize;
    if (data.targetNames) facts["targetNames"] = data.targetNames;
  }
  if (config.data.source === "csv" && targetSize === undefined) facts["label"] = config.data.label;
  if (data.preprocess) facts["preprocess"] = data.preprocess;
  // The recipe's source, its paths made absolute: which data trained this model (its test split is the honest one to evaluate on).
  if (source) facts["data"] = absolutePaths(config.data, source.baseDir);
  return facts;
}

/** The file and folder fields of each source: the ones `absolutePaths` resolves. */
const PATH_FIELDS = ["path", "validation", "test", "images", "labels", "train", "x", "y", "validationX", "validationY", "testX", "testY"] as const;

/** `config` with every path resolved against `baseDir` (an .npz's member names stay names). */
export function absolutePaths(config: DataConfig, baseDir: string): DataConfig {
  const out: Record<string, unknown> = { ...config };
  delete out["perClass"];
  for (const f of PATH_FIELDS) {
    const v = out[f];
    if (typeof v !== "string") continue;
    if (config.source === "npz" && f !== "path") continue;
    out[f] = resolve(baseDir, v);
  }
  return out as DataConfig;
}
