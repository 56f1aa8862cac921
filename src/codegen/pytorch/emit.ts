/**
 * The PyTorch emitter: a checked model (and its recipe) → one Python module: an `nn.Module`
 * whose submodules carry the summary's layer names, each under a comment with its spec line;
 * `WEIGHTS`, which ties every TF.js weight to the module's tensor (so both targets read and
 * write the same files: nnc's initial weights, checkpoints, the final model.json); the recipe as
 * a plain literal; and `train()`/`main()` through the Python runtime (python/nnc_torch/).
 *
 * Inside the module tensors are channels-first (NCHW, NCL); `forward` takes and gives the
 * spec's channels-last shapes. Each layer's code is its kind's `pytorch` in src/layers/. Like
 * the TF.js emitter it reads only the checked program, and everything from the spec is a
 * literal, a one-line comment, or an identifier the checker restricted to [A-Za-z_][A-Za-z0-9_]*.
 */
import { LAYERS, type LayerKind, type LayerOp, type TorchContext, type TorchWeight } from "../../layers/index.js";
import type { ActivationSpec, CheckedLayer, CheckedModel, CheckedRecipe, InitSpec } from "../../typecheck/index.js";
import { formatShape } from "../../typecheck/index.js";
import { commentText, GENERATED_MARKER, modelInfo, NameSet, pascal, trainConfig, type EmitOptions } from "../common.js";

/** Python's keywords and the names the generated module itself uses: no variable takes them. */
const KEYWORDS = "False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case".split(" ");
const VARIABLES_RESERVED = new Set([...KEYWORDS, "x", "self", "torch", "nn", "F", "nnc", "seed", "super"]);

/** `nn.Module`'s own attributes and methods: no submodule may shadow them. */
const ATTRIBUTES_RESERVED = new Set([
  ...KEYWORDS,
  ..."training forward train eval parameters buffers children modules named_parameters named_buffers named_children named_modules state_dict load_state_dict to cuda cpu xpu ipu type float double half bfloat16 to_empty apply zero_grad requires_grad_ register_buffer register_parameter register_module add_module get_submodule get_parameter get_buffer get_extra_state set_extra_state extra_repr share_memory dump_patches call_super_init compile input_shape output_shape regularization decayed".split(" "),
]);

/** A JSON value as a Python literal (strings as JSON strings, which Python reads alike). */
export function pyLiteral(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : value > 0 ? 'float("inf")' : value < 0 ? 'float("-inf")' : 'float("nan")';
  if (typeof value === "string") return JSON.stringify(value).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
  if (Array.isArray(value)) return `[${value.map(pyLiteral).join(", ")}]`;
  if (typeof value === "object") return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${pyLiteral(k)}: ${pyLiteral(v)}`).join(", ")}}`;
  return "None";
}

/** The class name of a model: `mnist_cnn` → `MnistCnn`. */
export function className(model: string): string {
  const name = pascal(model) || "Model";
  return KEYWORDS.includes(name) || /^[0-9]/.test(name) ? `${name}_` : name;
}

/** An activation as a Python expression on `e` (PReLU excepted: it is a module). */
function activationCall(a: ActivationSpec, e: string): string {
  switch (a.name) {
    case "relu":
      return `torch.relu(${e})`;
    case "sigmoid":
      return `torch.sigmoid(${e})`;
    case "tanh":
      return `torch.tanh(${e})`;
    case "selu":
      return `torch.selu(${e})`;
    case "softplus":
      return `F.softplus(${e})`;
    case "softmax":
      // Over the channels (axis 1 inside the module), as TF.js's softmax over the last axis.
      return `torch.softmax(${e}, 1)`;
    case "linear":
      return e;
    case "relu6":
      return `F.relu6(${e})`;
    case "swish":
      return `F.silu(${e})`;
    case "gelu":
      return `F.gelu(${e})`;
    case "hard_sigmoid":
      return `nnc.hard_sigmoid(${e})`;
    case "hard_swish":
      return `nnc.hard_swish(${e})`;
    case "leaky_relu":
      return `F.leaky_relu(${e}, ${pyLiteral(a.alpha)})`;
    case "elu":
      return `F.elu(${e}, ${pyLiteral(a.alpha)})`;
    case "maxout":
      return `nnc.maxout(${e}, ${a.k})`;
    case "prelu":
      throw new Error("activationCall: prelu is a module");
  }
}

/** TF.js's built-in activations: the ones a dense or conv layer takes as its option (src/codegen/tfjs/emit.ts). */
const TFJS_BUILTIN = new Set(["relu", "sigmoid", "tanh", "softplus", "selu", "linear", "softmax", "relu6", "swish", "gelu"]);

interface WeightRow {
  tfName: string;
  path: string;
  layout: TorchWeight["layout"];
  kernel: boolean;
  frozen: boolean;
  l1: number;
  l2: number;
}

/** A name as an attribute or variable: with `_` appended where it is reserved. */
function pyName(name: string, reserved: ReadonlySet<string>): string {
  return reserved.has(name) ? `${name}_` : name;
}

