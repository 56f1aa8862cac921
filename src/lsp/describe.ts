/**
 * Words for hovers and symbols: a resolved layer's options, shapes, parameter counts and the
 * vocabulary's one-line summaries, as Markdown.
 */
import { ACTIVATIONS, INITIALIZERS, LAYER_KINDS, LOSSES, OPTIMIZERS, RECIPE_SETTINGS, SEARCH_DISTRIBUTIONS, SEARCH_SETTINGS } from "../language/vocabulary.js";
import { exprSource, type AstBlock, type AstModel } from "../parser/index.js";
import { configRows } from "../layers/index.js";
import { formatShape, type CheckedLayer } from "../typecheck/index.js";

export function count(n: number): string {
  return n.toLocaleString("en-US");
}

export { configRows };

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

/** What each merge does, and an example: for completion, hovers on merge words and `keep`. */
export const MERGE_SUMMARIES: Record<"concat" | "add" | "multiply" | "keep", { summary: string; example: string }> = {
  concat: { summary: "joins its inputs on the channel axis (the last); one branch alone is joined to the input", example: "concat { conv 1x1x64 relu } { conv 3x3x64 relu same }" },
  add: { summary: "sums its inputs, which must have one shape; one branch alone is added to the input", example: "add { conv 3x3x64 same } { }" },
  multiply: { summary: "multiplies its inputs elementwise, an axis of size 1 scaling every position alike; one branch alone gates the input", example: "multiply { global avgpool -> dense 16 relu -> dense 64 sigmoid -> reshape 1x1x64 }" },
  keep: { summary: "names the tensor at this point, for a merge further on to join", example: "keep e1" },
};

/** The vocabulary's summary of a word, for hovers on keywords and names of the language. */
export function wordSummary(word: string): string | undefined {
  if (Object.hasOwn(MERGE_SUMMARIES, word)) {
    const m = MERGE_SUMMARIES[word as keyof typeof MERGE_SUMMARIES];
    return `**${word}** (${word === "keep" ? "keep a tensor" : "merge"}): ${m.summary}. Example: \`${m.example}\``;
  }
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
