/**
 * The VS Code extension in editors/vscode, checked without installing it (a fresh clone has
 * no editors/vscode/node_modules): its manifest points at files that exist or that its copy
 * script produces from grammar/, its language configuration agrees with nnc's lexer and
 * vocabulary, and it finds and starts `nnc lsp --stdio`. With editors/vscode/node_modules
 * present it is also type-checked.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { findServer, INSTALL_HINT, realFileKind, SERVER_ARGS, type FileKind, type ServerLookup } from "../editors/vscode/src/server-command.js";
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
import { lexTokens } from "../src/parser/lexer.js";

const repo = fileURLToPath(new URL("../", import.meta.url));
const extensionDir = join(repo, "editors", "vscode");
const readJson = (file: string): unknown => JSON.parse(readFileSync(file, "utf8"));
const extensionSource = readFileSync(join(extensionDir, "src", "extension.ts"), "utf8");
const grammarFile = join(repo, "grammar", "nn.tmLanguage.json");
const grammar = readJson(grammarFile) as { scopeName: string; fileTypes: string[] };

interface Manifest {
  name: string;
  publisher: string;
  engines: { vscode: string };
  main: string;
  activationEvents: string[];
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  contributes: {
    languages: { id: string; extensions: string[]; aliases: string[]; configuration: string }[];
    grammars: { language: string; scopeName: string; path: string }[];
    commands: { command: string; title: string }[];
    configuration: { properties: Record<string, { type: string; default: unknown; enum?: string[]; items?: { type: string } }> };
  };
}
const manifest = readJson(join(extensionDir, "package.json")) as Manifest;

interface LanguageConfiguration {
  comments: { lineComment: string; blockComment?: [string, string] };
  brackets: [string, string][];
  colorizedBracketPairs: [string, string][];
  autoClosingPairs: { open: string; close: string; notIn?: string[] }[];
  surroundingPairs: [string, string][];
  wordPattern: string;
  indentationRules: { increaseIndentPattern: string; decreaseIndentPattern: string };
  folding: { markers: { start: string; end: string } };
}
const languageConfiguration = readJson(join(extensionDir, "language-configuration.json")) as LanguageConfiguration;

const temporary: string[] = [];
function temporaryDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "nnc-vscode-"));
  temporary.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

/** The shipped specs and grammar examples (not specs/wrong), with their text. */
const shippedSpecs = [
  ...readdirSync(join(repo, "specs")).filter((f) => f.endsWith(".nn")).map((f) => join("specs", f)),
  ...readdirSync(join(repo, "grammar", "examples")).filter((f) => f.endsWith(".nn")).map((f) => join("grammar", "examples", f)),
].map((name) => ({ name, text: readFileSync(join(repo, name), "utf8") }));

