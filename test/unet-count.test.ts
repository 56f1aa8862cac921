/**
 * specs/unet.nn has no published count to cite, so this test counts it independently: it
 * builds the same U-Net with TensorFlow.js's layers API (a functional model written by hand,
 * no nnc code involved) and compares TF.js's countParams() and output shape with what the
 * checker says of the spec, and both with the figure the spec's header records.
 */
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkText } from "../src/pipeline.js";

const SPEC = join(fileURLToPath(new URL("..", import.meta.url)), "specs", "unet.nn");
/** The count recorded in the spec's header. */
const RECORDED = 1_940_817;

/** The Keras-tutorial U-Net of specs/unet.nn: 128x128x1 in, 4 levels from 16 filters, a 128x128x1 sigmoid mask out. */
function buildUnet(): tf.LayersModel {
  const doubleConv = (x: tf.SymbolicTensor, filters: number): tf.SymbolicTensor => {
    const a = tf.layers.conv2d({ filters, kernelSize: 3, padding: "same", activation: "relu" }).apply(x) as tf.SymbolicTensor;
    return tf.layers.conv2d({ filters, kernelSize: 3, padding: "same", activation: "relu" }).apply(a) as tf.SymbolicTensor;
  };
  const input = tf.input({ shape: [128, 128, 1] });
  const kept: tf.SymbolicTensor[] = [];
  let x = input;
  for (const filters of [16, 32, 64, 128]) {
    x = doubleConv(x, filters);
    kept.push(x);
    x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  }
  x = doubleConv(x, 256);
  for (const filters of [128, 64, 32, 16]) {
    const up = tf.layers.conv2dTranspose({ filters, kernelSize: 2, strides: 2, padding: "same" }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.concatenate().apply([up, kept.pop()!]) as tf.SymbolicTensor;
    x = doubleConv(x, filters);
  }
  const output = tf.layers.conv2d({ filters: 1, kernelSize: 1, activation: "sigmoid" }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

describe("specs/unet.nn against the same U-Net built directly in TensorFlow.js", () => {
  let model: tf.LayersModel;
  beforeAll(async () => {
    await tf.setBackend("cpu");
    model = buildUnet();
  });
  afterAll(() => model.dispose());

  const checked = () => {
    const { diagnostics, program } = checkText(readFileSync(SPEC, "utf8"));
    expect(diagnostics.map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.code} ${d.message}`)).toEqual([]);
    const m = program.models.find((x) => x.name === "unet");
    if (!m) throw new Error("specs/unet.nn has no checked model `unet`");
    return m;
  };

  it("has as many parameters in the checker as TF.js counts, all trainable", () => {
    const m = checked();
    expect(model.countParams()).toBe(RECORDED);
    expect(m.params.total).toBe(model.countParams());
    expect(m.params.trainable).toBe(m.params.total);
    expect(m.params.nonTrainable).toBe(0);
  });

  it("gives the same input and output shapes", () => {
    const m = checked();
    expect(m.complete).toBe(true);
    expect([null, ...m.input]).toEqual(model.inputs[0]!.shape);
    expect([null, ...m.output]).toEqual(model.outputs[0]!.shape);
    expect(m.output).toEqual([128, 128, 1]);
  });

  it("records the count in the spec's header", () => {
    const header = readFileSync(SPEC, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("#"))
      .join("\n");
    expect(header).toContain(RECORDED.toLocaleString("en-US"));
  });
});
