"""Learning-rate schedules: the rate for one epoch, from the recipe's base rate.

A line-for-line port of src/runtime/schedules.ts (pure arithmetic, no torch). The training loop
sets the optimizer's learning rate from this at the start of every epoch, as the TS loop does
(`optimizer.learning_rate = learning_rate_at(...)`).
"""
from __future__ import annotations

import math
from typing import Any, Mapping

__all__ = ["learning_rate_at"]


def learning_rate_at(schedule: Mapping[str, Any], lr: float, epoch: int, epochs: int) -> float:
    """The learning rate for `epoch` (0-based) of `epochs`, from the base rate `lr`.

    `schedule` is the recipe's `schedule` object (the TS `ScheduleConfig` JSON):
    - ``{"name": "constant"}``: lr;
    - ``{"name": "step", "factor": f, "every": k}``: lr·f^⌊epoch/max(1, k)⌋;
    - ``{"name": "exp", "rate": r}``: lr·r^epoch;
    - ``{"name": "cosine"}``: lr·½(1 + cos(π·epoch/epochs)), epoch clamped to [0, epochs]; lr when epochs ≤ 0;
    - ``{"name": "warmup", "epochs": n, "then": S}``: lr·(epoch+1)/n for epoch < n, then S at
      (epoch−n) of (epochs−n).
    """
    name = schedule["name"]
    if name == "constant":
        return lr
    if name == "step":
        return lr * schedule["factor"] ** math.floor(epoch / max(1, schedule["every"]))
    if name == "exp":
        return lr * schedule["rate"] ** epoch
    if name == "cosine":
        if epochs <= 0:
            return lr
        progress = min(max(epoch, 0), epochs) / epochs
        return lr * 0.5 * (1 + math.cos(math.pi * progress))
    if name == "warmup":
        n = max(0, math.floor(schedule["epochs"]))
        if epoch < n:
            return (lr * (epoch + 1)) / n
        return learning_rate_at(schedule["then"], lr, epoch - n, epochs - n)
    raise ValueError(f"unknown learning-rate schedule {name!r}")
