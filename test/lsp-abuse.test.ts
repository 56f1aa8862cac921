/**
 * The language server under abuse: the built `node dist/nnc.mjs lsp --stdio`, fed broken
 * frames, broken messages, requests that make no sense, unknown methods, 5 MB documents and
 * a burst of 500 edits. After each, the server still answers a hover and publishes
 * diagnostics for a document opened afresh, and every request got a response (a result or
 * a JSON-RPC error). The last tests start servers of their own to end them: `exit` after
 * `shutdown` (0), without (1), and the client going away.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CNN, diagnosticsFor, LspClient, pos, range, type LspDiagnostic, type PublishParams, type Range, type Response } from "./lsp-client.js";


const BASE = "file:///base.nn";

const INVALID_REQUEST = -32600;
const METHOD_NOT_FOUND = -32601;
const INVALID_PARAMS = -32602;
const PARSE_ERROR = -32700;

let client: LspClient;
let version = 0;
let fresh = 0;

/** A frame as an editor writes it, around any body. */
function frame(body: string | object): Buffer {
  const b = Buffer.from(typeof body === "string" ? body : JSON.stringify(body), "utf8");
  return Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`, "ascii"), b]);
}

function open(uri: string, text: string, v = ++version): void {
  client.notify("textDocument/didOpen", { textDocument: { uri, languageId: "nn", version: v, text } });
}

function publishes(uri: string): PublishParams[] {
  return client.notifications.filter((n) => n.method === "textDocument/publishDiagnostics" && (n.params as PublishParams).uri === uri).map((n) => n.params as PublishParams);
}

/** The next publish for `uri` after the `seen` ones already received. */
async function nextPublish(uri: string, seen: number, timeoutMs = 10_000): Promise<PublishParams> {
  let count = 0;
  const n = await client.waitFor((x) => x.method === "textDocument/publishDiagnostics" && (x.params as PublishParams).uri === uri && count++ >= seen, timeoutMs);
  return n.params as PublishParams;
}

const hoverBase = (): Promise<Response> => client.request("textDocument/hover", { textDocument: { uri: BASE }, position: pos(2, 3) });

/** The server is alive and well: it hovers, and it checks a document opened now. */
async function expectServing(): Promise<void> {
  expect(client.proc.exitCode).toBeNull();
  const h = await hoverBase();
  expect(h.error).toBeUndefined();
  expect((h.result as { contents: { value: string } }).contents.value).toContain("832 parameters");
  const uri = `file:///fresh-${++fresh}.nn`;
  open(uri, CNN.replace("flatten -> ", ""));
  expect((await diagnosticsFor(client, uri, version)).map((d) => d.code)).toEqual(["NN3001"]);
}

