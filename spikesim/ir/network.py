"""``Network``: named nodes plus directed edges, validated and shape-inferred once."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from spikesim.ir.nodes import (Affine, Conv2d, Flatten, Input, Linear, NeuronNode, Node, Output,
                               Sparse, SynapseNode)


@dataclass(frozen=True)
class Edge:
    """A directed edge ``src -> dst``; ``port`` names the input port of a multi-port neuron
    node (``CubaLIF``/``CobaLIF`` with several ports)."""

    src: str
    dst: str
    port: str | None = None

    @classmethod
    def parse(cls, e: Any) -> "Edge":
        """From an ``Edge``, a ``(src, dst)`` or ``(src, dst, port)`` tuple, or a string
        ``"src->dst"`` / ``"src->dst:port"``."""
        if isinstance(e, Edge):
            return e
        if isinstance(e, str):
            if "->" not in e:
                raise ValueError(f"edge {e!r}: expected 'src->dst' or 'src->dst:port'")
            src, rest = e.split("->", 1)
            dst, _, port = rest.partition(":")
            return cls(src.strip(), dst.strip(), port.strip() or None)
        if isinstance(e, (tuple, list)) and len(e) in (2, 3):
            return cls(str(e[0]), str(e[1]), None if len(e) == 2 or e[2] is None else str(e[2]))
        raise ValueError(f"edge {e!r}: expected an Edge, (src, dst[, port]) or 'src->dst[:port]'")

    def __str__(self) -> str:
        return f"{self.src}->{self.dst}" + (f":{self.port}" if self.port else "")


class Network:
    """A spiking network: named nodes and directed edges (recurrence allowed).

    Validation and shape inference happen at construction: every edge endpoint must exist,
    ports must exist on their target, the size of what flows along each edge must match
    what the target takes, and every node must be reachable by shape inference.

    Args:
        nodes: ``{name: node}``.
        edges: iterable of :class:`Edge`, tuples ``(src, dst[, port])`` or strings
            ``"src->dst[:port]"``.
        metadata: free-form, JSON-serialisable information saved with the network.

    Example::

        from spikesim import ir
        net = ir.Network(
            nodes={"in": ir.Input(2), "w": ir.Affine(np.ones((3, 2))), "lif": ir.LIF(3),
                   "out": ir.Output()},
            edges=["in->w", "w->lif", "lif->out"])
        net.shapes["lif"]        # ((3,), (3,))  (input shape, output shape)
    """

    def __init__(self, nodes: Mapping[str, Node], edges: Iterable[Any],
                 metadata: Mapping[str, Any] | None = None):
        self.nodes: dict[str, Node] = dict(nodes)
        self.edges: tuple[Edge, ...] = tuple(Edge.parse(e) for e in edges)
        self.metadata: dict[str, Any] = dict(metadata or {})
        for name, node in self.nodes.items():
            if not isinstance(name, str) or not name or any(c in name for c in "->:/"):
                raise ValueError(f"node name {name!r}: must be a non-empty string without "
                                 f"'-', '>', ':' or '/'" if not isinstance(name, str) or not name
                                 else f"node name {name!r}: must not contain '->', ':' or '/'")
            if not isinstance(node, Node):
                raise TypeError(f"node {name!r}: expected an IR node, got {type(node).__name__}")
        self._validate_edges()
        self.shapes: dict[str, tuple[tuple[int, ...] | None, tuple[int, ...]]] = self._infer()

    # -- validation -----------------------------------------------------------------------
    def _validate_edges(self) -> None:
        seen = set()
        for e in self.edges:
            for end in (e.src, e.dst):
                if end not in self.nodes:
                    raise ValueError(f"edge {e}: node {end!r} is unknown; nodes are "
                                     f"{sorted(self.nodes)}")
            if (e.src, e.dst, e.port) in seen:
                raise ValueError(f"edge {e}: appears twice")
            seen.add((e.src, e.dst, e.port))
            src, dst = self.nodes[e.src], self.nodes[e.dst]
            if isinstance(dst, Input):
                raise ValueError(f"edge {e}: an Input node cannot receive edges")
            if isinstance(src, Output):
                raise ValueError(f"edge {e}: an Output node cannot send edges")
            if isinstance(dst, NeuronNode):
                try:
                    dst.port_index(e.port)
                except ValueError as exc:
                    raise ValueError(f"edge {e}: {exc}") from None
            elif e.port is not None:
                raise ValueError(f"edge {e}: port {e.port!r} given but {type(dst).__name__} "
                                 f"{e.dst!r} has no ports")
        for name, node in self.nodes.items():
            ins = self.in_edges(name)
            if isinstance(node, (SynapseNode, Output)) and not ins:
                raise ValueError(f"node {name!r} ({type(node).__name__}) has no incoming edge")

    def _infer(self):
        shapes: dict[str, tuple] = {}
        pending = dict(self.nodes)
        # Nodes whose output shape does not depend on inputs first.
        for name, node in self.nodes.items():
            if isinstance(node, (NeuronNode, Input)):
                shapes[name] = (node.shape if isinstance(node, NeuronNode) else None, node.shape)
            elif isinstance(node, (Affine, Linear, Sparse)):
                shapes[name] = (node.input_shape(), node.output_shape())
            elif isinstance(node, Conv2d):
                shapes[name] = (node.input_shape, node.output_shape())
        for k in shapes:
            pending.pop(k)
        while pending:
            progressed = False
            for name in list(pending):
                ins = self.in_edges(name)
                if all(e.src in shapes for e in ins):
                    in_shape = shapes[ins[0].src][1]
                    shapes[name] = (in_shape, pending[name].output_shape(in_shape))
                    del pending[name]
                    progressed = True
            if not progressed:
                raise ValueError(f"cannot infer shapes of {sorted(pending)}: they form a cycle "
                                 f"without a neuron or fixed-shape node")
        # Check every edge's size against its target.
        for e in self.edges:
            out = shapes[e.src][1]
            dst = self.nodes[e.dst]
            want = shapes[e.dst][0]
            if want is None:
                continue
            if isinstance(dst, (Flatten,)) or isinstance(dst, (Output,)):
                continue
            if int(np.prod(out)) != int(np.prod(want)) or (
                    isinstance(dst, Conv2d) and tuple(out) != tuple(want) and len(out) > 1):
                raise ValueError(f"edge {e}: {e.src!r} produces shape {tuple(out)} but "
                                 f"{e.dst!r} ({type(dst).__name__}) takes {tuple(want)}")
        # All inputs of a node must agree.
        for name in self.nodes:
            ins = self.in_edges(name)
            sizes = {int(np.prod(shapes[e.src][1])) for e in ins}
            if len(sizes) > 1:
                raise ValueError(f"node {name!r}: incoming edges carry different sizes {sorted(sizes)}")
        return shapes

    # -- queries ----------------------------------------------------------------------------
    def in_edges(self, name: str) -> list[Edge]:
        return [e for e in self.edges if e.dst == name]

    def out_edges(self, name: str) -> list[Edge]:
        return [e for e in self.edges if e.src == name]

    def names(self, role: str | None = None) -> list[str]:
        """Node names, optionally of one role (``neuron``, ``synapse``, ``input``, ``output``)."""
        return [n for n, v in self.nodes.items() if role is None or v.role == role]

    def size(self, name: str) -> int:
        return int(np.prod(self.shapes[name][1]))

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def __contains__(self, name: str) -> bool:
        return name in self.nodes

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return (self.nodes.keys() == other.nodes.keys()
                and all(self.nodes[k] == other.nodes[k] for k in self.nodes)
                and set(self.edges) == set(other.edges))

    __hash__ = object.__hash__

    def with_nodes(self, **replacements: Node) -> "Network":
        """A copy with some nodes replaced (e.g. learned weights), re-validated."""
        nodes = dict(self.nodes)
        for k, v in replacements.items():
            if k not in nodes:
                raise ValueError(f"with_nodes: node {k!r} is unknown; nodes are {sorted(nodes)}")
            nodes[k] = v
        return Network(nodes, self.edges, self.metadata)

    def summary(self) -> str:
        """One line per node: name, type, shapes, parameter count."""
        lines = [f"Network: {len(self.nodes)} nodes, {len(self.edges)} edges"]
        for name, node in self.nodes.items():
            i, o = self.shapes[name]
            npar = sum(np.size(v) for v in node.params().values()
                       if isinstance(v, np.ndarray))
            lines.append(f"  {name:16s} {type(node).__name__:11s} in={i} out={o}"
                         + (f" params={npar}" if npar else ""))
        for e in self.edges:
            lines.append(f"  edge {e}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Network(nodes={list(self.nodes)}, edges={[str(e) for e in self.edges]})"
