"""Dropping numba cache files that another file's edit has made stale.

numba keys a cached kernel by the timestamp of its own source file only. A kernel that calls
(often inlines) a helper from another file of the same package keeps its compiled code after
that helper changes: ``kernels/event.py`` inlines helpers of ``kernels/plasticity.py``, and an
edited plasticity helper then ran in its old form until event.py was touched; module
constants read by a kernel (``backends/loihi/params.py``) are frozen into it the same way. A
package whose kernels use helpers or constants of its other files calls :func:`drop_stale`
on import: it keeps a hash of the package's sources beside the cache and deletes the
package's cache files when the hash changes (the next call compiles afresh).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

STAMP = "spikesim_kernels.sha256"


def _locator_probe() -> None:
    """A function of this file, only used to ask numba where it caches (see below)."""


def cache_dir(package_init: str) -> Path:
    """The directory where numba caches the kernels of the package of ``package_init`` (the
    one it uses for any function of a file in that directory)."""
    from numba.core.caching import FunctionCache

    init = Path(package_init).resolve()
    probe = type(_locator_probe)(_locator_probe.__code__.replace(co_filename=str(init)), {})
    return Path(FunctionCache(probe)._cache_path)


def drop_stale(package_init: str) -> bool:
    """Delete the numba cache files of the package of ``package_init`` (its ``__file__``) when
    its sources (every ``*.py`` of its directory) changed since the last call; returns
    whether files were deleted. Errors of the file system (a read-only install) are ignored:
    numba then recompiles or caches elsewhere as usual."""
    here = Path(package_init).resolve().parent
    try:
        srcs = [(p.name, p.read_bytes()) for p in sorted(here.glob("*.py"))]
        digest = hashlib.sha256(b"".join(n.encode() + b"\0" + b for n, b in srcs)).hexdigest()
        cache = cache_dir(package_init)
        stamp = cache / STAMP
        if stamp.is_file() and stamp.read_text() == digest:
            return False
        names = {n[:-3] for n, _ in srcs}
        dropped = False
        if cache.is_dir():
            for f in cache.iterdir():
                if f.suffix in (".nbi", ".nbc") and f.name.split(".")[0] in names:
                    f.unlink(missing_ok=True)
                    dropped = True
        cache.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
        return dropped
    except (OSError, RuntimeError):
        return False
