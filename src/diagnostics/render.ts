/**
 * Diagnostics for a terminal: `file:line:col: error NN3001: message`, the source line with a
 * caret underline, the hint, and related locations.
 */
import type { Diagnostic, LineMap } from "./diagnostic.js";

export interface RenderOptions {
  color: boolean;
}

const C = {
  red: "\u001b[31m",
  yellow: "\u001b[33m",
  cyan: "\u001b[36m",
  blue: "\u001b[34m",
  bold: "\u001b[1m",
  dim: "\u001b[2m",
  reset: "\u001b[0m",
};

function expandTabs(s: string): string {
  return s.replace(/\t/g, "    ");
}

/** Control characters would garble a terminal: show them as `·`. */
function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "·");
}

export function renderDiagnostic(path: string, d: Diagnostic, lines: LineMap, opts: RenderOptions): string {
  const paint = (code: string, s: string): string => (opts.color ? code + s + C.reset : s);
  const sevColor = d.severity === "error" ? C.red : d.severity === "warning" ? C.yellow : C.blue;
  const { line, character } = d.range.start;
  const out: string[] = [];
  out.push(`${paint(C.bold, `${path}:${line + 1}:${character + 1}:`)} ${paint(sevColor + C.bold, `${d.severity} ${d.code}`)}: ${d.message}`);
  const MAX = 160;
  let text = lines.lineText(line);
  let start = character;
  let end = d.range.end.line === line ? d.range.end.character : text.length;
  // Very long lines (minified or generated input): show a window around the range.
  let prefix = "";
  if (text.length > MAX) {
    const from = Math.max(0, start - 40);
    text = text.slice(from, from + MAX);
    prefix = from > 0 ? "…" : "";
    start -= from;
    end = Math.min(end - from, text.length);
  }
  const gutter = String(line + 1);
  const pad = " ".repeat(gutter.length);
  const before = expandTabs(prefix + text.slice(0, start));
  const underlined = expandTabs(text.slice(start, Math.max(start + 1, end)));
  out.push(`${paint(C.dim, ` ${gutter} |`)} ${printable(expandTabs(prefix + text))}`);
  out.push(`${paint(C.dim, ` ${pad} |`)} ${" ".repeat(before.length)}${paint(sevColor, "^".repeat(Math.max(1, underlined.length)))}`);
  if (d.hint) out.push(`${paint(C.cyan, " hint:")} ${d.hint}`);
  for (const r of d.related ?? []) {
    out.push(`${paint(C.dim, " note:")} ${path}:${r.range.start.line + 1}:${r.range.start.character + 1}: ${r.message}`);
  }
  return out.join("\n");
}
