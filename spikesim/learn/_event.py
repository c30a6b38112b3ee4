"""Plasticity state of the event engine (built by :class:`spikesim.sim.event.EventEngine`
only when some projection has a rule; kernels: ``ev_*`` in :mod:`spikesim.kernels.plasticity`)."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from spikesim.learn._clock import plastic_lists, plastic_projections
from spikesim.learn.rules import RewardSTDP


class EventLearning:
    """Plastic projections of an event engine: rule table, traces (value, time), indices."""

    def __init__(self, eng: Any):
        self.eng = eng
        self.names: list[str] = []
        self.rules: list[Any] = []
        srule = np.full(eng.sidx.size, -1, np.int64)
        rows, rates, rrange = [], [], []
        for name, rule, _, sel, rr in plastic_projections(eng):
            srule[sel] = len(self.names)
            p = rule.trace_params()
            reward = isinstance(rule, RewardSTDP)
            rows.append([1.0 if reward else 0.0, p["a2p"], p["a3p"], p["a2m"], p["a3m"], 0, 0,
                         0, 0, p["nearest"], p["mult"], p["w_min"], p["w_max"], 1.0, 1.0, 0.0,
                         rule.d_tonic if reward else 0.0])
            rates.append([1 / p["tau_r1"], 1 / p["tau_r2"], 1 / p["tau_o1"], 1 / p["tau_o2"],
                          1 / rule.tau_c if reward else 0.0, 1 / rule.tau_d if reward else 0.0])
            rrange.append(rr)
            self.names.append(name)
            self.rules.append(rule)
        R = len(self.names)
        self.R = R
        self.srule = srule
        self.rp = np.array(rows, np.float64).reshape(R, 17)
        self.erate = np.array(rates, np.float64).reshape(R, 6)
        self.rrange = np.array(rrange, np.int64).reshape(R, 4)
        # by postsynaptic neuron, and by slot (a reward brings its slot's synapses to its time)
        (plastic, self.cq, self.cpre, self.crule, self.cptr, self.rsq,
         self.rsptr) = plastic_lists(eng, srule, R)
        self.sw0 = eng.sw.copy()
        self.has_reward = bool(any(isinstance(r, RewardSTDP) for r in self.rules))
        # delayed plastic synapses: their weights at emission travel in a snapshot ring
        # (spikesim.kernels.plasticity.ev_emit), one column per synapse
        delayed = plastic[eng.sdly[plastic] > 0]
        self.dpos = np.full(eng.sidx.size if delayed.size else 0, -1, np.int64)
        self.dpos[delayed] = np.arange(delayed.size)
        self.dlast = np.full(eng.N_pre if delayed.size else 0, -1, np.int64)
        rows_d = np.repeat(np.arange(eng.N_pre), np.diff(eng.indptr))[delayed]
        np.maximum.at(self.dlast, rows_d, delayed)  # the row's longest delay: arrives last
        self.set_rewards({}, 0.0, 0.0)
        self.reset()

    KEYS = ("r1", "r2", "o1", "o2", "tpre", "tpost", "r2prev")
    #: weights in flight on delayed plastic synapses: snapshots per row, arrivals per column,
    #: the ring (its capacity grows during a run)
    DELAY_KEYS = ("dhead", "dread", "ring")
    #: reward state: eligibility and its time per synapse, reward trace and its time per slot
    REWARD_KEYS = ("elig", "tsync", "dopa", "tdopa")

    def reset(self) -> None:
        R, M = self.R, self.eng.N_pre
        for k in self.KEYS:
            setattr(self, k, np.zeros((R, M)))
        nsyn = self.eng.sw.size if self.has_reward else 1
        self.elig, self.tsync = np.zeros(nsyn), np.zeros(nsyn)
        self.dopa, self.tdopa = np.zeros(R), np.zeros(R)
        self.dhead = np.zeros(self.dlast.size, np.int64)
        self.dread = np.zeros(int((self.dpos >= 0).sum()), np.int64)
        self.ring = np.zeros((4, self.dread.size))
        self.dflag = np.zeros(2, np.int64)
        self.eng.sw[:] = self.sw0

    def set_rewards(self, rewards: Mapping[str, Any], t0: float, t1: float) -> None:
        """The reward schedule of a run over ``[t0, t1)``: ``{projection name:
        spikesim.learn.Reward}`` (absolute times, as on the clock engine; rewards outside
        the run are ignored)."""
        from spikesim.learn.monitor import Reward

        ts, rs, amts = [np.zeros(0)], [np.zeros(0, np.int64)], [np.zeros(0)]
        for name, val in rewards.items():
            if not isinstance(val, Reward):
                raise TypeError(f"inputs[{name!r}]: the event engine takes a reward signal as "
                                f"spikesim.learn.Reward(times, amounts) (it has no time steps "
                                f"for a per-step array), got {type(val).__name__}")
            m = (val.times >= t0) & (val.times < t1)
            ts.append(val.times[m])
            rs.append(np.full(int(m.sum()), self.names.index(name), np.int64))
            amts.append(val.amounts[m])
        t, r, a = np.concatenate(ts), np.concatenate(rs), np.concatenate(amts)
        order = np.lexsort((r, t))
        self.rew_t, self.rew_r, self.rew_a = t[order], r[order], a[order]
        self.rptr = np.zeros(1, np.int64)

    def get_state(self) -> dict[str, np.ndarray]:
        st = {f"learn_{k}": getattr(self, k).copy()
              for k in self.KEYS + self.REWARD_KEYS + self.DELAY_KEYS}
        st["learn_sw"] = self.eng.sw.copy()
        return st

    def set_state(self, st: Mapping[str, np.ndarray]) -> None:
        for k in self.KEYS + self.REWARD_KEYS + self.DELAY_KEYS + ("sw",):
            key = f"learn_{k}"
            if key not in st and (k in self.REWARD_KEYS and not self.has_reward
                                  or k in self.DELAY_KEYS and not self.dread.size):
                continue  # a state saved before reward rules or delays ran on this engine
            if key not in st:
                raise ValueError(f"state: missing {key!r} (state saved without plasticity?)")
            tgt = self.eng.sw if k == "sw" else getattr(self, k)
            arr = np.asarray(st[key])
            if k == "ring" and arr.ndim == 2 and arr.shape[1] == tgt.shape[1] and arr.shape[0]:
                self.ring = arr.astype(np.float64).copy()  # any capacity
                continue
            if arr.shape != tgt.shape:
                raise ValueError(f"state[{key!r}]: shape {arr.shape} != {tgt.shape}")
            tgt[...] = arr

    def plas(self) -> tuple:
        return (self.srule, self.cptr, self.cq, self.cpre, self.crule, self.rp, self.erate,
                self.rrange, self.r1, self.r2, self.o1, self.o2, self.tpre, self.tpost,
                self.r2prev, self.elig, self.tsync, self.dopa, self.tdopa, self.rew_t,
                self.rew_r, self.rew_a, self.rptr, self.rsptr, self.rsq)

    def delays(self) -> tuple:
        return (self.dpos, self.dlast, self.dhead, self.dread, self.ring, self.dflag)


def dummy_plas() -> tuple:
    """Empty plasticity arguments for runs without rules (same types, nothing to do)."""
    z2 = np.zeros((0, 1))
    return (np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64),
            np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 17)), np.zeros((0, 6)),
            np.zeros((0, 4), np.int64), z2, z2, z2, z2, z2, z2, z2, np.zeros(1), np.zeros(1),
            np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, np.int64), np.zeros(0),
            np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64))


def dummy_delays() -> tuple:
    """Empty arguments for the weights in flight of runs without delayed plastic synapses."""
    z = np.zeros(0, np.int64)
    return z, z, z, z, np.zeros((1, 0)), np.zeros(2, np.int64)


