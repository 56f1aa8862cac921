/**
 * Is the image pipeline ahead of training? Images decoded (and augmented) per second from an
 * image folder, against the training samples per second of the models that read such folders,
 * on the wasm backend; and the image decoders measured against each other.
 *
 *   npm run build && node dist/bench/data-pipeline.js [--json] [--images 2000] [--rounds 1]
 *        [--workers 1,2] [--steps 10] [--no-decoders] [--no-models] [--no-fed] [--sweep]
 *
 * It writes into a temporary folder (removed at the end): 2,000 (`--images`) CIFAR-size JPEGs
 * (32x32 RGB, quality 90, in 10 class folders) and as many MNIST-size grey PNGs (28x28), and
 * for the decoder table 200 each of 32x32 RGB PNGs, 28x28 grey PNGs and 32x32 JPEGs, 100 JPEGs
 * of 256x256 and 60 of 500x375 (a photo's shape). The images are smooth random patterns with
 * noise, so they compress as photos do, not as flat colour or white noise.
 *
 * Every measurement runs in a child process of its own (`--child …`), as train-speed.ts does:
 *
 * 1. **Decoders** (`--no-decoders` skips): decode + fit (to 32x32x3, 28x28x1, 224x224x3 by
 *    crop) in the image pool, with only the pure-JS decoders (pngjs, jpeg-js, and nnc's resize),
 *    only sharp (libvips), and nnc's choice (`auto`: JS for small images, sharp for large), for
 *    each pool size of `--workers`. Batches of 64, two requests in flight as the trainer keeps
 *    them; images/s over at least 1.5 s after a warm-up. With `--sweep`, also 40 RGB PNGs and
 *    JPEGs of each size from 32x32 to 384x384, fitted to 32x32x3 by each decoder alone in one
 *    worker: where sharp starts to beat the pure-JS decoders (`SMALL_PNG_PIXELS` and
 *    `SMALL_JPEG_PIXELS` in src/runtime/data/images/pool.ts).
 * 2. **Pipeline**: `loadImageFolder` on the folder with the cache off (every read decodes), in
 *    a wasm process started as `nnc train` starts it for the model: batches read from a shuffled
 *    order with the next batch's read in flight, then nnc's `augmentBatch` (`crop HxW pad 4`,
 *    `flip horizontal`). Reported: decoded/s (reads alone), decoded + augmented/s, and augmented/s
 *    alone (on a batch in memory: this part runs on the training thread, in turn with the steps).
 * 3. **Training**: samples/s of the model nnc generates from its spec (specs/mnist_cnn.nn at
 *    batch 64; the CIFAR ResNet-20 below at batch 128), the runtime's training step
 *    (`tf.variableGrads`, its adam, the loss read back) on random inputs in memory, wasm.
 *    Then the same steps with the augmentation on each batch ("train+aug").
 * 4. **Fed** (`--no-fed` skips): the same training fed by the stream: each step's batch read
 *    from the folder (cache off, the next read in flight while the step runs) and augmented.
 *    Its samples/s against train+aug says what streaming costs training on this machine, where
 *    the decoding threads and training share the cores.
 *
 * `--no-models` skips 2–4.
 * The ratio printed per model is (2)'s decoded + augmented/s over (3)'s training samples/s: "the
 * pipeline is N× ahead". `--rounds N` runs every child N times in turn; tables give medians.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { median } from "./stats.js";

const here = fileURLToPath(import.meta.url);
const repo = join(here, "..", "..", "..");

interface Options {
  json: boolean;
  images: number;
  rounds: number;
  workers: number[];
  steps: number;
  decoders: boolean;
  sweep: boolean;
  models: boolean;
  fed: boolean;
  child?: string;
  dir?: string;
  model?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { json: false, images: 2000, rounds: 1, workers: [], steps: 10, decoders: true, sweep: false, models: true, fed: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const whole = (v: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs whole numbers ≥ 1, got ${v}`);
      return n;
    };
    if (a === "--json") o.json = true;
    else if (a === "--images") o.images = whole(value());
    else if (a === "--rounds") o.rounds = whole(value());
    else if (a === "--steps") o.steps = whole(value());
    else if (a === "--workers") o.workers = value().split(",").map(whole);
    else if (a === "--no-decoders") o.decoders = false;
    else if (a === "--no-fed") o.fed = false;
    else if (a === "--no-models") o.models = false;
    else if (a === "--sweep") o.sweep = true;
    else if (a === "--child") o.child = value();
    else if (a === "--dir") o.dir = value();
    else if (a === "--model") o.model = value();
    else throw new Error(`unknown argument ${a}; see the comment at the top of bench/data-pipeline.ts`);
  }
  return o;
}

// ── fixtures ─────────────────────────────────────────────────────────────────────────────────

/** A seeded smooth random pattern with noise, RGBA; grey when `grey`. */
function pattern(w: number, h: number, seed: number, grey: boolean): Buffer {
  let s = seed * 2654435761 + 1;
  const random = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const f = [1 + random() * 5, 1 + random() * 5, 1 + random() * 5];
  const p = [random() * 6, random() * 6, random() * 6];
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      for (let c = 0; c < 3; c++) {
        const v = 128 + 90 * Math.sin((f[c]! * x) / w * 6 + p[c]!) * Math.cos((f[(c + 1) % 3]! * y) / h * 6) + 24 * (random() - 0.5);
        data[o + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
      if (grey) data[o + 1] = data[o + 2] = data[o]!;
      data[o + 3] = 255;
    }
  }
  return data;
}

