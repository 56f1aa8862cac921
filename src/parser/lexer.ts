/**
 * Tokens of the .nn language. Newlines are whitespace to the lexer; the parser reads line
 * numbers to end a layer's words at the end of its line.
 */
import { createToken, Lexer, type CustomPatternMatcherReturn, type ILexerConfig, type IToken, type TokenType } from "chevrotain";
import { KEYWORDS } from "../language/vocabulary.js";

// Every token below says which characters it can start with (`start_chars_hint`) and
// whether it can hold a line break (`line_breaks`). Chevrotain would otherwise work both out
// by parsing each regex, which was most of the lexer's construction time in a cold
// `nnc check`. validateTokens() (run by the tests) checks them against that analysis.
const LETTERS = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"];
const NUMBER_STARTS = [..."0123456789."];

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n\f\v\u00a0\ufeff]+/, group: Lexer.SKIPPED, start_chars_hint: [..." \t\r\n\f\v\u00a0\ufeff"], line_breaks: true });
export const Comment = createToken({ name: "Comment", pattern: /#[^\n\r]*/, group: "comments", start_chars_hint: ["#"], line_breaks: false });

/** Any name, keywords included: argument names such as `train:` in `mnist(train: 8000)`. */
export const AnyName = createToken({ name: "AnyName", pattern: Lexer.NA });
export const Ident = createToken({ name: "Ident", pattern: /[A-Za-z_][A-Za-z0-9_]*/, categories: [AnyName], start_chars_hint: LETTERS, line_breaks: false });

const keywordTokens: Record<string, TokenType> = {};
for (const word of KEYWORDS) {
  keywordTokens[word] = createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    pattern: new RegExp(`${word}(?![A-Za-z0-9_])`),
    longer_alt: Ident,
    categories: [AnyName],
    start_chars_hint: [word[0]!],
    line_breaks: false,
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

export const NumberLit = createToken({ name: "Number", pattern: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/, start_chars_hint: NUMBER_STARTS, line_breaks: false });
/**
 * A number run into a word (`8relu`, `1e`): reported, then read as the number alone. An `x`
 * right after the digits is a dims separator, not a word (`5x5x32`).
 */
export const NumberRunOn = createToken({ name: "NumberRunOn", pattern: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![eE][+-]?\d)(?=[A-Za-wyzA-Z_]|x(?![0-9A-Za-z_(]))[A-Za-z_][A-Za-z0-9_]*/, start_chars_hint: NUMBER_STARTS, line_breaks: false });
/** `//` is not a comment in .nn; reported with a hint, then skipped like one. */
export const SlashComment = createToken({ name: "SlashComment", pattern: /\/\/[^\n\r]*/, group: "badComments", start_chars_hint: ["/"], line_breaks: false });
export const StringLit = createToken({ name: "String", pattern: /"(?:[^"\\\n\r]|\\.)*"/, start_chars_hint: ['"'], line_breaks: false });
/** A string whose closing quote is missing; reported, then read as a string to end the line. */
export const UnterminatedString = createToken({ name: "UnterminatedString", pattern: /"(?:[^"\\\n\r]|\\.)*\\?/, start_chars_hint: ['"'], line_breaks: false });
export const Arrow = createToken({ name: "Arrow", pattern: /->|→/, start_chars_hint: ["-", "→"], line_breaks: false });
export const Minus = createToken({ name: "Minus", pattern: /-/, start_chars_hint: ["-"], line_breaks: false });
export const Plus = createToken({ name: "Plus", pattern: /\+/, start_chars_hint: ["+"], line_breaks: false });
export const Star = createToken({ name: "Star", pattern: /\*/, start_chars_hint: ["*"], line_breaks: false });
export const Slash = createToken({ name: "Slash", pattern: /\//, start_chars_hint: ["/"], line_breaks: false });
export const LParen = createToken({ name: "LParen", pattern: /\(/, start_chars_hint: ["("], line_breaks: false });
export const RParen = createToken({ name: "RParen", pattern: /\)/, start_chars_hint: [")"], line_breaks: false });
export const LCurly = createToken({ name: "LCurly", pattern: /\{/, start_chars_hint: ["{"], line_breaks: false });
export const RCurly = createToken({ name: "RCurly", pattern: /\}/, start_chars_hint: ["}"], line_breaks: false });
export const Comma = createToken({ name: "Comma", pattern: /,/, start_chars_hint: [","], line_breaks: false });
export const Colon = createToken({ name: "Colon", pattern: /:/, start_chars_hint: [":"], line_breaks: false });
export const Equals = createToken({ name: "Equals", pattern: /=/, start_chars_hint: ["="], line_breaks: false });
export const Tilde = createToken({ name: "Tilde", pattern: /~/, start_chars_hint: ["~"], line_breaks: false });

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

const LEXER_CONFIG: ILexerConfig = { positionTracking: "full", recoveryEnabled: true };

/**
 * The lexer, built without Chevrotain's checks of the token definitions (and so without
 * parsing any regex): validateTokens() runs those checks, and the tests run it.
 */
export const nnLexer = new Lexer(allTokens, { ...LEXER_CONFIG, ensureOptimizations: true, skipValidations: true });

/**
 * Chevrotain's lexer makes tokens with the fields in the order of its end-of-file token,
 * whose positions are NaN; V8 gives both the same hidden class, so it stores every position
 * of every token as a separate heap number (seven per token, and more in each CST location
 * copied from them). nnLexer makes its tokens here instead, the same fields in another
 * order, which V8 keeps as small integers in place. (Used only when the lexer is as
 * expected: Chevrotain's full-position token maker, chosen in its constructor.)
 */
interface TokenMaker {
  createTokenInstance: (image: string, startOffset: number, tokenTypeIdx: number, tokenType: TokenType, startLine: number, startColumn: number, imageLength: number) => IToken;
  createFullToken?: unknown;
}
{
  const lexer = nnLexer as unknown as TokenMaker;
  if (lexer.createTokenInstance === lexer.createFullToken) {
    lexer.createTokenInstance = (image, startOffset, tokenTypeIdx, tokenType, startLine, startColumn, imageLength) => ({
      tokenType,
      tokenTypeIdx,
      image,
      startOffset,
      endOffset: startOffset + imageLength - 1,
      startLine,
      endLine: startLine,
      startColumn,
      endColumn: startColumn + imageLength - 1,
    });
  }
}

/** The parts of a Chevrotain Lexer (not in its typings) that validateTokens() compares. */
interface LexerTables {
  patternIdxToConfig: Record<string, { tokenType: TokenType; canLineTerminator: boolean }[]>;
  charCodeToPatternIdxToConfig: Record<string, ({ tokenType: TokenType }[] | undefined)[]>;
}

/**
 * Checks the token definitions as Chevrotain would by default: its validations (which throw
 * on, e.g., an unreachable pattern), and its own analysis of each regex — the characters a
 * token can start with and whether it can hold a line break — against the
 * `start_chars_hint`s and `line_breaks` given above, which nnLexer relies on. Throws on a
 * difference. Run by `new NnParser()` (the tests, grammar/update-gast.mjs).
 */
export function validateTokens(): void {
  // The same tokens without the hints (and without categories, which lexing does not use
  // and which building a lexer would extend).
  const plain = new Map<TokenType, TokenType>();
  for (const t of allTokens) {
    const copy: TokenType = { ...t };
    if (typeof t.PATTERN !== "object" || t.PATTERN instanceof RegExp) delete copy.START_CHARS_HINT;
    if (t.PATTERN instanceof RegExp) delete copy.LINE_BREAKS;
    delete copy.CATEGORIES;
    plain.set(t, copy);
  }
  for (const copy of plain.values()) {
    const alt = copy.LONGER_ALT;
    if (alt) copy.LONGER_ALT = Array.isArray(alt) ? alt.map((a) => plain.get(a)!) : plain.get(alt)!;
  }
  const analysed = new Lexer([...plain.values()], { ...LEXER_CONFIG, ensureOptimizations: true }) as unknown as LexerTables;
  const given = nnLexer as unknown as LexerTables;
  const describe = (l: LexerTables): string => {
    const configs = l.patternIdxToConfig["defaultMode"];
    const firsts = l.charCodeToPatternIdxToConfig["defaultMode"];
    if (!configs || !firsts) throw new Error("validateTokens: Chevrotain's Lexer no longer has the tables this compares; update the check.");
    const lines = configs.map((c) => `${c.tokenType.name} line breaks: ${c.canLineTerminator}`);
    firsts.forEach((list, code) => {
      if (list) lines.push(`${code}: ${list.map((c) => c.tokenType.name).join(" ")}`);
    });
    return lines.join("\n");
  };
  const want = describe(analysed);
  const got = describe(given);
  if (want !== got) {
    const w = want.split("\n");
    const g = got.split("\n");
    const diff = w.filter((x) => !g.includes(x)).map((x) => `- ${x}`).concat(g.filter((x) => !w.includes(x)).map((x) => `+ ${x}`));
    throw new Error(`The start_chars_hint / line_breaks of the tokens in src/parser/lexer.ts differ from what Chevrotain finds in their patterns (- found, + given):\n${diff.join("\n")}`);
  }
}

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

/**
 * What the lexer skips as a whole (a string, with the lexer's own pattern; a `#` or `//`
 * comment), or a run of at least 16 characters that no token can contain; the regex engine
 * finds these far faster than a loop.
 */
const SKIPPED_OR_INVALID = /"(?:[^"\\\n\r]|\\.)*"?|#[^\n\r]*|\/\/[^\n\r]*|[^A-Za-z0-9_ \t\r\n\f\v\u00a0\ufeff#"\-+*/(){},:=~.\u2192]{16,}/g;

