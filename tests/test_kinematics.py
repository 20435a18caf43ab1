"""Kinematics: the old YAML format, derived quantities, flags, and bad inputs."""

from __future__ import annotations

import copy
import logging
import math
from pathlib import Path

import pytest
import torch
import yaml

from sidislab.errors import KinematicsError
from sidislab.kinematics import concatenate, from_mapping, load_kinematics

DATA = Path(__file__).resolve().parents[1] / "data" / "kinematics"

GOOD = {
    "header": {"Vs": 7.2565449, "target_isoscalarity": 1, "hadron": "PI", "charge": 1},
    "data": {
        "x": [0.03758844, 0.1],
        "Q2": [1.249727, 2.5],
        "z": [0.5334359, 1.0],
        "PhT": [0.1030419, 0.0],
    },
}


def doc(**changes):
    d = copy.deepcopy(GOOD)
    for key, value in changes.items():
        section, field = key.split("__")
        d[section][field] = value
    return d


def test_hermes_file_matches_reference_points():
    kin = load_kinematics(DATA / "hermes_7pt.yaml")
    assert len(kin) == 7 and kin.dtype is torch.float64
    # qT = PhT/z and y = Q²/(x s) with √s = Vs (physics.md §1)
    torch.testing.assert_close(kin.qT, kin.PhT / kin.z)
    y = kin.Q2 / (kin.x * kin.Vs**2)
    torch.testing.assert_close(kin.y, torch.full_like(y, 0.63139491))
    torch.testing.assert_close(y, kin.y, rtol=1e-7, atol=0)
    torch.testing.assert_close(kin.Yp, 1 + (1 - kin.y) ** 2)
    assert math.isclose(kin.Q[0].item(), math.sqrt(1.249727))


def test_hermes_file_agrees_with_apfel_reference(shared_dir):
    from conftest import load_apfel_reference

    ref = [p for p in load_apfel_reference(1)["points"] if p["label"] == "hermes"]
    kin = load_kinematics(DATA / "hermes_7pt.yaml")
    assert len(ref) == len(kin)
    for i, p in enumerate(ref):
        for key in ("x", "z", "Q2", "PhT", "Vs"):
            assert getattr(kin, key)[i].item() == p[key]
        assert kin.qT[i].item() == pytest.approx(p["qT"], rel=1e-14)


def test_mix_file_spans_experiments_and_flags_points(caplog):
    with caplog.at_level(logging.WARNING):
        kin = load_kinematics(DATA / "sidis_mix.yaml", qToQcut=0.5)
    assert 200 <= len(kin) <= 500
    assert set(kin.labels) == {"hermes", "compass", "eic"}
    flagged = ~kin.in_tmd_region
    assert 0 < int(flagged.sum()) < len(kin)
    assert "flagged, kept" in caplog.text
    inside = kin.tmd_region()
    assert len(inside) == int((~flagged).sum())
    assert torch.all(inside.qT <= 0.5 * inside.Q)


def test_y_derived_when_absent_and_checked_when_given():
    kin = from_mapping(GOOD)
    torch.testing.assert_close(kin.y, kin.Q2 / (kin.x * 7.2565449**2))
    given = doc(data__y=[0.63139491, 0.5])
    with pytest.raises(KinematicsError, match=r"point 1: y = 0.5 violates y = Q²/\(x s\)"):
        from_mapping(given, source="k.yaml")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"data__x": [0.5, 1.0]}, "k.yaml: point 1: x = 1.0 violates 0 < x < 1"),
        ({"data__x": [0.0, 0.1]}, "k.yaml: point 0: x = 0.0 violates 0 < x < 1"),
        ({"data__z": [0.5, 1.2]}, "k.yaml: point 1: z = 1.2 violates 0 < z ≤ 1"),
        ({"data__z": [0.0, 0.5]}, "k.yaml: point 0: z = 0.0 violates 0 < z ≤ 1"),
        ({"data__Q2": [1.0, -2.0]}, "k.yaml: point 1: Q2 = -2.0 violates Q² > 0"),
        ({"data__Q2": [0.0, 2.0]}, "k.yaml: point 0: Q2 = 0.0 violates Q² > 0"),
        ({"data__PhT": [-0.1, 0.2]}, "k.yaml: point 0: PhT = -0.1 violates PhT ≥ 0"),
        ({"data__PhT": [float("nan"), 0.2]}, "k.yaml: data.PhT[0] (point 0): nan is not a finite"),
        ({"data__PhT": [0.1, float("inf")]}, "k.yaml: data.PhT[1] (point 1): inf is not a finite"),
        ({"data__x": [0.1, float("-inf")]}, "k.yaml: data.x[1] (point 1): -inf is not a finite"),
        ({"data__y": [0.5, float("nan")]}, "k.yaml: data.y[1] (point 1): nan is not a finite"),
        ({"header__Vs": float("inf")}, "k.yaml: header.Vs = inf is not a finite number"),
        ({"data__pht": [0.1, 0.2]}, "k.yaml: data.pht: unknown column (allowed: x, Q2, z, PhT"),
        ({"data__Q": [1.0, 2.0]}, "data.Q: unknown column (allowed: x, Q2, z, PhT, y, label)"),
        ({"data__xB": [0.1, 0.2]}, "data.xB: unknown column"),
        ({"data__x": [0.1, 0.2, 0.3]}, "data.Q2 has 2 values but data.x has 3"),
        ({"data__z": [0.5, "a"]}, "k.yaml: data.z[1] (point 1): not a number: 'a'"),
        ({"data__x": []}, "data holds no points"),
        ({"header__Vs": -3}, "point 0: Vs = -3.0 violates √s > 0"),
        (
            {"header__Vs": 2.0},
            "point 0: y = Q²/(x s) = 8.311910523554582 violates 0 < y ≤ 1 (check header.Vs) (2 points in all)",
        ),
        ({"header__target_isoscalarity": 2}, "header.target_isoscalarity = 2 not in [-1, 1]"),
        ({"header__charge": 3}, "header.charge = 3 not in (-1, 0, 1)"),
        ({"header__sqrts": 3}, "header.sqrts: unknown key"),
        ({"data__y": [0.6, 0.0]}, "point 1: y = 0.0 violates 0 < y ≤ 1"),
    ],
)
def test_bad_points_name_index_and_field(changes, message):
    with pytest.raises(KinematicsError) as err:
        from_mapping(doc(**changes), source="k.yaml")
    assert message in str(err.value)


