/**
 * The words of the .nn language in one place: layer kinds, their options, activations,
 * initialisers, optimizers, losses, recipe settings. The parser's lowering, the checker,
 * the TextMate grammar test and (later) completion all read these tables. Layer kinds keep
 * their words in their own records (`src/layers/`); `LAYER_KINDS` is read from there.
 */
import { layerWordTable } from "../layers/index.js";
import type { LayerKindInfo } from "../layers/words.js";

/**
 * Words the lexer knows as keywords. They still work as names where a name is expected
 * (`model block { … }` is the lectures' BLOCK model), but not as layer or block calls.
 */
export const KEYWORDS = ["model", "block", "train", "search", "repeat", "residual"] as const;
/** Words that are keywords only in one place: `residual project { … }`, `} skip { … }`. */
export const CONTEXTUAL_KEYWORDS = ["project", "skip"] as const;
export type Keyword = (typeof KEYWORDS)[number];

export interface ActivationInfo {
  /** Argument in parentheses: name, default (undefined = required), valid range. */
  arg?: { name: string; default?: number; min?: number; max?: number; integer?: boolean };
  /** Has trainable parameters (PReLU). */
  learnable?: boolean;
  summary: string;
}

export const ACTIVATIONS: Record<string, ActivationInfo> = {
  relu: { summary: "rectified linear unit, max(0, x)" },
  leaky_relu: { arg: { name: "alpha", default: 0.01, min: 0 }, summary: "max(αx, x) with a small fixed slope α (default 0.01)" },
  prelu: { learnable: true, summary: "leaky ReLU whose slope is learnt, one per channel" },
  elu: { arg: { name: "alpha", default: 1.0, min: 0 }, summary: "exponential linear unit, α(eˣ−1) for x<0" },
  selu: { summary: "scaled ELU (self-normalising)" },
  sigmoid: { summary: "logistic 1/(1+e⁻ˣ)" },
  tanh: { summary: "hyperbolic tangent" },
  softplus: { summary: "log(1+eˣ), a smooth ReLU" },
  softmax: { summary: "normalised exponentials over the last axis" },
  maxout: { arg: { name: "k", min: 2, integer: true }, summary: "maximum over groups of k units; divides the last axis by k" },
  linear: { summary: "identity (no activation)" },
  relu6: { summary: "min(max(0, x), 6): ReLU capped at 6 (MobileNet)" },
  swish: { summary: "x·sigmoid(x), also called SiLU (EfficientNet)" },
  silu: { summary: "x·sigmoid(x): another name of `swish`" },
  hard_sigmoid: { summary: "relu6(x + 3)/6, a piecewise-linear sigmoid (MobileNetV3, PyTorch's Hardsigmoid)" },
  hard_swish: { summary: "x·relu6(x + 3)/6, a piecewise-linear swish (MobileNetV3)" },
  gelu: { summary: "x·Φ(x), the Gaussian error linear unit (exact erf form; transformers)" },
};

export interface InitInfo {
  arg?: { name: string; default?: number; min?: number };
  summary: string;
}

export const INITIALIZERS: Record<string, InitInfo> = {
  zeros: { summary: "all zeros (breaks symmetry for nothing: use only for biases)" },
  ones: { summary: "all ones" },
  normal: { arg: { name: "std", default: 0.01, min: 0 }, summary: "N(0, σ²), σ = 0.01 by default (the lectures' 'small random numbers')" },
  uniform: { arg: { name: "limit", default: 0.05, min: 0 }, summary: "U(−a, a), a = 0.05 by default" },
  glorot_normal: { summary: "Xavier/Glorot normal, Var = 2/(fan_in+fan_out)" },
  glorot_uniform: { summary: "Xavier/Glorot uniform, limit √(6/(fan_in+fan_out))" },
  xavier_normal: { summary: "alias of glorot_normal" },
  xavier_uniform: { summary: "alias of glorot_uniform" },
  he_normal: { summary: "He/Kaiming normal, Var = 2/fan_in (for ReLU)" },
  he_uniform: { summary: "He/Kaiming uniform, limit √(6/fan_in)" },
  lecun_normal: { summary: "LeCun normal, Var = 1/fan_in (for SELU)" },
  lecun_uniform: { summary: "LeCun uniform, limit √(3/fan_in)" },
};

