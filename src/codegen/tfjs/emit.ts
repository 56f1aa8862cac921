/**
 * The TF.js emitter: a checked model (and its recipe) → a TypeScript module that builds the network
 * with the TensorFlow.js layers API and trains it through the nnc runtime. It reads only the
 * checked program — every shape is already known — and reports nothing: what reaches it has
 * no errors. Everything from the spec is embedded through `literal()` or as an identifier the
 * checker already restricted to [A-Za-z_][A-Za-z0-9_]*, so nothing a spec says can become code.
 */
import { LAYERS, type EmitContext, type LayerKind, type LayerOp } from "../../layers/index.js";
import type { ActivationSpec, CheckedLayer, CheckedModel, CheckedRecipe, InitSpec, WeightOptions } from "../../typecheck/index.js";
import { formatShape } from "../../typecheck/index.js";
import { commentText, GENERATED_MARKER, literal, modelInfo, NameSet, pascal, trainConfig, type EmitOptions } from "../common.js";

/**
 * Names a layer's variable may not take: JavaScript's reserved words (strict mode's too, and
 * `arguments` and `eval`, which a module may not declare), TypeScript's type names, and the
 * names the generated module itself uses.
 */
const RESERVED = new Set(
  "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with as implements interface let package private protected public static yield await async of type any number string boolean symbol object never unknown undefined arguments eval NaN Infinity globalThis tf nnc model seed inputs outputs build train recipe".split(
    " ",
  ),
);

/** A layer name as a TypeScript variable: the name itself unless it is a reserved word. */
function varName(name: string): string {
  return RESERVED.has(name) ? `${name}_` : name;
}

export function builderName(model: string): string {
  return `build${pascal(model) || "Model"}`;
}


function initializer(init: InitSpec, seedExpr: string): string {
  return `nnc.initializer(${literal(init)}, ${seedExpr})`;
}

/** Activations a TF.js layer takes as its `activation` option; the others become layers of their own. */
const BUILTIN_ACTIVATIONS: Record<string, string> = { relu: "relu", sigmoid: "sigmoid", tanh: "tanh", softplus: "softplus", selu: "selu", linear: "linear", softmax: "softmax", relu6: "relu6", swish: "swish", gelu: "gelu" };

function builtinActivation(a: ActivationSpec | undefined): string | undefined {
  if (!a) return undefined;
  return BUILTIN_ACTIVATIONS[a.name];
}

class ModelEmitter {
  private readonly out: string[] = [];
  /** Layer name → the TS variable holding its output. */
  private readonly vars = new Map<string, string>();
  /** TypeScript variables in the builder (`seed` is its parameter). */
  private readonly variables = new NameSet(["seed"]);
  /** TF.js layer names, which must be unique in a model: the checker's, then the emitter's helpers. */
  private readonly layerNames: NameSet;
  private seedIndex = 0;

  constructor(
    private readonly model: CheckedModel,
    private readonly opts: EmitOptions,
  ) {
    this.layerNames = new NameSet(model.layers.map((l) => l.name));
  }

  /** A variable for `name` (a layer name, or one derived from it) that no other variable has. */
  private variable(name: string): string {
    return this.variables.fresh(varName(name));
  }

  private seed(): string {
    this.seedIndex++;
    return `seed + ${this.seedIndex}`;
  }

  emit(): string[] {
    for (const layer of this.model.layers) this.layer(layer);
    return this.out;
  }

  private inputVar(layer: CheckedLayer, i = 0): string {
    const name = layer.inputs[i]!;
    return this.vars.get(name) ?? varName(name);
  }

  private comment(layer: CheckedLayer): void {
    const line = layer.range.start.line;
    const text = commentText(this.opts.sourceLine(line));
    this.out.push(`// ${commentText(this.opts.specName)}:${line + 1}  ${text.length > 100 ? text.slice(0, 97) + "..." : text}`);
  }

  private assign(layer: CheckedLayer, expr: string): void {
    const v = this.variable(layer.name);
    this.vars.set(layer.name, v);
    this.out.push(`const ${v} = ${expr};`);
  }

  /**
   * `nnc.apply(layerExpr, input)`, then the activation as a layer of its own unless the layer
   * took it inline (dense and conv take TF.js's built-in activations as an option).
   */
  private applied(layer: CheckedLayer, layerExpr: string, input: string, activation: ActivationSpec | undefined, inline = false): void {
    const extra = activation && !(inline && builtinActivation(activation)) ? activation : undefined;
    if (!extra) {
      this.assign(layer, `nnc.apply(${layerExpr}, ${input})`);
      return;
    }
    const pre = this.variable(`${layer.name}_pre`);
    this.out.push(`const ${pre} = nnc.apply(${layerExpr}, ${input});`);
    // A frozen layer's trailing activation is frozen with it (PReLU's slopes are weights too).
    this.assign(layer, `nnc.apply(nnc.activationLayer(${literal(extra)}, ${literal(this.layerNames.fresh(`${layer.name}_${extra.name}`))}${layer.frozen ? ", false" : ""}), ${pre})`);
  }

