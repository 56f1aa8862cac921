/**
 * `frozen` freezes a layer with its trailing activation: the generated model trains exactly the
 * weights the checker counts as trainable, PReLU's slopes included (they were left trainable).
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { generate } from "../src/codegen/index.js";
import { checkText } from "../src/pipeline.js";

const root = join(import.meta.dirname, "..");
const runtime = pathToFileURL(join(root, "dist", "src", "runtime", "index.js")).href;
const dir = mkdtempSync(join(tmpdir(), "nnc-frozen-"));
let counter = 0;

async function counts(layers: string, input: string): Promise<{ checker: { trainable: number; total: number }; built: { trainable: number; total: number } }> {
  const text = `model m {\n input ${input}\n${layers}\n}\n`;
  const r = checkText(text);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("\n"));
  const files = await generate(r.program, { specPath: "frozen.nn", sourceLines: text.split("\n"), version: "test", runtimeImport: runtime, format: false });
  const { transform } = await import("esbuild");
  const js = (await transform(files[0]!.content, { loader: "ts", format: "esm" })).code;
  const path = join(dir, `m${counter++}.mjs`);
  writeFileSync(path, js);
  const mod = (await import(pathToFileURL(path).href)) as { buildM(seed?: number): tf.LayersModel };
  const model = mod.buildM(1);
  const size = (ws: tf.LayerVariable[]): number => ws.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
  const built = { trainable: size(model.trainableWeights), total: model.countParams() };
  model.dispose();
  const params = r.program.models[0]!.params;
  return { checker: { trainable: params.trainable, total: params.total }, built };
}

describe("frozen before a trailing activation", () => {
  const cases: [string, string][] = [
    ["conv 3x3x2 same frozen prelu\n flatten\n dense 2 softmax", "8x8x1"],
    ["dense 4 frozen prelu\n dense 2 softmax", "6"],
    ["conv 3x3x2 same\n batchnorm frozen prelu\n flatten\n dense 2 softmax", "8x8x1"],
    ["dense 4\n layernorm frozen prelu\n dense 2 softmax", "6"],
    ["conv 3x3x4 same\n groupnorm 2 frozen prelu\n flatten\n dense 2 softmax", "8x8x1"],
    ["conv 3x3x2 same frozen leaky_relu(0.1)\n flatten\n dense 2 softmax", "8x8x1"],
  ];
  for (const [layers, input] of cases) {
    it(`trains what the checker counts: ${layers.split("\n")[0]!.trim()}${layers.includes("norm") ? ` (${layers.split("\n")[1]!.trim()})` : ""}`, async () => {
      const { checker, built } = await counts(layers, input);
      expect(built).toEqual(checker);
    }, 30_000);
  }
});
