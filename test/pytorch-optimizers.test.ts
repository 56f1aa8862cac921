/**
 * The PyTorch runtime's training maths (python/nnc_torch: optimizers, schedules, clip,
 * initializers) against the TS runtime's: every optimizer, with its defaults and with other
 * arguments, five steps from the same weights and gradients (four variables of different
 * shapes, a learning-rate change, a step where one variable has no gradient), without
 * clipping and clipped by norm and by value; weights after every step and the final slots
 * agree to 1e-5 relative (1e-6 absolute). A TS checkpoint's slots restored in Python and
 * torch's own state_dict round trip continue the same run. Every schedule over 20 epochs, and
 * the initialisers' moments and truncation over 256×256 tensors. One Python process does all
 * the Python work, reading one JSON file.
 */
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SeededRandom } from "../src/common/random.js";
import { clipGradients } from "../src/runtime/clip.js";
import type { ClipConfig } from "../src/runtime/clip.js";
import type {
  InitConfig,
  OptimizerConfig,
  ScheduleConfig,
} from "../src/runtime/config.js";
import {
  TRUNCATED_NORMAL_STD,
  initializer,
} from "../src/runtime/initializers.js";
import { createOptimizer, slotNames } from "../src/runtime/optimizers.js";
import { learningRateAt } from "../src/runtime/schedules.js";

const python = "/usr/bin/python3";
const pythonPath = resolve(__dirname, "../python");
const torchCheck = spawnSync(python, ["-c", "import torch"], {
  encoding: "utf8",
});
const hasTorch = torchCheck.status === 0;
const skipReason = hasTorch
  ? ""
  : `PyTorch is not importable by ${python} (${(torchCheck.stderr ?? String(torchCheck.error ?? "")).trim().split("\n").pop()}): the PyTorch runtime tests are skipped`;
if (!hasTorch) console.warn(skipReason);

it.runIf(process.env["NNC_REQUIRE_TORCH"] === "1")(
  "has PyTorch where the environment requires it (NNC_REQUIRE_TORCH=1)",
  () => {
    expect(hasTorch, skipReason).toBe(true);
  },
);

// ── the cases ────────────────────────────────────────────────────────────────────────────

const SHAPES: Record<string, number[]> = {
  "dense1/kernel": [4, 3],
  "dense1/bias": [3],
  "conv/kernel": [2, 2, 1, 3],
  scale: [1],
};
const STEPS = 5;
/** The learning rate of each step, as multiples of the case's base rate (changed between steps). */
const LR_FACTORS = [1, 1, 0.5, 0.5, 0.25];
/** At this step (0-based) this variable has no gradient: left alone, while t still advances. */
const NO_GRADIENT = { step: 2, key: "dense1/bias" };
/** Steps before the restore checks take over. */
const RESTORE_AT = 3;

