"""Surrogate-gradient BPTT training benchmark on MNIST (``spikesim bench train``).

Models (as snnTorch's tutorials):

* ``fc``: Dense(784, 1000) - LIF - Dense(1000, 10) - LI readout.
* ``conv``: Conv(1, 12, 5) - MaxPool2 - LIF - Conv(12, 64, 5) - MaxPool2 - LIF - Flatten -
  Dense(1024, 10) - LI readout.

Fast-sigmoid surrogate (slope 25 unless ``--slope``), reset by subtraction (detached),
cross-entropy on the time-mean readout membrane, Adam (``--schedule cosine``: learning rate
annealed per epoch). With ``--encoding direct`` the pixels are a constant input
current and the layers before the first LIF run **once per sample** (``W x`` is not recomputed
each step); the snnTorch twin does the same. ``epoch_s`` (wall clock) excludes numba JIT
(``jit_s``, taken on a throw-away copy of the model before training); ``epoch_cpu_s`` is the
process CPU time per epoch (all threads), less sensitive to other jobs on a shared machine.
``peak_mem_growth_mb`` is the peak resident
memory during training minus the resident memory after the data was loaded (sampled every
20 ms). ``--compare snntorch`` runs the same model, encoding, surrogate, reset, optimiser and
hyper-parameters with snnTorch (CPU) in its own virtualenv through a subprocess and prints both
side by side. One difference remains: snnTorch subtracts ``theta*S[t-1]`` after the decay
(``U = beta*U + X - theta*S``), spikesim before it (``U = beta*(U - theta*S) + X``, the clock
engine's convention).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from spikesim.benchmarks import common

DESCRIPTION = "MNIST surrogate-gradient training (fc/conv, direct/poisson) vs snnTorch"
SNNTORCH_PY = str(common.venv_python("snntorch"))


class PeakRSS:
    """Samples the resident set size (/proc/self/status VmRSS) in a thread; MB."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.base = self.rss()
        self.peak = self.base
        self._stop = threading.Event()

    @staticmethod
    def rss() -> float:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    def _loop(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.rss())

    def __enter__(self):
        self.base = self.rss()
        self.peak = self.base
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.rss())
        return False

    @property
    def growth_mb(self) -> float:
        return self.peak - self.base


def build_model(kind: str, beta: float, seed: int, memory: str = "full", dtype=np.float32,
                slope: float = 25.0):
    """The benchmark networks (see the module docs)."""
    from spikesim import nn

    sg = nn.FastSigmoid(slope)
    if kind == "fc":
        layers = [nn.Dense(784, 1000, rng=seed, dtype=dtype),
                  nn.LIF(beta=beta, threshold=1.0, surrogate=sg, dtype=dtype),
                  nn.Dense(1000, 10, rng=seed + 1, dtype=dtype), nn.LI(beta=beta, dtype=dtype)]
    elif kind == "conv":
        layers = [nn.Conv2d(1, 12, 5, rng=seed, dtype=dtype), nn.MaxPool2d(2),
                  nn.LIF(beta=beta, threshold=1.0, surrogate=sg, dtype=dtype),
                  nn.Conv2d(12, 64, 5, rng=seed + 1, dtype=dtype), nn.MaxPool2d(2),
                  nn.LIF(beta=beta, threshold=1.0, surrogate=sg, dtype=dtype), nn.Flatten(),
                  nn.Dense(64 * 4 * 4, 10, rng=seed + 2, dtype=dtype),
                  nn.LI(beta=beta, dtype=dtype)]
    else:
        raise ValueError(f"--model {kind!r} is unknown: allowed 'fc', 'conv'")
    return nn.Sequential(*layers, memory=memory)


def _shape(x: np.ndarray, kind: str) -> np.ndarray:
    return x.reshape(len(x), 784) if kind == "fc" else x.reshape(len(x), 1, 28, 28)


