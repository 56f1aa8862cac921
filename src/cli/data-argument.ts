/**
 * `--data SOURCE` of `nnc predict` and `nnc evaluate`: either a data expression in the recipe's
 * words (`mnist(train: 100, test: 2000)`, `csv("test.csv", label: "species")`,
 * `images("photos/test", fit: pad)`…), checked by the compiler exactly as in a recipe, or a plain
 * path whose kind is told from what it is:
 *
 * - a folder of class sub-folders → `images(…)` with the fit the run was trained with; a folder
 *   whose sub-folders are `train`, `validation`/`val` and `test` → those splits;
 * - a folder with CIFAR's binary batches → `cifar10(…)` / `cifar100(…)` (fine or coarse labels
 *   by the run's class count);
 * - `.csv` → `csv(…)` with the run's label column or regression targets;
 * - `.npz` → `npz(…)` with Keras's member names (x_train, y_train, x_test, y_test).
 *
 * IDX files and separate `.npy` arrays take two paths, so they are written as expressions.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import type { DataConfig, ImageFit } from "../runtime/config.js";
import { checkText } from "../pipeline.js";

/** What the run says about its data (data.json), as far as choosing a source goes. */
export interface RunDataFacts {
  task: "classification" | "regression";
  classes: number;
  label?: string;
  targetNames?: string[];
  fit?: ImageFit;
}

export type DataArgument = { config: DataConfig } | { exitCode: 1 | 2; message: string };

const SPLIT_FOLDERS = new Set(["train", "validation", "val", "test"]);

