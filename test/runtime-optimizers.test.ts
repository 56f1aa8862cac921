/**
 * The runtime's optimizers against their formulas, written out again here in plain numbers
 * (not by calling the implementation): one and two steps on small vectors, learning-rate
 * changes, checkpoint state, memory, and convergence on a small least-squares problem.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OptimizerConfig, OptimizerName } from "../src/runtime/config.js";
import { createOptimizer, type Optimizer } from "../src/runtime/optimizers.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const W0 = [1, -2, 3];
const G1 = [0.1, 0.2, -0.3];
const G2 = [-0.05, 0.4, 0.1];
const LR = 0.1;

/** Hand-written reference: one step on plain numbers, with its own per-element state. */
type Reference = (w: number, g: number, s: Record<string, number>, lr: number, t: number) => number;

interface Case {
  config: OptimizerConfig;
  /** Slot names the optimizer keeps. */
  slots: string[];
  ref: Reference;
}

const sq = (x: number) => x * x;

/** A variable holding `values`, without leaking the tensor it starts from. */
const variableOf = (values: number[] | number[][]) => tf.tidy(() => tf.variable(tf.tensor(values)));

const CASES: Case[] = [
  { config: { name: "sgd", args: {} }, slots: [], ref: (w, g, _s, lr) => w - lr * g },
  {
    config: { name: "momentum", args: { beta: 0.9 } },
    slots: ["v"],
    ref: (w, g, s, lr) => {
      s.v = 0.9 * (s.v ?? 0) - lr * g;
      return w + s.v;
    },
  },
  {
    config: { name: "nesterov", args: { beta: 0.9 } },
    slots: ["v"],
    ref: (w, g, s, lr) => {
      s.v = 0.9 * (s.v ?? 0) - lr * g;
      return w + 0.9 * s.v - lr * g;
    },
  },
  {
    config: { name: "adagrad", args: { epsilon: 1e-7 } },
    slots: ["G"],
    ref: (w, g, s, lr) => {
      s.G = (s.G ?? 0) + g * g;
      return w - (lr * g) / (Math.sqrt(s.G) + 1e-7);
    },
  },
  {
    // A large epsilon, so that Zeiler's first steps (about √ε·sign g) are not vanishingly small.
    config: { name: "adadelta", args: { rho: 0.95, epsilon: 1e-3 } },
    slots: ["Eg", "Ed"],
    ref: (w, g, s, lr) => {
      s.Eg = 0.95 * (s.Eg ?? 0) + 0.05 * g * g;
      const delta = (-Math.sqrt((s.Ed ?? 0) + 1e-3) / Math.sqrt(s.Eg + 1e-3)) * g;
      s.Ed = 0.95 * (s.Ed ?? 0) + 0.05 * delta * delta;
      return w + lr * delta;
    },
  },
  {
    config: { name: "rmsprop", args: { rho: 0.9, epsilon: 1e-7 } },
    slots: ["E"],
    ref: (w, g, s, lr) => {
      s.E = 0.9 * (s.E ?? 0) + 0.1 * g * g;
      return w - (lr * g) / Math.sqrt(s.E + 1e-7);
    },
  },
  {
    config: { name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
    slots: ["m", "v"],
    ref: (w, g, s, lr, t) => {
      s.m = 0.9 * (s.m ?? 0) + 0.1 * g;
      s.v = 0.999 * (s.v ?? 0) + 0.001 * g * g;
      const mHat = s.m / (1 - 0.9 ** t);
      const vHat = s.v / (1 - 0.999 ** t);
      return w - (lr * mHat) / (Math.sqrt(vHat) + 1e-7);
    },
  },
  {
    config: { name: "nadam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
    slots: ["m", "v"],
    ref: (w, g, s, lr, t) => {
      // Keras's Nadam: μ_t = β1(1 − ½·0.96^t), Π_t = μ_1⋯μ_t.
      const mu = (i: number) => 0.9 * (1 - 0.5 * 0.96 ** i);
      let prod = 1;
      for (let i = 1; i <= t; i++) prod *= mu(i);
      s.m = 0.9 * (s.m ?? 0) + 0.1 * g;
      s.v = 0.999 * (s.v ?? 0) + 0.001 * g * g;
      const mHat = (mu(t + 1) * s.m) / (1 - prod * mu(t + 1)) + ((1 - mu(t)) * g) / (1 - prod);
      const vHat = s.v / (1 - 0.999 ** t);
      return w - (lr * mHat) / (Math.sqrt(vHat) + 1e-7);
    },
  },
  {
    config: { name: "adamw", args: { weight_decay: 0.01, beta1: 0.9, beta2: 0.999 } },
    slots: ["m", "v"],
    ref: (w, g, s, lr, t) => {
      s.m = 0.9 * (s.m ?? 0) + 0.1 * g;
      s.v = 0.999 * (s.v ?? 0) + 0.001 * g * g;
      const mHat = s.m / (1 - 0.9 ** t);
      const vHat = s.v / (1 - 0.999 ** t);
      return w - lr * 0.01 * w - (lr * mHat) / (Math.sqrt(vHat) + 1e-7);
    },
  },
  {
    config: { name: "lm", args: { mu: 0.01 } },
    slots: ["h"],
    ref: (w, g, s, lr, t) => {
      const gamma = 0.05;
      s.h = (1 - gamma) * (s.h ?? 0) + gamma * g * g;
      const hHat = s.h / (1 - (1 - gamma) ** t);
      return w - (lr * g) / (hHat + 0.01);
    },
  },
];

/** Runs the reference over the gradient sequence, one state per element. */
function referenceRun(c: Case, grads: number[][], lrs: number[]): number[] {
  const states = W0.map(() => ({}) as Record<string, number>);
  let w = [...W0];
  grads.forEach((g, step) => {
    w = w.map((wi, i) => c.ref(wi, g[i]!, states[i]!, lrs[step]!, step + 1));
  });
  return w;
}

/** Runs the optimizer over the gradient sequence on one variable "dense1/kernel". */
function optimizerRun(c: Case, grads: number[][], lrs: number[]): number[] {
  const w = variableOf(W0);
  const opt = createOptimizer(c.config, lrs[0]!);
  grads.forEach((g, step) => {
    opt.learningRate = lrs[step]!;
    const gt = tf.tensor1d(g);
    opt.applyGradients({ "dense1/kernel": w }, { "dense1/kernel": gt });
    gt.dispose();
  });
  const out = Array.from(w.dataSync());
  w.dispose();
  opt.dispose();
  return out;
}

function expectClose(actual: number[], expected: number[], tol = 1e-6): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!), `component ${i}: ${a} vs ${expected[i]}`).toBeLessThan(tol));
}