const OPTIMIZERS: { config: OptimizerConfig; lr: number }[] = [
  { config: { name: "sgd", args: {} }, lr: 0.1 },
  { config: { name: "momentum", args: { beta: 0.9 } }, lr: 0.1 },
  { config: { name: "momentum", args: { beta: 0.5 } }, lr: 0.05 },
  { config: { name: "nesterov", args: { beta: 0.9 } }, lr: 0.1 },
  { config: { name: "nesterov", args: { beta: 0.7 } }, lr: 0.05 },
  { config: { name: "adagrad", args: { epsilon: 1e-7 } }, lr: 0.1 },
  { config: { name: "adagrad", args: { epsilon: 1e-3 } }, lr: 0.05 },
  { config: { name: "adadelta", args: { rho: 0.95, epsilon: 1e-7 } }, lr: 1 },
  { config: { name: "adadelta", args: { rho: 0.8, epsilon: 1e-3 } }, lr: 0.5 },
  { config: { name: "rmsprop", args: { rho: 0.9, epsilon: 1e-7 } }, lr: 0.01 },
  { config: { name: "rmsprop", args: { rho: 0.7, epsilon: 1e-4 } }, lr: 0.05 },
  {
    config: { name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
    lr: 0.01,
  },
  {
    config: { name: "adam", args: { beta1: 0.8, beta2: 0.99, epsilon: 1e-4 } },
    lr: 0.05,
  },
  {
    config: {
      name: "nadam",
      args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
    },
    lr: 0.01,
  },
  {
    config: { name: "nadam", args: { beta1: 0.8, beta2: 0.99, epsilon: 1e-4 } },
    lr: 0.05,
  },
  {
    config: {
      name: "adamw",
      args: { weight_decay: 0.01, beta1: 0.9, beta2: 0.999 },
    },
    lr: 0.01,
  },
  {
    config: {
      name: "adamw",
      args: { weight_decay: 0.3, beta1: 0.8, beta2: 0.99 },
    },
    lr: 0.05,
  },
  { config: { name: "lm", args: { mu: 1 } }, lr: 0.1 },
  { config: { name: "lm", args: { mu: 0.1 } }, lr: 0.02 },
];
/** Gradients are uniform in [−1, 1]: a global norm near 3, so both thresholds bite. */
const CLIPS: (ClipConfig | null)[] = [
  null,
  { by: "norm", threshold: 0.5 },
  { by: "value", threshold: 0.3 },
];

const SCHEDULES: { schedule: ScheduleConfig; epochs: number }[] = [
  { schedule: { name: "constant" }, epochs: 20 },
  { schedule: { name: "step", factor: 0.5, every: 3 }, epochs: 20 },
  { schedule: { name: "step", factor: 0.1, every: 0 }, epochs: 20 },
  { schedule: { name: "exp", rate: 0.9 }, epochs: 20 },
  { schedule: { name: "cosine" }, epochs: 20 },
  { schedule: { name: "cosine" }, epochs: 13 }, // epochs past the last stay at the end value
  { schedule: { name: "cosine" }, epochs: 0 },
  {
    schedule: { name: "warmup", epochs: 3, then: { name: "cosine" } },
    epochs: 20,
  },
  {
    schedule: {
      name: "warmup",
      epochs: 5,
      then: { name: "step", factor: 0.5, every: 2 },
    },
    epochs: 20,
  },
  {
    schedule: { name: "warmup", epochs: 0, then: { name: "exp", rate: 0.8 } },
    epochs: 20,
  },
  {
    schedule: { name: "warmup", epochs: 2.5, then: { name: "constant" } },
    epochs: 20,
  },
];
const SCHEDULE_EPOCHS = 20;
const BASE_LR = 0.03;

const INITS: InitConfig[] = [
  { name: "zeros" },
  { name: "ones" },
  { name: "glorot_normal" },
  { name: "glorot_uniform" },
  { name: "he_normal" },
  { name: "he_uniform" },
  { name: "lecun_normal" },
  { name: "lecun_uniform" },
  { name: "normal", std: 0.05 },
  { name: "uniform", limit: 0.2 },
];
/** Fans passed to Python besides the tensor's own 256/256, so that fan_in and fan_out differ. */
const ODD_FANS = { fanIn: 400, fanOut: 100 };

/** The variance an initialiser should give (TS's formulas; fans taken as at least 1, as TF.js does). */
function expectedVariance(
  config: InitConfig,
  fanIn: number,
  fanOut: number,
): number {
  const avg = Math.max(1, (fanIn + fanOut) / 2);
  const fin = Math.max(1, fanIn);
  switch (config.name) {
    case "zeros":
    case "ones":
      return 0;
    case "glorot_normal":
    case "glorot_uniform":
      return 1 / avg;
    case "he_normal":
    case "he_uniform":
      return 2 / fin;
    case "lecun_normal":
    case "lecun_uniform":
      return 1 / fin;
    case "normal":
      return config.std ** 2;
    case "uniform":
      return config.limit ** 2 / 3;
  }
}

// ── the Python side: one process, all cases ─────────────────────────────────────────────

const SCRIPT = String.raw`
import copy, json, sys
import torch
from nnc_torch.optimizers import create_optimizer, slot_names
from nnc_torch.clip import clip_gradients, clip_gradients_
from nnc_torch.schedules import learning_rate_at
from nnc_torch.initializers import init_, TRUNCATED_NORMAL_STD

job = json.load(open(sys.argv[1]))
out = {"torch": torch.__version__, "optimizers": [], "clips": [], "schedules": [], "inits": []}
t32 = lambda v, shape: torch.tensor(v, dtype=torch.float32).reshape(shape)
flat = lambda t: t.detach().reshape(-1).tolist()

def params_of(weights):
    return [(k, torch.nn.Parameter(t32(v, job["shapes"][k]))) for k, v in weights.items()]

def run(case, params, opt, first, last):
    seen = []
    for i in range(first, last):
        opt.learning_rate = case["lrs"][i]
        grads = {k: t32(v, job["shapes"][k]) for k, v in case["grads"][i].items()}
        clipped = clip_gradients(grads, case["clip"])
        for k, p in params:
            p.grad = clipped.get(k)
        opt.step()
        seen.append({k: flat(p) for k, p in params})
    return seen

for case in job["optimizers"]:
    params = params_of(case["w0"])
    opt = create_optimizer(case["config"], params, case["lr"])
    steps = run(case, params, opt, 0, len(case["lrs"]))
    result = {"steps": steps, "iterations": opt.iterations, "slots": {k: flat(v) for k, v in opt.get_slots().items()},
              "slotNames": list(slot_names(case["config"]))}
    # torch's own checkpoint: state_dict after RESTORE_AT steps into a fresh optimizer.
    params = params_of(case["w0"])
    opt = create_optimizer(case["config"], params, case["lr"])
    run(case, params, opt, 0, case["restoreAt"])
    saved = copy.deepcopy(opt.state_dict())
    params2 = [(k, torch.nn.Parameter(p.detach().clone())) for k, p in params]
    opt2 = create_optimizer(case["config"], params2, 123.0)
    opt2.load_state_dict(saved)
    result["stateDict"] = run(case, params2, opt2, case["restoreAt"], len(case["lrs"]))
    # The TS checkpoint's slots (weight/slot) and iterations after RESTORE_AT steps.
    ts = case["tsState"]
    params3 = params_of(ts["weights"])
    opt3 = create_optimizer(case["config"], params3, case["lr"])
    opt3.set_slots({k: t32(v, job["shapes"][k.rsplit("/", 1)[0]]) for k, v in ts["slots"].items()}, ts["iterations"])
    result["fromTs"] = run(case, params3, opt3, case["restoreAt"], len(case["lrs"]))
    out["optimizers"].append(result)

for case in job["clips"]:
    grads = {k: t32(v, job["shapes"][k]) for k, v in case["grads"].items()}
    copied = clip_gradients(grads, case["clip"])
    params = [torch.nn.Parameter(torch.zeros(job["shapes"][k])) for k in grads]
    for p, g in zip(params, grads.values()):
        p.grad = g.clone()
    clip_gradients_(params, case["clip"])
    out["clips"].append({"copied": {k: flat(v) for k, v in copied.items()}, "inPlace": {k: flat(p.grad) for k, p in zip(grads, params)}})

for case in job["schedules"]:
    out["schedules"].append([learning_rate_at(case["schedule"], job["baseLr"], e, case["epochs"]) for e in range(job["scheduleEpochs"])])

def stats(t):
    t = t.double()
    return {"mean": t.mean().item(), "variance": t.var(unbiased=False).item(), "maxAbs": t.abs().max().item()}

for case in job["inits"]:
    results = {}
    for label, (fan_in, fan_out) in {"square": (256, 256), "odd": (job["oddFans"]["fanIn"], job["oddFans"]["fanOut"])}.items():
        w = torch.empty(256, 256)
        init_(w, case, 7, fan_in, fan_out)
        results[label] = stats(w)
        results[label]["dtype"] = str(w.dtype)
    a, b, c = torch.empty(64), torch.empty(64), torch.empty(64)
    init_(a, case, 5, 300, 200); init_(b, case, 5, 300, 200); init_(c, case, 6, 300, 200)
    results["sameSeedSame"] = bool(torch.equal(a, b))
    results["otherSeedDiffers"] = not bool(torch.equal(a, c))
    out["inits"].append(results)

json.dump(out, sys.stdout)
`;

// ── the TS side ──────────────────────────────────────────────────────────────────────────

type Values = Record<string, number[]>;

interface OptimizerCase {
  config: OptimizerConfig;
  lr: number;
  clip: ClipConfig | null;
  w0: Values;
  lrs: number[];
  grads: Values[];
  restoreAt: number;
  tsState: { weights: Values; slots: Values; iterations: number };
  /** TS results: weights after every step, final slots and iterations. */
  expected: { steps: Values[]; slots: Values; iterations: number };
}

const random = new SeededRandom(20240515);
/** Float32 values uniform in [−1, 1), so both engines start from exactly the same numbers. */
const uniformValues = (n: number) =>
  Array.from(
    new Float32Array(Array.from({ length: n }, () => random.next() * 2 - 1)),
  );
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const randomValues = (): Values =>
  Object.fromEntries(
    Object.entries(SHAPES).map(([k, s]) => [k, uniformValues(sizeOf(s))]),
  );
const read = (t: tf.Tensor) => Array.from(t.dataSync());

function runTs(
  c: Omit<OptimizerCase, "expected" | "tsState">,
): Pick<OptimizerCase, "expected" | "tsState"> {
  const vars: Record<string, tf.Variable> = Object.fromEntries(
    Object.entries(c.w0).map(([k, v]) => [
      k,
      tf.variable(tf.tensor(v, SHAPES[k]!)),
    ]),
  );
  const optimizer = createOptimizer(c.config, c.lr);
  const steps: Values[] = [];
  let tsState: OptimizerCase["tsState"] | undefined;
  try {
    c.grads.forEach((values, i) => {
      if (i === c.restoreAt) {
        const state = optimizer.getState();
        tsState = {
          weights: Object.fromEntries(
            Object.entries(vars).map(([k, v]) => [k, read(v)]),
          ),
          slots: Object.fromEntries(
            Object.entries(state.slots).map(([k, t]) => [k, read(t)]),
          ),
          iterations: state.iterations,
        };
        tf.dispose(Object.values(state.slots));
      }
      optimizer.learningRate = c.lrs[i]!;
      const grads = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [k, tf.tensor(v, SHAPES[k]!)]),
      );
      const clipped = c.clip ? clipGradients(grads, c.clip) : grads;
      optimizer.applyGradients(vars, clipped);
      tf.dispose([
        ...Object.values(grads),
        ...(c.clip ? Object.values(clipped) : []),
      ]);
      steps.push(
        Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, read(v)])),
      );
    });
    const state = optimizer.getState();
    const slots = Object.fromEntries(
      Object.entries(state.slots).map(([k, t]) => [k, read(t)]),
    );
    tf.dispose(Object.values(state.slots));
    return {
      expected: { steps, slots, iterations: state.iterations },
      tsState: tsState!,
    };
  } finally {
    optimizer.dispose();
    tf.dispose(Object.values(vars));
  }
}

