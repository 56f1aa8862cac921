/**
 * nnc's kernels for TF.js's `webgpu` backend, where the stock ones are wrong or slow (as
 * `../wasm/kernels.ts` does for wasm). Each is compared with the cpu backend in
 * test/webgpu-kernels.test.ts, on lavapipe in CI.
 *
 * - `AddN`: the stock program binds every input as a storage buffer, so more inputs than the
 *   device's `maxStorageBuffersPerShaderStage` − 1 fail validation; here the sum is taken in
 *   groups the device can bind, and those sums summed.
 * - `Conv2DBackpropFilter`: split across workgroups (`conv-filter-grad.ts`) instead of one
 *   thread per filter weight.
 * - `NncFusedAdam` and `NncFusedAdamMasked` (nnc's own, optimizers.ts): the whole Adam/AdamW
 *   step, masked or not, in a few programs (`adam.ts`) instead of a few dozen TF.js kernels.
 *
 * `NNC_WEBGPU_KERNELS=stock` keeps TF.js's speed kernels (to measure what nnc's gain:
 * bench/webgpu-profile.ts); the AddN fix stays, being a fix.
 */

import * as tf from "@tensorflow/tfjs";
import { FUSED_ADAM_KERNEL, FUSED_ADAM_MASKED_KERNEL, type FusedAdamAttrs } from "../../optimizers.js";
import { fusedAdam } from "./adam.js";
import { convFilterGrad } from "./conv-filter-grad.js";
import { deviceLimit } from "./device.js";
import { isWebGpuBackend, type WebGpuBackendLike } from "./program.js";

const BACKEND = "webgpu";

/** The kernels nnc registers for webgpu: the fixes, then the speed kernels unless stock ones were asked for. */
export const WEBGPU_FIXES = ["AddN"] as const;
export const WEBGPU_SPEED_KERNELS = ["Conv2DBackpropFilter", FUSED_ADAM_KERNEL, FUSED_ADAM_MASKED_KERNEL] as const;

/** Whether `NNC_WEBGPU_KERNELS=stock` asks for TF.js's own speed kernels. */
export function stockKernelsWanted(): boolean {
  return (process.env["NNC_WEBGPU_KERNELS"] ?? "").trim().toLowerCase() === "stock";
}

function webgpuBackend(backend: unknown): WebGpuBackendLike {
  if (!isWebGpuBackend(backend)) throw new Error("nnc's webgpu kernels ran on a backend that is not TF.js's WebGPU backend");
  return backend;
}

/** Replaces the registered kernel `name` for webgpu, keeping the stock one for what nnc's does not cover. */
function replace(name: string, make: (stock: tf.KernelFunc) => tf.KernelFunc): void {
  const stock = tf.getKernel(name, BACKEND);
  if (stock === undefined) throw new Error(`TF.js's webgpu backend has no ${name} kernel to replace`);
  if ((stock.kernelFunc as { nnc?: boolean }).nnc) return; // already ours
  const kernelFunc = make(stock.kernelFunc);
  (kernelFunc as { nnc?: boolean }).nnc = true;
  tf.unregisterKernel(name, BACKEND);
  tf.registerKernel({ ...stock, kernelFunc });
}

/** AddN in groups of at most the storage buffers a shader may bind, less one for the output. */
function addN(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = webgpuBackend(args.backend);
    // AddN's inputs are an array (tf.addN passes its list as is).
    let tensors = Object.values(args.inputs as unknown as tf.TensorInfo[]);
    const group = Math.max(2, deviceLimit(backend.device, "maxStorageBuffersPerShaderStage", 8) - 1);
    if (tensors.length <= group) return stock(args);
    const made: tf.TensorInfo[] = [];
    while (tensors.length > group) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < tensors.length; i += group) {
        const part = tensors.slice(i, i + group);
        if (part.length === 1) {
          next.push(part[0]!);
          continue;
        }
        const sum = stock({ ...args, inputs: part as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
        made.push(sum);
        next.push(sum);
      }
      tensors = next;
    }
    const out = stock({ ...args, inputs: tensors as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
    for (const t of made) backend.disposeData(t.dataId);
    return out;
  };
}

interface FilterGradAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  filterShape: [number, number, number, number];
}

function conv2DBackpropFilter(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const attrs = args.attrs as unknown as FilterGradAttrs;
    if (attrs.dataFormat === "NCHW" || x.dtype !== "float32" || dy.dtype !== "float32" || x.shape.length !== 4) return stock(args);
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, "channelsLast");
    return convFilterGrad(webgpuBackend(args.backend), x, dy, {
      xShape: x.shape as [number, number, number, number],
      dyShape: dy.shape as [number, number, number, number],
      filterShape: attrs.filterShape,
      strides: [info.strideHeight, info.strideWidth],
      dilations: [1, 1],
      pads: [info.padInfo.top, info.padInfo.left],
    });
  };
}

/** Registers `name` for webgpu, a kernel TF.js does not have (once). */
function add(name: string, kernelFunc: tf.KernelFunc): void {
  if (tf.getKernel(name, BACKEND) === undefined) tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc });
}

const adamKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => fusedAdam(webgpuBackend(backend), inputs, attrs as unknown as FusedAdamAttrs);

const maskedAdamKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const mask = inputs["mask"];
  if (mask === undefined) throw new Error(`nnc: ${FUSED_ADAM_MASKED_KERNEL} needs its input 'mask'`);
  return fusedAdam(webgpuBackend(backend), inputs, attrs as unknown as FusedAdamAttrs, mask);
};

/**
 * Registers nnc's webgpu kernels (once; later calls do nothing). Call after TF.js's webgpu
 * backend package has registered its own.
 */
export function registerWebGpuKernels(): void {
  replace("AddN", addN);
  if (stockKernelsWanted()) return;
  replace("Conv2DBackpropFilter", conv2DBackpropFilter);
  add(FUSED_ADAM_KERNEL, adamKernel);
  add(FUSED_ADAM_MASKED_KERNEL, maskedAdamKernel);
}
