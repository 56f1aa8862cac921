/**
 * The one pipeline the CLI and (later) the language server share: parse, then check.
 * Diagnostics from both phases come back together, in source order.
 */
import { sortDiagnostics, type Diagnostic, type LineMap } from "./diagnostics/diagnostic.js";
import { isStackOverflow, parse, stackOverflow, STOPS_READING, wasReadAsMeant, type AstFile } from "./parser/index.js";
import { check, type CheckedProgram } from "./typecheck/index.js";

export interface PipelineResult {
  ast: AstFile;
  program: CheckedProgram;
  diagnostics: Diagnostic[];
  lines: LineMap;
}

export function checkText(text: string): PipelineResult {
  const parsed = parse(text);
  if (parsed.diagnostics.some((d) => STOPS_READING.has(d.code))) {
    // The parser read only part of an absurdly nested file (or one with an absurdly long
    // line, or a thousand syntax errors); checking that part would only report the missing rest.
    return { ast: parsed.ast, program: { models: [], recipes: [], searches: [] }, diagnostics: sortDiagnostics(parsed.diagnostics), lines: parsed.lines };
  }
  let checked: ReturnType<typeof check>;
  try {
    checked = check(parsed.ast);
  } catch (e) {
    // The checker's limits (NN3014) exist so that this never happens; if it does, the user gets
    // a diagnostic rather than a crash.
    if (!isStackOverflow(e)) throw e;
    checked = { program: { models: [], recipes: [], searches: [] }, diagnostics: [stackOverflow(parsed.lines, undefined)] };
  }
  // Where the parser already found a problem on a line, the checker's findings there are
  // most likely its consequences: keep the parser's. Not after a habit the parser read as what
  // was meant (`'same'`, `28×28`, `Dense(64)`): what the checker finds there is a mistake of its own.
  const syntaxLines = new Set(parsed.diagnostics.filter((d) => d.severity === "error" && !wasReadAsMeant(d)).map((d) => d.range.start.line));
  const semantic = checked.diagnostics.filter((d) => !syntaxLines.has(d.range.start.line));
  return { ast: parsed.ast, program: checked.program, diagnostics: sortDiagnostics([...parsed.diagnostics, ...semantic]), lines: parsed.lines };
}
