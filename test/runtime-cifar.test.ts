/**
 * CIFAR-10/100 binary sources (issue 13): small batches written here in the distribution's
 * record format (label byte(s), then 1,024 red, 1,024 green, 1,024 blue bytes) with known
 * pixels, read back in height × width × channels order value for value; class names from the
 * meta files or the published ones; the parent-folder lookup; and every refusal (missing
 * batches, a truncated file, a label byte out of range, the wrong input, too little memory)
 * naming the file and, where there is one, the record and byte offset.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataConfig } from "../src/runtime/config.js";
import { CIFAR100_COARSE_NAMES, CIFAR100_FINE_NAMES, CIFAR10_NAMES, loadCifar } from "../src/runtime/data/cifar.js";
import { DataError, type LoadOptions } from "../src/runtime/data/common.js";
import type { Dataset } from "../src/runtime/data/samples.js";

let root: string;
beforeAll(async () => {
  await tf.setBackend("cpu");
  root = mkdtempSync(join(tmpdir(), "nnc-cifar-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The byte of image `k`, channel `c` (0 red, 1 green, 2 blue), row `i`, column `j`: every one distinct enough to catch a mixed-up layout. */
const pixel = (k: number, c: number, i: number, j: number): number => (k * 31 + c * 101 + i * 7 + j * 3) % 256;

/** Records of images `from`..`from + n − 1` with these label bytes before the pixels. */
function records(from: number, n: number, labels: (k: number) => number[]): Buffer {
  const chunks: Buffer[] = [];
  for (let k = from; k < from + n; k++) {
    const l = labels(k);
    const r = Buffer.alloc(l.length + 3072);
    r.set(l);
    for (let c = 0; c < 3; c++) for (let i = 0; i < 32; i++) for (let j = 0; j < 32; j++) r[l.length + c * 1024 + i * 32 + j] = pixel(k, c, i, j);
    chunks.push(r);
  }
  return Buffer.concat(chunks);
}

