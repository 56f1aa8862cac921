/** Expressions written back as source text, for messages and fixes. */
import type { AstExpr } from "./ast.js";

/** A short source-like rendering of an expression for messages. */
export function exprSource(e: AstExpr): string {
  switch (e.kind) {
    case "number":
      return e.raw;
    case "string":
      if (e.quote === "'") return `'${e.value}'`;
      if (e.quote === "‘’") return `‘${e.value}’`;
      if (e.quote === "“”") return `“${e.value}”`;
      return JSON.stringify(e.value);
    case "ref":
      return e.name;
    case "call-expr":
      return `${e.callee.name}(${e.args.map((a) => (a.name ? `${a.name.name}: ` : "") + (a.value ? exprSource(a.value) : "")).join(", ")})`;
    case "dims":
      if (e.tuple) return `(${e.parts.map(exprSource).join(", ")}${e.parts.length === 1 ? "," : ""})`;
      return e.parts.map((p) => (p.kind === "binary" ? `(${exprSource(p)})` : exprSource(p))).join("x");
    case "binary": {
      // Parenthesise a child that binds more loosely (or equally, on the right of - and /).
      const prec = (op: string): number => (op === "+" || op === "-" ? 1 : 2);
      const wrap = (child: AstExpr, right: boolean): string => {
        const src = exprSource(child);
        if (child.kind !== "binary") return src;
        const looser = prec(child.op) < prec(e.op) || (right && prec(child.op) === prec(e.op) && (e.op === "-" || e.op === "/"));
        return looser ? `(${src})` : src;
      };
      return `${wrap(e.left, false)}${e.op}${wrap(e.right, true)}`;
    }
    case "unary":
      return `-${exprSource(e.operand)}`;
  }
}
