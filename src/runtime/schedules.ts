/**
 * Learning-rate schedules: the rate for one epoch, from the recipe's base rate. Pure
 * arithmetic, no TensorFlow.js; the training loop sets `optimizer.learningRate` from this
 * at the start of every epoch.
 */
import type { ScheduleConfig } from "./config.js";

/**
 * The learning rate for `epoch` (0-based) of `epochs`:
 * - `constant`: base;
 * - `step(factor, every)`: base·factor^⌊epoch/every⌋;
 * - `exp(rate)`: base·rate^epoch;
 * - `cosine`: base·½(1 + cos(π·epoch/epochs)) (SGDR without restarts, Loshchilov & Hutter
 *   2017), base at epoch 0; epochs past the last stay at the end value;
 * - `warmup(N) then S`: base·(epoch+1)/N for epoch < N (linear from base/N at epoch 0 to
 *   base at epoch N−1, Goyal et al. 2017), then S at (epoch−N) of (epochs−N).
 */
export function learningRateAt(schedule: ScheduleConfig, base: number, epoch: number, epochs: number): number {
  switch (schedule.name) {
    case "constant":
      return base;
    case "step":
      return base * schedule.factor ** Math.floor(epoch / Math.max(1, schedule.every));
    case "exp":
      return base * schedule.rate ** epoch;
    case "cosine": {
      if (epochs <= 0) return base;
      const progress = Math.min(Math.max(epoch, 0), epochs) / epochs;
      return base * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
    case "warmup": {
      const n = Math.max(0, Math.floor(schedule.epochs));
      if (epoch < n) return (base * (epoch + 1)) / n;
      return learningRateAt(schedule.then, base, epoch - n, epochs - n);
    }
  }
}
