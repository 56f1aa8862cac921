import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import schema from "../schema/check-output.schema.json" with { type: "json" };
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
