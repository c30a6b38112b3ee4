"""Optional: event-engine spike times vs NEST's precise-timing ``iaf_psc_exp_ps``.

NEST (``pip install nest-simulator``) lives in its own virtualenv, by default
``$SPIKESIM_VENVS/nest`` (override with ``$SPIKESIM_NEST_PYTHON`` pointing to its python); the test
is skipped when it is absent. A feed-forward layer of 20 neurons receives 60 Poisson channels
(excitatory and inhibitory, 1 ms delay); spike times must agree to 1 us.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from spikesim.benchmarks.common import venv_python

from spikesim import ir
from spikesim.sim import Simulator, SpikeTimes

NEST_PY = Path(os.environ.get("SPIKESIM_NEST_PYTHON", str(venv_python("nest"))))

RUNNER = r"""
import json, sys
import nest
cfg = json.loads(sys.stdin.read())
nest.set_verbosity("M_ERROR")
nest.ResetKernel()
nest.resolution = 0.1
p = cfg["params"]
neurons = nest.Create("iaf_psc_exp_ps", cfg["n"], params=p)
gens = nest.Create("spike_generator", cfg["n_in"], params={"precise_times": True})
for k, g in enumerate(gens):
    ts = cfg["times"][k]
    if ts:
        g.set(spike_times=ts)
for (pre, post, w) in cfg["syn"]:
    nest.Connect(gens[pre], neurons[post], syn_spec={"weight": w, "delay": cfg["delay_ms"]})
rec = nest.Create("spike_recorder")
nest.Connect(neurons, rec)
nest.Simulate(cfg["T_ms"])
ev = rec.get("events")
print(json.dumps({"senders": [int(s) - int(neurons[0].global_id) for s in ev["senders"]],
                  "times": [float(t) for t in ev["times"]]}))
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_spike_times_match_nest_iaf_psc_exp_ps():
    if not NEST_PY.is_file():
        pytest.skip(f"NEST virtualenv not found at {NEST_PY}")
    rng = np.random.default_rng(7)
    n, n_in, T = 20, 60, 1.0
    C_m, tau_m, ts_ex, ts_in = 250e-12, 10e-3, 2e-3, 5e-3
    E_L, V_th, V_reset, t_ref, I_e = -70e-3, -55e-3, -70e-3, 2e-3, 300e-12
    delay = 1e-3
    w = np.where(rng.random((n, n_in)) < 0.5, 0.0, 1.0)
    w *= np.where(np.arange(n_in) < 45, rng.uniform(200, 900, n_in),
                  -rng.uniform(200, 900, n_in))[None, :]  # pA
    times, idx = [], []
    cfg_times = []
    for k in range(n_in):
        t = np.sort(np.round(rng.uniform(1e-3, T - 0.01, rng.poisson(15 * T)), 7))  # s
        t = np.unique(t)
        cfg_times.append([float(x * 1e3) for x in t])
        times.append(t)
        idx.append(np.full(t.size, k))
    syn = [(int(j), int(i), float(w[i, j])) for i in range(n) for j in range(n_in) if w[i, j]]
    cfg = {"n": n, "n_in": n_in, "T_ms": T * 1e3, "delay_ms": delay * 1e3, "times": cfg_times,
           "syn": syn,
           "params": {"C_m": C_m * 1e12, "tau_m": tau_m * 1e3, "tau_syn_ex": ts_ex * 1e3,
                      "tau_syn_in": ts_in * 1e3, "E_L": E_L * 1e3, "V_th": V_th * 1e3,
                      "V_reset": V_reset * 1e3, "t_ref": t_ref * 1e3, "I_e": I_e * 1e12,
                      "V_m": E_L * 1e3}}
    out = subprocess.run([str(NEST_PY), "-c", RUNNER], input=json.dumps(cfg), text=True,
                         capture_output=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    nest_res = json.loads(out.stdout.strip().splitlines()[-1])

    # the same layer in the IR: r = tau_m / C_m, currents in A, bias = I_e
    exc, inh = np.where(w > 0, w, 0.0) * 1e-12, np.where(w < 0, w, 0.0) * 1e-12
    nodes = {"in": ir.Input(n_in),
             "L": ir.CubaLIF(n, tau_mem=tau_m, tau_syn=(ts_ex, ts_in), ports=("exc", "inh"),
                             r=tau_m / C_m, v_leak=E_L, v_threshold=V_th, v_reset=V_reset,
                             refractory=t_ref, bias=I_e),
             "se": ir.Sparse.from_dense(exc, delay=delay),
             "si": ir.Sparse.from_dense(inh, delay=delay)}
    net = ir.Network(nodes, ["in->se", "in->si", "se->L:exc", "si->L:inh"])
    stim = SpikeTimes(times=np.concatenate(times), indices=np.concatenate(idx))
    res = Simulator(net, engine="event", rng=0).run(T, inputs={"in": stim}, progress=False)
    ours = res.spikes["L"]
    theirs_t = np.array(nest_res["times"]) * 1e-3
    theirs_i = np.array(nest_res["senders"])
    assert len(ours) > 50
    worst = 0.0
    for i in range(n):
        a = np.sort(ours.t[ours.i == i])
        b = np.sort(theirs_t[theirs_i == i])
        assert a.size == b.size, (i, a.size, b.size)
        if a.size:
            worst = max(worst, float(np.max(np.abs(a - b))))
    print(f"{len(ours)} spikes; largest difference to NEST {worst:.3g} s")
    assert worst < 1e-6
