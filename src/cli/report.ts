/**
 * `nnc train --report FILE.html`: after training, the run as one self-contained HTML page.
 * The "start" statistics come from the model built again with the run's seed (the same
 * initial weights `train()` started from), the "end" ones from the model `train()` saved in
 * its out folder, both on a batch of the recipe's data; the curves and the learning rate
 * from the run's history.json. The page itself is the runtime's `renderReport`.
 */
import { basename, dirname, resolve } from "node:path";
import type { ScheduleConfig } from "../runtime/config.js";
import { formatShape, isConvolution } from "../typecheck/index.js";
import type { CheckedModel } from "../typecheck/index.js";
import { writeFileAtomic } from "./files.js";
import { isResult, loadSpecModule, runtime, userError, type GeneratedTrainResult, type Runtime, type SpecModule } from "./spec-module.js";

export interface TrainReportOptions {
  /** The spec that was trained. */
  file: string;
  /** The model that was trained. */
  model: string;
  /** Where to write the page. */
  report: string;
  /** The run's folder (`train()`'s `outDir`): its model.json, history.json and normalizer.json. */
  outDir: string | undefined;
}

/** A schedule as the spec writes it. */
export function describeSchedule(s: ScheduleConfig): string {
  switch (s.name) {
    case "constant":
    case "cosine":
      return s.name;
    case "step":
      return `step(${s.factor}, every: ${s.every})`;
    case "exp":
      return `exp(${s.rate})`;
    case "warmup":
      return `warmup(${s.epochs}) then ${describeSchedule(s.then)}`;
  }
}

function kindLabel(l: CheckedModel["layers"][number]): string {
  const c = l.config;
  return "activation" in c && c.activation && c.op !== "activation" ? `${l.kind} ${c.activation.name}` : l.kind;
}

type BackendName = NonNullable<Parameters<Runtime["inspect"]>[2]>["backend"];

/** Inspects the run's model at its start and end and writes the page; a message when it cannot. */
export async function writeTrainReport(opts: TrainReportOptions): Promise<{ ok: true; path: string } | { ok: false; message: string }> {
  if (opts.outDir === undefined) return { ok: false, message: "the run saved nothing to report on." };
  const spec = await loadSpecModule({ file: opts.file, model: opts.model, color: false });
  if (isResult(spec)) return { ok: false, message: [...spec.stdout, ...spec.stderr].join("\n") || `cannot compile ${opts.file} again` };
  try {
    const rt = await runtime(spec);
    // Validated against schema/history.schema.json before any value is used.
    const saved = await rt.readHistory(opts.outDir);
    const result: GeneratedTrainResult = { backend: saved.backend, seed: saved.seed, history: saved.epochs, stoppedEarly: false, outDir: opts.outDir, ...(saved.test ? { test: saved.test } : {}) };
    const html = await reportHtml(spec, result);
    const path = resolve(opts.report);
    // Not mkdirSync(…, { recursive: true }), which spins forever under /proc.
    rt.makeDirs(dirname(path));
    writeFileAtomic(path, html);
    return { ok: true, path: opts.report };
  } catch (e) {
    const name = e instanceof Error ? e.name : undefined;
    const fileProblem = name === "JsonFileError" || name === "ModelFileError" || name === "MakeDirError" ? (e as Error).message : undefined;
    const message = userError(e) ?? fileProblem ?? (e instanceof Error && "code" in e ? `cannot write ${opts.report}: ${e.message}` : undefined);
    if (message !== undefined) return { ok: false, message };
    throw e;
  } finally {
    spec.dispose();
  }
}

/** The page for a finished run of `spec`'s model. */
export async function reportHtml(spec: SpecModule, result: GeneratedTrainResult): Promise<string> {
  const rt = await runtime(spec);
  const build = spec.mod[spec.builder] as Parameters<Runtime["inspect"]>[0];
  const common = {
    baseDir: spec.baseDir,
    seed: result.seed,
    backend: result.backend as BackendName,
    convolutional: spec.checked.layers.some((l) => isConvolution(l.config)),
    log: () => {},
  };
  const start = await rt.inspect(build, spec.mod.recipe, common);
  const end = result.outDir ? await rt.inspectSaved(result.outDir, spec.mod.recipe, common) : undefined;
  const m = spec.checked;
  return rt.renderReport({
    model: spec.model,
    spec: basename(spec.file),
    backend: result.backend,
    seed: result.seed,
    created: new Date().toISOString(),
    history: result.history,
    ...(result.test ? { test: result.test } : {}),
    ...(result.stoppedEarly ? { stoppedEarly: true } : {}),
    schedule: describeSchedule(spec.mod.recipe.schedule),
    summary: {
      layers: m.layers.map((l) => ({ name: l.name, kind: kindLabel(l), shape: formatShape(l.outputShape), params: l.params.trainable + l.params.nonTrainable, ...(l.inputs.length > 1 ? { inputs: [...l.inputs] } : {}) })),
      total: m.params.total,
      trainable: m.params.trainable,
      nonTrainable: m.params.nonTrainable,
    },
    start,
    ...(end ? { end } : {}),
  });
}
