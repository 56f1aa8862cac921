/**
 * Training and inference speed on TensorFlow.js's `cpu` and `wasm` backends, side by side in
 * one run, for two models:
 *
 * - the MNIST CNN: 28x28x1 → conv 5x5x32 same relu → max pool 2 → conv 5x5x64 same relu →
 *   max pool 2 → flatten → dense 1024 relu → dense 10 softmax; batch 64;
 * - the BLOCK MLP: 10 → 5 × dense 100 tanh → dense 1 sigmoid; batch 32.
 *
 * A training step is what `train()` in src/runtime/train.ts does per batch: the loss and its
 * gradients with `tf.variableGrads`, one update of the runtime's adam, and the loss read back.
 * Inference is `model.apply(x, { training: false })` read back. Inputs are random; the
 * backend is chosen with the runtime's `selectBackend`, so wasm has the training kernels of
 * src/runtime/wasm-kernels.ts. Target: wasm trains ≥ 10× faster than cpu.
 *
 *   npm run build && node dist/bench/train-speed.js [--json] [--cpu-cnn-steps N] [--steps N]
 *
 * The cpu backend takes about a second per CNN training sample, so there the CNN gets no
 * warm-up and `--cpu-cnn-steps` (1) timed training steps on a batch of `--cpu-cnn-batch` (16:
 * its time is almost all per-sample convolution work, so samples/s hardly depends on the
 * batch), then one warm-up and 3 × `--cpu-cnn-steps` timed inference batches of 64. Everything
 * else gets warm-up batches, then `--steps` (10) timed batches of the CNN and 20 × `--steps`
 * of the MLP per phase.
 */
import * as tf from "@tensorflow/tfjs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { selectBackend, type BackendKind } from "../src/runtime/backend.js";
import { createOptimizer } from "../src/runtime/optimizers.js";

