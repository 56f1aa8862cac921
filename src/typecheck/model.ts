/**
 * Expanding a model: blocks called, repeats unrolled, residuals joined, and the shape
 * inferred after every layer. Produces a CheckedModel whose layers form a graph (each layer
 * names its inputs), ready for codegen, plus diagnostics.
 */
import { diag, endOf, type Diagnostic, type Fix, type RelatedInformation, type Range } from "../diagnostics/diagnostic.js";
import { closest, unknownWord } from "../diagnostics/suggest.js";
import { isLayerKind, LAYER_KINDS, ACTIVATIONS } from "../language/vocabulary.js";
import { childBodies, exprSource, type AstArg, type AstBlock, type AstBlockCall, type AstItem, type AstLayer, type AstMerge, type AstModel, type AstParam, type AstResidual } from "../parser/index.js";
import { capitalise, Env, Evaluator, formatNumber } from "./evaluate.js";
import type { LayerConfig, ParamCount, ShapeErrorSubject } from "./layer-config.js";
import { LayerResolver } from "./layers.js";
import { elementCount, exactCount, formatShape, MAX_TENSOR_VALUES, outputShape, paramCount, sameShape, weightTensors } from "./shape-rules.js";
import { baseName, intendedShape, kindLabel } from "../layers/index.js";
import { ordinal } from "../layers/merge.js";

export { kindLabel };

export interface CheckedLayer {
  /** Unique within the model: the `name` option, or the kind and a counter (`conv2`). */
  name: string;
  /** What the summary shows as the layer's kind: `conv`, `dense`, `relu`, `add`, … */
  kind: string;
  config: LayerConfig;
  /** Names of the layers feeding this one (none for the input). */
  inputs: string[];
  inputShapes: number[][];
  outputShape: number[];
  params: ParamCount;
  frozen: boolean;
  /** Where the layer is written in the spec (for an `add`, the `residual` keyword). */
  range: Range;
  /** The block calls it was expanded through, outermost first (absent outside blocks). */
  calls?: Range[];
}

export interface CheckedModel {
  name: string;
  range: Range;
  nameRange: Range;
  /** Parameter values this model was checked with. */
  args: Record<string, number>;
  input?: number[];
  output?: number[];
  layers: CheckedLayer[];
  params: { total: number; trainable: number; nonTrainable: number };
  /** False when an error left some shape unknown: the layer list then stops early. */
  complete: boolean;
}

/** Where the data flowing through the network stands: its shape and the layer it came from. */
interface Flow {
  shape: number[] | undefined;
  tensor: string | undefined;
  /** The layer that produced it, for "… gives 7x7x64 here" related locations. */
  from?: { name: string; range: Range };
}

const MAX_LAYERS = 100_000;
/**
 * The longest chain of layers nnc trains: TensorFlow.js builds and runs a model recursing once
 * per layer, and the command line gives a deep model a larger stack (DEEP_STACK_KB in
 * src/cli/deep-stack.ts), on which a chain of 16,000 layers was measured to build and train on
 * cpu and wasm, and 24,000 not.
 */
export const MAX_CHAIN_DEPTH = 15_000;

/** For each layer (in graph order), the number of layers on the longest path from the input to it, both counted. */
function chainDepths(layers: readonly CheckedLayer[]): number[] {
  const depth = new Map<string, number>();
  return layers.map((l) => {
    let d = 1;
    for (const i of l.inputs) d = Math.max(d, (depth.get(i) ?? 0) + 1);
    depth.set(l.name, d);
    return d;
  });
}

/** The number of layers on the longest path from the input to the output (the input counted). */
export function chainDepth(layers: readonly CheckedLayer[]): number {
  return chainDepths(layers).reduce((a, b) => Math.max(a, b), 0);
}
/** Block calls inside block calls, at most (each is a level of recursion in the expansion). */
const MAX_CALL_DEPTH = 100;

interface CallFrame {
  block: string;
  range: Range;
}

export class ModelExpander {
  private readonly layers: CheckedLayer[] = [];
  private readonly counters = new Map<string, number>();
  /** Explicit layer names → the AST node that declared them. */
  private readonly explicitNames = new Map<string, { node: AstLayer; count: number }>();
  /** Every name a `name "…"` option in this model or any block spells: never given out automatically. */
  private readonly reserved = new Set<string>();
  private readonly calls: CallFrame[] = [];
  /** Tensors named by `keep NAME`, latest first found: what a merge's named operands join. */
  private readonly kept = new Map<string, { flow: Flow; range: Range }>();
  /** Names given to merges with `name`. */
  private readonly mergeNames = new Map<string, Range>();
  private readonly ev: Evaluator;
  private readonly resolver: LayerResolver;
  private expanded = 0;
  /**
   * Layers that met a known shape (or began one, as `input` does) so far: only those change
   * the expander's state (names, counters, the layer list); the rest add diagnostics at most.
   */
  private shaped = 0;
  private tooDeep = false;
  private complete = true;
  private sawInput = false;
  /** False once a shape error broke the graph: later layers are checked but not listed. */
  private recording = true;
  /** True once a tensor too large to hold (NN3015) was reported in this model. */
  private sawTooLarge = false;

