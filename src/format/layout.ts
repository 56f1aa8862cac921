/**
 * The canonical layout of a .nn file, computed from its tokens (comments included). Line
 * breaks carry meaning in .nn (a layer's words end with its line; `name(` is a call where
 * `name (` is not), so the layout keeps every line break and every call's `(` where the
 * author put them, and decides only the white space within lines, the indentation, the blank
 * lines and where trailing comments sit. docs/LANGUAGE.md ("Formatting") lists the rules.
 *
 * A merge's branches (`concat { a } { b }`) are the one place where a line may begin with a
 * `{`: a branch continued on the next line sits under the merge's first `{`, and the lines
 * inside a branch that began with code on its `{`'s line sit under that code. Which `{`
 * opens a branch comes from the AST (`mergeBranches`), since tokens alone do not say.
 *
 * Only called on text without syntax errors (see formatText).
 */
import { childBodies, type AstFile, type AstItem } from "../parser/index.js";
import type { SourceToken } from "../parser/tokens.js";

const INDENT = "  ";
/** The fewest spaces between code and a trailing comment. */
const COMMENT_GAP = 2;

const OPENERS = new Set(["LParen", "LCurly"]);
const CLOSERS = new Set(["RParen", "RCurly"]);
const DECLARATIONS = new Set(["Model", "Block", "Train", "Search"]);
/** Tokens that can name something, and so start a call when a `(` touches them. */
const NAMES = new Set(["Ident", "Model", "Block", "Train", "Search", "Repeat", "Residual"]);
/** Tokens that end an operand: a `-` after one of them, inside an expression, is binary. */
const OPERAND_ENDS = new Set([...NAMES, "Number", "String", "RParen"]);

interface SourceLine {
  code: SourceToken[];
  comment: SourceToken | undefined;
  line: number;
}

interface OutLine {
  /** Indentation and code, without the comment. */
  code: string;
  indent: number;
  comment: string | undefined;
  /** Where the comment was in the source, and how far the line's indentation moved. */
  commentColumn: number;
  shift: number;
  blankBefore: boolean;
  /** Code or comments only; the first line of a declaration; the last line of one that began on an earlier line. */
  hasCode: boolean;
  startsDeclaration: boolean;
  endsLongDeclaration: boolean;
}

/**
 * The `{` of each branch of each merge in `ast`, by offset, to the offset of the first
 * branch's `{` of the same merge.
 */
export function mergeBranches(ast: AstFile): Map<number, number> {
  const branches = new Map<number, number>();
  const walk = (items: readonly AstItem[]): void => {
    for (const item of items) {
      if (item.kind === "merge") {
        const first = item.operands.find((o) => o.kind === "branch");
        for (const o of item.operands) if (o.kind === "branch" && first) branches.set(o.range.start.offset, first.range.start.offset);
      }
      for (const body of childBodies(item)) walk(body);
    }
  };
  for (const d of ast.declarations) if (d.kind === "model" || d.kind === "block") walk(d.body);
  return branches;
}

/** An open bracket: the indentation of the line that opened it, and that of the lines inside it. */
interface Open {
  lineIndent: number;
  inner: number;
}

/**
 * The formatted text: `eol` between lines and after the last, nothing for a file of white
 * space. `branches` is `mergeBranches(ast)` of the same text.
 */
