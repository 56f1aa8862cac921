/**
 * From a layer's words to a resolved LayerConfig: evaluates values in the current scope,
 * applies defaults (Keras's), checks value ranges and option combinations. Also remembers
 * where each part of the layer is written, so shape errors can point at the right word.
 */
import { diag, type Diagnostic, type Fix, type Range } from "../diagnostics/diagnostic.js";
import { unknownWord } from "../diagnostics/suggest.js";
import { ACTIVATIONS, INITIALIZERS, type Padding } from "../language/vocabulary.js";
import { kindOfWord, positionalSubject, type ResolveContext } from "../layers/index.js";
import { exprSource, type AstActivation, type AstArg, type AstExpr, type AstLayer } from "../parser/index.js";
import { formatNumber, type Env, type Evaluator } from "./evaluate.js";
import type { ActivationSpec, InitSpec, LayerConfig, ShapeErrorSubject, WeightOptions } from "./layer-config.js";

export interface ResolvedLayer {
  /** undefined when a value could not be resolved (already reported). */
  config: LayerConfig | undefined;
  /** Where each part of the layer is written. */
  subjects: Partial<Record<ShapeErrorSubject, Range>>;
  /** The `name` option, if given. */
  name?: { value: string; range: Range };
  frozen: boolean;
}

const DEFAULT_INIT: InitSpec = { name: "glorot_uniform" };

export class LayerResolver {
  constructor(
    private readonly ev: Evaluator,
    private readonly diagnostics: Diagnostic[],
  ) {}

  resolve(layer: AstLayer, env: Env, inputRank?: number): ResolvedLayer {
    const op = layer.op.name;
    const subjects: Partial<Record<ShapeErrorSubject, Range>> = { layer: layer.op.range };
    const out: ResolvedLayer = { config: undefined, subjects, frozen: layer.options["frozen"] !== undefined };
    const nameOpt = layer.options["name"];
    if (nameOpt?.value) {
      // TensorFlow.js refuses a weight name that starts with `_` (`_x/kernel`), so a layer
      // name starts with a letter, as the message has always said.
      const given = nameOpt.value.kind === "ref" ? nameOpt.value.name : nameOpt.value.kind === "string" ? nameOpt.value.value : undefined;
      if (given !== undefined && /^[A-Za-z][A-Za-z0-9_]*$/.test(given) && given in Object.prototype) {
        // TensorFlow.js's loader (tfjs-layers' Container.fromConfig) keeps layers by name in
        // plain objects and asks `name in object`: `constructor` is found there before any
        // layer is, and the saved model does not load back (nor does the run's report).
        this.error("NN2018", `TensorFlow.js cannot load back a model with a layer named \`${given}\`: its loader keeps layers by name in plain JavaScript objects, which already have a \`${given}\`.`, nameOpt.value.range, `Choose another name, e.g. \`${given}_\`.`, [{ title: `Rename to \`${given}_\``, edits: [{ range: nameOpt.value.range, newText: nameOpt.value.kind === "string" ? `"${given}_"` : `${given}_` }] }]);
      } else if (given !== undefined && /^[A-Za-z][A-Za-z0-9_]*$/.test(given)) out.name = { value: given, range: nameOpt.value.range };
      else this.error("NN1013", "A layer name is a word of letters, digits and `_`, starting with a letter.", nameOpt.value.range, given !== undefined && /^_+[A-Za-z0-9_]*$/.test(given) && /[A-Za-z]/.test(given) ? `For example: \`name ${given.replace(/^[_0-9]+/, "")}\`.` : "For example: `name conv1`.");
    }
    for (const key in layer.options) {
      const o = layer.options[key]!;
      if (key === "stride" || key === "valid" || key === "same" || key === "full") subjects[key === "stride" ? "stride" : "padding"] = o.range;
      if (key === "dilation") subjects.dilation = o.range;
      if (key === "filters") subjects.filters = o.range;
      if (key === "groups") subjects.groups = o.range;
      if (key === "multiplier") subjects.multiplier = o.range;
    }
    if (layer.activation) subjects.activation = layer.activation.range;

    let activation: ActivationSpec | undefined;
    let activationOk = true;
    if (layer.activation) {
      activation = this.activation(layer.activation, env);
      activationOk = activation !== undefined;
    }
    const first = layer.positional[0];
    if (first) subjects[positionalSubject(op)] = first.range;
    const kind = kindOfWord(op);
    if (kind?.resolve) {
      out.config = kind.resolve(this.context(layer, env, first, activation, activationOk, subjects, inputRank));
    } else if (activation) {
      // A lone activation: `relu`, `leaky_relu(0.1)`.
      out.config = { op: "activation", activation };
    }
    return out;
  }

