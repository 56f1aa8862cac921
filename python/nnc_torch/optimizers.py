"""The ten optimizers of the language, with the formulas of src/runtime/optimizers.ts.

Every optimizer is a `torch.optim.Optimizer` subclass built the same way as in TS: a class says
which per-parameter slots it keeps (moments, accumulators) and how one step maps
(w, g, slots, lr, t) to a new w and new slots; `RuleOptimizer` owns the slots, the step count and
the learning rate. torch's own optimizers are not used: their formulas differ (torch's momentum
and adagrad, ε outside the root in rmsprop, no lm, a different nadam schedule), and these must
agree with the TS engine step for step.

Notation: w a weight, g its gradient, lr the learning rate at this step (the group's ``lr``), t
the step number starting at 1, all operations elementwise, slots starting at zero.

- t counts `step()` calls of the optimizer (one per batch, TS's `iterations`), not per
  parameter: a parameter whose ``grad`` is None is left alone (its slots too) but the count
  still advances, as TS's applyGradients does.
- The learning rate is read at each step: set it with ``optimizer.learning_rate = lr`` (every
  group) at the start of each epoch, as the TS loop sets ``optimizer.learningRate``.
- Nothing comes from the loop but the gradients in ``p.grad`` (clip them first: nnc_torch.clip);
  `lm` estimates its curvature from the squared mini-batch gradient, like TS.
- Checkpoints: ``state_dict()`` is torch's plus ``"iterations"``; ``get_slots()`` gives the TS
  `optimizer.slots` view, ``{"<weight name>/<slot>": tensor}``, and ``set_slots`` restores one.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple, Union

import torch

__all__ = [
    "ADAMW_EPSILON",
    "DEFAULT_ARGS",
    "DEFAULT_LR",
    "LM_GAMMA",
    "NADAM_SCHEDULE_DECAY",
    "OPTIMIZERS",
    "RuleOptimizer",
    "create_optimizer",
    "slot_names",
]

Tensor = torch.Tensor
Slots = Dict[str, Tensor]

#: Each optimizer's arguments and defaults, as src/language/vocabulary.ts OPTIMIZERS.
DEFAULT_ARGS: Dict[str, Dict[str, float]] = {
    "sgd": {},
    "momentum": {"beta": 0.9},
    "nesterov": {"beta": 0.9},
    "adagrad": {"epsilon": 1e-7},
    "adadelta": {"rho": 0.95, "epsilon": 1e-7},
    "rmsprop": {"rho": 0.9, "epsilon": 1e-7},
    "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7},
    "nadam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7},
    "adamw": {"weight_decay": 0.01, "beta1": 0.9, "beta2": 0.999},
    "lm": {"mu": 1.0},
}

#: Each optimizer's default learning rate (vocabulary.ts `defaultLr`).
DEFAULT_LR: Dict[str, float] = {
    "sgd": 0.01, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.01, "adadelta": 1.0,
    "rmsprop": 0.001, "adam": 0.001, "nadam": 0.001, "adamw": 0.001, "lm": 0.1,
}

#: Dozat's momentum-schedule decay, as Keras's Nadam (μ_t = β1·(1 − ½·0.96^t)).
NADAM_SCHEDULE_DECAY = 0.96
#: adamw's ε: the language gives adamw no epsilon argument.
ADAMW_EPSILON = 1e-7
#: lm's decay γ of the running curvature estimate h.
LM_GAMMA = 0.05


class RuleOptimizer(torch.optim.Optimizer):
    """One optimizer's formula applied to every parameter; subclasses give `name`, `slots` and `rule`.

    `params` is an iterable of parameters or of (name, parameter) pairs (a dict name → parameter
    too); names key `slots()`/`set_slots()`, and default to the parameter's position.
    """

    name: str = ""
    slots: Tuple[str, ...] = ()

    def __init__(self, params: Union[Iterable[Any], Mapping[str, Tensor]], lr: float, **args: float):
        named = _named(params)
        self.names: List[str] = [n for n, _ in named]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"optimizer {self.name}: parameter names repeat")
        defaults = dict(DEFAULT_ARGS[self.name])
        for key, value in args.items():
            if key not in defaults:
                raise ValueError(f"optimizer {self.name}: unknown argument {key!r} (it takes {', '.join(defaults) or 'none'})")
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"optimizer {self.name}: argument {key!r} must be a finite number, got {value!r}")
            defaults[key] = float(value)
        defaults["lr"] = float(lr)
        super().__init__([p for _, p in named], defaults)
        self._by_name: Dict[str, Tensor] = dict(named)
        #: Steps taken so far (TS `iterations`); the next step is t = iterations + 1.
        self.iterations = 0

    # ── the formula ──────────────────────────────────────────────────────────────────────
    def rule(self, w: Tensor, g: Tensor, s: Slots, lr: float, t: int, group: Mapping[str, Any]) -> Tuple[Tensor, Slots]:
        """New weight and slots from the old ones (t 1-based); `group` holds the arguments."""
        raise NotImplementedError

    def restored(self) -> None:
        """Called after the state is replaced (load_state_dict, set_slots): drop caches derived from it."""

    def _stepped(self, group) -> List[Tensor]:
        """The group's parameters that have a gradient, each with its slots (zeros at first)."""
        params = [p for p in group["params"] if p.grad is not None]
        for p in params:
            if p.grad.is_sparse:
                raise RuntimeError(f"optimizer {self.name}: sparse gradients are not supported")
            state = self.state[p]
            for slot in self.slots:
                if slot not in state:
                    state[slot] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return params

    # ── torch's interface ────────────────────────────────────────────────────────────────
    @property
    def learning_rate(self) -> float:
        return self.param_groups[0]["lr"]

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        """Settable between steps (schedules); the next step uses the new value, in every group."""
        for group in self.param_groups:
            group["lr"] = float(value)

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        t = self.iterations + 1
        for group in self.param_groups:
            lr = group["lr"]
            for p in self._stepped(group):
                state = self.state[p]
                w, new = self.rule(p, p.grad, state, lr, t, group)
                p.copy_(w)
                for slot in self.slots:
                    state[slot] = new[slot]
        self.iterations = t
        return loss

    def state_dict(self) -> Dict[str, Any]:
        out = super().state_dict()
        out["iterations"] = self.iterations
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        state_dict = dict(state_dict)
        iterations = state_dict.pop("iterations", 0)
        super().load_state_dict(state_dict)
        self.iterations = int(iterations)
        self.restored()

    # ── the TS checkpoint view ───────────────────────────────────────────────────────────
    def get_slots(self) -> Dict[str, Tensor]:
        """Copies of every slot keyed ``"<parameter name>/<slot name>"`` (TS getState's `slots`),
        for the parameters that have taken a step."""
        out: Dict[str, Tensor] = {}
        for name, p in self._by_name.items():
            state = self.state.get(p)
            if not state:
                continue
            for slot in self.slots:
                out[f"{name}/{slot}"] = state[slot].detach().clone()
        return out

    def set_slots(self, slots: Mapping[str, Tensor], iterations: int) -> None:
        """Restores a `get_slots` result (or TS's `optimizer.slots`) and the step count. Every
        parameter named gets all its slots; parameters not named start from zero again."""
        if not isinstance(iterations, int) or iterations < 0:
            raise ValueError(f"optimizer {self.name}: iterations must be a whole number ≥ 0, got {iterations!r}")
        grouped: Dict[str, Dict[str, Tensor]] = {}
        for key, tensor in slots.items():
            at = key.rfind("/")
            if at <= 0:
                raise ValueError(f"optimizer state: slot key {key!r} is not '<variable>/<slot>'")
            variable, slot = key[:at], key[at + 1:]
            if slot not in self.slots:
                raise ValueError(f"optimizer {self.name}: unknown slot {slot!r} in {key!r}")
            if variable not in self._by_name:
                raise ValueError(f"optimizer {self.name}: slot {key!r} names no parameter")
            grouped.setdefault(variable, {})[slot] = tensor
        for variable, by_slot in grouped.items():
            missing = [s for s in self.slots if s not in by_slot]
            if missing:
                raise ValueError(f"optimizer {self.name}: variable {variable!r} lacks slot(s) {', '.join(missing)}")
            p = self._by_name[variable]
            for slot, tensor in by_slot.items():
                if tuple(tensor.shape) != tuple(p.shape):
                    raise ValueError(f"optimizer {self.name}: slot '{variable}/{slot}' has shape {list(tensor.shape)} but the parameter has {list(p.shape)}")
        self.state.clear()
        for variable, by_slot in grouped.items():
            p = self._by_name[variable]
            self.state[p] = {slot: torch.as_tensor(by_slot[slot]).detach().to(device=p.device, dtype=p.dtype).clone() for slot in self.slots}
        self.iterations = iterations
        self.restored()


