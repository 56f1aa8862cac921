/**
 * Golden diagnostics, in the manner of Prisma's validation tests: every specs/wrong/*.nn is a
 * small spec with one realistic mistake (or a few of a kind), and its comments say which
 * diagnostics the checker must report and where.
 *
 * The convention:
 *
 *     conv 5x5x32                    # expect: NN3002
 *     basic(64) basic(64)            # expect: NN1005 NN2001
 *     # expect-next-line: NN1002
 *     data csv("iris.csv)
 *
 * - `# expect: CODES` at the end of a line lists the codes of the diagnostics that start on
 *   that line (a diagnostic's start is the first character it underlines).
 * - `# expect-next-line: CODES` on a line of its own does the same for the line below it, for
 *   a line that cannot carry a comment (a `#` after an unterminated string is part of it).
 * - Per line, the codes reported must equal the codes expected, each as many times as it is
 *   listed: a diagnostic starting on a line with no expectation fails the test, and so does an
 *   expected code not reported there, or reported twice where it is listed once. One mistake is
 *   one error: a habit brought from another language must not come back as three.
 * - Every file begins with a comment saying what the mistake is, and expects at least one
 *   diagnostic; warnings are expected like errors.
 *
 * KNOWN_ISSUES names the lines where the checker does not yet do what a file expects (a
 * cascade, a missing check). On those lines the test requires the mismatch, so fixing the
 * checker turns the test red until the entry is removed.
 *
 * The full text of `nnc check specs/wrong` (diagnostics rendered without colour, with caret
 * lines, hints and notes, then the summary line) is kept in specs/wrong/expected-output.txt.
 * After a deliberate change in wording, regenerate it with
 *
 *     UPDATE_GOLDEN=1 npx vitest run test/golden-diagnostics.test.ts
 *
 * and review the diff. One test runs the built CLI (dist/), so run `npx tsc -p tsconfig.json`
 * first.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCheck } from "../src/cli/check-command.js";
import { CODES } from "../src/diagnostics/codes.js";
import { renderDiagnostic } from "../src/diagnostics/render.js";
import { checkText } from "../src/pipeline.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WRONG_DIR = "specs/wrong";
const GOLDEN = join(ROOT, WRONG_DIR, "expected-output.txt");
const UPDATE = process.env["UPDATE_GOLDEN"] === "1";

/** Sorted as `nnc check DIR` sorts a directory's files. */
const FILES = readdirSync(join(ROOT, WRONG_DIR))
  .filter((f) => f.endsWith(".nn"))
  .sort((a, b) => a.localeCompare(b));

/**
 * Lines (1-based) where the checker is known to disagree with the file's expectations, and why.
 * Remove an entry when the checker is fixed.
 */
const KNOWN_ISSUES: Record<string, { lines: number[]; why: string }> = {
};

interface FileResult {
  file: string;
  text: string;
  expected: Map<number, string[]>;
  reported: Map<number, string[]>;
  rendered: string[];
  errors: number;
  warnings: number;
}

const EXPECT = /#\s*expect:\s*(.*)$/;
const EXPECT_NEXT = /^\s*#\s*expect-next-line:\s*(.*)$/;

function codesIn(list: string): string[] {
  return list.trim().split(/[\s,]+/).filter(Boolean);
}

/** Expected codes per 0-based line, as often as each is listed. */
function expectations(text: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  const add = (line: number, codes: string[]): void => {
    const list = out.get(line) ?? [];
    for (const c of codes) list.push(c);
    out.set(line, list);
  };
  text.split(/\r\n|\r|\n/).forEach((line, i) => {
    const next = EXPECT_NEXT.exec(line);
    if (next) add(i + 1, codesIn(next[1]!));
    else {
      const here = EXPECT.exec(line);
      if (here) add(i, codesIn(here[1]!));
    }
  });
  return out;
}

function checkFile(file: string): FileResult {
  const text = readFileSync(join(ROOT, WRONG_DIR, file), "utf8");
  const result = checkText(text);
  const reported = new Map<number, string[]>();
  for (const d of result.diagnostics) {
    const list = reported.get(d.range.start.line) ?? [];
    list.push(d.code);
    reported.set(d.range.start.line, list);
  }
  return {
    file,
    text,
    expected: expectations(text),
    reported,
    rendered: result.diagnostics.map((d) => renderDiagnostic(`${WRONG_DIR}/${file}`, d, result.lines, { color: false })),
    errors: result.diagnostics.filter((d) => d.severity === "error").length,
    warnings: result.diagnostics.filter((d) => d.severity === "warning").length,
  };
}

const RESULTS = FILES.map(checkFile);

