/**
 * Checkpoints, `nnc train --resume` and the divergence guard, through the real CLI: a run is
 * killed with SIGKILL in the middle of an epoch and resumed, and its losses must equal an
 * uninterrupted run's exactly (same backend); runs killed at random moments never leave a
 * checkpoint that is half-written; a learning rate that blows the weights up stops the run
 * with the epoch, the batch and the layer, and keeps the last good checkpoint.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { generate } from "../src/codegen/index.js";
import { checkText } from "../src/pipeline.js";
import type { TrainResult } from "../src/runtime/index.js";
import { nnc } from "./cli-run.js";

const root = join(import.meta.dirname, "..");
const CLI = join(root, "dist", "nnc.mjs");
const runtimeUrl = pathToFileURL(join(root, "dist", "src", "runtime", "index.js")).href;
type Runtime = typeof import("../src/runtime/index.js");
const runtime = (): Promise<Runtime> => import(runtimeUrl) as Promise<Runtime>;

interface Epoch {
  epoch: number;
  lr: number;
  loss: number;
  acc: number;
  val_loss?: number;
  val_acc?: number;
  seconds: number;
}


/**
 * Starts `nnc train …` and SIGKILLs it `delay(epoch line)` ms after the first epoch line for
 * which `after` holds. Resolves with the epoch lines seen and whether the kill landed.
 */
function trainAndKill(args: string[], cwd: string, after: (e: Epoch) => boolean, delay: (e: Epoch) => number, ready: () => boolean = () => true): Promise<{ epochs: Epoch[]; killed: boolean; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" } });
    const epochs: Epoch[] = [];
    let buffer = "";
    let stderr = "";
    let armed = false;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => (stderr += d));
    child.stdout.on("data", (d: string) => {
      buffer += d;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (!line.startsWith("{")) continue;
        const e = JSON.parse(line) as Epoch;
        epochs.push(e);
        if (!armed && after(e)) {
          armed = true;
          // The delay counts from when `ready` holds (a checkpoint written after the line, on a busy machine later).
          const wait = (): void => void (ready() || child.exitCode !== null ? setTimeout(() => child.kill("SIGKILL"), delay(e)) : setTimeout(wait, 20));
          wait();
        }
      }
    });
    child.on("error", fail);
    child.on("close", (_code, signal) => done({ epochs, killed: signal === "SIGKILL", stderr }));
  });
}

function history(out: string): Epoch[] {
  return (JSON.parse(readFileSync(join(out, "history.json"), "utf8")) as { epochs: Epoch[] }).epochs;
}

/** Everything of an epoch's record but its duration. */
function measured(epochs: Epoch[]): Omit<Epoch, "seconds">[] {
  return epochs.map(({ seconds: _, ...rest }) => rest);
}

/** A model with dropout, a schedule over all epochs, validation and early stopping that restores the best. */
const RESUMABLE = `model r {
  input 10
  dense 64 tanh
  dropout 0.3
  dense 64 relu
  dropout 0.2
  dense 1 sigmoid
}

train r {
  data ball(dims: 10, n: 1600, test: 200)
  validate 0.1
  normalize standard
  loss binary_crossentropy
  optim adam lr 0.01
  schedule cosine
  batch 16
  epochs 6
  early_stop val_loss patience 10 restore_best
  checkpoint best val_acc
  seed 11
}
`;

