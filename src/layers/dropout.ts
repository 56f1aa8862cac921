/** `dropout 0.5`: inverted dropout. */
import type { LayerKind } from "./kind.js";
import { noMultiplyAdds, noParams, noWeights, ok, sameAsInput } from "./shape.js";
import { COMMON } from "./words.js";

export interface DropoutConfig {
  op: "dropout";
  rate: number;
}

export const dropout: LayerKind<"dropout"> = {
  words: {
    word: "dropout",
    positional: "layer",
    info: {
      positional: [{ name: "rate", form: "number", summary: "fraction of units dropped, in [0, 1)" }],
      options: { ...COMMON },
      activation: false,
      summary: "inverted dropout (scales kept units by 1/(1−p) while training)",
      example: "dropout 0.5",
    },
  },
  resolve(ctx) {
    const first = ctx.first;
    const rate = first ? ctx.number(first, "the dropout rate") : undefined;
    if (rate === undefined || !first) return undefined;
    if (rate < 0 || rate >= 1) {
      ctx.error("NN3011", `A dropout rate is the fraction of units dropped, in [0, 1), but it is ${ctx.format(rate)}.`, first.range, rate >= 2 && rate < 100 ? `A percentage? Write \`dropout ${ctx.format(rate / 100)}\`.` : rate >= 1 ? "At 1 every unit would be dropped; typical rates are 0.1 to 0.5." : "For example: `dropout 0.5`.");
      return undefined;
    }
    return { op: "dropout", rate };
  },
  shape: (_c, input) => ok([...input]),
  params: noParams,
  weights: noWeights,
  multiplyAdds: noMultiplyAdds,
  text: (c) => `dropout ${c.rate}`,
  label: () => "dropout",
  baseName: () => "dropout",
  rows: (c) => [["rate", String(c.rate)]],
  intended: sameAsInput,
  tfjs({ config: c }, ctx) {
    ctx.applied(`tf.layers.dropout({ name: ${ctx.name}, rate: ${ctx.literal(c.rate)}, seed: ${ctx.seed()} })`, ctx.input(), undefined);
  },
  pytorch({ config: c }, ctx) {
    const attr = ctx.module(`nn.Dropout(${ctx.literal(c.rate)})`);
    ctx.output(`self.${attr}(${ctx.input()})`, undefined);
  },
};
