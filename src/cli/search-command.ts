/**
 * `nnc search FILE [--model M] [--trials N] [--epochs N] [--out DIR] [--backend B] [--fresh]`:
 * runs a spec's `search` block. Each trial is the spec itself with the trial's values written
 * in at the exact places the recipe and the model say them (`lr 1e-3` → `lr 0.00316`, a
 * model parameter's default or the recipe's argument for it), compiled and trained like
 * `nnc train` into `DIR/trial-007/` (its spec.nn, log.txt, model and history). A random search
 * draws each trial from its own seeded generator (the search's `seed`, else the recipe's, and
 * the trial's number), so the same search always tries the same configurations, in the same
 * order. After every trial one line goes to `DIR/results.jsonl` (the file rewritten whole and
 * renamed over, so an interruption never leaves half a line); run it again and the trials
 * already there are skipped. At the end: the results sorted by the objective, and the best
 * configuration written out as `DIR/best.nn`.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { AstExpr, AstFile, AstTrain } from "../parser/index.js";
import { checkText } from "../pipeline.js";
import type { CheckedSearch, SearchVariable } from "../typecheck/index.js";
import type { CommandResult } from "./build-command.js";
import { seededRandom } from "../common/random.js";
import { makeFolder, readSpec, writeFileAtomic } from "./files.js";
import { badBackend, isResult, loadSpecModule, userError, withEpochLines, type GeneratedTrainResult } from "./spec-module.js";

export interface SearchCommandOptions {
  file: string;
  model?: string;
  backend?: string;
  /** Overrides the search's budget (random) or caps the grid. */
  trials?: number;
  /** Epochs per trial, over the search's `epochs` and the recipe's. */
  epochs?: number;
  /** The search's folder (default runs/search-MODEL). */
  out?: string;
  /** Forget the results in the folder and start again. */
  fresh: boolean;
  color: boolean;
}

export type TrialValues = Record<string, number>;

export interface TrialRecord {
  trial: number;
  values: TrialValues;
  status: "ok" | "failed";
  metric: string;
  /** The objective's best value over the trial's epochs. */
  value?: number;
  epochs?: number;
  seconds: number;
  error?: string;
}

// ── sampling ───────────────────────────────────────────────────────────────────────────────

/** Three significant digits: what a person would write in a spec. */
const round3 = (v: number): number => Number(v.toPrecision(3));

function draw(d: SearchVariable["distribution"], random: () => number): number {
  switch (d.kind) {
    case "loguniform":
      return Math.min(d.high, Math.max(d.low, round3(Math.exp(Math.log(d.low) + random() * (Math.log(d.high) - Math.log(d.low))))));
    case "uniform":
      return Math.min(d.high, Math.max(d.low, round3(d.low + random() * (d.high - d.low))));
    case "int":
      return d.low + Math.min(d.high - d.low, Math.floor(random() * (d.high - d.low + 1)));
    case "choice":
      return d.values[Math.min(d.values.length - 1, Math.floor(random() * d.values.length))]!;
  }
}

/** The finite values of a grid variable. */
function gridValues(d: SearchVariable["distribution"]): number[] {
  if (d.kind === "choice") return d.values;
  if (d.kind === "int") return Array.from({ length: d.high - d.low + 1 }, (_, i) => d.low + i);
  return [d.low, d.high];
}

/**
 * The configurations a search tries, in order: a grid's every combination (the last variable
 * varying fastest), or `trials` random draws, trial i from a generator seeded by (seed, i).
 */
export function configurations(search: CheckedSearch, seed: number, trials: number | undefined): TrialValues[] {
  if (search.strategy === "grid") {
    let all: TrialValues[] = [{}];
    for (const v of search.variables) all = all.flatMap((c) => gridValues(v.distribution).map((x) => ({ ...c, [v.name]: x })));
    return trials === undefined ? all : all.slice(0, trials);
  }
  return Array.from({ length: trials ?? search.trials ?? 10 }, (_, i) => {
    const random = seededRandom(Math.imul(seed >>> 0, 0x9e3779b1) + i * 0x85ebca6b);
    return Object.fromEntries(search.variables.map((v) => [v.name, draw(v.distribution, random)]));
  });
}

// ── writing values into the spec ──────────────────────────────────────────────────────────

interface Edit {
  from: number;
  to: number;
  text: string;
}

/** A number as a spec writes it. */
export function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : String(round3(v));
}

