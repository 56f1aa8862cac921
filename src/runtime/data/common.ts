/**
 * What every data source shares: the `DataError` a user's mistake becomes (naming the file,
 * row, column or byte offset), the options a source loads with, and the small helpers that
 * keep the sources' messages alike (quoting a user's text, counts, shapes, reading a file).
 */
import { readFile, stat } from "node:fs/promises";
import { bytesText } from "../memory.js";

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
  /**
   * What the model learns, from the recipe's loss (mse/mae: regression). Sources whose labels
   * could be either (NumPy arrays) read them by it; without it, integer labels are classes.
   */
  task?: "classification" | "regression";
  /** The values of one sample of the model's output (its units): a regression source must give as many targets. */
  outputs?: number;
  /**
   * The shape of one sample of the model's output, batch dimension left out. When it is an image
   * (rank 2 or more), a source that can (NumPy arrays, IDX files) reads per-pixel targets: a class
   * per pixel for classification (segmentation masks), or target images for regression.
   */
  outputShape?: number[];
}

// ── shared helpers ─────────────────────────────────────────────────────────────────────────

export const count = (n: number): string => n.toLocaleString("en-US");

/** The most characters of a user's data a message quotes. */
export const QUOTE_LIMIT = 60;

/** A piece of the user's data (a CSV cell, a column name) for a message: JSON-quoted, cut after QUOTE_LIMIT characters. */
export function quote(text: string): string {
  return text.length > QUOTE_LIMIT ? `${JSON.stringify(text.slice(0, QUOTE_LIMIT)).slice(0, -1)}…" (${count(text.length)} characters)` : JSON.stringify(text);
}

/** The same, unquoted (a number as written). */
export function clip(text: string): string {
  return text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}… (${count(text.length)} characters)` : text;
}

/** A JavaScript typed array holds at most this many values. */
export const MAX_VALUES = 2 ** 32 - 1;

/**
 * Refuses data of `values` float32 numbers that will not fit, before it is allocated: training
 * holds it twice while it splits and normalises it. `what` describes it ("ball(n: …) makes …").
 */
export function checkDataSize(values: number, what: string, hint: string, opts: LoadOptions, where?: DataWhere): void {
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
export const plural = (n: number, one: string, many = `${one}s`): string => `${count(n)} ${n === 1 ? one : many}`;
export const sizeOf = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);
export const sameShape = (a: number[], b: number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** "28x28x1 (784 values)", or "a vector of 784 values" for rank 1. */
export function describeShape(shape: number[]): string {
  return shape.length === 1 ? `a vector of ${plural(shape[0]!, "value")}` : `${shape.join("x")} (${plural(sizeOf(shape), "value")})`;
}

export function checkClassLimit(classes: number, source: string, opts: LoadOptions): void {
  if (opts.classes !== undefined && opts.classes < classes) {
    throw new DataError(`${source} has ${classes} classes, but the model distinguishes only ${opts.classes}.`);
  }
}

/** A Fisher–Yates shuffle of `items` in place, driven by `random`. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Reads a user's file, turning every way that can fail into a DataError naming it. */
export async function readInput(file: string, shown: string, what: string): Promise<Buffer> {
  try {
    await checkInputFile(file, shown, what);
    return await readFile(file);
  } catch (e) {
    throw inputFileError(e, file, shown, what);
  }
}

/** Refuses a path that is a folder or not a regular file (a missing one throws Node's ENOENT, for `inputFileError`). */
export async function checkInputFile(file: string, shown: string, what: string): Promise<void> {
  const s = await stat(file);
  if (s.isDirectory()) throw new DataError(`The ${what} ${shown} is a folder, not a file (${file}).`, { file });
  if (!s.isFile()) throw new DataError(`The ${what} ${shown} is not a regular file (${file}).`, { file });
}

/** What opening or reading a user's file failed with, as a DataError naming it (a DataError passes as it is). */
export function inputFileError(e: unknown, file: string, shown: string, what: string): DataError {
  if (e instanceof DataError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") return new DataError(`Cannot find the ${what} ${shown}: there is no ${file}.`, { file });
  if (code === "EACCES" || code === "EPERM") return new DataError(`Cannot read the ${what} ${shown}: permission denied (${file}).`, { file });
  return new DataError(`Cannot read the ${what} ${shown} (${file}): ${(e as Error).message}`, { file });
}