def run_spikesim(args, data, on_epoch=None) -> dict:
    from spikesim import nn

    nn.set_threads(args.threads)
    dtype = np.dtype(args.dtype)
    xtr, ytr, xte, yte = data
    xtr, xte = _shape(xtr, args.model), _shape(xte, args.model)

    def trainer(model, progress):
        return nn.Trainer(model, nn.CrossEntropyMembrane("mean"),
                          nn.Adam(model, lr=args.lr, betas=(0.9, 0.999)),
                          schedule=nn.CosineLR(args.epochs) if args.schedule == "cosine"
                          else None,
                          timesteps=args.timesteps, encoding=args.encoding,
                          batch_size=args.batch_size, rng=args.seed, input_scale=1 / 255,
                          dtype=dtype, progress=progress)

    # JIT: compile every kernel on a throw-away copy (train step + evaluation)
    t0 = time.perf_counter()
    warm = build_model(args.model, args.beta, args.seed, args.memory, dtype, args.slope)
    tw = trainer(warm, False)
    tw.train_step(xtr[:8], ytr[:8])
    tw.evaluate(xte[:8], yte[:8])
    jit_s = time.perf_counter() - t0
    del warm, tw

    model = build_model(args.model, args.beta, args.seed, args.memory, dtype, args.slope)
    tr = trainer(model, args.progress)
    def summary(hist, mem_growth):
        return {"test_accuracy": hist.val_accuracy[-1], "test_loss": hist.val_loss[-1],
                "test_accuracy_per_epoch": hist.val_accuracy,
                "train_accuracy": hist.train_accuracy, "train_loss": hist.train_loss,
                "epoch_s": float(np.mean(hist.epoch_s)), "epoch_s_all": hist.epoch_s,
                "epoch_cpu_s": float(np.mean(hist.epoch_cpu_s)),
                "epochs_completed": len(hist.epoch_s), "jit_s": jit_s,
                "peak_mem_growth_mb": mem_growth, "params": model.n_params()}

    with PeakRSS() as mem:
        # the test set is evaluated after every epoch (not included in epoch_s)
        hist = tr.fit(xtr, ytr, epochs=args.epochs, val=(xte, yte),
                      callback=None if on_epoch is None else
                      (lambda ep, h: on_epoch(summary(h, mem.growth_mb))))
    return summary(hist, mem.growth_mb)