def _named(params: Union[Iterable[Any], Mapping[str, Tensor]]) -> List[Tuple[str, Tensor]]:
    if isinstance(params, Mapping):
        return [(str(n), p) for n, p in params.items()]
    out: List[Tuple[str, Tensor]] = []
    for i, item in enumerate(params):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            out.append(item)
        elif isinstance(item, torch.Tensor):
            out.append((str(i), item))
        else:
            raise TypeError(f"optimizer: expected parameters or (name, parameter) pairs, got {type(item).__name__}")
    return out


class SGD(RuleOptimizer):
    """sgd: w ← w − lr·g."""

    name = "sgd"
    slots = ()

    def rule(self, w, g, s, lr, t, group):
        return w.sub(g.mul(lr)), {}


class Momentum(RuleOptimizer):
    """momentum(β) (Polyak's heavy ball): v ← β·v − lr·g; w ← w + v."""

    name = "momentum"
    slots = ("v",)

    def rule(self, w, g, s, lr, t, group):
        v = s["v"].mul(group["beta"]).sub(g.mul(lr))
        return w.add(v), {"v": v}


class Nesterov(RuleOptimizer):
    """nesterov(β), the look-ahead form: v ← β·v − lr·g; w ← w + β·v − lr·g (with the new v)."""

    name = "nesterov"
    slots = ("v",)

    def rule(self, w, g, s, lr, t, group):
        beta = group["beta"]
        lr_g = g.mul(lr)
        v = s["v"].mul(beta).sub(lr_g)
        return w.add(v.mul(beta)).sub(lr_g), {"v": v}


