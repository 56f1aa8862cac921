/**
 * How much memory a training run needs and how much its backend can give, so that `train()`
 * refuses a run that cannot fit before it builds the model or loads the data (instead of
 * spinning in swap, dying in the middle of a step with "memory access out of bounds", or, on
 * wasm, silently corrupting memory: its allocator wraps around past 4 GiB).
 *
 * What a step holds at its peak, all float32:
 *
 *   weights          every weight (trainable and not)
 *   gradients        one per trainable weight
 *   optimizer state  its slots per trainable weight (adam 2, momentum 1, sgd 0)
 *   the update       the working copies of one optimizer step, measured on this backend by
 *                    running the step once on a small model (`updateCopies`): the flat
 *                    update keeps every intermediate of its formula until it ends
 *   the backward     every layer's output for one batch, the gradients of those outputs and
 *   pass             TF.js's intermediates (kept until the gradient scope ends): measured at
 *                    6–9 × a batch's layer outputs, plus up to 3 × the trainable weights
 *                    (`BACKWARD_ACTIVATION_COPIES`, `BACKWARD_WEIGHT_COPIES`)
 *
 * The update runs after the backward pass has ended, so a step needs the larger of the two.
 * Before the first step come the data: their float32 values, held twice while they are split
 * and normalised.
 *
 * What a backend can use: wasm, WebAssembly's 32-bit address space (its heap stops growing
 * at 4 GiB − 64 KiB, measured; it allocates past its end without failing first) or the
 * machine's free memory if less; cpu and node, the machine's free memory. nnc plans with
 * `USABLE` of that, for TF.js's own temporaries. webgpu and node-gpu keep tensors in GPU
 * memory, whose size TF.js does not tell: no limit is checked there.
 */
import * as tf from "@tensorflow/tfjs";
import { freemem } from "node:os";
import type { BackendKind } from "./backends/select.js";
import { clipGradients } from "./clip.js";
import type { TrainConfig } from "./config.js";
import { createOptimizer, slotNames } from "./optimizers.js";

/** The share of a backend's memory a run may plan to use. */
export const USABLE = 0.8;

/** The wasm heap's largest size: 65,535 pages of 64 KiB (measured with tfjs-backend-wasm 4.22). */
export const WASM_MAX_BYTES = 65535 * 65536;

/** "6.2 GB", "40 MB", "512 bytes" (binary units: 1 GB = 2³⁰ bytes). */
export function bytesText(n: number): string {
  const units: [number, string][] = [
    [2 ** 40, "TB"],
    [2 ** 30, "GB"],
    [2 ** 20, "MB"],
    [2 ** 10, "KB"],
  ];
  for (const [size, unit] of units) {
    if (n >= size) {
      const v = n / size;
      return `${v >= 100 ? Math.round(v) : Number(v.toPrecision(2))} ${unit}`;
    }
  }
  return `${Math.round(n)} bytes`;
}

/** The memory this process may still allocate: free memory, within a container's limit. */
export function freeMemory(): number {
  const available = (process as unknown as { availableMemory?: () => number }).availableMemory;
  const free = typeof available === "function" ? available.call(process) : freemem();
  return Number.isFinite(free) && free > 0 ? free : freemem();
}

/** What a backend can hold, and why, for messages. */
export interface MemoryLimit {
  /** Bytes nnc plans with: `USABLE` of what the backend can use, less what it holds already. */
  usable: number;
  /** "the wasm backend can use at most 4 GB (WebAssembly's 32-bit address space)" */
  why: string;
}

/** What `backend` can hold for a run, or undefined where it cannot be known (GPU memory). */
export function backendMemoryLimit(backend: BackendKind): MemoryLimit | undefined {
  const free = freeMemory();
  const inUse = tf.memory().numBytes;
  const plan = (bytes: number, why: string): MemoryLimit => ({
    usable: Math.max(0, bytes * USABLE - inUse),
    why: `${why}; nnc plans with ${Math.round(USABLE * 100)}% of that (${bytesText(bytes * USABLE)}), leaving the rest to TF.js's temporaries`,
  });
  switch (backend) {
    case "wasm":
      return free < WASM_MAX_BYTES
        ? plan(free, `the wasm backend can use at most ${bytesText(WASM_MAX_BYTES)} (WebAssembly's 32-bit address space), and this machine has ${bytesText(free)} free`)
        : plan(WASM_MAX_BYTES, `the wasm backend can use at most ${bytesText(WASM_MAX_BYTES)} (WebAssembly's 32-bit address space)`);
    case "cpu":
    case "node":
      return plan(free, `the ${backend} backend can use the machine's free memory, ${bytesText(free)} now`);
    case "webgpu":
    case "node-gpu":
      return undefined;
  }
}

