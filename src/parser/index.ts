/**
 * The parser phase: `parse(text) → { ast, diagnostics }`. Lexes, parses with Chevrotain's error
 * recovery, and lowers to the AST. The only module that knows Chevrotain is this folder.
 */
import type { CstNode, IRecognitionException, IToken } from "chevrotain";
import { diag, endOf, LineMap, type Diagnostic, type Range } from "../diagnostics/diagnostic.js";
import type { AstDeclaration, AstFile } from "./ast.js";
import { unknownWord } from "../diagnostics/suggest.js";
import { MAX_SYNTAX_ERRORS, parserInstance, TooManySyntaxErrors } from "./grammar.js";
import { TOP_LEVEL_PREFIX } from "./messages.js";
import { lexTokens } from "./lexer.js";
import { Lowering } from "./lower.js";
import { codePoint, readDeclarations, reportHabits } from "./habits.js";

export type * from "./ast.js";
export { exprSource, itemLabel, MERGE_WORDS } from "./lower.js";
export { childBodies } from "./ast.js";
export { wasReadAsMeant } from "./read-as-meant.js";

export interface ParseResult {
  ast: AstFile;
  diagnostics: Diagnostic[];
  lines: LineMap;
}

const TOP_LEVEL = new Set(["Model", "Block", "Train", "Search"]);
/** The codes after which the parser reads no further (the checker then checks nothing). */
export const STOPS_READING: ReadonlySet<string> = new Set(["NN1021", "NN1022", "NN1023", "NN1024"]);
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
    const shown = [...text.slice(e.offset, e.offset + Math.min(e.length, 8))].map((c) => (/[\p{C}\p{Z}]/u.test(c) ? codePoint(c) : c)).join("");
    const hint = text[e.offset] === "'" ? "Strings are written in double quotes: `\"…\"`." : "Comments start with `#`; names use letters, digits and `_`.";
    diagnostics.push(diag("NN1001", `The character${e.length > 1 ? "s" : ""} \`${shown}\` ${e.length > 1 ? "are" : "is"} not part of the language.`, lines.range(e.offset, e.offset + e.length), { hint }));
  }

  // Recursive descent needs stack for each level of nesting: refuse absurd depths up front
  // (no real spec nests a hundred braces or parentheses) instead of overflowing the stack.
  let cutAt = Infinity;
  {
    const deep = tooDeep(lexed.tokens);
    if (deep) {
      const t = lexed.tokens[deep.index]!;
      cutAt = t.startOffset;
      diagnostics.push(diag(deep.code, deep.message, lines.range(t.startOffset, (t.endOffset ?? t.startOffset) + 1), { hint: deep.hint }));
      lexed.tokens = lexed.tokens.slice(0, deep.index);
    }
  }

  // Declarations as people from elsewhere write them: a misspelt keyword (`traing cnn {`) is
  // read as the keyword it resembles, and a body indented under a colon (YAML, Python) as if
  // it had braces; each reported once here.
  const declared = readDeclarations(lexed.tokens, lines);
  lexed.tokens = declared.tokens;
  for (const d of declared.diagnostics) diagnostics.push(d);

  const parser = parserInstance();
  const quotes = new Map<number, "'" | "‘’" | "“”">();
  for (const h of lexed.habits) if (h.kind === "quote") quotes.set(h.start, h.quote);
  const lowering = new Lowering(lines, { blocks: declared.blocks, quotes, indentedBodyLines: declared.indentedBodyLines });
  const declarations: AstDeclaration[] = [];
  let toks: IToken[] = lexed.tokens;
  // Parse; if the file rule stops before the end, report the stray token, skip to the next
  // declaration keyword and parse the rest. Each round consumes at least one token.
  for (;;) {
    parser.input = toks;
    let cst: CstNode | undefined;
    let stopped: Diagnostic | undefined;
    try {
      cst = parser.file();
    } catch (e) {
      if (isStackOverflow(e)) {
        // A bug (the limits above exist so that this never happens), but the user gets a
        // diagnostic rather than a crash.
        stopped = stackOverflow(lines, toks[Math.min(Math.max(parser.position(), 0), toks.length - 1)]);
      } else if (e instanceof TooManySyntaxErrors) {
        // The parser stopped at its MAX_SYNTAX_ERRORS-th error: report the errors before it.
        // (Chevrotain may add one more on the way out: that the input was not all read.)
        const { range } = errorRange(parser.errors[MAX_SYNTAX_ERRORS - 1]!, lines);
        stopped = diag("NN1023", `This file has ${MAX_SYNTAX_ERRORS.toLocaleString("en-US")} syntax errors by here, so I stopped reading.`, range, {
          hint: "Fix the first ones: many errors in a row often come from one mistake, such as a missing `}` or text pasted from elsewhere.",
        });
      } else throw e;
    }
    const errors = parser.errors;
    if (stopped && stopped.range.start.offset < cutAt) {
      // What follows is unread, as after NN1022.
      cutAt = stopped.range.start.offset;
      diagnostics.push(stopped);
    }
    let stopIndex = -1;
    const seen = new Set<number>();
    for (const e of errors) {
      const { range, message } = errorRange(e, lines);
      if (seen.has(range.start.offset) || range.start.offset >= cutAt) continue;
      seen.add(range.start.offset);
      if (message.startsWith(TOP_LEVEL_PREFIX)) {
        if (e.name === "NotAllInputParsedException") stopIndex = toks.indexOf(e.token);
        const word = e.token.tokenType.name === "Ident" ? e.token.image : "";
        diagnostics.push(
          unknownWord({
            code: "NN1007",
            message,
            word,
            range,
            candidates: word ? ["model", "block", "train", "search"] : [],
            otherwise: e.token.image === "}" ? "This `}` closes nothing: is it one too many?" : "Every declaration starts with `model`, `block`, `train` or `search`.",
            fix: word !== "" && range.start.offset === e.token.startOffset,
          }),
        );
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
    if (!cst) break;
    try {
      for (const d of lowering.file(cst)) declarations.push(d);
    } catch (e) {
      if (!isStackOverflow(e)) throw e;
      const d = stackOverflow(lines, toks[0]);
      cutAt = Math.min(cutAt, d.range.start.offset);
      diagnostics.push(d);
      break;
    }
    if (stopIndex < 0) break;
    const next = resumeAt(toks, stopIndex);
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
  // (A loop, not push(...): a megabyte of words can give more diagnostics than a call takes arguments.)
  for (const d of lowering.diagnostics) if (!parseErrorLines.has(d.range.start.line)) diagnostics.push(d);
  // Habits the lexer read past (other quotes, `×`, `;`, invisible characters, names outside
  // ASCII), each once, unless lowering reported the statement they are in as a whole.
  for (const d of reportHabits(lexed.habits, lowering.covered, lines)) diagnostics.push(d);
  if (Number.isFinite(cutAt)) {
    // What follows the cut is unread: keep only what was found before that line.
    const cutLine = lines.position(cutAt).line;
    const kept = diagnostics.filter((d) => (STOPS_READING.has(d.code) && d.range.start.offset <= cutAt) || d.range.end.line < cutLine);
    diagnostics.length = 0;
    for (const d of kept) diagnostics.push(d);
  }
  const comments = lexed.comments.map((c) => ({ text: c.image, range: lines.range(c.startOffset, (c.endOffset ?? c.startOffset) + 1) }));
  const ast: AstFile = { kind: "file", declarations, comments, range: lines.range(0, text.length) };
  return { ast, diagnostics, lines };
}

/**
 * Where to go on after a token that starts no declaration (`network cnn { … }`): at the next
 * declaration keyword that begins a line outside the braces the stray text opened, so that a
 * keyword inside it (`mnist(train: 8000)`) is not taken for a new declaration.
 */
function resumeAt(toks: readonly IToken[], stop: number): number {
  let depth = 0;
  let fallback = -1;
  for (let i = stop; i < toks.length; i++) {
    const t = toks[i]!;
    const k = t.tokenType.name;
    if (i > stop && TOP_LEVEL.has(k) && (toks[i - 1]!.endLine ?? 0) < (t.startLine ?? 0)) {
      if (depth <= 0) return i;
      if (fallback < 0) fallback = i;
    }
    if (k === "LCurly") depth++;
    else if (k === "RCurly") depth--;
  }
  if (fallback >= 0) return fallback;
  let next = stop + 1;
  while (next < toks.length && !TOP_LEVEL.has(toks[next]!.tokenType.name)) next++;
  return next;
}

/** True for V8's "Maximum call stack size exceeded". */
export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

/** NN1024: the last resort when recursion overflows the stack at `token` (or the start of the file). */
export function stackOverflow(lines: LineMap, token: IToken | undefined): Diagnostic {
  const range = token && token.startOffset >= 0 ? lines.range(token.startOffset, (token.endOffset ?? token.startOffset) + 1) : lines.range(0, 0);
  return diag("NN1024", "This file is built too deeply for me to read: I ran out of stack here.", range, {
    hint: "This is a limit of nnc, not a mistake of yours; please report it. Flattening the nesting or splitting long chains may avoid it.",
  });
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

const MAX_OPERATORS = 500;
/**
 * Tokens on one line, at most: a megabyte line of words is some 300,000 tokens, which the
 * parser takes over a second for. No spec needs a hundredth of this on a line.
 */
const MAX_LINE_TOKENS = 10_000;
const OPERATORS = new Set(["Plus", "Minus", "Star", "Slash", "DimX"]);
const OPERAND_END = new Set(["Number", "NumberRunOn", "String", "Ident", "RParen"]);
const OPERAND_START = new Set(["Number", "NumberRunOn", "String", "Ident", "LParen"]);

/**
 * The first token at which the parser (and every later walk of the tree) would recurse too
 * deeply: more than 100 levels of `(`, `{` and `repeat` (`repeat 2 repeat 2 …` nests each
 * repeat's item inside the one before, braces or not), or one expression of more than 500
 * operators (`1*1*1*…`, `- - - 1`: each operator nests the expression tree one level), all
 * NN1021; or the first token past 10,000 on one line (NN1022), which would take too long.
 */
function tooDeep(tokens: readonly IToken[]): { index: number; code: "NN1021" | "NN1022"; message: string; hint: string } | undefined {
  /** Levels each open bracket adds: itself, and the chain of repeats it is the body of. */
  const open: number[] = [];
  let level = 0;
  let chain = 0;
  let chainEndsAt = -1;
  let operators = 0;
  let line = -1;
  let onLine = 0;
  for (let i = 0; i < tokens.length; i++) {
    const k = tokens[i]!.tokenType.name;
    const l = tokens[i]!.startLine ?? 0;
    onLine = l === line ? onLine + 1 : 1;
    line = l;
    if (onLine > MAX_LINE_TOKENS) {
      return {
        index: i,
        code: "NN1022",
        message: `This line has more than ${MAX_LINE_TOKENS.toLocaleString("en-US")} words and symbols, which I do not read.`,
        hint: "Break it over lines: a chain of layers may break before or after `->`, and the items of a body go one a line.",
      };
    }
    if (k === "LParen" || k === "LCurly") {
      open.push(1 + chain);
      level++;
      chain = 0;
    } else if ((k === "RParen" || k === "RCurly") && open.length > 0) {
      level -= open.pop()!;
      chain = 0;
    } else if (k === "Repeat") {
      chain++;
      level++;
      // `repeat N item`: the item is the next repeat, a residual, a body, or a statement,
      // which ends the chain.
      const next = skipWord(tokens, i + 1);
      if (tokens[next]?.tokenType.name === "Ident") chainEndsAt = next;
    }
    if (level > MAX_NESTING) {
      return {
        index: i,
        code: "NN1021",
        message: `This is nested more than ${MAX_NESTING} levels deep, which I do not read.`,
        hint: "Flatten the nesting: name a block for the inner part, drop redundant parentheses, or multiply `repeat` counts (`repeat 6` for `repeat 2 repeat 3`).",
      };
    }
    if (i === chainEndsAt) {
      level -= chain;
      chain = 0;
    }
    if (OPERATORS.has(k)) operators++;
    else if (!OPERAND_START.has(k) && !OPERAND_END.has(k)) operators = 0;
    else if (i > 0 && OPERAND_END.has(tokens[i - 1]!.tokenType.name) && OPERAND_START.has(k) && !(k === "LParen" && tokens[i - 1]!.tokenType.name === "Ident")) operators = 0;
    if (operators > MAX_OPERATORS) {
      return { index: i, code: "NN1021", message: `This expression has more than ${MAX_OPERATORS} operators, which I do not read.`, hint: "Compute the value in fewer steps, or pass it in as a parameter." };
    }
  }
  return undefined;
}

/** The index just after the word (`2`, `depth*2`, `(n)`, `-1`) that starts at `i`. */
function skipWord(tokens: readonly IToken[], i: number): number {
  const balanced = (j: number): number => {
    let level = 0;
    for (; j < tokens.length; j++) {
      const k = tokens[j]!.tokenType.name;
      if (k === "LParen") level++;
      else if (k === "RParen" && --level === 0) return j + 1;
    }
    return j;
  };
  for (;;) {
    while (tokens[i]?.tokenType.name === "Minus") i++;
    const k = tokens[i]?.tokenType.name;
    if (k === "LParen") i = balanced(i);
    else if (k === "Number" || k === "String" || k === "NumberRunOn") i++;
    else if (k === "Ident") {
      i++;
      if (tokens[i]?.tokenType.name === "LParen") i = balanced(i);
    } else return i;
    const op = tokens[i]?.tokenType.name;
    if (op !== "Star" && op !== "Slash" && op !== "DimX") return i;
    i++;
  }
}
