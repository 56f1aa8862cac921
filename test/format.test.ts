/**
 * The formatter: the canonical layout on messy inputs (golden strings), and over every
 * shipped spec and example: idempotent, the same AST, every comment kept in order; syntax
 * errors leave the text untouched; mutated specs never make it throw; the Prettier plugin
 * prints exactly what formatText gives.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";
import { formatText } from "../src/format/index.js";
import * as plugin from "../src/format/prettier-plugin.js";
import { parse } from "../src/parser/index.js";
import { tokenize } from "../src/parser/tokens.js";
import { seededRandom } from "../src/common/random.js";

const root = join(import.meta.dirname, "..");

function nnFiles(dir: string): { name: string; text: string }[] {
  return readdirSync(join(root, dir))
    .filter((f) => f.endsWith(".nn"))
    .sort()
    .map((f) => ({ name: `${dir}/${f}`, text: readFileSync(join(root, dir, f), "utf8") }));
}
function fenced(file: string): { name: string; text: string }[] {
  const text = readFileSync(join(root, file), "utf8");
  return [...text.matchAll(/```nn\r?\n([\s\S]*?)```/g)].map((m, i) => ({ name: `${file} example ${i + 1}`, text: m[1]! }));
}
/** The ```nn examples in nn.ebnf's comments, with the comment's indentation taken off. */
function ebnfExamples(): { name: string; text: string }[] {
  const text = readFileSync(join(root, "grammar/nn.ebnf"), "utf8");
  return [...text.matchAll(/^( *)```nn\n([\s\S]*?)^ *```/gm)].map((m, i) => ({
    name: `grammar/nn.ebnf example ${i + 1}`,
    text: m[2]!.split("\n").map((l) => l.slice(m[1]!.length)).join("\n"),
  }));
}

const shipped = [...nnFiles("specs"), ...nnFiles("grammar/examples")];
const corpus = [...shipped, ...fenced("docs/LANGUAGE.md"), ...fenced("README.md"), ...ebnfExamples()];
const wrong = nnFiles("specs/wrong");

/** The AST without positions: ranges become `true`, so an optional range (`project`) still counts. */
function shape(text: string): unknown {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== "object") return v;
    const o = v as Record<string, unknown>;
    if ("start" in o && "end" in o && typeof o["start"] === "object") return true;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, strip(x)]));
  };
  const ast = parse(text).ast;
  return strip({ declarations: ast.declarations, comments: ast.comments.map((c) => c.text.trimEnd()) });
}

function commentTexts(text: string): string[] {
  return tokenize(text)
    .filter((t) => t.kind === "Comment")
    .map((t) => t.image.trimEnd());
}

const syntaxErrors = (text: string): string[] => parse(text).diagnostics.filter((d) => d.severity === "error" && d.code.startsWith("NN1")).map((d) => d.code);

/** What formatting must keep, for any text. */
function assertSound(text: string, label: string): void {
  let r: ReturnType<typeof formatText>;
  try {
    r = formatText(text);
  } catch (e) {
    throw new Error(`${label}: formatText threw ${e instanceof Error ? e.stack : String(e)}\n--- input ---\n${text}`);
  }
  if (r.diagnostics.length > 0) {
    expect(r.text, label).toBe(text);
    expect(r.changed, label).toBe(false);
    expect(r.diagnostics.every((d) => d.severity === "error" && d.code.startsWith("NN1")), label).toBe(true);
    return;
  }
  expect(r.changed, label).toBe(r.text !== text);
  expect(syntaxErrors(r.text), `${label}: the output has syntax errors\n${r.text}`).toEqual([]);
  expect(shape(r.text), `${label}: the AST changed\n--- input ---\n${text}\n--- output ---\n${r.text}`).toEqual(shape(text));
  expect(commentTexts(r.text), `${label}: comments changed`).toEqual(commentTexts(text));
  expect(formatText(r.text).text, `${label}: not idempotent\n--- once ---\n${r.text}`).toBe(r.text);
  expect(r.text, label).not.toMatch(/[ \t]$/m);
  expect(r.text, label).not.toMatch(/\n\n\n/);
  if (r.text !== "") expect(r.text.endsWith("\n"), label).toBe(true);
}

