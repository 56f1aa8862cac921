/**
 * A small reader of zip archives, enough for NumPy's `.npz` (a zip of `.npy` members:
 * `np.savez` stores them, `np.savez_compressed` deflates them; both write zip64 fields for
 * archives and members of 4 GiB and more). It reads the archive by ranges, never whole: the end
 * record, the central directory (not the local headers one after another, so an archive with
 * data descriptors or a comment reads the same), then only the members asked for. Every
 * member's size is checked, and its CRC-32, when it is extracted.
 *
 * Everything that can be wrong with an archive is a `DataError` naming it (`shown`, `file`)
 * and, where it helps, the byte offset in the archive.
 */
import { kMaxLength } from "node:buffer";
import { open, type FileHandle } from "node:fs/promises";
import { constants, inflateRawSync } from "node:zlib";
import { checkInputFile, count, DataError, inputFileError, plural, quote } from "./common.js";

// ── a file read by ranges ──────────────────────────────────────────────────────────────────

/** A user's file open for reading by ranges. */
export interface InputFile {
  file: string;
  shown: string;
  size: number;
  /** `length` bytes from `offset`, fewer only at the end of the file. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * Opens a user's file; every way that can fail is a DataError naming it, in the words
 * `readInput` uses ("Cannot find the NumPy file …: there is no …").
 */
export async function openInput(file: string, shown: string, what: string): Promise<InputFile> {
  let handle: FileHandle;
  let size: number;
  try {
    await checkInputFile(file, shown, what);
    handle = await open(file, "r");
    size = (await handle.stat()).size;
  } catch (e) {
    throw inputFileError(e, file, shown, what);
  }
  return {
    file,
    shown,
    size,
    async read(offset, length) {
      const want = Math.max(0, Math.min(length, size - offset));
      if (want > kMaxLength) {
        throw new DataError(`The ${what} ${shown} would need ${plural(want, "byte")} read at once, more than Node.js can hold in one buffer (${count(kMaxLength)}). Hint: split the data into smaller files.`, { file, offset });
      }
      const buffer = Buffer.allocUnsafe(want);
      let done = 0;
      try {
        while (done < want) {
          const { bytesRead } = await handle.read(buffer, done, want - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
      } catch (e) {
        throw new DataError(`Cannot read the ${what} ${shown} (${file}) at byte offset ${count(offset + done)}: ${(e as Error).message}`, { file, offset: offset + done });
      }
      return buffer.subarray(0, done);
    },
    close: () => handle.close(),
  };
}

// ── zip ────────────────────────────────────────────────────────────────────────────────────

/** One member of an archive, from its central-directory record. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated; any other method is refused when the member is extracted. */
  method: number;
  compressedSize: number;
  /** The member's size once extracted. */
  size: number;
  crc32: number;
  /** Where the member's local header starts in the archive. */
  localOffset: number;
  encrypted: boolean;
}

export interface ZipArchive {
  shown: string;
  file: string;
  input: InputFile;
  entries: ZipEntry[];
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const METHODS: Record<number, string> = { 1: "shrink", 6: "implode", 9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstd", 95: "xz", 98: "ppmd" };

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** A 64-bit little-endian size as a number; sizes of 2^53 bytes and more are refused as damage. */
function u64(v: DataView, at: number, what: () => DataError): number {
  const lo = v.getUint32(at, true);
  const hi = v.getUint32(at + 4, true);
  if (hi >= 2 ** 21) throw what();
  return hi * 2 ** 32 + lo;
}

/**
 * Opens the zip archive `file` and reads its central directory. `shown` names the archive in
 * messages (`"data.npz"`). The caller closes `input` when done with the members.
 */
export async function openZip(file: string, shown: string, what: string): Promise<ZipArchive> {
  const input = await openInput(file, shown, what);
  try {
    return { shown, file, input, entries: await readDirectory(input) };
  } catch (e) {
    await input.close();
    throw e;
  }
}

async function readDirectory(input: InputFile): Promise<ZipEntry[]> {
  const { shown, file, size } = input;
  const damaged = (why: string, offset?: number): DataError =>
    new DataError(`The archive ${shown} is not a readable zip file (.npz files are zip archives): ${why}. Was the download or the copy cut short? Write it again with np.savez.`, offset === undefined ? { file } : { file, offset });
  // The end-of-central-directory record: 22 bytes, then a comment of up to 65,535 bytes; the
  // zip64 locator (20 bytes) just before it.
  const tailAt = Math.max(0, size - 22 - 0xffff - 20);
  const tail = await input.read(tailAt, size - tailAt);
  const t = view(tail);
  let end = -1;
  for (let at = tail.length - 22; at >= 0; at--) {
    if (t.getUint32(at, true) === EOCD && at + 22 + t.getUint16(at + 20, true) <= tail.length) {
      end = at;
      break;
    }
  }
  if (end < 0) {
    const head = await input.read(0, 6);
    if (head.length >= 6 && head[0] === 0x93 && String.fromCharCode(...head.subarray(1, 6)) === "NUMPY") {
      throw new DataError(`The archive ${shown} is a single .npy array, not an .npz archive. Hint: use \`npy(x: …, y: …)\` for .npy files.`, { file, offset: 0 });
    }
    if (head.length >= 4 && view(head).getUint32(0, true) === LOCAL) throw damaged(`it starts like a zip archive but its end (the central directory) is missing, ${plural(size, "byte")} in`, size);
    const hex = [...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new DataError(`The archive ${shown} is not a zip archive (an .npz file is one): it starts with ${size === 0 ? "nothing (it is empty)" : hex}, where a zip archive starts with 50 4b 03 04 ("PK").`, { file, offset: 0 });
  }
  const endAt = tailAt + end;
  let total = t.getUint16(end + 10, true);
  let dirSize = t.getUint32(end + 12, true);
  let dirAt = t.getUint32(end + 16, true);
  const disk = t.getUint16(end + 4, true);
  if ((disk !== 0 && disk !== 0xffff) || (t.getUint16(end + 6, true) !== 0 && t.getUint16(end + 6, true) !== 0xffff)) throw damaged("it is one part of a multi-part (spanned) archive", endAt);
  if (total === 0xffff || dirSize === 0xffffffff || dirAt === 0xffffffff) {
    const loc = end - 20;
    if (loc < 0 || t.getUint32(loc, true) !== ZIP64_LOCATOR) throw damaged("its end record points to zip64 fields that are not there", endAt);
    const tooBig = (): DataError => damaged("its zip64 end record gives impossible sizes", tailAt + loc);
    const at = u64(t, loc + 8, tooBig);
    const record = await input.read(at, 56);
    const r = view(record);
    if (record.length < 56 || r.getUint32(0, true) !== ZIP64_EOCD) throw damaged(`its zip64 end record is not at byte offset ${count(at)}, where its locator says`, tailAt + loc);
    total = u64(r, 32, tooBig);
    dirSize = u64(r, 40, tooBig);
    dirAt = u64(r, 48, tooBig);
  }
  if (dirAt + dirSize > size) {
    throw damaged(`its central directory should span byte offsets ${count(dirAt)} to ${count(dirAt + dirSize)}, but the file has ${plural(size, "byte")}`, size);
  }
  const dir = await input.read(dirAt, dirSize);
  const v = view(dir);
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let i = 0; i < total; i++) {
    if (at + 46 > dir.length || v.getUint32(at, true) !== CENTRAL) throw damaged(`member ${i + 1} of ${total} is missing from the central directory`, dirAt + at);
    const flags = v.getUint16(at + 8, true);
    const method = v.getUint16(at + 10, true);
    const crc32 = v.getUint32(at + 16, true);
    let compressedSize = v.getUint32(at + 20, true);
    let size = v.getUint32(at + 24, true);
    const nameLength = v.getUint16(at + 28, true);
    const extraLength = v.getUint16(at + 30, true);
    const commentLength = v.getUint16(at + 32, true);
    let localOffset = v.getUint32(at + 42, true);
    const nameAt = at + 46;
    const next = nameAt + nameLength + extraLength + commentLength;
    if (next > dir.length) throw damaged(`the central-directory record of member ${i + 1} runs past the directory's end`, dirAt + at);
    // Bit 11: the name is UTF-8; otherwise IBM code page 437, which agrees with Latin-1 on the ASCII names NumPy writes.
    const name = Buffer.from(dir.subarray(nameAt, nameAt + nameLength)).toString(flags & 0x800 ? "utf8" : "latin1");
    // The zip64 extra field (id 1) holds, in this order, each of these that is 0xFFFFFFFF above.
    let e = nameAt + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = v.getUint16(e, true);
      const length = v.getUint16(e + 2, true);
      if (id === 0x0001) {
        let f = e + 4;
        const tooBig = (): DataError => damaged(`member ${quote(name)} has impossible zip64 sizes`, dirAt + at);
        const take = (): number => {
          if (f + 8 > e + 4 + length) throw damaged(`member ${quote(name)} has a zip64 field too short for its sizes`, dirAt + at);
          const n = u64(v, f, tooBig);
          f += 8;
          return n;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localOffset === 0xffffffff) localOffset = take();
      }
      e += 4 + length;
    }
    entries.push({ name, method, compressedSize, size, crc32, localOffset, encrypted: (flags & 1) !== 0 });
    at = next;
  }
  return entries;
}

/** Where a member's data starts, after its local header. */
async function dataStart(zip: ZipArchive, entry: ZipEntry): Promise<number> {
  const at = entry.localOffset;
  const local = await zip.input.read(at, 30);
  const v = view(local);
  if (local.length < 30 || v.getUint32(0, true) !== LOCAL) {
    throw new DataError(`The archive ${zip.shown} is damaged: member ${quote(entry.name)} should start at byte offset ${count(at)}, but its local header is not there.`, { file: zip.file, offset: at });
  }
  const start = at + 30 + v.getUint16(26, true) + v.getUint16(28, true);
  if (start + entry.compressedSize > zip.input.size) {
    throw new DataError(
      `The archive ${zip.shown} is truncated: member ${quote(entry.name)} needs ${plural(entry.compressedSize, "byte")} from byte offset ${count(start)}, but the file ends at ${count(zip.input.size)}. Was the download or the copy cut short?`,
      { file: zip.file, offset: zip.input.size },
    );
  }
  return start;
}

function checkMethod(zip: ZipArchive, entry: ZipEntry): void {
  if (entry.encrypted) {
    throw new DataError(`The archive ${zip.shown} has its member ${quote(entry.name)} encrypted; nnc reads archives as np.savez writes them, without a password.`, { file: zip.file, offset: entry.localOffset });
  }
  if (entry.method !== 0 && entry.method !== 8) {
    const name = METHODS[entry.method] ?? `method ${entry.method}`;
    throw new DataError(
      `The archive ${zip.shown} has its member ${quote(entry.name)} compressed with ${name}; nnc reads stored and deflated members, as np.savez and np.savez_compressed write them. Hint: write the archive again with np.savez_compressed.`,
      { file: zip.file, offset: entry.localOffset },
    );
  }
  if (entry.size > kMaxLength) {
    throw new DataError(`The archive ${zip.shown} has a member ${quote(entry.name)} of ${plural(entry.size, "byte")}, more than Node.js can hold in one buffer (${count(kMaxLength)}). Hint: split the arrays into smaller files.`, { file: zip.file, offset: entry.localOffset });
  }
}

function inflateError(zip: ZipArchive, entry: ZipEntry, e: unknown): DataError {
  if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
    return new DataError(`The archive ${zip.shown} is damaged: its member ${quote(entry.name)} decompresses to more than the ${plural(entry.size, "byte")} its directory says.`, { file: zip.file, offset: entry.localOffset });
  }
  return new DataError(`The archive ${zip.shown} is damaged: its member ${quote(entry.name)} does not decompress (${(e as Error).message}).`, { file: zip.file, offset: entry.localOffset });
}

/**
 * The first bytes of a member, at least `want` of them where the member has that many (a
 * deflated member is decompressed only as far as needed, so a header can be read before the
 * data is).
 */
export async function zipEntryHead(zip: ZipArchive, entry: ZipEntry, want: number): Promise<Uint8Array> {
  checkMethod(zip, entry);
  const start = await dataStart(zip, entry);
  if (entry.method === 0) return zip.input.read(start, Math.min(want, entry.size));
  for (let take = Math.min(entry.compressedSize, 4096); ; take = Math.min(entry.compressedSize, take * 4)) {
    const data = await zip.input.read(start, take);
    let out: Uint8Array;
    try {
      // Output up to what the directory promises: a member that inflates to more is damaged (or a bomb).
      out = inflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: Math.max(1, entry.size) });
    } catch (e) {
      throw inflateError(zip, entry, e);
    }
    if (out.length >= want || take === entry.compressedSize) return out;
  }
}

