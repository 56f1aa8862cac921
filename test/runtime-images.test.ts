/**
 * Image folders (`images(…)`) and `decodeImageFiles`: class folders and labels, channel
 * conversion, the three fits, PNG and JPEG of mixed sizes on both decoders, every mistake a
 * DataError naming the file or folder, `badFiles: "skip"`, streaming through a tiny cache,
 * concurrent reads, and workers that neither outlive `close()` nor keep a process alive.
 * Fixtures are written here with pngjs and jpeg-js.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import type { DataConfig, ImageFit } from "../src/runtime/config.js";
import { DataError, type LoadOptions } from "../src/runtime/data/common.js";
import type { Dataset } from "../src/runtime/data/samples.js";
import { decodeImageFiles, loadImageFolder, type ImageFolderTuning } from "../src/runtime/data/images/index.js";
import { DecodePool } from "../src/runtime/data/images/pool.js";

type Rgba = [number, number, number, number];
type ImagesConfig = Extract<DataConfig, { source: "images" }>;

const root = fileURLToPath(new URL("..", import.meta.url));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "nnc-images-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rgbaOf(w: number, h: number, px: (x: number, y: number) => Rgba): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data.set(px(x, y), (y * w + x) * 4);
  }
  return data;
}

/** A PNG of colour type 0 (grey), 2 (RGB), 4 (grey + alpha) or 6 (RGBA); grey types take the red value. */
function png(w: number, h: number, px: (x: number, y: number) => Rgba, colorType: 0 | 2 | 4 | 6 = 2): Buffer {
  const p = new PNG({ width: w, height: h });
  p.data = rgbaOf(w, h, px);
  return PNG.sync.write(p, { colorType, inputColorType: 6, inputHasAlpha: true });
}

function jpg(w: number, h: number, px: (x: number, y: number) => Rgba, quality = 100): Buffer {
  return Buffer.from(jpeg.encode({ data: rgbaOf(w, h, px), width: w, height: h }, quality).data);
}

const solid = (r: number, g: number, b: number, a = 255) => (): Rgba => [r, g, b, a];

/** Writes `files` (path relative to a new folder → bytes or text) and returns the folder. */
function folder(name: string, files: Record<string, Buffer | string>): string {
  const base = join(dir, name);
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(base, path)), { recursive: true });
    writeFileSync(join(base, path), bytes);
  }
  mkdirSync(base, { recursive: true });
  return base;
}

const config = (over: Partial<ImagesConfig> = {}): ImagesConfig => ({ source: "images", train: "train", fit: "stretch", badFiles: "error", ...over });
const opts = (baseDir: string, inputShape = [4, 4, 3], over: Partial<LoadOptions> = {}): LoadOptions => ({ inputShape, seed: 1, baseDir, ...over });

/** Loads, runs `use`, and always closes. */
async function withFolder<T>(c: ImagesConfig, o: LoadOptions, use: (d: Dataset) => Promise<T>, tuning?: ImageFolderTuning): Promise<T> {
  const d = await loadImageFolder(c, o, tuning);
  try {
    return await use(d);
  } finally {
    await d.close!();
  }
}

