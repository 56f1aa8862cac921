/**
 * `nnc train FILE [--model M] [--backend B] [--epochs N] [--out DIR] [--resume DIR] [--log-json]`: compiles
 * the spec exactly as `nnc build` does, then runs the generated module's `train()`. The
 * compiler does not import TensorFlow.js: the generated module imports the runtime, and this
 * command imports the generated module.
 */
import { isAbsolute, join, relative } from "node:path";
import type { CommandResult } from "./build-command.js";
import { writeTrainReport } from "./report.js";
import { badBackend, isResult, loadSpecModule, runOnSpec } from "./spec-module.js";

export interface TrainCommandOptions {
  file: string;
  model?: string;
  backend?: string;
  epochs?: number;
  out?: string;
  logJson: boolean;
  color: boolean;
  seed?: number;
  /** A run folder (or its checkpoint/) to go on from. */
  resume?: string;
  /** Write a self-contained HTML report of the run here (`--report FILE.html`). */
  report?: string;
  /** Train into `--out` even when it holds files nnc did not write (`--force`). */
  force?: boolean;
}

export async function runTrain(opts: TrainCommandOptions, print: (line: string) => void): Promise<CommandResult> {
  const refused = badBackend(opts.backend);
  if (refused) return refused;
  const spec = await loadSpecModule({ file: opts.file, color: opts.color, refused: "not trained", ...(opts.model !== undefined ? { model: opts.model } : {}) });
  if (isResult(spec)) return spec;
  for (const line of spec.stdout) print(line);
  return runOnSpec(spec, async () => {
    const mod = spec.mod;
    // Resuming writes into the resumed run's folder unless --out says otherwise.
    const out = opts.out ?? (opts.resume === undefined ? join("runs", spec.model) : undefined);
    // Ctrl-C stops after the batch in progress, with the command that goes on (below).
    const options: Record<string, unknown> = { baseDir: spec.baseDir, logJson: opts.logJson, interruptible: true };
    if (out !== undefined) options["out"] = out;
    if (opts.resume !== undefined) options["resume"] = opts.resume;
    if (opts.backend !== undefined) options["backend"] = opts.backend;
    if (opts.epochs !== undefined) options["epochs"] = opts.epochs;
    if (opts.seed !== undefined) options["seed"] = opts.seed;
    if (opts.force === true) options["force"] = true;
    let result;
    try {
      result = await mod.train(options);
    } catch (e) {
      const stopped = interruption(e);
      if (stopped === undefined) throw e;
      return { exitCode: 130, stdout: [], stderr: [`nnc: ${resumeAdvice(opts, stopped)}`] };
    }
    const last = result.history[result.history.length - 1];
    const summary = [`trained \`${spec.model}\` on ${result.backend} for ${result.history.length} epoch${result.history.length === 1 ? "" : "s"}`];
    if (last) summary.push(`final loss ${last.loss.toFixed(4)}${last.acc !== undefined ? `, acc ${(last.acc * 100).toFixed(2)}%` : ""}`);
    if (result.test?.acc !== undefined) summary.push(`test acc ${(result.test.acc * 100).toFixed(2)}%`);
    else if (result.test) summary.push(`test loss ${result.test.loss.toFixed(4)}`);
    const lines = [summary.join("; ") + (result.outDir ? ` → ${result.outDir}` : "")];
    if (opts.report !== undefined) {
      const report = await writeTrainReport({ file: opts.file, model: spec.model, report: opts.report, outDir: result.outDir });
      if (!report.ok) return { exitCode: 1, stdout: lines, stderr: [`nnc: the run is saved, but its report is not: ${report.message}`] };
      lines.push(`report → ${report.path}`);
    }
    return { exitCode: 0, stdout: lines, stderr: [] };
  });
}

/** What a TrainError of an interrupted run carries (`interrupted`), or undefined for any other error. */
function interruption(e: unknown): { epoch: number; runDir: string | undefined } | undefined {
  if (!(e instanceof Error) || e.name !== "TrainError") return undefined;
  const i = (e as { interrupted?: unknown }).interrupted;
  if (typeof i !== "object" || i === null) return undefined;
  const epoch = (i as { epoch?: unknown }).epoch;
  const runDir = (i as { runDir?: unknown }).runDir;
  return typeof epoch === "number" ? { epoch, runDir: typeof runDir === "string" ? runDir : undefined } : undefined;
}

/** A word for a shell: quoted when it holds anything but plain path characters. */
function shellWord(word: string): string {
  return /^[\w./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** "interrupted after epoch 3; go on with: nnc train spec.nn --resume runs/x" (with the flags that decide how it goes on). */
export function resumeAdvice(opts: TrainCommandOptions, stopped: { epoch: number; runDir: string | undefined }): string {
  if (stopped.epoch === 0 || stopped.runDir === undefined) {
    return `interrupted before the first epoch finished: nothing was saved to go on from; run \`nnc train ${shellWord(opts.file)}\` again to start over.`;
  }
  const r = relative(process.cwd(), stopped.runDir);
  const run = r !== "" && !r.startsWith("..") && !isAbsolute(r) ? r : stopped.runDir;
  const words = ["nnc", "train", opts.file];
  if (opts.model !== undefined) words.push("--model", opts.model);
  if (opts.backend !== undefined) words.push("--backend", opts.backend);
  if (opts.epochs !== undefined) words.push("--epochs", String(opts.epochs));
  words.push("--resume", run);
  if (opts.report !== undefined) words.push("--report", opts.report);
  return `interrupted after epoch ${stopped.epoch}; go on with: ${words.map(shellWord).join(" ")}`;
}
