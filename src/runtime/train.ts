/**
 * The training loop generated code calls: `nnc.train(buildModel, recipe, options, info)`.
 * Picks the backend, loads and checks the data, fits the normaliser on the training split
 * only, then runs mini-batch gradient descent with the recipe's optimizer, schedule,
 * clipping, weight decay, augmentation, validation, early stopping and checkpoints, and
 * saves the model (TF.js layers format), its history and the normaliser's statistics.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { LossName, MetricName, TrainConfig } from "./config.js";
import { selectBackend, type BackendName } from "./backend.js";
import { clipGradients } from "./clip.js";
import { augmentBatch, seededRandom } from "./data/augment.js";
import { DataError, loadData } from "./data/index.js";
import { fitNormalizer } from "./data/normalize.js";
import { loadModel, saveModel, writeJsonAtomic } from "./io.js";
import { createOptimizer } from "./optimizers.js";
import { Progress } from "./progress.js";
import { learningRateAt } from "./schedules.js";

export interface TrainOptions {
  backend?: BackendName;
  /** Overrides the recipe's epochs. */
  epochs?: number;
  /** Where the model, history and checkpoints go (default `runs/<model>`). */
  out?: string;
  /** Folder the data paths are relative to (the spec's folder). */
  baseDir?: string;
  /** One JSON line per epoch instead of a progress bar. */
  logJson?: boolean;
  /** Overrides the recipe's seed. */
  seed?: number;
  /** Where log lines go (default: stderr for progress, stdout for results). */
  log?: (line: string) => void;
  /** Stop each epoch after this many batches (smoke tests). */
  maxBatchesPerEpoch?: number;
  /** Save nothing (tests). */
  noSave?: boolean;
}

/** What codegen knows about the model without building it. */
export interface ModelInfo {
  inputShape: number[];
  outputShape: number[];
  /** The model has convolutions, so training needs Conv2DBackpropFilter. */
  convolutional: boolean;
}

export interface EpochRecord {
  epoch: number;
  lr: number;
  loss: number;
  acc?: number;
  val_loss?: number;
  val_acc?: number;
  seconds: number;
}

export interface TrainResult {
  backend: string;
  seed: number;
  history: EpochRecord[];
  /** Metrics on the data source's test split, when it has one. */
  test?: { loss: number; acc?: number };
  stoppedEarly: boolean;
  outDir?: string;
}

/** A training run that cannot go on: a message for the user, no stack trace. */
export class TrainError extends Error {
  override name = "TrainError";
}

function lossFunction(loss: LossName, units: number): (y: tf.Tensor, p: tf.Tensor) => tf.Scalar {
  switch (loss) {
    case "crossentropy":
    case "sparse_crossentropy":
      return (y, p) => tf.metrics.categoricalCrossentropy(y, p).mean() as tf.Scalar;
    case "binary_crossentropy":
      return (y, p) => tf.metrics.binaryCrossentropy(y, p).mean() as tf.Scalar;
    case "mse":
      return (y, p) => tf.losses.meanSquaredError(y, p) as tf.Scalar;
    case "mae":
      return (y, p) => tf.losses.absoluteDifference(y, p) as tf.Scalar;
    case "hinge":
      return (y, p) => tf.losses.hingeLoss(y, p) as tf.Scalar;
  }
}

/** Class indices → what the loss compares with the model's output. */
function targets(labels: Int32Array, loss: LossName, units: number): tf.Tensor {
  return tf.tidy(() => {
    const idx = tf.tensor1d(labels, "int32");
    if (units === 1) {
      const y = idx.toFloat().reshape([-1, 1]);
      return loss === "hinge" ? y.mul(2).sub(1) : y;
    }
    const onehot = tf.oneHot(idx, units).toFloat();
    return loss === "hinge" ? onehot.mul(2).sub(1) : onehot;
  });
}

