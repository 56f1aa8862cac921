/**
 * The types every layer kind shares: shapes, resolved configurations, parameter counts and
 * the values a shape rule returns. Each kind's own configuration is declared in its file
 * (`conv.ts` declares `ConvConfig`); `LayerConfig` is their union. Shapes leave the batch
 * dimension out.
 */
import type { ActivationConfig, InitConfig } from "../runtime/config.js";
import type { ActivationLayerConfig } from "./activation.js";
import type { BatchnormConfig, GroupnormConfig, LayernormConfig } from "./norms.js";
import type { ConvConfig } from "./conv.js";
import type { CropConfig, PadConfig } from "./pad.js";
import type { DenseConfig } from "./dense.js";
import type { DepthwiseConfig } from "./depthwise.js";
import type { DropoutConfig } from "./dropout.js";
import type { FlattenConfig, ReshapeConfig } from "./reshape.js";
import type { GlobalPoolConfig, PoolConfig } from "./pool.js";
import type { InputConfig } from "./input.js";
import type { AddConfig, ConcatConfig, MultiplyConfig } from "./merge.js";
import type { SeparableConfig } from "./separable.js";
import type { UpconvConfig } from "./upconv.js";
import type { UpsampleConfig } from "./upsample.js";

/** A tensor shape without the batch dimension: [features], [length, channels] or [height, width, channels]. */
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

/** Every layer kind's resolved configuration, told apart by `op`. */
export type LayerConfig =
  | InputConfig
  | DenseConfig
  | ConvConfig
  | DepthwiseConfig
  | SeparableConfig
  | UpconvConfig
  | PoolConfig
  | GlobalPoolConfig
  | UpsampleConfig
  | PadConfig
  | CropConfig
  | FlattenConfig
  | ReshapeConfig
  | DropoutConfig
  | BatchnormConfig
  | LayernormConfig
  | GroupnormConfig
  | ActivationLayerConfig
  | AddConfig
  | ConcatConfig
  | MultiplyConfig;

export type LayerOp = LayerConfig["op"];
export type Config<K extends LayerOp> = Extract<LayerConfig, { op: K }>;

export interface ParamCount {
  trainable: number;
  nonTrainable: number;
}

/**
 * Which part of the layer a shape error is about, so the checker can put the diagnostic's
 * range on that word of the spec (the `5x5x32`, the `stride 2`, …).
 */
export type ShapeErrorSubject = "layer" | "kernel" | "filters" | "stride" | "dilation" | "padding" | "size" | "shape" | "units" | "groups" | "activation" | "input" | "multiplier";

/** What a shape rule says when the input cannot go through the layer. */
export interface ShapeError {
  subject: ShapeErrorSubject;
  /** Elm-style: what was needed, what was seen, in the spec's terms (no code, no range). */
  message: string;
  hint?: string;
  /** Which NN3xxx code the checker should report. */
  code: "NN3001" | "NN3002" | "NN3003" | "NN3004" | "NN3005" | "NN3006" | "NN3007" | "NN3008" | "NN3017";
}

/** A legal but suspicious shape (e.g. a valid-padded pool that drops the last row). */
export interface ShapeWarning {
  subject: ShapeErrorSubject;
  message: string;
  hint?: string;
  code: "NN3101" | "NN3102" | "NN3103";
  /** NN3101: how many rows and columns at the bottom and right no window reaches. */
  dropped?: { rows: number; columns: number };
}

export type ShapeResult = { ok: true; shape: number[]; warnings?: ShapeWarning[] } | { ok: false; error: ShapeError };

/** A weight tensor of a layer with its exact size (NN3015 counts past 2^53). */
export interface WeightTensor {
  name: string;
  shape: string;
  values: bigint;
}
