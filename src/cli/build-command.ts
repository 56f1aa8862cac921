/**
 * `nnc build FILE [-o DIR] [--force]`: one TypeScript module per model. Writes nothing if the
 * spec has any error, and never overwrites a file it did not generate unless told to.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { FORMAT_LIMIT, generate, isGenerated, type GeneratedFile, type Target } from "../codegen/index.js";
import { hasErrors, LineMap } from "../diagnostics/diagnostic.js";
import { checkText, type PipelineResult } from "../pipeline.js";
import { makeFolder, readSpec, renderDiagnostics, version, writeFileAtomic } from "./files.js";
import { copyPythonRuntime, runtimeCopyIsOurs, writeInitialWeights, writeMnistArchive } from "./pytorch.js";
import { loadSpecModule } from "./spec-module.js";

export interface BuildOptions {
  file: string;
  out: string;
  force: boolean;
  color: boolean;
  /** `tfjs` (default) or `pytorch`. */
  target?: Target;
}

export interface CommandResult {
  exitCode: number;
  stdout: string[];
  stderr: string[];
}

/** A spec read and checked; its diagnostics rendered for the terminal (at most `MAX_PRINTED_DIAGNOSTICS`). */
export interface CheckedSpec {
  /** The rendered diagnostics, or the one line saying the file cannot be read. */
  stdout: string[];
  /** No errors: the spec may be compiled. */
  ok: boolean;
  /** The text, when it could be read. */
  text?: string;
  /** What the pipeline made of it, when it could be read. */
  result?: PipelineResult;
  /** The spec could not be read at all (no such file, a folder, unreadable…). */
  unreadable?: boolean;
}

/** Reads (unless `text` is given) and checks a spec: the first half of `compileSpec`. */
export function checkSpec(file: string, color: boolean, text?: string): CheckedSpec {
  const read = text !== undefined ? { text } : readSpec(file);
  // One line (and its hint), without the blank line that separates diagnostics: nothing follows it.
  if ("error" in read) return { stdout: renderDiagnostics(file, [read.error], new LineMap(""), { color }).map((l) => l.trimEnd()), ok: false, unreadable: true };
  const result = checkText(read.text);
  return { stdout: renderDiagnostics(file, result.diagnostics, result.lines, { color }), ok: !hasErrors(result.diagnostics), text: read.text, result };
}

export interface CompileOptions {
  /** The runtime's import specifier (default `nnc/runtime`). */
  runtimeImport?: string;
  /** Generate only these models (default: all). */
  models?: readonly string[];
  /** Prettier-format (default true, within `FORMAT_LIMIT`). */
  format?: boolean;
  target?: Target;
}

/** Generates the modules of a checked spec that has no errors. */
export async function generateSpec(file: string, spec: CheckedSpec & { result: PipelineResult; text: string }, opts: CompileOptions = {}): Promise<GeneratedFile[]> {
  return generate(spec.result.program, {
    specPath: file,
    sourceLines: spec.text.split(/\r\n|\r|\n/),
    version: version(),
    ...(opts.runtimeImport !== undefined ? { runtimeImport: opts.runtimeImport } : {}),
    ...(opts.models !== undefined ? { models: opts.models } : {}),
    ...(opts.format !== undefined ? { format: opts.format } : {}),
    ...(opts.target !== undefined ? { target: opts.target } : {}),
  });
}

/** Parse, check and generate; the diagnostics are printed either way. */
export async function compileSpec(file: string, color: boolean, opts: CompileOptions = {}): Promise<{ files?: GeneratedFile[]; stdout: string[]; ok: boolean; text?: string; unreadable?: boolean }> {
  const spec = checkSpec(file, color);
  if (!spec.ok || spec.result === undefined || spec.text === undefined) return { stdout: spec.stdout, ok: false, ...(spec.text !== undefined ? { text: spec.text } : {}), ...(spec.unreadable ? { unreadable: true } : {}) };
  const files = await generateSpec(file, { ...spec, result: spec.result, text: spec.text }, opts);
  return { files, stdout: spec.stdout, ok: true, text: spec.text };
}

