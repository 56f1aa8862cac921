"""What every data source shares (a port of src/runtime/data/common.ts): ``DataError``, the
``Samples``/``Dataset`` records (samples.ts), and the helpers that keep messages alike."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

QUOTE_LIMIT = 60
MAX_VALUES = 2**32 - 1


class DataError(Exception):
    """A mistake in the data or in how the recipe names it; the message is meant for the user.
    ``where`` says where (``file``, ``row``, ``column``, ``offset``), as the TS DataError's."""

    def __init__(self, message: str, where: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where or {}


@dataclass
class Samples:
    """One split. ``x``: float32 [n, *input_shape], channels last, as the source gives it (not
    normalised). ``labels``: int32 [n] (a class per sample) or [n, *pixels] (a class per pixel).
    ``targets``: float32 [n, k] (regression). ``streamed``: the TS engine streams this split (an
    image folder), so its normaliser is fitted in float64 (``fitStream``) rather than float32.
    ``shown``: where each sample comes from, for messages (image folders)."""

    x: np.ndarray
    labels: Optional[np.ndarray] = None
    targets: Optional[np.ndarray] = None
    streamed: bool = False
    shown: Optional[List[str]] = None

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    def subset(self, indices: Sequence[int]) -> "Samples":
        """The samples at ``indices``, in that order (samples.ts ``subsetSamples``)."""
        idx = np.asarray(indices, dtype=np.int64)
        return Samples(
            x=self.x[idx],
            labels=None if self.labels is None else self.labels[idx],
            targets=None if self.targets is None else self.targets[idx],
            streamed=self.streamed,
            shown=None if self.shown is None else [self.shown[int(i)] for i in idx],
        )


@dataclass
class Dataset:
    """A source's splits and what it says about them (samples.ts ``Dataset``)."""

    train: Samples
    classes: int
    description: str
    validation: Optional[Samples] = None
    test: Optional[Samples] = None
    class_names: Optional[List[str]] = None
    target_size: Optional[int] = None
    target_names: Optional[List[str]] = None
    target_kind: Optional[str] = None  # "values" (default) or "classes" (a class per pixel)
    feature_names: Optional[List[str]] = None
    preprocess: Optional[Dict[str, Any]] = None


def count(n: int) -> str:
    """``n.toLocaleString("en-US")`` for whole numbers."""
    return f"{n:,}" if float(n).is_integer() else str(n)


def plural(n: int, one: str, many: Optional[str] = None) -> str:
    return f"{count(n)} {one if n == 1 else (many if many is not None else one + 's')}"


def js_string(text: str) -> str:
    """``JSON.stringify`` of a string."""
    return json.dumps(text, ensure_ascii=False)


def quote(text: str) -> str:
    if len(text) > QUOTE_LIMIT:
        return f"{js_string(text[:QUOTE_LIMIT])[:-1]}…\" ({count(len(text))} characters)"
    return js_string(text)


def clip(text: str) -> str:
    return f"{text[:QUOTE_LIMIT]}… ({count(len(text))} characters)" if len(text) > QUOTE_LIMIT else text


def size_of(shape: Sequence[int]) -> int:
    p = 1
    for d in shape:
        p *= int(d)
    return p


def same_shape(a: Sequence[int], b: Sequence[int]) -> bool:
    return len(a) == len(b) and all(int(x) == int(y) for x, y in zip(a, b))


def describe_shape(shape: Sequence[int]) -> str:
    if len(shape) == 1:
        return f"a vector of {plural(int(shape[0]), 'value')}"
    return f"{'x'.join(str(int(d)) for d in shape)} ({plural(size_of(shape), 'value')})"


def check_class_limit(classes: int, source: str, opts_classes: Optional[int]) -> None:
    if opts_classes is not None and opts_classes < classes:
        raise DataError(f"{source} has {classes} classes, but the model distinguishes only {opts_classes}.")


def check_data_size(values: int, what: str, hint: str, where: Optional[Dict[str, Any]] = None) -> None:
    if values > MAX_VALUES:
        raise DataError(f"{what} {count(values)} float32 values, more than a JavaScript typed array can hold ({count(MAX_VALUES)}). {hint}", where)


def read_input(file: str, shown: str, what: str) -> bytes:
    """A user's file's bytes, every way that can fail a DataError naming it (common.ts ``readInput``)."""
    try:
        if os.path.isdir(file):
            raise DataError(f"The {what} {shown} is a folder, not a file ({file}).", {"file": file})
        if os.path.exists(file) and not os.path.isfile(file):
            raise DataError(f"The {what} {shown} is not a regular file ({file}).", {"file": file})
        with open(file, "rb") as f:
            return f.read()
    except DataError:
        raise
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(f"Cannot find the {what} {shown}: there is no {file}.", {"file": file}) from None
    except PermissionError:
        raise DataError(f"Cannot read the {what} {shown}: permission denied ({file}).", {"file": file}) from None
    except OSError as e:
        raise DataError(f"Cannot read the {what} {shown} ({file}): {e}", {"file": file}) from None


def resolve(base_dir: str, path: str) -> str:
    """Node's ``path.resolve(baseDir, path)``."""
    return os.path.normpath(os.path.join(os.path.abspath(base_dir), path))


def js_sort_key(s: str) -> bytes:
    """JavaScript's default string order (UTF-16 code units)."""
    return s.encode("utf-16-be", "surrogatepass")


def _bounded_distance(a: str, b: str, limit: int) -> int:
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    m, n = len(a), len(b)
    if m == 0 or n == 0:
        return min(limit + 1, m + n)
    prev2 = [0] * (n + 1)
    prev = list(range(n + 1))
    cur = [0] * (n + 1)
    for i in range(1, m + 1):
        cur[0] = i
        row_min = i
        for j in range(1, n + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
            row_min = min(row_min, v)
        if row_min > limit:
            return limit + 1
        prev2, prev, cur = prev, cur, prev2
    return min(prev[n], limit + 1)


def closest_by_distance(word: str, candidates: Sequence[str]) -> Optional[str]:
    """src/common/edit-distance.ts ``closestByDistance``."""
    lower = word.lower()
    limit = min(3, max(1, len(word) // 3))
    best, best_score = None, limit + 1
    for c in candidates:
        if c == word:
            continue
        cl = c.lower()
        if cl == lower:
            return c
        d = _bounded_distance(lower, cl, limit)
        if d < best_score:
            best_score, best = d, c
    return best


def unit_pixels(b: np.ndarray) -> np.ndarray:
    """Bytes 0..255 as float32 in [0, 1], as JS computes ``byte / 255`` into a Float32Array."""
    return (b.astype(np.float64) / 255.0).astype(np.float32)