export const PADDINGS = ["valid", "same", "full"] as const;
export type Padding = (typeof PADDINGS)[number];

export type { LayerKindInfo, OptionInfo, OptionValue } from "../layers/words.js";

/**
 * Every layer kind a spec writes as a head word (`conv`, `pool`, `global`, …), with its
 * positional values and options: read from each kind's record in `src/layers/`.
 */
export const LAYER_KINDS: Record<string, LayerKindInfo> = layerWordTable();

/** Activations also stand alone as layers: `-> relu`, `-> leaky_relu(0.1)`. */
export function isActivation(word: string): boolean {
  return Object.hasOwn(ACTIVATIONS, word);
}
export function isLayerKind(word: string): boolean {
  return Object.hasOwn(LAYER_KINDS, word) || isActivation(word);
}
export function isInitializer(word: string): boolean {
  return Object.hasOwn(INITIALIZERS, word);
}

// ---------------------------------------------------------------------------------------
// Recipes

export interface OptimizerInfo {
  /** Positional arguments in parentheses with defaults and valid ranges. */
  args: { name: string; default: number; min?: number; max?: number; maxExclusive?: boolean; minExclusive?: boolean }[];
  defaultLr: number;
  summary: string;
}

export const OPTIMIZERS: Record<string, OptimizerInfo> = {
  sgd: { args: [], defaultLr: 0.01, summary: "plain stochastic gradient descent" },
  momentum: { args: [{ name: "beta", default: 0.9, min: 0, max: 1, maxExclusive: true }], defaultLr: 0.01, summary: "SGD with momentum" },
  nesterov: { args: [{ name: "beta", default: 0.9, min: 0, max: 1, maxExclusive: true }], defaultLr: 0.01, summary: "Nesterov accelerated gradient" },
  adagrad: { args: [{ name: "epsilon", default: 1e-7, min: 0, minExclusive: true }], defaultLr: 0.01, summary: "per-parameter rates from the sum of squared gradients" },
  adadelta: { args: [{ name: "rho", default: 0.95, min: 0, max: 1, maxExclusive: true }, { name: "epsilon", default: 1e-7, min: 0, minExclusive: true }], defaultLr: 1.0, summary: "AdaGrad with a decaying window and unit correction" },
  rmsprop: { args: [{ name: "rho", default: 0.9, min: 0, max: 1, maxExclusive: true }, { name: "epsilon", default: 1e-7, min: 0, minExclusive: true }], defaultLr: 0.001, summary: "moving average of squared gradients" },
  adam: {
    args: [
      { name: "beta1", default: 0.9, min: 0, max: 1, maxExclusive: true },
      { name: "beta2", default: 0.999, min: 0, max: 1, maxExclusive: true },
      { name: "epsilon", default: 1e-7, min: 0, minExclusive: true },
    ],
    defaultLr: 0.001,
    summary: "momentum plus RMSProp with bias correction",
  },
  nadam: {
    args: [
      { name: "beta1", default: 0.9, min: 0, max: 1, maxExclusive: true },
      { name: "beta2", default: 0.999, min: 0, max: 1, maxExclusive: true },
      { name: "epsilon", default: 1e-7, min: 0, minExclusive: true },
    ],
    defaultLr: 0.001,
    summary: "Adam with Nesterov momentum",
  },
  adamw: {
    args: [
      { name: "weight_decay", default: 0.01, min: 0 },
      { name: "beta1", default: 0.9, min: 0, max: 1, maxExclusive: true },
      { name: "beta2", default: 0.999, min: 0, max: 1, maxExclusive: true },
    ],
    defaultLr: 0.001,
    summary: "Adam with decoupled weight decay",
  },
  // The curvature h is estimated from squared gradients (see runtime/optimizers.ts), which vanish
  // near a minimum: μ = 1 keeps the step there at lr·g (gradient descent), not lr·g/μ.
  lm: { args: [{ name: "mu", default: 1.0, min: 0, minExclusive: true }], defaultLr: 0.1, summary: "diagonal Levenberg–Marquardt (step = lr·g / (diag H + μ))" },
};

