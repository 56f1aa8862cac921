/**
 * What the language server knows about one version of a document: the pipeline's result
 * (`checkText`, the same as `nnc check`), every name written in it with what it refers to,
 * and the checked layers by the place they are written. Built once per version and read by
 * every request; the server keeps one per document (src/lsp/server.ts).
 *
 * Memory: a megabyte of spec is ~65,000 layers, and its analysis ~100–150 MB of heap. So an
 * analysis keeps only the diagnostics the editor gets (`analyse`'s `keepDiagnostics`; an
 * error on every line is otherwise ~45 MB of them), and the indexes by place (names,
 * layers, block calls) are built on first use: a sorted array searched by binary search,
 * not a map keyed by strings (20 MB for those 65,000 layers).
 */
import type { Range } from "../diagnostics/diagnostic.js";
import { childBodies, type AstArg, type AstBlock, type AstDeclaration, type AstExpr, type AstItem, type AstLayer, type AstModel } from "../parser/index.js";
import { checkText, type PipelineResult } from "../pipeline.js";
import type { CheckedLayer, CheckedProgram } from "../typecheck/index.js";
import { containsOffset, rangeKey } from "./convert.js";

/** A name in the text: a model, a block, a parameter of one of them, or a tensor kept with `keep`. */
export interface Occurrence {
  /**
   * What it refers to: `decl:NAME` for models and blocks, `param:I:NAME` for a parameter of
   * declaration I, `kept:I:NAME` for the tensors kept as NAME in declaration I (its `keep NAME`
   * lines are the declarations, the merges that join NAME the references).
   */
  key: string;
  name: string;
  kind: "model" | "block" | "param" | "kept";
  range: Range;
  declaration: boolean;
}

/** A checked layer and the model it belongs to. */
export interface Instance {
  model: string;
  layer: CheckedLayer;
}

/** The layers one block call expanded to, in one model (a repeated call gives several runs). */
export interface Expansion {
  model: string;
  layers: CheckedLayer[];
}

export interface Analysis {
  text: string;
  /** The pipeline's result; its `diagnostics` are the first `keepDiagnostics` only (see `diagnosticCount`). */
  result: PipelineResult;
  /** How many diagnostics the pipeline found. */
  diagnosticCount: number;
  /** Every name written in the text (built on first use). */
  readonly occurrences: Occurrence[];
  /** Every checked layer, sorted by the range of the spec it comes from (built on first use; see `instancesAt`). */
  readonly instances: readonly Instance[];
  /** Block call ranges (`rangeKey`) → what each call expanded to (built on first use). */
  readonly expansions: ReadonlyMap<string, Expansion[]>;
  /** Milliseconds the pipeline took. */
  checkMs: number;
}

/** Checks `text`, keeping at most `keepDiagnostics` of its diagnostics (the first ones). */
export function analyse(text: string, keepDiagnostics = Infinity): Analysis {
  const t0 = performance.now();
  const full = checkText(text);
  const checkMs = performance.now() - t0;
  const diagnosticCount = full.diagnostics.length;
  const result: PipelineResult = diagnosticCount > keepDiagnostics ? { ...full, diagnostics: full.diagnostics.slice(0, keepDiagnostics) } : full;
  let occurrences: Occurrence[] | undefined;
  let instances: Instance[] | undefined;
  let expansions: Map<string, Expansion[]> | undefined;
  return {
    text,
    result,
    diagnosticCount,
    checkMs,
    get occurrences() {
      return (occurrences ??= collectOccurrences(result.ast.declarations));
    },
    get instances() {
      return (instances ??= sortedInstances(result.program));
    },
    get expansions() {
      return (expansions ??= expansionsByCall(result.program));
    },
  };
}

/** Every layer of every model, by its range in the text; in the program's order where ranges are equal (the sort is stable). */
function sortedInstances(program: CheckedProgram): Instance[] {
  const out: Instance[] = [];
  for (const m of program.models) for (const layer of m.layers) out.push({ model: m.name, layer });
  return out.sort((x, y) => compareRanges(x.layer.range, y.layer.range));
}

function compareRanges(x: Range, y: Range): number {
  return x.start.offset - y.start.offset || x.end.offset - y.end.offset;
}

/** The checked layers written at exactly `r` (several where a block or `repeat` expands it), in the program's order. */
export function instancesAt(a: Analysis, r: Range): Instance[] {
  const all = a.instances;
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareRanges(all[mid]!.layer.range, r) < 0) lo = mid + 1;
    else hi = mid;
  }
  const out: Instance[] = [];
  for (let i = lo; i < all.length && compareRanges(all[i]!.layer.range, r) === 0; i++) out.push(all[i]!);
  return out;
}

function expansionsByCall(program: CheckedProgram): Map<string, Expansion[]> {
  const expansions = new Map<string, Expansion[]>();
  for (const m of program.models) {
    const open = new Map<string, { run: Expansion; last: number }>();
    m.layers.forEach((layer, i) => {
      for (const c of layer.calls ?? []) {
        const ck = rangeKey(c);
        const current = open.get(ck);
        if (current && current.last === i - 1) {
          current.run.layers.push(layer);
          current.last = i;
          continue;
        }
        const run: Expansion = { model: m.name, layers: [layer] };
        open.set(ck, { run, last: i });
        let runs = expansions.get(ck);
        if (!runs) expansions.set(ck, (runs = []));
        runs.push(run);
      }
    });
  }
  return expansions;
}

