/**
 * Quick fixes: each fix a diagnostic carries (`Diagnostic.fixes`, filled where the checker
 * writes the hint) becomes a code action with a workspace edit.
 */
import { CodeActionKind, type CodeAction, type Range as LspRange } from "vscode-languageserver/node";
import type { Analysis } from "./analysis.js";
import { lspDiagnostic, lspRange } from "./convert.js";

function overlaps(a: LspRange, b: LspRange): boolean {
  const before = (x: LspRange["start"], y: LspRange["start"]): boolean => x.line < y.line || (x.line === y.line && x.character < y.character);
  return !before(a.end, b.start) && !before(b.end, a.start);
}

export function quickFixes(a: Analysis, uri: string, range: LspRange, only: string[] | undefined): CodeAction[] {
  if (only && !only.some((k) => k === CodeActionKind.QuickFix || CodeActionKind.QuickFix.startsWith(`${k}.`) || k === CodeActionKind.Empty)) return [];
  const out: CodeAction[] = [];
  for (const d of a.result.diagnostics) {
    if (!d.fixes || !overlaps(lspRange(d.range), range)) continue;
    const diagnostic = lspDiagnostic(d, uri);
    d.fixes.forEach((fix, i) => {
      out.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        isPreferred: i === 0,
        edit: { changes: { [uri]: fix.edits.map((e) => ({ range: lspRange(e.range), newText: e.newText })) } },
      });
    });
  }
  return out;
}
