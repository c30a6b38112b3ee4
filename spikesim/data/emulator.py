"""An event-camera (DVS/ATIS-like) emulator: log-intensity change detection on a video.

Model (per pixel, independently):

- the pixel sees the log intensity ``L(t) = log(I(t) + log_eps)`` where ``I`` is the video
  intensity (any non-negative unit, e.g. [0, 1]); between two video frames ``L`` is linear
  in time (the standard ESIM/v2e interpolation);
- it keeps a reference level ``ref`` (initially ``L`` of the first frame). When
  ``L - ref`` reaches the pixel's ON threshold it emits an ON event (p=1), when ``ref - L``
  reaches its OFF threshold an OFF event (p=0). The event time is the exact crossing time of
  the interpolated ``L``; the reference then moves by one threshold (``ref += theta_on``), so
  a large change gives one event per threshold step;
- **refractory period**: after an event the pixel is blind for ``refractory_s``. A crossing
  that falls inside that window is not lost outright: if at the end of the window the change
  still exceeds a threshold, one event is emitted at that moment and the reference is reset
  to the current level ``L`` (like the reset switch of a real DVS pixel), so the remaining
  change is absorbed and fast edges saturate at one event per refractory period;
- **threshold mismatch**: per-pixel thresholds are ``theta * (1 + sigma * z)`` with ``z``
  standard normal drawn from the given Generator, floored at ``min_threshold`` (as v2e does;
  the floor is a model choice, reported in :class:`EmulatorConfig`);
- **noise events**: shot noise, a Poisson process of rate ``noise_rate_hz`` per pixel, with
  uniform times, uniform pixels and polarity ON with probability ``noise_on_fraction``. Noise
  events are added to the output; they do not reset the pixel.

Output: a structured array in tonic's layout (:data:`spikesim.data.events.EVENT_DTYPE`,
timestamps rounded to the nearest microsecond, sorted by time; ties keep pixel order).

The per-pixel loop runs in a numba kernel compiled lazily on first use (``cache=True``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from spikesim.data.events import EVENT_DTYPE


@dataclass(frozen=True)
class EmulatorConfig:
    """Parameters of the event-camera model (SI units; thresholds in log-intensity units).

    Attributes:
        theta_on, theta_off: mean ON / OFF contrast thresholds (change of natural-log
            intensity). Typical DVS values are 0.1-0.5.
        sigma_threshold: relative per-pixel mismatch (std of ``theta/mean - 1``), >= 0.
        min_threshold: floor applied to mismatched thresholds (> 0).
        refractory_s: refractory period in seconds (>= 0).
        noise_rate_hz: shot-noise event rate per pixel in Hz (>= 0).
        noise_on_fraction: probability that a noise event is ON, in [0, 1].
        log_eps: offset in ``log(I + log_eps)`` (> 0): avoids log(0) on black pixels and sets
            how many events a dark-to-bright edge makes.

    Example:
        >>> cfg = EmulatorConfig(theta_on=0.25, refractory_s=1e-3)
        >>> cfg.theta_off
        0.25
    """

    theta_on: float = 0.25
    theta_off: float = 0.25
    sigma_threshold: float = 0.03
    min_threshold: float = 0.01
    refractory_s: float = 0.0
    noise_rate_hz: float = 0.0
    noise_on_fraction: float = 0.5
    log_eps: float = 0.1

    def __post_init__(self) -> None:
        for name in ("theta_on", "theta_off", "min_threshold", "log_eps"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"EmulatorConfig.{name} must be a finite float > 0, got {v!r}")
        for name in ("sigma_threshold", "refractory_s", "noise_rate_hz"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"EmulatorConfig.{name} must be a finite float >= 0, got {v!r}")
        if not 0.0 <= self.noise_on_fraction <= 1.0:
            raise ValueError(f"EmulatorConfig.noise_on_fraction must be in [0, 1], got "
                             f"{self.noise_on_fraction!r}")


def pixel_thresholds(shape: tuple[int, int], config: EmulatorConfig,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel ON and OFF thresholds ``[H, W]`` with mismatch drawn from ``rng``.

    Example:
        >>> on, off = pixel_thresholds((2, 3), EmulatorConfig(), np.random.default_rng(0))
        >>> on.shape
        (2, 3)
    """
    _check_rng(rng)
    on = config.theta_on * (1.0 + config.sigma_threshold * rng.standard_normal(shape))
    off = config.theta_off * (1.0 + config.sigma_threshold * rng.standard_normal(shape))
    return (np.maximum(on, config.min_threshold), np.maximum(off, config.min_threshold))


def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")


# ----------------------------------------------------------------------------- numba kernel
def _get_kernel():
    """The per-pixel change-detector kernel (module imported, hence numba, on first use)."""
    from spikesim.data._kernels import _dvs_events

    return _dvs_events


def _noise_events(shape: tuple[int, int], t_start: float, t_stop: float,
                  config: EmulatorConfig, rng: np.random.Generator):
    h, w = shape
    lam = config.noise_rate_hz * h * w * max(t_stop - t_start, 0.0)
    n = int(rng.poisson(lam)) if lam > 0 else 0
    t = rng.uniform(t_start, t_stop, n)
    pix = rng.integers(0, h * w, n)
    p = (rng.random(n) < config.noise_on_fraction).astype(np.int64)
    return t, pix % w, pix // w, p


