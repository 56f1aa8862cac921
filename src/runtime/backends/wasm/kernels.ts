/**
 * Kernels that let TensorFlow.js's wasm backend (`@tensorflow/tfjs-backend-wasm` 4.22) train
 * every layer of the language, correctly and at XNNPACK speed. `registerWasmTrainingKernels()`
 * registers them for the backend named `wasm`; `backend.ts` calls it as soon as that backend
 * is known, before it asks `backendCanTrain`.
 *
 * What the stock backend gets wrong or lacks (measured, see docs on backends):
 *
 * - `Conv2DBackpropFilter` (a conv layer's filter gradient) is missing. Here it is one XNNPACK
 *   convolution: the input transposed to [C, H, W, N] convolved with the output gradient
 *   transposed to [OH, OW, N, F] as the filter, dilated by the forward stride, gives
 *   [C, KH, KW, F]; a last transpose makes it [KH, KW, C, F].
 * - `DepthwiseConv2dNativeBackpropInput` and `…BackpropFilter` (depthwise and separable convs,
 *   grouped convs with one channel per group) are missing. Here each is one XNNPACK depthwise
 *   convolution: of dy, zero-dilated by the stride, with the filter flipped (the input
 *   gradient; the channel multiplier's M results then summed), and of x as one image of C·N
 *   channels with dy as its filter, dilated by the stride (the filter gradient; then summed
 *   over the batch).
 * - `MaxPoolGrad` is wrong: its C++ starts each window's running maximum at the smallest
 *   positive float, so a window whose maximum is ≤ 0 sends its gradient to the wrong place.
 *   Here it picks each window's first maximum in row-major order, as the cpu backend does:
 *   four channels at a time in WebAssembly SIMD (simd/kernels.wat) when the channels
 *   are a multiple of 4, else a JavaScript loop over the wasm heap.
 * - `AvgPoolGrad` (like the cpu backend's) divides every window by KH·KW, while the forward
 *   `AvgPool` with `same` padding divides a border window by the number of inputs it covers.
 *   Here the output gradient is first scaled by KH·KW / count, which makes it the true
 *   gradient of the forward pass (the cpu backend still differs at the borders).
 * - `Conv2DBackpropInput` is a plain C++ loop (~3 GFLOP/s). Here it is an XNNPACK stride-1
 *   convolution of the output gradient (zero-dilated by the stride) with the filter flipped
 *   and its channel axes swapped.
 * - `BatchMatMul` and `_FusedMatMul` with `transposeA`/`transposeB` (every dense layer's
 *   gradients) fall back to a naive loop. Here the operand is transposed first and the
 *   XNNPACK path is taken. A batched `_FusedMatMul` with a bias adds the bias wrongly; here
 *   it is a product, an add and an activation.
 * - `Sum` over leading axes (every bias gradient) transposes first; here it is one pass.
 * - `SplitV` (the optimizers split their flat update back into the variables) slices each
 *   piece with a generic strided loop; here each piece is contiguous copies.
 * - `Identity` (TF.js clones what each gradient will need) copies the data; here it shares it.
 * - `Tanh` calls libm's tanhf per element; here it is a SIMD polynomial (Cephes' tanhf).
 * - `NncFusedAdam` is nnc's own: the whole Adam/AdamW update of optimizers.ts in one kernel
 *   (one pass of WebAssembly SIMD per variable, no concatenation or split), bit-identical to
 *   the generic rule.
 * - A forward `BatchMatMul` with large fresh weights is computed transposed (see `swapPays`).
 * - Small products (`BatchMatMul`, `_FusedMatMul`, up to `SMALL_MATMUL_MAX` multiply-adds)
 *   run in kernels.wat's SIMD `matmul`: XNNPACK makes an operator and packs B for every new
 *   B, which costs more than a small layer's arithmetic.
 * - `Tile` (layernorm tiles its statistics, gamma and beta to the input's shape) is a generic
 *   C++ loop, ~40× slower than XNNPACK's broadcasting add of zeros used here; and its
 *   gradient, which TF.js computes with one slice and add per repetition (thousands of tiny
 *   ops on an image), becomes on wasm a reshape and one sum.
 *
 * Every kernel works on TensorInfos with the wasm backend's own kernels, as the backend's
 * kernels call each other, and frees what it made. Channels-last (NHWC) only, like the wasm
 * backend's convolutions.
 */
import * as tf from "@tensorflow/tfjs";
import { FUSED_ADAM_KERNEL, fusedAdamOperands, type FusedAdamAttrs } from "../../optimizers.js";
import { SIMD_SUPPORTED, simdKernels } from "./simd/index.js";

type TensorInfo = tf.TensorInfo;
type Shape4 = [number, number, number, number];
type KernelFunc = tf.KernelFunc;

const BACKEND = "wasm";

/** What these kernels use of `BackendWasm` (its class is not imported: the package is optional). */
interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object): boolean;
}

function asWasmBackend(backend: unknown): WasmBackend {
  const b = backend as Partial<WasmBackend> | null;
  if (b === null || typeof b !== "object" || typeof b.makeOutput !== "function" || typeof b.typedArrayFromHeap !== "function" || typeof b.disposeData !== "function") {
    throw new Error("nnc: a wasm training kernel ran on a backend that is not TensorFlow.js's wasm backend");
  }
  return b as WasmBackend;
}

/** The float32 values of a tensor, read in place from the wasm heap. */
function heapF32(backend: WasmBackend, info: TensorInfo): Float32Array {
  const a = backend.typedArrayFromHeap(info);
  if (!(a instanceof Float32Array)) throw new Error(`nnc: expected a float32 tensor, got ${info.dtype}`);
  return a;
}

/**
 * Where a float32 tensor's values start in the wasm memory, in bytes: the pointer nnc's SIMD
 * kernels take. Read it after the last `makeOutput`, which may grow the memory.
 */
