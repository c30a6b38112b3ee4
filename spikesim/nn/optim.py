"""Optimisers (SGD with momentum, Adam) and learning-rate schedules.

Optimisers update a :class:`~spikesim.nn.Sequential`'s parameters in place from the gradients
of the last backward pass. ``weight_decay`` adds ``weight_decay * w`` to the gradient (L2, as
PyTorch's ``SGD``/``Adam``); ``decoupled=True`` on Adam gives AdamW. A schedule is a callable
``epoch -> factor``; the :class:`~spikesim.nn.Trainer` sets ``lr = base_lr * factor`` at the
start of every epoch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spikesim.nn import _kernels as K


def _check_lr(lr: float) -> float:
    if not (isinstance(lr, (int, float, np.floating)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr={lr!r} must be a finite number > 0")
    return float(lr)


class Optimizer:
    def __init__(self, model, lr: float, weight_decay: float = 0.0):
        self.model = model
        self.lr = _check_lr(lr)
        self.base_lr = self.lr
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay={weight_decay!r} must be >= 0")
        self.weight_decay = float(weight_decay)
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.steps = 0

    def _pairs(self):
        grads = dict(self.model.named_grads())
        for name, p in self.model.named_parameters():
            g = grads.get(name)
            if g is not None:
                yield name, p, g

    def step(self) -> None:
        self.steps += 1
        for name, p, g in self._pairs():
            g = np.asarray(g, dtype=np.float64) if p.dtype == np.float64 else g.astype(p.dtype)
            if self.weight_decay and not getattr(self, "decoupled", False):
                g = g + self.weight_decay * p
            self._update(name, p, g)
        self.model.post_step()

    def state_dict(self) -> dict[str, np.ndarray]:
        out = {f"{n}/{k}": v.copy() for n, d in self.state.items() for k, v in d.items()}
        out["__steps__"] = np.array(self.steps)
        out["__lr__"] = np.array(self.lr)
        return out

    def load_state_dict(self, sd: dict[str, np.ndarray]) -> None:
        self.state = {}
        for key, v in sd.items():
            if key == "__steps__":
                self.steps = int(v)
            elif key == "__lr__":
                self.lr = float(v)
            else:
                n, k = key.rsplit("/", 1)
                self.state.setdefault(n, {})[k] = np.array(v)


class SGD(Optimizer):
    """SGD with (optionally Nesterov) momentum, PyTorch's formulation.

    Example:
        >>> from spikesim.nn import Sequential, Dense
        >>> opt = SGD(Sequential(Dense(2, 2, rng=0)), lr=0.1, momentum=0.9)
    """

    def __init__(self, model, lr: float = 0.01, momentum: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(model, lr, weight_decay)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum={momentum!r} must be in [0, 1)")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _update(self, name, p, g):
        if self.momentum:
            st = self.state.setdefault(name, {})
            if "v" not in st:
                st["v"] = g.copy()
            else:
                st["v"] *= self.momentum
                st["v"] += g
            g = g + self.momentum * st["v"] if self.nesterov else st["v"]
        p -= (self.lr * g).astype(p.dtype)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction; ``decoupled=True`` gives AdamW.

    Example:
        >>> from spikesim.nn import Sequential, Dense
        >>> opt = Adam(Sequential(Dense(2, 2, rng=0)), lr=1e-3)
    """

    def __init__(self, model, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled: bool = False):
        super().__init__(model, lr, weight_decay)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas={betas!r} must be in [0, 1)")
        self.betas = (float(b1), float(b2))
        self.eps = float(eps)
        self.decoupled = bool(decoupled)

    def _update(self, name, p, g):
        b1, b2 = self.betas
        st = self.state.setdefault(name, {})
        if "m" not in st:
            st["m"] = np.zeros_like(p)
            st["v"] = np.zeros_like(p)
        t = self.steps
        decay = self.lr * self.weight_decay if self.decoupled else 0.0
        if p.flags.c_contiguous:  # one fused pass (numba)
            K.adam_update(p, g, st["m"], st["v"], b1, b2, self.lr / (1 - b1**t), 1 - b2**t,
                          self.eps, decay)
            return
        m, v = st["m"], st["v"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        step = self.lr / (1 - b1**t)
        denom = np.sqrt(v / (1 - b2**t)) + self.eps
        if decay:
            p -= (decay * p).astype(p.dtype)
        p -= (step * m / denom).astype(p.dtype)


@dataclass(frozen=True)
class StepLR:
    """``gamma ** (epoch // step_size)``."""

    step_size: int
    gamma: float = 0.1

    def __call__(self, epoch: int) -> float:
        return self.gamma ** (epoch // self.step_size)


@dataclass(frozen=True)
class ExponentialLR:
    """``gamma ** epoch``."""

    gamma: float

    def __call__(self, epoch: int) -> float:
        return self.gamma**epoch


@dataclass(frozen=True)
class CosineLR:
    """Cosine annealing from 1 to ``min_factor`` over ``epochs`` epochs.

    Example:
        >>> CosineLR(10)(0), round(CosineLR(10)(5), 3)
        (1.0, 0.5)
    """

    epochs: int
    min_factor: float = 0.0

    def __call__(self, epoch: int) -> float:
        e = min(epoch, self.epochs)
        cos = 0.5 * (1 + math.cos(math.pi * e / self.epochs))
        return self.min_factor + (1 - self.min_factor) * cos