  /** What a kind's `resolve` reads its words through: values in this scope, defaults, errors. */
  private context(layer: AstLayer, env: Env, first: AstExpr | undefined, activation: ActivationSpec | undefined, activationOk: boolean, subjects: Partial<Record<ShapeErrorSubject, Range>>, inputRank: number | undefined): ResolveContext {
    return new LayerWords(this, layer, env, first, activation, activationOk, subjects, inputRank);
  }

  /** `stride 2`: a pair option, or its default (for LayerWords). */
  pairOf(layer: AstLayer, key: string, env: Env, dflt: [number, number]): [number, number] | undefined {
    return this.pair(layer, key, env, dflt);
  }
  numberOf(layer: AstLayer, key: string, env: Env, dflt: number, valid: (v: number) => boolean, rule: string): number | undefined {
    return this.numberOption(layer, key, env, dflt, valid, rule);
  }
  paddingOf(layer: AstLayer, dflt: Padding): Padding | undefined {
    return this.padding(layer, dflt);
  }
  exclusiveOf(layer: AstLayer, words: string[], dflt: string | undefined): string | undefined {
    return this.exclusive(layer, words, dflt);
  }
  weightsOf(layer: AstLayer, env: Env): WeightOptions | undefined {
    return this.weights(layer, env);
  }
  report(code: Parameters<typeof diag>[0], message: string, range: Range, hint?: string): void {
    this.error(code, message, range, hint);
  }
  get evaluator(): Evaluator {
    return this.ev;
  }


  activation(a: AstActivation, env: Env): ActivationSpec | undefined {
    const name = a.name.name;
    const info = ACTIVATIONS[name];
    if (!info) {
      this.diagnostics.push(unknownWord({ code: "NN2011", message: `\`${name}\` is not an activation I know.`, word: name, range: a.name.range, candidates: Object.keys(ACTIVATIONS), kinds: "Activations" }));
      return undefined;
    }
    const value = this.singleArg(a.args, info.arg?.name, env, `\`${name}\``, a.range);
    if (value === null) return undefined;
    if (!info.arg) return { name: name === "silu" ? "swish" : name } as ActivationSpec;
    let v = value;
    if (v === undefined) {
      if (info.arg.default === undefined) {
        this.error("NN1008", `\`${name}\` needs its ${info.arg.name}, e.g. \`${name}(2)\`.`, a.range, info.summary);
        return undefined;
      }
      v = info.arg.default;
    }
    const argRange = a.args[0]?.range ?? a.range;
    if ((info.arg.min !== undefined && v < info.arg.min) || (info.arg.integer && !Number.isInteger(v))) {
      this.error("NN3011", `The ${info.arg.name} of \`${name}\` must be ${info.arg.integer ? "a whole number " : ""}at least ${info.arg.min}, but it is ${formatNumber(v)}.`, argRange);
      return undefined;
    }
    if (name === "leaky_relu") return { name, alpha: v };
    if (name === "elu") return { name, alpha: v };
    return { name: "maxout", k: v };
  }

