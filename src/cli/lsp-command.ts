/**
 * `nnc lsp --stdio`: the language server over stdin and stdout. main.ts imports this module
 * with a dynamic import, and this module imports the server with another, so `nnc check`
 * never evaluates the server or vscode-languageserver.
 */
import { createRequire } from "node:module";

export async function runLsp(args: string[]): Promise<number> {
  // `--clientProcessId=N` is what vscode-languageclient appends for a stdio transport; the
  // client's process id also comes in `initialize`, which the server watches.
  const unknown = args.filter((a) => a !== "--stdio" && !/^--clientProcessId(=\d+)?$/.test(a));
  if (unknown.length > 0) {
    process.stderr.write(`nnc: \`nnc lsp\` speaks LSP over stdin and stdout only (--stdio); unknown argument \`${unknown[0]}\`.\nRun \`nnc --help\` for usage.\n`);
    return 2;
  }
  // vscode-languageserver is CommonJS. In the ESM bundle (dist/nnc.mjs) its `require` calls
  // of Node's own modules go through esbuild's shim, which calls a global `require` when
  // there is one and throws otherwise: give it one before the server's modules load.
  const g = globalThis as { require?: NodeRequire };
  g.require ??= createRequire(import.meta.url);
  const { startServer } = await import("../lsp/server.js");
  // stdout carries the protocol: anything else printed there would corrupt it.
  const toStderr = (...parts: unknown[]): void => void process.stderr.write(parts.map(String).join(" ") + "\n");
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  console.warn = toStderr;
  startServer({ input: process.stdin, output: process.stdout });
  // The process lives while the connection does; the server exits on `exit` or at the end
  // of its input.
  return 0;
}
