/**
 * A trained model → a TF.js layers model that plain `tf.loadLayersModel` loads: model.json
 * (topology + one weights group) and one `weights.bin`, from the files alone (no TensorFlow.js).
 *
 * nnc's own layers become standard TF.js layers where one computes the same function:
 * - `NncDilatedConv2D` (trainable dilated conv) → `Conv2D` with `dilation_rate` (TF.js's forward
 *   conv supports dilation with stride 1; with a stride, which the checker refuses, the kernel is
 *   spread with zeros into a plain `Conv2D`, as the runtime's layer does);
 * - `NncElu` with α = 1 → `ELU`;
 * - `NncGroupedConv2D` with one group → `Conv2D` (the same kernel and bias).
 * The others have no TF.js equivalent and stay: `NncGroupNorm`, `NncMaxout`, `NncElu` with α ≠ 1
 * (TF.js's `ELU` layer refuses any other α), `NncGroupedConv2D` with groups, `NncChannelPad`,
 * `NncHardActivation` (TF.js's `hardSigmoid` is Keras 2's 0.2·x + 0.5, not relu6(x + 3)/6). A
 * model with one of them loads after `import "nnc/layers"` (`runtime/register-layers.ts`) in
 * the program that loads it.
 *
 * Stock layers pass through, except that a SeparableConv2D gets back the `depth_multiplier`
 * TF.js leaves out of its config (read from its depthwise kernel), without which TF.js builds a
 * kernel of the wrong shape and refuses the weights.
 */
import { ExportError, floatValues, type ModelFolder, type ModelJson, type WeightEntry } from "./model-folder.js";
import { readTopology } from "./topology.js";

/** The start of `convertedBy` in every model.json `nnc export` writes: it replaces only those. */
export const TFJS_CONVERTED_BY = "nnc export";
export const WEIGHTS_FILE = "weights.bin";
/** nnc's layers that stay custom in an export, and need `import "nnc/layers"` to load. */
export const CUSTOM_LAYERS = ["NncGroupNorm", "NncMaxout", "NncElu", "NncGroupedConv2D", "NncChannelPad", "NncHardActivation"] as const;
/** The line that registers them. */
export const LAYERS_IMPORT = 'import "nnc/layers";';

export interface TfjsResult {
  /** model.json's text. */
  modelJson: string;
  /** weights.bin's bytes. */
  weights: Uint8Array;
  /** nnc's layer classes the model still uses (each needs `LAYERS_IMPORT`), sorted. */
  customLayers: string[];
  /** Layers that became standard TF.js layers: name, from, to. */
  replaced: { layer: string; from: string; to: string }[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** [kh, kw, ci, co] with d−1 zero taps between each pair, per axis: the dilated kernel as a plain one. */
function spreadKernel(data: Float32Array, shape: number[], dilation: [number, number]): { data: Float32Array; shape: number[] } {
  const [kh, kw, ci, co] = shape as [number, number, number, number];
  const eh = dilation[0] * (kh - 1) + 1;
  const ew = dilation[1] * (kw - 1) + 1;
  const out = new Float32Array(eh * ew * ci * co);
  const inner = ci * co;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const src = (i * kw + j) * inner;
      const dst = (i * dilation[0] * ew + j * dilation[1]) * inner;
      out.set(data.subarray(src, src + inner), dst);
    }
  }
  return { data: out, shape: [eh, ew, ci, co] };
}

function pairOf(v: unknown): [number, number] {
  if (typeof v === "number") return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number")) return [v[0] as number, v[1] as number];
  return [1, 1];
}

