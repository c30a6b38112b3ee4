"""Smoke test of ``spikesim bench truenorth`` (tiny MNIST training and a 64-core full chip)."""
from __future__ import annotations

import json

import pytest

from spikesim.benchmarks import truenorth as bench


@pytest.mark.smoke
@pytest.mark.timeout(120)
def test_bench_truenorth_smoke(tmp_path):
    p = tmp_path / "tn.json"
    assert bench.main(["--smoke", "--no-progress", "--json", str(p)]) == 0
    d = json.loads(p.read_text())
    for k in ("cores", "chips", "accuracy", "reference_accuracy", "energy_per_inference_j",
              "ticks_per_s"):
        assert k in d
    assert 0 <= d["accuracy"] <= 1 and d["cores"] == 2 and d["chips"] == 1
    assert abs(d["accuracy"] - d["reference_accuracy"]) < 0.1
    # static power (about 63 mW) x 11 ticks of 1 ms dominates: about 0.7 mJ per inference
    assert 0.5e-3 < d["energy_per_inference_j"] < 1e-3


@pytest.mark.smoke
@pytest.mark.timeout(120)
def test_bench_truenorth_full_chip_smoke(tmp_path):
    p = tmp_path / "fc.json"
    assert bench.main(["--full-chip", "--smoke", "--no-progress", "--json", str(p)]) == 0
    d = json.loads(p.read_text())
    for k in ("realtime_factor", "realtime_factor_stochastic", "realtime_factor_2threads",
              "realtime_factor_stochastic_2threads"):
        assert d[k] > 0
    assert 15 < d["rate_hz"] < 25 and 15 < d["rate_hz_stochastic"] < 27
