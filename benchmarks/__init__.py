"""Benchmarks behind ``spikesim bench NAME`` (installed as ``spikesim.benchmarks``).

Each benchmark is a module ``spikesim.benchmarks.<name>`` (dashes in NAME become
underscores) with a ``main(argv: list[str]) -> int`` and a one-line ``DESCRIPTION``.
Every benchmark prints a table a person can read, writes JSON a script can read
(``--json PATH``), excludes JIT compile time from run times and reports it as ``jit_s``.
Shared helpers live in :mod:`spikesim.benchmarks.common`.
"""
from __future__ import annotations

import importlib
import pkgutil


def names() -> list[str]:
    """All benchmark names (``spikesim bench NAME``)."""
    out = []
    for mod in pkgutil.iter_modules(__path__):
        if mod.name.startswith("_") or mod.name in {"common"}:
            continue
        out.append(mod.name.replace("_", "-"))
    return sorted(out)


def get(name: str):
    """Import the benchmark module for ``name``; ``ValueError`` lists the known names."""
    known = names()
    if name not in known:
        raise ValueError(f"benchmark {name!r} is unknown; known benchmarks: {known}")
    return importlib.import_module(f"spikesim.benchmarks.{name.replace('-', '_')}")
