/**
 * Input normalisation, fitted on the training set only and then applied unchanged to
 * validation, test and inference inputs. The statistics are plain arrays, so they can be
 * saved beside the model (JSON) and restored with `restoreNormalizer` for inference.
 */
import * as tf from "@tensorflow/tfjs";
import type { NormalizeConfig } from "../config.js";

export interface Normalizer {
  /** Normalises a batch [m, ...featureShape] with the fitted statistics; returns a new tensor. */
  apply(x: tf.Tensor): tf.Tensor;
  /**
   * The fitted statistics, one value per feature in row-major order:
   * standard → `mean`, `std` (the divisor actually used); minmax → `min`, `max`;
   * scale → `factor` (one value); none → nothing.
   */
  stats: Record<string, number[]>;
}

/** Below this a feature's spread counts as zero (the feature is constant in training). */
const FLOOR = 1e-7;

/**
 * Fits `config` on `xTrain` ([n, ...featureShape]), per feature over the batch axis:
 *
 * - `standard`: (x − mean) / std, population std. A feature whose training std is below 1e-7
 *   (constant, like MNIST's border pixels, which are 0 in every training digit) is divided by
 *   1 instead, as scikit-learn's StandardScaler does: dividing by the floor itself would turn
 *   a faint test pixel of 0.1 where training had none into 10⁶.
 * - `minmax`: (x − min) / (max − min), so training data lies in [0, 1]; other data may fall
 *   outside and is not clipped. A constant feature (range below 1e-7) maps to x − min.
 * - `scale(k)`: x · k (no statistics needed).
 * - `none`: x unchanged (a copy).
 */
export async function fitNormalizer(config: NormalizeConfig, xTrain: tf.Tensor): Promise<Normalizer> {
  if (xTrain.rank < 1 || xTrain.shape[0] === 0) throw new Error("fitNormalizer needs at least one training example");
  const stats: Record<string, number[]> = {};
  if (config.kind === "standard" || config.kind === "minmax") {
    const [a, b] = tf.tidy(() => {
      const flat = tf.reshape(xTrain, [xTrain.shape[0], -1]).toFloat();
      if (config.kind === "standard") {
        const { mean, variance } = tf.moments(flat, 0);
        return [mean, tf.sqrt(variance)];
      }
      return [tf.min(flat, 0), tf.max(flat, 0)];
    });
    const first = Array.from((await (a as tf.Tensor).data()) as Float32Array);
    const second = Array.from((await (b as tf.Tensor).data()) as Float32Array);
    a.dispose();
    b.dispose();
    if (config.kind === "standard") {
      stats["mean"] = first;
      stats["std"] = second.map((s) => (s < FLOOR ? 1 : s));
    } else {
      stats["min"] = first;
      stats["max"] = second;
    }
  } else if (config.kind === "scale") {
    stats["factor"] = [config.factor];
  }
  return restoreNormalizer(config, stats);
}

/** Rebuilds the normaliser that `fitNormalizer` returned from its saved `stats`. */
export function restoreNormalizer(config: NormalizeConfig, stats: Record<string, number[]>): Normalizer {
  const need = (name: string): number[] => {
    const v = stats[name];
    if (!v || v.length === 0) throw new Error(`the ${config.kind} normaliser needs the statistic \`${name}\``);
    return v;
  };
  let apply: (x: tf.Tensor) => tf.Tensor;
  switch (config.kind) {
    case "none":
      apply = (x) => tf.clone(x);
      break;
    case "scale": {
      const factor = need("factor")[0]!;
      apply = (x) => tf.tidy(() => tf.mul(x.toFloat(), factor));
      break;
    }
    case "standard": {
      const mean = need("mean");
      const std = need("std");
      apply = perFeature(mean.length, (flat) => tf.div(tf.sub(flat, tf.tensor1d(mean)), tf.tensor1d(std)));
      break;
    }
    case "minmax": {
      const min = need("min");
      const max = need("max");
      const range = max.map((m, i) => (m - min[i]! < FLOOR ? 1 : m - min[i]!));
      apply = perFeature(min.length, (flat) => tf.div(tf.sub(flat, tf.tensor1d(min)), tf.tensor1d(range)));
      break;
    }
  }
  return { apply, stats };
}

