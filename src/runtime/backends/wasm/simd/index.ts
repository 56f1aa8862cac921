/**
 * nnc's WebAssembly SIMD kernels (kernels.wat), instantiated on the wasm backend's own memory
 * so that they work on tensors in place. `simdKernels(backend)` gives them for a running wasm
 * backend (one instance per backend module, made on first use), or undefined where they
 * cannot run; callers then take their portable path.
 */
import { KERNELS_PLAIN_MEMORY, KERNELS_SHARED_MEMORY } from "./kernels.generated.js";

export interface SimdKernels {
  /** See kernels.wat: pointers are byte offsets in the backend's memory. */
  adam(
    w: number,
    g: number,
    m: number,
    v: number,
    outW: number,
    outM: number,
    outV: number,
    n: number,
    b1: number,
    omb1: number,
    b2: number,
    omb2: number,
    d1: number,
    d2: number,
    lr: number,
    eps: number,
    decay: number,
    decoupled: number,
  ): void;
  tanh(x: number, out: number, n: number): void;
  matmul(a: number, b: number, bias: number, c: number, m: number, k: number, n: number): void;
  sum_rows(x: number, acc: number, out: number, rows: number, cols: number): void;
  im2col_t(x: number, out: number, n: number, h: number, w: number, c: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, top: number, left: number): void;
  maxpool_grad(x: number, dy: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number, fh: number, fw: number, sh: number, sw: number, top: number, left: number): void;
}

function bytes(base64: string): Uint8Array<ArrayBuffer> {
  const decoded = Buffer.from(base64, "base64");
  const out = new Uint8Array(new ArrayBuffer(decoded.length));
  out.set(decoded);
  return out;
}

/** Whether this JavaScript engine can compile the kernels at all (WebAssembly SIMD). */
export const SIMD_SUPPORTED: boolean = (() => {
  try {
    return WebAssembly.validate(bytes(KERNELS_PLAIN_MEMORY));
  } catch {
    return false;
  }
})();

/** The WebAssembly.Memory of a TF.js wasm backend: the stock module exports it, the threaded one keeps it as `wasmMemory`. */
function memoryOf(backend: unknown): WebAssembly.Memory | undefined {
  const module = (backend as { wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown } } | null)?.wasm;
  const memory = module?.asm?.memory ?? module?.wasmMemory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}

const instances = new WeakMap<WebAssembly.Memory, SimdKernels | null>();

/** The kernels on `backend`'s memory, or undefined where SIMD or the memory is not there. */
export function simdKernels(backend: unknown): SimdKernels | undefined {
  if (!SIMD_SUPPORTED) return undefined;
  const memory = memoryOf(backend);
  if (memory === undefined) return undefined;
  const known = instances.get(memory);
  if (known !== undefined) return known ?? undefined;
  let kernels: SimdKernels | null = null;
  try {
    const shared = typeof SharedArrayBuffer === "function" && memory.buffer instanceof SharedArrayBuffer;
    const module = new WebAssembly.Module(bytes(shared ? KERNELS_SHARED_MEMORY : KERNELS_PLAIN_MEMORY));
    kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdKernels;
  } catch {
    kernels = null;
  }
  instances.set(memory, kernels);
  return kernels ?? undefined;
}
