/**
 * Why a training run cannot go on, in words for the user: the divergence diagnosis (which
 * layer's gradient or weights blew up, and what to try), inputs that are not finite or so large
 * that float32 overflows on them, and TF.js running out of stack or memory. The phases in
 * ../train.ts call these; none of them runs per step unless the step already failed.
 */
import * as tf from "@tensorflow/tfjs";
import type { TrainConfig } from "../config.js";
import type { Dataset } from "../data/index.js";
import { pathText, type ModelFiles } from "../io.js";
import { outOfMemory, stackOverflow } from "../memory.js";
import { TrainError } from "./error.js";

/** Which layer a weight belongs to, as the spec and the summary name it. */
export interface WeightOwner {
  layer: string;
  /** The weight within the layer: kernel, bias, gamma, … */
  weight: string;
}

/** Weight owners by the weight's variable name (gradient keys) and by its originalName (files). */
export function weightOwners(model: tf.LayersModel): { byVariable: Map<string, WeightOwner>; byOriginal: Map<string, WeightOwner> } {
  const byVariable = new Map<string, WeightOwner>();
  const byOriginal = new Map<string, WeightOwner>();
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const owner = { layer: layer.name, weight: w.originalName.startsWith(layer.name + "/") ? w.originalName.slice(layer.name.length + 1) : w.originalName };
      byVariable.set(w.name, owner);
      byOriginal.set(w.originalName, owner);
    }
  }
  return { byVariable, byOriginal };
}

export function ownerText(owner: WeightOwner | undefined, fallback: string): string {
  return owner ? `\`${owner.layer}\` (${owner.weight})` : `\`${fallback}\``;
}

/** A number for a message: 10, 0.001, 3.1e38, NaN, infinity. */
export function numberText(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "infinity" : "-infinity";
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return x.toExponential(1).replace("e+", "e");
  return String(Number(x.toPrecision(3)));
}

/** The first weight in serialised model files that is NaN or infinite, by originalName. */
export function firstNonFinite(files: ModelFiles): { name: string; value: number } | undefined {
  const values = new Float32Array(files.weights.buffer, files.weights.byteOffset, files.weights.byteLength >>> 2);
  let offset = 0;
  for (const spec of files.specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.dtype === "float32" || spec.dtype === undefined) {
      for (let i = offset; i < offset + size; i++) if (!Number.isFinite(values[i]!)) return { name: spec.name, value: values[i]! };
    }
    offset += size;
  }
  return undefined;
}

/**
 * The rest of a divergence message: where the last good weights are, and what to try. Inputs
 * so large that float32 overflows on them (`scale`) are named as the cause instead of the
 * learning rate; merely large ones are named first.
 */
export function divergenceAdvice(checkpointDir: string | undefined, lastEpoch: number, config: TrainConfig, lr: number, scale?: InputScale): string {
  const kept =
    checkpointDir === undefined ? "" : lastEpoch > 0 ? ` The weights of the last good epoch (${lastEpoch}) are kept in ${pathText(checkpointDir)}.` : " No epoch had finished, so there is no checkpoint to go back to.";
  const seen = scale ? `${scale.feature} reaches ${numberText(scale.value)} after \`${normalizeText(config)}\`` : "";
  const fix = config.normalize.kind === "standard" ? "rescale that input (or drop the rows where it is extreme)" : "add `normalize standard` to the recipe (or rescale that input)";
  if (scale && scale.value >= HUGE_INPUT) {
    return `${kept} The inputs are the cause, not the learning rate: ${seen}, so large that the products and squares of the first layers overflow a 32-bit float (at most about 3.4e38). Hint: ${fix}.`;
  }
  const large = scale && scale.value >= LARGE_INPUT ? ` The inputs are large (${seen}), which alone can make training diverge: ${fix} first.` : "";
  const hint = config.clip
    ? `Hint: lower the learning rate (now ${numberText(lr)}), or clip harder than \`clip ${config.clip.by} ${config.clip.threshold}\`.`
    : `Hint: add \`clip norm 1.0\` to the recipe, or lower the learning rate (now ${numberText(lr)}).`;
  return `${kept}${large} ${hint}`;
}

/** One training step's outcome, kept until the next step shows the weights survived it. */
export interface StepRecord {
  epoch: number;
  batch: number;
  loss: number;
  grads: Record<string, tf.Tensor>;
}

/**
 * Each tensor's L2 norm without overflow: ‖g‖ = m·‖g/m‖ with m = max|g|, the last product
 * taken in doubles (a float32 Σg² overflows long before the gradient itself does). NaN or
 * infinite when the tensor holds such a value. One read-back.
 */
