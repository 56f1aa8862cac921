/**
 * What a file is, by its content (never its name): a PNG or JPEG image with its size, read from
 * its header alone, or why it is not one an image folder can use.
 *
 * An image folder is indexed before training starts, so every file is checked here: the first
 * bytes (the signature, PNG's IHDR chunk with its CRC, or a JPEG's segments up to its frame
 * header) and the last bytes (PNG's IEND chunk, JPEG's end-of-image marker). A file whose end is
 * missing, or whose JPEG coding is one of the rare kinds, is marked `suspect`: the caller decodes
 * it fully before training to decide. Decoding every file up front would cost an epoch of
 * decoding; the header and tail find what real folders hold (stray files, truncated downloads).
 */
import { open, type FileHandle } from "node:fs/promises";

export type ImageFormat = "png" | "jpeg";

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** Why the header alone cannot vouch for the file (it may be truncated): a full decode decides. */
  suspect?: string;
}

/** Why a file is not an image nnc can use: `what` completes "… is …" ("a GIF image", "a truncated PNG image: …"). */
export interface NotAnImage {
  bad: "not-image" | "damaged" | "too-large" | "unreadable";
  what: string;
}

/**
 * The most pixels an image may have: 0x3FFF², sharp's default `limitInputPixels`, which also
 * bounds what the pure-JS decoders are asked to allocate (a 16,383² RGBA image is 1 GiB).
 */
export const MAX_PIXELS = 0x3fff * 0x3fff;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_IEND = [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];
/** The bit depths PNG allows for each colour type (PNG spec, table 11.1). */
const PNG_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
/** How much of a file's start is read at once; a JPEG's segments before its frame header may need more reads. */
const HEAD_BYTES = 4096;

