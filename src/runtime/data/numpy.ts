/**
 * NumPy sources: `.npy` files (`npy(x: …, y: …)`) and `.npz` archives (`npz(…)`), the way users
 * of Python tools hand data over (`np.save`, `np.savez`, `np.savez_compressed`).
 *
 * The .npy format (numpy.lib.format, versions 1.0, 2.0 and 3.0): the magic "\x93NUMPY", two
 * version bytes, the header's length (2 bytes in 1.0, 4 in 2.0 and 3.0), then the header, a
 * Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (60000, 28, 28), }`
 * (Latin-1; UTF-8 in 3.0), then the values in C order. Read here: bool, int8/16/32/64,
 * uint8/16/32/64 and float16/32/64, either byte order. int64/uint64 become float64 numbers and
 * must be below 2^53 in magnitude (exact); float16 becomes float32. Fortran order, object,
 * string, complex, datetime and structured arrays are refused with what was found and what to do.
 *
 * How arrays become a dataset (`loadNumpy`):
 * - x is [n, ...] where one sample fits the model's input: the same shape, or the same but for
 *   leading/trailing axes of size 1 ((n, 28, 28) for an input 28x28x1), or the same number of
 *   values where either side is flat ((n, 784) for 28x28x1, or images for a model taking 784).
 *   uint8 inputs are pixels and are scaled to [0, 1] (what a Keras user does with `/ 255`);
 *   every other dtype is read as float32 as it is. NaN, infinities and float64 values beyond
 *   float32's range are refused, naming the entry (`x_train[12, 3, 4, 0]`).
 * - y has as many samples as x. For classification it is class numbers shaped (n,) or (n, 1)
 *   (integers, bools, or floats holding whole numbers), or one-hot rows (n, C), C > 1. For
 *   regression it is (n,) or (n, k, …): k targets per sample, which must be the model's outputs.
 *   Regression is `opts.task === "regression"`; without a task, y is regression targets when it
 *   is a float array with a value that is not a whole number, and class labels otherwise.
 */
import * as tf from "@tensorflow/tfjs";
import { basename, resolve } from "node:path";
import type { DataConfig } from "../config.js";
import { closestByDistance } from "../../common/edit-distance.js";
import { checkDataSize, count, DataError, describeShape, plural, quote, sameShape, sizeOf, type DataWhere, type LoadOptions } from "./common.js";
import { memorySamples, type Dataset, type Samples } from "./samples.js";
import { openInput, openZip, zipEntryData, zipEntryHead, type ZipArchive, type ZipEntry } from "./zip.js";

// ── the .npy format ────────────────────────────────────────────────────────────────────────

/** What an array's values are, once read. */
export type NpyType = "bool" | "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "int64" | "uint64" | "float16" | "float32" | "float64";

/**
 * The values of an array, C order, as JavaScript holds them: bool as 0/1 bytes, int64/uint64 as
 * float64 (exact: every value is below 2^53 in magnitude), float16 as float32, the rest as the
 * typed array of their own type. uint8 and int8 values are a view of the bytes given to the
 * reader, not a copy.
 */
export type NpyValues = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

export interface NpyArray {
  /** The dtype as the file writes it: "<f4", "|u1", ">i8". */
  dtype: string;
  type: NpyType;
  shape: number[];
  values: NpyValues;
}

/** A .npy header, read and checked. */
export interface NpyHeader {
  /** "1.0", "2.0" or "3.0". */
  version: string;
  dtype: string;
  type: NpyType;
  /** Bytes per value in the file. */
  itemSize: number;
  littleEndian: boolean;
  shape: number[];
  /** Where the values start (after the header). */
  dataOffset: number;
  /** How many bytes of values the shape needs. */
  dataBytes: number;
}

