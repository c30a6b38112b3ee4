"""The result type every engine and chip backend returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikesim.sim.counts import Counts


@dataclass
class SpikeTrain:
    """Spikes of one population: parallel arrays sorted by time (ties: batch, then index).

    Attributes:
        t: spike times in seconds (float64). Clock engines report ``step * dt`` where the
           step is the one in which the threshold was crossed (time of its end).
        i: flat neuron index within the population (int64).
        b: batch index (int64), all zero for unbatched runs.
        n: number of neurons in the population (for rates and rasters).
    """

    t: np.ndarray
    i: np.ndarray
    b: np.ndarray
    n: int

    def __len__(self) -> int:
        return int(self.t.size)

    def counts(self, batch: int | None = None) -> np.ndarray:
        """Spike count per neuron; ``[batch, n]`` when ``batch`` is None, else ``[n]``."""
        if batch is not None:
            return np.bincount(self.i[self.b == batch], minlength=self.n)
        nb = int(self.b.max()) + 1 if self.b.size else 1
        out = np.zeros((nb, self.n), dtype=np.int64)
        np.add.at(out, (self.b, self.i), 1)
        return out

    def select(self, batch: int = 0) -> "SpikeTrain":
        """The spikes of one batch entry."""
        m = self.b == batch
        return SpikeTrain(self.t[m], self.i[m], self.b[m], self.n)


@dataclass
class Result:
    """What a run returns: spikes, recorded state, outputs and :class:`Counts`.

    Attributes:
        spikes: ``{population: SpikeTrain}`` for every recorded spiking node.
        state: ``{population: {variable: array [records, batch, k]}}`` for monitored state.
        state_t: times (s) of the state records (end of each recorded step).
        state_index: ``{population: indices}`` of the neurons whose state was recorded.
        outputs: ``{output node: array}``: spike counts ``[batch, ...]`` for spiking sources,
            final membrane for non-spiking readouts (see the engine's docs).
        counts: operation counts of this run.
        t_start, t_stop: simulated interval in seconds.
        dt: time step in seconds (None for the event engine).
        engine: ``"clock"``, ``"event"`` or a backend name.
        jit_s: seconds spent compiling numba kernels during this call (0 when cached).
        run_s: wall-clock seconds of the run, JIT excluded.
        meta: extras (seed, dtype, threads, ...).
    """

    spikes: dict[str, SpikeTrain] = field(default_factory=dict)
    state: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    state_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    state_index: dict[str, np.ndarray] = field(default_factory=dict)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    counts: Counts = field(default_factory=Counts)
    t_start: float = 0.0
    t_stop: float = 0.0
    dt: float | None = None
    engine: str = ""
    jit_s: float = 0.0
    run_s: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.t_stop - self.t_start

    def rate(self, population: str) -> float:
        """Mean firing rate in Hz over neurons, batch entries and the run."""
        st = self.spikes[population]
        nb = max(int(self.counts.samples), 1)
        if self.duration <= 0 or st.n == 0:
            return 0.0
        return len(st) / (st.n * nb * self.duration)

    def summary(self) -> str:
        """A short readable summary of the run."""
        lines = [f"{self.engine} run: {self.t_start:g}-{self.t_stop:g} s"
                 + (f", dt={self.dt * 1e3:g} ms" if self.dt else "")
                 + f", run {self.run_s:.3f} s (JIT {self.jit_s:.2f} s extra)"]
        for name, st in self.spikes.items():
            lines.append(f"  {name:>12s}: {len(st):9d} spikes, {st.n:7d} neurons, "
                         f"{self.rate(name):8.2f} Hz")
        lines.append(f"  synaptic ops: {self.counts.synops:,d}")
        return "\n".join(lines)
