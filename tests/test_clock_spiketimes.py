"""SpikeTimes keeps events given in (time, batch, index) order and sorts any other order."""
from __future__ import annotations

import numpy as np

from spikesim.sim import SpikeTimes
from spikesim.sim.inputs import _sorted


def test_spiketimes_order_presorted_and_not():
    rng = np.random.default_rng(0)
    n_sorted = 0
    for trial in range(400):
        n = int(rng.integers(0, 30))
        t = rng.integers(0, 4, n) * 0.5
        b = rng.integers(0, 3, n)
        i = rng.integers(0, 4, n)
        if trial % 2:
            o = np.lexsort((i, b, t))
            t, b, i = t[o], b[o], i[o]
        n_sorted += _sorted(t, b, i)
        st = SpikeTimes(t, i, batch=b)
        o = np.lexsort((i, b, t))
        np.testing.assert_array_equal(st.times, t[o])
        np.testing.assert_array_equal(st.batch, b[o])
        np.testing.assert_array_equal(st.indices, i[o])
    assert 200 <= n_sorted < 400  # the unsorted half is (mostly) detected as unsorted
    assert not _sorted(np.array([0.0, 0.0]), np.array([0, 0]), np.array([2, 1]))
    assert not _sorted(np.array([0.0, 0.0]), np.array([1, 0]), np.array([0, 1]))
    assert _sorted(np.array([0.0, 0.5]), np.array([1, 0]), np.array([3, 1]))
