/**
 * Bad data (issue 6, item 5), beyond the cases in runtime-data.test.ts: values that are not
 * finite numbers, labels out of the model's range (the class count the compiler writes into
 * the recipe), and the hint each error carries. Every one is a DataError naming the file and
 * the row and column (CSV) or byte offset (IDX).
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadData, type LoadOptions } from "../src/runtime/data/index.js";
import { dataFailure } from "./runtime-helpers.js";
import { idx } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  await tf.setBackend("cpu");
  dir = mkdtempSync(join(tmpdir(), "nnc-bad-data-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const opts = (inputShape: number[]): LoadOptions => ({ inputShape, seed: 1, baseDir: dir });
const write = (name: string, content: string | Uint8Array): string => {
  writeFileSync(join(dir, name), content);
  return name;
};

const failure = dataFailure;


describe("CSV values that are not finite numbers", () => {
  for (const [cell, expected] of [
    ["NaN", "Missing or infinite values cannot be trained on"],
    ["-Infinity", "Missing or infinite values cannot be trained on"],
    ["inf", "Missing or infinite values cannot be trained on"],
    ["1e400", "too large for a 32-bit float"],
    ["-4e38", "too large for a 32-bit float"],
  ] as const) {
    it(`refuses ${cell} with its row and column`, async () => {
      const path = write(`v-${cell}.csv`, `a,b,y\n1,2,0\n3,${cell},1\n`);
      const e = await failure({ source: "csv", path, label: "y" }, opts([2]));
      expect(e.message).toContain(`"${path}" row 3, column "b" (2)`);
      expect(e.message).toContain(expected);
      expect(e.where).toMatchObject({ file: join(dir, path), row: 3, column: 2 });
    });
  }

  it("still reads the largest float32 and tiny numbers", async () => {
    const path = write("edge.csv", "a,y\n3.4e38,0\n1e-50,1\n-0,0\n");
    const d = await loadData({ source: "csv", path, label: "y" }, opts([1]));
    expect(Array.from(d.train.x!.dataSync())).toEqual([Math.fround(3.4e38), 0, -0]);
    d.train.x!.dispose();
  });
});

describe("labels out of the model's range, from the class count in the recipe", () => {
  it("refuses a CSV label at or beyond the classes, or negative, with its row", async () => {
    const path = write("labels.csv", "a,y\n1,0\n2,2\n3,3\n");
    const e = await failure({ source: "csv", path, label: "y", classes: 3 }, opts([1]));
    expect(e.message).toContain(`"${path}" row 4, column "y" (2): the label 3 is out of range: the model has 3 classes (0..2).`);
    expect(e.where).toMatchObject({ row: 4, column: 2 });
    const neg = write("neg.csv", "a,y\n1,0\n2,-1\n");
    const n = await failure({ source: "csv", path: neg, label: "y", classes: 3 }, opts([1]));
    expect(n.message).toContain(`"${neg}" row 3, column "y" (2): expected a class number (a whole number from 0), found "-1".`);
  });

  it("refuses more class names than the model has classes", async () => {
    const path = write("names.csv", "a,y\n1,cat\n2,dog\n3,emu\n");
    const e = await failure({ source: "csv", path, label: "y", classes: 2 }, opts([1]));
    expect(e.message).toContain("has 3 class names");
    expect(e.message).toContain("distinguishes only 2 classes");
  });

  it("refuses an IDX label beyond the classes with its byte offset", async () => {
    write("i.idx", idx(0x803, [3, 2, 2], Array.from({ length: 12 }, (_, i) => i)));
    write("l.idx", idx(0x801, [3], [0, 1, 2]));
    const e = await failure({ source: "idx", images: "i.idx", labels: "l.idx", classes: 2 }, opts([2, 2, 1]));
    expect(e.message).toContain('"l.idx" byte offset 10 (label 3): the label 2 is out of range; the model has 2 classes (0..1).');
    expect(e.where).toMatchObject({ file: join(dir, "l.idx"), offset: 10 });
  });
});

describe("every data error says what to do", () => {
  it("hints at the cause of a ragged row, a truncated file and mismatched counts", async () => {
    const ragged = write("ragged.csv", "a,b,y\n1,2,0\n3,1\n");
    expect((await failure({ source: "csv", path: ragged, label: "y" }, opts([2]))).message).toContain("Is a comma missing or extra?");
    const text = write("text.csv", "a,y\n1,0\nabc,1\n");
    expect((await failure({ source: "csv", path: text, label: "y" }, opts([1]))).message).toContain('Every column except the label "y" is a numeric feature.');
    write("short.idx", idx(0x803, [3, 2, 2], [1, 2, 3]));
    write("l3.idx", idx(0x801, [3], [0, 1, 0]));
    const t = await failure({ source: "idx", images: "short.idx", labels: "l3.idx" }, opts([2, 2, 1]));
    expect(t.message).toContain("Was the download cut short?");
    expect(t.where).toMatchObject({ offset: 19 });
    write("l2.idx", idx(0x801, [2], [0, 1]));
    write("i3.idx", idx(0x803, [3, 2, 2], Array.from({ length: 12 }, () => 0)));
    const c = await failure({ source: "idx", images: "i3.idx", labels: "l2.idx" }, opts([2, 2, 1]));
    expect(c.message).toContain("Are they from the same split");
  });
});