export function layout(tokens: readonly SourceToken[], eol: string, branches: ReadonlyMap<number, number> = new Map()): string {
  const gaps = spacing(tokens.filter((t) => t.kind !== "Comment"));
  const lines = sourceLines(tokens);
  const out: OutLine[] = [];
  const stack: Open[] = [];
  const braceColumns = new Map<number, number>(); // where each branch's `{` was written, by its offset
  let continued = false; // the last line with code ended in `->`
  let previous: SourceLine | undefined;
  let previousCode: { line: SourceLine; indent: number } | undefined; // the last line with code
  let declarationLine = -1; // where the declaration being read began
  /** Where a line that begins with `first` goes, when that is a branch continued from the line before. */
  const continuation = (first: SourceToken | undefined): number | undefined => {
    const firstBranch = first?.kind === "LCurly" ? branches.get(first.offset) : undefined;
    if (firstBranch === undefined || firstBranch === first!.offset) return undefined;
    // `} {` style: a branch whose `}` began its own line is followed at that line's indentation.
    if (previousCode && previousCode.line.code[0]!.kind === "RCurly") return previousCode.indent;
    return braceColumns.get(firstBranch);
  };
  // The first code token of each line or, on a comment-only line, of the next line with code.
  const nextCode: (SourceToken | undefined)[] = [];
  for (let i = lines.length - 1; i >= 0; i--) nextCode[i] = lines[i]!.code[0] ?? nextCode[i + 1];
  lines.forEach((line, lineIndex) => {
    const first = line.code[0];
    const startsClosed = first !== undefined && CLOSERS.has(first.kind);
    const top = stack[stack.length - 1];
    // A comment between two branches sits with the branch after it.
    const indent = continuation(nextCode[lineIndex]) ?? (startsClosed ? (top?.lineIndent ?? 0) : (top?.inner ?? 0) + (continued ? INDENT.length : 0));
    const startsDeclaration = first !== undefined && stack.length === 0 && DECLARATIONS.has(first.kind);
    if (startsDeclaration) declarationLine = line.line;
    let endsLongDeclaration = false;
    let code = " ".repeat(indent);
    line.code.forEach((t, i) => {
      code += (t === first ? "" : gaps.get(t)) + t.image;
      if (OPENERS.has(t.kind)) {
        // The lines inside a branch that began with code on its `{`'s line sit under that code.
        const hangs = t.kind === "LCurly" && branches.has(t.offset) && i + 1 < line.code.length;
        if (branches.has(t.offset)) braceColumns.set(t.offset, code.length - 1);
        stack.push({ lineIndent: indent, inner: hangs ? code.length + 1 : indent + INDENT.length });
      } else if (CLOSERS.has(t.kind)) {
        stack.pop();
        if (t.kind === "RCurly" && stack.length === 0) endsLongDeclaration = declarationLine < line.line;
      }
    });
    const last = line.code[line.code.length - 1];
    const previousOpens = previous !== undefined && previous.code.length > 0 && OPENERS.has(previous.code[previous.code.length - 1]!.kind);
    out.push({
      code,
      indent,
      comment: line.comment?.image.trimEnd(),
      commentColumn: line.comment?.column ?? 0,
      shift: indent - (line.code[0] ?? line.comment!).column,
      blankBefore: previous !== undefined && line.line - previous.line > 1 && !previousOpens && !startsClosed,
      hasCode: first !== undefined,
      startsDeclaration,
      endsLongDeclaration,
    });
    if (last) continued = last.kind === "Arrow";
    if (first) previousCode = { line, indent };
    previous = line;
  });
  separateDeclarations(out);
  const columns = commentColumns(out);
  const texts: string[] = [];
  out.forEach((l, i) => {
    if (l.blankBefore) texts.push("");
    const column = columns[i];
    if (l.comment === undefined) texts.push(l.code);
    else if (column === undefined) texts.push(l.code + l.comment);
    else texts.push(l.code.padEnd(column) + l.comment);
  });
  return texts.length === 0 ? "" : texts.join(eol) + eol;
}

/**
 * One blank line after a declaration that spans lines, and one before it (above the
 * comments directly over it); one-line declarations may follow each other without one.
 */
function separateDeclarations(lines: OutLine[]): void {
  lines.forEach((l, i) => {
    if (i > 0 && lines[i - 1]!.endsLongDeclaration) l.blankBefore = true;
    if (!l.startsDeclaration) return;
    let end = i;
    while (end < lines.length && !lines[end]!.endsLongDeclaration && !(end > i && lines[end]!.startsDeclaration)) end++;
    if (end >= lines.length || lines[end]!.startsDeclaration) return; // a one-line declaration
    let top = i; // the first of the comment lines directly above
    while (top > 0 && !lines[top]!.blankBefore && !lines[top - 1]!.hasCode) top--;
    if (top > 0) lines[top]!.blankBefore = true;
  });
}

