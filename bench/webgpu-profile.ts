/**
 * The webgpu backend's training step, kernel by kernel, for two models:
 *
 * - the MNIST CNN: 28x28x1 → conv 5x5x32 same relu → max pool 2 → conv 5x5x64 same relu →
 *   max pool 2 → flatten → dense 1024 relu → dense 10 softmax (as bench/train-speed.ts);
 * - ResNet-18 for CIFAR-size images, 32x32x3 → 10, as bench/gpu/resnet18_cifar.nn compiles
 *   (the same layers nnc's generated code makes: conv without bias → batchnorm → relu, the
 *   residual `add`s, global average pooling, dense softmax); its parameter counts are checked
 *   against what `nnc build` of the spec reports.
 *
 * A step is what src/runtime/train.ts runs on webgpu: `tf.variableGrads` of the loss
 * (crossentropy, the runtime's `lossFunction`) and the accuracy, each gradient's sum, and an
 * update by the runtime's adam (`createOptimizer`). `--step masked` (the default) is
 * `deferredStep`, what `nnc train --backend webgpu` does: the update is masked on the device by
 * the finiteness of the loss and the gradient sums, and the numbers are read back every
 * `GPU_READ_EVERY` steps (25) and after the timed steps. `--step readback` is `step`, what
 * the CPU backends do: the loss, accuracy and Σ gradients read back before every update.
 * The backend is started with the runtime's `selectBackend("webgpu", …)`, so nnc's WebGPU
 * device and kernels (src/runtime/backends/webgpu/) are in place; with
 * `NNC_WEBGPU_KERNELS=stock` TF.js's stock speed kernels stay. Each kernel set and model runs
 * in its own child process, and both sets are measured by default, so the tables show what
 * nnc's kernels change.
 *
 * Per child: `--warmup` steps (2), then `--wall-steps` steps timed without profiling (the
 * step's wall time, and with `--step masked` the host's: how long JavaScript takes to enqueue
 * a step's kernels, which bounds the step on a fast GPU; MNIST 3, ResNet 1 by default), then `--steps` profiled steps (MNIST 2,
 * ResNet 1), each in `tf.profile`; the table gives per-step means. Timing method:
 * where the device has 'timestamp-query' (nnc's device factory asks for it when the adapter
 * offers it), TF.js's `WebGPUBackend.time` runs each of a kernel's programs in its own compute
 * pass with timestamp writes, so `tf.profile` gives every kernel's time on the device. Without
 * it those times are 0, and the benchmark falls back to replaying each distinct kernel call
 * (name, input shapes and dtypes, attributes, captured by wrapping every registered webgpu
 * kernel during one step) on random inputs, in isolation, timed from submit to
 * `queue.onSubmittedWorkDone()` (`--timing replay` forces it, to compare the two).
 *
 *   npm run build && node dist/bench/webgpu-profile.js [--json] [--models mnist,resnet18]
 *        [--mnist-batch 64] [--resnet-batch 16] [--warmup 2] [--steps N] [--wall-steps N]
 *        [--top 20] [--kernels both|nnc|stock] [--step masked|readback]
 *        [--timing auto|timestamp|replay]
 *
 * On a GPU use e.g. `--mnist-batch 256 --resnet-batch 256 --steps 5 --wall-steps 20`.
 */
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  backendFailure,
  selectBackend,
} from "../src/runtime/backends/select.js";
import { createOptimizer, type Optimizer } from "../src/runtime/optimizers.js";
import { GPU_READ_EVERY } from "../src/runtime/train.js";
import { accuracy, lossFunction } from "../src/runtime/train/ops.js";
import { machineFacts } from "./stats.js";

type ModelKey = "mnist" | "resnet18";
type KernelSet = "nnc" | "stock";
type StepKind = "masked" | "readback";
type Timing = "auto" | "timestamp" | "replay";

interface Options {
  json: boolean;
  models: ModelKey[];
  mnistBatch: number;
  resnetBatch: number;
  warmup: number;
  /** Profiled steps; undefined: the model's default (`DEFAULT_STEPS`). */
  steps?: number;
  /** Steps timed without profiling; undefined: the model's default. */
  wallSteps?: number;
  top: number;
  kernels: KernelSet[];
  step: StepKind;
  timing: Timing;
  /** Set in a child process: the one model and kernel set it measures. */
  child?: ModelKey;
  childKernels?: KernelSet;
}

const MODEL_KEYS: ModelKey[] = ["mnist", "resnet18"];

