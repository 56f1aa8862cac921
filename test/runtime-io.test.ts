import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadModel, saveModel, writeJsonAtomic } from "../src/runtime/io.js";
import { activationLayer, channelwisePrelu, groupNorm, maxout } from "../src/runtime/layers.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "nnc-io-"));
}

function sample(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, "float32", seed);
}

function denseModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [5], units: 8, activation: "tanh", kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  model.add(tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return model;
}

/** A small conv net with every custom layer and the activations that need care. */
function customModel(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 2] });
  let h = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: "same", kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(input) as tf.SymbolicTensor;
  h = groupNorm({ groups: 4, epsilon: 1e-3, name: "gn" }).apply(h) as tf.SymbolicTensor;
  h = channelwisePrelu({ name: "prelu", inputRank: 3 }).apply(h) as tf.SymbolicTensor;
  h = maxout({ k: 2, name: "maxout" }).apply(h) as tf.SymbolicTensor;
  h = activationLayer({ name: "prelu" }, "prelu2").apply(h) as tf.SymbolicTensor;
  h = activationLayer({ name: "elu", alpha: 0.5 }, "elu").apply(h) as tf.SymbolicTensor;
  h = activationLayer({ name: "softmax" }, "softmax").apply(h) as tf.SymbolicTensor;
  h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** Moves every weight away from its initial value, so the round trip cannot pass by luck. */
function perturb(model: tf.LayersModel): void {
  model.setWeights(model.getWeights().map((w, i) => tf.add(w, sample(w.shape, 100 + i))));
}

function expectSameModel(a: tf.LayersModel, b: tf.LayersModel, x: tf.Tensor): void {
  expect(b.layers.map((l) => l.getClassName())).toEqual(a.layers.map((l) => l.getClassName()));
  const wa = a.getWeights();
  const wb = b.getWeights();
  expect(wb.map((w) => w.shape)).toEqual(wa.map((w) => w.shape));
  wa.forEach((w, i) => expect(Array.from(wb[i]!.dataSync())).toEqual(Array.from(w.dataSync())));
  const ya = a.predict(x) as tf.Tensor;
  const yb = b.predict(x) as tf.Tensor;
  expect(Array.from(yb.dataSync())).toEqual(Array.from(ya.dataSync()));
  tf.dispose([ya, yb]);
}

interface SavedJson {
  modelTopology: { class_name?: string; config?: { layers?: { class_name: string }[] } };
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
  format?: string;
}

function readModelJson(dir: string): SavedJson {
  return JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as SavedJson;
}

describe("saveModel and loadModel", () => {
  it("round-trip a dense model with identical weights and predictions", async () => {
    const dir = tempDir();
    const model = denseModel();
    perturb(model);
    await saveModel(model, dir);
    const loaded = await loadModel(dir);
    const x = sample([4, 5], 7);
    expectSameModel(model, loaded, x);
    x.dispose();
  });

  it("write a model.json with topology and a manifest pointing at a weights.bin of the right size", async () => {
    const dir = join(tempDir(), "nested", "run");
    const model = denseModel();
    await saveModel(model, dir);
    expect(readdirSync(dir).sort()).toEqual(["model.json", "weights.bin"]);
    const json = readModelJson(dir);
    expect(json.format).toBe("layers-model");
    expect(json.modelTopology.class_name).toBe("Sequential");
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0]!.paths).toEqual(["./weights.bin"]);
    const specs = json.weightsManifest[0]!.weights;
    expect(specs.map((s) => s.shape)).toEqual(model.getWeights().map((w) => w.shape));
    const bytes = specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
    expect(bytes).toBe((5 * 8 + 8 + 8 * 3 + 3) * 4);
    expect(statSync(join(dir, "weights.bin")).size).toBe(bytes);
  });

  it("round-trip a conv net with group norm, channel-wise PReLU, maxout, ELU(0.5) and last-axis softmax", async () => {
    const dir = tempDir();
    const model = customModel();
    perturb(model);
    await saveModel(model, dir);
    const classes = (readModelJson(dir).modelTopology.config?.layers ?? []).map((l) => l.class_name);
    expect(classes).toEqual(["InputLayer", "Conv2D", "NncGroupNorm", "PReLU", "NncMaxout", "PReLU", "NncElu", "Softmax", "Flatten", "Dense"]);
    const loaded = await loadModel(dir);
    expect(loaded.getLayer("gn").getConfig()).toMatchObject({ groups: 4, epsilon: 1e-3 });
    expect(loaded.getLayer("prelu").getConfig()["sharedAxes"]).toEqual([1, 2]);
    expect(loaded.getLayer("maxout").getConfig()["k"]).toBe(2);
    expect(loaded.getLayer("prelu2").getWeights()[0]!.shape).toEqual([1, 1, 4]);
    expect(loaded.getLayer("elu").getConfig()["alpha"]).toBe(0.5);
    expect(loaded.getLayer("softmax").getConfig()["axis"]).toBe(-1);
    const x = sample([3, 6, 6, 2], 8);
    expectSameModel(model, loaded, x);
    x.dispose();
  });

  it("keep what training changed, and overwrite an earlier save in place without leaving temporary files", async () => {
    const dir = tempDir();
    const model = denseModel();
    await saveModel(model, dir);
    model.compile({ optimizer: tf.train.sgd(0.5), loss: "categoricalCrossentropy" });
    const x = sample([8, 5], 9);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], "int32"), 3);
    await model.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0 });
    await saveModel(model, dir);
    expect(readdirSync(dir).sort()).toEqual(["model.json", "weights.bin"]);
    const loaded = await loadModel(dir);
    expectSameModel(model, loaded, x);
    tf.dispose([x, y]);
  });

  it("report a folder without a model.json clearly", async () => {
    const dir = tempDir();
    await expect(loadModel(dir)).rejects.toThrow(/Cannot read the model .*model\.json/);
    writeFileSync(join(dir, "model.json"), "{}");
    await expect(loadModel(dir)).rejects.toThrow(/model\.json: `modelTopology` is missing; the file must be a TensorFlow\.js layers model/);
  });
});

describe("writeJsonAtomic", () => {
  it("writes pretty JSON with a final newline, creating folders, and leaves no temporary file", async () => {
    const dir = tempDir();
    const path = join(dir, "a", "history.json");
    await writeJsonAtomic(path, { epochs: [{ loss: 0.5 }], ok: true });
    expect(readFileSync(path, "utf8")).toBe('{\n  "epochs": [\n    {\n      "loss": 0.5\n    }\n  ],\n  "ok": true\n}\n');
    await writeJsonAtomic(path, [1, 2]);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual([1, 2]);
    expect(readdirSync(join(dir, "a"))).toEqual(["history.json"]);
  });

  it("refuses a value with no JSON form and leaves the old file alone", async () => {
    const dir = tempDir();
    const path = join(dir, "x.json");
    await writeJsonAtomic(path, { v: 1 });
    await expect(writeJsonAtomic(path, undefined)).rejects.toThrow(TypeError);
    expect(existsSync(path)).toBe(true);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ v: 1 });
    expect(readdirSync(dir)).toEqual(["x.json"]);
  });
});
