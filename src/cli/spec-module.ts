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
import { modelInfo } from "../codegen/index.js";
import { closestByDistance } from "../common/edit-distance.js";
import type { AstFile } from "../parser/index.js";
import { chainDepth, type CheckedModel, type CheckedProgram, type CheckedRecipe } from "../typecheck/index.js";
import type { TrainConfig } from "../runtime/config.js";
import type { ModelInfo } from "../runtime/train.js";
import { checkSpec, generateSpec, type CommandResult } from "./build-command.js";
import { DEFAULT_STACK_DEPTH, runAgainWithDeepStack } from "./deep-stack.js";
import { packageRoot } from "./files.js";

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
  /** What the generated `train()` tells the runtime about the model (`nnc.train`'s last argument). */
  info: ModelInfo;
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
 * else the one model with a recipe. Only that model's module is generated, and it is not
 * Prettier-formatted (esbuild transpiles it at once; formatting changes no token's meaning).
 * A failure is a CommandResult with the exit code and message `nnc train` gives for it:
 * 1 for a problem in the spec (it cannot be read, has errors, has no recipe, or the chosen
 * model has none), 2 for a mistake on the command line (`--model` names no model of the
 * spec, or the spec has several recipes and `--model` chooses none).
 */
export async function loadSpecModule(opts: LoadSpecOptions): Promise<SpecModule | CommandResult> {
  const stderr: string[] = [];
  const url = runtimeUrl();
  if (!url) {
    stderr.push("nnc: cannot find the nnc runtime next to this program (is the package installed whole?).");
    return { exitCode: 1, stdout: [], stderr };
  }
  const spec = checkSpec(opts.file, opts.color, opts.text);
  const { stdout } = spec;
  if (spec.unreadable) return { exitCode: 1, stdout, stderr };
  if (!spec.ok || spec.result === undefined || spec.text === undefined) {
    stdout.push(`${opts.file}: ${opts.refused ?? "not run"}: fix the errors above first.`);
    return { exitCode: 1, stdout, stderr };
  }
  const { program, ast } = spec.result;
  const text = spec.text;
  const chosen = chooseModel(program, opts.file, opts.model);
  if (typeof chosen !== "string") return { exitCode: chosen.exitCode, stdout, stderr: [chosen.message] };
  const recipe = program.recipes.find((r) => r.model === chosen)!;
  const checked = recipe.checkedModel ?? program.models.find((m) => m.name === chosen)!;
  if (chainDepth(checked.layers) > DEFAULT_STACK_DEPTH) {
    // TF.js recurses once per layer: run the whole command again with a larger stack.
    const status = await runAgainWithDeepStack();
    if (status !== undefined) return { exitCode: status, stdout: [], stderr: [] };
  }
  const [file] = await generateSpec(opts.file, { ...spec, result: spec.result, text }, { runtimeImport: url, models: [chosen], format: false });
  const { transform } = await import("esbuild");
  const js = (await transform(file!.content, { loader: "ts", format: "esm", target: "node20" })).code;
  const dir = mkdtempSync(join(tmpdir(), "nnc-train-"));
  let mod: GeneratedModule;
  try {
    const modulePath = join(dir, `${chosen}.mjs`);
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
    model: chosen,
    builder: file!.builder,
    mod,
    checked,
    info: modelInfo(checked),
    recipe,
    program,
    ast,
    runtimeUrl: url,
    stdout,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The model a command runs: `model` when given (it must exist and have a recipe), else the
 * spec's one model with a recipe. Otherwise the message and exit code (see loadSpecModule).
 */
export function chooseModel(program: CheckedProgram, file: string, model: string | undefined): string | { exitCode: number; message: string } {
  const names = program.models.map((m) => m.name);
  const withRecipe = new Set(program.recipes.map((r) => r.model));
  const trainable = names.filter((n) => withRecipe.has(n));
  if (model !== undefined) {
    if (!names.includes(model)) {
      const close = closestByDistance(model, names);
      return { exitCode: 2, message: `nnc: there is no model \`${model}\` in ${file}.${close !== undefined ? ` Did you mean \`${close}\`?` : ""} Its models: ${listNames(names) || "none"}.` };
    }
    if (!withRecipe.has(model)) return { exitCode: 1, message: `nnc: the model \`${model}\` has no \`train\` recipe in ${file}.${trainable.length > 0 ? ` Models with one: ${listNames(trainable)}.` : ` Add one, e.g. \`train ${model} { data … loss … }\`.`}` };
    return model;
  }
  if (trainable.length === 1) return trainable[0]!;
  if (trainable.length === 0) {
    if (names.length === 0) return { exitCode: 1, message: `nnc: ${file} declares no model, so there is nothing to run. Add a \`model\` and its \`train\` recipe.` };
    return { exitCode: 1, message: `nnc: ${file} has no \`train\` recipe, so there is nothing to run. Add one, e.g. \`train ${names[0]} { data … loss … }\`.` };
  }
  return { exitCode: 2, message: `nnc: ${file} has recipes for ${listNames(trainable)}; choose one with --model.` };
}

/** `a`, `b`, `c` (the first ten, and how many more). */
function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 10).map((n) => `\`${n}\``).join(", ");
  return names.length > 10 ? `${shown} and ${(names.length - 10).toLocaleString("en-US")} more` : shown;
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
  const close = closestByDistance(backend, BACKENDS);
  return { exitCode: 2, stdout: [], stderr: [`nnc: unknown backend \`${backend}\`.${close !== undefined ? ` Did you mean \`${close}\`?` : ""} Backends: ${BACKENDS.join(", ")}.`] };
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
