/**
 * Reading the last analysis against the current text (src/lsp/view.ts), which the language
 * server does on a document whose check is slow: offsets before the edited lines are the
 * same, offsets after them shift by the edit's length, and nothing on the edited lines maps.
 */
import { TextDocument } from "vscode-languageserver-textdocument";
import { describe, expect, it } from "vitest";
import { analyse } from "../src/lsp/analysis.js";
import { hover } from "../src/lsp/hover.js";
import { staleView } from "../src/lsp/view.js";

const BEFORE = ["model m {", "  input 64", "  dense 32 relu", "  dense 16 relu", "  dense 10 softmax", "}", ""].join("\n");

function edited(text: string, edits: { line: number; from: number; to: number; text: string }[]): TextDocument {
  let doc = TextDocument.create("file:///m.nn", "nn", 1, text);
  for (const e of edits) doc = TextDocument.update(doc, [{ range: { start: { line: e.line, character: e.from }, end: { line: e.line, character: e.to } }, text: e.text }], doc.version + 1);
  return doc;
}

describe("a stale view of an analysis", () => {
  it("maps offsets above the edited line as they are and below it shifted, and none on it", () => {
    const a = analyse(BEFORE);
    // `dense 32 relu` → `dense 128 relu`, and a new line after it.
    const doc = edited(BEFORE, [{ line: 2, from: 8, to: 15, text: "128 relu\n  dropout 0.5" }]);
    const v = staleView(a, doc);
    expect(v.stale).toBe(true);
    const now = doc.getText();
    const at = (text: string, s: string): number => text.indexOf(s);
    expect(v.toAnalysed(at(now, "input"))).toBe(at(BEFORE, "input"));
    expect(v.toAnalysed(at(now, "dense 16"))).toBe(at(BEFORE, "dense 16"));
    expect(v.toAnalysed(at(now, "softmax"))).toBe(at(BEFORE, "softmax"));
    for (const s of ["  dense 128", "dense 128", "128", "relu\n  dropout", "dropout", "0.5"]) expect(v.toAnalysed(at(now, s))).toBeUndefined();
    // The end of the line above and the start of the line below map; the edited lines' ends do not.
    expect(v.toAnalysed(at(now, "\n  dense 128"))).toBe(at(BEFORE, "\n  dense 32"));
    expect(v.toAnalysed(at(now, "\n  dense 16"))).toBeUndefined();
    expect(v.toAnalysed(at(now, "\n  dense 16") + 1)).toBe(at(BEFORE, "\n  dense 16") + 1);

    // A hover below the edit: the analysed layer, its range where the layer is now.
    const h = hover(a, v.toAnalysed(doc.offsetAt({ line: 4, character: 4 }))!)!;
    expect(h.markdown).toContain("`32 → 16`");
    expect(v.range(h.range)).toEqual({ start: { line: 4, character: 2 }, end: { line: 4, character: 15 } });
    // The layer on the edited line has no place now.
    const edit = a.result.program.models[0]!.layers.find((l) => l.name === "dense1")!;
    expect(v.range(edit.range)).toBeUndefined();
    // The model's range spans the edit: both its ends map.
    expect(v.range(a.result.ast.declarations[0]!.range)).toEqual({ start: { line: 0, character: 0 }, end: { line: 6, character: 1 } });
    // A span that starts on an edited line is taken from that line's start; one that ends on it, to its end.
    expect(v.toAnalysedClamped(at(now, "dropout"), "start")).toBe(at(BEFORE, "  dense 32"));
    expect(v.toAnalysedClamped(at(now, "dropout"), "end")).toBe(at(BEFORE, "\n  dense 16"));
  });

  it("is the analysis itself when the text is back to what was analysed", () => {
    const a = analyse(BEFORE);
    const doc = edited(BEFORE, [
      { line: 2, from: 8, to: 10, text: "33" },
      { line: 2, from: 8, to: 10, text: "32" },
    ]);
    const v = staleView(a, doc);
    expect(v.stale).toBe(false);
    expect(v.toAnalysed(37)).toBe(37);
  });

  it("maps through text with CR LF line ends and edits on the first and last lines", () => {
    const crlf = BEFORE.replace(/\n/g, "\r\n");
    const a = analyse(crlf);
    const first = staleView(a, edited(crlf, [{ line: 0, from: 6, to: 7, text: "net" }]));
    expect(first.toAnalysed(0)).toBeUndefined();
    expect(first.toAnalysed(crlf.length + 2 - 3)).toBe(crlf.length - 3);
    expect(first.range(a.result.program.models[0]!.layers[1]!.range)).toEqual({ start: { line: 2, character: 2 }, end: { line: 2, character: 15 } });
    const last = staleView(a, edited(crlf, [{ line: 6, from: 0, to: 0, text: "# end" }]));
    expect(last.toAnalysed(crlf.indexOf("softmax"))).toBe(crlf.indexOf("softmax"));
    expect(last.toAnalysed(crlf.length + 5)).toBeUndefined();
  });
});