export async function readImageHeader(file: string): Promise<ImageHeader | NotAnImage> {
  let fh: FileHandle;
  try {
    fh = await open(file, "r");
  } catch (e) {
    return unreadable(e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { bad: "unreadable", what: "not a regular file" };
    const size = st.size;
    const head = await readAt(fh, 0, Math.min(size, HEAD_BYTES));
    if (size === 0) return { bad: "not-image", what: "empty (0 bytes)" };
    if (startsWith(head, PNG_SIGNATURE)) return checkSize(await pngHeader(fh, head, size));
    if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return checkSize(await jpegHeader(fh, head, size));
    return { bad: "not-image", what: describeContent(head) };
  } catch (e) {
    return unreadable(e);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function unreadable(e: unknown): NotAnImage {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return { bad: "unreadable", what: "gone: the file was removed while nnc read the folder" };
  if (code === "EACCES" || code === "EPERM") return { bad: "unreadable", what: "unreadable: permission denied" };
  if (code === "EISDIR") return { bad: "unreadable", what: "a folder, not a file" };
  return { bad: "unreadable", what: `unreadable: ${(e as Error).message}` };
}

function checkSize(h: ImageHeader | NotAnImage): ImageHeader | NotAnImage {
  if ("bad" in h) return h;
  const name = h.format === "png" ? "PNG" : "JPEG";
  if (h.width === 0 || h.height === 0) return { bad: "damaged", what: `a damaged ${name} image: its header gives a size of ${h.width}x${h.height} pixels` };
  if (h.width * h.height > MAX_PIXELS) {
    return { bad: "too-large", what: `a ${name} image of ${h.width}x${h.height} pixels, more than the ${MAX_PIXELS.toLocaleString("en-US")} pixels (16,383²) nnc decodes; shrink it first` };
  }
  return h;
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

const startsWith = (b: Uint8Array, sig: number[], at = 0): boolean => b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);
const ascii = (b: Uint8Array, from: number, to: number): string => String.fromCharCode(...b.subarray(from, to));

let crcTable: Uint32Array | undefined;
/** CRC-32 as PNG computes it (ISO 3309), over `b`. */
export function crc32(b: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

async function pngHeader(fh: FileHandle, head: Uint8Array, size: number): Promise<ImageHeader | NotAnImage> {
  const damaged = (why: string): NotAnImage => ({ bad: "damaged", what: `a damaged PNG image: ${why}` });
  if (head.length < 33) return damaged(`it ends after ${head.length} bytes, inside its header (a PNG header is 33 bytes)`);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (view.getUint32(8) !== 13 || ascii(head, 12, 16) !== "IHDR") return damaged("its first chunk is not the 13-byte IHDR chunk the PNG format requires");
  if (crc32(head.subarray(12, 29)) !== view.getUint32(29)) return damaged("the checksum (CRC) of its IHDR header chunk does not match its bytes");
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = head[24]!;
  const colour = head[25]!;
  if (!PNG_DEPTHS[colour]?.includes(depth)) return damaged(`its header gives colour type ${colour} with bit depth ${depth}, which PNG does not define`);
  if (head[26] !== 0 || head[27] !== 0 || head[28]! > 1) return damaged("its header names a compression, filter or interlace method PNG does not define");
  const header: ImageHeader = { format: "png", width, height };
  const tail = await readAt(fh, Math.max(0, size - PNG_IEND.length), PNG_IEND.length);
  if (!startsWith(tail, PNG_IEND)) header.suspect = "it does not end with the IEND chunk (truncated, or data after the image)";
  return header;
}

/** Start-of-frame markers: C0–CF but DHT (C4), JPG (C8) and DAC (CC). */
const isFrameMarker = (m: number): boolean => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
/** Baseline, extended sequential and progressive Huffman JPEG: what every decoder reads. */
const COMMON_FRAMES = new Set([0xc0, 0xc1, 0xc2]);

async function jpegHeader(fh: FileHandle, head: Uint8Array, size: number): Promise<ImageHeader | NotAnImage> {
  const damaged = (why: string): NotAnImage => ({ bad: "damaged", what: `a damaged JPEG image: ${why}` });
  let buf = head;
  let bufAt = 0;
  /** The bytes [at, at + n) of the file, reading more when they are past what is in memory; short at the end of the file. */
  const bytes = async (at: number, n: number): Promise<Uint8Array> => {
    if (at >= bufAt && at + n <= bufAt + buf.length) return buf.subarray(at - bufAt, at - bufAt + n);
    buf = await readAt(fh, at, Math.max(n, HEAD_BYTES));
    bufAt = at;
    return buf.subarray(0, Math.min(n, buf.length));
  };
  let at = 2;
  for (let segments = 0; ; segments++) {
    if (segments > 10_000) return damaged("it has more than 10,000 segments before its frame header");
    let b = await bytes(at, 2);
    if (b.length < 2) return damaged(`it ends at byte ${at.toLocaleString("en-US")}, before its frame header (truncated)`);
    if (b[0] !== 0xff) return damaged(`byte ${at.toLocaleString("en-US")} should start a marker (ff) but is ${b[0]!.toString(16).padStart(2, "0")}`);
    // Fill bytes: any number of ff before the marker code.
    while (b[1] === 0xff) {
      at++;
      b = await bytes(at, 2);
      if (b.length < 2) return damaged("it ends inside a marker (truncated)");
    }
    const marker = b[1]!;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return damaged(`it reaches ${marker === 0xd9 ? "its end" : "its image data"} (byte ${at.toLocaleString("en-US")}) before any frame header, so it has no size`);
    const len = await bytes(at + 2, 2);
    if (len.length < 2) return damaged("it ends inside a segment header (truncated)");
    const length = (len[0]! << 8) | len[1]!;
    if (length < 2) return damaged(`the segment at byte ${at.toLocaleString("en-US")} has a length of ${length}`);
    if (isFrameMarker(marker)) {
      const f = await bytes(at + 4, 6);
      if (f.length < 6 || length < 8) return damaged("its frame header is cut short (truncated)");
      const precision = f[0]!;
      const height = (f[1]! << 8) | f[2]!;
      const width = (f[3]! << 8) | f[4]!;
      const components = f[5]!;
      if (components !== 1 && components !== 3 && components !== 4) return damaged(`its frame header gives ${components} colour components (1, 3 or 4 make an image)`);
      const header: ImageHeader = { format: "jpeg", width, height };
      if (!COMMON_FRAMES.has(marker) || precision !== 8) header.suspect = `it uses a rare JPEG coding (frame marker ff${marker.toString(16)}, ${precision}-bit samples)`;
      else {
        const tail = await readAt(fh, Math.max(0, size - 2), 2);
        if (tail[0] !== 0xff || tail[1] !== 0xd9) header.suspect = "it does not end with the end-of-image marker (truncated, or data after the image)";
      }
      return header;
    }
    at += 2 + length;
    if (at >= size) return damaged(`it ends before its frame header (truncated after ${size.toLocaleString("en-US")} bytes)`);
  }
}

/** What a file that is neither PNG nor JPEG seems to be, from its first bytes, to complete "… is …". */
export function describeContent(head: Uint8Array): string {
  if (head.length === 0) return "empty (0 bytes)";
  const a4 = ascii(head, 0, Math.min(4, head.length));
  if (a4 === "GIF8") return "a GIF image, not a PNG or JPEG one";
  if (a4 === "RIFF" && head.length >= 12 && ascii(head, 8, 12) === "WEBP") return "a WebP image, not a PNG or JPEG one";
  if (head[0] === 0x42 && head[1] === 0x4d && head.length >= 26) return "a BMP image, not a PNG or JPEG one";
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return "a TIFF image (or a camera's raw file), not a PNG or JPEG one";
  if (head.length >= 12 && ascii(head, 4, 8) === "ftyp") {
    const brand = ascii(head, 8, 12);
    if (/^(heic|heix|hevc|heim|heis|mif1|msf1)$/.test(brand)) return "a HEIC/HEIF image (as iPhones save photos), not a PNG or JPEG one";
    if (/^avi[fs]$/.test(brand)) return "an AVIF image, not a PNG or JPEG one";
    return "a video or other ISO media file, not a PNG or JPEG image";
  }
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47])) return "a damaged PNG image: its 8-byte signature is cut short or altered (a file sent as text can lose bytes)";
  if (head[0] === 0xff && head[1] === 0xd8) return "a damaged JPEG image: it ends after its first marker";
  if (a4 === "%PDF") return "a PDF document, not an image";
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return "a zip archive, not an image";
  if (startsWith(head, [0x1f, 0x8b])) return "a gzip archive, not an image";
  if (looksLikeText(head)) {
    const text = new TextDecoder().decode(head.subarray(0, 200));
    if (/^\s*<(\?xml|svg)/i.test(text) && /<svg/i.test(text)) return "an SVG drawing (text), not a PNG or JPEG image";
    return "a text file, not an image";
  }
  const hex = [...head.subarray(0, 8)].map((v) => v.toString(16).padStart(2, "0")).join(" ");
  return `not a PNG or JPEG image: it starts with the bytes ${hex} (a PNG starts with 89 50 4e 47, a JPEG with ff d8 ff)`;
}

function looksLikeText(head: Uint8Array): boolean {
  const n = Math.min(head.length, 512);
  for (let i = 0; i < n; i++) {
    const c = head[i]!;
    if (c === 0 || (c < 9 && c !== 0) || (c > 13 && c < 32 && c !== 27)) return false;
  }
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(head.subarray(0, Math.max(0, n - 4)));
    return true;
  } catch {
    return false;
  }
}
