"""Parameter sweeps and dataset-wide evaluation on local processes or a Dask cluster.

``sweep(fn, grid)`` calls ``fn(**point)`` for every point of a grid; ``evaluate(net, dataset,
backends=[...])`` runs a network over a labelled dataset on several engines or chip
backends. Without a client both use local processes (``concurrent.futures``) with a progress
bar; with a ``dask.distributed.Client`` they run on that cluster (``pip install
spikesim[distributed]``).

Work units are chunks of grid points or samples. Every unit carries the seed it ran with, so
any unit can be rerun alone (``fn(**point, seed=seed)``). Faults: a task that raises is
reported with its grid point and traceback while the rest completes; a worker that dies
mid-task loses nothing already computed (results are collected as each unit finishes, and the
cluster reruns the lost unit elsewhere), and results are keyed by unit index, so a rerun unit
never appears twice.
"""
from __future__ import annotations

import inspect
import itertools
import pickle
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np


@dataclass
class SweepResult:
    """Records of a sweep or evaluation: one dict per grid point (or per evaluated chunk).

    Each record has the grid parameters, ``seed``, ``index``, ``result`` (the function's
    return value, or its dict fields merged in), ``error`` (None, or the traceback text) and
    ``elapsed_s``.
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("error")]

    def to_dataframe(self):
        """A pandas DataFrame of the records (pandas must be installed)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas comes with the extra
            raise ImportError("to_dataframe needs pandas: pip install pandas") from exc
        return pd.DataFrame(self.records)

    def __len__(self) -> int:
        return len(self.records)


