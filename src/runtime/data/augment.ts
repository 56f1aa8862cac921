/**
 * Image augmentation for NHWC batches, applied per training step, and the seeded random
 * number generator that data loading and augmentation share.
 *
 * Everything here is deterministic given `random`: the same generator state gives the same
 * flips, crops and jitters. No clipping is done: the batch may already be normalised
 * (standardised pixels are not in [0, 1]).
 */
import * as tf from "@tensorflow/tfjs";
import type { AugmentConfig } from "../config.js";
import { SeededRandom, seededRandom } from "../../common/random.js";

export { SeededRandom, seededRandom };

/**
 * Applies `augments` in order to a batch `x` of shape [n, height, width, channels] and
 * returns a new tensor (the caller disposes it; `x` is left alone, and no intermediate
 * tensor outlives the call).
 *
 * - `flip horizontal|vertical`: each image is mirrored with probability ½ (a random half of
 *   the batch, on average), left–right or top–bottom.
 * - `crop HxW pad P`: every image is zero-padded by P pixels on each side, then an HxW window
 *   is cut at a random offset per image (Krizhevsky et al. 2012; He et al. 2016's CIFAR
 *   recipe is `crop 32x32 pad 4`). With P = 0 and HxW the image size it is the identity.
 *   The result is HxW, so the batch changes shape unless HxW is the input size.
 * - `jitter brightness B contrast C`: per image, a brightness shift drawn from U(−B, B) is
 *   added, then the image is scaled around its own mean (over all pixels and channels) by a
 *   factor drawn from U(1 − C, 1 + C). A zero amount skips that half.
 *
 * Random numbers are drawn per augmentation, per image, in batch order.
 */
export function augmentBatch(x: tf.Tensor4D, augments: AugmentConfig[], random: () => number): tf.Tensor4D {
  if (x.rank !== 4) throw new Error(`augmentBatch needs an NHWC batch of rank 4, got shape [${x.shape.join(", ")}]`);
  return tf.tidy(() => {
    let out: tf.Tensor4D = x.clone();
    for (const a of augments) {
      switch (a.kind) {
        case "flip":
          out = flip(out, a.direction === "horizontal" ? 2 : 1, random);
          break;
        case "crop":
          out = crop(out, a.height, a.width, a.pad, random);
          break;
        case "jitter":
          out = jitter(out, a.brightness, a.contrast, random);
          break;
      }
    }
    return out;
  });
}

/** Mirrors each image along `axis` (2: left–right, 1: top–bottom) with probability ½. */
function flip(x: tf.Tensor4D, axis: 1 | 2, random: () => number): tf.Tensor4D {
  const n = x.shape[0];
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = random() < 0.5 ? 1 : 0;
  if (!mask.includes(1)) return x;
  const cond = tf.tensor4d(mask, [n, 1, 1, 1], "bool");
  return tf.where(cond, tf.reverse(x, axis), x) as tf.Tensor4D;
}

/** Zero-pads by `pad`, then cuts an `h`x`w` window at a random offset per image (one gatherND). */
function crop(x: tf.Tensor4D, h: number, w: number, pad: number, random: () => number): tf.Tensor4D {
  const [n, height, width] = x.shape;
  const ph = height + 2 * pad;
  const pw = width + 2 * pad;
  if (!Number.isInteger(h) || !Number.isInteger(w) || !Number.isInteger(pad) || h < 1 || w < 1 || pad < 0) {
    throw new Error(`crop ${h}x${w} pad ${pad}: the size must be whole numbers of at least 1 and the padding a whole number of at least 0`);
  }
  if (h > ph || w > pw) {
    throw new Error(`crop ${h}x${w} is larger than the padded ${ph}x${pw} image (${height}x${width} padded by ${pad})`);
  }
  const padded = pad > 0 ? tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : x;
  // indices[b, i, j] = (b, top_b + i, left_b + j): gatherND copies each pixel's channels exactly.
  const indices = new Int32Array(n * h * w * 3);
  let k = 0;
  for (let b = 0; b < n; b++) {
    const top = Math.floor(random() * (ph - h + 1));
    const left = Math.floor(random() * (pw - w + 1));
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        indices[k++] = b;
        indices[k++] = top + i;
        indices[k++] = left + j;
      }
    }
  }
  return tf.gatherND(padded, tf.tensor4d(indices, [n, h, w, 3], "int32")) as tf.Tensor4D;
}

/** Per-image brightness shift U(−b, b), then contrast scaling U(1 − c, 1 + c) around the image mean. */
function jitter(x: tf.Tensor4D, brightness: number, contrast: number, random: () => number): tf.Tensor4D {
  const n = x.shape[0];
  let out = x;
  if (brightness > 0) {
    const shift = new Float32Array(n);
    for (let i = 0; i < n; i++) shift[i] = (2 * random() - 1) * brightness;
    out = tf.add(out, tf.tensor4d(shift, [n, 1, 1, 1]));
  }
  if (contrast > 0) {
    const factor = new Float32Array(n);
    for (let i = 0; i < n; i++) factor[i] = 1 + (2 * random() - 1) * contrast;
    const mean = tf.mean(out, [1, 2, 3], true);
    out = tf.add(tf.mul(tf.sub(out, mean), tf.tensor4d(factor, [n, 1, 1, 1])), mean);
  }
  return out;
}
