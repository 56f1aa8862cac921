/**
 * A small LSP client for tests: spawns the built server (`node dist/nnc.mjs lsp --stdio`)
 * and speaks JSON-RPC to it with a hand-written Content-Length framer, so a test sees
 * exactly the bytes an editor would.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";
import type { Position, Range } from "vscode-languageserver/node";

export type { Position, Range };

export const CLI = join(import.meta.dirname, "..", "dist", "nnc.mjs");

export const pos = (line: number, character: number): Position => ({ line, character });
export const range = (l1: number, c1: number, l2: number, c2: number): Range => ({ start: pos(l1, c1), end: pos(l2, c2) });

/** A small CNN spec that checks clean. */
export const CNN = ["model mnist {", "  input 28x28x1", "  conv 5x5x32 relu same -> pool 2", "  flatten -> dense 10 softmax", "}", ""].join("\n");

export interface RpcError {
  code: number;
  message: string;
}
export interface Response {
  id: number | string | null;
  result?: unknown;
  error?: RpcError;
}
export interface Notification {
  method: string;
  params: unknown;
}

export class LspClient {
  readonly proc: ChildProcessWithoutNullStreams;
  stderr = "";
  private buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number | string, (r: Response) => void>();
  /** Responses that answer no request of ours: id null, or an id we did not send. */
  readonly unmatched: Response[] = [];
  private unmatchedWaiters: { test: (r: Response) => boolean; resolve: (r: Response) => void }[] = [];
  readonly notifications: Notification[] = [];
  private waiters: { test: (n: Notification) => boolean; resolve: (n: Notification) => void }[] = [];
  readonly exited: Promise<number | null>;

  constructor(args: string[] = ["lsp", "--stdio"]) {
    this.proc = spawn(process.execPath, [CLI, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stderr.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.proc.stdout.on("data", (d: Buffer) => this.onData(d));
    this.exited = new Promise((resolve) => this.proc.on("exit", (code) => resolve(code)));
  }

  private onData(d: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, d]);
    for (;;) {
      const headerEnd = this.buffer.indexOf("\r\n\r\n");
      if (headerEnd < 0) return;
      const header = this.buffer.subarray(0, headerEnd).toString("ascii");
      const m = /Content-Length: (\d+)/i.exec(header);
      if (!m) throw new Error(`bad header: ${header}`);
      const length = Number(m[1]);
      if (this.buffer.length < headerEnd + 4 + length) return;
      const body = this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString("utf8");
      this.buffer = this.buffer.subarray(headerEnd + 4 + length);
      this.dispatch(JSON.parse(body) as { id?: number | string | null; method?: string; params?: unknown; result?: unknown; error?: RpcError });
    }
  }

  private dispatch(msg: { id?: number | string | null; method?: string; params?: unknown; result?: unknown; error?: RpcError }): void {
    if (msg.method !== undefined && msg.id !== undefined) {
      // A request from the server (e.g. client/registerCapability): accept it.
      this.write({ jsonrpc: "2.0", id: msg.id, result: null });
      return;
    }
    if (msg.method !== undefined) {
      const n: Notification = { method: msg.method, params: msg.params };
      this.notifications.push(n);
      const w = this.waiters.find((x) => x.test(n));
      if (w) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(n);
      }
      return;
    }
    if (msg.id !== undefined) {
      const resolve = msg.id === null ? undefined : this.pending.get(msg.id);
      if (msg.id !== null) this.pending.delete(msg.id);
      const r: Response = { id: msg.id };
      if ("result" in msg) r.result = msg.result;
      if (msg.error) r.error = msg.error;
      if (resolve) return resolve(r);
      this.unmatched.push(r);
      const w = this.unmatchedWaiters.find((x) => x.test(r));
      if (w) {
        this.unmatchedWaiters = this.unmatchedWaiters.filter((x) => x !== w);
        w.resolve(r);
      }
    }
  }

  /** Writes bytes as they are, framing or not. */
  writeRaw(bytes: Buffer | string): void {
    this.proc.stdin.write(bytes);
  }

  /** Writes `msg` as it is (in a proper frame) and waits for the response with its id. */
  send(msg: { id: number | string } & Record<string, unknown>): Promise<Response> {
    return new Promise((resolve) => {
      this.pending.set(msg.id, resolve);
      this.write(msg);
    });
  }

  /** Waits for the response with `id` to a request written by other means (writeRaw). */
  responseTo(id: number | string): Promise<Response> {
    return new Promise((resolve) => this.pending.set(id, resolve));
  }

  /** The first unmatched response that passes `test`: one already received, or the next to come. */
  waitForUnmatched(test: (r: Response) => boolean, timeoutMs = 10_000): Promise<Response> {
    const seen = this.unmatched.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a response; server stderr:\n${this.stderr}`)), timeoutMs);
      this.unmatchedWaiters.push({
        test,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  }

  /**
   * Runs `send` (which writes something the server cannot answer by id) and gives the first
   * unmatched response after it that passes `test`.
   */
  unmatchedAfter(send: () => void, test: (r: Response) => boolean = () => true): Promise<Response> {
    const before = this.unmatched.length;
    send();
    return this.waitForUnmatched((r) => this.unmatched.indexOf(r) >= before && test(r));
  }

  write(msg: object): void {
    const body = Buffer.from(JSON.stringify(msg), "utf8");
    this.proc.stdin.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, "ascii"), body]));
  }

  request(method: string, params?: unknown): Promise<Response> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.write(params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params });
    });
  }

  /** The result of a request that must succeed. */
  async call<T>(method: string, params?: unknown): Promise<T> {
    const r = await this.request(method, params);
    if (r.error) throw new Error(`${method} failed: ${r.error.message}`);
    return r.result as T;
  }

  notify(method: string, params: unknown): void {
    this.write({ jsonrpc: "2.0", method, params });
  }

  /** The first notification that passes `test`: one already received, or the next to come. */
  waitFor(test: (n: Notification) => boolean, timeoutMs = 10_000): Promise<Notification> {
    const seen = this.notifications.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a notification; server stderr:\n${this.stderr}`)), timeoutMs);
      this.waiters.push({
        test,
        resolve: (n) => {
          clearTimeout(timer);
          resolve(n);
        },
      });
    });
  }

  kill(): void {
    this.proc.kill();
  }
}

export interface LspDiagnostic {
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  severity: number;
  code: string;
  source: string;
  message: string;
  relatedInformation?: { location: { uri: string; range: LspDiagnostic["range"] }; message: string }[];
}

export interface PublishParams {
  uri: string;
  version?: number;
  diagnostics: LspDiagnostic[];
}

/** Waits for the diagnostics of `uri` at `version`. */
export async function diagnosticsFor(client: LspClient, uri: string, version: number, timeoutMs = 10_000): Promise<LspDiagnostic[]> {
  const n = await client.waitFor((x) => x.method === "textDocument/publishDiagnostics" && (x.params as PublishParams).uri === uri && (x.params as PublishParams).version === version, timeoutMs);
  return (n.params as PublishParams).diagnostics;
}
