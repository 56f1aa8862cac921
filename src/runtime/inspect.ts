/**
 * Watching a network before (and after) it trains, as the lectures do: one forward and one
 * backward pass on a batch of the recipe's data, and per layer the mean, spread and histogram
 * of its pre-activations (Z), activations, weights and the loss's gradients with respect to
 * those weights; the initial loss against ln(classes); and warnings, with hints, for the
 * failures these numbers expose (a signal that vanishes or explodes across layers, vanishing
 * gradients, saturated or dead units, an initial loss far from ln C).
 *
 * Z of a layer that applies its activation inline (`dense 100 tanh`, `conv … relu`) is
 * computed by a twin of the layer with a linear activation that shares its weights, applied
 * to the layer's actual input: exact for dense, conv and dilated conv alike. A layer whose
 * activation is a layer of its own (`dense1` → `dense1_leaky_relu`) is shown as one row: Z
 * is the first's output, the activation the second's. A layer without an activation has
 * Z = its output.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { LossName, NormalizeConfig, TrainConfig } from "./config.js";
import { selectBackend, type BackendName } from "./backends/select.js";
import { DataError, loadData, readBatch } from "./data/index.js";
import { fitSamples, restoreNormalizer } from "./data/normalize.js";
import { loadModel, locatePretrained, ModelFileError, pathText } from "./io.js";
import { JsonFileError, readJsonFile } from "./json-files.js";
import { outOfMemory, stackOverflow } from "./memory.js";

/** A user's problem that stops an inspection (a message, no stack trace). */
export class InspectError extends Error {
  override name = "InspectError";
}

export interface Histogram {
  /** The lower edge of the first bin and the upper edge of the last. */
  lo: number;
  hi: number;
  /** Values per bin, equal widths. */
  counts: number[];
}

export interface TensorStats {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  histogram: Histogram;
}

export interface LayerInspection {
  /** The layer's name, as in the model summary. */
  name: string;
  /** TF.js's class: Dense, Conv2D, BatchNormalization, Add, … */
  className: string;
  /** The activation the row ends in (`linear` when none). */
  activation: string;
  /** The output shape, batch dimension left out. */
  shape: number[];
  /** Pre-activations. */
  z: TensorStats;
  /** Activations (the layer's output). */
  a: TensorStats;
  /**
   * The std of the activations across the batch, per unit, as a root mean square over units:
   * how much of the input's variation the layer still passes on. (The plain std also counts
   * differences between units, so a layer that gives every sample the same output still has one.)
   */
  signal: number;
  /** For tanh and sigmoid: the fraction of activations within 1% of the asymptotes. */
  saturated?: number;
  /** For relu: the fraction of units that are 0 for every sample of the batch. */
  dead?: number;
  /** The kernel (in a layer without one, its first trainable weight: batchnorm's γ, PReLU's slopes). */
  weights?: TensorStats;
  /** The loss's gradient with respect to those weights. */
  gradients?: TensorStats;
}

export type InspectWarningKind = "vanishing-signal" | "exploding-signal" | "vanishing-gradients" | "exploding-gradients" | "saturated" | "dead-units" | "initial-loss";

export interface InspectWarning {
  kind: InspectWarningKind;
  message: string;
  hint: string;
  /** The layers it is about. */
  layers: string[];
}

export interface Inspection {
  /** Samples in the batch. */
  batch: number;
  input: TensorStats & { signal: number };
  layers: LayerInspection[];
  /** The loss on the batch (the data loss: without L1/L2 penalties). */
  loss: number;
  lossName: LossName;
  /** The output units' classes: units, or 2 for one sigmoid unit. */
  classes: number;
  /** What the loss should be with small random weights: ln C for crossentropy, ln 2 per unit for binary crossentropy. */
  expectedLoss?: number;
  warnings: InspectWarning[];
}

// ── statistics ─────────────────────────────────────────────────────────────────────────────

export const HISTOGRAM_BINS = 40;

/** Mean, std (population), range and an equal-width histogram of `values`. */
export function tensorStats(values: ArrayLike<number>, bins = HISTOGRAM_BINS): TensorStats {
  const n = values.length;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = n > 0 ? sum / n : 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    sq += d * d;
  }
  if (n === 0) {
    min = 0;
    max = 0;
  }
  let lo = min;
  let hi = max;
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.01 || 0.5;
    lo -= pad;
    hi += pad;
  }
  const counts = new Array<number>(bins).fill(0);
  const scale = bins / (hi - lo);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) * scale)))]!++;
  }
  return { count: n, mean, std: n > 0 ? Math.sqrt(sq / n) : 0, min, max, histogram: { lo, hi, counts } };
}

