"""numba kernels of :mod:`spikesim.data` (private; compiled lazily on first call, cached).

The slow, obviously correct twins live in ``tests/test_data_emulator.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _grow(a, n):
    b = np.empty(max(2 * a.shape[0], n), a.dtype)
    b[: a.shape[0]] = a
    return b


@njit(cache=True)
def _dvs_events(logv, times, thr_on, thr_off, refractory):
    """Events of a log-intensity video ``logv[N, H, W]`` sampled at ``times[N]`` (seconds).

    Per pixel: level-crossing detector on the linearly interpolated log intensity with
    thresholds ``thr_on/thr_off[H, W]`` and a refractory period (seconds); see
    :mod:`spikesim.data.emulator` for the model. Returns ``(t [s], x, y, p)`` in pixel-major
    order (not time-sorted).
    """
    n_f, h, w = logv.shape
    cap = 1024
    ot = np.empty(cap, np.float64)
    ox = np.empty(cap, np.int64)
    oy = np.empty(cap, np.int64)
    op = np.empty(cap, np.int64)
    n = 0
    for yy in range(h):
        for xx in range(w):
            ref = logv[0, yy, xx]
            last = -np.inf
            ton = thr_on[yy, xx]
            toff = thr_off[yy, xx]
            for k in range(n_f - 1):
                t0 = times[k]
                t1 = times[k + 1]
                l0 = logv[k, yy, xx]
                slope = (logv[k + 1, yy, xx] - l0) / (t1 - t0)
                tc = t0
                while True:
                    ts = tc
                    if last + refractory > ts:
                        ts = last + refractory
                    if ts > t1:
                        break
                    ls = l0 + slope * (ts - t0)
                    pol = -1
                    te = 0.0
                    if ls - ref >= ton:            # change built up while blind (or exact hit)
                        pol = 1
                        te = ts
                        ref = ls
                    elif ref - ls >= toff:
                        pol = 0
                        te = ts
                        ref = ls
                    elif slope > 0.0:              # next exact crossing in (ts, t1]
                        tn = t0 + (ref + ton - l0) / slope
                        if tn <= t1:
                            pol = 1
                            te = tn
                            ref = ref + ton
                    elif slope < 0.0:
                        tn = t0 + (ref - toff - l0) / slope
                        if tn <= t1:
                            pol = 0
                            te = tn
                            ref = ref - toff
                    if pol < 0:
                        break
                    if n == ot.shape[0]:
                        ot = _grow(ot, n + 1)
                        ox = _grow(ox, n + 1)
                        oy = _grow(oy, n + 1)
                        op = _grow(op, n + 1)
                    ot[n] = te
                    ox[n] = xx
                    oy[n] = yy
                    op[n] = pol
                    n += 1
                    last = te
                    tc = te
    return ot[:n], ox[:n], oy[:n], op[:n]


@njit(cache=True)
def _render_bilinear(img, offsets, hh, ww, origin_x, origin_y):
    """Bilinear rendering of ``img[h, w]`` shifted by ``offsets[N, 2]`` (dx, dy) on an
    ``hh x ww`` sensor; pixels outside the image read 0. Returns ``[N, hh, ww]``."""
    h, w = img.shape
    n = offsets.shape[0]
    out = np.zeros((n, hh, ww))
    for k in range(n):
        for r in range(hh):
            sy = r - origin_y - offsets[k, 1]
            y0 = int(np.floor(sy))
            fy = sy - y0
            for c in range(ww):
                sx = c - origin_x - offsets[k, 0]
                x0 = int(np.floor(sx))
                fx = sx - x0
                acc = 0.0
                for dy in range(2):
                    yy = y0 + dy
                    if yy < 0 or yy >= h:
                        continue
                    wy = fy if dy == 1 else 1.0 - fy
                    for dx in range(2):
                        xx = x0 + dx
                        if xx < 0 or xx >= w:
                            continue
                        wx = fx if dx == 1 else 1.0 - fx
                        acc += wy * wx * img[yy, xx]
                out[k, r, c] = acc
    return out
