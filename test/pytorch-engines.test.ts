/**
 * Both engines through the real CLI (`node dist/nnc.mjs train`), end to end:
 *
 * 1. One step of every optimizer on both engines (TF.js on `--backend cpu`, PyTorch on
 *    `--device cpu`) from the same initial weights (the recipe's seed): a small conv + dense
 *    spec on an 8-sample .npy set, `batch 8`, `epochs 1`, no validation or test split, no
 *    dropout — exactly one step. Per optimizer two recipes: plain, and clipped (by norm for
 *    half the optimizers, by value for the other half) with `weight_decay`. The weights.bin of
 *    both run folders agree to 1e-5 relative (1e-6 absolute), and so does the logged loss.
 * 2. The full BLOCK recipe (specs/block.nn, early stopping included) on TF.js (wasm) and on
 *    PyTorch (cpu): the test accuracies within 1 percentage point.
 * 3. `--engine pytorch --nproc 2` (two processes with torchrun's environment) for 2 epochs of plain SGD: the loss curve and the
 *    saved weights equal the 1-process run's to 1e-5.
 * 4. A PyTorch run folder works with `nnc export --format onnx`, `nnc predict` and
 *    `nnc evaluate` (predictions and evaluation as the TF.js run of the same step gives);
 *    `--resume` of it with the TF.js engine exits 1 naming `--engine pytorch`.
 * 5. A Python without torch (`NNC_PYTHON=/nonexistent/python3`): exit 1 and the message naming
 *    `apt-get install python3-torch`, no stack trace.
 * 6. `--nproc 2` when the second process fails at once: exit 1 with its output, promptly; and
 *    after Ctrl-C: exit 130 with the command that goes on, no stack trace.
 *
 * The CLI calls run two at a time (each PyTorch call costs a few seconds of Python start and
 * torch import). Skipped with the reason where no Python has torch (test/torch-python.ts),
 * a failure where NNC_REQUIRE_TORCH=1.
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ROOT } from "./cli-run.js";
import { torchPython } from "./torch-python.js";

const torch = torchPython();
const why = torch.ok ? "" : ` (skipped: ${torch.reason})`;
if (!torch.ok) console.warn(`test/pytorch-engines.test.ts${why}`);

// ── running the CLI, two calls at a time ────────────────────────────────────────────────────

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

const PARALLEL = 2;
/** One call's time limit: the longest (BLOCK's full recipe) takes ~10 s alone on 2 cores. */
const CALL_LIMIT_S = 240;
let running = 0;
const waiting: (() => void)[] = [];
/** Every call made, for afterAll to wait for (a failed test may not have waited for its own). */
const queued: Promise<unknown>[] = [];