/** Peak resident memory of the server process, in MB (Linux). */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${client.proc.pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function startServer(): Promise<LspClient> {
  const c = new LspClient();
  await c.call("initialize", { processId: null, rootUri: null, capabilities: {} });
  c.notify("initialized", {});
  return c;
}

beforeAll(async () => {
  client = await startServer();
  open(BASE, CNN);
  expect(await diagnosticsFor(client, BASE, version)).toEqual([]);
});
afterAll(() => client.kill());

describe("nnc lsp given broken frames", () => {
  it("skips garbage bytes, before a header or glued to one, and reads the messages after them", async () => {
    client.writeRaw("garbage \u0000\u00ff\r\n");
    await expectServing();
    // Garbage and a request in one write: the request is read and answered.
    const answered = client.responseTo("glued");
    client.writeRaw(Buffer.concat([Buffer.from("\u0001junk"), frame({ jsonrpc: "2.0", id: "glued", method: "textDocument/hover", params: { textDocument: { uri: BASE }, position: pos(2, 3) } })]));
    expect(((await answered).result as { contents: { value: string } }).contents.value).toContain("832 parameters");
    expect(client.stderr).toContain("nnc lsp: skipping input that is not a message");
    await expectServing();
  });

  it("answers a request whose header has no usable Content-Length with InvalidRequest: none, not a number, negative", async () => {
    const headers = ["Content-Type: application/vscode-jsonrpc; charset=utf-8", "Content-Length: twelve", "Content-Length: -5", "Content-Length: 1e3"];
    for (const [i, header] of headers.entries()) {
      const id = `bad-header-${i}`;
      const answered = client.responseTo(id);
      client.writeRaw(`${header}\r\n\r\n${JSON.stringify({ jsonrpc: "2.0", id, method: "textDocument/hover", params: { textDocument: { uri: BASE }, position: pos(2, 3) } })}`);
      // The body is known for what it is when the next frame comes.
      await expectServing();
      expect((await answered).error?.code).toBe(INVALID_REQUEST);
    }
  });

  it("reads a message whose Content-Length overshoots up to the next frame, and answers both", async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: "long", method: "textDocument/hover", params: { textDocument: { uri: BASE }, position: pos(2, 3) } });
    const long = client.responseTo("long");
    client.writeRaw(`Content-Length: ${Buffer.byteLength(body) + 100}\r\n\r\n${body}`);
    // Nothing shows the length wrong yet: the reader waits for the bytes (and answers nothing).
    const before = client.unmatched.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(client.unmatched.length).toBe(before);
    const next = client.responseTo("next");
    client.writeRaw(frame({ jsonrpc: "2.0", id: "next", method: "textDocument/documentSymbol", params: { textDocument: { uri: BASE } } }));
    expect(((await long).result as { contents: { value: string } }).contents.value).toContain("832 parameters");
    expect(((await next).result as { name: string }[]).map((s) => s.name)).toEqual(["mnist"]);
    expect(client.stderr).toMatch(/declared \d+ bytes but the next message began after \d+/);
    await expectServing();
  });

  it("answers a body cut short by its Content-Length with a parse error, and reads on", async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: "short", method: "textDocument/hover", params: { textDocument: { uri: BASE }, position: pos(2, 3) } });
    const err = await client.unmatchedAfter(() => client.writeRaw(`Content-Length: 20\r\n\r\n${body}`), (r) => r.error?.code === PARSE_ERROR);
    expect(err.id).toBeNull();
    await expectServing();
  });

  it("answers a body that is not JSON with Parse error (-32700) and id null", async () => {
    for (const body of ["{not json", "", "\u00ff\u00fe", '{"jsonrpc": "2.0", "id": 5, "method": "x"'] as const) {
      const r = await client.unmatchedAfter(() => client.writeRaw(frame(body)));
      expect(r).toMatchObject({ id: null, error: { code: PARSE_ERROR } });
    }
    await expectServing();
  });

  it("answers JSON that is not a message object with Invalid Request (-32600) and id null", async () => {
    for (const body of ["[]", `[${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "shutdown" })}]`, "42", '"hover"', "null", "true", "{}"]) {
      const r = await client.unmatchedAfter(() => client.writeRaw(frame(body)));
      expect(r).toMatchObject({ id: null, error: { code: INVALID_REQUEST } });
    }
    await expectServing();
  });

  it("answers a request with a missing or invalid id, method or params with a JSON-RPC error", async () => {
    for (const id of [null, { n: 1 }, [1], true]) {
      const r = await client.unmatchedAfter(() => client.write({ jsonrpc: "2.0", id, method: "textDocument/hover", params: { textDocument: { uri: BASE }, position: pos(2, 3) } }));
      expect(r).toMatchObject({ id: null, error: { code: INVALID_REQUEST } });
    }
    expect((await client.send({ jsonrpc: "2.0", id: "method", method: 42 })).error?.code).toBe(INVALID_REQUEST);
    expect((await client.send({ jsonrpc: "2.0", id: "params", method: "textDocument/hover", params: "file:///base.nn" })).error?.code).toBe(INVALID_PARAMS);
    // A request without an id is a notification: no answer (hover takes none).
    client.write({ jsonrpc: "2.0", method: "textDocument/hover", params: { textDocument: { uri: BASE }, position: pos(2, 3) } });
    await expectServing();
  });

  it("refuses messages that are not JSON-RPC 2.0: a request gets Invalid Request with its id", async () => {
    for (const [i, jsonrpc] of ["1.0", 2, undefined].entries()) {
      const r = await client.send({ jsonrpc, id: `version-${i}`, method: "textDocument/hover", params: { textDocument: { uri: BASE }, position: pos(2, 3) } });
      expect(r.error?.code).toBe(INVALID_REQUEST);
      expect(r.error?.message).toContain('"jsonrpc" must be "2.0"');
    }
    // A notification of another version is dropped: this open never happens.
    client.write({ jsonrpc: "1.0", method: "textDocument/didOpen", params: { textDocument: { uri: "file:///v1.nn", languageId: "nn", version: 1, text: CNN } } });
    await expectServing();
    expect(publishes("file:///v1.nn")).toEqual([]);
  });
});

