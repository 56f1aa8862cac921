/**
 * The words a layer kind is written with: positional values and option words, each with the
 * one-line summary completion and hovers show. Option sets several kinds share live here.
 */
/** How a layer's option word takes its value. */
export type OptionValue =
  | "flag" // a bare word: `no_bias`, `frozen`, `same`
  | "number" // `l2 1e-4`
  | "integer" // `filters 32`
  | "pair" // `stride 2` or `stride 2x1`
  | "name" // `name conv1`
  | "init"; // `init he_normal`, `init normal(0.02)`

export interface OptionInfo {
  value: OptionValue;
  summary: string;
}

/** Options that several layer kinds share. */
export const COMMON: Record<string, OptionInfo> = {
  name: { value: "name", summary: "name the layer (in summaries and generated code)" },
  frozen: { value: "flag", summary: "do not train this layer's weights (transfer learning)" },
};
export const WEIGHTS: Record<string, OptionInfo> = {
  init: { value: "init", summary: "weight initialiser" },
  bias: { value: "number", summary: "initial value of every bias (default 0)" },
  no_bias: { value: "flag", summary: "no bias vector (e.g. before batchnorm)" },
  l1: { value: "number", summary: "L1 penalty on the weights" },
  l2: { value: "number", summary: "L2 penalty on the weights" },
};
export const WINDOW: Record<string, OptionInfo> = {
  stride: { value: "pair", summary: "step between windows: `stride 2` or `stride 2x1`" },
  valid: { value: "flag", summary: "no padding: output shrinks by k−1" },
  same: { value: "flag", summary: "pad so output = ceil(input/stride)" },
  full: { value: "flag", summary: "pad k−1 on each side: output grows by k−1" },
};
export const NORM: Record<string, OptionInfo> = {
  epsilon: { value: "number", summary: "added to the variance for stability" },
};

export interface LayerKindInfo {
  /** Positional arguments, in order, before the option words. */
  positional: { name: string; form: "dims" | "number" | "integer" | "word"; optional?: boolean; summary: string }[];
  options: Record<string, OptionInfo>;
  /** Accepts a trailing activation word (`dense 100 relu`). */
  activation: boolean;
  summary: string;
  example: string;
}

