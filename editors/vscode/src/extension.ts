/**
 * The nnc extension: starts `nnc lsp --stdio` for `.nn` files and restarts it on request
 * (`nnc.restartServer`) or when an `nnc.server.*` setting changes. Highlighting comes from
 * the TextMate grammar the manifest contributes; everything else comes from the server.
 */
import * as vscode from "vscode";
import { LanguageClient, type Executable, type LanguageClientOptions } from "vscode-languageclient/node";
import { describeCommand, findServer, INSTALL_HINT, type ServerCommand } from "./server-command.js";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;
/** Starts and stops run one after another, so a restart never races a start. */
let queue: Promise<void> = Promise.resolve();

export function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("nnc");
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand("nnc.restartServer", () => restart()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("nnc.server")) void restart();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void restart()),
  );
  return enqueue(start);
}

export function deactivate(): Promise<void> {
  return enqueue(stop);
}

function enqueue(step: () => Promise<void>): Promise<void> {
  queue = queue.then(step, step);
  return queue;
}

function restart(): Promise<void> {
  return enqueue(async () => {
    await stop();
    await start();
  });
}

function log(line: string): void {
  output?.appendLine(line);
}

function settings(): { path: string; args: string[] } {
  const config = vscode.workspace.getConfiguration("nnc.server");
  const args = config.get<unknown>("args");
  return {
    path: config.get<string>("path") ?? "",
    args: Array.isArray(args) ? args.filter((a): a is string => typeof a === "string") : [],
  };
}

async function start(): Promise<void> {
  const { path, args } = settings();
  const server = findServer({
    setting: path,
    extraArgs: args,
    // An untrusted workspace's node_modules/.bin/nnc is its own code: not run until trusted.
    workspaceFolders: vscode.workspace.isTrusted ? localFolders() : [],
    env: { PATH: process.env["PATH"], PATHEXT: process.env["PATHEXT"] },
    platform: process.platform,
  });
  if (!server.found) {
    log(server.message);
    for (const file of server.tried) log(`  looked for ${file}`);
    void showError(server.message);
    return;
  }
  const commandLine = describeCommand(server);
  log(`Starting the nnc language server (${server.from === "PATH" ? "from PATH" : `from the ${server.from}`}): ${commandLine}`);

  const newClient = new LanguageClient("nnc", "nnc language server", executable(server), clientOptions());
  try {
    await newClient.start();
    client = newClient;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    log(`The nnc language server did not start: ${reason}`);
    void showError(`The nnc language server did not start (\`${commandLine}\`): ${reason}. It needs an nnc with the \`lsp\` command. ${INSTALL_HINT}`);
    await newClient.dispose(2000).catch(() => undefined);
  }
}

/**
 * The server's command line, `lsp --stdio` included. No `transport` is given: with
 * `TransportKind.stdio` the client would append a second `--stdio`; without one it talks over
 * the child's stdin and stdout all the same.
 */
function executable(server: ServerCommand): Executable {
  const cwd = localFolders()[0];
  return { command: server.command, args: server.args, options: { shell: server.shell, ...(cwd !== undefined ? { cwd } : {}) } };
}

/** The workspace folders on this machine's disk. */
function localFolders(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === "file").map((f) => f.uri.fsPath);
}

function clientOptions(): LanguageClientOptions {
  const options: LanguageClientOptions = { documentSelector: [{ language: "nn" }] };
  // The client reads `nnc.trace.server` itself (its id is `nnc`); it logs to this channel.
  if (output !== undefined) options.outputChannel = output;
  return options;
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running === undefined) return;
  try {
    await running.dispose(2000);
  } catch (error) {
    log(`Stopping the nnc language server: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function showError(message: string): Promise<void> {
  const choice = await vscode.window.showErrorMessage(message, "Open Settings", "Show Output");
  if (choice === "Open Settings") await vscode.commands.executeCommand("workbench.action.openSettings", "nnc.server");
  else if (choice === "Show Output") output?.show(true);
}
