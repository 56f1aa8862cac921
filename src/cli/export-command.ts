/**
 * `nnc export RUN --format onnx|tfjs -o PATH [--force] [--opset N] [--no-normalize]`: a trained
 * run's model as an ONNX file, or as a folder plain TensorFlow.js loads. Reads the run's files
 * without TensorFlow.js (`src/export/`). Writes atomically (a temporary file beside the target,
 * flushed, then renamed), and never over a file nnc did not write unless `force`: an .onnx file
 * is nnc's when its producer_name is "nnc"; a folder's model.json when its `convertedBy` says
 * `nnc export`, and then only the files that model.json lists are replaced or removed.
 */
import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, openSync, closeSync, fsyncSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import type { CommandResult } from "./build-command.js";
import { makeFolder, version } from "./files.js";

export interface ExportArgs {
  /** The run folder (`runs/MODEL`), a folder with a model.json (`runs/MODEL/best`), or a model.json. */
  run: string;
  format: "onnx" | "tfjs";
  /** The .onnx file, or the folder for tfjs. */
  out: string;
  /** Overwrite what is at `out` even when nnc did not write it. */
  force?: boolean;
  /** ONNX opset (13 … 21); default 13. */
  opset?: number;
  /** ONNX: fold the run's normaliser into the graph (default true). */
  normalize?: boolean;
}

/** The files of a TF.js export folder, besides model.json. */
const TFJS_FILES = ["weights.bin", "normalizer.json", "data.json"];

function kb(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function shown(path: string): string {
  const r = relative(process.cwd(), path);
  return r !== "" && !r.startsWith("..") && !r.startsWith("/") ? r : path;
}

function systemReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ENOSPC") return "the disk is full";
  if (code === "EROFS") return "the file system is read-only";
  if (code === "ENOTDIR") return "a part of the path is a file, not a folder";
  if (code === "EISDIR") return "it is a folder";
  return e instanceof Error ? e.message : String(e);
}

/** Writes `data` to `path` so that it is the old file or the new one, never a part: temp, fsync, rename. */
function writeAtomic(path: string, data: Uint8Array | string): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = openSync(temp, "wx");
  try {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let at = 0;
    while (at < bytes.byteLength) at += writeSync(fd, bytes, at, bytes.byteLength - at);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
    if (existsSync(temp)) unlinkSync(temp);
    throw e;
  }
}

class Refusal extends Error {}

function fail(message: string, exitCode = 1): CommandResult {
  return { exitCode, stdout: [], stderr: [`nnc: ${message}`] };
}

/** What kind of thing is at `path`: nothing, a file, a folder, or something else (a socket, a link to nothing…). */
function kindOf(path: string): "none" | "file" | "folder" | "other" {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return "none";
  }
  if (st.isSymbolicLink()) {
    try {
      st = statSync(path);
    } catch {
      return "other";
    }
  }
  return st.isDirectory() ? "folder" : st.isFile() ? "file" : "other";
}

export async function exportCommand(args: ExportArgs): Promise<CommandResult> {
  if (args.format !== "onnx" && args.format !== "tfjs") return fail(`unknown export format \`${String(args.format)}\`. Formats: onnx, tfjs.`, 2);
  // Loaded here, not at the top: the ONNX protobuf code and the schemas are this command's only.
  const ex = await import("../export/index.js");
  if (args.opset !== undefined && args.format === "tfjs") return fail("--opset is for --format onnx; a TF.js model has no opset.", 2);
  if (args.opset !== undefined && (!Number.isInteger(args.opset) || args.opset < ex.MIN_OPSET || args.opset > ex.MAX_OPSET)) {
    return fail(`--opset must be a whole number from ${ex.MIN_OPSET} to ${ex.MAX_OPSET}, not ${args.opset}. Opset 13 (the default) runs in ONNX Runtime 1.8 and later.`, 2);
  }
  let folder: import("../export/index.js").ModelFolder;
  try {
    const where = ex.locateModel(args.run);
    folder = ex.readModelFolder(where.dir, where.json);
  } catch (e) {
    if (e instanceof ex.ExportError) return fail(`${e.message}`);
    throw e;
  }
  const out = resolve(args.out);
  try {
    if (args.format === "onnx") return writeOnnx(ex, folder, out, args);
    return writeTfjs(ex, folder, out, args);
  } catch (e) {
    if (e instanceof ex.ExportError || e instanceof Refusal) return fail(e.message);
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string") return fail(`cannot write ${shown(out)}: ${systemReason(e)}. Nothing there was changed.`);
    throw e;
  }
}

