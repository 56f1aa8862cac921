/**
 * Other libraries' spellings, read as what they mean. People come to nnc from Keras and
 * PyTorch and write a layer as they would there: `Dense(64, activation='relu')`,
 * `nn.Conv2d(1, 32, 5)`, `conv kernel_size=3 padding='same'`, `optim Adam(lr=0.001)`. Each
 * such statement is one mistake: lowering reports it once, with the nnc spelling (and the
 * edit that writes it, when the translation is complete), and lowers the statement as that
 * spelling, so the rest of the model is still checked and nothing else on the line is blamed.
 *
 * Pure: AST in, a translation out; the caller reports and lowers.
 */
import { spanRanges as span, type Range } from "../diagnostics/diagnostic.js";
import {
  ACTIVATIONS,
  ALIASES,
  FOREIGN_ARGUMENTS,
  FOREIGN_LAYERS,
  FOREIGN_LOSSES,
  FOREIGN_MODULES,
  LOSSES,
  FOREIGN_OPTIMIZER_ARGUMENTS,
  INITIALIZERS,
  LAYER_KINDS,
  OPTIMIZERS,
  TORCH_SAME_NAMES,
  type ForeignLayer,
  type ForeignMeaning,
} from "../language/vocabulary.js";
import type { AstActivation, AstArg, AstExpr, AstIdent, AstLayer, AstNumber, AstOption, AstRef, AstStatement } from "./ast.js";
import { exprSource } from "./expr-source.js";

/** A word of a statement, or one of the separators the parser reads between words. */
export type StatementPart = { kind: "word"; expr: AstExpr } | { kind: "=" | ":" | ","; range: Range };

export interface ForeignTranslation {
  /** The library whose habit this is, for the message. */
  library: string;
  message: string;
  hint: string;
  /** Where the diagnostic points. */
  range: Range;
  /** What the nnc spelling replaces (the quick fix), when the translation is complete. */
  replace?: { range: Range; text: string };
}

export interface ForeignLayerTranslation extends ForeignTranslation {
  /** The statement as nnc would read it (or an `unread` layer: no shape after it). */
  layer: AstLayer;
}

export interface ForeignRecipeTranslation extends ForeignTranslation {
  /** The diagnostic's code: NN1025 for another library's syntax, NN2007 for `adam(lr: …)`. */
  code: "NN1025" | "NN2007";
  statement: AstStatement;
}

// --- names ---------------------------------------------------------------------------

/** `nn.Conv2d` → { module: "nn", name: "Conv2d" }. */
function splitName(name: string): { module?: string; name: string } {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? { name } : { module: name.slice(0, dot), name: name.slice(dot + 1) };
}

/** The Keras or PyTorch layer class a head names, if it names one. */
export function foreignLayerClass(head: string): ForeignLayer | undefined {
  const { module, name } = splitName(head);
  const library = module === undefined ? undefined : FOREIGN_MODULES[module];
  if (module !== undefined && library === undefined) return undefined;
  if (library === "PyTorch" && TORCH_SAME_NAMES[name]) return TORCH_SAME_NAMES[name];
  const found = FOREIGN_LAYERS[name];
  if (found && library !== undefined && found.framework !== library) return { ...found, framework: library };
  return found;
}

/** `HeNormal` → `he_normal`, `GlorotUniform` → `glorot_uniform`. */
function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

// --- values --------------------------------------------------------------------------

/** The word a value stands for: `relu`, `'relu'`, `"same"`; undefined for numbers and calls. */
function wordOf(e: AstExpr | undefined): string | undefined {
  if (!e) return undefined;
  if (e.kind === "ref") return e.name;
  if (e.kind === "string") return e.value;
  return undefined;
}

function numberOf(e: AstExpr | undefined): number | undefined {
  return e?.kind === "number" ? e.value : undefined;
}

/** A size or a tuple of sizes: `3` → [3], `(3, 3)` → [3, 3], `3x3` → [3, 3]. */
function partsOf(e: AstExpr): AstExpr[] {
  return e.kind === "dims" ? e.parts : [e];
}

function copyOf<T extends AstExpr>(e: T): T {
  return { ...e };
}

function ref(name: string, range: Range): AstRef {
  return { kind: "ref", name, range };
}

function dims(parts: AstExpr[], range: Range): AstExpr {
  return parts.length === 1 ? copyOf(parts[0]!) : { kind: "dims", parts: parts.map(copyOf), range };
}

