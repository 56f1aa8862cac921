/**
 * Habits people bring from other languages, found before the parse (declarations) and after
 * it (characters the lexer read past), each reported once with what nnc writes instead.
 *
 * - `readDeclarations`: a misspelt declaration keyword at the start of a line (`traing cnn {`)
 *   is read as the keyword it resembles; a body indented under a colon, or indented with no
 *   braces at all (YAML, Python), is read as if it had braces. Also collects the names of
 *   blocks (lowering needs them before the blocks are lowered).
 * - `reportHabits`: the lexer's habits (`readHabits` in lexer.ts) that no diagnostic of
 *   lowering already covers: quotes other than `"`, `×`, look-alike dashes, names outside
 *   ASCII, dotted names, invisible characters, semicolons.
 */
import { EOF, type IToken } from "chevrotain";
import { diag, type Diagnostic, type FixEdit, type LineMap } from "../diagnostics/diagnostic.js";
import { closest, unknownWord } from "../diagnostics/suggest.js";
import * as T from "./lexer.js";
import { TOP_LEVEL_MESSAGE } from "./messages.js";
import { readAsMeantAfter } from "./read-as-meant.js";
import type { LexHabit } from "./lexer.js";

const DECLARATION_KEYWORDS = ["model", "block", "train", "search"] as const;
const KEYWORD_TOKENS = { model: T.Model, block: T.Block, train: T.Train, search: T.Search };
const DECLARATION_TYPES = new Set([T.Model, T.Block, T.Train, T.Search]);

function firstOnLine(tokens: readonly IToken[], i: number): boolean {
  return i === 0 || (tokens[i - 1]!.endLine ?? 0) < (tokens[i]!.startLine ?? 0);
}

function isName(t: IToken | undefined): boolean {
  return t !== undefined && (t.tokenType === T.Ident || DECLARATION_TYPES.has(t.tokenType) || t.tokenType === T.Repeat || t.tokenType === T.Residual);
}

/** A token that is not in the text: a `{` or `}` standing for braces a body was written without. */
function virtualToken(type: typeof T.LCurly): IToken {
  return {
    image: type === T.LCurly ? "{" : "}",
    startOffset: NaN,
    endOffset: NaN,
    startLine: NaN,
    endLine: NaN,
    startColumn: NaN,
    endColumn: NaN,
    tokenType: type,
    tokenTypeIdx: type.tokenTypeIdx!,
    isInsertedInRecovery: true,
  };
}

export interface ReadDeclarations {
  tokens: IToken[];
  diagnostics: Diagnostic[];
  /** Names declared with `block NAME`. */
  blocks: Set<string>;
  /** Lines inside bodies written without braces (reported once, here). */
  indentedBodyLines: Set<number>;
}

