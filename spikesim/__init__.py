"""spikesim: spiking neural networks from Jupyter to neuromorphic chips.

One network description (:mod:`spikesim.ir`) runs on the float reference engines
(:class:`spikesim.sim.Simulator`, ``engine="clock"`` or ``"event"``), on chip models
(:mod:`spikesim.backends`), and every run returns the same :class:`spikesim.sim.Result`
with operation :class:`spikesim.sim.Counts` that :mod:`spikesim.energy` prices.

Importing spikesim compiles nothing: numba kernels compile lazily on first use (with an
on-disk cache) and the time they take is reported in each result as ``jit_s``.
"""
from __future__ import annotations

__version__ = "0.1.0"

from spikesim import units  # noqa: F401  (cheap, no numba)
from spikesim.sweep import evaluate, sweep  # noqa: E402  (functions shadow the module name)

__all__ = ["__version__", "units", "sweep", "evaluate"]


def __getattr__(name: str):
    # Lazy sub-module access (``spikesim.sim``, ``spikesim.ir`` ...) without importing
    # numba-heavy modules at ``import spikesim`` time.
    import importlib

    if name in {"ir", "sim", "plot", "energy", "nn", "quant", "learn", "convert", "data",
                "backends", "kernels", "cli"}:
        return importlib.import_module(f"spikesim.{name}")
    raise AttributeError(f"module 'spikesim' has no attribute {name!r}")
