/**
 * What the kinds' PyTorch code shares: TF's `same` padding worked out at compile time (every
 * shape is known), so a window layer gets PyTorch's symmetric `padding` where it is symmetric
 * and an explicit `F.pad` where TF pads one more at the bottom or right; Python tuples.
 */
import type { Padding } from "../language/vocabulary.js";
import type { TorchContext } from "./kind.js";
import type { Shape } from "./types.js";

/** TF's `same` padding along one axis of length `n`: [before, after]; `after` may be one larger. */
export function samePads(n: number, k: number, s: number, d = 1): [number, number] {
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + (k - 1) * d + 1 - n, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** `(1, 2)`: a Python tuple of whole numbers (a one-tuple gets its comma). */
export function tuple(values: readonly number[]): string {
  return values.length === 1 ? `(${values[0]},)` : `(${values.join(", ")})`;
}

/** How a window layer pads in PyTorch: `padding` for the module, or explicit sides for `F.pad` before it. */
export interface TorchWindow {
  /** Per spatial axis, for the module's `padding` (zeros when `explicit` is set). */
  padding: number[];
  /** `F.pad` sides (left, right, top, bottom for images; left, right for sequences) when TF pads unevenly. */
  explicit?: number[];
}

/**
 * The padding of a window of `kernel` (dilated by `dilation`) sliding by `strides` over the
 * spatial axes of `input` (channels-last: HxWxC, or LxC for a sequence): none for `valid`, TF's
 * `same`, or `full` ((k−1)·d on every side, which the TF.js code adds as a zero-padding layer).
 */
export function torchWindow(ctx: TorchContext, input: Shape, kernel: readonly number[], strides: readonly number[], dilation: readonly number[], padding: Padding, explicitFull = false): TorchWindow {
  const spatial = input.length === 2 ? 1 : 2;
  if (padding === "valid") return { padding: new Array<number>(spatial).fill(0) };
  if (padding === "full") {
    ctx.helper("pad");
    const pads = Array.from({ length: spatial }, (_, a) => (dilation[a] ?? 1) * (kernel[a]! - 1));
    // Pooling modules take at most half a window of padding: pooling pads explicitly.
    if (explicitFull) return { padding: new Array<number>(spatial).fill(0), explicit: [...pads].reverse().flatMap((p) => [p, p]) };
    return { padding: pads };
  }
  const pads = Array.from({ length: spatial }, (_, a) => samePads(input[a]!, kernel[a]!, strides[a]!, dilation[a] ?? 1));
  if (pads.every(([b, a]) => a === b)) return { padding: pads.map(([b]) => b) };
  // F.pad lists the last axis first: (left, right) of the width, then (top, bottom) of the height.
  return { padding: new Array<number>(spatial).fill(0), explicit: [...pads].reverse().flat() };
}

/** The input of a window layer: padded explicitly where `torchWindow` said so. */
export function windowInput(ctx: TorchContext, w: TorchWindow, value?: string): string {
  if (!w.explicit) return ctx.input();
  return `F.pad(${ctx.input()}, ${tuple(w.explicit)}${value ? `, value=${value}` : ""})`;
}

/** `, padding=(1, 1)` when there is any, for a module's arguments. */
export function paddingArg(w: TorchWindow): string {
  return w.padding.some((p) => p > 0) ? `, padding=${tuple(w.padding)}` : "";
}

/** The channels (last axis) of a channels-last shape. */
export function channels(shape: Shape | undefined): number {
  return shape?.[shape.length - 1] ?? 0;
}
