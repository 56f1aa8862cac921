/**
 * The outline (document symbols): models, blocks, train and search recipes; a model's or
 * block's parameters and layers as children (repeat and residual bodies nested), a recipe's
 * settings as children.
 */
import { SymbolKind, type DocumentSymbol } from "vscode-languageserver/node";
import type { Range } from "../diagnostics/diagnostic.js";
import { exprSource, type AstItem } from "../parser/index.js";
import { formatShape } from "../typecheck/index.js";
import type { Analysis } from "./analysis.js";
import { lspRange, rangeKey } from "./convert.js";
import { count, signature } from "./describe.js";

function symbol(name: string, kind: SymbolKind, range: Range, selection: Range, detail?: string, children?: DocumentSymbol[]): DocumentSymbol {
  const s: DocumentSymbol = { name: name || "?", kind, range: lspRange(range), selectionRange: lspRange(selection) };
  if (detail) s.detail = detail;
  if (children && children.length > 0) s.children = children;
  return s;
}

/** The source of an item on one line, shortened: `conv 5x5x32 relu same`. */
function source(a: Analysis, r: Range): string {
  const s = a.text.slice(r.start.offset, r.end.offset).split(/\r\n|\r|\n/)[0]!.replace(/\s+/g, " ").trim();
  return s.length > 48 ? `${s.slice(0, 47)}…` : s;
}

function items(a: Analysis, list: AstItem[]): DocumentSymbol[] {
  return list.map((item) => {
    switch (item.kind) {
      case "layer": {
        const inst = a.instances.get(rangeKey(item.range)) ?? [];
        const shapes = [...new Set(inst.map((i) => formatShape(i.layer.outputShape)))];
        return symbol(source(a, item.range), SymbolKind.Field, item.range, item.op.range, shapes.join(" | "));
      }
      case "block-call":
        return symbol(source(a, item.range), SymbolKind.Function, item.range, item.callee.range);
      case "repeat":
        return symbol(`repeat ${item.count ? exprSource(item.count) : "?"}`, SymbolKind.Array, item.range, item.keyword, undefined, items(a, item.body));
      case "residual":
        return symbol(item.project ? "residual project" : "residual", SymbolKind.Struct, item.range, item.keyword, undefined, [...items(a, item.body), ...(item.skip ? items(a, item.skip) : [])]);
    }
  });
}

export function outline(a: Analysis): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  for (const d of a.result.ast.declarations) {
    switch (d.kind) {
      case "model":
      case "block": {
        const params = d.params.map((p) => symbol(p.name.name, SymbolKind.TypeParameter, p.range, p.name.range, p.default ? `= ${exprSource(p.default)}` : undefined));
        let detail = signature(d);
        const m = d.kind === "model" ? a.result.program.models.find((x) => x.name === d.name?.name) : undefined;
        if (m) detail = `${m.input ? formatShape(m.input) : "?"} → ${m.output ? formatShape(m.output) : "?"}, ${count(m.params.total)} params`;
        out.push(symbol(d.name?.name ?? d.kind, d.kind === "model" ? SymbolKind.Class : SymbolKind.Function, d.range, d.name?.range ?? d.keyword, detail, [...params, ...items(a, d.body)]));
        break;
      }
      case "train":
      case "search": {
        const children = d.statements.map((s) =>
          s.kind === "statement" ? symbol(s.head.name, SymbolKind.Property, s.range, s.head.range, source(a, s.range).slice(s.head.name.length).trim()) : symbol(s.name.name, SymbolKind.Variable, s.range, s.name.range, s.distribution ? `~ ${exprSource(s.distribution)}` : undefined),
        );
        out.push(symbol(`${d.kind} ${d.model?.name ?? "?"}`, d.kind === "train" ? SymbolKind.Event : SymbolKind.Operator, d.range, d.model?.range ?? d.keyword, undefined, children));
        break;
      }
    }
  }
  return out;
}
