"""Price :class:`spikesim.sim.Counts` with a platform table: :func:`report` -> ``EnergyReport``.

Energy per inference (one sample):

    E = sum over rules [ quantity / samples * price ]  +  P_static * chips * duration_s

``duration_s`` of a Counts is the simulated time of one sample's run (batched samples run in
parallel in the simulator, one after the other on a chip). Each figure is given as low /
nominal / high, where low (high) prices every quantity at the minimum (maximum) over the
entry and its sourced alternatives (:class:`spikesim.energy.tables.Entry`).

Quantities a rule can price: every :data:`spikesim.sim.counts.FIELDS` field, plus

- ``dense_ops`` = ``dense_ac + dense_mac`` (dense hardware computes both as MACs);
- ``gpu_weight_bytes`` = weight words x word bytes x ceil(samples / batch_size)
  (weights read once per batch; the weight count comes from ``weights=`` or
  ``counts.meta["weights"]``);
- ``gpu_activation_bytes`` = 2 x neuron_updates of ``neuron`` layers x word bytes
  (each activation written once and read once per layer and step).

Memory is included by default: the main criticism of "SynOps x E_AC" estimates is that
they leave out memory access (Dampfhoffer et al., IEEE TETCI 2023). When an engine lists a
memory or routing field in ``counts.unfilled``, a documented proxy is used and recorded in
``EnergyReport.notes``: ``weight_reads`` = effective synaptic ops (one weight word per op),
``state_reads`` = ``state_writes`` = ``neuron_updates`` (one state word each),
``spikes_routed`` = ``spikes``; unfilled ``hops`` and ``plasticity_updates`` are priced at
zero with a note; an unfilled accumulate (MAC) field whose MAC (accumulate) twin is filled is
taken as 0 with a note. Other unfilled fields a platform needs are an error.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping

from spikesim.energy.tables import CATEGORIES, PJ, PlatformTable, Rule, get_table
from spikesim.sim.counts import FIELDS, Counts

#: Proxies for unfilled memory/routing fields: field -> (fields summed, description).
PROXIES: dict[str, tuple[tuple[str, ...], str]] = {
    "weight_reads": (("synops_ac", "synops_mac"), "one weight word per effective synaptic op"),
    "state_reads": (("neuron_updates",), "one state word read per neuron update"),
    "state_writes": (("neuron_updates",), "one state word written per neuron update"),
    "spikes_routed": (("spikes",), "one packet per spike"),
}

#: Unfilled fields priced at zero (with a note) because no proxy exists.
ZERO_IF_UNFILLED: dict[str, str] = {"hops": "router-hop energy",
                                    "plasticity_updates": "learning (weight update) energy"}

#: Accumulate/MAC pairs: a source that fills one and lists the other as unfilled (e.g. a chip
#: with binary spikes only) has the other taken as 0, with a note.
PAIRS: dict[str, str] = {"synops_ac": "synops_mac", "synops_mac": "synops_ac",
                         "dense_ac": "dense_mac", "dense_mac": "dense_ac"}

Triple = tuple[float, float, float]


@dataclass(frozen=True)
class Line:
    """One priced line: ``quantity`` (per inference) x price = energy (J per inference)."""

    category: str
    label: str
    quantity: float
    entry: str
    unit: str
    price: Triple
    energy: Triple
    kind: str
    tag: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "label": self.label, "quantity": self.quantity,
                "entry": self.entry, "unit": self.unit, "price_low": self.price[0],
                "price": self.price[1], "price_high": self.price[2],
                "energy_low_J": self.energy[0], "energy_J": self.energy[1],
                "energy_high_J": self.energy[2], "kind": self.kind, "tag": self.tag,
                "source": self.source}


@dataclass(repr=False)
class EnergyReport:
    """Energy per inference on one platform, by category, each as (low, nominal, high) in J.

    Attributes:
        platform: platform name; ``title`` its description.
        lines: the priced lines (:class:`Line`), static last.
        samples: samples (inferences) the counts cover; ``duration_s`` one sample's time.
        include_memory, static: the switches used.
        notes: assumptions (proxies, omitted terms).

    Example::

        rep = report(counts, "loihi")
        rep.total            # (low, nominal, high) J per inference
        print(rep.table())
        rep.plot()
    """

    platform: str
    title: str
    lines: list[Line]
    samples: int
    duration_s: float
    include_memory: bool
    static: bool
    notes: list[str] = field(default_factory=list)
    precision: str | None = None

    def by_category(self) -> dict[str, Triple]:
        """``{category: (low, nominal, high)}`` in J per inference, for all :data:`CATEGORIES`."""
        out = {c: [0.0, 0.0, 0.0] for c in CATEGORIES}
        for ln in self.lines:
            for i in range(3):
                out[ln.category][i] += ln.energy[i]
        return {c: (v[0], v[1], v[2]) for c, v in out.items()}

    @property
    def total(self) -> Triple:
        """(low, nominal, high) total energy per inference in J."""
        cats = self.by_category().values()
        return (sum(c[0] for c in cats), sum(c[1] for c in cats), sum(c[2] for c in cats))

    def __repr__(self) -> str:
        lo, nom, hi = self.total
        return (f"EnergyReport(platform={self.platform!r}, total={nom * 1e6:.4g} uJ "
                f"[{lo * 1e6:.4g}, {hi * 1e6:.4g}] per inference, samples={self.samples})")

    def table(self) -> str:
        """A readable table: one row per line, category subtotals and the total (in uJ)."""
        def uj(v: float) -> str:
            return f"{v * 1e6:.4g}"
        head = ["category", "line", "per inference", "price (pJ or mW)", "low uJ", "uJ",
                "high uJ", "kind"]
        rows = []
        for ln in self.lines:
            if ln.quantity == 0:
                continue
            price = (f"{ln.price[1] * 1e3:.4g} mW" if ln.unit == "W" else
                     f"{ln.price[1] / PJ:.4g} pJ")
            rows.append([ln.category, ln.label, f"{ln.quantity:.4g}", price, uj(ln.energy[0]),
                         uj(ln.energy[1]), uj(ln.energy[2]), ln.kind])
        for c, v in self.by_category().items():
            rows.append([c, "(subtotal)", "", "", uj(v[0]), uj(v[1]), uj(v[2]), ""])
        t = self.total
        rows.append(["TOTAL", "", "", "", uj(t[0]), uj(t[1]), uj(t[2]), ""])
        w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
        lines = [f"{self.title} -- energy per inference (samples={self.samples}, "
                 f"duration={self.duration_s:g} s, memory={'on' if self.include_memory else 'off'}"
                 f", static={'on' if self.static else 'off'})",
                 "  ".join(str(h).ljust(k) for h, k in zip(head, w)),
                 "  ".join("-" * k for k in w)]
        lines += ["  ".join(str(x).ljust(k) for x, k in zip(r, w)) for r in rows]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form; energies in J per inference."""
        cats = self.by_category()
        t = self.total
        return {"platform": self.platform, "title": self.title, "precision": self.precision,
                "samples": self.samples, "duration_s": self.duration_s,
                "include_memory": self.include_memory, "static": self.static,
                "total_low_J": t[0], "total_J": t[1], "total_high_J": t[2],
                "by_category": {c: {"low_J": v[0], "J": v[1], "high_J": v[2]}
                                for c, v in cats.items()},
                "lines": [ln.to_dict() for ln in self.lines], "notes": list(self.notes)}

    def plot(self, ax: Any = None, unit: str = "uJ", log: bool = False) -> Any:
        """Bar plot of the categories (nominal bars, low-high error bars); returns the Axes.

        ``unit`` is one of J, mJ, uJ, nJ; ``log=True`` uses a logarithmic y axis (static
        energy often dwarfs the rest)."""
        import matplotlib.pyplot as plt  # lazy: importing the energy module stays light

        scale = {"J": 1.0, "mJ": 1e3, "uJ": 1e6, "nJ": 1e9}
        if unit not in scale:
            raise ValueError(f"unit: {unit!r} not allowed; allowed: {sorted(scale)}")
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3))
        cats = self.by_category()
        names = list(cats)
        nom = [cats[c][1] * scale[unit] for c in names]
        lo = [(cats[c][1] - cats[c][0]) * scale[unit] for c in names]
        hi = [(cats[c][2] - cats[c][1]) * scale[unit] for c in names]
        ax.bar(names, nom, yerr=[lo, hi], capsize=4, color="C0")
        ax.set_ylabel(f"energy per inference ({unit})")
        ax.set_title(self.title, fontsize=9)
        if log:
            ax.set_yscale("log")
        return ax


