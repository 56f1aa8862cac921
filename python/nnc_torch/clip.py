"""Gradient clipping, and gradient norms for reporting: a port of src/runtime/clip.ts.

The recipe's `clip` is ``{"by": "norm" | "value", "threshold": t}`` (absent: no clipping):
- by value: every component clamped to [−t, t];
- by norm: all gradients rescaled together by t / max(t, ‖g‖), where ‖g‖ is the global L2 norm
  over every gradient, √(Σᵢ Σ gᵢ²) (TF's `clip_by_global_norm`). The scale stays a tensor: no
  read-back from the device.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Optional

import torch

__all__ = ["clip_gradients", "clip_gradients_", "global_norm", "gradient_norms"]


def _global_norm_tensor(grads: Iterable[torch.Tensor]) -> torch.Tensor:
    """√(Σ over all gradients of Σ g²) as a 0-d tensor (as TS's globalNormTensor); 0 for none."""
    grads = list(grads)
    if not grads:
        return torch.zeros(())
    total = grads[0].square().sum()
    for g in grads[1:]:
        total = total + g.square().sum().to(total.device)
    return total.sqrt()


def clip_gradients(named_grads: Mapping[str, torch.Tensor], clip: Optional[Mapping[str, Any]]) -> Dict[str, torch.Tensor]:
    """Clipped copies of the gradients, same keys and order (the inputs are left as they are).

    `clip` None gives the gradients themselves (not copies)."""
    if clip is None:
        return dict(named_grads)
    t = float(clip["threshold"])
    with torch.no_grad():
        if clip["by"] == "value":
            return {key: torch.clamp(g, -t, t) for key, g in named_grads.items()}
        if clip["by"] != "norm":
            raise ValueError(f"clip: 'by' must be 'norm' or 'value', got {clip['by']!r}")
        norm = _global_norm_tensor(named_grads.values())
        scale = t / torch.clamp(norm, min=t)  # t / max(t, ‖g‖)
        return {key: g * scale.to(g.device) for key, g in named_grads.items()}


def clip_gradients_(params: Iterable[torch.nn.Parameter], clip: Optional[Mapping[str, Any]]) -> None:
    """The same clipping in place on each parameter's `.grad` (parameters without one are skipped),
    for a loop that calls `optimizer.step()` after `loss.backward()`."""
    if clip is None:
        return
    with_grad = [p for p in params if p.grad is not None]
    clipped = clip_gradients({str(i): p.grad for i, p in enumerate(with_grad)}, clip)
    with torch.no_grad():
        for i, p in enumerate(with_grad):
            p.grad.copy_(clipped[str(i)])


def global_norm(named_grads: Mapping[str, torch.Tensor]) -> float:
    """The global L2 norm of all gradients together, √(Σ‖gᵢ‖²). Reads one number back."""
    with torch.no_grad():
        return float(_global_norm_tensor(named_grads.values()))


def gradient_norms(named_grads: Mapping[str, torch.Tensor]) -> Dict[str, float]:
    """Each gradient's own L2 norm, by key. Reads all of them back in one transfer."""
    keys = list(named_grads)
    if not keys:
        return {}
    with torch.no_grad():
        device = named_grads[keys[0]].device
        norms = torch.stack([named_grads[k].square().sum().sqrt().to(device) for k in keys]).tolist()
    return dict(zip(keys, norms))
