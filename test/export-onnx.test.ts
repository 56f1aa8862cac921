/**
 * `nnc export --format onnx`: every layer kind of the language, built by the real emitter and
 * runtime with random weights, exported and run in onnxruntime-node; its outputs equal
 * TensorFlow.js's `predict` to 1e-4 (relative where values exceed 1), at opsets 13 (the
 * default), 17 (LayerNormalization), 18 (Reduce axes as inputs) and 21. Then the normaliser folded
 * into the graph, the metadata, and `exportCommand`'s refusals and exit codes.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportCommand } from "../src/cli/export-command.js";
import { exportOnnx, ExportError, isNncOnnx, readModelFolder, type OnnxOptions } from "../src/export/index.js";
import { buildEveryLayer, buildModernModels, buildSpec, customModernModel, geluNewModel, oneGroupModel, maxDifference, randomInputs, randomiseWeights, SEQUENCE_SPEC, writeRun } from "./export-models.js";

const dir = mkdtempSync(join(tmpdir(), "nnc-export-onnx-"));
let models: Map<string, tf.LayersModel>;

beforeAll(async () => {
  await tf.setBackend("cpu");
  models = await buildEveryLayer(dir);
}, 60_000);

/** Exports the run in `run` and runs the ONNX model on `x`; returns its first output's values. */
async function runOnnx(run: string, x: { data: Float32Array; shape: number[] }, options: OnnxOptions = {}): Promise<{ values: Float32Array; dims: readonly number[]; model: onnxProto.onnx.ModelProto }> {
  const result = exportOnnx(readModelFolder(run), options);
  const path = join(run, `model-${options.opset ?? 13}.onnx`);
  writeFileSync(path, result.bytes);
  const session = await ort.InferenceSession.create(path);
  const out = await session.run({ [result.inputs[0]!.name]: new ort.Tensor("float32", x.data, x.shape) });
  const first = out[result.outputs[0]!.name]!;
  return { values: first.data as Float32Array, dims: first.dims, model: onnxProto.onnx.ModelProto.decode(result.bytes) };
}

function predict(model: tf.LayersModel, x: { data: Float32Array; shape: number[] }): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor(x.data, x.shape)) as tf.Tensor).dataSync() as Float32Array);
}

describe("ONNX export of every layer kind", () => {
  for (const name of ["convs", "pools", "vector", "sequence"]) {
    for (const opset of name === "convs" ? [13, 17, 18, 21] : [13, 18]) {
      it(`gives TF.js's outputs for the model \`${name}\` at opset ${opset}`, async () => {
        const model = models.get(name)!;
        randomiseWeights(model, 7);
        const run = await writeRun(model, join(dir, `${name}-${opset}`));
        const x = randomInputs(model, 5, 11);
        const expected = predict(model, x);
        const { values, dims } = await runOnnx(run, x, { opset });
        expect(dims).toEqual(model.outputs[0]!.shape.map((d) => d ?? 5));
        const diff = maxDifference(values, expected);
        expect(diff, `largest difference ${diff}`).toBeLessThan(1e-4);
        // Not a constant model: the outputs vary across the batch.
        const per = expected.length / 5;
        expect(Array.from(expected.slice(0, per))).not.toEqual(Array.from(expected.slice(per, 2 * per)));
      });
    }
  }
});

describe("ONNX export of the modern layer kinds (issue 14)", () => {
  let modern: Map<string, tf.LayersModel>;
  /** The largest difference per model and opset, printed at the end. */
  const measured: string[] = [];
  beforeAll(async () => {
    modern = buildModernModels();
    for (const [name, model] of await buildSpec(SEQUENCE_SPEC, dir, "sequences")) modern.set(name, model);
    modern.set("custom", customModernModel());
    modern.set("one_group", oneGroupModel());
    modern.set("gelu_new", geluNewModel());
  });
  afterAll(() => {
    if (measured.length) console.log(`largest differences (ONNX Runtime vs TF.js):\n${measured.join("\n")}`);
  });
  const opsets: Record<string, number[]> = { activations: [13, 14, 17, 18, 20, 21], gelu_new: [13, 20], custom: [13, 14, 20, 21] };
  for (const name of ["depthwise", "separable", "transpose", "upsample", "crop", "concat", "multiply", "activations", "gelu_new", "custom", "one_group", "sequence1d", "seq1d", "seq1d_more"]) {
    for (const opset of opsets[name] ?? [13, 21]) {
      it(`gives TF.js's outputs for \`${name}\` at opset ${opset}`, async () => {
        const model = modern.get(name)!;
        randomiseWeights(model, 5);
        const run = await writeRun(model, join(dir, `modern-${name}-${opset}`));
        const x = randomInputs(model, 4, 13);
        const expected = predict(model, x);
        const { values, dims } = await runOnnx(run, x, { opset });
        expect(dims).toEqual(model.outputs[0]!.shape.map((d) => d ?? 4));
        const diff = maxDifference(values, expected);
        measured.push(`  ${name} opset ${opset}: ${diff.toExponential(2)}`);
        // 1e-5, not 1e-4: GELU's tanh form instead of the erf form is off by about 4e-5 here.
        expect(diff, `largest difference ${diff}`).toBeLessThan(1e-5);
        const per = expected.length / 4;
        expect(Array.from(expected.slice(0, per))).not.toEqual(Array.from(expected.slice(per, 2 * per)));
      });
    }
  }
});

