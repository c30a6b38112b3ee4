"""Smoke test of ``spikesim bench train`` (small MNIST subset; training to the target
accuracies is a benchmark, never a default test)."""
import json
import subprocess
import sys

import pytest


@pytest.mark.smoke
@pytest.mark.timeout(120)
def test_bench_train_smoke(tmp_path):
    from spikesim.benchmarks import common
    try:
        common.mnist_path(None)
    except FileNotFoundError:
        pytest.skip("MNIST not available")
    out = tmp_path / "train.json"
    r = subprocess.run([sys.executable, "-m", "spikesim", "bench", "train", "--model", "fc",
                        "--epochs", "1", "--timesteps", "8", "--train-samples", "1024",
                        "--test-samples", "500", "--encoding", "poisson", "--no-progress",
                        "--json", str(out)], capture_output=True, text=True, timeout=110)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "test_accuracy" in r.stdout  # the table
    d = json.loads(out.read_text())
    for k in ("test_accuracy", "epochs", "timesteps", "encoding", "epoch_s", "jit_s",
              "peak_mem_growth_mb", "params", "versions", "git_commit"):
        assert k in d, k
    assert d["epochs"] == 1 and d["timesteps"] == 8 and d["encoding"] == "poisson"
    assert d["params"] == 784 * 1000 + 1000 + 1000 * 10 + 10
    assert 0.5 < d["test_accuracy"] <= 1.0  # well above chance after 8 small batches
    assert d["epoch_s"] > 0 and d["partial"] is False


def test_bench_train_rejects_bad_options():
    from spikesim.benchmarks import train
    with pytest.raises(SystemExit):
        train.main(["--model", "mlp"])
    with pytest.raises(SystemExit):
        train.main(["--epochs", "0"])
