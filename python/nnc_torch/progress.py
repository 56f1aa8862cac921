"""Training progress, in the TS engine's formats (src/runtime/progress.ts): on a terminal, one line
per epoch redrawn in place on stderr with a bar, the running loss and accuracy and the time left;
elsewhere (or with --log-json) one JSON line per epoch on stdout, for tools. Only rank 0 of a
distributed run writes (`enabled`)."""
import json
import math
import sys
import time


def duration(seconds):
    if not math.isfinite(seconds):
        return "?"
    if seconds < 10:
        return "%.1fs" % seconds
    if seconds < 60:
        return "%.0fs" % seconds
    m = int(seconds // 60)
    if m < 60:
        return "%dm%02ds" % (m, round(seconds - m * 60))
    return "%dh%02dm" % (m // 60, m % 60)


def _fixed(x, digits):
    """JavaScript's toFixed (NaN as NaN)."""
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return "%.*f" % (digits, x)


def to_precision(x, p):
    """JavaScript's Number.prototype.toPrecision."""
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0." + "0" * (p - 1) if p > 1 else "0"
    e = int(math.floor(math.log10(abs(x))))
    # rounding may carry into the next power of ten
    r = float("%.*e" % (p - 1, x))
    e = int(math.floor(math.log10(abs(r))))
    if e < -6 or e >= p:
        mant, exp = ("%.*e" % (p - 1, x)).split("e")
        return "%se%s%d" % (mant, "+" if int(exp) >= 0 else "-", abs(int(exp)))
    return "%.*f" % (max(0, p - 1 - e), x)


def record_json(r):
    """JSON.stringify of an epoch record: keys in the record's order, no spaces, whole numbers without `.0`."""
    def num(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return json.dumps(v)
        if v != v or math.isinf(v):
            return "null"
        if isinstance(v, int) or (v.is_integer() and abs(v) < 1e21):
            return str(int(v))
        s = repr(float(v))
        if "e" in s:  # JavaScript writes 1e-7 as 1e-7, 1.5e+30 as 1.5e+30
            mant, exp = s.split("e")
            if -7 < int(exp) < 21:
                import decimal
                return format(decimal.Decimal(s), "f")
            s = "%se%s%d" % (mant, "+" if int(exp) >= 0 else "-", abs(int(exp)))
        return s
    return "{" + ",".join("%s:%s" % (json.dumps(k), num(v)) for k, v in r.items()) + "}"


class Progress:
    def __init__(self, json_lines, epochs, enabled=True, stdout=None, stderr=None):
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.epochs = epochs
        self.enabled = enabled
        isatty = getattr(self.stderr, "isatty", None)
        self.tty = (not json_lines) and bool(isatty and isatty())
        self.epoch_start = time.perf_counter()
        self.last_draw = 0.0

    def batch(self, epoch, done, total, loss, acc=None):
        if done == 1:
            self.epoch_start = time.perf_counter()
        if not self.enabled or not self.tty:
            return
        now = time.perf_counter()
        if (now - self.last_draw) * 1000 < 100 and done < total:
            return
        self.last_draw = now
        width = 24
        filled = int(math.floor(done / total * width + 0.5))
        elapsed = now - self.epoch_start
        eta = elapsed / done * (total - done) if done > 0 else float("nan")
        line = "epoch %d/%d [%s%s%s] %d/%d loss %s%s ETA %s" % (
            epoch + 1, self.epochs, "=" * filled, ">" if filled < width else "", " " * max(0, width - filled - 1),
            done, total, _fixed(loss, 4), " acc %s%%" % _fixed(acc * 100, 1) if acc is not None else "", duration(eta))
        self.stderr.write("\r%s\x1b[K" % line)
        self.stderr.flush()

    def epoch(self, r):
        if not self.enabled:
            return
        if not self.tty:
            self.stdout.write(record_json(r) + "\n")
            self.stdout.flush()
            return
        parts = ["epoch %d/%d" % (r["epoch"], self.epochs), "loss %s" % _fixed(r["loss"], 4)]
        if r.get("acc") is not None:
            parts.append("acc %s%%" % _fixed(r["acc"] * 100, 2))
        if r.get("val_loss") is not None:
            parts.append("val_loss %s" % _fixed(r["val_loss"], 4))
        if r.get("val_acc") is not None:
            parts.append("val_acc %s%%" % _fixed(r["val_acc"] * 100, 2))
        parts += ["lr %s" % to_precision(r["lr"], 3), duration(r["seconds"])]
        self.stderr.write("\r%s\x1b[K\n" % "  ".join(parts))
        self.stderr.flush()
