/**
 * The slower half of habit 10: every case of test/shape-cases.ts is built again as real
 * TensorFlow.js layers (pure JS, `cpu` backend) and run twice, once on a symbolic `tf.input`
 * and once on a small random batch. For a successful case TF.js must give the same shape
 * (batch dropped) and the same trainable / non-trainable parameter counts. For an error case
 * TF.js must fail too, so the checker catches everything TF.js would. A case marked
 * `tfjsDiffers` records a deliberate disagreement, and the test checks that it still holds.
 *
 * "TF.js fails" means: it throws, or it produces a tensor with a zero, negative or
 * fractional size (it does that, without throwing, for a valid window larger than its input).
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ActivationSpec, LayerConfig, ParamCount } from "../src/typecheck/layer-config.js";
import { activationLayer, channelPad, groupedConv2d } from "../src/runtime/layers.js";
import { SHAPE_CASES, inputsOf, type ShapeCase } from "./shape-cases.js";

/** A TF.js layer, or a tensor function for what TF.js has no layer for (maxout, groupnorm). */
type Stage = tf.layers.Layer | { name: string; run: (x: tf.Tensor) => tf.Tensor };

interface Built {
  stages: Stage[];
  /** Parameters of stages TF.js has no layer for, by formula. */
  extra: ParamCount;
}

const isLayer = (s: Stage): s is tf.layers.Layer => s instanceof tf.layers.Layer;
const range = (from: number, to: number): number[] => Array.from({ length: Math.max(to - from, 0) }, (_, i) => from + i);

/**
 * `tf.reshape` checks only that the number of values is unchanged, so it takes a shape like
 * [4, 4, 5, 0.6] for 5 groups of 3 channels. The runtime's groupnorm and maxout must refuse a
 * fractional group as TensorFlow's own reshape does; so does this reference.
 */
function reshapeWhole(x: tf.Tensor, shape: number[]): tf.Tensor {
  if (!shape.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`cannot reshape [${x.shape.join(", ")}] into [${shape.join(", ")}]`);
  return tf.reshape(x, shape);
}

/** maxout(k): the maximum over consecutive groups of k units of the last axis. */
function maxoutStage(k: number): Stage {
  return {
    name: `maxout(${k})`,
    run: (x) =>
      tf.tidy(() => {
        const c = x.shape[x.rank - 1]!;
        return tf.max(reshapeWhole(x, [...x.shape.slice(0, -1), c / k, k]), -1);
      }),
  };
}

/**
 * Group normalisation as the runtime will do it: split the channels into G groups, normalise
 * each group over its positions and channels, scale and shift per channel. TF.js has no such
 * layer, so its parameters (gamma and beta, one each per channel: 2C) are counted by formula.
 */
function groupnormStage(groups: number, epsilon: number): Stage {
  return {
    name: `groupnorm ${groups}`,
    run: (x) =>
      tf.tidy(() => {
        const c = x.shape[x.rank - 1]!;
        const grouped = reshapeWhole(x, [...x.shape.slice(0, -1), groups, c / groups]);
        const axes = range(1, grouped.rank).filter((a) => a !== grouped.rank - 2);
        const { mean, variance } = tf.moments(grouped, axes, true);
        const normed = tf.reshape(tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, epsilon))), x.shape);
        return tf.add(tf.mul(normed, tf.ones([c])), tf.zeros([c]));
      }),
  };
}

/** An activation applied to a tensor of `rank` dimensions (batch left out). */
function activationStages(spec: ActivationSpec, rank: number): Stage[] {
  switch (spec.name) {
    case "softmax":
      // TF.js's Softmax layer defaults to axis 1, not the last axis as Keras does.
      return [tf.layers.softmax({ axis: -1 })];
    case "leaky_relu":
      return [tf.layers.leakyReLU({ alpha: spec.alpha })];
    case "elu":
      return [tf.layers.elu({ alpha: spec.alpha })];
    case "prelu":
      // Channel-wise: one slope per unit of the last axis, shared over the other axes.
      return [tf.layers.prelu(rank > 1 ? { sharedAxes: range(1, rank) } : {})];
    case "maxout":
      return [maxoutStage(spec.k)];
    case "hard_sigmoid":
    case "hard_swish":
      // TF.js's hardSigmoid is Keras 2's 0.2x + 0.5; nnc's is relu6(x + 3)/6 (the runtime's layer).
      return [activationLayer(spec)];
    default:
      return [tf.layers.activation({ activation: spec.name })];
  }
}

