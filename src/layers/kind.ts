/**
 * What a layer kind is, in one record (Keras keeps a layer in one class; this is that in
 * TypeScript's terms): how a spec writes it, how its words resolve to a configuration, its
 * shape rule, parameter and multiply-add counts, how it reads in messages, summaries and
 * hovers, and its code for each target. `index.ts` collects one record per `LayerOp` in a
 * table whose type is exhaustive, so a new kind that lacks any of these does not compile.
 *
 * The records are pure: the checker hands them a `ResolveContext`, the emitter an
 * `EmitContext`, so nothing here imports the phases that use them.
 */
import type { Range } from "../diagnostics/diagnostic.js";
import type { Code } from "../diagnostics/codes.js";
import type { Padding } from "../language/vocabulary.js";
import type { AstExpr, AstLayer } from "../parser/ast.js";
import type { ActivationSpec, Config, InitSpec, LayerOp, ParamCount, Shape, ShapeErrorSubject, ShapeResult, WeightOptions, WeightTensor } from "./types.js";
import type { LayerKindInfo } from "./words.js";

/** What resolving a layer's words needs from the checker: values evaluated in scope, defaults, errors. */
export interface ResolveContext {
  readonly layer: AstLayer;
  /** The first positional value, if written. */
  readonly first: AstExpr | undefined;
  /** The trailing activation, resolved; `activationOk` is false when it was written wrong (reported). */
  readonly activation: ActivationSpec | undefined;
  readonly activationOk: boolean;
  /** The rank of the layer's input where known (2: a sequence, length x channels). */
  readonly inputRank: number | undefined;
  /** A number as messages show it (six significant digits). */
  format(n: number): string;
  /** An expression as the spec wrote it (`3x3xc`), for messages. */
  source(e: AstExpr): string;
  /** `5x5x32` → [5, 5, 32]; undefined when a value failed (reported). */
  dims(e: AstExpr, what: string): number[] | undefined;
  /** Sizes that may be 0: `0x1x0x1` → [0, 1, 0, 1]. */
  sizes(e: AstExpr, what: string): number[] | undefined;
  /** `2` → [2, 2], `2x1` → [2, 1]. */
  pair(e: AstExpr, what: string): [number, number] | undefined;
  positiveInt(e: AstExpr, what: string): number | undefined;
  number(e: AstExpr, what: string): number | undefined;
  /** An option taking a pair (`stride 2`), or its default when not written. */
  pairOption(key: string, dflt: [number, number]): [number, number] | undefined;
  /** An option taking a whole number ≥ 1 (`groups 32`), or its default. */
  intOption(key: string, dflt: number): number | undefined;
  /** An option taking a number checked by `valid` (`epsilon 1e-5`), or its default. */
  numberOption(key: string, dflt: number, valid: (v: number) => boolean, rule: string): number | undefined;
  /** `valid`, `same` or `full`: at most one, else the default. */
  padding(dflt: Padding): Padding | undefined;
  /** At most one of `words` may be written; the one written, or the default. */
  exclusive(words: string[], dflt: string | undefined): string | undefined;
  /** `init`, `bias`, `no_bias`, `l1`, `l2`. */
  weights(): WeightOptions | undefined;
  /** Where a part of the layer is written, so shape errors point at it. */
  subject(subject: ShapeErrorSubject, range: Range): void;
  error(code: Code, message: string, range: Range, hint?: string): void;
}

/** What a kind's TF.js code needs from the emitter. Every string it returns is code. */
export interface EmitContext {
  /** The layer's name as a string literal. */
  readonly name: string;
  /** `, trainable: false` for a frozen layer, else empty. */
  readonly trainable: string;
  /** The variable holding the layer's i-th input. */
  input(i?: number): string;
  /** Every input's variable, in order. */
  inputs(): string[];
  literal(value: unknown): string;
  /** `seed + n`: a fresh seed for an initialiser or dropout. */
  seed(): string;
  /** `useBias`, `kernelInitializer` (seeded), bias initialiser and regulariser options. */
  weightOptions(w: WeightOptions, initializerKey?: string): string[];
  /** The activation as TF.js's built-in `activation` option, where it has one. */
  builtin(activation: ActivationSpec | undefined): string | undefined;
  /**
   * A helper layer before the layer itself (a `full` padding's zero-padding): `expr` is a TF.js
   * layer factory call taking `name`; returns the variable holding its output on `input`.
   */
  before(suffix: string, factory: (name: string) => string, input: string): string;
  /** The layer's output: `nnc.apply(layerExpr, input)`, then its activation unless `inline` took it. */
  applied(layerExpr: string, input: string, activation: ActivationSpec | undefined, inline?: boolean): void;
  /** The layer's output is exactly this expression. */
  assign(expr: string): void;
}

