/**
 * CST → AST. Turns Chevrotain's concrete syntax tree into the project's typed AST with exact
 * ranges, and reads each layer's words against the vocabulary (which word is the kernel,
 * which is an option, which the activation). Reports problems as diagnostics; never throws.
 */
import type { CstNode, IToken } from "chevrotain";
import { diag, endOf, type Diagnostic, type Fix, type LineMap, type Range } from "../diagnostics/diagnostic.js";
import { closest, replaceFix } from "../diagnostics/suggest.js";
import { ACTIVATIONS, KEYWORDS, LAYER_KINDS, isActivation, isLayerKind, type LayerKindInfo } from "../language/vocabulary.js";
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
  AstSearch,
  AstSearchVar,
  AstStatement,
  AstTrain,
} from "./ast.js";

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
  if (commas === undefined) return words ?? NONE;
  return inOrder(words, commas);
}

function byStart(a: Child, b: Child): number {
  return startOf(a) - startOf(b);
}

/** What a lone activation (`-> relu name act1`) takes: the options every layer has. */
let loneActivation: LayerKindInfo | undefined;

export class Lowering {
  readonly diagnostics: Diagnostic[] = [];
  constructor(private readonly lines: LineMap) {}

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
  private error(code: Parameters<typeof diag>[0], message: string, range: Range, hint?: string, fixes?: Fix[]): void {
    this.diagnostics.push(diag(code, message, range, hint === undefined ? { fixes } : { hint, fixes }));
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

  /** Words of a statement in source order, split into clauses at commas. */
  private statementClauses(n: CstNode): AstExpr[][] {
    const clauses: AstExpr[][] = [[]];
    for (const p of statementParts(n.children)) {
      if (isToken(p)) clauses.push([]);
      else {
        const e = this.expr(p);
        if (e) clauses[clauses.length - 1]!.push(e);
      }
    }
    return clauses;
  }

  /** A statement in a model or block body: a layer, a lone activation or a block call. */
  private layerStatement(n: CstNode): AstItem | undefined {
    const range = this.nodeRange(n);
    const c = n.children;
    const headTok = firstToken(c["Ident"]);
    if (!range || !headTok) return undefined;
    const head = this.ident(headTok);
    const callArgsNode = firstNode(c["callArgs"]);
    // The words in source order; a comma between them is an error reported below.
    const raw: AstExpr[] = [];
    let comma: IToken | undefined;
    for (const p of statementParts(n.children)) {
      if (isToken(p)) comma ??= p;
      else {
        const e = this.expr(p);
        if (e) raw.push(e);
      }
    }
    let words = this.joinSpacedDims(raw);
    const bodyNode = firstNode(c["body"]);
    if (bodyNode) return this.misspeltKeyword(head, words, bodyNode, range);
    if (comma) {
      this.error("NN1014", "Layer words are separated by spaces, not commas.", this.tokenRange(comma), "Remove the comma; options follow the layer on the same line, e.g. `conv 3x3x64 relu same`.");
    }
    const info = LAYER_KINDS[head.name];
    if (info) {
      if (callArgsNode) {
        // `conv(3x3x32, relu)`: say where the values go, then read them as if written right.
        const r = this.nodeRange(callArgsNode) ?? head.range;
        words = [...this.callArgs(callArgsNode).flatMap((a) => (a.value ? [a.value] : [])), ...words];
        this.error("NN1015", `\`${head.name}\` takes its values after a space, not in parentheses.`, r, `Write \`${[head.name, ...words.map(exprSource)].join(" ")}\`.`);
      }
      return this.layer(head, info, words, range);
    }
    if (isActivation(head.name)) {
      const activation: AstActivation = { kind: "activation", name: head, args: this.callArgs(callArgsNode), range: callArgsNode ? this.span(head.range, this.nodeRange(callArgsNode) ?? head.range) : head.range };
      const layer: AstLayer = { kind: "layer", op: head, positional: [], options: {}, activation, range };
      this.layerOptions(layer, (loneActivation ??= { positional: [], options: { name: LAYER_KINDS.dense!.options.name!, frozen: LAYER_KINDS.dense!.options.frozen! }, activation: false, summary: "", example: "" }), words, head.name);
      return layer;
    }
    // Anything else is a block call; the checker resolves the name (and suggests a layer kind).
    if (words.length > 0) {
      const first = words[0]!;
      const last = words[words.length - 1]!;
      if (!callArgsNode) {
        const guess = closestLayer(head.name);
        this.error("NN2001", `\`${head.name}\` is not a layer kind I know.`, head.range, suggestLayer(head.name), replaceFix(guess, head.range));
        return undefined;
      }
      const next = wordName(first);
      if (first.kind === "call-expr" || (next !== undefined && isLayerKind(next))) {
        // `basic(32) basic(32)`: a second layer on the line.
        this.error("NN1005", `\`${next}\` starts another layer: two layers on one line need \`->\` between them.`, first.kind === "call-expr" ? first.callee.range : first.range, `Write \`${head.name}(…) -> ${exprSource(first)}\`, or put it on a line of its own.`);
      } else {
        this.error("NN1015", `The block \`${head.name}\` takes its arguments in its parentheses, not after them.`, this.span(first.range, last.range), `Move them inside: \`${head.name}(…, ${exprSource(first)})\`.`);
      }
    }
    return { kind: "block-call", callee: head, args: this.callArgs(callArgsNode), range };
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
    if (guess === "residual") {
      this.error("NN2001", `\`${head.name}\` is not a keyword I know.`, head.range, "Did you mean `residual`?", replaceFix(guess, head.range));
      const project = words.find((w) => w.kind === "ref" && w.name === "project");
      const item: AstResidual = { kind: "residual", keyword: head.range, body, range };
      if (project) item.project = project.range;
      return item;
    }
    if (guess === "repeat") {
      this.error("NN2001", `\`${head.name}\` is not a keyword I know.`, head.range, "Did you mean `repeat`?", replaceFix(guess, head.range));
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
        const candidates = [...Object.keys(info.options), ...(info.activation ? Object.keys(ACTIVATIONS) : [])];
        const guess = closest(name, candidates);
        const options = Object.keys(info.options).map((x) => `\`${x}\``);
        const takes = options.length > 0 ? `\`${kind}\` takes the options ${options.join(", ")}${info.activation ? ", and an activation word (`relu`, `tanh`, …)" : ""}.` : `\`${kind}\` takes no options.`;
        const hint = name === "activation" && info.activation ? `Write the activation itself after the layer, e.g. \`${kind} … relu\`.` : guess ? `Did you mean \`${guess}\`?` : takes;
        const nameRange = word.kind === "call-expr" ? word.callee.range : word.range;
        this.error("NN2002", `\`${name}\` is not an option of \`${kind}\`.`, nameRange, hint, name === "activation" && info.activation ? undefined : replaceFix(guess, nameRange));
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
      out.push({ kind: "statement", head: this.ident(headTok), clauses: this.statementClauses(p), range });
    }
    return out;
  }

  // --- expressions -------------------------------------------------------------------
  callArgs(n: CstNode | undefined): AstArg[] {
    if (!n) return [];
    const out: AstArg[] = [];
    for (const a of nodes(n.children, "arg")) {
      const range = this.nodeRange(a);
      if (!range) continue;
      const arg: AstArg = { kind: "arg", range };
      const nameTok = token(a.children, "AnyName");
      if (nameTok) arg.name = this.ident(nameTok);
      const e = node(a.children, "expr");
      const value = e ? this.expr(e) : undefined;
      if (value) arg.value = value;
      const equals = token(a.children, "Equals");
      if (equals && nameTok) {
        this.error("NN1003", `Named arguments take \`:\`, not \`=\`.`, this.tokenRange(equals), `Write \`${nameTok.image}: ${value ? exprSource(value) : "…"}\`.`);
      }
      out.push(arg);
    }
    return out;
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
    if (str) return { kind: "string", value: unquote(str.image), range: this.tokenRange(str) };
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
    const inner = firstNode(c["expr"]);
    const e = inner ? this.expr(inner) : undefined;
    const open = firstToken(c["LParen"]);
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

function closestLayer(name: string): string | undefined {
  return closest(name, [...Object.keys(LAYER_KINDS), ...Object.keys(ACTIVATIONS)]);
}

function suggestLayer(name: string): string {
  const guess = closestLayer(name);
  return guess ? `Did you mean \`${guess}\`?` : `Layer kinds are ${Object.keys(LAYER_KINDS).map((k) => `\`${k}\``).join(", ")}; a block is called with parentheses, e.g. \`basic(64)\`.`;
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

/** A short source-like rendering of an expression for messages. */
export function exprSource(e: AstExpr): string {
  switch (e.kind) {
    case "number":
      return e.raw;
    case "string":
      return JSON.stringify(e.value);
    case "ref":
      return e.name;
    case "call-expr":
      return `${e.callee.name}(${e.args.map((a) => (a.name ? `${a.name.name}: ` : "") + (a.value ? exprSource(a.value) : "")).join(", ")})`;
    case "dims":
      return e.parts.map((p) => (p.kind === "binary" ? `(${exprSource(p)})` : exprSource(p))).join("x");
    case "binary": {
      // Parenthesise a child that binds more loosely (or equally, on the right of - and /).
      const prec = (op: string): number => (op === "+" || op === "-" ? 1 : 2);
      const wrap = (child: AstExpr, right: boolean): string => {
        const src = exprSource(child);
        if (child.kind !== "binary") return src;
        const looser = prec(child.op) < prec(e.op) || (right && prec(child.op) === prec(e.op) && (e.op === "-" || e.op === "/"));
        return looser ? `(${src})` : src;
      };
      return `${wrap(e.left, false)}${e.op}${wrap(e.right, true)}`;
    }
    case "unary":
      return `-${exprSource(e.operand)}`;
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
  }
}

export const RESERVED = new Set<string>(KEYWORDS);
