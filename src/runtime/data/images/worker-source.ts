/**
 * The decoding worker's code, as plain JavaScript run by `new Worker(WORKER_SOURCE, { eval:
 * true })`: it has no file of its own, so it runs the same from the TypeScript sources (vitest),
 * from tsc's `dist/` and from the esbuild bundle. Packages come in by the absolute paths the main
 * thread resolved (`workerData`).
 *
 * A task is a list of files with their format and size (from the header the main thread read)
 * and the preparation; the answer is one Uint8Array per file, height × width × channels, HWC
 * (transferred, not copied), or the first failure. Each file is decoded by content and fitted:
 *
 * - **Small images** (see `SMALL_PNG_PIXELS` in pool.ts for the measurements) by pure
 *   JavaScript: pngjs or jpeg-js, then converted to the model's channels and resized here.
 * - **Larger images** by sharp (libvips: libpng, libjpeg-turbo, a JPEG decoded at 1/2, 1/4 or
 *   1/8 scale when that still leaves enough pixels), which also resizes, to the size and window
 *   the JS resize would use; channels are converted after. Without sharp (it failed to load),
 *   the JS path takes every image. When a JS decoder fails and sharp is there, sharp decides.
 *
 * Channels: alpha is composited on black (each colour × alpha / 255), grey comes from RGB by
 * ITU-R BT.601 luma, L = (19595 R + 38470 G + 7471 B + 2¹⁵) >> 16 (the integer form of PIL's
 * `convert("L")`), RGB from grey by copying. Resizing is a triangle (bilinear) filter, widened
 * by the scale when shrinking so every source pixel counts (PIL's `resize(BILINEAR)`,
 * torchvision's default; libvips's `linear` kernel is the same filter): to height × width
 * (`stretch`), to cover it and centre-cropped (`crop`), or to fit inside it and centred on black
 * (`pad`), rounded to 0..255. The main thread scales to [0, 1]. EXIF orientation is not applied
 * (as in PIL and tf.io): pixels are used as stored.
 *
 * So a PNG's pixels do not depend on the decoder (PNG is lossless), and a JPEG's differ by a few
 * levels at most between libjpeg-turbo and jpeg-js; the geometry (sizes, crop window, bars) is
 * the same on both paths.
 */
