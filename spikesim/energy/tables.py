"""Per-platform cost tables as data, every entry with its value, unit, source and kind.

A table (:class:`PlatformTable`) has

- ``entries``: named :class:`Entry` prices in SI units (J per operation, J per byte, W),
  each with the paper and table/figure it comes from, its *kind* (``measured``,
  ``simulated``, ``derived`` or ``calibrated``), the evidence tag of
  ``shared/reference/hardware.md`` (``SRC``, ``PAPER``, ``TRANS`` or ``RECALL``; ``RECALL``
  means known from the literature but not confirmed in a source read for this project), and
  sourced ``alternatives``: the low / high figures of a report are the minimum / maximum over
  the entry and its alternatives;
- ``rules``: which counted quantity (a :class:`spikesim.sim.Counts` field or a quantity
  derived from it, see :mod:`spikesim.energy.report`) is priced by which entry, in which
  category (``compute``, ``memory``, ``routing``);
- ``static``: the entry giving the static power (W), if the platform has one;
- ``ignores``: Counts fields the platform deliberately does not price (with the reason in
  ``notes``). A nonzero field that is neither priced nor ignored is an error in
  :func:`spikesim.energy.report` ("table missing an entry the counts need").

Platforms: ``cmos45nm`` (Horowitz 2014), ``gpu`` (GPU-like baseline: dense MACs plus DRAM
traffic), ``truenorth`` (static + per-event fit, :mod:`spikesim.energy.truenorth`),
``loihi`` (Davies et al. 2018 Table 2, SANA-FE silicon-calibrated alternatives) and
``northpole`` (calibrated all-in cost per MAC, :func:`northpole_energy_per_mac`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from spikesim.energy.truenorth import POINTS as TN_POINTS
from spikesim.energy.truenorth import fit_truenorth

#: Allowed entry kinds.
ENTRY_KINDS = ("measured", "simulated", "derived", "calibrated")
#: Evidence tags (shared/reference/hardware.md).
TAGS = ("SRC", "PAPER", "TRANS", "RECALL")
#: Categories of the breakdown.
CATEGORIES = ("compute", "memory", "routing", "static")
#: Precisions of the Horowitz table (cmos45nm, gpu) and their word size in bytes.
PRECISIONS = {"int8": 1, "int32": 4, "fp16": 2, "fp32": 4}

PJ = 1e-12
NJ = 1e-9

HOROWITZ = "Horowitz, ISSCC 2014 ('Computing's energy problem'), 45 nm 0.9 V table"
DAVIES = "Davies et al., IEEE Micro 38(1) 2018 (Loihi), Table 2 (pre-silicon simulation, 0.75 V)"
SANAFE = "Boyle et al., IEEE TCAD 2025, SANA-FE Loihi preset (calibrated on silicon)"
MODHA = ("Modha et al., Science 382:329 2023 (NorthPole), Table 1, ResNet-50 "
         "(quoted by Ottati, Open Neuromorphic 2023)")


@dataclass(frozen=True)
class Entry:
    """One price.

    Attributes:
        value: nominal value in SI units (see ``unit``).
        unit: ``"J/op"``, ``"J/byte"``, ``"J/word"`` or ``"W"``.
        source: paper and table/figure.
        kind: one of :data:`ENTRY_KINDS`.
        tag: evidence tag, one of :data:`TAGS`.
        note: how it was derived, caveats.
        all_in: True when the figure is total chip energy divided by events at one operating
            point (includes static power); never usable as a per-event slope next to a
            static term.
        alternatives: other sourced figures for the same price (low/high).
    """

    value: float
    unit: str
    source: str
    kind: str
    tag: str = "TRANS"
    note: str = ""
    all_in: bool = False
    alternatives: tuple["Entry", ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ENTRY_KINDS:
            raise ValueError(f"kind: {self.kind!r} is not allowed; allowed: {ENTRY_KINDS}")
        if self.tag not in TAGS:
            raise ValueError(f"tag: {self.tag!r} is not allowed; allowed: {TAGS}")
        if not (isinstance(self.value, (int, float)) and math.isfinite(self.value)
                and self.value >= 0):
            raise ValueError(f"value: {self.value!r} must be a finite number >= 0")

    @property
    def nominal(self) -> float:
        return float(self.value)

    @property
    def low(self) -> float:
        return float(min([self.value, *(a.value for a in self.alternatives)]))

    @property
    def high(self) -> float:
        return float(max([self.value, *(a.value for a in self.alternatives)]))

    @property
    def recall(self) -> bool:
        """True when the entry (or an alternative) rests on a [RECALL] fact."""
        return self.tag == "RECALL" or any(a.recall for a in self.alternatives)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "source": self.source, "kind": self.kind,
                "tag": self.tag, "note": self.note, "all_in": self.all_in,
                "low": self.low, "high": self.high,
                "alternatives": [a.to_dict() for a in self.alternatives]}


@dataclass(frozen=True)
class Rule:
    """Price ``quantity`` x ``factor`` with entry ``entry`` in ``category``."""

    quantity: str
    entry: str
    category: str
    label: str
    factor: float = 1.0

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES[:3]:
            raise ValueError(f"category: {self.category!r} not allowed; allowed: {CATEGORIES[:3]}")


@dataclass(frozen=True)
class PlatformTable:
    """The cost table of one platform (see the module docstring)."""

    name: str
    title: str
    entries: Mapping[str, Entry]
    rules: tuple[Rule, ...]
    static: str | None = None
    ignores: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    precision: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", MappingProxyType(dict(self.entries)))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        for r in self.rules:
            if r.entry not in self.entries:
                raise ValueError(f"platform {self.name!r}: rule {r.label!r} uses entry "
                                 f"{r.entry!r}, which the table does not have; "
                                 f"entries: {sorted(self.entries)}")
            if self.static is not None and self.entries[r.entry].all_in:
                raise ValueError(
                    f"platform {self.name!r}: entry {r.entry!r} is all-in (static power "
                    f"included, one operating point) and cannot be used as a per-event price "
                    f"next to the static entry {self.static!r}")
        if self.static is not None and self.static not in self.entries:
            raise ValueError(f"platform {self.name!r}: static entry {self.static!r} missing")

    def entry(self, name: str) -> Entry:
        """The entry ``name``; ValueError listing the entries if it is missing."""
        try:
            return self.entries[name]
        except KeyError:
            raise ValueError(f"platform {self.name!r} has no entry {name!r}; "
                             f"entries: {sorted(self.entries)}") from None

    def table(self) -> str:
        """Readable listing of every entry (value, low, high, kind, tag, source)."""
        def fmt(v: float, unit: str) -> str:
            if unit == "W":
                return f"{v * 1e3:.4g} mW"
            return f"{v / PJ:.4g} pJ"
        head = ["entry", "nominal", "low", "high", "unit", "kind", "tag", "source"]
        rows = [[n, fmt(e.value, e.unit), fmt(e.low, e.unit), fmt(e.high, e.unit), e.unit,
                 e.kind, e.tag + ("*" if e.all_in else ""), e.source]
                for n, e in self.entries.items()]
        w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
        lines = [f"{self.title}"]
        lines += ["  ".join(str(h).ljust(k) for h, k in zip(head, w)),
                  "  ".join("-" * k for k in w)]
        lines += ["  ".join(str(x).ljust(k) for x, k in zip(r, w)) for r in rows]
        if any(e.all_in for e in self.entries.values()):
            lines.append("* all-in: total chip energy / events at one operating point")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "precision": self.precision,
                "entries": {n: e.to_dict() for n, e in self.entries.items()},
                "rules": [vars(r).copy() for r in self.rules], "static": self.static,
                "ignores": list(self.ignores), "notes": list(self.notes),
                "params": dict(self.params)}


# ---------------------------------------------------------------------------------------------
# Horowitz 2014 (45 nm) primitives
# ---------------------------------------------------------------------------------------------
def _h(pj: float, what: str) -> Entry:
    return Entry(pj * PJ, "J/op", f"{HOROWITZ}: {what}", "measured", "TRANS",
                 note="published 45 nm process figure (per operation, not a system measurement)")


HOROWITZ_OPS: dict[str, Entry] = {
    "add_int8": _h(0.03, "8-bit int add"), "add_int32": _h(0.1, "32-bit int add"),
    "add_fp16": _h(0.4, "16-bit float add"), "add_fp32": _h(0.9, "32-bit float add"),
    "mult_int8": _h(0.2, "8-bit int multiply"), "mult_int32": _h(3.1, "32-bit int multiply"),
    "mult_fp16": _h(1.1, "16-bit float multiply"), "mult_fp32": _h(3.7, "32-bit float multiply"),
}
_SRAM = {k: Entry(v * PJ, "J/word", f"{HOROWITZ}: SRAM read, 64-bit, {k}", "measured", "TRANS")
         for k, v in (("8KB", 10.0), ("32KB", 20.0), ("1MB", 100.0))}
_SRAM_32BIT = Entry(5.0 * PJ, "J/word", "Front. Neurosci. energy table (PMC): E_mem = 5 pJ per "
                    "32-bit load, half of the Horowitz 8 KB 64-bit read", "derived", "TRANS")
SRAM_READ = Entry(
    _SRAM["32KB"].value, "J/word", _SRAM["32KB"].source, "measured", "TRANS",
    note="one memory word access priced as one 64-bit SRAM read of a 32 KB array (nominal); "
         "low/high: 8 KB array, 32-bit half-width load (5 pJ), 1 MB array. Writes are priced "
         "like reads (Horowitz gives reads only).",
    alternatives=(_SRAM["8KB"], _SRAM["1MB"], _SRAM_32BIT))
_DRAM_LO = Entry(1.3 * NJ / 8, "J/byte", f"{HOROWITZ}: DRAM 64-bit access, 1.3 nJ (low end)",
                 "measured", "TRANS")
_DRAM_HI = Entry(2.6 * NJ / 8, "J/byte", f"{HOROWITZ}: DRAM 64-bit access, 2.6 nJ (high end)",
                 "measured", "TRANS")
DRAM_BYTE = Entry(1.95 * NJ / 8, "J/byte", f"{HOROWITZ}: DRAM 64-bit access 1.3-2.6 nJ",
                  "derived", "TRANS",
                  note="midpoint 1.95 nJ of the published 1.3-2.6 nJ range, per 8 bytes",
                  alternatives=(_DRAM_LO, _DRAM_HI))


def _check_precision(precision: str | None, platform: str) -> str:
    p = "fp32" if precision is None else precision
    if p not in PRECISIONS:
        raise ValueError(f"precision: {precision!r} is not available for {platform!r}; "
                         f"allowed: {sorted(PRECISIONS)}")
    return p


def _mac_ac(p: str) -> tuple[Entry, Entry]:
    add, mult = HOROWITZ_OPS[f"add_{p}"], HOROWITZ_OPS[f"mult_{p}"]
    ac = Entry(add.value, "J/op", add.source, "measured", "TRANS",
               note=f"one accumulate = one {p} add")
    mac = Entry(add.value + mult.value, "J/op", f"{HOROWITZ}: {p} multiply + {p} add",
                "derived", "TRANS", note=f"one MAC = one {p} multiply + one {p} add"
                f" ({mult.value / PJ:g} + {add.value / PJ:g} pJ)")
    return ac, mac


def cmos45nm(precision: str | None = None) -> PlatformTable:
    """Horowitz 2014 45 nm table at ``precision`` (``fp32`` default: E_AC 0.9 pJ, E_MAC 4.6 pJ).

    Synaptic accumulates and MACs, neuron updates (one multiply + one add: leaky integration),
    SRAM for weight and state words, plasticity updates (one add + read and write of the weight).
    """
    p = _check_precision(precision, "cmos45nm")
    ac, mac = _mac_ac(p)
    entries = dict(HOROWITZ_OPS)
    entries.update(ac=ac, mac=mac, sram_word=SRAM_READ, dram_byte=DRAM_BYTE,
                   **{f"sram_{k}": v for k, v in _SRAM.items()})
    rules = (
        Rule("synops_ac", "ac", "compute", "synaptic accumulates"),
        Rule("synops_mac", "mac", "compute", "synaptic MACs"),
        Rule("neuron_updates", "mac", "compute", "neuron updates (1 mult + 1 add)"),
        Rule("plasticity_updates", "ac", "compute", "plasticity updates (1 add)"),
        Rule("weight_reads", "sram_word", "memory", "weight reads (SRAM)"),
        Rule("state_reads", "sram_word", "memory", "state reads (SRAM)"),
        Rule("state_writes", "sram_word", "memory", "state writes (SRAM)"),
        Rule("plasticity_updates", "sram_word", "memory", "plasticity read+write (SRAM)", 2.0),
    )
    return PlatformTable(
        "cmos45nm", f"45 nm CMOS (Horowitz 2014), {p}", entries, rules, static=None,
        ignores=("spikes", "membrane_updates", "dense_ac", "dense_mac", "spikes_routed", "hops",
                 "ticks", "cycles"),
        notes=("An event-driven digital design: only effective synaptic ops are computed.",
               "No interconnect cost in the Horowitz table: spikes_routed and hops are not priced.",
               "No static power figure: static energy is not included."),
        precision=p)


def gpu(precision: str | None = None) -> PlatformTable:
    """GPU-like baseline: every dense synaptic op is a MAC, plus DRAM traffic.

    Traffic model (written down, Dampfhoffer et al. 2023 style): the weights are read from
    DRAM once per batch (``gpu_weight_bytes`` = weight words x word bytes x batches); every
    activation of a neuron layer is written to DRAM once and read once by the next layer
    (``gpu_activation_bytes`` = 2 x neuron_updates x word bytes), word size from ``precision``.
    On-chip cache/register traffic and the input read are not priced.
    """
    p = _check_precision(precision, "gpu")
    ac, mac = _mac_ac(p)
    entries = {"mac": mac, "dram_byte": DRAM_BYTE}
    rules = (
        Rule("dense_ops", "mac", "compute", "dense synaptic MACs"),
        Rule("neuron_updates", "mac", "compute", "neuron updates (1 mult + 1 add)"),
        Rule("gpu_weight_bytes", "dram_byte", "memory", "weights, once per batch (DRAM)"),
        Rule("gpu_activation_bytes", "dram_byte", "memory", "activations, write+read per layer "
             "(DRAM)"),
    )
    return PlatformTable(
        "gpu", f"GPU-like baseline ({p} MACs + DRAM traffic; Horowitz 2014 prices)", entries,
        rules, static=None,
        ignores=("spikes", "membrane_updates", "synops_ac", "synops_mac", "weight_reads",
                 "state_reads", "state_writes", "spikes_routed", "hops", "ticks", "cycles"),
        notes=("Dense: zero activations and zero weights are computed (no sparsity support).",
               "Traffic: weights read once per batch, activations written and read once per "
               "layer and step, in DRAM; caches and the input read are not priced.",
               "No static/idle power figure: static energy is not included."),
        precision=p, params={"word_bytes": PRECISIONS[p]})


def truenorth() -> PlatformTable:
    """TrueNorth: ``E = P_static * t + e_event * events``; the fit is in
    :mod:`spikesim.energy.truenorth`."""
    fit, fit_hi = fit_truenorth(), fit_truenorth(TN_POINTS["A_all_in"]["power_quoted_W"])
    src_fit = ("fit of P = P_static + e_event*R to Merolla et al. 2014 (26 pJ all-in at 20 Hz/128 "
               "synapses/0.775 V) and the 400 GSOPS/W peak; see spikesim.energy.truenorth")
    e_event = Entry(fit.e_event_J, "J/op", src_fit, "derived", "TRANS",
                    note="incremental energy per synaptic event = 1/(400 GSOPS/W); covers "
                         "crossbar read, integration and routing (all activity-dependent power). "
                         "400 GSOPS/W is in third-party reviews [TRANS]; its place in Merolla "
                         "2014 is [RECALL]")
    p_static = Entry(fit.p_static_W, "W", src_fit, "derived", "TRANS",
                     note="whole-chip static power at 0.775 V from P_A = 26 pJ x R_A",
                     alternatives=(Entry(fit_hi.p_static_W, "W", src_fit + " (P_A = 72 mW)",
                                         "derived", "TRANS"),))
    all_in = Entry(26e-12, "J/op", TN_POINTS["A_all_in"]["source"], "measured", "TRANS",
                   note="all-in, one operating point: total chip energy / synaptic events at "
                        "20 Hz, 128 synapses/neuron, 0.775 V. Never a per-event slope.",
                   all_in=True)
    peak = Entry(2.5e-12, "J/op", TN_POINTS["B_peak_efficiency"]["source"], "measured", "RECALL",
                 note="1 / 400 GSOPS/W, all-in at high rates", all_in=True)
    entries = {"e_event": e_event, "p_static": p_static, "all_in_26pJ": all_in,
               "all_in_peak": peak}
    rules = (Rule("synops_ac", "e_event", "compute", "synaptic events (all activity)"),)
    return PlatformTable(
        "truenorth", "IBM TrueNorth (28 nm, 0.775 V): static + per-event fit", entries, rules,
        static="p_static",
        ignores=("spikes", "neuron_updates", "membrane_updates", "dense_ac", "dense_mac",
                 "weight_reads", "state_reads", "state_writes", "spikes_routed", "hops",
                 "ticks", "cycles"),
        notes=("e_event lumps all activity-dependent power (crossbar, neurons, routing): memory "
               "and routing are not priced separately.",
               "Static power is per chip (x counts.meta['chips'], default 1) x simulated time.",
               "all_in_* entries are for reference only and are never used as per-event prices."))


def loihi() -> PlatformTable:
    """Loihi 1: Davies 2018 Table 2 (simulated) with SANA-FE silicon-calibrated alternatives.

    No Loihi 2 per-op table is published; use this one for Loihi 2 with that caveat.
    """
    synop = Entry(23.6 * PJ, "J/op", f"{DAVIES}: synaptic spike op (min energy)", "simulated",
                  "TRANS", note="a minimum from a simulated table, not a silicon measurement",
                  alternatives=(Entry(35.5 * PJ, "J/op", f"{SANAFE}: dense synapse", "calibrated",
                                      "TRANS"),))
    neuron = Entry(81 * PJ, "J/op", f"{DAVIES}: neuron update, active", "simulated", "TRANS",
                   alternatives=(
                       Entry(52 * PJ, "J/op", f"{DAVIES}: neuron update, inactive", "simulated",
                             "TRANS"),
                       Entry(72.8 * PJ, "J/op", f"{SANAFE}: soma access 51.2 pJ + soma update "
                             "21.6 pJ", "calibrated", "TRANS", note="sum of two preset entries")))
    stdp = Entry(120 * PJ, "J/op", f"{DAVIES}: synaptic update, pairwise STDP", "simulated",
                 "TRANS")
    spike = Entry(1.7 * PJ, "J/op", f"{DAVIES}: within-tile spike", "simulated", "TRANS",
                  alternatives=(Entry(69.3 * PJ, "J/op", f"{SANAFE}: spike out", "calibrated",
                                      "TRANS"),))
    hop = Entry(3.5 * PJ, "J/op", f"{DAVIES}: per tile hop, E-W 3.0 pJ / N-S 4.0 pJ", "derived",
                "TRANS", note="mean of the E-W and N-S hop energies",
                alternatives=(Entry(3.0 * PJ, "J/op", f"{DAVIES}: per tile hop, E-W", "simulated",
                                    "TRANS"),
                              Entry(4.0 * PJ, "J/op", f"{DAVIES}: per tile hop, N-S", "simulated",
                                    "TRANS")))
    static = Entry(104e-3, "W", "derived from Frady et al. 2020 (Pohoiki Springs) via a "
                   "third-party note", "derived", "TRANS",
                   note="chip-wide static power, about 104 mW")
    entries = {"synop": synop, "neuron_update": neuron, "stdp_update": stdp, "spike": spike,
               "hop": hop, "p_static": static}
    rules = (
        Rule("synops_ac", "synop", "compute", "synaptic spike ops"),
        Rule("neuron_updates", "neuron_update", "compute", "neuron updates"),
        Rule("plasticity_updates", "stdp_update", "compute", "STDP updates"),
        Rule("spikes_routed", "spike", "routing", "spikes sent"),
        Rule("hops", "hop", "routing", "tile hops"),
    )
    return PlatformTable(
        "loihi", "Intel Loihi 1 (14 nm, 0.75 V): Davies 2018 Table 2", entries, rules,
        static="p_static",
        ignores=("spikes", "membrane_updates", "dense_ac", "dense_mac", "weight_reads",
                 "state_reads", "state_writes", "ticks", "cycles"),
        notes=("Synaptic memory access is inside the synop energy and state access inside the "
               "neuron-update energy: no separate memory line.",
               "Loihi 1 has binary spikes only: valued (MAC) synaptic ops have no price.",
               "No Loihi 2 per-op table is published; this Loihi 1 table is a proxy for it.",
               "Static power is per chip (x counts.meta['chips'], default 1) x simulated time."))


def northpole_energy_per_mac(frames_per_joule: float = 571.0,
                             macs_per_frame: float = 4.1e9) -> float:
    """Calibrated all-in NorthPole energy per MAC (J): ``1 / (frames_per_joule * macs_per_frame)``.

    Default: ResNet-50 at 571 frames/J (Modha et al. 2023, Table 1) and 4.1 GMAC per frame,
    giving 0.427 pJ per MAC. "All-in" means the chip's whole energy (compute, on-chip memory,
    static) spread over the MACs of that workload.

    What an "op" is: here, one MAC (one multiply and its accumulate). The paper's "2048 ops
    per core per cycle at 8 bits" does not say whether an op is a MAC or half of one; the
    calibration does not depend on it, because it divides frames/J by MACs per frame only.
    (Consistency check, not used: 42,460 frames/s x 4.1 GMAC = 174 TMAC/s, below the INT8
    ceiling 256 x 2048 x 400 MHz = 210 T ops/s if an op is a MAC, above it if an op were
    half a MAC; the 400 MHz clock is [RECALL] and ResNet-50 may run partly at 4 bits, so
    this does not settle the question.) Used by the NorthPole backend.

    Example::

        northpole_energy_per_mac()              # 4.27e-13 J
        northpole_energy_per_mac(574.0, 3.8e9)  # another published combination
    """
    for name, v in (("frames_per_joule", frames_per_joule), ("macs_per_frame", macs_per_frame)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    return 1.0 / (float(frames_per_joule) * float(macs_per_frame))


def northpole() -> PlatformTable:
    """NorthPole: dense MACs at a calibrated all-in cost per MAC (ResNet-50 frames/J)."""
    fps_per_w = 42_460 / 74.0   # 573.8 frames/J from the same table's fps and W
    mac = Entry(
        northpole_energy_per_mac(571.0, 4.1e9), "J/op",
        f"{MODHA}: 571 frames/J; 4.1 GMAC per ResNet-50 frame", "calibrated", "TRANS",
        note="all-in (compute + on-chip memory + static) per dense MAC on ResNet-50; an op is "
             "one MAC",
        all_in=True,
        alternatives=(
            Entry(northpole_energy_per_mac(fps_per_w, 4.1e9), "J/op",
                  f"{MODHA}: 42,460 frames/s at 74 W (573.8 frames/J); 4.1 GMAC/frame",
                  "calibrated", "TRANS", all_in=True),
            Entry(northpole_energy_per_mac(571.0, 3.8e9), "J/op",
                  f"{MODHA}: 571 frames/J; 3.8e9 multiply-adds per frame (He et al. 2016 "
                  "Table 1, quoted by an OpenGenus article)", "calibrated", "TRANS",
                  all_in=True)))
    rules = (Rule("dense_ops", "mac", "compute", "dense MACs (all-in)"),)
    return PlatformTable(
        "northpole", "IBM NorthPole (12 nm): calibrated all-in cost per MAC", {"mac": mac},
        rules, static=None,
        ignores=("spikes", "neuron_updates", "membrane_updates", "synops_ac", "synops_mac",
                 "weight_reads", "state_reads", "state_writes", "spikes_routed", "hops",
                 "ticks", "cycles"),
        notes=("Dense, no activation-sparsity gating: every dense synaptic op is a MAC.",
               "All-in: on-chip memory and static energy are inside the per-MAC figure, so "
               "there is no separate memory or static line.",
               "Calibrated on ResNet-50 at the paper's precision; other precisions are not "
               "modelled."))


#: Platform name -> table factory (``precision`` keyword for cmos45nm and gpu).
PLATFORMS = {"cmos45nm": cmos45nm, "gpu": gpu, "truenorth": truenorth, "loihi": loihi,
             "northpole": northpole}
_WITH_PRECISION = ("cmos45nm", "gpu")


def get_table(platform: str, precision: str | None = None) -> PlatformTable:
    """The cost table of ``platform`` (one of :data:`PLATFORMS`).

    Example::

        print(get_table("loihi").table())
        get_table("cmos45nm", precision="int8").entry("mac").value   # 0.23e-12 J
    """
    if not isinstance(platform, str) or platform not in PLATFORMS:
        raise ValueError(f"platform: {platform!r} is not known; known platforms: "
                         f"{sorted(PLATFORMS)}")
    if platform in _WITH_PRECISION:
        return PLATFORMS[platform](precision)
    if precision is not None:
        raise ValueError(f"precision: {precision!r} given, but platform {platform!r} has no "
                         f"precision option (only {_WITH_PRECISION} have)")
    return PLATFORMS[platform]()
