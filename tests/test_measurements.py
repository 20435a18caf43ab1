"""Measured data: the NangaParbat YAML reader, data sets and their covariance, discovery
by name pattern, bad files, and the MAP22 kinematic cuts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from sidislab.errors import ConfigError, DataError
from sidislab.measurements import (
    Cuts,
    DataSet,
    QCut,
    QTOverQCut,
    ZCut,
    data_dirs,
    find_datasets,
    load_datasets,
    map22_cuts,
    read_file,
)

HERMES_FILE = "HERMES/HERMES_Deu_Pip_x_0.075_0.12_z_0.8_1.1.yaml"
COMPASS_FILE = "COMPASS/COMPASS_Deu_Pp_Kp_x_0.0161_z_0.345.yaml"


@pytest.fixture(scope="module")
def everything(sidis_data):
    files = [read_file(p) for p in sorted(Path(sidis_data).rglob("*.yaml"))]
    return files, DataSet.from_files(files)


def family(name: str) -> str:
    parts = name.split("_")
    return "_".join(parts[:3] if parts[0] == "HERMES" else parts[:4])


def test_every_file_loads_with_its_point_count(everything):
    files, ds = everything
    assert len(files) == 546
    per_family: dict[str, tuple[int, int]] = {}
    for f in files:
        k, n = per_family.get(family(f.name), (0, 0))
        per_family[family(f.name)] = (k + 1, n + len(f.values))
    assert per_family == {
        "COMPASS_Deu_Pm_Km": (81, 2332),
        "COMPASS_Deu_Pp_Kp": (81, 2332),
        "HERMES_Deu_Km": (48, 326),
        "HERMES_Deu_Kp": (48, 335),
        "HERMES_Deu_Pim": (48, 335),
        "HERMES_Deu_Pip": (48, 335),
        "HERMES_Pro_Km": (48, 324),
        "HERMES_Pro_Kp": (48, 333),
        "HERMES_Pro_Pim": (48, 333),
        "HERMES_Pro_Pip": (48, 336),
    }
    assert len(ds) == 7321
    assert set(ds.bins.hadron) == {"PI", "KA", "HD"}  # kaons and h± load too
    # every source is one file's: its rows lie in one data set
    for j in range(0, ds.corr.shape[1], 37):
        rows = ds.corr[:, j].ne(0).nonzero().flatten().tolist()
        assert len({ds.bins.dataset[i] for i in rows}) == 1
        assert ds.sources[j].startswith(ds.bins.dataset[rows[0]] + ":mult")


def test_hermes_file_fields(sidis_data):
    f = read_file(Path(sidis_data) / HERMES_FILE)
    b = f.bins
    assert f.name == "HERMES_Deu_Pip_x_0.075_0.12_z_0.8_1.1" and len(b) == 7
    assert f.values[0].item() == 0.04699319
    assert f.uncorrelated[0].item() == pytest.approx(
        math.hypot(0.001228193, 0.002637678), rel=1e-15
    )
    assert f.corr.shape == (7, 2) and f.multiplicative.all() and not f.corr.any()
    assert (b.PhT_lo[0].item(), b.PhT_hi[0].item(), b.PhT[0].item()) == (1e-5, 0.15, 0.1007186)
    assert b.Q[0].item() == pytest.approx(math.sqrt(1.834674), rel=1e-15)
    assert (b.Q_lo[0].item(), b.Q_hi[0].item()) == (1.0, 3.8729833)
    assert (b.x_lo[0].item(), b.x_hi[0].item(), b.x[0].item()) == (0.075, 0.12, 0.09568023)
    assert b.z[1].item() == 0.8927154 and b.z_lo[1].item() == 0.8
    assert b.integrate_x.all() and b.integrate_Q.all() and b.integrate_z.all()
    assert b.W_min[0].item() == 3.1622777 and b.y_max[0].item() == 0.85
    assert b.target_isoscalarity[0].item() == 0.5 and b.charge[0].item() == 1
    assert b.observable[0] == "multiplicity" and b.hadron[0] == "PI"
    assert (b.PhT_factor == 1).all()


def test_compass_file_fields(sidis_data):
    f = read_file(Path(sidis_data) / COMPASS_FILE)
    b = f.bins
    assert b.observable[0] == "(dsigma/dxdzdQ2dPhT2)/dsigmaDIS" and b.hadron[0] == "HD"
    assert f.values[0].item() == 3.0207
    assert f.corr[0].tolist() == [0.01196428, 0.031839]
    unc = math.sqrt(0.0703**2 + 0.027105375**2 + 0.07213205**2 + 0.2134**2)
    assert f.uncorrelated[0].item() == pytest.approx(unc, rel=1e-15)
    # NangaParbat's COMPASS factor is 1/(PhT_lo + PhT_hi) = ΔPhT/ΔPhT²
    assert torch.allclose(b.PhT_factor, 1 / (b.PhT_lo + b.PhT_hi), rtol=1e-7)
    assert b.Q_lo[0].item() == 1.3038405 and b.Vs[0].item() == 17.325


def test_covariance_of_a_real_file(sidis_data):
    ds = load_datasets(["COMPASS_Deu_Pp_Kp_x_0.0161_z_0.345"], sidis_data)
    C = ds.covariance()
    i, j = 0, 5
    expect = (ds.corr[i] * ds.corr[j]).sum() * ds.values[i] * ds.values[j]
    assert C[i, j].item() == pytest.approx(expect.item(), rel=1e-14)
    assert torch.allclose(C.diagonal().sqrt(), ds.total_uncertainty(), rtol=1e-14)
    torch.linalg.cholesky(C)  # positive definite


def test_selection_by_pattern_and_paths(sidis_data, monkeypatch, tmp_path):
    found = find_datasets(["HERMES_Pro_Pip*", "HERMES_Pro_Pim_x_0.2_0.35*"], [sidis_data])
    assert len(found) == 48 + 8 and list(found) == sorted(found)
    monkeypatch.delenv("SIDISLAB_DATA_PATH", raising=False)
    with pytest.raises(DataError, match="--data DIR or set SIDISLAB_DATA_PATH"):
        data_dirs()
    monkeypatch.setenv("SIDISLAB_DATA_PATH", str(sidis_data))
    assert data_dirs() == [Path(sidis_data)]
    assert data_dirs(tmp_path) == [tmp_path]  # --data wins over the environment
    with pytest.raises(DataError, match="NOPE_\\*"):
        find_datasets(["NOPE_*"], [sidis_data])
    with pytest.raises(DataError, match="is not a folder"):
        data_dirs(tmp_path / "absent")
    ds = load_datasets(["HERMES_Deu_Km_x_0.35_0.6_z_0.8*", "HERMES_Deu_Km_x_0.35_0.6_z_0.6*"])
    assert set(ds.names) == {"HERMES_Deu_Km_x_0.35_0.6_z_0.6_0.8"}  # the empty table is skipped


GOOD = """dependent_variables:
  - header: {title: t}
    qualifiers:
      - {name: process, value: SIDIS}
      - {name: observable, value: multiplicity}
      - {name: hadron, value: PI}
      - {name: charge, value: 1}
      - {name: Vs, value: 7.2565449}
      - {name: Q, low: 1, high: 3.87, integrate: true}
      - {name: x, low: 0.1, high: 0.2, integrate: true}
      - {name: z, low: 0.3, high: 0.4, integrate: true}
    values:
      - errors:
          - {label: unc, value: 0.01}
          - {label: mult, value: 0.05}
        value: 1.5
      - errors:
          - {label: unc, value: 0.02}
          - {label: mult, value: 0.05}
        value: 1.2