/** How messages name an array: `shown` ("x_train.npy" or x_train in "data.npz"), the file, and the array's name for entries (x_train[3, 1]). */
interface ArrayRef {
  shown: string;
  file: string;
  name: string;
  /** Whether byte offsets point into `file` itself (a .npy file), not into an archive's member. */
  offsets: boolean;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const SUPPORTED = "bool, int8/16/32/64, uint8/16/32/64 and float16/32/64";
const HOST_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** The largest float32: a value beyond it would become Infinity in the tensor. */
const FLOAT32_MAX = 3.4028234663852886e38;

const TYPES: Record<string, NpyType> = {
  b1: "bool",
  i1: "int8",
  u1: "uint8",
  i2: "int16",
  u2: "uint16",
  i4: "int32",
  u4: "uint32",
  i8: "int64",
  u8: "uint64",
  f2: "float16",
  f4: "float32",
  f8: "float64",
};

const isFloat = (t: NpyType): boolean => t === "float16" || t === "float32" || t === "float64";

/** A shape as NumPy prints it: (60000, 28, 28), (5,), (). */
export const pythonShape = (shape: number[]): string => (shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`);

/** An entry of `name` at flat index `flat`, as Python indexes it: x_train[12, 3, 4, 0]. */
function entryName(name: string, shape: number[], flat: number): string {
  if (shape.length === 0) return `${name}[()]`;
  const index = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    index[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return `${name}[${index.join(", ")}]`;
}

function entryWhere(ref: ArrayRef, header: { dataOffset: number; itemSize: number } | undefined, flat: number): DataWhere {
  return ref.offsets && header ? { file: ref.file, offset: header.dataOffset + flat * header.itemSize } : { file: ref.file };
}

// ── the header's Python literal ──

type Py =
  | { t: "str"; v: string }
  | { t: "num"; v: number; text: string }
  | { t: "bool"; v: boolean }
  | { t: "none" }
  | { t: "tuple" | "list"; items: Py[] }
  | { t: "dict"; entries: [Py, Py][] };

/** Reads the Python literal NumPy writes as a header (a dict of strings, booleans, ints and tuples); throws a plain Error on anything else. */
function parsePython(text: string): Py {
  let i = 0;
  const space = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`${what} at character ${i + 1}`);
  };
  const value = (): Py => {
    space();
    const c = text[i];
    if (c === undefined) return fail("the header ends early");
    if (c === "{" || c === "(" || c === "[") {
      const close = c === "{" ? "}" : c === "(" ? ")" : "]";
      i++;
      const items: Py[] = [];
      const entries: [Py, Py][] = [];
      let comma = false;
      for (;;) {
        space();
        if (text[i] === close) {
          i++;
          break;
        }
        if (items.length + entries.length > 0 && !comma) fail(`expected "," or "${close}"`);
        const item = value();
        if (c === "{") {
          space();
          if (text[i] !== ":") fail('expected ":"');
          i++;
          entries.push([item, value()]);
        } else items.push(item);
        space();
        comma = text[i] === ",";
        if (comma) i++;
      }
      if (c === "{") return { t: "dict", entries };
      // (3) is 3 in Python; (3,) is a tuple.
      if (c === "(" && items.length === 1 && !comma) return items[0]!;
      return { t: c === "(" ? "tuple" : "list", items };
    }
    const str = /^[bBuUrR]?(['"])/.exec(text.slice(i, i + 2));
    if (str) {
      const q = str[1]!;
      i += str[0].length;
      let v = "";
      while (text[i] !== q) {
        if (i >= text.length) fail("a string is never closed");
        if (text[i] === "\\") {
          const e = text[++i];
          const hex = (n: number): string => {
            const h = text.slice(i + 1, i + 1 + n);
            if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) fail("a bad escape");
            i += n;
            return String.fromCodePoint(parseInt(h, 16));
          };
          v += e === "n" ? "\n" : e === "t" ? "\t" : e === "x" ? hex(2) : e === "u" ? hex(4) : e === "U" ? hex(8) : (e ?? "");
          i++;
        } else v += text[i++];
      }
      i++;
      return { t: "str", v };
    }
    const num = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[lL]?/.exec(text.slice(i, i + 40));
    if (num) {
      i += num[0].length;
      return { t: "num", v: Number(num[0].replace(/[lL]$/, "")), text: num[0] };
    }
    for (const [word, v] of [["True", { t: "bool", v: true }], ["False", { t: "bool", v: false }], ["None", { t: "none" }]] as const) {
      if (text.startsWith(word, i) && !/\w/.test(text[i + word.length] ?? "")) {
        i += word.length;
        return v;
      }
    }
    return fail(`unexpected ${JSON.stringify(c)}`);
  };
  const v = value();
  space();
  if (i < text.length) fail("unexpected text after the dict");
  return v;
}

const pyText = (p: Py): string => {
  switch (p.t) {
    case "str":
      return `'${p.v}'`;
    case "num":
      return p.text;
    case "bool":
      return p.v ? "True" : "False";
    case "none":
      return "None";
    case "tuple":
      return p.items.length === 1 ? `(${pyText(p.items[0]!)},)` : `(${p.items.map(pyText).join(", ")})`;
    case "list":
      return `[${p.items.map(pyText).join(", ")}]`;
    case "dict":
      return `{${p.entries.map(([k, v]) => `${pyText(k)}: ${pyText(v)}`).join(", ")}}`;
  }
};

/** What a dtype NumPy can write but nnc does not read holds, in words. */
function unsupportedKind(descr: string): string {
  const kind = /^[<>|=]?([a-zA-Z?])/.exec(descr)?.[1];
  switch (kind) {
    case "O":
      return "Python objects (a list of arrays of different lengths, or strings?)";
    case "U":
      return "unicode strings";
    case "S":
    case "a":
      return "byte strings";
    case "c":
      return "complex numbers";
    case "M":
      return "dates and times";
    case "m":
      return "time spans";
    case "V":
      return "raw bytes (void)";
    case "f":
      return "extended-precision floats (np.longdouble)";
    default:
      return "values of a type nnc does not know";
  }
}

/**
 * Reads and checks the header of the .npy file whose first bytes are `bytes`. Returns how many
 * bytes are needed when `bytes` stops inside the header and `whole` is false (more of the file
 * can be read); when `whole` is true, `bytes` is the whole file and a header cut short is an error.
 */
function parseHeader(bytes: Uint8Array, ref: ArrayRef, whole: boolean): NpyHeader | number {
  const where = (offset: number): DataWhere => (ref.offsets ? { file: ref.file, offset } : { file: ref.file });
  const prefix = Math.min(bytes.length, MAGIC.length);
  const magicOk = MAGIC.slice(0, prefix).every((b, k) => bytes[k] === b);
  if (!magicOk || bytes.length === 0) {
    const head = [...bytes.subarray(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const found = bytes.length === 0 ? "it is empty" : `it starts with ${head}`;
    let hint = "";
    if (bytes[0] === 0x50 && bytes[1] === 0x4b) hint = " It is a zip archive: an .npz file? Hint: read it with `npz(…)`.";
    else if (bytes[0] === 0x1f && bytes[1] === 0x8b) hint = " It is gzip-compressed: decompress it first (gunzip).";
    else if (bytes.length > 0 && [...bytes.subarray(0, 64)].every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127))) hint = " It looks like text: a CSV file? Hint: read it with `csv(…)`, or write the array with np.save.";
    throw new DataError(`${ref.shown} is not a NumPy .npy file: ${found}, where a .npy file starts with 93 4e 55 4d 50 59 ("\\x93NUMPY", as np.save writes it).${hint}`, where(0));
  }
  const truncated = (need: number): DataError =>
    new DataError(`${ref.shown} is truncated inside its header: the header needs ${plural(need, "byte")}, but the ${ref.offsets ? "file" : "array"} has ${count(bytes.length)}. Was it cut short? Save it again with np.save.`, where(bytes.length));
  if (bytes.length < 8) {
    if (whole) throw truncated(10);
    return 10;
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3 || minor !== 0) {
    throw new DataError(`${ref.shown} is a .npy file of format version ${major}.${minor}; nnc reads versions 1.0, 2.0 and 3.0 (what np.save writes).`, where(6));
  }
  const lengthBytes = major === 1 ? 2 : 4;
  const start = 8 + lengthBytes;
  if (bytes.length < start) {
    if (whole) throw truncated(start);
    return start;
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? v.getUint16(8, true) : v.getUint32(8, true);
  const dataOffset = start + headerLength;
  if (bytes.length < dataOffset) {
    if (whole) throw truncated(dataOffset);
    return dataOffset;
  }
  const text = Buffer.from(bytes.subarray(start, dataOffset)).toString(major === 3 ? "utf8" : "latin1");
  const bad = (why: string): DataError => {
    const shown = text.trim().length > 200 ? `${text.trim().slice(0, 200)}…` : text.trim();
    return new DataError(
      `${ref.shown} has a .npy header nnc cannot read: ${why}. Its header is ${JSON.stringify(shown)}; np.save writes a dict like {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 28, 28)}.`,
      where(start),
    );
  };
  let dict: Py;
  try {
    dict = parsePython(text);
  } catch (e) {
    throw bad(`it is not a Python dict literal (${(e as Error).message})`);
  }
  if (dict.t !== "dict") throw bad("it is not a Python dict");
  const field = (key: string): Py => {
    const entry = dict.t === "dict" ? dict.entries.find(([k]) => k.t === "str" && k.v === key) : undefined;
    if (!entry) throw bad(`it has no '${key}'`);
    return entry[1];
  };
  const descr = field("descr");
  const fortran = field("fortran_order");
  const shapeValue = field("shape");
  // The shape: a tuple of whole numbers ((n,) for one axis, () for a single value).
  const dims = shapeValue.t === "tuple" || shapeValue.t === "list" ? shapeValue.items : [shapeValue];
  const shape = dims.map((d) => {
    if (d.t !== "num" || !Number.isSafeInteger(d.v) || d.v < 0) throw bad(`its shape ${pyText(shapeValue)} is not a tuple of whole numbers`);
    return d.v;
  });
  if (fortran.t !== "bool") throw bad(`its fortran_order is ${pyText(fortran)}, not True or False`);
  if (descr.t === "list") {
    const names = descr.items.map((f) => (f.t === "tuple" && f.items[0]?.t === "str" ? `'${f.items[0].v}'` : pyText(f))).slice(0, 8);
    throw new DataError(
      `${ref.shown} holds a structured array (fields ${names.join(", ")}); nnc reads plain numeric arrays: ${SUPPORTED}. Hint: save each field as its own array, or stack them: np.save(path, np.stack([a[f] for f in a.dtype.names], axis=-1).astype(np.float32)).`,
      where(start),
    );
  }
  if (descr.t !== "str") throw bad(`its descr is ${pyText(descr)}, not a dtype string`);
  const dtype = descr.v;
  const m = /^([<>|=]?)([a-zA-Z?])(\d+)$/.exec(dtype);
  const type = m ? TYPES[m[2]! + m[3]!] : undefined;
  if (!m || type === undefined) {
    const hint = dtype.includes("O")
      ? " Hint: if it is a list of arrays of different sizes, pad or resize them to one shape first; then np.save(path, np.asarray(x, dtype=np.float32))."
      : " Hint: convert it first: np.save(path, x.astype(np.float32)).";
    throw new DataError(`${ref.shown} holds ${unsupportedKind(dtype)} (dtype '${dtype}'); nnc reads numeric arrays: ${SUPPORTED}.${hint}`, where(start));
  }
  const itemSize = Number(m[3]);
  const order = m[1]!;
  const littleEndian = order === ">" ? false : order === "=" ? HOST_LITTLE : true;
  if (fortran.v && shape.filter((d) => d > 1).length > 1) {
    throw new DataError(
      `${ref.shown} is stored in Fortran (column-major) order (fortran_order: True, shape ${pythonShape(shape)}); nnc reads C (row-major) order. Hint: save it with np.save(path, np.ascontiguousarray(x)).`,
      where(start),
    );
  }
  const dataBytes = sizeOf(shape) * itemSize;
  return { version: `${major}.0`, dtype, type, itemSize, littleEndian, shape, dataOffset, dataBytes };
}

/** Checks that `bytes` holds exactly the values `h` promises. */
function checkDataLength(bytes: Uint8Array, h: NpyHeader, ref: ArrayRef): void {
  const found = bytes.length - h.dataOffset;
  const where = (offset: number): DataWhere => (ref.offsets ? { file: ref.file, offset } : { file: ref.file });
  const promise = `its header promises shape ${pythonShape(h.shape)} of '${h.dtype}' (${h.itemSize} ${h.itemSize === 1 ? "byte" : "bytes"} each), which is ${plural(h.dataBytes, "byte")} after the ${count(h.dataOffset)}-byte header`;
  if (found < h.dataBytes) {
    throw new DataError(`${ref.shown} is truncated: ${promise}, but only ${plural(found, "byte")} follow (expected ${count(h.dataBytes)}, found ${count(found)}). Was the download or the copy cut short? Save it again with np.save.`, where(bytes.length));
  }
  if (found > h.dataBytes) {
    throw new DataError(`${ref.shown} has ${plural(found - h.dataBytes, "byte")} after its data: ${promise} (expected ${count(h.dataBytes)}, found ${count(found)}). Is it damaged, or not the file it claims to be?`, where(h.dataOffset + h.dataBytes));
  }
}

/** float16 bits as a number. */
function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The values of a checked array (header `h`, whole `bytes`), as `NpyValues`. */
function decodeValues(bytes: Uint8Array, h: NpyHeader, ref: ArrayRef): NpyValues {
  const n = sizeOf(h.shape);
  // Bytes need neither alignment nor swapping: a view of the bytes read (which are this reader's own).
  if (h.type === "uint8") return bytes.subarray(h.dataOffset, h.dataOffset + n);
  if (h.type === "int8") return new Int8Array(bytes.buffer, bytes.byteOffset + h.dataOffset, n);
  // A copy, aligned for the typed array (and ours to swap in place). Not `bytes.slice`: on a Buffer that is a view.
  const raw = new Uint8Array(h.dataBytes);
  raw.set(bytes.subarray(h.dataOffset, h.dataOffset + h.dataBytes));
  const buffer = raw.buffer;
  const view = new DataView(buffer);
  if (h.type === "int64" || h.type === "uint64") {
    const out = new Float64Array(n);
    const le = h.littleEndian;
    for (let k = 0; k < n; k++) {
      const at = 8 * k;
      const lo = view.getUint32(le ? at : at + 4, le);
      const hi = h.type === "int64" ? view.getInt32(le ? at + 4 : at, le) : view.getUint32(le ? at + 4 : at, le);
      const v = hi * 4294967296 + lo;
      if (Math.abs(v) >= 2 ** 53) {
        const exact = h.type === "int64" ? view.getBigInt64(at, le) : view.getBigUint64(at, le);
        throw new DataError(
          `${ref.shown}: ${entryName(ref.name, h.shape, k)} is ${exact}, beyond what nnc holds exactly (2^53 = 9,007,199,254,740,992 in magnitude; the array is '${h.dtype}'). Are these IDs rather than numbers to learn from? Hint: convert them, e.g. x.astype(np.float32).`,
          entryWhere(ref, h, k),
        );
      }
      out[k] = v;
    }
    return out;
  }
  if (h.type === "float16") {
    const out = new Float32Array(n);
    for (let k = 0; k < n; k++) out[k] = half(view.getUint16(2 * k, h.littleEndian));
    return out;
  }
  if (h.itemSize > 1 && h.littleEndian !== HOST_LITTLE) {
    const s = h.itemSize;
    for (let at = 0; at < raw.length; at += s) {
      for (let a = at, b = at + s - 1; a < b; a++, b--) {
        const t = raw[a]!;
        raw[a] = raw[b]!;
        raw[b] = t;
      }
    }
  }
  switch (h.type) {
    case "bool":
      for (let k = 0; k < n; k++) raw[k] = raw[k] ? 1 : 0;
      return raw;
    case "int16":
      return new Int16Array(buffer, 0, n);
    case "uint16":
      return new Uint16Array(buffer, 0, n);
    case "int32":
      return new Int32Array(buffer, 0, n);
    case "uint32":
      return new Uint32Array(buffer, 0, n);
    case "float32":
      return new Float32Array(buffer, 0, n);
    case "float64":
      return new Float64Array(buffer, 0, n);
  }
}

function readArray(bytes: Uint8Array, ref: ArrayRef): NpyArray {
  const h = parseHeader(bytes, ref, true) as NpyHeader;
  checkDataLength(bytes, h, ref);
  return { dtype: h.dtype, type: h.type, shape: h.shape, values: decodeValues(bytes, h, ref) };
}

/** The name an array's entries are shown with: the file's or member's name without `.npy`. */
const arrayName = (name: string): string => basename(name).replace(/\.npy$/i, "") || "x";

/**
 * Reads a whole .npy file (`bytes`); `shown` names it in messages ("x_train.npy", quoted),
 * `file` is its resolved path. Every problem is a `DataError`.
 */
export function readNpy(bytes: Uint8Array, shown: string, file: string): NpyArray {
  return readArray(bytes, { shown, file, name: arrayName(file), offsets: true });
}

// ── arrays in files and archives ───────────────────────────────────────────────────────────

/** An array to read: its header first (to check it before its data is read), then the whole of it. */
interface ArraySource {
  ref: ArrayRef;
  /** The first bytes, at least `want` where there are that many. */
  head(want: number): Promise<Uint8Array>;
  all(): Promise<Uint8Array>;
}

function fileSource(path: string, baseDir: string): ArraySource {
  const file = resolve(baseDir, path);
  const shown = JSON.stringify(path);
  // Opened for each read and closed after it: nothing stays open when a later check fails.
  const read = async (length?: number): Promise<Uint8Array> => {
    const input = await openInput(file, shown, "NumPy file");
    try {
      return await input.read(0, length ?? input.size);
    } finally {
      await input.close();
    }
  };
  return { ref: { shown, file, name: arrayName(path), offsets: true }, head: (want) => read(want), all: () => read() };
}

function memberSource(zip: ZipArchive, entry: ZipEntry): ArraySource {
  const name = entry.name.replace(/\.npy$/i, "");
  return {
    ref: { shown: `${name} in ${zip.shown}`, file: zip.file, name: arrayName(entry.name), offsets: false },
    head: (want) => zipEntryHead(zip, entry, want),
    all: () => zipEntryData(zip, entry),
  };
}

async function readHeader(source: ArraySource): Promise<NpyHeader> {
  let want = 1024;
  for (;;) {
    const bytes = await source.head(want);
    const h = parseHeader(bytes, source.ref, bytes.length < want);
    if (typeof h !== "number") return h;
    want = Math.max(h, 2 * want);
  }
}

// ── shapes ──

/** Without leading and trailing axes of size 1. */
function trimOnes(shape: number[]): number[] {
  let a = 0;
  let b = shape.length;
  while (a < b && shape[a] === 1) a++;
  while (b > a && shape[b - 1] === 1) b--;
  return shape.slice(a, b);
}

/** Whether a sample shaped `sample` can be read as the model's `input` (see the module's comment). */
function fitsInput(sample: number[], input: number[]): boolean {
  if (sameShape(trimOnes(sample), trimOnes(input))) return true;
  return (sample.length === 1 || input.length === 1) && sizeOf(sample) === sizeOf(input);
}

function inputShapeError(ref: ArrayRef, shape: number[], input: number[]): DataError {
  const where = { file: ref.file };
  if (shape.length === 0) return new DataError(`${ref.shown} holds a single value (shape ()), not an array of samples; the model takes ${describeShape(input)} per sample.`, where);
  const sample = shape.slice(1);
  const n = shape[0]!;
  const has = sample.length === 0 ? `${plural(n, "sample")} of one value each` : `${plural(n, "sample")} of ${describeShape(sample)}`;
  let hint: string;
  if (sample.length === 3 && input.length === 3 && sample[0] === input[2] && sample[1] === input[0] && sample[2] === input[1]) {
    hint = ` It looks channels-first (samples, channels, height, width); the model takes channels last. Hint: np.save(path, np.transpose(x, (0, 2, 3, 1))).`;
  } else if (sample.length === 0) {
    hint = " Is this the labels array (y) given as the inputs (x)?";
  } else if (sizeOf(sample) === sizeOf(input)) {
    hint = ` The sizes agree but the axes do not. Hint: np.save(path, x.reshape(-1, ${input.join(", ")})), if that is what the values are.`;
  } else {
    hint = ` Hint: give the model \`input ${sample.join("x")}\`, or save arrays of the shape it takes.`;
  }
  return new DataError(`${ref.shown} has shape ${pythonShape(shape)}: ${has}, but the model takes ${describeShape(input)}.${hint}`, where);
}

