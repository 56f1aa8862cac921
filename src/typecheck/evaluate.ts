/**
 * Evaluating the small expressions of a spec (`c*4`, `3x3xc`, `classes`) in an environment of
 * parameter values. Reports unknown names with "did you mean", never throws.
 */
import { diag, type Diagnostic, type Range } from "../diagnostics/diagnostic.js";
import { unknownWord } from "../diagnostics/suggest.js";
import { exprSource, type AstExpr } from "../parser/index.js";

export interface Binding {
  /** undefined when the value could not be computed (an error was already reported). */
  value: number | undefined;
  /** Where the name was declared. */
  declared?: Range;
  used: boolean;
}

/** A scope of parameter values: a model's or a block call's. */
export class Env {
  readonly bindings = new Map<string, Binding>();
  /** Parameters declared but not bound yet (their defaults are evaluated in order). */
  private readonly pending = new Map<string, { range: Range; used: boolean }>();
  constructor(readonly owner: string) {}
  set(name: string, value: number | undefined, declared?: Range): void {
    const b: Binding = { value, used: this.pending.get(name)?.used ?? false };
    if (declared) b.declared = declared;
    this.bindings.set(name, b);
    this.pending.delete(name);
  }
  /**
   * Declares parameters that are bound one after another, so that a default that refers to
   * one declared after it (`a = b, b = 1`) is told so, not that no such parameter exists.
   */
  declareInOrder(params: readonly { name: { name: string; range: Range } }[]): void {
    for (const p of params) this.pending.set(p.name.name, { range: p.name.range, used: false });
  }
  /** Where a parameter not yet bound is declared, if it is one (which counts as a use of it). */
  declaredLater(name: string): Range | undefined {
    const p = this.pending.get(name);
    if (p) p.used = true;
    return p?.range;
  }
}

export class Evaluator {
  constructor(private readonly diagnostics: Diagnostic[]) {}

