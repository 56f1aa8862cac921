/**
 * Issue 14's layers in the runtime: the activations relu6, swish, gelu, hard_sigmoid and
 * hard_swish, nnc's NncGroupedConv2D and NncChannelPad, and the TF.js layers the generated
 * code uses for depthwise, separable and transposed convs, upsampling, padding, cropping,
 * concatenation and channel-wise scaling, and for sequences conv1d and the 1-D pools. Each is
 * built into a small model, trained two steps with the runtime's optimizer on the cpu and on the
 * wasm backend (same losses and weights), and saved and loaded back through io.ts (same
 * outputs). A SeparableConv2D with a depth multiplier saves it (TF.js leaves it out) and loads,
 * also from a model.json saved without it.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../src/runtime/backends/select.js";
import type { ActivationConfig } from "../src/runtime/config.js";
import { loadModel, saveModel } from "../src/runtime/io.js";
import { activationLayer, builtinActivation, channelPad, groupedConv2d, NncChannelPad, NncGroupedConv2D, NncHardActivation } from "../src/runtime/layers.js";
import { createOptimizer } from "../src/runtime/optimizers.js";
import { NNC_LAYER_CLASSES } from "../src/runtime/register-layers.js";

const folder = mkdtempSync(join(tmpdir(), "nnc-modern-layers-"));

beforeAll(async () => {
  // Loads @tensorflow/tfjs-backend-wasm and registers nnc's kernels, as `nnc train` does.
  const chosen = await selectBackend("wasm", () => undefined, { needsConvGradients: true });
  expect(chosen.name).toBe("wasm");
  await tf.setBackend("cpu");
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Deterministic pseudo-random float32 values in [lo, hi). */
function numbers(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (s / 2 ** 32) * (hi - lo);
  }
  return out;
}

/** Largest difference relative to the largest magnitude in `expected` (at least 1e-3). */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 1e-3;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    const d = Math.abs(actual[i]! - expected[i]!);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
  }
  return diff / scale;
}

type Head = (x: tf.SymbolicTensor) => tf.SymbolicTensor;

