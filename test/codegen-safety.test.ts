/**
 * Generated code is safe (issue 6, item 2): whatever names, strings, numbers and file names a
 * spec holds, the emitted TypeScript type-checks with `tsc --strict`, runs, and carries the
 * spec's text only as data. Every place spec text reaches the output is covered: layer and
 * model names (variables, TF.js layer names, the builder's name), strings (data paths, the
 * label column, pretrained paths), numbers, the spec's lines and file name in comments.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { generate, type GeneratedFile } from "../src/codegen/index.js";
import { checkText } from "../src/pipeline.js";

const root = join(import.meta.dirname, "..");
const runtimePath = join(root, "dist", "src", "runtime", "index.js");
const dir = mkdtempSync(join(tmpdir(), "nnc-codegen-safety-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Code that sets this global if it ever runs: it must stay inside strings and comments. */
const PWN = "globalThis.__nncPwned = 1";
const HOSTILE = [
  `x"); ${PWN}; //`,
  `*/ ${PWN}; /*`,
  `\${${PWN}}`,
  `\`; ${PWN}; \``,
  `\\"); ${PWN}; //`,
  `a\u2028${PWN}\u2029b`,
  `\u202e\u200b\ufeff 🚀 模型`,
  `</script>${PWN}`,
];
/** A spec string holding `s`: the .nn escapes are `\"` and `\\`. */
const nnString = (s: string): string => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

/** Layer names that are reserved words, host-object keys, or the emitter's own derived names. */
const NAMES = ["arguments", "eval", "class", "let", "static", "yield", "await", "package", "enum", "NaN", "undefined", "Infinity", "constructor_", "toString_", "prototype", "seed", "tf", "nnc", "buildM", "seed_", "class_"];

function spec(): string {
  const layers = NAMES.map((n) => `  dense 4 relu name ${n}`).join("\n");
  return [
    `# ${HOSTILE.join(" ")}`,
    `model __proto__ {`,
    `  input 4x4x2 name a # ${HOSTILE[1]}`,
    // `a` needs a helper variable and layer for its activation (a_pre, a_leaky_relu); `c` a padding (c_pad).
    `  conv 3x3x2 same leaky_relu(0.1) name b`,
    `  conv 3x3x2 full name c`,
    `  conv 1x1x2 name b_pre -> maxout(2) name b_leaky_relu`,
    `  conv 1x1x2 valid name c_pad`,
    `  conv 1x1x2 valid name b_pre_2 -> prelu name c_pad_2`,
    `  flatten`,
    layers,
    `  dense 3 softmax name "constructor__"`,
    `}`,
    `train __proto__ {`,
    `  data csv(${nnString(HOSTILE[0]!)}, label: ${nnString(HOSTILE[5]!)})`,
    `  loss crossentropy`,
    `  optim adam lr 1e-320`,
    `  seed 4294967295`,
    `  pretrained ${nnString(HOSTILE[3]! + HOSTILE[2]!)}`,
    `}`,
    `model constructor {`,
    `  input 3`,
    `  dense 2 softmax bias -0 l2 0 name ${NAMES[0]}`,
    `}`,
  ].join("\n");
}

async function build(runtimeImport: string, specPath: string): Promise<GeneratedFile[]> {
  const text = spec();
  const r = checkText(text);
  expect(r.diagnostics.filter((d) => d.severity === "error"), "the hostile spec must check clean").toEqual([]);
  return generate(r.program, { specPath, sourceLines: text.split("\n"), version: "0.0.0-test", runtimeImport });
}

