/**
 * The language server as an editor meets it: the built `node dist/nnc.mjs lsp --stdio`,
 * spoken to over JSON-RPC (test/lsp-client.ts). One server process for the file; the last
 * test shuts it down.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatText } from "../src/format/index.js";
import { warmUpSpec } from "../src/lsp/warm-up.js";
import { checkText } from "../src/pipeline.js";
import { CLI, CNN, diagnosticsFor, LspClient, pos, range, type LspDiagnostic, type Position, type Range } from "./lsp-client.js";

interface TextEdit {
  range: Range;
  newText: string;
}


const BLOCKS = [
  "block basic(c, stride = 1) {", // 0
  "  conv 3x3xc relu same stride stride", // 1
  "  conv 3x3xc same -> batchnorm", // 2
  "}", // 3
  "model net(width = 16) {", // 4
  "  input 32x32x3", // 5
  "  basic(width)", // 6
  "  basic(c: width * 2, stride: 2)", // 7
  "  global avgpool -> dense 10 softmax", // 8
  "}", // 9
  "train net {", // 10
  "  data mnist(train: 100, test: 10)", // 11
  "  loss crossentropy", // 12
  "  optim ", // 13
  "}", // 14
  "",
].join("\n");

const MERGES = [
  "block inception(c) {", // 0
  "  concat { conv 1x1xc relu }", // 1
  "         { conv 1x1xc relu -> conv 3x3xc relu same }", // 2
  "         { pool 3 stride 1 same -> conv 1x1xc relu } name mixed", // 3
  "}", // 4
  "model net {", // 5
  "  input 32x32x3", // 6
  "  conv 3x3x16 same relu", // 7
  "  keep e1", // 8
  "  inception(8)", // 9
  "  concat e1 -> conv 1x1x8", // 10
  "  multiply { global avgpool -> dense 8 sigmoid -> reshape 1x1x8 }", // 11
  "}", // 12
  "",
].join("\n");

let client: LspClient;
let version = 0;

function open(uri: string, text: string): void {
  client.notify("textDocument/didOpen", { textDocument: { uri, languageId: "nn", version: ++version, text } });
}
function change(uri: string, edits: { range: Range; text: string }[]): void {
  client.notify("textDocument/didChange", { textDocument: { uri, version: ++version }, contentChanges: edits });
}

beforeAll(async () => {
  // As vscode-languageclient starts a stdio server: with `--clientProcessId=N` after `--stdio`.
  client = new LspClient(["lsp", "--stdio", `--clientProcessId=${process.pid}`]);
});
afterAll(() => client.kill());

describe("the server's warm-up spec", () => {
  it("checks clean, so warming up runs every phase to the end", () => {
    const r = checkText(warmUpSpec(2));
    expect(r.diagnostics).toEqual([]);
    expect(r.program.models.map((m) => [m.name, m.complete])).toEqual([
      ["warm0", true],
      ["warm1", true],
    ]);
    expect(r.program.recipes).toHaveLength(2);
    expect(r.program.searches).toHaveLength(2);
  });
});

describe("nnc lsp's arguments", () => {
  it("refuses transports other than stdio, with a usage error", () => {
    const r = spawnSync(process.execPath, [CLI, "lsp", "--socket=5007"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("`nnc lsp` speaks LSP over stdin and stdout only (--stdio); unknown argument `--socket=5007`.");
  });
});

describe("nnc lsp --stdio", () => {
  it("advertises incremental sync and every feature it serves", async () => {
    const r = await client.call<{ capabilities: Record<string, unknown>; serverInfo: { name: string } }>("initialize", { processId: process.pid, rootUri: null, capabilities: { textDocument: { completion: { completionItem: { snippetSupport: true } } } } });
    client.notify("initialized", {});
    expect(r.serverInfo.name).toBe("nnc");
    expect(r.capabilities).toMatchObject({
      positionEncoding: "utf-16",
      textDocumentSync: { openClose: true, change: 2 },
      hoverProvider: true,
      completionProvider: {},
      definitionProvider: true,
      referencesProvider: true,
      documentSymbolProvider: true,
      inlayHintProvider: true,
      codeActionProvider: { codeActionKinds: ["quickfix"] },
      documentFormattingProvider: true,
    });
  });

  it("publishes no diagnostics for a clean spec, with the document's version", async () => {
    open("file:///clean.nn", CNN);
    expect(await diagnosticsFor(client, "file:///clean.nn", version)).toEqual([]);
  });

  it("publishes a shape error with its code, exact range, hint and related place", async () => {
    const uri = "file:///cnn.nn";
    open(uri, CNN.replace("flatten -> ", ""));
    const [d, ...rest] = await diagnosticsFor(client, uri, version);
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ code: "NN3001", severity: 1, source: "nnc", range: range(3, 2, 3, 7) });
    expect(d!.message).toBe("`dense` needs a vector (rank 1), but its input is 14x14x32.\nHint: Add `flatten` (or `global avgpool`) before it?");
    expect(d!.relatedInformation).toEqual([{ location: { uri, range: range(2, 27, 2, 33) }, message: "`pool1` gives 14x14x32 here" }]);
  });

  it("follows incremental changes: fixing the shape, breaking it again, fixing it again", async () => {
    const uri = "file:///cnn.nn";
    change(uri, [{ range: range(3, 2, 3, 2), text: "flatten -> " }]);
    expect(await diagnosticsFor(client, uri, version)).toEqual([]);
    // A change across a line break: from the end of line 2 to after `flatten -> `.
    change(uri, [{ range: range(2, 33, 3, 13), text: "\n  " }]);
    const broken = await diagnosticsFor(client, uri, version);
    expect(broken.map((d) => [d.code, d.range])).toEqual([["NN3001", range(3, 2, 3, 7)]]);
    change(uri, [{ range: range(3, 2, 3, 2), text: "global avgpool -> " }]);
    expect(await diagnosticsFor(client, uri, version)).toEqual([]);
  });

  it("counts columns in UTF-16 code units, as LSP does, on a line with an emoji and accents", async () => {
    const uri = "file:///unicode.nn";
    // `  conv 3x3x4 name "é😀" strid 1`: the string starts at 18 and takes 5 UTF-16 units (the
    // emoji is two), so `strid` starts at 24 (at 23 if columns counted code points).
    const text = ["model m {", "  input 8x8x3", '  conv 3x3x4 name "é😀" strid 1', "}", ""].join("\n");
    open(uri, text);
    const ds = await diagnosticsFor(client, uri, version);
    expect(ds.map((d) => [d.code, d.range])).toEqual([["NN2002", range(2, 24, 2, 29)]]);
    // An edit after the emoji, in UTF-16 positions: `strid` → `stride`.
    change(uri, [{ range: range(2, 24, 2, 29), text: "stride" }]);
    const after = await diagnosticsFor(client, uri, version);
    // Now the string is the only problem: a layer name must be a word.
    expect(after.map((d) => [d.code, d.range])).toEqual([["NN1013", range(2, 18, 2, 23)]]);
  });

  it("hovers a layer with its shapes, parameter count and resolved options", async () => {
    const h = await client.call<{ contents: { kind: string; value: string }; range: Range }>("textDocument/hover", { textDocument: { uri: "file:///clean.nn" }, position: pos(2, 3) });
    expect(h.contents.kind).toBe("markdown");
    expect(h.contents.value).toContain("`28x28x1 → 28x28x32` · 832 parameters");
    for (const row of ["- kernel: `5x5`", "- filters: `32`", "- stride: `1x1`", "- padding: `same`", "- activation: `relu`", "- init: `glorot_uniform`"]) expect(h.contents.value).toContain(row);
    expect(h.range).toEqual(range(2, 2, 2, 23));
    // The second layer of the chain on that line.
    const pool = await client.call<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri: "file:///clean.nn" }, position: pos(2, 29) });
    expect(pool.contents.value).toContain("`28x28x32 → 14x14x32` · no parameters");
    expect(pool.contents.value).toContain("- window: `2x2`");
  });

  it("hovers a block call with its expansion, and names with their declarations", async () => {
    open("file:///blocks.nn", BLOCKS);
    await diagnosticsFor(client, "file:///blocks.nn", version);
    const call = await client.call<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri: "file:///blocks.nn" }, position: pos(7, 3) });
    expect(call.contents.value).toContain("block basic(c, stride = 1)");
    expect(call.contents.value).toContain("Expands to 3 layers: `32x32x16 → 16x16x32`");
    expect(call.contents.value).toContain("| conv3 | conv | 16x16x32 | 4,640 |");
    const model = await client.call<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri: "file:///blocks.nn" }, position: pos(10, 7) });
    expect(model.contents.value).toContain("model net(width = 16)");
    expect(model.contents.value).toContain("`32x32x3 → 10`");
    const param = await client.call<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri: "file:///blocks.nn" }, position: pos(1, 11) });
    expect(param.contents.value).toContain("**c**: parameter of the block `basic`");
    const setting = await client.call<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri: "file:///blocks.nn" }, position: pos(12, 9) });
    expect(setting.contents.value).toContain("**crossentropy** (loss)");
  });

  it("shows each layer's output shape as an inlay hint, after each layer of a chain", async () => {
    const hints = await client.call<{ position: Position; label: string; kind: number }[]>("textDocument/inlayHint", { textDocument: { uri: "file:///clean.nn" }, range: range(0, 0, 5, 0) });
    expect(hints.map((h) => [h.position, h.label])).toEqual([
      [pos(2, 23), ": 28x28x32"],
      [pos(2, 33), ": 14x14x32"],
      [pos(3, 9), ": 6272"],
      [pos(3, 29), ": 10"],
    ]);
    expect(hints.every((h) => h.kind === 1)).toBe(true);
    // In a block called with two widths, both shapes; after a call, where its expansion ends.
    const inBlock = await client.call<{ position: Position; label: string }[]>("textDocument/inlayHint", { textDocument: { uri: "file:///blocks.nn" }, range: range(1, 0, 7, 40) });
    expect(inBlock.map((h) => [h.position, h.label])).toEqual([
      [pos(1, 36), ": 32x32x16 | 16x16x32"],
      [pos(2, 17), ": 32x32x16 | 16x16x32"],
      [pos(2, 30), ": 32x32x16 | 16x16x32"],
      [pos(6, 14), ": 32x32x16"],
      [pos(7, 32), ": 16x16x32"],
    ]);
  });

  it("completes in context: layer kinds and blocks, a conv's options, optimizers, a block's parameters", async () => {
    const uri = "file:///blocks.nn";
    const labels = async (p: Position): Promise<string[]> => (await client.call<{ label: string }[]>("textDocument/completion", { textDocument: { uri }, position: p })).map((i) => i.label);
    change(uri, [{ range: range(8, 0, 8, 0), text: "  \n" }]);
    const heads = await labels(pos(8, 2));
    expect(heads).toEqual(expect.arrayContaining(["conv", "dense", "pool", "relu", "basic", "repeat", "residual"]));
    expect(heads).not.toContain("stride");
    change(uri, [{ range: range(8, 2, 8, 2), text: "conv 3x3x8 " }]);
    const conv = await labels(pos(8, 13));
    expect(conv).toEqual(expect.arrayContaining(["stride", "same", "dilation", "init", "relu", "width"]));
    expect(conv).not.toContain("momentum");
    expect(conv).not.toContain("conv");
    change(uri, [{ range: range(8, 13, 8, 13), text: "init " }]);
    expect(await labels(pos(8, 18))).toEqual(expect.arrayContaining(["he_normal", "glorot_uniform"]));
    change(uri, [{ range: range(8, 2, 8, 18), text: "basic(" }]);
    expect(await labels(pos(8, 8))).toEqual(expect.arrayContaining(["c:", "stride:"]));
    change(uri, [{ range: range(8, 0, 9, 0), text: "" }]);
    const optim = await labels(pos(13, 8));
    expect(optim).toEqual(expect.arrayContaining(["adam", "sgd", "momentum", "lm"]));
    expect(optim).not.toContain("crossentropy");
    const settings = await labels(pos(12, 2));
    expect(settings).toEqual(expect.arrayContaining(["data", "loss", "epochs", "early_stop"]));
    await diagnosticsFor(client, uri, version);
  });

  it("goes to the definition of a block, a parameter and a model, and finds their references", async () => {
    const uri = "file:///blocks.nn";
    const def = (p: Position): Promise<{ uri: string; range: Range }[] | null> => client.call("textDocument/definition", { textDocument: { uri }, position: p });
    expect(await def(pos(6, 4))).toEqual([{ uri, range: range(0, 6, 0, 11) }]);
    expect(await def(pos(1, 11))).toEqual([{ uri, range: range(0, 12, 0, 13) }]);
    expect(await def(pos(7, 8))).toEqual([{ uri, range: range(0, 12, 0, 13) }]);
    expect(await def(pos(7, 14))).toEqual([{ uri, range: range(4, 10, 4, 15) }]);
    expect(await def(pos(10, 7))).toEqual([{ uri, range: range(4, 6, 4, 9) }]);
    expect(await def(pos(8, 5))).toBeNull();
    const refs = (p: Position, includeDeclaration: boolean): Promise<{ range: Range }[]> => client.call("textDocument/references", { textDocument: { uri }, position: p, context: { includeDeclaration } });
    expect((await refs(pos(0, 8), true)).map((l) => l.range)).toEqual([range(0, 6, 0, 11), range(6, 2, 6, 7), range(7, 2, 7, 7)]);
    expect((await refs(pos(0, 8), false)).map((l) => l.range)).toEqual([range(6, 2, 6, 7), range(7, 2, 7, 7)]);
    expect((await refs(pos(0, 20), true)).map((l) => l.range)).toEqual([range(0, 15, 0, 21), range(1, 30, 1, 36), range(7, 22, 7, 28)]);
  });

  it("hovers a merge with its inputs and output, and a kept tensor with where it is kept and its shape", async () => {
    const uri = "file:///merges.nn";
    open(uri, MERGES);
    expect(await diagnosticsFor(client, uri, version)).toEqual([]);
    const hoverAt = (p: Position): Promise<{ contents: { value: string }; range: Range }> => client.call("textDocument/hover", { textDocument: { uri }, position: p });
    const inception = await hoverAt(pos(1, 4));
    expect(inception.range).toEqual(range(1, 2, 1, 8));
    expect(inception.contents.value).toContain("**concat** `mixed` — joins its inputs on the channel axis");
    expect(inception.contents.value).toContain("`mixed`: `32x32x8 + 32x32x8 + 32x32x8 → 32x32x24`");
    expect(inception.contents.value).toContain("- branch 3 (line 4): `32x32x8` from `conv5`");
    const withKept = await hoverAt(pos(10, 3));
    expect(withKept.contents.value).toContain("`concat1`: `32x32x24 + 32x32x16 → 32x32x40`");
    expect(withKept.contents.value).toContain("- the input itself: `32x32x24` from `mixed`");
    expect(withKept.contents.value).toContain("- `e1` (kept on line 9): `32x32x16` from `conv1`");
    const gate = await hoverAt(pos(11, 4));
    expect(gate.contents.value).toContain("`multiply1`: `32x32x8 + 1x1x8 → 32x32x8`");
    for (const p of [pos(10, 10), pos(8, 8), pos(8, 3)]) {
      const kept = await hoverAt(p);
      expect(kept.contents.value).toContain("**e1**: a tensor kept with `keep e1` on line 9 of the model `net`");
      expect(kept.contents.value).toContain("- `32x32x16`, the output of `conv1`");
      expect(kept.contents.value).toContain("Joined by `concat` on line 11.");
    }
  });

  it("completes merges and `keep` at the start of an item, and kept tensors after a merge or its branches", async () => {
    const uri = "file:///merges.nn";
    const labels = async (p: Position): Promise<string[]> => (await client.call<{ label: string }[]>("textDocument/completion", { textDocument: { uri }, position: p })).map((i) => i.label);
    change(uri, [{ range: range(12, 0, 12, 0), text: "  \n" }]);
    expect(await labels(pos(12, 2))).toEqual(expect.arrayContaining(["concat", "add", "multiply", "keep", "conv", "inception"]));
    change(uri, [{ range: range(12, 2, 12, 2), text: "add " }]);
    expect(await labels(pos(12, 6))).toEqual(["e1", "name"]);
    change(uri, [{ range: range(12, 6, 12, 6), text: "{ conv 1x1x8 } " }]);
    expect(await labels(pos(12, 21))).toEqual(["e1", "name"]);
    // Inside a branch: layers again.
    expect(await labels(pos(12, 8))).toEqual(expect.arrayContaining(["conv", "concat", "keep"]));
    // A branch continued on the next line, then `name`.
    change(uri, [{ range: range(12, 21, 12, 21), text: "\n      { } " }]);
    expect(await labels(pos(13, 10))).toEqual(["e1", "name"]);
    change(uri, [{ range: range(13, 10, 13, 10), text: "name " }]);
    expect(await labels(pos(13, 15))).toEqual([]);
    change(uri, [{ range: range(12, 0, 14, 0), text: "" }]);
    await diagnosticsFor(client, uri, version);
  });

  it("goes to where a tensor was kept, and finds the merges that join it", async () => {
    const uri = "file:///merges.nn";
    const def = (p: Position): Promise<{ uri: string; range: Range }[] | null> => client.call("textDocument/definition", { textDocument: { uri }, position: p });
    expect(await def(pos(10, 10))).toEqual([{ uri, range: range(8, 7, 8, 9) }]);
    const refs = (p: Position, includeDeclaration: boolean): Promise<{ range: Range }[]> => client.call("textDocument/references", { textDocument: { uri }, position: p, context: { includeDeclaration } });
    expect((await refs(pos(8, 7), true)).map((l) => l.range)).toEqual([range(8, 7, 8, 9), range(10, 9, 10, 11)]);
    expect((await refs(pos(8, 7), false)).map((l) => l.range)).toEqual([range(10, 9, 10, 11)]);
  });

  it("formats a merge's continued branches under its first `{`", async () => {
    const uri = "file:///merges-messy.nn";
    const messy = MERGES.replace("         { conv 1x1xc relu ->", "  {conv 1x1xc relu ->").replace("         { pool", "      { pool");
    open(uri, messy);
    const edits = await client.call<TextEdit[]>("textDocument/formatting", { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });
    expect(edits).toHaveLength(1);
    expect(edits[0]!.newText).toBe(formatText(MERGES).text);
    expect(edits[0]!.newText).toContain(MERGES.split("\n").slice(0, 5).join("\n"));
  });

  it("outlines models, blocks and recipes, with parameters and layers as children", async () => {
    interface Sym {
      name: string;
      kind: number;
      detail?: string;
      children?: Sym[];
    }
    const syms = await client.call<Sym[]>("textDocument/documentSymbol", { textDocument: { uri: "file:///blocks.nn" } });
    expect(syms.map((s) => s.name)).toEqual(["basic", "net", "train net"]);
    const net = syms[1]!;
    expect(net.detail).toBe("32x32x3 → 10, 17,178 params");
    expect(net.children!.map((c) => [c.name, c.detail ?? ""])).toEqual([
      ["width", "= 16"],
      ["input 32x32x3", "32x32x3"],
      ["basic(width)", ""],
      ["basic(c: width * 2, stride: 2)", ""],
      ["global avgpool", "32"],
      ["dense 10 softmax", "10"],
    ]);
    expect(syms[2]!.children!.map((c) => c.name)).toEqual(["data", "loss", "optim"]);
  });

  it("formats the document as one edit, and answers none when it is already formatted", async () => {
    const uri = "file:///messy.nn";
    const messy = "model   m {\n input 4\n      dense 2    relu\n}";
    open(uri, messy);
    const edits = await client.call<TextEdit[]>("textDocument/formatting", { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });
    expect(edits).toEqual([{ range: range(0, 0, 3, 1), newText: formatText(messy).text }]);
    change(uri, [{ range: range(0, 0, 3, 1), text: formatText(messy).text }]);
    expect(await client.call("textDocument/formatting", { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } })).toEqual([]);
  });

  it("offers the hints' fixes as quick fixes", async () => {
    const uri = "file:///fix.nn";
    open(uri, CNN.replace("flatten -> ", "").replace("relu", "rleu"));
    const ds = await diagnosticsFor(client, uri, version);
    expect(ds.map((d) => d.code)).toEqual(["NN2002", "NN3001"]);
    interface Action {
      title: string;
      kind: string;
      isPreferred: boolean;
      diagnostics: LspDiagnostic[];
      edit: { changes: Record<string, TextEdit[]> };
    }
    const actions = await client.call<Action[]>("textDocument/codeAction", { textDocument: { uri }, range: range(3, 2, 3, 2), context: { diagnostics: [ds[1]] } });
    expect(actions.map((a) => [a.title, a.kind, a.isPreferred])).toEqual([
      ["Add `flatten` before `dense`", "quickfix", true],
      ["Add `global avgpool` before `dense`", "quickfix", false],
    ]);
    expect(actions[0]!.edit.changes[uri]).toEqual([{ range: range(3, 2, 3, 2), newText: "flatten -> " }]);
    expect(actions[0]!.diagnostics[0]!.code).toBe("NN3001");
    const typo = await client.call<Action[]>("textDocument/codeAction", { textDocument: { uri }, range: range(2, 14, 2, 14), context: { diagnostics: [] } });
    expect(typo.map((a) => a.title)).toEqual(["Replace with `relu`"]);
    expect(typo[0]!.edit.changes[uri]).toEqual([{ range: range(2, 14, 2, 18), newText: "relu" }]);
    // Asked only for refactorings, it offers no quick fix.
    expect(await client.call("textDocument/codeAction", { textDocument: { uri }, range: range(3, 2, 3, 2), context: { diagnostics: [], only: ["refactor"] } })).toEqual([]);
  });

  it("answers an unknown method with MethodNotFound", async () => {
    const r = await client.request("nnc/noSuchMethod", {});
    expect(r.error?.code).toBe(-32601);
  });

  it("answers a request without the document it is about with InvalidParams, and lives on", async () => {
    const r = await client.request("textDocument/hover", { position: pos(0, 0) });
    expect(r.error?.code).toBe(-32602);
    expect(r.error?.message).toBe("Invalid params for textDocument/hover: params.textDocument must be {uri}.");
    // A client's mistake is not logged as a bug of nnc's.
    expect(client.stderr).not.toContain("internal error");
    expect(await client.call("textDocument/hover", { textDocument: { uri: "file:///unknown.nn" }, position: pos(0, 0) })).toBeNull();
    // Notifications it cannot make sense of: a change to a document never opened, an open
    // without its text, a change past the end of a document.
    client.notify("textDocument/didChange", { textDocument: { uri: "file:///never-opened.nn", version: 3 }, contentChanges: [{ text: "model" }] });
    client.notify("textDocument/didOpen", { textDocument: { uri: "file:///no-text.nn", languageId: "nn", version: 1 } });
    change("file:///clean.nn", [{ range: range(400, 0, 400, 3), text: "" }]);
    expect(await diagnosticsFor(client, "file:///clean.nn", version)).toEqual([]);
    const h = await client.call<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri: "file:///clean.nn" }, position: pos(2, 3) });
    expect(h.contents.value).toContain("832 parameters");
  });

  it("checks a large document on every change", async () => {
    const uri = "file:///large.nn";
    const lines = ["model big {", "  input 64"];
    for (let i = 0; i < 3000; i++) lines.push("  dense 64 relu");
    lines.push("  dense 1 sigmoid", "}", "");
    open(uri, lines.join("\n"));
    expect(await diagnosticsFor(client, uri, version)).toEqual([]);
    change(uri, [{ range: range(1500, 8, 1500, 10), text: "0" }]);
    const ds = await diagnosticsFor(client, uri, version);
    expect(ds.map((d) => [d.code, d.range.start.line])).toEqual([["NN3006", 1500]]);
  });

  it("shuts down and exits with status 0", async () => {
    expect(await client.call("shutdown")).toBeNull();
    client.notify("exit", null);
    expect(await client.exited).toBe(0);
  });
});
