/**
 * Encoder–decoder recipes (issue 14, item 3): targets that are images. An autoencoder
 * (`targets: input`) learns its inputs as the source scales them; a segmentation model learns a
 * class per pixel from NumPy or IDX masks (HxW, HxWx1 or one-hot HxWxC); a model of target
 * images learns them with mse/mae. The checker judges the loss per pixel and the output's shape,
 * the loaders name the file and the shapes, and `nnc evaluate` reports per-pixel accuracy or
 * MSE/MAE while `nnc predict` says it cannot show images. Fixtures are written here (NumPy's
 * format in TypeScript; an .npz by python3 when NumPy is installed).
 */
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { TrainConfig } from "../src/runtime/config.js";
import { DataError, loadData } from "../src/runtime/data/index.js";
import { Batcher, pixelTargets } from "../src/runtime/train-data.js";
import { restoreNormalizer } from "../src/runtime/data/normalize.js";
import { train, TrainError } from "../src/runtime/train.js";
import { evaluateRun, evaluationSamples, openRun } from "../src/runtime/predict.js";
import { CLI, nnc } from "./cli-run.js";
import { codes } from "./helpers.js";
import { ballConfig } from "./runtime-helpers.js";

await tf.setBackend("cpu");
const dir = mkdtempSync(join(tmpdir(), "nnc-encoder-decoder-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ── fixtures ───────────────────────────────────────────────────────────────────────────────

/** A version 1.0 .npy file of little-endian float32 ("<f4") or bytes ("|u1"). */
function npy(descr: "<f4" | "|u1", shape: number[], values: ArrayLike<number>): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += " ";
  header += "\n";
  const head = Buffer.alloc(10);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  head.writeUInt16LE(header.length, 8);
  const data = descr === "|u1" ? Buffer.from(Uint8Array.from(values)) : Buffer.from(Float32Array.from(values).buffer);
  return Buffer.concat([head, Buffer.from(header, "latin1"), data]);
}

/** `n` 16x16 images of a bright square on faint noise, and their masks (1 inside the square), seeded. */
function squares(n: number, seed: number): { x: Float32Array; masks: Uint8Array } {
  let s = seed;
  const random = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const x = new Float32Array(n * 256);
  const masks = new Uint8Array(n * 256);
  for (let i = 0; i < n; i++) {
    const size = 3 + Math.floor(random() * 5);
    const r = Math.floor(random() * (16 - size));
    const c = Math.floor(random() * (16 - size));
    for (let p = 0; p < 256; p++) {
      const inside = Math.floor(p / 16) >= r && Math.floor(p / 16) < r + size && p % 16 >= c && p % 16 < c + size;
      masks[i * 256 + p] = inside ? 1 : 0;
      x[i * 256 + p] = (inside ? 0.7 : 0) + random() * 0.3;
    }
  }
  return { x, masks };
}

const train120 = squares(120, 7);
const test40 = squares(40, 99);
writeFileSync(join(dir, "x.npy"), npy("<f4", [120, 16, 16, 1], train120.x));
writeFileSync(join(dir, "masks.npy"), npy("|u1", [120, 16, 16], train120.masks));
writeFileSync(join(dir, "masks1.npy"), npy("|u1", [120, 16, 16, 1], train120.masks));
writeFileSync(join(dir, "onehot.npy"), npy("<f4", [120, 16, 16, 2], Array.from(train120.masks).flatMap((m) => (m ? [0, 1] : [1, 0]))));
writeFileSync(join(dir, "x_test.npy"), npy("<f4", [40, 16, 16, 1], test40.x));
writeFileSync(join(dir, "masks_test.npy"), npy("|u1", [40, 16, 16], test40.masks));
writeFileSync(join(dir, "small_masks.npy"), npy("|u1", [120, 8, 8], new Uint8Array(120 * 64)));
writeFileSync(join(dir, "masks255.npy"), npy("|u1", [120, 16, 16], train120.masks.map((m) => m * 255)));
writeFileSync(join(dir, "labels.npy"), npy("|u1", [120], new Uint8Array(120)));

/** An IDX file of unsigned bytes [n, rows, cols] (magic 0x00000803). */
function idx3(n: number, rows: number, cols: number, bytes: Uint8Array): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(0x803, 0);
  head.writeUInt32BE(n, 4);
  head.writeUInt32BE(rows, 8);
  head.writeUInt32BE(cols, 12);
  return Buffer.concat([head, Buffer.from(bytes)]);
}
writeFileSync(join(dir, "images.idx"), idx3(120, 16, 16, Uint8Array.from(train120.x, (v) => Math.min(255, Math.round(v * 255)))));
writeFileSync(join(dir, "masks.idx"), idx3(120, 16, 16, train120.masks));

