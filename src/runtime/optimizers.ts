/**
 * The ten optimizers of the language, all built the same way: an `UpdateRule` says which
 * per-variable slots it keeps (moments, accumulators) and how one step maps
 * (w, g, slots, lr, t) to a new w and new slots; one `RuleOptimizer` owns the slots,
 * the step count and the learning rate, and applies a rule to every variable inside
 * `tf.tidy`, writing back with `Variable.assign` (all variables at once: see RuleOptimizer). TF.js's own optimizers are not used: their
 * formulas differ from the ones documented here (TF.js momentum scales the velocity by lr
 * after accumulating, its adagrad starts the accumulator at 0.1, it has no nadam, adamw or
 * lm), and one shared implementation keeps checkpoints uniform.
 *
 * Notation for every rule: w a weight, g its gradient, lr the learning rate at this step,
 * t the step number starting at 1, and all operations elementwise. Slots start at zero.
 */
import * as tf from "@tensorflow/tfjs";
import type { OptimizerConfig, OptimizerName } from "./config.js";

export interface Optimizer {
  readonly name: OptimizerName;
  /** Settable: schedules change it between steps; the next step uses the new value. */
  learningRate: number;
  /**
   * One update of every variable that has a gradient (same keys; a variable without a
   * gradient is left alone, a gradient without a variable is an error). The gradients are
   * not disposed.
   *
   * With `mask` (a bool scalar on the device), the update is applied only where it is true
   * and every updated weight is finite; otherwise weights and slots keep their values, on the
   * device, with no read-back. It returns that decision (a bool scalar the caller owns), so a
   * GPU run can check it later, for many steps at once (train.ts). Without `mask` the update
   * is applied as is and nothing is returned.
   */
  applyGradients(vars: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, mask?: tf.Tensor): tf.Tensor | undefined;
  /**
   * Slot tensors (moments etc.) keyed `"<variable key>/<slot name>"`, and the step count, for
   * checkpoints. The tensors are copies the caller owns (and must dispose).
   */
  getState(): { iterations: number; slots: Record<string, tf.Tensor> };
  /** Restores a `getState` result; the tensors are copied, the caller keeps its own. */
  setState(state: { iterations: number; slots: Record<string, tf.Tensor> }): void;
  /** Frees the slot variables. */
  dispose(): void;
}

/** One optimizer's formula: its slots, and one step for one variable (called inside tf.tidy). */
interface UpdateRule {
  readonly slots: readonly string[];
  /** New weight and slots from the old ones; t is the 1-based step number. */
  step(w: tf.Tensor, g: tf.Tensor, s: Record<string, tf.Tensor>, lr: number, t: number): { w: tf.Tensor; slots: Record<string, tf.Tensor> };
  /**
   * The same step for every variable as one kernel, where the backend has it. The kernel
   * takes the variables and their gradients unflattened (`w0`, `g0`, `w1`, `g1`, …, `count`
   * of each, in the flat layout's order) and the flat slots by name; it gives the new
   * variables (same shapes) and then the new flat slots in `slots` order. No concatenation
   * or split: on a small model those are a good part of a step's kernels.
   *
   * `maskedKernel` is the same step with an input `mask` (a bool scalar): it applies the
   * update only where the mask holds and every new weight is finite (as `applyGradients` with
   * a mask), and gives that decision as one more output, last. Where the backend has it, a
   * masked step needs no reduction or `where` of the optimizer's own.
   */
  readonly fused?: { kernel: string; maskedKernel: string; attrs(lr: number, t: number): tf.NamedAttrMap };
}

/**
 * The kernel that does a whole adam or adamw step (inputs w0, g0, w1, g1, …, m, v; outputs
 * the new variables, m and v: see `UpdateRule.fused`). The wasm backend has it in WebAssembly
 * SIMD (backends/wasm/kernels.ts) and the webgpu backend in WGSL (backends/webgpu/adam.ts),
 * both computing what `adam`/`adamw` below compute; elsewhere those rules run as TF.js ops.
 */