def test_missing_sections_and_fields(tmp_path):
    with pytest.raises(KinematicsError, match="missing top-level key 'data'"):
        from_mapping({"header": {"Vs": 7}}, source="k.yaml")
    d = doc()
    del d["data"]["PhT"]
    with pytest.raises(KinematicsError, match=r"data\.PhT is missing"):
        from_mapping(d, source="k.yaml")
    d = doc()
    del d["header"]["Vs"]
    with pytest.raises(KinematicsError, match=r"header.Vs \(√s in GeV\) is missing"):
        from_mapping(d, source="k.yaml")
    p = tmp_path / "bad.yaml"
    p.write_text("header: [1,\n")
    with pytest.raises(KinematicsError, match=r"bad\.yaml: line 2: malformed YAML"):
        load_kinematics(p)


def test_batching_subset_chunks_and_fingerprint():
    kin = load_kinematics(DATA / "sidis_mix.yaml")
    parts = list(kin.chunks(100))
    assert [len(p) for p in parts] == [100, 100, 88]
    again = concatenate(parts)
    torch.testing.assert_close(again.x, kin.x)
    assert again.fingerprint() == kin.fingerprint()
    assert kin.subset([0, 1]).fingerprint() != kin.fingerprint()
    assert kin.to(dtype=torch.float32).x.dtype is torch.float32
    round_trip = from_mapping(yaml.safe_load(yaml.safe_dump(kin.as_dict())))
    assert round_trip.fingerprint() == kin.fingerprint()


def test_random_points_are_reproducible_and_in_range():
    from sidislab.kinematics import random_points

    a, b = random_points(50, seed=2), random_points(50, seed=2)
    assert a.fingerprint() == b.fingerprint() != random_points(50, seed=3).fingerprint()
    assert len(a) == 50 and bool(((a.x >= 0.01) & (a.x <= 0.5)).all())
    assert bool(((a.y > 0) & (a.y <= 1)).all())


def test_file_defects_name_file_line_column_and_point(tmp_path):
    """YAML 1.2 numbers are read; .inf, unknown columns and duplicate keys are refused."""
    base = "header: {Vs: 140.0}\ndata:\n  x: [1e-2, 2e-2]\n  Q2: [2.0, 4E0]\n  z: [0.3, 0.4]\n"
    p = tmp_path / "k.yaml"
    p.write_text(base + "  PhT: [1e-1, 0.2]\n")
    kin = load_kinematics(p)
    assert kin.x.tolist() == [0.01, 0.02] and kin.PhT.tolist() == [0.1, 0.2]
    for tail, pattern in (
        ("  PhT: [0.1, .inf]\n", r"k\.yaml: data\.PhT\[1\] \(point 1\): inf is not a finite"),
        ("  PhT: [0.1, .nan]\n", r"data\.PhT\[1\] \(point 1\): nan is not a finite"),
        ("  PhT: [0.1, 0.2]\n  Pht: [1, 2]\n", r"data\.Pht: unknown column .* did you mean PhT"),
        ("  PhT: [0.1, 0.2]\n  z: [0.5, 0.5]\n", r"k\.yaml: line 7: duplicate key 'z'"),
    ):
        p.write_text(base + tail)
        with pytest.raises(KinematicsError, match=pattern):
            load_kinematics(p)
    with pytest.raises(KinematicsError, match=r"nope: kinematics file not found.*sidis_mix"):
        load_kinematics("nope")
    assert len(load_kinematics("hermes_7pt")) == 7  # a shipped file by name