const SEG = (loss = "crossentropy", end = "conv 1x1x2 softmax", data = 'npy(x: "x.npy", y: "masks.npy")', more = "") =>
  `model seg {\n  input 16x16x1\n  conv 3x3x8 relu same -> pool 2\n  conv 3x3x8 relu same\n  upsample 2\n  ${end}\n}\n\ntrain seg {\n  data ${data}\n  loss ${loss}\n${more}}\n`;
const AE = (data = "mnist(train: 500, targets: input)", loss = "binary_crossentropy", end = "conv 3x3x1 sigmoid same", more = "") =>
  `model ae {\n  input 28x28x1\n  conv 3x3x8 relu same -> pool 2\n  conv 3x3x4 relu same -> pool 2\n  upsample 2 -> conv 3x3x8 relu same\n  upsample 2 -> ${end}\n}\n\ntrain ae {\n  data ${data}\n  loss ${loss}\n${more}}\n`;

// ── the checker ────────────────────────────────────────────────────────────────────────────

describe("the checker", () => {
  it("accepts an autoencoder on any source with `targets: input`", () => {
    expect(codes(AE())).toEqual([]);
    expect(codes(AE("mnist(train: 500, targets: input)", "mse", "conv 3x3x1 same"))).toEqual([]);
    expect(codes(AE('idx(images: "train-images.idx", targets: input)', "mae"))).toEqual([]);
    expect(codes(AE('npy(x: "x.npy", targets: input)', "mse"))).toEqual([]);
    expect(codes(AE('npz("d.npz", targets: input)', "mse"))).toEqual([]);
    expect(codes(AE('images("photos", targets: input)', "mse"))).toEqual([]);
  });

  it("wants the autoencoder's output to be its input's shape (NN4024), with a loss that compares values (NN4006)", () => {
    const short = AE("mnist(train: 500, targets: input)", "mse", "conv 3x3x1 same").replace("  upsample 2 -> conv 3x3x1 same\n", "  conv 3x3x1 same\n");
    expect(codes(short)).toEqual(["NN4024"]);
    expect(codes(AE("mnist(train: 500, targets: input)", "crossentropy"))).toEqual(["NN4006"]);
    expect(codes(AE("mnist(train: 500, targets: input)", "binary_crossentropy", "conv 3x3x1 same"))).toEqual(["NN4006"]);
    expect(codes(AE("mnist(train: 500, targets: input)", "mse", "conv 3x3x1 same", "  augment flip horizontal\n"))).toEqual(["NN4020"]);
  });

  it("reads `targets` as `input` only, and refuses labels the recipe would not read (NN4011)", () => {
    expect(codes(AE("mnist(train: 500, targets: inptu)"))).toContain("NN4011");
    expect(codes(AE('npy(x: "x.npy", y: "y.npy", targets: input)', "mse"))).toEqual(["NN4011"]);
    expect(codes(AE('idx(images: "i.idx", labels: "l.idx", targets: input)', "mse"))).toEqual(["NN4011"]);
    // Without `targets: input`, npy still needs its y.
    expect(codes(AE('npy(x: "x.npy")', "mse"))).toContain("NN4011");
  });

  it("judges a segmentation model's loss per pixel", () => {
    expect(codes(SEG())).toEqual([]);
    expect(codes(SEG("sparse_crossentropy"))).toEqual([]);
    expect(codes(SEG("binary_crossentropy", "conv 1x1x1 sigmoid"))).toEqual([]);
    expect(codes(SEG("mse", "conv 1x1x3"))).toEqual([]);
    expect(codes(SEG("crossentropy", "conv 1x1x2"))).toEqual(["NN4006"]);
    expect(codes(SEG("crossentropy", "conv 1x1x1 sigmoid"))).toEqual(["NN4006"]);
    expect(codes(SEG("binary_crossentropy", "conv 1x1x2 softmax"))).toEqual(["NN4006"]);
    expect(codes(SEG("crossentropy", "conv 1x1x2 softmax", 'npy(x: "x.npy", y: "masks.npy")', "  augment flip horizontal\n"))).toEqual(["NN4020"]);
  });

  it("says a source of one class per sample cannot train a model that ends in an image", () => {
    const text = AE("mnist(train: 500)", "mse", "conv 3x3x1 same");
    const d = codes(text);
    expect(d).toEqual(["NN4024"]);
    expect(codes(AE("mnist(train: 500)", "crossentropy", "conv 3x3x2 softmax same"))).toEqual(["NN4006"]);
  });
});

