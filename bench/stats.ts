/** Small statistics the benchmarks share, and the facts of the machine they ran on. */
import * as tf from "@tensorflow/tfjs";
import { availableParallelism, cpus, totalmem } from "node:os";

/** The machine's CPU, cores, memory, Node and TF.js versions, as the benchmarks print them. */
export function machineFacts(): Record<string, string | number> {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    tfjs: tf.version_core,
  };
}

/** The median of `xs` (the mean of the two middle values when there is an even number). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error("median of no values");
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