// ── values ──

const shortValue = (v: number, t: NpyType): string => (Number.isNaN(v) ? "nan" : !Number.isFinite(v) ? (v > 0 ? "inf" : "-inf") : t === "float32" || t === "float16" ? String(Number(v.toPrecision(7))) : String(v));

/** Bytes 0..255 as float32 in [0, 1]: a copy made natively, then divided in place (one element type here, so the loop stays fast). */
function scalePixels(src: Uint8Array): Float32Array {
  const out = new Float32Array(src);
  for (let k = 0; k < out.length; k++) out[k] = out[k]! / 255;
  return out;
}

/** The inputs as float32, uint8 pixels scaled to [0, 1]; NaN, infinities and values beyond float32 refused. */
function inputValues(a: NpyArray, ref: ArrayRef, h?: NpyHeader): Float32Array {
  const src = a.values;
  if (a.type === "uint8") return scalePixels(src as Uint8Array);
  if (isFloat(a.type)) {
    for (let k = 0; k < src.length; k++) {
      const v = src[k]!;
      if (!(Math.abs(v) <= FLOAT32_MAX)) {
        const what = Number.isNaN(v) ? "NaN" : Number.isFinite(v) ? `${v}, too large for a 32-bit float (at most about 3.4e38), so it would train as infinity` : `${v > 0 ? "" : "minus "}infinity`;
        const hint = Number.isFinite(v) ? " Hint: rescale the array." : " Missing or infinite values cannot be trained on: drop the sample, or fill the value in (np.nan_to_num, or the feature's mean).";
        throw new DataError(`${ref.shown}: ${entryName(ref.name, a.shape, k)} is ${what}.${hint}`, entryWhere(ref, h, k));
      }
    }
  }
  return src instanceof Float32Array ? src : Float32Array.from(src);
}

