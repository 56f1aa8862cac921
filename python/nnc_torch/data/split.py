"""Which samples train, validate and test: a port of src/runtime/train-data.ts (``splitData``,
``holdOut``, ``targetMode``, ``dataFacts``). The validation split is the source's own, else a
stratified seeded holdout (``validate F``), else ``DEFAULT_VALIDATION`` when the recipe reads a
``val_`` metric; never the test split."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from ..random import SeededRandom
from .common import DataError, Dataset, Samples, count, resolve

DEFAULT_VALIDATION = 0.1


@dataclass
class SplitPlan:
    train: Samples
    validation: Optional[Samples] = None
    test: Optional[Samples] = None
    notes: List[str] = field(default_factory=list)
    #: The training split's and the held-out split's indices into the source's training samples (None: not split).
    train_indices: Optional[np.ndarray] = None
    validation_indices: Optional[np.ndarray] = None


def _draw(random):
    return random.next if isinstance(random, SeededRandom) else random


def needs_validation(recipe: Mapping[str, Any], reads: Sequence[str] = ()) -> bool:
    metrics = [(recipe.get("earlyStop") or {}).get("metric"), (recipe.get("checkpoint") or {}).get("metric"), *recipe.get("metrics", []), *reads]
    return any(m is not None and m.startswith("val_") for m in metrics)


def _js_fixed2(f: float) -> str:
    """``${+(f * 100).toFixed(2)}``."""
    v = float(f"{f * 100:.2f}")
    return str(int(v)) if v.is_integer() else repr(v)


def percent(f: float) -> str:
    return f"{_js_fixed2(f)}%"


def _js_round(v: float) -> int:
    import math
    return int(math.floor(v + 0.5))


def hold_out_indices(labels: Optional[np.ndarray], n: int, fraction: float, random) -> tuple:
    """``holdOut``'s choice: (train indices, validation indices), both in the source's order."""
    draw = _draw(random)
    if n < 2:
        raise DataError(f"Holding out {percent(fraction)} for validation needs at least 2 training samples, but there {'is 1' if n == 1 else f'are {n}'}.")
    total = min(n - 1, max(1, _js_round(n * fraction)))
    groups: Dict[int, List[int]] = {}
    for i in range(n):
        c = int(labels[i]) if labels is not None else 0
        groups.setdefault(c, []).append(i)
    classes = sorted(groups)
    share = [len(groups[c]) * total / n for c in classes]
    take = [int(np.floor(s)) for s in share]
    left = total - sum(take)
    order = sorted(range(len(classes)), key=lambda k: (-(share[k] - take[k]), k))
    for k in order:
        if left == 0:
            break
        if take[k] < len(groups[classes[k]]):
            take[k] += 1
            left -= 1
    held = np.zeros(n, dtype=bool)
    for k, c in enumerate(classes):
        g = groups[c]
        for i in range(len(g) - 1, 0, -1):
            j = int(draw() * (i + 1))
            g[i], g[j] = g[j], g[i]
        for i in range(take[k]):
            held[g[i]] = True
    return np.nonzero(~held)[0].astype(np.int32), np.nonzero(held)[0].astype(np.int32)


def split_data(dataset: Dataset, recipe: Mapping[str, Any], seed_random, reads: Sequence[str] = ()) -> SplitPlan:
    """``splitData``: ``seed_random`` is the run's SeededRandom (train.ts: ``SeededRandom(seed ^
    0x9e3779b9)``, see ``nnc_torch.random.split_seed``) or its ``next``; the holdout draws from it."""
    notes: List[str] = []
    train = dataset.train
    validation = dataset.validation
    test = dataset.test
    plan = SplitPlan(train=train)
    validate = recipe.get("validate")
    if validation is not None:
        if validate is not None:
            notes.append(f"validation: the data's own validation split ({count(validation.n)} samples); `validate {_js_num(validate)}` is not used")
        else:
            notes.append(f"validation: the data's own validation split ({count(validation.n)} samples)")
    else:
        fraction = validate if validate is not None else (DEFAULT_VALIDATION if needs_validation(recipe, reads) else None)
        if fraction is not None:
            per_sample = train.labels if train.labels is not None and train.labels.ndim == 1 else None
            tr, va = hold_out_indices(per_sample, train.n, fraction, seed_random)
            plan.train_indices, plan.validation_indices = tr, va
            train, validation = train.subset(tr), train.subset(va)
            how = "stratified by class" if dataset.train.labels is not None and dataset.target_kind != "classes" else "at random"
            if validate is not None:
                notes.append(f"validation: {percent(fraction)} of the training data held out ({count(validation.n)} samples, {how}, by the seed)")
            else:
                notes.append(f"validation: the recipe reads a `val_` metric but has no validation data, so {percent(fraction)} of the training data is held out ({count(validation.n)} samples, {how}); add `validate F` to choose the fraction")
    if test is not None:
        notes.append(f"test: {count(test.n)} samples, evaluated once, after training")
    plan.train, plan.validation, plan.test, plan.notes = train, validation, test, notes
    return plan


def _js_num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def target_mode(recipe: Mapping[str, Any], dataset: Dataset) -> str:
    """"labels", "values", "pixels" or "input", as train-data.ts ``targetMode``."""
    if recipe.get("data", {}).get("target") == "input":
        return "input"
    if dataset.target_kind == "classes":
        return "pixels"
    if dataset.target_size is not None:
        return "values"
    return "labels"


_PATH_FIELDS = ("path", "validation", "test", "images", "labels", "train", "x", "y", "validationX", "validationY", "testX", "testY")


def absolute_paths(config: Mapping[str, Any], base_dir: str) -> Dict[str, Any]:
    out = {k: v for k, v in config.items() if k != "perClass"}
    for f in _PATH_FIELDS:
        v = out.get(f)
        if not isinstance(v, str):
            continue
        if config.get("source") == "npz" and f != "path":
            continue
        out[f] = resolve(base_dir, v)
    return out


def data_facts(dataset: Dataset, recipe: Mapping[str, Any], input_shape: Sequence[int], target_size: Optional[int], base_dir: Optional[str] = None,
               output_shape: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """data.json (schema/data.schema.json), as ``dataFacts``: ``target_size`` is the model's outputs
    for regression, else None; ``base_dir`` None leaves out ``data`` (the user's own data)."""
    mode = target_mode(recipe, dataset)
    task = "autoencoder" if mode == "input" else "segmentation" if mode == "pixels" else "regression" if target_size is not None else "classification"
    facts: Dict[str, Any] = {"task": task, "classes": 0 if mode == "input" else dataset.classes, "inputShape": [int(d) for d in input_shape], "source": dataset.description, "loss": recipe["loss"]}
    if output_shape is not None and (len(output_shape) > 1 or mode == "input"):
        facts["outputShape"] = [int(d) for d in output_shape]
    if dataset.class_names is not None and mode != "input":
        facts["classNames"] = list(dataset.class_names)
    if target_size is not None and mode != "input":
        facts["targetSize"] = target_size
        if dataset.target_names is not None:
            facts["targetNames"] = list(dataset.target_names)
    if recipe["data"].get("source") == "csv" and target_size is None and recipe["data"].get("label") is not None:
        facts["label"] = recipe["data"]["label"]
    if dataset.preprocess is not None:
        facts["preprocess"] = dict(dataset.preprocess)
    if base_dir is not None:
        facts["data"] = absolute_paths(recipe["data"], base_dir)
    return facts
