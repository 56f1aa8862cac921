/**
 * nnc's webgpu kernels (src/runtime/backends/webgpu/) against the cpu backend and plain
 * loops, and the device's error handling. WebGPU runs here on Mesa's lavapipe (a CPU Vulkan
 * driver: `npm run setup-webgpu`), or on a GPU; CI installs lavapipe and sets
 * NNC_REQUIRE_WEBGPU=1, so there these tests run and never skip.
 */
import * as tf from "@tensorflow/tfjs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { backendFailure, selectBackend } from "../src/runtime/backends/select.js";
import { MIN_ROWS, convFilterGrad, planSplits, type FilterGradShape } from "../src/runtime/backends/webgpu/conv-filter-grad.js";
import { clearWebGpuErrors, webgpuFailure } from "../src/runtime/backends/webgpu/device.js";
import { isWebGpuBackend } from "../src/runtime/backends/webgpu/program.js";
import { seededRandom } from "../src/common/random.js";
import { FUSED_ADAM_KERNEL, FUSED_ADAM_MASKED_KERNEL, createOptimizer } from "../src/runtime/optimizers.js";
import type { OptimizerConfig } from "../src/runtime/config.js";
import { train } from "../src/runtime/train.js";
import { ballConfig } from "./runtime-helpers.js";

/** Whether the webgpu backend starts here; the reason when it does not. */
let skipReason: string | undefined;
beforeAll(async () => {
  try {
    await selectBackend("webgpu", () => undefined, { needsConvGradients: true });
  } catch (e) {
    skipReason = e instanceof Error ? e.message : String(e);
    if (process.env["NNC_REQUIRE_WEBGPU"] === "1") throw new Error(`NNC_REQUIRE_WEBGPU=1 but webgpu did not start: ${skipReason}`);
  }
}, 60_000);

afterEach(() => {
  // Any validation or out-of-memory error the device reported fails the test that caused it.
  const failure = webgpuFailure();
  clearWebGpuErrors();
  expect(failure).toBeUndefined();
});

function random(seed: number): () => number {
  const next = seededRandom(seed);
  return () => next() * 2 - 1;
}

function fill(n: number, rnd: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rnd();
  return a;
}

/** dW by plain loops (float64 sums), any stride, dilation and padding. */
function filterGradReference(x: Float32Array, dy: Float32Array, s: FilterGradShape): Float64Array {
  const [b, h, w, ci] = s.xShape;
  const [, oh, ow, co] = s.dyShape;
  const [kh, kw] = s.filterShape;
  const out = new Float64Array(kh * kw * ci * co);
  for (let n = 0; n < b; n++)
    for (let r = 0; r < oh; r++)
      for (let c = 0; c < ow; c++)
        for (let fh = 0; fh < kh; fh++) {
          const ih = r * s.strides[0] + fh * s.dilations[0] - s.pads[0];
          if (ih < 0 || ih >= h) continue;
          for (let fw = 0; fw < kw; fw++) {
            const iw = c * s.strides[1] + fw * s.dilations[1] - s.pads[1];
            if (iw < 0 || iw >= w) continue;
            for (let i = 0; i < ci; i++) {
              const xv = x[((n * h + ih) * w + iw) * ci + i]!;
              const base = ((fh * kw + fw) * ci + i) * co;
              const dyBase = ((n * oh + r) * ow + c) * co;
              for (let o = 0; o < co; o++) out[base + o] += xv * dy[dyBase + o]!;
            }
          }
        }
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let scale = 1e-6;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst / scale, `${what}: max |Δ| ${worst} against max |value| ${scale}`).toBeLessThan(2e-5);
}

