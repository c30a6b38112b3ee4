"""ANN-to-SNN conversion on MNIST: ANN accuracy vs converted-SNN accuracy against timesteps.

``spikesim bench convert --method qcfs|percentile --timesteps 4,8,16,32,64,128 --json PATH``

* model ``cnn`` (``tiny``: 4 and 8 channels, for smoke tests): Conv(1, 12, 5) - BatchNorm - act - AvgPool2 - Conv(12, 32, 5) - BatchNorm -
  act - AvgPool2 - Flatten - Dense(512, 10); ``act`` is ``QCFS(L)`` (``--method qcfs``) or
  ``ReLU`` (``--method percentile`` / ``max``).
* ``--pool max`` uses max pooling in the ANN, converted by the ReLU tree of
  :mod:`spikesim.convert.build` (extra IF layers; compare depth, synops and agreement with
  ``--pool avg`` to see its cost).
* The ANN is trained with :class:`spikesim.nn.Trainer` (Adam, batch 256, cosine schedule from
  ``--lr`` 3e-3 over ``--epochs`` 4, then for QCFS one fine-tuning epoch from 3e-4), or loaded
  from ``--checkpoint`` when that file exists (written after training otherwise).
* :func:`spikesim.convert.convert` folds batch-norm, normalises (QCFS thresholds, or the
  ``--percentile`` of ReLU activations on ``--calibration`` training images) and builds an
  ``ir.Network`` with IF neurons (reset by subtraction, ``--v-init`` times threshold) and an
  LI membrane readout. :func:`spikesim.convert.evaluate` runs it on the clock engine in batches
  of ``--batch`` images for ``max(T) + depth`` steps and reads the readout after
  ``T + depth`` steps for every ``T`` (the layer-synchronous SNN after ``T`` timesteps).
* Reported: ``ann_accuracy``, ``snn_accuracy``/``agreement``/``synops_per_inference`` (dicts
  keyed by ``T``), ``ann_macs``, run and JIT times; a plot of accuracy against ``T``
  (``--plot``, default next to ``--json``).
* ``--time-limit S`` stops after the batch that passes ``S`` seconds (``snn_test_samples``
  says how many test images were simulated); ``--resume PARTIAL.json`` continues such a run:
  it checks that the settings, the ANN accuracy and the normalisation scales equal those of
  ``PARTIAL.json``, simulates only the test images after its first ``snn_test_samples`` and
  combines the two (accuracies, agreements and synaptic operations are sums over images and
  each image is simulated on its own, so the result equals one uninterrupted run; ``parts``
  in the JSON lists the runs). Analog input only (Poisson draws would differ).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from spikesim.benchmarks import common

DESCRIPTION = "ANN-to-SNN conversion (QCFS / percentile normalisation): accuracy vs timesteps"
#: conv channels (first, second) of each model; "tiny" is for smoke tests
MODELS = {"cnn": (12, 32), "tiny": (4, 8)}


def build_model(kind: str, method: str, levels: int = 8, seed: int = 0, pool: str = "avg"):
    """The benchmark ANN (``kind="cnn"``) with QCFS (``method="qcfs"``) or ReLU activations
    and average (``pool="avg"``) or max pooling."""
    from spikesim import nn

    if kind not in MODELS:
        raise ValueError(f"--model {kind!r} is unknown: allowed {list(MODELS)}")
    c1, c2 = MODELS[kind]

    def act():
        return nn.QCFS(levels=levels, threshold=3.0) if method == "qcfs" else nn.ReLU()

    if pool not in ("avg", "max"):
        raise ValueError(f"--pool {pool!r} is unknown: allowed 'avg', 'max'")
    P = nn.AvgPool2d if pool == "avg" else nn.MaxPool2d
    return nn.Sequential(
        nn.Conv2d(1, c1, 5, rng=seed), nn.BatchNorm(c1), act(), P(2),
        nn.Conv2d(c1, c2, 5, rng=seed + 1), nn.BatchNorm(c2), act(), P(2),
        nn.Flatten(), nn.Dense(c2 * 16, 10, rng=seed + 2))


def train_ann(model, x_train, y_train, *, epochs: int, lr: float = 3e-3, batch_size: int = 256,
              finetune_epochs: int = 0, finetune_lr: float = 3e-4, seed: int = 0,
              progress: bool = True):
    """Train ``model`` on uint8 images ``[N, 1, 28, 28]`` (scaled by 1/255): Adam with a
    cosine schedule from ``lr`` over ``epochs`` epochs, then ``finetune_epochs`` more with a
    cosine schedule from ``finetune_lr`` (shuffling seeds ``seed`` and ``seed + 1``)."""
    from spikesim import nn

    for ep, lr0, sd in ((epochs, lr, seed), (finetune_epochs, finetune_lr, seed + 1)):
        if ep <= 0:
            continue
        tr = nn.Trainer(model, nn.CrossEntropy(), nn.Adam(model, lr0), batch_size=batch_size,
                        schedule=nn.CosineLR(ep, min_factor=0.05), rng=sd, input_scale=1 / 255,
                        progress=progress)
        tr.fit(x_train, y_train, epochs=ep)
    return model


def ann_predict(model, x, batch: int = 1000) -> np.ndarray:
    """ANN class predictions for uint8 images (scaled by 1/255)."""
    model.eval()
    out = [model.forward(x[i:i + batch].astype(np.float32) / 255).argmax(1)
           for i in range(0, len(x), batch)]
    return np.concatenate(out)


def _ints(s: str) -> list[int]:
    try:
        out = [int(v) for v in s.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a comma-separated list of ints") from None
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError(f"{s!r}: need ints >= 1")
    return out


def plot(path, ts, snn, ann, title) -> None:
    """Accuracy against timesteps, with the ANN as a horizontal line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogx(ts, [100 * snn[str(t)] for t in ts], "o-", base=2, label="SNN (clock engine)")
    ax.axhline(100 * ann, color="k", ls="--", label=f"ANN {100 * ann:.2f} %")
    ax.set_xlabel("timesteps T")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xticks(ts)
    ax.set_xticklabels([str(t) for t in ts])
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


