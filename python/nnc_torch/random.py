"""The seeded generator nnc uses on both engines: a bit-identical port of src/common/random.ts.

mulberry32: 32 bits of state, floats in [0, 1). The same seed gives the same sequence as the
TS engine's ``SeededRandom`` (and ``seededRandom``), draw for draw, so shuffles, holdouts,
permutations and augmentation match. JavaScript's ``Math.imul`` and ``>>>`` work modulo 2³²;
here every intermediate value is kept as an unsigned 32-bit integer (``& 0xFFFFFFFF``), which
gives the same bits (a signed int32 and its unsigned twin agree in every bit operation, and
``t + imul(…)`` followed by ``^=`` is ToInt32 of the sum, i.e. the sum modulo 2³²).
"""
from __future__ import annotations

import math
from typing import Callable, Union

import numpy as np

__all__ = ["SeededRandom", "seeded_random", "permutation", "shuffle", "to_uint32", "split_seed"]

_M = 0xFFFFFFFF


def to_uint32(value: Union[int, float]) -> int:
    """JavaScript's ``Math.trunc(value) >>> 0``: truncated, modulo 2³² (NaN and infinities: 0)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return 0
        value = math.trunc(value)
    return int(value) & _M


def split_seed(seed: Union[int, float]) -> int:
    """The state of the generator train.ts splits, shuffles and augments with: ``new SeededRandom(seed ^ 0x9e3779b9)``."""
    return to_uint32(seed) ^ 0x9E3779B9


class SeededRandom:
    """mulberry32, as src/common/random.ts. ``next()`` is a float in [0, 1); ``state()`` is a whole number in [0, 2³²)."""

    __slots__ = ("_current",)

    def __init__(self, seed: Union[int, float]) -> None:
        self._current = to_uint32(seed)

    def next(self) -> float:
        c = (self._current + 0x6D2B79F5) & _M
        self._current = c
        t = ((c ^ (c >> 15)) * (c | 1)) & _M
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & _M)) & _M
        return ((t ^ (t >> 14)) & _M) / 4294967296.0

    __call__ = next

    def state(self) -> int:
        return self._current

    def restore(self, state: int) -> None:
        if isinstance(state, bool) or not isinstance(state, (int, float)) or state != state or int(state) != state or state < 0 or state > _M:
            raise ValueError(f"SeededRandom.restore: the state must be a whole number in [0, 2^32), not {state}")
        self._current = int(state)


def seeded_random(seed: Union[int, float]) -> Callable[[], float]:
    """``new SeededRandom(seed).next``: a generator whose state nobody needs to save."""
    return SeededRandom(seed).next


def _draw(random) -> Callable[[], float]:
    """A ``() -> float`` from a SeededRandom or a callable."""
    return random.next if isinstance(random, SeededRandom) else random


def permutation(n: int, random) -> np.ndarray:
    """train.ts's ``permutation()``: a Fisher–Yates shuffle of 0..n−1 (int32), drawing n−1 numbers."""
    draw = _draw(random)
    a = list(range(n))
    for i in range(n - 1, 0, -1):
        j = int(draw() * (i + 1))
        a[i], a[j] = a[j], a[i]
    return np.asarray(a, dtype=np.int32)


def shuffle(items: list, random) -> list:
    """common.ts's ``shuffle``: Fisher–Yates in place, the same draws as ``permutation``."""
    draw = _draw(random)
    for i in range(len(items) - 1, 0, -1):
        j = int(draw() * (i + 1))
        items[i], items[j] = items[j], items[i]
    return items
