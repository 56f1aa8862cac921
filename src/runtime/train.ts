/**
 * The training loop generated code calls: `nnc.train(buildModel, recipe, options, info)`.
 * Picks the backend, loads and checks the data, fits the normaliser on the training split
 * only, then runs mini-batch gradient descent with the recipe's optimizer, schedule,
 * clipping, weight decay, augmentation, validation, early stopping and checkpoints, and
 * saves the model (TF.js layers format), its history and the normaliser's statistics.
 *
 * Every epoch ends with a checkpoint (checkpoint.ts) from which `resume` goes on exactly as
 * an uninterrupted run would on the same backend: the weights, the optimizer's slots and step
 * count, the random generator that shuffles and augments, the step number that dropout's
 * seeds derive from, the best epoch and early stopping's counters, and the history. A loss
 * that is not finite stops the run before the step's update, naming the layer whose gradient
 * blew up; the checkpoint of the last good epoch stays as it was.
 *
 * The loop is made of phases, one function each, which pass one `Run` (the run's state)
 * between them. The Python runtime (python/nnc_torch) has the same phases under the same
 * names in snake_case:
 *
 *   setUp        seed, run folder, backend, memory check, building the model, restoring a
 *                checkpoint (resume), loading and checking the data, the split, the
 *                normaliser, the optimizer: gives the Run
 *   step         one batch: augmentation, forward and backward pass, loss and accuracy, the
 *                step's one read-back (loss, accuracy, Σ gradients), the stop on divergence,
 *                clipping, the update
 *   endOfEpoch   the epoch's record, validation, early stopping, the checkpoint
 *   evaluate     a split's mean loss and accuracy (validation; the test split once, at the end)
 *   checkpoint   writing best/ and checkpoint/ at the end of an epoch; restoreWeights and
 *                restoreState read one back when resuming (in setUp)
 *
 * `train` reads: setUp; for each epoch { beginEpoch; step for each batch; endOfEpoch };
 * restoreEarlyBest (early stopping's best weights back); finalTest (evaluate on the test split);
 * save. setUp's parts are buildModel, restoreWeights, readData, copyPretrained, prepareSplits,
 * openRunFolder and restoreState. `Run.release` frees every tensor the run holds, whichever
 * phase stopped it (the `finally` of set-up and of the loop). Helpers: train/ops.ts (losses, accuracy,
 * the shuffle, dropout's seeds), train/diagnose.ts (the messages of a run that cannot go on),
 * train/resume.ts (finding and checking a checkpoint), train-data.ts (splits and batches).
 */
import * as tf from "@tensorflow/tfjs";
import { join, resolve } from "node:path";
import type { MetricName, TrainConfig } from "./config.js";
import { backendFailure, selectBackend, type BackendName, type SelectedBackend } from "./backends/select.js";
import { BEST_DIR, CHECKPOINT_DIR, EARLY_STOP_BIN, STATE_JSON, topologyHash, writeBest, writeCheckpoint, type Checkpoint } from "./checkpoint.js";
import { clipGradients } from "./clip.js";
import { augmentBatch, SeededRandom } from "./data/augment.js";
import { DataError, loadData, type Dataset } from "./data/index.js";
import { fitSamples, type Normalizer } from "./data/normalize.js";
import { Batcher, dataFacts, fitBatches, normalizeInMemory, passOver, splitData, targetMode, userDataset, type Batch, type LoopSplit, type SplitPlan, type TargetMode, type UserData } from "./train-data.js";
import { loadableLayerName, loadModel, locatePretrained, makeDirs, MakeDirError, ModelFileError, modelFiles, pathText, removeStaleTemporaries, saveModel, shareIdenticalFiles, WEIGHTS_BIN, writeJsonAtomic } from "./io.js";
import { backendMemoryLimit, bytesText, measuredSize, modelTooBig, slotsPerWeight, stepMemory, updateCopies, type MemoryLimit, type ModelSize } from "./memory.js";
import { createOptimizer, slotNames, type Optimizer } from "./optimizers.js";
import { checkRunFolder, DATA_JSON, markRunFolder, RUN_DIRS, RUN_FILES, RunFolderError } from "./run-folder.js";
import { Progress } from "./progress.js";
import { learningRateAt } from "./schedules.js";
import { checkFinite, checkStatistics, divergenceAdvice, explainDivergence, explainMaskedStep, firstNonFinite, numberText, ownerText, resourceFailure, weightOwners, type InputScale, type StepRecord, type WeightOwner } from "./train/diagnose.js";
import { TrainError } from "./train/error.js";
import { accuracy, DropoutSeeds, lossFunction, permutation } from "./train/ops.js";
import { checkResumable, openCheckpoint } from "./train/resume.js";

export { TrainError };

export interface TrainOptions {
  backend?: BackendName;
  /** Overrides the recipe's epochs. */
  epochs?: number;
  /** Where the model, history and checkpoints go (default `runs/<model>`). */
  out?: string;
  /** Folder the data paths are relative to (the spec's folder). */
  baseDir?: string;
  /** One JSON line per epoch instead of a progress bar. */
  logJson?: boolean;
  /** Overrides the recipe's seed. */
  seed?: number;
  /** Where log lines go (default: stderr for progress, stdout for results). */
  log?: (line: string) => void;
  /** Stop each epoch after this many batches (smoke tests). */
  maxBatchesPerEpoch?: number;
  /**
   * Steps between read-backs of the loss, accuracy and gradient check. 1 (every step, before
   * its update) on the CPU backends; `GPU_READ_EVERY` on webgpu and node-gpu, where a
   * read-back per step stalls the device: there each update is masked on the device instead
   * (applied only when the step's loss and gradients and the new weights are finite, and
   * every step before it was), and the steps' numbers are read back together.
   */
  readEvery?: number;
  /** Save nothing (tests). */
  noSave?: boolean;
  /**
   * Go on from the checkpoint in this folder: a run's output folder (holding `checkpoint/`)
   * or the checkpoint folder itself. The output folder then defaults to that run's.
   */
  resume?: string;
  /**
   * Write into `out` even when it holds files nnc did not write (run-folder.ts says what nnc
   * otherwise refuses).
   */
  force?: boolean;
  /**
   * Ctrl-C (SIGINT) stops the run after the batch in progress (a checkpoint being written is
   * finished first) and `train` throws a TrainError whose `interrupted` says which epoch the
   * run's checkpoint holds; a second Ctrl-C stops at once. Without it, SIGINT is left alone.
   */
  interruptible?: boolean;
  /**
   * The data to train on instead of the recipe's `data` source: tensors (or arrays) of every
   * sample, or batches (an async iterable of `{ x, y }`, or a function returning a fresh one for
   * each pass; a `tf.data.Dataset` works as `() => ds`), per split.
   */
  data?: UserData;
  /** Metrics the caller reads from the history besides the recipe's (`nnc search`'s objective): a `val_` one needs validation data. */
  reads?: MetricName[];
}

/** What codegen knows about the model without building it. */
export interface ModelInfo {
  inputShape: number[];
  outputShape: number[];
  /** The model has convolutions, so training needs Conv2DBackpropFilter. */
  convolutional: boolean;
  /** Multiply-adds of one sample's forward pass (dense and conv layers), when codegen gave them. */
  multiplyAdds?: number;
  /** Every weight, trainable and not (the summary's total). */
  parameters?: number;
  /** The weights the optimizer updates. */
  trainableParameters?: number;
  /** The floats of every layer's output for one sample, summed: what a batch's activations hold per sample. */
  activationsPerSample?: number;
}

