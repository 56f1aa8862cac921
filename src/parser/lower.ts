/**
 * CST → AST. Turns Chevrotain's concrete syntax tree into the project's typed AST with exact
 * ranges, and reads each layer's words against the vocabulary (which word is the kernel,
 * which is an option, which the activation). Reports problems as diagnostics; never throws.
 */
import type { CstNode, IToken } from "chevrotain";
import { exprSource } from "./expr-source.js";
import { translateForeignLayer, translateLoss, translateOptimizer, type StatementPart } from "./foreign.js";
import { readAsMeantAfter } from "./read-as-meant.js";
import { diag, endOf, type Diagnostic, type Fix, type LineMap, type Range } from "../diagnostics/diagnostic.js";
import { closest, unknownWord } from "../diagnostics/suggest.js";
import { ACTIVATIONS, ALIASES, KEYWORDS, LAYER_KINDS, RECIPE_SETTINGS, SEARCH_SETTINGS, isActivation, isLayerKind, type LayerKindInfo } from "../language/vocabulary.js";
import type {
  AstActivation,
  AstArg,
  AstBlock,
  AstDeclaration,
  AstExpr,
  AstIdent,
  AstItem,
  AstLayer,
  AstModel,
  AstOption,
  AstParam,
  AstRepeat,
  AstResidual,
  AstMerge,
  AstMergeOperand,
  AstKeep,
  AstSearch,
  AstSearchVar,
  AstStatement,
  AstString,
  AstTrain,
} from "./ast.js";

export { exprSource } from "./expr-source.js";

type Child = CstNode | IToken;
type Children = Record<string, Child[] | undefined>;

// CST accessors. These run for every node of every check (an editor re-checks on each
// keystroke), so they return Chevrotain's own arrays and build none in the common case.
const NONE: never[] = [];

function isToken(x: Child): x is IToken {
  return (x as IToken).image !== undefined;
}
function isRecovered(t: IToken): boolean {
  return t.isInsertedInRecovery === true || Number.isNaN(t.startOffset);
}
// The hot paths read a child list with a constant key (`c["Number"]`), which V8 compiles
// to a named property load, and pass the list to these helpers.
/** The first token of a list that recovery did not insert. */
function firstToken(list: Child[] | undefined): IToken | undefined {
  if (list === undefined) return undefined;
  for (let i = 0; i < list.length; i++) if (!isRecovered(list[i] as IToken)) return list[i] as IToken;
  return undefined;
}
function firstNode(list: Child[] | undefined): CstNode | undefined {
  return list === undefined ? undefined : (list[0] as CstNode | undefined);
}
/** The first token under `name` that recovery did not insert. */
function token(c: Children, name: string): IToken | undefined {
  return firstToken(c[name]);
}
function nodes(c: Children, name: string): CstNode[] {
  return (c[name] as CstNode[] | undefined) ?? NONE;
}
function node(c: Children, name: string): CstNode | undefined {
  return firstNode(c[name]);
}
function startOf(x: Child): number {
  // A node that consumed no token has no start (NaN in Chevrotain's tracking, -1 in ours).
  if (isToken(x)) return x.startOffset;
  const start = x.location?.startOffset;
  return start !== undefined && start >= 0 ? start : NaN;
}

/**
 * The children of several lists in source order, leaving out tokens recovery inserted and
 * nodes it left empty. Each of Chevrotain's lists is already in source order: one list comes
 * back as it is when nothing needs leaving out, and several are merged.
 */
function inOrder(...all: (Child[] | undefined)[]): readonly Child[] {
  let only: Child[] | undefined;
  let lists: Child[][] | undefined;
  for (const list of all) {
    if (list === undefined || list.length === 0) continue;
    if (only === undefined) only = list;
    else (lists ??= [only]).push(list);
  }
  if (only === undefined) return NONE;
  if (lists === undefined) {
    for (const x of only) if (Number.isNaN(startOf(x))) return only.filter((y) => !Number.isNaN(startOf(y)));
    return only;
  }
  const next = lists.map(() => 0);
  const out: Child[] = [];
  for (;;) {
    let best = -1;
    let bestStart = Infinity;
    for (let k = 0; k < lists.length; k++) {
      const list = lists[k]!;
      let i = next[k]!;
      while (i < list.length && Number.isNaN(startOf(list[i]!))) i++;
      next[k] = i;
      if (i < list.length) {
        const start = startOf(list[i]!);
        if (start < bestStart) {
          best = k;
          bestStart = start;
        }
      }
    }
    if (best < 0) return out;
    out.push(lists[best]![next[best]!]!);
    next[best]!++;
  }
}

/**
 * The words and commas of a statement in source order. A word node that recovery left empty
 * lowers to nothing, so without commas the words are taken as they are.
 */
function statementParts(c: Children): readonly Child[] {
  const words = c["word"];
  const commas = c["Comma"];
  const equals = c["Equals"];
  const colons = c["Colon"];
  if (commas === undefined && equals === undefined && colons === undefined) return words ?? NONE;
  return inOrder(words, commas, equals, colons);
}

function byStart(a: Child, b: Child): number {
  return startOf(a) - startOf(b);
}

/** What a lone activation (`-> relu name act1`) takes: the options every layer has. */
let loneActivation: LayerKindInfo | undefined;

/** What lowering knows of the file beyond the node at hand (gathered by `parse()`). */
export interface LoweringContext {
  /** Names declared with `block NAME`: a call of one is never another library's layer. */
  blocks?: ReadonlySet<string>;
  /** Strings written in quotes other than `"…"`, by their start offset (`readHabits`). */
  quotes?: ReadonlyMap<number, "'" | "‘’" | "“”">;
  /**
   * Lines of bodies written without braces, under a colon and indented as in YAML (already
   * reported once): a colon after a statement's head there is part of that mistake.
   */
  indentedBodyLines?: ReadonlySet<number>;
}

