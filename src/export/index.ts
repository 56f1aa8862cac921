/**
 * `nnc export`: a trained model (model.json + weights, as `nnc train` saves them) to ONNX or to
 * a TF.js layers model that plain TensorFlow.js loads. Pure: reads the files and writes bytes;
 * no TensorFlow.js, so the command line loads it without loading TF.js.
 */
export { ExportError, locateModel, readModelFolder, type ModelFolder, type NormalizerFile, type DataFile } from "./model-folder.js";
export { exportOnnx, isNncOnnx, DEFAULT_OPSET, MIN_OPSET, MAX_OPSET, ONNX_PRODUCER, type OnnxOptions, type OnnxResult } from "./onnx.js";
export { exportTfjs, isNncTfjs, TFJS_CONVERTED_BY, CUSTOM_LAYERS, LAYERS_IMPORT, WEIGHTS_FILE, type TfjsResult } from "./tfjs.js";
