/**
 * Checkpoints: what `nnc train` writes at the end of every epoch so that `--resume` can go
 * on exactly where a run stopped, and the best epoch's model beside it.
 *
 * A checkpoint is a folder (`<out>/checkpoint`) in the TF.js layers format plus the state of
 * the loop:
 *
 *   model.json, weights.bin   the model, loadable by `loadModel` / tf.loadLayersModel
 *   optimizer.bin             the optimizer's slots (moments, accumulators), float32
 *   early-stop.bin            the best epoch's weights, when early stopping restores them
 *   state.json                everything else (below) and the SHA-256 of every file above
 *
 * The folder is written whole under a temporary name and swapped in (`replaceDirAtomic`),
 * state.json last, so a crash at any moment leaves the old or the new checkpoint complete;
 * reading verifies every checksum, so a copy damaged later is refused with a clear message.
 */
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { MetricName, OptimizerName, TrainConfig } from "./config.js";
import { completeDir, MODEL_JSON, replaceDirAtomic, WEIGHTS_BIN, type ModelFiles } from "./io.js";
import type { EpochRecord } from "./train.js";

export const CHECKPOINT_DIR = "checkpoint";
export const BEST_DIR = "best";
export const STATE_JSON = "state.json";
export const OPTIMIZER_BIN = "optimizer.bin";
export const EARLY_STOP_BIN = "early-stop.bin";
const FORMAT = "nnc-checkpoint";
const VERSION = 1;

/** A checkpoint that cannot be read: a message for the user. */
export class CheckpointError extends Error {
  override name = "CheckpointError";
}

export interface CheckpointState {
  format: typeof FORMAT;
  version: typeof VERSION;
  model: string;
  /** Epochs finished. */
  epoch: number;
  /** The epochs the run meant to train. */
  epochs: number;
  /** Optimizer steps taken so far (also what each step's dropout seed is derived from). */
  iterations: number;
  seed: number;
  /** The state of the loop's random generator (shuffles, augmentation) after `epoch`. */
  random: number;
  /** The run stopped early after this epoch: nothing is left to train. */
  stoppedEarly: boolean;
  /** The recipe as it was trained. */
  config: TrainConfig;
  /** SHA-256 of the model's topology (layers, options, initialiser seeds). */
  topology: string;
  /** Every weight of the model, in order: the shapes a resumed model must have. */
  weights: { name: string; shape: number[] }[];
  optimizer: { name: OptimizerName; slots: tf.io.WeightsManifestEntry[] };
  /** The best epoch so far by the `best/` metric (null before the metric has a value). */
  best: { metric: MetricName; value: number; epoch: number } | null;
  /** Early stopping's counters; `weights` describes early-stop.bin when it restores the best. */
  earlyStop: { value: number; epoch: number; sinceBest: number; weights: tf.io.WeightsManifestEntry[] | null } | null;
  history: EpochRecord[];
  /** SHA-256 (hex) of every other file of the checkpoint. */
  files: Record<string, string>;
}

/** What the loop hands over at the end of an epoch. */
export interface CheckpointContents {
  state: Omit<CheckpointState, "format" | "version" | "files" | "optimizer" | "earlyStop"> & {
    optimizer: { name: OptimizerName };
    earlyStop: { value: number; epoch: number; sinceBest: number } | null;
  };
  model: ModelFiles;
  /** Slots keyed `<weight's originalName>/<slot>`. Not disposed. */
  optimizerSlots: Record<string, tf.Tensor>;
  /** The early-stopping best weights, keyed by originalName. Not disposed. */
  earlyStopWeights?: Record<string, tf.Tensor>;
}

function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** SHA-256 of a model topology (as model.json holds it), to notice a changed model. */
export function topologyHash(topology: unknown): string {
  return sha256(JSON.stringify(topology));
}