/** A word in quotes that is not a string: `'same'`, `"relu"` (identifier-like text). */
const WORD_LIKE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class Lowering {
  readonly diagnostics: Diagnostic[] = [];
  /**
   * Offsets (start, end) of the source that a diagnostic of lowering already covers, so that
   * `parse()` does not report the habits found inside them (`readHabits`) a second time: the
   * quotes of `padding='same'` are part of the keyword argument reported.
   */
  readonly covered: { start: number; end: number }[] = [];
  /** While a statement's words are lowered, their diagnostics wait here (see `held`). */
  private buffer: Diagnostic[] | undefined;
  /** Call arguments written `name=value`, and the diagnostics that said so. */
  private readonly equalsArgs = new WeakSet<AstArg>();
  private readonly equalsDiagnostics = new WeakSet<Diagnostic>();
  /** The arguments in a parenthesised word, `(64)` or `(64, stride: 2)`, by the word. */
  private readonly parenArgs = new WeakMap<AstExpr, AstArg[]>();
  /** Words already reported as unreadable, which statements leave out. */
  private readonly reported = new WeakSet<AstExpr>();
  private readonly blocks: ReadonlySet<string>;
  constructor(
    private readonly lines: LineMap,
    private readonly context: LoweringContext = {},
  ) {
    this.blocks = context.blocks ?? new Set();
  }

  // --- ranges ------------------------------------------------------------------------
  // The lexer tracks lines and columns (1-based; lines end at \n, \r\n or \r, as in
  // LineMap), so a range is read off a token or a node's location without a search.
  tokenRange(t: IToken): Range {
    const { startLine, startColumn, endLine, endColumn, endOffset } = t;
    if (startLine === undefined || startColumn === undefined || endLine === undefined || endColumn === undefined || endOffset === undefined || Number.isNaN(endOffset)) {
      return this.lines.range(t.startOffset, (endOffset ?? t.startOffset) + 1);
    }
    return { start: { line: startLine - 1, character: startColumn - 1, offset: t.startOffset }, end: { line: endLine - 1, character: endColumn, offset: endOffset + 1 } };
  }
  /** The range a CST node covers; undefined when recovery left it empty. */
  nodeRange(n: CstNode): Range | undefined {
    const loc = n.location;
    if (!loc || !(loc.startOffset >= 0) || loc.endOffset === undefined || !(loc.endOffset >= 0)) return undefined;
    const { startLine, startColumn, endLine, endColumn } = loc;
    if (startLine === undefined || startColumn === undefined || endLine === undefined || endColumn === undefined || Number.isNaN(startLine) || Number.isNaN(endLine)) {
      return this.lines.range(loc.startOffset, loc.endOffset + 1);
    }
    return { start: { line: startLine - 1, character: startColumn - 1, offset: loc.startOffset }, end: { line: endLine - 1, character: endColumn, offset: loc.endOffset + 1 } };
  }
  span(a: Range, b: Range): Range {
    return { start: a.start, end: b.end };
  }
  ident(t: IToken): AstIdent {
    return { kind: "ident", name: t.image, range: this.tokenRange(t) };
  }
  private error(code: Parameters<typeof diag>[0], message: string, range: Range, hint?: string, fixes?: Fix[]): Diagnostic {
    const d = diag(code, message, range, hint === undefined ? { fixes } : { hint, fixes });
    (this.buffer ?? this.diagnostics).push(d);
    return d;
  }

  /**
   * Runs `f` holding back the diagnostics it reports, and returns them with its value: a
   * statement in another library's spelling is then reported once, as that, instead of
   * once for each thing in it that is not nnc's.
   */
  private held<T>(f: () => T): { value: T; held: Diagnostic[] } {
    const outer = this.buffer;
    const mine: Diagnostic[] = [];
    this.buffer = mine;
    try {
      return { value: f(), held: mine };
    } finally {
      this.buffer = outer;
    }
  }
  /** Reports a diagnostic made elsewhere (`unknownWord`), held back like the others. */
  private report(d: Diagnostic): void {
    (this.buffer ?? this.diagnostics).push(d);
  }
  private release(held: readonly Diagnostic[]): void {
    for (const d of held) (this.buffer ?? this.diagnostics).push(d);
  }
  private cover(range: Range): void {
    this.covered.push({ start: range.start.offset, end: range.end.offset });
  }

  // --- declarations -------------------------------------------------------------------
  file(cst: CstNode): AstDeclaration[] {
    const out: AstDeclaration[] = [];
    for (const d of nodes(cst.children, "declaration")) {
      const c = d.children;
      const inner = node(c, "modelDecl") ?? node(c, "blockDecl") ?? node(c, "trainDecl") ?? node(c, "searchDecl");
      if (!inner) continue;
      const lowered = this.declaration(inner);
      if (lowered) out.push(lowered);
    }
    return out;
  }

  private declaration(n: CstNode): AstDeclaration | undefined {
    const range = this.nodeRange(n);
    if (!range) return undefined;
    const c = n.children;
    const nameTok = token(c, "AnyName");
    const name = nameTok ? this.ident(nameTok) : undefined;
    const colon = token(c, "Colon");
    if (colon) {
      // `model mlp: {`: Python's and YAML's colon (a body without braces is found and
      // reported by parse(), which reads its colon as the `{`).
      const what = n.name.replace("Decl", "");
      const r = this.tokenRange(colon);
      const before = this.lines.text[r.start.offset - 1] === " " ? { ...r, start: this.lines.position(r.start.offset - 1) } : r;
      readAsMeantAfter(this.error("NN1033", `A declaration has no colon: the ${what === "train" ? "recipe" : what}'s body follows in braces.`, r, `Write \`${what} ${name?.name ?? "…"} {\`.`, [{ title: "Remove the colon", edits: [{ range: before, newText: "" }] }]));
    }
    switch (n.name) {
      case "modelDecl":
      case "blockDecl": {
        const kw = token(c, n.name === "modelDecl" ? "Model" : "Block");
        const params = this.params(node(c, "paramList"));
        const bodyNode = node(c, "body");
        const body = bodyNode ? this.body(bodyNode) : [];
        if (bodyNode && body.length === 0 && this.nodeRange(bodyNode) && token(bodyNode.children, "RCurly")) {
          const what = n.name === "modelDecl" ? "model" : "block";
          this.error("NN1016", `The ${what} \`${name?.name ?? "?"}\` has no layers.`, this.nodeRange(bodyNode)!, what === "model" ? "Start with `input …`, then its layers, e.g. `input 10 -> dense 1 sigmoid`." : "Add the layers the block stands for, e.g. `conv 3x3xc relu`.");
        }
        const decl: AstModel | AstBlock = {
          kind: n.name === "modelDecl" ? "model" : "block",
          keyword: kw ? this.tokenRange(kw) : range,
          params,
          body,
          range,
        } as AstModel | AstBlock;
        if (name) decl.name = name;
        return decl;
      }
      case "trainDecl": {
        const kw = token(c, "Train");
        const decl: AstTrain = {
          kind: "train",
          keyword: kw ? this.tokenRange(kw) : range,
          args: this.callArgs(node(c, "callArgs")),
          statements: this.recipeBody(node(c, "recipeBody"), false) as AstStatement[],
          range,
        };
        if (name) decl.model = name;
        return decl;
      }
      case "searchDecl": {
        const kw = token(c, "Search");
        const decl: AstSearch = {
          kind: "search",
          keyword: kw ? this.tokenRange(kw) : range,
          header: nodes(c, "word").flatMap((w) => this.optionalExpr(w)),
          statements: this.recipeBody(node(c, "recipeBody"), true),
          range,
        };
        if (name) decl.model = name;
        return decl;
      }
      default:
        return undefined;
    }
  }

  private params(n: CstNode | undefined): AstParam[] {
    if (!n) return [];
    this.strayCommas(n, "param", "parameters");
    const out: AstParam[] = [];
    for (const p of nodes(n.children, "param")) {
      const range = this.nodeRange(p);
      const nameTok = token(p.children, "AnyName");
      if (!range || !nameTok) continue;
      if (RESERVED.has(nameTok.image)) {
        this.error("NN1017", `\`${nameTok.image}\` is a keyword, so it cannot name a parameter.`, this.tokenRange(nameTok), `Choose another name, e.g. \`${nameTok.image}s\` or \`n_${nameTok.image}\`.`);
      }
      const param: AstParam = { kind: "param", name: this.ident(nameTok), range };
      const e = node(p.children, "expr");
      const value = e ? this.expr(e) : undefined;
      if (value) param.default = value;
      out.push(param);
    }
    return out;
  }

  // --- model bodies --------------------------------------------------------------------
  /**
   * Items in source order. Between two items there must be `->` or a line break; an arrow
   * must have an item on both sides.
   */
  body(n: CstNode): AstItem[] {
    const c = n.children;
    const parts = inOrder(c["Arrow"], c["repeatItem"], c["residualItem"], c["statement"]);
    const items: AstItem[] = [];
    let prevItem: AstItem | undefined;
    let pendingArrow: IToken | undefined;
    let reportedDangling = false;
    for (const part of parts) {
      if (isToken(part)) {
        if (pendingArrow || !prevItem) {
          if (!reportedDangling) {
            this.error("NN1006", pendingArrow ? "Two arrows in a row: `->` needs a layer between them." : "This `->` has no layer before it.", this.tokenRange(part), pendingArrow ? "Remove one `->`, or put the missing layer between them." : "Remove the `->`, or put a layer before it.");
            reportedDangling = true;
          }
        }
        pendingArrow = part;
        continue;
      }
      const item = this.item(part);
      reportedDangling = false;
      if (!item) {
        pendingArrow = undefined;
        continue;
      }
      if (prevItem && !pendingArrow && item.range.start.line === prevItem.range.end.line) {
        this.error(
          "NN1005",
          `Two layers on one line need \`->\` between them, but nothing joins \`${itemLabel(prevItem)}\` and \`${itemLabel(item)}\`.`,
          item.kind === "layer" ? item.op.range : item.range,
          `Write \`${itemLabel(prevItem)} -> ${itemLabel(item)}\`, or put \`${itemLabel(item)}\` on a line of its own.`,
        );
      }
      items.push(item);
      prevItem = item;
      pendingArrow = undefined;
    }
    if (pendingArrow && !reportedDangling) {
      this.error("NN1006", "This `->` has no layer after it.", this.tokenRange(pendingArrow), "Remove the `->`, or add the layer it should lead to.");
    }
    return items;
  }

  /** An `item` (after `repeat N`) or one of its alternatives (in a body). */
  private item(n: CstNode): AstItem | undefined {
    switch (n.name) {
      case "repeatItem":
        return this.repeat(n);
      case "residualItem":
        return this.residual(n);
      case "statement":
        return this.layerStatement(n);
      case "item": {
        const c = n.children;
        const inner = node(c, "repeatItem") ?? node(c, "residualItem") ?? node(c, "statement");
        return inner ? this.item(inner) : undefined;
      }
      default:
        return undefined;
    }
  }

  private repeat(n: CstNode): AstItem | undefined {
    const range = this.nodeRange(n);
    const kw = token(n.children, "Repeat");
    if (!range || !kw) return undefined;
    const w = node(n.children, "word");
    const count = w ? this.expr(w) : undefined;
    const bodyNode = node(n.children, "body");
    const inner = node(n.children, "item");
    let body: AstItem[] = [];
    if (bodyNode) body = this.body(bodyNode);
    else if (inner) {
      const it = this.item(inner);
      if (it) body = [it];
    }
    if (!count) this.error("NN1008", "`repeat` needs a count, e.g. `repeat 3 { … }`.", endOf(this.tokenRange(kw)));
    const out: AstItem = { kind: "repeat", keyword: this.tokenRange(kw), body, range };
    if (count) out.count = count;
    return out;
  }

  private residual(n: CstNode): AstItem | undefined {
    const range = this.nodeRange(n);
    const kw = token(n.children, "Residual");
    if (!range || !kw) return undefined;
    const bodies = nodes(n.children, "body");
    const mainNode = bodies[0];
    const body = mainNode ? this.body(mainNode) : [];
    if (mainNode && body.length === 0 && this.nodeRange(mainNode) && token(mainNode.children, "RCurly")) {
      this.error("NN1016", "This `residual` has no layers: its output would be x + x.", this.nodeRange(mainNode)!, "Put the main path's layers inside the braces, e.g. `residual { conv 3x3x64 relu -> conv 3x3x64 }`.");
    }
    const out: AstItem = { kind: "residual", keyword: this.tokenRange(kw), body, range };
    const project = token(n.children, "Project");
    if (project) out.project = this.tokenRange(project);
    const skipTok = token(n.children, "Skip");
    if (skipTok) {
      out.skipKeyword = this.tokenRange(skipTok);
      out.skip = bodies[1] ? this.body(bodies[1]) : [];
    }
    return out;
  }

  /**
   * The words of a statement and the separators between them (`,`, and `=` and `:`, which
   * are read only to be reported), in source order.
   */
  private parts(n: CstNode): StatementPart[] {
    const out: StatementPart[] = [];
    for (const p of statementParts(n.children)) {
      if (isToken(p)) out.push({ kind: p.image === "=" ? "=" : p.image === ":" ? ":" : ",", range: this.tokenRange(p) });
      else {
        const e = this.expr(p);
        if (e) out.push({ kind: "word", expr: e });
      }
    }
    return out;
  }

  /** A statement in a model or block body: a layer, a lone activation or a block call. */
  private layerStatement(n: CstNode): AstItem | undefined {
    const range = this.nodeRange(n);
    const c = n.children;
    const headTok = firstToken(c["Ident"]);
    if (!range || !headTok) return undefined;
    const head = this.ident(headTok);
    const callArgsNode = firstNode(c["callArgs"]);
    if (!callArgsNode && (MERGE_WORDS.has(head.name) || head.name === "keep")) return head.name === "keep" ? this.keep(n, head, range) : this.merge(n, head, range);
    const bodyNode = firstNode(c["body"]);
    // The words, with what they report held back: a statement written as another library
    // writes it is one mistake, reported once as that.
    const { value: lowered, held } = this.held(() => ({ parts: this.parts(n), call: callArgsNode ? this.callArgs(callArgsNode) : undefined }));
    if (!bodyNode) {
      const callRange = callArgsNode ? this.nodeRange(callArgsNode) : undefined;
      const foreign = translateForeignLayer(head, lowered.call && callRange ? { args: lowered.call, range: callRange } : undefined, lowered.parts, range, this.blocks);
      if (foreign) {
        this.cover(range);
        readAsMeantAfter(this.error("NN1025", foreign.message, foreign.range, foreign.hint, foreign.replace ? [{ title: `Write \`${foreign.replace.text}\``, edits: [{ range: foreign.replace.range, newText: foreign.replace.text }] }] : undefined));
        return foreign.layer;
      }
      const spaced = this.spacedBlockCall(head, callArgsNode, lowered.parts, range);
      if (spaced) return spaced;
    }
    this.release(held);
    let parts = lowered.parts.filter((x) => x.kind !== "word" || !this.reported.has(x.expr));
    if (parts[0]?.kind === ":" && !bodyNode) {
      // `dense: 32 relu`, `input: 10`: YAML's colon after the head.
      this.headColon(head, parts[0].range, "layer");
      parts = parts.slice(1);
    }
    parts = this.unquoteWords(parts, head.name === "pretrained" ? () => true : (prev) => prev?.kind === "ref" && prev.name === "name");
    const raw: AstExpr[] = [];
    const commas: Range[] = [];
    let stray: { kind: "=" | ":"; range: Range } | undefined;
    for (const p of parts) {
      if (p.kind === "word") raw.push(p.expr);
      else if (p.kind === ",") commas.push(p.range);
      else stray ??= { kind: p.kind, range: p.range };
    }
    const comma = commas[0];
    let words = this.joinSpacedDims(raw);
    if (bodyNode) return this.misspeltKeyword(head, words, bodyNode, range);
    if (comma) {
      readAsMeantAfter(this.error("NN1014", "Layer words are separated by spaces, not commas.", comma, "Remove the comma; options follow the layer on the same line, e.g. `conv 3x3x64 relu same`.", [{ title: commas.length > 1 ? "Remove the commas" : "Remove the comma", edits: commas.map((range) => ({ range, newText: "" })) }]));
    }
    if (stray) {
      this.error("NN1003", `\`${stray.kind}\` has no place between a layer's words.`, stray.range, "A layer is its kind and words separated by spaces, e.g. `conv 3x3x64 relu same`; block arguments go in its parentheses: `basic(64, stride: 2)`.");
    }
    const info = LAYER_KINDS[head.name];
    if (info) {
      if (callArgsNode) {
        // `conv(3x3x32, relu)`: say where the values go, then read them as if written right.
        const r = this.nodeRange(callArgsNode) ?? head.range;
        words = [...(lowered.call ?? []).flatMap((a) => (a.value ? [a.value] : [])), ...words];
        const text = [head.name, ...words.map(exprSource)].join(" ");
        readAsMeantAfter(this.error("NN1015", `\`${head.name}\` takes its values after a space, not in parentheses.`, r, `Write \`${text}\`.`, [{ title: `Write \`${text}\``, edits: [{ range, newText: text }] }]));
      }
      return this.layer(head, info, words, range);
    }
    if (isActivation(head.name)) {
      const activation: AstActivation = { kind: "activation", name: head, args: lowered.call ?? [], range: callArgsNode ? this.span(head.range, this.nodeRange(callArgsNode) ?? head.range) : head.range };
      const layer: AstLayer = { kind: "layer", op: head, positional: [], options: {}, activation, range };
      this.layerOptions(layer, (loneActivation ??= { positional: [], options: { name: LAYER_KINDS.dense!.options.name!, frozen: LAYER_KINDS.dense!.options.frozen! }, activation: false, summary: "", example: "" }), words, head.name);
      return layer;
    }
    // Anything else is a block call; the checker resolves the name (and suggests a layer kind).
    if (words.length > 0) {
      const first = words[0]!;
      const last = words[words.length - 1]!;
      if (!callArgsNode) {
        this.report(
          unknownWord({
            code: "NN2001",
            message: `\`${head.name}\` is not a layer kind I know.`,
            word: head.name,
            range: head.range,
            candidates: [...Object.keys(LAYER_KINDS), ...Object.keys(ACTIVATIONS)],
            otherwise: `Layer kinds are ${Object.keys(LAYER_KINDS).map((k) => `\`${k}\``).join(", ")}; a block is called with parentheses, e.g. \`basic(64)\`.`,
          }),
        );
        // Kept as a layer nnc could not read: no shape after it (later layers are not blamed),
        // and the parameters its words use count as used.
        return { kind: "layer", op: head, positional: words, options: {}, range, unread: true };
      }
      const next = wordName(first);
      if (first.kind === "call-expr" || (next !== undefined && isLayerKind(next))) {
        // `basic(32) basic(32)`: a second layer on the line.
        this.error("NN1005", `\`${next}\` starts another layer: two layers on one line need \`->\` between them.`, first.kind === "call-expr" ? first.callee.range : first.range, `Write \`${head.name}(…) -> ${exprSource(first)}\`, or put it on a line of its own.`);
      } else {
        this.error("NN1015", `The block \`${head.name}\` takes its arguments in its parentheses, not after them.`, this.span(first.range, last.range), `Move them inside: \`${head.name}(…, ${exprSource(first)})\`.`);
      }
    }
    return { kind: "block-call", callee: head, args: lowered.call ?? [], range };
  }

  /**
   * `concat { a } { b } e1 name c1`: the branches in braces and the kept tensors by name, in the
   * order written; `name` names the merge layer.
   */
  private merge(n: CstNode, head: AstIdent, range: Range): AstItem {
    const op = head.name as AstMerge["op"];
    const found: { start: number; operand: AstMergeOperand }[] = [];
    for (const b of (n.children["body"] ?? []) as CstNode[]) {
      const r = this.nodeRange(b);
      if (r) found.push({ start: r.start.offset, operand: { kind: "branch", body: this.body(b), range: r } });
    }
    let name: AstIdent | undefined;
    const parts = this.parts(n);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.kind !== "word") {
        this.error("NN1003", `\`${p.kind}\` has no place between the branches of \`${op}\`.`, p.range, `Write the branches one after another: \`${op} { … } { … }\`.`);
        continue;
      }
      const e = p.expr;
      if (e.kind === "ref" && e.name === "name") {
        const next = parts[i + 1];
        if (next?.kind === "word" && next.expr.kind === "ref") {
          name = { kind: "ident", name: next.expr.name, range: next.expr.range };
          i++;
        } else this.error("NN1008", "`name` needs the layer's name, e.g. `name mixed1`.", e.range);
        continue;
      }
      if (e.kind === "ref") {
        found.push({ start: e.range.start.offset, operand: { kind: "kept", name: { kind: "ident", name: e.name, range: e.range }, range: e.range } });
        continue;
      }
      this.error("NN1003", `\`${exprSource(e)}\` is not a branch of \`${op}\`: a branch is \`{ layers }\`, or the name of a tensor kept with \`keep NAME\`.`, e.range, `For example: \`${op} { conv 1x1x64 relu } { conv 3x3x64 relu same }\`.`);
    }
    found.sort((a, b) => a.start - b.start);
    const operands = found.map((f) => f.operand);
    if (operands.length === 0) {
      const example = op === "multiply" ? "multiply { global avgpool -> dense 16 relu -> dense 64 sigmoid -> reshape 1x1x64 }" : op === "concat" ? "concat { conv 1x1x64 relu } { conv 3x3x64 relu same }" : "add { conv 3x3x64 same } { }";
      this.error("NN1008", `\`${op}\` needs what it joins: branches in braces, or tensors kept with \`keep NAME\`.`, head.range, `For example: \`${example}\`.`);
    }
    const item: AstMerge = { kind: "merge", op, keyword: head.range, operands, range };
    if (name) item.name = name;
    return item;
  }

  /** `keep e1`: one name. */
  private keep(n: CstNode, head: AstIdent, range: Range): AstItem {
    const item: AstKeep = { kind: "keep", keyword: head.range, range };
    const words = this.parts(n).flatMap((p) => (p.kind === "word" ? [p.expr] : []));
    const first = words[0];
    if (first?.kind === "ref") item.name = { kind: "ident", name: first.name, range: first.range };
    else this.error(first ? "NN1013" : "NN1008", first ? `\`keep\` takes a name for the tensor, not \`${exprSource(first)}\`.` : "`keep` needs a name for the tensor, e.g. `keep e1`.", first?.range ?? head.range, "Name it, then join it further on: `keep e1` … `concat e1`.");
    if (words.length > 1) this.error("NN1003", "`keep` takes one name.", words[1]!.range, "Keep one tensor per line.");
    for (const b of (n.children["body"] ?? []) as CstNode[]) this.error("NN1003", "`keep` takes no body.", this.nodeRange(b) ?? head.range);
    return item;
  }

  /**
   * `conv_bn (64)`: a block of this file called with a space before its parentheses, which
   * makes `(64)` a word of its own. Reported once, with the edit that removes the space, and
   * read as the call it is.
   */
  private spacedBlockCall(head: AstIdent, callArgsNode: CstNode | undefined, parts: readonly StatementPart[], range: Range): AstItem | undefined {
    if (callArgsNode || !this.blocks.has(head.name) || parts.length !== 1 || parts[0]!.kind !== "word") return undefined;
    const word = parts[0]!.expr;
    const args = this.parenArgs.get(word);
    if (!args) return undefined;
    const gap: Range = { start: head.range.end, end: word.range.start };
    this.cover(range);
    const written = this.lines.text.slice(word.range.start.offset, word.range.end.offset);
    readAsMeantAfter(this.error("NN1015", `The arguments of the block \`${head.name}\` go in parentheses touching its name; with a space, \`${written}\` is read as a value of its own.`, this.span(head.range, word.range), `Write \`${head.name}${written}\`.`, [{ title: "Remove the space", edits: [{ range: gap, newText: "" }] }]));
    return { kind: "block-call", callee: head, args, range };
  }

  /** `loss: crossentropy`, `dense: 32`: a colon after a statement's head (YAML's habit). */
  private headColon(head: AstIdent, colon: Range, what: "layer" | "setting"): void {
    // Part of one mistake when the whole body is written YAML-style (reported by parse()).
    if (this.context.indentedBodyLines?.has(colon.start.line)) return;
    readAsMeantAfter(this.error(
      "NN1033",
      what === "layer" ? `A layer has no colon after its kind: \`${head.name}\` is followed by its words.` : `A setting has no colon: \`${head.name}\` is followed by its value.`,
      colon,
      `Write \`${head.name} …\` without the colon.`,
      [{ title: "Remove the colon", edits: [{ range: colon, newText: "" }] }],
    ));
  }

  /**
   * Words written as strings (`'same'`, `"relu"`, `‘softmax’`): one error for the statement,
   * with the edits that remove the quotes, and the words read as words. `isStringSlot(prev)`
   * says where a string belongs (after `name`, for instance): those are left alone.
   */
  private unquoteWords(parts: StatementPart[], isStringSlot: (prev: AstExpr | undefined) => boolean): StatementPart[] {
    const quoted: number[] = [];
    parts.forEach((p, i) => {
      const prev = parts[i - 1];
      if (p.kind === "word" && p.expr.kind === "string" && WORD_LIKE.test(p.expr.value) && !isStringSlot(prev?.kind === "word" ? prev.expr : undefined)) quoted.push(i);
    });
    if (quoted.length === 0) return parts;
    const strings = quoted.map((i) => (parts[i] as { expr: AstExpr & { kind: "string" } }).expr);
    for (const str of strings) this.cover(str.range);
    const shown = strings.map((str) => `\`${exprSource(str)}\``);
    const names = strings.map((str) => `\`${str.value}\``);
    readAsMeantAfter(this.error(
      "NN1026",
      strings.length === 1 ? `${shown[0]} is a word, not a string: nnc writes it without quotes.` : `${shown.slice(0, -1).join(", ")} and ${shown[shown.length - 1]} are words, not strings: nnc writes them without quotes.`,
      this.span(strings[0]!.range, strings[strings.length - 1]!.range),
      `Write ${names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`} without quotes; quotes are for file paths and names, e.g. \`csv("iris.csv")\`.`,
      [{ title: "Remove the quotes", edits: strings.map((str) => ({ range: str.range, newText: str.value })) }],
    ));
    const out = [...parts];
    for (const i of quoted) {
      const str = (parts[i] as { expr: AstExpr & { kind: "string" } }).expr;
      out[i] = { kind: "word", expr: { kind: "ref", name: str.value, range: str.range } };
    }
    return out;
  }

  /**
   * `input 28 x 28 x 1`: dims written with spaces. Reported once, then read as `28x28x1` so
   * the rest of the model is still checked.
   */
  private joinSpacedDims(words: AstExpr[]): AstExpr[] {
    if (!words.some(isX)) return words;
    const out: AstExpr[] = [];
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (isSize(w) && isX(words[i + 1]) && isSize(words[i + 2])) {
        const parts: AstExpr[] = [w];
        let j = i;
        while (isX(words[j + 1]) && isSize(words[j + 2])) {
          parts.push(words[j + 2]!);
          j += 2;
        }
        const flat = parts.flatMap((p) => (p.kind === "dims" ? p.parts : [p]));
        const joined: AstExpr = { kind: "dims", parts: flat, range: this.span(w.range, words[j]!.range) };
        const source = flat.map((p) => exprSource(p)).join("x");
        this.error("NN1003", "Dimensions are written without spaces around the `x`.", joined.range, `Write \`${source}\`.`);
        out.push(joined);
        i = j;
        continue;
      }
      out.push(w);
    }
    return out;
  }

  /**
   * A word followed by a body: a misspelt `repeat` or `residual` (the only things with a
   * body), reported with a suggestion and read as the keyword it resembles; or a layer with a
   * body it cannot have.
   */
  private misspeltKeyword(head: AstIdent, words: AstExpr[], bodyNode: CstNode, range: Range): AstItem | undefined {
    const guess = closest(head.name, ["repeat", "residual"]);
    const body = this.body(bodyNode);
    if (guess !== undefined) this.report(unknownWord({ code: "NN2001", message: `\`${head.name}\` is not a keyword I know.`, word: head.name, range: head.range, candidates: ["repeat", "residual"] }));
    if (guess === "residual") {
      const project = words.find((w) => w.kind === "ref" && w.name === "project");
      const item: AstResidual = { kind: "residual", keyword: head.range, body, range };
      if (project) item.project = project.range;
      return item;
    }
    if (guess === "repeat") {
      const item: AstRepeat = { kind: "repeat", keyword: head.range, body, range };
      if (words[0]) item.count = words[0];
      return item;
    }
    this.error("NN1003", `\`${head.name}\` cannot take a body in \`{ }\`: only \`repeat N { … }\` and \`residual { … }\` do.`, this.nodeRange(bodyNode) ?? head.range, `Put the layers on lines of their own, or write \`repeat 2 { … }\`.`);
    return undefined;
  }

  private layer(head: AstIdent, info: LayerKindInfo, words: AstExpr[], range: Range): AstLayer {
    const layer: AstLayer = { kind: "layer", op: head, positional: info.positional.map(() => undefined), options: {}, range };
    this.layerOptions(layer, info, words, head.name);
    info.positional.forEach((p, i) => {
      if (!p.optional && layer.positional[i] === undefined) {
        this.error("NN1008", `\`${head.name}\` needs its ${p.name}: ${p.summary}.`, endOf(head.range), `For example: \`${info.example}\`.`);
      }
    });
    return layer;
  }

  /** Reads option words, activations and positional values of one layer. */
  private layerOptions(layer: AstLayer, info: LayerKindInfo, words: AstExpr[], kind: string): void {
    // A value-taking option followed by a flag or an activation is missing its value
    // (`stride same`); followed by anything else, that word is its value (`stride stride`).
    const optionOrActivation = (e: AstExpr | undefined): boolean => {
      const w = wordName(e);
      return w !== undefined && ((Object.hasOwn(info.options, w) && info.options[w]!.value === "flag") || (info.activation && isActivation(w)));
    };
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!;
      const name = wordName(word);
      if (name !== undefined && word.kind === "ref" && Object.hasOwn(info.options, name)) {
        const opt = info.options[name]!;
        const nameIdent: AstIdent = { kind: "ident", name, range: word.range };
        if (layer.options[name]) {
          this.error("NN1011", `\`${name}\` is given twice for this \`${kind}\`.`, word.range, "Keep one of them.");
        }
        const option: AstOption = { kind: "option", name: nameIdent, range: word.range };
        if (opt.value !== "flag") {
          const next = words[i + 1];
          if (next === undefined || (opt.value !== "name" && optionOrActivation(next))) {
            this.error("NN1010", `\`${name}\` needs a value: ${opt.summary}.`, endOf(word.range), `For example: \`${name} ${exampleValue(opt.value)}\`.`);
          } else {
            option.value = next;
            option.range = this.span(word.range, next.range);
            i++;
          }
        }
        layer.options[name] = option;
        continue;
      }
      if (name !== undefined && Object.hasOwn(LAYER_KINDS, name) && (word.kind === "ref" || word.kind === "call-expr")) {
        // `conv 3x3x8 relu pool 2`: a second layer on the line; its words are not ours.
        this.error("NN1005", `\`${name}\` starts another layer: two layers on one line need \`->\` between them.`, word.range, `Write \`${kind} … -> ${name} …\`, or put \`${name}\` on a line of its own.`);
        break;
      }
      if (name !== undefined && isActivation(name) && (word.kind === "ref" || word.kind === "call-expr")) {
        if (!info.activation) {
          this.error("NN1019", `\`${kind}\` takes no activation word.`, word.range, `Make it a layer of its own: \`${kind} … -> ${name}\`.`);
          continue;
        }
        if (layer.activation) {
          this.error("NN1018", `This \`${kind}\` already has the activation \`${layer.activation.name.name}\`.`, word.range, `A layer has one activation; for two in a row write \`-> ${name}\` as its own layer.`);
          continue;
        }
        const ident: AstIdent = word.kind === "ref" ? { kind: "ident", name, range: word.range } : word.callee;
        layer.activation = { kind: "activation", name: ident, args: word.kind === "call-expr" ? word.args : [], range: word.range };
        continue;
      }
      const slot = layer.positional.indexOf(undefined);
      if (slot >= 0 && !(word.kind === "ref" && isKnownWordElsewhere(word.name))) {
        layer.positional[slot] = word;
        continue;
      }
      if (name !== undefined && (word.kind === "ref" || word.kind === "call-expr")) {
        const options = Object.keys(info.options).map((x) => `\`${x}\``);
        const takes = options.length > 0 ? `\`${kind}\` takes the options ${options.join(", ")}${info.activation ? ", and an activation word (`relu`, `tanh`, …)" : ""}.` : `\`${kind}\` takes no options.`;
        const nameRange = word.kind === "call-expr" ? word.callee.range : word.range;
        if (name === "activation" && info.activation) {
          this.error("NN2002", `\`${name}\` is not an option of \`${kind}\`.`, nameRange, `Write the activation itself after the layer, e.g. \`${kind} … relu\`.`);
        } else {
          const candidates = [...Object.keys(info.options), ...(info.activation ? Object.keys(ACTIVATIONS) : [])];
          this.report(unknownWord({ code: "NN2002", message: `\`${name}\` is not an option of \`${kind}\`.`, word: name, range: nameRange, candidates, otherwise: takes }));
        }
        // The value an unknown option was given (`strides 2`) is part of the same mistake.
        const next = words[i + 1];
        const slotFree = layer.positional.some((p, k) => p === undefined && !info.positional[k]?.optional);
        if (next && !slotFree && next.kind !== "ref" && next.kind !== "call-expr") i++;
        continue;
      }
      const arity = info.positional.length;
      const prev = words[i - 1];
      const glued = word.kind === "number" && word.value < 0 && prev !== undefined && prev.range.end.offset === word.range.start.offset;
      this.error(
        "NN1009",
        arity === 0 ? `\`${kind}\` takes no values, but got \`${exprSource(word)}\`.` : `\`${kind}\` takes ${arity === 1 ? "one value" : `${arity} values`} (${info.positional.map((p) => p.name).join(", ")}), and \`${exprSource(word)}\` is one too many.`,
        word.range,
        glued ? `To subtract, use parentheses: \`(${exprSource(prev)}${exprSource(word)})\`; outside them \`-\` starts a negative number.` : `For example: \`${info.example}\`.`,
      );
    }
  }

  // --- recipes -------------------------------------------------------------------------
  private recipeBody(n: CstNode | undefined, search: boolean): (AstStatement | AstSearchVar)[] {
    if (!n) return [];
    const out: (AstStatement | AstSearchVar)[] = [];
    const c = n.children;
    for (const p of inOrder(c["statement"], c["searchVar"]) as readonly CstNode[]) {
      const range = this.nodeRange(p);
      const headTok = token(p.children, "Ident");
      if (!range || !headTok) continue;
      if (p.name === "searchVar") {
        const e = node(p.children, "expr");
        const dist = e ? this.expr(e) : undefined;
        if (!search) {
          this.error("NN1003", "`~` draws a value at random and belongs in a `search` block, not a `train` recipe.", range, `Give one value here (e.g. \`${headTok.image} 0.001\`) and move the range into \`search … { ${headTok.image} ~ … }\`.`);
          continue;
        }
        const v: AstSearchVar = { kind: "search-var", name: this.ident(headTok), range };
        if (dist) v.distribution = dist;
        out.push(v);
        continue;
      }
      const callArgsNode = node(p.children, "callArgs");
      if (callArgsNode) {
        this.error("NN1015", `\`${headTok.image}\` takes its values after a space, not in parentheses.`, this.nodeRange(callArgsNode) ?? range);
      }
      out.push(this.recipeStatement(this.ident(headTok), p, range, search));
    }
    return out;
  }

  /**
   * A recipe (or search) line: a head and its words, split into clauses at commas. Python's
   * `batch_size = 64` and YAML's `loss: crossentropy`, another library's optimizer
   * (`optim Adam(lr=0.001)`) and quoted words (`loss "mse"`) are each reported once and read
   * as what they mean.
   */
  private recipeStatement(head: AstIdent, p: CstNode, range: Range, search: boolean): AstStatement {
    const { value: lowered, held } = this.held(() => this.parts(p));
    let parts = lowered.filter((x) => x.kind !== "word" || !this.reported.has(x.expr));
    let drop = new Set<Diagnostic>();
    const sep = parts[0];
    if (sep && (sep.kind === "=" || sep.kind === ":")) {
      parts = parts.slice(1);
      const settings = search ? SEARCH_SETTINGS : RECIPE_SETTINGS;
      const alias = ALIASES[head.name.toLowerCase()];
      const setting = Object.hasOwn(settings, head.name) ? head.name : alias !== undefined && Object.hasOwn(settings, alias) ? alias : undefined;
      const text = [setting ?? head.name, ...parts.map((x) => (x.kind === "word" ? exprSource(x.expr) : x.kind))].join(" ").replace(/ ,/g, ",");
      const whole = this.span(head.range, parts.length > 0 ? partRange(parts[parts.length - 1]!) : sep.range);
      if (sep.kind === "=") {
        // The `=` of named arguments on the same line is the same habit: one error says it all.
        drop = new Set(held.filter((d) => this.equalsDiagnostics.has(d)));
        this.cover(whole);
        readAsMeantAfter(this.error("NN1025", `\`${head.name} =\` is Python's assignment; a setting takes its value after a space: \`${text}\`.`, this.span(head.range, sep.range), `Write \`${text}\`.`, [{ title: `Write \`${text}\``, edits: [{ range: whole, newText: text }] }]));
      } else if (!this.context.indentedBodyLines?.has(sep.range.start.line)) {
        readAsMeantAfter(this.error("NN1033", `A setting has no colon: \`${setting ?? head.name}\` is followed by its value.`, sep.range, `Write \`${text}\`.`, [{ title: `Write \`${text}\``, edits: [{ range: whole, newText: text }] }]));
      }
      if (setting !== undefined && setting !== head.name) head = { ...head, name: setting };
    }
    // Another library's loss (`loss 'categorical_crossentropy'`, `loss nn.CrossEntropyLoss()`)
    // is one mistake, quotes and all.
    const loss = head.name === "loss" ? translateLoss({ kind: "statement", head, clauses: [parts.flatMap((x) => (x.kind === "word" ? [x.expr] : []))], range }) : undefined;
    if (loss && parts.every((x) => x.kind === "word")) {
      this.cover(range);
      readAsMeantAfter(this.error("NN1025", loss.message, loss.range, loss.hint, loss.replace ? [{ title: `Write \`${loss.replace.text}\``, edits: [{ range: loss.replace.range, newText: loss.replace.text }] }] : undefined));
      this.release(held.filter((d) => !drop.has(d)));
      return loss.statement;
    }
    if (head.name !== "pretrained") parts = this.unquoteWords(parts, () => false);
    const clauses: AstExpr[][] = [[]];
    let stray: StatementPart | undefined;
    for (const x of parts) {
      if (x.kind === "word") clauses[clauses.length - 1]!.push(x.expr);
      else if (x.kind === ",") clauses.push([]);
      else stray ??= x;
    }
    let statement: AstStatement = { kind: "statement", head, clauses, range };
    const optimizer = translateOptimizer(statement, this.equalsArgs);
    if (optimizer) {
      // Its `lr=` and `betas=(0.9, 0.999)` are part of the one mistake reported.
      for (const d of held) if (this.equalsDiagnostics.has(d) || d.code === "NN1036") drop.add(d);
      this.cover(range);
      readAsMeantAfter(this.error(optimizer.code, optimizer.message, optimizer.range, optimizer.hint, optimizer.replace ? [{ title: `Write \`${optimizer.replace.text}\``, edits: [{ range: optimizer.replace.range, newText: optimizer.replace.text }] }] : undefined));
      statement = optimizer.statement;
    }
    this.release(held.filter((d) => !drop.has(d)));
    if (stray && stray.kind !== "word") {
      this.error("NN1003", `\`${stray.kind}\` has no place in a setting.`, stray.range, `A setting is its name and words separated by spaces, e.g. \`${(search ? SEARCH_SETTINGS : RECIPE_SETTINGS)[head.name]?.example ?? "epochs 20"}\`.`);
    }
    return statement;
  }

  // --- expressions -------------------------------------------------------------------
  callArgs(n: CstNode | undefined): AstArg[] {
    if (!n) return [];
    this.strayCommas(n, "arg", "arguments");
    const out: AstArg[] = [];
    for (const a of nodes(n.children, "arg")) {
      const arg = this.arg(a);
      if (arg) out.push(arg);
    }
    return out;
  }

  /** One argument: `0.9`, `stride: 2` (or Python's `stride=2`, reported). */
  private arg(a: CstNode): AstArg | undefined {
    const range = this.nodeRange(a);
    if (!range) return undefined;
    const arg: AstArg = { kind: "arg", range };
    const nameTok = token(a.children, "AnyName");
    if (nameTok) arg.name = this.ident(nameTok);
    const e = node(a.children, "expr");
    const value = e ? this.expr(e) : undefined;
    if (value) arg.value = value;
    const equals = token(a.children, "Equals");
    if (equals && nameTok) {
      this.equalsArgs.add(arg);
      const r = this.tokenRange(equals);
      const d = readAsMeantAfter(this.error("NN1003", `Named arguments take \`:\`, not \`=\`.`, r, `Write \`${nameTok.image}: ${value ? exprSource(value) : "…"}\`.`, [{ title: "Write `:`", edits: [{ range: r, newText: ": " }] }]));
      this.equalsDiagnostics.add(d);
    }
    return arg;
  }

  /**
   * `(a, b,)` or `(a,, b)`: a comma with nothing after it (or before it), in parameters or
   * arguments. One error for the first, with the edit that removes it.
   */
  private strayCommas(n: CstNode, item: "arg" | "param", what: string): void {
    const commas = n.children["Comma"] as IToken[] | undefined;
    if (!commas) return;
    const starts = nodes(n.children, item).map((x) => startOf(x)).filter((x) => !Number.isNaN(x));
    const close = firstToken(n.children["RParen"]);
    for (let i = 0; i < commas.length; i++) {
      const comma = commas[i]!;
      if (isRecovered(comma)) continue;
      const next = commas[i + 1]?.startOffset ?? close?.startOffset ?? Infinity;
      const prev = i > 0 ? commas[i - 1]!.startOffset : -1;
      const after = starts.some((x) => x > comma.startOffset && x < next);
      const before = starts.some((x) => x < comma.startOffset && x > prev);
      if (after && before) continue;
      const r = this.tokenRange(comma);
      const last = !after && i === commas.length - 1;
      readAsMeantAfter(this.error(
        "NN1032",
        last ? `This comma ends the ${what} with nothing after it.` : !before ? `This comma has nothing before it.` : "Two commas in a row: a value is missing between them, or one comma is too many.",
        r,
        last ? "Remove it: a list ends with its last item, without a trailing comma." : "Remove it, or put the missing value here.",
        [{ title: "Remove the comma", edits: [{ range: r, newText: "" }] }],
      ));
      return;
    }
  }

  private optionalExpr(n: CstNode): AstExpr[] {
    const e = this.expr(n);
    return e ? [e] : [];
  }

  /**
   * Lowers a `word` or an `expr`: terms joined by flat operators, to which precedence is
   * applied here: `x` (dims) loosest, then `+` and `-`, then `*` and `/`, all
   * left-associative. Every term is lowered (for its diagnostics) even when one fails, which
   * makes the whole value undefined.
   */
  expr(n: CstNode): AstExpr | undefined {
    const c = n.children;
    const terms = c["term"] as CstNode[] | undefined;
    if (terms === undefined || terms.length === 0) return undefined;
    const first = this.term(terms[0]!);
    if (terms.length === 1) return first;
    const ops = operators(c);
    let failed = first === undefined;
    let parts: AstExpr[] | undefined; // dims, once an `x` is seen
    let sum: AstExpr | undefined; // the sum so far, waiting for `prod`
    let sumOp: "+" | "-" = "+";
    let prod = first!; // the product so far
    for (let i = 1; i < terms.length; i++) {
      const right = this.term(terms[i]!);
      if (right === undefined) failed = true;
      if (failed) continue;
      const op = ops[i - 1]?.image ?? "*";
      if (op === "*" || op === "/") {
        prod = { kind: "binary", op, left: prod, right: right!, range: this.span(prod.range, right!.range) };
      } else if (op === "+" || op === "-") {
        sum = sum === undefined ? prod : { kind: "binary", op: sumOp, left: sum, right: prod, range: this.span(sum.range, prod.range) };
        sumOp = op;
        prod = right!;
      } else {
        (parts ??= []).push(sum === undefined ? prod : { kind: "binary", op: sumOp, left: sum, right: prod, range: this.span(sum.range, prod.range) });
        sum = undefined;
        prod = right!;
      }
    }
    if (failed) return undefined;
    const last: AstExpr = sum === undefined ? prod : { kind: "binary", op: sumOp, left: sum, right: prod, range: this.span(sum.range, prod.range) };
    if (parts === undefined) return last;
    parts.push(last);
    return { kind: "dims", parts, range: this.span(parts[0]!.range, last.range) };
  }

  /** A term: `-` and a term, or an atom (a number, string, name, call or `( expr )`). */
  private term(n: CstNode): AstExpr | undefined {
    const c = n.children;
    const minus = firstToken(c["Minus"]);
    if (minus === undefined) return this.atom(c);
    const inner = firstNode(c["term"]);
    const operand = inner ? this.term(inner) : undefined;
    if (!operand) return undefined;
    const range = this.span(this.tokenRange(minus), operand.range);
    if (operand.kind === "number") return { kind: "number", value: -operand.value, raw: "-" + operand.raw, range };
    return { kind: "unary", op: "-", operand, range };
  }

  /**
   * `(3, 3)`, `(784,)`: Python's tuple, reported and read as dimensions (`3x3`, `784`); or
   * `(64, stride: 2)`, the arguments of a block written after a space (which the statement
   * reads: see `spacedBlockCall`). Its arguments are kept in `parenArgs` either way.
   */
  private tuple(c: Children, argNodes: CstNode[]): AstExpr | undefined {
    const open = firstToken(c["LParen"]);
    const close = firstToken(c["RParen"]);
    const args: AstArg[] = [];
    let failed = false;
    for (const a of argNodes) {
      const arg = this.arg(a);
      if (arg?.value) args.push(arg);
      else failed = true;
    }
    if (failed || args.length === 0 || !open) return undefined;
    const range = this.span(this.tokenRange(open), close ? this.tokenRange(close) : args[args.length - 1]!.range);
    const out: AstExpr = { kind: "dims", parts: args.map((a) => a.value!), range, tuple: true };
    this.parenArgs.set(out, args);
    const named = args.find((a) => a.name);
    if (named) {
      this.error("NN1036", "Names with values go in a call's parentheses, touching its name: `basic(64, stride: 2)`.", named.name!.range, "A value in parentheses of its own is one number or a sum, e.g. `dense (c+1)`.");
      // Kept only for a block call written with a space (`spacedBlockCall`); dropped otherwise.
      this.reported.add(out);
      return out;
    }
    const text = args.map((a) => exprSource(a.value!)).join("x");
    readAsMeantAfter(this.error("NN1036", `\`${exprSource(out)}\` is a Python tuple; nnc writes sizes with \`x\`: \`${text}\`.`, range, `Write \`${text}\`.`, [{ title: `Write \`${text}\``, edits: [{ range, newText: text }] }]));
    return out;
  }

  private atom(c: Children): AstExpr | undefined {
    const num = firstToken(c["Number"]);
    if (num) {
      const value = Number(num.image);
      if (!Number.isFinite(value)) {
        this.error("NN1020", `The number \`${num.image.slice(0, 30)}\` is too large.`, this.tokenRange(num), "Numbers must fit in a 64-bit float (below about 1.8e308).");
        return undefined;
      }
      return { kind: "number", value, raw: num.image, range: this.tokenRange(num) };
    }
    const str = firstToken(c["String"]);
    if (str) {
      const out: AstString = { kind: "string", value: unquote(str.image), range: this.tokenRange(str) };
      const quote = this.context.quotes?.get(str.startOffset);
      if (quote) out.quote = quote;
      return out;
    }
    const id = firstToken(c["Ident"]);
    if (id) {
      const args = firstNode(c["callArgs"]);
      if (args) {
        const r = this.nodeRange(args);
        return { kind: "call-expr", callee: this.ident(id), args: this.callArgs(args), range: r ? this.span(this.tokenRange(id), r) : this.tokenRange(id) };
      }
      return { kind: "ref", name: id.image, range: this.tokenRange(id) };
    }
    // A parenthesised expression: its range takes in the parentheses (as far as they were
    // read: a missing `)` leaves the range at the end of what is inside).
    const argNodes = c["arg"] as CstNode[] | undefined;
    if (argNodes !== undefined && (argNodes.length > 1 || c["Comma"] !== undefined || token((argNodes[0] as CstNode).children, "AnyName"))) return this.tuple(c, argNodes);
    const innerArg = firstNode(argNodes);
    const inner = innerArg ? firstNode(innerArg.children["expr"]) : undefined;
    const e = inner ? this.expr(inner) : undefined;
    const open = firstToken(c["LParen"]);
    if (e !== undefined) this.parenArgs.set(e, [{ kind: "arg", value: e, range: e.range }]);
    if (e === undefined || open === undefined) return e;
    let end: Child = open;
    const close = firstToken(c["RParen"]);
    if (inner !== undefined && endOffsetOf(inner) > endOffsetOf(open)) end = inner;
    if (close !== undefined && (close.endOffset ?? NaN) > endOffsetOf(end)) end = close;
    const endRange = isToken(end) ? this.tokenRange(end) : this.nodeRange(end);
    if (endRange) e.range = this.span(this.tokenRange(open), endRange);
    return e;
  }
}

