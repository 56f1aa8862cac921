/**
 * The PyTorch engine's training loop (python/nnc_torch/train.py, issue 15) on a hand-written
 * module that follows the generated-module contract (python/tests/fixture/tiny.py: 4 → 8 relu →
 * 3 softmax on a 61-row CSV): the run folder it writes (validated with the repo's JSON schemas),
 * `--resume` after epoch 1 equal bit for bit to the uninterrupted run, two data-parallel
 * processes (gloo on the CPU, started with torchrun's environment) ending with identical weights
 * and the one-process loss curve, and a user's mistake as one line on stderr with exit status 1.
 * Skipped, with the reason shown, where /usr/bin/python3 has no torch (unless NNC_REQUIRE_TORCH=1).
 */
import * as tf from "@tensorflow/tfjs";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freeLocalPort } from "../src/cli/pytorch.js";
import { schemaProblem } from "../src/runtime/json-files.js";
import { nnc } from "./cli-run.js";

const python = "/usr/bin/python3";
const probe = spawnSync(python, ["-c", "import torch, numpy; print(torch.__version__)"], { encoding: "utf8" });
const torchVersion = probe.status === 0 ? probe.stdout.trim() : undefined;
const why = torchVersion ? "" : ` (skipped: ${python} cannot import torch: ${(probe.stderr || probe.error?.message || "").trim().split("\n").pop()})`;

it.runIf(process.env["NNC_REQUIRE_TORCH"] === "1")("has PyTorch where CI requires it", () => {
  expect(torchVersion).toBeDefined();
});

const repo = resolve(import.meta.dirname, "..");
const fixture = join(repo, "python", "tests", "fixture");

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `python3 args` in `cwd` with NNC_TORCH_PATH at this checkout's python/ folder. */
function py(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((done) => {
    const child = spawn(python, args, { cwd, env: { ...process.env, NNC_TORCH_PATH: join(repo, "python"), PYTHONDONTWRITEBYTECODE: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => done({ status, stdout, stderr }));
  });
}

const json = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, "utf8"));
type Epoch = { loss: number; val_loss?: number };
const epochsOf = (run: string): Epoch[] => json(join(run, "history.json"))["epochs"] as Epoch[];