/** A value as nnc writes it: a word without quotes, a tuple as `3x3`. */
function nncText(e: AstExpr): string {
  if (e.kind === "string") return /^[A-Za-z_][A-Za-z0-9_]*$/.test(e.value) ? e.value : JSON.stringify(e.value);
  if (e.kind === "dims") return e.parts.map(nncText).join("x");
  return exprSource(e);
}

/** Python's `False`/`True`/`None` as words. */
function isFalse(e: AstExpr): boolean {
  const w = wordOf(e);
  return w === "False" || w === "false" || numberOf(e) === 0;
}

// --- layers --------------------------------------------------------------------------

/** A value the foreign statement gives, by what it means in nnc. */
interface Given {
  meaning: ForeignMeaning;
  /** The argument's name as written (`kernel_size`), or its position's meaning. */
  written: string;
  value: AstExpr;
  range: Range;
}

interface Collected {
  given: Map<ForeignMeaning, Given>;
  /** Arguments with no counterpart in nnc, as written. */
  unsupported: string[];
  /** Positional arguments of a known class beyond those it takes. */
  extra: AstExpr[];
}

/** Arguments that mean nothing to nnc and change nothing in what it builds. */
const HARMLESS = new Set(["inplace", "dim", "axis", "data_format", "bias_initializer", "dtype", "device", "affine", "track_running_stats", "elementwise_affine", "padding_mode", "ceil_mode"]);

function collect(positional: AstExpr[], meanings: ForeignMeaning[], named: { name: AstIdent; value: AstExpr; range: Range }[]): Collected {
  const out: Collected = { given: new Map(), unsupported: [], extra: [] };
  positional.forEach((value, i) => {
    const meaning = meanings[i];
    if (meaning === undefined) out.extra.push(value);
    else out.given.set(meaning, { meaning, written: meaning, value, range: value.range });
  });
  for (const a of named) {
    const meaning = FOREIGN_ARGUMENTS[a.name.name];
    if (meaning === undefined) {
      if (!HARMLESS.has(a.name.name)) out.unsupported.push(a.name.name);
      continue;
    }
    out.given.set(meaning, { meaning, written: a.name.name, value: a.value, range: a.range });
  }
  return out;
}

/** What a layer statement in another library's spelling says, in nnc's terms. */
interface LayerSpec {
  /** `conv`, `pool`, `global`, an activation, … */
  kind: string;
  /** Words in order, as text, for the hint and the fix. */
  words: string[];
  positional: (AstExpr | undefined)[];
  options: Record<string, AstOption>;
  activation?: AstActivation;
  /** Placeholders the user must fill in (`F`), with what they stand for. */
  missing: string[];
  /** Things the translation cannot express (the layer's shape is then unknown). */
  cannot: string[];
  /** Notes for the hint (what nnc does instead). */
  notes: string[];
}

function option(spec: LayerSpec, name: string, range: Range, value?: AstExpr): void {
  const o: AstOption = { kind: "option", name: { kind: "ident", name, range }, range };
  if (value) o.value = value;
  spec.options[name] = o;
  spec.words.push(value ? `${name} ${nncText(value)}` : name);
}

function activationOf(spec: LayerSpec, g: Given): void {
  const word = wordOf(g.value);
  if (word === undefined) {
    spec.cannot.push(`\`${g.written}=${exprSource(g.value)}\``);
    return;
  }
  if (word === "None" || word === "linear") return;
  const name = ALIASES[word.toLowerCase()] ?? word;
  spec.activation = { kind: "activation", name: { kind: "ident", name, range: g.value.range }, args: [], range: g.value.range };
  spec.words.push(name);
}

/** The kernel (or window) as two sizes, from `3`, `(3, 5)` or `3x5`. */
function window(g: Given | undefined): AstExpr[] | undefined {
  if (!g) return undefined;
  const parts = partsOf(g.value);
  if (parts.length === 1) return [parts[0]!, parts[0]!];
  if (parts.length === 2) return parts;
  return undefined;
}

/**
 * PyTorch's integer padding as nnc's padding word: 0 is `valid`, (k−1)/2 on each side `same`
 * (for odd k, at any stride), k−1 `full`; a string is Keras's (or PyTorch's) word itself.
 */
