"""Surrogate gradients for the spike non-linearity ``S = H(U - theta)``.

Each surrogate is a frozen dataclass with

* ``grad(x)``: the pseudo-derivative used in the backward pass (``x = U - theta``);
* ``smooth(x)``: a smooth function whose exact derivative is ``grad(x)``. The gradient-check
  mode of the spiking layers uses it in the forward pass, so finite differences can test the
  backward pass exactly.

Definitions (snnTorch's, so trained models compare like for like):

* :class:`FastSigmoid` (Zenke & Ganguli 2018, SuperSpike): ``grad = 1 / (1 + k|x|)**2``,
  ``smooth = x / (1 + k|x|) + 1/k``; snnTorch ``surrogate.fast_sigmoid(slope=25)``.
* :class:`ATan` (Fang et al. 2021): ``grad = (alpha/2) / (1 + (pi/2 * alpha * x)**2)``,
  ``smooth = arctan(pi/2 * alpha * x) / pi + 1/2``; snnTorch ``surrogate.atan(alpha=2)``.
* :class:`Triangle` (Esser et al. 2016): ``grad = max(0, 1 - |x|/w) / w`` (unit area),
  ``smooth`` the matching piecewise-quadratic ramp from 0 to 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# integer codes used by the numba kernels
FAST_SIGMOID, ATAN, TRIANGLE = 0, 1, 2


@dataclass(frozen=True)
class Surrogate:
    """Base class; ``code`` and ``param`` are what the numba kernels receive."""

    @property
    def code(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def param(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def grad(self, x: np.ndarray) -> np.ndarray:
        return _grad_np(self.code, self.param, np.asarray(x))

    def smooth(self, x: np.ndarray) -> np.ndarray:
        return _smooth_np(self.code, self.param, np.asarray(x))


def _positive(name: str, v: float) -> None:
    if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) and v > 0):
        raise ValueError(f"{name}={v!r} must be a finite number > 0")


@dataclass(frozen=True)
class FastSigmoid(Surrogate):
    """Fast-sigmoid surrogate, ``grad = 1/(1 + slope*|x|)**2``.

    Example:
        >>> float(FastSigmoid(slope=25).grad(np.array(0.0)))
        1.0
    """

    slope: float = 25.0

    def __post_init__(self) -> None:
        _positive("slope", self.slope)

    @property
    def code(self) -> int:
        return FAST_SIGMOID

    @property
    def param(self) -> float:
        return float(self.slope)


@dataclass(frozen=True)
class ATan(Surrogate):
    """Arctan surrogate, ``grad = (alpha/2) / (1 + (pi/2*alpha*x)**2)``.

    Example:
        >>> float(ATan(alpha=2.0).grad(np.array(0.0)))
        1.0
    """

    alpha: float = 2.0

    def __post_init__(self) -> None:
        _positive("alpha", self.alpha)

    @property
    def code(self) -> int:
        return ATAN

    @property
    def param(self) -> float:
        return float(self.alpha)


@dataclass(frozen=True)
class Triangle(Surrogate):
    """Triangle surrogate of half-width ``width`` and unit area.

    Example:
        >>> float(Triangle(width=0.5).grad(np.array(0.25)))
        1.0
    """

    width: float = 1.0

    def __post_init__(self) -> None:
        _positive("width", self.width)

    @property
    def code(self) -> int:
        return TRIANGLE

    @property
    def param(self) -> float:
        return float(self.width)


_NAMES = {"fast_sigmoid": FastSigmoid, "atan": ATan, "arctan": ATan, "triangle": Triangle}


def get_surrogate(s) -> Surrogate:
    """A :class:`Surrogate` from an instance or a name (``"fast_sigmoid"``, ``"atan"``,
    ``"triangle"``) with default parameters.

    Example:
        >>> get_surrogate("atan")
        ATan(alpha=2.0)
    """
    if isinstance(s, Surrogate):
        return s
    if isinstance(s, str) and s in _NAMES:
        return _NAMES[s]()
    raise ValueError(f"surrogate={s!r} is unknown: allowed a Surrogate instance or one of "
                     f"{sorted(_NAMES)}")


def _grad_np(code: int, p: float, x: np.ndarray) -> np.ndarray:
    if code == FAST_SIGMOID:
        return 1.0 / (1.0 + p * np.abs(x)) ** 2
    if code == ATAN:
        return (p / 2) / (1.0 + (np.pi / 2 * p * x) ** 2)
    return np.maximum(0.0, 1.0 - np.abs(x) / p) / p


def _smooth_np(code: int, p: float, x: np.ndarray) -> np.ndarray:
    if code == FAST_SIGMOID:
        return x / (1.0 + p * np.abs(x)) + 1.0 / p
    if code == ATAN:
        return np.arctan(np.pi / 2 * p * x) / np.pi + 0.5
    xc = np.clip(x, -p, p)
    return np.where(xc < 0, (xc + p) ** 2 / (2 * p * p), 1.0 - (p - xc) ** 2 / (2 * p * p))
