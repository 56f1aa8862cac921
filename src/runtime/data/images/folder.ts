/**
 * An image folder as a streamed `Dataset`: `train` (and optionally `validation` and `test`) is a
 * folder with one sub-folder per class of PNG/JPEG files.
 *
 * Loading indexes the folders and checks every file's header (header.ts), so that a file that is
 * not an image is an error, or with `badFiles: "skip"` counted, before training starts; no pixels
 * are decoded then. The splits are `Samples` with `read(indices)`: the pool's workers decode and
 * fit the asked samples while the caller trains on the previous batch. Decoded images (bytes,
 * not floats: a quarter of the size) stay in a least-recently-used cache up to a byte budget, so
 * a folder that fits is decoded once and a larger one streams, decoded again each epoch, never
 * held whole.
 *
 * Folder rules: class names are the sub-folders' names sorted by UTF-16 code units (the same on
 * every machine and file system); a class folder's files may sit in further sub-folders; hidden
 * entries (names starting with ".") and macOS's `__MACOSX` folder are ignored; files beside the
 * class folders are an error. A validation or test folder may lack classes the training folder
 * has, but not have others. Samples are in order of class, then path within the class folder.
 */
import { readdir, realpath, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { DataConfig } from "../../config.js";
import { count, DataError, describeShape, plural, quote, type LoadOptions } from "../common.js";
import type { Dataset, Samples } from "../samples.js";
import { readImageHeader, type ImageFormat, type ImageHeader, type NotAnImage } from "./header.js";
import { DecodeFailure, DecodePool, type DecodeItem, type Decoders, type ImagePrep } from "./pool.js";

type ImagesConfig = Extract<DataConfig, { source: "images" }>;

/** Settings a caller rarely needs: tests and the data-pipeline benchmark set them. */
export interface ImageFolderTuning {
  /** Bytes of decoded images to keep (default: half of `opts.memory.bytes`, else 1 GiB); 0 keeps none. */
  cacheBytes?: number;
  /** Worker threads (default: `defaultPoolSize()`). */
  workers?: number;
  decoders?: Decoders;
}

export const DEFAULT_CACHE_BYTES = 2 ** 30;
/** Files whose headers are read at once while indexing. */
const HEADER_READS = 32;

/** The model's input as an image: height, width and 1 or 3 channels, or a DataError saying what an image source needs. */
export function imageInput(inputShape: number[], source: string, where?: string): { height: number; width: number; channels: number } {
  const [height, width, channels] = inputShape;
  if (inputShape.length !== 3 || (channels !== 1 && channels !== 3)) {
    const size = inputShape.length === 3 ? `${inputShape[0]}x${inputShape[1]}` : "32x32";
    throw new DataError(
      `${source} gives images, so the model's input must be HxWx1 (grey) or HxWx3 (RGB), but it takes ${describeShape(inputShape)}. Give the model \`input ${size}x3\` for colour images or \`input ${size}x1\` for grey ones; images of any size are fitted to it.`,
      where === undefined ? undefined : { file: where },
    );
  }
  return { height: height!, width: width!, channels };
}

type Role = "training" | "validation" | "test";

interface ClassFolder {
  name: string;
  /** The class folder, resolved. */
  dir: string;
  /** Files in it (and its sub-folders), relative to it, sorted. */
  files: string[];
}

/** A folder's class sub-folders, sorted, each with its files (not yet checked). */
async function listClasses(path: string, baseDir: string, role: Role): Promise<{ dir: string; classes: ClassFolder[] }> {
  const dir = resolve(baseDir, path);
  const shown = quote(path);
  const what = `The ${role} image folder ${shown}`;
  let s;
  try {
    s = await stat(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new DataError(`Cannot find the ${role} image folder ${shown}: there is no ${dir}. Relative paths are read from ${baseDir} (the spec's folder when training, the current folder for predict and evaluate).`, { file: dir });
    throw new DataError(`Cannot read the ${role} image folder ${shown} (${dir}): ${(e as Error).message}`, { file: dir });
  }
  if (!s.isDirectory()) {
    throw new DataError(`${what} is a file, not a folder (${dir}). \`images(…)\` reads a folder with one sub-folder of PNG/JPEG files per class, e.g. ${quote(join(path, "cat", "001.jpg"))} and ${quote(join(path, "dog", "001.jpg"))}.`, { file: dir });
  }
  const entries = await listDir(dir, shown);
  const classes: ClassFolder[] = [];
  const stray: string[] = [];
  for (const e of entries) {
    if (ignored(e.name)) continue;
    const full = join(dir, e.name);
    if (await isFolder(e, full)) classes.push({ name: e.name, dir: full, files: [] });
    else stray.push(e.name);
  }
  if (stray.length > 0) {
    stray.sort();
    const file = join(dir, stray[0]!);
    const others = stray.length > 1 ? ` (and ${plural(stray.length - 1, "other file")})` : "";
    throw new DataError(
      `${quote(join(path, stray[0]!))}${others} is directly in the ${role} image folder ${shown}, but images must be in one sub-folder per class: the sub-folder's name is the class. Move it into a class folder, e.g. ${quote(join(path, "<class>", stray[0]!))}.`,
      { file },
    );
  }
  if (classes.length === 0) {
    throw new DataError(`${what} has no class sub-folders (${dir}). \`images(…)\` needs one sub-folder of PNG/JPEG files per class, e.g. ${quote(join(path, "cat", "001.jpg"))} and ${quote(join(path, "dog", "001.jpg"))}.`, { file: dir });
  }
  classes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const c of classes) c.files = await filesUnder(c.dir, quote(join(path, c.name)));
  return { dir, classes };
}

/** Hidden entries (".DS_Store", ".git") and the `__MACOSX` folder a Mac's zip leaves. */
const ignored = (name: string): boolean => name.startsWith(".") || name === "__MACOSX";

async function listDir(dir: string, shown: string): Promise<import("node:fs").Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new DataError(`Cannot list the folder ${shown} (${dir}): ${(e as NodeJS.ErrnoException).code === "EACCES" ? "permission denied" : (e as Error).message}.`, { file: dir });
  }
}

