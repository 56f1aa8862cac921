/**
 * `nnc evaluate` end to end through the built CLI, on run folders written with known weights
 * (test/run-fixtures.ts): the loss, accuracy, per-class precision / recall / F1 and the
 * confusion matrix equal a computation by hand of the same model on the same samples; classes
 * are matched by name; the test split is used when the source has one; regression MSE and MAE
 * per target; the --report page; and the mistakes, with their exit status.
 */
import type { ClassMetrics } from "../src/runtime/predict.js";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { findChromium, nnc } from "./cli-run.js";
import { decodePng } from "./png.js";
import { forward, IRIS, irisRows, npyFile, PHOTOS, pngRgb, random, writeRun, type DenseRun } from "./run-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "nnc-evaluate-"));
const run = (name: string): string => join(dir, name);
const NAMES = ["setosa", "versicolor", "virginica"];

type ClassRow = ClassMetrics;

interface EvaluationJson {
  version: number;
  split: "test" | "all";
  task: string;
  n: number;
  loss: number;
  lossName: string;
  accuracy: number;
  correct: number;
  classes: ClassRow[];
  macro: { precision: number | null; recall: number | null; f1: number | null };
  confusion: number[][];
  mse?: number;
  mae?: number;
  targets?: { name: string; mse: number; mae: number }[];
}

/** What `nnc evaluate` must find for `spec` on these samples, computed by hand. */
function expected(spec: DenseRun, xs: number[][], labels: number[]): { confusion: number[][]; loss: number } {
  const K = spec.b.length;
  const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  let loss = 0;
  xs.forEach((x, k) => {
    const p = forward(spec, x);
    confusion[labels[k]!]![p.indexOf(Math.max(...p))]!++;
    // TF.js clips probabilities to [1e-7, 1 − 1e-7] before the log, as in training.
    loss += -Math.log(Math.min(Math.max(p[labels[k]!]!, 1e-7), 1 - 1e-7));
  });
  return { confusion, loss: loss / xs.length };
}

const irisCsv = (rows: number[][], labels: number[], names = NAMES): string =>
  "sepal_length,sepal_width,petal_length,petal_width,species\n" + rows.map((r, k) => [...r, names[labels[k]!]].join(",")).join("\n") + "\n";

const rows = irisRows(60, 11);
const labels = rows.map((_, k) => (k * 7) % 3);

function evaluate(args: string[]): EvaluationJson {
  const r = nnc(["evaluate", ...args, "--json"], dir);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as EvaluationJson;
}

beforeAll(async () => {
  await writeRun(run("iris"), IRIS);
  writeFileSync(join(dir, "iris.csv"), irisCsv(rows, labels));
}, 60_000);