async function slot<T>(job: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((go) => waiting.push(go));
  running++;
  try {
    return await job();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** `node dist/nnc.mjs args…` in `cwd` (queued behind the calls before it), with the test's Python. */
function nnc(args: string[], cwd: string = ROOT, env: Record<string, string> = {}, onStdout?: (stdout: string, group: number) => void): Promise<Ran> {
  const call = slot(
    () =>
      new Promise<Ran>((done) => {
        const start = performance.now();
        const python = torch.ok ? { NNC_PYTHON: torch.python } : {};
        // One thread a process: the calls run side by side on small models. Its own process
        // group, so that a call past its time is stopped with everything it started (the
        // processes of --nproc) and fails showing what it printed, instead of holding the suite.
        const child = spawn(process.execPath, [CLI, ...args], { cwd, detached: true, env: { ...process.env, NO_COLOR: "1", OMP_NUM_THREADS: "1", ...python, ...env } });
        let stdout = "";
        let stderr = "";
        const limit = setTimeout(() => {
          stderr += `\n[test: stopped after ${CALL_LIMIT_S} s: nnc ${args.join(" ")}]`;
          try {
            process.kill(-child.pid!, "SIGKILL");
          } catch {
            // already gone
          }
        }, CALL_LIMIT_S * 1000);
        child.stdout.on("data", (d) => {
          stdout += d;
          onStdout?.(stdout, child.pid!);
        });
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (code) => {
          clearTimeout(limit);
          done({ code: code ?? -1, stdout, stderr, seconds: (performance.now() - start) / 1000 });
        });
      }),
  );
  queued.push(call);
  return call;
}

function expectOk(r: Ran, what: string): void {
  expect(r.code, `${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`).toBe(0);
}

// ── run folders ─────────────────────────────────────────────────────────────────────────────

interface Epoch {
  epoch: number;
  loss: number;
  lr: number;
  acc?: number;
}
interface History {
  epochs: Epoch[];
  test: { loss: number; acc?: number } | null;
  engine?: string;
}

const history = (run: string): History => JSON.parse(readFileSync(join(run, "history.json"), "utf8")) as History;

const checkpointState = (run: string): Record<string, unknown> => JSON.parse(readFileSync(join(run, "checkpoint", "state.json"), "utf8")) as Record<string, unknown>;

/** The run's weights by name, in the order of model.json's weightsManifest (one weights.bin). */
function weights(run: string): { name: string; shape: number[]; values: Float32Array }[] {
  const model = JSON.parse(readFileSync(join(run, "model.json"), "utf8")) as { weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[] };
  const out: { name: string; shape: number[]; values: Float32Array }[] = [];
  for (const group of model.weightsManifest) {
    const bytes = Buffer.concat(group.paths.map((p) => readFileSync(join(run, p))));
    const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    let at = 0;
    for (const w of group.weights) {
      expect(w.dtype).toBe("float32");
      const n = w.shape.reduce((a, b) => a * b, 1);
      out.push({ name: w.name, shape: w.shape, values: all.slice(at, at + n) });
      at += n;
    }
    expect(at, `${run}: weights.bin holds ${all.length} floats, the manifest ${at}`).toBe(all.length);
  }
  return out;
}

const REL = 1e-5;
const ABS = 1e-6;
const close = (a: number, b: number): boolean => Math.abs(a - b) <= REL * Math.max(Math.abs(a), Math.abs(b)) + ABS;

/** The largest |a − b| of two runs' weights (which must have the same names and shapes), the largest relative one (of elements above 1e-3), and the first element beyond the tolerance. */
function compareWeights(a: string, b: string): { maxAbs: number; maxRel: number; bad?: string } {
  const wa = weights(a);
  const wb = weights(b);
  expect(wb.map((w) => [w.name, w.shape])).toEqual(wa.map((w) => [w.name, w.shape]));
  let maxAbs = 0;
  let maxRel = 0;
  let bad: string | undefined;
  wa.forEach((w, k) => {
    const v = wb[k]!.values;
    w.values.forEach((x, i) => {
      const y = v[i]!;
      const d = Math.abs(x - y);
      maxAbs = Math.max(maxAbs, d);
      if (Math.max(Math.abs(x), Math.abs(y)) > 1e-3) maxRel = Math.max(maxRel, d / Math.max(Math.abs(x), Math.abs(y)));
      if (bad === undefined && !close(x, y)) bad = `${w.name}[${i}]: ${x} vs ${y}`;
    });
  });
  return bad === undefined ? { maxAbs, maxRel } : { maxAbs, maxRel, bad };
}

// ── fixtures ────────────────────────────────────────────────────────────────────────────────

/** A version-1 .npy file of a C-ordered array. */
function npy(descr: "<f4" | "<i4", shape: number[], values: number[]): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  header += " ".repeat((64 - ((10 + header.length + 1) % 64)) % 64) + "\n";
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  const data = descr === "<f4" ? Buffer.from(new Float32Array(values).buffer) : Buffer.from(new Int32Array(values).buffer);
  return Buffer.concat([head, Buffer.from(header, "latin1"), data]);
}

/** n images of 6x6x1 in [0, 1) (a fixed hash, no randomness) and labels 0, 1, 2, 0, … */
function writeImages(dir: string, prefix: string, n: number): void {
  const xs = Array.from({ length: n * 36 }, (_, i) => {
    const s = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
    return s - Math.floor(s);
  });
  writeFileSync(join(dir, `${prefix}x.npy`), npy("<f4", [n, 6, 6, 1], xs));
  writeFileSync(join(dir, `${prefix}y.npy`), npy("<i4", [n], Array.from({ length: n }, (_, i) => i % 3)));
}

const MODEL = (name: string): string => `model ${name} {\n  input 6x6x1\n  conv 3x3x4 relu\n  flatten\n  dense 5 tanh\n  dense 3 softmax\n}\n`;

