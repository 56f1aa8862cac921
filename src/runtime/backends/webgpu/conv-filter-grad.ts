/**
 * The filter gradient of a 2-D convolution on WebGPU, in WGSL.
 *
 * dW[kh, kw, ci, co] = Σ over b, oh, ow of x[b, oh·sh + kh·dh − top, ow·sw + kw·dw − left, ci]
 * · dy[b, oh, ow, co]: a matrix product A(R×M)ᵀ · D(R×N) with M = KH·KW·Ci filter rows, N = Co
 * and a long reduction R = batch·OH·OW (200,704 for the MNIST CNN's first conv at batch 256).
 * TF.js's stock kernel gives each of the M·N outputs one thread that walks all of R: 800
 * threads for that conv, each summing 200,704 products, 71 ms of a 120 ms step on an H100.
 *
 * Here the reduction is split (split-K): workgroups of 8×8 threads each own a 32×32 tile of
 * dW and one slice of R; each slice is staged 32 rows at a time in workgroup memory (the rows
 * of A gathered from x by the window arithmetic, zero outside the image) and every thread
 * accumulates a 4×4 block. With more than one slice, each slice writes its partial tile and a
 * second pass sums the slices per output. The number of slices is chosen so that the device
 * gets about `TARGET_WORKGROUPS` workgroups with at least `MIN_ROWS` rows each, and the
 * partial sums stay within `PARTIAL_BYTES`.
 */

import * as tf from "@tensorflow/tfjs";
import { deviceLimit } from "./device.js";
import { flatDispatch, mainHeader, type UniformValue, type WebGpuBackendLike, type WebGpuProgram } from "./program.js";

/** Output tile edge (both M and N) of one workgroup, and the rows staged per round. */
const TILE = 32;
const ROWS = 32;
/** Workgroups wanted in flight: enough for a large GPU (an H100 has 132 SMs). */
export const TARGET_WORKGROUPS = 2048;
/** The fewest reduction rows a slice is given (fewer and the second pass costs more than it saves). */
export const MIN_ROWS = 256;
/** The most bytes the partial sums may take. */
const PARTIAL_BYTES = 64 * 2 ** 20;

export interface FilterGradShape {
  /** x: [batch, height, width, inChannels], channels last. */
  xShape: readonly [number, number, number, number];
  /** dy: [batch, outHeight, outWidth, outChannels]. */
  dyShape: readonly [number, number, number, number];
  /** [KH, KW, inChannels, outChannels]. */
  filterShape: readonly [number, number, number, number];
  strides: readonly [number, number];
  dilations: readonly [number, number];
  /** Rows and columns of padding before the image (top, left). */
  pads: readonly [number, number];
}

/** How the reduction is split: `splits` slices of `chunk` rows (a multiple of ROWS). */
export function planSplits(shape: FilterGradShape, maxBinding: number): { splits: number; chunk: number } {
  const [b, oh, ow] = shape.dyShape;
  const [kh, kw, ci, co] = shape.filterShape;
  const rows = b * oh * ow;
  const m = kh * kw * ci;
  const tiles = Math.ceil(m / TILE) * Math.ceil(co / TILE);
  const byWork = Math.ceil(TARGET_WORKGROUPS / tiles);
  const byRows = Math.max(1, Math.floor(rows / MIN_ROWS));
  const byMemory = Math.max(1, Math.floor(Math.min(PARTIAL_BYTES, maxBinding) / (4 * m * co)));
  const wanted = Math.max(1, Math.min(byWork, byRows, byMemory, 65535));
  const chunk = Math.ceil(Math.ceil(rows / wanted) / ROWS) * ROWS;
  return { splits: Math.ceil(rows / chunk), chunk };
}