function on(layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor {
  return layer.apply(x) as tf.SymbolicTensor;
}

const glorot = (seed: number): ReturnType<typeof tf.initializers.glorotUniform> => tf.initializers.glorotUniform({ seed });

/** Input [6, 6, 4] (or `input`) → the layer(s) under test → global average pool (or flatten; none for a vector) → dense 3. */
function build(head: Head, inputShape: number[], flatten = false): tf.LayersModel {
  const input = tf.input({ shape: inputShape, name: "x" });
  const h = head(input);
  const pool = h.shape.length === 3 ? tf.layers.globalAveragePooling1d({ name: "gap" }) : tf.layers.globalAveragePooling2d({ name: "gap" });
  const pooled = h.shape.length === 2 ? h : on(flatten ? tf.layers.flatten({ name: "flat" }) : pool, h);
  const out = on(tf.layers.dense({ name: "out", units: 3, kernelInitializer: glorot(99) }), pooled);
  return tf.model({ inputs: input, outputs: out });
}

const act = (spec: ActivationConfig): Head => (x) => on(activationLayer(spec, `act_${spec.name}`), on(tf.layers.conv2d({ name: "c", filters: 5, kernelSize: 3, padding: "same", kernelInitializer: glorot(1) }), x));

/** The models, by what they test. */
const MODELS: Record<string, { head: Head; input?: number[]; flatten?: boolean }> = {
  relu6: { head: act({ name: "relu6" }) },
  swish: { head: act({ name: "swish" }) },
  gelu: { head: act({ name: "gelu" }) },
  hard_sigmoid: { head: act({ name: "hard_sigmoid" }) },
  hard_swish: { head: act({ name: "hard_swish" }) },
  "grouped conv 3x3, 4 → 6 channels in 2 groups, stride 1 same (split, conv, concat)": {
    head: (x) => on(groupedConv2d({ name: "g", filters: 6, kernelSize: [3, 3], strides: [1, 1], padding: "same", groups: 2, useBias: true, kernelInitializer: glorot(2), activation: "relu6" }), x),
  },
  "grouped conv 3x3, 4 → 8 channels in 4 groups, stride 2 valid (one depthwise conv, multiplier 2)": {
    head: (x) => on(groupedConv2d({ name: "g", filters: 8, kernelSize: [3, 3], strides: [2, 2], padding: "valid", groups: 4, useBias: true, kernelInitializer: glorot(3), biasInitializer: tf.initializers.constant({ value: 0.1 }) }), x),
  },
  "grouped conv 1x1 with one group, no bias, swish": {
    head: (x) => on(groupedConv2d({ name: "g", filters: 4, kernelSize: [1, 1], strides: [1, 1], padding: "same", groups: 1, useBias: false, kernelInitializer: glorot(4), activation: "swish" }), x),
  },
  "channel padding on a residual (ResNet option A): conv stride 2 widens, the shortcut is pooled and padded": {
    head: (x) => {
      const conv = on(tf.layers.conv2d({ name: "c", filters: 7, kernelSize: 3, strides: 2, padding: "same", kernelInitializer: glorot(5) }), x);
      const short = on(channelPad({ name: "pad", channels: 3 }), on(tf.layers.averagePooling2d({ name: "pool", poolSize: 2, strides: 2 }), x));
      return on(tf.layers.add({ name: "sum" }), [conv, short]);
    },
  },
  "depthwise conv stride 2 same, multiplier 2, relu6": {
    head: (x) => on(tf.layers.depthwiseConv2d({ name: "d", kernelSize: 3, strides: 2, padding: "same", depthMultiplier: 2, activation: "relu6", depthwiseInitializer: glorot(6) }), x),
  },
  "depthwise conv stride 1 valid": {
    head: (x) => on(tf.layers.depthwiseConv2d({ name: "d", kernelSize: 3, strides: 1, padding: "valid", depthwiseInitializer: glorot(7) }), x),
  },
  "separable conv 3x3 → 6, stride 1 same": {
    head: (x) => on(tf.layers.separableConv2d({ name: "s", filters: 6, kernelSize: 3, padding: "same", depthwiseInitializer: glorot(8), pointwiseInitializer: glorot(9) }), x),
  },
  "separable conv 3x3 → 5, multiplier 2, stride 2 same (TF.js leaves depth_multiplier out of its config)": {
    head: (x) => on(tf.layers.separableConv2d({ name: "s", filters: 5, kernelSize: 3, strides: 2, depthMultiplier: 2, padding: "same", activation: "relu6", depthwiseInitializer: glorot(20), pointwiseInitializer: glorot(21) }), x),
  },
  "transposed conv 3x3 stride 2 same": {
    head: (x) => on(tf.layers.conv2dTranspose({ name: "t", filters: 3, kernelSize: 3, strides: 2, padding: "same", kernelInitializer: glorot(10) }), x),
    flatten: true,
  },
  "transposed conv 3x3 stride 2 valid": {
    head: (x) => on(tf.layers.conv2dTranspose({ name: "t", filters: 3, kernelSize: 3, strides: 2, padding: "valid", kernelInitializer: glorot(11) }), x),
    flatten: true,
  },
  "nearest upsampling ×2 after a conv": {
    head: (x) => on(tf.layers.upSampling2d({ name: "up", size: [2, 2], interpolation: "nearest" }), on(tf.layers.conv2d({ name: "c", filters: 3, kernelSize: 3, kernelInitializer: glorot(12) }), x)),
    input: [5, 7, 4],
    flatten: true,
  },
  "bilinear upsampling ×2 after a conv, not square": {
    head: (x) => on(tf.layers.upSampling2d({ name: "up", size: [2, 2], interpolation: "bilinear" }), on(tf.layers.conv2d({ name: "c", filters: 3, kernelSize: 3, kernelInitializer: glorot(13) }), x)),
    input: [5, 7, 4],
    flatten: true,
  },
  "zero padding then a valid conv, cropping": {
    head: (x) => {
      const padded = on(tf.layers.zeroPadding2d({ name: "zp", padding: [[1, 2], [2, 1]] }), x);
      const conv = on(tf.layers.conv2d({ name: "c", filters: 3, kernelSize: 3, kernelInitializer: glorot(14) }), padded);
      return on(tf.layers.cropping2D({ name: "crop", cropping: [[1, 0], [0, 2]] }), conv);
    },
    flatten: true,
  },
  "concat of two convs (a dense/inception join)": {
    head: (x) => {
      const a = on(tf.layers.conv2d({ name: "a", filters: 2, kernelSize: 1, kernelInitializer: glorot(15) }), x);
      const b = on(tf.layers.conv2d({ name: "b", filters: 3, kernelSize: 3, padding: "same", kernelInitializer: glorot(16) }), x);
      return on(tf.layers.concatenate({ name: "cat", axis: -1 }), [x, a, b]);
    },
  },
  "squeeze-and-excitation: 1x1xC times HxWxC": {
    head: (x) => {
      const conv = on(tf.layers.conv2d({ name: "c", filters: 6, kernelSize: 3, padding: "same", kernelInitializer: glorot(17) }), x);
      const squeezed = on(tf.layers.globalAveragePooling2d({ name: "se_pool" }), conv);
      const hidden = on(tf.layers.dense({ name: "se_fc1", units: 2, activation: "relu", kernelInitializer: glorot(18) }), squeezed);
      const gate = on(activationLayer({ name: "hard_sigmoid" }, "se_gate"), on(tf.layers.dense({ name: "se_fc2", units: 6, kernelInitializer: glorot(19) }), hidden));
      const scale = on(tf.layers.reshape({ name: "se_shape", targetShape: [1, 1, 6] }), gate);
      return on(tf.layers.multiply({ name: "se_mul" }), [conv, scale]);
    },
  },
  // Sequences (length x channels), as the emitter writes them for `input 100x8 -> conv 5x16 …`.
  "conv1d 5 → 6 same relu, max pool 2 (a sequence)": {
    head: (x) => on(tf.layers.maxPooling1d({ name: "p", poolSize: 2, strides: 2, padding: "valid" }), on(tf.layers.conv1d({ name: "c", filters: 6, kernelSize: 5, padding: "same", activation: "relu", kernelInitializer: glorot(22) }), x)),
    input: [20, 4],
  },
  "conv1d 3 → 5 stride 2 valid, no bias, tanh; avg pool 3 stride 2 same (uneven padding)": {
    head: (x) => on(tf.layers.averagePooling1d({ name: "p", poolSize: 3, strides: 2, padding: "same" }), on(tf.layers.conv1d({ name: "c", filters: 5, kernelSize: 3, strides: 2, padding: "valid", useBias: false, activation: "tanh", kernelInitializer: glorot(23) }), x)),
    input: [21, 3],
  },
  "max pool 3 stride 2 same, conv1d stride 2 same, avg pool 2 valid, global maxpool": {
    head: (x) => {
      const pooled = on(tf.layers.maxPooling1d({ name: "p1", poolSize: 3, strides: 2, padding: "same" }), x);
      const conv = on(tf.layers.conv1d({ name: "c", filters: 4, kernelSize: 4, strides: 2, padding: "same", activation: "swish", kernelInitializer: glorot(24) }), pooled);
      return on(tf.layers.globalMaxPooling1d({ name: "gmp" }), on(tf.layers.averagePooling1d({ name: "p2", poolSize: 2, padding: "valid" }), conv));
    },
    input: [19, 3],
  },
  "issue 14's sequence model: conv 5x16 relu same, pool 2, conv 3x32 stride 2, pool avg 2 same, global maxpool": {
    head: (x) => {
      let h = on(tf.layers.conv1d({ name: "c1", filters: 16, kernelSize: 5, padding: "same", activation: "relu", kernelInitializer: glorot(25) }), x);
      h = on(tf.layers.maxPooling1d({ name: "p1", poolSize: 2, strides: 2, padding: "valid" }), h);
      h = on(tf.layers.conv1d({ name: "c2", filters: 32, kernelSize: 3, strides: 2, padding: "valid", kernelInitializer: glorot(26) }), h);
      h = on(tf.layers.averagePooling1d({ name: "p2", poolSize: 2, strides: 2, padding: "same" }), h);
      return on(tf.layers.globalMaxPooling1d({ name: "gmp" }), h);
    },
    input: [100, 8],
  },
};

/** Two Adam steps of a mean squared error on a fixed batch; the losses, then the weights. */
function trainTwoSteps(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): { losses: number[]; weights: Float32Array[] } {
  const optimizer = createOptimizer({ name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } }, 0.01);
  const vars: Record<string, tf.Variable> = {};
  for (const w of model.trainableWeights) vars[w.name] = w.read() as tf.Variable;
  const losses: number[] = [];
  for (let step = 0; step < 2; step++) {
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, Object.values(vars));
      losses.push(value.dataSync()[0]!);
      optimizer.applyGradients(vars, grads);
    });
  }
  optimizer.dispose();
  return { losses, weights: model.getWeights().map((w) => Float32Array.from(w.dataSync())) };
}