class Adagrad(RuleOptimizer):
    """adagrad(ε): G ← G + g²; w ← w − lr·g / (√G + ε). G starts at 0."""

    name = "adagrad"
    slots = ("G",)

    def rule(self, w, g, s, lr, t, group):
        G = s["G"].add(g.square())
        return w.sub(g.mul(lr).div(G.sqrt().add(group["epsilon"]))), {"G": G}


class Adadelta(RuleOptimizer):
    """adadelta(ρ, ε) (Zeiler 2012, lr as a multiplier): with RMS[x] = √(x + ε),
    Eg ← ρ·Eg + (1−ρ)·g²;  Δ = −(RMS[Ed] / RMS[Eg])·g;  Ed ← ρ·Ed + (1−ρ)·Δ²;  w ← w + lr·Δ."""

    name = "adadelta"
    slots = ("Eg", "Ed")

    def rule(self, w, g, s, lr, t, group):
        rho, eps = group["rho"], group["epsilon"]
        Eg = s["Eg"].mul(rho).add(g.square().mul(1 - rho))
        delta = s["Ed"].add(eps).sqrt().div(Eg.add(eps).sqrt()).mul(g).neg()
        Ed = s["Ed"].mul(rho).add(delta.square().mul(1 - rho))
        return w.add(delta.mul(lr)), {"Eg": Eg, "Ed": Ed}