  /** One optional argument in parentheses; null on error. */
  private singleArg(args: AstArg[], argName: string | undefined, env: Env, owner: string, range: Range): number | undefined | null {
    if (args.length === 0) return undefined;
    if (!argName) {
      this.error("NN2009", `${owner} takes no arguments.`, args[0]!.range, `Write it without parentheses.`);
      return null;
    }
    if (args.length > 1) {
      this.error("NN2009", `${owner} takes one argument (${argName}), but got ${args.length}.`, args[1]!.range);
      return null;
    }
    const a = args[0]!;
    if (a.name && a.name.name !== argName) {
      this.error("NN2007", `${owner} has no argument \`${a.name.name}\`; its argument is \`${argName}\`.`, a.name.range);
      return null;
    }
    if (!a.value) return null;
    const v = this.ev.number(a.value, env, `the ${argName} of ${owner}`);
    void range;
    return v === undefined ? null : v;
  }

  private init(e: AstExpr, env: Env): InitSpec | undefined {
    const name = e.kind === "ref" ? e.name : e.kind === "call-expr" ? e.callee.name : undefined;
    const nameRange = e.kind === "call-expr" ? e.callee.range : e.range;
    if (name === undefined) {
      this.error("NN1013", `An initialiser is a name such as \`he_normal\`, not \`${exprSource(e)}\`.`, e.range, e.kind === "number" ? `For small random weights write \`init normal(${exprSource(e)})\`; for a constant bias, \`bias ${exprSource(e)}\`.` : "For example: `init he_normal`.");
      return undefined;
    }
    const info = INITIALIZERS[name];
    if (!info) {
      this.diagnostics.push(unknownWord({ code: "NN2012", message: `\`${name}\` is not an initialiser I know.`, word: name, range: nameRange, candidates: Object.keys(INITIALIZERS), kinds: "Initialisers" }));
      return undefined;
    }
    const args = e.kind === "call-expr" ? e.args : [];
    const value = this.singleArg(args, info.arg?.name, env, `\`${name}\``, e.range);
    if (value === null) return undefined;
    const canonical = name === "xavier_normal" ? "glorot_normal" : name === "xavier_uniform" ? "glorot_uniform" : name;
    if (canonical === "normal" || canonical === "uniform") {
      const v = value ?? info.arg!.default!;
      if (v <= 0) {
        this.error("NN3011", `The ${info.arg!.name} of \`${name}\` must be positive, but it is ${formatNumber(v)}.`, args[0]?.range ?? e.range);
        return undefined;
      }
      return canonical === "normal" ? { name: "normal", std: v } : { name: "uniform", limit: v };
    }
    return { name: canonical } as InitSpec;
  }

  private weights(layer: AstLayer, env: Env): WeightOptions | undefined {
    const o = layer.options;
    let ok = true;
    const w: WeightOptions = { useBias: o["no_bias"] === undefined, kernelInit: DEFAULT_INIT, biasInit: 0, l1: 0, l2: 0 };
    if (o["init"]?.value) {
      const init = this.init(o["init"].value, env);
      if (init) w.kernelInit = init;
      else ok = false;
    }
    if (o["bias"] && o["no_bias"]) {
      this.error("NN1012", "`bias` sets the initial bias, but `no_bias` removes the bias.", o["bias"].range, "Keep one of them.");
      ok = false;
    } else if (o["bias"]?.value) {
      const v = this.ev.number(o["bias"].value, env, "the initial bias");
      if (v === undefined) ok = false;
      else w.biasInit = v;
    }
    for (const key of ["l1", "l2"] as const) {
      const v = this.numberOption(layer, key, env, 0, (x) => x >= 0, "zero or positive");
      if (v === undefined) ok = false;
      else w[key] = v;
    }
    return ok ? w : undefined;
  }

  private numberOption(layer: AstLayer, key: string, env: Env, dflt: number, valid: (v: number) => boolean, rule: string): number | undefined {
    const o = layer.options[key];
    if (!o) return dflt;
    if (!o.value) return undefined;
    const v = this.ev.number(o.value, env, `\`${key}\``);
    if (v === undefined) return undefined;
    if (!valid(v)) {
      this.error("NN3011", `\`${key}\` must be ${rule}, but it is ${formatNumber(v)}.`, o.value.range);
      return undefined;
    }
    return v;
  }

