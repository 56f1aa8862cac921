/**
 * Weight initialisers: the sampled variance of a large kernel must equal the formula
 * (Glorot 2/(fan_in + fan_out), He 2/fan_in, LeCun 1/fan_in), as must the uniform limits.
 *
 * Tolerances: for n independent draws the sample variance s² has standard error
 * σ²·√((κ − 1)/n), κ the kurtosis (3 for a normal, less for a truncated normal, 1.8 for a
 * uniform), so σ²·√(2/n) bounds it for all of them. We accept |s²/σ² − 1| < 5·√(2/n): 2.0% for
 * the 400×300 dense kernel (n = 120,000) and 6.3% for the 5×5×16×32 conv kernel (n = 12,800);
 * a 5-standard-error miss has probability below 1e-6. The sample mean must be within 5·σ/√n
 * of 0. The uncorrected truncated normal of TF.js's own `heNormal` has 0.774 of the variance,
 * far outside both bounds.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InitConfig } from "../src/runtime/config.js";
import { initializer, TRUNCATED_NORMAL_STD } from "../src/runtime/initializers.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

interface Kernel {
  label: string;
  shape: number[];
  fanIn: number;
  fanOut: number;
}

const KERNELS: Kernel[] = [
  { label: "a 400×300 dense kernel", shape: [400, 300], fanIn: 400, fanOut: 300 },
  { label: "a 5×5×16×32 conv kernel", shape: [5, 5, 16, 32], fanIn: 5 * 5 * 16, fanOut: 5 * 5 * 32 },
];

interface Stats {
  n: number;
  mean: number;
  variance: number;
  maxAbs: number;
}

function sample(init: ReturnType<typeof initializer>, shape: number[]): Stats {
  const t = init.apply(shape, "float32");
  const xs = t.dataSync();
  t.dispose();
  let sum = 0;
  let maxAbs = 0;
  for (const x of xs) {
    sum += x;
    maxAbs = Math.max(maxAbs, Math.abs(x));
  }
  const mean = sum / xs.length;
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  return { n: xs.length, mean, variance: ss / (xs.length - 1), maxAbs };
}

function expectVariance(stats: Stats, expected: number): void {
  const tolerance = 5 * Math.sqrt(2 / stats.n);
  expect(Math.abs(stats.variance / expected - 1), `variance ${stats.variance} vs ${expected}`).toBeLessThan(tolerance);
  expect(Math.abs(stats.mean)).toBeLessThan((5 * Math.sqrt(expected)) / Math.sqrt(stats.n));
}

type Formula = (k: Kernel) => number;
const VARIANCE_SCALING: { name: InitConfig["name"]; variance: Formula; limit?: Formula }[] = [
  { name: "glorot_normal", variance: (k) => 2 / (k.fanIn + k.fanOut) },
  { name: "he_normal", variance: (k) => 2 / k.fanIn },
  { name: "lecun_normal", variance: (k) => 1 / k.fanIn },
  { name: "glorot_uniform", variance: (k) => 2 / (k.fanIn + k.fanOut), limit: (k) => Math.sqrt(6 / (k.fanIn + k.fanOut)) },
  { name: "he_uniform", variance: (k) => 2 / k.fanIn, limit: (k) => Math.sqrt(6 / k.fanIn) },
  { name: "lecun_uniform", variance: (k) => 1 / k.fanIn, limit: (k) => Math.sqrt(3 / k.fanIn) },
];

describe.each(KERNELS)("on $label", (kernel) => {
  describe.each(VARIANCE_SCALING)("$name", ({ name, variance, limit }) => {
    it("samples the variance its formula gives", () => {
      const stats = sample(initializer({ name } as InitConfig, 17), kernel.shape);
      expect(stats.n).toBe(kernel.shape.reduce((a, b) => a * b, 1));
      expectVariance(stats, variance(kernel));
      if (limit !== undefined) {
        // Uniform on [−L, L]: nothing beyond L, and the extremes reached.
        expect(stats.maxAbs).toBeLessThanOrEqual(limit(kernel) * (1 + 1e-6));
        expect(stats.maxAbs).toBeGreaterThan(limit(kernel) * 0.99);
      } else {
        // A normal truncated at two of its own standard deviations (σ = √Var / 0.8796).
        expect(stats.maxAbs).toBeLessThanOrEqual((2 * Math.sqrt(variance(kernel))) / TRUNCATED_NORMAL_STD + 1e-6);
      }
    });
  });
});

describe("initializer", () => {
  const dense = KERNELS[0]!;

  it("samples normal(std) with mean 0 and variance std²", () => {
    expectVariance(sample(initializer({ name: "normal", std: 0.05 }, 3), dense.shape), 0.05 ** 2);
  });

  it("samples uniform(limit) on [−limit, limit] with variance limit²/3", () => {
    const stats = sample(initializer({ name: "uniform", limit: 0.2 }, 3), dense.shape);
    expectVariance(stats, 0.2 ** 2 / 3);
    expect(stats.maxAbs).toBeLessThanOrEqual(0.2 * (1 + 1e-6));
  });

  it("fills zeros and ones", () => {
    for (const [name, value] of [["zeros", 0], ["ones", 1]] as const) {
      const t = initializer({ name }).apply([3, 4], "float32");
      expect(Array.from(t.dataSync())).toEqual(new Array(12).fill(value));
      t.dispose();
    }
  });

  it("gives the same values for the same seed and different ones for another", () => {
    const draw = (seed: number) => {
      const t = initializer({ name: "he_normal" }, seed).apply([20, 10], "float32");
      const xs = Array.from(t.dataSync());
      t.dispose();
      return xs;
    };
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
  });

  it("corrects TF.js's truncated normal, whose own heNormal falls short of 2/fan_in by the factor 0.774", () => {
    const own = sample(tf.initializers.heNormal({ seed: 17 }), dense.shape);
    expect(own.variance / (2 / dense.fanIn)).toBeCloseTo(TRUNCATED_NORMAL_STD ** 2, 1);
    expectVariance(sample(initializer({ name: "he_normal" }, 17), dense.shape), 2 / dense.fanIn);
  });
});

afterAll(() => {
  expect(tf.memory().numTensors).toBe(0);
});
