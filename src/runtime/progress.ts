/**
 * Training progress: on a terminal, one line per epoch redrawn in place with a bar, the
 * running loss and accuracy and the time left; elsewhere (or with --log-json) one JSON line
 * per epoch on stdout, for tools (messages go to stderr).
 */
import type { EpochRecord } from "./train.js";

export interface ProgressOptions {
  json: boolean;
  write: (line: string) => void;
  epochs: number;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${String(Math.round(seconds - m * 60)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export class Progress {
  private epochStart = performance.now();
  private lastDraw = 0;
  private readonly tty: boolean;

  constructor(private readonly opts: ProgressOptions) {
    this.tty = !opts.json && process.stderr.isTTY === true;
  }

  batch(epoch: number, done: number, total: number, loss: number, acc?: number): void {
    if (done === 1) this.epochStart = performance.now();
    if (!this.tty) return;
    const now = performance.now();
    if (now - this.lastDraw < 100 && done < total) return;
    this.lastDraw = now;
    const width = 24;
    const filled = Math.round((done / total) * width);
    const elapsed = (now - this.epochStart) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
    const line = `epoch ${epoch + 1}/${this.opts.epochs} [${"=".repeat(filled)}${filled < width ? ">" : ""}${" ".repeat(Math.max(0, width - filled - 1))}] ${done}/${total} loss ${loss.toFixed(4)}${acc !== undefined ? ` acc ${(acc * 100).toFixed(1)}%` : ""} ETA ${duration(eta)}`;
    process.stderr.write(`\r${line}\u001b[K`);
  }

  epoch(r: EpochRecord): void {
    if (!this.tty) {
      // Machine-readable: one JSON object per line on stdout, for `| jq` and friends.
      process.stdout.write(JSON.stringify(r) + "\n");
      return;
    }
    const parts = [`epoch ${r.epoch}/${this.opts.epochs}`, `loss ${r.loss.toFixed(4)}`];
    if (r.acc !== undefined) parts.push(`acc ${(r.acc * 100).toFixed(2)}%`);
    if (r.val_loss !== undefined) parts.push(`val_loss ${r.val_loss.toFixed(4)}`);
    if (r.val_acc !== undefined) parts.push(`val_acc ${(r.val_acc * 100).toFixed(2)}%`);
    parts.push(`lr ${r.lr.toPrecision(3)}`, duration(r.seconds));
    process.stderr.write(`\r${parts.join("  ")}\u001b[K\n`);
  }
}
