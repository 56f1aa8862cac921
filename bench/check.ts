/**
 * Benchmark (not a test) of `nnc check` against building the same network in TensorFlow.js.
 *
 *   npm run build && node dist/bench/check.js [--json] [--runs N] [--tfjs-runs N] [--warm-runs N]
 *
 * Measures, side by side in one run on one machine:
 *   0. Node's own start-up: `node -e 0`, spawned in turn with each of the cold runs below;
 *   1. cold `nnc check specs/resnet50.nn`: a fresh `node dist/nnc.mjs` process per run;
 *   2. cold `nnc check` of a generated, flat 1,000-layer spec (written to a temp dir);
 *   3. warm re-check of that spec in-process (`checkText`), unchanged and after a one-character
 *      edit (an editor's keystroke), against a 20 ms target;
 *   4. a fresh `node` process that builds ResNet-50 with the tfjs layers API (`cpu` backend) and
 *      prints `model.summary()` (dist/bench/tfjs-resnet50.js), asserted to have the same
 *      25,557,032 trainable parameters as our checker finds;
 *   5. a table, the ratios against the targets, and the machine. The tfjs/nnc ratio is given
 *      twice: for the whole processes, and with Node's own start-up (the median of `node -e 0`,
 *      common to both) subtracted from each side. `--json` prints the results as one JSON
 *      object on stdout instead (progress goes to stderr either way).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkText } from "../src/pipeline.js";

// ---------------------------------------------------------------------------------------------
// Settings

const RESNET50_TRAINABLE = 25_557_032; // torchvision's published count, and our checker's
const WARM_TARGET_MS = 20;
const RATIO_TARGET = 20;
const GENERATED_LAYERS = 1000;
/** The reference specs of issue 14's architectures, re-checked warm. */
const MODERN_SPECS = ["mobilenet_v1.nn", "densenet121.nn", "resnext50.nn", "unet.nn"];

