/**
 * `nnc predict` end to end through the built CLI, on run folders written with known weights
 * (test/run-fixtures.ts): every probability and regression output is compared with the same
 * model computed by hand; the table and the JSON lines, the class and target names, inputs
 * from a CSV (columns by name, a label column ignored) and a .npy, `--data`, and every mistake
 * a user can make, each with its exit status and a message that names what is wrong.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { nnc } from "./cli-run.js";
import * as tf from "@tensorflow/tfjs";
import { memorySamples } from "../src/runtime/data/samples.js";
import { describePrediction, evaluateRun, openRun, predict } from "../src/runtime/predict.js";
import { forward, IRIS, irisRows, npyFile, PHOTOS, pngRgb, random, writeRun, type DenseRun } from "./run-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "nnc-predict-"));
const run = (name: string): string => join(dir, name);

const REGRESSION: DenseRun = {
  inputShape: [3],
  W: [
    [2, -1],
    [0.5, 0.25],
    [-1.5, 3],
  ],
  b: [10, -2],
  activation: "linear",
  mean: [1, 2, 3],
  std: [2, 1, 0.5],
  data: { task: "regression", classes: 0, targetNames: ["price", "tax"], targetSize: 2, inputShape: [3], source: '"houses.csv"', loss: "mse", featureNames: ["rooms", "age", "area"], preprocess: { kind: "features", names: ["rooms", "age", "area"] } },
};

/** One sigmoid unit and no data.json: a run written by an older nnc. */
const BINARY: DenseRun = { inputShape: [2], W: [[1.2], [-0.7]], b: [0.3], activation: "sigmoid" };

/** An image-shaped input (2x2x1), flattened: a .npy of inputs shaped (n, 2, 2, 1). */
const IMAGE: DenseRun = {
  inputShape: [2, 2, 1],
  W: [
    [1, 0],
    [0, 1],
    [-1, 0.5],
    [0.5, -1],
  ],
  b: [0, 0.1],
  activation: "softmax",
  data: { task: "classification", classes: 2, classNames: ["dark", "light"], inputShape: [2, 2, 1], source: "idx", loss: "crossentropy", preprocess: { kind: "features" } },
};

const rows = irisRows(12, 7);
const ORDER = ["petal_width", "sepal_length", "species", "sepal_width", "petal_length"];
/** The rows as a CSV whose columns are in another order than training's, with the label column in the middle. */
const csv = ORDER.join(",") + "\n" + rows.map((r, k) => [r[3], r[0], ["setosa", "versicolor", "virginica"][k % 3], r[1], r[2]].join(",")).join("\n") + "\n";

interface ClassLine {
  input: string;
  top: { class: number; name?: string; p: number }[];
}

beforeAll(async () => {
  await writeRun(run("iris"), IRIS);
  await writeRun(run("houses"), REGRESSION);
  await writeRun(run("binary"), BINARY);
  await writeRun(run("image"), IMAGE);
  await writeRun(run("photos"), PHOTOS);
  writeFileSync(join(dir, "new.csv"), csv);
}, 60_000);

function lines(stdout: string): ClassLine[] {
  return stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as ClassLine);
}