function partRange(p: StatementPart): Range {
  return p.kind === "word" ? p.expr.range : p.range;
}

function endOffsetOf(x: Child): number {
  const end = isToken(x) ? x.endOffset : x.location?.endOffset;
  return end !== undefined && end >= 0 ? end : NaN;
}

/** The operator tokens of a `word` or `expr` node in source order. */
function operators(c: Children): readonly IToken[] {
  let only: IToken[] | undefined;
  let merged: IToken[] | undefined;
  for (const list of [c["Plus"], c["Minus"], c["Star"], c["Slash"], c["DimX"]] as (IToken[] | undefined)[]) {
    if (list === undefined) continue;
    if (only === undefined) only = list;
    else (merged ??= [...only]).push(...list);
  }
  if (merged !== undefined) return merged.sort(byStart);
  return only ?? NONE;
}

function isX(e: AstExpr | undefined): boolean {
  return e?.kind === "ref" && e.name === "x";
}
function isSize(e: AstExpr | undefined): boolean {
  return e !== undefined && (e.kind === "number" || e.kind === "binary" || e.kind === "dims");
}

function unquote(image: string): string {
  const body = image.slice(1, -1);
  return body.replace(/\\(.)/g, (_, ch: string) => (ch === "n" ? "\n" : ch === "t" ? "\t" : ch));
}

function wordName(e: AstExpr | undefined): string | undefined {
  if (!e) return undefined;
  if (e.kind === "ref") return e.name;
  if (e.kind === "call-expr") return e.callee.name;
  return undefined;
}

/** A word that is an activation or a layer kind: never a parameter reference. */
function isKnownWordElsewhere(name: string): boolean {
  return isActivation(name) || Object.hasOwn(LAYER_KINDS, name);
}

function exampleValue(v: string): string {
  switch (v) {
    case "pair":
      return "2";
    case "integer":
      return "32";
    case "name":
      return "conv1";
    case "init":
      return "he_normal";
    default:
      return "1e-4";
  }
}

export function itemLabel(item: AstItem): string {
  switch (item.kind) {
    case "layer":
      return item.op.name;
    case "block-call":
      return `${item.callee.name}(…)`;
    case "repeat":
      return "repeat";
    case "residual":
      return "residual";
    case "merge":
      return item.op;
    case "keep":
      return "keep";
  }
}

/** The head words of merges: `concat { … } { … }`, `add …`, `multiply …`. */
export const MERGE_WORDS: ReadonlySet<string> = new Set(["concat", "add", "multiply"]);

export const RESERVED = new Set<string>(KEYWORDS);
