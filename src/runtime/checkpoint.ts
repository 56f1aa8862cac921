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
import { completeDir, MODEL_JSON, pathText, replaceDirAtomic, WEIGHTS_BIN, type ModelFiles } from "./io.js";
import { checkJson, JsonFileError, parseJson, schemaProblem } from "./json-files.js";
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
  /** `slots` describes optimizer.bin: each entry `<weight>/<slot>` with its byte offset. */
  optimizer: { name: OptimizerName; slots: SlotEntry[] };
  /** The best epoch so far by the `best/` metric (null before the metric has a value). */
  best: { metric: MetricName; value: number; epoch: number } | null;
  /** Early stopping's counters; `weights` describes early-stop.bin when it restores the best. */
  earlyStop: { value: number; epoch: number; sinceBest: number; weights: SlotEntry[] | null } | null;
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
    optimizer: { name: contents.state.optimizer.name, slots: withOffsets(slots.specs) },
    earlyStop: contents.state.earlyStop ? { ...contents.state.earlyStop, weights: early ? withOffsets(early.specs) : null } : null,
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

/** A manifest entry as a checkpoint stores it: where the tensor's bytes start in its file. */
export type SlotEntry = tf.io.WeightsManifestEntry & { offset?: number };

/** The manifest's entries with their byte offsets, so that reading does not depend on their order. */
function withOffsets(specs: tf.io.WeightsManifestEntry[]): SlotEntry[] {
  let offset = 0;
  return specs.map((s) => {
    const entry = { ...s, offset };
    offset += 4 * s.shape.reduce((a, b) => a * b, 1);
    return entry;
  });
}

interface TensorRange {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/**
 * Where each float32 tensor a manifest describes lies in its file. With offsets (what nnc
 * writes) every entry is read from its own offset, so reordering the entries in state.json
 * cannot bind a name to another tensor's bytes; without (an older checkpoint), in order.
 * Either way the entries must cover the file exactly, without gaps or overlaps, and name each
 * tensor once.
 */
function tensorRanges(byteLength: number, specs: SlotEntry[], what: string, shown: string): TensorRange[] {
  const again = " Was it edited? Train again without --resume.";
  const some = specs.filter((s) => s.offset !== undefined).length;
  if (some !== 0 && some !== specs.length) throw new CheckpointError(`${shown}: some entries describing ${what} have an \`offset\` and some do not.${again}`);
  let next = 0;
  const ranges = specs.map((s) => {
    const size = 4 * s.shape.reduce((a, b) => a * b, 1);
    const offset = s.offset ?? next;
    next = offset + size;
    return { name: s.name, shape: s.shape, offset, size };
  });
  const names = new Set<string>();
  for (const r of ranges) {
    if (names.has(r.name)) throw new CheckpointError(`${shown}: \`${r.name}\` is listed twice among the tensors of ${what}.${again}`);
    names.add(r.name);
  }
  let end = 0;
  for (const r of [...ranges].sort((a, b) => a.offset - b.offset)) {
    if (r.offset !== end) throw new CheckpointError(`${shown}: the tensors it describes in ${what} ${r.offset > end ? "leave a gap" : "overlap"} at byte ${end}.${again}`);
    end = r.offset + r.size;
  }
  if (end !== byteLength) throw new CheckpointError(`The checkpoint's ${what} holds ${byteLength} bytes, but ${shown} describes ${end}.${again}`);
  return ranges;
}

/** The tensors at `ranges` of `bytes` (copied: the file's buffer may not be 4-byte aligned). */
function decode(bytes: Uint8Array, ranges: TensorRange[]): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const r of ranges) out[r.name] = tf.tensor(new Float32Array(new Uint8Array(bytes.subarray(r.offset, r.offset + r.size)).buffer), r.shape, "float32");
  return out;
}

/**
 * Reads and verifies the checkpoint in `dir` (a checkpoint folder): state.json must parse and
 * describe a checkpoint, and every file it lists must be there with its checksum.
 */