describe("nnc lsp given requests that make no sense", () => {
  const docMethods = ["textDocument/hover", "textDocument/completion", "textDocument/definition", "textDocument/references", "textDocument/documentSymbol", "textDocument/inlayHint", "textDocument/codeAction", "textDocument/formatting"];

  it("answers every document request with missing or malformed params with InvalidParams", async () => {
    const bad: unknown[] = [undefined, null, {}, [], { position: pos(0, 0) }, { textDocument: {} }, { textDocument: { uri: 7 }, position: pos(0, 0), range: range(0, 0, 0, 0) }];
    for (const method of docMethods) {
      for (const params of bad) {
        const r = await client.request(method, params);
        expect(r.error?.code, `${method} ${JSON.stringify(params)}`).toBe(INVALID_PARAMS);
      }
    }
    // Positions and ranges with negative or fractional numbers, or none.
    for (const position of [pos(-1, 0), pos(0, -3), pos(1.5, 0), { line: 0 }, null]) {
      for (const method of ["textDocument/hover", "textDocument/completion", "textDocument/definition", "textDocument/references"]) {
        const r = await client.request(method, { textDocument: { uri: BASE }, position, context: { includeDeclaration: true } });
        expect(r.error?.code, `${method} ${JSON.stringify(position)}`).toBe(INVALID_PARAMS);
        expect(r.error?.message).toContain("params.position");
      }
    }
    const r = await client.request("textDocument/inlayHint", { textDocument: { uri: BASE }, range: { start: pos(0, 0), end: pos(-1, 0) } });
    expect(r.error?.message).toContain("params.range.end.line must be a non-negative integer");
    // None of that was a bug of nnc's.
    expect(client.stderr).not.toContain("internal error");
    await expectServing();
  });

  it("answers requests past the end of a document, or on a document never opened, with empty results", async () => {
    const far = pos(10_000, 10_000);
    expect(await client.call("textDocument/hover", { textDocument: { uri: BASE }, position: far })).toBeNull();
    // A column past the end of a line is the line's end: `pool 2` ends there.
    const lineEnd = await client.call<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri: BASE }, position: pos(2, 5000) });
    expect(lineEnd.contents.value).toContain("`28x28x32 → 14x14x32`");
    expect(Array.isArray(await client.call("textDocument/completion", { textDocument: { uri: BASE }, position: far }))).toBe(true);
    expect(await client.call("textDocument/definition", { textDocument: { uri: BASE }, position: far })).toBeNull();
    expect(await client.call("textDocument/references", { textDocument: { uri: BASE }, position: far })).toEqual([]);
    expect(await client.call("textDocument/inlayHint", { textDocument: { uri: BASE }, range: range(0, 0, 10_000, 0) })).toHaveLength(4);
    const never = { uri: "file:///never-opened.nn" };
    expect(await client.call("textDocument/hover", { textDocument: never, position: pos(0, 0) })).toBeNull();
    expect(await client.call("textDocument/completion", { textDocument: never, position: pos(0, 0) })).toEqual([]);
    expect(await client.call("textDocument/definition", { textDocument: never, position: pos(0, 0) })).toBeNull();
    expect(await client.call("textDocument/references", { textDocument: never, position: pos(0, 0), context: { includeDeclaration: true } })).toEqual([]);
    expect(await client.call("textDocument/documentSymbol", { textDocument: never })).toEqual([]);
    expect(await client.call("textDocument/inlayHint", { textDocument: never, range: range(0, 0, 1, 0) })).toEqual([]);
    expect(await client.call("textDocument/codeAction", { textDocument: never, range: range(0, 0, 1, 0), context: { diagnostics: [] } })).toEqual([]);
    expect(await client.call("textDocument/formatting", { textDocument: never, options: { tabSize: 2, insertSpaces: true } })).toBeNull();
    await expectServing();
  });

  it("drops changes it cannot apply: to a document never opened, without changes, with a negative range", async () => {
    const uri = "file:///edits.nn";
    open(uri, CNN);
    expect(await diagnosticsFor(client, uri, version)).toEqual([]);
    client.notify("textDocument/didChange", { textDocument: { uri: "file:///not-open.nn", version: 2 }, contentChanges: [{ text: "model" }] });
    client.notify("textDocument/didChange", { textDocument: { uri, version: version + 1 } });
    client.notify("textDocument/didChange", { textDocument: { uri, version: version + 1 }, contentChanges: [{ range: range(-1, 0, 0, 0), text: "x" }] });
    client.notify("textDocument/didChange", { textDocument: { uri, version: version + 1 }, contentChanges: [{ text: 42 }] });
    client.notify("textDocument/didOpen", { textDocument: { uri: "file:///no-text.nn", languageId: "nn", version: 1 } });
    await expectServing();
    expect(publishes("file:///not-open.nn")).toEqual([]);
    expect(publishes("file:///no-text.nn")).toEqual([]);
    // The document is as it was: clean.
    expect(publishes(uri).map((p) => p.diagnostics)).toEqual([[]]);
    expect(client.stderr).toMatch(/dropped a textDocument\/didChange notification: file:\/\/\/not-open\.nn is not open/);
    expect(client.stderr).toMatch(/dropped a textDocument\/didChange notification: params\.contentChanges must be an array/);
  });

  it("clamps a change whose range lies past the end, and checks the text that results", async () => {
    const uri = "file:///clamped.nn";
    open(uri, CNN);
    expect(await diagnosticsFor(client, uri, version)).toEqual([]);
    // Past the last line: the text goes at the end of the document.
    client.notify("textDocument/didChange", { textDocument: { uri, version: ++version }, contentChanges: [{ range: range(400, 0, 500, 9), text: "model tail {\n  input 4\n  dense 0\n}\n" }] });
    const ds = await diagnosticsFor(client, uri, version);
    expect(ds.map((d) => [d.code, d.range.start.line])).toEqual([["NN3006", 7]]);
    // A column past the end of a line is the line's end.
    client.notify("textDocument/didChange", { textDocument: { uri, version: ++version }, contentChanges: [{ range: range(7, 8, 7, 999), text: "2" }] });
    expect(await diagnosticsFor(client, uri, version)).toEqual([]);
  });

  it("applies a change whose version goes backwards, and publishes the text it makes under that version", async () => {
    const uri = "file:///backwards.nn";
    open(uri, CNN, 10);
    expect(await diagnosticsFor(client, uri, 10)).toEqual([]);
    client.notify("textDocument/didChange", { textDocument: { uri, version: 3 }, contentChanges: [{ range: range(3, 2, 3, 13), text: "" }] });
    expect((await diagnosticsFor(client, uri, 3)).map((d) => d.code)).toEqual(["NN3001"]);
    // The same version again, with another text: the server checks the text, not the number.
    client.notify("textDocument/didChange", { textDocument: { uri, version: 3 }, contentChanges: [{ range: range(3, 2, 3, 2), text: "flatten -> " }] });
    const again = await nextPublish(uri, 2);
    expect(again).toMatchObject({ version: 3, diagnostics: [] });
    expect(client.stderr).toContain("went from version 10 to 3; applying the change anyway");
  });

  it("takes a second didOpen of an open document as its new text, even under the same version", async () => {
    const uri = "file:///twice.nn";
    open(uri, CNN, 1);
    expect(await diagnosticsFor(client, uri, 1)).toEqual([]);
    open(uri, CNN.replace("5x5x32", "3x3x16").replace("flatten -> ", ""), 1);
    expect((await nextPublish(uri, 1)).diagnostics.map((d: LspDiagnostic) => d.code)).toEqual(["NN3001"]);
    const h = await client.call<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri }, position: pos(2, 3) });
    expect(h.contents.value).toContain("`28x28x1 → 28x28x16` · 160 parameters");
  });

  it("forgets a closed document: clears its diagnostics and answers requests on it with empty results", async () => {
    const uri = "file:///closed.nn";
    open(uri, CNN.replace("flatten -> ", ""));
    expect(await diagnosticsFor(client, uri, version)).toHaveLength(1);
    client.notify("textDocument/didClose", { textDocument: { uri } });
    expect(await nextPublish(uri, 1)).toEqual({ uri, diagnostics: [] });
    expect(await client.call("textDocument/hover", { textDocument: { uri }, position: pos(2, 3) })).toBeNull();
    expect(await client.call("textDocument/documentSymbol", { textDocument: { uri } })).toEqual([]);
    // Closing it again, or changing it, is dropped.
    client.notify("textDocument/didClose", { textDocument: { uri } });
    client.notify("textDocument/didChange", { textDocument: { uri, version: ++version }, contentChanges: [{ text: "" }] });
    await expectServing();
    expect(publishes(uri)).toHaveLength(2);
  });
});

