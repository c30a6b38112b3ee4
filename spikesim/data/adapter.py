"""From tonic events to what the engines and the trainer eat.

Two targets:

- **spike tensors** ``[T, C, H, W]`` (C = polarity channels) on a fixed time grid, for
  :mod:`spikesim.nn` and for clock-engine runs: :func:`to_frames` / :class:`ToSpikeTensor`.
  The accumulation is tonic's own ``ToFrame`` (``time_window`` slicing with explicit start and
  end times, so frame ``k`` always covers ``[t_start + k*dt, t_start + (k+1)*dt)``); spikesim
  only fixes the grid, handles empty recordings and (by default) binarises counts to spikes.
- **spike times** for the engines: :func:`to_spike_times` / :class:`ToSpikeTimes` return a
  :class:`spikesim.sim.SpikeTimes` (seconds, flat channel index in ``(C, H, W)`` order, the
  layout of an ``ir.Input(shape=(C, H, W))``). A spike tensor goes to the clock engine as
  ``spikesim.sim.Frames(frames, dt_frame=dt_s)``.

tonic's transforms (``Denoise``, ``Downsample``, ``RefractoryPeriod``, ...) are used as they
are on the structured events before either conversion; nothing here re-implements them.
tonic is imported only inside the functions that call it.

Documented handling: events at or after the end of the grid (``t_start + T*dt``) and before
``t_start`` fall in no frame (tonic's slicing); :func:`to_frames` reports how many with
``return_dropped=True``. An empty recording gives all-zero frames (it needs ``duration_s``
to know T) and an empty spike train.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from spikesim.data.events import _check_sensor_size, validate_events


def _grid(dt_s: float | None, n_time_bins: int | None, duration_s: float | None,
          t_last_us: float | None) -> tuple[int, float]:
    """Number of frames T and frame width in microseconds."""
    if (dt_s is None) == (n_time_bins is None):
        raise ValueError("give exactly one of dt_s (frame width in s) and n_time_bins, got "
                         f"dt_s={dt_s!r}, n_time_bins={n_time_bins!r}")
    if duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration_s must be a finite float > 0 (seconds), got {duration_s!r}")
    if dt_s is not None:
        if not (math.isfinite(dt_s) and dt_s > 0):
            raise ValueError(f"dt_s must be a finite float > 0 (seconds), got {dt_s!r}")
        width = dt_s * 1e6
        if duration_s is None:
            if t_last_us is None:
                raise ValueError("an empty recording needs duration_s to know the number of "
                                 "frames")
            n = int(t_last_us // width) + 1
        else:
            n = max(int(round(duration_s / dt_s)), 1)
        return n, width
    if not (isinstance(n_time_bins, (int, np.integer)) and n_time_bins >= 1):
        raise ValueError(f"n_time_bins must be an int >= 1, got {n_time_bins!r}")
    if duration_s is None:
        if t_last_us is None:
            raise ValueError("an empty recording needs duration_s to know the frame width")
        duration_us = float(t_last_us) + 1.0
    else:
        duration_us = duration_s * 1e6
    return int(n_time_bins), duration_us / int(n_time_bins)


def to_frames(events: np.ndarray, sensor_size: Sequence[int], *, dt_s: float | None = None,
              n_time_bins: int | None = None, duration_s: float | None = None,
              t_start_s: float = 0.0, binary: bool = True, dtype=np.float32,
              sort: bool = False, return_dropped: bool = False):
    """Bin events into a spike tensor ``[T, C, H, W]`` with tonic's ``ToFrame``.

    Args:
        events: structured events (tonic layout, t in microseconds).
        sensor_size: ``(W, H, P)`` as in tonic (after any ``Downsample``).
        dt_s: frame width in seconds (T = ``round(duration_s / dt_s)``, or up to the last
            event when ``duration_s`` is None).
        n_time_bins: alternatively, the number of frames spread over ``duration_s`` (or up to
            the last event).
        duration_s: length of the grid in seconds from ``t_start_s``; needed for fixed T
            across samples and for empty recordings.
        t_start_s: grid start in seconds.
        binary: clamp counts to 1 (spikes); False keeps event counts.
        dtype: output dtype.
        sort: sort unsorted timestamps instead of raising (see :func:`validate_events`).
        return_dropped: also return the number of events outside the grid.

    Returns:
        ``frames`` (and ``dropped`` if asked); ``C`` is ``sensor_size[2]``, H and W the
        sensor's height and width (1-D sensors give ``[T, C, 1, W]``).

    Example:
        >>> from spikesim.data.events import make_events
        >>> ev = make_events([0, 1, 1], [0, 0, 0], [0, 1500, 1600], [1, 0, 0])
        >>> f = to_frames(ev, (2, 1, 2), dt_s=1e-3, duration_s=2e-3)
        >>> f.shape, f[1, 0, 0].tolist()
        ((2, 2, 1, 2), [0.0, 1.0])
    """
    ss = _check_sensor_size(sensor_size)
    ev = validate_events(events, ss, sort=sort)
    t_last = None if len(ev) == 0 else float(ev["t"][-1]) - t_start_s * 1e6
    n, width = _grid(dt_s, n_time_bins, duration_s, t_last)
    start_us = t_start_s * 1e6
    out_shape = (n, ss[2], ss[1], ss[0])
    if len(ev) == 0:
        frames = np.zeros(out_shape, dtype=dtype)
        return (frames, 0) if return_dropped else frames
    from tonic.transforms import ToFrame

    if ss[2] == 1 and ev["p"].max() > 0:
        ev = ev.copy()
        ev["p"] = 0
    # end_time chosen half a frame past the grid so tonic's floor((D - w) / w) + 1 gives n
    tf = ToFrame(sensor_size=ss, time_window=width, start_time=start_us,
                 end_time=start_us + (n + 0.5) * width)
    raw = tf(ev)
    if "y" not in ev.dtype.names:
        raw = raw[:, :, None, :]
    if raw.shape != out_shape:   # pragma: no cover - guards tonic behaviour changes
        raise RuntimeError(f"tonic ToFrame returned shape {raw.shape}, expected {out_shape}")
    frames = (np.minimum(raw, 1) if binary else raw).astype(dtype, copy=False)
    if return_dropped:
        t = ev["t"]
        dropped = int(np.count_nonzero((t < start_us) | (t >= start_us + n * width)))
        return frames, dropped
    return frames


@dataclass(frozen=True)
class ToSpikeTensor:
    """A tonic-style transform: events -> spike tensor ``[T, C, H, W]`` (see :func:`to_frames`).

    Use it as a dataset's ``transform`` or after a ``tonic.transforms.Compose`` of event
    transforms. (Do not put it inside a tonic ``Compose``: ``Compose`` stops at an empty
    recording and would return the empty events instead of zero frames.)

    Example:
        >>> tt = ToSpikeTensor((34, 34, 2), dt_s=0.0315, duration_s=0.315)
        >>> from spikesim.data.events import make_events
        >>> tt(make_events([3], [4], [100], [1])).shape
        (10, 2, 34, 34)
    """

    sensor_size: tuple[int, int, int]
    dt_s: float | None = None
    n_time_bins: int | None = None
    duration_s: float | None = None
    t_start_s: float = 0.0
    binary: bool = True
    dtype: str = "float32"
    sort: bool = False

    def __call__(self, events: np.ndarray) -> np.ndarray:
        return to_frames(events, self.sensor_size, dt_s=self.dt_s, n_time_bins=self.n_time_bins,
                         duration_s=self.duration_s, t_start_s=self.t_start_s,
                         binary=self.binary, dtype=np.dtype(self.dtype), sort=self.sort)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one frame."""
        ss = self.sensor_size
        return (ss[2], ss[1], ss[0])