export async function norms(tensors: Record<string, tf.Tensor>): Promise<[string, number][]> {
  const keys = Object.keys(tensors);
  if (keys.length === 0) return [];
  const parts = tf.tidy(() =>
    tf.stack(
      keys.flatMap((k) => {
        const t = tensors[k]!;
        const m = t.abs().max();
        const safe = tf.where(tf.greater(m, 0), m, tf.onesLike(m));
        return [m, t.div(safe).square().sum()];
      }),
    ),
  );
  const values = await parts.data();
  parts.dispose();
  return keys.map((k, i) => {
    const m = values[2 * i]!;
    return [k, m === 0 ? 0 : Number.isFinite(m) ? m * Math.sqrt(values[2 * i + 1]!) : m];
  });
}

/**
 * Which gradients blew up: "the gradient of layer `x` (kernel) grew to 3.1e38 (the largest;
 * next: …)", or which overflowed or became NaN and the largest finite one. Undefined when
 * every gradient is NaN.
 */
async function largestGradient(grads: Record<string, tf.Tensor>, owners: Map<string, WeightOwner>): Promise<string | undefined> {
  return describeGradients(await norms(grads), owners, "norm");
}

/**
 * `largestGradient`'s words for measures of each variable's gradient: their norms, or (a GPU
 * run, which reads back only that) the sums of their components, compared by size.
 */
function describeGradients(measured: [string, number][], owners: Map<string, WeightOwner>, kind: "norm" | "sum"): string | undefined {
  const found: [string, number][] = measured.map(([n, v]) => [n, kind === "sum" && Number.isFinite(v) ? Math.abs(v) : Math.abs(v) === Infinity ? Infinity : v]);
  const infinite = found.filter(([, n]) => n === Infinity);
  const nan = found.filter(([, n]) => Number.isNaN(n));
  const finite = found.filter(([, n]) => Number.isFinite(n)).sort((a, b) => b[1] - a[1]);
  if (finite.length === 0 && infinite.length === 0) return undefined;
  const names = (list: [string, number][]): string => {
    const shown = list.slice(0, 3).map(([n]) => ownerText(owners.get(n), n));
    return (list.length > 1 ? "layers " : "layer ") + shown.join(", ") + (list.length > 3 ? ` and ${list.length - 3} more` : "");
  };
  if (infinite.length === 0 && nan.length === 0) {
    const [name, norm] = finite[0]!;
    const next = finite
      .slice(1, 3)
      .map(([n, v]) => `${ownerText(owners.get(n), n)} ${numberText(v)}`)
      .join(", ");
    const grew = kind === "norm" ? "grew to" : "has components summing to ±";
    return `the gradient of layer ${ownerText(owners.get(name), name)} ${grew}${kind === "norm" ? " " : ""}${numberText(norm)} (the largest${next ? `; next: ${next}` : ""})`;
  }
  const parts: string[] = [];
  if (infinite.length > 0) parts.push(`the gradient${infinite.length > 1 ? "s" : ""} of ${names(infinite)} overflowed to infinity`);
  if (nan.length > 0) parts.push(`the gradient${nan.length > 1 ? "s" : ""} of ${names(nan)} became NaN`);
  if (finite.length > 0) parts.push(`the largest finite one is that of layer ${ownerText(owners.get(finite[0]![0]), finite[0]![0])} (${numberText(finite[0]![1])})`);
  return parts.join("; ");
}

/**
 * Why the loss or the gradients of a step are not finite. Its update was not applied, so the
 * weights are those before it. If they are still finite, this step's gradients say which
 * layer blew up; if the previous step's update already broke them (its loss and gradients
 * were finite, but learning rate × gradient overflowed), the previous step's gradients do.
 */
export async function explainDivergence(now: StepRecord, previous: StepRecord | undefined, vars: Record<string, tf.Variable>, owners: Map<string, WeightOwner>): Promise<string> {
  const weightNorms = await norms(vars);
  const broken = weightNorms.find(([, n]) => !Number.isFinite(n));
  if (broken) {
    const made = `the update made the weights of layer ${ownerText(owners.get(broken[0]), broken[0])} ${numberText(broken[1])}`;
    if (previous) {
      const top = await largestGradient(previous.grads, owners);
      return `The weights overflowed in epoch ${previous.epoch}, batch ${previous.batch} (its loss was still ${numberText(previous.loss)}): ${top ? `${top}, and ` : ""}${made}.`;
    }
    return `The weights are no longer finite in epoch ${now.epoch}, batch ${now.batch}: ${made}.`;
  }
  const where = Number.isFinite(now.loss)
    ? `The gradients overflowed in epoch ${now.epoch}, batch ${now.batch} (the loss was ${numberText(now.loss)})`
    : `The loss became ${Number.isNaN(now.loss) ? "NaN" : "infinite"} in epoch ${now.epoch}, batch ${now.batch}`;
  const top = await largestGradient(now.grads, owners);
  if (top) return `${where}: ${top}.`;
  // Every gradient is NaN: the forward pass overflowed. Name the largest weights instead.
  const largest = weightNorms.sort((a, b) => b[1] - a[1])[0];
  return largest ? `${where}: every gradient is NaN, so the forward pass overflowed; the largest weights are those of layer ${ownerText(owners.get(largest[0]), largest[0])} (norm ${numberText(largest[1])}).` : `${where}.`;
}