function writeSet(dir: string, n: number, w: number, h: number, kind: "jpeg" | "png-rgb" | "png-grey", classes = 10): void {
  for (let i = 0; i < n; i++) {
    const cls = join(dir, `class${i % classes}`);
    mkdirSync(cls, { recursive: true });
    const data = pattern(w, h, i + 1, kind === "png-grey");
    if (kind === "jpeg") writeFileSync(join(cls, `${i}.jpg`), jpeg.encode({ data, width: w, height: h }, 90).data);
    else {
      const png = new PNG({ width: w, height: h });
      png.data = data;
      writeFileSync(join(cls, `${i}.png`), PNG.sync.write(png, { colorType: kind === "png-grey" ? 0 : 2, inputColorType: 6, inputHasAlpha: true }));
    }
  }
}

/** The decoder table's sets: folder, what, and the input they are fitted to. */
const DECODER_SETS = [
  { set: "png32", what: "PNG 32x32 RGB", n: 200, w: 32, h: 32, kind: "png-rgb", to: [32, 32, 3] },
  { set: "png28g", what: "PNG 28x28 grey", n: 200, w: 28, h: 28, kind: "png-grey", to: [28, 28, 1] },
  { set: "jpg32", what: "JPEG 32x32", n: 200, w: 32, h: 32, kind: "jpeg", to: [32, 32, 3] },
  { set: "jpg256", what: "JPEG 256x256", n: 100, w: 256, h: 256, kind: "jpeg", to: [224, 224, 3] },
  { set: "jpg500", what: "JPEG 500x375", n: 60, w: 500, h: 375, kind: "jpeg", to: [224, 224, 3] },
] as const;

// ── the models ───────────────────────────────────────────────────────────────────────────────

/** ResNet-20 for CIFAR-10 (He et al. 2016, §4.2): 3 stages of 3 basic blocks, 16/32/64 channels, projection shortcuts where the shape changes; 0.27 M parameters. */
const RESNET20 = `
block basic(c) {
  residual {
    conv 3x3xc same no_bias -> batchnorm relu
    conv 3x3xc same no_bias -> batchnorm
  } -> relu
}
block basic_down(c) {
  residual {
    conv 3x3xc stride 2 same no_bias -> batchnorm relu
    conv 3x3xc same no_bias -> batchnorm
  } skip {
    conv 1x1xc stride 2 same no_bias -> batchnorm
  } -> relu
}
model resnet20 {
  input 32x32x3
  conv 3x3x16 same no_bias -> batchnorm relu
  repeat 3 basic(16)
  basic_down(32)
  repeat 2 basic(32)
  basic_down(64)
  repeat 2 basic(64)
  global avgpool
  dense 10 softmax
}
`;

interface ModelPlan {
  key: string;
  name: string;
  batch: number;
  /** The image set that feeds it, its input, and its augmentation. */
  set: "cifar" | "mnist";
  input: [number, number, number];
  spec: () => string;
}

