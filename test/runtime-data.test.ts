/**
 * The runtime's data layer: the four sources (real MNIST digits from the `mnist` package, the
 * synthetic ball, CSV and IDX files written here into a temporary folder), every DataError a
 * user can cause, the normaliser and image augmentation. Runs on TensorFlow.js's `cpu` backend.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { augmentBatch, seededRandom } from "../src/runtime/data/augment.js";
import { DataError, loadData, type Dataset, type LoadOptions } from "../src/runtime/data/index.js";
import { fitNormalizer, restoreNormalizer } from "../src/runtime/data/normalize.js";
import type { DataConfig } from "../src/runtime/config.js";

let dir: string;

beforeAll(async () => {
  await tf.setBackend("cpu");
  dir = mkdtempSync(join(tmpdir(), "nnc-data-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const opts = (inputShape: number[], extra: Partial<LoadOptions> = {}): LoadOptions => ({ inputShape, seed: 1, baseDir: dir, ...extra });

function dispose(d: Dataset): void {
  d.train.x!.dispose();
  d.test?.x?.dispose();
}

/** The DataError that loading `config` fails with; fails the test if it loads or throws anything else. */
async function failure(config: DataConfig, o: LoadOptions): Promise<DataError> {
  const before = tf.memory().numTensors;
  try {
    const d = await loadData(config, o);
    dispose(d);
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    expect(tf.memory().numTensors).toBe(before);
    return e as DataError;
  }
  throw new Error(`expected ${JSON.stringify(config)} to fail with a DataError`);
}

const write = (name: string, content: string | Uint8Array): string => {
  writeFileSync(join(dir, name), content);
  return name;
};

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync() as Float32Array);

describe("mnist", () => {
  it("loads the package's 8,000 training and 1,756 test digits as 28x28x1 images in [0, 1]", async () => {
    const d = await loadData({ source: "mnist", train: 8000, test: 2000 }, opts([28, 28, 1]));
    try {
      expect(d.train.x!.shape).toEqual([8000, 28, 28, 1]);
      expect(d.train.x!.dtype).toBe("float32");
      expect(d.train.labels!.length).toBe(8000);
      expect(d.test?.x?.shape).toEqual([1756, 28, 28, 1]);
      expect(d.test?.labels?.length).toBe(1756);
      expect(d.classes).toBe(10);
      expect(d.description).toContain("8,000 training digits");
      expect(d.description).toContain("1,756 test digits");
      const perClass = new Array(10).fill(0);
      for (const y of d.train.labels!) perClass[y]++;
      expect(perClass).toEqual(new Array(10).fill(800));
      expect(Math.min(...d.test!.labels!)).toBe(0);
      expect(Math.max(...d.test!.labels!)).toBe(9);
      const [lo, hi] = tf.tidy(() => [tf.min(d.train.x!).dataSync()[0], tf.max(d.train.x!).dataSync()[0]]);
      expect(lo).toBe(0);
      expect(hi).toBe(1);
    } finally {
      dispose(d);
    }
  });

  it("uses the same digits as the package's own split, in an order set by the seed", async () => {
    const pkg = createRequire(import.meta.url)("mnist") as Record<number, { raw: number[] }>;
    let expected = 0;
    for (let c = 0; c < 10; c++) for (let p = 0; p < 100 * 784; p++) expected += pkg[c]!.raw[p]!;
    const a = await loadData({ source: "mnist", train: 1000, test: 0 }, opts([784], { seed: 3 }));
    const b = await loadData({ source: "mnist", train: 1000, test: 0 }, opts([784], { seed: 3 }));
    const c = await loadData({ source: "mnist", train: 1000, test: 0 }, opts([784], { seed: 4 }));
    try {
      expect(values(a.train.x!).reduce((s, v) => s + v, 0)).toBeCloseTo(expected, 0);
      expect(Array.from(a.train.labels!)).toEqual(Array.from(b.train.labels!));
      expect(values(a.train.x!)).toEqual(values(b.train.x!));
      expect(Array.from(a.train.labels!)).not.toEqual(Array.from(c.train.labels!));
    } finally {
      [a, b, c].forEach(dispose);
    }
  });

  it("reshapes to 784 values and uses exactly the number of digits asked for", async () => {
    const d = await loadData({ source: "mnist", train: 95, test: 0 }, opts([784]));
    try {
      expect(d.train.x!.shape).toEqual([95, 784]);
      expect(d.test?.x).toBeUndefined();
      expect(d.test?.labels).toBeUndefined();
      expect(d.description).toBe("mnist (95 training digits)");
      expect(d.train.labels!.every((y) => y >= 0 && y <= 9)).toBe(true);
    } finally {
      dispose(d);
    }
  });

  it("refuses a model that takes 32x32x3 images, naming both shapes", async () => {
    const e = await failure({ source: "mnist", train: 100, test: 10 }, opts([32, 32, 3]));
    expect(e.message).toContain("mnist gives 28x28x1 images (784 values)");
    expect(e.message).toContain("32x32x3 (3,072 values)");
  });

  it("refuses more training digits than the package has", async () => {
    const e = await failure({ source: "mnist", train: 9000, test: 10 }, opts([784]));
    expect(e.message).toContain("8,000");
  });
});

