/**
 * The whole Adam/AdamW step of optimizers.ts on WebGPU, in WGSL: `FUSED_ADAM_KERNEL`, and
 * `FUSED_ADAM_MASKED_KERNEL` for a GPU run's masked update (train.ts's `deferredStep`).
 *
 * As TF.js ops, one Adam step over the flat weights is about fifteen elementwise kernels, and
 * the mask (update only if the step may be applied and every new weight is finite) adds a
 * finiteness reduction and a `where` per output, each of which TF.js broadcasts by tiling the
 * scalar condition to the full size first: on the MNIST CNN (3.3 M weights) the tiles and
 * selects alone were 5% of a lavapipe step. Here:
 *
 * 1. the variables and the gradients are concatenated (TF.js's Concat, in groups the device
 *    can bind);
 * 2. masked only: `AdamCheckProgram` works out every new weight and says, per workgroup,
 *    whether all were finite; `AdamKeepProgram` ands those flags with the mask into `keep`;
 * 3. `AdamStepProgram` writes each variable's new weights, then the new m and v: the new value
 *    where `keep` holds (or always, unmasked), the old one where it does not.
 *
 * The arithmetic is the rule's, in its order (as the wasm kernel's):
 *   m' = m·β1 + g·(1−β1);  v' = v·β2 + g²·(1−β2);  u = (m'/d1)·lr / (√(v'/d2) + ε);
 *   w' = w − u, or for AdamW w' = (w − w·lr·wd) − u   (d1 = 1−β1^t, d2 = 1−β2^t);
 * WGSL's division and square root may differ from IEEE's by a few ulps, so results match the
 * cpu backend closely, not bit for bit (test/webgpu-kernels.test.ts).
 */

import * as tf from "@tensorflow/tfjs";
import { fusedAdamOperands, type FusedAdamAttrs } from "../../optimizers.js";
import { flatDispatch, mainHeader, type UniformValue, type WebGpuBackendLike, type WebGpuProgram } from "./program.js";

/** Threads per workgroup of the check and step programs. */
const THREADS = 256;
/** The most workgroups (flags) of the check: enough to fill a large GPU, few for the keep pass to and. */
const CHECK_WORKGROUPS = 512;

/** The Adam constants, as uniforms (shared by the check and the step). */
const ADAM_UNIFORMS = "b1 : f32, omb1 : f32, b2 : f32, omb2 : f32, d1 : f32, d2 : f32, lr : f32, eps : f32, decay : f32, decoupled : i32,";

function adamUniforms(a: FusedAdamAttrs): UniformValue[] {
  const f = (x: number): UniformValue => ({ type: "float32", data: [x] });
  return [f(a.beta1), f(1 - a.beta1), f(a.beta2), f(1 - a.beta2), f(1 - a.beta1 ** a.t), f(1 - a.beta2 ** a.t), f(a.lr), f(a.epsilon), f(a.lr * a.weightDecay), { type: "int32", data: [a.weightDecay !== 0 ? 1 : 0] }];
}

/** What a step program writes: one variable's new weights, or the new m or v. */
type Part = "w" | "m" | "v";

/**
 * WGSL: the new m, v or w of element `j` (the rule's arithmetic, in its order), and a
 * finiteness test no fast-math can fold away. Only what `part` needs, as each program binds
 * only the tensors it reads (the device drops bindings a shader never uses).
 */
function adamFunctions(part: Part): string {
  const m = `
  fn adamM(j : i32) -> f32 {
    return m[j] * uniforms.b1 + g[j] * uniforms.omb1;
  }`;
  const v = `
  fn adamV(j : i32) -> f32 {
    let gj = g[j];
    return v[j] * uniforms.b2 + (gj * gj) * uniforms.omb2;
  }`;
  const w = `
  fn adamW(j : i32) -> f32 {
    let u = ((adamM(j) / uniforms.d1) * uniforms.lr) / (sqrt(adamV(j) / uniforms.d2) + uniforms.eps);
    let wj = w[j];
    if (uniforms.decoupled != 0) {
      return (wj - wj * uniforms.decay) - u;
    }
    return wj - u;
  }
  fn finite(x : f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) < 0x7f800000u;
  }`;
  return part === "m" ? m : part === "v" ? v : m + v + w;
}