/** A bad command line: printed without a stack. */
class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    json: false,
    models: [...MODEL_KEYS],
    mnistBatch: 64,
    resnetBatch: 16,
    warmup: 2,
    top: 20,
    kernels: ["stock", "nnc"],
    step: "masked",
    timing: "auto",
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    const count = (min = 1): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min)
        throw new UsageError(`${arg} needs a whole number ≥ ${min}`);
      return n;
    };
    const oneOf = <T extends string>(allowed: readonly T[]): T => {
      const v = value();
      if (!(allowed as readonly string[]).includes(v))
        throw new UsageError(
          `${arg} takes one of ${allowed.join(", ")} (got ${v})`,
        );
      return v as T;
    };
    if (arg === "--json") o.json = true;
    else if (arg === "--models") {
      o.models = value()
        .split(",")
        .map((m) => {
          if (!(MODEL_KEYS as string[]).includes(m))
            throw new UsageError(
              `unknown model ${m}; use ${MODEL_KEYS.join(", ")}`,
            );
          return m as ModelKey;
        });
    } else if (arg === "--mnist-batch") o.mnistBatch = count();
    else if (arg === "--resnet-batch") o.resnetBatch = count();
    else if (arg === "--warmup") o.warmup = count(0);
    else if (arg === "--steps") o.steps = count();
    else if (arg === "--wall-steps") o.wallSteps = count();
    else if (arg === "--top") o.top = count();
    else if (arg === "--kernels") {
      const k = oneOf(["both", "nnc", "stock"] as const);
      o.kernels = k === "both" ? ["stock", "nnc"] : [k];
    } else if (arg === "--step")
      o.step = oneOf(["masked", "readback"] as const);
    else if (arg === "--timing")
      o.timing = oneOf(["auto", "timestamp", "replay"] as const);
    else if (arg === "--child") o.child = oneOf(MODEL_KEYS);
    else if (arg === "--child-kernels")
      o.childKernels = oneOf(["nnc", "stock"] as const);
    else
      throw new UsageError(
        `unknown argument ${arg}; see the comment at the top of bench/webgpu-profile.ts`,
      );
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Models

interface Bench {
  key: ModelKey;
  name: string;
  inputShape: number[];
  classes: number;
  build(): tf.LayersModel;
  /** The spec the model comes from, whose parameter counts (from `nnc build`) it must match. */
  spec?: string;
}

const MNIST_CNN: Bench = {
  key: "mnist",
  name: "MNIST CNN",
  inputShape: [28, 28, 1],
  classes: 10,
  build: () => {
    const input = tf.input({ shape: [28, 28, 1] });
    let h = tf.layers
      .conv2d({
        filters: 32,
        kernelSize: 5,
        padding: "same",
        activation: "relu",
      })
      .apply(input) as tf.SymbolicTensor;
    h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
    h = tf.layers
      .conv2d({
        filters: 64,
        kernelSize: 5,
        padding: "same",
        activation: "relu",
      })
      .apply(h) as tf.SymbolicTensor;
    h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    h = tf.layers
      .dense({ units: 1024, activation: "relu" })
      .apply(h) as tf.SymbolicTensor;
    const output = tf.layers
      .dense({ units: 10, activation: "softmax" })
      .apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: output });
  },
};

/** bench/gpu/resnet18_cifar.nn, layer for layer as nnc's generated code builds it. */
const RESNET18_CIFAR: Bench = {
  key: "resnet18",
  name: "ResNet-18 (CIFAR)",
  inputShape: [32, 32, 3],
  classes: 10,
  spec: "bench/gpu/resnet18_cifar.nn",
  build: () => {
    const conv = (
      x: tf.SymbolicTensor,
      filters: number,
      size: number,
      stride: number,
    ): tf.SymbolicTensor =>
      tf.layers
        .conv2d({
          filters,
          kernelSize: [size, size],
          strides: [stride, stride],
          padding: "same",
          useBias: false,
        })
        .apply(x) as tf.SymbolicTensor;
    const bn = (x: tf.SymbolicTensor): tf.SymbolicTensor =>
      tf.layers
        .batchNormalization({ axis: -1, momentum: 0.99, epsilon: 0.001 })
        .apply(x) as tf.SymbolicTensor;
    const relu = (x: tf.SymbolicTensor): tf.SymbolicTensor =>
      tf.layers
        .activation({ activation: "relu" })
        .apply(x) as tf.SymbolicTensor;
    const basic = (
      x: tf.SymbolicTensor,
      c: number,
      stride: number,
    ): tf.SymbolicTensor => {
      const body = bn(conv(relu(bn(conv(x, c, 3, stride))), c, 3, 1));
      const skip = stride === 1 ? x : bn(conv(x, c, 1, stride));
      return relu(tf.layers.add().apply([body, skip]) as tf.SymbolicTensor);
    };
    const input = tf.input({ shape: [32, 32, 3] });
    let h = relu(bn(conv(input, 64, 3, 1)));
    h = basic(basic(h, 64, 1), 64, 1);
    for (const c of [128, 256, 512]) h = basic(basic(h, c, 2), c, 1);
    h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
    const output = tf.layers
      .dense({ units: 10, activation: "softmax" })
      .apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: output });
  },
};

const BENCHES: Record<ModelKey, Bench> = {
  mnist: MNIST_CNN,
  resnet18: RESNET18_CIFAR,
};
const batchOf = (key: ModelKey, o: Options): number =>
  key === "mnist" ? o.mnistBatch : o.resnetBatch;

/**
 * Timed and profiled steps per model unless `--wall-steps` / `--steps` say: on lavapipe (2
 * cores) a ResNet-18 step at batch 16 takes 20–30 s, so it gets one of each and the defaults
 * stay under about 5 minutes; the MNIST CNN's 2–3 s steps get more.
 */
