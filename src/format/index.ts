/**
 * The formatter: `formatText(text) → { text, changed, diagnostics }`, one canonical layout for
 * .nn files (docs/LANGUAGE.md, "Formatting"). `nnc fmt`, the Prettier plugin and the language
 * server all call this function. It never throws for a user's text and never touches a file
 * it cannot read: with a syntax error it returns the text as it was, with the errors.
 */
import { sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.js";
import { parse } from "../parser/index.js";
import { tokenize } from "../parser/tokens.js";
import { layout, mergeBranches } from "./layout.js";

export interface FormatResult {
  /** The formatted text; the input itself when it has syntax errors. */
  text: string;
  /** Whether `text` differs from the input. */
  changed: boolean;
  /** The syntax errors (NN1xxx) that kept the text from being formatted; empty when formatted. */
  diagnostics: Diagnostic[];
}

const BOM = "\ufeff";

export function formatText(text: string): FormatResult {
  // Only syntax errors stop the formatter: with those the layout of the file is uncertain.
  // A misspelt option or an unknown name (NN2xxx and later) leaves every line's tokens
  // readable, and formatting such a file is as safe as any other.
  const parsed = parse(text);
  const errors = parsed.diagnostics.filter((d) => d.severity === "error" && d.code.startsWith("NN1"));
  if (errors.length > 0) return { text, changed: false, diagnostics: sortDiagnostics(errors) };
  // Line endings follow the file's first one (CRLF stays CRLF); a byte-order mark stays.
  const eol = /\r\n?|\n/.exec(text)?.[0] === "\r\n" ? "\r\n" : "\n";
  const body = layout(tokenize(text), eol, mergeBranches(parsed.ast));
  const formatted = text.startsWith(BOM) && body !== "" ? BOM + body : body;
  return { text: formatted, changed: formatted !== text, diagnostics: [] };
}
