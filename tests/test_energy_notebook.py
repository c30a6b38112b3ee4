"""notebooks/05_energy.ipynb runs top to bottom."""
from pathlib import Path

import pytest

NB = Path(__file__).resolve().parents[1] / "notebooks" / "05_energy.ipynb"


@pytest.mark.notebooks
@pytest.mark.timeout(180)
def test_energy_notebook_runs():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NB, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NB.parent)}}).execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs)
    for platform in ("cmos45nm", "gpu", "truenorth", "loihi", "northpole"):
        assert f"{platform:10s} total" in text
    # the notebook's offline check printed equal online and offline counts
    for line in text.splitlines():
        if "effective ACs: online" in line:
            online, offline = line.split("online ")[1].split(", offline ")
            assert int(online) == int(offline)
