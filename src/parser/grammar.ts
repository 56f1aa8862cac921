/**
 * The Chevrotain parser: concrete syntax only. `lower.ts` turns its CST into the AST.
 * The grammar is written down in grammar/nn.ebnf; grammar/chevrotain-gast.json is this
 * parser's serialized form, compared in a test so the two cannot drift apart.
 */
import { CstParser, EOF, tokenMatcher, type CstNode, type CstNodeLocation, type DSLMethodOpts, type IOrAlt, type IToken, type ITokenGrammarPath, type TokenType } from "chevrotain";
import * as T from "./lexer.js";
import { messageProvider } from "./messages.js";

/** True when `next` starts right where `prev` ends: `basic(` is a call, `dense (` is not. */
function adjacent(prev: IToken, next: IToken): boolean {
  return prev.endOffset !== undefined && next.startOffset === prev.endOffset + 1;
}

/** True when `next` is on the line where `prev` ends. */
function sameLine(prev: IToken, next: IToken): boolean {
  return next.tokenType !== EOF && prev.endLine !== undefined && next.startLine === prev.endLine;
}

/** The parts of Chevrotain's CST builder (`TreeBuilder`, not in its typings) that NnParser replaces. */
interface TreeBuilderInternals {
  CST_STACK: CstNode[];
  setInitialNodeLocation(node: CstNode): void;
  setNodeLocationFromToken(location: CstNodeLocation, from: IToken): void;
  setNodeLocationFromNode(location: CstNodeLocation, from: CstNodeLocation): void;
}

/**
 * The parts of Chevrotain's error recovery (its `Recoverable` trait, not in its typings) that
 * NnParser wraps: `tryInRepetitionRecovery` skips tokens a repetition (`MANY`, `MANY_SEP`)
 * cannot take until one lets it go on, saves the error, and then calls the repetition again
 * from inside itself: one level of recursion per bad token.
 */
interface RecoveryInternals {
  RULE_STACK_IDX: number;
  /** The errors saved so far (the public `errors` is a copy of it). */
  _errors: unknown[];
  /** Saves a recognition error (every syntax error goes through here) and returns it. */
  SAVE_ERROR(error: Error): Error;
  /** Where the parser stands: the index of the last token consumed. */
  exportLexerState(): number;
  /** The token types recovery may stop at: the follow sets of every rule on the stack, innermost first. */
  flattenFollowSet(): TokenType[];
  /** The first of those that one of the next tokens is (scanning forward from the next), EOF at the end. */
  findReSyncTokenType(): TokenType;
  tryInRepetitionRecovery(this: CstParser, grammarRule: (...args: unknown[]) => unknown, grammarRuleArgs: unknown[], lookAheadFunc: () => boolean, expectedTokType: TokenType): void;
}

/**
 * Chevrotain's members that are not in its public typings and that NnParser (and the lexer,
 * lexer.ts) replace or read, with what they must be. Chevrotain is pinned to an exact version
 * in package.json because of them, and `missingChevrotainInternals()` (run by the tests and by
 * `new NnParser({ validate: true })`) names any that a new version changed, so an upgrade fails
 * by name instead of breaking every check in ways hard to trace.
 */