class FilterGradProgram implements WebGpuProgram {
  variableNames = ["x", "dy"];
  outputShape: number[];
  shaderKey = "nncConvFilterGrad";
  dispatchLayout = { x: [3], y: [2], z: [0, 1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [8, 8, 1];
  uniforms = "filterDims : vec2<i32>, strides : vec2<i32>, dilations : vec2<i32>, pads : vec2<i32>, chunk : i32, rows : i32, m : i32, n : i32,";

  constructor(shape: FilterGradShape, splits: number) {
    const [kh, kw, ci, co] = shape.filterShape;
    // One slice: the filter itself; several: [splits·KH, KW, Ci, Co], slice s at s·M·N.
    this.outputShape = [splits * kh, kw, ci, co];
    this.dispatch = [Math.ceil(co / TILE), Math.ceil((kh * kw * ci) / TILE), splits];
  }

  getUserCode(): string {
    return `
      var<workgroup> tileA : array<array<f32, ${TILE}>, ${ROWS}>;
      var<workgroup> tileD : array<array<f32, ${TILE}>, ${ROWS}>;

      ${mainHeader(false)} {
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let li = i32(localIndex);
        let n0 = i32(workgroupId.x) * ${TILE};
        let m0 = i32(workgroupId.y) * ${TILE};
        let slice = i32(workgroupId.z);
        let rowStart = slice * uniforms.chunk;
        let rowEnd = min(uniforms.rows, rowStart + uniforms.chunk);
        let inH = uniforms.xShape.y;
        let inW = uniforms.xShape.z;
        let inC = uniforms.xShape.w;
        let outH = uniforms.dyShape.y;
        let outW = uniforms.dyShape.z;
        let outC = uniforms.dyShape.w;
        var acc : array<vec4<f32>, 4>;
        for (var i = 0; i < 4; i++) { acc[i] = vec4<f32>(0.0); }

        // Each thread stages one column of each tile (the same filter row m and output channel n
        // in every round), so the filter position of its column is worked out once.
        let j = li % ${TILE};
        let kFirst = li / ${TILE};
        let m = m0 + j;
        let mIn = m < uniforms.m;
        let c = m % inC;
        let fw = (m / inC) % uniforms.filterDims.y;
        let fh = (m / inC) / uniforms.filterDims.y;
        let rowOffset = fh * uniforms.dilations.x - uniforms.pads.x;
        let colOffset = fw * uniforms.dilations.y - uniforms.pads.y;
        let n = n0 + j;
        let nIn = n < uniforms.n;

        // Rounds counted from uniforms alone: the barriers need uniform control flow, and TF.js
        // hands the workgroup id over in a private variable, which WGSL does not treat as uniform.
        let rounds = uniforms.chunk / ${ROWS};
        for (var round = 0; round < rounds; round++) {
          let r0 = rowStart + round * ${ROWS};
          for (var k = kFirst; k < ${ROWS}; k += ${64 / TILE}) {
            let r = r0 + k;
            var v = 0.0;
            var d = 0.0;
            if (r < rowEnd) {
              if (mIn) {
                let ow = r % outW;
                let t = r / outW;
                let oh = t % outH;
                let b = t / outH;
                let ih = oh * uniforms.strides.x + rowOffset;
                let iw = ow * uniforms.strides.y + colOffset;
                if (ih >= 0 && ih < inH && iw >= 0 && iw < inW) {
                  v = x[((b * inH + ih) * inW + iw) * inC + c];
                }
              }
              if (nIn) {
                d = dy[r * outC + n];
              }
            }
            tileA[k][j] = v;
            tileD[k][j] = d;
          }
          workgroupBarrier();
          for (var k = 0; k < ${ROWS}; k++) {
            let a = vec4<f32>(tileA[k][ty * 4], tileA[k][ty * 4 + 1], tileA[k][ty * 4 + 2], tileA[k][ty * 4 + 3]);
            let g = vec4<f32>(tileD[k][tx * 4], tileD[k][tx * 4 + 1], tileD[k][tx * 4 + 2], tileD[k][tx * 4 + 3]);
            acc[0] = fma(vec4<f32>(a.x), g, acc[0]);
            acc[1] = fma(vec4<f32>(a.y), g, acc[1]);
            acc[2] = fma(vec4<f32>(a.z), g, acc[2]);
            acc[3] = fma(vec4<f32>(a.w), g, acc[3]);
          }
          workgroupBarrier();
        }

        let base = slice * uniforms.m * uniforms.n;
        for (var i = 0; i < 4; i++) {
          let row = m0 + ty * 4 + i;
          if (row < uniforms.m) {
            for (var q = 0; q < 4; q++) {
              let col = n0 + tx * 4 + q;
              if (col < uniforms.n) {
                result[base + row * uniforms.n + col] = acc[i][q];
              }
            }
          }
        }
      }
    `;
  }
}

/** Sums `splits` slices of `size` values each: out[i] = Σ_s partial[s·size + i]. */
class SumSlicesProgram implements WebGpuProgram {
  variableNames = ["partial"];
  outputShape: number[];
  shaderKey = "nncSumSlices";
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  uniforms = "splits : i32,";

  constructor(outputShape: readonly number[]) {
    this.outputShape = [...outputShape];
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = flatDispatch(tf.util.sizeFromShape([...outputShape]), 64);
  }

  getUserCode(): string {
    return `
      ${mainHeader(true)} {
        if (index < uniforms.size) {
          var s = 0.0;
          for (var k = 0; k < uniforms.splits; k++) {
            s = s + partial[k * uniforms.size + index];
          }
          setOutputAtIndex(index, s);
        }
      }
    `;
  }
}

/** dW for `x` and `dy` (float32, channels last) on the WebGPU backend `backend`. */
export function convFilterGrad(backend: WebGpuBackendLike, x: tf.TensorInfo, dy: tf.TensorInfo, shape: FilterGradShape): tf.TensorInfo {
  const maxBinding = deviceLimit(backend.device, "maxStorageBufferBindingSize", 128 * 2 ** 20);
  const { splits, chunk } = planSplits(shape, maxBinding);
  const [kh, kw, ci, co] = shape.filterShape;
  const [b, oh, ow] = shape.dyShape;
  const uniforms: UniformValue[] = [
    { type: "int32", data: [kh, kw] },
    { type: "int32", data: [...shape.strides] },
    { type: "int32", data: [...shape.dilations] },
    { type: "int32", data: [...shape.pads] },
    { type: "int32", data: [chunk] },
    { type: "int32", data: [b * oh * ow] },
    { type: "int32", data: [kh * kw * ci] },
    { type: "int32", data: [co] },
  ];
  const partial = backend.runWebGPUProgram(new FilterGradProgram(shape, splits), [x, dy], "float32", uniforms);
  if (splits === 1) return partial;
  const out = backend.runWebGPUProgram(new SumSlicesProgram(shape.filterShape), [partial], "float32", [{ type: "int32", data: [splits] }]);
  backend.disposeData(partial.dataId);
  return out;
}
