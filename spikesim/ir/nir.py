"""NIR (Neuromorphic Intermediate Representation) import and export.

``to_nir(net)`` turns an :class:`spikesim.ir.Network` into a ``nir.NIRGraph`` (and writes it to
an HDF5 ``.nir`` file with ``path=``); ``from_nir(graph_or_path)`` does the reverse. ``nir``
is an optional extra (``pip install spikesim[nir]``); it is imported only when these functions
are called. Both are also available as ``spikesim.ir.io.to_nir`` / ``from_nir``.

Time: continuous-time NIR vs spikesim
-------------------------------------
NIR writes neurons as ODEs, e.g. LIF ``tau dv/dt = (v_leak - v) + R I`` with the input ``I``
coming from ``Affine``/``Linear``/``Conv2d`` nodes; spikesim's neurons take delta inputs: an
input of weight ``w`` makes ``v`` jump by ``r*w`` (see :mod:`spikesim.ir.nodes`). Two mappings
are offered (``discretization=``):

``"exact"`` (default, no ``dt`` needed): the NIR graph is a continuous-time system in which a
    spike is a Dirac delta of unit area, so a weight ``w`` makes a NIR LIF jump by ``R w/tau``:

    ============  =====================================  =============================
    NIR           spikesim (import)                      NIR (export)
    ============  =====================================  =============================
    LIF, LI       ``tau = tau_n``, ``r = R/tau_n``       ``R = r*tau``
    IF            ``r = R``                              ``R = r``
    CubaLIF/LI    ``tau_* = tau_*n``,                    ``w_in = tau_syn``, ``R = r``
                  ``r = R*w_in/tau_syn``
    ============  =====================================  =============================

    A NIR ``Affine``/``Conv2d`` bias is a constant current; spikesim's clock engine delivers a
    synapse-node bias once per step (its meaning depends on ``dt``), so on import the bias is
    moved into the bias of the neuron nodes it feeds (LIF/LI: ``bias = b*tau``, IF:
    ``bias = b``, CubaLIF/CubaLI: ``bias = b*tau_syn``, i.e. the synaptic current taken at its
    steady state from ``t = 0``), and on export a nonzero synapse bias is an error.

``"euler"`` (needs ``dt``): the graph came from (or is meant for) a discrete-time framework
    that steps NIR's ODE by forward Euler with step ``dt``, holding each step's input value for
    the step, as snnTorch, Norse and sinabs do (snnTorch's ``Leaky`` exports
    ``tau = dt/(1-beta)``, ``R = tau/dt``). The decay per step is then ``beta = 1 - dt/tau_n``
    and spikesim's time constant is chosen so that ``exp(-dt/tau) == beta``:
    ``tau = -dt/log1p(-dt/tau_n)`` (so ``dt < tau_n`` is required), and a step input ``x``
    adds ``R*dt/tau_n*x``, hence ``r = R*dt/tau_n`` (``IF``: ``r = R*dt``). CubaLIF follows
    snnTorch's ``Synaptic`` order (``I[n] = alpha I[n-1] + x[n]``, then ``v`` uses ``I[n]``):
    ``tau_syn``, ``tau_mem`` as above and ``r = R*w_in*(dt/tau_mem_n)*(dt/tau_syn_n)/P`` where
    ``P`` is the clock engine's exact current-to-voltage coefficient over one step, so the
    clock engine (``dt`` equal) reproduces the framework step for step. Synapse biases are
    per-step inputs in both and pass unchanged. Export inverts these formulas.

Thresholds: NIR spikes when ``v > v_threshold`` (strict, as snnTorch and Norse); spikesim when
``v >= v_threshold``. Import uses ``np.nextafter(v_threshold, +inf)`` and export
``np.nextafter(v_threshold, -inf)``, which is exact in float64 (the same holds for
``Threshold`` nodes). Resets: NIR resets to ``v_reset`` at the spike, as spikesim's
``reset="value"`` (set at the spike step, decayed from the next step on; identical to
snnTorch's ``reset_mechanism="zero"``). ``from_nir(reset=...)`` overrides this for graphs
whose producer used another reset, which NIR cannot record: ``"subtract"`` (subtract
``v_threshold - v_reset`` at the spike step: snnTorch with ``reset_delay=False``) or
``"subtract_undecayed"`` (subtract it one step later, after that step's decay: snnTorch's
default ``Leaky``/``Synaptic``; mapped exactly onto spikesim's subtraction by dividing the
amount by ``beta = exp(-dt/tau)``, so it needs ``dt``) or ``"value_hold"`` (reset to
``v_reset`` and hold ``v`` there during the next step while the synaptic current keeps
integrating: snnTorch's ``Synaptic`` with ``reset_mechanism="zero"``; mapped to
``reset="value"`` with ``refractory = dt``).

What NIR 1.0 cannot carry
-------------------------
* Node types without a NIR equivalent (``CobaLIF``, ``AdaptiveLIF``, ``MaxPool2d``,
  ``Sparse``; see :data:`NOT_IN_NIR`) and multi-port ``CubaLIF``: always a ``ValueError``
  naming the node and the reason.
* Features of supported nodes (``reset="subtract"``, ``refractory > 0``, an ``IF`` bias):
  ``unsupported="error"`` (default) raises a ``ValueError`` naming node and feature;
  ``unsupported="metadata"`` writes them to the node's ``metadata["spikesim"]`` (other NIR
  tools ignore it and simulate the plain NIR model: reset to ``v_reset``, no refractory
  period, no bias); ``from_nir`` restores them.
* Restoration data that does not change the NIR dynamics is always written to
  ``metadata["spikesim"]`` so that ``from_nir(to_nir(net)) == net`` exactly: the original
  node type, which fields were scalars, the exact floats of ``tau``/``tau_mem``/``tau_syn``/
  ``r`` (used only while the NIR values still agree with them to 1e-9 relative), the split
  of NIR's ``v_leak`` into spikesim's ``v_leak + r*bias`` (the bias of LIF/LI/CubaLIF/CubaLI
  is folded into NIR's ``v_leak``, which gives the same ODE), ``v_init`` (NIR defines no initial state), the port name of a
  one-port CubaLIF and edge ports; at graph level ``metadata["spikesim"]`` holds the
  discretization, ``dt`` and the network metadata (JSON). ``from_nir`` uses the stored
  discretization and ``dt`` unless given others.

NIR-only nodes: ``Scale`` (1-d) becomes a diagonal ``Linear``; ``Identity`` and the
``Input``/``Output`` nodes of nested ``NIRGraph``s (snnTorch's ``RLeaky``) are bypassed, nested
node names become ``"outer.inner"``; ``I`` and ``Conv1d`` raise a ``ValueError``.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable

import numpy as np

from spikesim.ir import nodes as N
from spikesim.ir.nodes import cuba_coeff  # noqa: F401  (re-exported)
from spikesim.ir.network import Network

DISCRETIZATIONS = ("exact", "euler")
UNSUPPORTED = ("error", "metadata")
IMPORT_RESETS = (None, "value", "subtract", "subtract_undecayed", "value_hold")
META = "spikesim"
FORMAT_VERSION = 1

#: IR node types that NIR 1.0 has no node for, with the reason given in the error.
NOT_IN_NIR: dict[str, str] = {
    "CobaLIF": "NIR 1.0 has no conductance-based neuron",
    "AdaptiveLIF": "NIR 1.0 has no neuron with threshold adaptation",
    "MaxPool2d": "NIR 1.0 has no max pooling (only SumPool2d and AvgPool2d)",
    "Sparse": "NIR 1.0 has no sparse projection with per-synapse delays (with zero delays, "
              "use ir.Linear(node.to_dense()))",
}

_ScalarT = (int, float, np.integer, np.floating)
_MAPPED = ("tau", "tau_mem", "tau_syn", "r")  # fields that pass through the time mapping


def _nir():
    try:
        import nir
    except ImportError as exc:  # pragma: no cover - nir is in the test extra
        raise ImportError("NIR support needs the optional 'nir' package: "
                          "pip install 'spikesim[nir]'") from exc
    return nir


# ----------------------------------------------------------------------------------------
# Parameter mappings (continuous NIR <-> spikesim)
# ----------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Ctx:
    disc: str
    dt: float | None
    unsupported: str = "error"
    reset: str | None = None

    def tau_in(self, where: str, tau_n: np.ndarray) -> np.ndarray:
        """spikesim time constant from a NIR one."""
        _positive(where, tau_n)
        if self.disc == "exact":
            return tau_n
        x = self.dt / tau_n
        if (x >= 1).any():
            bad = float(tau_n[x >= 1].ravel()[0])
            raise ValueError(f"{where}: {bad!r} s is not longer than dt = {self.dt!r} s; the "
                             f"Euler decay 1 - dt/tau = {1 - self.dt / bad:g} per step has no "
                             f"exponential equivalent (discretization='euler' needs dt < tau)")
        return -self.dt / np.log1p(-x)

    def tau_out(self, tau: Any) -> np.ndarray:
        tau = np.asarray(tau, dtype=np.float64)
        if self.disc == "exact":
            return tau
        return self.dt / -np.expm1(-self.dt / tau)

    def gain(self, tau_n: np.ndarray) -> np.ndarray:
        """r = R * gain(tau_n) for delta-input leaky neurons."""
        return 1.0 / tau_n if self.disc == "exact" else self.dt / tau_n


def _positive(where: str, a: np.ndarray) -> None:
    if not np.isfinite(a).all() or (a <= 0).any():
        raise ValueError(f"{where}: time constants must be finite and > 0 s, got "
                         f"{a.ravel()[:4].tolist()}")


def _th_in(v: np.ndarray) -> np.ndarray:
    return np.nextafter(v, np.inf)


def _th_out(v: Any) -> np.ndarray:
    return np.nextafter(np.asarray(v, dtype=np.float64), -np.inf)


def _full(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    return np.array(np.broadcast_to(np.asarray(value, dtype=np.float64), shape))


# ----------------------------------------------------------------------------------------
# Export: one function per IR node type
# ----------------------------------------------------------------------------------------
def _feature(ctx: _Ctx, name: str, node: N.Node, feature: str, value: Any, meta: dict) -> None:
    if ctx.unsupported == "error":
        raise ValueError(
            f"node {name!r} ({type(node).__name__}): {feature} = {_show(value)} cannot be "
            f"expressed in NIR 1.0; pass unsupported='metadata' to carry it as spikesim-only "
            f"metadata (other NIR tools ignore it), or change the node")
    meta[feature] = value


def _show(v: Any) -> str:
    a = np.asarray(v)
    return repr(a.item()) if a.ndim == 0 else f"array of shape {a.shape}"


def _neuron_meta(ctx: _Ctx, name: str, node: N.NeuronNode, folded: bool) -> dict:
    meta: dict[str, Any] = {"type": type(node).__name__}
    scalars = [f.name for f in dataclasses.fields(node)
               if isinstance(getattr(node, f.name), float)
               or (isinstance(getattr(node, f.name), tuple)  # CubaLIF.tau_syn of one port
                   and all(isinstance(v, float) for v in getattr(node, f.name)))]
    if scalars:
        meta["scalars"] = " ".join(scalars)
    if node.v_init is not None:
        meta["v_init"] = node.v_init
    # the exact floats of the fields that pass through the time mapping (restored on import
    # when the NIR values still agree with them to 1e-9, so that round trips are exact)
    meta["exact"] = {f: (getattr(node, f)[0] if isinstance(getattr(node, f), tuple)
                         else getattr(node, f))
                     for f in _MAPPED if hasattr(node, f)}
    if folded and np.any(np.asarray(node.bias) != 0):
        meta["v_leak"] = node.v_leak
        meta["bias"] = node.bias
    if node.spiking:
        if node.reset != "value":
            _feature(ctx, name, node, "reset", node.reset, meta)
        if np.any(np.asarray(node.refractory) > 0):
            _feature(ctx, name, node, "refractory", node.refractory, meta)
    return meta


def _x_leaky(nir, name, node, shapes, ctx):
    sh = node.shape
    tau_n = _full(ctx.tau_out(node.tau), sh)
    R = _full(node.r, sh) / ctx.gain(tau_n)
    v_leak = _full(np.asarray(node.v_leak) + np.asarray(node.r) * np.asarray(node.bias), sh)
    meta = {META: _neuron_meta(ctx, name, node, folded=True)}
    if isinstance(node, N.LI):
        return nir.LI(tau=tau_n, r=R, v_leak=v_leak, metadata=meta)
    return nir.LIF(tau=tau_n, r=R, v_leak=v_leak, v_threshold=_full(_th_out(node.v_threshold), sh),
                   v_reset=_full(node.v_reset, sh), metadata=meta)


def _x_if(nir, name, node, shapes, ctx):
    sh = node.shape
    meta = _neuron_meta(ctx, name, node, folded=False)
    if np.any(np.asarray(node.bias) != 0):
        _feature(ctx, name, node, "bias", node.bias, meta)
    R = _full(node.r, sh) if ctx.disc == "exact" else _full(node.r, sh) / ctx.dt
    return nir.IF(r=R, v_threshold=_full(_th_out(node.v_threshold), sh),
                  v_reset=_full(node.v_reset, sh), metadata={META: meta})


def _x_cuba(nir, name, node, shapes, ctx):
    sh = node.shape
    if isinstance(node, N.CubaLIF):
        if len(node.ports) != 1:
            raise ValueError(f"node {name!r} (CubaLIF) has {len(node.ports)} ports {node.ports}; "
                             f"NIR 1.0's CubaLIF has one synaptic current: split it into one-port "
                             f"nodes or merge ports with equal tau_syn")
        tau_syn = node.tau_syn[0]
    else:
        tau_syn = node.tau_syn
    meta = _neuron_meta(ctx, name, node, folded=True)
    if isinstance(node, N.CubaLIF):
        meta["port"] = node.ports[0]
    ts_n = _full(ctx.tau_out(tau_syn), sh)
    tm_n = _full(ctx.tau_out(node.tau_mem), sh)
    r = _full(node.r, sh)
    if ctx.disc == "exact":
        w_in, R = ts_n.copy(), r
    else:
        w_in = ts_n / ctx.dt
        R = r * cuba_coeff(ctx.dt, _full(tau_syn, sh), _full(node.tau_mem, sh)) * tm_n / ctx.dt
    v_leak = _full(np.asarray(node.v_leak) + np.asarray(node.r) * np.asarray(node.bias), sh)
    if isinstance(node, N.CubaLI):
        return nir.CubaLI(tau_syn=ts_n, tau_mem=tm_n, r=R, v_leak=v_leak, w_in=w_in,
                          metadata={META: meta})
    return nir.CubaLIF(tau_syn=ts_n, tau_mem=tm_n, r=R, v_leak=v_leak,
                       v_threshold=_full(_th_out(node.v_threshold), sh),
                       v_reset=_full(node.v_reset, sh), w_in=w_in, metadata={META: meta})


def _no_bias(name, node, ctx):
    if ctx.disc == "exact" and np.any(node.bias != 0):
        raise ValueError(
            f"node {name!r} ({type(node).__name__}) has a nonzero bias, which spikesim delivers "
            f"once per clock step, so its continuous-time current depends on dt: move it into "
            f"the bias of the neuron node it feeds (exact in continuous time) or export with "
            f"discretization='euler' and dt")


def _x_affine(nir, name, node, shapes, ctx):
    _no_bias(name, node, ctx)
    return nir.Affine(weight=np.array(node.weight), bias=np.array(node.bias))


def _x_linear(nir, name, node, shapes, ctx):
    return nir.Linear(weight=np.array(node.weight))


def _x_conv2d(nir, name, node, shapes, ctx):
    _no_bias(name, node, ctx)
    out = nir.Conv2d(input_shape=tuple(node.input_shape[1:]), weight=np.array(node.weight),
                     stride=tuple(node.stride), padding=tuple(node.padding),
                     dilation=tuple(node.dilation), groups=node.groups, bias=np.array(node.bias))
    # nir 1.0.8 takes C_in/groups as C_in and the first kernel size for both dimensions
    out.input_type = {"input": np.array(node.input_shape)}
    out.output_type = {"output": np.array(node.output_shape())}
    return out


def _x_pool(nir, name, node, shapes, ctx):
    cls = nir.SumPool2d if isinstance(node, N.SumPool2d) else nir.AvgPool2d
    out = cls(kernel_size=np.array(node.kernel_size), stride=np.array(node.stride),
              padding=np.array(node.padding))
    out.input_type = {"input": np.array(shapes[name][0])}
    out.output_type = {"output": np.array(shapes[name][1])}
    return out


def _x_flatten(nir, name, node, shapes, ctx):
    return nir.Flatten(input_type={"input": np.array(shapes[name][0])},
                       start_dim=node.start_dim, end_dim=node.end_dim)


def _scalar_meta(node, field):
    return {META: {"scalars": field}} if isinstance(getattr(node, field), float) else {}


def _x_delay(nir, name, node, shapes, ctx):
    return nir.Delay(delay=_full(node.delay, shapes[name][0]), metadata=_scalar_meta(node, "delay"))


def _x_threshold(nir, name, node, shapes, ctx):
    return nir.Threshold(threshold=_full(_th_out(node.threshold), shapes[name][0]),
                         metadata=_scalar_meta(node, "threshold"))


def _x_input(nir, name, node, shapes, ctx):
    return nir.Input(input_type={"input": np.array(node.shape)})


def _x_output(nir, name, node, shapes, ctx):
    meta = {META: {"shape_unset": 1}} if node.shape is None else {}
    return nir.Output(output_type={"output": np.array(shapes[name][1])}, metadata=meta)


_EXPORT: dict[str, Callable] = {
    "LIF": _x_leaky, "LI": _x_leaky, "IF": _x_if, "CubaLIF": _x_cuba, "CubaLI": _x_cuba,
    "Affine": _x_affine, "Linear": _x_linear, "Conv2d": _x_conv2d, "SumPool2d": _x_pool,
    "AvgPool2d": _x_pool, "Flatten": _x_flatten, "Delay": _x_delay,
    "Threshold": _x_threshold, "Input": _x_input, "Output": _x_output,
}


def _tup(a: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in np.atleast_1d(a))


def _check_args(discretization: str, dt: float | None) -> None:
    if discretization not in DISCRETIZATIONS:
        raise ValueError(f"discretization: {discretization!r} is unknown; choose one of "
                         f"{DISCRETIZATIONS}")
    if dt is not None and not (isinstance(dt, _ScalarT) and np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt: must be a finite number > 0 s, got {dt!r}")
    if discretization == "euler" and dt is None:
        raise ValueError("dt: discretization='euler' needs the framework's time step dt (s), "
                         "e.g. dt=1e-4 for snnTorch's NIR export")


def to_nir(net: Network, *, dt: float | None = None, discretization: str = "exact",
           unsupported: str = "error", path: str | os.PathLike | None = None):
    """Convert ``net`` to a ``nir.NIRGraph`` (and write it to ``path`` if given).

    Args:
        net: the network.
        dt: time step in seconds (needed with ``discretization="euler"``).
        discretization: ``"exact"`` (continuous time) or ``"euler"`` (NIR parameters for a
            forward-Euler framework with step ``dt``, e.g. snnTorch); see the module docs.
        unsupported: ``"error"`` or ``"metadata"``: what to do with features NIR 1.0 cannot
            express (reset by subtraction, refractory periods, IF bias).
        path: optional ``.nir`` (HDF5) file to write with ``nir.write``.

    Returns:
        The ``nir.NIRGraph``; node names and edges are the network's.

    Example::

        g = to_nir(net, dt=1e-3, discretization="euler", path="net.nir")
        assert from_nir("net.nir") == net
    """
    nir = _nir()
    if not isinstance(net, Network):
        raise TypeError(f"net: expected a spikesim.ir.Network, got {type(net).__name__}")
    _check_args(discretization, dt)
    if unsupported not in UNSUPPORTED:
        raise ValueError(f"unsupported: {unsupported!r} is unknown; choose one of {UNSUPPORTED}")
    ctx = _Ctx(discretization, None if dt is None else float(dt), unsupported)
    out = {}
    for name, node in net.nodes.items():
        tname = type(node).__name__
        if tname in NOT_IN_NIR:
            raise ValueError(f"node {name!r} ({tname}): cannot be exported: {NOT_IN_NIR[tname]}")
        out[name] = _EXPORT[tname](nir, name, node, net.shapes, ctx)
    for e in net.edges:
        want, got = out[e.dst].input_type.get("input"), out[e.src].output_type.get("output")
        if want is not None and got is not None and not np.array_equal(want, got):
            raise ValueError(f"edge {e}: NIR needs equal shapes along an edge, but {e.src!r} "
                             f"gives {_tup(got)} and {e.dst!r} takes {_tup(want)}; add an "
                             f"ir.Flatten node")
    meta: dict[str, Any] = {"format_version": FORMAT_VERSION, "discretization": discretization}
    if dt is not None:
        meta["dt"] = float(dt)
    if net.metadata:
        meta["network_metadata"] = json.dumps(net.metadata)
    ports = [[e.src, e.dst, e.port] for e in net.edges if e.port is not None]
    if ports:
        meta["edge_ports"] = json.dumps(ports)
    graph = nir.NIRGraph(nodes=out, edges=[(e.src, e.dst) for e in net.edges],
                         metadata={META: meta}, type_check=False)
    if path is not None:
        nir.write(path, graph)
    return graph


# ----------------------------------------------------------------------------------------
# Import (implemented in spikesim.ir._nir_import)
# ----------------------------------------------------------------------------------------
def from_nir(graph_or_path: Any, *, dt: float | None = None, discretization: str | None = None,
             reset: str | None = None) -> Network:
    """Convert a ``nir.NIRGraph`` (or a ``.nir`` file written by ``nir.write``) to a Network.

    Args:
        graph_or_path: the graph, or a path to an HDF5 NIR file.
        dt: time step in seconds of the producing framework (needed for
            ``discretization="euler"`` and ``reset="subtract_undecayed"``).
        discretization: ``"exact"`` (continuous time, Dirac spikes) or ``"euler"`` (the graph
            describes a forward-Euler framework with step ``dt``); default: the one stored by
            spikesim's ``to_nir`` in the graph metadata, else ``"exact"``.
        reset: override NIR's reset-to-value for every spiking neuron: ``"value"``,
            ``"subtract"`` (at the spike step), ``"subtract_undecayed"`` (snnTorch's default:
            one step later, after the decay) or ``"value_hold"`` (snnTorch ``Synaptic`` with
            ``reset_mechanism="zero"``); default: NIR's, or the one stored by ``to_nir``.

    Returns:
        The :class:`spikesim.ir.Network` (node names are NIR's; nested graphs' nodes are named
        ``"outer.inner"``).

    Raises ``ValueError`` for files that are not NIR, dangling edges, parameter arrays of
    inconsistent shapes and node types spikesim lacks, naming the node.

    Example::

        net = from_nir("snntorch_export.nir", discretization="euler", dt=1e-4,
                       reset="subtract_undecayed")
        res = Simulator(net, engine="clock", dt=1e-4).run(0.02, inputs={"input": frames})
    """
    from spikesim.ir._nir_import import from_nir as _from_nir

    return _from_nir(graph_or_path, dt=dt, discretization=discretization, reset=reset)


__all__ = ["to_nir", "from_nir", "cuba_coeff", "NOT_IN_NIR", "DISCRETIZATIONS", "UNSUPPORTED",
           "IMPORT_RESETS"]