interface Options {
  json: boolean;
  runs: number;
  tfjsRuns: number;
  warmRuns: number;
  warmup: number;
  /** `--write-spec PATH`: write the generated spec there and exit (for profiling by hand). */
  writeSpec?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { json: false, runs: 10, tfjsRuns: 5, warmRuns: 50, warmup: 10 };
  const num = (i: number): number => {
    const v = Number(argv[i]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${argv[i - 1]} needs a whole number ≥ 1, not ${argv[i]}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") o.json = true;
    else if (a === "--runs") o.runs = num(++i);
    else if (a === "--tfjs-runs") o.tfjsRuns = num(++i);
    else if (a === "--warm-runs") o.warmRuns = num(++i);
    else if (a === "--warmup") o.warmup = num(++i);
    else if (a === "--write-spec") {
      const p = argv[++i];
      if (!p) throw new Error("--write-spec needs a path");
      o.writeSpec = p;
    }
    else if (a === "--help" || a === "-h") {
      process.stdout.write("node dist/bench/check.js [--json] [--runs N=10] [--tfjs-runs N=5] [--warm-runs N=50] [--warmup N=10] [--write-spec PATH]\n");
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Paths: this file runs as dist/bench/check.js; the repository root is two levels up.

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const nncBundle = join(root, "dist", "nnc.mjs");
const tfjsScript = join(here, "tfjs-resnet50.js");
const resnetSpec = join(root, "specs", "resnet50.nn");

// ---------------------------------------------------------------------------------------------
// Statistics

interface Stats {
  runs: number;
  median: number;
  min: number;
  p95: number;
  max: number;
  mean: number;
  samples: number[];
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => {
    const pos = (s.length - 1) * q;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
  };
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    runs: s.length,
    median: round(at(0.5)),
    min: round(s[0]!),
    p95: round(at(0.95)),
    max: round(s[s.length - 1]!),
    mean: round(s.reduce((a, b) => a + b, 0) / s.length),
    samples: samples.map(round),
  };
}

const log = (msg: string): void => {
  process.stderr.write(msg + "\n");
};

// ---------------------------------------------------------------------------------------------
// Cold runs: one fresh process per run, wall time from spawn to exit.

interface Spawned {
  ms: number;
  stdout: string;
  stderr: string;
  status: number | null;
}

function spawnTimed(args: string[]): Spawned {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: "1" } });
  const ms = performance.now() - t;
  if (r.error) throw r.error;
  return { ms, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

interface ColdJob {
  label: string;
  args: string[];
  ok: (r: Spawned) => void;
}

/**
 * One warm-up round (fills the OS file cache; not counted), then `runs` timed rounds; a round
 * spawns each job once, in turn, so that a change in the machine's load touches every job
 * alike (the `node -e 0` start-up that is subtracted from the others runs among them).
 * Every spawn is checked by its job's `ok`. Returns the timings per job, in order.
 */
function coldRounds(jobs: ColdJob[], runs: number): number[][] {
  log(`  warm-up round: ${jobs.map((j) => j.label).join(", ")}…`);
  for (const j of jobs) j.ok(spawnTimed(j.args));
  const samples: number[][] = jobs.map(() => []);
  for (let i = 0; i < runs; i++) {
    jobs.forEach((j, k) => {
      const r = spawnTimed(j.args);
      j.ok(r);
      samples[k]!.push(r.ms);
    });
  }
  jobs.forEach((j, k) => {
    const st = stats(samples[k]!);
    log(`  ${j.label}: median ${st.median.toFixed(1)} ms, min ${st.min.toFixed(1)} ms (${runs} runs)`);
  });
  return samples;
}

const nodeStartJob: ColdJob = {
  label: "node -e 0 (process start floor)",
  args: ["-e", "0"],
  ok: (r) => {
    if (r.status !== 0) throw new Error("node -e 0 failed");
  },
};

function expectCleanCheck(r: Spawned): void {
  if (r.status !== 0 || !/no problems/.test(r.stdout)) {
    throw new Error(`nnc check did not pass cleanly (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The generated spec: a flat (no `repeat`, no blocks) CNN + MLP of exactly 1,000 layer
// statements — convs with batchnorm, inline residual blocks, pools, dropout, other activations
// and norms, then a deep residual MLP head. Every statement is written out, so the lexer,
// parser, lowering and checker all see 1,000 layers.

interface Generated {
  text: string;
  layerStatements: number;
  residuals: number;
  /** Offset of the digit the "keystroke" edit changes (in a `dropout 0.1`). */
  editOffset: number;
}

function generateSpec(target: number): Generated {
  const lines: string[] = [
    `# Generated by bench/check.ts: a flat ${target}-layer CNN + MLP (no repeat, no blocks), so that`,
    "# every layer statement is lexed, parsed, lowered and shape-checked.",
    "",
    "model generated_1000(classes = 10) {",
  ];
  let n = 0;
  let residuals = 0;
  const layer = (s: string, indent = "  "): void => {
    lines.push(indent + s);
    n++;
  };

  layer("input 64x64x3 name image");
  // CNN: five stages (64→32→16→8→4 pixels), each a stem conv and inline residual blocks.
  const cnnBudget = 600;
  const widths = [32, 64, 96, 128, 192];
  const perStage = Math.floor((cnnBudget - 1) / widths.length);
  for (let s = 0; s < widths.length; s++) {
    const c = widths[s]!;
    const stageEnd = 1 + perStage * (s + 1);
    lines.push("", `  # stage ${s + 1}: ${64 >> s}x${64 >> s}, ${c} channels`);
    layer(`conv 3x3x${c} same no_bias init he_normal`);
    layer("batchnorm relu");
    let b = 0;
    // A residual block is 6 statements: 4 in its body, the `-> relu` after it, and a dropout.
    while (n + 6 + 1 <= stageEnd) {
      residuals++;
      const variant = b++ % 4;
      lines.push("  residual {");
      if (variant === 0) {
        layer(`conv 3x3x${c} same no_bias init he_normal`, "    ");
        layer("batchnorm relu", "    ");
        layer(`conv 3x3x${c} same no_bias init he_normal`, "    ");
        layer("batchnorm", "    ");
      } else if (variant === 1) {
        layer(`conv 1x1x${c / 2} no_bias`, "    ");
        layer("groupnorm 8 leaky_relu(0.1)", "    ");
        layer(`conv 3x3x${c} same dilation 2 l2 1e-4`, "    ");
        layer("layernorm", "    ");
      } else if (variant === 2) {
        layer(`conv 3x3x${c} same relu`, "    ");
        layer("dropout 0.1", "    ");
        layer(`conv 3 filters ${c} same`, "    ");
        layer("batchnorm momentum 0.9 epsilon 1e-5", "    ");
      } else {
        layer(`conv 3x3x${c} same no_bias`, "    ");
        layer("batchnorm elu(1.0)", "    ");
        layer(`conv 1x1x${c} init glorot_normal`, "    ");
        layer("batchnorm", "    ");
      }
      lines.push("  } -> relu");
      n++;
      layer(`dropout 0.0${(b % 5) + 1}`);
    }
    while (n + 1 < stageEnd) layer(`conv 3x3x${c} same relu`);
    layer(s < widths.length - 1 ? "pool 2" : "pool 2 avg");
  }

  // Head: global pooling, then a residual MLP down to the classifier.
  lines.push("", "  # MLP head");
  layer("global avgpool");
  layer("dense 256 relu init he_normal");
  let editOffset = -1;
  let k = 0;
  // A residual MLP block is 6 statements: 3 in the body, `-> relu`, layernorm, dropout.
  while (n + 6 + 1 <= target) {
    residuals++;
    lines.push("  residual {");
    layer(`dense 512 ${k % 2 ? "selu init lecun_normal" : "relu init he_normal"}`, "    ");
    layer(`dropout 0.${(k % 3) + 1}`, "    ");
    layer("dense 256 l2 1e-5", "    ");
    lines.push("  } -> relu");
    n++;
    layer("layernorm");
    if (editOffset < 0 && n > target * 0.8) {
      // The edited digit: `dropout 0.1` → `dropout 0.2`, … — one character, no shape change.
      lines.push("  dropout 0.1");
      n++;
      editOffset = lines.join("\n").length - 1;
    } else layer(`dropout 0.${(k % 4) + 1}`);
    k++;
  }
  while (n + 1 < target) layer(n % 2 ? "dense 256 tanh" : "layernorm");
  layer("dense classes softmax name scores");
  lines.push("}", "");
  const text = lines.join("\n");
  if (n !== target) throw new Error(`generator produced ${n} layer statements, not ${target}`);
  if (text[editOffset] !== "1" || !text.slice(editOffset - 10, editOffset).endsWith("dropout 0.")) throw new Error("edit position is off");
  return { text, layerStatements: n, residuals, editOffset };
}

/**
 * A 1,000-layer spec with branches and merges (issue 14): repeated Inception modules (a concat of
 * four branches), DenseNet layers (`concat { … }`), squeeze-and-excitation gates (`multiply`) and
 * long skips (`keep` … `add`), all at 32x32, so every merge's shapes are checked.
 */
function generateBranchedSpec(target: number): Generated {
  const lines: string[] = [`# Generated by bench/check.ts: ${target} layer statements in branches and merges.`, "", "model branched_1000(classes = 10) {"];
  let n = 0;
  let merges = 0;
  let editOffset = -1;
  const layer = (s: string): string => {
    n++;
    return s;
  };
  lines.push(`  ${layer("input 32x32x3")}`, `  ${layer("conv 3x3x32 same relu")}`, "  keep stem");
  for (let u = 0; n + 20 <= target - 3; u++) {
    merges += 4;
    lines.push(
      "",
      `  # unit ${u + 1}`,
      `  concat { ${layer("conv 1x1x8 relu")} }`,
      `         { ${layer("conv 1x1x8 relu")} -> ${layer("conv 3x3x8 relu same")} }`,
      `         { ${layer("conv 1x1x8 relu")} -> ${layer("conv 5x5x8 relu same")} }`,
      `         { ${layer("pool 3 stride 1 same")} -> ${layer("conv 1x1x8 relu")} }`,
      `  concat { ${layer("batchnorm relu")} -> ${layer("conv 3x3x8 same no_bias")} }`,
      `  ${layer("conv 1x1x32 no_bias")} -> ${layer("batchnorm relu")}`,
      `  multiply { ${layer("global avgpool")} -> ${layer("dense 8 relu")} -> ${layer("dense 32 sigmoid")} -> ${layer("reshape 1x1x32")} }`,
      `  add stem`,
      `  ${layer(`dropout 0.${(u % 4) + 1}`)}`,
      "  keep stem",
    );
    if (editOffset < 0 && n > target * 0.8) editOffset = lines.join("\n").length - "\n  keep stem".length - 1;
  }
  while (n + 2 < target) lines.push(`  ${layer("conv 3x3x32 same relu")}`);
  lines.push(`  ${layer("global avgpool")}`, `  ${layer("dense classes softmax")}`, "}", "");
  const text = lines.join("\n");
  if (n !== target) throw new Error(`branched generator produced ${n} layer statements, not ${target}`);
  if (!text.slice(editOffset - 10, editOffset).endsWith("dropout 0.")) throw new Error("branched edit position is off");
  return { text, layerStatements: n, residuals: merges, editOffset };
}

// ---------------------------------------------------------------------------------------------
// Warm: checkText in this process.

function timeCheck(texts: (i: number) => string, warmup: number, runs: number): Stats {
  for (let i = 0; i < warmup; i++) checkText(texts(i));
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const text = texts(warmup + i);
    const t = performance.now();
    checkText(text);
    samples.push(performance.now() - t);
  }
  return stats(samples);
}

// ---------------------------------------------------------------------------------------------
// Machine

function machine(): Record<string, string | number> {
  let cpuModel = cpus()[0]?.model ?? "unknown";
  let cpuinfoProcessors = 0;
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpuModel;
    cpuinfoProcessors = (info.match(/^processor\s*:/gm) ?? []).length;
  } catch {
    // not Linux
  }
  return {
    cpu: cpuModel,
    cores: availableParallelism(),
    cpuinfoProcessors,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadAverage1mAtStart: Math.round(loadavg()[0]! * 100) / 100,
    platform: `${process.platform} ${process.arch}`,
  };
}

// ---------------------------------------------------------------------------------------------

interface TfjsResult {
  backend: string;
  tfjsVersion: string;
  layers: number;
  params: { total: number; trainable: number; nonTrainable: number };
  ms: { importAndBackend: number; build: number; summaryAndCount: number; inProcess: number };
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const mach = machine();
  log(`nnc check benchmark — ${mach["cpu"]}, ${mach["cores"]} cores, node ${mach["node"]}`);