function padding(spec: LayerSpec, g: Given, kernel: AstExpr[] | undefined): void {
  const word = wordOf(g.value);
  if (word !== undefined) {
    const w = word.toLowerCase();
    if (w === "same" || w === "full") option(spec, w, g.range);
    else if (w !== "valid") spec.cannot.push(`\`${g.written}=${exprSource(g.value)}\``);
    return;
  }
  const p = partsOf(g.value).map(numberOf);
  const k = kernel?.map(numberOf);
  if (p.some((x) => x === undefined) || !k || k.some((x) => x === undefined)) {
    spec.cannot.push(`\`${g.written}=${exprSource(g.value)}\``);
    return;
  }
  const pad = p.length === 1 ? [p[0]!, p[0]!] : (p as number[]);
  const ks = k as number[];
  if (pad.every((x) => x === 0)) return;
  if (pad.every((x, i) => 2 * x! === ks[i]! - 1)) option(spec, "same", g.range);
  else if (pad.every((x, i) => x === ks[i]! - 1)) option(spec, "full", g.range);
  else {
    spec.cannot.push(`\`${g.written}=${exprSource(g.value)}\``);
    spec.notes.push("nnc pads by `same` (output = ceil(input/stride)), `valid` (none) or `full` (k−1 on each side)");
  }
}

function initOf(spec: LayerSpec, g: Given): void {
  let name: string | undefined = wordOf(g.value);
  if (name === undefined && g.value.kind === "call-expr") name = splitName(g.value.callee.name).name;
  if (name === undefined) {
    spec.cannot.push(`\`${g.written}=${exprSource(g.value)}\``);
    return;
  }
  const s = snake(splitName(name).name);
  const init = INITIALIZERS[s] ? s : ALIASES[s];
  if (init === undefined || !INITIALIZERS[init]) {
    spec.cannot.push(`\`${g.written}=${exprSource(g.value)}\``);
    return;
  }
  option(spec, "init", g.range, ref(init, g.value.range));
}

function regularizerOf(spec: LayerSpec, g: Given): void {
  const e = g.value;
  if (e.kind === "call-expr") {
    const which = splitName(e.callee.name).name.toLowerCase();
    const v = e.args[0]?.value;
    if ((which === "l1" || which === "l2") && v && e.args.length === 1) {
      option(spec, which, g.range, copyOf(v));
      return;
    }
  }
  spec.cannot.push(`\`${g.written}=${exprSource(e)}\``);
}