@dataclass
class EmulatorRun:
    """Events plus timing of one :func:`emulate` call (``jit_s`` is compile time, 0 if cached)."""

    events: np.ndarray
    jit_s: float = 0.0
    run_s: float = 0.0
    n_signal: int = 0
    n_noise: int = 0
    thresholds: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)


def emulate(video: np.ndarray, times_s: Sequence[float], config: EmulatorConfig | None = None,
            rng: np.random.Generator | None = None, *,
            thresholds: tuple[np.ndarray, np.ndarray] | None = None,
            details: bool = False) -> np.ndarray | EmulatorRun:
    """Emulate an event camera watching ``video``; return tonic-layout events.

    Args:
        video: intensities ``[N, H, W]`` (N >= 2 frames, non-negative, finite).
        times_s: frame times in seconds, strictly increasing, length N. Events get
            timestamps ``round(t * 1e6)`` microseconds.
        config: model parameters (:class:`EmulatorConfig`; default values if None).
        rng: the Generator for threshold mismatch and noise (required; no hidden seeding).
        thresholds: optional fixed per-pixel ``(on, off)`` thresholds ``[H, W]`` (e.g. the same
            sensor for many recordings); drawn from ``rng`` with :func:`pixel_thresholds` if None.
        details: return an :class:`EmulatorRun` (events, JIT and run seconds, counts).

    Returns:
        Structured array with :data:`~spikesim.data.events.EVENT_DTYPE`, sorted by time;
        sensor size ``(W, H, 2)``.

    Example:
        >>> v = np.zeros((3, 1, 2)); v[1:, 0, 1] = 1.0        # pixel (x=1, y=0) turns on
        >>> ev = emulate(v, [0.0, 1e-3, 2e-3], EmulatorConfig(sigma_threshold=0),
        ...              np.random.default_rng(0))
        >>> set(ev["p"].tolist()), set(ev["x"].tolist())
        ({1}, {1})
    """
    cfg = EmulatorConfig() if config is None else config
    if not isinstance(cfg, EmulatorConfig):
        raise TypeError(f"config must be an EmulatorConfig, got {type(cfg).__name__}")
    if rng is None:
        raise TypeError("emulate needs rng=np.random.default_rng(seed) (threshold mismatch and "
                        "noise are random; no hidden global seed)")
    _check_rng(rng)
    v = np.asarray(video, dtype=np.float64)
    if v.ndim != 3 or v.shape[0] < 2 or v.shape[1] < 1 or v.shape[2] < 1:
        raise ValueError(f"video must have shape [N >= 2, H, W], got {v.shape}")
    if not np.all(np.isfinite(v)) or v.min() < 0:
        raise ValueError(f"video must hold finite intensities >= 0 (min {np.nanmin(v)!r})")
    ts = np.asarray(times_s, dtype=np.float64)
    if ts.shape != (v.shape[0],):
        raise ValueError(f"times_s must have length {v.shape[0]} (one per frame), got shape "
                         f"{ts.shape}")
    if not np.all(np.isfinite(ts)) or np.any(np.diff(ts) <= 0) or ts[0] < 0:
        raise ValueError("times_s must be finite, >= 0 and strictly increasing (seconds)")
    shape = v.shape[1:]
    if thresholds is None:
        thr_on, thr_off = pixel_thresholds(shape, cfg, rng)
    else:
        thr_on, thr_off = (np.asarray(a, dtype=np.float64) for a in thresholds)
        if thr_on.shape != shape or thr_off.shape != shape:
            raise ValueError(f"thresholds must both have shape {shape}, got {thr_on.shape} and "
                             f"{thr_off.shape}")
        if thr_on.min() <= 0 or thr_off.min() <= 0:
            raise ValueError("thresholds must be > 0 everywhere")
    logv = np.log(v + cfg.log_eps)
    t0 = time.perf_counter()
    kern = _get_kernel()
    jit_s = 0.0
    if not kern.signatures:   # compile (or load from cache) before timing the run
        kern(np.zeros((2, 1, 1)), np.array([0.0, 1.0]), np.ones((1, 1)), np.ones((1, 1)), 0.0)
        jit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    et, ex, ey, ep = kern(logv, ts, thr_on, thr_off, float(cfg.refractory_s))
    nt, nx, ny, np_ = _noise_events(shape, ts[0], ts[-1], cfg, rng)
    t_all = np.concatenate([et, nt])
    out = np.empty(t_all.size, dtype=EVENT_DTYPE)
    out["t"] = np.rint(t_all * 1e6).astype(np.int64)
    out["x"] = np.concatenate([ex, nx])
    out["y"] = np.concatenate([ey, ny])
    out["p"] = np.concatenate([ep, np_])
    out = out[np.argsort(out["t"], kind="stable")]
    run_s = time.perf_counter() - t1
    if details:
        return EmulatorRun(out, jit_s=jit_s, run_s=run_s, n_signal=int(et.size),
                           n_noise=int(nt.size), thresholds=(thr_on, thr_off))
    return out
