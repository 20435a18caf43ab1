"""``sidislab predict``: measured points after cuts against the multiplicity builder, the
correlated χ² in JSON and on stdout; errors for bad selections and missing FF sets."""

from __future__ import annotations

import json

import pytest
import torch

from sidislab.cli import main
from sidislab.fit.chi2 import CorrelatedChi2
from sidislab.measurements import load_datasets, map22_cuts

SETS = ["HERMES_Pro_Pip_x_0.2_0.35_z_0.3_0.375", "HERMES_Pro_Pim_x_0.2_0.35_z_0.3_0.375"]


def test_predict_writes_points_and_chi2(sidis_data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SIDISLAB_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "pred.json"
    rc = main(["predict", "--data", str(sidis_data), "--datasets", *SETS, "--out", str(out)])
    assert rc == 0
    doc = json.loads(out.read_text())
    ds = map22_cuts().apply(load_datasets(SETS, sidis_data))
    assert doc["n_points"] == len(ds) == len(doc["points"]) == 4
    keys = {"dataset", "x", "z", "Q2", "PhT", "data", "theory", "unc"}
    assert keys <= set(doc["points"][0])
    assert [p["data"] for p in doc["points"]] == ds.values.tolist()
    assert sum(doc["chi2_per_dataset"].values()) == pytest.approx(doc["chi2"], rel=1e-12)
    theory = torch.tensor([p["theory"] for p in doc["points"]], dtype=torch.float64)
    assert doc["chi2"] == pytest.approx(float(CorrelatedChi2(ds)(theory)), rel=1e-12)
    text = capsys.readouterr().out
    assert "χ² =" in text and SETS[0] in text


def test_predict_errors(sidis_data, tmp_path, capsys):
    rc = main(["predict", "--data", str(sidis_data), "--datasets", "NOPE*"])
    assert rc == 2 and "'NOPE*' matches no file" in capsys.readouterr().err
    cuts = tmp_path / "cuts.yaml"
    cuts.write_text("cuts:\n  Q: {min: 100}\n")
    rc = main(["predict", "--data", str(sidis_data), "--datasets", SETS[0], "--cuts", str(cuts)])
    assert rc == 2 and "passes the cuts" in capsys.readouterr().err


def test_predict_names_the_missing_ff_set_for_kaons(sidis_data, capsys):
    kaons = "HERMES_Pro_Kp_x_0.2_0.35_z_0.3_0.375"
    rc = main(["predict", "--data", str(sidis_data), "--datasets", kaons])
    err = capsys.readouterr().err
    assert rc == 2 and kaons in err and "FF set" in err