SNNTORCH_SCRIPT = r'''
import json, math, sys, threading, time
from pathlib import Path
import numpy as np
import torch, torch.nn as tnn
import snntorch as snn
from snntorch import surrogate

a = json.loads(sys.argv[1])
torch.set_num_threads(a["threads"])
torch.manual_seed(a["seed"])

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0

with np.load(a["data"]) as f:
    xtr, ytr = f["x_train"][: a["n_train"]], f["y_train"][: a["n_train"]].astype(np.int64)
    xte, yte = f["x_test"][: a["n_test"]], f["y_test"][: a["n_test"]].astype(np.int64)
shape = (-1, 784) if a["model"] == "fc" else (-1, 1, 28, 28)
xtr = torch.from_numpy(xtr.reshape(shape)); xte = torch.from_numpy(xte.reshape(shape))
ytr = torch.from_numpy(ytr); yte = torch.from_numpy(yte)
sg = surrogate.fast_sigmoid(slope=a["slope"])
B, T = a["beta"], a["timesteps"]

class Net(tnn.Module):
    def __init__(self):
        super().__init__()
        if a["model"] == "fc":
            self.pre = tnn.Linear(784, 1000)
            self.mid = None
            self.out = tnn.Linear(1000, 10)
        else:
            self.pre = tnn.Sequential(tnn.Conv2d(1, 12, 5), tnn.MaxPool2d(2))
            self.mid = tnn.Sequential(tnn.Conv2d(12, 64, 5), tnn.MaxPool2d(2))
            self.out = tnn.Linear(64 * 4 * 4, 10)
        self.lif1 = snn.Leaky(beta=B, threshold=1.0, spike_grad=sg, reset_mechanism="subtract")
        self.lif2 = snn.Leaky(beta=B, threshold=1.0, spike_grad=sg, reset_mechanism="subtract")
        self.ro = snn.Leaky(beta=B, threshold=1.0, spike_grad=sg, reset_mechanism="none")

    def forward(self, x):
        m1 = self.lif1.init_leaky(); m2 = self.lif2.init_leaky(); mo = self.ro.init_leaky()
        direct = a["encoding"] == "direct"
        cur1 = self.pre(x) if direct else None   # W x once per sample (direct input)
        rec = []
        for t in range(T):
            c1 = cur1 if direct else self.pre(x[t])
            s1, m1 = self.lif1(c1, m1)
            if self.mid is not None:
                s1, m2 = self.lif2(self.mid(s1), m2)
                s1 = s1.flatten(1)
            _, mo = self.ro(self.out(s1), mo)
            rec.append(mo)
        return torch.stack(rec)

def encode(xb, g):
    x = xb.float() / 255.0
    if a["encoding"] == "direct":
        return x
    return (torch.rand((T, *x.shape), generator=g) < x).float()

net = Net()
opt = torch.optim.Adam(net.parameters(), lr=a["lr"], betas=(0.9, 0.999))
lossf = tnn.CrossEntropyLoss()
g = torch.Generator().manual_seed(a["seed"])
# warm-up (excluded, like numba JIT on the spikesim side)
t0 = time.perf_counter()
out = net(encode(xtr[:8], g)); lossf(out.mean(0), ytr[:8]).backward(); opt.zero_grad()
warm_s = time.perf_counter() - t0
base = rss(); peak = [base]; stop = threading.Event()
def sampler():
    while not stop.wait(0.02):
        peak[0] = max(peak[0], rss())
th = threading.Thread(target=sampler, daemon=True); th.start()
ep_s, ep_cpu, tr_acc = [], [], []
n = len(ytr)
for ep in range(a["epochs"]):
    if a["schedule"] == "cosine":  # as spikesim.nn.CosineLR(epochs), set per epoch
        for pg in opt.param_groups:
            pg["lr"] = a["lr"] * 0.5 * (1 + math.cos(math.pi * ep / a["epochs"]))
    perm = torch.randperm(n, generator=g)
    t0 = time.perf_counter(); c0 = time.process_time(); correct = 0
    for i in range(0, n, a["batch_size"]):
        idx = perm[i:i + a["batch_size"]]
        out = net(encode(xtr[idx], g))
        loss = lossf(out.mean(0), ytr[idx])
        opt.zero_grad(); loss.backward(); opt.step()
        correct += int((out.mean(0).argmax(1) == ytr[idx]).sum())
    ep_s.append(time.perf_counter() - t0); ep_cpu.append(time.process_time() - c0)
    tr_acc.append(correct / n)
stop.set(); th.join(); peak[0] = max(peak[0], rss())
with torch.no_grad():
    correct = 0
    for i in range(0, len(yte), 500):
        out = net(encode(xte[i:i + 500], g))
        correct += int((out.mean(0).argmax(1) == yte[i:i + 500]).sum())
print("RESULT " + json.dumps({
    "test_accuracy": correct / len(yte), "train_accuracy": tr_acc,
    "epoch_s": float(np.mean(ep_s)), "epoch_s_all": ep_s, "warmup_s": warm_s,
    "epoch_cpu_s": float(np.mean(ep_cpu)),
    "peak_mem_growth_mb": peak[0] - base,
    "params": sum(p.numel() for p in net.parameters()),
    "versions": {"torch": torch.__version__, "snntorch": snn.__version__}}))
'''


