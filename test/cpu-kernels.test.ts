/**
 * The cpu backend's gradients nnc replaces (src/runtime/backends/cpu/kernels.ts), against gradients
 * counted by finite differences of the forward pass, on random shapes, strides and paddings.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import "../src/runtime/layers.js";
import { SeededRandom } from "../src/common/random.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

/** d sum(w · avgPool(x)) / dx by central differences, in float64 from the forward values. */
function numericGrad(x: tf.Tensor4D, w: tf.Tensor4D, size: [number, number], strides: [number, number], pad: "same" | "valid"): Float64Array {
  const values = x.dataSync();
  const out = new Float64Array(values.length);
  const f = (v: Float32Array): number => tf.tidy(() => tf.sum(tf.mul(tf.avgPool(tf.tensor4d(v, x.shape), size, strides, pad), w)).dataSync()[0]!);
  const h = 1e-2;
  for (let i = 0; i < values.length; i++) {
    const up = Float32Array.from(values);
    const down = Float32Array.from(values);
    up[i]! += h;
    down[i]! -= h;
    out[i] = (f(up) - f(down)) / (2 * h);
  }
  return out;
}

describe("AvgPoolGrad on the cpu backend", () => {
  const random = new SeededRandom(14);
  const cases: { shape: [number, number, number, number]; size: [number, number]; strides: [number, number]; pad: "same" | "valid" }[] = [
    { shape: [1, 3, 3, 1], size: [2, 2], strides: [2, 2], pad: "same" },
    { shape: [2, 5, 4, 3], size: [3, 3], strides: [2, 2], pad: "same" },
    { shape: [1, 7, 1, 2], size: [2, 1], strides: [2, 1], pad: "same" },
    { shape: [2, 6, 6, 2], size: [3, 2], strides: [1, 3], pad: "same" },
    { shape: [1, 5, 5, 2], size: [2, 2], strides: [2, 2], pad: "valid" },
  ];
  for (const c of cases) {
    it(`is the gradient of the forward pass: ${c.shape.join("x")} window ${c.size.join("x")} stride ${c.strides.join("x")} ${c.pad}`, () => {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const x = tf.tensor4d(Float32Array.from({ length: n }, () => random.next() * 2 - 1), c.shape);
      const y = tf.avgPool(x, c.size, c.strides, c.pad);
      const w = tf.tensor4d(Float32Array.from({ length: y.size }, () => random.next() * 2 - 1), y.shape);
      const analytic = tf.grad((t: tf.Tensor4D) => tf.sum(tf.mul(tf.avgPool(t, c.size, c.strides, c.pad), w)))(x).dataSync();
      const numeric = numericGrad(x, w, c.size, c.strides, c.pad);
      for (let i = 0; i < n; i++) expect(analytic[i]!, `value ${i}`).toBeCloseTo(numeric[i]!, 3);
    });
  }
});
