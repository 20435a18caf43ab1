"""sidislab.workbench.metrics: recording a notebook's figures and checking them against baselines.

Invariants: files are strict JSON (non-finite values as strings) and round-trip exactly;
a metric without a tolerance or a reason is refused; the comparison uses the baseline's
tolerance, |v − b| ≤ max(abs_tol, rel_tol·|b|), and reports missing and new metrics.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from sidislab.workbench.metrics import (
    Baseline,
    Metric,
    MetricsRecorder,
    checks_ok,
    compare,
    format_checks,
    load_baseline,
    load_metrics,
    write_baseline,
)


def test_recorder_writes_strict_json_after_every_record(tmp_path):
    path = tmp_path / "nb.metrics.json"
    rec = MetricsRecorder(path, notebook="nb")
    assert json.loads(path.read_text())["metrics"] == {}  # created empty at once
    rec.record("a", torch.tensor(0.25, dtype=torch.float64), rel_tol=1e-6, why="r", key=True)
    assert set(json.loads(path.read_text())["metrics"]) == {"a"}
    rec.record("b", np.float32(float("inf")), abs_tol=1.0, why="overflows", unit="GeV")
    rec.record("c", float("nan"), abs_tol=1.0, why="undefined")
    text = path.read_text()
    doc = json.loads(text)  # strict JSON: no Infinity/NaN literals
    assert "Infinity" not in text and "NaN" not in text
    assert doc["metrics"]["b"]["value"] == "inf" and doc["metrics"]["c"]["value"] == "nan"
    back = load_metrics(path)
    assert back["a"].value == 0.25 and back["a"].key and back["a"].rel_tol == 1e-6
    assert math.isinf(back["b"].value) and back["b"].unit == "GeV"
    assert math.isnan(back["c"].value)
    assert list(path.parent.glob(".*tmp")) == []  # atomic writes leave no temporaries


def test_recorder_in_memory_and_table():
    rec = MetricsRecorder("", notebook="nb")
    assert rec.path is None
    rec.record("x", 3, abs_tol=0.5, why="integer", description="a count")
    assert "| `x` | 3 | abs 5e-01 | a count |" in rec._repr_markdown_()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"value": 1.0, "why": "r"}, "give rel_tol and/or abs_tol"),
        ({"value": 1.0, "rel_tol": 1e-6, "why": " "}, "say why"),
        ({"value": True, "rel_tol": 1e-6, "why": "r"}, "a bool is not a metric"),
        ({"value": "x", "rel_tol": 1e-6, "why": "r"}, "not a real number"),
        ({"value": 1.0, "rel_tol": -1.0, "why": "r"}, "rel_tol must be a number >= 0"),
    ],
)
def test_record_rejects(kwargs, match):
    rec = MetricsRecorder(None)
    with pytest.raises(ValueError, match=match):
        rec.record("m", **kwargs)


def test_record_rejects_duplicates_and_bad_names():
    rec = MetricsRecorder(None, notebook="nb")
    rec.record("m", 1.0, rel_tol=1e-6, why="r")
    with pytest.raises(ValueError, match="recorded twice in nb"):
        rec.record("m", 2.0, rel_tol=1e-6, why="r")
    with pytest.raises(ValueError, match="metric name"):
        rec.record("bad name", 1.0, rel_tol=1e-6, why="r")


@pytest.mark.parametrize(
    ("base", "value", "rel", "abs_", "ok"),
    [
        (1.0, 1.0 + 9e-7, 1e-6, 0.0, True),
        (1.0, 1.0 + 2e-6, 1e-6, 0.0, False),
        (-2.0, -2.0 - 1.9e-6, 1e-6, 0.0, True),  # relative to |baseline|
        (1e-15, 3e-15, 0.0, 1e-14, True),  # absolute floor
        (1e-15, 3e-14, 1e-6, 1e-14, False),
        (math.inf, math.inf, 1e-6, 0.0, True),
        (math.inf, 1e300, 1e-6, 0.0, False),
        (math.nan, math.nan, 1e-6, 0.0, True),
        (1.0, math.nan, 1e-6, 1.0, False),
    ],
)
def test_accepts(base, value, rel, abs_, ok):
    assert Metric("m", base, rel, abs_, "why").accepts(value) is ok


def _base(**metrics: Metric) -> Baseline:
    return Baseline("nb", {"n": 1}, dict(metrics))


def test_compare_statuses_and_diff_table():
    base = _base(
        a=Metric("a", 1.0, 1e-6, 0.0, "reason a"),
        b=Metric("b", 2.0, 1e-6, 0.0, "reason b"),
        gone=Metric("gone", 3.0, 1e-6, 0.0, "r"),
    )
    run = {
        "a": Metric("a", 1.0 + 1e-9, 1e-3, 0.0, "run's own tolerance is not used"),
        "b": Metric("b", 2.1, 1.0, 0.0, "a loose run tolerance does not help"),
        "new": Metric("new", 5.0, 1e-6, 0.0, "r"),
    }
    checks = {c.name: c for c in compare(run, base)}
    assert checks["a"].ok
    assert checks["b"].status == "outside"
    assert checks["gone"].status == "missing" and checks["gone"].value is None
    assert checks["new"].status == "new" and checks["new"].baseline is None
    assert not checks_ok(checks.values())
    table = format_checks(checks.values(), only_failures=True)
    assert "a " not in table.splitlines()[2]  # passing rows left out
    assert "OUTSIDE" in table and "MISSING" in table and "NEW" in table
    assert "5.00e-02" in table  # relative deviation of b
    assert "reason b" in table
    assert "sidislab report --update-baselines" in table
    assert checks_ok([checks["a"]])


def test_baseline_round_trip_and_parameters_only(tmp_path):
    path = tmp_path / "nb.json"
    metrics = {"x": Metric("x", math.inf, 1e-6, 0.0, "r"), "y": Metric("y", 0.5, 0.0, 1e-3, "r")}
    write_baseline(path, "nb", {"n_qT": 12, "widths": [0.1, 0.2]}, metrics, {"torch_version": "t"})
    text = path.read_text()
    assert '"widths": [0.1, 0.2]' in text  # scalar lists on one line
    back = load_baseline(path)
    assert back.parameters == {"n_qT": 12, "widths": [0.1, 0.2]}
    assert back.metrics == metrics
    assert back.provenance["torch_version"] == "t" and "created" in back.provenance
    # a new notebook's baseline may hold only its regression parameters
    path.write_text(json.dumps({"notebook": "new", "parameters": {"n": 3}}))
    fresh = load_baseline(path)
    assert fresh.parameters == {"n": 3} and fresh.metrics == {}


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{", "malformed JSON"),
        ("[]", "must be a JSON object"),
        ('{"format": "other"}', "not a sidislab baseline"),
        ('{"metrics": {"m": {"value": "x"}}}', r"metrics\.m\.value: expected a number"),
        ('{"metrics": {"m": {"value": 1, "tol": 1}}}', "unknown keys"),
    ],
)
def test_bad_baseline_files(tmp_path, content, match):
    path = tmp_path / "nb.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        load_baseline(path)


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="baseline not found"):
        load_baseline(tmp_path / "none.json")
    (tmp_path / "m.json").write_text('{"format": "x"}')
    with pytest.raises(ValueError, match="not a sidislab metrics file"):
        load_metrics(tmp_path / "m.json")
