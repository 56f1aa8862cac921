/**
 * The server's end of the wire: `Content-Length` framing and JSON-RPC message checks, in
 * place of vscode-jsonrpc's stream reader, which a client's mistake can wedge for good.
 * Its reader takes the header block to the first blank line as it comes, so a stray byte
 * before a header (`xContent-Length: 52`) makes every later header start with the previous
 * body, and none of them is read again; a negative Content-Length corrupts its buffer; a
 * message that is not a request, response or notification is logged and never answered.
 *
 * This reader resynchronises instead. A header block it cannot read is logged and skipped
 * to the next `Content-Length:`; a body that is not JSON, or JSON that is not a JSON-RPC 2.0
 * message, is answered with the JSON-RPC error for it (Parse error, Invalid Request, with
 * the request's id when it has a usable one, else null). A body declared longer than what
 * follows is cut where the next frame's header starts: raw CR LF cannot occur inside a JSON
 * string, so `Content-Length: N` CR LF inside a body means the body is not what its header
 * said. (A declared length with no later frame to show it wrong waits for its bytes, as any
 * framed reader must.)
 *
 * It also holds the LSP's shutdown rule: after a `shutdown` request, requests are answered
 * with InvalidRequest and notifications other than `exit` are dropped.
 *
 * Messages go to the connection one per macrotask, and `backlog` says how many are still
 * waiting, so the server can check a document once after a burst of changes rather than
 * once per change.
 */
import { AbstractMessageReader, ErrorCodes, StreamMessageWriter, type DataCallback, type Disposable, type Message, type MessageWriter } from "vscode-languageserver/node";

/** A header block longer than this is garbage (real ones are under 100 bytes). */
const MAX_HEADER_BYTES = 8 * 1024;
/** A declared body longer than this is refused: it would only exhaust memory. */
export const MAX_CONTENT_LENGTH = 256 * 1024 * 1024;

const HEADER_END = Buffer.from("\r\n\r\n", "latin1");
const CONTENT_LENGTH = Buffer.from("Content-Length:", "latin1");
/** A frame's header, as found inside a body that ran on past its message. */
const FRAME_START = /^Content-Length:[ \t]*\d+[ \t]*\r\n/;
/** How far back a search for that header starts again when more bytes come. */
const FRAME_START_OVERLAP = 64;

type Id = number | string | null;

/** Bytes as they arrive, kept as chunks so a large body is copied once. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
  }

  /** Bytes [from, to) as one buffer. */
  slice(from: number, to: number = this.length): Buffer {
    const parts: Buffer[] = [];
    let at = 0;
    for (const c of this.chunks) {
      const end = at + c.length;
      if (end > from && at < to) parts.push(c.subarray(Math.max(0, from - at), Math.min(c.length, to - at)));
      if (end >= to) break;
      at = end;
    }
    if (parts.length === 1) return parts[0]!;
    const joined = Buffer.concat(parts);
    // Keep a merged prefix merged: the header search reads from the start again and again.
    if (from === 0 && to === this.length) this.chunks = [joined];
    return joined;
  }

  drop(n: number): void {
    let left = Math.min(n, this.length);
    this.length -= left;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        this.chunks.shift();
        left -= c.length;
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
  }

  take(n: number): Buffer {
    const out = Buffer.from(this.slice(0, n));
    this.drop(n);
    return out;
  }
}

export interface TransportOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  log: (line: string) => void;
}

export interface Transport {
  reader: FramedReader;
  writer: MessageWriter;
}

export function createTransport(opts: TransportOptions): Transport {
  const writer = new StreamMessageWriter(opts.output);
  const reader = new FramedReader(opts.input, writer, opts.log);
  return { reader, writer };
}