describe.each(CASES)("the $config.name optimizer", (c) => {
  it("takes one step as its formula says", () => {
    expectClose(optimizerRun(c, [G1], [LR]), referenceRun(c, [G1], [LR]));
  });

  it("takes a second step from its state as its formula says", () => {
    expectClose(optimizerRun(c, [G1, G2], [LR, LR]), referenceRun(c, [G1, G2], [LR, LR]));
  });

  it("uses a changed learning rate from the next step on", () => {
    const lrs = [LR, LR / 4, LR * 2];
    const got = optimizerRun(c, [G1, G2, G1], lrs);
    expectClose(got, referenceRun(c, [G1, G2, G1], lrs));
    expect(got).not.toEqual(optimizerRun(c, [G1, G2, G1], [LR, LR, LR]));
  });

  it("saves and restores its state so that a restored copy continues identically", () => {
    const w = variableOf(W0);
    const g1 = tf.tensor1d(G1);
    const g2 = tf.tensor1d(G2);
    const first = createOptimizer(c.config, LR);
    first.applyGradients({ "block/dense1/kernel": w }, { "block/dense1/kernel": g1 });
    const state = first.getState();
    expect(state.iterations).toBe(1);
    expect(Object.keys(state.slots).sort()).toEqual(c.slots.map((s) => `block/dense1/kernel/${s}`).sort());
    // The saved state is a copy: further steps do not change it.
    first.applyGradients({ "block/dense1/kernel": w }, { "block/dense1/kernel": g2 });
    first.dispose();

    const w2 = variableOf(referenceRun(c, [G1], [LR]));
    const second = createOptimizer(c.config, LR);
    second.setState(state);
    for (const t of Object.values(state.slots)) t.dispose();
    second.applyGradients({ "block/dense1/kernel": w2 }, { "block/dense1/kernel": g2 });
    expectClose(Array.from(w2.dataSync()), referenceRun(c, [G1, G2], [LR, LR]));
    expectClose(Array.from(w2.dataSync()), Array.from(w.dataSync()));
    const after = second.getState();
    expect(after.iterations).toBe(2);
    tf.dispose(Object.values(after.slots));
    second.dispose();
    tf.dispose([w, w2, g1, g2]);
  });

  it("leaks no tensors from one step to the next and frees its slots on dispose", () => {
    const vars = { a: variableOf(W0), "b/kernel": variableOf([[1, 1], [1, 1]]) };
    const grads = { a: tf.tensor1d(G1), "b/kernel": tf.fill([2, 2], 0.5) };
    const opt = createOptimizer(c.config, LR);
    const before = tf.memory().numTensors;
    opt.applyGradients(vars, grads);
    const afterFirst = tf.memory().numTensors;
    // One flat tensor per slot name holds both variables' slots (RuleOptimizer).
    expect(afterFirst - before).toBe(c.slots.length);
    for (let i = 0; i < 3; i++) opt.applyGradients(vars, grads);
    expect(tf.memory().numTensors).toBe(afterFirst);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...Object.values(vars), ...Object.values(grads)]);
  });
});

