"""Every notebook under notebooks/ runs top to bottom, within the time a student would wait.

Notebooks are committed without outputs; each is executed in a fresh kernel with its own
folder as the working directory, as Jupyter does when a student opens it.
"""

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
TIME_LIMIT_S = 120.0


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 7, [path.name for path in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom(path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=int(TIME_LIMIT_S),
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    t0 = time.perf_counter()
    client.execute()
    wall_s = time.perf_counter() - t0
    assert wall_s < TIME_LIMIT_S, f"{path.name} took {wall_s:.0f} s"
    exercise = [cell for cell in notebook.cells if cell.cell_type == "markdown" and "Exercise" in cell.source]
    assert exercise, f"{path.name} ends without an exercise"
