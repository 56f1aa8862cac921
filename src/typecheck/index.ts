/**
 * The checker phase: `check(ast) → { program, diagnostics }`. Resolves names (models, blocks,
 * parameters), expands each model and infers every layer's shape and parameter count, then
 * checks recipes and searches against their models. Never throws for a user's mistake.
 */
import { diag, type Diagnostic, type Range } from "../diagnostics/diagnostic.js";
import { unknownWord } from "../diagnostics/suggest.js";
import type { AstBlock, AstFile, AstModel, AstSearch, AstTrain } from "../parser/index.js";
import { Evaluator, Env } from "./evaluate.js";
import { ModelExpander, type CheckedModel } from "./model.js";
import { RecipeChecker, type CheckedRecipe, type CheckedSearch } from "./recipe.js";

export type { CheckedLayer, CheckedModel } from "./model.js";
export type { CheckedRecipe, CheckedSearch, DataSpec, ScheduleSpec, AugmentSpec, SearchVariable } from "./recipe.js";
export { finalActivation } from "./recipe.js";
export { chainDepth, MAX_CHAIN_DEPTH } from "./model.js";
export type * from "./layer-config.js";
export { elementCount, formatShape, multiplyAdds, outputShape, paramCount, windowLength } from "./shape-rules.js";
export { isConvolution } from "../layers/index.js";

export interface CheckedProgram {
  models: CheckedModel[];
  recipes: CheckedRecipe[];
  searches: CheckedSearch[];
}

export interface CheckResult {
  program: CheckedProgram;
  diagnostics: Diagnostic[];
}