/**
 * Chevrotain recovers from a character no token matches by trying every pattern at the next
 * offset, which takes about a millisecond per thousand characters: a megabyte of emoji took
 * 1.5 s. Long runs of such characters outside strings and comments are found here in one pass
 * and replaced by spaces of the same length (so every offset, line and column stays put), and
 * reported as the lexer would have. Strings and comments (`#`, and the `//` that is reported)
 * are skipped as their tokens would take them.
 */
function blankInvalidRuns(text: string): { text: string; errors: { offset: number; length: number }[] } {
  const errors: { offset: number; length: number }[] = [];
  let out = "";
  let copied = 0;
  for (const m of text.matchAll(SKIPPED_OR_INVALID)) {
    const c = m[0][0];
    if (c === '"' || c === "#" || c === "/") continue;
    errors.push({ offset: m.index, length: m[0].length });
    out += text.slice(copied, m.index) + " ".repeat(m[0].length);
    copied = m.index + m[0].length;
  }
  return errors.length === 0 ? { text, errors } : { text: out + text.slice(copied), errors };
}

export function lexTokens(source: string): LexResult {
  const { text, errors: blanked } = blankInvalidRuns(source);
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
    errors: [...blanked, ...result.errors.map((e) => ({ offset: e.offset, length: e.length }))].sort((a, b) => a.offset - b.offset),
  };
}
