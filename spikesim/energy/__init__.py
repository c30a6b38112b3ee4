"""Energy: NeuroBench-compatible metrics and per-platform energy reports with sources.

- :func:`report` prices a run's :class:`spikesim.sim.Counts` on a platform
  (``cmos45nm``, ``gpu``, ``truenorth``, ``loihi``, ``northpole``) and returns an
  :class:`EnergyReport` (J per inference by category, low / nominal / high, table, dict, plot).
- :mod:`spikesim.energy.tables`: the cost tables as data, every entry with value, unit,
  source, kind (measured / simulated / derived / calibrated) and evidence tag.
- :mod:`spikesim.energy.metrics`: NeuroBench metrics on numpy arrays (synaptic operations,
  activation and connection sparsity, membrane updates, footprint) -- the offline reference
  for the engines' online counts; :mod:`spikesim.energy.network_metrics` applies them to a
  :class:`spikesim.ir.Network` (``from_network``, ``counts_from_network``).

Example::

    from spikesim import energy
    rep = energy.report(result.counts, "loihi")
    print(rep.table())
"""
from spikesim.energy import metrics, network_metrics
from spikesim.energy.report import EnergyReport, Line, naive_estimate, plot_comparison, report
from spikesim.energy.tables import (PLATFORMS, Entry, PlatformTable, get_table,
                                    northpole_energy_per_mac)
from spikesim.energy.truenorth import check_truenorth_fit, fit_truenorth

__all__ = ["report", "EnergyReport", "Line", "naive_estimate", "plot_comparison", "PLATFORMS",
           "Entry", "PlatformTable", "get_table", "northpole_energy_per_mac", "fit_truenorth",
           "check_truenorth_fit", "metrics", "network_metrics"]
