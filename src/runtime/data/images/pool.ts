/**
 * A pool of worker threads that decode and fit images (see worker-source.ts), so that the
 * thread that trains is never blocked by decoding: it asks for a batch and awaits it while the
 * previous batch trains.
 *
 * Workers start on the first request, up to `size`; a request is cut into chunks that idle
 * workers take in turn, so concurrent requests (a prefetch beside the batch in use) share the
 * pool. A worker holds the process open only while it has work: it is unref'd when idle, so a
 * pool nobody closed does not keep Node from exiting. `close()` ends the workers: an idle one at
 * once, a busy one after the image in hand (see `close`).
 *
 * sharp does its work on libuv's thread pool, which the whole process shares (4 threads unless
 * UV_THREADPOOL_SIZE says more, read when the pool first starts): past 4 workers, more workers
 * add pure-JS decoding but no more than 4 sharp decodes run at once.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { ImageFit } from "../../config.js";
import { MAX_PIXELS, type ImageFormat } from "./header.js";
import { WORKER_SOURCE } from "./worker-source.js";

/** How images are prepared: the model's input size and channels, and how an image is fitted to it. */
export interface ImagePrep {
  height: number;
  width: number;
  channels: number;
  fit: ImageFit;
}

/** A file to decode, with what its header said. */
export interface DecodeItem {
  file: string;
  format: ImageFormat;
  width: number;
  height: number;
}

/** Which decoders a pool uses: sharp for larger images where it loads (`auto`), only the pure-JS ones (`js`: the fallback, and tests), or sharp for every image (`sharp`: measurements). */
export type Decoders = "auto" | "js" | "sharp";

/**
 * PNGs up to this many pixels are decoded (and fitted) by pure JavaScript, larger ones by sharp.
 * sharp costs most of a millisecond a call whatever the image's size, which small images never
 * earn back. Decoding and fitting to 32x32x3 in one worker (bench/data-pipeline.ts `--sweep`,
 * bench/RESULTS.md): pngjs + nnc's resize did 5,159 32x32 PNGs a second to sharp's 1,376, 884 to
 * 401 at 128x128, 467 to 440 at 192x192; sharp led from 256x256 (287 to 230; 240 to 124 at 384).
 */
export const SMALL_PNG_PIXELS = 192 * 192;
/** The same for JPEG: jpeg-js led up to 64x64 (3,711 to 1,071 at 32x32), was even at 96x96 (534 to 521), and libjpeg-turbo (SIMD, shrink-on-load) led from 128x128 (591 to 322; 4× at 256x256). */
export const SMALL_JPEG_PIXELS = 96 * 96;