interface YResult {
  labels?: Int32Array;
  /** Regression values, or (`perPixel`) a class number per pixel. */
  targets?: Float32Array;
  perPixel?: boolean;
  /** Classification: the largest label + 1, or the one-hot width. */
  classes: number;
  /** Regression: targets per sample. */
  targetSize: number;
}

/** Whether `y` holds a value that is not a whole number (so, without a task, it is regression targets). */
const hasFraction = (y: NpyArray): boolean => isFloat(y.type) && y.values.some((v) => !Number.isInteger(v));

function classLabels(y: NpyArray, ref: ArrayRef, h: NpyHeader | undefined, opts: LoadOptions): YResult {
  const n = y.shape[0]!;
  const limit = opts.classes;
  const regressionHint = " Hint: for regression targets, give the recipe loss mse or mae.";
  const rangeText = limit !== undefined ? `the model has ${plural(limit, "class", "classes")} (0..${limit - 1})` : "";
  if (y.shape.length === 1 || (y.shape.length === 2 && y.shape[1] === 1)) {
    const labels = new Int32Array(n);
    let max = 0;
    for (let k = 0; k < n; k++) {
      const v = y.values[k]!;
      const at = `${ref.shown}: ${entryName(ref.name, y.shape, k)}`;
      if (!Number.isInteger(v)) throw new DataError(`${at} is ${shortValue(v, y.type)}, but class labels are whole numbers from 0.${regressionHint}`, entryWhere(ref, h, k));
      if (v < 0) throw new DataError(`${at} is ${v}: class labels are whole numbers from 0${limit !== undefined ? ` (${rangeText})` : ""}.`, entryWhere(ref, h, k));
      if (limit !== undefined && v >= limit) throw new DataError(`${at} is ${v}, out of range: ${rangeText}.`, entryWhere(ref, h, k));
      labels[k] = v;
      if (v > max) max = v;
    }
    return { labels, classes: max + 1, targetSize: 0 };
  }
  if (y.shape.length === 2) {
    const c = y.shape[1]!;
    if (limit !== undefined && c > limit) {
      throw new DataError(`${ref.shown} has shape ${pythonShape(y.shape)}: one-hot rows of ${plural(c, "class", "classes")}, but the model distinguishes only ${limit}.`, { file: ref.file });
    }
    const labels = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      let hot = -1;
      let ok = true;
      for (let j = 0; j < c; j++) {
        const v = y.values[k * c + j]!;
        if (v === 1 && hot < 0) hot = j;
        else if (v !== 0) ok = false;
      }
      if (!ok || hot < 0) {
        const row = Array.from(y.values.subarray(k * c, k * c + Math.min(c, 12)), (v) => shortValue(v, y.type));
        throw new DataError(
          `${ref.shown}: row ${ref.name}[${k}] is not one-hot: it is [${row.join(", ")}${c > 12 ? ", …" : ""}], where a one-hot row has a single 1 and zeros elsewhere. Labels shaped (n, C) are read as one-hot classes; class numbers are shaped (n,).${regressionHint}`,
          entryWhere(ref, h, k * c),
        );
      }
      labels[k] = hot;
    }
    return { labels, classes: c, targetSize: 0 };
  }
  throw notLabels(ref, y.shape);
}