function optimizerCases(): OptimizerCase[] {
  const cases: OptimizerCase[] = [];
  for (const { config, lr } of OPTIMIZERS) {
    for (const clip of CLIPS) {
      const w0 = randomValues();
      const grads = Array.from({ length: STEPS }, (_, i) => {
        const g = randomValues();
        if (i === NO_GRADIENT.step) delete g[NO_GRADIENT.key];
        return g;
      });
      const base = {
        config,
        lr,
        clip,
        w0,
        lrs: LR_FACTORS.map((f) => lr * f),
        grads,
        restoreAt: RESTORE_AT,
      };
      cases.push({ ...base, ...runTs(base) });
    }
  }
  return cases;
}

/** Stats of a TF.js initialiser's values over a 256×256 kernel (its own fans: 256 and 256). */
function tfjsStats(config: InitConfig): {
  mean: number;
  variance: number;
  maxAbs: number;
} {
  const values = tf.tidy(() =>
    initializer(config, 7).apply([256, 256], "float32").dataSync(),
  );
  let sum = 0;
  let maxAbs = 0;
  for (const v of values) {
    sum += v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, variance: squares / values.length, maxAbs };
}

// ── comparison ───────────────────────────────────────────────────────────────────────────

/** Every value within 1e-6 + 1e-5·|expected|; the message names the first that is not. */
function expectClose(actual: Values, expected: Values, where: string): void {
  expect(Object.keys(actual).sort(), where).toEqual(
    Object.keys(expected).sort(),
  );
  for (const [key, want] of Object.entries(expected)) {
    const got = actual[key]!;
    expect(got.length, `${where} ${key}`).toBe(want.length);
    want.forEach((w, i) => {
      const diff = Math.abs(got[i]! - w);
      if (!(diff <= 1e-6 + 1e-5 * Math.abs(w)))
        expect.fail(
          `${where} ${key}[${i}]: Python ${got[i]} vs TS ${w} (difference ${diff})`,
        );
    });
  }
}

