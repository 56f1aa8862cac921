"""NumPy sources, ``npy(…)`` and ``npz(…)``: a port of how src/runtime/data/numpy.ts turns arrays
into a dataset (shape rules, uint8 pixels scaled to [0, 1], labels, one-hot rows, regression
targets, per-pixel classes, the splits). The files are read with NumPy itself."""
from __future__ import annotations

import os
import zipfile
from typing import Any, Dict, List, Optional

import numpy as np

from .common import DataError, Dataset, Samples, closest_by_distance, count, describe_shape, js_string, plural, quote, resolve, same_shape, size_of, unit_pixels

FLOAT32_MAX = 3.4028234663852886e38
SUPPORTED = "bool, int8/16/32/64, uint8/16/32/64 and float16/32/64"
KEYS = {"train": ("x", "y"), "validation": ("validationX", "validationY"), "test": ("testX", "testY")}


def python_shape(shape) -> str:
    return f"({shape[0]},)" if len(shape) == 1 else f"({', '.join(str(int(d)) for d in shape)})"


def _entry(name: str, shape, flat: int) -> str:
    if len(shape) == 0:
        return f"{name}[()]"
    return f"{name}[{', '.join(str(int(i)) for i in np.unravel_index(flat, shape))}]"


class _Ref:
    def __init__(self, shown: str, file: str, name: str, offsets: bool):
        self.shown, self.file, self.name, self.offsets = shown, file, name, offsets


def _array_name(name: str) -> str:
    base = os.path.basename(name)
    return (base[:-4] if base.lower().endswith(".npy") else base) or "x"


def _read_npy(path: str, base_dir: str):
    file = resolve(base_dir, path)
    shown = js_string(path)
    if not os.path.exists(file):
        raise DataError(f"Cannot find the NumPy file {shown}: there is no {file}.", {"file": file})
    if os.path.isdir(file):
        raise DataError(f"The NumPy file {shown} is a folder, not a file ({file}).", {"file": file})
    ref = _Ref(shown, file, _array_name(path), True)
    with open(file, "rb") as f:
        head = f.read(6)
    if head != b"\x93NUMPY":
        hint = " It is a zip archive: an .npz file? Hint: read it with `npz(…)`." if head[:2] == b"PK" else ""
        found = "it is empty" if not head else "it starts with " + " ".join(f"{b:02x}" for b in head)
        raise DataError(f"{shown} is not a NumPy .npy file: {found}, where a .npy file starts with 93 4e 55 4d 50 59 (\"\\x93NUMPY\", as np.save writes it).{hint}", {"file": file, "offset": 0})
    return _load(lambda: np.load(file, allow_pickle=False), ref)


def _load(read, ref: _Ref) -> np.ndarray:
    try:
        a = read()
    except ValueError as e:
        raise DataError(f"{ref.shown} holds an array nnc cannot read ({e}); nnc reads numeric arrays: {SUPPORTED}. Hint: convert it first: np.save(path, x.astype(np.float32)).", {"file": ref.file}) from None
    if a.dtype.kind not in "biuf" or a.dtype.itemsize > 8 or a.dtype.fields is not None:
        raise DataError(f"{ref.shown} holds values of a type nnc does not know (dtype '{a.dtype.str}'); nnc reads numeric arrays: {SUPPORTED}. Hint: convert it first: np.save(path, x.astype(np.float32)).", {"file": ref.file})
    if a.dtype.kind in "iu" and a.dtype.itemsize == 8:
        big = np.nonzero(np.abs(a.astype(np.float64).reshape(-1)) >= 2**53)[0]
        if big.size:
            k = int(big[0])
            raise DataError(f"{ref.shown}: {_entry(ref.name, a.shape, k)} is {a.reshape(-1)[k]}, beyond what nnc holds exactly (2^53 = 9,007,199,254,740,992 in magnitude; the array is '{a.dtype.str}'). Are these IDs rather than numbers to learn from? Hint: convert them, e.g. x.astype(np.float32).", {"file": ref.file})
    return a