/** The code tokens and the comment of each line that has any token, in order. */
function sourceLines(tokens: readonly SourceToken[]): SourceLine[] {
  const lines: SourceLine[] = [];
  for (const t of tokens) {
    let line = lines[lines.length - 1];
    if (line?.line !== t.line) {
      line = { code: [], comment: undefined, line: t.line };
      lines.push(line);
    }
    if (t.kind === "Comment") line.comment = t;
    else line.code.push(t);
  }
  return lines;
}

/**
 * The white space before each code token that follows another on its line: none inside
 * `(…)`, before `,` `:` `)`, around `*` `/` and the `x` of dimensions, after a unary `-`, and
 * between a name and a `(` that touched it (a call); one space everywhere else, so around
 * `->` `=` `~` `+` and a binary `-`, and after `,` and `:`.
 */
function spacing(code: readonly SourceToken[]): Map<SourceToken, string> {
  const gaps = new Map<SourceToken, string>();
  const unary = new Set<SourceToken>();
  let parens = 0;
  let braces = 0;
  let searchVarLine = -1; // the line of a `lr ~ …`, whose value is an expression
  let declarationStart = 0; // index of the keyword of the declaration being read
  code.forEach((t, i) => {
    const p = code[i - 1];
    if (t.kind === "Minus") {
      // A binary `-` exists only in an expression (in parentheses or after `~`): elsewhere
      // `c - 1` is two words, `c` and `-1`.
      const inExpression = parens > 0 || searchVarLine === t.line;
      if (!(inExpression && p !== undefined && OPERAND_ENDS.has(p.kind))) unary.add(t);
    }
    if (p !== undefined && p.line === t.line) {
      // `model m (c = 1)` is `model m(c = 1)`: a declaration's parameters need no touching `(`.
      const parameters = i === declarationStart + 2 && t.kind === "LParen" && (code[declarationStart]!.kind === "Model" || code[declarationStart]!.kind === "Block");
      gaps.set(t, gap(p, t, unary.has(p), parameters));
    }
    if (t.kind === "LParen") parens++;
    else if (t.kind === "RParen") parens--;
    else if (t.kind === "LCurly") braces++;
    else if (t.kind === "RCurly") {
      braces--;
      if (braces === 0 && parens === 0) declarationStart = i + 1;
    } else if (t.kind === "Tilde" && parens === 0) searchVarLine = t.line;
  });
  return gaps;
}

function gap(p: SourceToken, t: SourceToken, afterUnaryMinus: boolean, parameters: boolean): string {
  if (p.kind === "DimX" || t.kind === "DimX") return "";
  if (t.kind === "LParen" && NAMES.has(p.kind)) return parameters || p.endOffset === t.offset ? "" : " ";
  if (p.kind === "LParen" || t.kind === "RParen" || t.kind === "Comma" || t.kind === "Colon") return "";
  if (p.kind === "Star" || p.kind === "Slash" || t.kind === "Star" || t.kind === "Slash") return "";
  if (afterUnaryMinus) return "";
  return " ";
}

/**
 * The column of each trailing comment. A trailing comment keeps its column (moved with its
 * line's indentation), at least two spaces after the code; comments that were aligned on
 * consecutive lines stay aligned, pushed right together when one line's code needs it. A
 * comment-only line aligned with the trailing comment above it continues that comment and
 * keeps the column too. Own-line comments get no column here: they sit at the indentation.
 */
function commentColumns(lines: readonly OutLine[]): (number | undefined)[] {
  const columns: (number | undefined)[] = lines.map(() => undefined);
  let i = 0;
  while (i < lines.length) {
    const head = lines[i]!;
    if (head.comment === undefined || head.code.length === head.indent) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < lines.length) {
      const l = lines[end]!;
      if (l.comment === undefined || l.blankBefore || l.commentColumn !== head.commentColumn) break;
      end++;
    }
    let column = 0;
    for (let j = i; j < end; j++) {
      const l = lines[j]!;
      if (l.code.length === l.indent) continue; // a continuation of the comment above
      column = Math.max(column, l.commentColumn + l.shift, l.code.length + COMMENT_GAP);
    }
    for (let j = i; j < end; j++) columns[j] = Math.max(column, lines[j]!.indent);
    i = end;
  }
  return columns;
}
