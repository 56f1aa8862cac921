/**
 * A full garbage collection before a large check. V8 collects its old generation when it has
 * grown to about twice what survived the last collection, so letting go of a document's
 * analysis before checking its next version frees nothing by itself: checking a megabyte of
 * spec four times in a row, each analysis dropped before the next, peaked at ~830 MB of RSS,
 * and at ~355 MB (one check's worth) with a collection before each. On the heap a large
 * check leaves, the collection takes tens of milliseconds, next to the check's seconds.
 *
 * Node exposes `gc` only to a process started with `--expose-gc`, which `nnc lsp` is not.
 * Setting the flag at run time makes `gc` a global of contexts made afterwards, as jest's leak
 * detector does; where that fails, nothing is collected early and only the peak is higher.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | null | undefined;

/** Collects garbage now, if the runtime lets us; says whether it did. */
export function collectGarbage(): boolean {
  if (gc === undefined) {
    gc = typeof globalThis.gc === "function" ? globalThis.gc : null;
    if (!gc) {
      try {
        setFlagsFromString("--expose-gc");
        const found: unknown = runInNewContext("typeof gc === 'function' ? gc : null");
        if (typeof found === "function") gc = found as () => void;
        setFlagsFromString("--no-expose-gc");
      } catch {
        gc = null;
      }
    }
  }
  if (!gc) return false;
  gc();
  return true;
}
