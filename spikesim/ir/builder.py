"""Population-style network building on top of the IR.

Example (Brian2's CUBA)::

    b = NetworkBuilder(rng=np.random.default_rng(1))
    b.population("P", ir.CubaLIF(4000, ...))
    b.connect("P", "P", p=0.02, weight=w, pre=slice(0, 3200), port="exc")
    net = b.build()

Every connection rule costs O(synapses) time and memory (Bernoulli connections are drawn
with geometric skips over the pair index), never O(N^2) random draws.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from spikesim.ir.network import Edge, Network
from spikesim.ir.nodes import Input, NeuronNode, Node, Output, Sparse

WeightSpec = "float | np.ndarray | Callable[[np.random.Generator, int], np.ndarray]"


def _sel(name: str, sel: Any, n: int) -> np.ndarray:
    if sel is None:
        return np.arange(n)
    if isinstance(sel, slice):
        return np.arange(n)[sel]
    a = np.asarray(sel)
    if a.dtype == np.bool_:
        if a.shape != (n,):
            raise ValueError(f"{name}: boolean mask needs shape ({n},), got {a.shape}")
        return np.flatnonzero(a)
    a = a.astype(np.int64).ravel()
    if a.size and (a.min() < 0 or a.max() >= n):
        raise ValueError(f"{name}: indices must be in [0, {n}), got [{a.min()}, {a.max()}]")
    return a


def _sorted_pairs(i: np.ndarray, j: np.ndarray) -> bool:
    """True if (i, j) pairs are already in lexicographic order (no sort needed)."""
    di = np.diff(i)
    if (di < 0).any():
        return False
    same = di == 0
    return not (same & (np.diff(j) < 0)).any()


def geometric_positions(rng: np.random.Generator, p: float, total: int) -> np.ndarray:
    """Sorted positions of the successes among ``total`` Bernoulli(``p``) trials, drawn in
    O(successes) with geometric gaps (never ``total`` uniform draws)."""
    if p <= 0 or total == 0:
        return np.zeros(0, np.int64)
    if p >= 1:
        return np.arange(total, dtype=np.int64)
    chunks = []
    pos = -1
    expect = int(total * p + 6 * np.sqrt(total * p * (1 - p)) + 64)
    while True:
        cs = pos + np.cumsum(rng.geometric(p, size=expect), dtype=np.int64)
        if cs[-1] >= total:
            chunks.append(cs[cs < total])
            break
        chunks.append(cs)
        pos = int(cs[-1])
        expect = max(64, int((total - pos) * p * 1.1) + 64)
    return np.concatenate(chunks)


def bernoulli_pairs(rng: np.random.Generator, n_pre: int, n_post: int, p: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """All (pre, post) pairs kept independently with probability ``p``, sorted by pre then
    post, in O(kept pairs): geometric gaps over the flat index ``pre * n_post + post``."""
    flat = geometric_positions(rng, p, n_pre * n_post)
    return flat // n_post, flat % n_post


class NetworkBuilder:
    """Builds an :class:`~spikesim.ir.Network` from populations and connection rules.

    Args:
        rng: ``np.random.Generator`` (or int seed) for every random draw of the build.
    """

    def __init__(self, rng: Any = None):
        if rng is None:
            raise ValueError("rng: pass a numpy Generator or an int seed (builds must be reproducible)")
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []

    # -- nodes --------------------------------------------------------------------------
    def add(self, name: str, node: Node) -> str:
        """Add any IR node under ``name``."""
        if name in self.nodes:
            raise ValueError(f"node {name!r} already exists")
        self.nodes[name] = node
        return name

    def population(self, name: str, node: NeuronNode) -> str:
        """Add a neuron population (any neuron node)."""
        if not isinstance(node, NeuronNode):
            raise TypeError(f"population {name!r}: expected a neuron node, got {type(node).__name__}")
        return self.add(name, node)

    def input(self, name: str, shape: Any) -> str:
        """Add an input of ``shape`` channels; its stimulus (Poisson, spike times, frames) is
        given at run time."""
        return self.add(name, Input(shape))

    def output(self, name: str, source: str) -> str:
        """Add an Output node reading ``source``."""
        self.add(name, Output())
        self.edges.append(Edge(source, name))
        return name

    def edge(self, src: str, dst: str, port: str | None = None) -> None:
        self.edges.append(Edge(src, dst, port))

    def _size(self, name: str) -> int:
        if name not in self.nodes:
            raise ValueError(f"node {name!r} is unknown; nodes are {sorted(self.nodes)}")
        node = self.nodes[name]
        if not isinstance(node, (NeuronNode, Input)):
            raise ValueError(f"{name!r} is a {type(node).__name__}; connect neuron or input nodes")
        return node.n

    def _values(self, what: str, spec: Any, n: int) -> np.ndarray | float:
        if callable(spec):
            out = np.asarray(spec(self.rng, n), dtype=np.float64)
            if out.shape != (n,):
                raise ValueError(f"{what}: the callable returned shape {out.shape}, expected ({n},)")
            return out
        if np.ndim(spec) == 0:
            v = float(spec)
            if not np.isfinite(v):
                raise ValueError(f"{what}: must be finite, got {v}")
            return v
        arr = np.asarray(spec, dtype=np.float64).ravel()
        if arr.shape != (n,):
            raise ValueError(f"{what}: {arr.size} values for {n} synapses")
        if not np.isfinite(arr).all():
            raise ValueError(f"{what}: values must be finite (no NaN or inf)")
        return arr

    # -- connections ------------------------------------------------------------------------
    def connect(self, src: str, dst: str, *, p: float | None = None, in_degree: int | None = None,
                rule: str | None = None, pre_idx: Any = None, post_idx: Any = None,
                weight: Any = 1.0, delay: Any = 0.0, port: str | None = None,
                autapses: bool = True, pre: Any = None, post: Any = None,
                name: str | None = None, plasticity: Any = None) -> str:
        """Connect ``src`` to ``dst`` with a :class:`~spikesim.ir.Sparse` projection.

        Exactly one rule: ``p`` (Bernoulli per pair), ``in_degree`` (fixed number of distinct
        presynaptic partners per target), ``rule="one_to_one"``, ``rule="all_to_all"`` or
        explicit arrays ``pre_idx``/``post_idx``. ``pre``/``post`` restrict the rule to a
        subset of the source/target (slice, index array or mask). ``weight`` and ``delay``
        (s) are scalars, arrays (one per synapse) or callables ``f(rng, n) -> array``.
        ``autapses=False`` removes i -> i synapses when ``src == dst``.

        Returns the name of the created Sparse node (default ``"src->dst"`` plus a suffix
        when needed).
        """
        n_src, n_dst = self._size(src), self._size(dst)
        pre_sel = _sel("pre", pre, n_src)
        post_sel = _sel("post", post, n_dst)
        rules = [p is not None, in_degree is not None, rule is not None, pre_idx is not None]
        if sum(rules) != 1:
            raise ValueError("connect: give exactly one of p=, in_degree=, rule= or pre_idx=/post_idx=")
        if p is not None:
            if not (0.0 <= float(p) <= 1.0):
                raise ValueError(f"p: must be in [0, 1], got {p}")
            a, b = bernoulli_pairs(self.rng, pre_sel.size, post_sel.size, float(p))
            i, j = pre_sel[a], post_sel[b]
        elif in_degree is not None:
            k = int(in_degree)
            if not (0 <= k <= pre_sel.size):
                raise ValueError(f"in_degree: must be in [0, {pre_sel.size}], got {in_degree}")
            j = np.repeat(post_sel, k)
            i = np.empty(j.size, np.int64)
            for t in range(post_sel.size):
                i[t * k:(t + 1) * k] = pre_sel[self.rng.choice(pre_sel.size, size=k, replace=False)]
        elif rule == "one_to_one":
            if pre_sel.size != post_sel.size:
                raise ValueError(f"rule='one_to_one': {pre_sel.size} sources vs {post_sel.size} targets")
            i, j = pre_sel, post_sel
        elif rule == "all_to_all":
            i = np.repeat(pre_sel, post_sel.size)
            j = np.tile(post_sel, pre_sel.size)
        elif rule is not None:
            raise ValueError(f"rule: {rule!r} is unknown; use 'one_to_one' or 'all_to_all'")
        else:
            if post_idx is None:
                raise ValueError("pre_idx given without post_idx")
            i = _sel("pre_idx", pre_idx, n_src)
            j = _sel("post_idx", post_idx, n_dst)
            if i.shape != j.shape:
                raise ValueError(f"pre_idx and post_idx: lengths {i.size} and {j.size} differ")
        if not autapses and src == dst:
            keep = i != j
            i, j = i[keep], j[keep]
        if i.size > 1 and not _sorted_pairs(i, j):
            order = np.lexsort((j, i))
            i, j = i[order], j[order]
        w = self._values("weight", weight, i.size)
        d = self._values("delay", delay, i.size)
        if isinstance(d, np.ndarray) and (d < 0).any():
            raise ValueError(f"delay: must be >= 0 s, min is {d.min()}")
        if isinstance(d, float) and d < 0:
            raise ValueError(f"delay: must be >= 0 s, got {d}")
        indptr = np.concatenate([[0], np.cumsum(np.bincount(i, minlength=n_src))])
        sp = Sparse(n_pre=n_src, n_post=n_dst, indptr=indptr, indices=j, weight=w, delay=d,
                    plasticity=plasticity)
        base = name or f"{src}_{dst}"
        nm, k = base, 1
        while nm in self.nodes:
            k += 1
            nm = f"{base}_{k}"
        self.add(nm, sp)
        self.edges.append(Edge(src, nm))
        self.edges.append(Edge(nm, dst, port))
        return nm

    def build(self, metadata: dict | None = None) -> Network:
        """Validate and return the :class:`~spikesim.ir.Network`."""
        return Network(self.nodes, self.edges, metadata)
