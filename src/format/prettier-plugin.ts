/**
 * A Prettier plugin for .nn files: `prettier --plugin nnc/prettier-plugin spec.nn`, or
 * `plugins: ["nnc/prettier-plugin"]` in a Prettier config. It prints exactly what
 * `formatText` (and so `nnc fmt`) gives: the "parser" formats the text and the printer hands
 * the result back, so the two can never disagree. A syntax error is thrown, as Prettier
 * expects of a parser, with nnc's message, hint and place.
 */
import type { Parser, Printer, SupportLanguage } from "prettier";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { formatText } from "./index.js";

/** The whole file, already formatted. */
export interface NnDocument {
  kind: "nn-document";
  formatted: string;
  start: number;
  end: number;
}

/** The error a syntax error becomes; `loc` (1-based) lets Prettier show the source around it. */
export class NnSyntaxError extends Error {
  readonly loc: { start: { line: number; column: number }; end: { line: number; column: number } };
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    const first = diagnostics[0]!;
    const place = (d: Diagnostic): string => `${d.range.start.line + 1}:${d.range.start.character + 1}`;
    const lines = diagnostics.map((d) => `${place(d)}: ${d.code}: ${d.message}${d.hint ? ` ${d.hint}` : ""}`);
    super(`${diagnostics.length === 1 ? "A syntax error" : `${diagnostics.length} syntax errors`} kept this .nn file from being formatted:\n${lines.join("\n")}`);
    this.name = "SyntaxError";
    this.diagnostics = diagnostics;
    this.loc = {
      start: { line: first.range.start.line + 1, column: first.range.start.character + 1 },
      end: { line: first.range.end.line + 1, column: first.range.end.character + 1 },
    };
  }
}

export const languages: SupportLanguage[] = [{ name: "nn", parsers: ["nn"], extensions: [".nn"], tmScope: "source.nn" }];

export const parsers: Record<"nn", Parser<NnDocument>> = {
  nn: {
    astFormat: "nn",
    parse(text: string): NnDocument {
      const r = formatText(text);
      if (r.diagnostics.length > 0) throw new NnSyntaxError(r.diagnostics);
      return { kind: "nn-document", formatted: r.text, start: 0, end: text.length };
    },
    locStart: (node) => node.start,
    locEnd: (node) => node.end,
  },
};

export const printers: Record<"nn", Printer<NnDocument>> = {
  nn: {
    print: (path) => path.node.formatted,
  },
};

export default { languages, parsers, printers };