/** Builds the nnc layer for `kind` from the values given. */
function layerSpec(kind: string, library: string, c: Collected, nncWords: AstExpr[], headRange: Range): LayerSpec {
  const spec: LayerSpec = { kind, words: [], positional: [], options: {}, missing: [], cannot: [], notes: [] };
  const g = (m: ForeignMeaning): Given | undefined => c.given.get(m);
  /** The layer's one positional value from `m`, or (with no nnc words either) a placeholder to fill in. */
  const positional = (m: ForeignMeaning, placeholder: string, what: string, value = (v: AstExpr): AstExpr => copyOf(v)): void => {
    const given = g(m);
    if (given) {
      spec.positional = [value(given.value)];
      spec.words.push(nncText(given.value));
    } else if (nncWords.length === 0) {
      spec.missing.push(`${placeholder} is ${what}`);
      spec.words.push(placeholder);
    }
  };
  let base = kind;
  if (kind === "pool avg") {
    base = "pool";
  } else if (kind === "global avgpool" || kind === "global maxpool") {
    base = "global";
  }
  spec.kind = base;
  const info = LAYER_KINDS[base];
  // The nnc words already there (`dense 64 activation=relu`) come first, as written.
  for (const w of nncWords) spec.words.push(nncText(w));
  switch (base) {
    case "input":
    case "reshape":
      positional("shape", "SHAPE", base === "input" ? "the input's shape (`28x28x1`, or `10` for features)" : "the new shape", (v) => dims(partsOf(v), v.range));
      break;
    case "dense":
      positional("units", "N", "the number of units");
      break;
    case "conv": {
      const k = window(g("kernel"));
      const filters = g("filters");
      if (g("kernel") && !k) spec.cannot.push(`\`${g("kernel")!.written}=${exprSource(g("kernel")!.value)}\``);
      if (nncWords.length === 0) {
        const kh = k ? nncText(k[0]!) : "K";
        const kw = k ? nncText(k[1]!) : "K";
        const f = filters ? nncText(filters.value) : "F";
        if (!k) spec.missing.push("K is the kernel size");
        if (!filters) spec.missing.push("F is the number of filters");
        spec.words.push(`${kh}x${kw}x${f}`);
        if (k && filters) {
          const at = span(g("kernel")!.range, filters.range.start.offset > g("kernel")!.range.start.offset ? filters.range : g("kernel")!.range);
          spec.positional = [{ kind: "dims", parts: [copyOf(k[0]!), copyOf(k[1]!), copyOf(filters.value)], range: at }];
        }
      }
      break;
    }
    case "pool": {
      const k = window(g("kernel"));
      if (kind === "pool avg") option(spec, "avg", headRange);
      if (k && nncWords.length === 0) {
        const text = nncText(k[0]!) === nncText(k[1]!) ? nncText(k[0]!) : `${nncText(k[0]!)}x${nncText(k[1]!)}`;
        spec.positional = [dims(text.includes("x") ? k : [k[0]!], g("kernel")!.range)];
        spec.words.push(text);
      }
      break;
    }
    case "global":
      option(spec, kind === "global avgpool" ? "avgpool" : "maxpool", headRange);
      break;
    case "dropout": {
      const rate = g("rate");
      if (rate) {
        spec.positional = [copyOf(rate.value)];
        spec.words.push(nncText(rate.value));
      } else if (nncWords.length === 0) {
        spec.positional = [{ kind: "number", value: 0.5, raw: "0.5", range: headRange } satisfies AstNumber];
        spec.words.push("0.5");
        spec.notes.push(`${library}'s default rate is 0.5`);
      }
      break;
    }
    case "groupnorm":
      positional("groups", "G", "the number of groups");
      break;
  }
  if (info === undefined) {
    // An activation class: `nn.ReLU()`, `LeakyReLU(0.2)`, `Activation('relu')`.
    const act = kind === "activation" ? g("activation") : undefined;
    if (kind === "activation") {
      if (act) activationOf(spec, act);
      else spec.missing.push("ACTIVATION is its name (`relu`, `tanh`, …)");
      if (spec.activation) spec.kind = spec.activation.name.name;
      return spec;
    }
    const alpha = g("alpha");
    const args: AstArg[] = [];
    let text = kind;
    if (alpha && ACTIVATIONS[kind]?.arg) {
      args.push({ kind: "arg", value: copyOf(alpha.value), range: alpha.range });
      text = `${kind}(${nncText(alpha.value)})`;
    } else if (kind === "leaky_relu" && library === "Keras") {
      // Keras's LeakyReLU slopes by 0.3 unless told otherwise; nnc's by 0.01.
      args.push({ kind: "arg", value: { kind: "number", value: 0.3, raw: "0.3", range: headRange }, range: headRange });
      text = "leaky_relu(0.3)";
      spec.notes.push("Keras's default slope is 0.3");
    }
    spec.activation = { kind: "activation", name: { kind: "ident", name: kind, range: headRange }, args, range: headRange };
    spec.words.push(text);
    return spec;
  }
  // Options, in nnc's usual order: activation, padding, stride, dilation, then the rest.
  if (info.activation && g("activation")) activationOf(spec, g("activation")!);
  const kernel = base === "conv" || base === "pool" ? window(g("kernel")) : undefined;
  if (g("padding") && (base === "conv" || base === "pool")) padding(spec, g("padding")!, kernel);
  const stride = g("stride");
  if (stride && (base === "conv" || base === "pool")) {
    const parts = partsOf(stride.value);
    const same = parts.length === 2 && nncText(parts[0]!) === nncText(parts[1]!);
    const value = same ? copyOf(parts[0]!) : dims(parts, stride.range);
    // A pool's stride defaults to its window, a conv's to 1: say it only when it differs.
    const dflt = base === "pool" ? (kernel ? nncText(kernel[0]!) : undefined) : "1";
    if (nncText(value) !== dflt) option(spec, "stride", stride.range, value);
  }
  const dilation = g("dilation");
  if (dilation && base === "conv" && nncText(dilation.value) !== "1") option(spec, "dilation", dilation.range, partsOf(dilation.value).length === 2 && nncText(partsOf(dilation.value)[0]!) === nncText(partsOf(dilation.value)[1]!) ? copyOf(partsOf(dilation.value)[0]!) : copyOf(dilation.value));
  if (g("use_bias") && isFalse(g("use_bias")!.value) && info.options["no_bias"]) option(spec, "no_bias", g("use_bias")!.range);
  if (g("init") && info.options["init"]) initOf(spec, g("init")!);
  if (g("regularizer") && info.options["l2"]) regularizerOf(spec, g("regularizer")!);
  const momentum = g("momentum");
  if (momentum && info.options["momentum"]) {
    const v = numberOf(momentum.value);
    if (library === "PyTorch" && v !== undefined) {
      // PyTorch weighs the new batch by `momentum`; Keras and nnc weigh the running average.
      const keep = Number((1 - v).toPrecision(12));
      option(spec, "momentum", momentum.range, { kind: "number", value: keep, raw: String(keep), range: momentum.value.range });
      spec.notes.push(`PyTorch's momentum ${v} is nnc's ${keep} (nnc, like Keras, weighs the running average)`);
    } else option(spec, "momentum", momentum.range, copyOf(momentum.value));
  }
  const epsilon = g("epsilon");
  if (epsilon && info.options["epsilon"]) option(spec, "epsilon", epsilon.range, copyOf(epsilon.value));
  const name = g("name");
  if (name) {
    const w = wordOf(name.value);
    if (w !== undefined && /^[A-Za-z][A-Za-z0-9_]*$/.test(w)) option(spec, "name", name.range, ref(w, name.value.range));
    else spec.cannot.push(`\`${name.written}=${exprSource(name.value)}\``);
  }
  const trainable = g("trainable");
  if (trainable && isFalse(trainable.value)) option(spec, "frozen", trainable.range);
  const out = g("output_size");
  if (out && !partsOf(out.value).every((p) => numberOf(p) === 1)) spec.cannot.push(`\`${out.written}=${exprSource(out.value)}\``);
  const inferred = g("inferred");
  if (inferred) spec.notes.push(inferred.written === "inferred" ? `the input size (\`${exprSource(inferred.value)}\`) is not needed: nnc takes it from the layer before` : `\`${inferred.written}\` is not needed: nnc takes the input's size from the layer before`);
  // Values that belong to other kinds of layer (`units` on a conv) cannot be placed.
  for (const [m, v] of c.given) {
    const used: ForeignMeaning[] = ["activation", "padding", "stride", "dilation", "use_bias", "init", "regularizer", "momentum", "epsilon", "name", "trainable", "output_size", "inferred"];
    const placed =
      used.includes(m) ||
      (m === "shape" && (base === "input" || base === "reshape")) ||
      (m === "units" && base === "dense") ||
      ((m === "filters" || m === "kernel") && base === "conv") ||
      (m === "kernel" && base === "pool") ||
      (m === "rate" && base === "dropout") ||
      (m === "groups" && base === "groupnorm") ||
      (m === "alpha" && ACTIVATIONS[kind]?.arg !== undefined);
    if (!placed) spec.cannot.push(`\`${v.written === m ? exprSource(v.value) : `${v.written}=${exprSource(v.value)}`}\``);
  }
  return spec;
}