function notLabels(ref: ArrayRef, shape: number[]): DataError {
  return new DataError(
    `${ref.shown} has shape ${pythonShape(shape)}, which is not class labels: they are shaped (n,) or (n, 1), one class number per sample, or (n, C), one-hot rows. Hint: for regression targets, give the recipe loss mse or mae.`,
    { file: ref.file },
  );
}

function regressionTargets(y: NpyArray, ref: ArrayRef, h: NpyHeader | undefined, opts: LoadOptions): YResult {
  const k = sizeOf(y.shape.slice(1));
  if (k === 0) throw new DataError(`${ref.shown} has shape ${pythonShape(y.shape)}: no targets per sample.`, { file: ref.file });
  if (opts.outputs !== undefined && k !== opts.outputs) {
    throw new DataError(
      `${ref.shown} has shape ${pythonShape(y.shape)}: ${plural(k, "target")} per sample, but the model gives ${plural(opts.outputs, "output")}. Hint: give the model's last layer ${k} ${k === 1 ? "unit" : "units"}, or save y with ${opts.outputs} per sample.`,
      { file: ref.file },
    );
  }
  const targets = new Float32Array(y.values.length);
  for (let i = 0; i < targets.length; i++) {
    const v = y.values[i]!;
    if (!(Math.abs(v) <= FLOAT32_MAX)) {
      const what = Number.isNaN(v) ? "NaN" : Number.isFinite(v) ? `${v}, too large for a 32-bit float` : `${v > 0 ? "" : "minus "}infinity`;
      throw new DataError(`${ref.shown}: ${entryName(ref.name, y.shape, i)} is ${what}; a target must be a finite number. Hint: drop the sample, or fill the value in.`, entryWhere(ref, h, i));
    }
    targets[i] = v;
  }
  return { targets, classes: 0, targetSize: k };
}

// ── per-pixel targets (a model that ends in an image) ──

