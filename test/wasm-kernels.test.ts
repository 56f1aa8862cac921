/**
 * The wasm backend's training kernels (src/runtime/backends/wasm/kernels.ts) against the cpu backend:
 * every registered kernel on seeded random inputs across shapes, strides, paddings, batch
 * sizes and transposes; gradients end to end through every layer kind and optimizer of the
 * language; and a short training run on wasm whose loss falls.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { backendCanTrain, selectBackend } from "../src/runtime/backends/select.js";
import type { OptimizerConfig, TrainConfig } from "../src/runtime/config.js";
import { activationLayer, channelwisePrelu, dilatedConv2d, groupNorm } from "../src/runtime/layers.js";
import { createOptimizer } from "../src/runtime/optimizers.js";
import { train } from "../src/runtime/train.js";
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from "../src/runtime/backends/wasm/kernels.js";

beforeAll(async () => {
  // Loads @tensorflow/tfjs-backend-wasm and registers the kernels, as `nnc train` does.
  const chosen = await selectBackend("wasm", () => undefined, { needsConvGradients: true });
  expect(chosen.name).toBe("wasm");
  await tf.setBackend("cpu");
});

/** Deterministic pseudo-random float32 values in [lo, hi). */
function numbers(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (s / 2 ** 32) * (hi - lo);
  }
  return out;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

let seed = 1;
/** A tensor of seeded random values, made on the backend that is current when it is called. */
function rand(shape: number[], lo = -1, hi = 1): () => tf.Tensor {
  const values = numbers(sizeOf(shape), seed++, lo, hi);
  return () => tf.tensor(values, shape);
}

interface Result {
  shape: number[];
  values: Float32Array;
}

/** Runs `f` on cpu, then on wasm; returns each tensor's shape and values. */
async function onBoth(f: () => tf.Tensor[]): Promise<{ cpu: Result[]; wasm: Result[] }> {
  const out: Record<string, Result[]> = {};
  for (const backend of ["cpu", "wasm"]) {
    await tf.setBackend(backend);
    const tensors = tf.tidy(f);
    out[backend] = tensors.map((t) => ({ shape: t.shape, values: Float32Array.from(t.dataSync()) }));
    tf.dispose(tensors);
  }
  await tf.setBackend("cpu");
  return { cpu: out["cpu"]!, wasm: out["wasm"]! };
}

/** Largest difference relative to the largest magnitude in `expected` (or 1 if that is smaller). */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  let scale = 1e-3;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    const d = Math.abs(actual[i]! - expected[i]!);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
  }
  return diff / scale;
}

function expectSame(actual: Result[], expected: Result[], labels: string[], tolerance = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  const bad: string[] = [];
  expected.forEach((e, i) => {
    const a = actual[i]!;
    if (a.shape.join() !== e.shape.join()) bad.push(`${labels[i]}: shape [${a.shape}] instead of [${e.shape}]`);
    else {
      const error = relativeError(a.values, e.values);
      if (!(error <= tolerance)) bad.push(`${labels[i]}: relative error ${error.toExponential(2)}`);
    }
  });
  expect(bad).toEqual([]);
}

function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: Record<string, unknown>): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
}

// ---------------------------------------------------------------------------------------

describe("registerWasmTrainingKernels", () => {
  it("lets the wasm backend train conv nets", () => {
    expect(backendCanTrain("wasm", true)).toEqual({ ok: true });
    for (const name of WASM_TRAINING_KERNELS) expect(tf.getKernel(name, "wasm"), name).toBeDefined();
  });

  it("can be called again without wrapping its kernels twice", async () => {
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    // A wrapped wrapper would call itself for a transposed product.
    const a = rand([3, 4]);
    const b = rand([5, 4]);
    const r = await onBoth(() => [tf.matMul(a(), b(), false, true)]);
    expectSame(r.wasm, r.cpu, ["a·bᵀ"]);
  });
});

// ---------------------------------------------------------------------------------------

interface ConvCase {
  label: string;
  x: number[];
  filter: number[];
  strides: number;
  pad: "valid" | "same" | [[number, number], [number, number], [number, number], [number, number]];
}

function convCases(): ConvCase[] {
  const cases: ConvCase[] = [];
  for (const batch of [1, 3]) {
    for (const [h, w] of [
      [7, 7],
      [8, 9],
    ] as const) {
      for (const [kh, kw] of [
        [1, 1],
        [2, 2],
        [3, 3],
        [5, 4],
      ] as const) {
        for (const strides of [1, 2, 3]) {
          for (const pad of ["valid", "same"] as const) {
            const [cin, cout] = batch === 1 ? [1, 4] : [3, 2];
            cases.push({ label: `x ${batch}x${h}x${w}x${cin}, filter ${kh}x${kw}x${cin}x${cout}, stride ${strides}, ${pad}`, x: [batch, h, w, cin], filter: [kh, kw, cin, cout], strides, pad });
          }
        }
      }
    }
  }
  cases.push({ label: "explicit padding", x: [2, 6, 7, 3], filter: [3, 2, 3, 2], strides: 2, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] });
  return cases;
}

