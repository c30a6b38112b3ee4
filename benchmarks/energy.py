"""SynOps and energy per inference across platforms on MNIST (``spikesim bench energy``).

One row per (model, platform), built by :func:`spikesim.compare.compare`: a float ANN priced
on the 45 nm CMOS table and the GPU-like baseline, its INT8 quantisation on the NorthPole
model, a converted SNN and a surrogate-gradient-trained SNN on the clock reference engine
(priced with the 45 nm CMOS table, named in the row) and on the TrueNorth and Loihi models.
Published figures (NorthPole, A100, H100 on ResNet-50; TrueNorth Eedn) are printed next to
the rows and stored as a separate ``published`` list.

Input: the full 28 x 28 = 784-pixel MNIST test digits in [0, 1] for every row (the same
task everywhere); the SNNs see the pixels as Bernoulli spikes per 1 ms step. The 784-input
fan-in of the first layer is mapped per chip, and every row says how in ``fan_in_mapping``:

- TrueNorth (256 axons per core: 128 inputs with a + and a - axon for ternary weights): the
  layer is compiled with partial-sum relay neurons (``relay="partial-sum"``); the relay
  threshold is chosen on training samples, and the relays' cost is measured (cores, neurons,
  spikes, synaptic events, the extra tick, their energy, and the accuracy against the same
  ternary network on the clock engine);
- Loihi (4096 input axons per core): native, the layer is split over cores by synapse memory;
- NorthPole: native, the INT8 weights sit in the layer's cores' memory (768 KB each);
- clock engine, 45 nm CMOS and GPU: no per-core fan-in limit.

The earlier 11 x 11 (cropped, 2 x 2-averaged, 121-input) result is kept as
``benchmarks/results/energy_mnist_11x11.json``.

Trained weights are cached under ``--cache`` (keyed by the settings and the data), so
reruns skip training.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from spikesim.benchmarks import common

DESCRIPTION = ("energy per inference and SynOps across platforms (ANN on 45 nm CMOS/GPU/"
               "NorthPole, converted and SG-trained SNNs on the clock engine/TrueNorth/Loihi), "
               "MNIST, with published figures for scale")


def preprocess(x: np.ndarray) -> np.ndarray:
    """uint8 images [N, 28, 28] -> [N, 784] float32 in [0, 1] (the full image, no crop)."""
    x = np.asarray(x)
    return (x.astype(np.float32) / 255.0).reshape(len(x), -1)


def default_cache() -> Path:
    return Path.home() / ".cache" / "spikesim" / "bench_energy"


def main(argv: list[str] | None = None) -> int:
    from spikesim.compare import (PLATFORMS, PUBLISHED, Settings, compare, format_rows,
                                  plot_rows)

    ap = argparse.ArgumentParser(prog="spikesim bench energy", description=DESCRIPTION)
    ap.add_argument("--dataset", default="mnist", choices=["mnist"])
    ap.add_argument("--data", default=None, help="MNIST .npz (default ../shared/data/mnist.npz)")
    ap.add_argument("--samples", type=int, default=10000, help="test samples (default all)")
    ap.add_argument("--train-samples", type=int, default=60000)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--timesteps", type=int, default=32)
    ap.add_argument("--epochs-ann", type=int, default=3)
    ap.add_argument("--epochs-snn", type=int, default=4)
    ap.add_argument("--batch", type=int, default=1000, help="test samples per run call")
    ap.add_argument("--gpu-batch", type=int, default=256)
    ap.add_argument("--num-bits", type=int, default=8, help="Loihi weight bits")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--platforms", default=",".join(PLATFORMS),
                    help=f"comma-separated subset of {','.join(PLATFORMS)}")
    ap.add_argument("--cache", default=None, help=f"trained-model cache (default "
                    f"{default_cache()}); 'none' disables it")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes for tests")
    ap.add_argument("--json", default=None, help="write results as JSON (plot next to it)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    if args.smoke:
        args.samples, args.train_samples = min(args.samples, 100), min(args.train_samples, 1000)
        args.hidden, args.timesteps = min(args.hidden, 16), min(args.timesteps, 8)
        args.epochs_ann, args.epochs_snn = 1, 1
    platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    bad = [p for p in platforms if p not in PLATFORMS]
    if bad:
        ap.error(f"--platforms: {bad} unknown; allowed {list(PLATFORMS)}")
    for name in ("samples", "train_samples", "hidden", "timesteps", "batch", "gpu_batch"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    cache = None if args.cache == "none" else Path(args.cache or default_cache())
    t0 = time.perf_counter()
    xtr, ytr, xte, yte = common.load_mnist(args.data)
    xtr, ytr = preprocess(xtr[:args.train_samples]), ytr[:args.train_samples]
    xte, yte = preprocess(xte[:args.samples]), yte[:args.samples]
    s = Settings(hidden=args.hidden, timesteps=args.timesteps, epochs_ann=args.epochs_ann,
                 epochs_snn=args.epochs_snn, batch=args.batch, gpu_batch=args.gpu_batch,
                 num_bits=args.num_bits, seed=args.seed)
    print(f"spikesim bench energy: MNIST 28x28 (784 inputs), {len(ytr)} training and "
          f"{len(yte)} test "
          f"samples, hidden {s.hidden}, {s.timesteps} steps")
    out = compare(xtr, ytr, xte, yte, s, platforms=platforms, cache_dir=cache,
                  progress=not args.no_progress)
    print(format_rows(out["rows"], PUBLISHED))
    out.update(benchmark="energy", dataset="mnist-28x28", wall_s=time.perf_counter() - t0,
               definitions={
                   "accuracy": "fraction of test samples classified correctly",
                   "synops": "effective synaptic operations per inference (AC + MAC, "
                             "NeuroBench), as counted by the engine or backend",
                   "macs": "multiply-accumulates per inference the platform is charged for "
                           "(dense ones on gpu and northpole, effective ones elsewhere)",
                   "spikes_per_inference": "spikes of all neuron layers per inference",
                   "energy_j": "spikesim.energy.report(counts, platform, **report_kwargs)"
                               ".total: J per inference, low/nominal/high",
                   "latency_s": "clock engine and TrueNorth: simulated time per inference "
                                "(1 ms steps); Loihi and NorthPole: the model's chip time per "
                                "inference; ANN rows: not modelled",
                   "fan_in_mapping": "how the platform maps the largest fan-in (784 inputs "
                                     "into one hidden neuron): method, limit, cores; on "
                                     "TrueNorth the relay neurons' measured cost "
                                     "(relay_accuracy_cost = ternary network on the clock "
                                     "engine minus TrueNorth, same test spikes; "
                                     "relay_energy_j = the relays' synaptic events + the "
                                     "extra tick's static power, J per inference)"},
               notes=["measured on a 2-core machine shared with other agents' jobs: host "
                      "timings (wall_s, host_run_s) are noisy",
                      "published figures are for other workloads (ResNet-50 on ImageNet, "
                      "Eedn networks), given for scale only"],
               **common.meta())
    if args.json:
        common.write_json(args.json, out)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ax = plot_rows(out["rows"], published=PUBLISHED)
        ax.set_title(f"MNIST 28x28 (784 inputs), {len(yte)} test samples: energy per "
                     "inference vs accuracy", fontsize=9)
        png = Path(args.json).with_suffix(".png")
        ax.figure.tight_layout()
        ax.figure.savefig(png, dpi=110)
        plt.close(ax.figure)
        print(f"wrote {png}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
