"""Weight initialisers as the spec names them, with the distributions of src/runtime/initializers.ts.

The values are not TF.js's (another random generator): only the distribution is the same. For
identical starting weights the loop loads the TF.js initial weights `nnc build` writes.

- glorot (Glorot & Bengio 2010): Var = 2/(fan_in + fan_out), uniform limit √(6/(fan_in + fan_out));
- he (He et al. 2015): Var = 2/fan_in, uniform limit √(6/fan_in);
- lecun (LeCun et al. 1998): Var = 1/fan_in, uniform limit √(3/fan_in);
- normal(std): a plain (untruncated) normal, as TF.js's `randomNormal`;
- uniform(limit): uniform on [−limit, limit].

The variance-scaling normals are, as in TF.js's `varianceScaling` and Keras, normals truncated at
±2σ (a draw outside is redrawn), with σ divided by TRUNCATED_NORMAL_STD so that the variance is
exactly the formula's (as Keras ≥ 2.3; the TS runtime does the same through TF.js). Every fan is
taken as max(1, fan), as TF.js does. Fans are the caller's, in Keras's terms: a dense kernel
[in, out] has fan_in = in, fan_out = out; a conv kernel [kh, kw, cin, cout] has
fan_in = kh·kw·cin, fan_out = kh·kw·cout.

Numbers are drawn on the CPU from a `torch.Generator` seeded `seed` and copied into the tensor,
so a seed gives the same values on every device.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Optional

import torch

__all__ = [
    "TRUNCATED_NORMAL_STD",
    "init_",
    "variance",
    "zeros_",
    "ones_",
    "glorot_normal_",
    "glorot_uniform_",
    "he_normal_",
    "he_uniform_",
    "lecun_normal_",
    "lecun_uniform_",
    "normal_",
    "uniform_",
]

#: The standard deviation of a standard normal truncated to [−2, 2] (√(1 − 4φ(2)/(2Φ(2) − 1))),
#: Keras's correction constant (src/runtime/initializers.ts TRUNCATED_NORMAL_STD).
TRUNCATED_NORMAL_STD = 0.87962566103423978

#: Variance-scaling initialisers: (scale, mode, distribution), as the TS runtime builds them.
_SCALING = {
    "glorot_normal": (1.0, "fan_avg", "normal"),
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "he_normal": (2.0, "fan_in", "normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
}


def _generator(seed: int) -> torch.Generator:
    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed) & 0xFFFF_FFFF_FFFF_FFFF)
    return g


def _scaled(scale: float, mode: str, fan_in: int, fan_out: int) -> float:
    if mode == "fan_in":
        return scale / max(1.0, float(fan_in))
    return scale / max(1.0, (fan_in + fan_out) / 2.0)


def variance(config: Mapping[str, Any], fan_in: int, fan_out: int) -> float:
    """The variance the initialiser `config` gives (0 for zeros and ones)."""
    name = config["name"]
    if name in ("zeros", "ones"):
        return 0.0
    if name in _SCALING:
        scale, mode, _ = _SCALING[name]
        return _scaled(scale, mode, fan_in, fan_out)
    if name == "normal":
        return float(config["std"]) ** 2
    if name == "uniform":
        return float(config["limit"]) ** 2 / 3.0
    raise ValueError(f"unknown initializer {name!r}")


def _truncated_normal(shape: torch.Size, stddev: float, gen: torch.Generator) -> torch.Tensor:
    """Normal(0, stddev) draws, each outside [−2·stddev, 2·stddev] redrawn (TF.js's truncatedNormal)."""
    out = torch.randn(shape, generator=gen, dtype=torch.float64)
    while True:
        bad = out.abs() > 2.0
        count = int(bad.sum())
        if count == 0:
            break
        out[bad] = torch.randn(count, generator=gen, dtype=torch.float64)
    return out * stddev


def _fill(tensor: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        tensor.copy_(values.to(dtype=tensor.dtype))
    return tensor


def init_(tensor: torch.Tensor, config: Mapping[str, Any], seed: int, fan_in: int = 1, fan_out: int = 1) -> torch.Tensor:
    """Fills `tensor` in place (under no_grad) from the recipe's initialiser `config`
    (``{"name": "glorot_uniform"}``, ``{"name": "normal", "std": 0.05}``, ``{"name": "uniform", "limit": 0.1}``, …)
    and returns it. `seed` seeds a CPU torch.Generator; fans as in the module docstring."""
    name = config["name"]
    shape = tensor.shape
    if name == "zeros":
        return _fill(tensor, torch.zeros(shape))
    if name == "ones":
        return _fill(tensor, torch.ones(shape))
    gen = _generator(seed)
    if name in _SCALING:
        scale, mode, distribution = _SCALING[name]
        scaled = _scaled(scale, mode, fan_in, fan_out)
        if distribution == "normal":
            return _fill(tensor, _truncated_normal(shape, math.sqrt(scaled) / TRUNCATED_NORMAL_STD, gen))
        limit = math.sqrt(3.0 * scaled)
        return _fill(tensor, torch.rand(shape, generator=gen, dtype=torch.float64) * (2 * limit) - limit)
    if name == "normal":
        return _fill(tensor, torch.randn(shape, generator=gen, dtype=torch.float64) * float(config["std"]))
    if name == "uniform":
        limit = float(config["limit"])
        return _fill(tensor, torch.rand(shape, generator=gen, dtype=torch.float64) * (2 * limit) - limit)
    raise ValueError(f"unknown initializer {name!r}")


# One function per name, for generated code: nnc.init.glorot_uniform_(w, seed, fan_in=…, fan_out=…).
def zeros_(tensor: torch.Tensor, seed: int = 0, fan_in: int = 1, fan_out: int = 1) -> torch.Tensor:
    return init_(tensor, {"name": "zeros"}, seed, fan_in, fan_out)


def ones_(tensor: torch.Tensor, seed: int = 0, fan_in: int = 1, fan_out: int = 1) -> torch.Tensor:
    return init_(tensor, {"name": "ones"}, seed, fan_in, fan_out)


def glorot_normal_(tensor: torch.Tensor, seed: int, fan_in: int, fan_out: int) -> torch.Tensor:
    return init_(tensor, {"name": "glorot_normal"}, seed, fan_in, fan_out)


def glorot_uniform_(tensor: torch.Tensor, seed: int, fan_in: int, fan_out: int) -> torch.Tensor:
    return init_(tensor, {"name": "glorot_uniform"}, seed, fan_in, fan_out)


def he_normal_(tensor: torch.Tensor, seed: int, fan_in: int, fan_out: int = 1) -> torch.Tensor:
    return init_(tensor, {"name": "he_normal"}, seed, fan_in, fan_out)


def he_uniform_(tensor: torch.Tensor, seed: int, fan_in: int, fan_out: int = 1) -> torch.Tensor:
    return init_(tensor, {"name": "he_uniform"}, seed, fan_in, fan_out)


def lecun_normal_(tensor: torch.Tensor, seed: int, fan_in: int, fan_out: int = 1) -> torch.Tensor:
    return init_(tensor, {"name": "lecun_normal"}, seed, fan_in, fan_out)


def lecun_uniform_(tensor: torch.Tensor, seed: int, fan_in: int, fan_out: int = 1) -> torch.Tensor:
    return init_(tensor, {"name": "lecun_uniform"}, seed, fan_in, fan_out)


def normal_(tensor: torch.Tensor, seed: int, std: float, fan_in: Optional[int] = None, fan_out: Optional[int] = None) -> torch.Tensor:
    return init_(tensor, {"name": "normal", "std": std}, seed)


def uniform_(tensor: torch.Tensor, seed: int, limit: float, fan_in: Optional[int] = None, fan_out: Optional[int] = None) -> torch.Tensor:
    return init_(tensor, {"name": "uniform", "limit": limit}, seed)