/** What codegen says of a model's size (ModelInfo's counts). */
export interface ModelSize {
  /** Every weight, trainable or not. */
  parameters: number;
  trainableParameters: number;
  /** Floats of every layer's output for one sample, summed. */
  activationsPerSample: number;
}

/** The peak memory of one training step, in bytes, by what holds it. */
export interface StepMemory {
  weights: number;
  gradients: number;
  optimizer: number;
  /** The update's working copies (`updateCopies` × the trainable weights). */
  update: number;
  /** The backward pass: a batch's activations, their gradients and TF.js's intermediates. */
  backward: number;
  /** weights + gradients + optimizer + the larger of update and backward (they never coexist). */
  total: number;
}

/**
 * What the backward pass holds, as multiples of a batch's layer outputs and of the trainable
 * weights: TF.js keeps every intermediate of the forward pass and of its gradient until the
 * gradient scope ends. Measured with tf.profile (cpu and wasm agree) by the slope and intercept
 * of the peak over batch sizes 8 and 32: dense 10→1,000,000 relu→1, 8.9 × the outputs and
 * 0.6 × the weights; the same without relu, 6.0 and 2.9; two 3x3x64 convs with relu, 6.5 and
 * 1.0; conv, batchnorm and relu, 7.3 and 2.2. nnc counts the largest of each.
 */
export const BACKWARD_ACTIVATION_COPIES = 9;
export const BACKWARD_WEIGHT_COPIES = 3;

/**
 * The working copies of one optimizer step, as a multiple of the trainable weights: the
 * recipe's optimizer (and clipping) run twice on two small variables on the current backend
 * (the first step makes the slots), and the second step's peak above what it started with is
 * measured. Elementwise rules on flat vectors: the multiple is the same at any size.
 */
export async function updateCopies(config: TrainConfig): Promise<number> {
  const n = 2048;
  const created: tf.Tensor[] = [];
  const optimizer = createOptimizer(config.optimizer, config.lr);
  try {
    const vars: Record<string, tf.Variable> = {};
    const grads: Record<string, tf.Tensor> = {};
    for (const key of ["probe_a", "probe_b"]) {
      const v = tf.variable(tf.zeros([n / 2]), true);
      const g = tf.fill([n / 2], 0.5);
      created.push(v, g);
      vars[key] = v;
      grads[key] = g;
    }
    const step = (): void => tf.tidy(() => void optimizer.applyGradients(vars, config.clip ? clipGradients(grads, config.clip) : grads));
    step();
    const before = tf.memory().numBytes;
    const profile = await tf.profile(step);
    return Math.max(0, (profile.peakBytes - before) / (4 * n));
  } finally {
    optimizer.dispose();
    tf.dispose(created);
  }
}

/** The peak memory of a training step of a model of `size` at `batch`. */
export function stepMemory(size: ModelSize, slots: number, copies: number, batch: number): StepMemory {
  const weights = 4 * size.parameters;
  const gradients = 4 * size.trainableParameters;
  const optimizer = 4 * slots * size.trainableParameters;
  const update = 4 * copies * size.trainableParameters;
  const backward = 4 * (BACKWARD_ACTIVATION_COPIES * size.activationsPerSample * batch + BACKWARD_WEIGHT_COPIES * size.trainableParameters);
  return { weights, gradients, optimizer, update, backward, total: weights + gradients + optimizer + Math.max(update, backward) };
}

/** The optimizer's slots per trainable weight (adam 2, momentum 1, sgd 0). */
export function slotsPerWeight(config: TrainConfig): number {
  return slotNames(config.optimizer).length;
}