function heapAt(backend: WasmBackend, info: TensorInfo): number {
  return heapF32(backend, info).byteOffset;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function shape4(shape: readonly number[], what: string): Shape4 {
  if (shape.length !== 4) throw new Error(`nnc: ${what} must be rank 4 (NHWC), got shape [${shape.join(", ")}]`);
  return [shape[0]!, shape[1]!, shape[2]!, shape[3]!];
}

function input(inputs: tf.NamedTensorInfoMap, name: string): TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`nnc: kernel input '${name}' is missing`);
  return t;
}

function nhwcOnly(dataFormat: string | undefined, kernel: string): void {
  if (dataFormat !== undefined && dataFormat !== "NHWC") throw new Error(`nnc: the wasm ${kernel} supports only NHWC, got ${dataFormat}`);
}

/** The stock wasm kernels these are built from, kept when one of them is replaced. */
const stock = new Map<string, tf.KernelConfig>();

function stockKernel(name: string): KernelFunc {
  const config = stock.get(name) ?? tf.getKernel(name, BACKEND);
  if (config === undefined) throw new Error(`nnc: the wasm backend has no ${name} kernel`);
  return config.kernelFunc;
}

/**
 * Runs stock wasm kernels on TensorInfos and frees every intermediate result when the
 * kernel is done, except the one it returns.
 */
class Scratch {
  private readonly made: TensorInfo[] = [];
  constructor(readonly backend: WasmBackend) {}

  /** Runs a stock kernel that has one output. */
  run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): TensorInfo {
    return this.track(stockKernel(name)({ inputs, backend: this.backend, attrs }), name);
  }

  /** Frees `out` (a kernel's one output) with the rest. */
  track(out: TensorInfo | TensorInfo[], name: string): TensorInfo {
    if (Array.isArray(out)) throw new Error(`nnc: ${name} gave ${out.length} outputs, expected one`);
    this.made.push(out);
    return out;
  }

  output(shape: number[], dtype: tf.DataType = "float32"): TensorInfo {
    return this.track(this.backend.makeOutput(shape, dtype), "makeOutput");
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run(tf.Transpose, { x }, { perm });
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run(tf.Reshape, { x }, { shape });
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run(tf.Slice, { x }, { begin, size });
  }

  /** Gives `out` to the caller: it is not freed with the rest. */
  keep(out: TensorInfo): TensorInfo {
    const i = this.made.indexOf(out);
    if (i >= 0) this.made.splice(i, 1);
    return out;
  }

  dispose(): void {
    for (const t of this.made) this.backend.disposeData(t.dataId);
    this.made.length = 0;
  }
}

/** `f` with a Scratch that is freed afterwards; `f` returns what it keeps. */
function withScratch(backend: unknown, f: (s: Scratch) => TensorInfo): TensorInfo {
  const s = new Scratch(asWasmBackend(backend));
  try {
    return s.keep(f(s));
  } finally {
    s.dispose();
  }
}

/** `withScratch` for a way of computing that may not apply (undefined: nothing is kept). */
function maybeWithScratch(backend: unknown, f: (s: Scratch) => TensorInfo | undefined): TensorInfo | undefined {
  const s = new Scratch(asWasmBackend(backend));
  try {
    const out = f(s);
    return out === undefined ? undefined : s.keep(out);
  } finally {
    s.dispose();
  }
}

// ---------------------------------------------------------------------------------------
// Convolution gradients

/**
 * A stride-1 conv2d on the wasm backend with explicit padding. Negative padding (rows or
 * columns that no window reaches) is cut off the input first, since XNNPACK takes only ≥ 0.
 */
function convExplicit(s: Scratch, x: TensorInfo, filter: TensorInfo, pads: [[number, number], [number, number]], dilations: [number, number], kernel: string = tf.Conv2D): TensorInfo {
  const [n, h, w, c] = shape4(x.shape, "conv input");
  const [[top, bottom], [left, right]] = pads;
  const cut = [Math.max(0, -top), Math.max(0, -bottom), Math.max(0, -left), Math.max(0, -right)] as const;
  let xs = x;
  if (cut.some((v) => v > 0)) {
    xs = s.slice(x, [0, cut[0], cut[2], 0], [n, h - cut[0] - cut[1], w - cut[2] - cut[3], c]);
  }
  const pad: tf.Conv2DAttrs["pad"] = [
    [0, 0],
    [Math.max(0, top), Math.max(0, bottom)],
    [Math.max(0, left), Math.max(0, right)],
    [0, 0],
  ];
  return s.run(kernel, { x: xs, filter }, { strides: [1, 1], pad, dataFormat: "NHWC", dilations });
}

/** The filter gradient takes the patch-matrix path up to kh·kw·c of this (a 5×5 filter on 1 channel is 25)… */
const IM2COL_MAX_PATCH = 32;
/** …and while the patch matrix has at most this many elements (64 MiB). */
const IM2COL_MAX_ELEMENTS = 16 * 1024 * 1024;

/**
 * dW[kh, kw, c, f] = Σ_{n, oh, ow} x[n, oh·sh + kh − top, ow·sw + kw − left, c] · dy[n, oh, ow, f].
 * With X = x transposed to [C, H, W, N] and D = dy transposed to [OH, OW, N, F] this is
 * conv2d(X, D) with dilation (sh, sw), padding (top, left) and output [C, KH, KW, F].
 */