/** √(mean over units of the variance over the batch) of a [batch, ...unit shape] array. */
export function signalStd(values: ArrayLike<number>, batch: number): number {
  if (batch < 2) return 0;
  const units = Math.floor(values.length / batch);
  if (units === 0) return 0;
  const sum = new Float64Array(units);
  const sq = new Float64Array(units);
  for (let i = 0; i < batch; i++) {
    for (let j = 0, k = i * units; j < units; j++, k++) {
      const v = values[k]!;
      sum[j] += v;
      sq[j] += v * v;
    }
  }
  let total = 0;
  for (let j = 0; j < units; j++) {
    const m = sum[j]! / batch;
    total += Math.max(0, sq[j]! / batch - m * m);
  }
  return Math.sqrt(total / units);
}

function fraction(values: ArrayLike<number>, test: (v: number) => boolean): number {
  let k = 0;
  for (let i = 0; i < values.length; i++) if (test(values[i]!)) k++;
  return values.length > 0 ? k / values.length : 0;
}

/** Units (output positions) that are 0 for every sample. */
function deadFraction(values: ArrayLike<number>, batch: number): number {
  const units = Math.floor(values.length / batch);
  if (units === 0) return 0;
  let dead = 0;
  for (let j = 0; j < units; j++) {
    let alive = false;
    for (let i = 0; i < batch && !alive; i++) alive = values[i * units + j]! > 0;
    if (!alive) dead++;
  }
  return dead / units;
}

// ── the model's layers ─────────────────────────────────────────────────────────────────────

/** Layers that only move values around (or drop them at random): no row of their own. */
const PASS_THROUGH = new Set(["InputLayer", "ZeroPadding2D", "Flatten", "Reshape", "Dropout", "MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling2D"]);

/** Layers that are an activation and nothing else, with the activation's name. */
const ACTIVATION_LAYERS: Record<string, string> = { LeakyReLU: "leaky_relu", ELU: "elu", Softmax: "softmax", PReLU: "prelu", ReLU: "relu", NncMaxout: "maxout", NncElu: "elu" };

function configString(layer: tf.layers.Layer, key: string): string | undefined {
  const v = layer.getConfig()[key];
  return typeof v === "string" ? v : undefined;
}

/** The activation a layer applies itself: `tanh` for `dense … tanh`; undefined for none. */
function ownActivation(layer: tf.layers.Layer): string | undefined {
  const cls = layer.getClassName();
  if (cls === "Activation") return configString(layer, "activation");
  if (ACTIVATION_LAYERS[cls]) return ACTIVATION_LAYERS[cls];
  const a = configString(layer, "activation");
  return a === undefined || a === "linear" ? undefined : a;
}

function isActivationLayer(layer: tf.layers.Layer): boolean {
  return layer.getClassName() === "Activation" || ACTIVATION_LAYERS[layer.getClassName()] !== undefined;
}

function inputLayers(layer: tf.layers.Layer): tf.layers.Layer[] {
  const input = layer.input;
  return (Array.isArray(input) ? input : [input]).map((t) => t.sourceLayer);
}

/** A copy of `layer` with a linear activation and the same weights, or undefined when it has no inline activation. */
function linearTwin(layer: tf.layers.Layer, input: tf.Tensor): tf.layers.Layer | undefined {
  if (isActivationLayer(layer)) return undefined;
  const a = configString(layer, "activation");
  if (a === undefined || a === "linear") return undefined;
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[layer.getClassName()];
  if (!entry) return undefined;
  const config: tf.serialization.ConfigDict = { ...layer.getConfig(), activation: "linear", name: `${layer.name}__z` };
  for (const k of ["kernelInitializer", "biasInitializer", "kernelRegularizer", "biasRegularizer", "activityRegularizer", "kernelConstraint", "biasConstraint"]) delete config[k];
  const twin = entry[1](entry[0], config) as tf.layers.Layer;
  tf.tidy(() => {
    twin.apply(input);
  });
  twin.setWeights(layer.getWeights());
  return twin;
}

interface Row {
  /** The layer whose output is Z (and whose weights the row shows). */
  main: tf.layers.Layer;
  /** Its separate activation layer, when there is one. */
  activationLayer?: tf.layers.Layer;
}