describe("nnc predict on CSV rows", () => {
  it("gives each row's class probabilities as the model computed by hand, by class name, one JSON line per row", () => {
    const r = nnc(["predict", run("iris"), "new.csv", "--json", "--top", "3"], dir);
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out).toHaveLength(rows.length);
    out.forEach((line, k) => {
      // Rows count as an editor counts lines: the header is row 1.
      expect(line.input).toBe(`new.csv:${k + 2}`);
      const expected = forward(IRIS, rows[k]!);
      expect(line.top).toHaveLength(3);
      for (const t of line.top) {
        expect(t.p).toBeCloseTo(expected[t.class]!, 4);
        expect(t.name).toBe(["setosa", "versicolor", "virginica"][t.class]);
      }
      expect(line.top.reduce((s, t) => s + t.p, 0)).toBeCloseTo(1, 5);
      // Sorted, likeliest first.
      expect(line.top.map((t) => t.p)).toEqual([...line.top.map((t) => t.p)].sort((a, b) => b - a));
      expect(line.top[0]!.class).toBe(expected.indexOf(Math.max(...expected)));
    });
  });

  it("reads a model folder inside the run (RUN/best) with the run's normaliser and names", () => {
    mkdirSync(join(run("iris"), "best"), { recursive: true });
    for (const f of ["model.json", "weights.bin"]) writeFileSync(join(run("iris"), "best", f), readFileSync(join(run("iris"), f)));
    const best = lines(nnc(["predict", join(run("iris"), "best"), "new.csv", "--json"], dir).stdout);
    const top = lines(nnc(["predict", run("iris"), "new.csv", "--json"], dir).stdout);
    expect(best).toEqual(top);
  });

  it("prints a table of the top classes with percentages, three by default and --top K of them", () => {
    const r = nnc(["predict", run("iris"), "new.csv", "--backend", "cpu"], dir);
    expect(r.code, r.stderr).toBe(0);
    const table = r.stdout.trim().split("\n");
    expect(table[0]).toMatch(/^input\s+top 1\s+top 2\s+top 3$/);
    expect(table).toHaveLength(rows.length + 2);
    rows.forEach((x, k) => {
      const p = forward(IRIS, x);
      const best = p.indexOf(Math.max(...p));
      expect(table[k + 2]).toMatch(new RegExp(`^new\\.csv:${k + 2}\\s+${["setosa", "versicolor", "virginica"][best]} ${(p[best]! * 100).toFixed(1)}%`));
    });
    const two = nnc(["predict", run("iris"), "new.csv", "--top", "2", "--json"], dir);
    expect(lines(two.stdout).every((l) => l.top.length === 2)).toBe(true);
    // More than the model's classes: all of them.
    const ten = nnc(["predict", run("iris"), "new.csv", "--top", "10", "--json"], dir);
    expect(lines(ten.stdout).every((l) => l.top.length === 3)).toBe(true);
  });
});

describe("nnc predict on a .npy", () => {
  it("reads prepared inputs shaped (n, ...input) and names them by index", () => {
    const xs = [
      [0.1, 0.9, 0.3, 0.2],
      [0.8, 0.1, 0.0, 0.7],
      [0.5, 0.5, 0.5, 0.5],
    ];
    writeFileSync(join(dir, "x.npy"), npyFile([3, 2, 2, 1], xs.flat()));
    const r = nnc(["predict", run("image"), "x.npy", "--json"], dir);
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out.map((l) => l.input)).toEqual(["x.npy[0]", "x.npy[1]", "x.npy[2]"]);
    out.forEach((line, k) => {
      const p = forward(IMAGE, xs[k]!);
      expect(line.top).toHaveLength(2);
      for (const t of line.top) expect(t.p).toBeCloseTo(p[t.class]!, 4);
      expect(line.top[0]!.name).toBe(["dark", "light"][p.indexOf(Math.max(...p))]);
    });
  });

  it("reads the iris rows from a .npy as from the CSV", () => {
    writeFileSync(join(dir, "rows.npy"), npyFile([rows.length, 4], rows.flat()));
    const fromNpy = lines(nnc(["predict", run("iris"), "rows.npy", "--json"], dir).stdout);
    const fromCsv = lines(nnc(["predict", run("iris"), "new.csv", "--json"], dir).stdout);
    fromNpy.forEach((l, k) => l.top.forEach((t, j) => expect(t.p).toBeCloseTo(fromCsv[k]!.top[j]!.p, 5)));
  });

  it("refuses a .npy whose samples do not fit the model's input, naming the file", () => {
    writeFileSync(join(dir, "wrong.npy"), npyFile([2, 5], new Array(10).fill(0)));
    const r = nnc(["predict", run("iris"), "wrong.npy"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^nnc: .*wrong\.npy/);
    expect(r.stderr).not.toMatch(/\bat .*\.m?js:\d+/);
  });
});