/** How a TF.js weight's values lie in the PyTorch tensor (python/nnc_torch/tfjs_format.py reads the same names). */
export type TorchLayout = "same" | "dense" | "conv2d" | "conv1d" | "depthwise" | "upconv";

/** A weight of a PyTorch module, tied to its TF.js weight so both targets load and save the same files. */
export interface TorchWeight {
  /** The TF.js weight's own name (`kernel`, `bias`, `depthwise_kernel`, `gamma`, `alpha`, …). */
  tf: string;
  /** The tensor in the module, from the layer's attribute: `weight`, `depthwise.weight`. */
  path: string;
  layout: TorchLayout;
  /** Its shape in TF.js (what model.json lists). */
  shape: number[];
  /** How it starts: an initialiser of the spec (a kernel), or a constant (a bias). Omitted: the module's own (norms: 1 and 0). */
  init?: InitSpec | { constant: number };
  /** The spec's `l1`/`l2` penalty on it (a kernel). */
  l1?: number;
  l2?: number;
}

/**
 * What a kind's PyTorch code needs from the emitter (src/codegen/pytorch/). Inside the module
 * tensors are channels-first (NCHW, NCL); the spec's shapes, and so `EmittedLayer`'s, are
 * channels-last. Every string it returns is Python code.
 */
export interface TorchContext {
  /** The variable holding the layer's i-th input in `forward`. */
  input(i?: number): string;
  /** Every input's variable, in order. */
  inputs(): string[];
  /** A Python literal: numbers, strings, lists, tuples of numbers. */
  literal(value: unknown): string;
  /** `self.<attr> = <expr>` in `__init__`, under the layer's own name; returns the attribute. */
  module(expr: string): string;
  /** The name the TF.js code gives a helper layer at this point (`conv1_pad`): taken so both targets name the same layers. */
  helper(suffix: string): string;
  /** A weight of the module `attr` (initialised, frozen, penalised and tied to TF.js's `<layer>/<tf>`). */
  weight(attr: string, w: TorchWeight): void;
  /**
   * The layer's output is `expr`, then its activation: a function, or a module of its own for
   * PReLU. `inline`: the TF.js code passes TF.js's built-in activations as the layer's option
   * (dense, convs), so only the others are a layer of their own there.
   */
  output(expr: string, activation: ActivationSpec | undefined, inline?: boolean): void;
  /** `expr` through `activation` as this layer itself (a lone activation layer; PReLU's slopes are its weights). */
  activation(expr: string, activation: ActivationSpec): string;
}

/** A checked layer as a kind's code sees it. */
export interface EmittedLayer<K extends LayerOp> {
  name: string;
  config: Config<K>;
  inputShapes: number[][];
  outputShape: number[];
  frozen: boolean;
}

export interface LayerKind<K extends LayerOp> {
  /** How a spec writes it: the head word and its vocabulary (absent for kinds written by a statement of their own: merges, lone activations). */
  words: { word: string; info: LayerKindInfo; positional: ShapeErrorSubject } | undefined;
  /** The layer's words → its configuration (undefined when a value is wrong: already reported). */
  resolve: ((ctx: ResolveContext) => Config<K> | undefined) | undefined;
  /** Output shape for the input shape(s), or why none. */
  shape(config: Config<K>, input: Shape, inputs: readonly Shape[]): ShapeResult;
  /** As Keras's `countParams()`: trainable and not (batchnorm's moving statistics). `frozen` is the checker's business. */
  params(config: Config<K>, input: Shape): ParamCount;
  /** Its large weight tensors with exact sizes (for NN3015). */
  weights(config: Config<K>, input: Shape): WeightTensor[];
  /** One sample's multiply-adds, as torchinfo's Mult-Adds. */
  multiplyAdds(config: Config<K>, input: Shape, output: Shape): number;
  /** The layer as the spec would write it, without options: `conv 5x5x32`. */
  text(config: Config<K>): string;
  /** The summary's kind column: `conv`, `pool avg`, `relu`. */
  label(config: Config<K>): string;
  /** The base of its automatic name (`conv` → `conv1`). */
  baseName(config: Config<K>): string;
  /** Its resolved options, defaults included, as hover rows. */
  rows(config: Config<K>): [string, string][];
  /** The shape it would give if its input were right (to go on checking after an error). */
  intended(config: Config<K>, input: Shape | undefined): number[] | undefined;
  /** TensorFlow.js layers code. */
  tfjs(layer: EmittedLayer<K>, ctx: EmitContext): void;
  /** PyTorch code: its module in `__init__` and its line of `forward`, the same weights as the TF.js code's. */
  pytorch(layer: EmittedLayer<K>, ctx: TorchContext): void;
}
