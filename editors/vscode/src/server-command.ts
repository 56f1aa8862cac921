/**
 * Finds the nnc CLI that the extension starts as its language server, and the command line
 * it runs: `nnc lsp --stdio`, then the user's `nnc.server.args`.
 *
 * Where it looks, in order: the `nnc.server.path` setting; `node_modules/.bin/nnc` in each
 * workspace folder; `nnc` on PATH. Nothing here imports `vscode`, so the main test suite
 * (test/vscode-extension.test.ts) runs it directly, with a fake file system and platform.
 */
import { accessSync, constants, statSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";

/** The arguments that make nnc a language server talking over stdin/stdout. */
export const SERVER_ARGS: readonly string[] = ["lsp", "--stdio"];

/** Where to get nnc, shown whenever none is found or the one found does not start. */
export const INSTALL_HINT =
  "Install nnc in this workspace (`npm install --save-dev nnc`), put it on your PATH (`npm link` in a clone of nnc), or set `nnc.server.path` to the nnc CLI (e.g. `/path/to/nnc/dist/nnc.mjs`).";

export type FileKind = "none" | "file" | "executable";

export interface ServerLookup {
  /** `nnc.server.path`: a file, a command name looked up on PATH, or empty. */
  setting: string;
  /** `nnc.server.args`: appended after `lsp --stdio`. */
  extraArgs: readonly string[];
  /** Absolute paths of the workspace folders; a relative `nnc.server.path` is read from the first. */
  workspaceFolders: readonly string[];
  /** `PATH`, and `PATHEXT` on Windows. */
  env: { PATH?: string | undefined; PATHEXT?: string | undefined };
  platform: NodeJS.Platform;
  /** What is at a path; the real file system unless a test gives its own. */
  fileKind?: (file: string) => FileKind;
  /** The home directory for a leading `~`; os.homedir() unless a test gives its own. */
  home?: string;
}

export interface ServerCommand {
  found: true;
  command: string;
  args: string[];
  /** Windows runs `.cmd`/`.bat` shims (what npm installs in `node_modules/.bin`) only through a shell. */
  shell: boolean;
  from: "setting" | "workspace" | "PATH";
}

export interface ServerNotFound {
  found: false;
  /** What went wrong and how to fix it, for an error message. */
  message: string;
  /** Every path looked at, for the output channel. */
  tried: string[];
}

/** The real file system: a regular file, executable on POSIX when its mode says so. */
export function realFileKind(file: string): FileKind {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile()) return "none";
  if (process.platform === "win32") return "executable";
  try {
    accessSync(file, constants.X_OK);
    return "executable";
  } catch {
    return "file";
  }
}

/** JavaScript files (such as a clone's `dist/nnc.mjs`) run under `node` from PATH: nnc needs Node 20. */
const SCRIPT = /\.(?:mjs|cjs|js)$/i;

export function findServer(lookup: ServerLookup): ServerCommand | ServerNotFound {
  const p = lookup.platform === "win32" ? path.win32 : path.posix;
  const kind = lookup.fileKind ?? realFileKind;
  const windows = lookup.platform === "win32";
  const tried: string[] = [];
  const serverArgs = [...SERVER_ARGS, ...lookup.extraArgs];

  const make = (file: string, from: ServerCommand["from"]): ServerCommand => {
    if (SCRIPT.test(file)) return { found: true, command: "node", args: [file, ...serverArgs], shell: false, from };
    const shell = windows && /\.(?:cmd|bat)$/i.test(file);
    // With `shell`, Node joins the command line with spaces and quotes nothing.
    const command = shell && /\s/.test(file) ? `"${file}"` : file;
    return { found: true, command, args: serverArgs, shell, from };
  };

  /** `name` in the PATH directories, with each PATHEXT extension on Windows. */
  const onPath = (name: string): string | undefined => {
    const dirs = (lookup.env.PATH ?? "").split(windows ? ";" : ":").filter((d) => d !== "");
    const extensions = windows && !/\.[^.\\/]+$/.test(name) ? (lookup.env.PATHEXT ?? ".COM;.EXE;.BAT;.CMD").split(";").filter((e) => e !== "") : [""];
    for (const dir of dirs) {
      for (const ext of extensions) {
        const candidate = p.join(dir, name + ext);
        tried.push(candidate);
        if (kind(candidate) === "executable") return candidate;
      }
    }
    return undefined;
  };

  const setting = lookup.setting.trim();
  if (setting !== "") {
    // A bare name (`nnc-dev`) is a command on PATH; anything with a slash is a file.
    if (!/[\\/]/.test(setting) && !setting.startsWith("~")) {
      const found = onPath(setting);
      if (found !== undefined) return make(found, "setting");
      return { found: false, message: `nnc.server.path is \`${setting}\`, but no such command is on PATH. ${INSTALL_HINT}`, tried };
    }
    let file = setting.startsWith("~") ? p.join(lookup.home ?? homedir(), setting.slice(1)) : setting;
    const base = lookup.workspaceFolders[0];
    if (!p.isAbsolute(file) && base !== undefined) file = p.resolve(base, file);
    tried.push(file);
    const what = kind(file);
    if (what === "executable" || (what === "file" && SCRIPT.test(file))) return make(file, "setting");
    const problem = what === "file" ? "is not executable (a JavaScript file ending in .js, .mjs or .cjs runs under node)" : "does not exist";
    return { found: false, message: `nnc.server.path is \`${setting}\`, but ${file} ${problem}. ${INSTALL_HINT}`, tried };
  }

  for (const folder of lookup.workspaceFolders) {
    // npm writes a `.cmd` shim on Windows; the extensionless file beside it is a shell script.
    const candidate = p.join(folder, "node_modules", ".bin", windows ? "nnc.cmd" : "nnc");
    tried.push(candidate);
    if (kind(candidate) === "executable") return make(candidate, "workspace");
  }

  const found = onPath("nnc");
  if (found !== undefined) return make(found, "PATH");
  return { found: false, message: `The nnc CLI was not found in the workspace's node_modules/.bin or on PATH. ${INSTALL_HINT}`, tried };
}

/** The command line as a person would type it, for messages. */
export function describeCommand(command: ServerCommand): string {
  return [command.command, ...command.args].map((a) => (/[\s"]/.test(a) && !/^".*"$/.test(a) ? JSON.stringify(a) : a)).join(" ");
}
