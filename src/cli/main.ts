#!/usr/bin/env node
/**
 * The `nnc` command line: each command's options in one table (`COMMANDS`), read by
 * `node:util`'s `parseArgs` (strict) and printed by `nnc help COMMAND`. Exit status: 0 ok,
 * 1 errors in the spec or the run, 2 a usage mistake, 3 a bug in nnc.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { closestByDistance } from "../common/edit-distance.js";
import { runBuild } from "./build-command.js";
import { runCheck } from "./check-command.js";
import { setCliEntry } from "./deep-stack.js";
import { version } from "./files.js";
import { readStdin, runFmt } from "./fmt-command.js";
import { runInspect } from "./inspect-command.js";
import { runSanity } from "./sanity-command.js";
import { runSearch } from "./search-command.js";
import { BACKENDS } from "./spec-module.js";
import { runTrain } from "./train-command.js";

interface OptionSpec {
  /** The long name, without `--`. */
  name: string;
  type: "string" | "boolean";
  short?: string;
  /** What the value is, in the help: `N`, `DIR`. */
  value?: string;
  /** A whole number of at least this (checked before the command runs). */
  min?: number;
  help: string;
}

interface CommandSpec {
  name: string;
  /** The synopsis lines, after `nnc `. */
  usage: string[];
  /** One line for the overview. */
  summary: string;
  /** What `nnc help COMMAND` says about it. */
  about: string;
  options: OptionSpec[];
}

const BACKEND_LIST = BACKENDS.join("|");

const model: OptionSpec = { name: "model", type: "string", value: "M", help: "the model to run, when the spec has several recipes" };
const backend: OptionSpec = { name: "backend", type: "string", value: "B", help: `where to run: ${BACKEND_LIST} (default auto: the fastest that works here, and why it passed the others by)` };

