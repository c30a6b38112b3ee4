"""CUBA benchmark (Brette et al. 2007, after Vogels and Abbott 2005), as Brian2's example.

``spikesim bench cuba --neurons 4000 --duration 5 --repeats 3 --json out.json``
``spikesim bench cuba --compare brian2`` runs Brian2 (cython runtime) in its own virtual
environment (created or reused; Brian2 needs numpy < 2.4) and prints both side by side.

Timing: the network is built once (``build_s``); each repeat resets the simulator and runs
``duration`` seconds; ``run_s`` is the minimum over repeats, JIT compile (or cache load) time
is excluded and reported as ``jit_s``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from spikesim.benchmarks import common

DESCRIPTION = "CUBA network (Brette et al. 2007): run time, rate, ns per synaptic event; --compare brian2"


def cv_isi(t: np.ndarray, i: np.ndarray, n: int) -> float:
    """Mean coefficient of variation of inter-spike intervals over neurons with >= 3 spikes."""
    order = np.lexsort((t, i))
    t, i = t[order], i[order]
    cvs = []
    bounds = np.searchsorted(i, np.arange(n + 1))
    for k in range(n):
        tt = t[bounds[k]:bounds[k + 1]]
        if tt.size >= 3:
            isi = np.diff(tt)
            if isi.mean() > 0:
                cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs)) if cvs else float("nan")


def run_spikesim(args) -> tuple[dict, np.ndarray]:
    import numba  # noqa: F401  (import cost is not build cost)

    from spikesim import models
    from spikesim.sim import Simulator
    from spikesim.units import ms

    t0 = time.perf_counter()
    net = models.cuba(args.neurons, rng=args.seed, delay=args.delay * ms)
    if getattr(args, "_stdp_on", False):  # --stdp: pair STDP on every excitatory synapse
        from spikesim import learn

        we = float(net["Pe"].weight[0])
        net = learn.attach(net, "Pe", learn.PairSTDP(
            a_plus=args.stdp_eta * we, a_minus=1.05 * args.stdp_eta * we, tau_plus=20 * ms,
            tau_minus=20 * ms, w_min=0.0, w_max=2.0 * we))
    build_s = time.perf_counter() - t0
    kw = dict(dt=args.dt * ms, dtype=args.dtype) if args.engine == "clock" else {}
    t0 = time.perf_counter()
    sim = Simulator(net, engine=args.engine, rng=args.seed, threads=args.threads, **kw)
    if getattr(args, "_stdp_eager", False):  # the eager plastic kernel, for comparison
        sim.engine.learning.lazy = False
    build_s += time.perf_counter() - t0
    runs, jit, cpus = [], [], []
    res = None
    for r in range(args.repeats):
        sim.reset()
        c0 = time.process_time()
        res = sim.run(args.duration, progress=not args.no_progress)
        cpus.append(time.process_time() - c0)  # CPU time incl. JIT; robust on a shared machine
        runs.append(res.run_s)
        jit.append(res.jit_s)
    st = res.spikes["P"]
    syn_events = int(res.counts.total("synops_ac") + res.counts.total("synops_mac"))
    eng = sim.engine
    out = {
        "tool": "spikesim",
        "neurons": args.neurons, "duration_s": args.duration, "engine": args.engine,
        "dt_s": args.dt * 1e-3 if args.engine == "clock" else None, "dtype": args.dtype,
        "threads": args.threads, "seed": args.seed, "delay_s": args.delay * 1e-3,
        "spikes": len(st), "rate_hz": len(st) / (args.neurons * args.duration),
        "cv_isi": cv_isi(st.t, st.i, args.neurons),
        "syn_events": syn_events, "synapses": int(getattr(eng, "n_synapses", 0)),
        "bytes_per_synapse": float(getattr(eng, "bytes_per_synapse", float("nan"))),
        "build_s": build_s, "jit_s": jit[0], "run_s": min(runs), "run_s_all": runs,
        "run_cpu_s": min(cpus[1:] or cpus), "run_cpu_s_all": cpus,
        "ns_per_syn_event": 1e9 * min(runs) / max(syn_events, 1),
    }
    rates = np.bincount(st.i, minlength=args.neurons) / args.duration
    return out, rates


BRIAN2_SCRIPT = r'''
import json, sys, time
import numpy as np
args = json.loads(sys.argv[1])
from brian2 import *
prefs.codegen.target = args["target"]
if args["target"] == "cpp_standalone":
    set_device("cpp_standalone", directory=args["workdir"], build_on_run=True)
    prefs.devices.cpp_standalone.openmp_threads = 0
defaultclock.dt = args["dt_ms"] * ms
seed(args["seed"])
t0 = time.perf_counter()
taum = 20*ms; taue = 5*ms; taui = 10*ms; Vt = -50*mV; Vr = -60*mV; El = -49*mV
eqs = """
dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
dge/dt = -ge/taue : volt
dgi/dt = -gi/taui : volt
"""
N = args["neurons"]
P = NeuronGroup(N, eqs, threshold="v>Vt", reset="v = Vr", refractory=5*ms, method="exact")
P.v = "Vr + rand() * (Vt - Vr)"
P.ge = 0*mV; P.gi = 0*mV
we = (60*0.27/10)*mV; wi = (-20*4.5/10)*mV
Ne = int(0.8 * N)
Ce = Synapses(P, P, on_pre="ge += we")
Ci = Synapses(P, P, on_pre="gi += wi")
p = 80.0 / N
Ce.connect("i<Ne", p=p)
Ci.connect("i>=Ne", p=p)
s_mon = SpikeMonitor(P)
net = Network(P, Ce, Ci, s_mon)
net.run(args["duration_s"] * second, report=None)
total = time.perf_counter() - t0
run_s = float(device._last_run_time) if hasattr(device, "_last_run_time") else float("nan")
i = np.asarray(s_mon.i[:]); t = np.asarray(s_mon.t[:] / second)
syn = int(np.sum(np.bincount(np.asarray(Ce.i[:]), minlength=N)[i]) + np.sum(np.bincount(np.asarray(Ci.i[:]), minlength=N)[i]))
import brian2
print(json.dumps({"tool": "brian2-" + args["target"], "version": brian2.__version__, "run_s": run_s,
                  "build_s": total - run_s, "spikes": int(i.size), "syn_events": syn,
                  "synapses": int(len(Ce) + len(Ci)), "t": t.tolist(), "i": i.tolist()}))
'''


def brian2_python(venv: Path) -> Path:
    """Create (or reuse) a virtual environment with Brian2 and return its python."""
    py = venv / "bin" / "python"
    if py.exists():
        ok = subprocess.run([str(py), "-c", "import brian2"], capture_output=True)
        if ok.returncode == 0:
            return py
    print(f"creating the Brian2 environment in {venv} (one time, ~1 minute)...")
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "brian2", "numpy<2.4", "cython"],
                   check=True)
    return py


def run_brian2(args) -> tuple[list[dict], np.ndarray]:
    venv = Path(args.venv) / "brian2" if args.venv else common.venv_dir("brian2")
    py = brian2_python(venv)
    outs = []
    rates = None
    for r in range(args.repeats):
        with tempfile.TemporaryDirectory() as wd:
            payload = json.dumps({"target": args.brian2_target, "dt_ms": args.dt, "seed": args.seed,
                                  "neurons": args.neurons, "duration_s": args.duration,
                                  "workdir": wd})
            script = Path(wd) / "cuba_brian2.py"
            script.write_text(BRIAN2_SCRIPT)
            proc = subprocess.run([str(py), str(script), payload], capture_output=True, text=True,
                                  timeout=3600)
        if proc.returncode != 0:
            raise RuntimeError(f"Brian2 run failed:\n{proc.stderr[-3000:]}")
        d = json.loads(proc.stdout.strip().splitlines()[-1])
        t, i = np.asarray(d.pop("t")), np.asarray(d.pop("i"), dtype=np.int64)
        d["rate_hz"] = d["spikes"] / (args.neurons * args.duration)
        d["cv_isi"] = cv_isi(t, i, args.neurons)
        rates = np.bincount(i, minlength=args.neurons) / args.duration
        outs.append(d)
    return outs, rates


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="spikesim bench cuba", description=DESCRIPTION)
    ap.add_argument("--neurons", type=int, default=4000)
    ap.add_argument("--duration", type=float, default=5.0, help="biological seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--engine", choices=["clock", "event"], default="clock")
    ap.add_argument("--dt", type=float, default=0.1, help="time step in ms (clock engine)")
    ap.add_argument("--delay", type=float, default=0.0, help="synaptic delay in ms (default 0)")
    ap.add_argument("--compare", choices=["brian2"], default=None)
    ap.add_argument("--brian2-target", choices=["cython", "cpp_standalone", "numpy"], default="cython")
    ap.add_argument("--venv", default=None, help="folder for comparison virtualenvs")
    ap.add_argument("--json", default=None, help="write results to this JSON file")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--stdp", action="store_true",
                    help="also run with pair STDP on all excitatory synapses and compare ns/event")
    ap.add_argument("--stdp-eta", type=float, default=1e-3,
                    help="STDP learning rate as a fraction of the excitatory weight (--stdp)")
    args = ap.parse_args(argv)
    if args.neurons < 5:
        ap.error(f"--neurons: need at least 5, got {args.neurons}")
    if args.duration <= 0 or args.repeats < 1:
        ap.error("--duration must be > 0 and --repeats >= 1")

    ours, our_rates = run_spikesim(args)
    rows = [["spikesim-" + args.engine, ours["run_s"], ours["jit_s"], ours["build_s"], ours["rate_hz"],
             ours["cv_isi"], ours["syn_events"], ours["ns_per_syn_event"]]]
    result = dict(ours, **common.meta())
    if args.compare == "brian2":
        from scipy.stats import ks_2samp

        b2, b2_rates = run_brian2(args)
        b2_run = min(d["run_s"] for d in b2)
        rows.append([b2[0]["tool"], b2_run, float("nan"), b2[0]["build_s"], b2[0]["rate_hz"],
                     b2[0]["cv_isi"], b2[0]["syn_events"], 1e9 * b2_run / max(b2[0]["syn_events"], 1)])
        result["compare"] = {
            "tool": b2[0]["tool"], "version": b2[0]["version"], "run_s": b2_run,
            "run_s_all": [d["run_s"] for d in b2], "build_s": b2[0]["build_s"],
            "rate_hz": b2[0]["rate_hz"], "cv_isi": b2[0]["cv_isi"], "syn_events": b2[0]["syn_events"],
            "synapses": b2[0]["synapses"],
            "run_time_ratio": ours["run_s"] / b2_run,
            "rate_ratio": ours["rate_hz"] / b2[0]["rate_hz"],
            "ks_rates": float(ks_2samp(our_rates, b2_rates).statistic),
        }
    print(f"CUBA N={args.neurons}, {args.duration:g} s, dt={args.dt:g} ms, dtype={args.dtype}, "
          f"threads={args.threads}, seed={args.seed}, repeats={args.repeats}")
    common.print_table(rows, ["tool", "run_s", "jit_s", "build_s", "rate_hz", "cv_isi",
                              "syn_events", "ns/event"])
    if "compare" in result:
        c = result["compare"]
        print(f"run time ratio spikesim/{c['tool']}: {c['run_time_ratio']:.3f}; rate ratio "
              f"{c['rate_ratio']:.3f}; KS distance of per-neuron rates {c['ks_rates']:.3f}")
    print(f"synapses {ours['synapses']}, {ours['bytes_per_synapse']:.1f} bytes/synapse")
    if args.stdp:
        args._stdp_on = True
        plastic, _ = run_spikesim(args)
        eager = None
        if args.engine == "clock":
            args._stdp_eager = True
            eager, _ = run_spikesim(args)
            args._stdp_eager = False
        args._stdp_on = False
        result["stdp"] = {
            "rule": "PairSTDP additive, tau 20 ms, a_plus = eta*we, a_minus = 1.05*eta*we, "
                    "w in [0, 2 we]", "eta": args.stdp_eta,
            "run_s": plastic["run_s"], "jit_s": plastic["jit_s"],
            "rate_hz": plastic["rate_hz"], "syn_events": plastic["syn_events"],
            "ns_per_syn_event": plastic["ns_per_syn_event"],
            "ns_per_event_ratio": plastic["ns_per_syn_event"] / ours["ns_per_syn_event"],
            "run_cpu_s": plastic["run_cpu_s"],
            "ns_per_event_ratio_cpu": (plastic["run_cpu_s"] / max(plastic["syn_events"], 1))
            / (ours["run_cpu_s"] / max(ours["syn_events"], 1)),
            "rate_change": abs(plastic["rate_hz"] - ours["rate_hz"]) / ours["rate_hz"],
            "loadavg": list(os.getloadavg()),
            "kernel": "lazy potentiation (clock engine)" if args.engine == "clock" else "event",
        }
        if eager is not None:  # the eager kernel (potentiation at every postsynaptic spike)
            result["stdp"]["eager"] = {
                "run_s": eager["run_s"], "run_cpu_s": eager["run_cpu_s"],
                "ns_per_event_ratio": eager["ns_per_syn_event"] / ours["ns_per_syn_event"],
                "ns_per_event_ratio_cpu": (eager["run_cpu_s"] / max(eager["syn_events"], 1))
                / (ours["run_cpu_s"] / max(ours["syn_events"], 1))}
        st = result["stdp"]
        print(f"with STDP: {st['ns_per_syn_event']:.2f} ns/event ({st['ns_per_event_ratio']:.2f}x "
              f"without; CPU time {st['ns_per_event_ratio_cpu']:.2f}x), rate {st['rate_hz']:.2f} Hz "
              f"({100 * st['rate_change']:.1f} % change); load average {st['loadavg'][0]:.1f}")
        if "eager" in st:
            print(f"eager plastic kernel: {st['eager']['ns_per_event_ratio']:.2f}x without "
                  f"(CPU time {st['eager']['ns_per_event_ratio_cpu']:.2f}x)")
    common.write_json(args.json, result)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
