/**
 * A training run as one self-contained HTML page (`nnc train --report run.html`): the train
 * and validation loss and accuracy per epoch, the learning rate schedule, per-layer histograms
 * of the pre-activations, activations, weights and gradients at initialisation and after
 * training (the lectures' figures), the layer statistics and warnings of `nnc inspect`, and
 * the model summary. No network is needed to view it: the data is embedded as JSON and an
 * inline script draws the charts as SVG. Every string from the spec or the model reaches the
 * page escaped (HTML text) or through `textContent` (the script), never as markup.
 *
 * `renderEvaluationReport` makes the page of `nnc evaluate --report` the same way: the
 * per-class table and the confusion matrix drawn as a heat map (or the per-target errors).
 *
 * The script writes what it did into `<body data-status>` ("ok N" with the number of charts,
 * or "error: …") and the page position of every chart into `data-charts`, so a headless
 * browser can check that the page rendered without reading a console.
 */
import type { EpochRecord } from "./train.js";
import type { Inspection } from "./inspect.js";
import type { ClassMetrics, Evaluation } from "./predict.js";

export interface ReportSummaryLayer {
  name: string;
  /** `dense tanh`, `conv relu`, `add`… */
  kind: string;
  /** `28x28x32`. */
  shape: string;
  params: number;
  /** Inputs of a layer with several (an `add`). */
  inputs?: string[];
}

export interface ReportInput {
  model: string;
  /** The spec's file name, as the user gave it. */
  spec: string;
  backend: string;
  seed: number;
  /** When the report was made (ISO 8601). */
  created: string;
  history: EpochRecord[];
  test?: { loss: number; acc?: number };
  stoppedEarly?: boolean;
  /** The recipe's schedule in words: `warmup(2) then cosine`. */
  schedule?: string;
  summary?: { layers: ReportSummaryLayer[]; total: number; trainable: number; nonTrainable: number };
  /** `nnc inspect` of the model as built (same seed as training), and of the trained model. */
  start?: Inspection;
  end?: Inspection;
}

/** Text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** JSON that can sit inside `<script type="application/json">`: no `</script>`, `<!--` or line separators. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

const num = (v: number): string => {
  if (v === 0) return "0";
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e4 ? v.toPrecision(3) : v.toExponential(1);
};

function statsTable(title: string, r: Inspection): string {
  const rows = r.layers
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.name)}</td><td>${escapeHtml(l.activation)}</td><td>${num(l.z.mean)}</td><td>${num(l.z.std)}</td><td>${num(l.a.mean)}</td><td>${num(l.a.std)}</td><td>${num(l.signal)}</td><td>${l.weights ? num(l.weights.std) : ""}</td><td>${l.gradients ? num(l.gradients.std) : ""}</td></tr>`,
    )
    .join("\n");
  const expected = r.expectedLoss !== undefined ? ` (at chance: ${r.expectedLoss.toFixed(3)})` : "";
  const warnings = r.warnings.map((w) => `<li class="warning"><strong>${escapeHtml(w.message)}</strong><br>${escapeHtml(w.hint)}</li>`).join("\n");
  return `<h3>${escapeHtml(title)}</h3>
<p>${r.batch} samples; loss ${num(r.loss)}${expected}.</p>
<table class="stats"><thead><tr><th>layer</th><th>activation</th><th>Z mean</th><th>Z std</th><th>A mean</th><th>A std</th><th>A signal</th><th>W std</th><th>grad std</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${warnings ? `<ul class="warnings">${warnings}</ul>` : `<p class="fine">No warnings.</p>`}`;
}

function summaryTable(s: NonNullable<ReportInput["summary"]>): string {
  const rows = s.layers
    .map((l) => `<tr><td>${escapeHtml(l.name)}</td><td>${escapeHtml(l.kind)}</td><td>${escapeHtml(l.shape)}</td><td class="n">${l.params.toLocaleString("en-US")}</td><td>${escapeHtml((l.inputs ?? []).join(", "))}</td></tr>`)
    .join("\n");
  return `<table class="summary"><thead><tr><th>layer</th><th>kind</th><th>output shape</th><th>params</th><th>adds</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot><tr><td colspan="3">total (trainable ${s.trainable.toLocaleString("en-US")}, non-trainable ${s.nonTrainable.toLocaleString("en-US")})</td><td class="n">${s.total.toLocaleString("en-US")}</td><td></td></tr></tfoot></table>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h1 small { color: #777; font-weight: normal; font-size: 14px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: #555; margin: 0 0 8px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; }
figcaption { font-size: 12px; color: #555; text-align: center; }
svg.chart { display: block; background: #fff; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
table.summary td:nth-child(3) { text-align: left; } table.summary td:last-child { text-align: left; }
.hist-grid { display: grid; gap: 4px 10px; align-items: center; justify-content: start; }
.hist-grid .label { font-size: 12px; text-align: right; color: #333; }
.hist-grid .head { font-size: 12px; font-weight: 600; text-align: center; }
.legend span { display: inline-block; width: 12px; height: 12px; vertical-align: -2px; margin: 0 4px 0 12px; }
.warnings { padding-left: 18px; } .warning { color: #8a4b00; margin-bottom: 6px; }
.fine { color: #2a7a2a; }
noscript { color: #a00; }
`;

/**
 * The drawing script: plain ES5-style JavaScript, no template literals (so nothing in it can
 * be mistaken for TypeScript interpolation), reading the data from the JSON element.
 */
