"""spikesim.compare end to end on tiny synthetic data, and the bench smoke test."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spikesim import compare as cmp

REPO = Path(__file__).resolve().parent.parent
MNIST = REPO.parent / "shared" / "data" / "mnist.npz"


def synthetic(n: int, seed: int = 0):
    """4 classes of 16 'pixels' in [0, 1]: a bright block per class plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.random((n, 16)) * 0.2
    for k in range(4):
        x[y == k, 4 * k:4 * k + 4] += 0.7
    return np.clip(x, 0, 1).astype(np.float32), y


@pytest.mark.timeout(120)
def test_compare_rows_reproducible_and_missing_backend(monkeypatch, tmp_path):
    from spikesim import backends

    real_get = backends.get

    def get(name):
        if name == "loihi":
            raise ImportError("spikesim.backends.loihi is not installed in this build")
        return real_get(name)

    monkeypatch.setattr(backends, "get", get)
    xtr, ytr = synthetic(300)
    xte, yte = synthetic(60, seed=1)
    s = cmp.Settings(hidden=16, timesteps=8, epochs_ann=25, epochs_snn=6, batch=25,
                     lr_snn=1e-2)
    out = cmp.compare(xtr, ytr, xte, yte, s, cache_dir=tmp_path, progress=False,
                      log=lambda m: None)
    rows = {(r["model"], r["platform"]): r for r in out["rows"]}
    assert len(out["rows"]) == 9
    for model in (cmp.CONV, cmp.SG):
        r = rows[(model, "loihi")]
        assert r["status"] == "not available" and "not installed" in r["reason"]
        assert r["energy_j"] is None and r["accuracy"] is None
    ok = [r for r in out["rows"] if r["status"] == "ok"]
    assert len(ok) == 7
    for r in ok:
        e = json.loads(json.dumps(r))
        assert cmp.row_energy(e) == pytest.approx(
            (r["energy_j"]["low"], r["energy_j"]["nominal"], r["energy_j"]["high"]), rel=1e-12)
        assert 0.0 <= r["accuracy"] <= 1.0
    # an easy task (chance 0.25): the ANN and its conversion learn it, the briefly trained
    # ternary SG SNN beats chance; TrueNorth runs the same SG network exactly (ternary weights)
    assert rows[(cmp.ANN, "cmos45nm")]["accuracy"] > 0.9
    assert rows[(cmp.CONV, "cmos45nm")]["accuracy"] > 0.8
    assert rows[(cmp.SG, "cmos45nm")]["accuracy"] > 0.4
    assert rows[(cmp.SG, "truenorth")]["accuracy"] == rows[(cmp.SG, "cmos45nm")]["accuracy"]
    # 16 inputs fit one core: no relays, the mapping says so
    tn_map = rows[(cmp.SG, "truenorth")]["fan_in_mapping"]
    assert tn_map["method"].startswith("fits") and "relay_threshold" not in tn_map
    assert rows[(cmp.SG, "truenorth")]["latency_s"] == pytest.approx((8 + 1) * 1e-3)
    # the same counts priced on two tables; clock SNN rows count spikes, ANN rows do not
    assert rows[(cmp.ANN, "gpu")]["macs"] == 16 * 16 + 16 * 4
    assert rows[(cmp.CONV, "cmos45nm")]["spikes_per_inference"] > 0
    assert rows[(cmp.CONV, "cmos45nm")]["engine"] == "clock"
    # the cache is used on a second call (no training)
    again = cmp.compare(xtr, ytr, xte, yte, s, platforms=["cmos45nm"], cache_dir=tmp_path,
                        progress=False, log=lambda m: None)
    assert again["cached"] == {"ann": True, "sg_snn": True}
    a = {(r["model"], r["platform"]): r for r in again["rows"]}
    assert a[(cmp.SG, "cmos45nm")]["accuracy"] == rows[(cmp.SG, "cmos45nm")]["accuracy"]


@pytest.mark.smoke
@pytest.mark.timeout(120)
@pytest.mark.skipif(not MNIST.is_file(), reason="MNIST file not available")
def test_bench_energy_smoke(tmp_path):
    js = tmp_path / "energy.json"
    r = subprocess.run([sys.executable, "-m", "spikesim", "bench", "energy", "--smoke",
                        "--no-progress", "--data", str(MNIST), "--cache", str(tmp_path / "c"),
                        "--json", str(js)], capture_output=True, text=True, timeout=110)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "published, for scale" in r.stdout
    d = json.loads(js.read_text())
    assert js.with_suffix(".png").is_file()
    assert {(x["model"], x["platform"]) for x in d["rows"]} >= {
        (cmp.ANN, "cmos45nm"), (cmp.ANN, "gpu"), (cmp.ANN_Q, "northpole"),
        (cmp.CONV, "truenorth"), (cmp.SG, "loihi")}
    assert [p["platform"] for p in d["published"]][:3] == ["northpole", "NVIDIA A100",
                                                           "NVIDIA H100"]
    assert d["dataset"] == "mnist-28x28"
    tn = [x for x in d["rows"] if x["platform"] == "truenorth" and x["status"] == "ok"]
    assert tn and all(x["fan_in_mapping"]["max_fan_in"] <= 784 for x in tn)
    assert all(x["fan_in_mapping"]["relay_extra_ticks"] == 1 for x in tn)  # 784 > 128 inputs
    for row in d["rows"]:
        if row["status"] == "ok":
            assert cmp.row_energy(row) == pytest.approx(
                tuple(row["energy_j"][k] for k in ("low", "nominal", "high")), rel=1e-12)
        else:
            assert row["energy_j"] is None and row["reason"]