describe("nnc predict on image files", () => {
  const r = random(21);
  const pixels = [0, 1, 2].map(() => Array.from({ length: 12 }, () => Math.floor(r() * 256)));

  it("prepares PNGs as the run's images were prepared and gives the model's probabilities, a folder's images in order", () => {
    mkdirSync(join(dir, "shots"), { recursive: true });
    pixels.forEach((px, k) => writeFileSync(join(dir, "shots", `img${k}.png`), pngRgb(2, 2, px)));
    writeFileSync(join(dir, "shots", "notes.md"), "not an image, and not a .png: a folder's other files are left out\n");
    const one = nnc(["predict", run("photos"), join("shots", "img1.png"), "--json"], dir);
    expect(one.code, one.stderr).toBe(0);
    const [line] = lines(one.stdout);
    expect(line!.input).toBe(join("shots", "img1.png"));
    const p = forward(PHOTOS, pixels[1]!.map((v) => v / 255));
    for (const t of line!.top) expect(t.p).toBeCloseTo(p[t.class]!, 4);
    expect(line!.top[0]!.name).toBe(["cat", "dog"][p.indexOf(Math.max(...p))]);
    const all = lines(nnc(["predict", run("photos"), "shots", "--json"], dir).stdout);
    expect(all.map((l) => l.input)).toEqual([0, 1, 2].map((k) => join("shots", `img${k}.png`)));
    all.forEach((l, k) => expect(l.top[0]!.p).toBeCloseTo(Math.max(...forward(PHOTOS, pixels[k]!.map((v) => v / 255))), 4));
  });

  it("fits a larger image to the input and names a file that is not an image", () => {
    writeFileSync(join(dir, "big.png"), pngRgb(6, 4, Array.from({ length: 72 }, () => Math.floor(r() * 256))));
    const big = lines(nnc(["predict", run("photos"), "big.png", "--json"], dir).stdout);
    expect(big[0]!.top.reduce((s, t) => s + t.p, 0)).toBeCloseTo(1, 5);
    writeFileSync(join(dir, "fake.png"), "<html>not an image</html>\n");
    const bad = nnc(["predict", run("photos"), "big.png", "fake.png"], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^nnc: The file .*fake\.png is .*not an image/);
  });
});

describe("nnc predict, regression and older runs", () => {
  it("gives a regression model's outputs by target name", () => {
    const xs = [
      [1, 2, 3],
      [4, 0, 2.5],
      [-1, 3, 3.5],
    ];
    writeFileSync(join(dir, "houses.csv"), "area,age,rooms,price\n" + xs.map((x) => [x[2], x[1], x[0], 999].join(",")).join("\n") + "\n");
    const r = nnc(["predict", run("houses"), "houses.csv", "--json"], dir);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { input: string; outputs: Record<string, number> });
    out.forEach((line, k) => {
      const y = forward(REGRESSION, xs[k]!);
      expect(Object.keys(line.outputs)).toEqual(["price", "tax"]);
      expect(line.outputs["price"]).toBeCloseTo(y[0]!, 3);
      expect(line.outputs["tax"]).toBeCloseTo(y[1]!, 3);
    });
    const table = nnc(["predict", run("houses"), "houses.csv"], dir);
    expect(table.stdout.split("\n")[0]).toMatch(/^input\s+price\s+tax$/);
  });

  it("reads a run without data.json: classes from the output units, unnamed; one sigmoid unit is two classes", () => {
    writeFileSync(join(dir, "pairs.csv"), "a,b\n0.5,1\n-2,0.25\n");
    const r = nnc(["predict", run("binary"), "pairs.csv", "--json"], dir);
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    [
      [0.5, 1],
      [-2, 0.25],
    ].forEach((x, k) => {
      const p1 = forward(BINARY, x)[0]!;
      expect(out[k]!.top).toHaveLength(2);
      expect(out[k]!.top.find((t) => t.class === 1)!.p).toBeCloseTo(p1, 5);
      expect(out[k]!.top.find((t) => t.class === 0)!.p).toBeCloseTo(1 - p1, 5);
      expect(out[k]!.top[0]!.name).toBeUndefined();
    });
  });
});

