/**
 * Saving and loading models as files without tfjs-node (pure TF.js has no `file://`
 * handler): the TF.js layers format, `model.json` (topology + weights manifest) beside
 * `weights.bin` (the weights' bytes, in manifest order), as `tfjs-node`'s `file://` handler
 * and the browser's `downloads://` write it.
 *
 * Every file is written to a temporary name in the same folder, flushed to disk and then
 * renamed over the real name, so a crash never leaves a half-written file behind. A folder
 * whose files must change together (a checkpoint) is written whole under a temporary name
 * and swapped in (`replaceDirAtomic`).
 */

import * as tf from "@tensorflow/tfjs";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { link, lstat, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { makeFolder } from "../common/make-folder.js";
import { checkJson, JsonFileError, parseJson } from "./json-files.js";
// The custom layers must be registered before a model.json that uses them is read.
import "./layers.js";

export const MODEL_JSON = "model.json";
export const WEIGHTS_BIN = "weights.bin";

/** A path for a message: relative to the working folder when inside it. */
export function pathText(path: string): string {
  const r = relative(process.cwd(), path);
  return r !== "" && !r.startsWith("..") && !isAbsolute(r) ? r : path;
}

/** A folder that cannot be made: the message names it and says why. */
export class MakeDirError extends Error {
  override name = "MakeDirError";
}

/**
 * Makes the folder `dir` and its missing parents with the shared `makeFolder` (one level at a
 * time: Node's recursive mkdir spins forever where mkdir answers ENOENT for a path whose
 * parent exists, under /proc say). A file in the way, a folder that cannot be made or written
 * to, is a MakeDirError saying which.
 */
export function makeDirs(dir: string): void {
  const target = resolve(dir);
  try {
    makeFolder(target);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const at = typeof err.path === "string" ? err.path : target;
    const why =
      err.code === "ENOTDIR"
        ? at === target
          ? "it is a file"
          : `${pathText(at)} is a file, not a folder`
        : err.code === "EACCES" || err.code === "EPERM"
          ? "permission denied"
          : err.code === "EROFS"
            ? "the file system is read-only"
            : err.code === "ENOENT"
              ? `${pathText(dirname(at))} does not take new folders`
              : err.message;
    throw new MakeDirError(`Cannot make the folder ${pathText(target)}: ${why}.`);
  }
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/** Writes `data` to a temporary file beside `path` and flushes it; returns that file's name. */
async function writeTemp(path: string, data: string | Uint8Array): Promise<string> {
  const temp = tempName(path);
  const handle = await open(temp, "wx");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  await handle.close();
  return temp;
}

/** Best effort: make the renames in `dir` durable (not every platform can open a folder). */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows cannot fsync a directory; the renames are still atomic.
  }
}

/** Writes files so that each is either its old or its new content, never a part. */
async function writeFilesAtomic(files: { path: string; data: string | Uint8Array }[]): Promise<void> {
  const temps: string[] = [];
  try {
    for (const f of files) temps.push(await writeTemp(f.path, f.data));
    for (let i = 0; i < files.length; i++) await rename(temps[i]!, files[i]!.path);
  } catch (e) {
    await Promise.all(temps.map((t) => unlink(t).catch(() => undefined)));
    throw e;
  }
  for (const d of new Set(files.map((f) => dirname(f.path)))) await syncDir(d);
}

/** `JSON.stringify(value, null, 2)` plus a newline, written atomically. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new TypeError(`writeJsonAtomic: ${String(value)} has no JSON form`);
  makeDirs(dirname(path));
  await writeFilesAtomic([{ path, data: text + "\n" }]);
}

function weightBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const buffer = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  return new Uint8Array(buffer);
}

/** A model in the TF.js layers format, in memory: `model.json`'s text and `weights.bin`'s bytes. */
export interface ModelFiles {
  modelJson: string;
  weights: Uint8Array;
  /** The weights in `weights.bin`, in order (names are the layers' `originalName`s, e.g. `dense1/kernel`). */
  specs: tf.io.WeightsManifestEntry[];
}

