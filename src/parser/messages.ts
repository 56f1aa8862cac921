/**
 * The one place where Chevrotain's raw parse errors become plain words (Elm style).
 * Chevrotain calls these while parsing; `lower.ts` reads the resulting messages.
 */
import { EOF, type IParserErrorMessageProvider, type IToken, type TokenType } from "chevrotain";

const TOKEN_WORDS: Record<string, string> = {
  Ident: "a name",
  AnyName: "a name",
  Number: "a number",
  String: "a string",
  DimX: "`x`",
  Arrow: "`->`",
  Minus: "`-`",
  Plus: "`+`",
  Star: "`*`",
  Slash: "`/`",
  LParen: "`(`",
  RParen: "`)`",
  LCurly: "`{`",
  RCurly: "`}`",
  Comma: "`,`",
  Colon: "`:`",
  Equals: "`=`",
  Tilde: "`~`",
  EOF: "the end of the file",
};

export function tokenTypeWords(t: TokenType): string {
  return TOKEN_WORDS[t.name] ?? `\`${t.name.toLowerCase()}\``;
}

export function tokenWords(t: IToken): string {
  if (t.tokenType === EOF) return "the end of the file";
  const image = t.image.length > 24 ? t.image.slice(0, 21) + "..." : t.image;
  return `\`${image}\``;
}

const RULE_WORDS: Record<string, string> = {
  file: "a declaration",
  declaration: "`model`, `block`, `train` or `search`",
  modelDecl: "a model",
  blockDecl: "a block",
  trainDecl: "a training recipe",
  searchDecl: "a search",
  paramList: "a parameter list",
  param: "a parameter",
  body: "a body in `{ }`",
  item: "a layer, `repeat` or `residual`",
  repeatItem: "`repeat`",
  residualItem: "`residual`",
  statement: "a statement",
  callArgs: "arguments",
  arg: "an argument",
  word: "a value",
  expr: "a value",
  term: "a value",
  recipeBody: "a recipe body in `{ }`",
  searchVar: "a search variable",
};

function expectedList(paths: TokenType[][][]): string {
  const firsts = new Set<string>();
  for (const alt of paths) for (const path of alt) if (path[0]) firsts.add(tokenTypeWords(path[0]));
  const list = [...firsts];
  if (list.length === 0) return "something else";
  if (list.length === 1) return list[0]!;
  return list.slice(0, -1).join(", ") + " or " + list[list.length - 1]!;
}

export const TOP_LEVEL_PREFIX = "Expected `model`, `block`, `train` or `search` here";
export const TOP_LEVEL_MESSAGE = (t: IToken): string => `${TOP_LEVEL_PREFIX}, but found ${tokenWords(t)}.`;

export const messageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    const where = RULE_WORDS[ruleName] ? ` in ${RULE_WORDS[ruleName]}` : "";
    if (expected.name === "EOF") return TOP_LEVEL_MESSAGE(actual);
    if (expected.name === "RCurly") return `Expected \`}\` to close this body, but found ${tokenWords(actual)}.`;
    if (expected.name === "RParen") return `Expected \`)\` to close these parentheses, but found ${tokenWords(actual)}.`;
    if (expected.name === "LCurly") return `Expected \`{\` to open the body, but found ${tokenWords(actual)}.`;
    if (expected.name === "Ident" && (ruleName === "modelDecl" || ruleName === "blockDecl" || ruleName === "trainDecl" || ruleName === "searchDecl"))
      return `Expected a name after \`${ruleName.replace("Decl", "")}\`, but found ${tokenWords(actual)}.`;
    return `Expected ${tokenTypeWords(expected)}${where}, but found ${tokenWords(actual)}.`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return TOP_LEVEL_MESSAGE(firstRedundant);
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const found = actual[0] ? tokenWords(actual[0]) : "nothing";
    if (ruleName === "declaration" && actual[0]) return TOP_LEVEL_MESSAGE(actual[0]);
    if (ruleName === "term") return `Expected a value (a number, a name or \`(\`), but found ${found}.`;
    return `Expected ${expectedList(expectedPathsPerAlt)} here, but found ${found}.`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const found = actual[0] ? tokenWords(actual[0]) : "nothing";
    const where = RULE_WORDS[ruleName] ? ` in ${RULE_WORDS[ruleName]}` : "";
    return `Expected ${expectedList([expectedIterationPaths])}${where}, but found ${found}.`;
  },
};
