/**
 * The command line itself (issue 12, item 1), through the built CLI: each command's options
 * read strictly, "did you mean" for a misspelt option or command, whole numbers checked,
 * per-command help, and the README's command table listing what the help lists.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nnc, ROOT } from "./cli-run.js";

const dir = mkdtempSync(join(tmpdir(), "nnc-args-"));
const good = join(dir, "good.nn");
writeFileSync(good, "model m {\n  input 3\n  dense 2 softmax\n}\n");
const COMMANDS = ["check", "build", "train", "inspect", "sanity", "search", "predict", "evaluate", "export", "fmt", "lsp"];

/** Usage mistake: exit 2, one message on stderr, nothing on stdout, no stack trace. */
function usageError(args: string[]): string {
  const r = nnc(args);
  expect(r.code, r.stdout + r.stderr).toBe(2);
  expect(r.stdout).toBe("");
  expect(r.stderr).not.toMatch(/\bat .*\.m?js:\d+|internal error/);
  return r.stderr;
}

/** The options `nnc help CMD` lists: their long names without `--`, and short ones. */
function helpOptionsWithShort(command: string): { name: string; short?: string }[] {
  const r = nnc(["help", command]);
  expect(r.code).toBe(0);
  const section = r.stdout.split("\nOptions:\n")[1] ?? "";
  return [...section.matchAll(/^ {2}(?:-(\w), )?--([\w-]+)/gm)].map((m) => ({ name: m[2]!, ...(m[1] ? { short: m[1] } : {}) }));
}

function helpOptions(command: string): string[] {
  return helpOptionsWithShort(command).map((o) => o.name);
}

describe("unknown options and commands", () => {
  it("suggests the option meant, naming the command", () => {
    expect(usageError(["train", "x.nn", "--epoch", "3"])).toContain("unknown option `--epoch` for `nnc train`. Did you mean `--epochs`?");
    expect(usageError(["check", "--sumary", good])).toContain("Did you mean `--summary`?");
    expect(usageError(["sanity", "x.nn", "--perclass", "3"])).toContain("Did you mean `--per-class`?");
    expect(usageError(["fmt", "--chek", good])).toContain("unknown option `--chek` for `nnc fmt`. Did you mean `--check`?");
  });

  it("reads a single-dash word as the option it spells, and says when an option belongs to another command", () => {
    expect(usageError(["train", "x.nn", "-epochs", "3"])).toContain("unknown option `-epochs` for `nnc train`. Did you mean `--epochs`?");
    expect(usageError(["build", good, "--epochs", "3"])).toContain("unknown option `--epochs` for `nnc build`. (`--epochs` is an option of `nnc train`, `nnc sanity`, `nnc search`.)");
    expect(usageError(["check", "--frobnicate", good])).toMatch(/unknown option `--frobnicate` for `nnc check`\.\n/);
  });

  it("points at the help of the command", () => {
    expect(usageError(["train", "x.nn", "--epoch", "3"])).toContain("Run `nnc help train` for usage.");
  });

  it("suggests the command meant, and lists them all", () => {
    const e = usageError(["chek", good]);
    expect(e).toContain("unknown command `chek`. Did you mean `check`?");
    expect(e).toContain(`The commands are: ${COMMANDS.join(", ")}.`);
    expect(usageError(["compile", good])).not.toContain("Did you mean");
    expect(usageError(["help", "trian"])).toContain("Did you mean `train`?");
  });

  it("says that options go after the command", () => {
    expect(usageError(["--json", "check", good])).toContain("options go after the command");
  });
});

