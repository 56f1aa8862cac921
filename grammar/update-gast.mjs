#!/usr/bin/env node
/**
 * Rewrites grammar/chevrotain-gast.json: the Chevrotain parser's serialized grammar, which
 * test/grammar.test.ts compares with the parser so the two cannot drift apart.
 * Build first (`npx tsc -p tsconfig.json`), then run `node grammar/update-gast.mjs`.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NnParser } from "../dist/src/parser/grammar.js";

const target = fileURLToPath(new URL("./chevrotain-gast.json", import.meta.url));
const gast = new NnParser().getSerializedGastProductions();
writeFileSync(target, JSON.stringify(gast, null, 2) + "\n");
console.log(`wrote ${target} (${gast.length} rules)`);