describe("tokenize", () => {
  it("gives every token, comments and stray characters included, with 0-based places", () => {
    const text = "model m {\n  input 10 # in\n  dense 2; // x\n}";
    const tokens = tokenize(text);
    expect(tokens.map((t) => t.kind)).toEqual(["Model", "Ident", "LCurly", "Ident", "Number", "Comment", "Ident", "Number", "Error", "SlashComment", "RCurly"]);
    const comment = tokens[5]!;
    expect(comment).toEqual({ kind: "Comment", image: "# in", offset: 21, endOffset: 25, line: 1, column: 11 });
    expect(text.slice(comment.offset, comment.endOffset)).toBe("# in");
  });

  it("covers every character that is not white space, over every shipped spec", () => {
    for (const { name, text } of corpus) {
      let rest = text;
      for (const t of [...tokenize(text)].reverse()) rest = rest.slice(0, t.offset) + rest.slice(t.endOffset);
      expect(rest.trim(), name).toBe("");
    }
  });
});

describe("formatText on shipped specs and documented examples", () => {
  it("has a corpus", () => {
    expect(shipped.length).toBeGreaterThanOrEqual(20);
    expect(corpus.length).toBeGreaterThan(shipped.length + 10);
  });

  it.each(corpus.map((c) => [c.name, c.text] as const))("%s: formats without errors, idempotent, same AST, every comment kept", (name, text) => {
    expect(formatText(text).diagnostics).toEqual([]);
    assertSound(text, name);
  });

  it.each(shipped.map((c) => [c.name, c.text] as const))("%s is already in the canonical layout", (_name, text) => {
    expect(formatText(text).text).toBe(text);
  });

  it.each(wrong.map((c) => [c.name, c.text] as const))("%s: formatted soundly, or left untouched for its syntax errors", (name, text) => {
    assertSound(text, name);
    expect(formatText(text).diagnostics.map((d) => d.code)).toEqual([...new Set(syntaxErrors(text))].length ? expect.arrayContaining(syntaxErrors(text)) : []);
  });
});