describe("convolution gradients match the cpu backend", () => {
  const cases = convCases();

  it(`Conv2DBackpropFilter, ${cases.length} cases: strides 1–3, valid/same/explicit, odd and even sizes, batch 1 and 3`, async () => {
    const made = cases.map((c) => {
      const outShape = tf.backend_util.computeConv2DInfo(c.x as [number, number, number, number], c.filter as [number, number, number, number], c.strides, 1, c.pad).outShape;
      return { x: rand(c.x), dy: rand(outShape) };
    });
    const r = await onBoth(() => cases.map((c, i) => runKernel("Conv2DBackpropFilter", { x: made[i]!.x(), dy: made[i]!.dy() }, { strides: c.strides, pad: c.pad, dataFormat: "NHWC", filterShape: c.filter })));
    expectSame(r.wasm, r.cpu, cases.map((c) => c.label));
  });

  it(`Conv2DBackpropInput, ${cases.length} cases`, async () => {
    const made = cases.map((c) => {
      const outShape = tf.backend_util.computeConv2DInfo(c.x as [number, number, number, number], c.filter as [number, number, number, number], c.strides, 1, c.pad).outShape;
      return { filter: rand(c.filter), dy: rand(outShape) };
    });
    const r = await onBoth(() => cases.map((c, i) => runKernel("Conv2DBackpropInput", { dy: made[i]!.dy(), filter: made[i]!.filter() }, { strides: c.strides, pad: c.pad, dataFormat: "NHWC", inputShape: c.x })));
    expectSame(r.wasm, r.cpu, cases.map((c) => c.label));
  });

  it("dilated convolutions (dilation 2), forward and through the runtime's dilated conv layer", async () => {
    const x = rand([2, 9, 8, 3]);
    const f = rand([3, 3, 3, 4]);
    const labels: string[] = [];
    const r = await onBoth(() => {
      const out: tf.Tensor[] = [];
      for (const pad of ["valid", "same"] as const) {
        out.push(tf.conv2d(x() as tf.Tensor4D, f() as tf.Tensor4D, 1, pad, "NHWC", 2));
        labels.push(`conv2d dilation 2 ${pad}`);
        const layer = dilatedConv2d({ filters: 4, kernelSize: [3, 3], strides: [1, 1], padding: pad, dilationRate: [2, 2], kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) });
        const input = x();
        layer.build(input.shape);
        const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
        const { value, grads } = tf.variableGrads(() => (layer.apply(input) as tf.Tensor).square().sum() as tf.Scalar, weights);
        out.push(value, ...weights.map((w) => grads[w.name]!));
        labels.push(`dilated layer ${pad}: loss`, `kernel gradient`, `bias gradient`);
        tf.dispose(weights);
      }
      return out;
    });
    expectSame(r.wasm, r.cpu, labels);
  });
});

// ---------------------------------------------------------------------------------------

interface DepthwiseCase {
  label: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number;
  pad: "valid" | "same";
}

function depthwiseCases(): DepthwiseCase[] {
  const cases: DepthwiseCase[] = [];
  for (const [batch, h, w, c] of [
    [1, 7, 7, 3],
    [3, 8, 9, 4],
    [2, 5, 6, 1],
  ] as const) {
    for (const [kh, kw] of [
      [1, 1],
      [3, 3],
      [5, 2],
    ] as const) {
      for (const strides of [1, 2, 3]) {
        for (const pad of ["valid", "same"] as const) {
          for (const m of [1, 2]) {
            if (pad === "valid" && (kh > h || kw > w)) continue;
            cases.push({ label: `x ${batch}x${h}x${w}x${c}, filter ${kh}x${kw}x${c}x${m}, stride ${strides}, ${pad}`, x: [batch, h, w, c], filter: [kh, kw, c, m], strides, pad });
          }
        }
      }
    }
  }
  return cases;
}