/** `line 7: expected [NN2002], reported [NN1009 NN2002]` for every line where the two differ. */
function mismatches(r: FileResult): { line: number; text: string }[] {
  const lines = [...new Set([...r.expected.keys(), ...r.reported.keys()])].sort((a, b) => a - b);
  const out: { line: number; text: string }[] = [];
  for (const line of lines) {
    const want = [...(r.expected.get(line) ?? [])].sort().join(" ");
    const got = [...(r.reported.get(line) ?? [])].sort().join(" ");
    if (want !== got) out.push({ line: line + 1, text: `line ${line + 1}: expected [${want}], reported [${got}]` });
  }
  return out;
}

/** What `nnc check specs/wrong` prints: each diagnostic and a blank line, then the summary. */
function cliText(results: FileResult[]): string {
  const blocks = results.flatMap((r) => r.rendered.map((t) => t + "\n"));
  const errors = results.reduce((n, r) => n + r.errors, 0);
  const warnings = results.reduce((n, r) => n + r.warnings, 0);
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? "" : "s"}`;
  blocks.push(`${plural(results.length, "file")} checked: ${plural(errors, "error")}, ${plural(warnings, "warning")}.`);
  return blocks.join("\n") + "\n";
}

describe("the wrong specs in specs/wrong", () => {
  it("are at least thirty small specs", () => {
    expect(FILES.length).toBeGreaterThanOrEqual(30);
  });

  it("each begin with a comment saying what the mistake is and expect at least one diagnostic", () => {
    const bad = RESULTS.filter((r) => !r.text.startsWith("# ") || r.expected.size === 0).map((r) => r.file);
    expect(bad).toEqual([]);
  });

  it("expect only codes that are in the catalogue", () => {
    const unknown = RESULTS.flatMap((r) => [...r.expected.values()].flatMap((s) => [...s]).filter((c) => !Object.hasOwn(CODES, c)).map((c) => `${r.file}: ${c}`));
    expect(unknown).toEqual([]);
  });

  it("cover every group of syntax, name, shape and recipe codes, and most codes the checker emits", () => {
    const covered = new Set(RESULTS.flatMap((r) => [...r.expected.values()].flatMap((s) => [...s])));
    for (const group of ["NN1", "NN2", "NN3", "NN4"]) expect([...covered].some((c) => c.startsWith(group)), group).toBe(true);
    // The codes the compiler can emit: those written as a string literal outside the catalogue.
    const emitted = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const full = join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.name.endsWith(".ts") && e.name !== "codes.ts") for (const m of readFileSync(full, "utf8").matchAll(/"(NN[1-4]\d{3})"/g)) emitted.add(m[1]!);
      }
    };
    walk(join(ROOT, "src"));
    const missing = [...emitted].filter((c) => !covered.has(c)).sort();
    expect(covered.size / Math.max(emitted.size, 1), `not covered: ${missing.join(", ")}`).toBeGreaterThanOrEqual(0.8);
  });

  describe.each(RESULTS)("$file", (r) => {
    const known = KNOWN_ISSUES[r.file];
    if (known) {
      it(`still shows its known issue on line ${known.lines.join(", ")}: ${known.why}`, () => {
        const found = mismatches(r);
        expect(found.map((m) => m.line), `if the checker was fixed, remove "${r.file}" from KNOWN_ISSUES\n${found.map((m) => m.text).join("\n")}`).toEqual(known.lines);
      });
    } else {
      it("reports exactly the diagnostics its comments expect, line by line", () => {
        expect(mismatches(r).map((m) => m.text)).toEqual([]);
      });
    }
  });

  it("render as specs/wrong/expected-output.txt records", () => {
    const text = cliText(RESULTS);
    if (UPDATE) writeFileSync(GOLDEN, text);
    const golden = readFileSync(GOLDEN, "utf8");
    expect(text).toBe(golden);
  });

  it("are printed the same way by `nnc check specs/wrong`", () => {
    const run = spawnSync(process.execPath, [join(ROOT, "dist/src/cli/main.js"), "check", WRONG_DIR], { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe(cliText(RESULTS));
  });
});

describe("diagnostics of the command line", () => {
  it("reports NN5001 for a file that cannot be read", () => {
    const { exitCode, output } = runCheck({ files: [join(ROOT, WRONG_DIR, "no-such-spec.nn")], json: false, summary: false, color: false });
    expect(exitCode).toBe(1);
    expect(output.stdout.join("\n")).toContain("error NN5001: I cannot read");
  });

  it("reports NN5002 when --model names a model the file does not have", () => {
    const { exitCode, output } = runCheck({ files: [join(ROOT, "specs/mnist_cnn.nn")], json: false, summary: false, color: false, model: "lenet5" });
    expect(exitCode).toBe(1);
    const text = output.stdout.join("\n");
    expect(text).toContain("error NN5002: There is no model `lenet5` in this file.");
    expect(text).toContain("`mnist_cnn`");
  });
});

