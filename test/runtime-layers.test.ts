import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { activationLayer, channelwisePrelu, groupNorm, maxout, NncElu, NncGroupNorm, NncMaxout, type ActivationConfig, dilatedConv2d } from "../src/runtime/layers.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

/** Deterministic pseudo-random float32 values in [-2, 2). */
function numbers(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(Math.fround((s / 2 ** 32) * 4 - 2)); // exact in float32
  }
  return out;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function apply(layer: tf.layers.Layer, x: tf.Tensor): number[] {
  const y = layer.apply(x) as tf.Tensor;
  const values = Array.from(y.dataSync());
  y.dispose();
  return values;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    if (diff > tolerance * Math.max(1, Math.abs(expected[i]!))) {
      throw new Error(`element ${i}: ${actual[i]} differs from ${expected[i]} by ${diff}`);
    }
  }
}

/** Group norm in float64 over a flat channels-last array [n, positions, C]. */
function groupNormReference(x: number[], n: number, positions: number, c: number, groups: number, eps: number, gamma: number[], beta: number[]): number[] {
  const out = new Array<number>(x.length).fill(0);
  const per = c / groups;
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < groups; g++) {
      const idx: number[] = [];
      for (let p = 0; p < positions; p++) for (let j = 0; j < per; j++) idx.push((b * positions + p) * c + g * per + j);
      const mean = idx.reduce((s, i) => s + x[i]!, 0) / idx.length;
      const variance = idx.reduce((s, i) => s + (x[i]! - mean) ** 2, 0) / idx.length;
      for (const i of idx) {
        const ch = i % c;
        out[i] = ((x[i]! - mean) / Math.sqrt(variance + eps)) * gamma[ch]! + beta[ch]!;
      }
    }
  }
  return out;
}

describe("maxout", () => {
  it("takes the maximum of each group of k consecutive units of the last axis", () => {
    const x = tf.tensor2d([
      [1, 5, -2, 0, 3, 3],
      [-1, -4, 7, 8, -9, -8],
    ]);
    expect(apply(maxout({ k: 2 }), x)).toEqual([5, 0, 3, -1, 8, -8]);
    expect(apply(maxout({ k: 3 }), x)).toEqual([5, 3, 7, 8]);
    x.dispose();
  });

  it("matches a plain loop on a 4-D image tensor, dividing only the channels by k", () => {
    const shape = [2, 3, 4, 6];
    const values = numbers(size(shape), 7);
    const x = tf.tensor4d(values, shape as [number, number, number, number]);
    const layer = maxout({ k: 3, name: "mx" });
    const y = layer.apply(x) as tf.Tensor;
    expect(y.shape).toEqual([2, 3, 4, 2]);
    const expected: number[] = [];
    for (let i = 0; i < values.length; i += 3) expected.push(Math.max(values[i]!, values[i + 1]!, values[i + 2]!));
    expectClose(y.dataSync(), expected, 0);
    expect(layer.name).toBe("mx");
    expect(layer.countParams()).toBe(0);
    tf.dispose([x, y]);
  });

  it("computes its output shape symbolically and rejects a last axis that k does not divide", () => {
    expect(maxout({ k: 4 }).computeOutputShape([null, 7, 7, 32])).toEqual([null, 7, 7, 8]);
    expect(() => maxout({ k: 4 }).computeOutputShape([null, 10])).toThrow(/divisible by 4/);
    expect(() => maxout({ k: 0 })).toThrow(/positive integer/);
    const input = tf.input({ shape: [12] });
    const out = maxout({ k: 3 }).apply(input) as tf.SymbolicTensor;
    expect(out.shape).toEqual([null, 4]);
  });

  it("sends the gradient to the winning unit of each group only", () => {
    const x = tf.tensor2d([[1, 5, -2, 0]]);
    const layer = maxout({ k: 2 });
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, tf.tensor1d([3, 7]))))(x);
    expect(Array.from(g.dataSync())).toEqual([0, 3, 0, 7]);
    tf.dispose([x, g]);
  });

  it("round-trips its config through the serialization registry", () => {
    const layer = maxout({ k: 5, name: "m5" });
    const config = layer.getConfig();
    expect(config["k"]).toBe(5);
    expect(NncMaxout.className).toBe("NncMaxout");
    const back = tf.serialization.SerializationMap.getMap().classNameMap["NncMaxout"];
    expect(back?.[0]).toBe(NncMaxout);
  });
});

