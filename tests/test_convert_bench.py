"""Smoke test of ``spikesim bench convert`` (tiny CNN, MNIST subset, T = 4 and 16)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from spikesim.benchmarks import convert as bench

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"


@pytest.mark.smoke
@pytest.mark.timeout(300)  # about 10 s of CPU; the margin is for a loaded machine
@pytest.mark.skipif(not MNIST.exists(), reason="MNIST file not available")
def test_bench_convert_smoke(tmp_path):
    p = tmp_path / "convert.json"
    argv = ["--model", "tiny", "--method", "qcfs", "--train-samples", "3000", "--epochs", "1",
            "--finetune-epochs", "0", "--batch-size", "64",
            "--test-samples", "100", "--calibration", "200", "--timesteps", "4,16",
            "--batch", "50", "--data", str(MNIST), "--no-progress", "--json", str(p)]
    assert bench.main(argv) == 0
    d = json.loads(p.read_text())
    assert set(d["snn_accuracy"]) == {"4", "16"} == set(d["agreement"]) \
        == set(d["synops_per_inference"])
    assert d["ann_accuracy"] > 0.5 and d["ann_test_samples"] == 10000
    assert d["snn_test_samples"] == 100 and d["depth"] == 3
    assert all(0 <= v <= 1 for v in d["snn_accuracy"].values())
    assert d["agreement"]["16"] >= 0.8
    assert d["synops_per_inference"]["16"] > d["synops_per_inference"]["4"] > 0
    assert d["ann_macs"] == 4 * 24 * 24 * 25 + 8 * 8 * 8 * 4 * 25 + 128 * 10
    assert (tmp_path / "convert.png").exists()
