"""Operation counts: the one schema every engine and chip backend fills and
:mod:`spikesim.energy` prices.

A :class:`Counts` holds, per layer (an IR node name, or a backend's own unit such as a
core), the integer totals of the fields in :data:`FIELDS` over a whole run (all samples of
the batch and all steps). Definitions follow NeuroBench (``SynapticOperations``,
``MembraneUpdates``, ``ActivationSparsity``) where NeuroBench defines them:

- an *effective* synaptic operation is one (input, weight) pair with a nonzero input and a
  nonzero weight; it is an accumulate (``synops_ac``) when the input is a spike (binary,
  values in {-1, 0, 1}) and a multiply-accumulate (``synops_mac``) otherwise;
- *dense* operations count every (input, weight) pair of the layer regardless of zeros
  (``dense_ac``/``dense_mac``, split by the same input test), i.e. the work of hardware
  without sparsity support.

A field an engine cannot fill stays zero; the engine lists it in ``Counts.unfilled`` so a
zero is never mistaken for a measurement.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

#: Field name -> definition. The order is the order of tables.
FIELDS: dict[str, str] = {
    "spikes": "spikes emitted by a neuron layer (sum over neurons, steps and samples)",
    "neuron_updates": "neuron state updates performed (clock engine: neurons x steps x samples; "
                      "event engine: analytic advances actually done)",
    "membrane_updates": "NeuroBench MembraneUpdates: membrane values that changed in a step "
                        "(plus the initial state), summed over samples",
    "synops_ac": "effective synaptic accumulates: nonzero binary input x nonzero weight",
    "synops_mac": "effective synaptic multiply-accumulates: nonzero valued input x nonzero weight",
    "dense_ac": "dense synaptic operations on binary inputs (all pairs, zeros included)",
    "dense_mac": "dense synaptic operations on valued inputs (all pairs, zeros included)",
    "weight_reads": "synaptic weight words read from memory",
    "state_reads": "neuron or synapse state words read from memory",
    "state_writes": "neuron or synapse state words written to memory",
    "spikes_routed": "spike packets sent between cores or populations (chip backends: NoC packets)",
    "hops": "router hops travelled by routed spike packets",
    "plasticity_updates": "synaptic weight updates made by a learning rule",
    "ticks": "time steps or hardware ticks executed (per layer where layers run separately)",
    "cycles": "hardware clock cycles (chip backends that model a clock)",
}

#: Kinds of counted units.
KINDS = ("neuron", "synapse", "input", "core", "layer")


@dataclass
class Counts:
    """Integer operation counts per layer for one run.

    Attributes:
        layers: ``{name: {field: int}}``; every field of :data:`FIELDS` is present.
        kinds: ``{name: kind}`` with kind in :data:`KINDS`.
        samples: number of independent samples (batch entries, inferences) in the run.
        duration_s: simulated (biological) time of the run in seconds (0 if not timed).
        steps: time steps executed (clock engine, ticks of a chip), 0 for the event engine.
        source: engine or backend that produced the counts (``"clock"``, ``"event"``,
            ``"truenorth"``, ...).
        unfilled: fields this source cannot fill; they are zero by documentation, not
            by measurement.
        meta: free-form extras (e.g. the dt, quantisation settings).

    Example::

        c = Counts.empty(["lif"], kinds={"lif": "neuron"}, samples=1, source="clock")
        c.add("lif", spikes=3, neuron_updates=100)
        c.total("spikes")          # 3
        c.per_sample("spikes")     # 3.0
    """

    layers: dict[str, dict[str, int]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    samples: int = 1
    duration_s: float = 0.0
    steps: int = 0
    source: str = ""
    unfilled: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def empty(cls, names: Iterable[str], kinds: Mapping[str, str] | None = None,
              **kw: Any) -> "Counts":
        """Counts with every field zero for each name in ``names``."""
        names = list(names)
        kinds = dict(kinds or {})
        for k in kinds.values():
            if k not in KINDS:
                raise ValueError(f"kinds: {k!r} is not a known kind; allowed: {KINDS}")
        c = cls(layers={n: {f: 0 for f in FIELDS} for n in names},
                kinds={n: kinds.get(n, "layer") for n in names}, **kw)
        return c

    def add(self, name: str, kind: str | None = None, **fields: int) -> None:
        """Add integer amounts to fields of layer ``name`` (created if missing)."""
        if name not in self.layers:
            self.layers[name] = {f: 0 for f in FIELDS}
            self.kinds[name] = kind or "layer"
        row = self.layers[name]
        for f, v in fields.items():
            if f not in FIELDS:
                raise ValueError(f"field {f!r} is not a Counts field; allowed: {list(FIELDS)}")
            row[f] += int(v)

    # -- queries ---------------------------------------------------------------------------
    def total(self, field_name: str, kind: str | None = None) -> int:
        """Sum of ``field_name`` over layers (of one ``kind`` if given)."""
        if field_name not in FIELDS:
            raise ValueError(f"field {field_name!r} is not a Counts field; allowed: {list(FIELDS)}")
        return int(sum(r[field_name] for n, r in self.layers.items()
                       if kind is None or self.kinds.get(n) == kind))

    def per_sample(self, field_name: str, kind: str | None = None) -> float:
        """``total(field_name) / samples`` (NeuroBench reports per-sample averages)."""
        return self.total(field_name, kind) / max(self.samples, 1)

    def totals(self) -> dict[str, int]:
        """Every field summed over all layers."""
        return {f: self.total(f) for f in FIELDS}

    @property
    def synops(self) -> int:
        """Effective synaptic operations, accumulates plus MACs."""
        return self.total("synops_ac") + self.total("synops_mac")

    def is_empty(self) -> bool:
        """True when nothing was counted (no layer has any nonzero field)."""
        return all(v == 0 for r in self.layers.values() for v in r.values())

    # -- combination -----------------------------------------------------------------------
    def __add__(self, other: "Counts") -> "Counts":
        """Counts of two runs back to back (same source): fields and durations add; samples
        stay those of the first run when both ran on the same samples (continuation)."""
        if not isinstance(other, Counts):
            return NotImplemented
        out = Counts(layers={n: dict(r) for n, r in self.layers.items()}, kinds=dict(self.kinds),
                     samples=self.samples, duration_s=self.duration_s + other.duration_s,
                     steps=self.steps + other.steps, source=self.source or other.source,
                     unfilled=tuple(sorted(set(self.unfilled) | set(other.unfilled))),
                     meta={**other.meta, **self.meta})
        for n, r in other.layers.items():
            out.add(n, other.kinds.get(n), **r)
        return out

    # -- output ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (ints, floats, strings)."""
        return {"layers": {n: dict(r) for n, r in self.layers.items()}, "kinds": dict(self.kinds),
                "samples": int(self.samples), "duration_s": float(self.duration_s),
                "steps": int(self.steps), "source": self.source, "unfilled": list(self.unfilled),
                "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Counts":
        c = cls(kinds=dict(d.get("kinds", {})), samples=int(d.get("samples", 1)),
                duration_s=float(d.get("duration_s", 0.0)), steps=int(d.get("steps", 0)),
                source=str(d.get("source", "")), unfilled=tuple(d.get("unfilled", ())),
                meta=dict(d.get("meta", {})))
        for n, r in d.get("layers", {}).items():
            c.add(n, c.kinds.get(n), **r)
        return c

    def table(self, fields: Iterable[str] | None = None) -> str:
        """A readable table: one row per layer, columns = nonzero fields (or ``fields``)."""
        fields = list(fields) if fields is not None else [
            f for f in FIELDS if any(r[f] for r in self.layers.values())]
        head = ["layer", "kind", *fields]
        rows = [[n, self.kinds.get(n, ""), *(str(r[f]) for f in fields)]
                for n, r in self.layers.items()]
        rows.append(["TOTAL", "", *(str(self.total(f)) for f in fields)])
        w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
        lines = ["  ".join(str(h).ljust(k) for h, k in zip(head, w)),
                 "  ".join("-" * k for k in w)]
        lines += ["  ".join(str(x).rjust(k) for x, k in zip(r, w)) for r in rows]
        note = f"\n(samples={self.samples}, duration={self.duration_s:g} s, steps={self.steps}, " \
               f"source={self.source}" + (f", unfilled={list(self.unfilled)}" if self.unfilled else "") + ")"
        return "\n".join(lines) + note

    def __repr__(self) -> str:
        return (f"Counts(source={self.source!r}, layers={list(self.layers)}, samples={self.samples}, "
                f"spikes={self.total('spikes')}, synops={self.synops})")
