/**
 * Models for the export tests: the spec test/fixtures/export-every-layer.nn compiled by the
 * real pipeline and emitter, built by the runtime (in this process), given random weights
 * (batchnorm's moving statistics, PReLU slopes, norm gammas included) and saved as run folders.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { generate } from "../src/codegen/index.js";
import { SeededRandom } from "../src/common/random.js";
import { checkText } from "../src/pipeline.js";
import { saveModel } from "../src/runtime/io.js";
import { markRunFolder } from "../src/runtime/run-folder.js";

export const EVERY_LAYER_SPEC = join(import.meta.dirname, "fixtures", "export-every-layer.nn");

/** Compiles a spec and builds each of its models with the runtime (seed 1). */
export async function buildSpec(text: string, dir: string, name = "spec"): Promise<Map<string, tf.LayersModel>> {
  const r = checkText(text);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("\n"));
  const runtime = pathToFileURL(join(import.meta.dirname, "..", "src", "runtime", "index.ts")).href;
  const files = await generate(r.program, { specPath: `${name}.nn`, sourceLines: text.split("\n"), version: "test", runtimeImport: runtime, format: false });
  const folder = join(dir, `${name}-modules`);
  mkdirSync(folder, { recursive: true });
  const models = new Map<string, tf.LayersModel>();
  for (const f of files) {
    const path = join(folder, f.name);
    writeFileSync(path, f.content);
    const mod = (await import(pathToFileURL(path).href)) as Record<string, (seed: number) => tf.LayersModel>;
    models.set(f.model, mod[f.builder]!(1));
  }
  return models;
}

export function buildEveryLayer(dir: string): Promise<Map<string, tf.LayersModel>> {
  return buildSpec(readFileSync(EVERY_LAYER_SPEC, "utf8"), dir, "every");
}

/** Gives every weight seeded random values: variances in [0.5, 2], gammas around 1, the rest in ±0.5. */
export function randomiseWeights(model: tf.LayersModel, seed: number): void {
  const rnd = new SeededRandom(seed).next;
  const values = model.weights.map((w) => {
    const n = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    const data = new Float32Array(n);
    const name = w.originalName;
    for (let i = 0; i < n; i++) {
      const u = rnd();
      data[i] = name.endsWith("moving_variance") ? 0.5 + 1.5 * u : name.endsWith("gamma") ? 0.5 + u : name.endsWith("moving_mean") ? 2 * u - 1 : u - 0.5;
    }
    return tf.tensor(data, w.shape as number[]);
  });
  model.setWeights(values);
  for (const v of values) v.dispose();
}

/** Saves `model` as a run folder in `dir`, with a normalizer.json and data.json when given. */
export async function writeRun(model: tf.LayersModel, dir: string, extra: { normalizer?: unknown; data?: unknown } = {}): Promise<string> {
  await saveModel(model, dir);
  await markRunFolder(dir, model.name);
  if (extra.normalizer !== undefined) writeFileSync(join(dir, "normalizer.json"), JSON.stringify(extra.normalizer));
  if (extra.data !== undefined) writeFileSync(join(dir, "data.json"), JSON.stringify(extra.data));
  return dir;
}

/** `n` seeded random inputs of the model's input shape, spread over ±`scale`. */
export function randomInputs(model: tf.LayersModel, n: number, seed: number, scale = 2): { data: Float32Array; shape: number[] } {
  const shape = [n, ...(model.inputs[0]!.shape.slice(1) as number[])];
  const rnd = new SeededRandom(seed).next;
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rnd() * 2 - 1) * scale);
  return { data, shape };
}

/** The largest difference between `a` and `b`, relative to |b| where |b| > 1. */
export function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!));
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}