async function failure(c: ImagesConfig, o: LoadOptions, tuning?: ImageFolderTuning): Promise<DataError> {
  try {
    const d = await loadImageFolder(c, o, tuning);
    await d.close!();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error("expected a DataError");
}

const all = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
/** Sample `k`'s pixel (x, y) as 0..255 numbers, from values of h × w × c images. */
function pixel(values: Float32Array, k: number, h: number, w: number, c: number, x: number, y: number): number[] {
  const o = k * h * w * c + (y * w + x) * c;
  return Array.from(values.subarray(o, o + c), (v) => Math.round(v * 255));
}

describe("classes, labels and order", () => {
  test("class names are the sub-folders in code-unit order; samples by class, then path; hidden entries ignored", async () => {
    const base = folder("order", {
      "train/b/2.png": png(2, 2, solid(1, 1, 1)),
      "train/b/10.png": png(2, 2, solid(2, 2, 2)),
      "train/a/x.png": png(2, 2, solid(3, 3, 3)),
      "train/a/sub/y.png": png(2, 2, solid(4, 4, 4)),
      "train/a/.DS_Store": "junk",
      "train/.DS_Store": "junk",
      "train/.hidden/z.png": png(2, 2, solid(9, 9, 9)),
      "train/__MACOSX/a/._x.png": "junk",
      "train/B/only.png": png(2, 2, solid(5, 5, 5)),
      "train/ä/é.png": png(2, 2, solid(6, 6, 6)),
    });
    await withFolder(config(), opts(base, [2, 2, 3], { classes: 6 }), async (d) => {
      expect(d.classNames).toEqual(["B", "a", "b", "ä"]);
      expect(d.classes).toBe(6);
      const t = d.train;
      expect(t.n).toBe(6);
      expect(Array.from(t.labels!)).toEqual([0, 1, 1, 2, 2, 3]);
      expect(Array.from({ length: 6 }, (_, i) => t.where!(i))).toEqual([
        join("train", "B", "only.png"),
        join("train", "a", "sub", "y.png"),
        join("train", "a", "x.png"),
        join("train", "b", "10.png"),
        join("train", "b", "2.png"),
        join("train", "ä", "é.png"),
      ]);
      const x = await t.read!(all(6));
      expect([0, 1, 2, 3, 4, 5].map((k) => pixel(x, k, 2, 2, 3, 1, 1)[0])).toEqual([5, 4, 3, 2, 1, 6]);
      expect(d.preprocess).toEqual({ kind: "image", height: 2, width: 2, channels: 3, fit: "stretch" });
      expect(d.description).toBe('images "train" (6 images; 4 classes; fitted to 2x2x3 by stretch)');
      expect(d.validation).toBeUndefined();
      expect(d.test).toBeUndefined();
    });
  });

  test("validation and test folders take the training classes' labels, and may lack a class", async () => {
    const red = png(3, 3, solid(255, 0, 0));
    const base = folder("splits", {
      "train/cat/1.png": red,
      "train/dog/1.png": red,
      "train/emu/1.png": red,
      "val/dog/1.png": red,
      "val/dog/2.png": red,
      "val/emu/1.png": red,
      "test/cat/1.png": red,
      "test/emu/1.png": red,
    });
    await withFolder(config({ validation: "val", test: "test" }), opts(base), async (d) => {
      expect(Array.from(d.validation!.labels!)).toEqual([1, 1, 2]);
      expect(Array.from(d.test!.labels!)).toEqual([0, 2]);
      expect(d.test!.where!(1)).toBe(join("test", "emu", "1.png"));
      expect(pixel(await d.validation!.read!(Int32Array.of(2)), 0, 4, 4, 3, 0, 0)).toEqual([255, 0, 0]);
      expect(d.description).toContain('validation "val": 3 images; test "test": 2 images');
    });
  });
});

describe("channels and fits", () => {
  test("RGB becomes grey by BT.601 luma, grey becomes RGB, alpha is composited on black", async () => {
    const base = folder("channels", {
      "train/a/rgb.png": png(3, 3, solid(200, 100, 50)),
      "train/a/grey.png": png(3, 3, solid(77, 77, 77), 0),
      "train/a/rgba.png": png(3, 3, solid(255, 0, 100, 128), 6),
      "train/a/greya.png": png(3, 3, solid(200, 200, 200, 51), 4),
    });
    // Sample order: grey, greya, rgb, rgba.
    const luma = (r: number, g: number, b: number): number => (19595 * r + 38470 * g + 7471 * b + 32768) >> 16;
    const over = (v: number, a: number): number => Math.floor((v * a + 127) / 255);
    for (const decoders of ["auto", "sharp"] as const) {
      await withFolder(config(), opts(base, [3, 3, 1]), async (d) => {
        const x = await d.train.read!(all(4));
        expect(x.length).toBe(4 * 9);
        expect([0, 1, 2, 3].map((k) => pixel(x, k, 3, 3, 1, 1, 1)[0])).toEqual([77, over(200, 51), luma(200, 100, 50), luma(over(255, 128), 0, over(100, 128))]);
        expect(x[0]).toBeCloseTo(77 / 255, 6);
      }, { decoders });
      await withFolder(config(), opts(base, [3, 3, 3]), async (d) => {
        const x = await d.train.read!(all(4));
        expect([0, 1, 2, 3].map((k) => pixel(x, k, 3, 3, 3, 2, 0))).toEqual([
          [77, 77, 77],
          [over(200, 51), over(200, 51), over(200, 51)],
          [200, 100, 50],
          [over(255, 128), 0, over(100, 128)],
        ]);
      }, { decoders });
    }
  });

  // 40 wide, 16 high: red for x < 10, green for 10 ≤ x < 30, blue from x = 30.
  const bands = (x: number): Rgba => (x < 10 ? [255, 0, 0, 255] : x < 30 ? [0, 255, 0, 255] : [0, 0, 255, 255]);
  const RED = [255, 0, 0];
  const GREEN = [0, 255, 0];
  const BLUE = [0, 0, 255];
  const BLACK = [0, 0, 0];

  async function fitted(fit: ImageFit, decoders: "js" | "sharp", w = 40, h = 16, px: (x: number, y: number) => Rgba = (x) => bands(x)): Promise<number[][][]> {
    const base = folder(`fit-${fit}-${decoders}-${w}x${h}`, { "train/a/bands.png": png(w, h, px) });
    return withFolder(config({ fit }), opts(base, [10, 10, 3]), async (d) => {
      const x = await d.train.read!(Int32Array.of(0));
      return Array.from({ length: 10 }, (_, y) => Array.from({ length: 10 }, (_, xx) => pixel(x, 0, 10, 10, 3, xx, y)));
    }, { decoders });
  }

  for (const decoders of ["js", "sharp"] as const) {
    test(`crop keeps the middle of a wide image (${decoders})`, async () => {
      // Scaled by 10/16 to 25x10, the middle 10 columns are source x 11.2–27.2: all green.
      const img = await fitted("crop", decoders);
      for (const row of img) for (const p of row) expect(p).toEqual(GREEN);
    });

    test(`pad fits a wide image and centres it between black bars (${decoders})`, async () => {
      // Scaled by 1/4 to 10x4, at rows 3–6 of 10: three black rows above and below.
      const img = await fitted("pad", decoders);
      for (const y of [0, 1, 2, 7, 8, 9]) for (const p of img[y]!) expect(p).toEqual(BLACK);
      for (const y of [3, 4, 5, 6]) {
        expect(img[y]![0]).toEqual(RED);
        expect(img[y]![4]).toEqual(GREEN);
        expect(img[y]![5]).toEqual(GREEN);
        expect(img[y]![9]).toEqual(BLUE);
      }
      // A tall image gets bars left and right: 16x40 → 4x10 at columns 3–6.
      const tall = await fitted("pad", decoders, 16, 40, (_x, y) => bands(y));
      for (const row of tall) {
        for (const x of [0, 1, 2, 7, 8, 9]) expect(row[x]).toEqual(BLACK);
        for (const x of [3, 4, 5, 6]) expect(row[x]).not.toEqual(BLACK);
      }
      expect(tall[0]![4]).toEqual(RED);
      expect(tall[5]![4]).toEqual(GREEN);
      expect(tall[9]![4]).toEqual(BLUE);
    });

    test(`stretch squeezes the whole image to the input, ignoring its aspect (${decoders})`, async () => {
      const img = await fitted("stretch", decoders);
      for (const row of img) {
        expect(row[0]).toEqual(RED);
        expect(row[4]).toEqual(GREEN);
        expect(row[5]).toEqual(GREEN);
        expect(row[9]).toEqual(BLUE);
      }
    });
  }

  test("shrinking weighs every source pixel by a triangle filter (hand-computed)", async () => {
    // [0, 0, 255, 255] to 2 pixels: scale 2, the filter spans ±2 source pixels around 1.0 and 3.0:
    // out 0 = (0.75·0 + 0.75·0 + 0.25·255) / 1.75 = 36.4; out 1 = (0.25·0 + 0.75·255 + 0.75·255) / 1.75 = 218.6.
    const base = folder("triangle", { "train/a/ramp.png": png(4, 1, (x) => (x < 2 ? [0, 0, 0, 255] : [255, 255, 255, 255]), 0) });
    await withFolder(config(), opts(base, [1, 2, 1]), async (d) => {
      const x = await d.train.read!(Int32Array.of(0));
      expect(Array.from(x, (v) => Math.round(v * 255))).toEqual([36, 219]);
    });
  });

  test("PNG and JPEG of mixed sizes read side by side; sharp and the JS decoders agree on larger images", async () => {
    const smooth = (x: number, y: number): Rgba => [Math.round(128 + 100 * Math.sin(x / 20)), Math.round(128 + 100 * Math.cos(y / 15)), (x + y) % 256, 255];
    const base = folder("mixed", {
      "train/a/small.jpg": jpg(20, 30, solid(10, 200, 90)),
      "train/a/wide.png": png(64, 48, solid(10, 200, 90)),
      "train/a/tiny.png": png(8, 8, solid(10, 200, 90)),
      "train/b/photo.jpg": jpg(400, 300, smooth, 95),
      "train/b/photo.png": png(300, 260, smooth),
      "train/b/named-wrong.jpg": png(12, 12, solid(10, 200, 90)),
    });
    const read = (decoders: "js" | "sharp" | "auto"): Promise<Float32Array> =>
      withFolder(config({ fit: "crop" }), opts(base, [24, 24, 3]), (d) => d.train.read!(all(6)), { decoders });
    const js = await read("js");
    const sharp = await read("sharp");
    const auto = await read("auto");
    const size = 24 * 24 * 3;
    expect(js.length).toBe(6 * size);
    // Class a: named-wrong.jpg (a PNG), small.jpg, tiny.png, wide.png: one colour everywhere.
    for (const k of [0, 1, 2, 3]) {
      for (let p = 0; p < 24 * 24; p++) {
        const got = [0, 1, 2].map((c) => Math.round(js[k * size + p * 3 + c]! * 255));
        for (const [c, want] of [10, 200, 90].entries()) expect(Math.abs(got[c]! - want)).toBeLessThanOrEqual(k === 1 ? 3 : 0);
      }
    }
    // A PNG is lossless: where both decoders fit it the same way (the small ones), equal bytes.
    expect(sharp.subarray(0, size)).toEqual(js.subarray(0, size));
    // Larger images: libvips's resize (and JPEG shrink-on-load) against the JS one.
    // Measured: at most 11 levels apart (at the edges, where the filters treat the border
    // differently), about 1 on average; JPEG shrink-on-load's "fast" mode put rows half a row off
    // (40+ levels on this image) and is not used.
    let worst = 0;
    let sum = 0;
    for (let j = 4 * size; j < 6 * size; j++) {
      const diff = Math.abs(js[j]! - sharp[j]!);
      worst = Math.max(worst, diff);
      sum += diff;
    }
    expect(worst).toBeLessThan(16 / 255);
    expect(sum / (2 * size)).toBeLessThan(2 / 255);
    // auto: the JS decoders for the small images, sharp for the large.
    expect(auto.subarray(0, 4 * size)).toEqual(js.subarray(0, 4 * size));
    expect(auto.subarray(4 * size)).toEqual(sharp.subarray(4 * size));
  });
});

describe("mistakes are DataErrors naming the folder or file", () => {
  const ok = png(2, 2, solid(1, 2, 3));

  test("a missing folder, a file instead of a folder, no class folders", async () => {
    const base = folder("structure", { "file.png": ok, "empty/.DS_Store": "x" });
    let e = await failure(config({ train: "nope" }), opts(base));
    expect(e.message).toMatch(/Cannot find the training image folder "nope": there is no .*nope/);
    expect(e.where?.file).toBe(join(base, "nope"));
    e = await failure(config({ train: "file.png" }), opts(base));
    expect(e.message).toContain('The training image folder "file.png" is a file, not a folder');
    e = await failure(config({ train: "empty" }), opts(base));
    expect(e.message).toContain('The training image folder "empty" has no class sub-folders');
    expect(e.where?.file).toBe(join(base, "empty"));
  });

  test("images beside the class folders; an empty class folder; more classes than the model has", async () => {
    const base = folder("classes", {
      "loose/cat/1.png": ok,
      "loose/stray.png": ok,
      "loose/.hidden.png": ok,
      "hollow/cat/1.png": ok,
      "hollow/dog/.DS_Store": "x",
      "many/a/1.png": ok,
      "many/b/1.png": ok,
      "many/c/1.png": ok,
    });
    let e = await failure(config({ train: "loose" }), opts(base));
    expect(e.message).toContain(`${JSON.stringify(join("loose", "stray.png"))} is directly in the training image folder "loose", but images must be in one sub-folder per class`);
    expect(e.where?.file).toBe(join(base, "loose", "stray.png"));
    e = await failure(config({ train: "hollow" }), opts(base));
    expect(e.message).toContain(`The class folder ${JSON.stringify(join("hollow", "dog"))} holds no files`);
    expect(e.where?.file).toBe(join(base, "hollow", "dog"));
    e = await failure(config({ train: "many" }), opts(base, [4, 4, 3], { classes: 2 }));
    expect(e.message).toContain('has 3 class folders ("a", "b", "c"), but the model distinguishes only 2 classes');
  });

  test("a model input that is not HxWx1 or HxWx3 says what an image source needs", async () => {
    const base = folder("shape", { "train/a/1.png": ok });
    for (const shape of [[784], [28, 28, 2], [28, 28]]) {
      const e = await failure(config(), opts(base, shape));
      expect(e.message).toContain("gives images, so the model's input must be HxWx1 (grey) or HxWx3 (RGB)");
      expect(e.where?.file).toBe(join(base, "train"));
    }
  });

  test("a validation class the training folder lacks", async () => {
    const base = folder("extra", { "train/cat/1.png": ok, "val/cat/1.png": ok, "val/cow/1.png": ok });
    const e = await failure(config({ validation: "val" }), opts(base));
    expect(e.message).toContain('The validation image folder "val" has a class folder "cow" that the training folder "train" does not have');
    expect(e.where?.file).toBe(join(base, "val", "cow"));
  });

  const good = png(6, 6, solid(9, 9, 9));
  const goodJpg = jpg(6, 6, solid(9, 9, 9));
  const corruptIdat = Buffer.from(good);
  corruptIdat[45] = corruptIdat[45]! ^ 0xff; // inside IDAT: its CRC no longer matches, the end is intact
  const bad: [string, Buffer | string, RegExp][] = [
    ["notes.png", "just some text\n", /is a text file, not an image/],
    ["anim.jpg", Buffer.concat([Buffer.from("GIF89a"), Buffer.alloc(20)]), /is a GIF image, not a PNG or JPEG one/],
    ["cut.png", good.subarray(0, good.length - 20), /is a damaged PNG image: it does not end with the IEND chunk .* and decoding it fails/],
    ["cut.jpg", goodJpg.subarray(0, Math.floor(goodJpg.length * 0.8)), /is a damaged JPEG image/],
    ["empty.png", "", /is empty \(0 bytes\)/],
    ["zero.png", png(1, 1, solid(0, 0, 0)).fill(0, 16, 24), /is a damaged PNG image: the checksum \(CRC\) of its IHDR/],
  ];
  for (const [name, bytes, message] of bad) {
    test(`${name}: ${message.source.slice(0, 40)}…, and skipped and counted with badFiles: skip`, async () => {
      const base = folder(`bad-${name}`, { "train/a/1.png": good, "train/a/2.jpg": goodJpg, [`train/b/${name}`]: bytes, "train/b/ok.png": good });
      const e = await failure(config(), opts(base));
      expect(e.message).toMatch(message);
      expect(e.message).toContain(JSON.stringify(join("train", "b", name)));
      expect(e.message).toContain("bad_files: skip");
      expect(e.where?.file).toBe(join(base, "train", "b", name));
      await withFolder(config({ badFiles: "skip" }), opts(base), async (d) => {
        expect(d.train.n).toBe(3);
        expect(d.train.where!(2)).toBe(join("train", "b", "ok.png"));
        expect(d.description).toContain(`; 1 file skipped: not images (the first: ${JSON.stringify(join("train", "b", name))}`);
        await d.train.read!(all(3));
      });
    });
  }

  test("with badFiles: skip, the count covers every split, and a class left with no images is an error", async () => {
    const base = folder("skip-count", {
      "train/a/1.png": good,
      "train/a/x.txt": "no",
      "train/a/y.txt": "no",
      "train/b/1.png": good,
      "val/a/z.txt": "no",
      "val/b/1.png": good,
      "gone/a/1.png": good,
      "gone/b/only.txt": "no",
    });
    await withFolder(config({ badFiles: "skip", validation: "val" }), opts(base), async (d) => {
      expect(d.train.n).toBe(2);
      expect(d.validation!.n).toBe(1);
      expect(d.description).toContain("; 3 files skipped: not images");
    });
    const e = await failure(config({ badFiles: "skip", train: "gone" }), opts(base));
    expect(e.message).toContain(`The class folder ${JSON.stringify(join("gone", "b"))} holds no images: its 1 file was skipped as not images`);
  });

  test("a file whose header is sound but whose data is damaged fails when read, naming it", async () => {
    const base = folder("late", { "train/a/1.png": good, "train/a/2.png": corruptIdat });
    for (const decoders of ["js", "sharp"] as const) {
      await withFolder(config({ badFiles: "skip" }), opts(base), async (d) => {
        expect(d.train.n).toBe(2);
        const e = await d.train.read!(all(2)).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(DataError);
        expect((e as DataError).message).toContain(`Cannot decode the image ${JSON.stringify(join("train", "a", "2.png"))} (a PNG image of 6x6 by its header)`);
        expect((e as DataError).where?.file).toBe(join(base, "train", "a", "2.png"));
        // The other sample still reads.
        expect(pixel(await d.train.read!(Int32Array.of(0)), 0, 4, 4, 3, 0, 0)).toEqual([9, 9, 9]);
      }, { decoders });
    }
  });
});

describe("streaming", () => {
  const many: Record<string, Buffer> = {};
  for (let i = 0; i < 24; i++) many[`train/${["x", "y", "z"][i % 3]}/${String(i).padStart(2, "0")}.png`] = png(9 + (i % 5), 7 + (i % 3), (x, y) => [(i * 10 + x) % 256, (y * 30) % 256, i % 256, 255]);

  test("a tiny cache gives the values of the cached path; concurrent, overlapping reads agree", async () => {
    const base = folder("stream", many);
    const cached = await withFolder(config({ fit: "pad" }), opts(base, [8, 8, 3]), async (d) => {
      const first = await d.train.read!(all(24));
      expect(await d.train.read!(all(24))).toEqual(first);
      return first;
    });
    // Half of opts.memory is the budget: 700 bytes hold three 8x8x3 images.
    await withFolder(config({ fit: "pad" }), opts(base, [8, 8, 3], { memory: { bytes: 1400, why: "test" } }), async (d) => {
      const order = Int32Array.from([5, 3, 23, 0, 5, 17, 9, 3]);
      const reads = await Promise.all([d.train.read!(all(24)), d.train.read!(order), d.train.read!(all(24).reverse()), d.train.read!(all(24))]);
      const size = 8 * 8 * 3;
      expect(reads[0]).toEqual(cached);
      expect(reads[3]).toEqual(cached);
      order.forEach((i, k) => expect(reads[1]!.subarray(k * size, (k + 1) * size)).toEqual(cached.subarray(i * size, (i + 1) * size)));
      for (let k = 0; k < 24; k++) expect(reads[2]!.subarray(k * size, (k + 1) * size)).toEqual(cached.subarray((23 - k) * size, (24 - k) * size));
    });
  });

  test("a folder that fits is decoded once; one larger than the budget is decoded again each pass", async () => {
    const base = folder("once", many);
    const victim = join(base, "train", "x", "00.png");
    const keep = readFileSync(victim);
    try {
      await withFolder(config(), opts(base, [8, 8, 3]), async (d) => {
        const first = await d.train.read!(all(24));
        unlinkSync(victim);
        expect(await d.train.read!(all(24))).toEqual(first);
      });
      writeFileSync(victim, keep);
      await withFolder(config(), opts(base, [8, 8, 3], { memory: { bytes: 0, why: "test" } }), async (d) => {
        await d.train.read!(all(24));
        unlinkSync(victim);
        const e = await d.train.read!(all(24)).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(DataError);
        expect((e as DataError).message).toContain(`Cannot read the image ${JSON.stringify(join("train", "x", "00.png"))}`);
        expect((e as DataError).message).toContain("Was it moved or deleted after training started?");
      });
    } finally {
      writeFileSync(victim, keep);
    }
  });

  test("decodeImageFiles prepares a file exactly as training reads it, and names a file it cannot use", async () => {
    const base = folder("predict", { "train/a/p.jpg": jpg(37, 23, (x, y) => [x * 6, y * 10, 128, 255], 90), "train/b/q.png": png(300, 280, (x, y) => [x % 256, y % 256, 7, 255]), "note.txt": "hello" });
    for (const fit of ["crop", "pad", "stretch"] as const) {
      const trained = await withFolder(config({ fit }), opts(base, [16, 12, 1]), (d) => d.train.read!(all(2)));
      const files = [join(base, "train", "a", "p.jpg"), join(base, "train", "b", "q.png")];
      expect(await decodeImageFiles(files, { height: 16, width: 12, channels: 1, fit })).toEqual(trained);
    }
    const prep = { height: 4, width: 4, channels: 3, fit: "crop" as const };
    await expect(decodeImageFiles([join(base, "note.txt")], prep)).rejects.toThrow(`The file ${join(base, "note.txt")} is a text file, not an image`);
    await expect(decodeImageFiles([join(base, "missing.png")], prep)).rejects.toThrow(`Cannot find the image ${join(base, "missing.png")}`);
  });

  test("after close() reads fail; from a bundled build, a process exits whether or not it closed", async () => {
    const base = folder("close", many);
    const d = await loadImageFolder(config(), opts(base));
    await d.train.read!(all(3));
    await d.close!();
    await expect(d.train.read!(Int32Array.of(20))).rejects.toThrow(/closed|after close/);

    // The worker is a string evaluated at run time, so a bundle (as dist/nnc.mjs is built) runs
    // it; the bundle sits under node_modules/.cache so that its packages resolve from there.
    const esbuild = createRequire(import.meta.url)("esbuild") as typeof import("esbuild");
    mkdirSync(join(root, "node_modules", ".cache"), { recursive: true });
    const out = mkdtempSync(join(root, "node_modules", ".cache", "nnc-images-test-"));
    try {
      await esbuild.build({ entryPoints: [join(root, "src", "runtime", "data", "images", "index.ts")], bundle: true, platform: "node", format: "esm", packages: "external", outfile: join(out, "images.mjs"), logLevel: "silent" });
      const script = (close: boolean): string =>
        `import { loadImageFolder, decodeImageFiles } from ${JSON.stringify(join(out, "images.mjs"))};
         const d = await loadImageFolder({ source: "images", train: "train", fit: "crop", badFiles: "error" }, { inputShape: [5, 5, 1], seed: 1, baseDir: ${JSON.stringify(base)} });
         const x = await d.train.read(Int32Array.from([0, 1, 2, 3]));
         const y = await decodeImageFiles([${JSON.stringify(resolve(base, "train", "x", "00.png"))}], { height: 5, width: 5, channels: 1, fit: "crop" });
         ${close ? "await d.close();" : ""}
         console.log("read", x.length, y.length, x.subarray(0, 25).every((v, i) => v === y[i]));`;
      for (const close of [true, false]) {
        const started = Date.now();
        const child = spawnSync(process.execPath, ["--input-type=module", "-e", script(close)], { encoding: "utf8", timeout: 40_000 });
        expect(child.stderr).toBe("");
        expect(child.stdout.trim()).toBe("read 100 25 true");
        expect(child.status).toBe(0);
        // A worker left ref'd would hold the process until the timeout kills it.
        expect(Date.now() - started).toBeLessThan(35_000);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 90_000);
});

test("close() while the workers decode rejects what is pending, lets each finish its image, and leaves none running", async () => {
  // Terminating a worker in the middle of a PNG (pngjs inflates with zlib) can abort the whole
  // process in Node 20 ("close before init"); close() lets a busy worker leave between images.
  const base = folder("close-busy", { "a.png": png(64, 64, (x, y) => [x * 4, y * 4, (x * y) & 255, 255]) });
  const file = join(base, "a.png");
  const items = Array.from({ length: 1000 }, () => ({ file, format: "png" as const, width: 64, height: 64 }));
  // Both workers are busy at every close (1,000 images): none may be terminated.
  const terminate = vi.spyOn(Worker.prototype, "terminate");
  for (let round = 0; round < 20; round++) {
    const pool = new DecodePool(2, "js");
    const pending = pool.decode(items, { height: 16, width: 16, channels: 3, fit: "crop" }).then(
      () => "decoded",
      (e: Error) => e.message,
    );
    await new Promise((r) => setTimeout(r, 10 * (round % 10)));
    const started = performance.now();
    await pool.close();
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(pool.running).toBe(0);
    expect(await pending).toBe("the image decoders were closed");
    await expect(pool.decode(items.slice(0, 1), { height: 4, width: 4, channels: 1, fit: "crop" })).rejects.toThrow(/after close/);
  }
  expect(terminate).not.toHaveBeenCalled();
  terminate.mockRestore();
}, 60_000);

test("a truncated file found when indexing is reported before any decoding, with its size in the header", async () => {
  const base = folder("cut-early", { "train/a/1.png": png(5, 5, solid(1, 1, 1)) });
  truncateSync(join(base, "train", "a", "1.png"), 20);
  const e = await failure(config(), opts(base));
  expect(e.message).toContain("is a damaged PNG image: it ends after 20 bytes, inside its header");
});