export interface LossInfo {
  summary: string;
}
export const LOSSES: Record<string, LossInfo> = {
  crossentropy: { summary: "categorical cross-entropy over C classes (softmax output)" },
  sparse_crossentropy: { summary: "cross-entropy with integer labels" },
  binary_crossentropy: { summary: "cross-entropy for one sigmoid unit (or independent sigmoid units)" },
  mse: { summary: "mean squared error" },
  mae: { summary: "mean absolute error" },
  hinge: { summary: "hinge loss (labels ±1)" },
};

export const SCHEDULES = ["constant", "step", "exp", "cosine", "warmup"] as const;
export const METRICS = ["loss", "acc", "val_loss", "val_acc"] as const;
export const DATA_SOURCES = ["mnist", "ball", "csv", "idx", "images", "cifar10", "cifar100", "npy", "npz"] as const;
export const AUGMENTATIONS = ["flip", "crop", "jitter"] as const;
export const NORMALIZATIONS = ["none", "standard", "minmax", "scale"] as const;

export interface SettingInfo {
  summary: string;
  example: string;
  /** May be a search variable (`lr ~ loguniform(1e-4, 1e-1)`). */
  searchable?: "number" | "integer";
}

/** Statements of a `train` block. */
export const RECIPE_SETTINGS: Record<string, SettingInfo> = {
  data: { summary: "the data source", example: "data mnist(train: 8000, test: 2000)" },
  normalize: { summary: "input normalisation fitted on the training set: standard, minmax, scale(k) or none", example: "normalize standard" },
  augment: { summary: "training-time augmentation, comma separated", example: "augment flip horizontal, crop 24x24 pad 4" },
  loss: { summary: "the loss function", example: "loss crossentropy" },
  optim: { summary: "the optimizer, with its arguments and optional `lr`", example: "optim adam(0.9, 0.999) lr 1e-3" },
  lr: { summary: "the learning rate", example: "lr 1e-3", searchable: "number" },
  schedule: { summary: "learning-rate schedule", example: "schedule step(0.1, every: 10)" },
  weight_decay: { summary: "L2 weight decay on every weight", example: "weight_decay 1e-4", searchable: "number" },
  clip: { summary: "gradient clipping by norm or value", example: "clip norm 1.0", searchable: "number" },
  batch: { summary: "mini-batch size", example: "batch 64", searchable: "integer" },
  epochs: { summary: "number of passes over the training set", example: "epochs 20", searchable: "integer" },
  validate: { summary: "validation fraction held out of the training data", example: "validate 0.1", searchable: "number" },
  early_stop: { summary: "stop when a metric stops improving", example: "early_stop val_loss patience 3 restore_best" },
  checkpoint: { summary: "keep the best weights by a metric", example: "checkpoint best val_acc" },
  seed: { summary: "random seed for a reproducible run", example: "seed 42", searchable: "integer" },
  metrics: { summary: "metrics reported each epoch", example: "metrics acc" },
  pretrained: { summary: "start from a saved model's weights (transfer learning)", example: 'pretrained "runs/base/model.json"' },
};

export const SEARCH_DISTRIBUTIONS: Record<string, { args: string; summary: string }> = {
  loguniform: { args: "low, high", summary: "log-uniform between two positive numbers" },
  uniform: { args: "low, high", summary: "uniform between two numbers" },
  choice: { args: "a, b, ...", summary: "one of the listed values" },
  int: { args: "low, high", summary: "an integer in [low, high]" },
};

/** Statements of a `search` block other than `name ~ distribution`. */
export const SEARCH_SETTINGS: Record<string, SettingInfo> = {
  maximize: { summary: "the metric to maximise", example: "maximize val_acc" },
  minimize: { summary: "the metric to minimise", example: "minimize val_loss" },
  epochs: { summary: "epochs per trial (overrides the recipe)", example: "epochs 5" },
  seed: { summary: "seed of the sampler", example: "seed 1" },
};