def plot_comparison(reports: Mapping[str, EnergyReport], ax: Any = None, unit: str = "uJ",
                    log: bool = True) -> Any:
    """Grouped bars: one group per platform, one bar per category (nominal value, low-high
    error bar) plus the total; returns the Axes. A log axis (default) keeps small categories
    visible next to static power.

    Example::

        reps = {p: report(counts, p) for p in ("cmos45nm", "loihi", "truenorth")}
        plot_comparison(reps)
    """
    import matplotlib.pyplot as plt  # lazy

    scale = {"J": 1.0, "mJ": 1e3, "uJ": 1e6, "nJ": 1e9}
    if unit not in scale:
        raise ValueError(f"unit: {unit!r} not allowed; allowed: {sorted(scale)}")
    if not reports:
        raise ValueError("plot_comparison: reports is empty")
    for k, r in reports.items():
        if not isinstance(r, EnergyReport):
            raise TypeError(f"reports[{k!r}] must be an EnergyReport, got {type(r).__name__}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    names = list(reports)
    groups = [*CATEGORIES, "total"]
    width = 0.8 / len(groups)
    for j, cat in enumerate(groups):
        vals = [reports[n].total if cat == "total" else reports[n].by_category()[cat]
                for n in names]
        xs = [i + (j - (len(groups) - 1) / 2) * width for i in range(len(names))]
        nom = [v[1] * scale[unit] for v in vals]
        err = [[(v[1] - v[0]) * scale[unit] for v in vals],
               [(v[2] - v[1]) * scale[unit] for v in vals]]
        ax.bar(xs, nom, width, yerr=err, capsize=2, label=cat,
               color="0.3" if cat == "total" else f"C{j}")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names)
    ax.set_ylabel(f"energy per inference ({unit})")
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=7, ncol=len(groups))
    return ax