export interface EpochRecord {
  epoch: number;
  lr: number;
  loss: number;
  acc?: number;
  val_loss?: number;
  val_acc?: number;
  seconds: number;
}

export interface TrainResult {
  backend: string;
  seed: number;
  history: EpochRecord[];
  /** Metrics on the data source's test split, when it has one. */
  test?: { loss: number; acc?: number };
  stoppedEarly: boolean;
  outDir?: string;
}

/** The run folder's weight files, which often hold the same bytes: the final model, the best epoch's, the checkpoint's and early stopping's best. */
const weightFiles = (outDir: string): string[] => [join(outDir, WEIGHTS_BIN), join(outDir, BEST_DIR, WEIGHTS_BIN), join(outDir, CHECKPOINT_DIR, WEIGHTS_BIN), join(outDir, CHECKPOINT_DIR, EARLY_STOP_BIN)];

const capitalised = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const sameShapeAs = (a: number[], b: number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

// ── the run's state ─────────────────────────────────────────────────────────────────────────

/** Early stopping's best epoch so far: its metric's value, and (`restoreBest`) a copy of its weights. */
interface EarlyBest {
  value: number;
  epoch: number;
  weights: tf.Tensor[];
}

/**
 * What a run holds that must be freed however it ends, filled in as setUp makes it, and the
 * Ctrl-C flag. `release` frees it all: the `finally` of set-up and of the loop.
 */
class Held {
  optimizer?: Optimizer;
  data?: Dataset;
  splits?: SplitPlan;
  /** Early stopping's best epoch. */
  best?: EarlyBest;
  /** The last step: its gradients live until the next step's loss shows its update left the weights finite. */
  previous?: StepRecord;
  /** Steps between read-backs (`TrainOptions.readEvery`). */
  readEvery = 1;
  /** Steps taken and not yet read back (readEvery > 1): each one's row of numbers, on the device. */
  pending: PendingStep[] = [];
  /** Whether every step since the last read-back was applied (readEvery > 1): a bool scalar on the device. */
  healthy?: tf.Tensor;
  /** Ctrl-C was pressed (`interruptible`): stop after the step in progress. */
  interrupted = false;
  onInterrupt?: () => void;
  /** Set by `failure`: an error in freeing is then not the one to report. */
  failed = false;

  constructor(
    readonly model: tf.LayersModel,
    readonly config: TrainConfig,
    readonly backend: SelectedBackend,
  ) {}

  /** What to throw for an error `e` of any phase (a resource running out, in words); marks the run failed. */
  failure(e: unknown): unknown {
    this.failed = true;
    return resourceFailure(e, this.config, this.backend.name) ?? e;
  }

  /** Stops listening for Ctrl-C and frees every tensor the run holds. */
  async release(): Promise<void> {
    if (this.onInterrupt) process.removeListener("SIGINT", this.onInterrupt);
    try {
      if (this.previous) tf.dispose(Object.values(this.previous.grads));
      tf.dispose(this.pending.map((p) => p.row));
      this.healthy?.dispose();
      this.best?.weights.forEach((w) => w.dispose());
      this.optimizer?.dispose();
      for (const part of [this.splits?.train, this.splits?.validation, this.splits?.test]) {
        part?.samples?.x?.dispose();
        part?.samples?.raw?.dispose();
      }
      // Tensors of the source that no split kept (a holdout gathered copies of them).
      const data = this.data;
      for (const part of [data?.train, data?.validation, data?.test]) if (part?.x && !part.x.isDisposed) part.x.dispose();
      if (data?.close) await data.close();
      this.model.dispose();
    } catch (e) {
      // After wasm ran out of memory its heap may be broken, and freeing fails too: the first error is the one to report.
      if (!this.failed) throw e;
    }
  }
}

/** The model's shapes as training needs them. */
interface Shapes {
  inputShape: number[];
  outputShape: number[];
  /** The output's last dimension: the classes, or 1. */
  units: number;
  /** Output values per sample. */
  outputs: number;
  /** The loss compares values (mse, mae), not classes. */
  regression: boolean;
}

/** The run's state, which the phases share: what setUp made, and how far training has got. */
interface Run extends Held, Shapes {
  readonly optimizer: Optimizer;
  readonly data: Dataset;
  readonly options: TrainOptions;
  readonly log: (line: string) => void;
  readonly seed: number;
  /** The epoch training goes to. */
  readonly epochs: number;
  /** The run folder and its checkpoint/ (undefined: `noSave`). */
  readonly outDir: string | undefined;
  readonly checkpointDir: string | undefined;
  readonly topology: string;
  readonly owners: { byVariable: Map<string, WeightOwner>; byOriginal: Map<string, WeightOwner> };
  /** Accuracy is measured (the targets are classes). */
  readonly classify: boolean;
  /** The step augments its batch (image inputs, and the recipe augments). */
  readonly augments: boolean;
  readonly plan: SplitPlan;
  readonly normalizer: Normalizer;
  readonly batcher: Batcher;
  /** The largest training input the model sees, which a divergence message may blame. */
  readonly scale: InputScale | undefined;
  /** Training samples (the number of batches, for batches given to train()). */
  readonly trainCount: number;
  readonly batchesPerEpoch: number;
  readonly lossFn: (y: tf.Tensor, p: tf.Tensor) => tf.Scalar;
  /** The variables the optimizer updates, by variable name, and the kernels weight decay shrinks. */
  readonly trainable: tf.Variable[];
  readonly vars: Record<string, tf.Variable>;
  readonly kernels: tf.Variable[];
  /**
   * Weight names by variable name. Optimizer slots are keyed by variable name, which TF.js
   * makes unique per process (`dense1/kernel_1` for a second model); files key them by the
   * weight's own name.
   */
  readonly originalOf: Map<string, string>;
  readonly dropouts: DropoutSeeds;
  /** The generator that splits, shuffles and augments, and its draw. */
  readonly rng: SeededRandom;
  readonly random: () => number;
  readonly progress: Progress;
  /** The metric best/ keeps the best epoch of. */
  readonly bestMetric: MetricName;
  readonly history: EpochRecord[];
  // How far training has got: restoreState sets these from a checkpoint, step and endOfEpoch advance them.
  /** Steps taken: the optimizer's count, which dropout's seeds derive from. */
  iteration: number;
  /** The epochs done before this run began (resume). */
  startEpoch: number;
  /** The best epoch by bestMetric, which best/ holds. */
  bestEpoch: { metric: MetricName; value: number; epoch: number } | null;
  /** Epochs since early stopping's best. */
  sinceBest: number;
  stoppedEarly: boolean;
  /** The epoch the checkpoint in outDir holds (0: none), which an interrupted run names. */
  savedEpoch: number;
}

/** One epoch under way: its learning rate, its batches, and the sums its steps add to. */
interface Epoch {
  /** From 0 (records and messages count from 1). */
  readonly index: number;
  readonly lr: number;
  readonly started: number;
  /** The batches it runs: all of them, or `maxBatchesPerEpoch`. */
  readonly limit: number;
  readonly batches: AsyncGenerator<Batch>;
  /** Steps done. */
  done: number;
  lossSum: number;
  accSum: number;
  seen: number;
}

// ── the loop ────────────────────────────────────────────────────────────────────────────────

export async function train(build: (seed: number) => tf.LayersModel, config: TrainConfig, options: TrainOptions = {}, info?: ModelInfo): Promise<TrainResult> {
  const run = await setUp(build, config, options, info);
  try {
    for (let e = run.startEpoch; e < run.epochs && !run.stoppedEarly; e++) {
      const epoch = beginEpoch(run, e);
      for await (const batch of epoch.batches) await (run.readEvery > 1 ? deferredStep(run, epoch, batch) : step(run, epoch, batch));
      await readBack(run, epoch);
      await endOfEpoch(run, epoch);
    }
    restoreEarlyBest(run);
    const result: TrainResult = { backend: run.backend.name, seed: run.seed, history: run.history, stoppedEarly: run.stoppedEarly };
    // The test split, held back until now: the final weights are measured on it once.
    if (run.plan.test) result.test = await finalTest(run, run.plan.test);
    if (run.outDir) await save(run, run.outDir, result);
    return result;
  } catch (e) {
    throw run.failure(e);
  } finally {
    await run.release();
  }
}

// ── set-up ──────────────────────────────────────────────────────────────────────────────────

/**
 * Set-up: everything before the first step, in this order (each can refuse the run with a
 * TrainError): the checkpoint to resume, the seed, the run folder's check, the backend, the
 * memory check, the model, the checkpoint's weights, the data and its checks, a pretrained
 * model's weights, the split, the normaliser, the optimizer, the run folder, the checkpoint's
 * training state. When it throws, it has freed what it made.
 */
async function setUp(build: (seed: number) => tf.LayersModel, config: TrainConfig, options: TrainOptions, info: ModelInfo | undefined): Promise<Run> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  // Production mode: no debug checks, and no TF.js banner on stdout (the backend line says
  // what TF.js's banner would).
  tf.enableProdMode();
  const resumed = options.resume !== undefined ? await openCheckpoint(options.resume) : undefined;
  let seed = options.seed ?? config.seed ?? Math.floor(Math.random() * 2 ** 31);
  if (resumed) {
    if (options.seed !== undefined && options.seed !== resumed.state.seed) log(`warning: --seed ${options.seed} is ignored: a resumed run goes on with the checkpoint's seed ${resumed.state.seed}.`);
    seed = resumed.state.seed;
  }
  const epochs = options.epochs ?? config.epochs;
  // The output folder is checked before anything is written or deleted (run-folder.ts).
  const outDir = options.noSave ? undefined : resolve(options.out ?? resumed?.runDir ?? join("runs", config.model));
  if (outDir) {
    try {
      checkRunFolder(outDir, { ...(options.force ? { force: true } : {}), ...(resumed ? { resumedRun: resumed.runDir } : {}) });
    } catch (e) {
      if (e instanceof RunFolderError) throw new TrainError(e.message);
      throw e;
    }
  }
  const backend = await selectBackend(options.backend ?? "auto", log, {
    needsConvGradients: info?.convolutional ?? true,
    ...(info?.multiplyAdds !== undefined ? { multiplyAddsPerBatch: info.multiplyAdds * config.batch } : {}),
  });
  const randomSeed = config.seed === undefined && options.seed === undefined && !resumed;
  log(`seed ${seed}${randomSeed ? " (chosen at random; add `seed " + seed + "` to the recipe to repeat this run)" : resumed ? " (the checkpoint's)" : ""}`);

  // Memory: with codegen's counts, refuse a model that cannot fit before building it.
  const limit = backendMemoryLimit(backend.name);
  const copies = limit ? await updateCopies(config) : 0;
  const given: ModelSize | undefined =
    info?.parameters !== undefined && info.trainableParameters !== undefined && info.activationsPerSample !== undefined
      ? { parameters: info.parameters, trainableParameters: info.trainableParameters, activationsPerSample: info.activationsPerSample }
      : undefined;
  if (limit && given) {
    const refusal = modelTooBig(given, config, copies, limit, backend.name);
    if (refusal) throw new TrainError(refusal);
  }
  const { model, topology, size } = buildModel(build, seed, config, backend.name, limit, copies, given);
  const inputShape = info?.inputShape ?? (model.inputs[0]!.shape.slice(1) as number[]);
  const outputShape = info?.outputShape ?? (model.outputs[0]!.shape.slice(1) as number[]);
  const shapes: Shapes = {
    inputShape,
    outputShape,
    units: outputShape[outputShape.length - 1] ?? 1,
    outputs: outputShape.reduce((p, d) => p * d, 1),
    regression: config.loss === "mse" || config.loss === "mae",
  };
  const owners = weightOwners(model);

  const held = new Held(model, config, backend);
  held.readEvery = Math.max(1, Math.floor(options.readEvery ?? (backend.name === "webgpu" || backend.name === "node-gpu" ? GPU_READ_EVERY : 1)));
  if (options.interruptible) {
    held.onInterrupt = () => {
      held.interrupted = true;
      log("interrupted: stopping after the step in progress (press Ctrl-C again to stop at once)");
    };
    process.once("SIGINT", held.onInterrupt);
  }
  /** Ctrl-C before the loop: the checkpoint resumed from (when writing back into its run) is still there. */
  const stopBeforeTraining = (): never => {
    const kept = resumed && outDir && resolve(resumed.runDir) === outDir ? resumed.state.epoch : 0;
    const error = new TrainError(kept > 0 ? `Interrupted before training went on: the checkpoint in ${pathText(resumed!.dir)} still holds epoch ${kept}.` : "Interrupted before the first epoch finished: there is nothing to resume from.");
    error.interrupted = { epoch: kept, runDir: outDir };
    throw error;
  };
  try {
    if (resumed) restoreWeights(resumed, model, topology, config, epochs, log);
    const { data, userBatches, mode, classify } = await readData(held, config, options, seed, shapes, limit ? dataBudget(limit, size, config, copies) : undefined, log);
    if (held.interrupted) stopBeforeTraining();
    if (config.pretrained && !resumed) await copyPretrained(model, config, options, log);

    // Split off validation data (never the test split), fit the normaliser on what trains.
    const rng = new SeededRandom(seed ^ 0x9e3779b9);
    const random = rng.next;
    const { plan, normalizer, batcher, scale, trainCount } = await prepareSplits(held, data, config, options, shapes, mode, userBatches, random, log);
    if (held.interrupted) stopBeforeTraining();
    const lossFn = lossFunction(config.loss, shapes.units);
    const optimizer = createOptimizer(config.optimizer, config.lr);
    held.optimizer = optimizer;
    const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
    if (outDir) await openRunFolder(outDir, config, log);

    const run: Run = Object.assign(held, {
      ...shapes,
      optimizer,
      data,
      options,
      log,
      seed,
      epochs,
      outDir,
      checkpointDir: outDir ? join(outDir, CHECKPOINT_DIR) : undefined,
      topology,
      owners,
      classify,
      augments: inputShape.length === 3 && config.augment.length > 0,
      plan,
      normalizer,
      batcher,
      scale,
      trainCount,
      batchesPerEpoch: plan.train.samples ? Math.ceil(trainCount / config.batch) : trainCount,
      lossFn,
      trainable,
      vars: Object.fromEntries(trainable.map((v) => [v.name, v])) as Record<string, tf.Variable>,
      kernels: trainable.filter((v) => /kernel/.test(v.name)),
      originalOf: new Map(model.trainableWeights.map((w) => [w.name, w.originalName])),
      dropouts: new DropoutSeeds(model, seed),
      rng,
      random,
      progress: new Progress({ json: options.logJson ?? !process.stderr.isTTY, write: log, epochs }),
      bestMetric: config.checkpoint?.metric ?? (plan.validation ? "val_loss" : "loss"),
      history: [] as EpochRecord[],
      iteration: 0,
      startEpoch: 0,
      bestEpoch: null,
      sinceBest: 0,
      stoppedEarly: false,
      savedEpoch: 0,
    });
    if (resumed) restoreState(run, resumed);
    // Ctrl-C: finish the batch (or the checkpoint being written), then stop with what resume needs.
    // The epoch the checkpoint in outDir holds: the resumed one when writing back into its run.
    run.savedEpoch = resumed && outDir && resolve(resumed.runDir) === outDir ? run.startEpoch : 0;
    if (run.interrupted) stopAfter(run, run.startEpoch);
    return run;
  } catch (e) {
    const failure = held.failure(e);
    await held.release();
    throw failure;
  }
}

