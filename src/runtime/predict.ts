/**
 * Using a trained run: `nnc predict` and `nnc evaluate`, and the same from TypeScript.
 *
 * `openRun(dir)` loads what `nnc train` left in a run folder — model.json + weights.bin, the
 * normaliser's statistics (normalizer.json) and what the model expects and gives (data.json:
 * the task, class or target names, how raw inputs were prepared) — each file validated before
 * any value is used. A run without data.json (trained by an older nnc) still works: its classes
 * are the model's output units, unnamed, and its inputs are taken as already prepared.
 *
 * Inputs reach the model as they reached it in training: prepared as the source prepared them
 * (images decoded and fitted to the input size, a CSV's feature columns by name in training's
 * order), normalised with the saved statistics, then run in batches in inference mode.
 * `evaluateRun` reads any `Samples` (in memory or streamed) batch by batch, so a source larger
 * than memory is evaluated too; the confusion matrix and the loss are summed as it goes.
 *
 * Every mistake a user can make (a folder that is not a run, an input that is missing, is not
 * an image, lacks a CSV column or has the wrong shape, data whose classes the run never saw) is
 * a `PredictError` or a `DataError` whose message names the file and says what was expected.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import { selectBackend, type BackendName } from "./backends/select.js";
import type { LossName, NormalizeConfig } from "./config.js";
import { count, DataError, describeShape, plural, quote, sameShape, sizeOf } from "./data/common.js";
import { csvNumber, readCsvFile, type CsvRecord } from "./data/csv.js";
import { decodeImageFiles } from "./data/images/index.js";
import { readNpyInputs } from "./data/numpy.js";
import { restoreNormalizer, type Normalizer } from "./data/normalize.js";
import { memorySamples, readBatch, type Dataset, type Preprocess, type Samples } from "./data/samples.js";
import { loadModel, MODEL_JSON, ModelFileError, pathText } from "./io.js";
import { JsonFileError, readJsonFile } from "./json-files.js";

/** A run that cannot be used as asked: the message is for the user. */
export class PredictError extends Error {
  override name = "PredictError";
}

export const DATA_JSON = "data.json";

/** data.json (schema/data.schema.json): what a trained model expects and gives. */
export interface RunData {
  /** segmentation: a class per pixel; autoencoder: the model gives back its input (`targets: input`). */
  task: "classification" | "regression" | "segmentation" | "autoencoder";
  /** One sample's output, where it is an image (segmentation, autoencoders, image regression). */
  outputShape?: number[];
  /** How many classes (0 for regression). */
  classes: number;
  classNames?: string[];
  targetNames?: string[];
  targetSize?: number;
  inputShape: number[];
  /** The training source, in words. */
  source: string;
  loss?: LossName;
  /** A CSV's label column. */
  label?: string;
  featureNames?: string[];
  preprocess?: Preprocess;
}

/** How to read the model's outputs. */
export type OutputKind =
  /** A softmax: one probability per class, summing to 1. */
  | "softmax"
  /** Sigmoids: one probability per unit (one unit: the probability of class 1 of 2). */
  | "sigmoid"
  /** Class scores that are not probabilities (a model trained with hinge loss). */
  | "scores"
  /** Regression values. */
  | "values";

export interface TrainedRun {
  /** The run folder, as given. */
  dir: string;
  model: tf.LayersModel;
  /** The saved normaliser (identity when the run has none). */
  normalizer: Normalizer;
  /** data.json, when the run has one. */
  data?: RunData;
  /** The backend the model runs on. */
  backend: string;
  /** One sample's input shape, batch dimension left out. */
  inputShape: number[];
  /** Values of one sample's output (for a segmentation model: its channels, the classes' scores at one pixel). */
  units: number;
  /** One sample's output shape: [units], or an image (segmentation, autoencoders, image regression). */
  outputShape: number[];
  /**
   * What the model's output is compared with: a class per sample (`labels`), values (`values`),
   * a class per pixel (`pixels`: segmentation) or the input itself (`input`: an autoencoder).
   */
  target: "labels" | "values" | "pixels" | "input";
  /** Segmentation counts as classification (per pixel), an autoencoder as regression. */
  task: "classification" | "regression";
  /** Classes the model tells apart: its units, or 2 for one sigmoid unit; 0 for regression. */
  classes: number;
  /** The name of each class index, where the run has them (may be fewer than `classes` when the model has spare units). */
  classNames?: string[];
  /** Regression: each output's name (the training source's target names, or output1…). */
  targetNames: string[];
  /** The loss the run was trained with (data.json), or the one that fits its output. */
  loss: LossName;
  output: OutputKind;
  /** Samples per batch when predicting. */
  batch: number;
  /** Releases the model's weights. */
  dispose(): void;
}

export interface OpenRunOptions {
  backend?: BackendName;
  /** Where the backend's lines go (default: nowhere). */
  log?: (line: string) => void;
  /** Samples per batch when predicting and evaluating (default 256). */
  batch?: number;
}

