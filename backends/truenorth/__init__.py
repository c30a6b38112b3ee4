"""IBM TrueNorth backend: 256 x 256 binary-crossbar cores running the Cassidy et al. (2013)
neuron, 1 ms ticks, 1-15 tick axonal delays, one target per neuron (splitter copies for
fan-out), 64 x 64 mesh per chip, 4096 cores per chip.

Protocol (see ``spikesim.backends``)::

    from spikesim import backends
    tn = backends.get("truenorth")
    prog = tn.compile(net, quantize="ternary")    # map onto cores; prog.report
    res = tn.run(prog, spikes)                     # spikes: 0/1 [batch, T, n_inputs]
    res.outputs["out"]                             # output spike counts [batch, n]
    res.counts                                     # spikes, synops_ac, spikes_routed, hops, ticks

Low level: :func:`run_core` runs one core on given axon inputs (:mod:`.core`); hand-built
multi-core programs: :func:`.chip.program_from_cores`; the random full-chip workload:
:func:`.fullchip.random_chip`. Chip constants, each with its source: :mod:`.params`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import params
from .chip import Program, program_from_cores, run_program
from .core import NeuronParams, run_core
from .mapping import compile_network, mapping_table

if TYPE_CHECKING:  # pragma: no cover
    from spikesim.sim.result import Result

__all__ = ["params", "NeuronParams", "run_core", "Program", "compile", "run",
           "program_from_cores", "run_program", "mapping_table"]


def compile(net: Any, quantize: str | None = None, relay: str | None = None,
            relay_threshold: float = 2.0) -> Program:
    """Compile an :class:`spikesim.ir.Network` onto TrueNorth cores.

    See :func:`.mapping.compile_network` for the options and :mod:`.compiler` for the mapping.

    Example::

        prog = compile(net, quantize="ternary")
        print(mapping_table(prog.report))
    """
    return compile_network(net, quantize=quantize, relay=relay, relay_threshold=relay_threshold)


def run(program: Program, inputs: Any = None, ticks: int | None = None, seed: int = 0,
        threads: int = 1, pad_latency: bool = True, record_spikes: bool = True,
        progress: bool = True) -> "Result":
    """Run a compiled program; 1 tick = 1 ms.

    Args:
        program: from :func:`compile` (or :func:`program_from_cores`).
        inputs: 0/1 spikes ``[batch, T, n_inputs]`` or ``[T, n_inputs]``.
        ticks: ticks per sample (default T, plus the program's layer latency when
            ``pad_latency``: each layer adds one tick, so T + layers - 1 ticks let the last
            input spikes reach the output).
        seed: PRNG seed (stochastic modes). threads: 1 or 2 (same results).
        record_spikes: keep spike times (else counts only). progress: tqdm bar.

    Returns:
        :class:`spikesim.sim.Result`; ``outputs[name]`` spike counts ``[batch, n]`` for every
        layer and every Output node.

    Example::

        res = run(prog, x)              # x uint8 [batch, T, n_in]
        pred = res.outputs["out"].argmax(1)
    """
    if ticks is None and inputs is not None and pad_latency:
        import numpy as np

        T = np.shape(inputs)[-2]
        ticks = T + int(program.meta.get("latency_ticks", 0))
    res = run_program(program, inputs, ticks=ticks, seed=seed, threads=threads,
                      record_spikes=record_spikes, progress=progress)
    for out_name, layer in program.meta.get("outputs", {}).items():
        res.outputs[out_name] = res.outputs[layer]
        if layer in res.spikes:
            res.spikes.setdefault(out_name, res.spikes[layer])
    return res