def _quantities(counts: Counts, table: PlatformTable, rules: list[Rule], weights: Any,
                batch_size: int | None, notes: list[str]) -> dict[str, float]:
    """Totals over the run of every quantity ``rules`` use (proxies applied)."""
    tot = counts.totals()
    unfilled = set(counts.unfilled)
    q: dict[str, float] = {}
    needed = sorted({r.quantity for r in rules})
    for name in needed:
        if name in FIELDS:
            if name in unfilled:
                if name in PROXIES:
                    src, why = PROXIES[name]
                    bad = [f for f in src if f in unfilled
                           and not (f in PAIRS and PAIRS[f] not in unfilled)]
                    if bad:
                        raise ValueError(f"counts from {counts.source!r} did not fill {name!r} "
                                         f"nor {bad}, needed to price it on {table.name!r}")
                    q[name] = float(sum(tot[f] for f in src if f not in unfilled))
                    notes.append(f"{name} not counted by {counts.source or 'the source'}: "
                                 f"proxy {' + '.join(src)} ({why})")
                elif name in PAIRS and PAIRS[name] not in unfilled:
                    q[name] = 0.0
                    notes.append(f"{name} not counted by {counts.source or 'the source'}, which "
                                 f"counts {PAIRS[name]}: taken as 0")
                elif name in ZERO_IF_UNFILLED:
                    q[name] = 0.0
                    notes.append(f"{name} not counted by {counts.source or 'the source'}: "
                                 f"{ZERO_IF_UNFILLED[name]} omitted (priced at 0)")
                else:
                    raise ValueError(f"counts from {counts.source!r} did not fill {name!r} "
                                     f"(listed in counts.unfilled); platform {table.name!r} "
                                     f"needs it")
            else:
                q[name] = float(tot[name])
        elif name == "dense_ops":
            have = [f for f in ("dense_ac", "dense_mac") if f not in unfilled]
            if not have:
                raise ValueError(f"counts from {counts.source!r} did not fill dense_ac nor "
                                 f"dense_mac; platform {table.name!r} prices dense synaptic ops")
            if len(have) == 1:
                notes.append(f"dense ops: only {have[0]} counted by "
                             f"{counts.source or 'the source'} (the other is taken as 0)")
            q[name] = float(sum(tot[f] for f in have))
        elif name == "gpu_weight_bytes":
            w = weights if weights is not None else counts.meta.get("weights")
            if w is None:
                raise ValueError(
                    f"platform {table.name!r} needs the number of weights for its traffic model: "
                    f"pass weights= (int or {{layer: int}}, e.g. "
                    f"spikesim.energy.network_metrics.network_weight_count(net)) or set "
                    f"counts.meta['weights'], or use include_memory=False")
            n_w = sum(int(v) for v in w.values()) if isinstance(w, Mapping) else int(w)
            if n_w < 0:
                raise ValueError(f"weights must be >= 0, got {n_w}")
            bs = counts.samples if batch_size is None else batch_size
            if not isinstance(bs, numbers.Integral) or isinstance(bs, bool) or bs < 1:
                raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
            batches = math.ceil(max(counts.samples, 1) / bs)
            q[name] = float(n_w * table.params["word_bytes"] * batches)
        elif name == "gpu_activation_bytes":
            if "neuron_updates" in unfilled:
                raise ValueError(f"counts from {counts.source!r} did not fill 'neuron_updates', "
                                 f"needed for the activation traffic of {table.name!r}")
            acts = counts.total("neuron_updates", kind="neuron")
            if acts == 0:
                acts = counts.total("neuron_updates")
            q[name] = float(2 * acts * table.params["word_bytes"])
        else:  # pragma: no cover - tables are validated against this list in tests
            raise ValueError(f"platform {table.name!r}: unknown quantity {name!r}")
    return q