/**
 * Names other libraries use for our words (Keras, PyTorch, TF.js), so "did you mean" can
 * answer `kaiming_normal` with `he_normal` even though the spellings are far apart.
 */
export const ALIASES: Record<string, string> = {
  learning_rate: "lr",
  optimizer: "optim",
  loss_fn: "loss",
  criterion: "loss",
  dataset: "data",
  batch_size: "batch",
  num_epochs: "epochs",
  n_epochs: "epochs",
  maxpool: "pool",
  max_pool: "pool",
  maxpool2d: "pool",
  maxpooling2d: "pool",
  avgpool: "pool",
  avg_pool: "pool",
  averagepooling2d: "pool",
  conv2d: "conv",
  depthwiseconv2d: "depthwise",
  depthwise_conv: "depthwise",
  separableconv2d: "separable",
  separable_conv: "separable",
  sepconv: "separable",
  conv2dtranspose: "upconv",
  convtranspose2d: "upconv",
  conv_transpose: "upconv",
  transposed_conv: "upconv",
  deconv: "upconv",
  upsampling2d: "upsample",
  upsampling: "upsample",
  zeropadding2d: "pad",
  zero_pad: "pad",
  cropping2d: "crop",
  concatenate: "concat",
  cat: "concat",
  hardswish: "hard_swish",
  hardsigmoid: "hard_sigmoid",
  fc: "dense",
  fully_connected: "dense",
  batchnormalization: "batchnorm",
  batch_norm: "batchnorm",
  bn: "batchnorm",
  layer_norm: "layernorm",
  group_norm: "groupnorm",
  leakyrelu: "leaky_relu",
  kaiming_normal: "he_normal",
  kaiming_uniform: "he_uniform",
  xavier: "glorot_uniform",
  glorot: "glorot_uniform",
  he: "he_normal",
  lecun: "lecun_normal",
  random_normal: "normal",
  gaussian: "normal",
  random_uniform: "uniform",
  zero: "zeros",
  categorical_crossentropy: "crossentropy",
  cross_entropy: "crossentropy",
  ce: "crossentropy",
  nll: "crossentropy",
  sparse_categorical_crossentropy: "sparse_crossentropy",
  bce: "binary_crossentropy",
  mean_squared_error: "mse",
  l2_loss: "mse",
  mean_absolute_error: "mae",
  accuracy: "acc",
  val_accuracy: "val_acc",
  zscore: "standard",
  z_score: "standard",
  standardize: "standard",
  cosine_decay: "cosine",
  cosine_annealing: "cosine",
  exponential: "exp",
  exponential_decay: "exp",
  step_decay: "step",
  steplr: "step",
  sgd_momentum: "momentum",
  nag: "nesterov",
  adam_w: "adamw",
  levenberg_marquardt: "lm",
  patience: "early_stop",
  earlystopping: "early_stop",
  early_stopping: "early_stop",
  l2_regularization: "weight_decay",
  decay: "weight_decay",
  clipnorm: "clip",
  clipvalue: "clip",
  gradient_clipping: "clip",
  validation_split: "validate",
  random_search: "random",
  grid_search: "grid",
};

// ---------------------------------------------------------------------------------------
// Other frameworks' spellings (Keras, PyTorch), for one precise error that says how nnc
// writes the same thing (src/parser/foreign.ts). Nothing here is part of the language.

/** What a Keras or PyTorch layer argument means, in nnc's terms. */
export type ForeignMeaning =
  | "units"
  | "filters"
  | "kernel"
  | "stride"
  | "padding"
  | "dilation"
  | "activation"
  | "use_bias"
  | "init"
  | "regularizer"
  | "rate"
  | "shape"
  | "momentum"
  | "epsilon"
  | "groups"
  | "alpha"
  | "name"
  | "trainable"
  | "output_size"
  /** The input's size (`in_features`, `in_channels`): nnc takes it from the layer before. */
  | "inferred";