describe("nnc evaluate on a classifier", () => {
  it("gives the loss, accuracy and confusion matrix of a computation by hand, on all samples of a source without a test split", () => {
    const e = evaluate([run("iris"), "--data", "iris.csv"]);
    const want = expected(IRIS, rows, labels);
    expect(e.split).toBe("all");
    expect(e.n).toBe(rows.length);
    expect(e.confusion).toEqual(want.confusion);
    expect(e.confusion.flat().reduce((a, b) => a + b, 0)).toBe(e.n);
    const trace = e.confusion.reduce((s, row, i) => s + row[i]!, 0);
    expect(e.correct).toBe(trace);
    expect(e.accuracy).toBeCloseTo(trace / e.n, 10);
    expect(e.loss).toBeCloseTo(want.loss, 4);
    expect(e.lossName).toBe("crossentropy");
    for (const c of e.classes) {
      const tp = want.confusion[c.class]![c.class]!;
      const support = want.confusion[c.class]!.reduce((a, b) => a + b, 0);
      const predicted = want.confusion.reduce((s, row) => s + row[c.class]!, 0);
      expect(c.name).toBe(NAMES[c.class]);
      expect(c.support).toBe(support);
      expect(c.predicted).toBe(predicted);
      expect(c.precision).toBe(predicted > 0 ? tp / predicted : null);
      expect(c.recall).toBe(support > 0 ? tp / support : null);
      if (c.precision !== null && c.recall !== null && c.precision + c.recall > 0) expect(c.f1).toBeCloseTo((2 * c.precision * c.recall) / (c.precision + c.recall), 12);
    }
  });

  it("prints the same numbers as text, with the class names, the per-class table and the matrix, and says which samples", () => {
    const e = evaluate([run("iris"), "--data", "iris.csv"]);
    const r = nnc(["evaluate", run("iris"), "--data", "iris.csv", "--backend", "cpu"], dir);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toContain(`all ${rows.length} samples (it has no test split)`);
    expect(out).toMatch(new RegExp(`accuracy\\s+${(e.accuracy * 100).toFixed(1)}% \\(${e.correct} of ${e.n}\\)`));
    expect(out).toMatch(/loss\s+[\d.]+ \(crossentropy\)/);
    for (const c of e.classes) {
      const ratio = (v: number | null): string => (v === null ? "–" : v.toFixed(3));
      expect(out).toMatch(new RegExp(`^${c.name}\\s+${ratio(c.precision)}\\s+${ratio(c.recall)}\\s+${ratio(c.f1)}\\s+${c.support}$`, "m"));
    }
    const matrix = out.split("\n").slice(out.split("\n").findIndex((l) => l.startsWith("true \\ predicted")));
    expect(matrix[0]).toMatch(/^true \\ predicted\s+setosa\s+versicolor\s+virginica$/);
    e.confusion.forEach((row, t) => expect(matrix[t + 2]).toMatch(new RegExp(`^${NAMES[t]}\\s+${row.join("\\s+")}$`)));
  });

  it("uses the source's test split when it has one, and matches classes by name", () => {
    // A test file with only two of the classes: its own sorted names would be 0 and 1.
    const test = irisRows(20, 5);
    const testLabels = test.map((_, k) => (k % 2 === 0 ? 0 : 2));
    writeFileSync(join(dir, "test.csv"), irisCsv(test, testLabels));
    const e = evaluate([run("iris"), "--data", 'csv("iris.csv", label: "species", test: "test.csv")']);
    expect(e.split).toBe("test");
    expect(e.n).toBe(test.length);
    expect(e.confusion).toEqual(expected(IRIS, test, testLabels).confusion);
    expect(e.classes[1]!.support).toBe(0);
    const text = nnc(["evaluate", run("iris"), "--data", 'csv("iris.csv", label: "species", test: "test.csv")'], dir);
    expect(text.stdout).toContain(`its test split (${test.length} samples)`);
  });

  it("reads NumPy arrays as an expression", () => {
    writeFileSync(join(dir, "x.npy"), npyFile([rows.length, 4], rows.flat()));
    writeFileSync(join(dir, "y.npy"), npyFile([rows.length], labels, "<i4"));
    const e = evaluate([run("iris"), "--data", 'npy(x: "x.npy", y: "y.npy")']);
    expect(e.split).toBe("all");
    expect(e.confusion).toEqual(expected(IRIS, rows, labels).confusion);
  });

  it("refuses data with a class the run was not trained on, naming it", () => {
    writeFileSync(join(dir, "odd.csv"), irisCsv(rows.slice(0, 3), [0, 1, 2], ["setosa", "versicolor", "daisy"]));
    const r = nnc(["evaluate", run("iris"), "--data", "odd.csv"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^nnc: .*has a class "daisy" that the run .* was not trained on/);
  });

  it("reads IDX files as an expression, for an image-shaped model", async () => {
    const spec: DenseRun = {
      inputShape: [2, 2, 1],
      W: [
        [1, -1],
        [0.5, 0],
        [-0.5, 1],
        [0, 0.5],
      ],
      b: [0.2, -0.1],
      activation: "softmax",
      data: { task: "classification", classes: 2, inputShape: [2, 2, 1], source: "idx", loss: "crossentropy", preprocess: { kind: "features" } },
    };
    await writeRun(run("idx"), spec);
    const r = random(3);
    const n = 40;
    const pixels = Array.from({ length: n * 4 }, () => Math.floor(r() * 256));
    const ys = Array.from({ length: n }, () => (r() < 0.5 ? 0 : 1));
    const images = Buffer.alloc(16 + n * 4);
    images.writeUInt32BE(0x803, 0);
    images.writeUInt32BE(n, 4);
    images.writeUInt32BE(2, 8);
    images.writeUInt32BE(2, 12);
    Buffer.from(pixels).copy(images, 16);
    const lab = Buffer.alloc(8 + n);
    lab.writeUInt32BE(0x801, 0);
    lab.writeUInt32BE(n, 4);
    Buffer.from(ys).copy(lab, 8);
    writeFileSync(join(dir, "img-idx3-ubyte"), images);
    writeFileSync(join(dir, "lab-idx1-ubyte"), lab);
    const e = evaluate([run("idx"), "--data", 'idx(images: "img-idx3-ubyte", labels: "lab-idx1-ubyte")']);
    const xs = Array.from({ length: n }, (_, k) => pixels.slice(k * 4, k * 4 + 4).map((v) => v / 255));
    const want = expected(spec, xs, ys);
    expect(e.confusion).toEqual(want.confusion);
    expect(e.loss).toBeCloseTo(want.loss, 4);
    expect(e.classes[0]!.name).toBeUndefined();
    // A path alone cannot say which file holds the labels.
    const bare = nnc(["evaluate", run("idx"), "--data", "img-idx3-ubyte"], dir);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("idx(images:");
  });

  it("reads mnist as an expression, on its test split", async () => {
    await writeRun(run("digits"), {
      inputShape: [784],
      W: Array.from({ length: 784 }, (_, i) => Array.from({ length: 10 }, (_, c) => Math.sin(i * 0.37 + c * 1.3) * 0.05)),
      b: new Array(10).fill(0),
      activation: "softmax",
    });
    const e = evaluate([run("digits"), "--data", "mnist(train: 10, test: 50)"]);
    expect(e.split).toBe("test");
    expect(e.n).toBe(50);
    expect(e.confusion).toHaveLength(10);
    expect(e.confusion.flat().reduce((a, b) => a + b, 0)).toBe(50);
    expect(e.accuracy).toBeCloseTo(e.confusion.reduce((s, row, i) => s + row[i]!, 0) / 50, 10);
  }, 60_000);

  it("prints the most frequent confusions instead of a matrix wider than 20 classes", async () => {
    const K = 25;
    const spec: DenseRun = {
      inputShape: [2],
      W: [Array.from({ length: K }, (_, c) => Math.cos(c)), Array.from({ length: K }, (_, c) => Math.sin(c))],
      b: new Array(K).fill(0),
      activation: "softmax",
      data: { task: "classification", classes: K, classNames: Array.from({ length: K }, (_, c) => `class-${c}`), inputShape: [2], source: "x", loss: "crossentropy", label: "y", preprocess: { kind: "features", names: ["a", "b"] } },
    };
    await writeRun(run("wide"), spec);
    const rr = random(9);
    const pts = Array.from({ length: 100 }, () => [rr() * 2 - 1, rr() * 2 - 1]);
    const ys = pts.map(() => Math.floor(rr() * K));
    writeFileSync(join(dir, "wide.csv"), "a,b,y\n" + pts.map((p, k) => `${p[0]},${p[1]},${ys[k]}`).join("\n") + "\n");
    const e = evaluate([run("wide"), "--data", "wide.csv"]);
    expect(e.confusion).toEqual(expected(spec, pts, ys).confusion);
    const text = nnc(["evaluate", run("wide"), "--data", "wide.csv"], dir);
    expect(text.stdout).toContain("confusion matrix: 25 classes are too many to print");
    expect(text.stdout).not.toContain("true \\ predicted");
    // The largest off-diagonal count comes first.
    let top = 0;
    e.confusion.forEach((row, t) => row.forEach((v, p) => t !== p && (top = Math.max(top, v))));
    const first = text.stdout.split("\n").find((l) => /^ {2}class-\d+\s+class-\d+\s+\d+$/.test(l))!;
    expect(Number(first.trim().split(/\s+/).pop())).toBe(top);
  });
});

describe("nnc evaluate on a run nnc train wrote", () => {
  it("finds the test loss and accuracy training reported, and nnc predict the same classes", () => {
    const train = irisRows(90, 21);
    const test = irisRows(30, 22);
    // Labels that follow the features, so a few epochs learn something.
    const label = (x: number[]): number => (x[2]! < 3.5 ? 0 : x[3]! < 1.2 ? 1 : 2);
    writeFileSync(join(dir, "tr.csv"), irisCsv(train, train.map(label)));
    writeFileSync(join(dir, "te.csv"), irisCsv(test, test.map(label)));
    const recipe = 'csv("tr.csv", label: "species", test: "te.csv")';
    writeFileSync(join(dir, "flowers.nn"), `model flowers {\n  input 4\n  dense 8 relu\n  dense 3 softmax\n}\ntrain flowers {\n  data ${recipe}\n  validate 0.2\n  normalize standard\n  loss crossentropy\n  optim adam lr 1e-2\n  batch 16\n  epochs 4\n  seed 3\n}\n`);
    const t = nnc(["train", "flowers.nn", "--out", "trained", "--backend", "cpu"], dir);
    expect(t.code, t.stderr).toBe(0);
    const history = JSON.parse(readFileSync(join(dir, "trained", "history.json"), "utf8")) as { test: { loss: number; acc: number } };
    const e = evaluate(["trained", "--data", recipe, "--backend", "cpu"]);
    expect(e.split).toBe("test");
    expect(e.n).toBe(30);
    expect(e.loss).toBeCloseTo(history.test.loss, 5);
    expect(e.accuracy).toBeCloseTo(history.test.acc, 5);
    const p = nnc(["predict", "trained", "te.csv", "--top", "1", "--json", "--backend", "cpu"], dir);
    expect(p.code, p.stderr).toBe(0);
    const top = p.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { top: { name: string }[] }).top[0]!.name);
    const right = top.filter((name, k) => name === NAMES[label(test[k]!)]).length;
    expect(right).toBe(e.correct);
  }, 120_000);
});