describe("depthwise convolution gradients (missing in the wasm backend) match the cpu backend", () => {
  const cases = depthwiseCases();
  const outShape = (c: DepthwiseCase): [number, number, number, number] => tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, undefined, true).outShape;

  it(`DepthwiseConv2dNativeBackpropInput, ${cases.length} cases: strides 1–3, valid/same, multiplier 1 and 2, batch 1–3`, async () => {
    const made = cases.map((c) => ({ filter: rand(c.filter), dy: rand(outShape(c)) }));
    const r = await onBoth(() => cases.map((c, i) => runKernel("DepthwiseConv2dNativeBackpropInput", { dy: made[i]!.dy(), filter: made[i]!.filter() }, { strides: c.strides, pad: c.pad, dilations: 1, inputShape: c.x })));
    expectSame(r.wasm, r.cpu, cases.map((c) => c.label));
  });

  it(`DepthwiseConv2dNativeBackpropFilter, ${cases.length} cases`, async () => {
    const made = cases.map((c) => ({ x: rand(c.x), dy: rand(outShape(c)) }));
    const r = await onBoth(() => cases.map((c, i) => runKernel("DepthwiseConv2dNativeBackpropFilter", { x: made[i]!.x(), dy: made[i]!.dy() }, { strides: c.strides, pad: c.pad, dilations: 1, filterShape: c.filter })));
    expectSame(r.wasm, r.cpu, cases.map((c) => c.label));
  });

  it("through tf.grads of depthwise and separable convolutions, strides 1 and 2", async () => {
    const x = rand([2, 9, 8, 3]);
    const dw = rand([3, 3, 3, 2]);
    const pw = rand([1, 1, 6, 4]);
    const labels: string[] = [];
    const r = await onBoth(() =>
      ([1, 2] as const).flatMap((stride) =>
        (["valid", "same"] as const).flatMap((pad) => {
          labels.push(`depthwise s${stride} ${pad}: dx`, "dw", `separable s${stride} ${pad}: dx`, "depthwise filter", "pointwise filter");
          const depth = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad).square().sum())([x(), dw()]);
          const sep = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.separableConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, stride, pad).square().sum())([x(), dw(), pw()]);
          return [...depth, ...sep];
        }),
      ),
    );
    expectSame(r.wasm, r.cpu, labels);
  });
});

// ---------------------------------------------------------------------------------------

describe("upsampling gradients", () => {
  const cases: { label: string; x: [number, number, number, number]; size: [number, number]; alignCorners: boolean }[] = [
    { label: "1x4x4x3 ×2", x: [1, 4, 4, 3], size: [8, 8], alignCorners: false },
    { label: "3x4x5x2 ×2 (batch > 1, not square)", x: [3, 4, 5, 2], size: [8, 10], alignCorners: false },
    { label: "2x3x5x4 ×3×2", x: [2, 3, 5, 4], size: [9, 10], alignCorners: false },
    { label: "2x3x4x1 to 7x5, align corners", x: [2, 3, 4, 1], size: [7, 5], alignCorners: true },
  ];

  it(`match the cpu backend (its nearest and bilinear gradients fixed by layers.ts), ${cases.length} cases each`, async () => {
    const made = cases.map((c) => ({ x: rand(c.x), dy: rand([c.x[0], c.size[0], c.size[1], c.x[3]]) }));
    const r = await onBoth(() =>
      cases.flatMap((c, i) => [
        tf.grad((t: tf.Tensor) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, c.size, c.alignCorners).mul(made[i]!.dy()).sum())(made[i]!.x()),
        tf.grad((t: tf.Tensor) => tf.image.resizeBilinear(t as tf.Tensor4D, c.size, c.alignCorners).mul(made[i]!.dy()).sum())(made[i]!.x()),
      ]),
    );
    expectSame(r.wasm, r.cpu, cases.flatMap((c) => [`nearest ${c.label}`, `bilinear ${c.label}`]));
  });

  it("of nearest upsampling by whole factors is the sum over each block, on both backends", async () => {
    const x = rand([3, 4, 5, 2]);
    const dy = rand([3, 8, 15, 2]);
    const r = await onBoth(() => [
      tf.grad((t: tf.Tensor) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [8, 15]).mul(dy()).sum())(x()),
      tf.sum(tf.reshape(dy(), [3, 4, 2, 5, 3, 2]), [2, 4]),
    ]);
    expectSame([r.cpu[0]!], [r.cpu[1]!], ["cpu"]);
    expectSame([r.wasm[0]!], [r.cpu[1]!], ["wasm"]);
  });
});

// ---------------------------------------------------------------------------------------

interface PoolCase {
  label: string;
  x: number[];
  size: number;
  strides: number;
  pad: "valid" | "same";
}

function poolCases(): PoolCase[] {
  const cases: PoolCase[] = [];
  for (const batch of [1, 3]) {
    for (const [h, w] of [
      [6, 6],
      [7, 9],
    ] as const) {
      for (const size of [2, 3]) {
        for (const strides of [1, 2, 3]) {
          for (const pad of ["valid", "same"] as const) {
            cases.push({ label: `x ${batch}x${h}x${w}x${batch + 1}, pool ${size}, stride ${strides}, ${pad}`, x: [batch, h, w, batch + 1], size, strides, pad });
          }
        }
      }
    }
  }
  return cases;
}

