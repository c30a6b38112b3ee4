"""Mapping a network onto the NorthPole core array: per-layer cores, cycles, fps, latency.

Model (every assumption named; constants from :mod:`.params`):

* **Layer-pipelined spatial mapping** (``mode="pipeline"``, default): every MAC layer (dense or
  conv) owns a disjoint set of cores holding its weights and its input buffer; frames stream
  through the layers, so in steady state the chip emits one frame per *stage time* ``T`` =
  the largest per-layer cycle count. Pooling, ReLU, residual adds and flatten are fused into
  the producing layer's cores (their arithmetic is not charged cycles; their buffers are).
* **Cores per layer from memory and operations**: a layer first gets
  ``ceil(bytes / 768 KB)`` cores for its weights (``params x w_bits / 8``), per-channel
  requantisation constants (9 bytes per output channel: int32 bias, int32 multiplier, shift),
  a double-buffered input (``2 x inputs x a_bits / 8``) and any extra buffer (e.g. a residual
  skip held for the frames in flight). Remaining cores go, one at a time, to the current
  bottleneck layer, in the smallest step that makes it faster, until the bottleneck cannot
  be sped up with the cores left (greedy; optimal for this max-of-ceilings objective up to
  ties). Cores that cannot raise the throughput stay unused (``cores_used`` < 256).
* **Cycles of a layer on n cores**: its output values are split evenly over the cores (the
  busiest core gets ``ceil(outputs / n)``), each output costs ``fan_in`` MACs, and a core
  does ``ops_per_core_per_cycle(bits) x macs_per_op`` MACs per cycle at the layer's compute
  precision ``max(w_bits, a_bits)``. The core's internal vector shape is not published in the
  sources read, so no intra-core tiling loss is modelled (a lower bound on cycles).
* **Latency** = sum of the layers' cycles (a layer starts a frame when the previous layer has
  finished it: store-and-forward at layer granularity) / f_clk; the **pipeline fill** is this
  latency; B frames take ``latency + (B - 1) x T``.
* **Inter-core traffic**: each layer's output values move once from its cores to the next
  MAC layer's cores; layers are placed in order along a serpentine walk of the 16 x 16 grid
  and the mean Manhattan distance between source and destination cores gives the hops.
  Traffic is reported, not charged cycles (the NoC bandwidth is not published in the sources
  read).
* ``mode="sequential"``: all 256 cores work on one layer at a time (weights of every layer
  resident); frame time = sum over layers. Reported for comparison.
* If the layers' memory cores exceed 256 the model does not fit: ``ValueError`` naming the
  limit, unless ``allow_multipass=True``: then consecutive layers are grouped into passes
  that fit, each pass's weights are reloaded from off-chip once per batch of ``batch`` frames
  at ``offchip_bytes_per_s`` (a required argument -- no published figure) and the off-chip
  bytes are counted; a warning is issued.
* **Roofline**: ``sum_l MACs_l / (256 x ops(bits_l) x macs_per_op x f_clk)`` per frame.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from spikesim.backends.northpole import params as P

#: Bytes of per-output-channel constants (int32 bias, int32 multiplier, 1-byte shift).
CHANNEL_CONST_BYTES = 9


@dataclass(frozen=True)
class LayerShape:
    """Shape-level description of one MAC layer (all a schedule needs; no weights).

    Attributes:
        name: layer name.
        kind: ``"conv"`` or ``"dense"``.
        in_shape, out_shape: per-frame shapes, (C, H, W) or (F,).
        fan_in: MACs per output value.
        params: number of weights.
        w_bits, a_bits: weight and input-activation precision (8, 4 or 2).
        out_bits: precision of the output values (None: int32 accumulators, sent as 32 bit).
        extra_bytes: further buffer held by this layer's cores (e.g. a residual skip).
    """

    name: str
    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    fan_in: int
    params: int
    w_bits: int
    a_bits: int
    out_bits: int | None
    extra_bytes: int = 0

    def __post_init__(self):
        if self.kind not in ("conv", "dense"):
            raise ValueError(f"{self.name}: kind={self.kind!r}; allowed: 'conv', 'dense'")
        P.check_precision(self.w_bits, f"{self.name}.w_bits")
        P.check_precision(self.a_bits, f"{self.name}.a_bits")
        if self.out_bits is not None:
            P.check_precision(self.out_bits, f"{self.name}.out_bits")

    @property
    def n_out(self) -> int:
        return int(np.prod(self.out_shape))

    @property
    def n_in(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def out_channels(self) -> int:
        return int(self.out_shape[0])

    @property
    def macs(self) -> int:
        return self.n_out * self.fan_in

    @property
    def bits(self) -> int:
        """Compute precision: the wider of weights and inputs."""
        return max(self.w_bits, self.a_bits)

    @property
    def weight_bytes(self) -> int:
        return math.ceil(self.params * self.w_bits / 8) + CHANNEL_CONST_BYTES * self.out_channels

    @property
    def act_bytes(self) -> int:
        return 2 * math.ceil(self.n_in * self.a_bits / 8) + int(self.extra_bytes)

    @property
    def out_bytes(self) -> int:
        return math.ceil(self.n_out * (self.out_bits or 32) / 8)


@dataclass
class Schedule:
    """Result of :func:`schedule`; ``rows`` has one dict per layer, the rest are totals.

    Times are in cycles and seconds; ``frames_per_s`` is the steady-state throughput,
    ``latency_s`` one frame's time through the chip (= the pipeline fill).
    """

    mode: str
    rows: list[dict[str, Any]]
    cores_used: int
    n_cores: int
    fits_on_chip: bool
    passes: int
    max_core_bytes: int
    cycles_per_frame: float
    latency_cycles: int
    f_clk_hz: float
    macs_per_frame: int
    roofline_fps: float
    macs_per_op: float
    offchip_bytes_per_frame: float = 0.0
    noc_bytes_per_frame: int = 0
    noc_byte_hops_per_frame: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def frames_per_s(self) -> float:
        return self.f_clk_hz / self.cycles_per_frame

    @property
    def latency_s(self) -> float:
        return self.latency_cycles / self.f_clk_hz

    @property
    def utilisation(self) -> float:
        """Model throughput / roofline throughput (fraction of the compute peak used)."""
        return self.frames_per_s / self.roofline_fps

    def time_for(self, frames: int) -> float:
        """Seconds for ``frames`` frames including the pipeline fill."""
        if self.mode == "pipeline" and self.passes == 1:
            return (self.latency_cycles + (frames - 1) * self.cycles_per_frame) / self.f_clk_hz
        return frames * self.cycles_per_frame / self.f_clk_hz

    def summary(self) -> dict[str, Any]:
        """Totals as a plain dict (JSON-ready)."""
        return {"mode": self.mode, "cores": self.cores_used, "n_cores": self.n_cores,
                "fits_on_chip": self.fits_on_chip, "passes": self.passes,
                "max_core_bytes": self.max_core_bytes,
                "core_memory_bytes": P.CORE_MEMORY_BYTES,
                "cycles_per_frame": self.cycles_per_frame, "latency_cycles": self.latency_cycles,
                "latency_s": self.latency_s, "frames_per_s": self.frames_per_s,
                "roofline_fps": self.roofline_fps, "utilisation": self.utilisation,
                "macs_per_frame": self.macs_per_frame, "macs_per_op": self.macs_per_op,
                "f_clk_hz": self.f_clk_hz, "noc_bytes_per_frame": self.noc_bytes_per_frame,
                "noc_byte_hops_per_frame": self.noc_byte_hops_per_frame,
                "offchip_bytes_per_frame": self.offchip_bytes_per_frame, "notes": self.notes}

    def table(self) -> str:
        """Per-layer schedule next to the plain roofline, as readable text."""
        from spikesim.benchmarks.common import format_table
        head = ["layer", "w/a bits", "MMAC", "weights KB", "act KB", "cores(mem)", "cores",
                "cycles", "roof cycles", "core util", "out KB", "hops"]
        rows = [[r["name"], f"{r['w_bits']}/{r['a_bits']}", r["macs"] / 1e6,
                 r["weight_bytes"] / 1024, r["act_bytes"] / 1024, r["cores_mem"], r["cores"],
                 r["cycles"], r["roofline_cycles"], r["core_utilisation"],
                 r["out_bytes"] / 1024, r["mean_hops"]] for r in self.rows]
        tail = (f"\n{self.mode}: {self.cores_used}/{self.n_cores} cores, fits on chip: "
                f"{self.fits_on_chip} (passes: {self.passes}), max memory per core "
                f"{self.max_core_bytes / 1024:.0f}/{P.CORE_MEMORY_BYTES / 1024:.0f} KB\n"
                f"cycles per frame {self.cycles_per_frame:,.0f}, latency "
                f"{self.latency_s * 1e6:,.1f} us ({self.latency_cycles:,} cycles = pipeline "
                f"fill), {self.frames_per_s:,.0f} frames/s\nroofline {self.roofline_fps:,.0f} "
                f"frames/s -> utilisation {self.utilisation:.3f} (macs_per_op="
                f"{self.macs_per_op:g}, f_clk={self.f_clk_hz / 1e6:g} MHz)")
        if self.offchip_bytes_per_frame:
            tail += f"\noff-chip traffic {self.offchip_bytes_per_frame / 1e6:.2f} MB/frame"
        return format_table(rows, head) + tail


def macs_per_cycle(bits: int, macs_per_op: float = P.MACS_PER_OP) -> float:
    """MACs one core does per cycle at ``bits`` (ops per cycle x MACs per op)."""
    return P.ops_per_core_per_cycle(bits) * macs_per_op


def layer_cycles(layer: LayerShape, n: int, macs_per_op: float = P.MACS_PER_OP) -> int:
    """Cycles of ``layer`` for one frame on ``n`` cores (busiest core)."""
    per_core = math.ceil(layer.n_out / n) * layer.fan_in
    return math.ceil(per_core / macs_per_cycle(layer.bits, macs_per_op))


def roofline_fps(layers: Sequence[LayerShape], n_cores: int = P.N_CORES,
                 f_clk_hz: float = P.F_CLK_HZ, macs_per_op: float = P.MACS_PER_OP) -> float:
    """Frames/s if every core did useful MACs every cycle at each layer's precision."""
    t = sum(l.macs / (n_cores * macs_per_cycle(l.bits, macs_per_op) * f_clk_hz) for l in layers)
    return 1.0 / t


