/**
 * The runtime's inspection on models small enough to check by hand: statistics and the
 * across-sample signal, Z of an inline activation (the linear twin) against the matmul,
 * gradients against TF.js's own, and which numbers make which warning.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TrainConfig } from "../src/runtime/config.js";
import { defaultBatch, diagnose, inspect, inspectModel, inspectSaved, signalStd, tensorStats, type Inspection, type LayerInspection } from "../src/runtime/inspect.js";
import { saveModel } from "../src/runtime/io.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("statistics", () => {
  it("gives the population mean and std, the range and a histogram that counts every value", () => {
    const s = tensorStats([1, 2, 3, 4, 10], 3);
    expect(s.mean).toBe(4);
    expect(s.std).toBeCloseTo(Math.sqrt((9 + 4 + 1 + 0 + 36) / 5), 12);
    expect([s.min, s.max]).toEqual([1, 10]);
    expect(s.histogram).toEqual({ lo: 1, hi: 10, counts: [3, 1, 1] });
    expect(tensorStats([2, 2]).histogram.counts.reduce((a, b) => a + b)).toBe(2);
  });

  it("measures the signal across samples, not across units", () => {
    // Two samples, two units: unit 0 is 5 for both (no signal), unit 1 is ±1.
    expect(signalStd([5, -1, 5, 1], 2)).toBeCloseTo(Math.sqrt((0 + 1) / 2), 12);
    // Every sample the same: no signal at all, however different the units are.
    expect(signalStd([0, 10, 20, 0, 10, 20], 2)).toBe(0);
    expect(tensorStats([0, 10, 20, 0, 10, 20]).std).toBeGreaterThan(8);
  });
});

describe("inspectModel", () => {
  it("computes Z, the activations and the gradients of a dense tanh layer exactly", async () => {
    const input = tf.input({ shape: [3] });
    const hidden = tf.layers.dense({ units: 4, activation: "tanh", name: "h", kernelInitializer: tf.initializers.randomNormal({ seed: 1 }) });
    const out = tf.layers.dense({ units: 2, activation: "softmax", name: "o", kernelInitializer: tf.initializers.randomNormal({ seed: 2 }) });
    const model = tf.model({ inputs: input, outputs: out.apply(hidden.apply(input)) as tf.SymbolicTensor });
    const x = tf.tensor2d([
      [0.5, -1, 2],
      [1, 0, -0.5],
      [-2, 1, 0.25],
    ]);
    const labels = new Int32Array([0, 1, 1]);
    const r = await inspectModel(model, x, labels, "crossentropy");
    const [w, b] = hidden.getWeights();
    const z = tf.add(tf.matMul(x, w!), b!);
    expect(r.layers.map((l) => [l.name, l.activation])).toEqual([
      ["h", "tanh"],
      ["o", "softmax"],
    ]);
    const zData = Array.from(await z.data());
    expect(r.layers[0]!.z.mean).toBeCloseTo(zData.reduce((a, v) => a + v, 0) / zData.length, 6);
    expect(r.layers[0]!.z.max).toBeCloseTo(Math.max(...zData), 6);
    expect(r.layers[0]!.a.max).toBeCloseTo(Math.tanh(Math.max(...zData)), 6);
    // The gradient of the mean crossentropy w.r.t. the hidden kernel, by TF.js directly.
    const y = tf.oneHot(tf.tensor1d(labels, "int32"), 2);
    const g = tf.grad((k: tf.Tensor) => {
      const h = tf.tanh(tf.add(tf.matMul(x, k), b!));
      const p = tf.softmax(tf.add(tf.matMul(h, out.getWeights()[0]!), out.getWeights()[1]!));
      return tf.metrics.categoricalCrossentropy(y, p).mean();
    })(w!);
    const gs = tensorStats(Array.from(await g.data()));
    expect(r.layers[0]!.gradients!.std).toBeCloseTo(gs.std, 6);
    expect(r.layers[0]!.gradients!.mean).toBeCloseTo(gs.mean, 6);
    expect(r.loss).toBeGreaterThan(0);
    expect(r.expectedLoss).toBeCloseTo(Math.log(2), 12);
    // Nothing was changed or leaked.
    expect(Array.from(await hidden.getWeights()[0]!.data())).toEqual(Array.from(await w!.data()));
  });
});

describe("inspect on a recipe", () => {
  const build = (seed: number): tf.LayersModel => {
    const input = tf.input({ shape: [4] });
    const h = tf.layers.dense({ units: 6, activation: "tanh", name: "h", kernelInitializer: tf.initializers.glorotNormal({ seed }) }).apply(input);
    return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 1, activation: "sigmoid", name: "o", kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 1 }) }).apply(h) as tf.SymbolicTensor });
  };
  const config: TrainConfig = {
    model: "m",
    data: { source: "ball", dims: 4, n: 50, test: 0 },
    normalize: { kind: "standard" },
    augment: [],
    loss: "binary_crossentropy",
    optimizer: { name: "sgd", args: {} },
    lr: 0.1,
    schedule: { name: "constant" },
    weightDecay: 0,
    batch: 8,
    epochs: 1,
    metrics: ["loss", "acc"],
  };

  it("starts from the weights the seed gives, or from a pretrained model's, and reads a saved one back", async () => {
    const a = await inspect(build, config, { backend: "cpu", seed: 1, log: () => {} });
    const b = await inspect(build, config, { backend: "cpu", seed: 1, log: () => {} });
    const c = await inspect(build, config, { backend: "cpu", seed: 2, log: () => {} });
    expect(b.layers[0]!.weights).toEqual(a.layers[0]!.weights);
    expect(c.layers[0]!.weights!.std).not.toBe(a.layers[0]!.weights!.std);
    expect(a.batch).toBe(50);
    const dir = mkdtempSync(join(tmpdir(), "nnc-inspect-pre-"));
    const trained = build(7);
    await saveModel(trained, dir);
    const saved = await inspectSaved(dir, config, { backend: "cpu", seed: 1, log: () => {} });
    const pre = await inspect(build, { ...config, pretrained: "model.json" }, { backend: "cpu", seed: 1, baseDir: dir, log: () => {} });
    const seven = await inspect(build, config, { backend: "cpu", seed: 7, log: () => {} });
    for (const r of [saved, pre]) expect(r.layers.map((l) => l.weights)).toEqual(seven.layers.map((l) => l.weights));
    trained.dispose();
  });
});

describe("the default batch", () => {
  it("is 256 samples unless the activations of that many would not fit in about 256 MB", () => {
    const small = tf.sequential({ layers: [tf.layers.dense({ inputShape: [10], units: 100 })] });
    expect(defaultBatch(small)).toBe(256);
    const input = tf.input({ shape: [224, 224, 3] });
    const big = tf.model({ inputs: input, outputs: tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: "same" }).apply(input) as tf.SymbolicTensor });
    // 224·224·(3 + 64) = 3,361,792 values a sample: 19 samples in 64M.
    expect(defaultBatch(big)).toBe(19);
    small.dispose();
    big.dispose();
  });
});

describe("diagnose", () => {
  const stats = (std: number) => tensorStats([-std, std]);
  const layer = (name: string, activation: string, signal: number, grad: number, extra: Partial<LayerInspection> = {}): LayerInspection => ({
    name,
    className: "Dense",
    activation,
    shape: [4],
    z: stats(1),
    a: stats(signal),
    signal,
    weights: stats(0.1),
    gradients: stats(grad),
    ...extra,
  });
  const inspection = (layers: LayerInspection[], loss = 0.69): Inspection => ({ batch: 8, input: { ...stats(1), signal: 1 }, layers, loss, lossName: "binary_crossentropy", classes: 2, expectedLoss: Math.log(2), warnings: [] });

  it("is quiet when the scale holds", () => {
    expect(diagnose(inspection([layer("a", "tanh", 0.5, 1e-3), layer("b", "tanh", 0.2, 1e-3), layer("out", "sigmoid", 0.1, 1e-2)]))).toEqual([]);
  });

  it("flags a vanishing and an exploding signal, vanishing gradients, saturation, dead units and the initial loss", () => {
    const kinds = (i: Inspection): string[] => diagnose(i).map((w) => w.kind);
    expect(kinds(inspection([layer("a", "tanh", 0.5, 1e-3), layer("b", "tanh", 0.04, 1e-3), layer("out", "sigmoid", 0.1, 1e-3)]))).toEqual(["vanishing-signal"]);
    expect(kinds(inspection([layer("a", "relu", 1, 1e-3), layer("b", "relu", 11, 1e-3), layer("out", "sigmoid", 0.1, 1e-3)]))).toEqual(["exploding-signal"]);
    expect(kinds(inspection([layer("a", "tanh", 0.5, 1e-6), layer("b", "tanh", 0.5, 1e-4), layer("out", "sigmoid", 0.1, 1e-3)]))).toEqual(["vanishing-gradients"]);
    expect(kinds(inspection([layer("a", "tanh", 0.5, 1e-1), layer("b", "tanh", 0.5, 1e-4), layer("out", "sigmoid", 0.1, 1e-4)]))).toEqual(["exploding-gradients"]);
    expect(kinds(inspection([layer("a", "tanh", 0.5, 1e-3, { saturated: 0.6 }), layer("out", "sigmoid", 0.1, 1e-3)]))).toEqual(["saturated"]);
    expect(kinds(inspection([layer("a", "relu", 0.5, 1e-3, { dead: 0.8 }), layer("out", "sigmoid", 0.1, 1e-3)]))).toEqual(["dead-units"]);
    expect(kinds(inspection([layer("a", "tanh", 0.5, 1e-3), layer("out", "sigmoid", 0.1, 1e-3)], 3))).toEqual(["initial-loss"]);
    const hint = diagnose(inspection([layer("a", "sigmoid", 0.5, 1e-3), layer("b", "sigmoid", 0.01, 1e-3), layer("out", "sigmoid", 0.1, 1e-3)]))[0]!.hint;
    expect(hint).toContain("`init glorot_normal`");
    expect(hint).toContain("prefer `tanh` or `relu` to `sigmoid`");
  });
});
