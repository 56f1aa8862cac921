/**
 * The front end never throws and never hangs: every shipped spec, truncated at every token,
 * and with tokens deleted, duplicated and swapped, comes back as well-formed diagnostics.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CODES } from "../src/diagnostics/codes.js";
import { lexTokens } from "../src/parser/lexer.js";
import { checkText } from "../src/pipeline.js";
import { seededRandom } from "../src/common/random.js";

const root = join(import.meta.dirname, "..");
function nnFiles(dir: string): string[] {
  try {
    return readdirSync(join(root, dir))
      .filter((f) => f.endsWith(".nn"))
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}
const files = [...nnFiles("specs"), ...nnFiles("grammar/examples")];

/** Per input, how long "never hangs" may take before we call it a hang (not a speed target). */
const HANG_MS = 2000;

function assertWellFormed(text: string, label: string): void {
  const t0 = performance.now();
  let result: ReturnType<typeof checkText>;
  try {
    result = checkText(text);
  } catch (e) {
    throw new Error(`${label}: the checker threw ${e instanceof Error ? e.stack : String(e)}\n--- input ---\n${text}`);
  }
  const ms = performance.now() - t0;
  if (ms > HANG_MS) throw new Error(`${label}: took ${ms.toFixed(0)} ms\n--- input ---\n${text}`);
  for (const d of result.diagnostics) {
    const ok =
      Object.hasOwn(CODES, d.code) &&
      d.message.length > 0 &&
      d.range.start.offset >= 0 &&
      d.range.end.offset <= text.length &&
      d.range.start.offset <= d.range.end.offset &&
      Number.isInteger(d.range.start.line) &&
      Number.isInteger(d.range.start.character) &&
      !/undefined|NaN|\[object Object\]/.test(d.message + (d.hint ?? ""));
    if (!ok) throw new Error(`${label}: malformed diagnostic ${JSON.stringify(d)}\n--- input ---\n${text}`);
  }
}

function sample<T>(items: T[], n: number, next: () => number): T[] {
  if (items.length <= n) return items;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(items[Math.floor(next() * items.length)]!);
  return out;
}

describe("the front end under mutation", () => {
  it("has shipped specs to mutate", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    const text = readFileSync(join(root, file), "utf8");
    const tokens = lexTokens(text).tokens;
    const next = seededRandom(0x5eed ^ text.length);
    const idx = tokens.map((_, i) => i);

    it(`${file}: every truncation ends in diagnostics, never a throw`, () => {
      for (const i of sample(idx, 250, next)) {
        const cut = tokens[i]!.startOffset;
        const truncated = text.slice(0, cut);
        assertWellFormed(truncated, `${file} truncated at ${cut}`);
        // Cut inside a declaration: an open brace is never closed, which must be reported.
        const open = (truncated.replace(/#[^\n]*/g, "").match(/\{/g) ?? []).length;
        const close = (truncated.replace(/#[^\n]*/g, "").match(/\}/g) ?? []).length;
        if (open > close) expect(checkText(truncated).diagnostics.some((d) => d.severity === "error"), `${file} cut at ${cut}`).toBe(true);
      }
    });

    it(`${file}: deleting, duplicating or swapping tokens never throws`, () => {
      for (const i of sample(idx, 200, next)) {
        const t = tokens[i]!;
        const end = t.endOffset! + 1;
        assertWellFormed(text.slice(0, t.startOffset) + text.slice(end), `${file} without token ${i}`);
        assertWellFormed(text.slice(0, end) + " " + t.image + text.slice(end), `${file} with token ${i} doubled`);
        const u = tokens[i + 1];
        if (u) {
          const swapped = text.slice(0, t.startOffset) + u.image + text.slice(end, u.startOffset) + t.image + text.slice(u.endOffset! + 1);
          assertWellFormed(swapped, `${file} with tokens ${i} and ${i + 1} swapped`);
        }
      }
    });
  }

  it("survives hostile inputs: deep nesting, huge numbers, unicode, long lines, control characters", () => {
    const deep = "model m {\n input 3\n" + "repeat 2 { ".repeat(300) + "dense 3" + " }".repeat(300) + "\n}";
    const parens = "model m {\n input 3\n dense " + "(".repeat(2000) + "1" + ")".repeat(2000) + "\n}";
    const inputs = [
      "",
      "}}}}{{{{",
      "model",
      "model m { input 1e999 }",
      "model m { input 99999999999999999999x99999999999999999999 }",
      "model m {\n input 10\n repeat 1000000000 { dense 10 }\n}",
      "model m {\n input 10\n repeat 100 { repeat 100 { repeat 100 { dense 2 } } }\n}",
      "model m {\n input 28x28x1\n conv 0x0x0 stride 0 dilation 0\n}",
      "model m {\n input 10\n dense 10 / 0\n}",
      "model 模型 { input 10 → dense 3 }",
      "model m {\n input 10 # ✓ 🚀\n dense 3 \u202e relu\n}",
      "model m {\n input " + "9".repeat(100_000) + "\n}",
      "model m {\n input 10\n " + "dense 3 -> ".repeat(5000) + "dense 1\n}",
      "\u0000\u0001\u0002 model \u0007 m {}",
      "block b(c) {\n b(c)\n}\nblock a {\n b(1)\n}\nmodel m {\n input 3\n a()\n}",
      "train x { data mnist(train: -1, test: 1e9) optim lm(-1) }",
      'train x {\n data csv("' + "a".repeat(10000) + '\n}',
      deep,
      parens,
    ];
    for (const [i, input] of inputs.entries()) assertWellFormed(input, `hostile input ${i}`);
  });
});
