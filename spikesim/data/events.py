"""Structured event arrays in tonic's layout: construction, validation and statistics.

spikesim uses tonic's event representation unchanged: a NumPy structured array with fields
``x``, ``y`` (pixel column and row), ``t`` (timestamp in **microseconds**, tonic's convention
for every dataset it ships) and ``p`` (polarity: 1 = ON, 0 = OFF). Audio-like sensors (SHD)
have no ``y`` field; their sensor size is ``(channels, 1, 1)``.

:data:`EVENT_DTYPE` is the dtype of ``tonic.datasets.NMNIST`` (int64 ``x, y, t, p``), which the
emulator emits. Nothing here imports tonic.

Handling of bad input (see :func:`validate_events`):

- a missing field (``x``, ``t`` or ``p``; ``y`` when the sensor is 2-D) -> ``ValueError``;
- timestamps that decrease -> ``ValueError`` unless ``sort=True``, which returns a stably
  time-sorted copy (tonic's slicers assume sorted timestamps);
- negative timestamps -> ``ValueError``;
- a coordinate outside the sensor size, or a polarity other than 0/1 (-1/1 is accepted and
  mapped to 0/1) -> ``ValueError`` naming the offending field, value and allowed range;
- an empty recording is valid: it converts to all-zero frames and to an empty spike train.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

#: tonic's N-MNIST event dtype (``tonic.datasets.NMNIST.dtype``): int64 x, y, t [us], p.
EVENT_DTYPE = np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])


def make_events(x: Sequence[int], y: Sequence[int] | None, t: Sequence[int],
                p: Sequence[int], dtype: np.dtype = EVENT_DTYPE) -> np.ndarray:
    """Build a structured event array (tonic layout) from parallel sequences.

    Args:
        x, y: pixel column and row (``y=None`` for 1-D sensors, which then need a dtype
            without ``y``).
        t: timestamps in microseconds.
        p: polarities (1 = ON, 0 = OFF).
        dtype: structured dtype, :data:`EVENT_DTYPE` by default.

    Example:
        >>> ev = make_events([1, 2], [0, 0], [10, 20], [1, 0])
        >>> ev["t"].tolist()
        [10, 20]
    """
    cols = {"x": x, "t": t, "p": p}
    if y is not None:
        cols["y"] = y
    n = {k: len(np.atleast_1d(v)) for k, v in cols.items()}
    if len(set(n.values())) > 1:
        raise ValueError(f"make_events: x, y, t, p must have equal lengths, got {n}")
    out = np.zeros(next(iter(n.values())), dtype=dtype)
    for k, v in cols.items():
        if k not in dtype.names:
            raise ValueError(f"make_events: dtype {dtype} has no field {k!r}")
        out[k] = np.asarray(v)
    return out


def _check_sensor_size(sensor_size: Sequence[int]) -> tuple[int, int, int]:
    try:
        ss = tuple(int(v) for v in sensor_size)
    except TypeError:
        raise TypeError(f"sensor_size must be a 3-tuple (width, height, polarities), got "
                        f"{sensor_size!r}") from None
    if len(ss) != 3 or min(ss) < 1:
        raise ValueError(f"sensor_size must be 3 positive ints (width, height, polarities), "
                         f"got {sensor_size!r}")
    if ss[2] not in (1, 2):
        raise ValueError(f"sensor_size[2] (polarity channels) must be 1 or 2, got {ss[2]}")
    return ss  # type: ignore[return-value]


def validate_events(events: np.ndarray, sensor_size: Sequence[int], *, sort: bool = False,
                    name: str = "events") -> np.ndarray:
    """Check a structured event array against a sensor size; return it (sorted if asked).

    Args:
        events: structured array with fields ``x``, ``t``, ``p`` (and ``y`` unless the sensor
            is 1-D, i.e. ``sensor_size[1] == 1``), timestamps in microseconds.
        sensor_size: ``(width, height, polarities)`` as in tonic.
        sort: if True, unsorted timestamps are stably sorted (a copy is returned); if False
            they raise ``ValueError``.
        name: argument name used in error messages.

    Returns:
        The events (the same object when nothing had to change). Polarities given as
        -1/+1 are returned as 0/1 in a copy.

    Example:
        >>> ev = make_events([0, 33], [5, 5], [0, 100], [1, 0])
        >>> len(validate_events(ev, (34, 34, 2)))
        2
    """
    ss = _check_sensor_size(sensor_size)
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        raise TypeError(f"{name} must be a structured numpy array with fields x, y, t, p "
                        f"(tonic's layout), got {type(events).__name__}"
                        + (f" of dtype {events.dtype}" if isinstance(events, np.ndarray) else ""))
    if events.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {events.shape}")
    need = ["x", "t", "p"] + (["y"] if ss[1] > 1 else [])
    missing = [f for f in need if f not in events.dtype.names]
    if missing:
        raise ValueError(f"{name} lacks field(s) {missing}; has {list(events.dtype.names)}, "
                         f"needs {need} for sensor_size {ss}")
    if events.size == 0:
        return events
    t = events["t"]
    if np.any(t < 0):
        raise ValueError(f"{name}['t'] has negative timestamps (min {t.min()}); timestamps are "
                         "microseconds from the start of the recording")
    d = np.diff(t)
    if np.any(d < 0):
        if not sort:
            k = int(np.argmax(d < 0))
            raise ValueError(f"{name}['t'] is not sorted: t[{k}]={t[k]} > t[{k + 1}]="
                             f"{t[k + 1]}; pass sort=True to sort the events by time")
        events = events[np.argsort(t, kind="stable")]
    for f, size in (("x", ss[0]), ("y", ss[1])):
        if f not in events.dtype.names:
            continue
        v = events[f]
        lo, hi = v.min(), v.max()
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{name}['{f}'] has value {bad} outside the sensor "
                             f"(allowed 0..{size - 1} for sensor_size {ss})")
    p = events["p"]
    pu = np.unique(p.astype(np.int64))
    if np.all(np.isin(pu, (-1, 1))) and -1 in pu:
        events = events.copy()
        events["p"] = (p > 0).astype(events.dtype["p"])
        pu = np.unique(events["p"].astype(np.int64))
    allowed = (0,) if ss[2] == 1 else (0, 1)
    if ss[2] == 1 and pu.size > 1:
        raise ValueError(f"{name}['p'] has polarities {pu.tolist()} but sensor_size {ss} has one "
                         "polarity channel; merge polarities first (tonic MergePolarities)")
    if ss[2] == 2 and not np.all(np.isin(pu, allowed)):
        raise ValueError(f"{name}['p'] has values {pu.tolist()}; allowed 0 (OFF) and 1 (ON)")
    return events


@dataclass(frozen=True)
class EventStats:
    """Summary statistics of a set of recordings.

    Attributes:
        samples: number of recordings.
        events_mean, events_std, events_min, events_max: events per recording.
        on_fraction: ON events / all events (pooled over recordings).
        duration_mean_s: mean of (last - first timestamp) in seconds.
        rate_mean_hz: mean event rate per recording (events / duration) in Hz.
    """

    samples: int
    events_mean: float
    events_std: float
    events_min: int
    events_max: int
    on_fraction: float
    duration_mean_s: float
    rate_mean_hz: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def event_stats(recordings: Iterable[np.ndarray]) -> EventStats:
    """Events per sample, polarity balance and duration of recordings (tonic layout).

    Args:
        recordings: an iterable of structured event arrays (timestamps in microseconds).

    Example:
        >>> s = event_stats([make_events([0, 1], [0, 0], [0, 1000], [1, 0])])
        >>> s.events_mean, s.on_fraction, s.duration_mean_s
        (2.0, 0.5, 0.001)
    """
    n, on, dur, rate = [], 0, [], []
    for ev in recordings:
        n.append(len(ev))
        if len(ev):
            on += int(np.count_nonzero(ev["p"] > 0))
            d = float(ev["t"][-1] - ev["t"][0]) * 1e-6
            dur.append(d)
            rate.append(len(ev) / d if d > 0 else 0.0)
        else:
            dur.append(0.0)
            rate.append(0.0)
    if not n:
        raise ValueError("event_stats: recordings is empty")
    na = np.asarray(n, dtype=np.float64)
    total = float(na.sum())
    return EventStats(samples=len(n), events_mean=float(na.mean()), events_std=float(na.std()),
                      events_min=int(na.min()), events_max=int(na.max()),
                      on_fraction=on / total if total else 0.0,
                      duration_mean_s=float(np.mean(dur)), rate_mean_hz=float(np.mean(rate)))