// ── loading ────────────────────────────────────────────────────────────────────────────────

const segOptions = (outputShape = [16, 16, 2], task: "classification" | "regression" = "classification") => ({ inputShape: [16, 16, 1], seed: 1, baseDir: dir, task, outputShape, outputs: outputShape.reduce((a, b) => a * b, 1), ...(task === "classification" ? { classes: Math.max(2, outputShape[2]!) } : {}) });

async function loadFailure(config: Parameters<typeof loadData>[0], o: Parameters<typeof loadData>[1]): Promise<string> {
  try {
    const d = await loadData(config, o);
    d.train.x?.dispose();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return (e as Error).message;
  }
  throw new Error("expected a DataError");
}

describe("per-pixel targets from NumPy and IDX", () => {
  it("reads masks as a class per pixel, whether HxW, HxWx1 or one-hot HxWxC", async () => {
    for (const y of ["masks.npy", "masks1.npy", "onehot.npy"]) {
      const d = await loadData({ source: "npy", x: "x.npy", y }, segOptions());
      expect(d.targetKind).toBe("classes");
      expect(d.targetSize).toBe(256);
      expect(d.classes).toBe(2);
      expect(Array.from(d.train.targets!.subarray(0, 256))).toEqual(Array.from(train120.masks.subarray(0, 256)));
      d.train.x!.dispose();
    }
  });

  it("names the file and both shapes when the masks do not fit the output", async () => {
    const m = await loadFailure({ source: "npy", x: "x.npy", y: "small_masks.npy" }, segOptions());
    expect(m).toContain('"small_masks.npy" has shape (120, 8, 8): 8x8 per sample, but the model gives 16x16x2 per sample');
    expect(m).toContain("(120, 16, 16) or (120, 16, 16, 1)");
    const one = await loadFailure({ source: "npy", x: "x.npy", y: "labels.npy" }, segOptions());
    expect(one).toContain("one class per sample");
    const big = await loadFailure({ source: "npy", x: "x.npy", y: "masks255.npy" }, segOptions([16, 16, 1]));
    expect(big).toMatch(/masks255\.npy.*is 255, out of range: the model has 2 classes per pixel.*mask \/\/ 255/);
  });

  it("reads target images for mse", async () => {
    const d = await loadData({ source: "npy", x: "x.npy", y: "masks1.npy" }, segOptions([16, 16, 1], "regression"));
    expect(d.targetSize).toBe(256);
    expect(d.targetKind).toBeUndefined();
    d.train.x!.dispose();
    const m = await loadFailure({ source: "npy", x: "x.npy", y: "small_masks.npy" }, segOptions([16, 16, 1], "regression"));
    expect(m).toContain("target images are shaped (120, 16, 16, 1)");
  });

  it("reads IDX masks [n, rows, cols] as a class per pixel, and IDX images alone for an autoencoder", async () => {
    const d = await loadData({ source: "idx", images: "images.idx", labels: "masks.idx" }, segOptions());
    expect(d.targetKind).toBe("classes");
    expect(Array.from(d.train.targets!.subarray(0, 256))).toEqual(Array.from(train120.masks.subarray(0, 256)));
    d.train.x!.dispose();
    const m = await loadFailure({ source: "idx", images: "images.idx", labels: "masks.idx" }, segOptions([8, 8, 2]));
    expect(m).toContain('"masks.idx" holds 16x16 masks (per-pixel labels), but the model gives 8x8x2 per sample');
    const alone = await loadData({ source: "idx", images: "images.idx", target: "input" }, { inputShape: [16, 16, 1], seed: 1, baseDir: dir });
    expect(alone.train.n).toBe(120);
    expect(alone.train.labels).toBeUndefined();
    alone.train.x!.dispose();
  });

  it("reads npy inputs alone with `targets: input`", async () => {
    const d = await loadData({ source: "npy", x: "x.npy", testX: "x_test.npy", target: "input" }, { inputShape: [16, 16, 1], seed: 1, baseDir: dir });
    expect(d.train.n).toBe(120);
    expect(d.test!.n).toBe(40);
    expect(d.description).toContain("the inputs as targets");
    d.train.x!.dispose();
    d.test!.x!.dispose();
  });
});

