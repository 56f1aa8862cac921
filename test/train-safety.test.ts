/**
 * `nnc train` against an adversary (issue 12), through the built CLI: Ctrl-C says how to go
 * on and exits 130, and what it leaves resumes exactly; --out never replaces a user's files
 * (unless --force) and a folder that cannot be made is a message, not a hang or an internal
 * error; stale temporaries of killed runs are cleaned up; a missing or wrong `pretrained`
 * path, a model or data too big for the backend, a model too deep for TF.js and a layer name
 * TF.js cannot load back are each one clear message with exit status 1, never 3.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ROOT } from "./cli-run.js";

type Runtime = typeof import("../src/runtime/index.js");
const runtime = (): Promise<Runtime> => import(pathToFileURL(join(ROOT, "dist", "src", "runtime", "index.js")).href) as Promise<Runtime>;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "nnc-train-safety-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `nnc ...args` in `cwd`, killed after `timeout` ms (a hang fails the test instead of the suite). */
function nnc(args: string[], cwd = dir, timeout = 120_000): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", timeout, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Exit status 1 with one `nnc:` message and no stack trace. */
function refused(r: Run): string {
  expect(r.signal, r.stderr).toBeNull();
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).not.toMatch(/internal error|\bat .*\.m?js:\d+/);
  const line = r.stderr.split("\n").find((l) => l.startsWith("nnc: "));
  expect(line, r.stderr).toBeDefined();
  return line!;
}

const spec = (name: string, body: string, recipe: string): string => {
  writeFileSync(join(dir, `${name}.nn`), `model ${name} {\n${body}\n}\ntrain ${name} {\n${recipe}\n}\n`);
  return `${name}.nn`;
};

const BALL = " data ball(dims: 10, n: 256)\n loss binary_crossentropy\n optim adam lr 0.01\n batch 32\n epochs 3\n seed 4";
const small = (name: string): string => spec(name, " input 10\n dense 8 relu\n dense 1 sigmoid", BALL);

/** Starts `nnc train …` and sends `signal` `delay(epoch)` ms after the first epoch line for which `after` holds. */
function trainAndSignal(args: string[], signal: NodeJS.Signals, after: (epoch: number) => boolean, delay: () => number): Promise<Run & { epochs: number[] }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
    const epochs: number[] = [];
    let stdout = "";
    let stderr = "";
    let armed = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      for (const m of d.matchAll(/^\{"epoch":(\d+)/gm)) {
        const epoch = Number(m[1]);
        epochs.push(epoch);
        if (!armed && after(epoch)) {
          armed = true;
          setTimeout(() => child.kill(signal), delay());
        }
      }
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", fail);
    child.on("close", (code, sig) => done({ code, signal: sig, stdout, stderr, epochs }));
  });
}