describe("ball", () => {
  const norms = (d: Dataset, dims: number): number[] => {
    const v = values(d.train.x!);
    return Array.from({ length: d.train.labels!.length }, (_, k) => Math.hypot(...v.slice(k * dims, (k + 1) * dims)));
  };

  it("gives the same points for the same seed and different points for another", async () => {
    const a = await loadData({ source: "ball", dims: 10, n: 200, test: 0 }, opts([10], { seed: 7 }));
    const b = await loadData({ source: "ball", dims: 10, n: 200, test: 0 }, opts([10], { seed: 7 }));
    const c = await loadData({ source: "ball", dims: 10, n: 200, test: 0 }, opts([10], { seed: 8 }));
    try {
      expect(values(a.train.x!)).toEqual(values(b.train.x!));
      expect(Array.from(a.train.labels!)).toEqual(Array.from(b.train.labels!));
      expect(values(a.train.x!)).not.toEqual(values(c.train.x!));
    } finally {
      [a, b, c].forEach(dispose);
    }
  });

  it("is balanced within a few percent, and class 0 points really lie inside half the radius", async () => {
    const d = await loadData({ source: "ball", dims: 10, n: 2000, test: 500 }, opts([10], { seed: 42 }));
    try {
      expect(d.train.x!.shape).toEqual([2000, 10]);
      expect(d.test?.x?.shape).toEqual([500, 10]);
      expect(d.classes).toBe(2);
      const zeros = d.train.labels!.filter((y) => y === 0).length;
      expect(Math.abs(zeros / 2000 - 0.5)).toBeLessThan(0.03);
      const r = norms(d, 10);
      d.train.labels!.forEach((y, k) => {
        expect(r[k]!).toBeLessThanOrEqual(1 + 1e-6);
        if (y === 0) expect(r[k]!).toBeLessThan(0.5);
        else expect(r[k]!).toBeGreaterThanOrEqual(0.5);
      });
    } finally {
      dispose(d);
    }
  });

  it("draws the training points the same way whatever the test size", async () => {
    const a = await loadData({ source: "ball", dims: 3, n: 50, test: 0 }, opts([3]));
    const b = await loadData({ source: "ball", dims: 3, n: 50, test: 20 }, opts([3]));
    try {
      expect(values(a.train.x!)).toEqual(values(b.train.x!));
      expect(b.description).toBe("ball (50 points in 3 dimensions, 20 test points)");
    } finally {
      [a, b].forEach(dispose);
    }
  });

  it("refuses a model whose input is not a vector of dims values", async () => {
    const e = await failure({ source: "ball", dims: 10, n: 10, test: 0 }, opts([5]));
    expect(e.message).toContain("10 features");
    expect(e.message).toContain("a vector of 5 values");
  });
});

