/** "Did you mean …?" — the closest candidate by edit distance, if it is close enough. */
import { ALIASES } from "../language/vocabulary.js";
import { closestByDistance } from "../common/edit-distance.js";
import type { Fix, Range } from "./diagnostic.js";

/**
 * The quick fix behind "Did you mean `guess`?": replace the misspelt word, which `range`
 * covers exactly, with the suggestion. None when there is no suggestion.
 */
export function replaceFix(guess: string | undefined, range: Range): Fix[] | undefined {
  if (guess === undefined) return undefined;
  return [{ title: `Replace with \`${guess}\``, edits: [{ range, newText: guess }] }];
}

/**
 * The candidate closest to `word`: another library's name for one of ours (`kaiming_normal` →
 * `he_normal`), else one that differs only in case or by a few edits (`closestByDistance`).
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  const alias = ALIASES[word.toLowerCase()];
  if (alias !== undefined && alias !== word && list.includes(alias)) return alias;
  return closestByDistance(word, list);
}