describe("pooling gradients", () => {
  const cases = poolCases();

  for (const [what, lo, hi, ties] of [
    ["values around zero", -1, 1, false],
    ["every value negative", -5, -1, false],
    ["ties (values on a coarse grid)", -1, 1, true],
  ] as const) {
    it(`MaxPoolGrad matches the cpu backend, ${cases.length} cases with ${what}`, async () => {
      const made = cases.map((c) => {
        const values = numbers(sizeOf(c.x), seed++, lo, hi).map((v) => (ties ? Math.round(v * 2) / 2 : v));
        const outShape = tf.backend_util.computePool2DInfo(c.x as [number, number, number, number], c.size, c.strides, 1, c.pad).outShape;
        return { x: () => tf.tensor(values, c.x), dy: rand(outShape) };
      });
      const r = await onBoth(() =>
        cases.map((c, i) => {
          const x = made[i]!.x() as tf.Tensor4D;
          const dy = made[i]!.dy() as tf.Tensor4D;
          // Through the gradient, as training reaches it (MaxPool's gradient calls MaxPoolGrad).
          return tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, c.size, c.strides, c.pad).mul(dy).sum())(x);
        }),
      );
      expectSame(r.wasm, r.cpu, cases.map((c) => c.label));
    });
  }

  it("MaxPoolGrad sends the gradient to a window's maximum when that maximum is negative", async () => {
    // The stock wasm kernel starts its running maximum at the smallest positive float.
    const r = await onBoth(() => [tf.grad((x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, 2, 2, "valid").sum())(tf.tensor4d([-3, -1, -2, -4], [1, 2, 2, 1]))]);
    expect(Array.from(r.cpu[0]!.values)).toEqual([0, 1, 0, 0]);
    expect(Array.from(r.wasm[0]!.values)).toEqual([0, 1, 0, 0]);
  });

  it(`AvgPoolGrad matches the cpu backend where no window covers padding, ${cases.filter((c) => c.pad === "valid").length} cases`, async () => {
    const valid = cases.filter((c) => c.pad === "valid");
    const made = valid.map((c) => ({ x: rand(c.x), dy: rand(tf.backend_util.computePool2DInfo(c.x as [number, number, number, number], c.size, c.strides, 1, c.pad).outShape) }));
    const r = await onBoth(() => valid.map((c, i) => tf.grad((t: tf.Tensor) => tf.avgPool(t as tf.Tensor4D, c.size, c.strides, c.pad).mul(made[i]!.dy()).sum())(made[i]!.x())));
    expectSame(r.wasm, r.cpu, valid.map((c) => c.label));
  });

  it(`AvgPoolGrad is the true gradient of the forward pass with same padding, ${cases.filter((c) => c.pad === "same").length} cases`, async () => {
    // The forward pass divides a border window by the inputs it covers; TF.js's AvgPoolGrad (cpu
    // and stock wasm) divides by the window's size. The reference, on cpu: the same average
    // as a depthwise convolution with a ones filter divided by the count of covered inputs.
    const same = cases.filter((c) => c.pad === "same");
    const made = same.map((c) => ({ x: rand(c.x), dy: rand(tf.backend_util.computePool2DInfo(c.x as [number, number, number, number], c.size, c.strides, 1, c.pad).outShape) }));
    const averages = (c: PoolCase, x: tf.Tensor4D): tf.Tensor => {
      const ones = tf.ones([c.size, c.size, c.x[3]!, 1]) as tf.Tensor4D;
      const count = tf.depthwiseConv2d(tf.onesLike(x), ones, c.strides, c.pad);
      return tf.depthwiseConv2d(x, ones, c.strides, c.pad).div(count);
    };
    await tf.setBackend("cpu");
    const reference = same.map((c, i) =>
      tf.tidy(() => {
        const x = made[i]!.x() as tf.Tensor4D;
        expect(relativeError(averages(c, x).dataSync() as Float32Array, tf.avgPool(x, c.size, c.strides, c.pad).dataSync() as Float32Array)).toBeLessThan(1e-5);
        const g = tf.grad((t: tf.Tensor) => averages(c, t as tf.Tensor4D).mul(made[i]!.dy()).sum())(x);
        return { shape: g.shape, values: Float32Array.from(g.dataSync()) };
      }),
    );
    const r = await onBoth(() => same.map((c, i) => tf.grad((t: tf.Tensor) => tf.avgPool(t as tf.Tensor4D, c.size, c.strides, c.pad).mul(made[i]!.dy()).sum())(made[i]!.x())));
    expectSame(r.wasm, reference, same.map((c) => c.label));
  });
});

// ---------------------------------------------------------------------------------------

