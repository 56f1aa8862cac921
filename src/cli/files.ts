/** Reading specs and writing outputs safely, shared by the commands. */
import { readFileSync, renameSync, statSync, writeFileSync, existsSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { diag, LineMap, type Diagnostic } from "../diagnostics/diagnostic.js";

export function readSpec(path: string): { text: string } | { error: Diagnostic } {
  const at = new LineMap("").range(0, 0);
  try {
    const st = statSync(path);
    if (st.isDirectory()) return { error: diag("NN5001", `\`${path}\` is a directory with no .nn files.`, at) };
    if (st.size > 64 * 1024 * 1024) return { error: diag("NN5001", `\`${path}\` is ${(st.size / 2 ** 20).toFixed(0)} MB, too large to be a spec.`, at, { hint: "Specs are small text files; is this the right file?" }) };
    const buf = readFileSync(path);
    if (buf.includes(0)) return { error: diag("NN5001", `\`${path}\` looks like a binary file, not a .nn spec.`, at) };
    return { text: buf.toString("utf8") };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "there is no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "it is a directory" : `the system says ${code ?? String(e)}`;
    return { error: diag("NN5001", `I cannot read \`${path}\`: ${why}.`, at) };
  }
}

/** Writes a file by writing a temporary sibling and renaming it over, so no reader ever sees half a file. */
export function writeFileAtomic(path: string, content: string): void {
  const tmp = join(dirname(path), `.${Date.now().toString(36)}-${process.pid}.tmp`);
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } finally {
    if (existsSync(tmp)) unlinkSync(tmp);
  }
}

/** The folder of the nnc package (where package.json says `"name": "nnc"`), from this file up. */
export function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string };
      if (pkg.name === "nnc") return dir;
    } catch {
      // not here; look one level up
    }
    dir = dirname(dir);
  }
  return undefined;
}

export function version(): string {
  const root = packageRoot();
  if (!root) return "unknown";
  try {
    return (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}
