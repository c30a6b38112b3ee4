"""Event-camera emulator: analytic edges, a slow naive twin, mismatch, noise, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest

from spikesim.data import EVENT_DTYPE, EmulatorConfig, emulate, pixel_thresholds
from spikesim.data.saccades import render_shifted


# ----------------------------------------------------------------------------- naive twins
def naive_dvs(video, times, thr_on, thr_off, refractory, log_eps, step):
    """Obviously correct (slow) twin of the kernel: walk a fine time grid of width ``step``.

    At each grid time the interpolated log intensity is compared with the reference. A pixel
    that was sensitive on the previous grid point and now exceeds a threshold made a fresh
    crossing (reference moves by one threshold); a pixel that just left its refractory period
    and already exceeds a threshold resets its reference to the current level.
    Returns a list of (t, x, y, p) in seconds.
    """
    logv = np.log(np.asarray(video, float) + log_eps)
    grid = np.arange(times[0], times[-1] + step / 2, step)
    out = []
    n, h, w = logv.shape
    for y in range(h):
        for x in range(w):
            lv = np.interp(grid, times, logv[:, y, x])
            ref = lv[0]
            last = -np.inf
            prev_sensitive = True
            for j in range(1, grid.size):
                t = grid[j]
                sensitive = t >= last + refractory - 1e-12
                if sensitive:
                    pol = None
                    if lv[j] - ref >= thr_on[y, x]:
                        pol = 1
                    elif ref - lv[j] >= thr_off[y, x]:
                        pol = 0
                    if pol is not None:
                        if prev_sensitive:
                            ref = ref + (thr_on[y, x] if pol else -thr_off[y, x])
                        else:
                            ref = lv[j]
                        out.append((t, x, y, pol))
                        last = t
                        sensitive = False
                prev_sensitive = sensitive
    return out


def naive_bilinear(image, offsets, hw, origin):
    """Plain-Python bilinear sampling (zero outside the image)."""
    h, w = image.shape
    out = np.zeros((len(offsets), *hw))
    for k, (dx, dy) in enumerate(offsets):
        for r in range(hw[0]):
            for c in range(hw[1]):
                sy, sx = r - origin[1] - dy, c - origin[0] - dx
                y0, x0 = math.floor(sy), math.floor(sx)
                v = 0.0
                for yy, wy in ((y0, 1 - (sy - y0)), (y0 + 1, sy - y0)):
                    for xx, wx in ((x0, 1 - (sx - x0)), (x0 + 1, sx - x0)):
                        if 0 <= yy < h and 0 <= xx < w:
                            v += wy * wx * image[yy, xx]
                out[k, r, c] = v
    return out


def _flat(cfg):
    return EmulatorConfig(**{**cfg.__dict__, "sigma_threshold": 0.0})


# ----------------------------------------------------------------------------- analytic
def test_log_ramp_events_at_exact_crossings():
    # one pixel whose log intensity ramps up by 1.0 in 10 ms then back down: with theta=0.3
    # the ON events sit at t = k * 3 ms (k=1..3), OFF events symmetric, to the microsecond
    eps = 0.1
    lo = math.log(eps)
    L = np.array([lo, lo + 1.0, lo + 1.0, lo])
    times = np.array([0.0, 0.010, 0.020, 0.030])
    video = (np.exp(L) - eps)[:, None, None]
    cfg = EmulatorConfig(theta_on=0.3, theta_off=0.3, sigma_threshold=0.0, log_eps=eps)
    ev = emulate(video, times, cfg, np.random.default_rng(0))
    on = ev[ev["p"] == 1]["t"]
    off = ev[ev["p"] == 0]["t"]
    assert on.tolist() == [3000, 6000, 9000]
    # OFF: reference after the ramp up is lo + 0.9 while L stays at lo + 1.0; falling, L
    # crosses lo+0.6, lo+0.3, lo+0.0 at 4, 7 and 10 ms after the fall starts
    assert off.tolist() == [24000, 27000, 30000]


def test_refractory_defers_and_resets():
    # a 1-unit log step within 1 ms: without refractory 3 ON events in that ms; with 5 ms
    # refractory the first at 300 us, then one deferred event when the pixel wakes at 5.3 ms
    # whose reset absorbs the remaining change (2 events instead of 3)
    eps = 0.1
    lo = math.log(eps)
    L = np.array([lo, lo + 1.0, lo + 1.0])
    times = np.array([0.0, 0.001, 0.050])
    video = (np.exp(L) - eps)[:, None, None]
    base = EmulatorConfig(theta_on=0.3, theta_off=0.3, sigma_threshold=0.0, log_eps=eps)
    ev0 = emulate(video, times, base, np.random.default_rng(0))
    assert ev0["t"].tolist() == [300, 600, 900]
    ref = EmulatorConfig(**{**base.__dict__, "refractory_s": 0.005})
    ev1 = emulate(video, times, ref, np.random.default_rng(0))
    assert ev1["t"].tolist() == [300, 5300]
    # refractory 0.45 ms: 300 us (reference lo+0.3); the pixel wakes at 750 us where the
    # change is 0.45 >= 0.3: deferred event at 750 us, reference reset to lo+0.75; the next
    # level lo+1.05 is never reached
    ref2 = EmulatorConfig(**{**base.__dict__, "refractory_s": 0.00045})
    ev2 = emulate(video, times, ref2, np.random.default_rng(0))
    assert ev2["t"].tolist() == [300, 750]
    # refractory 0.2 ms: wakes at 500 us with change 0.2 < 0.3: nothing deferred, the
    # crossings at 600 and 900 us are emitted on time
    ref3 = EmulatorConfig(**{**base.__dict__, "refractory_s": 0.0002})
    assert emulate(video, times, ref3, np.random.default_rng(0))["t"].tolist() == [300, 600, 900]


@pytest.mark.parametrize("refractory", [0.0, 0.4e-3])
def test_moving_edge_on_then_off_at_predicted_pixel_and_time(refractory):
    # A bright bar (image columns 20..23) moves right over a dark row at v = 1 px/ms, rendered
    # with bilinear sampling every 10 us. Sensor pixel c sees image column c - dx with
    # dx = -24 + v t, so its intensity rises linearly, I = hi (v t - c), for v t in [c, c+1]
    # (leading edge) and falls, I = hi (c + 5 - v t), for v t in [c+4, c+5] (trailing edge).
    # The first ON event is where log(I + eps) = log(lo + eps) + theta; the first OFF (no
    # refractory) where the log falls one threshold below the last ON reference level.
    lo, hi, eps, theta = 0.0, 1.0, 0.1, 0.3
    img = np.zeros((1, 40))
    img[0, 20:24] = hi
    v = 1000.0                                           # px / s
    times = np.arange(0, 0.030 + 1e-9, 1e-5)
    dx = -24.0 + times * v
    video = render_shifted(img, np.stack([dx, np.zeros_like(dx)], axis=1), (1, 16),
                           origin=(0.0, 0.0))
    cfg = EmulatorConfig(theta_on=theta, theta_off=theta, sigma_threshold=0.0, log_eps=eps,
                         refractory_s=refractory)
    ev = emulate(video, times, cfg, np.random.default_rng(1))
    l_lo = math.log(lo + eps)
    s_on = (math.exp(l_lo + theta) - eps - lo) / (hi - lo)
    ref_top = l_lo + theta * math.floor((math.log(hi + eps) - l_lo) / theta)
    s_off = (math.exp(ref_top - theta) - eps) / hi
    tol = max(refractory, 1e-5) + 2e-6                  # refractory, frame step, us rounding
    assert set(ev["y"].tolist()) == {0}
    for c in range(16):
        pix = ev[ev["x"] == c]
        on = pix[pix["p"] == 1]["t"] * 1e-6
        off = pix[pix["p"] == 0]["t"] * 1e-6
        t_on = (c + s_on) / v
        assert on.size >= 1 and t_on - 2e-6 <= on[0] <= t_on + tol, (c, on[:1], t_on)
        assert np.all(on <= (c + 1) / v + tol)           # ON only while the edge rises
        assert off.size >= 1 and np.all(off >= (c + 4) / v - 2e-6)   # OFF only while falling
        if refractory == 0.0:
            t_off = (c + 5 - s_off) / v
            assert abs(off[0] - t_off) <= tol, (c, off[0], t_off)
            # one event per threshold step of the log change (7 up; down to within theta)
            assert on.size == 7 and off.size == 7, (on.size, off.size)
        else:
            assert off[0] <= (c + 5 - s_off) / v + tol
            assert np.all(np.diff(pix["t"]) * 1e-6 >= refractory - 1e-6)
    first_on = [ev[(ev["x"] == c) & (ev["p"] == 1)]["t"][0] for c in range(16)]
    assert np.all(np.diff(first_on) > 0)                 # the edge moves right


def test_kernel_matches_naive_twin():
    rng = np.random.default_rng(3)
    video = rng.uniform(0.0, 1.0, size=(8, 3, 3))
    times = np.cumsum(rng.uniform(0.5e-3, 1.5e-3, size=8))
    times -= times[0]
    cfg = EmulatorConfig(theta_on=0.2, theta_off=0.25, sigma_threshold=0.1,
                         refractory_s=0.15e-3, log_eps=0.05)
    run = emulate(video, times, cfg, np.random.default_rng(4), details=True)
    thr_on, thr_off = run.thresholds
    step = 1e-7
    ref = naive_dvs(video, times, thr_on, thr_off, cfg.refractory_s, cfg.log_eps, step)
    got = sorted((int(e["x"]), int(e["y"]), int(e["p"]), float(e["t"]) * 1e-6) for e in run.events)
    want = sorted((x, y, p, t) for t, x, y, p in ref)
    assert len(got) == len(want) > 20
    for (gx, gy, gp, gt), (wx, wy, wp, wt) in zip(got, want):
        assert (gx, gy, gp) == (wx, wy, wp)
        assert abs(gt - wt) <= 1.5e-6    # us rounding + grid step


def test_render_matches_naive_bilinear():
    rng = np.random.default_rng(0)
    img = rng.uniform(size=(5, 6))
    off = rng.uniform(-2, 3, size=(4, 2))
    got = render_shifted(img, off, (7, 8), origin=(-0.5, 0.25))
    want = naive_bilinear(img, off, (7, 8), (-0.5, 0.25))
    np.testing.assert_allclose(got, want, atol=1e-12)


# ----------------------------------------------------------------------------- randomness
def test_mismatch_statistics_and_seeding():
    cfg = EmulatorConfig(theta_on=0.3, theta_off=0.2, sigma_threshold=0.05)
    on, off = pixel_thresholds((100, 100), cfg, np.random.default_rng(0))
    assert abs(on.mean() - 0.3) < 0.002 and abs(off.mean() - 0.2) < 0.002
    assert abs(on.std() / 0.3 - 0.05) < 0.003
    on2, _ = pixel_thresholds((100, 100), cfg, np.random.default_rng(0))
    np.testing.assert_array_equal(on, on2)
    on3, _ = pixel_thresholds((100, 100), cfg, np.random.default_rng(1))
    assert not np.array_equal(on, on3)
    floor = EmulatorConfig(theta_on=0.05, sigma_threshold=2.0, min_threshold=0.02)
    assert pixel_thresholds((50, 50), floor, np.random.default_rng(0))[0].min() == 0.02


def test_noise_events_poisson_rate_and_dtype():
    video = np.full((2, 20, 30), 0.5)                  # static scene: only noise
    times = np.array([0.0, 2.0])
    cfg = EmulatorConfig(noise_rate_hz=5.0, noise_on_fraction=0.8)
    ev = emulate(video, times, cfg, np.random.default_rng(7))
    mean = 5.0 * 600 * 2.0
    assert abs(len(ev) - mean) < 5 * math.sqrt(mean)
    assert abs(ev["p"].mean() - 0.8) < 0.05
    assert ev.dtype == EVENT_DTYPE
    assert np.all(np.diff(ev["t"]) >= 0) and ev["t"].max() <= 2_000_000
    assert ev["x"].max() < 30 and ev["y"].max() < 20
    again = emulate(video, times, cfg, np.random.default_rng(7))
    np.testing.assert_array_equal(ev, again)


def test_event_dtype_is_tonics_nmnist_dtype():
    tonic = pytest.importorskip("tonic")
    assert EVENT_DTYPE == np.dtype(tonic.datasets.NMNIST.dtype)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kw, match", [
    ({"theta_on": 0.0}, "theta_on"), ({"theta_off": -1.0}, "theta_off"),
    ({"sigma_threshold": -0.1}, "sigma_threshold"), ({"refractory_s": float("nan")},
                                                     "refractory_s"),
    ({"noise_rate_hz": -1.0}, "noise_rate_hz"), ({"noise_on_fraction": 1.5},
                                                  "noise_on_fraction"),
    ({"log_eps": 0.0}, "log_eps")])
def test_config_rejects_bad_values(kw, match):
    with pytest.raises(ValueError, match=match):
        EmulatorConfig(**kw)


def test_emulate_rejects_bad_input():
    rng = np.random.default_rng(0)
    v = np.zeros((3, 2, 2))
    with pytest.raises(TypeError, match="rng"):
        emulate(v, [0, 1, 2])
    with pytest.raises(TypeError, match="rng"):
        emulate(v, [0, 1, 2], rng=np.random.RandomState(0))
    with pytest.raises(ValueError, match="shape"):
        emulate(np.zeros((1, 2, 2)), [0], rng=rng)
    with pytest.raises(ValueError, match="times_s"):
        emulate(v, [0, 2, 1], rng=rng)
    with pytest.raises(ValueError, match="length 3"):
        emulate(v, [0, 1], rng=rng)
    with pytest.raises(ValueError, match=">= 0"):
        emulate(v - 1, [0, 1, 2], rng=rng)
    with pytest.raises(ValueError, match="thresholds"):
        emulate(v, [0, 1, 2], rng=rng, thresholds=(np.ones((3, 3)), np.ones((3, 3))))