  constructor(
    private readonly blocks: Map<string, AstBlock>,
    private readonly diagnostics: Diagnostic[],
    /** Parameter names used anywhere, per declaration (for unused-parameter warnings). */
    private readonly usedParams: Map<AstModel | AstBlock, Set<string>>,
    /** Cycles of block calls already reported, by their blocks in order (`a b`), for all models. */
    private readonly reportedCycles: Set<string> = new Set(),
  ) {
    this.ev = new Evaluator(diagnostics);
    this.resolver = new LayerResolver(this.ev, diagnostics);
  }

  expand(model: AstModel, args: Map<string, { value: number | undefined; range?: Range }>): CheckedModel {
    const name = model.name?.name ?? "?";
    // A layer named `dense2` after two unnamed denses must not share its name with the second.
    this.reserveNames(model.body);
    for (const block of this.blocks.values()) this.reserveNames(block.body);
    const env = new Env(`the model \`${name}\``);
    env.declareInOrder(model.params);
    for (const p of model.params) {
      const given = args.get(p.name.name);
      if (given) env.set(p.name.name, given.value, p.name.range);
      else if (p.default) env.set(p.name.name, this.ev.number(p.default, env, `the default of \`${p.name.name}\``), p.name.range);
      else env.set(p.name.name, undefined, p.name.range);
    }
    const first = model.body[0];
    if (!first || first.kind !== "layer" || first.op.name !== "input") {
      if (model.body.length > 0) {
        this.diagnostics.push(
          diag("NN3009", `The model \`${name}\` does not start with \`input\`, so I cannot know the shape of its data.`, model.name?.range ?? model.keyword, {
            hint: "Begin the model with its input shape, e.g. `input 28x28x1` for images or `input 10` for 10 features.",
          }),
        );
      }
      this.complete = false;
    }
    let flow: Flow = { shape: undefined, tensor: undefined };
    flow = this.items(model.body, env, flow);
    this.markUsed(model, env);

    const checked: CheckedModel = {
      name,
      range: model.range,
      nameRange: model.name?.range ?? model.keyword,
      args: Object.fromEntries([...env.bindings].filter(([, b]) => b.value !== undefined).map(([k, b]) => [k, b.value!])),
      layers: this.layers,
      params: { total: 0, trainable: 0, nonTrainable: 0 },
      complete: this.complete && flow.shape !== undefined,
    };
    const last = this.layers[this.layers.length - 1];
    if (checked.complete && last?.config.op === "dropout" && this.layers.length > 2) {
      this.diagnostics.push(
        diag("NN3104", `The model \`${name}\` ends in dropout, which zeroes some of its predictions while training.`, last.range, {
          hint: "Dropout belongs between hidden layers: move it before the last `dense`.",
        }),
      );
    }
    const depths = checked.complete ? chainDepths(this.layers) : [];
    const depth = depths.reduce((a, b) => Math.max(a, b), 0);
    if (depth > MAX_CHAIN_DEPTH) {
      // At the layer where the chain passes the limit (inside the `repeat` that makes it, usually).
      const at = this.layers[depths.findIndex((d) => d > MAX_CHAIN_DEPTH)]!;
      this.diagnostics.push(
        diag("NN3016", `The model \`${name}\` is ${depth.toLocaleString("en-US")} layers deep in one chain, and passes ${MAX_CHAIN_DEPTH.toLocaleString("en-US")} here: TensorFlow.js builds and runs a model recursing once per layer, and nnc trains at most ${MAX_CHAIN_DEPTH.toLocaleString("en-US")}.`, at.range, {
          hint: "Use fewer layers: a smaller `repeat` count, or wider layers instead of more of them.",
          related: [{ message: `the model \`${name}\``, range: model.name?.range ?? model.keyword }],
        }),
      );
      checked.complete = false;
    }
    const inputLayer = this.layers.find((l) => l.config.op === "input");
    if (inputLayer) checked.input = inputLayer.outputShape;
    if (flow.shape && checked.complete) checked.output = flow.shape;
    for (const l of this.layers) {
      checked.params.trainable += l.params.trainable;
      checked.params.nonTrainable += l.params.nonTrainable;
    }
    checked.params.total = checked.params.trainable + checked.params.nonTrainable;
    return checked;
  }

  private markUsed(decl: AstModel | AstBlock, env: Env): void {
    let set = this.usedParams.get(decl);
    if (!set) this.usedParams.set(decl, (set = new Set()));
    for (const [k, b] of env.bindings) if (b.used) set.add(k);
  }

  private items(items: AstItem[], env: Env, flow: Flow): Flow {
    for (const item of items) {
      if (this.tooDeep) return { shape: undefined, tensor: undefined };
      flow = this.item(item, env, flow);
    }
    return flow;
  }

