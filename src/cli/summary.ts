/** A model summary in the manner of Keras's `model.summary()` and torchinfo. */
import type { CheckedModel } from "../typecheck/index.js";
import { formatShape, multiplyAdds } from "../typecheck/index.js";

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

function bytes(params: number): string {
  const b = params * 4;
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(2)} KB`;
  if (b < 1024 ** 3) return `${(b / 1024 ** 2).toFixed(2)} MB`;
  return `${(b / 1024 ** 3).toFixed(2)} GB`;
}

function activationLabel(kind: string, config: CheckedModel["layers"][number]["config"]): string {
  if ("activation" in config && config.activation && config.op !== "activation") {
    const a = config.activation;
    const arg = a.name === "leaky_relu" || a.name === "elu" ? `(${a.alpha})` : a.name === "maxout" ? `(${a.k})` : "";
    return `${kind} ${a.name}${arg}`;
  }
  return kind;
}

/** Multiply-adds as torchinfo prints them: whole below a million, else in M or G. */
export function formatMultiplyAdds(n: number): string {
  if (n < 1e6) return formatCount(n);
  if (n < 1e9) return `${(n / 1e6).toFixed(2)} M`;
  return `${(n / 1e9).toFixed(2)} G`;
}

export function renderSummary(model: CheckedModel): string {
  let macs = 0;
  const rows = model.layers.map((l) => {
    const connected = l.inputs.length > 1 ? l.inputs.join(", ") : "";
    const m = multiplyAdds(l.config, l.inputShapes[0] ?? [], l.outputShape);
    macs += m;
    return [`${l.name} (${activationLabel(l.kind, l.config)}${l.frozen ? ", frozen" : ""})`, formatShape(l.outputShape), formatCount(l.params.trainable + l.params.nonTrainable), formatMultiplyAdds(m), connected];
  });
  const hasGraph = rows.some((r) => r[4] !== "");
  const header = ["Layer (kind)", "Output shape", "Params", "Mult-Adds", ...(hasGraph ? ["Connected to"] : [])];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .slice(0, header.length)
      .map((c, i) => (i === 2 || i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("   ")
      .trimEnd();
  const total = widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1);
  const args = Object.entries(model.args);
  const out: string[] = [];
  out.push(`Model: ${model.name}${args.length ? `(${args.map(([k, v]) => `${k}: ${v}`).join(", ")})` : ""}`);
  out.push("─".repeat(total));
  out.push(line(header));
  out.push("═".repeat(total));
  for (const r of rows) out.push(line(r));
  out.push("─".repeat(total));
  if (!model.complete) out.push("(incomplete: an error above stops the shapes here)");
  out.push(`Total params: ${formatCount(model.params.total)} (${bytes(model.params.total)})`);
  out.push(`Trainable params: ${formatCount(model.params.trainable)} (${bytes(model.params.trainable)})`);
  out.push(`Non-trainable params: ${formatCount(model.params.nonTrainable)} (${bytes(model.params.nonTrainable)})`);
  out.push(`Mult-adds per sample: ${formatMultiplyAdds(macs)}${model.complete ? "" : " (of the layers above)"}`);
  return out.join("\n");
}