describe("csv", () => {
  it("reads quoted fields, CRLF, blank lines and a trailing newline, and reshapes to the input", async () => {
    write("good.csv", '"a","b",label,c\r\n1, 2 ,0,3\r\n\r\n"4.5",-1e2,1,"7"\r\n\r\n0,0,2,.5\r\n');
    const d = await loadData({ source: "csv", path: "good.csv", label: "label" }, opts([3]));
    try {
      expect(d.train.x!.shape).toEqual([3, 3]);
      expect(values(d.train.x!)).toEqual([1, 2, 3, 4.5, -100, 7, 0, 0, 0.5]);
      expect(Array.from(d.train.labels!)).toEqual([0, 1, 2]);
      expect(d.classes).toBe(3);
      expect(d.classNames).toBeUndefined();
      expect(d.test?.x).toBeUndefined();
      const e = await loadData({ source: "csv", path: "good.csv", label: "label" }, opts([3, 1]));
      expect(e.train.x!.shape).toEqual([3, 3, 1]);
      dispose(e);
    } finally {
      dispose(d);
    }
  });

  it("maps class names to classes in sorted order, with commas and line breaks inside quotes", async () => {
    write("names.csv", 'x1,x2,species\n1,2,"wild, setosa"\n3,4,versicolor\n5,6,"two\nlines"\n7,8,"wild, setosa"\n');
    const d = await loadData({ source: "csv", path: "names.csv", label: "species" }, opts([2]));
    try {
      expect(d.classNames).toEqual(["two\nlines", "versicolor", "wild, setosa"]);
      expect(Array.from(d.train.labels!)).toEqual([2, 1, 0, 2]);
      expect(d.classes).toBe(3);
    } finally {
      dispose(d);
    }
  });

  it("counts rows as lines of the file, even after a quoted line break", async () => {
    write("late.csv", 'x,y\n"1\n",0\n2,0\nthree,1\n');
    const e = await failure({ source: "csv", path: "late.csv", label: "y" }, opts([1]));
    expect(e.where).toMatchObject({ row: 5, column: 1 });
  });

  it("says which file is missing", async () => {
    const e = await failure({ source: "csv", path: "nowhere/missing.csv", label: "y" }, opts([2]));
    expect(e.message).toContain('"nowhere/missing.csv"');
    expect(e.where?.file).toBe(join(dir, "nowhere/missing.csv"));
  });

  it("says a folder is not a file", async () => {
    mkdirSync(join(dir, "folder.csv"), { recursive: true });
    const e = await failure({ source: "csv", path: "folder.csv", label: "y" }, opts([2]));
    expect(e.message).toContain('"folder.csv" is a folder');
  });

  it("lists the columns and suggests the nearest when the label column does not exist", async () => {
    write("cols.csv", "width,height,label\n1,2,0\n");
    const e = await failure({ source: "csv", path: "cols.csv", label: "lable" }, opts([2]));
    expect(e.message).toContain('"cols.csv" has no column "lable"');
    expect(e.message).toContain('"width", "height", "label"');
    expect(e.message).toContain('Did you mean "label"?');
    expect(e.where).toMatchObject({ file: join(dir, "cols.csv"), row: 1 });
  });

  it("reports a ragged row with the expected and found field counts", async () => {
    write("ragged.csv", "a,b,y\n1,2,0\n3,1\n");
    const e = await failure({ source: "csv", path: "ragged.csv", label: "y" }, opts([2]));
    expect(e.message).toContain('"ragged.csv" row 3: expected 3 fields (as in the header), found 2.');
    expect(e.where).toMatchObject({ file: join(dir, "ragged.csv"), row: 3 });
  });

  it("reports a non-numeric value with its row, column name and the value", async () => {
    write("text.csv", "a,b,y\n1,2,0\n3,n/a,1\n");
    const e = await failure({ source: "csv", path: "text.csv", label: "y" }, opts([2]));
    expect(e.message).toContain('"text.csv" row 3, column "b" (2): expected a number, found "n/a".');
    expect(e.where).toMatchObject({ row: 3, column: 2 });
    write("blank-value.csv", "a,b,y\n1,,0\n");
    const f = await failure({ source: "csv", path: "blank-value.csv", label: "y" }, opts([2]));
    expect(f.message).toContain("found an empty field");
  });

  it("reports an empty file, and a header with no rows", async () => {
    write("empty.csv", "");
    expect((await failure({ source: "csv", path: "empty.csv", label: "y" }, opts([2]))).message).toContain('"empty.csv" is empty');
    write("blank.csv", "\n\r\n  \n");
    expect((await failure({ source: "csv", path: "blank.csv", label: "y" }, opts([2]))).message).toContain('"blank.csv" is empty');
    write("header.csv", "a,b,y\n");
    expect((await failure({ source: "csv", path: "header.csv", label: "y" }, opts([2]))).message).toContain("no data rows");
  });

  it("reports too few feature columns for the model", async () => {
    write("narrow.csv", "a,b,y\n1,2,0\n");
    const e = await failure({ source: "csv", path: "narrow.csv", label: "y" }, opts([28, 28, 1]));
    expect(e.message).toContain('"narrow.csv" has 2 feature columns besides the label "y"');
    expect(e.message).toContain("28x28x1 (784 values)");
  });

  it("reports bad labels: fractional, mixed with names, or beyond the model's classes", async () => {
    write("frac.csv", "a,y\n1,0\n2,0.5\n");
    const frac = await failure({ source: "csv", path: "frac.csv", label: "y" }, opts([1]));
    expect(frac.message).toContain('"frac.csv" row 3, column "y" (2): expected a class number');
    write("mixed.csv", "a,y\n1,0\n2,1\n3,?\n");
    const mixed = await failure({ source: "csv", path: "mixed.csv", label: "y" }, opts([1]));
    expect(mixed.message).toContain('row 4, column "y" (2): the label column mixes class numbers and class names');
    write("many.csv", "a,y\n1,0\n2,3\n");
    const many = await failure({ source: "csv", path: "many.csv", label: "y" }, opts([1], { classes: 3 }));
    expect(many.message).toContain("row 3");
    expect(many.message).toContain("the model has 3 classes (0..2)");
  });

  it("reports a quote that is never closed", async () => {
    write("open.csv", 'a,y\n1,0\n"2,1\n');
    const e = await failure({ source: "csv", path: "open.csv", label: "y" }, opts([1]));
    expect(e.message).toContain('"open.csv" row 3, column 1: a quoted field is never closed');
  });
});