const NONE: ParamCount = { trainable: 0, nonTrainable: 0 };

/** The TF.js stages for one layer of the spec, given its (first) input shape. */
function build(config: LayerConfig, input: readonly number[]): Built {
  const then = (activation: ActivationSpec | undefined, rank: number) => (activation ? activationStages(activation, rank) : []);
  switch (config.op) {
    case "input":
      return { stages: [], extra: NONE };
    case "dense":
      return { stages: [tf.layers.dense({ units: config.units, useBias: config.useBias }), ...then(config.activation, 1)], extra: NONE };
    case "conv": {
      if (input.length === 2 && config.sequence) {
        return { stages: [tf.layers.conv1d({ filters: config.filters, kernelSize: config.kernel[0], strides: config.strides[0], padding: config.padding === "full" ? "valid" : config.padding, useBias: config.useBias }), ...then(config.activation, 2)], extra: NONE };
      }
      const [dh, dw] = config.dilation;
      const [ph, pw] = [dh * (config.kernel[0] - 1), dw * (config.kernel[1] - 1)]; // k' - 1
      const full = config.padding === "full";
      return {
        stages: [
          ...(full ? [tf.layers.zeroPadding2d({ padding: [[ph, ph], [pw, pw]] })] : []),
          config.groups > 1
            ? groupedConv2d({ filters: config.filters, kernelSize: [...config.kernel] as [number, number], strides: [...config.strides] as [number, number], padding: config.padding === "full" ? "valid" : config.padding, groups: config.groups, useBias: config.useBias, kernelInitializer: tf.initializers.glorotUniform({}) })
            : tf.layers.conv2d({
            filters: config.filters,
            kernelSize: [...config.kernel],
            strides: [...config.strides],
            dilationRate: [dh, dw],
            padding: config.padding === "full" ? "valid" : config.padding,
            useBias: config.useBias,
          }),
          ...then(config.activation, 3),
        ],
        extra: NONE,
      };
    }
    case "pool": {
      if (input.length === 2 && config.sequence) {
        const args = { poolSize: config.size[0], strides: config.strides[0], padding: config.padding === "full" ? "valid" : config.padding };
        return { stages: [config.mode === "max" ? tf.layers.maxPooling1d(args) : tf.layers.averagePooling1d(args)], extra: NONE };
      }
      const full = config.padding === "full";
      const [ph, pw] = [config.size[0] - 1, config.size[1] - 1];
      const args = { poolSize: [...config.size] as [number, number], strides: [...config.strides] as [number, number], padding: config.padding === "full" ? "valid" : config.padding };
      return {
        stages: [
          ...(full ? [tf.layers.zeroPadding2d({ padding: [[ph, ph], [pw, pw]] })] : []),
          config.mode === "max" ? tf.layers.maxPooling2d(args) : tf.layers.averagePooling2d(args),
        ],
        extra: NONE,
      };
    }
    case "global_pool":
      if (input.length === 2) return { stages: [config.mode === "max" ? tf.layers.globalMaxPooling1d({}) : tf.layers.globalAveragePooling1d({})], extra: NONE };
      return { stages: [config.mode === "max" ? tf.layers.globalMaxPooling2d({}) : tf.layers.globalAveragePooling2d({})], extra: NONE };
    case "flatten":
      return { stages: [tf.layers.flatten()], extra: NONE };
    case "reshape":
      return { stages: [tf.layers.reshape({ targetShape: [...config.shape] })], extra: NONE };
    case "dropout":
      return { stages: [tf.layers.dropout({ rate: config.rate })], extra: NONE };
    case "batchnorm":
      return {
        stages: [tf.layers.batchNormalization({ axis: -1, momentum: config.momentum, epsilon: config.epsilon }), ...then(config.activation, input.length)],
        extra: NONE,
      };
    case "layernorm":
      return { stages: [tf.layers.layerNormalization({ axis: -1, epsilon: config.epsilon }), ...then(config.activation, input.length)], extra: NONE };
    case "groupnorm": {
      const channels = input[input.length - 1] ?? 0;
      return { stages: [groupnormStage(config.groups, config.epsilon), ...then(config.activation, input.length)], extra: { trainable: 2 * channels, nonTrainable: 0 } };
    }
    case "activation":
      return { stages: activationStages(config.activation, input.length), extra: NONE };
    case "add":
      return { stages: [tf.layers.add()], extra: NONE };
    case "concat":
      return { stages: [tf.layers.concatenate({ axis: -1 })], extra: NONE };
    case "multiply":
      return { stages: [tf.layers.multiply()], extra: NONE };
    case "depthwise":
      return {
        stages: [
          ...fullPad(config.kernel, config.padding),
          tf.layers.depthwiseConv2d({ kernelSize: [...config.kernel], depthMultiplier: config.multiplier, strides: [...config.strides], padding: config.padding === "full" ? "valid" : config.padding, useBias: config.useBias }),
          ...then(config.activation, 3),
        ],
        extra: NONE,
      };
    case "separable":
      return {
        stages: [
          ...fullPad(config.kernel, config.padding),
          tf.layers.separableConv2d({ filters: config.filters, kernelSize: [...config.kernel], depthMultiplier: config.multiplier, strides: [...config.strides], padding: config.padding === "full" ? "valid" : config.padding, useBias: config.useBias }),
          ...then(config.activation, 3),
        ],
        extra: NONE,
      };
    case "upconv":
      return { stages: [tf.layers.conv2dTranspose({ filters: config.filters, kernelSize: [...config.kernel], strides: [...config.strides], padding: config.padding, useBias: config.useBias }), ...then(config.activation, 3)], extra: NONE };
    case "upsample":
      return { stages: [tf.layers.upSampling2d({ size: [...config.size], interpolation: config.mode })], extra: NONE };
    case "pad": {
      const [t, b, l, r] = config.sides;
      const spatial = t + b + l + r > 0 ? [tf.layers.zeroPadding2d({ padding: [[t, b], [l, r]] })] : [];
      return { stages: [...spatial, ...(config.channels > 0 ? [channelPad({ channels: config.channels })] : [])], extra: NONE };
    }
    case "crop": {
      const [t, b, l, r] = config.sides;
      return { stages: [tf.layers.cropping2D({ cropping: [[t, b], [l, r]] })], extra: NONE };
    }
  }
}