/**
 * How every page's script ends: each chart's box into \`<body data-charts>\` and the status
 * into \`data-status\` (what the headless tests read), or the error that stopped the drawing.
 */
/** How every page's script begins: the status it reports into \`<body data-status>\`, and SVG's namespace. */
const SCRIPT_START = String.raw`(function () {
  "use strict";
  var body = document.body;
  function status(s) { body.setAttribute("data-status", s); }
  window.addEventListener("error", function (e) { status("error: " + e.message); });
  var NS = "http://www.w3.org/2000/svg";
`;

const SCRIPT_END = String.raw`    var rects = [];
    var all = document.querySelectorAll("svg.chart");
    for (var i = 0; i < all.length; i++) {
      var r = all[i].getBoundingClientRect();
      rects.push([r.left + window.scrollX, r.top + window.scrollY, r.width, r.height].map(Math.round).join(","));
    }
    body.setAttribute("data-charts", rects.join(";"));
    status("ok " + charts);
  } catch (e) {
    status("error: " + (e && e.message ? e.message : String(e)));
    throw e;
  }
})();
`;

const SCRIPT = String.raw`
${SCRIPT_START}  var COLORS = { train: "#1f77b4", val: "#ff7f0e", lr: "#2ca02c", start: "#1f77b4", end: "#ff7f0e" };
  var charts = 0;
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, String(attrs[k]));
    if (parent) parent.appendChild(e);
    return e;
  }
  function label(parent, x, y, s, anchor, size) {
    var t = el("text", { x: x, y: y, "text-anchor": anchor || "middle", "font-size": size || 11, fill: "#444" }, parent);
    t.textContent = s;
    return t;
  }
  function fmt(v) {
    if (v === 0) return "0";
    var a = Math.abs(v);
    if (a >= 1e-3 && a < 1e4) return String(Number(v.toPrecision(3)));
    return v.toExponential(1);
  }
  function ticks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    var step = Math.pow(10, Math.floor(Math.log(( hi - lo) / n) / Math.LN10));
    var err = (hi - lo) / n / step;
    if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return out;
  }
  function svgIn(container, w, h, name) {
    var svg = el("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h, "class": "chart", "data-chart": name }, null);
    container.appendChild(svg);
    return svg;
  }
  // A line chart of series [{name, color, points: [[x, y]]}] with axes, ticks and a legend.
  function lineChart(container, title, series, opts) {
    opts = opts || {};
    var W = 380, H = 250, L = 56, R = 12, T = 40, B = 34;
    var svg = svgIn(container, W, H, title);
    var xs = [], ys = [];
    series.forEach(function (s) { s.points.forEach(function (p) { if (isFinite(p[1])) { xs.push(p[0]); ys.push(p[1]); } }); });
    label(svg, W / 2, 16, title, "middle", 13);
    if (xs.length === 0) { label(svg, W / 2, H / 2, "no data"); charts++; return; }
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (opts.zero) y0 = Math.min(0, y0);
    if (opts.max !== undefined) y1 = Math.max(y1, opts.max);
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { var pad = Math.abs(y0) * 0.1 || 1; y0 -= pad; y1 += pad; }
    var sx = function (x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
    var sy = function (y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
    el("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", stroke: "#ccc" }, svg);
    ticks(y0, y1, 5).forEach(function (v) {
      el("line", { x1: L, x2: W - R, y1: sy(v), y2: sy(v), stroke: "#eee" }, svg);
      label(svg, L - 4, sy(v) + 4, fmt(v), "end", 10);
    });
    ticks(x0, x1, 6).forEach(function (v) {
      if (Math.round(v) !== v) return;
      label(svg, sx(v), H - B + 14, fmt(v), "middle", 10);
    });
    label(svg, (L + W - R) / 2, H - 4, opts.xlabel || "epoch", "middle", 11);
    var lx = L;
    series.forEach(function (s) {
      var pts = s.points.filter(function (p) { return isFinite(p[1]); });
      if (pts.length === 0) return;
      el("polyline", { points: pts.map(function (p) { return sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1); }).join(" "), fill: "none", stroke: s.color, "stroke-width": 2.5 }, svg);
      pts.forEach(function (p) { el("circle", { cx: sx(p[0]), cy: sy(p[1]), r: pts.length > 40 ? 1.5 : 3, fill: s.color }, svg); });
      el("rect", { x: lx, y: T - 16, width: 10, height: 10, fill: s.color }, svg);
      label(svg, lx + 14, T - 7, s.name, "start", 11);
      lx += 20 + s.name.length * 6.5;
    });
    charts++;
  }
  // A histogram {lo, hi, counts} as bars, with its range under it.
  function histogram(container, h, color, caption) {
    var W = 170, H = 84, P = 4;
    var svg = svgIn(container, W, H, caption);
    var max = Math.max.apply(null, h.counts) || 1;
    var bw = (W - 2 * P) / h.counts.length;
    el("line", { x1: P, x2: W - P, y1: H - 16, y2: H - 16, stroke: "#bbb" }, svg);
    h.counts.forEach(function (c, i) {
      if (c === 0) return;
      var bh = Math.max(1, c / max * (H - 22));
      el("rect", { x: P + i * bw, y: H - 16 - bh, width: Math.max(1, bw - 0.5), height: bh, fill: color }, svg);
    });
    label(svg, P, H - 3, fmt(h.lo), "start", 9);
    label(svg, W - P, H - 3, fmt(h.hi), "end", 9);
    charts++;
  }
  function histograms(id, inspection, color) {
    var root = document.getElementById(id);
    if (!root || !inspection) return;
    var grid = document.createElement("div");
    grid.className = "hist-grid";
    grid.style.gridTemplateColumns = "max-content repeat(4, 170px)";
    ["", "Z (pre-activation)", "activation", "weights", "gradients"].forEach(function (s) {
      var d = document.createElement("div");
      d.className = "head";
      d.textContent = s;
      grid.appendChild(d);
    });
    inspection.layers.forEach(function (l) {
      var name = document.createElement("div");
      name.className = "label";
      name.textContent = l.name + " (" + l.activation + ")";
      grid.appendChild(name);
      [l.z, l.a, l.weights, l.gradients].forEach(function (s, k) {
        var cell = document.createElement("div");
        grid.appendChild(cell);
        if (!s) return;
        histogram(cell, s.histogram, color, l.name + " " + ["z", "a", "w", "g"][k]);
        var cap = document.createElement("figcaption");
        cap.textContent = "mean " + fmt(s.mean) + ", std " + fmt(s.std);
        cell.appendChild(cap);
      });
    });
    root.appendChild(grid);
  }
  try {
    var data = JSON.parse(document.getElementById("nnc-report-data").textContent);
    var h = data.history || [];
    var curves = document.getElementById("curves");
    function pts(key) { return h.filter(function (r) { return typeof r[key] === "number"; }).map(function (r) { return [r.epoch, r[key]]; }); }
    var loss = [{ name: "train", color: COLORS.train, points: pts("loss") }];
    if (pts("val_loss").length) loss.push({ name: "validation", color: COLORS.val, points: pts("val_loss") });
    lineChart(curves, "loss", loss, { zero: true });
    var acc = [{ name: "train", color: COLORS.train, points: pts("acc") }];
    if (pts("val_acc").length) acc.push({ name: "validation", color: COLORS.val, points: pts("val_acc") });
    lineChart(curves, "accuracy", acc, { zero: true, max: 1 });
    lineChart(curves, "learning rate", [{ name: "lr", color: COLORS.lr, points: pts("lr") }], { zero: true });
    histograms("hist-start", data.start, COLORS.start);
    histograms("hist-end", data.end, COLORS.end);
${SCRIPT_END}`;

