/**
 * Honest evaluation and the data the loop trains on: validation comes from the source's own
 * split, a stratified seeded holdout (`validate F`), or a default holdout when the recipe reads
 * a `val_` metric — never from the test split, which is evaluated once, after training; CSV
 * regression targets; `train({ data })` with tensors or batches; and run folders that keep one
 * copy of identical weights.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { memorySamples } from "../src/runtime/data/samples.js";
import { fitSamples } from "../src/runtime/data/normalize.js";
import { classTargets, holdOut, splitData, DEFAULT_VALIDATION, type UserBatch } from "../src/runtime/train-data.js";
import { train } from "../src/runtime/train.js";
import { SeededRandom } from "../src/runtime/data/augment.js";
import { ballConfig } from "./runtime-helpers.js";

await tf.setBackend("cpu");
const dir = mkdtempSync(join(tmpdir(), "nnc-train-data-"));

/** A dense model over `inputs` features ending in `units` (softmax when more than one class, else sigmoid or linear). */
function dense(inputs: number, units: number, activation: "softmax" | "sigmoid" | "linear" = units > 1 ? "softmax" : "sigmoid"): (seed: number) => tf.LayersModel {
  return (seed) => {
    const input = tf.input({ shape: [inputs] });
    const hidden = tf.layers.dense({ units: 8, activation: "tanh", kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(input) as tf.SymbolicTensor;
    const output = tf.layers.dense({ units, activation, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(hidden) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: output });
  };
}

describe("holdOut", () => {
  const labels = Int32Array.from({ length: 100 }, (_, i) => (i < 70 ? 0 : i < 90 ? 1 : 2));
  const samples = () => memorySamples(tf.tensor2d(Array.from({ length: 100 }, (_, i) => [i]), [100, 1]), { labels });

  it("keeps every class's share, is seeded, and never puts a sample on both sides", () => {
    const a = holdOut(samples(), 0.2, new SeededRandom(5).next);
    const count = (l: Int32Array, c: number) => l.filter((v) => v === c).length;
    expect(a.validation.n).toBe(20);
    expect([0, 1, 2].map((c) => count(a.validation.labels!, c))).toEqual([14, 4, 2]);
    expect([0, 1, 2].map((c) => count(a.train.labels!, c))).toEqual([56, 16, 8]);
    const v = Array.from(a.validation.x!.dataSync());
    const t = new Set(a.train.x!.dataSync());
    expect(v.some((x) => t.has(x))).toBe(false);
    const b = holdOut(samples(), 0.2, new SeededRandom(5).next);
    expect(Array.from(b.validation.x!.dataSync())).toEqual(v);
    const c = holdOut(samples(), 0.2, new SeededRandom(6).next);
    expect(Array.from(c.validation.x!.dataSync())).not.toEqual(v);
  });

  it("rounds by largest remainders and holds out at least one sample", () => {
    const tiny = holdOut(samples(), 0.001, new SeededRandom(1).next);
    expect(tiny.validation.n).toBe(1);
    expect(tiny.validation.labels![0]).toBe(0);
    const third = holdOut(samples(), 1 / 3, new SeededRandom(1).next);
    expect(third.validation.n).toBe(33);
  });

  it("holds out regression targets at random, with their rows", () => {
    const targets = Float32Array.from({ length: 20 }, (_, i) => i * 10);
    const s = memorySamples(tf.tensor2d(Array.from({ length: 10 }, (_, i) => [i]), [10, 1]), { targets });
    const { train: t, validation } = holdOut(s, 0.3, new SeededRandom(2).next, 2);
    expect(validation.n).toBe(3);
    const xs = Array.from(validation.x!.dataSync());
    expect(Array.from(validation.targets!)).toEqual(xs.flatMap((x) => [x * 20, x * 20 + 10]));
    expect(t.n).toBe(7);
  });
});

describe("the normaliser fitted on a stream", () => {
  it("equals the one fitted in memory, batch size aside", async () => {
    const values = Float32Array.from({ length: 1000 * 3 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 7);
    const x = tf.tensor2d(values, [1000, 3]);
    const streamed = { n: 1000, read: async (idx: Int32Array) => Float32Array.from(Array.from(idx).flatMap((i) => Array.from(values.subarray(i * 3, i * 3 + 3)))) };
    for (const kind of ["standard", "minmax"] as const) {
      const a = await fitSamples({ kind }, { n: 1000, x }, 3);
      const b = await fitSamples({ kind }, streamed, 3, 64);
      for (const k of Object.keys(a.stats)) a.stats[k]!.forEach((v, i) => expect(b.stats[k]![i]).toBeCloseTo(v, 5));
    }
  });
});

describe("classTargets", () => {
  it("gives 0/1 labels that TF.js's hinge loss maps to ±1 once: max(0, 1 − y·score)", () => {
    const y = classTargets(Int32Array.from([0, 1]), "hinge", 1);
    const loss = tf.losses.hingeLoss(y, tf.tensor2d([[0.3], [-0.2]])).dataSync()[0]!;
    expect(loss).toBeCloseTo((1.3 + 1.2) / 2, 6);
  });
});

describe("splitData", () => {
  const data = (withTest: boolean, withValidation = false) => ({
    train: memorySamples(tf.zeros([50, 2]), { labels: Int32Array.from({ length: 50 }, (_, i) => i % 2) }),
    ...(withTest ? { test: memorySamples(tf.ones([10, 2]), { labels: new Int32Array(10) }) } : {}),
    ...(withValidation ? { validation: memorySamples(tf.ones([7, 2]), { labels: new Int32Array(7) }) } : {}),
    classes: 2,
    description: "d",
  });

  it("never validates on the test split", () => {
    const plan = splitData(data(true), ballConfig({ earlyStop: { metric: "val_loss", patience: 2, restoreBest: false } }), new SeededRandom(1).next);
    expect(plan.validation!.samples!.n).toBe(Math.round(50 * DEFAULT_VALIDATION));
    expect(plan.test!.samples!.n).toBe(10);
    expect(plan.notes.join("\n")).toMatch(/has no validation data, so 10% of the training data is held out \(5 samples, stratified by class\)/);
  });

  it("holds out nothing when nothing reads validation metrics", () => {
    const plan = splitData(data(true), ballConfig(), new SeededRandom(1).next);
    expect(plan.validation).toBeUndefined();
    expect(plan.train.samples!.n).toBe(50);
  });

  it("uses the source's own validation split before `validate`", () => {
    const plan = splitData(data(false, true), ballConfig({ validate: 0.2 }), new SeededRandom(1).next);
    expect(plan.validation!.samples!.n).toBe(7);
    expect(plan.train.samples!.n).toBe(50);
    expect(plan.notes[0]).toMatch(/own validation split .*`validate 0.2` is not used/);
  });
});

describe("train()", () => {
  it("reports validation and test apart, and the test once, at the end", async () => {
    const lines: string[] = [];
    const result = await train(dense(10, 1), ballConfig({ data: { source: "ball", dims: 10, n: 200, test: 100 }, epochs: 2, validate: 0.25 }), { backend: "cpu", noSave: true, log: (l) => lines.push(l), logJson: true });
    const log = lines.join("\n");
    expect(log).toMatch(/validation: 25% of the training data held out \(50 samples, stratified by class, by the seed\)/);
    expect(log).toMatch(/test: loss [\d.]+, acc [\d.]+% on 100 samples \(evaluated once, after training\)/);
    expect(result.history.every((h) => h.val_loss !== undefined)).toBe(true);
    expect(result.test!.loss).not.toBe(result.history[1]!.val_loss);
  }, 60_000);

  it("trains on the user's tensors and on the user's batches alike", async () => {
    const x = tf.randomUniform([64, 4], -1, 1, "float32", 3);
    const y = tf.tidy(() => x.sum(1).greater(0).toInt());
    const config = ballConfig({ data: { source: "ball", dims: 4, n: 1, test: 0 }, epochs: 3, batch: 16, lr: 0.05, normalize: { kind: "none" } });
    const fromTensors = await train(dense(4, 1), config, { backend: "cpu", noSave: true, log: () => {}, data: { train: { x, y } } });
    const batches = async function* (): AsyncGenerator<UserBatch> {
      for (let i = 0; i < 64; i += 16) yield { x: x.slice(i, 16), y: y.slice(i, 16) };
    };
    const fromBatches = await train(dense(4, 1), config, { backend: "cpu", noSave: true, log: () => {}, data: { train: batches, validation: { x, y } } });
    expect(fromTensors.history).toHaveLength(3);
    expect(fromBatches.history).toHaveLength(3);
    // In order, batch by batch, the batches are the tensors unshuffled: both learn.
    expect(fromBatches.history[2]!.loss).toBeLessThan(fromBatches.history[0]!.loss);
    expect(fromBatches.history[2]!.val_acc).toBeGreaterThan(0.5);
    await expect(train(dense(4, 1), config, { backend: "cpu", noSave: true, log: () => {}, data: { train: { x: tf.zeros([3, 5]), y: [0, 1, 0] } } })).rejects.toThrow(/The training inputs have the shape \[3, 5\], but the model takes \[n, 4\]/);
    const once = batches();
    await expect(train(dense(4, 1), { ...config, epochs: 2 }, { backend: "cpu", noSave: true, log: () => {}, data: { train: once } })).rejects.toThrow(/async generator, which runs once.*pass a function that returns a fresh one/);
  }, 60_000);

  it("regresses on CSV targets, with its own test file", async () => {
    const rows = (n: number, from: number) =>
      Array.from({ length: n }, (_, i) => {
        const a = ((i + from) % 7) / 7;
        const b = ((i * 3 + from) % 5) / 5;
        return `${a},${b},${(2 * a + b).toFixed(4)},${(a - b).toFixed(4)}`;
      });
    writeFileSync(join(dir, "houses.csv"), ["a,b,price,tax", ...rows(120, 0)].join("\n"));
    writeFileSync(join(dir, "houses-test.csv"), ["a,b,price,tax", ...rows(30, 5)].join("\n"));
    const out = join(dir, "regression-run");
    const result = await train(
      dense(2, 2, "linear"),
      ballConfig({ data: { source: "csv", path: "houses.csv", label: "label", targets: ["price", "tax"], test: "houses-test.csv" }, loss: "mse", epochs: 30, batch: 16, lr: 0.02, normalize: { kind: "standard" } }),
      { backend: "cpu", out, baseDir: dir, log: () => {} },
    );
    expect(result.history[29]!.loss).toBeLessThan(result.history[0]!.loss / 4);
    expect(result.history[0]!.acc).toBeUndefined();
    expect(result.test!.acc).toBeUndefined();
    expect(result.test!.loss).toBeLessThan(0.1);
    const facts = JSON.parse(readFileSync(join(out, "data.json"), "utf8"));
    expect(facts).toMatchObject({ task: "regression", classes: 0, targetSize: 2, targetNames: ["price", "tax"], loss: "mse", preprocess: { kind: "features", names: ["a", "b"] }, data: { source: "csv", path: join(dir, "houses.csv"), test: join(dir, "houses-test.csv"), targets: ["price", "tax"] } });
    await expect(
      train(dense(2, 3, "linear"), ballConfig({ data: { source: "csv", path: "houses.csv", label: "label", targets: ["price", "tax"] }, loss: "mse" }), { backend: "cpu", noSave: true, baseDir: dir, log: () => {} }),
    ).rejects.toThrow(/"houses.csv" has 2 target columns \("price", "tax"\), but the model ends in 3 units/);
  }, 60_000);

  it("keeps one copy of weights that best/, the checkpoint and the final model share", async () => {
    const out = join(dir, "lean-run");
    await train(dense(10, 1), ballConfig({ data: { source: "ball", dims: 10, n: 64, test: 0 }, epochs: 1, validate: 0.25, earlyStop: { metric: "val_loss", patience: 3, restoreBest: true } }), { backend: "cpu", out, log: () => {} });
    const files = ["weights.bin", "best/weights.bin", "checkpoint/weights.bin", "checkpoint/early-stop.bin"].map((f) => statSync(join(out, f)));
    // One epoch: it is the best, the last and early stopping's best: four names, one file.
    expect(new Set(files.map((s) => s.ino)).size).toBe(1);
    expect(files[0]!.nlink).toBe(4);
    // A second run into the same folder replaces the files by new ones; the links do not leak old bytes into new names.
    await train(dense(10, 1), ballConfig({ data: { source: "ball", dims: 10, n: 64, test: 0 }, epochs: 2, seed: 9, validate: 0.25, earlyStop: { metric: "val_loss", patience: 3, restoreBest: true } }), { backend: "cpu", out, log: () => {} });
    const w = readFileSync(join(out, "weights.bin"));
    const c = readFileSync(join(out, "checkpoint", "weights.bin"));
    const best = JSON.parse(readFileSync(join(out, "best", "best.json"), "utf8")) as { epoch: number };
    const history = JSON.parse(readFileSync(join(out, "history.json"), "utf8")) as { seed: number };
    expect(history.seed).toBe(9);
    if (best.epoch === 2) expect(statSync(join(out, "weights.bin")).ino).toBe(statSync(join(out, "checkpoint", "weights.bin")).ino);
    expect(w.length).toBe(c.length);
  }, 60_000);
});