describe("groupNorm", () => {
  it("normalises over positions and the channels of each group, per sample, for images", () => {
    const [n, h, w, c, groups] = [2, 3, 2, 6, 3];
    const values = numbers(n * h * w * c, 11).map((v, i) => v * (1 + (i % c)) + (i % 5));
    const x = tf.tensor4d(values, [n, h, w, c]);
    const layer = groupNorm({ groups, epsilon: 1e-3, name: "gn" });
    layer.apply(x); // builds
    const gamma = numbers(c, 3).map((v) => v + 2);
    const beta = numbers(c, 4);
    layer.setWeights([tf.tensor1d(gamma), tf.tensor1d(beta)]);
    const expected = groupNormReference(values, n, h * w, c, groups, 1e-3, gamma, beta);
    expectClose(apply(layer, x), expected, 1e-4);
    x.dispose();
  });

  it("normalises groups of features for rank-2 inputs", () => {
    const [n, c, groups] = [3, 8, 2];
    const values = numbers(n * c, 5).map((v, i) => v * 10 + i);
    const x = tf.tensor2d(values, [n, c]);
    const layer = groupNorm({ groups, epsilon: 1e-5 });
    const ones = new Array<number>(c).fill(1);
    const zeros = new Array<number>(c).fill(0);
    expectClose(apply(layer, x), groupNormReference(values, n, 1, c, groups, 1e-5, ones, zeros), 1e-4);
    x.dispose();
  });

  it("has 2C trainable weights, gamma starting at ones and beta at zeros", () => {
    const layer = groupNorm({ groups: 4 });
    const input = tf.input({ shape: [5, 5, 16] });
    const out = layer.apply(input) as tf.SymbolicTensor;
    expect(out.shape).toEqual([null, 5, 5, 16]);
    expect(layer.countParams()).toBe(32);
    expect(layer.trainableWeights.map((w) => w.shape)).toEqual([[16], [16]]);
    const [gamma, beta] = layer.getWeights();
    expect(Array.from(gamma!.dataSync())).toEqual(new Array<number>(16).fill(1));
    expect(Array.from(beta!.dataSync())).toEqual(new Array<number>(16).fill(0));
    expect(layer.getConfig()).toMatchObject({ groups: 4, epsilon: 1e-5 });
  });

  it("rejects a channel count that the groups do not divide", () => {
    expect(() => groupNorm({ groups: 3 }).apply(tf.input({ shape: [4, 4, 8] }))).toThrow(/divisible by 3/);
  });

  it("has an input gradient that matches finite differences of the reference", () => {
    const [n, h, w, c, groups, eps] = [1, 2, 2, 4, 2, 1e-3];
    const values = numbers(n * h * w * c, 21);
    const weights = numbers(values.length, 22);
    const gamma = [1.5, -0.5, 2, 0.7];
    const beta = [0.1, 0.2, 0.3, 0.4];
    const layer = groupNorm({ groups, epsilon: eps });
    const x = tf.tensor4d(values, [n, h, w, c]);
    layer.apply(x);
    layer.setWeights([tf.tensor1d(gamma), tf.tensor1d(beta)]);
    const wt = tf.tensor4d(weights, [n, h, w, c]);
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, wt)))(x);

    const loss = (v: number[]): number => groupNormReference(v, n, h * w, c, groups, eps, gamma, beta).reduce((s, y, i) => s + y * weights[i]!, 0);
    const numeric = values.map((_, i) => {
      const step = 1e-6;
      const up = values.slice();
      const down = values.slice();
      up[i]! += step;
      down[i]! -= step;
      return (loss(up) - loss(down)) / (2 * step);
    });
    expectClose(grad.dataSync(), numeric, 2e-3);
    tf.dispose([x, wt, grad]);
  });
});

