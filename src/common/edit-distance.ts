/**
 * "Did you mean …?" arithmetic, shared by the compiler (`diagnostics/suggest.ts`) and the
 * runtime (a CSV column name): one edit distance and one rule for "close enough". Imports
 * nothing, so both sides may use it.
 */

/**
 * The optimal-string-alignment distance (Levenshtein plus adjacent transpositions) if it is
 * at most `limit`, else `limit + 1`: stops as soon as every entry of a row is over the limit
 * (no suggestion is ever further than 3 edits away).
 */
function boundedDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const m = a.length;
  const n = b.length;
  if (m === 0 || n === 0) return Math.min(limit + 1, m + n);
  let prev2: number[] = new Array<number>(n + 1).fill(0);
  let prev: number[] = Array.from({ length: n + 1 }, (_, j) => j);
  let cur: number[] = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > limit) return limit + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return Math.min(prev[n]!, limit + 1);
}

/** Answers already given, by word and candidate list: a file that repeats one typo asks again and again. */
const remembered = new Map<string, string | undefined>();
const REMEMBERED = 4096;

/**
 * The candidate closest to `word`: one that differs only in case, else the nearest by edit
 * distance when that distance is at most a third of the word's length (at least 1, at most 3).
 * `word` itself is never suggested.
 */
export function closestByDistance(word: string, candidates: Iterable<string>): string | undefined {
  const list = Array.isArray(candidates) ? (candidates as string[]) : [...candidates];
  // Words of up to 64 letters are remembered (a name of a million letters is not worth it).
  const key = word.length <= 64 ? `${word}\u0000${list.join("\u0000")}` : undefined;
  if (key !== undefined && remembered.has(key)) return remembered.get(key);
  const lower = word.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestScore = limit + 1;
  let found: string | undefined;
  for (const c of list) {
    if (c === word) continue;
    const cl = c.toLowerCase();
    if (cl === lower) {
      found = c;
      break;
    }
    // The distance is at least the difference in length, and above the limit no candidate is
    // taken: skipping these keeps a 300,000-letter name from costing seconds.
    const d = boundedDistance(lower, cl, limit);
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  const answer = found ?? best;
  if (key !== undefined) {
    if (remembered.size >= REMEMBERED) remembered.clear();
    remembered.set(key, answer);
  }
  return answer;
}
