import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../src/diagnostics/diagnostic.js";
import { parse, type AstModel } from "../src/parser/index.js";
import { checkText } from "../src/pipeline.js";
import { ModelExpander } from "../src/typecheck/model.js";
import { codes, diagnostics, model, only, slice } from "./helpers.js";

describe("shape inference", () => {
  it("infers the shape after every layer of the MNIST CNN", () => {
    const m = model("model m {\n input 28x28x1\n conv 5x5x32 relu same -> pool 2\n conv 5x5x64 relu same -> pool 2\n flatten -> dense 1024 relu -> dropout 0.5 -> dense 10 softmax\n}");
    expect(m.layers.map((l) => l.outputShape.join("x"))).toEqual(["28x28x1", "28x28x32", "14x14x32", "14x14x64", "7x7x64", "3136", "1024", "1024", "10"]);
    expect(m.params.total).toBe(3_274_634);
    expect(m.output).toEqual([10]);
  });

  it("names layers by kind and counter, or by their `name`", () => {
    const m = model("model m {\n input 4\n dense 3 name hidden\n dense 2\n relu\n}");
    expect(m.layers.map((l) => l.name)).toEqual(["input1", "hidden", "dense1", "relu1"]);
  });

  it("unrolls repeat and numbers the copies of a named layer", () => {
    const m = model("model m {\n input 4\n repeat 3 { dense 4 tanh name fc }\n}");
    expect(m.layers.map((l) => l.name)).toEqual(["input1", "fc", "fc_2", "fc_3"]);
  });

  it("moves a frozen layer's weights to non-trainable", () => {
    const m = model("model m {\n input 4\n dense 3 frozen\n dense 2\n}");
    expect(m.params).toEqual({ total: 15 + 8, trainable: 8, nonTrainable: 15 });
  });

  it("counts batchnorm as Keras does: half trainable, half moving statistics", () => {
    const m = model("model m {\n input 8x8x3\n conv 3x3x16 no_bias same\n batchnorm relu\n}");
    expect(m.params).toEqual({ total: 432 + 64, trainable: 432 + 32, nonTrainable: 32 });
  });

  it("expands blocks with positional, named and default arguments", () => {
    const m = model("block b(c, s = 1) {\n conv 3x3xc stride s same relu\n}\nmodel m {\n input 32x32x3\n b(8)\n b(16, s: 2)\n b(c: 4)\n}");
    expect(m.layers.map((l) => l.outputShape.join("x"))).toEqual(["32x32x3", "32x32x8", "16x16x16", "16x16x4"]);
  });

  it("joins a residual with an add layer that names both inputs", () => {
    const m = model("model m {\n input 8x8x4\n residual { conv 3x3x4 same relu -> conv 3x3x4 same }\n}");
    const add = m.layers.find((l) => l.kind === "add")!;
    expect(add.inputs).toEqual(["conv2", "input1"]);
    expect(add.outputShape).toEqual([8, 8, 4]);
  });

  it("inserts a strided 1x1 conv for `residual project`", () => {
    const m = model("model m {\n input 32x32x16\n residual project { conv 3x3x32 stride 2 same }\n}");
    const proj = m.layers.find((l) => l.name === "project1")!;
    expect(proj.config).toMatchObject({ op: "conv", kernel: [1, 1], filters: 32, strides: [2, 2] });
    expect(proj.params.trainable).toBe(16 * 32 + 32);
  });

  it("takes an explicit skip path", () => {
    const m = model("model m {\n input 32x32x16\n residual { conv 3x3x32 stride 2 same } skip { conv 1x1x32 stride 2 no_bias -> batchnorm }\n}");
    expect(m.output).toEqual([16, 16, 32]);
  });

  it("checks a model with the arguments its recipe gives", () => {
    const r = checkText("model m(classes) {\n input 10\n dense classes softmax\n}\ntrain m(classes: 2) {\n data ball(dims: 10, n: 100)\n loss crossentropy\n}");
    expect(r.diagnostics).toEqual([]);
    expect(r.program.models[0]!.output).toEqual([2]);
  });
});