describe("channelwisePrelu", () => {
  it("learns one slope per channel of an image, shared over height and width", () => {
    const layer = channelwisePrelu({ name: "p", inputRank: 3 });
    const out = layer.apply(tf.input({ shape: [6, 6, 4] })) as tf.SymbolicTensor;
    expect(out.shape).toEqual([null, 6, 6, 4]);
    expect(layer.countParams()).toBe(4);
    expect(layer.getWeights()[0]!.shape).toEqual([1, 1, 4]);
    expect(layer.getConfig()["sharedAxes"]).toEqual([1, 2]);
  });

  it("learns one slope per unit of a vector", () => {
    const layer = channelwisePrelu({ inputRank: 1 });
    layer.apply(tf.input({ shape: [10] }));
    expect(layer.countParams()).toBe(10);
  });

  it("scales negative inputs by their channel's slope", () => {
    const layer = channelwisePrelu({ inputRank: 2 });
    const x = tf.tensor3d([[[-1, -2], [3, -4]]]);
    layer.apply(x);
    layer.setWeights([tf.tensor2d([[0.5, 0.25]])]);
    expect(apply(layer, x)).toEqual([-0.5, -0.5, 3, -1]);
    x.dispose();
  });
});

describe("activationLayer", () => {
  const input = [-2, -0.5, 0, 0.5, 2, 3];
  const cases: { spec: ActivationConfig; f: (v: number) => number }[] = [
    { spec: { name: "relu" }, f: (v) => Math.max(0, v) },
    { spec: { name: "leaky_relu", alpha: 0.1 }, f: (v) => (v > 0 ? v : 0.1 * v) },
    { spec: { name: "elu", alpha: 1 }, f: (v) => (v > 0 ? v : Math.exp(v) - 1) },
    { spec: { name: "elu", alpha: 0.5 }, f: (v) => (v > 0 ? v : 0.5 * (Math.exp(v) - 1)) },
    { spec: { name: "selu" }, f: (v) => 1.0507009873554805 * (v > 0 ? v : 1.6732632423543772 * (Math.exp(v) - 1)) },
    { spec: { name: "sigmoid" }, f: (v) => 1 / (1 + Math.exp(-v)) },
    { spec: { name: "tanh" }, f: Math.tanh },
    { spec: { name: "softplus" }, f: (v) => Math.log1p(Math.exp(v)) },
    { spec: { name: "linear" }, f: (v) => v },
    { spec: { name: "prelu" }, f: (v) => Math.max(0, v) }, // slopes start at zero
  ];

  for (const { spec, f } of cases) {
    it(`maps ${JSON.stringify(spec)} to a layer computing it elementwise`, () => {
      const x = tf.tensor2d(input, [1, 6]);
      expectClose(apply(activationLayer(spec, `act_${spec.name}`), x), input.map(f), 1e-5);
      x.dispose();
    });
  }

  it("uses TF.js's own layers where they fit and ours for maxout and ELU with α ≠ 1", () => {
    expect(activationLayer({ name: "leaky_relu", alpha: 0.2 }).getClassName()).toBe("LeakyReLU");
    expect(activationLayer({ name: "leaky_relu", alpha: 0.2 }).getConfig()["alpha"]).toBe(0.2);
    expect(activationLayer({ name: "elu", alpha: 1 }).getClassName()).toBe("ELU");
    expect(activationLayer({ name: "elu", alpha: 0.3 })).toBeInstanceOf(NncElu);
    expect(activationLayer({ name: "maxout", k: 2 })).toBeInstanceOf(NncMaxout);
    expect(activationLayer({ name: "prelu" }, "p").getClassName()).toBe("PReLU");
    expect(activationLayer({ name: "tanh" }, "t").name).toBe("t");
    expect(groupNorm({ groups: 1 })).toBeInstanceOf(NncGroupNorm);
  });

  it("applies softmax over the last axis of an image, not axis 1", () => {
    const values = numbers(2 * 3 * 4, 9);
    const x = tf.tensor3d(values, [2, 3, 4]);
    const layer = activationLayer({ name: "softmax" });
    expect(layer.getConfig()["axis"]).toBe(-1);
    const expected: number[] = [];
    for (let i = 0; i < values.length; i += 4) {
      const row = values.slice(i, i + 4).map(Math.exp);
      const total = row.reduce((a, b) => a + b, 0);
      expected.push(...row.map((v) => v / total));
    }
    expectClose(apply(layer, x), expected, 1e-5);
    x.dispose();
  });

  it("makes PReLU channel-wise from the input it is built on when no rank is given", () => {
    const image = activationLayer({ name: "prelu" }, "p_img");
    image.apply(tf.input({ shape: [5, 5, 3] }));
    expect(image.countParams()).toBe(3);
    expect(image.getConfig()["sharedAxes"]).toEqual([1, 2]);
    const vector = activationLayer({ name: "prelu" }, "p_vec");
    vector.apply(tf.input({ shape: [7] }));
    expect(vector.countParams()).toBe(7);
  });

  it("passes trainable: false through, freezing PReLU's slopes", () => {
    const layer = activationLayer({ name: "prelu" }, "frozen", false);
    layer.apply(tf.input({ shape: [4] }));
    expect(layer.trainable).toBe(false);
    expect(layer.trainableWeights).toHaveLength(0);
    expect(layer.nonTrainableWeights).toHaveLength(1);
    const gn = groupNorm({ groups: 2, name: "gn_frozen", trainable: false });
    gn.apply(tf.input({ shape: [4] }));
    expect(gn.trainableWeights).toHaveLength(0);
    expect(gn.getConfig()["trainable"]).toBe(false);
  });
});

