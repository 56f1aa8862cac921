/**
 * A model.json's topology (Keras's functional config as TF.js writes it) read into a plain
 * graph: the layers in order, each with its class, config, the layers whose outputs it takes,
 * and its weights by name. Pure: no TensorFlow.js.
 */
import { ExportError, type ModelFolder, type WeightEntry } from "./model-folder.js";

export interface TopologyLayer {
  className: string;
  name: string;
  config: Record<string, unknown>;
  /** The layers whose (only) output this layer takes, in order. */
  inputs: string[];
  /** The layer's weights, by their short name (`kernel`, `bias`, `gamma`, `moving_mean`, `alpha`…). */
  weights: Map<string, WeightEntry>;
}

export interface Topology {
  /** The model's name (`config.name`). */
  name: string;
  /** Every layer, in the order of model.json (TF.js writes them so that inputs come first). */
  layers: TopologyLayer[];
  inputs: string[];
  outputs: string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `[["name", node, tensor, kwargs], …]` lists of one inbound node → the layer names. */
function inboundNames(layer: Record<string, unknown>, name: string, shown: string): string[] {
  const nodes = layer["inbound_nodes"];
  if (nodes === undefined || (Array.isArray(nodes) && nodes.length === 0)) return [];
  if (!Array.isArray(nodes) || nodes.length !== 1 || !Array.isArray(nodes[0])) {
    throw new ExportError(`${shown}: the layer \`${name}\` is called ${Array.isArray(nodes) ? nodes.length : "an unknown number of"} times; export handles models whose layers are each called once, as nnc builds them.`);
  }
  return (nodes[0] as unknown[]).map((ref) => {
    if (!Array.isArray(ref) || typeof ref[0] !== "string" || (ref[1] ?? 0) !== 0 || (ref[2] ?? 0) !== 0) {
      throw new ExportError(`${shown}: the layer \`${name}\` has an input that export cannot read (${JSON.stringify(ref).slice(0, 80)}).`);
    }
    return ref[0];
  });
}

function layerRefs(value: unknown, what: string, shown: string): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new ExportError(`${shown}: \`modelTopology.config.${what}\` must name the model's ${what === "input_layers" ? "inputs" : "outputs"}.`);
  return value.map((ref) => {
    if (!Array.isArray(ref) || typeof ref[0] !== "string") throw new ExportError(`${shown}: \`modelTopology.config.${what}\` holds something that is not a layer reference (${JSON.stringify(ref).slice(0, 80)}).`);
    return ref[0];
  });
}

/** The short name of a weight of layer `layer` (`conv1/kernel` → `kernel`; TF.js may add `_1` to a repeated name). */
function shortName(weight: string, layer: string): string | undefined {
  const prefix = `${layer}/`;
  if (!weight.startsWith(prefix)) return undefined;
  const rest = weight.slice(prefix.length);
  return rest.includes("/") ? undefined : rest.replace(/_\d+$/, "");
}

/** Reads the topology of `folder`'s model.json and gives each layer its weights. */
export function readTopology(folder: ModelFolder): Topology {
  const shown = folder.shown;
  const top = folder.modelJson.modelTopology;
  const model = isRecord(top["model_config"]) ? top["model_config"] : top;
  const className = model["class_name"];
  if (className !== "Model" && className !== "Functional") {
    throw new ExportError(`${shown}: export reads functional models (\`class_name\` "Model", as nnc saves them), but this one is ${JSON.stringify(className)}.`);
  }
  const config = model["config"];
  if (!isRecord(config) || !Array.isArray(config["layers"])) throw new ExportError(`${shown}: \`modelTopology.config.layers\` must be the model's list of layers.`);
  const layers: TopologyLayer[] = [];
  const byName = new Map<string, TopologyLayer>();
  for (const [i, raw] of (config["layers"] as unknown[]).entries()) {
    if (!isRecord(raw) || typeof raw["class_name"] !== "string" || !isRecord(raw["config"])) {
      throw new ExportError(`${shown}: \`modelTopology.config.layers[${i}]\` must be a layer with a \`class_name\` and a \`config\`.`);
    }
    const lconfig = raw["config"];
    const name = typeof raw["name"] === "string" ? raw["name"] : lconfig["name"];
    if (typeof name !== "string" || name === "") throw new ExportError(`${shown}: \`modelTopology.config.layers[${i}]\` has no name.`);
    if (byName.has(name)) throw new ExportError(`${shown}: two layers are named \`${name}\`.`);
    const layer: TopologyLayer = { className: raw["class_name"], name, config: lconfig, inputs: inboundNames(raw, name, shown), weights: new Map() };
    for (const input of layer.inputs) {
      if (!byName.has(input)) throw new ExportError(`${shown}: the layer \`${name}\` takes the output of \`${input}\`, which is not an earlier layer of the model.`);
    }
    layers.push(layer);
    byName.set(name, layer);
  }
  // Longest names first: a layer `a` must not take the weights of a layer `a/b`… (names have no `/`, but be sure).
  const sorted = [...layers].sort((a, b) => b.name.length - a.name.length);
  for (const entry of folder.entries) {
    const owner = sorted.find((l) => shortName(entry.name, l.name) !== undefined);
    if (owner === undefined) throw new ExportError(`${shown}: the weight \`${entry.name}\` belongs to no layer of the model.`);
    const short = shortName(entry.name, owner.name)!;
    if (owner.weights.has(short)) throw new ExportError(`${shown}: the layer \`${owner.name}\` has two weights named \`${short}\`.`);
    owner.weights.set(short, entry);
  }
  const inputs = layerRefs(config["input_layers"], "input_layers", shown);
  const outputs = layerRefs(config["output_layers"], "output_layers", shown);
  for (const n of [...inputs, ...outputs]) if (!byName.has(n)) throw new ExportError(`${shown}: the model's inputs or outputs name \`${n}\`, which is not one of its layers.`);
  return { name: typeof config["name"] === "string" ? config["name"] : "model", layers, inputs, outputs };
}

/** A layer's weight by short name, or an ExportError saying which is missing. */
export function weightOf(layer: TopologyLayer, short: string, shown: string): WeightEntry {
  const w = layer.weights.get(short);
  if (w === undefined) throw new ExportError(`${shown}: the ${layer.className} layer \`${layer.name}\` has no \`${short}\` weight in the manifest.`);
  return w;
}