/** Runs a kernel on the cpu backend and on webgpu with the same inputs. */
async function onBoth(inputs: Record<string, { shape: number[]; values: Float32Array }>, run: (t: Record<string, tf.Tensor>) => tf.Tensor): Promise<{ cpu: Float32Array; gpu: Float32Array }> {
  const once = async (backend: string): Promise<Float32Array> => {
    await tf.setBackend(backend);
    const ts = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]));
    const out = run(ts);
    const values = (await out.data()) as Float32Array;
    tf.dispose([out, ...Object.values(ts)]);
    return values;
  };
  const cpu = await once("cpu");
  const gpu = await once("webgpu");
  return { cpu, gpu };
}

describe("webgpu Conv2DBackpropFilter (split-K)", () => {
  const rnd = random(16);
  const pick = (lo: number, hi: number): number => lo + Math.floor(((rnd() + 1) / 2) * (hi - lo + 1));
  const cases: { x: number[]; k: number[]; co: number; stride: [number, number]; pad: "same" | "valid" | number }[] = [
    // The MNIST CNN's first conv at batch 8: one tile, many slices.
    { x: [8, 28, 28, 1], k: [5, 5], co: 32, stride: [1, 1], pad: "same" },
    // Tiles cut at both edges (M = 3·3·9 = 81, N = 40), stride 2.
    { x: [3, 11, 13, 9], k: [3, 3], co: 40, stride: [2, 2], pad: "same" },
    { x: [2, 7, 7, 4], k: [1, 1], co: 3, stride: [1, 1], pad: "valid" },
    { x: [1, 5, 9, 2], k: [5, 2], co: 1, stride: [3, 1], pad: 2 },
  ];
  for (let i = 0; i < 8; i++) {
    const k = [pick(1, 5), pick(1, 5)];
    cases.push({ x: [pick(1, 4), pick(k[0]!, 12), pick(k[1]!, 12), pick(1, 9)], k, co: pick(1, 40), stride: [pick(1, 3), pick(1, 3)], pad: (["same", "valid", pick(0, 2)] as const)[pick(0, 2)]! });
  }
  for (const c of cases) {
    it(`matches the cpu backend: x ${c.x.join("x")}, filter ${c.k.join("x")}x${c.co}, stride ${c.stride.join("x")}, pad ${c.pad}`, async (ctx) => {
      if (skipReason) ctx.skip();
      const filterShape = [c.k[0]!, c.k[1]!, c.x[3]!, c.co] as [number, number, number, number];
      const info = tf.backend_util.computeConv2DInfo(c.x as [number, number, number, number], filterShape, c.stride, 1, c.pad);
      const dyShape = [c.x[0]!, info.outHeight, info.outWidth, c.co];
      const x = fill(c.x.reduce((a, b) => a * b), rnd);
      const dy = fill(dyShape.reduce((a, b) => a * b), rnd);
      const { cpu, gpu } = await onBoth({ x: { shape: c.x, values: x }, dy: { shape: dyShape, values: dy } }, (t) =>
        tf.engine().runKernel("Conv2DBackpropFilter", { x: t.x!, dy: t.dy! }, { strides: c.stride, pad: c.pad, dataFormat: "NHWC", filterShape } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
      expectClose(gpu, cpu, "webgpu vs cpu");
    });
  }

  it("trains through tf.grad of conv2d as the cpu backend does, with stride and same padding", async (ctx) => {
    if (skipReason) ctx.skip();
    const x = fill(4 * 10 * 10 * 3, rnd);
    const w = fill(3 * 3 * 3 * 8, rnd);
    const { cpu, gpu } = await onBoth({ x: { shape: [4, 10, 10, 3], values: x }, w: { shape: [3, 3, 3, 8], values: w } }, (t) =>
      tf.grad((wt: tf.Tensor) => tf.conv2d(t.x as tf.Tensor4D, wt as tf.Tensor4D, 2, "same").relu().square().sum())(t.w!),
    );
    expectClose(gpu, cpu, "gradient of the filter");
  });

  // TF.js's Conv2DBackpropFilter has no dilation (its conv2d gradient refuses dilations > 1),
  // but the program takes it: compared with plain loops.
  for (const [dil, strides, pads] of [
    [[2, 2], [1, 1], [2, 2]],
    [[3, 1], [2, 1], [1, 0]],
  ] as const) {
    it(`handles dilation ${dil.join("x")} (stride ${strides.join("x")}, pads ${pads.join(",")}) against plain loops`, async (ctx) => {
      if (skipReason) ctx.skip();
      await tf.setBackend("webgpu");
      const backend = tf.backend();
      if (!isWebGpuBackend(backend)) throw new Error("not the webgpu backend");
      const xShape = [2, 9, 8, 3] as const;
      const filterShape = [3, 3, 3, 5] as const;
      const oh = Math.floor((xShape[1] + 2 * pads[0] - dil[0] * (filterShape[0] - 1) - 1) / strides[0]) + 1;
      const ow = Math.floor((xShape[2] + 2 * pads[1] - dil[1] * (filterShape[1] - 1) - 1) / strides[1]) + 1;
      const shape: FilterGradShape = { xShape, dyShape: [2, oh, ow, 5], filterShape, strides, dilations: dil, pads };
      const x = fill(2 * 9 * 8 * 3, rnd);
      const dy = fill(2 * oh * ow * 5, rnd);
      const xt = tf.tensor(x, [...xShape]);
      const dyt = tf.tensor(dy, [2, oh, ow, 5]);
      const info = convFilterGrad(backend, xt as unknown as tf.TensorInfo, dyt as unknown as tf.TensorInfo, shape);
      const out = tf.engine().makeTensorFromTensorInfo(info);
      expectClose((await out.data()) as Float32Array, filterGradReference(x, dy, shape), "dilated");
      tf.dispose([xt, dyt, out]);
    });
  }

  it("splits a long reduction into slices and a short one not at all", () => {
    const big: FilterGradShape = { xShape: [256, 28, 28, 1], dyShape: [256, 28, 28, 32], filterShape: [5, 5, 1, 32], strides: [1, 1], dilations: [1, 1], pads: [2, 2] };
    const plan = planSplits(big, 2 ** 27);
    expect(plan.splits).toBeGreaterThan(100);
    expect(plan.chunk * plan.splits).toBeGreaterThanOrEqual(256 * 28 * 28);
    expect(plan.chunk).toBeGreaterThanOrEqual(MIN_ROWS);
    const small: FilterGradShape = { xShape: [1, 4, 4, 64], dyShape: [1, 4, 4, 64], filterShape: [3, 3, 64, 64], strides: [1, 1], dilations: [1, 1], pads: [1, 1] };
    expect(planSplits(small, 2 ** 27)).toEqual({ splits: 1, chunk: 32 });
  });
});

describe("webgpu AddN", () => {
  for (const count of [2, 7, 8, 15, 16, 40, 100]) {
    it(`sums ${count} tensors (more than the storage buffers a shader may bind, in groups)`, async (ctx) => {
      if (skipReason) ctx.skip();
      const rnd = random(count);
      const inputs = Object.fromEntries(Array.from({ length: count }, (_, i) => [`t${i}`, { shape: [3, 5], values: fill(15, rnd) }]));
      const { cpu, gpu } = await onBoth(inputs, (t) => tf.addN(Object.keys(inputs).map((k) => t[k]!)));
      expectClose(gpu, cpu, `AddN of ${count}`);
    });
  }
});

describe("webgpu fused Adam/AdamW", () => {
  /** Variables of these shapes with random weights, and `steps` random gradients each (seeded: the same on every backend). */
  const problem = (shapes: number[][], steps: number, seed: number) => {
    const rnd = random(seed);
    const weights = shapes.map((s) => fill(tf.util.sizeFromShape(s), rnd));
    const grads = Array.from({ length: steps }, () => shapes.map((s) => fill(tf.util.sizeFromShape(s), rnd).map((x) => x * 3)));
    return { shapes, weights, grads };
  };

  /** Runs the optimizer on `backend` over the problem's steps; the final weights and slots, flat. */
  const run = async (backend: "cpu" | "webgpu", config: OptimizerConfig, p: ReturnType<typeof problem>, masks?: (boolean | "inf")[]) => {
    await tf.setBackend(backend);
    const vars: Record<string, tf.Variable> = {};
    p.shapes.forEach((s, i) => (vars[`v${i}`] = tf.variable(tf.tensor(p.weights[i]!, s), true, `adam_${backend}_${i}_${Math.random()}`)));
    const opt = createOptimizer(config, 0.01);
    const applied: boolean[] = [];
    for (const [step, gs] of p.grads.entries()) {
      const mask = masks?.[step];
      const grads: Record<string, tf.Tensor> = {};
      gs.forEach((g, i) => {
        const values = mask === "inf" && i === gs.length - 1 ? g.map((x, j) => (j === 0 ? Infinity : x)) : g;
        grads[`v${i}`] = tf.tensor(values, p.shapes[i]!);
      });
      opt.learningRate = 0.01 * (1 + step);
      const keep = opt.applyGradients(vars, grads, mask === undefined ? undefined : tf.scalar(mask !== false, "bool"));
      if (keep !== undefined) applied.push((await keep.data())[0] === 1);
      keep?.dispose();
      tf.dispose(Object.values(grads));
    }
    const state = opt.getState();
    const out = {
      weights: await Promise.all(Object.values(vars).map(async (v) => Array.from(await v.data()))),
      slots: await Promise.all(Object.keys(state.slots).sort().map(async (k) => Array.from(await state.slots[k]!.data()))),
      applied,
    };
    tf.dispose(Object.values(state.slots));
    opt.dispose();
    tf.dispose(Object.values(vars));
    await tf.setBackend("webgpu");
    return out;
  };

  const adam: OptimizerConfig = { name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } };
  const adamw: OptimizerConfig = { name: "adamw", args: { weight_decay: 0.05, beta1: 0.85, beta2: 0.99 } };
  const cases: { name: string; config: OptimizerConfig; shapes: number[][] }[] = [
    { name: "adam, one variable", config: adam, shapes: [[37, 5]] },
    { name: "adam, a conv net's variables", config: adam, shapes: [[5, 5, 1, 8], [8], [3, 3, 8, 16], [16], [784, 10], [10]] },
    { name: "adamw, more variables than a shader may bind", config: adamw, shapes: Array.from({ length: 13 }, (_, i) => (i % 2 === 0 ? [7 + i, 3] : [3])) },
    { name: "adamw, one large variable (many check workgroups)", config: adamw, shapes: [[300_001]] },
  ];

  it("is what webgpu runs for adam and adamw, masked or not", (ctx) => {
    if (skipReason) ctx.skip();
    expect(tf.getKernel(FUSED_ADAM_KERNEL, "webgpu")).toBeDefined();
    expect(tf.getKernel(FUSED_ADAM_MASKED_KERNEL, "webgpu")).toBeDefined();
  });

  for (const c of cases) {
    it(`matches the cpu backend's rule: ${c.name}, unmasked and masked`, async (ctx) => {
      if (skipReason) ctx.skip();
      const p = problem(c.shapes, 3, c.shapes.length * 7 + 1);
      const cpu = await run("cpu", c.config, p);
      const gpu = await run("webgpu", c.config, p);
      const masked = await run("webgpu", c.config, p, [true, true, true]);
      expect(masked.applied).toEqual([true, true, true]);
      for (const got of [gpu, masked]) {
        got.weights.forEach((w, i) => expectClose(w, cpu.weights[i]!, `${c.name}: variable ${i}`));
        got.slots.forEach((s, i) => expectClose(s, cpu.slots[i]!, `${c.name}: slot ${i}`));
      }
    });
  }

  it("leaves weights and moments alone on a step whose mask is false or whose update is not finite", async (ctx) => {
    if (skipReason) ctx.skip();
    for (const config of [adam, adamw]) {
      const p = problem([[4, 3], [3], [9]], 4, 5);
      // Steps 2 and 4 are dropped (mask false; an infinite gradient), as the cpu backend's generic masked step drops them.
      const masks = [true, false, true, "inf"] as const;
      const masked = await run("webgpu", config, p, [...masks]);
      expect(masked.applied).toEqual([true, false, true, false]);
      const kept = await run("cpu", config, p, [...masks]);
      expect(kept.applied).toEqual([true, false, true, false]);
      masked.weights.forEach((w, i) => expectClose(w, kept.weights[i]!, `${config.name}: variable ${i}`));
      masked.slots.forEach((s, i) => expectClose(s, kept.slots[i]!, `${config.name}: slot ${i}`));
    }
  });
});

describe("webgpu errors", () => {
  it("are kept, not printed, and make backendFailure say what happened", async (ctx) => {
    if (skipReason) ctx.skip();
    await tf.setBackend("webgpu");
    const backend = tf.backend();
    if (!isWebGpuBackend(backend)) throw new Error("not the webgpu backend");
    const device = backend.device as unknown as { createBuffer(d: { size: number; usage: number }): unknown };
    device.createBuffer({ size: 3, usage: 0xffffff }); // no such usage: a validation error
    await backend.device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 50));
    expect(webgpuFailure()).toMatch(/^WebGPU reported an error: GPUValidationError: .*usage/i);
    expect(backendFailure()).toBe(webgpuFailure());
    clearWebGpuErrors();
    expect(backendFailure()).toBeUndefined();
  });
});

