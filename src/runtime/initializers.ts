/**
 * Weight initialisers as the spec names them, mapped onto TF.js initializers.
 *
 * The variance-scaling normals need care: TF.js's `glorotNormal`, `heNormal` and `leCunNormal`
 * draw from a normal truncated at ±2σ with σ = √scale, so their variance is only
 * 0.7737·scale (a normal truncated at ±2σ has standard deviation 0.8796·σ). Keras (since 2.3)
 * divides σ by that factor so that the variance is exactly `scale`, the value the papers'
 * formulas give. We do as Keras does, through TF.js's own `varianceScaling` with the scale
 * divided by 0.8796², so the layers stay serialisable without a custom class:
 * - glorot (Glorot & Bengio 2010): Var = 2/(fan_in + fan_out), uniform limit √(6/(fan_in + fan_out));
 * - he (He et al. 2015): Var = 2/fan_in, uniform limit √(6/fan_in);
 * - lecun (LeCun et al. 1998): Var = 1/fan_in, uniform limit √(3/fan_in).
 * Fans as Keras computes them: a dense kernel [in, out] has fan_in = in, fan_out = out; a conv
 * kernel [kh, kw, cin, cout] has fan_in = kh·kw·cin, fan_out = kh·kw·cout.
 */
import * as tf from "@tensorflow/tfjs";
import type { InitConfig } from "./config.js";

/** TF.js's initializer class (the `tf.initializers` namespace exports only factories). */
export type Initializer = ReturnType<typeof tf.initializers.ones>;

/**
 * The standard deviation of a standard normal truncated to [−2, 2]
 * (√(1 − 4φ(2)/(2Φ(2) − 1))), Keras's correction constant.
 */
export const TRUNCATED_NORMAL_STD = 0.87962566103423978;

/** A truncated-normal variance-scaling initializer whose variance is `scale / fan`. */
function scaledTruncatedNormal(scale: number, mode: "fanIn" | "fanAvg", seed: number | undefined): Initializer {
  return tf.initializers.varianceScaling({ scale: scale / TRUNCATED_NORMAL_STD ** 2, mode, distribution: "normal", seed });
}

/**
 * The TF.js initializer for `config`. `seed` makes it deterministic; give each weight its own
 * (the same seed gives the same values for the same shape).
 */
export function initializer(config: InitConfig, seed?: number): Initializer {
  switch (config.name) {
    case "zeros":
      return tf.initializers.zeros();
    case "ones":
      return tf.initializers.ones();
    case "glorot_normal":
      return scaledTruncatedNormal(1, "fanAvg", seed);
    case "glorot_uniform":
      return tf.initializers.glorotUniform({ seed });
    case "he_normal":
      return scaledTruncatedNormal(2, "fanIn", seed);
    case "he_uniform":
      return tf.initializers.heUniform({ seed });
    case "lecun_normal":
      return scaledTruncatedNormal(1, "fanIn", seed);
    case "lecun_uniform":
      return tf.initializers.leCunUniform({ seed });
    case "normal":
      return tf.initializers.randomNormal({ mean: 0, stddev: config.std, seed });
    case "uniform":
      return tf.initializers.randomUniform({ minval: -config.limit, maxval: config.limit, seed });
  }
}