/** A note as a sentence: a capital (unless it starts with `nnc` or code) and a full stop. */
function sentence(note: string): string {
  const capital = /^(nnc|`)/.test(note) ? note : note[0]!.toUpperCase() + note.slice(1);
  return capital.endsWith(".") ? capital : `${capital}.`;
}

function list(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return items.slice(0, -1).join(", ") + " and " + items[items.length - 1]!;
}

function finish(spec: LayerSpec, c: Collected, statementRange: Range, layerRange: Range, op: AstIdent): { layer: AstLayer; text: string; complete: boolean; cannot: string[] } {
  const cannot = [...spec.cannot, ...c.unsupported.map((u) => `\`${u}\``), ...c.extra.map((e) => `\`${exprSource(e)}\``)];
  const complete = spec.missing.length === 0 && cannot.length === 0;
  const text = [spec.kind === "global" || spec.kind === "pool" || LAYER_KINDS[spec.kind] ? spec.kind : "", ...spec.words].filter(Boolean).join(" ");
  const info = LAYER_KINDS[spec.kind];
  const layer: AstLayer = {
    kind: "layer",
    op: { kind: "ident", name: info ? spec.kind : (spec.activation?.name.name ?? op.name), range: op.range },
    positional: info ? info.positional.map((_, i) => spec.positional[i]) : [],
    options: spec.options,
    range: layerRange,
  };
  if (spec.activation) layer.activation = spec.activation;
  if (!complete) layer.unread = true;
  void statementRange;
  return { layer, text, complete, cannot };
}

