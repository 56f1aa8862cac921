/**
 * `nnc predict RUN INPUT... [--data SOURCE] [--top K] [--json] [--batch N] [--backend B]`: the
 * trained run's model on new inputs — image files (prepared as in training), a CSV of feature
 * rows, a .npy of inputs, or the samples of a data source — normalised with the run's saved
 * statistics. Prints a table, one row per input, of the top-k classes with their probabilities
 * and names (or the regression outputs by target name); `--json` prints one object per input per line.
 */
import type { CommandResult } from "./build-command.js";
import { dataArgument, type RunDataFacts } from "./data-argument.js";
import { badBackend } from "./spec-module.js";
import { isCommandResult, loadRuntime, num, table, withRun, type TrainedRun } from "./trained-run.js";

export interface PredictCommandOptions {
  run: string;
  inputs: string[];
  data?: string;
  top?: number;
  json: boolean;
  batch?: number;
  backend?: string;
}

type Runtime = Exclude<Awaited<ReturnType<typeof loadRuntime>>, CommandResult>;
type Prediction = ReturnType<Runtime["describePrediction"]>;
type RankedClass = Extract<Prediction, { top: unknown }>["top"][number];

/** What `--data` needs to know about the run. */
export function dataFacts(run: TrainedRun): RunDataFacts {
  const p = run.data?.preprocess;
  return {
    task: run.task,
    classes: run.classes,
    ...(run.data?.label !== undefined ? { label: run.data.label } : {}),
    ...(run.task === "regression" && run.data?.targetNames ? { targetNames: run.data.targetNames } : {}),
    ...(p?.kind === "image" ? { fit: p.fit } : {}),
  };
}

/** The dataset `--data` names, loaded for the run; a CommandResult when the text is wrong. */
export async function loadDataArgument(rt: Runtime, run: TrainedRun, text: string): Promise<Awaited<ReturnType<Runtime["loadData"]>> | CommandResult> {
  const arg = dataArgument(text, dataFacts(run));
  if ("exitCode" in arg) return { exitCode: arg.exitCode, stdout: [], stderr: [`nnc: ${arg.message}`] };
  // An autoencoder's targets are its inputs: the source's labels (or a `y`) are not read.
  const config = run.target === "input" ? { ...arg.config, target: "input" as const } : arg.config;
  return rt.loadData(config, {
    inputShape: run.inputShape,
    seed: 0,
    baseDir: process.cwd(),
    task: run.task,
    outputs: run.target === "pixels" ? run.outputShape.reduce((p, d) => p * d, 1) : run.units,
    outputShape: run.outputShape,
    ...(run.task === "classification" && run.target !== "input" ? { classes: run.classes } : {}),
  });
}

/** A class as a table cell: its name (or number) and its probability or score. */
function classCell(c: RankedClass): string {
  const label = c.name ?? String(c.class);
  return c.p !== undefined ? `${label} ${(c.p * 100).toFixed(1)}%` : `${label} (score ${num(c.score!)})`;
}

const ordinal = (i: number): string => `top ${i + 1}`;