async function isFolder(e: import("node:fs").Dirent, full: string): Promise<boolean> {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return (await stat(full)).isDirectory();
  } catch {
    return false; // a broken link: reported as a file that cannot be read
  }
}

/** Every non-hidden file under `dir`, relative to it, sorted; folders linked twice are walked once. */
async function filesUnder(dir: string, shown: string): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = async (d: string, rel: string): Promise<void> => {
    const real = await realpath(d).catch(() => d);
    if (seen.has(real)) return;
    seen.add(real);
    for (const e of await listDir(d, rel === "" ? shown : quote(join(shown.slice(1, -1), rel)))) {
      if (ignored(e.name)) continue;
      const full = join(d, e.name);
      const r = rel === "" ? e.name : join(rel, e.name);
      if (await isFolder(e, full)) await walk(full, r);
      else out.push(r);
    }
  };
  await walk(dir, "");
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** One split's files after checking: where each is, its class and header. */
interface SplitIndex {
  role: Role;
  path: string;
  items: DecodeItem[];
  shown: string[];
  labels: Int32Array;
  /** Samples per class (of the training classes). */
  perClass: number[];
}

interface Candidate {
  file: string;
  shown: string;
  label: number;
  classDir: string;
}

interface BadFile {
  shown: string;
  file: string;
  what: string;
}

const formatName = (f: ImageFormat): string => (f === "png" ? "PNG" : "JPEG");

/** Class names for a message: quoted, the first 12 and then "…". */
const nameList = (names: string[]): string => names.slice(0, 12).map(quote).join(", ") + (names.length > 12 ? `, … (${count(names.length)} in all)` : "");

function badFileError(b: BadFile, role: Role): DataError {
  return new DataError(
    `${quote(b.shown)} in the ${role} images is ${b.what}. nnc reads PNG and JPEG images (by their content, whatever their names). Remove the file, or write \`bad_files: skip\` in \`images(…)\` to skip files that are not images and count them.`,
    { file: b.file },
  );
}

