"""sweep/evaluate on local processes and on a real Dask LocalCluster (with a killed worker)."""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest

import spikesim
from spikesim import ir
from spikesim.sweep import SweepResult, evaluate, sweep


def poly(a, b, seed):
    rng = np.random.default_rng(seed)
    return {"value": a * 10 + b, "draw": float(rng.random())}


def slow_square(a, seed):
    time.sleep(0.4)
    return a * a


def fails_on_three(a):
    if a == 3:
        raise RuntimeError("three is not allowed")
    return a


@pytest.mark.timeout(120)
def test_local_sweep_records_seeds_and_errors():
    res = sweep(poly, {"a": [1, 2], "b": [0, 5]}, workers=2, progress=False)
    assert isinstance(res, SweepResult) and len(res) == 4
    assert [r["value"] for r in res.records] == [10, 15, 20, 25]
    r = res.records[2]
    assert poly(r["a"], r["b"], seed=r["seed"])["draw"] == r["draw"]   # a unit reruns alone
    assert len({r["seed"] for r in res.records}) == 4
    df = res.to_dataframe()
    assert list(df["value"]) == [10, 15, 20, 25]
    bad = sweep(fails_on_three, {"a": [1, 2, 3, 4]}, workers=2, progress=False)
    errs = bad.errors
    assert len(errs) == 1 and errs[0]["a"] == 3 and "three is not allowed" in errs[0]["error"]
    assert [r.get("result") for r in bad.records if not r["error"]] == [1, 2, 4]


def test_bad_input_before_any_work():
    with pytest.raises(ValueError, match=r"\['c'\]"):
        sweep(poly, {"a": [1], "c": [2]}, progress=False)
    with pytest.raises(TypeError, match="cannot be pickled"):
        sweep(lambda a: a, {"a": [1]}, progress=False)
    with pytest.raises(ValueError, match="sequence"):
        sweep(poly, {"a": 3}, progress=False)


def test_public_names():
    assert spikesim.sweep is sweep and spikesim.evaluate is evaluate


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cl = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40)
    client = distributed.Client(cl)
    yield client
    client.close()
    cl.close()


@pytest.mark.timeout(120)
def test_dask_sweep_survives_a_killed_worker(cluster):
    client = cluster
    grid = {"a": list(range(16))}
    from distributed import as_completed  # noqa: F401  (the cluster is real)

    import threading

    def killer():
        time.sleep(1.0)
        workers = list(client.scheduler_info()["workers"])
        try:
            client.run(os._exit, 1, workers=workers[:1])
        except Exception:  # noqa: BLE001 - the worker dies before it can answer
            pass

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    res = sweep(slow_square, grid, client=client, progress=False)
    th.join()
    assert [r["index"] for r in res.records] == list(range(16))      # no loss, no duplicate
    assert [r["result"] for r in res.records] == [a * a for a in range(16)]
    assert not res.errors


@pytest.mark.timeout(120)
def test_dask_errors_and_closed_client(cluster):
    res = sweep(fails_on_three, {"a": [1, 2, 3]}, client=cluster, progress=False)
    assert len(res.errors) == 1 and "three" in res.errors[0]["error"]

    class Closed:
        status = "closed"

    with pytest.raises(ValueError, match="not running"):
        sweep(poly, {"a": [1], "b": [1]}, client=Closed(), progress=False)


@pytest.mark.timeout(120)
def test_evaluate_on_clock_engine_local_and_dask(cluster):
    rng = np.random.default_rng(0)
    w = np.eye(4)
    net = ir.Network({"in": ir.Input(4), "w": ir.Affine(w), "n": ir.IF(4, v_threshold=1.0, reset="subtract"),
                      "out": ir.Output()}, ["in->w", "w->n", "n->out"])
    x = np.stack([rng.permutation([0.1, 0.35, 0.6, 0.85]) for _ in range(20)])
    y = x.argmax(axis=1)
    local = evaluate(net, (x, y), backends=["clock"], steps=20, chunk=8, workers=2, progress=False)
    assert local.meta["accuracy"]["clock"] == 1.0
    remote = evaluate(net, (x, y), backends=["clock"], steps=20, chunk=8, client=cluster,
                      progress=False)
    assert remote.meta["accuracy"] == local.meta["accuracy"]
    assert [r["correct"] for r in remote.records] == [r["correct"] for r in local.records]