export function readDeclarations(input: IToken[], lines: LineMap): ReadDeclarations {
  const diagnostics: Diagnostic[] = [];
  const blocks = new Set<string>();
  const indentedBodyLines = new Set<number>();
  let tokens = input;
  // Misspelt declaration keywords, outside any braces, at the start of a line, before a name.
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.tokenType === T.LCurly) depth++;
    else if (t.tokenType === T.RCurly) depth = Math.max(0, depth - 1);
    else if (depth === 0 && t.tokenType === T.Ident && firstOnLine(tokens, i) && isName(tokens[i + 1]) && tokens[i + 1]!.startLine === t.startLine) {
      const guess = closest(t.image, DECLARATION_KEYWORDS) as (typeof DECLARATION_KEYWORDS)[number] | undefined;
      if (guess === undefined) continue;
      const range = lines.range(t.startOffset, t.endOffset! + 1);
      diagnostics.push(readAsMeantAfter(unknownWord({ code: "NN1007", message: TOP_LEVEL_MESSAGE(t), word: t.image, range, candidates: DECLARATION_KEYWORDS })));
      const type = KEYWORD_TOKENS[guess];
      tokens[i] = { ...t, tokenType: type, tokenTypeIdx: type.tokenTypeIdx! };
    }
  }
  // Bodies without braces, and the names of blocks.
  const inserts: { at: number; token: IToken }[] = [];
  /** Virtual `}` to come, by the index they go before. */
  const closesAt = new Map<number, number>();
  depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    depth = Math.max(0, depth - (closesAt.get(i) ?? 0));
    if (t.tokenType === T.LCurly) depth++;
    else if (t.tokenType === T.RCurly) depth = Math.max(0, depth - 1);
    if (!DECLARATION_TYPES.has(t.tokenType) || depth > 0 || !firstOnLine(tokens, i)) continue;
    if (t.tokenType === T.Block && isName(tokens[i + 1])) blocks.add(tokens[i + 1]!.image);
    // The header: the keyword, its name, parameters or arguments, a search's strategy.
    let j = i + 1;
    if (!isName(tokens[j])) continue;
    j++;
    if (tokens[j]?.tokenType === T.LParen) {
      let level = 0;
      for (; j < tokens.length; j++) {
        if (tokens[j]!.tokenType === T.LParen) level++;
        else if (tokens[j]!.tokenType === T.RParen && --level === 0) break;
        else if (tokens[j]!.tokenType === T.LCurly || tokens[j]!.tokenType === T.RCurly) break;
      }
      if (tokens[j]?.tokenType !== T.RParen) continue;
      j++;
    }
    const headerLine = tokens[j - 1]!.endLine ?? 0;
    while (t.tokenType === T.Search && j < tokens.length && tokens[j]!.startLine === headerLine && (tokens[j]!.tokenType === T.Ident || tokens[j]!.tokenType === T.NumberLit)) j++;
    const colon = tokens[j]?.tokenType === T.Colon && tokens[j]!.startLine === headerLine ? tokens[j]! : undefined;
    const bodyStart = colon ? j + 1 : j;
    const first = tokens[bodyStart];
    if (!first || first.tokenType === T.LCurly || first.tokenType === EOF) continue;
    const indent = t.startColumn ?? 1;
    // Indented lines below the header, or (after a colon) anything on the lines below it.
    if ((first.startLine ?? 0) <= headerLine || (first.startColumn ?? 1) <= indent) continue;
    let end = bodyStart;
    while (end < tokens.length && !(firstOnLine(tokens, end) && (tokens[end]!.startColumn ?? 1) <= indent)) end++;
    const last = tokens[end - 1]!;
    if (!colon && tokens[end]?.tokenType === T.RCurly) {
      // The body ends in its `}`: only the `{` is missing. Read one there, and say so.
      inserts.push({ at: bodyStart, token: virtualToken(T.LCurly) });
      const after = lines.range(tokens[j - 1]!.startOffset, tokens[j - 1]!.endOffset! + 1).end;
      diagnostics.push(
        diag("NN1003", `Expected \`{\` to open the body, but found \`${first.image}\`.`, { start: after, end: after }, {
          fixes: [{ title: "Add `{`", edits: [{ range: { start: after, end: after }, newText: " {" }] }],
        }),
      );
      continue;
    }
    for (let line = (first.startLine ?? 1) - 1; line <= (last.endLine ?? 1) - 1; line++) indentedBodyLines.add(line);
    // Read as braces: the colon (or a virtual `{`) opens the body, a virtual `}` closes it.
    if (colon) tokens[j] = { ...colon, tokenType: T.LCurly, tokenTypeIdx: T.LCurly.tokenTypeIdx! };
    else inserts.push({ at: bodyStart, token: virtualToken(T.LCurly) });
    inserts.push({ at: end, token: virtualToken(T.RCurly) });
    closesAt.set(end, (closesAt.get(end) ?? 0) + 1);
    const keyword = t.image;
    const name = tokens[i + 1]!.image;
    const headerEnd = lines.range(tokens[j - 1]!.startOffset, tokens[j - 1]!.endOffset! + 1).end;
    const edits: FixEdit[] = [];
    if (colon) edits.push({ range: lines.range(colon.startOffset, colon.endOffset! + 1), newText: " {" });
    else edits.push({ range: { start: headerEnd, end: headerEnd }, newText: " {" });
    // Colons after the heads of the body's lines (`input: 10`) are part of the same habit.
    for (let k = bodyStart; k < end - 1; k++) {
      if (firstOnLine(tokens, k) && tokens[k + 1]!.tokenType === T.Colon && tokens[k + 1]!.startLine === tokens[k]!.startLine) {
        edits.push({ range: lines.range(tokens[k + 1]!.startOffset, tokens[k + 1]!.endOffset! + 1), newText: "" });
      }
    }
    const lastEnd = lines.range(last.startOffset, last.endOffset! + 1).end;
    const lineEnd = { ...lastEnd, character: lines.lineText(lastEnd.line).length, offset: lastEnd.offset + (lines.lineText(lastEnd.line).length - lastEnd.character) };
    edits.push({ range: { start: lineEnd, end: lineEnd }, newText: `\n${" ".repeat(Math.max(0, indent - 1))}}` });
    const at = colon ? lines.range(colon.startOffset, colon.endOffset! + 1) : lines.range(tokens[i + 1]!.startOffset, tokens[i + 1]!.endOffset! + 1);
    const what = keyword === "train" ? "recipe" : keyword === "search" ? "search" : keyword;
    diagnostics.push(readAsMeantAfter(
      diag("NN1034", `The body of \`${keyword} ${name}\` is ${colon ? "indented under a colon" : "indented"}, as in YAML or Python; nnc puts a ${what}'s body in braces.`, at, {
        hint: `Write \`${keyword} ${name} {\`, then its lines${colon ? " (without colons after their first words)" : ""}, then \`}\`.`,
        fixes: [{ title: "Put the body in braces", edits }],
      }),
    ));
  }
  if (inserts.length > 0) {
    const out: IToken[] = [];
    let k = 0;
    for (let i = 0; i <= tokens.length; i++) {
      while (k < inserts.length && inserts[k]!.at === i) out.push(inserts[k++]!.token);
      if (i < tokens.length) out.push(tokens[i]!);
    }
    tokens = out;
  }
  return { tokens, diagnostics, blocks, indentedBodyLines };
}