/** Fraction of rows whose predicted class matches. */
function accuracy(y: tf.Tensor, p: tf.Tensor, units: number): tf.Scalar {
  return tf.tidy(() => {
    if (units === 1) return p.greater(0.5).toFloat().equal(y.greater(0.5).toFloat()).toFloat().mean() as tf.Scalar;
    return p.argMax(-1).equal(y.argMax(-1)).toFloat().mean() as tf.Scalar;
  });
}

function permutation(n: number, random: () => number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

interface Split {
  x: tf.Tensor;
  y: tf.Tensor;
  n: number;
}

/** Mean loss and accuracy of the model on a split, in batches (inference mode). */
async function evaluate(model: tf.LayersModel, split: Split, lossFn: (y: tf.Tensor, p: tf.Tensor) => tf.Scalar, units: number, batch: number): Promise<{ loss: number; acc: number }> {
  let loss = 0;
  let acc = 0;
  for (let start = 0; start < split.n; start += batch) {
    const size = Math.min(batch, split.n - start);
    const [l, a] = tf.tidy(() => {
      const xb = split.x.slice(start, size);
      const yb = split.y.slice(start, size);
      const p = model.apply(xb, { training: false }) as tf.Tensor;
      return [lossFn(yb, p).mul(size), accuracy(yb, p, units).mul(size)];
    });
    // data(), not dataSync(): webgpu cannot read back synchronously in Node.
    loss += (await l!.data())[0]!;
    acc += (await a!.data())[0]!;
    l!.dispose();
    a!.dispose();
  }
  return { loss: loss / split.n, acc: acc / split.n };
}

function metricValue(record: EpochRecord, metric: MetricName): number | undefined {
  return record[metric];
}

function better(metric: MetricName, a: number, b: number | undefined): boolean {
  if (b === undefined) return true;
  return metric.endsWith("acc") ? a > b : a < b;
}

/** Copies of every weight, to restore the best epoch. */
function snapshot(model: tf.LayersModel): tf.Tensor[] {
  return model.getWeights().map((w) => w.clone());
}

export async function train(build: (seed: number) => tf.LayersModel, config: TrainConfig, options: TrainOptions = {}, info?: ModelInfo): Promise<TrainResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  // Production mode: no debug checks, and no TF.js banner on stdout (the backend line says
  // what TF.js's banner would).
  tf.enableProdMode();
  const seed = options.seed ?? config.seed ?? Math.floor(Math.random() * 2 ** 31);
  const epochs = options.epochs ?? config.epochs;
  const backend = await selectBackend(options.backend ?? "auto", log, { needsConvGradients: info?.convolutional ?? true });
  log(`seed ${seed}${config.seed === undefined && options.seed === undefined ? " (chosen at random; add `seed " + seed + "` to the recipe to repeat this run)" : ""}`);

  const model = build(seed);
  const inputShape = info?.inputShape ?? (model.inputs[0]!.shape.slice(1) as number[]);
  const outputShape = info?.outputShape ?? (model.outputs[0]!.shape.slice(1) as number[]);
  const units = outputShape[outputShape.length - 1] ?? 1;

  let data;
  try {
    data = await loadData(config.data, { inputShape, seed, baseDir: options.baseDir ?? process.cwd() });
  } catch (e) {
    model.dispose();
    if (e instanceof DataError) throw new TrainError(e.message);
    throw e;
  }
  if (units > 1 && data.classes > units) {
    model.dispose();
    throw new TrainError(`The data has ${data.classes} classes, but the model \`${config.model}\` ends in ${units} units.`);
  }
  log(`data: ${data.description}`);

  if (config.pretrained) {
    const dir = resolve(options.baseDir ?? process.cwd(), config.pretrained.replace(/model\.json$/, ""));
    const source = await loadModel(dir);
    let copied = 0;
    for (const layer of model.layers) {
      const from = source.layers.find((l) => l.name === layer.name);
      if (!from) continue;
      const ws = from.getWeights();
      const mine = layer.getWeights();
      if (ws.length === mine.length && ws.every((w, i) => w.shape.join() === mine[i]!.shape.join())) {
        layer.setWeights(ws);
        copied++;
      }
    }
    source.dispose();
    log(`pretrained: copied the weights of ${copied} layers from ${dir}`);
  }

  // Split off validation data, fit the normaliser on what is left, then make the targets.
  const random = seededRandom(seed ^ 0x9e3779b9);
  let xTrain = data.xTrain;
  let yTrainLabels = data.yTrain;
  let val: { x: tf.Tensor; labels: Int32Array } | undefined;
  if (config.validate !== undefined) {
    const n = yTrainLabels.length;
    const nVal = Math.max(1, Math.round(n * config.validate));
    const order = permutation(n, random);
    const valIdx = order.slice(0, nVal);
    const trainIdx = order.slice(nVal);
    const xAll = xTrain;
    val = { x: tf.gather(xAll, tf.tensor1d(valIdx, "int32")), labels: valIdx.map((i) => yTrainLabels[i]!) };
    xTrain = tf.gather(xAll, tf.tensor1d(trainIdx, "int32"));
    yTrainLabels = trainIdx.map((i) => yTrainLabels[i]!);
    xAll.dispose();
  } else if (data.xTest && data.yTest) {
    val = { x: data.xTest, labels: data.yTest };
  }
  const normalizer = await fitNormalizer(config.normalize, xTrain);
  const norm = (x: tf.Tensor): tf.Tensor => {
    const out = normalizer.apply(x);
    if (out !== x) x.dispose();
    return out;
  };
  const train: Split = { x: norm(xTrain), y: targets(yTrainLabels, config.loss, units), n: yTrainLabels.length };
  const valSplit: Split | undefined = val ? { x: norm(val.x), y: targets(val.labels, config.loss, units), n: val.labels.length } : undefined;
  const testSplit: Split | undefined =
    data.xTest && data.yTest && config.validate !== undefined ? { x: norm(data.xTest), y: targets(data.yTest, config.loss, units), n: data.yTest.length } : undefined;

  const lossFn = lossFunction(config.loss, units);
  const optimizer = createOptimizer(config.optimizer, config.lr);
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const vars: Record<string, tf.Variable> = Object.fromEntries(trainable.map((v) => [v.name, v]));
  const kernels = trainable.filter((v) => /kernel/.test(v.name));
  const images = inputShape.length === 3 && config.augment.length > 0;

  const outDir = options.noSave ? undefined : resolve(options.out ?? join("runs", config.model));
  if (outDir) mkdirSync(outDir, { recursive: true });
  const progress = new Progress({ json: options.logJson ?? !process.stderr.isTTY, write: log, epochs });
  const history: EpochRecord[] = [];
  let best: { value: number; weights: tf.Tensor[]; epoch: number } | undefined;
  let bestCheckpoint: number | undefined;
  let sinceBest = 0;
  let stoppedEarly = false;
  const batches = Math.ceil(train.n / config.batch);

  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const started = performance.now();
      const lr = learningRateAt(config.schedule, config.lr, epoch, epochs);
      optimizer.learningRate = lr;
      const order = permutation(train.n, random);
      let lossSum = 0;
      let accSum = 0;
      let seen = 0;
      const limit = Math.min(batches, options.maxBatchesPerEpoch ?? batches);
      for (let b = 0; b < limit; b++) {
        const idx = order.slice(b * config.batch, Math.min(train.n, (b + 1) * config.batch));
        const size = idx.length;
        const { lossValue, accValue } = tf.tidy(() => {
          const index = tf.tensor1d(idx, "int32");
          let xb = tf.gather(train.x, index);
          const yb = tf.gather(train.y, index);
          if (images) xb = augmentBatch(xb as tf.Tensor4D, config.augment, random);
          let acc: tf.Scalar | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const pred = model.apply(xb, { training: true }) as tf.Tensor;
            // The prediction dies with this scope: measure accuracy on it here.
            acc = tf.keep(accuracy(yb, pred, units));
            let loss = lossFn(yb, pred);
            for (const r of model.calculateLosses()) loss = loss.add(r);
            if (config.weightDecay > 0 && kernels.length > 0) {
              // L2 weight decay: λ/2 · Σ‖W‖² over every kernel (biases and norms are not decayed).
              loss = loss.add(tf.addN(kernels.map((k) => k.square().sum())).mul(config.weightDecay / 2));
            }
            return loss as tf.Scalar;
          }, trainable);
          const clipped = config.clip ? clipGradients(grads, config.clip) : grads;
          optimizer.applyGradients(vars, clipped);
          return { lossValue: value, accValue: acc! };
        });
        const l = (await lossValue.data())[0]!;
        const a = (await accValue.data())[0]!;
        lossValue.dispose();
        accValue.dispose();
        if (!Number.isFinite(l)) {
          throw new TrainError(`The loss became ${l} in epoch ${epoch + 1}, batch ${b + 1}: the weights diverged. Try \`clip norm 1.0\` or a lower learning rate (now ${lr}).`);
        }
        lossSum += l * size;
        accSum += a * size;
        seen += size;
        progress.batch(epoch, b + 1, limit, lossSum / seen, accSum / seen);
      }
      const record: EpochRecord = { epoch: epoch + 1, lr, loss: lossSum / seen, acc: accSum / seen, seconds: (performance.now() - started) / 1000 };
      if (valSplit) {
        const v = await evaluate(model, valSplit, lossFn, units, Math.max(config.batch, 256));
        record.val_loss = v.loss;
        record.val_acc = v.acc;
      }
      history.push(record);
      progress.epoch(record);

      if (config.checkpoint && outDir) {
        const value = metricValue(record, config.checkpoint.metric);
        if (value !== undefined && better(config.checkpoint.metric, value, bestCheckpoint)) {
          bestCheckpoint = value;
          await saveModel(model, join(outDir, "best"));
        }
      }
      if (config.earlyStop) {
        const value = metricValue(record, config.earlyStop.metric);
        if (value !== undefined) {
          if (better(config.earlyStop.metric, value, best?.value)) {
            best?.weights.forEach((w) => w.dispose());
            best = { value, weights: config.earlyStop.restoreBest ? snapshot(model) : [], epoch: epoch + 1 };
            sinceBest = 0;
          } else if (++sinceBest >= config.earlyStop.patience) {
            stoppedEarly = true;
            log(`early stop: ${config.earlyStop.metric} has not improved for ${config.earlyStop.patience} epochs (best ${best?.value.toFixed(4)} in epoch ${best?.epoch})`);
            break;
          }
        }
      }
    }
    if (config.earlyStop?.restoreBest && best && best.weights.length > 0 && best.epoch !== history.length) {
      model.setWeights(best.weights);
      log(`restored the weights of epoch ${best.epoch}`);
    }

    const result: TrainResult = { backend: backend.name, seed, history, stoppedEarly };
    // The test split: held back until now when `validate` made a validation split, else it
    // served as the validation data; either way measure the final weights on it.
    const testData = testSplit ?? (config.validate === undefined && data.xTest ? valSplit : undefined);
    if (testData) {
      const t = await evaluate(model, testData, lossFn, units, Math.max(config.batch, 256));
      result.test = { loss: t.loss, acc: t.acc };
      log(`test: loss ${t.loss.toFixed(4)}, acc ${(t.acc * 100).toFixed(2)}% on ${testData.n} samples`);
    }
    if (outDir) {
      await saveModel(model, outDir);
      await writeJsonAtomic(join(outDir, "history.json"), { model: config.model, backend: backend.name, seed, epochs: history, test: result.test ?? null });
      await writeJsonAtomic(join(outDir, "normalizer.json"), { kind: config.normalize.kind, stats: normalizer.stats });
      result.outDir = outDir;
      log(`saved ${join(outDir, "model.json")} and history.json`);
    }
    return result;
  } finally {
    best?.weights.forEach((w) => w.dispose());
    optimizer.dispose();
    for (const s of [train, valSplit, testSplit]) {
      s?.x.dispose();
      s?.y.dispose();
    }
    model.dispose();
  }
}
