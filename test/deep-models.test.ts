/**
 * Deep chains of layers (issue 12): TensorFlow.js builds and runs a model recursing once per
 * layer, which overflowed Node's stack for `repeat 5000 residual { dense 4 relu }` although
 * the spec checked clean. The command line now runs such a model with a larger stack
 * (src/cli/deep-stack.ts), and the checker refuses chains deeper than that stack holds (NN3016).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkText } from "../src/pipeline.js";
import { chainDepth, MAX_CHAIN_DEPTH } from "../src/typecheck/index.js";
import { CLI, nnc } from "./cli-run.js";

const dir = mkdtempSync(join(tmpdir(), "nnc-deep-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A chain of `blocks` residual blocks of one layer each: two layers a block (the dense and its add). */
const deep = (blocks: number): string => `model deep {
  input 4
  repeat ${blocks} residual { dense 4 init zeros }
  dense 1 sigmoid
}

train deep {
  data ball(dims: 4, n: 64)
  loss binary_crossentropy
  epochs 1
  batch 64
  seed 1
}
`;

describe("a deep chain of layers", () => {
  it("counts the longest chain, the input included", () => {
    const m = checkText(deep(10)).program.models[0]!;
    expect(chainDepth(m.layers)).toBe(1 + 2 * 10 + 1);
  });

  it("trains through `nnc train` at 2,500 blocks (5,000 layers), which overflowed the default stack", () => {
    const spec = join(dir, "deep.nn");
    writeFileSync(spec, deep(2500));
    const r = nnc(["train", spec, "--backend", "cpu", "--out", join(dir, "run"), "--log-json"]);
    expect(r.stderr).not.toContain("too deep");
    expect(r.code, r.stderr).toBe(0);
    const history = JSON.parse(readFileSync(join(dir, "run", "history.json"), "utf8")) as { epochs: unknown[] };
    expect(history.epochs).toHaveLength(1);
  }, 180_000);

  it("stops at Ctrl-C on the larger stack as it does on the default one: after its step, saying how to resume, exit 130", async () => {
    const spec = join(dir, "deep-long.nn");
    writeFileSync(spec, deep(2500).replace("epochs 1", "epochs 50"));
    const child = spawn(process.execPath, [CLI, "train", spec, "--backend", "cpu", "--out", join(dir, "cut"), "--log-json"], { env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    let sent = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      // After the first epoch: the run has a checkpoint to go on from.
      if (!sent && stdout.includes('"epoch":1')) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    expect(sent, stderr).toBe(true);
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted after epoch \d+; go on with: nnc train .*--resume/);
    expect(readFileSync(join(dir, "cut", "checkpoint", "state.json"), "utf8")).toContain('"epoch"');
  }, 240_000);

  it("is refused by the checker beyond the chain the larger stack holds (NN3016)", () => {
    const blocks = Math.ceil(MAX_CHAIN_DEPTH / 2);
    const r = checkText(deep(blocks));
    expect(r.diagnostics.map((d) => d.code)).toEqual(["NN3016"]);
    expect(r.diagnostics[0]!.message).toContain(`${(2 * blocks + 2).toLocaleString("en-US")} layers deep`);
    // Where the chain passes the limit: the `repeat` line, not the model's name.
    expect(r.diagnostics[0]!.range.start.line).toBe(2);
    expect(checkText(deep(Math.floor((MAX_CHAIN_DEPTH - 2) / 2))).diagnostics).toEqual([]);
  });
});