// --- characters ------------------------------------------------------------------------

const INVISIBLE_NAMES: Record<string, string> = {
  "\u00ad": "soft hyphen",
  "\u200b": "zero-width space",
  "\u200c": "zero-width non-joiner",
  "\u200d": "zero-width joiner",
  "\u200e": "left-to-right mark",
  "\u200f": "right-to-left mark",
  "\u2060": "word joiner",
  "\ufeff": "byte-order mark",
};

/** `U+200B`: a character by its code point. */
export function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).padStart(4, "0").toUpperCase()}`;
}

function describeInvisible(c: string): string {
  const name = INVISIBLE_NAMES[c] ?? (c >= "\u202a" && c <= "\u202e" ? "bidirectional formatting" : c >= "\u2066" && c <= "\u2069" ? "bidirectional isolate" : "invisible formatting");
  return `${codePoint(c)} (${name})`;
}

/** `réseau` → `reseau`; undefined when the letters have no ASCII base (`σ`). */
export function asciiName(name: string): string | undefined {
  const plain = name.normalize("NFD").replace(/\p{M}/gu, "").replace(/[ßæœøđłþ]/g, (c) => ({ ß: "ss", æ: "ae", œ: "oe", ø: "o", đ: "d", ł: "l", þ: "th" })[c] ?? c);
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(plain) ? plain : undefined;
}

/** Habits of the lexer's that no diagnostic of lowering covers, each reported once. */
export function reportHabits(habits: readonly LexHabit[], covered: readonly { start: number; end: number }[], lines: LineMap): Diagnostic[] {
  const out: Diagnostic[] = [];
  // Covered spans sorted by start, each with the furthest end up to it: a binary search finds
  // whether any covers a habit (a file of ten thousand translated lines stays linear-ish).
  const spans = [...covered].sort((a, b) => a.start - b.start);
  const reach: number[] = [];
  for (let i = 0; i < spans.length; i++) reach.push(Math.max(spans[i]!.end, i > 0 ? reach[i - 1]! : -1));
  const inCovered = (h: LexHabit): boolean => {
    let lo = 0;
    let hi = spans.length - 1;
    let last = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (spans[mid]!.start <= h.start) {
        last = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return last >= 0 && reach[last]! >= h.end;
  };
  const range = (start: number, end: number) => lines.range(start, end);
  // Several of one kind on one line (`28×28×1`, `a;;`) are one mistake there.
  const byLine = (kind: LexHabit["kind"]): LexHabit[][] => {
    const groups = new Map<number, LexHabit[]>();
    for (const h of habits) {
      if (h.kind !== kind) continue;
      const line = lines.position(h.start).line;
      const g = groups.get(line);
      if (g) g.push(h);
      else groups.set(line, [h]);
    }
    return [...groups.values()];
  };
  const seenNames = new Set<string>();
  const byName = new Map<string, LexHabit[]>();
  for (const h of habits) {
    if (h.kind !== "non-ascii") continue;
    const list = byName.get(h.name);
    if (list) list.push(h);
    else byName.set(h.name, [h]);
  }
  for (const h of habits) {
    switch (h.kind) {
      case "quote": {
        if (inCovered(h)) break;
        const r = range(h.start, h.end);
        const text = lines.text.slice(h.start + 1, h.end - 1);
        const what = h.quote === "'" ? "single quotes" : "typographic quotes";
        out.push(
          diag("NN1027", `This string is in ${what}; nnc writes strings in straight double quotes.`, r, {
            hint: `Write \`"${text}"\`.`,
            fixes: [{ title: "Use straight double quotes", edits: [{ range: range(h.start, h.start + 1), newText: '"' }, { range: range(h.end - 1, h.end), newText: '"' }] }],
          }),
        );
        break;
      }
      case "non-ascii": {
        if (seenNames.has(h.name)) break;
        seenNames.add(h.name);
        const all = byName.get(h.name)!;
        // A name of a thousand letters is not a name anyone will rename by hand: no fix for it,
        // and messages show its start.
        const long = h.name.length > 64;
        const ascii = long ? undefined : asciiName(h.name.replace(/\./g, "_"));
        const letters = [...new Set([...h.name.slice(0, 64)].filter((c) => c.charCodeAt(0) > 0x7f))].slice(0, 8).map((c) => `\`${c}\``);
        const shown = long ? `${h.name.slice(0, 40)}…` : h.name;
        out.push(
          diag("NN1029", `The name \`${shown}\` has ${letters.length === 1 ? "a letter" : "letters"} outside ASCII (${letters.join(", ")}); nnc's names are the letters a–z and A–Z, digits and \`_\`.`, range(h.start, h.end), {
            hint: ascii ? `Write \`${ascii}\`${all.length > 1 ? ` (here and in the ${all.length - 1} other place${all.length > 2 ? "s" : ""} it is used)` : ""}.` : "Rename it with ASCII letters.",
            fixes: ascii ? [{ title: `Rename to \`${ascii}\``, edits: all.map((x) => ({ range: range(x.start, x.end), newText: ascii })) }] : undefined,
          }),
        );
        break;
      }
      case "dotted": {
        if (inCovered(h) || /[^\x00-\x7f]/.test(h.name)) break;
        out.push(
          diag("NN1035", `\`${h.name}\` is a dotted name, as in Python; nnc's names are one word, and its layers, optimizers and losses are plain words.`, range(h.start, h.end), {
            hint: "Layer kinds: `dense`, `conv`, `pool`, …; optimizers: `sgd`, `adam`, …; see docs/LANGUAGE.md.",
          }),
        );
        break;
      }
    }
  }
  for (const group of byLine("times")) {
    const first = group[0]!;
    // The dimensions as they should read: the word around the signs, with `x` for each.
    let from = first.start;
    let to = group[group.length - 1]!.end;
    while (from > 0 && /[A-Za-z0-9_()×✕✖⨯]/.test(lines.text[from - 1]!)) from--;
    while (to < lines.text.length && /[A-Za-z0-9_()×✕✖⨯]/.test(lines.text[to]!)) to++;
    const meant = lines.text.slice(from, to).replace(/[×✕✖⨯]/g, "x");
    out.push(
      diag("NN1028", `\`${lines.text[first.start]}\` is a multiplication sign; nnc writes dimensions with the letter \`x\`.`, range(first.start, group[group.length - 1]!.end), {
        hint: `Write \`${meant}\`.`,
        fixes: [{ title: "Replace with `x`", edits: group.map((h) => ({ range: range(h.start, h.end), newText: "x" })) }],
      }),
    );
  }
  for (const group of byLine("dash")) {
    const first = group[0]!;
    out.push(
      diag("NN1028", `\`${lines.text[first.start]}\` (${codePoint(lines.text[first.start]!)}) looks like a minus but is not the \`-\` nnc reads.`, range(first.start, group[group.length - 1]!.end), {
        hint: "Word processors turn `-` into dashes; type `-`.",
        fixes: [{ title: "Replace with `-`", edits: group.map((h) => ({ range: range(h.start, h.end), newText: "-" })) }],
      }),
    );
  }
  for (const group of byLine("invisible")) {
    const chars = [...new Set(group.map((h) => lines.text[h.start]!))];
    out.push(
      diag("NN1030", `There ${group.length === 1 ? "is an invisible character" : `are ${group.length} invisible characters`} here: ${chars.map(describeInvisible).join(", ")}.`, range(group[0]!.start, group[group.length - 1]!.end), {
        hint: "Delete it: such characters come in with text pasted from web pages and word processors.",
        fixes: [{ title: "Delete the invisible characters", edits: group.map((h) => ({ range: range(h.start, h.end), newText: "" })) }],
      }),
    );
  }
  for (const group of byLine("semicolon")) {
    out.push(
      diag("NN1031", "nnc ends a statement at the end of its line, without `;`.", range(group[0]!.start, group[group.length - 1]!.end), {
        hint: "Remove the semicolon; to put two layers on one line, join them with `->`.",
        fixes: [{ title: "Remove the semicolon", edits: group.map((h) => ({ range: range(h.start, h.end), newText: "" })) }],
      }),
    );
  }
  for (const d of out) if (d.code !== "NN1035") readAsMeantAfter(d);
  return out;
}
