/**
 * The language server in a real editor: headless Neovim's own LSP client drives
 * `node dist/nnc.mjs lsp --stdio` through tools/lsp-harness (vendored from the team's shared
 * harness), and we check what Neovim ended up showing after opening a spec, breaking it and
 * fixing it. Neovim converts LSP's UTF-16 columns to byte columns itself, so the line with
 * an emoji checks our columns from the other side.
 *
 * Skipped where `nvim` is not installed, unless NNC_REQUIRE_NVIM=1 (CI sets it), which makes
 * a missing Neovim a failure instead.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const HARNESS = join(root, "tools", "lsp-harness", "lsp-harness.mjs");
const hasNvim = spawnSync("nvim", ["--version"], { encoding: "utf8" }).status === 0;
const required = process.env["NNC_REQUIRE_NVIM"] === "1";

interface EditorDiagnostic {
  lnum: number;
  col: number;
  end_lnum: number;
  end_col: number;
  severity: number;
  code: string;
  source: string;
  message: string;
}
interface Step {
  step: string;
  timed_out?: boolean;
  diagnostics: { code: string; range: { start: { line: number; character: number }; end: { line: number; character: number } } }[];
  editor_diagnostics: EditorDiagnostic[];
  ms_edit_to_first_publish?: number;
  text?: string;
}
interface HarnessResult {
  ok: boolean;
  exit_code: number;
  error: string | null;
  server: { textDocumentSync: string; stderr_tail?: string };
  steps: Step[];
}

function runHarness(args: string[]): Promise<{ code: number | null; result: HarnessResult; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [HARNESS, "--compact", "--settle", "300", ...args, "--", process.execPath, join(root, "dist", "nnc.mjs"), "lsp", "--stdio"], { cwd: root });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => {
      try {
        resolve({ code, result: JSON.parse(out) as HarnessResult, stderr: err });
      } catch {
        reject(new Error(`lsp-harness printed no JSON (exit ${code}):\n${out}\n${err}`));
      }
    });
  });
}

const SPEC = ["model mnist {", "  input 28x28x1", "  conv 5x5x32 relu same -> pool 2", "  flatten -> dense 10 softmax", "}", ""].join("\n");

const dir = mkdtempSync(join(tmpdir(), "nnc-nvim-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasNvim && !required)("the language server in Neovim (tools/lsp-harness)", () => {
  it("shows no diagnostic on open, the shape error after a broken edit, none after the fix", async () => {
    if (!hasNvim) throw new Error("NNC_REQUIRE_NVIM=1 but `nvim` is not installed (apt-get install -y neovim)");
    const file = join(dir, "spec.nn");
    writeFileSync(file, SPEC);
    const { code, result } = await runHarness([
      "--edit",
      "4:  dense 10 softmax",
      "--edit",
      "4:  flatten -> dense 10 softmax",
      "--edit",
      '3:  conv 5x5x32 name "é😀" strid 1 -> pool 2',
      "--hover",
      "4:4",
      file,
      "nn",
    ]);
    expect(result.error, result.server.stderr_tail).toBeNull();
    expect(code).toBe(0);
    expect(result.server.textDocumentSync).toBe("incremental");
    const [opened, broken, fixed, unicode, hover] = result.steps;
    expect(result.steps.map((s) => s.step)).toEqual(["open", "edit", "edit", "edit", "hover"]);
    expect(opened!.editor_diagnostics).toEqual([]);
    expect(broken!.editor_diagnostics).toEqual([
      {
        lnum: 3,
        col: 2,
        end_lnum: 3,
        end_col: 7,
        severity: 1,
        severity_name: "ERROR",
        code: "NN3001",
        source: "nnc",
        message: "`dense` needs a vector (rank 1), but its input is 14x14x32.\nHint: Add `flatten` (or `global avgpool`) before it?",
      },
    ]);
    expect(fixed!.editor_diagnostics).toEqual([]);
    // `strid` after a 2-byte é (one UTF-16 unit) and a 4-byte emoji (two units): UTF-16
    // columns 25–30 from the server, byte columns 28–33 in Neovim.
    expect(unicode!.diagnostics.map((d) => [d.code, d.range.start.character, d.range.end.character])).toEqual([["NN2002", 25, 30]]);
    expect(unicode!.editor_diagnostics.map((d) => [d.code, d.lnum, d.col, d.end_col])).toEqual([["NN2002", 2, 28, 33]]);
    // The conv lost `same` in that edit: 24x24x32, pooled to 12x12x32.
    expect(hover!.text).toContain("`12x12x32 → 4608` · no parameters");
  }, 60_000);
});
