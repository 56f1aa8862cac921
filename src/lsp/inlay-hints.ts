/**
 * Inlay hints: the output shape after each layer, like a type after a variable
 * (`conv 5x5x32 relu same: 28x28x32 -> pool 2: 14x14x32`), after each block call (the
 * shape its expansion ends in) and after each residual's closing brace (the sum's shape).
 * A layer inside a block or a `repeat` that runs with several shapes lists them.
 */
import type { Range } from "../diagnostics/diagnostic.js";
import { formatShape } from "../typecheck/index.js";
import { instancesAt, itemsTouching, type Analysis } from "./analysis.js";
import { rangeKey } from "./convert.js";

export interface ShapeHint {
  /** Where the hint goes: after the item's last character. */
  at: Range["end"];
  label: string;
  tooltip: string;
}

function label(shapes: number[][]): string | undefined {
  const distinct = [...new Set(shapes.map(formatShape))];
  if (distinct.length === 0) return undefined;
  if (distinct.length <= 3) return `: ${distinct.join(" | ")}`;
  return `: ${distinct[0]} | … | ${distinct[distinct.length - 1]}`;
}

export function shapeHints(a: Analysis, within: Range): ShapeHint[] {
  const out: ShapeHint[] = [];
  for (const { item } of itemsTouching(a.result.ast.declarations, within.start.offset, within.end.offset)) {
    let shapes: number[][] = [];
    let what = "";
    switch (item.kind) {
      case "layer": {
        if (item.op.name === "input") continue;
        const inst = instancesAt(a, item.range);
        shapes = inst.map((i) => i.layer.outputShape);
        what = inst.length > 1 ? `output of \`${item.op.name}\` in each of its ${inst.length} instances` : `output of \`${inst[0]?.layer.name ?? item.op.name}\``;
        break;
      }
      case "block-call": {
        const runs = a.expansions.get(rangeKey(item.range)) ?? [];
        shapes = runs.map((r) => r.layers[r.layers.length - 1]!.outputShape);
        what = `output of the call of \`${item.callee.name}\``;
        break;
      }
      case "residual": {
        const inst = instancesAt(a, item.keyword);
        shapes = inst.filter((i) => i.layer.kind === "add").map((i) => i.layer.outputShape);
        what = "output of the residual (the sum of its paths)";
        break;
      }
      case "merge": {
        const inst = instancesAt(a, item.keyword);
        shapes = inst.map((i) => i.layer.outputShape);
        what = `output of the ${item.op}`;
        break;
      }
      case "repeat":
      case "keep":
        continue;
    }
    const text = label(shapes);
    if (text) out.push({ at: item.range.end, label: text, tooltip: what });
  }
  return out;
}
