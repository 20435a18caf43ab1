"""The teaching notebooks in notebooks/: stored clean, parameterised, reproducing baselines.

Static checks (fast): every notebook is stored without outputs (reviewable diffs), has one
cell tagged ``parameters`` with a ``metrics_path`` that defaults to empty, and has a
baseline ``data/baselines/<name>.json`` whose parameters are the notebook's defaults.

Regression (marked ``notebook``): each notebook is executed headless by papermill, in a
kernel running this interpreter (``sidislab.workbench.report.kernel_environment``), with its
defaults — the small regression parameters the baseline records — and the session's
luminosity cache (``lumi_cache_dir``: a table is built once per run). It must run without
error (else the failing cell is shown), render to HTML with its figures, and record
metrics that agree with the baseline within the tolerances stored there (else a diff
table is shown).

Refreshing the baselines on purpose: ``sidislab report --update-baselines`` (``make
baselines``), then review the diff of ``data/baselines/``. A new notebook needs one file
here and its baseline (the same command creates it).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from sidislab.workbench.metrics import compare, format_checks, load_baseline
from sidislab.workbench.report import (
    METRICS_PARAMETER,
    kernel_environment,
    notebook_parameters,
    parameter_differences,
    run_notebook,
)

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
BASELINES = REPO / "data" / "baselines"
REFRESH = "sidislab report --update-baselines (make baselines), then review the diff"


def _ids(path: Path) -> str:
    return path.stem


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2, f"no notebooks found in {REPO / 'notebooks'}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} carry outputs or execution counts; store notebooks clean "
        f"(jupyter nbconvert --clear-output --inplace {path.relative_to(REPO)})"
    )
    assert "widgets" not in nb.metadata, f"{path.name}: widget state stored in the metadata"
    assert not any("papermill" in c.get("metadata", {}) for c in nb.cells), (
        f"{path.name}: an executed (papermill) copy was saved over the source"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: need exactly one cell tagged 'parameters', got {tagged}"
    params = notebook_parameters(path)
    assert params.get(METRICS_PARAMETER) == "", (
        f"{path.name}: the parameters cell must define {METRICS_PARAMETER} = '' "
        "(set by sidislab report)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_baseline_matches_the_defaults(path):
    baseline = BASELINES / f"{path.stem}.json"
    assert baseline.is_file(), f"{path.name}: no baseline {baseline}; create it with {REFRESH}"
    base = load_baseline(baseline)
    diffs = parameter_differences(notebook_parameters(path), base.parameters)
    assert not diffs, (
        f"{path.name}: default parameters differ from the baseline's ({'; '.join(diffs)}); "
        f"if intended, {REFRESH}"
    )
    assert base.metrics, f"{baseline}: no metrics yet; {REFRESH}"
    for m in base.metrics.values():
        assert m.why and (m.rel_tol or m.abs_tol), f"{baseline}: {m.name} lacks a tolerance or why"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_reproduces_its_baseline(path, tmp_path, lumi_cache_dir):
    baseline = BASELINES / f"{path.stem}.json"
    if not baseline.is_file():
        pytest.fail(f"{path.name}: no baseline {baseline}; create it with {REFRESH}", pytrace=False)
    base = load_baseline(baseline)
    overrides = dict(base.parameters)
    if "cache_dir" in notebook_parameters(path):
        overrides["cache_dir"] = str(lumi_cache_dir)  # tables shared with the other tests
    with kernel_environment():
        run = run_notebook(path, tmp_path / "out", overrides)
    if run.skipped:  # e.g. 04 without ../shared (data, JAM20 sets): never failed or passed
        pytest.skip(f"{path.name}: {run.skipped}")
    if run.failure is not None:
        pytest.fail(run.failure.format(path.name), pytrace=False)
    page = run.html.read_text(encoding="utf-8")
    assert "data:image/png;base64" in page, f"{path.name}: no figure in the HTML page"
    checks = compare(run.metrics, base)
    bad = [c for c in checks if not c.ok]
    if bad:
        pytest.fail(
            f"{path.name}: {len(bad)} of {len(checks)} metrics disagree with "
            f"{BASELINES.name}/{path.stem}.json\n{format_checks(checks, only_failures=True)}",
            pytrace=False,
        )
