"""SI unit constants.

Every parameter in spikesim is a plain float in SI units (seconds, volts, amperes,
siemens, hertz). These constants make code read like the paper it reproduces::

    from spikesim.units import ms, mV
    tau = 20 * ms        # 0.02 (seconds)
    v_th = -50 * mV      # -0.05 (volts)

Units are applied once, at the boundary; kernels run on bare floats (as in Brian2).
"""
second = s = 1.0
ms = 1e-3
us = 1e-6
ns = 1e-9
minute = 60.0

volt = V = 1.0
mV = 1e-3
uV = 1e-6

amp = A = 1.0
mA = 1e-3
uA = 1e-6
nA = 1e-9
pA = 1e-12

siemens = S = 1.0
mS = 1e-3
uS = 1e-6
nS = 1e-9

farad = F = 1.0
uF = 1e-6
nF = 1e-9
pF = 1e-12

ohm = 1.0
Mohm = 1e6
Gohm = 1e9

hertz = Hz = 1.0
kHz = 1e3

joule = J = 1.0
mJ = 1e-3
uJ = 1e-6
nJ = 1e-9
pJ = 1e-12

watt = W = 1.0
mW = 1e-3