describe("a SeparableConv2D saved without depth_multiplier (the runtime before it wrote it)", () => {
  it("exports with the multiplier read from its depthwise kernel, the same graph", async () => {
    const model = buildModernModels().get("separable")!;
    randomiseWeights(model, 9);
    const run = await writeRun(model, join(dir, "separable-old"));
    const folder = readModelFolder(run);
    const old = structuredClone(folder.modelJson) as unknown as { modelTopology: { config: { layers: { config: Record<string, unknown> }[] } } };
    for (const l of old.modelTopology.config.layers) delete l.config["depth_multiplier"];
    const withIt = exportOnnx(folder).bytes;
    const without = exportOnnx({ ...folder, modelJson: old as unknown as typeof folder.modelJson }).bytes;
    expect(Buffer.from(without).equals(Buffer.from(withIt))).toBe(true);
  });
});

describe("the run's normaliser", () => {
  const stats = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));
  const normalisers = {
    standard: { kind: "standard", stats: { mean: stats(6, (i) => i - 2.5), std: stats(6, (i) => 0.5 + i) } },
    minmax: { kind: "minmax", stats: { min: stats(6, (i) => -i), max: stats(6, (i) => (i === 3 ? -3 : 2 * i + 1)) } },
    scale: { kind: "scale", stats: { factor: [1 / 255] } },
  };
  /** What `runtime/data/normalize.ts` does, in float64. */
  const apply = (kind: string, x: Float32Array): Float32Array =>
    x.map((v, i) => {
      const f = i % 6;
      if (kind === "standard") return (v - normalisers.standard.stats.mean[f]!) / normalisers.standard.stats.std[f]!;
      if (kind === "minmax") {
        const { min, max } = normalisers.minmax.stats;
        const range = max[f]! - min[f]! < 1e-7 ? 1 : max[f]! - min[f]!;
        return (v - min[f]!) / range;
      }
      return v / 255;
    });

  for (const kind of ["standard", "minmax", "scale"] as const) {
    it(`is folded in by default (${kind}): raw inputs give the outputs of normalised ones`, async () => {
      const model = models.get("vector")!;
      randomiseWeights(model, 21);
      const run = await writeRun(model, join(dir, `norm-${kind}`), { normalizer: normalisers[kind] });
      const x = randomInputs(model, 4, 3, kind === "scale" ? 255 : 4);
      const { values, model: proto } = await runOnnx(run, x);
      const expected = predict(model, { data: apply(kind, x.data), shape: x.shape });
      expect(maxDifference(values, expected)).toBeLessThan(1e-4);
      // Without the normaliser the outputs differ: the fold is not a no-op.
      expect(maxDifference(values, predict(model, x))).toBeGreaterThan(1e-3);
      expect(proto.docString).toContain(`${kind} normaliser is folded in`);
      expect(proto.metadataProps.find((m) => m.key === "nnc.normalizer")?.value).toBe(`folded:${kind}`);
    });
  }

  it("is left out with normalize: false, its statistics in the metadata", async () => {
    const model = models.get("vector")!;
    const run = await writeRun(model, join(dir, "norm-off"), { normalizer: normalisers.standard });
    const x = randomInputs(model, 4, 3);
    const { values, model: proto } = await runOnnx(run, x, { normalize: false });
    expect(maxDifference(values, predict(model, x))).toBeLessThan(1e-4);
    expect(JSON.parse(proto.metadataProps.find((m) => m.key === "nnc.normalizer")!.value)).toEqual(normalisers.standard);
    expect(proto.docString).toContain("NOT in the graph");
  });

  it("that does not fit the model's input is an error naming normalizer.json", async () => {
    const model = models.get("vector")!;
    const run = await writeRun(model, join(dir, "norm-wrong"), { normalizer: { kind: "standard", stats: { mean: [0, 0], std: [1, 1] } } });
    expect(() => exportOnnx(readModelFolder(run))).toThrow(/normalizer\.json: the standard normaliser has 2 values of `mean`, but the model's input `input1` has 6 features/);
  });
});

