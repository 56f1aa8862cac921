/**
 * What `train()` refuses before it spends minutes or memory on a run that cannot work
 * (issue 12): a model whose step needs more memory than its backend can use (from codegen's
 * counts in ModelInfo, before the model is built), TF.js running out of memory anyway (a
 * clear message, not an internal error), inputs whose normalisation overflows float32 and
 * inputs so large that they, not the learning rate, make the loss overflow, layer names TF.js
 * cannot load back, and models too deep for TF.js's recursion.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { freemem, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ballConfig } from "./runtime-helpers.js";
import type { TrainConfig } from "../src/runtime/config.js";
import { inspect, InspectError } from "../src/runtime/inspect.js";
import { train, TrainError, type ModelInfo } from "../src/runtime/train.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "nnc-train-limits-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG: TrainConfig = ballConfig();

const quiet = { noSave: true, log: () => {}, logJson: true };

/** A builder that fails the test if train() calls it: the refusal must come before building. */
const mustNotBuild = (): tf.LayersModel => {
  throw new Error("train() built the model before refusing it");
};

/** `input 10 -> dense 10000000 relu -> dense 1 sigmoid` as codegen counts it (multiply-adds understated: one wasm thread). */
const HUGE_DENSE: ModelInfo = { inputShape: [10], outputShape: [1], convolutional: false, multiplyAdds: 1000, parameters: 120_000_011, trainableParameters: 120_000_011, activationsPerSample: 10_000_011 };

async function refusal(run: Promise<unknown>): Promise<string> {
  const e = await run.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e, "train() should have refused").toBeInstanceOf(TrainError);
  return (e as Error).message;
}

function mlp(units: number, names: [string, string] = ["hidden", "out"]): (seed: number) => tf.LayersModel {
  return (seed) => {
    const input = tf.input({ shape: [10] });
    const h = tf.layers.dense({ units, activation: "relu", name: names[0], kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(input) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 1, activation: "sigmoid", name: names[1] }).apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  };
}

