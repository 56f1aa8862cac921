/**
 * Picks the TensorFlow.js backend a run uses.
 *
 * tfjs-node and tfjs-node-gpu are optional packages (their install downloads a native
 * library that cannot be had everywhere), and WebGPU needs Dawn's `webgpu` package; the wasm
 * backend is a dependency, and trains once `wasm/kernels.ts` has added the kernels it lacks
 * or gets wrong. Every backend is loaded with a dynamic `import()` of a computed specifier,
 * so neither TypeScript nor a bundler needs the optional ones to exist, and a missing one
 * only becomes a reason to try the next.
 */

import * as tf from "@tensorflow/tfjs";
import { readdirSync } from "node:fs";
import { registerWasmTrainingKernels } from "./wasm/kernels.js";
import { isWasmPackage, loadThreadedWasm, wantedWasmThreads } from "./wasm/threads.js";
import { webgpuBackendFactory, webgpuFailure, type GpuLike, type WebGpuBackendClass } from "./webgpu/device.js";
import { registerWebGpuKernels } from "./webgpu/kernels.js";

/** A backend the user can ask for; `auto` takes the first that loads. */
export type BackendName = "auto" | "node-gpu" | "node" | "webgpu" | "wasm" | "cpu";
/** A concrete backend. */
export type BackendKind = Exclude<BackendName, "auto">;

export interface SelectedBackend {
  /** The backend taken, as the user names it (`node-gpu`, `node`, `webgpu`, `wasm`, `cpu`). */
  name: BackendKind;
  /** TF.js's own name for it (`tensorflow` for both tfjs-node packages). */
  tfName: string;
  /** Why each backend tried before it was skipped, one line each. */
  reasons: string[];
}

export interface SelectOptions {
  /** The model has convolutions whose filters are trained (needs `Conv2DBackpropFilter`). */
  needsConvGradients: boolean;
  /**
   * Multiply-adds of the model's forward pass over one batch. The wasm backend takes threads
   * only for models big enough to gain from them (`WASM_THREADS_FROM`); unknown counts as big.
   */
  multiplyAddsPerBatch?: number;
}

/** A requested backend cannot be used. The message is for the user; print it without a stack. */
export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackendError";
  }
}

/** The order `auto` tries, fastest first. */
export const AUTO_ORDER: readonly BackendKind[] = ["node-gpu", "node", "webgpu", "wasm", "cpu"];

const TF_NAMES: Record<BackendKind, string> = {
  "node-gpu": "tensorflow",
  node: "tensorflow",
  webgpu: "webgpu",
  wasm: "wasm",
  cpu: "cpu",
};

// ---------------------------------------------------------------------------------------
// Optional modules: the least of their shapes this file relies on

/** `webgpu` (Dawn's Node binding): `create(flags)` gives a `navigator.gpu`. */
interface WebGpuModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

/**
 * What the adapter says of itself. A software adapter (Mesa's lavapipe/llvmpipe, SwiftShader)
 * runs WebGPU on the CPU: it works, but the wasm backend trains ~10× faster, so `auto`
 * passes it by (an explicit `--backend webgpu` still takes it).
 */
export function describeAdapter(adapter: unknown): { name: string; software: boolean } {
  const info = isRecord(adapter) ? adapter["info"] : undefined;
  const field = (key: string): string => {
    const v = isRecord(info) ? info[key] : undefined;
    return typeof v === "string" ? v : "";
  };
  const fallback = (isRecord(info) && info["isFallbackAdapter"] === true) || (isRecord(adapter) && adapter["isFallbackAdapter"] === true);
  const description = field("description") || [field("vendor"), field("device")].filter((s) => s !== "").join(" ") || "an unnamed adapter";
  const software = fallback || field("architecture") === "software" || /llvmpipe|lavapipe|swiftshader/i.test(`${field("device")} ${field("description")}`);
  return { name: description, software };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null;
}

function isWebGpuModule(value: unknown): value is WebGpuModule {
  return isRecord(value) && typeof value["create"] === "function" && isRecord(value["globals"]);
}

function isGpuLike(value: unknown): value is GpuLike {
  return isRecord(value) && typeof value["requestAdapter"] === "function";
}

