"""The quark evolution factor S(b*; μ, ζ) (physics.md §3, APFEL++ QuarkEvolutionFactor)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from sidislab.constants import CF
from sidislab.tmd import anomalous_dimensions as ad
from sidislab.tmd._util import n_active
from sidislab.tmd.bstar import bstar_min, mu_bstar
from sidislab.tmd.evolution import QuarkEvolution

THRESHOLDS = (0.0, 0.0, 0.0, 1.28, 4.18)


def toy_alphas(mu):
    """A smooth α_s: one loop with n_f = 4, Λ = 0.25 GeV (frozen below 0.8 GeV)."""
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 0.8)
    return 4 * math.pi / (ad.beta0(4) * np.log(mu**2 / 0.25**2))


def log_s_quad(alphas, order: int, Ci: float, mu0: float, mu: float, zeta: float) -> float:
    """ln S from the formula of physics.md §3 with scipy quad, thresholds as break points."""

    def a(m):
        return float(alphas(m)) / (4 * math.pi)

    def nf(m):
        return int(n_active(m, THRESHOLDS))

    def gk(t):
        m = math.exp(t)
        return sum(a(m) ** (n + 1) * c for n, c in enumerate(ad.gamma_k_coefficients(order, nf(m))))

    def gf(t):
        m = math.exp(t)
        return sum(a(m) ** (n + 1) * c for n, c in enumerate(ad.gamma_f_coefficients(order, nf(m))))

    t0, t1 = math.log(mu0), math.log(mu)
    pts = [math.log(m) for m in THRESHOLDS if m > 0 and min(t0, t1) < math.log(m) < max(t0, t1)]
    opts = {"points": pts or None, "epsabs": 1e-13, "epsrel": 1e-12, "limit": 200}
    i_f = integrate.quad(gf, t0, t1, **opts)[0]
    i_k = integrate.quad(gk, t0, t1, **opts)[0]
    i_kl = integrate.quad(lambda t: gk(t) * t, t0, t1, **opts)[0]
    m0 = mu0
    K = sum(
        a(m0) ** (n + 1) * c for n, c in enumerate(ad.kcs_coefficients(order, nf(m0), math.log(Ci)))
    )
    return CF * (0.5 * (K * math.log(zeta / mu0**2) - math.log(zeta) * i_k) + i_kl) + i_f


@pytest.mark.parametrize("order", [0, 1, 2])
@pytest.mark.parametrize("Ci", [1.0, 0.5, 2.0])
def test_against_quadrature(order: int, Ci: float) -> None:
    ev = QuarkEvolution(
        toy_alphas, THRESHOLDS, order, Ci, mu_range=(0.4, 300.0), breakpoints=(0.8,)
    )
    for Q in (1.5, 3.0, 10.0, 91.0):
        for b in (0.05, 0.3, 1.0, 3.0):
            mu0 = float(mu_bstar(bstar_min(b, Q), Ci))
            exact = log_s_quad(toy_alphas, order, Ci, mu0, Q, Q * Q)
            got = float(ev.log_sudakov(np.array(mu0), np.array(Q), np.array(Q * Q)))
            assert got == pytest.approx(exact, abs=1e-8)


def test_identity_and_range() -> None:
    ev = QuarkEvolution(toy_alphas, THRESHOLDS, 2, mu_range=(0.5, 100.0))
    mu = np.array([1.0, 2.0, 5.0, 50.0])
    assert np.allclose(ev.log_sudakov(mu, mu, mu**2), 0.0, atol=1e-14)
    with pytest.raises(ValueError, match="outside the tabulated range"):
        ev.log_sudakov(np.array([0.1]), np.array([2.0]), np.array([4.0]))
    with pytest.raises(ValueError, match="PerturbativeOrder: 7 is not allowed"):
        QuarkEvolution(toy_alphas, THRESHOLDS, 7)
    with pytest.raises(NotImplementedError, match="PerturbativeOrder: -3"):
        QuarkEvolution(toy_alphas, THRESHOLDS, -3)


def test_primed_orders_evolve_as_unprimed() -> None:
    """NLL′ and NNLL′ keep the evolution of NLL and NNLL (APFEL++ QuarkEvolutionFactor)."""
    mu0, mu = np.array([1.1, 2.0, 4.0]), np.array([3.0, 10.0, 50.0])
    for primed, plain in ((-1, 1), (-2, 2)):
        a = QuarkEvolution(toy_alphas, THRESHOLDS, primed, mu_range=(0.5, 100.0))
        b = QuarkEvolution(toy_alphas, THRESHOLDS, plain, mu_range=(0.5, 100.0))
        assert np.array_equal(a.log_sudakov(mu0, mu, mu**2), b.log_sudakov(mu0, mu, mu**2))


def test_reference_sudakov(apfel_reference: dict, shared_lhapdf) -> None:
    """S at every probe b of the APFEL++ reference within 0.1 % (measured: ≈ 2e-6)."""
    collinear = pytest.importorskip("sidislab.collinear")
    if not hasattr(collinear, "load_set"):
        pytest.skip("sidislab.collinear.load_set is not available")
    pdf = collinear.load_set(apfel_reference["pdfset"], paths=[str(shared_lhapdf)])
    order = apfel_reference["order"]
    knots = getattr(pdf.alphas, "qs", None)
    ev = QuarkEvolution(
        pdf.alphas,
        THRESHOLDS,
        order,
        mu_range=(0.5, 400.0),
        breakpoints=() if knots is None else knots,
    )
    worst = 0.0
    for p in apfel_reference["points"]:
        Q = math.sqrt(p["Q2"])
        for ing in p["ingredients"]:
            mu0 = mu_bstar(bstar_min(ing["b"], Q))
            s = float(ev.sudakov(mu0, np.array(Q), np.array(Q * Q)))
            worst = max(worst, abs(s / ing["sudakov"] - 1))
    assert worst < 1e-3
