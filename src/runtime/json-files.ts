/**
 * The JSON files nnc reads back (a checkpoint's state.json, model.json, normalizer.json,
 * history.json, the run folder's nnc-run.json) are validated against the JSON Schemas in the
 * package's `schema/` folder before any value is used. Each schema is compiled once, on first
 * use, with ajv. A file that breaks its schema is one `JsonFileError` naming the file and the
 * field: "checkpoint/state.json: `optimizer.slots[2].shape` must be a list of positive whole
 * numbers". The words come from the schema's `x-message` annotations (the nearest one above
 * the rule that failed), so the schema is the one place that says what a field must be.
 */
import { Ajv, type AnySchemaObject, type ErrorObject, type ValidateFunction } from "ajv";
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** The schemas under `schema/`, by what they describe. */
export const SCHEMAS = {
  checkpoint: "checkpoint-state.schema.json",
  model: "tfjs-model.schema.json",
  normalizer: "normalizer.schema.json",
  history: "history.schema.json",
  run: "run.schema.json",
  data: "data.schema.json",
} as const;

export type SchemaKind = keyof typeof SCHEMAS;

/** A JSON file nnc wrote (or a user handed it) that cannot be used: the message names the file and the field. */
export class JsonFileError extends Error {
  override name = "JsonFileError";
}

/**
 * The package's `schema/` folder: two levels above this file in the sources
 * (src/runtime/), three in the build (dist/src/runtime/), the same in an installed package.
 */
function schemaDir(): string {
  // (and one level above the CLI's bundle, dist/nnc.mjs or dist/chunks/, should a reader of them be bundled there)
  for (const up of ["../../schema/", "../../../schema/", "../schema/"]) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(dir + SCHEMAS.checkpoint)) return dir;
  }
  throw new Error("json-files: cannot find the schema/ folder next to the nnc runtime (is the package installed whole?)");
}

interface Compiled {
  validate: ValidateFunction;
  /** Each schema node's parent node, and how many steps of the instance path lie between them. */
  parents: Map<object, { parent: object; steps: number }>;
}

let ajv: Ajv | undefined;
const compiled = new Map<SchemaKind, Compiled>();

/** Records every node's parent in `schema` (within one file; a `$ref` target is a root of its own). */
function mapParents(node: unknown, parents: Map<object, { parent: object; steps: number }>): void {
  if (typeof node !== "object" || node === null) return;
  const visit = (child: unknown, steps: number): void => {
    if (typeof child === "object" && child !== null && !Array.isArray(child)) {
      parents.set(child, { parent: node, steps });
      mapParents(child, parents);
    }
  };
  const n = node as Record<string, unknown>;
  for (const key of ["properties", "patternProperties"]) {
    const props = n[key];
    if (typeof props === "object" && props !== null) for (const child of Object.values(props)) visit(child, 1);
  }
  for (const key of ["additionalProperties", "items", "additionalItems", "contains", "propertyNames"]) {
    const child = n[key];
    if (Array.isArray(child)) child.forEach((c) => visit(c, 1));
    else visit(child, 1);
  }
  for (const key of ["allOf", "anyOf", "oneOf"]) {
    const list = n[key];
    if (Array.isArray(list)) list.forEach((c) => visit(c, 0));
  }
  for (const key of ["not", "if", "then", "else"]) visit(n[key], 0);
  const defs = n["definitions"];
  if (typeof defs === "object" && defs !== null) for (const child of Object.values(defs)) mapParents(child, parents);
}

function compiledSchema(kind: SchemaKind): Compiled {
  const known = compiled.get(kind);
  if (known) return known;
  if (!ajv) {
    // verbose: each error carries the schema node it failed in (`parentSchema`), which leads to its x-message.
    ajv = new Ajv({ allErrors: false, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true });
    ajv.addKeyword({ keyword: "x-message", schemaType: "string" });
  }
  const schema = JSON.parse(readFileSync(schemaDir() + SCHEMAS[kind], "utf8")) as AnySchemaObject;
  const parents = new Map<object, { parent: object; steps: number }>();
  mapParents(schema, parents);
  const entry = { validate: ajv.compile(schema), parents };
  compiled.set(kind, entry);
  return entry;
}

/** An instance path (`/optimizer/slots/2/shape`) as a reader writes it: `optimizer.slots[2].shape`. */
function fieldPath(segments: string[]): string {
  let out = "";
  for (const s of segments) {
    if (/^\d+$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(s)) out += out === "" ? s : `.${s}`;
    else out += `[${JSON.stringify(s.length > 40 ? s.slice(0, 40) + "…" : s)}]`;
  }
  return out;
}