def _trim_ones(shape) -> List[int]:
    s = [int(d) for d in shape]
    a, b = 0, len(s)
    while a < b and s[a] == 1:
        a += 1
    while b > a and s[b - 1] == 1:
        b -= 1
    return s[a:b]


def _fits_input(sample, inp) -> bool:
    if same_shape(_trim_ones(sample), _trim_ones(inp)):
        return True
    return (len(sample) == 1 or len(inp) == 1) and size_of(sample) == size_of(inp)


def _input_shape_error(ref: _Ref, shape, inp) -> DataError:
    where = {"file": ref.file}
    if len(shape) == 0:
        return DataError(f"{ref.shown} holds a single value (shape ()), not an array of samples; the model takes {describe_shape(inp)} per sample.", where)
    sample = [int(d) for d in shape[1:]]
    n = int(shape[0])
    has = f"{plural(n, 'sample')} of one value each" if not sample else f"{plural(n, 'sample')} of {describe_shape(sample)}"
    if len(sample) == 3 and len(inp) == 3 and sample[0] == inp[2] and sample[1] == inp[0] and sample[2] == inp[1]:
        hint = " It looks channels-first (samples, channels, height, width); the model takes channels last. Hint: np.save(path, np.transpose(x, (0, 2, 3, 1)))."
    elif not sample:
        hint = " Is this the labels array (y) given as the inputs (x)?"
    elif size_of(sample) == size_of(inp):
        hint = f" The sizes agree but the axes do not. Hint: np.save(path, x.reshape(-1, {', '.join(map(str, inp))})), if that is what the values are."
    else:
        hint = f" Hint: give the model `input {'x'.join(map(str, sample))}`, or save arrays of the shape it takes."
    return DataError(f"{ref.shown} has shape {python_shape(shape)}: {has}, but the model takes {describe_shape(inp)}.{hint}", where)


def _short(v: float, a: np.ndarray) -> str:
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    if a.dtype in (np.float32, np.float16):
        return _js_number(float(f"{v:.7g}"))
    return _js_number(v)


def _js_number(v: float) -> str:
    """JavaScript's ``String(v)`` for common numbers."""
    if float(v).is_integer() and abs(v) < 1e21:
        return str(int(v))
    r = repr(float(v))
    return r.replace("e-0", "e-").replace("e+0", "e+") if "e" in r else r


def _input_values(a: np.ndarray, ref: _Ref) -> np.ndarray:
    if a.dtype == np.uint8:
        return unit_pixels(a)
    if a.dtype.kind == "f":
        flat = a.reshape(-1).astype(np.float64)
        bad = np.nonzero(~(np.abs(flat) <= FLOAT32_MAX))[0]
        if bad.size:
            k = int(bad[0])
            v = float(flat[k])
            what = "NaN" if v != v else (f"{v}, too large for a 32-bit float (at most about 3.4e38), so it would train as infinity" if np.isfinite(v) else f"{'' if v > 0 else 'minus '}infinity")
            hint = " Hint: rescale the array." if np.isfinite(v) else " Missing or infinite values cannot be trained on: drop the sample, or fill the value in (np.nan_to_num, or the feature's mean)."
            raise DataError(f"{ref.shown}: {_entry(ref.name, a.shape, k)} is {what}.{hint}", {"file": ref.file})
    if a.dtype.kind in "iu" and a.dtype.itemsize == 8:
        return a.astype(np.float64).astype(np.float32)
    return a.astype(np.float32)


