/**
 * Hover: a layer's shapes, parameter count and resolved options; a block call's expansion;
 * a model's, block's or parameter's declaration; the vocabulary's summary of a word.
 */
import type { Range } from "../diagnostics/diagnostic.js";
import { LAYER_KINDS } from "../language/vocabulary.js";
import { exprSource, type AstBlock, type AstBlockCall, type AstLayer, type AstModel } from "../parser/index.js";
import { formatShape } from "../typecheck/index.js";
import { allItems, declarationAt, instancesOf, itemAt, occurrenceAt, type Analysis, type Occurrence } from "./analysis.js";
import { containsOffset, rangeKey } from "./convert.js";
import { configRows, count, flowText, paramsText, settingSummary, signature, wordSummary } from "./describe.js";

export interface HoverResult {
  markdown: string;
  range: Range;
}

const MAX_ROWS = 40;

export function hover(a: Analysis, offset: number): HoverResult | undefined {
  const occ = occurrenceAt(a, offset);
  const body = itemAt(a, offset);
  if (occ && body?.item.kind === "block-call" && !occ.declaration && occ.kind !== "param") {
    return { markdown: blockCallHover(a, body.item), range: occ.range };
  }
  if (occ) {
    const md = symbolHover(a, occ);
    if (md) return { markdown: md, range: occ.range };
  }
  if (body?.item.kind === "layer") return layerHover(a, body.item, offset);
  if (body?.item.kind === "block-call") return { markdown: blockCallHover(a, body.item), range: body.item.range };
  return wordHover(a, offset);
}

function layerHover(a: Analysis, layer: AstLayer, offset: number): HoverResult {
  const kind = layer.op.name;
  const out: string[] = [];
  // The word under the cursor first, where it is an option or the activation.
  let range = layer.range;
  for (const name in layer.options) {
    const o = layer.options[name]!;
    if (containsOffset(o.name.range, offset)) {
      const info = LAYER_KINDS[kind]?.options[name];
      if (info) out.push(`**${name}** (option of \`${kind}\`): ${info.summary}`, "");
      range = o.range;
    }
  }
  if (layer.activation && containsOffset(layer.activation.range, offset) && layer.activation.name.name !== kind) {
    const w = wordSummary(layer.activation.name.name);
    if (w) out.push(w, "");
    range = layer.activation.range;
  }
  const instances = instancesOf(a, layer);
  const info = LAYER_KINDS[kind];
  const first = instances[0];
  if (!first) {
    out.push(`**${kind}**${info ? ` — ${info.summary}` : ""}`, "", "_Shape unknown: an error above or here stops the shapes._");
    return { markdown: out.join("\n"), range };
  }
  const l = first.layer;
  out.push(`**${l.kind}** \`${l.name}\`${info ? ` — ${info.summary}` : ""}`, "");
  const distinct = new Set(instances.map((i) => `${flowText(i.layer)}|${paramsText(i.layer)}`));
  if (instances.length === 1 || distinct.size === 1) {
    out.push(`\`${flowText(l)}\` · ${paramsText(l)}${l.frozen ? " · frozen" : ""}${instances.length > 1 ? ` · ${instances.length} instances` : ""}`);
  } else {
    out.push(`${instances.length} instances (a block or \`repeat\` expands it several times):`, "");
    for (const i of instances.slice(0, MAX_ROWS)) out.push(`- \`${i.layer.name}\` in \`${i.model}\`: \`${flowText(i.layer)}\` · ${paramsText(i.layer)}`);
    if (instances.length > MAX_ROWS) out.push(`- … and ${instances.length - MAX_ROWS} more`);
  }
  const rows = configRows(l.config);
  if (rows.length > 0) {
    out.push("", instances.length > 1 ? "Options (first instance):" : "Options:", "");
    for (const [k, v] of rows) out.push(`- ${k}: \`${v}\``);
  }
  return { markdown: out.join("\n"), range };
}

