/**
 * The parser phase: `parse(text) → { ast, diagnostics }`. Lexes, parses with Chevrotain's error
 * recovery, and lowers to the AST. The only module that knows Chevrotain is this folder.
 */
import type { IRecognitionException, IToken } from "chevrotain";
import { diag, endOf, LineMap, type Diagnostic, type Range } from "../diagnostics/diagnostic.js";
import type { AstDeclaration, AstFile } from "./ast.js";
import { closest, replaceFix } from "../diagnostics/suggest.js";
import { parserInstance } from "./grammar.js";
import { TOP_LEVEL_PREFIX } from "./messages.js";
import { lexTokens } from "./lexer.js";
import { Lowering } from "./lower.js";

export type * from "./ast.js";
export { exprSource, itemLabel } from "./lower.js";

export interface ParseResult {
  ast: AstFile;
  diagnostics: Diagnostic[];
  lines: LineMap;
}

const TOP_LEVEL = new Set(["Model", "Block", "Train", "Search"]);
const MAX_NESTING = 100;

export function parse(text: string): ParseResult {
  const lines = new LineMap(text);
  const diagnostics: Diagnostic[] = [];
  const lexed = lexTokens(text);
  for (const t of lexed.unterminated) {
    diagnostics.push(diag("NN1002", "This string has no closing `\"` on its line.", lines.range(t.startOffset, (t.endOffset ?? t.startOffset) + 1), { hint: 'Close it with `"` before the end of the line.' }));
  }
  for (const { token: t, digits } of lexed.runOn) {
    const number = t.image.slice(0, digits);
    const word = t.image.slice(digits);
    diagnostics.push(diag("NN1020", `\`${t.image}\` runs the number ${number} into the word \`${word}\`.`, lines.range(t.startOffset, (t.endOffset ?? t.startOffset) + 1), { hint: `Put a space between them: \`${number} ${word}\`.` }));
  }
  for (const t of lexed.slashComments) {
    diagnostics.push(diag("NN1001", "`//` does not start a comment in a .nn file.", lines.range(t.startOffset, t.startOffset + 2), { hint: "Comments start with `#`." }));
  }
  for (const e of lexed.errors) {
    {
      const shown = [...text.slice(e.offset, e.offset + Math.min(e.length, 8))].map((c) => (c < " " ? `U+${c.charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()}` : c)).join("");
      diagnostics.push(diag("NN1001", `The character${e.length > 1 ? "s" : ""} \`${shown}\` ${e.length > 1 ? "are" : "is"} not part of the language.`, lines.range(e.offset, e.offset + e.length), { hint: "Comments start with `#`; names use letters, digits and `_`." }));
    }
  }

  // Recursive descent needs stack for each level of nesting: refuse absurd depths up front
  // (no real spec nests a hundred braces or parentheses) instead of overflowing the stack.
  let cutAt = Infinity;
  {
    let depth = 0;
    const cut = lexed.tokens.findIndex((t) => {
      const k = t.tokenType.name;
      if (k === "LParen" || k === "LCurly") depth++;
      else if ((k === "RParen" || k === "RCurly") && depth > 0) depth--;
      return depth > MAX_NESTING;
    });
    if (cut >= 0) {
      const t = lexed.tokens[cut]!;
      cutAt = t.startOffset;
      diagnostics.push(diag("NN1021", `This is nested more than ${MAX_NESTING} levels deep, which I do not read.`, lines.range(t.startOffset, t.startOffset + 1), { hint: "Flatten the nesting: name a block for the inner part, or drop redundant parentheses." }));
      lexed.tokens = lexed.tokens.slice(0, cut);
    }
  }

  const parser = parserInstance();
  const lowering = new Lowering(lines);
  const declarations: AstDeclaration[] = [];
  let toks: IToken[] = lexed.tokens;
  // Parse; if the file rule stops before the end, report the stray token, skip to the next
  // declaration keyword and parse the rest. Each round consumes at least one token.
  for (;;) {
    parser.input = toks;
    const cst = parser.file();
    const errors = parser.errors;
    let stopIndex = -1;
    const seen = new Set<number>();
    for (const e of errors) {
      const { range, message } = errorRange(e, lines);
      if (seen.has(range.start.offset) || range.start.offset >= cutAt) continue;
      seen.add(range.start.offset);
      if (message.startsWith(TOP_LEVEL_PREFIX)) {
        if (e.name === "NotAllInputParsedException") stopIndex = toks.indexOf(e.token);
        const guess = e.token.tokenType.name === "Ident" ? closest(e.token.image, ["model", "block", "train", "search"]) : undefined;
        const hint = guess ? `Did you mean \`${guess}\`?` : e.token.image === "}" ? "This `}` closes nothing: is it one too many?" : "Every declaration starts with `model`, `block`, `train` or `search`.";
        const fixes = guess ? replaceFix(guess, lines.range(e.token.startOffset, (e.token.endOffset ?? e.token.startOffset) + 1)) : undefined;
        diagnostics.push(diag("NN1007", message, range, { hint, fixes }));
        continue;
      }
      const missing = /^Expected `[)}]`/.test(message) || e.token.tokenType.name === "EOF";
      const found = e.token.image;
      const hint =
        found === "+" || found === "-"
          ? `Sums and differences go in parentheses inside a layer's words: \`dense (c${found}1)\`.`
          : found === "=" ? "Parameters take defaults with `=` in a declaration (`block b(c = 1)`); calls name arguments with `:` (`b(c: 1)`)." : undefined;
      diagnostics.push(diag(missing ? "NN1004" : "NN1003", message, range, { hint }));
    }
    declarations.push(...lowering.file(cst));
    if (stopIndex < 0) break;
    let next = stopIndex + 1;
    while (next < toks.length && !TOP_LEVEL.has(toks[next]!.tokenType.name)) next++;
    if (next >= toks.length) break;
    toks = toks.slice(next);
  }
  // The parser keeps its last input until the next parse: let go of the tokens now, so they
  // die young instead of being promoted to the old generation (a re-check per keystroke
  // would otherwise leave a file's worth of tokens for every major GC to collect).
  parser.input = [];
  // No cascades: once the parser has complained about a line, what lowering finds there is
  // most likely a consequence of the same mistake.
  const parseErrorLines = new Set(diagnostics.filter((d) => d.code === "NN1003" || d.code === "NN1004").map((d) => d.range.start.line));
  diagnostics.push(...lowering.diagnostics.filter((d) => !parseErrorLines.has(d.range.start.line)));
  if (Number.isFinite(cutAt)) {
    // What follows the cut is unread: keep only what was found before that line.
    const cutLine = lines.position(cutAt).line;
    const kept = diagnostics.filter((d) => d.code === "NN1021" || d.range.end.line < cutLine);
    diagnostics.length = 0;
    diagnostics.push(...kept);
  }
  const comments = lexed.comments.map((c) => ({ text: c.image, range: lines.range(c.startOffset, (c.endOffset ?? c.startOffset) + 1) }));
  const ast: AstFile = { kind: "file", declarations, comments, range: lines.range(0, text.length) };
  return { ast, diagnostics, lines };
}

/**
 * Where a parse error belongs: on the offending token, or — when the token is the end of the
 * file or sits on a later line (something is missing) — just after the previous token.
 */
function errorRange(e: IRecognitionException, lines: LineMap): { range: Range; message: string } {
  const tok = e.token;
  const prev = (e as IRecognitionException & { previousToken?: IToken }).previousToken;
  const atEnd = tok.tokenType.name === "EOF" || Number.isNaN(tok.startOffset);
  const prevRange = prev && !Number.isNaN(prev.startOffset) ? lines.range(prev.startOffset, (prev.endOffset ?? prev.startOffset) + 1) : undefined;
  if (atEnd) return { range: prevRange ? endOf(prevRange) : lines.range(lines.text.length, lines.text.length), message: e.message };
  const tokRange = lines.range(tok.startOffset, (tok.endOffset ?? tok.startOffset) + 1);
  if (prevRange && /^Expected `[)}{]`/.test(e.message) && tokRange.start.line > prevRange.end.line) return { range: endOf(prevRange), message: e.message };
  return { range: tokRange, message: e.message };
}
