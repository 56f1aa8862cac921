/**
 * Completion from the vocabulary and the document's names. The context is read off the
 * text itself (the braces around the cursor and the words before it on its line), not the
 * AST, so it works in a half-typed line that does not parse yet.
 */
import { CompletionItemKind, InsertTextFormat, type CompletionItem } from "vscode-languageserver/node";
import {
  ACTIVATIONS,
  AUGMENTATIONS,
  DATA_SOURCES,
  INITIALIZERS,
  LAYER_KINDS,
  LOSSES,
  METRICS,
  NORMALIZATIONS,
  OPTIMIZERS,
  RECIPE_SETTINGS,
  SCHEDULES,
  SEARCH_DISTRIBUTIONS,
  SEARCH_SETTINGS,
} from "../language/vocabulary.js";
import { childBodies, type AstBlock, type AstDeclaration, type AstItem, type AstModel } from "../parser/index.js";
import { MERGE_SUMMARIES } from "./describe.js";

export interface CompletionOptions {
  snippets: boolean;
}

interface Frame {
  /** The first word of the header before `{`: model, block, train, search, repeat, residual, skip. */
  kind: string;
  /** The name after it (for declarations). */
  name?: string;
}

/**
 * The open braces around `offset`, outermost first, each with the header before it. Comments
 * and strings are skipped.
 */
