/**
 * JIT warm-up. A fresh server checks a 1,000-layer spec in ~150–250 ms, and only after about
 * ten checks in ~10 ms, while V8 compiles the lexer, parser and checker. So the server checks
 * a built-in spec that uses every construct a few times right after it starts, in slices
 * between messages, instead of making the user's first keystrokes wait for the compiler.
 */
import { checkText } from "../pipeline.js";

/** A spec that uses every layer kind, blocks, repeat, residual, a recipe and a search. */
export function warmUpSpec(copies: number): string {
  const parts: string[] = [];
  for (let i = 0; i < copies; i++) {
    parts.push(
      `block unit${i}(c, stride = 1) {`,
      "  conv 3x3xc relu same stride stride -> batchnorm",
      "  conv 3x3 filters c same init he_normal l2 1e-4 -> groupnorm 4 relu",
      "}",
      `model warm${i}(classes = 10) {`,
      "  input 28x28x1 name image",
      "  conv 3x3x16 same -> batchnorm relu",
      `  residual { unit${i}(16) }`,
      `  residual project { unit${i}(c: 32, stride: 2) }`,
      "  repeat 2 { conv 3x3x32 dilation 2 same -> layernorm -> leaky_relu(0.1) }",
      "  pool avg 3 stride 1 same -> pool 2",
      "  global avgpool",
      "  dense 64 elu(1.0) no_bias -> dropout 0.5 -> prelu",
      "  reshape 8x8x1 -> flatten -> maxout(2)",
      "  dense classes softmax",
      "}",
      `train warm${i} {`,
      "  data mnist(train: 100, test: 10)",
      "  loss crossentropy",
      "  optim adam(0.9, 0.999) lr 1e-3",
      "  schedule warmup(2) then cosine",
      "  batch 32",
      "  epochs 2",
      "}",
      `search warm${i} random 4 {`,
      "  lr ~ loguniform(1e-4, 1e-1)",
      "  maximize val_acc",
      "}",
    );
  }
  return parts.join("\n");
}

/**
 * Checks the sample `rounds` times, one check per macrotask (`setImmediate`), so messages
 * that arrive meanwhile wait for one check at most; `stop()` ends it early.
 */
export function warmUp(rounds = 12): { stop: () => void } {
  const text = warmUpSpec(12);
  let left = rounds;
  let timer: NodeJS.Immediate | undefined;
  const step = (): void => {
    if (left-- <= 0) return;
    // A mistake in the sample would only cost time; it is still the code paths we want warm.
    checkText(left % 2 === 0 ? text : text.replace("dense 64", "dense 65"));
    timer = setImmediate(step);
  };
  timer = setImmediate(step);
  return { stop: () => timer !== undefined && clearImmediate(timer) };
}
