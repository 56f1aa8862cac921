/**
 * Gradient clipping, and gradient norms for reporting and for guarding against divergence.
 */
import * as tf from "@tensorflow/tfjs";

export interface ClipConfig {
  by: "norm" | "value";
  threshold: number;
}

/**
 * Clipped copies of the gradients (same keys; the inputs are not disposed, the caller owns
 * both):
 * - by value: every component clamped to [−t, t];
 * - by norm: all gradients rescaled together by t / max(t, ‖g‖), where ‖g‖ is the global L2
 *   norm over every gradient (Pascanu, Mikolov & Bengio 2013; TF's `clip_by_global_norm`), so
 *   the update keeps its direction. The scale stays a tensor: no read-back from the device.
 */
export function clipGradients(grads: Record<string, tf.Tensor>, clip: ClipConfig): Record<string, tf.Tensor> {
  const t = clip.threshold;
  return tf.tidy(() => {
    const out: Record<string, tf.Tensor> = {};
    if (clip.by === "value") {
      for (const [key, g] of Object.entries(grads)) out[key] = tf.clipByValue(g, -t, t);
      return out;
    }
    const scale = tf.div(t, tf.maximum(t, globalNormTensor(Object.values(grads))));
    for (const [key, g] of Object.entries(grads)) out[key] = g.mul(scale);
    return out;
  });
}

/** √(Σ over all gradients of Σ g²) as a scalar tensor; 0 for none. */
function globalNormTensor(grads: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    if (grads.length === 0) return tf.scalar(0);
    return tf.addN(grads.map((g) => g.square().sum())).sqrt() as tf.Scalar;
  });
}

/** The global L2 norm of all gradients together, √(Σ‖gᵢ‖²). Reads one number back. */
export async function globalNorm(grads: Record<string, tf.Tensor>): Promise<number> {
  const norm = globalNormTensor(Object.values(grads));
  const value = (await norm.data())[0]!;
  norm.dispose();
  return value;
}

/** Each gradient's own L2 norm, by key. Reads all of them back in one transfer. */
export async function gradientNorms(grads: Record<string, tf.Tensor>): Promise<Record<string, number>> {
  const keys = Object.keys(grads);
  if (keys.length === 0) return {};
  const norms = tf.tidy(() => tf.stack(keys.map((k) => grads[k]!.square().sum().sqrt())));
  const values = await norms.data();
  norms.dispose();
  return Object.fromEntries(keys.map((k, i) => [k, values[i]!]));
}
