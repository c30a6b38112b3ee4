"""Save and load networks as versioned ``.npz`` files (no pickle).

Layout: one array per array-valued field at key ``"<node>/<field>"`` (tuples of arrays at
``"<node>/<field>/<i>"``), and a JSON header at key ``"__spikesim__"`` holding the format
version, node types, scalar fields, edges and metadata. Files load with
``np.load(..., allow_pickle=False)``.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import numpy as np

from spikesim.ir.network import Edge, Network
from spikesim.ir.nodes import NODE_TYPES

FORMAT = "spikesim-network"
VERSION = 1


def _encode(node_name: str, fname: str, value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        key = f"{node_name}/{fname}"
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(node_name, f"{fname}/{i}", v, arrays)
                              for i, v in enumerate(value)]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # learning rules and other small frozen configs
        return {"__dataclass__": type(value).__module__ + ":" + type(value).__qualname__,
                "fields": {f.name: _encode(node_name, f"{fname}.{f.name}", getattr(value, f.name),
                                           arrays) for f in dataclasses.fields(value)}}
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and not np.isfinite(value):
            return {"__float__": repr(value)}
        return value
    raise TypeError(f"cannot save field {node_name}.{fname} of type {type(value).__name__}")


def _decode(value: Any, data) -> Any:
    if isinstance(value, dict):
        if "__array__" in value:
            return np.array(data[value["__array__"]])
        if "__tuple__" in value:
            return tuple(_decode(v, data) for v in value["__tuple__"])
        if "__float__" in value:
            return float(value["__float__"])
        if "__dataclass__" in value:
            import importlib

            mod, _, qual = value["__dataclass__"].partition(":")
            if not mod.startswith("spikesim."):
                raise ValueError(f"refusing to load a class from outside spikesim: {mod}")
            cls = importlib.import_module(mod)
            for part in qual.split("."):
                cls = getattr(cls, part)
            return cls(**{k: _decode(v, data) for k, v in value["fields"].items()})
    return value


def save(net: Network, path: str | os.PathLike) -> None:
    """Save ``net`` to ``path`` (``.npz``). Example: ``ir.save(net, "net.npz")``."""
    arrays: dict[str, np.ndarray] = {}
    header = {"format": FORMAT, "version": VERSION, "nodes": {}, "order": list(net.nodes),
              "edges": [[e.src, e.dst, e.port] for e in net.edges],
              "metadata": net.metadata}
    for name, node in net.nodes.items():
        header["nodes"][name] = {
            "type": type(node).__name__,
            "fields": {f.name: _encode(name, f.name, getattr(node, f.name), arrays)
                       for f in dataclasses.fields(node)},
        }
    try:
        js = json.dumps(header)
    except TypeError as exc:
        raise TypeError(f"network metadata must be JSON-serialisable: {exc}") from None
    np.savez(path, __spikesim__=np.array(js), **arrays)


def load(path: str | os.PathLike) -> Network:
    """Load a network saved by :func:`save`; errors name what is wrong with the file."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a spikesim network file ({exc})") from None
    with data:
        if "__spikesim__" not in data.files:
            raise ValueError(f"{path}: not a spikesim network file (no '__spikesim__' header)")
        header = json.loads(str(data["__spikesim__"]))
        if header.get("format") != FORMAT:
            raise ValueError(f"{path}: format {header.get('format')!r} is not {FORMAT!r}")
        if header.get("version", 0) > VERSION:
            raise ValueError(f"{path}: file version {header['version']} is newer than this "
                             f"spikesim reads ({VERSION}); upgrade spikesim")
        nodes = {}
        for name in header["order"]:
            spec = header["nodes"][name]
            cls = NODE_TYPES.get(spec["type"])
            if cls is None:
                raise ValueError(f"{path}: node {name!r} has unknown type {spec['type']!r}; "
                                 f"known: {sorted(NODE_TYPES)}")
            nodes[name] = cls(**{k: _decode(v, data) for k, v in spec["fields"].items()})
        edges = [Edge(s, d, p) for s, d, p in header["edges"]]
        return Network(nodes, edges, header.get("metadata", {}))


def to_nir(net: Network, **kwargs: Any):
    """Convert ``net`` to a ``nir.NIRGraph`` (optional extra ``nir``); see
    :func:`spikesim.ir.nir.to_nir` for the arguments and the time conventions.

    Example: ``g = to_nir(net, dt=1e-3, discretization="euler", path="net.nir")``.
    """
    from spikesim.ir.nir import to_nir as _to_nir

    return _to_nir(net, **kwargs)


def from_nir(graph_or_path: Any, **kwargs: Any) -> Network:
    """Network from a ``nir.NIRGraph`` or a ``.nir`` file (optional extra ``nir``); see
    :func:`spikesim.ir.nir.from_nir`.

    Example: ``net = from_nir("model.nir", discretization="euler", dt=1e-4)``.
    """
    from spikesim.ir.nir import from_nir as _from_nir

    return _from_nir(graph_or_path, **kwargs)