describe("training on webgpu", () => {
  /** A small MLP with more than 15 variables (the gradient sum is an AddN past the default limit). */
  const mlp = (seed: number): tf.LayersModel => {
    const input = tf.input({ shape: [10] });
    let h = input as tf.SymbolicTensor;
    for (let i = 0; i < 9; i++) h = tf.layers.dense({ units: 12, activation: "tanh", kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }) }).apply(h) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 1, activation: "sigmoid", kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 99 }) }).apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  };
  const config = ballConfig({ data: { source: "ball", dims: 10, n: 256, test: 0 }, epochs: 2, batch: 32 });

  it("gives the cpu backend's losses and accuracies, epoch by epoch", async (ctx) => {
    if (skipReason) ctx.skip();
    const onCpu = await train(mlp, config, { backend: "cpu", noSave: true, log: () => {} });
    const onGpu = await train(mlp, config, { backend: "webgpu", noSave: true, log: () => {} });
    expect(onGpu.history.length).toBe(2);
    for (const [g, c] of onGpu.history.map((r, i) => [r, onCpu.history[i]!] as const)) {
      expect(g.loss).toBeGreaterThan(0);
      expect(Math.abs(g.loss - c.loss)).toBeLessThan(1e-5);
      expect(Math.abs((g.acc ?? NaN) - (c.acc ?? NaN))).toBeLessThan(1e-6);
    }
  });

  it("stops with a message naming the error when the device reports one mid-run", async (ctx) => {
    if (skipReason) ctx.skip();
    let provoked = false;
    const attempt = train(mlp, { ...config, epochs: 3 }, {
      backend: "webgpu",
      noSave: true,
      log: (line) => {
        // After the backend has started, before the first step (epoch records go to stdout).
        if (provoked || !line.startsWith("seed")) return;
        provoked = true;
        const backend = tf.backend();
        if (isWebGpuBackend(backend)) (backend.device as unknown as { createBuffer(d: { size: number; usage: number }): unknown }).createBuffer({ size: 3, usage: 0xffffff });
      },
    });
    await expect(attempt).rejects.toThrow(/^Training stopped in epoch 1, batch \d+ on the webgpu backend: WebGPU reported an error: GPUValidationError: .*Hint: --backend wasm/s);
    expect(provoked).toBe(true);
    clearWebGpuErrors();
  });
});
