/**
 * The least of @tensorflow/tfjs-backend-webgpu's program interface nnc's WGSL kernels use.
 *
 * A program is an object the backend compiles once per `shaderKey` (plus the ranks and dtypes
 * of its tensors) and dispatches: TF.js prepends the bindings — `result` (the output, an
 * `array<f32>`), one read-only `array<f32>` per name in `variableNames`, and `uniforms` with
 * every tensor's shape (`uniforms.xShape`, …), the output's (`uniforms.outShape`), `size` when
 * `size` is set, and the fields of `uniforms` in the order the data is passed — and helpers
 * (`getGlobalIndex`, `setOutputAtIndex`, …). `getUserCode` gives the rest, with `main` as its
 * entry (`fn main()` when the dispatch is 3-D, `fn main(index : i32)` when flat).
 */

import type * as tf from "@tensorflow/tfjs";
import type { DeviceLike } from "./device.js";

export interface WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  size?: boolean;
  getUserCode(): string;
}

export interface UniformValue {
  type: "int32" | "float32" | "uint32";
  data: number[];
}

/** The WebGPU backend object (`tf.backend()` while `webgpu` is active), as far as nnc uses it. */
export interface WebGpuBackendLike {
  device: DeviceLike;
  runWebGPUProgram(program: WebGpuProgram, inputs: tf.TensorInfo[], outputDtype: tf.DataType, uniforms?: UniformValue[], output?: tf.TensorInfo): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

export function isWebGpuBackend(value: unknown): value is WebGpuBackendLike {
  return typeof value === "object" && value !== null && typeof (value as { runWebGPUProgram?: unknown }).runWebGPUProgram === "function" && typeof (value as { device?: unknown }).device === "object";
}

/** The entry point line TF.js expects: `fn main()` for a 3-D dispatch, `fn main(index : i32)` for a flat one. */
export function mainHeader(flat: boolean): string {
  return flat ? "fn main(index : i32)" : "fn main()";
}

/** Workgroups along x for a flat dispatch of `size` threads, `per` threads a workgroup. */
export function flatDispatch(size: number, per: number): [number, number, number] {
  return [Math.max(1, Math.ceil(size / per)), 1, 1];
}
