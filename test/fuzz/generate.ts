/**
 * A grammar-aware generator of `.nn` specs and the mutations the front-end fuzzer applies to
 * them. Everything is driven by one seeded generator, so an input is reproduced by its seed.
 *
 * The generator follows grammar/nn.ebnf and the vocabulary (src/language/vocabulary.ts): blocks
 * with parameters and defaults, models whose chains track the shape they build (so most specs
 * check clean and reach codegen), repeat, the three residual forms, layer options and
 * activations, recipes whose data fit the model, and searches. Names are drawn partly from a
 * hostile list (TypeScript keywords, `__proto__`, `constructor`, names the emitter derives
 * such as `x_pre`), strings from a list of injection attempts.
 */
import { ACTIVATIONS, INITIALIZERS, KEYWORDS, OPTIMIZERS } from "../../src/language/vocabulary.js";
import { seededRandom } from "../../src/common/random.js";

export class Rng {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = seededRandom(seed);
  }
  float(): number {
    return this.next();
  }
  /** A whole number in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** Names that have broken compilers before: host-object keys, TS keywords, the emitter's own names and suffixes. */
export const HOSTILE_NAMES = [
  "__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "class", "new", "function", "return",
  "const", "let", "var", "await", "yield", "eval", "arguments", "undefined", "NaN", "Infinity", "tf", "nnc", "seed",
  "inputs", "outputs", "recipe", "train", "build", "model", "any", "x", "xx", "_", "__", "_0", "a_pre", "a_pad",
  "a_relu", "a_leaky_relu", "buildA", "input", "dense", "relu", "project", "skip", "then", "max", "avg", "name",
];

/** Strings that try to break out of a literal or a comment of the generated module. */
export const HOSTILE_STRINGS = [
  "data/train.csv",
  'x"); process.exit(7); //',
  "*/ throw 1; /*",
  "${process.exit(7)}",
  "`; process.exit(7); `",
  "\\u0022); process.exit(7); //",
  "a\\\\\\\"b",
  "line\u2028separator\u2029para",
  "../../../../etc/passwd",
  "C:\\\\Windows\\\\system32",
  "\u202etxt.exe",
  "zero\u200bwidth\ufeffbom",
  "emoji 🚀🧠",
  "</script><script>alert(1)</script>",
  "a".repeat(300),
];

const DIMENSION_WORDS = ["c", "k", "width", "depth", "n"];

interface Shape {
  rank: 1 | 3;
  /** Height = width for images; features for vectors. */
  size: number;
  channels: number;
}

interface Ctx {
  rng: Rng;
  names: Set<string>;
  /** Parameters in scope (a block's or model's), usable in expressions. */
  params: string[];
  depth: number;
}

const ACTS = Object.keys(ACTIVATIONS).filter((a) => a !== "maxout" && a !== "softmax");

function number(rng: Rng): string {
  return rng.pick(["0.5", "0.1", "1e-3", "1e-4", ".25", "2.5E-2", "0.9", "1", "0", "3"]);
}

function activation(rng: Rng): string {
  const a = rng.pick(ACTS);
  if (a === "leaky_relu" || a === "elu") {
    if (rng.chance(0.3)) return `${a}(${number(rng)})`;
    if (rng.chance(0.2)) return `${a}(alpha: 0.2)`;
  }
  return a;
}

function init(rng: Rng): string {
  const i = rng.pick(Object.keys(INITIALIZERS));
  if ((i === "normal" || i === "uniform") && rng.chance(0.5)) return `${i}(${rng.pick(["0.02", "0.1", i === "normal" ? "std: 0.05" : "limit: 0.2"])})`;
  return i;
}

function layerName(ctx: Ctx): string {
  const { rng } = ctx;
  // Layer names start with a letter (TF.js refuses `_x/kernel`) and are not keys of
  // Object.prototype (TF.js cannot load such a model back: NN2018); model and block names need not.
  const base = rng.chance(0.5) ? rng.pick(HOSTILE_NAMES.filter((n) => /^[A-Za-z]/.test(n) && !(n in Object.prototype))) : `l${rng.int(0, 99)}`;
  let name = base;
  for (let i = 2; ctx.names.has(name); i++) name = `${base}${i}`;
  ctx.names.add(name);
  // A keyword is a name only where the grammar reads any name (after `model`, in arguments):
  // a layer named `train` is written `name "train"`.
  return rng.chance(0.2) || (KEYWORDS as readonly string[]).includes(name) ? JSON.stringify(name) : name;
}

