/**
 * `nnc build FILE [-o DIR] [--force]`: one TypeScript module per model. Writes nothing if the
 * spec has any error, and never overwrites a file it did not generate unless told to.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { generate, isGenerated, type GeneratedFile } from "../codegen/index.js";
import { hasErrors } from "../diagnostics/diagnostic.js";
import { renderDiagnostic } from "../diagnostics/render.js";
import { checkText } from "../pipeline.js";
import { readSpec, version, writeFileAtomic } from "./files.js";

export interface BuildOptions {
  file: string;
  out: string;
  force: boolean;
  color: boolean;
}

export interface CommandResult {
  exitCode: number;
  stdout: string[];
  stderr: string[];
}

/** Parse, check and generate; the diagnostics are printed either way. */
export async function compileSpec(file: string, color: boolean, runtimeImport?: string): Promise<{ files?: GeneratedFile[]; stdout: string[]; ok: boolean; text?: string }> {
  const stdout: string[] = [];
  const read = readSpec(file);
  if ("error" in read) {
    stdout.push(renderDiagnostic(file, read.error, checkText("").lines, { color }));
    return { stdout, ok: false };
  }
  const r = checkText(read.text);
  for (const d of r.diagnostics) stdout.push(renderDiagnostic(file, d, r.lines, { color }) + "\n");
  if (hasErrors(r.diagnostics)) return { stdout, ok: false, text: read.text };
  const files = await generate(r.program, { specPath: file, sourceLines: read.text.split(/\r\n|\r|\n/), version: version(), ...(runtimeImport ? { runtimeImport } : {}) });
  return { files, stdout, ok: true, text: read.text };
}

export async function runBuild(opts: BuildOptions): Promise<CommandResult> {
  const { files, stdout, ok } = await compileSpec(opts.file, opts.color);
  const stderr: string[] = [];
  if (!ok || !files) {
    stdout.push(`${opts.file}: not built: fix the errors above first (nothing was written).`);
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
    stderr.push(`nnc: not building: ${notFiles.map((p) => `\`${p}\``).join(", ")} ${notFiles.length === 1 ? "is" : "are"} not a file. Move ${notFiles.length === 1 ? "it" : "them"} or choose another folder with -o.`);
    return { exitCode: 1, stdout, stderr };
  }
  const foreign = targets.filter((p) => existsSync(p) && !isGenerated(readFileSync(p, "utf8")));
  if (foreign.length > 0 && !opts.force) {
    stderr.push(`nnc: not building: ${foreign.map((p) => `\`${p}\``).join(", ")} ${foreign.length === 1 ? "exists and was" : "exist and were"} not written by nnc. Move ${foreign.length === 1 ? "it" : "them"}, choose another folder with -o, or pass --force to overwrite.`);
    return { exitCode: 1, stdout, stderr };
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    stderr.push(`nnc: cannot create the output folder \`${dir}\`: ${systemReason(e)}. Nothing was written.`);
    return { exitCode: 1, stdout, stderr };
  }
  for (const f of files) {
    const path = join(dir, f.name);
    try {
      writeFileAtomic(path, f.content);
    } catch (e) {
      // writeFileAtomic leaves the old file (or none) in place, never half a new one.
      stderr.push(`nnc: cannot write \`${path}\`: ${systemReason(e)}. It is unchanged${stdout.some((l) => l.startsWith("wrote ")) ? "; the files listed above were written" : ""}.`);
      return { exitCode: 1, stdout, stderr };
    }
    stdout.push(`wrote ${join(opts.out, f.name)}: ${f.builder}()${f.hasRecipe ? " and train()" : ""}`);
  }
  return { exitCode: 0, stdout, stderr };
}

/** Why the system refused, in words. */
function systemReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") return "permission denied";
  if (code === "ENOTDIR" || code === "EEXIST") return "a file is in the way of the folder";
  if (code === "ENOSPC") return "the disk is full";
  if (code === "EISDIR") return "a folder is in the way";
  return `the system says ${code ?? (e instanceof Error ? e.message : String(e))}`;
}