describe("the canonical layout", () => {
  const cases: [string, string, string][] = [
    [
      "spacing inside lines",
      "model   net ( width=32,classes = 10 )   {\n  input 32x32x3\n  conv_bn( width )\n  conv_bn(width*2 , stride : 2)\n  conv_bn(c:width * 2,k:1)\n  global avgpool->dense classes softmax\n  dense ( width+1 )  relu→dense 2\n}\n",
      "model net(width = 32, classes = 10) {\n  input 32x32x3\n  conv_bn(width)\n  conv_bn(width*2, stride: 2)\n  conv_bn(c: width*2, k: 1)\n  global avgpool -> dense classes softmax\n  dense (width + 1) relu → dense 2\n}\n",
    ],
    [
      "recipes and searches",
      "train net(classes:10){\ndata mnist( train:8000,test : 2000 )\n  augment flip horizontal ,crop 28x28 pad 4\n  optim adam(0.9,0.999)   lr 1e-3\n\tloss crossentropy\n}\nsearch net random 20 {\n  lr~loguniform(1e-4,1e-1)\n  width ~ int(32, 256-1)\n  depth ~ choice(2,-1)\n}\n",
      "train net(classes: 10) {\n  data mnist(train: 8000, test: 2000)\n  augment flip horizontal, crop 28x28 pad 4\n  optim adam(0.9, 0.999) lr 1e-3\n  loss crossentropy\n}\n\nsearch net random 20 {\n  lr ~ loguniform(1e-4, 1e-1)\n  width ~ int(32, 256 - 1)\n  depth ~ choice(2, -1)\n}\n",
    ],
    [
      "a binary minus only inside an expression; `c - 1` in a layer is two words and says so",
      "block b(c, d = c-1) {\n  dense (c - -1)*2 relu\n  reshape (c)x( c ) x1\n  dense c/ 2\n}\n",
      "block b(c, d = c - 1) {\n  dense (c - -1)*2 relu\n  reshape (c)x(c) x1\n  dense c/2\n}\n",
    ],
    [
      "a name and a `(` stay apart or together as written (a call or not); a declaration's parameters touch its name",
      "block b (c) {\n  dense 1\n}\nmodel m {\n  input 4\n  b(2)\n  dense (2)\n}\n",
      "block b(c) {\n  dense 1\n}\n\nmodel m {\n  input 4\n  b(2)\n  dense (2)\n}\n",
    ],
    [
      "indentation by nesting, continuation lines after `->`, multi-line arguments",
      "model m {\ninput 16x16x8 ->\n        conv 3x3x8 same ->\nconv 3x3x8 same\n      residual {\n  conv 3x3x8 same\n            } skip {\n    conv 1x1x8\n } -> relu\n repeat 2 {\n residual project { conv 3x3x8 same }\n }\n-> global avgpool\n}\ntrain m {\n  data ball(\n  dims: 8,\n      n: 100\n      )\n}\n",
      "model m {\n  input 16x16x8 ->\n    conv 3x3x8 same ->\n    conv 3x3x8 same\n  residual {\n    conv 3x3x8 same\n  } skip {\n    conv 1x1x8\n  } -> relu\n  repeat 2 {\n    residual project { conv 3x3x8 same }\n  }\n  -> global avgpool\n}\n\ntrain m {\n  data ball(\n    dims: 8,\n    n: 100\n  )\n}\n",
    ],
    [
      "blank lines: at most one, none at the ends of the file or of a body; one around each declaration of several lines",
      "\n\n# header\n\n\n\nmodel a {\n\n  input 1\n\n\n  dense 1\n\n}\nmodel b { input 1 }\nmodel c { input 1 }\n# about d\nmodel d {\n  input 1\n}\n\n\n",
      "# header\n\nmodel a {\n  input 1\n\n  dense 1\n}\n\nmodel b { input 1 }\nmodel c { input 1 }\n\n# about d\nmodel d {\n  input 1\n}\n",
    ],
    [
      "trailing comments keep their column, move with their line's indentation, and stay two spaces clear of the code",
      "model m {   # the model   \n      input 10       # features\n  dense 4 relu init he_normal# tight\n  # own line\n        # indented too far\n}\n",
      "model m {   # the model\n  input 10       # features\n  dense 4 relu init he_normal  # tight\n  # own line\n  # indented too far\n}\n",
    ],
    [
      "comments aligned on consecutive lines stay aligned, pushed right together; an aligned comment-only line continues the one above",
      "model m {\n  input 10             # a\n  b(c:1,k:1,s:2,t:3)   # b\n                       # more about b\n  dense 2 softmax    # d\n}\n",
      "model m {\n  input 10                   # a\n  b(c: 1, k: 1, s: 2, t: 3)  # b\n                             # more about b\n  dense 2 softmax    # d\n}\n",
    ],
    ["an empty file stays empty; white space alone becomes empty", "  \n\n\t\n", ""],
    ["a file of comments", "  # one\n\n\n# two", "# one\n\n# two\n"],
  ];

  it.each(cases)("%s", (_name, input, expected) => {
    const r = formatText(input);
    expect(r.diagnostics).toEqual([]);
    expect(r.text).toBe(expected);
    expect(r.changed).toBe(true);
    assertSound(input, _name);
  });

  it("keeps CRLF line endings, and a byte-order mark", () => {
    const r = formatText("\ufeffmodel m {\r\n    input 10   # c\r\n\r\n\r\n dense 2\r\n}");
    expect(r.text).toBe("\ufeffmodel m {\r\n  input 10   # c\r\n\r\n  dense 2\r\n}\r\n");
    expect(formatText(r.text).changed).toBe(false);
  });

  it("writes LF for a file whose first line break is LF or a lone CR", () => {
    expect(formatText("model m {\n input 1\r\n}").text).toBe("model m {\n  input 1\n}\n");
    expect(formatText("model m {\r input 1\r}").text).toBe("model m {\n  input 1\n}\n");
  });

  it("formats a file whose errors are about names, not syntax", () => {
    const r = formatText("model m {\n input 28x28x1\n  conv 3x3x8 strid 2\n}\n");
    expect(r.diagnostics).toEqual([]);
    expect(r.text).toBe("model m {\n  input 28x28x1\n  conv 3x3x8 strid 2\n}\n");
  });
});