const describeClip = (clip: ClipConfig | null) =>
  clip ? `clip by ${clip.by} ${clip.threshold}` : "no clipping";
const describeCase = (c: {
  config: OptimizerConfig;
  clip: ClipConfig | null;
}) =>
  `${c.config.name}(${JSON.stringify(c.config.args)}), ${describeClip(c.clip)}`;

interface PythonOutput {
  torch: string;
  optimizers: {
    steps: Values[];
    iterations: number;
    slots: Values;
    slotNames: string[];
    stateDict: Values[];
    fromTs: Values[];
  }[];
  clips: { copied: Values; inPlace: Values }[];
  schedules: number[][];
  inits: {
    square: InitStats;
    odd: InitStats;
    sameSeedSame: boolean;
    otherSeedDiffers: boolean;
  }[];
}
type InitStats = {
  mean: number;
  variance: number;
  maxAbs: number;
  dtype: string;
};

describe.skipIf(!hasTorch)(
  "the PyTorch runtime's training maths equal the TS runtime's",
  () => {
    let dir: string;
    let cases: OptimizerCase[];
    let clipCases: { clip: ClipConfig; grads: Values; expected: Values }[];
    let out: PythonOutput;

    beforeAll(async () => {
      await tf.setBackend("cpu");
      dir = mkdtempSync(join(tmpdir(), "nnc-pytorch-optim-"));
      cases = optimizerCases();
      clipCases = CLIPS.filter((c): c is ClipConfig => c !== null).map(
        (clip) => {
          const grads = randomValues();
          const expected = tf.tidy(() => {
            const clipped = clipGradients(
              Object.fromEntries(
                Object.entries(grads).map(([k, v]) => [
                  k,
                  tf.tensor(v, SHAPES[k]!),
                ]),
              ),
              clip,
            );
            return Object.fromEntries(
              Object.entries(clipped).map(([k, t]) => [k, read(t)]),
            );
          });
          return { clip, grads, expected };
        },
      );
      const job = {
        shapes: SHAPES,
        optimizers: cases.map(({ expected: _e, ...c }) => c),
        clips: clipCases.map(({ clip, grads }) => ({ clip, grads })),
        schedules: SCHEDULES,
        baseLr: BASE_LR,
        scheduleEpochs: SCHEDULE_EPOCHS,
        inits: INITS,
        oddFans: ODD_FANS,
      };
      const file = join(dir, "job.json");
      writeFileSync(file, JSON.stringify(job));
      const r = spawnSync(python, ["-c", SCRIPT, file], {
        encoding: "utf8",
        env: { ...process.env, PYTHONPATH: pythonPath },
        maxBuffer: 64 << 20,
      });
      if (r.status !== 0)
        throw new Error(`python failed (${r.status}):\n${r.stderr}`);
      out = JSON.parse(r.stdout) as PythonOutput;
    }, 60_000);
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("gives every optimizer's weights after each of five steps, with and without clipping", () => {
      expect(out.optimizers).toHaveLength(OPTIMIZERS.length * CLIPS.length);
      cases.forEach((c, i) => {
        const got = out.optimizers[i]!;
        c.expected.steps.forEach((want, s) =>
          expectClose(got.steps[s]!, want, `${describeCase(c)}, step ${s + 1}`),
        );
        // The weights really moved, and the variable without a gradient at that step did not.
        expect(c.expected.steps[STEPS - 1]!["dense1/kernel"]).not.toEqual(
          c.w0["dense1/kernel"],
        );
        expect(c.expected.steps[NO_GRADIENT.step]![NO_GRADIENT.key]).toEqual(
          c.expected.steps[NO_GRADIENT.step - 1]![NO_GRADIENT.key],
        );
      });
    });

    it("keeps the same slots under the same names, and counts steps as TS does", () => {
      cases.forEach((c, i) => {
        const got = out.optimizers[i]!;
        expect(got.slotNames, describeCase(c)).toEqual([
          ...slotNames(c.config),
        ]);
        expect(got.iterations, describeCase(c)).toBe(c.expected.iterations);
        expect(got.iterations).toBe(STEPS);
        expectClose(got.slots, c.expected.slots, `${describeCase(c)}, slots`);
      });
    });

    it("continues a run from a TS checkpoint's slots, and from its own state_dict", () => {
      cases.forEach((c, i) => {
        const got = out.optimizers[i]!;
        for (let s = RESTORE_AT; s < STEPS; s++) {
          expectClose(
            got.fromTs[s - RESTORE_AT]!,
            c.expected.steps[s]!,
            `${describeCase(c)}, step ${s + 1} after restoring TS slots`,
          );
          expectClose(
            got.stateDict[s - RESTORE_AT]!,
            c.expected.steps[s]!,
            `${describeCase(c)}, step ${s + 1} after load_state_dict`,
          );
        }
      });
    });

    it("clips gradients as TS does, into copies and in place", () => {
      clipCases.forEach((c, i) => {
        expectClose(out.clips[i]!.copied, c.expected, describeClip(c.clip));
        expectClose(
          out.clips[i]!.inPlace,
          c.expected,
          `${describeClip(c.clip)} in place`,
        );
      });
    });

    it("gives every schedule's learning rate for every epoch", () => {
      SCHEDULES.forEach(({ schedule, epochs }, i) => {
        const want = Array.from({ length: SCHEDULE_EPOCHS }, (_, e) =>
          learningRateAt(schedule, BASE_LR, e, epochs),
        );
        const got = out.schedules[i]!;
        want.forEach((w, e) =>
          expect(
            Math.abs(got[e]! - w),
            `${JSON.stringify(schedule)} of ${epochs}, epoch ${e}: ${got[e]} vs ${w}`,
          ).toBeLessThanOrEqual(1e-12 * Math.abs(w)),
        );
      });
    });

    it("initialises with Keras's variances, truncation and TF.js's distributions", () => {
      INITS.forEach((config, i) => {
        const got = out.inits[i]!;
        const name = JSON.stringify(config);
        expect(got.sameSeedSame, `${name}: same seed`).toBe(true);
        if (config.name === "zeros" || config.name === "ones") {
          const value = config.name === "ones" ? 1 : 0;
          expect(got.square, name).toMatchObject({
            mean: value,
            variance: 0,
            maxAbs: value,
            dtype: "torch.float32",
          });
          return;
        }
        expect(got.otherSeedDiffers, `${name}: another seed`).toBe(true);
        const tfjs = tfjsStats(config);
        for (const [label, stats, fanIn, fanOut] of [
          ["TF.js 256/256", tfjs, 256, 256],
          ["Python 256/256", got.square, 256, 256],
          [
            `Python ${ODD_FANS.fanIn}/${ODD_FANS.fanOut}`,
            got.odd,
            ODD_FANS.fanIn,
            ODD_FANS.fanOut,
          ],
        ] as const) {
          const variance = expectedVariance(config, fanIn, fanOut);
          const std = Math.sqrt(variance);
          const where = `${name}, ${label}: ${JSON.stringify(stats)} (variance should be ${variance})`;
          expect(Math.abs(stats.variance / variance - 1), where).toBeLessThan(
            0.03,
          );
          expect(Math.abs(stats.mean), where).toBeLessThan(0.02 * std);
          if (config.name.endsWith("_uniform") || config.name === "uniform") {
            // Uniform on [−√3σ, √3σ]: reaches the limit, never passes it.
            expect(stats.maxAbs, where).toBeLessThanOrEqual(
              Math.sqrt(3) * std * (1 + 1e-6),
            );
            expect(stats.maxAbs, where).toBeGreaterThan(
              0.99 * Math.sqrt(3) * std,
            );
          } else if (config.name === "normal") {
            expect(stats.maxAbs, `${where}: not truncated`).toBeGreaterThan(
              3.5 * std,
            );
          } else {
            // Truncated at two of the underlying normal's σ = std / 0.8796.
            const bound = (2 * std) / TRUNCATED_NORMAL_STD;
            expect(
              stats.maxAbs,
              `${where}: truncated at ${bound}`,
            ).toBeLessThanOrEqual(bound * (1 + 1e-6));
            expect(
              stats.maxAbs,
              `${where}: truncated at ${bound}`,
            ).toBeGreaterThan(0.98 * bound);
          }
        }
      });
    });
  },
);
