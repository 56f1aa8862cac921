import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Diagnostic, Fix } from "../src/diagnostics/diagnostic.js";
import { checkText } from "../src/pipeline.js";

/** `text` with the fix's edits applied (they do not overlap; applied from the end). */
function apply(text: string, fix: Fix): string {
  const edits = [...fix.edits].sort((a, b) => b.range.start.offset - a.range.start.offset);
  let out = text;
  for (const e of edits) out = out.slice(0, e.range.start.offset) + e.newText + out.slice(e.range.end.offset);
  return out;
}

function withFix(text: string, code: string): { d: Diagnostic; fixes: Fix[] } {
  const d = checkText(text).diagnostics.find((x) => x.code === code);
  if (!d) throw new Error(`no ${code} in:\n${text}`);
  return { d, fixes: d.fixes ?? [] };
}

/** After the fix, no diagnostic of the same code is left at the same place. */
function fixedAt(text: string, code: string, fix: Fix): Diagnostic[] {
  const after = apply(text, fix);
  return checkText(after).diagnostics.filter((x) => x.code === code);
}

const CNN = "model m {\n  input 28x28x1\n  conv 5x5x32 relu same -> pool 2\n";

describe("fixes: the hints as edits", () => {
  it("puts `flatten` (or `global avgpool`) before a dense layer that gets an image", () => {
    const text = CNN + "  dense 10 softmax\n}\n";
    const { fixes } = withFix(text, "NN3001");
    expect(fixes.map((f) => f.title)).toEqual(["Add `flatten` before `dense`", "Add `global avgpool` before `dense`"]);
    expect(apply(text, fixes[0]!)).toBe(CNN + "  flatten -> dense 10 softmax\n}\n");
    for (const f of fixes) expect(checkText(apply(text, f)).diagnostics).toEqual([]);
  });

  it("inserts `flatten` in the middle of a chain", () => {
    const text = "model m {\n  input 8x8x3\n  conv 3x3x4 -> dense 2\n}\n";
    const { fixes } = withFix(text, "NN3001");
    expect(apply(text, fixes[0]!)).toBe("model m {\n  input 8x8x3\n  conv 3x3x4 -> flatten -> dense 2\n}\n");
  });

  it("adds `project` to a residual whose paths differ in channels or size", () => {
    const text = "model m {\n  input 32x32x16\n  residual { conv 3x3x32 stride 2 same }\n}\n";
    const { fixes } = withFix(text, "NN3004");
    expect(fixes).toHaveLength(1);
    expect(apply(text, fixes[0]!)).toBe("model m {\n  input 32x32x16\n  residual project { conv 3x3x32 stride 2 same }\n}\n");
    expect(checkText(apply(text, fixes[0]!)).diagnostics).toEqual([]);
  });

  it("offers `same` padding, not `project`, where `valid` padding shrank the main path", () => {
    const text = "model m {\n  input 8x8x4\n  residual { conv 3x3x4 }\n}\n";
    const { d, fixes } = withFix(text, "NN3004");
    expect(d.hint).not.toContain("Add `project`");
    expect(fixes.map((f) => f.title)).toEqual(["Use `same` padding in the main path"]);
    expect(apply(text, fixes[0]!)).toBe("model m {\n  input 8x8x4\n  residual { conv 3x3x4 same }\n}\n");
    expect(checkText(apply(text, fixes[0]!)).diagnostics).toEqual([]);
  });

  it("adds `same` and `project` together where the main path also changes the channels", () => {
    const text = "model m {\n  input 8x8x4\n  residual {\n    conv 3x3x8 relu\n    conv 3x3x8\n  }\n}\n";
    const { fixes } = withFix(text, "NN3004");
    expect(fixes).toHaveLength(1);
    expect(checkText(apply(text, fixes[0]!)).diagnostics).toEqual([]);
  });

  it("offers no fix where neither `same` nor `project` can make the paths agree", () => {
    const text = "block shrink { conv 3x3x4 }\nmodel m {\n  input 8x8x4\n  residual { shrink() }\n}\n";
    expect(withFix(text, "NN3004").fixes).toEqual([]);
  });

  const misspelt: [string, string, string][] = [
    ["a layer kind", "model m {\n  input 4\n  dens 2\n}\n", "NN2001"],
    ["a keyword with a body", "model m {\n  input 4\n  repaet 2 { dense 4 }\n}\n", "NN2001"],
    ["an option", "model m {\n  input 8x8x3\n  conv 3x3x4 strid 2\n}\n", "NN2002"],
    ["a trailing activation", "model m {\n  input 4\n  dense 2 sigmiod\n}\n", "NN2002"],
    ["a lone activation", "model m {\n  input 4\n  dense 2\n  sigmiod\n}\n", "NN2001"],
    ["an initialiser", "model m {\n  input 4\n  dense 2 init he_norml\n}\n", "NN2012"],
    ["a parameter in an expression", "model m(units = 3) {\n  input 4\n  dense unit\n}\n", "NN2003"],
    ["a block", "block twice(c) {\n  dense c -> dense c\n}\nmodel m {\n  input 4\n  twise(3)\n}\n", "NN2001"],
    ["a block's argument name", "block twice(c) {\n  dense c -> dense c\n}\nmodel m {\n  input 4\n  twice(cc: 3)\n}\n", "NN2007"],
    ["a declaration keyword", "modle m {\n  input 4\n}\nmodel n {\n  input 4\n  dense 1\n}\n", "NN1007"],
    ["a trained model", "model mlp {\n  input 4\n  dense 2 softmax\n}\ntrain mpl {\n  data ball()\n  loss crossentropy\n}\n", "NN2004"],
    ["a recipe setting", "model m {\n  input 10\n  dense 1 sigmoid\n}\ntrain m {\n  data ball()\n  loss binary_crossentropy\n  epoch 3\n}\n", "NN4001"],
    ["a loss", "model m {\n  input 10\n  dense 1 sigmoid\n}\ntrain m {\n  data ball()\n  loss binary_crossentropi\n}\n", "NN4005"],
    ["an optimizer", "model m {\n  input 10\n  dense 1 sigmoid\n}\ntrain m {\n  data ball()\n  loss binary_crossentropy\n  optim adma\n}\n", "NN4003"],
  ];
  for (const [what, text, code] of misspelt) {
    it(`replaces a misspelt ${what.replace(/^an? /, "")} with the suggestion (${code})`, () => {
      const { d, fixes } = withFix(text, code);
      expect(fixes).toHaveLength(1);
      const fix = fixes[0]!;
      const guess = /Did you mean `([^`]+)`/.exec(d.hint ?? "")?.[1];
      expect(fix.title).toBe(`Replace with \`${guess}\``);
      // The edit replaces exactly the word the diagnostic is about.
      expect(fix.edits[0]!.newText).toBe(guess);
      expect(text.slice(fix.edits[0]!.range.start.offset, fix.edits[0]!.range.end.offset)).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
      expect(fixedAt(text, code, fix)).toEqual([]);
    });
  }

  it("removes its diagnostic with every fix the wrong specs get, and adds no syntax error", () => {
    const dir = "specs/wrong";
    let seen = 0;
    const problems: string[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".nn"))) {
      const text = readFileSync(join(dir, f), "utf8");
      const before = checkText(text).diagnostics;
      for (const d of before) {
        for (const fix of d.fixes ?? []) {
          seen++;
          const after = checkText(apply(text, fix)).diagnostics;
          // The diagnostic is gone: one fewer of its code, and no new syntax error.
          const count = (ds: Diagnostic[], code: string): number => ds.filter((x) => x.code === code).length;
          if (count(after, d.code) >= count(before, d.code)) problems.push(`${f}:${d.range.start.line + 1} ${d.code} "${fix.title}" leaves its diagnostic`);
          const syntax = (ds: Diagnostic[]): number => ds.filter((x) => x.code.startsWith("NN1") && x.code !== d.code).length;
          if (syntax(after) > syntax(before)) problems.push(`${f}:${d.range.start.line + 1} ${d.code} "${fix.title}" adds a syntax error: ${after.filter((x) => x.code.startsWith("NN1")).map((x) => `${x.code} ${x.message}`).join("; ")}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(seen).toBeGreaterThan(40);
  });

  it("gives every fix of the wrong specs ranges inside the file, with lines and columns that agree with the offsets", () => {
    const dir = "specs/wrong";
    let seen = 0;
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".nn"))) {
      const text = readFileSync(join(dir, f), "utf8");
      for (const d of checkText(text).diagnostics) {
        for (const fix of d.fixes ?? []) {
          for (const e of fix.edits) {
            seen++;
            expect(e.range.start.offset).toBeGreaterThanOrEqual(0);
            expect(e.range.end.offset).toBeLessThanOrEqual(text.length);
            const lines = text.slice(0, e.range.start.offset).split(/\r\n|\r|\n/);
            expect([e.range.start.line, e.range.start.character]).toEqual([lines.length - 1, lines[lines.length - 1]!.length]);
          }
        }
      }
    }
    expect(seen).toBeGreaterThan(5);
  });
});