describe("the ONNX model's description", () => {
  it("names nnc as producer, keeps NHWC with a symbolic batch, and carries data.json's class names", async () => {
    const model = models.get("vector")!;
    const data = { task: "classification", classes: 3, classNames: ["cat", "dog", "fish"], inputShape: [6], source: "csv(test.csv)" };
    const run = await writeRun(model, join(dir, "described"), { data });
    const result = exportOnnx(readModelFolder(run), { version: "9.9.9" });
    const proto = onnxProto.onnx.ModelProto.decode(result.bytes);
    expect(proto.producerName).toBe("nnc");
    expect(proto.producerVersion).toBe("9.9.9");
    expect(proto.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([["", 13]]);
    const input = proto.graph!.input[0]!.type!.tensorType!.shape!.dim!;
    expect(input.map((d) => d.dimParam || Number(d.dimValue))).toEqual(["batch", 6]);
    expect(JSON.parse(proto.metadataProps.find((m) => m.key === "nnc.classes")!.value)).toEqual(["cat", "dog", "fish"]);
    expect(proto.docString).toContain("Classes: cat, dog, fish.");
    const convs = exportOnnx(readModelFolder(await writeRun(models.get("convs")!, join(dir, "described-convs"))));
    expect(convs.inputs).toEqual([{ name: "input1", shape: ["batch", 16, 16, 3] }]);
    expect(convs.outputs).toEqual([{ name: "dense3", shape: ["batch", 10] }]);
  });

  it("refuses a layer class it does not know, naming the layer", async () => {
    const run = await writeRun(models.get("vector")!, join(dir, "unknown"));
    const path = join(run, "model.json");
    const json = JSON.parse(readFileSync(path, "utf8")) as { modelTopology: { config: { layers: { class_name: string; name: string }[] } } };
    json.modelTopology.config.layers.find((l) => l.name === "maxout1")!.class_name = "Conv3DTranspose";
    writeFileSync(path, JSON.stringify(json));
    expect(() => exportOnnx(readModelFolder(run))).toThrow(ExportError);
    expect(() => exportOnnx(readModelFolder(run))).toThrow(/does not know the layer class Conv3DTranspose \(layer `maxout1`\)/);
  });

  it("refuses an opset outside 13 … 21", async () => {
    const run = await writeRun(models.get("vector")!, join(dir, "opset"));
    expect(() => exportOnnx(readModelFolder(run), { opset: 12 })).toThrow(/from 13 to 21, not 12/);
    const r = await exportCommand({ run, format: "onnx", out: join(dir, "opset.onnx"), opset: 11 });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.join("\n")).toMatch(/^nnc: --opset must be a whole number from 13 to 21, not 11/);
  });
});