class RMSprop(RuleOptimizer):
    """rmsprop(ρ, ε), ε inside the root: E ← ρ·E + (1−ρ)·g²; w ← w − lr·g / √(E + ε)."""

    name = "rmsprop"
    slots = ("E",)

    def rule(self, w, g, s, lr, t, group):
        rho = group["rho"]
        E = s["E"].mul(rho).add(g.square().mul(1 - rho))
        return w.sub(g.mul(lr).div(E.add(group["epsilon"]).sqrt())), {"E": E}


def _adam_step(g: Tensor, s: Slots, lr: float, t: int, beta1: float, beta2: float, epsilon: float):
    """The Adam step shared by adam and adamw: new moments and lr·m̂/(√v̂ + ε)."""
    m = s["m"].mul(beta1).add(g.mul(1 - beta1))
    v = s["v"].mul(beta2).add(g.square().mul(1 - beta2))
    m_hat = m.div(1 - beta1 ** t)
    v_hat = v.div(1 - beta2 ** t)
    return m_hat.mul(lr).div(v_hat.sqrt().add(epsilon)), m, v


class _ForeachAdam(RuleOptimizer):
    """Adam's step over all of a group's parameters at once, in place (torch._foreach_*): the
    same operations in the same order as `_adam_step` (so the same numbers), without a kernel
    launch and a temporary per operation and parameter. Subclasses say ε and the decoupled decay."""

    def _epsilon(self, group) -> float:
        raise NotImplementedError

    def _decay(self, group) -> float:
        return 0.0

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        t = self.iterations + 1
        for group in self.param_groups:
            params = self._stepped(group)
            if not params:
                continue
            lr, b1, b2 = group["lr"], group["beta1"], group["beta2"]
            gs = [p.grad for p in params]
            ms = [self.state[p]["m"] for p in params]
            vs = [self.state[p]["v"] for p in params]
            torch._foreach_mul_(ms, b1)
            torch._foreach_add_(ms, torch._foreach_mul(gs, 1 - b1))
            torch._foreach_mul_(vs, b2)
            torch._foreach_add_(vs, torch._foreach_mul(torch._foreach_mul(gs, gs), 1 - b2))
            update = torch._foreach_div(ms, 1 - b1 ** t)
            root = torch._foreach_div(vs, 1 - b2 ** t)
            torch._foreach_sqrt_(root)
            torch._foreach_add_(root, self._epsilon(group))
            torch._foreach_mul_(update, lr)
            torch._foreach_div_(update, root)
            decay = self._decay(group)
            if decay:
                torch._foreach_sub_(params, torch._foreach_mul(params, lr * decay))
            torch._foreach_sub_(params, update)
        self.iterations = t
        return loss


class Adam(_ForeachAdam):
    """adam(β1, β2, ε) with bias correction:
    m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  m̂ = m/(1−β1^t);  v̂ = v/(1−β2^t);  w ← w − lr·m̂/(√v̂ + ε)."""

    name = "adam"
    slots = ("m", "v")

    def rule(self, w, g, s, lr, t, group):
        update, m, v = _adam_step(g, s, lr, t, group["beta1"], group["beta2"], group["epsilon"])
        return w.sub(update), {"m": m, "v": v}

    def _epsilon(self, group) -> float:
        return group["epsilon"]


