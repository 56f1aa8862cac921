/**
 * Training recipes (`train`) and hyper-parameter searches (`search`): each statement read
 * against the vocabulary, values range-checked, and the recipe checked against its model
 * (loss vs final layer, data shape vs input, class count vs output units).
 */
import { diag, type Diagnostic, type Fix, type Range } from "../diagnostics/diagnostic.js";
import { unknownWord, type UnknownWord } from "../diagnostics/suggest.js";
import { AUGMENTATIONS, DATA_SOURCES, LOSSES, METRICS, NORMALIZATIONS, OPTIMIZERS, RECIPE_SETTINGS, SCHEDULES, SEARCH_DISTRIBUTIONS, SEARCH_SETTINGS } from "../language/vocabulary.js";
import { exprSource, type AstArg, type AstExpr, type AstModel, type AstSearch, type AstStatement, type AstTrain } from "../parser/index.js";
import { capitalise, Env, Evaluator, formatNumber } from "./evaluate.js";
import type { AugmentConfig, DataConfig, ScheduleConfig } from "../runtime/config.js";
import type { ActivationSpec } from "./layer-config.js";
import type { CheckedModel } from "./model.js";
import { exactCount, formatShape, MAX_TENSOR_VALUES, sameShape } from "./shape-rules.js";

/**
 * What a recipe's data, schedule and augmentation resolve to: the very types the runtime
 * receives (plain data, no TensorFlow.js), so the emitter passes them through unchanged.
 */
export type DataSpec = DataConfig;
export type ScheduleSpec = ScheduleConfig;
export type AugmentSpec = AugmentConfig;

export interface CheckedRecipe {
  model: string;
  range: Range;
  /** The model as instantiated by this recipe (with its arguments). */
  checkedModel?: CheckedModel;
  data?: DataSpec;
  normalize: { kind: "none" | "standard" | "minmax" } | { kind: "scale"; factor: number };
  augment: AugmentSpec[];
  loss?: string;
  optimizer: { name: string; args: Record<string, number> };
  lr?: number;
  schedule: ScheduleSpec;
  weightDecay: number;
  clip?: { by: "norm" | "value"; threshold: number };
  batch: number;
  epochs: number;
  validate?: number;
  earlyStop?: { metric: string; patience: number; restoreBest: boolean };
  checkpoint?: { metric: string };
  seed?: number;
  metrics: string[];
  pretrained?: string;
}

export interface SearchVariable {
  name: string;
  /** Where the variable goes: a recipe setting or a model parameter. */
  target: "recipe" | "model";
  distribution: { kind: "loguniform" | "uniform"; low: number; high: number } | { kind: "int"; low: number; high: number } | { kind: "choice"; values: number[] };
}

export interface CheckedSearch {
  model: string;
  range: Range;
  strategy: "random" | "grid";
  trials?: number;
  variables: SearchVariable[];
  objective: { metric: string; goal: "maximize" | "minimize" };
  epochs?: number;
  seed?: number;
}

/** What a data source tells about the data before any is loaded. */
function dataFacts(d: DataSpec): { shapes: number[][]; classes: number; name: string } | undefined {
  switch (d.source) {
    case "mnist":
      return { shapes: [[28, 28, 1], [784]], classes: 10, name: "`mnist` gives 28x28x1 images of 10 digit classes" };
    case "ball":
      return { shapes: [[d.dims]], classes: 2, name: `\`ball\` gives points with ${d.dims} features in 2 classes` };
    case "cifar10":
      return { shapes: [[32, 32, 3]], classes: 10, name: "`cifar10` gives 32x32x3 images of 10 classes" };
    case "cifar100":
      return d.labels === "coarse" ? { shapes: [[32, 32, 3]], classes: 20, name: "`cifar100(labels: coarse)` gives 32x32x3 images of 20 superclasses" } : { shapes: [[32, 32, 3]], classes: 100, name: "`cifar100` gives 32x32x3 images of 100 classes" };
    default:
      return undefined;
  }
}

export class RecipeChecker {
  private readonly ev: Evaluator;
  private readonly env = new Env("the recipe");
  /** Where each augmentation is written, for diagnostics about one of several. */
  private readonly augmentRanges = new Map<AugmentSpec, Range>();
  constructor(private readonly diagnostics: Diagnostic[]) {
    this.ev = new Evaluator(diagnostics);
  }

  private error(code: Parameters<typeof diag>[0], message: string, range: Range, hint?: string, severity?: "warning", fixes?: Fix[]): void {
    this.diagnostics.push(diag(code, message, range, { hint, severity, fixes }));
  }
  private unknown(u: UnknownWord): void {
    this.diagnostics.push(unknownWord(u));
  }