describe("matrix products with transposed operands match the cpu backend", () => {
  const shapes: [string, number[], number[]][] = [
    ["5x7 · 7x3", [5, 7], [7, 3]],
    ["64x33 · 33x17", [64, 33], [33, 17]],
    ["4x50 · 50x300 (a small left operand)", [4, 50], [50, 300]],
    ["300x6 · 6x5 (a large left operand)", [300, 6], [6, 5]],
    ["32x100 · 100x100 (a BLOCK MLP layer: nnc's SIMD matmul)", [32, 100], [100, 100]],
    ["64x600 · 600x100 (past SMALL_MATMUL_MAX: XNNPACK)", [64, 600], [600, 100]],
    ["2x20000 · 20000x3 (narrow, past SMALL_NARROW_MAX: XNNPACK)", [2, 20000], [20000, 3]],
    ["batched 3x5x7 · 3x7x4", [3, 5, 7], [3, 7, 4]],
    ["broadcast 1x5x7 · 3x7x4", [1, 5, 7], [3, 7, 4]],
  ];
  const swap = (s: number[]): number[] => [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!];
  const cases = shapes.flatMap(([label, a, b]) =>
    [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ].map(([tA, tB]) => ({ label: `${label}, transposeA ${tA}, transposeB ${tB}`, a: rand(tA ? swap(a) : a), b: rand(tB ? swap(b) : b), tA: tA!, tB: tB!, bias: rand([b[b.length - 1]!]) })),
  );

  it(`BatchMatMul, ${cases.length} cases`, async () => {
    const r = await onBoth(() => cases.map((c) => tf.matMul(c.a(), c.b(), c.tA, c.tB)));
    expectSame(r.wasm, r.cpu, cases.map((c) => c.label));
  });

  it(`_FusedMatMul with a bias and relu, ${cases.length} cases`, async () => {
    const r = await onBoth(() => cases.map((c) => tf.fused.matMul({ a: c.a(), b: c.b(), transposeA: c.tA, transposeB: c.tB, bias: c.bias(), activation: "relu" })));
    expectSame(r.wasm, r.cpu, cases.map((c) => c.label));
  });

  it("_FusedMatMul with every activation, one product and batched", async () => {
    const activations = ["linear", "relu", "relu6", "elu", "sigmoid", "leakyrelu", "prelu"] as const;
    const operands = [
      { label: "5x7 · 4x7 (transposeB)", a: rand([5, 7]), b: rand([4, 7]), tB: true },
      { label: "batched 3x5x7 · 3x7x4", a: rand([3, 5, 7]), b: rand([3, 7, 4]), tB: false },
    ];
    const bias = rand([4]);
    const slopes = rand([4], 0, 0.5);
    const labels = operands.flatMap((o) => activations.map((act) => `${o.label}, ${act}`));
    const r = await onBoth(() =>
      operands.flatMap((o) =>
        activations.map((activation) =>
          tf.fused.matMul({ a: o.a(), b: o.b(), transposeB: o.tB, bias: bias(), activation, leakyreluAlpha: 0.3, ...(activation === "prelu" ? { preluActivationWeights: slopes() } : {}) }),
        ),
      ),
    );
    expectSame(r.wasm, r.cpu, labels);
  });
});

describe("Sum matches the cpu backend", () => {
  const cases: [string, number[], number[], boolean][] = [
    ["[5,4,3,6] over 0,1,2 (a conv bias gradient)", [5, 4, 3, 6], [0, 1, 2], false],
    ["[5,4,3,6] over 0,1,2, keeping dims", [5, 4, 3, 6], [0, 1, 2], true],
    ["[33,7] over 0 (a dense bias gradient)", [33, 7], [0], false],
    ["[4,5,6] over 1,0 (axes out of order)", [4, 5, 6], [1, 0], true],
    ["[4,5,6] over 1 (not leading)", [4, 5, 6], [1], false],
    ["[4,5,6] over every axis", [4, 5, 6], [0, 1, 2], false],
  ];

  it(`${cases.length} cases`, async () => {
    const made = cases.map(([, shape]) => rand(shape));
    const r = await onBoth(() => [...cases.map(([, , axes, keepDims], i) => tf.sum(made[i]!(), axes, keepDims)), tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], "int32"), 0)]);
    expectSame(r.wasm, r.cpu, [...cases.map(([label]) => label), "int32 over 0"]);
  });
});

describe("SplitV matches the cpu backend", () => {
  const cases: [string, number[], number[] | number, number][] = [
    ["[41601] into 12 pieces (the optimizers' flat update)", [41601], [1000, 100, 10000, 100, 10000, 100, 10000, 100, 10000, 100, 100, 1], 0],
    ["[6,10] along 1 into 3, 0, 7", [6, 10], [3, 0, 7], 1],
    ["[4,5,6] along 1 with a -1 size", [4, 5, 6], [2, -1], 1],
    ["[4,5,6] along -1 into 3 equal pieces", [4, 5, 6], 3, -1],
    ["[2,3,4,5] along 0", [2, 3, 4, 5], [1, 1], 0],
  ];

  it(`${cases.length} cases, and int32`, async () => {
    const made = cases.map(([, shape]) => rand(shape));
    const r = await onBoth(() => [...cases.flatMap(([, , sizes, axis], i) => tf.split(made[i]!(), sizes, axis)), ...tf.split(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], "int32"), [1, 2], 0)]);
    const labels = cases.flatMap(([label, , sizes]) => Array.from({ length: typeof sizes === "number" ? sizes : sizes.length }, (_, j) => `${label}, piece ${j}`));
    expectSame(r.wasm, r.cpu, [...labels, "int32 piece 0", "int32 piece 1"]);
  });
});

