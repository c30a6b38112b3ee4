"""spikesim.compare: the table's arithmetic by hand, energies reproducible from stored counts,
"not available" rows for missing backends."""
from __future__ import annotations

import json

import numpy as np
import pytest

from spikesim import compare as cmp
from spikesim import nn
from spikesim.sim import Counts


def tiny_ann():
    m = nn.Sequential(nn.Dense(3, 2, bias=False), nn.ReLU(), nn.Dense(2, 2, bias=False))
    m[0].params["weight"][...] = [[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]]
    m[2].params["weight"][...] = [[1.0, -1.0], [0.0, 3.0]]
    return m.eval()


X = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 1.0]], np.float32)


def test_ann_counts_by_hand():
    c = cmp.ann_counts(tiny_ann(), X)
    # layer 1: sample 1 has inputs 0 and 2 nonzero -> column 0 has 2 nonzero weights,
    # column 2 has 1; sample 2 has input 2 only -> 1. Hidden = relu(W1 x) = [0, .5], [0, 0]
    # layer 2: sample 1 input 1 nonzero -> column 1 has 2 nonzero weights; sample 2: none
    assert c.total("synops_mac") == 3 + 1 + 2
    assert c.total("dense_mac") == 2 * (3 * 2 + 2 * 2)
    assert c.total("neuron_updates", kind="neuron") == 2 * 2
    assert c.total("synops_ac") == 0 and c.samples == 2


def test_row_arithmetic_by_hand_cmos45nm_and_gpu():
    c = cmp.ann_counts(tiny_ann(), X)
    r = cmp.make_row("ANN", "cmos45nm", c, accuracy=0.5, engine="numpy", latency_s=None,
                     report_kwargs={"precision": "fp32"})
    assert r["synops"] == 3.0 and r["macs"] == 3.0 and r["spikes_per_inference"] is None
    # per inference: 3 MACs + 2 neuron updates at 4.6 pJ; memory: weight reads = 3 effective
    # ops, state reads = state writes = 2 neuron updates, at 20 pJ (5 pJ low, 100 pJ high)
    assert r["energy_j"]["nominal"] == pytest.approx((5 * 4.6 + 7 * 20) * 1e-12, rel=1e-12)
    assert r["energy_j"]["low"] == pytest.approx((5 * 4.6 + 7 * 5) * 1e-12, rel=1e-12)
    assert r["energy_j"]["high"] == pytest.approx((5 * 4.6 + 7 * 100) * 1e-12, rel=1e-12)
    g = cmp.make_row("ANN", "gpu", c, accuracy=0.5, engine="numpy", latency_s=None,
                     report_kwargs={"precision": "fp32", "weights": 10, "batch_size": 1})
    assert g["macs"] == 10.0
    # dense: 10 MACs + 2 neuron updates at 4.6 pJ; DRAM at 1.95 nJ / 8 bytes: weights
    # 10 x 4 bytes per batch of 1 (40 bytes per inference), activations 2 x 2 x 4 = 16 bytes
    want = 12 * 4.6e-12 + (40 + 16) * 1.95e-9 / 8
    assert g["energy_j"]["nominal"] == pytest.approx(want, rel=1e-12)
    assert g["energy_j"]["low"] == pytest.approx(12 * 4.6e-12 + 56 * 1.3e-9 / 8, rel=1e-12)


def test_row_energy_recomputed_after_json_round_trip():
    c = Counts.empty(["fc", "lif"], kinds={"fc": "synapse", "lif": "neuron"}, samples=4,
                     duration_s=0.02, source="hand")
    c.add("fc", synops_ac=4000)
    c.add("lif", spikes=100, neuron_updates=800, spikes_routed=100, hops=40)
    r = cmp.make_row("SNN", "loihi", c, accuracy=1.0, engine="hand", latency_s=0.02)
    e = json.loads(json.dumps(r))
    assert cmp.row_energy(e) == pytest.approx(tuple(r["energy_j"].values()), rel=1e-12)
    # by hand: 1000 synops x 23.6 pJ + 200 neuron updates x 81 pJ + 25 spikes x 1.7 pJ
    # + 10 hops x 3.5 pJ + 104 mW x 20 ms
    hand = 1000 * 23.6e-12 + 200 * 81e-12 + 25 * 1.7e-12 + 10 * 3.5e-12 + 0.104 * 0.02
    assert r["energy_j"]["nominal"] == pytest.approx(hand, rel=1e-12)
    assert r["spikes_per_inference"] == 25.0 and r["synops"] == 1000.0


