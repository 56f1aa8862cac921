/**
 * Resolved layer configurations: every value a number, every name resolved. The shape rules
 * (shape-rules.ts) take these; codegen will too. Shapes leave the batch dimension out.
 */
import type { Padding } from "../language/vocabulary.js";
import type { ActivationConfig, InitConfig } from "../runtime/config.js";

/** A tensor shape without the batch dimension: [features] or [height, width, channels]. */
export type Shape = readonly number[];

/** Initialisers and activations as the runtime receives them (one definition, in runtime/config.ts). */
export type InitSpec = InitConfig;
export type ActivationSpec = ActivationConfig;

export interface WeightOptions {
  useBias: boolean;
  kernelInit: InitSpec;
  biasInit: number;
  l1: number;
  l2: number;
}

export type LayerConfig =
  | { op: "input"; shape: number[] }
  | ({ op: "dense"; units: number; activation?: ActivationSpec } & WeightOptions)
  | ({
      op: "conv";
      kernel: [number, number];
      filters: number;
      strides: [number, number];
      dilation: [number, number];
      padding: Padding;
      activation?: ActivationSpec;
    } & WeightOptions)
  | { op: "pool"; mode: "max" | "avg"; size: [number, number]; strides: [number, number]; padding: Padding }
  | { op: "global_pool"; mode: "max" | "avg" }
  | { op: "flatten" }
  | { op: "reshape"; shape: number[] }
  | { op: "dropout"; rate: number }
  | { op: "batchnorm"; momentum: number; epsilon: number; activation?: ActivationSpec }
  | { op: "layernorm"; epsilon: number; activation?: ActivationSpec }
  | { op: "groupnorm"; groups: number; epsilon: number; activation?: ActivationSpec }
  | { op: "activation"; activation: ActivationSpec }
  /** Elementwise sum of the inputs (a residual join); all inputs must have equal shapes. */
  | { op: "add" };

export type LayerOp = LayerConfig["op"];

export interface ParamCount {
  trainable: number;
  nonTrainable: number;
}

/**
 * Which part of the layer a shape error is about, so the checker can put the diagnostic's
 * range on that word of the spec (the `5x5x32`, the `stride 2`, …).
 */
export type ShapeErrorSubject = "layer" | "kernel" | "filters" | "stride" | "dilation" | "padding" | "size" | "shape" | "units" | "groups" | "activation" | "input";

/** What a shape rule says when the input cannot go through the layer. */
export interface ShapeError {
  subject: ShapeErrorSubject;
  /** Elm-style: what was needed, what was seen, in the spec's terms (no code, no range). */
  message: string;
  hint?: string;
  /** Which NN3xxx code the checker should report. */
  code: "NN3001" | "NN3002" | "NN3003" | "NN3004" | "NN3005" | "NN3006" | "NN3007" | "NN3008";
}

/** A legal but suspicious shape (e.g. a valid-padded pool that drops the last row). */
export interface ShapeWarning {
  subject: ShapeErrorSubject;
  message: string;
  hint?: string;
  code: "NN3101" | "NN3102" | "NN3103";
}

export type ShapeResult = { ok: true; shape: number[]; warnings?: ShapeWarning[] } | { ok: false; error: ShapeError };