export const FUSED_ADAM_KERNEL = "NncFusedAdam";
/** The masked form of `FUSED_ADAM_KERNEL` (`UpdateRule.fused.maskedKernel`): webgpu has it. */
export const FUSED_ADAM_MASKED_KERNEL = "NncFusedAdamMasked";

/** The fused Adam kernel's attributes (and `count`, the number of variables): adam is adamw with weightDecay 0. */
export interface FusedAdamAttrs {
  count: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  lr: number;
  t: number;
  weightDecay: number;
}

/**
 * A fused Adam kernel's inputs by role, as every backend's kernel reads them: the `count`
 * variables and their gradients (`w0`, `g0`, …) and the flat moments, with each variable's size
 * and their total; throws if one is missing or the sizes disagree.
 */
export function fusedAdamOperands(
  inputs: tf.NamedTensorInfoMap,
  count: number,
): { ws: tf.TensorInfo[]; gs: tf.TensorInfo[]; m: tf.TensorInfo; v: tf.TensorInfo; sizes: number[]; total: number } {
  const input = (name: string): tf.TensorInfo => {
    const t = inputs[name];
    if (t === undefined) throw new Error(`nnc: the fused Adam kernel lacks its input '${name}'`);
    return t;
  };
  const ws = Array.from({ length: count }, (_, i) => input(`w${i}`));
  const gs = Array.from({ length: count }, (_, i) => input(`g${i}`));
  const m = input("m");
  const v = input("v");
  const sizes = ws.map((w) => tf.util.sizeFromShape(w.shape));
  const total = sizes.reduce((a, b) => a + b, 0);
  ws.forEach((w, i) => {
    if (tf.util.sizeFromShape(gs[i]!.shape) !== sizes[i]) throw new Error(`nnc: the fused Adam kernel got a gradient of shape [${gs[i]!.shape.join(", ")}] for a variable of shape [${w.shape.join(", ")}]`);
  });
  if (tf.util.sizeFromShape(m.shape) !== total || tf.util.sizeFromShape(v.shape) !== total) {
    throw new Error(`nnc: the fused Adam kernel's moments have ${tf.util.sizeFromShape(m.shape)} and ${tf.util.sizeFromShape(v.shape)} values for ${total} weights`);
  }
  return { ws, gs, m, v, sizes, total };
}

function fusedAdam(beta1: number, beta2: number, epsilon: number, weightDecay: number): UpdateRule["fused"] {
  return {
    kernel: FUSED_ADAM_KERNEL,
    maskedKernel: FUSED_ADAM_MASKED_KERNEL,
    attrs: (lr, t) => ({ beta1, beta2, epsilon, lr, t, weightDecay }) satisfies Omit<FusedAdamAttrs, "count"> as unknown as tf.NamedAttrMap,
  };
}

/** Reads a required argument; the compiler fills every default, so a missing one is a bug. */
function arg(config: OptimizerConfig, name: string): number {
  const value = config.args[name];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`optimizer ${config.name}: argument '${name}' is missing (got ${JSON.stringify(config.args)})`);
  }
  return value;
}

/** sgd: w ← w − lr·g. */
function sgd(): UpdateRule {
  return { slots: [], step: (w, g, _s, lr) => ({ w: w.sub(g.mul(lr)), slots: {} }) };
}

/** momentum(β) (Polyak's heavy ball): v ← β·v − lr·g; w ← w + v. */
function momentum(beta: number): UpdateRule {
  return {
    slots: ["v"],
    step: (w, g, s, lr) => {
      const v = s.v!.mul(beta).sub(g.mul(lr));
      return { w: w.add(v), slots: { v } };
    },
  };
}

/**
 * nesterov(β), the look-ahead form used in practice (Sutskever et al. 2013; Keras, PyTorch):
 * v ← β·v − lr·g; w ← w + β·v − lr·g (with the new v): the step a heavy-ball update would
 * take after also applying the momentum once more.
 */
function nesterov(beta: number): UpdateRule {
  return {
    slots: ["v"],
    step: (w, g, s, lr) => {
      const lrG = g.mul(lr);
      const v = s.v!.mul(beta).sub(lrG);
      return { w: w.add(v.mul(beta)).sub(lrG), slots: { v } };
    },
  };
}