/** Every command, its options and its help. The README's command table lists the same options (test/cli-args.test.ts). */
const COMMANDS: CommandSpec[] = [
  {
    name: "check",
    usage: ["check [--summary] [--json] [--model M] FILE|DIR..."],
    summary: "parse and shape-check specs: every problem in one pass",
    about: `Parse and shape-check specs (a folder: every .nn file under it). Prints every problem with its
place in the file and a hint (at most 100 per file, then how many more); exits 1 if there is
any error.`,
    options: [
      { name: "summary", type: "boolean", help: "print each model's layers, output shapes and parameter counts (like Keras's model.summary())" },
      { name: "json", type: "boolean", help: "print one JSON object (schema/check-output.schema.json) for tools, with every diagnostic" },
      { name: "model", type: "string", value: "M", help: "only this model" },
    ],
  },
  {
    name: "build",
    usage: ["build FILE [-o DIR] [--target tfjs|pytorch] [--force]"],
    summary: "one TypeScript (or Python) module per model, with train() for its recipe",
    about: `Generate one TypeScript module per model: a function that builds it with the TensorFlow.js
layers API, and train() for its recipe. Writes nothing if the spec has errors; never overwrites
a file nnc did not write, unless --force. Prettier formats the modules when together they come
to at most 512 KB (larger builds are written as emitted).
With --target pytorch: one Python module per model (an nn.Module, the recipe, train() and a
command line that torchrun runs), nnc's Python runtime beside it (nnc_torch/), and for each
model with a recipe MODEL.initial/ (the TF.js topology and the initial weights both engines
start from) and, for data mnist, mnist.npz.`,
    options: [
      { name: "out", short: "o", type: "string", value: "DIR", help: "the folder to write to (default ./generated)" },
      { name: "target", type: "string", value: "T", help: "tfjs (TypeScript on TensorFlow.js, the default) or pytorch (Python on PyTorch)" },
      { name: "force", type: "boolean", help: "overwrite files that nnc did not write" },
    ],
  },
  {
    name: "train",
    usage: ["train FILE [--model M] [--backend B] [--epochs N] [--seed N] [--out DIR] [--force]", "      [--resume RUN] [--log-json] [--report FILE.html] [--engine pytorch [--device D] [--nproc N]]"],
    summary: "build and run the recipe; saves the model, its history and checkpoints",
    about: `Build and run the recipe: a progress bar on a terminal (one JSON line per epoch otherwise, or
with --log-json); saves model.json + weights.bin, history.json and the normaliser's statistics
in DIR (default runs/MODEL), a checkpoint after every epoch in DIR/checkpoint and the best
epoch's model in DIR/best.
With --engine pytorch the spec is compiled to Python and trained by PyTorch (python3 with
torch; NNC_PYTHON names another), from the same initial weights, into a run folder of the same
layout (model.json in the TF.js layers format, so inspect, predict, evaluate and export work on
it); --nproc N runs N processes of this machine, as torchrun would (DDP: gloo on cpu, NCCL
on cuda).`,
    options: [
      model,
      backend,
      { name: "engine", type: "string", value: "E", help: "tfjs (the default: TensorFlow.js, on --backend) or pytorch (the spec compiled to Python, as --target pytorch builds it)" },
      { name: "device", type: "string", value: "D", help: "with --engine pytorch: cpu or cuda (default cuda where PyTorch sees a GPU, else cpu)" },
      { name: "nproc", type: "string", value: "N", min: 1, help: "with --engine pytorch: train on N processes of this machine (DDP, as torchrun would start them); the recipe's batch is split among them" },
      { name: "epochs", type: "string", value: "N", min: 1, help: "train this many epochs instead of the recipe's" },
      { name: "seed", type: "string", value: "N", min: 0, help: "seed the weights, the data and dropout instead of the recipe's seed" },
      { name: "out", short: "o", type: "string", value: "DIR", help: "the run folder (default runs/MODEL)" },
      { name: "force", type: "boolean", help: "train into DIR even when it holds files nnc did not write" },
      { name: "resume", type: "string", value: "RUN", help: "go on from the checkpoint of the run folder RUN exactly as if it had never stopped" },
      { name: "log-json", type: "boolean", help: "one JSON line per epoch on stdout, also on a terminal" },
      { name: "report", type: "string", value: "FILE.html", help: "write one self-contained HTML page: loss, accuracy and learning-rate curves, per-layer histograms at the start and the end, layer statistics and the model summary" },
    ],
  },
  {
    name: "inspect",
    usage: ["inspect FILE [--model M] [--backend B] [--seed N] [--batch N] [--json]"],
    summary: "one forward and backward pass of the untrained model: does the signal vanish?",
    about: `Babysit before training: one forward and backward pass of the untrained model on a batch of
the recipe's data; per layer the mean and std of the pre-activations (Z), activations, weights
and gradients; the initial loss against ln(classes); warnings with hints when the signal or the
gradients vanish or explode across layers.`,
    options: [
      model,
      backend,
      { name: "seed", type: "string", value: "N", min: 0, help: "seed the weights and the data (default: the recipe's seed, else 0)" },
      { name: "batch", type: "string", value: "N", min: 1, help: "samples in the batch (default 256, fewer for large models)" },
      { name: "json", type: "boolean", help: "print it all (with histograms) as JSON" },
    ],
  },
  {
    name: "sanity",
    usage: ["sanity FILE [--model M] [--per-class N] [--epochs N] [--backend B] [--seed N]"],
    summary: "can the model overfit 20 samples per class? the curve and a verdict",
    about: `Can the network overfit a tiny subset of its data? Runs the recipe on it without augmentation,
validation or weight decay, prints the curve and a verdict with hints; exits 1 if training
accuracy does not reach 99%.`,
    options: [
      model,
      { name: "per-class", type: "string", value: "N", min: 1, help: "training samples per class (default 20)" },
      { name: "epochs", type: "string", value: "N", min: 1, help: "at most this many epochs (default 200)" },
      backend,
      { name: "seed", type: "string", value: "N", min: 0, help: "seed the weights and the data instead of the recipe's seed" },
    ],
  },
  {
    name: "search",
    usage: ["search FILE [--model M] [--trials N] [--epochs N] [--out DIR] [--backend B] [--fresh]"],
    summary: "run the spec's `search` block: one trained trial per configuration, the best as best.nn",
    about: `Run the spec's \`search\` block: each trial is the spec with the trial's values written in,
trained into DIR/trial-NNN (spec.nn, log.txt, model, history). Prints the results sorted by the
objective and writes the best configuration as DIR/best.nn. Interrupted, it resumes: trials in
DIR/results.jsonl are skipped (the same seed draws the same configurations).`,
    options: [
      model,
      { name: "trials", type: "string", value: "N", min: 1, help: "run this many trials instead of the block's count" },
      { name: "epochs", type: "string", value: "N", min: 1, help: "train each trial this many epochs instead of the recipe's" },
      { name: "out", short: "o", type: "string", value: "DIR", help: "the search's folder (default runs/search-MODEL)" },
      backend,
      { name: "fresh", type: "boolean", help: "start over instead of resuming the trials in DIR" },
    ],
  },
  {
    name: "predict",
    usage: ["predict RUN INPUT... [--top K] [--json] [--batch N] [--backend B]", "predict RUN --data SOURCE [--top K] [--json] [--batch N] [--backend B]"],
    summary: "a trained run's model on new inputs: the likeliest classes, or the regression outputs",
    about: `Run the model of a trained run (the folder training wrote: model.json, normalizer.json,
data.json) on new inputs: PNG/JPEG images or folders of them (prepared as in training), a .csv
of feature rows (its columns by name; a label column is ignored), a .npy of inputs, or the
samples of --data SOURCE. Each input is normalised with the run's saved statistics. Prints one
row per input: the top-k classes with their probabilities and names, or the regression outputs
by target name.`,
    options: [
      { name: "data", type: "string", value: "SOURCE", help: "predict on a data source instead of input files: its test split if it has one, else all its samples. A path (a folder of class sub-folders of images, a CIFAR folder, a .csv, a .npz) or an expression as in a recipe: 'mnist(test: 2000)', 'csv(\"f.csv\", label: \"species\")'" },
      { name: "top", type: "string", value: "K", min: 1, help: "show the K likeliest classes (default 3, or fewer when the model has fewer classes)" },
      { name: "json", type: "boolean", help: "one JSON object per input per line: {input, top: [{class, name, p}]} or {input, outputs: {name: value}}" },
      { name: "batch", type: "string", value: "N", min: 1, help: "inputs per batch through the model (default 256)" },
      backend,
    ],
  },
  {
    name: "evaluate",
    usage: ["evaluate RUN --data SOURCE [--json] [--report FILE.html] [--batch N] [--backend B]"],
    summary: "a trained run on labelled data: loss, accuracy, per-class table, confusion matrix",
    about: `Evaluate the model of a trained run on a data source: its test split if it has one, else all
its samples (the output says which). Prints the run's loss and, for a classifier, the accuracy,
precision, recall, F1 and support per class and the confusion matrix (rows: the true class;
printed for up to 20 classes, the most frequent confusions beyond); for a regression model,
the MSE and MAE of each target.`,
    options: [
      { name: "data", type: "string", value: "SOURCE", help: "the data: a path (a folder of class sub-folders of images, a CIFAR folder, a .csv with the run's label column, a .npz) or an expression as in a recipe: 'mnist(test: 2000)', 'idx(images: \"…\", labels: \"…\")' (required)" },
      { name: "json", type: "boolean", help: "print it all as one JSON object" },
      { name: "report", type: "string", value: "FILE.html", help: "also write a self-contained HTML page with the per-class table and the confusion matrix drawn" },
      { name: "batch", type: "string", value: "N", min: 1, help: "samples per batch through the model (default 256)" },
      backend,
    ],
  },
  {
    name: "export",
    usage: ["export RUN --format onnx|tfjs -o PATH [--force] [--opset N] [--no-normalize]"],
    summary: "a trained run's model as ONNX, or as a TF.js model plain TensorFlow.js loads",
    about: `Write the model of a trained run (its folder, a folder with a model.json such as RUN/best, or
a model.json) in another format: --format onnx writes one .onnx file (runs in ONNX Runtime and
every tool that reads ONNX), with the run's normaliser in the graph; --format tfjs writes a
folder that plain TensorFlow.js's tf.loadLayersModel loads. Never overwrites a file nnc did not
write, unless --force.`,
    options: [
      { name: "format", type: "string", value: "F", help: "onnx or tfjs (required)" },
      { name: "out", short: "o", type: "string", value: "PATH", help: "the file (onnx) or folder (tfjs) to write (required)" },
      { name: "force", type: "boolean", help: "overwrite what is at PATH even when nnc did not write it" },
      { name: "opset", type: "string", value: "N", min: 0, help: "the ONNX opset to write, 13 to 21 (default 13)" },
      { name: "no-normalize", type: "boolean", help: "ONNX: leave the run's normaliser out of the graph (the caller then normalises inputs as training did)" },
    ],
  },
  {
    name: "fmt",
    usage: ["fmt [--check] FILE|DIR...", "fmt -            (or --stdin)"],
    summary: "rewrite specs in the canonical layout (`-`: stdin to stdout)",
    about: `Rewrite specs in the canonical layout (docs/LANGUAGE.md, "Formatting"), only those that
change. A file with syntax errors is left as it is (its errors are printed, exit 1). \`-\`
formats stdin to stdout, for editors.`,
    options: [
      { name: "check", type: "boolean", help: "write nothing: list the files that are not formatted and exit 1 if any (for CI)" },
      { name: "stdin", type: "boolean", help: "format stdin to stdout (as `-`)" },
    ],
  },
  {
    name: "lsp",
    usage: ["lsp --stdio"],
    summary: "the language server for editors",
    about: `The language server for editors, over stdin and stdout: diagnostics as you type, hover
(shapes, parameters, resolved options), inlay hints with each layer's output shape, completion,
go to definition, references, outline, quick fixes, formatting.`,
    options: [{ name: "stdio", type: "boolean", help: "speak LSP over stdin and stdout (the only transport)" }],
  },
];

