/**
 * Keeps grammar/ honest: the examples parse and check cleanly and use the whole language,
 * the EBNF names exactly the parser's tokens and rules, the serialized Chevrotain grammar is
 * current, and the TextMate grammar covers the vocabulary and agrees with the lexer.
 *
 * The TextMate check runs the grammar's regexes with JavaScript's RegExp in a small
 * tokenizer (begin/end rules, includes, captures), as vscode-textmate would with Oniguruma.
 * The grammar keeps to the regex subset both engines share, and a test holds it to that.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { childBodies, type AstExpr, type AstFile, type AstItem, type AstStatement } from "../src/parser/ast.js";
import { NnParser } from "../src/parser/grammar.js";
import { allTokens, lexTokens } from "../src/parser/lexer.js";
import { checkText } from "../src/pipeline.js";
import { CODES } from "../src/diagnostics/codes.js";
import {
  ACTIVATIONS,
  AUGMENTATIONS,
  CONTEXTUAL_KEYWORDS,
  DATA_SOURCES,
  INITIALIZERS,
  KEYWORDS,
  LAYER_KINDS,
  LOSSES,
  METRICS,
  NORMALIZATIONS,
  OPTIMIZERS,
  PADDINGS,
  RECIPE_SETTINGS,
  SCHEDULES,
  SEARCH_DISTRIBUTIONS,
  SEARCH_SETTINGS,
} from "../src/language/vocabulary.js";

const grammarDir = fileURLToPath(new URL("../grammar/", import.meta.url));
const read = (name: string): string => readFileSync(grammarDir + name, "utf8");

const exampleNames = readdirSync(grammarDir + "examples")
  .filter((f) => f.endsWith(".nn"))
  .sort();
const examples = exampleNames.map((name) => ({ name, text: read(`examples/${name}`) }));
const ebnf = read("nn.ebnf");

/** `NN3101 12:5 message` for readable failures. */
function described(text: string): string[] {
  return checkText(text).diagnostics.map((d) => `${d.code} ${d.range.start.line + 1}:${d.range.start.character + 1} ${d.message}`);
}

// ---------------------------------------------------------------------------------------
// (a) Examples