/** Why `dir` is not a run folder, or undefined when it has a model.json. */
async function notARun(dir: string): Promise<string | undefined> {
  const shown = pathText(dir);
  const what = "A trained run is the folder `nnc train SPEC --out DIR` writes (default runs/MODEL), with model.json, weights.bin and normalizer.json.";
  let st;
  try {
    st = await stat(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return `There is no run ${shown}: no such folder. ${what}`;
    return `Cannot open the run ${shown}: ${(e as Error).message}.`;
  }
  if (!st.isDirectory()) return `${shown} is a file, not a run folder. ${what}`;
  if (existsSync(join(dir, MODEL_JSON))) return undefined;
  if (existsSync(join(dir, "checkpoint", MODEL_JSON))) {
    return `${shown} is not a finished run: it has no ${MODEL_JSON}, only a checkpoint/ of training that stopped. Finish it with \`nnc train SPEC --resume ${shown}\`, or give its checkpoint folder (${pathText(join(dir, "checkpoint"))}).`;
  }
  return `${shown} is not a trained run: it has no ${MODEL_JSON}. ${what}`;
}

/**
 * Where the run's data.json and normalizer.json are: in `dir`, or — for a model folder inside a
 * run (RUN/best, RUN/checkpoint), which holds only the model — in the run folder above it.
 */
function runFilesDir(dir: string): string {
  if (existsSync(join(dir, DATA_JSON)) || existsSync(join(dir, "normalizer.json"))) return dir;
  const up = dirname(resolve(dir));
  return existsSync(join(up, "nnc-run.json")) && (existsSync(join(up, DATA_JSON)) || existsSync(join(up, "normalizer.json"))) ? up : dir;
}

/** Reads a JSON file of the run, turning a damaged one into a PredictError naming it. */
async function runJson<T>(kind: "data" | "normalizer", dir: string, name: string): Promise<T | undefined> {
  const path = join(dir, name);
  if (!existsSync(path)) return undefined;
  try {
    return await readJsonFile<T>(kind, path, pathText(path), "Train the run again to write it afresh.");
  } catch (e) {
    if (e instanceof JsonFileError) throw new PredictError(e.message);
    throw e;
  }
}

/** The layer classes that pass their input's values through unchanged (looked past to find the output's activation). */
const PASS_THROUGH = new Set(["Dropout", "Flatten", "Reshape", "SpatialDropout1D", "SpatialDropout2D", "GaussianDropout", "AlphaDropout"]);

/** The activation the model's output goes through, as TF.js names it (`softmax`, `sigmoid`, `linear`…). */
export function outputActivation(model: tf.LayersModel): string {
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const layer = model.layers[i]!;
    const cls = layer.getClassName();
    if (PASS_THROUGH.has(cls)) continue;
    if (cls === "Softmax") return "softmax";
    const activation = (layer.getConfig() as { activation?: unknown }).activation;
    return typeof activation === "string" ? activation : "linear";
  }
  return "linear";
}

/** The loss that fits how a model ends, for a run that does not say. */
function defaultLoss(activation: string): LossName {
  return activation === "softmax" ? "crossentropy" : activation === "sigmoid" ? "binary_crossentropy" : "mse";
}

/**
 * Opens the trained run in `dir`: validates its files, starts the backend and loads the
 * model. Dispose of it when done. Every problem is a PredictError naming the file.
 */
