/**
 * The output folder of a run (`--out`, default runs/MODEL): what nnc may write there, and how
 * it knows the folder is its own.
 *
 * nnc writes `nnc-run.json` (schema/run.schema.json) into the folder before anything else;
 * that file marks an nnc run folder, whose model.json, weights.bin, history.json,
 * normalizer.json, checkpoint/ and best/ a new run may replace. `checkRunFolder` refuses,
 * before anything is written or deleted, a folder that holds any of those names without the
 * marker (a user's own model.json, say), a checkpoint/ or best/ with files nnc never writes
 * there (each is replaced whole), or one of those names taken by the wrong kind of entry (a
 * folder called model.json) — unless `force`. A folder that does not exist, is empty, or holds
 * only other files (a search trial's spec.nn) is fine: nnc touches nothing but its own names.
 * Resuming into the run the checkpoint came from is fine too (a run folder written before the
 * marker existed has none).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { BEST_DIR, CHECKPOINT_DIR, EARLY_STOP_BIN, OPTIMIZER_BIN, STATE_JSON } from "./checkpoint.js";
import { MODEL_JSON, pathText, WEIGHTS_BIN, writeJsonAtomic } from "./io.js";
import { readJsonFile, schemaProblem } from "./json-files.js";

export const RUN_MARKER = "nnc-run.json";
export const HISTORY_JSON = "history.json";
export const NORMALIZER_JSON = "normalizer.json";
export const BEST_JSON = "best.json";
export const DATA_JSON = "data.json";

/** The files nnc writes at the top of a run folder (each replaced whole, atomically). */
export const RUN_FILES = [MODEL_JSON, WEIGHTS_BIN, HISTORY_JSON, NORMALIZER_JSON, DATA_JSON, RUN_MARKER];
/** The folders nnc replaces whole, and the files it writes into each. */
export const RUN_DIRS: Record<string, string[]> = {
  // torch-state.pt: the PyTorch engine's optimizer and loop state (python/nnc_torch/checkpoint.py).
  [CHECKPOINT_DIR]: [MODEL_JSON, WEIGHTS_BIN, OPTIMIZER_BIN, EARLY_STOP_BIN, STATE_JSON, "torch-state.pt"],
  [BEST_DIR]: [MODEL_JSON, WEIGHTS_BIN, BEST_JSON],
};

/** A run folder that must not be written into: the message says why and what to do. */
export class RunFolderError extends Error {
  override name = "RunFolderError";
}

/** The names of `entries` nnc would replace or delete in a run folder (temporaries and `.old` copies included). */
function nncNames(entries: string[]): string[] {
  const dirs = Object.keys(RUN_DIRS);
  return entries.filter(
    (e) =>
      RUN_FILES.includes(e) ||
      dirs.includes(e) ||
      dirs.some((d) => e === `.${d}.old` || new RegExp(`^\\.${d}\\.tmp-\\d+-[0-9a-f]+$`).test(e)) ||
      RUN_FILES.some((f) => e.startsWith(`.${f}.`) && /\.\d+\.[0-9a-f]{8}\.tmp$/.test(e)),
  );
}

function listed(names: string[]): string {
  const shown = names.slice(0, 4).map((n) => n.slice(0, 60));
  return shown.join(", ") + (names.length > 4 ? ` and ${names.length - 4} more` : "");
}

/** Whether `dir` holds a valid run marker. */
function marked(dir: string): boolean {
  try {
    return schemaProblem("run", JSON.parse(readFileSync(join(dir, RUN_MARKER), "utf8"))) === undefined;
  } catch {
    return false;
  }
}

export interface RunFolderOptions {
  /** Write even over files nnc did not write (`--force`). */
  force?: boolean;
  /** The run folder of the checkpoint being resumed: writing back into it is fine. */
  resumedRun?: string;
}

/**
 * Checks, reading only, that a run may write into `dir` (see the file's comment). Throws a
 * RunFolderError saying what is in the way.
 */