independent_variables:
  - header: {name: PhT, units: GeV}
    values:
      - {high: 0.15, low: 1e-05, value: 0.1}
      - {high: 0.25, low: 0.15, value: 0.2}
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("{name: Vs, value: 7.2565449}", "{name: Vs, value: abc}", r"qualifiers\[Vs\]"),
        ("      - {name: charge, value: 1}\n", "", "'charge' is missing"),
        (
            "{label: mult, value: 0.05}\n        value: 1.5",
            "{label: sys, value: 0.05}\n        value: 1.5",
            r"values\[0\]\.errors\[1\]\.label: unknown uncertainty label 'sys'",
        ),
        ("      - {high: 0.25, low: 0.15, value: 0.2}\n", "", "1 PhT bins, 2 measured values"),
        (
            "{label: unc, value: 0.02}",
            "{label: unc, value: 0}",
            r"values\[1\]\.errors: .*add up to 0",
        ),
        ("value: 1.2", "value: .nan", r"values\[1\]\.value: expected a finite number"),
        ("{high: 0.25, low: 0.15", "{high: 0.1, low: 0.15", r"values\[1\]: PhT bin must have"),
        ("value: SIDIS", "value: DY", r"qualifiers\[process\]: 'DY'"),
        ("        value: 1.2\n", "", r"values\[1\]\.value: missing"),
    ],
)
def test_bad_files_name_file_and_field(tmp_path, old, new, message):
    assert old in GOOD
    path = tmp_path / "BAD_set.yaml"
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(DataError, match=message) as info:
        read_file(path)
    assert str(path) in str(info.value)