/** One row per layer that computes something; `x` → `x_act` pairs merged into one row. */
function rows(model: tf.LayersModel): Row[] {
  const out: Row[] = [];
  const byMain = new Map<string, Row>();
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (PASS_THROUGH.has(cls)) continue;
    if (isActivationLayer(layer)) {
      const [from] = inputLayers(layer);
      const row = from ? byMain.get(from.name) : undefined;
      if (row && !row.activationLayer && ownActivation(row.main) === undefined && layer.name.startsWith(`${from!.name}_`)) {
        row.activationLayer = layer;
        continue;
      }
    }
    const row: Row = { main: layer };
    byMain.set(layer.name, row);
    out.push(row);
  }
  return out;
}

/** One array of several (no copy for one). */
function concat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Values the forward pass keeps per sample (every layer's output), for a batch that fits in memory. */
export function defaultBatch(model: tf.LayersModel): number {
  const perSample = model.layers.reduce((n, l) => {
    const shape = l.outputShape;
    const one = (Array.isArray(shape[0]) ? (shape[0] as (number | null)[]) : (shape as (number | null)[])).slice(1);
    return n + one.reduce<number>((p, d) => p * (d ?? 1), 1);
  }, 0);
  // About 64M floats (256 MB) of activations at most, and never fewer than 8 samples.
  return Math.max(8, Math.min(256, Math.floor(64e6 / Math.max(1, perSample))));
}

// ── the loss ───────────────────────────────────────────────────────────────────────────────

/** The data loss `train()` minimises, on class indices. */
function lossOn(loss: LossName, units: number, labels: Int32Array, pred: tf.Tensor): tf.Scalar {
  const idx = tf.tensor1d(labels, "int32");
  let y: tf.Tensor = units === 1 ? idx.toFloat().reshape([-1, 1]) : tf.oneHot(idx, units).toFloat();
  if (loss === "hinge") y = y.mul(2).sub(1);
  switch (loss) {
    case "crossentropy":
    case "sparse_crossentropy":
      return tf.metrics.categoricalCrossentropy(y, pred).mean() as tf.Scalar;
    case "binary_crossentropy":
      return tf.metrics.binaryCrossentropy(y, pred).mean() as tf.Scalar;
    case "mse":
      return tf.losses.meanSquaredError(y, pred) as tf.Scalar;
    case "mae":
      return tf.losses.absoluteDifference(y, pred) as tf.Scalar;
    case "hinge":
      return tf.losses.hingeLoss(y, pred) as tf.Scalar;
  }
}

function expectedLoss(loss: LossName, units: number): number | undefined {
  if ((loss === "crossentropy" || loss === "sparse_crossentropy") && units > 1) return Math.log(units);
  if (loss === "binary_crossentropy") return Math.log(2);
  return undefined;
}

// ── inspecting ─────────────────────────────────────────────────────────────────────────────

/**
 * One forward pass (training mode, as the first step of training sees it) and one backward
 * pass of `model` on `x` with class indices `labels`, and the statistics of every layer.
 * Changes no weight; disposes every tensor it makes.
 */
export async function inspectModel(model: tf.LayersModel, x: tf.Tensor, labels: Int32Array, loss: LossName, bins = HISTOGRAM_BINS): Promise<Inspection> {
  const batch = x.shape[0]!;
  const outputShape = model.outputs[0]!.shape.slice(1) as number[];
  const units = outputShape[outputShape.length - 1] ?? 1;
  const computing = model.layers.filter((l) => l.getClassName() !== "InputLayer");
  const probe = tf.model({ inputs: model.inputs, outputs: computing.map((l) => l.output as tf.SymbolicTensor) });
  const index = new Map(computing.map((l, i) => [l.name, i]));
  const finalName = model.outputs[0]!.sourceLayer.name;
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);

  let outs: tf.Tensor[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const o = probe.apply(x, { training: true });
    outs = (Array.isArray(o) ? o : [o]).map((t) => tf.keep(t as tf.Tensor));
    return lossOn(loss, units, labels, outs[index.get(finalName)!]!);
  }, trainable);
  const disposables: tf.Tensor[] = [value, ...outs, ...Object.values(grads)];
  try {
    const valueOf = (layer: tf.layers.Layer): tf.Tensor => (layer.getClassName() === "InputLayer" ? x : outs[index.get(layer.name)!]!);
    const data = async (t: tf.Tensor): Promise<Float32Array> => (await t.data()) as Float32Array;
    const inputValues = await data(x);
    const out: LayerInspection[] = [];
    for (const row of rows(model)) {
      const { main } = row;
      const last = row.activationLayer ?? main;
      const aValues = await data(valueOf(last));
      let zValues: Float32Array;
      const twinInput = inputLayers(main).length === 1 ? valueOf(inputLayers(main)[0]!) : undefined;
      const twin = twinInput ? linearTwin(main, twinInput) : undefined;
      if (twin) {
        const z = tf.tidy(() => twin.apply(twinInput!) as tf.Tensor);
        zValues = await data(z);
        z.dispose();
        twin.dispose();
      } else if (row.activationLayer) zValues = await data(valueOf(main));
      else if (isActivationLayer(main) && inputLayers(main).length === 1) zValues = await data(valueOf(inputLayers(main)[0]!));
      else zValues = aValues;
      const activation = row.activationLayer ? row.activationLayer.name.slice(main.name.length + 1) : (ownActivation(main) ?? "linear");
      const r: LayerInspection = {
        name: main.name,
        className: main.getClassName(),
        activation,
        shape: valueOf(last).shape.slice(1),
        z: tensorStats(zValues, bins),
        a: tensorStats(aValues, bins),
        signal: signalStd(aValues, batch),
      };
      if (activation === "tanh") r.saturated = fraction(aValues, (v) => Math.abs(v) > 0.99);
      if (activation === "sigmoid") r.saturated = fraction(aValues, (v) => v < 0.01 || v > 0.99);
      if (activation === "relu") r.dead = deadFraction(aValues, batch);
      const weights = main.trainableWeights;
      const kernels = weights.filter((w) => /kernel/.test(w.name));
      const shown = kernels.length > 0 ? kernels : weights.slice(0, 1);
      if (shown.length > 0) {
        const variables = shown.map((w) => w.read() as tf.Variable);
        const wv = concat(await Promise.all(variables.map((v) => data(v))));
        const gs = variables.map((v) => grads[v.name]).filter((g): g is tf.Tensor => g !== undefined);
        const gv = concat(await Promise.all(gs.map((g) => data(g))));
        r.weights = tensorStats(wv, bins);
        if (gv.length > 0) r.gradients = tensorStats(gv, bins);
      }
      out.push(r);
    }
    const lossValue = (await value.data())[0]!;
    const classes = units === 1 ? 2 : units;
    const result: Inspection = { batch, input: { ...tensorStats(inputValues, bins), signal: signalStd(inputValues, batch) }, layers: out, loss: lossValue, lossName: loss, classes, warnings: [] };
    const expected = expectedLoss(loss, units);
    if (expected !== undefined) result.expectedLoss = expected;
    result.warnings = diagnose(result);
    return result;
  } finally {
    for (const t of disposables) if (t !== x && !t.isDisposed) t.dispose();
  }
}

