"""When the clock engine should deliver a dense projection by one matrix product (BLAS).

``spikesim bench dense --json out.json``: a hidden LIF layer (``--neurons`` neurons, its
activity set by its bias) projects through a dense ``Linear`` onto an output layer. For each
batch size and activity the run is timed twice on the same network: spikes delivered row by
row through the CSR (``dense_min_activity = 2``, never dense) and by ``S @ W`` in every step
with a spike (``dense_min_activity = 0``). The break-even activity per batch size is where the
engine's default threshold (``0.03 + 0.035 / batch``, spikesim/sim/clock.py) comes from.
Run with one BLAS thread (OPENBLAS_NUM_THREADS=1) to compare like with like.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from spikesim.benchmarks import common

DESCRIPTION = "dense projections: row-by-row delivery vs one matrix product, by activity and batch"


def _net(n: int, bias: float, rng: np.random.Generator):
    from spikesim import ir
    from spikesim.units import ms

    nodes = {"in": ir.Input((1,)), "w1": ir.Linear(np.zeros((n, 1))),
             "hid": ir.LIF(n, tau=10 * ms, v_threshold=1.0, bias=bias, reset="subtract",
                           v_init=rng.uniform(0, 1, n)),
             "w2": ir.Linear(rng.normal(0, 0.05, (n, n))),
             "out": ir.LIF(n, tau=10 * ms, v_threshold=1.0)}
    edges = [ir.Edge("in", "w1"), ir.Edge("w1", "hid"), ir.Edge("hid", "w2"), ir.Edge("w2", "out")]
    return ir.Network(nodes, edges)


def _time(net, batch: int, act: float, steps: int, dt: float, repeats: int):
    from spikesim.sim import Simulator

    best, cpu, rate, jit = np.inf, np.inf, 0.0, 0.0
    for _ in range(repeats):
        sim = Simulator(net, dt=dt, rng=0, batch=batch)
        sim.engine.dense_min_activity = act
        t0 = time.perf_counter()
        sim.run(2 * dt, progress=False)  # compiles or loads the kernels
        jit = max(jit, time.perf_counter() - t0)
        t0, c0 = time.perf_counter(), time.process_time()
        r = sim.run(steps * dt, progress=False)
        w, c = time.perf_counter() - t0, time.process_time() - c0
        if w < best:
            best, cpu = w, c
        rate = r.spikes["hid"].t.size / (net["hid"].n * steps * batch)
    return best, cpu, rate, jit


def main(argv=None) -> int:
    from spikesim.sim.clock import DENSE_ACTIVITY_BASE, DENSE_ACTIVITY_PER_BATCH

    ap = argparse.ArgumentParser(prog="spikesim bench dense", description=DESCRIPTION)
    ap.add_argument("--neurons", type=int, default=1000)
    ap.add_argument("--batches", default="1,8,64")
    ap.add_argument("--biases", default="1.02,1.2,2.0,5.0",
                    help="hidden-layer biases (threshold 1): they set the activity")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    dt = 1e-3
    rows, table = [], []
    rng = np.random.default_rng(0)
    jit_s = 0.0
    for batch in [int(x) for x in a.batches.split(",")]:
        for bias in [float(x) for x in a.biases.split(",")]:
            net = _net(a.neurons, bias, rng)
            t_rows, c_rows, act, j1 = _time(net, batch, 2.0, a.steps, dt, a.repeats)
            t_blas, c_blas, _, j2 = _time(net, batch, 0.0, a.steps, dt, a.repeats)
            jit_s = max(jit_s, j1, j2)
            rows.append({"batch": batch, "bias": bias, "activity": act, "rows_run_s": t_rows,
                         "rows_cpu_s": c_rows, "blas_run_s": t_blas, "blas_cpu_s": c_blas,
                         "speedup": t_rows / t_blas})
            table.append([batch, f"{act:.3f}", f"{t_rows:.4f}", f"{t_blas:.4f}",
                          f"{t_rows / t_blas:.2f}"])
    print(f"dense {a.neurons} x {a.neurons} Linear, {a.steps} steps, min of {a.repeats}")
    common.print_table(table, ["batch", "activity", "rows_s", "blas_s", "speedup"])
    out = {"benchmark": "dense", "neurons": a.neurons, "steps": a.steps, "repeats": a.repeats,
           "jit_s": jit_s, "rows": rows,
           "blas_threads_env": os.environ.get("OPENBLAS_NUM_THREADS"),
           "default_threshold": {str(b): DENSE_ACTIVITY_BASE + DENSE_ACTIVITY_PER_BATCH / b
                                 for b in sorted({r["batch"] for r in rows})},
           **common.meta()}
    common.write_json(a.json, out)
    return 0
