"""Event data: tonic adapter, event-camera emulator, synthetic event digits, streaming.

- :mod:`~spikesim.data.events`: tonic's structured ``x, y, t, p`` events (t in us):
  :data:`EVENT_DTYPE`, :func:`make_events`, :func:`validate_events`, :func:`event_stats`.
- :mod:`~spikesim.data.adapter`: events -> spike tensors ``[T, C, H, W]``
  (:func:`to_frames`, :class:`ToSpikeTensor`, via tonic's ``ToFrame``) and -> spike times
  (:func:`to_spike_times`, :class:`ToSpikeTimes`, a :class:`spikesim.sim.SpikeTimes`).
- :mod:`~spikesim.data.emulator`: a DVS-like change detector (:func:`emulate`,
  :class:`EmulatorConfig`), numba per-pixel kernel.
- :mod:`~spikesim.data.saccades`: synthetic N-MNIST-like digits
  (:class:`SyntheticEventDigits`, :func:`saccade_events`).
- :mod:`~spikesim.data.datasets`: real N-MNIST, DVS128 Gesture, SHD through tonic from local
  files (:func:`load_nmnist`, :func:`load_dvs_gesture`, :func:`load_shd`).
- :mod:`~spikesim.data.stream`: :func:`iter_batches`, :func:`materialize`, :func:`evaluate`
  with progress bars and bounded memory.

Importing this package imports neither tonic nor numba; they load when first used.

Example:
    >>> import numpy as np
    >>> from spikesim import data
    >>> ev = data.make_events([1, 2], [3, 3], [100, 900], [1, 0])
    >>> data.to_frames(ev, (34, 34, 2), dt_s=1e-3, duration_s=1e-3).shape
    (1, 2, 34, 34)
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "EVENT_DTYPE": "events", "make_events": "events", "validate_events": "events",
    "event_stats": "events", "EventStats": "events",
    "to_frames": "adapter", "ToSpikeTensor": "adapter", "to_spike_times": "adapter",
    "ToSpikeTimes": "adapter", "stack_spike_times": "adapter",
    "EmulatorConfig": "emulator", "emulate": "emulator", "pixel_thresholds": "emulator",
    "EmulatorRun": "emulator",
    "SyntheticEventDigits": "saccades", "saccade_events": "saccades",
    "saccade_path": "saccades", "render_shifted": "saccades",
    "nmnist_like_config": "saccades", "NMNIST_SENSOR_SIZE": "saccades",
    "load_nmnist": "datasets", "load_dvs_gesture": "datasets", "load_shd": "datasets",
    "SENSOR_SIZES": "datasets",
    "iter_batches": "stream", "materialize": "stream", "evaluate": "stream",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        mod = importlib.import_module(f"spikesim.data.{_EXPORTS[name]}")
        return getattr(mod, name)
    raise AttributeError(f"module 'spikesim.data' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
