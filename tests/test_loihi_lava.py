"""run_lif against Lava's own bit-accurate LIF code (lava-nc 0.10.0, ``PyLifModelBitAcc``).

``tests/lava_lif_reference.py`` runs under $SPIKESIM_VENVS/lava (python 3.10 + lava-nc 0.10.0);
the test is skipped when that virtualenv is absent. Create it with::

    python3.10 -m venv $SPIKESIM_VENVS/lava && $SPIKESIM_VENVS/lava/bin/pip install lava-nc==0.10.0

(or point SPIKESIM_LAVA_PYTHON at another interpreter with lava-nc).
"""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from spikesim.benchmarks.common import venv_python

from spikesim.backends.loihi import run_lif

LAVA_PY = os.environ.get("SPIKESIM_LAVA_PYTHON", str(venv_python("lava")))
SCRIPT = Path(__file__).with_name("lava_lif_reference.py")


def _lava(a_in, du, dv, vth, bias_mant, bias_exp):
    payload = json.dumps({"a_in": a_in.tolist(), "du": int(du), "dv": int(dv), "vth": int(vth),
                          "bias_mant": bias_mant.tolist(), "bias_exp": bias_exp.tolist()})
    r = subprocess.run([LAVA_PY, str(SCRIPT)], input=payload, capture_output=True, text=True,
                       timeout=100)
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(r.stdout)
    return np.array(d["s"], bool), np.array(d["u"]), np.array(d["v"])


@pytest.mark.timeout(120)
@pytest.mark.skipif(not Path(LAVA_PY).exists(), reason="no lava-nc virtualenv at " + LAVA_PY)
@pytest.mark.parametrize("case", range(6))
def test_bit_identical_to_lava(case):
    rng = np.random.default_rng(100 + case)
    T, n = 150, 40
    if case == 0:      # extremes: wrap of u, saturation of v, largest bias
        a = rng.integers(-32768, 32768, (T, n))
        du, dv, vth = 0, 0, int(rng.integers(0, 2 ** 17))
    elif case == 1:    # no decay of u at all (du = 0 still decays by 1/4096) and full dv
        a = rng.integers(-200, 400, (T, n))
        du, dv, vth = 0, 4095, 50
    else:
        a = np.where(rng.random((T, n)) < 0.3, rng.integers(-300, 900, (T, n)), 0)
        du, dv = int(rng.integers(0, 4096)), int(rng.integers(0, 4096))
        vth = int(rng.integers(1, 2000))
    bm = rng.integers(-4096, 4096, n)
    be = rng.integers(0, 8, n)
    s, u, v = run_lif(a, du, dv, vth, bm, be)
    ls, lu, lv = _lava(a, du, dv, vth, bm, be)
    np.testing.assert_array_equal(u, lu)
    np.testing.assert_array_equal(v, lv)
    np.testing.assert_array_equal(s, ls)
    if case >= 2:
        assert 0 < s.sum() < s.size