/** Why `shape` (y's) is not per-pixel targets for a model whose output is `output`, naming both. */
function pixelShapeError(ref: ArrayRef, shape: number[], output: number[], regression: boolean): DataError {
  const n = shape[0]!;
  const sample = shape.slice(1);
  const spatial = output.slice(0, -1);
  const c = output[output.length - 1]!;
  const has = sample.length === 0 ? "one value per sample" : `${sample.join("x")} per sample`;
  const want = regression
    ? `target images are shaped ${pythonShape([n, ...output])}`
    : `per-pixel class labels are shaped ${pythonShape([n, ...spatial])} or ${pythonShape([n, ...spatial, 1])} (a class number per pixel)${c > 1 ? `, or ${pythonShape([n, ...output])} (one-hot)` : ""}`;
  const hint =
    sample.length > 0 && sample.length === output.length && sample[0] === output[output.length - 1] && sameShape(sample.slice(1), spatial)
      ? " It looks channels-first; the model gives channels last. Hint: np.transpose(y, (0, 2, 3, 1))."
      : sample.length <= 1 && !regression
        ? " Is it one class per sample? The model ends in an image, so it needs a target per pixel; end it in a vector (flatten, dense) to classify whole samples."
        : "";
  return new DataError(`${ref.shown} has shape ${pythonShape(shape)}: ${has}, but the model gives ${output.join("x")} per sample; ${want}.${hint}`, { file: ref.file });
}

/** Whether y's `shape` holds per-pixel targets for `output`: "ids" (a class per pixel), "onehot", "values" (regression), or undefined. */
function pixelTargets(shape: number[], output: number[], regression: boolean): "ids" | "onehot" | "values" | undefined {
  const sample = shape.slice(1);
  if (regression) return sameShape(trimOnes(sample), trimOnes(output)) ? "values" : undefined;
  const spatial = output.slice(0, -1);
  const c = output[output.length - 1]!;
  if (sameShape(sample, spatial) || sameShape(sample, [...spatial, 1])) return "ids";
  if (c > 1 && sameShape(sample, output)) return "onehot";
  return undefined;
}

/**
 * A class number per pixel (segmentation masks) from y shaped like the output's pixels (class
 * numbers) or like the output (one-hot), each below `opts.classes` (the model's channels, or 2
 * for one sigmoid channel). Returned as `targets`, one per pixel.
 */
function pixelClasses(y: NpyArray, ref: ArrayRef, h: NpyHeader | undefined, output: number[], opts: LoadOptions): YResult {
  const n = y.shape[0]!;
  const pixels = sizeOf(output.slice(0, -1));
  const kind = pixelTargets(y.shape, output, false);
  if (!kind) throw pixelShapeError(ref, y.shape, output, false);
  const limit = opts.classes;
  const targets = new Float32Array(n * pixels);
  let max = 0;
  if (kind === "ids") {
    for (let k = 0; k < targets.length; k++) {
      const v = y.values[k]!;
      const at = `${ref.shown}: ${entryName(ref.name, y.shape, k)}`;
      if (!Number.isInteger(v) || v < 0) throw new DataError(`${at} is ${shortValue(v, y.type)}, but a mask holds class numbers, whole numbers from 0.`, entryWhere(ref, h, k));
      if (limit !== undefined && v >= limit) {
        const hint = v === 255 && limit === 2 ? " Hint: a mask saved as 0/255? Save it as 0/1 (mask // 255)." : "";
        throw new DataError(`${at} is ${v}, out of range: the model has ${plural(limit, "class", "classes")} per pixel (0..${limit - 1}).${hint}`, entryWhere(ref, h, k));
      }
      targets[k] = v;
      if (v > max) max = v;
    }
    return { targets, perPixel: true, classes: max + 1, targetSize: pixels };
  }
  const c = output[output.length - 1]!;
  for (let p = 0; p < n * pixels; p++) {
    let hot = -1;
    let ok = true;
    for (let j = 0; j < c; j++) {
      const v = y.values[p * c + j]!;
      if (v === 1 && hot < 0) hot = j;
      else if (v !== 0) ok = false;
    }
    if (!ok || hot < 0) {
      const row = Array.from(y.values.subarray(p * c, p * c + Math.min(c, 12)), (v) => shortValue(v, y.type));
      throw new DataError(
        `${ref.shown}: ${entryName(ref.name, y.shape, p * c).replace(/, 0\]$/, ", :]")} is not one-hot: it is [${row.join(", ")}${c > 12 ? ", …" : ""}], where a one-hot pixel has a single 1 and zeros elsewhere. A mask of class numbers is shaped ${pythonShape([n, ...output.slice(0, -1)])}.`,
        entryWhere(ref, h, p * c),
      );
    }
    targets[p] = hot;
  }
  return { targets, perPixel: true, classes: c, targetSize: pixels };
}

// ── the loader ─────────────────────────────────────────────────────────────────────────────

type Role = "train" | "validation" | "test";

interface SplitSources {
  role: Role;
  x: ArraySource;
  /** Left out with `target: "input"`. */
  y?: ArraySource;
}

/** The names of a split's x and y in the recipe ("x", "validationX", …), for messages. */
const KEYS: Record<Role, [string, string]> = { train: ["x", "y"], validation: ["validationX", "validationY"], test: ["testX", "testY"] };

function pairError(config: { source: string }, role: Role, has: "x" | "y"): DataError {
  const [kx, ky] = KEYS[role];
  const [given, missing] = has === "x" ? [kx, ky] : [ky, kx];
  return new DataError(`The recipe's \`${config.source}(…)\` names the ${role} ${has === "x" ? "inputs" : "labels"} (\`${given}\`) but not the ${role} ${has === "x" ? "labels" : "inputs"} (\`${missing}\`): give both, or neither.`);
}

function memberList(zip: ZipArchive): string[] {
  return zip.entries.map((e) => e.name.replace(/\.npy$/i, ""));
}

function findMember(zip: ZipArchive, name: string): ZipEntry | undefined {
  return zip.entries.find((e) => e.name === name) ?? zip.entries.find((e) => e.name === `${name}.npy`);
}

function missingMember(zip: ZipArchive, name: string, key: string): DataError {
  const names = memberList(zip);
  const bare = name.replace(/\.npy$/i, "");
  const guess = closestByDistance(bare, names);
  const listed = names.length === 0 ? "It holds no arrays." : `Its arrays are: ${names.slice(0, 20).join(", ")}${names.length > 20 ? `, and ${count(names.length - 20)} more` : ""}.`;
  return new DataError(`The archive ${zip.shown} has no array ${quote(bare)} (for \`${key}\`). ${listed}${guess !== undefined ? ` Did you mean ${quote(guess)}?` : ""}`, { file: zip.file });
}

