/**
 * What the language server knows about one version of a document: the pipeline's result
 * (`checkText`, the same as `nnc check`), every name written in it with what it refers to,
 * and the checked layers by the place they are written. Built once per version, on open or
 * change, and read by every request.
 */
import type { Range } from "../diagnostics/diagnostic.js";
import type { AstArg, AstBlock, AstDeclaration, AstExpr, AstItem, AstLayer, AstModel } from "../parser/index.js";
import { checkText, type PipelineResult } from "../pipeline.js";
import type { CheckedLayer } from "../typecheck/index.js";
import { containsOffset, rangeKey } from "./convert.js";

/** A name in the text: a model, a block, or a parameter of one of them. */
export interface Occurrence {
  /** What it refers to: `decl:NAME` for models and blocks, `param:I:NAME` for a parameter of declaration I. */
  key: string;
  name: string;
  kind: "model" | "block" | "param";
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
  result: PipelineResult;
  occurrences: Occurrence[];
  /** Checked layers by the range of the spec they come from (`rangeKey`). */
  instances: Map<string, Instance[]>;
  /** Block call ranges (`rangeKey`) → what each call expanded to. */
  expansions: Map<string, Expansion[]>;
  /** Milliseconds the pipeline took. */
  checkMs: number;
}

export function analyse(text: string): Analysis {
  const t0 = performance.now();
  const result = checkText(text);
  const checkMs = performance.now() - t0;
  const instances = new Map<string, Instance[]>();
  const expansions = new Map<string, Expansion[]>();
  for (const m of result.program.models) {
    const open = new Map<string, { run: Expansion; last: number }>();
    m.layers.forEach((layer, i) => {
      const key = rangeKey(layer.range);
      let list = instances.get(key);
      if (!list) instances.set(key, (list = []));
      list.push({ model: m.name, layer });
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
  return { text, result, occurrences: collectOccurrences(result.ast.declarations), instances, expansions, checkMs };
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
        items(item.body, scope, out, paramKey, kindOf);
        if (item.skip) items(item.skip, scope, out, paramKey, kindOf);
        break;
    }
  }
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
      if (item.kind === "repeat") yield* walk(decl, item.body, [...path, item]);
      else if (item.kind === "residual") {
        yield* walk(decl, item.body, [...path, item]);
        if (item.skip) yield* walk(decl, item.skip, [...path, item]);
      }
    }
  }
  for (const d of declarations) if (d.kind === "model" || d.kind === "block") yield* walk(d, d.body, []);
}

/** The innermost layer or block call at `offset`. */
export function itemAt(a: Analysis, offset: number): Body | undefined {
  let best: Body | undefined;
  for (const b of allItems(a.result.ast.declarations)) {
    if (b.item.kind !== "layer" && b.item.kind !== "block-call") continue;
    if (!containsOffset(b.item.range, offset)) continue;
    if (!best || b.item.range.end.offset - b.item.range.start.offset <= best.item.range.end.offset - best.item.range.start.offset) best = b;
  }
  return best;
}

export function declarationAt(a: Analysis, offset: number): AstDeclaration | undefined {
  return a.result.ast.declarations.find((d) => containsOffset(d.range, offset));
}

export function instancesOf(a: Analysis, layer: AstLayer): Instance[] {
  return a.instances.get(rangeKey(layer.range)) ?? [];
}
