/**
 * Habits from other languages (issue 12): each is one error with the nnc spelling, and the
 * statement is read as what it means, so a model written in Keras's or PyTorch's words checks
 * to the same layers, shapes and parameter counts as the model written in nnc's, and the
 * quick fix writes that model.
 */
import { describe, expect, it } from "vitest";
import type { Diagnostic, Fix } from "../src/diagnostics/diagnostic.js";
import { readHabits } from "../src/parser/lexer.js";
import { checkText } from "../src/pipeline.js";
import { model } from "./helpers.js";

/** Applies every fix of every diagnostic (their edits do not overlap), from the end. */
function applyAll(text: string, diagnostics: readonly Diagnostic[]): string {
  const edits = diagnostics.flatMap((d) => (d.fixes?.[0] as Fix | undefined)?.edits ?? []).sort((a, b) => b.range.start.offset - a.range.start.offset);
  let out = text;
  for (const e of edits) out = out.slice(0, e.range.start.offset) + e.newText + out.slice(e.range.end.offset);
  return out;
}

/** Layers as the summary shows them: kind, output shape, parameters. */
function layers(text: string): string[] {
  const r = checkText(text);
  const m = r.program.models[0]!;
  return m.layers.map((l) => `${l.kind} ${l.outputShape.join("x")} ${l.params.trainable}+${l.params.nonTrainable}`);
}

const NNC_CNN = `model cnn {
  input 28x28x1
  conv 3x3x32 relu same
  pool 2
  conv 5x5x64 same
  relu
  flatten
  dropout 0.25
  dense 128 relu init he_normal
  batchnorm momentum 0.9
  dense 10 softmax
}
`;

describe("a model written in another library's words", () => {
  const keras = `model cnn {
  input 28x28x1
  layers.Conv2D(32, (3, 3), activation='relu', padding='same')
  MaxPooling2D(pool_size=(2, 2))
  Conv2D(filters=64, kernel_size=5, padding="same")
  Activation('relu')
  Flatten()
  Dropout(0.25)
  Dense(128, activation='relu', kernel_initializer='he_normal')
  BatchNormalization(momentum=0.9)
  Dense(10, activation='softmax')
}
`;
  const torch = `model cnn {
  input 28x28x1
  nn.Conv2d(1, 32, 3, padding=1)
  nn.ReLU(inplace=True)
  nn.MaxPool2d(2)
  nn.Conv2d(32, 64, kernel_size=5, padding=2)
  nn.ReLU()
  nn.Flatten()
  nn.Dropout(p=0.25)
  nn.Linear(3136, 128)
  nn.ReLU()
  nn.BatchNorm1d(128, momentum=0.1)
  nn.Linear(128, 10)
  nn.Softmax(dim=1)
}
`;

  it("in Keras's: one NN1025 a layer, and the same layers, shapes and parameters as in nnc's", () => {
    const r = checkText(keras);
    expect(r.diagnostics.map((d) => d.code)).toEqual(Array(9).fill("NN1025"));
    expect(layers(keras)).toEqual(layers(NNC_CNN));
  });

  it("in Keras's: the quick fixes write a model that checks clean, the same as nnc's", () => {
    const fixed = applyAll(keras, checkText(keras).diagnostics);
    expect(checkText(fixed).diagnostics).toEqual([]);
    expect(layers(fixed)).toEqual(layers(NNC_CNN));
  });

  it("in PyTorch's: the input channels and sizes are dropped, padding read as `same`, momentum turned round", () => {
    const r = checkText(torch);
    expect(r.diagnostics.every((d) => d.code === "NN1025")).toBe(true);
    expect(r.diagnostics).toHaveLength(12);
    const m = r.program.models[0]!;
    expect(m.layers.map((l) => l.kind)).toEqual(["input", "conv", "relu", "pool", "conv", "relu", "flatten", "dropout", "dense", "relu", "batchnorm", "dense", "softmax"]);
    expect(m.output).toEqual([10]);
    const bn = m.layers.find((l) => l.config.op === "batchnorm")!;
    expect(bn.config).toMatchObject({ momentum: 0.9 });
    const fixed = applyAll(torch, r.diagnostics);
    expect(checkText(fixed).diagnostics).toEqual([]);
    expect(model(fixed).params).toEqual(m.params);
  });

  it("with keyword arguments on nnc's own layers, a missing value becomes a placeholder and no shape is guessed", () => {
    const text = "model m {\n  input 28x28x1\n  conv kernel_size=3 activation=relu padding='same'\n  flatten\n  dense 10 softmax\n}\n";
    const r = checkText(text);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]!.hint).toBe("Write `conv 3x3xF relu same`, where F is the number of filters.");
    expect(r.diagnostics[0]!.fixes).toBeUndefined();
    expect(r.program.models[0]!.complete).toBe(false);
  });

  it("reads a layer nnc lacks as no layer at all, with no error after it", () => {
    const text = "model m {\n  input 28x28x1\n  nn.ZeroPad2d(2)\n  flatten\n  dense 10 softmax\n}\n";
    const r = checkText(text);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["NN1035"]);
  });
});

