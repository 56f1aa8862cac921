/**
 * The language server on documents just under the size it checks (1,048,576 UTF-16 units),
 * with an error on every line, of five kinds: an unknown layer kind, a stray character, a
 * Keras layer, a shape error, a misspelt option. Each is opened in the built server
 * (`node dist/nnc.mjs lsp --stdio`), then edited ten times in a row, each edit followed at
 * once by a hover, inlay hints and a completion, as an editor sends them while one types.
 *
 * A check of such a document takes seconds, so requests after an edit are answered from the
 * last analysis (src/lsp/view.ts) and the document is checked once the edits pause. The test
 * prints each request's latency and the server's peak RSS, and asserts generous bounds (the
 * machine is shared); it also checks that the answers land on the right lines of the edited
 * text, that nothing is answered on the lines the edits touched, and that the last publish
 * is the last version's, with its diagnostics.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LspClient, pos, range, type PublishParams } from "./lsp-client.js";

const LIMIT = 1024 * 1024;
const EDITS = 10;
/** Each edit inserts this line after `input 64` (line 2), so every later line moves down one. */
const INSERTED = "  dense 8\n";

interface Kind {
  name: string;
  line: string;
  code: string;
  /** Whether a hover on one of its lines finds a layer (an unknown kind is not one). */
  layer: boolean;
  /** Whether its layers have shapes to show as inlay hints (none after a shape error). */
  hints: boolean;
}

const KINDS: Kind[] = [
  { name: "an unknown layer kind", line: "  densse 64 relu", code: "NN2001", layer: true, hints: false },
  { name: "a stray character", line: "  dense 64 relu $", code: "NN1001", layer: true, hints: true },
  { name: "a Keras layer", line: "  Dense(64, activation='relu')", code: "NN1025", layer: true, hints: true },
  { name: "a shape error", line: "  reshape 5x5 -> flatten -> dense 64", code: "NN3003", layer: true, hints: false },
  { name: "a misspelt option", line: "  dense 64 relu strid 2", code: "NN2002", layer: true, hints: true },
];

/** `model big { input 64, line, line, … }`, as long as it can be under LIMIT, room left for the edits. */
function documentOf(line: string): string {
  const head = "model big {\n  input 64\n";
  const tail = "}\n";
  const room = LIMIT - head.length - tail.length - EDITS * INSERTED.length;
  return head + `${line}\n`.repeat(Math.floor(room / (line.length + 1))) + tail;
}

let client: LspClient;
let version = 0;

function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${client.proc.pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, performance.now() - t0];
}

function publishOf(uri: string, v: number, timeoutMs: number): Promise<PublishParams> {
  return client.waitFor((n) => n.method === "textDocument/publishDiagnostics" && (n.params as PublishParams).uri === uri && (n.params as PublishParams).version === v, timeoutMs).then((n) => n.params as PublishParams);
}

interface Hover {
  contents: { value: string };
  range?: { start: { line: number; character: number }; end: { line: number; character: number } };
}
interface Hint {
  position: { line: number; character: number };
  label: string;
}

beforeAll(async () => {
  client = new LspClient();
  await client.call("initialize", { processId: null, rootUri: null, capabilities: {} });
  client.notify("initialized", {});
});
afterAll(() => client.kill());

