/**
 * `nnc/layers`: registers nnc's own TF.js layers (NncGroupNorm, NncMaxout, NncElu with α ≠ 1,
 * NncDilatedConv2D, NncGroupedConv2D, NncChannelPad, NncHardActivation) so that
 * `tf.loadLayersModel` can build a model that uses them — a model `nnc export --format tfjs`
 * wrote, or a run folder's model.json.
 *
 *   import * as tf from "@tensorflow/tfjs";
 *   import "nnc/layers";
 *   const model = await tf.loadLayersModel("model/model.json");
 *
 * Registration goes to the TensorFlow.js that `@tensorflow/tfjs` resolves to from nnc's own
 * folder. That must be the copy your program imports: one @tensorflow/tfjs in the project
 * (`npm ls @tensorflow/tfjs` shows a single, deduped version, the one nnc pins). With two copies,
 * yours still says "Unknown layer: NncGroupNorm".
 *
 * Only the layers: this module does not load the rest of the runtime (training, data, backends).
 */
import { NncChannelPad, NncDilatedConv2D, NncElu, NncGroupedConv2D, NncGroupNorm, NncHardActivation, NncMaxout } from "./layers.js";

export { NncChannelPad, NncDilatedConv2D, NncElu, NncGroupedConv2D, NncGroupNorm, NncHardActivation, NncMaxout };

/** The class names this module registers, as they appear in a model.json's `class_name`. */
export const NNC_LAYER_CLASSES: readonly string[] = [
  NncGroupNorm.className,
  NncMaxout.className,
  NncElu.className,
  NncDilatedConv2D.className,
  NncGroupedConv2D.className,
  NncChannelPad.className,
  NncHardActivation.className,
];