describe("nnc evaluate on image folders", () => {
  /** Writes `root/<class>/<k>.png` for each labelled image; returns the images' values in [0, 1] in the loader's order (class folders, then files, sorted). */
  function folder(root: string, images: { label: string; rgb: number[] }[]): void {
    images.forEach((im, k) => {
      mkdirSync(join(dir, root, im.label), { recursive: true });
      writeFileSync(join(dir, root, im.label, `${String(k).padStart(3, "0")}.png`), pngRgb(2, 2, im.rgb));
    });
  }
  const r = random(33);
  const draw = (n: number): { label: string; rgb: number[] }[] => Array.from({ length: n }, (_, k) => ({ label: k % 3 === 0 ? "cat" : "dog", rgb: Array.from({ length: 12 }, () => Math.floor(r() * 256)) }));
  const truth = (images: { label: string; rgb: number[] }[]): { xs: number[][]; ys: number[] } => ({ xs: images.map((im) => im.rgb.map((v) => v / 255)), ys: images.map((im) => (im.label === "cat" ? 0 : 1)) });

  it("reads a folder of class sub-folders as the run's images, classes by folder name", async () => {
    await writeRun(run("photos"), PHOTOS);
    const images = draw(12);
    folder("pets", images);
    const e = evaluate([run("photos"), "--data", "pets"]);
    const { xs, ys } = truth(images);
    expect(e.split).toBe("all");
    expect(e.n).toBe(12);
    expect(e.confusion).toEqual(expected(PHOTOS, xs, ys).confusion);
    expect(e.loss).toBeCloseTo(expected(PHOTOS, xs, ys).loss, 4);
    expect(e.classes.map((c) => c.name)).toEqual(["cat", "dog"]);
  });

  it("takes the test folder of a folder split into train and test", () => {
    const train = draw(6);
    const test = draw(9);
    folder(join("split", "train"), train);
    folder(join("split", "test"), test);
    const e = evaluate([run("photos"), "--data", "split"]);
    const { xs, ys } = truth(test);
    expect(e.split).toBe("test");
    expect(e.n).toBe(9);
    expect(e.confusion).toEqual(expected(PHOTOS, xs, ys).confusion);
  });
});

