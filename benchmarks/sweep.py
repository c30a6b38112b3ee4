"""Parallel efficiency of ``spikesim.sweep`` on Dask and on a process pool.

``spikesim bench sweep --workers 2 --json out.json``: a grid of CUBA simulations (one seed
per task, each task >= 1 s) runs on a Dask ``LocalCluster`` with 1 worker and with K workers
(one thread each; NUMBA_NUM_THREADS = OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = 1), then through
``concurrent.futures.ProcessPoolExecutor`` with 1 and K processes. The numba cache is warmed
first; cluster start-up and each worker's first task are timed separately and excluded.
"""
from __future__ import annotations

import argparse
import os
import time

from spikesim.benchmarks import common

DESCRIPTION = "sweep efficiency on Dask vs a process pool (needs spikesim[distributed])"
ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1"}


def cuba_task(seed: int, duration: float, neurons: int = 1500) -> dict:
    """One work unit: a CUBA network simulated for ``duration`` s; returns its rate."""
    from spikesim import models
    from spikesim.sim import Simulator

    net = models.cuba(neurons, rng=seed)
    res = Simulator(net, dt=1e-4, rng=seed).run(duration, progress=False)
    return {"rate_hz": res.rate("P"), "run_s": res.run_s}


def _warm(_=None):
    cuba_task(0, 0.01)
    return os.getpid()


def _time_sweep(grid, client=None, workers=None) -> float:
    from spikesim.sweep import sweep

    t0 = time.perf_counter()
    res = sweep(cuba_task, grid, client=client, workers=workers, progress=False)
    if res.errors:
        raise RuntimeError(res.errors[0]["error"])
    return time.perf_counter() - t0


def _dask(k: int, grid) -> tuple[float, float, float]:
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=k, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=40, env=ENV)
    client = Client(cluster)
    client.wait_for_workers(k)
    startup = time.perf_counter() - t0
    t0 = time.perf_counter()
    client.run(_warm)  # each worker's first task (imports, cache load) excluded
    first = time.perf_counter() - t0
    try:
        return _time_sweep(grid, client=client), startup, first
    finally:
        client.close()
        cluster.close()


def _pool(k: int, grid) -> float:
    from concurrent.futures import ProcessPoolExecutor

    from spikesim.sweep import _execute, _points

    pts = _points(grid)
    units = [[(i, p, 0)] for i, p in enumerate(pts)]
    with ProcessPoolExecutor(max_workers=k, initializer=_warm) as pool:
        list(pool.map(_warm, range(k)))
        t0 = time.perf_counter()
        futs = [pool.submit(_run, u) for u in units]
        for f in futs:
            f.result()
        return time.perf_counter() - t0


def _run(units):
    from spikesim.sweep import _run_unit

    return _run_unit(cuba_task, units, False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="spikesim bench sweep", description=DESCRIPTION)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tasks", type=int, default=16)
    ap.add_argument("--task-s", type=float, default=1.5, help="target seconds per task (>= 1)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if args.workers < 1 or args.tasks < 1:
        ap.error("--workers and --tasks must be >= 1")
    try:
        import distributed  # noqa: F401
    except ImportError:
        ap.error("this benchmark needs Dask: pip install 'spikesim[distributed]'")
    os.environ.update(ENV)
    import numba

    numba.set_num_threads(1)
    _warm()  # warm the on-disk numba cache
    probe = cuba_task(0, 0.2)
    duration = round(max(0.2, 0.2 * args.task_s / max(probe["run_s"], 1e-3)), 2)
    grid = {"seed": list(range(args.tasks)), "duration": [duration]}
    t1, start1, first1 = _dask(1, grid)
    tk, startk, firstk = _dask(args.workers, grid)
    p1 = _pool(1, grid)
    pk = _pool(args.workers, grid)
    eff = t1 / (args.workers * tk)
    peff = p1 / (args.workers * pk)
    out = {"workers": args.workers, "tasks": args.tasks, "task_duration_bio_s": duration,
           "task_s": t1 / args.tasks, "time_1_worker_s": t1, "time_k_workers_s": tk,
           "efficiency": eff, "startup_s": startk, "startup_1_worker_s": start1,
           "first_task_s": firstk, "pool_time_1_s": p1, "pool_time_k_s": pk,
           "process_pool_efficiency": peff, **common.meta(["dask", "distributed"])}
    common.print_table([["dask", t1, tk, eff, startk], ["process pool", p1, pk, peff, float("nan")]],
                       ["runner", "time_1_s", f"time_{args.workers}_s", "efficiency", "startup_s"])
    common.write_json(args.json, out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
