/**
 * `nnc sanity`: overfit 20 samples per class first. The tanh/Glorot BLOCK memorises its 40
 * points; the sigmoid/σ = 0.01 one cannot move its loss and is told why. Also the subset the
 * runtime takes (`perClass`), a CSV source, a learning rate that blows up, and bad input.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadData } from "../src/runtime/data/index.js";
import { sparkline } from "../src/cli/sanity-command.js";
import { nnc } from "./cli-run.js";



describe("the runtime's per-class subset", () => {
  it("keeps the first N samples of each class, in order, and drops the test split", async () => {
    await tf.setBackend("cpu");
    const full = await loadData({ source: "ball", dims: 3, n: 200, test: 50 }, { inputShape: [3], seed: 5, baseDir: "." });
    const sub = await loadData({ source: "ball", dims: 3, n: 200, test: 50, perClass: 7 }, { inputShape: [3], seed: 5, baseDir: "." });
    const expected: number[] = [];
    const seen = [0, 0];
    full.train.labels!.forEach((c, i) => {
      if (seen[c]! < 7) {
        seen[c]!++;
        expected.push(i);
      }
    });
    expect(Array.from(sub.train.labels!)).toEqual(expected.map((i) => full.train.labels![i]));
    expect(sub.train.x!.shape).toEqual([14, 3]);
    expect(Array.from(sub.train.x!.dataSync())).toEqual(expected.flatMap((i) => Array.from(full.train.x!.slice(i, 1).dataSync())));
    expect(sub.test?.x).toBeUndefined();
    expect(sub.description).toBe("ball (200 points in 3 dimensions), 7 per class: 14 samples");
  });
});

describe("nnc sanity", () => {
  it("overfits 20 samples per class with tanh and Glorot: curve, verdict, exit 0", () => {
    const r = nnc(["sanity", "specs/babysit/block_tanh_glorot.nn", "--backend", "cpu"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("data: ball (3,000 points in 10 dimensions), 20 per class: 40 samples");
    expect(r.stdout).not.toContain('{"epoch"');
    const rows = r.stdout.split("\n").filter((l) => /^\s+\d+\s+\d\.\d{4}\s+\d+\.\d%$/.test(l));
    expect(rows.length).toBeGreaterThan(3);
    expect(r.stdout).toMatch(/^loss  [▁▂▃▄▅▆▇█]+$/m);
    expect(r.stdout).toMatch(/^ok: training accuracy reached (99\.\d|100\.0)% in epoch \d+/m);
  }, 60_000);

  it("fails with sigmoid and σ = 0.01: the loss does not move, and the hints say where to look", () => {
    const r = nnc(["sanity", "specs/babysit/block_sigmoid_small.nn", "--backend", "cpu", "--epochs", "60"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^not overfitted: the best training accuracy was \d+\.\d%/m);
    expect(r.stdout).toContain("hint: the loss hardly moved");
    expect(r.stdout).toContain("run `nnc inspect`");
  }, 60_000);

  it("takes its subset from a CSV too, and says when the learning rate is too high or blows the weights up", () => {
    const dir = mkdtempSync(join(tmpdir(), "nnc-sanity-"));
    const rows = ["a,b,label"];
    for (let i = 0; i < 90; i++) rows.push(`${Math.cos(i)},${Math.sin(i * 1.3)},${["x", "y", "z"][i % 3]}`);
    writeFileSync(join(dir, "d.csv"), rows.join("\n") + "\n");
    const spec = (lr: string): string => `model m {\n input 2\n dense 64 relu init he_normal\n dense 3 softmax\n}\ntrain m {\n data csv("d.csv", label: "label")\n loss crossentropy\n optim adam lr ${lr}\n batch 8\n seed 1\n}\n`;
    writeFileSync(join(dir, "ok.nn"), spec("0.01"));
    const ok = nnc(["sanity", join(dir, "ok.nn"), "--backend", "cpu", "--per-class", "4"]);
    expect(ok.stdout).toContain("4 per class: 12 samples");
    expect(ok.code, ok.stdout).toBe(0);
    writeFileSync(join(dir, "hot.nn"), spec("50").replace("optim adam", "optim sgd"));
    const hot = nnc(["sanity", join(dir, "hot.nn"), "--backend", "cpu", "--per-class", "4", "--epochs", "30"]);
    expect(hot.code).toBe(1);
    expect(hot.stdout + hot.stderr).toMatch(/the learning rate \(50\) is too high/);
    expect(hot.stderr).not.toMatch(/\bat .*\.js:\d+/);
    // A linear output under mse with a huge step overflows: the runtime's divergence guard stops it.
    writeFileSync(join(dir, "d2.csv"), rows.map((r) => r.replace(/,z$/, ",y")).join("\n") + "\n");
    writeFileSync(join(dir, "boom.nn"), `model m {\n input 2\n dense 64 relu init he_normal\n dense 1\n}\ntrain m {\n data csv("d2.csv", label: "label")\n loss mse\n optim sgd lr 90\n batch 8\n seed 1\n}\n`);
    const boom = nnc(["sanity", join(dir, "boom.nn"), "--backend", "cpu", "--per-class", "4"]);
    expect(boom.code).toBe(1);
    expect(boom.stdout).toMatch(/^not overfitted: .*(infinite|NaN|overflowed)/m);
    expect(boom.stdout).toMatch(/learning rate/);
  }, 60_000);

  it("refuses bad arguments with usage errors", () => {
    expect(nnc(["sanity", "specs/block.nn", "--per-class", "0"]).code).toBe(2);
    expect(nnc(["sanity", "specs/block.nn", "--epochs", "x"]).code).toBe(2);
    expect(nnc(["sanity", "specs/block.nn", "--backend", "gpu9"]).code).toBe(2);
    const missing = nnc(["sanity", "missing.nn"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain("NN5001");
  });

  it("draws sparklines over a fixed scale", () => {
    expect(sparkline([0, 0.5, 1], 50, 0, 1)).toBe("▁▅█");
    expect(sparkline([1, 1, 0, 0], 2, 0, 1)).toBe("█▁");
    expect(sparkline([], 10)).toBe("");
  });
});
