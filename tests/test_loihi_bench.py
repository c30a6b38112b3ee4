"""Smoke test of ``spikesim bench loihi`` (tiny training, 300 test images)."""
import json
import os
import subprocess
import sys

import pytest


@pytest.mark.smoke
@pytest.mark.timeout(120)
def test_bench_loihi_smoke(tmp_path):
    from spikesim.benchmarks import common
    try:
        common.mnist_path(None)
    except FileNotFoundError:
        pytest.skip("MNIST not available")
    out = tmp_path / "loihi.json"
    r = subprocess.run([sys.executable, "-m", "spikesim", "bench", "loihi", "--smoke",
                        "--no-progress", "--json", str(out)], capture_output=True, text=True,
                       timeout=110, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(out.read_text())
    for k in ("accuracy", "reference_accuracy", "cores", "energy_per_inference_j",
              "latency_s", "steps_per_s", "jit_s"):
        assert k in d
    assert 0 <= d["accuracy"] <= 1 and 0 <= d["reference_accuracy"] <= 1
    assert d["accuracy"] > 0.3 and abs(d["accuracy"] - d["reference_accuracy"]) < 0.1
    assert d["cores"] == 2 and d["energy_per_inference_j"] > 0
    assert 113e-9 * 22 <= d["latency_s"] < 0.1 and d["steps_per_s"] > 0
