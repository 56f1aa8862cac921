/**
 * The shape rules, one pure rule per layer kind (house style, habit 10), live with their kind in
 * `src/layers/`; this module is the checker's door to them. Semantics are those of Keras /
 * TensorFlow.js with channels-last images, except where the spec language is deliberately
 * stricter (a `dense` on an image is an error here). test/shape-cases.ts holds the table of
 * cases that both the fast test and the differential test against TensorFlow.js run.
 */
export { effectiveKernel, elementCount, formatShape, sameShape, windowLength } from "../layers/shape.js";
export { layerWords, multiplyAdds, outputShape, paramCount, weightTensors } from "../layers/index.js";

/**
 * The most values one tensor may hold: TensorFlow.js indexes a tensor's values with 32-bit
 * integers (and WebAssembly's whole memory is 4 GiB), so no backend holds more. nnc checks every
 * weight and every sample's activations against it (NN3015), and a batch of them in a recipe.
 */
export const MAX_TENSOR_VALUES = 2 ** 31 - 1;

/** The number of values in a shape, exactly. */
export function exactCount(shape: readonly number[]): bigint {
  return shape.reduce((a, b) => a * BigInt(b), 1n);
}