const TYPE_WORDS: Record<string, string> = {
  integer: "a whole number",
  number: "a number",
  string: "text",
  boolean: "true or false",
  array: "a list",
  object: "an object",
  null: "null",
};

/** What a failed rule asks for, in words, when no x-message says it better. */
function plainRule(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "type": {
      const types = String(p["type"]).split(",");
      return `must be ${types.map((t) => TYPE_WORDS[t] ?? t).join(" or ")}`;
    }
    case "minimum":
    case "exclusiveMinimum":
      return `must be ${e.keyword === "minimum" ? "at least" : "more than"} ${String(p["limit"])}`;
    case "maximum":
    case "exclusiveMaximum":
      return `must be ${e.keyword === "maximum" ? "at most" : "less than"} ${String(p["limit"])}`;
    case "const":
      return `must be ${JSON.stringify(p["allowedValue"])}`;
    case "enum":
      return `must be one of ${(p["allowedValues"] as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "minItems":
      return `must have at least ${String(p["limit"])} item${p["limit"] === 1 ? "" : "s"}`;
    case "maxItems":
      return `must have at most ${String(p["limit"])} item${p["limit"] === 1 ? "" : "s"}`;
    case "minLength":
      return "must not be empty";
    default:
      return e.message ?? "is not valid";
  }
}

/** "`optimizer.slots[2].shape` must be a list of positive whole numbers" for the first error. */
function describe(e: ErrorObject, parents: Compiled["parents"]): string {
  const segments = e.instancePath === "" ? [] : e.instancePath.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (e.keyword === "required") {
    const missing = String((e.params as Record<string, unknown>)["missingProperty"]);
    const whole = (e.parentSchema as Record<string, unknown> | undefined)?.["x-message"];
    const context = typeof whole === "string" ? `; ${segments.length === 0 ? "the file" : `\`${fieldPath(segments)}\``} ${whole}` : "";
    return `\`${fieldPath([...segments, missing])}\` is missing${context}`;
  }
  // The nearest x-message at or above the failed rule, and the instance path at that node.
  let node: object | undefined = e.parentSchema;
  let steps = 0;
  while (node !== undefined) {
    const message = (node as Record<string, unknown>)["x-message"];
    if (typeof message === "string") {
      const at = segments.slice(0, Math.max(0, segments.length - steps));
      return at.length === 0 ? `the file ${message}` : `\`${fieldPath(at)}\` ${message}`;
    }
    const up = parents.get(node);
    if (!up) break;
    steps += up.steps;
    node = up.parent;
  }
  return segments.length === 0 ? `the file ${plainRule(e)}` : `\`${fieldPath(segments)}\` ${plainRule(e)}`;
}

/**
 * Checks `value` (a parsed JSON file) against its schema. Returns undefined when it conforms,
 * else what is wrong: "`optimizer.slots[2].shape` must be a list of positive whole numbers".
 */
export function schemaProblem(kind: SchemaKind, value: unknown): string | undefined {
  const c = compiledSchema(kind);
  if (c.validate(value)) return undefined;
  const first = c.validate.errors?.[0];
  return first ? describe(first, c.parents) : "does not match its schema";
}

/** Throws a JsonFileError `"<shown>: <problem>. <hint>"` when `value` breaks its schema. */
export function checkJson<T>(kind: SchemaKind, value: unknown, shown: string, hint = ""): T {
  const problem = schemaProblem(kind, value);
  if (problem !== undefined) throw new JsonFileError(`${shown}: ${problem}.${hint ? ` ${hint}` : ""}`);
  return value as T;
}

/** Parses JSON text from `shown`, turning a syntax error into a JsonFileError naming the file. */
export function parseJson(text: string, shown: string, hint = ""): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new JsonFileError(`${shown} is not valid JSON (${e instanceof Error ? e.message.slice(0, 200) : String(e)}).${hint ? ` ${hint}` : ""}`);
  }
}

/**
 * Reads, parses and validates the JSON file `path`; `shown` names it in messages. A file that
 * is missing or unreadable is a JsonFileError too.
 */
export async function readJsonFile<T>(kind: SchemaKind, path: string, shown: string, hint = ""): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "it does not exist" : code === "EISDIR" ? "it is a folder" : (e as Error).message;
    throw new JsonFileError(`Cannot read ${shown}: ${why}.${hint ? ` ${hint}` : ""}`);
  }
  return checkJson<T>(kind, parseJson(text, shown, hint), shown, hint);
}