interface Options {
  json: boolean;
  /** Timed CNN batches (training and inference) on cpu. */
  cpuCnnSteps: number;
  /** The batch size of the CNN's timed training steps on cpu. */
  cpuCnnBatch: number;
  /** Timed batches everywhere else, as a multiple of each model's scale. */
  steps: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { json: false, cpuCnnSteps: 1, cpuCnnBatch: 16, steps: 10 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const count = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${arg} needs a whole number ≥ 1`);
      return n;
    };
    if (arg === "--json") options.json = true;
    else if (arg === "--cpu-cnn-steps") options.cpuCnnSteps = count();
    else if (arg === "--cpu-cnn-batch") options.cpuCnnBatch = count();
    else if (arg === "--steps") options.steps = count();
    else throw new Error(`unknown argument ${arg}; use --json, --cpu-cnn-steps N, --cpu-cnn-batch N, --steps N`);
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// Models

interface Bench {
  name: string;
  batch: number;
  /** Timed batches per phase and backend, as a multiple of `--steps`. */
  stepsScale: number;
  inputShape: number[];
  build(): tf.LayersModel;
  /** Targets for a batch. */
  targets(n: number): tf.Tensor;
  loss(y: tf.Tensor, p: tf.Tensor): tf.Scalar;
}

const MNIST_CNN: Bench = {
  name: "MNIST CNN",
  batch: 64,
  stepsScale: 1,
  inputShape: [28, 28, 1],
  build: () => {
    const input = tf.input({ shape: [28, 28, 1] });
    let h = tf.layers.conv2d({ filters: 32, kernelSize: 5, padding: "same", activation: "relu" }).apply(input) as tf.SymbolicTensor;
    h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.conv2d({ filters: 64, kernelSize: 5, padding: "same", activation: "relu" }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    h = tf.layers.dense({ units: 1024, activation: "relu" }).apply(h) as tf.SymbolicTensor;
    const output = tf.layers.dense({ units: 10, activation: "softmax" }).apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: output });
  },
  targets: (n) => tf.oneHot(tf.randomUniform([n], 0, 10, "int32"), 10).toFloat(),
  loss: (y, p) => tf.metrics.categoricalCrossentropy(y, p).mean() as tf.Scalar,
};

const BLOCK_MLP: Bench = {
  name: "BLOCK MLP",
  batch: 32,
  stepsScale: 20,
  inputShape: [10],
  build: () => {
    const input = tf.input({ shape: [10] });
    let h = input;
    for (let i = 0; i < 5; i++) h = tf.layers.dense({ units: 100, activation: "tanh", kernelInitializer: "glorotNormal" }).apply(h) as tf.SymbolicTensor;
    const output = tf.layers.dense({ units: 1, activation: "sigmoid" }).apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: output });
  },
  targets: (n) => tf.randomUniform([n, 1]).greater(0.5).toFloat(),
  loss: (y, p) => tf.metrics.binaryCrossentropy(y, p).mean() as tf.Scalar,
};

// ---------------------------------------------------------------------------------------------
// Timing

/** Samples per second of `steps` timed calls of `step` on batches of `batch`. */
async function samplesPerSecond(step: () => Promise<void>, steps: number, batch: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < steps; i++) await step();
  return (steps * batch) / ((performance.now() - started) / 1000);
}

interface Measured {
  train: number;
  infer: number;
  /** The batch size of the timed training steps. */
  trainBatch: number;
}

/** How many batches each phase gets: untimed warm-up ones first, then timed ones. */
interface Plan {
  trainBatch: number;
  trainWarmup: number;
  trainSteps: number;
  inferWarmup: number;
  inferSteps: number;
}

async function measure(bench: Bench, plan: Plan): Promise<Measured> {
  const model = bench.build();
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const vars: Record<string, tf.Variable> = Object.fromEntries(trainable.map((v) => [v.name, v]));
  const optimizer = createOptimizer({ name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } }, 1e-3);
  const data = (n: number): { x: tf.Tensor; y: tf.Tensor } => ({ x: tf.randomUniform([n, ...bench.inputShape]), y: bench.targets(n) });
  const trainData = data(plan.trainBatch);
  const inferData = data(bench.batch);

  const trainStep = async (): Promise<void> => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => bench.loss(trainData.y, model.apply(trainData.x, { training: true }) as tf.Tensor), trainable);
      optimizer.applyGradients(vars, grads);
      return value;
    });
    await loss.data();
    loss.dispose();
  };
  const inferStep = async (): Promise<void> => {
    const p = tf.tidy(() => model.apply(inferData.x, { training: false }) as tf.Tensor);
    await p.data();
    p.dispose();
  };

  for (let i = 0; i < plan.trainWarmup; i++) await trainStep();
  const train = await samplesPerSecond(trainStep, plan.trainSteps, plan.trainBatch);
  for (let i = 0; i < plan.inferWarmup; i++) await inferStep();
  const infer = await samplesPerSecond(inferStep, plan.inferSteps, bench.batch);

  optimizer.dispose();
  model.dispose();
  tf.dispose([trainData.x, trainData.y, inferData.x, inferData.y]);
  return { train, infer, trainBatch: plan.trainBatch };
}

// ---------------------------------------------------------------------------------------------

function machine(): Record<string, string | number> {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    tfjs: tf.version_core,
    loadAverage1mAtStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}

function fmt(x: number): string {
  return x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(x >= 10 ? 1 : 2);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const progress = (line: string): void => void process.stderr.write(line + "\n");
  const started = performance.now();
  const info = machine();
  tf.enableProdMode();

  const results: Record<string, Record<BackendKind, Measured>> = {};
  for (const bench of [BLOCK_MLP, MNIST_CNN]) {
    const row: Partial<Record<BackendKind, Measured>> = {};
    for (const backend of ["wasm", "cpu"] as const) {
      await selectBackend(backend, () => undefined, { needsConvGradients: true });
      const slowCpu = backend === "cpu" && bench === MNIST_CNN;
      progress(`${bench.name} on ${backend}${slowCpu ? ` (about a second per sample on cpu)` : ""} …`);
      const steps = options.steps * bench.stepsScale;
      row[backend] = await measure(
        bench,
        slowCpu
          ? { trainBatch: options.cpuCnnBatch, trainWarmup: 0, trainSteps: options.cpuCnnSteps, inferWarmup: 1, inferSteps: 3 * options.cpuCnnSteps }
          : { trainBatch: bench.batch, trainWarmup: backend === "wasm" ? 3 : 1, trainSteps: steps, inferWarmup: 3, inferSteps: steps },
      );
    }
    results[bench.name] = row as Record<BackendKind, Measured>;
  }
  const seconds = (performance.now() - started) / 1000;

  const rows = [BLOCK_MLP, MNIST_CNN].flatMap((bench) =>
    (["train", "infer"] as const).map((phase) => {
      const r = results[bench.name]!;
      const cpuBatch = phase === "train" ? r.cpu.trainBatch : bench.batch;
      return { model: bench.name, phase, batch: bench.batch, cpuBatch, cpu: r.cpu[phase], wasm: r.wasm[phase], ratio: r.wasm[phase] / r.cpu[phase] };
    }),
  );
  if (options.json) {
    process.stdout.write(JSON.stringify({ machine: { ...info, loadAverage1mAtEnd: Math.round(loadavg()[0]! * 100) / 100 }, seconds, rows }, null, 2) + "\n");
    return;
  }
  const out: string[] = [];
  out.push(`Machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, node ${info.node}, tfjs ${info.tfjs}; load ${info.loadAverage1mAtStart} at start, ${loadavg()[0]!.toFixed(2)} at end`);
  out.push("");
  out.push(`${"model".padEnd(10)} ${"phase".padEnd(6)} ${"batch".padStart(5)} ${"cpu samples/s".padStart(14)} ${"wasm samples/s".padStart(15)} ${"wasm/cpu".padStart(9)}`);
  out.push("─".repeat(64));
  for (const r of rows) {
    const note = r.cpuBatch === r.batch ? "" : ` (cpu: batch ${r.cpuBatch})`;
    out.push(`${r.model.padEnd(10)} ${r.phase.padEnd(6)} ${String(r.batch).padStart(5)} ${fmt(r.cpu).padStart(14)} ${fmt(r.wasm).padStart(15)} ${(fmt(r.ratio) + "×").padStart(9)}${note}`);
  }
  out.push("─".repeat(64));
  for (const r of rows.filter((row) => row.phase === "train")) {
    out.push(`${r.model} training, wasm / cpu: ${fmt(r.ratio)}× — target ≥ 10×: ${r.ratio >= 10 ? "MET" : "MISSED"}`);
  }
  out.push(`whole benchmark: ${seconds.toFixed(0)} s`);
  process.stdout.write(out.join("\n") + "\n");
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
