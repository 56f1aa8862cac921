/**
 * The WebGPU device nnc trains on, and what it reports.
 *
 * TF.js's own factory for the `webgpu` backend asks Dawn for a device with six raised limits
 * and leaves the rest at WebGPU's defaults, among them 8 storage buffers per shader stage:
 * its `AddN` program binds one buffer per input, so a sum of more than 7 tensors (the
 * training step's sum of every gradient, weight decay over every kernel) failed validation,
 * and Dawn printed the error and went on with the command buffer discarded: the step's loss,
 * accuracy and gradient sum were never computed. nnc registers its own factory instead: the
 * same device, with every limit TF.js's kernels and nnc's depend on raised to what the
 * adapter supports (`kernels.ts` also splits an `AddN` over the device's limit), and a
 * handler for uncaptured errors, so that a validation error, an out-of-memory error or a
 * lost device is kept here and stops the run with a message (`webgpuFailure`) instead of
 * scrolling past while the numbers go wrong.
 */

import type * as tf from "@tensorflow/tfjs";

/** The least of Dawn's GPU objects this module touches. */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<unknown>;
}
interface AdapterLike {
  features: { has(name: string): boolean };
  limits: Record<string, unknown>;
  info?: unknown;
  requestDevice(descriptor: { requiredFeatures?: string[]; requiredLimits?: Record<string, number> }): Promise<DeviceLike>;
}
export interface DeviceLike {
  limits: Record<string, unknown>;
  features: { has(name: string): boolean };
  onuncapturederror: ((event: UncapturedErrorEvent) => void) | null;
  lost?: Promise<{ reason?: string; message?: string }>;
  queue: { onSubmittedWorkDone(): Promise<void> };
}
interface UncapturedErrorEvent {
  error?: { message?: string; constructor?: { name?: string } };
  preventDefault?(): void;
}
/** `WebGPUBackend` of @tensorflow/tfjs-backend-webgpu: `new WebGPUBackend(device, adapterInfo)`. */
export type WebGpuBackendClass = new (device: DeviceLike, adapterInfo?: unknown) => tf.KernelBackend;

/**
 * The limits raised to the adapter's: TF.js's six (workgroup storage and counts, buffer
 * sizes) and the storage buffers a shader stage may bind (AddN, Concat, nnc's fused optimizer
 * steps bind one per tensor).
 */
export const RAISED_LIMITS = [
  "maxComputeWorkgroupStorageSize",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupSizeX",
  "maxComputeInvocationsPerWorkgroup",
  "maxStorageBuffersPerShaderStage",
] as const;

/** What went wrong on the device, kept until `clearWebGpuErrors`. */
interface Failures {
  count: number;
  first?: string;
  lost?: string;
}
const failures: Failures = { count: 0 };

/** The first line of a Dawn message and the operation it names ("While calling …"). */
function shortMessage(message: string): string {
  const lines = message.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const head = lines[0] ?? "(no message)";
  const where = lines.find((l) => /^- While (calling|encoding|validating \[ComputePipelineDescriptor|calling \[Device\]\.CreateComputePipeline)/.test(l));
  return where && where !== head ? `${head.replace(/\.$/, "")} (${where.replace(/^- While/, "while")})` : head;
}

/** Keeps the device's uncaptured errors and its loss here, and stops Dawn printing them. */
export function watchDevice(device: DeviceLike): void {
  device.onuncapturederror = (event) => {
    event.preventDefault?.();
    const kind = event.error?.constructor?.name ?? "GPUError";
    failures.count++;
    if (failures.first === undefined) failures.first = `${kind}: ${shortMessage(event.error?.message ?? "")}`;
  };
  void device.lost?.then((info) => {
    if (info.reason === "destroyed") return;
    failures.lost = shortMessage(info.message ?? info.reason ?? "unknown reason");
  });
}

/**
 * Why results computed on the device can no longer be trusted, in words, or undefined while
 * it has reported nothing.
 */
export function webgpuFailure(): string | undefined {
  if (failures.lost !== undefined) return `the WebGPU device was lost: ${failures.lost}`;
  if (failures.count === 0) return undefined;
  const more = failures.count > 1 ? ` (and ${failures.count - 1} more error${failures.count > 2 ? "s" : ""})` : "";
  return `WebGPU reported an error${more}: ${failures.first}`;
}

/** Forgets the errors reported so far (a test that provoked one on purpose). */
export function clearWebGpuErrors(): void {
  failures.count = 0;
  failures.first = undefined;
}

/** The device's limit `name`, or `fallback` when it does not say. */
export function deviceLimit(device: DeviceLike, name: string, fallback: number): number {
  const value = device.limits[name];
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

/**
 * A factory for TF.js's `webgpu` backend: asks `gpu` for a high-performance adapter, then a
 * device with `RAISED_LIMITS` at the adapter's values (and timestamp queries where offered,
 * for `tf.profile`), watched by `watchDevice`.
 */
export function webgpuBackendFactory(gpu: GpuLike, Backend: WebGpuBackendClass): () => Promise<tf.KernelBackend> {
  return async () => {
    const adapter = (await gpu.requestAdapter({ powerPreference: "high-performance" })) as AdapterLike | null;
    if (adapter == null) throw new Error("WebGPU found no adapter");
    const requiredLimits: Record<string, number> = {};
    for (const name of RAISED_LIMITS) {
      const value = adapter.limits[name];
      if (typeof value === "number" && Number.isFinite(value)) requiredLimits[name] = value;
    }
    const requiredFeatures = adapter.features.has("timestamp-query") ? ["timestamp-query"] : [];
    const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
    watchDevice(device);
    return new Backend(device, adapter.info);
  };
}
