#!/usr/bin/env node
/**
 * Copies the repository's TextMate grammar (grammar/nn.tmLanguage.json) to the path the
 * extension's manifest names in `contributes.grammars` (under out/, which is built and not
 * checked in): a packaged extension can hold only files inside its own folder, and one
 * grammar file stays the source of truth. Run by `npm run compile` and `vscode:prepublish`.
 *
 * Before copying it checks that the manifest's scopeName and file extensions agree with the
 * grammar's, and exits 1 with a message if not.
 *
 *   node scripts/copy-grammar.mjs [--root DIR] [--manifest FILE]
 *
 * --root: the folder the manifest's paths are read from (default: this extension's folder);
 * --manifest: the package.json to read (default: this extension's). The tests use both to
 * copy into a temporary folder.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const extensionDir = fileURLToPath(new URL("..", import.meta.url));
const source = fileURLToPath(new URL("../../../grammar/nn.tmLanguage.json", import.meta.url));

function fail(message) {
  process.stderr.write(`copy-grammar: ${message}\n`);
  process.exit(1);
}

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const value = process.argv[i + 1];
  if (value === undefined || value.startsWith("--")) fail(`${name} needs a value.`);
  return resolve(value);
}

const root = option("--root", extensionDir);
const manifestPath = option("--manifest", join(extensionDir, "package.json"));

let manifest;
try {
  manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
} catch (e) {
  fail(`cannot read the manifest ${manifestPath}: ${e instanceof Error ? e.message : String(e)}`);
}
const text = readFileSync(source, "utf8");
let grammar;
try {
  grammar = JSON.parse(text);
} catch (e) {
  fail(`${source} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
}

const grammars = manifest?.contributes?.grammars;
if (!Array.isArray(grammars) || grammars.length !== 1) fail(`${manifestPath} must contribute exactly one grammar.`);
const entry = grammars[0];
if (entry.scopeName !== grammar.scopeName) fail(`the manifest's grammar scopeName is ${JSON.stringify(entry.scopeName)}, but ${source} has ${JSON.stringify(grammar.scopeName)}.`);
const language = (manifest.contributes.languages ?? []).find((l) => l.id === entry.language);
if (language === undefined) fail(`the grammar's language ${JSON.stringify(entry.language)} is not among the manifest's languages.`);
const extensions = [...(language.extensions ?? [])].sort();
const fileTypes = (grammar.fileTypes ?? []).map((t) => `.${t}`).sort();
if (JSON.stringify(extensions) !== JSON.stringify(fileTypes)) fail(`the language's extensions ${JSON.stringify(extensions)} differ from the grammar's fileTypes ${JSON.stringify(fileTypes)}.`);
if (typeof entry.path !== "string" || isAbsolute(entry.path)) fail(`the grammar path must be relative to the extension, not ${JSON.stringify(entry.path)}.`);

const target = resolve(root, entry.path);
if (relative(root, target).startsWith("..")) fail(`the grammar path ${entry.path} leaves the extension's folder.`);
mkdirSync(dirname(target), { recursive: true });
const temporary = `${target}.${process.pid}.tmp`;
writeFileSync(temporary, text);
renameSync(temporary, target);
process.stdout.write(`copied ${relative(process.cwd(), source) || source} to ${relative(process.cwd(), target) || target}\n`);