function openFrames(text: string, offset: number): Frame[] {
  const stack: number[] = [];
  for (let i = 0; i < offset; i++) {
    const c = text[i];
    if (c === "#") {
      while (i < offset && text[i] !== "\n" && text[i] !== "\r") i++;
    } else if (c === '"') {
      i++;
      while (i < offset && text[i] !== '"' && text[i] !== "\n") i += text[i] === "\\" ? 2 : 1;
    } else if (c === "{") stack.push(i);
    else if (c === "}") stack.pop();
  }
  return stack.map((brace) => {
    // The header: from the previous brace (or the start) to this one, without comments.
    let start = brace - 1;
    while (start >= 0 && text[start] !== "{" && text[start] !== "}") start--;
    const header = text
      .slice(start + 1, brace)
      .replace(/#[^\n\r]*/g, " ")
      .trim();
    const lastLine = header.split(/\r\n|\r|\n/).filter((l) => l.trim() !== "");
    const words = (lastLine.length > 0 && /^(repeat|residual|skip)\b/.test(lastLine[lastLine.length - 1]!.trim()) ? lastLine[lastLine.length - 1]! : header).trim().split(/[\s(]+/);
    const frame: Frame = { kind: words[0] ?? "" };
    if (words[1]) frame.name = words[1];
    return frame;
  });
}

function item(label: string, kind: CompletionItemKind, detail: string | undefined, extra: Partial<CompletionItem> = {}): CompletionItem {
  const it: CompletionItem = { label, kind, ...extra };
  if (detail) it.detail = detail;
  return it;
}

function declarations(all: AstDeclaration[]): (AstModel | AstBlock)[] {
  return all.filter((d): d is AstModel | AstBlock => (d.kind === "model" || d.kind === "block") && d.name !== undefined);
}

/**
 * Completions at `offset` of `text`, with the models and blocks of `all` (the declarations of
 * an analysis: of this text, or of an older one while this one waits for its check).
 */
export function complete(text: string, all: AstDeclaration[], offset: number, opts: CompletionOptions): CompletionItem[] {
  offset = Math.max(0, Math.min(offset, text.length));
  // The line so far: lines end at `\n`, `\r\n` or `\r`.
  const before = text.slice(Math.max(text.lastIndexOf("\n", offset - 1), text.lastIndexOf("\r", offset - 1)) + 1, offset);
  // No completion inside a comment or a string.
  if (/#/.test(before.replace(/"(?:[^"\\]|\\.)*"/g, ""))) return [];
  if ((before.match(/"/g)?.length ?? 0) % 2 === 1) return [];

  const frames = openFrames(text, offset);
  const decls = declarations(all);
  const blocks = decls.filter((d) => d.kind === "block");
  const models = decls.filter((d) => d.kind === "model");
  const top = frames[0];
  const scopeDecl = top && (top.kind === "model" || top.kind === "block") ? decls.find((d) => d.kind === top.kind && d.name!.name === top.name) : undefined;
  const paramItems = (): CompletionItem[] => (scopeDecl?.params ?? []).map((p) => item(p.name.name, CompletionItemKind.Variable, `parameter of ${scopeDecl!.kind} ${scopeDecl!.name!.name}`));

  // Inside parentheses on this line: arguments of a block call or of `train MODEL(…)`.
  const paren = unclosedParen(before);
  if (paren !== undefined) {
    const callee = /([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(before.slice(0, paren))?.[1];
    // `train m(…)` at the top level names a model; in a body, a call names a block.
    const target = callee ? (frames.length === 0 ? models : blocks).find((d) => d.name!.name === callee) : undefined;
    // Where an argument's name may go: at the start of an argument, before any `:`.
    const naming = /^\s*[A-Za-z_][A-Za-z0-9_]*$|^\s*$/.test(before.slice(paren + 1).split(",").pop() ?? "");
    const out: CompletionItem[] = [];
    if (target && naming) {
      for (const p of target.params) out.push(item(`${p.name.name}:`, CompletionItemKind.Field, `parameter of ${target.kind} ${target.name!.name}`, { insertText: `${p.name.name}: ` }));
    }
    out.push(...paramItems());
    return out;
  }

  // After a merge's word or one of its branches: the tensors kept in this declaration.
  const merge = top && (top.kind === "model" || top.kind === "block") ? mergeStatement(text, before, offset) : undefined;
  if (merge !== undefined) return mergeCompletions(merge, scopeDecl);

  const segment = before.split(/->|→|[{}]/).pop() ?? "";
  const words = segment.trim().split(/\s+/).filter((w) => w !== "");
  // The word being typed is not part of the context.
  if (words.length > 0 && !/\s$/.test(segment)) words.pop();

  if (!top) {
    if (words.length === 0) return ["model", "block", "train", "search"].map((k) => item(k, CompletionItemKind.Keyword, `a ${k} declaration`));
    if ((words[0] === "train" || words[0] === "search") && words.length === 1) return models.map((m) => item(m.name!.name, CompletionItemKind.Class, "model"));
    if (words[0] === "search" && words.length === 2) return ["random", "grid"].map((k) => item(k, CompletionItemKind.Keyword, "search strategy"));
    return [];
  }
  if (top.kind === "model" || top.kind === "block") return bodyCompletions(words, paramItems, blocks, top.kind === "model", opts);
  if (top.kind === "train") return recipeCompletions(words);
  if (top.kind === "search") {
    const model = models.find((m) => m.name!.name === top.name);
    return searchCompletions(words, segment, model);
  }
  return [];
}

/**
 * The words of the merge statement the cursor is in, its branches left out (`concat { a } e1`
 * → `concat e1`), without a word being typed; undefined when the cursor is in no merge or
 * inside one of its branches. A line that begins with a branch, right after a line that
 * ended with one, continues that merge.
 */
const BRANCH = " \u0001 ";
function mergeStatement(text: string, before: string, offset: number): string[] | undefined {
  // Each branch closed on this line stands as `{}`, innermost first.
  let s = before;
  for (let prev = ""; prev !== s; ) {
    prev = s;
    s = s.replace(/\{[^{}]*\}/g, BRANCH);
  }
  if (s.includes("{") || s.includes("}")) return undefined;
  const statement = (s.split(/->|→/).pop() ?? "").trim();
  const continued = statement.startsWith(BRANCH.trim()) && statement === s.trim() && previousLineEndsBranch(text, offset - before.length);
  if (!continued && !/^(concat|add|multiply)\b/.test(statement)) return undefined;
  const words = statement.split(/\s+/).filter((w) => w !== "" && w !== BRANCH.trim());
  if (/[A-Za-z0-9_]$/.test(before)) words.pop(); // the word being typed
  return continued || words.length > 0 ? words : undefined; // the merge's own word being typed: any head
}

/** Whether the last line with code before `lineStart` ends with `}`, its comment left out. */
function previousLineEndsBranch(text: string, lineStart: number): boolean {
  const lines = text.slice(0, lineStart).split(/\r\n|\r|\n/);
  lines.pop(); // what is left of the cursor's own line
  for (let i = lines.length - 1; i >= 0; i--) {
    const code = lines[i]!.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/#.*$/, "").trim();
    if (code !== "") return code.endsWith("}");
  }
  return false;
}

/** The names kept with `keep` in a model or block, each with the line of its first `keep`. */
function keptNames(decl: AstModel | AstBlock | undefined): Map<string, number> {
  const names = new Map<string, number>();
  const walk = (list: AstItem[]): void => {
    for (const it of list) {
      if (it.kind === "keep" && it.name && !names.has(it.name.name)) names.set(it.name.name, it.name.range.start.line + 1);
      for (const b of childBodies(it)) walk(b);
    }
  };
  if (decl) walk(decl.body);
  return names;
}

/** After `concat`, `add` or `multiply` or one of its branches: the kept tensors, and `name`. */
function mergeCompletions(words: string[], decl: AstModel | AstBlock | undefined): CompletionItem[] {
  if (words[words.length - 1] === "name") return [];
  const out: CompletionItem[] = [];
  for (const [name, line] of keptNames(decl)) if (!words.includes(name)) out.push(item(name, CompletionItemKind.Variable, `tensor kept on line ${line}`));
  if (!words.includes("name")) out.push(item("name", CompletionItemKind.Property, "name the merge layer (in summaries and generated code)"));
  return out;
}

/** Where the last `(` without its `)` is in `s`, if any. */
function unclosedParen(s: string): number | undefined {
  let depth = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    if (s[i] === ")") depth++;
    else if (s[i] === "(") {
      if (depth === 0) return i;
      depth--;
    }
  }
  return undefined;
}

function layerHeads(blocks: (AstModel | AstBlock)[], inModel: boolean, opts: CompletionOptions): CompletionItem[] {
  const out: CompletionItem[] = [];
  for (const [k, info] of Object.entries(LAYER_KINDS)) {
    if (k === "input" && !inModel) continue;
    out.push(item(k, CompletionItemKind.Class, info.summary, { documentation: { kind: "markdown", value: `\`${info.example}\`` } }));
  }
  for (const [k, info] of Object.entries(ACTIVATIONS)) out.push(item(k, CompletionItemKind.Function, `activation: ${info.summary}`));
  for (const b of blocks) {
    const name = b.name!.name;
    const params = b.params.map((p) => p.name.name).join(", ");
    out.push(item(name, CompletionItemKind.Function, `block ${name}(${params})`, opts.snippets ? { insertText: `${name}($1)`, insertTextFormat: InsertTextFormat.Snippet } : { insertText: `${name}()` }));
  }
  out.push(item("repeat", CompletionItemKind.Keyword, "repeat N { … }: the layers N times"));
  out.push(item("residual", CompletionItemKind.Keyword, "residual { … }: output = main(x) + x"));
  for (const [k, m] of Object.entries(MERGE_SUMMARIES)) out.push(item(k, CompletionItemKind.Keyword, `${k}: ${m.summary}`, { documentation: { kind: "markdown", value: `\`${m.example}\`` } }));
  return out;
}

function bodyCompletions(words: string[], params: () => CompletionItem[], blocks: (AstModel | AstBlock)[], inModel: boolean, opts: CompletionOptions): CompletionItem[] {
  if (words.length === 0) return layerHeads(blocks, inModel, opts);
  const head = words[0]!;
  if (head === "residual") return words.length === 1 ? [item("project", CompletionItemKind.Keyword, "a 1x1 conv on the skip path that matches the main path's shape")] : [];
  if (head === "repeat") return words.length === 1 ? params() : layerHeads(blocks, inModel, opts);
  const info = LAYER_KINDS[head] ?? (Object.hasOwn(ACTIVATIONS, head) ? { options: { name: LAYER_KINDS.dense!.options.name!, frozen: LAYER_KINDS.dense!.options.frozen! }, activation: false } : undefined);
  if (!info) return [];
  const prev = words.length > 1 ? words[words.length - 1]! : undefined;
  const prevOpt = prev !== undefined && Object.hasOwn(info.options, prev) ? info.options[prev]! : undefined;
  if (prevOpt && prevOpt.value !== "flag") {
    if (prevOpt.value === "init") return Object.entries(INITIALIZERS).map(([k, i]) => item(k, CompletionItemKind.Constant, i.summary));
    if (prevOpt.value === "name") return [];
    return params();
  }
  const used = new Set(words.slice(1));
  const out: CompletionItem[] = [];
  for (const [k, o] of Object.entries(info.options)) if (!used.has(k)) out.push(item(k, CompletionItemKind.Property, `${head} option: ${o.summary}`));
  if (info.activation && !words.slice(1).some((w) => Object.hasOwn(ACTIVATIONS, w.replace(/\(.*$/, "")))) {
    for (const [k, a] of Object.entries(ACTIVATIONS)) out.push(item(k, CompletionItemKind.Function, `activation: ${a.summary}`));
  }
  out.push(...params());
  return out;
}

function recipeCompletions(words: string[]): CompletionItem[] {
  if (words.length === 0) return Object.entries(RECIPE_SETTINGS).map(([k, s]) => item(k, CompletionItemKind.Property, s.summary, { documentation: { kind: "markdown", value: `\`${s.example}\`` } }));
  const head = words[0]!;
  const n = words.length;
  const list = (names: readonly string[], kind: CompletionItemKind, detail: (k: string) => string | undefined): CompletionItem[] => names.map((k) => item(k, kind, detail(k)));
  switch (head) {
    case "optim":
      return n === 1 ? list(Object.keys(OPTIMIZERS), CompletionItemKind.Module, (k) => `${OPTIMIZERS[k]!.summary}; default lr ${OPTIMIZERS[k]!.defaultLr}`) : words.includes("lr") ? [] : [item("lr", CompletionItemKind.Property, "the learning rate")];
    case "loss":
      return n === 1 ? list(Object.keys(LOSSES), CompletionItemKind.Function, (k) => LOSSES[k]!.summary) : [];
    case "data":
      return n === 1 ? list(DATA_SOURCES, CompletionItemKind.Module, () => "data source") : [];
    case "normalize":
      return n === 1 ? list(NORMALIZATIONS, CompletionItemKind.EnumMember, () => "normalisation") : [];
    case "schedule":
      return list(SCHEDULES, CompletionItemKind.Function, () => "learning-rate schedule");
    case "metrics":
      return list(METRICS, CompletionItemKind.EnumMember, () => "metric");
    case "early_stop":
      return n === 1 ? list(METRICS, CompletionItemKind.EnumMember, () => "metric") : list(["patience", "restore_best"], CompletionItemKind.Property, () => undefined);
    case "checkpoint":
      return n === 1 ? [item("best", CompletionItemKind.Keyword, "keep the best weights")] : list(METRICS, CompletionItemKind.EnumMember, () => "metric");
    case "augment":
      return list(AUGMENTATIONS, CompletionItemKind.Function, () => "augmentation");
    case "clip":
      return n === 1 ? list(["norm", "value"], CompletionItemKind.Keyword, () => undefined) : [];
    default:
      return [];
  }
}

function searchCompletions(words: string[], segment: string, model: AstModel | AstBlock | undefined): CompletionItem[] {
  if (words.length === 0) {
    const out = Object.entries(SEARCH_SETTINGS).map(([k, s]) => item(k, CompletionItemKind.Property, s.summary));
    for (const [k, s] of Object.entries(RECIPE_SETTINGS)) if (s.searchable && !Object.hasOwn(SEARCH_SETTINGS, k)) out.push(item(k, CompletionItemKind.Property, `vary ${s.summary}: \`${k} ~ …\``));
    for (const p of model?.params ?? []) out.push(item(p.name.name, CompletionItemKind.Variable, `parameter of model ${model!.name!.name}: \`${p.name.name} ~ …\``));
    return out;
  }
  if (segment.includes("~")) return Object.entries(SEARCH_DISTRIBUTIONS).map(([k, d]) => item(k, CompletionItemKind.Function, `${k}(${d.args}): ${d.summary}`));
  if ((words[0] === "maximize" || words[0] === "minimize") && words.length === 1) return METRICS.map((m) => item(m, CompletionItemKind.EnumMember, "metric"));
  return [];
}
