"""IR node types: frozen dataclasses with parameters in SI units.

Neuron nodes hold a population of ``shape`` neurons; every parameter is a scalar or an
array of that shape. Synapse nodes transform the values (spikes or analog) that flow along
edges. Names and semantics follow NIR where NIR has the node (``LIF``, ``CubaLIF``, ``IF``,
``LI``, ``CubaLI``, ``Affine``, ``Linear``, ``Conv2d``, ``SumPool2d``, ``AvgPool2d``,
``Flatten``, ``Delay``, ``Threshold``, ``Input``, ``Output``).

Continuous-time dynamics (``t`` in seconds, ``v`` in volts or dimensionless):

* ``LIF``:   ``tau dv/dt = (v_leak - v) + r*bias``; an input of weight ``w`` arriving at time
  ``t`` makes ``v`` jump by ``r*w`` (delta synapse). Spike when ``v >= v_threshold``; then
  ``v = v_reset`` (``reset="value"``) or ``v -= v_threshold - v_reset`` (``reset="subtract"``);
  no integration for ``refractory`` seconds after a spike (inputs arriving then are dropped).
* ``IF``:    ``dv/dt = r*bias``; delta inputs as LIF (no leak).
* ``CubaLIF``: one exponential current per port ``k``: ``tau_syn[k] dI_k/dt = -I_k``, an input of
  weight ``w`` on port ``k`` makes ``I_k`` jump by ``w``; ``tau_mem dv/dt = (v_leak - v) +
  r*(sum_k I_k + bias)``. During refractoriness ``v`` is held at ``v_reset`` and the currents
  keep decaying and integrating inputs (Brian2's ``(unless refractory)``).
* ``CobaLIF``: conductances ``g_k`` (dimensionless, relative to the leak conductance), jumps of
  ``w`` on port ``k``, decay with ``tau_syn[k]``; ``tau_mem dv/dt = (v_leak - v) +
  sum_k g_k (e_rev[k] - v) + r*bias``. Optional threshold adaptation as ``AdaptiveLIF``
  (``delta_threshold > 0``) and a firing block (``fire_block``): no spike for ``fire_block``
  seconds after a spike, while the membrane, held at ``v_reset`` only for ``refractory``
  seconds, integrates again (Diehl and Cook 2015's excitatory neuron).
* ``AdaptiveLIF``: LIF with an adaptive threshold ``v_threshold + a``; ``tau_adapt da/dt = -a``
  and ``a += delta_threshold`` at each spike.
* ``LI`` / ``CubaLI``: the non-spiking (readout) versions of LIF / CubaLIF.

The threshold test is ``v >= v_threshold`` in every engine.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from spikesim.ir._validate import as_array, as_pair, as_param, as_shape, one_of

#: Registry of node types by class name (used by save/load and NIR conversion).
NODE_TYPES: dict[str, type["Node"]] = {}

RESETS = ("value", "subtract")


def register(cls):
    NODE_TYPES[cls.__name__] = cls
    return cls


def cuba_coeff(dt: float, tau_syn: Any, tau_mem: Any) -> np.ndarray:
    """Exact voltage response over one step ``dt`` to a unit synaptic current present at the
    start of the step: ``tau_s/(tau_s - tau_m) (e^{-dt/tau_s} - e^{-dt/tau_m})`` (limit
    ``dt/tau_m e^{-dt/tau_m}`` for equal time constants). This is the clock engine's ``P``.

    Example: ``cuba_coeff(1e-3, 5e-3, 20e-3)``.
    """
    ts = np.asarray(tau_syn, dtype=np.float64)
    tm = np.asarray(tau_mem, dtype=np.float64)
    diff = ts - tm
    em = np.exp(-dt / tm)
    with np.errstate(divide="ignore", invalid="ignore"):
        gen = em * ts / diff * np.expm1(dt * diff / (tm * ts))
    return np.where(diff == 0, dt / tm * em, gen)


def _same(a: Any, b: Any) -> bool:
    """Field equality: arrays by value, tuples element-wise."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.shape(a) == np.shape(b) and bool(np.array_equal(np.asarray(a), np.asarray(b)))
    return bool(a == b)


