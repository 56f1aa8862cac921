/**
 * Generated Python: golden files beside the specs (`specs/<model>.py`; UPDATE_GOLDEN=1 rewrites
 * them — review the diff), compiled by `python3 -m py_compile` and clean under Debian's
 * `pyflakes3`, safe whatever names and strings a spec holds. That the code computes what the
 * TF.js code computes is test/pytorch-equivalence.test.ts.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generate, isGenerated } from "../src/codegen/index.js";
import { checkText } from "../src/pipeline.js";
import { torchPython } from "./torch-python.js";

const root = join(import.meta.dirname, "..");
const specs = readdirSync(join(root, "specs")).filter((f) => f.endsWith(".nn"));
const update = process.env["UPDATE_GOLDEN"] === "1";
const requireTools = process.env["NNC_REQUIRE_TORCH"] === "1";

async function generateFor(text: string, specPath: string) {
  const r = checkText(text);
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return generate(r.program, { specPath, sourceLines: text.split("\n"), version: "0.0.0-test", target: "pytorch" });
}

/** Some python3 for py_compile (torch not needed). */
const python = ["/usr/bin/python3", "python3"].find((p) => spawnSync(p, ["--version"]).status === 0);
const pyflakes = ["pyflakes3", "pyflakes"].find((p) => spawnSync(p, ["--version"]).status === 0);

describe("generated Python", () => {
  for (const spec of specs) {
    it(`for specs/${spec} matches its golden file`, async () => {
      const text = readFileSync(join(root, "specs", spec), "utf8");
      const files = await generateFor(text, `specs/${spec}`);
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        expect(f.name).toMatch(/\.py$/);
        const golden = join(root, "specs", f.name);
        if (update || !existsSync(golden)) writeFileSync(golden, f.content);
        expect(f.content, `${golden} is stale: run UPDATE_GOLDEN=1 npx vitest run test/codegen-pytorch.test.ts and review the diff`).toBe(readFileSync(golden, "utf8"));
        expect(isGenerated(f.content)).toBe(true);
      }
    });
  }

  const goldens = (): string[] => readdirSync(join(root, "specs")).filter((f) => f.endsWith(".py")).map((f) => join(root, "specs", f));

  it.runIf(python !== undefined)("compiles with python3 -m py_compile", () => {
    const files = goldens();
    expect(files.length).toBeGreaterThan(5);
    const dir = mkdtempSync(join(tmpdir(), "nnc-pycompile-"));
    try {
      const code = `import py_compile, sys\nfor f in sys.argv[1:]:\n    py_compile.compile(f, cfile="${dir}/x.pyc", doraise=True)\n`;
      const r = spawnSync(python!, ["-c", code, ...files], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(pyflakes !== undefined || requireTools)("is clean under pyflakes (Debian's pyflakes3), as is the Python runtime", () => {
    expect(pyflakes, "NNC_REQUIRE_TORCH=1 needs pyflakes3 (apt-get install pyflakes3)").toBeDefined();
    const runtime = join(root, "python", "nnc_torch");
    const r = spawnSync(pyflakes!, [...goldens(), runtime], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  const torch = torchPython();
  it.runIf(torch.ok)("embeds hostile strings as data and keeps names that are Python keywords or nn.Module's own usable", async () => {
    const evil = 'x"); import os; os._exit(7) #\\u2028 """ \'\'\' {1}';
    const text = [
      "model m {",
      " input 4 name class",
      " dense 3 name forward",
      " dense 3 name training relu",
      " dense 3 name x prelu",
      " dense 2 softmax name self",
      "}",
      "train m {",
      ` data csv(${JSON.stringify(evil)}, label: ${JSON.stringify('y"; raise SystemExit(3); "')})`,
      " loss crossentropy",
      "}",
      "",
    ].join("\n");
    const [file] = await generateFor(text, 'evil"""name\\.nn');
    const dir = mkdtempSync(join(tmpdir(), "nnc-codegen-py-"));
    try {
      writeFileSync(join(dir, "m.py"), file!.content);
      cpSync(join(root, "python", "nnc_torch"), join(dir, "nnc_torch"), { recursive: true });
      const check = [
        "import json, torch, m",
        "net = m.M(0)",
        "y = net(torch.zeros(2, 4))",
        "print(json.dumps({'path': m.RECIPE['data']['path'], 'label': m.RECIPE['data']['label'], 'shape': list(y.shape), 'weights': [w[0] for w in m.WEIGHTS]}))",
      ].join("\n");
      const r = spawnSync(torch.ok ? torch.python : "python3", ["-c", check], { cwd: dir, encoding: "utf8", env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } });
      expect(r.stderr).toBe("");
      const out = JSON.parse(r.stdout) as { path: string; label: string; shape: number[]; weights: string[] };
      expect(out.path).toBe(evil);
      expect(out.label).toBe('y"; raise SystemExit(3); "');
      expect(out.shape).toEqual([2, 2]);
      // TF.js's names are the spec's; the module's attributes step aside where Python or nn.Module needs the name.
      expect(out.weights).toContain("x_prelu/alpha");
      expect(out.weights).toContain("forward/kernel");
      expect(file!.content).toContain("self.forward_ = nn.Linear(4, 3)");
      expect(file!.content).toContain("self.training_ = nn.Linear(3, 3)");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
