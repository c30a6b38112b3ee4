"""Event vs clock engine: sparse activity, equal accuracy, and CUBA cost per synaptic event.

Three modes (``spikesim bench sparse [--accuracy | --cuba]``):

* default: N = 100,000 ``LIF`` neurons (tau 20 ms, v_leak 0, threshold 1, reset 0, refractory
  2 ms), Bernoulli recurrent connections with mean in-degree 100 (weight 0.05, delay 1.5 ms)
  and one input channel per neuron (one-to-one, weight 1: every input spike outside the
  refractory period fires its neuron). One Poisson train per neuron is generated once per
  target rate (0.1, 0.3, 1, 3 Hz) and given as ``SpikeTimes`` to both engines (generation
  excluded from ``run_s``); the clock engine runs at dt = 0.1 ms. ``crossover_hz`` is the
  rate at which the two run times are equal (log-log interpolation; extrapolated linearly in
  rate, and flagged, when the event engine is faster at every measured rate).
* ``--accuracy``: a feed-forward ``CubaLIF`` layer with CUBA's parameters (ports exc 5 ms /
  inh 10 ms, tau_mem 20 ms, El -49 mV > Vt -50 mV, refractory 5 ms) driven by Poisson input
  at CUBA's level (80 % excitatory channels with we = 1.62 mV, 20 % inhibitory with
  wi = -9 mV, p = 0.02). The event engine's spikes are the reference; the clock engine runs at
  decreasing dt until its mean spike-time error is at most 1 us. Reports
  ``clock_dt_for_1us_s`` and ``speedup_equal_accuracy`` (clock run time at that dt / event
  run time).
* ``--cuba``: Brian2's CUBA (``spikesim.models.cuba``) on both engines over several seeds;
  fields as ``spikesim bench cuba`` (``ns_per_syn_event = 1e9 * run_s / syn_events``).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from spikesim import ir
from spikesim.benchmarks import common
from spikesim.sim import Simulator, SpikeTimes

DESCRIPTION = "event vs clock engine: sparse-activity speed, equal-accuracy speed-up, CUBA ns/event"

RATES_HZ = (0.1, 0.3, 1.0, 3.0)


# ----------------------------------------------------------------------------- sparse
def sparse_network(n: int, in_degree: float = 100.0, delay: float = 1.5e-3, seed: int = 0,
                   weight: float = 0.05) -> ir.Network:
    """The sparse benchmark network (see the module docstring)."""
    b = ir.NetworkBuilder(seed)
    b.input("drive", n)
    b.population("P", ir.LIF(n, tau=20e-3, v_leak=0.0, v_threshold=1.0, v_reset=0.0,
                             refractory=2e-3))
    b.connect("drive", "P", rule="one_to_one", weight=1.0, delay=0.0, name="in")
    b.connect("P", "P", p=min(1.0, in_degree / n), weight=weight, delay=delay, name="rec")
    return b.build()


def poisson_train(n: int, rate: float, duration: float, seed: int) -> SpikeTimes:
    """One Poisson train per channel, exact continuous times (drawn once, shared)."""
    rng = np.random.default_rng(seed)
    cnt = rng.poisson(rate * duration, size=n)
    idx = np.repeat(np.arange(n), cnt)
    return SpikeTimes(times=rng.uniform(0.0, duration, idx.size), indices=idx)


def _crossover(rates, ev, cl):
    r = np.log(np.asarray(rates))
    d = np.log(np.asarray(ev)) - np.log(np.asarray(cl))
    for k in range(len(r) - 1):
        if d[k] <= 0 < d[k + 1]:
            f = -d[k] / (d[k + 1] - d[k])
            return float(np.exp(r[k] + f * (r[k + 1] - r[k]))), False
    if d[-1] <= 0:
        # event engine faster everywhere: its cost grows ~linearly with the rate
        return float(rates[-1] * cl[-1] / ev[-1]), True
    return float(rates[0] * cl[0] / ev[0]), True


def run_sparse(n: int, duration: float, dt: float, seed: int, rates=RATES_HZ,
               progress: bool = False, repeats: int = 1) -> dict:
    """Both engines at each rate; each run repeated ``repeats`` times from a reset, minimum
    wall and CPU times kept (the same for both engines)."""
    with common.Timer() as tb:
        net = sparse_network(n, seed=seed)
    out = {"neurons": n, "duration_s": duration, "clock_dt_s": dt, "in_degree": 100,
           "delay_s": 1.5e-3, "rates_hz": list(rates), "measured_rates_hz": [],
           "clock_measured_rates_hz": [], "clock_run_s": [], "event_run_s": [],
           "event_syn_events": [], "event_cpu_s": [], "clock_cpu_s": [], "clock_jit_s": 0.0,
           "event_jit_s": 0.0,
           "build_s": tb.s}
    for k, rate in enumerate(rates):
        st = poisson_train(n, rate, duration, seed + 1000 + k)
        walls = {}
        for engine in ("event", "clock"):
            kw = {"dt": dt} if engine == "clock" else {}
            sim = Simulator(net, engine=engine, rng=seed, **kw)
            sim.run(0.0, progress=False)  # JIT / cache load outside the CPU-time measurement
            ws, cs = [], []
            for _ in range(repeats):
                sim.reset()
                c0 = time.process_time()
                res = sim.run(duration, inputs={"drive": st}, progress=progress)
                cs.append(time.process_time() - c0)
                ws.append(res.run_s)
            out[f"{engine}_cpu_s"].append(min(cs))
            walls[engine] = min(ws)
            if engine == "event":
                r_ev = res
            else:
                r_cl = res
            del sim
        out["measured_rates_hz"].append(r_ev.rate("P"))
        out["clock_measured_rates_hz"].append(r_cl.rate("P"))
        out["event_run_s"].append(walls["event"])
        out["clock_run_s"].append(walls["clock"])
        out["event_syn_events"].append(r_ev.counts.synops)
        out["event_jit_s"] = max(out["event_jit_s"], r_ev.jit_s)
        out["clock_jit_s"] = max(out["clock_jit_s"], r_cl.jit_s)
    out["speedup"] = [c / e for c, e in zip(out["clock_run_s"], out["event_run_s"])]
    out["speedup_cpu"] = [c / e for c, e in zip(out["clock_cpu_s"], out["event_cpu_s"])]
    out["crossover_hz"], out["crossover_extrapolated"] = _crossover(
        rates, out["event_run_s"], out["clock_run_s"])
    return out


# ----------------------------------------------------------------------------- accuracy
def accuracy_network(n_in: int, n: int, seed: int) -> ir.Network:
    """Feed-forward CubaLIF layer with CUBA parameters and CUBA-level input."""
    mV, ms = 1e-3, 1e-3
    rng = np.random.default_rng(seed)
    b = ir.NetworkBuilder(rng)
    ne = int(0.8 * n_in)
    b.input("exc", ne)
    b.input("inh", n_in - ne)
    b.population("L", ir.CubaLIF(n, tau_mem=20 * ms, tau_syn=(5 * ms, 10 * ms),
                                 ports=("exc", "inh"), v_leak=-49 * mV, v_threshold=-50 * mV,
                                 v_reset=-60 * mV, refractory=5 * ms,
                                 v_init=rng.uniform(-60 * mV, -50 * mV, n)))
    b.connect("exc", "L", p=0.02, weight=60 * 0.27 / 10 * mV, port="exc")
    b.connect("inh", "L", p=0.02, weight=-20 * 4.5 / 10 * mV, port="inh")
    return b.build()


def spike_time_error(ref, other) -> tuple[float, float]:
    """Mean |t_ref - nearest spike of the same neuron in ``other``| over reference spikes,
    and the fraction of neurons whose spike counts differ."""
    errs = []
    n = ref.n
    diff = 0
    for i in range(n):
        a = ref.t[ref.i == i]
        b = np.sort(other.t[other.i == i])
        if a.size != b.size:
            diff += 1
        if not a.size:
            continue
        if not b.size:
            errs.extend([np.inf] * a.size)
            continue
        k = np.clip(np.searchsorted(b, a), 1, b.size - 1) if b.size > 1 else np.zeros(a.size, int)
        e = np.abs(b[k] - a)
        if b.size > 1:
            e = np.minimum(e, np.abs(b[k - 1] - a))
        errs.extend(e.tolist())
    return (float(np.mean(errs)) if errs else 0.0), diff / max(n, 1)


def run_accuracy(n_in: int, n: int, duration: float, rate: float, seed: int, dts,
                 progress: bool = False) -> dict:
    net = accuracy_network(n_in, n, seed)
    rng = np.random.default_rng(seed + 1)
    inputs = {}
    for name in ("exc", "inh"):
        m = net[name].n
        cnt = rng.poisson(rate * duration, size=m)
        idx = np.repeat(np.arange(m), cnt)
        inputs[name] = SpikeTimes(times=rng.uniform(0, duration, idx.size), indices=idx)
    ev = Simulator(net, engine="event", rng=seed)
    jit_s = ev.run(0.0, progress=False).jit_s  # compile / cache load
    c0 = time.process_time()
    r_ev = ev.run(duration, inputs=inputs, progress=progress)
    ev_cpu = time.process_time() - c0
    out = {"inputs": n_in, "neurons": n, "duration_s": duration, "input_rate_hz": rate,
           "event_run_s": r_ev.run_s, "event_cpu_s": ev_cpu, "event_jit_s": jit_s,
           "clock_cpu_s": [], "event_spikes": len(r_ev.spikes["L"]),
           "event_rate_hz": r_ev.rate("L"), "clock_dt_s": [], "clock_run_s": [],
           "clock_mean_error_s": [], "clock_count_mismatch_fraction": []}
    for dt in dts:
        steps = int(round(duration / dt))
        cl = Simulator(net, engine="clock", dt=dt, rng=seed)
        cl.run(0.0, progress=False)
        c0 = time.process_time()
        r_cl = cl.run(steps * dt, inputs=inputs, progress=progress)
        out["clock_cpu_s"].append(time.process_time() - c0)
        err, mis = spike_time_error(r_ev.spikes["L"], r_cl.spikes["L"])
        out["clock_dt_s"].append(dt)
        out["clock_run_s"].append(r_cl.run_s)
        out["clock_mean_error_s"].append(err)
        out["clock_count_mismatch_fraction"].append(mis)
        if err <= 1e-6:
            break
    ok = [k for k, e in enumerate(out["clock_mean_error_s"]) if e <= 1e-6]
    if ok:
        k = ok[0]
        out["clock_dt_for_1us_s"] = out["clock_dt_s"][k]
        out["speedup_equal_accuracy"] = out["clock_run_s"][k] / out["event_run_s"]
        out["speedup_equal_accuracy_cpu"] = out["clock_cpu_s"][k] / out["event_cpu_s"]
    else:
        out["clock_dt_for_1us_s"] = None
        out["speedup_equal_accuracy"] = None
        out["speedup_equal_accuracy_cpu"] = None
    return out


# ----------------------------------------------------------------------------- cuba
def run_cuba(n: int, duration: float, seeds, dt: float, progress: bool = False,
             repeats: int = 1) -> dict:
    """Both engines on CUBA for each seed; each run is repeated ``repeats`` times from a reset
    and the minimum wall and CPU times are kept (the spikes are identical across repeats)."""
    from spikesim.models import cuba

    rows = []
    for seed in seeds:
        net = cuba(n, rng=seed)
        for engine in ("event", "clock"):
            kw = {"dt": dt} if engine == "clock" else {}
            sim = Simulator(net, engine=engine, rng=seed, **kw)
            jit = sim.run(0.0, progress=False).jit_s  # compile / cache load
            walls, cpus, loads = [], [], []
            for _ in range(repeats):
                sim.reset()
                loads.append(os.getloadavg()[0])
                c0 = time.process_time()
                r = sim.run(duration, progress=progress)
                cpus.append(time.process_time() - c0)
                walls.append(r.run_s)
            cpu, run_s = min(cpus), min(walls)
            syn = r.counts.synops
            rows.append({"seed": seed, "neurons": n, "duration_s": duration, "engine": engine,
                         "spikes": len(r.spikes["P"]), "rate_hz": r.rate("P"),
                         "syn_events": syn, "run_s": run_s, "jit_s": jit,
                         "run_s_all": walls, "run_cpu_s_all": cpus, "load_1min_all": loads,
                         "ns_per_syn_event": 1e9 * run_s / max(syn, 1), "run_cpu_s": cpu,
                         "ns_per_syn_event_cpu": 1e9 * cpu / max(syn, 1),
                         **({"exact_solves": r.counts.meta.get("exact_solves"),
                             "wakeups": r.counts.meta.get("wakeups")} if engine == "event" else
                            {"dt_s": dt})})
    ev = [r for r in rows if r["engine"] == "event"]
    cl = [r for r in rows if r["engine"] == "clock"]
    rate_ev = float(np.mean([r["rate_hz"] for r in ev]))
    rate_cl = float(np.mean([r["rate_hz"] for r in cl]))
    return {"neurons": n, "duration_s": duration, "engine": "event", "seeds": list(seeds),
            "spikes": int(np.mean([r["spikes"] for r in ev])), "rate_hz": rate_ev,
            "syn_events": int(np.mean([r["syn_events"] for r in ev])),
            "run_s": float(np.mean([r["run_s"] for r in ev])),
            "jit_s": float(max(r["jit_s"] for r in ev)),
            "ns_per_syn_event": float(np.mean([r["ns_per_syn_event"] for r in ev])),
            "run_cpu_s": float(np.mean([r["run_cpu_s"] for r in ev])),
            "ns_per_syn_event_cpu": float(np.mean([r["ns_per_syn_event_cpu"] for r in ev])),
            "clock_rate_hz": rate_cl, "clock_dt_s": dt,
            "clock_ns_per_syn_event": float(np.mean([r["ns_per_syn_event"] for r in cl])),
            "rate_rel_diff": abs(rate_ev - rate_cl) / rate_cl, "runs": rows}


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="spikesim bench sparse", description=DESCRIPTION)
    ap.add_argument("--accuracy", action="store_true", help="equal-accuracy comparison")
    ap.add_argument("--cuba", action="store_true", help="CUBA ns per synaptic event, both engines")
    ap.add_argument("--neurons", type=int, default=None,
                    help="neurons (default 100000 sparse, 1000 accuracy, 4000 cuba)")
    ap.add_argument("--inputs", type=int, default=4000, help="input channels (--accuracy)")
    ap.add_argument("--duration", type=float, default=None,
                    help="simulated seconds (default 2 sparse, 0.5 accuracy, 5 cuba)")
    ap.add_argument("--dt", type=float, default=1e-4, help="clock engine dt in s (sparse, cuba)")
    ap.add_argument("--rates", type=float, nargs="+", default=list(RATES_HZ),
                    help="target rates in Hz (sparse)")
    ap.add_argument("--input-rate", type=float, default=5.0, help="input rate in Hz (--accuracy)")
    ap.add_argument("--dts", type=float, nargs="+",
                    default=[1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 5e-7, 3e-7, 2e-7],
                    help="clock dts tried in order (--accuracy)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="seeds (--cuba)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=1,
                    help="runs per engine (and seed or rate), minimum time kept (sparse, --cuba)")
    ap.add_argument("--json", default=None, help="write results to this JSON file")
    ap.add_argument("--progress", action="store_true", help="show progress bars")
    a = ap.parse_args(argv)
    if a.repeats < 1:
        ap.error(f"--repeats: need at least 1, got {a.repeats}")
    t0 = time.perf_counter()
    if a.accuracy:
        res = run_accuracy(a.inputs, a.neurons or 1000, a.duration or 0.5, a.input_rate, a.seed,
                           a.dts, a.progress)
        rows = [[dt, e * 1e6, m, rs] for dt, e, m, rs in zip(
            res["clock_dt_s"], res["clock_mean_error_s"], res["clock_count_mismatch_fraction"],
            res["clock_run_s"])]
        common.print_table(rows, ["clock dt (s)", "mean err (us)", "count mismatch", "clock run_s"])
        print(f"event run_s {res['event_run_s']:.3f} ({res['event_spikes']} spikes); clock dt "
              f"for <= 1 us: {res['clock_dt_for_1us_s']}; speed-up at equal accuracy: "
              f"{res['speedup_equal_accuracy']}")
        res["mode"] = "accuracy"
    elif a.cuba:
        res = run_cuba(a.neurons or 4000, a.duration or 5.0, a.seeds, a.dt, a.progress,
                       a.repeats)
        rows = [[r["seed"], r["engine"], r["rate_hz"], r["syn_events"], r["run_s"],
                 r["ns_per_syn_event"], r["ns_per_syn_event_cpu"]] for r in res["runs"]]
        common.print_table(rows, ["seed", "engine", "rate_hz", "syn_events", "run_s", "ns/syn",
                                  "ns/syn (cpu)"])
        print(f"event {res['rate_hz']:.3f} Hz vs clock {res['clock_rate_hz']:.3f} Hz "
              f"(rel. diff {res['rate_rel_diff']:.3%}); event {res['ns_per_syn_event']:.0f} ns "
              f"per synaptic event ({res['ns_per_syn_event_cpu']:.0f} ns of CPU time)")
        res["mode"] = "cuba"
    else:
        res = run_sparse(a.neurons or 100_000, a.duration or 2.0, a.dt, a.seed, a.rates,
                         a.progress, a.repeats)
        rows = [[r, m, e, c, c / e, ec, cc] for r, m, e, c, ec, cc in zip(
            res["rates_hz"], res["measured_rates_hz"], res["event_run_s"], res["clock_run_s"],
            res["event_cpu_s"], res["clock_cpu_s"])]
        common.print_table(rows, ["target Hz", "measured Hz", "event run_s", "clock run_s",
                                  "speed-up", "event cpu_s", "clock cpu_s"])
        print(f"crossover {res['crossover_hz']:.3g} Hz"
              + (" (extrapolated)" if res["crossover_extrapolated"] else ""))
        res["mode"] = "sparse"
    res["total_s"] = time.perf_counter() - t0
    res["note"] = "measured on a shared 2-core machine (other jobs running); timings are noisy"
    common.write_json(a.json, {**res, **common.meta()})
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
