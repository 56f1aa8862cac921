/**
 * Reading a trained model for export without TensorFlow.js: `model.json` (validated against
 * schema/tfjs-model.schema.json by the runtime's `json-files.ts`), the weight files its manifest
 * names (inside the model's folder, holding exactly the bytes the manifest describes), and the
 * run's `normalizer.json` and `data.json` when they are there. Every problem is an ExportError
 * naming the file.
 */
import { readFileSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { checkJson, JsonFileError, parseJson } from "../runtime/json-files.js";

export const MODEL_JSON = "model.json";
export const NORMALIZER_JSON = "normalizer.json";
export const DATA_JSON = "data.json";
/** The file that marks a run folder (`runtime/run-folder.ts`'s RUN_MARKER). */
const RUN_MARKER = "nnc-run.json";

/** A model that cannot be exported, or an output that may not be written: the message is for the user. */
export class ExportError extends Error {
  override name = "ExportError";
}

/** A path for a message: relative to the working folder when inside it. */
export function shownPath(path: string): string {
  const r = relative(process.cwd(), path);
  return r !== "" && !r.startsWith("..") && !isAbsolute(r) ? r : path;
}

/** One weight of the manifest, with where its bytes start in `ModelFolder.weights`. */
export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string };
  offset: number;
  byteLength: number;
}