describe("nnc lsp on a document just under 1 MB with an error on every line", () => {
  it.each(KINDS)(
    "answers hovers, inlay hints and completions within a second and a half of each edit ($name), and publishes the last version's diagnostics",
    async (kind) => {
      const uri = `file:///large-${kind.code}.nn`;
      const text = documentOf(kind.line);
      expect(text.length).toBeLessThanOrEqual(LIMIT - EDITS * INSERTED.length);
      expect(text.length).toBeGreaterThan(LIMIT - EDITS * INSERTED.length - kind.line.length - 2);
      const bodyLines = text.split("\n").length - 4;

      const [opened, openMs] = await timed(() => {
        client.notify("textDocument/didOpen", { textDocument: { uri, languageId: "nn", version: ++version, text } });
        return publishOf(uri, version, 60_000);
      });
      expect(opened.diagnostics).toHaveLength(1001);
      expect(opened.diagnostics[0]!.code).toBe(kind.code);
      expect(opened.diagnostics[0]!.range.start.line).toBe(2);
      expect(opened.diagnostics[1000]!.message).toMatch(/^…and [\d,]+ more problems from here on/);

      const seen = client.notifications.length;
      const hovers: number[] = [];
      const hints: number[] = [];
      const completions: number[] = [];
      for (let e = 1; e <= EDITS; e++) {
        client.notify("textDocument/didChange", { textDocument: { uri, version: ++version }, contentChanges: [{ range: range(2, 0, 2, 0), text: INSERTED }] });
        const lines = bodyLines + e + 4;
        // Above the edits: the `input` line, as the last check found it.
        const [above, aboveMs] = await timed(() => client.call<Hover | null>("textDocument/hover", { textDocument: { uri }, position: pos(1, 3) }));
        hovers.push(aboveMs);
        expect(above?.contents.value).toContain("input");
        expect(above?.range?.start.line).toBe(1);
        // Below them: a line of the kind, where it is now.
        const near = lines - 5;
        const [below, belowMs] = await timed(() => client.call<Hover | null>("textDocument/hover", { textDocument: { uri }, position: pos(near, 4) }));
        hovers.push(belowMs);
        if (kind.layer) expect(below?.range?.start.line).toBe(near);
        else expect(below).toBeNull();
        // On the lines just inserted: not known until the next check.
        expect(await client.call("textDocument/hover", { textDocument: { uri }, position: pos(2, 4) })).toBeNull();

        const [shown, hintsMs] = await timed(() => client.call<Hint[]>("textDocument/inlayHint", { textDocument: { uri }, range: range(near - 10, 0, near, 0) }));
        hints.push(hintsMs);
        for (const h of shown) {
          expect(h.position.line).toBeGreaterThanOrEqual(near - 10);
          expect(h.position.line).toBeLessThanOrEqual(near);
          // After a layer's last character, where the line (which has not moved in its text) says.
          const before = kind.line.slice(0, h.position.character);
          expect(before).toMatch(/\S$/);
          expect(kind.line.slice(h.position.character)).toMatch(/^(\s|$)/);
        }
        if (kind.hints) expect(shown.length).toBeGreaterThan(0);

        const [items, completionMs] = await timed(() => client.call<{ label: string }[]>("textDocument/completion", { textDocument: { uri }, position: pos(2, 2) }));
        completions.push(completionMs);
        expect(items.map((i) => i.label)).toContain("conv");
      }

      // The edits paused: one check, of the last version, with its lines.
      const [last, lastMs] = await timed(() => publishOf(uri, version, 60_000));
      const during = client.notifications.slice(seen).filter((n) => n.method === "textDocument/publishDiagnostics" && (n.params as PublishParams).uri === uri);
      expect(last.diagnostics).toHaveLength(1001);
      expect(last.diagnostics[0]!.code).toBe(kind.code);
      expect(last.diagnostics[0]!.range.start.line).toBe(2 + EDITS);
      // Now the inserted lines are known.
      const inserted = await client.call<Hover | null>("textDocument/hover", { textDocument: { uri }, position: pos(2, 4) });
      expect(inserted?.contents.value).toContain("`64 → 8`");

      const f = (ms: number[]): string => ms.map((x) => x.toFixed(0)).join(" ");
      console.log(
        `${(text.length / 1024).toFixed(0)} KB, ${kind.name} on each of ${bodyLines.toLocaleString("en-US")} lines: first diagnostics after ${openMs.toFixed(0)} ms; ` +
          `after each of ${EDITS} edits, hover ms ${f(hovers)}; inlay hints ms ${f(hints)}; completion ms ${f(completions)}; ` +
          `last version's diagnostics ${lastMs.toFixed(0)} ms after the last request (${during.length} publish${during.length === 1 ? "" : "es"} after the edits began); server peak RSS ${peakRssMb().toFixed(0)} MB`,
      );
      for (const ms of [...hovers, ...hints, ...completions]) expect(ms).toBeLessThan(1500);
      // Checked once the edits paused, not once per edit.
      expect(during.length).toBeLessThanOrEqual(3);
      expect(peakRssMb()).toBeLessThan(600);

      client.notify("textDocument/didClose", { textDocument: { uri } });
    },
    180_000,
  );
});