describe("recipes written in another library's words", () => {
  const recipe = (lines: string): string => `model m {\n  input 10\n  dense 2 softmax\n}\ntrain m {\n  data ball(dims: 10)\n${lines}\n}\n`;
  const cases: [string, string, { optimizer?: { name: string; args: Record<string, number> }; lr?: number; batch?: number; epochs?: number; loss?: string }][] = [
    ["optim Adam(lr=0.001)", "optim adam lr 0.001", { optimizer: { name: "adam", args: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } }, lr: 0.001 }],
    ["optim torch.optim.Adam(lr=3e-4, betas=(0.8, 0.99))", "optim adam(0.8, 0.99) lr 3e-4", { optimizer: { name: "adam", args: { beta1: 0.8, beta2: 0.99, epsilon: 1e-7 } }, lr: 3e-4 }],
    ["optim SGD(learning_rate=0.1, momentum=0.9, nesterov=True)", "optim nesterov(0.9) lr 0.1", { optimizer: { name: "nesterov", args: { beta: 0.9 } }, lr: 0.1 }],
    ["optim optim.SGD(lr=0.1)", "optim sgd lr 0.1", { optimizer: { name: "sgd", args: {} }, lr: 0.1 }],
    ["optim RMSprop(lr=0.01, alpha=0.95)", "optim rmsprop(0.95) lr 0.01", { optimizer: { name: "rmsprop", args: { rho: 0.95, epsilon: 1e-7 } }, lr: 0.01 }],
    ["optim adam(lr: 0.002)", "optim adam lr 0.002", { lr: 0.002 }],
    ["batch_size = 16", "batch 16", { batch: 16 }],
    ["num_epochs: 3", "epochs 3", { epochs: 3 }],
    ["loss 'categorical_crossentropy'", "loss crossentropy", { loss: "crossentropy" }],
    ["loss nn.CrossEntropyLoss()", "loss crossentropy", { loss: "crossentropy" }],
  ];
  it.each(cases)("`%s` is one error whose fix writes `%s`, and the recipe is read as that", (line, nnc, want) => {
    const text = recipe(line.startsWith("loss") ? `  ${line}` : `  loss crossentropy\n  ${line}`);
    const r = checkText(text);
    expect(r.diagnostics, r.diagnostics.map((d) => d.message).join("; ")).toHaveLength(1);
    const d = r.diagnostics[0]!;
    expect(d.hint).toContain(`\`${nnc}\``);
    const fixed = applyAll(text, r.diagnostics);
    expect(fixed).toContain(nnc);
    const clean = checkText(fixed);
    expect(clean.diagnostics).toEqual([]);
    const got = r.program.recipes[0]!;
    if (want.optimizer) expect(got.optimizer).toEqual(want.optimizer);
    for (const key of ["lr", "batch", "epochs", "loss"] as const) if (want[key] !== undefined) expect(got[key]).toEqual(want[key]);
    expect(clean.program.recipes[0]).toEqual({ ...got, range: clean.program.recipes[0]!.range });
  });
});