  /** A single number. `what` names the value in messages ("the units of `dense`"). */
  number(e: AstExpr, env: Env, what: string): number | undefined {
    switch (e.kind) {
      case "number":
        return e.value;
      case "ref": {
        const b = env.bindings.get(e.name);
        const later = b ? undefined : env.declaredLater(e.name);
        if (later) {
          const self = what === `the default of \`${e.name}\``;
          this.diagnostics.push(
            diag("NN2017", self ? `The default of \`${e.name}\` refers to \`${e.name}\` itself.` : `${capitalise(what)} refers to \`${e.name}\`, which is declared after it.`, e.range, {
              hint: self ? "Give it a number, or compute it from the parameters before it." : `A default may use only the parameters before it: move \`${e.name}\` first, or give a number here.`,
              related: [{ message: `\`${e.name}\` is declared here`, range: later }],
            }),
          );
          return undefined;
        }
        if (!b) {
          const names = [...env.bindings.keys()];
          this.diagnostics.push(
            unknownWord({
              code: "NN2003",
              message: `I cannot find a parameter named \`${e.name}\` in ${env.owner}.`,
              word: e.name,
              range: e.range,
              candidates: names,
              otherwise: names.length > 0 ? `The parameters here are ${names.map((n) => `\`${n}\``).join(", ")}.` : `${capitalise(env.owner)} has no parameters; ${what} must be a number here.`,
            }),
          );
          return undefined;
        }
        b.used = true;
        return b.value;
      }
      case "unary": {
        const v = this.number(e.operand, env, what);
        return v === undefined ? undefined : -v;
      }
      case "binary": {
        const l = this.number(e.left, env, what);
        const r = this.number(e.right, env, what);
        if (l === undefined || r === undefined) return undefined;
        if (e.op === "/" && r === 0) {
          this.diagnostics.push(diag("NN3012", `\`${exprSource(e)}\` divides by zero.`, e.range));
          return undefined;
        }
        const v = e.op === "+" ? l + r : e.op === "-" ? l - r : e.op === "*" ? l * r : l / r;
        if (!Number.isFinite(v)) {
          // Each number fits a double (the lexer sees to that), but arithmetic can leave it:
          // `w/5e-324`. Said here, once, rather than as an impossible size further on.
          this.diagnostics.push(diag("NN3012", `\`${exprSource(e)}\` is too large to compute: it overflows a 64-bit number.`, e.range, { hint: "Check the parameters it is computed from." }));
          return undefined;
        }
        return v;
      }
      case "dims":
        this.diagnostics.push(diag("NN1013", `${capitalise(what)} is one number, but \`${exprSource(e)}\` has ${e.parts.length} dimensions.`, e.range));
        return undefined;
      case "string":
        this.diagnostics.push(diag("NN1013", `${capitalise(what)} is a number, not a string.`, e.range));
        return undefined;
      case "call-expr":
        this.diagnostics.push(diag("NN1013", `${capitalise(what)} is a number, but \`${e.callee.name}(…)\` is a call.`, e.range));
        return undefined;
    }
  }

  /** A positive integer (units, filters, kernel sizes). */
  positiveInt(e: AstExpr, env: Env, what: string): number | undefined {
    const v = this.number(e, env, what);
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || v <= 0) {
      this.diagnostics.push(
        diag("NN3006", `${capitalise(what)} must be a positive whole number, but it is ${formatNumber(v)}.`, e.range, {
          hint: v > 0 ? `Round it: \`${Math.max(1, Math.round(v))}\`?` : v === -1 ? "A -1 (\"infer this size\") is not supported: write the size out." : v < 0 && Number.isInteger(v) && e.kind === "number" ? `Sizes count things: \`${-v}\`?` : undefined,
          fixes: v < -1 && Number.isInteger(v) && e.kind === "number" ? [{ title: `Write \`${-v}\``, edits: [{ range: e.range, newText: String(-v) }] }] : undefined,
        }),
      );
      return undefined;
    }
    if (v > 2 ** 31 - 1) {
      this.diagnostics.push(diag("NN3011", `${capitalise(what)} is ${formatNumber(v)}, far more than any tensor can hold.`, e.range));
      return undefined;
    }
    return v;
  }

  /** A list of dimensions: `28x28x1` → [28, 28, 1]; a single number → [n]. */
  dims(e: AstExpr, env: Env, what: string): number[] | undefined {
    const parts = e.kind === "dims" ? e.parts : [e];
    const out: number[] = [];
    let ok = true;
    const each = parts.length > 1 ? `each size in ${what}` : what;
    for (const p of parts) {
      const v = this.positiveInt(p, env, each);
      if (v === undefined) ok = false;
      else out.push(v);
    }
    return ok ? out : undefined;
  }

  /** Sizes that may be 0 (padding, cropping): `0x1x0x1` → [0, 1, 0, 1]. */
  sizes(e: AstExpr, env: Env, what: string): number[] | undefined {
    const parts = e.kind === "dims" ? e.parts : [e];
    const out: number[] = [];
    let ok = true;
    const each = parts.length > 1 ? `each size in ${what}` : what;
    for (const p of parts) {
      const v = this.number(p, env, each);
      if (v === undefined) ok = false;
      else if (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1) {
        this.diagnostics.push(diag("NN3006", `${capitalise(each)} must be a whole number of 0 or more, but it is ${formatNumber(v)}.`, p.range));
        ok = false;
      } else out.push(v);
    }
    return ok ? out : undefined;
  }

  /** `2` → [2, 2]; `2x1` → [2, 1]. */
  pair(e: AstExpr, env: Env, what: string): [number, number] | undefined {
    const d = this.dims(e, env, what);
    if (!d) return undefined;
    if (d.length === 1) return [d[0]!, d[0]!];
    if (d.length === 2) return [d[0]!, d[1]!];
    this.diagnostics.push(diag("NN1013", `${capitalise(what)} is one number or two (\`2\` or \`2x1\`), but \`${exprSource(e)}\` has ${d.length}.`, e.range));
    return undefined;
  }
}

export function capitalise(s: string): string {
  return s.length === 0 ? s : s[0]!.toUpperCase() + s.slice(1);
}

export function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}