  private item(item: AstItem, env: Env, flow: Flow): Flow {
    switch (item.kind) {
      case "layer":
        return this.layer(item, env, flow);
      case "block-call":
        return this.blockCall(item, env, flow);
      case "repeat": {
        if (!item.count) return { shape: undefined, tensor: undefined };
        const n = this.ev.number(item.count, env, "the repeat count");
        if (n === undefined) return this.unknown();
        if (!Number.isInteger(n) || n < 1) {
          this.diagnostics.push(
            diag("NN3013", `\`repeat\` needs a whole number of 1 or more, but ${item.count.kind === "number" ? "it" : `\`${exprSource(item.count)}\``} is ${formatNumber(n)}.`, item.count.range, {
              hint: n === 0 ? "To leave the layers out, delete the `repeat`." : !Number.isInteger(n) ? "The count does not divide evenly: check the parameters it is computed from." : undefined,
            }),
          );
          return this.unknown();
        }
        // Each pass counts towards the expansion limit, so nested repeats of empty or
        // cheap bodies (2^100 passes) stop as surely as long ones.
        for (let i = 0; i < n && !this.tooDeep; i++) {
          const before = { expanded: this.expanded, shaped: this.shaped };
          const lost = flow.shape === undefined && flow.tensor === undefined;
          if (!this.countExpansion(item.range)) break;
          flow = this.items(item.body, env, flow);
          if (lost && flow.shape === undefined && flow.tensor === undefined && this.shaped === before.shaped && i + 1 < n) {
            // A pass that began and ended with no shape, and in which no layer had one, changed
            // nothing but the diagnostics (and the next would repeat them exactly, since the
            // scope is the same): count the passes left towards the limit instead of making
            // them. Nested repeats after an error (`repeat 2 repeat 2 … typo`) took 2^depth
            // passes, each spelling out "did you mean" again.
            this.countPasses(n - i - 1, this.expanded - before.expanded, item.range);
            break;
          }
        }
        return flow;
      }
      case "residual":
        return this.residual(item, env, flow);
      case "merge":
        return this.merge(item, env, flow);
      case "keep":
        if (item.name) this.kept.set(item.name.name, { flow, range: item.range });
        return flow;
    }
  }

  private unknown(): Flow {
    this.complete = false;
    return { shape: undefined, tensor: undefined };
  }

  /** Records a layer, until an error has left the graph broken. */
  private push(layer: CheckedLayer): void {
    if (!this.recording) return;
    if (this.calls.length > 0) layer.calls = this.calls.map((c) => c.range);
    this.layers.push(layer);
  }

  /** Counts `passes` more passes of `size` expansions each, as if they were made. */
  private countPasses(passes: number, size: number, range: Range): void {
    if (this.expanded + passes * size <= MAX_LAYERS) this.expanded += passes * size;
    else {
      this.expanded = MAX_LAYERS;
      this.countExpansion(range);
    }
  }

  private countExpansion(range: Range): boolean {
    this.expanded++;
    if (this.expanded > MAX_LAYERS) {
      if (!this.tooDeep) {
        this.diagnostics.push(diag("NN3014", `This expands to more than ${MAX_LAYERS.toLocaleString("en-US")} layers, which I stop at.`, range, { hint: "Check the `repeat` counts and block calls." }));
      }
      this.tooDeep = true;
      this.complete = false;
      return false;
    }
    return true;
  }

  private related(extra: RelatedInformation[] = []): RelatedInformation[] {
    const out = [...extra];
    for (let i = this.calls.length - 1; i >= 0; i--) {
      const c = this.calls[i]!;
      out.push({ message: `in this call of the block \`${c.block}\``, range: c.range });
    }
    return out;
  }

  private layer(item: AstLayer, env: Env, flow: Flow): Flow {
    if (!this.countExpansion(item.range)) return this.unknown();
    // A layer nnc could not read (an unknown word, or another library's layer it lacks; already
    // reported): its parameters are used, and nothing is known after it.
    if (item.unread) {
      touchParameters(item.positional, env);
      return this.unknown();
    }
    const op = item.op.name;
    if (op === "input") {
      if (this.sawInput || this.calls.length > 0 || flow.tensor !== undefined) {
        this.diagnostics.push(
          diag("NN3010", "`input` comes once, as the first layer of a model.", item.op.range, {
            hint: this.calls.length > 0 ? "A block continues from the layer before its call; remove this `input`." : "Remove this `input`, or start a new `model` for a second network.",
            related: this.related(),
          }),
        );
        return flow;
      }
      this.sawInput = true;
      this.shaped++;
    }
    const resolved = this.resolver.resolve(item, env, flow.shape?.length);
    if (!resolved.config) {
      // A value of this layer is wrong (already reported). Where its output shape is clear
      // anyway (a dropout keeps its input's), go on with it: a later mistake in the same
      // model is then found in the same pass. The summary stops here.
      const meant = flow.shape ? shapeDespiteValues(item, flow.shape) : undefined;
      if (!meant) return this.unknown();
      this.recording = false;
      this.complete = false;
      return { shape: meant, tensor: undefined, from: { name: item.op.name, range: item.range } };
    }
    if (op !== "input" && flow.shape === undefined) return this.unknown();
    this.shaped++;
    const config = resolved.config;
    const inputs = flow.shape ? [flow.shape] : [];
    const result = outputShape(config, inputs);
    if (!result.ok) {
      const related: RelatedInformation[] = [];
      // Where the input's shape came from matters when the input is at fault, not when the
      // layer's own values are (a zero size, stride with dilation).
      const aboutInput = result.error.code !== "NN3006" && result.error.code !== "NN3007";
      if (aboutInput && flow.from && flow.shape) related.push({ message: `\`${flow.from.name}\` gives ${formatShape(flow.shape)} here`, range: flow.from.range });
      const range = subjectRange(resolved.subjects, result.error.subject) ?? item.op.range;
      this.diagnostics.push(diag(result.error.code, result.error.message, range, { hint: result.error.hint, related: this.related(related), fixes: rankFixes(result.error.code, config, flow.shape, item) }));
      // Go on with the shape the layer was meant to give, where that is clear, so the rest of
      // the model is still checked (every error in one pass); the summary stops here.
      const meant = intendedShape(config, flow.shape);
      this.recording = false;
      if (!meant) return this.unknown();
      this.complete = false;
      return { shape: meant, tensor: undefined, from: { name: item.op.name, range: item.range } };
    }
    for (const w of result.warnings ?? []) {
      if (w.dropped && this.onlyPaddingDropped(flow, w.dropped)) continue;
      this.diagnostics.push(diag(w.code, w.message, subjectRange(resolved.subjects, w.subject) ?? item.op.range, { hint: w.hint, related: this.related() }));
    }
    if (this.tooLarge(item, config, flow, result.shape)) {
      // Counted exactly and refused: what follows is checked with the shape, not listed.
      this.recording = false;
      this.complete = false;
      return { shape: result.shape, tensor: undefined, from: { name: item.op.name, range: item.range } };
    }
    let params = paramCount(config, flow.shape ?? result.shape);
    if (resolved.frozen) {
      const total = params.trainable + params.nonTrainable;
      if (total === 0) {
        this.diagnostics.push(diag("NN3102", `\`frozen\` has no effect: \`${op}\` has no weights to freeze.`, item.options["frozen"]!.range, { hint: "Remove it, or freeze the layers with weights." }));
      }
      params = { trainable: 0, nonTrainable: total };
    }
    const name = this.layerName(item, resolved.name, config);
    const layer: CheckedLayer = {
      name,
      kind: kindLabel(config),
      config,
      inputs: flow.tensor ? [flow.tensor] : [],
      inputShapes: inputs.map((s) => [...s]),
      outputShape: result.shape,
      params,
      frozen: resolved.frozen,
      range: item.range,
    };
    this.push(layer);
    return { shape: result.shape, tensor: name, from: { name, range: item.range } };
  }

  /**
   * Whether the rows and columns a window leaves over are all zeros a `pad` just before it
   * added (`pad 1 -> pool 3 stride 2`, PyTorch's padding written out): nothing of the data is lost.
   */
  private onlyPaddingDropped(flow: Flow, dropped: { rows: number; columns: number }): boolean {
    const last = this.layers[this.layers.length - 1];
    const before = flow.tensor !== undefined && last?.name === flow.tensor ? last : undefined;
    if (before?.config.op !== "pad") return false;
    return dropped.rows <= before.config.sides[1] && dropped.columns <= before.config.sides[3];
  }

  /**
   * NN3015: a weight tensor of this layer, or one sample of its output, holds more values than
   * one tensor can (MAX_TENSOR_VALUES). Counted with BigInts, so the message says exactly how
   * many (a dense layer on `input 100000x100000x3` has 3e13 weights per unit).
   */
  private tooLarge(item: AstLayer, config: LayerConfig, flow: Flow, output: number[]): boolean {
    // After one, the layers that follow are too large because of it: one error says it.
    if (this.sawTooLarge) return true;
    // The common case in doubles: no weight tensor holds more than the layer's parameters, and
    // below 2^31 both counts are exact. Only a layer near the limit is counted with BigInts.
    const counted = paramCount(config, flow.shape ?? output);
    if (counted.trainable + counted.nonTrainable < MAX_TENSOR_VALUES && elementCount(output) < MAX_TENSOR_VALUES) return false;
    const limit = BigInt(MAX_TENSOR_VALUES);
    const shown = (n: bigint): string => n.toLocaleString("en-US");
    const input = flow.shape ?? [];
    for (const w of weightTensors(config, input)) {
      if (w.values <= limit) continue;
      this.diagnostics.push(
        diag("NN3015", `The ${w.name} of this \`${item.op.name}\` would hold ${shown(w.values)} weights (${w.shape}), more than one tensor can hold (${shown(limit)}).`, item.positional[0]?.range ?? item.op.range, {
          hint: input.length > 1 ? "Shrink its input first: pool or stride the image down, or use `global avgpool` instead of `flatten`." : `Use fewer ${config.op === "dense" ? "units" : "filters"}, or shrink what comes before it.`,
          related: this.related(flow.from ? [{ message: `its input, ${formatShape(input)}, comes from here`, range: flow.from.range }] : []),
        }),
      );
      this.sawTooLarge = true;
      return true;
    }
    const values = exactCount(output);
    if (values > limit) {
      this.diagnostics.push(
        diag("NN3015", `One sample of this \`${item.op.name}\` is ${formatShape(output)} = ${shown(values)} values, more than one tensor can hold (${shown(limit)}).`, item.positional[0]?.range ?? item.op.range, {
          hint: config.op === "input" ? "Resize the data to a smaller input (images are usually a few hundred pixels a side)." : "Shrink it: fewer filters or units, or a stride or pool before it.",
          related: this.related(),
        }),
      );
      this.sawTooLarge = true;
      return true;
    }
    return false;
  }

  private layerName(item: AstLayer, explicit: { value: string; range: Range } | undefined, config: LayerConfig): string {
    if (explicit) {
      const prev = this.explicitNames.get(explicit.value);
      if (!prev) {
        this.explicitNames.set(explicit.value, { node: item, count: 1 });
        return explicit.value;
      }
      if (prev.node !== item) {
        this.diagnostics.push(
          diag("NN2013", `Two layers are named \`${explicit.value}\`.`, explicit.range, {
            hint: "Layer names must be unique in a model; rename one.",
            related: [{ message: "the first one", range: prev.node.options["name"]?.value?.range ?? prev.node.range }],
          }),
        );
      }
      // The same layer expanded again (in a repeat or a block called twice): number the copies.
      prev.count++;
      return `${explicit.value}_${prev.count}`;
    }
    return this.autoName(baseName(config));
  }

  private autoName(base: string): string {
    for (;;) {
      const n = (this.counters.get(base) ?? 0) + 1;
      this.counters.set(base, n);
      const name = `${base}${n}`;
      if (!this.explicitNames.has(name) && !this.reserved.has(name)) return name;
    }
  }

  /** Collects the literal names of `name` options in these items, with a stack rather than recursion. */
  private reserveNames(items: readonly AstItem[]): void {
    const stack: (readonly AstItem[])[] = [items];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      for (const item of next) {
        if (item.kind === "layer") {
          // `name "conv1"` and `name conv1` alike: an unnamed input must not become `input1`
          // beside a layer named so.
          const value = item.options["name"]?.value;
          if (value?.kind === "string") this.reserved.add(value.value);
          else if (value?.kind === "ref") this.reserved.add(value.name);
        } else {
          if (item.kind === "merge" && item.name) this.reserved.add(item.name.name);
          stack.push(...childBodies(item));
        }
      }
    }
  }

