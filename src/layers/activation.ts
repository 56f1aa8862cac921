/** A lone activation as a layer: `-> relu`, `-> leaky_relu(0.1)`, `-> maxout(2)`. */
import type { LayerKind } from "./kind.js";
import { activationParams, activationWord, applyActivation, noMultiplyAdds, noWeights } from "./shape.js";
import type { ActivationSpec } from "./types.js";

export interface ActivationLayerConfig {
  op: "activation";
  activation: ActivationSpec;
}

export const activation: LayerKind<"activation"> = {
  // Written as the activation's own name, which the checker resolves (see LayerResolver).
  words: undefined,
  resolve: undefined,
  shape: (c, input) => applyActivation(c.activation, [...input], undefined, []),
  params: (c, input) => ({ trainable: activationParams(c.activation, input), nonTrainable: 0 }),
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: (c) => activationWord(c.activation),
  label: (c) => c.activation.name,
  baseName: (c) => c.activation.name,
  rows: (c) => [["activation", activationWord(c.activation)]],
  intended: (c, input) => (input && c.activation.name !== "maxout" ? [...input] : undefined),
  tfjs(layer, ctx) {
    ctx.assign(`nnc.apply(nnc.activationLayer(${ctx.literal(layer.config.activation)}, ${ctx.name}${layer.frozen ? ", false" : ""}), ${ctx.input()})`);
  },
  pytorch(layer, ctx) {
    ctx.output(ctx.activation(ctx.input(), layer.config.activation), undefined);
  },
};