const DEFAULT_STEPS: Record<ModelKey, { wallSteps: number; steps: number }> = {
  mnist: { wallSteps: 3, steps: 2 },
  resnet18: { wallSteps: 1, steps: 1 },
};
const stepsOf = (
  key: ModelKey,
  o: Options,
): { wallSteps: number; steps: number } => ({
  wallSteps: o.wallSteps ?? DEFAULT_STEPS[key].wallSteps,
  steps: o.steps ?? DEFAULT_STEPS[key].steps,
});

// ---------------------------------------------------------------------------------------------
// The training step (src/runtime/train.ts's `deferredStep` and `step`)

interface Trainer {
  /** One step; its work is queued on the device (masked) or finished (readback). */
  step(): Promise<void>;
  /** Waits for every queued step: reads back their numbers, as train.ts's `readBack`. */
  finish(): Promise<void>;
  /** The host's time in masked steps so far, read-backs excluded (0 for readback steps). */
  hostMs(): number;
  dispose(): void;
}

function trainer(
  model: tf.LayersModel,
  bench: Bench,
  batch: number,
  kind: StepKind,
): Trainer {
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const vars: Record<string, tf.Variable> = Object.fromEntries(
    trainable.map((v) => [v.name, v]),
  );
  const optimizer: Optimizer = createOptimizer(
    { name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
    1e-3,
  );
  const lossFn = lossFunction("crossentropy", bench.classes);
  const x = tf.randomUniform([batch, ...bench.inputShape]);
  const y = tf.tidy(() =>
    tf
      .oneHot(
        tf.randomUniform([batch], 0, bench.classes, "int32"),
        bench.classes,
      )
      .toFloat(),
  );
  let pending: tf.Tensor[] = [];
  let healthy: tf.Tensor | undefined;
  let previous: tf.Tensor[] = [];

  const forward = (): {
    value: tf.Scalar;
    grads: tf.NamedTensorMap;
    acc: tf.Scalar;
  } => {
    let acc: tf.Scalar | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const pred = model.apply(x, { training: true }) as tf.Tensor;
      acc = tf.keep(accuracy(y, pred, bench.classes, "crossentropy"));
      return lossFn(y, pred);
    }, trainable);
    return { value, grads, acc: acc! };
  };

  const masked = async (): Promise<void> => {
    const { grads, numbers, ok } = tf.tidy(() => {
      const { value, grads, acc } = forward();
      const sums = Object.values(grads).map((g) => g.sum());
      const numbers = tf.concat([
        tf.stack([value, acc]),
        ...(sums.length > 0 ? [tf.stack(sums)] : []),
      ]);
      acc.dispose();
      const finite = tf.all(tf.isFinite(numbers));
      const ok = healthy ? tf.logicalAnd(healthy, finite) : finite;
      return { grads, numbers, ok };
    });
    const applied = tf.tidy(() => optimizer.applyGradients(vars, grads, ok))!;
    tf.dispose([...Object.values(grads), ok]);
    const row = tf.tidy(() =>
      tf.concat([
        numbers.slice(0, 2),
        applied.cast("float32").reshape([1]),
        numbers.slice(2),
      ]),
    );
    numbers.dispose();
    healthy?.dispose();
    healthy = applied;
    pending.push(row);
  };

  const readback = async (): Promise<void> => {
    const out = tf.tidy(() => {
      const { value, grads, acc } = forward();
      const sums = Object.values(grads).map((g) => g.sum());
      const gradSum =
        sums.length === 0
          ? tf.scalar(0)
          : sums.length === 1
            ? sums[0]!
            : tf.addN(sums);
      const readout = tf.stack([value, acc, gradSum]);
      acc.dispose();
      return { grads, readout };
    });
    const [l, , g] = await out.readout.data();
    out.readout.dispose();
    if (!Number.isFinite(l!) || !Number.isFinite(g!))
      throw new Error(
        `the loss or a gradient is not finite (loss ${l}, Σ gradients ${g})`,
      );
    tf.tidy(() => optimizer.applyGradients(vars, out.grads));
    // As train.ts: a step's gradients live until the next step's.
    tf.dispose(previous);
    previous = Object.values(out.grads);
  };

  const finish = async (): Promise<void> => {
    if (pending.length === 0) return;
    const rows = pending.length;
    const all = tf.concat(pending);
    tf.dispose(pending);
    pending = [];
    const values = await all.data();
    all.dispose();
    // As train.ts's readBack: each row is [loss, accuracy, applied, Σ each gradient …].
    const width = values.length / rows;
    for (let i = 0; i < rows; i++) {
      if (values[i * width + 2] !== 1)
        throw new Error(
          `a step's update was masked (loss ${values[i * width]}): the loss or a gradient was not finite`,
        );
    }
  };

  let hostMs = 0;
  return {
    // As train.ts: read back every GPU_READ_EVERY masked steps (and at `finish`).
    step:
      kind === "masked"
        ? async () => {
            const started = performance.now();
            await masked(); // (no await inside: the time it takes is the host's, enqueuing the step's kernels)
            hostMs += performance.now() - started;
            if (pending.length >= GPU_READ_EVERY) await finish();
          }
        : readback,
    finish,
    hostMs: () => hostMs,
    dispose: () => {
      tf.dispose([
        x,
        y,
        ...pending,
        ...previous,
        ...(healthy ? [healthy] : []),
      ]);
      optimizer.dispose();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Profiles

/** One kernel call as the table counts it: a kernel name and its input shapes. */
interface KernelRow {
  kernel: string;
  /** Input shapes, abbreviated (absent optional inputs, such as a conv's bias, left out). */
  inputs: string;
  /** The WebGPU programs the kernel ran (from TF.js's profile), with how often each ran per call. */
  programs: string;
  /** Calls per step. */
  count: number;
  /** Device time per step, ms (all its calls). */
  ms: number;
  /** Share of the sum of every kernel's time. */
  share: number;
}

function dims(shape: number[] | null | undefined): string {
  if (shape == null) return "—";
  return shape.length === 0 ? "()" : shape.join("x");
}

/** Input shapes, short: identical ones as `62× ()`, and at most three listed. */
export function shapesText(shapes: (number[] | null | undefined)[]): string {
  const parts = shapes.map(dims);
  if (parts.length > 2 && parts.every((p) => p === parts[0]))
    return `${parts.length}× ${parts[0]}`;
  if (parts.length > 3)
    return `${parts.slice(0, 3).join(", ")} +${parts.length - 3}`;
  return parts.join(", ");
}

interface Call {
  kernel: string;
  shapes: (number[] | null)[];
  ms: number;
  programs: string[];
}

/** Program names from TF.js's `extraInfo` ("Conv2DMMProgram: 1.2, ReduceProgram: 0.1"). */
function programNames(extra: unknown): string[] {
  if (typeof extra !== "string" || extra.trim() === "") return [];
  return extra
    .split(", ")
    .map((p) => p.replace(/:\s*[-\d.e+]*$/, "").trim())
    .filter((p) => p !== "");
}

function aggregate(
  calls: Call[],
  steps: number,
): { rows: KernelRow[]; totalMs: number } {
  const groups = new Map<
    string,
    {
      kernel: string;
      shapes: (number[] | null)[];
      n: number;
      ms: number;
      programs: Map<string, number>;
    }
  >();
  for (const c of calls) {
    const key = `${c.kernel}|${JSON.stringify(c.shapes)}`;
    let g = groups.get(key);
    if (!g)
      groups.set(
        key,
        (g = {
          kernel: c.kernel,
          shapes: c.shapes,
          n: 0,
          ms: 0,
          programs: new Map(),
        }),
      );
    g.n++;
    g.ms += Number.isFinite(c.ms) ? c.ms : 0;
    for (const p of c.programs) g.programs.set(p, (g.programs.get(p) ?? 0) + 1);
  }
  const totalMs = [...groups.values()].reduce((s, g) => s + g.ms, 0) / steps;
  const rows = [...groups.values()]
    .map((g): KernelRow => {
      const programs = [...g.programs]
        .map(([p, n]) =>
          n === g.n ? p : `${p}×${(n / g.n).toFixed(n % g.n === 0 ? 0 : 1)}`,
        )
        .join("+");
      const ms = g.ms / steps;
      return {
        kernel: g.kernel,
        inputs: shapesText(g.shapes),
        programs,
        count: g.n / steps,
        ms,
        share: totalMs > 0 ? ms / totalMs : 0,
      };
    })
    .sort((a, b) => b.ms - a.ms || b.count - a.count);
  return { rows, totalMs };
}

// ---------------------------------------------------------------------------------------------
// The replay fallback (no timestamp queries): each distinct kernel call, in isolation

interface WebGpuBackendLike {
  device: {
    queue: { onSubmittedWorkDone(): Promise<void> };
    features: { has(name: string): boolean };
  };
  supportTimestampQuery?: boolean;
  commandEncoder?: unknown;
  endComputePassEncoder?(): void;
  submitQueue?(): void;
}

interface CapturedCall {
  kernel: string;
  inputs: { key: string; shape: number[]; dtype: tf.DataType }[];
  array: boolean;
  attrs: tf.NamedAttrMap;
}

/** Runs `during` with every registered webgpu kernel wrapped to record its calls; puts the kernels back after. */
async function captureCalls(
  during: () => Promise<void>,
): Promise<CapturedCall[]> {
  const calls: CapturedCall[] = [];
  const originals = tf.getKernelsForBackend("webgpu");
  for (const config of originals) {
    const inner = config.kernelFunc;
    const kernelFunc: tf.KernelFunc = (args) => {
      const inputs = args.inputs as unknown as
        Record<string, tf.TensorInfo> | tf.TensorInfo[];
      const entries = Object.entries(inputs).filter(
        (e): e is [string, tf.TensorInfo] => e[1] != null,
      );
      calls.push({
        kernel: config.kernelName,
        inputs: entries.map(([key, t]) => ({
          key,
          shape: [...t.shape],
          dtype: t.dtype,
        })),
        array: Array.isArray(inputs),
        attrs: { ...(args.attrs ?? {}) },
      });
      return inner(args);
    };
    tf.unregisterKernel(config.kernelName, "webgpu");
    tf.registerKernel({ ...config, kernelFunc });
  }
  try {
    await during();
  } finally {
    for (const config of originals) {
      tf.unregisterKernel(config.kernelName, "webgpu");
      tf.registerKernel(config);
    }
  }
  return calls;
}

async function deviceIdle(backend: WebGpuBackendLike): Promise<void> {
  // What TF.js's own read-backs do first: end the open compute pass, submit what is encoded.
  if (backend.commandEncoder != null) {
    backend.endComputePassEncoder?.();
    backend.submitQueue?.();
  }
  await backend.device.queue.onSubmittedWorkDone();
}

/** Times each distinct captured call on random inputs; gives the calls with their times (NaN: could not be replayed). */
async function replayCalls(
  calls: CapturedCall[],
  backend: WebGpuBackendLike,
  progress: (line: string) => void,
): Promise<{ calls: Call[]; failed: string[] }> {
  const timed = new Map<string, number>();
  const failed = new Set<string>();
  const keyOf = (c: CapturedCall): string =>
    `${c.kernel}|${JSON.stringify(c.inputs)}|${JSON.stringify(c.attrs)}`;
  const distinct = new Map<string, CapturedCall>();
  for (const c of calls) if (!distinct.has(keyOf(c))) distinct.set(keyOf(c), c);
  progress(`  replaying ${distinct.size} distinct kernel calls …`);
  for (const [key, c] of distinct) {
    const made = c.inputs.map((i) =>
      i.dtype === "float32"
        ? tf.randomUniform(i.shape, 0.1, 1)
        : tf.zeros(i.shape, i.dtype),
    );
    const inputs = (c.array
      ? made
      : Object.fromEntries(
          c.inputs.map((i, j) => [i.key, made[j]!]),
        )) as unknown as tf.NamedTensorMap;
    const once = (): void => {
      const out = tf.engine().runKernel(c.kernel, inputs, c.attrs) as
        tf.Tensor | tf.Tensor[];
      tf.dispose(out);
    };
    try {
      await deviceIdle(backend);
      let started = performance.now();
      once();
      await deviceIdle(backend);
      const first = performance.now() - started;
      const reps = Math.max(
        1,
        Math.min(10, Math.ceil(20 / Math.max(first, 0.01))),
      );
      started = performance.now();
      for (let r = 0; r < reps; r++) once();
      await deviceIdle(backend);
      timed.set(key, (performance.now() - started) / reps);
    } catch (e) {
      failed.add(
        `${c.kernel} (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`,
      );
      timed.set(key, Number.NaN);
    } finally {
      tf.dispose(made);
    }
  }
  return {
    calls: calls.map((c) => ({
      kernel: c.kernel,
      shapes: c.inputs.map((i) => i.shape),
      ms: timed.get(keyOf(c)) ?? Number.NaN,
      programs: [],
    })),
    failed: [...failed],
  };
}

// ---------------------------------------------------------------------------------------------
// One model and kernel set, in a child process

interface ChildResult {
  model: ModelKey;
  name: string;
  kernels: KernelSet;
  batch: number;
  step: StepKind;
  adapter: string;
  /** The webgpu kernels nnc registered in this process. */
  nncKernels: string[];
  timing: string;
  params: { trainable: number; total: number };
  /** hostMsPerStep: the host's (JavaScript's) time to enqueue a masked step; undefined for readback steps. */
  wall: { steps: number; msPerStep: number; hostMsPerStep?: number };
  profiled: { steps: number; wallMsPerStep: number };
  kernelMsPerStep: number;
  kernelCallsPerStep: number;
  rows: KernelRow[];
  replayFailures?: string[];
  webgpuErrors?: string;
}

async function runChild(o: Options): Promise<void> {
  tf.enableProdMode();
  const bench = BENCHES[o.child!];
  const batch = batchOf(bench.key, o);
  const { wallSteps, steps } = stepsOf(bench.key, o);
  const notes: string[] = [];
  const progress = (line: string): void =>
    void process.stderr.write(line + "\n");
  await selectBackend("webgpu", (line) => notes.push(line), {
    needsConvGradients: true,
  });
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const adapter =
    notes
      .find((n) => n.startsWith("webgpu adapter:"))
      ?.slice("webgpu adapter: ".length) ?? "unknown";
  const nncKernels = tf
    .getKernelsForBackend("webgpu")
    .filter((k) => (k.kernelFunc as { nnc?: boolean }).nnc === true)
    .map((k) => k.kernelName)
    .sort();
  const timestamps = backend.supportTimestampQuery === true;
  if (o.timing === "timestamp" && !timestamps)
    throw new Error(
      "--timing timestamp: this WebGPU device has no 'timestamp-query' feature",
    );
  const replay = o.timing === "replay" || (o.timing === "auto" && !timestamps);

  const model = bench.build();
  const params = {
    trainable: model.trainableWeights.reduce(
      (s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1),
      0,
    ),
    total: model.countParams(),
  };
  const t = trainer(model, bench, batch, o.step);
  const label = `${bench.name}, batch ${batch}, ${o.childKernels} kernels`;

  progress(`${label}: ${o.warmup} warm-up steps …`);
  for (let i = 0; i < o.warmup; i++) {
    await t.step();
    await t.finish();
  }
  progress(`${label}: ${wallSteps} timed step${wallSteps > 1 ? "s" : ""} …`);
  let started = performance.now();
  const hostBefore = t.hostMs();
  for (let i = 0; i < wallSteps; i++) await t.step();
  const hostMs = (t.hostMs() - hostBefore) / wallSteps;
  await t.finish();
  const wallMs = (performance.now() - started) / wallSteps;
  progress(
    `${label}: ${wallMs.toFixed(0)} ms a step; ${steps} profiled step${steps > 1 ? "s" : ""} (${replay ? "replay" : "timestamp queries"}) …`,
  );

  let calls: Call[] = [];
  let replayFailures: string[] | undefined;
  started = performance.now();
  if (!replay) {
    for (let i = 0; i < steps; i++) {
      const info = await tf.profile(async () => {
        await t.step();
        await t.finish();
      });
      for (const k of info.kernels) {
        const ms =
          typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : Number.NaN;
        calls.push({
          kernel: k.name,
          shapes: k.inputShapes.filter((s) => s != null).map((s) => [...s]),
          ms,
          programs: programNames(k.extraInfo),
        });
      }
    }
  } else {
    const captured: CapturedCall[] = [];
    for (let i = 0; i < steps; i++) {
      captured.push(
        ...(await captureCalls(async () => {
          await t.step();
          await t.finish();
        })),
      );
    }
    const replayed = await replayCalls(captured, backend, progress);
    calls = replayed.calls;
    replayFailures = replayed.failed;
  }
  const profiledMs = (performance.now() - started) / steps;
  const { rows, totalMs } = aggregate(calls, steps);
  const failure = backendFailure();
  t.dispose();
  model.dispose();

  const result: ChildResult = {
    model: bench.key,
    name: bench.name,
    kernels: o.childKernels!,
    batch,
    step: o.step,
    adapter,
    nncKernels,
    timing: replay
      ? `replay: each distinct kernel call captured in the profiled steps, run again alone on random inputs and timed from submit to queue.onSubmittedWorkDone() (wall clock, launch overhead included)${timestamps ? "; forced by --timing replay" : "; the device has no 'timestamp-query'"}`
      : "GPU timestamp queries: tf.profile → WebGPUBackend.time, each of a kernel's programs in its own compute pass with timestampWrites (device time; kernels without a program show 0)",
    params,
    wall: { steps: wallSteps, msPerStep: wallMs, ...(o.step === "masked" ? { hostMsPerStep: hostMs } : {}) },
    profiled: { steps: steps, wallMsPerStep: profiledMs },
    kernelMsPerStep: totalMs,
    kernelCallsPerStep: calls.length / steps,
    rows,
    ...(replayFailures && replayFailures.length > 0 ? { replayFailures } : {}),
    ...(failure !== undefined ? { webgpuErrors: failure } : {}),
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

// ---------------------------------------------------------------------------------------------
// The parent: one child per model and kernel set, then the tables

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, "..", "..");

/** What `nnc build` of `spec` says of the model's parameters, or why it could not be asked. */
function specParams(
  spec: string,
): { trainable: number; total: number } | string {
  const cli = join(repoRoot, "dist", "nnc.mjs");
  if (!existsSync(cli)) return "dist/nnc.mjs is missing (npm run build)";
  const dir = mkdtempSync(join(tmpdir(), "nnc-webgpu-profile-"));
  try {
    const r = spawnSync(
      process.execPath,
      [cli, "build", join(repoRoot, spec), "-o", dir],
      { encoding: "utf8" },
    );
    if (r.status !== 0)
      return `nnc build failed: ${(r.stderr || r.stdout).trim().split("\n")[0]}`;
    const file = readdirSync(dir).find((f) => f.endsWith(".ts"));
    const text = file ? readFileSync(join(dir, file), "utf8") : "";
    const trainable = /trainableParameters:\s*(\d+)/.exec(text)?.[1];
    const total = /\bparameters:\s*(\d+)/.exec(text)?.[1];
    if (trainable === undefined || total === undefined)
      return "nnc build's module does not state the parameter counts";
    return { trainable: Number(trainable), total: Number(total) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  return ms >= 100
    ? Math.round(ms).toLocaleString("en-US")
    : ms.toFixed(ms >= 10 ? 1 : 2);
}
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const clip = (s: string, n: number): string =>
  s.length <= n ? s : s.slice(0, n - 1) + "…";

function table(r: ChildResult, top: number): string[] {
  const out: string[] = [];
  const head = `${"#".padStart(3)}  ${"kernel".padEnd(22)} ${"inputs".padEnd(34)} ${"calls".padStart(5)} ${"ms/step".padStart(9)} ${"share".padStart(6)} ${"cum.".padStart(6)}  programs`;
  out.push(head);
  out.push("─".repeat(head.length + 10));
  let cum = 0;
  for (const [i, row] of r.rows.slice(0, top).entries()) {
    cum += row.share;
    const calls = Number.isInteger(row.count)
      ? String(row.count)
      : row.count.toFixed(1);
    out.push(
      `${String(i + 1).padStart(3)}  ${clip(row.kernel, 22).padEnd(22)} ${clip(row.inputs, 34).padEnd(34)} ${calls.padStart(5)} ${fmtMs(row.ms).padStart(9)} ${pct(row.share).padStart(6)} ${pct(cum).padStart(6)}  ${row.programs}`,
    );
  }
  const rest = r.rows.slice(top);
  if (rest.length > 0) {
    const ms = rest.reduce((s, x) => s + x.ms, 0);
    const calls = rest.reduce((s, x) => s + x.count, 0);
    out.push(
      `${"".padStart(3)}  ${`the other ${rest.length}`.padEnd(22)} ${"".padEnd(34)} ${String(Math.round(calls)).padStart(5)} ${fmtMs(ms).padStart(9)} ${pct(r.kernelMsPerStep > 0 ? ms / r.kernelMsPerStep : 0).padStart(6)}`,
    );
  }
  out.push(
    `${"".padStart(3)}  ${"all kernels".padEnd(22)} ${"".padEnd(34)} ${String(Math.round(r.kernelCallsPerStep)).padStart(5)} ${fmtMs(r.kernelMsPerStep).padStart(9)}`,
  );
  return out;
}

/** Kernel time per step by kernel name, summed over shapes. */
function byName(r: ChildResult): Map<string, { ms: number; count: number }> {
  const m = new Map<string, { ms: number; count: number }>();
  for (const row of r.rows) {
    const e = m.get(row.kernel) ?? { ms: 0, count: 0 };
    e.ms += row.ms;
    e.count += row.count;
    m.set(row.kernel, e);
  }
  return m;
}

function machine(): Record<string, string | number> {
  return {
    ...machineFacts(),
    loadAverageAtStart: loadavg()
      .map((x) => x.toFixed(2))
      .join(" "),
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.child !== undefined) return runChild(o);
  const progress = (line: string): void =>
    void process.stderr.write(line + "\n");
  const started = performance.now();
  const info = machine();
  const passOn = [
    "--mnist-batch",
    String(o.mnistBatch),
    "--resnet-batch",
    String(o.resnetBatch),
    "--warmup",
    String(o.warmup),
    "--step",
    o.step,
    "--timing",
    o.timing,
  ];
  if (o.steps !== undefined) passOn.push("--steps", String(o.steps));
  if (o.wallSteps !== undefined)
    passOn.push("--wall-steps", String(o.wallSteps));

  const specs: Record<string, { trainable: number; total: number } | string> =
    {};
  for (const key of o.models) {
    const spec = BENCHES[key].spec;
    if (spec !== undefined) specs[key] = specParams(spec);
  }

  const results: ChildResult[] = [];
  const failed: string[] = [];
  for (const key of o.models) {
    for (const kernels of o.kernels) {
      progress(`— ${BENCHES[key].name}, ${kernels} kernels —`);
      const env = { ...process.env };
      if (kernels === "stock") env["NNC_WEBGPU_KERNELS"] = "stock";
      else delete env["NNC_WEBGPU_KERNELS"];
      const child = spawnSync(
        process.execPath,
        [
          fileURLToPath(import.meta.url),
          "--child",
          key,
          "--child-kernels",
          kernels,
          ...passOn,
        ],
        {
          encoding: "utf8",
          env,
          stdio: ["ignore", "pipe", "inherit"],
          maxBuffer: 1 << 26,
        },
      );
      const last = child.stdout.trim().split("\n").at(-1) ?? "";
      let parsed: ChildResult | undefined;
      try {
        parsed = JSON.parse(last) as ChildResult;
      } catch {
        parsed = undefined;
      }
      if (child.status !== 0 || parsed === undefined) {
        failed.push(
          `${BENCHES[key].name}, ${kernels} kernels: the profiling process failed (exit ${child.status ?? child.signal})`,
        );
        progress(failed.at(-1)!);
        continue;
      }
      const spec = specs[key];
      if (
        typeof spec === "object" &&
        (spec.trainable !== parsed.params.trainable ||
          spec.total !== parsed.params.total)
      ) {
        throw new Error(
          `${parsed.name}: the benchmark's model has ${parsed.params.trainable} trainable / ${parsed.params.total} parameters, but nnc build of ${BENCHES[key].spec} gives ${spec.trainable} / ${spec.total}`,
        );
      }
      results.push(parsed);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const report = {
    machine: {
      ...info,
      loadAverageAtEnd: loadavg()
        .map((x) => x.toFixed(2))
        .join(" "),
    },
    options: {
      models: o.models,
      mnistBatch: o.mnistBatch,
      resnetBatch: o.resnetBatch,
      warmup: o.warmup,
      steps: Object.fromEntries(o.models.map((k) => [k, stepsOf(k, o)])),
      step: o.step,
      timing: o.timing,
    },
    specs,
    seconds,
    failed,
    results,
  };
  if (o.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    return;
  }

  const out: string[] = [];
  const m: Record<string, string | number> = report.machine;
  out.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, tfjs ${m.tfjs}; load average (1, 5, 15 min) ${m.loadAverageAtStart} at start, ${m.loadAverageAtEnd} at end (the end's includes this benchmark's own work: on a software adapter, about as many as the cores)`,
  );
  const first = results[0];
  if (first) {
    out.push(`Adapter: ${first.adapter}`);
    out.push(`Timing: ${first.timing}`);
  }
  out.push(
    `Step: ${o.step === "masked" ? `masked update, numbers read back every ${GPU_READ_EVERY} steps and after the timed ones (train.ts deferredStep: nnc train on webgpu)` : "read-back before each update (train.ts step)"}; adam; ${o.warmup} warm-up steps, then ${o.models.map((k) => `${BENCHES[k].name}: ${stepsOf(k, o).wallSteps} timed, ${stepsOf(k, o).steps} profiled`).join("; ")}`,
  );
  for (const [key, spec] of Object.entries(specs))
    out.push(
      `${BENCHES[key as ModelKey].name}: parameters ${typeof spec === "string" ? `not checked against the spec (${spec})` : `${spec.trainable.toLocaleString("en-US")} trainable, ${spec.total.toLocaleString("en-US")} in all, as nnc build of ${BENCHES[key as ModelKey].spec} gives`}`,
    );
  for (const r of results) {
    out.push("");
    out.push(
      `== ${r.name}, batch ${r.batch}, ${r.kernels === "stock" ? "TF.js's stock kernels (NNC_WEBGPU_KERNELS=stock)" : "nnc's kernels"}; nnc kernels registered: ${r.nncKernels.join(", ") || "none"} ==`,
    );
    out.push(
      `step wall time (not profiled, ${r.wall.steps} step${r.wall.steps > 1 ? "s" : ""}): ${fmtMs(r.wall.msPerStep)} ms${r.wall.hostMsPerStep !== undefined ? ` (the host's JavaScript enqueuing it: ${fmtMs(r.wall.hostMsPerStep)} ms; near the wall time, the step is bound by kernel launches, not by the device)` : ""}; profiled step: ${fmtMs(r.profiled.wallMsPerStep)} ms; kernel time: ${fmtMs(r.kernelMsPerStep)} ms a step (${pct(r.kernelMsPerStep / r.wall.msPerStep)} of the wall time) in ${Math.round(r.kernelCallsPerStep)} kernel calls; share: of all kernels' time`,
    );
    if (r.webgpuErrors) out.push(`WebGPU errors: ${r.webgpuErrors}`);
    if (r.replayFailures)
      out.push(`not replayed: ${r.replayFailures.join("; ")}`);
    out.push(...table(r, o.top));
  }
  // Each model's two kernel sets, by kernel name, where they differ.
  for (const key of o.models) {
    const stock = results.find((r) => r.model === key && r.kernels === "stock");
    const nnc = results.find((r) => r.model === key && r.kernels === "nnc");
    if (!stock || !nnc) continue;
    const a = byName(stock);
    const b = byName(nnc);
    const names = [...new Set([...a.keys(), ...b.keys()])]
      .map((n) => ({ n, s: a.get(n)?.ms ?? 0, x: b.get(n)?.ms ?? 0 }))
      .sort((p, q) => Math.abs(q.s - q.x) - Math.abs(p.s - p.x));
    out.push("");
    out.push(
      `== ${stock.name}: stock → nnc kernels: step ${fmtMs(stock.wall.msPerStep)} → ${fmtMs(nnc.wall.msPerStep)} ms (×${(stock.wall.msPerStep / nnc.wall.msPerStep).toFixed(2)}), kernel time ${fmtMs(stock.kernelMsPerStep)} → ${fmtMs(nnc.kernelMsPerStep)} ms${stock.wall.hostMsPerStep !== undefined && nnc.wall.hostMsPerStep !== undefined ? `, host (JavaScript) ${fmtMs(stock.wall.hostMsPerStep)} → ${fmtMs(nnc.wall.hostMsPerStep)} ms` : ""} ==`,
    );
    out.push(
      `${"kernel".padEnd(24)} ${"stock ms".padStart(9)} ${"nnc ms".padStart(9)} ${"change".padStart(8)}`,
    );
    for (const { n, s, x } of names.slice(0, 8))
      out.push(
        `${clip(n, 24).padEnd(24)} ${fmtMs(s).padStart(9)} ${fmtMs(x).padStart(9)} ${(s > 0 ? `${x >= s ? "+" : ""}${(100 * (x / s - 1)).toFixed(0)}%` : "new").padStart(8)}`,
      );
  }
  for (const f of failed) out.push(`FAILED: ${f}`);
  out.push("");
  out.push(`whole benchmark: ${seconds.toFixed(0)} s`);
  process.stdout.write(out.join("\n") + "\n");
}

main().catch((e: unknown) => {
  process.stderr.write(
    `${e instanceof UsageError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});