def test_good_minimal_file_and_missing_averages(tmp_path):
    path = tmp_path / "GOOD_set.yaml"
    path.write_text(GOOD)
    f = read_file(path)
    assert f.name == "GOOD_set" and f.values.tolist() == [1.5, 1.2]
    # no x/z/Q2 independent variables: the centre is the bin middle
    assert f.bins.x[0].item() == pytest.approx(0.15) and f.bins.Q[0].item() == pytest.approx(2.435)
    assert (f.bins.W_min == 0).all() and (f.bins.y_max == 1).all()  # no PS_reduction
    (tmp_path / "broken.yaml").write_text("dependent_variables: [\n")
    with pytest.raises(DataError, match=r"broken\.yaml: not valid YAML"):
        read_file(tmp_path / "broken.yaml")


def test_qt_over_q_cut_formula(tmp_path):
    """PhT_hi/(z_lo Q_lo) < min(min(0.2/z_lo, 0.5) + 0.3/(Q_lo z_lo), 1), per point."""
    path = tmp_path / "GOOD_set.yaml"
    path.write_text(GOOD)
    bins = read_file(path).bins  # z_lo = 0.3, Q_lo = 1
    limit = min(min(0.2 / 0.3, 0.5) + 0.3 / (1 * 0.3), 1.0)
    assert QTOverQCut().limit(bins)[0].item() == pytest.approx(limit, rel=1e-15)
    ratio = QTOverQCut().qT_over_Q(bins)
    assert ratio.tolist() == pytest.approx([0.15 / 0.3, 0.25 / 0.3], rel=1e-15)
    assert QTOverQCut().mask(bins).tolist() == [True, True]  # 0.5 and 0.83 < 1
    assert QTOverQCut(c3=0.05).mask(bins).tolist() == [True, False]  # limit 0.5 + 1/6
    assert QTOverQCut(PhT_at="low", c3=0.05).mask(bins).tolist() == [True, True]


def test_range_cuts_and_config(tmp_path):
    path = tmp_path / "GOOD_set.yaml"
    path.write_text(GOOD)
    bins = read_file(path).bins  # ⟨Q⟩ = 2.435 (middle), z ∈ [0.3, 0.4]
    assert QCut(min=2.5).mask(bins).tolist() == [False, False]
    assert ZCut(min=0.2, max=0.36).mask(bins).tolist() == [True, True]  # ⟨z⟩ = 0.35
    assert ZCut(min=0.2, max=0.36, at="edges").mask(bins).tolist() == [False, False]
    cuts = Cuts.from_mapping({"Q": {"min": 1.4}, "z": {"min": 0.2, "max": 0.7}, "qT_over_Q": {}})
    assert cuts == map22_cuts() and Cuts.from_mapping(None) == map22_cuts()
    assert Cuts.from_mapping(cuts.as_mapping()) == cuts
    assert len(Cuts.from_mapping({}).mask(bins)) == 2 and Cuts.from_mapping({}).mask(bins).all()
    with pytest.raises(ConfigError, match=r"cuts\.W: unknown cut"):
        Cuts.from_mapping({"W": {"min": 3}})
    with pytest.raises(ConfigError, match=r"cuts\.z: min = 0\.7"):
        Cuts.from_mapping({"z": {"min": 0.7, "max": 0.2}})
    with pytest.raises(ConfigError, match=r"cuts\.qT_over_Q"):
        Cuts.from_mapping({"qT_over_Q": {"c4": 1}})


# Points after the MAP22 cuts (this module's rule on every file). MAP22 (arXiv:2206.07598,
# Table 2; NangaParbat FitResults/MAP22_N3LL/data/datasets.yaml) has 344 HERMES and 1203
# COMPASS points: the same rule on the 242 files MAP22 lists gives exactly those; MAP22
# also dropped three HERMES z ∈ [0.6, 0.8] files by hand (HERMES 358 here).
MAP22_COUNTS = {
    "COMPASS_Deu_Pm_Km": 601,
    "COMPASS_Deu_Pp_Kp": 602,
    "HERMES_Deu_Km": 45,
    "HERMES_Deu_Kp": 45,
    "HERMES_Deu_Pim": 45,
    "HERMES_Deu_Pip": 45,
    "HERMES_Pro_Km": 43,
    "HERMES_Pro_Kp": 45,
    "HERMES_Pro_Pim": 45,
    "HERMES_Pro_Pip": 45,
}


def test_map22_cuts_point_counts(everything):
    _, ds = everything
    report = map22_cuts().report(ds)
    per_family: dict[str, int] = {}
    for name, (before, after) in report.items():
        assert after <= before
        per_family[family(name)] = per_family.get(family(name), 0) + after
    assert per_family == MAP22_COUNTS
    cut = map22_cuts().apply(ds)
    assert len(cut) == 1561
    assert (cut.bins.Q > 1.4).all() and (cut.bins.z > 0.2).all() and (cut.bins.z < 0.7).all()
    assert cut.corr.shape[1] == int(cut.corr.ne(0).any(0).sum())  # no empty sources left