/** model.json as TF.js writes it (the fields export reads or keeps). */
export interface ModelJson {
  modelTopology: Record<string, unknown>;
  weightsManifest?: { paths: string[]; weights: { name: string; shape: number[]; dtype: string; quantization?: { dtype: string } }[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  [key: string]: unknown;
}

/** normalizer.json: one statistic per input feature, row-major (see `runtime/data/normalize.ts`). */
export interface NormalizerFile {
  kind: "none" | "standard" | "minmax" | "scale";
  stats: { mean?: number[]; std?: number[]; min?: number[]; max?: number[]; factor?: number[] };
}

/** data.json, the parts export reads (schema/data.schema.json). */
export interface DataFile {
  task: "classification" | "regression";
  classes: number;
  classNames?: string[];
  targetNames?: string[];
  inputShape: number[];
  source: string;
  preprocess?: unknown;
  [key: string]: unknown;
}

export interface ModelFolder {
  /** The folder holding model.json. */
  dir: string;
  /** model.json's path as messages show it. */
  shown: string;
  modelJson: ModelJson;
  /** Every weight file's bytes, concatenated in manifest order. */
  weights: Uint8Array;
  entries: WeightEntry[];
  normalizer?: NormalizerFile;
  data?: DataFile;
  /** Where `normalizer` and `data` were read from (the folder, or the run folder above `best/`). */
  runDir: string;
}

const ELEMENT_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "there is no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a folder";
  return e instanceof Error ? e.message : String(e);
}

function readJson<T>(kind: "model" | "normalizer" | "data", path: string): T {
  const shown = shownPath(path);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ExportError(`Cannot read ${shown}: ${reason(e)}.`);
  }
  try {
    return checkJson<T>(kind, parseJson(text, shown), shown);
  } catch (e) {
    if (e instanceof JsonFileError) throw new ExportError(e.message);
    throw e;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The folder a RUN argument names: a run folder (`runs/MODEL`), any folder holding a
 * model.json (`runs/MODEL/best`), or a model.json itself. Missing paths, files that are not a
 * model.json and folders without one are ExportErrors.
 */
export function locateModel(run: string): { dir: string; json: string } {
  const path = resolve(run);
  const shown = shownPath(path);
  const hint = "Give the folder `nnc train` wrote (runs/MODEL by default, or its best/), or its model.json.";
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new ExportError(`There is no run folder ${shown}. ${hint}`);
    throw new ExportError(`Cannot read ${shown}: ${reason(e)}.`);
  }
  if (st.isDirectory()) {
    if (!isFile(join(path, MODEL_JSON))) {
      const best = isFile(join(path, "best", MODEL_JSON)) ? " Its best/ has one: export that?" : "";
      throw new ExportError(`${shown} holds no ${MODEL_JSON}: it is not a trained model's folder.${best} ${hint}`);
    }
    return { dir: path, json: MODEL_JSON };
  }
  if (st.isFile() && path.endsWith(".json")) return { dir: dirname(path), json: basename(path) };
  throw new ExportError(`${shown} is a file, not a run folder. ${hint}`);
}

/** The run folder of a model folder: itself, or its parent when that is a run folder (for best/, checkpoint/). */
function runFolderOf(dir: string): string {
  if (isFile(join(dir, RUN_MARKER)) || isFile(join(dir, NORMALIZER_JSON)) || isFile(join(dir, DATA_JSON))) return dir;
  const parent = dirname(dir);
  return isFile(join(parent, RUN_MARKER)) ? parent : dir;
}

/**
 * Reads the model in `dir` (its `json` file, model.json by default) and its weights, checked as
 * TF.js's loader would need them, and the run's normaliser and data description when present.
 */
export function readModelFolder(dir: string, json = MODEL_JSON): ModelFolder {
  const jsonPath = join(dir, json);
  const shown = shownPath(jsonPath);
  const modelJson = readJson<ModelJson>("model", jsonPath);
  const root = resolve(dir);
  const buffers: Uint8Array[] = [];
  const entries: WeightEntry[] = [];
  let offset = 0;
  let exact = true;
  for (const [g, group] of (modelJson.weightsManifest ?? []).entries()) {
    for (const w of group.weights) {
      const per = ELEMENT_BYTES[w.quantization?.dtype ?? w.dtype];
      const byteLength = (per ?? 0) * w.shape.reduce((a, b) => a * b, 1);
      if (per === undefined) exact = false;
      entries.push({ name: w.name, shape: w.shape, dtype: w.dtype, ...(w.quantization ? { quantization: w.quantization } : {}), offset, byteLength });
      offset += byteLength;
    }
    for (const [p, path] of group.paths.entries()) {
      const field = `\`weightsManifest[${g}].paths[${p}]\` (${JSON.stringify(path.length > 80 ? path.slice(0, 80) + "…" : path)})`;
      const full = resolve(root, path);
      const rel = relative(root, full);
      if (isAbsolute(path) || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path) || rel === "" || rel === ".." || rel.startsWith(".." + sep) || isAbsolute(rel)) {
        throw new ExportError(`${shown}: ${field} points outside the model's folder; weight files must lie in the folder of ${json}, named by relative paths.`);
      }
      try {
        if (!statSync(full).isFile()) throw new ExportError(`${shown}: ${field} is not a file.`);
        buffers.push(readFileSync(full));
      } catch (e) {
        if (e instanceof ExportError) throw e;
        throw new ExportError(`${shown}: ${field} cannot be read: ${reason(e)}.`);
      }
    }
  }
  const total = buffers.reduce((n, b) => n + b.byteLength, 0);
  if (exact && total !== offset) {
    throw new ExportError(`${shown}: its \`weightsManifest\` describes ${offset} bytes of weights, but its weight files hold ${total}. Was a file cut short, or the manifest edited?`);
  }
  const weights = new Uint8Array(total);
  let at = 0;
  for (const b of buffers) {
    weights.set(b, at);
    at += b.byteLength;
  }
  const runDir = runFolderOf(root);
  const folder: ModelFolder = { dir: root, shown, modelJson, weights, entries, runDir };
  if (isFile(join(runDir, NORMALIZER_JSON))) folder.normalizer = readJson<NormalizerFile>("normalizer", join(runDir, NORMALIZER_JSON));
  if (isFile(join(runDir, DATA_JSON))) folder.data = readJson<DataFile>("data", join(runDir, DATA_JSON));
  return folder;
}

/** The float32 values of a weight entry (a copy, so it is aligned). */
export function floatValues(folder: ModelFolder, entry: WeightEntry): Float32Array {
  if (entry.dtype !== "float32" || entry.quantization) {
    throw new ExportError(`${folder.shown}: the weight \`${entry.name}\` is ${entry.quantization ? `quantized to ${entry.quantization.dtype}` : entry.dtype}; export reads float32 weights only, as \`nnc train\` writes them.`);
  }
  const bytes = folder.weights.slice(entry.offset, entry.offset + entry.byteLength);
  return new Float32Array(bytes.buffer, bytes.byteOffset, entry.byteLength / 4);
}
