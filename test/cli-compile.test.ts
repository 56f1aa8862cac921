/**
 * Compiling for the commands (issue 12, items 5 and 6): Prettier in one pass and only up to
 * FORMAT_LIMIT, one model generated when one is asked for, and `nnc sanity` telling the
 * runtime what `nnc train` tells it (the multiply-adds that decide wasm's threads).
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FORMAT_LIMIT, formatTypeScript, formatModules, generate, isGenerated, modelInfo } from "../src/codegen/index.js";
import { checkText } from "../src/pipeline.js";
import { nnc, ROOT } from "./cli-run.js";

const dir = mkdtempSync(join(tmpdir(), "nnc-compile-"));
const shipped = readdirSync(join(ROOT, "specs")).filter((f) => f.endsWith(".nn"));

function program(text: string) {
  const r = checkText(text);
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.program;
}

/** `n` small models, the first with a recipe. */
function manyModels(n: number): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`model m${i} {\n  input 10\n  dense 16 relu\n  dense 2 softmax\n}\n`);
  parts.push("train m0 {\n  data ball(dims: 10, n: 200, test: 50)\n  loss crossentropy\n  epochs 1\n  seed 1\n}\n");
  return parts.join("");
}

describe("formatting", () => {
  it("formats several modules in one Prettier call exactly as one call each would", async () => {
    const codes: string[] = [];
    for (const spec of shipped) {
      const text = readFileSync(join(ROOT, "specs", spec), "utf8");
      const files = await generate(program(text), { specPath: spec, sourceLines: text.split("\n"), version: "t", format: false });
      codes.push(...files.map((f) => f.content));
    }
    expect(codes.length).toBeGreaterThan(5);
    const together = await formatModules(codes);
    const alone = await Promise.all(codes.map(formatTypeScript));
    expect(together).toEqual(alone);
  }, 60_000);

  it("formats up to the limit, and above it leaves the emitter's code and says so", async () => {
    const text = manyModels(3);
    const opts = { specPath: "x.nn", sourceLines: text.split("\n"), version: "t" };
    const plain = await generate(program(text), { ...opts, format: false });
    const size = plain.reduce((n, f) => n + f.content.length, 0);
    const within = await generate(program(text), { ...opts, formatLimit: size });
    expect(within.every((f) => f.formatted)).toBe(true);
    expect(within.map((f) => f.content)).toEqual(await Promise.all(plain.map((f) => formatTypeScript(f.content))));
    const over = await generate(program(text), { ...opts, formatLimit: size - 1 });
    expect(over.every((f) => !f.formatted)).toBe(true);
    expect(over.map((f) => f.content)).toEqual(plain.map((f) => f.content));
  });

  it("generates only the models asked for", async () => {
    const text = manyModels(4);
    const files = await generate(program(text), { specPath: "x.nn", sourceLines: text.split("\n"), version: "t", models: ["m2", "m0"] });
    expect(files.map((f) => f.model)).toEqual(["m0", "m2"]);
    expect(files.map((f) => f.hasRecipe)).toEqual([true, false]);
  });

  it("builds a spec over the limit quickly into valid modules nnc owns, and says they are not formatted", async () => {
    const n = 700;
    const spec = join(dir, "many.nn");
    writeFileSync(spec, manyModels(n));
    const out = join(dir, "many-out");
    const r = nnc(["build", spec, "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`note: the code is not formatted with Prettier: the 700 modules come to \\d\\.\\d MB, .* up to ${FORMAT_LIMIT / 1024} KB`));
    expect(r.stdout).toContain(`… and ${n - 50} more modules in ${out} (700 in all).`);
    expect(readdirSync(out)).toHaveLength(n);
    const m0 = readFileSync(join(out, "m0.ts"), "utf8");
    expect(isGenerated(m0)).toBe(true);
    const { transform } = await import("esbuild");
    await expect(transform(m0, { loader: "ts", format: "esm" })).resolves.toBeDefined();
  }, 60_000);
});

describe("what the runtime is told about a model", () => {
  for (const spec of shipped) {
    it(`is for specs/${spec} what its generated train() passes`, async () => {
      const text = readFileSync(join(ROOT, "specs", spec), "utf8");
      const p = program(text);
      const files = await generate(p, { specPath: spec, sourceLines: text.split("\n"), version: "t", format: false });
      for (const f of files.filter((f) => f.hasRecipe)) {
        // The emitter writes the information as one JSON literal, the last argument of nnc.train.
        const literal = /return nnc\.train\(\w+, recipe, options, (\{.*\})\);/.exec(f.content)?.[1];
        expect(literal, f.name).toBeDefined();
        expect(modelInfo(p.models.find((m) => m.name === f.model)!)).toEqual(JSON.parse(literal!));
      }
    });
  }

  const backendLine = (out: string): string | undefined => /^backend: .*$/m.exec(out)?.[0];

  it.skipIf(availableParallelism() < 2)("makes nnc sanity take wasm threads exactly where nnc train takes them", () => {
    const wide = join(dir, "wide.nn");
    writeFileSync(wide, "model wide {\n  input 2000\n  dense 2000 relu\n  dense 2 softmax\n}\ntrain wide {\n  data ball(dims: 2000, n: 200, test: 50)\n  loss crossentropy\n  batch 32\n  epochs 1\n  seed 1\n}\n");
    const run = (args: string[]) => {
      const saved = process.env["NNC_WASM_THREADS"];
      delete process.env["NNC_WASM_THREADS"];
      try {
        return nnc(args);
      } finally {
        if (saved !== undefined) process.env["NNC_WASM_THREADS"] = saved;
      }
    };
    for (const [spec, threads] of [["specs/block.nn", false], [wide, true]] as const) {
      const sanity = run(["sanity", spec, "--backend", "wasm", "--epochs", "1"]);
      const train = run(["train", spec, "--backend", "wasm", "--epochs", "1", "--out", mkdtempSync(join(dir, "run-"))]);
      expect(train.code, train.stderr).toBe(0);
      const line = backendLine(train.stdout + train.stderr);
      expect(line).toMatch(threads ? /\d+ threads\)/ : /one thread\)/);
      expect(backendLine(sanity.stdout)).toBe(line);
      // The small model says why it stays on one thread: the same multiply-adds as train.
      if (!threads) expect(sanity.stdout).toContain("wasm: one thread, since this model is small (1.3 M multiply-adds per batch");
    }
  }, 120_000);
});