export async function runBuild(opts: BuildOptions): Promise<CommandResult> {
  const { files, stdout, ok, unreadable } = await compileSpec(opts.file, opts.color, opts.target ? { target: opts.target } : {});
  const stderr: string[] = [];
  if (!ok || !files) {
    if (!unreadable) stdout.push(`${opts.file}: not built: fix the errors above first (nothing was written).`);
    return { exitCode: 1, stdout, stderr };
  }
  if (files.length === 0) {
    stdout.push(`${opts.file}: no model to build.`);
    return { exitCode: 0, stdout, stderr };
  }
  const dir = resolve(opts.out);
  // Refuse before writing anything: a file that nnc did not write is the user's. A folder (or
  // anything but a file) in the way is never overwritten, --force or not.
  const targets = files.map((f) => join(dir, f.name));
  const notFiles = targets.filter((p) => existsSync(p) && !statSync(p).isFile());
  if (notFiles.length > 0) {
    stderr.push(`nnc: not building: ${names(notFiles)} ${notFiles.length === 1 ? "is" : "are"} not a file. Move ${notFiles.length === 1 ? "it" : "them"} or choose another folder with -o.`);
    return { exitCode: 1, stdout, stderr };
  }
  const foreign = targets.filter((p) => existsSync(p) && !ours(p));
  if (opts.target === "pytorch" && !runtimeCopyIsOurs(dir)) foreign.push(join(dir, "nnc_torch"));
  if (foreign.length > 0 && !opts.force) {
    stderr.push(`nnc: not building: ${names(foreign)} ${foreign.length === 1 ? "exists and was" : "exist and were"} not written by nnc. Move ${foreign.length === 1 ? "it" : "them"}, choose another folder with -o, or pass --force to overwrite.`);
    return { exitCode: 1, stdout, stderr };
  }
  try {
    makeFolder(dir);
  } catch (e) {
    stderr.push(`nnc: cannot create the output folder \`${dir}\`: ${folderReason(e, dir)}. Nothing was written.`);
    return { exitCode: 1, stdout, stderr };
  }
  if (!files[0]!.formatted && opts.target !== "pytorch") {
    const size = files.reduce((n, f) => n + f.content.length, 0);
    stdout.push(`note: the code is not formatted with Prettier: ${files.length === 1 ? "it comes" : `the ${files.length.toLocaleString("en-US")} modules come`} to ${(size / 2 ** 20).toFixed(1)} MB, and Prettier, at some 300 KB a second, formats builds of up to ${FORMAT_LIMIT / 1024} KB.`);
  }
  let written = 0;
  for (const f of files) {
    const path = join(dir, f.name);
    try {
      writeFileAtomic(path, f.content);
    } catch (e) {
      // writeFileAtomic leaves the old file (or none) in place, never half a new one.
      stderr.push(`nnc: cannot write \`${path}\`: ${systemReason(e)}. It is unchanged${written > 0 ? `; the ${written === 1 ? "file" : `${written.toLocaleString("en-US")} files`} before it ${written === 1 ? "was" : "were"} written` : ""}.`);
      return { exitCode: 1, stdout, stderr };
    }
    written++;
    if (written <= MAX_LISTED) stdout.push(`wrote ${join(opts.out, f.name)}: ${f.builder}()${f.hasRecipe ? " and train()" : ""}`);
  }
  if (written > MAX_LISTED) stdout.push(`… and ${(written - MAX_LISTED).toLocaleString("en-US")} more modules in ${opts.out} (${written.toLocaleString("en-US")} in all).`);
  if (opts.target === "pytorch") {
    const support = await writeTorchSupport(opts, dir, files);
    stdout.push(...support.stdout);
    if (support.error) {
      stderr.push(support.error);
      return { exitCode: 1, stdout, stderr };
    }
  }
  return { exitCode: 0, stdout, stderr };
}

/**
 * Beside Python modules: nnc's Python runtime, and for each model with a recipe its initial
 * weights (the recipe's seed, else 0) and topology, built by TF.js, and mnist.npz when a recipe reads mnist.
 */
async function writeTorchSupport(opts: BuildOptions, dir: string, files: GeneratedFile[]): Promise<{ stdout: string[]; error?: string }> {
  const stdout: string[] = [];
  try {
    copyPythonRuntime(dir);
    stdout.push(`wrote ${join(opts.out, "nnc_torch")}/: nnc's Python runtime`);
    let mnist = false;
    for (const f of files.filter((f) => f.hasRecipe)) {
      const spec = await loadSpecModule({ file: opts.file, color: false, model: f.model });
      if ("exitCode" in spec) return { stdout, error: spec.stderr.join("\n") || `nnc: cannot build the initial weights of \`${f.model}\`` };
      try {
        await writeInitialWeights(spec, spec.recipe.seed ?? 0, join(dir, `${f.model}.initial`));
        mnist ||= spec.recipe.data?.source === "mnist";
      } finally {
        spec.dispose();
      }
      stdout.push(`wrote ${join(opts.out, `${f.model}.initial`)}/: the initial weights (seed ${spec.recipe.seed ?? 0}) and the TF.js topology`);
    }
    if (mnist) {
      writeMnistArchive(join(dir, "mnist.npz"));
      stdout.push(`wrote ${join(opts.out, "mnist.npz")}: the mnist package's digits for \`data mnist\``);
    }
  } catch (e) {
    return { stdout, error: `nnc: cannot write the PyTorch module's support files in \`${dir}\`: ${e instanceof Error ? e.message : String(e)}` };
  }
  return { stdout };
}

/** At most this many `wrote …` lines; a line then counts the rest. */
const MAX_LISTED = 50;

/** Up to three paths in backticks, and how many more. */
function names(paths: string[]): string {
  const shown = paths.slice(0, 3).map((p) => `\`${p}\``).join(", ");
  return paths.length > 3 ? `${shown} and ${paths.length - 3} more` : shown;
}

/** Whether nnc wrote the file at `path` (one it cannot read is not taken for its own). */
function ours(path: string): boolean {
  try {
    return isGenerated(readFileSync(path, "utf8"));
  } catch {
    return false;
  }
}

/** Why a folder could not be made (`makeFolder`'s error), in words. */
function folderReason(e: unknown, dir: string): string {
  const err = e as NodeJS.ErrnoException;
  const at = err.path !== undefined && resolve(err.path) !== dir ? ` (at \`${err.path}\`)` : "";
  if (err.code === "ENOTDIR") return `a file is in the way${err.path !== undefined ? `: \`${err.path}\` is not a folder` : ""}`;
  // mkdir answers ENOENT where the parent exists but takes no new folders (/proc).
  if (err.code === "ENOENT") return `the system does not let a folder be made there${at}`;
  return systemReason(e) + at;
}

/** Why the system refused, in words. */
function systemReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") return "permission denied";
  if (code === "ENOTDIR" || code === "EEXIST") return "a file is in the way of the folder";
  if (code === "ENOSPC") return "the disk is full";
  if (code === "ENOENT") return "the folder is gone, or takes no new files";
  if (code === "EISDIR") return "a folder is in the way";
  return `the system says ${code ?? (e instanceof Error ? e.message : String(e))}`;
}
