/**
 * The VS Code extension's package-lock.json is what `npm install` writes in editors/vscode
 * (issue 12, item 7): npm copies the manifest's name, version, license, engines and
 * dependencies into the lock's root entry, and locks every dependency, so a lock that
 * disagrees with package.json is rewritten by the next `npm install` (a diff in every clone).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./cli-run.js";

const dir = join(ROOT, "editors", "vscode");
const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<string, unknown>;
const lock = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8")) as { name: string; version?: string; lockfileVersion: number; packages: Record<string, Record<string, unknown>> };

describe("editors/vscode/package-lock.json", () => {
  it("carries the manifest's fields in its root entry, as npm writes them", () => {
    expect(lock.lockfileVersion).toBe(3);
    expect(lock.name).toBe(manifest["name"]);
    expect(lock.version).toBe(manifest["version"]);
    const root = lock.packages[""]!;
    for (const key of ["name", "version", "license", "engines", "dependencies", "devDependencies"]) expect(root[key], key).toEqual(manifest[key]);
  });

  it("locks every dependency the manifest names", () => {
    const wanted = { ...(manifest["dependencies"] as Record<string, string>), ...(manifest["devDependencies"] as Record<string, string>) };
    for (const name of Object.keys(wanted)) expect(lock.packages[`node_modules/${name}`]?.["version"], name).toMatch(/^\d+\.\d+\.\d+/);
  });
});