describe("nnc evaluate on CIFAR-10", () => {
  it("finds CIFAR's batches under the folder given and evaluates on its test batch", async () => {
    const names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
    const spec: DenseRun = {
      inputShape: [32, 32, 3],
      W: Array.from({ length: 3072 }, (_, i) => Array.from({ length: 10 }, (_, c) => Math.sin(i * 0.013 + c * 0.7) * 0.02)),
      b: new Array(10).fill(0),
      activation: "softmax",
      data: { task: "classification", classes: 10, classNames: names, inputShape: [32, 32, 3], source: "cifar10", loss: "crossentropy", preprocess: { kind: "features" } },
    };
    await writeRun(run("cifar"), spec);
    const r = random(8);
    /** CIFAR records (a label byte, then the red, green and blue planes) and the same images as HWC values in [0, 1]. */
    const batch = (n: number): { bytes: Buffer; xs: number[][]; ys: number[] } => {
      const bytes = Buffer.alloc(n * 3073);
      const xs: number[][] = [];
      const ys: number[] = [];
      for (let k = 0; k < n; k++) {
        const y = Math.floor(r() * 10);
        bytes[k * 3073] = y;
        for (let j = 0; j < 3072; j++) bytes[k * 3073 + 1 + j] = Math.floor(r() * 256);
        ys.push(y);
        xs.push(Array.from({ length: 3072 }, (_, h) => bytes[k * 3073 + 1 + (h % 3) * 1024 + Math.floor(h / 3)]! / 255));
      }
      return { bytes, xs, ys };
    };
    const folder = join(dir, "downloads", "cifar-10-batches-bin");
    mkdirSync(folder, { recursive: true });
    for (let i = 1; i <= 5; i++) writeFileSync(join(folder, `data_batch_${i}.bin`), batch(2).bytes);
    const test = batch(12);
    writeFileSync(join(folder, "test_batch.bin"), test.bytes);
    writeFileSync(join(folder, "batches.meta.txt"), names.join("\n") + "\n");
    const e = evaluate([run("cifar"), "--data", "downloads"]);
    expect(e.split).toBe("test");
    expect(e.n).toBe(12);
    const want = expected(spec, test.xs, test.ys);
    expect(e.confusion).toEqual(want.confusion);
    expect(e.loss).toBeCloseTo(want.loss, 4);
    expect(e.classes.map((c) => c.name)).toEqual(names);
  }, 60_000);
});