#: settings that must equal those of a run continued with --resume
RESUME_KEYS = ("benchmark", "dataset", "model", "method", "activation", "pool", "qcfs_levels",
               "norm", "percentile", "v_init", "reset", "readout", "input_coding",
               "calibration_samples", "dtype")


def _load_resume(a, method_act: str, ann_acc: float, n_cal: int, net) -> dict:
    """The JSON of ``--resume``, checked against this run's settings, ANN and scales."""
    prev = json.loads(Path(a.resume).read_text())
    if a.input != "analog":
        raise ValueError(f"--resume needs --input analog (Poisson draws of a resumed run differ "
                         f"from an uninterrupted one), got --input {a.input}")
    now = {"benchmark": "convert", "dataset": a.dataset, "model": a.model, "method": a.method,
           "activation": method_act, "pool": a.pool,
           "qcfs_levels": a.qcfs_levels if a.method == "qcfs" else None,
           "norm": ("max" if a.method == "max" else "percentile") if a.method != "qcfs"
           else "qcfs-threshold",
           "percentile": a.percentile if a.method == "percentile" else None,
           "v_init": a.v_init, "reset": a.reset, "readout": a.readout, "input_coding": a.input,
           "calibration_samples": n_cal, "dtype": a.dtype}
    for k in RESUME_KEYS:
        if prev.get(k) != now[k]:
            raise ValueError(f"--resume {a.resume}: {k} = {prev.get(k)!r} there, {now[k]!r} in "
                             f"this run; a run continues only with the same settings")
    if prev.get("ann_accuracy") != ann_acc:
        raise ValueError(f"--resume {a.resume}: ANN accuracy {prev.get('ann_accuracy')} there, "
                         f"{ann_acc} now: not the same ANN (use its --checkpoint)")
    s_prev = np.asarray(prev.get("scales"), dtype=float)
    s_now = np.asarray(net.metadata["convert"]["scales"], dtype=float)
    if s_prev.shape != s_now.shape or not np.allclose(s_prev, s_now, rtol=1e-9, atol=0):
        raise ValueError(f"--resume {a.resume}: normalisation scales {s_prev.tolist()} there, "
                         f"{s_now.tolist()} now: not the same conversion")
    if sorted(int(T) for T in prev.get("snn_accuracy", {})) != sorted(set(a.timesteps)):
        raise ValueError(f"--resume {a.resume}: timesteps {sorted(prev.get('snn_accuracy', {}))} "
                         f"there, --timesteps {sorted(set(a.timesteps))} now")
    if not isinstance(prev.get("snn_test_samples"), int) or prev["snn_test_samples"] < 1:
        raise ValueError(f"--resume {a.resume}: snn_test_samples = "
                         f"{prev.get('snn_test_samples')!r} must be an int >= 1")
    return prev


