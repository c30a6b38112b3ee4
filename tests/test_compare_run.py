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
    for row in d["rows"]:
        if row["status"] == "ok":
            assert cmp.row_energy(row) == pytest.approx(
                tuple(row["energy_j"][k] for k in ("low", "nominal", "high")), rel=1e-12)
        else:
            assert row["energy_j"] is None and row["reason"]
