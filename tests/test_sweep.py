"""Notebook sweeps (:mod:`sidislab.workbench.sweep`): a tiny notebook run over two values
of a parameter writes two reports and an index with the metrics side by side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sidislab.workbench.sweep import parse_sweep, run_sweep, sweep_folder, write_sweep_index

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("papermill")


def _notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('a = 2.0\nmetrics_path = ""')
    params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(
        "from sidislab.workbench.metrics import MetricsRecorder\n"
        'rec = MetricsRecorder(metrics_path, notebook="square")\n'
        'rec.record("square", a * a, rel_tol=1e-12, why="exact", key=True)\n'
        'rec.record("cube", a ** 3, rel_tol=1e-12, why="exact")\n'
        'assert a != 5.0, "five is refused"'
    )
    nb.cells = [params, body]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def test_parse_sweep() -> None:
    assert parse_sweep("lr=0.5,1,'adam'") == ("lr", [0.5, 1, "adam"])
    for bad in ("lr", "1x=1,2", "lr=", "lr=1,,2", "lr=1,1", "metrics_path=a,b"):
        with pytest.raises(ValueError):
            parse_sweep(bad)


@pytest.mark.notebook
def test_sweep_writes_reports_and_index(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "square.ipynb")
    out = tmp_path / "sweep-a"
    seen: list = []
    runs = run_sweep(nb, "a", [1.5, 3.0], out, html_page=False, on_done=lambda v, r: seen.append(v))
    assert sorted(seen) == [1.5, 3.0]
    assert [r.ok for r in runs] == [True, True]
    for value, run in zip([1.5, 3.0], runs):
        folder = sweep_folder(out, "a", value)
        assert run.executed == folder.resolve() / "square.ipynb" and run.executed.exists()
        assert run.metrics["square"].value == value * value  # each run got its own value
    index = write_sweep_index(runs, "a", [1.5, 3.0], out, "sidislab report --sweep a=1.5,3.0")
    text = index.read_text()
    assert "<img" in text and "square" in text and "cube" not in text  # key metrics only
    doc = json.loads((out / "sweep.json").read_text())
    assert [p["value"] for p in doc["points"]] == [1.5, 3.0]
    assert [p["metrics"]["square"] for p in doc["points"]] == [2.25, 9.0]
    assert doc["points"][0]["report"] == "a=1.5/square.ipynb"


@pytest.mark.notebook
def test_failed_point_is_reported_not_raised(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "square.ipynb")
    runs = run_sweep(nb, "a", [5.0], tmp_path / "out", html_page=False)
    assert not runs[0].ok and "five is refused" in runs[0].failure.format("square")
    write_sweep_index(runs, "a", [5.0], tmp_path / "out")
    doc = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert doc["points"][0]["status"] == "failed" and doc["points"][0]["metrics"]["square"] == 25.0


def test_unknown_parameter(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "square.ipynb")
    with pytest.raises(ValueError, match="no parameter 'b'"):
        run_sweep(nb, "b", [1, 2], tmp_path / "out")