describe("gradients through the custom layers", () => {
  it("reach every trainable weight of a small model that uses them", () => {
    const input = tf.input({ shape: [4, 4, 2] });
    let h = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: "same", kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    h = groupNorm({ groups: 4 }).apply(h) as tf.SymbolicTensor;
    h = channelwisePrelu({ inputRank: 3 }).apply(h) as tf.SymbolicTensor;
    h = maxout({ k: 2 }).apply(h) as tf.SymbolicTensor;
    h = new NncElu({ alpha: 0.5 }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: "softmax" }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });

    const x = tf.tensor4d(numbers(2 * 4 * 4 * 2, 31), [2, 4, 4, 2]);
    const labels = tf.oneHot(tf.tensor1d([0, 2], "int32"), 3);
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x) as tf.Tensor) as tf.Scalar);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    const names = model.trainableWeights.map((w) => w.originalName);
    expect(names.some((n) => n.includes("gamma"))).toBe(true);
    for (const w of model.trainableWeights) {
      const g = grads[w.originalName] ?? grads[w.name];
      expect(g, `gradient for ${w.originalName}`).toBeDefined();
      const values = Array.from(g!.dataSync());
      expect(values.every(Number.isFinite)).toBe(true);
      // PReLU slopes start at zero but still get a gradient from the negative inputs.
      expect(values.some((v) => v !== 0), `nonzero gradient for ${w.originalName}`).toBe(true);
    }
    tf.dispose([x, labels, value, ...Object.values(grads)]);
    model.dispose();
  });
});

describe("the dilated convolution", () => {
  for (const padding of ["valid", "same"] as const) {
    for (const dilation of [[2, 2], [3, 1], [1, 2]] as [number, number][]) {
      it(`computes what TF.js's dilated conv2d computes (${padding}, dilation ${dilation.join("x")})`, () => {
        const layer = dilatedConv2d({ filters: 3, kernelSize: [3, 2], strides: [1, 1], padding, dilationRate: dilation });
        const x = tf.randomNormal([2, 9, 8, 4], 0, 1, "float32", 5) as tf.Tensor4D;
        const y = layer.apply(x) as tf.Tensor;
        const [kernel, bias] = layer.getWeights();
        const expected = tf.add(tf.conv2d(x, kernel as tf.Tensor4D, 1, padding, "NHWC", dilation), bias!);
        expect(y.shape).toEqual(expected.shape);
        expect(layer.computeOutputShape([null, 9, 8, 4])).toEqual([null, ...expected.shape.slice(1)]);
        const diff = tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0]!;
        expect(diff).toBeLessThan(1e-5);
        tf.dispose([x, y, expected]);
        layer.dispose();
      });
    }
  }

  it("has a gradient, where TF.js's dilated conv2d has none", () => {
    const layer = dilatedConv2d({ filters: 2, kernelSize: [3, 3], strides: [1, 1], padding: "same", dilationRate: [2, 2] });
    const x = tf.randomNormal([1, 7, 7, 1], 0, 1, "float32", 9);
    layer.apply(x);
    const kernel = layer.trainableWeights[0]!.read() as tf.Variable;
    const { grads } = tf.variableGrads(() => (layer.apply(x) as tf.Tensor).square().sum() as tf.Scalar, [kernel]);
    const g = grads[kernel.name]!;
    expect(g.shape).toEqual([3, 3, 1, 2]);
    expect(tf.sum(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([x, g]);
    layer.dispose();
  });
});