// ── what the numbers say ───────────────────────────────────────────────────────────────────

const fmt = (v: number): string => (v === 0 ? "0" : Math.abs(v) >= 0.01 && Math.abs(v) < 1000 ? v.toPrecision(3).replace(/\.?0+$/, "") : v.toExponential(1));
const pct = (v: number): string => `${Math.round(v * 100)}%`;

/** How much a layer's output may shrink or grow across the hidden layers before it is a warning. */
export const SIGNAL_FACTOR = 10;
/** How far the first layer's gradients may fall below (or rise above) the last one's. */
export const GRADIENT_FACTOR = 100;

function initHint(acts: Set<string>): string {
  let hint = "Initialise by fan-in: `init glorot_normal` for tanh and sigmoid, `init he_normal` for relu (or add `batchnorm` after each layer).";
  if (acts.has("sigmoid")) hint += " And prefer `tanh` or `relu` to `sigmoid` in hidden layers: its slope is at most 1/4 and its output is not centred on 0.";
  return hint;
}

/** The warnings an inspection supports, each with a hint. */
export function diagnose(r: Inspection): InspectWarning[] {
  const warnings: InspectWarning[] = [];
  // Hidden rows: every row with an activation but the last (the output).
  const hidden = r.layers.slice(0, -1).filter((l) => l.activation !== "linear" && l.activation !== "softmax");
  const acts = new Set(hidden.map((l) => l.activation));
  if (hidden.length >= 2) {
    const first = hidden[0]!;
    const last = hidden[hidden.length - 1]!;
    const ratio = last.signal / Math.max(first.signal, 1e-30);
    if (ratio < 1 / SIGNAL_FACTOR) {
      warnings.push({
        kind: "vanishing-signal",
        message: `The signal vanishes across the hidden layers: the activations' std across samples falls from ${fmt(first.signal)} in \`${first.name}\` to ${fmt(last.signal)} in \`${last.name}\` (÷${fmt(1 / Math.max(ratio, 1e-30))}), so the later layers see almost the same values for every input.`,
        hint: `The weights are too small for this depth. ${initHint(acts)}`,
        layers: hidden.map((l) => l.name),
      });
    } else if (ratio > SIGNAL_FACTOR) {
      warnings.push({
        kind: "exploding-signal",
        message: `The signal grows across the hidden layers: the activations' std across samples rises from ${fmt(first.signal)} in \`${first.name}\` to ${fmt(last.signal)} in \`${last.name}\` (×${fmt(ratio)}).`,
        hint: `The weights are too large for this depth. ${initHint(acts)}`,
        layers: hidden.map((l) => l.name),
      });
    }
  }
  const weighted = r.layers.filter((l) => l.gradients !== undefined);
  if (weighted.length >= 2) {
    const first = weighted[0]!;
    const last = weighted[weighted.length - 1]!;
    const g0 = first.gradients!.std;
    const g1 = last.gradients!.std;
    if (g1 > 0 && g0 / g1 < 1 / GRADIENT_FACTOR) {
      warnings.push({
        kind: "vanishing-gradients",
        message: `The gradients vanish: the gradient's std of \`${first.name}\`'s weights is ${fmt(g0)}, ${fmt(g1 / Math.max(g0, 1e-30))} times smaller than \`${last.name}\`'s (${fmt(g1)}), so the first layers will hardly learn.`,
        hint: initHint(acts),
        layers: weighted.map((l) => l.name),
      });
    } else if (g0 > 0 && g1 / g0 < 1 / GRADIENT_FACTOR) {
      warnings.push({
        kind: "exploding-gradients",
        message: `The gradients explode toward the input: the gradient's std of \`${first.name}\`'s weights is ${fmt(g0)}, ${fmt(g0 / Math.max(g1, 1e-30))} times larger than \`${last.name}\`'s (${fmt(g1)}).`,
        hint: `${initHint(acts)} Clipping (\`clip norm 1.0\`) keeps the steps bounded meanwhile.`,
        layers: weighted.map((l) => l.name),
      });
    }
  }
  const saturated = hidden.filter((l) => (l.saturated ?? 0) > 0.25);
  if (saturated.length > 0) {
    warnings.push({
      kind: "saturated",
      message: `Saturated units: ${saturated.map((l) => `${pct(l.saturated!)} of \`${l.name}\`'s ${l.activation} outputs`).join(", ")} sit at the asymptotes, where the slope (and so the gradient) is almost 0.`,
      hint: "The pre-activations are too large: use `init glorot_normal` (smaller weights for wide layers), and normalise the inputs (`normalize standard`).",
      layers: saturated.map((l) => l.name),
    });
  }
  const dead = hidden.filter((l) => (l.dead ?? 0) > 0.5);
  if (dead.length > 0) {
    warnings.push({
      kind: "dead-units",
      message: `Dead ReLUs: ${dead.map((l) => `${pct(l.dead!)} of \`${l.name}\`'s units`).join(", ")} give 0 for every sample of the batch, and a unit that is 0 everywhere gets no gradient.`,
      hint: "Use `init he_normal`, a small positive `bias 0.01`, or `leaky_relu`; check that the inputs are normalised.",
      layers: dead.map((l) => l.name),
    });
  }
  if (r.expectedLoss !== undefined && Number.isFinite(r.loss) && Math.abs(r.loss - r.expectedLoss) > 0.4 * r.expectedLoss) {
    const what = r.lossName === "binary_crossentropy" ? "ln 2" : `ln ${r.classes}`;
    warnings.push({
      kind: "initial-loss",
      message: `The initial loss is ${fmt(r.loss)}, but with small random weights it should be about ${what} = ${r.expectedLoss.toFixed(2)}.`,
      hint:
        r.loss > r.expectedLoss
          ? "The untrained network is already confident: the last layer's weights (or the activations reaching it) are too large. Use `init glorot_uniform` on the output layer and check the hidden layers' warnings."
          : "The loss is lower than chance allows: check that the labels and the loss match the data (a constant label, or labels leaking into the inputs).",
      layers: r.layers.length > 0 ? [r.layers[r.layers.length - 1]!.name] : [],
    });
  } else if (!Number.isFinite(r.loss)) {
    warnings.push({ kind: "initial-loss", message: `The initial loss is ${r.loss}.`, hint: "The forward pass overflows: the weights are far too large, or the inputs are not normalised.", layers: [] });
  }
  return warnings;
}

// ── on a recipe's data ─────────────────────────────────────────────────────────────────────

export interface InspectOptions {
  backend?: BackendName;
  /** Seeds the weights and the data (default: the recipe's seed, else 0). */
  seed?: number;
  /** Folder the data paths are relative to (the spec's folder). */
  baseDir?: string;
  /** Samples to run (default 256, fewer for a model whose activations would not fit: `defaultBatch`; at most the training set). */
  batch?: number;
  /** The model has trainable convolutions (the backend must have their gradients). */
  convolutional?: boolean;
  log?: (line: string) => void;
  bins?: number;
}

export interface InspectRun extends Inspection {
  backend: string;
  seed: number;
}

/** The first `batch` training samples, normalised as training normalises them. */
async function dataBatch(config: TrainConfig, inputShape: number[], units: number, seed: number, opts: InspectOptions, fits: number, saved?: { kind: NormalizeConfig; stats: Record<string, number[]> }): Promise<{ x: tf.Tensor; labels: Int32Array }> {
  let data;
  try {
    data = await loadData(config.data, { inputShape, seed, baseDir: opts.baseDir ?? process.cwd() });
  } catch (e) {
    if (e instanceof DataError) throw new InspectError(e.message);
    throw e;
  }
  const release = (): void => {
    data.train.x?.dispose();
    data.validation?.x?.dispose();
    data.test?.x?.dispose();
    void data.close?.();
  };
  if (!data.train.labels) {
    release();
    throw new InspectError(`\`nnc inspect\` looks at class predictions, but ${data.description} gives regression targets.`);
  }
  if (units > 1 && data.classes > units) {
    release();
    throw new InspectError(`The data has ${data.classes} classes, but the model \`${config.model}\` ends in ${units} units.`);
  }
  const n = Math.min(data.train.n, opts.batch ?? fits);
  const features = inputShape.reduce((a, b) => a * b, 1);
  const wrong = saved ? Object.entries(saved.stats).find(([k, v]) => k !== "factor" && v.length !== features) : undefined;
  if (wrong) {
    release();
    throw new InspectError(`The saved normalizer.json has ${wrong[1].length} values in \`stats.${wrong[0]}\`, but the model takes ${features} per example: it belongs to another model. Train it again.`);
  }
  try {
    const normalizer = saved ? restoreNormalizer(saved.kind, saved.stats) : await fitSamples(config.normalize, data.train, features);
    const raw = await readBatch(data.train, Int32Array.from({ length: n }, (_, i) => i), inputShape);
    const x = tf.tidy(() => normalizer.apply(raw));
    raw.dispose();
    return { x, labels: data.train.labels.slice(0, n) };
  } finally {
    release();
  }
}