describe("nnc lsp given methods it does not know", () => {
  it("answers an unknown request with MethodNotFound, `$/` ones too, and ignores unknown notifications", async () => {
    for (const method of ["nnc/noSuchMethod", "textDocument/semanticTokens/full", "$/unknownRequest"]) {
      const r = await client.request(method, {});
      expect(r.error?.code, method).toBe(METHOD_NOT_FOUND);
    }
    const before = client.unmatched.length;
    client.notify("nnc/noSuchNotification", { x: 1 });
    client.notify("$/unknownNotification", {});
    client.notify("$/cancelRequest", { id: 123456 });
    client.notify("$/setTrace", { value: "off" });
    await expectServing();
    expect(client.unmatched.length).toBe(before);
  });
});

describe("nnc lsp given a 5 MB document", () => {
  const FIVE_MB = 5 * 1024 * 1024;
  const cases: [string, () => string][] = [
    [
      "many layers",
      () => {
        const lines = ["model big {", "  input 64"];
        for (let n = 0; n < FIVE_MB; n += 15) lines.push("  dense 64 relu");
        return [...lines, "  dense 1 sigmoid", "}", ""].join("\n");
      },
    ],
    ["a single line", () => "model m { input 8 " + "dense 4 -> ".repeat(FIVE_MB / 11) + "dense 2 }"],
    ["random bytes", () => randomBytes(FIVE_MB).toString("latin1")],
    ["random unicode", () => Array.from({ length: FIVE_MB / 2 }, () => String.fromCodePoint(0x20 + Math.floor(Math.random() * 0x2ff00))).join("")],
  ];

  it.each(cases)("publishes one warning that it is too long to check (%s), in bounded time, and serves on", async (name, make) => {
    const uri = `file:///five-mb-${name.replace(/ /g, "-")}.nn`;
    const text = make();
    const t0 = performance.now();
    open(uri, text);
    const ds = await diagnosticsFor(client, uri, version, 20_000);
    const ms = performance.now() - t0;
    console.log(`5 MB document (${name}, ${text.length.toLocaleString("en-US")} UTF-16 units): diagnostics published after ${ms.toFixed(0)} ms; server peak RSS ${peakRssMb().toFixed(0)} MB`);
    expect(ms).toBeLessThan(20_000);
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ severity: 2, range: range(0, 0, 0, 0) });
    expect(ds[0]!.message).toContain("This document is not checked in the editor");
    expect(await client.call("textDocument/hover", { textDocument: { uri }, position: pos(1, 3) })).toBeNull();
    expect(await client.call("textDocument/documentSymbol", { textDocument: { uri } })).toEqual([]);
    expect(await client.call("textDocument/formatting", { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } })).toBeNull();
    // An edit that brings it under the limit gets it checked.
    client.notify("textDocument/didChange", { textDocument: { uri, version: ++version }, contentChanges: [{ text: CNN.replace("flatten -> ", "") }] });
    expect((await diagnosticsFor(client, uri, version)).map((d) => d.code)).toEqual(["NN3001"]);
    client.notify("textDocument/didClose", { textDocument: { uri } });
    await expectServing();
    expect(peakRssMb()).toBeLessThan(1024);
  });

  it("checks a half-megabyte document with an error on every line, publishing 1,000 diagnostics and a count of the rest", async () => {
    const uri = "file:///half-mb.nn";
    const lines = ["model big {", "  input 64"];
    for (let n = 0; n < 500 * 1000; n += 16) lines.push("  dense 64 rleu");
    const text = [...lines, "}", ""].join("\n");
    const t0 = performance.now();
    open(uri, text);
    const ds = await diagnosticsFor(client, uri, version, 20_000);
    const ms = performance.now() - t0;
    console.log(`0.5 MB document with an error on every line (${(lines.length - 2).toLocaleString("en-US")}): diagnostics published after ${ms.toFixed(0)} ms; server peak RSS ${peakRssMb().toFixed(0)} MB`);
    expect(ms).toBeLessThan(20_000);
    expect(ds).toHaveLength(1001);
    expect(ds.slice(0, 1000).every((d) => d.code === "NN2002")).toBe(true);
    expect(ds[999]!.range.start.line).toBe(1001);
    expect(ds[1000]).toMatchObject({ severity: 3, range: range(1002, 11, 1002, 15) });
    expect(ds[1000]!.message).toBe(`…and ${(lines.length - 2 - 1000).toLocaleString("en-US")} more problems from here on, not shown: the editor gets the first 1,000. \`nnc check\` on the file lists them all.`);
    const h = await client.call<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri }, position: pos(1, 3) });
    expect(h.contents.value).toContain("input");
    client.notify("textDocument/didClose", { textDocument: { uri } });
    await expectServing();
  });
});