/**
 * Builds the model and hashes its topology; refuses (disposing it) one whose saved model.json
 * TF.js could not load again, or, measured when codegen gave no counts, one too big for the backend.
 */
function buildModel(
  build: (seed: number) => tf.LayersModel,
  seed: number,
  config: TrainConfig,
  backend: SelectedBackend["name"],
  limit: MemoryLimit | undefined,
  copies: number,
  given: ModelSize | undefined,
): { model: tf.LayersModel; topology: string; size: ModelSize } {
  let model: tf.LayersModel;
  let topology: string;
  try {
    model = build(seed);
  } catch (e) {
    throw resourceFailure(e, config, backend) ?? e;
  }
  try {
    topology = topologyHash(model.toJSON(null, false));
  } catch (e) {
    model.dispose();
    throw resourceFailure(e, config, backend) ?? e;
  }
  const unloadable = model.layers.map((l) => l.name).filter((n) => !loadableLayerName(n));
  if (unloadable.length > 0) {
    model.dispose();
    throw new TrainError(
      `The model \`${config.model}\` has a layer named ${unloadable.map((n) => `\`${n}\``).join(", ")}: TF.js could train it, but not load the saved model.json again (its loader keeps layers in a plain JavaScript object, where \`${unloadable[0]}\` is already taken). Rename the layer.`,
    );
  }
  // Without codegen's counts (generated code older than them), measure the built model.
  const size = given ?? measuredSize(model);
  if (limit && !given) {
    const refusal = modelTooBig(size, config, copies, limit, backend);
    if (refusal) {
      model.dispose();
      throw new TrainError(refusal);
    }
  }
  return { model, topology, size };
}