export const CHEVROTAIN_INTERNALS: readonly { name: string; on: "parser" | "lexer"; kind: "method" | "array" | "number" | "object"; params?: number; use: string }[] = [
  { name: "CST_STACK", on: "parser", kind: "array", use: "cstInvocationStateUpdate pushes plain CST nodes on it" },
  { name: "cstInvocationStateUpdate", on: "parser", kind: "method", params: 1, use: "overridden: CST nodes with plain objects for children" },
  { name: "setInitialNodeLocation", on: "parser", kind: "method", params: 1, use: "replaced: node locations with -1, not NaN" },
  { name: "setNodeLocationFromToken", on: "parser", kind: "method", params: 2, use: "replaced: node locations grow with each token" },
  { name: "setNodeLocationFromNode", on: "parser", kind: "method", params: 2, use: "replaced: node locations grow with each child" },
  { name: "tryInRepetitionRecovery", on: "parser", kind: "method", params: 4, use: "wrapped: in-repetition recovery in a loop (resumeRepetitionsInALoop)" },
  { name: "RULE_STACK_IDX", on: "parser", kind: "number", use: "read: which rule invocation a recovery belongs to" },
  { name: "findReSyncTokenType", on: "parser", kind: "method", params: 0, use: "replaced: remembers its last answer (rememberReSyncPoints)" },
  { name: "flattenFollowSet", on: "parser", kind: "method", params: 0, use: "called by the findReSyncTokenType replacement" },
  { name: "exportLexerState", on: "parser", kind: "method", params: 0, use: "read: where the parser stands" },
  { name: "SAVE_ERROR", on: "parser", kind: "method", params: 1, use: "wrapped: stops at MAX_SYNTAX_ERRORS (stopAtTooManyErrors)" },
  { name: "_errors", on: "parser", kind: "array", use: "read: the count of errors so far" },
  { name: "createTokenInstance", on: "lexer", kind: "method", params: 7, use: "replaced: tokens with small-integer positions (lexer.ts)" },
  { name: "createFullToken", on: "lexer", kind: "method", params: 7, use: "compared: the replacement applies only to full position tracking" },
  { name: "patternIdxToConfig", on: "lexer", kind: "object", use: "read by validateTokens (the tests)" },
  { name: "charCodeToPatternIdxToConfig", on: "lexer", kind: "object", use: "read by validateTokens (the tests)" },
];

/** The entries of CHEVROTAIN_INTERNALS that `parser` or `lexer` lacks or has in another form. */
export function missingChevrotainInternals(parser: object, lexer: object): string[] {
  const out: string[] = [];
  for (const i of CHEVROTAIN_INTERNALS) {
    const v = (i.on === "parser" ? parser : lexer) as Record<string, unknown>;
    const value = v[i.name];
    const ok =
      i.kind === "method" ? typeof value === "function" && (i.params === undefined || (value as (...a: unknown[]) => unknown).length === i.params) : i.kind === "array" ? Array.isArray(value) : i.kind === "number" ? typeof value === "number" : typeof value === "object" && value !== null;
    if (!ok) out.push(`Chevrotain's ${i.on} no longer has \`${i.name}\` as ${i.kind === "array" || i.kind === "object" ? "an" : "a"} ${i.kind}${i.params !== undefined ? ` of ${i.params} parameters` : ""} (${i.use}).`);
  }
  return out;
}

/**
 * Syntax errors the parser reports, at most: then it stops (`TooManySyntaxErrors`). Each costs
 * Chevrotain an exception and a recovery, some 50 µs, so a megabyte of stray tokens in a body
 * would take seconds; no one reads past the first screenful of them anyway.
 */
export const MAX_SYNTAX_ERRORS = 1_000;

/**
 * Thrown out of `parser.file()` when the `MAX_SYNTAX_ERRORS`th error is saved (Chevrotain may
 * save one more on the way out, that the input was not all read).
 */
export class TooManySyntaxErrors extends Error {
  constructor() {
    super(`more than ${MAX_SYNTAX_ERRORS} syntax errors`);
    this.name = "TooManySyntaxErrors";
  }
}

/** Grammar paths whose follows `NnParser` remembers, at most (each is a short list). */
const MAX_REMEMBERED_PATHS = 10_000;

/** The last answer of `findReSyncTokenType`, and where it was found. */
interface ReSyncFound {
  input: IToken[];
  follows: TokenType[];
  /** The parser's position when it was asked. */
  from: number;
  /** The index of the token found. */
  at: number;
  type: TokenType;
}

/** A repetition that in-repetition recovery is resuming (see NnParser's constructor). */
interface Resumption {
  rule: (...args: unknown[]) => unknown;
  args: unknown[];
  /** The rule invocation it belongs to (the depth of the rule stack). */
  depth: number;
  /** Set when recovery has skipped to where the repetition can go on. */
  again: boolean;
}

