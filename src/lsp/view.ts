/**
 * An analysis read against the text a document has now. On a document whose check takes
 * longer than a request may wait (src/lsp/server.ts), requests after an edit are answered
 * from the last analysis instead of a new check: offsets of the current text are mapped to
 * the analysed text, and ranges of the answer back. The edits since the analysis changed one
 * span of the text, taken as whole lines (from the line of the first character that differs
 * to the line of the last); before it the two texts are the same, and after it they are the
 * same shifted by the difference in length. A position on those lines has no answer until
 * the next check, and nothing found there is shown; elsewhere the answer is what the last
 * check found (a change above a layer may have changed its shape since).
 */
import type { Position as LspPosition, Range as LspRange } from "vscode-languageserver/node";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { Position, Range } from "../diagnostics/diagnostic.js";
import type { Analysis } from "./analysis.js";
import { lspRange } from "./convert.js";

export interface View {
  analysis: Analysis;
  /** Whether the analysis is of an older text than the document's. */
  stale: boolean;
  /** An offset of the current text as an offset of the analysed text; none inside the changed span. */
  toAnalysed(offset: number): number | undefined;
  /** The same, but an offset inside the changed span goes to the span's start (`side` "start") or end. */
  toAnalysedClamped(offset: number, side: "start" | "end"): number;
  /** A position of the analysed text in the current document; none inside the changed span. */
  position(p: Position): LspPosition | undefined;
  /** A range of the analysed text in the current document; none if an end lies inside the changed span. */
  range(r: Range): LspRange | undefined;
}

/** The view of an analysis of the document's current text: every position is its own. */
export function currentView(analysis: Analysis): View {
  return {
    analysis,
    stale: false,
    toAnalysed: (offset) => offset,
    toAnalysedClamped: (offset) => offset,
    position: (p) => ({ line: p.line, character: p.character }),
    range: lspRange,
  };
}

/** The view of an analysis of an older text of `doc`. Linear in the text's length, once. */
export function staleView(analysis: Analysis, doc: TextDocument): View {
  const before = analysis.text;
  const now = doc.getText();
  if (before === now) return currentView(analysis);
  const shorter = Math.min(before.length, now.length);
  let prefix = 0;
  while (prefix < shorter && before.charCodeAt(prefix) === now.charCodeAt(prefix)) prefix++;
  let suffix = 0;
  while (suffix < shorter - prefix && before.charCodeAt(before.length - 1 - suffix) === now.charCodeAt(now.length - 1 - suffix)) suffix++;
  // Whole lines: back to the start of the first changed line, on to the end of the last.
  while (prefix > 0 && !lineBreak(now.charCodeAt(prefix - 1))) prefix--;
  while (suffix > 0 && !lineBreak(now.charCodeAt(now.length - suffix))) suffix--;
  // The changed lines: (prefix, beforeEnd) of the analysed text are (prefix, nowEnd) now, ends
  // excluded: `prefix` is the first changed line's column 0 and the `End`s its line break.
  const beforeEnd = before.length - suffix;
  const nowEnd = now.length - suffix;
  const toAnalysed = (offset: number): number | undefined => (offset < prefix ? offset : offset > nowEnd ? offset - nowEnd + beforeEnd : undefined);
  const toCurrent = (offset: number): number | undefined => (offset < prefix ? offset : offset > beforeEnd ? offset - beforeEnd + nowEnd : undefined);
  const position = (p: Position): LspPosition | undefined => {
    const offset = toCurrent(p.offset);
    return offset === undefined ? undefined : doc.positionAt(offset);
  };
  return {
    analysis,
    stale: true,
    toAnalysed,
    toAnalysedClamped: (offset, side) => toAnalysed(offset) ?? (side === "start" ? prefix : beforeEnd),
    position,
    range: (r) => {
      const start = position(r.start);
      const end = start && position(r.end);
      return start && end ? { start, end } : undefined;
    },
  };
}

function lineBreak(c: number): boolean {
  return c === 10 || c === 13;
}