/** Converts the model in `folder`. `version` goes into model.json's `convertedBy`. */
export function exportTfjs(folder: ModelFolder, options: { version?: string } = {}): TfjsResult {
  const top = readTopology(folder);
  const json = structuredClone(folder.modelJson) as ModelJson;
  const topology = isRecord(json.modelTopology["model_config"]) ? (json.modelTopology["model_config"] as Record<string, unknown>) : json.modelTopology;
  const layers = (topology["config"] as Record<string, unknown>)["layers"] as Record<string, unknown>[];
  const replaced: TfjsResult["replaced"] = [];
  const custom = new Set<string>();
  /** Weights whose values change (a spread kernel), by manifest name. */
  const rewritten = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const [i, raw] of layers.entries()) {
    const layer = top.layers[i]!;
    const config = raw["config"] as Record<string, unknown>;
    if (layer.className === "NncDilatedConv2D") {
      const dilation = pairOf(config["dilation_rate"]);
      const strides = pairOf(config["strides"]);
      const conv: Record<string, unknown> = {
        name: config["name"],
        trainable: config["trainable"] ?? true,
        filters: config["filters"],
        kernel_size: config["kernel_size"],
        strides: config["strides"],
        padding: config["padding"],
        data_format: "channels_last",
        dilation_rate: config["dilation_rate"],
        activation: config["activation"] ?? "linear",
        use_bias: config["use_bias"] ?? true,
      };
      if (strides.some((s) => s > 1) && dilation.some((d) => d > 1)) {
        // TF.js's conv2d takes a stride or a dilation, not both: spread the kernel instead.
        const entry = layer.weights.get("kernel");
        if (entry === undefined) throw new ExportError(`${folder.shown}: the NncDilatedConv2D layer \`${layer.name}\` has no \`kernel\` weight in the manifest.`);
        const spread = spreadKernel(floatValues(folder, entry), entry.shape, dilation);
        rewritten.set(entry.name, spread);
        conv["kernel_size"] = spread.shape.slice(0, 2);
        conv["dilation_rate"] = [1, 1];
      }
      raw["class_name"] = "Conv2D";
      raw["config"] = conv;
      replaced.push({ layer: layer.name, from: "NncDilatedConv2D", to: "Conv2D" });
    } else if (layer.className === "NncElu" && config["alpha"] === 1) {
      raw["class_name"] = "ELU";
      raw["config"] = { name: config["name"], trainable: config["trainable"] ?? true, alpha: 1 };
      replaced.push({ layer: layer.name, from: "NncElu", to: "ELU" });
    } else if (layer.className === "NncGroupedConv2D" && (config["groups"] ?? 1) === 1) {
      raw["class_name"] = "Conv2D";
      raw["config"] = {
        name: config["name"],
        trainable: config["trainable"] ?? true,
        filters: config["filters"],
        kernel_size: config["kernel_size"],
        strides: config["strides"] ?? [1, 1],
        padding: config["padding"] ?? "valid",
        data_format: "channels_last",
        dilation_rate: [1, 1],
        activation: config["activation"] ?? "linear",
        use_bias: config["use_bias"] ?? true,
      };
      replaced.push({ layer: layer.name, from: "NncGroupedConv2D", to: "Conv2D" });
    } else if (layer.className === "SeparableConv2D" && config["depth_multiplier"] === undefined) {
      const kernel = layer.weights.get("depthwise_kernel");
      if (kernel && kernel.shape.length === 4 && kernel.shape[3] !== 1) config["depth_multiplier"] = kernel.shape[3];
    } else if ((CUSTOM_LAYERS as readonly string[]).includes(layer.className)) {
      custom.add(layer.className);
    } else if (layer.className.startsWith("Nnc")) {
      throw new ExportError(`${folder.shown}: the layer \`${layer.name}\` is of the class ${layer.className}, which this nnc does not know. Export it with the nnc that trained it.`);
    }
  }
  // One weights group, one file, in the manifest's order.
  const entries: WeightEntry[] = folder.entries;
  const parts: Uint8Array[] = [];
  const specs: { name: string; shape: number[]; dtype: string; quantization?: { dtype: string } }[] = [];
  for (const e of entries) {
    const spread = rewritten.get(e.name);
    if (spread) {
      parts.push(new Uint8Array(spread.data.buffer));
      specs.push({ name: e.name, shape: spread.shape, dtype: "float32" });
    } else {
      parts.push(folder.weights.subarray(e.offset, e.offset + e.byteLength));
      specs.push({ name: e.name, shape: e.shape, dtype: e.dtype, ...(e.quantization ? { quantization: e.quantization } : {}) });
    }
  }
  const weights = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    weights.set(p, at);
    at += p.byteLength;
  }
  const customLayers = [...custom].sort();
  const metadata: Record<string, unknown> = { model: top.name, inputLayout: "NHWC" };
  if (customLayers.length > 0) metadata["customLayers"] = customLayers;
  if (folder.normalizer && folder.normalizer.kind !== "none") metadata["normalizer"] = `${folder.normalizer.kind}: not in the model; normalise inputs with normalizer.json first`;
  if (folder.data) {
    metadata["task"] = folder.data.task;
    if (folder.data.classNames) metadata["classNames"] = folder.data.classNames;
    if (folder.data.targetNames) metadata["targetNames"] = folder.data.targetNames;
  }
  const out: Record<string, unknown> = {
    modelTopology: json.modelTopology,
    weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: specs }],
    format: "layers-model",
    generatedBy: json.generatedBy ?? "TensorFlow.js tfjs-layers",
    convertedBy: `${TFJS_CONVERTED_BY} ${options.version ?? ""}`.trim(),
    userDefinedMetadata: { nnc: metadata },
  };
  return { modelJson: JSON.stringify(out), weights, customLayers, replaced };
}

/** Whether a model.json's text is one `nnc export` wrote (its `convertedBy`): a folder export may write over. */
export function isNncTfjs(modelJsonText: string): boolean {
  try {
    const j = JSON.parse(modelJsonText) as unknown;
    return isRecord(j) && typeof j["convertedBy"] === "string" && (j["convertedBy"] === TFJS_CONVERTED_BY || j["convertedBy"].startsWith(`${TFJS_CONVERTED_BY} `));
  } catch {
    return false;
  }
}
