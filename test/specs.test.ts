/**
 * The specs in specs/*.nn are the lectures' and the classic networks, written the way a user
 * would write them. Each must check cleanly (no errors, no warnings) and give the parameter
 * count published for the network, with the input and output shapes it is known for.
 *
 * Where the published figure comes from PyTorch (torchvision's ResNets, the usual
 * WideResNet), it counts batchnorm's gamma and beta but not its moving mean and variance:
 * those figures are our *trainable* count, and the total adds the moving statistics, which
 * Keras counts as non-trainable.
 *
 * The CLI test runs the built compiler (dist/), so run `npx tsc -p tsconfig.json` first.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkText } from "../src/pipeline.js";
import type { CheckedModel } from "../src/typecheck/index.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SPECS = join(ROOT, "specs");

interface Published {
  file: string;
  model: string;
  input: number[];
  output: number[];
  /** The published figure: the total (Keras) or the trainable count (PyTorch), per `counts`. */
  published: number;
  counts: "total" | "trainable";
  /** Batchnorm moving means and variances (2 per channel), where the network has batchnorm. */
  nonTrainable: number;
  /** Where the figure comes from, as the spec's header says. */
  source: string;
}

const NETWORKS: Published[] = [
  { file: "block.nn", model: "block", input: [10], output: [1], published: 41_601, counts: "total", nonTrainable: 0, source: "the lectures' BLOCK model" },
  { file: "mnist_cnn.nn", model: "mnist_cnn", input: [28, 28, 1], output: [10], published: 3_274_634, counts: "total", nonTrainable: 0, source: "TensorFlow's Deep MNIST for Experts" },
  { file: "lenet5.nn", model: "lenet5", input: [32, 32, 1], output: [10], published: 61_706, counts: "total", nonTrainable: 0, source: "the common Keras LeNet-5" },
  { file: "vgg16.nn", model: "vgg16", input: [224, 224, 3], output: [1000], published: 138_357_544, counts: "total", nonTrainable: 0, source: "keras.applications.VGG16" },
  { file: "resnet18.nn", model: "resnet18", input: [224, 224, 3], output: [1000], published: 11_689_512, counts: "trainable", nonTrainable: 9_600, source: "torchvision resnet18" },
  { file: "resnet50.nn", model: "resnet50", input: [224, 224, 3], output: [1000], published: 25_557_032, counts: "trainable", nonTrainable: 53_120, source: "torchvision resnet50" },
  { file: "resnext50.nn", model: "resnext50", input: [224, 224, 3], output: [1000], published: 25_028_904, counts: "trainable", nonTrainable: 68_224, source: "torchvision resnext50_32x4d" },
  { file: "densenet121.nn", model: "densenet121", input: [224, 224, 3], output: [1000], published: 7_978_856, counts: "trainable", nonTrainable: 83_648, source: "torchvision densenet121 (keras.applications.DenseNet121: 8,062,504 in all)" },
  { file: "mobilenet_v1.nn", model: "mobilenet_v1", input: [224, 224, 3], output: [1000], published: 4_253_864, counts: "total", nonTrainable: 21_888, source: "keras.applications.MobileNet" },
  { file: "unet.nn", model: "unet", input: [128, 128, 1], output: [128, 128, 1], published: 1_940_817, counts: "total", nonTrainable: 0, source: "TF.js countParams() of the same U-Net (test/unet-count.test.ts)" },
  { file: "wrn_28_10.nn", model: "wrn_28_10", input: [32, 32, 3], output: [10], published: 36_479_194, counts: "trainable", nonTrainable: 17_952, source: "xternalz/WideResNet-pytorch WRN-28-10" },
  { file: "wrn_16_4.nn", model: "wrn_16_4", input: [32, 32, 3], output: [10], published: 2_748_890, counts: "trainable", nonTrainable: 3_616, source: "xternalz/WideResNet-pytorch WRN-16-4 (paper: 2.7M)" },
];

function read(file: string): string {
  return readFileSync(join(SPECS, file), "utf8");
}