// ---------------------------------------------------------------------------------------
// Names and what they refer to

function collectOccurrences(declarations: AstDeclaration[]): Occurrence[] {
  const out: Occurrence[] = [];
  // The first declaration of a name is the one the checker uses.
  const declIndex = new Map<string, number>();
  declarations.forEach((d, i) => {
    if ((d.kind === "model" || d.kind === "block") && d.name && !declIndex.has(d.name.name)) declIndex.set(d.name.name, i);
  });
  const paramKey = (declName: string, param: string): string | undefined => {
    const i = declIndex.get(declName);
    if (i === undefined) return undefined;
    const d = declarations[i] as AstModel | AstBlock;
    return d.params.some((p) => p.name.name === param) ? `param:${i}:${param}` : undefined;
  };
  const kindOf = (name: string): "model" | "block" => (declarations[declIndex.get(name) ?? -1]?.kind === "model" ? "model" : "block");

  declarations.forEach((d, i) => {
    switch (d.kind) {
      case "model":
      case "block": {
        if (d.name) out.push({ key: `decl:${d.name.name}`, name: d.name.name, kind: d.kind, range: d.name.range, declaration: true });
        const scope = new Map<string, string>();
        for (const p of d.params) {
          const key = `param:${i}:${p.name.name}`;
          if (!scope.has(p.name.name)) scope.set(p.name.name, key);
          out.push({ key, name: p.name.name, kind: "param", range: p.name.range, declaration: true });
        }
        for (const p of d.params) if (p.default) exprRefs(p.default, scope, out);
        items(d.body, scope, out, paramKey, kindOf);
        keptNames(d.body, i, out);
        break;
      }
      case "train":
      case "search": {
        if (!d.model) break;
        const model = d.model.name;
        out.push({ key: `decl:${model}`, name: model, kind: "model", range: d.model.range, declaration: false });
        const none = new Map<string, string>();
        if (d.kind === "train") callArgs(d.args, model, none, out, paramKey);
        else {
          for (const st of d.statements) {
            if (st.kind !== "search-var") continue;
            const key = paramKey(model, st.name.name);
            if (key) out.push({ key, name: st.name.name, kind: "param", range: st.name.range, declaration: false });
          }
        }
        break;
      }
    }
  });
  return out;
}

type ParamKey = (declName: string, param: string) => string | undefined;

function items(list: AstItem[], scope: Map<string, string>, out: Occurrence[], paramKey: ParamKey, kindOf: (name: string) => "model" | "block"): void {
  for (const item of list) {
    switch (item.kind) {
      case "layer":
        for (const p of item.positional) if (p) exprRefs(p, scope, out);
        for (const key in item.options) {
          const v = item.options[key]!.value;
          // `name conv1` names the layer; it is not a parameter reference.
          if (v && key !== "name") exprRefs(v, scope, out);
        }
        if (item.activation) for (const a of item.activation.args) if (a.value) exprRefs(a.value, scope, out);
        break;
      case "block-call":
        out.push({ key: `decl:${item.callee.name}`, name: item.callee.name, kind: kindOf(item.callee.name), range: item.callee.range, declaration: false });
        callArgs(item.args, item.callee.name, scope, out, paramKey);
        break;
      case "repeat":
        if (item.count) exprRefs(item.count, scope, out);
        items(item.body, scope, out, paramKey, kindOf);
        break;
      case "residual":
      case "merge":
        for (const body of childBodies(item)) items(body, scope, out, paramKey, kindOf);
        break;
      case "keep":
        break;
    }
  }
}

/**
 * `keep NAME` and the merges that join NAME, in one model or block. The checker keeps names
 * as it expands a model, so a block may join what its caller kept; here a merge's name
 * refers to the `keep`s of its own declaration only, and a name kept nowhere there (a typo,
 * NN2019, or a caller's) is not an occurrence of anything.
 */
function keptNames(body: AstItem[], declIndex: number, out: Occurrence[]): void {
  const kept = new Set<string>();
  const collect = (list: AstItem[]): void => {
    for (const item of list) {
      if (item.kind === "keep" && item.name) kept.add(item.name.name);
      for (const b of childBodies(item)) collect(b);
    }
  };
  collect(body);
  if (kept.size === 0) return;
  const walk = (list: AstItem[]): void => {
    for (const item of list) {
      if (item.kind === "keep" && item.name) out.push({ key: `kept:${declIndex}:${item.name.name}`, name: item.name.name, kind: "kept", range: item.name.range, declaration: true });
      else if (item.kind === "merge") {
        for (const o of item.operands) {
          if (o.kind === "kept" && kept.has(o.name.name)) out.push({ key: `kept:${declIndex}:${o.name.name}`, name: o.name.name, kind: "kept", range: o.name.range, declaration: false });
          else if (o.kind === "branch") walk(o.body);
        }
        continue;
      }
      for (const b of childBodies(item)) walk(b);
    }
  };
  walk(body);
}

