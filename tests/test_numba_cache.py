"""Stale numba caches across files (spikesim._numba_cache): a kernel that inlines a helper of
another file keeps its compiled code when only the helper's file changes (measured with
numba 0.68: this test's package without the drop_stale call returns the stale 1 after the
edit); packages that call drop_stale on import recompile instead."""
import os
import subprocess
import sys
import textwrap

import pytest

from spikesim import _numba_cache


def _write_pkg(root, value):
    pkg = root / "stalepkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text(
        "from spikesim._numba_cache import drop_stale\ndrop_stale(__file__)\n")
    (pkg / "helper.py").write_text(textwrap.dedent(f"""
        from numba import njit

        @njit(cache=True)
        def h():
            return {value}
        """))
    if (pkg / "caller.py").exists():
        return pkg  # only the helper changes: the caller's file keeps its timestamp
    (pkg / "caller.py").write_text(textwrap.dedent("""
        from numba import njit
        from stalepkg.helper import h

        @njit(cache=True)
        def f():
            return h() + 0
        """))
    return pkg


def _call(root):
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", "from stalepkg.caller import f; print(f())"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


@pytest.mark.timeout(300)
def test_edit_of_an_inlined_helper_is_not_served_from_a_stale_cache(tmp_path):
    _write_pkg(tmp_path, 1)
    assert _call(tmp_path) == 1
    cache = _numba_cache.cache_dir(str(tmp_path / "stalepkg" / "__init__.py"))
    assert any(p.name.startswith("caller.") for p in cache.iterdir())  # f was cached
    _write_pkg(tmp_path, 2)  # only the helper's file changes
    assert _call(tmp_path) == 2


def test_drop_stale_keeps_caches_while_sources_are_unchanged(tmp_path):
    pkg = _write_pkg(tmp_path, 1)
    init = str(pkg / "__init__.py")
    _numba_cache.drop_stale(init)
    cache = _numba_cache.cache_dir(init)
    keep = [cache / "caller.f-5.py311.nbi", cache / "other.g-1.py311.nbi"]
    for p in keep:
        p.write_bytes(b"x")
    assert not _numba_cache.drop_stale(init)  # unchanged sources: nothing deleted
    assert all(p.exists() for p in keep)
    (pkg / "helper.py").write_text((pkg / "helper.py").read_text() + "\n# edited\n")
    assert _numba_cache.drop_stale(init)
    assert not keep[0].exists() and keep[1].exists()  # only this package's modules' files
    assert (cache / _numba_cache.STAMP).read_text() != ""
