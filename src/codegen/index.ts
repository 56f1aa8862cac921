/**
 * Codegen phase: a checked program → one formatted TypeScript module per model. Sees only the
 * checked program (plus the spec's lines, for comments). Never called when there are errors.
 */
import { basename } from "node:path";
import type { CheckedProgram } from "../typecheck/index.js";
import { emitModelModule, GENERATED_MARKER, builderName } from "./emit.js";

export { GENERATED_MARKER, builderName, emitModelModule, literal, trainConfig } from "./emit.js";

export interface GeneratedFile {
  /** File name inside the output folder: `<model>.ts`. */
  name: string;
  model: string;
  builder: string;
  hasRecipe: boolean;
  content: string;
}

export interface GenerateOptions {
  specPath: string;
  sourceLines: readonly string[];
  runtimeImport?: string;
  version: string;
  /** Prettier-format the output (the default); off only where speed matters more than looks. */
  format?: boolean;
}

/** Formats TypeScript with Prettier (loaded on first use: `nnc check` never pays for it). */
export async function formatTypeScript(code: string): Promise<string> {
  const prettier = await import("prettier");
  return prettier.format(code, { parser: "typescript", printWidth: 110 });
}

export async function generate(program: CheckedProgram, opts: GenerateOptions): Promise<GeneratedFile[]> {
  const out: GeneratedFile[] = [];
  for (const model of program.models) {
    const recipe = program.recipes.find((r) => r.model === model.name);
    const code = emitModelModule(model, recipe, {
      specName: basename(opts.specPath),
      sourceLine: (line) => opts.sourceLines[line] ?? "",
      runtimeImport: opts.runtimeImport ?? "nnc/runtime",
      version: opts.version,
    });
    out.push({
      name: `${model.name}.ts`,
      model: model.name,
      builder: builderName(model.name),
      hasRecipe: recipe !== undefined,
      content: opts.format === false ? code : await formatTypeScript(code),
    });
  }
  return out;
}

export function isGenerated(content: string): boolean {
  return content.slice(0, 300).includes(GENERATED_MARKER);
}
