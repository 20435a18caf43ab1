"""σ from the full pipeline (config → native luminosity → cache → CrossSection) against the
APFEL++ references.

* v1 (``../shared/reference/apfel_order{1,2}.json``, ``quad_reference``): with the v1
  collinear conventions (``alphas: linear-lnq``, ``extrapolation: freeze``) ≤ 1 %; its own
  α_em is 1.1–1.5e-3 low (see tests/test_lumi_native.py), which sets the residue.
* v2 (``apfel_v2_order{1,2,3}.json``, ``reference_quad``): with the package defaults (α_s
  ipol, continuation below Q_min) and the reference's α_em (``alphaem.thresholds:
  swapped``) ≤ 1e-3 at every point, NLL, NNLL and N³LL.

Both use the flavour-blind fNP of ``data/fnp/map22_flavour_blind.yaml``, the JAM20-SIDIS
sets (../shared/lhapdf), Ci = Cf = 1 and a proton target.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sidislab.config import from_dict
from sidislab.fnp import load_fnp
from sidislab.kinematics import from_mapping
from sidislab.pipeline import build_cross_section

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("integrator", ["ogata", "simpson"])
def test_sigma_matches_apfel_quad_reference(
    apfel_reference, shared_lhapdf, tmp_path, monkeypatch, integrator
):
    monkeypatch.setenv("SIDISLAB_CACHE_DIR", str(tmp_path))
    ref = apfel_reference
    cfg = from_dict(
        {
            "PerturbativeOrder": ref["order"],
            "pdfset": {"name": ref["pdfset"]},
            "ffset": {"name": ref["ffset"]},
            "qToQcut": 100.0,
            "integrator": {"method": integrator},
            "alphas": "linear-lnq",
            "luminosity": {"extrapolation": "freeze"},
        },
        source="reference-config",
    )
    pts = ref["points"]
    kin = from_mapping(
        {
            "header": {"Vs": [p["Vs"] for p in pts], "target_isoscalarity": 1},
            "data": {k: [p[k] for p in pts] for k in ("x", "Q2", "z", "PhT")}
            | {"label": [p["label"] for p in pts]},
        },
        qToQcut=cfg.qToQcut,
        source="apfel_reference",
    )
    fnp = load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml")
    xs = build_cross_section(cfg, kin, fnp, paths=[shared_lhapdf], progress=False)
    res = xs.with_error()
    quad = torch.tensor([p["sigma"]["quad_reference"] for p in pts], dtype=torch.float64)
    rel = (res.value.detach() / quad - 1).abs()
    assert rel.max() < 1e-2, {p["label"]: f"{r:.2e}" for p, r in zip(pts, rel.tolist())}
    # the integrator's own error estimate is below the physics residue (grid halving is
    # conservative: the halved 97-node grid is much coarser than the 193-node one)
    assert (res.error / res.value.abs()).max() < (1e-3 if integrator == "ogata" else 1e-2)
    # and the old default grid's trapezoid is as far off as the reference says
    trapz = torch.tensor([p["sigma"]["trapz_seedgrid"] for p in pts], dtype=torch.float64)
    assert ((trapz / quad - 1).abs() > 0.05).sum() >= 6


def test_default_grid_agrees_with_ogata_on_the_real_luminosity(
    apfel_reference, shared_lhapdf, tmp_path, monkeypatch
):
    """The package default grid against Ogata on the real integrand.

    The real L(b) has kinks where μ_b* crosses the charm threshold and the PDF set's QMin
    (below which it is frozen): measured against a 20001-node grid, Ogata is within 7e-6,
    the default grid within 9e-5 (trapezoid) and 2.2e-4 (Simpson, which loses its order
    at a kink). Asserted: 5e-4.
    """
    monkeypatch.setenv("SIDISLAB_CACHE_DIR", str(tmp_path))
    ref = apfel_reference
    pts = ref["points"]
    kin = from_mapping(
        {
            "header": {"Vs": [p["Vs"] for p in pts]},
            "data": {k: [p[k] for p in pts] for k in ("x", "Q2", "z", "PhT")},
        },
        qToQcut=100.0,
    )
    values = {}
    for method in ("ogata", "simpson", "trapezoid"):
        cfg = from_dict(
            {
                "PerturbativeOrder": ref["order"],
                "pdfset": {"name": ref["pdfset"]},
                "ffset": {"name": ref["ffset"]},
                "qToQcut": 100.0,
                "integrator": {"method": method, "tol": 1e-10},
                "alphas": "linear-lnq",
                "luminosity": {"extrapolation": "freeze"},
            }
        )
        fnp = load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml")
        with torch.no_grad():
            values[method] = build_cross_section(
                cfg, kin, fnp, paths=[shared_lhapdf], progress=False
            )()
    for method in ("simpson", "trapezoid"):
        assert ((values[method] / values["ogata"] - 1).abs()).max() < 5e-4, method


def _kinematics(pts: list[dict]):
    return from_mapping(
        {
            "header": {"Vs": [p["Vs"] for p in pts], "target_isoscalarity": 1},
            "data": {k: [p[k] for p in pts] for k in ("x", "Q2", "z", "PhT")}
            | {"label": [p["label"] for p in pts]},
        },
        qToQcut=100.0,
        source="apfel_v2_reference",
    )


@pytest.mark.parametrize("order", [1, 2, 3], ids=["NLL", "NNLL", "N3LL"])
def test_sigma_matches_apfel_v2(shared_dir, shared_lhapdf, tmp_path, monkeypatch, order):
    """σ within 1e-3 of ``reference_quad`` at every point (measured ≤ 4.8e-4, 4.1e-4,
    3.5e-4 at NLL, NNLL, N³LL); with the physical α_em (the default) σ moves by exactly
    (α_phys/α_swapped)² per point, 2.2–3.0e-3 up."""
    path = shared_dir / "reference" / f"apfel_v2_order{order}.json"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    import json

    ref = json.loads(path.read_text())
    monkeypatch.setenv("SIDISLAB_CACHE_DIR", str(tmp_path))
    pts = ref["points"]
    kin = _kinematics(pts)
    fnp = load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml")
    base = {
        "PerturbativeOrder": order,
        "pdfset": {"name": "JAM20-SIDIS_PDF_proton_nlo"},
        "ffset": {"name": "JAM20-SIDIS_FF_pion_nlo"},
        "qToQcut": 100.0,
        "integrator": {"method": "ogata", "tol": 1e-10},
    }
    sig = {}
    for thr in ("swapped", "physical"):
        cfg = from_dict(base | {"alphaem": {"thresholds": thr}}, source=f"v2-{thr}")
        assert cfg.alphas == "ipol" and cfg.luminosity.extrapolation == "continuation"
        xs = build_cross_section(cfg, kin, fnp, paths=[shared_lhapdf], progress=False)
        with torch.no_grad():
            sig[thr] = xs()
    quad = torch.tensor([p["sigma"]["reference_quad"] for p in pts], dtype=torch.float64)
    rel = (sig["swapped"] / quad - 1).abs()
    assert rel.max() < 1e-3, {p["label"]: f"{r:.2e}" for p, r in zip(pts, rel.tolist())}
    up = sig["physical"] / sig["swapped"] - 1
    assert ((up > 2.0e-3) & (up < 3.2e-3)).all(), up
