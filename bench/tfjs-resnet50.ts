/**
 * The TensorFlow.js side of `bench/check.ts`: build ResNet-50 — the network of
 * specs/resnet50.nn, torchvision's v1.5 — with the tfjs layers (functional) API on the pure-JS
 * `cpu` backend, print `model.summary()` and the parameter counts, and exit.
 *
 * The benchmark spawns this file (`node dist/bench/tfjs-resnet50.js`) as a fresh process and
 * times the whole run, as it times a cold `nnc check`. Whatever tfjs prints (its "install
 * tfjs-node" banner, the summary) goes to stdout; the one line this script adds for the
 * benchmark starts with `NNC_BENCH_RESULT ` and carries JSON: the counts and the time of each
 * phase measured inside the process.
 *
 * Run it by hand: `npm run build && node dist/bench/tfjs-resnet50.js`.
 */
const t0 = performance.now();
const tf = await import("@tensorflow/tfjs");
await tf.setBackend("cpu");
await tf.ready();
const tImported = performance.now();

type Sym = import("@tensorflow/tfjs").SymbolicTensor;
const apply = (layer: { apply(x: Sym | Sym[]): unknown }, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;

/** conv without bias, then batchnorm (Keras defaults, as the spec's `batchnorm`), then maybe ReLU. */
function convBn(x: Sym, filters: number, kernelSize: number, strides: number, relu: boolean): Sym {
  let y = apply(tf.layers.conv2d({ filters, kernelSize, strides, padding: "same", useBias: false }), x);
  y = apply(tf.layers.batchNormalization(), y);
  return relu ? apply(tf.layers.activation({ activation: "relu" }), y) : y;
}

/** A bottleneck block, v1.5: the stride sits on the 3x3 conv; a projection (1x1 conv + BN) when `project`. */
function bottleneck(x: Sym, c: number, stride: number, project: boolean): Sym {
  let y = convBn(x, c, 1, 1, true);
  y = convBn(y, c, 3, stride, true);
  y = convBn(y, c * 4, 1, 1, false);
  const skip = project ? convBn(x, c * 4, 1, stride, false) : x;
  return apply(tf.layers.activation({ activation: "relu" }), apply(tf.layers.add(), [y, skip]));
}

const input = tf.input({ shape: [224, 224, 3] });
let x = convBn(input, 64, 7, 2, true);
x = apply(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: "same" }), x);
for (const [c, blocks, stride] of [
  [64, 3, 1],
  [128, 4, 2],
  [256, 6, 2],
  [512, 3, 2],
] as const) {
  x = bottleneck(x, c, stride, true);
  for (let i = 1; i < blocks; i++) x = bottleneck(x, c, 1, false);
}
x = apply(tf.layers.globalAveragePooling2d({}), x);
x = apply(tf.layers.dense({ units: 1000, activation: "softmax" }), x);
const model = tf.model({ inputs: input, outputs: x, name: "resnet50" });
const tBuilt = performance.now();

model.summary(110);
const total = model.countParams();
const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const trainable = model.trainableWeights.reduce((n, w) => n + size(w.shape as number[]), 0);
const nonTrainable = model.nonTrainableWeights.reduce((n, w) => n + size(w.shape as number[]), 0);
console.log(`countParams(): ${total}`);
const tDone = performance.now();

console.log(
  "NNC_BENCH_RESULT " +
    JSON.stringify({
      backend: tf.getBackend(),
      tfjsVersion: tf.version.tfjs,
      layers: model.layers.length,
      params: { total, trainable, nonTrainable },
      ms: { importAndBackend: tImported - t0, build: tBuilt - tImported, summaryAndCount: tDone - tBuilt, inProcess: tDone - t0 },
    }),
);