/** A CommonJS package imported from ESM puts `module.exports` on `default`. */
function moduleExports(mod: unknown): unknown {
  if (isRecord(mod) && isRecord(mod["default"]) && !("create" in mod)) return mod["default"];
  return mod;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

class Skip extends Error {}

/**
 * `import(pkg)`, turning "not installed" into a Skip that names the install command. A
 * package that is there but fails to load (a missing native library, say) gets its own
 * message, since installing it again will not help.
 */
async function importOptional(pkg: string, install: string): Promise<unknown> {
  const specifier: string = pkg; // computed, so no compiler or bundler resolves it
  try {
    const mod: unknown = await import(specifier);
    return mod;
  } catch (e) {
    const code = isRecord(e) ? e["code"] : undefined;
    const message = errorMessage(e);
    const missing =
      ((code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
        (message.includes(`'${pkg}'`) || message.includes(`"${pkg}"`) || message.includes(`${pkg}/`))) ||
      // Vite (and so vitest) turns an absent optional peer dependency into a module that throws this.
      message.startsWith(`Could not resolve "${pkg}"`);
    if (missing) throw new Skip(`${pkg} is not installed (npm i ${install})`);
    throw new Skip(`${pkg} is installed but failed to load: ${message.split("\n")[0]}`);
  }
}

function versionHint(pkg: string): string {
  return `install ${pkg}@${tf.version_core} to match @tensorflow/tfjs-core ${tf.version_core}`;
}

/**
 * Whether this machine may have a GPU that WebGPU could use. On Linux a GPU shows up as a DRM
 * render node (AMD, Intel, and NVIDIA's open driver) or as /dev/nvidia*; without either,
 * Dawn could only find a software adapter, which `auto` would pass by anyway. Elsewhere
 * (macOS's Metal, Windows's D3D12), ask Dawn.
 */
function mayHaveGpu(): boolean {
  if (process.platform !== "linux") return true;
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  return list("/dev/dri").some((name) => name.startsWith("renderD")) || list("/dev").some((name) => /^nvidia\d+$/.test(name));
}

/** The adapter Dawn found, once it has been asked (one per process: Dawn's globals are installed then). */
let webgpuAdapter: { name: string; software: boolean } | undefined;

/** Dawn's `navigator.gpu`, once asked, and whether nnc's webgpu factory and kernels are registered. */
let webgpuGpu: GpuLike | undefined;
let webgpuFactoryReplaced = false;

/** Loads a backend's package(s) so that TF.js knows it, or throws Skip with the reason. */
async function register(kind: BackendKind, auto: boolean, log: (line: string) => void, options: SelectOptions | undefined): Promise<void> {
  switch (kind) {
    case "node-gpu":
    case "node": {
      const pkg = kind === "node" ? "@tensorflow/tfjs-node" : "@tensorflow/tfjs-node-gpu";
      await importOptional(pkg, pkg);
      if (tf.findBackendFactory("tensorflow") == null) {
        throw new Skip(`${pkg} loaded but registered no 'tensorflow' backend with this copy of TensorFlow.js (${versionHint(pkg)})`);
      }
      return;
    }
    case "webgpu": {
      const install = "webgpu @tensorflow/tfjs-backend-webgpu";
      if (auto && webgpuAdapter === undefined && !mayHaveGpu()) {
        // Asking Dawn would find at best a software adapter (and print its warnings).
        throw new Skip("no GPU device here (no /dev/dri render node, no /dev/nvidia*)");
      }
      if (webgpuAdapter === undefined) {
        const dawn = moduleExports(await importOptional("webgpu", install));
        if (!isWebGpuModule(dawn)) throw new Skip("the webgpu package does not export create() and globals (expected Dawn's Node binding)");
        const gpu: unknown = dawn.create([]);
        if (!isGpuLike(gpu)) throw new Skip("webgpu's create() did not return a GPU object");
        let adapter: unknown;
        try {
          adapter = await gpu.requestAdapter();
        } catch (e) {
          throw new Skip(`WebGPU found no adapter: ${errorMessage(e)}`);
        }
        if (adapter == null) throw new Skip("WebGPU found no adapter (Dawn needs a Vulkan, Metal or D3D12 driver; on Debian/Ubuntu run `npm run setup-webgpu`)");
        webgpuAdapter = describeAdapter(adapter);
        webgpuGpu = gpu;
        // The TF.js backend registers itself only if navigator.gpu exists when it is imported.
        Object.assign(globalThis, dawn.globals);
        let navigator: unknown = Reflect.get(globalThis, "navigator");
        if (!isRecord(navigator)) {
          navigator = {};
          Reflect.set(globalThis, "navigator", navigator);
        }
        if (isRecord(navigator)) Object.defineProperty(navigator, "gpu", { value: gpu, configurable: true, writable: true });
      }
      if (webgpuAdapter.software && auto) {
        throw new Skip(`WebGPU's only adapter is ${webgpuAdapter.name}, which runs on the CPU and trains slower than wasm (ask for --backend webgpu to use it anyway)`);
      }
      if (!webgpuFactoryReplaced) {
        const pkg = moduleExports(await importOptional("@tensorflow/tfjs-backend-webgpu", install));
        const Backend = isRecord(pkg) ? pkg["WebGPUBackend"] : undefined;
        if (tf.findBackendFactory("webgpu") == null || typeof Backend !== "function") {
          throw new Skip(`@tensorflow/tfjs-backend-webgpu loaded but registered no 'webgpu' backend (${versionHint("@tensorflow/tfjs-backend-webgpu")})`);
        }
        // nnc's factory: the same backend on a device with the adapter's limits, whose errors
        // are kept (webgpu/device.ts), unless TF.js has started webgpu already.
        if (!("webgpu" in tf.engine().registry)) {
          tf.removeBackend("webgpu");
          tf.registerBackend("webgpu", webgpuBackendFactory(webgpuGpu!, Backend as WebGpuBackendClass), 3);
        }
        try {
          registerWebGpuKernels();
        } catch (e) {
          throw new Skip(`its training kernels could not be registered: ${errorMessage(e)}`);
        }
        webgpuFactoryReplaced = true;
      }
      log(`webgpu adapter: ${webgpuAdapter.name}${webgpuAdapter.software ? " (software, on the CPU)" : ""}`);
      return;
    }
    case "wasm": {
      const pkg = moduleExports(await importOptional("@tensorflow/tfjs-backend-wasm", "@tensorflow/tfjs-backend-wasm"));
      if (tf.findBackendFactory("wasm") == null) {
        throw new Skip(`@tensorflow/tfjs-backend-wasm loaded but registered no 'wasm' backend (${versionHint("@tensorflow/tfjs-backend-wasm")})`);
      }
      if (wasmThreads === undefined) wasmThreads = await startWasmThreads(pkg, log, options);
      // The stock backend lacks Conv2DBackpropFilter and gets MaxPoolGrad wrong (wasm/kernels.ts).
      try {
        registerWasmTrainingKernels();
      } catch (e) {
        throw new Skip(`its training kernels could not be registered: ${errorMessage(e)}`);
      }
      return;
    }
    case "cpu":
      return; // part of @tensorflow/tfjs
  }
}

/** The threads wasm runs on, once it has been set up in this process. */
let wasmThreads: number | undefined;

/**
 * Multiply-adds per batch from which wasm's threads pay. Every XNNPACK call on the pool wakes
 * its workers and waits for them, tens of microseconds each, so small models lose. Measured
 * on 2 cores, ms per training step on one thread / two: the BLOCK MLP (1.3 M multiply-adds
 * per batch of 32) 3.3–4.1 / 5.2–7.3; a 784-512-512-10 MLP at batch 64 (43 M) 15.1–15.2 /
 * 15.1–17.1; a small CNN (conv 5x5x8, conv 5x5x16, dense 64; 53 M) 31–35 / 33–34; the MNIST
 * CNN (0.9 G per batch of 64) about 520 / 270. bench/RESULTS.md has the runs.
 */
export const WASM_THREADS_FROM = 100e6;

/**
 * Replaces the stock single-threaded wasm backend with the package's threaded build
 * (wasm/threads.ts) when more than one thread is wanted, the model is big enough to gain
 * from them, and TF.js has not started `wasm` yet. Returns the threads wasm will use; a
 * failure is logged and leaves the stock backend.
 */
async function startWasmThreads(pkg: unknown, log: (line: string) => void, options: SelectOptions | undefined): Promise<number> {
  let wanted: number;
  let asked: boolean;
  try {
    ({ count: wanted, asked } = wantedWasmThreads());
  } catch (e) {
    throw new Skip(errorMessage(e));
  }
  if (wanted <= 1 || "wasm" in tf.engine().registry) return 1;
  const work = options?.multiplyAddsPerBatch;
  if (work !== undefined && work < WASM_THREADS_FROM && !asked) {
    log(`wasm: one thread, since this model is small (${(work / 1e6).toPrecision(2)} M multiply-adds per batch; threads pay from ${WASM_THREADS_FROM / 1e6} M). NNC_WASM_THREADS=${wanted} overrides.`);
    return 1;
  }
  if (!isWasmPackage(pkg)) {
    log("wasm: one thread (this @tensorflow/tfjs-backend-wasm does not export BackendWasm and setThreadsCount)");
    return 1;
  }
  try {
    return await loadThreadedWasm(pkg, wanted);
  } catch (e) {
    log(`wasm: one thread (its threaded build did not start: ${errorMessage(e).split("\n")[0]})`);
    return 1;
  }
}

/**
 * Whether TF.js backend `name` (TF.js's name: `cpu`, `wasm`, `webgpu`, `tensorflow`) has
 * what training needs. Only one gap is known: wasm has no `Conv2DBackpropFilter`, so it
 * cannot train a conv layer's filters unless the kernel has been registered for it.
 */
export function backendCanTrain(name: string, needsConvGradients: boolean): { ok: boolean; reason?: string } {
  if (!needsConvGradients) return { ok: true };
  if (tf.getKernel("Conv2DBackpropFilter", name) !== undefined) return { ok: true };
  return {
    ok: false,
    reason: `the ${name} backend has no Conv2DBackpropFilter kernel, which training a conv layer needs`,
  };
}

/** Makes `kind` TF.js's backend, or throws Skip with the reason. */
async function activate(kind: BackendKind, options: SelectOptions | undefined, auto: boolean, log: (line: string) => void): Promise<void> {
  await register(kind, auto, log, options);
  const tfName = TF_NAMES[kind];
  const can = backendCanTrain(tfName, options?.needsConvGradients ?? false);
  if (!can.ok) throw new Skip(can.reason ?? `${kind} cannot train this model`);
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfName);
  } catch (e) {
    throw new Skip(`${kind} failed to start: ${errorMessage(e)}`);
  }
  if (!ok) throw new Skip(`${kind} failed to start (TensorFlow.js could not initialise the '${tfName}' backend)`);
  await tf.ready();
}