/** The report page. */
export function renderReport(input: ReportInput): string {
  const last = input.history[input.history.length - 1];
  const facts = [
    `backend ${input.backend}`,
    `seed ${input.seed}`,
    `${input.history.length} epoch${input.history.length === 1 ? "" : "s"}${input.stoppedEarly ? " (stopped early)" : ""}`,
    ...(last ? [`final loss ${num(last.loss)}`] : []),
    ...(last?.acc !== undefined ? [`train acc ${(last.acc * 100).toFixed(1)}%`] : []),
    ...(last?.val_acc !== undefined ? [`validation acc ${(last.val_acc * 100).toFixed(1)}%`] : []),
    ...(input.test?.acc !== undefined ? [`test acc ${(input.test.acc * 100).toFixed(1)}%`] : []),
    ...(input.schedule ? [`schedule ${input.schedule}`] : []),
  ];
  const data = { history: input.history, start: input.start ?? null, end: input.end ?? null };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nnc report: ${escapeHtml(input.model)}</title>
<style>${STYLE}</style>
</head>
<body data-status="loading">
<h1>${escapeHtml(input.model)} <small>${escapeHtml(input.spec)}</small></h1>
<p class="meta">${facts.map(escapeHtml).join(" · ")}</p>
<p class="meta">Made by nnc on ${escapeHtml(input.created)}.</p>
<noscript>The charts need JavaScript; the tables below do not.</noscript>
<h2>Training</h2>
<div class="charts" id="curves"></div>
<h2>Histograms</h2>
<p class="legend">Per layer: the pre-activations (Z), activations, weights (the kernel) and the loss's gradients with respect to them, on one batch of training data.</p>
<h3>At initialisation</h3>
<div id="hist-start">${input.start ? "" : "<p>Not measured.</p>"}</div>
<h3>After training</h3>
<div id="hist-end">${input.end ? "" : "<p>Not measured.</p>"}</div>
<h2>Layer statistics</h2>
${input.start ? statsTable("At initialisation", input.start) : ""}
${input.end ? statsTable("After training", input.end) : ""}
<h2>Model</h2>
${input.summary ? summaryTable(input.summary) : "<p>No summary.</p>"}
<script type="application/json" id="nnc-report-data">${scriptJson(data)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

// ── nnc evaluate --report ──────────────────────────────────────────────────────────────────

export interface EvaluationReportInput {
  /** The run folder, as the user gave it. */
  run: string;
  /** The data source, in words. */
  data: string;
  /** "test": the source's test split; "all": every sample (it has none). */
  split: "test" | "all";
  backend: string;
  /** When the report was made (ISO 8601). */
  created: string;
  evaluation: Evaluation;
}

const ratio = (v: number | null): string => (v === null ? "–" : v.toFixed(3));

function classTable(e: Evaluation): string {
  const label = (c: ClassMetrics): string => c.name ?? String(c.class);
  const rows = e
    .classes!.map((c) => `<tr><td>${c.class}</td><td>${escapeHtml(label(c))}</td><td>${ratio(c.precision)}</td><td>${ratio(c.recall)}</td><td>${ratio(c.f1)}</td><td>${c.support.toLocaleString("en-US")}</td><td>${c.predicted.toLocaleString("en-US")}</td></tr>`)
    .join("\n");
  const m = e.macro!;
  return `<table class="classes"><thead><tr><th>#</th><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th><th>predicted</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot><tr><td></td><td>macro mean</td><td>${ratio(m.precision)}</td><td>${ratio(m.recall)}</td><td>${ratio(m.f1)}</td><td>${e.n.toLocaleString("en-US")}</td><td></td></tr></tfoot></table>`;
}

function targetTable(e: Evaluation): string {
  const rows = e.targets!.map((t) => `<tr><td>${escapeHtml(t.name)}</td><td>${num(t.mse)}</td><td>${num(t.mae)}</td></tr>`).join("\n");
  return `<table class="targets"><thead><tr><th>target</th><th>MSE</th><th>MAE</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

/** Draws the confusion matrix as an SVG heat map (each row shaded by its share of the row's samples), in the same ES5 style as SCRIPT. */
const EVALUATION_SCRIPT = String.raw`
${SCRIPT_START}  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, String(attrs[k]));
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, attrs) {
    var t = el("text", attrs || {}, parent);
    t.setAttribute("x", x);
    t.setAttribute("y", y);
    t.textContent = s;
    return t;
  }
  function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }
  try {
    var data = JSON.parse(document.getElementById("nnc-report-data").textContent);
    var charts = 0;
    var root = document.getElementById("confusion");
    if (root && data.confusion) {
      var m = data.confusion, K = m.length;
      var names = data.classes.map(function (c) { return c.name !== undefined ? c.name : String(c["class"]); });
      var cell = K <= 10 ? 44 : K <= 30 ? 26 : Math.max(4, Math.floor(780 / K));
      var labels = cell >= 12;
      var longest = Math.max.apply(null, names.map(function (n) { return Math.min(n.length, 22); }));
      var L = labels ? 30 + longest * 6.5 : 20, T = labels ? 24 + Math.min(longest, 18) * 5.8 : 20, W = L + K * cell + 10 + (labels ? Math.min(longest, 18) * 3 : 0), H = T + K * cell + 30;
      var svg = el("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": "chart", "data-chart": "confusion matrix" }, null);
      root.appendChild(svg);
      text(svg, L + K * cell / 2, H - 8, "predicted class", { "text-anchor": "middle", "font-size": 12, fill: "#444" });
      text(svg, 12, T + K * cell / 2, "true class", { "text-anchor": "middle", "font-size": 12, fill: "#444", transform: "rotate(-90 12 " + (T + K * cell / 2) + ")" });
      for (var t = 0; t < K; t++) {
        var total = 0;
        for (var p = 0; p < K; p++) total += m[t][p];
        for (p = 0; p < K; p++) {
          var v = m[t][p], share = total > 0 ? v / total : 0;
          var color = t === p ? "rgba(31,119,180," : "rgba(214,39,40,";
          var r = el("rect", { x: L + p * cell, y: T + t * cell, width: cell - 1, height: cell - 1, fill: v === 0 ? "#f4f4f4" : color + (0.15 + 0.85 * share).toFixed(3) + ")" }, svg);
          var tip = el("title", {}, r);
          tip.textContent = names[t] + " \u2192 " + names[p] + ": " + v + (total > 0 ? " (" + (100 * share).toFixed(1) + "% of " + names[t] + ")" : "");
          if (cell >= 26 && v > 0) text(svg, L + p * cell + cell / 2, T + t * cell + cell / 2 + 4, String(v), { "text-anchor": "middle", "font-size": cell >= 40 ? 12 : 9, fill: share > 0.55 ? "#fff" : "#222" });
        }
        if (labels) {
          text(svg, L - 6, T + t * cell + cell / 2 + 4, clip(names[t], 22), { "text-anchor": "end", "font-size": 11, fill: "#333" });
          var x = L + t * cell + cell / 2;
          text(svg, x, T - 6, clip(names[t], 18), { "text-anchor": "start", "font-size": 11, fill: "#333", transform: "rotate(-60 " + x + " " + (T - 6) + ")" });
        }
      }
      charts++;
    }