function modelOf(file: string, name: string): CheckedModel {
  const model = checkText(read(file)).program.models.find((m) => m.name === name);
  if (!model) throw new Error(`${file} has no checked model \`${name}\``);
  return model;
}

describe.each(NETWORKS)("$file ($source)", (n) => {
  it("checks with no errors and no warnings", () => {
    const { diagnostics } = checkText(read(n.file));
    expect(diagnostics.map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.code} ${d.message}`)).toEqual([]);
  });

  it(`gives the whole network, from ${n.input.join("x")} to ${n.output.join("x")}`, () => {
    const m = modelOf(n.file, n.model);
    expect(m.complete).toBe(true);
    expect(m.input).toEqual(n.input);
    expect(m.output).toEqual(n.output);
  });

  it(`has the published ${n.published.toLocaleString("en-US")} ${n.counts === "trainable" ? "trainable " : ""}parameters`, () => {
    const { params } = modelOf(n.file, n.model);
    expect(params[n.counts]).toBe(n.published);
    expect(params.nonTrainable).toBe(n.nonTrainable);
    expect(params.total).toBe(params.trainable + params.nonTrainable);
  });

  it("cites the published count in its header comment", () => {
    const header = read(n.file)
      .split("\n")
      .filter((l) => l.startsWith("#"))
      .join("\n");
    expect(header).toContain(n.published.toLocaleString("en-US"));
  });
});

describe("the recipes of the specs", () => {
  it("trains the BLOCK model on points in a 10-dimensional ball with binary cross-entropy", () => {
    const [recipe] = checkText(read("block.nn")).program.recipes;
    expect(recipe?.model).toBe("block");
    expect(recipe?.data).toMatchObject({ source: "ball", dims: 10, n: 3000, test: 1000 });
    expect(recipe?.loss).toBe("binary_crossentropy");
  });

  it("trains the MNIST CNN on mnist with cross-entropy and Adam", () => {
    const [recipe] = checkText(read("mnist_cnn.nn")).program.recipes;
    expect(recipe?.data).toMatchObject({ source: "mnist", train: 8000, test: 2000 });
    expect(recipe?.loss).toBe("crossentropy");
    expect(recipe?.optimizer).toEqual({ name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } });
  });

  it("searches the dropout of WRN-28-10, a model parameter, on a grid", () => {
    const [search] = checkText(read("wrn_28_10.nn")).program.searches;
    expect(search?.strategy).toBe("grid");
    expect(search?.variables).toEqual([{ name: "drop", target: "model", distribution: { kind: "choice", values: [0, 0.3] } }]);
  });
});

describe("the depth and width parameters of the WideResNet", () => {
  it("build WRN-16-4 from the WRN-28-10 spec when a recipe passes depth 16 and k 4", () => {
    const text = read("wrn_28_10.nn").replace(/train wrn_28_10 \{/, "train wrn_28_10(depth: 16, k: 4) {");
    const result = checkText(text);
    expect(result.diagnostics).toEqual([]);
    const m = result.program.models.find((x) => x.name === "wrn_28_10");
    expect(m?.args).toMatchObject({ depth: 16, k: 4 });
    expect(m?.params.trainable).toBe(2_748_890);
  });
});

describe("nnc check --json", () => {
  it("reports the MNIST CNN with the same counts and shapes as checkText", () => {
    const stdout = execFileSync(process.execPath, [join(ROOT, "dist/src/cli/main.js"), "check", "--json", "specs/mnist_cnn.nn"], { cwd: ROOT, encoding: "utf8" });
    const json = JSON.parse(stdout) as { files: { path: string; diagnostics: unknown[]; models: { name: string; params: Record<string, number>; input: number[]; output: number[]; complete: boolean }[] }[] };
    expect(json.files).toHaveLength(1);
    const [file] = json.files;
    expect(file?.diagnostics).toEqual([]);
    const m = file?.models.find((x) => x.name === "mnist_cnn");
    expect(m?.params).toEqual({ total: 3_274_634, trainable: 3_274_634, nonTrainable: 0 });
    expect(m?.input).toEqual([28, 28, 1]);
    expect(m?.output).toEqual([10]);
    expect(m?.complete).toBe(true);
  });
});
