/**
 * What a client sends, checked before a handler reads it. The protocol's types are only a
 * promise: a request may come without `textDocument`, with a negative line, with `params`
 * an array. A request that breaks the promise is answered with InvalidParams, saying what
 * was needed, instead of reaching a handler as a TypeError (which the server would log as
 * a bug of its own). A notification that breaks it is logged and dropped.
 */
import { ErrorCodes, ResponseError } from "vscode-languageserver/node";

/** Why `v` is not a Position (line and character non-negative integers), or undefined. */
export function positionProblem(v: unknown, what: string): string | undefined {
  if (typeof v !== "object" || v === null) return `${what} must be {line, character}`;
  const p = v as Record<string, unknown>;
  for (const key of ["line", "character"]) {
    const n = p[key];
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) return `${what}.${key} must be a non-negative integer, not ${JSON.stringify(n) ?? "missing"}`;
  }
  return undefined;
}

export function rangeProblem(v: unknown, what: string): string | undefined {
  if (typeof v !== "object" || v === null) return `${what} must be {start, end}`;
  const r = v as Record<string, unknown>;
  return positionProblem(r["start"], `${what}.start`) ?? positionProblem(r["end"], `${what}.end`);
}

/** Why `v` lacks `textDocument.uri` (a string), or undefined. */
export function documentProblem(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null) return "params must be an object";
  const td = (v as Record<string, unknown>)["textDocument"];
  if (typeof td !== "object" || td === null) return "params.textDocument must be {uri}";
  const uri = (td as Record<string, unknown>)["uri"];
  return typeof uri === "string" ? undefined : `params.textDocument.uri must be a string, not ${JSON.stringify(uri) ?? "missing"}`;
}

export interface Needs {
  position?: boolean;
  range?: boolean;
}

/**
 * Throws InvalidParams unless `params` names a document (and has a position or a range
 * where the request needs one). vscode-jsonrpc answers a thrown ResponseError as it is.
 */
export function requireParams(method: string, params: unknown, needs: Needs = {}): void {
  const p = params as Record<string, unknown> | null;
  const problem =
    documentProblem(params) ??
    (needs.position ? positionProblem(p?.["position"], "params.position") : undefined) ??
    (needs.range ? rangeProblem(p?.["range"], "params.range") : undefined);
  if (problem !== undefined) throw new ResponseError(ErrorCodes.InvalidParams, `Invalid params for ${method}: ${problem}.`);
}

export function isResponseError(e: unknown): e is ResponseError<unknown> {
  return e instanceof ResponseError;
}

/** A didOpen's document, or why it cannot be opened. */
export function openProblem(v: unknown): string | undefined {
  const d = documentProblem(v);
  if (d) return d;
  const td = (v as { textDocument: Record<string, unknown> }).textDocument;
  if (typeof td["text"] !== "string") return "params.textDocument.text must be a string";
  if (typeof td["version"] !== "number" || !Number.isInteger(td["version"])) return "params.textDocument.version must be an integer";
  return undefined;
}

/** A didChange's changes, or why they cannot be applied. */
export function changeProblem(v: unknown): string | undefined {
  const d = documentProblem(v);
  if (d) return d;
  const p = v as { textDocument: Record<string, unknown>; contentChanges?: unknown };
  if (typeof p.textDocument["version"] !== "number" || !Number.isInteger(p.textDocument["version"])) return "params.textDocument.version must be an integer";
  if (!Array.isArray(p.contentChanges)) return "params.contentChanges must be an array";
  for (const [i, c] of p.contentChanges.entries()) {
    if (typeof c !== "object" || c === null) return `params.contentChanges[${i}] must be an object`;
    const change = c as Record<string, unknown>;
    if (typeof change["text"] !== "string") return `params.contentChanges[${i}].text must be a string`;
    if (change["range"] !== undefined) {
      const r = rangeProblem(change["range"], `params.contentChanges[${i}].range`);
      if (r) return r;
    }
  }
  return undefined;
}