export async function openRun(dir: string, options: OpenRunOptions = {}): Promise<TrainedRun> {
  const shown = pathText(dir);
  const why = await notARun(dir);
  if (why !== undefined) throw new PredictError(why);
  const files = runFilesDir(dir);
  const data = await runJson<RunData>("data", files, DATA_JSON);
  const saved = await runJson<{ kind: NormalizeConfig["kind"]; stats: Record<string, number[]> }>("normalizer", files, "normalizer.json");
  tf.enableProdMode();
  const batch = options.batch ?? 256;
  const perSample = await multiplyAddsPerSample(dir, data);
  const backend = await selectBackend(options.backend ?? "auto", options.log ?? (() => {}), { needsConvGradients: false, ...(perSample !== undefined ? { multiplyAddsPerBatch: perSample * batch } : {}) });
  let model: tf.LayersModel;
  try {
    model = await loadModel(dir);
  } catch (e) {
    if (e instanceof ModelFileError) throw new PredictError(e.message);
    throw e;
  }
  try {
    if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new PredictError(`The model in ${shown} has ${plural(model.inputs.length, "input")} and ${plural(model.outputs.length, "output")}; nnc predicts with models of one input and one output.`);
    const inputShape = model.inputs[0]!.shape.slice(1) as number[];
    const outputShape = model.outputs[0]!.shape.slice(1) as number[];
    const dataShown = pathText(join(dir, DATA_JSON));
    const image = outputShape.length !== 1;
    if (image && data?.task !== "segmentation" && data?.task !== "autoencoder" && data?.task !== "regression") {
      throw new PredictError(`The model in ${shown} gives ${outputShape.join("x")} per sample, and ${data ? `${dataShown} says it is a ${data.task} model` : `the run has no ${DATA_JSON} to say what it was trained for`}; nnc uses models that end in a vector (class scores or regression values), or in an image when trained for segmentation, as an autoencoder or on target images.`);
    }
    if (data?.outputShape && !sameShape(data.outputShape, outputShape)) {
      throw new PredictError(`${dataShown} says the model gives ${describeShape(data.outputShape)}, but the model in ${pathText(join(dir, MODEL_JSON))} gives ${describeShape(outputShape)}: the files come from different runs. Train the run again.`);
    }
    const channels = outputShape[outputShape.length - 1]!;
    const units = data?.task === "segmentation" ? channels : sizeOf(outputShape);
    if (data && !sameShape(data.inputShape, inputShape)) {
      throw new PredictError(`${dataShown} says the model takes ${describeShape(data.inputShape)}, but the model in ${pathText(join(dir, MODEL_JSON))} takes ${describeShape(inputShape)}: the files come from different runs. Train the run again.`);
    }
    const normalizer = savedNormalizer(saved, inputShape, pathText(join(dir, "normalizer.json")));
    const activation = outputActivation(model);
    const task = data?.task === "segmentation" ? "classification" : data?.task === "autoencoder" ? "regression" : (data?.task ?? (activation === "softmax" || activation === "sigmoid" ? "classification" : "regression"));
    const target = data?.task === "segmentation" ? "pixels" : data?.task === "autoencoder" ? "input" : task === "regression" ? "values" : "labels";
    const loss = data?.loss ?? defaultLoss(activation);
    const run: TrainedRun = {
      dir,
      model,
      normalizer,
      backend: backend.name,
      inputShape,
      units,
      outputShape,
      target,
      task,
      classes: 0,
      targetNames: [],
      loss,
      output: task === "regression" ? "values" : activation === "softmax" ? "softmax" : activation === "sigmoid" ? "sigmoid" : "scores",
      batch,
      dispose: () => model.dispose(),
    };
    if (data) run.data = data;
    if (task === "classification") {
      run.classes = units > 1 ? units : 2;
      if (data && data.classes > run.classes) throw new PredictError(`${dataShown} says the data has ${data.classes} classes, but the model ends in ${plural(units, "unit")}: the files come from different runs. Train the run again.`);
      const names = data?.classNames;
      if (names) {
        if (names.length > run.classes) throw new PredictError(`${dataShown} names ${names.length} classes, but the model tells ${run.classes} apart. Train the run again.`);
        run.classNames = names;
      }
    } else if (image) {
      // One name for the whole output: the evaluation reports its MSE and MAE over every value.
      run.targetNames = [target === "input" ? "input" : "output"];
    } else {
      const names = data?.targetNames;
      if (names && names.length !== units) throw new PredictError(`${dataShown} names ${plural(names.length, "target")} (${names.slice(0, 8).map(quote).join(", ")}), but the model gives ${plural(units, "value")} per sample. Train the run again.`);
      run.targetNames = names ?? (units === 1 ? ["output"] : Array.from({ length: units }, (_, i) => `output${i + 1}`));
    }
    return run;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * About the multiply-adds of one sample's forward pass, from model.json before the model is
 * loaded (the backend is chosen first, and the wasm backend starts its threads only for large
 * models): a dense kernel [in, out] costs in × out; a convolution's kernel [kh, kw, cin, cout]
 * is counted at every position of the input image (deeper layers have fewer after pooling, so
 * this errs towards large). Undefined when model.json cannot say; loading it reports why.
 */
async function multiplyAddsPerSample(dir: string, data: RunData | undefined): Promise<number | undefined> {
  try {
    const json = JSON.parse(await readFile(join(dir, MODEL_JSON), "utf8")) as { weightsManifest?: { weights?: { shape?: number[] }[] }[]; modelTopology?: unknown };
    const shape = data?.inputShape ?? topologyInputShape(json.modelTopology);
    const positions = shape && shape.length === 3 ? shape[0]! * shape[1]! : 1;
    let total = 0;
    for (const group of json.weightsManifest ?? []) {
      for (const w of group.weights ?? []) {
        const dims = w.shape ?? [];
        const size = dims.reduce((a, b) => a * b, 1);
        if (dims.length === 2) total += size;
        else if (dims.length === 4) total += size * positions;
      }
    }
    return Number.isFinite(total) && total > 0 ? total : undefined;
  } catch {
    return undefined;
  }
}

/** The input shape a model.json's input layer declares (batch dimension left out), if it says. */
function topologyInputShape(topology: unknown): number[] | undefined {
  const at = (v: unknown, key: string): unknown => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[key] : undefined);
  const model = at(topology, "model_config") ?? topology;
  const layers = at(at(model, "config"), "layers");
  const first = Array.isArray(layers) ? at(layers[0], "config") : undefined;
  const shape = at(first, "batch_input_shape") ?? at(first, "batchInputShape");
  return Array.isArray(shape) && shape.slice(1).every((d) => typeof d === "number") ? (shape.slice(1) as number[]) : undefined;
}

/** The normaliser from normalizer.json, checked against the model's input (identity without one). */
function savedNormalizer(saved: { kind: NormalizeConfig["kind"]; stats: Record<string, number[]> } | undefined, inputShape: number[], shown: string): Normalizer {
  if (!saved) return restoreNormalizer({ kind: "none" }, {});
  const size = sizeOf(inputShape);
  for (const [name, values] of Object.entries(saved.stats)) {
    if (name === "factor" || values.length === size) continue;
    throw new PredictError(`${shown}: \`stats.${name}\` has ${plural(values.length, "value")}, but the model takes ${describeShape(inputShape)}: there must be one per input value. Train the run again.`);
  }
  const config: NormalizeConfig = saved.kind === "scale" ? { kind: "scale", factor: saved.stats["factor"]![0]! } : { kind: saved.kind };
  return restoreNormalizer(config, saved.stats);
}

// ── predicting ─────────────────────────────────────────────────────────────────────────────

/** One batch of outputs: `values` holds `n` rows of `run.units` values, for the samples from `start`. */
export interface OutputBatch {
  start: number;
  n: number;
  values: Float32Array;
}

/** Runs `x` (raw inputs [k, ...inputShape]) through the normaliser and the model; disposes `x`. */
async function forward(run: TrainedRun, x: tf.Tensor): Promise<Float32Array> {
  let out: tf.Tensor;
  try {
    out = tf.tidy(() => run.model.apply(run.normalizer.apply(x), { training: false }) as tf.Tensor);
  } finally {
    x.dispose();
  }
  try {
    // data(), not dataSync(): webgpu cannot read back synchronously in Node.
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

/** The model's outputs for every sample of `samples`, batch by batch, in order (normalised as in training). */
export async function* predictBatches(run: TrainedRun, samples: Samples, batch = run.batch): AsyncGenerator<OutputBatch> {
  const read = (start: number): Promise<tf.Tensor> => readBatch(samples, Int32Array.from({ length: Math.min(batch, samples.n - start) }, (_, i) => start + i), run.inputShape);
  // The next batch is read (a streamed source decodes it) while the model runs on this one.
  let next = samples.n > 0 ? read(0) : undefined;
  try {
    for (let start = 0; next; start += batch) {
      const x = await next;
      next = start + batch < samples.n ? read(start + batch) : undefined;
      yield { start, n: x.shape[0]!, values: await forward(run, x) };
    }
  } finally {
    // Stopped early (an error, or a consumer that broke off): the batch read ahead is not used.
    if (next) void next.then((x) => x.dispose(), () => {});
  }
}

/**
 * The model's outputs for `n` raw inputs (a tensor [n, ...inputShape] or their values in
 * row-major order), normalised as in training: `n` rows of `run.units` values.
 */
export async function predict(run: TrainedRun, x: tf.Tensor | Float32Array, n: number): Promise<Float32Array> {
  const size = sizeOf(run.inputShape);
  const given = x instanceof Float32Array ? x.length : x.size;
  if (given !== n * size) throw new DataError(`predict: expected ${plural(n, "input")} of ${describeShape(run.inputShape)} (${count(n * size)} values), got ${count(given)} values.`);
  const owned = x instanceof Float32Array ? tf.tensor(x, [n, ...run.inputShape], "float32") : undefined;
  const samples = memorySamples(owned ?? (x as tf.Tensor).reshape([n, ...run.inputShape]), { labels: new Int32Array(n) });
  try {
    const out = new Float32Array(n * run.units);
    for await (const b of predictBatches(run, samples)) out.set(b.values, b.start * run.units);
    return out;
  } finally {
    samples.x!.dispose();
  }
}

/** One class of a prediction: its index, its name where the run has one, and its probability (or score). */
export interface RankedClass {
  class: number;
  name?: string;
  /** The probability (softmax and sigmoid outputs). */
  p?: number;
  /** The score (outputs that are not probabilities). */
  score?: number;
}

export type Prediction = { top: RankedClass[] } | { outputs: Record<string, number> };

/** Each class's probability (or score) for sample `i` of `values`: one sigmoid unit gives [1 − p, p]. */
export function classValues(run: TrainedRun, values: Float32Array, i: number): number[] {
  if (run.units === 1) {
    const v = values[i]!;
    return run.output === "sigmoid" ? [1 - v, v] : [-v, v];
  }
  return Array.from(values.subarray(i * run.units, (i + 1) * run.units));
}

/** Sample `i` of `values` as the user reads it: the `k` likeliest classes, or the regression outputs by name. */
export function describePrediction(run: TrainedRun, values: Float32Array, i: number, k: number): Prediction {
  if (run.task === "regression") {
    const outputs: Record<string, number> = {};
    run.targetNames.forEach((name, t) => (outputs[name] = values[i * run.units + t]!));
    return { outputs };
  }
  const v = classValues(run, values, i);
  const order = v.map((_, c) => c).sort((a, b) => v[b]! - v[a]! || a - b);
  const probabilities = run.output === "softmax" || run.output === "sigmoid";
  return {
    top: order.slice(0, Math.min(k, v.length)).map((c) => {
      const name = run.classNames?.[c];
      return { class: c, ...(name !== undefined ? { name } : {}), ...(probabilities ? { p: v[c]! } : { score: v[c]! }) };
    }),
  };
}

// ── inputs from files ──────────────────────────────────────────────────────────────────────

/** Inputs read from files, ready to predict on: the samples and each one's name for the table. */
export interface InputSet {
  samples: Samples;
  /** "cat.jpg", "rows.csv:3", "x.npy[12]". */
  name(i: number): string;
}

const IMAGE_EXTENSIONS = new Set([".png", ".jpg", ".jpeg"]);

/** Whether the file name is a PNG or JPEG's. */
export const isImageFile = (path: string): boolean => IMAGE_EXTENSIONS.has(extname(path).toLowerCase());

/** The image files directly in `dir`, sorted. */
async function imagesIn(dir: string, shown: string): Promise<string[]> {
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && isImageFile(e.name)).map((e) => e.name);
  if (names.length === 0) throw new DataError(`The folder ${shown} holds no PNG or JPEG files to predict on.`, { file: dir });
  return names.sort().map((n) => join(dir, n));
}

/** Throws a DataError naming the first value of `values` that is not finite. */
function checkFinite(values: Float32Array, size: number, name: (i: number) => string): void {
  for (let j = 0; j < values.length; j++) {
    if (!Number.isFinite(values[j]!)) throw new DataError(`${name(Math.floor(j / size))}: value ${(j % size) + 1} of the input is ${values[j]}; the model needs finite numbers.`);
  }
}

/**
 * Reads the inputs named by `paths` (relative to `baseDir`): PNG/JPEG files or folders of them,
 * CSV files of feature rows, .npy arrays of prepared inputs. Consecutive images form one set.
 * Nothing is predicted yet; a file that is missing or of the wrong kind is a DataError naming it.
 */
export async function readInputs(run: TrainedRun, paths: string[], baseDir = process.cwd()): Promise<InputSet[]> {
  const sets: InputSet[] = [];
  let images: { file: string; shown: string }[] = [];
  const flushImages = (): void => {
    if (images.length > 0) sets.push(imageInputs(run, images));
    images = [];
  };
  for (const path of paths) {
    const file = resolve(baseDir, path);
    let st;
    try {
      st = await stat(file);
    } catch {
      throw new DataError(`Cannot find the input ${quote(path)}: there is no ${file}.`, { file });
    }
    if (st.isDirectory()) {
      for (const f of await imagesIn(file, quote(path))) images.push({ file: f, shown: join(path, basename(f)) });
      continue;
    }
    const ext = extname(path).toLowerCase();
    if (IMAGE_EXTENSIONS.has(ext)) {
      images.push({ file, shown: path });
      continue;
    }
    flushImages();
    if (ext === ".csv") sets.push(await csvInputs(run, file, path));
    else if (ext === ".npy") sets.push(await npyInputs(run, file, path));
    else throw new DataError(`Cannot tell what kind of input ${quote(path)} is: nnc predicts on PNG or JPEG images (.png, .jpg, .jpeg), CSV files of feature rows (.csv) and NumPy arrays of inputs (.npy).`, { file });
  }
  flushImages();
  return sets;
}

/** How image files become this run's inputs: as training prepared them, or fitted to an image-shaped input. */
export function imagePreparation(run: TrainedRun): { height: number; width: number; channels: number; fit: "crop" | "pad" | "stretch" } {
  const p = run.data?.preprocess;
  if (p?.kind === "image") return { height: p.height, width: p.width, channels: p.channels, fit: p.fit };
  const [height, width, channels] = run.inputShape;
  if (run.inputShape.length !== 3 || (channels !== 1 && channels !== 3)) {
    throw new DataError(`The run ${pathText(run.dir)} takes ${describeShape(run.inputShape)}, not images (HxWx1 or HxWx3), so it cannot predict on image files. Give it a CSV of feature rows or a .npy of inputs.`);
  }
  return { height: height!, width: width!, channels, fit: "crop" };
}

function imageInputs(run: TrainedRun, files: { file: string; shown: string }[]): InputSet {
  const prep = imagePreparation(run);
  const samples: Samples = {
    n: files.length,
    read: (indices) => decodeImageFiles(Array.from(indices, (i) => files[i]!.file), prep),
    where: (i) => files[i]!.shown,
  };
  return { samples, name: (i) => files[i]!.shown };
}

/** The feature columns a CSV must have for this run, in order: training's, or undefined when the run does not know them. */
export function featureColumns(run: TrainedRun): string[] | undefined {
  const p = run.data?.preprocess;
  return p?.kind === "features" && p.names ? p.names : undefined;
}

async function csvInputs(run: TrainedRun, file: string, path: string): Promise<InputSet> {
  const shown = quote(path);
  const table = await readCsvTable(file, shown);
  const size = sizeOf(run.inputShape);
  const wanted = featureColumns(run);
  let columns: number[];
  if (wanted) {
    columns = wanted.map((name) => {
      const at = table.names.indexOf(name);
      if (at < 0) throw new DataError(`The CSV file ${shown} has no column ${quote(name)}: the run was trained on the columns ${wanted.slice(0, 12).map(quote).join(", ")}${wanted.length > 12 ? ", …" : ""}, and needs each of them, by name.`, { file, row: table.headerRow });
      return at;
    });
  } else {
    // No names saved: every column but the label and target columns, in file order.
    const skip = new Set([run.data?.label, ...(run.data?.targetNames ?? [])].filter((n): n is string => n !== undefined));
    columns = table.names.flatMap((n, i) => (skip.has(n) ? [] : [i]));
  }
  if (columns.length !== size) {
    throw new DataError(`The CSV file ${shown} has ${plural(columns.length, "feature column")}, but the model takes ${describeShape(run.inputShape)}: one column per input value.`, { file, row: table.headerRow });
  }
  const n = table.rows.length;
  if (n === 0) throw new DataError(`The CSV file ${shown} has a header but no rows to predict on.`, { file });
  const values = new Float32Array(n * size);
  table.rows.forEach((r, k) => {
    columns.forEach((c, j) => {
      values[k * size + j] = table.number(r, c);
    });
  });
  const name = (i: number): string => `${path}:${table.rows[i]!.row}`;
  return { samples: memorySamples(tf.tensor(values, [n, ...run.inputShape], "float32"), { labels: new Int32Array(n) }), name };
}

/** A CSV file's header and rows; `number` reads a cell as the csv source reads a feature. */
interface CsvTable {
  names: string[];
  headerRow: number;
  rows: CsvRecord[];
  /** The number in column `c` of `r`, or a DataError naming the row and the column. */
  number(r: CsvRecord, c: number): number;
}

async function readCsvTable(file: string, shown: string): Promise<CsvTable> {
  const { names, headerRow, rows } = await readCsvFile(file, shown, "input");
  for (const r of rows) {
    if (r.fields.length !== names.length) throw new DataError(`${shown} row ${r.row} has ${plural(r.fields.length, "field")}, but the header names ${plural(names.length, "column")}.`, { file, row: r.row });
  }
  const number = (r: CsvRecord, c: number): number => csvNumber(r.fields[c]!, `${shown} row ${r.row}, column ${quote(names[c]!)} (${c + 1})`, "Every feature column must hold numbers.", { file, row: r.row, column: c + 1 });
  return { names, headerRow, rows, number };
}

async function npyInputs(run: TrainedRun, file: string, path: string): Promise<InputSet> {
  const { values, n } = await readNpyInputs(file, run.inputShape);
  const name = (i: number): string => `${path}[${i}]`;
  checkFinite(values, sizeOf(run.inputShape), name);
  return { samples: memorySamples(tf.tensor(values, [n, ...run.inputShape], "float32"), { labels: new Int32Array(n) }), name };
}

// ── a data source's samples for a run ──────────────────────────────────────────────────────

/** The samples `nnc evaluate` and `nnc predict --data` use from a source, and which they are. */
export interface EvaluationSamples {
  samples: Samples;
  /** "test": the source's test split; "all": every sample (it has none). */
  split: "test" | "all";
  /** Each sample's name: where it comes from, or its index. */
  name(i: number): string;
  /** Releases the tensors made here (the dataset's own are the caller's). */
  dispose(): void;
}

/** Samples of several splits as one (in memory: concatenated; otherwise read split by split). */
function concatSamples(parts: Samples[], inputShape: number[], targetSize: number): Samples {
  if (parts.length === 1) return parts[0]!;
  const n = parts.reduce((s, p) => s + p.n, 0);
  const starts = parts.map((_, i) => parts.slice(0, i).reduce((s, p) => s + p.n, 0));
  const locate = (i: number): [Samples, number] => {
    let k = parts.length - 1;
    while (starts[k]! > i) k--;
    return [parts[k]!, i - starts[k]!];
  };
  const out: { -readonly [K in keyof Samples]: Samples[K] } = { n };
  if (parts.every((p) => p.labels)) {
    out.labels = new Int32Array(n);
    parts.forEach((p, k) => out.labels!.set(p.labels!, starts[k]!));
  }
  if (parts.every((p) => p.targets)) {
    out.targets = new Float32Array(n * targetSize);
    parts.forEach((p, k) => out.targets!.set(p.targets!, starts[k]! * targetSize));
  }
  if (parts.every((p) => p.x)) out.x = tf.concat(parts.map((p) => p.x!));
  else {
    const size = sizeOf(inputShape);
    out.read = async (indices) => {
      const values = new Float32Array(indices.length * size);
      for (const [k, part] of parts.entries()) {
        const mine: number[] = [];
        const local: number[] = [];
        indices.forEach((i, j) => {
          if (i >= starts[k]! && i < starts[k]! + part.n) {
            mine.push(j);
            local.push(i - starts[k]!);
          }
        });
        if (mine.length === 0) continue;
        const x = await readBatch(part, Int32Array.from(local), inputShape);
        const got = (await x.data()) as Float32Array;
        x.dispose();
        mine.forEach((j, m) => values.set(got.subarray(m * size, (m + 1) * size), j * size));
      }
      return values;
    };
  }
  if (parts.some((p) => p.where)) {
    out.where = (i) => {
      const [p, j] = locate(i);
      return p.where?.(j) ?? String(i);
    };
  }
  return out;
}

/**
 * The samples of `data` to evaluate `run` on: the source's test split if it has one, else all
 * its samples. Class labels are mapped to the run's classes by name where both have names (a
 * test folder without one of the classes keeps the others' numbers); a class or a target
 * layout the run does not know is a DataError.
 */
export function evaluationSamples(run: TrainedRun, data: Dataset): EvaluationSamples {
  const split = data.test ? "test" : "all";
  let parts = data.test ? [data.test] : [data.train, ...(data.validation ? [data.validation] : [])];
  const targetSize = data.targetSize ?? 1;
  const created: tf.Tensor[] = [];
  const perm = featureOrder(run, data);
  if (perm) {
    parts = parts.map((p) => {
      const q = permuteFeatures(p, perm);
      if (q.x && q.x !== p.x) created.push(q.x);
      return q;
    });
  }
  let samples = concatSamples(parts, run.inputShape, targetSize);
  if (samples.x && !parts.some((p) => p.x === samples.x)) created.push(samples.x);
  if (run.target === "input") {
    // An autoencoder: the inputs are the targets, whatever labels the source has.
  } else if (run.target === "pixels") {
    const pixels = sizeOf(run.outputShape.slice(0, -1));
    if (!samples.targets || data.targetKind !== "classes") throw new DataError(`${data.description} has no class per pixel, but the run ${pathText(run.dir)} is a segmentation model (it gives ${run.outputShape.join("x")} per sample): give it masks, e.g. \`npz("test.npz", x: "images", y: "masks")\`.`);
    if (targetSize !== pixels) throw new DataError(`${data.description} gives masks of ${plural(targetSize, "pixel")}, but the run's model gives ${run.outputShape.join("x")} (${plural(pixels, "pixel")}).`);
    if (data.classes > run.classes) throw new DataError(`${data.description} has ${data.classes} classes per pixel, but the run ${pathText(run.dir)} tells only ${run.classes} apart.`);
  } else if (run.task === "classification") {
    if (!samples.labels) throw new DataError(`${data.description} has regression targets, but the run ${pathText(run.dir)} is a classifier: give it data with class labels.`);
    samples = withLabels(samples, classMap(run, data));
  } else {
    if (!samples.targets) throw new DataError(`${data.description} has class labels, but the run ${pathText(run.dir)} is a regression model: give it data with its targets (${run.targetNames.map(quote).join(", ")}).`);
    if (targetSize !== run.units) throw new DataError(`${data.description} gives ${plural(targetSize, "target")} per sample, but the run's model predicts ${plural(run.units, "value")} (${run.targetNames.map(quote).join(", ")}).`);
    const names = data.targetNames;
    if (names && run.data?.targetNames && names.join("\u0000") !== run.data.targetNames.join("\u0000")) {
      throw new DataError(`${data.description} has the targets ${names.map(quote).join(", ")}, but the run was trained on ${run.data.targetNames.map(quote).join(", ")}, in that order.`);
    }
  }
  const s = samples;
  return { samples: s, split, name: (i) => s.where?.(i) ?? String(i), dispose: () => tf.dispose(created) };
}

/**
 * Where each of the run's feature columns is among the source's (a CSV's columns by name), or
 * undefined when they are the same or either side has no names. A column the run needs and
 * the source lacks, or one the run does not know, is a DataError.
 */
function featureOrder(run: TrainedRun, data: Dataset): Int32Array | undefined {
  const ours = featureColumns(run);
  const theirs = data.preprocess?.kind === "features" ? data.preprocess.names : undefined;
  if (!ours || !theirs || ours.join("\u0000") === theirs.join("\u0000")) return undefined;
  const missing = ours.find((c) => !theirs.includes(c));
  const extra = theirs.find((c) => !ours.includes(c));
  if (missing !== undefined || extra !== undefined || run.inputShape.length !== 1) {
    const what = missing !== undefined ? `has no column ${quote(missing)}` : extra !== undefined ? `has a column ${quote(extra)} the run was not trained on` : "has the feature columns in another order";
    throw new DataError(`${data.description} ${what}: the run needs the feature columns it was trained on (${ours.slice(0, 8).map(quote).join(", ")}${ours.length > 8 ? ", …" : ""}).`);
  }
  return Int32Array.from(ours, (c) => theirs.indexOf(c));
}

/** `s` with each sample's values taken in the order `perm` (a vector input). */
function permuteFeatures(s: Samples, perm: Int32Array): Samples {
  const out: { -readonly [K in keyof Samples]: Samples[K] } = { n: s.n };
  if (s.labels) out.labels = s.labels;
  if (s.targets) out.targets = s.targets;
  if (s.where) out.where = s.where.bind(s);
  if (s.x) {
    const x = s.x;
    out.x = tf.tidy(() => tf.gather(x, tf.tensor1d(perm, "int32"), 1));
  } else if (s.read) {
    const read = s.read.bind(s);
    const k = perm.length;
    out.read = async (indices) => {
      const v = await read(indices);
      const o = new Float32Array(v.length);
      for (let i = 0; i < indices.length; i++) for (let j = 0; j < k; j++) o[i * k + j] = v[i * k + perm[j]!]!;
      return o;
    };
  }
  return out;
}

/** Each of the source's class indices → the run's, or undefined when they are the same. */
function classMap(run: TrainedRun, data: Dataset): Int32Array | undefined {
  const theirs = data.classNames;
  const ours = run.classNames;
  if (!theirs || !ours || theirs.join("\u0000") === ours.slice(0, theirs.length).join("\u0000")) {
    if (data.classes > run.classes) throw new DataError(`${data.description} has ${data.classes} classes, but the run ${pathText(run.dir)} tells only ${run.classes} apart.`);
    return undefined;
  }
  return Int32Array.from(theirs, (name) => {
    const at = ours.indexOf(name);
    if (at < 0) throw new DataError(`${data.description} has a class ${quote(name)} that the run ${pathText(run.dir)} was not trained on. Its classes: ${ours.slice(0, 20).map(quote).join(", ")}${ours.length > 20 ? ", …" : ""}.`);
    return at;
  });
}

function withLabels(s: Samples, map: Int32Array | undefined): Samples {
  if (!map) return s;
  const out: { -readonly [K in keyof Samples]: Samples[K] } = { n: s.n, labels: Int32Array.from(s.labels!, (c) => map[c]!) };
  if (s.x) out.x = s.x;
  if (s.read) out.read = s.read.bind(s);
  if (s.where) out.where = s.where.bind(s);
  return out;
}

// ── evaluating ─────────────────────────────────────────────────────────────────────────────

export interface ClassMetrics {
  class: number;
  name?: string;
  /** Of the samples predicted as this class, the fraction that are (null: none predicted). */
  precision: number | null;
  /** Of the samples of this class, the fraction predicted as it (null: none in the data). */
  recall: number | null;
  f1: number | null;
  /** Samples of this class in the data. */
  support: number;
  /** Samples predicted as this class. */
  predicted: number;
}

export interface TargetMetrics {
  name: string;
  mse: number;
  mae: number;
}

export interface Evaluation {
  task: "classification" | "regression";
  /** Samples evaluated. */
  n: number;
  /** Mean loss per sample, the run's loss. */
  loss: number;
  lossName: LossName;
  /** Classification: the fraction predicted right (the confusion matrix's trace / n). */
  accuracy?: number;
  correct?: number;
  /** Classification: rows are the true class, columns the predicted one. */
  confusion?: number[][];
  classes?: ClassMetrics[];
  /** Unweighted means over the classes present in the data. */
  macro?: { precision: number | null; recall: number | null; f1: number | null };
  /** Regression: per target, and over all of them. */
  targets?: TargetMetrics[];
  mse?: number;
  mae?: number;
  /**
   * Segmentation: the pixels evaluated (accuracy, `correct`, the confusion matrix and the
   * per-class metrics count pixels), and the mean over classes of intersection over union.
   */
  pixels?: number;
  meanIou?: number | null;
  /** A model that ends in an image (autoencoder, image regression): the values per sample the MSE and MAE are over. */
  values?: number;
}

/** What each loss compares the model's output with, from class labels. */
function labelTargets(labels: Int32Array, units: number): tf.Tensor {
  return tf.tidy(() => {
    const idx = tf.tensor1d(labels, "int32");
    return units === 1 ? idx.toFloat().reshape([-1, 1]) : tf.oneHot(idx, units).toFloat();
  });
}

/** The sum over the batch of each sample's loss (`y` as labelTargets gives it, or regression targets). */
function lossSum(loss: LossName, y: tf.Tensor, p: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    switch (loss) {
      case "crossentropy":
      case "sparse_crossentropy":
        return tf.metrics.categoricalCrossentropy(y, p).sum() as tf.Scalar;
      case "binary_crossentropy":
        return tf.metrics.binaryCrossentropy(y, p).sum() as tf.Scalar;
      case "mse":
        return tf.squaredDifference(y, p).mean(-1).sum() as tf.Scalar;
      case "mae":
        return tf.abs(tf.sub(y, p)).mean(-1).sum() as tf.Scalar;
      case "hinge":
        // y is 0/1 here; hinge compares ±1 with the score.
        return tf.relu(tf.sub(1, tf.mul(tf.sub(tf.mul(y, 2), 1), p))).mean(-1).sum() as tf.Scalar;
    }
  });
}