export async function runPredict(opts: PredictCommandOptions, print: (line: string) => void): Promise<CommandResult> {
  if (opts.inputs.length === 0 && opts.data === undefined) return usage("`nnc predict` needs inputs after the run: image files (or a folder of them), a .csv of feature rows, a .npy of inputs; or --data SOURCE.");
  if (opts.inputs.length > 0 && opts.data !== undefined) return usage(`\`nnc predict\` takes inputs or --data, not both (inputs: ${opts.inputs.slice(0, 3).map((f) => `\`${f}\``).join(", ")}${opts.inputs.length > 3 ? ", …" : ""}).`);
  const bad = badBackend(opts.backend);
  if (bad) return bad;
  const rt = await loadRuntime();
  if (isCommandResult(rt)) return rt;
  return withRun(rt, opts.run, opts, async (run) => {
    if (run.outputShape.length > 1) {
      const what = run.target === "input" ? "an autoencoder" : run.target === "pixels" ? "a segmentation model" : "a model of target images";
      return {
        exitCode: 1,
        stdout: [],
        stderr: [`nnc: ${opts.run} is ${what}: its model gives ${run.outputShape.join("x")} per input, and \`nnc predict\` prints class scores or values per input, so it cannot show them yet. Measure the run with \`nnc evaluate ${opts.run} --data SOURCE\` (${run.target === "pixels" ? "per-pixel accuracy" : "MSE and MAE"}), or load its model.json in TF.js to get the images.`],
      };
    }
    if (opts.top !== undefined && run.task === "regression") return usage(`--top ranks classes, but ${opts.run} is a regression model: it predicts ${run.targetNames.map((t) => `\`${t}\``).join(", ")}.`);
    const k = Math.min(opts.top ?? 3, run.classes);
    const sets: { samples: Parameters<Runtime["predictBatches"]>[1]; name(i: number): string; dispose?(): void }[] = [];
    let dataset: Awaited<ReturnType<Runtime["loadData"]>> | undefined;
    const head: string[] = [];
    try {
      if (opts.data !== undefined) {
        const loaded = await loadDataArgument(rt, run, opts.data);
        if (isCommandResult(loaded)) return loaded;
        dataset = loaded;
        const ev = rt.evaluationSamples(run, dataset);
        sets.push(ev);
        head.push(`${dataset.description}: ${ev.split === "test" ? `its test split, ${plural(ev.samples.n, "sample")}` : `all ${plural(ev.samples.n, "sample")} (it has no test split)`}`);
      } else sets.push(...(await rt.readInputs(run, opts.inputs)));
      const withTruth = dataset !== undefined;
      const rows: string[][] = [];
      for (const set of sets) {
        const s = set.samples;
        for await (const b of rt.predictBatches(run, s)) {
          for (let i = 0; i < b.n; i++) {
            const at = b.start + i;
            const p = rt.describePrediction(run, b.values, i, k);
            const truth = withTruth ? truthOf(run, s, at) : undefined;
            if (opts.json) print(JSON.stringify({ input: set.name(at), ...(truth ?? {}), ...p }));
            else rows.push([set.name(at), ...(truth ? [truthCell(truth)] : []), ...("top" in p ? p.top.map(classCell) : run.targetNames.map((t) => num(p.outputs[t]!)))]);
          }
        }
      }
      if (opts.json) return { exitCode: 0, stdout: [], stderr: [] };
      const header = ["input", ...(withTruth ? [run.task === "regression" ? "true" : "true class"] : []), ...(run.task === "regression" ? run.targetNames : Array.from({ length: k }, (_, i) => ordinal(i)))];
      return { exitCode: 0, stdout: [...head, ...table(header, rows, run.task === "regression" ? 1 + (withTruth ? 1 : 0) : header.length)], stderr: [] };
    } finally {
      for (const set of sets) (set.dispose ?? (() => set.samples.x?.dispose()))();
      if (dataset) {
        for (const s of [dataset.train, dataset.validation, dataset.test]) s?.x?.dispose();
        await dataset.close?.();
      }
    }
  });
}

type Truth = { label: { class: number; name?: string } } | { targets: Record<string, number> };

/** The sample's true class or targets, from a source that has them. */
function truthOf(run: TrainedRun, s: Parameters<Runtime["predictBatches"]>[1], i: number): Truth | undefined {
  if (run.task === "classification" && s.labels) {
    const c = s.labels[i]!;
    const name = run.classNames?.[c];
    return { label: { class: c, ...(name !== undefined ? { name } : {}) } };
  }
  if (run.task === "regression" && s.targets) {
    const targets: Record<string, number> = {};
    run.targetNames.forEach((t, j) => (targets[t] = s.targets![i * run.units + j]!));
    return { targets };
  }
  return undefined;
}

function truthCell(t: Truth): string {
  return "label" in t ? (t.label.name ?? String(t.label.class)) : Object.values(t.targets).map(num).join(", ");
}

const plural = (n: number, one: string): string => `${n.toLocaleString("en-US")} ${n === 1 ? one : `${one}s`}`;

function usage(message: string): CommandResult {
  return { exitCode: 2, stdout: [], stderr: [`nnc: ${message}`, "Run `nnc help predict` for usage."] };
}
