/**
 * Formatting: the formatter's whole-file result (src/format, the same as `nnc fmt`) as one
 * edit replacing the document, or none when the text is already formatted or has syntax
 * errors (the formatter then leaves it as it is).
 */
import type { TextEdit } from "vscode-languageserver/node";
import { LineMap } from "../diagnostics/diagnostic.js";
import { formatText } from "../format/index.js";
import { lspRange } from "./convert.js";

export function formatEdits(text: string): TextEdit[] {
  const r = formatText(text);
  if (!r.changed) return [];
  return [{ range: lspRange(new LineMap(text).range(0, text.length)), newText: r.text }];
}