/** The sentence for a file whose full decode failed. */
export function decodeError(f: DecodeFailure, shown: string, whenTraining: boolean): DataError {
  const file = f.item.file;
  if (f.kind === "read") {
    const why = f.code === "ENOENT" ? `there is no ${file} any more` : f.code === "EACCES" || f.code === "EPERM" ? "permission denied" : f.message;
    return new DataError(`Cannot read the image ${quote(shown)}: ${why}.${whenTraining && f.code === "ENOENT" ? " Was it moved or deleted after training started?" : ""}`, { file });
  }
  if (f.kind === "crash") {
    return new DataError(`The image decoder stopped while decoding ${quote(shown)} or an image after it in the same batch: ${f.message}. An image that needs more memory than the machine has can do this.`, { file });
  }
  const kind = `${formatName(f.item.format)} image of ${f.item.width}x${f.item.height}`;
  const when = whenTraining
    ? " Its header was checked when the folder was indexed (nnc does not decode every image before training), but its image data is damaged."
    : "";
  return new DataError(`Cannot decode the image ${quote(shown)} (a ${kind} by its header): ${f.message.replace(/\.$/, "")}.${when} Remove or replace the file.`, { file });
}

/** A least-recently-used cache of decoded images, bounded in bytes. */
class ImageCache {
  private readonly map = new Map<number, Uint8Array>();
  private used = 0;
  constructor(readonly budget: number) {}
  get(key: number): Uint8Array | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  put(key: number, v: Uint8Array): void {
    if (v.byteLength > this.budget || this.map.has(key)) return;
    this.used += v.byteLength;
    this.map.set(key, v);
    for (const [k, old] of this.map) {
      if (this.used <= this.budget) break;
      this.map.delete(k);
      this.used -= old.byteLength;
    }
  }
  clear(): void {
    this.map.clear();
    this.used = 0;
  }
}

/** 0..255 → [0, 1] as float32, one table lookup a value. */
export const UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