def _class_labels(y: np.ndarray, ref: _Ref, classes: Optional[int]):
    n = y.shape[0]
    hint = " Hint: for regression targets, give the recipe loss mse or mae."
    rng = f"the model has {plural(classes, 'class', 'classes')} (0..{classes - 1})" if classes is not None else ""
    v = y.astype(np.float64)
    if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
        flat = v.reshape(-1)
        for k in range(n):
            x = float(flat[k])
            at = f"{ref.shown}: {_entry(ref.name, y.shape, k)}"
            if not (x == x and np.isfinite(x) and x.is_integer()):
                raise DataError(f"{at} is {_short(x, y)}, but class labels are whole numbers from 0.{hint}", {"file": ref.file})
            if x < 0:
                raise DataError(f"{at} is {_js_number(x)}: class labels are whole numbers from 0{f' ({rng})' if classes is not None else ''}.", {"file": ref.file})
            if classes is not None and x >= classes:
                raise DataError(f"{at} is {_js_number(x)}, out of range: {rng}.", {"file": ref.file})
        labels = flat.astype(np.int32)
        return labels, int(labels.max()) + 1 if n else 1
    if y.ndim == 2:
        c = y.shape[1]
        if classes is not None and c > classes:
            raise DataError(f"{ref.shown} has shape {python_shape(y.shape)}: one-hot rows of {plural(c, 'class', 'classes')}, but the model distinguishes only {classes}.", {"file": ref.file})
        ones = v == 1
        first = np.argmax(ones, axis=1)
        ok = ones.any(axis=1) & (((v == 0) | ones).all(axis=1)) & (ones.sum(axis=1) == 1)
        bad = np.nonzero(~ok)[0]
        if bad.size:
            k = int(bad[0])
            row = [_short(float(x), y) for x in v[k, :min(c, 12)]]
            raise DataError(f"{ref.shown}: row {ref.name}[{k}] is not one-hot: it is [{', '.join(row)}{', …' if c > 12 else ''}], where a one-hot row has a single 1 and zeros elsewhere. Labels shaped (n, C) are read as one-hot classes; class numbers are shaped (n,).{hint}", {"file": ref.file})
        return first.astype(np.int32), c
    raise _not_labels(ref, y.shape)


def _not_labels(ref: _Ref, shape) -> DataError:
    return DataError(f"{ref.shown} has shape {python_shape(shape)}, which is not class labels: they are shaped (n,) or (n, 1), one class number per sample, or (n, C), one-hot rows. Hint: for regression targets, give the recipe loss mse or mae.", {"file": ref.file})


def _regression_targets(y: np.ndarray, ref: _Ref, outputs: Optional[int]):
    k = size_of(y.shape[1:])
    if k == 0:
        raise DataError(f"{ref.shown} has shape {python_shape(y.shape)}: no targets per sample.", {"file": ref.file})
    if outputs is not None and k != outputs:
        raise DataError(f"{ref.shown} has shape {python_shape(y.shape)}: {plural(k, 'target')} per sample, but the model gives {plural(outputs, 'output')}. Hint: give the model's last layer {k} {'unit' if k == 1 else 'units'}, or save y with {outputs} per sample.", {"file": ref.file})
    flat = y.reshape(-1).astype(np.float64)
    bad = np.nonzero(~(np.abs(flat) <= FLOAT32_MAX))[0]
    if bad.size:
        i = int(bad[0])
        v = float(flat[i])
        what = "NaN" if v != v else (f"{v}, too large for a 32-bit float" if np.isfinite(v) else f"{'' if v > 0 else 'minus '}infinity")
        raise DataError(f"{ref.shown}: {_entry(ref.name, y.shape, i)} is {what}; a target must be a finite number. Hint: drop the sample, or fill the value in.", {"file": ref.file})
    return flat.astype(np.float32).reshape(y.shape[0], k), k


def _pixel_kind(shape, output, regression: bool) -> Optional[str]:
    sample = [int(d) for d in shape[1:]]
    if regression:
        return "values" if same_shape(_trim_ones(sample), _trim_ones(output)) else None
    spatial, c = output[:-1], output[-1]
    if same_shape(sample, spatial) or same_shape(sample, [*spatial, 1]):
        return "ids"
    if c > 1 and same_shape(sample, output):
        return "onehot"
    return None