/** The tensors the programs for `part` read. */
const PART_INPUTS: Record<Part, string[]> = { w: ["w", "g", "m", "v"], m: ["g", "m"], v: ["g", "v"] };

/** Per workgroup, 1 if every new weight in its share of the n weights is finite, else 0. */
class AdamCheckProgram implements WebGpuProgram {
  variableNames = ["w", "g", "m", "v"];
  outputShape: number[];
  shaderKey = "nncAdamCheck";
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];
  uniforms = `${ADAM_UNIFORMS} total : i32, chunk : i32,`;

  constructor(workgroups: number) {
    this.outputShape = [workgroups];
    this.dispatch = [workgroups, 1, 1];
  }

  getUserCode(): string {
    return `
      var<workgroup> bad : atomic<i32>;
      ${adamFunctions("w")}
      ${mainHeader(true)} {
        let start = i32(workgroupId.x) * uniforms.chunk;
        var ok = true;
        // The trip count comes from uniforms alone, so the barrier below is in uniform control flow.
        let rounds = (uniforms.chunk + ${THREADS - 1}) / ${THREADS};
        for (var r = 0; r < rounds; r++) {
          let k = r * ${THREADS} + i32(localIndex);
          let j = start + k;
          if (k < uniforms.chunk && j < uniforms.total) {
            ok = ok && finite(adamW(j));
          }
        }
        if (!ok) {
          atomicOr(&bad, 1);
        }
        workgroupBarrier();
        if (localIndex == 0u) {
          result[workgroupId.x] = select(1, 0, atomicLoad(&bad) != 0);
        }
      }
    `;
  }
}

/**
 * keep = mask ∧ every flag: whether this step's update is applied (a bool scalar). (The check
 * and this are dispatched flat, so TF.js calls their `main` with an index they do not use.)
 */
class AdamKeepProgram implements WebGpuProgram {
  variableNames = ["flags", "mask"];
  outputShape: number[] = [];
  shaderKey = "nncAdamKeep";
  dispatchLayout = { x: [] as number[] };
  dispatch: [number, number, number] = [1, 1, 1];
  workgroupSize: [number, number, number] = [1, 1, 1];

  getUserCode(): string {
    return `
      ${mainHeader(true)} {
        var keep = mask[0] != 0;
        let count = uniforms.flagsShape;
        for (var i = 0; i < count; i++) {
          keep = keep && flags[i] != 0;
        }
        result[0] = select(0, 1, keep);
      }
    `;
  }
}

/**
 * One output of the step: `size` values from flat position `offset` of the part's new values
 * (where `keep` holds, when masked; the old values where it does not).
 */
class AdamStepProgram implements WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];
  size = true;
  uniforms = `${ADAM_UNIFORMS} offset : i32,`;

  constructor(
    outputShape: readonly number[],
    private readonly part: Part,
    private readonly masked: boolean,
  ) {
    this.variableNames = masked ? [...PART_INPUTS[part], "keep"] : PART_INPUTS[part];
    this.outputShape = [...outputShape];
    this.shaderKey = `nncAdamStep_${part}_${masked ? "masked" : "always"}`;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = flatDispatch(tf.util.sizeFromShape([...outputShape]), THREADS);
  }

  getUserCode(): string {
    const fresh = { w: "adamW(j)", m: "adamM(j)", v: "adamV(j)" }[this.part];
    const value = this.masked ? `select(${this.part}[j], ${fresh}, keep[0] != 0)` : fresh;
    return `
      ${adamFunctions(this.part)}
      ${mainHeader(true)} {
        if (index < uniforms.size) {
          let j = uniforms.offset + index;
          setOutputAtIndex(index, ${value});
        }
      }
    `;
  }
}

