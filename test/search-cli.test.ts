/**
 * `search` blocks through `nnc search`: seeded sampling (the same search draws the same
 * configurations), grids, values written into the spec at their exact places, trials trained
 * into their own folders with their logs, the results sorted by the objective, the best
 * configuration written out as a spec, and an interrupted search (killed mid-way) resuming
 * to the same results as an uninterrupted one.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configurations, formatValue, ranked, substitute, type TrialRecord } from "../src/cli/search-command.js";
import { checkText } from "../src/pipeline.js";
import type { CheckedSearch } from "../src/typecheck/index.js";
import { nnc } from "./cli-run.js";

const root = join(import.meta.dirname, "..");
const CLI = join(root, "dist", "nnc.mjs");


function checked(text: string): { search: CheckedSearch; ast: ReturnType<typeof checkText>["ast"] } {
  const r = checkText(text);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("; "));
  return { search: r.program.searches[0]!, ast: r.ast };
}

const SPEC = `# a small search
model mlp(width = 8, depth = 1) {
  input 10
  repeat depth { dense width tanh init glorot_normal }
  dense 1 sigmoid
}

train mlp {
  data ball(dims: 10, n: 240, test: 60)
  validate 0.25
  normalize standard
  loss binary_crossentropy
  optim adam(0.9, 0.999) lr 1e-3
  epochs 10
  seed 3
}

search mlp random 5 {
  lr ~ loguniform(1e-3, 1e-1)
  batch ~ choice(16, 64)
  width ~ int(4, 32)
  maximize val_acc
  epochs 2
}
`;

describe("sampling", () => {
  const { search } = checked(SPEC);
  it("draws the same configurations for the same seed, each trial independent of the budget", () => {
    const a = configurations(search, 3, 5);
    expect(configurations(search, 3, 5)).toEqual(a);
    expect(configurations(search, 3, 8).slice(0, 5)).toEqual(a);
    expect(configurations(search, 4, 5)).not.toEqual(a);
    expect(new Set(a.map((c) => JSON.stringify(c))).size).toBe(5);
    for (const c of a) {
      expect(c["lr"]).toBeGreaterThanOrEqual(1e-3);
      expect(c["lr"]).toBeLessThanOrEqual(1e-1);
      expect(Number(c["lr"]!.toPrecision(3))).toBe(c["lr"]);
      expect([16, 64]).toContain(c["batch"]);
      expect(Number.isInteger(c["width"])).toBe(true);
      expect(c["width"]).toBeGreaterThanOrEqual(4);
      expect(c["width"]).toBeLessThanOrEqual(32);
    }
  });

  it("spreads a log-uniform draw evenly over the decades", () => {
    const lrs = configurations(search, 11, 400).map((c) => Math.log10(c["lr"]!));
    const low = lrs.filter((l) => l < -2).length;
    expect(low).toBeGreaterThan(160);
    expect(low).toBeLessThan(240);
  });

  it("enumerates a grid, the last variable fastest, and caps it at the budget", () => {
    const grid = checked(SPEC.replace("random 5", "grid").replace("lr ~ loguniform(1e-3, 1e-1)", "lr ~ choice(0.1, 0.01)").replace("int(4, 32)", "int(4, 6)")).search;
    const all = configurations(grid, 0, undefined);
    expect(all).toHaveLength(12);
    expect(all.slice(0, 4)).toEqual([
      { lr: 0.1, batch: 16, width: 4 },
      { lr: 0.1, batch: 16, width: 5 },
      { lr: 0.1, batch: 16, width: 6 },
      { lr: 0.1, batch: 64, width: 4 },
    ]);
    expect(configurations(grid, 0, 5)).toHaveLength(5);
  });
});

describe("writing a configuration into the spec", () => {
  it("replaces the values where they are written and leaves every other byte alone", () => {
    const { search, ast } = checked(SPEC);
    const out = substitute(SPEC, ast, search, { lr: 0.00316, batch: 64, width: 17 });
    expect(out).toContain("model mlp(width = 17, depth = 1) {");
    expect(out).toContain("  optim adam(0.9, 0.999) lr 0.00316\n");
    // The recipe had no batch: a line at its end.
    expect(out).toContain("  seed 3\n  batch 64\n}");
    expect(out.replace("17", "8").replace("0.00316", "1e-3").replace("  batch 64\n", "")).toBe(SPEC);
    expect(checkText(out).diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });

  it("follows a parameter into the recipe's arguments, a separate lr, clipping and epochs", () => {
    const text = SPEC.replace("train mlp {", "train mlp(width: 12) {").replace("optim adam(0.9, 0.999) lr 1e-3", "optim adam\n  lr 1e-3\n  clip norm 1.0").replace("batch ~ choice(16, 64)", "clip ~ uniform(0.5, 2)\n  epochs ~ int(2, 3)");
    const text2 = text.replace("  epochs 2\n", "");
    const { search, ast } = checked(text2);
    const out = substitute(text2, ast, search, { lr: 0.05, clip: 1.5, epochs: 3, width: 20 });
    expect(out).toContain("train mlp(width: 20) {");
    expect(out).toContain("model mlp(width = 8, depth = 1)");
    expect(out).toContain("  lr 0.05\n  clip norm 1.5\n");
    expect(out).toContain("  epochs 3\n");
    expect(checkText(out).diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });

  it("formats values as a spec writes them and ranks failures last", () => {
    expect(formatValue(64)).toBe("64");
    expect(formatValue(0.0031622776)).toBe("0.00316");
    const r = (trial: number, value: number | undefined, status: "ok" | "failed" = "ok"): TrialRecord => ({ trial, values: {}, status, metric: "val_acc", seconds: 1, ...(value !== undefined ? { value } : {}) });
    expect(ranked([r(1, 0.5), r(2, undefined, "failed"), r(3, 0.9), r(4, 0.5)], "maximize").map((x) => x.trial)).toEqual([3, 1, 4, 2]);
    expect(ranked([r(1, 0.5), r(2, 0.1)], "minimize").map((x) => x.trial)).toEqual([2, 1]);
  });
});

function results(dir: string): TrialRecord[] {
  return readFileSync(join(dir, "results.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TrialRecord);
}

describe("nnc search", () => {
  const dir = mkdtempSync(join(tmpdir(), "nnc-search-"));
  const spec = join(dir, "mlp.nn");
  writeFileSync(spec, SPEC);

  it("trains every trial in its folder, sorts the results and writes the best spec", () => {
    const out = join(dir, "full");
    const r = nnc(["search", spec, "--backend", "cpu", "--out", out]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const records = results(out);
    expect(records.map((x) => x.trial)).toEqual([1, 2, 3, 4, 5]);
    expect(records.every((x) => x.status === "ok" && x.epochs === 2 && typeof x.value === "number")).toBe(true);
    for (const t of ["trial-001", "trial-005"]) {
      const log = readFileSync(join(out, t, "log.txt"), "utf8");
      expect(log.split("\n").filter((l) => l.startsWith('{"epoch":'))).toHaveLength(2);
      expect(existsSync(join(out, t, "model.json"))).toBe(true);
      expect(readFileSync(join(out, t, "spec.nn"), "utf8")).toContain(`lr ${formatValue(records[Number(t.slice(-1)) - 1]!.values["lr"]!)}`);
    }
    // The table, best first.
    const rows = r.stdout.split("\n").filter((l) => /^\s+\d+\s+trial-\d{3}\s/.test(l));
    expect(rows).toHaveLength(5);
    const accs = rows.map((l) => Number(l.trim().split(/\s+/)[5]));
    expect([...accs].sort((a, b) => b - a)).toEqual(accs);
    const best = ranked(records, "maximize")[0]!;
    const bestSpec = readFileSync(join(out, "best.nn"), "utf8");
    expect(bestSpec).toMatch(new RegExp(`^# nnc search: the best of 5 trials was trial-00${best.trial} \\(val_acc ${best.value!.toFixed(4)}`));
    expect(bestSpec).toContain(`model mlp(width = ${best.values["width"]}, depth = 1)`);
    expect(bestSpec).toContain(`lr ${formatValue(best.values["lr"]!)}`);
    expect(nnc(["check", join(out, "best.nn")]).code).toBe(0);
    expect(r.stdout).toContain(`best: trial-00${best.trial}`);
  }, 120_000);

  it("resumes a search killed mid-way and ends with the results of an uninterrupted one", async () => {
    const out = join(dir, "killed");
    const child = spawn(process.execPath, [CLI, "search", spec, "--backend", "cpu", "--out", out], { cwd: root, stdio: "ignore" });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (existsSync(join(out, "results.jsonl")) && results(out).length >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const before = results(out).length;
    expect(before).toBeGreaterThanOrEqual(2);
    expect(before).toBeLessThan(5);
    const r = nnc(["search", spec, "--backend", "cpu", "--out", out]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`resuming: ${before} of 5 trials already done`);
    const resumed = results(out);
    expect(resumed.map((x) => x.trial)).toEqual([1, 2, 3, 4, 5]);
    const full = results(join(dir, "full"));
    expect(resumed.map((x) => [x.values, x.value])).toEqual(full.map((x) => [x.values, x.value]));
    // Run again: nothing left to do.
    const again = nnc(["search", spec, "--backend", "cpu", "--out", out]);
    expect(again.stdout).toContain("resuming: 5 of 5 trials already done");
    expect(again.stdout).not.toMatch(/^trial-\d{3} \(/m);
  }, 120_000);

  it("refuses another search's folder, a spec without a search, and bad arguments", () => {
    const other = join(dir, "other.nn");
    writeFileSync(other, SPEC.replace("width ~ int(4, 32)", "width ~ int(4, 16)"));
    const clash = nnc(["search", other, "--out", join(dir, "full")]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain("holds the results of a different search");
    const none = join(dir, "none.nn");
    writeFileSync(none, SPEC.slice(0, SPEC.indexOf("search mlp")));
    const r = nnc(["search", none]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("has no `search mlp …` block");
    expect(nnc(["search", spec, "--trials", "0"]).code).toBe(2);
    expect(nnc(["search", spec, "--backend", "quantum"]).code).toBe(2);
    expect(nnc(["search", join(dir, "missing.nn")]).code).toBe(1);
  });
});
