/**
 * Training without a read-back per step (what GPU backends do: src/runtime/train.ts
 * `deferredStep`), run here on the cpu backend with `readEvery`: the same numbers as reading
 * back every step, no non-finite update ever applied, and a divergence named.
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { createOptimizer } from "../src/runtime/optimizers.js";
import { train } from "../src/runtime/train.js";
import { ballConfig } from "./runtime-helpers.js";

function mlp(hidden: number[], keep?: (m: tf.LayersModel) => void): (seed: number) => tf.LayersModel {
  return (seed) => {
    const input = tf.input({ shape: [10] });
    let h = input as tf.SymbolicTensor;
    hidden.forEach((units, i) => {
      h = tf.layers.dense({ units, activation: "tanh", name: `dense${i + 1}`, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }) }).apply(h) as tf.SymbolicTensor;
    });
    const out = tf.layers.dense({ units: 1, name: `dense${hidden.length + 1}`, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 99 }) }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    keep?.(model);
    return model;
  };
}

describe("reading back every N steps", () => {
  it("gives the same history, bit for bit, as reading back every step (adam, clipping, weight decay)", async () => {
    const config = ballConfig({ data: { source: "ball", dims: 10, n: 300, test: 0 }, epochs: 3, batch: 16, clip: { by: "norm", threshold: 1 }, weightDecay: 1e-3, loss: "mse" });
    const every = await train(mlp([16, 8]), config, { backend: "cpu", noSave: true, log: () => {} });
    for (const readEvery of [4, 7, 1000]) {
      const deferred = await train(mlp([16, 8]), config, { backend: "cpu", noSave: true, log: () => {}, readEvery });
      expect(deferred.history.map((h) => [h.loss, h.acc])).toEqual(every.history.map((h) => [h.loss, h.acc]));
    }
  }, 60_000);

  it("stops a diverging run at the first bad batch and names it and the layer", async () => {
    const config = ballConfig({ data: { source: "ball", dims: 10, n: 512, test: 0 }, epochs: 10, batch: 32, loss: "mse", optimizer: { name: "sgd", args: {} }, lr: 10, normalize: { kind: "none" } });
    const attempt = train(mlp([32, 16]), config, { backend: "cpu", noSave: true, log: () => {}, readEvery: 5 });
    await expect(attempt).rejects.toThrow(/^(The loss became (NaN|infinite)|The gradients overflowed|The update) in epoch \d+, batch \d+.*layers? `dense\d`.*Hint: .*lower the learning rate \(now 10\)/s);
  }, 60_000);
});

describe("a masked update", () => {
  const setUp = (name: "sgd" | "adam") => {
    const w = tf.variable(tf.tensor([1, 2, 3]), true, `w_${name}_${Math.random()}`);
    const b = tf.variable(tf.tensor([0.5]), true, `b_${name}_${Math.random()}`);
    const opt = createOptimizer(name === "sgd" ? { name, args: {} } : { name, args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } }, 0.1);
    return { vars: { [w.name]: w, [b.name]: b }, w, b, opt };
  };
  const values = async (t: tf.Tensor): Promise<number[]> => Array.from(await t.data());

  for (const name of ["sgd", "adam"] as const) {
    it(`${name}: is applied exactly as unmasked when the mask holds and the result is finite`, async () => {
      const a = setUp(name);
      const c = setUp(name);
      const grads = (v: typeof a) => ({ [v.w.name]: tf.tensor([0.1, -0.2, 0.3]), [v.b.name]: tf.tensor([1]) });
      a.opt.applyGradients(a.vars, grads(a));
      const applied = c.opt.applyGradients(c.vars, grads(c), tf.scalar(true, "bool"))!;
      expect(await values(applied)).toEqual([1]);
      expect(await values(c.w)).toEqual(await values(a.w));
      expect(await values(c.b)).toEqual(await values(a.b));
    });

    it(`${name}: leaves weights and slots alone when the mask is false, a gradient is NaN, or the update overflows`, async () => {
      for (const [mask, g, lr] of [
        [false, 0.1, 0.1],
        [true, NaN, 0.1],
        [true, 3e38, 1e10],
      ] as const) {
        const v = setUp(name);
        v.opt.learningRate = lr;
        const before = [await values(v.w), await values(v.b)];
        const state = v.opt.getState();
        const slotsBefore = await Promise.all(Object.values(state.slots).map(values));
        const applied = v.opt.applyGradients(v.vars, { [v.w.name]: tf.tensor([g, g, g]), [v.b.name]: tf.tensor([1]) }, tf.scalar(mask, "bool"))!;
        expect(await values(applied)).toEqual([0]);
        expect([await values(v.w), await values(v.b)]).toEqual(before);
        const after = v.opt.getState();
        // Slots are made at the first step, as zeros: a masked first step leaves them zeros.
        const slotsAfter = await Promise.all(Object.values(after.slots).map(values));
        if (slotsBefore.length > 0) expect(slotsAfter).toEqual(slotsBefore);
        else for (const slot of slotsAfter) expect(slot.every((x) => x === 0)).toBe(true);
      }
    });
  }
});
