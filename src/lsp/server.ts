/**
 * The language server (`nnc lsp --stdio`). The only module that knows LSP. Every feature
 * reads one Analysis per document version (src/lsp/analysis.ts), built with `checkText`,
 * the pipeline `nnc check` runs, so the editor and the command line agree.
 *
 * Robustness: a handler that throws is a bug in nnc, never a reason to lose the editor's
 * session. Each handler runs in `guard`, which logs the error with its stack to stderr and
 * to the client's log (window/logMessage) and answers with an empty result. A client's
 * mistakes are not bugs: broken frames and messages are answered by the transport
 * (src/lsp/transport.ts), requests without the document or position they need get
 * InvalidParams (src/lsp/params.ts), notifications that make no sense are logged and
 * dropped. Methods we do not handle are answered with MethodNotFound by vscode-jsonrpc.
 *
 * Limits: a document longer than MAX_CHECKED_LENGTH is not checked (one warning says so; a
 * 5 MB spec took ~10 s and over 1 GB to check, blocking every request meanwhile), and at
 * most MAX_PUBLISHED diagnostics are published per document, then one that counts the rest.
 */
import {
  CodeActionKind,
  createConnection,
  DiagnosticSeverity,
  InlayHintKind,
  MarkupKind,
  ProposedFeatures,
  TextDocumentSyncKind,
  type Connection,
  type Diagnostic as LspDiagnostic,
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
import { changeProblem, documentProblem, isResponseError, openProblem, requireParams } from "./params.js";
import { createTransport } from "./transport.js";
import { warmUp } from "./warm-up.js";

/** Documents longer than this (UTF-16 code units) are not checked in the editor. */
export const MAX_CHECKED_LENGTH = 1024 * 1024;
/** Diagnostics published per document; the rest are counted in one more. */
export const MAX_PUBLISHED = 1000;
/** How long diagnostics may wait for queued messages to be handled first. */
const MAX_DEFER_MS = 250;

export interface ServerOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Where errors and timings go besides the client's log (default: process.stderr). */
  log?: (line: string) => void;
  /**
   * Called when the input ends, once the messages read before are handled, with the exit
   * status the LSP asks for: 0 after `shutdown`, 1 without (default: process.exit).
   */
  onInputEnd?: (status: number) => void;
}

