/**
 * The files nnc reads back and the folders it writes into (issue 12): every JSON file is
 * validated against its schema in schema/ before a value is used, and a damaged or
 * hand-edited one is one message naming the file and the field; a model.json's weight paths
 * stay inside its folder; optimizer slots are bound to their weights by name and offset, not
 * by their order in state.json; a run folder's stale temporaries are cleaned up by their exact
 * names; a folder is never made with Node's recursive mkdir (which spins forever under /proc).
 */
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ballConfig } from "./runtime-helpers.js";
import { readCheckpoint, type CheckpointState } from "../src/runtime/checkpoint.js";
import type { TrainConfig } from "../src/runtime/config.js";
import { loadModel, makeDirs, MakeDirError, ModelFileError, removeStaleTemporaries, saveModel } from "../src/runtime/io.js";
import { schemaProblem, SCHEMAS } from "../src/runtime/json-files.js";
import { checkRunFolder, markRunFolder, readHistory, RUN_MARKER } from "../src/runtime/run-folder.js";
import { train, TrainError } from "../src/runtime/train.js";

let dir: string;
beforeAll(async () => {
  await tf.setBackend("cpu");
  dir = mkdtempSync(join(tmpdir(), "nnc-files-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let folders = 0;
const fresh = (): string => {
  const d = join(dir, `f${folders++}`);
  mkdirSync(d);
  return d;
};

/** A pid that belonged to a process which has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

const CONFIG: TrainConfig = ballConfig({ data: { source: "ball", dims: 4, n: 64, test: 0 }, lr: 0.01, batch: 16, epochs: 2, seed: 5 });

function build(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [4] });
  const h = tf.layers.dense({ units: 6, activation: "tanh", name: "hidden", kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(input) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 1, activation: "sigmoid", name: "out", kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: "m" });
}

const quiet = { backend: "cpu" as const, log: () => {}, logJson: true };

describe("the schemas", () => {
  it("compile under ajv's strict mode and describe a failure by its field, in words", () => {
    for (const kind of Object.keys(SCHEMAS) as (keyof typeof SCHEMAS)[]) expect(schemaProblem(kind, {})).toMatch(/^`\w+` is missing/);
    expect(schemaProblem("history", { model: "m", backend: "cpu", seed: 1, epochs: [{ epoch: 1, lr: 0.1, loss: null, seconds: 1 }] })).toBe("`epochs[0].loss` must be a number");
    expect(schemaProblem("normalizer", { kind: "standard", stats: { mean: [1], std: [0] } })).toBe("`stats.std` must be a non-empty list of positive numbers");
    expect(schemaProblem("normalizer", { kind: "minmax", stats: { min: [1] } })).toBe("`stats.max` is missing");
    expect(schemaProblem("model", { modelTopology: {}, weightsManifest: [{ paths: ["w.bin"], weights: [{ name: "k", shape: [2.5], dtype: "float32" }] }] })).toBe(
      "`weightsManifest[0].weights[0].shape` must be a list of whole numbers (the weight's dimensions)",
    );
  });
});

describe("a checkpoint's state.json, edited by hand", () => {
  let run: string;
  let state: CheckpointState;
  const statePath = (): string => join(run, "checkpoint", "state.json");
  const edit = (change: (s: CheckpointState) => void): void => {
    const copy = structuredClone(state);
    change(copy);
    writeFileSync(statePath(), JSON.stringify(copy));
  };
  beforeAll(async () => {
    run = join(dir, "run");
    await train(build, CONFIG, { ...quiet, out: run });
    state = JSON.parse(readFileSync(statePath(), "utf8")) as CheckpointState;
  }, 60_000);

  it("is refused with the file and the field when a slot's shape is empty or negative, or the random state is out of range", async () => {
    edit((s) => (s.optimizer.slots[2]!.shape = []));
    await expect(readCheckpoint(join(run, "checkpoint"))).rejects.toThrow("checkpoint/state.json: `optimizer.slots[2].shape` must be a list of positive whole numbers.");
    edit((s) => (s.optimizer.slots[2]!.shape = [6, -1]));
    await expect(readCheckpoint(join(run, "checkpoint"))).rejects.toThrow("checkpoint/state.json: `optimizer.slots[2].shape` must be a list of positive whole numbers.");
    edit((s) => (s.random = 1e20));
    await expect(readCheckpoint(join(run, "checkpoint"))).rejects.toThrow("checkpoint/state.json: `random` must be a whole number from 0 to 4294967295");
    edit((s) => s.history.pop());
    await expect(readCheckpoint(join(run, "checkpoint"))).rejects.toThrow("`history` must hold one record per finished epoch: `epoch` is 2, but `history` has 1");
    // Through train(): a TrainError (exit code 1 in the CLI), not an internal error.
    edit((s) => (s.optimizer.slots[2]!.shape = []));
    const e = await train(build, { ...CONFIG, epochs: 3 }, { ...quiet, resume: run }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TrainError);
    expect((e as Error).message).toContain("`optimizer.slots[2].shape` must be a list of positive whole numbers");
  });

  it("binds each optimizer slot to its weight by name and offset, so reordering the entries changes nothing", async () => {
    writeFileSync(statePath(), JSON.stringify(state));
    const before = await readCheckpoint(join(run, "checkpoint"));
    const slots = before.optimizerSlots();
    edit((s) => s.optimizer.slots.reverse());
    const after = await readCheckpoint(join(run, "checkpoint"));
    const reordered = after.optimizerSlots();
    expect(Object.keys(reordered).sort()).toEqual(Object.keys(slots).sort());
    for (const [name, t] of Object.entries(slots)) {
      expect(reordered[name]!.shape).toEqual(t.shape);
      expect(Array.from(reordered[name]!.dataSync())).toEqual(Array.from(t.dataSync()));
    }
    tf.dispose([...Object.values(slots), ...Object.values(reordered)]);
    // Offsets that overlap, or a slot whose shape no longer matches its weight, are refused.
    edit((s) => (s.optimizer.slots[1]!.offset = s.optimizer.slots[0]!.offset));
    await expect(readCheckpoint(join(run, "checkpoint"))).rejects.toThrow(/checkpoint\/state\.json: the tensors it describes in optimizer\.bin (overlap|leave a gap)/);
    edit((s) => {
      const m = s.optimizer.slots.find((e) => e.name === "hidden/kernel/m")!;
      m.shape = [6, 4];
    });
    const e = await train(build, { ...CONFIG, epochs: 3 }, { ...quiet, resume: run }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TrainError);
    expect((e as Error).message).toContain("checkpoint/state.json: `optimizer.slots` gives `hidden/kernel/m` the shape 6x4, but the weight `hidden/kernel` is 4x6.");
    edit((s) => (s.optimizer.slots = s.optimizer.slots.filter((e) => e.name !== "out/bias/v")));
    await expect(readCheckpoint(join(run, "checkpoint"))).rejects.toThrow(/optimizer\.bin holds \d+ bytes, but .*checkpoint\/state\.json describes \d+/);
    writeFileSync(statePath(), JSON.stringify(state));
  }, 60_000);
});

describe("loading a model.json", () => {
  async function savedModel(): Promise<string> {
    const d = fresh();
    const m = build(1);
    await saveModel(m, d);
    m.dispose();
    return d;
  }
  const editModel = (d: string, change: (j: tf.io.ModelJSON) => void): void => {
    const j = JSON.parse(readFileSync(join(d, "model.json"), "utf8")) as tf.io.ModelJSON;
    change(j);
    writeFileSync(join(d, "model.json"), JSON.stringify(j));
  };

  it("refuses weight paths outside the model's folder, and weight files of the wrong size", async () => {
    const d = await savedModel();
    for (const path of ["../../etc/passwd", "/etc/passwd", "sub/../../weights.bin", "file:///etc/passwd"]) {
      editModel(d, (j) => (j.weightsManifest![0]!.paths = [path]));
      const e = await loadModel(d).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ModelFileError);
      expect((e as Error).message).toContain(`model.json: \`weightsManifest[0].paths[0]\` (${JSON.stringify(path)}) points outside the model's folder`);
    }
    editModel(d, (j) => (j.weightsManifest![0]!.paths = ["./weights.bin"]));
    writeFileSync(join(d, "weights.bin"), new Uint8Array(12));
    await expect(loadModel(d)).rejects.toThrow(/model\.json: its `weightsManifest` describes 148 bytes of weights, but its weight files hold 12/);
    editModel(d, (j) => (j.weightsManifest![0]!.weights[0]!.dtype = "float64" as "float32"));
    await expect(loadModel(d)).rejects.toThrow("model.json: `weightsManifest[0].weights[0].dtype` must be one of float32, int32, bool.");
  });

  it("refuses layer names TF.js's loader cannot read back, which TF.js itself fails on", async () => {
    const input = tf.input({ shape: [3] });
    const out = tf.layers.dense({ units: 2, name: "constructor" }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const d = fresh();
    await saveModel(model, d);
    // TF.js's own loader (Container.fromConfig) keeps layers in plain objects: `constructor` is taken.
    const json = JSON.parse(readFileSync(join(d, "model.json"), "utf8")) as tf.io.ModelJSON;
    const weights = readFileSync(join(d, "weights.bin"));
    const handler = tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights, weightData: new Uint8Array(weights).buffer });
    await expect(tf.loadLayersModel(handler)).rejects.toThrow(/is not a function/);
    model.dispose();
    await expect(loadModel(d)).rejects.toThrow("TF.js cannot load a model with a layer named `constructor`");
  });
});

describe("folders", () => {
  it("are made one level at a time: a file in the way, or a place that takes no folders, is a message", () => {
    const d = fresh();
    makeDirs(join(d, "a", "b", "c"));
    expect(existsSync(join(d, "a", "b", "c"))).toBe(true);
    writeFileSync(join(d, "file"), "x");
    expect(() => makeDirs(join(d, "file", "sub"))).toThrow(MakeDirError);
    expect(() => makeDirs(join(d, "file"))).toThrow(/it is a file/);
  });

  it.skipIf(!existsSync("/proc/self"))("under /proc, where Node's recursive mkdir would spin forever", () => {
    const started = performance.now();
    expect(() => makeDirs("/proc/nnc-test/run")).toThrow(/Cannot make the folder \/proc\/nnc-test\/run: \/proc does not take new folders/);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("a run folder", () => {
  it("is written into when it is new, empty, nnc's own, or holds none of nnc's names", async () => {
    checkRunFolder(join(dir, "does-not-exist", "yet"));
    checkRunFolder(fresh());
    const trial = fresh();
    writeFileSync(join(trial, "spec.nn"), "model m {}\n");
    checkRunFolder(trial);
    const mine = fresh();
    writeFileSync(join(mine, "model.json"), "{}");
    await markRunFolder(mine, "m");
    checkRunFolder(mine);
    expect(JSON.parse(readFileSync(join(mine, RUN_MARKER), "utf8"))).toEqual({ format: "nnc-run", version: 1, model: "m" });
  });

  it("is refused when it holds a user's files under nnc's names, unless forced", () => {
    const d = fresh();
    writeFileSync(join(d, "model.json"), "mine");
    writeFileSync(join(d, "history.json"), "mine too");
    expect(() => checkRunFolder(d)).toThrow(/already holds history\.json, model\.json, which nnc did not write \(it has no nnc-run\.json\): training there would replace them/);
    checkRunFolder(d, { force: true });
    writeFileSync(join(d, RUN_MARKER), "{ not json");
    expect(() => checkRunFolder(d)).toThrow(/its nnc-run\.json is damaged/);
    // The run a checkpoint came from may be resumed into, marked or not (runs before the marker).
    checkRunFolder(d, { resumedRun: d });
  });

  it("is refused when nnc's folders in it hold other files, or its names are the wrong kind of entry", async () => {
    const d = fresh();
    await markRunFolder(d, "m");
    mkdirSync(join(d, "checkpoint"));
    writeFileSync(join(d, "checkpoint", "state.json"), "{}");
    checkRunFolder(d);
    writeFileSync(join(d, "checkpoint", "notes.txt"), "mine");
    expect(() => checkRunFolder(d)).toThrow(/holds checkpoint\/notes\.txt, which nnc did not write: each new checkpoint replaces the folder whole/);
    rmSync(join(d, "checkpoint", "notes.txt"));
    mkdirSync(join(d, "weights.bin"));
    expect(() => checkRunFolder(d)).toThrow(/holds weights\.bin \(a folder, where nnc writes a file\)/);
    expect(() => checkRunFolder(join(d, RUN_MARKER))).toThrow(/is a file, not a folder/);
  });

  it("loses only nnc's own stale temporaries at the start of a run", async () => {
    const d = fresh();
    const dead = deadPid();
    const names = {
      staleFile: `.weights.bin.${dead}.0123abcd.tmp`,
      liveFile: `.model.json.${process.ppid}.0123abcd.tmp`,
      staleDir: `.checkpoint.tmp-${dead}-89abcdef`,
      oldBesideNew: ".checkpoint.old",
      oldAlone: ".best.old",
      userFile: ".notes.tmp",
      otherName: `.data.csv.${dead}.0123abcd.tmp`,
    };
    mkdirSync(join(d, "checkpoint"));
    for (const [key, name] of Object.entries(names)) {
      if (key.endsWith("Dir") || key.startsWith("old")) mkdirSync(join(d, name));
      else writeFileSync(join(d, name), "x");
    }
    const removed = await removeStaleTemporaries(d, ["model.json", "weights.bin", "history.json", "normalizer.json", RUN_MARKER], ["checkpoint", "best"]);
    expect(removed.sort()).toEqual([names.staleFile, names.staleDir, names.oldBesideNew].sort());
    expect(readdirSync(d).sort()).toEqual([names.liveFile, names.oldAlone, names.userFile, names.otherName, "checkpoint"].sort());
  });

  it("has its history.json validated before the report reads it", async () => {
    const d = fresh();
    writeFileSync(join(d, "history.json"), JSON.stringify({ model: "m", backend: "cpu", seed: 1, epochs: [{ epoch: 0, lr: 0.1, loss: 1, seconds: 1 }] }));
    await expect(readHistory(d)).rejects.toThrow(/history\.json: `epochs\[0\]\.epoch` must be an epoch number/);
  });
});

describe("train() refuses before writing", () => {
  it("into a folder of the user's files, and writes there with force", async () => {
    const d = fresh();
    writeFileSync(join(d, "model.json"), "my own model");
    mkdirSync(join(d, "checkpoint"));
    writeFileSync(join(d, "checkpoint", "notes.txt"), "my notes");
    const e = await train(build, { ...CONFIG, epochs: 1 }, { ...quiet, out: d }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TrainError);
    expect((e as Error).message).toMatch(/already holds checkpoint, model\.json, which nnc did not write/);
    expect(readFileSync(join(d, "model.json"), "utf8")).toBe("my own model");
    expect(readdirSync(d).sort()).toEqual(["checkpoint", "model.json"]);
    await train(build, { ...CONFIG, epochs: 1 }, { ...quiet, out: d, force: true });
    expect(readFileSync(join(d, "model.json"), "utf8")).toContain("modelTopology");
    expect(existsSync(join(d, RUN_MARKER))).toBe(true);
  }, 60_000);
});