const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  nhwcOnly(a.dataFormat, "Conv2DBackpropFilter");
  const x = input(inputs, "x");
  const dy = input(inputs, "dy");
  const xShape = shape4(x.shape, "Conv2DBackpropFilter's x");
  const [kh, kw] = a.filterShape;
  const info = tf.backend_util.computeConv2DInfo(xShape, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode);
  const { top, left } = info.padInfo;
  // The padding after the input that makes the windows end exactly at the last one.
  const bottom = (info.outHeight - 1) * info.strideHeight + kh - info.inHeight - top;
  const right = (info.outWidth - 1) * info.strideWidth + kw - info.inWidth - left;
  const [n, , , c] = xShape;
  const f = a.filterShape[3];
  const patches = kh * kw * c * n * info.outHeight * info.outWidth;
  const simd = c * kh * kw <= IM2COL_MAX_PATCH && patches <= IM2COL_MAX_ELEMENTS ? simdKernels(backend) : undefined;
  if (simd !== undefined) {
    // Few input channels: the convolution below would have a tiny output (kh·kw·c values per
    // filter) that XNNPACK cannot spread over its threads. Here it is the patch matrix
    // (kh·kw·c rows, one column per output position) times dy as a matrix.
    return withScratch(backend, (s) => {
      const cols = s.output([1, kh * kw * c, n * info.outHeight * info.outWidth]);
      simd.im2col_t(heapAt(s.backend, x), heapAt(s.backend, cols), n, info.inHeight, info.inWidth, c, info.outHeight, info.outWidth, kh, kw, info.strideHeight, info.strideWidth, 1, 1, top, left);
      const dw = s.run(tf.BatchMatMul, { a: cols, b: s.reshape(dy, [1, n * info.outHeight * info.outWidth, f]) }, { transposeA: false, transposeB: false });
      return s.reshape(dw, [kh, kw, c, f]);
    });
  }
  return withScratch(backend, (s) => {
    const xT = s.transpose(x, [3, 1, 2, 0]);
    const dyT = s.transpose(dy, [1, 2, 0, 3]);
    const dwT = convExplicit(s, xT, dyT, [[top, bottom], [left, right]], [info.strideHeight, info.strideWidth]);
    return s.transpose(dwT, [1, 2, 0, 3]);
  });
};

/**
 * dx = a stride-1 convolution of dy, zero-dilated by the stride, with the filter flipped in
 * space and its in/out channels swapped, padded by KH − 1 − top before.
 */
const conv2DBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  nhwcOnly(a.dataFormat, "Conv2DBackpropInput");
  const dy = input(inputs, "dy");
  const filter = input(inputs, "filter");
  const filterShape = shape4(filter.shape, "Conv2DBackpropInput's filter");
  const [kh, kw] = filterShape;
  const info = tf.backend_util.computeConv2DInfo(a.inputShape, filterShape, a.strides, 1, a.pad, a.dimRoundingMode);
  const { top, left } = info.padInfo;
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  const [n, oh, ow, f] = shape4(dy.shape, "Conv2DBackpropInput's dy");
  return withScratch(backend, (s) => {
    let d = dy;
    if (sh > 1 || sw > 1) {
      // [n, oh, ow, f] → [n, oh, 1, ow, 1, f] → zeros after each row and column → [n, oh·sh, ow·sw, f].
      const r = s.reshape(dy, [n, oh, 1, ow, 1, f]);
      const p = s.run(tf.PadV2, { x: r }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
      d = s.reshape(p, [n, oh * sh, ow * sw, f]);
    }
    const flipped = s.run(tf.Reverse, { x: filter }, { dims: [0, 1] });
    const w = s.transpose(flipped, [0, 1, 3, 2]);
    // d has oh·sh rows, the last sh − 1 of them the zeros after dy's last row.
    const bottom = info.inHeight + top - oh * sh;
    const right = info.inWidth + left - ow * sw;
    return convExplicit(s, d, w, [[kh - 1 - top, bottom], [kw - 1 - left, right]], [1, 1]);
  });
};

// ---------------------------------------------------------------------------------------
// Depthwise convolution gradients

/** Zeros after each row and column of dy: [n, oh, ow, c] → [n, oh·sh, ow·sw, c]. */
function dilateByStride(s: Scratch, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return dy;
  const [n, oh, ow, c] = shape4(dy.shape, "dy");
  const r = s.reshape(dy, [n, oh, 1, ow, 1, c]);
  const p = s.run(tf.PadV2, { x: r }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
  return s.reshape(p, [n, oh * sh, ow * sw, c]);
}

function noDilation(dilations: number | [number, number] | undefined, kernel: string): void {
  const [dh, dw] = typeof dilations === "number" ? [dilations, dilations] : (dilations ?? [1, 1]);
  if (dh !== 1 || dw !== 1) throw new Error(`nnc: the wasm ${kernel} supports only dilation 1 (TF.js has no gradient for dilated depthwise convolutions), got ${dh}x${dw}`);
}

/**
 * The input gradient of a depthwise convolution (filter [KH, KW, C, M], dy [n, OH, OW, C·M]):
 * missing in the wasm backend. As for Conv2DBackpropInput, a stride-1 convolution of dy
 * zero-dilated by the stride with the filter flipped in space, here a depthwise one over the
 * C·M channels of dy (the filter as [KH, KW, C·M, 1]); with M > 1 the M results of each
 * input channel are then summed.
 */
const depthwiseConv2dNativeBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  noDilation(a.dilations, "DepthwiseConv2dNativeBackpropInput");
  const dy = input(inputs, "dy");
  const filter = input(inputs, "filter");
  const filterShape = shape4(filter.shape, "DepthwiseConv2dNativeBackpropInput's filter");
  const [kh, kw, c, m] = filterShape;
  const info = tf.backend_util.computeConv2DInfo(shape4(a.inputShape, "DepthwiseConv2dNativeBackpropInput's inputShape"), filterShape, a.strides, 1, a.pad, a.dimRoundingMode, true);
  const { top, left } = info.padInfo;
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  const [n, oh, ow] = shape4(dy.shape, "DepthwiseConv2dNativeBackpropInput's dy");
  return withScratch(backend, (s) => {
    const d = dilateByStride(s, dy, sh, sw);
    const flipped = s.run(tf.Reverse, { x: filter }, { dims: [0, 1] });
    const w = s.reshape(flipped, [kh, kw, c * m, 1]);
    const bottom = info.inHeight + top - oh * sh;
    const right = info.inWidth + left - ow * sw;
    const dx = convExplicit(s, d, w, [[kh - 1 - top, bottom], [kw - 1 - left, right]], [1, 1], tf.DepthwiseConv2dNative);
    if (m === 1) return dx;
    return s.run(tf.Sum, { x: s.reshape(dx, [n, info.inHeight, info.inWidth, c, m]) }, { axis: [4], keepDims: false });
  });
};