describe("characters and layout from elsewhere", () => {
  it("reads a YAML-style model and recipe as the braced ones, one error for each body", () => {
    const yaml = "model mlp:\n  input: 10\n  dense: 32 relu\n  dense: 1 sigmoid\n\ntrain mlp:\n  data: ball(dims: 10)\n  loss: binary_crossentropy\n";
    const braced = "model mlp {\n  input 10\n  dense 32 relu\n  dense 1 sigmoid\n}\n\ntrain mlp {\n  data ball(dims: 10)\n  loss binary_crossentropy\n}\n";
    const r = checkText(yaml);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["NN1034", "NN1034"]);
    expect(layers(yaml)).toEqual(layers(braced));
    expect(r.program.recipes[0]!.loss).toBe("binary_crossentropy");
    const fixed = applyAll(yaml, r.diagnostics);
    expect(checkText(fixed).diagnostics).toEqual([]);
    expect(layers(fixed)).toEqual(layers(braced));
  });

  it("reads a body indented without braces or colon, and one that only lacks its `{`", () => {
    const noColon = checkText("model mlp\n  input 10\n  dense 1 sigmoid\n");
    expect(noColon.diagnostics.map((d) => d.code)).toEqual(["NN1034"]);
    expect(noColon.program.models[0]!.output).toEqual([1]);
    const noOpen = checkText("model mlp\n  input 10\n  dense 1 sigmoid\n}\n");
    expect(noOpen.diagnostics.map((d) => d.code)).toEqual(["NN1003"]);
    expect(noOpen.program.models[0]!.output).toEqual([1]);
  });

  it("keeps a name outside ASCII as written, so its uses find it, and offers one fix for all of them", () => {
    const text = "model réseau {\n  input 10\n  dense 1 sigmoid\n}\ntrain réseau {\n  data ball(dims: 10)\n  loss binary_crossentropy\n}\n";
    const r = checkText(text);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["NN1029"]);
    expect(r.program.models[0]!.name).toBe("réseau");
    expect(r.program.recipes[0]!.model).toBe("réseau");
    expect(r.diagnostics[0]!.fixes![0]!.edits).toHaveLength(2);
    expect(checkText(applyAll(text, r.diagnostics)).diagnostics).toEqual([]);
  });

  it("shows invisible characters by their code point, and a byte-order mark only after the start", () => {
    for (const [c, name] of [["\u200b", "U+200B (zero-width space)"], ["\u200d", "U+200D (zero-width joiner)"], ["\ufeff", "U+FEFF (byte-order mark)"], ["\u202e", "U+202E (bidirectional formatting)"]] as const) {
      const r = checkText(`model m {\n  input 10\n  dense${c} 1 sigmoid\n}\n`);
      expect(r.diagnostics.map((d) => d.code)).toEqual(["NN1030"]);
      expect(r.diagnostics[0]!.message).toContain(name);
      expect(r.program.models[0]!.output).toEqual([1]);
    }
    expect(checkText("\ufeffmodel m {\n  input 10\n  dense 1 sigmoid\n}\n").diagnostics).toEqual([]);
  });

  it("replaces each habit by characters of the same length, so every offset stays put", () => {
    const text = "model ré.seau { input 28×28×1; conv 3x3x8 'same' “relu” –> flatten\u200b }";
    const read = readHabits(text);
    expect(read.text).toHaveLength(text.length);
    expect(read.habits.map((h) => h.kind)).toEqual(["non-ascii", "dotted", "times", "times", "semicolon", "quote", "quote", "dash", "invisible"]);
    // Two names on either side of a lone surrogate (not a letter): their replacements must not overlap.
    const split = "train 밁\ude81汖\n";
    expect(readHabits(split).text).toHaveLength(split.length);
    // A number run into a letter outside ASCII stays the number, exponent and all.
    expect(readHabits("1e8爵").habits).toEqual([{ kind: "non-ascii", start: 3, end: 4, name: "爵" }]);
  });

  it("reads a block called with a space as the call, and a Python tuple as dimensions", () => {
    const text = "block b(c, s = 1) {\n  conv 3x3xc stride s same\n}\nmodel m {\n  input (32, 32, 3)\n  b (16, s: 2)\n  global avgpool\n  dense 2 softmax\n}\n";
    const r = checkText(text);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["NN1036", "NN1015"]);
    expect(r.program.models[0]!.layers.map((l) => l.outputShape.join("x"))).toEqual(["32x32x3", "16x16x16", "16", "2"]);
    expect(checkText(applyAll(text, r.diagnostics)).diagnostics).toEqual([]);
  });

  it("keeps the checker's findings on a line whose habit was read as meant: `dropout 1.5;` is two mistakes", () => {
    const r = checkText("model m {\n  input 10\n  dropout 1.5;\n  dense 1 sigmoid\n}\n");
    expect(r.diagnostics.map((d) => d.code)).toEqual(["NN3011", "NN1031"]);
  });
});
