"""``Simulator``: one API over the engines (``engine="clock"`` or ``"event"``)."""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

import numpy as np

from spikesim import ir
from spikesim.sim.result import Result

ENGINES = ("clock", "event")


def _seed_from(rng: Any) -> int:
    if rng is None:
        raise ValueError("rng: pass an int seed or a numpy Generator (runs are reproducible "
                         "only with an explicit seed)")
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63 - 1))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return int(rng)
    raise TypeError(f"rng: expected an int seed >= 0 or a numpy Generator, got {rng!r}")


class Simulator:
    """Simulate an :class:`spikesim.ir.Network`.

    Args:
        net: the network.
        engine: ``"clock"`` (fixed ``dt``, batched) or ``"event"`` (exact, continuous time).
        dt: time step in seconds (clock engine).
        dtype: ``"float32"`` or ``"float64"`` state and weights (clock engine).
        batch: number of independent copies simulated together (e.g. one per image).
        threads: numba threads (default: numba's default).
        rng: int seed or ``np.random.Generator``; every random stream (Poisson inputs) is
            derived from it.
        monitors: :class:`StateMonitor` objects.
        record: ``True`` (all spiking nodes), ``False`` or a list of node names whose spikes
            are recorded.

    Example::

        sim = Simulator(net, engine="clock", dt=0.1 * ms, rng=1)
        res = sim.run(1.0, inputs={"noise": Poisson(5 * Hz)})
        print(res.summary())

    ``run(a); run(b)`` continues the simulation and gives the same spikes as ``run(a + b)``.
    """

    def __init__(self, net: ir.Network, engine: str = "clock", *, dt: float | None = None,
                 dtype: str = "float64", batch: int = 1, threads: int | None = None,
                 rng: Any = 0, monitors: Iterable[Any] = (), record: Any = True):
        if not isinstance(net, ir.Network):
            raise TypeError(f"net: expected a spikesim.ir.Network, got {type(net).__name__}")
        if engine not in ENGINES:
            raise ValueError(f"engine: {engine!r} is unknown; choose one of {ENGINES}")
        if threads is not None:
            import numba

            if not (1 <= int(threads) <= numba.config.NUMBA_NUM_THREADS):
                raise ValueError(f"threads: must be in [1, {numba.config.NUMBA_NUM_THREADS}], got {threads}")
            numba.set_num_threads(int(threads))
        self.net = net
        self.engine_name = engine
        self.seed = _seed_from(rng)
        if engine == "clock":
            from spikesim.sim.clock import ClockEngine

            if dt is None:
                raise ValueError("dt: the clock engine needs a time step, e.g. dt=0.1*ms")
            self.engine = ClockEngine(net, dt=dt, dtype=dtype, batch=batch, threads=threads,
                                      seed=self.seed, monitors=monitors, record=record)
        else:
            try:
                from spikesim.sim.event import EventEngine
            except ImportError as exc:  # pragma: no cover - until the event engine lands
                raise NotImplementedError("the event engine is not available in this build") from exc
            if dt is not None:
                raise ValueError("dt: the event engine is exact in continuous time and takes no dt")
            self.engine = EventEngine(net, seed=self.seed, monitors=monitors, record=record,
                                      batch=batch)

    @property
    def t(self) -> float:
        """Current simulated time in seconds."""
        return self.engine.t if hasattr(self.engine, "t") else self.engine.step * self.engine.dt

    def run(self, duration: float, inputs: Mapping[str, Any] | None = None, *,
            progress: bool = True) -> Result:
        """Advance by ``duration`` seconds; ``inputs`` maps Input node names to stimuli
        (:class:`Poisson`, :class:`SpikeTimes`, :class:`Frames` or arrays)."""
        return self.engine.run(duration, inputs, progress=progress)

    def network(self) -> ir.Network:
        """The simulated network with its current (learned) weights, ready to save with
        :func:`spikesim.ir.save`."""
        from spikesim.learn import learned_network

        return learned_network(self)

    def reset(self) -> None:
        """Back to t = 0 and the initial state."""
        self.engine.reset()

    def save_state(self, path: str | os.PathLike) -> None:
        """Save the dynamic state (membranes, currents, queues, counters) to ``.npz``."""
        st = self.engine.get_state()
        np.savez(path, __engine__=np.array(self.engine_name), __seed__=np.array(self.seed), **st)

    def load_state(self, path: str | os.PathLike) -> None:
        """Load a state saved by :meth:`save_state` from a simulator of the same network."""
        with np.load(path, allow_pickle=False) as f:
            if str(f["__engine__"]) != self.engine_name:
                raise ValueError(f"{path}: state of engine {str(f['__engine__'])!r}, this simulator "
                                 f"runs {self.engine_name!r}")
            self.engine.set_state({k: f[k] for k in f.files if not k.startswith("__")})
