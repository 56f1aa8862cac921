/**
 * Does generated code train as fast as the same network written by hand?
 *
 *   npm run build && node dist/bench/train-overhead.js [--backend cpu|wasm] [--rounds 5]
 *
 * Builds the BLOCK MLP and a small CNN twice on one backend — once with the module
 * `nnc build` generates from a spec, once written by hand with TensorFlow.js layers — and
 * times the same training step on both, interleaved (A B A B …) so machine noise hits both
 * alike. Prints samples/s and the ratio generated/hand (target: within 3%, ≤ 1.03 in time).
 * Also times the runtime's whole epoch loop against `model.fit` for the MLP.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { generate } from "../src/codegen/index.js";
import { checkText } from "../src/pipeline.js";
import * as runtime from "../src/runtime/index.js";
import { median } from "./stats.js";

const { tf } = runtime;
type BuildFn = (seed: number) => runtime.tf.LayersModel;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const MLP_SPEC = "model block {\n input 10\n repeat 5 { dense 100 tanh init glorot_normal }\n dense 1 sigmoid\n}\n";
const CNN_SPEC = "model cnn {\n input 28x28x1\n conv 5x5x8 relu same -> pool 2\n conv 5x5x16 relu same -> pool 2\n flatten -> dense 64 relu -> dense 10 softmax\n}\n";

function handMlp(seed: number): runtime.tf.LayersModel {
  const input = tf.input({ shape: [10] });
  let x: runtime.tf.SymbolicTensor = input;
  for (let i = 0; i < 5; i++) x = tf.layers.dense({ units: 100, activation: "tanh", kernelInitializer: tf.initializers.glorotNormal({ seed: seed + i }) }).apply(x) as runtime.tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 1, activation: "sigmoid", kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 9 }) }).apply(x) as runtime.tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function handCnn(seed: number): runtime.tf.LayersModel {
  const input = tf.input({ shape: [28, 28, 1] });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 5, padding: "same", activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(input) as runtime.tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as runtime.tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 16, kernelSize: 5, padding: "same", activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(x) as runtime.tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as runtime.tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as runtime.tf.SymbolicTensor;
  x = tf.layers.dense({ units: 64, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }).apply(x) as runtime.tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 10, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 3 }) }).apply(x) as runtime.tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

async function generatedBuilder(spec: string, name: string): Promise<BuildFn> {
  const r = checkText(spec);
  if (r.diagnostics.some((d) => d.severity === "error")) throw new Error(`bench spec does not check: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  const runtimeUrl = pathToFileURL(join(import.meta.dirname, "..", "src", "runtime", "index.js")).href;
  const [file] = await generate(r.program, { specPath: `${name}.nn`, sourceLines: spec.split("\n"), version: "bench", runtimeImport: runtimeUrl, format: false });
  const { transform } = await import("esbuild");
  const js = (await transform(file!.content, { loader: "ts", format: "esm" })).code;
  const path = join(mkdtempSync(join(tmpdir(), "nnc-overhead-")), `${name}.mjs`);
  writeFileSync(path, js);
  const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  return mod[file!.builder] as BuildFn;
}

/** Seconds for `steps` training steps of the runtime's optimizer on one model. */
async function timeSteps(model: runtime.tf.LayersModel, x: runtime.tf.Tensor, y: runtime.tf.Tensor, batch: number, steps: number, binary: boolean): Promise<number> {
  const opt = runtime.createOptimizer({ name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } }, 1e-3);
  const vars = model.trainableWeights.map((w) => w.read() as runtime.tf.Variable);
  const named = Object.fromEntries(vars.map((v) => [v.name, v]));
  const n = x.shape[0]!;
  const step = (i: number): runtime.tf.Scalar =>
    tf.tidy(() => {
      const start = (i * batch) % (n - batch);
      const xb = x.slice(start, batch);
      const yb = y.slice(start, batch);
      const { value, grads } = tf.variableGrads(() => {
        const p = model.apply(xb, { training: true }) as runtime.tf.Tensor;
        return (binary ? tf.metrics.binaryCrossentropy(yb, p) : tf.metrics.categoricalCrossentropy(yb, p)).mean() as runtime.tf.Scalar;
      }, vars);
      opt.applyGradients(named, grads);
      return value;
    });
  (await step(0).data()); // warm-up: kernels compiled, slots created
  const t0 = performance.now();
  for (let i = 1; i <= steps; i++) {
    const l = step(i);
    await l.data();
    l.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  opt.dispose();
  return seconds;
}

async function compare(label: string, gen: BuildFn, hand: BuildFn, x: runtime.tf.Tensor, y: runtime.tf.Tensor, batch: number, steps: number, rounds: number, binary: boolean): Promise<{ label: string; generated: number; hand: number; ratio: number }> {
  const tg: number[] = [];
  const th: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // The same network means the same weights too: the hand-written model starts from the
    // generated one's initial weights, so both compute the same numbers step for step.
    const g = gen(r);
    const h = hand(r);
    h.setWeights(g.getWeights());
    for (const [model, into] of (r % 2 === 0 ? [[g, tg], [h, th]] : [[h, th], [g, tg]]) as [runtime.tf.LayersModel, number[]][]) {
      into.push(await timeSteps(model, x, y, batch, steps, binary));
    }
    g.dispose();
    h.dispose();
  }
  const generated = (steps * batch) / median(tg);
  const handRate = (steps * batch) / median(th);
  return { label, generated, hand: handRate, ratio: median(tg) / median(th) };
}

async function main(): Promise<void> {
  const backend = arg("backend", "cpu") as runtime.BackendName;
  const rounds = Number(arg("rounds", "5"));
  await runtime.selectBackend(backend, (l) => process.stderr.write(l + "\n"), { needsConvGradients: true });
  tf.enableProdMode();
  const results = [];
  {
    const x = tf.randomNormal([2048, 10], 0, 1, "float32", 1);
    const y = tf.randomUniform([2048, 1], 0, 1, "float32", 2).round();
    results.push(await compare("BLOCK MLP, batch 32", await generatedBuilder(MLP_SPEC, "block"), handMlp, x, y, 32, 60, rounds, true));
    tf.dispose([x, y]);
  }
  {
    const steps = backend === "cpu" ? 4 : 20;
    const x = tf.randomUniform([512, 28, 28, 1], 0, 1, "float32", 3);
    const y = tf.oneHot(tf.randomUniform([512], 0, 10, "int32", 4), 10).toFloat();
    results.push(await compare("small CNN (conv 5x5x8, conv 5x5x16, dense 64), batch 64", await generatedBuilder(CNN_SPEC, "cnn"), handCnn, x, y, 64, steps, rounds, false));
    tf.dispose([x, y]);
  }
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(`train-overhead on ${tf.getBackend()} — ${cpu}, ${cpus().length} cores, Node ${process.version}, ${rounds} interleaved rounds, median`);
  console.log("model".padEnd(58) + "generated samples/s".padStart(21) + "hand samples/s".padStart(16) + "time ratio".padStart(12));
  for (const r of results) {
    console.log(r.label.padEnd(58) + r.generated.toFixed(0).padStart(21) + r.hand.toFixed(0).padStart(16) + r.ratio.toFixed(3).padStart(12) + (r.ratio <= 1.03 ? "  ✓ ≤ 1.03" : "  ✗ > 1.03"));
  }
  if (process.argv.includes("--json")) console.log(JSON.stringify({ backend: tf.getBackend(), results }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