const MODELS: ModelPlan[] = [
  { key: "mnist", name: "MNIST CNN", batch: 64, set: "mnist", input: [28, 28, 1], spec: () => readFileSync(join(repo, "specs", "mnist_cnn.nn"), "utf8") },
  { key: "resnet", name: "ResNet-20", batch: 128, set: "cifar", input: [32, 32, 3], spec: () => RESNET20 },
];

// ── children ─────────────────────────────────────────────────────────────────────────────────

type Item = import("../src/runtime/data/images/pool.js").DecodeItem;
type Pool = import("../src/runtime/data/images/pool.js").DecodePool;
type Prep = import("../src/runtime/data/images/pool.js").ImagePrep;

/** The files of a one-class set, with their headers, as the image folder hands them to the pool. */
async function itemsOf(folder: string): Promise<Item[]> {
  const { readImageHeader } = await import("../src/runtime/data/images/header.js");
  const items: Item[] = [];
  for (const f of readdirSync(folder).sort()) {
    const file = join(folder, f);
    const h = await readImageHeader(file);
    if ("bad" in h) throw new Error(`${file}: ${h.what}`);
    items.push({ file, format: h.format, width: h.width, height: h.height });
  }
  return items;
}

/** Images/s of a pool: batches of 64, two requests in flight (as the trainer keeps them), for ≥ 1.5 s and ≥ 128 images after a warm-up. */
async function poolRate(pool: Pool, items: Item[], prep: Prep): Promise<number> {
  await pool.decode(items.slice(0, 2 * pool.size), prep);
  let done = 0;
  let at = 0;
  const next = (): Promise<unknown> => {
    const part: Item[] = [];
    for (let k = 0; k < 64; k++) part.push(items[at++ % items.length]!);
    return pool.decode(part, prep).then(() => (done += part.length));
  };
  const started = performance.now();
  let flying = next();
  while (performance.now() - started < 1500 || done < 2 * 64) {
    const following = next();
    await flying;
    flying = following;
  }
  await flying;
  return done / ((performance.now() - started) / 1000);
}

/** The decoder table: every set × decoders × pool size. */
async function childDecoders(dir: string, workers: number[]): Promise<unknown> {
  const { DecodePool } = await import("../src/runtime/data/images/pool.js");
  const rows: Record<string, unknown>[] = [];
  for (const s of DECODER_SETS) {
    const items = await itemsOf(join(dir, s.set, "class0"));
    const prep = { height: s.to[0], width: s.to[1], channels: s.to[2], fit: "crop" as const };
    const row: Record<string, unknown> = { set: s.set, what: s.what, to: s.to.join("x") };
    for (const decoders of ["js", "sharp", "auto"] as const) {
      for (const n of workers) {
        const pool = new DecodePool(n, decoders);
        row[`${decoders}×${n}`] = await poolRate(pool, items, prep);
        if (pool.notes.length > 0) row.notes = pool.notes;
        await pool.close();
      }
    }
    rows.push(row);
    process.stderr.write(`decoders: ${s.what} done\n`);
  }
  return { rows };
}

/** Sizes of the sweep that places `SMALL_PNG_PIXELS` and `SMALL_JPEG_PIXELS` (pool.ts). */
const SWEEP_SIZES = [32, 64, 96, 128, 192, 256, 384];

/** Where the pure-JS decoders stop beating sharp: RGB images of each size, fitted to 32x32x3, one worker. */
async function childSweep(dir: string): Promise<unknown> {
  const { DecodePool } = await import("../src/runtime/data/images/pool.js");
  const rows: Record<string, unknown>[] = [];
  const prep = { height: 32, width: 32, channels: 3, fit: "crop" as const };
  for (const size of SWEEP_SIZES) {
    const row: Record<string, unknown> = { size };
    for (const kind of ["png", "jpeg"]) {
      const items = await itemsOf(join(dir, `sweep-${kind}-${size}`, "class0"));
      for (const decoders of ["js", "sharp"] as const) {
        const pool = new DecodePool(1, decoders);
        row[`${kind} ${decoders}`] = await poolRate(pool, items, prep);
        await pool.close();
      }
    }
    rows.push(row);
    process.stderr.write(`sweep: ${size}x${size} done\n`);
  }
  return { rows };
}