describe("option values", () => {
  it("refuses a missing value, a value that looks like an option, and a value given to a flag", () => {
    expect(usageError(["train", "x.nn", "--epochs"])).toContain("`--epochs` needs a value (N).");
    expect(usageError(["train", "x.nn", "--model", "--epochs", "3"])).toContain("`--model` needs a value (M), but `--epochs` follows it.");
    expect(usageError(["train", "x.nn", "--seed", "-1"])).toContain("A value that starts with `-` is written `--seed=-1`.");
    expect(usageError(["build", good, "--force=yes"])).toContain("`--force` takes no value");
  });

  it("wants whole numbers of the least size each option allows", () => {
    expect(usageError(["train", "x.nn", "--epochs", "0"])).toContain("--epochs needs a whole number of at least 1, not `0`.");
    expect(usageError(["train", "x.nn", "--epochs=2.5"])).toContain("not `2.5`");
    expect(usageError(["train", "x.nn", "--seed=-1"])).toContain("--seed needs a whole number, not `-1`.");
    expect(usageError(["train", "x.nn", "--seed="])).toContain("--seed needs a whole number, not ``.");
    expect(usageError(["inspect", "x.nn", "--batch", "0"])).toContain("--batch needs a whole number of at least 1");
    expect(usageError(["search", "x.nn", "--trials", "1e400"])).toContain("--trials needs a whole number");
    expect(usageError(["sanity", "x.nn", "--per-class", "x"])).toContain("--per-class needs a whole number");
  });

  it("takes --key value, --key=value and -o DIR alike", () => {
    const a = mkdtempSync(join(tmpdir(), "nnc-args-o-"));
    const b = mkdtempSync(join(tmpdir(), "nnc-args-out-"));
    const c = mkdtempSync(join(tmpdir(), "nnc-args-eq-"));
    expect(nnc(["build", good, "-o", a]).stdout).toContain(`wrote ${join(a, "m.ts")}`);
    expect(nnc(["build", good, "--out", b]).stdout).toContain(`wrote ${join(b, "m.ts")}`);
    expect(nnc(["build", `--out=${c}`, good]).stdout).toContain(`wrote ${join(c, "m.ts")}`);
    const two = join(dir, "two.nn");
    writeFileSync(two, "model a {\n  input 3\n  dense 2\n}\nmodel b {\n  input 4\n  dense 2\n}\n");
    expect(JSON.parse(nnc(["check", "--json", "--model=b", two]).stdout).files[0].models.map((m: { name: string }) => m.name)).toEqual(["b"]);
  });

  it("takes a file name after `--` even when it starts with a dash", () => {
    const odd = mkdtempSync(join(tmpdir(), "nnc-args-dash-"));
    writeFileSync(join(odd, "-odd.nn"), "model m {\n  input 3\n  dense 2\n}\n");
    const r = nnc(["check", "--", "-odd.nn"], odd);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("1 file checked: no problems.");
  });

  it("colours only when asked, the last of --color and --no-color winning", () => {
    const bad = join(dir, "bad.nn");
    writeFileSync(bad, "model m {\n  input 4x4x1\n  dense 2\n}\n");
    const esc = "\u001b[";
    expect(nnc(["check", bad]).stdout).not.toContain(esc);
    expect(nnc(["check", "--color", bad]).stdout).toContain(esc);
    expect(nnc(["check", "--color", "--no-color", bad]).stdout).not.toContain(esc);
    expect(nnc(["check", "--no-color", "--color", bad]).stdout).toContain(esc);
  });

  it("keeps `-` as stdin for fmt", () => {
    const r = nnc(["fmt", "-"], ROOT, "model m {\n input 3\n  dense 2\n}\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("model m {\n  input 3\n  dense 2\n}\n");
  });
});

describe("help", () => {
  it("prints the overview for `nnc --help` and `nnc help`, and it names every command", () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const r = nnc(args);
      expect(r.code).toBe(0);
      for (const c of COMMANDS) expect(r.stdout).toContain(`nnc ${c} `);
      expect(r.stdout).toContain("Run `nnc help COMMAND`");
    }
  });

  it("prints one command's usage and options only, for `nnc help CMD` and `nnc CMD --help`", () => {
    for (const c of COMMANDS) {
      const a = nnc(["help", c]);
      const b = nnc([c, "--help"]);
      const h = nnc([c, "-h"]);
      expect(a.code).toBe(0);
      expect(b).toEqual(a);
      expect(h).toEqual(a);
      expect(a.stdout).toMatch(new RegExp(`^Usage: nnc ${c} `));
      for (const other of COMMANDS.filter((o) => o !== c)) expect(a.stdout).not.toContain(`nnc ${other} `);
    }
    expect(helpOptions("train")).toEqual(["model", "backend", "engine", "device", "nproc", "epochs", "seed", "out", "force", "resume", "log-json", "report", "color", "no-color", "help"]);
  });

  it("prints the help even next to a mistake, but not for a file named --help after `--`", () => {
    expect(nnc(["train", "--epoch", "3", "--help"]).code).toBe(0);
    expect(nnc(["check", "--", "--help"]).stdout).toContain("I cannot read `--help`");
  });

  it("lists in the README's command table every option the help lists", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const c of COMMANDS) {
      const row = readme.split("\n").find((l) => l.startsWith(`| \`nnc ${c} `));
      expect(row, `README has no row for nnc ${c}`).toBeDefined();
      const synopsis = row!.split(" | ")[0]!;
      const options = helpOptionsWithShort(c);
      for (const o of options.filter((o) => !["color", "no-color", "help"].includes(o.name))) {
        const written = synopsis.includes(`--${o.name}`) || (o.short !== undefined && synopsis.includes(`-${o.short} `));
        expect(written, `README's row for nnc ${c} lacks --${o.name}`).toBe(true);
      }
      // And nothing the command does not take.
      for (const m of synopsis.matchAll(/--([\w-]+)/g)) expect(options.map((o) => o.name), `README's nnc ${c} has --${m[1]}`).toContain(m[1]);
    }
  });
});