describe("nnc evaluate on a regression model", () => {
  it("gives the MSE and MAE of each target, as computed by hand", async () => {
    const spec: DenseRun = {
      inputShape: [2],
      W: [
        [3, -1],
        [0.5, 2],
      ],
      b: [1, 0],
      activation: "linear",
      mean: [0, 1],
      std: [1, 2],
      data: { task: "regression", classes: 0, targetNames: ["price", "tax"], targetSize: 2, inputShape: [2], source: "x", loss: "mse", preprocess: { kind: "features", names: ["rooms", "age"] } },
    };
    await writeRun(run("houses"), spec);
    const rr = random(4);
    const xs = Array.from({ length: 30 }, () => [Number((rr() * 4).toFixed(2)), Number((rr() * 10).toFixed(2))]);
    const ys = xs.map((x) => forward(spec, x).map((v) => Number((v + (rr() - 0.5)).toFixed(3))));
    writeFileSync(join(dir, "houses.csv"), "rooms,age,price,tax\n" + xs.map((x, k) => [...x, ...ys[k]!].join(",")).join("\n") + "\n");
    const e = evaluate([run("houses"), "--data", "houses.csv"]);
    expect(e.task).toBe("regression");
    expect(e.n).toBe(30);
    const err = xs.map((x, k) => forward(spec, x).map((p, t) => p - ys[k]![t]!));
    const mse = [0, 1].map((t) => err.reduce((s, d) => s + d[t]! ** 2, 0) / 30);
    const mae = [0, 1].map((t) => err.reduce((s, d) => s + Math.abs(d[t]!), 0) / 30);
    expect(e.targets!.map((t) => t.name)).toEqual(["price", "tax"]);
    e.targets!.forEach((t, i) => {
      expect(t.mse).toBeCloseTo(mse[i]!, 4);
      expect(t.mae).toBeCloseTo(mae[i]!, 4);
    });
    expect(e.loss).toBeCloseTo((mse[0]! + mse[1]!) / 2, 4);
    const text = nnc(["evaluate", run("houses"), "--data", "houses.csv"], dir).stdout;
    expect(text).toMatch(/^price\s+[\d.e+-]+\s+[\d.e+-]+$/m);
    expect(text).toMatch(/loss\s+[\d.e+-]+ \(mse\)/);
  });
});

