/**
 * The project's own AST, lowered from Chevrotain's CST. A discriminated union on `kind`;
 * every node has an exact `range`. Fields that error recovery can leave empty are optional.
 */
import type { Range } from "../diagnostics/diagnostic.js";

export interface AstIdent {
  kind: "ident";
  name: string;
  range: Range;
}

// ---------------------------------------------------------------------------------------
// Expressions: numbers, parameter references, arithmetic, dims (`5x5x32`), calls.

export interface AstNumber {
  kind: "number";
  value: number;
  raw: string;
  range: Range;
}
export interface AstString {
  kind: "string";
  value: string;
  range: Range;
  /** Quotes other than `"…"` it was written in (`'same'`, `“relu”`), already reported. */
  quote?: "'" | "‘’" | "“”";
}
/** A bare name: a parameter reference (`classes`) or a word such as `same`. */
export interface AstRef {
  kind: "ref";
  name: string;
  range: Range;
}
/** `name(args)`: `leaky_relu(0.1)`, `normal(0.02)`, `mnist(train: 8000)`. */
export interface AstCallExpr {
  kind: "call-expr";
  callee: AstIdent;
  args: AstArg[];
  range: Range;
}
/** `5x5x32`, `3x3xc`, `28x28x1`. */
export interface AstDims {
  kind: "dims";
  parts: AstExpr[];
  range: Range;
  /** Written as a Python tuple, `(3, 3)` (already reported). */
  tuple?: true;
}
export interface AstBinary {
  kind: "binary";
  op: "+" | "-" | "*" | "/";
  left: AstExpr;
  right: AstExpr;
  range: Range;
}
export interface AstUnary {
  kind: "unary";
  op: "-";
  operand: AstExpr;
  range: Range;
}
export type AstExpr = AstNumber | AstString | AstRef | AstCallExpr | AstDims | AstBinary | AstUnary;

/** A call argument: positional (`0.9`) or named (`stride: 2`). */
export interface AstArg {
  kind: "arg";
  name?: AstIdent;
  value?: AstExpr;
  range: Range;
}

// ---------------------------------------------------------------------------------------
// Model bodies

/** An option word of a layer, with its value where the option takes one: `stride 2`, `same`. */
export interface AstOption {
  kind: "option";
  name: AstIdent;
  value?: AstExpr;
  range: Range;
}

/** An activation, trailing (`dense 100 relu`) or as a layer of its own (`-> leaky_relu(0.1)`). */
export interface AstActivation {
  kind: "activation";
  name: AstIdent;
  args: AstArg[];
  range: Range;
}

/** A built-in layer: `conv 5x5x32 relu same`, `dropout 0.5`, or a lone activation `relu`. */
export interface AstLayer {
  kind: "layer";
  /** The layer kind word (`conv`), or the activation's name for a lone activation. */
  op: AstIdent;
  /** Positional values in the order of the kind's signature; a slot left empty is undefined. */
  positional: (AstExpr | undefined)[];
  /** Option words by name. */
  options: Record<string, AstOption>;
  activation?: AstActivation;
  range: Range;
  /**
   * Set when the statement was not understood as a layer and has been reported (another
   * library's layer that nnc lacks): the checker knows no shape after it and says nothing more.
   */
  unread?: true;
}

/** A call of a user block: `basic(128, stride: 2)`. */
export interface AstBlockCall {
  kind: "block-call";
  callee: AstIdent;
  args: AstArg[];
  range: Range;
}

/** `repeat 5 { … }` or `repeat 2 basic(64)`. */
export interface AstRepeat {
  kind: "repeat";
  keyword: Range;
  count?: AstExpr;
  body: AstItem[];
  range: Range;
}

/**
 * `residual { main }`: output = main(x) + x.
 * `residual project { main }`: the skip path is a 1x1 conv that matches main's shape.
 * `residual { main } skip { path }`: an explicit skip path.
 */
export interface AstResidual {
  kind: "residual";
  keyword: Range;
  project?: Range;
  body: AstItem[];
  skip?: AstItem[];
  skipKeyword?: Range;
  range: Range;
}

/** A branch of a merge: `{ layers }` from the merge's input (empty: the input itself), or a kept tensor by name. */
export type AstMergeOperand = { kind: "branch"; body: AstItem[]; range: Range } | { kind: "kept"; name: AstIdent; range: Range };

/**
 * `concat { a } { b }`, `add { f } { g }`, `multiply { gate }`, `concat e1`: the operands joined
 * into one tensor (on the channel axis, summed, multiplied). With one operand the merge's
 * input comes first: `concat { f }` is concat(x, f(x)).
 */
export interface AstMerge {
  kind: "merge";
  op: "concat" | "add" | "multiply";
  keyword: Range;
  operands: AstMergeOperand[];
  /** `name NAME` given to the merge layer. */
  name?: AstIdent;
  range: Range;
}

/** `keep e1`: names the tensor at this point, for a merge further on (a U-Net's long skip). */
export interface AstKeep {
  kind: "keep";
  keyword: Range;
  name?: AstIdent;
  range: Range;
}

export type AstItem = AstLayer | AstBlockCall | AstRepeat | AstResidual | AstMerge | AstKeep;

/** The bodies nested in an item, in source order: a repeat's, a residual's two paths, a merge's branches. */
export function childBodies(item: AstItem): AstItem[][] {
  switch (item.kind) {
    case "repeat":
      return [item.body];
    case "residual":
      return item.skip ? [item.body, item.skip] : [item.body];
    case "merge":
      return item.operands.flatMap((o) => (o.kind === "branch" ? [o.body] : []));
    case "layer":
    case "block-call":
    case "keep":
      return [];
  }
}

export interface AstParam {
  kind: "param";
  name: AstIdent;
  default?: AstExpr;
  range: Range;
}

export interface AstModel {
  kind: "model";
  keyword: Range;
  name?: AstIdent;
  params: AstParam[];
  body: AstItem[];
  range: Range;
}

export interface AstBlock {
  kind: "block";
  keyword: Range;
  name?: AstIdent;
  params: AstParam[];
  body: AstItem[];
  range: Range;
}

// ---------------------------------------------------------------------------------------
// Recipes and searches: one statement a line, interpreted by the checker.

/** `optim adam(0.9,0.999) lr 1e-3`: a head word and its words, split into clauses by commas. */
export interface AstStatement {
  kind: "statement";
  head: AstIdent;
  clauses: AstExpr[][];
  range: Range;
}

/** `lr ~ loguniform(1e-4, 1e-1)` */
export interface AstSearchVar {
  kind: "search-var";
  name: AstIdent;
  distribution?: AstExpr;
  range: Range;
}

export interface AstTrain {
  kind: "train";
  keyword: Range;
  model?: AstIdent;
  /** Model arguments: `train resnet18(classes: 100) { … }`. */
  args: AstArg[];
  statements: AstStatement[];
  range: Range;
}

export interface AstSearch {
  kind: "search";
  keyword: Range;
  model?: AstIdent;
  /** The words after the model name: `random 20`, `grid`. */
  header: AstExpr[];
  statements: (AstStatement | AstSearchVar)[];
  range: Range;
}

export type AstDeclaration = AstModel | AstBlock | AstTrain | AstSearch;

export interface AstFile {
  kind: "file";
  declarations: AstDeclaration[];
  /** Comments with their ranges, kept for the formatter. */
  comments: { text: string; range: Range }[];
  range: Range;
}
