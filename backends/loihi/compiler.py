"""Compile an :class:`spikesim.ir.Network` for the Loihi model: quantise, map onto cores.

Each spiking neuron node becomes a population of CUBA compartments; each synapse node
between a source (an ``Input`` or a neuron node, through ``Flatten`` if any) and a neuron
node becomes a connection with encoded weights. The float model is the clock engine's
(``spikesim.sim``) with step ``dt``; the fixed-point mapping per population is:

- fixed-point voltage ``v_fix = S * (v - v_leak)``, with S chosen so that the threshold
  ``S * (v_threshold - v_leak)`` is ``vth << 6`` with ``vth <= 4096`` (fewer if the largest
  weight would not fit the mantissa and exponent);
- ``LIF``/``IF``: ``dv = round(4096 * (1 - exp(-dt/tau)))`` (IF: 0), ``du = 4095`` (the current
  is replaced every step: a delta synapse), weights ``w * r * S / 64`` in a_in units;
- ``CubaLIF`` (one port): ``du = round(4096 * (1 - exp(-dt/tau_syn))) - 1`` and the weight
  carries the clock engine's current-to-voltage gain ``P = tau_s/(tau_s - tau_m)
  (exp(-dt/tau_s) - exp(-dt/tau_m))``: an input w adds ``r w P`` to v in its arrival step
  and ``a_s`` times that in each later step, as the compartment's u does;
- ``LI``/``CubaLI``: non-spiking readout compartments (threshold disabled), S chosen so the
  largest weight is 128 a_in units; the readout is ``v / S``;
- bias (``Affine.bias`` per step, and the neuron's own ``bias``) as ``bias_mant << bias_exp``;
  refractory periods as whole steps (0..63).

Loihi resets v to 0 and leaks toward 0, so ``v_reset`` must equal ``v_leak`` and
``reset="subtract"`` is rejected; these and every chip limit raise ``ValueError`` naming the
layer, the value and the limit.

Core mapping: populations are cut, in index order, into cores of at most 1024
compartments such that each core's fan-in (distinct input axons) is at most 4096 and its
synapse memory (synapses x bits per synapse) at most 128 KB; then each core's fan-out
(target cores summed over its neurons) must be at most 4096 and the total cores at most
128 per chip. Cores fill tiles of 4 in order, tiles form an 8 x 4 mesh per chip (several
chips are modelled as one taller mesh) [MODEL].
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikesim import ir
from spikesim.backends.loihi import params as P
from spikesim.backends.loihi.learning import LearningRule
from spikesim.backends.loihi.lif import lif_params
from spikesim.backends.loihi.synapse import Weights, encode

_SPIKING = (ir.LIF, ir.IF, ir.CubaLIF)
_READOUT = (ir.LI, ir.CubaLI)
VTH_TARGET = 4096
#: a_in units of the largest readout weight: weight_exp -1 for 8-bit mixed weights, so the
#: floor of the shifted sum costs at most 1/256 of the largest weight per step, and the
#: 24-bit voltage holds 1024 largest-weight inputs before it saturates [MODEL]
READOUT_A_IN = 128.0


@dataclass
class Population:
    """A neuron node on Loihi compartments (integer parameters as int64 arrays [n])."""

    name: str
    n: int
    shape: tuple
    spiking: bool
    du: np.ndarray
    dv: np.ndarray
    vth: np.ndarray
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    refractory: np.ndarray
    scale: float                       # fixed-point v units per float unit
    v_offset: np.ndarray = None        # float v = v_fix / scale + v_offset (the rest value)
    v_init: np.ndarray = None          # initial v_fix [n] (int64), from the node's v_init
    core_of: np.ndarray = None         # [n] global core index of each neuron
    cores: list = field(default_factory=list)


@dataclass
class Connection:
    """A synapse node mapped to Loihi synapses from ``src`` to population ``dst``."""

    name: str
    src: str
    dst: str
    weights: Weights
    float_weight: np.ndarray           # [n_post, n_pre] in float (input units of dst)
    learning: LearningRule | None = None


@dataclass
class Program:
    """A network compiled for the Loihi model.

    Attributes:
        net: the source network; dt: the step (s).
        inputs: ``{input node: shape}``; outputs: ``{output node: population}``.
        populations: in execution (topological) order; connections: all connections.
        core_tile: [cores] tile of each core; cores: per-core usage dicts.
        quantisation: per-layer quantisation errors.
        chips: chips used.
    """

    net: ir.Network
    dt: float
    inputs: dict
    outputs: dict
    populations: dict
    connections: list
    cores: list
    core_tile: np.ndarray
    quantisation: dict
    chips: int = 1

    @property
    def n_cores(self) -> int:
        return len(self.cores)

    @property
    def tiles(self) -> int:
        return int(self.core_tile.max()) + 1 if len(self.core_tile) else 0

    def report(self) -> str:
        """Mapping and quantisation report (a readable table)."""
        lines = [f"Loihi program: {self.n_cores} cores on {self.tiles} tiles "
                 f"({self.chips} chip(s)), dt = {self.dt * 1e3:g} ms"]
        lines.append(f"{'core':>5} {'layer':>12} {'compartments':>12} {'fan-in':>7} "
                     f"{'fan-out':>7} {'syn KB':>7}")
        for k, c in enumerate(self.cores):
            lines.append(f"{k:5d} {c['layer']:>12} {c['compartments']:12d} {c['fan_in']:7d} "
                         f"{c['fan_out']:7d} {c['synapse_bits'] / 8192:7.1f}")
        lines.append("quantisation (relative RMS / max abs error of the weights, bits, exp):")
        for name, q in self.quantisation.items():
            lines.append(f"  {name:>12}: " + ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in q.items()))
        return "\n".join(lines)


def _steps(name: str, field_: str, seconds: np.ndarray, dt: float, hi: int) -> np.ndarray:
    s = np.rint(np.asarray(seconds, dtype=np.float64) / dt).astype(np.int64)
    if s.size and s.max() > hi:
        raise ValueError(f"layer {name!r}: {field_} {float(np.max(seconds)):g} s is "
                         f"{int(s.max())} steps of dt={dt:g} s; Loihi allows at most {hi}")
    return s


def _bias_encode(name: str, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-step bias (fixed units) as mantissa << exp (13-bit signed, exp 0..7)."""
    mag = np.abs(b)
    exp = np.zeros(b.shape, np.int64)
    while True:
        big = mag / 2.0 ** exp > P.BIAS_MANT_MAX
        if not big.any():
            break
        if exp[big].max() >= P.BIAS_EXP_MAX:
            raise ValueError(f"layer {name!r}: bias {float(b[big].flat[0]):g} (fixed units) "
                             f"exceeds the largest Loihi bias {P.BIAS_MANT_MAX} << "
                             f"{P.BIAS_EXP_MAX}")
        exp[big] += 1
    mant = np.clip(np.rint(b / 2.0 ** exp), P.BIAS_MANT_MIN, P.BIAS_MANT_MAX).astype(np.int64)
    err = float(np.max(np.abs(mant * 2.0 ** exp - b), initial=0.0))
    return mant, exp, err