${SCRIPT_END}`;

/** The `nnc evaluate --report` page: the numbers, the per-class table and the confusion matrix (or the per-target errors). */
export function renderEvaluationReport(input: EvaluationReportInput): string {
  const e = input.evaluation;
  const samples = `${e.n.toLocaleString("en-US")} sample${e.n === 1 ? "" : "s"}`;
  const facts = [
    input.split === "test" ? `the test split: ${samples}` : `all ${samples} (the source has no test split)`,
    `loss ${num(e.loss)} (${e.lossName})`,
    ...(e.accuracy !== undefined ? [`accuracy ${(e.accuracy * 100).toFixed(1)}% (${(e.correct ?? 0).toLocaleString("en-US")} of ${e.n.toLocaleString("en-US")})`] : []),
    ...(e.mse !== undefined ? [`MSE ${num(e.mse)}`, `MAE ${num(e.mae ?? NaN)}`] : []),
    `backend ${input.backend}`,
  ];
  const body =
    e.task === "classification"
      ? `<h2>Per class</h2>
<p class="legend">Precision: of the samples predicted as the class, the fraction that are. Recall: of the class's samples, the fraction predicted as it. F1: their harmonic mean. –: no samples to measure on.</p>
${classTable(e)}
<h2>Confusion matrix</h2>
<p class="legend">Rows: the true class; columns: the predicted class. Each row is shaded by its share of the class's samples: blue on the diagonal (right), red off it (confused).</p>
<div class="charts" id="confusion"></div>`
      : `<h2>Per target</h2>
${targetTable(e)}`;
  const data = { confusion: e.confusion ?? null, classes: e.classes ?? [], targets: e.targets ?? [] };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="nnc">
<title>nnc evaluation: ${escapeHtml(input.run)}</title>
<style>${STYLE}</style>
</head>
<body data-status="loading">
<h1>${escapeHtml(input.run)} <small>${escapeHtml(input.data)}</small></h1>
<p class="meta">${facts.map(escapeHtml).join(" · ")}</p>
<p class="meta">Made by nnc evaluate on ${escapeHtml(input.created)}.</p>
<noscript>The confusion matrix needs JavaScript; the tables do not.</noscript>
${body}
<script type="application/json" id="nnc-report-data">${scriptJson(data)}</script>
<script>${EVALUATION_SCRIPT}</script>
</body>
</html>
`;
}