/** Wraps a per-feature formula on [m, features] so it takes any [m, ...featureShape] batch. */
function perFeature(features: number, f: (flat: tf.Tensor2D) => tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  return (x) => {
    const size = x.shape.slice(1).reduce((p, d) => p * d, 1);
    if (x.rank < 1 || size !== features) {
      throw new Error(`the normaliser was fitted on ${features} features per example, but got a batch of shape [${x.shape.join(", ")}] (${size} per example)`);
    }
    return tf.tidy(() => tf.reshape(f(tf.reshape(x.toFloat(), [x.shape[0]!, features])), x.shape));
  };
}

/** What `fitSamples` needs of a split: its inputs in memory or a stream of them. */
interface FitSource {
  n: number;
  x?: tf.Tensor;
  read?(indices: Int32Array): Promise<Float32Array>;
}

/**
 * Fits `config` on every sample of a split: on the tensor when it is in memory (as
 * `fitNormalizer`), else streamed in batches of `batch`, accumulated in float64 (mean and
 * population variance by Chan's parallel update, or min and max), so a split larger than
 * memory is fitted exactly in one pass.
 */
export async function fitSamples(config: NormalizeConfig, s: FitSource, features: number, batch = 256): Promise<Normalizer> {
  if (s.x) return fitNormalizer(config, s.x);
  if (s.n === 0) throw new Error("fitSamples needs at least one training example");
  if (!s.read) throw new Error("fitSamples: the samples have neither `x` nor `read`");
  const read = s.read.bind(s);
  return fitStream(config, features, async function* () {
    for (let start = 0; start < s.n; start += batch) yield read(Int32Array.from({ length: Math.min(batch, s.n - start) }, (_, i) => start + i));
  });
}

/** Fits `config` on batches of samples (each `features` values per sample, row-major), in one pass, in float64. */
export async function fitStream(config: NormalizeConfig, features: number, batches: () => AsyncIterable<Float32Array>): Promise<Normalizer> {
  const stats: Record<string, number[]> = {};
  if (config.kind === "standard" || config.kind === "minmax") {
    const a = new Float64Array(features).fill(config.kind === "minmax" ? Infinity : 0);
    const b = new Float64Array(features).fill(config.kind === "minmax" ? -Infinity : 0);
    let seen = 0;
    for await (const values of batches()) {
      const m = values.length / features;
      if (m === 0) continue;
      if (config.kind === "minmax") {
        for (let k = 0; k < m; k++) {
          for (let f = 0, o = k * features; f < features; f++) {
            const v = values[o + f]!;
            if (v < a[f]!) a[f] = v;
            if (v > b[f]!) b[f] = v;
          }
        }
      } else {
        // This batch's mean and sum of squared deviations, merged into the running ones.
        for (let f = 0; f < features; f++) {
          let sum = 0;
          for (let k = 0; k < m; k++) sum += values[k * features + f]!;
          const mean = sum / m;
          let m2 = 0;
          for (let k = 0; k < m; k++) {
            const d = values[k * features + f]! - mean;
            m2 += d * d;
          }
          const total = seen + m;
          const delta = mean - a[f]!;
          a[f] = a[f]! + (delta * m) / total;
          b[f] = b[f]! + m2 + (delta * delta * seen * m) / total;
        }
      }
      seen += m;
    }
    if (seen === 0) throw new Error("fitStream needs at least one training example");
    if (config.kind === "standard") {
      stats["mean"] = Array.from(a, (v) => Math.fround(v));
      stats["std"] = Array.from(b, (v) => {
        const sd = Math.fround(Math.sqrt(v / seen));
        return sd < FLOOR ? 1 : sd;
      });
    } else {
      stats["min"] = Array.from(a);
      stats["max"] = Array.from(b);
    }
  } else if (config.kind === "scale") {
    stats["factor"] = [config.factor];
  }
  return restoreNormalizer(config, stats);
}