/**
 * adagrad(ε) (Duchi et al. 2011, as in Goodfellow et al., Deep Learning, Alg. 8.4):
 * G ← G + g²; w ← w − lr·g / (√G + ε). G starts at 0 (Keras starts it at 0.1).
 */
function adagrad(epsilon: number): UpdateRule {
  return {
    slots: ["G"],
    step: (w, g, s, lr) => {
      const G = s.G!.add(g.square());
      return { w: w.sub(g.mul(lr).div(G.sqrt().add(epsilon))), slots: { G } };
    },
  };
}

/**
 * adadelta(ρ, ε) (Zeiler 2012, Alg. 1, with lr as a multiplier as in Keras; lr 1.0 is the
 * paper's method): with RMS[x] = √(x + ε),
 *   Eg ← ρ·Eg + (1−ρ)·g²;  Δ = −(RMS[Ed] / RMS[Eg])·g;  Ed ← ρ·Ed + (1−ρ)·Δ²;  w ← w + lr·Δ.
 * Ed accumulates the unscaled Δ.
 */
function adadelta(rho: number, epsilon: number): UpdateRule {
  return {
    slots: ["Eg", "Ed"],
    step: (w, g, s, lr) => {
      const Eg = s.Eg!.mul(rho).add(g.square().mul(1 - rho));
      const delta = s.Ed!.add(epsilon).sqrt().div(Eg.add(epsilon).sqrt()).mul(g).neg();
      const Ed = s.Ed!.mul(rho).add(delta.square().mul(1 - rho));
      return { w: w.add(delta.mul(lr)), slots: { Eg, Ed } };
    },
  };
}

/**
 * rmsprop(ρ, ε) (Tieleman & Hinton 2012; ε inside the root as in Goodfellow et al. Alg. 8.5
 * and Keras): E ← ρ·E + (1−ρ)·g²; w ← w − lr·g / √(E + ε).
 */
function rmsprop(rho: number, epsilon: number): UpdateRule {
  return {
    slots: ["E"],
    step: (w, g, s, lr) => {
      const E = s.E!.mul(rho).add(g.square().mul(1 - rho));
      return { w: w.sub(g.mul(lr).div(E.add(epsilon).sqrt())), slots: { E } };
    },
  };
}

/** The Adam step shared by adam and adamw: new moments and lr·m̂/(√v̂ + ε). */
function adamStep(g: tf.Tensor, s: Record<string, tf.Tensor>, lr: number, t: number, beta1: number, beta2: number, epsilon: number) {
  const m = s.m!.mul(beta1).add(g.mul(1 - beta1));
  const v = s.v!.mul(beta2).add(g.square().mul(1 - beta2));
  const mHat = m.div(1 - beta1 ** t);
  const vHat = v.div(1 - beta2 ** t);
  return { update: mHat.mul(lr).div(vHat.sqrt().add(epsilon)), m, v };
}

/**
 * adam(β1, β2, ε) (Kingma & Ba 2015, Alg. 1, with bias correction):
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   m̂ = m / (1 − β1^t);  v̂ = v / (1 − β2^t);  w ← w − lr·m̂ / (√v̂ + ε).
 */
function adam(beta1: number, beta2: number, epsilon: number): UpdateRule {
  return {
    slots: ["m", "v"],
    step: (w, g, s, lr, t) => {
      const { update, m, v } = adamStep(g, s, lr, t, beta1, beta2, epsilon);
      return { w: w.sub(update), slots: { m, v } };
    },
    fused: fusedAdam(beta1, beta2, epsilon, 0),
  };
}

/** Dozat's momentum-schedule decay, as Keras's Nadam (μ_t = β1·(1 − ½·0.96^t)). */
export const NADAM_SCHEDULE_DECAY = 0.96;

/**
 * nadam(β1, β2, ε): Dozat's Nesterov-accelerated Adam (2016) exactly as Keras's `Nadam`,
 * with the momentum schedule μ_t = β1·(1 − ½·0.96^t) and Π_t = μ_1·μ_2·…·μ_t:
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   m̂ = μ_{t+1}·m / (1 − Π_t·μ_{t+1}) + (1 − μ_t)·g / (1 − Π_t);
 *   v̂ = v / (1 − β2^t);  w ← w − lr·m̂ / (√v̂ + ε).
 * Π_t depends only on t, so it is recomputed from the step count rather than stored.
 */