def test_merge_batches_weights_durations():
    a = Counts.empty(["x"], samples=3, duration_s=0.01, source="s")
    a.add("x", synops_ac=30)
    b = Counts.empty(["x"], samples=1, duration_s=0.05, source="s")
    b.add("x", synops_ac=7)
    m = cmp.merge_batches([a, b])
    assert m.samples == 4 and m.total("synops_ac") == 37
    assert m.duration_s == pytest.approx((3 * 0.01 + 0.05) / 4)
    with pytest.raises(ValueError, match="no counts"):
        cmp.merge_batches([])


def test_unavailable_row_has_no_numbers_and_shows_in_table():
    r = cmp.unavailable_row("SNN", "loihi", "loihi", "ImportError: no module")
    assert r["energy_j"] is None and r["accuracy"] is None and r["synops"] is None
    text = cmp.format_rows([r], cmp.PUBLISHED)
    assert "not available: ImportError: no module" in text and "42460" in text


def test_published_figures_consistent():
    np_ = cmp.PUBLISHED[0]
    assert np_["energy_per_frame_j"] == pytest.approx(74.0 / 42460)
    assert 1 / np_["energy_per_frame_j"] == pytest.approx(np_["frames_per_j"], rel=0.01)
    # the table's frames/J column and its fps / W agree to 4 % (A100: 77.0 vs 80)
    for p in cmp.PUBLISHED[1:3]:
        assert 1 / p["energy_per_frame_j"] == pytest.approx(p["frames_per_j"], rel=0.04)


def test_compare_bad_input():
    x = np.zeros((4, 3), np.float32)
    y = np.zeros(4, int)
    with pytest.raises(ValueError, match="platforms"):
        cmp.compare(x, y, x, y, platforms=["tpu"])
    with pytest.raises(ValueError, match=r"x_test.*range \[2.0, 2.0\]"):
        cmp.compare(x, y, x + 2, y, progress=False)
    with pytest.raises(ValueError, match="Settings.timesteps"):
        cmp.Settings(timesteps=0)
    with pytest.raises(ValueError, match="Settings.reset"):
        cmp.Settings(reset="soft")


@pytest.mark.parametrize("name", ["energy_mnist.json", "energy_mnist_11x11.json"])
def test_committed_bench_rows_reproducible(name):
    from pathlib import Path

    p = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / name
    if not p.is_file():
        pytest.skip(f"no committed energy benchmark result {name}")
    d = json.loads(p.read_text())
    assert d["published"] and d["rows"]
    if name == "energy_mnist.json":  # the full 28 x 28 input: every row says how it maps
        assert d["dataset"] == "mnist-28x28"
        for r in d["rows"]:
            if r["status"] == "ok":
                m = r["fan_in_mapping"]
                assert m["method"] and m["summary"] and 0 < m["max_fan_in"] <= 784
                if r["platform"] == "truenorth":
                    assert m["relay_accuracy_cost"] == pytest.approx(
                        m["ternary_clock_accuracy"] - r["accuracy"], abs=1e-12)
    for r in d["rows"]:
        if r["status"] != "ok":
            assert r["energy_j"] is None and r["reason"]
            continue
        e = r["energy_j"]
        assert cmp.row_energy(r) == pytest.approx((e["low"], e["nominal"], e["high"]),
                                                  rel=1e-12)
        c = Counts.from_dict(r["counts"])
        assert r["accuracy"] is not None and 0 <= r["accuracy"] <= 1
        if r["synops"] is not None:
            assert r["synops"] == pytest.approx(c.synops / c.samples)


def test_bernoulli_steps_match_one_draw():
    x = np.random.default_rng(5).random((7, 13)).astype(np.float32)
    one = np.random.default_rng(1).random((5, 7, 13), dtype=np.float32) < x
    np.testing.assert_array_equal(cmp._bernoulli(np.random.default_rng(1), 5, x), one)
    assert 0.3 < one.mean() < 0.7