/** Common and weight options for a dense or conv layer. */
function weightOptions(ctx: Ctx): string[] {
  const { rng } = ctx;
  const out: string[] = [];
  if (rng.chance(0.3)) out.push(`init ${init(rng)}`);
  if (rng.chance(0.15)) out.push(rng.chance(0.5) ? "no_bias" : `bias ${number(rng)}`);
  if (rng.chance(0.15)) out.push(`l1 ${number(rng)}`);
  if (rng.chance(0.15)) out.push(`l2 1e-4`);
  return out;
}

function common(ctx: Ctx, out: string[]): void {
  if (ctx.rng.chance(0.25)) out.push(`name ${layerName(ctx)}`);
  if (ctx.rng.chance(0.08)) out.push("frozen");
}

/** Words of a statement in shuffled order (options may come in any order), joined by spaces. */
function words(rng: Rng, head: string, parts: string[]): string {
  for (let i = parts.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [parts[i], parts[j]] = [parts[j]!, parts[i]!];
  }
  return [head, ...parts].join(" ");
}

/** A number or, sometimes, an expression of a parameter in scope that is meant to give it. */
function size(ctx: Ctx, n: number): string {
  if (ctx.params.length > 0 && ctx.rng.chance(0.2)) return `(${ctx.rng.pick(ctx.params)}*0+${n})`;
  return String(n);
}

/** One layer that keeps the shape (an image stays an image of the same size and channels). */
function sameShapeLayer(ctx: Ctx, s: Shape): string {
  const { rng } = ctx;
  const opts: string[] = [];
  common(ctx, opts);
  const k = rng.pick([1, 3, 5]);
  switch (rng.int(0, s.rank === 3 ? 6 : 4)) {
    case 0:
      return words(rng, "batchnorm", [...opts, ...(rng.chance(0.5) ? [activation(rng)] : []), ...(rng.chance(0.3) ? ["momentum 0.9"] : []), ...(rng.chance(0.3) ? ["epsilon 1e-5"] : [])]);
    case 1:
      return words(rng, "layernorm", [...opts, ...(rng.chance(0.5) ? [activation(rng)] : [])]);
    case 2:
      return words(rng, "dropout", [rng.pick(["0.5", "0.1", "0"]), ...opts]);
    case 3:
      return words(rng, activation(rng), opts);
    case 4:
      return s.rank === 1 ? words(rng, "dense", [size(ctx, s.size), ...opts, ...weightOptions(ctx), ...(rng.chance(0.6) ? [activation(rng)] : [])]) : words(rng, "groupnorm", [String(s.channels % 2 === 0 ? 2 : 1), ...opts]);
    case 5:
      return words(rng, "conv", [`${k}x${k}x${size(ctx, s.channels)}`, "same", ...opts, ...weightOptions(ctx), ...(rng.chance(0.6) ? [activation(rng)] : []), ...(rng.chance(0.15) ? ["dilation 2"] : [])]);
    default:
      return words(rng, "conv", [`${k}x${k}`, `filters ${s.channels}`, "same", ...opts, ...(rng.chance(0.2) ? ["stride 1"] : [])]);
  }
}

/** A chain of items that maps `s` to itself, for residual bodies and repeats. */
function sameShapeChain(ctx: Ctx, s: Shape, max: number): string[] {
  const n = ctx.rng.int(1, max);
  const items: string[] = [];
  for (let i = 0; i < n; i++) items.push(sameShapeItem(ctx, s));
  return items;
}