function nadam(beta1: number, beta2: number, epsilon: number): UpdateRule {
  const mu = (t: number) => beta1 * (1 - 0.5 * NADAM_SCHEDULE_DECAY ** t);
  let cachedT = 0;
  let cachedProduct = 1;
  /** Π_t, incrementally when steps come in order, from scratch after setState. */
  const product = (t: number): number => {
    if (t < cachedT) {
      cachedT = 0;
      cachedProduct = 1;
    }
    while (cachedT < t) cachedProduct *= mu(++cachedT);
    return cachedProduct;
  };
  return {
    slots: ["m", "v"],
    step: (w, g, s, lr, t) => {
      const muT = mu(t);
      const muNext = mu(t + 1);
      const prodT = product(t);
      const m = s.m!.mul(beta1).add(g.mul(1 - beta1));
      const v = s.v!.mul(beta2).add(g.square().mul(1 - beta2));
      const mHat = m.mul(muNext / (1 - prodT * muNext)).add(g.mul((1 - muT) / (1 - prodT)));
      const vHat = v.div(1 - beta2 ** t);
      return { w: w.sub(mHat.mul(lr).div(vHat.sqrt().add(epsilon))), slots: { m, v } };
    },
  };
}

/** adamw's ε: the language gives adamw no epsilon argument. */
export const ADAMW_EPSILON = 1e-7;

/**
 * adamw(wd, β1, β2) (Loshchilov & Hutter 2019, decoupled weight decay, scaled by lr as in
 * Keras and PyTorch): the adam step with ε = 1e-7 plus w ← w − lr·wd·w, i.e.
 *   w ← w − lr·wd·w − lr·m̂ / (√v̂ + ε).
 * The decay does not pass through the moments (that is what "decoupled" means).
 */
function adamw(weightDecay: number, beta1: number, beta2: number): UpdateRule {
  return {
    slots: ["m", "v"],
    step: (w, g, s, lr, t) => {
      const { update, m, v } = adamStep(g, s, lr, t, beta1, beta2, ADAMW_EPSILON);
      return { w: w.sub(w.mul(lr * weightDecay)).sub(update), slots: { m, v } };
    },
    fused: fusedAdam(beta1, beta2, ADAMW_EPSILON, weightDecay),
  };
}

/** lm's decay γ of the running curvature estimate h (LeCun et al. use a small γ). */
export const LM_GAMMA = 0.05;

/**
 * lm(μ): stochastic diagonal Levenberg–Marquardt (LeCun, Bottou, Orr & Müller, "Efficient
 * BackProp", 1998, §9.1): each weight gets its own step lr/(h + μ), where h estimates the
 * diagonal of the Gauss–Newton matrix (∂²E/∂w²) and μ keeps the step bounded where h is small.
 *
 * Approximation: LeCun back-propagates second derivatives to get h; here h is the
 * empirical-Fisher estimate of the Gauss–Newton diagonal, a running average of g²
 * (the squared mini-batch gradient, which underestimates the per-example Fisher diagonal as
 * the batch grows), with decay γ = LM_GAMMA = 0.05 (an effective window of about 20 steps), and
 * bias-corrected as Adam's moments are, so the first steps see an estimate of g² rather than
 * γ·g² (the counterpart of LeCun's advice to estimate h on a few samples before training):
 *   h ← (1−γ)·h + γ·g²;  ĥ = h / (1 − (1−γ)^t);  w ← w − lr·g / (ĥ + μ).
 * Where g → 0 (at a minimum of a deterministic problem) the step tends to (lr/μ)·g.
 */
function lm(mu: number): UpdateRule {
  return {
    slots: ["h"],
    step: (w, g, s, lr, t) => {
      const h = s.h!.mul(1 - LM_GAMMA).add(g.square().mul(LM_GAMMA));
      const hHat = h.div(1 - (1 - LM_GAMMA) ** t);
      return { w: w.sub(g.mul(lr).div(hHat.add(mu))), slots: { h } };
    },
  };
}

