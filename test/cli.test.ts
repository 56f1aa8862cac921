import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import schema from "../schema/check-output.schema.json" with { type: "json" };
import { MAX_PRINTED_DIAGNOSTICS, renderDiagnostics } from "../src/cli/files.js";
import { checkText } from "../src/pipeline.js";
import { nnc as runNnc, type CliResult } from "./cli-run.js";

// The suite runs after `tsc` (see `npm test`), so the built CLI is there.
const dir = mkdtempSync(join(tmpdir(), "nnc-cli-"));

const nnc = (...args: string[]): CliResult => runNnc(args);

function spec(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const good = spec("good.nn", "model m {\n  input 28x28x1\n  conv 5x5x32 relu -> pool 2 -> dropout 0.1\n  flatten -> dense 10 softmax\n}\n");
const bad = spec("bad.nn", "model m {\n  input 28x28x1\n  conv 3x3x8 same -> pool 2\n  dense 10 softmax\n}\n");
const validate = new Ajv({ allErrors: true }).compile(schema);

describe("nnc check", () => {
  it("exits 0 and says so for a clean spec", () => {
    const r = nnc("check", good);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("1 file checked: no problems.");
  });

  it("prints file:line:col, the code, the source line with a caret, and the hint, and exits 1", () => {
    const r = nnc("check", bad);
    expect(r.code).toBe(1);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe(`${bad}:4:3: error NN3001: \`dense\` needs a vector (rank 1), but its input is 14x14x8.`);
    expect(lines[1]).toBe(" 4 |   dense 10 softmax");
    expect(lines[2]).toBe("   |   ^^^^^");
    expect(lines[3]).toMatch(/^ hint: .*flatten/);
    expect(lines[4]).toBe(` note: ${bad}:3:22: \`pool1\` gives 14x14x8 here`);
    expect(r.stderr).toBe("");
  });

  it("prints a Keras-like summary with totals", () => {
    const r = nnc("check", "--summary", good);
    expect(r.stdout).toContain("Model: m");
    expect(r.stdout).toMatch(/conv1 \(conv relu\)\s+24x24x32\s+832/);
    expect(r.stdout).toMatch(/Total params: 46,922 \(183\.29 KB\)/);
    expect(r.stdout).toContain("Non-trainable params: 0");
    // torchinfo's Mult-Adds: conv1 is 24·24·32 outputs of 5·5·1 products.
    expect(r.stdout).toMatch(/conv1 \(conv relu\)\s+24x24x32\s+832\s+460,800/);
    expect(r.stdout).toMatch(/Mult-adds per sample: [\d.,]+( M)?\n/);
  });

  it("prints JSON that the schema accepts, with 0-based positions", () => {
    const r = nnc("check", "--json", good, bad);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(validate(out), JSON.stringify(validate.errors)).toBe(true);
    expect(out.files[0].models[0].params).toEqual({ total: 46922, trainable: 46922, nonTrainable: 0 });
    expect(out.files[0].models[0].layers[1]).toMatchObject({ name: "conv1", kind: "conv", outputShape: [24, 24, 32], params: 832 });
    const d = out.files[1].diagnostics[0];
    expect(d).toMatchObject({ code: "NN3001", severity: "error", range: { start: { line: 3, character: 2 }, end: { line: 3, character: 7 } } });
    expect(out.files[1].models[0].complete).toBe(false);
    expect(out.files[1].models[0].output).toBeNull();
  });

  it("reports a missing file as a diagnostic, not a stack trace", () => {
    const r = nnc("check", join(dir, "nope.nn"));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("NN5001");
    expect(r.stdout).toContain("there is no such file");
    expect(r.stdout + r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it("rejects a binary file with a clear message", () => {
    const p = join(dir, "binary.nn");
    writeFileSync(p, Buffer.from([0, 1, 2, 3, 255, 0]));
    const r = nnc("check", p);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("looks like a binary file");
  });

  it("checks every .nn file in a directory", () => {
    const sub = mkdtempSync(join(tmpdir(), "nnc-dir-"));
    writeFileSync(join(sub, "a.nn"), "model a {\n input 3 -> dense 1\n}\n");
    writeFileSync(join(sub, "b.nn"), "model b {\n input 3 -> dense 1\n}\n");
    writeFileSync(join(sub, "notes.txt"), "not a spec");
    expect(nnc("check", sub).stdout).toContain("2 files checked: no problems.");
  });

  it("answers a wrong flag with usage and exit 2", () => {
    const r = nnc("check", "--frobnicate", good);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option `--frobnicate`");
  });

  it("answers an unknown command with the list of commands", () => {
    const r = nnc("compile", good);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("The commands are: check, build, train");
  });

  it("selects one model with --model, and says when it does not exist", () => {
    const two = spec("two.nn", "model a {\n input 3 -> dense 1\n}\nmodel b {\n input 4 -> dense 2\n}\n");
    const r = nnc("check", "--json", "--model", "b", two);
    expect(JSON.parse(r.stdout).files[0].models.map((m: { name: string }) => m.name)).toEqual(["b"]);
    const missing = nnc("check", "--model", "c", two);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain("NN5002");
  });
});

describe("nnc check: files it cannot read (issue 12, item 2)", () => {
  /** One line (`path:1:1: error NN5001: …`), no source line and no caret under nothing. */
  function fileError(out: string, path: string, why: string): void {
    expect(out).toContain(`${path}:1:1: error NN5001: `);
    expect(out).toContain(why);
    expect(out).not.toMatch(/^ *\d* \|/m);
    expect(out).not.toMatch(/\bat .*\.m?js:\d+|internal error/);
  }

  it("says there is no such file, without an empty code frame", () => {
    const missing = join(dir, "missing.nn");
    const r = nnc("check", missing);
    expect(r.code).toBe(1);
    fileError(r.stdout, missing, `I cannot read \`${missing}\`: there is no such file.`);
    expect(r.stdout).toContain("1 file checked: 1 error, 0 warnings.");
  });

  it("says so for a folder that is not there, one with no .nn file, and a path through a file", () => {
    const gone = join(dir, "no-such-folder") + "/";
    fileError(nnc("check", gone).stdout, gone, "I cannot read");
    const empty = mkdtempSync(join(tmpdir(), "nnc-empty-"));
    const r = nnc("check", empty);
    expect(r.code).toBe(1);
    fileError(r.stdout, empty, `The folder \`${empty}\` holds no .nn file.`);
    const through = join(good, "x.nn");
    fileError(nnc("check", through).stdout, through, "a part of its path is a file, not a folder");
  });

  it("keeps the file error in --json, at the file's start", () => {
    const missing = join(dir, "missing.nn");
    const out = JSON.parse(nnc("check", "--json", missing).stdout);
    expect(validate(out)).toBe(true);
    expect(out.files[0].diagnostics[0]).toMatchObject({ code: "NN5001", range: { start: { line: 0, character: 0 } } });
  });

  it.skipIf(process.getuid?.() === 0)("says permission denied for a file it may not read, and a folder it may not list", () => {
    const locked = spec("locked.nn", "model m {\n input 3\n dense 2\n}\n");
    chmodSync(locked, 0o000);
    fileError(nnc("check", locked).stdout, locked, "permission denied");
    const closed = mkdtempSync(join(tmpdir(), "nnc-closed-"));
    mkdirSync(join(closed, "inner"));
    chmodSync(join(closed, "inner"), 0o000);
    writeFileSync(join(closed, "a.nn"), "model a {\n input 3\n dense 2\n}\n");
    const r = nnc("check", closed);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`I cannot list the folder \`${join(closed, "inner")}\`: permission denied.`);
  });

  it("refuses a device, which would never end", () => {
    const r = nnc("check", "/dev/zero");
    expect(r.code).toBe(1);
    fileError(r.stdout, "/dev/zero", "it is not a regular file");
  });

  for (const command of ["build", "train", "inspect", "sanity", "search"]) {
    it(`gives \`nnc ${command}\` the same one line for a missing file and for a folder, exit 1`, () => {
      const missing = join(dir, "missing.nn");
      const r = nnc(command, missing);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      fileError(r.stdout, missing, `I cannot read \`${missing}\`: there is no such file.`);
      expect(r.stdout).not.toContain("fix the errors above");
      const folder = nnc(command, dir);
      expect(folder.code).toBe(1);
      fileError(folder.stdout, dir, `I cannot read \`${dir}\`: it is a folder, not a .nn file.`);
    });
  }
});

describe("a cap on printed diagnostics (issue 12, item 4)", () => {
  const many = (errors: number, warnings: number): string => {
    const parts: string[] = [];
    for (let i = 0; i < errors; i++) parts.push(`model e${i} {\n  input 4x4x1\n  dense 2\n}\n`);
    for (let i = 0; i < warnings; i++) parts.push(`model w${i} {\n  input 3\n  dense 2 softmax\n  dropout 0.5\n}\n`);
    return parts.join("");
  };

  it(`prints ${MAX_PRINTED_DIAGNOSTICS} diagnostics per file, then how many more; the summary counts them all`, () => {
    const big = spec("big.nn", many(2_345 + 60, 12));
    const r = nnc("check", big);
    expect(r.code).toBe(1);
    expect(r.stdout.match(/^\S+:\d+:\d+: (error|warning) NN\d{4}/gm)).toHaveLength(MAX_PRINTED_DIAGNOSTICS);
    expect(r.stdout).toContain(`… and 2,305 more errors and 12 warnings in ${big} (not shown; \`nnc check --json\` lists every one)`);
    expect(r.stdout).toContain("1 file checked: 2,405 errors, 12 warnings.");
  });

  it("prints everything under the cap, and counts per file", () => {
    const small = spec("small.nn", many(3, 1));
    const big = spec("big2.nn", many(101, 0));
    const r = nnc("check", small, big);
    expect(r.stdout.match(/^\S+small\.nn:\d+:\d+: /gm)).toHaveLength(4);
    expect(r.stdout).toContain(`… and 1 more error in ${big} (not shown;`);
    expect(r.stdout).not.toContain(`more errors in ${small}`);
    expect(r.stdout).toContain("2 files checked: 104 errors, 1 warning.");
  });

  it("does not cap --json", () => {
    const out = JSON.parse(nnc("check", "--json", spec("big3.nn", many(150, 5))).stdout);
    expect(validate(out)).toBe(true);
    expect(out.files[0].diagnostics).toHaveLength(155);
  });

  it("caps what build prints too", () => {
    const r = nnc("build", spec("big4.nn", many(130, 0)), "-o", join(dir, "never"));
    expect(r.code).toBe(1);
    expect(r.stdout.match(/error NN3001/g)).toHaveLength(MAX_PRINTED_DIAGNOSTICS);
    expect(r.stdout).toContain("… and 30 more errors in");
  });

  it("renders 100,000 diagnostics as 100 and one line", () => {
    const text = many(1, 0);
    const r = checkText(text);
    const d = r.diagnostics[0]!;
    const all = Array.from({ length: 100_000 }, (_, i) => ({ ...d, severity: i % 10 === 0 ? ("warning" as const) : d.severity }));
    const lines = renderDiagnostics("x.nn", all, r.lines, { color: false });
    expect(lines).toHaveLength(MAX_PRINTED_DIAGNOSTICS + 1);
    expect(lines[MAX_PRINTED_DIAGNOSTICS]).toBe("… and 89,910 more errors and 9,990 warnings in x.nn (not shown; `nnc check --json` lists every one)\n");
  });
});

describe("which model to run (issue 12, item 3)", () => {
  const noRecipe = spec("no-recipe.nn", "model m {\n  input 3\n  dense 2 softmax\n}\n");
  const noModel = spec("no-model.nn", "# nothing yet\n");
  const twoRecipes = spec("two-recipes.nn", "model a {\n  input 3\n  dense 2 softmax\n}\nmodel b {\n  input 3\n  dense 2 softmax\n}\nmodel c {\n  input 3\n  dense 2 softmax\n}\ntrain a {\n  data ball(dims: 3)\n  loss crossentropy\n}\ntrain b {\n  data ball(dims: 3)\n  loss crossentropy\n}\n");

  for (const command of ["train", "inspect", "sanity"]) {
    it(`\`nnc ${command}\`: a spec without a recipe is a problem with the spec (exit 1); choosing is the command line's (exit 2)`, () => {
      const none = nnc(command, noRecipe);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain(`nnc: ${noRecipe} has no \`train\` recipe, so there is nothing to run. Add one, e.g. \`train m { data … loss … }\`.`);
      const empty = nnc(command, noModel);
      expect(empty.code).toBe(1);
      expect(empty.stderr).toContain(`nnc: ${noModel} declares no model, so there is nothing to run.`);
      const several = nnc(command, twoRecipes);
      expect(several.code).toBe(2);
      expect(several.stderr).toContain(`nnc: ${twoRecipes} has recipes for \`a\`, \`b\`; choose one with --model.`);
      const typo = nnc(command, twoRecipes, "--model", "bb");
      expect(typo.code).toBe(2);
      expect(typo.stderr).toContain(`nnc: there is no model \`bb\` in ${twoRecipes}. Did you mean \`b\`? Its models: \`a\`, \`b\`, \`c\`.`);
      const without = nnc(command, twoRecipes, "--model", "c");
      expect(without.code).toBe(1);
      expect(without.stderr).toContain(`nnc: the model \`c\` has no \`train\` recipe in ${twoRecipes}. Models with one: \`a\`, \`b\`.`);
      for (const r of [none, empty, several, typo, without]) expect(r.stderr).not.toMatch(/internal error|\bat .*\.m?js:\d+/);
    });
  }

  it("`nnc check --model` suggests the model meant, in one line without a source line", () => {
    const r = nnc("check", "--model", "bb", twoRecipes);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${twoRecipes}:1:1: error NN5002: There is no model \`bb\` in this file. Did you mean \`b\`?\n hint: Its models: \`a\`, \`b\`, \`c\`.`);
  });
});