export async function loadImageFolder(config: ImagesConfig, opts: LoadOptions, tuning: ImageFolderTuning = {}): Promise<Dataset> {
  const trainDir = resolve(opts.baseDir, config.train);
  const { height, width, channels } = imageInput(opts.inputShape, `\`images(${quote(config.train)})\``, trainDir);
  const prep: ImagePrep = { height, width, channels, fit: config.fit };

  const train = await listClasses(config.train, opts.baseDir, "training");
  const classNames = train.classes.map((c) => c.name);
  if (opts.classes !== undefined && classNames.length > opts.classes) {
    throw new DataError(
      `The training image folder ${quote(config.train)} has ${count(classNames.length)} class folders (${nameList(classNames)}), but the model distinguishes only ${count(opts.classes)} classes. Give its last layer ${count(classNames.length)} units, or remove the class folders it should not learn.`,
      { file: train.dir },
    );
  }
  const labelOf = new Map(classNames.map((name, i) => [name, i]));
  const splits: { role: Role; path: string; classes: ClassFolder[]; dir: string }[] = [{ role: "training", path: config.train, ...train }];
  for (const [role, path] of [["validation", config.validation], ["test", config.test]] as const) {
    if (path === undefined) continue;
    const s = await listClasses(path, opts.baseDir, role);
    const extra = s.classes.find((c) => !labelOf.has(c.name));
    if (extra) {
      throw new DataError(
        `The ${role} image folder ${quote(path)} has a class folder ${quote(extra.name)} that the training folder ${quote(config.train)} does not have. The classes are the training folder's sub-folders (${nameList(classNames)}); a ${role} folder may have fewer, not others. Rename or remove ${quote(join(path, extra.name))}.`,
        { file: extra.dir },
      );
    }
    splits.push({ role, path, ...s });
  }

  // Check every file's header, a few at a time, in sample order. With `badFiles: "error"` the
  // first bad file in that order is reported (checks stop being started after one fails).
  const candidates: Candidate[][] = splits.map((s) =>
    s.classes.flatMap((c) => c.files.map((f) => ({ file: join(c.dir, f), shown: join(s.path, c.name, f), label: labelOf.get(c.name)!, classDir: c.name }))),
  );
  const flat = candidates.flatMap((list, si) => list.map((c) => ({ c, si })));
  const headers: (ImageHeader | NotAnImage | undefined)[] = new Array(flat.length);
  let next = 0;
  let failedAt = Infinity;
  const check = async (): Promise<void> => {
    while (next < flat.length && (config.badFiles === "skip" || next < failedAt)) {
      const k = next++;
      const h = await readImageHeader(flat[k]!.c.file);
      headers[k] = h;
      if ("bad" in h && k < failedAt) failedAt = k;
    }
  };
  await Promise.all(Array.from({ length: HEADER_READS }, check));
  if (config.badFiles === "error" && failedAt < Infinity) {
    const { c, si } = flat[failedAt]!;
    throw badFileError({ shown: c.shown, file: c.file, what: (headers[failedAt] as NotAnImage).what }, splits[si]!.role);
  }

  const pool = new DecodePool(tuning.workers, tuning.decoders);
  try {
    // A file whose header cannot vouch for it (no end marker, a rare coding) is decoded now.
    const suspects = flat.map((_, k) => k).filter((k) => !("bad" in headers[k]!) && (headers[k] as ImageHeader).suspect !== undefined);
    for (let at = 0; at < suspects.length; at += 64) {
      const part = suspects.slice(at, at + 64);
      const results = await Promise.allSettled(part.map((k) => pool.decode([itemOf(flat[k]!.c.file, headers[k] as ImageHeader)], prep)));
      results.forEach((r, j) => {
        if (r.status === "fulfilled") return;
        const k = part[j]!;
        const h = headers[k] as ImageHeader;
        if (!(r.reason instanceof DecodeFailure)) throw r.reason;
        headers[k] = { bad: "damaged", what: `a damaged ${formatName(h.format)} image: ${h.suspect}, and decoding it fails (${r.reason.message.replace(/\.$/, "")})` };
      });
      if (config.badFiles === "error") {
        const k = part.find((k) => "bad" in headers[k]!);
        if (k !== undefined) {
          const { c, si } = flat[k]!;
          throw badFileError({ shown: c.shown, file: c.file, what: (headers[k] as NotAnImage).what }, splits[si]!.role);
        }
      }
    }

    const skipped: BadFile[] = [];
    const indexes: SplitIndex[] = [];
    let k = 0;
    candidates.forEach((list, si) => {
      const s = splits[si]!;
      const items: DecodeItem[] = [];
      const shown: string[] = [];
      const labels: number[] = [];
      const perClass = new Array<number>(classNames.length).fill(0);
      for (const c of list) {
        const h = headers[k++]!;
        if ("bad" in h) {
          skipped.push({ shown: c.shown, file: c.file, what: h.what });
          continue;
        }
        items.push(itemOf(c.file, h));
        shown.push(c.shown);
        labels.push(c.label);
        perClass[c.label]!++;
      }
      if (s.role === "training") {
        const empty = s.classes.find((c) => perClass[labelOf.get(c.name)!] === 0);
        if (empty) {
          const had = list.filter((c) => c.classDir === empty.name).length;
          const why = had === 0 ? "holds no files" : `holds no images: its ${plural(had, "file")} ${had === 1 ? "was" : "were"} skipped as not images`;
          throw new DataError(`The class folder ${quote(join(s.path, empty.name))} ${why}. Every class needs training images: add some, or remove the folder (the classes are the training folder's sub-folders).`, { file: empty.dir });
        }
      }
      indexes.push({ role: s.role, path: s.path, items, shown, labels: Int32Array.from(labels), perClass });
    });
    const test = indexes.find((s) => s.role === "test");
    if (test && test.items.length === 0) throw new DataError(`The test image folder ${quote(test.path)} holds no images.`, { file: resolve(opts.baseDir, test.path) });
    const validation = indexes.find((s) => s.role === "validation");
    if (validation && validation.items.length === 0) throw new DataError(`The validation image folder ${quote(validation.path)} holds no images.`, { file: resolve(opts.baseDir, validation.path) });

    const budget = tuning.cacheBytes ?? (opts.memory ? Math.floor(opts.memory.bytes / 2) : DEFAULT_CACHE_BYTES);
    const stream = new ImageStream(pool, prep, Math.max(0, budget));
    let offset = 0;
    const samples = indexes.map((s) => {
      const out = stream.samples(s, offset);
      offset += s.items.length;
      return out;
    });
    const sizes = indexes.map((s) => `${s.role === "training" ? "" : `${s.role} ${quote(s.path)}: `}${plural(s.items.length, "image")}`);
    const firstSkipped = skipped[0] ? ` (the first: ${quote(skipped[0].shown)}, ${skipped[0].what.split(":")[0]})` : "";
    const ds: Dataset = {
      train: samples[0]!,
      classes: opts.classes ?? classNames.length,
      classNames,
      description:
        `images ${quote(config.train)} (${sizes.join("; ")}; ${plural(classNames.length, "class", "classes")}; fitted to ${height}x${width}x${channels} by ${config.fit})` +
        (skipped.length > 0 ? `; ${plural(skipped.length, "file")} skipped: not images${firstSkipped}` : ""),
      preprocess: { kind: "image", height, width, channels, fit: config.fit },
      close: () => stream.close(),
    };
    indexes.forEach((s, i) => {
      if (s.role === "validation") ds.validation = samples[i]!;
      if (s.role === "test") ds.test = samples[i]!;
    });
    return ds;
  } catch (e) {
    await pool.close();
    throw e;
  }
}

