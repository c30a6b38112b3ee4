"""The TrueNorth neurosynaptic core: neuron parameters, validation, packing, and
:func:`run_core`, which runs one core tick by tick on given axon inputs.

The neuron is the one of Cassidy et al. (IJCNN 2013) as written in
``shared/reference/hardware.md`` section 1.2. Per tick t and neuron j:

1. synaptic integration: ``V += sum_i A_i(t) w_ij [(1-b) s_j^{G_i} + b F(s_j^{G_i}, rho)]``;
2. leak with leak reversal: ``Omega = (1-eps) + eps sgn(V)``,
   ``V += Omega [(1-c) lambda + c F(lambda, rho)]``;
3. threshold ``alpha + eta`` with ``eta = rho & M``: if ``V >= alpha + eta`` spike and reset
   (gamma 0: ``V = R``; 1: ``V -= alpha + eta``; 2: keep V); else if
   ``V < -(beta kappa + (beta + eta)(1 - kappa))``: kappa 1: ``V = -beta``; kappa 0 with
   gamma 0: ``V = -R``, 1: ``V += beta + eta``, 2: keep V.

``F(s, rho) = sgn(s)`` if ``|s| >= rho`` else 0, with a fresh 8-bit rho per use.

Integer state and saturation: V is a signed 20-bit register (params.V_BITS). The synaptic sum of
one tick is accumulated exactly, then V saturates to [V_MIN, V_MAX] after integration, after
the leak and after fire/reset; each clipping is counted (``saturations``). Register widths are
``[RECALL]`` (see :mod:`.params`).

PRNG: counter based (see ``_kernels.py``): each draw is MurmurHash3's fmix32 of a counter naming
the (core key, tick, synapse / leak / threshold, axon, neuron), the core key from
splitmix64(seed, core). rho for F is the top 8 bits of a draw, eta is ``draw & M``.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from . import params as P

_INT_FIELDS = {
    # name: (min, max, description)
    "leak": (P.LEAK_MIN, P.LEAK_MAX, "leak lambda (9-bit signed)"),
    "alpha": (0, P.THRESHOLD_MAX, "positive threshold alpha (18-bit unsigned)"),
    "beta": (0, P.THRESHOLD_MAX, "negative threshold magnitude beta (18-bit unsigned)"),
    "mask_bits": (0, P.MASK_BITS_MAX, "threshold mask width TM, M = 2**TM - 1"),
    "reset": (-P.V_MAX, P.V_MAX, "reset value R (20-bit signed)"),
    "gamma": (0, 2, "reset mode gamma"),
    "v_init": (P.V_MIN, P.V_MAX, "initial membrane potential (20-bit signed)"),
    "target_core": (-1, 2 ** 31 - 1, "target core (-1: no target)"),
    "target_axon": (0, P.AXONS_PER_CORE - 1, "target axon"),
}
_BOOL_FIELDS = ("stochastic_leak", "leak_reversal", "kappa")


@dataclass(frozen=True)
class NeuronParams:
    """Per-neuron parameters of one core (arrays of length n <= 256, scalars broadcast).

    Attributes (integers; widths in :mod:`.params`):
        weights: s_j^G, int [n, 4], -255..255.
        stochastic_synapse: b_j^G, bool [n, 4].
        leak: lambda_j, -255..255 (added per tick).   stochastic_leak: c_j.
        leak_reversal: epsilon_j (leak pushes V towards 0).
        alpha: positive threshold (0..2**18-1).   beta: negative threshold magnitude.
        mask_bits: TM, threshold mask M = 2**TM - 1 (0: deterministic threshold).
        reset: R.   gamma: 0 normal, 1 linear, 2 non-reset.   kappa: 1 saturate at -beta.
        v_init: initial V.
        target_core, target_axon, delay: where spikes go (chip runs only; -1: nowhere);
            delay in ticks, 1..15.

    Example::

        p = NeuronParams(weights=np.tile([1, -1, 0, 0], (256, 1)), alpha=10, gamma=1)
    """

    weights: Any = 0
    stochastic_synapse: Any = False
    leak: Any = 0
    stochastic_leak: Any = False
    leak_reversal: Any = False
    alpha: Any = 1
    beta: Any = 0
    mask_bits: Any = 0
    reset: Any = 0
    gamma: Any = 0
    kappa: Any = False
    v_init: Any = 0
    target_core: Any = -1
    target_axon: Any = 0
    delay: Any = 1

    def arrays(self, n: int = P.NEURONS_PER_CORE) -> dict[str, np.ndarray]:
        """Validated arrays broadcast to ``n`` neurons (ValueError names field, value, limit)."""
        if not 1 <= n <= P.NEURONS_PER_CORE:
            raise ValueError(f"n={n}: a core has 1..{P.NEURONS_PER_CORE} neurons")
        out: dict[str, np.ndarray] = {}
        for f in fields(self):
            val = np.asarray(getattr(self, f.name))
            shape = (n, P.N_AXON_TYPES) if f.name in ("weights", "stochastic_synapse") else (n,)
            try:
                arr = np.broadcast_to(val, shape)
            except ValueError:
                raise ValueError(f"NeuronParams.{f.name}: shape {val.shape} cannot broadcast "
                                 f"to {shape}") from None
            if f.name in _BOOL_FIELDS or f.name == "stochastic_synapse":
                if not np.all((arr == 0) | (arr == 1)):
                    raise ValueError(f"NeuronParams.{f.name}: values must be 0/1 (bool), got "
                                     f"{np.unique(arr)[:5]}")
                out[f.name] = arr.astype(np.int32)
                continue
            if not np.issubdtype(arr.dtype, np.integer) and not np.all(arr == np.round(arr)):
                bad = arr[arr != np.round(arr)].ravel()[0]
                raise ValueError(f"NeuronParams.{f.name}: value {bad} is not an integer; "
                                 "TrueNorth parameters are integers")
            arr = arr.astype(np.int64)
            if f.name == "weights":
                lo, hi, what = P.WEIGHT_MIN, P.WEIGHT_MAX, "synaptic type weight s_j^G (9-bit signed)"
            elif f.name == "delay":
                lo, hi, what = P.DELAY_MIN, P.DELAY_MAX, "axonal delay in ticks"
            else:
                lo, hi, what = _INT_FIELDS[f.name]
            if arr.size and (arr.min() < lo or arr.max() > hi):
                bad = arr.min() if arr.min() < lo else arr.max()
                raise ValueError(f"NeuronParams.{f.name}: value {int(bad)} is outside the "
                                 f"{what} range {lo}..{hi}")
            out[f.name] = arr.astype(np.int32)
        return out


def check_crossbar(crossbar: Any, name: str = "crossbar") -> np.ndarray:
    """A bool [256, 256] (axon, neuron) crossbar; ValueError on bad shape or values."""
    xb = np.asarray(crossbar)
    if xb.shape != (P.AXONS_PER_CORE, P.NEURONS_PER_CORE):
        raise ValueError(f"{name}: shape {xb.shape}, expected ({P.AXONS_PER_CORE}, "
                         f"{P.NEURONS_PER_CORE}) (axons, neurons)")
    if not np.all((xb == 0) | (xb == 1)):
        raise ValueError(f"{name}: the TrueNorth crossbar is binary; got values "
                         f"{np.unique(xb)[:5]}")
    return xb.astype(bool)


def check_axon_types(axon_types: Any, name: str = "axon_types") -> np.ndarray:
    at = np.asarray(axon_types)
    if at.shape != (P.AXONS_PER_CORE,):
        raise ValueError(f"{name}: shape {at.shape}, expected ({P.AXONS_PER_CORE},)")
    if at.size and (at.min() < 0 or at.max() >= P.N_AXON_TYPES):
        bad = at.min() if at.min() < 0 else at.max()
        raise ValueError(f"{name}: axon type {bad} outside 0..{P.N_AXON_TYPES - 1}")
    return at.astype(np.int8)


def pack_bits(xb: np.ndarray) -> np.ndarray:
    """bool [..., 256] -> uint64 [..., 4] (bit j % 64 of word j // 64)."""
    b = np.asarray(xb, dtype=np.uint64).reshape(*xb.shape[:-1], 4, 64)
    return (b << np.arange(64, dtype=np.uint64)).sum(axis=-1, dtype=np.uint64)


def splitmix_seeds(seed: int, n: int) -> np.ndarray:
    """n uint32 PRNG keys (one per core) from splitmix64(seed, index)."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: {seed!r} must be a non-negative integer")
    mask = (1 << 64) - 1
    out = np.empty(n, dtype=np.uint32)
    for i in range(n):
        z = (int(seed) * 0x9E3779B97F4A7C15 + (i + 1) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        s = z & 0xFFFFFFFF
        out[i] = s if s != 0 else 0x9E3779B9
    return out


@dataclass
class CoreArrays:
    """Kernel arrays of C cores (layout documented in ``_kernels.py``)."""

    xbar: np.ndarray
    atype: np.ndarray
    wdet: np.ndarray
    wsto: np.ndarray
    widx: np.ndarray
    smask: np.ndarray
    nzmask: np.ndarray
    has_sto: np.ndarray
    pidx: np.ndarray
    ptab: np.ndarray
    route: np.ndarray
    v_init: np.ndarray
    ucore: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.ucore is None:
            self.ucore = uniform_rows(self.pidx)

    @property
    def n_cores(self) -> int:
        return int(self.xbar.shape[0])

    def kernel_args(self) -> tuple:
        """The tick kernel's arrays (layout in ``_kernels.py``): the stored ones plus tables
        derived once per run (int32 weights, |s| and sgn(s) of the stochastic part, which
        type parts are nonzero, the crossbar as uint32 words)."""
        wdet = np.ascontiguousarray(self.wdet, dtype=np.int32)
        wsto = np.asarray(self.wsto, dtype=np.int32)
        sabs = np.ascontiguousarray(np.abs(wsto), dtype=np.int32)
        ssgn = np.ascontiguousarray(np.sign(wsto), dtype=np.int32)
        tnz = np.stack([(wdet != 0).any(axis=2), (wsto != 0).any(axis=2)], axis=2).astype(np.uint8)
        xbar = aligned_copy(self.xbar, np.uint64)  # a 32-byte row never straddles 2 lines
        xb32 = xbar.view(np.uint32)
        if sys.byteorder != "little":  # pragma: no cover - the uint32 view assumes it
            raise RuntimeError("the TrueNorth kernels need a little-endian machine")
        return (xbar, xb32, aligned_copy(self.atype, np.int8), wdet, sabs, ssgn, self.widx, tnz,
                np.ascontiguousarray(self.nzmask), self.pidx, self.ptab, self.ucore)


def aligned_copy(a: np.ndarray, dtype, align: int = 64) -> np.ndarray:
    """A C-contiguous copy of ``a`` whose data starts on an ``align``-byte boundary (a cache
    line), so that small rows never straddle two lines."""
    a = np.asarray(a)
    nbytes = a.size * np.dtype(dtype).itemsize
    raw = np.empty(nbytes + align, np.uint8)
    off = (-raw.ctypes.data) % align
    out = raw[off:off + nbytes].view(dtype).reshape(a.shape)
    out[...] = a
    return out


def uniform_rows(pidx: np.ndarray) -> np.ndarray:
    """int32 [C]: the parameter row shared by every neuron of a core, or -1."""
    p = np.asarray(pidx)
    same = (p == p[:, :1]).all(axis=1)
    return np.where(same, p[:, 0].astype(np.int64), -1).astype(np.int32)


def neuron_table(neuron_arrays: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Deduplicated parameter table ``ptab`` [K, NP] and per-neuron rows ``pidx`` [C, 256]."""
    from . import _kernels as K

    C = len(neuron_arrays)
    full = np.zeros((C, 256, K.NP), dtype=np.int32)
    for c, a in enumerate(neuron_arrays):
        full[c, :, K.P_LEAK] = a["leak"]
        full[c, :, K.P_CLEAK] = a["stochastic_leak"]
        full[c, :, K.P_EPS] = a["leak_reversal"]
        full[c, :, K.P_ALPHA] = a["alpha"]
        full[c, :, K.P_BETA] = a["beta"]
        full[c, :, K.P_MASK] = (1 << a["mask_bits"].astype(np.int64)) - 1
        full[c, :, K.P_RESET] = a["reset"]
        full[c, :, K.P_GAMMA] = a["gamma"]
        full[c, :, K.P_KAPPA] = a["kappa"]
    ptab, inv = np.unique(full.reshape(-1, K.NP), axis=0, return_inverse=True)
    return np.ascontiguousarray(ptab, np.int32), inv.reshape(C, 256).astype(np.int32)


def pack_cores(crossbars: np.ndarray, axon_types: np.ndarray, neuron_arrays: list[dict],
               validate: bool = True) -> CoreArrays:
    """Pack C cores: crossbars bool [C,256,256], axon_types int [C,256], and one
    :meth:`NeuronParams.arrays` dict per core."""
    C = len(neuron_arrays)
    if validate:
        for c in range(C):
            check_crossbar(crossbars[c], f"crossbars[{c}]")
            check_axon_types(axon_types[c], f"axon_types[{c}]")
    xbar = pack_bits(np.asarray(crossbars, dtype=bool))
    atype = np.ascontiguousarray(axon_types, dtype=np.int8)
    W = np.stack([a["weights"] for a in neuron_arrays]).astype(np.int32)  # [C, 256, 4]
    B = np.stack([a["stochastic_synapse"] for a in neuron_arrays]).astype(bool)
    W = np.ascontiguousarray(W.transpose(0, 2, 1))
    B = np.ascontiguousarray(B.transpose(0, 2, 1))
    wboth = np.concatenate([np.where(B, 0, W), np.where(B, W, 0)], axis=1).astype(np.int16)
    wtab, widx = np.unique(wboth.reshape(C, -1), axis=0, return_inverse=True)
    wtab = wtab.reshape(-1, 2 * P.N_AXON_TYPES, P.NEURONS_PER_CORE)
    wdet = np.ascontiguousarray(wtab[:, :P.N_AXON_TYPES])
    wsto = np.ascontiguousarray(wtab[:, P.N_AXON_TYPES:])
    widx = widx.reshape(-1).astype(np.int32)
    smask = pack_bits(B)
    nzmask = pack_bits(W != 0)
    has_sto = B.reshape(C, -1).any(axis=1).astype(np.uint8)
    ptab, pidx = neuron_table(neuron_arrays)
    pidx = pidx.astype(np.uint16 if ptab.shape[0] <= 65536 else np.int32)
    route = np.zeros((C, 256, 3), dtype=np.int32)
    for c, a in enumerate(neuron_arrays):
        route[c, :, 0] = a["target_core"]
        route[c, :, 1] = a["target_axon"]
        route[c, :, 2] = a["delay"]
    v_init = np.stack([a["v_init"] for a in neuron_arrays]).astype(np.int32)
    return CoreArrays(xbar, atype, wdet, wsto, widx, smask, nzmask, has_sto, pidx, ptab, route,
                      v_init)


def run_core(crossbar: Any, axon_types: Any, neuron_params: NeuronParams, axon_inputs: Any,
             seed: int = 0, return_counts: bool = False):
    """Run one TrueNorth core tick by tick (1 tick = 1 ms) on given axon inputs.

    Args:
        crossbar: bool [256, 256], ``crossbar[i, j]`` = synapse from axon i to neuron j.
        axon_types: int [256], type G_i in 0..3 of each axon.
        neuron_params: :class:`NeuronParams` (targets and delays are ignored here).
        axon_inputs: 0/1 [T, 256], ``axon_inputs[t, i] = A_i(t)``.
        seed: seed of the core's PRNG (only used by stochastic modes).

    Returns:
        ``(spikes, v)``: uint8 [T, 256] spikes and int32 [T, 256] membrane potentials at the
        end of each tick (after reset). With ``return_counts=True`` a third element, a dict
        with spikes, synops (connected synapses with nonzero weight on active axons),
        axon_events, saturations and negative_threshold_events.

    Example::

        xb = np.zeros((256, 256), bool); xb[0, 0] = True
        p = NeuronParams(weights=[[3, 0, 0, 0]], alpha=5, gamma=0)
        A = np.zeros((4, 256), np.uint8); A[:, 0] = 1
        spikes, v = run_core(xb, np.zeros(256, int), p, A)
        v[:, 0]        # [3, 0, 3, 0]: 3, 6 >= 5 fires and resets to 0, ...
    """
    from . import _kernels as K

    xb = check_crossbar(crossbar)
    at = check_axon_types(axon_types)
    if not isinstance(neuron_params, NeuronParams):
        raise TypeError(f"neuron_params: expected NeuronParams, got {type(neuron_params).__name__}")
    A = np.asarray(axon_inputs)
    if A.ndim != 2 or A.shape[1] != P.AXONS_PER_CORE:
        raise ValueError(f"axon_inputs: shape {A.shape}, expected (T, {P.AXONS_PER_CORE})")
    if not np.all((A == 0) | (A == 1)):
        raise ValueError("axon_inputs: values must be 0/1 spikes")
    arrs = pack_cores(xb[None], at[None], [neuron_params.arrays()], validate=False)
    T = A.shape[0]
    V = arrs.v_init.copy()
    rkey = splitmix_seeds(seed, 1)
    spikes = np.zeros((T, 256), dtype=np.uint8)
    vrec = np.zeros((T, 256), dtype=np.int32)
    cnt = np.zeros((1, K.NC), dtype=np.int64)
    K._run_core(T, np.ascontiguousarray(A, dtype=np.uint8), V, *arrs.kernel_args(), rkey, spikes,
                vrec, cnt)
    if not return_counts:
        return spikes, vrec
    counts = {"spikes": int(cnt[0, K.C_SPIKES]), "synops": int(cnt[0, K.C_SYNOPS]),
              "axon_events": int(cnt[0, K.C_AXON_EVENTS]), "saturations": int(cnt[0, K.C_SAT]),
              "negative_threshold_events": int(cnt[0, K.C_NEG])}
    return spikes, vrec, counts
