/**
 * Words for hovers and symbols: a resolved layer's options, shapes, parameter counts and the
 * vocabulary's one-line summaries, as Markdown.
 */
import { ACTIVATIONS, INITIALIZERS, LAYER_KINDS, LOSSES, OPTIMIZERS, RECIPE_SETTINGS, SEARCH_DISTRIBUTIONS, SEARCH_SETTINGS } from "../language/vocabulary.js";
import { exprSource, type AstBlock, type AstModel } from "../parser/index.js";
import { formatShape, type ActivationSpec, type CheckedLayer, type InitSpec, type LayerConfig } from "../typecheck/index.js";

export function count(n: number): string {
  return n.toLocaleString("en-US");
}

export function activationText(a: ActivationSpec): string {
  if (a.name === "leaky_relu" || a.name === "elu") return `${a.name}(${a.alpha})`;
  if (a.name === "maxout") return `maxout(${a.k})`;
  return a.name;
}

export function initText(i: InitSpec): string {
  if (i.name === "normal") return `normal(${i.std})`;
  if (i.name === "uniform") return `uniform(${i.limit})`;
  return i.name;
}

const pair = (p: readonly number[]): string => p.join("x");

/** The resolved options of a layer, defaults included, as `[name, value]` rows. */
export function configRows(c: LayerConfig): [string, string][] {
  const rows: [string, string][] = [];
  const weights = (w: { useBias: boolean; kernelInit: InitSpec; biasInit: number; l1: number; l2: number }): void => {
    rows.push(["init", initText(w.kernelInit)]);
    rows.push(["bias", w.useBias ? `yes, initial value ${w.biasInit}` : "none (`no_bias`)"]);
    if (w.l1 !== 0) rows.push(["l1", String(w.l1)]);
    if (w.l2 !== 0) rows.push(["l2", String(w.l2)]);
  };
  switch (c.op) {
    case "input":
      rows.push(["shape", formatShape(c.shape)]);
      break;
    case "dense":
      rows.push(["units", String(c.units)]);
      rows.push(["activation", c.activation ? activationText(c.activation) : "linear"]);
      weights(c);
      break;
    case "conv":
      rows.push(["kernel", pair(c.kernel)], ["filters", String(c.filters)], ["stride", pair(c.strides)], ["dilation", pair(c.dilation)], ["padding", c.padding]);
      rows.push(["activation", c.activation ? activationText(c.activation) : "linear"]);
      weights(c);
      break;
    case "pool":
      rows.push(["mode", c.mode], ["window", pair(c.size)], ["stride", pair(c.strides)], ["padding", c.padding]);
      break;
    case "global_pool":
      rows.push(["mode", c.mode]);
      break;
    case "reshape":
      rows.push(["shape", formatShape(c.shape)]);
      break;
    case "dropout":
      rows.push(["rate", String(c.rate)]);
      break;
    case "batchnorm":
      rows.push(["momentum", String(c.momentum)], ["epsilon", String(c.epsilon)]);
      if (c.activation) rows.push(["activation", activationText(c.activation)]);
      break;
    case "layernorm":
      rows.push(["epsilon", String(c.epsilon)]);
      if (c.activation) rows.push(["activation", activationText(c.activation)]);
      break;
    case "groupnorm":
      rows.push(["groups", String(c.groups)], ["epsilon", String(c.epsilon)]);
      if (c.activation) rows.push(["activation", activationText(c.activation)]);
      break;
    case "activation":
      rows.push(["activation", activationText(c.activation)]);
      break;
    case "flatten":
    case "add":
      break;
  }
  return rows;
}

export function paramsText(l: CheckedLayer): string {
  const total = l.params.trainable + l.params.nonTrainable;
  if (total === 0) return "no parameters";
  const one = total === 1 ? "parameter" : "parameters";
  return l.params.nonTrainable === 0 ? `${count(total)} ${one}` : `${count(total)} ${one} (${count(l.params.trainable)} trainable)`;
}

/** `28x28x1 → 28x28x32` (an add shows its inputs joined by `+`). */
export function flowText(l: CheckedLayer): string {
  const inputs = l.inputShapes.map(formatShape).join(" + ");
  return inputs ? `${inputs} → ${formatShape(l.outputShape)}` : formatShape(l.outputShape);
}

export function signature(d: AstModel | AstBlock): string {
  const params = d.params.map((p) => (p.default ? `${p.name.name} = ${exprSource(p.default)}` : p.name.name));
  return `${d.kind} ${d.name?.name ?? "?"}${params.length > 0 ? `(${params.join(", ")})` : ""}`;
}

/** The vocabulary's summary of a word, for hovers on keywords and names of the language. */
export function wordSummary(word: string): string | undefined {
  const kind = LAYER_KINDS[word];
  if (kind) return `**${word}** (layer): ${kind.summary}. Example: \`${kind.example}\``;
  const act = ACTIVATIONS[word];
  if (act) return `**${word}** (activation): ${act.summary}`;
  const init = INITIALIZERS[word];
  if (init) return `**${word}** (initialiser): ${init.summary}`;
  const opt = OPTIMIZERS[word];
  if (opt) return `**${word}** (optimizer): ${opt.summary}; default learning rate ${opt.defaultLr}${opt.args.length ? `; arguments ${opt.args.map((a) => `${a.name} = ${a.default}`).join(", ")}` : ""}`;
  const loss = LOSSES[word];
  if (loss) return `**${word}** (loss): ${loss.summary}`;
  const dist = SEARCH_DISTRIBUTIONS[word];
  if (dist) return `**${word}(${dist.args})** (distribution): ${dist.summary}`;
  return undefined;
}

export function settingSummary(word: string, search: boolean): string | undefined {
  const s = (search ? SEARCH_SETTINGS[word] : undefined) ?? RECIPE_SETTINGS[word];
  return s ? `**${word}**: ${s.summary}. Example: \`${s.example}\`` : undefined;
}