function sameArgs(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * A node's location grows with each token or child node that has one (tokens recovery
 * inserted and nodes it left empty have none): it starts at the first and ends at the
 * furthest, as with Chevrotain's own tracking. A node that has consumed nothing has
 * `startOffset` -1 (Chevrotain uses NaN, which makes V8 box every field of every
 * location as a heap number; small integers are stored in place).
 */
function unplacedLocation(): CstNodeLocation {
  return { startOffset: -1, startLine: -1, startColumn: -1, endOffset: -1, endLine: -1, endColumn: -1 };
}
function extendLocation(location: CstNodeLocation, from: CstNodeLocation | IToken): void {
  if (!(from.startOffset >= 0)) return;
  if (!(location.startOffset >= 0)) {
    location.startOffset = from.startOffset;
    location.startLine = from.startLine;
    location.startColumn = from.startColumn;
    location.endOffset = from.endOffset;
    location.endLine = from.endLine;
    location.endColumn = from.endColumn;
  } else if (location.endOffset! < from.endOffset!) {
    location.endOffset = from.endOffset;
    location.endLine = from.endLine;
    location.endColumn = from.endColumn;
  }
}

/**
 * The parser. An editor re-checks a file on every keystroke, so the parse is kept lean:
 * expressions are flat rules (lowering applies the precedence), and the hot rules (body,
 * statement, word, expr, term) take their alternatives and options from fields built once —
 * written inline, each call of a rule would build those arrays and closures again.
 */
export class NnParser extends CstParser {
  /**
   * `validate` (the default) runs Chevrotain's checks of the grammar and of the token
   * definitions (ambiguities, left recursion, unreachable patterns, …), which throw on a
   * broken grammar: the tests and grammar/update-gast.mjs construct the parser so. They are
   * about a third of constructing a parser, and the grammar is fixed once it passes them,
   * so the parser `parse()` uses (`parserInstance()`) leaves them out to start faster.
   */
  constructor(options: { validate?: boolean } = {}) {
    const validate = options.validate ?? true;
    super(T.allTokens, { recoveryEnabled: true, nodeLocationTracking: "full", maxLookahead: 3, errorMessageProvider: messageProvider, skipValidations: !validate });
    if (validate) {
      T.validateTokens();
      const missing = missingChevrotainInternals(this, T.nnLexer);
      if (missing.length > 0) throw new Error(`nnc's parser relies on parts of Chevrotain that this version changed:\n${missing.join("\n")}`);
    }
    // Node locations with -1 for "none yet" instead of NaN (see unplacedLocation). These are
    // instance fields Chevrotain sets in its constructor; setInitialNodeLocation is used only
    // if Chevrotain's own cstInvocationStateUpdate runs instead of the one below.
    const self = this as unknown as TreeBuilderInternals;
    self.setInitialNodeLocation = (node) => {
      (node as { location?: CstNodeLocation }).location = unplacedLocation();
    };
    self.setNodeLocationFromToken = extendLocation;
    self.setNodeLocationFromNode = extendLocation;
    this.resumeRepetitionsInALoop();
    this.rememberReSyncPoints();
    this.stopAtTooManyErrors();
    this.performSelfAnalysis();
  }

  /** The follows of each grammar path, remembered (see `getNextPossibleTokenTypes`). */
  private readonly knownFollows = new Map<string, TokenType[]>();

