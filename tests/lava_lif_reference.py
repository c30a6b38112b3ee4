"""Runs Lava's own ``PyLifModelBitAcc`` arithmetic (lava-nc 0.10.0) on JSON input from stdin.

Executed by tests/test_loihi_lava.py under $SPIKESIM_VENVS/lava (python 3.10 with lava-nc), never
imported by the package. The model object is driven without Lava's runtime: each step makes
the calls of ``AbstractPyLifModelFixed.run_spk`` in its order (scale_bias, scale_threshold,
subthr_dynamics, spiking_activation, reset_voltage); the input is what Lava's dense InPort
delivers (int16 zeros plus the sender's int32 data).
"""
import json, sys
import numpy as np
from lava.proc.lif.models import PyLifModelBitAcc
d = json.load(sys.stdin)
a_in = np.array(d["a_in"], dtype=np.int16)
T, n = a_in.shape
m = PyLifModelBitAcc({})
m.u = np.zeros(n, np.int32); m.v = np.zeros(n, np.int32)
m.du = d["du"]; m.dv = d["dv"]; m.vth = d["vth"]
m.bias_mant = np.array(d["bias_mant"], np.int16); m.bias_exp = np.array(d["bias_exp"], np.int16)
S, U, V = [], [], []
for t in range(T):
    # run_spk without ports: the same calls in the same order (hardware.md 2.2)
    m.scale_bias()
    if not m.isthrscaled:
        m.scale_threshold()
    # the InPort sums the sender's int32 data into int16 zeros -> int32
    m.subthr_dynamics(activation_in=np.zeros(n, np.int16) + a_in[t].astype(np.int32))
    s = m.spiking_activation()
    m.reset_voltage(spike_vector=s)
    S.append(s.astype(int).tolist()); U.append(m.u.tolist()); V.append(m.v.tolist())
json.dump({"s": S, "u": U, "v": V}, sys.stdout)