def _serpentine(rows: int, cols: int) -> np.ndarray:
    pts = []
    for r in range(rows):
        cs = range(cols) if r % 2 == 0 else range(cols - 1, -1, -1)
        pts.extend((r, c) for c in cs)
    return np.array(pts)


def _mean_hops(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 or len(b) == 0:
        return 0.0
    d = np.abs(a[:, None, :] - b[None, :, :]).sum(-1)
    return float(d.mean())


def _allocate(layers, n_cores, mem_cores, macs_per_op) -> list[int]:
    """Give spare cores to the bottleneck layer until it cannot get faster (or cores run out).

    Each step finds the fewest extra cores that lower the bottleneck's cycles; if that needs
    more cores than are free (or the layer is split to one output per core) the allocation
    stops: adding cores elsewhere cannot raise the throughput.
    """
    n = list(mem_cores)
    free = n_cores - sum(n)
    cyc = [layer_cycles(l, k, macs_per_op) for l, k in zip(layers, n)]
    while free > 0:
        i = int(np.argmax(cyc))
        l = layers[i]
        cur = cyc[i]
        # smallest n' with ceil(ceil(out/n')*fan_in/mpc) < cur
        mpc = macs_per_cycle(l.bits, macs_per_op)
        per_core_max = math.floor((cur - 1) * mpc / l.fan_in)   # outputs per core allowed
        if per_core_max < 1:
            break
        need = math.ceil(l.n_out / per_core_max)
        if need - n[i] > free:
            break
        free -= need - n[i]
        n[i] = need
        cyc[i] = layer_cycles(l, need, macs_per_op)
    return n


def schedule(layers: Sequence[LayerShape], *, mode: str = "pipeline", n_cores: int = P.N_CORES,
             core_bytes: int = P.CORE_MEMORY_BYTES, f_clk_hz: float = P.F_CLK_HZ,
             macs_per_op: float = P.MACS_PER_OP, allow_multipass: bool = False,
             offchip_bytes_per_s: float | None = None, batch: int = 1) -> Schedule:
    """Map ``layers`` onto the core array (see the module docstring for the model).

    Args:
        layers: MAC layers in execution order (:class:`LayerShape`).
        mode: ``"pipeline"`` (layer-pipelined, default) or ``"sequential"``.
        n_cores, core_bytes, f_clk_hz: chip size, memory per core (bytes), clock (Hz).
        macs_per_op: MACs per published "operation" (1 by assumption; see :mod:`.params`).
        allow_multipass: if the layers do not fit, schedule several passes with weights
            reloaded from off-chip (needs ``offchip_bytes_per_s``) instead of raising.
        batch: frames per pass in a multi-pass schedule (weights reloaded once per batch).

    Returns:
        :class:`Schedule`.

    Raises:
        ValueError: bad mode, no layers, or a model that does not fit (names the limit).

    Example::

        from spikesim.backends.northpole.resnet50 import resnet50_shapes
        s = schedule(resnet50_shapes(precision="paper"))
        print(s.table()); s.frames_per_s
    """
    if mode not in ("pipeline", "sequential"):
        raise ValueError(f"mode={mode!r}; allowed: 'pipeline', 'sequential'")
    layers = list(layers)
    if not layers:
        raise ValueError("layers is empty: nothing to schedule")
    if not (macs_per_op > 0):
        raise ValueError(f"macs_per_op={macs_per_op!r} must be > 0")
    for l in layers:
        if not isinstance(l, LayerShape):
            raise TypeError(f"layers must hold LayerShape objects; got {type(l).__name__}")
    mem = [l.weight_bytes + l.act_bytes for l in layers]
    mem_cores = [max(1, math.ceil(m / core_bytes)) for m in mem]
    roof = roofline_fps(layers, n_cores, f_clk_hz, macs_per_op)
    total_macs = sum(l.macs for l in layers)
    notes: list[str] = []
    if mode == "sequential":
        total_w = sum(l.weight_bytes for l in layers)
        biggest_act = max(l.act_bytes for l in layers)
        need = math.ceil((total_w + biggest_act) / core_bytes)
        fits = need <= n_cores
        if not fits:
            raise ValueError(f"model needs {need} cores of {core_bytes // 1024} KB for weights "
                             f"({total_w / 2**20:.1f} MB) plus the largest activation buffer "
                             f"> {n_cores} cores on chip")
        rows = []
        cyc = [layer_cycles(l, n_cores, macs_per_op) for l in layers]
        for l, c, m in zip(layers, cyc, mem):
            rows.append(_row(l, m, math.ceil(m / core_bytes), n_cores, c, macs_per_op, n_cores,
                             0.0))
        per_core = (total_w + biggest_act) / n_cores
        return Schedule("sequential", rows, n_cores, n_cores, True, 1, int(per_core),
                        float(sum(cyc)), int(sum(cyc)), f_clk_hz, total_macs, roof, macs_per_op,
                        notes=["all cores work on each layer in turn; weights of every layer "
                               "resident, spread evenly"])
    # pipeline, possibly in several passes
    groups: list[list[int]] = []
    cur: list[int] = []
    for i, k in enumerate(mem_cores):
        if k > n_cores:
            raise ValueError(f"layer {layers[i].name!r} alone needs {k} cores of "
                             f"{core_bytes // 1024} KB ({mem[i] / 2**20:.1f} MB) > {n_cores} "
                             f"cores on chip; it cannot be mapped even in several passes")
        if sum(mem_cores[j] for j in cur) + k > n_cores:
            groups.append(cur)
            cur = []
        cur.append(i)
    groups.append(cur)
    fits = len(groups) == 1
    if not fits and not allow_multipass:
        raise ValueError(f"model does not fit on chip: its layers need {sum(mem_cores)} cores "
                         f"of {core_bytes // 1024} KB for weights and buffers > {n_cores} "
                         f"cores (total {sum(mem) / 2**20:.1f} MB); pass allow_multipass=True "
                         f"with offchip_bytes_per_s to schedule {len(groups)} passes")
    if not fits:
        if not offchip_bytes_per_s or offchip_bytes_per_s <= 0:
            raise ValueError("allow_multipass=True needs offchip_bytes_per_s > 0 (the off-chip "
                             "bandwidth is not a published NorthPole figure; give your own)")
        if batch < 1:
            raise ValueError(f"batch={batch!r} must be >= 1")
        warnings.warn(f"model does not fit on chip ({sum(mem_cores)} > {n_cores} cores): "
                      f"multi-pass schedule with {len(groups)} passes and off-chip weight "
                      f"reloads", RuntimeWarning, stacklevel=2)
    order = _serpentine(P.GRID_ROWS, P.GRID_COLS) if n_cores == P.N_CORES else \
        np.stack([np.arange(n_cores) // P.GRID_COLS, np.arange(n_cores) % P.GRID_COLS], 1)
    rows: list[dict] = [None] * len(layers)  # type: ignore[list-item]
    total_cycles = 0.0
    latency = 0
    offchip = 0.0
    cores_used = 0
    max_core = 0
    noc_bytes = 0
    noc_hops = 0.0
    for g in groups:
        gl = [layers[i] for i in g]
        alloc = _allocate(gl, n_cores, [mem_cores[i] for i in g], macs_per_op)
        cyc = [layer_cycles(l, k, macs_per_op) for l, k in zip(gl, alloc)]
        start = np.cumsum([0] + alloc)
        places = [order[start[j]:start[j + 1]] for j in range(len(gl))]
        for j, i in enumerate(g):
            hops = _mean_hops(places[j], places[j + 1]) if j + 1 < len(gl) else 0.0
            rows[i] = _row(layers[i], mem[i], mem_cores[i], alloc[j], cyc[j], macs_per_op,
                           n_cores, hops)
            max_core = max(max_core, math.ceil(mem[i] / alloc[j]))
            if j + 1 < len(gl):
                noc_bytes += layers[i].out_bytes
                noc_hops += layers[i].out_bytes * hops
        T = max(cyc)
        cores_used = max(cores_used, sum(alloc))
        latency += sum(cyc)
        if fits:
            total_cycles = T
        else:
            wbytes = sum(layers[i].weight_bytes for i in g)
            io = layers[g[0]].n_in * layers[g[0]].a_bits / 8 + layers[g[-1]].out_bytes
            offchip += wbytes / batch + io
            load_cycles = wbytes / offchip_bytes_per_s * f_clk_hz
            total_cycles += (load_cycles + sum(cyc) + (batch - 1) * T) / batch
    if not fits:
        notes.append(f"{len(groups)} passes; weights reloaded once per batch of {batch} frames "
                     f"at {offchip_bytes_per_s:g} B/s")
    return Schedule("pipeline", rows, cores_used, n_cores, fits, len(groups), max_core,
                    float(total_cycles), int(latency), f_clk_hz, total_macs, roof, macs_per_op,
                    offchip_bytes_per_frame=offchip, noc_bytes_per_frame=noc_bytes,
                    noc_byte_hops_per_frame=noc_hops, notes=notes)


def _row(l: LayerShape, mem: int, cores_mem: int, cores: int, cycles: int, macs_per_op: float,
         n_cores: int, hops: float) -> dict[str, Any]:
    mpc = macs_per_cycle(l.bits, macs_per_op)
    return {"name": l.name, "kind": l.kind, "w_bits": l.w_bits, "a_bits": l.a_bits,
            "bits": l.bits, "macs": l.macs, "params": l.params,
            "weight_bytes": l.weight_bytes, "act_bytes": l.act_bytes, "memory_bytes": mem,
            "cores_mem": cores_mem, "cores": cores, "cycles": cycles,
            "roofline_cycles": l.macs / (n_cores * mpc),
            "core_utilisation": l.macs / (cores * cycles * mpc) if cycles else 0.0,
            "out_bytes": l.out_bytes, "mean_hops": hops}
