/**
 * A small subset of a dataset, for `nnc sanity` (overfit a few samples per class first): the
 * first `perClass` training samples of each class, in the order the source gave them (already
 * shuffled by the seed where the source shuffles), and no test split.
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "./index.js";

/** Keeps at most `perClass` training samples of each class and drops the test split; disposes what it drops. */
export function takePerClass(data: Dataset, perClass: number): Dataset {
  if (!Number.isInteger(perClass) || perClass < 1) throw new Error(`takePerClass: perClass must be a whole number of at least 1, got ${perClass}`);
  const taken = new Map<number, number>();
  const keep: number[] = [];
  for (let i = 0; i < data.yTrain.length; i++) {
    const c = data.yTrain[i]!;
    const k = taken.get(c) ?? 0;
    if (k < perClass) {
      taken.set(c, k + 1);
      keep.push(i);
    }
  }
  const xTrain = tf.tidy(() => tf.gather(data.xTrain, tf.tensor1d(keep, "int32")));
  data.xTrain.dispose();
  data.xTest?.dispose();
  const out: Dataset = {
    xTrain,
    yTrain: Int32Array.from(keep, (i) => data.yTrain[i]!),
    classes: data.classes,
    description: `${data.description.replace(/, [\d,]+ test [^()]*\)$/, ")")}, ${perClass} per class: ${keep.length.toLocaleString("en-US")} samples`,
  };
  if (data.classNames) out.classNames = data.classNames;
  if (data.featureNames) out.featureNames = data.featureNames;
  return out;
}
