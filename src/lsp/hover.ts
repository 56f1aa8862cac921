/**
 * Hover: a layer's shapes, parameter count and resolved options; a block call's expansion;
 * a merge's inputs and output; a kept tensor's shape and where it is kept and joined; a
 * model's, block's or parameter's declaration; the vocabulary's summary of a word.
 */
import type { Range } from "../diagnostics/diagnostic.js";
import { LAYER_KINDS } from "../language/vocabulary.js";
import { childBodies, exprSource, type AstBlock, type AstBlockCall, type AstItem, type AstKeep, type AstLayer, type AstMerge, type AstModel } from "../parser/index.js";
import { formatShape } from "../typecheck/index.js";
import { allItems, declarationAt, instancesAt, instancesOf, itemAt, itemsTouching, occurrenceAt, type Analysis, type Instance, type Occurrence } from "./analysis.js";
import { containsOffset, rangeKey } from "./convert.js";
import { configRows, count, flowText, MERGE_SUMMARIES, paramsText, settingSummary, signature, wordSummary } from "./describe.js";

export interface HoverResult {
  markdown: string;
  range: Range;
}

const MAX_ROWS = 40;

export function hover(a: Analysis, offset: number): HoverResult | undefined {
  const occ = occurrenceAt(a, offset);
  if (occ?.kind === "kept") return { markdown: keptHover(a, occ), range: occ.range };
  const merge = mergeWordAt(a, offset);
  if (merge?.item.kind === "merge") return { markdown: mergeHover(a, merge.item), range: merge.item.keyword };
  if (merge?.item.kind === "keep") {
    const name = merge.item.name && a.occurrences.find((o) => o.kind === "kept" && o.range === merge.item.name!.range);
    return { markdown: name ? keptHover(a, name) : wordSummary("keep")!, range: merge.item.keyword };
  }
  const body = itemAt(a, offset);
  if (occ && body?.item.kind === "block-call" && !occ.declaration && (occ.kind === "model" || occ.kind === "block")) {
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

/** The merge or `keep` whose keyword is at `offset`. */
function mergeWordAt(a: Analysis, offset: number): { item: AstMerge | AstKeep } | undefined {
  for (const b of itemsTouching(a.result.ast.declarations, offset, offset)) {
    if ((b.item.kind === "merge" || b.item.kind === "keep") && containsOffset(b.item.keyword, offset)) return { item: b.item };
  }
  return undefined;
}

/** What each input of a merge is, in the order the merge layer takes them. */
function mergeInputs(a: Analysis, m: AstMerge): string[] {
  const line = (r: { start: { line: number } }): number => r.start.line + 1;
  const out: string[] = [];
  if (m.operands.length === 1) out.push("the input itself");
  let branch = 0;
  for (const o of m.operands) {
    if (o.kind === "kept") {
      const keep = a.occurrences.filter((k) => k.kind === "kept" && k.declaration && k.name === o.name.name && k.range.start.offset < o.range.start.offset).pop();
      out.push(`\`${o.name.name}\`${keep ? ` (kept on line ${line(keep.range)})` : ""}`);
    } else {
      branch++;
      out.push(o.body.length === 0 ? `branch ${branch}, empty: the input itself` : `branch ${branch} (line ${line(o.range)})`);
    }
  }
  return out;
}

function mergeHover(a: Analysis, m: AstMerge): string {
  const out = [`**${m.op}**${m.name ? ` \`${m.name.name}\`` : ""} — ${MERGE_SUMMARIES[m.op].summary}`, ""];
  const instances = instancesAt(a, m.keyword);
  const inputs = mergeInputs(a, m);
  const first = instances[0];
  if (!first) {
    out.push("Joins:", "", ...inputs.map((what) => `- ${what}`), "", "_Shape unknown: an error above or here stops the shapes._");
    return out.join("\n");
  }
  const distinct = new Set(instances.map((i) => flowText(i.layer)));
  if (instances.length === 1 || distinct.size === 1) {
    out.push(`\`${first.layer.name}\`: \`${flowText(first.layer)}\`${instances.length > 1 ? ` · ${instances.length} instances` : ""}`, "", "Joins:", "");
    inputs.forEach((what, i) => out.push(`- ${what}: \`${shapeOf(first, i)}\`${first.layer.inputs[i] ? ` from \`${first.layer.inputs[i]}\`` : ""}`));
  } else {
    out.push(`${instances.length} instances (a block or \`repeat\` expands it several times):`, "");
    for (const i of instances.slice(0, MAX_ROWS)) out.push(`- \`${i.layer.name}\` in \`${i.model}\`: \`${flowText(i.layer)}\``);
    if (instances.length > MAX_ROWS) out.push(`- … and ${instances.length - MAX_ROWS} more`);
    out.push("", "Joins:", "", ...inputs.map((what) => `- ${what}`));
  }
  return out.join("\n");
}

function shapeOf(i: Instance, input: number): string {
  const s = i.layer.inputShapes[input];
  return s ? formatShape(s) : "?";
}

/** A tensor kept with `keep NAME`: where it is kept, its shape as the merges that join it see it. */
function keptHover(a: Analysis, occ: Occurrence): string {
  const [, index] = occ.key.split(":");
  const d = a.result.ast.declarations[Number(index)];
  const line = (r: { start: { line: number } }): number => r.start.line + 1;
  const same = a.occurrences.filter((o) => o.key === occ.key);
  const keeps = same.filter((o) => o.declaration);
  const out = [`**${occ.name}**: a tensor kept with \`keep ${occ.name}\` on line ${keeps.map((k) => line(k.range)).join(", ")}${d && (d.kind === "model" || d.kind === "block") ? ` of the ${d.kind} \`${d.name?.name ?? "?"}\`` : ""}`];
  // Its shape and the layer that made it, as each merge joining it sees it.
  const seen: string[] = [];
  const joinedBy: string[] = [];
  if (d && (d.kind === "model" || d.kind === "block")) {
    const walk = (list: AstItem[]): void => {
      for (const item of list) {
        if (item.kind === "merge") {
          const at = item.operands.findIndex((o) => o.kind === "kept" && o.name.name === occ.name);
          if (at >= 0) {
            joinedBy.push(`\`${item.op}\` on line ${line(item.keyword)}`);
            const input = at + (item.operands.length === 1 ? 1 : 0);
            for (const i of instancesAt(a, item.keyword)) {
              const s = i.layer.inputShapes[input];
              const from = i.layer.inputs[input];
              const text = `\`${s ? formatShape(s) : "?"}\`${from ? `, the output of \`${from}\`` : ""}`;
              if (!seen.includes(text)) seen.push(text);
            }
          }
        }
        for (const b of childBodies(item)) walk(b);
      }
    };
    walk(d.body);
  }
  if (seen.length > 0) out.push("", ...seen.slice(0, MAX_ROWS).map((t) => `- ${t}`));
  out.push("", joinedBy.length > 0 ? `Joined by ${joinedBy.join(", ")}.` : "_No merge joins it yet: write its name after a merge, e.g. `concat " + occ.name + "`._");
  return out.join("\n");
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