/** What is left for the data on a backend after the model's step, for loadData. */
function dataBudget(limit: MemoryLimit, size: ModelSize, config: TrainConfig, copies: number): { bytes: number; why: string } {
  const need = stepMemory(size, slotsPerWeight(config), copies, config.batch).total;
  return { bytes: Math.max(0, limit.usable - need), why: `${limit.why}; training the model itself takes about ${bytesText(need)} of it` };
}

/**
 * Loads the recipe's data source (or the caller's data) into `held`, and checks its targets
 * against the model and the loss: what the targets are (`mode`), and whether accuracy is measured.
 */
async function readData(
  held: Held,
  config: TrainConfig,
  options: TrainOptions,
  seed: number,
  { inputShape, outputShape, units, outputs, regression }: Shapes,
  memory: { bytes: number; why: string } | undefined,
  log: (line: string) => void,
): Promise<{ data: Dataset; userBatches: Parameters<typeof splitData>[3]; mode: TargetMode; classify: boolean }> {
  // `targets: input`: an autoencoder, whose targets are its inputs (no labels read, no classes).
  const reconstruct = config.data.target === "input";
  let data: Dataset;
  let userBatches: Parameters<typeof splitData>[3];
  try {
    if (options.data) {
      const given = await userDataset(options.data, inputShape, regression, outputs, outputShape, reconstruct);
      data = held.data = given.dataset;
      userBatches = given.batches;
    } else {
      // The model's classes (one sigmoid unit: 2), so that a label out of range is reported with its file and row.
      data = held.data = await loadData(config.data, {
        inputShape,
        seed,
        baseDir: options.baseDir ?? process.cwd(),
        ...(reconstruct ? {} : { classes: units > 1 ? units : 2 }),
        task: regression ? "regression" : "classification",
        outputs,
        outputShape,
        ...(memory ? { memory } : {}),
      });
    }
  } catch (e) {
    if (e instanceof DataError) throw new TrainError(e.message);
    throw e;
  }
  const mode = targetMode(config, data);
  const classify = mode !== "input" && (data.classes > 0 || !regression);
  if (mode !== "input" && outputShape.length > 1 && (mode === "labels" || (mode === "values" && data.targetSize !== outputs))) {
    throw new TrainError(
      `The model \`${config.model}\` ends in ${outputShape.join("x")}, which needs a target per value, but ${data.description} gives ${mode === "labels" ? "one class per sample" : `${data.targetSize} targets per sample`}.${sameShapeAs(inputShape, outputShape) ? " To train it to give back its input, add `targets: input` to the data." : ""}`,
    );
  }
  if ((mode === "input" || mode === "pixels") && config.augment.length > 0) {
    throw new TrainError(`Augmentation would change the inputs but not their ${mode === "input" ? "copies as targets" : "per-pixel targets"}: remove \`augment\` from the recipe.`);
  }
  if (mode === "input" && !sameShapeAs(inputShape, outputShape)) {
    throw new TrainError(`With \`targets: input\` the model \`${config.model}\` must give back its input, ${inputShape.join("x")}, but it ends in ${outputShape.join("x")}.`);
  }
  if (data.classes === 0 && !regression && mode !== "input") {
    throw new TrainError(`${capitalised(data.description)} gives regression targets, but the recipe's loss \`${config.loss}\` compares classes. Use \`loss mse\` or \`loss mae\`, or give the data class labels.`);
  }
  if (units > 1 && data.classes > units) {
    throw new TrainError(`The data has ${data.classes} classes, but the model \`${config.model}\` ends in ${units} units.`);
  }
  log(`data: ${data.description}${mode === "input" && !data.description.includes("as targets") ? ", the inputs as targets" : mode === "pixels" && !data.description.includes("per pixel") ? ", a class per pixel" : ""}`);
  return { data, userBatches, mode, classify };
}

