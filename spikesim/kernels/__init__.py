"""numba kernels: plain @njit functions on arrays, compiled lazily with cache=True."""
