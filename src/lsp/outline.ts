/**
 * The outline (document symbols): models, blocks, train and search recipes; a model's or
 * block's parameters and layers as children (repeat and residual bodies nested), a recipe's
 * settings as children.
 */
import { SymbolKind, type DocumentSymbol, type Range as LspRange } from "vscode-languageserver/node";
import type { Range } from "../diagnostics/diagnostic.js";
import { childBodies, exprSource, type AstItem } from "../parser/index.js";
import { formatShape } from "../typecheck/index.js";
import { instancesAt, type Analysis } from "./analysis.js";
import { lspRange } from "./convert.js";
import { count, signature } from "./describe.js";

/**
 * Symbols one outline lists at most; past them, each body's remaining items are one symbol
 * that counts them. (A megabyte of layers is 65,000 symbols: ~0.5 s to build and 14.5 MB of
 * JSON, asked for after every edit by editors that show breadcrumbs, for a list no one reads.)
 */
export const MAX_SYMBOLS = 5000;

/** Where a range of the analysed text is now (see src/lsp/view.ts); none drops the symbol. */
export type ToLsp = (r: Range) => LspRange | undefined;

class Outliner {
  left = MAX_SYMBOLS;
  constructor(
    private readonly a: Analysis,
    private readonly toLsp: ToLsp,
  ) {}

  symbol(name: string, kind: SymbolKind, range: Range, selection: Range, detail?: string, children?: () => DocumentSymbol[]): DocumentSymbol | undefined {
    const r = this.toLsp(range);
    const sel = r && this.toLsp(selection);
    if (!r || !sel) return undefined;
    this.left--;
    const s: DocumentSymbol = { name: name || "?", kind, range: r, selectionRange: sel };
    if (detail) s.detail = detail;
    const c = children?.();
    if (c && c.length > 0) s.children = c;
    return s;
  }

  /** Symbols for a list while the budget lasts, then one for the rest. */
  list<T extends { range: Range }>(list: readonly T[], one: (x: T) => DocumentSymbol | undefined, what: string): DocumentSymbol[] {
    const out: DocumentSymbol[] = [];
    let i = 0;
    for (; i < list.length && this.left > 0; i++) {
      const s = one(list[i]!);
      if (s) out.push(s);
    }
    if (i < list.length) {
      const rest = list.length - i;
      const range: Range = { start: list[i]!.range.start, end: list[list.length - 1]!.range.end };
      const s = this.symbol(`… ${count(rest)} more ${what}${rest === 1 ? "" : "s"}`, SymbolKind.Null, range, list[i]!.range, `not listed: an outline shows ${count(MAX_SYMBOLS)} symbols`);
      if (s) out.push(s);
    }
    return out;
  }

  /** The source of an item on one line, shortened: `conv 5x5x32 relu same`. */
  source(r: Range): string {
    const s = this.a.text.slice(r.start.offset, r.end.offset).split(/\r\n|\r|\n/)[0]!.replace(/\s+/g, " ").trim();
    return s.length > 48 ? `${s.slice(0, 47)}…` : s;
  }

  items(list: AstItem[]): DocumentSymbol[] {
    return this.list(
      list,
      (item) => {
        switch (item.kind) {
          case "layer": {
            const shapes = [...new Set(instancesAt(this.a, item.range).map((i) => formatShape(i.layer.outputShape)))];
            return this.symbol(this.source(item.range), SymbolKind.Field, item.range, item.op.range, shapes.join(" | "));
          }
          case "block-call":
            return this.symbol(this.source(item.range), SymbolKind.Function, item.range, item.callee.range);
          case "repeat":
            return this.symbol(`repeat ${item.count ? exprSource(item.count) : "?"}`, SymbolKind.Array, item.range, item.keyword, undefined, () => this.items(item.body));
          case "residual":
            return this.symbol(item.project ? "residual project" : "residual", SymbolKind.Struct, item.range, item.keyword, undefined, () => [...this.items(item.body), ...(item.skip ? this.items(item.skip) : [])]);
          case "merge":
            return this.symbol(item.op, SymbolKind.Struct, item.range, item.keyword, undefined, () => childBodies(item).flatMap((b) => this.items(b)));
          case "keep":
            return this.symbol(`keep ${item.name?.name ?? "?"}`, SymbolKind.Variable, item.range, item.name?.range ?? item.keyword);
        }
      },
      "item",
    );
  }
}

export function outline(a: Analysis, toLsp: ToLsp = lspRange): DocumentSymbol[] {
  const o = new Outliner(a, toLsp);
  return o.list(
    a.result.ast.declarations,
    (d) => {
      switch (d.kind) {
        case "model":
        case "block": {
          let detail = signature(d);
          const m = d.kind === "model" ? a.result.program.models.find((x) => x.name === d.name?.name) : undefined;
          if (m) detail = `${m.input ? formatShape(m.input) : "?"} → ${m.output ? formatShape(m.output) : "?"}, ${count(m.params.total)} params`;
          return o.symbol(d.name?.name ?? d.kind, d.kind === "model" ? SymbolKind.Class : SymbolKind.Function, d.range, d.name?.range ?? d.keyword, detail, () => [
            ...o.list(d.params, (p) => o.symbol(p.name.name, SymbolKind.TypeParameter, p.range, p.name.range, p.default ? `= ${exprSource(p.default)}` : undefined), "parameter"),
            ...o.items(d.body),
          ]);
        }
        case "train":
        case "search":
          return o.symbol(`${d.kind} ${d.model?.name ?? "?"}`, d.kind === "train" ? SymbolKind.Event : SymbolKind.Operator, d.range, d.model?.range ?? d.keyword, undefined, () =>
            o.list(
              d.statements,
              (s) =>
                s.kind === "statement"
                  ? o.symbol(s.head.name, SymbolKind.Property, s.range, s.head.range, o.source(s.range).slice(s.head.name.length).trim())
                  : o.symbol(s.name.name, SymbolKind.Variable, s.range, s.name.range, s.distribution ? `~ ${exprSource(s.distribution)}` : undefined),
              "setting",
            ),
          );
      }
    },
    "declaration",
  );
}
