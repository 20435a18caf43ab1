"""The SIDIS hard factor (physics.md §3, APFEL++ HardFactor)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sidislab.constants import CF, ZETA2
from sidislab.tmd.hard import h1_sidis, h2_sidis, hard_factor


def test_check_value() -> None:
    """physics.md §3: Q = 1.118 GeV, α_s = 0.40291, NNLL gives H = 0.4566."""
    assert float(hard_factor(0.40291, 2)) == pytest.approx(0.4566, abs=5e-5)


def test_orders_and_coefficients() -> None:
    a = np.array([0.1, 0.2, 0.3])
    assert np.array_equal(hard_factor(a, 0), np.ones(3))
    assert np.array_equal(hard_factor(a, 1), np.ones(3))
    assert h1_sidis() == pytest.approx(2 * CF * (-8 + ZETA2))
    assert h2_sidis(5) - h2_sidis(4) == pytest.approx(
        2 * CF * 0.5 * (4085 / 162 + 46 * ZETA2 / 9 + 4 * 1.2020569031595942 / 9)
    )
    with pytest.raises(ValueError):
        hard_factor(0.2, 3)


def test_scale_logs_renormalisation_group() -> None:
    """d ln H/d ln μ = −2[γ_F^{(0)} + C_F γ_K^{(0)} ln(μ/Q)] a_s + O(a_s²) (ζ = Q², μ = C_f Q)."""
    a_s = 0.2
    a = a_s / (4 * math.pi)
    for lq in (-0.3, 0.0, 0.4):
        eps = 1e-6
        up = float(hard_factor(a_s, 2, math.exp(lq + eps)))
        dn = float(hard_factor(a_s, 2, math.exp(lq - eps)))
        slope = (up - dn) / (2 * eps)  # at fixed a_s: the explicit logs only
        assert slope == pytest.approx(-2 * a * (6 * CF + CF * 8 * lq), rel=1e-6)


def test_reference_hard(apfel_reference: dict) -> None:
    """H of the reference within 0.1 %, with its α_s(Q) (the PDF set's table, see physics.md)."""
    collinear = pytest.importorskip("sidislab.collinear")
    if not hasattr(collinear, "load_set"):
        pytest.skip("sidislab.collinear.load_set is not available")
    from conftest import SHARED

    pdf = collinear.load_set(apfel_reference["pdfset"], paths=[str(SHARED / "lhapdf")])
    for p in apfel_reference["points"]:
        Q = math.sqrt(p["Q2"])
        h = float(hard_factor(pdf.alphas(np.array(Q)), apfel_reference["order"]))
        assert h == pytest.approx(p["hard"], rel=1e-3)
