/**
 * Syntax errors after which the parser read the text as what was meant: another library's
 * spelling translated, quotes taken off a word, a `;` skipped, a misspelt declaration keyword
 * read as the keyword. Unlike other syntax errors, these say nothing about the rest of their
 * line, so the checker's findings there are kept (`checkText`): they are mistakes of their own.
 */
import type { Diagnostic } from "../diagnostics/diagnostic.js";

const readAsMeant = new WeakSet<Diagnostic>();

/** Marks `d` as a syntax error after which the line was read as meant; returns it. */
export function readAsMeantAfter(d: Diagnostic): Diagnostic {
  readAsMeant.add(d);
  return d;
}

export function wasReadAsMeant(d: Diagnostic): boolean {
  return readAsMeant.has(d);
}
