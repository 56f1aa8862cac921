/**
 * A small subset of a dataset, for `nnc sanity` (overfit a few samples per class first): the
 * first `perClass` training samples of each class, in the order the source gave them (already
 * shuffled by the seed where the source shuffles), and no validation or test split.
 */
import { subsetSamples, type Dataset } from "./samples.js";

/** Keeps at most `perClass` training samples of each class (a regression source: the first `perClass` samples) and drops the other splits; disposes what it drops. */
export function takePerClass(data: Dataset, perClass: number): Dataset {
  if (!Number.isInteger(perClass) || perClass < 1) throw new Error(`takePerClass: perClass must be a whole number of at least 1, got ${perClass}`);
  const taken = new Map<number, number>();
  const keep: number[] = [];
  const labels = data.train.labels;
  for (let i = 0; i < data.train.n; i++) {
    const c = labels ? labels[i]! : 0;
    const k = taken.get(c) ?? 0;
    if (k < perClass) {
      taken.set(c, k + 1);
      keep.push(i);
    }
  }
  const train = subsetSamples(data.train, Int32Array.from(keep), data.targetSize ?? 1);
  data.train.x?.dispose();
  data.validation?.x?.dispose();
  data.test?.x?.dispose();
  const out: Dataset = {
    ...data,
    train,
    description: `${data.description.replace(/, [\d,]+ test [^()]*\)$/, ")")}, ${perClass} per class: ${keep.length.toLocaleString("en-US")} samples`,
  };
  delete out.validation;
  delete out.test;
  return out;
}