/** The member's bytes, decompressed, after checking its size and CRC-32 against the central directory. */
export async function zipEntryData(zip: ZipArchive, entry: ZipEntry): Promise<Uint8Array> {
  checkMethod(zip, entry);
  const start = await dataStart(zip, entry);
  const data = await zip.input.read(start, entry.compressedSize);
  let out: Uint8Array;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) {
      throw new DataError(`The archive ${zip.shown} is damaged: its stored member ${quote(entry.name)} claims ${plural(entry.size, "byte")} but spans ${count(entry.compressedSize)}.`, { file: zip.file, offset: entry.localOffset });
    }
    out = data;
  } else {
    try {
      out = inflateRawSync(data, { maxOutputLength: Math.max(1, entry.size) });
    } catch (e) {
      throw inflateError(zip, entry, e);
    }
    if (out.length !== entry.size) {
      throw new DataError(`The archive ${zip.shown} is damaged: its member ${quote(entry.name)} decompresses to ${plural(out.length, "byte")}, but its directory says ${count(entry.size)}.`, { file: zip.file, offset: entry.localOffset });
    }
  }
  const crc = crc32(out);
  if (crc !== entry.crc32) {
    throw new DataError(
      `The archive ${zip.shown} is damaged: the CRC-32 of its member ${quote(entry.name)} is ${hex32(crc)}, but its directory says ${hex32(entry.crc32)}. Was the file changed or cut short after it was written?`,
      { file: zip.file, offset: entry.localOffset },
    );
  }
  return out;
}

const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, "0")}`;

let table: Int32Array | undefined;

/** The CRC-32 (ISO-HDLC, as zip and gzip use) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (!table) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  const t = table;
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
