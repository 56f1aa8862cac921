/**
 * `nnc sanity FILE [--model M] [--per-class N] [--epochs N] [--backend B] [--seed N]`: the
 * lectures' first check before a long run: can the network overfit a tiny subset of its data
 * (20 samples per class)? Trains the recipe (optimizer, learning rate, schedule, loss, clipping
 * as written) on that subset without augmentation, validation, weight decay or checkpoints,
 * until training accuracy stops improving or the epochs run out, prints the curve and a
 * verdict, with hints when it cannot.
 */
import type { TrainConfig } from "../runtime/config.js";
import type { CommandResult } from "./build-command.js";
import { badBackend, isResult, loadSpecModule, runtime, runOnSpec, withEpochLines, type Runtime } from "./spec-module.js";

export interface SanityCommandOptions {
  file: string;
  model?: string;
  backend?: string;
  seed?: number;
  /** Training samples per class (default 20). */
  perClass?: number;
  /** At most this many epochs (default 200). */
  epochs?: number;
  color: boolean;
}

type EpochRecord = Awaited<ReturnType<Runtime["nnc"]["train"]>>["history"][number];

/** Training accuracy that counts as "overfitted". */
export const OVERFIT_ACC = 0.99;
/** Epochs without a better training accuracy before the check stops. */
export const PATIENCE = 20;

const BARS = "▁▂▃▄▅▆▇█";

/** A sparkline of `values` in at most `width` characters (each the mean of its stretch). */
export function sparkline(values: number[], width = 50, lo?: number, hi?: number): string {
  if (values.length === 0) return "";
  const n = Math.min(width, values.length);
  const points = Array.from({ length: n }, (_, i) => {
    const from = Math.floor((i * values.length) / n);
    const to = Math.max(from + 1, Math.floor(((i + 1) * values.length) / n));
    const part = values.slice(from, to);
    return part.reduce((a, b) => a + b, 0) / part.length;
  });
  const min = lo ?? Math.min(...points);
  const max = hi ?? Math.max(...points);
  return points.map((v) => BARS[max > min ? Math.round(((Math.min(max, Math.max(min, v)) - min) / (max - min)) * (BARS.length - 1)) : 0]).join("");
}

const pct = (v: number | undefined): string => (v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);

/** The recipe made into the check: the subset, many epochs, nothing that fights overfitting. */
export function sanityConfig(recipe: TrainConfig, perClass: number, epochs: number): TrainConfig {
  const config: TrainConfig = {
    ...recipe,
    data: { ...recipe.data, perClass },
    augment: [],
    weightDecay: 0,
    epochs,
    earlyStop: { metric: "acc", patience: PATIENCE, restoreBest: false },
    metrics: ["loss", "acc"],
  };
  delete config.validate;
  delete config.checkpoint;
  return config;
}

/** What the curve says, and what to try when the subset was not learnt. */
export function verdict(history: EpochRecord[], lr: number, perClass: number): { ok: boolean; lines: string[] } {
  const best = Math.max(...history.map((h) => h.acc ?? 0));
  const first = history[0]!;
  const last = history[history.length - 1]!;
  const epochOf = history.find((h) => (h.acc ?? 0) >= OVERFIT_ACC)?.epoch;
  if (best >= OVERFIT_ACC) {
    return { ok: true, lines: [`ok: training accuracy reached ${pct(best)} in epoch ${epochOf} (loss ${first.loss.toFixed(4)} → ${last.loss.toFixed(4)}): the model, the data and the loss are wired up right, and it can learn. Now train on all the data.`] };
  }
  const lines = [`not overfitted: the best training accuracy was ${pct(best)} (it should reach ${pct(OVERFIT_ACC)} on so few samples); loss ${first.loss.toFixed(4)} → ${last.loss.toFixed(4)} in ${history.length} epochs.`];
  const fell = last.loss < 0.9 * first.loss;
  const rose = last.loss > 1.1 * first.loss || history.some((h, i) => i > 0 && h.loss > 1.5 * history[i - 1]!.loss);
  const lower = Number((lr / 10).toPrecision(3));
  if (rose) {
    lines.push(`  hint: the loss went up: the learning rate (${lr}) is too high for this model; try 10× lower (\`lr ${lower}\`), or \`clip norm 1.0\`.`);
  } else if (!fell) {
    lines.push(`  hint: the loss hardly moved. The learning rate may be too low (now ${lr}): try 10× higher (\`lr ${Number((lr * 10).toPrecision(3))}\`); or the gradients vanish before they reach the first layers: run \`nnc inspect\`.`);
    lines.push(`  hint: a loss that will not fall on ${perClass} samples per class can also mean the labels do not belong to the inputs (a bug in the data) or a loss that does not fit the output.`);
  } else {
    lines.push("  hint: the loss fell but not far enough: give it more epochs (`--epochs`), a larger learning rate, or a larger model (more units or layers).");
    lines.push("  hint: dropout and L1/L2 penalties in the model work against memorising: take them out for this check. Inconsistent labels (the same input under two classes) also stop it.");
  }
  return { ok: false, lines };
}

