"""numba kernels: plain @njit functions on arrays, compiled lazily with cache=True.

On import, cache files made stale by an edit of another kernel file are dropped
(:mod:`spikesim._numba_cache`)."""

from spikesim._numba_cache import drop_stale as _drop_stale

_drop_stale(__file__)  # kernels here call (inline) each other across files: see the module
