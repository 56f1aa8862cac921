/**
 * `nnc export --format tfjs`: the folder loads in plain TensorFlow.js. A child `node` process
 * that never imports nnc's runtime loads each export with `tf.loadLayersModel` (an IOHandler
 * built from the files with `tf.io.fromMemory`): models of standard layers only load as they
 * are (issue 14's stock kinds too, and a one-group grouped conv as Conv2D); models with groupnorm,
 * maxout, elu(α ≠ 1), grouped convs, channel padding or hard activations fail with TF.js's own "Unknown layer" until
 * the program imports `nnc/layers` (here: src/runtime/register-layers.ts, bundled with
 * @tensorflow/tfjs left as the child's own copy), and then give the trained model's outputs.
 */
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { exportCommand } from "../src/cli/export-command.js";
import { exportTfjs, readModelFolder } from "../src/export/index.js";
import { dilatedConv2d } from "../src/runtime/layers.js";
import { buildEveryLayer, buildModernModels, buildSpec, customModernModel, maxDifference, oneGroupModel, randomInputs, randomiseWeights, SEQUENCE_SPEC, writeRun } from "./export-models.js";

const ROOT = join(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "nnc-export-tfjs-"));
const TFJS = createRequire(join(ROOT, "package.json")).resolve("@tensorflow/tfjs");

/** Standard layers only once exported: dilated convs become Conv2D, elu(1) ELU, PReLU is TF.js's. */
const PLAIN_SPEC = `model plain {
  input 12x12x2
  conv 3x3x4 same dilation 2 relu
  batchnorm prelu
  conv 3x3x4 full dilation 2 -> elu
  pool 2
  layernorm
  flatten
  dense 8 leaky_relu(0.2)
  dense 3 softmax
}
`;

interface Case {
  name: string;
  model: tf.LayersModel;
  out: string;
  custom: boolean;
}
const cases: Case[] = [];

/** A model TF.js's conv2d cannot run as one Conv2D (stride and dilation together): the kernel is spread. */
function stridedDilated(): tf.LayersModel {
  const input = tf.input({ shape: [11, 11, 2], name: "input1" });
  const conv = dilatedConv2d({ name: "conv1", filters: 3, kernelSize: [3, 2], strides: [2, 2], padding: "same", dilationRate: [2, 3], activation: "tanh" }).apply(input) as tf.SymbolicTensor;
  const flat = tf.layers.flatten({ name: "flatten1" }).apply(conv) as tf.SymbolicTensor;
  return tf.model({ name: "strided", inputs: input, outputs: flat });
}

beforeAll(async () => {
  await tf.setBackend("cpu");
  const every = await buildEveryLayer(dir);
  const plain = await buildSpec(PLAIN_SPEC, dir, "plain");
  const sequences = await buildSpec(SEQUENCE_SPEC, dir, "sequences");
  const all: [string, tf.LayersModel, boolean][] = [
    ["plain", plain.get("plain")!, false],
    ["strided", stridedDilated(), false],
    ["convs", every.get("convs")!, true],
    ["pools", every.get("pools")!, true],
    ["vector", every.get("vector")!, true],
    ["sequence", every.get("sequence")!, true],
    // Issue 14's kinds: stock TF.js layers pass through; a one-group grouped conv becomes Conv2D.
    ...[...buildModernModels()].map(([name, model]): [string, tf.LayersModel, boolean] => [name, model, false]),
    ["one_group", oneGroupModel(), false],
    // Sequences as the emitter builds them: Conv1D and the 1-D pools pass through.
    ["seq1d", sequences.get("seq1d")!, false],
    ["seq1d_more", sequences.get("seq1d_more")!, false],
    ["custom", customModernModel(), true],
  ];
  for (const [name, model, custom] of all) {
    randomiseWeights(model, 3);
    const run = await writeRun(model, join(dir, "runs", name));
    const out = join(dir, "exports", name);
    const r = await exportCommand({ run, format: "tfjs", out });
    expect(r.stderr).toEqual([]);
    expect(r.exitCode).toBe(0);
    cases.push({ name, model, out, custom });
  }
}, 120_000);