def _points(grid: Mapping[str, Sequence] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(grid, Mapping):
        names = list(grid)
        for k, v in grid.items():
            if isinstance(v, (str, bytes)) or not isinstance(v, Iterable):
                raise ValueError(f"grid[{k!r}]: expected a sequence of values, got {v!r}")
        values = [list(grid[k]) for k in names]
        return [dict(zip(names, combo)) for combo in itertools.product(*values)]
    pts = [dict(p) for p in grid]
    if not all(isinstance(p, dict) for p in pts):
        raise ValueError("grid: expected a dict of value lists or a list of dicts")
    return pts


def _check_fn(fn: Callable, points: list[dict], for_dask: bool) -> bool:
    """Validate the function against the grid before any work is sent; returns whether
    ``fn`` takes a ``seed`` argument."""
    if not callable(fn):
        raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
    sig = inspect.signature(fn)
    params = sig.parameters
    var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
    names = set().union(*[p.keys() for p in points]) if points else set()
    unknown = sorted(n for n in names if n not in params and not var_kw)
    if unknown:
        raise ValueError(f"grid: parameter(s) {unknown} are not arguments of "
                         f"{getattr(fn, '__name__', fn)}{sig}")
    try:
        if for_dask:
            import cloudpickle

            cloudpickle.dumps(fn)
        else:
            pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(f"fn: {getattr(fn, '__name__', fn)!r} cannot be pickled to send it to "
                        f"worker processes ({type(exc).__name__}: {exc}); define it at module "
                        f"level in an importable file") from None
    return "seed" in params or var_kw


def _run_unit(fn: Callable, units: list[tuple[int, dict, int]], takes_seed: bool,
              shared: Any = None) -> list[dict[str, Any]]:
    """Run a chunk of grid points in a worker; exceptions become records."""
    out = []
    for index, point, seed in units:
        t0 = time.perf_counter()
        rec: dict[str, Any] = dict(point)
        rec.update(index=index, seed=seed, error=None)
        try:
            kw = dict(point)
            if takes_seed:
                kw["seed"] = seed
            if shared is not None:
                kw["shared"] = shared
            value = fn(**kw)
            if isinstance(value, Mapping):
                rec.update(value)
            else:
                rec["result"] = value
        except Exception:  # noqa: BLE001 - reported with the grid point
            rec["error"] = traceback.format_exc()
        rec["elapsed_s"] = time.perf_counter() - t0
        out.append(rec)
    return out


def _check_client(client: Any) -> None:
    status = getattr(client, "status", None)
    if status != "running":
        raise ValueError(f"client: the Dask client is not running (status {status!r}); "
                         f"create a new dask.distributed.Client")


def sweep(fn: Callable[..., Any], grid: Mapping[str, Sequence] | Sequence[Mapping[str, Any]], *,
          client: Any = None, seed: int = 0, chunk: int = 1, workers: int | None = None,
          progress: bool = True) -> SweepResult:
    """Call ``fn(**point)`` for every point of ``grid`` in parallel.

    Args:
        fn: a picklable function (defined at module level). If it has a ``seed`` argument,
            each point gets its own seed, derived from ``seed`` and the point's index, and
            recorded in the result so the point can be rerun alone.
        grid: ``{"tau": [0.01, 0.02], "w": [1, 2]}`` (cartesian product) or a list of dicts.
        client: a ``dask.distributed.Client``; None runs on local processes.
        chunk: grid points per task.
        workers: local processes (default: CPU count).

    Returns:
        :class:`SweepResult` (``.records``, ``.to_dataframe()``, ``.errors``).

    Example::

        def rate(tau, seed):
            ...
            return {"rate_hz": r}
        res = spikesim.sweep(rate, {"tau": [0.01, 0.02, 0.04]})
        res.to_dataframe()
    """
    points = _points(grid)
    if int(chunk) < 1:
        raise ValueError(f"chunk: must be >= 1, got {chunk}")
    if client is not None:
        _check_client(client)
    takes_seed = _check_fn(fn, points, for_dask=client is not None)
    seeds = [int(s.generate_state(1, np.uint32)[0])
             for s in np.random.SeedSequence(seed).spawn(len(points))]
    units = [(i, p, s) for i, (p, s) in enumerate(zip(points, seeds))]
    chunks = [units[i:i + chunk] for i in range(0, len(units), chunk)]
    records = _execute(fn, chunks, takes_seed, client, workers, progress, len(points), None)
    return SweepResult(records=records, meta={"seed": seed, "points": len(points),
                                             "client": None if client is None else repr(client)})


def _execute(fn, chunks, takes_seed, client, workers, progress, total, shared) -> list[dict]:
    from tqdm.auto import tqdm

    results: dict[int, dict] = {}
    bar = tqdm(total=total, desc="sweep", disable=not progress, leave=False)
    try:
        if client is None:
            from concurrent.futures import ProcessPoolExecutor, as_completed

            with ProcessPoolExecutor(max_workers=workers) as pool:
                futs = [pool.submit(_run_unit, fn, c, takes_seed, shared) for c in chunks]
                for f in as_completed(futs):
                    for rec in f.result():
                        results.setdefault(rec["index"], rec)
                    bar.update(len(f.result()))
        else:
            from distributed import as_completed as das_completed

            shared_f = client.scatter(shared, broadcast=True) if shared is not None else None
            futs = [client.submit(_run_unit, fn, c, takes_seed, shared_f, pure=False)
                    for c in chunks]
            for f in das_completed(futs):
                recs = f.result()
                for rec in recs:
                    results.setdefault(rec["index"], rec)  # a rerun unit is never added twice
                bar.update(len(recs))
    finally:
        bar.close()
    return [results[k] for k in sorted(results)]


def _eval_chunk(backend: str, shared: Any, x: np.ndarray, y: np.ndarray, start: int,
                steps: int, dt: float, seed: int) -> dict[str, Any]:
    """Evaluate one chunk of samples on one backend (runs in a worker)."""
    from spikesim.sim import Frames, Simulator

    net = shared
    inputs = net.names("input")
    outputs = net.names("output")
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(f"evaluate: the network needs one Input and one Output node, has "
                         f"{inputs} and {outputs}")
    frames = np.broadcast_to(x[None], (steps, *x.shape)) if x.ndim == 1 + len(net[inputs[0]].shape) else x
    if backend in ("clock", "event"):
        kw = dict(dt=dt) if backend == "clock" else {}
        sim = Simulator(net, engine=backend, batch=x.shape[0], rng=seed, record=False, **kw)
        res = sim.run(steps * dt, inputs={inputs[0]: Frames(np.asarray(frames, dtype=np.float64))},
                      progress=False)
    else:
        from spikesim import backends

        mod = backends.get(backend)
        program = mod.compile(net)
        res = mod.run(program, {inputs[0]: Frames(np.asarray(frames, dtype=np.float64))})
    out = np.asarray(res.outputs[outputs[0]]).reshape(x.shape[0], -1)
    pred = out.argmax(axis=1)
    return {"backend": backend, "start": start, "n": int(x.shape[0]),
            "correct": int((pred == y).sum()), "synops": int(res.counts.synops),
            "spikes": int(res.counts.total("spikes"))}


def evaluate(network: Any, dataset: tuple[np.ndarray, np.ndarray], *,
             backends: Sequence[str] = ("clock",), steps: int = 32, dt: float = 1e-3,
             chunk: int = 256, client: Any = None, workers: int | None = None, seed: int = 0,
             progress: bool = True) -> SweepResult:
    """Evaluate a network with one Input and one Output node on a labelled dataset.

    Args:
        network: an :class:`spikesim.ir.Network`; it is shipped once per worker.
        dataset: ``(x, y)``: samples ``[n, *input shape]`` shown as constant frames for
            ``steps`` steps (or time-gridded ``[n, steps, *shape]`` is not supported here; give
            static samples), integer labels ``[n]``.
        backends: engines (``"clock"``, ``"event"``) or chip backends by name.
        chunk: samples per task.

    Returns:
        :class:`SweepResult` with one record per (backend, chunk) and ``meta["accuracy"]``:
        ``{backend: fraction correct}``.
    """
    x, y = dataset
    x = np.asarray(x)
    y = np.asarray(y).astype(np.int64)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"dataset: {x.shape[0]} samples but {y.shape[0]} labels")
    if client is not None:
        _check_client(client)
    units = []
    idx = 0
    for b in backends:
        for s0 in range(0, x.shape[0], chunk):
            units.append([(idx, {"backend": b, "x": x[s0:s0 + chunk], "y": y[s0:s0 + chunk],
                                 "start": s0, "steps": steps, "dt": dt}, seed + idx)])
            idx += 1
    records = _execute(_eval_point, units, True, client, workers, progress, len(units), network)
    acc: dict[str, float] = {}
    for b in backends:
        rs = [r for r in records if r.get("backend") == b and not r.get("error")]
        n = sum(r["n"] for r in rs)
        acc[b] = sum(r["correct"] for r in rs) / n if n else float("nan")
    for r in records:
        r.pop("x", None)
        r.pop("y", None)
    return SweepResult(records=records, meta={"accuracy": acc, "samples": int(x.shape[0])})


def _eval_point(backend, x, y, start, steps, dt, seed, shared):
    return _eval_chunk(backend, shared, x, y, start, steps, dt, seed)