export class FramedReader extends AbstractMessageReader {
  private readonly bytes = new ByteQueue();
  /** The body length of the frame being read, or -1 while reading a header. */
  private bodyLength = -1;
  /** How many bytes of that body have been searched for a following frame. */
  private searched = 0;
  private readonly queue: Message[] = [];
  private draining = false;
  private callback: DataCallback | undefined;
  private shutDown = false;
  /** Bytes skipped since the last good header. */
  private skipped = 0;

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly writer: MessageWriter,
    private readonly log: (line: string) => void,
  ) {
    super();
  }

  /** Messages read but not yet handed to the connection. */
  get backlog(): number {
    return this.queue.length;
  }

  /** Has a `shutdown` request come? */
  get shutdownReceived(): boolean {
    return this.shutDown;
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (d: Buffer | string): void => this.onData(typeof d === "string" ? Buffer.from(d, "utf8") : d);
    const onError = (e: Error): void => this.fireError(e);
    const onClose = (): void => this.fireClose();
    this.input.on("data", onData);
    this.input.on("error", onError);
    this.input.on("end", onClose);
    this.input.on("close", onClose);
    return {
      dispose: () => {
        this.input.off("data", onData);
        this.input.off("error", onError);
        this.input.off("end", onClose);
        this.input.off("close", onClose);
      },
    };
  }

  private onData(chunk: Buffer): void {
    this.bytes.push(chunk);
    try {
      this.readFrames();
    } catch (e) {
      // A bug here must not take the session down: drop what is buffered and read on.
      this.log(`nnc lsp: internal error reading messages (a bug in nnc): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      this.bytes.drop(this.bytes.length);
      this.bodyLength = -1;
    }
  }

  private readFrames(): void {
    for (;;) {
      if (this.bodyLength < 0) {
        if (!this.readHeader()) return;
        continue;
      }
      // Does the body, as far as it came (and a little past its end), hold the next frame's
      // header? Then the declared length was wrong: the message ends there.
      const end = Math.min(this.bytes.length, this.bodyLength + FRAME_START_OVERLAP);
      if (end > this.searched) {
        const from = Math.max(0, this.searched - FRAME_START_OVERLAP);
        const at = frameStartIn(this.bytes.slice(from, end));
        this.searched = end;
        if (at >= 0 && from + at < this.bodyLength) {
          const body = this.bytes.take(from + at);
          this.log(`nnc lsp: a message declared ${this.bodyLength} bytes but the next message began after ${body.length}; reading that one.`);
          this.bodyLength = -1;
          this.decode(body);
          continue;
        }
      }
      if (this.bytes.length < this.bodyLength) return;
      const body = this.bytes.take(this.bodyLength);
      this.bodyLength = -1;
      this.decode(body);
    }
  }

  /** Reads one header block; false when more bytes are needed. */
  private readHeader(): boolean {
    const head = this.bytes.slice(0, Math.min(this.bytes.length, MAX_HEADER_BYTES + HEADER_END.length));
    const end = head.indexOf(HEADER_END);
    if (end < 0) {
      if (head.length <= MAX_HEADER_BYTES) {
        // Garbage before a header: skip to the header once it is in sight.
        const at = head.indexOf(CONTENT_LENGTH);
        if (at > 0) this.skip(at, head);
        return false;
      }
      const at = head.indexOf(CONTENT_LENGTH, 1);
      this.skip(at > 0 ? at : head.length - CONTENT_LENGTH.length, head);
      return true;
    }
    const block = head.subarray(0, end).toString("latin1");
    const length = contentLength(block);
    if (typeof length === "number") {
      if (this.skipped > 0) this.log(`nnc lsp: skipped ${this.skipped} bytes in all; reading messages again.`);
      this.skipped = 0;
      this.bytes.drop(end + HEADER_END.length);
      this.bodyLength = length;
      this.searched = 0;
      return true;
    }
    // Unreadable: perhaps a real header follows garbage in the same block.
    const at = block.search(/Content-Length:/i);
    const last = block.lastIndexOf("Content-Length:");
    const resume = last > 0 ? last : at > 0 ? at : -1;
    if (resume > 0) this.skip(resume, head, length.problem);
    else this.skip(end + HEADER_END.length, head, length.problem);
    return true;
  }

  /**
   * Drops `n` bytes that are no message. The first skip of a run is logged with what it
   * saw, the run's total when a header is read again. If the bytes are a request whose
   * header was unreadable, the request is answered with InvalidRequest.
   */
  private skip(n: number, head: Buffer, problem = "bytes that are not a message header"): void {
    const skipped = head.subarray(0, n).toString("latin1");
    if (this.skipped === 0) {
      const excerpt = JSON.stringify(skipped.slice(0, 60));
      this.log(`nnc lsp: skipping input that is not a message: ${problem} (${excerpt}${n > 60 ? "…" : ""}).`);
    }
    this.skipped += n;
    this.bytes.drop(n);
    const id = requestIdOf(head.subarray(0, n).toString("utf8"));
    if (id !== undefined) this.reject(id, ErrorCodes.InvalidRequest, "Invalid Request: the request came without a usable Content-Length header.");
  }

  private decode(body: Buffer): void {
    let message: unknown;
    try {
      message = JSON.parse(body.toString("utf8"));
    } catch (e) {
      this.reject(null, ErrorCodes.ParseError, `Parse error: the message body is not JSON (${e instanceof Error ? e.message : String(e)}).`);
      return;
    }
    this.accept(message);
  }

  /** Checks a message against JSON-RPC 2.0 and the shutdown rule; queues it or answers it. */
  private accept(m: unknown): void {
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      this.reject(null, ErrorCodes.InvalidRequest, `Invalid Request: a message must be a JSON object, not ${Array.isArray(m) ? "an array (batches are not part of LSP)" : m === null ? "null" : `a ${typeof m}`}.`);
      return;
    }
    const msg = m as Record<string, unknown>;
    // `"params": null` is not JSON-RPC, but clients send it for `exit` and `shutdown`: no params.
    if (msg["params"] === null) delete msg["params"];
    const id = msg["id"];
    const usableId: Id = typeof id === "number" || typeof id === "string" ? id : null;
    const method = msg["method"];
    const kind = "method" in msg ? ("id" in msg ? "request" : "notification") : (typeof id === "number" || typeof id === "string") && ("result" in msg || "error" in msg) ? "response" : undefined;
    if (kind === undefined) {
      this.reject(usableId, ErrorCodes.InvalidRequest, "Invalid Request: a message needs a `method` (request or notification) or an `id` with a `result` or `error` (response).");
      return;
    }
    const isRequest = kind === "request";
    if (msg["jsonrpc"] !== "2.0") {
      const version = JSON.stringify(msg["jsonrpc"]) ?? "missing";
      if (isRequest) this.reject(usableId, ErrorCodes.InvalidRequest, `Invalid Request: "jsonrpc" must be "2.0", not ${version}.`);
      else this.log(`nnc lsp: dropped a ${kind} whose "jsonrpc" is ${version}, not "2.0".`);
      return;
    }
    if (kind === "response") {
      // To a request of ours (the connection matches it).
      this.enqueue(msg as unknown as Message);
      return;
    }
    if (typeof method !== "string") {
      if (isRequest) this.reject(usableId, ErrorCodes.InvalidRequest, "Invalid Request: `method` must be a string.");
      else this.log("nnc lsp: dropped a notification whose method is not a string.");
      return;
    }
    if (isRequest && usableId === null) {
      this.reject(null, ErrorCodes.InvalidRequest, `Invalid Request: the id of a ${method} request must be a number or a string, not ${JSON.stringify(id)}.`);
      return;
    }
    const params = msg["params"];
    if (params !== undefined && typeof params !== "object") {
      if (isRequest) this.reject(usableId, ErrorCodes.InvalidParams, `Invalid params: the params of ${method} must be an object or an array.`);
      else this.log(`nnc lsp: dropped a ${method} notification whose params are not an object or an array.`);
      return;
    }
    if (this.shutDown) {
      if (isRequest) this.reject(usableId, ErrorCodes.InvalidRequest, `Invalid Request: the server is shut down and takes no more requests (${method}); send \`exit\`.`);
      else if (method === "exit") this.enqueue(msg as unknown as Message);
      return;
    }
    if (isRequest && method === "shutdown") this.shutDown = true;
    this.enqueue(msg as unknown as Message);
  }

  private reject(id: Id, code: number, message: string): void {
    this.log(`nnc lsp: answered ${id === null ? "a message" : `request ${JSON.stringify(id)}`} with error ${code}: ${message}`);
    void this.writer.write({ jsonrpc: "2.0", id, error: { code, message } } as Message).catch(() => undefined);
  }

  private enqueue(m: Message): void {
    this.queue.push(m);
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    const m = this.queue.shift();
    try {
      if (m !== undefined) this.callback?.(m);
    } catch (e) {
      this.log(`nnc lsp: internal error handing a message on (a bug in nnc): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    if (this.queue.length > 0) setImmediate(() => this.drain());
    else this.draining = false;
  }
}

/** The Content-Length of a header block, or why it has none we can use. */
function contentLength(block: string): number | { problem: string } {
  let length: number | undefined;
  for (const line of block.split("\r\n")) {
    const m = /^([A-Za-z0-9-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m) return { problem: "a header line that is not `Name: value`" };
    if (m[1]!.toLowerCase() !== "content-length") continue;
    if (!/^\d+$/.test(m[2]!)) return { problem: `a Content-Length that is not a non-negative integer (${JSON.stringify(m[2]!.slice(0, 20))})` };
    length = Number(m[2]);
    if (length > MAX_CONTENT_LENGTH) return { problem: `a Content-Length over ${MAX_CONTENT_LENGTH} bytes (${m[2]})` };
  }
  return length ?? { problem: "a header without Content-Length" };
}

/** The id of a request in `text`, if it is one: to answer it although its frame was broken. */
function requestIdOf(text: string): number | string | undefined {
  if (!text.trimStart().startsWith("{")) return undefined;
  try {
    const m: unknown = JSON.parse(text);
    if (typeof m !== "object" || m === null || !("method" in m) || !("id" in m)) return undefined;
    return typeof m.id === "number" || typeof m.id === "string" ? m.id : undefined;
  } catch {
    return undefined;
  }
}

/** Where a frame header starts in `b`, or -1. */
function frameStartIn(b: Buffer): number {
  for (let at = b.indexOf(CONTENT_LENGTH); at >= 0; at = b.indexOf(CONTENT_LENGTH, at + 1)) {
    if (FRAME_START.test(b.subarray(at, at + 40).toString("latin1"))) return at;
  }
  return -1;
}
