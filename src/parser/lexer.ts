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
 * part of a name. A minus may come between (`3x3x-8`): the size is then negative, which the
 * checker reports as such.
 */
function matchDimX(text: string, offset: number): CustomPatternMatcherReturn | null {
  if (text.charCodeAt(offset) !== 120 /* x */ || offset === 0) return null;
  const prev = text[offset - 1]!;
  let next = text[offset + 1];
  if (next === "-") next = text[offset + 2];
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
export const NumberRunOn = createToken({ name: "NumberRunOn", pattern: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![eE][+-]?\d)(?=[A-Za-wyzA-Z_]|x(?!-?[0-9A-Za-z_(]))[A-Za-z_][A-Za-z0-9_]*/, start_chars_hint: NUMBER_STARTS, line_breaks: false });
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
  /** Other languages' and word processors' habits, already read as the language's own (see `readHabits`). */
  habits: LexHabit[];
}

/**
 * A habit from elsewhere that the lexer reads as what was meant, for the parser to report
 * once with the right words: the text the lexer sees has the habit replaced by characters of
 * the same length (so every offset, line and column stays put), and names keep their own
 * spelling in their tokens.
 */
export type LexHabit =
  /** `'same'`, `‘same’`, `“relu”`: a string in quotes other than `"…"` (read as `"same"`). */
  | { kind: "quote"; start: number; end: number; quote: "'" | "‘’" | "“”" }
  /** `28×28` (read as `28x28`). */
  | { kind: "times"; start: number; end: number; char: string }
  /** `−1`, `–>`: a dash that looks like `-` (read as `-`). */
  | { kind: "dash"; start: number; end: number; char: string }
  /** `réseau`: a name with letters outside ASCII (one token, its own spelling). */
  | { kind: "non-ascii"; start: number; end: number; name: string }
  /** `nn.Conv2d`: a dotted name (one token, its own spelling). */
  | { kind: "dotted"; start: number; end: number; name: string }
  /** A zero-width space, a BOM after the start of the file, a bidirectional control: skipped. */
  | { kind: "invisible"; start: number; end: number; char: string }
  /** `;` at the end of a statement: skipped. */
  | { kind: "semicolon"; start: number; end: number };

/** Quotes other than `"` that open a string: the closing ones they pair with. */
const OTHER_QUOTES: Record<string, { close: string; kind: "'" | "‘’" | "“”" }> = {
  "'": { close: "'", kind: "'" },
  "\u2018": { close: "\u2019\u2018'", kind: "‘’" },
  "\u2019": { close: "\u2019", kind: "‘’" },
  "\u201a": { close: "\u2019\u2018", kind: "‘’" },
  "\u201c": { close: "\u201d\u201c\"", kind: "“”" },
  "\u201d": { close: "\u201d", kind: "“”" },
  "\u201e": { close: "\u201c\u201d", kind: "“”" },
  "\u00ab": { close: "\u00bb", kind: "“”" },
  "\u00bb": { close: "\u00ab", kind: "“”" },
};
/** Look-alikes of `x` between dimensions. */
const TIMES = new Set(["\u00d7", "\u2715", "\u2716", "\u2a2f"]);
/** Look-alikes of `-`: minus sign, hyphen, en and em dash. */
const DASHES = new Set(["\u2212", "\u2010", "\u2011", "\u2013", "\u2014"]);
/**
 * Characters that show nothing: zero-width space, joiners and non-joiner, word joiner,
 * invisible operators, soft hyphen, bidirectional marks, embeddings, overrides and isolates,
 * and the byte-order mark (allowed as the file's first character only).
 */
