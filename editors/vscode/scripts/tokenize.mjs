#!/usr/bin/env node
/**
 * Runs grammar/nn.tmLanguage.json the way VS Code does — vscode-textmate with the Oniguruma
 * regex engine (vscode-oniguruma) — which test/grammar.test.ts only imitates with
 * JavaScript's RegExp. Needs this folder's devDependencies (`npm install` here).
 *
 *   node scripts/tokenize.mjs FILE...   print each line's tokens and their scopes
 *   node scripts/tokenize.mjs --check   tokenize every specs/*.nn and grammar/examples/*.nn and
 *                                       compare with nnc's own lexer (dist/, from `npm run build`
 *                                       at the repository root): comments, strings, numbers,
 *                                       arrows, the `x` of dimensions and the keywords must get
 *                                       their scopes, and every file must end with every rule
 *                                       closed. Exits 1 on a difference.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import oniguruma from "vscode-oniguruma";
import textmate from "vscode-textmate";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const grammarPath = join(repo, "grammar", "nn.tmLanguage.json");

const wasm = readFileSync(fileURLToPath(new URL("../node_modules/vscode-oniguruma/release/onig.wasm", import.meta.url)));
await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));

const registry = new textmate.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
    createOnigString: (text) => new oniguruma.OnigString(text),
  }),
  loadGrammar: async (scopeName) => (scopeName === "source.nn" ? textmate.parseRawGrammar(readFileSync(grammarPath, "utf8"), grammarPath) : null),
});
const grammar = await registry.loadGrammar("source.nn");
if (grammar === null) throw new Error(`could not load ${grammarPath}`);

/** Every token of `text`: `{ line, start, end, text, scopes }`, and the rule stack's depth at the end. */
function tokenize(text) {
  const tokens = [];
  let state = textmate.INITIAL;
  text.split(/\r?\n/).forEach((lineText, line) => {
    const result = grammar.tokenizeLine(lineText, state);
    for (const t of result.tokens) tokens.push({ line, start: t.startIndex, end: t.endIndex, text: lineText.slice(t.startIndex, t.endIndex), scopes: t.scopes });
    state = result.ruleStack;
  });
  return { tokens, depth: state.depth };
}

if (!process.argv.includes("--check")) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    process.stderr.write("usage: node scripts/tokenize.mjs FILE... | --check\n");
    process.exit(2);
  }
  for (const file of files) {
    const { tokens } = tokenize(readFileSync(file, "utf8"));
    process.stdout.write(`${file}\n`);
    for (const t of tokens) if (t.text.trim() !== "") process.stdout.write(`${t.line + 1}:${t.start + 1}\t${JSON.stringify(t.text)}\t${t.scopes.slice(1).join(" ")}\n`);
  }
  process.exit(0);
}

const lexerPath = join(repo, "dist", "src", "parser", "lexer.js");
if (!existsSync(lexerPath)) {
  process.stderr.write(`tokenize --check needs nnc's lexer at ${lexerPath}: run \`npm run build\` at the repository root.\n`);
  process.exit(2);
}
const { lexTokens } = await import(pathToFileURL(lexerPath).href);

/** The scope each kind of lexer token must carry under the grammar. */
const expected = {
  Comment: (s) => s.includes("comment.line.number-sign.nn"),
  String: (s) => s.includes("string.quoted.double.nn"),
  Number: (s) => s.includes("constant.numeric.nn"),
  Arrow: (s) => s.includes("keyword.operator.arrow.nn"),
  DimX: (s) => s.includes("keyword.operator.dimension.nn"),
  Model: (s) => s.includes("keyword.control.declaration.nn"),
  Block: (s) => s.includes("keyword.control.declaration.nn"),
  Train: (s) => s.includes("keyword.control.declaration.nn"),
  Search: (s) => s.includes("keyword.control.declaration.nn"),
  Repeat: (s) => s.some((x) => x.startsWith("keyword.control.")),
  Residual: (s) => s.some((x) => x.startsWith("keyword.control.")),
};

const files = [
  ...readdirSync(join(repo, "specs")).filter((f) => f.endsWith(".nn")).map((f) => join(repo, "specs", f)),
  ...readdirSync(join(repo, "grammar", "examples")).filter((f) => f.endsWith(".nn")).map((f) => join(repo, "grammar", "examples", f)),
].sort();

let problems = 0;
let checked = 0;
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const { tokens, depth } = tokenize(text);
  const name = relative(repo, file);
  if (depth !== 1) {
    problems++;
    process.stdout.write(`${name}: a rule is still open at the end of the file (stack depth ${depth})\n`);
  }
  const lexed = lexTokens(text);
  const declarations = new Set(["Model", "Block", "Train", "Search"]);
  for (const token of [...lexed.tokens, ...lexed.comments]) {
    const wants = expected[token.tokenType.name];
    if (wants === undefined) continue;
    // A keyword is also a name: `model block {`, `mnist(train: 8000)`. Those are names here.
    const i = lexed.tokens.indexOf(token);
    const before = lexed.tokens[i - 1]?.tokenType.name;
    const after = lexed.tokens[i + 1]?.tokenType.name;
    if (i >= 0 && declarations.has(token.tokenType.name) && (declarations.has(before) || after === "Colon")) continue;
    const line = token.startLine - 1;
    const column = token.startColumn - 1;
    // Every grammar token inside the lexer token's span (a comment spans several).
    const covering = tokens.filter((t) => t.line === line && t.end > column && t.start < column + token.image.length);
    checked++;
    const wrong = covering.filter((t) => !wants(t.scopes));
    if (covering.length === 0 || wrong.length > 0) {
      problems++;
      const seen = (wrong[0] ?? covering[0])?.scopes.slice(1).join(" ") ?? "no token";
      process.stdout.write(`${name}:${line + 1}:${column + 1}: the lexer's ${token.tokenType.name} ${JSON.stringify(token.image)} is scoped ${seen}\n`);
    }
  }
}
process.stdout.write(`${files.length} files, ${checked} lexer tokens compared with Oniguruma's scopes: ${problems === 0 ? "all agree" : `${problems} differences`}.\n`);
process.exit(problems === 0 ? 0 : 1);
