/** `dense 100 relu`: a fully connected layer. */
import type { LayerKind } from "./kind.js";
import { activationParams, elementCount, fail, finiteCount, formatShape, lastAxis, requirePositive, withActivation } from "./shape.js";
import type { ActivationSpec, LayerConfig, WeightOptions } from "./types.js";
import { COMMON, WEIGHTS } from "./words.js";
import { activationRows, weightRows } from "./rows.js";
import { channels } from "./torch.js";

export type DenseConfig = { op: "dense"; units: number; activation?: ActivationSpec } & WeightOptions;

export const dense: LayerKind<"dense"> = {
  words: {
    word: "dense",
    positional: "units",
    info: {
      positional: [{ name: "units", form: "integer", summary: "number of output units" }],
      options: { ...COMMON, ...WEIGHTS },
      activation: true,
      summary: "fully connected layer",
      example: "dense 100 relu",
    },
  },
  resolve(ctx) {
    const units = ctx.first ? ctx.positiveInt(ctx.first, "the number of units of `dense`") : undefined;
    const w = ctx.weights();
    if (units === undefined || !w || !ctx.activationOk) return undefined;
    return withTrailing({ op: "dense", units, ...w }, ctx.activation);
  },
  shape(config, input) {
    const bad = requirePositive("units", `The number of units of \`dense\``, `${config.units}`, [config.units]);
    if (bad) return bad;
    if (input.length !== 1) {
      return fail(
        "NN3001",
        "input",
        `\`dense\` needs a vector (rank 1), but its input is ${formatShape(input)}.`,
        input.length === 3 ? "Add `flatten` (or `global avgpool`) before it?" : "Add `flatten` before it?",
      );
    }
    return withActivation(config.activation, [config.units], `dense ${config.units}`, []);
  },
  params: (c, input) => ({ trainable: lastAxis(input) * c.units + (c.useBias ? c.units : 0) + activationParams(c.activation, [c.units]), nonTrainable: 0 }),
  weights: (c, input) => [{ name: "kernel", shape: `${lastAxis(input)}x${c.units}`, values: BigInt(lastAxis(input)) * BigInt(c.units) }],
  multiplyAdds: (c, input) => finiteCount(elementCount(input) * c.units),
  text: (c) => `dense ${c.units}`,
  label: () => "dense",
  baseName: () => "dense",
  rows: (c) => [["units", String(c.units)], ...activationRows(c.activation, true), ...weightRows(c)],
  intended: (c) => [c.units],
  tfjs({ config: c }, ctx) {
    const act = ctx.builtin(c.activation);
    const opts = [`name: ${ctx.name}`, `units: ${c.units}`, ...(act ? [`activation: ${ctx.literal(act)}`] : []), ...ctx.weightOptions(c)];
    ctx.applied(`tf.layers.dense({ ${opts.join(", ")}${ctx.trainable} })`, ctx.input(), c.activation, true);
  },
  pytorch({ config: c, inputShapes }, ctx) {
    const inputs = channels(inputShapes[0]);
    const attr = ctx.module(`nn.Linear(${inputs}, ${c.units}${c.useBias ? "" : ", bias=False"})`);
    ctx.weight(attr, { tf: "kernel", path: "weight", layout: "dense", shape: [inputs, c.units], init: c.kernelInit, l1: c.l1, l2: c.l2 });
    if (c.useBias) ctx.weight(attr, { tf: "bias", path: "bias", layout: "same", shape: [c.units], init: { constant: c.biasInit } });
    ctx.output(`self.${attr}(${ctx.input()})`, c.activation, true);
  },
};

/** Adds a trailing activation to a config literal (as its last key). */
export function withTrailing<T extends LayerConfig>(config: T, activation: ActivationSpec | undefined): T {
  if (activation) (config as T & { activation?: ActivationSpec }).activation = activation;
  return config;
}
