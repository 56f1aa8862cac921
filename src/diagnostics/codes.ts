/**
 * The one catalogue of diagnostic codes. A code is never reused or renumbered; tests match on
 * codes, and users search for them. Groups: NN1xxx syntax, NN2xxx names, NN3xxx shapes,
 * NN4xxx recipes and searches, NN5xxx build and command line.
 */
import type { Severity } from "./diagnostic.js";

export interface CodeInfo {
  severity: Severity;
  title: string;
}

export const CODES = {
  // --- NN1xxx: syntax (lexer, parser, layer words) -------------------------------------
  NN1001: { severity: "error", title: "unexpected character" },
  NN1002: { severity: "error", title: "unterminated string" },
  NN1003: { severity: "error", title: "unexpected token" },
  NN1004: { severity: "error", title: "missing token" },
  NN1005: { severity: "error", title: "layers on one line need `->` between them" },
  NN1006: { severity: "error", title: "`->` with no layer on one side" },
  NN1007: { severity: "error", title: "expected a declaration" },
  NN1008: { severity: "error", title: "missing value of a layer" },
  NN1009: { severity: "error", title: "extra value for a layer" },
  NN1010: { severity: "error", title: "option needs a value" },
  NN1011: { severity: "error", title: "option given twice" },
  NN1012: { severity: "error", title: "conflicting options" },
  NN1013: { severity: "error", title: "wrong kind of value" },
  NN1014: { severity: "error", title: "commas are not used between layer words" },
  NN1015: { severity: "error", title: "block call arguments go in parentheses" },
  NN1016: { severity: "error", title: "empty body" },
  NN1017: { severity: "error", title: "a reserved word used as a name" },
  NN1018: { severity: "error", title: "activation given twice" },
  NN1019: { severity: "error", title: "layer takes no activation" },
  NN1020: { severity: "error", title: "malformed number" },
  NN1021: { severity: "error", title: "nesting too deep" },
  NN1022: { severity: "error", title: "line too long" },
  NN1023: { severity: "error", title: "too many syntax errors" },
  NN1024: { severity: "error", title: "too deep to read (out of stack)" },
  NN1025: { severity: "error", title: "another library's syntax (keyword arguments, layer classes)" },
  NN1026: { severity: "error", title: "a word in quotes" },
  NN1027: { severity: "error", title: "a string in quotes other than straight double quotes" },
  NN1028: { severity: "error", title: "a look-alike character (`×` for `x`, `−` for `-`)" },
  NN1029: { severity: "error", title: "a name with letters outside ASCII" },
  NN1030: { severity: "error", title: "an invisible character" },
  NN1031: { severity: "error", title: "a semicolon" },
  NN1032: { severity: "error", title: "a stray comma" },
  NN1033: { severity: "error", title: "a colon after a name" },
  NN1034: { severity: "error", title: "a body without braces (indented, as in YAML or Python)" },
  NN1035: { severity: "error", title: "a dotted name" },
  NN1036: { severity: "error", title: "a tuple in parentheses (Python's `(3, 3)`)" },

  // --- NN2xxx: names ------------------------------------------------------------------
  NN2001: { severity: "error", title: "unknown layer or block" },
  NN2002: { severity: "error", title: "unknown option" },
  NN2003: { severity: "error", title: "unknown name in an expression" },
  NN2004: { severity: "error", title: "unknown model" },
  NN2005: { severity: "error", title: "duplicate declaration" },
  NN2006: { severity: "error", title: "duplicate parameter" },
  NN2007: { severity: "error", title: "unknown argument name" },
  NN2008: { severity: "error", title: "missing argument" },
  NN2009: { severity: "error", title: "too many arguments" },
  NN2010: { severity: "error", title: "block calls itself" },
  NN2011: { severity: "error", title: "unknown activation" },
  NN2012: { severity: "error", title: "unknown initialiser" },
  NN2013: { severity: "error", title: "duplicate layer name" },
  NN2014: { severity: "error", title: "argument given twice" },
  NN2015: { severity: "warning", title: "unused parameter" },
  NN2016: { severity: "error", title: "model parameter without a value" },
  NN2017: { severity: "error", title: "a default refers to a parameter declared after it" },

  // --- NN3xxx: shapes and values of a network ----------------------------------------
  NN3001: { severity: "error", title: "wrong rank of input" },
  NN3002: { severity: "error", title: "window larger than its input" },
  NN3003: { severity: "error", title: "reshape changes the number of values" },
  NN3004: { severity: "error", title: "residual branches disagree in shape" },
  NN3005: { severity: "error", title: "size not divisible" },
  NN3006: { severity: "error", title: "size must be a positive integer" },
  NN3007: { severity: "error", title: "unsupported combination" },
  NN3008: { severity: "error", title: "invalid input shape" },
  NN3009: { severity: "error", title: "model has no input" },
  NN3010: { severity: "error", title: "input must come first, once" },
  NN3011: { severity: "error", title: "value out of range" },
  NN3012: { severity: "error", title: "not a number" },
  NN3013: { severity: "error", title: "repeat count must be a positive integer" },
  NN3014: { severity: "error", title: "network too deep to expand" },
  NN3015: { severity: "error", title: "a tensor too large to hold" },
  NN3016: { severity: "error", title: "a chain of layers too deep to build" },
  NN3101: { severity: "warning", title: "window does not tile its input" },
  NN3102: { severity: "warning", title: "option has no effect" },
  NN3103: { severity: "warning", title: "softmax over one unit" },
  NN3104: { severity: "warning", title: "dropout after the output layer" },

  // --- NN4xxx: recipes and searches -------------------------------------------------
  NN4001: { severity: "error", title: "unknown recipe setting" },
  NN4002: { severity: "error", title: "setting given twice" },
  NN4003: { severity: "error", title: "unknown optimizer" },
  NN4004: { severity: "error", title: "optimizer argument out of range" },
  NN4005: { severity: "error", title: "unknown loss" },
  NN4006: { severity: "error", title: "loss does not fit the output layer" },
  NN4007: { severity: "error", title: "unknown data source" },
  NN4008: { severity: "error", title: "data shape does not fit the model input" },
  NN4009: { severity: "error", title: "class count does not match output units" },
  NN4010: { severity: "error", title: "recipe value out of range" },
  NN4011: { severity: "error", title: "malformed recipe setting" },
  NN4012: { severity: "error", title: "unknown schedule" },
  NN4013: { severity: "error", title: "unknown metric" },
  NN4014: { severity: "error", title: "unknown augmentation" },
  NN4015: { severity: "error", title: "recipe has no data" },
  NN4016: { severity: "error", title: "unknown search strategy" },
  NN4017: { severity: "error", title: "unknown search variable" },
  NN4018: { severity: "error", title: "bad distribution" },
  NN4019: { severity: "error", title: "search needs a recipe" },
  NN4020: { severity: "error", title: "augmentation needs images" },
  NN4021: { severity: "warning", title: "recipe setting has no effect" },
  NN4022: { severity: "error", title: "unknown normalisation" },
  NN4023: { severity: "error", title: "recipe has no loss" },

  // --- NN5xxx: command line and files -------------------------------------------------
  NN5001: { severity: "error", title: "cannot read file" },
  NN5002: { severity: "error", title: "no such model" },
  NN5003: { severity: "error", title: "cannot write file" },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;