describe("Ctrl-C", () => {
  it("stops after the batch in progress, exits 130 and prints the command that goes on exactly", async () => {
    const file = spec("c", " input 10\n dense 64 tanh\n dropout 0.2\n dense 1 sigmoid", " data ball(dims: 10, n: 2000)\n loss binary_crossentropy\n optim adam lr 0.01\n schedule cosine\n batch 16\n epochs 6\n seed 8");
    const whole = nnc(["train", file, "--backend", "cpu", "--out", "c-whole", "--log-json"]);
    expect(whole.code, whole.stderr).toBe(0);
    const cut = await trainAndSignal(["train", file, "--backend", "cpu", "--out", "c-cut", "--log-json"], "SIGINT", (e) => e === 2, () => 100);
    expect(cut.signal).toBeNull();
    expect(cut.code, cut.stderr).toBe(130);
    const m = /^nnc: interrupted after epoch (\d+); go on with: (nnc train c\.nn --backend cpu --resume c-cut)$/m.exec(cut.stderr);
    expect(m, cut.stderr).not.toBeNull();
    const epoch = Number(m![1]);
    expect(epoch).toBeGreaterThanOrEqual(2);
    expect(cut.stderr).toContain("interrupted: stopping after the step in progress (press Ctrl-C again to stop at once)");
    expect(existsSync(join(dir, "c-cut", "history.json"))).toBe(false);
    expect(readdirSync(join(dir, "c-cut")).filter((e) => e.includes(".tmp"))).toEqual([]);
    // The printed command, run as printed.
    const resumed = nnc([...m![2]!.split(" ").slice(1), "--log-json"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming from epoch ${epoch} of 6`);
    const history = (out: string): unknown[] => (JSON.parse(readFileSync(join(dir, out, "history.json"), "utf8")) as { epochs: { seconds: number }[] }).epochs.map(({ seconds: _, ...rest }) => rest);
    expect(history("c-cut")).toEqual(history("c-whole"));
    expect(readFileSync(join(dir, "c-cut", "weights.bin")).equals(readFileSync(join(dir, "c-whole", "weights.bin")))).toBe(true);
  }, 180_000);

  it("before the first epoch finishes says there is nothing to go on from", async () => {
    const file = spec("c0", " input 10\n dense 256 tanh\n dense 1 sigmoid", " data ball(dims: 10, n: 100000)\n loss binary_crossentropy\n optim adam lr 0.01\n batch 2\n epochs 2\n seed 8");
    const child = spawn(process.execPath, [CLI, "train", file, "--backend", "cpu", "--out", "c0-run"], { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      if (d.includes("data: ball")) setTimeout(() => child.kill("SIGINT"), 200);
    });
    const code = await new Promise<number | null>((done) => child.on("close", (c) => done(c)));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain("nnc: interrupted before the first epoch finished: nothing was saved to go on from; run `nnc train c0.nn --backend cpu --out c0-run` again to start over.");
  }, 120_000);

  it("during checkpoint writes finishes the write: what is left always loads, with no temporaries", async () => {
    // One batch per epoch and 200k weights: most of the time goes into writing checkpoints.
    const file = spec("k", " input 10\n dense 256 tanh\n dense 256 tanh\n dense 256 tanh\n dense 1 sigmoid", " data ball(dims: 10, n: 64)\n loss binary_crossentropy\n optim adam lr 0.001\n batch 64\n epochs 100000\n seed 2");
    const { readCheckpoint } = await runtime();
    let random = 99;
    const next = (): number => ((random = (Math.imul(random, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let last = 0;
    for (let round = 0; round < 3; round++) {
      const r = await trainAndSignal(["train", file, "--backend", "wasm", "--out", "k-run", "--log-json", ...(round > 0 ? ["--resume", "k-run"] : [])], "SIGINT", (e) => round > 0 || e >= 2, () => 20 + next() * 500);
      expect(r.code, r.stderr).toBe(130);
      const m = /interrupted after epoch (\d+); go on with: nnc train k\.nn --backend wasm --resume k-run/.exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      const ckpt = await readCheckpoint(join(dir, "k-run", "checkpoint"));
      expect(ckpt.state.epoch).toBe(Number(m![1]));
      expect(ckpt.state.epoch).toBeGreaterThanOrEqual(last);
      last = ckpt.state.epoch;
      expect(readdirSync(join(dir, "k-run")).sort()).toEqual(["best", "checkpoint", "nnc-run.json"]);
    }
  }, 180_000);
});

describe("--out", () => {
  it("never replaces a user's files without --force", () => {
    const file = small("o");
    const mine = join(dir, "mine");
    mkdirSync(join(mine, "checkpoint"), { recursive: true });
    writeFileSync(join(mine, "model.json"), "my model");
    writeFileSync(join(mine, "weights.bin"), "my weights");
    writeFileSync(join(mine, "history.json"), "my history");
    writeFileSync(join(mine, "checkpoint", "notes.txt"), "my notes");
    const r = nnc(["train", file, "--backend", "cpu", "--out", "mine"]);
    expect(refused(r)).toBe(
      "nnc: The output folder mine already holds checkpoint, history.json, model.json, weights.bin, which nnc did not write (it has no nnc-run.json): training there would replace them. Choose another folder with --out, or pass --force to replace them.",
    );
    expect(r.stdout).not.toContain('"epoch"');
    expect(readdirSync(mine).sort()).toEqual(["checkpoint", "history.json", "model.json", "weights.bin"]);
    expect(readFileSync(join(mine, "checkpoint", "notes.txt"), "utf8")).toBe("my notes");
    // An nnc run folder is written over; --force writes over the user's.
    expect(nnc(["train", file, "--backend", "cpu", "--out", "o-run"]).code).toBe(0);
    expect(nnc(["train", file, "--backend", "cpu", "--out", "o-run"]).code).toBe(0);
    const forced = nnc(["train", file, "--backend", "cpu", "--out", "mine", "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(join(mine, "model.json"), "utf8")).toContain("modelTopology");
  }, 120_000);

  it("that cannot be made is a message, not a hang or an internal error", () => {
    const file = small("p");
    writeFileSync(join(dir, "a-file"), "x");
    expect(refused(nnc(["train", file, "--backend", "cpu", "--out", "a-file"]))).toBe("nnc: The output folder a-file is a file, not a folder. Choose another folder with --out.");
    expect(refused(nnc(["train", file, "--backend", "cpu", "--out", "a-file/sub"]))).toBe("nnc: Cannot use the output folder a-file/sub: a file is in the way.");
    if (existsSync("/proc/self")) {
      expect(refused(nnc(["train", file, "--backend", "cpu", "--out", "/proc/nnc-run"], dir, 60_000))).toBe("nnc: Cannot make the folder /proc/nnc-run: /proc does not take new folders.");
      // The report's folder too (its page is written after training).
      const report = nnc(["train", file, "--backend", "cpu", "--out", "p-run", "--report", "/proc/nnc-report/r.html"], dir, 60_000);
      expect(refused(report)).toBe("nnc: the run is saved, but its report is not: Cannot make the folder /proc/nnc-report: /proc does not take new folders.");
    }
  }, 120_000);

  it("loses a killed run's stale temporaries when it is resumed, and only those", () => {
    const file = small("t");
    expect(nnc(["train", file, "--backend", "cpu", "--out", "t-run"]).code).toBe(0);
    const dead = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
    writeFileSync(join(dir, "t-run", `.weights.bin.${dead}.00ff00ff.tmp`), "half a file");
    mkdirSync(join(dir, "t-run", `.checkpoint.tmp-${dead}-00ff00ff`));
    writeFileSync(join(dir, "t-run", "notes.tmp"), "mine");
    const r = nnc(["train", file, "--backend", "cpu", "--resume", "t-run", "--epochs", "4"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removed 2 temporary files and folders that a killed run left in t-run: /);
    expect(readdirSync(join(dir, "t-run")).filter((e) => e.startsWith("."))).toEqual([]);
    expect(existsSync(join(dir, "t-run", "notes.tmp"))).toBe(true);
  }, 120_000);
});

describe("a pretrained path", () => {
  it("that is missing, a folder without a model, or a plain file is a message", () => {
    mkdirSync(join(dir, "empty-folder"));
    writeFileSync(join(dir, "notes.txt"), "not a model");
    const cases: [string, string][] = [
      ["nowhere/model.json", 'nnc: The pretrained model "nowhere/model.json" does not exist: there is no nowhere/model.json.'],
      ["empty-folder", 'nnc: The pretrained model "empty-folder" is a folder without a model.json (empty-folder).'],
      ["notes.txt", 'nnc: The pretrained model "notes.txt" is a file, but not a model.json (notes.txt).'],
    ];
    for (const [path, message] of cases) {
      const file = spec("pre", " input 10\n dense 8 relu\n dense 1 sigmoid", `${BALL}\n pretrained ${JSON.stringify(path)}`);
      expect(refused(nnc(["train", file, "--backend", "cpu", "--out", "pre-run", "--force"]))).toContain(message);
    }
  }, 120_000);
});

describe("runs that cannot fit or be built", () => {
  it("a model too big for wasm is refused with the numbers before it is built", () => {
    const file = spec("huge", " input 10\n dense 10000000 relu\n dense 1 sigmoid", BALL);
    const started = performance.now();
    const line = refused(nnc(["train", file, "--backend", "wasm", "--out", "huge-run"]));
    expect(line).toMatch(/^nnc: The model `huge` needs about [\d.]+ GB to train at batch 32 \(weights 458 MB, gradients 458 MB, adam's state 916 MB, the backward pass 12 GB \(a batch's activations, their gradients and TF\.js's intermediates\)\); the wasm backend can use at most 4 GB \(WebAssembly's 32-bit address space\)/);
    expect(performance.now() - started).toBeLessThan(60_000);
    const conv = spec("convs", " input 28x28x1\n conv 3x3x1024 relu\n conv 3x3x1024 relu\n global avgpool\n dense 10 softmax", " data mnist(train: 512, test: 0)\n loss crossentropy\n optim adam lr 0.01\n batch 512\n epochs 1\n seed 1");
    expect(refused(nnc(["train", conv, "--backend", "wasm", "--out", "convs-run"]))).toMatch(/^nnc: The model `convs` needs about [\d.]+ GB to train at batch 512 \(.*the backward pass [\d.]+ GB \(a batch's activations, their gradients and TF\.js's intermediates\)\); the wasm backend can use at most 4 GB .*Hint: `batch \d+` or less would fit/);
  }, 180_000);

  it("synthetic data too big for the backend is refused before it is made", () => {
    const n = spec("bign", " input 10\n dense 8 relu\n dense 1 sigmoid", BALL.replace("n: 256", "n: 1e9"));
    expect(refused(nnc(["train", n, "--backend", "wasm", "--out", "bign-run"]))).toMatch(/^nnc: ball\(dims: 10, n: 1,000,000,000\) makes 1,000,000,000 points of 10 features: 10,000,000,000 float32 values/);
    // At batch 1 the model itself fits (about 0.7 GB); its data does not.
    const dims = spec("bigdims", " input 10000000\n dense 1 sigmoid", BALL.replace("dims: 10, n: 256", "dims: 1e7, n: 100").replace("batch 32", "batch 1"));
    expect(refused(nnc(["train", dims, "--backend", "wasm", "--out", "bigdims-run"]))).toMatch(
      /^nnc: ball\(dims: 10,000,000, n: 100\) makes 100 points of 10,000,000 features: 1,000,000,000 float32 values \(3\.7 GB\), which training holds twice .* the wasm backend can use at most 4 GB/,
    );
  }, 120_000);

  it("a model too deep for TF.js's recursion on the stack it has is a message with the depth it builds", () => {
    // The command line runs a deep model again with a larger stack (test/deep-models.test.ts);
    // NNC_DEEP_STACK says it already has, so this run keeps Node's default stack.
    const file = spec("deep", " input 4\n repeat 5000 residual { dense 4 relu }\n dense 1 sigmoid", " data ball(dims: 4, n: 32)\n loss binary_crossentropy\n optim sgd lr 0.01\n batch 32\n epochs 1\n seed 1");
    process.env["NNC_DEEP_STACK"] = "1";
    try {
      expect(refused(nnc(["train", file, "--backend", "cpu", "--out", "deep-run"]))).toMatch(/^nnc: The model `deep` is too deep for TF\.js: .*up to about 4,200 layers/);
    } finally {
      delete process.env["NNC_DEEP_STACK"];
    }
  }, 180_000);

  it("a layer named like a JavaScript built-in is refused before training: TF.js could not load the model back", () => {
    for (const name of ["constructor", "valueOf"]) {
      const file = spec("builtin", ` input 10\n dense 8 relu name ${name}\n dense 1 sigmoid`, BALL);
      const r = nnc(["train", file, "--backend", "cpu", "--out", `builtin-${name}`, "--report", "r.html"]);
      // The runtime refuses it (and the checker may, first): exit 1 naming the layer, nothing trained.
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).not.toMatch(/internal error|\bat .*\.m?js:\d+/);
      expect(r.stdout + r.stderr).toContain(`\`${name}\``);
      expect(r.stdout).not.toContain('"epoch"');
      expect(existsSync(join(dir, "r.html"))).toBe(false);
    }
  }, 120_000);
});