describe("idx", () => {
  const header = (magic: number, dims: number[]): Uint8Array => {
    const b = new Uint8Array(4 + 4 * dims.length);
    const v = new DataView(b.buffer);
    v.setUint32(0, magic);
    dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
    return b;
  };
  const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
  const images = (n: number, rows: number, cols: number): Uint8Array =>
    cat(header(0x803, [n, rows, cols]), Uint8Array.from({ length: n * rows * cols }, (_, i) => (i * 37) % 256));
  const labels = (ys: number[]): Uint8Array => cat(header(0x801, [ys.length]), Uint8Array.from(ys));

  beforeAll(() => {
    write("img.idx", images(5, 4, 3));
    write("lbl.idx", labels([0, 1, 2, 3, 4]));
    write("img.idx.gz", gzipSync(images(5, 4, 3)));
    write("lbl.gz", gzipSync(labels([0, 1, 2, 3, 4])));
  });

  it("reads images and labels, scales pixels to [0, 1] and reshapes to the input", async () => {
    for (const shape of [[4, 3, 1], [4, 3], [12]]) {
      const d = await loadData({ source: "idx", images: "img.idx", labels: "lbl.idx" }, opts(shape));
      try {
        expect(d.train.x!.shape).toEqual([5, ...shape]);
        expect(values(d.train.x!)).toEqual(Array.from({ length: 60 }, (_, i) => Math.fround(((i * 37) % 256) / 255)));
        expect(Array.from(d.train.labels!)).toEqual([0, 1, 2, 3, 4]);
        expect(d.classes).toBe(5);
      } finally {
        dispose(d);
      }
    }
  });

  it("reads gzip files by their magic bytes, whatever their names", async () => {
    const d = await loadData({ source: "idx", images: "img.idx.gz", labels: "lbl.gz" }, opts([4, 3, 1]));
    try {
      expect(d.train.x!.shape).toEqual([5, 4, 3, 1]);
      expect(Array.from(d.train.labels!)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      dispose(d);
    }
  });

  it("notices images and labels swapped, or a labels file given as images", async () => {
    const swapped = await failure({ source: "idx", images: "lbl.idx", labels: "img.idx" }, opts([12]));
    expect(swapped.message).toContain("swapped");
    expect(swapped.message).toContain('"lbl.idx" holds labels (magic 0x00000801)');
    expect(swapped.where).toMatchObject({ file: join(dir, "lbl.idx"), offset: 0 });
    const both = await failure({ source: "idx", images: "lbl.idx", labels: "lbl.idx" }, opts([12]));
    expect(both.message).toContain('The IDX images file "lbl.idx" looks like an IDX labels file (magic 0x00000801)');
  });

  it("says what a file that is not IDX starts with", async () => {
    write("png.idx", Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]));
    const e = await failure({ source: "idx", images: "png.idx", labels: "lbl.idx" }, opts([12]));
    expect(e.message).toContain('"png.idx" is not an IDX file: it starts with 89 50 4e 47');
    expect(e.message).toContain("00 00 08 03");
    write("floats.idx", header(0x00000d03, [1, 1, 1]));
    const f = await failure({ source: "idx", images: "floats.idx", labels: "lbl.idx" }, opts([1]));
    expect(f.message).toContain("holds 32-bit floats in 3 dimensions");
  });

  it("reports truncated data with the bytes expected and found and the offset where it ends", async () => {
    write("short.idx", images(5, 4, 3).subarray(0, 16 + 55));
    const e = await failure({ source: "idx", images: "short.idx", labels: "lbl.idx" }, opts([12]));
    expect(e.message).toContain('"short.idx" is truncated');
    expect(e.message).toContain("5 images of 4x3, which is 60 bytes after the 16-byte header, but only 55 bytes follow");
    expect(e.where).toMatchObject({ file: join(dir, "short.idx"), offset: 71 });
    write("stub.idx", images(5, 4, 3).subarray(0, 10));
    const h = await failure({ source: "idx", images: "stub.idx", labels: "lbl.idx" }, opts([12]));
    expect(h.message).toContain("truncated inside its header: expected 16 header bytes, found 10");
    write("long.idx", cat(labels([0, 1, 2, 3, 4]), Uint8Array.from([9, 9])));
    const t = await failure({ source: "idx", images: "img.idx", labels: "long.idx" }, opts([12]));
    expect(t.message).toContain("has 2 bytes after the 5 labels its header promises, from byte offset 13");
    expect(t.where?.offset).toBe(13);
  });

  it("reports truncated gzip data as offsets in the decompressed bytes", async () => {
    write("short.gz", gzipSync(images(5, 4, 3).subarray(0, 30)));
    const e = await failure({ source: "idx", images: "short.gz", labels: "lbl.idx" }, opts([12]));
    expect(e.message).toContain("in the decompressed data");
    write("broken.gz", Uint8Array.from([0x1f, 0x8b, 1, 2, 3, 4, 5]));
    const b = await failure({ source: "idx", images: "broken.gz", labels: "lbl.idx" }, opts([12]));
    expect(b.message).toContain('"broken.gz" starts like a gzip file but does not decompress');
  });

  it("reports a different number of images and labels", async () => {
    write("four.idx", labels([0, 1, 2, 3]));
    const e = await failure({ source: "idx", images: "img.idx", labels: "four.idx" }, opts([12]));
    expect(e.message).toContain('"img.idx" holds 5 images but "four.idx" holds 4 labels');
    expect(e.where).toMatchObject({ file: join(dir, "four.idx"), offset: 4 });
  });

  it("reports images that do not fit the model's input", async () => {
    const e = await failure({ source: "idx", images: "img.idx", labels: "lbl.idx" }, opts([28, 28, 1]));
    expect(e.message).toContain('"img.idx" holds 4x3 images (12 values), but the model takes 28x28x1 (784 values)');
    expect(e.where?.file).toBe(join(dir, "img.idx"));
  });

  it("reports a label beyond 9, or beyond the model's classes, with its byte offset", async () => {
    write("twelve.idx", labels([0, 1, 12, 3, 4]));
    const e = await failure({ source: "idx", images: "img.idx", labels: "twelve.idx" }, opts([12]));
    expect(e.message).toContain('"twelve.idx" byte offset 10 (label 3): the label 12 is out of range; IDX labels are digit classes 0..9');
    expect(e.where).toMatchObject({ file: join(dir, "twelve.idx"), offset: 10 });
    const f = await failure({ source: "idx", images: "img.idx", labels: "lbl.idx" }, opts([12], { classes: 3 }));
    expect(f.message).toContain("byte offset 11 (label 4): the label 3 is out of range; the model has 3 classes (0..2)");
  });

  it("says a folder or a missing path is not a file", async () => {
    mkdirSync(join(dir, "images-folder"), { recursive: true });
    const e = await failure({ source: "idx", images: "images-folder", labels: "lbl.idx" }, opts([12]));
    expect(e.message).toContain('"images-folder" is a folder, not a file');
    const m = await failure({ source: "idx", images: "img.idx", labels: "gone.idx" }, opts([12]));
    expect(m.message).toContain('Cannot find the IDX labels file "gone.idx"');
  });
});

