import { checkText } from "../src/pipeline.js";
import type { CheckedModel } from "../src/typecheck/index.js";
import type { Diagnostic } from "../src/diagnostics/diagnostic.js";

/** Codes of every diagnostic for `text`, in source order. */
export function codes(text: string): string[] {
  return checkText(text).diagnostics.map((d) => d.code);
}

export function diagnostics(text: string): Diagnostic[] {
  return checkText(text).diagnostics;
}

/** The one diagnostic `text` produces (fails the test if there are more or none). */
export function only(text: string): Diagnostic {
  const ds = checkText(text).diagnostics;
  if (ds.length !== 1) throw new Error(`expected exactly one diagnostic, got ${ds.length}: ${ds.map((d) => `${d.code} ${d.message}`).join(" | ")}`);
  return ds[0]!;
}

/** The text a range covers. */
export function slice(text: string, d: { range: { start: { offset: number }; end: { offset: number } } }): string {
  return text.slice(d.range.start.offset, d.range.end.offset);
}

export function model(text: string, name?: string): CheckedModel {
  const r = checkText(text);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(`unexpected errors: ${errors.map((d) => `${d.code} ${d.message}`).join(" | ")}`);
  const m = name ? r.program.models.find((x) => x.name === name) : r.program.models[0];
  if (!m) throw new Error("no model");
  return m;
}

/** An IDX file's bytes: the magic number, the big-endian dimensions, then the data bytes. */
export function idx(magic: number, dims: number[], data: number[]): Uint8Array {
  const b = new Uint8Array(4 + 4 * dims.length + data.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, magic);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  b.set(data, 4 + 4 * dims.length);
  return b;
}
