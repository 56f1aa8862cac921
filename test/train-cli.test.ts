/**
 * `nnc train` end to end, as a user runs it: the shipped BLOCK spec trains on the lectures'
 * ball to at least 90% test accuracy, logs one JSON line per epoch when not on a terminal,
 * on stdout, and leaves the model, its history and the normaliser on disk. Also `nnc build`.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nnc } from "./cli-run.js";

const root = join(import.meta.dirname, "..");


describe("nnc train", () => {
  it("trains the BLOCK model on the ball to at least 90% test accuracy", () => {
    const out = mkdtempSync(join(tmpdir(), "nnc-block-"));
    const r = nnc(["train", "specs/block.nn", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const epochs = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { epoch: number; loss: number; val_acc: number });
    expect(epochs.length).toBeGreaterThan(2);
    expect(epochs[epochs.length - 1]!.loss).toBeLessThan(epochs[0]!.loss);
    const history = JSON.parse(readFileSync(join(out, "history.json"), "utf8")) as { test: { acc: number }; backend: string; seed: number };
    expect(history.test.acc).toBeGreaterThanOrEqual(0.9);
    expect(history.seed).toBe(42);
    for (const f of ["model.json", "weights.bin", "normalizer.json"]) expect(existsSync(join(out, f))).toBe(true);
    expect(r.stdout).toMatch(/trained `block` on (wasm|cpu) for \d+ epochs; .*test acc (9\d|100)\.\d\d%/);
  }, 240_000);

  it("says what is wrong with bad data instead of a tensor error", () => {
    const dir = mkdtempSync(join(tmpdir(), "nnc-bad-"));
    writeFileSync(join(dir, "d.csv"), "a,b,label\n1,2,0\n3,x,1\n");
    writeFileSync(join(dir, "s.nn"), 'model m {\n input 2\n dense 2 softmax\n}\ntrain m {\n data csv("d.csv", label: "label")\n loss crossentropy\n}\n');
    const r = nnc(["train", join(dir, "s.nn"), "--out", join(dir, "run")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nnc: .*d\.csv.*row 3/);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  }, 60_000);

  it("refuses a spec with errors and trains nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "nnc-err-"));
    writeFileSync(join(dir, "s.nn"), "model m {\n input 4x4x1\n dense 2\n}\ntrain m {\n data ball()\n loss mse\n}\n");
    const r = nnc(["train", join(dir, "s.nn")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("NN3001");
    expect(r.stdout).toContain("not trained");
  });
});

describe("nnc build", () => {
  it("writes one module per model and nothing when the spec has errors", () => {
    const out = mkdtempSync(join(tmpdir(), "nnc-build-"));
    const ok = nnc(["build", "specs/mnist_cnn.nn", "-o", out]);
    expect(ok.code).toBe(0);
    expect(readFileSync(join(out, "mnist_cnn.ts"), "utf8")).toBe(readFileSync(join(root, "specs", "mnist_cnn.ts"), "utf8").replace("nnc 0.0.0-test", `nnc ${(JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version}`));
    const dir = mkdtempSync(join(tmpdir(), "nnc-build-err-"));
    writeFileSync(join(dir, "s.nn"), "model m {\n input 4x4x1\n dense 2\n}\n");
    const bad = nnc(["build", join(dir, "s.nn"), "-o", join(dir, "gen")]);
    expect(bad.code).toBe(1);
    expect(existsSync(join(dir, "gen"))).toBe(false);
  });

  it("refuses to overwrite a file it did not write, unless --force", () => {
    const out = mkdtempSync(join(tmpdir(), "nnc-build-own-"));
    writeFileSync(join(out, "block.ts"), "// my own code\n");
    const r = nnc(["build", "specs/block.nn", "-o", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("not written by nnc");
    expect(readFileSync(join(out, "block.ts"), "utf8")).toBe("// my own code\n");
    expect(nnc(["build", "specs/block.nn", "-o", out, "--force"]).code).toBe(0);
    expect(readFileSync(join(out, "block.ts"), "utf8")).toContain("nnc:generated");
    // Its own files it overwrites without asking.
    expect(nnc(["build", "specs/block.nn", "-o", out]).code).toBe(0);
  });
});