/** Options every command takes. */
const COMMON: OptionSpec[] = [
  { name: "color", type: "boolean", help: "colours on" },
  { name: "no-color", type: "boolean", help: "colours off (default: on for a terminal, off if NO_COLOR is set)" },
  { name: "help", short: "h", type: "boolean", help: "this help" },
];

function optionsOf(cmd: CommandSpec): OptionSpec[] {
  return cmd.name === "lsp" ? [...cmd.options, COMMON[2]!] : [...cmd.options, ...COMMON];
}

function optionLabel(o: OptionSpec): string {
  return `${o.short ? `-${o.short}, ` : ""}--${o.name}${o.value ? ` ${o.value}` : ""}`;
}

/** `text` in lines of at most `width` characters, broken at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

/** `nnc help COMMAND`: its usage, what it does, and its options only. */
function commandHelp(cmd: CommandSpec): string {
  const options = optionsOf(cmd);
  const width = Math.max(...options.map((o) => optionLabel(o).length));
  const lines = [`Usage: ${cmd.usage.map((u, i) => (i === 0 ? `nnc ${u}` : u.startsWith(" ") ? `       ${u}` : `       nnc ${u}`)).join("\n")}`, "", cmd.about, "", "Options:"];
  for (const o of options) lines.push(...wrap(o.help, 100 - width - 4).map((l, i) => `  ${(i === 0 ? optionLabel(o) : "").padEnd(width)}  ${l}`.trimEnd()));
  return lines.join("\n") + "\n";
}