/** A file the worker could not read or decode. */
export class DecodeFailure extends Error {
  constructor(
    readonly item: DecodeItem,
    readonly kind: "read" | "decode" | "crash",
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * The pool size when none is given: the cores less one for the training thread, at least 1 and
 * at most 8. Measured on 2 cores (bench/RESULTS.md, "Image folders"): one worker keeps the
 * pipeline 7–9× ahead of the MNIST CNN's training and 25× ahead of a CIFAR ResNet-20's; a
 * second worker doubled decoding alone but hardly moved the pipeline, whose limit is then the
 * augmentation on the training thread, and training fed by the stream ran at 66% (against 83%
 * with one) in one run and 87% (against 83%) in another: nothing to gain, a core to lose.
 */
export function defaultPoolSize(): number {
  return Math.min(8, Math.max(1, availableParallelism() - 1));
}

interface Task {
  id: number;
  items: DecodeItem[];
  prep: ImagePrep;
  done(images: Uint8Array[]): void;
  fail(e: Error): void;
}

interface Slot {
  worker: Worker;
  task?: Task;
}

/** How long `close()` lets a busy worker finish its image before terminating it anyway. */
const CLOSE_GRACE_MS = 10_000;

let paths: { sharp: string | null; pngjs: string; jpegJs: string } | undefined;

/** The packages the worker loads, by absolute path (an eval'd worker resolves nothing relative to a file). */
function packagePaths(): { sharp: string | null; pngjs: string; jpegJs: string } {
  if (!paths) {
    const require = createRequire(import.meta.url);
    let sharp: string | null = null;
    try {
      sharp = require.resolve("sharp");
    } catch {
      sharp = null;
    }
    paths = { sharp, pngjs: require.resolve("pngjs"), jpegJs: require.resolve("jpeg-js") };
  }
  return paths;
}

export class DecodePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closed = false;
  /** What the workers said about themselves (sharp failing to load). */
  readonly notes: string[] = [];

  constructor(
    readonly size: number = defaultPoolSize(),
    private readonly decoders: Decoders = "auto",
  ) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`DecodePool: the size must be a whole number of at least 1, got ${size}`);
  }

  /** How many workers are running now. */
  get running(): number {
    return this.slots.length;
  }

  /** The images of `items`, each height × width × channels bytes, HWC, in order; rejects with a DecodeFailure naming the first file that fails. */
  decode(items: DecodeItem[], prep: ImagePrep): Promise<Uint8Array[]> {
    if (this.closed) return Promise.reject(new Error("DecodePool: decode after close()"));
    if (items.length === 0) return Promise.resolve([]);
    // Chunks small enough that every worker gets some and concurrent requests interleave, large
    // enough that a message's cost (tens of microseconds) is small beside a chunk's decoding.
    const chunk = Math.max(1, Math.min(16, Math.ceil(items.length / this.size)));
    const parts: Promise<Uint8Array[]>[] = [];
    for (let at = 0; at < items.length; at += chunk) {
      const part = items.slice(at, at + chunk);
      parts.push(new Promise((done, fail) => this.queue.push({ id: this.nextId++, items: part, prep, done, fail })));
    }
    this.dispatch();
    return Promise.all(parts).then((all) => all.flat());
  }

  /**
   * Ends the workers; pending requests reject at once. An idle worker is terminated; a busy one
   * is asked to leave after the image it is decoding (terminated only if it has not left within
   * CLOSE_GRACE_MS). Terminating a thread in the middle of a decode can abort the whole process:
   * Node 20 asserts ("close before init", node_zlib.cc) when a worker is torn down between
   * creating a zlib stream (pngjs inflates with one) and initialising it — seen once in a full
   * test run here.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pending = [...this.queue.splice(0), ...this.slots.flatMap((s) => (s.task ? [s.task] : []))];
    const busy = new Set(this.slots.filter((s) => s.task !== undefined));
    for (const t of pending) t.fail(new Error("the image decoders were closed"));
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map((s) => {
        s.task = undefined;
        if (!busy.has(s)) return s.worker.terminate();
        return new Promise<void>((done) => {
          const late = setTimeout(() => void s.worker.terminate(), CLOSE_GRACE_MS);
          s.worker.once("exit", () => {
            clearTimeout(late);
            done();
          });
          s.worker.postMessage({ close: true });
        });
      }),
    );
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.task === undefined);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage({ id: task.id, items: task.items, prep: task.prep });
    }
  }

  private spawn(): Slot {
    const p = packagePaths();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ...p, decoders: this.decoders, smallPng: SMALL_PNG_PIXELS, smallJpeg: SMALL_JPEG_PIXELS, maxPixels: MAX_PIXELS },
    });
    const slot: Slot = { worker };
    this.slots.push(slot);
    worker.on("message", (m: { id?: number; note?: string; images?: Uint8Array[]; failure?: { index: number; kind: "read" | "decode"; message: string; code?: string } }) => {
      if (m.note !== undefined) {
        if (!this.notes.includes(m.note)) this.notes.push(m.note);
        return;
      }
      const task = slot.task;
      if (!task || task.id !== m.id) return;
      slot.task = undefined;
      if (m.failure) {
        const f = m.failure;
        task.fail(new DecodeFailure(task.items[f.index]!, f.kind, f.message, f.code));
      } else task.done(m.images!);
      if (this.queue.length === 0) worker.unref();
      this.dispatch();
    });
    const lost = (why: string): void => {
      const at = this.slots.indexOf(slot);
      if (at >= 0) this.slots.splice(at, 1);
      const task = slot.task;
      slot.task = undefined;
      if (task) task.fail(new DecodeFailure(task.items[0]!, "crash", why));
      if (!this.closed) this.dispatch();
    };
    worker.on("error", (e) => lost(e.message));
    worker.on("exit", (code) => lost(`exit code ${code}`));
    return slot;
  }
}

let shared: DecodePool | undefined;

/** One pool for callers without a dataset of their own (`decodeImageFiles`); its idle workers do not keep the process alive. */
export function sharedPool(): DecodePool {
  shared ??= new DecodePool();
  return shared;
}
