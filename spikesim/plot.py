"""Plots: raster, membrane traces, firing-rate histogram, weight matrices.

Every function takes ``ax=None`` (a new figure is made) and returns the matplotlib Axes;
matplotlib is imported only when a plot is made.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from spikesim.sim.result import Result, SpikeTrain


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 3.5))
    return ax


def _train(src: Result | SpikeTrain, node: str | None) -> SpikeTrain:
    if isinstance(src, SpikeTrain):
        return src
    if not isinstance(src, Result):
        raise TypeError(f"expected a Result or SpikeTrain, got {type(src).__name__}")
    if node is None:
        if len(src.spikes) != 1:
            raise ValueError(f"node: the result holds spikes of {list(src.spikes)}; name one")
        node = next(iter(src.spikes))
    if node not in src.spikes:
        raise ValueError(f"node: {node!r} has no recorded spikes; recorded: {list(src.spikes)}")
    return src.spikes[node]


def raster(src: Result | SpikeTrain, node: str | None = None, *, batch: int = 0,
           max_neurons: int | None = None, ax: Any = None, **kw):
    """Spike raster (time in ms against neuron index) of one node and batch entry.

    Example: ``spikesim.plot.raster(res, "P", max_neurons=500)``.
    """
    st = _train(src, node).select(batch)
    keep = st.i < max_neurons if max_neurons else np.ones(len(st), bool)
    ax = _ax(ax)
    ax.scatter(st.t[keep] * 1e3, st.i[keep], s=kw.pop("s", 1.0), c=kw.pop("c", "k"),
               marker=kw.pop("marker", "."), linewidths=0, **kw)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    ax.set_ylim(-0.5, (max_neurons or st.n) - 0.5)
    if node:
        ax.set_title(node)
    return ax


def traces(res: Result, node: str, variable: str = "v", *, batch: int = 0,
           neurons: Any = None, scale: float = 1e3, unit: str = "mV", ax: Any = None, **kw):
    """Recorded state traces of ``node`` (default membrane potential, shown in mV).

    Example: ``spikesim.plot.traces(res, "P", "v", neurons=[0, 1])``.
    """
    if node not in res.state or variable not in res.state[node]:
        have = {k: list(v) for k, v in res.state.items()}
        raise ValueError(f"no recorded {variable!r} for {node!r}; recorded: {have}")
    data = res.state[node][variable][:, batch, :]
    idx = res.state_index[node]
    cols = range(data.shape[1]) if neurons is None else [int(np.flatnonzero(idx == k)[0]) for k in neurons]
    ax = _ax(ax)
    for c in cols:
        ax.plot(res.state_t * 1e3, data[:, c] * scale, label=f"{node}[{idx[c]}]", **kw)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"{variable} ({unit})" if unit else variable)
    if len(cols) <= 8:
        ax.legend(fontsize="small")
    return ax


def rate_histogram(src: Result | SpikeTrain, node: str | None = None, *, duration: float | None = None,
                   bins: int = 30, ax: Any = None, **kw):
    """Histogram of per-neuron firing rates (Hz)."""
    st = _train(src, node)
    if duration is None:
        if not isinstance(src, Result):
            raise ValueError("duration: needed when plotting a bare SpikeTrain")
        duration = src.duration
    nb = int(st.b.max()) + 1 if len(st) else 1
    rates = np.bincount(st.i, minlength=st.n) / (duration * nb)
    ax = _ax(ax)
    ax.hist(rates, bins=bins, color=kw.pop("color", "0.4"), **kw)
    ax.set_xlabel("firing rate (Hz)")
    ax.set_ylabel("neurons")
    return ax


def weights(w: np.ndarray, *, ax: Any = None, cmap: str = "RdBu_r", **kw):
    """Weight matrix ``[post, pre]`` as an image with a symmetric colour scale."""
    w = np.asarray(w)
    ax = _ax(ax)
    lim = float(np.abs(w).max()) or 1.0
    im = ax.imshow(w, aspect="auto", cmap=cmap, vmin=-lim, vmax=lim, interpolation="nearest", **kw)
    ax.figure.colorbar(im, ax=ax)
    ax.set_xlabel("presynaptic")
    ax.set_ylabel("postsynaptic")
    return ax
