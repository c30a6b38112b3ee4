"""STDP results (issue 7): window, triplet frequency dependence, Song-Miller-Abbott 2000,
Izhikevich 2007 distal reward, clock vs event engine.

``spikesim bench stdp window|triplet|song|song-null|rstdp|engines [--small] [--json PATH]``

``song-null`` is the control of ``song``: the same rule with the postsynaptic spikes
independent of the inputs, against the analytic equilibrium of the depressed synapses
(:func:`spikesim.learn.experiments.weak_peak`).

``--small`` runs the reduced versions used by the smoke tests (the full versions are the
claims of the issue). Every subcommand prints a table and the pass/fail of its criterion.
JIT compile time is part of the first simulation (these are accuracy benchmarks; wall times
are reported for information only).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from spikesim.benchmarks import common

DESCRIPTION = ("STDP results: window vs analytic, triplet frequency (Pfister-Gerstner 2006), "
               "Song-Miller-Abbott 2000, R-STDP distal reward, clock vs event engines")


def run_window(small: bool) -> dict:
    from spikesim import learn
    from spikesim.learn.experiments import window_experiment

    step = 5 if small else 1
    deltas = np.arange(-100, 101, step) * 1e-3
    rows, out = [], {"rules": {}}
    rules = {
        "pair_all": learn.PairSTDP(a_plus=0.005, a_minus=0.00525, w_max=1.0),
        "pair_nearest": learn.PairSTDP(a_plus=0.005, a_minus=0.00525, w_max=1.0, pairing="nearest"),
        "pair_asym_tau": learn.PairSTDP(a_plus=0.0103, a_minus=0.0051, tau_plus=0.0168,
                                        tau_minus=0.0337, w_max=1.0),
        "triplet_visual": learn.TripletSTDP.published("visual_all_to_all", w_max=1.0),
    }
    dts = [1e-4] if small else [1e-3, 1e-4]
    worst = 0.0
    for name, rule in rules.items():
        for dt in dts:
            r = window_experiment(rule, deltas, dt=dt)
            scale = np.abs(r["analytic"]).max()
            err = float(np.abs(r["dw"] - r["analytic"]).max() / scale)
            worst = max(worst, err)
            out["rules"][f"{name}@dt={dt:g}"] = {"delta_s": r["delta"], "dw": r["dw"],
                                                 "analytic": r["analytic"], "max_rel_error": err}
            rows.append([name, dt * 1e3, deltas.size, err])
    common.print_table(rows, ["rule", "dt_ms", "pairs", "max |dw - analytic| / max|analytic|"])
    out["max_rel_error"] = worst
    out["pass"] = worst < 1e-6
    return out


def run_triplet(small: bool) -> dict:
    from spikesim import learn
    from spikesim.learn.experiments import triplet_frequency

    n_pairs = 60
    dt = 1e-3 if small else 1e-4
    sets = ["visual_all_to_all"] if small else ["visual_all_to_all", "visual_nearest",
                                                "visual_all_to_all_minimal",
                                                "visual_nearest_minimal"]
    out = {"n_pairs": n_pairs, "dt_s": dt, "sets": {}}
    rows = []
    ok = True
    for name in sets:
        rule = learn.TripletSTDP.published(name, w_max=10.0)
        r = triplet_frequency(rule, n_pairs=n_pairs, dt=dt)
        eng, mod = np.array(r["engine"]), np.array(r["model"])
        rel = np.abs(eng - mod) / np.maximum(np.abs(mod), 1e-3)
        minus, plus = eng[0], eng[1]
        qual = bool(minus[0] < 0 and minus[-1] > 0 and np.all(np.diff(plus) > 0))
        ok = ok and bool(rel.max() <= 0.2) and qual
        out["sets"][name] = dict(r, max_rel_error=float(rel.max()), qualitative=qual)
        for k, d in enumerate(r["delta_t"]):
            rows.append([name, d * 1e3] + [100 * x for x in eng[k]] + [float(rel[k].max())])
    common.print_table(rows, ["set", "dt_pair_ms"] + [f"{f:g}Hz %" for f in r["rates"]]
                       + ["max rel err vs model"])
    out["pass"] = ok
    return out


def _given(**options: float | None) -> dict:
    """The command-line options the user gave (not None), as floats."""
    return {k: float(v) for k, v in options.items() if v is not None}


def _seed_run(run_seed: int, experiment: str, kw: dict) -> dict:
    """One seed of ``spikesim.learn.experiments.<experiment>`` (a module-level function for
    :func:`spikesim.sweep`, which passes its own ``seed`` to functions that take one)."""
    from spikesim.learn import experiments

    return getattr(experiments, experiment)(seed=run_seed, progress=False, **kw)


def _seed_runs(experiment: str, kw: dict, seed: int, seeds: int, jobs: int,
               progress: bool) -> list[dict]:
    """``experiments.<experiment>(seed=s, **kw)`` for ``s`` in ``seed .. seed + seeds - 1``,
    in order: in ``jobs`` processes (:func:`spikesim.sweep`) when ``jobs`` > 1, else here
    with a progress bar per run."""
    from spikesim.learn import experiments

    if jobs > 1 and seeds > 1:
        from spikesim import sweep

        res = sweep(_seed_run, [{"run_seed": s, "experiment": experiment, "kw": kw}
                                for s in range(seed, seed + seeds)],
                    workers=jobs, progress=progress)
        if res.errors:
            raise RuntimeError(f"{experiment} failed for seed {res.errors[0]['run_seed']}:\n"
                               f"{res.errors[0]['error']}")
        return list(res.records)
    fn = getattr(experiments, experiment)
    return [fn(seed=s, progress=progress, **kw) for s in range(seed, seed + seeds)]


def run_song(small: bool, progress: bool, duration: float | None = None,
             a_plus: float | None = None, ratio: float | None = None,
             compare: bool = False, g_max: float | None = None, seed: int = 0,
             seeds: int = 1, jobs: int = 1) -> dict:
    """Song et al. for seeds ``seed .. seed + seeds - 1`` (``jobs`` processes): a table row
    per seed and input rate; the top-level fields are the first seed's; ``pass`` when every
    seed has at least 90 % of the weights within 0.1 g_max of a bound at both rates and an
    output rate ratio below 2."""
    if small:
        kw = dict(duration=60.0, measure=20.0, a_plus=0.02)
    else:
        kw = dict(duration=500.0, measure=100.0, a_plus=0.005)
    kw.update(_given(duration=duration, a_plus=a_plus, ratio=ratio, g_max=g_max))
    t0 = time.perf_counter()
    runs = _seed_runs("song2000", dict(kw, rates=(10.0, 40.0)), seed, seeds, jobs, progress)
    wall = time.perf_counter() - t0
    rows, per_seed = [], []
    for s, r in zip(range(seed, seed + seeds), runs):
        hists = [np.histogram(w, bins=10, range=(0, 1))[0] for w in r["weights"]]
        for k, rate in enumerate(r["rates"]):
            rows.append([s, rate, r["out_rate_hz"][k], r["fraction_near_bounds"][k],
                         " ".join(str(int(x)) for x in hists[k])])
        per_seed.append({"seed": s, "out_rate_hz": r["out_rate_hz"],
                         "fraction_near_bounds": r["fraction_near_bounds"],
                         "rate_ratio": r["rate_ratio"],
                         "hist": [h.tolist() for h in hists],
                         "pass": bool(min(r["fraction_near_bounds"]) >= 0.9
                                      and r["rate_ratio"] < 2.0)})
    common.print_table(rows, ["seed", "input_hz", "output_hz", "frac within 10% of 0/gmax",
                              "histogram (10 bins of w/gmax)"])
    ratios = [p["rate_ratio"] for p in per_seed]
    print(f"output rate ratio 40/10 Hz: {', '.join(f'{x:.2f}' for x in ratios)} (target < 2)")
    r = runs[0]
    print(f"depressed synapses at equilibrium (Fokker-Planck, this A+ and A-/A+): exponential "
          f"of mean {r['weak_peak_mean']:.3f} g_max, {100 * r['weak_within_10pct']:.1f} % of them "
          f"within 0.1 g_max of 0")
    out = {"params": kw, "seed": seed, "rates": r["rates"], "out_rate_hz": r["out_rate_hz"],
           "weak_peak_mean": r["weak_peak_mean"], "weak_within_10pct": r["weak_within_10pct"],
           "fraction_near_bounds": r["fraction_near_bounds"], "rate_ratio": r["rate_ratio"],
           "final_weights": r["weights"], "snapshots_t": r["snapshots_t"],
           "snapshot_means": [x.mean(axis=1) for x in r["snapshots"]], "wall_s": wall,
           "neuron": "CobaLIF (conductance-based)", "seeds": per_seed,
           "min_fraction_near_bounds": float(min(min(p["fraction_near_bounds"])
                                                 for p in per_seed)),
           "max_rate_ratio": float(max(ratios)),
           "pass_fraction": float(np.mean([p["pass"] for p in per_seed]))}
    out["pass"] = out["pass_fraction"] == 1.0
    if compare:
        b2 = song_brian2(dict(duration=kw["duration"], measure=kw["measure"],
                              a_plus=kw["a_plus"], ratio=kw.get("ratio", 1.05),
                              g_max=kw.get("g_max", 0.015)), r["rates"], seed)
        common.print_table([[d["rate"], d["out_rate_hz"], d["fraction_near_bounds"],
                             " ".join(str(x) for x in d["hist"])] for d in b2],
                           ["input_hz", "brian2 output_hz", "frac within 10%", "histogram"])
        out["compare"] = {"tool": "brian2-cpp_standalone (forward Euler)", "runs": b2}
    return out


SONG_BRIAN2 = r'''
import json, sys, time
import numpy as np
import brian2
from brian2 import (NeuronGroup, PoissonGroup, SpikeMonitor, Synapses, defaultclock, device,
                    run, set_device, ms, mV, Hz, second)
a = json.loads(sys.argv[1])
set_device("cpp_standalone", build_on_run=False)
brian2.seed(a["seed"])
defaultclock.dt = 0.1 * ms
gmax, Ap, ratio = a.get("g_max", 0.015), a["a_plus"], a["ratio"]
eqs = """dv/dt = (-70*mV - v + ge*(0*mV - v) + gi*(-70*mV - v))/(20*ms) : volt
dge/dt = -ge/(5*ms) : 1
dgi/dt = -gi/(5*ms) : 1"""
post = NeuronGroup(1, eqs, threshold="v > -54*mV", reset="v = -60*mV", method="euler")
post.v = -60 * mV
exc = PoissonGroup(1000, a["rate"] * Hz)
inh = PoissonGroup(200, 10 * Hz)
S = Synapses(exc, post, """w : 1
  dP/dt = -P/(20*ms) : 1 (event-driven)
  dM/dt = -M/(20*ms) : 1 (event-driven)""",
             on_pre="""ge += w
  P += Ap
  w = clip(w + M*gmax, 0, gmax)""",
             on_post="""M -= ratio*Ap
  w = clip(w + P*gmax, 0, gmax)""", namespace=dict(Ap=Ap, ratio=ratio, gmax=gmax))
S.connect()
S.w = np.random.default_rng(a["seed"]).uniform(0, gmax, 1000)
Si = Synapses(inh, post, on_pre="gi += 0.05")
Si.connect()
sm = SpikeMonitor(post)
run((a["duration"] - a["measure"]) * second)
run(a["measure"] * second)
t0 = time.time()
device.build(directory=a["workdir"], run=True, compile=True)
sp = np.asarray(sm.t / second)
w = np.asarray(S.w) / gmax
n_out = float(np.sum(sp >= a["duration"] - a["measure"]))
frac = float(np.mean((w <= 0.1) | (w >= 0.9)))
print(json.dumps({"rate": a["rate"], "out_rate_hz": n_out / a["measure"],
                  "fraction_near_bounds": frac,
                  "hist": np.histogram(w, 10, (0, 1))[0].tolist(), "mean_w": float(w.mean()),
                  "wall_s": time.time() - t0, "version": brian2.__version__}))
'''


def song_brian2(kw: dict, rates, seed: int) -> list[dict]:
    """The same Song et al. model in Brian2 (cpp_standalone, forward Euler, event-driven
    traces), run in the Brian2 virtualenv (``$SPIKESIM_VENVS/brian2``)."""
    import json
    import subprocess
    import tempfile
    from pathlib import Path

    from spikesim.benchmarks.cuba import brian2_python

    py = brian2_python(common.venv_dir("brian2"))
    out = []
    for rate in rates:
        with tempfile.TemporaryDirectory() as wd:
            script = Path(wd) / "song_brian2.py"
            script.write_text(SONG_BRIAN2)
            payload = json.dumps(dict(kw, rate=float(rate), ratio=kw.get("ratio", 1.05),
                                      seed=seed, workdir=str(Path(wd) / "build")))
            proc = subprocess.run([str(py), str(script), payload], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"Brian2 run failed:\n{proc.stderr[-3000:]}")
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def run_song_null(small: bool, progress: bool, duration: float | None = None,
                  a_plus: float | None = None, ratio: float | None = None) -> dict:
    """The control of ``song``: uncorrelated pre/post spikes (40 and 15 Hz)."""
    from spikesim.learn.experiments import song_null

    if small:  # 4x the paper's learning rate: equilibrium within ~100 s
        kw = dict(duration=200.0, chunk=20.0, a_plus=0.02, ratio=1.05)
    else:
        kw = dict(duration=1000.0, chunk=100.0, a_plus=0.005, ratio=1.05)
    kw.update(_given(duration=duration, a_plus=a_plus, ratio=ratio))
    t0 = time.perf_counter()
    r = song_null(progress=progress, **kw)
    wall = time.perf_counter() - t0
    rows = [[t, p, m, f, " ".join(str(int(x)) for x in h)] for t, p, m, f, h in
            zip(r["t"], r["post_rate_hz"], r["mean_w"], r["fraction_below_10pct"], r["hist"])]
    common.print_table(rows, ["t_s", "post_hz", "mean w/wmax", "frac <= 0.1 wmax",
                              "histogram (10 bins)"])
    half = len(r["t"]) // 2
    late_mean = float(np.mean(r["mean_w"][half:]))
    late_frac = float(np.mean(r["fraction_below_10pct"][half:]))
    print(f"second half: mean w {late_mean:.4f} (analytic {r['weak_peak_mean']:.4f}), within "
          f"0.1: {late_frac:.3f} (analytic {r['weak_within_10pct']:.3f})")
    out = dict(r, params=kw, late_mean_w=late_mean, late_fraction_below_10pct=late_frac,
               wall_s=wall)
    # the control agrees with the analytic equilibrium (mean within 10 %)
    out["pass"] = bool(abs(late_mean / r["weak_peak_mean"] - 1.0) < 0.1)
    return out


def run_rstdp(small: bool, progress: bool, seed: int, engine: str = "clock",
              seeds: int = 1, jobs: int = 1, **overrides: float | None) -> dict:
    """Distal reward for seeds ``seed .. seed + seeds - 1``: one table row per seed; the
    trajectories of the first seed; ``pass`` when the rewarded synapse is the strongest
    after the run for every seed (``pass_fraction``: for how many, ties with another
    synapse included; ``strict_pass_fraction``: without a tie); ``jobs`` > 1 runs the seeds
    in that many processes (:func:`spikesim.sweep`). ``overrides``: arguments
    of :func:`~spikesim.learn.experiments.distal_reward` (``None``: its default); ``ratio``
    sets ``a_minus`` to ``ratio`` x ``a_plus``."""
    import inspect

    from spikesim.learn.experiments import distal_reward

    kw: dict = dict(n_syn=100, duration=600.0 if small else 3600.0, engine=engine)
    ratio = overrides.pop("ratio", None)
    kw.update({k: v for k, v in overrides.items() if v is not None})
    if ratio is not None:
        a_plus = kw.get("a_plus", inspect.signature(distal_reward).parameters["a_plus"].default)
        kw["a_minus"] = ratio * a_plus
    rows, per_seed, first = [], [], None  # first: the run of the first seed (trajectories)
    t0 = time.perf_counter()
    runs = _seed_runs("distal_reward", kw, seed, seeds, jobs, progress)
    for s, r in zip(range(seed, seed + seeds), runs):
        if first is None:
            first = r
        rows.append([s, kw["duration"], len(r["reward_times"]), r["post_rate_hz"],
                     r["rewarded_w"], r["others_mean_w"], r["others_max_w"],
                     r["rank_of_rewarded"],
                     "-" if r["strongest_from_s"] is None else r["strongest_from_s"]])
        per_seed.append({"seed": s, "rewards": int(len(r["reward_times"])),
                         "post_rate_hz": r["post_rate_hz"], "rewarded_w_mV": r["rewarded_w"],
                         "others_mean_w_mV": r["others_mean_w"],
                         "others_max_w_mV": r["others_max_w"],
                         "rank_of_rewarded": r["rank_of_rewarded"],
                         "strongest_from_s": r["strongest_from_s"]})
    wall = time.perf_counter() - t0
    common.print_table(rows, ["seed", "sim_s", "rewards", "post_hz", "w_rewarded_mV",
                              "w_others_mean", "w_others_max", "rank", "strongest_from_s"])
    frac = float(np.mean([p["rank_of_rewarded"] == 0 for p in per_seed]))
    # strictly the strongest: no other synapse ties with it (at w_max, say)
    strict = float(np.mean([p["rewarded_w_mV"] > p["others_max_w_mV"] for p in per_seed]))
    if seeds > 1:
        print(f"rewarded synapse the strongest for {frac:.0%} of {seeds} seeds, strictly (no "
              f"tie) for {strict:.0%} ({engine} engine)")
    t_from = [p["strongest_from_s"] for p in per_seed if p["strongest_from_s"] is not None]
    if t_from:
        print(f"it stays the strongest from t = {np.median(t_from):.0f} s (median; "
              f"{min(t_from):.0f}-{max(t_from):.0f} s over the {len(t_from)} seeds where it is "
              f"at the end)")
    t = first["t"]
    keep = np.linspace(0, t.size - 1, min(t.size, 400)).astype(int)
    return {"params": kw, "engine": engine, "seed": seed, **per_seed[0], "seeds": per_seed,
            "pass_fraction": frac, "strict_pass_fraction": strict,
            "strongest_from_s_median": float(np.median(t_from)) if t_from else None,
            "strongest_from_s_max": float(max(t_from)) if t_from else None,
            "t_s": t[keep], "w_rewarded_mV": first["weights"][keep, 0],
            "w_others_mean_mV": first["weights"][keep, 1:].mean(axis=1), "wall_s": wall,
            "pass": frac == 1.0}


#: ``engines --homeostasis``: the output LIF neurons' adaptive threshold (threshold 1).
HOMEOSTASIS = dict(theta_plus=0.05, tau_theta=1.0)


def run_engines(small: bool, delay_ms: tuple[float, float] | None = None,
                homeostasis: bool = False, dts_ms: list[float] | None = None) -> dict:
    from spikesim.learn import AdaptiveThreshold
    from spikesim.learn.experiments import engines_agree

    dts = [1e-3, 3e-4, 1e-4] if small else [1e-3, 3e-4, 1e-4, 3e-5, 1e-5]
    if dts_ms is not None:
        dts = [d * 1e-3 for d in dts_ms]
    delay = None if delay_ms is None else (delay_ms[0] * 1e-3, delay_ms[1] * 1e-3)
    homeo = AdaptiveThreshold(**HOMEOSTASIS) if homeostasis else None
    r = engines_agree(dts=dts, duration=2.0 if small else 10.0, delay=delay,
                      homeostasis=homeo)
    r["delay_ms"] = None if delay_ms is None else [float(x) for x in delay_ms]
    cols = [r["dts"], r["mean_abs_diff"], r["max_abs_diff"], r["clock_spikes"],
            r["neurons_matching"]]
    head = ["dt_ms", "mean |w_clock - w_event|/w_max", "max", "clock spikes",
            "neurons matching"]
    if homeo is not None:
        cols.append(r["threshold_adaptation_max_abs_diff"])
        head.append("max |a_clock - a_event|")
    rows = [[row[0] * 1e3, *row[1:]] for row in zip(*cols)]
    common.print_table(rows, head)
    print(f"event engine: {r['event_spikes']} spikes; largest weight change "
          f"{r['weight_change_event']:.3f} w_max"
          + (f"; mean threshold adaptation {r['threshold_adaptation_event_mean']:.3f}"
             if homeo is not None else ""))
    d = np.array(r["mean_abs_diff"])
    # converge: the mean difference shrinks monotonically as dt shrinks (the max over
    # synapses follows single spike differences and is reported, not judged; so does the
    # adaptation difference: one spike more or less moves a by up to theta_plus)
    r["pass"] = bool(np.all(np.diff(d) < 0))
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="spikesim bench stdp", description=DESCRIPTION)
    ap.add_argument("result", choices=["window", "triplet", "song", "song-null", "rstdp",
                                       "engines"])
    ap.add_argument("--small", action="store_true", help="reduced sizes (smoke test)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=1,
                    help="rstdp, song: run seeds SEED .. SEED+K-1 (pass: for every seed)")
    ap.add_argument("--duration", type=float, default=None,
                    help="song: simulated seconds per input rate (default 500; 60 with --small)")
    ap.add_argument("--a-plus", type=float, default=None,
                    help="song, song-null: A+ in units of g_max (default 0.005, the paper's)")
    ap.add_argument("--g-max", type=float, default=None,
                    help="song: largest excitatory conductance, relative to the leak "
                         "(default 0.015, the paper's)")
    ap.add_argument("--ratio", type=float, default=None,
                    help="song, song-null: A-/A+ (default 1.05, the paper's); rstdp: A-/A+ of "
                         "the eligibility (default 1.2)")
    ap.add_argument("--engine", choices=["clock", "event"], default="clock",
                    help="rstdp: simulation engine (default clock, dt = 1 ms)")
    ap.add_argument("--delay", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                    help="engines: synaptic delays uniform in [LO, HI] ms (LO >= 1; default 0)")
    ap.add_argument("--dts", type=float, nargs="+", default=None, metavar="MS",
                    help="engines: clock time steps in ms, largest first (default 1 0.3 0.1 "
                         "0.03 0.01)")
    ap.add_argument("--homeostasis", action="store_true",
                    help="engines: the output neurons get an adaptive threshold "
                         f"(AdaptiveLIF; {HOMEOSTASIS})")
    ap.add_argument("--tonic", type=float, default=None,
                    help="rstdp: tonic reward (dopamine) level (default 0.002 against rewards "
                         "of 0.5, the ratio in Izhikevich's code)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="rstdp, song: run the seeds in this many processes (default 1)")
    ap.add_argument("--noise", type=float, default=None, metavar="HZ",
                    help="rstdp: background of 1 mV inputs per neuron (default 200 Hz)")
    ap.add_argument("--kick", type=float, default=None, metavar="HZ",
                    help="rstdp: background of 12 mV (above threshold) inputs per neuron "
                         "(default 2 Hz)")
    ap.add_argument("--compare", choices=["brian2"], default=None,
                    help="song: also run the same model in Brian2 ($SPIKESIM_VENVS/brian2; "
                         "the first seed)")
    ap.add_argument("--json", default=None, help="write results to this JSON file")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    progress = not args.no_progress
    t0 = time.perf_counter()
    if args.seeds < 1:
        ap.error(f"--seeds: must be >= 1, got {args.seeds}")
    if args.jobs < 1:
        ap.error(f"--jobs: must be >= 1, got {args.jobs}")
    for opt in ("duration", "a_plus", "ratio", "g_max"):
        val = getattr(args, opt)
        if val is not None and not val > 0:
            ap.error(f"--{opt.replace('_', '-')}: must be > 0, got {val}")
    if args.result == "window":
        out = run_window(args.small)
    elif args.result == "triplet":
        out = run_triplet(args.small)
    elif args.result == "song":
        measure = 20.0 if args.small else 100.0
        if args.duration is not None and args.duration <= measure:
            ap.error(f"--duration: must exceed the {measure:g} s over which the output rate is "
                     f"measured, got {args.duration}")
        out = run_song(args.small, progress, args.duration, args.a_plus, args.ratio,
                       args.compare == "brian2", args.g_max, args.seed, args.seeds, args.jobs)
    elif args.result == "song-null":
        out = run_song_null(args.small, progress, args.duration, args.a_plus, args.ratio)
    elif args.result == "rstdp":
        out = run_rstdp(args.small, progress, args.seed, args.engine, args.seeds, args.jobs,
                        tonic=args.tonic, ratio=args.ratio, noise=args.noise, kick=args.kick)
    else:
        if args.delay is not None and not 1.0 <= args.delay[0] <= args.delay[1]:
            ap.error(f"--delay: expected 1 <= LO <= HI (ms), got {args.delay}")
        if args.dts is not None and (any(d <= 0 for d in args.dts)
                                     or any(np.diff(args.dts) >= 0)):
            ap.error(f"--dts: expected positive steps in ms, largest first, got {args.dts}")
        out = run_engines(args.small, args.delay, args.homeostasis, args.dts)
    out.update(result=args.result, small=args.small, total_wall_s=time.perf_counter() - t0,
               note="shared 2-core machine (timings noisy)", **common.meta())
    print(f"{args.result}: {'PASS' if out['pass'] else 'FAIL'}")
    common.write_json(args.json, out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