/** A step of a GPU run whose update was masked, as read back: its loss and each gradient's Σ. */
export interface MaskedStep {
  epoch: number;
  batch: number;
  loss: number;
  /** Σ of each variable's gradient, by variable name. */
  sums: [string, number][];
}

/**
 * Why a GPU run's step was not applied (train.ts `deferredStep`): its loss or gradients were
 * not finite, or its update would have made the weights so. The weights are those before it
 * (every later update was masked too), so they are finite.
 */
export async function explainMaskedStep(step: MaskedStep, vars: Record<string, tf.Variable>, owners: Map<string, WeightOwner>): Promise<string> {
  const at = `in epoch ${step.epoch}, batch ${step.batch}`;
  const top = describeGradients(step.sums, owners, "sum");
  if (!Number.isFinite(step.loss) || step.sums.some(([, v]) => !Number.isFinite(v))) {
    const where = Number.isFinite(step.loss) ? `The gradients overflowed ${at} (the loss was ${numberText(step.loss)})` : `The loss became ${Number.isNaN(step.loss) ? "NaN" : "infinite"} ${at}`;
    if (top) return `${where}: ${top}. That step's update was not applied.`;
    const largest = (await norms(vars)).sort((a, b) => b[1] - a[1])[0];
    return largest
      ? `${where}: every gradient is NaN, so the forward pass overflowed; the largest weights are those of layer ${ownerText(owners.get(largest[0]), largest[0])} (norm ${numberText(largest[1])}). That step's update was not applied.`
      : `${where}.`;
  }
  return `The update ${at} would have made the weights overflow (its loss ${numberText(step.loss)} and gradients were finite, but learning rate × gradient was not), so it was not applied${top ? `: ${top}` : ""}.`;
}

/**
 * A failure inside TF.js that is a resource running out, as a TrainError: its recursion over
 * a very deep model running out of stack, or memory running out (or overrun, on wasm).
 * Undefined for anything else.
 */
export function resourceFailure(e: unknown, config: TrainConfig, backend: string): TrainError | undefined {
  if (e instanceof TrainError) return undefined;
  if (stackOverflow(e)) {
    return new TrainError(
      `The model \`${config.model}\` is too deep for TF.js: building or running it recursed once per layer and ran out of JavaScript stack (Maximum call stack size exceeded). ` +
        `On Node's default stack TF.js builds a chain of up to about ${DEEPEST_CHAIN.toLocaleString("en-US")} layers (${(DEEPEST_CHAIN / 2).toLocaleString("en-US")} residual blocks of one dense layer each). Hint: use fewer layers (a smaller \`repeat\` count).`,
    );
  }
  const oom = outOfMemory(e);
  if (oom) {
    return new TrainError(
      `TF.js ran out of memory on the ${backend} backend (${oom}). Hint: lower the batch size or the model's size${backend === "wasm" ? ", or train with --backend cpu, which can use all of the machine's free memory" : ""}.`,
    );
  }
  return undefined;
}

/**
 * The longest chain of layers TF.js built under `nnc train` on Node 20's default stack:
 * `repeat N residual { dense 4 relu }` (two layers a block) built at N = 2,109 and overflowed
 * at 2,125 (bisection, cpu backend). The overflow is in tfjs-layers' Container constructor,
 * whose buildMapOfGraph recurses once per layer; a process that has built smaller models
 * before gets further (about 4,400 blocks: the optimised function's frames are smaller). A
 * message's estimate, not a limit nnc enforces.
 */
const DEEPEST_CHAIN = 4200;

/** The largest input value the model sees, and where: what a divergence message may blame. */
export interface InputScale {
  value: number;
  feature: string;
}

/** Inputs this large make float32 overflow in the first layers (their squares pass 3.4e38 near 1.8e19). */
const HUGE_INPUT = 1e18;
/** Inputs this large often make training diverge; worth a mention before the learning rate. */
const LARGE_INPUT = 1e6;