describe("nnc lsp given a burst of edits", () => {
  it("keeps up with 500 one-character changes sent without waiting: the last diagnostics are the last text's", async () => {
    const uri = "file:///burst.nn";
    open(uri, "model m {\n  input 8\n}\n");
    expect((await diagnosticsFor(client, uri, version)).map((d) => d.code)).toEqual([]);
    // Typed one character at a time after `input 8`: 49 `dense 8` and a `dense 0` last.
    const typed = "  dense 8\n".repeat(49) + "  dense 0\n";
    expect(typed).toHaveLength(500);
    const seen = publishes(uri).length;
    let line = 2;
    let character = 0;
    const t0 = performance.now();
    for (const ch of typed) {
      client.notify("textDocument/didChange", { textDocument: { uri, version: ++version }, contentChanges: [{ range: range(line, character, line, character), text: ch }] });
      if (ch === "\n") [line, character] = [line + 1, 0];
      else character++;
    }
    const last = await diagnosticsFor(client, uri, version);
    const ms = performance.now() - t0;
    const burst = publishes(uri).slice(seen);
    console.log(`500 changes sent back to back: last diagnostics after ${ms.toFixed(0)} ms, ${burst.length} publishes on the way`);
    expect(last.map((d) => [d.code, d.range.start.line])).toEqual([["NN3006", 51]]);
    expect(burst.at(-1)!.version).toBe(version);
    const versions = burst.map((p) => p.version!);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    // Coalesced: far fewer checks than changes.
    expect(burst.length).toBeLessThan(50);
    expect(ms).toBeLessThan(10_000);
    const h = await client.call<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri }, position: pos(50, 3) });
    expect(h.contents.value).toContain("`8 → 8`");
    await expectServing();
  });

  it("checks a 3,000-layer document a few times, not once per change, under a burst of 200", async () => {
    const uri = "file:///burst-large.nn";
    const lines = ["model big {", "  input 64"];
    for (let i = 0; i < 3000; i++) lines.push("  dense 64 relu");
    open(uri, [...lines, "  dense 1 sigmoid", "}", ""].join("\n"));
    expect(await diagnosticsFor(client, uri, version)).toEqual([]);
    const typed = "  dense 8\n".repeat(19) + "  dense 0\n";
    const seen = publishes(uri).length;
    let [line, character] = [2, 0];
    const t0 = performance.now();
    for (const ch of typed) {
      client.notify("textDocument/didChange", { textDocument: { uri, version: ++version }, contentChanges: [{ range: range(line, character, line, character), text: ch }] });
      if (ch === "\n") [line, character] = [line + 1, 0];
      else character++;
    }
    const last = await diagnosticsFor(client, uri, version);
    const ms = performance.now() - t0;
    const burst = publishes(uri).slice(seen);
    console.log(`200 changes to a 3,000-layer document: last diagnostics after ${ms.toFixed(0)} ms, ${burst.length} publishes on the way`);
    expect(last.map((d) => [d.code, d.range.start.line])).toEqual([["NN3006", 21]]);
    expect(burst.at(-1)!.version).toBe(version);
    expect(burst.length).toBeLessThan(20);
    expect(ms).toBeLessThan(10_000);
    client.notify("textDocument/didClose", { textDocument: { uri } });
  });
});

