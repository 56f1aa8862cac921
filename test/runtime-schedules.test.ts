/**
 * Learning-rate schedules at chosen epochs, and gradient clipping on hand-computed examples.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clipGradients, globalNorm, gradientNorms } from "../src/runtime/clip.js";
import type { ScheduleConfig } from "../src/runtime/config.js";
import { learningRateAt } from "../src/runtime/schedules.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("learningRateAt", () => {
  const at = (s: ScheduleConfig, epoch: number, epochs = 20) => learningRateAt(s, 0.1, epoch, epochs);

  it("keeps a constant schedule at the base rate", () => {
    for (const e of [0, 7, 19]) expect(at({ name: "constant" }, e)).toBe(0.1);
  });

  it("multiplies a step schedule by its factor every `every` epochs", () => {
    const s: ScheduleConfig = { name: "step", factor: 0.5, every: 3 };
    expect(at(s, 0)).toBeCloseTo(0.1, 12);
    expect(at(s, 2)).toBeCloseTo(0.1, 12);
    expect(at(s, 3)).toBeCloseTo(0.05, 12);
    expect(at(s, 5)).toBeCloseTo(0.05, 12);
    expect(at(s, 6)).toBeCloseTo(0.025, 12);
    expect(at(s, 10)).toBeCloseTo(0.0125, 12);
  });

  it("multiplies an exponential schedule by its rate each epoch", () => {
    const s: ScheduleConfig = { name: "exp", rate: 0.9 };
    expect(at(s, 0)).toBeCloseTo(0.1, 12);
    expect(at(s, 1)).toBeCloseTo(0.09, 12);
    expect(at(s, 4)).toBeCloseTo(0.1 * 0.6561, 12);
  });

  it("follows a half cosine from the base rate at epoch 0 to half of it midway", () => {
    const s: ScheduleConfig = { name: "cosine" };
    expect(at(s, 0)).toBeCloseTo(0.1, 12);
    expect(at(s, 10)).toBeCloseTo(0.05, 12);
    expect(at(s, 5)).toBeCloseTo(0.1 * 0.5 * (1 + Math.SQRT1_2), 12);
    expect(at(s, 19)).toBeCloseTo(0.1 * 0.5 * (1 + Math.cos((Math.PI * 19) / 20)), 12);
    expect(at(s, 19)).toBeGreaterThan(0);
    expect(at(s, 25)).toBeCloseTo(0, 12);
  });

  it("warms up linearly from base/N to base over N epochs, then runs the next schedule on the rest", () => {
    const s: ScheduleConfig = { name: "warmup", epochs: 4, then: { name: "cosine" } };
    expect(at(s, 0)).toBeCloseTo(0.025, 12);
    expect(at(s, 1)).toBeCloseTo(0.05, 12);
    expect(at(s, 3)).toBeCloseTo(0.1, 12);
    // Epoch 4 is epoch 0 of a 16-epoch cosine; epoch 12 is its midpoint.
    expect(at(s, 4)).toBeCloseTo(0.1, 12);
    expect(at(s, 12)).toBeCloseTo(0.05, 12);
    const stepped: ScheduleConfig = { name: "warmup", epochs: 2, then: { name: "step", factor: 0.1, every: 5 } };
    expect(at(stepped, 6)).toBeCloseTo(0.1, 12);
    expect(at(stepped, 7)).toBeCloseTo(0.01, 12);
  });

  it("treats a warmup of zero epochs as the schedule after it", () => {
    expect(at({ name: "warmup", epochs: 0, then: { name: "exp", rate: 0.5 } }, 2)).toBeCloseTo(0.025, 12);
  });
});

const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe("clipGradients", () => {
  it("clamps every component to [−t, t] when clipping by value", () => {
    const grads = { a: tf.tensor1d([0.5, -2, 3]), "b/kernel": tf.tensor2d([[-0.1, 1.5]]) };
    const out = clipGradients(grads, { by: "value", threshold: 1 });
    expect(values(out.a!)).toEqual([0.5, -1, 1]);
    expect(values(out["b/kernel"]!).map((x) => Math.fround(x))).toEqual([Math.fround(-0.1), 1]);
    expect(out["b/kernel"]!.shape).toEqual([1, 2]);
    tf.dispose([...Object.values(grads), ...Object.values(out)]);
  });

  it("rescales all gradients together by t / global norm when the global norm exceeds t", async () => {
    // Global norm √(3² + 4² + 12²) = 13, so both are scaled by 6.5/13 = 0.5, even `a`,
    // whose own norm (5) is below the threshold: the direction of the whole update is kept.
    const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor1d([12]) };
    expect(await globalNorm(grads)).toBeCloseTo(13, 5);
    const out = clipGradients(grads, { by: "norm", threshold: 6.5 });
    const a = values(out.a!);
    const b = values(out.b!);
    expect(a[0]).toBeCloseTo(1.5, 6);
    expect(a[1]).toBeCloseTo(2, 6);
    expect(b[0]).toBeCloseTo(6, 6);
    expect(await globalNorm(out)).toBeCloseTo(6.5, 5);
    tf.dispose([...Object.values(grads), ...Object.values(out)]);
  });

  it("leaves gradients whose global norm is within the threshold unchanged", () => {
    const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor1d([12]) };
    const out = clipGradients(grads, { by: "norm", threshold: 20 });
    expect(values(out.a!)).toEqual([3, 4]);
    expect(values(out.b!)).toEqual([12]);
    tf.dispose([...Object.values(grads), ...Object.values(out)]);
  });

  it("reports each gradient's own norm and leaks no tensors", async () => {
    const grads = { a: tf.tensor1d([3, 4]), "b/kernel": tf.tensor2d([[1, 2], [2, 4]]) };
    const before = tf.memory().numTensors;
    const norms = await gradientNorms(grads);
    expect(norms.a).toBeCloseTo(5, 6);
    expect(norms["b/kernel"]).toBeCloseTo(5, 6);
    expect(await globalNorm(grads)).toBeCloseTo(Math.sqrt(50), 5);
    const out = clipGradients(grads, { by: "norm", threshold: 1 });
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([...Object.values(grads), ...Object.values(out)]);
    expect(await globalNorm({})).toBe(0);
    expect(await gradientNorms({})).toEqual({});
  });
});

afterAll(() => {
  expect(tf.memory().numTensors).toBe(0);
});