describe("shape errors", () => {
  it("says dense needs flatten, on the dense, with where the shape came from", () => {
    const text = "model m {\n input 28x28x1\n conv 3x3x8 same -> pool 2\n dense 10\n}";
    const d = only(text);
    expect(d.code).toBe("NN3001");
    expect(slice(text, d)).toBe("dense");
    expect(d.message).toContain("14x14x8");
    expect(d.hint).toContain("flatten");
    expect(d.related?.[0]?.message).toContain("pool1");
    expect(slice(text, d.related![0]!)).toBe("pool 2");
  });

  it("reports a window larger than its input on the kernel", () => {
    const text = "model m {\n input 4x4x1\n conv 5x5x8\n}";
    const d = only(text);
    expect(d.code).toBe("NN3002");
    expect(slice(text, d)).toBe("5x5x8");
  });

  it("reports a residual whose paths disagree, with a hint to project", () => {
    const text = "model m {\n input 32x32x16\n residual { conv 3x3x32 stride 2 same }\n}";
    const d = only(text);
    expect(d.code).toBe("NN3004");
    expect(slice(text, d)).toBe("residual");
    expect(d.message).toContain("16x16x32");
    expect(d.message).toContain("32x32x16");
    expect(d.hint).toContain("project");
  });

  it("reports every independent error in one pass, and no cascades", () => {
    const text = "model a {\n input 4x4x1\n conv 5x5x8\n dense 3\n flatten\n}\nmodel b {\n input 10\n dropout 1.5\n dense 3\n}\nmodel c {\n input 8x8x1\n conv 3x3x4 stride 2 dilation 2\n}";
    expect(codes(text)).toEqual(["NN3002", "NN3011", "NN3007"]);
  });

  it("points into the block and back at the call", () => {
    const text = "block b(c) {\n dense c\n}\nmodel m {\n input 4x4x1\n b(3)\n}";
    const d = only(text);
    expect(d.code).toBe("NN3001");
    expect(d.range.start.line).toBe(1);
    expect(d.related?.some((r) => r.message.includes("block `b`") && r.range.start.line === 5)).toBe(true);
  });

  it("warns when a valid pool drops rows", () => {
    const ds = diagnostics("model m {\n input 7x7x1\n pool 2\n}");
    expect(ds.map((d) => [d.code, d.severity])).toEqual([["NN3101", "warning"]]);
  });

  it("does not warn when what a window leaves over is the zeros a pad just added", () => {
    // torchvision's max pool: pad 1 on every side, then 3x3 stride 2; the last padded row is never read.
    expect(codes("model m {\n input 112x112x8\n pad 1 -> pool 3 stride 2\n}")).toEqual([]);
    expect(codes("model m {\n input 224x224x3\n pad 3 -> conv 7x7x64 stride 2\n}")).toEqual([]);
    // Data is dropped: more rows left over than the pad added, or no pad below at all.
    expect(codes("model m {\n input 113x113x8\n pad 1 -> pool 3 stride 2\n}")).toEqual([]);
    expect(codes("model m {\n input 115x115x8\n pad 1x0x1x0 -> pool 3 stride 2\n}")).toEqual(["NN3101"]);
    expect(codes("model m {\n input 114x114x8\n pool 3 stride 2\n}")).toEqual(["NN3101"]);
  });
});

