/**
 * The babysitting commands on every backend this machine has: `nnc inspect` gives the same
 * statistics and warnings on cpu, wasm and (where it starts) webgpu; `nnc sanity`, `nnc
 * search` and `nnc train --report` run on wasm (the others' tests run on cpu). node and
 * node-gpu need tfjs-node packages that are optional and not installed here.
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nnc } from "./cli-run.js";



interface Json {
  backend: string;
  loss: number;
  layers: { name: string; z: { std: number }; a: { mean: number; std: number }; signal: number; gradients?: { std: number } }[];
  warnings: { kind: string }[];
}

// Relative, with an absolute floor: an output std of 4e-8 is float32 round-off on any backend.
const close = (a: number, b: number, rel: number): boolean => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) + 1e-6;

describe("nnc inspect on every backend", () => {
  let cpu: Json | undefined;
  const cpuRun = (): Json => (cpu ??= JSON.parse(nnc(["inspect", "specs/babysit/block_sigmoid_small.nn", "--backend", "cpu", "--json", "--batch", "128"]).stdout) as Json);

  for (const backend of ["wasm", "webgpu"]) {
    it(`gives cpu's numbers and warnings on ${backend}`, (ctx) => {
      const r = nnc(["inspect", "specs/babysit/block_sigmoid_small.nn", "--backend", backend, "--json", "--batch", "128"]);
      if (backend === "webgpu" && r.code !== 0 && /Cannot use the webgpu backend/.test(r.stderr)) ctx.skip();
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as Json;
      const reference = cpuRun();
      expect(j.backend).toBe(backend);
      expect(close(j.loss, reference.loss, 1e-4)).toBe(true);
      j.layers.forEach((l, i) => {
        const c = reference.layers[i]!;
        expect(l.name).toBe(c.name);
        expect(close(l.z.std, c.z.std, 1e-3)).toBe(true);
        expect(close(l.a.std, c.a.std, 1e-3)).toBe(true);
        // Gradients of 1e-10 carry float32 round-off from five layers: compare orders of magnitude.
        expect(Math.abs(Math.log10(l.gradients!.std) - Math.log10(c.gradients!.std))).toBeLessThan(0.3);
      });
      expect(j.warnings.map((w) => w.kind)).toEqual(reference.warnings.map((w) => w.kind));
    }, 60_000);
  }
});

describe("sanity, search and the report on wasm", () => {
  it("run end to end", () => {
    const sanity = nnc(["sanity", "specs/babysit/block_tanh_glorot.nn", "--backend", "wasm", "--per-class", "8"]);
    expect(sanity.code, sanity.stdout + sanity.stderr).toBe(0);
    expect(sanity.stdout).toContain("backend: wasm");
    const dir = mkdtempSync(join(tmpdir(), "nnc-wasm-"));
    const spec = join(dir, "s.nn");
    writeFileSync(
      spec,
      "model m(width = 8) {\n  input 4\n  dense width relu init he_normal\n  dense 2 softmax\n}\ntrain m {\n  data ball(dims: 4, n: 120, test: 40)\n  loss crossentropy\n  optim adam lr 1e-2\n  epochs 2\n  seed 1\n}\nsearch m random 2 {\n  width ~ int(4, 12)\n  lr ~ loguniform(1e-3, 1e-1)\n}\n",
    );
    const search = nnc(["search", spec, "--backend", "wasm", "--out", join(dir, "search")]);
    expect(search.code, search.stdout + search.stderr).toBe(0);
    expect(existsSync(join(dir, "search", "best.nn"))).toBe(true);
    const train = nnc(["train", spec, "--backend", "wasm", "--out", join(dir, "run"), "--report", join(dir, "r.html")]);
    expect(train.code, train.stdout + train.stderr).toBe(0);
    expect(existsSync(join(dir, "r.html"))).toBe(true);
  }, 120_000);
});
