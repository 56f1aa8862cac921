/**
 * Making folders where they cannot be made, without hanging: shared by the command line
 * (`nnc build`, `nnc search`) and the runtime (a run's output folder). Imports only Node.
 */
import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * `mkdir -p` that ends: Node's `mkdirSync(dir, { recursive: true })` loops forever where the
 * system answers ENOENT for a folder whose parent exists (under /proc). This walks up to the
 * nearest folder that exists, then makes each missing one below it once. Throws the system's
 * error (with `path` set to the folder it was making, or to the file in the way: ENOTDIR).
 */
export function makeFolder(dir: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      const up = dirname(p);
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || up === p) throw e;
      missing.push(p);
      p = up;
      continue;
    }
    if (!isDir) throw Object.assign(new Error(`${p} is not a folder`), { code: "ENOTDIR", path: p });
    break;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      // Made meanwhile by someone else: as good.
      if ((e as NodeJS.ErrnoException).code === "EEXIST" && statSync(m).isDirectory()) continue;
      throw Object.assign(e as NodeJS.ErrnoException, { path: m });
    }
  }
}