describe("Tile and its gradient match the cpu backend", () => {
  const cases: [string, number[], number[]][] = [
    ["[2,3,1] × [1,1,4]", [2, 3, 1], [1, 1, 4]],
    ["[1,1,5] × [3,4,1]", [1, 1, 5], [3, 4, 1]],
    ["[2,3] × [2,2]", [2, 3], [2, 2]],
    ["[4] × [1] (no repetition)", [4], [1]],
    ["[1,1,1,6] × [2,3,3,1] (layernorm's gamma)", [1, 1, 1, 6], [2, 3, 3, 1]],
    ["[2,2,2,2] × [3,3,3,3] (more axes than a broadcast takes)", [2, 2, 2, 2], [3, 3, 3, 3]],
  ];

  it(`forward and gradient, ${cases.length} cases`, async () => {
    const made = cases.map(([, shape, reps]) => ({ x: rand(shape), dy: rand(shape.map((s, i) => s * reps[i]!)) }));
    const r = await onBoth(() => cases.flatMap(([, , reps], i) => [tf.tile(made[i]!.x(), reps), tf.grad((x: tf.Tensor) => tf.tile(x, reps).mul(made[i]!.dy()).sum())(made[i]!.x())]));
    expectSame(r.wasm, r.cpu, cases.flatMap(([label]) => [`tile ${label}`, `gradient of tile ${label}`]));
  });

  it("of an int32 tensor", async () => {
    const r = await onBoth(() => [tf.tile(tf.tensor2d([1, 2, 3, 4], [2, 2], "int32"), [2, 3])]);
    expectSame(r.wasm, r.cpu, ["int32 tile"]);
  });
});

// ---------------------------------------------------------------------------------------