/** `full` padding as codegen writes it: zeros k−1 on every side, then a valid window. */
function fullPad(kernel: readonly [number, number], padding: string): Stage[] {
  if (padding !== "full") return [];
  return [tf.layers.zeroPadding2d({ padding: [[kernel[0] - 1, kernel[0] - 1], [kernel[1] - 1, kernel[1] - 1]] })];
}

type Outcome = { ok: true; shape: number[]; params: ParamCount } | { ok: false; why: string };

function sizeOf(weights: readonly tf.LayerVariable[]): number {
  return weights.reduce((sum, w) => sum + w.shape.reduce<number>((a, b) => a * (b ?? 0), 1), 0);
}

function paramsOf(built: Built): ParamCount {
  const layers = built.stages.filter(isLayer);
  return {
    trainable: built.extra.trainable + layers.reduce((n, l) => n + sizeOf(l.trainableWeights), 0),
    nonTrainable: built.extra.nonTrainable + layers.reduce((n, l) => n + sizeOf(l.nonTrainableWeights), 0),
  };
}

/** Frees the layers' weights (Layer.dispose() refuses a layer whose call failed). */
function dispose(built: Built): void {
  for (const s of built.stages) if (isLayer(s)) for (const w of s.weights) w.dispose();
}

/** A shape TF.js gave, judged: a real tensor has positive whole sizes. */
function judge(shape: readonly (number | null)[], params: () => ParamCount): Outcome {
  const dims = shape.slice(1) as number[];
  if (!dims.every((d) => Number.isInteger(d) && d > 0)) return { ok: false, why: `TF.js gives the shape [${dims.join(", ")}]` };
  return { ok: true, shape: dims, params: params() };
}