describe.skipIf(!torchVersion)(`the PyTorch training loop${why}`, () => {
  let dir: string;
  let work: string;
  let whole: string;
  let first: Ran;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nnc-pytorch-loop-"));
    work = join(dir, "model");
    cpSync(fixture, work, { recursive: true });
    whole = join(dir, "whole");
    first = await py(["tiny.py", "--out", whole, "--log-json"], work);
    if (first.status !== 0) throw new Error(`the 2-epoch run failed (${first.status}): ${first.stderr}`);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the run folder: model.json, history.json, normalizer.json, data.json and nnc-run.json valid by the schemas", () => {
    const history = json(join(whole, "history.json"));
    expect(schemaProblem("history", history)).toBeUndefined();
    expect(history["engine"]).toBe("pytorch");
    expect(history["model"]).toBe("tiny");
    expect(history["seed"]).toBe(7);
    const epochs = epochsOf(whole);
    expect(epochs.map((e) => Object.keys(e))).toEqual([
      ["epoch", "lr", "loss", "acc", "seconds", "val_loss", "val_acc"],
      ["epoch", "lr", "loss", "acc", "seconds", "val_loss", "val_acc"],
    ]);
    expect(epochs[1]!.loss).toBeLessThan(epochs[0]!.loss);
    expect(schemaProblem("normalizer", json(join(whole, "normalizer.json")))).toBeUndefined();
    expect(schemaProblem("data", json(join(whole, "data.json")))).toBeUndefined();
    expect(json(join(whole, "data.json"))).toMatchObject({ task: "classification", classes: 3, inputShape: [4], loss: "crossentropy" });
    expect(schemaProblem("run", json(join(whole, "nnc-run.json")))).toBeUndefined();
    expect(schemaProblem("model", json(join(whole, "model.json")))).toBeUndefined();
    // 4·8 + 8 + 8·3 + 3 float32 weights
    expect(readFileSync(join(whole, "weights.bin")).byteLength).toBe(67 * 4);
    const state = json(join(whole, "checkpoint", "state.json"));
    expect(state).toMatchObject({ format: "nnc-checkpoint", version: 1, engine: "pytorch", epoch: 2, epochs: 2, seed: 7 });
    expect(json(join(whole, "best", "best.json"))).toMatchObject({ metric: "val_loss" });
  });

  it("trains what the TS engine trains from the same weights: the same batches, losses and metrics (to float32 rounding)", () => {
    // tiny.nn is tiny.py's model and recipe; `pretrained "tiny.initial"` gives TF.js the same start.
    const ts = join(dir, "ts");
    const r = nnc(["train", "tiny.nn", "--out", ts, "--log-json", "--backend", "cpu"], work);
    expect(r.code, r.stderr).toBe(0);
    const theirs = epochsOf(ts) as (Epoch & { acc: number; val_acc: number })[];
    const ours = epochsOf(whole) as (Epoch & { acc: number; val_acc: number })[];
    expect(ours).toHaveLength(theirs.length);
    theirs.forEach((t, i) => {
      const o = ours[i]!;
      expect(Math.abs(o.loss - t.loss)).toBeLessThan(1e-6);
      expect(Math.abs(o.val_loss! - t.val_loss!)).toBeLessThan(1e-6);
      expect(o.acc).toBe(t.acc);
      expect(o.val_acc).toBe(t.val_acc);
    });
    const a = new Float32Array(new Uint8Array(readFileSync(join(ts, "weights.bin"))).buffer);
    const b = new Float32Array(new Uint8Array(readFileSync(join(whole, "weights.bin"))).buffer);
    expect(b.length).toBe(a.length);
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeLessThan(1e-6);
    expect(json(join(ts, "normalizer.json"))).toEqual(json(join(whole, "normalizer.json")));
  }, 60_000);

  it("computes each loss with TF.js's formula (probabilities clipped by 1e-7, per-pixel classes too)", async () => {
    const y = [[0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0]];
    const p = [[0.2, 0.7, 0.1], [0, 0.5, 0.5], [0.3, 0.3, 0.4], [1e-9, 1, 0]];
    const yb = [[1], [0], [1], [0]];
    const pb = [[0.9], [0.2], [1], [0]];
    const hp = [[0.3], [-2], [1.5], [0.2]];
    const ys = [[[0, 1], [1, 0]], [[1, 0], [0, 1]]];
    const ps = [[[0.3, 0.7], [0.6, 0.4]], [[0.5, 0.5], [0.1, 0.9]]];
    await tf.setBackend("cpu");
    const t = tf.tensor;
    const first = (x: tf.Tensor): number => x.dataSync()[0]!;
    const expected = {
      crossentropy: first(tf.metrics.categoricalCrossentropy(t(y), t(p)).mean()),
      segmentation: first(tf.metrics.categoricalCrossentropy(t(ys), t(ps)).mean()),
      binary: first(tf.metrics.binaryCrossentropy(t(yb), t(pb)).mean()),
      binary3: first(tf.metrics.binaryCrossentropy(t(y), t(p)).mean()),
      mse: first(tf.losses.meanSquaredError(t(y), t(p))),
      mae: first(tf.losses.absoluteDifference(t(y), t(p))),
      hinge: first(tf.losses.hingeLoss(t(yb), t(hp))),
    };
    const code = [
      "import json, torch",
      "from nnc_torch.losses import loss_function",
      `y, p, yb, pb, hp, ys, ps = [torch.tensor(a, dtype=torch.float32) for a in json.loads(${JSON.stringify(JSON.stringify([y, p, yb, pb, hp, ys, ps]))})]`,
      "f = lambda name, a, b: float(loss_function(name)(a, b))",
      "print(json.dumps(dict(crossentropy=f('crossentropy', y, p), segmentation=f('crossentropy', ys, ps), binary=f('binary_crossentropy', yb, pb),",
      "  binary3=f('binary_crossentropy', y, p), mse=f('mse', y, p), mae=f('mae', y, p), hinge=f('hinge', yb, hp))))",
    ].join("\n");
    const r = await py(["-c", code], join(repo, "python"));
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as Record<string, number>;
    for (const [name, value] of Object.entries(expected)) expect(Math.abs(got[name]! - value), name).toBeLessThan(1e-6 * Math.max(1, Math.abs(value)));
  }, 30_000);

  it("prints one JSON line per epoch in the TS engine's format with --log-json, messages on stderr", () => {
    const lines = first.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ epoch: 1, lr: 0.1 });
    expect(first.stderr).toContain("seed 7\n");
  });

  it("resumes after epoch 1 exactly: the same weights.bin, bit for bit, and the same history", async () => {
    const part = join(dir, "part");
    const one = await py(["tiny.py", "--out", part, "--epochs", "1", "--log-json"], work);
    expect(one.status, one.stderr).toBe(0);
    const again = await py(["tiny.py", "--resume", part, "--epochs", "2", "--log-json"], work);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain("resuming from epoch 1 of 2");
    expect(readFileSync(join(part, "weights.bin")).equals(readFileSync(join(whole, "weights.bin")))).toBe(true);
    const strip = (e: Record<string, unknown>[]): unknown[] => e.map(({ seconds: _, ...rest }) => rest);
    expect(strip(epochsOf(part) as unknown as Record<string, unknown>[])).toEqual(strip(epochsOf(whole) as unknown as Record<string, unknown>[]));
  }, 30_000);

  it("trains on 2 processes (gloo, torchrun's environment): identical weights on both ranks, the 1-process loss curve to 1e-5", async () => {
    const out = join(dir, "ddp");
    const env = { MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(await freeLocalPort()), WORLD_SIZE: "2", LOCAL_WORLD_SIZE: "2", OMP_NUM_THREADS: "1" };
    const script = join(repo, "python", "tests", "ddp_rank.py");
    const ranks = await Promise.all([0, 1].map((r) => py([script, out], work, { ...env, RANK: String(r), LOCAL_RANK: String(r) })));
    for (const r of ranks) expect(r.status, r.stderr).toBe(0);
    const [a, b] = ranks.map((r) => JSON.parse(r.stdout.trim().split("\n").pop()!) as { weights: string; loss: number[]; val_loss: number[] });
    expect(a!.weights).toBe(b!.weights);
    expect(a!.loss).toEqual(b!.loss);
    const single = epochsOf(whole);
    a!.loss.forEach((l, i) => expect(Math.abs(l - single[i]!.loss)).toBeLessThan(1e-5));
    a!.val_loss.forEach((l, i) => expect(Math.abs(l - single[i]!.val_loss!)).toBeLessThan(1e-5));
    // Rank 0 wrote the run folder.
    expect(schemaProblem("history", json(join(out, "history.json")))).toBeUndefined();
  }, 60_000);

  it("refuses a global batch that the processes cannot share equally", async () => {
    const r = await py(["tiny.py", "--out", join(dir, "odd")], work, { TINY_BATCH: "7", WORLD_SIZE: "2", RANK: "0", LOCAL_RANK: "0" });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n").pop()).toMatch(/^error: The recipe's batch of 7 samples cannot be split equally over 2 processes/);
    expect(r.stderr).not.toContain("Traceback");
  }, 30_000);

  it("says a user's mistake in one line and exits 1: a missing data file, a folder nnc did not write", async () => {
    const bare = join(dir, "bare");
    cpSync(fixture, bare, { recursive: true });
    rmSync(join(bare, "tiny.csv"));
    const r = await py(["tiny.py", "--out", join(dir, "nodata")], bare);
    expect(r.status).toBe(1);
    expect(r.stderr).not.toContain("Traceback");
    const last = r.stderr.trim().split("\n").pop()!;
    expect(last).toMatch(/^error: .*tiny\.csv/);
    const foreign = join(dir, "foreign");
    mkdirSync(foreign);
    writeFileSync(join(foreign, "model.json"), "{}");
    const f = await py(["tiny.py", "--out", foreign], work);
    expect(f.status).toBe(1);
    expect(f.stderr).not.toContain("Traceback");
    expect(f.stderr.trim().split("\n")).toHaveLength(1);
    expect(f.stderr).toContain("which nnc did not write");
  }, 30_000);
});
