/**
 * `nnc check --json`: one object for all files. Its JSON Schema is schema/check-output.schema.json;
 * positions are 0-based as in LSP.
 */
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { CheckedModel } from "../typecheck/index.js";

export interface JsonPosition {
  line: number;
  character: number;
}
export interface JsonRange {
  start: JsonPosition;
  end: JsonPosition;
}
export interface JsonDiagnostic {
  code: string;
  severity: "error" | "warning" | "info";
  message: string;
  hint?: string;
  range: JsonRange;
  related?: { message: string; range: JsonRange }[];
}
export interface JsonLayer {
  name: string;
  kind: string;
  outputShape: number[];
  params: number;
  trainable: number;
  inputs: string[];
}
export interface JsonModel {
  name: string;
  params: { total: number; trainable: number; nonTrainable: number };
  input: number[] | null;
  output: number[] | null;
  complete: boolean;
  layers: JsonLayer[];
}
export interface JsonFile {
  path: string;
  diagnostics: JsonDiagnostic[];
  models: JsonModel[];
}
export interface JsonOutput {
  version: 1;
  files: JsonFile[];
}

function range(r: Diagnostic["range"]): JsonRange {
  return { start: { line: r.start.line, character: r.start.character }, end: { line: r.end.line, character: r.end.character } };
}

export function jsonDiagnostic(d: Diagnostic): JsonDiagnostic {
  const out: JsonDiagnostic = { code: d.code, severity: d.severity, message: d.message, range: range(d.range) };
  if (d.hint !== undefined) out.hint = d.hint;
  if (d.related) out.related = d.related.map((r) => ({ message: r.message, range: range(r.range) }));
  return out;
}

export function jsonModel(m: CheckedModel): JsonModel {
  return {
    name: m.name,
    params: { ...m.params },
    input: m.input ? [...m.input] : null,
    output: m.output ? [...m.output] : null,
    complete: m.complete,
    layers: m.layers.map((l) => ({
      name: l.name,
      kind: l.kind,
      outputShape: [...l.outputShape],
      params: l.params.trainable + l.params.nonTrainable,
      trainable: l.params.trainable,
      inputs: [...l.inputs],
    })),
  };
}
