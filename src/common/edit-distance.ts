/**
 * "Did you mean …?" arithmetic, shared by the compiler (`diagnostics/suggest.ts`) and the
 * runtime (a CSV column name): one edit distance and one rule for "close enough". Imports
 * nothing, so both sides may use it.
 */

/** Optimal-string-alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  if (m === 0) return n;
  if (n === 0) return m;
  let prev2: number[] = new Array<number>(n + 1).fill(0);
  let prev: number[] = Array.from({ length: n + 1 }, (_, j) => j);
  let cur: number[] = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

/**
 * The candidate closest to `word`: one that differs only in case, else the nearest by edit
 * distance when that distance is at most a third of the word's length (at least 1, at most 3).
 * `word` itself is never suggested.
 */
export function closestByDistance(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const cl = c.toLowerCase();
    if (cl === lower) return c;
    // The distance is at least the difference in length, and above 3 no candidate is taken:
    // skipping these keeps a 300,000-letter name from costing seconds.
    if (Math.abs(cl.length - lower.length) > 3) continue;
    const d = editDistance(lower, cl);
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  return bestScore <= limit ? best : undefined;
}