async function startWasm(multiplyAddsPerBatch: number): Promise<string> {
  const tf = await import("@tensorflow/tfjs");
  tf.enableProdMode();
  const { selectBackend } = await import("../src/runtime/backends/select.js");
  const notes: string[] = [];
  await selectBackend("wasm", (line) => notes.push(line), { needsConvGradients: true, multiplyAddsPerBatch });
  return notes.filter((n) => n.startsWith("backend:") || n.startsWith("wasm:")).join("; ");
}

async function compiled(plan: ModelPlan): Promise<{ build: (seed: number) => import("@tensorflow/tfjs").LayersModel; multiplyAdds: number }> {
  const { checkText } = await import("../src/pipeline.js");
  const { generate } = await import("../src/codegen/index.js");
  const { modelInfo } = await import("../src/codegen/common.js");
  const spec = plan.spec();
  const r = checkText(spec);
  if (r.diagnostics.some((d) => d.severity === "error")) throw new Error(`the ${plan.name} spec does not check: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  const model = r.program.models[0]!;
  const runtimeImport = pathToFileURL(join(repo, "dist", "src", "runtime", "index.js")).href;
  const [file] = await generate(r.program, { specPath: `${model.name}.nn`, sourceLines: spec.split("\n"), version: "bench", runtimeImport, format: false, models: [model.name] });
  const { transform } = await import("esbuild");
  const js = (await transform(file!.content, { loader: "ts", format: "esm" })).code;
  const path = join(mkdtempSync(join(tmpdir(), "nnc-pipeline-model-")), `${model.name}.mjs`);
  writeFileSync(path, js);
  const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  rmSync(join(path, ".."), { recursive: true, force: true });
  return { build: mod[file!.builder] as (seed: number) => import("@tensorflow/tfjs").LayersModel, multiplyAdds: modelInfo(model).multiplyAdds };
}

/** The augmentation a CIFAR recipe uses, at the set's size. */
const augments = (plan: ModelPlan): import("../src/runtime/config.js").AugmentConfig[] => [
  { kind: "crop", height: plan.input[0], width: plan.input[1], pad: 4 },
  { kind: "flip", direction: "horizontal" },
];

/** Batches of indices from shuffled passes over n samples, as the trainer draws them. */
async function epochOrder(n: number, batch: number): Promise<() => Int32Array> {
  const { shuffle } = await import("../src/runtime/data/common.js");
  const { seededRandom } = await import("../src/runtime/data/augment.js");
  const random = seededRandom(1);
  let order: number[] = [];
  return () => {
    if (order.length < batch) order = order.concat(shuffle(Array.from({ length: n }, (_, i) => i), random));
    return Int32Array.from(order.splice(0, batch));
  };
}

/** Streams batches of a folder (cache off) with the next read in flight; calls `use` on each batch's values and labels. */
async function streamBatches(
  folder: string,
  plan: ModelPlan,
  workers: number,
  seconds: number,
  minBatches: number,
  use: (values: Float32Array, labels: Int32Array) => Promise<void>,
): Promise<{ images: number; seconds: number; describe: string }> {
  const { loadImageFolder } = await import("../src/runtime/data/images/index.js");
  const d = await loadImageFolder({ source: "images", train: folder, fit: "crop", badFiles: "error" }, { inputShape: plan.input, seed: 1, baseDir: "/" }, { cacheBytes: 0, workers });
  try {
    const nextIndices = await epochOrder(d.train.n, plan.batch);
    const read = (): { idx: Int32Array; values: Promise<Float32Array> } => {
      const idx = nextIndices();
      return { idx, values: d.train.read!(idx) };
    };
    // Warm-up: the workers start and compile their code.
    for (let i = 0; i < 2; i++) await d.train.read!(nextIndices());
    let images = 0;
    let batches = 0;
    const started = performance.now();
    let pending = read();
    while (performance.now() - started < seconds * 1000 || batches < minBatches) {
      const following = read();
      const values = await pending.values;
      const labels = Int32Array.from(pending.idx, (i) => d.train.labels![i]!);
      await use(values, labels);
      images += pending.idx.length;
      batches++;
      pending = following;
    }
    const took = (performance.now() - started) / 1000;
    await pending.values;
    return { images, seconds: took, describe: d.description };
  } finally {
    await d.close!();
  }
}

async function childPipeline(dir: string, plan: ModelPlan, workers: number): Promise<unknown> {
  const { multiplyAdds } = await compiled(plan);
  const started = await startWasm(multiplyAdds * plan.batch);
  const tf = await import("@tensorflow/tfjs");
  const { augmentBatch, seededRandom } = await import("../src/runtime/data/augment.js");
  const folder = join(dir, plan.set);
  const shape: [number, number, number, number] = [plan.batch, ...plan.input];
  const decoded = await streamBatches(folder, plan, workers, 3, 8, async () => {});
  const random = seededRandom(2);
  const augmented = await streamBatches(folder, plan, workers, 3, 8, async (values) => {
    const x = tf.tensor4d(values, shape);
    const y = augmentBatch(x, augments(plan), random);
    await y.data();
    tf.dispose([x, y]);
  });
  // Augmentation alone, on one batch in memory.
  const x = tf.randomUniform(shape) as import("@tensorflow/tfjs").Tensor4D;
  for (let i = 0; i < 3; i++) augmentBatch(x, augments(plan), random).dispose();
  let reps = 0;
  const t = performance.now();
  while (performance.now() - t < 1500 || reps < 5) {
    const y = augmentBatch(x, augments(plan), random);
    await y.data();
    y.dispose();
    reps++;
  }
  const augmentOnly = (reps * plan.batch) / ((performance.now() - t) / 1000);
  x.dispose();
  return { started, description: decoded.describe, decoded: decoded.images / decoded.seconds, augmented: augmented.images / augmented.seconds, augmentOnly };
}

/** The runtime's training step (as train-speed.ts and train.ts take it) on batches from `next`. */
async function trainSteps(plan: ModelPlan, steps: number, next: () => Promise<{ x: import("@tensorflow/tfjs").Tensor; y: import("@tensorflow/tfjs").Tensor }>): Promise<number> {
  const tf = await import("@tensorflow/tfjs");
  const { createOptimizer } = await import("../src/runtime/optimizers.js");
  const { build } = await compiled(plan);
  const model = build(1);
  const trainable = model.trainableWeights.map((w) => w.read() as import("@tensorflow/tfjs").Variable);
  const vars = Object.fromEntries(trainable.map((v) => [v.name, v]));
  const optimizer = createOptimizer({ name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } }, 1e-3);
  const step = async (): Promise<void> => {
    const { x, y } = await next();
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as import("@tensorflow/tfjs").Tensor).mean() as import("@tensorflow/tfjs").Scalar, trainable);
      optimizer.applyGradients(vars, grads);
      return value;
    });
    tf.dispose([x, y]);
    await loss.data();
    loss.dispose();
  };
  for (let i = 0; i < 3; i++) await step();
  const started = performance.now();
  for (let i = 0; i < steps; i++) await step();
  const rate = (steps * plan.batch) / ((performance.now() - started) / 1000);
  optimizer.dispose();
  model.dispose();
  return rate;
}

async function childTrain(plan: ModelPlan, steps: number): Promise<unknown> {
  const { multiplyAdds } = await compiled(plan);
  const started = await startWasm(multiplyAdds * plan.batch);
  const tf = await import("@tensorflow/tfjs");
  const x = tf.randomUniform([plan.batch, ...plan.input]);
  const y = tf.oneHot(tf.randomUniform([plan.batch], 0, 10, "int32"), 10).toFloat();
  const rate = await trainSteps(plan, steps, async () => ({ x: x.clone(), y: y.clone() }));
  // The same with the augmentation a recipe would add: what training fed by the stream is measured against.
  const { augmentBatch, seededRandom } = await import("../src/runtime/data/augment.js");
  const random = seededRandom(3);
  const augmented = await trainSteps(plan, steps, async () => ({ x: augmentBatch(x as import("@tensorflow/tfjs").Tensor4D, augments(plan), random), y: y.clone() }));
  tf.dispose([x, y]);
  return { started, train: rate, trainAugmented: augmented, multiplyAdds };
}

/** Training fed by the stream: each step's batch read (the next one in flight) and augmented. */
async function childFed(dir: string, plan: ModelPlan, workers: number, steps: number): Promise<unknown> {
  const { multiplyAdds } = await compiled(plan);
  const started = await startWasm(multiplyAdds * plan.batch);
  const tf = await import("@tensorflow/tfjs");
  const { loadImageFolder } = await import("../src/runtime/data/images/index.js");
  const { augmentBatch, seededRandom } = await import("../src/runtime/data/augment.js");
  const d = await loadImageFolder({ source: "images", train: join(dir, plan.set), fit: "crop", badFiles: "error" }, { inputShape: plan.input, seed: 1, baseDir: "/" }, { cacheBytes: 0, workers });
  try {
    const random = seededRandom(3);
    const indices = await epochOrder(d.train.n, plan.batch);
    let pending: { idx: Int32Array; values: Promise<Float32Array> } | undefined;
    const read = (): { idx: Int32Array; values: Promise<Float32Array> } => {
      const idx = indices();
      return { idx, values: d.train.read!(idx) };
    };
    const rate = await trainSteps(plan, steps, async () => {
      const now = pending ?? read();
      pending = read(); // the next batch decodes while this one trains
      const values = await now.values;
      const x = tf.tidy(() => augmentBatch(tf.tensor4d(values, [plan.batch, ...plan.input] as [number, number, number, number]), augments(plan), random));
      const y = tf.oneHot(tf.tensor1d(Int32Array.from(now.idx, (i) => d.train.labels![i]!), "int32"), 10).toFloat();
      return { x, y };
    });
    if (pending) await pending.values;
    return { started, fed: rate };
  } finally {
    await d.close!();
  }
}

// ── the parent ───────────────────────────────────────────────────────────────────────────────

function runChild(args: string[]): unknown {
  const child = spawnSync(process.execPath, [here, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 24 });
  const lines = child.stdout.trim().split("\n");
  if (child.status !== 0) throw new Error(`the child ${args.join(" ")} failed (exit ${child.status ?? child.signal})`);
  return JSON.parse(lines[lines.length - 1] ?? "null") as unknown;
}

const fmt = (x: number): string => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(x >= 10 ? 1 : 2));

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.child !== undefined) {
    const plan = MODELS.find((m) => m.key === o.model);
    const workers = o.workers[0] ?? (await import("../src/runtime/data/images/pool.js")).defaultPoolSize();
    let out: unknown;
    if (o.child === "decoders") out = await childDecoders(o.dir!, o.workers);
    else if (o.child === "sweep") out = await childSweep(o.dir!);
    else if (!plan) throw new Error(`--model must be one of ${MODELS.map((m) => m.key).join(", ")}`);
    else if (o.child === "pipeline") out = await childPipeline(o.dir!, plan, workers);
    else if (o.child === "train") out = await childTrain(plan, o.steps);
    else if (o.child === "fed") out = await childFed(o.dir!, plan, workers, o.steps);
    else throw new Error(`unknown child ${o.child}`);
    process.stdout.write(JSON.stringify(out) + "\n");
    return;
  }
  const { defaultPoolSize } = await import("../src/runtime/data/images/pool.js");
  const workers = o.workers.length > 0 ? o.workers : [defaultPoolSize()];
  const progress = (line: string): void => void process.stderr.write(line + "\n");
  const load = (): number => Math.round(loadavg()[0]! * 100) / 100;
  const machine = { cpu: cpus()[0]?.model ?? "unknown", cores: availableParallelism(), memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10, node: process.version, loadAtStart: load() };
  const began = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "nnc-data-pipeline-"));
  try {
    progress(`writing ${o.images.toLocaleString("en-US")} JPEGs 32x32 and ${o.images.toLocaleString("en-US")} grey PNGs 28x28 into ${dir} …`);
    writeSet(join(dir, "cifar"), o.images, 32, 32, "jpeg");
    writeSet(join(dir, "mnist"), o.images, 28, 28, "png-grey");
    if (o.decoders) for (const s of DECODER_SETS) writeSet(join(dir, s.set), s.n, s.w, s.h, s.kind, 1);
    if (o.sweep) for (const size of SWEEP_SIZES) for (const kind of ["png-rgb", "jpeg"] as const) writeSet(join(dir, `sweep-${kind === "jpeg" ? "jpeg" : "png"}-${size}`), 40, size, size, kind, 1);

    type Rec = Record<string, number | string | undefined>;
    const decoderRounds: { rows: Rec[] }[] = [];
    const sweepRounds: { rows: Rec[] }[] = [];
    const pipe = new Map<string, Rec[]>();
    const train = new Map<string, Rec[]>();
    const fed = new Map<string, Rec[]>();
    const push = (m: Map<string, Rec[]>, k: string, v: unknown): void => void m.set(k, [...(m.get(k) ?? []), v as Rec]);
    for (let round = 1; round <= o.rounds; round++) {
      const r = o.rounds > 1 ? ` (round ${round} of ${o.rounds})` : "";
      if (o.decoders) {
        progress(`— decoders${r} —`);
        decoderRounds.push(runChild(["--child", "decoders", "--dir", dir, "--workers", workers.join(",")]) as { rows: Rec[] });
      }
      if (o.sweep) {
        progress(`— decoder sweep${r} —`);
        sweepRounds.push(runChild(["--child", "sweep", "--dir", dir]) as { rows: Rec[] });
      }
      for (const m of o.models ? MODELS : []) {
        progress(`— ${m.name}${r}: training on wasm —`);
        push(train, m.key, runChild(["--child", "train", "--model", m.key, "--steps", String(o.steps)]));
        for (const w of workers) {
          progress(`— ${m.name}${r}: pipeline, ${w} worker${w === 1 ? "" : "s"} —`);
          push(pipe, `${m.key}/${w}`, runChild(["--child", "pipeline", "--model", m.key, "--dir", dir, "--workers", String(w)]));
          if (o.fed) {
            progress(`— ${m.name}${r}: training fed by the stream, ${w} worker${w === 1 ? "" : "s"} —`);
            push(fed, `${m.key}/${w}`, runChild(["--child", "fed", "--model", m.key, "--dir", dir, "--workers", String(w), "--steps", String(o.steps)]));
          }
        }
      }
    }
    const med = (rs: Rec[] | undefined, key: string): number | undefined => {
      const xs = (rs ?? []).map((r) => r[key]).filter((x): x is number => typeof x === "number");
      return xs.length > 0 ? median(xs) : undefined;
    };
    const decoderRows = o.decoders
      ? decoderRounds[0]!.rows.map((row, i) => {
          const out: Rec = { set: row.set, what: row.what, to: row.to };
          for (const k of Object.keys(row)) if (k.includes("×")) out[k] = med(decoderRounds.map((d) => d.rows[i]!), k);
          return out;
        })
      : [];
    const sweepRows = o.sweep
      ? sweepRounds[0]!.rows.map((row, i) => {
          const out: Rec = { size: row.size };
          for (const k of Object.keys(row)) if (k !== "size") out[k] = med(sweepRounds.map((d) => d.rows[i]!), k);
          return out;
        })
      : [];
    const models = (o.models ? MODELS : []).map((m) => {
      const t = med(train.get(m.key), "train");
      return {
        model: m.name,
        batch: m.batch,
        input: m.input.join("x"),
        started: train.get(m.key)?.[0]?.started,
        multiplyAdds: train.get(m.key)?.[0]?.multiplyAdds,
        train: t,
        byWorkers: workers.map((w) => {
          const p = pipe.get(`${m.key}/${w}`);
          const augmented = med(p, "augmented");
          const f = med(fed.get(`${m.key}/${w}`), "fed");
          const ta = med(train.get(m.key), "trainAugmented");
          return { workers: w, description: p?.[0]?.description, decoded: med(p, "decoded"), augmented, augmentOnly: med(p, "augmentOnly"), ahead: augmented !== undefined && t !== undefined ? augmented / t : undefined, trainAugmented: ta, fed: f, fedOverTrain: f !== undefined && ta !== undefined ? f / ta : undefined };
        }),
      };
    });
    const seconds = (performance.now() - began) / 1000;
    const report = { machine: { ...machine, loadAtEnd: load() }, seconds, rounds: o.rounds, images: o.images, decoders: decoderRows, sweep: sweepRows, models };
    if (o.json) {
      process.stdout.write(JSON.stringify(report, null, 2) + "\n");
      return;
    }
    const out: string[] = [];
    out.push(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}; load ${machine.loadAtStart} at start, ${report.machine.loadAtEnd} at end`);
    if (o.decoders) {
      out.push("", "Decode + fit in the pool, images/s (batches of 64, two in flight; js = pngjs/jpeg-js + nnc's resize, sharp = libvips, auto = nnc's choice by size):");
      const keys = Object.keys(decoderRows[0]!).filter((k) => k.includes("×"));
      const head = ["images".padEnd(16), "fitted to".padEnd(10), ...keys.map((k) => k.padStart(10))].join(" ");
      out.push(head, "─".repeat(head.length));
      for (const r of decoderRows) out.push([String(r.what).padEnd(16), String(r.to).padEnd(10), ...keys.map((k) => (r[k] === undefined ? "—" : fmt(r[k] as number)).padStart(10))].join(" "));
    }
    if (o.sweep) {
      out.push("", "Sweep: RGB images of each size fitted to 32x32x3 by crop, one worker, images/s (where sharp starts to win):");
      const head = ["size".padEnd(10), "PNG js".padStart(9), "PNG sharp".padStart(10), "JPEG js".padStart(9), "JPEG sharp".padStart(11)].join(" ");
      out.push(head, "─".repeat(head.length));
      for (const r of sweepRows) out.push([`${r.size}x${r.size}`.padEnd(10), fmt(r["png js"] as number).padStart(9), fmt(r["png sharp"] as number).padStart(10), fmt(r["jpeg js"] as number).padStart(9), fmt(r["jpeg sharp"] as number).padStart(11)].join(" "));
    }
    if (o.models) {
      out.push("", `Pipeline (cache off: every read decodes; next batch in flight) vs training on wasm, ${o.images.toLocaleString("en-US")} images:`);
      const head = ["model".padEnd(10), "batch".padStart(5), "workers".padStart(7), "decoded/s".padStart(10), "+augment/s".padStart(11), "augment/s".padStart(10), "train/s".padStart(8), "ahead".padStart(7), "train+aug/s".padStart(12), ...(o.fed ? ["fed/s".padStart(7), "fed/(train+aug)".padStart(15)] : [])].join(" ");
      out.push(head, "─".repeat(head.length));
      for (const m of models) {
        for (const w of m.byWorkers) {
          const cell = (x: number | undefined, width: number, suffix = ""): string => (x === undefined ? "—" : fmt(x) + suffix).padStart(width);
          out.push([m.model.padEnd(10), String(m.batch).padStart(5), String(w.workers).padStart(7), cell(w.decoded, 10), cell(w.augmented, 11), cell(w.augmentOnly, 10), cell(m.train, 8), cell(w.ahead, 7, "×"), cell(w.trainAugmented, 12), ...(o.fed ? [cell(w.fed, 7), cell(w.fedOverTrain, 15, "×")] : [])].join(" "));
        }
      }
      for (const m of models) out.push(`${m.model} (${m.input}, ${((m.multiplyAdds as number) / 1e6).toFixed(1)} M multiply-adds a sample): ${m.started}`);
      for (const m of models) {
        for (const w of m.byWorkers) {
          if (w.ahead !== undefined) out.push(`${m.model}, ${w.workers} worker${w.workers === 1 ? "" : "s"}: the pipeline (decode + augment) is ${fmt(w.ahead)}× ahead of training${w.fedOverTrain !== undefined ? `; fed by it, training (augmented) runs at ${fmt(100 * w.fedOverTrain)}% of its speed on the same augmentation of data in memory` : ""}`);
        }
      }
      out.push(`data: ${models.flatMap((m) => m.byWorkers.slice(0, 1).map((w) => w.description)).join("; ")}`);
    }
    out.push(`whole benchmark: ${seconds.toFixed(0)} s${o.rounds > 1 ? `, ${o.rounds} rounds (medians)` : ""}`);
    process.stdout.write(out.join("\n") + "\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
