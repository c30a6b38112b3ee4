"""Runs inside the snnTorch virtualenv (torch + snntorch + nir), never in spikesim's env.

Builds a small two-layer snnTorch network, simulates it with snnTorch itself on random input
spikes, exports it with snnTorch's own ``export_to_nir`` and writes ``net.nir`` plus
``run.npz`` (input frames and the spikes of each layer, ``[T, n]``) to ``out_dir``.

Usage: python nir_snntorch_producer.py OUT_DIR --dtype float64 --neuron leaky --reset zero
"""
import argparse
import os

import nir
import numpy as np
import snntorch as snn
import torch
from snntorch.export_nir import export_to_nir
from snntorch.utils import reset as reset_hidden


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    ap.add_argument("--neuron", choices=["leaky", "synaptic"], default="leaky")
    ap.add_argument("--reset", choices=["zero", "subtract"], default="subtract")
    ap.add_argument("--bias", action="store_true")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sizes", default="40,60,12")
    a = ap.parse_args()
    torch.set_default_dtype(getattr(torch, a.dtype))
    torch.manual_seed(a.seed)
    n_in, n_h, n_o = (int(s) for s in a.sizes.split(","))

    def layer(n, output=False):
        beta = torch.rand(n) * 0.25 + 0.7
        thr = torch.rand(n) * 0.5 + 0.75
        kw = dict(threshold=thr, init_hidden=True, reset_mechanism=a.reset, output=output)
        if a.neuron == "leaky":
            return snn.Leaky(beta=beta, **kw)
        return snn.Synaptic(alpha=torch.rand(n) * 0.4 + 0.4, beta=beta, **kw)

    def heaviside(mem_shift):  # snnTorch's forward spike (mem > threshold), kept in dtype:
        return (mem_shift > 0).to(mem_shift.dtype)  # its default casts to float32

    fc1 = torch.nn.Linear(n_in, n_h, bias=a.bias)
    fc2 = torch.nn.Linear(n_h, n_o, bias=a.bias)
    with torch.no_grad():
        fc1.weight.mul_(3.0)
        fc2.weight.mul_(3.0)
    lif1, lif2 = layer(n_h), layer(n_o, output=True)
    if a.dtype == "float64":
        lif1.spike_grad = lif2.spike_grad = heaviside
    net = torch.nn.Sequential(fc1, lif1, fc2, lif2)
    graph = export_to_nir(net, torch.zeros(1, n_in), ignore_dims=[0])
    nir.write(os.path.join(a.out_dir, "net.nir"), graph)

    gen = torch.Generator().manual_seed(a.seed + 1)
    x = (torch.rand(a.steps, 1, n_in, generator=gen) < 0.2).to(torch.get_default_dtype())
    reset_hidden(net)
    s1, s2 = [], []
    with torch.no_grad():
        for t in range(a.steps):
            h = lif1(fc1(x[t]))
            out = lif2(fc2(h))
            s1.append(h[0].numpy().copy())
            s2.append(out[0][0].numpy().copy())
    names = {type(m).__name__: k for k, m in graph.nodes.items()}
    np.savez(os.path.join(a.out_dir, "run.npz"), x=x[:, 0].numpy(), lif1=np.array(s1),
             lif2=np.array(s2), dt=1e-4, layer_names=np.array(sorted(graph.nodes)))
    print("ok", names)


if __name__ == "__main__":
    main()
