/**
 * Gradients TensorFlow.js's cpu backend computes wrongly, replaced when the runtime loads
 * (imported by layers.ts, which every generated model and io.ts import); idempotent. Each is
 * compared with a hand-computed gradient and with the wasm backend in runtime-modern-layers.test.ts.
 *
 * - `AvgPoolGrad` divides every window's gradient by KH·KW, while the forward `AvgPool` with
 *   `same` padding divides a border window by the number of inputs it covers (padding is not
 *   counted, as in TensorFlow): every average pool with `same` padding whose windows overhang
 *   the border trained with wrong gradients on cpu. (wasm/kernels.ts fixes the same on wasm.)
 * - `ResizeNearestNeighborGrad` reads dy at the image's batch stride (every sample after the
 *   first gets wrong gradients), and `ResizeBilinearGrad` labels its result [n, w, h, c] (right
 *   values; a non-square input fails "gradient … does not match the shape of the input"): the
 *   gradients of `upsample`. The wasm backend's are right.
 */
import * as tf from "@tensorflow/tfjs";

interface CpuBackend {
  data: { get(dataId: tf.DataId): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** The true gradient of a channels-last average pool: each output's gradient shared by the inputs its window covers. */
export function avgPoolGradValues(dy: ArrayLike<number>, info: tf.backend_util.Conv2DInfo): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dx = new Float32Array(batchSize * inHeight * inWidth * c);
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = Math.max(0, oy * sh - top);
      const y1 = Math.min(inHeight, oy * sh - top + fh);
      for (let ox = 0; ox < outWidth; ox++) {
        const x0 = Math.max(0, ox * sw - left);
        const x1 = Math.min(inWidth, ox * sw - left + fw);
        const count = (y1 - y0) * (x1 - x0);
        if (count <= 0) continue;
        const o = ((b * outHeight + oy) * outWidth + ox) * c;
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) {
            const i = ((b * inHeight + y) * inWidth + x) * c;
            for (let k = 0; k < c; k++) dx[i + k]! += dy[o + k]! / count;
          }
        }
      }
    }
  }
  return dx;
}

/**
 * The gradient of a nearest-neighbour resize (`tf.layers.upSampling2d`, `nearest`): each
 * output pixel's gradient added to the input pixel the forward pass copied, chosen by the cpu
 * backend's forward rule (alignCorners rounds, else floors; half-pixel centres sample at
 * r + ½). `dy` is [n, oh, ow, c] in row-major order; the result is [n, h, w, c].
 */
export function resizeNearestGradValues(dy: ArrayLike<number>, imageShape: readonly number[], dyShape: readonly number[], alignCorners: boolean, halfPixelCenters: boolean): Float32Array {
  const [n, h, w, c] = imageShape as [number, number, number, number];
  const [, oh, ow] = dyShape as [number, number, number, number];
  const source = (o: number, inSize: number, outSize: number): number => {
    const ratio = (alignCorners && outSize > 1 ? inSize - 1 : inSize) / (alignCorners && outSize > 1 ? outSize - 1 : outSize);
    const frac = halfPixelCenters ? ratio * (o + 0.5) : ratio * o;
    const nearest = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    return halfPixelCenters ? Math.max(0, nearest) : nearest;
  };
  const rows = Array.from({ length: oh }, (_, r) => source(r, h, oh));
  const cols = Array.from({ length: ow }, (_, q) => source(q, w, ow));
  const dx = new Float32Array(n * h * w * c);
  let at = 0;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      const rowBase = (b * h + rows[r]!) * w;
      for (let q = 0; q < ow; q++) {
        const to = (rowBase + cols[q]!) * c;
        for (let d = 0; d < c; d++) dx[to + d]! += dy[at++]!;
      }
    }
  }
  return dx;
}

/** Replaces the cpu backend's kernel by `kernelFunc(args, stock)`, once (a replaced kernel is marked). */
function replaceCpuKernel(name: string, kernelFunc: (args: Parameters<tf.KernelFunc>[0], stock: tf.KernelFunc) => tf.TensorInfo): void {
  const stock = tf.getKernel(name, "cpu");
  if (stock === undefined || Reflect.get(stock, "nnc")) return;
  tf.unregisterKernel(name, "cpu");
  const config: tf.KernelConfig = { kernelName: name, backendName: "cpu", kernelFunc: (args) => kernelFunc(args, stock.kernelFunc) };
  Reflect.set(config, "nnc", true);
  tf.registerKernel(config);
}

replaceCpuKernel(tf.AvgPoolGrad, ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const a = attrs as unknown as tf.AvgPoolGradAttrs;
  const cpu = backend as unknown as CpuBackend;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad);
  return cpu.makeTensorInfo(input.shape, "float32", avgPoolGradValues(cpu.data.get(dy.dataId).values, info));
});

replaceCpuKernel(tf.ResizeNearestNeighborGrad, ({ inputs, backend, attrs }) => {
  const { images, dy } = inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const cpu = backend as unknown as CpuBackend;
  const a = attrs as unknown as { alignCorners?: boolean; halfPixelCenters?: boolean };
  const dx = resizeNearestGradValues(cpu.data.get(dy.dataId).values, images.shape, dy.shape, a.alignCorners === true, a.halfPixelCenters === true);
  return cpu.makeTensorInfo(images.shape, "float32", dx);
});

replaceCpuKernel(tf.ResizeBilinearGrad, (args, stock) => {
  const out = stock(args) as tf.TensorInfo;
  const images = args.inputs["images"] as tf.TensorInfo;
  return { ...out, shape: images.shape };
});