describe("nnc lsp ending", () => {
  it("after shutdown, answers requests with InvalidRequest, drops notifications, and exits 0 on exit", async () => {
    const c = await startServer();
    c.notify("textDocument/didOpen", { textDocument: { uri: BASE, languageId: "nn", version: 1, text: CNN } });
    await diagnosticsFor(c, BASE, 1);
    expect(await c.call("shutdown")).toBeNull();
    for (const method of ["textDocument/hover", "shutdown", "initialize", "nnc/noSuchMethod"]) {
      const r = await c.request(method, { textDocument: { uri: BASE }, position: pos(2, 3) });
      expect(r.error?.code, method).toBe(INVALID_REQUEST);
    }
    c.notify("textDocument/didOpen", { textDocument: { uri: "file:///late.nn", languageId: "nn", version: 1, text: CNN } });
    c.notify("exit", null);
    expect(await c.exited).toBe(0);
    expect(c.notifications.some((n) => (n.params as PublishParams | undefined)?.uri === "file:///late.nn")).toBe(false);
  });

  it("exits 1 on exit without shutdown", async () => {
    const c = await startServer();
    c.notify("exit", null);
    expect(await c.exited).toBe(1);
  });

  it("exits within seconds when the client closes its end of stdin: 1, or 0 after shutdown", async () => {
    for (const shutdown of [false, true]) {
      const c = await startServer();
      if (shutdown) await c.call("shutdown");
      const t0 = performance.now();
      c.proc.stdin.end();
      const code = await Promise.race([c.exited, new Promise<string>((r) => setTimeout(() => r("still running"), 5000))]);
      if (code === "still running") c.kill();
      expect(code).toBe(shutdown ? 0 : 1);
      expect(performance.now() - t0).toBeLessThan(5000);
    }
  });
});
