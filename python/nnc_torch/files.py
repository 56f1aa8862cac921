"""The run folder's files, as the TS engine writes them (src/runtime/io.ts, run-folder.ts).

Atomic writes: a file is written to a temporary name beside it (`.<name>.<pid>.<8 hex>.tmp`),
flushed and renamed over the old one; a folder (checkpoint/, best/) is written whole under
`.<name>.tmp-<pid>-<hex>` and swapped in, the old copy kept as `.<name>.old` until the new one
is in place. The same temporary names as the TS engine, so either engine clears what a killed
run of the other left.

The run folder: `nnc-run.json` marks a folder as an nnc run, whose model.json, weights.bin,
history.json, normalizer.json, data.json, checkpoint/ and best/ a new run may replace.
`check_run_folder` refuses, before anything is written, a folder holding those names without
the marker, a checkpoint/ or best/ holding files nnc never writes there, or a name taken by the
wrong kind of entry — unless `force`.
"""
import json
import os
import re
import secrets
import shutil

MODEL_JSON = "model.json"
WEIGHTS_BIN = "weights.bin"
RUN_MARKER = "nnc-run.json"
HISTORY_JSON = "history.json"
NORMALIZER_JSON = "normalizer.json"
DATA_JSON = "data.json"
BEST_JSON = "best.json"
STATE_JSON = "state.json"
OPTIMIZER_BIN = "optimizer.bin"
EARLY_STOP_BIN = "early-stop.bin"
TORCH_STATE = "torch-state.pt"
CHECKPOINT_DIR = "checkpoint"
BEST_DIR = "best"

RUN_FILES = [MODEL_JSON, WEIGHTS_BIN, HISTORY_JSON, NORMALIZER_JSON, DATA_JSON, RUN_MARKER]
# What either engine writes into each folder it replaces whole (the TS engine's files, and the
# PyTorch engine's torch state), so that neither refuses the other's run folder.
RUN_DIRS = {
    CHECKPOINT_DIR: [MODEL_JSON, WEIGHTS_BIN, OPTIMIZER_BIN, EARLY_STOP_BIN, STATE_JSON, TORCH_STATE],
    BEST_DIR: [MODEL_JSON, WEIGHTS_BIN, BEST_JSON],
}


class RunFolderError(Exception):
    """A run folder that must not be written into: the message says why and what to do."""


def path_text(path):
    """A path for a message: relative to the working folder when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path)


def _sync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_name(path):
    d, b = os.path.split(path)
    return os.path.join(d, ".%s.%d.%s.tmp" % (b, os.getpid(), secrets.token_hex(4)))


def write_files_atomic(files):
    """Writes [(path, bytes|str)] so that each file is its old or its new content, never a part."""
    temps = []
    try:
        for path, data in files:
            temp = _temp_name(path)
            with open(temp, "xb") as f:
                temps.append(temp)
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
                f.flush()
                os.fsync(f.fileno())
        for (path, _), temp in zip(files, temps):
            os.replace(temp, path)
    except BaseException:
        for t in temps:
            try:
                os.unlink(t)
            except OSError:
                pass
        raise
    for d in {os.path.dirname(os.path.abspath(p)) for p, _ in files}:
        _sync_dir(d)


def js_value(value):
    """`value` as JSON.stringify sees it: NaN and infinities become null, whole floats stay floats."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {k: js_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [js_value(v) for v in value]
    return value


def json_text(value, indent=2):
    """`JSON.stringify(value, null, indent)` plus a newline."""
    return json.dumps(js_value(value), indent=indent, allow_nan=False, ensure_ascii=False) + "\n"


def write_json_atomic(path, value):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_files_atomic([(path, json_text(value))])


def _previous_dir(path):
    d, b = os.path.split(os.path.abspath(path))
    return os.path.join(d, ".%s.old" % b)


def _discard_dir(path):
    if not os.path.exists(path):
        return
    d, b = os.path.split(path)
    name = re.sub(r"\.old$", "", b.lstrip("."))
    trash = os.path.join(d, ".%s.tmp-%d-%s" % (name, os.getpid(), secrets.token_hex(4)))
    os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def replace_dir_atomic(path, files):
    """Writes the folder `path` whole from [(name, bytes|str)] and swaps it in (see the module's comment)."""
    path = os.path.abspath(path)
    parent, base = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    temp = os.path.join(parent, ".%s.tmp-%d-%s" % (base, os.getpid(), secrets.token_hex(4)))
    os.mkdir(temp)
    try:
        for name, data in files:
            if name != os.path.basename(name) or not name or name.startswith("."):
                raise ValueError("replace_dir_atomic: bad file name %r" % name)
            with open(os.path.join(temp, name), "xb") as f:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
                f.flush()
                os.fsync(f.fileno())
        _sync_dir(temp)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    old = _previous_dir(path)
    if os.path.exists(path):
        _discard_dir(old)
        os.rename(path, old)
    os.rename(temp, path)
    _sync_dir(parent)
    _discard_dir(old)


def complete_dir(path):
    """`path`, or the complete copy a crash during replace_dir_atomic left beside it, or None."""
    if os.path.exists(path):
        return path
    old = _previous_dir(path)
    return old if os.path.exists(old) else None


