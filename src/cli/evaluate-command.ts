/**
 * `nnc evaluate RUN --data SOURCE [--json] [--report FILE.html] [--batch N] [--backend B]`: the
 * trained run on a data source's test split (or all its samples when it has none, and the
 * output says which): the run's loss, and for a classifier its accuracy, precision, recall, F1
 * and support per class (with the class names) and the confusion matrix; for a regression model
 * the MSE and MAE of each target. `--json` prints it all as one object; `--report` writes a
 * self-contained HTML page with the confusion matrix drawn and the per-class table.
 */
import { existsSync, openSync, readSync, closeSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { CommandResult } from "./build-command.js";
import { writeFileAtomic } from "./files.js";
import { loadDataArgument } from "./predict-command.js";
import { badBackend } from "./spec-module.js";
import { isCommandResult, loadRuntime, num, table, withRun, type TrainedRun } from "./trained-run.js";

export interface EvaluateCommandOptions {
  run: string;
  data?: string;
  json: boolean;
  report?: string;
  batch?: number;
  backend?: string;
}

type Runtime = Exclude<Awaited<ReturnType<typeof loadRuntime>>, CommandResult>;
type Evaluation = Awaited<ReturnType<Runtime["evaluateRun"]>>;

/** The most classes whose confusion matrix is printed as text (wider is unreadable on a terminal). */
export const MAX_TEXT_CLASSES = 20;

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
const ratio = (v: number | null): string => (v === null ? "–" : v.toFixed(3));

/** The evaluation as the terminal shows it. */
export function renderEvaluation(e: Evaluation, classCount: number): string[] {
  const out: string[] = [`loss      ${num(e.loss)} (${e.lossName})`];
  if (e.task === "regression" && e.values !== undefined) {
    // An autoencoder or a model of target images: one MSE and MAE over every value of every sample.
    out.push(`MSE       ${num(e.mse!)}`, `MAE       ${num(e.mae!)}`, `(over all ${e.values.toLocaleString("en-US")} output values of each of the ${e.n.toLocaleString("en-US")} samples)`);
    return out;
  }
  if (e.task === "regression") {
    out.push(`MSE       ${num(e.mse!)}`, `MAE       ${num(e.mae!)}`, "");
    out.push(...table(["target", "MSE", "MAE"], e.targets!.map((t) => [t.name, num(t.mse), num(t.mae)])));
    return out;
  }
  if (e.pixels !== undefined) {
    out.push(`pixel accuracy  ${pct(e.accuracy!)} (${e.correct!.toLocaleString("en-US")} of ${e.pixels.toLocaleString("en-US")} pixels in ${e.n.toLocaleString("en-US")} samples)`);
    out.push(`mean IoU        ${e.meanIou === null || e.meanIou === undefined ? "–" : e.meanIou.toFixed(3)} (intersection over union per class, averaged over the classes present)`, "");
  } else out.push(`accuracy  ${pct(e.accuracy!)} (${e.correct!.toLocaleString("en-US")} of ${e.n.toLocaleString("en-US")})`, "");
  const label = (c: { class: number; name?: string }): string => (c.name !== undefined ? c.name : String(c.class));
  const rows = e.classes!.map((c) => [label(c), ratio(c.precision), ratio(c.recall), ratio(c.f1), c.support.toLocaleString("en-US")]);
  rows.push(["macro mean", ratio(e.macro!.precision), ratio(e.macro!.recall), ratio(e.macro!.f1), (e.pixels ?? e.n).toLocaleString("en-US")]);
  out.push(...table(["class", "precision", "recall", "F1", "support"], rows));
  out.push(e.pixels !== undefined ? "(per pixel: precision: of the pixels predicted as the class, the fraction that are; recall: of the class's pixels, the fraction found; support counts pixels; –: none)" : "(precision: of the samples predicted as the class, the fraction that are; recall: of the class's samples, the fraction found; –: none)", "");
  const m = e.confusion!;
  if (classCount > MAX_TEXT_CLASSES) {
    out.push(`confusion matrix: ${classCount} classes are too many to print (see --json or --report). The most frequent confusions:`);
    const pairs: [number, number, number][] = [];
    m.forEach((row, t) => row.forEach((v, p) => t !== p && v > 0 && pairs.push([t, p, v])));
    pairs.sort((a, b) => b[2] - a[2] || a[0] - b[0] || a[1] - b[1]);
    const named = (c: number): string => label(e.classes![c]!);
    if (pairs.length === 0) out.push("  none: every sample was predicted right.");
    out.push(...table(["true class", "predicted", "samples"], pairs.slice(0, 10).map(([t, p, v]) => [named(t), named(p), v.toLocaleString("en-US")]), 2).map((l) => `  ${l}`));
    return out;
  }
  // Columns by name when the names are short, else by number (the rows say which number is which).
  const short = e.classes!.every((c) => label(c).length <= 10);
  const columns = e.classes!.map((c) => (short ? label(c) : String(c.class)));
  const rowLabel = (c: { class: number; name?: string }): string => (short || c.name === undefined ? label(c) : `${c.class} ${c.name}`);
  out.push("confusion matrix (rows: the true class, columns: the predicted class)");
  out.push(...table(["true \\ predicted", ...columns], m.map((row, t) => [rowLabel(e.classes![t]!), ...row.map((v) => v.toLocaleString("en-US"))])));
  return out;
}

/** JSON has no NaN: a value that is not finite is null. */
function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** Whether the file at `path` is a page nnc wrote (so it may be replaced). */
function isNncPage(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString("utf8").includes('<meta name="generator" content="nnc">');
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export async function runEvaluate(opts: EvaluateCommandOptions): Promise<CommandResult> {
  if (opts.data === undefined) return usage("`nnc evaluate` needs --data SOURCE: the data to evaluate the run on (a folder of images, a .csv, a .npz, a CIFAR folder, or an expression such as `mnist(test: 2000)`).");
  const bad = badBackend(opts.backend);
  if (bad) return bad;
  if (opts.report !== undefined && existsSync(opts.report) && !isNncPage(opts.report)) {
    return { exitCode: 1, stdout: [], stderr: [`nnc: ${opts.report} exists and is not a report nnc wrote: it is left as it is. Choose another file for --report.`] };
  }
  const rt = await loadRuntime();
  if (isCommandResult(rt)) return rt;
  const data = opts.data;
  return withRun(rt, opts.run, opts, async (run) => {
    const loaded = await loadDataArgument(rt, run, data);
    if (isCommandResult(loaded)) return loaded;
    const dataset = loaded;
    let ev: ReturnType<Runtime["evaluationSamples"]> | undefined;
    try {
      ev = rt.evaluationSamples(run, dataset);
      const evaluation = await rt.evaluateRun(run, ev.samples, opts.batch !== undefined ? { batch: opts.batch } : {});
      const split = ev.split === "test" ? `its test split (${evaluation.n.toLocaleString("en-US")} samples)` : `all ${evaluation.n.toLocaleString("en-US")} samples (it has no test split)`;
      const stdout: string[] = [];
      const stderr: string[] = [];
      if (opts.json) {
        stdout.push(JSON.stringify(jsonOf(run, opts.run, dataset.description, ev.split, evaluation)));
      } else {
        stdout.push(`evaluated ${opts.run} on ${dataset.description}: ${split}, on ${run.backend}`, ...renderEvaluation(evaluation, run.classes));
      }
      if (opts.report !== undefined) {
        const html = rt.renderEvaluationReport({ run: opts.run, data: dataset.description, split: ev.split, backend: run.backend, created: new Date().toISOString(), evaluation });
        const path = resolve(opts.report);
        rt.makeDirs(dirname(path));
        try {
          writeFileAtomic(path, html);
        } catch (e) {
          return { exitCode: 1, stdout, stderr: [`nnc: cannot write the report ${opts.report}: ${(e as Error).message}`] };
        }
        (opts.json ? stderr : stdout).push(`report → ${opts.report}`);
      }
      return { exitCode: 0, stdout, stderr };
    } finally {
      ev?.dispose();
      for (const s of [dataset.train, dataset.validation, dataset.test]) s?.x?.dispose();
      await dataset.close?.();
    }
  });
}

/** `--json`'s object: what was evaluated, then the evaluation (numbers that are not finite as null). */
function jsonOf(run: TrainedRun, dir: string, data: string, split: "test" | "all", e: Evaluation): Record<string, unknown> {
  const base = { version: 1, run: dir, data, split, backend: run.backend, task: e.task, n: e.n, loss: finite(e.loss), lossName: e.lossName };
  if (e.task === "regression") return { ...base, mse: finite(e.mse!), mae: finite(e.mae!), targets: e.targets!.map((t) => ({ name: t.name, mse: finite(t.mse), mae: finite(t.mae) })), ...(e.values !== undefined ? { values: e.values } : {}) };
  return { ...base, accuracy: e.accuracy, correct: e.correct, classes: e.classes, macro: e.macro, confusion: e.confusion, ...(e.pixels !== undefined ? { pixels: e.pixels, meanIou: e.meanIou ?? null } : {}) };
}

function usage(message: string): CommandResult {
  return { exitCode: 2, stdout: [], stderr: [`nnc: ${message}`, "Run `nnc help evaluate` for usage."] };
}