function sameShapeItem(ctx: Ctx, s: Shape): string {
  const { rng } = ctx;
  if (ctx.depth < 4 && rng.chance(0.15)) {
    ctx.depth++;
    const body = sameShapeChain(ctx, s, 3);
    ctx.depth--;
    const count = ctx.params.length > 0 && rng.chance(0.2) ? `(${rng.pick(ctx.params)}*0+2)` : String(rng.int(1, 3));
    return rng.chance(0.7) ? `repeat ${count} { ${body.join(" -> ")} }` : `repeat ${count} ${body[0]}`;
  }
  if (ctx.depth < 4 && rng.chance(0.1)) {
    // A merge that keeps the shape: a sum of branches, or a squeeze-and-excitation gate.
    ctx.depth++;
    const a = sameShapeChain(ctx, s, 2);
    const b = rng.chance(0.5) ? sameShapeChain(ctx, s, 2) : [];
    ctx.depth--;
    if (s.rank === 3 && rng.chance(0.4)) return `multiply { global avgpool -> dense ${Math.max(1, s.channels >> 1)} relu -> dense ${s.channels} sigmoid -> reshape 1x1x${s.channels} }`;
    return rng.chance(0.5) ? `add { ${a.join(" -> ")} }\n    { ${b.join(" -> ")} }` : `add { ${a.join(" -> ")} } { ${b.join(" -> ")} }`;
  }
  if (ctx.depth < 4 && rng.chance(0.15)) {
    ctx.depth++;
    const body = sameShapeChain(ctx, s, 3);
    const skip = rng.chance(0.3) ? sameShapeChain(ctx, s, 1) : undefined;
    ctx.depth--;
    const form = rng.int(0, 2);
    const lines = body.join(rng.chance(0.5) ? "\n    " : " -> ");
    if (form === 1) return `residual project {\n    ${lines}\n  }`;
    if (form === 2 && skip) return `residual { ${lines} } skip { ${skip.join(" -> ")} }${rng.chance(0.3) ? " -> relu" : ""}`;
    return `residual {\n    ${lines}\n  }`;
  }
  return sameShapeLayer(ctx, s);
}

/** A layer that changes the shape; returns the layer and the new shape. */
function changingLayer(ctx: Ctx, s: Shape): [string, Shape] {
  const { rng } = ctx;
  const opts: string[] = [];
  common(ctx, opts);
  if (s.rank === 3) {
    const r = rng.int(0, 6);
    if (r === 0 && s.size >= 4 && s.size % 2 === 0) return [words(rng, "pool", [...(rng.chance(0.5) ? ["2"] : []), ...(rng.chance(0.3) ? ["avg"] : []), ...opts]), { ...s, size: s.size / 2 }];
    if (r === 1) return [words(rng, "flatten", opts), { rank: 1, size: s.size * s.size * s.channels, channels: 1 }];
    if (r === 2) return [words(rng, "global", [rng.pick(["avgpool", "maxpool", "avg", "max"]), ...opts]), { rank: 1, size: s.channels, channels: 1 }];
    if (r === 3) {
      const f = rng.int(1, 16);
      return [words(rng, "conv", [`3x3x${f}`, "same", ...opts, ...weightOptions(ctx), ...(rng.chance(0.5) ? [activation(rng)] : [])]), { ...s, channels: f }];
    }
    if (r === 4 && s.size >= 3) {
      const f = rng.int(1, 8);
      return [words(rng, "conv", [`3x3x${f}`, ...(rng.chance(0.5) ? ["valid"] : []), ...opts]), { ...s, size: s.size - 2, channels: f }];
    }
    if (r === 5) {
      // Issue 14's kinds and merges, each with the shape it gives.
      const f = rng.int(1, 6);
      const g = rng.int(1, 6);
      switch (rng.int(0, 6)) {
        case 0:
          return [`concat { conv 1x1x${f} relu } { conv 3x3x${g} same }`, { ...s, channels: f + g }];
        case 1:
          return [`concat { ${sameShapeLayer(ctx, s)} -> conv 3x3x${f} same }`, { ...s, channels: s.channels + f }];
        case 2: {
          const m = rng.int(1, 2);
          return [words(rng, "depthwise", ["3x3", "same", ...(m > 1 ? [`multiplier ${m}`] : []), ...opts]), { ...s, channels: s.channels * m }];
        }
        case 3:
          return [words(rng, "separable", [`3x3x${f}`, "same", ...opts]), { ...s, channels: f }];
        case 4:
          return [words(rng, "upsample", ["2", ...(rng.chance(0.5) ? ["bilinear"] : []), ...opts]), { ...s, size: s.size * 2 }];
        case 5:
          return [`pad 1 -> crop 1 -> ${words(rng, "pad", [`channels ${f}`, ...opts])}`, { ...s, channels: s.channels + f }];
        default:
          return [words(rng, "upconv", [`2x2x${f}`, "stride 2", "same", ...opts]), { ...s, size: s.size * 2, channels: f }];
      }
    }
    if (s.channels % 2 === 0) return [words(rng, "maxout(2)", opts), { ...s, channels: s.channels / 2 }];
    return [words(rng, "conv", [`1x1x${s.channels * 2}`, "full", ...opts]), { ...s, channels: s.channels * 2 }];
  }
  if (rng.chance(0.2) && s.size % 4 === 0) return [words(rng, "reshape", [`2x2x${s.size / 4}`, ...opts]), { rank: 3, size: 2, channels: s.size / 4 }];
  const units = rng.int(1, 64);
  return [words(rng, "dense", [size(ctx, units), ...opts, ...weightOptions(ctx), ...(rng.chance(0.7) ? [activation(rng)] : [])]), { rank: 1, size: units, channels: 1 }];
}

