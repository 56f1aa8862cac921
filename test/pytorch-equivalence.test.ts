/**
 * The two targets compute the same network: every model of the grammar examples, of the
 * reference specs and of a spec written here to reach each layer kind's corners (TF's uneven
 * `same` padding, `full`, transposed convs with k < s, sequences, broadcasting gates, PReLU
 * helpers, frozen layers) is built by the TF.js code (its initial weights saved in the TF.js
 * layers format, as `nnc build --target pytorch` saves them) and by the Python code, which
 * loads those weights through its `WEIGHTS` table. Then, on the same random batch:
 *
 * - inference outputs agree to 1e-4 of the output's scale;
 * - training-mode outputs agree too (batch statistics) for models without dropout;
 * - the Python side writes the weights back in TF.js's layout byte for byte (every layout's
 *   inverse), and its `WEIGHTS` names exactly model.json's weights.
 *
 * TF.js runs on its wasm backend. Runs `/usr/bin/python3` (or NNC_PYTHON) with torch; skipped with the reason when torch is
 * missing, unless NNC_REQUIRE_TORCH=1 (CI).
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate } from "../src/codegen/index.js";
import { checkText } from "../src/pipeline.js";
import { torchPython } from "./torch-python.js";

const ROOT = join(import.meta.dirname, "..");
const RUNTIME = pathToFileURL(join(ROOT, "dist", "src", "runtime", "index.js")).href;

/** Corners the examples and reference specs do not reach. */
const CORNERS = `
model corner_windows {
  input 7x9x3
  conv 3x3x4 stride 2 same relu              # TF pads one more at the bottom and right
  pool 2 same                                 # 4x5 → 2x3, padding only at the end
  conv 2x2x6 same leaky_relu(0.2)             # an even kernel: 0 before, 1 after
  pool avg 3 stride 2 same                    # a cut window averages what it covers
  pool avg 2 stride 1 full
  pool 3 stride 2 full
  conv 3x3x8 dilation 2 same elu(0.5)
  conv 2x2x8 groups 4 stride 1 valid no_bias prelu
  flatten -> dense 12 maxout(3) -> dense 5 softmax
}

model upward {
  input 5x6x4
  upconv 1x1x3 stride 2 valid                 # k < s: output_padding
  upconv 3x3x4 stride 2 same                  # 10x12 → 20x24, nothing cut before
  upconv 4x4x2 stride 2 same tanh             # one row and column cut before
  upconv 5x3 filters 3 stride 3x2 same
  upconv 2x2x2 stride 3 same
  upsample 3x2 bilinear
  crop 1x2x0x3 -> pad 2x0x1x1 -> pad channels 2
  conv 1x1x3 softmax
}

model sequence {
  input 20x3
  conv 5x8 stride 2 same relu
  pool 3 stride 2 same
  conv 3x6 valid
  pool avg 2 same
  keep s
  conv 3x6 same gelu
  concat s
  global maxpool -> dense 2 sigmoid
}

model gates {
  input 6x6x8
  conv 3x3x8 same frozen prelu
  multiply { global avgpool -> dense 2 relu -> dense 8 hard_sigmoid -> reshape 1x1x8 }
  layernorm selu
  groupnorm 4 softplus
  batchnorm momentum 0.9 epsilon 0.001 hard_swish
  add { conv 1x1x8 } { depthwise 3 same multiplier 1 }
  residual project { conv 3x3x16 stride 2 same relu -> conv 3x3x16 same }
  reshape 9x16 -> reshape 3x48 -> reshape 3x3x16
  layernorm -> groupnorm 8
  flatten -> batchnorm -> dense 6 prelu -> prelu -> dense 3 swish
}

model frozen_head {
  input 12
  dense 8 frozen relu
  dense 8 l1 0.01 l2 0.001 relu6
  dense 4 no_bias linear
  dense 2 sigmoid
}
`;

/** Reference specs (all but the largest: VGG-16, ResNet-50, WRN-28-10 add nothing the others do not reach). */
const SPECS = ["block.nn", "lenet5.nn", "mnist_cnn.nn", "unet.nn", "wrn_16_4.nn", "resnet18.nn", "mobilenet_v1.nn", "densenet121.nn", "resnext50.nn"];

const python = torchPython();
const describeTorch = python.ok ? describe : describe.skip;
if (!python.ok) console.warn(`pytorch-equivalence: skipped: ${python.reason}`);