/** Serialises `model` as `saveModel` writes it, without writing anything. Reads every weight back. */
export async function modelFiles(model: tf.LayersModel): Promise<ModelFiles> {
  let files: ModelFiles | undefined;
  const handler = tf.io.withSaveHandler(async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
    if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error("saveModel: expected a JSON model topology, got binary");
    const specs = artifacts.weightSpecs ?? [];
    const manifest: tf.io.WeightsManifestConfig = [{ paths: [`./${WEIGHTS_BIN}`], weights: specs }];
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology ?? {},
      weightsManifest: manifest,
      ...(artifacts.format === undefined ? {} : { format: artifacts.format }),
      ...(artifacts.generatedBy === undefined ? {} : { generatedBy: artifacts.generatedBy }),
      ...(artifacts.convertedBy == null ? {} : { convertedBy: artifacts.convertedBy }),
      ...(artifacts.trainingConfig === undefined ? {} : { trainingConfig: artifacts.trainingConfig }),
      ...(artifacts.userDefinedMetadata === undefined ? {} : { userDefinedMetadata: artifacts.userDefinedMetadata }),
    };
    files = { modelJson: JSON.stringify(modelJson), weights: weightBytes(artifacts.weightData), specs };
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  });
  await model.save(handler);
  if (files === undefined) throw new Error("modelFiles: TF.js did not call the save handler");
  return files;
}

/**
 * Saves `model` into `dir` (created if missing) as `model.json` + `weights.bin`.
 * weights.bin is renamed into place before model.json, so model.json never names weights
 * that are not there yet.
 */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  makeDirs(dir);
  const files = await modelFiles(model);
  await writeFilesAtomic([
    { path: join(dir, WEIGHTS_BIN), data: files.weights },
    { path: join(dir, MODEL_JSON), data: files.modelJson },
  ]);
}

/** Where `replaceDirAtomic(dir)` keeps the previous copy while it swaps the new one in. */
function previousDir(dir: string): string {
  return join(dirname(dir), `.${basename(dir)}.old`);
}

const TEMP_DIR = /^\.(.+)\.tmp-\d+-[0-9a-f]+$/;

/**
 * Replaces the folder `dir` by one holding exactly `files` (names without folders, written in
 * this order: put the file that marks the folder complete last), so that at every moment
 * `dir` is either absent, the old complete folder or the new complete folder:
 *
 * 1. every file goes into `.<name>.tmp-<pid>-<random>` beside `dir` and is flushed, and so is
 *    that folder;
 * 2. `dir` is renamed to `.<name>.old`, the temporary folder to `dir` (POSIX cannot rename a
 *    folder over a non-empty one), the parent is flushed, and `.<name>.old` is removed.
 *
 * A crash between the two renames leaves no `dir` but a complete `.<name>.old`:
 * `completeDir(dir)` finds it, and the next `replaceDirAtomic` keeps it until its new copy
 * is in place. A crash before them leaves a temporary folder, which `removeStaleTemporaries` clears.
 */