/** Where the closing `}` of a declaration is, and how to add a line before it. */
function insertLine(text: string, decl: { range: { end: { offset: number } } }, line: string): Edit {
  const close = text.lastIndexOf("}", decl.range.end.offset - 1);
  const lineStart = text.lastIndexOf("\n", close - 1) + 1;
  if (text.slice(lineStart, close).trim() === "") return { from: lineStart, to: lineStart, text: `  ${line}\n` };
  return { from: close, to: close, text: `\n  ${line}\n` };
}

function exprRange(e: AstExpr | undefined): { from: number; to: number } | undefined {
  return e ? { from: e.range.start.offset, to: e.range.end.offset } : undefined;
}

/** Where the recipe says `name` (its value's range), or undefined when it does not. */
function recipeValue(train: AstTrain, name: string): { from: number; to: number } | undefined {
  const own = train.statements.find((s) => s.head.name === name);
  if (own) {
    const clause = own.clauses[0] ?? [];
    return exprRange(name === "clip" ? clause[clause.length - 1] : clause[0]);
  }
  if (name === "lr") {
    for (const s of train.statements.filter((st) => st.head.name === "optim")) {
      for (const clause of s.clauses) {
        const at = clause.findIndex((e) => e.kind === "ref" && e.name === "lr");
        if (at >= 0) return exprRange(clause[at + 1]);
      }
    }
  }
  return undefined;
}

/**
 * The spec with `values` written in: recipe settings where the recipe says them (or a new line
 * at the end of the recipe), model parameters where the recipe passes them, else at their
 * default in the model's header. Everything else stays byte for byte.
 */
export function substitute(text: string, ast: AstFile, search: CheckedSearch, values: TrialValues): string {
  const train = ast.declarations.find((d): d is AstTrain => d.kind === "train" && d.model?.name === search.model);
  const model = ast.declarations.find((d) => d.kind === "model" && d.name?.name === search.model);
  if (!train || !model || model.kind !== "model") throw new Error(`nnc search: no recipe or model \`${search.model}\` in the checked spec`);
  const edits: Edit[] = [];
  for (const v of search.variables) {
    const value = values[v.name];
    if (value === undefined) continue;
    const written = formatValue(value);
    if (v.target === "recipe") {
      const at = recipeValue(train, v.name);
      edits.push(at ? { ...at, text: written } : insertLine(text, train, v.name === "clip" ? `clip norm ${written}` : `${v.name} ${written}`));
      continue;
    }
    const index = model.params.findIndex((p) => p.name.name === v.name);
    const named = train.args.find((a) => a.name?.name === v.name);
    const positional = train.args.filter((a) => !a.name)[index];
    const at = exprRange(named?.value ?? positional?.value ?? model.params[index]?.default);
    if (!at) throw new Error(`nnc search: the parameter \`${v.name}\` has no value to replace`);
    edits.push({ ...at, text: written });
  }
  edits.sort((a, b) => b.from - a.from);
  let out = text;
  for (const e of edits) out = out.slice(0, e.from) + e.text + out.slice(e.to);
  return out;
}

// ── the results ────────────────────────────────────────────────────────────────────────────

/** Best first; failed trials and trials without a value last, in trial order. */
export function ranked(records: TrialRecord[], goal: "maximize" | "minimize"): TrialRecord[] {
  return [...records].sort((a, b) => {
    const av = a.status === "ok" ? a.value : undefined;
    const bv = b.status === "ok" ? b.value : undefined;
    if (av === undefined || bv === undefined) return av !== undefined ? -1 : bv !== undefined ? 1 : a.trial - b.trial;
    return goal === "maximize" ? bv - av || a.trial - b.trial : av - bv || a.trial - b.trial;
  });
}