/** The stock kernel `name` of the webgpu backend, called directly (its outputs are the caller's to dispose). */
function stockKernel(name: string): tf.KernelFunc {
  const kernel = tf.getKernel(name, "webgpu");
  if (kernel === undefined) throw new Error(`TF.js's webgpu backend has no ${name} kernel`);
  return kernel.kernelFunc;
}

/** `t` seen as a flat vector (the same data; no copy, nothing to dispose). */
function flat(t: tf.TensorInfo): tf.TensorInfo {
  return { dataId: t.dataId, shape: [tf.util.sizeFromShape(t.shape)], dtype: t.dtype };
}

/** The tensors end to end, flat: the one tensor itself (not to be disposed) or a new one. */
function concatFlat(backend: WebGpuBackendLike, tensors: tf.TensorInfo[]): { value: tf.TensorInfo; made: boolean } {
  if (tensors.length === 1) return { value: flat(tensors[0]!), made: false };
  const value = stockKernel("Concat")({ inputs: tensors.map(flat) as unknown as tf.NamedTensorInfoMap, backend: backend as unknown as tf.KernelBackend, attrs: { axis: 0 } }) as tf.TensorInfo;
  return { value, made: true };
}

/**
 * One Adam/AdamW step of every variable (`w0`, `g0`, … as optimizers.ts's fused kernels take
 * them, with the flat `m` and `v`). Returns the new variables, m and v; with `mask` (a bool
 * scalar) also `keep`, and the new values only where `keep` holds.
 */
export function fusedAdam(backend: WebGpuBackendLike, inputs: tf.NamedTensorInfoMap, attrs: FusedAdamAttrs, mask?: tf.TensorInfo): tf.TensorInfo[] {
  const { ws, gs, m, v, sizes, total } = fusedAdamOperands(inputs, attrs.count);
  const W = concatFlat(backend, ws);
  const G = concatFlat(backend, gs);
  const M = flat(m);
  const V = flat(v);
  const constants = adamUniforms(attrs);
  const made: tf.TensorInfo[] = [];
  if (W.made) made.push(W.value);
  if (G.made) made.push(G.value);
  let keep: tf.TensorInfo | undefined;
  if (mask !== undefined) {
    const workgroups = Math.max(1, Math.min(CHECK_WORKGROUPS, Math.ceil(total / (THREADS * 16))));
    const chunk = Math.ceil(total / workgroups);
    const flags = backend.runWebGPUProgram(new AdamCheckProgram(workgroups), [W.value, G.value, M, V], "int32", [...constants, { type: "int32", data: [total] }, { type: "int32", data: [chunk] }]);
    made.push(flags);
    keep = backend.runWebGPUProgram(new AdamKeepProgram(), [flags, mask], "bool");
  }
  const step = (shape: readonly number[], part: Part, offset: number): tf.TensorInfo => {
    const program = new AdamStepProgram(shape, part, keep !== undefined);
    const byName: Record<string, tf.TensorInfo> = { w: W.value, g: G.value, m: M, v: V };
    const programInputs = PART_INPUTS[part].map((name) => byName[name]!);
    if (keep !== undefined) programInputs.push(keep);
    return backend.runWebGPUProgram(program, programInputs, "float32", [...constants, { type: "int32", data: [offset] }]);
  };
  const outs: tf.TensorInfo[] = [];
  let offset = 0;
  ws.forEach((w, i) => {
    outs.push(step(w.shape, "w", offset));
    offset += sizes[i]!;
  });
  outs.push(step(m.shape, "m", 0), step(v.shape, "v", 0));
  for (const t of made) backend.disposeData(t.dataId);
  if (keep !== undefined) outs.push(keep);
  return outs;
}
