/**
 * Tokens of the .nn language. Newlines are whitespace to the lexer; the parser reads line
 * numbers to end a layer's words at the end of its line.
 */
import { createToken, Lexer, type CustomPatternMatcherReturn, type IToken, type TokenType } from "chevrotain";
import { KEYWORDS } from "../language/vocabulary.js";

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n\f\v\u00a0\ufeff]+/, group: Lexer.SKIPPED, line_breaks: true });
export const Comment = createToken({ name: "Comment", pattern: /#[^\n\r]*/, group: "comments" });

/** Any name, keywords included: argument names such as `train:` in `mnist(train: 8000)`. */
export const AnyName = createToken({ name: "AnyName", pattern: Lexer.NA });
export const Ident = createToken({ name: "Ident", pattern: /[A-Za-z_][A-Za-z0-9_]*/, categories: [AnyName] });

const keywordTokens: Record<string, TokenType> = {};
for (const word of KEYWORDS) {
  keywordTokens[word] = createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    pattern: new RegExp(`${word}(?![A-Za-z0-9_])`),
    longer_alt: Ident,
    categories: [AnyName],
  });
}
export const Model = keywordTokens.model!;
export const Block = keywordTokens.block!;
export const Train = keywordTokens.train!;
export const Search = keywordTokens.search!;
export const Repeat = keywordTokens.repeat!;
export const Residual = keywordTokens.residual!;

/**
 * The `x` between dimensions: `5x5x32`, `3x3xc`, `(c)x(c)`. Only an `x` right after a digit or
 * `)` and right before a digit, a letter, `_` or `(` is a dimension separator; any other `x` is
 * part of a name.
 */
function matchDimX(text: string, offset: number): CustomPatternMatcherReturn | null {
  if (text.charCodeAt(offset) !== 120 /* x */ || offset === 0) return null;
  const prev = text[offset - 1]!;
  const next = text[offset + 1];
  if (next === undefined) return null;
  if (!/[0-9)]/.test(prev) || !/[0-9A-Za-z_(]/.test(next)) return null;
  return ["x"] as unknown as CustomPatternMatcherReturn;
}
export const DimX = createToken({ name: "DimX", pattern: { exec: matchDimX }, start_chars_hint: ["x"], line_breaks: false });

export const NumberLit = createToken({ name: "Number", pattern: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/ });
/**
 * A number run into a word (`8relu`, `1e`): reported, then read as the number alone. An `x`
 * right after the digits is a dims separator, not a word (`5x5x32`).
 */
export const NumberRunOn = createToken({ name: "NumberRunOn", pattern: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![eE][+-]?\d)(?=[A-Za-wyzA-Z_]|x(?![0-9A-Za-z_(]))[A-Za-z_][A-Za-z0-9_]*/ });
/** `//` is not a comment in .nn; reported with a hint, then skipped like one. */
export const SlashComment = createToken({ name: "SlashComment", pattern: /\/\/[^\n\r]*/, group: "badComments" });
export const StringLit = createToken({ name: "String", pattern: /"(?:[^"\\\n\r]|\\.)*"/ });
/** A string whose closing quote is missing; reported, then read as a string to end the line. */
export const UnterminatedString = createToken({ name: "UnterminatedString", pattern: /"(?:[^"\\\n\r]|\\.)*\\?/ });
export const Arrow = createToken({ name: "Arrow", pattern: /->|→/ });
export const Minus = createToken({ name: "Minus", pattern: /-/ });
export const Plus = createToken({ name: "Plus", pattern: /\+/ });
export const Star = createToken({ name: "Star", pattern: /\*/ });
export const Slash = createToken({ name: "Slash", pattern: /\// });
export const LParen = createToken({ name: "LParen", pattern: /\(/ });
export const RParen = createToken({ name: "RParen", pattern: /\)/ });
export const LCurly = createToken({ name: "LCurly", pattern: /\{/ });
export const RCurly = createToken({ name: "RCurly", pattern: /\}/ });
export const Comma = createToken({ name: "Comma", pattern: /,/ });
export const Colon = createToken({ name: "Colon", pattern: /:/ });
export const Equals = createToken({ name: "Equals", pattern: /=/ });
export const Tilde = createToken({ name: "Tilde", pattern: /~/ });

export const allTokens: TokenType[] = [
  AnyName,
  WhiteSpace,
  Comment,
  Arrow,
  SlashComment,
  NumberRunOn,
  NumberLit,
  DimX,
  ...KEYWORDS.map((k) => keywordTokens[k]!),
  Ident,
  StringLit,
  UnterminatedString,
  Minus,
  Plus,
  Star,
  Slash,
  LParen,
  RParen,
  LCurly,
  RCurly,
  Comma,
  Colon,
  Equals,
  Tilde,
];

export const nnLexer = new Lexer(allTokens, {
  positionTracking: "full",
  ensureOptimizations: false,
  recoveryEnabled: true,
});

export interface LexResult {
  tokens: IToken[];
  comments: IToken[];
  /** Offsets and lengths of characters no token matched. */
  errors: { offset: number; length: number }[];
  /** Strings with no closing quote (already turned into string tokens). */
  unterminated: IToken[];
  /** Numbers run into words, with the number's length (already turned into number tokens). */
  runOn: { token: IToken; digits: number }[];
  /** `//` comments. */
  slashComments: IToken[];
}

export function lexTokens(text: string): LexResult {
  const result = nnLexer.tokenize(text);
  const unterminated: IToken[] = [];
  for (const t of result.tokens) {
    if (t.tokenType === UnterminatedString) {
      unterminated.push({ ...t });
      t.tokenType = StringLit;
      t.tokenTypeIdx = StringLit.tokenTypeIdx!;
      t.image += '"';
    }
  }
  const runOn: { token: IToken; digits: number }[] = [];
  for (const t of result.tokens) {
    if (t.tokenType === NumberRunOn) {
      const digits = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(t.image)![0].length;
      runOn.push({ token: { ...t }, digits });
      t.tokenType = NumberLit;
      t.tokenTypeIdx = NumberLit.tokenTypeIdx!;
      t.image = t.image.slice(0, digits);
      t.endOffset = t.startOffset + digits - 1;
      t.endColumn = (t.startColumn ?? 0) + digits - 1;
    }
  }
  return {
    tokens: result.tokens,
    runOn,
    slashComments: (result.groups["badComments"] as IToken[] | undefined) ?? [],
    unterminated,
    comments: (result.groups["comments"] as IToken[] | undefined) ?? [],
    errors: result.errors.map((e) => ({ offset: e.offset, length: e.length })),
  };
}