export interface ForeignLayer {
  framework: "Keras" | "PyTorch";
  /** The nnc layer kind, activation, or `global avgpool`/`global maxpool`, `pool avg`. */
  nnc: string;
  /** The meanings of its positional arguments, in order. */
  positional: ForeignMeaning[];
}

const keras = (nnc: string, ...positional: ForeignMeaning[]): ForeignLayer => ({ framework: "Keras", nnc, positional });
const torch = (nnc: string, ...positional: ForeignMeaning[]): ForeignLayer => ({ framework: "PyTorch", nnc, positional });

/**
 * Layer classes by their exact name (`Conv2D` is Keras's, `Conv2d` PyTorch's), for a head
 * such as `Dense(64, activation='relu')`, `layers.Conv2D(32, 3)` or `nn.Conv2d(1, 32, 5)`.
 */
export const FOREIGN_LAYERS: Record<string, ForeignLayer> = {
  // Keras
  Dense: keras("dense", "units", "activation"),
  Conv2D: keras("conv", "filters", "kernel", "stride", "padding"),
  Convolution2D: keras("conv", "filters", "kernel", "stride", "padding"),
  MaxPooling2D: keras("pool", "kernel", "stride", "padding"),
  MaxPool2D: keras("pool", "kernel", "stride", "padding"),
  AveragePooling2D: keras("pool avg", "kernel", "stride", "padding"),
  AvgPool2D: keras("pool avg", "kernel", "stride", "padding"),
  GlobalAveragePooling2D: keras("global avgpool"),
  GlobalAvgPool2D: keras("global avgpool"),
  GlobalMaxPooling2D: keras("global maxpool"),
  GlobalMaxPool2D: keras("global maxpool"),
  Flatten: keras("flatten"),
  Dropout: keras("dropout", "rate"),
  BatchNormalization: keras("batchnorm"),
  LayerNormalization: keras("layernorm"),
  GroupNormalization: keras("groupnorm", "groups"),
  Reshape: keras("reshape", "shape"),
  Activation: keras("activation", "activation"),
  Input: keras("input", "shape"),
  InputLayer: keras("input", "shape"),
  ReLU: keras("relu"),
  LeakyReLU: keras("leaky_relu", "alpha"),
  PReLU: keras("prelu"),
  ELU: keras("elu", "alpha"),
  Softmax: keras("softmax"),
  // PyTorch
  Linear: torch("dense", "inferred", "units"),
  Conv2d: torch("conv", "inferred", "filters", "kernel", "stride", "padding", "dilation"),
  MaxPool2d: torch("pool", "kernel", "stride", "padding"),
  AvgPool2d: torch("pool avg", "kernel", "stride", "padding"),
  AdaptiveAvgPool2d: torch("global avgpool", "output_size"),
  AdaptiveMaxPool2d: torch("global maxpool", "output_size"),
  Dropout2d: torch("dropout", "rate"),
  BatchNorm1d: torch("batchnorm", "inferred", "epsilon", "momentum"),
  BatchNorm2d: torch("batchnorm", "inferred", "epsilon", "momentum"),
  LayerNorm: torch("layernorm", "inferred", "epsilon"),
  GroupNorm: torch("groupnorm", "groups", "inferred", "epsilon"),
  Sigmoid: torch("sigmoid"),
  Tanh: torch("tanh"),
  SELU: torch("selu"),
  Softplus: torch("softplus"),
  Identity: torch("linear"),
};

/** Class names both libraries spell alike, read as PyTorch's under `nn.` or `torch.nn.`. */
export const TORCH_SAME_NAMES: Record<string, ForeignLayer> = {
  Dropout: torch("dropout", "rate"),
  Flatten: torch("flatten"),
  ReLU: torch("relu"),
  LeakyReLU: torch("leaky_relu", "alpha"),
  PReLU: torch("prelu"),
  ELU: torch("elu", "alpha"),
  Softmax: torch("softmax"),
};

