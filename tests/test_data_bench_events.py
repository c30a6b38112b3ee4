"""Smoke test of ``spikesim bench events`` on a few synthetic digits (<= 60 s)."""
from __future__ import annotations

import json

import pytest

from spikesim.benchmarks import common


@pytest.mark.smoke
@pytest.mark.timeout(120)
def test_bench_events_smoke(tmp_path):
    try:
        common.mnist_path(None)
    except FileNotFoundError:
        pytest.skip("MNIST file not available")
    from spikesim.benchmarks import events

    out = tmp_path / "events.json"
    rc = events.main(["--train", "200", "--test", "100", "--epochs", "2", "--timesteps", "5",
                      "--hidden", "64", "--dropout", "0", "--lr", "5e-3", "--no-progress",
                      "--json", str(out)])
    assert rc == 0
    r = json.loads(out.read_text())
    assert r["synthetic"] is True and "synthetic" in r["dataset"]
    assert 0.0 <= r["test_accuracy"] <= 1.0
    assert r["test_accuracy"] > 0.25                   # well above chance (0.1) after 2 epochs
    assert 1000 < r["events_per_sample"] < 20000
    assert 0.3 < r["synthetic_stats"]["on_fraction"] < 0.7
    assert 0.25 < r["synthetic_stats"]["duration_mean_s"] <= 0.315
    assert r["epoch_s"] > 0 and r["jit_s"] >= 0 and r["synthetic_stats"]["samples"] == 100
    for k in ("versions", "git_commit", "cpu", "date"):
        assert k in r
    assert r["nmnist_published"]["on_fraction"]["value"] == "not found"