def _pixel_shape_error(ref: _Ref, shape, output, regression: bool) -> DataError:
    n = int(shape[0])
    sample = [int(d) for d in shape[1:]]
    spatial, c = output[:-1], output[-1]
    has = "one value per sample" if not sample else f"{'x'.join(map(str, sample))} per sample"
    if regression:
        want = f"target images are shaped {python_shape([n, *output])}"
    else:
        want = f"per-pixel class labels are shaped {python_shape([n, *spatial])} or {python_shape([n, *spatial, 1])} (a class number per pixel)" + (f", or {python_shape([n, *output])} (one-hot)" if c > 1 else "")
    if sample and len(sample) == len(output) and sample[0] == output[-1] and same_shape(sample[1:], spatial):
        hint = " It looks channels-first; the model gives channels last. Hint: np.transpose(y, (0, 2, 3, 1))."
    elif len(sample) <= 1 and not regression:
        hint = " Is it one class per sample? The model ends in an image, so it needs a target per pixel; end it in a vector (flatten, dense) to classify whole samples."
    else:
        hint = ""
    return DataError(f"{ref.shown} has shape {python_shape(shape)}: {has}, but the model gives {'x'.join(map(str, output))} per sample; {want}.{hint}", {"file": ref.file})


def _pixel_classes(y: np.ndarray, ref: _Ref, output, classes: Optional[int]):
    n = y.shape[0]
    spatial = output[:-1]
    kind = _pixel_kind(y.shape, output, False)
    if kind is None:
        raise _pixel_shape_error(ref, y.shape, output, False)
    v = y.astype(np.float64)
    if kind == "ids":
        flat = v.reshape(-1)
        for k in np.nonzero(~((flat == np.floor(flat)) & (flat >= 0) & (flat < (classes if classes is not None else np.inf))))[0][:1]:
            k = int(k)
            x = float(flat[k])
            at = f"{ref.shown}: {_entry(ref.name, y.shape, k)}"
            if not (np.isfinite(x) and x.is_integer()) or x < 0:
                raise DataError(f"{at} is {_short(x, y)}, but a mask holds class numbers, whole numbers from 0.", {"file": ref.file})
            hint = " Hint: a mask saved as 0/255? Save it as 0/1 (mask // 255)." if x == 255 and classes == 2 else ""
            raise DataError(f"{at} is {_js_number(x)}, out of range: the model has {plural(classes, 'class', 'classes')} per pixel (0..{classes - 1}).{hint}", {"file": ref.file})
        labels = flat.astype(np.int32).reshape([n, *spatial])
        return labels, int(labels.max()) + 1 if labels.size else 1
    c = output[-1]
    px = v.reshape(-1, c)
    ones = px == 1
    ok = (ones.sum(axis=1) >= 1) & (((px == 0) | ones).all(axis=1)) & (ones.sum(axis=1) == 1)
    bad = np.nonzero(~ok)[0]
    if bad.size:
        p = int(bad[0])
        row = [_short(float(x), y) for x in px[p, :min(c, 12)]]
        name = _entry(ref.name, y.shape, p * c)
        name = name[:-3] + ":]" if name.endswith(", 0]") else name
        raise DataError(f"{ref.shown}: {name} is not one-hot: it is [{', '.join(row)}{', …' if c > 12 else ''}], where a one-hot pixel has a single 1 and zeros elsewhere. A mask of class numbers is shaped {python_shape([n, *spatial])}.", {"file": ref.file})
    return np.argmax(ones, axis=1).astype(np.int32).reshape([n, *spatial]), c