/** `pretrained`: copies the weights of every layer of a saved model whose name and shapes match. */
async function copyPretrained(model: tf.LayersModel, config: TrainConfig, options: TrainOptions, log: (line: string) => void): Promise<void> {
  const found = locatePretrained(config.pretrained!, options.baseDir ?? process.cwd());
  if (typeof found === "string") throw new TrainError(found);
  const { dir, json } = found;
  let source: tf.LayersModel;
  try {
    source = await loadModel(dir, json);
  } catch (e) {
    if (e instanceof ModelFileError) throw new TrainError(`The pretrained model ${JSON.stringify(config.pretrained)} cannot be loaded: ${e.message}`);
    throw e;
  }
  let copied = 0;
  for (const layer of model.layers) {
    const from = source.layers.find((l) => l.name === layer.name);
    if (!from) continue;
    const ws = from.getWeights();
    const mine = layer.getWeights();
    if (ws.length === mine.length && ws.every((w, i) => w.shape.join() === mine[i]!.shape.join())) {
      layer.setWeights(ws);
      copied++;
    }
  }
  source.dispose();
  log(`pretrained: copied the weights of ${copied} layers from ${pathText(join(dir, json))}`);
}

/**
 * Splits the data (into `held`), fits the normaliser on the training split, normalises the
 * splits held in memory and checks that what the model sees is finite.
 */
async function prepareSplits(
  held: Held,
  data: Dataset,
  config: TrainConfig,
  options: TrainOptions,
  { inputShape, outputShape, units, outputs }: Shapes,
  mode: TargetMode,
  userBatches: Parameters<typeof splitData>[3],
  random: () => number,
  log: (line: string) => void,
): Promise<{ plan: SplitPlan; normalizer: Normalizer; batcher: Batcher; scale: InputScale | undefined; trainCount: number }> {
  let plan: SplitPlan;
  try {
    plan = splitData(data, config, random, userBatches, options.reads);
  } catch (e) {
    if (e instanceof DataError) throw new TrainError(e.message);
    throw e;
  }
  held.splits = plan;
  for (const note of plan.notes) log(note);
  const features = inputShape.reduce((p, d) => p * d, 1);
  const trainSamples = plan.train.samples;
  if (trainSamples?.x) await checkFinite(trainSamples.x, "training", data, config, inputShape);
  let normalizer: Normalizer;
  let userBatchCount = 0;
  try {
    if (trainSamples) normalizer = await fitSamples(config.normalize, trainSamples, features);
    else ({ normalizer, batches: userBatchCount } = await fitBatches(config.normalize, plan.train.batches!, features));
  } catch (e) {
    if (e instanceof DataError) throw new TrainError(e.message);
    throw e;
  }
  checkStatistics(normalizer.stats, data, config, inputShape);
  if (mode === "input" && config.loss === "binary_crossentropy" && trainSamples?.x) {
    // The targets are the inputs as the source gives them: binary cross-entropy needs them in [0, 1].
    const [low, high] = tf.tidy(() => [trainSamples.x!.min(), trainSamples.x!.max()]);
    const range = [(await low!.data())[0]!, (await high!.data())[0]!];
    tf.dispose([low!, high!]);
    if (range[0]! < 0 || range[1]! > 1) {
      throw new TrainError(`With \`targets: input\` and \`loss binary_crossentropy\` the inputs are the targets and must lie in [0, 1], but ${data.description} has values from ${range[0]} to ${range[1]}. Use \`loss mse\` (or \`mae\`), or scale the data to [0, 1].`);
    }
  }
  const targetSize = mode === "values" ? outputs : mode === "pixels" ? (data.targetSize ?? 1) : 1;
  const batcher = new Batcher(normalizer, inputShape, config.loss, units, targetSize, outputShape, mode);
  for (const part of [plan.train, plan.validation, plan.test]) if (part?.samples) part.samples = normalizeInMemory(part.samples, normalizer, mode === "input", config.normalize.kind === "none");
  // What the model sees must be finite; and very large inputs explain a divergence better than the learning rate.
  let scale: InputScale | undefined;
  for (const part of [plan.train, plan.validation, plan.test]) {
    if (!part?.samples?.x) continue;
    const found = await checkFinite(part.samples.x, part.role, data, config, inputShape, true);
    if (part.role === "training") scale = found;
  }
  const trainCount = plan.train.samples?.n ?? userBatchCount;
  if (trainCount === 0) throw new TrainError(`${capitalised(data.description)} has no training samples.`);
  return { plan, normalizer, batcher, scale, trainCount };
}

/** Makes the run folder nnc's, and removes the temporary files a killed run left in it. */
async function openRunFolder(outDir: string, config: TrainConfig, log: (line: string) => void): Promise<void> {
  await writing(outDir, async () => {
    makeDirs(outDir);
    await markRunFolder(outDir, config.model);
    const removed = await removeStaleTemporaries(outDir, RUN_FILES, Object.keys(RUN_DIRS));
    if (removed.length > 0) log(`removed ${removed.length === 1 ? "a temporary file" : `${removed.length} temporary files and folders`} that a killed run left in ${pathText(outDir)}: ${removed.slice(0, 3).join(", ")}${removed.length > 3 ? ", …" : ""}`);
  });
}

/** Ctrl-C during training: stop, saying which epoch the run's checkpoint holds (what resume needs). */
function stopAfter(run: Run, finished: number): never {
  const { savedEpoch, checkpointDir, epochs } = run;
  const error = new TrainError(
    savedEpoch > 0 && checkpointDir
      ? `Interrupted after epoch ${savedEpoch} of ${epochs}: its checkpoint is in ${pathText(checkpointDir)}.`
      : `Interrupted in epoch ${finished + 1} of ${epochs}, before any checkpoint was written: there is nothing to resume from.`,
  );
  error.interrupted = { epoch: checkpointDir ? savedEpoch : 0, runDir: run.outDir };
  throw error;
}

// ── step ────────────────────────────────────────────────────────────────────────────────────

/** An epoch's start: its learning rate, and its batches (shuffled by the run's generator). */
function beginEpoch(run: Run, index: number): Epoch {
  const { config, plan } = run;
  const started = performance.now();
  const lr = learningRateAt(config.schedule, config.lr, index, run.epochs);
  run.optimizer.learningRate = lr;
  const order = plan.train.samples ? permutation(run.trainCount, run.random) : undefined;
  const limit = Math.min(run.batchesPerEpoch, run.options.maxBatchesPerEpoch ?? run.batchesPerEpoch);
  return { index, lr, started, limit, batches: passOver(plan.train, run.batcher, config.batch, order, limit), done: 0, lossSum: 0, accSum: 0, seen: 0 };
}

/**
 * One batch: augmentation, the forward and backward pass, loss and accuracy, then the step's
 * one read-back (loss, accuracy and the sum of every gradient), which stops the run before
 * the update when any is not finite; then clipping and the update.
 */
