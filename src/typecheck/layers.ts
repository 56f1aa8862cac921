/**
 * From a layer's words to a resolved LayerConfig: evaluates values in the current scope,
 * applies defaults (Keras's), checks value ranges and option combinations. Also remembers
 * where each part of the layer is written, so shape errors can point at the right word.
 */
import { diag, type Diagnostic, type Fix, type Range } from "../diagnostics/diagnostic.js";
import { unknownWord } from "../diagnostics/suggest.js";
import { ACTIVATIONS, INITIALIZERS, type Padding } from "../language/vocabulary.js";
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

  resolve(layer: AstLayer, env: Env): ResolvedLayer {
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

    switch (op) {
      case "input": {
        const shape = first ? this.ev.dims(first, env, "the input shape") : undefined;
        if (shape) out.config = { op: "input", shape };
        break;
      }
      case "dense": {
        const units = first ? this.ev.positiveInt(first, env, "the number of units of `dense`") : undefined;
        const w = this.weights(layer, env);
        if (ok(units) && w && activationOk) out.config = withActivation({ op: "dense", units, ...w }, activation);
        break;
      }
      case "conv": {
        const kernel = first ? this.ev.dims(first, env, "the kernel of `conv`") : undefined;
        const filtersOpt = layer.options["filters"];
        const filtersOptValue = filtersOpt?.value ? this.ev.positiveInt(filtersOpt.value, env, "the number of filters") : undefined;
        let kh: number | undefined;
        let kw: number | undefined;
        let filters: number | undefined;
        if (kernel && first) {
          if (kernel.length === 3) {
            [kh, kw, filters] = kernel;
            if (filtersOpt) this.error("NN1012", `The filters are given twice: \`${exprSource(first)}\` already says ${kernel[2]}.`, filtersOpt.range, `Drop \`filters\`, or write the kernel as \`${kernel[0]}x${kernel[1]}\`.`);
          } else if (kernel.length <= 2) {
            kh = kernel[0];
            kw = kernel[1] ?? kernel[0];
            filters = filtersOptValue;
            if (!filtersOpt) this.error("NN1008", `\`conv ${exprSource(first)}\` needs a number of filters.`, first.range, `Write \`conv ${kh}x${kw}x32\` or \`conv ${exprSource(first)} filters 32\`.`);
          } else {
            this.error("NN1013", `A conv kernel is \`KxKxF\` (height x width x filters), but \`${exprSource(first)}\` has ${kernel.length} dimensions.`, first.range, "This is a 2-D convolution, e.g. `conv 3x3x64`.");
          }
        }
        const strides = this.pair(layer, "stride", env, [1, 1]);
        const dilation = this.pair(layer, "dilation", env, [1, 1]);
        const padding = this.padding(layer, "valid");
        const w = this.weights(layer, env);
        if (ok(kh) && ok(kw) && ok(filters) && strides && dilation && padding && w && activationOk) {
          out.config = withActivation({ op: "conv", kernel: [kh, kw], filters, strides, dilation, padding, ...w }, activation);
        }
        break;
      }
      case "pool": {
        const size = first ? this.ev.pair(first, env, "the window of `pool`") : ([2, 2] as [number, number]);
        const strides = size ? this.pair(layer, "stride", env, size) : undefined;
        const padding = this.padding(layer, "valid");
        const mode = this.exclusive(layer, ["max", "avg"], "max");
        if (size && strides && padding && mode) out.config = { op: "pool", mode: mode as "max" | "avg", size, strides, padding };
        break;
      }
      case "global": {
        const mode = this.exclusive(layer, ["avgpool", "avg", "maxpool", "max"], undefined);
        if (mode === undefined && !["avgpool", "avg", "maxpool", "max"].some((k) => layer.options[k])) {
          this.error("NN1008", "`global` needs the kind of pooling: `global avgpool` or `global maxpool`.", layer.op.range);
        }
        if (mode) out.config = { op: "global_pool", mode: mode.startsWith("avg") ? "avg" : "max" };
        break;
      }
      case "flatten":
        out.config = { op: "flatten" };
        break;
      case "reshape": {
        const shape = first ? this.ev.dims(first, env, "the shape of `reshape`") : undefined;
        if (shape) out.config = { op: "reshape", shape };
        break;
      }
      case "dropout": {
        const rate = first ? this.ev.number(first, env, "the dropout rate") : undefined;
        if (rate !== undefined && first) {
          if (rate < 0 || rate >= 1) {
            this.error("NN3011", `A dropout rate is the fraction of units dropped, in [0, 1), but it is ${formatNumber(rate)}.`, first.range, rate >= 2 && rate < 100 ? `A percentage? Write \`dropout ${formatNumber(rate / 100)}\`.` : rate >= 1 ? "At 1 every unit would be dropped; typical rates are 0.1 to 0.5." : "For example: `dropout 0.5`.");
          } else out.config = { op: "dropout", rate };
        }
        break;
      }
      case "batchnorm": {
        const momentum = this.numberOption(layer, "momentum", env, 0.99, (v) => v >= 0 && v < 1, "in [0, 1)");
        const epsilon = this.numberOption(layer, "epsilon", env, 1e-3, (v) => v > 0, "positive");
        if (momentum !== undefined && epsilon !== undefined && activationOk) out.config = withActivation({ op: "batchnorm", momentum, epsilon }, activation);
        break;
      }
      case "layernorm": {
        const epsilon = this.numberOption(layer, "epsilon", env, 1e-3, (v) => v > 0, "positive");
        if (epsilon !== undefined && activationOk) out.config = withActivation({ op: "layernorm", epsilon }, activation);
        break;
      }
      case "groupnorm": {
        const groups = first ? this.ev.positiveInt(first, env, "the number of groups") : undefined;
        const epsilon = this.numberOption(layer, "epsilon", env, 1e-5, (v) => v > 0, "positive");
        if (groups !== undefined && epsilon !== undefined && activationOk) out.config = withActivation({ op: "groupnorm", groups, epsilon }, activation);
        break;
      }
      default:
        // A lone activation: `relu`, `leaky_relu(0.1)`.
        if (activation) out.config = { op: "activation", activation };
        break;
    }
    return out;
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
    if (!info.arg) return { name } as ActivationSpec;
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

function positionalSubject(op: string): ShapeErrorSubject {
  switch (op) {
    case "conv":
      return "kernel";
    case "pool":
      return "size";
    case "dense":
      return "units";
    case "groupnorm":
      return "groups";
    case "input":
    case "reshape":
      return "shape";
    default:
      return "layer";
  }
}

function ok<T>(v: T | undefined): v is T {
  return v !== undefined;
}

/** Adds the activation to a config literal made by the caller (as its last key). */
function withActivation<T extends LayerConfig>(config: T, activation: ActivationSpec | undefined): T {
  if (activation) (config as T & { activation?: ActivationSpec }).activation = activation;
  return config;
}
