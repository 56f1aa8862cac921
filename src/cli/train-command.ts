/**
 * `nnc train FILE [--model M] [--backend B] [--epochs N] [--out DIR] [--resume DIR] [--log-json]`: compiles
 * the spec exactly as `nnc build` does, then runs the generated module's `train()`. The
 * compiler does not import TensorFlow.js: the generated module imports the runtime, and this
 * command imports the generated module.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { compileSpec, type CommandResult } from "./build-command.js";
import { packageRoot } from "./files.js";
import { writeTrainReport } from "./report.js";

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
}

interface GeneratedTrainModule {
  train(options: Record<string, unknown>): Promise<{ backend: string; history: { epoch: number; loss: number; acc?: number; val_acc?: number }[]; test?: { loss: number; acc?: number }; outDir?: string }>;
}

const BACKENDS = ["auto", "node-gpu", "node", "webgpu", "wasm", "cpu"];

export async function runTrain(opts: TrainCommandOptions, print: (line: string) => void): Promise<CommandResult> {
  const stderr: string[] = [];
  if (opts.backend !== undefined && !BACKENDS.includes(opts.backend)) {
    stderr.push(`nnc: unknown backend \`${opts.backend}\`. Backends: ${BACKENDS.join(", ")}.`);
    return { exitCode: 2, stdout: [], stderr };
  }
  const root = packageRoot();
  if (!root) {
    stderr.push("nnc: cannot find the nnc runtime next to this program (is the package installed whole?).");
    return { exitCode: 1, stdout: [], stderr };
  }
  const runtimeUrl = pathToFileURL(join(root, "dist", "src", "runtime", "index.js")).href;
  const { files, stdout, ok } = await compileSpec(opts.file, opts.color, runtimeUrl);
  if (!ok || !files) {
    stdout.push(`${opts.file}: not trained: fix the errors above first.`);
    return { exitCode: 1, stdout, stderr };
  }
  const trainable = files.filter((f) => f.hasRecipe);
  const chosen = opts.model !== undefined ? files.find((f) => f.model === opts.model) : trainable.length === 1 ? trainable[0] : undefined;
  if (!chosen) {
    if (opts.model !== undefined) stderr.push(`nnc: there is no model \`${opts.model}\` in ${opts.file}. Its models: ${files.map((f) => f.model).join(", ") || "none"}.`);
    else if (trainable.length === 0) stderr.push(`nnc: ${opts.file} has no \`train\` recipe. Add one, e.g. \`train ${files[0]?.model ?? "MODEL"} { data … loss … }\`.`);
    else stderr.push(`nnc: ${opts.file} has recipes for ${trainable.map((f) => f.model).join(", ")}; choose one with --model.`);
    return { exitCode: 2, stdout, stderr };
  }
  if (!chosen.hasRecipe) {
    stderr.push(`nnc: the model \`${chosen.model}\` has no \`train\` recipe in ${opts.file}.`);
    return { exitCode: 1, stdout, stderr };
  }
  for (const line of stdout) print(line);
  const { transform } = await import("esbuild");
  const js = (await transform(chosen.content, { loader: "ts", format: "esm", target: "node20" })).code;
  const dir = mkdtempSync(join(tmpdir(), "nnc-train-"));
  try {
    const modulePath = join(dir, `${chosen.model}.mjs`);
    writeFileSync(modulePath, js);
    const mod = (await import(pathToFileURL(modulePath).href)) as GeneratedTrainModule;
    // Resuming writes into the resumed run's folder unless --out says otherwise.
    const out = opts.out ?? (opts.resume === undefined ? join("runs", chosen.model) : undefined);
    const options: Record<string, unknown> = { baseDir: dirname(resolve(opts.file)), logJson: opts.logJson };
    if (out !== undefined) options["out"] = out;
    if (opts.resume !== undefined) options["resume"] = opts.resume;
    if (opts.backend !== undefined) options["backend"] = opts.backend;
    if (opts.epochs !== undefined) options["epochs"] = opts.epochs;
    if (opts.seed !== undefined) options["seed"] = opts.seed;
    const result = await mod.train(options);
    const last = result.history[result.history.length - 1];
    const summary = [`trained \`${chosen.model}\` on ${result.backend} for ${result.history.length} epoch${result.history.length === 1 ? "" : "s"}`];
    if (last) summary.push(`final loss ${last.loss.toFixed(4)}${last.acc !== undefined ? `, acc ${(last.acc * 100).toFixed(2)}%` : ""}`);
    if (result.test?.acc !== undefined) summary.push(`test acc ${(result.test.acc * 100).toFixed(2)}%`);
    const lines = [summary.join("; ") + (result.outDir ? ` → ${result.outDir}` : "")];
    if (opts.report !== undefined) {
      const report = await writeTrainReport({ file: opts.file, model: chosen.model, report: opts.report, outDir: result.outDir });
      if (!report.ok) return { exitCode: 1, stdout: lines, stderr: [...stderr, `nnc: the run is saved, but its report is not: ${report.message}`] };
      lines.push(`report → ${report.path}`);
    }
    return { exitCode: 0, stdout: lines, stderr };
  } catch (e) {
    // The runtime's own errors (data, backend, divergence) carry a message for the user.
    const err = e as Error;
    if (err?.name === "TrainError" || err?.name === "BackendError" || err?.name === "DataError") {
      stderr.push(`nnc: ${err.message}`);
      return { exitCode: 1, stdout: [], stderr };
    }
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