describe("generated code from a hostile spec", () => {
  const specPath = `ev"il*/\u2028\n\${${PWN}}\`.nn`;

  it("passes tsc --strict", async () => {
    const files = await build(runtimePath, specPath);
    expect(files.map((f) => f.name).sort()).toEqual(["__proto__.ts", "constructor.ts"]);
    const paths = files.map((f) => {
      const p = join(dir, f.name);
      writeFileSync(p, f.content);
      return p;
    });
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    let out = "";
    try {
      execFileSync(process.execPath, [tsc, "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node", ...paths], { cwd: root, encoding: "utf8" });
    } catch (e) {
      out = (e as { stdout?: string }).stdout ?? String(e);
    }
    expect(out).toBe("");
  }, 120_000);

  it("runs: builds every layer under its own name, and the strings come back as data", async () => {
    const files = await build(pathToFileURL(runtimePath).href, specPath);
    const { transform } = await import("esbuild");
    const g = globalThis as { __nncPwned?: number };
    for (const f of files) {
      const js = (await transform(f.content, { loader: "ts", format: "esm" })).code;
      const path = join(dir, `${f.model}.mjs`);
      writeFileSync(path, js);
      const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
      const builder = mod[f.builder] as (seed?: number) => { layers: { name: string }[]; dispose(): void };
      expect(typeof builder).toBe("function");
      const model = builder(1);
      const names = model.layers.map((l) => l.name);
      expect(new Set(names).size).toBe(names.length);
      if (f.model === "__proto__") {
        for (const n of [...NAMES, "a", "b", "b_pre", "b_leaky_relu", "c", "c_pad", "c_pad_2", "b_pre_2", "constructor__"]) expect(names).toContain(n);
        const recipe = mod["recipe"] as { data: { path: string; label: string }; pretrained: string; lr: number; seed: number };
        expect(recipe.data.path).toBe(HOSTILE[0]);
        expect(recipe.data.label).toBe(HOSTILE[5]);
        expect(recipe.pretrained).toBe(HOSTILE[3]! + HOSTILE[2]!);
        expect(recipe.lr).toBe(1e-320);
        expect(recipe.seed).toBe(4294967295);
      }
      model.dispose();
    }
    expect(g.__nncPwned).toBeUndefined();
  }, 60_000);

  it("keeps spec text inside comments and string literals", async () => {
    const ts = (await import("typescript")).default;
    const files = await build("nnc/runtime", specPath);
    for (const f of files) {
      // Every token of the module, by TypeScript's own scanner: the payload's identifier may
      // appear only inside a comment or a string.
      const scanner = ts.createScanner(ts.ScriptTarget.ES2022, false, ts.LanguageVariant.Standard, f.content);
      const code: string[] = [];
      for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) {
        if (k === ts.SyntaxKind.TemplateHead || k === ts.SyntaxKind.NoSubstitutionTemplateLiteral || k === ts.SyntaxKind.Unknown) code.push(`${ts.SyntaxKind[k]} ${scanner.getTokenText()}`);
        if (k === ts.SyntaxKind.Identifier) code.push(scanner.getTokenText());
      }
      expect(code.filter((t) => /__nncPwned|Template|Unknown/.test(t))).toEqual([]);
      expect(f.content).toContain("__nncPwned");
      // No raw line or paragraph separator survives anywhere (some parsers end comments at them).
      expect(f.content).not.toMatch(/[\u2028\u2029]/);
    }
  });

  it("gives automatic names around layers named like them (`name input1`, `name add1`), the input staying the input", async () => {
    const text = "model m {\n  input 10\n  dense 8 relu name input1\n  dense 8 relu name add1\n  residual { dense 8 relu name project1 }\n  residual project { dense 4 relu }\n  dense 1 sigmoid name m\n}\n";
    const r = checkText(text);
    expect(r.diagnostics).toEqual([]);
    const names = r.program.models[0]!.layers.map((l) => l.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names[0]).toBe("input2");
    const [file] = await generate(r.program, { specPath: "m.nn", sourceLines: text.split("\n"), version: "0.0.0-test", runtimeImport: pathToFileURL(runtimePath).href });
    const { transform } = await import("esbuild");
    const path = join(dir, "automatic-names.mjs");
    writeFileSync(path, (await transform(file!.content, { loader: "ts", format: "esm" })).code);
    const mod = (await import(pathToFileURL(path).href)) as { buildM: (seed?: number) => { inputs: { shape: (number | null)[] }[]; layers: { name: string }[]; dispose(): void } };
    const model = mod.buildM(1);
    expect(model.inputs[0]!.shape).toEqual([null, 10]);
    expect(model.layers.map((l) => l.name)).toEqual(names);
    model.dispose();
  });

  it("refuses a layer name TensorFlow.js cannot load back (a key of Object.prototype), with a rename", () => {
    for (const name of ["constructor", "toString", "valueOf", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "toLocaleString"]) {
      for (const written of [name, `"${name}"`]) {
        const r = checkText(`model m {\n input 3\n dense 2 name ${written}\n}\n`);
        expect(r.diagnostics.map((d) => d.code), written).toEqual(["NN2018"]);
        const fix = r.diagnostics[0]!.fixes![0]!.edits[0]!;
        const fixed = `model m {\n input 3\n dense 2 name ${written}\n}\n`.replace(written, fix.newText);
        expect(checkText(fixed).diagnostics).toEqual([]);
      }
    }
  });

  it("refuses a layer name TensorFlow.js cannot take", () => {
    const r = checkText("model m {\n input 3\n dense 2 name __proto__\n dense 2 name \"_x\"\n}\n");
    const errors = r.diagnostics.filter((d) => d.code === "NN1013");
    expect(errors.map((d) => d.range.start.line)).toEqual([2, 3]);
    expect(errors[0]!.hint).toBe("For example: `name proto__`.");
  });

  it("refuses numbers that cannot be written as literals", () => {
    for (const bad of ["lr 1e400", "weight_decay 1e999"]) {
      const r = checkText(`model m {\n input 3\n dense 2 softmax\n}\ntrain m {\n data ball(dims: 3)\n loss crossentropy\n ${bad}\n}\n`);
      expect(r.diagnostics.some((d) => d.severity === "error" && d.range.start.line === 7), bad).toBe(true);
    }
  });
});
