/**
 * The Chevrotain parser: concrete syntax only. `lower.ts` turns its CST into the AST.
 * The grammar is written down in grammar/nn.ebnf; grammar/chevrotain-gast.json is this
 * parser's serialized form, compared in a test so the two cannot drift apart.
 */
import { CstParser, EOF, type IToken } from "chevrotain";
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

export class NnParser extends CstParser {
  constructor() {
    super(T.allTokens, { recoveryEnabled: true, nodeLocationTracking: "full", maxLookahead: 3, errorMessageProvider: messageProvider });
    this.performSelfAnalysis();
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

  private modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.AnyName);
    this.OPTION(() => this.SUBRULE(this.paramList));
    this.SUBRULE(this.body);
  });

  private blockDecl = this.RULE("blockDecl", () => {
    this.CONSUME(T.Block);
    this.CONSUME(T.AnyName);
    this.OPTION(() => this.SUBRULE(this.paramList));
    this.SUBRULE(this.body);
  });

  private paramList = this.RULE("paramList", () => {
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.param) });
    this.CONSUME(T.RParen);
  });

  private param = this.RULE("param", () => {
    this.CONSUME(T.AnyName);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expr);
    });
  });

  /** `{ item item -> item … }`: arrows and line breaks between items are checked in lowering. */
  private body = this.RULE("body", () => {
    this.CONSUME(T.LCurly);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Arrow) },
        { ALT: () => this.SUBRULE(this.item) },
      ]);
    });
    this.CONSUME(T.RCurly);
  });

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
    this.OPTION({ GATE: () => adjacent(this.LA(0), this.LA(1)), DEF: () => this.SUBRULE(this.callArgs) });
    this.MANY({
      GATE: () => sameLine(this.LA(0), this.LA(1)),
      DEF: () => {
        this.OR([{ ALT: () => this.SUBRULE(this.word) }, { ALT: () => this.CONSUME(T.Comma) }]);
      },
    });
    // Only `repeat` and `residual` take a body; one here is a misspelt keyword
    // (`resdual { … }`), which lowering reports and reads as the keyword it resembles.
    this.OPTION2({ GATE: () => sameLine(this.LA(0), this.LA(1)), DEF: () => this.SUBRULE(this.body) });
  });

  private callArgs = this.RULE("callArgs", () => {
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.arg) });
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

  /** A word of a statement: products joined by `x` (`3x3xc*2`); `+`/`-` only inside parentheses. */
  private word = this.RULE("word", () => {
    this.SUBRULE(this.product);
    this.MANY(() => {
      this.CONSUME(T.DimX);
      this.SUBRULE2(this.product);
    });
  });

  /** A full expression, inside parentheses and after `=`, `:` and `~`. */
  private expr = this.RULE("expr", () => {
    this.SUBRULE(this.sum);
    this.MANY(() => {
      this.CONSUME(T.DimX);
      this.SUBRULE2(this.sum);
    });
  });

  private sum = this.RULE("sum", () => {
    this.SUBRULE(this.product);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Plus) }, { ALT: () => this.CONSUME(T.Minus) }]);
      this.SUBRULE2(this.product);
    });
  });

  private product = this.RULE("product", () => {
    this.SUBRULE(this.unary);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Star) }, { ALT: () => this.CONSUME(T.Slash) }]);
      this.SUBRULE2(this.unary);
    });
  });

  private unary = this.RULE("unary", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.SUBRULE(this.unary);
        },
      },
      { ALT: () => this.SUBRULE(this.primary) },
    ]);
  });

  private primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.NumberLit) },
      { ALT: () => this.CONSUME(T.StringLit) },
      {
        ALT: () => {
          this.CONSUME(T.Ident);
          this.OPTION({ GATE: () => adjacent(this.LA(0), this.LA(1)), DEF: () => this.SUBRULE(this.callArgs) });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.SUBRULE(this.expr);
          this.CONSUME(T.RParen);
        },
      },
    ]);
  });

  private trainDecl = this.RULE("trainDecl", () => {
    this.CONSUME(T.Train);
    this.CONSUME(T.AnyName);
    this.OPTION({ GATE: () => adjacent(this.LA(0), this.LA(1)), DEF: () => this.SUBRULE(this.callArgs) });
    this.SUBRULE(this.recipeBody);
  });

  private searchDecl = this.RULE("searchDecl", () => {
    this.CONSUME(T.Search);
    this.CONSUME(T.AnyName);
    this.MANY(() => this.SUBRULE(this.word));
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

/** One parser instance, reused (Chevrotain parsers are built once and fed new input). */
let instance: NnParser | undefined;
export function parserInstance(): NnParser {
  instance ??= new NnParser();
  return instance;
}