  // Sanity: our checker's count for ResNet-50, in-process.
  const resnetText = readFileSync(resnetSpec, "utf8");
  const resnetChecked = checkText(resnetText);
  const resnetModel = resnetChecked.program.models.find((m) => m.name === "resnet50");
  if (resnetChecked.diagnostics.length || !resnetModel) throw new Error("specs/resnet50.nn does not check cleanly in-process");
  if (resnetModel.params.trainable !== RESNET50_TRAINABLE) throw new Error(`nnc counts ${resnetModel.params.trainable} trainable params in ResNet-50, expected ${RESNET50_TRAINABLE}`);

  // The generated spec: must check with no diagnostics at all before anything is timed.
  const gen = generateSpec(GENERATED_LAYERS);
  const genChecked = checkText(gen.text);
  const genModel = genChecked.program.models[0];
  if (genChecked.diagnostics.length) {
    throw new Error(`the generated spec does not check cleanly:\n${genChecked.diagnostics.slice(0, 5).map((d) => `${d.code} line ${d.range.start.line + 1}: ${d.message}`).join("\n")}`);
  }
  if (!genModel?.complete || genModel.layers.length !== gen.layerStatements + gen.residuals) {
    throw new Error(`the generated model has ${genModel?.layers.length} checked layers, expected ${gen.layerStatements} statements + ${gen.residuals} adds`);
  }
  const branched = generateBranchedSpec(GENERATED_LAYERS);
  const branchedChecked = checkText(branched.text);
  if (branchedChecked.diagnostics.length || !branchedChecked.program.models[0]?.complete) {
    throw new Error(`the branched spec does not check cleanly:\n${branchedChecked.diagnostics.slice(0, 5).map((d) => `${d.code} line ${d.range.start.line + 1}: ${d.message}`).join("\n")}`);
  }
  for (const file of MODERN_SPECS) {
    const r = checkText(readFileSync(join(root, "specs", file), "utf8"));
    if (r.diagnostics.length || !r.program.models[0]?.complete) throw new Error(`specs/${file} does not check cleanly in-process`);
  }
  if (opts.writeSpec) {
    writeFileSync(opts.writeSpec, gen.text);
    const branchedPath = opts.writeSpec.replace(/(\.nn)?$/, "-branched.nn");
    writeFileSync(branchedPath, branched.text);
    log(`wrote ${opts.writeSpec} and ${branchedPath}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "nnc-bench-"));
  const genPath = join(dir, "generated_1000.nn");
  writeFileSync(genPath, gen.text);
  const genLines = gen.text.split("\n").length;
  log(`generated ${genPath}: ${gen.layerStatements} layer statements (${gen.residuals} residuals, ${genModel.layers.length} checked layers, ${genModel.params.total.toLocaleString("en-US")} params), ${genLines} lines, ${gen.text.length} bytes`);

  try {
    log("cold runs (one fresh process each, interleaved with node -e 0):");
    const [nodeSamplesNnc, resnetSamples, genSamples] = coldRounds(
      [
        nodeStartJob,
        { label: "nnc check specs/resnet50.nn", args: [nncBundle, "check", "specs/resnet50.nn"], ok: expectCleanCheck },
        { label: "nnc check generated_1000.nn", args: [nncBundle, "check", genPath], ok: expectCleanCheck },
      ],
      opts.runs,
    );
    const coldResnet = { stats: stats(resnetSamples!) };
    const coldGen = { stats: stats(genSamples!) };

    log("warm re-check in-process (checkText):");
    const warmSame = timeCheck(() => gen.text, opts.warmup, opts.warmRuns);
    log(`  unchanged: median ${warmSame.median.toFixed(2)} ms, p95 ${warmSame.p95.toFixed(2)} ms`);
    // One keystroke: the digit of one `dropout 0.1` cycles 2…9, so every run sees a new text.
    const edited = (i: number): string => gen.text.slice(0, gen.editOffset) + String(2 + (i % 8)) + gen.text.slice(gen.editOffset + 1);
    const warmEdit = timeCheck(edited, opts.warmup, opts.warmRuns);
    log(`  after a one-character edit: median ${warmEdit.median.toFixed(2)} ms, p95 ${warmEdit.p95.toFixed(2)} ms`);
    // A keystroke mid-word: `dropout` → `dropou` leaves an unknown layer kind (an error with a
    // did-you-mean hint) — what the checker sees between keystrokes.
    const broken = gen.text.slice(0, gen.editOffset - 4) + gen.text.slice(gen.editOffset - 3);
    const brokenDiags = checkText(broken).diagnostics;
    if (!brokenDiags.some((d) => d.severity === "error")) throw new Error("the mid-word edit should leave an error");
    const warmBroken = timeCheck(() => broken, opts.warmup, opts.warmRuns);
    log(`  mid-word edit (an error): median ${warmBroken.median.toFixed(2)} ms, p95 ${warmBroken.p95.toFixed(2)} ms`);
    const warmResnet = timeCheck(() => resnetText, opts.warmup, opts.warmRuns);
    log(`  resnet50.nn unchanged: median ${warmResnet.median.toFixed(2)} ms, p95 ${warmResnet.p95.toFixed(2)} ms`);
    // The same with branches and merges, and the reference specs of today's architectures.
    const branchedEdit = (i: number): string => branched.text.slice(0, branched.editOffset) + String(2 + (i % 8)) + branched.text.slice(branched.editOffset + 1);
    const warmBranched = timeCheck(() => branched.text, opts.warmup, opts.warmRuns);
    const warmBranchedEdit = timeCheck(branchedEdit, opts.warmup, opts.warmRuns);
    log(`  branched 1,000 layers: median ${warmBranched.median.toFixed(2)} ms unchanged, ${warmBranchedEdit.median.toFixed(2)} ms after an edit`);
    const warmSpecs = MODERN_SPECS.map((file) => {
      const text = readFileSync(join(root, "specs", file), "utf8");
      const st = timeCheck(() => text, opts.warmup, opts.warmRuns);
      log(`  ${file}: median ${st.median.toFixed(2)} ms`);
      return { file, stats: st };
    });

    log("TensorFlow.js: a fresh process builds ResNet-50 and prints model.summary():");
    let tfjsOut: TfjsResult[] = [];
    let summaryTotals = "";
    const tfjsJob: ColdJob = { label: "tfjs build + summary", args: [tfjsScript], ok: (r) => {
      if (r.status !== 0) throw new Error(`tfjs-resnet50.js failed (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
      const line = r.stdout.split("\n").find((l) => l.startsWith("NNC_BENCH_RESULT "));
      if (!line) throw new Error(`tfjs-resnet50.js printed no result line:\n${r.stdout.slice(-2000)}`);
      const res = JSON.parse(line.slice("NNC_BENCH_RESULT ".length)) as TfjsResult;
      if (res.backend !== "cpu") throw new Error(`tfjs ran on ${res.backend}, not cpu`);
      if (res.params.trainable !== RESNET50_TRAINABLE || res.params.total !== resnetModel.params.total) {
        throw new Error(`tfjs ResNet-50 has ${res.params.trainable} trainable / ${res.params.total} total params; nnc: ${resnetModel.params.trainable} / ${resnetModel.params.total}`);
      }
      const m = /Trainable params: (\d+)/.exec(r.stdout);
      if (!m || Number(m[1]) !== RESNET50_TRAINABLE) throw new Error("model.summary() does not show the expected trainable count");
      summaryTotals = r.stdout.split("\n").filter((l) => /params:/.test(l)).join("; ");
      tfjsOut.push(res);
    } };
    const [nodeSamplesTfjs, tfjsSamples] = coldRounds([nodeStartJob, tfjsJob], opts.tfjsRuns);
    const coldTfjs = { stats: stats(tfjsSamples!) };
    // Node's start-up, from every `node -e 0` spawned among the others.
    const nodeFloor = { stats: stats([...nodeSamplesNnc!, ...nodeSamplesTfjs!]) };
    tfjsOut = tfjsOut.slice(1); // drop the warm-up's
    const inProc = (k: keyof TfjsResult["ms"]): number => stats(tfjsOut.map((r) => r.ms[k])).median;

    // Whole processes: what a user waits for, Node's start-up included on both sides.
    const ratio = coldTfjs.stats.median / coldResnet.stats.median;
    const ratioMin = coldTfjs.stats.min / coldResnet.stats.min;
    // Node's own start-up (`node -e 0`) subtracted from both sides: what each program adds.
    const nodeStart = nodeFloor.stats.median;
    const nodeStartMin = nodeFloor.stats.min;
    const tfjsOwn = coldTfjs.stats.median - nodeStart;
    const nncOwn = coldResnet.stats.median - nodeStart;
    const ratioOwn = nncOwn > 0 ? tfjsOwn / nncOwn : Infinity;
    const ratioOwnMin = coldResnet.stats.min - nodeStartMin > 0 ? (coldTfjs.stats.min - nodeStartMin) / (coldResnet.stats.min - nodeStartMin) : Infinity;
    const totalS = (performance.now() - started) / 1000;
    const results = {
      date: new Date().toISOString(),
      machine: mach,
      settings: opts,
      resnet50: { nncTrainable: resnetModel.params.trainable, nncTotal: resnetModel.params.total, tfjsTrainable: tfjsOut[0]?.params.trainable, tfjsTotal: tfjsOut[0]?.params.total, tfjsSummary: summaryTotals, tfjsLayers: tfjsOut[0]?.layers, nncLayers: resnetModel.layers.length },
      generated: { layerStatements: gen.layerStatements, residuals: gen.residuals, checkedLayers: genModel.layers.length, params: genModel.params.total, lines: genLines, bytes: gen.text.length },
      coldMs: { nodeFloor: nodeFloor.stats, nncResnet50: coldResnet.stats, nncGenerated1000: coldGen.stats, tfjsResnet50: coldTfjs.stats },
      tfjsInProcessMedianMs: { importAndBackend: inProc("importAndBackend"), build: inProc("build"), summaryAndCount: inProc("summaryAndCount"), inProcess: inProc("inProcess") },
      warmMs: { generatedUnchanged: warmSame, generatedOneCharEdit: warmEdit, generatedMidWordError: warmBroken, resnet50Unchanged: warmResnet, branchedUnchanged: warmBranched, branchedOneCharEdit: warmBranchedEdit, ...Object.fromEntries(warmSpecs.map((w) => [w.file, w.stats])) },
      targets: {
        tfjsOverNncCold: { ratioMedian: round2(ratio), ratioMin: round2(ratioMin), target: RATIO_TARGET, met: ratio >= RATIO_TARGET },
        tfjsOverNncColdWithoutNodeStart: {
          nodeStartMedianMs: round2(nodeStart),
          tfjsOwnMedianMs: round2(tfjsOwn),
          nncOwnMedianMs: round2(nncOwn),
          ratioMedian: round2(ratioOwn),
          ratioMin: round2(ratioOwnMin),
          target: RATIO_TARGET,
          met: ratioOwn >= RATIO_TARGET,
        },
        warmRecheck: { medianEditMs: warmEdit.median, p95EditMs: warmEdit.p95, targetMs: WARM_TARGET_MS, met: warmEdit.median < WARM_TARGET_MS && warmSame.median < WARM_TARGET_MS, p95Met: warmEdit.p95 < WARM_TARGET_MS && warmSame.p95 < WARM_TARGET_MS },
        warmRecheckBranched: { medianEditMs: warmBranchedEdit.median, p95EditMs: warmBranchedEdit.p95, targetMs: WARM_TARGET_MS, met: warmBranchedEdit.median < WARM_TARGET_MS && warmBranched.median < WARM_TARGET_MS },
      },
      loadAverage1mAtEnd: round2(loadavg()[0]!),
      totalSeconds: round2(totalS),
    };

    if (opts.json) {
      process.stdout.write(JSON.stringify(results, null, 2) + "\n");
      return;
    }
    const f = (x: number): string => x.toFixed(x < 100 ? 2 : 1).padStart(9);
    const row = (name: string, s: Stats, extra = ""): string => `${name.padEnd(46)}${String(s.runs).padStart(5)}${f(s.median)}${f(s.min)}${f(s.p95)}${extra}`;
    const out: string[] = [];
    out.push("");
    out.push(`Machine: ${mach["cpu"]}, ${mach["cores"]} cores (${mach["cpuinfoProcessors"]} in /proc/cpuinfo), ${mach["memoryGiB"]} GiB, node ${mach["node"]}, ${mach["platform"]}`);
    out.push(`ResNet-50 trainable params: nnc ${resnetModel.params.trainable.toLocaleString("en-US")}, tfjs ${tfjsOut[0]!.params.trainable.toLocaleString("en-US")} (total ${resnetModel.params.total.toLocaleString("en-US")} both) ✓`);
    out.push(`Generated spec: ${gen.layerStatements} layer statements, ${gen.residuals} residuals → ${genModel.layers.length} checked layers, ${genLines} lines, ${(gen.text.length / 1024).toFixed(1)} KiB`);
    out.push("");
    out.push(`${"benchmark (ms)".padEnd(46)}${"runs".padStart(5)}${"median".padStart(9)}${"min".padStart(9)}${"p95".padStart(9)}`);
    out.push("─".repeat(78));
    out.push(row("cold: node -e 0 (process start, reference)", nodeFloor.stats));
    out.push(row("cold: nnc check specs/resnet50.nn", coldResnet.stats));
    out.push(row("cold: nnc check generated 1,000 layers", coldGen.stats));
    out.push(row("cold: tfjs ResNet-50 build + summary (cpu)", coldTfjs.stats));
    out.push(row("warm: checkText(1,000 layers), unchanged", warmSame));
    out.push(row("warm: checkText(1,000 layers), 1-char edit", warmEdit));
    out.push(row("warm: checkText(1,000 layers), mid-word error", warmBroken));
    out.push(row("warm: checkText(resnet50.nn)", warmResnet));
    out.push(row("warm: checkText(1,000 branched), unchanged", warmBranched));
    out.push(row("warm: checkText(1,000 branched), 1-char edit", warmBranchedEdit));
    for (const w of warmSpecs) out.push(row(`warm: checkText(${w.file})`, w.stats));
    out.push("─".repeat(78));
    out.push(`tfjs in-process (median): import + setBackend ${inProc("importAndBackend").toFixed(0)} ms, build ${inProc("build").toFixed(0)} ms, summary + count ${inProc("summaryAndCount").toFixed(0)} ms`);
    out.push("");
    const mark = (ok: boolean): string => (ok ? "MET" : "MISSED");
    out.push(`tfjs build+summary / nnc cold check (ResNet-50), whole processes: ${ratio.toFixed(1)}× by median (${ratioMin.toFixed(1)}× by min) — target ≥ ${RATIO_TARGET}×: ${mark(ratio >= RATIO_TARGET)}`);
    out.push(`  the same without Node's start-up (node -e 0, median ${nodeStart.toFixed(1)} ms, subtracted from both): tfjs ${tfjsOwn.toFixed(0)} ms / nnc ${nncOwn.toFixed(1)} ms = ${ratioOwn.toFixed(1)}× by median (${ratioOwnMin.toFixed(1)}× by min) — target ≥ ${RATIO_TARGET}×: ${mark(ratioOwn >= RATIO_TARGET)}`);
    out.push(`warm re-check, 1,000 layers: ${warmSame.median.toFixed(2)} ms unchanged, ${warmEdit.median.toFixed(2)} ms after an edit (p95 ${warmEdit.p95.toFixed(2)} ms) — target < ${WARM_TARGET_MS} ms: ${mark(results.targets.warmRecheck.met)}${results.targets.warmRecheck.met && !results.targets.warmRecheck.p95Met ? " (median; p95 over)" : ""}`);
    out.push(`warm re-check, 1,000 layers with branches (${branched.residuals} merges): ${warmBranched.median.toFixed(2)} ms unchanged, ${warmBranchedEdit.median.toFixed(2)} ms after an edit (p95 ${warmBranchedEdit.p95.toFixed(2)} ms) — target < ${WARM_TARGET_MS} ms: ${mark(results.targets.warmRecheckBranched.met)}`);
    out.push(`(whole benchmark: ${totalS.toFixed(0)} s; 1-min load average ${mach["loadAverage1mAtStart"]} at start, ${results.loadAverage1mAtEnd} at end — other work on the machine inflates every number)`);
    process.stdout.write(out.join("\n") + "\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

main();