  private blockCall(call: AstBlockCall, env: Env, flow: Flow): Flow {
    const name = call.callee.name;
    const block = this.blocks.get(name);
    if (!block) {
      const candidates = [...this.blocks.keys(), ...Object.keys(LAYER_KINDS), ...Object.keys(ACTIVATIONS)];
      const guess = closest(name, candidates);
      const isKind = guess !== undefined && isLayerKind(guess) && !this.blocks.has(guess);
      this.diagnostics.push(
        unknownWord({
          code: "NN2001",
          message: `I cannot find a layer kind or block named \`${name}\`.`,
          word: name,
          range: call.callee.range,
          candidates,
          after: isKind && call.args.length > 0 ? " (its values go after a space, not in parentheses)" : "",
          otherwise: this.blocks.size > 0 ? `The blocks in this file are ${[...this.blocks.keys()].map((b) => `\`${b}\``).join(", ")}.` : "Define it with `block " + name + "(…) { … }`.",
          related: this.related(),
          // A layer kind written as a call (`conv(3x3x8)`) needs more than a new name.
          fix: !(isKind && call.args.length > 0),
        }),
      );
      touchParameters(call.args, env);
      return this.unknown();
    }
    const from = this.calls.findIndex((c) => c.block === name);
    if (from >= 0) {
      // The cycle: the blocks from the first call of this one to here, and this one again.
      const cycle = this.calls.slice(from).map((c) => c.block);
      // Every parameter on the cycle is used by the calls that make it (not evaluated here).
      for (const b of cycle) {
        const decl = this.blocks.get(b);
        if (!decl) continue;
        let set = this.usedParams.get(decl);
        if (!set) this.usedParams.set(decl, (set = new Set()));
        for (const p of decl.params) set.add(p.name.name);
      }
      const smallest = cycle.indexOf([...cycle].sort()[0]!);
      const key = [...cycle.slice(smallest), ...cycle.slice(0, smallest)].join(" ");
      if (this.reportedCycles.has(key)) return this.unknown();
      this.reportedCycles.add(key);
      const path = [...cycle, name].map((b) => `\`${b}\``).join(" → ");
      const message =
        cycle.length === 1
          ? `The block \`${name}\` calls itself, so it would never end.`
          : cycle.length === 2
            ? `The blocks \`${cycle[0]}\` and \`${cycle[1]}\` call each other (${path}), so they would never end.`
            : `The blocks ${path} call each other in a cycle, so they would never end.`;
      this.diagnostics.push(diag("NN2010", message, call.callee.range, { hint: cycle.length === 1 ? "Use `repeat N` to stack a block several times." : "A block may call other blocks, but not one that leads back to it; use `repeat N` to stack blocks.", related: this.related() }));
      return this.unknown();
    }
    if (this.calls.length >= MAX_CALL_DEPTH) {
      // Each call is a level of recursion here (and in every walk of the graph); a chain of
      // blocks calling blocks this long is a generated file gone wrong, not a network.
      if (!this.tooDeep) {
        this.diagnostics.push(
          diag("NN3014", `Block calls nest more than ${MAX_CALL_DEPTH} deep here (\`${this.calls[0]!.block}\` calls a block that calls a block …), which I stop at.`, call.callee.range, {
            hint: "Call the blocks one after another in the model instead of each from the one before.",
          }),
        );
      }
      this.tooDeep = true;
      this.complete = false;
      return this.unknown();
    }
    if (!this.countExpansion(call.range)) return this.unknown();
    const inner = this.bindArgs(block, call.args, env, `the block \`${name}\``, call.callee.range);
    if (!inner) return this.unknown();
    this.calls.push({ block: name, range: call.range });
    try {
      const out = this.items(block.body, inner, flow);
      this.markUsed(block, inner);
      return out;
    } finally {
      this.calls.pop();
    }
  }

