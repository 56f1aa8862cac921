/**
 * Multithreaded wasm (src/runtime/backends/wasm/threads.ts) and nnc's WebAssembly SIMD kernels
 * (src/runtime/backends/wasm/simd/). A process can start the wasm backend only once, so every
 * threaded case runs in a child process of the built runtime (`npm test` builds first).
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

/** Runs `body` as an ES module next to the built runtime; returns its output and how long it took. */
function child(body: string, env: Record<string, string | undefined> = {}): { status: number | null; stdout: string; stderr: string; ms: number } {
  const script = `import * as tf from "@tensorflow/tfjs";\nimport { selectBackend } from "./dist/src/runtime/backends/select.js";\ntf.enableProdMode();\n${body}`;
  const started = performance.now();
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8", env: childEnv, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - started };
}

/** A conv, a matmul and a max pool gradient on the selected backend and on cpu, and the largest difference. */
const COMPARE = `
const lines = [];
const chosen = await selectBackend("wasm", (l) => lines.push(l), OPTIONS);
const work = () => {
  const x = tf.randomUniform([8, 20, 20, 16], -1, 1, "float32", 1);
  const f = tf.randomUniform([5, 5, 16, 32], -1, 1, "float32", 2);
  const a = tf.randomUniform([64, 300], -1, 1, "float32", 3);
  const b = tf.randomUniform([300, 200], -1, 1, "float32", 4);
  const g = tf.grad((t) => tf.maxPool(tf.relu(tf.conv2d(t, f, 1, "same")), 2, 2, "valid").sum())(x);
  return [tf.conv2d(x, f, 1, "same"), tf.matMul(a, b), g];
};
const onWasm = await Promise.all(work().map((t) => t.data()));
await tf.setBackend("cpu");
const onCpu = await Promise.all(work().map((t) => t.data()));
let worst = 0;
onWasm.forEach((v, i) => v.forEach((value, j) => { worst = Math.max(worst, Math.abs(value - onCpu[i][j]) / (1 + Math.abs(onCpu[i][j]))); }));
console.log(JSON.stringify({ lines, worst }));
`;

describe("multithreaded wasm", () => {
  it("runs on 2 threads when asked, agrees with cpu, and lets the process exit by itself", () => {
    const r = child(COMPARE.replace("OPTIONS", "{ needsConvGradients: true }"), { NNC_WASM_THREADS: "2" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { lines: string[]; worst: number };
    expect(out.lines).toEqual(["backend: wasm (WebAssembly with XNNPACK, 2 threads), as requested"]);
    expect(out.worst).toBeLessThan(1e-4);
  });

  it("keeps one thread for a small model, and says why and how to override it", () => {
    const r = child(COMPARE.replace("OPTIONS", "{ needsConvGradients: false, multiplyAddsPerBatch: 1.3e6 }"), { NNC_WASM_THREADS: undefined });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { lines: string[]; worst: number };
    // On a one-core machine there is nothing to explain.
    if (availableParallelism() > 1) expect(out.lines[0]).toMatch(/^wasm: one thread, since this model is small \(1\.3 M multiply-adds per batch; threads pay from 100 M\)\. NNC_WASM_THREADS=\d+ overrides\.$/);
    expect(out.lines.at(-1)).toBe("backend: wasm (WebAssembly with XNNPACK, one thread), as requested");
    expect(out.worst).toBeLessThan(1e-4);
  });

  it("takes one thread when NNC_WASM_THREADS=1, and refuses a value that is not a count", () => {
    const one = child(COMPARE.replace("OPTIONS", "{ needsConvGradients: true }"), { NNC_WASM_THREADS: "1" });
    expect(one.status).toBe(0);
    expect((JSON.parse(one.stdout) as { lines: string[] }).lines).toEqual(["backend: wasm (WebAssembly with XNNPACK, one thread), as requested"]);
    const bad = child(`await selectBackend("wasm", () => {}).then(() => console.log("started"), (e) => console.log(e.name + ": " + e.message));`, { NNC_WASM_THREADS: "lots" });
    expect(bad.stdout.trim()).toBe("BackendError: Cannot use the wasm backend: NNC_WASM_THREADS must be a whole number ≥ 1, got 'lots'.");
  });
});

describe("nnc's WebAssembly SIMD kernels", () => {
  it("are built from kernels.wat as it stands (scripts/build-wasm-simd.mjs --check)", () => {
    const r = spawnSync(process.execPath, [join(root, "scripts", "build-wasm-simd.mjs"), "--check"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
