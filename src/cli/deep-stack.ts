/**
 * A larger stack for deep models. TensorFlow.js builds and runs a model recursing once per
 * layer (tfjs-layers' Container: `buildMapOfGraph` and the execution of the graph), so a deep
 * chain overflows Node's default stack (984 KB): measured, a chain of about 4,200 layers
 * builds on it, and with 4,000 KB a chain of 16,000 builds and trains on cpu and on wasm (not
 * 24,000; the checker refuses more than MAX_CHAIN_DEPTH, NN3016). The stack is set when V8
 * starts, so `nnc train` (inspect, sanity, search) runs itself again with it for a model
 * deeper than DEFAULT_STACK_DEPTH, where the operating system's stack allows it.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { platform } from "node:os";

/** The stack, in KB (V8's `--stack-size`), a deep model runs with. */
export const DEEP_STACK_KB = 4000;
/** Layers in a chain beyond which a command runs again with DEEP_STACK_KB. */
export const DEFAULT_STACK_DEPTH = 2000;
/** Set in the environment of the command run again, so it never runs itself a third time. */
const MARK = "NNC_DEEP_STACK";

/** The script the `nnc` command runs from (`dist/nnc.mjs`); unset when nnc is used as a library. */
let entry: string | undefined;

/** Called by the command line's entry point: only the command line runs itself again. */
export function setCliEntry(script: string | undefined): void {
  entry = script;
}

/**
 * Whether the main thread's stack (the operating system's limit) leaves room for V8's
 * DEEP_STACK_KB and the native frames under it: Linux's soft limit from /proc/self/limits (8 MB
 * by default), macOS's 8 MB; not Windows (1 MB).
 */
function osStackAllows(): boolean {
  if (platform() === "darwin") return true;
  if (platform() !== "linux") return false;
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max stack size"));
    const soft = line?.slice("Max stack size".length).trim().split(/\s+/)[0];
    return soft === "unlimited" || (soft !== undefined && Number(soft) >= 2 * DEEP_STACK_KB * 1024);
  } catch {
    return false;
  }
}

/**
 * Runs this command again with DEEP_STACK_KB of stack, in the foreground (its output, its
 * terminal, its Ctrl-C), and returns its exit status; undefined when that is not possible
 * (nnc used as a library, already run again, a stack given by the user, or an operating system
 * whose stack is too small), and the command then goes on as it is.
 */
export async function runAgainWithDeepStack(): Promise<number | undefined> {
  if (entry === undefined || process.env[MARK] !== undefined || process.execArgv.some((a) => a.startsWith("--stack-size")) || !osStackAllows()) return undefined;
  // In a process group of its own, so that Ctrl-C reaches it once, through this process, as
  // it would reach the command itself: the first stops it after its step (it says how to
  // resume), a second at once. It writes to the same terminal; it reads nothing from it.
  const child = spawn(process.execPath, [...process.execArgv, `--stack-size=${DEEP_STACK_KB}`, entry, ...process.argv.slice(2)], { stdio: "inherit", detached: true, env: { ...process.env, [MARK]: "1" } });
  const forward = (signal: NodeJS.Signals) => (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    return await new Promise<number>((resolve) => {
      child.on("error", () => resolve(1));
      child.on("exit", (code, signal) => resolve(code ?? (signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 1)));
    });
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  }
}