describe("names", () => {
  it("suggests a layer kind for an unknown layer", () => {
    const d = only("model m {\n input 10\n desne 10\n}");
    expect(d.code).toBe("NN2001");
    expect(d.hint).toBe("Did you mean `dense`?");
  });

  it("suggests a parameter for an unknown name", () => {
    const d = only("model m(classes = 10) {\n input 10\n dense clases\n}");
    expect(d.code).toBe("NN2003");
    expect(d.hint).toBe("Did you mean `classes`?");
  });

  it("suggests a block for an unknown call", () => {
    const d = only("block basic(c) {\n dense c\n}\nmodel m {\n input 3\n basci(3)\n}");
    expect(d.code).toBe("NN2001");
    expect(d.hint).toBe("Did you mean `basic`?");
  });

  it("catches a block calling itself", () => {
    expect(codes("block b {\n dense 3\n b()\n}\nmodel m {\n input 3\n b()\n}")).toEqual(["NN2010"]);
  });

  it("checks block arguments", () => {
    const text = "block b(c, s = 1) {\n dense c*s\n}\nmodel m {\n input 3\n b(1, 2, 3)\n b(q: 2)\n b()\n}";
    expect(codes(text).sort()).toEqual(["NN2007", "NN2008", "NN2008", "NN2009"].sort());
  });

  it("warns about a block parameter that is never used", () => {
    const ds = diagnostics("block b(c, unused = 2) {\n dense c\n}\nmodel m {\n input 3\n b(2)\n}");
    expect(ds.map((d) => d.code)).toEqual(["NN2015"]);
  });

  it("reports duplicate declarations with the first one as related", () => {
    const ds = diagnostics("model m {\n input 1\n}\nmodel m {\n input 2\n}");
    expect(ds.map((d) => d.code)).toEqual(["NN2005"]);
    expect(ds[0]!.related?.[0]?.range.start.line).toBe(0);
  });

  it("reports two layers with one name", () => {
    expect(codes("model m {\n input 3\n dense 3 name fc\n dense 3 name fc\n}")).toEqual(["NN2013"]);
  });

  it("never gives an unnamed layer a name a later layer spells out (found by the fuzzer)", () => {
    const program = checkText('model m {\n input 6\n dense 4\n dense 4\n dense 4 name "dense2"\n block_user()\n}\nblock block_user {\n dense 2 name "dense5"\n}').program;
    const names = program.models[0]!.layers.map((l) => l.name);
    expect(names).toEqual(["input1", "dense1", "dense3", "dense2", "dense5"]);
  });
});

