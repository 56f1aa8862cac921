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
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
// The custom layers must be registered before a model.json that uses them is read.
import "./layers.js";

export const MODEL_JSON = "model.json";
export const WEIGHTS_BIN = "weights.bin";

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
  await mkdir(dirname(path), { recursive: true });
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
  await mkdir(dir, { recursive: true });
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
 * is in place. A crash before them leaves a temporary folder, which `removeTempDirs` clears.
 */
export async function replaceDirAtomic(dir: string, files: { name: string; data: string | Uint8Array }[]): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
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
 * temporary folder, which `removeTempDirs` clears, never a `.old` missing some of its files.
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

/** Removes the temporary folders that a crash during `replaceDirAtomic` left in `parent` for `names`. */
export async function removeTempDirs(parent: string, names: string[]): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return;
  }
  for (const entry of entries) {
    const m = TEMP_DIR.exec(entry);
    if (m && names.includes(m[1]!)) await rm(join(parent, entry), { recursive: true, force: true });
  }
}

function exactBuffer(bytes: Buffer): ArrayBuffer {
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}

/**
 * An IOHandler that reads `model.json` in `dir` and the weight files its manifest names
 * (one `weights.bin` as `saveModel` writes, or the shards of the TF.js converter).
 */
export function fileHandler(dir: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = join(dir, MODEL_JSON);
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(await readFile(jsonPath, "utf8")) as tf.io.ModelJSON;
      } catch (e) {
        throw new Error(`Cannot read the model ${jsonPath}: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (typeof modelJson !== "object" || modelJson === null || modelJson.modelTopology == null) {
        throw new Error(`${jsonPath} is not a TF.js layers model (it has no modelTopology)`);
      }
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const path of group.paths) buffers.push(exactBuffer(await readFile(join(dir, path))));
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

/** Loads a model that `saveModel` (or tfjs-node's `file://`) wrote into `dir`. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileHandler(dir));
}