/** Writes the checkpoint folder `dir` atomically (see the file's comment). */
export async function writeCheckpoint(dir: string, contents: CheckpointContents): Promise<void> {
  const slots = await tf.io.encodeWeights(contents.optimizerSlots);
  const early = contents.earlyStopWeights ? await tf.io.encodeWeights(contents.earlyStopWeights) : undefined;
  const files: { name: string; data: string | Uint8Array }[] = [
    { name: WEIGHTS_BIN, data: contents.model.weights },
    { name: MODEL_JSON, data: contents.model.modelJson },
    { name: OPTIMIZER_BIN, data: new Uint8Array(slots.data) },
  ];
  if (early) files.push({ name: EARLY_STOP_BIN, data: new Uint8Array(early.data) });
  const state: CheckpointState = {
    format: FORMAT,
    version: VERSION,
    ...contents.state,
    optimizer: { name: contents.state.optimizer.name, slots: slots.specs },
    earlyStop: contents.state.earlyStop ? { ...contents.state.earlyStop, weights: early?.specs ?? null } : null,
    files: Object.fromEntries(files.map((f) => [f.name, sha256(f.data)])),
  };
  files.push({ name: STATE_JSON, data: JSON.stringify(state, null, 1) + "\n" });
  await replaceDirAtomic(dir, files);
}

/** Writes the `best/` folder: the model, and which epoch and value made it the best. */
export async function writeBest(dir: string, model: ModelFiles, best: { metric: MetricName; value: number; epoch: number }): Promise<void> {
  await replaceDirAtomic(dir, [
    { name: WEIGHTS_BIN, data: model.weights },
    { name: MODEL_JSON, data: model.modelJson },
    { name: "best.json", data: JSON.stringify(best, null, 2) + "\n" },
  ]);
}

/** A verified checkpoint: its state, and its tensors on demand (the caller disposes them). */
export interface Checkpoint {
  dir: string;
  /** The run folder the checkpoint belongs to (its parent). */
  runDir: string;
  state: CheckpointState;
  /** The model's weights by originalName. */
  weights(): tf.NamedTensorMap;
  /** The optimizer's slots, keyed `<originalName>/<slot>`. */
  optimizerSlots(): tf.NamedTensorMap;
  /** The early-stopping best weights by originalName, if saved. */
  earlyStopWeights(): tf.NamedTensorMap | undefined;
}

/**
 * Finds the checkpoint `path` names: a run folder (holding `checkpoint/`) or a checkpoint
 * folder itself. Undefined if neither.
 */
