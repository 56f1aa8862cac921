/**
 * CIFAR-10 and CIFAR-100 in their binary distribution ("CIFAR-10 binary version" at
 * https://www.cs.toronto.edu/~kriz/cifar.html), from a folder the user downloaded and extracted.
 *
 * CIFAR-10: `cifar-10-batches-bin/` holds `data_batch_1.bin` … `data_batch_5.bin` (training)
 * and `test_batch.bin`, each a run of records of 1 label byte (0..9) and 3,072 pixel bytes: the
 * 1,024 red values of the 32x32 image row by row, then the green, then the blue; and
 * `batches.meta.txt`, the class names one per line. CIFAR-100: `cifar-100-binary/` holds
 * `train.bin` and `test.bin`, records of a coarse label byte (0..19), a fine label byte (0..99)
 * and the same 3,072 pixel bytes, and `fine_label_names.txt`, `coarse_label_names.txt`.
 *
 * `path` may be that folder or the folder it was extracted into. Pixels become height × width ×
 * channels (HWC) float32 in [0, 1]; the model's input must be 32x32x3 (or 3,072 values, the
 * same HWC order flat). All five training batches must be there; the test file may be left out
 * (then there is no test split, and the description says so). Class names come from the meta
 * files when they list as many names as there are classes, else the published names are used.
 */
import * as tf from "@tensorflow/tfjs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { DataConfig } from "../config.js";
import { checkClassLimit, checkDataSize, count, DataError, describeShape, plural, readInput, sameShape, type LoadOptions } from "./common.js";
import { memorySamples, type Dataset, type Samples } from "./samples.js";

const PIXELS = 32 * 32;
const IMAGE = 3 * PIXELS;

export const CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

// prettier-ignore
export const CIFAR100_FINE_NAMES = [
  "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
  "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
  "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
  "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
  "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
  "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
  "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
  "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
  "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
  "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
];

// prettier-ignore
export const CIFAR100_COARSE_NAMES = [
  "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
  "household_electrical_devices", "household_furniture", "insects", "large_carnivores", "large_man-made_outdoor_things",
  "large_natural_outdoor_scenes", "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
  "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
];

/** What one CIFAR variant is made of. */
interface Layout {
  /** "CIFAR-10", "CIFAR-100". */
  title: string;
  source: "cifar10" | "cifar100";
  /** The folder the archive extracts to. */
  folder: string;
  /** The archive to download, for hints. */
  archive: string;
  train: string[];
  test: string;
  meta: string;
  /** Label bytes before the pixels, and which of them is the label used (others are checked too). */
  labelBytes: { name: string; classes: number }[];
  use: number;
}