interface Case {
  source: string;
  model: string;
  /** The Python module and the folder of TF.js's files: `c3_lenet5` (models of several specs may share a name). */
  key: string;
  dropout: boolean;
}

let work: string;
const cases: Case[] = [];

describeTorch("PyTorch code computes what the TF.js code computes", () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "nnc-equivalence-"));
    cpSync(join(ROOT, "python", "nnc_torch"), join(work, "nnc_torch"), { recursive: true, filter: (p) => !p.includes("__pycache__") });
    const rt = (await import(RUNTIME)) as typeof import("../src/runtime/index.js");
    // wasm: the large reference specs run in seconds there, minutes on the pure-JS cpu backend.
    await rt.selectBackend("wasm", () => {});
    const tf = rt.tf;
    const { transform } = await import("esbuild");
    const sources: [string, string][] = [
      ...readdirSync(join(ROOT, "grammar", "examples")).filter((f) => f.endsWith(".nn")).map((f): [string, string] => [`examples/${f}`, readFileSync(join(ROOT, "grammar", "examples", f), "utf8")]),
      ...SPECS.map((f): [string, string] => [`specs/${f}`, readFileSync(join(ROOT, "specs", f), "utf8")]),
      ["corners.nn", CORNERS],
    ];
    for (const [name, text] of sources) {
      const checked = checkText(text);
      expect(checked.diagnostics.filter((d) => d.severity === "error"), name).toEqual([]);
      const lines = text.split("\n");
      const common = { specPath: name.replace(/.*\//, ""), sourceLines: lines, version: "test", format: false };
      const ts = await generate(checked.program, { ...common, runtimeImport: RUNTIME });
      const py = await generate(checked.program, { ...common, target: "pytorch" });
      for (let i = 0; i < ts.length; i++) {
        const model = ts[i]!.model;
        const key = `c${cases.length}_${model}`;
        const dir = join(work, `${key}.case`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(work, `${key}.py`), py[i]!.content);
        const js = (await transform(ts[i]!.content, { loader: "ts", format: "esm", target: "node20" })).code;
        writeFileSync(join(dir, "module.mjs"), js);
        const mod = (await import(pathToFileURL(join(dir, "module.mjs")).href)) as Record<string, (seed: number) => import("@tensorflow/tfjs").LayersModel>;
        const built = mod[ts[i]!.builder]!(7);
        await rt.saveModel(built, dir);
        const shape = [2, ...(built.inputs[0]!.shape.slice(1) as number[])];
        const x = tf.randomNormal(shape, 0, 1, "float32", 11);
        const infer = built.predict(x) as import("@tensorflow/tfjs").Tensor;
        const dropout = built.layers.some((l) => l.getClassName() === "Dropout");
        const train = dropout ? undefined : (built.apply(x, { training: true }) as import("@tensorflow/tfjs").Tensor);
        writeFileSync(join(dir, "x.bin"), Buffer.from((await x.data()).buffer));
        writeFileSync(join(dir, "infer.bin"), Buffer.from((await infer.data()).buffer));
        if (train) writeFileSync(join(dir, "train.bin"), Buffer.from((await train.data()).buffer));
        writeFileSync(join(dir, "shapes.json"), JSON.stringify({ x: shape, y: infer.shape }));
        tf.dispose([x, infer, ...(train ? [train] : [])]);
        built.dispose();
        cases.push({ source: name, model, key, dropout });
      }
    }
  }, 600_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("every model: same outputs, same weight names, weights written back byte for byte", () => {
    writeFileSync(join(work, "cases.json"), JSON.stringify(cases));
    const r = spawnSync(python.python, [join(ROOT, "test", "fixtures", "pytorch", "equivalence.py"), work], { encoding: "utf8", env: { ...process.env, PYTHONPATH: work, PYTHONDONTWRITEBYTECODE: "1" }, timeout: 600_000 });
    expect(r.stderr, r.stdout).not.toMatch(/Traceback/);
    const results = JSON.parse(r.stdout) as { source: string; model: string; names: string; infer: number; train: number | null; roundTrip: string }[];
    expect(results.length).toBe(cases.length);
    const failures = results.filter((c) => c.names !== "ok" || c.roundTrip !== "ok" || !(c.infer <= 1e-4) || (c.train !== null && !(c.train <= 1e-4)));
    expect(failures, JSON.stringify(failures, null, 1)).toEqual([]);
    // Every kind of layer went through: the corners, the examples' merges, the reference specs.
    expect(cases.length).toBeGreaterThan(25);
  }, 600_000);
});