export async function replaceDirAtomic(dir: string, files: { name: string; data: string | Uint8Array }[]): Promise<void> {
  const parent = dirname(dir);
  makeDirs(parent);
  const temp = join(parent, `.${basename(dir)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  await mkdir(temp);
  try {
    for (const f of files) {
      if (f.name !== basename(f.name) || f.name === "" || f.name.startsWith(".")) throw new Error(`replaceDirAtomic: bad file name ${JSON.stringify(f.name)}`);
      const handle = await open(join(temp, f.name), "wx");
      try {
        await handle.writeFile(f.data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    await syncDir(temp);
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    throw e;
  }
  const old = previousDir(dir);
  if (existsSync(dir)) {
    // A complete `.old` with a complete `dir` beside it is the leftover of a crash after step 2.
    await discardDir(old);
    await rename(dir, old);
  }
  await rename(temp, dir);
  await syncDir(parent);
  await discardDir(old);
}

/**
 * Removes a folder without ever leaving it half-deleted under its own name: it is renamed to
 * a temporary name first (one atomic step), then deleted; a crash during the deletion leaves a
 * temporary folder, which `removeStaleTemporaries` clears, never a `.old` missing some of its files.
 */
async function discardDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const trash = join(dirname(dir), `.${basename(dir).replace(/^\./, "").replace(/\.old$/, "")}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  await rename(dir, trash);
  await rm(trash, { recursive: true, force: true });
}

/** `dir`, or the complete copy a crash during `replaceDirAtomic` left beside it, or undefined. */
export function completeDir(dir: string): string | undefined {
  if (existsSync(dir)) return dir;
  const old = previousDir(dir);
  return existsSync(old) ? old : undefined;
}

/** A temporary file of `writeTemp`: `.<name>.<pid>.<8 hex digits>.tmp`. */
const TEMP_FILE = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** Whether the process `pid` is alive (another user's process counts as alive). */
function alive(pid: number): boolean {
  if (pid === process.pid) return false; // at the start of a run this process has written nothing yet: a reused pid
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes, at the start of a run, what killed runs left in the run folder `parent`: the
 * temporary files of `writeFilesAtomic` for `files` and the temporary folders of
 * `replaceDirAtomic` for `dirs`, each only when the process that made it (the pid in its name)
 * is no longer alive; and `.<dir>.old` where `<dir>` exists (a crash after the swap; without
 * `<dir>` it is the complete copy `completeDir` reads, and is kept). Nothing else is touched:
 * only these exact name patterns. Returns what was removed.
 */
export async function removeStaleTemporaries(parent: string, files: string[], dirs: string[]): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const file = TEMP_FILE.exec(entry);
    const folder = TEMP_DIR.exec(entry);
    const stale =
      (file !== null && files.includes(file[1]!) && !alive(Number(file[2]))) ||
      (folder !== null && dirs.includes(folder[1]!) && !alive(Number(/-(\d+)-[0-9a-f]+$/.exec(entry)![1]))) ||
      dirs.some((d) => entry === basename(previousDir(join(parent, d))) && existsSync(join(parent, d)));
    if (!stale) continue;
    await rm(join(parent, entry), { recursive: true, force: true });
    removed.push(entry);
  }
  return removed;
}

/**
 * Where a recipe's `pretrained` model is (a folder holding model.json, or a .json file), or
 * why it cannot be: a missing path, a folder without model.json, a file that is not one.
 */
export function locatePretrained(pretrained: string, baseDir: string): { dir: string; json: string } | string {
  const path = resolve(baseDir, pretrained);
  const shown = JSON.stringify(pretrained.length > 120 ? pretrained.slice(0, 120) + "…" : pretrained);
  const what = "`pretrained` names a model nnc train saved: its folder (runs/MODEL) or its model.json, relative to the spec's folder.";
  let isDir: boolean;
  let isFile: boolean;
  try {
    const st = statSync(path);
    isDir = st.isDirectory();
    isFile = st.isFile();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return `The pretrained model ${shown} does not exist: there is no ${pathText(path)}. ${what}`;
    return `The pretrained model ${shown} cannot be read (${pathText(path)}): ${(e as Error).message}.`;
  }
  if (isDir) {
    let hasModel: boolean;
    try {
      hasModel = statSync(join(path, MODEL_JSON)).isFile();
    } catch {
      hasModel = false;
    }
    return hasModel ? { dir: path, json: MODEL_JSON } : `The pretrained model ${shown} is a folder without a ${MODEL_JSON} (${pathText(path)}). ${what}`;
  }
  if (!isFile) return `The pretrained model ${shown} is not a regular file or folder (${pathText(path)}). ${what}`;
  if (!path.endsWith(".json")) return `The pretrained model ${shown} is a file, but not a model.json (${pathText(path)}). ${what}`;
  return { dir: dirname(path), json: basename(path) };
}

/** A model folder that cannot be loaded: the message names the file and what is wrong. */
export class ModelFileError extends Error {
  override name = "ModelFileError";
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Whether TF.js can load a model with a layer of this name. Its loader
 * (`Container.fromConfig` in tfjs-layers) keeps the layers it has made and the calls it still
 * has to make in plain objects (`{}`) and asks `name in object`; a name an object inherits
 * (`constructor`, `toString`, `valueOf`, `hasOwnProperty`, …) is found before it was ever
 * added, and the load fails (`unprocessedNodes[layer.name].push is not a function`).
 */
export function loadableLayerName(name: string): boolean {
  return !(name in Object.prototype);
}

/** The layer names a model.json's topology gives (a functional model's `config.layers[].name`). */
export function topologyLayerNames(topology: unknown): string[] {
  if (!isRecord(topology)) return [];
  const model = isRecord(topology["model_config"]) ? topology["model_config"] : topology;
  const config = model["config"];
  const layers = isRecord(config) ? config["layers"] : config;
  if (!Array.isArray(layers)) return [];
  return layers.flatMap((l: unknown) => {
    const name = isRecord(l) ? (l["name"] ?? (isRecord(l["config"]) ? l["config"]["name"] : undefined)) : undefined;
    return typeof name === "string" ? [name] : [];
  });
}

/** Bytes per element in a weight file, by dtype or quantized dtype. */
const ELEMENT_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/**
 * Reads `model.json` in `dir` and the weight files its manifest names, checking first what
 * TF.js would trust: the file against schema/tfjs-model.schema.json, layer names TF.js can
 * load, weight paths that stay inside `dir` (no `../`, no absolute paths), and weight files
 * that hold exactly the bytes the manifest describes. Every problem is a ModelFileError.
 */
async function readModelFolder(dir: string, jsonName: string): Promise<{ modelJson: tf.io.ModelJSON; weights: ArrayBuffer }> {
  const jsonPath = join(dir, jsonName);
  const shown = pathText(jsonPath);
  let text: string;
  try {
    text = await readFile(jsonPath, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? `there is no ${jsonName} in ${pathText(dir)}` : code === "ENOTDIR" ? `${pathText(dir)} is not a folder` : code === "EISDIR" ? `${shown} is a folder` : (e as Error).message;
    throw new ModelFileError(`Cannot read the model ${shown}: ${why}.`);
  }
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = checkJson<tf.io.ModelJSON>("model", parseJson(text, shown), shown);
  } catch (e) {
    if (e instanceof JsonFileError) throw new ModelFileError(e.message);
    throw e;
  }
  const bad = topologyLayerNames(modelJson.modelTopology).find((n) => !loadableLayerName(n));
  if (bad !== undefined) {
    throw new ModelFileError(
      `${shown}: TF.js cannot load a model with a layer named \`${bad}\`: its loader keeps layers in a plain JavaScript object, where \`${bad}\` is already taken (inherited from Object.prototype). Rename the layer in the spec and train again.`,
    );
  }
  const root = resolve(dir);
  const buffers: Uint8Array[] = [];
  let expected = 0;
  let exact = true;
  for (const [g, group] of (modelJson.weightsManifest ?? []).entries()) {
    for (const w of group.weights) {
      const per = ELEMENT_BYTES[w.quantization?.dtype ?? w.dtype];
      if (per === undefined) exact = false;
      else expected += per * w.shape.reduce((a, b) => a * b, 1);
    }
    for (const [p, path] of group.paths.entries()) {
      const field = `\`weightsManifest[${g}].paths[${p}]\` (${JSON.stringify(path.length > 80 ? path.slice(0, 80) + "…" : path)})`;
      const full = resolve(root, path);
      const rel = relative(root, full);
      if (isAbsolute(path) || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path) || rel === "" || rel === ".." || rel.startsWith(".." + sep) || isAbsolute(rel)) {
        throw new ModelFileError(`${shown}: ${field} points outside the model's folder; weight files must lie in the folder of ${jsonName}, named by relative paths.`);
      }
      let data: Buffer;
      try {
        const st = await stat(full);
        if (!st.isFile()) throw new ModelFileError(`${shown}: ${field} is not a file.`);
        data = await readFile(full);
      } catch (e) {
        if (e instanceof ModelFileError) throw e;
        const code = (e as NodeJS.ErrnoException).code;
        throw new ModelFileError(`${shown}: ${field} cannot be read: ${code === "ENOENT" ? "there is no such file" : (e as Error).message}.`);
      }
      buffers.push(data);
    }
  }
  const total = buffers.reduce((n, b) => n + b.byteLength, 0);
  if (exact && total !== expected) {
    throw new ModelFileError(`${shown}: its \`weightsManifest\` describes ${expected} bytes of weights, but its weight files hold ${total}. Was a file cut short, or the manifest edited?`);
  }
  const weights = new ArrayBuffer(total);
  let at = 0;
  for (const b of buffers) {
    new Uint8Array(weights, at, b.byteLength).set(b);
    at += b.byteLength;
  }
  return { modelJson, weights };
}

/**
 * An IOHandler that reads `model.json` (or `jsonName`) in `dir` and the weight files its manifest names
 * (one `weights.bin` as `saveModel` writes, or the shards of the TF.js converter), checked
 * as `readModelFolder` says.
 */
export function fileHandler(dir: string, jsonName = MODEL_JSON): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const { modelJson, weights } = await readModelFolder(dir, jsonName);
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => [manifest.flatMap((g) => g.weights), weights]);
    },
  };
}