function ruleFor(config: OptimizerConfig): UpdateRule {
  const a = (name: string) => arg(config, name);
  switch (config.name) {
    case "sgd":
      return sgd();
    case "momentum":
      return momentum(a("beta"));
    case "nesterov":
      return nesterov(a("beta"));
    case "adagrad":
      return adagrad(a("epsilon"));
    case "adadelta":
      return adadelta(a("rho"), a("epsilon"));
    case "rmsprop":
      return rmsprop(a("rho"), a("epsilon"));
    case "adam":
      return adam(a("beta1"), a("beta2"), a("epsilon"));
    case "nadam":
      return nadam(a("beta1"), a("beta2"), a("epsilon"));
    case "adamw":
      return adamw(a("weight_decay"), a("beta1"), a("beta2"));
    case "lm":
      return lm(a("mu"));
  }
}

/**
 * Whether every value of `tensors` is finite, as a bool scalar on the device: their sum is
 * finite exactly when they all are (or when it overflows, which is divergence too).
 */
function allFinite(tensors: tf.Tensor[]): tf.Tensor {
  const sums = tensors.map((x) => x.sum());
  return tf.isFinite(sums.length === 1 ? sums[0]! : tf.addN(sums));
}

/** Splits a state key "<variable key>/<slot name>" at its last slash (variable keys may hold slashes). */
function splitSlotKey(key: string): [string, string] {
  const at = key.lastIndexOf("/");
  if (at <= 0) throw new Error(`optimizer state: slot key '${key}' is not '<variable>/<slot>'`);
  return [key.slice(0, at), key.slice(at + 1)];
}

/**
 * Where the slots of the variables updated together live: one flat tensor per slot name,
 * holding those variables' slots end to end in `keys` order.
 */
interface FlatLayout {
  keys: string[];
  shapes: number[][];
  sizes: number[];
  slots: Record<string, tf.Variable>;
}

/**
 * Applies a rule to all variables at once. Every rule is elementwise, so one step on the
 * concatenation of all weights and gradients (and flat slots) is the same arithmetic as one
 * step per variable, in a few dozen kernels instead of a dozen per variable: on wasm and
 * webgpu a small model's step is dominated by the cost of launching kernels, not by the
 * arithmetic (the BLOCK MLP's adam step went from ~200 kernels to ~55).
 */
class RuleOptimizer implements Optimizer {
  private iterations = 0;
  /** Slots of variables not in the flat layout, by variable key then slot name. */
  private readonly slotVars = new Map<string, Record<string, tf.Variable>>();
  private flat: FlatLayout | undefined;

  constructor(
    readonly name: OptimizerName,
    public learningRate: number,
    private readonly rule: UpdateRule,
  ) {}