/**
 * Builds the model as training would (same seed, so the same initial weights; a `pretrained`
 * recipe's weights copied in), takes a batch of the recipe's data and inspects it.
 */
export async function inspect(build: (seed: number) => tf.LayersModel, config: TrainConfig, options: InspectOptions = {}): Promise<InspectRun> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  tf.enableProdMode();
  const backend = await selectBackend(options.backend ?? "auto", log, { needsConvGradients: options.convolutional ?? true });
  const seed = options.seed ?? config.seed ?? 0;
  let model: tf.LayersModel;
  try {
    model = build(seed);
  } catch (e) {
    // TF.js's graph builder recurses once per layer; memory can run out building a huge model.
    if (stackOverflow(e)) throw new InspectError(`The model \`${config.model}\` is too deep for TF.js to build (Maximum call stack size exceeded: its graph builder recurses once per layer). Hint: use fewer layers (a smaller \`repeat\` count).`);
    const oom = outOfMemory(e);
    if (oom) throw new InspectError(`TF.js ran out of memory building the model \`${config.model}\` on the ${backend.name} backend (${oom}). Hint: make the model smaller.`);
    throw e;
  }
  try {
    if (config.pretrained) await copyPretrained(model, config.pretrained, options.baseDir ?? process.cwd());
    return { ...(await inspectOnData(model, config, seed, options)), backend: backend.name, seed };
  } finally {
    model.dispose();
  }
}

