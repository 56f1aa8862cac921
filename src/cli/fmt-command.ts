/**
 * `nnc fmt [--check] FILE|DIR...` and `nnc fmt -` (stdin to stdout): the formatter
 * (src/format) over files. Rewrites a file, atomically, only when its text changes; never
 * touches a file with syntax errors or one it could not read.
 */
import { readFileSync } from "node:fs";
import { diag, LineMap, type Diagnostic } from "../diagnostics/diagnostic.js";
import { formatText } from "../format/index.js";
import { expandPaths, type Output } from "./check-command.js";
import { readSpec, renderDiagnostics, writeFileAtomic } from "./files.js";

export interface FmtOptions {
  files: string[];
  /** List the files that are not formatted and write nothing. */
  check: boolean;
  color: boolean;
  /** Format stdin (read by readStdin) to stdout instead of files. */
  stdin?: { text: string } | { error: Diagnostic };
}

export interface FmtResult extends Output {
  exitCode: number;
  /** In stdin mode, the text to write to stdout (nothing when it has syntax errors). */
  formatted?: string;
}

const STDIN = "<stdin>";

/** All of stdin, as UTF-8. */
export function readStdin(): { text: string } | { error: Diagnostic } {
  try {
    return { text: readFileSync(0, "utf8") };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { error: diag("NN5001", `I cannot read stdin: the system says ${code ?? String(e)}.`, new LineMap("").range(0, 0), { hint: "Pipe the spec in: `nnc fmt - < spec.nn`." }) };
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function runFmt(opts: FmtOptions): FmtResult {
  const result: FmtResult = { exitCode: 0, stdout: [], stderr: [] };
  const report = (path: string, diagnostics: Diagnostic[], text: string): void => {
    result.stderr.push(...renderDiagnostics(path, diagnostics, new LineMap(text), { color: opts.color }));
  };

  if (opts.stdin !== undefined) {
    if ("error" in opts.stdin) {
      report(STDIN, [opts.stdin.error], "");
      result.exitCode = 1;
      return result;
    }
    const r = formatText(opts.stdin.text);
    if (r.diagnostics.length > 0) {
      report(STDIN, r.diagnostics, opts.stdin.text);
      result.exitCode = 1;
    } else if (opts.check) {
      if (r.changed) {
        result.stdout.push(STDIN);
        result.exitCode = 1;
      }
    } else result.formatted = r.text;
    return result;
  }

  const paths = expandPaths(opts.files);
  let failed = 0;
  const unformatted: string[] = [];
  for (const { path, error } of paths) {
    const read = error ? { error } : readSpec(path);
    if ("error" in read) {
      report(path, [read.error], "");
      failed++;
      continue;
    }
    const r = formatText(read.text);
    if (r.diagnostics.length > 0) {
      report(path, r.diagnostics, read.text);
      failed++;
      continue;
    }
    if (!r.changed) continue;
    if (opts.check) {
      unformatted.push(path);
      result.stdout.push(path);
      continue;
    }
    try {
      writeFileAtomic(path, r.text);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === "EACCES" || code === "EPERM" ? "permission denied" : code === "EROFS" ? "the file system is read-only" : `the system says ${code ?? String(e)}`;
      report(path, [diag("NN5003", `I cannot write \`${path}\`: ${why}.`, new LineMap("").range(0, 0), { hint: "The file is unchanged. nnc writes a temporary file beside it and renames it over, so it needs to write in that folder." })], "");
      failed++;
      continue;
    }
    unformatted.push(path);
    result.stdout.push(`formatted ${path}`);
  }

  const files = plural(paths.length, "file");
  const problems = failed > 0 ? `, ${plural(failed, "file")} with errors left untouched` : "";
  if (paths.length === 0) result.stdout.push("No .nn files to format.");
  else if (opts.check) {
    result.stdout.push(unformatted.length === 0 ? `${files} checked: all formatted${problems}.` : `${files} checked: ${unformatted.length} not formatted${problems}. Run \`nnc fmt\` on ${unformatted.length === 1 ? "it" : "them"}.`);
  } else result.stdout.push(`${files}: ${unformatted.length} reformatted, ${paths.length - unformatted.length - failed} already formatted${problems}.`);
  result.exitCode = failed > 0 || (opts.check && unformatted.length > 0) ? 1 : 0;
  return result;
}