describe("nnc predict --data", () => {
  it("predicts on every sample of a source without a test split, with each sample's true class", () => {
    const r = nnc(["predict", run("iris"), "--data", "new.csv", "--json", "--top", "1"], dir);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as ClassLine & { label: { class: number; name: string } });
    expect(out).toHaveLength(rows.length);
    out.forEach((line, k) => {
      expect(line.label.name).toBe(["setosa", "versicolor", "virginica"][k % 3]);
      const p = forward(IRIS, rows[k]!);
      expect(line.top[0]!.p).toBeCloseTo(Math.max(...p), 4);
    });
    const text = nnc(["predict", run("iris"), "--data", 'csv("new.csv", label: "species")'], dir);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`all ${rows.length} samples (it has no test split)`);
    expect(text.stdout).toMatch(/input\s+true class\s+top 1/);
  });
});

describe("predicting from TypeScript", () => {
  it("opens a run and predicts on raw values, normalised as in training", async () => {
    const r = await openRun(run("iris"), { backend: "cpu" });
    try {
      expect(r.classNames).toEqual(["setosa", "versicolor", "virginica"]);
      expect(r.output).toBe("softmax");
      const out = await predict(r, Float32Array.from(rows.flat()), rows.length);
      rows.forEach((x, k) => {
        const p = forward(IRIS, x);
        p.forEach((v, c) => expect(out[k * 3 + c]).toBeCloseTo(v, 5));
        const d = describePrediction(r, out, k, 1);
        expect("top" in d && d.top[0]!.name).toBe(["setosa", "versicolor", "virginica"][p.indexOf(Math.max(...p))]);
      });
      await expect(predict(r, new Float32Array(7), 2)).rejects.toThrow(/expected 2 inputs of a vector of 4 values \(8 values\), got 7 values/);
    } finally {
      r.dispose();
    }
  });

  it("gives a hinge-trained model's scores as scores, not probabilities, and its hinge loss", async () => {
    const spec: DenseRun = { ...IRIS, activation: "linear", data: { ...IRIS.data, loss: "hinge" } };
    await writeRun(run("hinge"), spec);
    const r = await openRun(run("hinge"), { backend: "cpu" });
    try {
      expect(r.task).toBe("classification");
      expect(r.output).toBe("scores");
      const ys = rows.map((_, k) => k % 3);
      const out = await predict(r, Float32Array.from(rows.flat()), rows.length);
      const d = describePrediction(r, out, 0, 3);
      expect("top" in d && d.top.every((t) => t.p === undefined && typeof t.score === "number")).toBe(true);
      const x = tf.tensor2d(rows.flat(), [rows.length, 4]);
      const e = await evaluateRun(r, memorySamples(x, { labels: Int32Array.from(ys) }));
      x.dispose();
      // Hinge against ±1 targets: mean over samples and classes of max(0, 1 − t·score).
      const hinge = rows.reduce((s, row, k) => s + forward(spec, row).reduce((a, v, c) => a + Math.max(0, 1 - (c === ys[k] ? 1 : -1) * v), 0) / 3, 0) / rows.length;
      expect(e.lossName).toBe("hinge");
      expect(e.loss).toBeCloseTo(hinge, 4);
    } finally {
      r.dispose();
    }
  });
});

