/**
 * Quick fixes: each fix a diagnostic carries (`Diagnostic.fixes`, filled where the checker
 * writes the hint) becomes a code action with a workspace edit.
 */
import { CodeActionKind, type CodeAction, type Range as LspRange, type TextEdit } from "vscode-languageserver/node";
import type { Range } from "../diagnostics/diagnostic.js";
import type { Analysis } from "./analysis.js";
import { lspDiagnostic, lspRange } from "./convert.js";

function overlaps(a: LspRange, b: LspRange): boolean {
  const before = (x: LspRange["start"], y: LspRange["start"]): boolean => x.line < y.line || (x.line === y.line && x.character < y.character);
  return !before(a.end, b.start) && !before(b.end, a.start);
}

export function quickFixes(a: Analysis, uri: string, range: LspRange, only: string[] | undefined, toLsp: (r: Range) => LspRange | undefined = lspRange): CodeAction[] {
  if (only && !only.some((k) => k === CodeActionKind.QuickFix || CodeActionKind.QuickFix.startsWith(`${k}.`) || k === CodeActionKind.Empty)) return [];
  const out: CodeAction[] = [];
  for (const d of a.result.diagnostics) {
    if (!d.fixes) continue;
    const at = toLsp(d.range);
    if (!at || !overlaps(at, range)) continue;
    const diagnostic = lspDiagnostic(d, uri, toLsp);
    d.fixes.forEach((fix, i) => {
      if (!diagnostic) return;
      const edits: TextEdit[] = [];
      for (const e of fix.edits) {
        const r = toLsp(e.range);
        // An edit into text changed since the analysis would write over what the user wrote.
        if (!r) return;
        edits.push({ range: r, newText: e.newText });
      }
      out.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        isPreferred: i === 0,
        edit: { changes: { [uri]: edits } },
      });
    });
  }
  return out;
}