interface ModelGen {
  text: string;
  name: string;
  input: Shape;
  classes: number;
}

function model(rng: Rng, name: string, blocks: BlockGen[]): ModelGen {
  const hasParams = rng.chance(0.3);
  const params = hasParams ? rng.pick([["width = 8"], ["width = 8", "depth = width/4"], ["c = 4", "k = 3"]]) : [];
  const ctx: Ctx = { rng, names: new Set(), params: params.map((p) => p.split(" ")[0]!), depth: 0 };
  const image = rng.chance(0.6);
  const mnist = rng.chance(0.3);
  let s: Shape = image ? (mnist ? { rank: 3, size: 28, channels: 1 } : { rank: 3, size: rng.pick([4, 8, 12, 16]), channels: rng.int(1, 4) }) : { rank: 1, size: mnist ? 784 : rng.int(1, 20), channels: 1 };
  const input = s;
  const items: string[] = [words(rng, "input", [s.rank === 3 ? `${s.size}x${s.size}x${s.channels}` : String(s.size), ...(rng.chance(0.2) ? [`name ${layerName(ctx)}`] : [])])];
  const n = rng.int(1, 8);
  for (let i = 0; i < n; i++) {
    const usable = blocks.filter((b) => b.rank === s.rank);
    if (usable.length > 0 && rng.chance(0.2)) {
      const b = rng.pick(usable);
      items.push(b.call(rng, s));
      continue;
    }
    if (rng.chance(0.5)) items.push(sameShapeItem(ctx, s));
    else {
      const [l, t] = changingLayer(ctx, s);
      items.push(l);
      s = t;
    }
  }
  if (s.rank === 3) {
    items.push(rng.pick(["flatten", "global avgpool"]));
    s = { rank: 1, size: 0, channels: 1 };
  }
  // Parameters that are never used warn (NN2015): use each in a harmless way.
  for (const p of ctx.params) items.push(`dropout (${p}*0)`);
  const classes = rng.pick([2, 3, 10]);
  items.push(`dense ${classes} softmax`);
  const sep = () => rng.pick([" -> ", "\n  ", "\n  -> ", " ->\n  ", " → "]);
  const body = items.reduce((acc, it) => acc + sep() + it);
  const header = params.length > 0 ? `${name}(${params.join(", ")})` : name;
  const text = `model ${header} {\n  ${body}\n}\n`;
  return { text, name, input, classes };
}

interface BlockGen {
  text: string;
  rank: 1 | 3;
  call(rng: Rng, s: Shape): string;
}

function block(rng: Rng, name: string): BlockGen {
  const rank: 1 | 3 = rng.chance(0.6) ? 3 : 1;
  const text =
    rank === 3
      ? `block ${name}(c, k = 3, stride = 1) {\n  conv (k)x(k)xc stride stride same no_bias\n  batchnorm relu\n}\n`
      : `block ${name}(units, rate = 0.1) {\n  dense units relu -> dropout rate\n  dense units\n}\n`;
  return {
    text,
    rank,
    call: (r, s) => {
      const size = rank === 3 ? s.channels : s.size;
      const arg = rank === 3 ? r.pick([`${size}`, `c: ${size}`, `${size}, k: 1`, `c: ${size}, stride: 1`]) : r.pick([`${size}`, `units: ${size}`, `${size}, rate: 0.2`]);
      return `${name}(${arg})`;
    },
  };
}