/**
 * The filter gradient of a depthwise convolution: dW[kh, kw, c, m] = Σ_{n, oh, ow}
 * x[n, oh·sh + kh − top, ow·sw + kw − left, c] · dy[n, oh, ow, c·M + m]; missing in the wasm
 * backend. With X = x as one image of C·N channels [1, H, W, C·N] and D = dy as a depthwise
 * filter [OH, OW, C·N, M], this is one depthwise convolution of X by D dilated by the forward
 * stride, giving [1, KH, KW, C·N·M]; the N samples are then summed.
 */
const depthwiseConv2dNativeBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  noDilation(a.dilations, "DepthwiseConv2dNativeBackpropFilter");
  const x = input(inputs, "x");
  const dy = input(inputs, "dy");
  const xShape = shape4(x.shape, "DepthwiseConv2dNativeBackpropFilter's x");
  const filterShape = shape4(a.filterShape, "DepthwiseConv2dNativeBackpropFilter's filterShape");
  const [kh, kw, c, m] = filterShape;
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, a.strides, 1, a.pad, a.dimRoundingMode, true);
  const { top, left } = info.padInfo;
  const bottom = (info.outHeight - 1) * info.strideHeight + kh - info.inHeight - top;
  const right = (info.outWidth - 1) * info.strideWidth + kw - info.inWidth - left;
  const [n, h, w] = xShape;
  const [oh, ow] = [info.outHeight, info.outWidth];
  return withScratch(backend, (s) => {
    const xT = s.reshape(s.transpose(x, [1, 2, 3, 0]), [1, h, w, c * n]);
    const dyT = s.reshape(s.transpose(s.reshape(dy, [n, oh, ow, c, m]), [1, 2, 3, 0, 4]), [oh, ow, c * n, m]);
    const dw = convExplicit(s, xT, dyT, [[top, bottom], [left, right]], [info.strideHeight, info.strideWidth], tf.DepthwiseConv2dNative);
    if (n === 1) return s.reshape(dw, [kh, kw, c, m]);
    const bySample = s.transpose(s.reshape(dw, [kh, kw, c, n, m]), [3, 0, 1, 2, 4]);
    return sum({ inputs: { x: bySample }, backend: s.backend, attrs: { axis: [0], keepDims: false } }) as TensorInfo;
  });
};

// ---------------------------------------------------------------------------------------
// Pooling gradients

/**
 * The max-pool gradient: each output's gradient goes to the first maximum of its window in
 * row-major order (as on the cpu backend); a window with no maximum (all NaN) passes none.
 */
const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as tf.MaxPoolGradAttrs;
  const wasm = asWasmBackend(backend);
  const x = input(inputs, "input");
  const dy = input(inputs, "dy");
  const info = tf.backend_util.computePool2DInfo(shape4(x.shape, "MaxPoolGrad's input"), a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const out = wasm.makeOutput(x.shape, "float32");
  // Views after makeOutput: allocating may grow (and so detach) the heap.
  const xs = heapF32(wasm, x);
  const gs = heapF32(wasm, dy);
  const dx = heapF32(wasm, out);
  const simd = info.inChannels % 4 === 0 ? simdKernels(backend) : undefined;
  if (simd !== undefined) {
    const p = info.padInfo;
    simd.maxpool_grad(xs.byteOffset, gs.byteOffset, dx.byteOffset, info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, p.top, p.left);
    return out;
  }
  dx.fill(0);
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { filterHeight: fh, filterWidth: fw } = info; // pools have no dilation
  const { top, left } = info.padInfo;
  for (let b = 0; b < batchSize; b++) {
    const base = b * h * w * c;
    for (let y = 0; y < oh; y++) {
      const y0 = y * sh - top;
      const yMin = Math.max(0, y0);
      const yMax = Math.min(h, y0 + fh);
      for (let xo = 0; xo < ow; xo++) {
        const x0 = xo * sw - left;
        const xMin = Math.max(0, x0);
        const xMax = Math.min(w, x0 + fw);
        const g = ((b * oh + y) * ow + xo) * c;
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let where = -1;
          for (let yi = yMin; yi < yMax; yi++) {
            for (let xi = xMin, at = base + (yi * w + xMin) * c + ch; xi < xMax; xi++, at += c) {
              const v = xs[at]!;
              const greater = v > best; // the first maximum wins ties; NaN never does
              where = greater ? at : where;
              best = greater ? v : best;
            }
          }
          if (where >= 0) dx[where]! += gs[g + ch]!;
        }
      }
    }
  }
  return out;
};

/** How many rows of [0, size) each of `outSize` windows of `filter` rows covers. */
function coverage(size: number, outSize: number, filter: number, stride: number, pad: number): number[] {
  const counts: number[] = [];
  for (let o = 0; o < outSize; o++) {
    const start = o * stride - pad;
    counts.push(Math.min(size, start + filter) - Math.max(0, start));
  }
  return counts;
}

/**
 * The average-pool gradient of the forward pass the wasm (and cpu) backend computes, which
 * divides a window by the number of inputs it covers: the stock kernel divides by KH·KW, so
 * dy is scaled by KH·KW / count first where a window hangs over the padding.
 */
const avgPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as tf.AvgPoolGradAttrs;
  const x = input(inputs, "input");
  const dy = input(inputs, "dy");
  const info = tf.backend_util.computePool2DInfo(shape4(x.shape, "AvgPoolGrad's input"), a.filterSize, a.strides, 1, a.pad);
  const { filterHeight: fh, filterWidth: fw } = info;
  const rows = coverage(info.inHeight, info.outHeight, fh, info.strideHeight, info.padInfo.top);
  const cols = coverage(info.inWidth, info.outWidth, fw, info.strideWidth, info.padInfo.left);
  const full = rows.every((r) => r === fh) && cols.every((c) => c === fw);
  const stockGrad = stockKernel(tf.AvgPoolGrad);
  if (full) return stockGrad({ inputs, backend, attrs });
  return withScratch(backend, (s) => {
    const scale = s.output([1, info.outHeight, info.outWidth, 1]);
    const values = heapF32(s.backend, scale);
    for (let y = 0; y < rows.length; y++) {
      for (let xo = 0; xo < cols.length; xo++) values[y * cols.length + xo] = (fh * fw) / (rows[y]! * cols[xo]!);
    }
    const scaled = s.run(tf.Multiply, { a: dy, b: scale });
    return s.track(stockGrad({ inputs: { dy: scaled, input: x }, backend: s.backend, attrs }), tf.AvgPoolGrad);
  });
};

// ---------------------------------------------------------------------------------------
// Sums over leading axes

/**
 * `Sum` over the leading axes (a bias gradient: dy summed over batch, height and width): the
 * stock kernel transposes the reduced axes to the end first, which costs more than the sum;
 * here it is one pass over the heap adding each row into float64 accumulators. Other
 * reductions keep the stock kernel.
 */
const sum: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = input(inputs, "x");
  const a = attrs as unknown as tf.SumAttrs;
  const axes = tf.util.parseAxisParam(a.axis, x.shape).sort((p, q) => p - q);
  const leading = axes.length > 0 && axes.length < x.shape.length && axes.every((axis, i) => axis === i);
  if (!leading || x.dtype !== "float32") return stockKernel(tf.Sum)({ inputs, backend, attrs });
  const wasm = asWasmBackend(backend);
  const kept = x.shape.slice(axes.length);
  const n = sizeOf(kept);
  const rows = sizeOf(x.shape) / n;
  const out = wasm.makeOutput(a.keepDims ? [...axes.map(() => 1), ...kept] : kept, "float32");
  const simd = simdKernels(backend);
  if (simd !== undefined) {
    const scratch = wasm.makeOutput([2 * n], "float32"); // n float64 accumulators
    try {
      simd.sum_rows(heapAt(wasm, x), heapAt(wasm, scratch), heapAt(wasm, out), rows, n);
    } finally {
      wasm.disposeData(scratch.dataId);
    }
    return out;
  }
  const xs = heapF32(wasm, x);
  const acc = new Float64Array(n);
  for (let r = 0, at = 0; r < rows; r++) {
    for (let i = 0; i < n; i++, at++) acc[i]! += xs[at]!;
  }
  heapF32(wasm, out).set(acc);
  return out;
};

// ---------------------------------------------------------------------------------------
// Matrix products

/** Swaps the last two axes. */
function transposeLast2(s: Scratch, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return s.transpose(x, perm);
}

/**
 * op(A)·op(B) with the stock BatchMatMul on untransposed operands: the stock kernel takes
 * XNNPACK only when neither operand is transposed and there is one matrix per operand.
 * XNNPACK packs the right operand as weights on every call, so for one product it may be
 * cheaper to compute Cᵀ = op(B)ᵀ·op(A)ᵀ and transpose the small result: for dy·Wᵀ (a dense
 * layer's input gradient) that packs dyᵀ instead of transposing and packing the whole of W.
 */
function product(s: Scratch, a: TensorInfo, b: TensorInfo, tA: boolean, tB: boolean, swappable: boolean): TensorInfo {
  const matMul = (left: TensorInfo, right: TensorInfo): TensorInfo => s.run(tf.BatchMatMul, { a: left, b: right }, { transposeA: false, transposeB: false });
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = a.shape[tA ? ra - 1 : ra - 2]!;
  const k = a.shape[tA ? ra - 2 : ra - 1]!;
  const n = b.shape[tB ? rb - 2 : rb - 1]!;
  // Elements copied: explicit transposes, XNNPACK's packing of the right operand, and (swapped) the result's transpose.
  const direct = (tA ? m * k : 0) + (tB ? k * n : 0) + k * n;
  const swapped = (tA ? 0 : m * k) + (tB ? 0 : k * n) + k * m + m * n;
  if (swappable && single(a, b) && swapped < direct) return swappedProduct(s, a, b, tA, tB);
  return matMul(tA ? transposeLast2(s, a) : a, tB ? transposeLast2(s, b) : b);
}

/** op(A)·op(B) as (op(B)ᵀ·op(A)ᵀ)ᵀ: XNNPACK packs op(A)ᵀ instead of op(B). */
function swappedProduct(s: Scratch, a: TensorInfo, b: TensorInfo, tA: boolean, tB: boolean): TensorInfo {
  const left = tB ? b : transposeLast2(s, b); // op(B)ᵀ
  const right = tA ? a : transposeLast2(s, a); // op(A)ᵀ
  return transposeLast2(s, s.run(tf.BatchMatMul, { a: left, b: right }, { transposeA: false, transposeB: false }));
}

/**
 * Whether A·B (no transposes) is faster swapped. XNNPACK packs B, its "weights", with a
 * strided gather that is several times slower per element than a transpose (a whole order
 * of magnitude when B's rows are 4 KB apart, as a dense layer of 1024 units has), and its
 * operator cache keeps the packing only while B's data stays the same, which a trained
 * layer's weights never do. Measured on the MNIST CNN's dense layer (64×3136 · 3136×1024,
 * fresh weights, 2 threads): 42 ms stock, 9 ms swapped. Swapping pays when B is large and
 * outweighs A and the result together (a forward dense layer on a batch smaller than its
 * inputs and units); for small products the extra kernels cost more than they save, and
 * narrow weights (fewer than 256 columns, rows under 1 KB apart) pack fast: a 25×50176 ·
 * 50176×32 product took 20 ms swapped against 5 ms as it is.
 */
function swapPays(a: TensorInfo, b: TensorInfo): boolean {
  if (!single(a, b)) return false;
  const m = a.shape[a.shape.length - 2]!;
  const k = a.shape[a.shape.length - 1]!;
  const n = b.shape[b.shape.length - 1]!;
  return n >= 256 && k * n >= 65536 && m * (k + n) < k * n;
}

