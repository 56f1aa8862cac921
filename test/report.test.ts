/**
 * `nnc train --report FILE.html`: a self-contained page with the curves, the learning rate,
 * histograms at the start and the end, layer statistics and the summary. Rendered in headless
 * Chromium (Debian's `chromium`): the page's script must report every chart drawn, the console
 * must stay silent, and the screenshot must show the series' colours inside every chart's box.
 * Skipped without chromium unless NNC_REQUIRE_CHROMIUM=1 (CI sets it).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { renderReport, type ReportInput } from "../src/runtime/report.js";
import { tensorStats, type Inspection } from "../src/runtime/inspect.js";
import { countColor, decodePng, distinctColors } from "./png.js";
import { findChromium, nnc } from "./cli-run.js";




const chromium = findChromium();
const required = process.env["NNC_REQUIRE_CHROMIUM"] === "1";

function headless(args: string[]): { stdout: string; stderr: string; code: number } {
  const profile = mkdtempSync(join(tmpdir(), "nnc-chromium-"));
  const r = spawnSync(
    chromium!,
    ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--force-device-scale-factor=1", "--hide-scrollbars", `--user-data-dir=${profile}`, ...args],
    { encoding: "utf8", timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return { stdout: r.stdout ?? "", stderr: r.stderr ?? "", code: r.status ?? -1 };
}

const SPEC = `model tiny {
  input 10
  dense 16 tanh init glorot_normal
  dense 16 tanh init glorot_normal
  dense 1 sigmoid
}
train tiny {
  data ball(dims: 10, n: 300, test: 100)
  validate 0.2
  normalize standard
  loss binary_crossentropy
  optim adam lr 1e-2
  schedule step(0.5, every: 2)
  batch 32
  epochs 6
  seed 4
}
`;

describe("the report page", () => {
  const stats = tensorStats([0, 1, 2, 3]);
  const hostile = "</script><script>alert(1)</script>&\u2028";
  const inspection: Inspection = {
    batch: 4,
    input: { ...stats, signal: 1 },
    layers: [{ name: hostile, className: "Dense", activation: "tanh", shape: [4], z: stats, a: stats, signal: 1, weights: stats, gradients: stats }],
    loss: 0.7,
    lossName: "binary_crossentropy",
    classes: 2,
    expectedLoss: Math.log(2),
    warnings: [{ kind: "saturated", message: `<b>${hostile}</b>`, hint: "<i>hint</i>", layers: [hostile] }],
  };
  const input: ReportInput = {
    model: "m",
    spec: `${hostile}.nn`,
    backend: "cpu",
    seed: 1,
    created: "2026-01-01T00:00:00Z",
    history: [{ epoch: 1, lr: 0.1, loss: 0.7, acc: 0.5, seconds: 1 }],
    summary: { layers: [{ name: hostile, kind: "dense tanh", shape: "4", params: 20 }], total: 20, trainable: 20, nonTrainable: 0 },
    start: inspection,
  };
  const html = renderReport(input);

  it("escapes every string from the spec and the model", () => {
    expect(html).not.toContain("<script>alert(1)");
    expect(html).not.toContain("<b>");
    expect(html).toContain("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;");
    // Exactly the two script elements of the page: the data and the drawing code.
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    const json = html.slice(html.indexOf('id="nnc-report-data">') + 'id="nnc-report-data">'.length, html.indexOf("</script>"));
    expect(json).not.toMatch(/[<>\u2028]/);
    expect((JSON.parse(json) as { start: Inspection }).start.layers[0]!.name).toBe(hostile);
  });

  it("needs nothing from the network", () => {
    expect(html).not.toMatch(/<(link|img|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/\bsrc\s*=|@import|url\(/i);
    // The one URL is the SVG namespace, an identifier that is never fetched.
    expect(html.match(/https?:\/\/[^\s"'<]+/g)).toEqual(["http://www.w3.org/2000/svg"]);
  });
});

describe.skipIf(!chromium && !required)("nnc train --report, rendered in headless Chromium", () => {
  let dir = "";
  let report = "";
  let charts: { x: number; y: number; w: number; h: number }[] = [];

  beforeAll(() => {
    if (!chromium) throw new Error("NNC_REQUIRE_CHROMIUM=1 but no chromium on PATH: apt-get install chromium");
    dir = mkdtempSync(join(tmpdir(), "nnc-report-"));
    // A file name with HTML in it: the page must show it as text.
    const spec = join(dir, "r&d <1>.nn");
    writeFileSync(spec, SPEC);
    report = join(dir, "out", "report.html");
    const r = nnc(["train", spec, "--backend", "cpu", "--out", join(dir, "run"), "--report", report]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`report → ${report}`);
  }, 120_000);

  it("draws every chart without a console message", () => {
    const r = headless(["--enable-logging=stderr", "--v=0", "--window-size=1280,2400", "--dump-dom", pathToFileURL(report).href]);
    expect(r.stdout).toContain("</html>");
    const console = r.stderr.split("\n").filter((l) => /:CONSOLE[:(]/.test(l));
    expect(console).toEqual([]);
    const body = /<body([^>]*)>/.exec(r.stdout)![1]!;
    // 3 curves, and 3 layers × 4 histograms (Z, activation, weights, gradients) × start and end.
    expect(body).toContain('data-status="ok 27"');
    charts = /data-charts="([^"]*)"/
      .exec(body)![1]!
      .split(";")
      .map((s) => s.split(",").map(Number))
      .map(([x, y, w, h]) => ({ x: x!, y: y!, w: w!, h: h! }));
    expect(charts).toHaveLength(27);
    expect(r.stdout).toContain("r&amp;d &lt;1&gt;.nn");
    const html = readFileSync(report, "utf8");
    expect(html).toContain("step(0.5, every: 2)");
    expect(html).toMatch(/<td>dense1<\/td><td>dense tanh<\/td><td>16<\/td><td class="n">176<\/td>/);
  }, 120_000);

  it("shows the series inside every chart's box in a screenshot", () => {
    expect(charts.length).toBe(27);
    const height = Math.max(...charts.map((c) => c.y + c.h)) + 40;
    const shot = join(dir, "shot.png");
    headless([`--window-size=1280,${height}`, `--screenshot=${shot}`, pathToFileURL(report).href]);
    const img = decodePng(readFileSync(shot));
    expect(img.width).toBe(1280);
    const [loss, acc, lr] = charts;
    for (const c of [loss!, acc!]) {
      expect(countColor(img, c, "#1f77b4")).toBeGreaterThan(40);
      expect(countColor(img, c, "#ff7f0e")).toBeGreaterThan(40);
    }
    expect(countColor(img, lr!, "#2ca02c")).toBeGreaterThan(40);
    const hist = charts.slice(3);
    for (const c of hist.slice(0, 12)) expect(countColor(img, c, "#1f77b4")).toBeGreaterThan(10);
    for (const c of hist.slice(12)) expect(countColor(img, c, "#ff7f0e")).toBeGreaterThan(10);
    // The check can fail: a stretch of the page right of the charts is blank.
    expect(distinctColors(img, { x: 1230, y: charts[0]!.y, w: 40, h: 200 })).toBe(1);
  }, 120_000);
});