/** One input value's name for messages: a CSV column, an image's pixel, or a feature number. */
export function featureName(f: number, data: Dataset, inputShape: number[]): string {
  const named = data.featureNames?.[f];
  if (named !== undefined) return named;
  if (inputShape.length === 3) {
    const [, w, c] = inputShape as [number, number, number];
    const row = Math.floor(f / (w * c));
    const col = Math.floor(f / c) % w;
    return `pixel (row ${row + 1}, column ${col + 1}${c > 1 ? `, channel ${(f % c) + 1}` : ""})`;
  }
  return inputShape.length === 1 ? `feature ${f + 1}` : `input value ${f + 1} (of ${inputShape.join("x")})`;
}

export function normalizeText(config: TrainConfig): string {
  return config.normalize.kind === "scale" ? `normalize scale(${config.normalize.factor})` : `normalize ${config.normalize.kind}`;
}

/** Per feature of `x` ([n, ...]): the largest |value|, and whether every value is finite. Two reductions, one read-back each. */
async function featureExtremes(x: tf.Tensor): Promise<{ maxAbs: Float32Array; finite: boolean[] }> {
  const n = x.shape[0]!;
  const maxAbs = tf.tidy(() => tf.max(tf.abs(tf.reshape(x, [n, -1])), 0));
  // x·0 is NaN exactly where x is NaN or infinite (max may skip NaN on some backends).
  const poison = tf.tidy(() => tf.sum(tf.mul(tf.reshape(x, [n, -1]), 0), 0));
  try {
    const m = (await maxAbs.data()) as Float32Array;
    const p = await poison.data();
    return { maxAbs: m, finite: Array.from(p, (v) => Number.isFinite(v)) };
  } finally {
    maxAbs.dispose();
    poison.dispose();
  }
}

/**
 * Refuses data that is not finite, naming the feature; `normalised` says whether `x` is what
 * the model sees (after the recipe's normalisation). Returns the largest |value| and its feature.
 */
export async function checkFinite(x: tf.Tensor, split: string, data: Dataset, config: TrainConfig, inputShape: number[], normalised = false): Promise<InputScale> {
  const { maxAbs, finite } = await featureExtremes(x);
  const bad = finite.indexOf(false);
  if (bad >= 0) {
    const name = featureName(bad, data, inputShape);
    const what = Number.isNaN(maxAbs[bad]) ? "NaN" : "infinite";
    if (!normalised) throw new TrainError(`The ${split} data holds ${what} values in ${name}. Every input must be a finite number: drop those rows or fill them in.`);
    throw new TrainError(
      `After \`${normalizeText(config)}\`, ${name} of the ${split} data is ${what}: its values leave the range of a 32-bit float (about ±3.4e38), so training would stop at its first step. Hint: rescale that input before training (divide the column by a large power of ten), or choose another normalisation.`,
    );
  }
  let top = 0;
  for (let f = 1; f < maxAbs.length; f++) if (maxAbs[f]! > maxAbs[top]!) top = f;
  return { value: maxAbs[top] ?? 0, feature: featureName(top, data, inputShape) };
}

/** Refuses normalisation statistics that overflowed float32 (features near 1e38), naming the feature. */
export function checkStatistics(stats: Record<string, number[]>, data: Dataset, config: TrainConfig, inputShape: number[]): void {
  const kind = config.normalize.kind;
  const hint = "Hint: rescale that input before training (divide the column by a large power of ten, say 1e30), so that its values stay far below 3.4e38.";
  if (kind === "standard") {
    const mean = stats["mean"] ?? [];
    const std = stats["std"] ?? [];
    const f = mean.findIndex((m, i) => !Number.isFinite(m) || !Number.isFinite(std[i]!));
    if (f >= 0) {
      throw new TrainError(
        `\`normalize standard\` cannot be fitted to ${featureName(f, data, inputShape)}: its values are so large that their ${Number.isFinite(mean[f]!) ? "variance" : "mean"} overflows a 32-bit float (at most about 3.4e38), so every normalised value would be NaN. ${hint}`,
      );
    }
  } else if (kind === "minmax") {
    const min = stats["min"] ?? [];
    const max = stats["max"] ?? [];
    const f = min.findIndex((m, i) => !Number.isFinite(Math.fround(max[i]! - m)));
    if (f >= 0) {
      throw new TrainError(
        `\`normalize minmax\` cannot be fitted to ${featureName(f, data, inputShape)}: its values span from ${numberText(min[f]!)} to ${numberText(max[f]!)}, a range that overflows a 32-bit float (at most about 3.4e38). ${hint}`,
      );
    }
  }
}