function hintFor(text: string, spec: LayerSpec, cannot: string[]): string {
  const parts: string[] = [];
  parts.push(spec.missing.length > 0 ? `Write \`${text}\`, where ${list(spec.missing)}.` : `Write \`${text}\`.`);
  if (cannot.length > 0) parts.push(`${list(cannot)} ${cannot.length === 1 ? "has" : "have"} no counterpart in nnc.`);
  for (const n of spec.notes) parts.push(sentence(n));
  return parts.join(" ");
}

/**
 * A layer statement written as another library writes it, or undefined when it is nnc's:
 * - a layer class called as a function, `Dense(64, activation='relu')`, `nn.Conv2d(1, 32, 5)`,
 *   `layers.MaxPooling2D((2, 2))` (not when a block of that name is declared);
 * - an nnc layer with keyword arguments, `conv kernel_size=3 activation=relu`,
 *   `dense(64, activation='relu')`.
 */
export function translateForeignLayer(
  head: AstIdent,
  call: { args: AstArg[]; range: Range } | undefined,
  parts: readonly StatementPart[],
  statementRange: Range,
  blocks: ReadonlySet<string>,
): ForeignLayerTranslation | undefined {
  if (blocks.has(head.name)) return undefined;
  const words = parts.filter((p): p is { kind: "word"; expr: AstExpr } => p.kind === "word").map((p) => p.expr);
  const end = parts.length > 0 ? partRange(parts[parts.length - 1]!) : (call?.range ?? head.range);
  const whole = span(head.range, end);
  const foreign = foreignLayerClass(head.name);
  const dotted = head.name.includes(".");
  if (foreign && (call || dotted)) {
    const named = (call?.args ?? []).filter((a) => a.name && a.value).map((a) => ({ name: a.name!, value: a.value!, range: a.range }));
    const positional = (call?.args ?? []).filter((a) => !a.name && a.value).map((a) => a.value!);
    const c = collect(positional, foreign.positional, named);
    const spec = layerSpec(foreign.nnc, foreign.framework, c, [], head.range);
    const done = finish(spec, c, statementRange, statementRange, head);
    const written = call ? `${head.name}(${call.args.length > 0 ? "…" : ""})` : head.name;
    const range = call ? span(head.range, call.range) : head.range;
    const translation: ForeignLayerTranslation = {
      library: foreign.framework,
      message: `\`${written}\` is how ${foreign.framework} writes a layer; nnc writes \`${done.text}\`.`,
      hint: hintFor(done.text, spec, done.cannot),
      range,
      layer: done.layer,
    };
    if (done.complete && words.length === 0) translation.replace = { range: whole, text: done.text };
    return translation;
  }
  const nnc = LAYER_KINDS[head.name] !== undefined || ACTIVATIONS[head.name] !== undefined;
  if (!nnc) return undefined;
  // Keyword arguments after the head: `name = value` (or `name: value`) triples.
  const named: { name: AstIdent; value: AstExpr; range: Range }[] = [];
  const plain: AstExpr[] = [];
  let first: Range | undefined;
  let last: Range | undefined;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const sep = parts[i + 1];
    const value = parts[i + 2];
    if (p.kind === "word" && p.expr.kind === "ref" && sep && (sep.kind === "=" || (sep.kind === ":" && i > 0)) && value?.kind === "word") {
      named.push({ name: { kind: "ident", name: p.expr.name, range: p.expr.range }, value: value.expr, range: span(p.expr.range, value.expr.range) });
      first ??= p.expr.range;
      last = value.expr.range;
      i += 2;
      continue;
    }
    if (p.kind === "word") plain.push(p.expr);
    else if (p.kind === "=") return undefined; // a stray `=`: not a keyword argument
  }
  const callNamed = (call?.args ?? []).filter((a) => a.name && a.value && FOREIGN_ARGUMENTS[a.name.name] !== undefined);
  if (named.length === 0 && callNamed.length === 0) return undefined;
  // `dense(64, activation='relu')`: the unnamed values in the parentheses are nnc words.
  const callWords = (call?.args ?? []).filter((a) => !a.name && a.value).map((a) => a.value!);
  for (const a of call?.args ?? []) if (a.name && a.value) named.push({ name: a.name, value: a.value, range: a.range });
  const c = collect([], [], named);
  const kind = LAYER_KINDS[head.name] ? head.name : "activation";
  if (kind === "activation") c.given.set("activation", { meaning: "activation", written: head.name, value: ref(head.name, head.range), range: head.range });
  const spec = layerSpec(kind, "Keras or PyTorch", c, [...callWords, ...plain], head.range);
  const done = finish(spec, c, statementRange, statementRange, head);
  // The nnc words already written stay as words of the layer (options among them included).
  if (plain.length + callWords.length > 0) done.layer.unread = true;
  const shown = named.map((n) => `\`${n.name.name}=${exprSource(n.value)}\``);
  const translation: ForeignLayerTranslation = {
    library: "Keras or PyTorch",
    message: `${list(shown)} ${named.length === 1 ? "is a keyword argument" : "are keyword arguments"}, as Keras and PyTorch write them; an nnc layer takes plain words: \`${done.text}\`.`,
    hint: hintFor(done.text, spec, done.cannot),
    range: call && callNamed.length > 0 && !first ? call.range : span(first ?? call!.range, last ?? call!.range),
    layer: done.layer,
  };
  if (done.complete) translation.replace = { range: whole, text: done.text };
  return translation;
}