describe("every optimizer", () => {
  it("leaves a variable without a gradient alone and rejects a gradient without a variable", () => {
    const a = variableOf(W0);
    const b = variableOf(W0);
    const g = tf.tensor1d(G1);
    const opt = createOptimizer({ name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } }, LR);
    opt.applyGradients({ a, b }, { a: g });
    expect(Array.from(b.dataSync())).toEqual(W0);
    const state = opt.getState();
    expect(Object.keys(state.slots).sort()).toEqual(["a/m", "a/v"]);
    tf.dispose(Object.values(state.slots));
    expect(() => opt.applyGradients({ a }, { c: g })).toThrow(/gradient 'c' has no variable/);
    opt.dispose();
    tf.dispose([a, b, g]);
  });

  it("keeps each variable's slots when the set of variables with gradients changes between steps", () => {
    // momentum(β): v ← β·v − lr·g; w ← w + v. b gets gradients in steps 1 and 3 only, so its
    // velocity must survive step 2, where a alone is updated (the flat layout is rebuilt twice).
    const beta = 0.9;
    const a = variableOf(W0);
    const b = variableOf([5, 6]);
    const ga = tf.tensor1d(G1);
    const gb = tf.tensor1d([1, -1]);
    const opt = createOptimizer({ name: "momentum", args: { beta } }, LR);
    opt.applyGradients({ a, b }, { a: ga, b: gb });
    opt.applyGradients({ a, b }, { a: ga });
    opt.applyGradients({ a, b }, { b: gb, a: ga });
    const vb1 = [-LR * 1, LR * 1];
    const vb3 = vb1.map((v, i) => beta * v - LR * [1, -1][i]!);
    expectClose(Array.from(b.dataSync()), [5, 6].map((w, i) => w + vb1[i]! + vb3[i]!));
    let va = G1.map(() => 0);
    let wa = [...W0];
    for (let step = 0; step < 3; step++) {
      va = va.map((v, i) => beta * v - LR * G1[i]!);
      wa = wa.map((w, i) => w + va[i]!);
    }
    expectClose(Array.from(a.dataSync()), wa);
    const state = opt.getState();
    expect(Object.keys(state.slots).sort()).toEqual(["a/v", "b/v"]);
    expectClose(Array.from(state.slots["b/v"]!.dataSync()), vb3);
    expect(state.slots["b/v"]!.shape).toEqual([2]);
    tf.dispose(Object.values(state.slots));
    opt.dispose();
    tf.dispose([a, b, ga, gb]);
  });

  it("keeps its slots when a step runs inside the caller's tf.tidy, as the training loop does", () => {
    const w = variableOf(W0);
    const c = CASES.find((x) => x.config.name === "adam")!;
    const opt = createOptimizer(c.config, LR);
    for (const g of [G1, G2]) tf.tidy(() => opt.applyGradients({ w }, { w: tf.tensor1d(g) }));
    expectClose(Array.from(w.dataSync()), referenceRun(c, [G1, G2], [LR, LR]));
    opt.dispose();
    w.dispose();
  });

  it("rejects a state with a slot it does not keep", () => {
    const opt = createOptimizer({ name: "momentum", args: { beta: 0.9 } }, LR);
    const t = tf.zeros([3]);
    expect(() => opt.setState({ iterations: 1, slots: { "a/m": t } })).toThrow(/unknown slot 'm'/);
    t.dispose();
    opt.dispose();
  });

  it("names a missing argument instead of computing with undefined", () => {
    expect(() => createOptimizer({ name: "adam", args: { beta1: 0.9 } }, LR)).toThrow(/'beta2' is missing/);
  });
});

