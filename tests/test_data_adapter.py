"""tonic adapter: spike tensors, spike trains, streaming, bad input."""
from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import numpy as np
import pytest

from spikesim.data import (EVENT_DTYPE, ToSpikeTensor, event_stats, evaluate, iter_batches,
                           make_events, materialize, stack_spike_times, to_frames,
                           to_spike_times, validate_events)

SS = (34, 34, 2)


def random_events(rng, n=500, ss=SS, t_max=100_000):
    ev = np.zeros(n, EVENT_DTYPE)
    ev["x"] = rng.integers(0, ss[0], n)
    ev["y"] = rng.integers(0, ss[1], n)
    ev["t"] = np.sort(rng.integers(0, t_max, n))
    ev["p"] = rng.integers(0, 2, n)
    return ev


def naive_frames(ev, ss, dt_us, n):
    out = np.zeros((n, ss[2], ss[1], ss[0]))
    for e in ev:
        k = int(e["t"] // dt_us)
        if k < n:
            out[k, int(e["p"]), int(e["y"]), int(e["x"])] += 1
    return out


def test_import_is_lazy():
    code = ("import sys, spikesim.data; "
            "print('tonic' in sys.modules, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr


@pytest.mark.parametrize("mod", ["events", "adapter", "emulator", "saccades", "stream"])
def test_docstring_examples(mod):
    m = importlib.import_module(f"spikesim.data.{mod}")
    res = doctest.testmod(m, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0


@pytest.mark.parametrize("dt_us, n", [(1000, 100), (7000, 15), (33_000, 4)])
def test_to_frames_matches_naive_binning(dt_us, n):
    rng = np.random.default_rng(dt_us)
    ev = random_events(rng)
    counts, dropped = to_frames(ev, SS, dt_s=dt_us * 1e-6, duration_s=n * dt_us * 1e-6,
                                binary=False, return_dropped=True)
    want = naive_frames(ev, SS, dt_us, n)
    np.testing.assert_array_equal(counts, want)
    assert dropped == int(np.count_nonzero(ev["t"] >= n * dt_us))
    spikes = to_frames(ev, SS, dt_s=dt_us * 1e-6, duration_s=n * dt_us * 1e-6)
    np.testing.assert_array_equal(spikes, np.minimum(want, 1))
    assert spikes.dtype == np.float32 and spikes.shape == (n, 2, 34, 34)


def test_n_time_bins_and_open_duration():
    rng = np.random.default_rng(0)
    ev = random_events(rng, t_max=50_000)
    f = to_frames(ev, SS, n_time_bins=10, duration_s=0.05, binary=False)
    np.testing.assert_array_equal(f, naive_frames(ev, SS, 5000, 10))
    g = to_frames(ev, SS, dt_s=1e-3, binary=False)            # up to the last event
    assert g.shape[0] == int(ev["t"][-1] // 1000) + 1 and g.sum() == len(ev)


def test_t_start_shifts_grid():
    ev = make_events([0, 0, 0], [0, 0, 0], [900, 1100, 2500], [1, 1, 1])
    f = to_frames(ev, (1, 1, 2), dt_s=1e-3, duration_s=2e-3, t_start_s=1e-3, binary=False)
    assert f[:, 1, 0, 0].tolist() == [1.0, 1.0]              # 900 us is before the grid


def test_tonic_transforms_then_frames():
    tonic = pytest.importorskip("tonic")
    rng = np.random.default_rng(1)
    ev = random_events(rng, n=2000)
    tf = tonic.transforms.Compose([tonic.transforms.Denoise(filter_time=5000),
                                   tonic.transforms.Downsample(spatial_factor=0.5)])
    small = tf(ev)
    assert 0 < len(small) < len(ev)
    f = ToSpikeTensor((17, 17, 2), dt_s=0.01, duration_s=0.1)(small)
    assert f.shape == (10, 2, 17, 17)
    np.testing.assert_array_equal(f, np.minimum(naive_frames(small, (17, 17, 2), 10_000, 10), 1))


def test_one_dimensional_sensor_shd_like():
    ev = np.zeros(4, dtype=[("t", "<i8"), ("x", "<i8"), ("p", "<i8")])
    ev["t"] = [0, 10, 2000, 2500]
    ev["x"] = [0, 699, 5, 5]
    ev["p"] = 1
    f = to_frames(ev, (700, 1, 1), dt_s=1e-3, duration_s=3e-3, binary=False)
    assert f.shape == (3, 1, 1, 700)
    assert f[0, 0, 0, 0] == 1 and f[0, 0, 0, 699] == 1 and f[2, 0, 0, 5] == 2
    st = to_spike_times(ev, (700, 1, 1))
    assert st.indices.tolist() == [0, 699, 5, 5]


def test_spike_train_indices_agree_with_frames():
    rng = np.random.default_rng(2)
    ev = random_events(rng, n=300)
    st = to_spike_times(ev, SS)
    np.testing.assert_allclose(np.sort(st.times), ev["t"] / 1e6)
    f = to_frames(ev, SS, dt_s=1e-3, duration_s=0.1, binary=False)
    # rebuild the frames from the spike times' (time, flat index)
    g = np.zeros((100, 2 * 34 * 34))
    np.add.at(g, ((st.times * 1e3 + 1e-9).astype(int), st.indices), 1)
    np.testing.assert_array_equal(f.reshape(100, -1), g)
    both = stack_spike_times([st, to_spike_times(ev[:10], SS)])
    assert len(both.times) == 310 and np.all(np.diff(both.times) >= 0)
    assert np.count_nonzero(both.batch == 1) == 10


def test_event_stats():
    a = make_events([0, 1, 2], [0, 0, 0], [0, 500, 1000], [1, 1, 0])
    b = make_events([0], [0], [10], [0])
    s = event_stats([a, b])
    assert s.samples == 2 and s.events_mean == 2.0 and s.events_max == 3
    assert s.on_fraction == 0.5 and s.duration_mean_s == pytest.approx(0.0005)


# ----------------------------------------------------------------------------- streaming
class CountingDataset:
    """A tonic-like dataset that records how many samples it has produced."""

    def __init__(self, n):
        self.n = n
        self.reads = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.reads += 1
        rng = np.random.default_rng(i)
        return random_events(rng, n=50, t_max=10_000), i % 3


def test_iter_batches_streams_lazily_and_time_major():
    ds = CountingDataset(10)
    tt = ToSpikeTensor(SS, dt_s=1e-3, duration_s=0.01)
    it = iter_batches(ds, 4, transform=tt, progress=False)
    x, y = next(it)
    assert ds.reads == 4 and x.shape == (4, 10, 2, 34, 34) and y.tolist() == [0, 1, 2, 0]
    rest = list(it)
    assert [b[0].shape[0] for b in rest] == [4, 2] and ds.reads == 10
    xt, _ = next(iter_batches(ds, 3, transform=tt, time_major=True, progress=False))
    assert xt.shape == (10, 3, 2, 34, 34)
    np.testing.assert_array_equal(xt[:, 1], tt(ds[1][0]))


def test_materialize_and_evaluate():
    ds = CountingDataset(7)
    tt = ToSpikeTensor(SS, dt_s=1e-3, duration_s=0.01)
    x, y = materialize(ds, transform=tt, dtype=np.uint8, indices=[6, 0, 3], progress=False)
    assert x.shape == (3, 10, 2, 34, 34) and x.dtype == np.uint8 and y.tolist() == [0, 0, 0]
    # a "model" that predicts sample index % 3 from the label oracle: perfect, then shifted
    res = evaluate(lambda xb: np.zeros(len(xb), int), ds, batch_size=3, transform=tt,
                   progress=False)
    assert res["samples"] == 7 and res["accuracy"] == pytest.approx(3 / 7)
    assert res["confusion"].sum() == 7 and res["confusion"][0, 0] == 3
    with pytest.raises(ValueError, match="indices"):
        materialize(ds, indices=[7], progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        next(iter_batches(ds, 0))


def test_variable_length_without_duration_is_an_error_in_batches():
    ds = CountingDataset(4)
    with pytest.raises(ValueError, match="duration_s"):
        list(iter_batches(ds, 4, transform=ToSpikeTensor(SS, dt_s=1e-4), progress=False))


# ----------------------------------------------------------------------------- bad input
def test_missing_fields():
    ev = np.zeros(3, dtype=[("x", int), ("t", int), ("p", int)])
    with pytest.raises(ValueError, match=r"lacks field\(s\) \['y'\]"):
        to_frames(ev, SS, dt_s=1e-3, duration_s=1e-3)
    with pytest.raises(TypeError, match="structured"):
        validate_events(np.zeros((3, 4)), SS)


def test_unsorted_timestamps_raise_or_sort():
    ev = make_events([0, 1, 2], [0, 0, 0], [500, 100, 900], [1, 0, 1])
    with pytest.raises(ValueError, match="not sorted.*sort=True"):
        to_frames(ev, SS, dt_s=1e-3, duration_s=1e-3)
    with pytest.raises(ValueError, match="not sorted"):
        to_spike_times(ev, SS)
    st = to_spike_times(ev, SS, sort=True)
    np.testing.assert_allclose(st.times, [1e-4, 5e-4, 9e-4])
    assert st.indices.tolist()[0] == 34 * 34 * 0 + 1
    f = to_frames(ev, SS, dt_s=1e-3, duration_s=1e-3, sort=True)
    assert f.sum() == 3


@pytest.mark.parametrize("field, value, match", [
    ("x", 34, r"\['x'\] has value 34 outside the sensor \(allowed 0..33"),
    ("y", -1, r"\['y'\] has value -1"),
    ("t", -5, "negative timestamps"),
    ("p", 2, r"\['p'\] has values \[0, 2\]")])
def test_out_of_range_values(field, value, match):
    ev = make_events([0, 1], [0, 0], [0, 10], [0, 1])
    ev[field][1 if field != "t" else 0] = value
    with pytest.raises(ValueError, match=match):
        to_frames(ev, SS, dt_s=1e-3, duration_s=1e-3)


def test_polarity_minus_one_is_mapped():
    ev = make_events([0, 1], [0, 0], [0, 10], [-1, 1])
    f = to_frames(ev, SS, dt_s=1e-3, duration_s=1e-3)
    assert f[0, 0, 0, 0] == 1 and f[0, 1, 0, 1] == 1


def test_empty_recording():
    ev = np.zeros(0, EVENT_DTYPE)
    f = to_frames(ev, SS, dt_s=1e-3, duration_s=0.005)
    assert f.shape == (5, 2, 34, 34) and f.sum() == 0
    with pytest.raises(ValueError, match="empty recording needs duration_s"):
        to_frames(ev, SS, dt_s=1e-3)
    st = to_spike_times(ev, SS)
    assert len(st.times) == 0 and len(st.indices) == 0
    assert event_stats([ev]).events_mean == 0.0


def test_bad_grid_and_sensor_arguments():
    ev = make_events([0], [0], [0], [1])
    with pytest.raises(ValueError, match="exactly one of dt_s"):
        to_frames(ev, SS)
    with pytest.raises(ValueError, match="dt_s"):
        to_frames(ev, SS, dt_s=0.0, duration_s=1.0)
    with pytest.raises(ValueError, match="n_time_bins"):
        to_frames(ev, SS, n_time_bins=0, duration_s=1.0)
    with pytest.raises(ValueError, match="sensor_size"):
        to_frames(ev, (34, 34), dt_s=1e-3)
    with pytest.raises(ValueError, match="polarity channels"):
        to_frames(ev, (34, 34, 3), dt_s=1e-3)
    with pytest.raises(ValueError, match="one polarity channel"):
        to_frames(make_events([0, 0], [0, 0], [0, 1], [0, 1]), (34, 34, 1), dt_s=1e-3)


# ----------------------------------------------------------------------------- engines
def test_spike_times_and_frames_drive_the_clock_engine_identically():
    from spikesim import ir
    from spikesim.sim import Frames, Simulator

    ss, n = (4, 3, 2), 24
    net = ir.Network(nodes={"in": ir.Input((2, 3, 4)), "w": ir.Linear(2.0 * np.eye(n)),
                            "if": ir.IF(n, v_threshold=1.0), "out": ir.Output()},
                     edges=["in->w", "w->if", "if->out"])
    rng = np.random.default_rng(0)
    m = 60
    ev = make_events(rng.integers(0, 4, m), rng.integers(0, 3, m),
                     np.sort(rng.integers(0, 20_000, m)), rng.integers(0, 2, m))
    r1 = Simulator(net, dt=1e-3).run(0.022, inputs={"in": to_spike_times(ev, ss)},
                                     progress=False)
    frames = to_frames(ev, ss, dt_s=1e-3, duration_s=0.02)
    r2 = Simulator(net, dt=1e-3).run(0.022, inputs={"in": Frames(frames, dt_frame=1e-3)},
                                     progress=False)
    # each (step, channel) with an event makes channel's IF neuron fire once, one step later
    want = frames.reshape(20, n).sum(axis=0)
    np.testing.assert_array_equal(r1.outputs["out"][0], want)
    np.testing.assert_array_equal(r2.outputs["out"][0], want)
    st = r1.spikes["if"]
    first = ev[0]
    k = int(first["p"]) * 12 + int(first["y"]) * 4 + int(first["x"])
    assert st.t[0] == pytest.approx((first["t"] // 1000 + 2) * 1e-3)
    assert k in st.i[st.t == st.t[0]].tolist()