export const WORKER_SOURCE = String.raw`"use strict";
// In an async function reached by import(): the code is CommonJS or an ES module depending on
// the flags Node passes on to workers (--input-type=module makes it a module), and import() and
// createRequire work in both.
(async () => {
const { parentPort, workerData } = await import("node:worker_threads");
const require = (await import("node:module")).createRequire(workerData.pngjs);
const { readFileSync } = require("node:fs");
const { PNG } = require(workerData.pngjs);
const jpeg = require(workerData.jpegJs);
const SMALL = { png: workerData.smallPng, jpeg: workerData.smallJpeg };

let sharp = null;
let sharpTried = !workerData.sharp;
function getSharp() {
  if (!sharpTried) {
    sharpTried = true;
    try {
      sharp = require(workerData.sharp);
      // libvips settings are per process: no operation cache (every image is read once per
      // epoch), one thread per image (the pool's workers are the parallelism).
      sharp.cache(false);
      sharp.concurrency(1);
    } catch (e) {
      sharp = null;
      parentPort.postMessage({ note: "sharp could not be loaded (" + (e && e.message ? e.message.split("\n")[0] : e) + "); decoding with jpeg-js and pngjs" });
    }
  }
  return sharp;
}

function decodeJs(buf, format) {
  if (format === "png") {
    const p = PNG.sync.read(buf);
    return { data: p.data, width: p.width, height: p.height, channels: 4 };
  }
  const j = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: 300, maxMemoryUsageInMB: 2048 });
  const channels = j.data.length / (j.width * j.height);
  if (channels !== 3) throw new Error("jpeg-js gave " + channels + " values a pixel");
  return { data: j.data, width: j.width, height: j.height, channels: 3 };
}

/** Decoded and resized to rw × rh by sharp (libvips), channels as the image has them. */
async function sharpResized(s, buf, rw, rh) {
  const p = s(buf, { failOn: "warning", limitInputPixels: workerData.maxPixels }).resize(rw, rh, { fit: "fill", kernel: "linear", fastShrinkOnLoad: false });
  const { data, info } = await p.raw().toBuffer({ resolveWithObject: true });
  if (info.depth !== "uchar" || info.width !== rw || info.height !== rh) throw new Error("sharp gave " + info.width + "x" + info.height + " " + info.depth + " pixels, not " + rw + "x" + rh + " uchar");
  return { data, width: rw, height: rh, channels: info.channels };
}

/** Which decoder reads this file: the pure-JS ones for small images (or when told), sharp for larger ones where it loads. */
function useSharp(item) {
  if (workerData.decoders === "js") return null;
  if (workerData.decoders !== "sharp" && item.width * item.height <= SMALL[item.format]) return null;
  return getSharp();
}

/** The file's image with prep.channels channels, fitted to prep.height × prep.width. */
async function prepare(buf, item, prep) {
  const c = prep.channels;
  let s = useSharp(item);
  if (s === null) {
    try {
      const img = decodeJs(buf, item.format);
      return fit(toChannels(img, c), img.width, img.height, prep);
    } catch (e) {
      // sharp (libpng, libjpeg-turbo) is the reference: it decides when a JS decoder fails.
      s = workerData.decoders === "js" ? null : getSharp();
      if (s === null) throw e;
    }
  }
  // sharp resizes (a triangle filter too, and a JPEG decoded at 1/2, 1/4 or 1/8 scale where that
  // still leaves enough pixels) to the size fit() would; the window is cut out here.
  const g = geometry(item.width, item.height, prep);
  const img = await sharpResized(s, buf, g.rw, g.rh);
  const out = new Uint8Array(prep.height * prep.width * c);
  resizeInto(toChannels(img, c), g.rw, g.rh, c, g.rw, g.rh, g.top, g.left, g.oh, g.ow, out, prep.width, g.atY, g.atX);
  return out;
}

/** The image's pixels with c (1 or 3) channels, alpha composited on black. */
function toChannels(img, c) {
  const n = img.width * img.height;
  const from = img.channels;
  const d = img.data;
  if (from === c) return d;
  const out = new Uint8Array(n * c);
  const alpha = from === 2 || from === 4;
  const colour = from >= 3;
  for (let i = 0, j = 0; i < n; i++, j += from) {
    let r = d[j], g, b;
    if (colour) { g = d[j + 1]; b = d[j + 2]; } else { g = r; b = r; }
    if (alpha) {
      const a = d[j + from - 1];
      if (a !== 255) { r = ((r * a + 127) / 255) | 0; g = ((g * a + 127) / 255) | 0; b = ((b * a + 127) / 255) | 0; }
    }
    if (c === 1) out[i] = colour ? (19595 * r + 38470 * g + 7471 * b + 32768) >> 16 : r;
    else { out[i * 3] = r; out[i * 3 + 1] = g; out[i * 3 + 2] = b; }
  }
  return out;
}

/**
 * Weights of outputs [from, from + count) of a resize of an axis from n to m pixels: a triangle
 * filter, widened by the scale when shrinking (PIL's precompute_coeffs for BILINEAR).
 */
function axisWeights(n, m, from, count) {
  const scale = n / m;
  const fs = Math.max(scale, 1);
  const support = fs;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(count);
  const size = new Int32Array(count);
  const w = new Float32Array(count * taps);
  for (let i = 0; i < count; i++) {
    const center = (from + i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support + 0.5));
    const hi = Math.min(n, Math.floor(center + support + 0.5));
    let sum = 0;
    for (let x = lo; x < hi; x++) {
      const t = Math.abs((x - center + 0.5) / fs);
      sum += t < 1 ? 1 - t : 0;
    }
    for (let x = lo; x < hi; x++) {
      const t = Math.abs((x - center + 0.5) / fs);
      w[i * taps + x - lo] = (t < 1 ? 1 - t : 0) / sum;
    }
    start[i] = lo;
    size[i] = hi - lo;
  }
  return { start, size, w, taps };
}

/**
 * Pixels (sw × sh × c) resized to rw × rh, of which the window [top, top + oh) × [left, left + ow)
 * is written into out (outW pixels wide) at (atY, atX). Two passes: horizontal over the source
 * rows the window needs, into floats, then vertical, a weighted sum of whole rows.
 */
function resizeInto(src, sw, sh, c, rw, rh, top, left, oh, ow, out, outW, atY, atX) {
  if (rw === sw && rh === sh) {
    for (let y = 0; y < oh; y++) {
      const s = ((top + y) * sw + left) * c;
      out.set(src.subarray(s, s + ow * c), ((atY + y) * outW + atX) * c);
    }
    return;
  }
  const wy = axisWeights(sh, rh, top, oh);
  const wx = axisWeights(sw, rw, left, ow);
  const rowLo = wy.start[0];
  const rowHi = wy.start[oh - 1] + wy.size[oh - 1];
  const rowLen = ow * c;
  const tmp = new Float32Array((rowHi - rowLo) * rowLen);
  const xs = wx.start, xn = wx.size, xw = wx.w, xt = wx.taps;
  for (let y = rowLo; y < rowHi; y++) {
    const srow = y * sw * c;
    let t = (y - rowLo) * rowLen;
    if (c === 3) {
      for (let x = 0; x < ow; x++) {
        let r = 0, g = 0, b = 0;
        let p = srow + xs[x] * 3;
        const k0 = x * xt, k1 = k0 + xn[x];
        for (let k = k0; k < k1; k++, p += 3) {
          const w = xw[k];
          r += w * src[p];
          g += w * src[p + 1];
          b += w * src[p + 2];
        }
        tmp[t++] = r;
        tmp[t++] = g;
        tmp[t++] = b;
      }
    } else {
      for (let x = 0; x < ow; x++) {
        let v = 0;
        let p = srow + xs[x];
        const k0 = x * xt, k1 = k0 + xn[x];
        for (let k = k0; k < k1; k++, p++) v += xw[k] * src[p];
        tmp[t++] = v;
      }
    }
  }
  const acc = new Float32Array(rowLen);
  for (let y = 0; y < oh; y++) {
    acc.fill(0);
    const k0 = y * wy.taps, n = wy.size[y];
    for (let k = 0; k < n; k++) {
      const w = wy.w[k0 + k];
      const row = (wy.start[y] + k - rowLo) * rowLen;
      for (let j = 0; j < rowLen; j++) acc[j] += w * tmp[row + j];
    }
    const o = ((atY + y) * outW + atX) * c;
    for (let j = 0; j < rowLen; j++) {
      const v = Math.round(acc[j]);
      out[o + j] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
}

/**
 * Where an sw × sh image goes in prep.height × prep.width: resized to rw × rh, of which the
 * window [top, top + oh) × [left, left + ow) lands at (atY, atX). stretch: exactly H × W; crop:
 * the shorter side fits, the middle is kept; pad: the longer side fits, centred on black.
 */
function geometry(sw, sh, prep) {
  const H = prep.height, W = prep.width;
  if (prep.fit === "stretch") return { rw: W, rh: H, top: 0, left: 0, oh: H, ow: W, atY: 0, atX: 0 };
  if (prep.fit === "crop") {
    const s = Math.max(H / sh, W / sw);
    const rh = Math.max(H, Math.round(sh * s));
    const rw = Math.max(W, Math.round(sw * s));
    return { rw, rh, top: Math.floor((rh - H) / 2), left: Math.floor((rw - W) / 2), oh: H, ow: W, atY: 0, atX: 0 };
  }
  const s = Math.min(H / sh, W / sw);
  const rh = Math.min(H, Math.max(1, Math.round(sh * s)));
  const rw = Math.min(W, Math.max(1, Math.round(sw * s)));
  return { rw, rh, top: 0, left: 0, oh: rh, ow: rw, atY: Math.floor((H - rh) / 2), atX: Math.floor((W - rw) / 2) };
}

/** Pixels (sw × sh × prep.channels) fitted by the JS resize. */
function fit(px, sw, sh, prep) {
  const c = prep.channels;
  const out = new Uint8Array(prep.height * prep.width * c);
  const g = geometry(sw, sh, prep);
  resizeInto(px, sw, sh, c, g.rw, g.rh, g.top, g.left, g.oh, g.ow, out, prep.width, g.atY, g.atX);
  return out;
}

function failure(i, kind, e) {
  return { index: i, kind, message: e && e.message ? String(e.message) : String(e), code: e && e.code };
}

// { close: true } from the pool: leave once the chunk in hand is done (closing the port ends the
// thread), never in the middle of a decode.
let busy = false;
let closing = false;
parentPort.on("message", async (task) => {
  if (task.close) {
    closing = true;
    if (!busy) parentPort.close();
    return;
  }
  busy = true;
  try {
    await decodeChunk(task);
  } finally {
    busy = false;
    if (closing) parentPort.close();
  }
});

async function decodeChunk(task) {
  const images = [];
  for (let i = 0; i < task.items.length; i++) {
    if (closing) return;
    const item = task.items[i];
    let buf;
    try {
      buf = readFileSync(item.file);
    } catch (e) {
      parentPort.postMessage({ id: task.id, failure: failure(i, "read", e) });
      return;
    }
    try {
      images.push(await prepare(buf, item, task.prep));
    } catch (e) {
      parentPort.postMessage({ id: task.id, failure: failure(i, "decode", e) });
      return;
    }
  }
  parentPort.postMessage({ id: task.id, images }, images.map((a) => a.buffer));
}
})();
`;