let counter = 0;
/** A fresh folder under the temp root holding `files`. */
function folder(files: Record<string, Buffer | string>): string {
  const dir = join(root, `case${counter++}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

const PER_BATCH = 4;
const label10 = (k: number): number[] => [k % 10];
/** A CIFAR-10 folder: five training batches of four images (0..19), a test batch of three (100..102). */
function cifar10Files(prefix = "", more: Record<string, Buffer | string> = {}): Record<string, Buffer | string> {
  const files: Record<string, Buffer | string> = {};
  for (let b = 1; b <= 5; b++) files[`${prefix}data_batch_${b}.bin`] = records((b - 1) * PER_BATCH, PER_BATCH, label10);
  files[`${prefix}test_batch.bin`] = records(100, 3, label10);
  return { ...files, ...more };
}

const opts = (baseDir: string, more: Partial<LoadOptions> = {}): LoadOptions => ({ inputShape: [32, 32, 3], seed: 1, baseDir, ...more });
type CifarConfig = Extract<DataConfig, { source: "cifar10" | "cifar100" }>;
const c10 = (path: string): CifarConfig => ({ source: "cifar10", path }) as CifarConfig;
const c100 = (path: string, labels: "fine" | "coarse"): CifarConfig => ({ source: "cifar100", path, labels }) as CifarConfig;

async function failure(config: CifarConfig, o: LoadOptions): Promise<DataError> {
  try {
    const d: Dataset = await loadCifar(config, o);
    d.train.x!.dispose();
    d.test?.x?.dispose();
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    return e;
  }
  throw new Error("expected a DataError");
}

/** Checks every value of `x` (n images, HWC) against `pixel` for images `ids`. */
function expectImages(x: Float32Array, ids: number[]): void {
  let wrong = 0;
  ids.forEach((k, s) => {
    for (let i = 0; i < 32; i++)
      for (let j = 0; j < 32; j++)
        for (let c = 0; c < 3; c++) if (x[s * 3072 + (i * 32 + j) * 3 + c] !== Math.fround(pixel(k, c, i, j) / 255)) wrong++;
  });
  expect(wrong).toBe(0);
}

describe("CIFAR-10", () => {
  it("reads the five batches and the test batch as HWC pixels in [0, 1], with the meta file's class names", async () => {
    const names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    const dir = folder(cifar10Files("", { "batches.meta.txt": names.join("\n") + "\n\n" }));
    const ds = await loadCifar(c10(dir), opts(root));
    expect(ds.train.x!.shape).toEqual([20, 32, 32, 3]);
    const x = (await ds.train.x!.data()) as Float32Array;
    // The red value of pixel (0, 1) of the first image is byte 1 + 1 of its record; green is 1 + 1024 + 1.
    const first = records(0, 1, label10);
    expect(x[3]).toBe(Math.fround(first[1 + 1]! / 255));
    expect(x[4]).toBe(Math.fround(first[1 + 1024 + 1]! / 255));
    expect(x[5]).toBe(Math.fround(first[1 + 2048 + 1]! / 255));
    // Row 1, column 0 of the second image comes after 32 pixels of its row 0.
    expect(x[3072 + 32 * 3 + 2]).toBe(Math.fround(pixel(1, 2, 1, 0) / 255));
    expectImages(x, Array.from({ length: 20 }, (_, k) => k));
    expect(Array.from(ds.train.labels!)).toEqual(Array.from({ length: 20 }, (_, k) => k % 10));
    expect(ds.test!.n).toBe(3);
    expectImages((await ds.test!.x!.data()) as Float32Array, [100, 101, 102]);
    expect(Array.from(ds.test!.labels!)).toEqual([0, 1, 2]);
    expect(ds.classes).toBe(10);
    expect(ds.classNames).toEqual(names);
    expect(ds.preprocess).toEqual({ kind: "image", height: 32, width: 32, channels: 3, fit: "crop" });
    expect(ds.description).toBe(`cifar10 ${JSON.stringify(dir)} (10 classes; 20 training images, 3 test images of 32x32x3)`);
    ds.train.x!.dispose();
    ds.test!.x!.dispose();
  });

  it("finds cifar-10-batches-bin inside the folder named, reads a relative path, and a flat input of 3,072 values", async () => {
    const dir = folder(cifar10Files("cifar-10-batches-bin/"));
    const name = dir.slice(root.length + 1);
    const ds = await loadCifar(c10(name), opts(root, { inputShape: [3072] }));
    expect(ds.train.x!.shape).toEqual([20, 3072]);
    expectImages((await ds.train.x!.data()) as Float32Array, Array.from({ length: 20 }, (_, k) => k));
    expect(ds.classNames).toEqual(CIFAR10_NAMES);
    expect(ds.description).toContain(`cifar10 ${JSON.stringify(join(name, "cifar-10-batches-bin"))}`);
    ds.train.x!.dispose();
    ds.test!.x!.dispose();
  });

  it("has no test split without test_batch.bin, says so, and uses the published names when the meta file does not list ten", async () => {
    const files = cifar10Files("", { "batches.meta.txt": "cat\ndog\n" });
    delete files["test_batch.bin"];
    const ds = await loadCifar(c10(folder(files)), opts(root));
    expect(ds.test).toBeUndefined();
    expect(ds.classNames).toEqual(CIFAR10_NAMES);
    expect(ds.description).toContain("batches.meta.txt lists 2 names, not 10, so the published class names are used; no test_batch.bin, so no test split");
    ds.train.x!.dispose();
  });

  it("refuses missing training batches, naming them and what the folder holds", async () => {
    const files = cifar10Files();
    delete files["data_batch_3.bin"];
    delete files["data_batch_5.bin"];
    const dir = folder(files);
    const e = await failure(c10(dir), opts(root));
    expect(e.message).toBe(
      `The CIFAR-10 folder ${JSON.stringify(dir)} lacks the training batches data_batch_3.bin, data_batch_5.bin. It holds: data_batch_1.bin, data_batch_2.bin, data_batch_4.bin, test_batch.bin. Was the archive extracted completely?`,
    );
    const empty = await failure(c10(folder({ "notes.txt": "hi" })), opts(root));
    expect(empty.message).toContain("has no training batches (data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin). It holds: notes.txt.");
    expect(empty.message).toContain("cifar-10-binary.tar.gz");
    const python = await failure(c10(folder({ "data_batch_1": "x", "batches.meta": "x" })), opts(root));
    expect(python.message).toContain("This looks like the Python version");
    const other = await failure(c10(folder({ "train.bin": "x", "test.bin": "x" })), opts(root));
    expect(other.message).toContain("This looks like the other CIFAR: read it with `cifar100(…)`");
  });

  it("refuses a folder that is not there, and the downloaded archive itself", async () => {
    const missing = await failure(c10("no-such-folder"), opts(root));
    expect(missing.message).toBe(`Cannot find the CIFAR-10 folder "no-such-folder": there is no ${join(root, "no-such-folder")}. Download the binary version (cifar-10-binary.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html and extract it: tar xzf cifar-10-binary.tar.gz.`);
    writeFileSync(join(root, "cifar-10-binary.tar.gz"), "x");
    const archive = await failure(c10("cifar-10-binary.tar.gz"), opts(root));
    expect(archive.message).toContain("is a file, not a folder");
    expect(archive.message).toContain("extract it (tar xzf cifar-10-binary.tar.gz)");
  });

  it("refuses a batch that is not a whole number of records, naming the file, its size and the record size", async () => {
    const files = cifar10Files();
    files["data_batch_2.bin"] = (files["data_batch_2.bin"] as Buffer).subarray(0, 3 * 3073 + 100);
    const dir = folder(files);
    const e = await failure(c10(dir), opts(root));
    expect(e.message).toContain(`The CIFAR-10 file ${JSON.stringify(join(dir, "data_batch_2.bin"))} has 9,319 bytes, which is not a whole number of 3,073-byte records (1 label byte + 3,072 pixel bytes): 3 records and 100 bytes over. Was the download cut short?`);
    expect(e.where).toEqual({ file: join(dir, "data_batch_2.bin"), offset: 3 * 3073 });
    files["data_batch_2.bin"] = Buffer.alloc(0);
    expect((await failure(c10(folder(files)), opts(root))).message).toContain("has 0 bytes, which is not a whole number of 3,073-byte records (1 label byte + 3,072 pixel bytes): it is empty");
  });

  it("refuses a label byte out of range, naming the file, the record and the byte offset", async () => {
    const files = cifar10Files();
    const batch = Buffer.from(files["data_batch_4.bin"] as Buffer);
    batch[2 * 3073] = 10;
    files["data_batch_4.bin"] = batch;
    const dir = folder(files);
    const e = await failure(c10(dir), opts(root));
    expect(e.message).toBe(`${JSON.stringify(join(dir, "data_batch_4.bin"))} record index 2 (byte offset 6,146): the label byte is 10, but CIFAR-10 labels are 0..9. Is the file damaged, or not a CIFAR-10 batch?`);
    expect(e.where).toEqual({ file: join(dir, "data_batch_4.bin"), offset: 6146 });
  });

  it("refuses a model that does not take 32x32x3 or has fewer than 10 classes, and data that will not fit in memory", async () => {
    const dir = folder(cifar10Files());
    const shape = await failure(c10(dir), opts(root, { inputShape: [28, 28, 1] }));
    expect(shape.message).toBe("CIFAR-10 gives 32x32x3 colour images (3,072 values), but the model takes 28x28x1 (784 values). Hint: give the model `input 32x32x3`.");
    const classes = await failure(c10(dir), opts(root, { classes: 5 }));
    expect(classes.message).toBe("CIFAR-10 has 10 classes, but the model distinguishes only 5.");
    const memory = await failure(c10(dir), opts(root, { memory: { bytes: 100_000, why: "the test allows 100 KB" } }));
    expect(memory.message).toContain(`The CIFAR-10 folder ${JSON.stringify(dir)} holds 23 images of 32x32x3: 70,656 float32 values`);
    expect(memory.message).toContain("But the test allows 100 KB");
  });
});

describe("CIFAR-100", () => {
  /** Coarse label k % 20, fine label (k * 3) % 100. */
  const labels100 = (k: number): number[] => [k % 20, (k * 3) % 100];

  it("reads fine labels (100 classes) from the second label byte, with fine_label_names.txt", async () => {
    const fine = Array.from({ length: 100 }, (_, i) => `fine${i}`);
    const dir = folder({
      "cifar-100-binary/train.bin": records(0, 7, labels100),
      "cifar-100-binary/test.bin": records(50, 2, labels100),
      "cifar-100-binary/fine_label_names.txt": fine.join("\n"),
      "cifar-100-binary/coarse_label_names.txt": "only\none\n",
    });
    const ds = await loadCifar(c100(dir, "fine"), opts(root));
    expect(ds.train.x!.shape).toEqual([7, 32, 32, 3]);
    expectImages((await ds.train.x!.data()) as Float32Array, [0, 1, 2, 3, 4, 5, 6]);
    expect(Array.from(ds.train.labels!)).toEqual([0, 3, 6, 9, 12, 15, 18]);
    expect(Array.from(ds.test!.labels!)).toEqual([50, 53]);
    expectImages((await ds.test!.x!.data()) as Float32Array, [50, 51]);
    expect(ds.classes).toBe(100);
    expect(ds.classNames).toEqual(fine);
    expect(ds.description).toBe(`cifar100 ${JSON.stringify(join(dir, "cifar-100-binary"))} (fine labels, 100 classes; 7 training images, 2 test images of 32x32x3)`);
    ds.train.x!.dispose();
    ds.test!.x!.dispose();
  });

  it("reads coarse labels (20 classes) from the first label byte, with the published names when there is no names file", async () => {
    const dir = folder({ "train.bin": records(0, 25, labels100) });
    const ds = await loadCifar(c100(dir, "coarse"), opts(root));
    expect(Array.from(ds.train.labels!)).toEqual(Array.from({ length: 25 }, (_, k) => k % 20));
    expect(ds.classes).toBe(20);
    expect(ds.classNames).toEqual(CIFAR100_COARSE_NAMES);
    expect(CIFAR100_COARSE_NAMES).toHaveLength(20);
    expect(CIFAR100_FINE_NAMES).toHaveLength(100);
    expect(new Set(CIFAR100_FINE_NAMES).size).toBe(100);
    expect(ds.test).toBeUndefined();
    expect(ds.description).toContain("no test.bin, so no test split");
    ds.train.x!.dispose();
  });

  it("refuses a fine label byte of 100 and a coarse one of 20, and a truncated train.bin, with 3,074-byte records", async () => {
    const bad = records(0, 3, labels100);
    bad[3074 + 1] = 100;
    const dir = folder({ "train.bin": bad });
    const e = await failure(c100(dir, "fine"), opts(root));
    expect(e.message).toBe(`${JSON.stringify(join(dir, "train.bin"))} record index 1 (byte offset 3,075): the fine label byte is 100, but CIFAR-100 fine labels are 0..99. Is the file damaged, or not a CIFAR-100 batch?`);
    expect(e.where).toEqual({ file: join(dir, "train.bin"), offset: 3075 });
    const coarse = records(0, 3, labels100);
    coarse[2 * 3074] = 20;
    expect((await failure(c100(folder({ "train.bin": coarse }), "coarse"), opts(root))).message).toContain("record index 2 (byte offset 6,148): the coarse label byte is 20");
    const cut = await failure(c100(folder({ "train.bin": records(0, 2, labels100).subarray(0, 3073 * 2) }), "fine"), opts(root));
    expect(cut.message).toContain("has 6,146 bytes, which is not a whole number of 3,074-byte records (2 label bytes + 3,072 pixel bytes): 1 record and 3,072 bytes over");
    const model = await failure(c100(folder({ "train.bin": records(0, 1, labels100) }), "fine"), opts(root, { classes: 20 }));
    expect(model.message).toBe("CIFAR-100 (fine labels) has 100 classes, but the model distinguishes only 20.");
  });
});