describe("recipes", () => {
  const cnn = "model m {\n input 28x28x1\n flatten -> dense 10 softmax\n}\n";
  it("accepts a complete recipe", () => {
    expect(codes(cnn + "train m {\n data mnist(train: 8000, test: 2000)\n normalize standard\n augment flip horizontal, crop 28x28 pad 4, jitter brightness 0.2 contrast 0.2\n loss crossentropy\n optim adam(0.9,0.999) lr 1e-3\n schedule warmup(5) then cosine\n weight_decay 1e-4\n clip norm 1.0\n batch 64\n epochs 20\n validate 0.1\n early_stop val_loss patience 3 restore_best\n checkpoint best val_acc\n seed 42\n}")).toEqual([]);
  });

  it("rejects crossentropy after a one-unit sigmoid", () => {
    const text = "model m {\n input 10\n dense 1 sigmoid\n}\ntrain m {\n data ball(dims: 10)\n loss crossentropy\n}";
    const d = only(text);
    expect(d.code).toBe("NN4006");
    expect(d.hint).toContain("binary_crossentropy");
    expect(slice(text, d)).toBe("loss crossentropy");
  });

  it("checks the data's shape against the model's input", () => {
    const d = only("model m {\n input 32x32x3\n flatten -> dense 10 softmax\n}\ntrain m {\n data mnist()\n loss crossentropy\n}");
    expect(d.code).toBe("NN4008");
    expect(d.message).toContain("28x28x1");
    expect(d.message).toContain("32x32x3");
  });

  it("checks the class count against the output units", () => {
    expect(codes("model m {\n input 28x28x1\n flatten -> dense 12 softmax\n}\ntrain m {\n data mnist()\n loss crossentropy\n}")).toEqual(["NN4009"]);
  });

  it("range-checks optimizer arguments", () => {
    const text = cnn + "train m {\n data mnist()\n loss crossentropy\n optim adam(0.9, 1.5)\n}";
    const d = only(text);
    expect(d.code).toBe("NN4004");
    expect(slice(text, d)).toBe("1.5");
  });

  it("suggests an optimizer for a misspelt one", () => {
    expect(only(cnn + "train m {\n data mnist()\n loss crossentropy\n optim adma\n}").hint).toBe("Did you mean `adam`?");
  });

  it("knows no shape after an unknown layer word: later layers are not blamed, the model is incomplete, its parameters are used", () => {
    const text = "block b(k = 3) {\n fancylayer k\n conv 3x3x8\n}\nmodel m {\n input 28x28x1\n b()\n dense 10 softmax\n}\n";
    expect(codes(text)).toEqual(["NN2001"]);
    expect(checkText(text).program.models.find((m) => m.name === "m")!.complete).toBe(false);
    expect(codes("model m(u = 4) {\n input 10\n mystery(u)\n dense 2 softmax\n}\n")).toEqual(["NN2001"]);
    expect(codes("model m {\n input 10\n fancylayer 3\n flatten\n}\n")).toEqual(["NN2001"]);
  });

  it("accepts val_ metrics without validation data: training holds out a tenth and says so", () => {
    expect(codes("model m {\n input 10\n dense 1 sigmoid\n}\ntrain m {\n data ball()\n loss binary_crossentropy\n early_stop val_loss\n}")).toEqual([]);
  });

  it("reads the data sources for real data, and checks what it can know before loading them", () => {
    const model = (input: string, out: string): string => `model m {\n input ${input}\n${input.includes("x") ? " flatten\n" : ""} dense ${out}\n}\n`;
    const recipe = (data: string, loss = "crossentropy"): string => `train m {\n data ${data}\n loss ${loss}\n}`;
    expect(codes(model("32x32x3", "10 softmax") + recipe('cifar10("data/cifar")'))).toEqual([]);
    expect(codes(model("28x28x1", "10 softmax") + recipe('cifar10("data/cifar")'))).toEqual(["NN4008"]);
    expect(codes(model("32x32x3", "10 softmax") + recipe('cifar100("data/cifar", labels: coarse)'))).toEqual(["NN4009"]);
    expect(codes(model("32x32x3", "100 softmax") + recipe('cifar100("data/cifar")'))).toEqual([]);
    expect(codes(model("64x64x3", "5 softmax") + recipe('images("photos/train", validation: "photos/val", fit: pad, bad_files: skip)'))).toEqual([]);
    expect(codes(model("64x64x2", "5 softmax") + recipe('images("photos/train")'))).toEqual(["NN4008"]);
    expect(codes(model("64x64x3", "5 softmax") + recipe('images("photos/train", fit: squash)'))).toEqual(["NN4011"]);
    expect(codes(model("4", "2") + recipe('csv("houses.csv", targets: "price, tax")', "mse"))).toEqual([]);
    expect(codes(model("4", "3") + recipe('csv("houses.csv", targets: "price, tax")', "mse"))).toEqual(["NN4009"]);
    expect(codes(model("4", "2") + recipe('csv("houses.csv", targets: "price, tax")'))).toEqual(["NN4006"]);
    expect(codes(model("4", "2") + recipe('csv("houses.csv", label: "y", targets: "price")', "mse"))).toEqual(["NN4011"]);
    expect(codes(model("784", "10 softmax") + recipe('npy(x: "x.npy", y: "y.npy", test_x: "xt.npy", test_y: "yt.npy")'))).toEqual([]);
    expect(codes(model("784", "10 softmax") + recipe('npy(x: "x.npy", y: "y.npy", test_x: "xt.npy")'))).toEqual(["NN4011"]);
    expect(codes(model("784", "10 softmax") + recipe('npy(x: "x.npy")'))).toEqual(["NN4011"]);
    expect(codes(model("28x28x1", "10 softmax") + recipe('npz("mnist.npz")'))).toEqual([]);
    expect(codes(model("28x28x1", "10 softmax") + recipe('npz("mnist.npz", z: "a")'))).toEqual(["NN2007"]);
  });

  it("asks for a loss, suggesting the one that fits the model's end", () => {
    const d = only("model m {\n input 10\n dense 1 sigmoid\n}\ntrain m {\n data ball()\n}");
    expect(d.code).toBe("NN4023");
    expect(d.hint).toContain("binary_crossentropy");
  });
});