/**
 * Products up to this many multiply-adds (m·k·n) run in kernels.wat's `matmul` rather than
 * XNNPACK, whose operator must be made (and B packed) for every new B: a layer's weights,
 * new after every update, and most products of a backward pass. Measured with fresh
 * weights (µs, one thread / two): 32×100×100 174/235 XNNPACK, 110/72 here; 64×256×256
 * 808/987 and 799/409; 64×512×512 3023/2485 and 3496/3155. Narrow products (fewer than 16
 * columns) only up to `SMALL_NARROW_MAX`: the kernel then runs over k once per 4 columns
 * (64×1024×10: 136 µs XNNPACK, 231 here).
 */
export const SMALL_MATMUL_MAX = 1 << 21;
const SMALL_NARROW_MAX = 1 << 16;

/**
 * op(A)·op(B) (+ bias) with kernels.wat's `matmul`, for one small product of float32
 * matrices; undefined where that does not apply (batched, large, another dtype, a bias that
 * is not one value per column, or no SIMD), so the caller takes XNNPACK.
 */
function smallProduct(s: Scratch, a: TensorInfo, b: TensorInfo, tA: boolean, tB: boolean, bias?: TensorInfo): TensorInfo | undefined {
  if (!single(a, b) || a.dtype !== "float32" || b.dtype !== "float32") return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = a.shape[tA ? ra - 1 : ra - 2]!;
  const k = a.shape[tA ? ra - 2 : ra - 1]!;
  const n = b.shape[tB ? rb - 2 : rb - 1]!;
  if (m * k * n > (n >= 16 ? SMALL_MATMUL_MAX : SMALL_NARROW_MAX) || m * k * n === 0) return undefined;
  if (bias !== undefined && (bias.dtype !== "float32" || sizeOf(bias.shape) !== n || bias.shape.length > 1)) return undefined;
  const simd = simdKernels(s.backend);
  if (simd === undefined) return undefined;
  const left = tA ? transposeLast2(s, a) : a;
  const right = tB ? transposeLast2(s, b) : b;
  const lead = (ra >= rb ? a : b).shape.slice(0, -2);
  const out = s.output([...lead, m, n]);
  simd.matmul(heapAt(s.backend, left), heapAt(s.backend, right), bias === undefined ? 0 : heapAt(s.backend, bias), heapAt(s.backend, out), m, k, n);
  return out;
}

/** One matrix per operand (batch dimensions all 1). */
function single(a: TensorInfo, b: TensorInfo): boolean {
  return sizeOf(a.shape.slice(0, -2)) === 1 && sizeOf(b.shape.slice(0, -2)) === 1;
}

function transposes(attrs: tf.NamedAttrMap | undefined): [boolean, boolean] {
  return [attrs?.["transposeA"] === true, attrs?.["transposeB"] === true];
}

const batchMatMul: KernelFunc = ({ inputs, backend, attrs }) => {
  const [tA, tB] = transposes(attrs);
  const a = input(inputs, "a");
  const b = input(inputs, "b");
  const small = maybeWithScratch(backend, (s) => smallProduct(s, a, b, tA, tB));
  if (small !== undefined) return small;
  if (!tA && !tB) {
    if (!swapPays(a, b)) return stockKernel(tf.BatchMatMul)({ inputs, backend, attrs });
    return withScratch(backend, (s) => swappedProduct(s, a, b, false, false));
  }
  return withScratch(backend, (s) => product(s, a, b, tA, tB, true));
};

/** The activations `_FusedMatMul` takes, as the wasm backend's own kernels. */
function activate(s: Scratch, x: TensorInfo, a: tf._FusedMatMulAttrs, preluWeights: TensorInfo | undefined): TensorInfo {
  switch (a.activation) {
    case undefined:
    case "linear":
      return x;
    case "relu":
      return s.run(tf.Relu, { x });
    case "relu6":
      return s.run(tf.Relu6, { x });
    case "elu":
      return s.run(tf.Elu, { x });
    case "sigmoid":
      return s.run(tf.Sigmoid, { x });
    case "leakyrelu":
      return s.run(tf.LeakyRelu, { x }, { alpha: a.leakyreluAlpha ?? 0.2 });
    case "prelu":
      if (preluWeights === undefined) throw new Error("nnc: _FusedMatMul with prelu needs its weights");
      return s.run(tf.Prelu, { x, alpha: preluWeights });
  }
}

/**
 * `_FusedMatMul` (a dense layer's forward pass: product, bias, activation). One product with
 * transposed operands: the stock kernel on untransposed ones (not swapped: the bias and the
 * activation belong to C, not Cᵀ). Batched products: the stock kernel adds the bias wrongly
 * (it indexes it by row·N + column, clamped to its last element), so the product, the bias
 * and the activation are separate kernels.
 */
const fusedMatMul: KernelFunc = ({ inputs, backend, attrs }) => {
  const [tA, tB] = transposes(attrs);
  const a = input(inputs, "a");
  const b = input(inputs, "b");
  const stockFused = stockKernel(tf._FusedMatMul);
  const small = maybeWithScratch(backend, (s) => {
    const out = smallProduct(s, a, b, tA, tB, inputs["bias"]);
    return out === undefined ? undefined : activate(s, out, attrs as unknown as tf._FusedMatMulAttrs, inputs["preluActivationWeights"]);
  });
  if (small !== undefined) return small;
  if (single(a, b)) {
    if (!tA && !tB) return stockFused({ inputs, backend, attrs });
    return withScratch(backend, (s) => {
      const left = tA ? transposeLast2(s, a) : a;
      const right = tB ? transposeLast2(s, b) : b;
      return s.track(stockFused({ inputs: { ...inputs, a: left, b: right }, backend: s.backend, attrs: { ...attrs, transposeA: false, transposeB: false } }), tf._FusedMatMul);
    });
  }
  return withScratch(backend, (s) => {
    let out = product(s, a, b, tA, tB, false);
    const bias = inputs["bias"];
    if (bias !== undefined) out = s.run(tf.Add, { a: out, b: bias });
    return activate(s, out, attrs as unknown as tf._FusedMatMulAttrs, inputs["preluActivationWeights"]);
  });
};

