"""Chip backends, installed as ``spikesim.backends``.

Every backend module ``spikesim.backends.<name>`` provides the same protocol::

    backend = spikesim.backends.get("loihi")
    program = backend.compile(net, **options)   # quantise, check limits, map to cores
    result = backend.run(program, inputs)        # -> spikesim.sim.Result with Counts

Backends are found through this registry (by module name, imported lazily), so the core
never imports a backend module directly.
"""
from __future__ import annotations

import importlib

if __name__ != "spikesim.backends":  # pragma: no cover - guard, tested
    raise ImportError(
        "the top-level 'backends' folder is installed as 'spikesim.backends'; "
        "import spikesim.backends instead of backends (install with `pip install .`)"
    )

#: Known backends and a one-line description (the registry; modules load lazily).
KNOWN = {
    "truenorth": "IBM TrueNorth-style 256x256 binary-crossbar cores (Cassidy et al. 2013 neuron)",
    "loihi": "Intel Loihi-style fixed-point CUBA LIF cores with a learning engine",
    "northpole": "IBM NorthPole-style dense INT8/INT4/INT2 inference on a 16x16 core array",
}


def available() -> list[str]:
    """Names of the backends whose module is importable in this installation."""
    out = []
    for name in KNOWN:
        try:
            importlib.import_module(f"spikesim.backends.{name}")
        except ImportError:
            continue
        out.append(name)
    return out


def get(name: str):
    """Return the backend module ``spikesim.backends.<name>``.

    Raises ``ValueError`` naming the known backends if ``name`` is unknown, and
    ``ImportError`` if the backend is known but not installed in this build.
    """
    if name not in KNOWN:
        raise ValueError(f"backend {name!r} is unknown; known backends: {sorted(KNOWN)}")
    return importlib.import_module(f"spikesim.backends.{name}")