describe("searches", () => {
  const base = "model m(p = 0.5) {\n input 10\n dense 16 relu -> dropout p -> dense 1 sigmoid\n}\ntrain m {\n data ball()\n loss binary_crossentropy\n}\n";
  it("accepts recipe settings and model parameters", () => {
    expect(codes(base + "search m random 20 {\n lr ~ loguniform(1e-4, 1e-1)\n p ~ choice(0.1, 0.3, 0.5)\n batch ~ int(16, 64)\n maximize val_acc\n}")).toEqual([]);
  });

  it("rejects an unknown variable with a suggestion", () => {
    const d = only(base + "search m random 5 {\n lr ~ loguniform(1e-4, 1e-1)\n q ~ choice(1)\n}");
    expect(d.code).toBe("NN4017");
    expect(d.hint).toBe("Did you mean `p`?");
  });

  it("rejects a continuous distribution in a grid", () => {
    expect(codes(base + "search m grid {\n lr ~ loguniform(1e-4, 1e-1)\n}")).toEqual(["NN4018"]);
  });
});

describe("repeats after an error", () => {
  /** Every diagnostic the expander reports for the first model, before duplicates are dropped. */
  function rawDiagnostics(text: string): Diagnostic[] {
    const model = parse(text).ast.declarations.find((d): d is AstModel => d.kind === "model")!;
    const raw: Diagnostic[] = [];
    new ModelExpander(new Map(), raw, new Map()).expand(model, new Map());
    return raw;
  }

  it("stop making passes that have no shape and can only repeat the same diagnostics", () => {
    // 2^14 passes, each asking "did you mean" again (a fuzzed line of 40 chained repeats took 2 s).
    const text = `model m {\n input 3\n ${"repeat 2 ".repeat(14)}{\n  dense 3\n  dens\n }\n}`;
    const raw = rawDiagnostics(text);
    expect(raw.filter((d) => d.code === "NN2001").length).toBeGreaterThan(0);
    expect(raw.filter((d) => d.code === "NN2001").length).toBeLessThanOrEqual(2 * 14);
    expect(codes(text)).toEqual(["NN2001"]);
  });

  it("still count the passes they skip towards the expansion limit", () => {
    const text = "model m {\n input 3\n repeat 1000 {\n  repeat 1000 {\n   dense 3\n   dens\n  }\n }\n}";
    const ds = diagnostics(text);
    expect(ds.map((d) => d.code)).toEqual(["NN3014", "NN2001"]);
    expect(slice(text, ds[0]!)).toMatch(/^repeat 1000/);
    expect(rawDiagnostics(text).length).toBeLessThan(10);
  });

  it("go on making every pass while the shape is known", () => {
    // Each pass reports both errors and goes on with the shapes the layers were meant to give.
    const text = "model m {\n input 4\n repeat 3 {\n  reshape 2x3\n  dense 4\n }\n}";
    expect(rawDiagnostics(text).map((d) => d.code)).toEqual(["NN3003", "NN3001", "NN3003", "NN3001", "NN3003", "NN3001"]);
    expect(codes(text)).toEqual(["NN3003", "NN3001"]);
  });

  it("reports arithmetic that overflows a double where it happens (NN3012), not as a size of NaN further on", () => {
    const text = "model m(w = 8, d = w/5e-324) {\n  input 4\n  dense (d*0)\n}\n";
    const d = only(text);
    expect(d.code).toBe("NN3012");
    expect(slice(text, d)).toBe("w/5e-324");
    expect(d.message).not.toMatch(/NaN|Infinity/);
  });
});