describe("gradients end to end", () => {
  it("of a small conv + pool + dense loss agree on both backends", async () => {
    const x = rand([3, 10, 9, 2]);
    const w1 = rand([3, 3, 2, 4], -0.5, 0.5);
    const b1 = rand([4], -0.1, 0.1);
    const w2 = rand([5 * 5 * 4, 3], -0.3, 0.3);
    const labels = [
      [1, 0, 0],
      [0, 0, 1],
      [0, 1, 0],
    ];
    const r = await onBoth(() => {
      const input = x() as tf.Tensor4D;
      const y = tf.tensor2d(labels);
      const loss = (k: tf.Tensor, b: tf.Tensor, d: tf.Tensor): tf.Scalar => {
        const h = tf.relu(tf.conv2d(input, k as tf.Tensor4D, 1, "same").add(b));
        const p = tf.maxPool(h as tf.Tensor4D, 2, 2, "same").reshape([3, -1]);
        return tf.losses.softmaxCrossEntropy(y, tf.matMul(p, d)) as tf.Scalar;
      };
      const [gk, gb, gd] = tf.grads(loss)([w1(), b1(), w2()]);
      return [loss(w1(), b1(), w2()), gk!, gb!, gd!];
    });
    expectSame(r.wasm, r.cpu, ["loss", "conv kernel gradient", "bias gradient", "dense gradient"]);
  });

  // Models as the generated code builds them (src/codegen/emit.ts): TF.js layers plus the
  // runtime's own, channels-last, `full` padding as zero padding and a valid conv or pool.
  const models: Record<string, (input: tf.SymbolicTensor) => tf.SymbolicTensor> = {
    // Average pooling is valid here: with same padding the wasm gradient is the true one and
    // the cpu backend's is not (tested above).
    "conv stride 2 same, max pool 3 stride 2 same, full conv, avg pool, flatten, dense softmax": (x) => {
      let h = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }).apply(x) as tf.SymbolicTensor;
      h = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: "same" }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.zeroPadding2d({ padding: [[1, 1], [1, 1]] }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.conv2d({ filters: 3, kernelSize: 2, padding: "valid" }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: "valid" }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
      return tf.layers.dense({ units: 3, activation: "softmax" }).apply(h) as tf.SymbolicTensor;
    },
    "dilated conv, batchnorm, leaky_relu, global avg pool, dense": (x) => {
      let h = dilatedConv2d({ filters: 4, kernelSize: [3, 3], strides: [1, 1], padding: "same", dilationRate: [2, 2], useBias: false }).apply(x) as tf.SymbolicTensor;
      h = tf.layers.batchNormalization({ axis: -1 }).apply(h) as tf.SymbolicTensor;
      h = activationLayer({ name: "leaky_relu", alpha: 0.1 }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
      return tf.layers.dense({ units: 3 }).apply(h) as tf.SymbolicTensor;
    },
    "conv valid, layernorm, groupnorm, prelu, elu(0.5), global max pool, maxout, dense sigmoid": (x) => {
      let h = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "valid" }).apply(x) as tf.SymbolicTensor;
      h = tf.layers.layerNormalization({ axis: -1 }).apply(h) as tf.SymbolicTensor;
      h = groupNorm({ groups: 2 }).apply(h) as tf.SymbolicTensor;
      h = channelwisePrelu({ inputRank: 3 }).apply(h) as tf.SymbolicTensor;
      h = activationLayer({ name: "elu", alpha: 0.5 }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.globalMaxPooling2d({}).apply(h) as tf.SymbolicTensor;
      h = tf.layers.dense({ units: 6 }).apply(h) as tf.SymbolicTensor;
      h = activationLayer({ name: "maxout", k: 2 }).apply(h) as tf.SymbolicTensor;
      return tf.layers.dense({ units: 3, activation: "sigmoid" }).apply(h) as tf.SymbolicTensor;
    },
    "residual add, selu, softplus, tanh, dropout, reshape, dense with l2": (x) => {
      const a = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: "same", activation: "selu" }).apply(x) as tf.SymbolicTensor;
      let h = tf.layers.add().apply([a, x]) as tf.SymbolicTensor;
      h = activationLayer({ name: "softplus" }).apply(h) as tf.SymbolicTensor;
      h = activationLayer({ name: "tanh" }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.dropout({ rate: 0.3, seed: 4 }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.reshape({ targetShape: [7 * 6 * 2] }).apply(h) as tf.SymbolicTensor;
      return tf.layers.dense({ units: 3, kernelRegularizer: tf.regularizers.l1l2({ l2: 0.01 }) }).apply(h) as tf.SymbolicTensor;
    },
  };

  /** The model's loss and every trainable weight's gradient, on the current backend. */
  function lossAndGradients(head: (input: tf.SymbolicTensor) => tf.SymbolicTensor, weights: Float32Array[] | undefined, x: tf.Tensor, y: tf.Tensor): { tensors: tf.Tensor[]; weights: Float32Array[] } {
    const input = tf.input({ shape: x.shape.slice(1) });
    const model = tf.model({ inputs: input, outputs: head(input) });
    if (weights) model.setWeights(model.getWeights().map((w, i) => tf.tensor(weights[i]!, w.shape)));
    const initial = model.getWeights().map((w) => Float32Array.from(w.dataSync()));
    const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => {
      let loss = tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
      for (const r of model.calculateLosses()) loss = loss.add(r);
      return loss;
    }, trainable);
    const tensors = [value, ...trainable.map((v) => grads[v.name]!)];
    tensors.forEach((t) => tf.keep(t));
    model.dispose();
    return { tensors, weights: initial };
  }

  for (const [name, head] of Object.entries(models)) {
    it(`through ${name}`, async () => {
      const x = rand([3, 7, 6, 2]);
      const y = rand([3, 3], 0, 1);
      let weights: Float32Array[] | undefined;
      const labels: string[] = [];
      const r = await onBoth(() => {
        const out = lossAndGradients(head, weights, x(), y());
        weights = out.weights; // the wasm model starts from the cpu model's weights
        return out.tensors;
      });
      r.cpu.forEach((_, i) => labels.push(i === 0 ? "loss" : `gradient ${i}`));
      expectSame(r.wasm, r.cpu, labels);
    });
  }

  const optimizers: OptimizerConfig[] = [
    { name: "sgd", args: {} },
    { name: "momentum", args: { beta: 0.9 } },
    { name: "nesterov", args: { beta: 0.9 } },
    { name: "adagrad", args: { epsilon: 1e-7 } },
    { name: "adadelta", args: { rho: 0.95, epsilon: 1e-7 } },
    { name: "rmsprop", args: { rho: 0.9, epsilon: 1e-7 } },
    { name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
    { name: "nadam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
    { name: "adamw", args: { weight_decay: 0.01, beta1: 0.9, beta2: 0.999 } },
    { name: "lm", args: { mu: 1 } },
  ];

  it(`and three steps of each of the ${optimizers.length} optimizers`, async () => {
    const w = rand([3, 3, 2, 4]);
    const d = rand([4, 3]);
    const x = rand([2, 5, 5, 2]);
    const r = await onBoth(() =>
      optimizers.flatMap((config) => {
        const vars = { k: tf.variable(w(), true, `${config.name}-k`), d: tf.variable(d(), true, `${config.name}-d`) };
        const optimizer = createOptimizer(config, 0.01);
        const input = x() as tf.Tensor4D;
        for (let step = 0; step < 3; step++) {
          tf.tidy(() => {
            const { grads } = tf.variableGrads(() => tf.relu(tf.conv2d(input, vars.k as tf.Tensor4D, 2, "same")).mean([1, 2]).matMul(vars.d).square().mean() as tf.Scalar);
            optimizer.applyGradients({ [vars.k.name]: vars.k, [vars.d.name]: vars.d }, grads);
          });
        }
        optimizer.dispose();
        const out = [vars.k.clone(), vars.d.clone()];
        vars.k.dispose();
        vars.d.dispose();
        return out;
      }),
    );
    expectSame(
      r.wasm,
      r.cpu,
      optimizers.flatMap((o) => [`${o.name}: conv kernel`, `${o.name}: dense kernel`]),
    );
  });
});