  private weightOptions(w: WeightOptions, prefix = "kernel"): string[] {
    const parts = [`useBias: ${w.useBias}`, `${prefix}Initializer: ${initializer(w.kernelInit, this.seed())}`];
    if (w.useBias && w.biasInit !== 0) parts.push(`biasInitializer: tf.initializers.constant({ value: ${literal(w.biasInit)} })`);
    if (w.l1 > 0 || w.l2 > 0) parts.push(`${prefix}Regularizer: tf.regularizers.l1l2({ l1: ${literal(w.l1)}, l2: ${literal(w.l2)} })`);
    return parts;
  }

  /** Each kind writes its own code (src/layers/), through this context. */
  private layer(layer: CheckedLayer): void {
    this.comment(layer);
    const ctx: EmitContext = {
      name: literal(layer.name),
      trainable: layer.frozen ? ", trainable: false" : "",
      input: (i = 0) => this.inputVar(layer, i),
      inputs: () => layer.inputs.map((_, i) => this.inputVar(layer, i)),
      literal,
      seed: () => this.seed(),
      weightOptions: (w, prefix) => this.weightOptions(w, prefix),
      builtin: builtinActivation,
      before: (suffix, factory, input) => {
        const v = this.variable(`${layer.name}_${suffix}`);
        this.out.push(`const ${v} = nnc.apply(${factory(literal(this.layerNames.fresh(`${layer.name}_${suffix}`)))}, ${input});`);
        return v;
      },
      applied: (expr, input, activation, inline) => this.applied(layer, expr, input, activation, inline),
      assign: (expr) => this.assign(layer, expr),
    };
    const kind = LAYERS[layer.config.op] as LayerKind<LayerOp>;
    kind.tfjs(layer, ctx);
  }

  get input(): string {
    const first = this.model.layers[0]!;
    return this.vars.get(first.name) ?? varName(first.name);
  }

  get output(): string {
    const last = this.model.layers[this.model.layers.length - 1]!;
    return this.vars.get(last.name) ?? varName(last.name);
  }
}

/** One module per model: its builder, and its recipe and `train()` when the spec has one. */
export function emitModelModule(model: CheckedModel, recipe: CheckedRecipe | undefined, opts: EmitOptions): string {
  const emitter = new ModelEmitter(model, opts);
  const body = emitter.emit();
  const fn = builderName(model.name);
  const total = model.params.total.toLocaleString("en-US");
  const lines: string[] = [];
  lines.push(`// ${GENERATED_MARKER} by nnc ${opts.version} from ${commentText(opts.specName)}. Edit the spec and run \`nnc build\` again; this file is overwritten.`);
  lines.push(`import { nnc, tf${recipe ? ", type TrainConfig, type TrainOptions, type TrainResult" : ""} } from ${literal(opts.runtimeImport)};`);
  lines.push("");
  lines.push("/**");
  lines.push(` * The model \`${model.name}\` (${commentText(opts.specName)}:${model.nameRange.start.line + 1}): ${formatShape(model.input ?? [])} → ${formatShape(model.output ?? [])}, ${total} parameters${model.params.nonTrainable > 0 ? ` (${model.params.nonTrainable.toLocaleString("en-US")} non-trainable)` : ""}.`);
  lines.push(" * @param seed seeds every initialiser and dropout layer, so a run can be repeated.");
  lines.push(" */");
  lines.push(`export function ${fn}(seed = 0): tf.LayersModel {`);
  for (const l of body) lines.push(`  ${l}`);
  lines.push(`  return tf.model({ name: ${literal(model.name)}, inputs: ${emitter.input}, outputs: ${emitter.output} });`);
  lines.push("}");
  if (recipe) {
    lines.push("");
    lines.push(`/** The training recipe of \`${model.name}\` (${commentText(opts.specName)}:${recipe.range.start.line + 1}). */`);
    lines.push(`export const recipe: TrainConfig = ${literal(trainConfig(recipe, model))};`);
    lines.push("");
    lines.push(`/** Trains \`${model.name}\` as its recipe says; options override the backend, epochs and output folder. */`);
    lines.push(`export function train(options: TrainOptions = {}): Promise<TrainResult> {`);
    lines.push(`  return nnc.train(${fn}, recipe, options, ${literal(modelInfo(model))});`);
    lines.push("}");
  }
  lines.push("");
  return lines.join("\n");
}