  /** Binds call arguments to a block's parameters in a new scope; undefined on error. */
  private bindArgs(block: AstBlock, args: AstArg[], callerEnv: Env, owner: string, at: Range): Env | undefined {
    const env = new Env(owner);
    env.declareInOrder(block.params);
    const given = new Map<string, { value: number | undefined; range: Range }>();
    let ok = true;
    let positional = 0;
    for (const a of args) {
      if (!a.value) {
        ok = false;
        continue;
      }
      let param: AstParam | undefined;
      if (a.name) {
        param = block.params.find((p) => p.name.name === a.name!.name);
        if (!param) {
          this.diagnostics.push(
            unknownWord({
              code: "NN2007",
              message: `${capitalise(owner)} has no parameter \`${a.name.name}\`.`,
              word: a.name.name,
              range: a.name.range,
              candidates: block.params.map((p) => p.name.name),
              otherwise: `Its parameters are ${block.params.map((p) => `\`${p.name.name}\``).join(", ") || "none"}.`,
              related: block.name ? [{ message: "the block is defined here", range: block.name.range }] : [],
            }),
          );
          ok = false;
          continue;
        }
      } else {
        param = block.params[positional++];
        if (!param) {
          this.diagnostics.push(diag("NN2009", `${capitalise(owner)} takes ${block.params.length} argument${block.params.length === 1 ? "" : "s"}, but \`${exprSource(a.value)}\` is one more.`, a.range, { related: block.name ? [{ message: "the block is defined here", range: block.name.range }] : [] }));
          ok = false;
          continue;
        }
      }
      const pname = param.name.name;
      if (given.has(pname)) {
        this.diagnostics.push(diag("NN2014", `\`${pname}\` is given twice in this call.`, a.range, { related: [{ message: "first given here", range: given.get(pname)!.range }] }));
        ok = false;
        continue;
      }
      given.set(pname, { value: this.ev.number(a.value, callerEnv, `\`${pname}\``), range: a.range });
    }
    for (const p of block.params) {
      const g = given.get(p.name.name);
      if (g) env.set(p.name.name, g.value, p.name.range);
      else if (p.default) env.set(p.name.name, this.ev.number(p.default, env, `the default of \`${p.name.name}\``), p.name.range);
      else {
        this.diagnostics.push(
          diag("NN2008", `${capitalise(owner)} needs a value for \`${p.name.name}\`.`, at, {
            hint: `Pass it: \`${block.name?.name ?? "block"}(${block.params.map((q) => (q === p ? `${p.name.name}: …` : "")).filter(Boolean).join(", ")})\`, or give the parameter a default: \`${p.name.name} = …\`.`,
            related: [{ message: "the parameter is declared here", range: p.name.range }],
          }),
        );
        ok = false;
      }
    }
    return ok ? env : undefined;
  }

  private residual(item: AstResidual, env: Env, flow: Flow): Flow {
    if (!this.countExpansion(item.range)) return this.unknown();
    const start = flow;
    const main = this.items(item.body, env, start);
    let skip: Flow = start;
    let skipDesc = "the skip path (the residual's input)";
    if (item.skip) {
      skip = this.items(item.skip, env, start);
      skipDesc = "the `skip` path";
      if (item.project) {
        this.diagnostics.push(diag("NN1012", "`project` and `skip { … }` both define the skip path.", item.project, { hint: "Keep one: `project` inserts a 1x1 conv; `skip { … }` spells the path out." }));
        return this.unknown();
      }
    } else if (item.project && main.shape && start.shape) {
      skip = this.projection(item, start, main.shape);
      skipDesc = "the projection";
    }
    if (!main.shape || !skip.shape || !main.tensor || !skip.tensor) return this.unknown();
    if (item.body.length === 0) return this.unknown();
    if (!sameShape(main.shape, skip.shape)) {
      const related: RelatedInformation[] = [];
      if (main.from) related.push({ message: `the main path ends in ${formatShape(main.shape)} here`, range: main.from.range });
      if (item.skip && skip.from) related.push({ message: `the skip path ends in ${formatShape(skip.shape)} here`, range: skip.from.range });
      else if (start.from) related.push({ message: `the residual's input is ${formatShape(start.shape ?? [])}, from here`, range: start.from.range });
      const sameRank = main.shape.length === start.shape?.length;
      const canProject = !item.skip && !item.project && sameRank && projectionStride(start.shape!, main.shape) !== undefined;
      // A main path that shrank by a size no stride gives (`valid` padding) needs `same`
      // padding in its windows; a projection cannot undo it.
      const shrank = !item.skip && sameRank && main.shape.length === 3 && projectionStride(start.shape!, main.shape) === undefined;
      const unpadded = shrank ? unpaddedWindows(item.body) : [];
      const fixes: Fix[] = [];
      let hint: string;
      if (canProject) {
        hint = `Add \`project\` (\`residual project { … }\`) to put a 1x1 conv with the right stride and ${main.shape[main.shape.length - 1]} filters on the skip path.`;
        fixes.push({ title: "Add `project` (a 1x1 conv on the skip path)", edits: [{ range: endOf(item.keyword), newText: " project" }] });
      } else if (shrank) {
        const channels = main.shape[2] !== start.shape![2];
        hint = `The main path shrinks ${formatShape(start.shape!.slice(0, 2))} to ${formatShape(main.shape.slice(0, 2))}, which no projection can undo: give its windows \`same\` padding${unpadded.length > 0 ? ` (${unpadded.map((l) => `\`${l.op.name}\` on line ${l.range.start.line + 1}`).join(", ")})` : ""}${channels && !item.project ? `, and add \`project\` for the change of channels (${start.shape![2]} → ${main.shape[2]})` : ""}.`;
        if (unpadded.length > 0) {
          const edits = unpadded.map((l) => ({ range: endOf(l.range), newText: " same" }));
          if (channels && !item.project) edits.push({ range: endOf(item.keyword), newText: " project" });
          fixes.push({ title: "Use `same` padding in the main path", edits });
        }
      } else if (item.project) {
        hint = "A projection can change the channels and downsample by a whole stride; it cannot change the rank of the tensor.";
      } else hint = "Make both paths end in the same shape.";
      this.diagnostics.push(
        diag("NN3004", `The two paths of this residual must end in the same shape to be added, but the main path gives ${formatShape(main.shape)} and ${skipDesc} gives ${formatShape(skip.shape)}.`, item.keyword, {
          hint,
          related: this.related(related),
          fixes,
        }),
      );
      return this.unknown();
    }
    const config: LayerConfig = { op: "add" };
    const name = this.autoName("add");
    this.push({
      name,
      kind: "add",
      config,
      inputs: [main.tensor, skip.tensor],
      inputShapes: [[...main.shape], [...skip.shape]],
      outputShape: [...main.shape],
      params: { trainable: 0, nonTrainable: 0 },
      frozen: false,
      range: item.keyword,
    });
    return { shape: main.shape, tensor: name, from: { name, range: item.range } };
  }

  /**
   * `concat { a } { b }`, `add …`, `multiply …`, `concat e1`: every operand's flow (a branch from
   * the merge's input, or a kept tensor), then one merge layer. With one operand the merge's input
   * is the first. A disagreement names the axis and points at where each operand's shape came from.
   */
  private merge(item: AstMerge, env: Env, flow: Flow): Flow {
    if (!this.countExpansion(item.range)) return this.unknown();
    const start = flow;
    const joined: { flow: Flow; what: string }[] = [];
    if (item.operands.length === 1) joined.push({ flow: start, what: `the \`${item.op}\`'s own input` });
    let lost = false;
    let branches = 0;
    for (const operand of item.operands) {
      if (operand.kind === "branch") {
        const out = operand.body.length === 0 ? start : this.items(operand.body, env, start);
        const which = item.operands.length === 1 ? "its branch" : `its ${ordinal(branches)} branch`;
        branches++;
        joined.push({ flow: out, what: operand.body.length === 0 ? `${which}, empty (the input itself)` : which });
        continue;
      }
      const kept = this.kept.get(operand.name.name);
      if (!kept) {
        this.diagnostics.push(
          unknownWord({
            code: "NN2019",
            message: `No tensor is kept as \`${operand.name.name}\` before this \`${item.op}\`.`,
            word: operand.name.name,
            range: operand.name.range,
            candidates: [...this.kept.keys()],
            otherwise: this.kept.size > 0 ? `Kept so far: ${[...this.kept.keys()].map((k) => `\`${k}\``).join(", ")}.` : `Name a tensor first with \`keep ${operand.name.name}\` where it is made, or join a branch: \`${item.op} { … }\`.`,
            related: this.related(),
          }),
        );
        lost = true;
        continue;
      }
      joined.push({ flow: kept.flow, what: `\`${operand.name.name}\`` });
    }
    if (lost) return this.unknown();
    // No operand at all was reported by lowering (NN1008); one operand always joins the input.
    if (joined.length < 2) return this.unknown();
    const shapes: number[][] = [];
    const tensors: string[] = [];
    for (const j of joined) {
      if (!j.flow.shape || !j.flow.tensor) return this.unknown();
      shapes.push(j.flow.shape);
      tensors.push(j.flow.tensor);
    }
    const config: LayerConfig = { op: item.op };
    const result = outputShape(config, shapes);
    if (!result.ok) {
      // The rule says "the first", "the second": say which each is, and where its shape was made.
      const related: RelatedInformation[] = joined.flatMap((j, i) => (j.flow.from ? [{ message: `the ${ordinal(i)} input, ${j.what}, is ${formatShape(j.flow.shape!)}: made here`, range: j.flow.from.range }] : []));
      this.diagnostics.push(diag(result.error.code, result.error.message, item.keyword, { hint: result.error.hint, related: this.related(related) }));
      this.recording = false;
      return this.unknown();
    }
    const name = this.mergeName(item);
    this.push({
      name,
      kind: kindLabel(config),
      config,
      inputs: tensors,
      inputShapes: shapes.map((x) => [...x]),
      outputShape: result.shape,
      params: { trainable: 0, nonTrainable: 0 },
      frozen: false,
      range: item.keyword,
    });
    return { shape: result.shape, tensor: name, from: { name, range: item.range } };
  }

  /** A merge's `name`, or an automatic one (`concat1`). */
  private mergeName(item: AstMerge): string {
    const given = item.name?.name;
    if (given === undefined) return this.autoName(item.op);
    const prev = this.mergeNames.get(given) ?? this.explicitNames.get(given)?.node.range;
    if (prev === undefined) {
      this.mergeNames.set(given, item.name!.range);
      return given;
    }
    if (prev !== item.name!.range) {
      this.diagnostics.push(diag("NN2013", `Two layers are named \`${given}\`.`, item.name!.range, { hint: "Layer names must be unique in a model; rename one.", related: [{ message: "the first one", range: prev }] }));
    }
    return this.autoName(`${given}_`);
  }

  /** The `project` skip path: a 1x1 conv (or a dense layer for vectors) matching `target`. */
  private projection(item: AstResidual, start: Flow, target: number[]): Flow {
    const x = start.shape!;
    let config: LayerConfig;
    if (x.length === 3 && target.length === 3) {
      const strides = projectionStride(x, target);
      if (!strides) return { shape: [...x], tensor: start.tensor, from: start.from! };
      config = { op: "conv", kernel: [1, 1], filters: target[2]!, strides, dilation: [1, 1], padding: "valid", groups: 1, useBias: true, kernelInit: { name: "glorot_uniform" }, biasInit: 0, l1: 0, l2: 0 };
    } else if (x.length === 1 && target.length === 1) {
      config = { op: "dense", units: target[0]!, useBias: true, kernelInit: { name: "glorot_uniform" }, biasInit: 0, l1: 0, l2: 0 };
    } else {
      return { shape: [...x], tensor: start.tensor, from: start.from! };
    }
    const result = outputShape(config, [x]);
    if (!result.ok) return { shape: [...x], tensor: start.tensor, from: start.from! };
    const name = this.autoName("project");
    this.push({
      name,
      kind: config.op,
      config,
      inputs: start.tensor ? [start.tensor] : [],
      inputShapes: [[...x]],
      outputShape: result.shape,
      params: paramCount(config, x),
      frozen: false,
      range: item.project ?? item.keyword,
    });
    return { shape: result.shape, tensor: name, from: { name, range: item.project ?? item.keyword } };
  }
}

