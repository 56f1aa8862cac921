#!/usr/bin/env node
/** The `nnc` command line. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCheck } from "./check-command.js";

const HELP = `nnc — a compiler for .nn neural-network specs

Usage:
  nnc check [--summary] [--json] [--model NAME] FILE|DIR...
      Parse and shape-check specs. Prints every problem with its place in the file and a
      hint; exits 1 if there is any error. --summary prints each model's layers, output
      shapes and parameter counts (like Keras's model.summary()); --json prints one JSON
      object (schema/check-output.schema.json) for tools.
  nnc --version
  nnc --help

Options:
  --color / --no-color   force colours on or off (default: on for a terminal, off if NO_COLOR is set)
`;

/** The version in the package.json above this file (the bundle and the tsc output sit at different depths). */
function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "nnc") return pkg.version ?? "unknown";
    } catch {
      // not here; look one level up
    }
    dir = dirname(dir);
  }
  return "unknown";
}

function usage(message: string): number {
  process.stderr.write(`nnc: ${message}\nRun \`nnc --help\` for usage.\n`);
  return 2;
}

export function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === "--version" || command === "-v") {
    process.stdout.write(`nnc ${version()}\n`);
    return 0;
  }
  if (command !== "check") {
    return usage(`unknown command \`${command}\`. The commands are: check.`);
  }
  const files: string[] = [];
  let json = false;
  let summary = false;
  let model: string | undefined;
  let color = process.stdout.isTTY === true && !process.env["NO_COLOR"];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === "--json") json = true;
    else if (a === "--summary") summary = true;
    else if (a === "--color") color = true;
    else if (a === "--no-color") color = false;
    else if (a === "--model") {
      const v = rest[++i];
      if (v === undefined) return usage("--model needs a model name.");
      model = v;
    } else if (a.startsWith("--model=")) model = a.slice("--model=".length);
    else if (a === "--help" || a === "-h") {
      process.stdout.write(HELP);
      return 0;
    } else if (a.startsWith("-") && a !== "-") return usage(`unknown option \`${a}\` for \`nnc check\`.`);
    else files.push(a);
  }
  if (files.length === 0) return usage("`nnc check` needs at least one .nn file or directory.");
  const { exitCode, output } = runCheck({ files, json, summary, color, ...(model !== undefined ? { model } : {}) });
  if (output.stdout.length) process.stdout.write(output.stdout.join("\n") + "\n");
  if (output.stderr.length) process.stderr.write(output.stderr.join("\n") + "\n");
  return exitCode;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  // A throw is a bug in nnc, never the user's fault: say so plainly, with the details on demand.
  process.stderr.write(`nnc: internal error (${e instanceof Error ? e.message : String(e)}). This is a bug in nnc, not in your spec; please report it${process.env["NNC_DEBUG"] ? "" : " (set NNC_DEBUG=1 for details)"}.\n`);
  if (process.env["NNC_DEBUG"] && e instanceof Error) process.stderr.write(`${e.stack ?? ""}\n`);
  process.exitCode = 3;
}