  applyGradients(vars: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, mask?: tf.Tensor): tf.Tensor | undefined {
    const t = this.iterations + 1;
    const lr = this.learningRate;
    const keys = Object.keys(grads);
    for (const key of keys) {
      if (vars[key] === undefined) throw new Error(`optimizer ${this.name}: gradient '${key}' has no variable`);
    }
    if (keys.length === 0) {
      this.iterations = t;
      return mask?.clone();
    }
    const layout = this.layoutFor(keys, vars);
    const fused = this.rule.fused;
    let applied: tf.Tensor | undefined;
    const allFloat = keys.every((k) => vars[k]!.dtype === "float32");
    if (fused !== undefined && allFloat && mask !== undefined && tf.getKernel(fused.maskedKernel, tf.getBackend()) !== undefined) {
      applied = tf.tidy(() => {
        const out = tf.engine().runKernel(fused.maskedKernel, { ...this.fusedInputs(keys, vars, grads, layout), mask }, { ...fused.attrs(lr, t), count: keys.length }) as tf.Tensor[];
        keys.forEach((k, i) => vars[k]!.assign(out[i]!));
        this.rule.slots.forEach((name, i) => layout.slots[name]!.assign(out[keys.length + i]!));
        return out[out.length - 1]!;
      });
    } else if (fused !== undefined && allFloat && tf.getKernel(fused.kernel, tf.getBackend()) !== undefined) {
      applied = tf.tidy(() => {
        const out = tf.engine().runKernel(fused.kernel, this.fusedInputs(keys, vars, grads, layout), { ...fused.attrs(lr, t), count: keys.length }) as tf.Tensor[];
        const olds = [...keys.map((k) => vars[k]!), ...this.rule.slots.map((name) => layout.slots[name]!)];
        const keep = mask && tf.logicalAnd(mask, allFinite(out.slice(0, keys.length)));
        const chosen = keep ? out.map((o, i) => tf.where(keep, o, olds[i]!)) : out;
        keys.forEach((k, i) => vars[k]!.assign(chosen[i]!));
        this.rule.slots.forEach((name, i) => layout.slots[name]!.assign(chosen[keys.length + i]!));
        return keep;
      });
    } else {
      applied = tf.tidy(() => {
        const flatten = (ts: tf.Tensor[]): tf.Tensor => (ts.length === 1 ? ts[0]!.reshape([-1]) : tf.concat(ts.map((x) => x.reshape([-1]))));
        const w = flatten(keys.map((k) => vars[k]!));
        const g = flatten(keys.map((k) => grads[k]!));
        const next = this.rule.step(w, g, layout.slots, lr, t);
        const keep = mask && tf.logicalAnd(mask, allFinite([next.w]));
        const pick = (fresh: tf.Tensor, old: tf.Tensor): tf.Tensor => (keep ? tf.where(keep, fresh, old) : fresh);
        for (const name of this.rule.slots) layout.slots[name]!.assign(pick(next.slots[name]!, layout.slots[name]!));
        const nextW = pick(next.w, w);
        const parts = keys.length === 1 ? [nextW] : tf.split(nextW, layout.sizes);
        keys.forEach((k, i) => vars[k]!.assign(parts[i]!.reshape(layout.shapes[i]!)));
        return keep;
      });
    }
    this.iterations = t;
    return applied;
  }

  /** A fused kernel's inputs: `w0`, `g0`, `w1`, `g1`, … in the flat layout's order, then the flat slots by name. */
  private fusedInputs(keys: string[], vars: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, layout: FlatLayout): tf.NamedTensorMap {
    const inputs: tf.NamedTensorMap = {};
    keys.forEach((k, i) => {
      inputs[`w${i}`] = vars[k]!;
      inputs[`g${i}`] = grads[k]!;
    });
    for (const name of this.rule.slots) inputs[name] = layout.slots[name]!;
    return inputs;
  }

  getState(): { iterations: number; slots: Record<string, tf.Tensor> } {
    const slots: Record<string, tf.Tensor> = {};
    for (const [key, byName] of this.slotVars) {
      for (const [name, v] of Object.entries(byName)) slots[`${key}/${name}`] = v.clone();
    }
    if (this.flat !== undefined) {
      for (const [key, byName] of this.splitFlat(this.flat)) {
        for (const [name, v] of Object.entries(byName)) slots[`${key}/${name}`] = v;
      }
    }
    return { iterations: this.iterations, slots };
  }

  setState(state: { iterations: number; slots: Record<string, tf.Tensor> }): void {
    if (!Number.isInteger(state.iterations) || state.iterations < 0) {
      throw new Error(`optimizer ${this.name}: iterations must be a whole number ≥ 0, got ${state.iterations}`);
    }
    const grouped = new Map<string, Record<string, tf.Tensor>>();
    for (const [key, tensor] of Object.entries(state.slots)) {
      const [variable, name] = splitSlotKey(key);
      if (!this.rule.slots.includes(name)) throw new Error(`optimizer ${this.name}: unknown slot '${name}' in '${key}'`);
      const entry = grouped.get(variable) ?? {};
      entry[name] = tensor;
      grouped.set(variable, entry);
    }
    for (const [variable, byName] of grouped) {
      const missing = this.rule.slots.filter((name) => byName[name] === undefined);
      if (missing.length > 0) throw new Error(`optimizer ${this.name}: variable '${variable}' lacks slot(s) ${missing.join(", ")}`);
    }
    this.disposeSlots();
    for (const [variable, byName] of grouped) {
      const slots: Record<string, tf.Variable> = {};
      for (const name of this.rule.slots) slots[name] = tf.variable(byName[name]!, false); // shares the data; assign never mutates it
      this.slotVars.set(variable, slots);
    }
    this.iterations = state.iterations;
  }

