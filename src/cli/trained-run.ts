/**
 * What `nnc predict` and `nnc evaluate` share: the runtime reached by URL (the CLI never
 * imports TensorFlow.js itself; `runtimeUrl()` is the module a generated module imports), the
 * run opened on the chosen backend, and the runtime's errors turned into `nnc: …` with exit 1.
 */
import type { CommandResult } from "./build-command.js";
import { runtimeUrl, userError, type Runtime } from "./spec-module.js";

export type TrainedRun = Awaited<ReturnType<Runtime["openRun"]>>;
type BackendName = NonNullable<NonNullable<Parameters<Runtime["openRun"]>[1]>["backend"]>;

/** The runtime module, imported by its file URL; a CommandResult when the package is not whole. */
export async function loadRuntime(): Promise<Runtime | CommandResult> {
  const url = runtimeUrl();
  if (!url) return { exitCode: 1, stdout: [], stderr: ["nnc: cannot find the nnc runtime next to this program (is the package installed whole?)."] };
  return (await import(url)) as Runtime;
}

export function isCommandResult(x: unknown): x is CommandResult {
  return typeof x === "object" && x !== null && "exitCode" in x;
}

/** The message of an error the user can act on (a run, a data file, a backend), or undefined for a bug. */
export function runProblem(e: unknown): string | undefined {
  const known = userError(e);
  if (known !== undefined) return known;
  const name = e instanceof Error ? e.name : undefined;
  return name === "PredictError" || name === "JsonFileError" || name === "ModelFileError" || name === "MakeDirError" ? (e as Error).message : undefined;
}

/**
 * Opens the run `dir` with the runtime and runs `work` on it: the runtime's own errors become
 * exit 1 with their message, anything else is a bug and is thrown; the model is released either way.
 */
export async function withRun(rt: Runtime, dir: string, opts: { backend?: string; batch?: number }, work: (run: TrainedRun) => Promise<CommandResult>): Promise<CommandResult> {
  let run: TrainedRun | undefined;
  try {
    run = await rt.openRun(dir, { ...(opts.backend !== undefined ? { backend: opts.backend as BackendName } : {}), ...(opts.batch !== undefined ? { batch: opts.batch } : {}) });
    return await work(run);
  } catch (e) {
    const message = runProblem(e);
    if (message === undefined) throw e;
    return { exitCode: 1, stdout: [], stderr: [`nnc: ${message}`] };
  } finally {
    run?.dispose();
  }
}

/** A number in at most 9 characters: 0.0123, -1.52, 3.1e-9. */
export function num(v: number): string {
  if (v === 0) return "0";
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e4) return v.toPrecision(4).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
  return v.toExponential(2);
}

/** Rows under a header, columns padded: the first `left` columns left-aligned, the rest right-aligned. */
export function table(header: string[], rows: string[][], left = 1): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < left ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)];
}
