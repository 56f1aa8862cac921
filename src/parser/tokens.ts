/**
 * The token stream as plain data, for tools that work on the text rather than the AST (the
 * formatter, an editor's highlighting): every token the lexer finds, comments included, in
 * source order. No Chevrotain type leaves this folder.
 */
import { nnLexer } from "./lexer.js";

export interface SourceToken {
  /**
   * The lexer's name for the token: `Ident`, `Number`, `String`, `DimX`, `Arrow`, `LParen`,
   * `Comment`, a keyword (`Model`, `Block`, `Train`, `Search`, `Repeat`, `Residual`), … ;
   * `SlashComment` for `//…`, `UnterminatedString`, `NumberRunOn` (`8relu`), and `Error` for
   * characters no token matches.
   */
  kind: string;
  image: string;
  /** 0-based offset of the first character. */
  offset: number;
  /** 0-based offset just past the last character. */
  endOffset: number;
  /** 0-based line (a line ends at `\n`, `\r\n` or `\r`). */
  line: number;
  /** 0-based UTF-16 column. */
  column: number;
}

/** Every token of `text`, comments and unmatched characters included, in source order. */
export function tokenize(text: string): SourceToken[] {
  const result = nnLexer.tokenize(text);
  const out: SourceToken[] = [];
  const add = (kind: string, image: string, offset: number, line: number | undefined, column: number | undefined): void => {
    out.push({ kind, image, offset, endOffset: offset + image.length, line: (line ?? 1) - 1, column: (column ?? 1) - 1 });
  };
  for (const t of result.tokens) add(t.tokenType.name, t.image, t.startOffset, t.startLine, t.startColumn);
  for (const group of Object.values(result.groups)) for (const t of group) add(t.tokenType.name, t.image, t.startOffset, t.startLine, t.startColumn);
  for (const e of result.errors) add("Error", text.slice(e.offset, e.offset + e.length), e.offset, e.line, e.column);
  return out.sort((a, b) => a.offset - b.offset);
}