/** The child: plain TF.js, nothing of nnc until it imports the registration module. */
const CHILD = `
import tfModule from ${JSON.stringify(TFJS)};
import { readFileSync } from "node:fs";
import { join } from "node:path";
const tf = tfModule;
const { cases, register } = JSON.parse(readFileSync(process.argv[2], "utf8"));
function fromFolder(dir) {
  const json = JSON.parse(readFileSync(join(dir, "model.json"), "utf8"));
  const buffers = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
  const weightData = new Uint8Array(buffers.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of buffers) { weightData.set(b, at); at += b.length; }
  return tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: weightData.buffer, format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy, userDefinedMetadata: json.userDefinedMetadata });
}
async function run(c) {
  const model = await tf.loadLayersModel(fromFolder(c.dir));
  const y = model.predict(tf.tensor(c.input.data, c.input.shape));
  return { classes: model.layers.map((l) => l.getClassName()), output: Array.from(y.dataSync()), metadata: model.getUserDefinedMetadata() };
}
const results = {};
for (const c of cases) {
  try { results[c.name] = { before: await run(c) }; } catch (e) { results[c.name] = { beforeError: String(e.message) }; }
}
await import(register);
for (const c of cases) {
  if (results[c.name].beforeError) results[c.name].after = await run(c);
}
process.stdout.write(JSON.stringify(results));
`;

interface ChildResult {
  before?: { classes: string[]; output: number[]; metadata: { nnc?: Record<string, unknown> } };
  beforeError?: string;
  after?: { classes: string[]; output: number[] };
}