def _conv_dense(node: ir.Conv2d) -> np.ndarray:
    """The convolution as a dense matrix [out_flat, in_flat]."""
    C, H, W = node.input_shape
    Co, Cg, kh, kw = node.weight.shape
    _, Ho, Wo = node.output_shape()
    sh, sw = node.stride
    ph, pw = node.padding
    dh, dw = node.dilation
    g = node.groups
    M = np.zeros((Co * Ho * Wo, C * H * W))
    for co in range(Co):
        grp = co // (Co // g)
        for ci in range(Cg):
            cin = grp * Cg + ci
            for a in range(kh):
                for b in range(kw):
                    for yo in range(Ho):
                        yi = yo * sh - ph + a * dh
                        if not 0 <= yi < H:
                            continue
                        for xo in range(Wo):
                            xi = xo * sw - pw + b * dw
                            if 0 <= xi < W:
                                M[(co * Ho + yo) * Wo + xo, (cin * H + yi) * W + xi] += \
                                    node.weight[co, ci, a, b]
    return M


def _synapse_matrix(name: str, node, loihi_rule: bool = False
                    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(weight [n_post, n_pre], delay seconds [n_post, n_pre] or None, per-step bias [n_post])."""
    if isinstance(node, ir.Affine):
        return node.weight, None, node.bias
    if isinstance(node, ir.Linear):
        return node.weight, None, np.zeros(node.weight.shape[0])
    if isinstance(node, ir.Sparse):
        from spikesim.learn import PairSTDP
        ok = isinstance(node.plasticity, PairSTDP) and node.plasticity.pairing == "all" \
            and node.plasticity.weight_dependence == "additive"
        if node.plasticity is not None and not loihi_rule and not ok:
            raise ValueError(f"layer {name!r}: Sparse.plasticity={node.plasticity!r} has no "
                             f"Loihi translation (only additive all-to-all PairSTDP does); pass "
                             f"a LearningRule with compile(net, learning={{{name!r}: rule}}) "
                             f"(it replaces the float rule)")
        w = node.to_dense()
        d = None
        if np.ndim(node.delay) == 0:
            if float(node.delay) > 0:
                d = np.full(w.shape, float(node.delay))
        else:
            d = np.zeros(w.shape)
            pre = np.repeat(np.arange(node.n_pre), np.diff(node.indptr))
            d[node.indices, pre] = node.delay
        return w, d, np.zeros(w.shape[0])
    if isinstance(node, ir.Conv2d):
        M = _conv_dense(node)
        return M, None, np.repeat(node.bias, M.shape[0] // node.weight.shape[0])
    raise ValueError(f"layer {name!r}: {type(node).__name__} is not supported by the Loihi "
                     f"backend (supported: Affine, Linear, Sparse, Conv2d, Flatten)")


def _source(net: ir.Network, name: str) -> str:
    """Follow Flatten nodes back to the Input or neuron node that feeds ``name``."""
    ins = net.in_edges(name)
    if len(ins) != 1:
        raise ValueError(f"layer {name!r}: the Loihi backend needs exactly one input edge into "
                         f"a synapse node, got {len(ins)}")
    src = ins[0].src
    node = net.nodes[src]
    if isinstance(node, ir.Flatten):
        return _source(net, src)
    if isinstance(node, (ir.Input, *_SPIKING)):
        return src
    raise ValueError(f"layer {name!r}: its input {src!r} ({type(node).__name__}) must be an "
                     f"Input or a spiking neuron node (LIF, IF, CubaLIF) for the Loihi backend")


def compile(net: ir.Network, *, dt: float = 1e-3, num_bits: int = 8,
            learning: dict[str, LearningRule] | None = None, chips: int = 1,
            vth_target: int = VTH_TARGET, stdp_impulse: float = 16.0) -> Program:
    """Quantise ``net`` and map it onto Loihi cores.

    Args:
        net: a feed-forward :class:`spikesim.ir.Network` of Input, Affine/Linear/Sparse/
            Conv2d (through Flatten), LIF/IF/CubaLIF (spiking), LI/CubaLI (readout), Output.
        dt: time step in seconds (one Loihi timestep).
        num_bits: weight precision in bits, sign included (1..9).
        learning: ``{synapse node name: LearningRule}`` to make connections plastic
            (applied online by :func:`run`); it replaces a float ``Sparse.plasticity`` rule.
            Without it, an additive all-to-all ``spikesim.learn.PairSTDP`` on a ``Sparse``
            is translated (:func:`~spikesim.backends.loihi.translate.stdp_rule`, scalings in
            the quantisation report); other float rules raise.
        chips: chips available (128 cores each).
        vth_target: the largest integer threshold ``vth`` used (<= 131071).
        stdp_impulse: trace impulse of translated float PairSTDP rules (7-bit traces
            saturate at high rates; see :mod:`spikesim.backends.loihi.translate`).

    Returns:
        :class:`Program` (``program.report()`` prints the mapping and quantisation).

    Example::

        prog = compile(net, dt=1e-3, num_bits=8)
        print(prog.report())
    """
    if not isinstance(net, ir.Network):
        raise TypeError(f"net must be a spikesim.ir.Network; got {type(net).__name__}")
    if not dt > 0:
        raise ValueError(f"dt={dt!r} must be > 0 s")
    if not 1 <= int(vth_target) <= P.VTH_MAX:
        raise ValueError(f"vth_target={vth_target} is out of range 1..{P.VTH_MAX}")
    learning = dict(learning or {})
    inputs, outputs, conns_raw = {}, {}, []
    for name, node in net.nodes.items():
        if isinstance(node, ir.Input):
            inputs[name] = tuple(node.shape)
        elif isinstance(node, ir.Output):
            src = net.in_edges(name)[0].src
            if not isinstance(net.nodes[src], (*_SPIKING, *_READOUT)):
                raise ValueError(f"output {name!r} must read a neuron node; got "
                                 f"{type(net.nodes[src]).__name__} {src!r}")
            outputs[name] = src
        elif isinstance(node, ir.NeuronNode):
            if not isinstance(node, (*_SPIKING, *_READOUT)):
                raise ValueError(f"layer {name!r}: {type(node).__name__} has no Loihi "
                                 f"compartment model (supported: LIF, IF, CubaLIF, LI, CubaLI)")
            for e in net.in_edges(name):
                if not isinstance(net.nodes[e.src], ir.SynapseNode) or isinstance(
                        net.nodes[e.src], ir.Flatten):
                    raise ValueError(f"layer {name!r}: input {e.src!r} must be a synapse node")
        elif isinstance(node, ir.SynapseNode) and not isinstance(node, ir.Flatten):
            outs = net.out_edges(name)
            if len(outs) != 1 or not isinstance(net.nodes[outs[0].dst], ir.NeuronNode):
                raise ValueError(f"layer {name!r}: a synapse node must feed exactly one neuron "
                                 f"node for the Loihi backend")
            conns_raw.append((name, _source(net, name), outs[0].dst))
    unknown = set(learning) - {c[0] for c in conns_raw}
    if unknown:
        raise ValueError(f"learning: {sorted(unknown)} are not synapse nodes of the network")

    # topological order of the populations (feed-forward only)
    pops = [n for n, v in net.nodes.items() if isinstance(v, (*_SPIKING, *_READOUT))]
    deps = {p: {s for (_, s, d) in conns_raw if d == p and s in pops} for p in pops}
    order: list[str] = []
    while deps:
        ready = [p for p, d in deps.items() if d <= set(order)]
        if not ready:
            raise ValueError(f"layers {sorted(deps)} form a recurrent loop; this Loihi model "
                             f"runs feed-forward networks only")
        for p in ready:
            order.append(p)
            del deps[p]

    populations, connections, quant = {}, [], {}
    for pname in order:
        node = net.nodes[pname]
        n = int(np.prod(node.shape))
        incoming = [(c, s) for (c, s, d) in conns_raw if d == pname]
        mats = {c: _synapse_matrix(c, net.nodes[c], c in learning) for c, _ in incoming}
        r = np.broadcast_to(np.asarray(node.r, dtype=np.float64), (n,)).ravel()
        spiking = isinstance(node, _SPIKING)
        if isinstance(node, (ir.CubaLIF,)) and len(node.ports) != 1:
            raise ValueError(f"layer {pname!r}: CubaLIF with {len(node.ports)} ports; a Loihi "
                             f"compartment has one current (use one port)")
        # decays and current gain
        if isinstance(node, (ir.LIF, ir.LI)):
            tau_m = np.broadcast_to(node.tau, (n,)).ravel()
        elif isinstance(node, ir.IF):
            tau_m = np.full(n, np.inf)
        else:
            tau_m = np.broadcast_to(node.tau_mem, (n,)).ravel()
        a_m = np.exp(-dt / tau_m)
        dv = np.rint(4096 * (1 - a_m)).astype(np.int64)
        if isinstance(node, (ir.CubaLIF, ir.CubaLI)):
            ts = node.tau_syn[0] if isinstance(node, ir.CubaLIF) else node.tau_syn
            tau_s = np.broadcast_to(ts, (n,)).ravel()
            a_s = np.exp(-dt / tau_s)
            du = np.rint(4096 * (1 - a_s)).astype(np.int64) - 1
            if du.min() < 0:
                raise ValueError(f"layer {pname!r}: tau_syn {float(tau_s.max()):g} s is too long "
                                 f"for dt={dt:g} s: the current decay rounds below 1/4096")
            with np.errstate(invalid="ignore", divide="ignore"):
                gain = np.where(np.isclose(tau_s, tau_m), dt / tau_m * a_m,
                                tau_s / (tau_s - tau_m) * (a_s - a_m))
            # the clock engine adds arrivals to I, then v += r I P: so u = S r w P
            # a projection bias enters I every step: its steady state r b P / (1 - a_s) per
            # step goes into the compartment bias (the first ~tau_syn steps differ) [MODEL]
            bias_gain = gain / (1 - a_s)
        else:
            du = np.full(n, P.DECAY_MAX, np.int64)
            gain = np.ones(n)
            bias_gain = gain
        # per-step bias in float v units (clock engine: (1 - a) r bias; IF: r bias dt)
        own_bias = np.broadcast_to(node.bias, (n,)).ravel() * r
        own_bias = own_bias * (dt if isinstance(node, ir.IF) else (1 - a_m))
        syn_bias = np.zeros(n)
        wmax = 0.0
        for c, _ in incoming:
            W, _, b = mats[c]
            syn_bias += b * r * bias_gain
            wmax = max(wmax, float(np.max(np.abs(W * (r * gain)[:, None]), initial=0.0)))
        if spiking:
            v_reset = np.broadcast_to(node.v_reset, (n,)).ravel()
            # IF has no leak: measure v from v_reset (a shift that leaves IF unchanged)
            v_leak = np.broadcast_to(getattr(node, "v_leak", v_reset), (n,)).ravel()
            v_th = np.broadcast_to(node.v_threshold, (n,)).ravel() - v_leak
            if node.reset != "value":
                raise ValueError(f"layer {pname!r}: reset={node.reset!r}; Loihi 1 resets v to "
                                 f"0 (reset='value' with v_reset == v_leak)")
            if not np.allclose(v_reset, v_leak):
                raise ValueError(f"layer {pname!r}: v_reset must equal v_leak (Loihi resets v "
                                 f"to its resting value 0)")
            if v_th.min() <= 0:
                raise ValueError(f"layer {pname!r}: v_threshold must be above v_leak")
            # S per population: threshold -> vth_target << 6, limited by the weight range
            S = 64.0 * vth_target / float(v_th.max())
            wlim = 255 * 2.0 ** P.WEIGHT_EXP_MAX
            if wmax * S / 64 > wlim:
                S = 64.0 * wlim / wmax
            vth = np.rint(S * v_th / 64).astype(np.int64)
            ref = _steps(pname, "refractory", np.broadcast_to(node.refractory, (n,)).ravel(),
                         dt, P.REFRACTORY_MAX)
        else:
            v_leak = np.broadcast_to(node.v_leak, (n,)).ravel()
            S = 64.0 * READOUT_A_IN / wmax if wmax > 0 else 64.0
            vth = np.full(n, P.VTH_MAX, np.int64)
            ref = np.zeros(n, np.int64)
        bm, be, berr = _bias_encode(pname, S * (own_bias + syn_bias))
        p = lif_params(n, du, dv, np.minimum(vth, P.VTH_MAX), bm, be, ref)  # validates ranges
        if spiking and vth.max() > P.VTH_MAX:
            raise ValueError(f"layer {pname!r}: threshold {int(vth.max())} exceeds 17 bits")
        pop = Population(pname, n, tuple(node.shape), spiking, p["du"], p["dv"], vth, bm, be,
                         p["refractory"], float(S), np.array(v_leak, dtype=np.float64))
        v0 = v_leak if node.v_init is None else np.broadcast_to(node.v_init, (n,)).ravel()
        pop.v_init = np.clip(np.rint(S * (v0 - v_leak)), -P.MAX_UV + 1, P.MAX_UV - 1
                             ).astype(np.int64)
        populations[pname] = pop
        q = {"scale": float(S), "vth": int(vth.max()) if spiking else "off", "bias_err": berr / S,
             "decay_err": float(np.max(np.abs((1 - dv / 4096) - a_m), initial=0.0))}
        for c, src in incoming:
            W, dsec, _ = mats[c]
            target = W * (r * gain)[:, None] * S / 64.0          # a_in units
            delays = None
            if dsec is not None:
                delays = _steps(c, "delay", dsec, dt, P.DELAY_MAX)
            enc = encode(target, num_bits=num_bits, delays=delays)
            back = enc.value * 64.0 / S / (r * gain)[:, None]
            rms = float(np.sqrt(np.mean(W ** 2))) or 1.0
            quant[c] = {"rel_rms_err": float(np.sqrt(np.mean((back - W) ** 2))) / rms,
                        "max_abs_err": float(np.max(np.abs(back - W), initial=0.0)),
                        "bits": enc.num_bits, "sign_mode": enc.sign_mode,
                        "weight_exp": enc.weight_exp, **q}
            rule = learning.get(c)
            plast = getattr(net.nodes[c], "plasticity", None)
            if rule is None and plast is not None:      # a float PairSTDP: translate it
                from spikesim.backends.loihi.translate import stdp_rule, stdp_scalings
                lsb = float(np.median(2.0 ** enc.weight_exp * 64.0 / (S * r * gain)))
                rule = stdp_rule(plast, weight_lsb=lsb, dt=dt, impulse=stdp_impulse)
                sc = stdp_scalings(plast, lsb, stdp_impulse)
                quant[c].update({"stdp_rule": rule.dw, "stdp_rel_err": max(
                    sc["plus"]["rel_err"], sc["minus"]["rel_err"]), "weight_lsb": lsb})
            connections.append(Connection(c, src, pname, enc, np.asarray(W), rule))
        if not incoming:
            quant[pname] = q
    cores, core_tile = _map_cores(populations, connections, inputs, chips)
    return Program(net, float(dt), inputs, outputs, populations, connections, cores,
                   core_tile, quant, int(chips))


def _map_cores(populations, connections, inputs, chips):
    """Greedy placement of each population's neurons onto cores (see module docstring)."""
    cores: list[dict] = []
    for pname, pop in populations.items():
        incoming = [c for c in connections if c.dst == pname]
        nz = [(c.weights.w != 0) for c in incoming]             # [n_post, n_pre] each
        bits = [c.weights.bits_per_synapse for c in incoming]
        per_neuron_bits = sum(z.sum(1) * b for z, b in zip(nz, bits)) if nz else np.zeros(pop.n)
        core_of = np.zeros(pop.n, np.int64)
        start = 0
        while start < pop.n:
            axons = [np.zeros(z.shape[1], bool) for z in nz]
            used_bits = 0
            end = start
            while end < pop.n and end - start < P.COMPARTMENTS_PER_CORE:
                new_axons = [a | z[end] for a, z in zip(axons, nz)]
                fan_in = int(sum(a.sum() for a in new_axons))
                nb = used_bits + int(per_neuron_bits[end]) if nz else 0
                if fan_in > P.FANIN_AXONS_PER_CORE or nb > P.SYNAPSE_MEMORY_BITS:
                    if end == start:
                        what = (f"fan-in {fan_in} > {P.FANIN_AXONS_PER_CORE} input axons"
                                if fan_in > P.FANIN_AXONS_PER_CORE else
                                f"{nb} synapse bits > {P.SYNAPSE_MEMORY_BITS} (128 KB)")
                        raise ValueError(f"layer {pname!r}: neuron {end} alone needs {what} "
                                         f"per Loihi core")
                    break
                axons, used_bits = new_axons, nb
                end += 1
            core_of[start:end] = len(cores)
            cores.append({"layer": pname, "compartments": end - start,
                          "fan_in": int(sum(a.sum() for a in axons)), "synapse_bits": used_bits,
                          "fan_out": 0, "neurons": (start, end)})
            start = end
        pop.core_of = core_of
        pop.cores = sorted(set(core_of.tolist()))
    limit = P.CORES_PER_CHIP * int(chips)
    if len(cores) > limit:
        raise ValueError(f"the network needs {len(cores)} cores > {limit} "
                         f"({P.CORES_PER_CHIP} cores per chip x chips={chips})")
    # fan-out: target cores per neuron
    for pname, pop in populations.items():
        targets = target_cores(pname, populations, connections)
        for k in pop.cores:
            a, b = cores[k]["neurons"]
            cores[k]["fan_out"] = int(targets[a:b].sum())
            if cores[k]["fan_out"] > P.FANOUT_AXONS_PER_CORE:
                raise ValueError(f"layer {pname!r}: core {k} needs fan-out "
                                 f"{cores[k]['fan_out']} > {P.FANOUT_AXONS_PER_CORE} "
                                 f"core-to-core edges")
    core_tile = np.arange(len(cores)) // P.CORES_PER_TILE
    return cores, core_tile


def target_matrix(src: str, populations, connections) -> np.ndarray | None:
    """Bool [n_src, n_cores]: which cores receive spikes of each neuron of ``src``."""
    outs = [c for c in connections if c.src == src]
    if not outs:
        return None
    n_cores = 1 + max(int(p.core_of.max()) for p in populations.values())
    n_src = outs[0].weights.w.shape[1]
    m = np.zeros((n_src, n_cores), bool)
    for c in outs:
        core_of = populations[c.dst].core_of
        nzT = (c.weights.w != 0).T                              # [n_src, n_post]
        for k in set(core_of.tolist()):
            m[:, k] |= nzT[:, core_of == k].any(1)
    return m


def target_cores(src, populations, connections) -> np.ndarray:
    m = target_matrix(src, populations, connections)
    n = populations[src].n if src in populations else 0
    return np.zeros(n, np.int64) if m is None else m.sum(1)