function layoutOf(config: Extract<DataConfig, { source: "cifar10" | "cifar100" }>): Layout {
  if (config.source === "cifar10") {
    return {
      title: "CIFAR-10",
      source: "cifar10",
      folder: "cifar-10-batches-bin",
      archive: "cifar-10-binary.tar.gz",
      train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`),
      test: "test_batch.bin",
      meta: "batches.meta.txt",
      labelBytes: [{ name: "label", classes: 10 }],
      use: 0,
    };
  }
  const fine = config.labels !== "coarse";
  return {
    title: "CIFAR-100",
    source: "cifar100",
    folder: "cifar-100-binary",
    archive: "cifar-100-binary.tar.gz",
    train: ["train.bin"],
    test: "test.bin",
    meta: fine ? "fine_label_names.txt" : "coarse_label_names.txt",
    labelBytes: [
      { name: "coarse label", classes: 20 },
      { name: "fine label", classes: 100 },
    ],
    use: fine ? 1 : 0,
  };
}

async function listFolder(dir: string): Promise<string[] | undefined> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return undefined;
  }
}

const listText = (names: string[]): string => (names.length === 0 ? "nothing (it is empty)" : names.slice(0, 20).join(", ") + (names.length > 20 ? `, and ${count(names.length - 20)} more` : ""));

/**
 * The folder holding the batches: `path` itself when it holds any of them, else its sub-folder
 * named as the archive extracts (`cifar-10-batches-bin`, `cifar-100-binary`) when there is one.
 */
async function findFolder(layout: Layout, path: string, baseDir: string): Promise<{ dir: string; shownDir: string; names: string[] }> {
  const root = resolve(baseDir, path);
  const shown = JSON.stringify(path);
  const download = `Download the binary version (${layout.archive}) from https://www.cs.toronto.edu/~kriz/cifar.html and extract it: tar xzf ${layout.archive}`;
  let s;
  try {
    s = await stat(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new DataError(`Cannot find the ${layout.title} folder ${shown}: there is no ${root}. ${download}.`, { file: root });
    throw new DataError(`Cannot read the ${layout.title} folder ${shown} (${root}): ${(e as Error).message}`, { file: root });
  }
  if (!s.isDirectory()) {
    const archive = /\.(tar\.gz|tgz|tar)$/i.test(root) ? ` It looks like the downloaded archive: extract it (tar xzf ${path}) and name the folder it makes, ${layout.folder}.` : "";
    throw new DataError(`The ${layout.title} path ${shown} is a file, not a folder (${root}); ${layout.title} is read from the folder ${layout.folder} of the binary version.${archive}`, { file: root });
  }
  const names = await listFolder(root);
  if (names === undefined) throw new DataError(`Cannot list the ${layout.title} folder ${shown} (${root}).`, { file: root });
  const ours = (n: string): boolean => layout.train.includes(n) || n === layout.test;
  if (!names.some(ours) && names.includes(layout.folder)) {
    const dir = join(root, layout.folder);
    const inner = await listFolder(dir);
    if (inner !== undefined) return { dir, shownDir: join(path, layout.folder), names: inner };
  }
  return { dir: root, shownDir: path, names };
}

/** Why a folder without the training batches is not what was expected, as a hint. */
function folderHint(layout: Layout, names: string[]): string {
  const other = layout.source === "cifar10" ? { folder: "cifar-100-binary", files: ["train.bin"], source: "cifar100" } : { folder: "cifar-10-batches-bin", files: ["data_batch_1.bin"], source: "cifar10" };
  if (names.includes(other.folder) || other.files.some((f) => names.includes(f))) {
    return ` This looks like the other CIFAR: read it with \`${other.source}(…)\`.`;
  }
  if (names.some((n) => /^(cifar-10(0)?-(batches-)?py|data_batch_\d|batches\.meta|train|test|meta)$/.test(n))) {
    return ` This looks like the Python version (pickled batches); nnc reads the binary version (${layout.archive}) from https://www.cs.toronto.edu/~kriz/cifar.html.`;
  }
  return ` Download the binary version (${layout.archive}) from https://www.cs.toronto.edu/~kriz/cifar.html and extract it.`;
}

interface BatchFile {
  name: string;
  file: string;
  shown: string;
  records: number;
}

/** Loads `cifar10(path)` or `cifar100(path, labels)` for a model whose input is 32x32x3. */
export async function loadCifar(config: Extract<DataConfig, { source: "cifar10" | "cifar100" }>, opts: LoadOptions): Promise<Dataset> {
  const layout = layoutOf(config);
  const input = opts.inputShape;
  if (!sameShape(input, [32, 32, 3]) && !sameShape(input, [IMAGE])) {
    throw new DataError(`${layout.title} gives 32x32x3 colour images (3,072 values), but the model takes ${describeShape(input)}. Hint: give the model \`input 32x32x3\`.`);
  }
  const used = layout.labelBytes[layout.use]!;
  const what = layout.source === "cifar100" ? `${layout.title} (${used.name}s)` : layout.title;
  checkClassLimit(used.classes, what, opts);

  const { dir, shownDir, names } = await findFolder(layout, config.path, opts.baseDir);
  const missing = layout.train.filter((n) => !names.includes(n));
  if (missing.length > 0) {
    const some = missing.length < layout.train.length;
    throw new DataError(
      `The ${layout.title} folder ${JSON.stringify(shownDir)} ${some ? `lacks ${missing.length === 1 ? "the training batch" : "the training batches"} ${missing.join(", ")}` : `has no training batches (${layout.train.join(", ")})`}. It holds: ${listText(names)}.${some ? " Was the archive extracted completely?" : folderHint(layout, names)}`,
      { file: dir },
    );
  }
  const recordSize = layout.labelBytes.length + IMAGE;
  const fileOf = async (name: string): Promise<BatchFile> => {
    const file = join(dir, name);
    const shown = JSON.stringify(join(shownDir, name));
    let size: number;
    try {
      const s = await stat(file);
      if (!s.isFile()) throw new DataError(`The ${layout.title} file ${shown} is not a file (${file}).`, { file });
      size = s.size;
    } catch (e) {
      if (e instanceof DataError) throw e;
      throw new DataError(`Cannot read the ${layout.title} file ${shown} (${file}): ${(e as Error).message}`, { file });
    }
    if (size === 0 || size % recordSize !== 0) {
      const whole = Math.floor(size / recordSize);
      throw new DataError(
        `The ${layout.title} file ${shown} has ${plural(size, "byte")}, which is not a whole number of ${count(recordSize)}-byte records (${layout.labelBytes.length === 1 ? "1 label byte" : "2 label bytes"} + 3,072 pixel bytes): ${size === 0 ? "it is empty" : `${plural(whole, "record")} and ${plural(size - whole * recordSize, "byte")} over`}. Was the download cut short? ${layout.source === "cifar10" ? "Each batch of the binary version holds 10,000 records (30,730,000 bytes)." : "The binary version's train.bin holds 50,000 records and test.bin 10,000."}`,
        { file, offset: whole * recordSize },
      );
    }
    return { name, file, shown, records: size / recordSize };
  };
  const trainFiles = await Promise.all(layout.train.map(fileOf));
  const testFile = names.includes(layout.test) ? await fileOf(layout.test) : undefined;
  const nTrain = trainFiles.reduce((t, f) => t + f.records, 0);
  const nTest = testFile?.records ?? 0;
  checkDataSize(
    (nTrain + nTest) * IMAGE,
    `The ${layout.title} folder ${JSON.stringify(shownDir)} holds ${plural(nTrain + nTest, "image")} of 32x32x3:`,
    "Hint: free memory (or use a backend with more), or train on a part of it saved as NumPy arrays (`npy(…)`).",
    opts,
    { file: dir },
  );

  const readSplit = async (files: BatchFile[], n: number): Promise<Samples> => {
    const pixels = new Float32Array(n * IMAGE);
    const labels = new Int32Array(n);
    let k = 0;
    for (const f of files) {
      const bytes = await readInput(f.file, f.shown, `${layout.title} file`);
      if (bytes.length !== f.records * recordSize) {
        throw new DataError(`The ${layout.title} file ${f.shown} changed while it was read (it had ${plural(f.records * recordSize, "byte")}, now ${count(bytes.length)}).`, { file: f.file });
      }
      for (let r = 0; r < f.records; r++, k++) {
        const at = r * recordSize;
        layout.labelBytes.forEach((l, b) => {
          const v = bytes[at + b]!;
          if (v >= l.classes) {
            throw new DataError(
              `${f.shown} record index ${count(r)} (byte offset ${count(at + b)}): the ${l.name} byte is ${v}, but ${layout.title} ${l.name}s are 0..${l.classes - 1}. Is the file damaged, or not a ${layout.title} batch?`,
              { file: f.file, offset: at + b },
            );
          }
        });
        // Below used.classes, which checkClassLimit made sure the model distinguishes.
        labels[k] = bytes[at + layout.use]!;
        // Channel planes (1,024 red, green, blue values, row-major) to height × width × channels.
        const from = at + layout.labelBytes.length;
        const to = k * IMAGE;
        for (let p = 0; p < PIXELS; p++) {
          pixels[to + 3 * p] = bytes[from + p]! / 255;
          pixels[to + 3 * p + 1] = bytes[from + PIXELS + p]! / 255;
          pixels[to + 3 * p + 2] = bytes[from + 2 * PIXELS + p]! / 255;
        }
      }
    }
    return memorySamples(tf.tensor(pixels, [n, ...input], "float32"), { labels });
  };

  const notes: string[] = [];
  let classNames = layout.source === "cifar10" ? CIFAR10_NAMES : layout.use === 1 ? CIFAR100_FINE_NAMES : CIFAR100_COARSE_NAMES;
  if (names.includes(layout.meta)) {
    const text = (await readFile(join(dir, layout.meta)).catch(() => undefined))?.toString("utf8");
    const listed = text?.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
    if (listed && listed.length === used.classes) classNames = listed;
    else notes.push(`${layout.meta} ${listed ? `lists ${plural(listed.length, "name")}, not ${used.classes}` : "could not be read"}, so the published class names are used`);
  }

  const train = await readSplit(trainFiles, nTrain);
  const ds: Dataset = {
    train,
    classes: opts.classes ?? used.classes,
    classNames: [...classNames],
    description: "",
    preprocess: { kind: "image", height: 32, width: 32, channels: 3, fit: "crop" },
  };
  if (testFile) ds.test = await readSplit([testFile], nTest);
  else notes.push(`no ${layout.test}, so no test split`);
  const labelsText = layout.source === "cifar100" ? `${used.name}s, ` : "";
  ds.description = `${layout.source} ${JSON.stringify(shownDir)} (${labelsText}${plural(used.classes, "class", "classes")}; ${plural(nTrain, "training image")}${testFile ? `, ${plural(nTest, "test image")}` : ""} of 32x32x3${notes.length > 0 ? `; ${notes.join("; ")}` : ""})`;
  return ds;
}