/** `nnc --help`: every command in a line or two. */
function overview(): string {
  const lines = ["nnc — a compiler for .nn neural-network specs", "", "Usage:"];
  for (const c of COMMANDS) {
    for (const [i, u] of c.usage.entries()) lines.push(i === 0 || !u.startsWith(" ") ? `  nnc ${u}` : `      ${u}`);
    lines.push(`      ${c.summary}`);
  }
  lines.push("  nnc --version", "  nnc --help");
  lines.push("", "Run `nnc help COMMAND` (or `nnc COMMAND --help`) for a command's options.", "");
  lines.push("Options of every command:", "  --color / --no-color   force colours on or off (default: on for a terminal, off if NO_COLOR is set)");
  lines.push("", "Exit status: 0 ok; 1 errors in the spec or the run; 2 a mistake on the command line.");
  return lines.join("\n") + "\n";
}

function usage(message: string, command?: string): number {
  process.stderr.write(`nnc: ${message}\nRun \`nnc ${command !== undefined ? `help ${command}` : "--help"}\` for usage.\n`);
  return 2;
}

interface Parsed {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  color: boolean | undefined;
}

/** The arguments of `nnc CMD` against its options (strict), or what is wrong with them. */
function parseCommandArgs(cmd: CommandSpec, args: string[]): Parsed | string {
  const specs = optionsOf(cmd);
  const options: NonNullable<ParseArgsConfig["options"]> = {};
  for (const o of specs) options[o.name] = { type: o.type, ...(o.short ? { short: o.short } : {}) };
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true, tokens: true });
  } catch (e) {
    return explain(cmd, specs, args, options, e);
  }
  let color: boolean | undefined;
  for (const t of parsed.tokens ?? []) if (t.kind === "option" && (t.name === "color" || t.name === "no-color")) color = t.name === "color";
  for (const o of specs) {
    const v = parsed.values[o.name];
    if (o.min !== undefined && typeof v === "string") {
      const n = v.trim() === "" ? NaN : Number(v);
      if (!Number.isSafeInteger(n) || n < o.min) return `--${o.name} needs a whole number${o.min > 0 ? ` of at least ${o.min}` : ""}, not \`${v}\`.`;
    }
  }
  return { values: parsed.values, positionals: parsed.positionals, color };
}