/** Every optimizer, with arguments other than its defaults, and a rate that moves the weights visibly in one step. */
const OPTIMIZERS: Record<string, string> = {
  sgd: "sgd lr 0.1",
  momentum: "momentum(0.8) lr 0.05",
  nesterov: "nesterov(0.8) lr 0.05",
  adagrad: "adagrad(1e-6) lr 0.05",
  adadelta: "adadelta(0.9, 1e-6) lr 1.0",
  rmsprop: "rmsprop(0.8, 1e-6) lr 0.01",
  adam: "adam(0.8, 0.99, 1e-6) lr 0.01",
  nadam: "nadam(0.8, 0.99, 1e-6) lr 0.01",
  adamw: "adamw(0.05, 0.8, 0.99) lr 0.01",
  lm: "lm(0.5) lr 0.1",
};

interface Case {
  model: string;
  optimizer: string;
  extra: string[];
}

/**
 * Per optimizer: plain; clipped (by norm or by value, alternating) with weight decay. The
 * gradient's global norm is about 0.5 and its largest element about 0.15: both clips bite.
 * (The first step of Adam-like optimizers hardly depends on the gradient's scale: for them
 * the weight decay is what the second case changes. Several steps of every optimizer with
 * each clip are in test/pytorch-optimizers.test.ts.)
 */
const CASES: Case[] = Object.keys(OPTIMIZERS).flatMap((optimizer, k) => [
  { model: `${optimizer}_plain`, optimizer, extra: [] },
  { model: `${optimizer}_clip_decay`, optimizer, extra: [k % 2 === 0 ? "clip norm 0.2" : "clip value 0.01", "weight_decay 0.05"] },
]);

function stepSpec(): string {
  const initial = MODEL("initial") + `train initial {\n  data npy(x: "x.npy", y: "y.npy")\n  loss crossentropy\n  optim sgd lr 1e-30\n  batch 8\n  epochs 1\n  seed 7\n}\n`;
  return [initial, ...CASES.map(
    (c) =>
      MODEL(c.model) +
      `train ${c.model} {\n  data npy(x: "x.npy", y: "y.npy")\n  loss crossentropy\n  optim ${OPTIMIZERS[c.optimizer]}\n` +
      c.extra.map((line) => `  ${line}\n`).join("") +
      `  batch 8\n  epochs 1\n  seed 7\n}\n`,
  )].join("\n");
}

/** Plain SGD over 32 samples in batches of 8 (4 steps an epoch), for the 1- and 2-process runs. */
const SCALE_SPEC =
  MODEL("scaled") + `train scaled {\n  data npy(x: "sx.npy", y: "sy.npy")\n  loss crossentropy\n  optim sgd lr 0.2\n  batch 8\n  epochs 2\n  seed 11\n}\n`;

// ── the tests ───────────────────────────────────────────────────────────────────────────────