describe("memory", () => {
  it("refuses, before building, a model the wasm backend cannot hold, with the numbers", async () => {
    const message = await refusal(train(mustNotBuild, CONFIG, { ...quiet, backend: "wasm" }, HUGE_DENSE));
    expect(message).toMatch(
      /^The model `m` needs about [\d.]+ GB to train at batch 32 \(weights 458 MB, gradients 458 MB, adam's state 916 MB, the backward pass 12 GB \(a batch's activations, their gradients and TF\.js's intermediates\)\); the wasm backend can use at most 4 GB \(WebAssembly's 32-bit address space\); nnc plans with 80% of that \(3\.2 GB\)/,
    );
    expect(message).toContain("Hint: ");
  }, 60_000);

  it("refuses a batch of activations no machine holds on cpu, and says which batch size would fit", async () => {
    // 100 M floats per sample: 3.4 GB a sample in the backward pass, 1.7 TB at batch 512 (binary units).
    const info: ModelInfo = { inputShape: [10], outputShape: [1], convolutional: false, parameters: 1000, trainableParameters: 1000, activationsPerSample: 1e8 };
    const message = await refusal(train(mustNotBuild, { ...CONFIG, batch: 512 }, { ...quiet, backend: "cpu" }, info));
    expect(message).toMatch(/needs about 1\.7 TB to train at batch 512 .*the backward pass 1\.7 TB \(a batch's activations, their gradients and TF\.js's intermediates\)\); the cpu backend can use the machine's free memory, [\d.]+ GB now/);
    // Where a sample's 3.4 GB fit in 80% of the free memory, a smaller batch is suggested.
    if (freemem() > 6 * 2 ** 30) expect(message).toMatch(/Hint: `batch \d+` or less would fit\./);
    else expect(message).toContain("Hint: lower the batch size or the model's size.");
  }, 60_000);

  it("measures the model when generated code gives no counts, still before loading the data", async () => {
    const message = await refusal(train(mlp(10_000_000), { ...CONFIG, data: { source: "ball", dims: 10, n: 1e9, test: 0 } }, { ...quiet, backend: "wasm" }, { inputShape: [10], outputShape: [1], convolutional: false }));
    expect(message).toMatch(/^The model `m` needs about [\d.]+ GB to train at batch 32 \(weights 458 MB/);
  }, 120_000);

  it("turns TF.js running out of wasm memory anyway (counts that understate the model) into a message", async () => {
    const understated: ModelInfo = { ...HUGE_DENSE, parameters: 10, trainableParameters: 10, activationsPerSample: 10 };
    const message = await refusal(train(mlp(10_000_000), CONFIG, { ...quiet, backend: "wasm" }, understated));
    expect(message).toMatch(/^TF\.js ran out of memory on the wasm backend \(RuntimeError: .*\)\. Hint: lower the batch size or the model's size, or train with --backend cpu/);
  }, 300_000);
});

describe("inputs", () => {
  const csv = (rows: string[]): string => {
    const path = join(dir, `d${rows.length}-${Math.random().toString(16).slice(2)}.csv`);
    writeFileSync(path, ["small,big,label", ...rows].join("\n") + "\n");
    return path;
  };
  const rows = Array.from({ length: 32 }, (_, i) => `${(i % 7) / 7},${(i % 2 ? 3 : 2.5) * 1e38},${i % 2}`);
  const info: ModelInfo = { inputShape: [2], outputShape: [1], convolutional: false };
  const build = (seed: number): tf.LayersModel => {
    const input = tf.input({ shape: [2] });
    const h = tf.layers.dense({ units: 4, activation: "tanh", kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(input) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 1, activation: "sigmoid" }).apply(h) as tf.SymbolicTensor });
  };

  it("whose standard normalisation overflows float32 are refused before training, naming the column", async () => {
    const data = { source: "csv" as const, path: csv(rows), label: "label" };
    const message = await refusal(train(build, { ...CONFIG, data }, { ...quiet, backend: "cpu" }, info));
    expect(message).toMatch(/^`normalize standard` cannot be fitted to column "big" \(2\) of ".*\.csv": its values are so large that their (variance|mean) overflows a 32-bit float/);
    const minmax = await refusal(train(build, { ...CONFIG, data: { ...data, path: csv([...rows, `0,-3e38,0`]) }, normalize: { kind: "minmax" } }, { ...quiet, backend: "cpu" }, info));
    expect(minmax).toMatch(/^`normalize minmax` cannot be fitted to column "big" \(2\) of .*: its values span from -3\.0e38 to 3\.0e38, a range that overflows a 32-bit float/);
    const scaled = await refusal(train(build, { ...CONFIG, data, normalize: { kind: "scale", factor: 1e10 } }, { ...quiet, backend: "cpu" }, info));
    expect(scaled).toMatch(/^After `normalize scale\(10000000000\)`, column "big" \(2\) of .* of the training data is infinite/);
  }, 60_000);

  it("so large that float32 overflows are blamed for the divergence, not the learning rate", async () => {
    const data = { source: "csv" as const, path: csv(rows), label: "label" };
    const linear = (): tf.LayersModel => {
      const input = tf.input({ shape: [2] });
      // Weights of one: the products of the first layers are the inputs' size (no unit starts dead).
      const h = tf.layers.dense({ units: 4, activation: "relu", kernelInitializer: tf.initializers.ones() }).apply(input) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.ones() }).apply(h) as tf.SymbolicTensor });
    };
    const message = await refusal(train(linear, { ...CONFIG, data, normalize: { kind: "none" }, loss: "mse" }, { ...quiet, backend: "cpu" }, info));
    expect(message).toMatch(/became (NaN|infinite)|overflowed/);
    expect(message).toMatch(/The inputs are the cause, not the learning rate: column "big" \(2\) of .* reaches 3\.0e38 after `normalize none`/);
    expect(message).not.toContain("lower the learning rate");
  }, 60_000);
});

describe("models TF.js cannot take", () => {
  it("with a layer named like a JavaScript built-in are refused before training (TF.js could not load them back)", async () => {
    for (const name of ["constructor", "toString", "valueOf", "hasOwnProperty"]) {
      const message = await refusal(train(mlp(4, [name, "out"]), CONFIG, { ...quiet, backend: "cpu" }));
      expect(message).toContain(`has a layer named \`${name}\`: TF.js could train it, but not load the saved model.json again`);
    }
  }, 60_000);

  it("too deep for TF.js's recursion are a message with the depth it builds", async () => {
    const deep = (): tf.LayersModel => {
      const input = tf.input({ shape: [4] });
      let x = input;
      for (let i = 0; i < 6000; i++) x = tf.layers.add().apply([x, tf.layers.dense({ units: 4, activation: "relu" }).apply(x) as tf.SymbolicTensor]) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 1, activation: "sigmoid" }).apply(x) as tf.SymbolicTensor });
    };
    const message = await refusal(train(deep, { ...CONFIG, data: { source: "ball", dims: 4, n: 32, test: 0 } }, { ...quiet, backend: "cpu" }));
    expect(message).toMatch(/^The model `m` is too deep for TF\.js: .*Maximum call stack size exceeded.*up to about 4,200 layers/);
    // nnc inspect builds the model the same way.
    const e = await inspect(deep, { ...CONFIG, data: { source: "ball", dims: 4, n: 32, test: 0 } }, { backend: "cpu", log: () => {} }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InspectError);
    expect((e as Error).message).toMatch(/^The model `m` is too deep for TF\.js to build \(Maximum call stack size exceeded/);
  }, 120_000);
});
