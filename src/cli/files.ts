/** Reading specs and writing outputs safely, shared by the commands. */
import { existsSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { diag, LineMap, type Diagnostic } from "../diagnostics/diagnostic.js";
import { renderDiagnostic } from "../diagnostics/render.js";

/** Specs larger than this are refused unread: no hand-written spec comes close. */
export const MAX_SPEC_BYTES = 64 * 1024 * 1024;

/**
 * A spec's text, or why it cannot be read: a diagnostic about the file as a whole (NN5001),
 * which has no place in the text (its range is the file's start; `renderDiagnostics` prints
 * no source line for it).
 */
export function readSpec(path: string): { text: string } | { error: Diagnostic } {
  const at = new LineMap("").range(0, 0);
  const cannot = (why: string, hint?: string): { error: Diagnostic } => ({ error: diag("NN5001", `I cannot read \`${path}\`: ${why}.`, at, hint !== undefined ? { hint } : {}) });
  try {
    const st = statSync(path);
    if (st.isDirectory()) return cannot("it is a folder, not a .nn file");
    // A device (/dev/zero) would never end; a pipe (/dev/stdin) is read as a file.
    if (!st.isFile() && !st.isFIFO()) return cannot("it is not a regular file");
    if (st.size > MAX_SPEC_BYTES) return cannot(`it is ${(st.size / 2 ** 20).toFixed(0)} MB, too large to be a spec`, "Specs are small text files; is this the right file?");
    const buf = readFileSync(path);
    if (buf.includes(0)) return { error: diag("NN5001", `\`${path}\` looks like a binary file, not a .nn spec.`, at) };
    return { text: buf.toString("utf8") };
  } catch (e) {
    return cannot(readReason(e));
  }
}

/** Why reading (a file or a folder) failed, in words. */
export function readReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
      return "there is no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a folder, not a .nn file";
    case "ENOTDIR":
      return "a part of its path is a file, not a folder";
    case "ELOOP":
      return "its symbolic links go round in a loop";
    case "ENAMETOOLONG":
      return "the name is too long";
    case "EIO":
      return "the disk reported an input/output error";
    default:
      return `the system says ${code ?? (e instanceof Error ? e.message : String(e))}`;
  }
}

/**
 * At most this many diagnostics are printed per file; a line then says how many more there
 * were (the summary and `--json` count and list them all). Past a hundred, more of them help
 * no one read a terminal, and printing 100,000 would take longer than finding them.
 */
export const MAX_PRINTED_DIAGNOSTICS = 100;

/** A diagnostic about a file as a whole (NN5xxx: it cannot be read, has no such model…): no place in it to show. */
export function isFileDiagnostic(d: Diagnostic): boolean {
  return d.code.startsWith("NN5");
}

/**
 * A file's diagnostics for a terminal: each with its source line and caret (one about the
 * file as a whole as `path:1:1: error NN5001: …` and its hint only), each followed by a blank
 * line; past `MAX_PRINTED_DIAGNOSTICS`, one line with the number of the rest.
 */
export function renderDiagnostics(path: string, diagnostics: readonly Diagnostic[], lines: LineMap, opts: { color: boolean }): string[] {
  const out: string[] = [];
  const shown = diagnostics.length > MAX_PRINTED_DIAGNOSTICS ? diagnostics.slice(0, MAX_PRINTED_DIAGNOSTICS) : diagnostics;
  for (const d of shown) out.push((isFileDiagnostic(d) ? renderFileDiagnostic(path, d, opts) : renderDiagnostic(path, d, lines, opts)) + "\n");
  if (shown.length < diagnostics.length) out.push(notShown(path, diagnostics.slice(shown.length)) + "\n");
  return out;
}

/** `… and 2,345 more errors and 12 warnings in big.nn (not shown; …)`. */
function notShown(path: string, rest: readonly Diagnostic[]): string {
  const count = { error: 0, warning: 0, info: 0 };
  for (const d of rest) count[d.severity]++;
  const parts = ([["error", "errors"], ["warning", "warnings"], ["info", "notes"]] as const).flatMap(([sev, plural]) => (count[sev] === 0 ? [] : [`${count[sev].toLocaleString("en-US")} ${count[sev] === 1 ? (sev === "info" ? "note" : sev) : plural}`]));
  return `… and ${parts.map((p, i) => (i === 0 ? p.replace(/^(\S+) /, "$1 more ") : p)).join(" and ")} in ${path} (not shown; \`nnc check --json\` lists every one)`;
}

const PAINT = { bold: "\u001b[1m", red: "\u001b[31m", yellow: "\u001b[33m", blue: "\u001b[34m", cyan: "\u001b[36m", reset: "\u001b[0m" };

/**
 * `path:1:1: error NN5001: message` and the hint, in render.ts's colours: no source line,
 * since the diagnostic is about no line of it. The `1:1` stays (as in `--json`'s range) so
 * that editors' and CI's problem matchers, which expect `file:line:col`, still see it.
 */
export function renderFileDiagnostic(path: string, d: Diagnostic, opts: { color: boolean }): string {
  const paint = (code: string, s: string): string => (opts.color ? code + s + PAINT.reset : s);
  const sev = d.severity === "error" ? PAINT.red : d.severity === "warning" ? PAINT.yellow : PAINT.blue;
  const out = [`${paint(PAINT.bold, `${path}:${d.range.start.line + 1}:${d.range.start.character + 1}:`)} ${paint(sev + PAINT.bold, `${d.severity} ${d.code}`)}: ${d.message}`];
  if (d.hint) out.push(`${paint(PAINT.cyan, " hint:")} ${d.hint}`);
  return out.join("\n");
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

export { makeFolder } from "../common/make-folder.js";

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