describe("a TF.js export in plain TensorFlow.js", () => {
  let results: Record<string, ChildResult>;
  const inputs = new Map<string, { data: Float32Array; shape: number[] }>();

  beforeAll(async () => {
    const { build } = await import("esbuild");
    const register = join(dir, "register-layers.mjs");
    // nnc/layers as a user's program gets it, with @tensorflow/tfjs the child's own copy.
    await build({
      entryPoints: [join(ROOT, "src", "runtime", "register-layers.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: register,
      logLevel: "error",
      plugins: [{ name: "tfjs-external", setup: (b) => b.onResolve({ filter: /^@tensorflow\/tfjs$/ }, () => ({ path: TFJS, external: true })) }],
    });
    for (const c of cases) inputs.set(c.name, randomInputs(c.model, 3, 5));
    const spec = join(dir, "child.json");
    writeFileSync(spec, JSON.stringify({ register: pathToFileURL(register).href, cases: cases.map((c) => ({ name: c.name, dir: c.out, input: { data: Array.from(inputs.get(c.name)!.data), shape: inputs.get(c.name)!.shape } })) }));
    const script = join(dir, "child.mjs");
    writeFileSync(script, CHILD);
    const child = spawnSync(process.execPath, [script, spec], { encoding: "utf8", timeout: 120_000 });
    if (child.status !== 0) throw new Error(`the child failed (${child.status}): ${child.stderr}`);
    results = JSON.parse(child.stdout) as Record<string, ChildResult>;
  }, 150_000);

  for (const name of ["plain", "strided", "depthwise", "separable", "transpose", "upsample", "crop", "concat", "multiply", "activations", "one_group", "sequence1d", "seq1d", "seq1d_more"]) {
    it(`loads the standard-only model \`${name}\` without any nnc import, with the trained outputs`, () => {
      const r = results[name]!;
      expect(r.beforeError).toBeUndefined();
      expect(r.before!.classes.some((c) => c.startsWith("Nnc"))).toBe(false);
      const c = cases.find((x) => x.name === name)!;
      const expected = c.model.predict(tf.tensor(inputs.get(name)!.data, inputs.get(name)!.shape)) as tf.Tensor;
      expect(maxDifference(r.before!.output, expected.dataSync())).toBeLessThan(1e-5);
    });
  }

  for (const name of ["convs", "pools", "vector", "sequence", "custom"]) {
    it(`loads \`${name}\` (nnc's layers) only after \`import "nnc/layers"\`, with the trained outputs`, () => {
      const r = results[name]!;
      expect(r.beforeError).toMatch(/Unknown layer: Nnc(GroupNorm|Maxout|Elu|GroupedConv2D|ChannelPad|HardActivation)/);
      expect(r.after!.classes.some((c) => c.startsWith("Nnc"))).toBe(true);
      expect(r.after!.classes).not.toContain("NncDilatedConv2D");
      const c = cases.find((x) => x.name === name)!;
      const expected = c.model.predict(tf.tensor(inputs.get(name)!.data, inputs.get(name)!.shape)) as tf.Tensor;
      expect(maxDifference(r.after!.output, expected.dataSync())).toBeLessThan(1e-5);
    });
  }

  it("records the model's name and its custom layers in the standard userDefinedMetadata", () => {
    expect(results["plain"]!.before!.metadata.nnc).toMatchObject({ model: "plain", inputLayout: "NHWC", files: ["weights.bin"] });
    const convs = JSON.parse(readFileSync(join(cases.find((c) => c.name === "convs")!.out, "model.json"), "utf8")) as { userDefinedMetadata: { nnc: { customLayers: string[] } }; convertedBy: string };
    expect(convs.userDefinedMetadata.nnc.customLayers).toEqual(["NncElu", "NncGroupNorm", "NncMaxout"]);
    expect(convs.convertedBy).toMatch(/^nnc export/);
  });
});

describe("what a TF.js export changes", () => {
  it("keeps every weight's bytes, except a strided dilated kernel spread with zeros", () => {
    for (const c of cases) {
      const run = readModelFolder(join(dir, "runs", c.name));
      const exported = readModelFolder(c.out);
      expect(exported.entries.map((e) => e.name)).toEqual(run.entries.map((e) => e.name));
      if (c.name !== "strided") expect(Buffer.from(exported.weights).equals(Buffer.from(run.weights))).toBe(true);
    }
    const strided = readModelFolder(join(dir, "exports", "strided"));
    expect(strided.entries[0]).toMatchObject({ name: "conv1/kernel", shape: [5, 4, 2, 3] });
  });

  it("writes Conv2D for a one-group grouped conv, keeps grouped ones custom, and gives SeparableConv2D its depth_multiplier", () => {
    const custom = exportTfjs(readModelFolder(join(dir, "runs", "custom")));
    expect(custom.customLayers).toEqual(["NncChannelPad", "NncGroupedConv2D", "NncHardActivation"]);
    expect(custom.replaced).toEqual([{ layer: "gconv3", from: "NncGroupedConv2D", to: "Conv2D" }]);
    const oneGroup = exportTfjs(readModelFolder(join(dir, "runs", "one_group")));
    expect(oneGroup.customLayers).toEqual([]);
    const layers = (json: string): { class_name: string; config: Record<string, unknown> }[] => (JSON.parse(json) as { modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } } }).modelTopology.config.layers;
    expect(layers(oneGroup.modelJson).map((l) => l.class_name)).toEqual(["InputLayer", "Conv2D", "Flatten"]);
    // TF.js's SeparableConv2D writes no depth_multiplier: without it the model does not load. The
    // runtime now saves it (runtime/layers.ts); a run saved before that has none, and gets it back.
    const run = readModelFolder(join(dir, "runs", "separable"));
    const multipliers = (json: string): unknown[] => layers(json).filter((l) => l.class_name === "SeparableConv2D").map((l) => l.config["depth_multiplier"]);
    expect(multipliers(JSON.stringify(run.modelJson))).toEqual([2, 1, 3]);
    expect(multipliers(exportTfjs(run).modelJson)).toEqual([2, 1, 3]);
    const oldJson = structuredClone(run.modelJson);
    for (const l of layers(JSON.stringify(oldJson)).keys()) delete (oldJson.modelTopology as { config: { layers: { config: Record<string, unknown> }[] } }).config.layers[l]!.config["depth_multiplier"];
    expect(multipliers(JSON.stringify(oldJson))).toEqual([undefined, undefined, undefined]);
    expect(multipliers(exportTfjs({ ...run, modelJson: oldJson }).modelJson)).toEqual([2, undefined, 3]);
  });

  it("writes standard layers for nnc's dilated conv and elu(1), and says which need the import", async () => {
    const run = await writeRun(cases.find((c) => c.name === "convs")!.model, join(dir, "runs", "convs-again"));
    const result = exportTfjs(readModelFolder(run));
    expect(result.customLayers).toEqual(["NncElu", "NncGroupNorm", "NncMaxout"]);
    expect(result.replaced).toContainEqual({ layer: "conv2", from: "NncDilatedConv2D", to: "Conv2D" });
    const r = await exportCommand({ run, format: "tfjs", out: join(dir, "exports", "convs-again") });
    expect(r.stdout.join("\n")).toContain('import "nnc/layers";');
    const plain = await exportCommand({ run: join(dir, "runs", "plain"), format: "tfjs", out: join(dir, "exports", "plain") });
    expect(plain.exitCode).toBe(0);
    expect(plain.stdout.join("\n")).toContain("no nnc import needed");
  });
});

