"""Input normalisation, a port of src/runtime/data/normalize.ts: fitted on the training split,
applied unchanged to validation, test and inference inputs.

The TS engine fits an in-memory split with TF.js's ``tf.moments`` (float32: each value divided by
n, summed in float64 per feature, rounded to float32; the variance likewise from float32 squared
deviations) and a streamed split (image folders) with ``fitStream`` (float64, batches of 256,
Chan's parallel update). Both are reproduced here (``streamed``), so the statistics match to the
last bit on TF.js's cpu backend and within float32 rounding elsewhere. ``stats`` is the dict the
TS engine writes to normalizer.json."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Union

import numpy as np

FLOOR = 1e-7


@dataclass
class Normalizer:
    config: Dict[str, Any]
    stats: Dict[str, List[float]]

    def apply(self, x: np.ndarray) -> np.ndarray:
        return normalize(x, self)


def _config(config: Union[str, Mapping[str, Any]]) -> Dict[str, Any]:
    return {"kind": config} if isinstance(config, str) else dict(config)


def _seq_sum(a: np.ndarray) -> np.ndarray:
    """Per column, the float64 sum of the rows in order (as a JS ``sum += v`` loop)."""
    total = np.zeros(a.shape[1], dtype=np.float64)
    for row in a:
        total += row
    return total


def fit_normalizer(config: Union[str, Mapping[str, Any]], x: np.ndarray, *, streamed: bool = False, batch: int = 256) -> Normalizer:
    """``fitNormalizer`` (in memory) or ``fitSamples`` on a streamed split (``streamed``): ``config``
    is the recipe's ``normalize`` ({"kind": "standard"|"minmax"|"scale"|"none", "factor": k})."""
    cfg = _config(config)
    kind = cfg["kind"]
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError("fitNormalizer needs at least one training example")
    flat = x.reshape(x.shape[0], -1)
    stats: Dict[str, List[float]] = {}
    if kind in ("standard", "minmax") and streamed:
        return Normalizer(cfg, _fit_stream(kind, flat, batch))
    if kind == "standard":
        n = np.float32(flat.shape[0])
        mean = _seq_sum((flat / n).astype(np.float64)).astype(np.float32)
        dev = (flat - mean).astype(np.float32)
        var = _seq_sum((np.square(dev) / n).astype(np.float64)).astype(np.float32)
        std = np.sqrt(var).astype(np.float32)
        stats["mean"] = [float(v) for v in mean]
        stats["std"] = [1.0 if float(s) < FLOOR else float(s) for s in std]
    elif kind == "minmax":
        stats["min"] = [float(v) for v in flat.min(axis=0)]
        stats["max"] = [float(v) for v in flat.max(axis=0)]
    elif kind == "scale":
        stats["factor"] = [cfg["factor"]]
    elif kind != "none":
        raise ValueError(f"unknown normaliser {kind!r}")
    return Normalizer(cfg, stats)


def _fit_stream(kind: str, flat: np.ndarray, batch: int) -> Dict[str, List[float]]:
    features = flat.shape[1]
    if kind == "minmax":
        return {"min": [float(v) for v in flat.min(axis=0).astype(np.float64)], "max": [float(v) for v in flat.max(axis=0).astype(np.float64)]}
    a = np.zeros(features, dtype=np.float64)
    b = np.zeros(features, dtype=np.float64)
    seen = 0
    for start in range(0, flat.shape[0], batch):
        values = flat[start:start + batch].astype(np.float64)
        m = values.shape[0]
        mean = _seq_sum(values) / m
        m2 = _seq_sum(np.square(values - mean))
        total = seen + m
        delta = mean - a
        a = a + (delta * m) / total
        b = b + m2 + (delta * delta * seen * m) / total
        seen += m
    mean32 = a.astype(np.float32)
    sd = np.sqrt(b / seen).astype(np.float32)
    return {"mean": [float(v) for v in mean32], "std": [1.0 if float(s) < FLOOR else float(s) for s in sd]}


def restore_normalizer(config: Union[str, Mapping[str, Any]], stats: Mapping[str, List[float]]) -> Normalizer:
    """The normaliser ``fit_normalizer`` returned, from its saved ``stats`` (normalizer.json)."""
    cfg = _config(config)
    for name in {"standard": ("mean", "std"), "minmax": ("min", "max"), "scale": ("factor",)}.get(cfg["kind"], ()):
        if not stats.get(name):
            raise ValueError(f"the {cfg['kind']} normaliser needs the statistic `{name}`")
    return Normalizer(cfg, {k: list(v) for k, v in stats.items()})


def normalize(x: np.ndarray, normalizer: Normalizer) -> np.ndarray:
    """The normalised batch [m, ...] as float32, as restoreNormalizer's ``apply`` computes it."""
    kind = normalizer.config["kind"]
    x = np.asarray(x, dtype=np.float32)
    s = normalizer.stats
    if kind == "none":
        return x.copy()
    if kind == "scale":
        return (x * np.float32(s["factor"][0])).astype(np.float32)
    if kind == "standard":
        a, b = np.asarray(s["mean"], np.float32), np.asarray(s["std"], np.float32)
    else:
        lo = np.asarray(s["min"], np.float64)
        hi = np.asarray(s["max"], np.float64)
        rng = hi - lo
        a, b = lo.astype(np.float32), np.where(rng < FLOOR, 1.0, rng).astype(np.float32)
    features = a.shape[0]
    size = int(np.prod(x.shape[1:])) if x.ndim >= 1 else 0
    if x.ndim < 1 or size != features:
        raise ValueError(f"the normaliser was fitted on {features} features per example, but got a batch of shape [{', '.join(map(str, x.shape))}] ({size} per example)")
    flat = x.reshape(x.shape[0], features)
    return ((flat - a) / b).astype(np.float32).reshape(x.shape)