/**
 * min ‖Aw − b‖² with b = A·w*: the minimum is 0 at w*. A is symmetric positive definite
 * (eigenvalues about 1.2, 2.7, 5.1), so the Hessian 2AᵀA has condition number about 18.
 */
const A = [
  [2, 1, 0],
  [1, 3, 1],
  [0, 1, 4],
];
const W_STAR = [1, -1, 0.5];
const B = A.map((row) => row.reduce((s, a, j) => s + a * W_STAR[j]!, 0));

function lossOf(w: number[]): number {
  return A.reduce((s, row, i) => s + sq(row.reduce((r, a, j) => r + a * w[j]!, 0) - B[i]!), 0);
}

/**
 * Settings under which each optimizer gets the loss below 1e-4 in 300 full-batch steps.
 * On a deterministic problem rmsprop and adadelta with a short memory (ρ = 0.9) end in an
 * oscillation whose size is set by lr (their steps are nearly sign(g)·lr); a long memory
 * (ρ = 0.999) lets them settle. lm's step tends to (lr/μ)·g as g → 0, so lr/μ must stay below
 * 2/λmax(2AᵀA) ≈ 0.04 here.
 */
const CONVERGENCE: { config: OptimizerConfig; lr: number; steps: number }[] = [
  { config: { name: "sgd", args: {} }, lr: 0.02, steps: 300 },
  { config: { name: "momentum", args: { beta: 0.9 } }, lr: 0.01, steps: 300 },
  { config: { name: "nesterov", args: { beta: 0.9 } }, lr: 0.01, steps: 300 },
  { config: { name: "adagrad", args: { epsilon: 1e-7 } }, lr: 0.5, steps: 300 },
  { config: { name: "adadelta", args: { rho: 0.999, epsilon: 1e-6 } }, lr: 1.0, steps: 300 },
  { config: { name: "rmsprop", args: { rho: 0.999, epsilon: 1e-7 } }, lr: 0.01, steps: 300 },
  { config: { name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } }, lr: 0.05, steps: 300 },
  { config: { name: "nadam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } }, lr: 0.05, steps: 300 },
  { config: { name: "adamw", args: { weight_decay: 0, beta1: 0.9, beta2: 0.999 } }, lr: 0.05, steps: 300 },
  { config: { name: "lm", args: { mu: 1 } }, lr: 0.03, steps: 300 },
];

describe.each(CONVERGENCE)("on a small least-squares problem, $config.name", ({ config, lr, steps }) => {
  it(`brings the loss from ${lossOf([0, 0, 0])} below 1e-4 with lr ${lr}`, () => {
    const At = tf.tensor2d(A);
    const b = tf.tensor1d(B);
    const w = variableOf([0, 0, 0]);
    const opt: Optimizer = createOptimizer(config, lr);
    for (let i = 0; i < steps; i++) {
      const g = tf.tidy(() => {
        const r = tf.sub(tf.matMul(At, w.reshape([3, 1])).reshape([3]), b);
        return tf.matMul(At.transpose(), r.reshape([3, 1])).reshape([3]).mul(2);
      });
      opt.applyGradients({ w }, { w: g });
      g.dispose();
    }
    expect(lossOf(Array.from(w.dataSync()))).toBeLessThan(1e-4);
    opt.dispose();
    tf.dispose([At, b, w]);
  });
});

describe("adamw", () => {
  it("decays the weights by lr·wd·w even where the gradient is zero", () => {
    const w = variableOf(W0);
    const g = tf.zeros([3]);
    const opt = createOptimizer({ name: "adamw", args: { weight_decay: 0.1, beta1: 0.9, beta2: 0.999 } }, 0.5);
    opt.applyGradients({ w }, { w: g });
    expectClose(Array.from(w.dataSync()), W0.map((x) => x - 0.5 * 0.1 * x));
    opt.dispose();
    tf.dispose([w, g]);
  });
});

afterAll(() => {
  // Every test above disposes what it creates.
  expect(tf.memory().numTensors).toBe(0);
});
