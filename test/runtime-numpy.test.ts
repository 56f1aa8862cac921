/**
 * NumPy sources (issue 13): the .npy reader (every dtype, versions 1.0/2.0/3.0, both byte
 * orders, the header's Python literal), the .npz zip reader (stored, deflated, zip64, CRC),
 * `loadNumpy` (shape rules, pixels, labels, one-hot, regression targets, splits) and
 * `readNpyInputs`; every refusal is a DataError naming the file, member or entry. Fixtures are
 * written here byte by byte; where NumPy is installed, files NumPy wrote are read as well.
 */
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataConfig } from "../src/runtime/config.js";
import { DataError, type LoadOptions } from "../src/runtime/data/common.js";
import { loadNumpy, readNpy, readNpyInputs } from "../src/runtime/data/numpy.js";
import type { Dataset } from "../src/runtime/data/samples.js";
import { crc32 } from "../src/runtime/data/zip.js";

let dir: string;
beforeAll(async () => {
  await tf.setBackend("cpu");
  dir = mkdtempSync(join(tmpdir(), "nnc-numpy-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ── fixtures ─────────────────────────────────────────────────────────────────────────────

/** Bytes per value and how to write one, by dtype letter and size. */
function writeValue(view: DataView, at: number, kind: string, size: number, v: number | bigint, little: boolean): void {
  const n = Number(v);
  switch (`${kind}${size}`) {
    case "b1":
    case "u1":
      return view.setUint8(at, n);
    case "i1":
      return view.setInt8(at, n);
    case "i2":
      return view.setInt16(at, n, little);
    case "u2":
      return view.setUint16(at, n, little);
    case "i4":
      return view.setInt32(at, n, little);
    case "u4":
      return view.setUint32(at, n, little);
    case "i8":
      return view.setBigInt64(at, BigInt(v), little);
    case "u8":
      return view.setBigUint64(at, BigInt(v), little);
    case "f2":
      return view.setUint16(at, n, little); // the caller gives float16 bits
    case "f4":
      return view.setFloat32(at, n, little);
    case "f8":
      return view.setFloat64(at, n, little);
  }
  throw new Error(`no writer for ${kind}${size}`);
}

interface NpyOptions {
  version?: 1 | 2 | 3;
  fortran?: boolean;
  /** The header text itself, instead of the one np.save writes. */
  header?: string;
  /** Bytes to cut from the end, or to add. */
  cut?: number;
  extra?: number;
}

/** A .npy file as np.save writes it: the header padded with spaces to a multiple of 64 bytes, ending in a newline. */
function npy(descr: string, shape: number[], values: (number | bigint)[], o: NpyOptions = {}): Buffer {
  const version = o.version ?? 1;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = o.header ?? `{'descr': '${descr}', 'fortran_order': ${o.fortran ? "True" : "False"}, 'shape': ${shapeText}, }`;
  const lengthBytes = version === 1 ? 2 : 4;
  const pre = 8 + lengthBytes;
  const headerBytes = (s: string): number => Buffer.byteLength(s, version === 3 ? "utf8" : "latin1");
  while ((pre + headerBytes(header) + 1) % 64 !== 0) header += " ";
  header += "\n";
  const m = /^([<>|])?([a-z?])(\d+)$/.exec(descr);
  const size = m ? Number(m[3]) : 0;
  const data = new Uint8Array(values.length * size);
  const view = new DataView(data.buffer);
  if (m) values.forEach((v, k) => writeValue(view, k * size, m[2]!, size, v, m[1] !== ">"));
  const head = Buffer.alloc(pre);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  if (version === 1) head.writeUInt16LE(headerBytes(header), 8);
  else head.writeUInt32LE(headerBytes(header), 8);
  let out = Buffer.concat([head, Buffer.from(header, version === 3 ? "utf8" : "latin1"), data, Buffer.alloc(o.extra ?? 0)]);
  if (o.cut) out = out.subarray(0, out.length - o.cut);
  return out;
}

interface Member {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** Written into the directory instead of the real CRC-32. */
  crc?: number;
  method?: number;
}

/** A zip archive of `members`, as Python's zipfile writes one (local headers, central directory, end record); zip64 records when asked. */
function zip(members: Member[], o: { zip64?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const body = m.deflate ? deflateRawSync(m.data) : Buffer.from(m.data);
    const method = m.method ?? (m.deflate ? 8 : 0);
    const crc = m.crc ?? crc32(m.data);
    const name = Buffer.from(m.name, "utf8");
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(m.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(o.zip64 ? 45 : 20, 4);
    c.writeUInt16LE(o.zip64 ? 45 : 20, 6);
    c.writeUInt16LE(0x800, 8);
    c.writeUInt16LE(method, 10);
    c.writeUInt16LE(0x21, 14);
    c.writeUInt32LE(crc, 16);
    let extra = Buffer.alloc(0);
    if (o.zip64) {
      c.writeUInt32LE(0xffffffff, 20);
      c.writeUInt32LE(0xffffffff, 24);
      c.writeUInt32LE(0xffffffff, 42);
      extra = Buffer.alloc(28);
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(m.data.length), 4);
      extra.writeBigUInt64LE(BigInt(body.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    } else {
      c.writeUInt32LE(body.length, 20);
      c.writeUInt32LE(m.data.length, 24);
      c.writeUInt32LE(offset, 42);
    }
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(extra.length, 30);
    parts.push(local, name, body);
    central.push(c, name, extra);
    offset += 30 + name.length + body.length;
  }
  const dir = Buffer.concat(central);
  const tail: Buffer[] = [dir];
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  if (o.zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(members.length), 24);
    rec.writeBigUInt64LE(BigInt(members.length), 32);
    rec.writeBigUInt64LE(BigInt(dir.length), 40);
    rec.writeBigUInt64LE(BigInt(offset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(offset + dir.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(rec, loc);
    end.writeUInt16LE(0xffff, 8);
    end.writeUInt16LE(0xffff, 10);
    end.writeUInt32LE(0xffffffff, 12);
    end.writeUInt32LE(0xffffffff, 16);
  } else {
    end.writeUInt16LE(members.length, 8);
    end.writeUInt16LE(members.length, 10);
    end.writeUInt32LE(dir.length, 12);
    end.writeUInt32LE(offset, 16);
  }
  tail.push(end);
  return Buffer.concat([...parts, ...tail]);
}

const write = (name: string, content: Uint8Array): string => {
  writeFileSync(join(dir, name), content);
  return name;
};

const opts = (inputShape: number[], more: Partial<LoadOptions> = {}): LoadOptions => ({ inputShape, seed: 1, baseDir: dir, ...more });
type NumpyConfig = Extract<DataConfig, { source: "npy" | "npz" }>;
const npyConfig = (x: string, y: string, more: Partial<NumpyConfig> = {}): NumpyConfig => ({ source: "npy", x, y, ...more }) as NumpyConfig;
const npzConfig = (path: string, more: Partial<NumpyConfig> = {}): NumpyConfig => ({ source: "npz", path, x: "x_train", y: "y_train", ...more }) as NumpyConfig;

async function failure(f: () => unknown): Promise<DataError> {
  try {
    const d = (await f()) as Dataset | undefined;
    d?.train?.x?.dispose();
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    return e;
  }
  throw new Error("expected a DataError");
}

const readFailure = (bytes: Uint8Array, name = "x.npy"): Promise<DataError> => failure(() => readNpy(bytes, JSON.stringify(name), join(dir, name)));

async function load(config: NumpyConfig, o: LoadOptions): Promise<{ ds: Dataset; x: number[]; shape: number[] }> {
  const ds = await loadNumpy(config, o);
  const x = Array.from(await ds.train.x!.data());
  const shape = ds.train.x!.shape;
  ds.train.x!.dispose();
  ds.validation?.x?.dispose();
  ds.test?.x?.dispose();
  return { ds, x, shape };
}

const range = (n: number, f: (i: number) => number = (i) => i): number[] => Array.from({ length: n }, (_, i) => f(i));

// ── .npy ───────────────────────────────────────────────────────────────────────────────────

describe("the .npy reader", () => {
  const values = [-3, 0, 1, 7, 100, -128 + 1];
  for (const [descr, type, vals, expected] of [
    ["<f4", "float32", [1.5, -2.25, 3e10], [1.5, -2.25, Math.fround(3e10)]],
    [">f4", "float32", [1.5, -2.25, 3e10], [1.5, -2.25, Math.fround(3e10)]],
    ["<f8", "float64", [0.1, -1e300, 2], [0.1, -1e300, 2]],
    [">f8", "float64", [0.1, -1e300, 2], [0.1, -1e300, 2]],
    ["|u1", "uint8", [0, 128, 255], [0, 128, 255]],
    ["|i1", "int8", [-128, 0, 127], [-128, 0, 127]],
    ["<i2", "int16", [-32768, 5, 32767], [-32768, 5, 32767]],
    [">i2", "int16", [-32768, 5, 32767], [-32768, 5, 32767]],
    ["<u2", "uint16", [0, 5, 65535], [0, 5, 65535]],
    ["<i4", "int32", [-2147483648, 5, 2147483647], [-2147483648, 5, 2147483647]],
    [">i4", "int32", values, values],
    ["<u4", "uint32", [0, 1, 4294967295], [0, 1, 4294967295]],
    ["<i8", "int64", [-(2n ** 53n) + 1n, -1n, 2n ** 40n + 3n], [-(2 ** 53) + 1, -1, 2 ** 40 + 3]],
    [">i8", "int64", [-(2n ** 53n) + 1n, -1n, 2n ** 40n + 3n], [-(2 ** 53) + 1, -1, 2 ** 40 + 3]],
    ["<u8", "uint64", [0n, 2n ** 53n - 1n, 7n], [0, 2 ** 53 - 1, 7]],
    ["|b1", "bool", [1, 0, 1], [1, 0, 1]],
    // float16 bits: 1.0, -2.0, 0.5, 65504 (the largest), 2^-24 (the smallest subnormal)
    ["<f2", "float16", [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001], [1, -2, 0.5, 65504, 2 ** -24]],
    [">f2", "float16", [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001], [1, -2, 0.5, 65504, 2 ** -24]],
  ] as const) {
    it(`reads ${descr} as ${type}, value for value`, () => {
      const a = readNpy(npy(descr, [vals.length], [...vals]), '"a.npy"', join(dir, "a.npy"));
      expect(a.type).toBe(type);
      expect(a.dtype).toBe(descr);
      expect(a.shape).toEqual([vals.length]);
      expect(Array.from(a.values)).toEqual([...expected]);
    });
  }

  it("reads format versions 1.0, 2.0 and 3.0 (a 4-byte header length; UTF-8 in 3.0)", () => {
    for (const version of [1, 2, 3] as const) {
      const a = readNpy(npy("<f4", [2, 3], range(6), { version }), '"v.npy"', "v.npy");
      expect(a.shape).toEqual([2, 3]);
      expect(Array.from(a.values)).toEqual(range(6));
    }
    // A 3.0 header may hold UTF-8 (here in an extra key, which is ignored).
    const a = readNpy(npy("<i4", [2], [4, 5], { version: 3, header: "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), 'note': 'é'}" }), '"v3.npy"', "v3.npy");
    expect(Array.from(a.values)).toEqual([4, 5]);
  });

  it("parses the header's dict however it is spelt: (n,), (), Python 2 longs, double quotes, any key order", () => {
    const cases: [string, number[], number][] = [
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", [5], 5],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (), }", [], 1],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", [2, 3], 6],
      ['{"shape": (3, 1), "fortran_order": False, "descr": "<f4"}', [3, 1], 3],
      ["{ 'descr' : '<f4' ,\n 'fortran_order' : False , 'shape' : ( 4 , ) }", [4], 4],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (0, 7), }", [0, 7], 0],
    ];
    for (const [header, shape, n] of cases) {
      const a = readNpy(npy("<f4", shape, range(n), { header }), '"h.npy"', "h.npy");
      expect(a.shape, header).toEqual(shape);
      expect(a.values.length).toBe(n);
    }
  });

  it("refuses an int64 beyond 2^53, naming the entry as Python indexes it", async () => {
    const e = await readFailure(npy("<i8", [2, 2], [1n, 2n, 3n, 2n ** 53n]), "ids.npy");
    expect(e.message).toContain('"ids.npy": ids[1, 1] is 9007199254740992');
    expect(e.message).toContain("2^53");
    expect(e.where).toEqual({ file: join(dir, "ids.npy"), offset: 128 + 3 * 8 });
    const neg = await readFailure(npy("<i8", [3], [0n, -(2n ** 60n), 1n]), "neg.npy");
    expect(neg.message).toContain(`neg[1] is ${-(2n ** 60n)}`);
    const u = await readFailure(npy("<u8", [1], [2n ** 64n - 1n]), "u.npy");
    expect(u.message).toContain("u[0] is 18446744073709551615");
  });

  it("refuses Fortran order with the fix, but reads a Fortran-ordered vector (the same bytes)", async () => {
    const e = await readFailure(npy("<f4", [2, 3], range(6), { fortran: true }), "f.npy");
    expect(e.message).toContain("Fortran (column-major) order");
    expect(e.message).toContain("np.ascontiguousarray");
    expect(Array.from(readNpy(npy("<f4", [3], [1, 2, 3], { fortran: true }), '"v.npy"', "v.npy").values)).toEqual([1, 2, 3]);
  });

  it("refuses objects, structured arrays, strings and complex numbers, saying what was found and what is read", async () => {
    const header = (descr: string): string => `{'descr': ${descr}, 'fortran_order': False, 'shape': (2,), }`;
    for (const [descr, found] of [
      ["'|O'", "Python objects"],
      ["[('a', '<f4'), ('b', '<i4')]", "a structured array (fields 'a', 'b')"],
      ["'<U5'", "unicode strings"],
      ["'|S3'", "byte strings"],
      ["'<c8'", "complex numbers"],
      ["'<M8[ns]'", "dates and times"],
      ["'<f16'", "extended-precision floats"],
    ] as const) {
      const e = await readFailure(npy("", [2], [], { header: header(descr) }), "odd.npy");
      expect(e.message, descr).toContain(`"odd.npy" holds ${found}`);
      expect(e.message).toContain("float16/32/64");
    }
  });

  it("refuses a truncated file with the bytes expected and found, and one with bytes left over", async () => {
    const e = await readFailure(npy("<f4", [10, 4], range(40), { cut: 6 }), "cut.npy");
    expect(e.message).toContain('"cut.npy" is truncated');
    expect(e.message).toContain("expected 160, found 154");
    expect(e.where).toEqual({ file: join(dir, "cut.npy"), offset: 128 + 154 });
    const head = await readFailure(npy("<f4", [2], [1, 2]).subarray(0, 40), "head.npy");
    expect(head.message).toContain("truncated inside its header: the header needs 128 bytes");
    const over = await readFailure(npy("<f4", [2], [1, 2], { extra: 3 }), "over.npy");
    expect(over.message).toContain("3 bytes after its data");
    expect(over.message).toContain("expected 8, found 11");
  });

  it("refuses what is not a .npy file, with a guess at what it is", async () => {
    const zipped = await readFailure(zip([{ name: "x.npy", data: npy("<f4", [1], [1]) }]), "z.npy");
    expect(zipped.message).toContain('"z.npy" is not a NumPy .npy file: it starts with 50 4b 03 04');
    expect(zipped.message).toContain("npz(");
    const text = await readFailure(Buffer.from("a,b\n1,2\n"), "t.npy");
    expect(text.message).toContain("It looks like text");
    expect((await readFailure(Buffer.alloc(0), "e.npy")).message).toContain("it is empty");
    const version = await readFailure(Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 4, 0]), Buffer.alloc(100)]), "v4.npy");
    expect(version.message).toContain("format version 4.0");
    const bad = await readFailure(npy("<f4", [1], [1], { header: "{'descr': '<f4', 'shape': (1,)}" }), "k.npy");
    expect(bad.message).toContain("it has no 'fortran_order'");
    const notDict = await readFailure(npy("<f4", [1], [1], { header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2)}" }), "s.npy");
    expect(notDict.message).toContain("is not a tuple of whole numbers");
    const garbage = await readFailure(npy("<f4", [1], [1], { header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)" }), "g.npy");
    expect(garbage.message).toContain("not a Python dict literal");
  });
});

// ── .npz ───────────────────────────────────────────────────────────────────────────────────

describe("the .npz reader", () => {
  const x = npy("|u1", [3, 2, 2], range(12, (i) => i * 20));
  const y = npy("<i8", [3], [2n, 0n, 1n]);
  const xt = npy("|u1", [1, 2, 2], [255, 0, 0, 255]);
  const yt = npy("<i8", [1], [1n]);

  it("computes the zip CRC-32", () => {
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  for (const [what, archive] of [
    ["stored (np.savez)", () => zip([{ name: "x_train.npy", data: x }, { name: "y_train.npy", data: y }])],
    ["deflated (np.savez_compressed)", () => zip([{ name: "x_train.npy", data: x, deflate: true }, { name: "y_train.npy", data: y, deflate: true }])],
    ["with zip64 records", () => zip([{ name: "x_train.npy", data: x, deflate: true }, { name: "y_train.npy", data: y }], { zip64: true })],
  ] as const) {
    it(`reads an archive ${what}`, async () => {
      write("a.npz", archive());
      const { ds, x: values, shape } = await load(npzConfig("a.npz"), opts([2, 2, 1]));
      expect(shape).toEqual([3, 2, 2, 1]);
      expect(values.map((v) => Math.round(v * 255))).toEqual(range(12, (i) => i * 20));
      expect(Array.from(ds.train.labels!)).toEqual([2, 0, 1]);
      expect(ds.classes).toBe(3);
      expect(ds.test).toBeUndefined();
      expect(ds.description).toContain('"a.npz": x_train (3 samples of 2x2, read as 2x2x1, pixels scaled to [0, 1]), y_train (3 classes)');
    });
  }

  it("uses x_test/y_test and x_val/y_val when the recipe names none, and says when one is alone", async () => {
    write("split.npz", zip([
      { name: "x_train.npy", data: x },
      { name: "y_train.npy", data: y },
      { name: "x_test.npy", data: xt, deflate: true },
      { name: "y_test.npy", data: yt },
      { name: "x_val.npy", data: xt },
      { name: "y_val.npy", data: npy("<i8", [1], [2n]) },
    ]));
    const ds = await loadNumpy(npzConfig("split.npz"), opts([4]));
    expect(ds.test!.n).toBe(1);
    expect(Array.from(await ds.test!.x!.data())).toEqual([1, 0, 0, 1]);
    expect(Array.from(ds.test!.labels!)).toEqual([1]);
    expect(Array.from(ds.validation!.labels!)).toEqual([2]);
    expect(ds.description).toContain("validation: x_val (1 sample of 2x2, read as 4");
    expect(ds.description).toContain("test: x_test (1 sample");
    write("lone.npz", zip([{ name: "x_train.npy", data: x }, { name: "y_train.npy", data: y }, { name: "x_test.npy", data: xt }]));
    const lone = await loadNumpy(npzConfig("lone.npz"), opts([4]));
    expect(lone.test).toBeUndefined();
    expect(lone.description).toContain("x_test has no y_test beside it, so it is not used");
  });

  it("finds members the recipe names with or without .npy, and names the missing one with the archive's arrays", async () => {
    write("named.npz", zip([{ name: "images.npy", data: x }, { name: "classes", data: y }, { name: "t_images.npy", data: xt }, { name: "t_classes.npy", data: yt }]));
    const ds = await loadNumpy(npzConfig("named.npz", { x: "images.npy", y: "classes", testX: "t_images", testY: "t_classes.npy" }), opts([2, 2, 1]));
    expect(ds.train.n).toBe(3);
    expect(ds.test!.n).toBe(1);
    const e = await failure(() => loadNumpy(npzConfig("named.npz", { x: "image", y: "classes" }), opts([2, 2, 1])));
    expect(e.message).toBe('The archive "named.npz" has no array "image" (for `x`). Its arrays are: images, classes, t_images, t_classes. Did you mean "images"?');
    expect(e.where).toEqual({ file: join(dir, "named.npz") });
  });

  it("refuses a damaged archive: a wrong CRC-32, a cut file, an unknown method, not a zip at all", async () => {
    write("crc.npz", zip([{ name: "x_train.npy", data: x, crc: 1234 }, { name: "y_train.npy", data: y }]));
    const crc = await failure(() => loadNumpy(npzConfig("crc.npz"), opts([4])));
    expect(crc.message).toContain('The archive "crc.npz" is damaged: the CRC-32 of its member "x_train.npy" is');
    expect(crc.message).toContain("its directory says 0x000004d2");
    const whole = zip([{ name: "x_train.npy", data: x, deflate: true }, { name: "y_train.npy", data: y }]);
    write("cut.npz", whole.subarray(0, whole.length - 30));
    expect((await failure(() => loadNumpy(npzConfig("cut.npz"), opts([4])))).message).toContain("its end (the central directory) is missing");
    write("bz.npz", zip([{ name: "x_train.npy", data: x, method: 12 }, { name: "y_train.npy", data: y }]));
    expect((await failure(() => loadNumpy(npzConfig("bz.npz"), opts([4])))).message).toContain('member "x_train.npy" compressed with bzip2');
    write("plain.npz", x);
    expect((await failure(() => loadNumpy(npzConfig("plain.npz"), opts([4])))).message).toContain('"plain.npz" is a single .npy array, not an .npz archive');
    write("text.npz", Buffer.from("hello"));
    expect((await failure(() => loadNumpy(npzConfig("text.npz"), opts([4])))).message).toContain('"text.npz" is not a zip archive');
    expect((await failure(() => loadNumpy(npzConfig("none.npz"), opts([4])))).message).toContain('Cannot find the .npz archive "none.npz"');
  });

  it("reads only the members it uses: a damaged array the recipe does not name is left alone", async () => {
    write("extra.npz", zip([{ name: "notes.npy", data: x, crc: 1 }, { name: "x_train.npy", data: x }, { name: "y_train.npy", data: y, deflate: true }]));
    const ds = await loadNumpy(npzConfig("extra.npz"), opts([4]));
    expect(ds.train.n).toBe(3);
    ds.train.x!.dispose();
  });

  it("refuses a deflated member that decompresses to more than its directory says", async () => {
    const archive = zip([{ name: "x_train.npy", data: x, deflate: true }, { name: "y_train.npy", data: y }]);
    // The directory's uncompressed size of the first member, made 10 bytes smaller.
    const at = archive.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    archive.writeUInt32LE(x.length - 10, at + 24);
    write("bomb.npz", archive);
    const e = await failure(() => loadNumpy(npzConfig("bomb.npz"), opts([4])));
    expect(e.message).toContain('member "x_train.npy" decompresses to more than');
  });
});

// ── loadNumpy ──────────────────────────────────────────────────────────────────────────────

describe("loadNumpy: inputs", () => {
  it("scales uint8 pixels to [0, 1] and reshapes (n, 28, 28) to an input 28x28x1", async () => {
    const pixels = range(2 * 28 * 28, (i) => (i * 7) % 256);
    write("px.npy", npy("|u1", [2, 28, 28], pixels));
    write("py.npy", npy("|u1", [2], [3, 9]));
    const { ds, x, shape } = await load(npyConfig("px.npy", "py.npy"), opts([28, 28, 1]));
    expect(shape).toEqual([2, 28, 28, 1]);
    expect(x[0]).toBe(0);
    expect(x[37]).toBeCloseTo(((37 * 7) % 256) / 255, 6);
    expect(Math.max(...x)).toBeLessThanOrEqual(1);
    expect(Array.from(ds.train.labels!)).toEqual([3, 9]);
    expect(ds.classes).toBe(10);
    expect(ds.description).toBe('"px.npy" (2 samples of 28x28, read as 28x28x1, pixels scaled to [0, 1]), "py.npy" (10 classes); no test split');
    expect(ds.preprocess).toEqual({ kind: "features" });
  });

  it("accepts flat samples of the same size, axes of size 1 at either end, and images for a flat input; floats as they are", async () => {
    const v = range(2 * 6, (i) => i / 4);
    write("y2.npy", npy("<i4", [2], [0, 1]));
    for (const [shape, input] of [
      [[2, 6], [2, 3, 1]],
      [[2, 1, 2, 3], [2, 3, 1]],
      [[2, 2, 3, 1], [2, 3]],
      [[2, 2, 3], [6]],
      [[2, 2, 3], [2, 3]],
    ] as const) {
      write("f.npy", npy("<f4", [...shape], v));
      const { x, shape: got } = await load(npyConfig("f.npy", "y2.npy"), opts([...input]));
      expect(got, JSON.stringify(shape)).toEqual([2, ...input]);
      expect(x).toEqual(v);
    }
    write("one.npy", npy("<f8", [3], [0.5, -1, 2]));
    write("y3.npy", npy("<i4", [3], [0, 1, 1]));
    const { x, shape } = await load(npyConfig("one.npy", "y3.npy"), opts([1]));
    expect(shape).toEqual([3, 1]);
    expect(x).toEqual([0.5, -1, 2]);
  });

  it("refuses a shape that does not fit, naming the file, its shape and the model's input", async () => {
    write("c.npy", npy("|u1", [4, 32, 32, 3], []).subarray(0, 128)); // the header is enough: the shape is refused before the data is read
    write("cy.npy", npy("<i4", [4], [0, 1, 2, 3]));
    const e = await failure(() => loadNumpy(npyConfig("c.npy", "cy.npy"), opts([28, 28, 1])));
    expect(e.message).toBe('"c.npy" has shape (4, 32, 32, 3): 4 samples of 32x32x3 (3,072 values), but the model takes 28x28x1 (784 values). Hint: give the model `input 32x32x3`, or save arrays of the shape it takes.');
    write("cf.npy", npy("<f4", [4, 3, 8, 8], range(4 * 192)));
    const cf = await failure(() => loadNumpy(npyConfig("cf.npy", "cy.npy"), opts([8, 8, 3])));
    expect(cf.message).toContain("It looks channels-first");
    expect(cf.message).toContain("np.transpose(x, (0, 2, 3, 1))");
    const labels = await failure(() => loadNumpy(npyConfig("cy.npy", "cy.npy"), opts([8, 8, 3])));
    expect(labels.message).toContain('"cy.npy" has shape (4,): 4 samples of one value each');
    expect(labels.message).toContain("Is this the labels array");
    write("s.npy", npy("<f4", [], [1]));
    expect((await failure(() => loadNumpy(npyConfig("s.npy", "cy.npy"), opts([1])))).message).toContain('"s.npy" holds a single value (shape ())');
    write("z.npy", npy("<f4", [0, 3], []));
    expect((await failure(() => loadNumpy(npyConfig("z.npy", "cy.npy"), opts([3])))).message).toBe('"z.npy" holds no samples (shape (0, 3)).');
  });

  it("refuses NaN, infinities and float64 beyond float32, naming the entry as x[i, j, …]", async () => {
    write("ny.npy", npy("<i4", [2], [0, 1]));
    for (const [descr, v, found] of [
      ["<f4", NaN, "is NaN"],
      ["<f8", -Infinity, "is minus infinity"],
      ["<f8", 1e39, "is 1e+39, too large for a 32-bit float"],
      ["<f2", 0x7c00, "is infinity"],
    ] as const) {
      const values: number[] = range(2 * 3 * 2, () => (descr === "<f2" ? 0x3c00 : 1));
      values[0 * 6 + 2 * 2 + 1] = v; // x[0, 2, 1]: sample 0, row 2, column 1
      write("nan.npy", npy(descr, [2, 3, 2], values));
      const e = await failure(() => loadNumpy(npyConfig("nan.npy", "ny.npy"), opts([3, 2])));
      expect(e.message, descr).toContain(`"nan.npy": nan[0, 2, 1] ${found}`);
      expect(e.where).toEqual({ file: join(dir, "nan.npy"), offset: 128 + 5 * Number(descr.slice(2)) });
    }
  });

  it("checks the memory the inputs take from the headers, before reading any data", async () => {
    write("big.npy", npy("<f4", [1000, 100], []).subarray(0, 128)); // only the header: the data would be 400 KB
    write("bigy.npy", npy("<i4", [1000], []).subarray(0, 128));
    const e = await failure(() => loadNumpy(npyConfig("big.npy", "bigy.npy"), opts([100], { memory: { bytes: 100_000, why: "the test allows 100 KB" } })));
    expect(e.message).toContain('"big.npy" holds 1,000 samples of a vector of 100 values: 100,000 float32 values');
    expect(e.message).toContain("the test allows 100 KB");
  });

  it("names a missing file, and a split given without its partner", async () => {
    expect((await failure(() => loadNumpy(npyConfig("nope.npy", "y.npy"), opts([1])))).message).toContain('Cannot find the NumPy file "nope.npy"');
    write("tx.npy", npy("<f4", [1], [1]));
    write("ty.npy", npy("<i4", [1], [0]));
    const e = await failure(() => loadNumpy(npyConfig("tx.npy", "ty.npy", { testX: "tx.npy" }), opts([1])));
    expect(e.message).toBe("The recipe's `npy(…)` names the test inputs (`testX`) but not the test labels (`testY`): give both, or neither.");
    const v = await failure(() => loadNumpy(npzConfig("a.npz", { validationY: "y_val" }), opts([1])));
    expect(v.message).toContain("names the validation labels (`validationY`) but not the validation inputs (`validationX`)");
  });

  it("reads validation and test files beside the training pair", async () => {
    write("trx.npy", npy("<f4", [3, 2], range(6)));
    write("try.npy", npy("|u1", [3], [0, 1, 0]));
    write("vx.npy", npy("<f8", [1, 2], [7, 8]));
    write("vy.npy", npy("<i8", [1], [1n]));
    write("tex.npy", npy("<i4", [2, 2], [9, 10, 11, 12]));
    write("tey.npy", npy("|b1", [2], [1, 0]));
    const ds = await loadNumpy(npyConfig("trx.npy", "try.npy", { validationX: "vx.npy", validationY: "vy.npy", testX: "tex.npy", testY: "tey.npy" }), opts([2]));
    expect(Array.from(await ds.validation!.x!.data())).toEqual([7, 8]);
    expect(Array.from(await ds.test!.x!.data())).toEqual([9, 10, 11, 12]);
    expect(Array.from(ds.test!.labels!)).toEqual([1, 0]);
    expect(ds.description).toBe('"trx.npy" (3 samples of 2), "try.npy" (2 classes); validation: "vx.npy" (1 sample of 2), "vy.npy"; test: "tex.npy" (2 samples of 2), "tey.npy"');
  });
});

describe("loadNumpy: labels and targets", () => {
  const x4 = (): string => write("x4.npy", npy("<f4", [4, 2], range(8)));

  it("reads class numbers of any integer dtype, (n,) or (n, 1), or floats holding whole numbers; classes from the largest", async () => {
    x4();
    for (const [descr, shape, vals] of [
      ["|u1", [4], [0, 3, 1, 2]],
      ["<i8", [4, 1], [0n, 3n, 1n, 2n]],
      ["<u2", [4], [0, 3, 1, 2]],
      ["<f4", [4], [0, 3, 1, 2]],
      ["<f8", [4, 1], [0, 3, 1, 2]],
    ] as const) {
      write("lab.npy", npy(descr, [...shape], [...vals]));
      const { ds } = await load(npyConfig("x4.npy", "lab.npy"), opts([2]));
      expect(Array.from(ds.train.labels!), descr).toEqual([0, 3, 1, 2]);
      expect(ds.classes).toBe(4);
    }
    write("lab.npy", npy("<i4", [4], [0, 1, 1, 0]));
    expect((await load(npyConfig("x4.npy", "lab.npy", { classes: 5 }), opts([2]))).ds.classes).toBe(5);
    expect((await load(npyConfig("x4.npy", "lab.npy"), opts([2], { classes: 3 }))).ds.classes).toBe(3);
  });

  it("reads one-hot rows as their class, and names a row that is not one-hot", async () => {
    x4();
    write("hot.npy", npy("<f4", [4, 3], [0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1]));
    const { ds } = await load(npyConfig("x4.npy", "hot.npy"), opts([2]));
    expect(Array.from(ds.train.labels!)).toEqual([2, 0, 1, 2]);
    expect(ds.classes).toBe(3);
    write("warm.npy", npy("<f4", [4, 3], [0, 0, 1, 1, 0, 0, 0, 0.5, 0.5, 0, 0, 1]));
    const e = await failure(() => loadNumpy(npyConfig("x4.npy", "warm.npy"), opts([2], { task: "classification" })));
    expect(e.message).toContain('"warm.npy": row warm[2] is not one-hot: it is [0, 0.5, 0.5]');
    expect(e.where).toEqual({ file: join(dir, "warm.npy"), offset: 128 + 6 * 4 });
    write("two.npy", npy("<i4", [4, 3], [0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 1]));
    expect((await failure(() => loadNumpy(npyConfig("x4.npy", "two.npy"), opts([2])))).message).toContain("row two[1] is not one-hot: it is [1, 1, 0]");
    expect((await failure(() => loadNumpy(npyConfig("x4.npy", "hot.npy"), opts([2], { classes: 2 })))).message).toContain("one-hot rows of 3 classes, but the model distinguishes only 2");
  });

  it("refuses labels that are negative, beyond the model's classes, or fractions, naming the entry and the value", async () => {
    x4();
    write("neg.npy", npy("<i4", [4], [0, 1, -1, 0]));
    const neg = await failure(() => loadNumpy(npyConfig("x4.npy", "neg.npy"), opts([2])));
    expect(neg.message).toBe('"neg.npy": neg[2] is -1: class labels are whole numbers from 0.');
    expect(neg.where).toEqual({ file: join(dir, "neg.npy"), offset: 128 + 8 });
    write("high.npy", npy("<i8", [4, 1], [0n, 1n, 2n, 10n]));
    const high = await failure(() => loadNumpy(npyConfig("x4.npy", "high.npy"), opts([2], { classes: 10 })));
    expect(high.message).toBe('"high.npy": high[3, 0] is 10, out of range: the model has 10 classes (0..9).');
    write("frac.npy", npy("<f4", [4], [0, 1, 0.5, 0]));
    const frac = await failure(() => loadNumpy(npyConfig("x4.npy", "frac.npy"), opts([2], { task: "classification" })));
    expect(frac.message).toContain('"frac.npy": frac[2] is 0.5, but class labels are whole numbers from 0. Hint: for regression targets, give the recipe loss mse or mae.');
    write("cube.npy", npy("<i4", [4, 2, 2], [])); // only the header: the shape is refused before the data is read
    expect((await failure(() => loadNumpy(npyConfig("x4.npy", "cube.npy"), opts([2])))).message).toContain('"cube.npy" has shape (4, 2, 2), which is not class labels');
  });

  it("refuses labels that do not match the inputs one to one, naming both files", async () => {
    x4();
    write("y3.npy", npy("<i4", [3], [0, 1, 0]));
    const e = await failure(() => loadNumpy(npyConfig("x4.npy", "y3.npy"), opts([2])));
    expect(e.message).toBe('"x4.npy" holds 4 samples (shape (4, 2)) but "y3.npy" holds 3 labels (shape (3,)); they must match one to one. Are they from the same split?');
  });

  it("reads regression targets (n,) and (n, k), checks them against the model's outputs", async () => {
    x4();
    write("t1.npy", npy("<f8", [4], [0.5, 1, 2, 3]));
    const one = await load(npyConfig("x4.npy", "t1.npy"), opts([2], { task: "regression", outputs: 1 }));
    expect(Array.from(one.ds.train.targets!)).toEqual([0.5, 1, 2, 3]);
    expect(one.ds.targetSize).toBe(1);
    expect(one.ds.classes).toBe(0);
    expect(one.ds.train.labels).toBeUndefined();
    expect(one.ds.description).toContain('"t1.npy" (1 target per sample)');
    write("t2.npy", npy("<f4", [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]));
    const two = await load(npyConfig("x4.npy", "t2.npy"), opts([2], { task: "regression" }));
    expect(Array.from(two.ds.train.targets!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(two.ds.targetSize).toBe(2);
    // Whole numbers, but the task is regression: still targets.
    write("ti.npy", npy("<i4", [4], [1, 2, 3, 4]));
    expect(Array.from((await load(npyConfig("x4.npy", "ti.npy"), opts([2], { task: "regression" }))).ds.train.targets!)).toEqual([1, 2, 3, 4]);
    const e = await failure(() => loadNumpy(npyConfig("x4.npy", "t2.npy"), opts([2], { task: "regression", outputs: 3 })));
    expect(e.message).toContain('"t2.npy" has shape (4, 2): 2 targets per sample, but the model gives 3 outputs.');
    write("tn.npy", npy("<f4", [4], [1, NaN, 3, 4]));
    expect((await failure(() => loadNumpy(npyConfig("x4.npy", "tn.npy"), opts([2], { task: "regression" })))).message).toContain('"tn.npy": tn[1] is NaN; a target must be a finite number');
  });

  it("without a task, reads float labels with fractions as regression targets and whole ones as classes", async () => {
    x4();
    write("tf.npy", npy("<f4", [4], [0.25, 1, 2, 3]));
    const r = await load(npyConfig("x4.npy", "tf.npy"), opts([2]));
    expect(r.ds.targetSize).toBe(1);
    expect(Array.from(r.ds.train.targets!)).toEqual([0.25, 1, 2, 3]);
    write("tw.npy", npy("<f4", [4], [0, 1, 2, 3]));
    expect(Array.from((await load(npyConfig("x4.npy", "tw.npy"), opts([2]))).ds.train.labels!)).toEqual([0, 1, 2, 3]);
  });
});

describe("readNpyInputs (nnc predict)", () => {
  it("reads a batch or a single sample with training's shape rules and pixel scaling", async () => {
    const file = join(dir, "in.npy");
    writeFileSync(file, npy("|u1", [2, 2, 2], [0, 51, 102, 255, 255, 0, 0, 0]));
    const batch = await readNpyInputs(file, [2, 2, 1]);
    expect(batch.n).toBe(2);
    expect(Array.from(batch.values)).toEqual([0, 0.2, 0.4, 1, 1, 0, 0, 0].map(Math.fround));
    writeFileSync(file, npy("<f4", [2, 2], [1, 2, 3, 4]));
    const single = await readNpyInputs(file, [2, 2, 1]);
    expect(single.n).toBe(1);
    expect(Array.from(single.values)).toEqual([1, 2, 3, 4]);
    writeFileSync(file, npy("<f4", [3, 5], range(15)));
    const e = await failure(() => readNpyInputs(file, [2, 2, 1]));
    expect(e.message).toContain("has shape (3, 5): 3 samples of a vector of 5 values, but the model takes 2x2x1 (4 values)");
    writeFileSync(file, npy("<f4", [1, 4], [1, NaN, 3, 4]));
    expect((await failure(() => readNpyInputs(file, [4]))).message).toContain("in[0, 1] is NaN");
  });
});

// ── files NumPy wrote ──────────────────────────────────────────────────────────────────────

const python = "/usr/bin/python3";
const hasNumpy = spawnSync(python, ["-c", "import numpy"], { stdio: "ignore" }).status === 0;

it.runIf(process.env["NNC_REQUIRE_NUMPY"] === "1")("has NumPy where CI requires it (.ci/run installs python3-numpy)", () => {
  expect(hasNumpy).toBe(true);
});

describe.skipIf(!hasNumpy)("files written by NumPy itself", () => {
  let npdir: string;
  const DTYPES = ["<f4", ">f4", "<f8", "|u1", "|i1", "<i2", "<u2", "<i4", "<u4", "<i8", ">i8", "<u8", "|b1", "<f2"];
  /** The values the script writes, per dtype, as numbers: (i * 7) % 11 − 3 (+ 0.25 for floats), made positive for unsigned, i % 3 == 0 for bool. */
  const expected = (dt: string): number[] =>
    range(12, (i) => {
      const base = ((i * 7) % 11) - 3;
      if (dt.includes("b")) return i % 3 === 0 ? 1 : 0;
      if (dt.includes("u")) return Math.abs(base);
      if (dt.includes("f")) return base + 0.25;
      return base;
    });
  beforeAll(() => {
    npdir = mkdtempSync(join(tmpdir(), "nnc-numpy-written-"));
    const script = `
import numpy as np, sys, os
os.chdir(sys.argv[1])
base = (np.arange(12) * 7) % 11 - 3
for dt in ${JSON.stringify(DTYPES)}:
    if 'b' in dt: a = (np.arange(12) % 3 == 0)
    elif 'u' in dt: a = np.abs(base)
    elif 'f' in dt: a = base + 0.25
    else: a = base
    np.save('dt_' + dt.replace('<', 'l').replace('>', 'b').replace('|', 'n') + '.npy', a.astype(dt).reshape(3, 4))
for v in [(1, 0), (2, 0), (3, 0)]:
    with open('v%d.npy' % v[0], 'wb') as f:
        np.lib.format.write_array(f, np.arange(6, dtype='<f4').reshape(2, 3), version=v)
np.save('scalar.npy', np.float32(2.5))
np.save('fortran.npy', np.asfortranarray(np.ones((2, 3), 'f4')))
np.save('object.npy', np.array([np.zeros(2), np.zeros(3)], dtype=object), allow_pickle=True)
np.save('struct.npy', np.zeros(3, dtype=[('a', '<f4'), ('b', '<i4')]))
np.save('unicode.npy', np.array(['ab', 'c']))
x = (np.arange(5 * 28 * 28) % 256).astype(np.uint8).reshape(5, 28, 28)
y = np.array([3, 1, 4, 1, 5], dtype=np.int64)
np.savez('plain.npz', x_train=x, y_train=y, x_test=x[:2], y_test=y[:2])
np.savez_compressed('compressed.npz', x_train=x, y_train=y, x_test=x[:2], y_test=y[:2])
`;
    const r = spawnSync(python, ["-c", script, npdir], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  });
  afterAll(() => rmSync(npdir, { recursive: true, force: true }));

  it("reads every dtype NumPy writes, value for value", async () => {
    for (const dt of DTYPES) {
      const name = `dt_${dt.replace("<", "l").replace(">", "b").replace("|", "n")}.npy`;
      const { readFileSync } = await import("node:fs");
      const a = readNpy(readFileSync(join(npdir, name)), JSON.stringify(name), join(npdir, name));
      expect(a.shape, dt).toEqual([3, 4]);
      expect(Array.from(a.values), dt).toEqual(expected(dt));
    }
  });

  it("reads versions 1.0, 2.0, 3.0 and a 0-d array, and refuses Fortran order, objects, structures and strings", async () => {
    const { readFileSync } = await import("node:fs");
    const read = (name: string) => readNpy(readFileSync(join(npdir, name)), JSON.stringify(name), join(npdir, name));
    for (const v of [1, 2, 3]) expect(Array.from(read(`v${v}.npy`).values)).toEqual(range(6));
    const s = read("scalar.npy");
    expect(s.shape).toEqual([]);
    expect(Array.from(s.values)).toEqual([2.5]);
    for (const [name, found] of [
      ["fortran.npy", "Fortran (column-major) order"],
      ["object.npy", "holds Python objects"],
      ["struct.npy", "holds a structured array (fields 'a', 'b')"],
      ["unicode.npy", "holds unicode strings"],
    ]) {
      const e = await failure(() => read(name!));
      expect(e.message, name).toContain(found);
    }
  });

  it("loads np.savez and np.savez_compressed archives, with their test split", async () => {
    for (const name of ["plain.npz", "compressed.npz"]) {
      const ds = await loadNumpy(npzConfig(join(npdir, name)), opts([28, 28, 1]));
      expect(ds.train.n).toBe(5);
      expect(Array.from(ds.train.labels!)).toEqual([3, 1, 4, 1, 5]);
      expect(ds.classes).toBe(6);
      const x = await ds.train.x!.data();
      expect(x[300]).toBeCloseTo((300 % 256) / 255, 6);
      expect(ds.test!.n).toBe(2);
      ds.train.x!.dispose();
      ds.test!.x!.dispose();
    }
  });
});
