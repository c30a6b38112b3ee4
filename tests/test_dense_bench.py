"""Smoke test of ``spikesim bench dense`` (row-by-row vs matrix-product delivery)."""
from __future__ import annotations

import json

import pytest

from spikesim.benchmarks import dense


@pytest.mark.smoke
@pytest.mark.timeout(120)
def test_dense_bench_smoke(tmp_path):
    out = tmp_path / "d.json"
    assert dense.main(["--neurons", "200", "--batches", "1,4", "--biases", "1.02,5.0",
                       "--steps", "50", "--repeats", "1", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert len(d["rows"]) == 4 and "versions" in d and d["jit_s"] >= 0
    acts = [r["activity"] for r in d["rows"]]
    assert all(0 <= a <= 1 for a in acts) and acts[1] > acts[0]   # the bias sets the activity
    assert all(r["rows_run_s"] > 0 and r["blas_run_s"] > 0 for r in d["rows"])
    assert d["default_threshold"]["1"] == pytest.approx(0.065)
    assert d["default_threshold"]["4"] == pytest.approx(0.03 + 0.035 / 4)
