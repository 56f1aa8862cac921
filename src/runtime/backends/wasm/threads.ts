/**
 * Multithreaded wasm in Node: XNNPACK on several cores, which the stock package never gives.
 *
 * `@tensorflow/tfjs-backend-wasm` 4.22 ships a threaded SIMD build, but in Node it never uses
 * it, for three reasons this module works around:
 *
 * 1. Its `WASM_HAS_MULTITHREAD_SUPPORT` flag is false whenever TF.js runs in Node.
 * 2. Its loader hands Emscripten the pthread worker script and the main script as `blob:`
 *    URLs, which Node's `worker_threads` refuses. Here the worker script (the package's
 *    `wasmWorkerContents`) is written to a private temporary directory and the main script is
 *    the package's own `wasm-out/tfjs-backend-wasm-threaded-simd.js`, both plain file paths,
 *    which Emscripten's worker loads with `require` when it runs in Node. The directory is
 *    removed as soon as the module is ready (every worker has read the script by then).
 * 3. Its C++ caps the pool at `emscripten_num_logical_cores() / 2` (it assumes two hardware
 *    threads per core), and Emscripten answers that with `require("os").cpus().length`, so a
 *    2-core machine gets one thread. That number is read once, while the module starts; for
 *    that moment only, `os.cpus()` reports twice the threads asked for, and the cap becomes
 *    the requested count.
 *
 * The module made here is given to the package's own `BackendWasm` and registered as the
 * `wasm` backend in place of the stock one, so every kernel (the package's and nnc's own in
 * `kernels.ts`) runs on it unchanged. The workers are unref'd: an idle pool does not keep
 * the process alive. Anything that goes wrong makes `loadThreadedWasm` throw, and the caller
 * keeps the stock single-threaded backend.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";

/** The parts of the tfjs-backend-wasm package this module uses. */
export interface WasmPackage {
  BackendWasm: new (module: unknown) => tf.KernelBackend;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

/** What Emscripten's factory resolves to, as far as this module touches it. */
interface EmscriptenModule {
  cwrap(name: string, returns: string | null, args: string[]): (...args: number[]) => number | void;
  PThread?: { unusedWorkers?: unknown[]; runningWorkers?: unknown[] };
  tfjs?: Record<string, unknown>;
}

type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

export function isWasmPackage(mod: unknown): mod is WasmPackage {
  if (mod === null || typeof mod !== "object") return false;
  const m = mod as Record<string, unknown>;
  return typeof m["BackendWasm"] === "function" && typeof m["setThreadsCount"] === "function" && typeof m["getThreadsCount"] === "function";
}

/**
 * How many threads wasm should use: `NNC_WASM_THREADS` when set (1 turns threads off;
 * `asked` is then true, and the count overrides any judgement of the model's size), else
 * every core Node may use. At most 8 either way (the package's pool is 8 workers).
 */
export function wantedWasmThreads(env: NodeJS.ProcessEnv = process.env): { count: number; asked: boolean } {
  const raw = env["NNC_WASM_THREADS"];
  if (raw !== undefined && raw.trim() !== "") {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`NNC_WASM_THREADS must be a whole number ≥ 1, got '${raw}'`);
    return { count: Math.min(n, 8), asked: true };
  }
  return { count: Math.max(1, Math.min(os.availableParallelism(), 8)), asked: false };
}

/** How long the threaded module may take to start before the stock backend is used instead. */
const START_TIMEOUT_MS = 60_000;

function unref(worker: unknown): void {
  if (worker !== null && typeof worker === "object" && typeof (worker as { unref?: unknown }).unref === "function") {
    (worker as { unref(): void }).unref();
  }
}

/**
 * Starts tfjs-backend-wasm's threaded SIMD build with `threads` threads and registers it as
 * TF.js's `wasm` backend (replacing the stock factory; TF.js must not have started `wasm`
 * yet). Returns the thread count the backend reports once it is running.
 */
export async function loadThreadedWasm(pkg: WasmPackage, threads: number): Promise<number> {
  if (typeof SharedArrayBuffer !== "function") throw new Error("this Node has no SharedArrayBuffer");
  const require = createRequire(import.meta.url);
  const out = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "wasm-out");
  const mainScript = join(out, "tfjs-backend-wasm-threaded-simd.js");
  const factory = require(mainScript) as unknown;
  const worker = require(join(out, "tfjs-backend-wasm-threaded-simd.worker.js")) as { wasmWorkerContents?: unknown };
  if (typeof factory !== "function") throw new Error(`${mainScript} does not export Emscripten's factory`);
  if (typeof worker.wasmWorkerContents !== "string") throw new Error("the package has no pthread worker script (wasmWorkerContents)");

  const dir = mkdtempSync(join(os.tmpdir(), "nnc-wasm-threads-"));
  const realCpus = os.cpus;
  let module: EmscriptenModule;
  try {
    const workerScript = join(dir, "pthread-worker.cjs");
    // The script is a template literal's value: its string literals hold raw newlines, which
    // the package's loader escapes in the same way before making its Blob.
    writeFileSync(workerScript, worker.wasmWorkerContents.replace(/\n/g, "\\n"), { mode: 0o600 });
    const cpus = realCpus();
    os.cpus = () => Array.from({ length: 2 * threads }, (_, i) => cpus[i % Math.max(cpus.length, 1)]!);
    const started = (factory as Factory)({
      locateFile: (path: string, prefix: string) => (path.endsWith(".worker.js") ? workerScript : prefix + path),
      mainScriptUrlOrBlob: mainScript,
    });
    // Emscripten waits for every worker to load the module; one that never answers must not
    // hang the run (it takes well under a second here).
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`its workers did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      timer.unref();
    });
    try {
      module = await Promise.race([started, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    os.cpus = realCpus;
    rmSync(dir, { recursive: true, force: true });
  }

  const wrap = module.cwrap.bind(module);
  module.tfjs = {
    init: wrap("init", null, []),
    initWithThreadsCount: wrap("init_with_threads_count", null, ["number"]),
    getThreadsCount: wrap("get_threads_count", "number", []),
    registerTensor: wrap("register_tensor", null, ["number", "number", "number"]),
    disposeData: wrap("dispose_data", null, ["number"]),
    dispose: wrap("dispose", null, []),
  };
  pkg.setThreadsCount(threads);
  const stock = tf.findBackendFactory("wasm");
  tf.removeBackend("wasm");
  // The stock package registers `wasm` at priority 2; the same here.
  tf.registerBackend("wasm", () => new pkg.BackendWasm(module), 2);
  try {
    if (!(await tf.setBackend("wasm"))) throw new Error("TensorFlow.js could not start the threaded wasm module");
  } catch (e) {
    tf.removeBackend("wasm");
    if (stock != null) tf.registerBackend("wasm", stock, 2);
    throw e;
  }
  for (const w of [...(module.PThread?.unusedWorkers ?? []), ...(module.PThread?.runningWorkers ?? [])]) unref(w);
  return pkg.getThreadsCount();
}