def main(argv: list[str] | None = None) -> int:
    from spikesim.convert import ann_macs, convert, fold_batchnorm, simulate
    from spikesim.nn import load_checkpoint, save_checkpoint

    ap = argparse.ArgumentParser(prog="spikesim bench convert", description=DESCRIPTION)
    ap.add_argument("--dataset", default="mnist", choices=["mnist"])
    ap.add_argument("--model", default="cnn", choices=list(MODELS))
    ap.add_argument("--method", default="qcfs", choices=["qcfs", "percentile", "max"])
    ap.add_argument("--timesteps", type=_ints, default=[4, 8, 16, 32, 64, 128])
    ap.add_argument("--qcfs-levels", type=int, default=8)
    ap.add_argument("--pool", default="avg", choices=["avg", "max"],
                    help="pooling of the ANN (max: converted by the ReLU-tree approximation)")
    ap.add_argument("--percentile", type=float, default=99.9)
    ap.add_argument("--v-init", type=float, default=0.5,
                    help="initial membrane as a fraction of threshold (default 0.5)")
    ap.add_argument("--reset", default="subtract", choices=["subtract", "zero"])
    ap.add_argument("--readout", default="membrane", choices=["membrane", "spikes"])
    ap.add_argument("--input", default="analog", choices=["analog", "poisson"])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch-size", type=int, default=256, help="ANN training batch")
    ap.add_argument("--finetune-epochs", type=int, default=None,
                    help="extra epochs from --finetune-lr (default: 1 for qcfs, 0 otherwise)")
    ap.add_argument("--finetune-lr", type=float, default=3e-4)
    ap.add_argument("--train-samples", type=int, default=60000)
    ap.add_argument("--test-samples", type=int, default=10000,
                    help="test images the SNN is simulated on (ANN: always the full test set)")
    ap.add_argument("--calibration", type=int, default=1000, help="training images for norm")
    ap.add_argument("--batch", type=int, default=500, help="images simulated together")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--threads", type=int, default=None, help="clock-engine numba threads")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="stop simulating after the batch that passes this many seconds and "
                         "report the images done (snn_test_samples)")
    ap.add_argument("--resume", default=None,
                    help="JSON of an earlier (time-limited) run with the same settings: simulate "
                         "only the test images after its snn_test_samples and combine")
    ap.add_argument("--checkpoint", default=None,
                    help="ANN .npz: loaded if it exists, else written after training")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=None, help="MNIST .npz (see benchmarks.common)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--plot", default=None, help="PNG path (default: --json with .png)")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    progress = not a.no_progress

    xtr, ytr, xte, yte = common.load_mnist(a.data)
    xtr, ytr = xtr[:a.train_samples, None], ytr[:a.train_samples]
    xte = xte[:, None]
    method_act = "qcfs" if a.method == "qcfs" else "relu"
    model = build_model(a.model, a.method, a.qcfs_levels, a.seed, a.pool)
    train_s, epochs_run = 0.0, 0
    ft = a.finetune_epochs if a.finetune_epochs is not None else (1 if a.method == "qcfs" else 0)
    ckpt = Path(a.checkpoint) if a.checkpoint else None
    if ckpt is not None and ckpt.exists():
        meta = load_checkpoint(ckpt, model)
        train_s, epochs_run = float(meta.get("train_s", 0.0)), int(meta.get("epochs", 0))
        print(f"loaded ANN from {ckpt}")
    else:
        with common.Timer() as t:
            train_ann(model, xtr, ytr, epochs=a.epochs, lr=a.lr, batch_size=a.batch_size,
                      finetune_epochs=ft, finetune_lr=a.finetune_lr, seed=a.seed,
                      progress=progress)
        train_s, epochs_run = t.s, a.epochs + ft
        if ckpt is not None:
            save_checkpoint(ckpt, model, meta={"train_s": train_s, "epochs": epochs_run,
                                               "model": a.model, "method": a.method})
    model.eval()
    ann_pred = ann_predict(model, xte)
    ann_acc = float(np.mean(ann_pred == yte))

    rng = np.random.default_rng(a.seed)
    cal = xtr[rng.choice(len(xtr), min(a.calibration, len(xtr)), replace=False)] / 255.0
    norm = "max" if a.method == "max" else "percentile"
    with common.Timer() as tc:
        net = convert(model, cal, norm=norm, percentile=a.percentile, reset=a.reset,
                      v_init=a.v_init, readout=a.readout, input_coding=a.input)
    n = min(a.test_samples, len(xte))
    prev = _load_resume(a, method_act, ann_acc, len(cal), net) if a.resume else None
    n0 = prev["snn_test_samples"] if prev else 0
    if n0 >= n:
        raise ValueError(f"--resume {a.resume}: it already covers {n0} >= --test-samples {n} "
                         f"test images")
    with common.Timer() as ts_:
        run = simulate(net, xte[n0:n] / 255.0, a.timesteps, batch=a.batch, rng=a.seed,
                       dtype=a.dtype, threads=a.threads, max_seconds=a.time_limit,
                       progress=progress)
    ts = run.timesteps
    if run.n < n - n0:
        print(f"time limit: simulated {run.n} of {n - n0} test images")
    n = n0 + run.n
    ys, ann_sub = yte[:n], ann_pred[:n]
    # totals over the images of this run, plus those of the resumed run
    n_ok = {str(T): int(np.sum(run.predictions(T) == yte[n0:n])) for T in ts}
    n_agree = {str(T): int(np.sum(run.predictions(T) == ann_pred[n0:n])) for T in ts}
    tot = {k: {str(T): float(v) for T, v in getattr(run, k).items()}
           for k in ("synops", "synops_ac", "synops_mac", "spikes")}
    part = {"first": n0, "n": run.n, "git_commit": common.meta().get("git_commit"),
            "date": common.meta().get("date"), "run_s": run.run_s, "jit_s": run.jit_s,
            "simulate_wall_s": ts_.s, "batch": a.batch, "dtype": a.dtype, "threads": a.threads,
            "loadavg_end": list(os.getloadavg())}
    parts = [part]
    if prev:
        for T in map(str, ts):
            n_ok[T] += int(round(prev["snn_accuracy"][T] * n0))
            n_agree[T] += int(round(prev["agreement"][T] * n0))
            for k in tot:
                tot[k][T] += prev[f"{k}_per_inference"][T] * n0
        parts = (prev.get("parts") or [{
            "first": 0, "n": n0, **{k: prev.get(k) for k in (
                "git_commit", "date", "run_s", "jit_s", "simulate_wall_s", "batch", "dtype",
                "threads")}}]) + parts
    run_s = sum(p_.get("run_s") or 0.0 for p_ in parts)
    jit_s = sum(p_.get("jit_s") or 0.0 for p_ in parts)
    wall_s = sum(p_.get("simulate_wall_s") or 0.0 for p_ in parts)
    snn_acc = {T: n_ok[T] / n for T in n_ok}
    agree = {T: n_agree[T] / n for T in n_agree}
    synops = {T: tot["synops"][T] / n for T in n_ok}
    macs = ann_macs(fold_batchnorm(model), (1, 28, 28))
    ann_sub_acc = float(np.mean(ann_sub == ys))
    rows = [[T, 100 * snn_acc[str(T)], 100 * (snn_acc[str(T)] - ann_sub_acc),
             100 * agree[str(T)], synops[str(T)], synops[str(T)] / macs] for T in ts]
    print(f"ANN ({a.model}, {method_act}): {100 * ann_acc:.2f} % on {len(yte)} test images; "
          f"{100 * ann_sub_acc:.2f} % on the {n} simulated; {macs} MACs per inference; "
          f"SNN depth {net.metadata['convert']['depth']} (runs T + depth steps)")
    common.print_table(rows, ["T", "SNN acc %", "SNN - ANN pp", "agreement %", "synops/inf",
                              "synops/MAC"])
    print(f"simulate ({len(parts)} part(s)): run {run_s:.1f} s, jit {jit_s:.1f} s, "
          f"wall {wall_s:.1f} s")
    out = {
        **common.meta(),
        "benchmark": "convert", "dataset": a.dataset, "model": a.model, "method": a.method,
        "activation": method_act, "pool": a.pool, "qcfs_levels": a.qcfs_levels if a.method == "qcfs" else None,
        "norm": norm if a.method != "qcfs" else "qcfs-threshold",
        "percentile": a.percentile if a.method == "percentile" else None,
        "v_init": a.v_init, "reset": a.reset, "readout": a.readout, "input_coding": a.input,
        "epochs": epochs_run, "train_samples": len(ytr), "train_s": train_s,
        "calibration_samples": len(cal), "convert_s": tc.s,
        "ann_accuracy": ann_acc, "ann_test_samples": int(len(yte)),
        "snn_test_samples": n, "ann_accuracy_on_snn_samples": ann_sub_acc,
        "snn_accuracy": snn_acc, "agreement": agree, "synops_per_inference": synops,
        "synops_ac_per_inference": {T: tot["synops_ac"][T] / n for T in n_ok},
        "synops_mac_per_inference": {T: tot["synops_mac"][T] / n for T in n_ok},
        "spikes_per_inference": {T: tot["spikes"][T] / n for T in n_ok},
        "ann_macs": macs, "depth": net.metadata["convert"]["depth"],
        "scales": net.metadata["convert"]["scales"],
        "steps_simulated": max(ts) + net.metadata["convert"]["depth"],
        "batch": a.batch, "dtype": a.dtype, "threads": a.threads, "time_limit_s": a.time_limit, "run_s": run_s, "jit_s": jit_s,
        "simulate_wall_s": wall_s, "parts": parts, "loadavg": list(os.getloadavg()),
        "notes": "SNN read out after T + depth clock steps (equal to the layer-synchronous SNN "
                 "after T steps); synops counted by the engine over those steps (AC from "
                 "spikes, MAC from analog input). Measured on a shared 2-core machine "
                 "(other jobs running): times are noisy upper bounds."
                 + (f" Combined from {len(parts)} runs of consecutive test images (--resume, "
                    "see parts): same settings, ANN and scales (checked); images are "
                    "simulated independently, so the sums equal one run's." if len(parts) > 1
                    else ""),
    }
    common.write_json(a.json, out)
    plot_path = a.plot or (str(Path(a.json).with_suffix(".png")) if a.json else None)
    if plot_path:
        plot(plot_path, ts, snn_acc, ann_sub_acc,
             f"MNIST {a.model} {a.method}: SNN vs ANN ({n} test images)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
