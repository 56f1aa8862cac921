/**
 * `nnc inspect FILE [--model M] [--backend B] [--seed N] [--batch N] [--json]`: the model as
 * its recipe would build it, before any training step: one forward and backward pass on a
 * batch of the recipe's data, a table of each layer's pre-activations (Z), activations,
 * weights and gradients, the initial loss against ln(classes), and warnings with hints.
 */
import type { CommandResult } from "./build-command.js";
import { isConvolution } from "../typecheck/index.js";
import { badBackend, isResult, loadSpecModule, runtime, runOnSpec, type Runtime } from "./spec-module.js";

export interface InspectCommandOptions {
  file: string;
  model?: string;
  backend?: string;
  seed?: number;
  batch?: number;
  json: boolean;
  color: boolean;
}

type InspectRun = Awaited<ReturnType<Runtime["inspect"]>>;

/** A number in at most 9 characters: 0.0123, -1.52, 3.1e-9. */
export function num(v: number): string {
  if (v === 0) return "0";
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e4) return v.toPrecision(3);
  return v.toExponential(1);
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)];
}

/** The inspection as the terminal shows it: the table, the loss line, the warnings. */
export function renderInspection(r: InspectRun, color: boolean): string[] {
  const yellow = (s: string): string => (color ? `\x1b[33m${s}\x1b[39m` : s);
  const green = (s: string): string => (color ? `\x1b[32m${s}\x1b[39m` : s);
  const rows = [
    ["input", "", "", "", num(r.input.mean), num(r.input.std), num(r.input.signal), "", ""],
    ...r.layers.map((l) => [l.name, l.activation, num(l.z.mean), num(l.z.std), num(l.a.mean), num(l.a.std), num(l.signal), l.weights ? num(l.weights.std) : "", l.gradients ? num(l.gradients.std) : ""]),
  ];
  const out = table(["layer", "activation", "Z mean", "Z std", "A mean", "A std", "A signal", "W std", "grad std"], rows);
  out.push("(Z: pre-activations; A: activations; signal: A's std across the samples, per unit; W: the kernel; grad: the loss's gradient w.r.t. W)");
  const loss = `initial loss ${num(r.loss)}`;
  if (r.expectedLoss !== undefined) {
    const chance = r.lossName === "binary_crossentropy" ? "ln 2" : `ln ${r.classes}`;
    const off = r.warnings.some((w) => w.kind === "initial-loss");
    out.push(`${loss}; with small random weights expect about ${chance} = ${r.expectedLoss.toFixed(3)}: ${off ? yellow("far from it") : green("ok")}`);
  } else out.push(`${loss} (${r.lossName}: no value to expect at chance)`);
  if (r.warnings.length === 0) out.push(green("no warnings: the signal and the gradients keep their scale across the layers"));
  for (const w of r.warnings) {
    out.push(`${yellow("warning")}: ${w.message}`);
    out.push(`  hint: ${w.hint}`);
  }
  return out;
}

export async function runInspect(opts: InspectCommandOptions, print: (line: string) => void): Promise<CommandResult> {
  const bad = badBackend(opts.backend);
  if (bad) return bad;
  const spec = await loadSpecModule({ file: opts.file, color: opts.color, ...(opts.model !== undefined ? { model: opts.model } : {}) });
  if (isResult(spec)) return spec;
  return runOnSpec(spec, async () => {
    if (!opts.json) for (const line of spec.stdout) print(line);
    const rt = await runtime(spec);
    const build = spec.mod[spec.builder] as Parameters<Runtime["inspect"]>[0];
    const lines: string[] = [];
    const r = await rt.inspect(build, spec.mod.recipe, {
      baseDir: spec.baseDir,
      convolutional: spec.checked.layers.some((l) => isConvolution(l.config)),
      log: (line) => lines.push(line),
      ...(opts.backend !== undefined ? { backend: opts.backend as NonNullable<Parameters<Runtime["inspect"]>[2]>["backend"] } : {}),
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.batch !== undefined ? { batch: opts.batch } : {}),
    });
    if (opts.json) return { exitCode: 0, stdout: [JSON.stringify({ version: 1, file: opts.file, model: spec.model, ...r })], stderr: [] };
    const head = `inspect \`${spec.model}\` on ${r.backend}: ${r.batch} samples, seed ${r.seed}, before training`;
    return { exitCode: 0, stdout: [head, ...renderInspection(r, opts.color)], stderr: [] };
  });
}