export interface EvaluateOptions {
  /** Samples per batch (default the run's). */
  batch?: number;
  /** Called after each batch with the samples done so far. */
  progress?: (done: number, total: number) => void;
}

/**
 * The run's loss on `samples` and, for a classifier, its accuracy, per-class precision, recall
 * and F1 and the confusion matrix; for a regression model, the MSE and MAE of each target.
 * Read batch by batch: streamed samples are never all in memory.
 */
export async function evaluateRun(run: TrainedRun, samples: Samples, options: EvaluateOptions = {}): Promise<Evaluation> {
  const n = samples.n;
  if (n === 0) throw new DataError("There are no samples to evaluate on.");
  if (run.target === "input" || run.target === "pixels" || run.outputShape.length > 1) return evaluateImages(run, samples, options);
  const regression = run.task === "regression";
  if (regression ? !samples.targets : !samples.labels) throw new DataError(regression ? "The samples have no regression targets to evaluate against." : "The samples have no class labels to evaluate against.");
  const K = run.classes;
  const confusion = regression ? [] : Array.from({ length: K }, () => new Array<number>(K).fill(0));
  const sqErr = new Float64Array(run.units);
  const absErr = new Float64Array(run.units);
  let lossTotal = 0;
  const batch = options.batch ?? run.batch;
  for await (const b of predictBatches(run, samples, batch)) {
    let y: tf.Tensor;
    if (regression) {
      y = tf.tensor2d(samples.targets!.subarray(b.start * run.units, (b.start + b.n) * run.units), [b.n, run.units]);
      for (let i = 0; i < b.n * run.units; i++) {
        const d = b.values[i]! - samples.targets![b.start * run.units + i]!;
        sqErr[i % run.units] += d * d;
        absErr[i % run.units] += Math.abs(d);
      }
    } else {
      const labels = samples.labels!.subarray(b.start, b.start + b.n);
      for (let i = 0; i < b.n; i++) {
        const truth = labels[i]!;
        if (truth < 0 || truth >= K) throw new DataError(`${samples.where?.(b.start + i) ?? `Sample ${b.start + i}`}: the label ${truth} is out of range: the run tells ${K} classes apart (0..${K - 1}).`);
        const v = classValues(run, b.values, i);
        let best = 0;
        for (let c = 1; c < v.length; c++) if (v[c]! > v[best]!) best = c;
        confusion[truth]![best]!++;
      }
      y = labelTargets(labels, run.units);
    }
    const p = tf.tensor2d(b.values, [b.n, run.units]);
    const l = lossSum(run.loss, y, p);
    lossTotal += (await l.data())[0]!;
    tf.dispose([y, p, l]);
    options.progress?.(b.start + b.n, n);
  }
  if (regression) {
    const targets = run.targetNames.map((name, t) => ({ name, mse: sqErr[t]! / n, mae: absErr[t]! / n }));
    return {
      task: "regression",
      n,
      loss: lossTotal / n,
      lossName: run.loss,
      targets,
      mse: targets.reduce((s, t) => s + t.mse, 0) / targets.length,
      mae: targets.reduce((s, t) => s + t.mae, 0) / targets.length,
    };
  }
  return { task: "classification", n, loss: lossTotal / n, lossName: run.loss, ...classMetrics(confusion, run.classNames) };
}