function partRange(p: StatementPart): Range {
  return p.kind === "word" ? p.expr.range : p.range;
}

// --- recipes -------------------------------------------------------------------------

/**
 * A recipe's `loss` line naming the loss as Keras or PyTorch do: `loss nn.CrossEntropyLoss()`,
 * `loss 'categorical_crossentropy'`, `loss keras.losses.MeanSquaredError()`.
 */
export function translateLoss(s: AstStatement): ForeignRecipeTranslation | undefined {
  if (s.head.name !== "loss" || s.clauses.length !== 1 || s.clauses[0]!.length !== 1) return undefined;
  const e = s.clauses[0]![0]!;
  const written = e.kind === "ref" ? e.name : e.kind === "string" ? e.value : e.kind === "call-expr" && e.args.length === 0 ? e.callee.name : undefined;
  // A plain word (`loss categorical_crossentropy`) is an unknown loss, which the checker
  // answers with "did you mean"; quotes, a call or a module path make it another library's.
  if (written === undefined || (e.kind === "ref" && !written.includes("."))) return undefined;
  const { name } = splitName(written);
  const key = name.toLowerCase();
  // nnc's own name in quotes is a quoted word (NN1026), not another library's loss.
  if (written === name && LOSSES[name]) return undefined;
  const nnc = FOREIGN_LOSSES[key] ?? FOREIGN_LOSSES[snake(name)] ?? (LOSSES[key] ? key : undefined);
  if (nnc === undefined) return undefined;
  const text = `loss ${nnc}`;
  const library = /^(nn|torch)\./.test(written) || /Loss$/.test(name) ? "PyTorch" : "Keras";
  const shown = e.kind === "call-expr" ? `${written}()` : exprSource(e);
  const statement: AstStatement = { kind: "statement", head: s.head, clauses: [[ref(nnc, e.range)]], range: s.range };
  return {
    code: "NN1025",
    library,
    message: `\`${shown}\` is ${library}'s name for this loss; nnc's is \`${nnc}\`.`,
    hint: `Write \`${text}\`.`,
    range: e.range,
    replace: { range: span(s.head.range, e.range), text },
    statement,
  };
}

/** The nnc optimizer another library's name stands for: `Adam` → `adam`, `optim.SGD` → `sgd`. */
function optimizerName(name: string): string | undefined {
  const lower = splitName(name).name.toLowerCase();
  if (OPTIMIZERS[lower]) return lower;
  const alias = ALIASES[lower];
  return alias !== undefined && OPTIMIZERS[alias] ? alias : undefined;
}

/**
 * A recipe's `optim` line written as another library configures an optimizer:
 * `optim Adam(lr=0.001)`, `optim torch.optim.SGD(lr=0.1, momentum=0.9)`, or nnc's own
 * optimizer with the learning rate among its arguments, `optim adam(lr: 0.001)`.
 */