describe.skipIf(!torch.ok)(`the two engines through nnc train${why}`, () => {
  let dir: string;
  const started = performance.now();
  let steps: Map<string, { tfjs: Promise<Ran>; pytorch: Promise<Ran> }>;
  let block: { tfjs: Promise<Ran>; pytorch: Promise<Ran> };
  let scale: { one: Promise<Ran>; two: Promise<Ran> };
  let missing: Promise<Ran>;
  let brokenRank: Promise<Ran>;
  let interrupted: { ran: Promise<Ran>; sent: () => boolean };
  let initial: Promise<Ran>;
  const run = (name: string): string => join(dir, "runs", name);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "nnc-engines-"));
    writeImages(dir, "", 8);
    writeImages(dir, "s", 32);
    writeFileSync(join(dir, "steps.nn"), stepSpec());
    writeFileSync(join(dir, "scale.nn"), SCALE_SPEC);
    mkdirSync(join(dir, "runs"));
    // Queued in this order, two at a time: the long BLOCK pair first, side by side.
    block = {
      tfjs: nnc(["train", "specs/block.nn", "--backend", "wasm", "--out", run("block-tfjs")], ROOT),
      pytorch: nnc(["train", "specs/block.nn", "--engine", "pytorch", "--device", "cpu", "--out", run("block-pytorch")]),
    };
    steps = new Map(
      CASES.map((c) => [
        c.model,
        {
          tfjs: nnc(["train", "steps.nn", "--model", c.model, "--backend", "cpu", "--out", run(`${c.model}-tfjs`)], dir),
          pytorch: nnc(["train", "steps.nn", "--model", c.model, "--engine", "pytorch", "--device", "cpu", "--out", run(`${c.model}-pytorch`)], dir),
        },
      ]),
    );
    initial = nnc(["train", "steps.nn", "--model", "initial", "--backend", "cpu", "--out", run("initial")], dir);
    scale = {
      one: nnc(["train", "scale.nn", "--engine", "pytorch", "--device", "cpu", "--out", run("scale-1")], dir),
      two: nnc(["train", "scale.nn", "--engine", "pytorch", "--device", "cpu", "--nproc", "2", "--out", run("scale-2")], dir),
    };
    missing = nnc(["train", "scale.nn", "--engine", "pytorch", "--device", "cpu", "--out", run("missing")], dir, { NNC_PYTHON: "/nonexistent/python3" });
    // The second process fails at once (its Python stands in for one that runs out of disk);
    // the first, left alone, would wait for it in its first collective.
    const broken = join(dir, "broken-rank.sh");
    writeFileSync(broken, `#!/bin/sh\nif [ "$RANK" = "1" ]; then echo "disk full: cannot write the batch cache" >&2; exit 3; fi\nexec "$NNC_REAL_PYTHON" "$@"\n`, { mode: 0o755 });
    brokenRank = nnc(["train", "scale.nn", "--engine", "pytorch", "--device", "cpu", "--nproc", "2", "--out", run("broken")], dir, torch.ok ? { NNC_PYTHON: broken, NNC_REAL_PYTHON: torch.python } : {});
    // Ctrl-C as a terminal sends it (to the whole process group) once the second epoch is logged
    // (the first epoch's checkpoint is written by then).
    let sent = false;
    const ran = nnc(["train", "scale.nn", "--engine", "pytorch", "--device", "cpu", "--nproc", "2", "--epochs", "100000", "--log-json", "--out", run("cut")], dir, {}, (stdout, group) => {
      if (!sent && stdout.includes('"epoch":2')) {
        sent = true;
        process.kill(-group, "SIGINT");
      }
    });
    interrupted = { ran, sent: () => sent };
  });
  afterAll(async () => {
    await Promise.allSettled(queued);
    console.log(`test/pytorch-engines.test.ts: ${((performance.now() - started) / 1000).toFixed(1)} s in all`);
    rmSync(dir, { recursive: true, force: true });
  }, (2 * CALL_LIMIT_S + 30) * 1000);

  it("one step of every optimizer, plain and clipped with weight decay, gives the same weights and loss on both engines", async () => {
    const t0 = performance.now();
    const lines: string[] = [];
    try {
      const finals = new Map<string, Float32Array>();
      for (const c of CASES) {
        const s = steps.get(c.model)!;
        const [tf, pt] = [await s.tfjs, await s.pytorch];
        expectOk(tf, `${c.model} on TF.js`);
        expectOk(pt, `${c.model} on PyTorch`);
        const [a, b] = [run(`${c.model}-tfjs`), run(`${c.model}-pytorch`)];
        const [ha, hb] = [history(a), history(b)];
        expect(hb.engine).toBe("pytorch");
        expect(pt.stderr, "TF.js's banner on a PyTorch run").not.toContain("running TensorFlow.js in Node.js");
        expect(ha.epochs.length).toBe(1);
        expect(hb.epochs.length).toBe(1);
        expect(ha.test).toBeNull();
        // Exactly one step on each engine (the checkpoint's count), from the same seed and stream.
        const [ca, cb] = [checkpointState(a), checkpointState(b)];
        expect([ca["iterations"], cb["iterations"]]).toEqual([1, 1]);
        expect(cb["random"]).toBe(ca["random"]);
        const [la, lb] = [ha.epochs[0]!.loss, hb.epochs[0]!.loss];
        expect(close(la, lb), `${c.model}: loss ${la} (TF.js) vs ${lb} (PyTorch)`).toBe(true);
        expect(hb.epochs[0]!.lr).toBe(ha.epochs[0]!.lr);
        const d = compareWeights(a, b);
        expect(d.bad, `${c.model}: weights differ beyond ${REL} relative (${ABS} absolute): ${d.bad}`).toBeUndefined();
        finals.set(c.model, new Float32Array(weights(a).flatMap((w) => [...w.values])));
        lines.push(`${c.model}: loss ${la.toFixed(6)} Δ ${Math.abs(la - lb).toExponential(1)}; weights max |Δ| ${d.maxAbs.toExponential(1)}, max rel ${d.maxRel.toExponential(1)}; ${tf.seconds.toFixed(1)} s + ${pt.seconds.toFixed(1)} s`);
      }
      // All runs start from the same weights (same model, same seed): `initial` (plain SGD at a
      // rate of 1e-30) kept them. Every case's step moved them visibly, and clipping with weight
      // decay moved them otherwise than the plain step.
      expectOk(await initial, "the initial weights' run");
      const start = new Float32Array(weights(run("initial")).flatMap((w) => [...w.values]));
      const furthest = (x: Float32Array, y: Float32Array): number => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
      for (const c of CASES) {
        expect(furthest(finals.get(c.model)!, start), `${c.model}: the weights did not move`).toBeGreaterThan(2e-4);
        if (c.extra.length > 0) expect(furthest(finals.get(c.model)!, finals.get(`${c.optimizer}_plain`)!), `${c.model}: as the plain step`).toBeGreaterThan(1e-4);
      }
    } finally {
      // What each case gave, also when one fails.
      console.log(`one step, both engines (waited ${((performance.now() - t0) / 1000).toFixed(1)} s):\n  ${lines.join("\n  ")}`);
    }
  }, 600_000);

  it("the full BLOCK recipe ends within 1 point of test accuracy on both engines", async () => {
    const [tf, pt] = [await block.tfjs, await block.pytorch];
    expectOk(tf, "BLOCK on TF.js (wasm)");
    expectOk(pt, "BLOCK on PyTorch");
    const [a, b] = [history(run("block-tfjs")), history(run("block-pytorch"))];
    const [accA, accB] = [a.test!.acc!, b.test!.acc!];
    expect(accA).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(accA - accB), `test acc ${accA} (TF.js) vs ${accB} (PyTorch)`).toBeLessThanOrEqual(0.01);
    console.log(`BLOCK: TF.js wasm ${a.epochs.length} epochs, test acc ${accA} in ${tf.seconds.toFixed(1)} s; PyTorch cpu ${b.epochs.length} epochs, test acc ${accB} in ${pt.seconds.toFixed(1)} s`);
  }, 600_000);

  it("two processes (--nproc 2) give the 1-process run's loss curve and weights", async () => {
    const [one, two] = [await scale.one, await scale.two];
    expectOk(one, "the 1-process run");
    expectOk(two, "the 2-process run");
    expect(two.stdout).toContain("(2 processes)");
    const [a, b] = [history(run("scale-1")), history(run("scale-2"))];
    expect(b.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(a.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    a.epochs.forEach((e, i) => expect(close(e.loss, b.epochs[i]!.loss), `epoch ${e.epoch}: loss ${e.loss} vs ${b.epochs[i]!.loss}`).toBe(true));
    expect(a.epochs[1]!.loss).toBeLessThan(a.epochs[0]!.loss);
    const d = compareWeights(run("scale-1"), run("scale-2"));
    expect(d.bad, `weights of 1 and 2 processes differ: ${d.bad}`).toBeUndefined();
    console.log(`--nproc 2: losses ${b.epochs.map((e) => e.loss.toFixed(6)).join(", ")}; weights max |Δ| ${d.maxAbs.toExponential(1)}; ${one.seconds.toFixed(1)} s (1 process), ${two.seconds.toFixed(1)} s (2)`);
  }, 600_000);

  it("a PyTorch run folder exports to ONNX, predicts and evaluates as the TF.js run of the same step; the TF.js engine refuses to resume it", async () => {
    // adam_plain's two runs hold the same weights (to 1e-7, above): the commands read both alike.
    const tfRun = run("adam_plain-tfjs");
    const ptRun = run("adam_plain-pytorch");
    expectOk(await steps.get("adam_plain")!.pytorch, "adam_plain on PyTorch");
    expectOk(await steps.get("adam_plain")!.tfjs, "adam_plain on TF.js");
    const onnx = join(dir, "adam.onnx");
    const data = 'npy(x: "x.npy", y: "y.npy")';
    const [exported, ...read] = await Promise.all([
      nnc(["export", ptRun, "--format", "onnx", "-o", onnx], dir),
      ...[ptRun, tfRun].flatMap((r) => [nnc(["predict", r, "x.npy", "--json", "--backend", "cpu"], dir), nnc(["evaluate", r, "--data", data, "--json", "--backend", "cpu"], dir)]),
    ]);
    expectOk(exported, "nnc export --format onnx");
    expect(existsSync(onnx) && statSync(onnx).size > 1000).toBe(true);
    read.forEach((r, i) => expectOk(r, i % 2 === 0 ? "nnc predict" : "nnc evaluate"));
    type Prediction = { input: string; top: { class: number; p: number }[] };
    const predictions = (r: Ran): Prediction[] => r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Prediction);
    const [pt, tf] = [predictions(read[0]!), predictions(read[2]!)];
    expect(pt).toHaveLength(8);
    pt.forEach((p, i) => {
      expect(p.top.map((t) => t.class)).toEqual(tf[i]!.top.map((t) => t.class));
      p.top.forEach((t, k) => expect(close(t.p, tf[i]!.top[k]!.p), `${p.input} class ${t.class}: ${t.p} vs ${tf[i]!.top[k]!.p}`).toBe(true));
    });
    type Evaluation = { n: number; loss: number; accuracy: number };
    const [ept, etf] = [JSON.parse(read[1]!.stdout) as Evaluation, JSON.parse(read[3]!.stdout) as Evaluation];
    expect(ept.n).toBe(8);
    expect(ept.accuracy).toBe(etf.accuracy);
    expect(close(ept.loss, etf.loss), `evaluate loss ${ept.loss} (PyTorch run) vs ${etf.loss} (TF.js run)`).toBe(true);

    // The 2-epoch PyTorch run has a checkpoint/ to resume (a copy, which the refusal leaves as it was).
    expectOk(await scale.one, "the 1-process run");
    const trained = run("scale-1");
    const copy = join(dir, "runs", "scale-copy");
    cpSync(trained, copy, { recursive: true });
    const resumed = await nnc(["train", "scale.nn", "--backend", "cpu", "--resume", copy], dir);
    expect(resumed.code, resumed.stderr).toBe(1);
    expect(resumed.stderr).toContain("--engine pytorch");
    expect(resumed.stderr).not.toMatch(/\bat .*\.(m?js|ts):\d+/);
    expect(readFileSync(join(copy, "history.json"), "utf8")).toBe(readFileSync(join(trained, "history.json"), "utf8"));
    expect(readFileSync(join(copy, "weights.bin")).equals(readFileSync(join(trained, "weights.bin")))).toBe(true);
  }, 600_000);

  it("without torch, says how to install it (exit 1, no stack trace)", async () => {
    const r = await missing;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("apt-get install python3-torch");
    expect(r.stderr).toContain("/nonexistent/python3");
    expect(r.stderr).not.toMatch(/Traceback|\bat .*\.(m?js|ts):\d+/);
    expect(existsSync(run("missing"))).toBe(false);
  }, 600_000);

  it("--nproc 2: a process other than the first that fails stops the run, showing what it printed (exit 1, no hang)", async () => {
    const r = await brokenRank;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain("[process 1] disk full: cannot write the batch cache");
    expect(r.stderr).toContain("nnc: process 1 of 2 failed (exit 3); the others were stopped with it.");
    expect(r.stderr).not.toMatch(/Traceback|\bat .*\.(m?js|ts):\d+/);
    expect(r.seconds).toBeLessThan(CALL_LIMIT_S / 2);
  }, 600_000);

  it("--nproc 2: Ctrl-C stops every process as it stops one, and says how to go on (exit 130, no stack trace)", async () => {
    const r = await interrupted.ran;
    expect(interrupted.sent(), r.stderr).toBe(true);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/nnc: interrupted after epoch \d+; go on with: nnc train scale\.nn --engine pytorch --device cpu --nproc 2 --epochs 100000 --resume /);
    expect(r.stderr).not.toMatch(/Traceback|SignalException|\bat .*\.(m?js|ts):\d+/);
    expect(JSON.parse(readFileSync(join(run("cut"), "checkpoint", "state.json"), "utf8")).epoch).toBeGreaterThanOrEqual(1);
  }, 600_000);
});
