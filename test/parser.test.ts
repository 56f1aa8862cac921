import { describe, expect, it } from "vitest";
import { parse } from "../src/parser/index.js";
import type { AstLayer, AstModel, AstResidual, AstRepeat, AstTrain } from "../src/parser/index.js";
import { slice } from "./helpers.js";

function firstModel(text: string): AstModel {
  const r = parse(text);
  expect(r.diagnostics).toEqual([]);
  return r.ast.declarations[0] as AstModel;
}

describe("the parser", () => {
  it("reads the design card's line verbatim inside a model", () => {
    const text = "model m {\n  input 28x28x1\n  conv 5x5x32 relu -> pool 2 -> dropout 0.1\n}\n";
    const m = firstModel(text);
    const ops = m.body.map((i) => (i as AstLayer).op.name);
    expect(ops).toEqual(["input", "conv", "pool", "dropout"]);
    const conv = m.body[1] as AstLayer;
    expect(slice(text, conv.positional[0]!)).toBe("5x5x32");
    expect(conv.activation?.name.name).toBe("relu");
    expect(slice(text, conv)).toBe("conv 5x5x32 relu");
  });

  it("reads the design card's optimizer line verbatim inside a recipe", () => {
    const text = "train m {\n  optim adam(0.9,0.999)\n}\n";
    const r = parse(text);
    expect(r.diagnostics).toEqual([]);
    const t = r.ast.declarations[0] as AstTrain;
    const st = t.statements[0]!;
    expect(st.head.name).toBe("optim");
    const call = st.clauses[0]![0]!;
    expect(call.kind).toBe("call-expr");
    expect(slice(text, call)).toBe("adam(0.9,0.999)");
  });

  it("gives every node an exact range", () => {
    const text = "model m {\n  input 10\n  dense 100 tanh init glorot_normal name fc1\n}";
    const m = firstModel(text);
    const d = m.body[1] as AstLayer;
    expect(slice(text, d.op)).toBe("dense");
    expect(slice(text, d.options["init"]!)).toBe("init glorot_normal");
    expect(slice(text, d.options["name"]!.value!)).toBe("fc1");
    expect(d.range.start).toEqual({ line: 2, character: 2, offset: 23 });
    expect(slice(text, m.name!)).toBe("m");
  });

  it("treats a new line like an arrow between layers", () => {
    const m = firstModel("model m {\n input 10\n dense 5\n relu\n ->\n dense 2\n}");
    expect(m.body.map((i) => (i as AstLayer).op.name)).toEqual(["input", "dense", "relu", "dense"]);
  });

  it("reads parameterised dims and arithmetic in words", () => {
    const text = "block b(c) {\n conv 3x3xc*2 stride 2x1 -> conv 1x1x(c+1)\n}";
    const r = parse(text);
    expect(r.diagnostics).toEqual([]);
    const b = r.ast.declarations[0] as AstModel;
    const conv = b.body[0] as AstLayer;
    const dims = conv.positional[0]!;
    expect(dims.kind).toBe("dims");
    if (dims.kind === "dims") expect(dims.parts.map((p) => p.kind)).toEqual(["number", "number", "binary"]);
    expect(slice(text, conv.options["stride"]!.value!)).toBe("2x1");
    const conv2 = b.body[1] as AstLayer;
    expect(slice(text, conv2.positional[0]!)).toBe("1x1x(c+1)");
  });

  it("reads repeat, residual, project and skip", () => {
    const text = "model m {\n input 8x8x4\n repeat 2 { conv 3x3x4 same }\n repeat 3 basic(4)\n residual project { conv 3x3x8 stride 2 same }\n residual { conv 1x1x8 } skip { conv 1x1x8 }\n}";
    const m = firstModel(text);
    const rep = m.body[1] as AstRepeat;
    expect(rep.kind).toBe("repeat");
    expect(rep.body).toHaveLength(1);
    const rep2 = m.body[2] as AstRepeat;
    expect(rep2.body[0]!.kind).toBe("block-call");
    const res = m.body[3] as AstResidual;
    expect(res.project).toBeDefined();
    expect(slice(text, { range: res.project! })).toBe("project");
    const res2 = m.body[4] as AstResidual;
    expect(res2.skip).toHaveLength(1);
  });

  it("lets `block` name the lectures' BLOCK model", () => {
    const r = parse("model block {\n input 10\n dense 1 sigmoid\n}");
    expect(r.diagnostics).toEqual([]);
    expect((r.ast.declarations[0] as AstModel).name?.name).toBe("block");
  });

  it("reads named call arguments, even when they are keywords", () => {
    const r = parse("train m {\n data mnist(train: 8000, test: 2000)\n}");
    expect(r.diagnostics).toEqual([]);
  });

  it("keeps comments for the formatter", () => {
    const r = parse("# top\nmodel m { # inline\n input 3\n}");
    expect(r.ast.comments.map((c) => c.text)).toEqual(["# top", "# inline"]);
  });

  it("accepts the unicode arrow", () => {
    expect(parse("model m {\n input 4 → dense 2\n}").diagnostics).toEqual([]);
  });
});