export function check(ast: AstFile): CheckResult {
  const diagnostics: Diagnostic[] = [];
  const models = new Map<string, AstModel>();
  const blocks = new Map<string, AstBlock>();
  const trains: AstTrain[] = [];
  const searches: AstSearch[] = [];
  const declared = new Map<string, Range>();

  for (const d of ast.declarations) {
    if (d.kind === "train") trains.push(d);
    else if (d.kind === "search") searches.push(d);
    else if (d.name) {
      const prev = declared.get(d.name.name);
      if (prev) {
        diagnostics.push(diag("NN2005", `\`${d.name.name}\` is declared twice.`, d.name.range, { hint: "Models and blocks share one namespace; rename one of them.", related: [{ message: "first declared here", range: prev }] }));
        continue;
      }
      declared.set(d.name.name, d.name.range);
      if (d.kind === "model") models.set(d.name.name, d);
      else blocks.set(d.name.name, d);
    }
  }
  for (const d of [...models.values(), ...blocks.values()]) checkParams(d, diagnostics);

  const usedParams = new Map<AstModel | AstBlock, Set<string>>();
  const reportedCycles = new Set<string>();
  const program: CheckedProgram = { models: [], recipes: [], searches: [] };
  const recipeByModel = new Map<string, CheckedRecipe>();

  // Models given arguments by a recipe are checked as the recipe instantiates them.
  const instantiated = new Set(trains.filter((t) => t.args.length > 0 && t.model).map((t) => t.model!.name));
  for (const m of models.values()) {
    const missing = m.params.filter((p) => !p.default);
    if (missing.length > 0 && instantiated.has(m.name!.name)) continue;
    for (const p of missing) {
      diagnostics.push(diag("NN2016", `The parameter \`${p.name.name}\` of the model \`${m.name!.name}\` has no value.`, p.name.range, { hint: `Give it a default (\`${p.name.name} = 10\`), or pass it from a recipe: \`train ${m.name!.name}(${p.name.name}: 10) { … }\`.` }));
    }
    if (missing.length > 0) continue;
    program.models.push(new ModelExpander(blocks, diagnostics, usedParams, reportedCycles).expand(m, new Map()));
  }

  const recipes = new RecipeChecker(diagnostics);
  const trainedModels = new Map<string, Range>();
  for (const t of trains) {
    if (!t.model) continue;
    const ast = models.get(t.model.name);
    if (!ast) {
      diagnostics.push(
        unknownWord({
          code: "NN2004",
          message: `I cannot find a model named \`${t.model.name}\` to train.`,
          word: t.model.name,
          range: t.model.range,
          candidates: models.keys(),
          otherwise: models.size > 0 ? `The models in this file are ${[...models.keys()].map((m) => `\`${m}\``).join(", ")}.` : `Declare it: \`model ${t.model.name} { input … }\`.`,
        }),
      );
      recipes.train(t, undefined);
      continue;
    }
    const prev = trainedModels.get(t.model.name);
    if (prev) {
      diagnostics.push(diag("NN2005", `The model \`${t.model.name}\` has two training recipes.`, t.model.range, { hint: "Keep one `train` block per model; use `search` to try variations.", related: [{ message: "the first recipe", range: prev }] }));
      continue;
    }
    trainedModels.set(t.model.name, t.model.range);
    let model = program.models.find((m) => m.name === t.model!.name);
    if (t.args.length > 0) {
      const args = bindModelArgs(ast, t, diagnostics);
      if (args) {
        // Check the model as this recipe builds it; report what the defaults did not already show.
        const scratch: Diagnostic[] = [];
        model = new ModelExpander(blocks, scratch, usedParams, reportedCycles).expand(ast, args);
        for (const d of scratch) diagnostics.push(d);
        const i = program.models.findIndex((m) => m.name === model!.name);
        if (i >= 0) program.models[i] = model;
        else program.models.push(model);
      } else model = undefined;
    }
    const r = recipes.train(t, model);
    program.recipes.push(r);
    recipeByModel.set(r.model, r);
  }
  for (const s of searches) {
    const cs = recipes.search(s, models, recipeByModel);
    if (cs) program.searches.push(cs);
  }

  // A misspelt use (`clases`) is already reported; "never used" would be its echo. (Found by a
  // binary search over where the NN2003s start: a file of many declarations with an error in
  // each took minutes with a scan of every diagnostic per declaration.)
  const unknownNames = diagnostics.filter((d) => d.code === "NN2003").map((d) => d.range.start.offset).sort((a, b) => a - b);
  const hasUnknownName = (from: number, to: number): boolean => {
    let lo = 0;
    let hi = unknownNames.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (unknownNames[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    return lo < unknownNames.length && unknownNames[lo]! < to;
  };
  for (const [decl, used] of usedParams) {
    if (hasUnknownName(decl.range.start.offset, decl.range.end.offset)) continue;
    for (const p of decl.params) {
      if (!used.has(p.name.name)) {
        diagnostics.push(diag("NN2015", `The parameter \`${p.name.name}\` is never used in the ${decl.kind} \`${decl.name?.name ?? "?"}\`.`, p.name.range, { hint: "Use it, or remove it." }));
      }
    }
  }
  return { program, diagnostics: dedupe(diagnostics) };
}

function checkParams(d: AstModel | AstBlock, diagnostics: Diagnostic[]): void {
  const seen = new Map<string, Range>();
  for (const p of d.params) {
    const prev = seen.get(p.name.name);
    if (prev) diagnostics.push(diag("NN2006", `The parameter \`${p.name.name}\` is declared twice.`, p.name.range, { related: [{ message: "first declared here", range: prev }] }));
    else seen.set(p.name.name, p.name.range);
  }
}

function bindModelArgs(model: AstModel, t: AstTrain, diagnostics: Diagnostic[]): Map<string, { value: number | undefined; range?: Range }> | undefined {
  const out = new Map<string, { value: number | undefined; range?: Range }>();
  const ev = new Evaluator(diagnostics);
  const env = new Env("the recipe");
  let positional = 0;
  let ok = true;
  for (const a of t.args) {
    if (!a.value) return undefined;
    const param = a.name ? model.params.find((p) => p.name.name === a.name!.name) : model.params[positional++];
    if (!param) {
      if (a.name) {
        diagnostics.push(unknownWord({ code: "NN2007", message: `The model \`${model.name!.name}\` has no parameter \`${a.name.name}\`.`, word: a.name.name, range: a.name.range, candidates: model.params.map((p) => p.name.name), otherwise: model.params.length > 0 ? `Its parameters are ${model.params.map((p) => `\`${p.name.name}\``).join(", ")}.` : `It has no parameters.` }));
      } else diagnostics.push(diag("NN2009", `The model \`${model.name!.name}\` takes ${model.params.length} parameter${model.params.length === 1 ? "" : "s"}, but got more.`, a.range));
      ok = false;
      continue;
    }
    if (out.has(param.name.name)) {
      diagnostics.push(diag("NN2014", `\`${param.name.name}\` is given twice.`, a.range));
      ok = false;
      continue;
    }
    out.set(param.name.name, { value: ev.number(a.value, env, `\`${param.name.name}\``), range: a.range });
  }
  // A misspelt argument name is already reported; "needs a value" would be its echo.
  if (!ok) return undefined;
  for (const p of model.params) {
    if (!p.default && !out.has(p.name.name)) {
      diagnostics.push(diag("NN2008", `The model \`${model.name!.name}\` needs a value for \`${p.name.name}\`.`, t.model!.range, { hint: `Pass it: \`train ${model.name!.name}(${p.name.name}: …)\`.`, related: [{ message: "declared here", range: p.name.range }] }));
      ok = false;
    }
  }
  return ok ? out : undefined;
}

/** The same mistake reached twice (a block expanded in several places) is reported once. */
function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of diagnostics) {
    const key = `${d.code}@${d.range.start.offset}-${d.range.end.offset}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}
