/**
 * `nnc inspect` as a user runs it, on the lectures' demo: the BLOCK model with sigmoid units
 * and N(0, 0.01²) weights shows the signal and the gradients vanishing (with hints toward
 * Glorot/He and tanh/relu); with tanh and Glorot it does not. Also the JSON output, a conv
 * net with separate activation layers on wasm, and bad input.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nnc } from "./cli-run.js";



interface Stats {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  histogram: { lo: number; hi: number; counts: number[] };
}
interface Json {
  model: string;
  backend: string;
  batch: number;
  loss: number;
  expectedLoss?: number;
  layers: { name: string; activation: string; z: Stats; a: Stats; signal: number; weights?: Stats; gradients?: Stats }[];
  warnings: { kind: string; message: string; hint: string }[];
}

/** The table's row for `layer`, as numbers. */
function row(stdout: string, layer: string): string[] {
  const line = stdout.split("\n").find((l) => l.startsWith(`${layer} `));
  if (!line) throw new Error(`no row for ${layer} in\n${stdout}`);
  return line.trim().split(/\s+/);
}

describe("nnc inspect", () => {
  it("shows the lectures' problem: sigmoid with σ = 0.01 makes the signal and the gradients vanish", () => {
    const r = nnc(["inspect", "specs/babysit/block_sigmoid_small.nn", "--backend", "cpu"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^layer\s+activation\s+Z mean\s+Z std\s+A mean\s+A std\s+A signal\s+W std\s+grad std$/m);
    for (const l of ["dense1", "dense2", "dense3", "dense4", "dense5", "dense6"]) expect(row(r.stdout, l)[1]).toBe("sigmoid");
    // Every hidden sigmoid sits at 0.5, and its kernel has the std it was drawn with.
    for (const l of ["dense1", "dense5"]) {
      const [, , , , aMean, , , wStd] = row(r.stdout, l).map(Number);
      expect(aMean).toBeCloseTo(0.5, 1);
      expect(wStd).toBeGreaterThan(0.008);
      expect(wStd).toBeLessThan(0.012);
    }
    expect(r.stdout).toMatch(/warning: The signal vanishes across the hidden layers: .* from .* in `dense1` to .* in `dense5`/);
    expect(r.stdout).toMatch(/warning: The gradients vanish: .*`dense1`.*`dense6`/);
    expect(r.stdout).toMatch(/hint: .*init glorot_normal.* for tanh and sigmoid, `init he_normal` for relu/);
    expect(r.stdout).toMatch(/prefer `tanh` or `relu` to `sigmoid`/);
    expect(r.stdout).toMatch(/initial loss 0\.\d+; with small random weights expect about ln 2 = 0\.693: ok/);
  });

  it("and its fix: tanh with Glorot keeps the scale, and nothing is flagged", () => {
    const r = nnc(["inspect", "specs/babysit/block_tanh_glorot.nn", "--backend", "cpu"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^warning:/m);
    expect(r.stdout).toContain("no warnings");
    const first = Number(row(r.stdout, "dense1")[6]);
    const last = Number(row(r.stdout, "dense5")[6]);
    expect(last / first).toBeGreaterThan(0.3);
  });

  it("prints every statistic with histograms as JSON", () => {
    const r = nnc(["inspect", "specs/babysit/block_sigmoid_small.nn", "--backend", "cpu", "--json", "--batch", "64", "--seed", "7"]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Json;
    expect(j.model).toBe("block");
    expect(j.batch).toBe(64);
    expect(j.expectedLoss).toBeCloseTo(Math.log(2), 6);
    expect(j.layers.map((l) => l.name)).toEqual(["dense1", "dense2", "dense3", "dense4", "dense5", "dense6"]);
    for (const l of j.layers) {
      for (const s of [l.z, l.a, l.weights!, l.gradients!]) {
        expect(s.histogram.counts.reduce((a, b) => a + b, 0)).toBe(s.count);
        expect(s.histogram.lo).toBeLessThanOrEqual(s.min);
        expect(s.histogram.hi).toBeGreaterThanOrEqual(s.max);
      }
      expect(l.a.count).toBe(64 * (l.name === "dense6" ? 1 : 100));
      expect(l.weights!.count).toBe(l.name === "dense1" ? 1000 : l.name === "dense6" ? 100 : 10000);
      // sigmoid(Z): the activations are the pre-activations squashed, so A's range is σ of Z's.
      expect(l.a.min).toBeCloseTo(1 / (1 + Math.exp(-l.z.min)), 5);
      expect(l.a.max).toBeCloseTo(1 / (1 + Math.exp(-l.z.max)), 5);
    }
    expect(j.warnings.map((w) => w.kind)).toEqual(["vanishing-signal", "vanishing-gradients"]);
  });

  it("inspects a conv net on wasm: inline and separate activations, dilated conv, batchnorm", () => {
    const dir = mkdtempSync(join(tmpdir(), "nnc-inspect-"));
    writeFileSync(
      join(dir, "conv.nn"),
      `model tiny {
  input 28x28x1
  conv 3x3x4 relu same init he_normal -> pool 2
  conv 3x3x4 dilation 2 same tanh
  batchnorm leaky_relu(0.1)
  flatten -> dense 16 -> dropout 0.2
  dense 10 softmax init normal(0.5)
}
train tiny {
  data mnist(train: 50, test: 0)
  loss crossentropy
  batch 16
  seed 3
}
`,
    );
    const r = nnc(["inspect", join(dir, "conv.nn"), "--backend", "wasm", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Json;
    expect(j.backend).toBe("wasm");
    expect(j.batch).toBe(50);
    expect(j.layers.map((l) => [l.name, l.activation])).toEqual([
      ["conv1", "relu"],
      ["conv2", "tanh"],
      ["batchnorm1", "leaky_relu"],
      ["dense1", "linear"],
      ["dense2", "softmax"],
    ]);
    const [conv1, conv2, bn, dense1, dense2] = j.layers;
    // Z before relu has negatives; relu's output none, and its largest value is Z's largest.
    expect(conv1!.z.min).toBeLessThan(0);
    expect(conv1!.a.min).toBe(0);
    expect(conv1!.a.max).toBeCloseTo(conv1!.z.max, 5);
    expect(Math.tanh(conv2!.z.max)).toBeCloseTo(conv2!.a.max, 5);
    // Batchnorm in training mode normalises its Z over the batch; leaky relu keeps 0.1 of the negatives.
    expect(bn!.z.mean).toBeCloseTo(0, 4);
    expect(bn!.z.std).toBeCloseTo(1, 1);
    expect(bn!.a.min).toBeCloseTo(0.1 * bn!.z.min, 4);
    expect(dense1!.z).toEqual(dense1!.a);
    // Softmax outputs sum to 1 per sample: mean 1/10.
    expect(dense2!.a.mean).toBeCloseTo(0.1, 5);
    // σ = 0.5 on the last layer makes the untrained network confident: the loss is far above ln 10.
    expect(j.loss).toBeGreaterThan(1.4 * Math.log(10));
    expect(j.warnings.map((w) => w.kind)).toContain("initial-loss");
  }, 60_000);

  it("says what is wrong with bad input, with `nnc train`'s exit codes", () => {
    const missing = nnc(["inspect", "nope.nn"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain("NN5001");
    expect(nnc(["inspect", "specs/block.nn", "--backend", "tpu"]).code).toBe(2);
    expect(nnc(["inspect", "specs/block.nn", "--batch", "0"]).stderr).toContain("--batch needs a whole number of at least 1");
    expect(nnc(["inspect"]).code).toBe(2);
    expect(nnc(["inspect", "specs/block.nn", "--model", "nosuch"]).code).toBe(2);
    const dir = mkdtempSync(join(tmpdir(), "nnc-inspect-bad-"));
    writeFileSync(join(dir, "norecipe.nn"), "model m {\n input 2\n dense 2 softmax\n}\n");
    const none = nnc(["inspect", join(dir, "norecipe.nn")]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("has no `train` recipe");
    writeFileSync(join(dir, "s.nn"), 'model m {\n input 2\n dense 2 softmax\n}\ntrain m {\n data csv("missing.csv", label: "y")\n loss crossentropy\n}\n');
    const data = nnc(["inspect", join(dir, "s.nn"), "--backend", "cpu"]);
    expect(data.code).toBe(1);
    expect(data.stderr).toMatch(/^nnc: Cannot find .*missing\.csv/m);
    expect(data.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });
});