describe("nnc export --format onnx (exportCommand)", () => {
  let run: string;
  beforeAll(async () => {
    run = await writeRun(models.get("vector")!, join(dir, "cli-run"));
  });

  it("writes the file, says what it wrote, and leaves no temporary file", async () => {
    const out = join(dir, "cli", "sub", "model.onnx");
    const r = await exportCommand({ run, format: "onnx", out });
    expect(r.stderr).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout[0]).toMatch(/^Wrote .*model\.onnx \(ONNX opset 13, \d+ nodes, [\d.]+ KB\) from /);
    expect(r.stdout.join("\n")).toContain("input `input1` [batch, 6]");
    expect(readdirSync(join(dir, "cli", "sub"))).toEqual(["model.onnx"]);
    const session = await ort.InferenceSession.create(out);
    expect(session.inputNames).toEqual(["input1"]);
  });

  it("replaces an ONNX file it wrote, but not a file of the user's without force", async () => {
    const out = join(dir, "cli", "again.onnx");
    expect((await exportCommand({ run, format: "onnx", out })).exitCode).toBe(0);
    expect((await exportCommand({ run, format: "onnx", out, opset: 18 })).exitCode).toBe(0);
    const mine = join(dir, "cli", "mine.onnx");
    writeFileSync(mine, "my notes, not a model");
    const r = await exportCommand({ run, format: "onnx", out: mine });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toEqual([]);
    expect(r.stderr).toEqual([expect.stringMatching(/^nnc: not exporting: .*mine\.onnx exists and is not an ONNX file nnc wrote\. .*--force/)]);
    expect(readFileSync(mine, "utf8")).toBe("my notes, not a model");
    const forced = await exportCommand({ run, format: "onnx", out: mine, force: true });
    expect(forced.exitCode).toBe(0);
    expect(onnxProto.onnx.ModelProto.decode(readFileSync(mine)).producerName).toBe("nnc");
  });

  it("accepts a run's best/ folder and a model.json, and refuses a folder as the output", async () => {
    const best = await writeRun(models.get("vector")!, join(run, "best"));
    expect((await exportCommand({ run: best, format: "onnx", out: join(dir, "cli", "best.onnx") })).exitCode).toBe(0);
    expect((await exportCommand({ run: join(run, "model.json"), format: "onnx", out: join(dir, "cli", "json.onnx") })).exitCode).toBe(0);
    mkdirSync(join(dir, "cli", "folder.onnx"), { recursive: true });
    const r = await exportCommand({ run, format: "onnx", out: join(dir, "cli", "folder.onnx") });
    expect(r.exitCode).toBe(1);
    expect(r.stderr[0]).toMatch(/^nnc: .*folder\.onnx is a folder; -o names the \.onnx file to write/);
  });

  it("names what is wrong with the run: missing, no model.json, broken model.json, cut weights", async () => {
    const missing = await exportCommand({ run: join(dir, "nowhere"), format: "onnx", out: join(dir, "x.onnx") });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toEqual([expect.stringMatching(/^nnc: There is no run folder .*nowhere\. Give the folder `nnc train` wrote/)]);

    const empty = join(dir, "empty-run");
    mkdirSync(join(empty, "best"), { recursive: true });
    writeFileSync(join(empty, "best", "model.json"), "{}");
    const none = await exportCommand({ run: empty, format: "onnx", out: join(dir, "x.onnx") });
    expect(none.stderr[0]).toMatch(/^nnc: .*empty-run holds no model\.json: it is not a trained model's folder\. Its best\/ has one: export that\?/);

    const broken = await writeRun(models.get("vector")!, join(dir, "broken-run"));
    writeFileSync(join(broken, "model.json"), '{"modelTopology": 3}');
    const bad = await exportCommand({ run: broken, format: "onnx", out: join(dir, "x.onnx") });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr[0]).toMatch(/^nnc: .*broken-run\/model\.json: `modelTopology` must be an object/);

    const cut = await writeRun(models.get("vector")!, join(dir, "cut-run"));
    const weights = readFileSync(join(cut, "weights.bin"));
    writeFileSync(join(cut, "weights.bin"), weights.subarray(0, weights.length - 8));
    const short = await exportCommand({ run: cut, format: "onnx", out: join(dir, "x.onnx") });
    expect(short.stderr[0]).toMatch(/^nnc: .*cut-run\/model\.json: its `weightsManifest` describes \d+ bytes of weights, but its weight files hold \d+\. Was a file cut short/);
    expect(existsSync(join(dir, "x.onnx"))).toBe(false);
  });

  it("turns a file that cannot be written into a message, writing nothing", async () => {
    const blocker = join(dir, "cli", "blocker");
    writeFileSync(blocker, "a file where a folder should be");
    const r = await exportCommand({ run, format: "onnx", out: join(blocker, "model.onnx") });
    expect(r.exitCode).toBe(1);
    expect(r.stderr[0]).toMatch(/^nnc: cannot make the folder .*blocker/);
    rmSync(blocker);
  });
});

describe("isNncOnnx", () => {
  it("reads producer_name without decoding the graph, and calls other bytes not ours", async () => {
    const run = await writeRun(models.get("vector")!, join(dir, "producer"));
    const bytes = exportOnnx(readModelFolder(run)).bytes;
    expect(isNncOnnx(bytes)).toBe(true);
    const other = onnxProto.onnx.ModelProto.encode({ ...onnxProto.onnx.ModelProto.decode(bytes), producerName: "pytorch" }).finish();
    expect(isNncOnnx(other)).toBe(false);
    expect(isNncOnnx(new TextEncoder().encode("just some text\n"))).toBe(false);
    expect(isNncOnnx(bytes.subarray(0, 3))).toBe(false);
    expect(isNncOnnx(new Uint8Array(0))).toBe(false);
  });
});
