/**
 * Helpers of the runtime's tests (they load TensorFlow.js, so they live apart from helpers.ts,
 * which the compiler's tests import).
 */
import { expect } from "vitest";
import type { DataConfig, TrainConfig } from "../src/runtime/config.js";
import { DataError, loadData, type LoadOptions } from "../src/runtime/data/index.js";

/** Loads `config` expecting a DataError, and returns it (fails the test otherwise). */
export async function dataFailure(config: DataConfig, o: LoadOptions): Promise<DataError> {
  try {
    const d = await loadData(config, o);
    d.train.x!.dispose();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error(`expected ${JSON.stringify(config).slice(0, 200)} to fail with a DataError`);
}

/** A recipe on the synthetic ball (a binary task) with Adam, for tests that call `train()` themselves. */
export function ballConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    model: "m",
    data: { source: "ball", dims: 10, n: 64, test: 0 },
    normalize: { kind: "standard" },
    augment: [],
    loss: "binary_crossentropy",
    optimizer: { name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
    lr: 0.001,
    schedule: { name: "constant" },
    weightDecay: 0,
    batch: 32,
    epochs: 1,
    seed: 1,
    metrics: ["loss", "acc"],
    ...overrides,
  };
}