describe("each new layer trains the same on cpu and wasm, and saves and loads back", () => {
  for (const [label, m] of Object.entries(MODELS)) {
    it(label, async () => {
      const inputShape = m.input ?? [6, 6, 4];
      const xs = numbers(3 * inputShape.reduce((a, b) => a * b, 1), 7);
      const ys = numbers(9, 8, 0, 1);
      const results: { losses: number[]; weights: Float32Array[] }[] = [];
      let initial: Float32Array[] | undefined;
      for (const backend of ["cpu", "wasm"]) {
        await tf.setBackend(backend);
        const model = build(m.head, inputShape, m.flatten);
        if (initial) model.setWeights(model.getWeights().map((w, i) => tf.tensor(initial![i]!, w.shape)));
        else initial = model.getWeights().map((w) => Float32Array.from(w.dataSync()));
        const x = tf.tensor(xs, [3, ...inputShape]);
        const y = tf.tensor(ys, [3, 3]);
        results.push(trainTwoSteps(model, x, y));
        if (backend === "cpu") {
          // Saved as a run saves it, loaded as `nnc predict` loads it: same outputs.
          const dir = join(folder, label.replace(/[^a-z0-9]+/gi, "-"));
          await saveModel(model, dir);
          const loaded = await loadModel(dir);
          expect(loaded.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
          expect(loaded.countParams()).toBe(model.countParams());
          const before = (model.predict(x) as tf.Tensor).dataSync();
          const after = (loaded.predict(x) as tf.Tensor).dataSync();
          expect(relativeError(after, before)).toBeLessThan(1e-6);
          loaded.dispose();
        }
        tf.dispose([x, y]);
        model.dispose();
      }
      await tf.setBackend("cpu");
      const [cpu, wasm] = results as [(typeof results)[0], (typeof results)[0]];
      expect(cpu.losses.every(Number.isFinite)).toBe(true);
      expect(relativeError(wasm.losses, cpu.losses), `losses cpu ${cpu.losses} wasm ${wasm.losses}`).toBeLessThan(1e-4);
      const bad = cpu.weights.flatMap((w, i) => {
        const e = relativeError(wasm.weights[i]!, w);
        return e < 1e-4 ? [] : [`weight ${i}: ${e.toExponential(2)}`];
      });
      expect(bad).toEqual([]);
      // The weights moved: the layer under test is trained, not just carried.
      expect(relativeError(cpu.weights[0]!, initial![0]!)).toBeGreaterThan(0);
    }, 30_000);
  }
});

describe("SeparableConv2D with a depth multiplier (TF.js leaves depth_multiplier out of its config)", () => {
  /** A trained-looking model: separable convs with multipliers 2 and 3 (one without bias), a dense head. */
  function separableModel(): tf.LayersModel {
    const input = tf.input({ shape: [7, 6, 3], name: "x" });
    const a = on(tf.layers.separableConv2d({ name: "sep1", filters: 4, kernelSize: 3, depthMultiplier: 2, padding: "same", activation: "relu", depthwiseInitializer: glorot(30), pointwiseInitializer: glorot(31), biasInitializer: tf.initializers.constant({ value: 0.05 }) }), input);
    const b = on(tf.layers.separableConv2d({ name: "sep2", filters: 5, kernelSize: [2, 3], strides: 2, depthMultiplier: 3, padding: "valid", useBias: false, depthwiseInitializer: glorot(32), pointwiseInitializer: glorot(33) }), a);
    const out = on(tf.layers.dense({ name: "out", units: 3, kernelInitializer: glorot(34) }), on(tf.layers.flatten({ name: "flat" }), b));
    return tf.model({ inputs: input, outputs: out });
  }

  const json = (dir: string): { modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } } } => JSON.parse(readFileSync(join(dir, "model.json"), "utf8"));

  it("is saved in model.json, and the model loads back through io.ts with the same outputs", async () => {
    const model = separableModel();
    const dir = join(folder, "separable-multiplier");
    await saveModel(model, dir);
    const separables = json(dir).modelTopology.config.layers.filter((l) => l.class_name === "SeparableConv2D");
    expect(separables.map((l) => l.config["depth_multiplier"])).toEqual([2, 3]);
    const loaded = await loadModel(dir);
    expect(loaded.countParams()).toBe(model.countParams());
    const x = tf.tensor(numbers(2 * 7 * 6 * 3, 40), [2, 7, 6, 3]);
    expect(relativeError((loaded.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync())).toBeLessThan(1e-6);
    tf.dispose([x]);
    loaded.dispose();
    model.dispose();
  });

  it("loads a model.json saved without it (before the fix): the multiplier is read from the depthwise kernel", async () => {
    const model = separableModel();
    const dir = join(folder, "separable-old");
    await saveModel(model, dir);
    const old = json(dir);
    for (const l of old.modelTopology.config.layers) delete l.config["depth_multiplier"];
    writeFileSync(join(dir, "model.json"), JSON.stringify(old));
    const loaded = await loadModel(dir);
    expect(loaded.getWeights().map((w) => w.shape)).toEqual(model.getWeights().map((w) => w.shape));
    const x = tf.tensor(numbers(3 * 7 * 6 * 3, 41), [3, 7, 6, 3]);
    const before = (model.predict(x) as tf.Tensor).dataSync();
    expect(relativeError((loaded.predict(x) as tf.Tensor).dataSync(), before)).toBeLessThan(1e-6);
    // The loaded layer now says its multiplier, so saving it again writes it.
    await saveModel(loaded, join(folder, "separable-resaved"));
    expect(json(join(folder, "separable-resaved")).modelTopology.config.layers.filter((l) => l.class_name === "SeparableConv2D").map((l) => l.config["depth_multiplier"])).toEqual([2, 3]);
    // And it trains: the remade kernels are the model's variables.
    const vars = loaded.trainableWeights.map((w) => w.read() as tf.Variable);
    expect(vars.map((v) => v.shape)).toEqual(model.trainableWeights.map((w) => w.shape));
    const { value, grads } = tf.variableGrads(() => (loaded.apply(x) as tf.Tensor).square().sum() as tf.Scalar, vars);
    expect(vars.every((v) => grads[v.name] !== undefined && grads[v.name]!.abs().sum().dataSync()[0]! > 0)).toBe(true);
    tf.dispose([x, value, ...Object.values(grads)]);
    loaded.dispose();
    model.dispose();
  });
});