/** A source's word at the start of the text: `mnist`, `csv(`. */
const EXPRESSION = /^[A-Za-z_][A-Za-z0-9_]*\s*(\(|$)/;

/** Reads `--data`'s value for a run with `facts` (paths relative to the working folder). */
export function dataArgument(text: string, facts: RunDataFacts): DataArgument {
  const value = text.trim();
  if (value === "") return { exitCode: 2, message: "--data needs a data source: a path (a folder of images, a .csv, a .npz, a CIFAR folder) or an expression such as `mnist(test: 2000)`." };
  if (EXPRESSION.test(value) && !existsSync(value)) return dataExpression(value);
  return dataPath(value, facts);
}

// ── an expression, checked by the compiler ─────────────────────────────────────────────────

/** The recipe the expression is checked in: its `data` setting starts on line DATA_LINE, column DATA_COLUMN. */
const BEFORE = "model m {\n  input 1\n  dense 1\n}\ntrain m {\n  data ";
const AFTER = "\n  loss mse\n}\n";
const DATA_LINE = 5;
const DATA_COLUMN = 7;
/** About the data against the placeholder model above, not about the expression. */
const AGAINST_MODEL = new Set(["NN4008", "NN4009"]);

function dataExpression(expr: string): DataArgument {
  const lines = expr.split(/\r\n|\r|\n/);
  const result = checkText(BEFORE + expr + AFTER);
  const inExpr = (line: number): boolean => line >= DATA_LINE && line < DATA_LINE + lines.length;
  const errors = result.diagnostics.filter((d) => d.severity === "error" && !AGAINST_MODEL.has(d.code));
  const own = errors.filter((d) => inExpr(d.range.start.line));
  const first = own[0] ?? errors[0];
  const data = result.program.recipes.find((r) => r.model === "m")?.data;
  if (first || !data) {
    if (!first) return { exitCode: 2, message: `--data ${expr}: not a data source nnc can read.` };
    const out = [`--data: ${first.message}`];
    if (inExpr(first.range.start.line)) {
      const line = first.range.start.line - DATA_LINE;
      const from = first.range.start.character - (line === 0 ? DATA_COLUMN : 0);
      const to = first.range.end.line === first.range.start.line ? first.range.end.character - (line === 0 ? DATA_COLUMN : 0) : lines[line]!.length;
      out.push(`  ${lines[line]}`, `  ${" ".repeat(Math.max(0, from))}${"^".repeat(Math.max(1, to - from))}`);
    }
    if (first.hint) out.push(`  hint: ${first.hint}`);
    return { exitCode: 2, message: out.join("\n") };
  }
  // The placeholder model's class count is no fact about the run: the run's is passed when loading.
  const config = { ...data } as DataConfig & { classes?: number };
  delete config.classes;
  return { config };
}

// ── a path, told by what it is ─────────────────────────────────────────────────────────────

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function subfolders(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** CIFAR's binary distribution in `dir` (or in the folder its archive unpacks to). */
function cifarIn(dir: string, facts: RunDataFacts): DataConfig | undefined {
  for (const d of [dir, join(dir, "cifar-10-batches-bin"), join(dir, "cifar-100-binary")]) {
    if (existsSync(join(d, "data_batch_1.bin")) || existsSync(join(d, "test_batch.bin"))) return { source: "cifar10", path: d };
    if (existsSync(join(d, "train.bin")) || existsSync(join(d, "test.bin"))) return { source: "cifar100", path: d, labels: facts.classes === 20 ? "coarse" : "fine" };
  }
  return undefined;
}

function dataPath(path: string, facts: RunDataFacts): DataArgument {
  const quoted = JSON.stringify(path);
  // Sources of two files are written out whether or not the one given exists.
  const name = basename(path).toLowerCase();
  if (name.endsWith(".npy")) {
    return { exitCode: 2, message: `--data ${quoted}: a .npy holds one array, and evaluating needs the inputs and their labels: write --data 'npy(x: ${quoted}, y: "labels.npy")'. To predict on the inputs alone, give the file as an input: nnc predict RUN ${path}.` };
  }
  if (/(\.idx\d?|-ubyte)(\.gz)?$/.test(name)) {
    return { exitCode: 2, message: `--data ${quoted}: IDX data comes as two files, images and labels: write --data 'idx(images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte")'.` };
  }
  if (!existsSync(path)) return { exitCode: 1, message: `--data ${quoted}: there is no such file or folder. Give a path (a folder of class sub-folders of images, a .csv, a .npz, a CIFAR folder) or a data expression such as \`mnist(test: 2000)\`.` };
  if (isDir(path)) {
    const cifar = cifarIn(path, facts);
    if (cifar) return { config: cifar };
    const subs = subfolders(path);
    if (subs.length === 0) return { exitCode: 1, message: `--data ${quoted}: the folder has no sub-folders. An image folder holds one sub-folder of PNG/JPEG files per class (photos/cat/…, photos/dog/…).` };
    const fit = facts.fit ?? "crop";
    if (subs.every((s) => SPLIT_FOLDERS.has(s))) {
      const train = subs.includes("train") ? join(path, "train") : join(path, subs.includes("test") ? "test" : subs[0]!);
      const validation = subs.includes("validation") ? "validation" : subs.includes("val") ? "val" : undefined;
      return {
        config: {
          source: "images",
          train,
          ...(validation ? { validation: join(path, validation) } : {}),
          ...(subs.includes("test") && subs.includes("train") ? { test: join(path, "test") } : {}),
          fit,
          badFiles: "error",
        },
      };
    }
    return { config: { source: "images", train: path, fit, badFiles: "error" } };
  }
  if (name.endsWith(".csv")) {
    if (facts.task === "regression") {
      if (!facts.targetNames) return { exitCode: 2, message: `--data ${quoted}: the run does not say which columns are its regression targets (it has no data.json). Name them: --data 'csv(${quoted}, targets: "price, tax")'.` };
      return { config: { source: "csv", path, label: "", targets: facts.targetNames } };
    }
    return { config: { source: "csv", path, label: facts.label ?? "label" } };
  }
  if (name.endsWith(".npz")) return { config: { source: "npz", path, x: "x_train", y: "y_train" } };
  return { exitCode: 2, message: `--data ${quoted}: cannot tell what kind of data this is. nnc reads a folder of class sub-folders of images, a CIFAR folder, a .csv or a .npz by its path, and every source as an expression: \`mnist(…)\`, \`csv(…)\`, \`idx(…)\`, \`images(…)\`, \`cifar10(…)\`, \`cifar100(…)\`, \`npy(…)\`, \`npz(…)\`.` };
}
