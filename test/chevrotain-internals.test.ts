/**
 * nnc's parser and lexer replace or read members of Chevrotain that are not in its public
 * typings (src/parser/grammar.ts, CHEVROTAIN_INTERNALS). Chevrotain is pinned to an exact
 * version for that; these tests fail by name when an upgrade changes one of them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CHEVROTAIN_INTERNALS, missingChevrotainInternals, NnParser } from "../src/parser/grammar.js";
import { nnLexer } from "../src/parser/lexer.js";
import { parse } from "../src/parser/index.js";

const root = join(import.meta.dirname, "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies: Record<string, string> };
const installed = JSON.parse(readFileSync(join(root, "node_modules", "chevrotain", "package.json"), "utf8")) as { version: string };

describe("Chevrotain's internals that nnc relies on", () => {
  it("are those of the exact version package.json pins, which is the one installed", () => {
    expect(pkg.dependencies["chevrotain"], "pin chevrotain to an exact version: nnc patches its internals").toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed.version).toBe(pkg.dependencies["chevrotain"]);
  });

  const parser = new NnParser();
  it.each(CHEVROTAIN_INTERNALS.map((i) => [i.name, i]))("%s is still there, in the form nnc expects", (_name, internal) => {
    const missing = missingChevrotainInternals(parser, nnLexer).filter((m) => m.includes(`\`${internal.name}\``));
    expect(missing).toEqual([]);
  });

  it("names a missing internal in plain words", () => {
    const missing = missingChevrotainInternals({}, {});
    expect(missing).toHaveLength(CHEVROTAIN_INTERNALS.length);
    expect(missing[0]).toMatch(/^Chevrotain's parser no longer has `CST_STACK` as an array \(/);
  });

  it("the patched parser still recovers as Chevrotain does, and fast: a body of 3,000 stray tokens", () => {
    const text = `train m {\n  loss mse\n${"  -> ".repeat(3000)}\n}\n`;
    const t0 = performance.now();
    const r = parse(text);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(r.diagnostics.length).toBeGreaterThan(0);
    expect(r.diagnostics.every((d) => d.code.startsWith("NN1"))).toBe(true);
  });
});
