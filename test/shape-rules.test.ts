import { describe, expect, it } from "vitest";
import { formatShape, multiplyAdds, outputShape, paramCount, windowLength } from "../src/typecheck/shape-rules.js";
import type { LayerConfig, LayerOp, ShapeResult } from "../src/typecheck/layer-config.js";
import { PADDINGS, type Padding } from "../src/language/vocabulary.js";
import { SHAPE_CASES, firstInput, inputsOf, type ShapeCase } from "./shape-cases.js";

const OPS: readonly LayerOp[] = ["input", "dense", "conv", "pool", "global_pool", "flatten", "reshape", "dropout", "batchnorm", "layernorm", "groupnorm", "activation", "add"];

/** The message and hint of whatever the rule said, for `says` and for wording checks. */
function wordsOf(result: ShapeResult): string[] {
  if (!result.ok) return [result.error.message, result.error.hint ?? ""];
  return (result.warnings ?? []).flatMap((w) => [w.message, w.hint ?? ""]);
}

describe("the shape case table", () => {
  it.each(OPS)("has at least five cases for %s", (op) => {
    expect(SHAPE_CASES.filter((c) => c.config.op === op).length).toBeGreaterThanOrEqual(5);
  });

  it("gives every case a unique name", () => {
    const names = SHAPE_CASES.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe.each(OPS)("the %s rule", (op) => {
  const cases = SHAPE_CASES.filter((c) => c.config.op === op);

  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c: ShapeCase) => {
    const result = outputShape(c.config, inputsOf(c));
    if ("error" in c.expected) {
      expect(result.ok, JSON.stringify(result)).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe(c.expected.error);
        expect(result.error.message.length).toBeGreaterThan(0);
      }
    } else {
      expect(result, JSON.stringify(result)).toMatchObject({ ok: true, shape: c.expected.shape });
      expect(paramCount(c.config, firstInput(c))).toEqual(c.expected.params);
      const warnings = result.ok ? (result.warnings ?? []) : [];
      expect(warnings.map((w) => w.code)).toEqual(c.warning === undefined ? [] : [c.warning]);
    }
    const words = wordsOf(result).join("\n");
    for (const phrase of c.says ?? []) expect(words).toContain(phrase);
    expect(words).not.toMatch(/undefined|NaN|\[object|null/);
  });
});

describe("windowLength", () => {
  const span = (k: number, d: number) => d * (k - 1) + 1;

  /** Counts window positions one by one over the (padded) input, independent of the formulas. */
  function countWindows(n: number, k: number, s: number, d: number, padding: Padding): number {
    const kk = span(k, d);
    let padded: number;
    if (padding === "valid") padded = n;
    else if (padding === "full") padded = n + 2 * (kk - 1);
    else padded = n + Math.max((Math.ceil(n / s) - 1) * s + kk - n, 0); // TensorFlow's `same` padding
    let count = 0;
    for (let start = 0; start + kk <= padded; start += s) count++;
    return count;
  }

  it("uses ceil((n - k' + 1)/s) for valid, ceil(n/s) for same and ceil((n + k' - 1)/s) for full", () => {
    for (let n = 1; n <= 14; n++)
      for (let k = 1; k <= 5; k++)
        for (let s = 1; s <= 3; s++)
          for (let d = 1; d <= 3; d++) {
            const kk = span(k, d);
            expect(windowLength(n, k, s, d, "valid")).toBe(Math.ceil((n - kk + 1) / s) || 0);
            expect(windowLength(n, k, s, d, "same")).toBe(Math.ceil(n / s));
            expect(windowLength(n, k, s, d, "full")).toBe(Math.ceil((n + kk - 1) / s));
          }
  });

  it("agrees with counting the window positions one by one", () => {
    for (const padding of PADDINGS)
      for (let n = 1; n <= 14; n++)
        for (let k = 1; k <= 5; k++)
          for (let s = 1; s <= 3; s++)
            for (let d = 1; d <= 3; d++) {
              expect(Math.max(windowLength(n, k, s, d, padding), 0), `${padding} n=${n} k=${k} s=${s} d=${d}`).toBe(countWindows(n, k, s, d, padding));
            }
  });

  it("is zero or negative when a valid window is larger than its input", () => {
    expect(windowLength(3, 5, 1, 1, "valid")).toBe(-1);
    expect(windowLength(4, 5, 1, 1, "valid")).toBe(0);
    expect(windowLength(4, 3, 1, 2, "valid")).toBe(0);
    expect(windowLength(2, 3, 2, 1, "valid")).toBe(0);
  });

  it("gives the classic MNIST sizes", () => {
    expect(windowLength(28, 5, 1, 1, "same")).toBe(28);
    expect(windowLength(28, 2, 2, 1, "valid")).toBe(14);
    expect(windowLength(14, 2, 2, 1, "valid")).toBe(7);
    expect(windowLength(7, 2, 2, 1, "valid")).toBe(3);
    expect(windowLength(28, 5, 1, 1, "full")).toBe(32);
  });
});

describe("formatShape", () => {
  it("writes shapes as the spec does", () => {
    expect(formatShape([28, 28, 1])).toBe("28x28x1");
    expect(formatShape([100])).toBe("100");
  });
});

describe("the shape rules never throw", () => {
  const odd: number[][] = [[], [0], [-3], [Number.NaN], [Infinity], [2.5], [1, 1, 1, 1], [0, 0, 0], [Number.MAX_SAFE_INTEGER]];
  const configs: LayerConfig[] = [
    ...SHAPE_CASES.map((c) => c.config),
    { op: "conv", kernel: [Number.NaN, -1], filters: Infinity, strides: [0, 0], dilation: [-1, 0], padding: "full", groups: 1, useBias: true, kernelInit: { name: "zeros" }, biasInit: 0, l1: 0, l2: 0 },
    { op: "pool", mode: "max", size: [Infinity, 2], strides: [Number.NaN, 1], padding: "same" },
    { op: "groupnorm", groups: Number.NaN, epsilon: 0 },
    { op: "activation", activation: { name: "maxout", k: Number.NaN } },
    { op: "reshape", shape: [] },
  ];

  it("for any configuration with any odd input", () => {
    for (const config of configs) {
      for (const shape of odd) {
        for (const inputs of [[], [shape], [shape, shape], [shape, [1]]]) {
          const result = outputShape(config, inputs);
          expect(typeof result.ok).toBe("boolean");
          paramCount(config, shape);
        }
      }
    }
  });

  it("reports a layer given no input instead of failing", () => {
    expect(outputShape({ op: "flatten" }, [])).toMatchObject({ ok: false, error: { code: "NN3001" } });
  });
});

describe("multiplyAdds", () => {
  const conv = (kernel: [number, number], filters: number): LayerConfig => ({ op: "conv", kernel, filters, strides: [1, 1], dilation: [1, 1], padding: "same", groups: 1, useBias: true }) as LayerConfig;
  it("counts a conv layer's output values times its kernel's volume (the MNIST CNN's second conv)", () => {
    expect(multiplyAdds(conv([5, 5], 64), [14, 14, 32], [14, 14, 64])).toBe(14 * 14 * 64 * 5 * 5 * 32);
  });
  it("counts a dense layer's product, for every position of a rank > 1 input", () => {
    const dense = { op: "dense", units: 1024, useBias: true } as LayerConfig;
    expect(multiplyAdds(dense, [3136], [1024])).toBe(3136 * 1024);
    expect(multiplyAdds({ ...dense, units: 3 } as LayerConfig, [5, 8], [5, 3])).toBe(5 * 8 * 3);
  });
  it("counts 0 for elementwise layers, reductions, and unknown sizes", () => {
    expect(multiplyAdds({ op: "pool", mode: "max", size: [2, 2], strides: [2, 2], padding: "valid" }, [28, 28, 32], [14, 14, 32])).toBe(0);
    expect(multiplyAdds({ op: "flatten" }, [7, 7, 64], [3136])).toBe(0);
    expect(multiplyAdds(conv([3, 3], 8), [], [])).toBe(0);
  });
});