async function step(run: Run, epoch: Epoch, batch: Batch): Promise<void> {
  const { config, classify } = run;
  const size = batch.size;
  run.dropouts.step(run.iteration);
  const out = tf.tidy(() => {
    const { value, acc, grads } = forwardBackward(run, batch);
    // Σ of every gradient component: finite exactly when all of them are (or when
    // their sum overflows, which is divergence too). Read back with the loss. Summed per
    // gradient, not over a concatenation, which would copy every gradient each step.
    const sums = Object.values(grads).map((g) => g.sum());
    const gradSum = sums.length === 0 ? tf.scalar(0) : sums.length === 1 ? sums[0]! : tf.addN(sums);
    const readout = tf.stack([value, acc, gradSum]);
    acc.dispose();
    return { grads, readout };
  });
  tf.dispose([batch.x, batch.y]);
  const b = ++epoch.done;
  // The one read-back of the step, before the update: a loss that is not finite stops
  // the run with the weights as they were before this batch.
  // data(), not dataSync(): webgpu cannot read back synchronously in Node.
  const [l, a, g] = await out.readout.data();
  out.readout.dispose();
  checkBackend(run, `epoch ${epoch.index + 1}, batch ${b}`, out.grads);
  const now: StepRecord = { epoch: epoch.index + 1, batch: b, loss: l!, grads: out.grads };
  if (!Number.isFinite(l!) || !Number.isFinite(g!)) {
    let message: string;
    try {
      message = await explainDivergence(now, run.previous, run.vars, run.owners.byVariable);
    } finally {
      tf.dispose(Object.values(out.grads));
    }
    throw new TrainError(message + divergenceAdvice(run.checkpointDir, epoch.index, config, epoch.lr, run.scale));
  }
  tf.tidy(() => run.optimizer.applyGradients(run.vars, config.clip ? clipGradients(out.grads, config.clip) : out.grads));
  // This step's gradients live until the next step's loss shows the update left the
  // weights finite: if it did not, they say which layer blew up (no extra work per step).
  if (run.previous) tf.dispose(Object.values(run.previous.grads));
  run.previous = now;
  run.iteration++;
  epoch.lossSum += l! * size;
  epoch.accSum += a! * size;
  epoch.seen += size;
  run.progress.batch(epoch.index, b, Math.max(epoch.limit, b), epoch.lossSum / epoch.seen, classify ? epoch.accSum / epoch.seen : undefined);
  if (run.interrupted) stopAfter(run, epoch.index);
}

/**
 * Steps between read-backs on a GPU backend. A read-back waits for the device to finish all
 * queued work, so once per step it serialises the pipeline; every 25 steps its cost is spread
 * thin, and the progress line still moves several times a second.
 */
export const GPU_READ_EVERY = 25;

/** A step taken and not read back yet: its numbers stay on the device until `readBack`. */
interface PendingStep {
  batch: number;
  size: number;
  /** The variables whose gradients' sums the row holds, in order. */
  names: string[];
  /** [loss, accuracy, applied (1 or 0), Σ of each variable's gradient …]. */
  row: tf.Tensor;
}

/**
 * The batch's forward and backward pass (inside the caller's tf.tidy): augmentation, the
 * loss with the layers' own losses and L2 weight decay, its gradients, and the accuracy.
 */
function forwardBackward(run: Run, batch: Batch): { value: tf.Scalar; acc: tf.Scalar; grads: tf.NamedTensorMap } {
  const { config, model, classify, units, lossFn, kernels } = run;
  let xb = batch.x;
  const yb = batch.y;
  if (run.augments) xb = augmentBatch(xb as tf.Tensor4D, config.augment, run.random);
  let acc: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const pred = model.apply(xb, { training: true }) as tf.Tensor;
    // The prediction dies with this scope: measure accuracy on it here.
    acc = tf.keep(classify ? accuracy(yb, pred, units, config.loss) : tf.scalar(0));
    let loss = lossFn(yb, pred);
    for (const r of model.calculateLosses()) loss = loss.add(r);
    if (config.weightDecay > 0 && kernels.length > 0) {
      // L2 weight decay: λ/2 · Σ‖W‖² over every kernel (biases and norms are not decayed).
      loss = loss.add(tf.addN(kernels.map((k) => k.square().sum())).mul(config.weightDecay / 2));
    }
    return loss as tf.Scalar;
  }, run.trainable);
  return { value, acc: acc!, grads };
}

/**
 * One batch without a read-back (a GPU backend): as `step`, but the update is masked on the
 * device — applied only if this step's loss and gradients are finite, the updated weights are
 * too, and every step since the last read-back was applied — and the step's numbers join
 * `run.pending`, read back by `readBack` every `readEvery` steps. So no non-finite update is
 * ever applied, and a divergence stops the run with the weights as they were before the
 * first bad batch.
 */
async function deferredStep(run: Run, epoch: Epoch, batch: Batch): Promise<void> {
  const { config } = run;
  run.dropouts.step(run.iteration);
  const { grads, numbers, ok } = tf.tidy(() => {
    const { value, acc, grads } = forwardBackward(run, batch);
    const sums = Object.values(grads).map((g) => g.sum());
    const numbers = tf.concat([tf.stack([value, acc]), ...(sums.length > 0 ? [tf.stack(sums)] : [])]);
    acc.dispose();
    const finite = tf.all(tf.isFinite(numbers));
    const ok = run.healthy ? tf.logicalAnd(run.healthy, finite) : finite;
    return { grads, numbers, ok };
  });
  tf.dispose([batch.x, batch.y]);
  const b = ++epoch.done;
  const names = Object.keys(grads);
  const applied = tf.tidy(() => run.optimizer.applyGradients(run.vars, config.clip ? clipGradients(grads, config.clip) : grads, ok))!;
  tf.dispose([...Object.values(grads), ok]);
  const row = tf.tidy(() => tf.concat([numbers.slice(0, 2), applied.cast("float32").reshape([1]), numbers.slice(2)]));
  numbers.dispose();
  run.healthy?.dispose();
  run.healthy = applied;
  run.pending.push({ batch: b, size: batch.size, names, row });
  run.iteration++;
  if (run.pending.length >= run.readEvery || run.interrupted) await readBack(run, epoch);
  if (run.interrupted) stopAfter(run, epoch.index);
}

/**
 * Reads back the steps taken since the last read-back, all in one transfer, and adds them to
 * the epoch's sums and the progress line; stops the run at the first step whose update was
 * not applied, naming why. Nothing to do after `step` (readEvery 1).
 */
async function readBack(run: Run, epoch: Epoch): Promise<void> {
  if (run.pending.length === 0) return;
  const pending = run.pending;
  run.pending = [];
  const all = tf.concat(pending.map((p) => p.row));
  tf.dispose(pending.map((p) => p.row));
  const values = await all.data();
  all.dispose();
  checkBackend(run, `epoch ${epoch.index + 1}, batch ${pending.at(-1)!.batch}`);
  const width = values.length / pending.length;
  for (const [i, p] of pending.entries()) {
    const at = i * width;
    const loss = values[at]!;
    const acc = values[at + 1]!;
    if (values[at + 2] !== 1) {
      const sums = p.names.map((name, j): [string, number] => [name, values[at + 3 + j]!]);
      const message = await explainMaskedStep({ epoch: epoch.index + 1, batch: p.batch, loss, sums }, run.vars, run.owners.byVariable);
      throw new TrainError(message + divergenceAdvice(run.checkpointDir, epoch.index, run.config, epoch.lr, run.scale));
    }
    epoch.lossSum += loss * p.size;
    epoch.accSum += acc * p.size;
    epoch.seen += p.size;
    run.progress.batch(epoch.index, p.batch, Math.max(epoch.limit, p.batch), epoch.lossSum / epoch.seen, run.classify ? epoch.accSum / epoch.seen : undefined);
  }
}

// ── end of epoch ────────────────────────────────────────────────────────────────────────────

