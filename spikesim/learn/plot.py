"""Plots for plasticity: STDP window, weight histograms over time, receptive fields.
Each takes ``ax=None`` (a new figure) and returns the Axes."""
from __future__ import annotations

from typing import Any

import numpy as np


def _ax(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def stdp_window(delta: Any, dw: Any, analytic: Any = None, *, ax: Any = None,
                label: str = "measured") -> Any:
    """Weight change against ``delta = t_post - t_pre`` (s, shown in ms), with the rule's
    analytic curve when given.

    Example: ``r = window_experiment(rule, d); stdp_window(r["delta"], r["dw"], r["analytic"])``.
    """
    ax = _ax(ax)
    d = np.asarray(delta) * 1e3
    if analytic is not None:
        order = np.argsort(d)
        ax.plot(d[order], np.asarray(analytic)[order], "-", color="0.6", lw=2, label="analytic")
    ax.plot(d, dw, ".", label=label)
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("t_post - t_pre (ms)")
    ax.set_ylabel("weight change")
    ax.legend()
    return ax


def weight_histograms(t: Any, w: Any, *, bins: int = 30, w_range: tuple | None = None,
                      ax: Any = None) -> Any:
    """Weight distribution over time as an image: ``w[snapshots, synapses]`` at times ``t``
    (s), e.g. from :func:`spikesim.learn.weight_history`.

    Example: ``weight_histograms(*weight_history(res, "syn"))``.
    """
    ax = _ax(ax)
    w = np.asarray(w)
    t = np.asarray(t)
    lo, hi = w_range if w_range is not None else (float(w.min()), float(w.max()) + 1e-12)
    H = np.stack([np.histogram(row, bins=bins, range=(lo, hi))[0] for row in w], axis=1)
    im = ax.imshow(H, aspect="auto", origin="lower", cmap="viridis",
                   extent=(t[0] if t.size else 0, t[-1] if t.size else 1, lo, hi))
    ax.figure.colorbar(im, ax=ax, label="synapses")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("weight")
    return ax


def receptive_fields(W: Any, shape: tuple[int, int], *, cols: int | None = None,
                     ax: Any = None, cmap: str = "hot_r") -> Any:
    """Tile the input weights of each neuron as an image: ``W[n_post, n_pre]`` with
    ``n_pre = shape[0] * shape[1]`` (e.g. 28x28 for MNIST).

    Example: ``receptive_fields(net["syn"].to_dense(), (28, 28))``.
    """
    ax = _ax(ax)
    W = np.asarray(W)
    h, w = shape
    if W.ndim != 2 or W.shape[1] != h * w:
        raise ValueError(f"W: expected shape [n_post, {h * w}], got {W.shape}")
    n = W.shape[0]
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    tile = np.full((rows * h, cols * w), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        tile[r * h:(r + 1) * h, c * w:(c + 1) * w] = W[k].reshape(h, w)
    ax.imshow(tile, cmap=cmap, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
