/** "Did you mean …?" — the closest candidate by edit distance, if it is close enough. */
import { ALIASES } from "../language/vocabulary.js";
import { closestByDistance } from "../common/edit-distance.js";
import type { Code } from "./codes.js";
import { diag, type Diagnostic, type Fix, type Range, type RelatedInformation } from "./diagnostic.js";

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

export interface UnknownWord {
  code: Code;
  /** The message, in the spec's terms: "`adm` is not an optimizer I know." */
  message: string;
  /** The word as written, and exactly where it is (what the quick fix replaces). */
  word: string;
  range: Range;
  /** The words it could have been. */
  candidates: Iterable<string>;
  /**
   * The hint when none is close: advice, or the list of candidates (the default, "Optimizers:
   * `sgd`, `adam`, …" with `kinds` as its label).
   */
  otherwise?: string;
  /** The label of the default list: "Optimizers". Without it (or `otherwise`), no hint. */
  kinds?: string;
  /** Said after "Did you mean `x`": " (its values go after a space)". */
  after?: string;
  /** False when replacing the word alone would not fix the line (no quick fix then). */
  fix?: boolean;
  related?: RelatedInformation[];
}

/** How many candidates a list in a hint shows before "…". */
const LISTED = 12;

/**
 * The one reporter of a word that is not one nnc knows, as Elm's `notFound`: the closest
 * candidate as "Did you mean `x`?" with the quick fix that writes it, or, when none is
 * close, the list of what would do. Every unknown word (a layer kind, an option, an
 * optimizer, a parameter, a model, a setting) is reported through here, so all behave alike.
 */
export function unknownWord(u: UnknownWord): Diagnostic {
  const list = [...u.candidates];
  const guess = closest(u.word, list);
  let hint: string | undefined;
  if (guess !== undefined) hint = `Did you mean \`${guess}\`${u.after ?? ""}?`;
  else if (u.otherwise !== undefined) hint = u.otherwise;
  else if (u.kinds !== undefined && list.length > 0) hint = `${u.kinds}: ${list.slice(0, LISTED).map((c) => `\`${c}\``).join(", ")}${list.length > LISTED ? ", …" : ""}.`;
  return diag(u.code, u.message, u.range, { hint, related: u.related, fixes: u.fix === false ? undefined : replaceFix(guess, u.range) });
}