describe("nnc export --format tfjs (exportCommand)", () => {
  const runOf = (name: string): string => join(dir, "runs", name);

  it("replaces its own export and the files it listed, never a user's file beside them", async () => {
    const out = join(dir, "cli", "mine");
    const normalizer = { kind: "standard", stats: { mean: new Array(24).fill(0.5), std: new Array(24).fill(2) } };
    const run = await writeRun(cases.find((c) => c.name === "sequence")!.model, join(dir, "runs", "with-norm"), { normalizer });
    expect((await exportCommand({ run, format: "tfjs", out })).exitCode).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["model.json", "normalizer.json", "weights.bin"]);
    expect(JSON.parse(readFileSync(join(out, "normalizer.json"), "utf8"))).toEqual(normalizer);
    writeFileSync(join(out, "README.txt"), "the user's notes");
    // Again from a run without a normaliser: the old normalizer.json (listed as ours) goes, the notes stay.
    const r = await exportCommand({ run: runOf("sequence"), format: "tfjs", out });
    expect(r.exitCode).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["README.txt", "model.json", "weights.bin"]);
    expect(readFileSync(join(out, "README.txt"), "utf8")).toBe("the user's notes");
  });

  it("refuses a folder whose model.json or weights.bin is not its own, unless forced", async () => {
    const out = join(dir, "cli", "theirs");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "model.json"), '{"modelTopology": {}, "convertedBy": "someone else"}');
    const r = await exportCommand({ run: runOf("vector"), format: "tfjs", out });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toEqual([expect.stringMatching(/^nnc: not exporting: .*theirs\/model\.json exists and was not written by nnc export\. .*--force/)]);
    expect(readFileSync(join(out, "model.json"), "utf8")).toContain("someone else");
    expect(existsSync(join(out, "weights.bin"))).toBe(false);

    const weightsOnly = join(dir, "cli", "weights-only");
    mkdirSync(weightsOnly, { recursive: true });
    writeFileSync(join(weightsOnly, "weights.bin"), "not ours");
    const w = await exportCommand({ run: runOf("vector"), format: "tfjs", out: weightsOnly });
    expect(w.exitCode).toBe(1);
    expect(w.stderr[0]).toMatch(/weights-only\/weights\.bin exists and was not written by nnc export/);
    expect(readFileSync(join(weightsOnly, "weights.bin"), "utf8")).toBe("not ours");

    const forced = await exportCommand({ run: runOf("vector"), format: "tfjs", out, force: true });
    expect(forced.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(join(out, "model.json"), "utf8")).convertedBy).toMatch(/^nnc export/);
  });

  it("refuses the run's own folder, a file as the folder, and an opset", async () => {
    const own = await exportCommand({ run: runOf("vector"), format: "tfjs", out: runOf("vector") });
    expect(own.exitCode).toBe(1);
    expect(own.stderr[0]).toMatch(/is the run's own folder: the export would replace its model\.json/);
    const file = join(dir, "cli", "a-file");
    writeFileSync(file, "x");
    const f = await exportCommand({ run: runOf("vector"), format: "tfjs", out: file });
    expect(f.exitCode).toBe(1);
    expect(f.stderr[0]).toMatch(/a-file is a file; -o names the folder/);
    const o = await exportCommand({ run: runOf("vector"), format: "tfjs", out: join(dir, "cli", "o"), opset: 13 });
    expect(o.exitCode).toBe(2);
    expect(o.stderr[0]).toBe("nnc: --opset is for --format onnx; a TF.js model has no opset.");
  });
});
