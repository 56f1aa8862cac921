/**
 * `nnc/runtime`: what generated code imports. It never imports the compiler.
 *
 *   import { nnc, tf, type TrainConfig } from "nnc/runtime";
 *
 * `tf` is the one TensorFlow.js instance the runtime trains with (so the backend it picks is
 * the one the model is built on); `nnc` holds the helpers generated code calls.
 */
import * as tf from "@tensorflow/tfjs";
import { initializer } from "./initializers.js";
import { activationLayer, channelPad, channelwisePrelu, dilatedConv2d, groupedConv2d, groupNorm, maxout } from "./layers.js";
import { train } from "./train.js";

/** Applies a layer to one symbolic tensor (or a list, for `add`) and returns its one output. */
function apply(layer: tf.layers.Layer, input: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor {
  const out = layer.apply(input);
  if (Array.isArray(out) || !(out instanceof tf.SymbolicTensor)) {
    throw new Error(`nnc: layer ${layer.name} did not give one symbolic tensor; this is a bug in the generated code`);
  }
  return out;
}

export const nnc = { apply, initializer, activationLayer, channelPad, channelwisePrelu, dilatedConv2d, groupedConv2d, groupNorm, maxout, train };

export { tf };
export type * from "./config.js";
export type { TrainOptions, TrainResult, EpochRecord, ModelInfo } from "./train.js";
export { DEFAULT_VALIDATION, type UserData, type UserSplit, type UserBatch } from "./train-data.js";
export { TrainError } from "./train.js";
export { selectBackend, BackendError, type BackendName } from "./backends/select.js";
export { loadData, DataError, type Dataset } from "./data/index.js";
export { fitNormalizer, restoreNormalizer } from "./data/normalize.js";
export { createOptimizer, type Optimizer } from "./optimizers.js";
export { learningRateAt } from "./schedules.js";
export { clipGradients, globalNorm, gradientNorms } from "./clip.js";
export { saveModel, loadModel, makeDirs, ModelFileError, MakeDirError } from "./io.js";
export { JsonFileError } from "./json-files.js";
export { readHistory, type SavedHistory } from "./run-folder.js";
export { readCheckpoint, locateCheckpoint, CheckpointError, type Checkpoint, type CheckpointState } from "./checkpoint.js";
export { inspect, inspectSaved, inspectModel, tensorStats, signalStd, diagnose, InspectError, type Inspection, type InspectRun, type InspectOptions, type LayerInspection, type TensorStats, type Histogram, type InspectWarning } from "./inspect.js";
export { renderReport, escapeHtml, scriptJson, type ReportInput, type ReportSummaryLayer } from "./report.js";
export { openRun, predict, predictBatches, describePrediction, classValues, readInputs, evaluationSamples, evaluateRun, classMetrics, outputActivation, PredictError, type TrainedRun, type RunData, type OpenRunOptions, type Prediction, type RankedClass, type InputSet, type EvaluationSamples, type Evaluation, type ClassMetrics, type TargetMetrics } from "./predict.js";
export { renderEvaluationReport, type EvaluationReportInput } from "./report.js";