describe("nnc train --resume", () => {
  it("goes on after a SIGKILL in the middle of an epoch with exactly the losses of an uninterrupted run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nnc-resume-"));
    writeFileSync(join(dir, "r.nn"), RESUMABLE);

    const whole = nnc(["train", "r.nn", "--backend", "wasm", "--out", "whole", "--log-json"], dir);
    expect(whole.code, whole.stderr).toBe(0);

    // Kill during epoch 3: half an epoch after epoch 2's line.
    const checkpointHolds = (epoch: number) => (): boolean => {
      try {
        return (JSON.parse(readFileSync(join(dir, "cut", "checkpoint", "state.json"), "utf8")) as { epoch: number }).epoch >= epoch;
      } catch {
        return false;
      }
    };
    const cut = await trainAndKill(["train", "r.nn", "--backend", "wasm", "--out", "cut", "--log-json"], dir, (e) => e.epoch === 2, (e) => Math.max(50, e.seconds * 500), checkpointHolds(2));
    expect(cut.killed, cut.stderr).toBe(true);
    expect(existsSync(join(dir, "cut", "history.json"))).toBe(false); // it never finished
    const { readCheckpoint } = await runtime();
    const saved = await readCheckpoint(join(dir, "cut", "checkpoint"));
    expect(saved.state.epoch).toBeGreaterThanOrEqual(2);
    expect(saved.state.epoch).toBeLessThan(6);

    const resumed = nnc(["train", "r.nn", "--backend", "wasm", "--resume", "cut", "--log-json"], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming from epoch ${saved.state.epoch} of 6`);
    const printed = resumed.stdout.split("\n").filter((l) => l.startsWith("{"));
    expect(printed).toHaveLength(6 - saved.state.epoch);

    expect(measured(history(join(dir, "cut")))).toEqual(measured(history(join(dir, "whole"))));
    // The same final weights (restored from the best epoch) and the same best/ model, to the bit.
    expect(readFileSync(join(dir, "cut", "weights.bin")).equals(readFileSync(join(dir, "whole", "weights.bin")))).toBe(true);
    expect(readFileSync(join(dir, "cut", "best", "weights.bin")).equals(readFileSync(join(dir, "whole", "best", "weights.bin")))).toBe(true);
    expect(readFileSync(join(dir, "cut", "best", "best.json"), "utf8")).toBe(readFileSync(join(dir, "whole", "best", "best.json"), "utf8"));
  }, 120_000);

  it("never leaves a half-written checkpoint, however often a run is killed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nnc-kill-"));
    // One batch per epoch and a few hundred thousand weights: most of the time goes into
    // writing checkpoints, so random kills land inside the writes.
    writeFileSync(
      join(dir, "k.nn"),
      "model k {\n input 10\n dense 256 tanh\n dense 256 tanh\n dense 256 tanh\n dense 1 sigmoid\n}\n\ntrain k {\n data ball(dims: 10, n: 64)\n loss binary_crossentropy\n optim adam lr 0.001\n batch 64\n epochs 100000\n seed 2\n}\n",
    );
    const { readCheckpoint, locateCheckpoint, loadModel } = await runtime();
    let random = 12345;
    const next = (): number => ((random = (Math.imul(random, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let lastEpoch = 0;
    for (let round = 0; round < 6; round++) {
      const args = ["train", "k.nn", "--backend", "wasm", "--out", "run", "--log-json", ...(round > 0 ? ["--resume", "run"] : [])];
      // An epoch's line is printed before its checkpoint is written, so the first run is killed
      // only after epoch 2's line (epoch 1's checkpoint is complete by then); resumed runs start
      // from a checkpoint and may be killed at any moment.
      const r = await trainAndKill(args, dir, (e) => round > 0 || e.epoch >= 2, () => 20 + next() * 700);
      expect(r.killed, r.stderr).toBe(true);
      expect(r.stderr).not.toMatch(/\bat .*\.m?js:\d+/);
      // Whatever is on disk under a checkpoint's name is complete and loads.
      const found = locateCheckpoint(join(dir, "run"));
      expect(found, `round ${round}: no checkpoint after ${r.epochs.length} epochs`).toBeDefined();
      const ckpt = await readCheckpoint(found!.dir);
      expect(ckpt.state.epoch).toBeGreaterThanOrEqual(lastEpoch);
      expect(ckpt.state.history).toHaveLength(ckpt.state.epoch);
      const weights = ckpt.weights();
      expect(Object.keys(weights)).toHaveLength(8);
      Object.values(weights).forEach((t) => t.dispose());
      Object.values(ckpt.optimizerSlots()).forEach((t) => t.dispose());
      lastEpoch = ckpt.state.epoch;
      for (const name of ["checkpoint", ".checkpoint.old", "best", ".best.old"]) {
        if (!existsSync(join(dir, "run", name))) continue;
        if (name.includes("checkpoint")) await readCheckpoint(join(dir, "run", name));
        else (await loadModel(join(dir, "run", name))).dispose();
      }
      // Nothing else but the run's marker and temporary folders, whose names say they are not checkpoints.
      for (const entry of readdirSync(join(dir, "run"))) expect(entry).toMatch(/^(nnc-run\.json|checkpoint|best|\.(checkpoint|best)\.(old|tmp-\d+-[0-9a-f]+))$/);
    }
    expect(lastEpoch).toBeGreaterThan(0);
    // A finishing run clears the temporary folders crashes left behind.
    const finish = nnc(["train", "k.nn", "--backend", "wasm", "--resume", "run", "--epochs", String(lastEpoch + 1), "--log-json"], dir);
    expect(finish.code, finish.stderr).toBe(0);
    expect(readdirSync(join(dir, "run")).filter((e) => e.includes(".tmp-"))).toEqual([]);
  }, 120_000);

  it("refuses a damaged checkpoint, a changed model and a folder without one, in plain words", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nnc-resume-bad-"));
    const spec = RESUMABLE.replace("epochs 6", "epochs 2").replace("n: 1600", "n: 200");
    writeFileSync(join(dir, "r.nn"), spec);
    expect(nnc(["train", "r.nn", "--backend", "cpu", "--out", "run", "--log-json"], dir).code).toBe(0);

    // Longer than the checkpoint's run: a warning, then it trains on.
    const more = nnc(["train", "r.nn", "--backend", "cpu", "--resume", "run", "--epochs", "3", "--log-json"], dir);
    expect(more.code, more.stderr).toBe(0);
    expect(more.stderr).toContain("warning: the checkpoint's run was to train 2 epochs, this one trains 3.");
    expect(more.stderr).toContain("resuming from epoch 2 of 3");
    expect(history(join(dir, "run"))).toHaveLength(3);

    writeFileSync(join(dir, "wide.nn"), spec.replace("dense 64 relu", "dense 32 relu"));
    const changed = nnc(["train", "wide.nn", "--backend", "cpu", "--resume", "run"], dir);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(/nnc: The model `r` changed since the checkpoint in run\/checkpoint was written, so its weights do not fit: `dense2\/kernel` is 64x64 in the checkpoint but 64x32 in the spec/);
    expect(changed.stderr).toContain("Hint: undo the change, or train without --resume");

    const none = nnc(["train", "r.nn", "--backend", "cpu", "--resume", "nowhere"], dir);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("nnc: There is no checkpoint in nowhere");

    const weights = join(dir, "run", "checkpoint", "weights.bin");
    truncateSync(weights, 100);
    const damaged = nnc(["train", "r.nn", "--backend", "cpu", "--resume", "run"], dir);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(/nnc: The checkpoint in .*checkpoint is damaged: weights\.bin does not match its checksum/);
    for (const r of [changed, none, damaged]) expect(r.stderr).not.toMatch(/\bat .*\.m?js:\d+/);
  }, 60_000);
});

describe("the divergence guard", () => {
  const exploding = (lr: number, schedule = ""): string =>
    `model d {\n input 10\n dense 32 tanh\n dense 16 relu\n dense 1\n}\n\ntrain d {\n data ball(dims: 10, n: 512)\n loss mse\n optim sgd lr ${lr}\n${schedule} batch 32\n epochs 10\n seed 1\n}\n`;

  it("stops at the batch whose loss is not finite, names the layer and keeps the last good epoch's checkpoint", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nnc-diverge-"));
    // The learning rate climbs from 0.4 by 0.4 an epoch, so the first epochs are good and a
    // later one explodes. When exactly depends on float32 rounding (a chaotic run: each
    // backend's sums round differently), so the test takes the epoch it reports.
    writeFileSync(join(dir, "d.nn"), exploding(8, " schedule warmup(20) then constant\n"));
    const r = nnc(["train", "d.nn", "--backend", "wasm", "--out", "run", "--log-json"], dir);
    expect(r.code).toBe(1);
    const m = /nnc: The loss became (NaN|infinite) in epoch (\d+), batch \d+: the gradients? of layers? `dense\d` \((kernel|bias)\) (grew to [\d.]+e\d+|overflowed)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const epoch = Number(m![2]);
    expect(epoch).toBeGreaterThanOrEqual(2);
    expect(r.stderr).toContain(`The weights of the last good epoch (${epoch - 1}) are kept in run/checkpoint.`);
    expect(r.stderr).toMatch(/Hint: add `clip norm 1\.0` to the recipe, or lower the learning rate \(now [\d.]+\)\./);
    expect(r.stderr).not.toMatch(/\bat .*\.m?js:\d+/);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("{"))).toHaveLength(epoch - 1);
    // The checkpoint is the last good epoch's, with finite weights; no final model was saved over it.
    const { readCheckpoint } = await runtime();
    const ckpt = await readCheckpoint(join(dir, "run", "checkpoint"));
    expect(ckpt.state.epoch).toBe(epoch - 1);
    const weights = ckpt.weights();
    for (const t of Object.values(weights)) expect(Array.from(t.dataSync()).every(Number.isFinite)).toBe(true);
    Object.values(weights).forEach((t) => t.dispose());
    expect(existsSync(join(dir, "run", "model.json"))).toBe(false);
  }, 60_000);

  it("catches gradients that overflow while the loss is still finite, before they reach the weights", () => {
    const dir = mkdtempSync(join(tmpdir(), "nnc-diverge-"));
    writeFileSync(join(dir, "d.nn"), exploding(10));
    // On cpu, whose sums run in float64, this run's loss is still finite (1e35) when the
    // gradients overflow float32, the case under test. wasm sums in float32, and there the
    // loss of the same run overflows a batch earlier (the first test's path).
    const r = nnc(["train", "d.nn", "--backend", "cpu", "--out", "run"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nnc: The (gradients|weights) overflowed in epoch 1, batch \d+ \(.*loss was .*\): .*layers? `dense\d`/);
    expect(r.stderr).toContain("No epoch had finished, so there is no checkpoint to go back to.");
    expect(r.stderr).toContain("lower the learning rate (now 10)");
  }, 60_000);
});

describe("dropout", () => {
  it("draws a new mask every step (TF.js would reuse one mask for a fixed seed)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nnc-dropout-"));
    writeFileSync(join(dir, "one.csv"), "a,b,label\n1,1,1\n");
    // One sample, weights that barely move: each epoch's loss depends only on the mask.
    const text = `model m {\n input 2\n dropout 0.5\n dense 1 init ones no_bias\n}\ntrain m {\n data csv(${JSON.stringify(join(dir, "one.csv"))}, label: "label")\n loss mse\n optim sgd lr 1e-9\n batch 1\n epochs 12\n seed 3\n}\n`;
    const checked = checkText(text);
    expect(checked.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const files = await generate(checked.program, { specPath: "m.nn", sourceLines: text.split("\n"), version: "test", runtimeImport: runtimeUrl, format: false });
    const { transform } = await import("esbuild");
    const path = join(dir, "m.mjs");
    writeFileSync(path, (await transform(files.find((f) => f.hasRecipe)!.content, { loader: "ts", format: "esm" })).code);
    const mod = (await import(pathToFileURL(path).href)) as { train(o: Record<string, unknown>): Promise<TrainResult> };
    const result = await mod.train({ backend: "cpu", noSave: true, log: () => {}, logJson: true });
    const losses = new Set(result.history.map((h) => h.loss.toFixed(6)));
    expect(losses.size).toBeGreaterThan(1);
  }, 60_000);
});