  dispose(): void {
    this.disposeSlots();
  }

  private disposeSlots(): void {
    for (const byName of this.slotVars.values()) for (const v of Object.values(byName)) v.dispose();
    this.slotVars.clear();
    if (this.flat !== undefined) for (const v of Object.values(this.flat.slots)) v.dispose();
    this.flat = undefined;
  }

  /** Copies of each variable's slots in a flat layout, as per-variable tensors the caller owns. */
  private splitFlat(layout: FlatLayout): Map<string, Record<string, tf.Tensor>> {
    const out = new Map<string, Record<string, tf.Tensor>>(layout.keys.map((k) => [k, {}]));
    for (const name of this.rule.slots) {
      const parts = tf.tidy(() => (layout.keys.length === 1 ? [layout.slots[name]!.clone()] : tf.split(layout.slots[name]!, layout.sizes)));
      layout.keys.forEach((k, i) => {
        out.get(k)![name] = tf.tidy(() => parts[i]!.reshape(layout.shapes[i]!));
        parts[i]!.dispose();
      });
    }
    return out;
  }

  /**
   * The flat layout for these variables, in this order. The same keys as the last step keep
   * theirs; otherwise the slots go back to per-variable storage and a new layout is made from
   * them (a variable seen for the first time starts its slots at zero).
   */
  private layoutFor(keys: string[], vars: Record<string, tf.Variable>): FlatLayout {
    const shapes = keys.map((k) => vars[k]!.shape.slice());
    const current = this.flat;
    if (current !== undefined && current.keys.length === keys.length && current.keys.every((k, i) => k === keys[i] && current.shapes[i]!.join() === shapes[i]!.join())) {
      return current;
    }
    if (current !== undefined) {
      for (const [key, byName] of this.splitFlat(current)) {
        const slots: Record<string, tf.Variable> = {};
        for (const name of this.rule.slots) {
          slots[name] = tf.variable(byName[name]!, false);
          byName[name]!.dispose(); // the variable keeps its own reference to the data
        }
        for (const v of Object.values(this.slotVars.get(key) ?? {})) v.dispose();
        this.slotVars.set(key, slots);
      }
      for (const v of Object.values(current.slots)) v.dispose();
      this.flat = undefined;
    }
    const sizes = shapes.map((shape) => shape.reduce((a, b) => a * b, 1));
    const slots: Record<string, tf.Variable> = {};
    for (const name of this.rule.slots) {
      slots[name] = tf.tidy(() => {
        const parts = keys.map((k, i) => {
          const own = this.slotVars.get(k)?.[name];
          if (own !== undefined && own.shape.join() !== shapes[i]!.join()) {
            throw new Error(`optimizer ${this.name}: slot '${k}/${name}' has shape [${own.shape.join(", ")}] but the variable has [${shapes[i]!.join(", ")}]`);
          }
          return own !== undefined ? own.reshape([-1]) : tf.zeros([sizes[i]!]);
        });
        return tf.variable(parts.length === 1 ? parts[0]!.clone() : tf.concat(parts), false);
      });
    }
    for (const k of keys) {
      const own = this.slotVars.get(k);
      if (own !== undefined) for (const v of Object.values(own)) v.dispose();
      this.slotVars.delete(k);
    }
    this.flat = { keys, shapes, sizes, slots };
    return this.flat;
  }
}

/** The optimizer a recipe names, with its arguments (defaults already filled in by the compiler). */
export function createOptimizer(config: OptimizerConfig, learningRate: number): Optimizer {
  return new RuleOptimizer(config.name, learningRate, ruleFor(config));
}

/** The slots the optimizer keeps per trainable weight, by name (adam: m, v; momentum: v; sgd: none). */
export function slotNames(config: OptimizerConfig): readonly string[] {
  return ruleFor(config).slots;
}