describe("merges", () => {
  const cases: [string, string, string][] = [
    [
      "a merge on one line, its branches and kept names spaced like any words",
      "model m {\n  input 8x8x4\n  keep   e1\n  concat{conv 1x1x4 relu}{ }e1   name c1\n  conv 1x1x4->add {conv 1x1x8}{conv 1x1x8 -> relu}\n}\n",
      "model m {\n  input 8x8x4\n  keep e1\n  concat { conv 1x1x4 relu } { } e1 name c1\n  conv 1x1x4 -> add { conv 1x1x8 } { conv 1x1x8 -> relu }\n}\n",
    ],
    [
      "branches continued on the next lines sit under the first `{`, `->` chains and all",
      "model m {\n  input 8x8x4\n  concat { conv 1x1x4 relu }\n  { conv 1x1x4 relu -> conv 3x3x8 relu same }\n      { pool 3 stride 1 same->conv 1x1x4 } name mixed\n  multiply { conv 1x1x4 sigmoid }\n{ }\n}\n",
      "model m {\n  input 8x8x4\n  concat { conv 1x1x4 relu }\n         { conv 1x1x4 relu -> conv 3x3x8 relu same }\n         { pool 3 stride 1 same -> conv 1x1x4 } name mixed\n  multiply { conv 1x1x4 sigmoid }\n           { }\n}\n",
    ],
    [
      "the lines inside a branch that begins with code on its `{`'s line sit under that code, after `->` one level further, its `}` under its `{`",
      "model m {\n  input 8x8x4\n  concat { conv 1x1x4 relu\n  conv 3x3x4 same }\n  { conv 1x1x4 ->\n  conv 3x3x4 same\n  }\n}\n",
      "model m {\n  input 8x8x4\n  concat { conv 1x1x4 relu\n           conv 3x3x4 same }\n         { conv 1x1x4 ->\n             conv 3x3x4 same\n         }\n}\n",
    ],
    [
      "branches written as blocks, `} {` or with the next `{` under the `}`, are indented as blocks",
      "model m {\n  input 8x8x4\n  add {\nconv 1x1x4\n      } {\n  conv 3x3x4 same\n}\n  concat {\n conv 1x1x4\n  }\n    {\n  conv 1x1x4\n    }\n}\n",
      "model m {\n  input 8x8x4\n  add {\n    conv 1x1x4\n  } {\n    conv 3x3x4 same\n  }\n  concat {\n    conv 1x1x4\n  }\n  {\n    conv 1x1x4\n  }\n}\n",
    ],
    [
      "comments and blank lines between branches sit with the branch after them",
      "model m {\n  input 8x8x4\n  concat { conv 1x1x4 }   # one\n# the second branch\n      { conv 3x3x4 same }     # two\n\n    # the third\n   { }\n  dense 2\n}\n",
      "model m {\n  input 8x8x4\n  concat { conv 1x1x4 }   # one\n         # the second branch\n         { conv 3x3x4 same }     # two\n\n         # the third\n         { }\n  dense 2\n}\n",
    ],
    [
      "merges nested in branches, in `repeat` and in blocks",
      "block inc(c) {\nconcat { conv 1x1xc }\n{ concat { conv 1x1xc } { conv 3x3xc same }\n{ pool 3 stride 1 same } }\n}\nmodel m {\n  input 8x8x4\n  repeat 2 {\n  add { inc(4) }\n  { conv 1x1x12 }\n  }\nrepeat 2 concat { conv 1x1x4 }\n  residual { multiply { global avgpool -> dense 12 sigmoid -> reshape 1x1x12 }\n  }\n}\n",
      "block inc(c) {\n  concat { conv 1x1xc }\n         { concat { conv 1x1xc } { conv 3x3xc same }\n                  { pool 3 stride 1 same } }\n}\n\nmodel m {\n  input 8x8x4\n  repeat 2 {\n    add { inc(4) }\n        { conv 1x1x12 }\n  }\n  repeat 2 concat { conv 1x1x4 }\n  residual { multiply { global avgpool -> dense 12 sigmoid -> reshape 1x1x12 }\n  }\n}\n",
    ],
  ];

  it.each(cases)("%s", (name, input, expected) => {
    const r = formatText(input);
    expect(r.diagnostics).toEqual([]);
    expect(r.text).toBe(expected);
    expect(formatText(r.text).text, `${name}: not idempotent`).toBe(r.text);
    assertSound(input, name);
  });

  it("leaves a formatted Inception block as it is", () => {
    const text = "block inception(c) {\n  concat { conv 1x1xc relu }\n         { conv 1x1xc relu -> conv 3x3xc relu same }\n         { conv 1x1xc relu\n           conv 5x5xc relu same }  # two lines\n         { pool 3 stride 1 same -> conv 1x1xc relu } name mixed\n}\n";
    expect(formatText(text)).toEqual({ text, changed: false, diagnostics: [] });
  });
});