/** Keyword arguments of Keras and PyTorch layers, by what they mean in nnc. */
export const FOREIGN_ARGUMENTS: Record<string, ForeignMeaning> = {
  units: "units",
  out_features: "units",
  filters: "filters",
  out_channels: "filters",
  kernel_size: "kernel",
  pool_size: "kernel",
  strides: "stride",
  stride: "stride",
  padding: "padding",
  dilation_rate: "dilation",
  dilation: "dilation",
  activation: "activation",
  use_bias: "use_bias",
  bias: "use_bias",
  kernel_initializer: "init",
  kernel_regularizer: "regularizer",
  rate: "rate",
  p: "rate",
  shape: "shape",
  input_shape: "shape",
  target_shape: "shape",
  momentum: "momentum",
  epsilon: "epsilon",
  eps: "epsilon",
  groups: "groups",
  num_groups: "groups",
  alpha: "alpha",
  negative_slope: "alpha",
  name: "name",
  trainable: "trainable",
  output_size: "output_size",
  in_features: "inferred",
  in_channels: "inferred",
  num_features: "inferred",
  num_channels: "inferred",
  normalized_shape: "inferred",
  input_dim: "inferred",
};

/**
 * Module paths that come before a layer class or an optimizer, with the library they name:
 * `nn.Conv2d`, `torch.nn.Linear`, `layers.Dense`, `tf.keras.layers.Dense`, `optim.Adam`.
 */
export const FOREIGN_MODULES: Record<string, "Keras" | "PyTorch"> = {
  nn: "PyTorch",
  "torch.nn": "PyTorch",
  optim: "PyTorch",
  "torch.optim": "PyTorch",
  layers: "Keras",
  "keras.layers": "Keras",
  "tf.keras.layers": "Keras",
  "tensorflow.keras.layers": "Keras",
  keras: "Keras",
  "tf.keras": "Keras",
  optimizers: "Keras",
  "keras.optimizers": "Keras",
  "tf.keras.optimizers": "Keras",
};

/** Losses by their Keras and PyTorch names (classes and strings, lower-cased): nnc's loss. */
export const FOREIGN_LOSSES: Record<string, string> = {
  categorical_crossentropy: "crossentropy",
  categoricalcrossentropy: "crossentropy",
  crossentropyloss: "crossentropy",
  nllloss: "crossentropy",
  sparse_categorical_crossentropy: "sparse_crossentropy",
  sparsecategoricalcrossentropy: "sparse_crossentropy",
  binarycrossentropy: "binary_crossentropy",
  bceloss: "binary_crossentropy",
  bcewithlogitsloss: "binary_crossentropy",
  mean_squared_error: "mse",
  meansquarederror: "mse",
  mseloss: "mse",
  mean_absolute_error: "mae",
  meanabsoluteerror: "mae",
  l1loss: "mae",
  hingeloss: "hinge",
  hingeembeddingloss: "hinge",
};

/** Optimizer keyword arguments, by the nnc argument (or setting, for `lr`) they set. */
export const FOREIGN_OPTIMIZER_ARGUMENTS: Record<string, string> = {
  lr: "lr",
  learning_rate: "lr",
  beta_1: "beta1",
  beta1: "beta1",
  beta_2: "beta2",
  beta2: "beta2",
  betas: "betas",
  eps: "epsilon",
  epsilon: "epsilon",
  rho: "rho",
  alpha: "rho",
  momentum: "momentum",
  nesterov: "nesterov",
  weight_decay: "weight_decay",
};

// The tables are looked up with words from the spec. Without a prototype, `constructor`,
// `__proto__` or `toString` are not found in them (a model named `constructor` once read
// `Object.prototype.constructor` as a layer kind and crashed the parser).
for (const table of [ACTIVATIONS, INITIALIZERS, LAYER_KINDS, OPTIMIZERS, LOSSES, RECIPE_SETTINGS, SEARCH_DISTRIBUTIONS, SEARCH_SETTINGS, ALIASES, FOREIGN_LAYERS, TORCH_SAME_NAMES, FOREIGN_ARGUMENTS, FOREIGN_MODULES, FOREIGN_OPTIMIZER_ARGUMENTS, FOREIGN_LOSSES]) Object.setPrototypeOf(table, null);
for (const kind of Object.values(LAYER_KINDS)) Object.setPrototypeOf(kind.options, null);