// ---------------------------------------------------------------------------------------
// Tile and its gradient

/**
 * `tile(x, reps)` seen as a broadcast: the axes of [rep0, size0, rep1, size1, …], with ones
 * dropped and neighbours of the same kind merged (layernorm's tiling of gamma over a
 * [64, 28, 28, 32] input is [50176 (rep), 32]).
 */
function tileAxes(shape: readonly number[], reps: readonly number[]): { size: number; rep: boolean }[] {
  const axes: { size: number; rep: boolean }[] = [];
  shape.forEach((size, i) => {
    for (const d of [{ size: reps[i]!, rep: true }, { size, rep: false }]) {
      if (d.size === 1) continue;
      const last = axes[axes.length - 1];
      if (last !== undefined && last.rep === d.rep) last.size *= d.size;
      else axes.push(d);
    }
  });
  return axes;
}

/** The most axes XNNPACK's broadcasting add takes. */
const MAX_BROADCAST_RANK = 6;

/**
 * Tile as x + zeros broadcast to the output (XNNPACK's add): the stock kernel's generic C++
 * loop takes ~200 ms for 1.6 M floats, the broadcast about 5 ms. float32 only; other dtypes
 * and shapes that need more axes than XNNPACK broadcasts keep the stock kernel.
 */
const tile: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = input(inputs, "x");
  const reps = (attrs as unknown as tf.TileAttrs).reps;
  const axes = tileAxes(x.shape, reps);
  if (x.dtype !== "float32" || axes.length > MAX_BROADCAST_RANK || !axes.some((a) => a.rep)) return stockKernel(tf.Tile)({ inputs, backend, attrs });
  return withScratch(backend, (s) => {
    const xs = s.reshape(x, axes.map((a) => (a.rep ? 1 : a.size)));
    const zeros = s.run(tf.Fill, {}, { shape: axes.map((a) => (a.rep ? a.size : 1)), value: 0, dtype: "float32" });
    const sum = s.run(tf.Add, { a: xs, b: zeros });
    return s.reshape(sum, x.shape.map((size, i) => size * reps[i]!));
  });
};

/**
 * The gradient of `tile(x, reps)` is dy summed over the repetitions. TF.js's own adds one
 * slice of dy per repetition: layernorm tiles its gamma and beta over every position of its
 * input, so on a [16, 12, 12, 8] input that is 2 × 2,304 slices and adds per step (~190 ms on
 * wasm). Here dy is reshaped to the broadcast's axes and summed over the repeated ones. Only
 * on the wasm backend, so the others keep TF.js's gradient as it is.
 */