class Node:
    """Base of all IR nodes.

    Subclasses are frozen dataclasses; ``__post_init__`` validates and normalises fields
    (arrays become read-only float64). Equality compares every field (arrays by value).
    """

    #: "neuron", "synapse", "input" or "output"
    role: ClassVar[str] = ""
    #: True for neuron nodes that emit spikes.
    spiking: ClassVar[bool] = False
    def port_names(self) -> tuple[str, ...]:
        """Input ports of the node (``("",)``: one unnamed port)."""
        return ("",)

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def output_shape(self, input_shape: tuple[int, ...] | None) -> tuple[int, ...]:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """Fields as a dict (arrays are not copied)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name))
                   for f in dataclasses.fields(self))

    __hash__ = object.__hash__


# --------------------------------------------------------------------------------------
# Neuron nodes
# --------------------------------------------------------------------------------------
class NeuronNode(Node):
    role: ClassVar[str] = "neuron"
    spiking: ClassVar[bool] = True

    def output_shape(self, input_shape=None):
        return self.shape

    @property
    def n(self) -> int:
        return int(np.prod(self.shape))

    def _common(self, *, thresholds: bool = True) -> None:
        name = type(self).__name__
        self._set("shape", as_shape(name, "shape", self.shape))
        for f in ("r", "v_leak", "bias"):
            if hasattr(self, f):
                self._set(f, as_param(name, f, getattr(self, f), self.shape))
        if self.v_init is not None:
            self._set("v_init", as_param(name, "v_init", self.v_init, self.shape))
        if thresholds:
            self._set("v_threshold", as_param(name, "v_threshold", self.v_threshold, self.shape))
            self._set("v_reset", as_param(name, "v_reset", self.v_reset, self.shape))
            self._set("refractory", as_param(name, "refractory", self.refractory, self.shape,
                                             nonneg=True))
            one_of(name, "reset", self.reset, RESETS)

    def _ports(self, ports, per_port: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(ports, str):
            ports = (ports,)
        ports = tuple(str(p) for p in ports)
        if not ports or len(set(ports)) != len(ports) or any(not p for p in ports):
            raise ValueError(f"{name}.ports: need distinct non-empty names, got {ports}")
        self._set("ports", ports)
        for fname, value in per_port.items():
            # A tuple/list gives one value per port; anything else (a number or a
            # per-neuron numpy array) applies to every port.
            value = tuple(value) if isinstance(value, (tuple, list)) else (value,) * len(ports)
            if len(value) != len(ports):
                raise ValueError(f"{name}.{fname}: one value per port {ports} is needed, "
                                 f"got {len(value)}")
            pos = fname.startswith("tau")
            self._set(fname, tuple(as_param(name, f"{fname}[{p}]", v, self.shape, positive=pos)
                                   for p, v in zip(ports, value)))

    def port_index(self, port: str | None) -> int:
        ports = self.port_names()
        if port is None or port == "":
            if len(ports) == 1:
                return 0
            raise ValueError(f"{type(self).__name__} has ports {ports}: an edge into it must "
                             f"name one")
        if port not in ports:
            raise ValueError(f"port {port!r} is unknown for {type(self).__name__}; its ports "
                             f"are {ports}")
        return ports.index(port)


@register
@dataclass(frozen=True, eq=False)
class LIF(NeuronNode):
    """Leaky integrate-and-fire neurons with delta synapses (see the module docstring).

    Args:
        shape: population shape (int or tuple).
        tau: membrane time constant (s), > 0.
        r: input resistance (dimensionless gain on inputs and bias), default 1.
        v_leak, v_threshold, v_reset: potentials (V or dimensionless).
        reset: ``"value"`` (to ``v_reset``) or ``"subtract"`` (``v -= v_threshold - v_reset``).
        refractory: refractory period (s), >= 0.
        bias: constant input, same units as ``v`` / ``r``.
        v_init: initial ``v`` (default ``v_leak``).

    Example::

        from spikesim import ir
        from spikesim.units import ms, mV
        lif = ir.LIF(100, tau=20 * ms, v_leak=-65 * mV, v_threshold=-50 * mV, v_reset=-65 * mV)
    """

    shape: Any
    tau: Any = 0.02
    r: Any = 1.0
    v_leak: Any = 0.0
    v_threshold: Any = 1.0
    v_reset: Any = 0.0
    reset: str = "value"
    refractory: Any = 0.0
    bias: Any = 0.0
    v_init: Any = None

    def __post_init__(self):
        self._common()
        self._set("tau", as_param("LIF", "tau", self.tau, self.shape, positive=True))


@register
@dataclass(frozen=True, eq=False)
class IF(NeuronNode):
    """Integrate-and-fire (no leak): ``dv/dt = r*bias``, delta inputs jump ``v`` by ``r*w``.

    Example: ``ir.IF(10, v_threshold=1.0, reset="subtract")`` (the usual converted-ANN neuron).
    """

    shape: Any
    r: Any = 1.0
    v_threshold: Any = 1.0
    v_reset: Any = 0.0
    reset: str = "value"
    refractory: Any = 0.0
    bias: Any = 0.0
    v_init: Any = None

    def __post_init__(self):
        self._common()


@register
@dataclass(frozen=True, eq=False)
class CubaLIF(NeuronNode):
    """LIF neurons with exponential synaptic currents, one per named port.

    Args:
        shape: population shape.
        tau_mem: membrane time constant (s).
        tau_syn: synaptic time constant per port (a scalar for one port or a tuple).
        ports: port names, e.g. ``("exc", "inh")``; default one port ``"syn"``.
        r, v_leak, v_threshold, v_reset, reset, refractory, bias, v_init: as :class:`LIF`.

    Example (Brian2's CUBA)::

        ir.CubaLIF(4000, tau_mem=20*ms, tau_syn=(5*ms, 10*ms), ports=("exc", "inh"),
                   v_leak=-49*mV, v_threshold=-50*mV, v_reset=-60*mV, refractory=5*ms)
    """

    shape: Any
    tau_mem: Any = 0.02
    tau_syn: Any = 0.005
    ports: Any = ("syn",)
    r: Any = 1.0
    v_leak: Any = 0.0
    v_threshold: Any = 1.0
    v_reset: Any = 0.0
    reset: str = "value"
    refractory: Any = 0.0
    bias: Any = 0.0
    v_init: Any = None

    def __post_init__(self):
        self._common()
        self._set("tau_mem", as_param("CubaLIF", "tau_mem", self.tau_mem, self.shape, positive=True))
        self._ports(self.ports, {"tau_syn": self.tau_syn})

    def port_names(self):
        return self.ports


@register
@dataclass(frozen=True, eq=False)
class CobaLIF(NeuronNode):
    """LIF neurons with exponential conductance synapses and reversal potentials.

    ``tau_mem dv/dt = (v_leak - v) + sum_k g_k (e_rev[k] - v) + r*bias``; ``g_k`` are
    dimensionless (relative to the leak conductance), jump by the input weight and decay with
    ``tau_syn[k]``.

    Args (besides those of :class:`CubaLIF`):
        e_rev: reversal potential per port (V).
        tau_adapt, delta_threshold: threshold adaptation as :class:`AdaptiveLIF` (effective
            threshold ``v_threshold + a``, ``tau_adapt da/dt = -a``, ``a += delta_threshold``
            at each spike); ``delta_threshold = 0`` (default) switches it off.
        fire_block: firing block (s): after a spike the neuron cannot spike again for
            ``fire_block`` seconds; its membrane is held at ``v_reset`` only for the first
            ``refractory`` seconds and integrates inputs for the rest of the block. ``0``
            (default) means the block equals ``refractory`` (the usual neuron); otherwise it
            must be ``>= refractory``. Clock engine only.
        a_init: initial threshold adaptation ``a`` (V, default 0; any sign): the threshold
            starts at ``v_threshold + a_init`` and relaxes toward ``v_threshold`` with
            ``tau_adapt``. Diehl and Cook's code starts its ``theta`` at 20 mV on a threshold
            of -72 mV (-52 mV minus a 20 mV offset): ``v_threshold=-72*mV, a_init=20*mV``,
            which starts at -52 mV but, unlike ``v_threshold=-52*mV``, decays toward -72 mV.

    Example (Diehl and Cook 2015's excitatory neuron, as ``benchmarks/stdp_mnist.py``)::

        ir.CobaLIF(100, tau_mem=100*ms, tau_syn=(1*ms, 2*ms), e_rev=(0.0, -100*mV),
                   ports=("exc", "inh"), v_leak=-65*mV, v_threshold=-72*mV, v_reset=-65*mV,
                   refractory=5*ms, tau_adapt=1e4, delta_threshold=0.05*mV, a_init=20*mV)
    """

    shape: Any
    tau_mem: Any = 0.02
    tau_syn: Any = 0.005
    e_rev: Any = 0.0
    ports: Any = ("syn",)
    r: Any = 1.0
    v_leak: Any = 0.0
    v_threshold: Any = 1.0
    v_reset: Any = 0.0
    reset: str = "value"
    refractory: Any = 0.0
    bias: Any = 0.0
    v_init: Any = None
    tau_adapt: Any = 0.2
    delta_threshold: Any = 0.0
    fire_block: Any = 0.0
    a_init: Any = 0.0

    def __post_init__(self):
        self._common()
        self._set("tau_mem", as_param("CobaLIF", "tau_mem", self.tau_mem, self.shape, positive=True))
        self._ports(self.ports, {"tau_syn": self.tau_syn, "e_rev": self.e_rev})
        self._set("tau_adapt", as_param("CobaLIF", "tau_adapt", self.tau_adapt, self.shape,
                                        positive=True))
        self._set("delta_threshold", as_param("CobaLIF", "delta_threshold",
                                              self.delta_threshold, self.shape, nonneg=True))
        fb = as_param("CobaLIF", "fire_block", self.fire_block, self.shape, nonneg=True)
        bad = (np.asarray(fb) > 0) & (np.asarray(fb) < np.asarray(self.refractory))
        if np.any(bad):
            got = float(np.asarray(fb)[bad].min()) if np.ndim(bad) else float(fb)
            raise ValueError(f"CobaLIF.fire_block: must be 0 (no block beyond the refractory "
                             f"period) or >= refractory ({float(np.max(self.refractory))} s), "
                             f"got {got} s")
        self._set("fire_block", fb)
        self._set("a_init", as_param("CobaLIF", "a_init", self.a_init, self.shape))

    @property
    def adaptive(self) -> bool:
        """True when the threshold adapts (some ``delta_threshold > 0``)."""
        return bool(np.any(np.asarray(self.delta_threshold) > 0))

    def port_names(self):
        return self.ports


@register
@dataclass(frozen=True, eq=False)
class AdaptiveLIF(NeuronNode):
    """LIF with threshold adaptation: effective threshold ``v_threshold + a``;
    ``tau_adapt da/dt = -a``; ``a += delta_threshold`` at each spike; ``a`` starts at
    ``a_init`` (V, default 0, any sign).

    Example: ``ir.AdaptiveLIF(50, tau=20*ms, tau_adapt=200*ms, delta_threshold=0.1)``.
    """

    shape: Any
    tau: Any = 0.02
    tau_adapt: Any = 0.2
    delta_threshold: Any = 0.0
    r: Any = 1.0
    v_leak: Any = 0.0
    v_threshold: Any = 1.0
    v_reset: Any = 0.0
    reset: str = "value"
    refractory: Any = 0.0
    bias: Any = 0.0
    v_init: Any = None
    a_init: Any = 0.0

    def __post_init__(self):
        self._common()
        self._set("tau", as_param("AdaptiveLIF", "tau", self.tau, self.shape, positive=True))
        self._set("tau_adapt", as_param("AdaptiveLIF", "tau_adapt", self.tau_adapt, self.shape,
                                        positive=True))
        self._set("delta_threshold", as_param("AdaptiveLIF", "delta_threshold",
                                              self.delta_threshold, self.shape, nonneg=True))
        self._set("a_init", as_param("AdaptiveLIF", "a_init", self.a_init, self.shape))


@register
@dataclass(frozen=True, eq=False)
class LI(NeuronNode):
    """Leaky integrator (non-spiking readout): ``tau dv/dt = (v_leak - v) + r*bias``, delta
    inputs jump ``v`` by ``r*w``.

    Example: ``ir.LI(10, tau=10*ms)``.
    """

    spiking: ClassVar[bool] = False
    shape: Any
    tau: Any = 0.02
    r: Any = 1.0
    v_leak: Any = 0.0
    bias: Any = 0.0
    v_init: Any = None

    def __post_init__(self):
        self._common(thresholds=False)
        self._set("tau", as_param("LI", "tau", self.tau, self.shape, positive=True))


@register
@dataclass(frozen=True, eq=False)
class CubaLI(NeuronNode):
    """Leaky integrator with one exponential synaptic current (non-spiking readout).

    Example: ``ir.CubaLI(10, tau_mem=20*ms, tau_syn=5*ms)``.
    """

    spiking: ClassVar[bool] = False
    shape: Any
    tau_mem: Any = 0.02
    tau_syn: Any = 0.005
    r: Any = 1.0
    v_leak: Any = 0.0
    bias: Any = 0.0
    v_init: Any = None

    def __post_init__(self):
        self._common(thresholds=False)
        self._set("tau_mem", as_param("CubaLI", "tau_mem", self.tau_mem, self.shape, positive=True))
        self._set("tau_syn", as_param("CubaLI", "tau_syn", self.tau_syn, self.shape, positive=True))


# --------------------------------------------------------------------------------------
# Synapse nodes
# --------------------------------------------------------------------------------------
class SynapseNode(Node):
    role: ClassVar[str] = "synapse"


@register
@dataclass(frozen=True, eq=False)
class Affine(SynapseNode):
    """Dense projection ``y = W x + b`` with ``weight`` of shape ``[out, in]``.

    Example: ``ir.Affine(weight=np.eye(3), bias=np.zeros(3))``.
    """

    weight: Any
    bias: Any = None

    def __post_init__(self):
        w = as_array("Affine", "weight", self.weight, ndim=2)
        self._set("weight", w)
        b = np.zeros(w.shape[0]) if self.bias is None else self.bias
        b = as_array("Affine", "bias", b, ndim=1)
        if b.shape[0] != w.shape[0]:
            raise ValueError(f"Affine.bias: length {b.shape[0]} does not match weight rows "
                             f"{w.shape[0]}")
        self._set("bias", b)

    def input_shape(self):
        return (self.weight.shape[1],)

    def output_shape(self, input_shape=None):
        return (self.weight.shape[0],)


@register
@dataclass(frozen=True, eq=False)
class Linear(SynapseNode):
    """Dense projection without bias, ``y = W x``; ``weight`` is ``[out, in]``."""

    weight: Any

    def __post_init__(self):
        self._set("weight", as_array("Linear", "weight", self.weight, ndim=2))

    def input_shape(self):
        return (self.weight.shape[1],)

    def output_shape(self, input_shape=None):
        return (self.weight.shape[0],)


def conv_out(size: int, k: int, stride: int, pad: int, dil: int = 1) -> int:
    return (size + 2 * pad - dil * (k - 1) - 1) // stride + 1


@register
@dataclass(frozen=True, eq=False)
class Conv2d(SynapseNode):
    """2-D convolution (cross-correlation, as PyTorch) on ``[C, H, W]`` inputs.

    ``weight`` is ``[C_out, C_in/groups, kh, kw]``; ``input_shape`` is ``(C_in, H, W)``.

    Example: ``ir.Conv2d((1, 28, 28), weight=w, stride=1, padding=2)``.
    """

    input_shape: Any
    weight: Any
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1
    groups: int = 1
    bias: Any = None

    def __post_init__(self):
        self._set("input_shape", as_shape("Conv2d", "input_shape", self.input_shape))
        if len(self.input_shape) != 3:
            raise ValueError(f"Conv2d.input_shape: expected (C, H, W), got {self.input_shape}")
        w = as_array("Conv2d", "weight", self.weight, ndim=4)
        self._set("weight", w)
        self._set("stride", as_pair("Conv2d", "stride", self.stride, minimum=1))
        self._set("padding", as_pair("Conv2d", "padding", self.padding, minimum=0))
        self._set("dilation", as_pair("Conv2d", "dilation", self.dilation, minimum=1))
        g = int(self.groups)
        if g < 1 or self.input_shape[0] % g or w.shape[0] % g:
            raise ValueError(f"Conv2d.groups: {g} must be >= 1 and divide C_in "
                             f"{self.input_shape[0]} and C_out {w.shape[0]}")
        self._set("groups", g)
        if w.shape[1] * g != self.input_shape[0]:
            raise ValueError(f"Conv2d.weight: shape {w.shape} needs C_in/groups = "
                             f"{self.input_shape[0] // g} in dimension 1")
        b = np.zeros(w.shape[0]) if self.bias is None else self.bias
        b = as_array("Conv2d", "bias", b, ndim=1)
        if b.shape[0] != w.shape[0]:
            raise ValueError(f"Conv2d.bias: length {b.shape[0]} != C_out {w.shape[0]}")
        self._set("bias", b)
        if min(self.output_shape()) < 1:
            raise ValueError(f"Conv2d: input {self.input_shape} is too small for kernel "
                             f"{w.shape[2:]} with padding {self.padding}")

    def output_shape(self, input_shape=None):
        c, h, w = self.input_shape
        kh, kw = self.weight.shape[2:]
        return (self.weight.shape[0], conv_out(h, kh, self.stride[0], self.padding[0], self.dilation[0]),
                conv_out(w, kw, self.stride[1], self.padding[1], self.dilation[1]))


class _Pool2d(SynapseNode):
    def __post_init__(self):
        name = type(self).__name__
        self._set("kernel_size", as_pair(name, "kernel_size", self.kernel_size, minimum=1))
        stride = self.kernel_size if self.stride is None else self.stride
        self._set("stride", as_pair(name, "stride", stride, minimum=1))
        self._set("padding", as_pair(name, "padding", self.padding, minimum=0))

    def output_shape(self, input_shape):
        if input_shape is None or len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__}: input must be (C, H, W), got {input_shape}")
        c, h, w = input_shape
        out = (c, conv_out(h, self.kernel_size[0], self.stride[0], self.padding[0]),
               conv_out(w, self.kernel_size[1], self.stride[1], self.padding[1]))
        if min(out) < 1:
            raise ValueError(f"{type(self).__name__}: input {input_shape} too small for kernel "
                             f"{self.kernel_size}")
        return out


@register
@dataclass(frozen=True, eq=False)
class SumPool2d(_Pool2d):
    """Sum pooling over ``kernel_size`` windows (NIR ``SumPool2d``); zero padding."""

    kernel_size: Any
    stride: Any = None
    padding: Any = 0


@register
@dataclass(frozen=True, eq=False)
class AvgPool2d(_Pool2d):
    """Average pooling: the window sum divided by ``kh*kw`` (padding counted, as PyTorch's
    default ``count_include_pad=True``)."""

    kernel_size: Any
    stride: Any = None
    padding: Any = 0


@register
@dataclass(frozen=True, eq=False)
class MaxPool2d(_Pool2d):
    """Max pooling of the values arriving in a step (for spikes: a logical OR over the window).
    Converted networks use the spiking approximation documented in :mod:`spikesim.convert`."""

    kernel_size: Any
    stride: Any = None
    padding: Any = 0


@register
@dataclass(frozen=True, eq=False)
class Flatten(SynapseNode):
    """Flatten dimensions ``start_dim..end_dim`` of the (unbatched) input shape."""

    start_dim: int = 0
    end_dim: int = -1

    def output_shape(self, input_shape):
        nd = len(input_shape)
        s = self.start_dim % nd
        e = self.end_dim % nd
        if s > e:
            raise ValueError(f"Flatten: start_dim {self.start_dim} after end_dim {self.end_dim} "
                             f"for input shape {input_shape}")
        return tuple(input_shape[:s]) + (int(np.prod(input_shape[s:e + 1])),) + tuple(input_shape[e + 1:])


@register
@dataclass(frozen=True, eq=False)
class Delay(SynapseNode):
    """Per-element transmission delay (s): a scalar or an array of the input shape."""

    delay: Any

    def __post_init__(self):
        self._set("delay", as_param("Delay", "delay", self.delay, None, nonneg=True))

    def output_shape(self, input_shape):
        if isinstance(self.delay, np.ndarray) and self.delay.shape != tuple(input_shape):
            raise ValueError(f"Delay.delay: shape {self.delay.shape} != input shape {input_shape}")
        return tuple(input_shape)


@register
@dataclass(frozen=True, eq=False)
class Threshold(SynapseNode):
    """Heaviside: outputs 1 where the input is >= ``threshold``, else 0."""

    threshold: Any

    def __post_init__(self):
        self._set("threshold", as_param("Threshold", "threshold", self.threshold, None))

    def output_shape(self, input_shape):
        return tuple(input_shape)


@register
@dataclass(frozen=True, eq=False)
class Sparse(SynapseNode):
    """Sparse projection in CSR form, rows = presynaptic neurons (for event delivery).

    Synapses of presynaptic neuron ``i`` are ``indptr[i]:indptr[i+1]``; ``indices`` holds their
    postsynaptic neuron, ``weight`` their weight and ``delay`` their delay in seconds (a scalar
    for all, or one per synapse). ``plasticity`` is an optional learning rule from
    :mod:`spikesim.learn`.

    Example::

        ir.Sparse(n_pre=2, n_post=3, indptr=[0, 2, 3], indices=[0, 2, 1],
                  weight=[0.1, 0.2, 0.3], delay=1e-3)
    """

    n_pre: int
    n_post: int
    indptr: Any
    indices: Any
    weight: Any
    delay: Any = 0.0
    plasticity: Any = None

    def __post_init__(self):
        n_pre, n_post = int(self.n_pre), int(self.n_post)
        if n_pre < 1 or n_post < 1:
            raise ValueError(f"Sparse: n_pre and n_post must be >= 1, got {n_pre}, {n_post}")
        self._set("n_pre", n_pre)
        self._set("n_post", n_post)
        indptr = as_array("Sparse", "indptr", self.indptr, ndim=1, dtype=np.int64)
        if indptr.shape[0] != n_pre + 1 or indptr[0] != 0 or (np.diff(indptr) < 0).any():
            raise ValueError(f"Sparse.indptr: need {n_pre + 1} non-decreasing entries starting "
                             f"at 0, got length {indptr.shape[0]}")
        nnz = int(indptr[-1])
        indices = as_array("Sparse", "indices", self.indices, ndim=1, dtype=np.int32)
        if indices.shape[0] != nnz:
            raise ValueError(f"Sparse.indices: length {indices.shape[0]} != indptr[-1] = {nnz}")
        if nnz and (indices.min() < 0 or indices.max() >= n_post):
            raise ValueError(f"Sparse.indices: values must be in [0, {n_post}), got "
                             f"[{indices.min()}, {indices.max()}]")
        w = self.weight
        if np.ndim(w) == 0:
            w = np.full(nnz, float(w))
        weight = as_array("Sparse", "weight", w, ndim=1)
        if weight.shape[0] != nnz:
            raise ValueError(f"Sparse.weight: length {weight.shape[0]} != number of synapses {nnz}")
        self._set("indptr", indptr)
        self._set("indices", indices)
        self._set("weight", weight)
        d = self.delay
        if np.ndim(d) == 0:
            d = as_param("Sparse", "delay", d, None, nonneg=True)
        else:
            d = as_array("Sparse", "delay", d, ndim=1)
            if d.shape[0] != nnz:
                raise ValueError(f"Sparse.delay: length {d.shape[0]} != number of synapses {nnz}")
            if (d < 0).any():
                raise ValueError(f"Sparse.delay: must be >= 0, min is {d.min()}")
        self._set("delay", d)

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    def input_shape(self):
        return (self.n_pre,)

    def output_shape(self, input_shape=None):
        return (self.n_post,)

    def to_dense(self) -> np.ndarray:
        """Weight matrix ``[n_post, n_pre]`` (duplicated synapses add)."""
        w = np.zeros((self.n_post, self.n_pre))
        pre = np.repeat(np.arange(self.n_pre), np.diff(self.indptr))
        np.add.at(w, (self.indices, pre), self.weight)
        return w

    @classmethod
    def from_dense(cls, weight: np.ndarray, delay: Any = 0.0, plasticity: Any = None) -> "Sparse":
        """CSR from a dense ``[n_post, n_pre]`` matrix, keeping nonzero entries."""
        w = np.asarray(weight, dtype=np.float64)
        if w.ndim != 2:
            raise ValueError(f"Sparse.from_dense: weight must be 2-d, got shape {w.shape}")
        pre, post = np.nonzero(w.T)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(pre, minlength=w.shape[1]))])
        return cls(n_pre=w.shape[1], n_post=w.shape[0], indptr=indptr, indices=post,
                   weight=w[post, pre], delay=delay, plasticity=plasticity)


# --------------------------------------------------------------------------------------
# Input and output
# --------------------------------------------------------------------------------------
@register
@dataclass(frozen=True, eq=False)
class Input(Node):
    """Network input of a given shape; its data is given at run time."""

    role: ClassVar[str] = "input"
    spiking: ClassVar[bool] = True
    shape: Any

    def __post_init__(self):
        self._set("shape", as_shape("Input", "shape", self.shape))

    @property
    def n(self) -> int:
        return int(np.prod(self.shape))

    def output_shape(self, input_shape=None):
        return self.shape


@register
@dataclass(frozen=True, eq=False)
class Output(Node):
    """Network output; ``shape`` is inferred from its source when None."""

    role: ClassVar[str] = "output"
    shape: Any = None

    def __post_init__(self):
        if self.shape is not None:
            self._set("shape", as_shape("Output", "shape", self.shape))

    def output_shape(self, input_shape=None):
        return self.shape if self.shape is not None else tuple(input_shape)


NEURON_TYPES = tuple(c for c in NODE_TYPES.values() if issubclass(c, NeuronNode))
SYNAPSE_TYPES = tuple(c for c in NODE_TYPES.values() if issubclass(c, SynapseNode))
