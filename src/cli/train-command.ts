/**
 * `nnc train FILE [--model M] [--backend B] [--epochs N] [--out DIR] [--resume DIR] [--log-json]`: compiles
 * the spec exactly as `nnc build` does, then runs the generated module's `train()`. The
 * compiler does not import TensorFlow.js: the generated module imports the runtime, and this
 * command imports the generated module.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { generate } from "../codegen/index.js";
import type { CommandResult } from "./build-command.js";
import { version } from "./files.js";
import { copyPythonRuntime, findPython, readRunHistory, runPython, runPythonRanks, writeInitialWeights, writeMnistArchive, type RanksEnded } from "./pytorch.js";
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
  /** `tfjs` (default) or `pytorch`. */
  engine?: string;
  /** The PyTorch engine's device: `cpu` or `cuda` (default: cuda where PyTorch sees one). */
  device?: string;
  /** The PyTorch engine's processes on this machine (DDP, started as torchrun starts its workers). */
  nproc?: number;
}

export async function runTrain(opts: TrainCommandOptions, print: (line: string) => void): Promise<CommandResult> {
  if (opts.engine !== undefined && opts.engine !== "tfjs" && opts.engine !== "pytorch") return usageError(`\`--engine ${opts.engine}\` is not an engine: use tfjs or pytorch.`);
  if (opts.engine === "pytorch") return runTrainPytorch(opts, print);
  const onlyPytorch = opts.device !== undefined ? "--device" : opts.nproc !== undefined ? "--nproc" : undefined;
  if (onlyPytorch) return usageError(`\`${onlyPytorch}\` is an option of the PyTorch engine: add \`--engine pytorch\` (the TF.js engine takes \`--backend\`).`);
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

function usageError(message: string): CommandResult {
  return { exitCode: 2, stdout: [], stderr: [`nnc: ${message}`, "Run `nnc help train` for usage."] };
}

/**
 * `--engine pytorch`: the spec compiled to Python (as `nnc build --target pytorch` writes it,
 * into a temporary folder with the runtime, the initial weights for the run's seed and
 * mnist.npz), run by python3 — on `--nproc` processes with torchrun's environment — into the run folder.
 */
async function runTrainPytorch(opts: TrainCommandOptions, print: (line: string) => void): Promise<CommandResult> {
  if (opts.backend !== undefined) return usageError("`--backend` chooses a TF.js backend; the PyTorch engine takes `--device cpu` or `--device cuda`.");
  if (opts.device !== undefined && opts.device !== "cpu" && opts.device !== "cuda") return usageError(`\`--device ${opts.device}\` is not a device: use cpu or cuda.`);
  const spec = await loadSpecModule({ file: opts.file, color: opts.color, refused: "not trained", ...(opts.model !== undefined ? { model: opts.model } : {}) });
  if (isResult(spec)) return spec;
  for (const line of spec.stdout) print(line);
  const found = findPython();
  if ("message" in found) {
    spec.dispose();
    return { exitCode: 1, stdout: [], stderr: [`nnc: ${found.message}`] };
  }
  const work = mkdtempSync(join(tmpdir(), "nnc-torch-"));
  try {
    const [file] = await generate(spec.program, { specPath: opts.file, sourceLines: spec.text.split(/\r\n|\r|\n/), version: version(), models: [spec.model], target: "pytorch" });
    writeFileSync(join(work, file!.name), file!.content);
    copyPythonRuntime(work);
    // The run's seed: given, the recipe's, else drawn here, so that the initial weights are the ones the run starts from.
    const seed = opts.seed ?? spec.recipe.seed ?? Math.floor(Math.random() * 2 ** 31);
    try {
      await writeInitialWeights(spec, seed, join(work, `${spec.model}.initial`));
      if (spec.recipe.data?.source === "mnist") writeMnistArchive(join(work, "mnist.npz"));
    } catch (e) {
      // As `nnc build --target pytorch` says it: a message, not an internal error.
      return { exitCode: 1, stdout: [], stderr: [`nnc: cannot prepare the PyTorch run of \`${spec.model}\`: ${e instanceof Error ? e.message : String(e)}`] };
    }
    const out = resolve(opts.out ?? (opts.resume === undefined ? join("runs", spec.model) : opts.resume));
    // Through nnc_torch/launch.py: a Ctrl-C while Python still imports torch ends it without a stack trace.
    const args = [join(work, "nnc_torch", "launch.py"), join(work, file!.name), "--base-dir", spec.baseDir, "--out", out];
    if (opts.resume === undefined) args.push("--seed", String(seed));
    else args.push("--resume", opts.resume);
    if (opts.epochs !== undefined) args.push("--epochs", String(opts.epochs));
    if (opts.device !== undefined) args.push("--device", opts.device);
    if (opts.logJson) args.push("--log-json");
    if (opts.force) args.push("--force");
    const nproc = opts.nproc ?? 1;
    const started = Date.now();
    let ended: RanksEnded;
    if (nproc > 1) {
      // The processes share the cores (each would take them all otherwise).
      const threads = process.env["OMP_NUM_THREADS"] ?? String(Math.max(1, Math.floor(availableParallelism() / nproc)));
      ended = await runPythonRanks(found.python, args, nproc, { OMP_NUM_THREADS: threads });
    } else {
      const status = await runPython(found.python, args);
      ended = { code: status === 0 || status === 130 ? status : 1, messages: [] };
    }
    // After Ctrl-C, as the TF.js engine says it: from which epoch, and the command that goes on.
    if (ended.code === 130) return { exitCode: 130, stdout: [], stderr: [...ended.messages, `nnc: ${resumeAdvice(opts, { epoch: checkpointEpoch(out, started), runDir: out })}`] };
    if (ended.code !== 0) return { exitCode: ended.code, stdout: [], stderr: ended.messages };
    const history = readRunHistory(out);
    const last = history?.epochs[history.epochs.length - 1];
    const summary = [`trained \`${spec.model}\` with PyTorch on ${history?.backend ?? "cpu"}${nproc > 1 ? ` (${nproc} processes)` : ""} for ${history?.epochs.length ?? 0} epoch${history?.epochs.length === 1 ? "" : "s"}`];
    if (last) summary.push(`final loss ${last.loss.toFixed(4)}${last.acc !== undefined ? `, acc ${(last.acc * 100).toFixed(2)}%` : ""}`);
    if (history?.test?.acc !== undefined) summary.push(`test acc ${(history.test.acc * 100).toFixed(2)}%`);
    else if (history?.test) summary.push(`test loss ${history.test.loss.toFixed(4)}`);
    const lines = [summary.join("; ") + ` → ${out}`];
    if (opts.report !== undefined) {
      const report = await writeTrainReport({ file: opts.file, model: spec.model, report: opts.report, outDir: out });
      if (!report.ok) return { exitCode: 1, stdout: lines, stderr: [`nnc: the run is saved, but its report is not: ${report.message}`] };
      lines.push(`report → ${report.path}`);
    }
    return { exitCode: 0, stdout: lines, stderr: [] };
  } finally {
    rmSync(work, { recursive: true, force: true });
    spec.dispose();
  }
}

/** The epoch of the checkpoint a run wrote into `runDir` since `since` (ms), else 0: nothing to go on from. */
function checkpointEpoch(runDir: string, since: number): number {
  const state = join(runDir, "checkpoint", "state.json");
  try {
    if (statSync(state).mtimeMs < since) return 0;
    const epoch = (JSON.parse(readFileSync(state, "utf8")) as { epoch?: unknown }).epoch;
    return typeof epoch === "number" && Number.isInteger(epoch) && epoch > 0 ? epoch : 0;
  } catch {
    return 0;
  }
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
  // The options that say which model is trained where, and how.
  const words = ["nnc", "train", opts.file];
  if (opts.model !== undefined) words.push("--model", opts.model);
  if (opts.backend !== undefined) words.push("--backend", opts.backend);
  if (opts.engine !== undefined) words.push("--engine", opts.engine);
  if (opts.device !== undefined) words.push("--device", opts.device);
  if (opts.nproc !== undefined) words.push("--nproc", String(opts.nproc));
  if (stopped.epoch === 0 || stopped.runDir === undefined) {
    const again = [...words, ...(opts.epochs !== undefined ? ["--epochs", String(opts.epochs)] : []), ...(opts.out !== undefined ? ["--out", opts.out] : [])];
    return `interrupted before the first epoch finished: nothing was saved to go on from; run \`${again.map(shellWord).join(" ")}\` again to start over.`;
  }
  const r = relative(process.cwd(), stopped.runDir);
  const run = r !== "" && !r.startsWith("..") && !isAbsolute(r) ? r : stopped.runDir;
  if (opts.epochs !== undefined) words.push("--epochs", String(opts.epochs));
  words.push("--resume", run);
  if (opts.report !== undefined) words.push("--report", opts.report);
  return `interrupted after epoch ${stopped.epoch}; go on with: ${words.map(shellWord).join(" ")}`;
}