/**
 * Loads a model that `saveModel` (or tfjs-node's `file://`) wrote into `dir`. A folder or file
 * that cannot give a model, and a topology TF.js cannot build, is a ModelFileError.
 */
export async function loadModel(dir: string, jsonName = MODEL_JSON): Promise<tf.LayersModel> {
  try {
    return await tf.loadLayersModel(fileHandler(dir, jsonName));
  } catch (e) {
    if (e instanceof ModelFileError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw new ModelFileError(`TF.js cannot build the model in ${pathText(join(dir, jsonName))}: ${message.length > 300 ? message.slice(0, 300) + "…" : message}`);
  }
}

/**
 * Makes files among `paths` whose bytes are equal share one copy on disk: each duplicate is
 * replaced, atomically, by a hard link to the first (a link under a temporary name, renamed
 * over it). Safe because nnc never writes into a file in place: every write is a new file
 * renamed over the old name, so a later write to one name leaves the others' bytes alone.
 * Where the file system has no hard links (or the files lie on different devices) the copies
 * stay. Missing paths are skipped. Returns the bytes saved.
 */
export async function shareIdenticalFiles(paths: string[]): Promise<number> {
  const found: { path: string; size: number; ino: number; dev: number }[] = [];
  for (const path of paths) {
    try {
      const s = await lstat(path);
      if (s.isFile()) found.push({ path, size: s.size, ino: s.ino, dev: s.dev });
    } catch {
      // not there (yet): nothing to share
    }
  }
  const hashes = new Map<string, string>();
  const hash = async (path: string): Promise<string> => {
    let h = hashes.get(path);
    if (h === undefined) hashes.set(path, (h = createHash("sha256").update(await readFile(path)).digest("hex")));
    return h;
  };
  let saved = 0;
  for (let i = 0; i < found.length; i++) {
    const a = found[i]!;
    for (let j = i + 1; j < found.length; j++) {
      const b = found[j]!;
      if (b.size !== a.size || b.size === 0 || (b.ino === a.ino && b.dev === a.dev) || b.dev !== a.dev) continue;
      if ((await hash(a.path)) !== (await hash(b.path))) continue;
      const temp = tempName(b.path);
      try {
        await link(a.path, temp);
        await rename(temp, b.path);
        b.ino = a.ino;
        saved += b.size;
      } catch {
        await unlink(temp).catch(() => undefined);
      }
    }
  }
  return saved;
}