const itemOf = (file: string, h: ImageHeader): DecodeItem => ({ file, format: h.format, width: h.width, height: h.height });

/**
 * Reads samples through the cache and the pool: cached images are copied out at once, the rest
 * decoded; an image another read is already decoding is awaited, not decoded twice.
 */
class ImageStream {
  private readonly cache: ImageCache;
  private readonly inFlight = new Map<number, Promise<Uint8Array>>();
  private readonly size: number;

  constructor(
    private readonly pool: DecodePool,
    private readonly prep: ImagePrep,
    budget: number,
  ) {
    this.cache = new ImageCache(budget);
    this.size = prep.height * prep.width * prep.channels;
  }

  samples(s: SplitIndex, offset: number): Samples {
    const n = s.items.length;
    return {
      n,
      labels: s.labels,
      read: (indices) => this.read(s, offset, indices),
      where: (i) => s.shown[i]!,
    };
  }

  private async read(s: SplitIndex, offset: number, indices: Int32Array): Promise<Float32Array> {
    const size = this.size;
    const out = new Float32Array(indices.length * size);
    const put = (k: number, px: Uint8Array): void => {
      const o = k * size;
      for (let p = 0; p < size; p++) out[o + p] = UNIT[px[p]!]!;
    };
    const waits: Promise<void>[] = [];
    const missing = new Map<number, number[]>(); // sample → positions in `indices`
    indices.forEach((i, k) => {
      if (!Number.isInteger(i) || i < 0 || i >= s.items.length) throw new RangeError(`image sample ${i} is out of range (0..${s.items.length - 1})`);
      const key = offset + i;
      const hit = this.cache.get(key);
      if (hit) return put(k, hit);
      const flying = this.inFlight.get(key);
      if (flying) {
        waits.push(flying.then((px) => put(k, px)));
        return;
      }
      const at = missing.get(i);
      if (at) at.push(k);
      else missing.set(i, [k]);
    });
    if (missing.size > 0) {
      const todo = [...missing.keys()];
      const decoding = this.pool.decode(
        todo.map((i) => s.items[i]!),
        this.prep,
      ).catch((e: unknown) => {
        if (e instanceof DecodeFailure) {
          const i = s.items.indexOf(e.item);
          throw decodeError(e, s.shown[i] ?? e.item.file, true);
        }
        throw e;
      });
      todo.forEach((i, j) => {
        const key = offset + i;
        const one = decoding.then((all) => all[j]!);
        one.catch(() => undefined);
        this.inFlight.set(key, one);
      });
      waits.push(
        decoding
          .then((all) => {
            todo.forEach((i, j) => {
              const px = all[j]!;
              this.cache.put(offset + i, px);
              for (const k of missing.get(i)!) put(k, px);
            });
          })
          .finally(() => {
            for (const i of todo) this.inFlight.delete(offset + i);
          }),
      );
    }
    await Promise.all(waits);
    return out;
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.pool.close();
  }
}