function runCopyGrammar(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(extensionDir, "scripts", "copy-grammar.mjs"), ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A .vscodeignore / .gitignore glob as a RegExp over a path relative to the extension. */
function globToRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (glob.startsWith("**/", i)) {
      source += "(?:.*/)?";
      i += 2;
    } else if (glob.startsWith("**", i)) {
      source += ".*";
      i += 1;
    } else if (c === "*") source += "[^/]*";
    else source += c.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source.replace(/^\//, "")}(?:/.*)?$`);
}

describe("the extension's manifest (editors/vscode/package.json)", () => {
  it("names the extension, its VS Code version and its entry point built from src/extension.ts", () => {
    expect(manifest.name).toBe("nnc-vscode");
    expect(manifest.publisher).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    expect(manifest.engines.vscode).toBe("^1.82.0");
    const tsconfig = readJson(join(extensionDir, "tsconfig.json")) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(manifest.main).toBe(`./${tsconfig.compilerOptions.outDir}/extension.js`);
    expect(existsSync(join(extensionDir, tsconfig.compilerOptions.rootDir, "extension.ts"))).toBe(true);
    expect(manifest.scripts["vscode:prepublish"]).toBe("npm run compile");
    expect(manifest.scripts["compile"]).toBe("node scripts/copy-grammar.mjs && tsc -p .");
  });

  it("depends on a language client and VS Code typings no newer than the VS Code it asks for", () => {
    expect(manifest.dependencies["vscode-languageclient"]).toMatch(/^\^9\./);
    // vsce refuses a package whose @types/vscode is newer than engines.vscode.
    expect(manifest.devDependencies["@types/vscode"]).toMatch(/^\^?1\.82(?:\.\d+)?$/);
  });

  it("activates on the nn language, which it contributes for .nn files with its configuration", () => {
    expect(manifest.activationEvents).toEqual(["onLanguage:nn"]);
    expect(manifest.contributes.languages).toHaveLength(1);
    const language = manifest.contributes.languages[0]!;
    expect(language.id).toBe("nn");
    expect(language.extensions).toEqual(grammar.fileTypes.map((t) => `.${t}`));
    expect(language.aliases.length).toBeGreaterThan(0);
    expect(existsSync(join(extensionDir, language.configuration))).toBe(true);
  });

  it("contributes grammar/nn.tmLanguage.json under its own scope name, from the build output", () => {
    expect(manifest.contributes.grammars).toEqual([{ language: "nn", scopeName: grammar.scopeName, path: "./out/syntaxes/nn.tmLanguage.json" }]);
  });

  it("contributes the settings the extension reads, with their types and defaults", () => {
    const properties = manifest.contributes.configuration.properties;
    expect(Object.keys(properties).sort()).toEqual(["nnc.server.args", "nnc.server.path", "nnc.trace.server"]);
    expect(properties["nnc.server.path"]).toMatchObject({ type: "string", default: "" });
    expect(properties["nnc.server.args"]).toMatchObject({ type: "array", items: { type: "string" }, default: [] });
    expect(properties["nnc.trace.server"]).toMatchObject({ type: "string", enum: ["off", "messages", "verbose"], default: "off" });
    expect(extensionSource).toContain('getConfiguration("nnc.server")');
    expect(extensionSource).toContain('config.get<string>("path")');
    expect(extensionSource).toContain('config.get<unknown>("args")');
  });

  it("contributes exactly the commands the extension registers", () => {
    const registered = [...extensionSource.matchAll(/registerCommand\("([^"]+)"/g)].map((m) => m[1]).sort();
    expect(registered).toContain("nnc.restartServer");
    expect(manifest.contributes.commands.map((c) => c.command).sort()).toEqual(registered);
  });
});

describe("scripts/copy-grammar.mjs", () => {
  it("writes grammar/nn.tmLanguage.json, unchanged, where the manifest's grammar path points", () => {
    const root = temporaryDir();
    const result = runCopyGrammar("--root", root);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(readFileSync(join(root, manifest.contributes.grammars[0]!.path), "utf8")).toBe(readFileSync(grammarFile, "utf8"));
  });

  it("refuses a manifest whose scopeName is not the grammar's", () => {
    const dir = temporaryDir();
    const wrong = structuredClone(manifest);
    wrong.contributes.grammars[0]!.scopeName = "source.other";
    writeFileSync(join(dir, "package.json"), JSON.stringify(wrong));
    const result = runCopyGrammar("--root", dir, "--manifest", join(dir, "package.json"));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("scopeName");
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("refuses a grammar path outside the extension's folder", () => {
    const dir = temporaryDir();
    const wrong = structuredClone(manifest);
    wrong.contributes.grammars[0]!.path = "../../grammar/nn.tmLanguage.json";
    writeFileSync(join(dir, "package.json"), JSON.stringify(wrong));
    const result = runCopyGrammar("--root", join(dir, "ext"), "--manifest", join(dir, "package.json"));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("leaves the extension's folder");
  });

  const builtCopy = join(extensionDir, "out", "syntaxes", "nn.tmLanguage.json");
  it.skipIf(!existsSync(builtCopy))("left a copy in editors/vscode/out that is still the grammar (rerun `npm run compile` there if not)", () => {
    expect(readFileSync(builtCopy, "utf8")).toBe(readFileSync(grammarFile, "utf8"));
  });
});

describe("what git and vsce leave out", () => {
  const ignored = (path: string): boolean => spawnSync("git", ["check-ignore", "-q", path], { cwd: repo }).status === 0;

  it("git ignores the build output and the installed packages, not the sources or the lockfile", () => {
    for (const path of ["editors/vscode/node_modules/vscode-languageclient/package.json", "editors/vscode/out/extension.js", "editors/vscode/out/syntaxes/nn.tmLanguage.json", "editors/vscode/nnc-vscode-0.1.0.vsix"]) {
      expect(ignored(path), path).toBe(true);
    }
    for (const path of ["editors/vscode/src/extension.ts", "editors/vscode/package.json", "editors/vscode/package-lock.json", "editors/vscode/language-configuration.json", "editors/vscode/scripts/copy-grammar.mjs"]) {
      expect(ignored(path), path).toBe(false);
    }
  });

  it("the .vsix keeps the entry point, the grammar copy and the language configuration", () => {
    const patterns = readFileSync(join(extensionDir, ".vscodeignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith("!"))
      .map(globToRegExp);
    expect(patterns.some((p) => p.test("src/extension.ts"))).toBe(true);
    for (const path of [manifest.main, manifest.contributes.grammars[0]!.path, manifest.contributes.languages[0]!.configuration, "package.json", "README.md"]) {
      const relative = path.replace(/^\.\//, "");
      expect(patterns.filter((p) => p.test(relative)).map(String), relative).toEqual([]);
    }
  });
});

describe("the language configuration (editors/vscode/language-configuration.json)", () => {
  it("comments lines with the lexer's comment syntax", () => {
    const { lineComment } = languageConfiguration.comments;
    expect(languageConfiguration.comments.blockComment).toBeUndefined();
    const commented = lexTokens(`${lineComment} dense 4 -> relu`);
    expect(commented.tokens).toEqual([]);
    expect(commented.comments.map((c) => c.image)).toEqual([`${lineComment} dense 4 -> relu`]);
    const trailing = lexTokens(`dense 4 ${lineComment} note`);
    expect(trailing.tokens.map((t) => t.image)).toEqual(["dense", "4"]);
    expect(trailing.comments.map((c) => c.image)).toEqual([`${lineComment} note`]);
  });

  it("pairs exactly the brackets the lexer has, each a token of its own", () => {
    const pairs = languageConfiguration.brackets;
    expect(pairs).toEqual([
      ["{", "}"],
      ["(", ")"],
    ]);
    expect(languageConfiguration.colorizedBracketPairs).toEqual(pairs);
    for (const [open, close] of pairs) {
      const lexed = lexTokens(`${open}${close}`);
      expect(lexed.errors).toEqual([]);
      expect(lexed.tokens.map((t) => t.image)).toEqual([open, close]);
    }
    // `[` is no token of .nn: pairing it would auto-close a character the lexer rejects.
    expect(lexTokens("[").errors).toHaveLength(1);
  });

  it("auto-closes and surrounds with the brackets and the string quote, which balance", () => {
    const closing = languageConfiguration.autoClosingPairs.map((p) => [p.open, p.close]);
    expect(closing).toEqual([...languageConfiguration.brackets, ['"', '"']]);
    expect(languageConfiguration.surroundingPairs).toEqual(closing);
    for (const [open, close] of closing) {
      const lexed = lexTokens(`${open}a${close}`);
      expect(lexed.errors).toEqual([]);
      if (open === '"') expect(lexed.tokens.map((t) => t.tokenType.name)).toEqual(["String"]);
    }
    for (const pair of languageConfiguration.autoClosingPairs) expect(pair.notIn).toEqual(["comment", "string"]);
  });

  describe("wordPattern", () => {
    const words = (text: string): string[] => [...text.matchAll(new RegExp(languageConfiguration.wordPattern, "g"))].map((m) => m[0]);

    const vocabulary = [
      ...KEYWORDS,
      ...CONTEXTUAL_KEYWORDS,
      ...Object.keys(LAYER_KINDS),
      ...Object.values(LAYER_KINDS).flatMap((k) => Object.keys(k.options)),
      ...Object.keys(ACTIVATIONS),
      ...Object.keys(INITIALIZERS),
      ...PADDINGS,
      ...Object.keys(OPTIMIZERS),
      ...Object.keys(LOSSES),
      ...SCHEDULES,
      ...METRICS,
      ...DATA_SOURCES,
      ...AUGMENTATIONS,
      ...NORMALIZATIONS,
      ...Object.keys(RECIPE_SETTINGS),
      ...Object.keys(SEARCH_SETTINGS),
      ...Object.keys(SEARCH_DISTRIBUTIONS),
    ];
    it.each([...new Set(vocabulary)])("takes %s as one word", (word) => {
      expect(words(word)).toEqual([word]);
      expect(words(` ${word}(`)).toEqual([word]);
    });

    it("takes no part of an arrow or an operator", () => {
      for (const text of ["->", "→", "~", "+ - * / = , :", "{ } ( )"]) expect(words(text), text).toEqual([]);
    });

    it("splits dimensions at their `x` as the lexer does", () => {
      expect(words("5x5x32")).toEqual(["5", "5", "32"]);
      expect(words("3x3xc")).toEqual(["3", "3", "c"]);
      expect(words("(c)x(c)x3")).toEqual(["c", "c", "3"]);
      expect(words("conv1 x2 max_x")).toEqual(["conv1", "x2", "max_x"]);
      expect(words("lr 1e-3 dropout 0.5 .25")).toEqual(["lr", "1e-3", "dropout", "0.5", ".25"]);
    });

    it.each(shippedSpecs.map((s) => [s.name, s.text] as const))("finds in %s exactly the names and numbers the lexer finds", (_name, text) => {
      const lexed = lexTokens(text);
      const wordTokens = new Set(["Ident", "Number", ...KEYWORDS.map((k) => k[0]!.toUpperCase() + k.slice(1))]);
      const fromLexer = lexed.tokens.filter((t) => wordTokens.has(t.tokenType.name)).map((t) => `${t.startOffset}:${t.image}`);
      const skipped = [...lexed.comments, ...lexed.tokens.filter((t) => t.tokenType.name === "String")].map((t) => [t.startOffset, t.endOffset!] as const);
      const fromPattern: string[] = [];
      let lineStart = 0;
      // VS Code applies the pattern to one line at a time.
      for (const line of text.split("\n")) {
        for (const m of line.matchAll(new RegExp(languageConfiguration.wordPattern, "g"))) {
          const offset = lineStart + m.index;
          if (!skipped.some(([start, end]) => start <= offset && offset <= end)) fromPattern.push(`${offset}:${m[0]}`);
        }
        lineStart += line.length + 1;
      }
      expect(fromLexer.length).toBeGreaterThan(10);
      expect(fromPattern).toEqual(fromLexer);
    });
  });

  it("indents after a line that opens a brace and outdents a closing brace, as the shipped specs are laid out", () => {
    const increase = new RegExp(languageConfiguration.indentationRules.increaseIndentPattern);
    const decrease = new RegExp(languageConfiguration.indentationRules.decreaseIndentPattern);
    expect(increase.test("model m {")).toBe(true);
    expect(increase.test("  residual {   # the main path")).toBe(true);
    expect(increase.test("  repeat 2 { dense 4 }")).toBe(false);
    expect(increase.test("  dense 4   # {")).toBe(false);
    expect(decrease.test("  } skip {")).toBe(true);
    expect(decrease.test("  dense 4 }")).toBe(false);
    let lines = 0;
    for (const { name, text } of shippedSpecs) {
      let level = 0;
      let continued = false;
      let depth = 0; // braces open before the line, those in the middle of lines included
      let endsBranch = false; // the last line with code ended with `}`
      text.split("\n").forEach((line, i) => {
        if (line.trim() === "") return;
        if (decrease.test(line)) level--;
        const indent = /^ */.exec(line)![0].length;
        const code = line.replace(/#.*$/, "").trimEnd();
        // A chain broken after `->`, a merge's branch continued on the next line and the lines
        // inside a branch that began on its `{`'s line may indent further (the formatter aligns them).
        const hanging = depth > level + (decrease.test(line) ? 1 : 0) || (endsBranch && code.trimStart().startsWith("{"));
        if (continued || hanging) expect(indent, `${name}:${i + 1}`).toBeGreaterThanOrEqual(2 * level);
        else expect(indent, `${name}:${i + 1}`).toBe(2 * level);
        if (increase.test(line)) level++;
        if (code !== "") {
          continued = /(?:->|→)$/.test(code);
          endsBranch = code.endsWith("}");
        }
        depth += (code.match(/\{/g)?.length ?? 0) - (code.match(/\}/g)?.length ?? 0);
        lines++;
      });
      expect(level, name).toBe(0);
    }
    expect(lines).toBeGreaterThan(100);
  });

  it("folds `# region` … `# endregion`, which the lexer reads as comments", () => {
    const start = new RegExp(languageConfiguration.folding.markers.start);
    const end = new RegExp(languageConfiguration.folding.markers.end);
    expect(start.test("  # region stem")).toBe(true);
    expect(end.test("  # endregion")).toBe(true);
    expect(start.test("  # endregion")).toBe(false);
    expect(lexTokens("  # region stem\n  # endregion\n").tokens).toEqual([]);
  });
});

describe("finding the nnc CLI to run as the server (editors/vscode/src/server-command.ts)", () => {
  const fakeFs =
    (files: Record<string, FileKind>): ((file: string) => FileKind) =>
    (file) =>
      files[file] ?? "none";
  const lookup = (over: Partial<ServerLookup>): ServerLookup => ({ setting: "", extraArgs: [], workspaceFolders: ["/ws"], env: { PATH: "/usr/bin:/opt/nnc/bin" }, platform: "linux", home: "/home/me", ...over });

  it("runs `lsp --stdio`, then the user's arguments", () => {
    expect(SERVER_ARGS).toEqual(["lsp", "--stdio"]);
    const found = findServer(lookup({ extraArgs: ["--log", "x"], fileKind: fakeFs({ "/opt/nnc/bin/nnc": "executable" }) }));
    expect(found).toEqual({ found: true, command: "/opt/nnc/bin/nnc", args: ["lsp", "--stdio", "--log", "x"], shell: false, from: "PATH" });
  });

  it("prefers the setting, then the workspace's node_modules/.bin/nnc, then PATH", () => {
    const files: Record<string, FileKind> = { "/ws/tools/nnc": "executable", "/ws/node_modules/.bin/nnc": "executable", "/usr/bin/nnc": "executable" };
    expect(findServer(lookup({ setting: "tools/nnc", fileKind: fakeFs(files) }))).toMatchObject({ command: "/ws/tools/nnc", from: "setting" });
    expect(findServer(lookup({ fileKind: fakeFs(files) }))).toMatchObject({ command: "/ws/node_modules/.bin/nnc", from: "workspace" });
    expect(findServer(lookup({ workspaceFolders: ["/other", "/ws"], fileKind: fakeFs(files) }))).toMatchObject({ command: "/ws/node_modules/.bin/nnc", from: "workspace" });
    expect(findServer(lookup({ workspaceFolders: [], fileKind: fakeFs(files) }))).toMatchObject({ command: "/usr/bin/nnc", from: "PATH" });
  });

  it("runs a JavaScript file under node, and reads ~ and bare command names in the setting", () => {
    const files: Record<string, FileKind> = { "/home/me/nnc/dist/nnc.mjs": "file", "/opt/nnc/bin/nnc-dev": "executable" };
    expect(findServer(lookup({ setting: "~/nnc/dist/nnc.mjs", fileKind: fakeFs(files) }))).toEqual({ found: true, command: "node", args: ["/home/me/nnc/dist/nnc.mjs", "lsp", "--stdio"], shell: false, from: "setting" });
    expect(findServer(lookup({ setting: "nnc-dev", fileKind: fakeFs(files) }))).toMatchObject({ command: "/opt/nnc/bin/nnc-dev", from: "setting" });
  });

  it("does not fall back when the setting names nothing runnable, and says why", () => {
    const files: Record<string, FileKind> = { "/ws/nnc.txt": "file", "/usr/bin/nnc": "executable" };
    const missing = findServer(lookup({ setting: "/nowhere/nnc", fileKind: fakeFs(files) }));
    expect(missing).toMatchObject({ found: false, tried: ["/nowhere/nnc"] });
    expect(missing.found === false && missing.message).toContain("/nowhere/nnc does not exist");
    const notExecutable = findServer(lookup({ setting: "./nnc.txt", fileKind: fakeFs(files) }));
    expect(notExecutable.found === false && notExecutable.message).toContain("/ws/nnc.txt is not executable");
  });

  it("says how to install nnc, and lists every path it tried, when there is none", () => {
    const none = findServer(lookup({ fileKind: fakeFs({ "/usr/bin/nnc": "file" }) }));
    expect(none).toEqual({
      found: false,
      message: `The nnc CLI was not found in the workspace's node_modules/.bin or on PATH. ${INSTALL_HINT}`,
      tried: ["/ws/node_modules/.bin/nnc", "/usr/bin/nnc", "/opt/nnc/bin/nnc"],
    });
    expect(INSTALL_HINT).toContain("npm install --save-dev nnc");
    expect(INSTALL_HINT).toContain("nnc.server.path");
  });

  it("on Windows runs npm's .cmd shims through a shell and tries PATHEXT", () => {
    const files: Record<string, FileKind> = { "C:\\ws\\node_modules\\.bin\\nnc.cmd": "executable", "C:\\Program Files\\nodejs\\nnc.CMD": "executable" };
    const windows = { platform: "win32" as const, env: { PATH: "C:\\Windows;C:\\Program Files\\nodejs", PATHEXT: ".EXE;.CMD" }, fileKind: fakeFs(files) };
    expect(findServer(lookup({ ...windows, workspaceFolders: ["C:\\ws"] }))).toEqual({ found: true, command: "C:\\ws\\node_modules\\.bin\\nnc.cmd", args: ["lsp", "--stdio"], shell: true, from: "workspace" });
    expect(findServer(lookup({ ...windows, workspaceFolders: [] }))).toMatchObject({ command: '"C:\\Program Files\\nodejs\\nnc.CMD"', shell: true, from: "PATH" });
  });

  it.skipIf(process.platform === "win32")("finds and runs a real node_modules/.bin/nnc, skipping a non-executable nnc on PATH", () => {
    const workspace = temporaryDir();
    const bin = join(workspace, "node_modules", ".bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "nnc"), '#!/bin/sh\necho "nnc $*"\n');
    chmodSync(join(bin, "nnc"), 0o755);
    const pathDir = temporaryDir();
    writeFileSync(join(pathDir, "nnc"), "not a program\n");
    expect(realFileKind(join(pathDir, "nnc"))).toBe("file");
    expect(realFileKind(join(bin, "nnc"))).toBe("executable");
    expect(realFileKind(bin)).toBe("none");

    const found = findServer({ setting: "", extraArgs: [], workspaceFolders: [workspace], env: { PATH: pathDir }, platform: process.platform });
    if (!found.found) throw new Error(found.message);
    const run = spawnSync(found.command, found.args, { encoding: "utf8", shell: found.shell });
    expect(run.stdout).toBe("nnc lsp --stdio\n");
    expect(findServer({ setting: "", extraArgs: [], workspaceFolders: [], env: { PATH: pathDir }, platform: process.platform }).found).toBe(false);
  });
});

describe("the extension (editors/vscode/src/extension.ts)", () => {
  it("starts the command found by findServer for nn documents, under the client id that reads nnc.trace.server", () => {
    expect(extensionSource).toMatch(/from "vscode-languageclient\/node"/);
    expect(extensionSource).toMatch(/from "\.\/server-command\.js"/);
    expect(extensionSource).toMatch(/new LanguageClient\("nnc", /);
    expect(extensionSource).toContain('documentSelector: [{ language: "nn" }]');
    expect(extensionSource).toContain("command: server.command, args: server.args");
  });

  it("passes no transport, which would make the client append a second --stdio", () => {
    const code = extensionSource.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    expect(code).toContain("new LanguageClient(");
    expect(code).not.toMatch(/\btransport\s*:/);
    expect(code).not.toMatch(/TransportKind/);
  });

  it("does not run an untrusted workspace's own nnc", () => {
    expect(extensionSource).toContain("workspaceFolders: vscode.workspace.isTrusted ? localFolders() : []");
    expect(extensionSource).toContain("onDidGrantWorkspaceTrust");
  });

  const tsc = join(extensionDir, "node_modules", "typescript", "bin", "tsc");
  const typings = join(extensionDir, "node_modules", "@types", "vscode");
  it.skipIf(!existsSync(tsc) || !existsSync(typings))("type-checks with its own TypeScript and VS Code typings (when installed)", () => {
    const result = spawnSync(process.execPath, [tsc, "-p", extensionDir, "--noEmit"], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});