class TorchModelEmitter {
  readonly init: string[] = [];
  readonly forward: string[] = [];
  readonly weights: WeightRow[] = [];
  /** Layer name → the Python variable holding its output in `forward`. */
  private readonly vars = new Map<string, string>();
  private readonly variables = new NameSet(VARIABLES_RESERVED);
  /** Submodule attributes. */
  private readonly attributes = new NameSet(ATTRIBUTES_RESERVED);
  /** TF.js layer names, handed out as the TF.js emitter hands them out (helper layers included). */
  private readonly layerNames: NameSet;
  private seedIndex = 0;
  usesF = false;

  constructor(
    private readonly model: CheckedModel,
    private readonly opts: EmitOptions,
  ) {
    this.layerNames = new NameSet(model.layers.map((l) => l.name));
  }

  emit(): void {
    for (const layer of this.model.layers) this.layer(layer);
  }

  get output(): string {
    const last = this.model.layers[this.model.layers.length - 1]!;
    return this.vars.get(last.name)!;
  }

  private comment(layer: CheckedLayer): string {
    const line = layer.range.start.line;
    const text = commentText(this.opts.sourceLine(line));
    return `# ${commentText(this.opts.specName)}:${line + 1}  ${text.length > 100 ? text.slice(0, 97) + "..." : text}`;
  }

  private seed(): string {
    this.seedIndex++;
    return `seed + ${this.seedIndex}`;
  }

  private initCode(target: string, init: InitSpec | { constant: number }, shape: number[]): string {
    if ("constant" in init) return init.constant === 0 ? `nn.init.zeros_(${target})` : `nn.init.constant_(${target}, ${pyLiteral(init.constant)})`;
    return `nnc.init_kernel(${target}, ${pyLiteral(init)}, ${this.seed()}, (${shape.join(", ")}${shape.length === 1 ? "," : ""}))`;
  }

  private layer(layer: CheckedLayer): void {
    const comment = this.comment(layer);
    this.init.push(comment);
    this.forward.push(comment);
    const initStart = this.init.length;
    let attribute: string | undefined;
    const addWeight = (owner: string, tfLayer: string, w: TorchWeight, frozen: boolean): void => {
      const target = `self.${owner}.${w.path}`;
      if (w.init) this.init.push(this.initCode(target, w.init, w.shape));
      if (frozen) this.init.push(`${target}.requires_grad_(False)`);
      this.weights.push({ tfName: `${tfLayer}/${w.tf}`, path: `${owner}.${w.path}`, layout: w.layout, kernel: `${tfLayer}/${w.tf}`.includes("kernel"), frozen, l1: w.l1 ?? 0, l2: w.l2 ?? 0 });
    };
    /** PReLU as a module: its slopes are TF.js's `<tfLayer>/alpha`, [C] or [1, …, C]. */
    const prelu = (attr: string, tfLayer: string, e: string): string => {
      const shape = layer.outputShape;
      const c = shape[shape.length - 1]!;
      this.init.push(`self.${attr} = nnc.PReLU(${c})`);
      addWeight(attr, tfLayer, { tf: "alpha", path: "weight", layout: "same", shape: [...shape.slice(0, -1).map(() => 1), c] }, layer.frozen);
      return `self.${attr}(${e})`;
    };
    const ctx: TorchContext = {
      input: (i = 0) => this.vars.get(layer.inputs[i]!)!,
      inputs: () => layer.inputs.map((n) => this.vars.get(n)!),
      literal: pyLiteral,
      module: (expr) => {
        attribute = this.attributes.fresh(pyName(layer.name, ATTRIBUTES_RESERVED));
        this.init.splice(initStart, 0, `self.${attribute} = ${expr}`);
        return attribute;
      },
      helper: (suffix) => this.layerNames.fresh(`${layer.name}_${suffix}`),
      weight: (attr, w) => addWeight(attr, layer.name, w, layer.frozen),
      activation: (e, a) => {
        if (a.name === "prelu") return prelu(this.attributes.fresh(pyName(layer.name, ATTRIBUTES_RESERVED)), layer.name, e);
        return activationCall(a, e);
      },
      output: (expr, a, inline = false) => {
        let e = expr;
        if (a && !(inline && TFJS_BUILTIN.has(a.name))) {
          // TF.js makes the activation a layer of its own, `<layer>_<activation>`.
          const tfName = this.layerNames.fresh(`${layer.name}_${a.name}`);
          e = a.name === "prelu" ? prelu(this.attributes.fresh(pyName(tfName, ATTRIBUTES_RESERVED)), tfName, e) : activationCall(a, e);
        } else if (a) {
          e = activationCall(a, e);
        }
        const v = this.variables.fresh(pyName(layer.name, VARIABLES_RESERVED));
        this.vars.set(layer.name, v);
        this.forward.push(`${v} = ${e}`);
      },
    };
    const kind = LAYERS[layer.config.op] as LayerKind<LayerOp>;
    kind.pytorch(layer, ctx);
    if (this.init.length === initStart) this.init.pop(); // a layer without a module: no comment in __init__
  }
}

