/**
 * Image folders as a data source (`images(…)` in a recipe), and the same preparation of single
 * image files for `nnc predict`. See folder.ts (indexing, checking, the cache and streaming),
 * header.ts (what a file is), pool.ts (the worker threads) and worker-source.ts (decoding,
 * channels and fitting).
 */
import type { DataConfig } from "../../config.js";
import { DataError, type LoadOptions } from "../common.js";
import type { Dataset } from "../samples.js";
import { decodeError, loadImageFolder as loadFolder, UNIT, type ImageFolderTuning } from "./folder.js";
import { readImageHeader } from "./header.js";
import { DecodeFailure, sharedPool, type DecodeItem, type ImagePrep } from "./pool.js";

export type { ImageFolderTuning } from "./folder.js";
export { defaultPoolSize, type ImagePrep } from "./pool.js";

/**
 * Loads an image folder for a model whose input is `opts.inputShape` (HxWx1 or HxWx3). The
 * splits stream (`read`), decoded in worker threads; call `close()` when done. Every user mistake
 * is a DataError naming the folder or file.
 */
export function loadImageFolder(config: Extract<DataConfig, { source: "images" }>, opts: LoadOptions, tuning?: ImageFolderTuning): Promise<Dataset> {
  return loadFolder(config, opts, tuning);
}

/**
 * Decodes image files (absolute paths) prepared exactly as training prepares an image folder's
 * images (the same workers and code): `prep.channels` channels, fitted to height × width by
 * `prep.fit`, pixels in [0, 1]; HWC, one image after another. A file that is not a PNG or JPEG
 * image, or cannot be read or decoded, is a DataError naming it. The decoding threads are shared
 * between calls and do not keep the process alive.
 */
export async function decodeImageFiles(files: string[], prep: ImagePrep): Promise<Float32Array> {
  const { height, width, channels, fit } = prep;
  if (![height, width].every((d) => Number.isInteger(d) && d > 0) || (channels !== 1 && channels !== 3) || !["crop", "pad", "stretch"].includes(fit)) {
    throw new Error(`decodeImageFiles: the preparation must be whole positive height and width, 1 or 3 channels and a fit of crop, pad or stretch, got ${JSON.stringify(prep)}`);
  }
  // Headers a few at a time (they are small reads), then one request to the pool.
  const items: DecodeItem[] = new Array(files.length);
  for (let at = 0; at < files.length; at += 32) {
    await Promise.all(
      files.slice(at, at + 32).map(async (file, j) => {
        const h = await readImageHeader(file);
        if ("bad" in h) {
          throw new DataError(
            h.bad === "unreadable" && h.what.startsWith("gone")
              ? `Cannot find the image ${file}.`
              : `The file ${file} is ${h.what}. nnc reads PNG and JPEG images (by their content, whatever their names).`,
            { file },
          );
        }
        items[at + j] = { file, format: h.format, width: h.width, height: h.height };
      }),
    );
  }
  let images: Uint8Array[];
  try {
    images = await sharedPool().decode(items, { height, width, channels, fit });
  } catch (e) {
    if (e instanceof DecodeFailure) throw decodeError(e, e.item.file, false);
    throw e;
  }
  const size = height * width * channels;
  const out = new Float32Array(files.length * size);
  images.forEach((px, k) => {
    for (let p = 0, o = k * size; p < size; p++) out[o + p] = UNIT[px[p]!]!;
  });
  return out;
}