interface Loaded {
  role: Role;
  x: ArraySource;
  y?: ArraySource;
  xh: NpyHeader;
  yh?: NpyHeader;
}

/**
 * Loads `npy(…)` (separate .npy files) or `npz(…)` (one archive) for a model whose input is
 * `opts.inputShape`. For an archive, the validation and test arrays are the ones the recipe
 * names; when it names none, `x_val`/`y_val` and `x_test`/`y_test` are used if the archive has
 * both of a pair (the Keras names; a lone `x_test` without `y_test` is left out and said so in
 * the description). Every user mistake is a `DataError` naming the file, the member and the entry.
 */
export async function loadNumpy(config: Extract<DataConfig, { source: "npy" | "npz" }>, opts: LoadOptions): Promise<Dataset> {
  const o: LoadOptions = { ...opts, classes: opts.classes ?? config.classes };
  let zip: ZipArchive | undefined;
  try {
    return await loadArrays(config, o, (z) => (zip = z));
  } finally {
    await zip?.input.close();
  }
}

async function loadArrays(config: Extract<DataConfig, { source: "npy" | "npz" }>, o: LoadOptions, opened: (zip: ZipArchive) => void): Promise<Dataset> {
  const splits: SplitSources[] = [];
  const notes: string[] = [];
  let archive = "";
  // `targets: input`: the inputs are the targets, and no y is read.
  const reconstruct = config.target === "input";
  const pairs: [Role, string | undefined, string | undefined][] = [
    ["train", config.x, reconstruct ? undefined : config.y],
    ["validation", config.validationX, reconstruct ? undefined : config.validationY],
    ["test", config.testX, reconstruct ? undefined : config.testY],
  ];
  for (const [role, x, y] of pairs) {
    if (!reconstruct && (x === undefined) !== (y === undefined)) throw pairError(config, role, x !== undefined ? "x" : "y");
  }
  if (config.source === "npy") {
    for (const [role, x, y] of pairs) {
      if (x !== undefined && reconstruct) splits.push({ role, x: fileSource(x, o.baseDir) });
      else if (x !== undefined && y !== undefined) splits.push({ role, x: fileSource(x, o.baseDir), y: fileSource(y, o.baseDir) });
    }
  } else {
    const file = resolve(o.baseDir, config.path);
    const shown = JSON.stringify(config.path);
    archive = `${shown}: `;
    const zip = await openZip(file, shown, ".npz archive");
    opened(zip);
    const defaults: Record<Role, [string, string] | undefined> = { train: undefined, validation: ["x_val", "y_val"], test: ["x_test", "y_test"] };
    for (const [role, x, y] of pairs) {
      if (reconstruct) {
        const name = x ?? (defaults[role] && findMember(zip, defaults[role]![0]) ? defaults[role]![0] : undefined);
        if (name === undefined) continue;
        const entry = findMember(zip, name);
        if (!entry) throw missingMember(zip, name, KEYS[role][0]);
        splits.push({ role, x: memberSource(zip, entry) });
        continue;
      }
      let names: [string, string] | undefined = x !== undefined && y !== undefined ? [x, y] : undefined;
      if (!names && defaults[role]) {
        const [dx, dy] = defaults[role]!;
        const hx = findMember(zip, dx);
        const hy = findMember(zip, dy);
        if (hx && hy) names = [dx, dy];
        else if (hx || hy) notes.push(`${hx ? dx : dy} has no ${hx ? dy : dx} beside it, so it is not used`);
      }
      if (!names) continue;
      const [ex, ey] = names.map((name, i) => {
        const entry = findMember(zip, name);
        if (!entry) throw missingMember(zip, name, KEYS[role][i]!);
        return entry;
      }) as [ZipEntry, ZipEntry];
      splits.push({ role, x: memberSource(zip, ex), y: memberSource(zip, ey) });
    }
  }

  // Every header first: shapes and sample counts are checked, and the memory the inputs take,
  // before any array's data is read.
  const input = o.inputShape;
  const output = o.outputShape !== undefined && o.outputShape.length > 1 ? o.outputShape : undefined;
  const loaded: Loaded[] = [];
  for (const s of splits) {
    const xh = await readHeader(s.x);
    if (xh.shape.length === 0 || !fitsInput(xh.shape.slice(1), input)) throw inputShapeError(s.x.ref, xh.shape, input);
    if (xh.shape[0] === 0) throw new DataError(`${s.x.ref.shown} holds no samples (shape ${pythonShape(xh.shape)}).`, { file: s.x.ref.file });
    if (!s.y) {
      loaded.push({ ...s, xh } as Loaded);
      continue;
    }
    const yh = await readHeader(s.y);
    if (yh.shape.length === 0) throw new DataError(`${s.y.ref.shown} holds a single value (shape ()), not one label per sample.`, { file: s.y.ref.file });
    if (yh.shape[0] !== xh.shape[0]) {
      throw new DataError(
        `${s.x.ref.shown} holds ${plural(xh.shape[0]!, "sample")} (shape ${pythonShape(xh.shape)}) but ${s.y.ref.shown} holds ${plural(yh.shape[0]!, "label")} (shape ${pythonShape(yh.shape)}); they must match one to one. Are they from the same split?`,
        { file: s.y.ref.file },
      );
    }
    if (output) {
      // Per-pixel targets: their shape is checked against the model's output before any data is read.
      const regression = o.task === "regression";
      if (!pixelTargets(yh.shape, output, regression)) throw pixelShapeError(s.y.ref, yh.shape, output, regression);
    }
    // Labels of another shape are refused before any data is read (float arrays, without a task, may still be regression targets).
    else if (yh.shape.length > 2 && (o.task === "classification" || (o.task === undefined && !isFloat(yh.type)))) throw notLabels(s.y.ref, yh.shape);
    loaded.push({ ...s, xh, yh });
  }
  const total = loaded.reduce((t, l) => t + l.xh.shape[0]!, 0);
  const shownX = loaded.map((l) => l.x.ref.shown);
  checkDataSize(
    total * sizeOf(input),
    `${shownX.length === 1 ? `${shownX[0]} holds` : `${shownX.join(", ")} hold`} ${plural(total, "sample")} of ${describeShape(input)}:`,
    "Hint: train on fewer samples (save a slice of the arrays, x[:n] and y[:n]).",
    o,
    { file: loaded[0]!.x.ref.file },
  );

  // Then the data, split by split.
  if (reconstruct) return reconstruction(loaded, archive, notes, o);
  const read: { role: Role; x: Float32Array; n: number; y: NpyArray; yRef: ArrayRef; yh: NpyHeader; xh: NpyHeader; xRef: ArrayRef }[] = [];
  for (const l of loaded) {
    const xArray = readArray(await l.x.all(), l.x.ref);
    const x = inputValues(xArray, l.x.ref, l.xh);
    const y = readArray(await l.y!.all(), l.y!.ref);
    read.push({ role: l.role, x, n: l.xh.shape[0]!, y, yRef: l.y!.ref, yh: l.yh!, xh: l.xh, xRef: l.x.ref });
  }
  const regression = o.task === "regression" || (o.task === undefined && read.some((r) => hasFraction(r.y)));
  const ys = read.map((r) => (regression ? regressionTargets(r.y, r.yRef, r.yh, o) : output ? pixelClasses(r.y, r.yRef, r.yh, output, o) : classLabels(r.y, r.yRef, r.yh, o)));
  if (regression) {
    const k = ys[0]!.targetSize;
    read.forEach((r, i) => {
      if (ys[i]!.targetSize !== k) {
        throw new DataError(`${r.yRef.shown} has ${plural(ys[i]!.targetSize, "target")} per sample (shape ${pythonShape(r.y.shape)}), but ${read[0]!.yRef.shown} has ${k}; every split needs the same.`, { file: r.yRef.file });
      }
    });
  }
  const classes = regression ? 0 : (o.classes ?? Math.max(...ys.map((y) => y.classes)));

  const splitsOut: Partial<Record<Role, Samples>> = {};
  const described: string[] = [];
  read.forEach((r, i) => {
    const y = ys[i]!;
    const x = tf.tensor(r.x, [r.n, ...input], "float32");
    splitsOut[r.role] = memorySamples(x, y.labels ? { labels: y.labels } : { targets: y.targets! });
    const perPixel = output && !regression ? `, a class per pixel of ${output.slice(0, -1).join("x")}` : "";
    const sample = r.xh.shape.slice(1);
    const shape = sample.length === 0 ? "one value" : sample.join("x");
    const as = sameShape(sample, input) ? "" : `, read as ${input.join("x")}`;
    const yText = regression ? (output ? `target images of ${output.join("x")}` : `${plural(y.targetSize, "target")} per sample`) : `${plural(classes, "class", "classes")}${perPixel}`;
    // In an archive, the arrays by name (the archive leads the description); files by their quoted path.
    const xName = r.xRef.offsets ? r.xRef.shown : r.xRef.name;
    const yName = r.yRef.offsets ? r.yRef.shown : r.yRef.name;
    const head = r.role === "train" ? "" : `${r.role}: `;
    described.push(`${head}${xName} (${plural(r.n, "sample")} of ${shape}${as}${r.xh.type === "uint8" ? ", pixels scaled to [0, 1]" : ""}), ${yName}${r.role === "train" ? ` (${yText})` : ""}`);
  });
  if (!splitsOut.test) notes.push("no test split");
  const ds: Dataset = {
    train: splitsOut.train!,
    classes,
    description: [archive + described.join("; "), ...notes].join("; "),
    preprocess: { kind: "features" },
  };
  if (splitsOut.validation) ds.validation = splitsOut.validation;
  if (splitsOut.test) ds.test = splitsOut.test;
  if (regression) ds.targetSize = ys[0]!.targetSize;
  else if (ys[0]!.perPixel) {
    ds.targetSize = ys[0]!.targetSize;
    ds.targetKind = "classes";
  }
  return ds;
}

