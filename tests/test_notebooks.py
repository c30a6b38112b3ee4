"""Every notebook under notebooks/ runs top to bottom (marker: notebooks)."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.notebooks
@pytest.mark.timeout(180)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    mnist = ROOT.parent / "shared" / "data" / "mnist.npz"
    if mnist.exists():
        monkeypatch.setenv("SPIKESIM_MNIST", str(mnist))
    monkeypatch.setenv("SPIKESIM_NOTEBOOK_OUT", str(tmp_path))
    nb = nbformat.read(path, as_version=4)
    # every notebook imports only the public API
    src = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "from tests" not in src and "import tests" not in src
    client = nbclient.NotebookClient(nb, timeout=150, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - t0
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in outputs)
    # the notebook shows its plots
    assert any("image/png" in o.get("data", {}) for o in outputs), "no plot in the notebook"
    print(f"{path.name}: {elapsed:.1f} s")
