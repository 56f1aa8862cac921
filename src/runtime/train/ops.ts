/**
 * The pieces a training step is made of (../train.ts's `step` and `evaluate`): the loss
 * functions, accuracy, the epoch's shuffle and Dropout's per-step seeds.
 */
import * as tf from "@tensorflow/tfjs";
import type { LossName } from "../config.js";

export function lossFunction(loss: LossName, units: number): (y: tf.Tensor, p: tf.Tensor) => tf.Scalar {
  switch (loss) {
    case "crossentropy":
    case "sparse_crossentropy":
      return (y, p) => tf.metrics.categoricalCrossentropy(y, p).mean() as tf.Scalar;
    case "binary_crossentropy":
      return (y, p) => tf.metrics.binaryCrossentropy(y, p).mean() as tf.Scalar;
    case "mse":
      return (y, p) => tf.losses.meanSquaredError(y, p) as tf.Scalar;
    case "mae":
      return (y, p) => tf.losses.absoluteDifference(y, p) as tf.Scalar;
    case "hinge":
      return (y, p) => tf.losses.hingeLoss(y, p) as tf.Scalar;
  }
}

/** Fraction of rows whose predicted class matches. */
export function accuracy(y: tf.Tensor, p: tf.Tensor, units: number, loss: LossName): tf.Scalar {
  return tf.tidy(() => {
    // One unit: a probability cut at 0.5, or (hinge) a score cut at 0; labels are 0/1.
    if (units === 1) return p.greater(loss === "hinge" ? 0 : 0.5).toFloat().equal(y.greater(0.5).toFloat()).toFloat().mean() as tf.Scalar;
    return p.argMax(-1).equal(y.argMax(-1)).toFloat().mean() as tf.Scalar;
  });
}

export function permutation(n: number, random: () => number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/**
 * Each Dropout layer's seed for one step, from the run's seed, the step number and the
 * layer's place. TF.js's dropout draws its mask from `randomUniform(…, seed)`, which restarts
 * its generator on every call: with one fixed seed every step would drop the same units.
 * Deriving the seed from the step number gives every step its own mask, and the same mask
 * again in a resumed run.
 */
export class DropoutSeeds {
  private readonly layers: { layer: tf.layers.Layer; seed: unknown }[];

  constructor(
    model: tf.LayersModel,
    private readonly base: number,
  ) {
    this.layers = model.layers.filter((l) => l.getClassName() === "Dropout").map((layer) => ({ layer, seed: Reflect.get(layer, "seed") }));
  }

  step(iteration: number): void {
    this.layers.forEach(({ layer }, i) => {
      let h = Math.imul((this.base >>> 0) ^ 0x9e3779b9, 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13) ^ iteration, 0xc2b2ae35);
      h = Math.imul(h ^ (h >>> 16) ^ (i + 1), 0x27d4eb2f);
      Reflect.set(layer, "seed", (h ^ (h >>> 15)) >>> 0);
    });
  }

  /** The seeds the model was built with, so a saved model.json says what the spec says. */
  reset(): void {
    for (const { layer, seed } of this.layers) Reflect.set(layer, "seed", seed);
  }
}
