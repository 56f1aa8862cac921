/** `batchnorm relu`, `layernorm`, `groupnorm 8 relu`: normalisation over the last axis. */
import type { LayerKind } from "./kind.js";
import { activationParams, fail, formatShape, lastAxis, nearestDivisors, noMultiplyAdds, noWeights, orList, requirePositive, sameAsInput, withActivation } from "./shape.js";
import { withTrailing } from "./dense.js";
import { activationRows } from "./rows.js";
import type { ActivationSpec } from "./types.js";
import { COMMON, NORM } from "./words.js";
import { channels } from "./torch.js";

export interface BatchnormConfig {
  op: "batchnorm";
  momentum: number;
  epsilon: number;
  activation?: ActivationSpec;
}
export interface LayernormConfig {
  op: "layernorm";
  epsilon: number;
  activation?: ActivationSpec;
}
export interface GroupnormConfig {
  op: "groupnorm";
  groups: number;
  epsilon: number;
  activation?: ActivationSpec;
}

export const batchnorm: LayerKind<"batchnorm"> = {
  words: {
    word: "batchnorm",
    positional: "layer",
    info: {
      positional: [],
      options: { ...COMMON, ...NORM, momentum: { value: "number", summary: "moving-average momentum (default 0.99)" } },
      activation: true,
      summary: "batch normalisation over the last axis",
      example: "batchnorm relu",
    },
  },
  resolve(ctx) {
    const momentum = ctx.numberOption("momentum", 0.99, (v) => v >= 0 && v < 1, "in [0, 1)");
    const epsilon = ctx.numberOption("epsilon", 1e-3, (v) => v > 0, "positive");
    if (momentum === undefined || epsilon === undefined || !ctx.activationOk) return undefined;
    return withTrailing({ op: "batchnorm", momentum, epsilon }, ctx.activation);
  },
  shape: (c, input) => withActivation(c.activation, [...input], "batchnorm", []),
  params: (c, input) => ({ trainable: 2 * lastAxis(input) + activationParams(c.activation, input), nonTrainable: 2 * lastAxis(input) }),
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: () => "batchnorm",
  label: () => "batchnorm",
  baseName: () => "batchnorm",
  rows: (c) => [["momentum", String(c.momentum)], ["epsilon", String(c.epsilon)], ...activationRows(c.activation, false)],
  intended: sameAsInput,
  tfjs({ config: c }, ctx) {
    ctx.applied(`tf.layers.batchNormalization({ name: ${ctx.name}, axis: -1, momentum: ${ctx.literal(c.momentum)}, epsilon: ${ctx.literal(c.epsilon)}${ctx.trainable} })`, ctx.input(), c.activation);
  },
  pytorch({ config: c, inputShapes }, ctx) {
    const n = channels(inputShapes[0]);
    const attr = ctx.module(`nnc.BatchNorm(${n}, momentum=${ctx.literal(c.momentum)}, epsilon=${ctx.literal(c.epsilon)})`);
    ctx.weight(attr, { tf: "gamma", path: "weight", layout: "same", shape: [n] });
    ctx.weight(attr, { tf: "beta", path: "bias", layout: "same", shape: [n] });
    ctx.weight(attr, { tf: "moving_mean", path: "running_mean", layout: "same", shape: [n] });
    ctx.weight(attr, { tf: "moving_variance", path: "running_var", layout: "same", shape: [n] });
    ctx.output(`self.${attr}(${ctx.input()})`, c.activation);
  },
};