describe("batches", () => {
  it("turns a class per pixel into one-hot pixels, or 0/1 for one sigmoid channel", () => {
    const y = pixelTargets(Float32Array.from([0, 1, 1, 0]), [2, 2, 2]);
    expect(y.shape).toEqual([1, 2, 2, 2]);
    expect(Array.from(y.dataSync())).toEqual([1, 0, 0, 1, 0, 1, 1, 0]);
    const b = pixelTargets(Float32Array.from([0, 1, 1, 0]), [2, 2, 1]);
    expect(b.shape).toEqual([1, 2, 2, 1]);
    tf.dispose([y, b]);
  });

  it("gives an autoencoder its inputs before normalising as targets", async () => {
    const raw = tf.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
    const normalizer = restoreNormalizer({ kind: "scale", factor: 0.5 }, { factor: [0.5] });
    const batcher = new Batcher(normalizer, [2, 2, 1], "mse", 1, 1, [2, 2, 1], "input");
    const streamed = await batcher.of({ n: 2, read: async () => Float32Array.from(raw.dataSync()) }, Int32Array.from([0, 1]));
    expect(Array.from(streamed.y.dataSync())).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(streamed.x.dataSync())).toEqual([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]);
    const inMemory = await batcher.of({ n: 2, x: normalizer.apply(raw), raw }, Int32Array.from([1]));
    expect(Array.from(inMemory.y.dataSync())).toEqual([5, 6, 7, 8]);
    tf.dispose([raw, streamed.x, streamed.y, inMemory.x, inMemory.y]);
  });
});

// ── training and evaluating ────────────────────────────────────────────────────────────────