  train(t: AstTrain, model: CheckedModel | undefined): CheckedRecipe {
    const r: CheckedRecipe = {
      model: t.model?.name ?? "?",
      range: t.range,
      normalize: { kind: "none" },
      augment: [],
      optimizer: { name: "sgd", args: {} },
      schedule: { name: "constant" },
      weightDecay: 0,
      batch: 32,
      epochs: 10,
      metrics: ["loss", "acc"],
    };
    if (model) r.checkedModel = model;
    const seen = new Map<string, AstStatement>();
    const at: Partial<Record<string, Range>> = {};
    for (const s of t.statements) {
      const key = s.head.name;
      if (!Object.hasOwn(RECIPE_SETTINGS, key)) {
        this.unknown({ code: "NN4001", message: `\`${key}\` is not a recipe setting.`, word: key, range: s.head.range, candidates: Object.keys(RECIPE_SETTINGS), kinds: "Recipe settings" });
        continue;
      }
      const prev = seen.get(key);
      if (prev) {
        this.diagnostics.push(diag("NN4002", `\`${key}\` is set twice in this recipe.`, s.head.range, { hint: "Keep one of them.", related: [{ message: "first set here", range: prev.range }] }));
        continue;
      }
      seen.set(key, s);
      at[key] = s.range;
      this.setting(r, s, at);
    }
    if (!seen.has("data")) this.error("NN4015", `The recipe for \`${r.model}\` has no \`data\`, so there is nothing to train on.`, t.keyword, "Add e.g. `data mnist(train: 8000, test: 2000)` or `data ball(dims: 10, n: 1000)`.");
    if (!seen.has("loss")) {
      const suggestion = model?.complete ? defaultLoss(model) : "crossentropy";
      this.error("NN4023", `The recipe for \`${r.model}\` has no \`loss\`: training needs something to minimise.`, t.keyword, `Add \`loss ${suggestion}\`${model?.complete ? ` (it fits how \`${model.name}\` ends)` : ""}.`);
    }
    this.validation(r, at, t);
    if (model?.complete) this.againstModel(r, model, at, t);
    return r;
  }

  /** Checks that need only the recipe: validation data for `val_` metrics, batch vs data size. */
  private validation(r: CheckedRecipe, at: Partial<Record<string, Range>>, t: AstTrain): void {
    const valMetric = [r.earlyStop?.metric, r.checkpoint?.metric].find((m) => m?.startsWith("val_"));
    // A `val_` metric without validation data is not a mistake: training holds out a tenth of
    // the training data (DEFAULT_VALIDATION in the runtime) and says so. The test split never validates.
    void valMetric;
    if ((r.data?.source === "mnist" || r.data?.source === "idx") && r.normalize.kind === "scale" && r.normalize.factor < 0.1 && at["normalize"]) {
      // The habit of dividing 0..255 pixels by 255, applied to pixels already in [0, 1].
      this.diagnostics.push(
        diag("NN4021", `\`${r.data.source}\` already gives pixels in [0, 1]; \`scale(${formatNumber(r.normalize.factor)})\` would shrink them to at most ${formatNumber(r.normalize.factor)}.`, at["normalize"], {
          severity: "warning",
          hint: "Remove the `normalize` line, or use `normalize standard`.",
        }),
      );
    }
    const trainSize = r.data?.source === "mnist" ? r.data.train : r.data?.source === "ball" ? r.data.n : undefined;
    if (trainSize !== undefined && r.batch > trainSize && at["batch"]) {
      this.diagnostics.push(diag("NN4021", `\`batch ${r.batch}\` is larger than the ${trainSize} training samples: every step sees the whole set.`, at["batch"], { severity: "warning", hint: `Use a batch of at most ${trainSize}.` }));
    }
  }

  /**
   * NN3015: one batch of a layer's activations holds more values than a tensor can, though one
   * sample fits (`input 512x512x3 -> conv 3x3x64 same` at batch 256).
   */
  private batchTooLarge(r: CheckedRecipe, model: CheckedModel, at: Partial<Record<string, Range>>, t: AstTrain): void {
    let largest: { name: string; shape: number[]; values: bigint } | undefined;
    for (const l of model.layers) {
      const values = exactCount(l.outputShape);
      if (!largest || values > largest.values) largest = { name: l.name, shape: l.outputShape, values };
    }
    if (!largest) return;
    const limit = BigInt(MAX_TENSOR_VALUES);
    const batch = BigInt(r.batch);
    if (largest.values * batch <= limit) return;
    const fits = limit / largest.values;
    const shown = (n: bigint): string => n.toLocaleString("en-US");
    this.diagnostics.push(
      diag("NN3015", `At batch ${r.batch}, the output of \`${largest.name}\` is ${r.batch} × ${formatShape(largest.shape)} = ${shown(largest.values * batch)} values, more than one tensor can hold (${shown(limit)}).`, at["batch"] ?? t.keyword, {
        hint: fits >= 1n ? `Use a batch of at most ${shown(fits)}, or shrink \`${largest.name}\`.` : `Shrink \`${largest.name}\`.`,
        related: [{ message: `\`${largest.name}\` gives ${formatShape(largest.shape)} here`, range: model.layers.find((l) => l.name === largest.name)!.range }],
      }),
    );
  }

  private words(s: AstStatement, min: number, max: number, example: string): AstExpr[] | undefined {
    if (s.clauses.length > 1) {
      this.error("NN4011", `\`${s.head.name}\` takes no commas.`, s.range, `For example: \`${example}\`.`);
      return undefined;
    }
    const w = s.clauses[0] ?? [];
    if (w.length < min) {
      this.error("NN4011", `\`${s.head.name}\` needs a value.`, s.head.range, `For example: \`${example}\`.`);
      return undefined;
    }
    if (w.length > max) {
      const extra = w[max]!;
      const next = extra.kind === "ref" && Object.hasOwn(RECIPE_SETTINGS, extra.name);
      this.error("NN4011", next ? `\`${extra.name}\` starts another setting: each setting goes on a line of its own.` : `\`${s.head.name}\` takes ${max === 1 ? "one value" : `at most ${max} words`}, and \`${exprSource(extra)}\` is one too many.`, extra.range, next ? `Move \`${extra.name} …\` to the next line.` : `For example: \`${example}\`.`);
      return undefined;
    }
    return w;
  }

  private num(e: AstExpr, what: string, valid: (v: number) => boolean, rule: string, hint?: string): number | undefined {
    const v = this.ev.number(e, this.env, what);
    if (v === undefined) return undefined;
    if (!valid(v)) {
      this.error("NN4010", `${capitalise(what)} must be ${rule}, but it is ${formatNumber(v)}.`, e.range, hint);
      return undefined;
    }
    return v;
  }
  private posInt(e: AstExpr, what: string): number | undefined {
    return this.num(e, what, (v) => Number.isInteger(v) && v > 0, "a whole number of at least 1");
  }
  private fraction(e: AstExpr, what: string): number | undefined {
    return this.num(e, what, (v) => v > 0 && v < 1, "between 0 and 1 (exclusive)", "For example `0.1` holds out a tenth of the data.");
  }
  private metric(e: AstExpr): string | undefined {
    if (e.kind !== "ref" || !(METRICS as readonly string[]).includes(e.name)) {
      const name = e.kind === "ref" ? e.name : exprSource(e);
      this.unknown({ code: "NN4013", message: `\`${name}\` is not a metric I track.`, word: name, range: e.range, candidates: METRICS, kinds: "Metrics", fix: e.kind === "ref" });
      return undefined;
    }
    return e.name;
  }

  /** Reads call arguments `f(a, b: 2)` against named slots; unknown or extra ones are reported. */
  private callArgs(args: AstArg[], slots: string[], owner: string): Map<string, AstExpr> | undefined {
    const out = new Map<string, AstExpr>();
    let i = 0;
    let ok = true;
    for (const a of args) {
      if (!a.value) return undefined;
      const name = a.name ? a.name.name : slots[i++];
      if (name === undefined) {
        this.error("NN2009", `${owner} takes ${slots.length} argument${slots.length === 1 ? "" : "s"}${slots.length ? ` (${slots.join(", ")})` : ""}, but got more.`, a.range);
        ok = false;
        continue;
      }
      if (!slots.includes(name)) {
        this.unknown({ code: "NN2007", message: `${owner} has no argument \`${name}\`.`, word: name, range: a.name?.range ?? a.range, candidates: slots, otherwise: `Its arguments: ${slots.map((s) => `\`${s}\``).join(", ") || "none"}.`, fix: a.name !== undefined });
        ok = false;
        continue;
      }
      if (out.has(name)) {
        this.error("NN2014", `\`${name}\` is given twice.`, a.range);
        ok = false;
        continue;
      }
      out.set(name, a.value);
    }
    return ok ? out : undefined;
  }

  private str(e: AstExpr | undefined, what: string, at: Range): string | undefined {
    if (!e) {
      this.error("NN4011", `${what} is missing.`, at);
      return undefined;
    }
    if (e.kind !== "string") {
      this.error("NN4011", `${what} is a string in double quotes.`, e.range, `For example: \`"${e.kind === "ref" ? e.name : "data/train.csv"}"\`.`);
      return undefined;
    }
    return e.value;
  }

  /** A word out of a few (`fit: crop`), written bare or in quotes. */
  private choice<T extends string>(e: AstExpr, what: string, options: readonly T[]): T | undefined {
    const word = e.kind === "ref" ? e.name : e.kind === "string" ? e.value : undefined;
    if (word !== undefined && (options as readonly string[]).includes(word)) return word as T;
    this.unknown({ code: "NN4011", message: `${capitalise(what)} is one of ${options.map((o) => `\`${o}\``).join(", ")}${word !== undefined ? `, not \`${word}\`` : ""}.`, word: word ?? "", range: e.range, candidates: word !== undefined ? options : [], fix: e.kind === "ref" });
    return undefined;
  }

  /** Column names as one string, comma separated: `targets: "price, tax"`. */
  private columnList(e: AstExpr): string[] | undefined {
    if (e.kind !== "string") {
      this.error("NN4011", "`targets` is a string of column names, comma separated.", e.range, 'For example: `targets: "price, tax"`.');
      return undefined;
    }
    const names = e.value.split(",").map((n) => n.trim());
    if (names.some((n) => n === "")) {
      this.error("NN4011", `\`targets\` names an empty column in ${JSON.stringify(e.value)}.`, e.range, 'Separate column names by commas: `targets: "price, tax"`.');
      return undefined;
    }
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) {
      this.error("NN4011", `\`targets\` names the column ${JSON.stringify(twice)} twice.`, e.range);
      return undefined;
    }
    return names;
  }

  /**
   * `targets: input` (an autoencoder: the model gives back its input). True when `e` says so;
   * otherwise an error, and undefined. (A CSV's column names are read by `columnList`.)
   */
  private targetInput(e: AstExpr, owner: string): true | undefined {
    if (e.kind === "ref" && e.name === "input") return true;
    const word = e.kind === "ref" ? e.name : e.kind === "string" ? e.value : "";
    this.unknown({
      code: "NN4011",
      message: `${owner}'s \`targets\` can only be \`input\` (the model learns to give back its input), not \`${exprSource(e)}\`.`,
      word,
      range: e.range,
      candidates: word ? ["input"] : [],
      otherwise: "Write `targets: input` for an autoencoder, or leave `targets` out to train on the source's labels.",
      fix: e.kind === "ref",
    });
    return undefined;
  }

  private setting(r: CheckedRecipe, s: AstStatement, at: Partial<Record<string, Range>>): void {
    const key = s.head.name;
    const ex = RECIPE_SETTINGS[key]!.example;
    switch (key) {
      case "data": {
        const w = this.words(s, 1, 1, ex);
        if (!w) return;
        const e = w[0]!;
        const name = e.kind === "ref" ? e.name : e.kind === "call-expr" ? e.callee.name : undefined;
        if (!name || !(DATA_SOURCES as readonly string[]).includes(name)) {
          this.unknown({ code: "NN4007", message: `${name ? `\`${name}\`` : "This"} is not a data source I know.`, word: name ?? "", range: e.kind === "call-expr" ? e.callee.range : e.range, candidates: name ? DATA_SOURCES : [], otherwise: `Data sources: ${DATA_SOURCES.map((d) => `\`${d}(…)\``).join(", ")}.` });
          return;
        }
        const args = e.kind === "call-expr" ? e.args : [];
        const owner = `\`${name}\``;
        if (name === "mnist") {
          const a = this.callArgs(args, ["train", "test", "targets"], owner);
          if (!a) return;
          const reconstruct = a.get("targets") ? this.targetInput(a.get("targets")!, owner) : false;
          if (reconstruct === undefined) return;
          const train = a.get("train") ? this.num(a.get("train")!, "the number of training digits", (v) => Number.isInteger(v) && v >= 1 && v <= 8000, "a whole number from 1 to 8000 (the `mnist` package ships 8,000 training digits)") : 8000;
          const test = a.get("test") ? this.num(a.get("test")!, "the number of test digits", (v) => Number.isInteger(v) && v >= 0 && v <= 2000, "a whole number from 0 to 2000") : 2000;
          if (train !== undefined && test !== undefined) r.data = { source: "mnist", train, test, ...(reconstruct ? { target: "input" as const } : {}) };
        } else if (name === "ball") {
          const a = this.callArgs(args, ["dims", "n", "test", "targets"], owner);
          if (!a) return;
          const reconstruct = a.get("targets") ? this.targetInput(a.get("targets")!, owner) : false;
          if (reconstruct === undefined) return;
          const dims = a.get("dims") ? this.posInt(a.get("dims")!, "the number of dimensions") : 10;
          const n = a.get("n") ? this.posInt(a.get("n")!, "the number of points") : 1000;
          const test = a.get("test") ? this.num(a.get("test")!, "the number of test points", (v) => Number.isInteger(v) && v >= 0, "a whole number") : 0;
          if (dims !== undefined && n !== undefined && test !== undefined) r.data = { source: "ball", dims, n, test, ...(reconstruct ? { target: "input" as const } : {}) };
        } else if (name === "csv") {
          const a = this.callArgs(args, ["path", "label", "targets", "validation", "test"], owner);
          if (!a) return;
          const path = this.str(a.get("path"), "The path of the CSV file", e.range);
          if (a.has("label") && a.has("targets")) {
            this.error("NN4011", "A CSV source has a `label` column (classes) or `targets` (regression), not both.", a.get("targets")!.range, "Drop one of them.");
            return;
          }
          const label = a.get("label") ? this.str(a.get("label"), "The label column", e.range) : "label";
          const targetsE = a.get("targets");
          const reconstruct = targetsE?.kind === "ref" && targetsE.name === "input";
          const targets = targetsE && !reconstruct ? this.columnList(targetsE) : undefined;
          const validation = a.get("validation") ? this.str(a.get("validation"), "The path of the validation CSV file", e.range) : undefined;
          const test = a.get("test") ? this.str(a.get("test"), "The path of the test CSV file", e.range) : undefined;
          if (path === undefined || label === undefined || (a.has("targets") && !reconstruct && targets === undefined) || (a.has("validation") && validation === undefined) || (a.has("test") && test === undefined)) return;
          r.data = { source: "csv", path, label, ...(targets ? { targets } : {}), ...(reconstruct ? { target: "input" as const } : {}), ...(validation !== undefined ? { validation } : {}), ...(test !== undefined ? { test } : {}) };
        } else if (name === "images") {
          const a = this.callArgs(args, ["train", "validation", "test", "fit", "bad_files", "targets"], owner);
          if (!a) return;
          const reconstruct = a.get("targets") ? this.targetInput(a.get("targets")!, owner) : false;
          if (reconstruct === undefined) return;
          const train = this.str(a.get("train"), "The folder of training images (one sub-folder per class)", e.range);
          const validation = a.get("validation") ? this.str(a.get("validation"), "The folder of validation images", e.range) : undefined;
          const test = a.get("test") ? this.str(a.get("test"), "The folder of test images", e.range) : undefined;
          const fit = a.get("fit") ? this.choice(a.get("fit")!, "`fit`", ["crop", "pad", "stretch"] as const) : "crop";
          const bad = a.get("bad_files") ? this.choice(a.get("bad_files")!, "`bad_files`", ["error", "skip"] as const) : "error";
          if (train === undefined || fit === undefined || bad === undefined || (a.has("validation") && validation === undefined) || (a.has("test") && test === undefined)) return;
          r.data = { source: "images", train, fit, badFiles: bad, ...(validation !== undefined ? { validation } : {}), ...(test !== undefined ? { test } : {}), ...(reconstruct ? { target: "input" as const } : {}) };
        } else if (name === "cifar10" || name === "cifar100") {
          const a = this.callArgs(args, name === "cifar10" ? ["path", "targets"] : ["path", "labels", "targets"], owner);
          if (!a) return;
          const reconstruct = a.get("targets") ? this.targetInput(a.get("targets")!, owner) : false;
          if (reconstruct === undefined) return;
          const path = this.str(a.get("path"), `The folder of the ${name === "cifar10" ? "CIFAR-10" : "CIFAR-100"} binary files`, e.range);
          if (path === undefined) return;
          const target = reconstruct ? { target: "input" as const } : {};
          if (name === "cifar10") r.data = { source: "cifar10", path, ...target };
          else {
            const labels = a.get("labels") ? this.choice(a.get("labels")!, "`labels`", ["fine", "coarse"] as const) : "fine";
            if (labels !== undefined) r.data = { source: "cifar100", path, labels, ...target };
          }
        } else if (name === "npy" || name === "npz") {
          const arrays = ["x", "y", "validation_x", "validation_y", "test_x", "test_y"];
          const a = this.callArgs(args, name === "npy" ? [...arrays, "targets"] : ["path", ...arrays, "targets"], owner);
          if (!a) return;
          const reconstruct = a.get("targets") ? this.targetInput(a.get("targets")!, owner) : false;
          if (reconstruct === undefined) return;
          if (reconstruct) {
            // The inputs are the targets: a `y` array would not be read.
            const ys = ["y", "validation_y", "test_y"].filter((slot) => a.has(slot));
            if (ys.length > 0) {
              this.error("NN4011", `With \`targets: input\` the model learns to give back its inputs, so ${ys.map((y) => `\`${y}\``).join(", ")} would not be read.`, a.get(ys[0]!)!.range, `Leave out ${ys.length === 1 ? "it" : "them"}, or drop \`targets: input\` to train on ${ys.length === 1 ? "it" : "them"}.`);
              return;
            }
          }
          const what = (slot: string): string => (name === "npy" ? `The .npy file of \`${slot}\`` : `The name of the \`${slot}\` array in the archive`);
          const got = new Map<string, string>();
          for (const slot of arrays) {
            const v = a.get(slot);
            if (!v && name === "npz") continue;
            if (!v && (slot === "x" || (slot === "y" && !reconstruct))) {
              this.error("NN4011", `\`npy\` needs \`${slot}\`: the .npy file of the ${slot === "x" ? "inputs" : "labels or targets"}.`, e.range, 'For example: `npy(x: "x_train.npy", y: "y_train.npy")`.');
              return;
            }
            if (!v) continue;
            const text = this.str(v, what(slot), e.range);
            if (text === undefined) return;
            got.set(slot, text);
          }
          for (const [one, other] of [["validation_x", "validation_y"], ["test_x", "test_y"]] as const) {
            if (!reconstruct && got.has(one) !== got.has(other)) {
              const given = got.has(one) ? one : other;
              this.error("NN4011", `\`${given}\` needs \`${given === one ? other : one}\` too: inputs and labels come in pairs.`, a.get(given)!.range);
              return;
            }
          }
          const optional = {
            ...(got.has("validation_x") ? { validationX: got.get("validation_x")!, ...(got.has("validation_y") ? { validationY: got.get("validation_y")! } : {}) } : {}),
            ...(got.has("test_x") ? { testX: got.get("test_x")!, ...(got.has("test_y") ? { testY: got.get("test_y")! } : {}) } : {}),
            ...(reconstruct ? { target: "input" as const } : {}),
          };
          if (name === "npy") r.data = { source: "npy", x: got.get("x")!, ...(got.has("y") ? { y: got.get("y")! } : {}), ...optional };
          else {
            const path = this.str(a.get("path"), "The path of the .npz file", e.range);
            if (path !== undefined) r.data = { source: "npz", path, x: got.get("x") ?? "x_train", y: got.get("y") ?? "y_train", ...optional };
          }
        } else {
          const a = this.callArgs(args, ["images", "labels", "targets"], owner);
          if (!a) return;
          const reconstruct = a.get("targets") ? this.targetInput(a.get("targets")!, owner) : false;
          if (reconstruct === undefined) return;
          if (reconstruct && a.has("labels")) {
            this.error("NN4011", "With `targets: input` the model learns to give back its images, so `labels` would not be read.", a.get("labels")!.range, "Leave out `labels`, or drop `targets: input` to train on them.");
            return;
          }
          const images = this.str(a.get("images"), "The path of the IDX images file", e.range);
          const labels = reconstruct ? "" : this.str(a.get("labels"), "The path of the IDX labels file", e.range);
          if (images !== undefined && labels !== undefined) r.data = reconstruct ? { source: "idx", images, target: "input" } : { source: "idx", images, labels };
        }
        return;
      }
      case "normalize": {
        const w = this.words(s, 1, 1, ex);
        if (!w) return;
        const e = w[0]!;
        const name = e.kind === "ref" ? e.name : e.kind === "call-expr" ? e.callee.name : "";
        if (name === "scale") {
          const a = e.kind === "call-expr" ? this.callArgs(e.args, ["factor"], "`scale`") : new Map<string, AstExpr>();
          const f = a?.get("factor");
          const factor = f ? this.num(f, "the scale factor", (v) => v > 0, "positive") : 1 / 255;
          if (factor !== undefined) r.normalize = { kind: "scale", factor };
          return;
        }
        if (!(NORMALIZATIONS as readonly string[]).includes(name) || e.kind !== "ref") {
          this.unknown({ code: "NN4022", message: `\`${exprSource(e)}\` is not a normalisation I know.`, word: name, range: e.range, candidates: NORMALIZATIONS, otherwise: "Use `standard` (mean 0, std 1 per feature), `minmax`, `scale(k)` or `none`.", fix: e.kind === "ref" });
          return;
        }
        r.normalize = { kind: name as "none" | "standard" | "minmax" };
        return;
      }
      case "augment": {
        for (const clause of s.clauses) {
          const a = this.augmentation(clause, s);
          if (a) {
            r.augment.push(a);
            const first = clause[0];
            const last = clause[clause.length - 1];
            if (first && last) this.augmentRanges.set(a, { start: first.range.start, end: last.range.end });
          }
        }
        return;
      }
      case "loss": {
        const w = this.words(s, 1, 1, ex);
        if (!w) return;
        const e = w[0]!;
        if (e.kind !== "ref" || !Object.hasOwn(LOSSES, e.name)) {
          const name = e.kind === "ref" ? e.name : exprSource(e);
          this.unknown({ code: "NN4005", message: `\`${name}\` is not a loss I know.`, word: name, range: e.range, candidates: Object.keys(LOSSES), kinds: "Losses", fix: e.kind === "ref" });
          return;
        }
        r.loss = e.name;
        return;
      }
      case "optim": {
        const w = this.words(s, 1, 3, ex);
        if (!w) return;
        const e = w[0]!;
        const name = e.kind === "ref" ? e.name : e.kind === "call-expr" ? e.callee.name : undefined;
        const info = name ? OPTIMIZERS[name] : undefined;
        if (!name || !info) {
          this.unknown({ code: "NN4003", message: `${name ? `\`${name}\`` : "This"} is not an optimizer I know.`, word: name ?? "", range: e.kind === "call-expr" ? e.callee.range : e.range, candidates: name ? Object.keys(OPTIMIZERS) : [], otherwise: `Optimizers: ${Object.keys(OPTIMIZERS).map((o) => `\`${o}\``).join(", ")}.` });
          return;
        }
        if (name === "sgd" && e.kind === "call-expr" && e.args.length > 0) {
          this.error("NN2009", "`sgd` takes no arguments: it is plain gradient descent.", e.args[0]!.range, e.args.length === 1 ? `For momentum write \`momentum(${e.args[0]!.value ? exprSource(e.args[0]!.value) : "0.9"})\`, or \`nesterov(…)\`.` : undefined);
          return;
        }
        const args = this.callArgs(e.kind === "call-expr" ? e.args : [], info.args.map((a) => a.name), `\`${name}\``);
        if (!args) return;
        const values: Record<string, number> = {};
        let ok = true;
        for (const spec of info.args) {
          const ae = args.get(spec.name);
          if (!ae) {
            values[spec.name] = spec.default;
            continue;
          }
          const v = this.ev.number(ae, this.env, `the ${spec.name} of \`${name}\``);
          if (v === undefined) {
            ok = false;
            continue;
          }
          const lowOk = spec.min === undefined || (spec.minExclusive ? v > spec.min : v >= spec.min);
          const highOk = spec.max === undefined || (spec.maxExclusive ? v < spec.max : v <= spec.max);
          if (!lowOk || !highOk) {
            const rule = spec.max !== undefined ? `in ${spec.minExclusive ? "(" : "["}${spec.min}, ${spec.max}${spec.maxExclusive ? ")" : "]"}` : spec.minExclusive ? `greater than ${spec.min}` : `at least ${spec.min}`;
            this.error("NN4004", `The ${spec.name} of \`${name}\` must be ${rule}, but it is ${formatNumber(v)}.`, ae.range, spec.name.startsWith("beta") ? `${spec.name} is a decay rate: typical values are ${spec.name === "beta2" ? "0.999" : "0.9"}.` : undefined);
            ok = false;
            continue;
          }
          values[spec.name] = v;
        }
        if (ok) r.optimizer = { name, args: values };
        if (w.length > 1) {
          const kw = w[1]!;
          if (kw.kind !== "ref" || kw.name !== "lr") {
            this.error("NN4011", `After the optimizer comes its learning rate, \`lr X\`, not \`${exprSource(kw)}\`.`, kw.range, `For example: \`${ex}\`.`);
            return;
          }
          if (at["lr"] && at["lr"] !== s.range) {
            this.error("NN4002", "The learning rate is set twice: here and in an `lr` line.", kw.range, "Keep one of them.");
            return;
          }
          const v = w[2];
          if (!v) {
            this.error("NN4011", "`lr` needs a value.", kw.range, "For example: `lr 1e-3`.");
            return;
          }
          const lr = this.num(v, "the learning rate", (x) => x > 0 && x < 100, "positive (and sensible)");
          if (lr !== undefined) r.lr = lr;
          at["lr"] = s.range;
        }
        return;
      }
      case "lr": {
        const w = this.words(s, 1, 1, ex);
        if (!w) return;
        if (r.lr !== undefined) {
          this.error("NN4002", "The learning rate is set twice: here and after `optim`.", s.head.range, "Keep one of them.");
          return;
        }
        const lr = this.num(w[0]!, "the learning rate", (x) => x > 0 && x < 100, "positive (and sensible)");
        if (lr !== undefined) r.lr = lr;
        return;
      }
      case "schedule": {
        const w = this.words(s, 1, 3, ex);
        if (!w) return;
        const first = this.schedule(w[0]!);
        if (!first) return;
        if (first.name === "warmup") {
          if (w.length === 1) {
            r.schedule = { name: "warmup", epochs: first.epochs, then: { name: "constant" } };
            return;
          }
          const thenWord = w[1]!;
          if (thenWord.kind !== "ref" || thenWord.name !== "then" || !w[2]) {
            this.error("NN4011", "After `warmup(N)` comes `then` and the schedule that follows it.", thenWord.range, "For example: `schedule warmup(5) then cosine`.");
            return;
          }
          const next = this.schedule(w[2]);
          if (!next) return;
          if (next.name === "warmup") {
            this.error("NN4011", "Warm-up comes once, first.", w[2].range);
            return;
          }
          r.schedule = { name: "warmup", epochs: first.epochs, then: next };
          return;
        }
        if (w.length > 1) {
          this.error("NN4011", `Only \`warmup(N)\` can be followed by \`then …\`.`, w[1]!.range);
          return;
        }
        r.schedule = first;
        return;
      }
      case "weight_decay": {
        const w = this.words(s, 1, 1, ex);
        const v = w && this.num(w[0]!, "the weight decay", (x) => x >= 0 && x < 1, "in [0, 1)", "Typical values are 1e-5 to 1e-3.");
        if (v !== undefined && v !== null && w) r.weightDecay = v;
        return;
      }
      case "clip": {
        const w = this.words(s, 2, 2, ex);
        if (!w) return;
        const by = w[0]!;
        if (by.kind !== "ref" || (by.name !== "norm" && by.name !== "value")) {
          this.error("NN4011", "`clip` is `clip norm X` (rescale the gradient to at most norm X) or `clip value X` (clamp each component to [−X, X]).", by.range);
          return;
        }
        const v = this.num(w[1]!, "the clipping threshold", (x) => x > 0, "positive");
        if (v !== undefined) r.clip = { by: by.name, threshold: v };
        return;
      }
      case "batch": {
        const w = this.words(s, 1, 1, ex);
        const v = w ? this.posInt(w[0]!, "the batch size") : undefined;
        if (v !== undefined) r.batch = v;
        return;
      }
      case "epochs": {
        const w = this.words(s, 1, 1, ex);
        const v = w ? this.posInt(w[0]!, "the number of epochs") : undefined;
        if (v !== undefined) r.epochs = v;
        return;
      }
      case "validate": {
        const w = this.words(s, 1, 1, ex);
        const v = w ? this.fraction(w[0]!, "the validation fraction") : undefined;
        if (v !== undefined) r.validate = v;
        return;
      }
      case "early_stop": {
        const w = s.clauses[0] ?? [];
        if (!w[0]) {
          this.error("NN4011", "`early_stop` needs the metric to watch.", s.head.range, `For example: \`${ex}\`.`);
          return;
        }
        const metric = this.metric(w[0]);
        let patience = 5;
        let restoreBest = false;
        let ok = metric !== undefined;
        for (let i = 1; i < w.length; i++) {
          const word = w[i]!;
          if (word.kind === "ref" && word.name === "patience" && w[i + 1]) {
            const p = this.posInt(w[++i]!, "the patience");
            if (p === undefined) ok = false;
            else patience = p;
          } else if (word.kind === "ref" && word.name === "restore_best") restoreBest = true;
          else {
            this.error("NN4011", `\`early_stop\` understands \`patience N\` and \`restore_best\`, not \`${exprSource(word)}\`.`, word.range, `For example: \`${ex}\`.`);
            ok = false;
          }
        }
        if (ok && metric) r.earlyStop = { metric, patience, restoreBest };
        return;
      }
      case "checkpoint": {
        const w = this.words(s, 2, 2, ex);
        if (!w) return;
        if (w[0]!.kind !== "ref" || (w[0] as { name: string }).name !== "best") {
          this.error("NN4011", "`checkpoint` is `checkpoint best METRIC`: it keeps the weights of the best epoch.", w[0]!.range, `For example: \`${ex}\`.`);
          return;
        }
        const metric = this.metric(w[1]!);
        if (metric) r.checkpoint = { metric };
        return;
      }
      case "seed": {
        const w = this.words(s, 1, 1, ex);
        const v = w ? this.num(w[0]!, "the seed", (x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32, "a whole number from 0 to 2³²−1") : undefined;
        if (v !== undefined) r.seed = v;
        return;
      }
      case "metrics": {
        const list: string[] = [];
        for (const word of s.clauses.flat()) {
          const m = this.metric(word);
          if (m) list.push(m);
        }
        if (list.length === 0 && s.clauses.flat().length === 0) this.error("NN4011", "`metrics` needs at least one metric.", s.head.range, "For example: `metrics acc`.");
        r.metrics = list;
        return;
      }
      case "pretrained": {
        const w = this.words(s, 1, 1, ex);
        const path = w ? this.str(w[0], "The path of the saved model", s.head.range) : undefined;
        if (path !== undefined) r.pretrained = path;
        return;
      }
    }
  }

  private schedule(e: AstExpr): Exclude<ScheduleSpec, { name: "warmup" }> | { name: "warmup"; epochs: number } | undefined {
    const name = e.kind === "ref" ? e.name : e.kind === "call-expr" ? e.callee.name : "";
    const args = e.kind === "call-expr" ? e.args : [];
    const owner = `\`${name}\``;
    switch (name) {
      case "constant":
      case "cosine": {
        if (!this.callArgs(args, [], owner)) return undefined;
        return { name };
      }
      case "step": {
        const a = this.callArgs(args, ["factor", "every"], owner);
        if (!a) return undefined;
        const factor = a.get("factor") ? this.num(a.get("factor")!, "the step factor", (v) => v > 0 && v < 1, "between 0 and 1", "The rate is multiplied by it: `step(0.1, every: 10)` divides it by ten every 10 epochs.") : 0.1;
        const every = a.get("every") ? this.posInt(a.get("every")!, "the step interval in epochs") : 10;
        return factor !== undefined && every !== undefined ? { name: "step", factor, every } : undefined;
      }
      case "exp": {
        const a = this.callArgs(args, ["rate"], owner);
        if (!a) return undefined;
        const rate = a.get("rate") ? this.num(a.get("rate")!, "the decay rate", (v) => v > 0 && v < 1, "between 0 and 1", "Each epoch multiplies the learning rate by it, e.g. `exp(0.95)`.") : 0.95;
        return rate !== undefined ? { name: "exp", rate } : undefined;
      }
      case "warmup": {
        const a = this.callArgs(args, ["epochs"], owner);
        if (!a) return undefined;
        const epochs = a.get("epochs") ? this.posInt(a.get("epochs")!, "the warm-up length in epochs") : 5;
        return epochs !== undefined ? { name: "warmup", epochs } : undefined;
      }
      default: {
        this.unknown({ code: "NN4012", message: `\`${name || exprSource(e)}\` is not a learning-rate schedule I know.`, word: name, range: e.kind === "call-expr" ? e.callee.range : e.range, candidates: SCHEDULES, otherwise: "Schedules: `step(0.1, every: 10)`, `exp(0.95)`, `cosine`, `warmup(5) then cosine`, `constant`.", fix: name !== "" });
        return undefined;
      }
    }
  }

  private augmentation(words: AstExpr[], s: AstStatement): AugmentSpec | undefined {
    const head = words[0];
    if (!head) {
      this.error("NN4011", "An empty augmentation between commas.", s.range);
      return undefined;
    }
    const name = head.kind === "ref" ? head.name : exprSource(head);
    const named = (key: string): AstExpr | null | undefined => {
      const i = words.findIndex((w, j) => j > 0 && w.kind === "ref" && w.name === key);
      if (i < 0) return undefined;
      return words[i + 1] ?? null;
    };
    const known = (allowed: string[], from = 1): boolean => {
      for (let i = from; i < words.length; i++) {
        const w = words[i]!;
        if (w.kind === "ref" && allowed.includes(w.name)) {
          i++;
          continue;
        }
        this.error("NN4011", `\`${name}\` does not understand \`${exprSource(w)}\`.`, w.range, `It takes ${allowed.map((a) => `\`${a} …\``).join(" and ")}.`);
        return false;
      }
      return true;
    };
    switch (name) {
      case "flip": {
        const dir = words[1];
        if (words.length > 2 || (dir && (dir.kind !== "ref" || (dir.name !== "horizontal" && dir.name !== "vertical")))) {
          this.error("NN4011", "`flip` is `flip horizontal` or `flip vertical`.", (dir ?? head).range);
          return undefined;
        }
        return { kind: "flip", direction: dir && dir.kind === "ref" && dir.name === "vertical" ? "vertical" : "horizontal" };
      }
      case "crop": {
        const size = words[1];
        if (!size || size.kind === "ref") {
          this.error("NN4011", "`crop` needs the size to crop to, e.g. `crop 24x24 pad 4`.", head.range);
          return undefined;
        }
        const hw = this.ev.pair(size, this.env, "the crop size");
        if (!known(["pad"], 2)) return undefined;
        const padE = named("pad");
        const pad = padE ? this.num(padE, "the padding", (v) => Number.isInteger(v) && v >= 0, "a whole number") : padE === null ? undefined : 0;
        if (!hw || pad === undefined) return undefined;
        return { kind: "crop", height: hw[0], width: hw[1], pad };
      }
      case "jitter": {
        if (!known(["brightness", "contrast"])) return undefined;
        const b = named("brightness");
        const c = named("contrast");
        if (b === undefined && c === undefined) {
          this.error("NN4011", "`jitter` needs `brightness X` and/or `contrast X`.", head.range, "For example: `jitter brightness 0.2 contrast 0.2`.");
          return undefined;
        }
        const brightness = b ? this.num(b, "the brightness jitter", (v) => v >= 0 && v <= 1, "in [0, 1]") : 0;
        const contrast = c ? this.num(c, "the contrast jitter", (v) => v >= 0 && v <= 1, "in [0, 1]") : 0;
        if (brightness === undefined || contrast === undefined || b === null || c === null) return undefined;
        return { kind: "jitter", brightness, contrast };
      }
      default: {
        this.unknown({ code: "NN4014", message: `\`${name}\` is not an augmentation I know.`, word: name, range: head.range, candidates: AUGMENTATIONS, otherwise: "Augmentations: `flip horizontal`, `crop 24x24 pad 4`, `jitter brightness 0.2 contrast 0.2`.", fix: head.kind === "ref" });
        return undefined;
      }
    }
  }

  /** The recipe against its model: data shape, class count, loss vs final layer, augmentation. */
  private againstModel(r: CheckedRecipe, model: CheckedModel, at: Partial<Record<string, Range>>, t: AstTrain): void {
    this.batchTooLarge(r, model, at, t);
    const input = model.input;
    const output = model.output;
    const last = finalActivation(model);
    const modelRef = { message: `the model \`${model.name}\` is declared here`, range: model.nameRange };
    const facts = r.data ? dataFacts(r.data) : undefined;
    const dataRange = at["data"] ?? t.keyword;
    if (facts && input && !facts.shapes.some((s) => sameShape(s, input))) {
      const inputLayer = model.layers.find((l) => l.config.op === "input");
      this.diagnostics.push(
        diag("NN4008", `${facts.name}, but the model \`${model.name}\` takes ${formatShape(input)}.`, dataRange, {
          hint: `Change the model's input to \`input ${formatShape(facts.shapes[0]!)}\`${facts.shapes.length > 1 ? ` (or \`input ${formatShape(facts.shapes[1]!)}\`)` : ""}.`,
          related: inputLayer ? [{ message: "the model's input", range: inputLayer.range }] : [modelRef],
        }),
      );
    }
    if (r.data?.source === "images" && input && (input.length !== 3 || (input[2] !== 1 && input[2] !== 3))) {
      const inputLayer = model.layers.find((l) => l.config.op === "input");
      this.diagnostics.push(
        diag("NN4008", `\`images\` gives images, resized to the model's input, in grey (HxWx1) or RGB (HxWx3), but the model \`${model.name}\` takes ${formatShape(input)}.`, dataRange, {
          hint: input.length === 3 ? `Give the model 1 or 3 channels: \`input ${input[0]}x${input[1]}x3\`.` : "Give the model an image input, e.g. `input 64x64x3`.",
          related: inputLayer ? [{ message: "the model's input", range: inputLayer.range }] : [modelRef],
        }),
      );
    }
    const units = output && output.length === 1 ? output[0]! : undefined;
    const lastLayer = model.layers[model.layers.length - 1];
    const lastRef = lastLayer ? [{ message: `the model ends here with ${formatShape(output ?? [])}`, range: lastLayer.range }] : [modelRef];
    const loss = r.loss;
    const lossRange = at["loss"] ?? dataRange;
    if (r.data?.target === "input") {
      this.reconstruction(r, model, at, t, lastRef);
      return;
    }
    if (output && output.length > 1 && r.data) {
      if (this.imageTargets(r, model, at, t, lastRef)) return;
    }
    if (facts && units !== undefined) {
      const binaryOk = facts.classes === 2 && units === 1;
      if (units !== facts.classes && !binaryOk) {
        this.diagnostics.push(
          diag("NN4009", `The data has ${facts.classes} classes, but the model \`${model.name}\` ends in ${units} unit${units === 1 ? "" : "s"}.`, dataRange, {
            hint: facts.classes === 2 ? "End the model with `dense 1 sigmoid` (binary) or `dense 2 softmax`." : `End the model with \`dense ${facts.classes} softmax\`.`,
            related: lastRef,
          }),
        );
      }
    }
    const targets = r.data?.source === "csv" ? r.data.targets : undefined;
    if (targets) {
      const outputs = output ? output.reduce((p, d) => p * d, 1) : undefined;
      if (outputs !== undefined && outputs !== targets.length) {
        this.diagnostics.push(
          diag("NN4009", `The data has ${targets.length} regression target${targets.length === 1 ? "" : "s"} (${targets.map((t) => JSON.stringify(t)).join(", ")}), but the model \`${model.name}\` ends in ${outputs} unit${outputs === 1 ? "" : "s"}.`, dataRange, {
            hint: `End the model with \`dense ${targets.length}\` (no activation) to predict ${targets.length === 1 ? "the target" : "every target"}.`,
            related: lastRef,
          }),
        );
      }
      if (loss && loss !== "mse" && loss !== "mae") {
        this.diagnostics.push(diag("NN4006", `\`targets\` are regression values, but \`${loss}\` compares classes.`, lossRange, { hint: "Use `loss mse` (or `loss mae`) for regression." }));
      }
      return;
    }
    if (output && output.length !== 1 && loss && loss !== "mse" && loss !== "mae") {
      this.diagnostics.push(diag("NN4006", `\`${loss}\` needs the model to end in a vector of class scores, but \`${model.name}\` ends in ${formatShape(output)}.`, lossRange, { hint: "Add `flatten` or `global avgpool` and a `dense` layer at the end.", related: lastRef }));
      return;
    }
    if (!loss || units === undefined) return;
    if (loss === "crossentropy" || loss === "sparse_crossentropy") {
      if (units === 1 && last === "sigmoid") {
        this.diagnostics.push(diag("NN4006", `\`${loss}\` compares a distribution over classes, but \`${model.name}\` ends in one sigmoid unit, whose cross-entropy is always 0.`, lossRange, { hint: "Use `loss binary_crossentropy` for one sigmoid unit, or end with `dense 2 softmax`.", related: lastRef }));
      } else if (units === 1) {
        this.diagnostics.push(diag("NN4006", `\`${loss}\` needs at least two classes, but \`${model.name}\` ends in one unit.`, lossRange, { hint: "For two classes use `dense 1 sigmoid` with `binary_crossentropy`.", related: lastRef }));
      } else if (last !== "softmax") {
        this.diagnostics.push(diag("NN4006", `\`${loss}\` needs class probabilities, but \`${model.name}\` ends in ${last === "linear" ? "a layer with no activation" : `\`${last}\``}.`, lossRange, { hint: "End the model with `softmax`, e.g. `dense 10 softmax`.", related: lastRef }));
      }
    } else if (loss === "binary_crossentropy") {
      if (last === "softmax" && units > 1) {
        this.diagnostics.push(diag("NN4006", `\`binary_crossentropy\` is for independent sigmoid outputs, but \`${model.name}\` ends in a ${units}-way softmax.`, lossRange, { hint: "Use `loss crossentropy` with softmax.", related: lastRef }));
      } else if (last !== "sigmoid") {
        this.diagnostics.push(diag("NN4006", `\`binary_crossentropy\` needs probabilities in (0, 1), but \`${model.name}\` ends in ${last === "linear" ? "a layer with no activation" : `\`${last}\``}.`, lossRange, { hint: "End the model with `sigmoid`, e.g. `dense 1 sigmoid`.", related: lastRef }));
      }
    }
    if (r.augment.length > 0 && input && input.length !== 3) {
      this.diagnostics.push(diag("NN4020", `Augmentation flips, crops and jitters images, but the model \`${model.name}\` takes ${formatShape(input)}, not HxWxC images.`, at["augment"] ?? t.keyword, { hint: "Remove `augment`, or give the model an image input such as `input 28x28x1`." }));
    } else if (input && input.length === 3) {
      for (const a of r.augment) {
        const where = this.augmentRanges.get(a) ?? at["augment"]!;
        if (a.kind === "crop" && (a.height > input[0]! + 2 * a.pad || a.width > input[1]! + 2 * a.pad)) {
          this.diagnostics.push(diag("NN4010", `\`crop ${a.height}x${a.width}\` is larger than the padded ${input[0]! + 2 * a.pad}x${input[1]! + 2 * a.pad} image.`, where, { hint: `Crop to at most ${input[0]}x${input[1]} (the model's input).` }));
        } else if (a.kind === "crop" && (a.height !== input[0] || a.width !== input[1])) {
          this.diagnostics.push(diag("NN4008", `\`crop ${a.height}x${a.width}\` makes ${a.height}x${a.width} images, but the model \`${model.name}\` takes ${formatShape(input)}.`, where, { hint: `Crop to the input size and pad: \`crop ${input[0]}x${input[1]} pad 4\`.` }));
        }
      }
    }
  }

  /**
   * `targets: input` (an autoencoder) against the model: it must give back its input's shape,
   * with a loss that compares values (`mse`, `mae`, or `binary_crossentropy` on a sigmoid for
   * inputs in [0, 1]); augmentation would change the inputs but not their copies as targets.
   */
  private reconstruction(r: CheckedRecipe, model: CheckedModel, at: Partial<Record<string, Range>>, t: AstTrain, lastRef: { message: string; range: Range }[]): void {
    const input = model.input;
    const output = model.output;
    const dataRange = at["data"] ?? t.keyword;
    const lossRange = at["loss"] ?? dataRange;
    const last = finalActivation(model);
    if (input && output && !sameShape(input, output)) {
      this.diagnostics.push(
        diag("NN4024", `With \`targets: input\` the model \`${model.name}\` must give back its input, ${formatShape(input)}, but it ends in ${formatShape(output)}.`, dataRange, {
          hint: `End the model in a layer that gives ${formatShape(input)}${input.length === 3 && output.length === 3 && output[0]! < input[0]! ? " (undo the pooling with `upsample 2` or `upconv 2x2xC stride 2 same`)" : ""}.`,
          related: lastRef,
        }),
      );
    }
    const loss = r.loss;
    if (loss === "crossentropy" || loss === "sparse_crossentropy" || loss === "hinge") {
      this.diagnostics.push(diag("NN4006", `With \`targets: input\` the model gives back values, but \`${loss}\` compares classes.`, lossRange, { hint: "Use `loss mse` (or `mae`), or `binary_crossentropy` with a sigmoid output for inputs in [0, 1]." }));
    } else if (loss === "binary_crossentropy") {
      if (last !== "sigmoid") {
        this.diagnostics.push(diag("NN4006", `\`binary_crossentropy\` needs values in (0, 1), but \`${model.name}\` ends in ${last === "linear" ? "a layer with no activation" : `\`${last}\``}.`, lossRange, { hint: "End the model with `sigmoid`, or use `loss mse`.", related: lastRef }));
      } else if (r.data?.source === "ball") {
        this.diagnostics.push(diag("NN4006", "`binary_crossentropy` compares values in [0, 1], but `ball` gives points with coordinates from −1 to 1.", lossRange, { hint: "Use `loss mse` (or `mae`)." }));
      }
    }
    if (r.augment.length > 0) {
      this.diagnostics.push(diag("NN4020", "With `targets: input` augmentation would change the inputs but not the targets (the unaugmented inputs), so the model would learn to undo it.", at["augment"] ?? t.keyword, { hint: "Remove `augment`." }));
    }
  }

  /**
   * A model that ends in an image (not a vector): per-pixel targets. NumPy arrays and IDX files
   * can hold a class per pixel (segmentation masks) or target images, checked against the
   * output when they are loaded; the other sources give one class per sample. Returns whether
   * the recipe was judged here.
   */
  private imageTargets(r: CheckedRecipe, model: CheckedModel, at: Partial<Record<string, Range>>, t: AstTrain, lastRef: { message: string; range: Range }[]): boolean {
    const output = model.output!;
    const data = r.data!;
    const dataRange = at["data"] ?? t.keyword;
    const lossRange = at["loss"] ?? dataRange;
    const last = finalActivation(model);
    const loss = r.loss;
    const perPixel = data.source === "npy" || data.source === "npz" || data.source === "idx";
    if (!perPixel) {
      if (data.source === "csv" && data.targets) return false;
      const what = data.source === "csv" ? "`csv` gives one class per row" : data.source === "ball" ? "`ball` gives one class per point" : `\`${data.source}\` gives one class per image`;
      const input = model.input;
      const same = input !== undefined && sameShape(input, output);
      this.diagnostics.push(
        diag(loss === "mse" || loss === "mae" || !loss ? "NN4024" : "NN4006", `${what}, but the model \`${model.name}\` ends in ${formatShape(output)}, which would need a target per value.`, loss === "mse" || loss === "mae" || !loss ? dataRange : lossRange, {
          hint: same
            ? `To train \`${model.name}\` to give back its input (an autoencoder), add \`targets: input\` to the data; to classify, end the model in a vector (\`flatten\` or \`global avgpool\`, then \`dense\`).`
            : "To classify, end the model in a vector (`flatten` or `global avgpool`, then `dense`); per-pixel labels (segmentation masks) come from `npy`, `npz` or `idx` arrays.",
          related: lastRef,
        }),
      );
      return true;
    }
    const channels = output[output.length - 1]!;
    const pixels = formatShape(output.slice(0, -1));
    if (loss === "crossentropy" || loss === "sparse_crossentropy") {
      if (channels === 1 && last === "sigmoid") {
        this.diagnostics.push(diag("NN4006", `\`${loss}\` compares a distribution over classes per pixel, but \`${model.name}\` ends in one sigmoid channel, whose cross-entropy is always 0.`, lossRange, { hint: "Use `loss binary_crossentropy` for one sigmoid channel (two classes), or end in `conv 1x1x2 softmax`.", related: lastRef }));
      } else if (channels === 1) {
        this.diagnostics.push(diag("NN4006", `\`${loss}\` needs at least two classes per pixel, but \`${model.name}\` ends in one channel (${formatShape(output)}).`, lossRange, { hint: "End in `conv 1x1xC softmax` for C classes, or in one sigmoid channel with `binary_crossentropy`.", related: lastRef }));
      } else if (last !== "softmax") {
        this.diagnostics.push(diag("NN4006", `\`${loss}\` needs class probabilities per pixel, but \`${model.name}\` ends in ${last === "linear" ? "a layer with no activation" : `\`${last}\``}.`, lossRange, { hint: `End the model with \`softmax\`, e.g. \`conv 1x1x${channels} softmax\`.`, related: lastRef }));
      }
    } else if (loss === "binary_crossentropy") {
      if (last === "softmax" && channels > 1) {
        this.diagnostics.push(diag("NN4006", `\`binary_crossentropy\` is for independent sigmoid outputs, but \`${model.name}\` ends in a ${channels}-way softmax per pixel.`, lossRange, { hint: "Use `loss crossentropy` with softmax.", related: lastRef }));
      } else if (last !== "sigmoid") {
        this.diagnostics.push(diag("NN4006", `\`binary_crossentropy\` needs probabilities in (0, 1), but \`${model.name}\` ends in ${last === "linear" ? "a layer with no activation" : `\`${last}\``}.`, lossRange, { hint: "End the model with `sigmoid`, e.g. `conv 1x1x1 sigmoid`.", related: lastRef }));
      }
    } else if (loss === "hinge") {
      this.diagnostics.push(diag("NN4006", `\`hinge\` compares one score per sample, but \`${model.name}\` ends in ${formatShape(output)} (${pixels} positions).`, lossRange, { hint: "For per-pixel classes use `crossentropy` (softmax) or `binary_crossentropy` (one sigmoid channel)." }));
    }
    if (r.augment.length > 0) {
      this.diagnostics.push(diag("NN4020", `Augmentation would flip, crop and jitter the inputs but not their per-pixel targets, since \`${model.name}\` ends in ${formatShape(output)}.`, at["augment"] ?? t.keyword, { hint: "Remove `augment`." }));
    }
    return true;
  }

  search(s: AstSearch, models: Map<string, AstModel>, recipes: Map<string, CheckedRecipe>): CheckedSearch | undefined {
    const name = s.model?.name;
    const model = name ? models.get(name) : undefined;
    if (name && !model) {
      this.unknown({ code: "NN2004", message: `I cannot find a model named \`${name}\` to search.`, word: name, range: s.model!.range, candidates: models.keys(), otherwise: models.size > 0 ? `The models in this file are ${[...models.keys()].map((m) => `\`${m}\``).join(", ")}.` : "This file declares no model." });
    } else if (name && model && !recipes.has(name)) {
      this.error("NN4019", `A search runs the recipe of \`${name}\`, but there is no \`train ${name} { … }\`.`, s.model!.range, `Add a recipe: \`train ${name} { data … loss … }\`; the search varies it.`);
    }
    const [strategyE, trialsE, extra] = s.header;
    let strategy: "random" | "grid" | undefined;
    if (!strategyE || strategyE.kind !== "ref" || (strategyE.name !== "random" && strategyE.name !== "grid")) {
      const word = strategyE?.kind === "ref" ? strategyE.name : undefined;
      this.unknown({ code: "NN4016", message: strategyE ? `\`${exprSource(strategyE)}\` is not a search strategy.` : "A search needs its strategy: `random N` or `grid`.", word: word ?? "", range: strategyE?.range ?? s.model?.range ?? s.keyword, candidates: word ? ["random", "grid"] : [], otherwise: "Write `search MODEL random 20 { … }` (random, as Bergstra & Bengio recommend) or `search MODEL grid { … }`.", fix: strategyE !== undefined });
    } else strategy = strategyE.name;
    let trials: number | undefined;
    if (trialsE) trials = this.posInt(trialsE, "the number of trials");
    else if (strategy === "random") this.error("NN4011", "A random search needs a number of trials.", strategyE!.range, "For example: `random 20`.");
    if (extra) this.error("NN4011", `The search header is \`search MODEL random N\` or \`search MODEL grid\`; \`${exprSource(extra)}\` is extra.`, extra.range);

    const vars: SearchVariable[] = [];
    let objective: CheckedSearch["objective"] | undefined;
    let epochs: number | undefined;
    let seed: number | undefined;
    const seen = new Map<string, Range>();
    for (const st of s.statements) {
      if (st.kind === "search-var") {
        const v = st.name.name;
        if (seen.has(v)) {
          this.diagnostics.push(diag("NN4002", `\`${v}\` is searched twice.`, st.name.range, { related: [{ message: "first here", range: seen.get(v)! }] }));
          continue;
        }
        seen.set(v, st.name.range);
        const recipeSetting = RECIPE_SETTINGS[v]?.searchable;
        const modelParam = model?.params.some((p) => p.name.name === v);
        if (!recipeSetting && !modelParam) {
          const candidates = [...Object.keys(RECIPE_SETTINGS).filter((k) => RECIPE_SETTINGS[k]!.searchable), ...(model?.params.map((p) => p.name.name) ?? [])];
          this.unknown({ code: "NN4017", message: `\`${v}\` is neither a recipe setting a search can vary nor a parameter of \`${name ?? "?"}\`.`, word: v, range: st.name.range, candidates, otherwise: model && model.params.length === 0 ? `To search a model value, make it a parameter: \`model ${name}(${v} = …) { … }\`.` : `Searchable: ${candidates.map((c) => `\`${c}\``).join(", ")}.` });
          continue;
        }
        if (!st.distribution) continue;
        const dist = this.distribution(st.distribution, strategy, recipeSetting === "integer");
        if (dist) vars.push({ name: v, target: modelParam ? "model" : "recipe", distribution: dist });
        continue;
      }
      const key = st.head.name;
      if (!Object.hasOwn(SEARCH_SETTINGS, key)) {
        const isRecipe = Object.hasOwn(RECIPE_SETTINGS, key);
        if (isRecipe) this.error("NN4001", `\`${key}\` is not a search setting.`, st.head.range, `To vary it write \`${key} ~ choice(…)\`; to fix it, set it in the \`train\` recipe.`);
        else this.unknown({ code: "NN4001", message: `\`${key}\` is not a search setting.`, word: key, range: st.head.range, candidates: Object.keys(SEARCH_SETTINGS), otherwise: `Search settings: ${Object.keys(SEARCH_SETTINGS).map((k) => `\`${k}\``).join(", ")}, and \`NAME ~ distribution\`.` });
        continue;
      }
      const w = this.words(st, 1, 1, SEARCH_SETTINGS[key]!.example);
      if (!w) continue;
      if (key === "maximize" || key === "minimize") {
        const m = this.metric(w[0]!);
        if (objective) this.error("NN4002", "The objective is set twice.", st.head.range);
        else if (m) objective = { metric: m, goal: key };
      } else if (key === "epochs") epochs = this.posInt(w[0]!, "the epochs per trial");
      else if (key === "seed") seed = this.num(w[0]!, "the seed", (x) => Number.isInteger(x) && x >= 0, "a whole number");
    }
    if (vars.length === 0 && seen.size === 0) this.error("NN4011", "This search varies nothing.", s.keyword, "Add a line such as `lr ~ loguniform(1e-4, 1e-1)`.");
    if (!name || !strategy) return undefined;
    const out: CheckedSearch = { model: name, range: s.range, strategy, variables: vars, objective: objective ?? { metric: "val_acc", goal: "maximize" } };
    if (trials !== undefined) out.trials = trials;
    if (epochs !== undefined) out.epochs = epochs;
    if (seed !== undefined) out.seed = seed;
    return out;
  }

  private distribution(e: AstExpr, strategy: "random" | "grid" | undefined, integer: boolean): SearchVariable["distribution"] | undefined {
    if (e.kind !== "call-expr" || !Object.hasOwn(SEARCH_DISTRIBUTIONS, e.callee.name)) {
      const name = e.kind === "call-expr" ? e.callee.name : e.kind === "ref" ? e.name : undefined;
      this.unknown({ code: "NN4018", message: `${name ? `\`${name}\`` : `\`${exprSource(e)}\``} is not a distribution.`, word: name ?? "", range: e.kind === "call-expr" ? e.callee.range : e.range, candidates: name ? Object.keys(SEARCH_DISTRIBUTIONS) : [], otherwise: "Use `loguniform(a, b)`, `uniform(a, b)`, `int(a, b)` or `choice(x, y, …)`." });
      return undefined;
    }
    const kind = e.callee.name as "loguniform" | "uniform" | "int" | "choice";
    const values: number[] = [];
    for (const a of e.args) {
      if (!a.value) return undefined;
      if (a.name) {
        this.error("NN4018", `\`${kind}\` takes plain values, not named ones.`, a.name.range);
        return undefined;
      }
      const v = this.ev.number(a.value, this.env, `a value of \`${kind}\``);
      if (v === undefined) return undefined;
      values.push(v);
    }
    if (kind === "choice") {
      if (values.length === 0) {
        this.error("NN4018", "`choice` needs at least one value.", e.range, "For example: `choice(0.1, 0.3, 0.5)`.");
        return undefined;
      }
      if (integer && values.some((v) => !Number.isInteger(v))) {
        this.error("NN4018", "This setting takes whole numbers only.", e.range);
        return undefined;
      }
      return { kind, values };
    }
    if (values.length !== 2) {
      this.error("NN4018", `\`${kind}\` takes two values, low and high, but got ${values.length}.`, e.range, `For example: \`${kind}(${kind === "int" ? "2, 8" : "1e-4, 1e-1"})\`.`);
      return undefined;
    }
    const [low, high] = values as [number, number];
    if (!(low < high) && !(kind === "int" && low === high)) {
      this.error("NN4018", `\`${kind}(${formatNumber(low)}, ${formatNumber(high)})\`: low must be below high.`, e.range);
      return undefined;
    }
    if (kind === "loguniform" && low <= 0) {
      this.error("NN4018", "`loguniform` samples the logarithm, so both bounds must be positive.", e.range, "For example: `loguniform(1e-4, 1e-1)`.");
      return undefined;
    }
    if (kind === "int" && (!Number.isInteger(low) || !Number.isInteger(high))) {
      this.error("NN4018", "`int` takes whole-number bounds.", e.range);
      return undefined;
    }
    if (strategy === "grid" && kind !== "int") {
      this.error("NN4018", `A grid search needs a finite list of values; \`${kind}\` is continuous.`, e.callee.range, "Use `choice(…)` or `int(a, b)` in a grid, or make the search `random`.");
      return undefined;
    }
    if (integer && kind !== "int") {
      this.error("NN4018", "This setting takes whole numbers: use `int(a, b)` or `choice(…)`.", e.callee.range);
      return undefined;
    }
    return kind === "int" ? { kind, low, high } : { kind, low, high };
  }
}

/** The loss that fits how a model ends, for hints. */
function defaultLoss(model: CheckedModel): string {
  const last = finalActivation(model);
  const units = model.output?.length === 1 ? model.output[0]! : 0;
  if (last === "softmax") return "crossentropy";
  if (last === "sigmoid" && units >= 1) return "binary_crossentropy";
  return "mse";
}

/** The activation the model's output goes through (looking past dropout, flatten, reshape). */
export function finalActivation(model: CheckedModel): ActivationSpec["name"] | "linear" {
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const c = model.layers[i]!.config;
    if (c.op === "dropout" || c.op === "flatten" || c.op === "reshape") continue;
    if (c.op === "activation") return c.activation.name;
    if ("activation" in c && c.activation) return c.activation.name;
    return "linear";
  }
  return "linear";
}