export const layernorm: LayerKind<"layernorm"> = {
  words: {
    word: "layernorm",
    positional: "layer",
    info: { positional: [], options: { ...COMMON, ...NORM }, activation: true, summary: "layer normalisation over the last axis", example: "layernorm" },
  },
  resolve(ctx) {
    const epsilon = ctx.numberOption("epsilon", 1e-3, (v) => v > 0, "positive");
    if (epsilon === undefined || !ctx.activationOk) return undefined;
    return withTrailing({ op: "layernorm", epsilon }, ctx.activation);
  },
  shape: (c, input) => withActivation(c.activation, [...input], "layernorm", []),
  params: (c, input) => ({ trainable: 2 * lastAxis(input) + activationParams(c.activation, input), nonTrainable: 0 }),
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: () => "layernorm",
  label: () => "layernorm",
  baseName: () => "layernorm",
  rows: (c) => [["epsilon", String(c.epsilon)], ...activationRows(c.activation, false)],
  intended: sameAsInput,
  tfjs({ config: c }, ctx) {
    ctx.applied(`tf.layers.layerNormalization({ name: ${ctx.name}, axis: -1, epsilon: ${ctx.literal(c.epsilon)}${ctx.trainable} })`, ctx.input(), c.activation);
  },
  pytorch({ config: c, inputShapes }, ctx) {
    const n = channels(inputShapes[0]);
    const attr = ctx.module(`nnc.LayerNorm(${n}, epsilon=${ctx.literal(c.epsilon)})`);
    ctx.weight(attr, { tf: "gamma", path: "weight", layout: "same", shape: [n] });
    ctx.weight(attr, { tf: "beta", path: "bias", layout: "same", shape: [n] });
    ctx.output(`self.${attr}(${ctx.input()})`, c.activation);
  },
};

export const groupnorm: LayerKind<"groupnorm"> = {
  words: {
    word: "groupnorm",
    positional: "groups",
    info: {
      positional: [{ name: "groups", form: "integer", summary: "number of channel groups" }],
      options: { ...COMMON, ...NORM },
      activation: true,
      summary: "group normalisation: channels split into G groups",
      example: "groupnorm 8 relu",
    },
  },
  resolve(ctx) {
    const groups = ctx.first ? ctx.positiveInt(ctx.first, "the number of groups") : undefined;
    const epsilon = ctx.numberOption("epsilon", 1e-5, (v) => v > 0, "positive");
    if (groups === undefined || epsilon === undefined || !ctx.activationOk) return undefined;
    return withTrailing({ op: "groupnorm", groups, epsilon }, ctx.activation);
  },
  shape(config, input) {
    const words = `groupnorm ${config.groups}`;
    const bad = requirePositive("groups", `The number of groups of \`groupnorm\``, `${config.groups}`, [config.groups]);
    if (bad) return bad;
    const channels = lastAxis(input);
    if (input.length === 0 || channels % config.groups !== 0) {
      const options = nearestDivisors(channels, config.groups, 1, channels, 2).map((d) => `\`groupnorm ${d}\``);
      return fail(
        "NN3005",
        "groups",
        `\`${words}\` splits the channels into ${config.groups} groups, so it needs a channel count divisible by ${config.groups}, but its input ${formatShape(input)} has ${channels}.`,
        options.length > 0 ? `Use ${orList(options)}?` : undefined,
      );
    }
    return withActivation(config.activation, [...input], words, []);
  },
  params: (c, input) => ({ trainable: 2 * lastAxis(input) + activationParams(c.activation, input), nonTrainable: 0 }),
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: (c) => `groupnorm ${c.groups}`,
  label: () => "groupnorm",
  baseName: () => "groupnorm",
  rows: (c) => [["groups", String(c.groups)], ["epsilon", String(c.epsilon)], ...activationRows(c.activation, false)],
  intended: sameAsInput,
  tfjs({ config: c }, ctx) {
    ctx.applied(`nnc.groupNorm({ name: ${ctx.name}, groups: ${c.groups}, epsilon: ${ctx.literal(c.epsilon)}${ctx.trainable} })`, ctx.input(), c.activation);
  },
  pytorch({ config: c, inputShapes }, ctx) {
    const n = channels(inputShapes[0]);
    const attr = ctx.module(`nnc.GroupNorm(${c.groups}, ${n}, epsilon=${ctx.literal(c.epsilon)})`);
    ctx.weight(attr, { tf: "gamma", path: "weight", layout: "same", shape: [n] });
    ctx.weight(attr, { tf: "beta", path: "bias", layout: "same", shape: [n] });
    ctx.output(`self.${attr}(${ctx.input()})`, c.activation);
  },
};