export function startServer(opts: ServerOptions): Connection {
  const log = opts.log ?? ((line: string) => void process.stderr.write(line + "\n"));
  const { reader, writer } = createTransport({ input: opts.input, output: opts.output, log });
  const connection = createConnection(ProposedFeatures.all, reader, writer);
  /** Open documents, and a count of their edits: the cache's key (a client's version may repeat). */
  const documents = new Map<string, { doc: TextDocument; edits: number }>();
  const cache = new Map<string, { edits: number; analysis: Analysis }>();
  let snippets = false;
  const trace = process.env["NNC_LSP_TRACE"] === "1";

  const tooLong = (doc: TextDocument): boolean => doc.getText().length > MAX_CHECKED_LENGTH;

  /** The analysis of a document's current text, built on first use; none for a document too long to check. */
  function analysisOf(uri: string): Analysis | undefined {
    const open = documents.get(uri);
    if (!open || tooLong(open.doc)) return undefined;
    const hit = cache.get(uri);
    if (hit && hit.edits === open.edits) return hit.analysis;
    const analysis = analyse(open.doc.getText());
    cache.set(uri, { edits: open.edits, analysis });
    if (trace) log(`nnc lsp: checked ${uri} v${open.doc.version} in ${analysis.checkMs.toFixed(1)} ms`);
    return analysis;
  }

  /** The diagnostics to publish for a document: its own, at most MAX_PUBLISHED and a count of the rest. */
  function diagnosticsOf(uri: string, doc: TextDocument): LspDiagnostic[] {
    if (tooLong(doc)) {
      const length = doc.getText().length;
      return [
        {
          range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
          severity: DiagnosticSeverity.Warning,
          source: "nnc",
          message: `This document is not checked in the editor: it has ${length.toLocaleString("en-US")} characters, over the ${MAX_CHECKED_LENGTH.toLocaleString("en-US")} the language server checks. Run \`nnc check\` on the file.`,
        },
      ];
    }
    const all = analysisOf(uri)?.result.diagnostics ?? [];
    const shown = all.slice(0, MAX_PUBLISHED).map((d) => lspDiagnostic(d, uri));
    const rest = all.length - shown.length;
    if (rest > 0) {
      shown.push({
        range: lspRange(all[MAX_PUBLISHED]!.range),
        severity: DiagnosticSeverity.Information,
        source: "nnc",
        message: `…and ${rest.toLocaleString("en-US")} more problems from here on, not shown: the editor gets the first ${MAX_PUBLISHED.toLocaleString("en-US")}. \`nnc check\` on the file lists them all.`,
      });
    }
    return shown;
  }

  function guard<P, R>(method: string, fallback: R, handler: (params: P) => R): (params: P) => R {
    return (params: P): R => {
      try {
        return handler(params);
      } catch (e) {
        // A client's malformed request, answered as an error: not a bug of ours.
        if (isResponseError(e)) throw e;
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
  // at their last version: the check waits while the transport still holds messages (at
  // most MAX_DEFER_MS, so a flood of requests cannot starve it).
  const pending = new Set<string>();
  const check = guard("publishDiagnostics", undefined, (uri: string) => {
    pending.delete(uri);
    const open = documents.get(uri);
    if (!open) return;
    void connection.sendDiagnostics({ uri, version: open.doc.version, diagnostics: diagnosticsOf(uri, open.doc) });
  });
  function publish(uri: string): void {
    if (pending.has(uri)) return;
    pending.add(uri);
    const since = performance.now();
    const later = (): void => {
      if (reader.backlog > 0 && performance.now() - since < MAX_DEFER_MS) setImmediate(later);
      else check(uri);
    };
    setImmediate(later);
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

  // Document sync. The client owns the text: a change is applied even when its version
  // does not increase (logged), and diagnostics carry the version the client gave.
  const dropped = (method: string, problem: string): void => log(`nnc lsp: dropped a ${method} notification: ${problem}.`);
  connection.onDidOpenTextDocument(
    guard("didOpen", undefined, (p) => {
      const problem = openProblem(p);
      if (problem) return dropped("textDocument/didOpen", problem);
      const { uri, languageId, version, text } = p.textDocument;
      const before = documents.get(uri);
      documents.set(uri, { doc: TextDocument.create(uri, typeof languageId === "string" ? languageId : "nn", version, text), edits: (before?.edits ?? 0) + 1 });
      publish(uri);
    }),
  );
  connection.onDidChangeTextDocument(
    guard("didChange", undefined, (p) => {
      const problem = changeProblem(p);
      if (problem) return dropped("textDocument/didChange", problem);
      const uri = p.textDocument.uri;
      const open = documents.get(uri);
      if (!open) return dropped("textDocument/didChange", `${uri} is not open`);
      if (p.textDocument.version <= open.doc.version) log(`nnc lsp: ${uri} went from version ${open.doc.version} to ${p.textDocument.version}; applying the change anyway.`);
      // Ranges past the end are clamped to it, as the protocol's text document does.
      open.doc = TextDocument.update(open.doc, p.contentChanges, p.textDocument.version);
      open.edits++;
      publish(uri);
    }),
  );
  connection.onDidCloseTextDocument(
    guard("didClose", undefined, (p) => {
      const problem = documentProblem(p);
      if (problem) return dropped("textDocument/didClose", problem);
      const uri = p.textDocument.uri;
      if (!documents.delete(uri)) return dropped("textDocument/didClose", `${uri} is not open`);
      cache.delete(uri);
      pending.delete(uri);
      void connection.sendDiagnostics({ uri, diagnostics: [] });
    }),
  );

  connection.onHover(
    guard("hover", null, (p) => {
      requireParams("textDocument/hover", p, { position: true });
      const doc = documents.get(p.textDocument.uri)?.doc;
      const a = analysisOf(p.textDocument.uri);
      if (!doc || !a) return null;
      const h = hover(a, doc.offsetAt(p.position));
      return h ? { contents: { kind: MarkupKind.Markdown, value: h.markdown }, range: lspRange(h.range) } : null;
    }),
  );

  connection.onCompletion(
    guard("completion", [], (p) => {
      requireParams("textDocument/completion", p, { position: true });
      const doc = documents.get(p.textDocument.uri)?.doc;
      const a = analysisOf(p.textDocument.uri);
      if (!doc || !a) return [];
      return complete(a, doc.offsetAt(p.position), { snippets });
    }),
  );

  connection.onDefinition(
    guard("definition", null, (p): Location[] | null => {
      requireParams("textDocument/definition", p, { position: true });
      const doc = documents.get(p.textDocument.uri)?.doc;
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
      requireParams("textDocument/references", p, { position: true });
      const doc = documents.get(p.textDocument.uri)?.doc;
      const a = analysisOf(p.textDocument.uri);
      if (!doc || !a) return [];
      const occ = occurrenceAt(a, doc.offsetAt(p.position));
      if (!occ) return [];
      return a.occurrences.filter((o) => o.key === occ.key && (p.context?.includeDeclaration === true || !o.declaration)).map((o) => ({ uri: doc.uri, range: lspRange(o.range) }));
    }),
  );

  connection.onDocumentSymbol(
    guard("documentSymbol", [], (p) => {
      requireParams("textDocument/documentSymbol", p);
      const a = analysisOf(p.textDocument.uri);
      return a ? outline(a) : [];
    }),
  );

  connection.languages.inlayHint.on(
    guard("inlayHint", [], (p) => {
      requireParams("textDocument/inlayHint", p, { range: true });
      const doc = documents.get(p.textDocument.uri)?.doc;
      const a = analysisOf(p.textDocument.uri);
      if (!doc || !a) return [];
      const within = a.result.lines.range(doc.offsetAt(p.range.start), doc.offsetAt(p.range.end));
      return shapeHints(a, within).map((h) => ({ position: { line: h.at.line, character: h.at.character }, label: h.label, kind: InlayHintKind.Type, tooltip: h.tooltip }));
    }),
  );

  connection.onCodeAction(
    guard("codeAction", [], (p) => {
      requireParams("textDocument/codeAction", p, { range: true });
      const a = analysisOf(p.textDocument.uri);
      const only: unknown = p.context?.only;
      return a ? quickFixes(a, p.textDocument.uri, p.range, Array.isArray(only) ? only.filter((k): k is string => typeof k === "string") : undefined) : [];
    }),
  );

  connection.onDocumentFormatting(
    guard("formatting", null, (p) => {
      requireParams("textDocument/formatting", p);
      const doc = documents.get(p.textDocument.uri)?.doc;
      return doc && !tooLong(doc) ? formatEdits(doc.getText()) : null;
    }),
  );

  // The client is gone when its end of stdin closes: exit (0 after `shutdown`, 1 without, as
  // for `exit`) once the messages it sent before are handled, rather than serve no one.
  const onInputEnd = opts.onInputEnd ?? ((status: number) => process.exit(status));
  let ended = false;
  const inputEnded = (): void => {
    if (ended) return;
    ended = true;
    const finish = (): void => {
      if (reader.backlog > 0) setImmediate(finish);
      // One more turn: the connection handles the last message it was given.
      else setImmediate(() => onInputEnd(reader.shutdownReceived ? 0 : 1));
    };
    finish();
  };
  opts.input.on("end", inputEnded);
  opts.input.on("close", inputEnded);

  connection.listen();
  return connection;
}