export function locateCheckpoint(path: string): { dir: string; runDir: string } | undefined {
  const inRun = completeDir(join(path, CHECKPOINT_DIR));
  if (inRun) return { dir: inRun, runDir: path };
  if (existsSync(join(path, STATE_JSON))) return { dir: path, runDir: dirname(path) };
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isSpecList(v: unknown): v is tf.io.WeightsManifestEntry[] {
  return Array.isArray(v) && v.every((e) => isRecord(e) && typeof e["name"] === "string" && Array.isArray(e["shape"]) && e["dtype"] === "float32");
}

/** The first field of `v` that does not look like a CheckpointState, or undefined. */
function badField(v: Record<string, unknown>): string | undefined {
  const whole = (k: string) => Number.isInteger(v[k]) && (v[k] as number) >= 0;
  for (const k of ["epoch", "epochs", "iterations", "seed", "random"]) if (!whole(k)) return k;
  if (typeof v["model"] !== "string") return "model";
  if (typeof v["stoppedEarly"] !== "boolean") return "stoppedEarly";
  if (!isRecord(v["config"])) return "config";
  if (typeof v["topology"] !== "string") return "topology";
  if (!Array.isArray(v["weights"]) || !v["weights"].every((w) => isRecord(w) && typeof w["name"] === "string" && Array.isArray(w["shape"]))) return "weights";
  const opt = v["optimizer"];
  if (!isRecord(opt) || typeof opt["name"] !== "string" || !isSpecList(opt["slots"])) return "optimizer";
  const best = v["best"];
  if (best !== null && (!isRecord(best) || typeof best["value"] !== "number" || typeof best["metric"] !== "string")) return "best";
  const early = v["earlyStop"];
  if (early !== null && (!isRecord(early) || typeof early["value"] !== "number" || !Number.isInteger(early["sinceBest"]) || (early["weights"] !== null && !isSpecList(early["weights"])))) return "earlyStop";
  if (!Array.isArray(v["history"]) || v["history"].length !== v["epoch"] || !v["history"].every((r) => isRecord(r) && typeof r["loss"] === "number")) return "history";
  if (!isRecord(v["files"]) || !Object.values(v["files"]).every((h) => typeof h === "string")) return "files";
  return undefined;
}

function decode(bytes: Uint8Array, specs: tf.io.WeightsManifestEntry[], what: string): tf.NamedTensorMap {
  const size = specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
  if (size !== bytes.byteLength) throw new CheckpointError(`The checkpoint's ${what} holds ${bytes.byteLength} bytes, but its manifest describes ${size}. Was it edited? Train again without --resume.`);
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return tf.io.decodeWeights(copy, specs);
}

/**
 * Reads and verifies the checkpoint in `dir` (a checkpoint folder): state.json must parse and
 * describe a checkpoint, and every file it lists must be there with its checksum.
 */
export async function readCheckpoint(dir: string, runDir = dirname(dir)): Promise<Checkpoint> {
  const statePath = join(dir, STATE_JSON);
  let text: string;
  try {
    text = await readFile(statePath, "utf8");
  } catch {
    throw new CheckpointError(`The checkpoint in ${dir} is incomplete: it has no ${STATE_JSON}. Was the folder copied in part? Train again without --resume.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`The checkpoint's ${statePath} is not valid JSON (${e instanceof Error ? e.message : String(e)}). Was it edited or cut short? Train again without --resume.`);
  }
  if (!isRecord(parsed) || parsed["format"] !== FORMAT) throw new CheckpointError(`${statePath} is not an nnc checkpoint (it lacks \`"format": "${FORMAT}"\`).`);
  if (parsed["version"] !== VERSION) throw new CheckpointError(`The checkpoint in ${dir} has format version ${JSON.stringify(parsed["version"])}; this nnc reads version ${VERSION}. Train again without --resume.`);
  const bad = badField(parsed);
  if (bad !== undefined) throw new CheckpointError(`The checkpoint's ${statePath} has a bad \`${bad}\` field. Was it edited? Train again without --resume.`);
  const state = parsed as unknown as CheckpointState;
  const needed = [WEIGHTS_BIN, MODEL_JSON, OPTIMIZER_BIN, ...(state.earlyStop?.weights ? [EARLY_STOP_BIN] : [])];
  const bytes = new Map<string, Uint8Array>();
  for (const name of needed) {
    const expected = state.files[name];
    if (expected === undefined) throw new CheckpointError(`The checkpoint's ${STATE_JSON} lists no checksum for ${name}. Was it edited? Train again without --resume.`);
    let data: Uint8Array;
    try {
      data = await readFile(join(dir, name));
    } catch {
      throw new CheckpointError(`The checkpoint in ${dir} is incomplete: ${name} is missing. Train again without --resume.`);
    }
    if (sha256(data) !== expected) throw new CheckpointError(`The checkpoint in ${dir} is damaged: ${name} does not match its checksum (was it changed or cut short?). Train again without --resume.`);
    bytes.set(name, data);
  }
  let weightSpecs: tf.io.WeightsManifestEntry[];
  try {
    const modelJson = JSON.parse(new TextDecoder().decode(bytes.get(MODEL_JSON)!)) as tf.io.ModelJSON;
    weightSpecs = (modelJson.weightsManifest ?? []).flatMap((g) => g.weights);
  } catch {
    throw new CheckpointError(`The checkpoint's ${MODEL_JSON} in ${dir} is not valid JSON. Train again without --resume.`);
  }
  return {
    dir,
    runDir,
    state,
    weights: () => decode(bytes.get(WEIGHTS_BIN)!, weightSpecs, WEIGHTS_BIN),
    optimizerSlots: () => decode(bytes.get(OPTIMIZER_BIN)!, state.optimizer.slots, OPTIMIZER_BIN),
    earlyStopWeights: () => (state.earlyStop?.weights ? decode(bytes.get(EARLY_STOP_BIN)!, state.earlyStop.weights, EARLY_STOP_BIN) : undefined),
  };
}
