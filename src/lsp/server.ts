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
 *
 * Slow documents. A check cannot be interrupted, and one of a megabyte of spec takes 1.5–5 s
 * (its analysis holds 100–150 MB). So the server keeps one analysis per document, lets go of
 * it before making the next, and keeps only the diagnostics it publishes. On a document whose
 * last check took ANSWER_FROM_LAST_MS or more, an edit does not make the next request wait
 * for a check: requests are answered from the last analysis, read against the current text
 * (src/lsp/view.ts), and the check waits for a pause in the edits (half its last duration,
 * within QUIET_MS) or at most MAX_UNCHECKED_MS after the first edit it has not seen. A request
 * that arrives while a check runs still waits for it.
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
  type InlayHint,
  type Location,
  type Position,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { analyse, occurrenceAt, type Analysis, type Occurrence } from "./analysis.js";
import { quickFixes } from "./code-actions.js";
import { complete } from "./completion.js";
import { lspDiagnostic, lspRange } from "./convert.js";
import { formatEdits } from "./formatting.js";
import { hover } from "./hover.js";
import { shapeHints } from "./inlay-hints.js";
import { collectGarbage } from "./memory.js";
import { outline } from "./outline.js";
import { changeProblem, documentProblem, isResponseError, openProblem, requireParams } from "./params.js";
import { createTransport } from "./transport.js";
import { currentView, staleView, type View } from "./view.js";
import { warmUp } from "./warm-up.js";

/** Documents longer than this (UTF-16 code units) are not checked in the editor. */
export const MAX_CHECKED_LENGTH = 1024 * 1024;
/** Diagnostics published per document; the rest are counted in one more. */
export const MAX_PUBLISHED = 1000;
/** How long diagnostics may wait for queued messages to be handled first. */
const MAX_DEFER_MS = 250;
/** A document whose check takes this long is answered from its last analysis while the next waits. */
export const ANSWER_FROM_LAST_MS = 100;
/** The pause in edits the check of a slow document waits for: half its last duration, within these bounds. */
const QUIET_MS = { min: 250, max: 1500 };
/** The longest a slow document's check waits after the first edit it has not seen, edits or not. */
const MAX_UNCHECKED_MS = 10_000;

/** Texts this long (UTF-16 units) are checked after a full garbage collection, as are documents whose last check was slow. */
const COLLECT_BEFORE_LENGTH = 256 * 1024;

