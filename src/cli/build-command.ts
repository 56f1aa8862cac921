/**
 * `nnc build FILE [-o DIR] [--force]`: one TypeScript module per model. Writes nothing if the
 * spec has any error, and never overwrites a file it did not generate unless told to.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
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
  // Refuse before writing anything: a file that nnc did not write is the user's.
  const foreign = files.map((f) => join(dir, f.name)).filter((p) => existsSync(p) && !isGenerated(readFileSync(p, "utf8")));
  if (foreign.length > 0 && !opts.force) {
    stderr.push(`nnc: not building: ${foreign.map((p) => `\`${p}\``).join(", ")} ${foreign.length === 1 ? "exists and was" : "exist and were"} not written by nnc. Move ${foreign.length === 1 ? "it" : "them"}, choose another folder with -o, or pass --force to overwrite.`);
    return { exitCode: 1, stdout, stderr };
  }
  mkdirSync(dir, { recursive: true });
  for (const f of files) {
    writeFileAtomic(join(dir, f.name), f.content);
    stdout.push(`wrote ${join(opts.out, f.name)}: ${f.builder}()${f.hasRecipe ? " and train()" : ""}`);
  }
  return { exitCode: 0, stdout, stderr };
}
