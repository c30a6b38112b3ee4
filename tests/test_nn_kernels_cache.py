"""The parallel and serial builds of an nn kernel (``_kernels._pair``) must not share numba's
on-disk cache entry: numba keys the entry by name, signature and bytecode but not by
``parallel=``, so with one shared entry the build compiled first is loaded for both, and a
"parallel" kernel runs on one thread. Checked in fresh processes with an empty cache: the
serial build compiles first, then a new process runs the parallel build from the cache and
a worker thread must do part of the work (per-thread CPU time from /proc)."""
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import os, sys
    import numba
    import numpy as np
    from spikesim.nn import _kernels as K

    numba.set_num_threads(2)
    B, N, T = 64, 2000, 100
    X = np.ones((T, B, N), np.float32)
    U = np.empty((T, B, N), np.float32)
    beta = np.full(N, 0.9, np.float32)
    small = (np.ones((2, 2, 10), np.float32), 2, beta[:10].copy(),
             np.empty((2, 2, 10), np.float32))  # same types as the big call
    if sys.argv[1] == "compile":
        K._LI_FWD[1](*small)  # the serial build compiles first
        K._LI_FWD[0](*small)
        sys.exit(0)

    def cpu(tid):
        with open(f"/proc/self/task/{tid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return int(parts[11]) + int(parts[12])  # utime + stime (ticks)

    K._LI_FWD[0](*small)  # loads the parallel build from the cache
    main = str(os.getpid())
    tids = os.listdir("/proc/self/task")
    before = {t: cpu(t) for t in tids}
    for _ in range(30):
        K._LI_FWD[0](X, T, beta, U)
    after = {t: cpu(t) for t in os.listdir("/proc/self/task")}
    workers = sum(after[t] - before.get(t, 0) for t in after if t != main)
    total = sum(after[t] - before.get(t, 0) for t in after)
    print(workers, total)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.timeout(300)
def test_parallel_build_runs_on_threads_after_serial_build_was_cached(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), NUMBA_NUM_THREADS="2")
    script = tmp_path / "k.py"
    script.write_text(SCRIPT)
    subprocess.run([sys.executable, str(script), "compile"], env=env, check=True,
                   timeout=240)
    out = subprocess.run([sys.executable, str(script), "run"], env=env, check=True,
                         timeout=240, capture_output=True, text=True).stdout.split()
    workers, total = int(out[-2]), int(out[-1])
    assert total > 0
    assert workers >= 0.2 * total, (workers, total)


def test_parallel_and_serial_builds_train_identically(monkeypatch):
    """Forcing the LIF/LI/Adam kernels onto their parallel builds (threshold 0) or their
    serial builds gives bit-identical training (the convolution kernels' builds are compared
    in tests/test_nn_conv_sparse.py)."""
    import numpy as np

    from spikesim.nn import LIF, LI, Adam, CrossEntropyMembrane, Dense, Sequential, Trainer
    from spikesim.nn import _kernels as K

    rng = np.random.default_rng(0)
    x = rng.random((16, 20), dtype=np.float32)
    y = rng.integers(0, 3, 16)
    states = []
    for small in (0, 10**15):
        monkeypatch.setattr(K, "_SMALL", small)
        net = Sequential(Dense(20, 50, rng=0), LIF(beta=0.9, threshold=0.5),
                         Dense(50, 3, rng=1), LI())
        tr = Trainer(net, CrossEntropyMembrane(), Adam(net, 1e-2), timesteps=5, batch_size=8,
                     rng=1, progress=False)
        for i in range(2):
            tr.train_step(x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8])
        states.append(net.state_dict())
    for k in states[0]:
        np.testing.assert_array_equal(states[0][k], states[1][k], err_msg=k)