function recipe(rng: Rng, m: ModelGen): string {
  const lines: string[] = [];
  const { input, classes } = m;
  const image = input.rank === 3;
  const mnistShape = (image && input.size === 28 && input.channels === 1) || (!image && input.size === 784);
  if (mnistShape && classes === 10 && rng.chance(0.7)) lines.push(`data mnist(train: ${rng.int(1, 8000)}, test: ${rng.int(0, 2000)})`);
  else if (!image && classes === 2 && rng.chance(0.5)) lines.push(`data ball(dims: ${input.size}, n: ${rng.int(1, 2000)}, test: ${rng.int(0, 100)})`);
  else if (rng.chance(0.5)) lines.push(`data csv(${JSON.stringify(rng.pick(HOSTILE_STRINGS))}, label: ${JSON.stringify(rng.pick(["label", ...HOSTILE_STRINGS]))})`);
  else lines.push(`data idx(${JSON.stringify(rng.pick(HOSTILE_STRINGS))}, ${JSON.stringify(rng.pick(HOSTILE_STRINGS))})`);
  if (rng.chance(0.4)) lines.push(`normalize ${rng.pick(["standard", "minmax", "none", "scale(0.5)"])}`);
  if (image && rng.chance(0.3)) lines.push(`augment flip horizontal, crop ${input.size}x${input.size} pad 2, jitter brightness 0.1 contrast 0.2`);
  lines.push(`loss ${rng.pick(["crossentropy", "sparse_crossentropy"])}`);
  const opt = rng.pick(Object.keys(OPTIMIZERS));
  const args = OPTIMIZERS[opt]!.args;
  const argText = args.length > 0 && rng.chance(0.5) ? `(${args.map((a, i) => (i === args.length - 1 && rng.chance(0.5) ? `${a.name}: ${a.default}` : String(a.default))).join(", ")})` : "";
  lines.push(`optim ${opt}${argText}${rng.chance(0.4) ? ` lr ${rng.pick(["1e-3", "0.01", "0.5"])}` : ""}`);
  if (rng.chance(0.3)) lines.push(`schedule ${rng.pick(["constant", "cosine", "step(0.1, every: 10)", "exp(0.95)", "warmup(2) then cosine"])}`);
  if (rng.chance(0.2)) lines.push("weight_decay 1e-4");
  if (rng.chance(0.2)) lines.push(`clip ${rng.pick(["norm", "value"])} 1.0`);
  if (rng.chance(0.5)) lines.push(`batch ${rng.int(1, 256)}`);
  if (rng.chance(0.5)) lines.push(`epochs ${rng.int(1, 50)}`);
  const validate = rng.chance(0.3);
  if (validate) lines.push("validate 0.1");
  if (validate && rng.chance(0.5)) lines.push("early_stop val_loss patience 3 restore_best");
  if (validate && rng.chance(0.3)) lines.push("checkpoint best val_acc");
  if (rng.chance(0.4)) lines.push(`seed ${rng.pick(["0", "42", "4294967295"])}`);
  if (rng.chance(0.3)) lines.push(`metrics loss, acc${validate ? ", val_acc" : ""}`);
  if (rng.chance(0.2)) lines.push(`pretrained ${JSON.stringify(rng.pick(HOSTILE_STRINGS))}`);
  return `train ${m.name} {\n  ${lines.join("\n  ")}\n}\n`;
}

function search(rng: Rng, m: ModelGen): string {
  const grid = rng.chance(0.4);
  const lines = grid ? ["batch ~ choice(16, 32)", "epochs ~ int(1, 3)"] : ["lr ~ loguniform(1e-4, 1e-1)", "batch ~ choice(32, 64, 128)", "weight_decay ~ uniform(0, 0.1)"];
  if (rng.chance(0.5)) lines.push(rng.pick(["maximize val_acc", "minimize loss", "maximize acc"]));
  if (rng.chance(0.5)) lines.push(`epochs ${rng.int(1, 5)}`);
  if (rng.chance(0.5)) lines.push(`seed ${rng.int(0, 99)}`);
  return `search ${m.name} ${grid ? "grid" : `random ${rng.int(1, 20)}`} {\n  ${lines.join("\n  ")}\n}\n`;
}

