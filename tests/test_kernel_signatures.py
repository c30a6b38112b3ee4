"""Each engine kernel compiles once per workload, not once per literal.

numba types an integer constant as ``Literal[int]``: a helper called with a constant (or with
a loop-carried counter that starts at one, ``ip = 0; ip = core(ip, ...)``) is compiled a
second time for ``int64``, and an index read from an int32 array and one from an int64
array give two more. Before the kernels started such counters as ``np.int64(0)`` the event
engine's core compiled twice, and the cold-cache compile of the sparse-network benchmark
took 62 s instead of 37 s. Checked in a fresh process with an empty numba cache (signatures
of nested kernels are only known when they are compiled, not when loaded from the cache),
hence ``slow`` (about 40 s)."""
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import importlib, pkgutil, sys
    import numpy as np
    from numba.core.registry import CPUDispatcher
    from spikesim import ir, learn
    from spikesim.sim import Simulator, SpikeTimes
    from spikesim.benchmarks.sparse import poisson_train, sparse_network
    import spikesim.kernels as K

    net = sparse_network(300, seed=0)
    st = poisson_train(300, 20.0, 0.1, 1)
    for engine, kw in (("event", {}), ("clock", {"dt": 1e-4})):
        Simulator(net, engine=engine, rng=0, **kw).run(0.1, inputs={"drive": st},
                                                        progress=False)
    # the plastic clock kernels (eager triplet and reward, lazy pair) and the plastic
    # event engine (STDP and reward)
    rng = np.random.default_rng(0)
    for rule in (learn.PairSTDP(a_plus=0.01, a_minus=0.0105, w_max=1.0),
                 learn.TripletSTDP.published("visual_all_to_all", w_max=1.0),
                 learn.RewardSTDP(a_plus=0.1, a_minus=0.12, w_max=1.0)):
        W = rng.uniform(0.0, 0.5, (5, 20))
        pnet = ir.Network({"in": ir.Input(20), "syn": ir.Sparse.from_dense(W, plasticity=rule),
                           "out": ir.LIF(5, tau=0.01, v_threshold=1.0)},
                          [("in", "syn"), ("syn", "out")])
        t = np.sort(rng.uniform(0, 0.5, 400))
        stim = {"in": SpikeTimes(t, rng.integers(0, 20, t.size))}
        if isinstance(rule, learn.RewardSTDP):
            stim["syn"] = learn.Reward([0.1, 0.3], 0.5)
        for engine, kw in (("event", {}), ("clock", {"dt": 1e-4})):
            Simulator(pnet, engine=engine, rng=0, **kw).run(0.5, inputs=stim, progress=False)
        # delayed plastic synapses on the event engine (weights in flight, ring growth)
        s = pnet["syn"]
        dnet = ir.Network({"in": ir.Input(20), "out": pnet["out"],
                           "syn": ir.Sparse(n_pre=20, n_post=5, indptr=s.indptr,
                                            indices=s.indices, weight=s.weight, delay=0.02,
                                            plasticity=rule)},
                          [("in", "syn"), ("syn", "out")])
        Simulator(dnet, engine="event", rng=0).run(0.5, inputs=stim, progress=False)

    def same_but_literal_or_width(a, b):
        for x, y in zip(a, b):
            if x == y:
                continue
            sx, sy = str(x), str(y)
            ints = ("int8", "int16", "int32", "int64", "uint64")
            if sx.startswith("Literal[int]") or sy.startswith("Literal[int]"):
                continue
            if sx in ints and sy in ints:
                continue
            return False
        return True

    bad = []
    for m in pkgutil.iter_modules(K.__path__):
        mod = importlib.import_module("spikesim.kernels." + m.name)
        for name, f in vars(mod).items():
            if isinstance(f, CPUDispatcher) and f.__module__ == mod.__name__:
                s = f.signatures
                for i in range(len(s)):
                    for j in range(i):
                        if same_but_literal_or_width(s[i], s[j]):
                            bad.append(f"{mod.__name__}.{name}: {s[j]} / {s[i]}")
    print("\\n".join(bad))
    sys.exit(1 if bad else 0)
""")


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_engine_kernels_compile_once_per_workload(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    script = tmp_path / "sigs.py"
    script.write_text(SCRIPT)
    p = subprocess.run([sys.executable, str(script)], env=env, timeout=360,
                       capture_output=True, text=True)
    assert p.returncode == 0, "compiled more than once:\n" + p.stdout + p.stderr[-3000:]
