"""Packaging: the wheel holds every sub-package; CLI entry points; backends guard."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def source_packages() -> set[str]:
    pkgs = set()
    for base, prefix in ((ROOT / "spikesim", "spikesim"), (ROOT / "backends", "spikesim.backends"),
                         (ROOT / "benchmarks", "spikesim.benchmarks")):
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            pkgs.add(".".join([prefix, *rel.parts]) if rel.parts else prefix)
    return pkgs


@pytest.mark.timeout(300)
def test_wheel_contains_every_subpackage(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps",
                          "--no-build-isolation", "-w", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=280)
    assert out.returncode == 0, out.stderr[-3000:]
    wheel = next(tmp_path.glob("spikesim-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    inside = {str(Path(n).parent).replace("/", ".") for n in names if n.endswith("__init__.py")}
    missing = source_packages() - inside
    assert not missing, f"sub-packages missing from the wheel (add them to setup.cfg): {missing}"
    assert not any(n.startswith("backends/") or n.startswith("benchmarks/") for n in names)
    assert any(n.endswith("entry_points.txt") for n in names)


def test_python_m_spikesim_and_bench_list():
    out = subprocess.run([sys.executable, "-m", "spikesim", "bench"], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "cuba" in out.stdout


def test_top_level_backends_import_is_guarded():
    code = "import sys; sys.path.insert(0, '.'); import backends"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode != 0 and "spikesim.backends" in out.stderr


def test_import_compiles_nothing():
    code = ("import time, sys; t=time.perf_counter(); import spikesim, spikesim.sim, spikesim.ir;"
            "print('numba.core.registry' in sys.modules and 'compiled' or 'ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr


def test_unknown_backend_error_lists_known():
    import spikesim.backends as b

    with pytest.raises(ValueError, match="known backends"):
        b.get("spinnaker")
