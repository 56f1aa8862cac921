/**
 * `nnc fmt` as a user runs it (the built dist/nnc.mjs, like cli.test.ts): in-place rewrites,
 * --check, directories, stdin, files with syntax errors and files it cannot read; and, in
 * process, a file it cannot write.
 */
import { mkdirSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { runFmt } from "../src/cli/fmt-command.js";
import { formatText } from "../src/format/index.js";
import { nnc as runNnc, ROOT, type CliResult } from "./cli-run.js";

const failWrites = vi.hoisted(() => ({ code: undefined as string | undefined }));
vi.mock("../src/cli/files.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../src/cli/files.js")>();
  return {
    ...original,
    writeFileAtomic: (path: string, content: string): void => {
      if (failWrites.code !== undefined) throw Object.assign(new Error(`${failWrites.code}: cannot write`), { code: failWrites.code });
      original.writeFileAtomic(path, content);
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), "nnc-fmt-"));

const nnc = (args: string[], input?: string): CliResult => runNnc(args, ROOT, input);

const MESSY = "model m{\n      input 10->dense 4 relu   # hidden\n\n\n   dense 1 sigmoid\n}\n";
const CANONICAL = "model m {\n  input 10 -> dense 4 relu  # hidden\n\n  dense 1 sigmoid\n}\n";
const BROKEN = "model m {\n  input 10 ->\n}\n";

let n = 0;
function spec(text: string, name = `s${n++}.nn`, folder = dir): string {
  const p = join(folder, name);
  writeFileSync(p, text);
  return p;
}

describe("nnc fmt FILE...", () => {
  it("the golden pair agrees with formatText", () => {
    expect(formatText(MESSY).text).toBe(CANONICAL);
  });

  it("rewrites a file in place and says so", () => {
    const p = spec(MESSY);
    const r = nnc(["fmt", p]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`formatted ${p}\n1 file: 1 reformatted, 0 already formatted.\n`);
    expect(r.stderr).toBe("");
    expect(readFileSync(p, "utf8")).toBe(CANONICAL);
  });

  it("does not write a file that is already formatted (its mtime stays)", () => {
    const p = spec(CANONICAL);
    const old = new Date("2020-01-01T00:00:00Z");
    utimesSync(p, old, old);
    const r = nnc(["fmt", p]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("1 file: 0 reformatted, 1 already formatted.\n");
    expect(statSync(p).mtimeMs).toBe(old.getTime());
  });

  it("formats the .nn files under a directory and nothing else", () => {
    const sub = join(dir, "tree");
    mkdirSync(join(sub, "deeper"), { recursive: true });
    const a = spec(MESSY, "a.nn", sub);
    const b = spec(MESSY, "b.nn", join(sub, "deeper"));
    const other = spec(MESSY, "notes.txt", sub);
    const r = nnc(["fmt", sub]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`formatted ${a}`);
    expect(r.stdout).toContain(`formatted ${b}`);
    expect(r.stdout).toContain("2 files: 2 reformatted");
    expect(readFileSync(b, "utf8")).toBe(CANONICAL);
    expect(readFileSync(other, "utf8")).toBe(MESSY);
  });

  it("leaves a file with syntax errors untouched, prints its errors as `nnc check` does, and exits 1", () => {
    const p = spec(BROKEN);
    const good = spec(MESSY);
    const r = nnc(["fmt", p, good]);
    expect(r.code).toBe(1);
    expect(readFileSync(p, "utf8")).toBe(BROKEN);
    expect(readFileSync(good, "utf8")).toBe(CANONICAL);
    expect(r.stdout).toContain("2 files: 1 reformatted, 0 already formatted, 1 file with errors left untouched.");
    const check = nnc(["check", p]);
    const rendered = check.stdout.slice(0, check.stdout.indexOf("\n\n") + 1);
    expect(rendered).toMatch(/error NN1006/);
    expect(r.stderr).toBe(rendered + "\n");
  });

  it("reports a file it cannot read with NN5001 and no stack trace", () => {
    const missing = join(dir, "nope.nn");
    const r = nnc(["fmt", missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${missing}:1:1: error NN5001: I cannot read \`${missing}\`: there is no such file.`);
    expect(r.stdout + r.stderr).not.toMatch(/at .*\.m?js:\d+/);
  });

  it("needs a file, and does not mix files with stdin", () => {
    expect(nnc(["fmt"]).code).toBe(2);
    const mixed = nnc(["fmt", "-", spec(MESSY)]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain("give it no files");
    expect(nnc(["fmt", "--chek", spec(MESSY)]).stderr).toContain("unknown option `--chek`");
  });

  it("is in the help", () => {
    expect(nnc(["--help"]).stdout).toContain("nnc fmt [--check] FILE|DIR...");
  });
});

describe("nnc fmt --check", () => {
  it("exits 0 and writes nothing when every file is formatted", () => {
    const p = spec(CANONICAL);
    const r = nnc(["fmt", "--check", p]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("1 file checked: all formatted.\n");
  });

  it("lists the files that are not formatted, exits 1 and writes nothing", () => {
    const messy = spec(MESSY);
    const fine = spec(CANONICAL);
    const r = nnc(["fmt", "--check", messy, fine]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${messy}\n2 files checked: 1 not formatted. Run \`nnc fmt\` on it.\n`);
    expect(readFileSync(messy, "utf8")).toBe(MESSY);
  });

  it("finds the shipped specs formatted", () => {
    const r = nnc(["fmt", "--check", join(import.meta.dirname, "..", "specs", "mnist_cnn.nn"), join(import.meta.dirname, "..", "grammar", "examples")]);
    expect(r.stdout).toMatch(/^16 files checked: all formatted\.\n$/);
    expect(r.code).toBe(0);
  });
});

describe("nnc fmt - (stdin)", () => {
  it("formats stdin to stdout, with `-` or --stdin", () => {
    for (const flag of ["-", "--stdin"]) {
      const r = nnc(["fmt", flag], MESSY);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(CANONICAL);
      expect(r.stderr).toBe("");
    }
  });

  it("prints nothing to stdout for a syntax error, the error to stderr, and exits 1", () => {
    const r = nnc(["fmt", "-"], BROKEN);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("<stdin>:2:12: error NN1006");
  });

  it("with --check, exits 1 for unformatted input and 0 for formatted", () => {
    expect(nnc(["fmt", "--check", "-"], MESSY)).toMatchObject({ code: 1, stdout: "<stdin>\n" });
    expect(nnc(["fmt", "--check", "-"], CANONICAL)).toMatchObject({ code: 0, stdout: "" });
  });
});

describe("runFmt", () => {
  it("reports a file it cannot write with NN5003, and leaves it as it was", () => {
    const p = spec(MESSY);
    failWrites.code = "EACCES";
    try {
      const r = runFmt({ files: [p], check: false, color: false });
      expect(r.exitCode).toBe(1);
      expect(r.stderr.join("")).toContain(`error NN5003: I cannot write \`${p}\`: permission denied.`);
      expect(r.stdout.join("\n")).not.toContain("formatted ");
    } finally {
      failWrites.code = undefined;
    }
    expect(readFileSync(p, "utf8")).toBe(MESSY);
  });
});