describe("activations", () => {
  const values = [-5, -3, -2.5, -1, -0.5, 0, 0.5, 1, 2.9, 3, 4, 6.5, 8];
  const run = (spec: ActivationConfig): number[] => tf.tidy(() => Array.from((activationLayer(spec).apply(tf.tensor1d(values)) as tf.Tensor).dataSync()));
  const close = (actual: number[], expected: number[]): void => actual.forEach((a, i) => expect(a, `at ${values[i]}`).toBeCloseTo(expected[i]!, 5));
  const relu6 = (x: number): number => Math.min(Math.max(x, 0), 6);

  it("hard_sigmoid is relu6(x + 3)/6 and hard_swish x·relu6(x + 3)/6 (PyTorch's, not TF.js's 0.2x + 0.5)", () => {
    close(run({ name: "hard_sigmoid" }), values.map((x) => relu6(x + 3) / 6));
    close(run({ name: "hard_swish" }), values.map((x) => (x * relu6(x + 3)) / 6));
    expect(run({ name: "hard_sigmoid" })[values.indexOf(-2.5)]).toBeCloseTo(1 / 12, 6); // TF.js's would be 0
  });

  it("relu6, swish (x·sigmoid x) and gelu (the exact erf form)", () => {
    close(run({ name: "relu6" }), values.map(relu6));
    close(run({ name: "swish" }), values.map((x) => x / (1 + Math.exp(-x))));
    // GELU(x) = x·Φ(x); Φ(1) = 0.8413447460685429, Φ(−1) = 1 − Φ(1), Φ(3) = 0.9986501019683699.
    const gelu = run({ name: "gelu" });
    expect(gelu[values.indexOf(1)]).toBeCloseTo(0.8413447460685429, 5);
    expect(gelu[values.indexOf(-1)]).toBeCloseTo(-(1 - 0.8413447460685429), 5);
    expect(gelu[values.indexOf(3)]).toBeCloseTo(3 * 0.9986501019683699, 5);
  });

  it("are TF.js activation layers where TF.js has them, NncHardActivation otherwise, and builtinActivation names them", () => {
    for (const name of ["relu6", "swish", "gelu"] as const) {
      const layer = activationLayer({ name }, `a_${name}`);
      expect(layer.getClassName()).toBe("Activation");
      expect(layer.getConfig()["activation"]).toBe(name);
      expect(builtinActivation({ name })).toBe(name);
    }
    for (const name of ["hard_sigmoid", "hard_swish"] as const) {
      const layer = activationLayer({ name }, `a_${name}`, false);
      expect(layer).toBeInstanceOf(NncHardActivation);
      expect(layer.getConfig()).toMatchObject({ kind: name, trainable: false });
      expect(builtinActivation({ name })).toBeUndefined();
    }
    expect(builtinActivation({ name: "relu" })).toBe("relu");
    expect(builtinActivation({ name: "leaky_relu", alpha: 0.1 })).toBeUndefined();
    expect(builtinActivation(undefined)).toBeUndefined();
  });

  it("relu6, swish and gelu are accepted inline by nnc's convolutions", () => {
    for (const activation of ["relu6", "swish", "gelu"]) {
      expect(groupedConv2d({ filters: 2, kernelSize: [1, 1], strides: [1, 1], padding: "same", groups: 1, activation }).activationName).toBe(activation);
    }
    expect(() => groupedConv2d({ filters: 2, kernelSize: [1, 1], strides: [1, 1], padding: "same", groups: 1, activation: "hard_swish" })).toThrow(/unknown activation/);
  });
});