def run_snntorch(args, data_path: str, n_train: int, n_test: int) -> dict:
    py = args.snntorch_python
    if not Path(py).exists():
        raise FileNotFoundError(
            f"{py} not found: create it with `python -m venv {common.venv_dir('snntorch')} && "
            f"{common.venv_dir('snntorch')}/bin/pip install torch==2.13.0 snntorch`, or pass "
            "--snntorch-python")
    cfg = {"data": str(data_path), "n_train": n_train, "n_test": n_test, "model": args.model,
           "epochs": args.epochs, "timesteps": args.timesteps, "encoding": args.encoding,
           "batch_size": args.batch_size, "threads": args.threads, "lr": args.lr,
           "beta": args.beta, "seed": args.seed, "slope": args.slope,
           "schedule": args.schedule}
    with tempfile.TemporaryDirectory() as d:
        script = Path(d) / "train_snntorch.py"
        script.write_text(SNNTORCH_SCRIPT)
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        proc = subprocess.run([py, str(script), json.dumps(cfg)], capture_output=True,
                              text=True, env=env, timeout=args.compare_timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"snnTorch run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="spikesim bench train", description=DESCRIPTION)
    ap.add_argument("--data", default=None, help="MNIST .npz (default $SPIKESIM_MNIST, then "
                    "../shared/data/mnist.npz)")
    ap.add_argument("--dataset", default="mnist", choices=["mnist"])
    ap.add_argument("--model", default="fc", choices=["fc", "conv"])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--timesteps", type=int, default=25)
    ap.add_argument("--encoding", default="direct", choices=["direct", "poisson"])
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--threads", type=int, default=2, help="numba (and torch) threads")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--beta", type=float, default=0.95, help="decay per step of every layer")
    ap.add_argument("--slope", type=float, default=25.0, help="fast-sigmoid surrogate slope")
    ap.add_argument("--schedule", default="none", choices=["none", "cosine"],
                    help="learning-rate schedule per epoch (cosine: lr * (1 + cos(pi e/E))/2)")
    ap.add_argument("--memory", default="full", choices=["full", "bits"],
                    help="BPTT memory option of spikesim (bits: packed spikes + recompute)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-samples", type=int, default=None,
                    help="use only the first N training samples (default all 60000)")
    ap.add_argument("--test-samples", type=int, default=None,
                    help="use only the first N test samples (default all 10000)")
    ap.add_argument("--compare", default=None, choices=["snntorch"],
                    help="also train with snnTorch in its own venv and print both")
    ap.add_argument("--snntorch-python", default=SNNTORCH_PY)
    ap.add_argument("--compare-timeout", type=float, default=4 * 3600)
    ap.add_argument("--repeats", type=int, default=1,
                    help="train this many times (each tool, alternating); timings are the "
                         "minimum, accuracy and memory come from the first run")
    ap.add_argument("--note", default="", help="free text stored in the JSON note")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--json", default=None, help="write results as JSON to this path")
    args = ap.parse_args(argv)
    args.progress = not args.no_progress
    for k in ("epochs", "timesteps", "batch_size", "threads", "repeats"):
        if getattr(args, k) < 1:
            ap.error(f"--{k.replace('_', '-')} must be >= 1")

    data_path = common.mnist_path(args.data)
    xtr, ytr, xte, yte = common.load_mnist(str(data_path))
    if args.train_samples:
        xtr, ytr = xtr[:args.train_samples], ytr[:args.train_samples]
    if args.test_samples:
        xte, yte = xte[:args.test_samples], yte[:args.test_samples]

    def record(res: dict, partial: bool) -> dict:
        return {"benchmark": "train", "dataset": args.dataset, "model": args.model,
               "epochs": args.epochs, "timesteps": args.timesteps, "encoding": args.encoding,
               "batch_size": args.batch_size, "dtype": args.dtype, "threads": args.threads,
               "lr": args.lr, "beta": args.beta, "memory": args.memory, "seed": args.seed,
               "train_samples": int(len(ytr)), "test_samples": int(len(yte)),
               "surrogate": f"fast_sigmoid(slope={args.slope:g})",
               "lr_schedule": args.schedule, "reset": "subtract (detached)",
               "loss": "cross-entropy on time-mean LI readout membrane", "optimizer": "Adam",
               "direct_input_once_per_sample": args.encoding == "direct",
               **res, "partial": partial, "loadavg_at_write": os.getloadavg(),
               "note": "measured on a 2-core machine shared with other jobs; timings are noisy "
                       "(see loadavg_1_5_15min)" + (f". {args.note}" if args.note else "")}

    def on_epoch(res: dict) -> None:
        if args.json and res["epochs_completed"] < args.epochs:
            common.write_json(args.json, {**record(res, True), **common.meta()})

    def timed(r: dict) -> dict:
        return {k: r[k] for k in ("epoch_s", "epoch_cpu_s", "peak_mem_growth_mb")}

    load = [os.getloadavg()]
    runs, st_runs = [], []
    for rep in range(args.repeats):  # alternate the tools so both see similar load
        try:  # BLAS threads follow --threads too (threadpoolctl is optional)
            from threadpoolctl import threadpool_limits
            limiter = threadpool_limits(limits=args.threads, user_api="blas")
        except ImportError:
            limiter = None
        try:
            runs.append(run_spikesim(args, (xtr, ytr, xte, yte), on_epoch))
        finally:
            if limiter is not None:
                limiter.restore_original_limits()
        load.append(os.getloadavg())
        if args.compare == "snntorch":
            st_runs.append(run_snntorch(args, str(data_path), len(ytr), len(yte)))
            load.append(os.getloadavg())
    # timings: the minimum over repeats; accuracy and memory: the first run (a later run in
    # the same process starts from a warmer allocator)
    res = dict(runs[0])
    res["epoch_s"] = min(r["epoch_s"] for r in runs)
    res["epoch_cpu_s"] = min(r["epoch_cpu_s"] for r in runs)
    out = record(res, False)
    out["repeats"] = args.repeats
    out["repeat_timings"] = [timed(r) for r in runs]
    out["loadavg_1_5_15min"] = load
    rows = [["spikesim", res["test_accuracy"], res["epoch_s"], res["epoch_cpu_s"], res["jit_s"],
             res["peak_mem_growth_mb"], res["params"]]]
    if args.compare == "snntorch":
        st = dict(st_runs[0])
        st["epoch_s"] = min(r["epoch_s"] for r in st_runs)
        st["epoch_cpu_s"] = min(r["epoch_cpu_s"] for r in st_runs)
        st["repeat_timings"] = [timed(r) for r in st_runs]
        out["snntorch"] = st
        out["epoch_time_ratio"] = res["epoch_s"] / st["epoch_s"]
        out["epoch_cpu_time_ratio"] = res["epoch_cpu_s"] / st["epoch_cpu_s"]
        out["accuracy_diff"] = res["test_accuracy"] - st["test_accuracy"]
        rows.append(["snntorch", st["test_accuracy"], st["epoch_s"], st["epoch_cpu_s"],
                     st["warmup_s"], st["peak_mem_growth_mb"], st["params"]])
    print(f"MNIST {args.model}, T={args.timesteps}, {args.encoding} input, {args.epochs} "
          f"epoch(s), batch {args.batch_size}, {args.threads} threads, {len(ytr)} train / "
          f"{len(yte)} test samples")
    common.print_table(rows, ["framework", "test_accuracy", "epoch_s", "epoch_cpu_s",
                              "jit/warmup_s", "peak_mem_growth_mb", "params"])
    if "epoch_time_ratio" in out:
        print(f"epoch time spikesim/snnTorch = {out['epoch_time_ratio']:.3f} (wall), "
              f"{out['epoch_cpu_time_ratio']:.3f} (CPU); accuracy difference = "
              f"{100 * out['accuracy_diff']:+.2f} pp")
    out.update(common.meta())
    common.write_json(args.json, out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