/** A small encoder–decoder on 16x16x1 ending in `channels` channels with `activation`. */
function encoderDecoder(channels: number, activation: "softmax" | "sigmoid" | "linear"): (seed: number) => tf.LayersModel {
  return (seed) => {
    const input = tf.input({ shape: [16, 16, 1] });
    let h = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: "same", activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(input) as tf.SymbolicTensor;
    h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.upSampling2d({ size: [2, 2] }).apply(h) as tf.SymbolicTensor;
    const out = tf.layers.conv2d({ filters: channels, kernelSize: 1, activation, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  };
}

const config = (overrides: Partial<TrainConfig>): TrainConfig => ballConfig({ normalize: { kind: "none" }, batch: 16, lr: 0.01, ...overrides });

describe("training", () => {
  it("trains a 2-class segmentation on npy masks, reports per-pixel accuracy, and nnc evaluate's numbers agree", async () => {
    const out = join(dir, "seg-run");
    const lines: string[] = [];
    const result = await train(encoderDecoder(2, "softmax"), config({ data: { source: "npy", x: "x.npy", y: "masks.npy", testX: "x_test.npy", testY: "masks_test.npy" }, loss: "crossentropy", epochs: 4 }), { backend: "cpu", out, baseDir: dir, log: (l) => lines.push(l), logJson: true });
    const history = result.history;
    expect(history[3]!.loss).toBeLessThan(history[0]!.loss);
    expect(history[3]!.acc!).toBeGreaterThan(0.9);
    expect(result.test!.acc!).toBeGreaterThan(0.9);
    const facts = JSON.parse(readFileSync(join(out, "data.json"), "utf8")) as Record<string, unknown>;
    expect(facts["task"]).toBe("segmentation");
    expect(facts["outputShape"]).toEqual([16, 16, 2]);
    const run = await openRun(out, { backend: "cpu" });
    try {
      expect(run.target).toBe("pixels");
      const data = await loadData({ source: "npy", x: "x_test.npy", y: "masks_test.npy" }, { inputShape: [16, 16, 1], seed: 0, baseDir: dir, task: "classification", classes: 2, outputShape: [16, 16, 2] });
      const ev = evaluationSamples(run, data);
      const e = await evaluateRun(run, ev.samples);
      expect(e.pixels).toBe(40 * 256);
      expect(e.accuracy).toBeCloseTo(result.test!.acc!, 5);
      expect(e.loss).toBeCloseTo(result.test!.loss, 4);
      expect(e.meanIou!).toBeGreaterThan(0.5);
      data.train.x!.dispose();
    } finally {
      run.dispose();
    }
  });

  it("trains one sigmoid channel with binary_crossentropy, and refuses masks of the wrong size by file and shape", async () => {
    const result = await train(encoderDecoder(1, "sigmoid"), config({ data: { source: "npy", x: "x.npy", y: "masks1.npy" }, loss: "binary_crossentropy", epochs: 3 }), { backend: "cpu", noSave: true, baseDir: dir, log: () => {} });
    expect(result.history[2]!.loss).toBeLessThan(result.history[0]!.loss);
    await expect(train(encoderDecoder(2, "softmax"), config({ data: { source: "npy", x: "x.npy", y: "small_masks.npy" }, loss: "crossentropy" }), { backend: "cpu", noSave: true, baseDir: dir, log: () => {} })).rejects.toThrow(/small_masks\.npy" has shape \(120, 8, 8\)/);
  });

  it("trains an autoencoder on its inputs as the source gives them, whatever the normalisation, and evaluates its MSE", async () => {
    const out = join(dir, "ae-run");
    const result = await train(encoderDecoder(1, "sigmoid"), config({ data: { source: "npy", x: "x.npy", testX: "x_test.npy", target: "input" }, normalize: { kind: "standard" }, loss: "binary_crossentropy", epochs: 3 }), { backend: "cpu", out, baseDir: dir, log: () => {} });
    expect(result.history[2]!.loss).toBeLessThan(result.history[0]!.loss);
    expect(result.history[0]!.acc).toBeUndefined();
    const facts = JSON.parse(readFileSync(join(out, "data.json"), "utf8")) as Record<string, unknown>;
    expect(facts["task"]).toBe("autoencoder");
    const run = await openRun(out, { backend: "cpu" });
    try {
      const data = await loadData({ source: "npy", x: "x_test.npy", target: "input" }, { inputShape: [16, 16, 1], seed: 0, baseDir: dir });
      const e = await evaluateRun(run, evaluationSamples(run, data).samples);
      expect(e.task).toBe("regression");
      expect(e.loss).toBeCloseTo(result.test!.loss, 4);
      expect(e.values).toBe(256);
      expect(e.mse!).toBeGreaterThan(0);
      data.train.x!.dispose();
    } finally {
      run.dispose();
    }
  });

  it("refuses binary_crossentropy on inputs outside [0, 1], and a model that does not give back its input's shape", async () => {
    const wide = join(dir, "wide.npy");
    writeFileSync(wide, npy("<f4", [4, 16, 16, 1], Array.from({ length: 1024 }, (_, i) => i - 500)));
    await expect(train(encoderDecoder(1, "sigmoid"), config({ data: { source: "npy", x: "wide.npy", target: "input" }, loss: "binary_crossentropy" }), { backend: "cpu", noSave: true, baseDir: dir, log: () => {} })).rejects.toThrow(/must lie in \[0, 1\].*from -500 to 523/);
    await expect(train(encoderDecoder(2, "sigmoid"), config({ data: { source: "npy", x: "x.npy", target: "input" }, loss: "mse" }), { backend: "cpu", noSave: true, baseDir: dir, log: () => {} })).rejects.toThrow(TrainError);
  });

  it("takes the user's tensors: masks for segmentation, and inputs alone for an autoencoder", async () => {
    const x = tf.tensor(train120.x, [120, 16, 16, 1]);
    const y = tf.tensor(train120.masks, [120, 16, 16], "int32");
    const seg = await train(encoderDecoder(2, "softmax"), config({ data: { source: "ball", dims: 1, n: 1, test: 0 }, loss: "crossentropy", epochs: 2 }), { backend: "cpu", noSave: true, log: () => {}, data: { train: { x, y } } });
    expect(seg.history[1]!.acc!).toBeGreaterThan(0.8);
    const ae = await train(encoderDecoder(1, "linear"), config({ data: { source: "ball", dims: 1, n: 1, test: 0, target: "input" }, loss: "mse", epochs: 2 }), { backend: "cpu", noSave: true, log: () => {}, data: { train: { x, y: tf.zeros([120]) } } });
    expect(ae.history[1]!.loss).toBeLessThan(ae.history[0]!.loss);
    tf.dispose([x, y]);
  });
});

// ── the CLI ────────────────────────────────────────────────────────────────────────────────

const python = "/usr/bin/python3";
const hasNumpy = spawnSync(python, ["-c", "import numpy"], { stdio: "ignore" }).status === 0;

describe.skipIf(!existsSync(CLI))("nnc check, train, evaluate and predict", () => {
  it("trains a conv autoencoder on mnist(train: 500) for one epoch, evaluates its MSE and says predict cannot show images", { timeout: 180_000 }, () => {
    const spec = join(dir, "ae.nn");
    writeFileSync(spec, AE("mnist(train: 500, test: 100, targets: input)", "binary_crossentropy", "conv 3x3x1 sigmoid same", "  optim adam lr 3e-3\n  epochs 1\n  seed 1\n"));
    expect(nnc(["check", spec]).code).toBe(0);
    const t = nnc(["train", spec, "--out", join(dir, "runs", "ae")], dir);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout + t.stderr).toMatch(/test loss [\d.]+/);
    const e = nnc(["evaluate", join(dir, "runs", "ae"), "--data", "mnist(train: 1, test: 100)"], dir);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/MSE\s+[\d.]+/);
    expect(e.stdout).toMatch(/MAE\s+[\d.]+/);
    const p = nnc(["predict", join(dir, "runs", "ae"), "--data", "mnist(train: 1, test: 10)"], dir);
    expect(p.code).toBe(1);
    expect(p.stderr).toContain("is an autoencoder: its model gives 28x28x1 per input");
    expect(p.stderr).not.toMatch(/\n\s+at /);
  });

  it.skipIf(!hasNumpy)("trains a 2-class segmentation on an .npz of squares and evaluates its per-pixel accuracy", { timeout: 180_000 }, () => {
    const script = `
import numpy as np, sys
rng = np.random.default_rng(0)
def make(n):
    y = np.zeros((n, 16, 16), np.uint8)
    for i in range(n):
        s = rng.integers(3, 8); r, c = rng.integers(0, 16 - s, 2)
        y[i, r:r+s, c:c+s] = 1
    x = (y * 0.8 + rng.random((n, 16, 16)) * 0.3).astype(np.float32)[..., None]
    return x, y
x, y = make(300); xt, yt = make(60)
np.savez(sys.argv[1], images=x, masks=y, test_images=xt, test_masks=yt)
`;
    const r = spawnSync(python, ["-c", script, join(dir, "seg.npz")], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const spec = join(dir, "seg.nn");
    const data = 'npz("seg.npz", x: "images", y: "masks", test_x: "test_images", test_y: "test_masks")';
    writeFileSync(spec, SEG("crossentropy", "conv 1x1x2 softmax", data, "  optim adam lr 1e-2\n  batch 16\n  epochs 3\n  seed 1\n"));
    expect(nnc(["check", spec]).code).toBe(0);
    const t = nnc(["train", spec, "--out", join(dir, "runs", "seg")], dir);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout + t.stderr).toMatch(/test: loss [\d.]+, acc 9\d\.\d+%/);
    const e = nnc(["evaluate", join(dir, "runs", "seg"), "--data", data, "--json"], dir);
    expect(e.code, e.stderr).toBe(0);
    const json = JSON.parse(e.stdout) as { pixels: number; accuracy: number; meanIou: number };
    expect(json.pixels).toBe(60 * 256);
    expect(json.accuracy).toBeGreaterThan(0.9);
    const bad = nnc(["evaluate", join(dir, "runs", "seg"), "--data", 'npz("seg.npz", x: "images", y: "images")'], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/images in "seg\.npz": images\[0, 0, 0, 0\] is [\d.]+, but a mask holds class numbers/);
    const labels = nnc(["evaluate", join(dir, "runs", "seg"), "--data", "mnist(train: 1, test: 10)"], dir);
    expect(labels.code).toBe(1);
    expect(labels.stderr).not.toMatch(/\n\s+at /);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