_TEMP_FILE = re.compile(r"^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$")
_TEMP_DIR = re.compile(r"^\.(.+)\.tmp-(\d+)-[0-9a-f]+$")


def _alive(pid):
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
        return True
    except PermissionError:
        return True
    except OSError:
        return False


def remove_stale_temporaries(parent, files=RUN_FILES, dirs=tuple(RUN_DIRS)):
    """Removes what killed runs left in `parent` (only nnc's exact temporary names); returns them."""
    try:
        entries = os.listdir(parent)
    except OSError:
        return []
    removed = []
    for entry in sorted(entries):
        f = _TEMP_FILE.match(entry)
        d = _TEMP_DIR.match(entry)
        stale = (
            (f is not None and f.group(1) in files and not _alive(int(f.group(2))))
            or (d is not None and d.group(1) in dirs and not _alive(int(d.group(2))))
            or any(entry == ".%s.old" % x and os.path.exists(os.path.join(parent, x)) for x in dirs)
        )
        if not stale:
            continue
        p = os.path.join(parent, entry)
        if os.path.isdir(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            try:
                os.unlink(p)
            except OSError:
                pass
        removed.append(entry)
    return removed


def _nnc_names(entries):
    dirs = list(RUN_DIRS)
    out = []
    for e in entries:
        if e in RUN_FILES or e in dirs:
            out.append(e)
        elif any(e == ".%s.old" % d or re.match(r"^\.%s\.tmp-\d+-[0-9a-f]+$" % re.escape(d), e) for d in dirs):
            out.append(e)
        elif any(e.startswith(".%s." % f) and re.search(r"\.\d+\.[0-9a-f]{8}\.tmp$", e) for f in RUN_FILES):
            out.append(e)
    return out


def _listed(names):
    shown = ", ".join(n[:60] for n in names[:4])
    return shown + (" and %d more" % (len(names) - 4) if len(names) > 4 else "")


def _marked(path):
    try:
        with open(os.path.join(path, RUN_MARKER), encoding="utf-8") as f:
            v = json.load(f)
        return isinstance(v, dict) and v.get("format") == "nnc-run" and v.get("version") == 1 and isinstance(v.get("model"), str) and len(v["model"]) > 0
    except (OSError, ValueError):
        return False


def check_run_folder(path, force=False, resumed_run=None):
    """Checks, reading only, that a run may write into `path`; raises RunFolderError saying what is in the way."""
    shown = path_text(path)

    def force_hint(n):
        return " Choose another folder with --out, or pass --force to replace %s." % ("it" if n == 1 else "them")

    if not os.path.exists(path):
        if os.path.lexists(path):
            raise RunFolderError("Cannot use the output folder %s: it is a broken link." % shown)
        up = os.path.dirname(os.path.abspath(path))
        while not os.path.exists(up) and os.path.dirname(up) != up:
            up = os.path.dirname(up)
        if not os.path.isdir(up):
            raise RunFolderError("Cannot make the output folder %s: %s is a file, not a folder." % (shown, path_text(up)))
        return
    if not os.path.isdir(path):
        raise RunFolderError("The output folder %s is a file, not a folder. Choose another folder with --out." % shown)
    try:
        entries = os.listdir(path)
    except OSError as e:
        raise RunFolderError("Cannot read the output folder %s: %s." % (shown, e.strerror or e))
    if not entries or force:
        return
    ours = (resumed_run is not None and os.path.abspath(resumed_run) == os.path.abspath(path)) or _marked(path)
    taken = _nnc_names(entries)
    if not ours:
        if not taken:
            return
        note = " (its %s is damaged)" % RUN_MARKER if RUN_MARKER in entries else " (it has no %s)" % RUN_MARKER
        raise RunFolderError(
            "The output folder %s already holds %s, which nnc did not write%s: training there would replace %s.%s"
            % (shown, _listed(taken), note, "it" if len(taken) == 1 else "them", force_hint(len(taken)))
        )
    wrong, foreign = [], []
    for name in taken:
        p = os.path.join(path, name)
        if not os.path.exists(p):
            continue
        folder = os.path.isdir(p)
        if name in RUN_DIRS:
            if not folder:
                wrong.append("%s (a file, where nnc writes a folder)" % name)
            else:
                foreign += ["%s/%s" % (name, f) for f in sorted(os.listdir(p)) if f not in RUN_DIRS[name]]
        elif name in RUN_FILES and folder:
            wrong.append("%s (a folder, where nnc writes a file)" % name)
    if wrong:
        raise RunFolderError("The run folder %s holds %s: training there would replace %s.%s" % (shown, _listed(wrong), "it" if len(wrong) == 1 else "them", force_hint(len(wrong))))
    if foreign:
        one = len(foreign) == 1
        raise RunFolderError(
            "The run folder %s holds %s, which nnc did not write: each new checkpoint replaces the folder whole, so %s would be deleted. Move %s away, or pass --force."
            % (shown, _listed(foreign), "it" if one else "they", "it" if one else "them")
        )


def mark_run_folder(path, model):
    """Marks `path` (which exists) as an nnc run folder of `model`, unless it is marked already."""
    if _marked(path):
        return
    write_json_atomic(os.path.join(path, RUN_MARKER), {"format": "nnc-run", "version": 1, "model": model})


def sha256_file(data):
    import hashlib

    return hashlib.sha256(data).hexdigest()