def report(counts: Counts, platform: str, include_memory: bool = True, static: bool = True, *,
           precision: str | None = None, weights: int | Mapping[str, int] | None = None,
           batch_size: int | None = None, include_neurons: bool = True) -> EnergyReport:
    """Energy per inference of a run on ``platform``, broken down by category.

    Args:
        counts: the run's :class:`spikesim.sim.Counts` (``result.counts``).
        platform: one of ``cmos45nm``, ``gpu``, ``truenorth``, ``loihi``, ``northpole``.
        include_memory: price memory traffic (default True). False drops the ``memory``
            category; on ``cmos45nm`` with ``include_neurons=False`` this is the naive
            ``ACs x 0.9 pJ + MACs x 4.6 pJ`` figure.
        static: add static power x simulated time where the platform has a static figure and
            the counts a duration.
        precision: ``int8``/``int32``/``fp16``/``fp32`` for ``cmos45nm`` and ``gpu``
            (default fp32).
        weights: weight words (int, or per layer) for the GPU traffic model; default
            ``counts.meta["weights"]``.
        batch_size: GPU batch size for the weight traffic (default: all samples in one batch).
        include_neurons: price neuron updates (default True).

    Returns:
        :class:`EnergyReport` with figures in J per inference (low, nominal, high).

    Raises:
        ValueError: unknown platform (lists the known ones), counts that recorded nothing,
            a nonzero count the platform has no price for, missing fields or weights.

    Example::

        from spikesim.sim import Counts
        c = Counts.empty(["fc"], samples=1, source="hand")
        c.add("fc", synops_ac=1000, synops_mac=10)
        report(c, "cmos45nm", include_memory=False).total[1]   # 1000*0.9e-12 + 10*4.6e-12 J
    """
    if not isinstance(counts, Counts):
        raise TypeError(f"counts must be a spikesim.sim.Counts, got {type(counts).__name__}")
    table = get_table(platform, precision)
    if counts.is_empty():
        raise ValueError(f"counts from {counts.source or 'this run'!r} recorded nothing (every "
                         f"field of every layer is zero): nothing to price. Did the run record "
                         f"counts, and did any input reach the network?")
    if (not isinstance(counts.samples, numbers.Integral) or isinstance(counts.samples, bool)
            or counts.samples < 1):
        raise ValueError(f"counts.samples must be an int >= 1, got {counts.samples!r}")
    tot = counts.totals()
    priced = {r.quantity for r in table.rules}
    priced_fields = set(priced) & set(FIELDS)
    if "dense_ops" in priced:
        priced_fields |= {"dense_ac", "dense_mac"}
    if {"gpu_activation_bytes"} & priced:
        priced_fields.add("neuron_updates")
    missing = [f for f in FIELDS if tot[f] and f not in priced_fields and f not in table.ignores]
    if missing:
        raise ValueError(
            f"platform {platform!r} has no price for {', '.join(f'{f}={tot[f]}' for f in missing)}"
            f" counted by {counts.source or 'this run'!r}; it prices {sorted(priced)} and ignores "
            f"{list(table.ignores)}. Choose another platform or a network that fits it "
            f"(e.g. spike-encoded inputs instead of valued inputs).")
    notes: list[str] = list(table.notes)
    rules = [r for r in table.rules
             if (include_memory or r.category != "memory")
             and (include_neurons or r.quantity != "neuron_updates")]
    if not include_memory and not any(r.category == "memory" for r in table.rules):
        notes.append("include_memory=False has no effect here: this platform has no separate "
                     "memory line")
    q = _quantities(counts, table, rules, weights, batch_size, notes)
    n = int(counts.samples)
    lines: list[Line] = []
    for r in rules:
        e = table.entry(r.entry)
        qty = q[r.quantity] * r.factor / n
        price = (e.low, e.nominal, e.high)
        lines.append(Line(r.category, r.label, qty, r.entry, e.unit, price,
                          tuple(qty * p for p in price), e.kind, e.tag, e.source))
    if static and table.static is not None:
        if counts.duration_s > 0:
            e = table.entry(table.static)
            chips = counts.meta.get("chips", 1)
            if (not isinstance(chips, numbers.Integral) or isinstance(chips, bool)
                    or chips < 1):
                raise ValueError(f"counts.meta['chips'] must be an int >= 1, got {chips!r}")
            chips = int(chips)
            qty = chips * float(counts.duration_s)
            price = (e.low, e.nominal, e.high)
            lines.append(Line("static", f"static power x {chips} chip(s) x time", qty,
                              table.static, e.unit, price, tuple(qty * p for p in price), e.kind,
                              e.tag, e.source))
        else:
            notes.append("counts have no duration (duration_s = 0): static energy not included")
    return EnergyReport(platform=platform, title=table.title, lines=lines, samples=n,
                        duration_s=float(counts.duration_s), include_memory=include_memory,
                        static=static, notes=notes, precision=table.precision)


def naive_estimate(counts: Counts) -> float:
    """The usual SNN estimate, J per inference: ``ACs x 0.9 pJ + MACs x 4.6 pJ``.

    Effective synaptic accumulates at the Horowitz fp32 add and MACs at the fp32
    multiply + add; no memory, no neuron updates, no static power. For comparison only:
    :func:`report` with memory on is the better estimate (Dampfhoffer et al. 2023).
    """
    rep = report(counts, "cmos45nm", include_memory=False, static=False, include_neurons=False)
    return rep.total[1]