/** As `train()` starts a `pretrained` recipe: the saved model's weights, layer by layer where names and shapes agree. */
async function copyPretrained(model: tf.LayersModel, pretrained: string, baseDir: string): Promise<void> {
  const found = locatePretrained(pretrained, baseDir);
  if (typeof found === "string") throw new InspectError(found);
  let source: tf.LayersModel;
  try {
    source = await loadModel(found.dir, found.json);
  } catch (e) {
    if (e instanceof ModelFileError) throw new InspectError(`The pretrained model ${JSON.stringify(pretrained)} cannot be loaded: ${e.message}`);
    throw e;
  }
  for (const layer of model.layers) {
    const from = source.layers.find((l) => l.name === layer.name);
    if (!from) continue;
    const ws = from.getWeights();
    const mine = layer.getWeights();
    if (ws.length === mine.length && ws.every((w, i) => w.shape.join() === mine[i]!.shape.join())) layer.setWeights(ws);
  }
  source.dispose();
}

/**
 * The normaliser's statistics `train()` saved in `dir`, validated against
 * schema/normalizer.schema.json and against the recipe; undefined when there is no
 * normalizer.json (then they are fitted again on the training data).
 */
async function savedNormalizer(dir: string, config: TrainConfig): Promise<{ kind: NormalizeConfig; stats: Record<string, number[]> } | undefined> {
  const path = join(dir, "normalizer.json");
  if (!existsSync(path)) return undefined;
  const shown = pathText(path);
  let raw: { kind: NormalizeConfig["kind"]; stats: Record<string, number[]> };
  try {
    raw = await readJsonFile("normalizer", path, shown);
  } catch (e) {
    if (e instanceof JsonFileError) throw new InspectError(e.message);
    throw e;
  }
  if (raw.kind !== config.normalize.kind) {
    throw new InspectError(`${shown}: \`kind\` is ${JSON.stringify(raw.kind)}, but the recipe says \`normalize ${config.normalize.kind}\`: the saved model was trained with other inputs. Train it again with this recipe.`);
  }
  const lengths = Object.entries(raw.stats).filter(([k]) => k !== "factor").map(([k, v]) => [k, v.length] as const);
  const first = lengths[0];
  const odd = lengths.find(([, n]) => n !== first?.[1]);
  if (first && odd) throw new InspectError(`${shown}: \`stats.${odd[0]}\` has ${odd[1]} values, but \`stats.${first[0]}\` has ${first[1]}; there must be one per input value.`);
  return { kind: config.normalize, stats: raw.stats };
}