  /**
   * In-repetition recovery without recursion. Chevrotain's `tryInRepetitionRecovery` resumes
   * the repetition by calling it from inside itself, and the resumed repetition, meeting the
   * next bad token, recovers the same way: a body with thousands of tokens it cannot take
   * (`dense 3 -> dense 3 -> …` in a recipe, where `->` has no place) nests thousands of calls
   * and overflows the stack. Both calls are the last thing their callers do, so the resumption
   * becomes a loop here: a recovery called at the end of a repetition that an outer recovery
   * is resuming (same repetition, same rule invocation) only skips its tokens, saves its error
   * and asks the outer one to resume again. Tokens skipped, errors saved and their order are
   * Chevrotain's own.
   */
  private resumeRepetitionsInALoop(): void {
    const self = this as unknown as RecoveryInternals;
    const chevrotains = self.tryInRepetitionRecovery;
    let resuming: Resumption | undefined;
    self.tryInRepetitionRecovery = function (rule, args, lookAheadFunc, expectedTokType) {
      const outer = resuming;
      if (outer && outer.rule === rule && outer.depth === self.RULE_STACK_IDX && sameArgs(outer.args, args)) {
        chevrotains.call(this, () => void (outer.again = true), args, lookAheadFunc, expectedTokType);
        return;
      }
      const mine: Resumption = { rule, args, depth: self.RULE_STACK_IDX, again: false };
      resuming = mine;
      try {
        chevrotains.call(this, () => void (mine.again = true), args, lookAheadFunc, expectedTokType);
        while (mine.again) {
          mine.again = false;
          rule.apply(this, args);
        }
      } finally {
        resuming = outer;
      }
    };
  }

  /**
   * Chevrotain's `findReSyncTokenType`, remembering its last answer. It scans forward from the
   * next token to the first that can follow a rule on the stack, and runs on every error
   * (each rule an error unwinds through, and each in-repetition recovery): in a long body
   * with a bad token every few tokens and nothing to stop at until its end, that is a scan
   * to the end for each bad token, quadratic (3,000 stray `->` in a 10,000-token recipe took
   * seconds). Asked again with the same follow set from a position no further than the token
   * it found, the answer is the same, since no token before that one matched.
   */
  private rememberReSyncPoints(): void {
    const self = this as unknown as RecoveryInternals;
    let last: ReSyncFound | undefined;
    self.findReSyncTokenType = () => {
      const follows = self.flattenFollowSet();
      const from = self.exportLexerState();
      const input = this.input;
      if (last && last.input === input && last.from <= from && from < last.at && sameArgs(last.follows, follows)) return last.type;
      // Chevrotain's search: EOF follows the outermost rule and is (virtually) at the end of
      // the input, so it ends.
      for (let k = 1; ; k++) {
        const token = this.LA(k);
        const type = follows.find((t) => tokenMatcher(token, t));
        if (type !== undefined) {
          last = { input, follows, from, at: from + k, type };
          return type;
        }
      }
    };
  }

  /**
   * Chevrotain's `getNextPossibleTokenTypes` (a protected method of its API), remembered per
   * grammar path. Before each in-repetition recovery (and each single-token insertion)
   * Chevrotain asks what may follow the expected token by walking the grammar, which took more
   * time than the rest of the parse on a body of thousands of stray tokens. The answer depends
   * only on the path (the grammar is fixed), and Chevrotain only reads it.
   */
  protected override getNextPossibleTokenTypes(path: ITokenGrammarPath): TokenType[] {
    const key = `${path.ruleStack.join(" ")}|${path.occurrenceStack.join(" ")}|${path.lastTok.name}|${path.lastTokOccurrence}`;
    let follows = this.knownFollows.get(key);
    if (follows === undefined) {
      // A long-lived parser (the language server's) meets many paths: keep it bounded.
      if (this.knownFollows.size >= MAX_REMEMBERED_PATHS) this.knownFollows.clear();
      follows = super.getNextPossibleTokenTypes(path);
      this.knownFollows.set(key, follows);
    }
    return follows;
  }

  /**
   * Stops the parse at the `MAX_SYNTAX_ERRORS`th error by throwing `TooManySyntaxErrors`, which
   * is not one of Chevrotain's recognition errors: its recovery lets it through, out of
   * `file()`, where `parse()` catches it.
   */
  private stopAtTooManyErrors(): void {
    const self = this as unknown as RecoveryInternals;
    const save = self.SAVE_ERROR.bind(this);
    self.SAVE_ERROR = (error) => {
      const saved = save(error);
      if (self._errors.length >= MAX_SYNTAX_ERRORS) throw new TooManySyntaxErrors();
      return saved;
    };
  }

