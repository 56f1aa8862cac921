/**
 * The one seeded generator nnc uses, on both sides: the runtime (shuffling, sampling,
 * augmentation, dropout seeds) and the compiler's tools (a search's draws, the fuzzers).
 * Imports nothing, so `nnc search` draws its trials without loading TensorFlow.js.
 */

/**
 * A seeded generator of floats in [0, 1) (mulberry32: 32 bits of state, fast, and good
 * enough for shuffling, sampling and augmentation; not for cryptography). The same seed gives
 * the same sequence on every platform. Non-integer seeds are truncated to 32 bits. Its whole
 * state is one 32-bit integer, so a checkpoint can save it and a resumed run go on with the
 * very numbers an uninterrupted run would have drawn.
 */
export class SeededRandom {
  private current: number;

  constructor(seed: number) {
    this.current = Math.trunc(seed) >>> 0;
  }

  /** The next float in [0, 1). A bound function: pass it where a `() => number` is wanted. */
  readonly next = (): number => {
    this.current = (this.current + 0x6d2b79f5) >>> 0;
    let t = this.current;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  /** The state: a whole number in [0, 2³²). */
  state(): number {
    return this.current;
  }

  /** Goes back to a state `state()` returned. */
  restore(state: number): void {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) throw new RangeError(`SeededRandom.restore: the state must be a whole number in [0, 2^32), not ${state}`);
    this.current = state;
  }
}

/** `new SeededRandom(seed).next`: a generator whose state nobody needs to save. */
export function seededRandom(seed: number): () => number {
  return new SeededRandom(seed).next;
}
