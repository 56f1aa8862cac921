/** Hover rows several kinds share: the weights' options and a trailing activation. */
import { activationWord } from "./shape.js";
import type { ActivationSpec, InitSpec, WeightOptions } from "./types.js";

export function initText(i: InitSpec): string {
  if (i.name === "normal") return `normal(${i.std})`;
  if (i.name === "uniform") return `uniform(${i.limit})`;
  return i.name;
}

export function weightRows(w: WeightOptions): [string, string][] {
  const rows: [string, string][] = [
    ["init", initText(w.kernelInit)],
    ["bias", w.useBias ? `yes, initial value ${w.biasInit}` : "none (`no_bias`)"],
  ];
  if (w.l1 !== 0) rows.push(["l1", String(w.l1)]);
  if (w.l2 !== 0) rows.push(["l2", String(w.l2)]);
  return rows;
}

/** The activation row: `linear` when none and `always`, else only when there is one. */
export function activationRows(a: ActivationSpec | undefined, always: boolean): [string, string][] {
  if (a) return [["activation", activationWord(a)]];
  return always ? [["activation", "linear"]] : [];
}

export const pairText = (p: readonly number[]): string => p.join("x");
