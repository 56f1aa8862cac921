/**
 * Data that is too large or hostile (issue 12): a message quotes at most 60 characters of a
 * user's cell or column name; a gzip IDX file is decompressed only as far as its header
 * promises, and a header that promises more than memory (or a typed array) can hold is
 * refused before its data is read; synthetic data that will not fit is refused before it is
 * made, with the numbers.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadData, type LoadOptions } from "../src/runtime/data/index.js";
import { dataFailure } from "./runtime-helpers.js";

let dir: string;
beforeAll(async () => {
  await tf.setBackend("cpu");
  dir = mkdtempSync(join(tmpdir(), "nnc-data-limits-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const opts = (inputShape: number[], extra: Partial<LoadOptions> = {}): LoadOptions => ({ inputShape, seed: 1, baseDir: dir, ...extra });
const write = (name: string, content: string | Uint8Array): string => {
  writeFileSync(join(dir, name), content);
  return name;
};

const failure = dataFailure;

/** An IDX images header: magic 0x00000803 and the sizes, big-endian. */
function imagesHeader(n: number, rows: number, cols: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x803);
  v.setUint32(4, n);
  v.setUint32(8, rows);
  v.setUint32(12, cols);
  return b;
}

describe("messages quote at most 60 characters of the user's data", () => {
  it("of a 10 MB CSV cell", async () => {
    const cell = "x".repeat(10_000_000);
    const path = write("huge-cell.csv", `a,b,label\n1,${cell},0\n`);
    const e = await failure({ source: "csv", path, label: "label" }, opts([2]));
    expect(e.message).toContain(`expected a number, found "${"x".repeat(60)}…" (10,000,000 characters)`);
    expect(e.message.length).toBeLessThan(400);
    expect(e.where).toEqual({ file: join(dir, path), row: 2, column: 2 });
  });

  it("of a 10 MB column name, a label and a number too long to be one", async () => {
    const name = "n".repeat(10_000_000);
    const started = performance.now();
    const e = await failure({ source: "csv", path: write("huge-name.csv", `${name},b\n1,2\n`), label: "label" }, opts([1]));
    expect(e.message).toContain(`Its columns are: "${"n".repeat(60)}…" (10,000,000 characters), "b".`);
    expect(e.message.length).toBeLessThan(400);
    // The 10 MB name is not run through the edit distance for "did you mean".
    expect(performance.now() - started).toBeLessThan(5000);
    const l = await failure({ source: "csv", path: write("huge-label.csv", `a,label\n1,${"q".repeat(100_000)}\n2,1\n`), label: "label" }, opts([1]));
    expect(l.message).toMatch(/mixes class numbers and class names: this row has "q{60}…" \(100,000 characters\), row 3 has "1"/);
    const big = await failure({ source: "csv", path: write("huge-number.csv", `a,label\n${"9".repeat(100_000)},0\n`), label: "label" }, opts([1]));
    expect(big.message).toContain(`${"9".repeat(60)}… (100,000 characters) is too large for a 32-bit float`);
    expect(big.message.length).toBeLessThan(400);
  });
});

describe("a gzip IDX file", () => {
  it("is decompressed no further than its header promises: a small bomb is refused early", async () => {
    // 10 images of 28x28 promised, then 2 GB of zeros: 128 gzip members of 16 MB each, ~2 MB in all.
    const member = gzipSync(new Uint8Array(16 * 2 ** 20), { level: 9 });
    const head = gzipSync(imagesHeader(10, 28, 28));
    const bomb = Buffer.concat([head, ...Array.from({ length: 128 }, () => member)]);
    expect(bomb.length).toBeLessThan(4 * 2 ** 20);
    const labels = write("bomb-labels.idx", Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const peakBefore = process.resourceUsage().maxRSS;
    const e = await failure({ source: "idx", images: write("bomb.gz", bomb), labels }, opts([28, 28, 1]));
    expect(e.message).toContain('The IDX images file "bomb.gz" has bytes after the 7,856 bytes its header promises, from byte offset 7,856 (in the decompressed data); nnc stopped decompressing it there.');
    expect(e.where).toEqual({ file: join(dir, "bomb.gz"), offset: 7856 });
    // Decompressing all of it would have taken 2 GB.
    expect((process.resourceUsage().maxRSS - peakBefore) / 1024).toBeLessThan(300);
  });

  it("whose header promises more than can be held is refused before its data is decompressed", async () => {
    const labels = write("few-labels.idx", Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 1, 0]));
    const e = await failure({ source: "idx", images: write("many.gz", gzipSync(imagesHeader(4_000_000_000, 28, 28))), labels }, opts([784]));
    expect(e.message).toContain('The IDX images file "many.gz" promises 4,000,000,000 images of 28x28: 3,136,000,000,000 float32 values, more than a JavaScript typed array can hold');
    const budget = { bytes: 100 * 2 ** 20, why: "the test allows 100 MB" };
    const m = await failure({ source: "idx", images: write("some.gz", gzipSync(imagesHeader(60_000, 28, 28))), labels }, opts([784], { memory: budget }));
    expect(m.message).toBe(
      'The IDX images file "some.gz" promises 60,000 images of 28x28: 47,040,000 float32 values (179 MB), which training holds twice while it splits and normalises them: about 359 MB. But the test allows 100 MB, which leaves 100 MB for the data. Hint: train on fewer images.',
    );
    // The model's input is checked from the header too, before the data.
    const s = await failure({ source: "idx", images: write("wrong-size.gz", gzipSync(imagesHeader(2_000_000_000, 32, 32))), labels }, opts([784]));
    expect(s.message).toContain('"wrong-size.gz" holds 32x32 images (1,024 values), but the model takes a vector of 784 values');
  });
});

describe("synthetic data that will not fit", () => {
  it("is refused before it is made, with the numbers", async () => {
    const n = await failure({ source: "ball", dims: 10, n: 1e9, test: 0 }, opts([10]));
    expect(n.message).toBe(
      "ball(dims: 10, n: 1,000,000,000) makes 1,000,000,000 points of 10 features: 10,000,000,000 float32 values, more than a JavaScript typed array can hold (4,294,967,295). Hint: lower n (or dims).",
    );
    const budget = { bytes: 2 ** 30, why: "the wasm backend can use at most 4 GB (WebAssembly's 32-bit address space); training the model itself takes about 3 GB of it" };
    const dims = await failure({ source: "ball", dims: 1e7, n: 100, test: 0 }, opts([1e7], { memory: budget }));
    expect(dims.message).toBe(
      "ball(dims: 10,000,000, n: 100) makes 100 points of 10,000,000 features: 1,000,000,000 float32 values (3.7 GB), which training holds twice while it splits and normalises them: about 7.5 GB. But the wasm backend can use at most 4 GB (WebAssembly's 32-bit address space); training the model itself takes about 3 GB of it, which leaves 1 GB for the data. Hint: lower n (or dims).",
    );
    const fits = await loadData({ source: "ball", dims: 10, n: 100, test: 0 }, opts([10], { memory: budget }));
    expect(fits.train.x!.shape).toEqual([100, 10]);
    fits.train.x!.dispose();
  });
});