describe("the fused Adam kernel (WebAssembly SIMD)", () => {
  for (const config of [
    { name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
    { name: "adamw", args: { weight_decay: 0.01, beta1: 0.9, beta2: 0.999 } },
  ] satisfies OptimizerConfig[]) {
    it(`runs ${config.name} on wasm in one kernel and gives the cpu backend's generic rule bit for bit`, async () => {
      // Two variables (1,001 and 6 values: SIMD loops and scalar tails, and the second one's
      // moments at an offset in the flat slots); large and tiny gradients.
      const w = rand([7, 11, 13]);
      const w2 = rand([2, 3]);
      const gs = [rand([7, 11, 13], -3, 3), rand([7, 11, 13], -1e-4, 1e-4), rand([7, 11, 13])];
      const g2s = [rand([2, 3], -3, 3), rand([2, 3]), rand([2, 3], -1e-4, 1e-4)];
      const kernels: string[] = [];
      const run = async (): Promise<Float32Array[]> => {
        const v = tf.variable(w(), true, `${config.name}-fused-${tf.getBackend()}`);
        const v2 = tf.variable(w2(), true, `${config.name}-fused2-${tf.getBackend()}`);
        const optimizer = createOptimizer(config, 0.003);
        const out: Float32Array[] = [];
        for (let step = 0; step < gs.length; step++) {
          const grad = gs[step]!();
          const grad2 = g2s[step]!();
          const profile = await tf.profile(() => optimizer.applyGradients({ [v.name]: v, [v2.name]: v2 }, { [v.name]: grad, [v2.name]: grad2 }));
          kernels.push(...profile.kernels.map((k) => `${tf.getBackend()}:${k.name}`));
          tf.dispose([grad, grad2]);
          out.push((await v.data()) as Float32Array, (await v2.data()) as Float32Array);
        }
        const state = optimizer.getState();
        for (const slot of Object.values(state.slots)) {
          out.push((await slot.data()) as Float32Array);
          slot.dispose();
        }
        optimizer.dispose();
        tf.dispose([v, v2]);
        return out;
      };
      await tf.setBackend("cpu");
      const cpu = await run();
      await tf.setBackend("wasm");
      const wasm = await run();
      await tf.setBackend("cpu");
      expect(kernels).toContain("wasm:NncFusedAdam");
      expect(kernels).not.toContain("cpu:NncFusedAdam");
      expect(wasm.length).toBe(cpu.length);
      for (let i = 0; i < cpu.length; i++) expect(Array.from(wasm[i]!)).toEqual(Array.from(cpu[i]!));
    });
  }
});

describe("Tanh (WebAssembly SIMD)", () => {
  it("matches the cpu backend across its range, at the polynomial's edge, and on NaN and ±Infinity", async () => {
    const values = [...numbers(4001, seed++, -12, 12), 0, -0, 1e-30, -1e-7, 0.6249999, 0.625, -0.625, 0.6250001, 8.9, 9, 9.5, 50, -50, 1e30, NaN, Infinity, -Infinity];
    const r = await onBoth(() => [tf.tanh(tf.tensor1d(values)), tf.grad((x: tf.Tensor) => tf.tanh(x).sum())(tf.tensor1d(values.slice(0, 101)))]);
    const wasm = r.wasm[0]!.values;
    const cpu = r.cpu[0]!.values;
    let worst = 0;
    for (let i = 0; i < values.length; i++) {
      if (Number.isNaN(cpu[i]!)) expect(wasm[i]).toBeNaN();
      else worst = Math.max(worst, Math.abs(wasm[i]! - cpu[i]!) / Math.max(Math.abs(cpu[i]!), 1e-30));
    }
    expect(worst).toBeLessThan(1e-6);
    expectSame(r.wasm.slice(1), r.cpu.slice(1), ["tanh's gradient"]);
  });
});

describe("Identity", () => {
  it("shares the data of what it clones on wasm, and the clone outlives the original", async () => {
    await tf.setBackend("wasm");
    const x = tf.tensor1d([1, 2, 3]);
    const y = x.clone();
    const profile = await tf.profile(() => x.clone().dispose());
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3]);
    y.dispose();
    expect(profile.newBytes).toBe(0);
    await tf.setBackend("cpu");
  });
});

// ---------------------------------------------------------------------------------------

describe("training on wasm", () => {
  it("trains a tiny CNN with the runtime's train(), and its loss falls", async () => {
    const build = (s: number): tf.LayersModel => {
      const input = tf.input({ shape: [28, 28, 1] });
      let h = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "relu", kernelInitializer: tf.initializers.heNormal({ seed: s }) }).apply(input) as tf.SymbolicTensor;
      h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: "same", activation: "relu", kernelInitializer: tf.initializers.heNormal({ seed: s + 1 }) }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
      const out = tf.layers.dense({ units: 10, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: s + 2 }) }).apply(h) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: out });
    };
    const config: TrainConfig = {
      model: "tiny",
      data: { source: "mnist", train: 128, test: 0 },
      normalize: { kind: "none" },
      augment: [],
      loss: "crossentropy",
      optimizer: { name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
      lr: 0.01,
      schedule: { name: "constant" },
      weightDecay: 0,
      batch: 16,
      epochs: 4,
      seed: 3,
      metrics: ["loss", "acc"],
    };
    const result = await train(build, config, { backend: "wasm", noSave: true, log: () => undefined, logJson: true }, { inputShape: [28, 28, 1], outputShape: [10], convolutional: true });
    expect(result.backend).toBe("wasm");
    const losses = result.history.map((h) => h.loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!, `losses ${losses.join(", ")}`).toBeLessThan(losses[0]! * 0.8);
    await tf.setBackend("cpu");
  }, 30_000);
});
