/**
 * Codegen phase: a checked program → one module per model, for a target: formatted TypeScript
 * on TensorFlow.js (`tfjs/`) or Python on PyTorch (`pytorch/`). Sees only the checked program
 * (plus the spec's lines, for comments). Never called when there are errors.
 */
import { basename } from "node:path";
import type { CheckedProgram } from "../typecheck/index.js";
import { emitModelModule, builderName } from "./tfjs/emit.js";
import { className, emitTorchModule } from "./pytorch/emit.js";
import { GENERATED_MARKER } from "./common.js";

export { builderName, emitModelModule } from "./tfjs/emit.js";
export { className, emitTorchModule, pyLiteral } from "./pytorch/emit.js";

/** What `nnc build` writes: TypeScript on TensorFlow.js, or Python on PyTorch. */
export type Target = "tfjs" | "pytorch";
export { GENERATED_MARKER, literal, modelInfo, trainConfig, type EmittedModelInfo } from "./common.js";

export interface GeneratedFile {
  /** File name inside the output folder: `<model>.ts` (`<model>.py` for PyTorch). */
  name: string;
  model: string;
  builder: string;
  hasRecipe: boolean;
  content: string;
  /** Whether Prettier formatted `content` (see `FORMAT_LIMIT`). */
  formatted: boolean;
}

export interface GenerateOptions {
  specPath: string;
  sourceLines: readonly string[];
  runtimeImport?: string;
  version: string;
  /**
   * Prettier-format the output (the default) when it is at most `formatLimit` characters in
   * all; off where nobody reads it (`nnc train` transpiles it at once).
   */
  format?: boolean;
  /** Format only up to this many characters of code in all (default `FORMAT_LIMIT`). */
  formatLimit?: number;
  /** Generate only these models (default: every model of the program). */
  models?: readonly string[];
  /** The target (default `tfjs`). Python is written as the emitter writes it (no formatter). */
  target?: Target;
}

/**
 * Prettier formats a build's modules only while they come to at most this many characters
 * together (some 500 small models). Prettier reads about 300 KB of TypeScript a second on a
 * laptop core, so a spec with thousands of models, or one model of 100,000 layers, would take
 * minutes; past this, the modules are written as the emitter writes them: the same code,
 * with one statement per line and long lines.
 */
export const FORMAT_LIMIT = 512 * 1024;

async function prettierFormat(code: string): Promise<string> {
  const prettier = await import("prettier");
  return prettier.format(code, { parser: "typescript", printWidth: 110 });
}

/** Formats TypeScript with Prettier (loaded on first use: `nnc check` never pays for it). */
export async function formatTypeScript(code: string): Promise<string> {
  return prettierFormat(code);
}

/** A line that starts each module in the one text Prettier formats; no emitted line starts so. */
const SEAM = "// nnc:module-seam ";

/**
 * Formats several modules as Prettier formats each alone, in one call: each call costs some
 * milliseconds besides the text, which for hundreds of small modules is most of the time. The
 * modules go in one after the other, each behind a comment line of its own; Prettier keeps
 * comment lines where they are, so the text splits back at them. Should that ever not give
 * the modules back one for one, they are formatted one by one instead.
 */
export async function formatModules(codes: readonly string[]): Promise<string[]> {
  if (codes.length <= 1) return Promise.all(codes.map(prettierFormat));
  let joined: string | undefined;
  try {
    joined = await prettierFormat(codes.map((c, i) => `${SEAM}${i}\n${c}`).join(""));
  } catch {
    joined = undefined; // one module's syntax would fail alone too; the loop below says which
  }
  if (joined !== undefined) {
    const parts = joined.split(new RegExp(`^${SEAM}(\\d+)\\n`, "m"));
    // ["", "0", module 0, "1", module 1, …]
    const back = parts.length === 2 * codes.length + 1 && parts[0] === "" && parts.every((p, i) => i % 2 === 0 || p === String((i - 1) / 2));
    if (back) return codes.map((_, i) => parts[2 * i + 2]!);
  }
  const out: string[] = [];
  for (const c of codes) out.push(await prettierFormat(c));
  return out;
}

export async function generate(program: CheckedProgram, opts: GenerateOptions): Promise<GeneratedFile[]> {
  const wanted = opts.models ? new Set(opts.models) : undefined;
  const recipes = new Map<string, CheckedProgram["recipes"][number]>();
  for (const r of program.recipes) if (!recipes.has(r.model)) recipes.set(r.model, r);
  const out: GeneratedFile[] = [];
  for (const model of program.models) {
    if (wanted && !wanted.has(model.name)) continue;
    const recipe = recipes.get(model.name);
    const emitOptions = {
      specName: basename(opts.specPath),
      sourceLine: (line: number) => opts.sourceLines[line] ?? "",
      runtimeImport: opts.runtimeImport ?? "nnc/runtime",
      version: opts.version,
    };
    if (opts.target === "pytorch") {
      out.push({ name: `${model.name}.py`, model: model.name, builder: className(model.name), hasRecipe: recipe !== undefined, content: emitTorchModule(model, recipe, emitOptions), formatted: false });
      continue;
    }
    const code = emitModelModule(model, recipe, emitOptions);
    out.push({ name: `${model.name}.ts`, model: model.name, builder: builderName(model.name), hasRecipe: recipe !== undefined, content: code, formatted: false });
  }
  if (opts.target === "pytorch") return out;
  const size = out.reduce((n, f) => n + f.content.length, 0);
  if (opts.format !== false && size <= (opts.formatLimit ?? FORMAT_LIMIT)) {
    const formatted = await formatModules(out.map((f) => f.content));
    out.forEach((f, i) => {
      f.content = formatted[i]!;
      f.formatted = true;
    });
  }
  return out;
}

/**
 * Whether nnc wrote this file: its first line is the marker comment the emitter writes
 * (`// nnc:generated by nnc …`). A file that merely mentions the marker is the user's.
 */
export function isGenerated(content: string): boolean {
  const text = content.replace(/^\ufeff/, "");
  return text.startsWith(`// ${GENERATED_MARKER} by nnc `) || text.startsWith(`# ${GENERATED_MARKER} by nnc `);
}
