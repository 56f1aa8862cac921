#!/usr/bin/env node
/** The `nnc` command line. */
import { runBuild } from "./build-command.js";
import { runCheck } from "./check-command.js";
import { version } from "./files.js";
import { readStdin, runFmt } from "./fmt-command.js";
import { runInspect } from "./inspect-command.js";
import { runSanity } from "./sanity-command.js";
import { runSearch } from "./search-command.js";
import { runTrain } from "./train-command.js";

const HELP = `nnc — a compiler for .nn neural-network specs

Usage:
  nnc check [--summary] [--json] [--model NAME] FILE|DIR...
      Parse and shape-check specs. Prints every problem with its place in the file and a
      hint; exits 1 if there is any error. --summary prints each model's layers, output
      shapes and parameter counts (like Keras's model.summary()); --json prints one JSON
      object (schema/check-output.schema.json) for tools.
  nnc build FILE [-o DIR] [--force]
      Generate one TypeScript module per model (default folder: ./generated): a function
      that builds it with the TensorFlow.js layers API, and train() for its recipe. Writes
      nothing if the spec has errors; never overwrites a file nnc did not write, unless --force.
  nnc train FILE [--model M] [--backend auto|node-gpu|node|webgpu|wasm|cpu] [--epochs N]
                 [--seed N] [--out DIR] [--resume RUN] [--log-json] [--report FILE.html]
      Build and run the recipe: a progress bar on a terminal (one JSON line per epoch
      otherwise, or with --log-json); saves model.json + weights.bin, history.json and the
      normaliser's statistics in DIR (default runs/MODEL), a checkpoint after every epoch in
      DIR/checkpoint and the best epoch's model in DIR/best. --resume RUN goes on from the
      checkpoint of the run folder RUN exactly as if it had never stopped. --report writes
      one self-contained HTML page: loss, accuracy and learning-rate curves, per-layer
      histograms at the start and the end, layer statistics and the model summary.
  nnc inspect FILE [--model M] [--backend B] [--seed N] [--batch N] [--json]
      Babysit before training: one forward and backward pass of the untrained model on a
      batch of the recipe's data (default 256 samples, fewer for large models); per layer
      the mean and std of the pre-activations (Z), activations, weights and gradients; the
      initial loss against ln(classes); warnings with hints when the signal or the gradients
      vanish or explode across layers. --json prints it all (with histograms) as JSON.
  nnc sanity FILE [--model M] [--per-class N] [--epochs N] [--backend B] [--seed N]
      Can the network overfit a tiny subset (default 20 training samples per class)? Runs the
      recipe on it without augmentation, validation or weight decay, for up to --epochs
      (default 200), prints the curve and a verdict with hints; exits 1 if training accuracy
      does not reach 99%.
  nnc search FILE [--model M] [--trials N] [--epochs N] [--out DIR] [--backend B] [--fresh]
      Run the spec's \`search\` block: each trial is the spec with the trial's values written
      in, trained into DIR/trial-NNN (spec.nn, log.txt, model, history; default DIR
      runs/search-MODEL). Prints the results sorted by the objective and writes the best
      configuration as DIR/best.nn. Interrupted, it resumes: trials in DIR/results.jsonl
      are skipped (the same seed draws the same configurations); --fresh starts over.
  nnc fmt [--check] FILE|DIR...
  nnc fmt -            (or --stdin)
      Rewrite specs in the canonical layout (docs/LANGUAGE.md, "Formatting"), only those
      that change. --check writes nothing, lists the files that are not formatted and exits
      1 if any. A file with syntax errors is left as it is (its errors are printed, exit 1).
      \`-\` formats stdin to stdout, for editors.
  nnc lsp --stdio
      The language server for editors, over stdin and stdout: diagnostics as you type,
      hover (shapes, parameters, resolved options), inlay hints with each layer's output
      shape, completion, go to definition, references, outline, quick fixes, formatting.
  nnc --version
  nnc --help

Options:
  --color / --no-color   force colours on or off (default: on for a terminal, off if NO_COLOR is set)
`;

function usage(message: string): number {
  process.stderr.write(`nnc: ${message}\nRun \`nnc --help\` for usage.\n`);
  return 2;
}

interface Parsed {
  flags: Set<string>;
  values: Map<string, string>;
  positional: string[];
}