const chromium = findChromium();

describe("nnc evaluate --report", () => {
  it("writes one self-contained page with the per-class table and the matrix's data, names escaped", async () => {
    const hostile = ["<b>setosa</b>", "vers&color", "</script>"];
    await writeRun(run("hostile"), { ...IRIS, data: { ...IRIS.data, classNames: hostile } });
    writeFileSync(join(dir, "hostile.csv"), irisCsv(rows, labels, hostile));
    const page = join(dir, "out", "eval.html");
    const r = nnc(["evaluate", run("hostile"), "--data", "hostile.csv", "--report", page], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`report → ${page}`);
    const html = readFileSync(page, "utf8");
    expect(html).not.toContain("<b>setosa");
    expect(html).toContain("&lt;b&gt;setosa&lt;/b&gt;");
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html).not.toMatch(/<(link|img|iframe)\b|\bsrc\s*=|url\(/i);
    const json = html.slice(html.indexOf('id="nnc-report-data">') + 'id="nnc-report-data">'.length, html.indexOf("</script>"));
    const data = JSON.parse(json) as { confusion: number[][]; classes: ClassRow[] };
    expect(data.confusion).toEqual(expected(IRIS, rows, labels).confusion);
    expect(data.classes.map((c) => c.name)).toEqual(hostile);
    // --json stays one object on stdout; the page's line goes to stderr.
    const j = nnc(["evaluate", run("hostile"), "--data", "hostile.csv", "--report", page, "--json"], dir);
    expect(() => JSON.parse(j.stdout) as unknown).not.toThrow();
    expect(j.stderr).toContain("report →");
  });

  it("never replaces a file nnc did not write", () => {
    const mine = join(dir, "mine.html");
    writeFileSync(mine, "<p>my notes</p>");
    const r = nnc(["evaluate", run("iris"), "--data", "iris.csv", "--report", mine], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is not a report nnc wrote");
    expect(readFileSync(mine, "utf8")).toBe("<p>my notes</p>");
  });

  it.skipIf(!chromium && process.env["NNC_REQUIRE_CHROMIUM"] !== "1")("draws the confusion matrix in headless Chromium: right in blue, confused in red", () => {
    if (!chromium) throw new Error("NNC_REQUIRE_CHROMIUM=1 but no chromium on PATH: apt-get install chromium");
    const page = join(dir, "drawn.html");
    expect(nnc(["evaluate", run("iris"), "--data", "iris.csv", "--report", page], dir).code).toBe(0);
    const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars", "--force-device-scale-factor=1", "--window-size=1000,1400", `--user-data-dir=${mkdtempSync(join(tmpdir(), "nnc-chromium-"))}`];
    const dom = spawnSync(chromium!, [...flags, "--enable-logging=stderr", "--v=0", "--dump-dom", pathToFileURL(page).href], { encoding: "utf8", timeout: 90_000 });
    expect(dom.stderr.split("\n").filter((l) => /:CONSOLE[:(]/.test(l))).toEqual([]);
    const body = /<body([^>]*)>/.exec(dom.stdout)![1]!;
    expect(body).toContain('data-status="ok 1"');
    const [x, y, w, h] = /data-charts="([^"]*)"/.exec(body)![1]!.split(",").map(Number) as [number, number, number, number];
    const shot = join(dir, "drawn.png");
    spawnSync(chromium!, [...flags, `--screenshot=${shot}`, pathToFileURL(page).href], { timeout: 90_000 });
    const img = decodePng(readFileSync(shot));
    let blue = 0;
    let red = 0;
    for (let j = y; j < Math.min(img.height, y + h); j++) {
      for (let i = x; i < Math.min(img.width, x + w); i++) {
        const [rr, , bb] = img.rgba.subarray((j * img.width + i) * 4, (j * img.width + i) * 4 + 3);
        if (bb! - rr! > 40) blue++;
        if (rr! - bb! > 40) red++;
      }
    }
    const e = expected(IRIS, rows, labels).confusion;
    const right = e.reduce((s, row, t) => s + row[t]!, 0);
    expect(right).toBeGreaterThan(0);
    expect(right).toBeLessThan(rows.length);
    expect(blue).toBeGreaterThan(200);
    expect(red).toBeGreaterThan(200);
  }, 120_000);
});