def load_numpy(config: Dict[str, Any], opts) -> Dataset:
    reconstruct = config.get("target") == "input"
    pairs = [
        ("train", config.get("x"), None if reconstruct else config.get("y")),
        ("validation", config.get("validationX"), None if reconstruct else config.get("validationY")),
        ("test", config.get("testX"), None if reconstruct else config.get("testY")),
    ]
    for role, x, y in pairs:
        if not reconstruct and (x is None) != (y is None):
            kx, ky = KEYS[role]
            has = "x" if x is not None else "y"
            given, missing = (kx, ky) if has == "x" else (ky, kx)
            raise DataError(f"The recipe's `{config['source']}(…)` names the {role} {'inputs' if has == 'x' else 'labels'} (`{given}`) but not the {role} {'labels' if has == 'x' else 'inputs'} (`{missing}`): give both, or neither.")
    splits = []  # (role, x array, x ref, y array | None, y ref | None)
    notes: List[str] = []
    archive = ""
    if config["source"] == "npy":
        for role, x, y in pairs:
            if x is None:
                continue
            xa, xr = _read_npy(x, opts.base_dir), _Ref(js_string(x), resolve(opts.base_dir, x), _array_name(x), True)
            if y is None:
                splits.append((role, xa, xr, None, None))
            else:
                splits.append((role, xa, xr, _read_npy(y, opts.base_dir), _Ref(js_string(y), resolve(opts.base_dir, y), _array_name(y), True)))
    else:
        file = resolve(opts.base_dir, config["path"])
        shown = js_string(config["path"])
        archive = f"{shown}: "
        if not os.path.exists(file):
            raise DataError(f"Cannot find the .npz archive {shown}: there is no {file}.", {"file": file})
        try:
            zf = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError) as e:
            raise DataError(f"The .npz archive {shown} is not a zip archive ({e}).", {"file": file}) from None
        with zf:
            members = [i.filename for i in zf.infolist()]
            names = [m[:-4] if m.lower().endswith(".npy") else m for m in members]

            def find(name):
                if name in members:
                    return name
                return name + ".npy" if name + ".npy" in members else None

            def missing(name, key):
                bare = name[:-4] if name.lower().endswith(".npy") else name
                guess = closest_by_distance(bare, names)
                listed = "It holds no arrays." if not names else f"Its arrays are: {', '.join(names[:20])}{f', and {count(len(names) - 20)} more' if len(names) > 20 else ''}."
                return DataError(f"The archive {shown} has no array {quote(bare)} (for `{key}`). {listed}{f' Did you mean {quote(guess)}?' if guess is not None else ''}", {"file": file})

            def member(entry):
                name = entry[:-4] if entry.lower().endswith(".npy") else entry
                ref = _Ref(f"{name} in {shown}", file, _array_name(entry), False)
                return _load(lambda: np.lib.format.read_array(zf.open(entry), allow_pickle=False), ref), ref

            defaults = {"train": None, "validation": ("x_val", "y_val"), "test": ("x_test", "y_test")}
            for role, x, y in pairs:
                if reconstruct:
                    name = x if x is not None else (defaults[role][0] if defaults[role] and find(defaults[role][0]) else None)
                    if name is None:
                        continue
                    entry = find(name)
                    if entry is None:
                        raise missing(name, KEYS[role][0])
                    xa, xr = member(entry)
                    splits.append((role, xa, xr, None, None))
                    continue
                chosen = (x, y) if x is not None and y is not None else None
                if chosen is None and defaults[role]:
                    dx, dy = defaults[role]
                    hx, hy = find(dx), find(dy)
                    if hx and hy:
                        chosen = (dx, dy)
                    elif hx or hy:
                        notes.append(f"{dx if hx else dy} has no {dy if hx else dx} beside it, so it is not used")
                if chosen is None:
                    continue
                entries = []
                for i, name in enumerate(chosen):
                    entry = find(name)
                    if entry is None:
                        raise missing(name, KEYS[role][i])
                    entries.append(entry)
                xa, xr = member(entries[0])
                ya, yr = member(entries[1])
                splits.append((role, xa, xr, ya, yr))
    inp = list(opts.input_shape)
    output = opts.output_shape if opts.output_shape is not None and len(opts.output_shape) > 1 else None
    for role, xa, xr, ya, yr in splits:
        if xa.ndim == 0 or not _fits_input(xa.shape[1:], inp):
            raise _input_shape_error(xr, xa.shape, inp)
        if xa.shape[0] == 0:
            raise DataError(f"{xr.shown} holds no samples (shape {python_shape(xa.shape)}).", {"file": xr.file})
        if ya is None:
            continue
        if ya.ndim == 0:
            raise DataError(f"{yr.shown} holds a single value (shape ()), not one label per sample.", {"file": yr.file})
        if ya.shape[0] != xa.shape[0]:
            raise DataError(f"{xr.shown} holds {plural(xa.shape[0], 'sample')} (shape {python_shape(xa.shape)}) but {yr.shown} holds {plural(ya.shape[0], 'label')} (shape {python_shape(ya.shape)}); they must match one to one. Are they from the same split?", {"file": yr.file})
        if output:
            regression = opts.task == "regression"
            if not _pixel_kind(ya.shape, output, regression):
                raise _pixel_shape_error(yr, ya.shape, output, regression)
        elif ya.ndim > 2 and (opts.task == "classification" or (opts.task is None and ya.dtype.kind != "f")):
            raise _not_labels(yr, ya.shape)
    outs: Dict[str, Samples] = {}
    described: List[str] = []
    if reconstruct:
        for role, xa, xr, _, _ in splits:
            n = xa.shape[0]
            outs[role] = Samples(x=_input_values(xa, xr).reshape([n, *inp]))
            sample = list(xa.shape[1:])
            name = xr.shown if xr.offsets else xr.name
            described.append(f"{'' if role == 'train' else role + ': '}{name} ({plural(n, 'sample')} of {'one value' if not sample else 'x'.join(map(str, sample))}{', pixels scaled to [0, 1]' if xa.dtype == np.uint8 else ''})")
        if "test" not in outs:
            notes.append("no test split")
        ds = Dataset(train=outs["train"], classes=0, description="; ".join([archive + "; ".join(described) + ", the inputs as targets", *notes]), preprocess={"kind": "features"})
        ds.validation, ds.test = outs.get("validation"), outs.get("test")
        return ds
    xs = [_input_values(xa, xr) for _, xa, xr, _, _ in splits]
    regression = opts.task == "regression" or (opts.task is None and any(ya.dtype.kind == "f" and not np.all(np.mod(ya, 1) == 0) for _, _, _, ya, _ in splits))
    ys = []
    for role, xa, xr, ya, yr in splits:
        if regression:
            ys.append(_regression_targets(ya, yr, opts.outputs))
        elif output:
            ys.append(_pixel_classes(ya, yr, output, opts.classes))
        else:
            ys.append(_class_labels(ya, yr, opts.classes))
    if regression:
        k = ys[0][1]
        for (role, xa, xr, ya, yr), (_, kk) in zip(splits, ys):
            if kk != k:
                raise DataError(f"{yr.shown} has {plural(kk, 'target')} per sample (shape {python_shape(ya.shape)}), but {splits[0][4].shown} has {k}; every split needs the same.", {"file": yr.file})
    classes = 0 if regression else (opts.classes if opts.classes is not None else max(c for _, c in ys))
    for (role, xa, xr, ya, yr), x, (y, _) in zip(splits, xs, ys):
        n = xa.shape[0]
        x = x.reshape([n, *inp])
        outs[role] = Samples(x=x, targets=y) if regression else Samples(x=x, labels=y)
        per_pixel = f", a class per pixel of {'x'.join(map(str, output[:-1]))}" if output and not regression else ""
        sample = [int(d) for d in xa.shape[1:]]
        shape = "one value" if not sample else "x".join(map(str, sample))
        as_ = "" if same_shape(sample, inp) else f", read as {'x'.join(map(str, inp))}"
        if regression:
            y_text = f"target images of {'x'.join(map(str, output))}" if output else f"{plural(y.shape[1], 'target')} per sample"
        else:
            y_text = f"{plural(classes, 'class', 'classes')}{per_pixel}"
        x_name = xr.shown if xr.offsets else xr.name
        y_name = yr.shown if yr.offsets else yr.name
        head = "" if role == "train" else f"{role}: "
        described.append(f"{head}{x_name} ({plural(n, 'sample')} of {shape}{as_}{', pixels scaled to [0, 1]' if xa.dtype == np.uint8 else ''}), {y_name}{f' ({y_text})' if role == 'train' else ''}")
    if "test" not in outs:
        notes.append("no test split")
    ds = Dataset(train=outs["train"], classes=classes, description="; ".join([archive + "; ".join(described), *notes]), preprocess={"kind": "features"})
    ds.validation, ds.test = outs.get("validation"), outs.get("test")
    if regression:
        ds.target_size = ys[0][1]
    elif output:
        ds.target_size = size_of(output[:-1])
        ds.target_kind = "classes"
    return ds
