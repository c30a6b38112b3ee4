"""Smoke tests of ``spikesim bench sparse`` (all three modes) on small networks."""
from __future__ import annotations

import json

import pytest

from spikesim.benchmarks import sparse


@pytest.mark.smoke
@pytest.mark.timeout(120)
def test_sparse_bench_smoke(tmp_path):
    out = tmp_path / "s.json"
    assert sparse.main(["--neurons", "3000", "--duration", "0.2", "--rates", "1", "3",
                        "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    for k in ("rates_hz", "measured_rates_hz", "clock_run_s", "event_run_s"):
        assert len(d[k]) == 2
    assert d["crossover_hz"] > 0 and "versions" in d
    # drive of one input per neuron with weight 1: the measured rate follows the target
    assert 0.5 < d["measured_rates_hz"][1] / 3.0 < 1.5


@pytest.mark.smoke
@pytest.mark.timeout(120)
def test_accuracy_and_cuba_modes_smoke(tmp_path):
    out = tmp_path / "a.json"
    assert sparse.main(["--accuracy", "--inputs", "500", "--neurons", "50", "--duration", "0.1",
                        "--dts", "1e-4", "1e-6", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["clock_mean_error_s"][0] > d["clock_mean_error_s"][-1]
    assert "speedup_equal_accuracy" in d and "clock_dt_for_1us_s" in d
    out = tmp_path / "c.json"
    assert sparse.main(["--cuba", "--neurons", "500", "--duration", "0.2", "--seeds", "1",
                        "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    for k in ("neurons", "duration_s", "engine", "spikes", "rate_hz", "syn_events", "run_s",
              "jit_s", "ns_per_syn_event"):
        assert k in d
    assert d["engine"] == "event" and d["syn_events"] > 0