/** An open document and what the server knows of it. */
interface OpenDocument {
  doc: TextDocument;
  /** Edits since it was opened (didOpen counts): what an analysis is of, since a client's version may repeat. */
  edits: number;
  /** The last analysis made, of the text after `analysedEdits` edits (only one: the next replaces it). */
  analysis?: Analysis;
  analysedEdits: number;
  /** `analysis` read against the text after `viewEdits` edits. */
  view?: View;
  viewEdits: number;
  /** How long the last check took (ms; 0 before the first). */
  checkMs: number;
  /** When the last edit arrived (performance.now()). */
  changedAt: number;
}

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
  const documents = new Map<string, OpenDocument>();
  let snippets = false;
  const trace = process.env["NNC_LSP_TRACE"] === "1";

  const tooLong = (doc: TextDocument): boolean => doc.getText().length > MAX_CHECKED_LENGTH;
  const slow = (open: OpenDocument): boolean => open.checkMs >= ANSWER_FROM_LAST_MS;

  /**
   * Checks the document's current text. The last analysis goes first, and before a large
   * check the garbage is collected (src/lsp/memory.ts): two analyses of a large document never
   * live at once, nor one with the garbage of the check before.
   */
  function analyseNow(uri: string, open: OpenDocument): Analysis {
    open.analysis = open.view = undefined;
    const text = open.doc.getText();
    const t0 = performance.now();
    const collected = (slow(open) || text.length >= COLLECT_BEFORE_LENGTH) && collectGarbage();
    const gcMs = performance.now() - t0;
    const analysis = analyse(text, MAX_PUBLISHED + 1);
    open.analysis = analysis;
    open.analysedEdits = open.edits;
    open.checkMs = analysis.checkMs;
    if (trace) {
      const m = process.memoryUsage();
      log(`nnc lsp: checked ${uri} v${open.doc.version} in ${analysis.checkMs.toFixed(1)} ms${collected ? ` after collecting garbage for ${gcMs.toFixed(1)} ms` : ""}; heap ${(m.heapUsed / 2 ** 20).toFixed(0)} MB, rss ${(m.rss / 2 ** 20).toFixed(0)} MB`);
    }
    return analysis;
  }

  /** The analysis of a document's current text, made now if need be; none for a document too long to check. */
  function analysisOf(uri: string): Analysis | undefined {
    const open = documents.get(uri);
    if (!open || tooLong(open.doc)) return undefined;
    return open.analysis && open.analysedEdits === open.edits ? open.analysis : analyseNow(uri, open);
  }

  /**
   * What a request reads: the analysis of the current text, or on a slow document the last
   * analysis read against the current text; none for a document not open or too long to check.
   */
  function viewOf(uri: string): { doc: TextDocument; view: View } | undefined {
    const open = documents.get(uri);
    if (!open || tooLong(open.doc)) return undefined;
    if (!open.view || open.viewEdits !== open.edits) {
      if (open.analysis && open.analysedEdits === open.edits) open.view = currentView(open.analysis);
      else if (open.analysis && slow(open)) open.view = staleView(open.analysis, open.doc);
      else open.view = currentView(analyseNow(uri, open));
      open.viewEdits = open.edits;
    }
    return { doc: open.doc, view: open.view };
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
    const a = analysisOf(uri);
    if (!a) return [];
    const all = a.result.diagnostics;
    const shown = all.slice(0, MAX_PUBLISHED).map((d) => lspDiagnostic(d, uri));
    const rest = a.diagnosticCount - shown.length;
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
  // most MAX_DEFER_MS, so a flood of requests cannot starve it). A slow document's check
  // first waits for a pause in its edits (see the top of this file). Each round of waiting
  // has a token: closing the document ends its round, and a round begun after is a new one.
  const pending = new Map<string, object>();
  const check = guard("publishDiagnostics", undefined, (uri: string) => {
    pending.delete(uri);
    const open = documents.get(uri);
    if (!open) return;
    void connection.sendDiagnostics({ uri, version: open.doc.version, diagnostics: diagnosticsOf(uri, open.doc) });
  });
  function publish(uri: string): void {
    if (pending.has(uri)) return;
    const token = {};
    pending.set(uri, token);
    const first = performance.now();
    let since = first;
    const later = (): void => {
      if (pending.get(uri) !== token) return;
      const open = documents.get(uri);
      const now = performance.now();
      if (open && slow(open) && !tooLong(open.doc) && now - first < MAX_UNCHECKED_MS) {
        const quiet = Math.min(QUIET_MS.max, Math.max(QUIET_MS.min, open.checkMs / 2));
        const wait = Math.min(open.changedAt + quiet - now, first + MAX_UNCHECKED_MS - now);
        if (wait > 0) {
          setTimeout(() => {
            since = performance.now();
            later();
          }, wait);
          return;
        }
      }
      if (reader.backlog > 0 && now - since < MAX_DEFER_MS) setImmediate(later);
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
      const doc = TextDocument.create(uri, typeof languageId === "string" ? languageId : "nn", version, text);
      // A second didOpen is the document's new text; what was known of the old one may still answer requests.
      const open = documents.get(uri);
      if (open) {
        open.doc = doc;
        open.edits++;
        open.changedAt = performance.now();
        if (tooLong(doc)) open.analysis = open.view = undefined;
      } else documents.set(uri, { doc, edits: 1, analysedEdits: 0, viewEdits: 0, checkMs: 0, changedAt: performance.now() });
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
      open.changedAt = performance.now();
      // Nothing is answered from the analysis of a document grown too long to check: let it go.
      if (tooLong(open.doc)) open.analysis = open.view = undefined;
      publish(uri);
    }),
  );
  connection.onDidCloseTextDocument(
    guard("didClose", undefined, (p) => {
      const problem = documentProblem(p);
      if (problem) return dropped("textDocument/didClose", problem);
      const uri = p.textDocument.uri;
      if (!documents.delete(uri)) return dropped("textDocument/didClose", `${uri} is not open`);
      pending.delete(uri);
      void connection.sendDiagnostics({ uri, diagnostics: [] });
    }),
  );

  // Requests read a view (see viewOf): offsets of the current text go to the analysed text
  // through `toAnalysed`, and ranges of the answer come back through `range`, which leaves
  // out what lies in text edited since the analysis.
  connection.onHover(
    guard("hover", null, (p) => {
      requireParams("textDocument/hover", p, { position: true });
      const v = viewOf(p.textDocument.uri);
      const offset = v && v.view.toAnalysed(v.doc.offsetAt(p.position));
      if (!v || offset === undefined) return null;
      const h = hover(v.view.analysis, offset);
      // (From a stale analysis: nothing that reaches into lines edited since.)
      const range = h && v.view.range(h.range);
      return h && range ? { contents: { kind: MarkupKind.Markdown, value: h.markdown }, range } : null;
    }),
  );

  connection.onCompletion(
    guard("completion", [], (p) => {
      requireParams("textDocument/completion", p, { position: true });
      const v = viewOf(p.textDocument.uri);
      if (!v) return [];
      // The context comes from the current text; the names of models and blocks from the analysis.
      return complete(v.doc.getText(), v.view.analysis.result.ast.declarations, v.doc.offsetAt(p.position), { snippets });
    }),
  );

  /** The occurrences of the name at a position that pass `test`, as locations in the current text. */
  function sameName(uri: string, position: Position, test: (o: Occurrence) => boolean): Location[] | undefined {
    const v = viewOf(uri);
    const offset = v && v.view.toAnalysed(v.doc.offsetAt(position));
    if (!v || offset === undefined) return undefined;
    const occ = occurrenceAt(v.view.analysis, offset);
    if (!occ) return undefined;
    const out: Location[] = [];
    for (const o of v.view.analysis.occurrences) {
      if (o.key !== occ.key || !test(o)) continue;
      const range = v.view.range(o.range);
      if (range) out.push({ uri: v.doc.uri, range });
    }
    return out;
  }

  connection.onDefinition(
    guard("definition", null, (p): Location[] | null => {
      requireParams("textDocument/definition", p, { position: true });
      const defs = sameName(p.textDocument.uri, p.position, (o) => o.declaration);
      return defs && defs.length > 0 ? defs : null;
    }),
  );

  connection.onReferences(
    guard("references", [], (p): Location[] => {
      requireParams("textDocument/references", p, { position: true });
      return sameName(p.textDocument.uri, p.position, (o) => p.context?.includeDeclaration === true || !o.declaration) ?? [];
    }),
  );

  connection.onDocumentSymbol(
    guard("documentSymbol", [], (p) => {
      requireParams("textDocument/documentSymbol", p);
      const v = viewOf(p.textDocument.uri);
      return v ? outline(v.view.analysis, v.view.range) : [];
    }),
  );

  connection.languages.inlayHint.on(
    guard("inlayHint", [], (p) => {
      requireParams("textDocument/inlayHint", p, { range: true });
      const v = viewOf(p.textDocument.uri);
      if (!v) return [];
      const a = v.view.analysis;
      const within = a.result.lines.range(v.view.toAnalysedClamped(v.doc.offsetAt(p.range.start), "start"), v.view.toAnalysedClamped(v.doc.offsetAt(p.range.end), "end"));
      const out: InlayHint[] = [];
      for (const h of shapeHints(a, within)) {
        const position = v.view.position(h.at);
        if (position) out.push({ position, label: h.label, kind: InlayHintKind.Type, tooltip: h.tooltip });
      }
      return out;
    }),
  );

  connection.onCodeAction(
    guard("codeAction", [], (p) => {
      requireParams("textDocument/codeAction", p, { range: true });
      const v = viewOf(p.textDocument.uri);
      const only: unknown = p.context?.only;
      return v ? quickFixes(v.view.analysis, p.textDocument.uri, p.range, Array.isArray(only) ? only.filter((k): k is string => typeof k === "string") : undefined, v.view.range) : [];
    }),
  );

  connection.onDocumentFormatting(
    guard("formatting", null, (p) => {
      requireParams("textDocument/formatting", p);
      const open = documents.get(p.textDocument.uri);
      if (!open || tooLong(open.doc)) return null;
      // The formatter leaves a text with a syntax error (NN1xxx) as it is, after parsing it
      // again (seconds for a megabyte): the analysis of this very text already knows.
      if (open.analysis && open.analysedEdits === open.edits && open.analysis.result.diagnostics.some((d) => d.severity === "error" && d.code.startsWith("NN1"))) return [];
      if (open.doc.getText().length >= COLLECT_BEFORE_LENGTH) collectGarbage();
      return formatEdits(open.doc.getText());
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