/**
 * Inspects a trained model saved by `train()` in `dir` (model.json, weights.bin and the
 * normaliser's statistics), on a batch of the recipe's data normalised as in training.
 */
export async function inspectSaved(dir: string, config: TrainConfig, options: InspectOptions = {}): Promise<InspectRun> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  tf.enableProdMode();
  const backend = await selectBackend(options.backend ?? "auto", log, { needsConvGradients: options.convolutional ?? true });
  const seed = options.seed ?? config.seed ?? 0;
  const saved = await savedNormalizer(dir, config);
  let model: tf.LayersModel;
  try {
    model = await loadModel(dir);
  } catch (e) {
    if (e instanceof ModelFileError) throw new InspectError(e.message);
    throw e;
  }
  try {
    return { ...(await inspectOnData(model, config, seed, options, saved)), backend: backend.name, seed };
  } finally {
    model.dispose();
  }
}

async function inspectOnData(model: tf.LayersModel, config: TrainConfig, seed: number, options: InspectOptions, saved?: { kind: NormalizeConfig; stats: Record<string, number[]> }): Promise<Inspection> {
  const inputShape = model.inputs[0]!.shape.slice(1) as number[];
  const outputShape = model.outputs[0]!.shape.slice(1) as number[];
  const units = outputShape[outputShape.length - 1] ?? 1;
  const { x, labels } = await dataBatch(config, inputShape, units, seed, options, defaultBatch(model), saved);
  try {
    return await inspectModel(model, x, labels, config.loss, options.bins);
  } finally {
    x.dispose();
  }
}