/** A whole spec, mostly valid: blocks, models, recipes, searches, comments. */
export function generateSpec(rng: Rng): string {
  const decls: string[] = [];
  const taken = new Set<string>();
  const fresh = (prefix: string): string => {
    let n = rng.chance(0.3) ? rng.pick(HOSTILE_NAMES) : `${prefix}${rng.int(0, 9)}`;
    while (taken.has(n) || ["input", "dense", "relu", "model", "train", "build", "name", "max", "avg", "project", "skip", "then"].includes(n)) n = `${prefix}${rng.int(0, 999)}`;
    taken.add(n);
    return n;
  };
  const blocks = Array.from({ length: rng.int(0, 2) }, () => block(rng, fresh("b")));
  for (const b of blocks) decls.push(b.text);
  const models = Array.from({ length: rng.int(1, 2) }, () => model(rng, fresh("m"), blocks));
  // A block that no model calls is fine; declarations come in any order.
  for (const m of models) {
    decls.push(m.text);
    if (rng.chance(0.7)) {
      decls.push(recipe(rng, m));
      if (rng.chance(0.25)) decls.push(search(rng, m));
    }
  }
  for (let i = decls.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [decls[i], decls[j]] = [decls[j]!, decls[i]!];
  }
  const comment = rng.chance(0.3) ? `# ${rng.pick(HOSTILE_STRINGS)}\n` : "";
  return comment + decls.join("\n");
}

// ── mutations ──────────────────────────────────────────────────────────────────────────────

/** Rough tokens of a spec: words, numbers, strings, punctuation and runs of space. */
function roughTokens(text: string): string[] {
  return text.match(/"(?:[^"\\\n]|\\.)*"?|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+|->|\s+|#[^\n]*|[^]/gu) ?? [];
}

const HUGE = ["1e308", "1e309", "1e400", "-1e308", "99999999999999999999", "4294967296", "4294967295", "2147483648", "9007199254740993", "0", "-0", "-1", "0.0", "1e-400", "5e-324", "00000000000000000001", "1.", ".0e0"];
const UNICODE = ["模型", "\u200b", "\u200d", "\u202e", "\u2066", "🚀", "👩‍💻", "\u0000", "\u2028", "\u2029", "\ufeff", "\ud800", "\udfff", "é", "e\u0301", "ǅ", "\u00a0", "\u3000", "\u0085", "ｍｏｄｅｌ", "\u000b", "\u000c", "\r", "x\u0308"];
const PIECES = ["model", "block", "train", "search", "repeat", "residual", "project", "skip", "{", "}", "(", ")", "->", "→", ",", ":", "=", "~", "x", "*", "/", "+", "-", '"', "#", "\n", "input", "dense", "conv", "relu", "softmax", "name", "data", "loss", "optim", "lr", "1x1x1", "3x3xc", "(c*2)x(c*2)", "//", "$", "@"];

