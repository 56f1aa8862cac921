/** Running the built CLI (`dist/nnc.mjs`, built by `npm test` before vitest) from tests. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..");
export const CLI = join(ROOT, "dist", "nnc.mjs");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node dist/nnc.mjs ...args` in `cwd`, without colours, `input` on stdin; waits for it to exit. */
export function nnc(args: string[], cwd: string = ROOT, input?: string): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", input, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The path of a Chromium to render pages headless with (report tests), if one is installed. */
export function findChromium(): string | undefined {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}
