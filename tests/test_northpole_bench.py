"""Smoke test of ``spikesim bench northpole`` (small data)."""
import json

import pytest

from spikesim.benchmarks import common


@pytest.mark.smoke
@pytest.mark.timeout(120)
def test_bench_northpole_smoke(tmp_path):
    try:
        common.mnist_path(None)
    except FileNotFoundError:
        pytest.skip("MNIST file not available")
    from spikesim.benchmarks import northpole
    out = tmp_path / "np.json"
    # the MLP keeps the smoke test short; the CNN path is covered by test_northpole_program
    assert northpole.main(["--smoke", "--no-progress", "--model", "mnist-mlp", "--precision",
                           "4", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    for k in ("accuracy", "float_accuracy", "cores", "fits_on_chip", "frames_per_s",
              "frames_per_j", "gmacs_per_s_host", "jit_s", "git_commit"):
        assert k in d, k
    assert 0 <= d["accuracy"] <= 1 and d["fits_on_chip"] and 0 < d["cores"] <= 256
    assert d["accuracy"] > 0.7  # 2000 training images, 1 epoch


@pytest.mark.smoke
def test_bench_northpole_resnet50_shapes(tmp_path):
    from spikesim.benchmarks import northpole
    out = tmp_path / "r.json"
    assert northpole.main(["--resnet50-shapes", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["published_fps"] == 42460
    assert abs(d["model_fps"] / d["published_fps"] - 1) <= 0.3
    assert 0 < d["utilisation"] <= 1 and d["roofline_fps"] >= d["model_fps"]
    assert "error" in d["second_network"]