/** A layer made again from its config by the class TF.js's registry holds under `className`. */
function fromConfig(className: string, config: tf.serialization.ConfigDict): tf.serialization.Serializable {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) throw new Error(`${className} is not registered`);
  const [cls, make] = entry;
  return make(cls, config);
}

describe("NncGroupedConv2D", () => {
  it("has Keras's weights: kernel [kh, kw, C/G, F] and bias [F] (3x3, C=64, F=128, G=32: 3·3·2·128 + 128 parameters)", () => {
    const input = tf.input({ shape: [8, 8, 64] });
    const layer = groupedConv2d({ name: "g", filters: 128, kernelSize: [3, 3], strides: [1, 1], padding: "same", groups: 32, useBias: true, kernelInitializer: glorot(1) });
    const out = on(layer, input);
    expect(out.shape).toEqual([null, 8, 8, 128]);
    expect(layer.countParams()).toBe(3 * 3 * 2 * 128 + 128);
    expect(layer.weights.map((w) => [w.name.replace(/^.*\/|_\d+$/g, ""), w.shape])).toEqual([
      ["kernel", [3, 3, 2, 128]],
      ["bias", [128]],
    ]);
  });

  it("is the full convolution whose kernel is zero across groups, on every path (G = 1, one channel per group, several)", () => {
    for (const [c, f, g, stride, padding] of [
      [6, 9, 3, 1, "same"],
      [6, 4, 2, 2, "valid"],
      [4, 8, 4, 2, "same"],
      [4, 4, 4, 1, "valid"],
      [3, 5, 1, 1, "same"],
    ] as const) {
      tf.tidy(() => {
        const x = tf.tensor(numbers(2 * 7 * 6 * c, c + f), [2, 7, 6, c]) as tf.Tensor4D;
        const layer = groupedConv2d({ filters: f, kernelSize: [3, 2], strides: [stride, stride], padding, groups: g, useBias: true, kernelInitializer: glorot(c * f), biasInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 3 }) });
        const y = layer.apply(x) as tf.Tensor;
        const [kernel, bias] = layer.getWeights() as [tf.Tensor4D, tf.Tensor1D];
        // The reference: a [3, 2, C, F] kernel whose block (group i's channels, group i's filters) is group i's kernel.
        const full = tf.buffer([3, 2, c, f]);
        const k = kernel.arraySync();
        for (let a = 0; a < 3; a++) for (let b = 0; b < 2; b++) for (let ci = 0; ci < c / g; ci++) for (let fo = 0; fo < f; fo++) full.set(k[a]![b]![ci]![fo]!, a, b, Math.floor(fo / (f / g)) * (c / g) + ci, fo);
        const expected = tf.add(tf.conv2d(x, full.toTensor() as tf.Tensor4D, stride, padding), bias);
        expect(y.shape).toEqual(expected.shape);
        expect(layer.computeOutputShape([null, 7, 6, c])).toEqual([null, ...expected.shape.slice(1)]);
        expect(relativeError(y.dataSync(), expected.dataSync()), `C ${c} F ${f} G ${g}`).toBeLessThan(1e-5);
      });
    }
  });

  it("refuses channels or filters that the groups do not divide", () => {
    expect(() => groupedConv2d({ filters: 6, kernelSize: [3, 3], strides: [1, 1], padding: "same", groups: 4 })).toThrow(/filters divisible by 4/);
    expect(() => on(groupedConv2d({ filters: 8, kernelSize: [3, 3], strides: [1, 1], padding: "same", groups: 4 }), tf.input({ shape: [5, 5, 6] }))).toThrow(/input channels divisible by 4/);
  });

  it("round-trips its config", () => {
    const layer = groupedConv2d({ name: "g", filters: 8, kernelSize: [3, 1], strides: [2, 1], padding: "valid", groups: 2, useBias: false, activation: "gelu", trainable: false });
    const copy = fromConfig(NncGroupedConv2D.className, layer.getConfig()) as NncGroupedConv2D;
    expect(copy).toBeInstanceOf(NncGroupedConv2D);
    expect(copy.getConfig()).toEqual(layer.getConfig());
    expect(copy.getConfig()).toMatchObject({ filters: 8, kernelSize: [3, 1], strides: [2, 1], padding: "valid", groups: 2, useBias: false, activation: "gelu", trainable: false });
  });
});