type Exporter = typeof import("../export/index.js");

function makeParent(path: string): void {
  try {
    makeFolder(dirname(path));
  } catch (e) {
    throw new Refusal(`cannot make the folder ${shown(dirname(path))}: ${systemReason(e)}. Nothing was written.`);
  }
}

function writeOnnx(ex: Exporter, folder: import("../export/index.js").ModelFolder, out: string, args: ExportArgs): CommandResult {
  const kind = kindOf(out);
  if (kind === "folder") throw new Refusal(`${shown(out)} is a folder; -o names the .onnx file to write (say ${shown(join(out, "model.onnx"))}).`);
  if (kind === "other") throw new Refusal(`${shown(out)} is not a regular file; choose another path with -o.`);
  if (kind === "file" && !args.force) {
    let ours = false;
    try {
      ours = ex.isNncOnnx(readFileSync(out));
    } catch {
      ours = false;
    }
    if (!ours) throw new Refusal(`not exporting: ${shown(out)} exists and is not an ONNX file nnc wrote. Move it, choose another path with -o, or pass --force to overwrite it.`);
  }
  const result = ex.exportOnnx(folder, { ...(args.opset !== undefined ? { opset: args.opset } : {}), ...(args.normalize !== undefined ? { normalize: args.normalize } : {}), version: version() });
  makeParent(out);
  writeAtomic(out, result.bytes);
  const io = (xs: { name: string; shape: (number | string)[] }[]): string => xs.map((x) => `\`${x.name}\` [${x.shape.join(", ")}]`).join(", ");
  const stdout = [
    `Wrote ${shown(out)} (ONNX opset ${result.opset}, ${result.nodes} nodes, ${kb(result.bytes.byteLength)}) from ${folder.shown}.`,
    `  input ${io(result.inputs)}${result.inputs.some((i) => i.shape.length === 4) ? " (NHWC: channels last, as in the spec)" : ""} → output ${io(result.outputs)}`,
  ];
  if (result.normalizer === "folded") stdout.push(`  the run's ${folder.normalizer!.kind} normaliser is folded in: feed inputs as they are before normalisation (--no-normalize leaves it out).`);
  else if (result.normalizer === "not folded") stdout.push(`  the run's ${folder.normalizer!.kind} normaliser is not in the model: normalise inputs with ${shown(join(folder.runDir, "normalizer.json"))} first.`);
  if (result.classNames) stdout.push(`  classes (in the metadata): ${result.classNames.length <= 10 ? result.classNames.join(", ") : `${result.classNames.slice(0, 10).join(", ")}, … (${result.classNames.length})`}`);
  return { exitCode: 0, stdout, stderr: [] };
}