describe("normalize", () => {
  it("standardises with the training set's statistics, also when applied to test data", async () => {
    const train = tf.tensor2d([[0, 10], [2, 10], [4, 10]]);
    const test = tf.tensor2d([[2, 11], [6, 10]]);
    const n = await fitNormalizer({ kind: "standard" }, train);
    const sd = Math.sqrt(8 / 3);
    expect(n.stats["mean"]).toEqual([2, 10]);
    expect(n.stats["std"]![0]).toBeCloseTo(sd, 5);
    // A feature constant in training is divided by 1, so a new value stays finite.
    expect(n.stats["std"]![1]).toBe(1);
    const a = n.apply(train);
    const b = n.apply(test);
    expect(values(a)[0]).toBeCloseTo(-2 / sd, 5);
    expect(values(b)).toEqual([0, 1, expect.closeTo(4 / sd, 5), 0]);
    tf.dispose([train, test, a, b]);
  });

  it("keeps its statistics as plain arrays that restore the same normaliser from JSON", async () => {
    const before = tf.memory().numTensors;
    const train = tf.randomUniform([20, 4, 4, 1], 0, 1, "float32", 1) as tf.Tensor4D;
    const n = await fitNormalizer({ kind: "standard" }, train);
    const saved = JSON.parse(JSON.stringify(n.stats)) as Record<string, number[]>;
    expect(Array.isArray(saved["mean"])).toBe(true);
    expect(saved["mean"]).toHaveLength(16);
    const restored = restoreNormalizer({ kind: "standard" }, saved);
    const a = n.apply(train);
    const b = restored.apply(train);
    expect(a.shape).toEqual([20, 4, 4, 1]);
    expect(values(b)).toEqual(values(a));
    const [mean, variance] = tf.tidy(() => {
      const m = tf.moments(a, 0);
      return [values(tf.mean(m.mean)), values(tf.mean(m.variance))];
    });
    expect(mean![0]).toBeCloseTo(0, 5);
    expect(variance![0]).toBeCloseTo(1, 4);
    tf.dispose([train, a, b]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("maps training data to [0, 1] with minmax and test data by the same min and max", async () => {
    const train = tf.tensor2d([[1, -5], [3, 5]]);
    const test = tf.tensor2d([[5, 0]]);
    const n = await fitNormalizer({ kind: "minmax" }, train);
    expect(n.stats).toEqual({ min: [1, -5], max: [3, 5] });
    const a = n.apply(train);
    const b = n.apply(test);
    expect(values(a)).toEqual([0, 0, 1, 1]);
    expect(values(b)).toEqual([2, 0.5]);
    tf.dispose([train, test, a, b]);
  });

  it("scales by a factor, and leaves data alone with none (as a new tensor)", async () => {
    const x = tf.tensor2d([[255, 51]]);
    const s = await fitNormalizer({ kind: "scale", factor: 1 / 255 }, x);
    const a = s.apply(x);
    expect(values(a)).toEqual([expect.closeTo(1, 6), expect.closeTo(0.2, 6)]);
    expect(s.stats).toEqual({ factor: [1 / 255] });
    const none = await fitNormalizer({ kind: "none" }, x);
    const b = none.apply(x);
    b.dispose();
    expect(values(x)).toEqual([255, 51]);
    expect(none.stats).toEqual({});
    tf.dispose([x, a]);
  });

  it("refuses a batch with a different number of features than it was fitted on", async () => {
    const x = tf.tensor2d([[1, 2]]);
    const n = await fitNormalizer({ kind: "standard" }, x);
    const y = tf.tensor2d([[1, 2, 3]]);
    expect(() => n.apply(y)).toThrow(/fitted on 2 features/);
    tf.dispose([x, y]);
  });
});

describe("augment", () => {
  /** Two 2x3 single-channel images: 0..5 and 10..15. */
  const batch = (): tf.Tensor4D => tf.tensor4d([0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15], [2, 2, 3, 1]);
  const always = (v: number) => () => v;

  it("gives the same sequence for the same seed, in [0, 1)", () => {
    const a = seededRandom(5);
    const b = seededRandom(5);
    const c = seededRandom(6);
    const xs = Array.from({ length: 1000 }, a);
    expect(Array.from({ length: 1000 }, b)).toEqual(xs);
    expect(Array.from({ length: 1000 }, c)).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / 1000 - 0.5)).toBeLessThan(0.05);
  });

  it("mirrors images left-right or top-bottom when the coin says so", () => {
    const x = batch();
    const h = augmentBatch(x, [{ kind: "flip", direction: "horizontal" }], always(0));
    expect(values(h)).toEqual([2, 1, 0, 5, 4, 3, 12, 11, 10, 15, 14, 13]);
    const v = augmentBatch(x, [{ kind: "flip", direction: "vertical" }], always(0));
    expect(values(v)).toEqual([3, 4, 5, 0, 1, 2, 13, 14, 15, 10, 11, 12]);
    const kept = augmentBatch(x, [{ kind: "flip", direction: "horizontal" }], always(0.9));
    expect(values(kept)).toEqual(values(x));
    tf.dispose([x, h, v, kept]);
  });

  it("flips about half of a batch, each image either kept or mirrored", () => {
    const x = tf.randomUniform([200, 4, 5, 3], 0, 1, "float32", 2) as tf.Tensor4D;
    const mirrored = tf.reverse(x, 2);
    const out = augmentBatch(x, [{ kind: "flip", direction: "horizontal" }], seededRandom(9));
    expect(out.shape).toEqual([200, 4, 5, 3]);
    const o = values(out);
    const [keep, flip] = [values(x), values(mirrored)];
    let flipped = 0;
    for (let i = 0; i < 200; i++) {
      const img = o.slice(i * 60, (i + 1) * 60);
      const isKept = img.every((v, j) => v === keep[i * 60 + j]);
      const isFlipped = img.every((v, j) => v === flip[i * 60 + j]);
      expect(isKept || isFlipped).toBe(true);
      if (isFlipped) flipped++;
    }
    expect(flipped).toBeGreaterThan(70);
    expect(flipped).toBeLessThan(130);
    tf.dispose([x, mirrored, out]);
  });

  it("is the identity for a full-size crop with no padding", () => {
    const x = tf.randomUniform([8, 6, 5, 2], 0, 1, "float32", 3) as tf.Tensor4D;
    const out = augmentBatch(x, [{ kind: "crop", height: 6, width: 5, pad: 0 }], seededRandom(1));
    expect(out.shape).toEqual([8, 6, 5, 2]);
    expect(values(out)).toEqual(values(x));
    tf.dispose([x, out]);
  });

  it("crops from the zero-padded image at the offset the random numbers pick", () => {
    const x = batch();
    const topLeft = augmentBatch(x, [{ kind: "crop", height: 2, width: 3, pad: 1 }], always(0));
    expect(values(topLeft)).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 10, 11]);
    const bottomRight = augmentBatch(x, [{ kind: "crop", height: 2, width: 3, pad: 1 }], always(0.999));
    expect(values(bottomRight)).toEqual([4, 5, 0, 0, 0, 0, 14, 15, 0, 0, 0, 0]);
    const small = augmentBatch(x, [{ kind: "crop", height: 1, width: 2, pad: 0 }], seededRandom(4));
    expect(small.shape).toEqual([2, 1, 2, 1]);
    expect(() => augmentBatch(x, [{ kind: "crop", height: 5, width: 3, pad: 1 }], always(0))).toThrow(/larger than the padded 4x5 image/);
    tf.dispose([x, topLeft, bottomRight, small]);
  });

  it("shifts brightness by at most B and scales contrast around each image's mean", () => {
    const x = tf.randomUniform([50, 4, 4, 3], 0, 1, "float32", 4) as tf.Tensor4D;
    const bright = augmentBatch(x, [{ kind: "jitter", brightness: 0.2, contrast: 0 }], seededRandom(2));
    const [hi, lo] = tf.tidy(() => {
      const diff = tf.sub(bright, x);
      return [values(tf.max(diff, [1, 2, 3])), values(tf.min(diff, [1, 2, 3]))];
    });
    hi!.forEach((h, i) => {
      expect(h - lo![i]!).toBeLessThan(1e-5);
      expect(Math.abs(h)).toBeLessThanOrEqual(0.2 + 1e-6);
    });
    const contrast = augmentBatch(x, [{ kind: "jitter", brightness: 0, contrast: 0.5 }], seededRandom(2));
    const means = (t: tf.Tensor): number[] => tf.tidy(() => values(tf.mean(t, [1, 2, 3])));
    const original = means(x);
    means(contrast).forEach((m, i) => expect(m).toBeCloseTo(original[i]!, 5));
    expect(values(contrast)).not.toEqual(values(x));
    tf.dispose([x, bright, contrast]);
  });

  it("keeps shapes, repeats itself for the same seed and leaks no tensors", () => {
    const x = tf.randomUniform([16, 8, 8, 3], 0, 1, "float32", 5) as tf.Tensor4D;
    const all = [
      { kind: "flip", direction: "horizontal" },
      { kind: "flip", direction: "vertical" },
      { kind: "crop", height: 8, width: 8, pad: 2 },
      { kind: "jitter", brightness: 0.1, contrast: 0.1 },
    ] as const;
    const first = augmentBatch(x, [...all], seededRandom(11));
    const before = tf.memory().numTensors;
    const second = augmentBatch(x, [...all], seededRandom(11));
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(second.shape).toEqual([16, 8, 8, 3]);
    expect(values(second)).toEqual(values(first));
    const none = augmentBatch(x, [], seededRandom(1));
    expect(none).not.toBe(x);
    tf.dispose([first, second, none]);
    expect(tf.memory().numTensors).toBe(before - 1);
    x.dispose();
  });
});