export async function readCheckpoint(dir: string, runDir = dirname(dir)): Promise<Checkpoint> {
  const statePath = join(dir, STATE_JSON);
  const shown = pathText(statePath);
  const again = "Was it edited? Train again without --resume.";
  let text: string;
  try {
    text = await readFile(statePath, "utf8");
  } catch {
    throw new CheckpointError(`The checkpoint in ${pathText(dir)} is incomplete: it has no ${STATE_JSON}. Was the folder copied in part? Train again without --resume.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`The checkpoint's ${shown} is not valid JSON (${e instanceof Error ? e.message.slice(0, 200) : String(e)}). Was it edited or cut short? Train again without --resume.`);
  }
  if (!isRecord(parsed) || parsed["format"] !== FORMAT) throw new CheckpointError(`${shown} is not an nnc checkpoint (it lacks \`"format": "${FORMAT}"\`).`);
  if (parsed["version"] !== VERSION) throw new CheckpointError(`The checkpoint in ${pathText(dir)} has format version ${JSON.stringify(parsed["version"]).slice(0, 40)}; this nnc reads version ${VERSION}. Train again without --resume.`);
  // A checkpoint of the other engine: resumed by the engine that wrote it (its optimizer state is that engine's).
  if (parsed["engine"] === "pytorch") throw new CheckpointError(`The checkpoint in ${pathText(dir)} was written by the PyTorch engine: resume it with \`nnc train … --engine pytorch --resume ${pathText(runDir)}\`.`);
  const problem = schemaProblem("checkpoint", parsed);
  if (problem !== undefined) throw new CheckpointError(`${shown}: ${problem}. ${again}`);
  const state = parsed as unknown as CheckpointState;
  if (state.history.length !== state.epoch) {
    throw new CheckpointError(`${shown}: \`history\` must hold one record per finished epoch: \`epoch\` is ${state.epoch}, but \`history\` has ${state.history.length}. ${again}`);
  }
  const needed = [WEIGHTS_BIN, MODEL_JSON, OPTIMIZER_BIN, ...(state.earlyStop?.weights ? [EARLY_STOP_BIN] : [])];
  const bytes = new Map<string, Uint8Array>();
  for (const name of needed) {
    const expected = state.files[name];
    if (expected === undefined) throw new CheckpointError(`${shown}: \`files\` lists no checksum for ${name}. ${again}`);
    let data: Uint8Array;
    try {
      data = await readFile(join(dir, name));
    } catch {
      throw new CheckpointError(`The checkpoint in ${pathText(dir)} is incomplete: ${name} is missing. Train again without --resume.`);
    }
    if (sha256(data) !== expected) throw new CheckpointError(`The checkpoint in ${pathText(dir)} is damaged: ${name} does not match its checksum (was it changed or cut short?). Train again without --resume.`);
    bytes.set(name, data);
  }
  const modelShown = pathText(join(dir, MODEL_JSON));
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = checkJson<tf.io.ModelJSON>("model", parseJson(new TextDecoder().decode(bytes.get(MODEL_JSON)!), modelShown), modelShown);
  } catch (e) {
    if (e instanceof JsonFileError) throw new CheckpointError(`${e.message} Train again without --resume.`);
    throw e;
  }
  const weightSpecs = (modelJson.weightsManifest ?? []).flatMap((g) => g.weights);
  const notFloat = weightSpecs.find((w) => w.dtype !== "float32" || w.quantization !== undefined);
  if (notFloat) throw new CheckpointError(`${modelShown}: the weight \`${notFloat.name.slice(0, 80)}\` is not plain float32, which every weight nnc saves is. ${again}`);
  // Check every manifest against its file now, so that reading the tensors later cannot fail.
  const weightRanges = tensorRanges(bytes.get(WEIGHTS_BIN)!.byteLength, weightSpecs, WEIGHTS_BIN, modelShown);
  const slotRanges = tensorRanges(bytes.get(OPTIMIZER_BIN)!.byteLength, state.optimizer.slots, OPTIMIZER_BIN, shown);
  const earlyRanges = state.earlyStop?.weights ? tensorRanges(bytes.get(EARLY_STOP_BIN)!.byteLength, state.earlyStop.weights, EARLY_STOP_BIN, shown) : undefined;
  return {
    dir,
    runDir,
    state,
    weights: () => decode(bytes.get(WEIGHTS_BIN)!, weightRanges),
    optimizerSlots: () => decode(bytes.get(OPTIMIZER_BIN)!, slotRanges),
    earlyStopWeights: () => (earlyRanges ? decode(bytes.get(EARLY_STOP_BIN)!, earlyRanges) : undefined),
  };
}