/**
 * The convs and pools written directly in a path (not through blocks) whose padding is the
 * default `valid` and whose window is larger than 1: where `same` padding would keep the size.
 */
function unpaddedWindows(items: readonly AstItem[]): AstLayer[] {
  const out: AstLayer[] = [];
  for (const item of items) {
    if (item.kind === "repeat") out.push(...unpaddedWindows(item.body));
    if (item.kind !== "layer" || (item.op.name !== "conv" && item.op.name !== "pool")) continue;
    if (item.options["same"] || item.options["full"] || item.options["valid"]) continue;
    const k = item.positional[0];
    const ones = k?.kind === "number" ? k.value === 1 : k?.kind === "dims" ? k.parts.slice(0, 2).every((p) => p.kind === "number" && p.value === 1) : false;
    if (!ones) out.push(item);
  }
  return out;
}

/**
 * The stride of the 1x1 conv that takes an image `x` to the height and width of `target`
 * (`[1, 1]` for vectors), or undefined when no whole stride does.
 */
function projectionStride(x: number[], target: number[]): [number, number] | undefined {
  if (x.length === 1 && target.length === 1) return [1, 1];
  if (x.length !== 3 || target.length !== 3) return undefined;
  const sh = Math.ceil(x[0]! / target[0]!);
  const sw = Math.ceil(x[1]! / target[1]!);
  if (sh < 1 || sw < 1 || Math.ceil(x[0]! / sh) !== target[0] || Math.ceil(x[1]! / sw) !== target[1]) return undefined;
  return [sh, sw];
}

