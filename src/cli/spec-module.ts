/**
 * A spec compiled and imported, for the commands that run a model (`train`, `inspect`,
 * `sanity`, `search`): compiles it exactly as `nnc build` does (the runtime imported by file
 * URL), picks the model, transpiles the generated module with esbuild, writes it to a temporary
 * folder and imports it. The compiler still never imports TensorFlow.js: the generated module
 * imports the runtime, and `runtime()` imports the same runtime module by the same URL (so
 * both see one TensorFlow.js instance, on one backend).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { generate } from "../codegen/index.js";
import { hasErrors } from "../diagnostics/diagnostic.js";
import { renderDiagnostic } from "../diagnostics/render.js";
import type { AstFile } from "../parser/index.js";
import { checkText } from "../pipeline.js";
import type { CheckedModel, CheckedProgram, CheckedRecipe } from "../typecheck/index.js";
import type { TrainConfig } from "../runtime/config.js";
import { compileSpec, type CommandResult } from "./build-command.js";
import { packageRoot, version } from "./files.js";

/** The runtime's exports, as types only: the module itself is imported by URL at run time. */
export type Runtime = typeof import("../runtime/index.js");

/** The backends `--backend` accepts (as `nnc train`). */
export const BACKENDS = ["auto", "node-gpu", "node", "webgpu", "wasm", "cpu"];

/**
 * What a generated module with a recipe exports, as the CLI sees it. The types stay loose on
 * purpose (no TensorFlow.js types in the CLI); `RuntimeModule` narrows what it needs.
 */
export interface GeneratedModule {
  recipe: TrainConfig;
  train(options: Record<string, unknown>): Promise<GeneratedTrainResult>;
  /** `buildX(seed)`, found by its name (`SpecModule.builder`). */
  [builder: string]: unknown;
}

export interface GeneratedTrainResult {
  backend: string;
  seed: number;
  history: { epoch: number; lr: number; loss: number; acc?: number; val_loss?: number; val_acc?: number; seconds: number }[];
  test?: { loss: number; acc?: number };
  stoppedEarly: boolean;
  outDir?: string;
}

export interface SpecModule {
  /** The spec as given on the command line. */
  file: string;
  /** The spec's text (what was compiled). */
  text: string;
  /** Its folder: data paths in the recipe are relative to it. */
  baseDir: string;
  model: string;
  /** Name of the builder function the module exports: `buildBlock`. */
  builder: string;
  mod: GeneratedModule;
  /** The model as its recipe instantiates it (shapes and parameter counts for summaries). */
  checked: CheckedModel;
  recipe: CheckedRecipe;
  program: CheckedProgram;
  ast: AstFile;
  /** The runtime module's file URL (import it with `runtime()`). */
  runtimeUrl: string;
  /** Lines to print before running (the spec's warnings). */
  stdout: string[];
  /** Removes the temporary folder of the transpiled module. */
  dispose(): void;
}

export interface LoadSpecOptions {
  file: string;
  model?: string;
  color: boolean;
  /** Compile this text instead of reading `file` (search trials); `file` still names it. */
  text?: string;
  /** What the command did not do when the spec has errors: `${file}: not trained: …` (default "not run"). */
  refused?: string;
}

/** The runtime's file URL, next to this program; undefined when the package is not whole. */
export function runtimeUrl(): string | undefined {
  const root = packageRoot();
  return root ? pathToFileURL(join(root, "dist", "src", "runtime", "index.js")).href : undefined;
}

/**
 * Compiles `file` and imports the module of the chosen model: the model named by `model`,
 * else the one model with a recipe. A failure is a CommandResult with the exit code and
 * message `nnc train` gives for it (1: errors in the spec, no recipe; 2: which model?).
 */
