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
    # NLL′ = NNLL (one loop), NNLL′ = N³LL (two loops; APFEL++ HardFactor)
    assert np.array_equal(hard_factor(a, -1), hard_factor(a, 2))
    assert np.array_equal(hard_factor(a, -2, 1.0, 4), hard_factor(a, 3, 1.0, 4))
    two = hard_factor(a, 3, 1.0, 4) - hard_factor(a, 2)
    assert np.allclose(two, (a / (4 * math.pi)) ** 2 * h2_sidis(4), rtol=1e-12)
    with pytest.raises(NotImplementedError, match="PerturbativeOrder: -3"):
        hard_factor(0.2, -3)
    with pytest.raises(ValueError, match="PerturbativeOrder: 7"):
        hard_factor(0.2, 7)


def test_two_loop_values() -> None:
    """physics.md §4.7: H2(n_f = 3, 4, 5) and H(Q = 2 GeV) at N³LL = 0.553351060489 with
    α_s(2 GeV) = 0.3010084329 (§6.2, n_f = 4); H(10 GeV) = 0.754648284295 (α_s 0.1781453197,
    n_f = 5)."""
    for nf, h2 in ((3, -116.500549116), (4, -70.9568988742), (5, -25.4132486324)):
        assert h2_sidis(nf) == pytest.approx(h2, rel=1e-10)
    assert float(hard_factor(0.3010084329, 3, 1.0, 4)) == pytest.approx(0.553351060489, rel=1e-9)
    assert float(hard_factor(0.1781453197, 3, 1.0, 5)) == pytest.approx(0.754648284295, rel=1e-9)


def test_two_loop_renormalisation_group() -> None:
    """H(Q; μ = C_f Q) is expanded in a_s(Q) (APFEL++ ``HardFactor``: α_s at its argument Q,
    logs of C_f): d ln H/d ln μ = −2[γ_F(a_s(μ)) + C_F γ_K(a_s(μ)) ln(μ/Q)] up to a residual
    O(a_s³) at N³LL (two-loop H, γ's with a_s(μ) running at two loops) but O(a_s²) at NNLL:
    halving a_s shrinks it by ≈ 2³ resp. 2²."""
    from sidislab.tmd import anomalous_dimensions as ad

    nf, lq = 5, 0.4
    b0, b1 = ad.beta0(nf), ad.beta1(nf)

    def run(a0: float, t: float) -> float:  # a_s(μ) from a_s(Q), t = ln(μ²/Q²), RK4
        a, n = a0, 400
        h = t / n
        f = lambda v: -b0 * v * v - b1 * v**3  # noqa: E731
        for _ in range(n):
            k1 = f(a)
            k2 = f(a + h * k1 / 2)
            k3 = f(a + h * k2 / 2)
            k4 = f(a + h * k3)
            a += h * (k1 + 2 * k2 + 2 * k3 + k4) / 6
        return a

    powers = {}
    for order in (2, 3):
        res = []
        for a0 in (0.004, 0.002):
            eps = 1e-4

            def ln_h(L: float, a0: float = a0, order: int = order) -> float:
                return math.log(float(hard_factor(4 * math.pi * a0, order, math.exp(L), nf)))

            slope = (ln_h(lq + eps) - ln_h(lq - eps)) / (2 * eps)
            a = run(a0, 2 * lq)
            gf = a * ad.gamma_f0() + a * a * ad.gamma_f1(nf)
            gk = a * ad.gamma_k0() + a * a * ad.gamma_k1(nf)
            res.append(abs(slope + 2 * (gf + CF * gk * lq)))
        powers[order] = math.log(res[0] / res[1]) / math.log(2.0)
    assert 1.8 < powers[2] < 2.3 and 2.8 < powers[3] < 3.3, powers


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