/**
 * Why a model of `size` cannot train on a backend that can use `limit`, or undefined when it
 * fits: "this model needs about 6.2 GB to train at batch 512 (weights 40 MB, …); the wasm
 * backend can use at most 4 GB (…); lower the batch size …".
 */
export function modelTooBig(size: ModelSize, config: TrainConfig, copies: number, limit: MemoryLimit, backend: BackendKind): string | undefined {
  const slots = slotsPerWeight(config);
  const need = stepMemory(size, slots, copies, config.batch);
  if (need.total <= limit.usable) return undefined;
  const parts = [
    `weights ${bytesText(need.weights)}`,
    `gradients ${bytesText(need.gradients)}`,
    ...(need.optimizer > 0 ? [`${config.optimizer.name}'s state ${bytesText(need.optimizer)}`] : []),
    need.backward >= need.update ? `the backward pass ${bytesText(need.backward)} (a batch's activations, their gradients and TF.js's intermediates)` : `the update's working copies ${bytesText(need.update)}`,
  ];
  // The largest batch that fits: the backward pass grows with it, the rest does not.
  const fixed = need.weights + need.gradients + need.optimizer;
  const perSample = 4 * BACKWARD_ACTIVATION_COPIES * size.activationsPerSample;
  const room = limit.usable - fixed - Math.max(need.update, 4 * BACKWARD_WEIGHT_COPIES * size.trainableParameters);
  const fits = perSample > 0 && room > 0 ? Math.floor(room / perSample) : 0;
  const hints: string[] = [];
  if (fits >= 1 && fits < config.batch) hints.push(`\`batch ${fits}\` or less would fit`);
  else hints.push(room <= 0 ? "make the model smaller (its weights alone do not fit, whatever the batch size)" : "lower the batch size or the model's size");
  if (backend === "wasm") {
    const cpu = backendMemoryLimit("cpu");
    if (cpu && need.total <= cpu.usable) hints.push(`or train with --backend cpu, which can use ${bytesText(cpu.usable)} here (but is slower)`);
  }
  return (
    `The model \`${config.model}\` needs about ${bytesText(need.total)} to train at batch ${config.batch} (${parts.join(", ")}); ${limit.why}. ` +
    `Hint: ${hints.join(", ")}.`
  );
}

/** A model's size from the built model, for generated code that does not pass it in ModelInfo. */
export function measuredSize(model: tf.LayersModel): ModelSize {
  const count = (ws: tf.LayerVariable[]): number => ws.reduce((n, w) => n + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);
  let activations = 0;
  for (const layer of model.layers) {
    const shapes = layer.outputShape;
    const list = (Array.isArray(shapes[0]) || shapes.length === 0 ? shapes : [shapes]) as (number | null)[][];
    for (const s of list) activations += s.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
  }
  return { parameters: count(model.weights), trainableParameters: count(model.trainableWeights), activationsPerSample: activations };
}

/**
 * A failure inside TF.js that means memory ran out (or was overrun), in words, or undefined
 * for any other error. On wasm, a RuntimeError of any kind after an allocation failed means
 * the heap is damaged, so every RuntimeError is read as one.
 */
export function outOfMemory(e: unknown): string | undefined {
  // Not `instanceof Error`: WebAssembly's errors may come from another realm.
  if (typeof e !== "object" || e === null || typeof (e as { message?: unknown }).message !== "string") return undefined;
  const m = (e as Error).message;
  const name = typeof (e as Error).name === "string" ? (e as Error).name : "Error";
  const runtimeError = name === "RuntimeError" || (e as object).constructor?.name === "RuntimeError";
  if (runtimeError || /memory access out of bounds|Array buffer allocation failed|Invalid typed array length|Invalid array length|out of memory|Cannot enlarge memory|Aborted\(|failed to allocate|Failed to allocate|ERR_BUFFER_TOO_LARGE|Cannot create a string longer/i.test(m)) {
    return `${name === "Error" && runtimeError ? "RuntimeError" : name}: ${m.length > 120 ? m.slice(0, 120) + "…" : m}`;
  }
  return undefined;
}

/** A failure inside TF.js that is its recursion running out of stack (a very deep model). */
export function stackOverflow(e: unknown): boolean {
  return typeof e === "object" && e !== null && /Maximum call stack size exceeded/.test(String((e as { message?: unknown }).message));
}