function writeTfjs(ex: Exporter, folder: import("../export/index.js").ModelFolder, out: string, args: ExportArgs): CommandResult {
  const kind = kindOf(out);
  if (kind === "file" || kind === "other") throw new Refusal(`${shown(out)} is a file; -o names the folder to write model.json and weights.bin into.`);
  if (resolve(out) === resolve(folder.dir) || resolve(out) === resolve(folder.runDir)) {
    throw new Refusal(`-o ${shown(out)} is the run's own folder: the export would replace its model.json. Choose another folder.`);
  }
  const modelPath = join(out, "model.json");
  /** The files the folder's model.json says an earlier export wrote (those it may replace or remove). */
  let previous: string[] = [];
  let ours = false;
  if (kind === "folder" && existsSync(modelPath)) {
    let text = "";
    try {
      text = readFileSync(modelPath, "utf8");
    } catch {
      text = "";
    }
    ours = ex.isNncTfjs(text);
    if (ours) {
      const files = (JSON.parse(text) as { userDefinedMetadata?: { nnc?: { files?: unknown } } }).userDefinedMetadata?.nnc?.files;
      previous = Array.isArray(files) ? files.filter((f): f is string => typeof f === "string" && TFJS_FILES.includes(f)) : [];
    } else if (!args.force) {
      throw new Refusal(`not exporting: ${shown(modelPath)} exists and was not written by nnc export. Move it, choose another folder with -o, or pass --force to overwrite it.`);
    }
  }
  const result = ex.exportTfjs(folder, { version: version() });
  const files: { name: string; data: string | Uint8Array }[] = [{ name: "weights.bin", data: result.weights }];
  if (folder.normalizer && folder.normalizer.kind !== "none") files.push({ name: "normalizer.json", data: JSON.stringify(folder.normalizer, null, 2) + "\n" });
  if (folder.data) files.push({ name: "data.json", data: JSON.stringify(folder.data, null, 2) + "\n" });
  const written = files.map((f) => f.name);
  // A file of ours by name that an earlier export did not write is the user's.
  const foreign = written.filter((name) => kindOf(join(out, name)) !== "none" && !previous.includes(name));
  if (foreign.length > 0 && !args.force) {
    throw new Refusal(`not exporting: ${foreign.map((f) => shown(join(out, f))).join(", ")} ${foreign.length === 1 ? "exists and was" : "exist and were"} not written by nnc export. Move ${foreign.length === 1 ? "it" : "them"}, choose another folder with -o, or pass --force to overwrite.`);
  }
  const modelJson = JSON.parse(result.modelJson) as { userDefinedMetadata: { nnc: Record<string, unknown> } };
  modelJson.userDefinedMetadata.nnc["files"] = written;
  makeParent(modelPath);
  // model.json last: it names the weights, which must be complete first.
  for (const f of files) writeAtomic(join(out, f.name), f.data);
  writeAtomic(modelPath, JSON.stringify(modelJson));
  // What the earlier export wrote and this one does not (a normaliser the run no longer has).
  for (const stale of previous.filter((p) => !written.includes(p))) {
    try {
      unlinkSync(join(out, stale));
    } catch {
      // gone already
    }
  }
  const listed = ["model.json", ...written].map((f) => (f === "weights.bin" ? `weights.bin (${kb(result.weights.byteLength)})` : f)).join(", ");
  const stdout = [`Wrote ${shown(out)}${shown(out).endsWith("/") ? "" : "/"}: ${listed}, from ${folder.shown}. A TF.js layers model: load it with tf.loadLayersModel.`];
  for (const r of result.replaced) stdout.push(`  \`${r.layer}\`: nnc's ${r.from} written as TF.js's ${r.to}.`);
  if (result.customLayers.length > 0) {
    stdout.push(`  It uses nnc's layers ${result.customLayers.join(", ")}, which TF.js lacks. In the program that loads it, first:`);
    stdout.push(`    ${ex.LAYERS_IMPORT}`);
    stdout.push(`  (the same @tensorflow/tfjs as nnc's; see docs/EXPORT.md).`);
  } else {
    stdout.push("  It uses only TF.js's own layers: no nnc import needed.");
  }
  if (folder.normalizer && folder.normalizer.kind !== "none") stdout.push(`  The run's ${folder.normalizer.kind} normaliser is not in the model: normalise inputs with normalizer.json first.`);
  return { exitCode: 0, stdout, stderr: [] };
}
