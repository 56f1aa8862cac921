/**
 * Gradients TensorFlow.js's cpu backend computes wrongly, replaced when the runtime loads
 * (imported by layers.ts, which every generated model and io.ts import); idempotent. Each is
 * compared with a hand-computed gradient and with the wasm backend in runtime-modern-layers.test.ts.
 *
 * - `AvgPoolGrad` divides every window's gradient by KH·KW, while the forward `AvgPool` with
 *   `same` padding divides a border window by the number of inputs it covers (padding is not
 *   counted, as in TensorFlow): every average pool with `same` padding whose windows overhang
 *   the border trained with wrong gradients on cpu. (wasm-kernels.ts fixes the same on wasm.)
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

function fixCpuAvgPoolGradient(): void {
  const stock = tf.getKernel(tf.AvgPoolGrad, "cpu");
  if (stock === undefined || Reflect.get(stock, "nnc")) return;
  tf.unregisterKernel(tf.AvgPoolGrad, "cpu");
  const config: tf.KernelConfig = {
    kernelName: tf.AvgPoolGrad,
    backendName: "cpu",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
      const a = attrs as unknown as tf.AvgPoolGradAttrs;
      const cpu = backend as unknown as CpuBackend;
      const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad);
      return cpu.makeTensorInfo(input.shape, "float32", avgPoolGradValues(cpu.data.get(dy.dataId).values, info));
    },
  };
  Reflect.set(config, "nnc", true);
  tf.registerKernel(config);
}
fixCpuAvgPoolGradient();