const NOTES: Record<BackendKind, string> = {
  "node-gpu": "TensorFlow C library with CUDA",
  node: "TensorFlow C library",
  webgpu: "WebGPU through Dawn",
  wasm: "WebAssembly with XNNPACK",
  cpu: "pure JavaScript: slow, especially for conv nets",
};

/**
 * Makes the requested backend TF.js's backend and says which it took. `auto` tries
 * node-gpu, node, webgpu, wasm, then cpu, logging why each one before the winner was
 * skipped. An explicitly requested backend that cannot be used is a BackendError.
 */
export async function selectBackend(requested: BackendName, log: (line: string) => void, options?: SelectOptions): Promise<SelectedBackend> {
  const candidates = requested === "auto" ? AUTO_ORDER : [requested];
  if (requested !== "auto" && !AUTO_ORDER.includes(requested)) {
    throw new BackendError(`Unknown backend '${String(requested)}': use one of auto, ${AUTO_ORDER.join(", ")}.`);
  }
  const reasons: string[] = [];
  for (const kind of candidates) {
    try {
      await activate(kind, options, requested === "auto", log);
    } catch (e) {
      if (!(e instanceof Skip)) throw e;
      if (requested !== "auto") throw new BackendError(`Cannot use the ${kind} backend: ${e.message}.`);
      reasons.push(`${kind}: ${e.message}`);
      log(`backend ${kind} skipped: ${e.message}`);
      continue;
    }
    const threads = kind === "wasm" && wasmThreads !== undefined ? `, ${wasmThreads === 1 ? "one thread" : `${wasmThreads} threads`}` : "";
    log(`backend: ${kind} (${NOTES[kind]}${threads})${requested === "auto" ? "" : ", as requested"}`);
    return { name: kind, tfName: tf.getBackend(), reasons };
  }
  // cpu is always last and always loads; reaching here is a bug.
  throw new BackendError(`No TensorFlow.js backend could be started:\n${reasons.join("\n")}`);
}

/**
 * Why the active backend's results can no longer be trusted (a WebGPU validation or
 * out-of-memory error, a lost device), in words; undefined while nothing is wrong. The
 * training loop asks after each read-back and stops the run with it.
 */
export function backendFailure(): string | undefined {
  return tf.getBackend() === "webgpu" ? webgpuFailure() : undefined;
}