export function translateOptimizer(s: AstStatement, equals: { has(a: AstArg): boolean }): ForeignRecipeTranslation | undefined {
  if (s.head.name !== "optim" || s.clauses.length !== 1) return undefined;
  const words = s.clauses[0]!;
  const e = words[0];
  if (!e || e.kind !== "call-expr") return undefined;
  const name = optimizerName(e.callee.name);
  if (name === undefined) return undefined;
  const info = OPTIMIZERS[name]!;
  const foreignSyntax = e.callee.name !== name || e.args.some((a) => equals.has(a));
  const mapped = e.args.map((a) => ({ a, to: a.name ? (FOREIGN_OPTIMIZER_ARGUMENTS[a.name.name] ?? a.name.name) : undefined }));
  const lrArg = mapped.find((m) => m.to === "lr");
  if (!foreignSyntax && !lrArg) return undefined;
  let nncName = name;
  const values = new Map<string, AstExpr>();
  const cannot: string[] = [];
  const notes: string[] = [];
  let positional = 0;
  for (const { a, to } of mapped) {
    if (!a.value) continue;
    if (to === undefined) {
      const slot = info.args[positional++];
      if (slot) values.set(slot.name, a.value);
      else cannot.push(`\`${exprSource(a.value)}\``);
      continue;
    }
    if (to === "betas") {
      const parts = partsOf(a.value);
      if (parts.length === 2) {
        values.set("beta1", parts[0]!);
        values.set("beta2", parts[1]!);
      } else cannot.push(`\`${a.name!.name}=${exprSource(a.value)}\``);
      continue;
    }
    values.set(to, a.value);
  }
  // SGD with momentum is nnc's `momentum` (or `nesterov`) optimizer.
  if (name === "sgd") {
    const m = values.get("momentum");
    values.delete("momentum");
    const nesterov = values.get("nesterov");
    values.delete("nesterov");
    if (m && numberOf(m) !== 0) {
      nncName = nesterov && !isFalse(nesterov) ? "nesterov" : "momentum";
      values.set("beta", m);
    }
  }
  if (name === "rmsprop" && values.has("momentum")) {
    cannot.push("`momentum`");
    values.delete("momentum");
  }
  if (values.has("weight_decay") && nncName !== "adamw") {
    notes.push(`for weight decay add a line \`weight_decay ${exprSource(values.get("weight_decay")!)}\``);
    values.delete("weight_decay");
  }
  const lr = values.get("lr");
  values.delete("lr");
  const slots = OPTIMIZERS[nncName]!.args.map((x) => x.name);
  for (const k of values.keys()) if (!slots.includes(k)) cannot.push(`\`${k}\``);
  // Positional arguments up to the last one given, defaults filling the gaps.
  let lastGiven = -1;
  slots.forEach((slot, i) => {
    if (values.has(slot)) lastGiven = i;
  });
  const argTexts: string[] = [];
  const args: AstArg[] = [];
  for (let i = 0; i <= lastGiven; i++) {
    const slot = OPTIMIZERS[nncName]!.args[i]!;
    const v = values.get(slot.name);
    argTexts.push(v ? nncText(v) : String(slot.default));
    const value: AstExpr = v ? copyOf(v) : { kind: "number", value: slot.default, raw: String(slot.default), range: e.range };
    args.push({ kind: "arg", value, range: v ? v.range : e.range });
  }
  const optText = argTexts.length > 0 ? `${nncName}(${argTexts.join(", ")})` : nncName;
  const text = `optim ${optText}${lr ? ` lr ${nncText(lr)}` : ""}`;
  const callee: AstIdent = { kind: "ident", name: nncName, range: e.callee.range };
  const newCall: AstExpr = args.length > 0 ? { kind: "call-expr", callee, args, range: e.range } : ref(nncName, e.callee.range);
  const clause: AstExpr[] = [newCall];
  if (lr) {
    const lrName = lrArg?.a.name?.range ?? lr.range;
    clause.push(ref("lr", lrName), copyOf(lr));
  }
  clause.push(...words.slice(1));
  const statement: AstStatement = { kind: "statement", head: s.head, clauses: [clause], range: s.range };
  const complete = cannot.length === 0 && words.length === 1;
  const hintParts = [`Write \`${text}\`.`];
  if (cannot.length > 0) hintParts.push(`${list(cannot)} ${cannot.length === 1 ? "has" : "have"} no counterpart in nnc's \`${nncName}\`.`);
  for (const n of notes) hintParts.push(sentence(n));
  const out: ForeignRecipeTranslation = foreignSyntax
    ? {
        code: "NN1025",
        library: "Keras or PyTorch",
        message: `\`${e.callee.name}(…)\` configures the optimizer as Keras and PyTorch do; in nnc the learning rate is a setting of its own: \`${text}\`.`,
        hint: hintParts.join(" "),
        range: e.range,
        statement,
      }
    : {
        code: "NN2007",
        library: "nnc",
        message: `\`${name}\` has no argument \`${lrArg!.a.name!.name}\`: the learning rate follows the optimizer, \`${text}\`.`,
        hint: hintParts.join(" "),
        range: lrArg!.a.name!.range,
        statement,
      };
  if (complete) out.replace = { range: span(s.head.range, e.range), text };
  return out;
}