/** `targets: input`: the x arrays alone, each split's samples without labels (the inputs are the targets). */
async function reconstruction(loaded: Loaded[], archive: string, notes: string[], o: LoadOptions): Promise<Dataset> {
  const input = o.inputShape;
  const splitsOut: Partial<Record<Role, Samples>> = {};
  const described: string[] = [];
  for (const l of loaded) {
    const x = inputValues(readArray(await l.x.all(), l.x.ref), l.x.ref, l.xh);
    const n = l.xh.shape[0]!;
    splitsOut[l.role] = { n, x: tf.tensor(x, [n, ...input], "float32") };
    const sample = l.xh.shape.slice(1);
    const name = l.x.ref.offsets ? l.x.ref.shown : l.x.ref.name;
    described.push(`${l.role === "train" ? "" : `${l.role}: `}${name} (${plural(n, "sample")} of ${sample.length === 0 ? "one value" : sample.join("x")}${l.xh.type === "uint8" ? ", pixels scaled to [0, 1]" : ""})`);
  }
  if (!splitsOut.test) notes.push("no test split");
  const ds: Dataset = { train: splitsOut.train!, classes: 0, description: [archive + described.join("; ") + ", the inputs as targets", ...notes].join("; "), preprocess: { kind: "features" } };
  if (splitsOut.validation) ds.validation = splitsOut.validation;
  if (splitsOut.test) ds.test = splitsOut.test;
  return ds;
}

/**
 * Reads one .npy file of inputs for `nnc predict`: shaped [n, ...] with samples that fit
 * `inputShape` by the rules training uses, or a single sample shaped like the input (n = 1);
 * uint8 pixels scaled to [0, 1], as in training. `file` is relative to the working folder.
 */
export async function readNpyInputs(file: string, inputShape: number[]): Promise<{ values: Float32Array; n: number }> {
  const source = fileSource(file, process.cwd());
  const ref = source.ref;
  const bytes = await source.all();
  const h = parseHeader(bytes, ref, true) as NpyHeader;
  let n: number;
  if (h.shape.length >= 1 && fitsInput(h.shape.slice(1), inputShape)) n = h.shape[0]!;
  else if (sizeOf(h.shape) === sizeOf(inputShape) && fitsInput(h.shape, inputShape)) n = 1;
  else throw inputShapeError(ref, h.shape, inputShape);
  if (n === 0) throw new DataError(`${ref.shown} holds no samples (shape ${pythonShape(h.shape)}).`, { file: ref.file });
  checkDataLength(bytes, h, ref);
  const array: NpyArray = { dtype: h.dtype, type: h.type, shape: h.shape, values: decodeValues(bytes, h, ref) };
  return { values: inputValues(array, ref, h), n };
}