/** The epoch's record (with validation), early stopping's count, the checkpoint, and a stop when early stopping or Ctrl-C says so. */
async function endOfEpoch(run: Run, epoch: Epoch): Promise<void> {
  const { config, classify } = run;
  run.dropouts.reset();
  if (epoch.seen === 0) throw new TrainError(`The training data gave no batches in epoch ${epoch.index + 1}: an iterable of batches given to train() must start over on each pass (pass a function that returns a fresh one).`);
  const record: EpochRecord = { epoch: epoch.index + 1, lr: epoch.lr, loss: epoch.lossSum / epoch.seen, ...(classify ? { acc: epoch.accSum / epoch.seen } : {}), seconds: (performance.now() - epoch.started) / 1000 };
  if (run.plan.validation) {
    const v = await evaluate(run, run.plan.validation);
    record.val_loss = v.loss;
    if (v.acc !== undefined) record.val_acc = v.acc;
  }
  run.history.push(record);
  run.progress.epoch(record);

  if (config.earlyStop) {
    const value = metricValue(record, config.earlyStop.metric);
    if (value !== undefined) {
      if (better(config.earlyStop.metric, value, run.best?.value)) {
        run.best?.weights.forEach((w) => w.dispose());
        run.best = { value, weights: config.earlyStop.restoreBest ? snapshot(run.model) : [], epoch: record.epoch };
        run.sinceBest = 0;
      } else if (++run.sinceBest >= config.earlyStop.patience) {
        run.stoppedEarly = true;
      }
    }
  }

  await checkpoint(run, record);
  if (run.stoppedEarly && config.earlyStop) {
    run.log(`early stop: ${config.earlyStop.metric} has not improved for ${config.earlyStop.patience} epochs (best ${run.best?.value.toFixed(4)} in epoch ${run.best?.epoch})`);
  }
  if (run.interrupted) stopAfter(run, epoch.index + 1);
}

function metricValue(record: EpochRecord, metric: MetricName): number | undefined {
  return record[metric];
}

function better(metric: MetricName, a: number, b: number | undefined): boolean {
  if (b === undefined) return true;
  return metric.endsWith("acc") ? a > b : a < b;
}

/** Copies of every weight, to restore the best epoch. */
function snapshot(model: tf.LayersModel): tf.Tensor[] {
  return model.getWeights().map((w) => w.clone());
}

/** Early stopping's `restoreBest`: the best epoch's weights back, unless the last epoch was the best. */
function restoreEarlyBest(run: Run): void {
  const { config, best } = run;
  if (config.earlyStop?.restoreBest && best && best.weights.length > 0 && best.epoch !== run.history.length) {
    run.model.setWeights(best.weights);
    run.log(`restored the weights of epoch ${best.epoch}`);
  }
}

/**
 * Stops the run when the backend reported an error (a WebGPU validation or out-of-memory
 * error, a lost device): what it computed since cannot be trusted, so no further update is
 * applied. `grads` (a step's) are freed first.
 */
function checkBackend(run: Run, where: string, grads?: Record<string, tf.Tensor>): void {
  const failure = backendFailure();
  if (failure === undefined) return;
  if (grads) tf.dispose(Object.values(grads));
  const saved = run.savedEpoch > 0 && run.checkpointDir ? ` The checkpoint of epoch ${run.savedEpoch} in ${run.checkpointDir} was written before it.` : "";
  throw new TrainError(
    `Training stopped in ${where} on the ${run.backend.name} backend: ${failure}. What the device computed after that cannot be trusted, so the run stops before another update.${saved} ` +
      `This is a fault of the backend or of nnc's kernels for it, not of the spec: please report it with the spec and this message. Hint: --backend wasm trains the same model on the CPU.`,
  );
}

// ── evaluation ──────────────────────────────────────────────────────────────────────────────

/** Mean loss and accuracy of the model on a split, in batches (inference mode). */
async function evaluate(run: Run, split: LoopSplit): Promise<{ loss: number; acc?: number; n: number }> {
  const { model, lossFn, units, classify, config } = run;
  let loss = 0;
  let acc = 0;
  let n = 0;
  for await (const b of passOver(split, run.batcher, Math.max(config.batch, 256))) {
    const [l, a] = tf.tidy(() => {
      const p = model.apply(b.x, { training: false }) as tf.Tensor;
      return [lossFn(b.y, p).mul(b.size), classify ? accuracy(b.y, p, units, config.loss).mul(b.size) : tf.scalar(0)];
    });
    tf.dispose([b.x, b.y]);
    // data(), not dataSync(): webgpu cannot read back synchronously in Node.
    loss += (await l!.data())[0]!;
    acc += (await a!.data())[0]!;
    l!.dispose();
    a!.dispose();
    n += b.size;
  }
  checkBackend(run, "evaluation");
  if (n === 0) return { loss: NaN, n };
  return classify ? { loss: loss / n, acc: acc / n, n } : { loss: loss / n, n };
}

/** The test split, measured once on the final weights. */
async function finalTest(run: Run, split: LoopSplit): Promise<{ loss: number; acc?: number }> {
  const t = await evaluate(run, split);
  run.log(`test: loss ${t.loss.toFixed(4)}${t.acc !== undefined ? `, acc ${(t.acc * 100).toFixed(2)}%` : ""} on ${t.n} samples (evaluated once, after training)`);
  return { loss: t.loss, ...(t.acc !== undefined ? { acc: t.acc } : {}) };
}

// ── checkpoint ──────────────────────────────────────────────────────────────────────────────

/**
 * The end of an epoch on disk (nothing without a run folder): best/ when the epoch is the best
 * by `bestMetric`, then checkpoint/ with everything resume needs. Refuses weights that
 * overflowed, keeping the last good checkpoint.
 */
async function checkpoint(run: Run, record: EpochRecord): Promise<void> {
  const { outDir, checkpointDir, model, config, optimizer, best } = run;
  if (!outDir || !checkpointDir) return;
  const files = await modelFiles(model);
  const bad = firstNonFinite(files);
  if (bad) {
    const owner = run.owners.byOriginal.get(bad.name);
    throw new TrainError(
      `The weights of layer ${ownerText(owner, bad.name)} became ${numberText(bad.value)} in epoch ${record.epoch}, though every batch's loss was finite: the last updates overflowed them.` +
        divergenceAdvice(checkpointDir, record.epoch - 1, config, record.lr, run.scale),
    );
  }
  // best/ before checkpoint/: after a crash between the two, the resumed run redoes
  // this epoch and writes the same best/ again; the other order could lose it.
  const value = metricValue(record, run.bestMetric);
  if (value !== undefined && Number.isFinite(value) && better(run.bestMetric, value, run.bestEpoch?.value)) {
    const snapshotOfBest = { metric: run.bestMetric, value, epoch: record.epoch };
    run.bestEpoch = snapshotOfBest;
    await writing(join(outDir, BEST_DIR), () => writeBest(join(outDir, BEST_DIR), files, snapshotOfBest));
  }
  const state = optimizer.getState();
  try {
    const slots: Record<string, tf.Tensor> = {};
    for (const [key, t] of Object.entries(state.slots)) {
      const cut = key.lastIndexOf("/");
      slots[`${run.originalOf.get(key.slice(0, cut)) ?? key.slice(0, cut)}/${key.slice(cut + 1)}`] = t;
    }
    const earlyWeights = best && best.weights.length > 0 ? Object.fromEntries(model.weights.map((w, i) => [w.originalName, best.weights[i]!])) : undefined;
    await writing(checkpointDir, () =>
      writeCheckpoint(checkpointDir, {
        model: files,
        optimizerSlots: slots,
        ...(earlyWeights ? { earlyStopWeights: earlyWeights } : {}),
        state: {
          model: config.model,
          epoch: record.epoch,
          epochs: run.epochs,
          iterations: run.iteration,
          seed: run.seed,
          random: run.rng.state(),
          stoppedEarly: run.stoppedEarly,
          config,
          topology: run.topology,
          weights: files.specs.map((w) => ({ name: w.name, shape: w.shape })),
          optimizer: { name: config.optimizer.name },
          best: run.bestEpoch,
          earlyStop: best ? { value: best.value, epoch: best.epoch, sinceBest: run.sinceBest } : null,
          history: run.history,
        },
      }),
    );
    run.savedEpoch = record.epoch;
    // best/ and the checkpoint often hold the same weights (the best epoch is the last, or early stopping's copy is): one copy on disk.
    await shareIdenticalFiles(weightFiles(outDir));
  } finally {
    tf.dispose(Object.values(state.slots));
  }
}