export async function runSanity(opts: SanityCommandOptions, print: (line: string) => void): Promise<CommandResult> {
  const bad = badBackend(opts.backend);
  if (bad) return bad;
  const spec = await loadSpecModule({ file: opts.file, color: opts.color, ...(opts.model !== undefined ? { model: opts.model } : {}) });
  if (isResult(spec)) return spec;
  const perClass = opts.perClass ?? 20;
  const epochs = opts.epochs ?? 200;
  return runOnSpec(spec, async () => {
    for (const line of spec.stdout) print(line);
    const rt = await runtime(spec);
    const build = spec.mod[spec.builder] as Parameters<Runtime["nnc"]["train"]>[0];
    const config = sanityConfig(spec.mod.recipe, perClass, epochs);
    const notes: string[] = [];
    print(`sanity check of \`${spec.model}\`: overfit ${perClass} training samples per class (no augmentation, validation or weight decay; up to ${epochs} epochs, stopping ${PATIENCE} epochs after the training accuracy stops improving)`);
    let result;
    try {
      result = await withEpochLines(() => {}, () => rt.nnc.train(
        build,
        config,
        {
          baseDir: spec.baseDir,
          noSave: true,
          logJson: true,
          log: (line) => {
            if (!line.startsWith("{")) notes.push(line);
          },
          ...(opts.backend !== undefined ? { backend: opts.backend as NonNullable<Parameters<Runtime["nnc"]["train"]>[2]>["backend"] } : {}),
          ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        },
        // What `nnc train` passes (the generated train()'s last argument): the multiply-adds
        // decide whether wasm takes threads, so the check runs as the real training would.
        spec.info,
      ));
    } catch (e) {
      // The runtime's divergence guard: weights, gradients or the loss stopped being finite.
      if (e instanceof Error && e.name === "TrainError" && /diverged|overflowed|no longer finite|became (NaN|infinite|-?Infinity)/.test(e.message)) {
        const hint = /\bHint:/.test(e.message) ? [] : [`  hint: the learning rate (${config.lr}) is too high for this model: try 10× lower.`];
        return { exitCode: 1, stdout: [...notes.filter((n) => /^(backend|wasm|data):/.test(n)), `not overfitted: ${e.message}`, ...hint], stderr: [] };
      }
      throw e;
    }
    const out = notes.filter((n) => /^(backend|wasm|data|seed):? /.test(n));
    const h = result.history;
    const step = Math.max(1, Math.ceil(h.length / 10));
    out.push("epoch      loss    train acc");
    for (const r of h) {
      if ((r.epoch - 1) % step === 0 || r.epoch === h.length) out.push(`${String(r.epoch).padStart(5)}  ${r.loss.toFixed(4).padStart(8)}  ${pct(r.acc).padStart(11)}`);
    }
    out.push(`loss  ${sparkline(h.map((r) => r.loss), 50, 0)}`);
    out.push(`acc   ${sparkline(h.map((r) => r.acc ?? 0), 50, 0, 1)}`);
    const v = verdict(h, config.lr, perClass);
    out.push(...v.lines);
    return { exitCode: v.ok ? 0 : 1, stdout: out, stderr: [] };
  });
}
