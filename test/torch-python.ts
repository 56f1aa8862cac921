/**
 * The Python the PyTorch tests run: NNC_PYTHON, else Debian's /usr/bin/python3, else python3
 * on the PATH — the first that imports torch and numpy. Without one the tests skip with the
 * reason, unless NNC_REQUIRE_TORCH=1 (CI installs python3-torch), where that is a failure.
 */
import { spawnSync } from "node:child_process";

export type TorchPython = { ok: true; python: string; version: string } | { ok: false; reason: string };

let found: TorchPython | undefined;

export function torchPython(): TorchPython {
  if (found) return found;
  const candidates = process.env["NNC_PYTHON"] ? [process.env["NNC_PYTHON"]] : ["/usr/bin/python3", "python3"];
  const tried: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ["-c", "import numpy, torch; print(torch.__version__)"], { encoding: "utf8", timeout: 120_000 });
    if (r.status === 0) return (found = { ok: true, python, version: r.stdout.trim() });
    tried.push(`${python}: ${r.error ? "not found" : (r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`)}`);
  }
  const reason = `no Python with torch and numpy (${tried.join("; ")}); install python3-torch`;
  if (process.env["NNC_REQUIRE_TORCH"] === "1") throw new Error(`NNC_REQUIRE_TORCH=1, but ${reason}`);
  return (found = { ok: false, reason });
}
