/** `nnc check FILE...`: diagnostics for each file, optional summaries or JSON. */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { diag, LineMap, type Diagnostic } from "../diagnostics/diagnostic.js";
import { renderDiagnostic } from "../diagnostics/render.js";
import { checkText } from "../pipeline.js";
import type { CheckedModel } from "../typecheck/index.js";
import { jsonDiagnostic, jsonModel, type JsonOutput } from "./json.js";
import { readSpec } from "./files.js";
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

/** Expands directories into the `.nn` files under them, sorted. */
export function expandPaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) {
      out.push(p);
      continue;
    }
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith(".nn")) out.push(full);
      }
    };
    walk(p);
  }
  return out;
}

export function runCheck(opts: CheckOptions): { exitCode: number; output: Output } {
  const output: Output = { stdout: [], stderr: [] };
  const results: FileResult[] = [];
  for (const path of expandPaths(opts.files)) {
    const read = readSpec(path);
    if ("error" in read) {
      results.push({ path, diagnostics: [read.error], models: [], lines: new LineMap("") });
      continue;
    }
    const r = checkText(read.text);
    const diagnostics = [...r.diagnostics];
    let models = r.program.models;
    if (opts.model !== undefined) {
      models = models.filter((m) => m.name === opts.model);
      if (models.length === 0 && !r.ast.declarations.some((d) => d.kind === "model" && d.name?.name === opts.model)) {
        const names = r.ast.declarations.flatMap((d) => (d.kind === "model" && d.name ? [d.name.name] : []));
        diagnostics.push(diag("NN5002", `There is no model \`${opts.model}\` in this file.`, r.lines.range(0, 0), { hint: names.length ? `Its models: ${names.map((n) => `\`${n}\``).join(", ")}.` : "This file declares no model." }));
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
      for (const d of f.diagnostics) output.stdout.push(renderDiagnostic(f.path, d, f.lines, { color: opts.color }) + "\n");
      if (opts.summary) for (const m of f.models) output.stdout.push(renderSummary(m) + "\n");
    }
    const files = results.length;
    const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? "" : "s"}`;
    output.stdout.push(errors + warnings === 0 ? `${plural(files, "file")} checked: no problems.` : `${plural(files, "file")} checked: ${plural(errors, "error")}, ${plural(warnings, "warning")}.`);
  }
  return { exitCode: errors > 0 ? 1 : 0, output };
}