/** Arguments of a call of `callee`: named ones refer to its parameters; values to the caller's. */
function callArgs(args: AstArg[], callee: string, scope: Map<string, string>, out: Occurrence[], paramKey: ParamKey): void {
  for (const a of args) {
    if (a.name) {
      const key = paramKey(callee, a.name.name);
      if (key) out.push({ key, name: a.name.name, kind: "param", range: a.name.range, declaration: false });
    }
    if (a.value) exprRefs(a.value, scope, out);
  }
}

function exprRefs(e: AstExpr, scope: Map<string, string>, out: Occurrence[]): void {
  switch (e.kind) {
    case "ref": {
      const key = scope.get(e.name);
      if (key) out.push({ key, name: e.name, kind: "param", range: e.range, declaration: false });
      break;
    }
    case "call-expr":
      for (const a of e.args) if (a.value) exprRefs(a.value, scope, out);
      break;
    case "dims":
      for (const p of e.parts) exprRefs(p, scope, out);
      break;
    case "binary":
      exprRefs(e.left, scope, out);
      exprRefs(e.right, scope, out);
      break;
    case "unary":
      exprRefs(e.operand, scope, out);
      break;
    default:
      break;
  }
}

export function occurrenceAt(a: Analysis, offset: number): Occurrence | undefined {
  let best: Occurrence | undefined;
  for (const o of a.occurrences) {
    if (containsOffset(o.range, offset) && (!best || o.range.end.offset - o.range.start.offset < best.range.end.offset - best.range.start.offset)) best = o;
  }
  return best;
}

// ---------------------------------------------------------------------------------------
// Finding things by position

export type Body = { decl: AstModel | AstBlock; item: AstItem; path: AstItem[] };

/** Every item of every model and block body, depth first, with the items enclosing it. */
export function* allItems(declarations: AstDeclaration[]): Generator<Body> {
  function* walk(decl: AstModel | AstBlock, list: AstItem[], path: AstItem[]): Generator<Body> {
    for (const item of list) {
      yield { decl, item, path };
      for (const body of childBodies(item)) yield* walk(decl, body, [...path, item]);
    }
  }
  for (const d of declarations) if (d.kind === "model" || d.kind === "block") yield* walk(d, d.body, []);
}

/**
 * The items of `list` whose range touches [from, to]. A body's items (and a file's
 * declarations) are in source order and do not overlap, so a binary search finds the first
 * and the walk stops after the last: a request on a 65,000-layer document looks at the few
 * it is about. A list not in that order (checked once per list) is scanned whole.
 */
function* touchingIn<T extends { range: Range }>(list: readonly T[], from: number, to: number): Generator<T> {
  if (!inOrder(list)) {
    for (const x of list) if (x.range.start.offset <= to && x.range.end.offset >= from) yield x;
    return;
  }
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.range.end.offset < from) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < list.length && list[i]!.range.start.offset <= to; i++) yield list[i]!;
}

const ordered = new WeakMap<readonly { range: Range }[], boolean>();
function inOrder(list: readonly { range: Range }[]): boolean {
  let known = ordered.get(list);
  if (known === undefined) {
    known = true;
    for (let i = 1; i < list.length && known; i++) {
      const [p, q] = [list[i - 1]!.range, list[i]!.range];
      known = p.start.offset <= q.start.offset && p.end.offset <= q.end.offset;
    }
    ordered.set(list, known);
  }
  return known;
}

/**
 * The items of model and block bodies whose range touches [from, to] (offsets), depth first
 * and in source order, with the items enclosing each: `allItems` restricted to a span.
 */
export function* itemsTouching(declarations: AstDeclaration[], from: number, to: number): Generator<Body> {
  function* walk(decl: AstModel | AstBlock, list: AstItem[], path: AstItem[]): Generator<Body> {
    for (const item of touchingIn(list, from, to)) {
      yield { decl, item, path };
      for (const body of childBodies(item)) yield* walk(decl, body, [...path, item]);
    }
  }
  for (const d of touchingIn(declarations, from, to)) if (d.kind === "model" || d.kind === "block") yield* walk(d, d.body, []);
}

/** The innermost layer or block call at `offset`. */
export function itemAt(a: Analysis, offset: number): Body | undefined {
  let best: Body | undefined;
  for (const b of itemsTouching(a.result.ast.declarations, offset, offset)) {
    if (b.item.kind !== "layer" && b.item.kind !== "block-call") continue;
    if (!containsOffset(b.item.range, offset)) continue;
    if (!best || b.item.range.end.offset - b.item.range.start.offset <= best.item.range.end.offset - best.item.range.start.offset) best = b;
  }
  return best;
}

export function declarationAt(a: Analysis, offset: number): AstDeclaration | undefined {
  for (const d of touchingIn(a.result.ast.declarations, offset, offset)) if (containsOffset(d.range, offset)) return d;
  return undefined;
}

export function instancesOf(a: Analysis, layer: AstLayer): Instance[] {
  return instancesAt(a, layer.range);
}