const INVISIBLE = /[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;
const NAME_CHAR = /[A-Za-z0-9_\p{L}\p{M}\p{Nd}]/u;
/**
 * The rest of a name from where it stands (sticky): ASCII and other letters, marks, digits,
 * `_`, and dots between them (`ré.seau` is one dotted name).
 */
const NAME_RUN = /(?:[A-Za-z0-9_\p{L}\p{M}\p{Nd}]|\.(?=[A-Za-z_\p{L}]))*/uy;
const LETTER = /[\p{L}\p{M}]/u;
/** Where `readHabits` looks: strings and comments (to skip them), and each kind of habit. */
const HABIT_POINTS = /["#\/';.\u0080-\uffff]/g;

/**
 * Finds the habits of other languages and word processors that the lexer would otherwise
 * trip over, character by character, and returns the text with each replaced by what was
 * meant (same length): quotes other than `"` around a string become `"`, `×` between
 * dimensions `x`, look-alike dashes `-`, letters outside ASCII and the dots of dotted names
 * `_` (so the name is one token; `lexTokens` gives it back its spelling), invisible
 * characters and semicolons spaces. Strings and comments are skipped as the lexer skips
 * them. Text with none of these comes back as it is, without a copy.
 */
export function readHabits(source: string): { text: string; habits: LexHabit[] } {
  const habits: LexHabit[] = [];
  // Replacements, in order of their offsets (the scan goes forward): the text is rebuilt once
  // from slices (splitting a megabyte into characters took 300 ms).
  const edits: { at: number; text: string }[] = [];
  // Where the last replacement ends: a name found later never reaches back over it, so the
  // replacements never overlap (each keeps the text's length).
  let replaced = 0;
  const put = (at: number, replacement: string): void => {
    edits.push({ at, text: replacement });
    replaced = at + replacement.length;
  };
  HABIT_POINTS.lastIndex = 0;
  for (let m = HABIT_POINTS.exec(source); m !== null; m = HABIT_POINTS.exec(source)) {
    const i = m.index;
    const c = source[i]!;
    if (c === '"') {
      HABIT_POINTS.lastIndex = skipString(source, i);
      continue;
    }
    if (c === "#" || (c === "/" && source[i + 1] === "/")) {
      HABIT_POINTS.lastIndex = lineEnd(source, i);
      continue;
    }
    if (c === "/") continue;
    if (c === ";") {
      habits.push({ kind: "semicolon", start: i, end: i + 1 });
      put(i, " ");
      continue;
    }
    if (c === ".") {
      // `nn.Conv2d`, `layers.Dense`: a dot between two names (not in a number: `1.5`, `2.e3`).
      const before = wordStart(source, i, replaced);
      if (before < i && /[A-Za-z_]/.test(source[before]!) && /[A-Za-z_]/.test(source[i + 1] ?? "")) {
        let end = i + 1;
        while (end < source.length && (NAME_CHAR.test(source[end]!) || (source[end] === "." && /[A-Za-z_]/.test(source[end + 1] ?? "")))) end++;
        const name = source.slice(before, end);
        if (/[^\x00-\x7f]/.test(name)) {
          // Letters outside ASCII in a dotted name: reported as such once, below.
          habits.push({ kind: "non-ascii", start: before, end, name });
        }
        habits.push({ kind: "dotted", start: before, end, name });
        for (let k = before; k < end; k++) if (source[k] === "." || source.charCodeAt(k) > 0x7f) put(k, "_");
        HABIT_POINTS.lastIndex = end;
      }
      continue;
    }
    const quote = OTHER_QUOTES[c];
    if (quote) {
      // A string in other quotes, closed on the same line, with no `"` inside.
      let end = i + 1;
      while (end < source.length && !quote.close.includes(source[end]!) && source[end] !== "\n" && source[end] !== "\r" && source[end] !== '"') end++;
      if (end < source.length && quote.close.includes(source[end]!)) {
        habits.push({ kind: "quote", start: i, end: end + 1, quote: quote.kind });
        put(i, '"');
        put(end, '"');
        HABIT_POINTS.lastIndex = end + 1;
      }
      continue;
    }
    if (TIMES.has(c)) {
      habits.push({ kind: "times", start: i, end: i + 1, char: c });
      put(i, "x");
      continue;
    }
    if (DASHES.has(c)) {
      habits.push({ kind: "dash", start: i, end: i + 1, char: c });
      put(i, "-");
      continue;
    }
    if (INVISIBLE.test(c)) {
      if (c === "\ufeff" && i === 0) continue;
      habits.push({ kind: "invisible", start: i, end: i + 1, char: c });
      put(i, " ");
      continue;
    }
    const code = source.codePointAt(i)!;
    const ch = String.fromCodePoint(code);
    if (LETTER.test(ch)) {
      // A name with letters outside ASCII: the whole word, ASCII letters, digits and `_`
      // included (not digits it starts with), read as `_`s so the lexer keeps it one name.
      let start = wordStart(source, i, replaced);
      // A number it runs on from (`8é`, `1e8é`) is the lexer's (NN1020), not part of the name.
      NUMBER_PREFIX.lastIndex = start;
      if (NUMBER_PREFIX.exec(source)) start = Math.min(i, NUMBER_PREFIX.lastIndex);
      NAME_RUN.lastIndex = i;
      NAME_RUN.exec(source);
      const end = Math.max(NAME_RUN.lastIndex, i + ch.length);
      const name = source.slice(start, end);
      habits.push({ kind: "non-ascii", start, end, name });
      if (name.includes(".")) habits.push({ kind: "dotted", start, end, name });
      put(start, "_".repeat(end - start));
      HABIT_POINTS.lastIndex = end;
    }
  }
  if (edits.length === 0) return { text: source, habits };
  let text = "";
  let copied = 0;
  for (const e of edits) {
    text += source.slice(copied, e.at) + e.text;
    copied = e.at + e.text.length;
  }
  return { text: text + source.slice(copied), habits };
}

/** The offset just past the string that starts with `"` at `i` (as the lexer reads it). */
function skipString(text: string, i: number): number {
  let k = i + 1;
  while (k < text.length) {
    const c = text[k]!;
    if (c === "\\") k += 2;
    else if (c === '"') return k + 1;
    else if (c === "\n" || c === "\r") return k;
    else k++;
  }
  return k;
}

function lineEnd(text: string, i: number): number {
  let k = i;
  while (k < text.length && text[k] !== "\n" && text[k] !== "\r") k++;
  return k;
}

/** A number at a given place (sticky), as the lexer's Number token reads it. */
const NUMBER_PREFIX = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;

/** One character (a code point, so a surrogate pair or a lone surrogate) of a name. */
const ONE_NAME_CHAR = /^[A-Za-z0-9_\p{L}\p{M}\p{Nd}]$/u;

/** Where the name ending just before `i` starts (`i` when none does), not before `from`. */
function wordStart(text: string, i: number, from: number): number {
  let k = i;
  while (k > from) {
    const c = text[k - 1]!;
    if (/[A-Za-z0-9_]/.test(c)) k--;
    else if (c.charCodeAt(0) >= 0xdc00 && c.charCodeAt(0) <= 0xdfff && k - 2 >= from && ONE_NAME_CHAR.test(text.slice(k - 2, k))) k -= 2;
    else if (c.charCodeAt(0) > 0x7f && ONE_NAME_CHAR.test(c)) k--;
    else break;
  }
  return k;
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
  const read = readHabits(source);
  const { text, errors: blanked } = blankInvalidRuns(read.text);
  const result = nnLexer.tokenize(text);
  if (read.text !== source) {
    // Names read with `_` in place of their other letters and dots get their spelling back.
    const names = read.habits.filter((h) => h.kind === "non-ascii" || h.kind === "dotted");
    if (names.length > 0) {
      let n = 0;
      for (const t of result.tokens) {
        while (n < names.length && names[n]!.end <= t.startOffset) n++;
        if (n < names.length && names[n]!.start <= (t.endOffset ?? t.startOffset)) t.image = source.slice(t.startOffset, (t.endOffset ?? t.startOffset) + 1);
      }
    }
  }
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
    habits: read.habits,
  };
}