type Flowing = tf.Tensor | tf.SymbolicTensor;

function applyStages(built: Built, inputs: Flowing[]): Flowing {
  let x: Flowing | Flowing[] = inputs.length === 1 ? inputs[0]! : inputs;
  for (const stage of built.stages) {
    if (isLayer(stage)) x = stage.apply(x as tf.Tensor | tf.Tensor[]) as Flowing;
    else x = stage.run(x as tf.Tensor);
  }
  return x as Flowing;
}

/** The case run on symbolic inputs; undefined when a stage needs real tensors. */
function runSymbolic(c: ShapeCase): Outcome | undefined {
  const inputShapes = c.config.op === "input" ? [c.config.shape] : inputsOf(c);
  let built: Built | undefined;
  try {
    built = build(c.config, inputShapes[0] ?? []);
    if (!built.stages.every(isLayer)) return undefined;
    const out = applyStages(built, inputShapes.map((shape) => tf.input({ shape })));
    const done = built;
    return judge(out.shape, () => paramsOf(done));
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  } finally {
    if (built) dispose(built);
  }
}

/** The case run on a random batch of two. */
function runEager(c: ShapeCase): Outcome {
  const inputShapes = c.config.op === "input" ? [c.config.shape] : inputsOf(c);
  let built: Built | undefined;
  try {
    const b = (built = build(c.config, inputShapes[0] ?? []));
    const out = tf.tidy(() => applyStages(b, inputShapes.map((s) => tf.randomNormal([2, ...s]))) as tf.Tensor);
    const shape = out.shape;
    out.dispose();
    return judge(shape, () => paramsOf(b));
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  } finally {
    if (built) dispose(built);
  }
}

let tensorsBefore = 0;
beforeAll(async () => {
  await tf.setBackend("cpu");
  await tf.ready();
  tensorsBefore = tf.memory().numTensors;
});

afterAll(() => {
  expect(tf.memory().numTensors).toBe(tensorsBefore);
});

const agreeing = SHAPE_CASES.filter((c) => c.tfjsDiffers === undefined);
const differing = SHAPE_CASES.filter((c) => c.tfjsDiffers !== undefined);

describe("TensorFlow.js agrees", () => {
  it.each(agreeing.filter((c) => "shape" in c.expected).map((c) => [c.name, c] as const))("%s", (_name, c: ShapeCase) => {
    if (!("shape" in c.expected)) return;
    const symbolic = runSymbolic(c);
    const eager = runEager(c);
    for (const outcome of symbolic === undefined ? [eager] : [symbolic, eager]) {
      expect(outcome, JSON.stringify(outcome)).toEqual({ ok: true, shape: c.expected.shape, params: c.expected.params });
    }
  });
});

describe("TensorFlow.js refuses too", () => {
  it.each(agreeing.filter((c) => "error" in c.expected).map((c) => [c.name, c] as const))("%s", (_name, c: ShapeCase) => {
    const outcomes = [runSymbolic(c), runEager(c)];
    expect(
      outcomes.some((o) => o !== undefined && !o.ok),
      JSON.stringify(outcomes),
    ).toBe(true);
  });
});

describe("TensorFlow.js disagrees on purpose", () => {
  it.each(differing.map((c) => [c.name, c] as const))("%s", (_name, c: ShapeCase) => {
    if ("error" in c.expected) {
      // We refuse it; TF.js runs it without complaint (symbolically it may leave a size unknown).
      const eager = runEager(c);
      expect(eager.ok, JSON.stringify(eager)).toBe(true);
    } else {
      const outcomes = [runSymbolic(c), runEager(c)].filter((o) => o !== undefined);
      // We accept it; TF.js refuses it, so codegen must not hand it over as it is.
      expect(outcomes.some((o) => !o.ok), JSON.stringify(outcomes)).toBe(true);
    }
  });
});