describe("syntax errors", () => {
  it("asks for an arrow between two layers on one line", () => {
    const text = "model m {\n input 10\n dense 10 relu dense 2\n}";
    const r = parse(text);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["NN1005"]);
    expect(slice(text, r.diagnostics[0]!)).toBe("dense");
    expect(r.diagnostics[0]!.range.start.character).toBe(15);
  });

  it("reports a missing closing brace at the end of the last token", () => {
    const text = "model m {\n input 10\n dense 2";
    const r = parse(text);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["NN1004"]);
    expect(r.diagnostics[0]!.range.start).toEqual(r.diagnostics[0]!.range.end);
    expect(r.diagnostics[0]!.range.start.offset).toBe(text.length);
  });

  it("suggests the keyword for a misspelt declaration", () => {
    const r = parse("mdoel m {\n input 1\n}");
    expect(r.diagnostics[0]!.code).toBe("NN1007");
    expect(r.diagnostics[0]!.hint).toContain("`model`");
  });

  it("reports a dangling arrow on the arrow", () => {
    const text = "model m {\n input 3 -> dense 2 ->\n}";
    const r = parse(text);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["NN1006"]);
    expect(slice(text, r.diagnostics[0]!)).toBe("->");
  });

  it("reports an option with no value at the end of the option", () => {
    const text = "model m {\n input 8x8x1\n conv 3x3x4 stride same\n}";
    const r = parse(text);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["NN1010"]);
    expect(r.diagnostics[0]!.range.start.character).toBe(18);
  });

  it("suggests the nearest option for an unknown word", () => {
    const text = "model m {\n input 8x8x1\n conv 3x3x4 strid 2\n}";
    const d = parse(text).diagnostics[0]!;
    expect(d.code).toBe("NN2002");
    expect(d.hint).toBe("Did you mean `stride`?");
    expect(slice(text, d)).toBe("strid");
  });

  it("reports an unterminated string once", () => {
    const r = parse('train m {\n data csv("f.csv, label: "y")\n}');
    expect(r.diagnostics.filter((d) => d.code === "NN1002").length).toBeLessThanOrEqual(1);
  });

  it("reports stray characters without stopping", () => {
    const r = parse("model m {\n input 3 $\n dense 2\n}\nmodel n { input 1 }");
    expect(r.diagnostics.map((d) => d.code)).toEqual(["NN1001"]);
    expect(r.ast.declarations).toHaveLength(2);
  });

  it("recovers after a broken declaration and still parses the next one", () => {
    const r = parse("model a {\n input 3 -> dense (\n}\nmodel b {\n input 2 -> dense 1\n}");
    expect(r.diagnostics.length).toBeGreaterThan(0);
    expect(r.ast.declarations.some((d) => d.kind === "model" && d.name?.name === "b")).toBe(true);
  });

  it("rejects commas between layer words", () => {
    expect(parse("model m {\n input 3\n dense 2, relu\n}").diagnostics.map((d) => d.code)).toEqual(["NN1014"]);
  });
});

describe("many syntax errors in a row", () => {
  /** A recipe with `n` stray arrows, one a line (`->` has no place in a recipe). */
  const strayArrows = (n: number): string => `model m {\n input 3\n dense 2\n}\ntrain m {\n${"  epochs 3 ->\n".repeat(n)}}\n`;

  /** Runs `run` with only about a fifth of the stack left. */
  function withLittleStack<T>(run: () => T): T {
    let deepest = 0;
    const dive = (level: number, target: number): T | undefined => {
      deepest = level;
      return level >= target ? run() : dive(level + 1, target);
    };
    for (let i = 0; i < 2; i++) {
      try {
        dive(0, Infinity);
      } catch {
        // the stack ran out: `deepest` is how far it goes
      }
    }
    return dive(0, Math.floor(deepest * 0.8))!;
  }

  it("are each reported, however little stack is left (recovery resumes in a loop, not by recursion)", () => {
    const r = withLittleStack(() => parse(strayArrows(900)));
    expect(r.diagnostics).toHaveLength(900);
    expect(r.diagnostics.every((d) => d.code === "NN1004" && d.message === "Expected `}` to close this body, but found `->`.")).toBe(true);
    expect(r.diagnostics[0]!.range.start).toMatchObject({ line: 5, character: 11 });
  });

  it("stop the parser at the 1,000th, which it reports as NN1023 (a megabyte of them took seconds)", () => {
    const text = strayArrows(20_000);
    const r = parse(text);
    expect(r.diagnostics.filter((d) => d.code === "NN1004")).toHaveLength(999);
    const stop = r.diagnostics.filter((d) => d.code === "NN1023");
    expect(stop).toHaveLength(1);
    expect(stop[0]!.range.start.line).toBe(5 + 999);
    expect(slice(text, stop[0]!)).toBe("->");
  });
});
