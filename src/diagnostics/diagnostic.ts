/**
 * The one Diagnostic type every phase returns. Positions are 0-based (as in LSP);
 * the CLI adds 1 when it prints `file:line:col`.
 */
import { CODES, type Code } from "./codes.js";

export interface Position {
  /** 0-based line. */
  line: number;
  /** 0-based UTF-16 column. */
  character: number;
  /** 0-based offset into the source text. */
  offset: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export type Severity = "error" | "warning" | "info";

export interface RelatedInformation {
  message: string;
  range: Range;
}

/** One replacement in the source: `range` (possibly empty, an insertion) becomes `newText`. */
export interface FixEdit {
  range: Range;
  newText: string;
}

/**
 * A fix the hint proposes, spelt out as edits (an editor offers it as a quick fix):
 * "Add `flatten` before it?" becomes an insertion of `flatten -> ` before the dense layer.
 */
export interface Fix {
  title: string;
  edits: FixEdit[];
}

export interface Diagnostic {
  code: Code;
  severity: Severity;
  message: string;
  range: Range;
  hint?: string;
  related?: RelatedInformation[];
  fixes?: Fix[];
}

export interface DiagnosticExtras {
  hint?: string;
  related?: RelatedInformation[];
  /** Edits that carry out the hint; an undefined or empty list adds none. */
  fixes?: Fix[] | undefined;
  /** Override the catalogue's default severity. */
  severity?: Severity;
}

/** Build a diagnostic whose severity comes from the catalogue unless overridden. */
export function diag(code: Code, message: string, range: Range, extras: DiagnosticExtras = {}): Diagnostic {
  const d: Diagnostic = { code, severity: extras.severity ?? CODES[code].severity, message, range };
  if (extras.hint !== undefined) d.hint = extras.hint;
  if (extras.related !== undefined && extras.related.length > 0) d.related = extras.related;
  if (extras.fixes !== undefined && extras.fixes.length > 0) d.fixes = extras.fixes;
  return d;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** Order diagnostics by position, then code, so output is stable. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) => a.range.start.offset - b.range.start.offset || a.range.end.offset - b.range.end.offset || a.code.localeCompare(b.code),
  );
}

/** A range covering `a` through `b`. */
export function spanRanges(a: Range, b: Range): Range {
  return { start: a.start, end: b.end };
}

/** A zero-width range at the end of `r` (where recovery inserted a missing token). */
export function endOf(r: Range): Range {
  return { start: r.end, end: r.end };
}

/** Turns offsets into positions for one source text. */
export class LineMap {
  private readonly lineStarts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.lineStarts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        this.lineStarts.push(i + 1);
      }
    }
  }
  position(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: o - this.lineStarts[lo]!, offset: o };
  }
  /** Range for the half-open offset span [start, end). */
  range(start: number, end: number): Range {
    return { start: this.position(start), end: this.position(Math.max(start, end)) };
  }
  lineText(line: number): string {
    const start = this.lineStarts[line] ?? this.text.length;
    let end = this.lineStarts[line + 1] ?? this.text.length;
    while (end > start && (this.text[end - 1] === "\n" || this.text[end - 1] === "\r")) end--;
    return this.text.slice(start, end);
  }
  get lineCount(): number {
    return this.lineStarts.length;
  }
}