  /** The index of the last token the parser has consumed (-1 before the first). */
  public position(): number {
    return (this as unknown as RecoveryInternals).exportLexerState();
  }

  /**
   * Replaces Chevrotain's CST node constructor (an internal method, called on entering each
   * rule). Chevrotain makes `children` with `Object.create(null)`, which V8 keeps in
   * dictionary mode; a plain object literal is smaller and faster to fill and read (no child
   * is named like an `Object.prototype` member: children are named after tokens and rules).
   */
  cstInvocationStateUpdate(fullRuleName: string): void {
    (this as unknown as TreeBuilderInternals).CST_STACK.push({ name: fullRuleName, children: {}, location: unplacedLocation() });
  }

  public file = this.RULE("file", () => {
    this.MANY(() => this.SUBRULE(this.declaration));
  });

  private declaration = this.RULE("declaration", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.modelDecl) },
      { ALT: () => this.SUBRULE(this.blockDecl) },
      { ALT: () => this.SUBRULE(this.trainDecl) },
      { ALT: () => this.SUBRULE(this.searchDecl) },
    ]);
  });

  /**
   * A colon after a declaration's name (`model mlp: {`, Python's and YAML's habit) is read
   * and reported by lowering; `parse()` turns an indented body after it (no braces at all)
   * into a braced one.
   */
  private modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.AnyName);
    this.OPTION(() => this.SUBRULE(this.paramList));
    this.OPTION2(() => this.CONSUME(T.Colon));
    this.SUBRULE(this.body);
  });

  private blockDecl = this.RULE("blockDecl", () => {
    this.CONSUME(T.Block);
    this.CONSUME(T.AnyName);
    this.OPTION(() => this.SUBRULE(this.paramList));
    this.OPTION2(() => this.CONSUME(T.Colon));
    this.SUBRULE(this.body);
  });

  /**
   * `(a, b = 1)`. A comma with nothing after it (`(a, b,)`, `(a,, b)`) is read, and lowering
   * reports it, so one stray comma is one error.
   */
  private paramList = this.RULE("paramList", () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => this.SUBRULE(this.param));
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.OPTION2(() => this.SUBRULE2(this.param));
    });
    this.CONSUME(T.RParen);
  });

  private param = this.RULE("param", () => {
    this.CONSUME(T.AnyName);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expr);
    });
  });

  /**
   * `{ item item -> item … }`: arrows and line breaks between items are checked in lowering.
   * The alternatives of `item` are written out here (one CST node less per layer); `item`
   * itself is what `repeat N` takes without braces.
   */
  private body = this.RULE("body", () => {
    this.CONSUME(T.LCurly);
    this.MANY(this.bodyPart);
    this.CONSUME(T.RCurly);
  });
  private readonly bodyParts: IOrAlt<unknown>[] = [
    { ALT: () => this.CONSUME(T.Arrow) },
    { ALT: () => this.SUBRULE(this.repeatItem) },
    { ALT: () => this.SUBRULE(this.residualItem) },
    { ALT: () => this.SUBRULE(this.statement) },
  ];
  private readonly bodyPart = (): void => {
    this.OR(this.bodyParts);
  };

  private item = this.RULE("item", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.repeatItem) },
      { ALT: () => this.SUBRULE(this.residualItem) },
      { ALT: () => this.SUBRULE(this.statement) },
    ]);
  });

  private repeatItem = this.RULE("repeatItem", () => {
    this.CONSUME(T.Repeat);
    this.SUBRULE(this.word);
    this.OR([{ ALT: () => this.SUBRULE(this.body) }, { ALT: () => this.SUBRULE(this.item) }]);
  });

  private residualItem = this.RULE("residualItem", () => {
    this.CONSUME(T.Residual);
    this.OPTION({ GATE: () => this.LA(1).image === "project", DEF: () => this.CONSUME(T.Ident, { LABEL: "Project" }) });
    this.SUBRULE(this.body);
    this.OPTION2({
      GATE: () => this.LA(1).image === "skip" && this.LA(2).tokenType === T.LCurly,
      DEF: () => {
        this.CONSUME2(T.Ident, { LABEL: "Skip" });
        this.SUBRULE2(this.body);
      },
    });
  });

  /**
   * A head word and the words after it on the same line: `conv 5x5x32 relu same`,
   * `optim adam(0.9,0.999) lr 1e-3`, `basic(128, stride: 2)`.
   */
  private statement = this.RULE("statement", () => {
    this.CONSUME(T.Ident);
    this.OPTION(this.callArgsIfAdjacent);
    // Words and bodies: a merge's branches are bodies (`concat { a } { b } e1`), a branch may
    // begin on the next line right after the previous one's `}`. Elsewhere a body is a
    // misspelt keyword (`resdual { … }`), which lowering reports and reads as the keyword it
    // resembles.
    this.MANY(this.wordOrBody);
  });
  /**
   * Besides words, a statement reads `,` (clauses of a recipe line), and `=` and `:`, which
   * are not the language's there: lowering reads `kernel_size=3` or `loss: crossentropy` as
   * the habit of another language it is, and says once how to write it.
   */
  private readonly wordOrSeparator: IOrAlt<unknown>[] = [
    { ALT: () => this.SUBRULE(this.word) },
    { ALT: () => this.CONSUME(T.Comma) },
    { ALT: () => this.CONSUME(T.Equals) },
    { ALT: () => this.CONSUME(T.Colon) },
  ];
  private readonly wordOrBodyAlts: IOrAlt<unknown>[] = [
    { GATE: () => sameLine(this.LA(0), this.LA(1)) && this.LA(1).tokenType !== T.LCurly, ALT: () => this.OR2(this.wordOrSeparator) },
    { GATE: () => this.LA(1).tokenType === T.LCurly && (sameLine(this.LA(0), this.LA(1)) || this.LA(0).tokenType === T.RCurly), ALT: () => this.SUBRULE(this.body) },
  ];
  private readonly wordOrBody: DSLMethodOpts<unknown> = {
    GATE: () => sameLine(this.LA(0), this.LA(1)) || (this.LA(0).tokenType === T.RCurly && this.LA(1).tokenType === T.LCurly),
    DEF: () => this.OR3(this.wordOrBodyAlts),
  };
  /** `name(`: a call's arguments, only when `(` touches the name. */
  private readonly callArgsIfAdjacent: DSLMethodOpts<unknown> = { GATE: () => adjacent(this.LA(0), this.LA(1)), DEF: () => this.SUBRULE(this.callArgs) };

  /** `(0.9, 0.999)`, `(train: 8000)`; a comma with nothing after it is read (see `paramList`). */
  private callArgs = this.RULE("callArgs", () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => this.SUBRULE(this.arg));
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.OPTION2(() => this.SUBRULE2(this.arg));
    });
    this.CONSUME(T.RParen);
  });

  private arg = this.RULE("arg", () => {
    this.OPTION(() => {
      this.CONSUME(T.AnyName);
      // `=` is not the language's (named arguments take `:`); lowering says so.
      this.OR([{ ALT: () => this.CONSUME(T.Colon) }, { ALT: () => this.CONSUME(T.Equals) }]);
    });
    this.SUBRULE(this.expr);
  });

  /**
   * A word of a statement: terms joined by `*`, `/` and `x` (`3x3xc*2`); `+`/`-` only inside
   * parentheses. The operators are flat here and lowering applies their precedence (`x`
   * loosest, then `*` and `/`): a plain word is two CST nodes (`word`, `term`), not one per
   * precedence level.
   */
  private word = this.RULE("word", () => {
    this.SUBRULE(this.term);
    this.MANY(this.wordRest);
  });
  private readonly wordOps: IOrAlt<unknown>[] = [{ ALT: () => this.CONSUME(T.Star) }, { ALT: () => this.CONSUME(T.Slash) }, { ALT: () => this.CONSUME(T.DimX) }];
  private readonly wordRest = (): void => {
    this.OR(this.wordOps);
    this.SUBRULE2(this.term);
  };

  /**
   * A full expression, inside parentheses and after `=`, `:` and `~`: terms joined by `+`, `-`,
   * `*`, `/` and `x`, flat; lowering applies the precedence (`x` loosest, then `+` and `-`,
   * then `*` and `/`; all left-associative).
   */
  private expr = this.RULE("expr", () => {
    this.SUBRULE(this.term);
    this.MANY(this.exprRest);
  });
  private readonly exprOps: IOrAlt<unknown>[] = [
    { ALT: () => this.CONSUME(T.Plus) },
    { ALT: () => this.CONSUME(T.Minus) },
    { ALT: () => this.CONSUME(T.Star) },
    { ALT: () => this.CONSUME(T.Slash) },
    { ALT: () => this.CONSUME(T.DimX) },
  ];
  private readonly exprRest = (): void => {
    this.OR(this.exprOps);
    this.SUBRULE2(this.term);
  };

  /**
   * An operand: `-` and a term (so a minus binds tightest), a number, a string, a name or
   * call, or `( expr )`. The parentheses also read a list, `(3, 3)` or `(64, stride: 2)`:
   * Python's tuple, or a block's arguments written after a space; lowering reports the one
   * and reads the other.
   */
  private term = this.RULE("term", () => {
    this.OR(this.termAlts);
  });
  private readonly termAlts: IOrAlt<unknown>[] = [
    {
      ALT: () => {
        this.CONSUME(T.Minus);
        this.SUBRULE(this.term);
      },
    },
    { ALT: () => this.CONSUME(T.NumberLit) },
    { ALT: () => this.CONSUME(T.StringLit) },
    {
      ALT: () => {
        this.CONSUME(T.Ident);
        this.OPTION(this.callArgsIfAdjacent);
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.LParen);
        this.SUBRULE(this.arg);
        this.MANY(this.moreArgs);
        this.CONSUME(T.RParen);
      },
    },
  ];
  private readonly moreArgs = (): void => {
    this.CONSUME(T.Comma);
    this.OPTION3(() => this.SUBRULE2(this.arg));
  };

  private trainDecl = this.RULE("trainDecl", () => {
    this.CONSUME(T.Train);
    this.CONSUME(T.AnyName);
    this.OPTION(this.callArgsIfAdjacent);
    this.OPTION2(() => this.CONSUME(T.Colon));
    this.SUBRULE(this.recipeBody);
  });

  private searchDecl = this.RULE("searchDecl", () => {
    this.CONSUME(T.Search);
    this.CONSUME(T.AnyName);
    this.MANY(() => this.SUBRULE(this.word));
    this.OPTION(() => this.CONSUME(T.Colon));
    this.SUBRULE(this.recipeBody);
  });

  private recipeBody = this.RULE("recipeBody", () => {
    this.CONSUME(T.LCurly);
    this.MANY(() => {
      this.OR([{ ALT: () => this.SUBRULE(this.searchVar) }, { ALT: () => this.SUBRULE(this.statement) }]);
    });
    this.CONSUME(T.RCurly);
  });

  /** `lr ~ loguniform(1e-4, 1e-1)` */
  private searchVar = this.RULE("searchVar", () => {
    this.CONSUME(T.Ident);
    this.CONSUME(T.Tilde);
    this.SUBRULE(this.expr);
  });
}

/**
 * One parser instance, reused (Chevrotain parsers are built once and fed new input), built
 * without Chevrotain's grammar checks: `new NnParser()` in the tests runs them.
 */
let instance: NnParser | undefined;
export function parserInstance(): NnParser {
  instance ??= new NnParser({ validate: false });
  return instance;
}
