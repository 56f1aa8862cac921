/** `nnc check FILE...`: diagnostics for each file, optional summaries or JSON. */
import { readdirSync, statSync, type Dirent } from "node:fs";
import { join } from "node:path";
import { diag, LineMap, type Diagnostic } from "../diagnostics/diagnostic.js";
import { closestByDistance } from "../common/edit-distance.js";
import { checkText } from "../pipeline.js";
import type { CheckedModel } from "../typecheck/index.js";
import { jsonDiagnostic, jsonModel, type JsonOutput } from "./json.js";
import { readReason, readSpec, renderDiagnostics } from "./files.js";
import { renderSummary } from "./summary.js";

export interface CheckOptions {
  files: string[];
  json: boolean;
  summary: boolean;
  model?: string;
  color: boolean;
}

export interface Output {
  stdout: string[];
  stderr: string[];
}

interface FileResult {
  path: string;
  diagnostics: Diagnostic[];
  models: CheckedModel[];
  lines: LineMap;
}

/** A path to read, or why a folder named on the command line gave none. */
export interface SpecPath {
  path: string;
  /** A folder that could not be listed or holds no .nn file (NN5001). */
  error?: Diagnostic;
}

/**
 * Expands folders into the `.nn` files under them, sorted; other paths are kept as they are
 * (reading them says what is wrong). A folder that cannot be listed, or holds no `.nn` file,
 * becomes an entry with an error.
 */
export function expandPaths(paths: string[]): SpecPath[] {
  const out: SpecPath[] = [];
  const at = new LineMap("").range(0, 0);
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) {
      out.push({ path: p });
      continue;
    }
    const before = out.length;
    const walk = (dir: string): void => {
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (e) {
        out.push({ path: dir, error: diag("NN5001", `I cannot list the folder \`${dir}\`: ${readReason(e)}.`, at) });
        return;
      }
      for (const entry of entries.sort((x, y) => x.name.localeCompare(y.name))) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith(".nn")) out.push({ path: full });
      }
    };
    walk(p);
    if (out.length === before) out.push({ path: p, error: diag("NN5001", `The folder \`${p}\` holds no .nn file.`, at, { hint: "nnc looks for files ending in `.nn`, in it and in the folders under it." }) });
  }
  return out;
}

export function runCheck(opts: CheckOptions): { exitCode: number; output: Output } {
  const output: Output = { stdout: [], stderr: [] };
  const results: FileResult[] = [];
  const noText = new LineMap("");
  for (const { path, error } of expandPaths(opts.files)) {
    const read = error ? { error } : readSpec(path);
    if ("error" in read) {
      results.push({ path, diagnostics: [read.error], models: [], lines: noText });
      continue;
    }
    const r = checkText(read.text);
    const diagnostics = [...r.diagnostics];
    let models = r.program.models;
    if (opts.model !== undefined) {
      models = models.filter((m) => m.name === opts.model);
      if (models.length === 0 && !r.ast.declarations.some((d) => d.kind === "model" && d.name?.name === opts.model)) {
        const names = r.ast.declarations.flatMap((d) => (d.kind === "model" && d.name ? [d.name.name] : []));
        const close = closestByDistance(opts.model, names);
        diagnostics.push(diag("NN5002", `There is no model \`${opts.model}\` in this file.${close !== undefined ? ` Did you mean \`${close}\`?` : ""}`, r.lines.range(0, 0), { hint: names.length ? `Its models: ${names.map((n) => `\`${n}\``).join(", ")}.` : "This file declares no model." }));
      }
    }
    results.push({ path, diagnostics, models, lines: r.lines });
  }
  const errors = results.reduce((n, f) => n + f.diagnostics.filter((d) => d.severity === "error").length, 0);
  const warnings = results.reduce((n, f) => n + f.diagnostics.filter((d) => d.severity === "warning").length, 0);

  if (opts.json) {
    const json: JsonOutput = {
      version: 1,
      files: results.map((f) => ({ path: f.path, diagnostics: f.diagnostics.map(jsonDiagnostic), models: f.models.map(jsonModel) })),
    };
    output.stdout.push(JSON.stringify(json, null, 2));
  } else {
    for (const f of results) {
      output.stdout.push(...renderDiagnostics(f.path, f.diagnostics, f.lines, { color: opts.color }));
      if (opts.summary) for (const m of f.models) output.stdout.push(renderSummary(m) + "\n");
    }
    const files = results.length;
    const plural = (n: number, w: string): string => `${n.toLocaleString("en-US")} ${w}${n === 1 ? "" : "s"}`;
    output.stdout.push(errors + warnings === 0 ? `${plural(files, "file")} checked: no problems.` : `${plural(files, "file")} checked: ${plural(errors, "error")}, ${plural(warnings, "warning")}.`);
  }
  return { exitCode: errors > 0 ? 1 : 0, output };
}