export function checkRunFolder(dir: string, options: RunFolderOptions = {}): void {
  const shown = pathText(dir);
  const force = (n: number): string => ` Choose another folder with --out, or pass --force to replace ${n === 1 ? "it" : "them"}.`;
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      // It will be made: the nearest folder above must be a folder.
      let up = dirname(resolve(dir));
      while (!existsSync(up) && dirname(up) !== up) up = dirname(up);
      try {
        if (!statSync(up).isDirectory()) throw new RunFolderError(`Cannot make the output folder ${shown}: ${pathText(up)} is a file, not a folder.`);
      } catch (inner) {
        if (inner instanceof RunFolderError) throw inner;
        throw new RunFolderError(`Cannot make the output folder ${shown}: ${(inner as Error).message}.`);
      }
      return;
    }
    throw new RunFolderError(`Cannot use the output folder ${shown}: ${code === "ENOTDIR" ? "a file is in the way" : (e as Error).message}.`);
  }
  if (!isDir) throw new RunFolderError(`The output folder ${shown} is a file, not a folder. Choose another folder with --out.`);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    throw new RunFolderError(`Cannot read the output folder ${shown}: ${(e as Error).message}.`);
  }
  if (entries.length === 0 || options.force) return;
  const ours = (options.resumedRun !== undefined && resolve(options.resumedRun) === resolve(dir)) || marked(dir);
  const taken = nncNames(entries);
  if (!ours) {
    if (taken.length === 0) return;
    const markerNote = entries.includes(RUN_MARKER) ? ` (its ${RUN_MARKER} is damaged)` : ` (it has no ${RUN_MARKER})`;
    throw new RunFolderError(`The output folder ${shown} already holds ${listed(taken)}, which nnc did not write${markerNote}: training there would replace ${taken.length === 1 ? "it" : "them"}.${force(taken.length)}`);
  }
  // An nnc run folder: its own names must still be what nnc writes there.
  const wrongKind: string[] = [];
  const foreign: string[] = [];
  for (const name of taken) {
    const path = join(dir, name);
    let folder: boolean;
    try {
      folder = statSync(path).isDirectory();
    } catch {
      continue;
    }
    if (name in RUN_DIRS) {
      if (!folder) wrongKind.push(`${name} (a file, where nnc writes a folder)`);
      else foreign.push(...readdirSync(path).filter((f) => !RUN_DIRS[name]!.includes(f)).map((f) => `${name}/${f}`));
    } else if (RUN_FILES.includes(name) && folder) {
      wrongKind.push(`${name} (a folder, where nnc writes a file)`);
    }
  }
  if (wrongKind.length > 0) throw new RunFolderError(`The run folder ${shown} holds ${listed(wrongKind)}: training there would replace ${wrongKind.length === 1 ? "it" : "them"}.${force(wrongKind.length)}`);
  if (foreign.length > 0) {
    throw new RunFolderError(`The run folder ${shown} holds ${listed(foreign)}, which nnc did not write: each new checkpoint replaces the folder whole, so ${foreign.length === 1 ? "it" : "they"} would be deleted. Move ${foreign.length === 1 ? "it" : "them"} away, or pass --force.`);
  }
}

/** Marks `dir` (which exists) as an nnc run folder of `model`, unless it is marked already. */
export async function markRunFolder(dir: string, model: string): Promise<void> {
  if (marked(dir)) return;
  await writeJsonAtomic(join(dir, RUN_MARKER), { format: "nnc-run", version: 1, model });
}

/** What `train()` writes to history.json (schema/history.schema.json). */
export interface SavedHistory {
  model: string;
  backend: string;
  seed: number;
  epochs: { epoch: number; lr: number; loss: number; acc?: number; val_loss?: number; val_acc?: number; seconds: number }[];
  test?: { loss: number; acc?: number } | null;
}

/** Reads a run's history.json, validated against its schema; a JsonFileError names the file and the field. */
export function readHistory(runDir: string): Promise<SavedHistory> {
  const path = join(runDir, HISTORY_JSON);
  return readJsonFile<SavedHistory>("history", path, pathText(path));
}