export const MUTATIONS = [
  "delete-token",
  "duplicate-token",
  "swap-tokens",
  "replace-token",
  "huge-number",
  "deep-nesting",
  "unicode",
  "crlf",
  "long-line",
  "random-bytes",
  "truncate",
  "splice-piece",
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** Applies one mutation; returns the new text. */
export function mutate(rng: Rng, text: string, kind: Mutation): string {
  const toks = roughTokens(text);
  const meaningful = toks.map((t, i) => (/^\s+$/.test(t) ? -1 : i)).filter((i) => i >= 0);
  const at = meaningful.length > 0 ? rng.pick(meaningful) : 0;
  switch (kind) {
    case "delete-token":
      toks.splice(at, 1);
      return toks.join("");
    case "duplicate-token":
      toks.splice(at, 0, toks[at] ?? "", rng.chance(0.5) ? " " : "");
      return toks.join("");
    case "swap-tokens": {
      const other = meaningful.length > 0 ? rng.pick(meaningful) : 0;
      [toks[at], toks[other]] = [toks[other] ?? "", toks[at] ?? ""];
      return toks.join("");
    }
    case "replace-token":
      toks[at] = rng.pick(PIECES);
      return toks.join("");
    case "huge-number": {
      const nums = toks.map((t, i) => (/^[\d.]/.test(t) ? i : -1)).filter((i) => i >= 0);
      if (nums.length === 0) return text + " " + rng.pick(HUGE);
      toks[rng.pick(nums)] = rng.pick(HUGE);
      return toks.join("");
    }
    case "deep-nesting": {
      const depth = rng.pick([20, 99, 100, 101, 150, 500, 3000]);
      const forms: [string, string][] = [
        ["(", ")"],
        ["{", "}"],
        ["repeat 2 { ", " }"],
        ["residual { ", " }"],
        ["repeat 2 ", ""],
        ["-", ""],
        ["b(", ")"],
        ["(1*", ")"],
      ];
      const [open, close] = rng.pick(forms);
      const inner = rng.pick(["dense 3", "1", "relu", "", "c"]);
      toks.splice(at, 0, " " + open.repeat(depth) + inner + (rng.chance(0.8) ? close.repeat(depth) : "") + " ");
      return toks.join("");
    }
    case "unicode": {
      const n = rng.int(1, 3);
      for (let i = 0; i < n; i++) toks.splice(rng.int(0, toks.length), 0, rng.pick(UNICODE));
      return toks.join("");
    }
    case "crlf":
      return rng.chance(0.5) ? text.replace(/\n/g, "\r\n") : rng.chance(0.5) ? text.replace(/\n/g, "\r") : text.replace(/\n/g, rng.pick(["\u2028", "\r\r\n", "\n\r"]));
    case "long-line": {
      const unit = rng.pick(["9", "a", "# comment ", "dense 3 -> ", "x", "relu ", '"', "(", "->", "1x", " ", "é", "🚀", "relu, "]);
      const line = unit.repeat(Math.ceil((1 << 20) / unit.length));
      toks.splice(at, 0, rng.chance(0.5) ? line : `\n${line}\n`);
      return toks.join("");
    }
    case "random-bytes": {
      const n = rng.int(1, 40);
      let s = "";
      for (let i = 0; i < n; i++) s += String.fromCharCode(rng.chance(0.7) ? rng.int(0, 127) : rng.int(0, 0xffff));
      toks.splice(at, 0, s);
      return toks.join("");
    }
    case "truncate":
      return text.slice(0, rng.int(0, text.length));
    case "splice-piece":
      toks.splice(at, 0, " ", rng.pick(PIECES), " ");
      return toks.join("");
  }
}

/**
 * Shrinks `input` while `fails` holds, by delta debugging (ddmin) over lines, then tokens,
 * then characters, within a time budget. Returns the smallest failing input found.
 */
export function shrink(input: string, fails: (text: string) => boolean, budgetMs = 20_000): string {
  const deadline = performance.now() + budgetMs;
  let best = input;
  const pass = (split: (s: string) => string[]): void => {
    let parts = split(best);
    let n = 2;
    while (parts.length >= 2 && performance.now() < deadline) {
      const chunk = Math.ceil(parts.length / n);
      let reduced = false;
      for (let i = 0; i < parts.length && performance.now() < deadline; i += chunk) {
        const candidate = [...parts.slice(0, i), ...parts.slice(i + chunk)];
        const text = candidate.join("");
        if (text !== best && fails(text)) {
          best = text;
          parts = candidate;
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
      if (!reduced) {
        if (n >= parts.length) break;
        n = Math.min(parts.length, n * 2);
      }
    }
  };
  pass((s) => s.match(/[^\n]*\n|[^\n]+$/g) ?? []);
  // A 1 MB line: cut it down in blocks before going token by token.
  for (const size of [65536, 4096, 256]) if (best.length > size * 4) pass((s) => s.match(new RegExp(`[^]{1,${size}}`, "g")) ?? []);
  pass(roughTokens);
  if (best.length <= 2000) pass((s) => [...s]);
  return best;
}
