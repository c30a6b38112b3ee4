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


@pytest.mark.smoke
@pytest.mark.timeout(300)  # about 10 s of CPU; the margin is for a loaded machine
@pytest.mark.skipif(not MNIST.exists(), reason="MNIST file not available")
def test_bench_convert_resume_equals_one_run(tmp_path):
    """--resume: 20 test images, then the next 20, combined = one run on 40 (same sums);
    different settings are refused naming the setting."""
    base = ["--model", "tiny", "--method", "qcfs", "--train-samples", "2000", "--epochs", "1",
            "--finetune-epochs", "0", "--batch-size", "64", "--calibration", "200",
            "--timesteps", "4,16", "--batch", "8", "--data", str(MNIST), "--no-progress",
            "--checkpoint", str(tmp_path / "ann.npz")]
    full, half, both = (tmp_path / f"{k}.json" for k in ("full", "half", "both"))
    assert bench.main(base + ["--test-samples", "40", "--json", str(full)]) == 0
    assert bench.main(base + ["--test-samples", "20", "--json", str(half)]) == 0
    assert bench.main(base + ["--test-samples", "40", "--resume", str(half),
                              "--json", str(both)]) == 0
    f, h, b = (json.loads(p.read_text()) for p in (full, half, both))
    assert h["snn_test_samples"] == 20 and b["snn_test_samples"] == f["snn_test_samples"] == 40
    assert [(p["first"], p["n"]) for p in b["parts"]] == [(0, 20), (20, 20)]
    for k in ("snn_accuracy", "agreement", "synops_per_inference", "synops_ac_per_inference",
              "synops_mac_per_inference", "spikes_per_inference"):
        assert set(b[k]) == set(f[k]) == {"4", "16"}
        for T in f[k]:
            assert b[k][T] == pytest.approx(f[k][T], rel=1e-12, abs=1e-12), (k, T)
    assert b["ann_accuracy_on_snn_samples"] == f["ann_accuracy_on_snn_samples"]
    with pytest.raises(ValueError, match="v_init"):
        bench.main(base + ["--test-samples", "40", "--v-init", "0", "--resume", str(half)])
    with pytest.raises(ValueError, match="already covers"):
        bench.main(base + ["--test-samples", "20", "--resume", str(half)])
