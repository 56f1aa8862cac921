/**
 * Our types → LSP's. Our positions are already what LSP wants: 0-based lines and UTF-16
 * code-unit columns (a column is an offset into a JavaScript string minus the line's start),
 * and lines end at `\n`, `\r\n` or `\r` in both. So a range maps field for field; only the
 * offsets are dropped.
 */
import { DiagnosticSeverity, DiagnosticTag, type Diagnostic as LspDiagnostic, type Range as LspRange } from "vscode-languageserver/node";
import type { Diagnostic, Range, Severity } from "../diagnostics/diagnostic.js";

export function lspRange(r: Range): LspRange {
  return { start: { line: r.start.line, character: r.start.character }, end: { line: r.end.line, character: r.end.character } };
}

function lspSeverity(s: Severity): DiagnosticSeverity {
  return s === "error" ? DiagnosticSeverity.Error : s === "warning" ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information;
}

/**
 * One of our diagnostics for an editor. The hint goes into the message, on a line of its
 * own: VS Code shows a multi-line message whole (hover and Problems view) and Neovim shows
 * it whole in its float and joins the lines in virtual text, while neither shows a related
 * entry at the diagnostic's own place as a hint (Neovim shows no related information at
 * all). The related places stay related information, which VS Code lists as links.
 */
export function lspDiagnostic(d: Diagnostic, uri: string): LspDiagnostic;
/** The same, with ranges placed by `toLsp` (src/lsp/view.ts): none where the diagnostic's own range has no place; related places without one are left out. */
export function lspDiagnostic(d: Diagnostic, uri: string, toLsp: (r: Range) => LspRange | undefined): LspDiagnostic | undefined;
export function lspDiagnostic(d: Diagnostic, uri: string, toLsp: (r: Range) => LspRange | undefined = lspRange): LspDiagnostic | undefined {
  const range = toLsp(d.range);
  if (!range) return undefined;
  const out: LspDiagnostic = {
    range,
    severity: lspSeverity(d.severity),
    code: d.code,
    source: "nnc",
    message: d.hint ? `${d.message}\nHint: ${d.hint}` : d.message,
  };
  const related: NonNullable<LspDiagnostic["relatedInformation"]> = [];
  for (const r of d.related ?? []) {
    const at = toLsp(r.range);
    if (at) related.push({ location: { uri, range: at }, message: r.message });
  }
  if (related.length > 0) out.relatedInformation = related;
  // An unused parameter is shown faded, as editors do for unused variables.
  if (d.code === "NN2015") out.tags = [DiagnosticTag.Unnecessary];
  return out;
}

/** Does `r` contain the offset (a cursor right after the last character counts)? */
export function containsOffset(r: Range, offset: number): boolean {
  return r.start.offset <= offset && offset <= r.end.offset;
}

export function rangeKey(r: Range): string {
  return `${r.start.offset}:${r.end.offset}`;
}