function resultsTable(records: TrialRecord[], search: CheckedSearch): string[] {
  const names = search.variables.map((v) => v.name);
  const header = ["rank", "trial", ...names, search.objective.metric, "epochs", "time"];
  const rows = ranked(records, search.objective.goal).map((r, i) => [
    r.status === "ok" && r.value !== undefined ? String(i + 1) : "–",
    trialName(r.trial),
    ...names.map((n) => (r.values[n] === undefined ? "" : formatValue(r.values[n]!))),
    r.status === "ok" ? (r.value === undefined ? "no value" : r.value.toFixed(4)) : "failed",
    r.epochs === undefined ? "" : String(r.epochs),
    `${r.seconds.toFixed(1)}s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)];
}

export function trialName(i: number): string {
  return `trial-${String(i).padStart(3, "0")}`;
}

function readResults(path: string): TrialRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as TrialRecord);
}

/** What identifies a search: a folder's results belong to it only if these match. */
function identity(search: CheckedSearch, seed: number, file: string): string {
  return JSON.stringify({ spec: basename(file), model: search.model, strategy: search.strategy, variables: search.variables.map((v) => ({ name: v.name, target: v.target, distribution: v.distribution })), seed, objective: search.objective });
}

function bestOf(values: number[], goal: "maximize" | "minimize"): number | undefined {
  if (values.length === 0) return undefined;
  return goal === "maximize" ? Math.max(...values) : Math.min(...values);
}

// ── the command ────────────────────────────────────────────────────────────────────────────

export async function runSearch(opts: SearchCommandOptions, print: (line: string) => void): Promise<CommandResult> {
  const bad = badBackend(opts.backend);
  if (bad) return bad;
  const read = readSpec(opts.file);
  // Errors in the spec (or an unreadable file) are reported as `nnc train` reports them.
  const first = await loadSpecModule({ file: opts.file, color: opts.color, ...(opts.model !== undefined ? { model: opts.model } : {}) });
  if (isResult(first)) {
    const searches = "text" in read ? checkText(read.text).program.searches : [];
    if (first.exitCode === 2 && opts.model === undefined && searches.length === 1) {
      // Several recipes, one search: the search says which model.
      return runSearch({ ...opts, model: searches[0]!.model }, print);
    }
    return first;
  }
  first.dispose();
  const { text, ast, program } = first;
  const candidates = program.searches.filter((s) => s.model === first.model);
  if (candidates.length === 0) {
    return { exitCode: 1, stdout: first.stdout, stderr: [`nnc: ${opts.file} has no \`search ${first.model} …\` block. Add one, e.g. \`search ${first.model} random 20 { lr ~ loguniform(1e-4, 1e-1) }\`.`] };
  }
  if (candidates.length > 1) return { exitCode: 1, stdout: first.stdout, stderr: [`nnc: ${opts.file} has ${candidates.length} searches of \`${first.model}\`; keep one.`] };
  const search = candidates[0]!;
  const seed = search.seed ?? first.recipe.seed ?? 0;
  const configs = configurations(search, seed, opts.trials);
  const dir = resolve(opts.out ?? join("runs", `search-${search.model}`));
  const shownDir = opts.out ?? join("runs", `search-${search.model}`);
  const resultsPath = join(dir, "results.jsonl");
  const idPath = join(dir, "search.json");
  const id = identity(search, seed, opts.file);
  for (const line of first.stdout) print(line);

  try {
    // Not mkdirSync's recursive mode, which never ends where the system refuses a folder
    // inside one that exists (under /proc).
    makeFolder(dir);
  } catch (e) {
    return { exitCode: 1, stdout: [], stderr: [`nnc: cannot create the search folder \`${shownDir}\`: ${(e as Error).message}.`] };
  }
  if (opts.fresh) {
    rmSync(resultsPath, { force: true });
    rmSync(idPath, { force: true });
  }
  let done: TrialRecord[];
  try {
    if (existsSync(idPath) && readFileSync(idPath, "utf8").trim() !== id) {
      return { exitCode: 1, stdout: [], stderr: [`nnc: \`${shownDir}\` holds the results of a different search (its variables, seed or objective differ). Choose another folder with --out, or pass --fresh to start this one over.`] };
    }
    writeFileAtomic(idPath, id + "\n");
    done = readResults(resultsPath);
  } catch (e) {
    return { exitCode: 1, stdout: [], stderr: [`nnc: cannot read the results in \`${shownDir}\` (${(e as Error).message}). Pass --fresh to start over.`] };
  }
  for (const r of done) {
    const expected = configs[r.trial - 1];
    if (expected && JSON.stringify(expected) !== JSON.stringify(r.values)) {
      return { exitCode: 1, stdout: [], stderr: [`nnc: \`${shownDir}/results.jsonl\` says ${trialName(r.trial)} tried ${JSON.stringify(r.values)}, but this search draws ${JSON.stringify(expected)} for it. Pass --fresh to start over.`] };
    }
  }
  const doneTrials = new Set(done.map((r) => r.trial));
  const metric = search.objective.metric;
  const epochs = opts.epochs ?? search.epochs;
  print(`search \`${search.model}\`: ${search.strategy}, ${configs.length} trial${configs.length === 1 ? "" : "s"}, ${search.objective.goal} ${metric}${epochs !== undefined ? `, ${epochs} epoch${epochs === 1 ? "" : "s"} each` : ""} → ${shownDir}`);
  const already = configs.filter((_, i) => doneTrials.has(i + 1)).length;
  if (already > 0) print(`resuming: ${already} of ${configs.length} trials already done`);

  for (let i = 0; i < configs.length; i++) {
    const trial = i + 1;
    if (doneTrials.has(trial)) continue;
    const values = configs[i]!;
    const trialDir = join(dir, trialName(trial));
    rmSync(trialDir, { recursive: true, force: true });
    makeFolder(trialDir);
    const trialText = substitute(text, ast, search, values);
    writeFileSync(join(trialDir, "spec.nn"), trialText);
    const log: string[] = [];
    const started = performance.now();
    const described = search.variables.map((v) => `${v.name} ${formatValue(values[v.name]!)}`).join(", ");
    const record: TrialRecord = { trial, values, status: "failed", metric, seconds: 0 };
    const spec = await loadSpecModule({ file: opts.file, text: trialText, model: search.model, color: false });
    if (isResult(spec)) {
      record.error = [...spec.stdout, ...spec.stderr].map((l) => l.trim()).filter(Boolean).join("\n");
      log.push(record.error);
    } else {
      try {
        // The objective is read from the history: a `val_` objective needs validation data (held out by default).
        const options: Record<string, unknown> = { baseDir: spec.baseDir, out: trialDir, logJson: true, log: (line: string) => log.push(line), reads: [metric] };
        if (opts.backend !== undefined) options["backend"] = opts.backend;
        if (epochs !== undefined) options["epochs"] = epochs;
        const result: GeneratedTrainResult = await withEpochLines(
          (line) => log.push(line),
          () => spec.mod.train(options),
        );
        const series = result.history.map((h) => h[metric as "loss" | "acc" | "val_loss" | "val_acc"]).filter((v): v is number => v !== undefined);
        record.status = "ok";
        record.epochs = result.history.length;
        const best = bestOf(series, search.objective.goal);
        if (best !== undefined) record.value = best;
      } catch (e) {
        const message = userError(e);
        if (message === undefined) throw e;
        record.error = message;
        log.push(`error: ${message}`);
        if (e instanceof Error && (e.name === "DataError" || e.name === "BackendError")) {
          // Not this trial's fault: every other trial would fail the same way.
          writeFileAtomic(join(trialDir, "log.txt"), log.join("\n") + "\n");
          return { exitCode: 1, stdout: [], stderr: [`nnc: ${message}`] };
        }
      } finally {
        spec.dispose();
      }
    }
    record.seconds = (performance.now() - started) / 1000;
    writeFileAtomic(join(trialDir, "log.txt"), log.join("\n") + "\n");
    done.push(record);
    const previous = existsSync(resultsPath) ? readFileSync(resultsPath, "utf8") : "";
    writeFileAtomic(resultsPath, previous + JSON.stringify(record) + "\n");
    const outcome = record.status === "ok" ? (record.value === undefined ? `no ${metric}` : `${metric} ${record.value.toFixed(4)}`) : `failed: ${record.error?.split("\n")[0] ?? "?"}`;
    print(`${trialName(trial)} (${trial}/${configs.length}): ${described} → ${outcome} (${record.epochs ?? 0} epoch${record.epochs === 1 ? "" : "s"}, ${record.seconds.toFixed(1)}s)`);
  }

  const inSearch = done.filter((r) => r.trial <= configs.length);
  const out = ["", ...resultsTable(inSearch, search)];
  const best = ranked(inSearch, search.objective.goal)[0];
  if (!best || best.status !== "ok" || best.value === undefined) {
    return { exitCode: 1, stdout: [...out, `no trial gave a value for ${metric}: see the logs in ${shownDir}/trial-*/log.txt`], stderr: [] };
  }
  const header = `# nnc search: the best of ${inSearch.length} trials was ${trialName(best.trial)} (${metric} ${best.value.toFixed(4)}; ${shownDir}/${trialName(best.trial)}),\n# with ${search.variables.map((v) => `${v.name} ${formatValue(best.values[v.name]!)}`).join(", ")} written into ${basename(opts.file)}.\n`;
  const bestPath = join(dir, "best.nn");
  writeFileAtomic(bestPath, header + substitute(text, ast, search, best.values));
  out.push(`best: ${trialName(best.trial)}, ${metric} ${best.value.toFixed(4)} → ${join(shownDir, "best.nn")}`);
  return { exitCode: 0, stdout: out, stderr: [] };
}