function fastTileGradient(stockGrad: tf.GradConfig): tf.GradConfig {
  return {
    kernelName: tf.Tile,
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      if (tf.getBackend() !== BACKEND || Array.isArray(dy)) return stockGrad.gradFunc(dy, saved, attrs);
      const x = saved[0]!;
      const axes = tileAxes(x.shape, (attrs as unknown as tf.TileAttrs).reps);
      const summed = axes.flatMap((a, i) => (a.rep ? [i] : []));
      return {
        x: () => {
          const grouped = tf.reshape(dy, axes.map((a) => a.size));
          return tf.reshape(summed.length > 0 ? tf.sum(grouped, summed) : grouped, x.shape);
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------
// SplitV

/**
 * `split(x, sizes, axis)`: the stock kernel makes each piece with a generic strided slice
 * (~2 ms for twelve pieces of a 41,601-element vector, the optimizer's flat update on the
 * BLOCK MLP). Here each piece is `outer` contiguous runs copied from the heap.
 */
const splitV: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = input(inputs, "x");
  const a = attrs as unknown as tf.SplitVAttrs;
  const axis = tf.util.parseAxisParam(a.axis, x.shape)[0]!;
  const sizes = typeof a.numOrSizeSplits === "number" ? Array<number>(a.numOrSizeSplits).fill(x.shape[axis]! / a.numOrSizeSplits) : [...a.numOrSizeSplits];
  const free = sizes.indexOf(-1);
  if (free >= 0) sizes[free] = x.shape[axis]! - sizes.reduce((p, q) => (q === -1 ? p : p + q), 0);
  if (x.dtype !== "float32" && x.dtype !== "int32") return stockKernel(tf.SplitV)({ inputs, backend, attrs });
  const wasm = asWasmBackend(backend);
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const rowLength = x.shape[axis]! * inner;
  const outs: TensorInfo[] = [];
  let offset = 0;
  for (const size of sizes) {
    const shape = x.shape.slice();
    shape[axis] = size;
    const out = wasm.makeOutput(shape, x.dtype);
    // Read the input after each allocation: making an output may grow the heap and move it.
    const from = wasm.typedArrayFromHeap(x) as Float32Array | Int32Array;
    const to = wasm.typedArrayFromHeap(out) as Float32Array | Int32Array;
    const run = size * inner;
    for (let o = 0; o < outer; o++) to.set(from.subarray(o * rowLength + offset, o * rowLength + offset + run), o * run);
    offset += run;
    outs.push(out);
  }
  return outs;
};

// ---------------------------------------------------------------------------------------
// Identity, Tanh and the fused Adam step

/**
 * `Identity`: TF.js clones every tensor a gradient will need with it while the tape records
 * (69 clones in a BLOCK MLP step), and the stock wasm kernel copies the data each time. Tensors
 * are immutable (a variable's `assign` takes new data, it never writes into the old), so
 * the clone can share the data, as the cpu backend's Identity and every backend's Reshape do.
 */
const identity: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = input(inputs, "x");
  const b = backend as { incRef?: (dataId: tf.DataId) => void };
  if (x.dtype === "string" || typeof b.incRef !== "function") return stockKernel(tf.Identity)({ inputs, backend, attrs });
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/**
 * The fused Adam/AdamW step of optimizers.ts (`FUSED_ADAM_KERNEL`): new variables, m and v
 * in one pass of kernels.wat's `adam` per variable (each over its range of the flat m and v),
 * instead of about fifteen kernels each reading and writing every element. The scalars are rounded to float32 exactly as
 * TF.js rounds them when the generic rule multiplies a tensor by a number, and the
 * arithmetic is the same, so both give the same bits.
 */
const fusedAdam: KernelFunc = ({ inputs, backend, attrs }) => {
  const simd = simdKernels(backend);
  if (simd === undefined) throw new Error("nnc: the fused Adam kernel needs WebAssembly SIMD on the wasm backend's memory");
  const a = attrs as unknown as FusedAdamAttrs;
  const wasm = asWasmBackend(backend);
  const { ws, gs, m, v, sizes } = fusedAdamOperands(inputs, a.count);
  const outs = [...ws.map((w) => wasm.makeOutput(w.shape, "float32")), wasm.makeOutput(m.shape, "float32"), wasm.makeOutput(v.shape, "float32")];
  const at = (t: TensorInfo): number => heapAt(wasm, t); // after the last makeOutput
  const [mAt, vAt, mOut, vOut] = [at(m), at(v), at(outs[a.count]!), at(outs[a.count + 1]!)];
  const f = Math.fround;
  const scalars = [f(a.beta1), f(1 - a.beta1), f(a.beta2), f(1 - a.beta2), f(1 - a.beta1 ** a.t), f(1 - a.beta2 ** a.t), f(a.lr), f(a.epsilon), f(a.lr * a.weightDecay)] as const;
  let offset = 0; // bytes into the flat moments
  ws.forEach((w, i) => {
    const n = sizes[i]!;
    simd.adam(at(w), at(gs[i]!), mAt + offset, vAt + offset, at(outs[i]!), mOut + offset, vOut + offset, n, ...scalars, a.weightDecay !== 0 ? 1 : 0);
    offset += 4 * n;
  });
  return outs;
};

/** `Tanh` in kernels.wat's SIMD polynomial (the stock kernel calls libm per element). */
const tanh: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = input(inputs, "x");
  const simd = x.dtype === "float32" ? simdKernels(backend) : undefined;
  if (simd === undefined) return stockKernel(tf.Tanh)({ inputs, backend, attrs });
  const wasm = asWasmBackend(backend);
  const out = wasm.makeOutput(x.shape, "float32");
  simd.tanh(heapAt(wasm, x), heapAt(wasm, out), sizeOf(x.shape));
  return out;
};

// ---------------------------------------------------------------------------------------
// Registration

/** Kernels added or replaced, and whether each replaces a stock one it is built on. */
const KERNELS: readonly { name: string; kernelFunc: KernelFunc; replaces: boolean }[] = [
  { name: tf.Conv2DBackpropFilter, kernelFunc: conv2DBackpropFilter, replaces: false },
  { name: tf.Conv2DBackpropInput, kernelFunc: conv2DBackpropInput, replaces: true },
  { name: tf.DepthwiseConv2dNativeBackpropInput, kernelFunc: depthwiseConv2dNativeBackpropInput, replaces: false },
  { name: tf.DepthwiseConv2dNativeBackpropFilter, kernelFunc: depthwiseConv2dNativeBackpropFilter, replaces: false },
  { name: tf.MaxPoolGrad, kernelFunc: maxPoolGrad, replaces: true },
  { name: tf.AvgPoolGrad, kernelFunc: avgPoolGrad, replaces: true },
  { name: tf.BatchMatMul, kernelFunc: batchMatMul, replaces: true },
  { name: tf._FusedMatMul, kernelFunc: fusedMatMul, replaces: true },
  { name: tf.Tile, kernelFunc: tile, replaces: true },
  { name: tf.Sum, kernelFunc: sum, replaces: true },
  { name: tf.SplitV, kernelFunc: splitV, replaces: true },
  { name: tf.Identity, kernelFunc: identity, replaces: true },
  { name: tf.Tanh, kernelFunc: tanh, replaces: true },
  ...(SIMD_SUPPORTED ? [{ name: FUSED_ADAM_KERNEL, kernelFunc: fusedAdam, replaces: false }] : []),
];

/** The names of the kernels `registerWasmTrainingKernels` registers for `wasm`. */
export const WASM_TRAINING_KERNELS: readonly string[] = KERNELS.map((k) => k.name);

let registered = false;

/**
 * Registers the kernels above for the `wasm` backend. Call it after importing
 * `@tensorflow/tfjs-backend-wasm` (whose kernels some of these are built on), before or after
 * `tf.setBackend("wasm")`. Calling it again does nothing.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  const missing = KERNELS.filter((k) => k.replaces && tf.getKernel(k.name, BACKEND) === undefined).map((k) => k.name);
  if (missing.length > 0) {
    throw new Error(`nnc: the wasm backend's kernels ${missing.join(", ")} are not registered; import @tensorflow/tfjs-backend-wasm first`);
  }
  for (const k of KERNELS) {
    const old = tf.getKernel(k.name, BACKEND);
    if (old !== undefined) {
      if (k.replaces) stock.set(k.name, old);
      tf.unregisterKernel(k.name, BACKEND);
    }
    const config: tf.KernelConfig = { kernelName: k.name, backendName: BACKEND, kernelFunc: k.kernelFunc };
    // The backend runs a kernel's setup (binding its C++ function) when it starts; a stock
    // kernel that is only reachable through its replacement must still be set up.
    if (k.replaces && old?.setupFunc) config.setupFunc = old.setupFunc;
    if (k.replaces && old?.disposeFunc) config.disposeFunc = old.disposeFunc;
    tf.registerKernel(config);
  }
  tf.registerGradient(fastTileGradient(tf.getGradient(tf.Tile)));
  registered = true;
}