describe("nnc predict's mistakes", () => {
  /** A failed run: exit 1, "nnc: …" on stderr, no stack trace. */
  function fails(args: string[]): string {
    const r = nnc(["predict", ...args], dir);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^nnc: /);
    expect(r.stderr).not.toMatch(/\bat .*\.m?js:\d+|internal error/);
    return r.stderr;
  }
  /** A command-line mistake: exit 2. */
  function usage(args: string[]): string {
    const r = nnc(["predict", ...args], dir);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).toBe("");
    return r.stderr;
  }

  it("says when RUN is not a trained run", () => {
    expect(fails(["nowhere", "new.csv"])).toContain("There is no run nowhere");
    expect(fails(["new.csv", "new.csv"])).toContain("new.csv is a file, not a run folder");
    mkdirSync(join(dir, "empty"), { recursive: true });
    expect(fails(["empty", "new.csv"])).toContain("empty is not a trained run: it has no model.json");
    mkdirSync(join(dir, "stopped", "checkpoint"), { recursive: true });
    writeFileSync(join(dir, "stopped", "checkpoint", "model.json"), "{}");
    expect(fails(["stopped", "new.csv"])).toContain("not a finished run");
  });

  it("names a damaged data.json and its field", () => {
    const damaged = run("damaged");
    mkdirSync(damaged, { recursive: true });
    for (const f of ["model.json", "weights.bin", "normalizer.json"]) writeFileSync(join(damaged, f), readFileSync(join(run("iris"), f)));
    writeFileSync(join(damaged, "data.json"), JSON.stringify({ ...IRIS.data, task: "clustering" }));
    expect(fails([damaged, "new.csv"])).toMatch(/data\.json: `task` must be classification or regression/);
    writeFileSync(join(damaged, "data.json"), JSON.stringify({ ...IRIS.data, inputShape: [5] }));
    expect(fails([damaged, "new.csv"])).toMatch(/data\.json says the model takes a vector of 5 values, but the model in .* takes a vector of 4 values/);
  });

  it("names an input that is missing, of an unknown kind, or an image for a model that takes no images", () => {
    expect(fails([run("iris"), "missing.csv"])).toContain('Cannot find the input "missing.csv"');
    writeFileSync(join(dir, "notes.txt"), "hello\n");
    expect(fails([run("iris"), "notes.txt"])).toContain('Cannot tell what kind of input "notes.txt" is');
    writeFileSync(join(dir, "photo.png"), "not really a png");
    expect(fails([run("iris"), "photo.png"])).toMatch(/takes a vector of 4 values, not images/);
  });

  it("names a CSV's missing feature column and a cell that is not a number", () => {
    writeFileSync(join(dir, "short.csv"), "sepal_length,sepal_width,petal_length\n1,2,3\n");
    expect(fails([run("iris"), "short.csv"])).toContain('The CSV file "short.csv" has no column "petal_width"');
    writeFileSync(join(dir, "bad.csv"), "sepal_length,sepal_width,petal_length,petal_width\n1,2,3,4\n1,x,3,4\n");
    expect(fails([run("iris"), "bad.csv"])).toMatch(/"bad\.csv" row 3, column "sepal_width" \(2\): expected a number, found "x"/);
  });

  it("refuses bad options with exit 2", () => {
    expect(usage([run("iris")])).toContain("needs inputs after the run");
    expect(usage([])).toContain("needs a trained run's folder");
    expect(usage([run("iris"), "new.csv", "--data", "new.csv"])).toContain("takes inputs or --data, not both");
    expect(usage([run("iris"), "new.csv", "--top", "0"])).toContain("--top needs a whole number of at least 1");
    expect(usage([run("iris"), "new.csv", "--top", "two"])).toContain("--top needs a whole number");
    expect(usage([run("iris"), "new.csv", "--backend", "gpu"])).toContain("unknown backend `gpu`");
    expect(usage([run("houses"), "houses.csv", "--top", "2"])).toContain("is a regression model");
    expect(usage([run("iris"), "--data", 'csv("new.csv", lable: "species")'])).toMatch(/`csv` has no argument `lable`[^]*\^\^\^\^\^[^]*Did you mean `label`\?/);
  });
});