/** The ```nn fenced blocks in the EBNF's comments. */
function fencedExamples(text: string): string[] {
  return [...text.matchAll(/```nn\r?\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe("the examples in grammar/examples", () => {
  it("are at least twelve", () => {
    expect(examples.length).toBeGreaterThanOrEqual(12);
  });

  it.each(exampleNames)("%s parses and checks with no diagnostics", (name) => {
    const text = examples.find((e) => e.name === name)!.text;
    expect(described(text)).toEqual([]);
  });
});

describe("the examples in nn.ebnf's comments", () => {
  const fenced = fencedExamples(ebnf);

  it("exist", () => {
    expect(fenced.length).toBeGreaterThan(0);
  });

  it.each(fenced.map((text, i) => [i + 1, text] as const))("example %i parses and checks with no diagnostics", (_i, text) => {
    expect(described(text)).toEqual([]);
  });
});

/** Every word the examples use, by category, read from the AST. */
function wordsUsed(files: { ast: AstFile; text: string }[]): Record<string, Set<string>> {
  const used: Record<string, Set<string>> = {};
  const add = (category: string, word: string | undefined): void => {
    if (word !== undefined) (used[category] ??= new Set()).add(word);
  };
  const nameOf = (e: AstExpr | undefined): string | undefined => (e?.kind === "ref" ? e.name : e?.kind === "call-expr" ? e.callee.name : undefined);
  const items = (list: AstItem[], text: string): void => {
    for (const item of list) {
      switch (item.kind) {
        case "layer": {
          const lone = !Object.hasOwn(LAYER_KINDS, item.op.name);
          add(lone ? "lone activation" : "layer kind", item.op.name);
          for (const option of Object.keys(item.options)) add(`option of ${item.op.name}`, option);
          if (item.activation && !lone) add("trailing activation", item.activation.name.name);
          add("initialiser", nameOf(item.options["init"]?.value));
          break;
        }
        case "block-call":
          add("construct", item.args.some((a) => a.name) ? "block call with named arguments" : "block call");
          break;
        case "repeat": {
          // `repeat N { … }` has a brace between the count and the first item.
          const between = text.slice(item.count?.range.end.offset ?? item.range.start.offset, item.body[0]?.range.start.offset ?? item.range.end.offset);
          add("construct", between.includes("{") ? "repeat N { … }" : "repeat N item");
          items(item.body, text);
          break;
        }
        case "residual":
          add("construct", item.project ? "residual project" : item.skip ? "residual skip" : "residual");
          items(item.body, text);
          items(item.skip ?? [], text);
          break;
        case "merge": {
          add("merge", item.op);
          const branches = item.operands.filter((o) => o.kind === "branch");
          if (item.operands.some((o) => o.kind === "kept")) add("construct", "merge of a kept tensor");
          if (branches.length === 1 && item.operands.length === 1) add("construct", "merge of one branch");
          if (branches.some((b) => b.body.length === 0)) add("construct", "empty branch");
          if (branches.some((b) => b.range.start.line !== item.keyword.start.line)) add("construct", "branches continued on the next line");
          if (item.name) add("construct", "named merge");
          for (const b of branches) items(b.body, text);
          break;
        }
        case "keep":
          add("construct", "keep");
          break;
      }
    }
  };
  const statement = (s: AstStatement): void => {
    const words = s.clauses.flat();
    const first = nameOf(words[0]);
    switch (s.head.name) {
      case "optim":
        add("optimizer", first);
        break;
      case "loss":
        add("loss", first);
        break;
      case "data":
        add("data source", first);
        break;
      case "normalize":
        add("normalisation", first);
        break;
      case "schedule":
        for (const w of words) if ((SCHEDULES as readonly string[]).includes(nameOf(w) ?? "")) add("schedule", nameOf(w));
        break;
      case "augment":
        for (const clause of s.clauses) add("augmentation", nameOf(clause[0]));
        break;
    }
    for (const w of words) if ((METRICS as readonly string[]).includes(nameOf(w) ?? "")) add("metric", nameOf(w));
  };
  for (const { ast, text } of files) {
    for (const d of ast.declarations) {
      if (d.kind === "model" || d.kind === "block") {
        if (d.params.some((p) => p.default)) add("construct", "parameter default");
        items(d.body, text);
      } else if (d.kind === "train") {
        for (const s of d.statements) {
          add("recipe setting", s.head.name);
          statement(s);
        }
      } else {
        add("search strategy", nameOf(d.header[0]));
        for (const s of d.statements) {
          if (s.kind === "search-var") add("distribution", nameOf(s.distribution));
          else {
            add("search setting", s.head.name);
            statement(s);
          }
        }
      }
    }
  }
  return used;
}

describe("the examples, together", () => {
  const used = wordsUsed(examples.map((e) => ({ ast: checkText(e.text).ast, text: e.text })));
  const texts = examples.map((e) => e.text).join("\n");
  const missing = (category: string, words: readonly string[]): string[] => words.filter((w) => !used[category]?.has(w));

  it("use every layer kind", () => {
    expect(missing("layer kind", Object.keys(LAYER_KINDS))).toEqual([]);
  });

  it.each(Object.keys(LAYER_KINDS))("use every option of %s (other than `name` and `frozen`)", (kind) => {
    expect(missing(`option of ${kind}`, Object.keys(LAYER_KINDS[kind]!.options).filter((o) => o !== "name" && o !== "frozen"))).toEqual([]);
  });

  it("use `name` and `frozen`", () => {
    const all = new Set(Object.keys(LAYER_KINDS).flatMap((k) => [...(used[`option of ${k}`] ?? [])]));
    expect(["name", "frozen"].filter((o) => !all.has(o))).toEqual([]);
  });

  it("use every activation, trailing and on its own", () => {
    expect(missing("trailing activation", Object.keys(ACTIVATIONS))).toEqual([]);
    expect(missing("lone activation", Object.keys(ACTIVATIONS))).toEqual([]);
  });

  it("use every initialiser", () => {
    expect(missing("initialiser", Object.keys(INITIALIZERS))).toEqual([]);
  });

  it("use every padding", () => {
    expect(missing("option of conv", PADDINGS)).toEqual([]);
  });

  it("use blocks with defaults and named arguments, both forms of repeat and all three forms of residual", () => {
    expect(missing("construct", ["parameter default", "block call", "block call with named arguments", "repeat N item", "repeat N { … }", "residual", "residual project", "residual skip"])).toEqual([]);
  });

  it("use every merge, with branches continued on the next lines, empty branches, kept tensors and a name", () => {
    expect(missing("merge", ["concat", "add", "multiply"])).toEqual([]);
    expect(missing("construct", ["keep", "merge of a kept tensor", "merge of one branch", "empty branch", "branches continued on the next line", "named merge"])).toEqual([]);
  });

  it("use every recipe setting, optimizer, loss, data source, schedule, normalisation, augmentation and metric", () => {
    expect(missing("recipe setting", Object.keys(RECIPE_SETTINGS))).toEqual([]);
    expect(missing("optimizer", Object.keys(OPTIMIZERS))).toEqual([]);
    expect(missing("loss", Object.keys(LOSSES))).toEqual([]);
    expect(missing("data source", DATA_SOURCES)).toEqual([]);
    expect(missing("schedule", SCHEDULES)).toEqual([]);
    expect(missing("normalisation", NORMALIZATIONS)).toEqual([]);
    expect(missing("augmentation", AUGMENTATIONS)).toEqual([]);
    expect(missing("metric", METRICS)).toEqual([]);
  });

  it("use both search strategies, every search setting and every distribution", () => {
    expect(missing("search strategy", ["random", "grid"])).toEqual([]);
    expect(missing("search setting", Object.keys(SEARCH_SETTINGS))).toEqual([]);
    expect(missing("distribution", Object.keys(SEARCH_DISTRIBUTIONS))).toEqual([]);
  });

  it("use comments, both arrows, chains broken before and after an arrow, and dims built from parameters", () => {
    expect(texts).toMatch(/#/);
    expect(texts).toMatch(/→/);
    expect(texts).toMatch(/^\s*->/m);
    expect(texts).toMatch(/->\s*$/m);
    expect(texts).toMatch(/\dx[a-z_(]/);
    expect(texts).toMatch(/\)x\(/);
  });
});

describe("docs/LANGUAGE.md", () => {
  const doc = readFileSync(fileURLToPath(new URL("../docs/LANGUAGE.md", import.meta.url)), "utf8");
  const fenced = fencedExamples(doc);

  it("has examples", () => {
    expect(fenced.length).toBeGreaterThanOrEqual(10);
  });

  it.each(fenced.map((text, i) => [i + 1, text.split("\n")[0], text] as const))("example %i (%s) parses and checks with no diagnostics", (_i, _first, text) => {
    expect(described(text)).toEqual([]);
  });

  it("lists every diagnostic code with its severity and title", () => {
    const rows = new Set(doc.split("\n").filter((l) => /^\| NN\d{4} \|/.test(l)).map((l) => l.trim()));
    const missing = Object.entries(CODES)
      .map(([code, info]) => `| ${code} | ${info.severity} | ${info.title} |`)
      .filter((row) => !rows.has(row));
    expect(missing).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// (b) The serialized Chevrotain grammar

describe("grammar/chevrotain-gast.json", () => {
  it("is the parser's current serialized grammar (if not, run `node grammar/update-gast.mjs` after building)", () => {
    const current = JSON.parse(JSON.stringify(new NnParser().getSerializedGastProductions())) as unknown;
    const stored = JSON.parse(read("chevrotain-gast.json")) as unknown;
    expect(stored, "grammar/chevrotain-gast.json is out of date: run `npx tsc -p tsconfig.json && node grammar/update-gast.mjs`").toEqual(current);
  });
});

// ---------------------------------------------------------------------------------------
// (c) The EBNF against the parser

interface Production {
  name: string;
  section: "lexical" | "syntactic" | "word-level";
  /** Names of other productions this one uses. */
  refs: string[];
  /** Quoted literals in it. */
  literals: string[];
}

/** Reads nn.ebnf: productions per section, with their references and literals. */
function readEbnf(text: string): Production[] {
  const headings = [...text.matchAll(/^\/\* ([123])\. (LEXICAL|SYNTACTIC|WORD-LEVEL) GRAMMAR\s*\*\/$/gm)];
  expect(headings.map((h) => h[2]), "nn.ebnf has its three section headings, in order").toEqual(["LEXICAL", "SYNTACTIC", "WORD-LEVEL"]);
  const out: Production[] = [];
  headings.forEach((h, i) => {
    const section = ({ LEXICAL: "lexical", SYNTACTIC: "syntactic", "WORD-LEVEL": "word-level" } as const)[h[2] as "LEXICAL"];
    const body = text.slice(h.index!, headings[i + 1]?.index ?? text.length).replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " "));
    const starts = [...body.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)\s*::=/gm)];
    starts.forEach((s, j) => {
      const rhs = body.slice(s.index! + s[0].length, starts[j + 1]?.index ?? body.length);
      out.push({ name: s[1]!, section, ...scanRhs(rhs) });
    });
  });
  return out;
}

/** The names and literals of a right-hand side, skipping character classes and #xN. */
function scanRhs(rhs: string): { refs: string[]; literals: string[] } {
  const refs: string[] = [];
  const literals: string[] = [];
  let i = 0;
  while (i < rhs.length) {
    const c = rhs[i]!;
    if (c === '"' || c === "'") {
      const close = rhs.indexOf(c, i + 1);
      literals.push(rhs.slice(i + 1, close));
      i = close + 1;
    } else if (c === "[") {
      i = rhs.indexOf("]", i + 1) + 1;
    } else if (c === "#" && rhs[i + 1] === "x") {
      i += 2;
      while (/[0-9A-Fa-f]/.test(rhs[i] ?? "")) i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rhs.slice(i))!;
      refs.push(m[0]);
      i += m[0].length;
    } else i++;
  }
  return { refs, literals };
}

interface GastNode {
  type: string;
  name?: string;
  label?: string;
  terminalLabel?: string;
  definition?: GastNode[];
  separator?: GastNode;
}

/** The rules and tokens a serialized rule uses (a labelled token by its label: `Project`, `Skip`). */
function gastUses(node: GastNode, acc = { rules: new Set<string>(), tokens: new Set<string>() }): { rules: Set<string>; tokens: Set<string> } {
  if (node.type === "NonTerminal") acc.rules.add(node.name!);
  if (node.type === "Terminal") acc.tokens.add(node.terminalLabel ?? node.name!);
  if (node.separator) gastUses(node.separator, acc);
  for (const child of node.definition ?? []) gastUses(child, acc);
  return acc;
}

/** The one token a literal of the EBNF lexes to. */
function tokenOf(literal: string): string[] {
  return lexTokens(literal).tokens.map((t) => t.tokenType.name);
}

describe("grammar/nn.ebnf", () => {
  const productions = readEbnf(ebnf);
  const defined = new Set(productions.map((p) => p.name));
  const syntactic = productions.filter((p) => p.section === "syntactic");
  const lexical = productions.filter((p) => p.section === "lexical");
  const gast = new NnParser().getSerializedGastProductions() as unknown as GastNode[];
  const parserRules = gast.map((r) => r.name!);

  it("defines every name once", () => {
    const names = productions.map((p) => p.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it("writes every rule of the parser as a syntactic production", () => {
    expect(parserRules.filter((r) => !syntactic.some((p) => p.name === r))).toEqual([]);
  });

  it("has no syntactic production the parser lacks", () => {
    expect(syntactic.map((p) => p.name).filter((n) => !parserRules.includes(n))).toEqual([]);
  });

  it("defines every token of the lexer in its lexical grammar", () => {
    expect(allTokens.map((t) => t.name).filter((t) => !lexical.some((p) => p.name === t))).toEqual([]);
  });

  it("defines every name it uses", () => {
    const undefinedRefs = productions.flatMap((p) => p.refs.filter((r) => !defined.has(r)).map((r) => `${p.name} uses ${r}`));
    expect(undefinedRefs).toEqual([]);
  });

  it("uses every lexical production that is not a token", () => {
    const tokens = new Set(allTokens.map((t) => t.name));
    const used = new Set(productions.flatMap((p) => p.refs));
    expect(lexical.filter((p) => !tokens.has(p.name) && !used.has(p.name)).map((p) => p.name)).toEqual([]);
  });

  it("writes each literal of the syntactic grammar as exactly one keyword or punctuation token", () => {
    const bad = syntactic.flatMap((p) => p.literals.filter((l) => {
      const toks = tokenOf(l);
      return toks.length !== 1 || toks[0] === "Ident";
    }));
    expect(bad).toEqual([]);
  });

  it.each(parserRules)("gives %s the same rules and tokens as the parser", (rule) => {
    const production = syntactic.find((p) => p.name === rule);
    expect(production).toBeDefined();
    const uses = gastUses(gast.find((r) => r.name === rule)!);
    const ebnfRules = new Set(production!.refs.filter((r) => parserRules.includes(r)));
    const ebnfTokens = new Set([...production!.refs.filter((r) => !parserRules.includes(r)), ...production!.literals.flatMap(tokenOf)]);
    expect([...ebnfRules].sort()).toEqual([...uses.rules].sort());
    expect([...ebnfTokens].sort()).toEqual([...uses.tokens].sort());
  });
});

// ---------------------------------------------------------------------------------------
// (d, e) The TextMate grammar, run by a small tokenizer on JavaScript regexes

interface TmCaptures {
  [group: string]: { name?: string };
}
interface TmRule {
  name?: string;
  contentName?: string;
  match?: string;
  begin?: string;
  end?: string;
  captures?: TmCaptures;
  beginCaptures?: TmCaptures;
  endCaptures?: TmCaptures;
  patterns?: TmRule[];
  include?: string;
  comment?: string;
}
interface TmGrammar {
  name: string;
  scopeName: string;
  fileTypes: string[];
  patterns: TmRule[];
  repository: Record<string, TmRule>;
}
interface ScopedToken {
  line: number;
  start: number;
  end: number;
  text: string;
  scopes: string[];
}

/** Oniguruma features JavaScript lacks (or reads differently): none may appear. */
const UNSUPPORTED: [RegExp, string][] = [
  [/\\[hHGAzZK]/, "\\h, \\G, \\A, \\z, \\Z or \\K"],
  [/[*+?}]\+/, "a possessive quantifier"],
  [/\(\?>/, "an atomic group"],
  [/\(\?[imx-]+[:)]/, "an inline option"],
  [/\(\?<[A-Za-z]/, "a named group"],
  [/\\p\{/, "a Unicode property"],
  [/\[\[:/, "a POSIX bracket"],
];

/** The small conversion: refuse what JavaScript reads differently, then compile. */
function toJsRegExp(source: string): RegExp {
  for (const [pattern, what] of UNSUPPORTED) {
    if (pattern.test(source)) throw new Error(`${JSON.stringify(source)} uses ${what}, which JavaScript's RegExp does not share with Oniguruma`);
  }
  // g: search from lastIndex; d: capture offsets; m: ^ and $ at line ends, as in Oniguruma.
  return new RegExp(source, "dgm");
}

class Highlighter {
  private readonly cache = new Map<string, RegExp>();
  constructor(private readonly grammar: TmGrammar) {}

  regex(source: string): RegExp {
    let re = this.cache.get(source);
    if (!re) this.cache.set(source, (re = toJsRegExp(source)));
    return re;
  }

  /** A list of patterns with includes resolved to the rules that match or begin. */
  private flatten(patterns: TmRule[], seen = new Set<TmRule>()): TmRule[] {
    const out: TmRule[] = [];
    for (const p of patterns) {
      let rule = p;
      if (p.include) {
        if (!p.include.startsWith("#")) throw new Error(`include ${p.include}: only #repository includes are used`);
        rule = this.grammar.repository[p.include.slice(1)]!;
        if (!rule) throw new Error(`include ${p.include}: no such repository entry`);
      }
      if (rule.match !== undefined || rule.begin !== undefined) out.push(rule);
      else if (!seen.has(rule)) {
        seen.add(rule);
        out.push(...this.flatten(rule.patterns ?? [], seen));
      }
    }
    return out;
  }

  tokenize(text: string): ScopedToken[] {
    interface Frame {
      rule?: TmRule;
      patterns: TmRule[];
      scopes: string[];
    }
    const root: Frame = { patterns: this.flatten(this.grammar.patterns), scopes: [this.grammar.scopeName] };
    const stack: Frame[] = [root];
    const tokens: ScopedToken[] = [];
    const lines = text.split(/\r?\n/);
    lines.forEach((lineText, lineNo) => {
      const line = lineText + "\n"; // as vscode-textmate does
      const emit = (start: number, end: number, scopes: string[]): void => {
        const e = Math.min(end, lineText.length);
        if (e > start) tokens.push({ line: lineNo, start, end: e, text: lineText.slice(start, e), scopes });
      };
      const emitMatch = (m: RegExpExecArray, base: string[], captures: TmCaptures | undefined): void => {
        const end = m.index + m[0].length;
        let runStart = m.index;
        let runScopes: string[] | undefined;
        for (let at = m.index; at <= end; at++) {
          let scopes: string[] | undefined;
          if (at < end) {
            scopes = [...base];
            for (let g = 0; g < m.length; g++) {
              const name = captures?.[String(g)]?.name;
              const span = m.indices![g];
              if (name && span && span[0] <= at && at < span[1]) scopes.push(name);
            }
          }
          if (runScopes && (!scopes || scopes.join(" ") !== runScopes.join(" "))) {
            emit(runStart, at, runScopes);
            runStart = at;
          }
          if (!runScopes || !scopes || scopes.join(" ") !== runScopes.join(" ")) runScopes = scopes;
        }
      };
      let pos = 0;
      let stuck = 0;
      while (pos < line.length) {
        const frame = stack[stack.length - 1]!;
        let best: { m: RegExpExecArray; rule?: TmRule } | undefined;
        if (frame.rule?.end !== undefined) {
          const re = this.regex(frame.rule.end);
          re.lastIndex = pos;
          const m = re.exec(line);
          if (m) best = { m };
        }
        for (const rule of frame.patterns) {
          const re = this.regex((rule.match ?? rule.begin)!);
          re.lastIndex = pos;
          const m = re.exec(line);
          if (m && (!best || m.index < best.m.index)) best = { m, rule };
        }
        if (!best) {
          emit(pos, line.length, frame.scopes);
          break;
        }
        emit(pos, best.m.index, frame.scopes);
        const end = best.m.index + best.m[0].length;
        const rule = best.rule;
        if (!rule) {
          emitMatch(best.m, frame.scopes, frame.rule!.endCaptures ?? frame.rule!.captures);
          stack.pop();
        } else {
          const scopes = rule.name ? [...frame.scopes, rule.name] : frame.scopes;
          if (rule.match !== undefined) {
            if (end === best.m.index) throw new Error(`the match ${rule.match} matched nothing at line ${lineNo + 1}`);
            emitMatch(best.m, scopes, rule.captures);
          } else {
            emitMatch(best.m, scopes, rule.beginCaptures ?? rule.captures);
            stack.push({ rule, patterns: this.flatten(rule.patterns ?? []), scopes: rule.contentName ? [...scopes, rule.contentName] : scopes });
          }
        }
        stuck = end === pos ? stuck + 1 : 0;
        if (stuck > 50) throw new Error(`no progress at line ${lineNo + 1}, column ${pos + 1}`);
        pos = end;
      }
    });
    return tokens;
  }
}

const tmGrammar = JSON.parse(read("nn.tmLanguage.json")) as TmGrammar;
const highlighter = new Highlighter(tmGrammar);

/** The scopes of the `occurrence`-th appearance of `needle` (its first character). */
function scopesOf(text: string, needle: string, occurrence = 0): string[] {
  let offset = -1;
  for (let i = 0; i <= occurrence; i++) offset = text.indexOf(needle, offset + 1);
  if (offset < 0) throw new Error(`${needle} is not in the text`);
  const before = text.slice(0, offset).split("\n");
  const line = before.length - 1;
  const column = before[before.length - 1]!.length;
  const token = highlighter.tokenize(text).find((t) => t.line === line && t.start <= column && column < t.end);
  return token?.scopes ?? [];
}

/** The innermost scope of each token of `needle` on its line: `5x5` → 5 numeric, x operator, 5 numeric. */
function tokensOf(text: string, needle: string): [string, string | undefined][] {
  const offset = text.indexOf(needle);
  const before = text.slice(0, offset).split("\n");
  const line = before.length - 1;
  const column = before[before.length - 1]!.length;
  return highlighter
    .tokenize(text)
    .filter((t) => t.line === line && t.end > column && t.start < column + needle.length)
    .map((t) => [t.text, t.scopes[t.scopes.length - 1]]);
}

const inModel = (line: string): string => `model m {\n  input 28x28x1\n  ${line}\n}\n`;
const inRecipe = (line: string): string => `train m {\n  ${line}\n}\n`;
const inSearch = (line: string): string => `search m random 10 {\n  ${line}\n}\n`;

describe("grammar/nn.tmLanguage.json", () => {
  it("is the grammar of source.nn for .nn files", () => {
    expect(tmGrammar.scopeName).toBe("source.nn");
    expect(tmGrammar.fileTypes).toEqual(["nn"]);
  });

  it("keeps every regex to the subset JavaScript and Oniguruma share", () => {
    const sources: string[] = [];
    const visit = (rule: TmRule): void => {
      for (const s of [rule.match, rule.begin, rule.end]) if (s !== undefined) sources.push(s);
      rule.patterns?.forEach(visit);
    };
    tmGrammar.patterns.forEach(visit);
    Object.values(tmGrammar.repository).forEach(visit);
    expect(sources.length).toBeGreaterThan(20);
    for (const s of sources) expect(() => highlighter.regex(s), s).not.toThrow();
  });

  it("refuses the Oniguruma-only constructs in the conversion", () => {
    for (const s of ["\\h+", "a++", "(?>a)", "\\Gx", "(?i:a)"]) expect(() => toJsRegExp(s), s).toThrow();
  });

  describe("covers the vocabulary", () => {
    it.each(KEYWORDS.filter((k) => k === "model" || k === "block" || k === "train" || k === "search"))("highlights %s as a keyword and the name after it as a type", (k) => {
      const text = `${k} net {\n}\n`;
      expect(scopesOf(text, k)).toContain("keyword.control.declaration.nn");
      expect(scopesOf(text, "net")).toContain("entity.name.type.nn");
    });

    it.each(KEYWORDS.filter((k) => k === "repeat" || k === "residual"))("highlights %s as a keyword", (k) => {
      expect(scopesOf(inModel(`${k} 2 { dense 4 }`), k).some((s) => s.startsWith("keyword.control."))).toBe(true);
    });

    it.each(CONTEXTUAL_KEYWORDS)("highlights the contextual keyword %s", (k) => {
      const text = inModel(k === "project" ? "residual project { dense 4 }" : "residual { dense 4 } skip { dense 4 }");
      expect(scopesOf(text, k)).toContain("keyword.control.contextual.nn");
    });

    it.each(Object.keys(LAYER_KINDS))("highlights the layer kind %s", (kind) => {
      expect(scopesOf(inModel(`${kind} 3`), kind)).toContain("support.function.layer.nn");
    });

    it.each(Object.keys(ACTIVATIONS))("highlights the activation %s, trailing and on its own", (a) => {
      expect(scopesOf(inModel(`dense 4 ${a}`), a)).toContain("support.function.activation.nn");
      expect(scopesOf(inModel(`-> ${a}(2)`), a)).toContain("support.function.activation.nn");
    });

    it.each(Object.keys(INITIALIZERS))("highlights the initialiser %s", (i) => {
      expect(scopesOf(inModel(`dense 4 init ${i}`), i)).toContain("support.constant.initializer.nn");
    });

    const options = [...new Set(Object.values(LAYER_KINDS).flatMap((k) => Object.keys(k.options)))];
    it.each(options)("highlights the option word %s", (o) => {
      expect(scopesOf(inModel(`conv 3x3x8 ${o}`), o)).toContain("variable.parameter.option.nn");
    });

    it.each(Object.keys(RECIPE_SETTINGS))("highlights the recipe setting %s", (s) => {
      expect(scopesOf(inRecipe(`${s} 1`), s)).toContain("keyword.other.setting.nn");
    });

    it.each(Object.keys(SEARCH_SETTINGS))("highlights the search setting %s", (s) => {
      expect(scopesOf(inSearch(`${s} 1`), s)).toContain("keyword.other.setting.nn");
    });

    const constants: [string, readonly string[], (w: string) => string, string][] = [
      ["optimizer", Object.keys(OPTIMIZERS), (w) => `optim ${w}(0.9) lr 1e-3`, "support.constant.optimizer.nn"],
      ["loss", Object.keys(LOSSES), (w) => `loss ${w}`, "support.constant.loss.nn"],
      ["schedule", SCHEDULES, (w) => `schedule ${w}`, "support.constant.schedule.nn"],
      ["data source", DATA_SOURCES, (w) => `data ${w}(train: 10)`, "support.constant.data-source.nn"],
      ["normalisation", NORMALIZATIONS, (w) => `normalize ${w}`, "support.constant.normalization.nn"],
      ["augmentation", AUGMENTATIONS, (w) => `augment ${w} horizontal`, "support.constant.augmentation.nn"],
      ["metric", METRICS, (w) => `checkpoint best ${w}`, "support.constant.metric.nn"],
    ];
    it.each(constants.flatMap(([what, words, line, scope]) => words.map((w) => [what, w, line, scope] as const)))("highlights the %s %s", (_what, word, line, scope) => {
      expect(scopesOf(inRecipe(line(word)), word, 0)).toContain(scope);
    });

    it.each(Object.keys(SEARCH_DISTRIBUTIONS))("highlights the distribution %s", (d) => {
      expect(scopesOf(inSearch(`lr ~ ${d}(1, 2)`), d)).toContain("support.function.distribution.nn");
    });
  });

  describe("on sample lines", () => {
    const cnn = "model cnn {\n  input 28x28x1   # x\n  conv 5x5x32 relu same -> pool 2\n  conv 3x3xc → leaky_relu(0.1)\n  basic(64, stride: 2)\n}\n";

    it("gives `conv` a layer-kind scope and `relu` an activation scope", () => {
      expect(scopesOf(cnn, "conv")).toContain("support.function.layer.nn");
      expect(scopesOf(cnn, "relu")).toContain("support.function.activation.nn");
      expect(scopesOf(cnn, "leaky_relu")).toContain("support.function.activation.nn");
    });

    it("reads `# x` as a comment", () => {
      expect(scopesOf(cnn, "# x")).toContain("comment.line.number-sign.nn");
      expect(scopesOf(cnn, "x", 2)).toContain("comment.line.number-sign.nn");
    });

    it("reads `5x5x32` as numbers joined by the dimension operator", () => {
      expect(tokensOf(cnn, "5x5x32")).toEqual([
        ["5", "constant.numeric.nn"],
        ["x", "keyword.operator.dimension.nn"],
        ["5", "constant.numeric.nn"],
        ["x", "keyword.operator.dimension.nn"],
        ["32", "constant.numeric.nn"],
      ]);
    });

    it("reads `3x3xc` as dimensions ending in a parameter", () => {
      expect(tokensOf(cnn, "3x3xc")).toEqual([
        ["3", "constant.numeric.nn"],
        ["x", "keyword.operator.dimension.nn"],
        ["3", "constant.numeric.nn"],
        ["x", "keyword.operator.dimension.nn"],
        ["c", "variable.other.nn"],
      ]);
    });

    it("reads both arrows, option words and block calls", () => {
      expect(scopesOf(cnn, "->")).toContain("keyword.operator.arrow.nn");
      expect(scopesOf(cnn, "→")).toContain("keyword.operator.arrow.nn");
      expect(scopesOf(cnn, "same")).toContain("variable.parameter.option.nn");
      expect(scopesOf(cnn, "basic")).toContain("entity.name.function.block.nn");
      expect(scopesOf(cnn, "stride")).toContain("variable.parameter.argument.nn");
    });

    it("reads merges, their branches over several lines, kept tensors and `keep`", () => {
      const text = inModel(
        [
          "keep e1",
          "  concat { conv 1x1x8 relu }",
          "         # between branches",
          "         { conv 3x3x8 same } e1 name mixed -> relu",
          "  add { } { dense 4 }",
          "  multiply { global avgpool -> dense 4 sigmoid }",
          "  concat e1",
          "  repeat 2 concat { dense 4 }",
          "  dense 4 name add",
        ].join("\n"),
      );
      for (const [word, occurrence] of [["concat", 0], ["add", 0], ["multiply", 0], ["concat", 1], ["concat", 2]] as const) {
        expect(scopesOf(text, word, occurrence), `${word} #${occurrence}`).toContain("keyword.control.merge.nn");
      }
      expect(scopesOf(text, "keep")).toContain("keyword.control.keep.nn");
      expect(scopesOf(text, "e1")).toContain("variable.other.kept.nn");
      expect(scopesOf(text, "e1", 1)).toContain("variable.other.kept.nn");
      expect(scopesOf(text, "e1", 2)).toContain("variable.other.kept.nn");
      expect(scopesOf(text, "# between")).toContain("comment.line.number-sign.nn");
      expect(scopesOf(text, "conv", 1)).toContain("support.function.layer.nn");
      expect(scopesOf(text, "name mixed")).toContain("variable.parameter.option.nn");
      expect(scopesOf(text, "mixed")).not.toContain("variable.other.kept.nn");
      expect(scopesOf(text, "relu", 1)).toContain("support.function.activation.nn");
      expect(scopesOf(text, "dense", 1)).toContain("support.function.layer.nn");
      expect(scopesOf(text, "sigmoid")).toContain("support.function.activation.nn");
      expect(scopesOf(text, "repeat")).toContain("keyword.control.repeat.nn");
      expect(scopesOf(text, "2 concat")).toContain("constant.numeric.nn");
      // A layer named `add` is a name, not a merge.
      expect(scopesOf(text, "add", 1)).not.toContain("keyword.control.merge.nn");
    });

    it("does not see a number in a name such as `conv1`", () => {
      expect(tokensOf(inModel("dense 4 name conv1"), "conv1")).toEqual([["conv1", "variable.other.nn"]]);
    });

    it("reads a parameter list, a string and a search variable", () => {
      const text = 'block basic(c, stride = 1) {\n  dense c\n}\ntrain m {\n  pretrained "a\\"b.json"\n}\nsearch m random 5 {\n  lr ~ loguniform(1e-4, 1e-1)\n}\n';
      expect(scopesOf(text, "c,")).toContain("variable.parameter.nn");
      expect(scopesOf(text, "stride")).toContain("variable.parameter.nn");
      expect(scopesOf(text, '"a')).toContain("string.quoted.double.nn");
      expect(scopesOf(text, '\\"')).toContain("constant.character.escape.nn");
      expect(scopesOf(text, "lr")).toContain("variable.other.search.nn");
      expect(scopesOf(text, "~")).toContain("keyword.operator.tilde.nn");
      expect(scopesOf(text, "1e-4")).toContain("constant.numeric.nn");
      expect(scopesOf(text, "random")).toContain("keyword.other.strategy.nn");
    });

    it("tells a recipe setting from the same word as a value", () => {
      const text = inRecipe("loss crossentropy\n  early_stop loss patience 3");
      expect(scopesOf(text, "loss")).toContain("keyword.other.setting.nn");
      expect(scopesOf(text, "loss", 1)).toContain("support.constant.metric.nn");
      expect(scopesOf(text, "patience")).toContain("keyword.other.nn");
    });

    it("reads a keyword used as a name, or as an argument name, as such", () => {
      const text = "model block {\n  input 4\n}\ntrain block {\n  data mnist(train: 10)\n}\n";
      expect(scopesOf(text, "block")).toContain("entity.name.type.nn");
      expect(scopesOf(text, "block", 1)).toContain("entity.name.type.nn");
      expect(scopesOf(text, "train", 1)).toContain("variable.parameter.argument.nn");
    });
  });

  describe.each(exampleNames)("on %s", (name) => {
    const text = examples.find((e) => e.name === name)!.text;
    const tokens = highlighter.tokenize(text);
    const lineStarts = [0];
    for (let i = 0; i < text.length; i++) if (text[i] === "\n") lineStarts.push(i + 1);
    const scopesAt = (offset: number): string[] => {
      let line = lineStarts.findIndex((s) => s > offset) - 1;
      if (line < 0) line = lineStarts.length - 1;
      const column = offset - lineStarts[line]!;
      return tokens.find((t) => t.line === line && t.start <= column && column < t.end)?.scopes ?? [];
    };
    const lexed = lexTokens(text);

    it("agrees with the lexer on comments, strings, numbers, dimensions and arrows", () => {
      const expected: Record<string, string> = {
        Comment: "comment.line.number-sign.nn",
        String: "string.quoted.double.nn",
        Number: "constant.numeric.nn",
        DimX: "keyword.operator.dimension.nn",
        Arrow: "keyword.operator.arrow.nn",
      };
      const disagreements = [...lexed.tokens, ...lexed.comments]
        .filter((t) => expected[t.tokenType.name])
        .filter((t) => !scopesAt(t.startOffset).includes(expected[t.tokenType.name]!))
        .map((t) => `${t.startLine}:${t.startColumn} ${t.image} is not ${expected[t.tokenType.name]}`);
      expect(disagreements).toEqual([]);
    });

    it("highlights each keyword as a keyword, unless it is a name", () => {
      const toks = lexed.tokens;
      const disagreements = toks
        .map((t, i) => ({ t, prev: toks[i - 1], next: toks[i + 1] }))
        .filter(({ t }) => (KEYWORDS as readonly string[]).includes(t.image) && t.tokenType.name !== "Ident")
        .filter(({ t, prev, next }) => {
          const scopes = scopesAt(t.startOffset);
          const isName = prev !== undefined && (KEYWORDS as readonly string[]).slice(0, 4).includes(prev.image) && prev.tokenType.name !== "Ident";
          const isArgName = next?.tokenType.name === "Colon";
          if (isName) return !scopes.includes("entity.name.type.nn");
          if (isArgName) return !scopes.includes("variable.parameter.argument.nn");
          return !scopes.some((s) => s.startsWith("keyword.control."));
        })
        .map(({ t }) => `${t.startLine}:${t.startColumn} ${t.image}`);
      expect(disagreements).toEqual([]);
    });

    it("gives each layer its layer-kind scope", () => {
      const ast = checkText(text).ast;
      const offsets: number[] = [];
      const walk = (items: AstItem[]): void => {
        for (const item of items) {
          if (item.kind === "layer") offsets.push(item.op.range.start.offset);
          for (const body of childBodies(item)) walk(body);
        }
      };
      for (const d of ast.declarations) if (d.kind === "model" || d.kind === "block") walk(d.body);
      const wrong = offsets.filter((o) => !scopesAt(o).some((s) => s === "support.function.layer.nn" || s === "support.function.activation.nn"));
      expect(wrong.map((o) => text.slice(o, o + 12))).toEqual([]);
    });
  });
});