/**
 * A model that ends in an image: a segmentation model's per-pixel accuracy, per-class metrics
 * over pixels, mean IoU and loss (the mean over pixels, per sample); an autoencoder's or an
 * image regression's MSE and MAE over every value and loss. Read batch by batch.
 */
async function evaluateImages(run: TrainedRun, samples: Samples, options: EvaluateOptions): Promise<Evaluation> {
  const n = samples.n;
  const outputs = sizeOf(run.outputShape);
  const pixelClasses = run.target === "pixels";
  const channels = run.outputShape[run.outputShape.length - 1]!;
  const pixels = outputs / channels;
  if (run.target !== "input" && !samples.targets) throw new DataError(pixelClasses ? "The samples have no class per pixel to evaluate against." : "The samples have no target images to evaluate against.");
  const K = run.classes;
  const confusion = pixelClasses ? Array.from({ length: K }, () => new Array<number>(K).fill(0)) : [];
  let sqErr = 0;
  let absErr = 0;
  let lossTotal = 0;
  const batch = options.batch ?? run.batch;
  for (let start = 0; start < n; start += batch) {
    const m = Math.min(batch, n - start);
    const x = await readBatch(samples, Int32Array.from({ length: m }, (_, i) => start + i), run.inputShape);
    // An autoencoder's targets are its inputs as the source gives them (before normalising).
    const truth = run.target === "input" ? ((await x.data()) as Float32Array).slice() : samples.targets!.subarray(start * (pixelClasses ? pixels : outputs), (start + m) * (pixelClasses ? pixels : outputs));
    const values = await forward(run, x);
    let y: tf.Tensor;
    if (pixelClasses) {
      for (let q = 0; q < m * pixels; q++) {
        const c = truth[q]!;
        if (c < 0 || c >= K) throw new DataError(`${samples.where?.(start + Math.floor(q / pixels)) ?? `Sample ${start + Math.floor(q / pixels)}`}: pixel ${q % pixels} has the class ${c}, out of range: the run tells ${K} classes apart (0..${K - 1}).`);
        let best = 0;
        if (channels === 1) best = values[q]! > 0.5 ? 1 : 0;
        else for (let j = 1; j < channels; j++) if (values[q * channels + j]! > values[q * channels + best]!) best = j;
        confusion[c]![best]!++;
      }
      y = tf.tidy(() => (channels === 1 ? tf.tensor(truth, [m, pixels, 1]) : tf.oneHot(tf.tensor1d(truth, "float32").toInt(), channels).toFloat().reshape([m, pixels, channels])));
    } else {
      for (let i = 0; i < m * outputs; i++) {
        const d = values[i]! - truth[i]!;
        sqErr += d * d;
        absErr += Math.abs(d);
      }
      y = tf.tensor(truth, [m, outputs, 1]);
    }
    const p = tf.tensor(values, [m, pixelClasses ? pixels : outputs, pixelClasses ? channels : 1]);
    const l = tf.tidy(() => {
      // Per sample: the mean of the loss over pixels (or values).
      switch (run.loss) {
        case "crossentropy":
        case "sparse_crossentropy":
          return tf.metrics.categoricalCrossentropy(y, p).mean(1).sum();
        case "binary_crossentropy":
          return tf.metrics.binaryCrossentropy(y, p).mean(1).sum();
        case "mae":
          return tf.abs(tf.sub(y, p)).mean([1, 2]).sum();
        default:
          return tf.squaredDifference(y, p).mean([1, 2]).sum();
      }
    });
    lossTotal += (await l.data())[0]!;
    tf.dispose([y, p, l]);
    options.progress?.(start + m, n);
  }
  if (!pixelClasses) {
    const mse = sqErr / (n * outputs);
    const mae = absErr / (n * outputs);
    return { task: "regression", n, loss: lossTotal / n, lossName: run.loss, targets: [{ name: run.targetNames[0] ?? "output", mse, mae }], mse, mae, values: outputs };
  }
  const metrics = classMetrics(confusion, run.classNames);
  const ious = confusion.map((row, c) => {
    const tp = row[c]!;
    const union = row.reduce((a, b) => a + b, 0) + confusion.reduce((s, r) => s + r[c]!, 0) - tp;
    return union > 0 ? tp / union : null;
  });
  const present = ious.filter((v): v is number => v !== null);
  return { task: "classification", n, loss: lossTotal / n, lossName: run.loss, ...metrics, pixels: n * pixels, meanIou: present.length > 0 ? present.reduce((a, b) => a + b, 0) / present.length : null };
}

/** Accuracy, per-class metrics and their macro means from a confusion matrix (rows true, columns predicted). */
export function classMetrics(confusion: number[][], names?: string[]): Required<Pick<Evaluation, "accuracy" | "correct" | "confusion" | "classes" | "macro">> {
  const K = confusion.length;
  const n = confusion.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  let correct = 0;
  const classes: ClassMetrics[] = [];
  for (let c = 0; c < K; c++) {
    const tp = confusion[c]![c]!;
    correct += tp;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((s, row) => s + row[c]!, 0);
    const precision = predicted > 0 ? tp / predicted : null;
    const recall = support > 0 ? tp / support : null;
    const f1 = precision !== null && recall !== null ? (precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0) : null;
    const name = names?.[c];
    classes.push({ class: c, ...(name !== undefined ? { name } : {}), precision, recall, f1, support, predicted });
  }
  const present = classes.filter((c) => c.support > 0);
  const mean = (key: "precision" | "recall" | "f1"): number | null => (present.length === 0 ? null : present.reduce((s, c) => s + (c[key] ?? 0), 0) / present.length);
  return { accuracy: n > 0 ? correct / n : 0, correct, confusion, classes, macro: { precision: mean("precision"), recall: mean("recall"), f1: mean("f1") } };
}