describe("syntax errors", () => {
  const broken: [string, string, string][] = [
    ["an unclosed body", "model m {\n    input 10\n", "NN1004"],
    ["a dangling arrow", "model m {\n  input 10 ->\n}\n", "NN1006"],
    ["a `//` comment", "model m {\n  input 10   // c\n}\n", "NN1001"],
    ["a stray character", "model m {\n  input 10$\n}\n", "NN1001"],
    ["a semicolon", "model m {\n  input 10;\n}\n", "NN1031"],
    ["an unterminated string", 'train m {\n  data csv("x.csv)\n}\n', "NN1002"],
    ["a number run into a word", "model m {\n  input 10\n  dense 8relu\n}\n", "NN1020"],
    ["spaces around the x of dimensions", "model m {\n  input 28 x 28\n}\n", "NN1003"],
  ];
  it.each(broken)("%s: the text comes back untouched, with the error", (_name, text, code) => {
    const r = formatText(text);
    expect(r.text).toBe(text);
    expect(r.changed).toBe(false);
    expect(r.diagnostics.map((d) => d.code)).toContain(code);
    expect(r.diagnostics.every((d) => d.severity === "error")).toBe(true);
  });
});

describe("formatText under mutation", () => {
  for (const { name, text } of shipped) {
    it(`${name}: deleting, duplicating or swapping tokens never makes it throw or change the meaning`, () => {
      const tokens = tokenize(text).filter((t) => t.kind !== "Comment");
      const next = seededRandom(0xf0f0 ^ text.length);
      for (let k = 0; k < 60; k++) {
        const i = Math.floor(next() * tokens.length);
        const t = tokens[i]!;
        assertSound(text.slice(0, t.offset) + text.slice(t.endOffset), `${name} without token ${i}`);
        assertSound(text.slice(0, t.endOffset) + " " + t.image + text.slice(t.endOffset), `${name} with token ${i} doubled`);
        const u = tokens[i + 1];
        if (u) assertSound(text.slice(0, t.offset) + u.image + text.slice(t.endOffset, u.offset) + t.image + text.slice(u.endOffset), `${name} with tokens ${i} and ${i + 1} swapped`);
      }
    });

    it(`${name}: any white space between its tokens formats to the same meaning`, () => {
      const tokens = tokenize(text);
      const next = seededRandom(0x0ddba11 ^ text.length);
      const spaces = ["", " ", "   ", "\t", "\n", "\n\n\n", " \t "];
      for (let k = 0; k < 25; k++) {
        let out = "";
        let at = 0;
        for (const t of tokens) {
          const between = text.slice(at, t.offset);
          // Keep most gaps; change some, sometimes into no space or a line break.
          out += next() < 0.7 ? between : spaces[Math.floor(next() * spaces.length)]!;
          out += t.image;
          at = t.endOffset;
        }
        assertSound(out + text.slice(at), `${name} respaced #${k}`);
      }
    });
  }
});

describe("the Prettier plugin", () => {
  const options = { parser: "nn", plugins: [plugin] };

  it("declares the nn language, parser and printer", () => {
    expect(plugin.languages[0]).toMatchObject({ name: "nn", extensions: [".nn"], parsers: ["nn"] });
    expect(plugin.parsers.nn.astFormat).toBe("nn");
    expect(typeof plugin.printers.nn.print).toBe("function");
  });

  it("prints exactly what formatText gives, for every shipped spec and a messy one", async () => {
    const messy = "model   m{\ninput 10->dense 2   # c\n\n\n}";
    for (const { name, text } of [...corpus, { name: "messy", text: messy }]) {
      expect(await prettier.format(text, options), name).toBe(formatText(text).text);
    }
  });

  it("turns CRLF into LF by default, and keeps it with endOfLine: auto, as formatText does", async () => {
    const crlf = "model m {\r\n input 1\r\n}\r\n";
    expect(await prettier.format(crlf, options)).toBe("model m {\n  input 1\n}\n");
    expect(await prettier.format(crlf, { ...options, endOfLine: "auto" })).toBe(formatText(crlf).text);
  });

  it("throws a readable error for a syntax error", async () => {
    await expect(prettier.format("model m {\n  input 10 ->\n}\n", options)).rejects.toThrow(/syntax error.*\n2:12: NN1006: This `->` has no layer after it/);
  });

  it("loads by path from the build, and is picked for .nn files by name", async () => {
    const built = join(root, "dist/src/format/prettier-plugin.js");
    expect(existsSync(built), "run `npm run build` first").toBe(true);
    const text = "model m{input 1->dense 2}\n";
    expect(await prettier.format(text, { filepath: "spec.nn", plugins: [built] })).toBe("model m { input 1 -> dense 2 }\n");
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports: Record<string, { default: string }> };
    expect(join(root, pkg.exports["./prettier-plugin"]!.default)).toBe(built);
  });
});