describe("NncChannelPad", () => {
  it("appends zero channels on the last axis and has no weights", () => {
    const layer = channelPad({ name: "p", channels: 3 });
    expect(layer.computeOutputShape([null, 4, 4, 5])).toEqual([null, 4, 4, 8]);
    expect(layer.computeOutputShape([null, 5])).toEqual([null, 8]);
    const y = tf.tidy(() => (layer.apply(tf.tensor2d([1, 2, 3, 4], [2, 2])) as tf.Tensor).arraySync());
    expect(y).toEqual([
      [1, 2, 0, 0, 0],
      [3, 4, 0, 0, 0],
    ]);
    expect(layer.countParams()).toBe(0);
    const copy = fromConfig(NncChannelPad.className, layer.getConfig()) as NncChannelPad;
    expect(copy.channels).toBe(3);
    expect(() => channelPad({ channels: 0 })).toThrow(/positive integer/);
  });
});

describe("nnc/layers", () => {
  it("registers the new classes", () => {
    for (const name of [NncGroupedConv2D.className, NncChannelPad.className, NncHardActivation.className]) {
      expect(NNC_LAYER_CLASSES).toContain(name);
      expect(tf.serialization.SerializationMap.getMap().classNameMap[name]).toBeDefined();
    }
  });
});