/**
 * The fixes for a `dense` given an image or a matrix (NN3001): put `flatten` (or, for an
 * image, `global avgpool`) in front of it, on its line, joined by an arrow.
 */
function rankFixes(code: string, config: LayerConfig, input: number[] | undefined, item: AstLayer): Fix[] | undefined {
  if (code !== "NN3001" || config.op !== "dense" || input === undefined || input.length < 2) return undefined;
  const at: Range = { start: item.range.start, end: item.range.start };
  const fixes: Fix[] = [{ title: "Add `flatten` before `dense`", edits: [{ range: at, newText: "flatten -> " }] }];
  if (input.length === 3) fixes.push({ title: "Add `global avgpool` before `dense`", edits: [{ range: at, newText: "global avgpool -> " }] });
  return fixes;
}

/**
 * The shape a layer gives whatever its values, when its input is known: what dropout and the
 * norms keep, what an activation keeps (not maxout), a `dense` of a literal number of units.
 */
function shapeDespiteValues(item: AstLayer, input: number[]): number[] | undefined {
  const op = item.op.name;
  if (op === "dropout" || op === "batchnorm" || op === "layernorm" || op === "groupnorm") return [...input];
  if (item.activation && item.op.name === item.activation.name.name) return item.activation.name.name === "maxout" ? undefined : [...input];
  const first = item.positional[0];
  if (op === "dense" && first?.kind === "number" && Number.isInteger(first.value) && first.value > 0) return [first.value];
  return undefined;
}

function subjectRange(subjects: Partial<Record<ShapeErrorSubject, Range>>, subject: ShapeErrorSubject): Range | undefined {
  return subjects[subject] ?? (subject === "padding" || subject === "stride" || subject === "dilation" ? subjects.kernel ?? subjects.size : undefined) ?? subjects.layer;
}

/** Marks every parameter that `node`'s expressions name as used, without evaluating them (what an unread layer or unknown block is given). */
function touchParameters(node: unknown, env: Env): void {
  if (Array.isArray(node)) {
    for (const n of node) touchParameters(n, env);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  const o = node as { kind?: unknown; name?: unknown; range?: unknown };
  if (o.kind === "ref" && typeof o.name === "string") {
    const b = env.bindings.get(o.name);
    if (b) b.used = true;
    else env.declaredLater(o.name);
    return;
  }
  for (const [k, v] of Object.entries(node)) if (k !== "range") touchParameters(v, env);
}