/** Resume, first part (set-up, before the data): checks the checkpoint fits the model and recipe, and loads its weights. */
function restoreWeights(from: Checkpoint, model: tf.LayersModel, topology: string, config: TrainConfig, epochs: number, log: (line: string) => void): void {
  checkResumable(from, model, topology, config, epochs, log);
  const saved = from.weights();
  try {
    const lacking = model.weights.find((w) => saved[w.originalName]?.shape.join("x") !== w.shape.join("x"));
    if (lacking) throw new TrainError(`The checkpoint in ${pathText(from.dir)} has no weight \`${lacking.originalName}\` of shape ${lacking.shape.join("x")} in its model.json, though its state.json lists one. Was it edited? Train again without --resume.`);
    model.setWeights(model.weights.map((w) => saved[w.originalName]!));
  } finally {
    tf.dispose(Object.values(saved));
  }
}

/**
 * Resume, second part (the end of set-up): the optimizer's slots and step count, the random
 * generator, the history, the best epoch and early stopping's counters and weights.
 */
function restoreState(run: Run, from: Checkpoint): void {
  const { config, model, optimizer } = run;
  const s = from.state;
  // Slots are restored by name: each must belong to a weight the model trains, be one the
  // optimizer keeps, and have that weight's shape; every trained weight needs all of them.
  const stateShown = pathText(join(from.dir, STATE_JSON));
  const again = "Was it edited? Train again without --resume.";
  const wanted = slotNames(config.optimizer);
  const shapeOf = new Map(model.trainableWeights.map((w) => [w.originalName, w.shape]));
  const variableOf = new Map(model.trainableWeights.map((w) => [w.originalName, w.name]));
  const slots = from.optimizerSlots();
  try {
    const renamed: Record<string, tf.Tensor> = {};
    const found = new Set<string>();
    for (const [key, t] of Object.entries(slots)) {
      const cut = key.lastIndexOf("/");
      const weight = key.slice(0, cut);
      const slot = key.slice(cut + 1);
      const variable = variableOf.get(weight);
      if (variable === undefined) throw new TrainError(`${stateShown}: \`optimizer.slots\` holds state for \`${weight}\`, which the model does not train. ${again}`);
      if (!wanted.includes(slot)) throw new TrainError(`${stateShown}: \`optimizer.slots\` holds a slot \`${slot}\` for \`${weight}\`, which ${config.optimizer.name} does not keep (it keeps ${wanted.map((w) => `\`${w}\``).join(", ") || "none"}). ${again}`);
      const shape = shapeOf.get(weight)!;
      if (t.shape.join("x") !== shape.join("x")) throw new TrainError(`${stateShown}: \`optimizer.slots\` gives \`${key}\` the shape ${t.shape.join("x")}, but the weight \`${weight}\` is ${shape.join("x")}. ${again}`);
      renamed[`${variable}/${slot}`] = t;
      found.add(key);
    }
    for (const weight of shapeOf.keys()) {
      const missing = wanted.filter((slot) => !found.has(`${weight}/${slot}`));
      if (missing.length > 0) throw new TrainError(`${stateShown}: \`optimizer.slots\` lacks ${missing.map((m) => `\`${weight}/${m}\``).join(", ")}. ${again}`);
    }
    optimizer.setState({ iterations: s.iterations, slots: renamed });
  } finally {
    tf.dispose(Object.values(slots));
  }
  run.rng.restore(s.random);
  run.iteration = s.iterations;
  run.startEpoch = s.epoch;
  run.history.push(...s.history);
  if (s.best && s.best.metric === run.bestMetric) run.bestEpoch = s.best;
  if (s.earlyStop && config.earlyStop && s.config.earlyStop?.metric === config.earlyStop.metric) {
    const saved = from.earlyStopWeights();
    const lacking = saved ? model.weights.find((w) => saved[w.originalName]?.shape.join("x") !== w.shape.join("x")) : undefined;
    if (saved && lacking) {
      tf.dispose(Object.values(saved));
      throw new TrainError(`${stateShown}: \`earlyStop.weights\` lacks \`${lacking.originalName}\` of shape ${lacking.shape.join("x")}. ${again}`);
    }
    run.best = { value: s.earlyStop.value, epoch: s.earlyStop.epoch, weights: saved ? model.weights.map((w) => saved[w.originalName]!) : [] };
    run.sinceBest = s.earlyStop.sinceBest;
  }
  run.stoppedEarly = s.stoppedEarly;
  const { startEpoch, epochs } = run;
  const left = run.stoppedEarly ? "it had stopped early, so nothing is left to train" : startEpoch >= epochs ? "nothing is left to train" : `training epochs ${startEpoch + 1}–${epochs}`;
  run.log(`resuming from epoch ${startEpoch} of ${epochs} (${pathText(from.dir)}): ${left}`);
}

// ── save ────────────────────────────────────────────────────────────────────────────────────

/** The trained model, its history, the normaliser's statistics and the data's facts, in the run folder. */
async function save(run: Run, outDir: string, result: TrainResult): Promise<void> {
  const { model, config, options } = run;
  await writing(outDir, async () => {
    await saveModel(model, outDir);
    await writeJsonAtomic(join(outDir, "history.json"), { model: config.model, backend: run.backend.name, seed: run.seed, epochs: run.history, test: result.test ?? null });
    await writeJsonAtomic(join(outDir, "normalizer.json"), { kind: config.normalize.kind, stats: run.normalizer.stats });
    await writeJsonAtomic(join(outDir, DATA_JSON), dataFacts(run.data, config, run.inputShape, run.regression ? run.outputs : undefined, options.data ? undefined : { baseDir: options.baseDir ?? process.cwd() }, run.outputShape));
    await shareIdenticalFiles(weightFiles(outDir));
  });
  result.outDir = outDir;
  run.log(`saved ${join(outDir, "model.json")} and history.json`);
}

/** Runs `write`, turning a file system error (disk full, no permission) into a TrainError. */
async function writing(what: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (e) {
    if (e instanceof MakeDirError) throw new TrainError(e.message);
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code === "string") throw new TrainError(`Cannot write ${pathText(what)}: ${(e as Error).message}.`);
    throw e;
  }
}
