"""Image augmentation for NHWC batches, a port of src/runtime/data/augment.ts: the same draws
from the same SeededRandom, in the same order (per augmentation, per image, in batch order), and
the same float32 arithmetic as TF.js's cpu backend."""
from __future__ import annotations

from typing import Any, Dict, Sequence

import numpy as np

from ..random import SeededRandom


def _draw(random):
    return random.next if isinstance(random, SeededRandom) else random


def augment_batch(x: np.ndarray, augments: Sequence[Dict[str, Any]], random) -> np.ndarray:
    """``augmentBatch``: ``augments`` (the recipe's ``augment`` list) applied in order to ``x``
    [n, height, width, channels] float32; returns a new array (``x`` is left alone)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"augmentBatch needs an NHWC batch of rank 4, got shape [{', '.join(map(str, x.shape))}]")
    draw = _draw(random)
    out = x.copy()
    for a in augments:
        kind = a["kind"]
        if kind == "flip":
            out = _flip(out, 2 if a["direction"] == "horizontal" else 1, draw)
        elif kind == "crop":
            out = _crop(out, a["height"], a["width"], a["pad"], draw)
        elif kind == "jitter":
            out = _jitter(out, a["brightness"], a["contrast"], draw)
    return out


def _flip(x: np.ndarray, axis: int, draw) -> np.ndarray:
    mask = np.asarray([draw() < 0.5 for _ in range(x.shape[0])], dtype=bool)
    if not mask.any():
        return x
    out = x.copy()
    out[mask] = np.flip(x[mask], axis=axis)
    return out


def _crop(x: np.ndarray, h: int, w: int, pad: int, draw) -> np.ndarray:
    n, height, width = x.shape[:3]
    ph, pw = height + 2 * pad, width + 2 * pad
    if not all(isinstance(v, int) for v in (h, w, pad)) or h < 1 or w < 1 or pad < 0:
        raise ValueError(f"crop {h}x{w} pad {pad}: the size must be whole numbers of at least 1 and the padding a whole number of at least 0")
    if h > ph or w > pw:
        raise ValueError(f"crop {h}x{w} is larger than the padded {ph}x{pw} image ({height}x{width} padded by {pad})")
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0))) if pad > 0 else x
    out = np.empty((n, h, w, x.shape[3]), dtype=np.float32)
    for b in range(n):
        top = int(draw() * (ph - h + 1))
        left = int(draw() * (pw - w + 1))
        out[b] = padded[b, top:top + h, left:left + w]
    return out


def _jitter(x: np.ndarray, brightness: float, contrast: float, draw) -> np.ndarray:
    n = x.shape[0]
    out = x
    if brightness > 0:
        shift = np.asarray([(2 * draw() - 1) * brightness for _ in range(n)], dtype=np.float64).astype(np.float32)
        out = (out + shift.reshape(n, 1, 1, 1)).astype(np.float32)
    if contrast > 0:
        factor = np.asarray([1 + (2 * draw() - 1) * contrast for _ in range(n)], dtype=np.float64).astype(np.float32)
        # tf.mean over [1, 2, 3]: each value divided by the count in float32, summed in float64, rounded to float32.
        size = np.float32(out[0].size)
        parts = (out / size).astype(np.float32).reshape(n, -1).astype(np.float64)
        mean = np.cumsum(parts, axis=1)[:, -1].astype(np.float32).reshape(n, 1, 1, 1)  # sequential, as JS's loop
        out = (((out - mean).astype(np.float32) * factor.reshape(n, 1, 1, 1)).astype(np.float32) + mean).astype(np.float32)
    return out
