"""Losses: each is called as ``loss(output, labels) -> (value, d value / d output)`` and has
``predict(output) -> class indices``. Values are means over the batch.

* :class:`CrossEntropy`: ANN logits ``[B, C]``.
* :class:`CrossEntropyCount`: spike counts of a spiking output ``[T, B, C]`` used as logits.
* :class:`CrossEntropyMembrane`: membrane of an :class:`~spikesim.nn.LI` readout ``[T, B, C]``;
  ``reduce="mean"`` (logits = time-mean membrane), ``"max"`` (time-max) or ``"sum"`` (the
  per-step cross-entropies summed over time, as snnTorch's tutorials).
* :class:`CountMSE`: mean squared error between spike counts and target counts
  ``correct_rate * T`` (true class) and ``incorrect_rate * T`` (others), as snnTorch's
  ``mse_count_loss``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _labels(y, B: int, C: int) -> np.ndarray:
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, got dtype {y.dtype}")
    if y.shape != (B,):
        raise ValueError(f"labels shape {y.shape} != ({B},) (one label per sample)")
    if B and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"labels must be in [0, {C - 1}], got range [{y.min()}, {y.max()}]")
    return y.astype(np.intp)


def _ce(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) and its gradient w.r.t. logits."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    B = z.shape[0]
    loss = float(-np.mean(np.log(np.maximum(p[np.arange(B), y], 1e-300))))
    g = p
    g[np.arange(B), y] -= 1.0
    return loss, g / B


def _check_out(out, ndim: int, name: str) -> None:
    if not isinstance(out, np.ndarray) or out.dtype.kind != "f":
        raise TypeError(f"{name}: output must be a float array")
    if out.ndim != ndim:
        raise ValueError(f"{name}: output shape {out.shape} must have {ndim} dims "
                         f"({'[B, C]' if ndim == 2 else '[T, B, C]'})")


@dataclass(frozen=True)
class CrossEntropy:
    """Softmax cross-entropy on logits ``[B, C]``.

    Example:
        >>> loss, g = CrossEntropy()(np.zeros((2, 4), np.float32), np.array([0, 3]))
        >>> round(loss, 4)
        1.3863
    """

    def __call__(self, out, y):
        _check_out(out, 2, "CrossEntropy")
        loss, g = _ce(out, _labels(y, out.shape[0], out.shape[1]))
        return loss, g.astype(out.dtype)

    def predict(self, out):
        return out.argmax(axis=1)


@dataclass(frozen=True)
class CrossEntropyCount:
    """Cross-entropy with spike counts ``sum_t S[t]`` as logits (output ``[T, B, C]``)."""

    def __call__(self, out, y):
        _check_out(out, 3, "CrossEntropyCount")
        loss, g = _ce(out.sum(0), _labels(y, out.shape[1], out.shape[2]))
        return loss, np.broadcast_to(g.astype(out.dtype), out.shape).copy()

    def predict(self, out):
        return out.sum(0).argmax(axis=1)


@dataclass(frozen=True)
class CrossEntropyMembrane:
    """Cross-entropy on a readout membrane ``[T, B, C]`` (see module docs for ``reduce``)."""

    reduce: str = "mean"

    def __post_init__(self):
        if self.reduce not in ("mean", "max", "sum"):
            raise ValueError(f"reduce={self.reduce!r} is unknown: allowed 'mean', 'max', 'sum'")

    def __call__(self, out, y):
        _check_out(out, 3, "CrossEntropyMembrane")
        T, B, C = out.shape
        yy = _labels(y, B, C)
        if self.reduce == "mean":
            loss, g = _ce(out.mean(0), yy)
            return loss, np.broadcast_to((g / T).astype(out.dtype), out.shape).copy()
        if self.reduce == "max":
            idx = out.argmax(0)
            loss, g = _ce(np.take_along_axis(out, idx[None], 0)[0], yy)
            full = np.zeros(out.shape, out.dtype)
            np.put_along_axis(full, idx[None], g[None].astype(out.dtype), 0)
            return loss, full
        total, full = 0.0, np.empty(out.shape, out.dtype)
        for t in range(T):
            lt, gt = _ce(out[t], yy)
            total += lt
            full[t] = gt
        return total, full

    def predict(self, out):
        if self.reduce == "max":
            return out.max(0).argmax(axis=1)
        return out.mean(0).argmax(axis=1)


@dataclass(frozen=True)
class CountMSE:
    """MSE between spike counts and targets ``correct_rate*T`` / ``incorrect_rate*T``
    (mean over batch and classes)."""

    correct_rate: float = 0.8
    incorrect_rate: float = 0.2

    def __post_init__(self):
        for k in ("correct_rate", "incorrect_rate"):
            v = getattr(self, k)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{k}={v!r} must be in [0, 1]")

    def __call__(self, out, y):
        _check_out(out, 3, "CountMSE")
        T, B, C = out.shape
        yy = _labels(y, B, C)
        tgt = np.full((B, C), self.incorrect_rate * T)
        tgt[np.arange(B), yy] = self.correct_rate * T
        d = out.sum(0).astype(np.float64) - tgt
        loss = float(np.mean(d * d))
        g = (2.0 * d / d.size).astype(out.dtype)
        return loss, np.broadcast_to(g, out.shape).copy()

    def predict(self, out):
        return out.sum(0).argmax(axis=1)


_LOSSES = {"ce": CrossEntropy, "ce_count": CrossEntropyCount,
           "ce_membrane": CrossEntropyMembrane, "count_mse": CountMSE}


def get_loss(loss):
    """A loss from an instance or a name (``"ce"``, ``"ce_count"``, ``"ce_membrane"``,
    ``"count_mse"``)."""
    if isinstance(loss, tuple(_LOSSES.values())):
        return loss
    if isinstance(loss, str) and loss in _LOSSES:
        return _LOSSES[loss]()
    if callable(loss) and hasattr(loss, "predict"):
        return loss
    raise ValueError(f"loss={loss!r} is unknown: allowed a loss instance or one of "
                     f"{sorted(_LOSSES)}")