/** Parses `--flag`, `--key value`, `--key=value` and `-o value` against the command's vocabulary. */
function parseArgs(args: string[], flags: string[], valued: string[], command: string): Parsed | string {
  const out: Parsed = { flags: new Set(), values: new Map(), positional: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf("=");
    const key = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
    if (flags.includes(key) && eq < 0) out.flags.add(key);
    else if (valued.includes(key)) {
      const v = a.startsWith("--") && eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined) return `${key} needs a value.`;
      out.values.set(key, v);
    } else if (a.startsWith("-") && a !== "-") return `unknown option \`${a}\` for \`nnc ${command}\`.`;
    else out.positional.push(a);
  }
  return out;
}

/** A `--key N` value as a whole number of at least `min`; a message when it is not one. */
function wholeNumber(p: Parsed, key: string, min: number): number | undefined | string {
  const v = p.values.get(key);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= min ? n : `${key} needs a whole number${min > 0 ? ` of at least ${min}` : ""}, not \`${v}\`.`;
}

function print(lines: string[], stream: NodeJS.WriteStream): void {
  if (lines.length) stream.write(lines.join("\n") + "\n");
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === "--version" || command === "-v") {
    process.stdout.write(`nnc ${version()}\n`);
    return 0;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(HELP);
    return 0;
  }
  let color = process.stdout.isTTY === true && !process.env["NO_COLOR"];
  const common = ["--color", "--no-color"];
  const applyColor = (p: Parsed): void => {
    if (p.flags.has("--color")) color = true;
    if (p.flags.has("--no-color")) color = false;
  };
  switch (command) {
    case "check": {
      const p = parseArgs(rest, ["--json", "--summary", ...common], ["--model"], command);
      if (typeof p === "string") return usage(p);
      applyColor(p);
      if (p.positional.length === 0) return usage("`nnc check` needs at least one .nn file or directory.");
      const model = p.values.get("--model");
      const { exitCode, output } = runCheck({ files: p.positional, json: p.flags.has("--json"), summary: p.flags.has("--summary"), color, ...(model !== undefined ? { model } : {}) });
      print(output.stdout, process.stdout);
      print(output.stderr, process.stderr);
      return exitCode;
    }
    case "build": {
      const p = parseArgs(rest, ["--force", ...common], ["-o", "--out"], command);
      if (typeof p === "string") return usage(p);
      applyColor(p);
      if (p.positional.length !== 1) return usage("`nnc build` takes one .nn file.");
      const r = await runBuild({ file: p.positional[0]!, out: p.values.get("-o") ?? p.values.get("--out") ?? "generated", force: p.flags.has("--force"), color });
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    case "train": {
      const p = parseArgs(rest, ["--log-json", ...common], ["--model", "--backend", "--epochs", "--out", "-o", "--seed", "--resume", "--report"], command);
      if (typeof p === "string") return usage(p);
      applyColor(p);
      if (p.positional.length !== 1) return usage("`nnc train` takes one .nn file.");
      const num = (key: string): number | undefined | string => {
        const v = p.values.get(key);
        if (v === undefined) return undefined;
        const n = Number(v);
        return Number.isInteger(n) && n >= (key === "--seed" ? 0 : 1) ? n : `${key} needs a whole number${key === "--seed" ? "" : " of at least 1"}, not \`${v}\`.`;
      };
      const epochs = num("--epochs");
      const seed = num("--seed");
      if (typeof epochs === "string") return usage(epochs);
      if (typeof seed === "string") return usage(seed);
      const out = p.values.get("--out") ?? p.values.get("-o");
      const model = p.values.get("--model");
      const backend = p.values.get("--backend");
      const resume = p.values.get("--resume");
      const report = p.values.get("--report");
      const r = await runTrain(
        {
          file: p.positional[0]!,
          logJson: p.flags.has("--log-json"),
          color,
          ...(model !== undefined ? { model } : {}),
          ...(backend !== undefined ? { backend } : {}),
          ...(epochs !== undefined ? { epochs } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(out !== undefined ? { out } : {}),
          ...(resume !== undefined ? { resume } : {}),
          ...(report !== undefined ? { report } : {}),
        },
        (line) => process.stdout.write(line + "\n"),
      );
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    case "inspect": {
      const p = parseArgs(rest, ["--json", ...common], ["--model", "--backend", "--seed", "--batch"], command);
      if (typeof p === "string") return usage(p);
      applyColor(p);
      if (p.positional.length !== 1) return usage("`nnc inspect` takes one .nn file.");
      const seed = wholeNumber(p, "--seed", 0);
      const batch = wholeNumber(p, "--batch", 1);
      if (typeof seed === "string") return usage(seed);
      if (typeof batch === "string") return usage(batch);
      const model = p.values.get("--model");
      const backend = p.values.get("--backend");
      const r = await runInspect(
        {
          file: p.positional[0]!,
          json: p.flags.has("--json"),
          color,
          ...(model !== undefined ? { model } : {}),
          ...(backend !== undefined ? { backend } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(batch !== undefined ? { batch } : {}),
        },
        (line) => process.stdout.write(line + "\n"),
      );
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    case "sanity": {
      const p = parseArgs(rest, [...common], ["--model", "--backend", "--seed", "--per-class", "--epochs"], command);
      if (typeof p === "string") return usage(p);
      applyColor(p);
      if (p.positional.length !== 1) return usage("`nnc sanity` takes one .nn file.");
      const seed = wholeNumber(p, "--seed", 0);
      const perClass = wholeNumber(p, "--per-class", 1);
      const epochs = wholeNumber(p, "--epochs", 1);
      for (const v of [seed, perClass, epochs]) if (typeof v === "string") return usage(v);
      const model = p.values.get("--model");
      const backend = p.values.get("--backend");
      const r = await runSanity(
        {
          file: p.positional[0]!,
          color,
          ...(model !== undefined ? { model } : {}),
          ...(backend !== undefined ? { backend } : {}),
          ...(typeof seed === "number" ? { seed } : {}),
          ...(typeof perClass === "number" ? { perClass } : {}),
          ...(typeof epochs === "number" ? { epochs } : {}),
        },
        (line) => process.stdout.write(line + "\n"),
      );
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    case "search": {
      const p = parseArgs(rest, ["--fresh", ...common], ["--model", "--backend", "--trials", "--epochs", "--out", "-o"], command);
      if (typeof p === "string") return usage(p);
      applyColor(p);
      if (p.positional.length !== 1) return usage("`nnc search` takes one .nn file.");
      const trials = wholeNumber(p, "--trials", 1);
      const epochs = wholeNumber(p, "--epochs", 1);
      for (const v of [trials, epochs]) if (typeof v === "string") return usage(v);
      const model = p.values.get("--model");
      const backend = p.values.get("--backend");
      const out = p.values.get("--out") ?? p.values.get("-o");
      const r = await runSearch(
        {
          file: p.positional[0]!,
          fresh: p.flags.has("--fresh"),
          color,
          ...(model !== undefined ? { model } : {}),
          ...(backend !== undefined ? { backend } : {}),
          ...(out !== undefined ? { out } : {}),
          ...(typeof trials === "number" ? { trials } : {}),
          ...(typeof epochs === "number" ? { epochs } : {}),
        },
        (line) => process.stdout.write(line + "\n"),
      );
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    case "fmt": {
      const p = parseArgs(rest, ["--check", "--stdin", ...common], [], command);
      if (typeof p === "string") return usage(p);
      applyColor(p);
      const stdin = p.flags.has("--stdin") || p.positional.includes("-");
      if (stdin && p.positional.some((f) => f !== "-")) return usage("`nnc fmt -` formats stdin; give it no files.");
      if (!stdin && p.positional.length === 0) return usage("`nnc fmt` needs at least one .nn file or directory, or `-` for stdin.");
      const r = runFmt({ files: p.positional, check: p.flags.has("--check"), color, ...(stdin ? { stdin: readStdin() } : {}) });
      if (r.formatted !== undefined) process.stdout.write(r.formatted);
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    case "lsp": {
      // Loaded only here, so the other commands never load the server.
      const { runLsp } = await import("./lsp-command.js");
      return await runLsp(rest);
    }
    default:
      return usage(`unknown command \`${command}\`. The commands are: check, build, train, inspect, sanity, search, fmt, lsp.`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // A throw is a bug in nnc, never the user's fault: say so plainly, with the details on demand.
    process.stderr.write(`nnc: internal error (${e instanceof Error ? e.message : String(e)}). This is a bug in nnc, not in your spec; please report it${process.env["NNC_DEBUG"] ? "" : " (set NNC_DEBUG=1 for details)"}.\n`);
    if (process.env["NNC_DEBUG"] && e instanceof Error) process.stderr.write(`${e.stack ?? ""}\n`);
    process.exitCode = 3;
  },
);