def synthetic_wide(n: int, seed: int = 0, n_in: int = 300):
    """4 classes of ``n_in`` 'pixels': more inputs than a TrueNorth core takes (128 with
    ternary weights), so the first layer needs partial-sum relays there."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.random((n, n_in)) * 0.2
    w = n_in // 4
    for k in range(4):
        x[y == k, w * k:w * (k + 1)] += 0.5
    return np.clip(x, 0, 1).astype(np.float32), y


@pytest.mark.timeout(120)
def test_compare_wide_input_relays_on_truenorth_native_elsewhere():
    from spikesim import energy
    from spikesim.sim import Counts

    xtr, ytr = synthetic_wide(300)
    xte, yte = synthetic_wide(60, seed=1)
    s = cmp.Settings(hidden=16, timesteps=8, epochs_ann=10, epochs_snn=4, batch=30,
                     lr_snn=1e-2, relay_thresholds=(2.0, 8.0))
    out = cmp.compare(xtr, ytr, xte, yte, s, calibration=100, progress=False,
                      log=lambda m: None)
    rows = {(r["model"], r["platform"]): r for r in out["rows"]}
    assert len(rows) == 9 and all(r["status"] == "ok" for r in rows.values())
    for r in rows.values():
        assert r["fan_in_mapping"]["max_fan_in"] <= 300 and r["fan_in_mapping"]["summary"]
    assert rows[(cmp.ANN, "cmos45nm")]["fan_in_mapping"]["max_fan_in"] == 300
    assert rows[(cmp.ANN_Q, "northpole")]["fan_in_mapping"]["method"].startswith("native")
    tab = cmp.format_rows(out["rows"])
    assert "fan-in mapping (largest fan-in: 300 inputs" in tab and "relays:" in tab
    for model in (cmp.CONV, cmp.SG):
        lo = rows[(model, "loihi")]["fan_in_mapping"]
        assert lo["method"].startswith("native") and lo["cores"] >= 1
        assert max(x["max_fan_in_axons"] for x in lo["layers"]) <= 4096
        r = rows[(model, "truenorth")]
        m = r["fan_in_mapping"]
        # 300 inputs -> 3 groups of 128; a + and a - relay per (group, hidden neuron)
        assert m["relay_neurons"] == 3 * 2 * 16 and m["relay_extra_ticks"] == 1
        assert len(m["relay_layers"]) == 1 and m["relay_layers"][0].endswith("/relay")
        # the threshold is the first best on the calibration samples (not the test set)
        cal = [x["calibration_accuracy"] for x in m["relay_sweep"]]
        assert [x["relay_threshold"] for x in m["relay_sweep"]] == [2.0, 8.0]
        assert m["relay_threshold"] == m["relay_sweep"][int(np.argmax(cal))]["relay_threshold"]
        assert "100 training samples" in m["relay_selection"]
        assert m["relay_accuracy_cost"] == pytest.approx(
            m["ternary_clock_accuracy"] - r["accuracy"], abs=1e-12)
        # relay counts are the stored counts' relay layer; their energy by hand:
        # e_event per synaptic event + one chip's static power for the extra 1 ms tick
        c = Counts.from_dict(r["counts"])
        ev = c.layers[m["relay_layers"][0]]["synops_ac"] / c.samples
        assert m["relay_synaptic_events_per_inference"] == pytest.approx(ev, rel=1e-12)
        t = energy.get_table("truenorth").entries
        hand = ev * t["e_event"].value + t["p_static"].value * m["chips"] * 1e-3
        assert m["relay_energy_j"]["nominal"] == pytest.approx(hand, rel=1e-9)
        # each TrueNorth layer adds a tick: T + (relay, hidden, output) - 1 = one more than
        # the T + 1 ticks without relays
        assert r["latency_s"] == pytest.approx((8 + 1 + 1) * 1e-3)


def test_ternary_net_matches_truenorth_quantisation():
    from spikesim import backends, ir
    from spikesim.backends.truenorth.compiler import factor_levels, parse_chain

    rng = np.random.default_rng(3)
    net = ir.Network(
        nodes={"input": ir.Input(20), "fc": ir.Linear(rng.normal(size=(6, 20))),
               "h": ir.IF(6, v_threshold=1.0, reset="value"), "output": ir.Output()},
        edges=["input->fc", "fc->h", "h->output"])
    q = cmp._ternary_net(net)
    w = np.asarray(q.nodes["fc"].weight)
    _, _, layers, _ = parse_chain(net)
    a, Q, _ = factor_levels(layers[0], "ternary")
    np.testing.assert_allclose(w, a[:, None] * Q, rtol=1e-12)
    assert set(np.unique(np.sign(w))) <= {-1.0, 0.0, 1.0}
    # already ternary: compiling it without quantisation works and gives the same program
    backends.get("truenorth").compile(q)
