/**
 * The language server (`nnc lsp --stdio`). The only module that knows LSP. Every feature
 * reads one Analysis per document version (src/lsp/analysis.ts), built with `checkText`,
 * the pipeline `nnc check` runs, so the editor and the command line agree.
 *
 * Robustness: a handler that throws is a bug in nnc, never a reason to lose the editor's
 * session. Each handler runs in `guard`, which logs the error with its stack to stderr and
 * to the client's log (window/logMessage) and answers with an empty result. Methods we do
 * not handle are answered with MethodNotFound by vscode-jsonrpc.
 */
import {
  CodeActionKind,
  createConnection,
  InlayHintKind,
  MarkupKind,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type InitializeResult,
  type Location,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { analyse, occurrenceAt, type Analysis } from "./analysis.js";
import { quickFixes } from "./code-actions.js";
import { complete } from "./completion.js";
import { lspDiagnostic, lspRange } from "./convert.js";
import { formatEdits } from "./formatting.js";
import { hover } from "./hover.js";
import { shapeHints } from "./inlay-hints.js";
import { outline } from "./outline.js";
import { warmUp } from "./warm-up.js";

export interface ServerOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Where errors and timings go besides the client's log (default: process.stderr). */
  log?: (line: string) => void;
}

export function startServer(opts: ServerOptions): Connection {
  const log = opts.log ?? ((line: string) => void process.stderr.write(line + "\n"));
  const connection = createConnection(ProposedFeatures.all, opts.input, opts.output);
  const documents = new TextDocuments(TextDocument);
  const cache = new Map<string, { version: number; analysis: Analysis }>();
  let snippets = false;
  const trace = process.env["NNC_LSP_TRACE"] === "1";

  /** The analysis of a document's current version, built on first use. */
  function analysisOf(uri: string): Analysis | undefined {
    const doc = documents.get(uri);
    if (!doc) return undefined;
    const hit = cache.get(uri);
    if (hit && hit.version === doc.version) return hit.analysis;
    const analysis = analyse(doc.getText());
    cache.set(uri, { version: doc.version, analysis });
    if (trace) log(`nnc lsp: checked ${uri} v${doc.version} in ${analysis.checkMs.toFixed(1)} ms`);
    return analysis;
  }

  function guard<P, R>(method: string, fallback: R, handler: (params: P) => R): (params: P) => R {
    return (params: P): R => {
      try {
        return handler(params);
      } catch (e) {
        const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
        const line = `nnc lsp: internal error in ${method} (a bug in nnc, not in the spec): ${detail}`;
        log(line);
        try {
          connection.console.error(line);
        } catch {
          // The client is gone; stderr has it.
        }
        return fallback;
      }
    };
  }

  // Diagnostics: checked after each change. Changes that arrive together are checked once,
  // at their last version.
  const pending = new Set<string>();
  function publish(uri: string): void {
    if (pending.has(uri)) return;
    pending.add(uri);
    setImmediate(
      guard("publishDiagnostics", undefined, () => {
        pending.delete(uri);
        const doc = documents.get(uri);
        const a = analysisOf(uri);
        if (!doc || !a) return;
        void connection.sendDiagnostics({ uri, version: doc.version, diagnostics: a.result.diagnostics.map((d) => lspDiagnostic(d, uri)) });
      }),
    );
  }

  connection.onInitialize(
    guard("initialize", { capabilities: {} }, (params): InitializeResult => {
      snippets = params.capabilities.textDocument?.completion?.completionItem?.snippetSupport === true;
      return {
        capabilities: {
          positionEncoding: "utf-16",
          textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
          hoverProvider: true,
          completionProvider: { triggerCharacters: [" ", "(", "~"] },
          definitionProvider: true,
          referencesProvider: true,
          documentSymbolProvider: true,
          inlayHintProvider: true,
          codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
          documentFormattingProvider: true,
        },
        serverInfo: { name: "nnc" },
      };
    }),
  );

  connection.onInitialized(guard("initialized", undefined, () => void warmUp()));

  documents.onDidChangeContent(guard("didChange", undefined, (e) => publish(e.document.uri)));
  documents.onDidClose(
    guard("didClose", undefined, (e) => {
      cache.delete(e.document.uri);
      void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
    }),
  );

  connection.onHover(
    guard("hover", null, (p) => {
      const doc = documents.get(p.textDocument.uri);
      const a = analysisOf(p.textDocument.uri);
      if (!doc || !a) return null;
      const h = hover(a, doc.offsetAt(p.position));
      return h ? { contents: { kind: MarkupKind.Markdown, value: h.markdown }, range: lspRange(h.range) } : null;
    }),
  );

  connection.onCompletion(
    guard("completion", [], (p) => {
      const doc = documents.get(p.textDocument.uri);
      const a = analysisOf(p.textDocument.uri);
      if (!doc || !a) return [];
      return complete(a, doc.offsetAt(p.position), { snippets });
    }),
  );

  connection.onDefinition(
    guard("definition", null, (p): Location[] | null => {
      const doc = documents.get(p.textDocument.uri);
      const a = analysisOf(p.textDocument.uri);
      if (!doc || !a) return null;
      const occ = occurrenceAt(a, doc.offsetAt(p.position));
      if (!occ) return null;
      const defs = a.occurrences.filter((o) => o.key === occ.key && o.declaration);
      return defs.length > 0 ? defs.map((o) => ({ uri: doc.uri, range: lspRange(o.range) })) : null;
    }),
  );

  connection.onReferences(
    guard("references", [], (p): Location[] => {
      const doc = documents.get(p.textDocument.uri);
      const a = analysisOf(p.textDocument.uri);
      if (!doc || !a) return [];
      const occ = occurrenceAt(a, doc.offsetAt(p.position));
      if (!occ) return [];
      return a.occurrences.filter((o) => o.key === occ.key && (p.context.includeDeclaration || !o.declaration)).map((o) => ({ uri: doc.uri, range: lspRange(o.range) }));
    }),
  );

  connection.onDocumentSymbol(
    guard("documentSymbol", [], (p) => {
      const a = analysisOf(p.textDocument.uri);
      return a ? outline(a) : [];
    }),
  );

  connection.languages.inlayHint.on(
    guard("inlayHint", [], (p) => {
      const doc = documents.get(p.textDocument.uri);
      const a = analysisOf(p.textDocument.uri);
      if (!doc || !a) return [];
      const within = a.result.lines.range(doc.offsetAt(p.range.start), doc.offsetAt(p.range.end));
      return shapeHints(a, within).map((h) => ({ position: { line: h.at.line, character: h.at.character }, label: h.label, kind: InlayHintKind.Type, tooltip: h.tooltip }));
    }),
  );

  connection.onCodeAction(
    guard("codeAction", [], (p) => {
      const a = analysisOf(p.textDocument.uri);
      return a ? quickFixes(a, p.textDocument.uri, p.range, p.context.only) : [];
    }),
  );

  connection.onDocumentFormatting(
    guard("formatting", null, (p) => {
      const doc = documents.get(p.textDocument.uri);
      return doc ? formatEdits(doc.getText()) : null;
    }),
  );

  documents.listen(connection);
  connection.listen();
  return connection;
}