describe("nnc evaluate's mistakes", () => {
  function status(args: string[], code: number): string {
    const r = nnc(["evaluate", ...args], dir);
    expect(r.code, r.stdout + r.stderr).toBe(code);
    expect(r.stderr).toMatch(/^nnc: /);
    expect(r.stderr).not.toMatch(/\bat .*\.m?js:\d+|internal error/);
    return r.stderr;
  }

  it("refuses a missing --data, a second positional and a bad expression with exit 2", () => {
    expect(status([run("iris")], 2)).toContain("needs --data SOURCE");
    expect(status([run("iris"), "iris.csv"], 2)).toContain("The data goes in --data");
    expect(status([run("iris"), "--data", "mnist(tran: 10)"], 2)).toMatch(/`mnist` has no argument `tran`[^]*Did you mean `train`\?/);
    expect(status([run("iris"), "--data", "x.npy"], 2)).toContain("npy(x:");
    expect(status([run("iris"), "--data", "iris.csv", "--batch", "0"], 2)).toContain("--batch needs a whole number of at least 1");
  });

  it("says what is wrong with the run or the data with exit 1", () => {
    expect(status(["nowhere", "--data", "iris.csv"], 1)).toContain("There is no run nowhere");
    expect(status([run("iris"), "--data", "absent.csv"], 1)).toContain('--data "absent.csv": there is no such file or folder');
    writeFileSync(join(dir, "nolabel.csv"), "sepal_length,sepal_width,petal_length,petal_width\n1,2,3,4\n");
    expect(status([run("iris"), "--data", "nolabel.csv"], 1)).toContain('has no column "species"');
    expect(existsSync(join(dir, "nolabel.csv"))).toBe(true);
  });
});
