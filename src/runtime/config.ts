/**
 * The plain-data description of a training run that generated code hands to the runtime.
 * No TensorFlow.js here: the compiler imports these types (to emit literals of them), the
 * runtime reads them. Keep every field JSON-serialisable.
 */

/** How an image of another size becomes the model's input size. */
export type ImageFit = "crop" | "pad" | "stretch";

export type DataConfig = (
  | { source: "mnist"; train: number; test: number }
  | { source: "ball"; dims: number; n: number; test: number }
  /**
   * `label`: the class column (class numbers or names). `targets`: instead, one or more numeric
   * columns to regress on (mse/mae). `classes`: how many classes the model tells apart (the
   * compiler fills it in); labels must be below it. `validation`/`test`: further CSV files with
   * the same columns.
   */
  | { source: "csv"; path: string; label: string; targets?: string[]; classes?: number; validation?: string; test?: string }
  /**
   * `labels`: an IDX file of one class per image ([n]), or of one class per pixel ([n, rows,
   * cols], for a model that ends in an image: segmentation). Left out with `target: "input"`.
   */
  | { source: "idx"; images: string; labels?: string; classes?: number }
  /**
   * A folder with one sub-folder of PNG/JPEG files per class (`train`), and optionally the same
   * for `validation` and `test`. Images are resized to the model's input by `fit`; a file that is
   * not an image is an error, or skipped and counted with `badFiles: "skip"`.
   */
  | { source: "images"; train: string; validation?: string; test?: string; fit: ImageFit; badFiles: "error" | "skip"; classes?: number }
  /** The binary distribution of CIFAR-10 (`data_batch_1..5.bin`, `test_batch.bin`) in a folder. */
  | { source: "cifar10"; path: string }
  /** The binary distribution of CIFAR-100 (`train.bin`, `test.bin`), with its 100 fine or 20 coarse labels. */
  | { source: "cifar100"; path: string; labels: "fine" | "coarse" }
  /**
   * NumPy arrays: inputs `x` and labels `y` (.npy files), and optionally the validation and test
   * arrays. Integer `y` of one value per sample are class labels; float `y` are regression targets.
   * For a model that ends in an image, `y` holds a class per pixel (segmentation masks) or, with
   * mse/mae, the target images. `y` is left out with `target: "input"`.
   */
  | { source: "npy"; x: string; y?: string; validationX?: string; validationY?: string; testX?: string; testY?: string; classes?: number }
  /**
   * One .npz archive with the arrays under these names (Keras's `x_train`, `y_train`, `x_test`,
   * `y_test` by default; `x_val`/`y_val` when present).
   */
  | { source: "npz"; path: string; x: string; y: string; validationX?: string; validationY?: string; testX?: string; testY?: string; classes?: number }
) & {
  /**
   * Keep only the first N training samples of each class, and no test split: `nnc sanity`
   * sets it to overfit a few samples. The spec has no word for it.
   */
  perClass?: number;
  /**
   * `"input"` (the spec's `targets: input`): the model learns to give back its input (an
   * autoencoder). The targets are the inputs as the source gives them (pixels in [0, 1]), before
   * the recipe's `normalize`; the source's labels are not read.
   */
  target?: "input";
};

export type NormalizeConfig = { kind: "none" | "standard" | "minmax" } | { kind: "scale"; factor: number };

export type AugmentConfig =
  | { kind: "flip"; direction: "horizontal" | "vertical" }
  | { kind: "crop"; height: number; width: number; pad: number }
  | { kind: "jitter"; brightness: number; contrast: number };

export type OptimizerName = "sgd" | "momentum" | "nesterov" | "adagrad" | "adadelta" | "rmsprop" | "adam" | "nadam" | "adamw" | "lm";

export interface OptimizerConfig {
  name: OptimizerName;
  /** The optimizer's own arguments by name (beta1, rho, mu, weight_decay, …), defaults filled in. */
  args: Record<string, number>;
}

export type ScheduleConfig =
  | { name: "constant" }
  | { name: "step"; factor: number; every: number }
  | { name: "exp"; rate: number }
  | { name: "cosine" }
  | { name: "warmup"; epochs: number; then: Exclude<ScheduleConfig, { name: "warmup" }> };

export type LossName = "crossentropy" | "sparse_crossentropy" | "binary_crossentropy" | "mse" | "mae" | "hinge";

export type MetricName = "loss" | "acc" | "val_loss" | "val_acc";

export interface TrainConfig {
  /** The model's name in the spec. */
  model: string;
  data: DataConfig;
  normalize: NormalizeConfig;
  augment: AugmentConfig[];
  loss: LossName;
  optimizer: OptimizerConfig;
  lr: number;
  schedule: ScheduleConfig;
  /** L2 penalty on every kernel (added to the loss), as the recipe's `weight_decay`. */
  weightDecay: number;
  clip?: { by: "norm" | "value"; threshold: number };
  batch: number;
  epochs: number;
  /** Fraction of the training data held out for validation. */
  validate?: number;
  earlyStop?: { metric: MetricName; patience: number; restoreBest: boolean };
  checkpoint?: { metric: MetricName };
  seed?: number;
  metrics: MetricName[];
  /** A saved model (model.json) whose weights to start from. */
  pretrained?: string;
}

/** A weight initialiser, as the spec names it. */
export type InitConfig =
  | { name: "zeros" | "ones" | "glorot_normal" | "glorot_uniform" | "he_normal" | "he_uniform" | "lecun_normal" | "lecun_uniform" }
  | { name: "normal"; std: number }
  | { name: "uniform"; limit: number };

/** An activation as the spec names it, with its argument. */
export type ActivationConfig =
  | { name: "relu" | "prelu" | "selu" | "sigmoid" | "tanh" | "softplus" | "softmax" | "linear" | "relu6" | "swish" | "hard_sigmoid" | "hard_swish" | "gelu" }
  | { name: "leaky_relu"; alpha: number }
  | { name: "elu"; alpha: number }
  | { name: "maxout"; k: number };