/** A Python module for `model`: its `nn.Module`, its weights table, and with a recipe `RECIPE`, `INFO`, `train()` and `main()`. */
export function emitTorchModule(model: CheckedModel, recipe: CheckedRecipe | undefined, opts: EmitOptions): string {
  const emitter = new TorchModelEmitter(model, opts);
  emitter.emit();
  const cls = className(model.name);
  const spec = commentText(opts.specName);
  const total = model.params.total.toLocaleString("en-US");
  const shapes = `${formatShape(model.input ?? [])} → ${formatShape(model.output ?? [])}`;
  const body = [...emitter.init, ...emitter.forward].join("\n");
  const usesF = /\bF\./.test(body);
  const lines: string[] = [];
  lines.push(`# ${GENERATED_MARKER} by nnc ${opts.version} from ${spec}. Edit the spec and run \`nnc build --target pytorch\` again; this file is overwritten.`);
  lines.push(`# The model \`${model.name}\` (${spec}:${model.nameRange.start.line + 1}): ${shapes}, ${total} parameters${model.params.nonTrainable > 0 ? ` (${model.params.nonTrainable.toLocaleString("en-US")} non-trainable)` : ""}.`);
  if (recipe) {
    lines.push(`# Train it: python3 ${model.name}.py [--epochs N] [--device cuda] [--out DIR]; on N processes: torchrun --nproc_per_node N ${model.name}.py`);
  }
  lines.push("import torch");
  if (usesF) lines.push("import torch.nn.functional as F");
  lines.push("from torch import nn");
  lines.push("");
  lines.push("import nnc_torch as nnc");
  lines.push("");
  lines.push("");
  lines.push(`class ${cls}(nn.Module):`);
  lines.push(`    """\`${model.name}\`: ${shapes}. Takes and gives the spec's channels-last shapes; channels first inside."""`);
  lines.push("");
  lines.push(`    input_shape = ${pyTuple(model.input ?? [])}`);
  lines.push(`    output_shape = ${pyTuple(model.output ?? [])}`);
  lines.push("");
  lines.push("    def __init__(self, seed=0):");
  lines.push("        super().__init__()");
  for (const l of emitter.init) lines.push(`        ${l}`);
  lines.push("");
  lines.push("    def forward(self, x):");
  for (const l of emitter.forward) lines.push(`        ${l}`);
  lines.push(`        return nnc.to_channels_last(${emitter.output})`);
  lines.push("");
  const penalties = emitter.weights.flatMap((w) => [...(w.l1 > 0 ? [`${pyLiteral(w.l1)} * self.${w.path}.abs().sum()`] : []), ...(w.l2 > 0 ? [`${pyLiteral(w.l2)} * self.${w.path}.square().sum()`] : [])]);
  lines.push("    def regularization(self):");
  lines.push(`        """The spec's \`l1\`/\`l2\` penalties on kernels, added to the loss (Keras's regularizers)."""`);
  if (penalties.length === 0) lines.push("        return 0.0");
  else {
    lines.push("        return (");
    penalties.forEach((p, i) => lines.push(`            ${i > 0 ? "+ " : ""}${p}`));
    lines.push("        )");
  }
  lines.push("");
  const decayed = emitter.weights.filter((w) => w.kernel && !w.frozen);
  lines.push("    def decayed(self):");
  lines.push(`        """The trained kernels the recipe's \`weight_decay\` applies to."""`);
  lines.push(`        return [${decayed.map((w) => `self.${w.path}`).join(", ")}]`);
  lines.push("");
  lines.push("");
  lines.push("# Each TF.js weight (model.json's name), the module's tensor, and how their layouts relate.");
  lines.push("WEIGHTS = [");
  for (const w of emitter.weights) lines.push(`    (${pyLiteral(w.tfName)}, ${pyLiteral(w.path)}, ${pyLiteral(w.layout)}),`);
  lines.push("]");
  if (recipe) {
    lines.push("");
    lines.push(`# The training recipe (${spec}:${recipe.range.start.line + 1}).`);
    lines.push(`RECIPE = ${pyLiteral(trainConfig(recipe, model))}`);
    lines.push("");
    lines.push(`INFO = ${pyLiteral({ name: model.name, ...modelInfo(model) })}`);
    lines.push("");
    lines.push("");
    lines.push("def train(**options):");
    lines.push(`    """Trains \`${model.name}\` as its recipe says; options (epochs, out, device, seed, ...) override it."""`);
    lines.push(`    return nnc.train(${cls}, RECIPE, INFO, WEIGHTS, **options)`);
    lines.push("");
    lines.push("");
    lines.push('if __name__ == "__main__":');
    lines.push(`    nnc.main(${cls}, RECIPE, INFO, WEIGHTS)`);
  }
  lines.push("");
  return lines.join("\n");
}

function pyTuple(values: readonly number[]): string {
  return values.length === 1 ? `(${values[0]},)` : `(${values.join(", ")})`;
}