class Nadam(RuleOptimizer):
    """nadam(β1, β2, ε) exactly as Keras's Nadam, μ_t = β1·(1 − ½·0.96^t), Π_t = μ_1·…·μ_t:
    m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
    m̂ = μ_{t+1}·m/(1 − Π_t·μ_{t+1}) + (1 − μ_t)·g/(1 − Π_t);  v̂ = v/(1 − β2^t);  w ← w − lr·m̂/(√v̂ + ε).
    Π_t depends only on t (and β1, taken from the first group), so it is recomputed from the step count."""

    name = "nadam"
    slots = ("m", "v")

    def __init__(self, params, lr, **args):
        self._cached_t = 0
        self._cached_product = 1.0
        super().__init__(params, lr, **args)

    def _mu(self, t: int) -> float:
        return self.param_groups[0]["beta1"] * (1 - 0.5 * NADAM_SCHEDULE_DECAY ** t)

    def _product(self, t: int) -> float:
        """Π_t, incrementally when steps come in order, from scratch after a restore."""
        if t < self._cached_t:
            self._cached_t, self._cached_product = 0, 1.0
        while self._cached_t < t:
            self._cached_t += 1
            self._cached_product *= self._mu(self._cached_t)
        return self._cached_product

    def restored(self) -> None:
        # Π_t depends only on t and β1, but a restored state may bring another β1.
        self._cached_t, self._cached_product = 0, 1.0

    def rule(self, w, g, s, lr, t, group):
        beta1, beta2 = group["beta1"], group["beta2"]
        mu_t = self._mu(t)
        mu_next = self._mu(t + 1)
        prod_t = self._product(t)
        m = s["m"].mul(beta1).add(g.mul(1 - beta1))
        v = s["v"].mul(beta2).add(g.square().mul(1 - beta2))
        m_hat = m.mul(mu_next / (1 - prod_t * mu_next)).add(g.mul((1 - mu_t) / (1 - prod_t)))
        v_hat = v.div(1 - beta2 ** t)
        return w.sub(m_hat.mul(lr).div(v_hat.sqrt().add(group["epsilon"]))), {"m": m, "v": v}


class AdamW(_ForeachAdam):
    """adamw(wd, β1, β2), decoupled weight decay scaled by lr, ε = 1e-7:
    w ← w − lr·wd·w − lr·m̂/(√v̂ + ε) (the decay does not pass through the moments)."""

    name = "adamw"
    slots = ("m", "v")

    def rule(self, w, g, s, lr, t, group):
        update, m, v = _adam_step(g, s, lr, t, group["beta1"], group["beta2"], ADAMW_EPSILON)
        return w.sub(w.mul(lr * group["weight_decay"])).sub(update), {"m": m, "v": v}

    def _epsilon(self, group) -> float:
        return ADAMW_EPSILON

    def _decay(self, group) -> float:
        return group["weight_decay"]


class LM(RuleOptimizer):
    """lm(μ): stochastic diagonal Levenberg–Marquardt (LeCun et al. 1998, §9.1) with, as in TS, the
    curvature h an empirical-Fisher estimate (a running average of the squared mini-batch
    gradient, decay γ = 0.05, bias-corrected):
    h ← (1−γ)·h + γ·g²;  ĥ = h/(1 − (1−γ)^t);  w ← w − lr·g/(ĥ + μ).
    It needs nothing from the loop beyond the gradient."""

    name = "lm"
    slots = ("h",)

    def rule(self, w, g, s, lr, t, group):
        h = s["h"].mul(1 - LM_GAMMA).add(g.square().mul(LM_GAMMA))
        h_hat = h.div(1 - (1 - LM_GAMMA) ** t)
        return w.sub(g.mul(lr).div(h_hat.add(group["mu"]))), {"h": h}


#: The optimizer class for each name of the language.
OPTIMIZERS = {cls.name: cls for cls in (SGD, Momentum, Nesterov, Adagrad, Adadelta, RMSprop, Adam, Nadam, AdamW, LM)}


def _class_for(config: Mapping[str, Any]):
    name = config.get("name")
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r} (known: {', '.join(OPTIMIZERS)})")
    return OPTIMIZERS[name]


def create_optimizer(config: Mapping[str, Any], params_with_names: Union[Iterable[Any], Mapping[str, Tensor]], lr: float) -> RuleOptimizer:
    """The optimizer a recipe names, ``{"name": "adam", "args": {"beta1": 0.9, …}}`` (missing
    arguments take the language's defaults), over `params_with_names` ((name, parameter) pairs,
    a dict, or bare parameters), at learning rate `lr`."""
    cls = _class_for(config)
    return cls(params_with_names, lr, **dict(config.get("args") or {}))


def slot_names(config: Mapping[str, Any]) -> Sequence[str]:
    """The slots the optimizer keeps per trainable weight, by name (adam: m, v; momentum: v; sgd: none)."""
    return tuple(_class_for(config).slots)