/** Why strict parsing refused `args`, in the command's terms, with a "did you mean" where one is close. */
function explain(cmd: CommandSpec, specs: OptionSpec[], args: string[], options: NonNullable<ParseArgsConfig["options"]>, e: unknown): string {
  // A lenient parse never throws and says which argument each option came from.
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const known = new Map(specs.map((o) => [o.name, o]));
  const of = `for \`nnc ${cmd.name}\``;
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    // A known short option comes back under its long name (`-o` as `out`).
    const spec = known.get(t.name);
    const raw = args[t.index]!;
    if (!spec) {
      // `-epochs` is read as the short options e, p, o…: name the whole word instead.
      const word = raw.startsWith("--") ? t.rawName : raw.split("=")[0]!;
      const bare = word.replace(/^-+/, "");
      const guess = known.has(bare) ? bare : closestByDistance(bare, [...known.keys()]);
      const elsewhere = COMMANDS.filter((c) => c !== cmd && c.options.some((o) => o.name === bare)).map((c) => `\`nnc ${c.name}\``);
      const hint = guess !== undefined ? ` Did you mean \`--${guess}\`?` : elsewhere.length > 0 ? ` (\`--${bare}\` is an option of ${elsewhere.join(", ")}.)` : "";
      return `unknown option \`${word}\` ${of}.${hint}`;
    }
    if (spec.type === "boolean" && t.inlineValue) return `\`--${spec.name}\` takes no value (${t.rawName}=${t.value ?? ""}).`;
    if (spec.type === "string") {
      if (t.value === undefined) return `\`${t.rawName}\` needs a value${spec.value ? ` (${spec.value})` : ""}.`;
      if (!t.inlineValue && t.value.startsWith("-") && t.value !== "-") {
        return `\`${t.rawName}\` needs a value${spec.value ? ` (${spec.value})` : ""}, but \`${t.value}\` follows it. A value that starts with \`-\` is written \`--${spec.name}=${t.value}\`.`;
      }
    }
  }
  // Not one of the cases above: Node's own words.
  return `${e instanceof Error ? e.message.split("\n")[0] : String(e)} (${of})`;
}

function print(lines: string[], stream: NodeJS.WriteStream): void {
  if (lines.length) stream.write(lines.join("\n") + "\n");
}

function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