def to_spike_times(events: np.ndarray, sensor_size: Sequence[int], *, t_start_s: float = 0.0,
                   batch: int = 0, sort: bool = False):
    """Events -> :class:`spikesim.sim.SpikeTimes` (the engines' spike-time input).

    Channel index ``i = p * H * W + y * W + x``: the flat ``(C, H, W)`` order of an
    ``ir.Input(shape=(C, H, W))`` and of :func:`to_frames`. Times are
    ``t_us / 1e6 - t_start_s`` seconds; events before ``t_start_s`` raise ``ValueError``.
    Feed it as ``sim.run(duration, inputs={"in": to_spike_times(ev, ss)})``.

    Example:
        >>> from spikesim.data.events import make_events
        >>> st = to_spike_times(make_events([1], [1], [2500], [1]), (2, 2, 2))
        >>> st.times.tolist(), st.indices.tolist()
        ([0.0025], [7])
    """
    from spikesim.sim.inputs import SpikeTimes

    ss = _check_sensor_size(sensor_size)
    ev = validate_events(events, ss, sort=sort)
    w, h, c = ss
    if len(ev) == 0:
        return SpikeTimes(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
    t = ev["t"].astype(np.float64) / 1e6 - t_start_s
    if t[0] < 0:
        raise ValueError(f"events start at {ev['t'][0]} us, before t_start_s={t_start_s} s")
    y = ev["y"].astype(np.int64) if "y" in ev.dtype.names else np.zeros(len(ev), np.int64)
    p = ev["p"].astype(np.int64) if c == 2 else np.zeros(len(ev), np.int64)
    i = p * (h * w) + y * w + ev["x"].astype(np.int64)
    return SpikeTimes(t, i, np.full(len(ev), int(batch), np.int64))


def stack_spike_times(inputs: Sequence) -> "object":
    """Merge per-sample :class:`~spikesim.sim.SpikeTimes` into one batched input (sample k
    gets batch index k) for a simulator built with ``batch=len(inputs)``.

    Example:
        >>> from spikesim.data.events import make_events
        >>> a = to_spike_times(make_events([0], [0], [10], [1]), (1, 1, 2))
        >>> stack_spike_times([a, a]).batch.tolist()
        [0, 1]
    """
    from spikesim.sim.inputs import SpikeTimes

    if not inputs:
        raise ValueError("stack_spike_times needs at least one input")
    t = np.concatenate([s.times for s in inputs])
    i = np.concatenate([s.indices for s in inputs])
    b = np.concatenate([np.full(len(s.times), k, np.int64) for k, s in enumerate(inputs)])
    return SpikeTimes(t, i, b)


@dataclass(frozen=True)
class ToSpikeTimes:
    """A tonic-style transform: events -> :class:`~spikesim.sim.SpikeTimes` (see
    :func:`to_spike_times`).

    Example:
        >>> from spikesim.data.events import make_events
        >>> len(ToSpikeTimes((34, 34, 2))(make_events([3], [4], [100], [1])).times)
        1
    """

    sensor_size: tuple[int, int, int]
    t_start_s: float = 0.0
    sort: bool = False

    def __call__(self, events: np.ndarray):
        return to_spike_times(events, self.sensor_size, t_start_s=self.t_start_s, sort=self.sort)
