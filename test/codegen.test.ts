/**
 * Generated code: golden files beside the specs (`specs/<model>.ts`; UPDATE_GOLDEN=1 rewrites
 * them — review the diff), type-checked with `tsc --strict` against the runtime's published
 * types, free of `any`, and safe whatever names and strings a spec holds.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { generate, isGenerated } from "../src/codegen/index.js";
import { checkText } from "../src/pipeline.js";

const root = join(import.meta.dirname, "..");
const specs = readdirSync(join(root, "specs")).filter((f) => f.endsWith(".nn"));
const update = process.env["UPDATE_GOLDEN"] === "1";

async function generateFor(text: string, specPath: string, runtimeImport?: string) {
  const r = checkText(text);
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return generate(r.program, { specPath, sourceLines: text.split("\n"), version: "0.0.0-test", ...(runtimeImport ? { runtimeImport } : {}) });
}

describe("generated code", () => {
  for (const spec of specs) {
    it(`for specs/${spec} matches its golden file`, async () => {
      const text = readFileSync(join(root, "specs", spec), "utf8");
      const files = await generateFor(text, `specs/${spec}`);
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        const golden = join(root, "specs", f.name);
        if (update || !existsSync(golden)) writeFileSync(golden, f.content);
        expect(f.content, `${golden} is stale: run UPDATE_GOLDEN=1 npx vitest run test/codegen.test.ts and review the diff`).toBe(readFileSync(golden, "utf8"));
        expect(isGenerated(f.content)).toBe(true);
        expect(f.content.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, "")).not.toMatch(/\bany\b/);
      }
    });
  }

  it("passes tsc --strict against the runtime's published types", () => {
    const goldens = readdirSync(join(root, "specs")).filter((f) => f.endsWith(".ts")).map((f) => join("specs", f));
    expect(goldens.length).toBeGreaterThan(0);
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const args = [tsc, "--noEmit", "--strict", "--noImplicitAny", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node", ...goldens];
    let out = "";
    try {
      execFileSync(process.execPath, args, { cwd: root, encoding: "utf8" });
    } catch (e) {
      out = (e as { stdout?: string }).stdout ?? String(e);
    }
    expect(out).toBe("");
  }, 120_000);

  it("embeds hostile strings as data, never as code", async () => {
    const evil = 'x"); process.exit(7); //\\u2028 */ ${1}`';
    const text = `model m {\n input 4\n dense 2 softmax name out\n}\ntrain m {\n data csv(${JSON.stringify(evil)}, label: ${JSON.stringify("y\"; throw 1; \"")})\n loss crossentropy\n}\n`;
    const [file] = await generateFor(text, 'evil"name*/.nn', pathToFileURL(join(root, "dist", "src", "runtime", "index.js")).href);
    const { transform } = await import("esbuild");
    const js = (await transform(file!.content, { loader: "ts", format: "esm" })).code;
    const dir = mkdtempSync(join(tmpdir(), "nnc-codegen-"));
    const path = join(dir, "m.mjs");
    writeFileSync(path, js);
    const mod = (await import(pathToFileURL(path).href)) as { recipe: { data: { path: string; label: string } } };
    expect(mod.recipe.data.path).toBe(evil);
    expect(mod.recipe.data.label).toBe('y"; throw 1; "');
  });

  it("keeps names that are TypeScript keywords usable as variables", async () => {
    const text = "model m {\n input 4 name class\n dense 3 name new\n dense 2 name tf\n}\n";
    const [file] = await generateFor(text, "m.nn");
    expect(file!.content).toContain("const new_ =");
    expect(file!.content).toContain('name: "new"');
    expect(file!.content).toContain("const tf_ =");
  });
});