  private pair(layer: AstLayer, key: string, env: Env, dflt: [number, number]): [number, number] | undefined {
    const o = layer.options[key];
    if (!o) return dflt;
    if (!o.value) return undefined;
    return this.ev.pair(o.value, env, `the ${key}`);
  }

  private padding(layer: AstLayer, dflt: Padding): Padding | undefined {
    return this.exclusive(layer, ["valid", "same", "full"], dflt) as Padding | undefined;
  }

  /** At most one of `words` may be given; returns the one given, or the default. */
  private exclusive(layer: AstLayer, words: string[], dflt: string | undefined): string | undefined {
    const given = words.filter((w) => layer.options[w]);
    if (given.length > 1) {
      const second = layer.options[given[1]!]!;
      this.error("NN1012", `\`${given[0]}\` and \`${given[1]}\` contradict each other.`, second.range, "Keep one of them.");
      return undefined;
    }
    return given[0] ?? dflt;
  }

  private error(code: Parameters<typeof diag>[0], message: string, range: Range, hint?: string, fixes?: Fix[]): void {
    this.diagnostics.push(diag(code, message, range, hint === undefined ? { fixes } : { hint, fixes }));
  }
}

/**
 * One layer's words as its kind's `resolve` reads them (a `ResolveContext`): one object per
 * layer with its methods on the prototype, since a 1,000-layer spec is re-checked per keystroke.
 */
class LayerWords implements ResolveContext {
  readonly format = formatNumber;
  readonly source = exprSource;
  constructor(
    private readonly resolver: LayerResolver,
    readonly layer: AstLayer,
    private readonly env: Env,
    readonly first: AstExpr | undefined,
    readonly activation: ActivationSpec | undefined,
    readonly activationOk: boolean,
    private readonly subjects: Partial<Record<ShapeErrorSubject, Range>>,
    readonly inputRank: number | undefined,
  ) {}
  dims(e: AstExpr, what: string): number[] | undefined {
    return this.resolver.evaluator.dims(e, this.env, what);
  }
  sizes(e: AstExpr, what: string): number[] | undefined {
    return this.resolver.evaluator.sizes(e, this.env, what);
  }
  pair(e: AstExpr, what: string): [number, number] | undefined {
    return this.resolver.evaluator.pair(e, this.env, what);
  }
  positiveInt(e: AstExpr, what: string): number | undefined {
    return this.resolver.evaluator.positiveInt(e, this.env, what);
  }
  number(e: AstExpr, what: string): number | undefined {
    return this.resolver.evaluator.number(e, this.env, what);
  }
  pairOption(key: string, dflt: [number, number]): [number, number] | undefined {
    return this.resolver.pairOf(this.layer, key, this.env, dflt);
  }
  intOption(key: string, dflt: number): number | undefined {
    const o = this.layer.options[key];
    if (!o) return dflt;
    if (!o.value) return undefined;
    return this.resolver.evaluator.positiveInt(o.value, this.env, `\`${key}\``);
  }
  numberOption(key: string, dflt: number, valid: (v: number) => boolean, rule: string): number | undefined {
    return this.resolver.numberOf(this.layer, key, this.env, dflt, valid, rule);
  }
  padding(dflt: Padding): Padding | undefined {
    return this.resolver.paddingOf(this.layer, dflt);
  }
  exclusive(words: string[], dflt: string | undefined): string | undefined {
    return this.resolver.exclusiveOf(this.layer, words, dflt);
  }
  weights(): WeightOptions | undefined {
    return this.resolver.weightsOf(this.layer, this.env);
  }
  subject(subject: ShapeErrorSubject, range: Range): void {
    this.subjects[subject] = range;
  }
  error(code: Parameters<typeof diag>[0], message: string, range: Range, hint?: string): void {
    this.resolver.report(code, message, range, hint);
  }
}