export async function loadSpecModule(opts: LoadSpecOptions): Promise<SpecModule | CommandResult> {
  const stderr: string[] = [];
  const url = runtimeUrl();
  if (!url) {
    stderr.push("nnc: cannot find the nnc runtime next to this program (is the package installed whole?).");
    return { exitCode: 1, stdout: [], stderr };
  }
  const { files, stdout, ok, text } = opts.text === undefined ? await compileSpec(opts.file, opts.color, url) : await compileText(opts.file, opts.text, opts.color, url);
  if (!ok || !files || text === undefined) {
    stdout.push(`${opts.file}: ${opts.refused ?? "not run"}: fix the errors above first.`);
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
  // The checked program again (compileSpec does not hand it out): the same text, the same result.
  const { program, ast } = checkText(text);
  const recipe = program.recipes.find((r) => r.model === chosen.model)!;
  const checked = recipe.checkedModel ?? program.models.find((m) => m.name === chosen.model)!;
  const { transform } = await import("esbuild");
  const js = (await transform(chosen.content, { loader: "ts", format: "esm", target: "node20" })).code;
  const dir = mkdtempSync(join(tmpdir(), "nnc-train-"));
  let mod: GeneratedModule;
  try {
    const modulePath = join(dir, `${chosen.model}.mjs`);
    writeFileSync(modulePath, js);
    mod = (await import(pathToFileURL(modulePath).href)) as GeneratedModule;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    file: opts.file,
    text,
    baseDir: dirname(resolve(opts.file)),
    model: chosen.model,
    builder: chosen.builder,
    mod,
    checked,
    recipe,
    program,
    ast,
    runtimeUrl: url,
    stdout,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `compileSpec` on text already in hand (a search trial's spec). */
async function compileText(file: string, text: string, color: boolean, runtimeImport: string): ReturnType<typeof compileSpec> {
  const stdout: string[] = [];
  const r = checkText(text);
  for (const d of r.diagnostics) stdout.push(renderDiagnostic(file, d, r.lines, { color }) + "\n");
  if (hasErrors(r.diagnostics)) return { stdout, ok: false, text };
  const files = await generate(r.program, { specPath: file, sourceLines: text.split(/\r\n|\r|\n/), version: version(), runtimeImport });
  return { files, stdout, ok: true, text };
}

/** The runtime's own errors carry a message for the user; anything else is a bug. */
export function userError(e: unknown): string | undefined {
  const name = e instanceof Error ? e.name : undefined;
  return name === "TrainError" || name === "BackendError" || name === "DataError" || name === "InspectError" ? (e as Error).message : undefined;
}

/**
 * Runs a command's work on a loaded spec: the runtime's own errors (data, backend,
 * divergence…) become exit code 1 with their message, anything else is a bug and is thrown,
 * and the transpiled module's folder is removed either way.
 */
export async function runOnSpec(spec: SpecModule, work: () => Promise<CommandResult>): Promise<CommandResult> {
  try {
    return await work();
  } catch (e) {
    const message = userError(e);
    if (message === undefined) throw e;
    return { exitCode: 1, stdout: [], stderr: [`nnc: ${message}`] };
  } finally {
    spec.dispose();
  }
}

/** `--backend`'s value checked as `nnc train` checks it. */
export function badBackend(backend: string | undefined): CommandResult | undefined {
  if (backend === undefined || BACKENDS.includes(backend)) return undefined;
  return { exitCode: 2, stdout: [], stderr: [`nnc: unknown backend \`${backend}\`. Backends: ${BACKENDS.join(", ")}.`] };
}

/** Imports the runtime the generated module uses (the same URL: the same TensorFlow.js). */
export async function runtime(spec: SpecModule): Promise<Runtime> {
  return (await import(spec.runtimeUrl)) as Runtime;
}

/**
 * Runs `fn` with the runtime's per-epoch JSON lines (which it writes straight to stdout when
 * not on a terminal) handed to `onLine` instead; everything else written to stdout passes.
 */
export async function withEpochLines<T>(onLine: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const original = process.stdout.write;
  const filtered = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    if (text.startsWith('{"epoch":')) {
      for (const line of text.split("\n")) if (line) onLine(line);
      const done = rest.find((r): r is () => void => typeof r === "function");
      done?.();
      return true;
    }
    return (original as (c: string | Uint8Array, ...r: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  };
  process.stdout.write = filtered as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = original;
  }
}

export function isResult(x: SpecModule | CommandResult): x is CommandResult {
  return "exitCode" in x;
}