function unknownCommand(name: string): number {
  const guess = closestByDistance(name, COMMANDS.map((c) => c.name));
  return usage(`unknown command \`${name}\`.${guess !== undefined ? ` Did you mean \`${guess}\`?` : ""} The commands are: ${COMMANDS.map((c) => c.name).join(", ")}.`);
}

/** The arguments before `--` (after it, everything is a file name). */
function beforeTerminator(args: string[]): string[] {
  const end = args.indexOf("--");
  return end < 0 ? args : args.slice(0, end);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(overview());
    return 2;
  }
  if (command === "--help" || command === "-h") {
    process.stdout.write(overview());
    return 0;
  }
  if (command === "help") {
    if (rest.length === 0) {
      process.stdout.write(overview());
      return 0;
    }
    const cmd = findCommand(rest[0]!);
    if (!cmd) return unknownCommand(rest[0]!);
    if (rest.length > 1) return usage("`nnc help` takes one command name.");
    process.stdout.write(commandHelp(cmd));
    return 0;
  }
  if (command === "--version" || command === "-v") {
    process.stdout.write(`nnc ${version()}\n`);
    return 0;
  }
  if (command.startsWith("-")) return usage(`\`${command}\` is not a command: options go after the command, as in \`nnc check ${command} FILE\`.`);
  const cmd = findCommand(command);
  if (!cmd) return unknownCommand(command);
  const own = beforeTerminator(rest);
  if (own.includes("--help") || own.includes("-h")) {
    process.stdout.write(commandHelp(cmd));
    return 0;
  }
  if (command === "lsp") {
    // Loaded only here, so the other commands never load the server. It reads its own
    // arguments: editors add ones of their own (`--clientProcessId=N`).
    const { runLsp } = await import("./lsp-command.js");
    return await runLsp(rest);
  }
  const p = parseCommandArgs(cmd, rest);
  if (typeof p === "string") return usage(p, command);
  const color = p.color ?? (process.stdout.isTTY === true && !process.env["NO_COLOR"]);
  const str = (name: string): string | undefined => {
    const v = p.values[name];
    return typeof v === "string" ? v : undefined;
  };
  const int = (name: string): number | undefined => {
    const v = str(name);
    return v === undefined ? undefined : Number(v);
  };
  const flag = (name: string): boolean => p.values[name] === true;
  /** `{ key: value }` when the value is there, else `{}`: the commands' options are optional, not undefined. */
  const some = <K extends string, V>(key: K, value: V | undefined): { [k in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [k in K]: V }));
  const onLine = (line: string): void => void process.stdout.write(line + "\n");
  const oneFile = (): string | undefined => (p.positionals.length === 1 ? p.positionals[0] : undefined);
  const needsOneFile = (): number => usage(p.positionals.length === 0 ? `\`nnc ${command}\` needs a .nn file.` : `\`nnc ${command}\` takes one .nn file, not ${p.positionals.length}: ${p.positionals.map((f) => `\`${f}\``).join(", ")}.`, command);

  switch (command) {
    case "check": {
      if (p.positionals.length === 0) return usage("`nnc check` needs at least one .nn file or directory.", command);
      const { exitCode, output } = runCheck({ files: p.positionals, json: flag("json"), summary: flag("summary"), color, ...some("model", str("model")) });
      print(output.stdout, process.stdout);
      print(output.stderr, process.stderr);
      return exitCode;
    }
    case "build": {
      const file = oneFile();
      if (file === undefined) return needsOneFile();
      const target = str("target");
      if (target !== undefined && target !== "tfjs" && target !== "pytorch") return usage(`\`--target ${target}\` is not a target: use tfjs or pytorch.`, command);
      const r = await runBuild({ file, out: str("out") ?? "generated", force: flag("force"), color, ...some("target", target as "tfjs" | "pytorch" | undefined) });
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    case "train": {
      const file = oneFile();
      if (file === undefined) return needsOneFile();
      const r = await runTrain(
        {
          file,
          logJson: flag("log-json"),
          color,
          ...some("model", str("model")),
          ...some("backend", str("backend")),
          ...some("epochs", int("epochs")),
          ...some("seed", int("seed")),
          ...some("out", str("out")),
          ...some("resume", str("resume")),
          ...some("report", str("report")),
          ...(flag("force") ? { force: true } : {}),
          ...some("engine", str("engine")),
          ...some("device", str("device")),
          ...some("nproc", int("nproc")),
        },
        onLine,
      );
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    case "inspect": {
      const file = oneFile();
      if (file === undefined) return needsOneFile();
      const r = await runInspect({ file, json: flag("json"), color, ...some("model", str("model")), ...some("backend", str("backend")), ...some("seed", int("seed")), ...some("batch", int("batch")) }, onLine);
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    case "sanity": {
      const file = oneFile();
      if (file === undefined) return needsOneFile();
      const r = await runSanity({ file, color, ...some("model", str("model")), ...some("backend", str("backend")), ...some("seed", int("seed")), ...some("perClass", int("per-class")), ...some("epochs", int("epochs")) }, onLine);
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    case "search": {
      const file = oneFile();
      if (file === undefined) return needsOneFile();
      const r = await runSearch({ file, fresh: flag("fresh"), color, ...some("model", str("model")), ...some("backend", str("backend")), ...some("out", str("out")), ...some("trials", int("trials")), ...some("epochs", int("epochs")) }, onLine);
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    case "predict": {
      const [run, ...inputs] = p.positionals;
      if (run === undefined) return usage("`nnc predict` needs a trained run's folder, then the inputs (or --data SOURCE).", command);
      const { runPredict } = await import("./predict-command.js");
      const r = await runPredict({ run, inputs, json: flag("json"), ...some("data", str("data")), ...some("top", int("top")), ...some("batch", int("batch")), ...some("backend", str("backend")) }, onLine);
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    case "evaluate": {
      const run = p.positionals[0];
      if (run === undefined || p.positionals.length > 1) return usage(run === undefined ? "`nnc evaluate` needs a trained run's folder and --data SOURCE." : `\`nnc evaluate\` takes one run folder, not ${p.positionals.length}: ${p.positionals.map((f) => `\`${f}\``).join(", ")}. The data goes in --data.`, command);
      const { runEvaluate } = await import("./evaluate-command.js");
      const r = await runEvaluate({ run, json: flag("json"), ...some("data", str("data")), ...some("report", str("report")), ...some("batch", int("batch")), ...some("backend", str("backend")) });
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    case "export": {
      const run = p.positionals[0];
      if (run === undefined || p.positionals.length > 1) return usage(run === undefined ? "`nnc export` needs a trained run's folder." : `\`nnc export\` takes one run folder, not ${p.positionals.length}: ${p.positionals.map((f) => `\`${f}\``).join(", ")}.`, command);
      const format = str("format");
      if (format === undefined) return usage("`nnc export` needs --format onnx or --format tfjs.", command);
      if (format !== "onnx" && format !== "tfjs") {
        const close = closestByDistance(format, ["onnx", "tfjs"]);
        return usage(`unknown export format \`${format}\`.${close !== undefined ? ` Did you mean \`${close}\`?` : ""} Formats: onnx, tfjs.`, command);
      }
      const out = str("out");
      if (out === undefined) return usage(`\`nnc export\` needs -o PATH: the ${format === "onnx" ? ".onnx file" : "folder"} to write.`, command);
      // Loaded only here: the exporter's ONNX protobuf code is not every command's.
      const { exportCommand } = await import("./export-command.js");
      const r = await exportCommand({ run, format, out, ...(flag("force") ? { force: true } : {}), ...(flag("no-normalize") ? { normalize: false } : {}), ...some("opset", int("opset")) });
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    case "fmt": {
      const stdin = flag("stdin") || p.positionals.includes("-");
      if (stdin && p.positionals.some((f) => f !== "-")) return usage("`nnc fmt -` formats stdin; give it no files.", command);
      if (!stdin && p.positionals.length === 0) return usage("`nnc fmt` needs at least one .nn file or directory, or `-` for stdin.", command);
      const r = runFmt({ files: p.positionals, check: flag("check"), color, ...(stdin ? { stdin: readStdin() } : {}) });
      if (r.formatted !== undefined) process.stdout.write(r.formatted);
      print(r.stdout, process.stdout);
      print(r.stderr, process.stderr);
      return r.exitCode;
    }
    default:
      return unknownCommand(command);
  }
}

// This file is the command line's entry point: a deep model may run the command again from it.
setCliEntry(process.argv[1]);
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