function blockCallHover(a: Analysis, call: AstBlockCall): string {
  const decl = findDecl(a, call.callee.name);
  const out: string[] = [];
  if (decl?.kind === "block") out.push("```nn", signature(decl), "```");
  else out.push(`\`${call.callee.name}(…)\``);
  const runs = a.expansions.get(rangeKey(call.range)) ?? [];
  if (runs.length === 0) {
    out.push("", "_No expansion: an error above or here stops the shapes._");
    return out.join("\n");
  }
  const run = runs[0]!;
  const total = run.layers.reduce((s, l) => s + l.params.trainable + l.params.nonTrainable, 0);
  const input = run.layers[0]!.inputShapes[0];
  const output = run.layers[run.layers.length - 1]!.outputShape;
  out.push("", `Expands to ${run.layers.length} layer${run.layers.length === 1 ? "" : "s"}${input ? `: \`${formatShape(input)} → ${formatShape(output)}\`` : ""} · ${count(total)} parameters${runs.length > 1 ? ` (first of ${runs.length} expansions)` : ""}`, "");
  out.push("| layer | kind | output | params |", "|---|---|---|---:|");
  for (const l of run.layers.slice(0, MAX_ROWS)) out.push(`| ${l.name} | ${l.kind} | ${formatShape(l.outputShape)} | ${count(l.params.trainable + l.params.nonTrainable)} |`);
  if (run.layers.length > MAX_ROWS) out.push(`| … ${run.layers.length - MAX_ROWS} more | | | |`);
  return out.join("\n");
}

function findDecl(a: Analysis, name: string): AstModel | AstBlock | undefined {
  for (const d of a.result.ast.declarations) if ((d.kind === "model" || d.kind === "block") && d.name?.name === name) return d;
  return undefined;
}

function symbolHover(a: Analysis, occ: Occurrence): string | undefined {
  if (occ.kind === "param") {
    const [, index] = occ.key.split(":");
    const d = a.result.ast.declarations[Number(index)];
    if (!d || (d.kind !== "model" && d.kind !== "block")) return undefined;
    const p = d.params.find((x) => x.name.name === occ.name);
    if (!p) return undefined;
    const out = [`**${occ.name}**: parameter of the ${d.kind} \`${d.name?.name ?? "?"}\``, "", "```nn", signature(d), "```"];
    if (p.default) out.push("", `Default: \`${exprSource(p.default)}\``);
    if (d.kind === "model") {
      const m = a.result.program.models.find((x) => x.name === d.name?.name);
      const v = m?.args[occ.name];
      if (v !== undefined) out.push("", `Checked with \`${occ.name} = ${v}\``);
    }
    return out.join("\n");
  }
  const d = findDecl(a, occ.name);
  if (!d) return undefined;
  const out = ["```nn", signature(d), "```"];
  if (d.kind === "model") {
    const m = a.result.program.models.find((x) => x.name === occ.name);
    if (m) {
      out.push("", `\`${m.input ? formatShape(m.input) : "?"} → ${m.output ? formatShape(m.output) : "?"}\` · ${m.layers.length} layers · ${count(m.params.total)} parameters (${count(m.params.trainable)} trainable)`);
      if (!m.complete) out.push("", "_Incomplete: an error stops the shapes._");
    }
  } else {
    const calls = [...allItems(a.result.ast.declarations)].filter((b) => b.item.kind === "block-call" && b.item.callee.name === occ.name).length;
    out.push("", `${d.body.length} item${d.body.length === 1 ? "" : "s"} · called ${calls} time${calls === 1 ? "" : "s"} in this file`);
  }
  return out.join("\n");
}

/** A word of the language (an optimizer, a loss, a recipe setting, …) under the cursor. */
function wordHover(a: Analysis, offset: number): HoverResult | undefined {
  const text = a.text;
  let s = offset;
  let e = offset;
  while (s > 0 && /[A-Za-z0-9_]/.test(text[s - 1]!)) s--;
  while (e < text.length && /[A-Za-z0-9_]/.test(text[e]!)) e++;
  if (s === e) return undefined;
  const word = text.slice(s, e);
  const decl = declarationAt(a, offset);
  let md: string | undefined;
  if (decl?.kind === "train" || decl?.kind === "search") {
    const head = decl.statements.find((st) => (st.kind === "statement" ? st.head.range.start.offset === s : false));
    if (head) md = settingSummary(word, decl.kind === "search");
  }
  md ??= wordSummary(word);
  if (!md) return undefined;
  return { markdown: md, range: a.result.lines.range(s, e) };
}
