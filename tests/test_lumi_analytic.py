"""Tests of sidislab.lumi.analytic: closed-form toy luminosities and their exact transforms.

Reference values: the Hankel pairs of physics.md §6 (Gaussian; n > 0 by differentiating in
a, Gradshteyn–Ryzhik 6.631.10) checked against scipy's adaptive quadrature, and the
provider's own luminosity() integrated numerically.
"""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
from scipy import integrate, special

from sidislab.kinematics import from_mapping, random_points
from sidislab.lumi.analytic import AnalyticProvider, GaussianTerm, hankel_gaussian_moment
from sidislab.lumi.base import LUMI_FLAVOURS


def make_kin(n: int = 6, seed: int = 1):
    return random_points(n, seed=seed)


def quad_hankel(f, qT: float, b_max: float, scale: float = 1.0) -> float:
    """∫₀^b_max db b J0(qT b) f(b) by adaptive quadrature (f negligible beyond b_max).

    ``scale``: the size of the integral at qT = 0, which sets the absolute tolerance (at
    large qT the result is a small difference of large numbers, physics.md §6).
    """
    val, _ = integrate.quad(
        lambda b: b * special.j0(qT * b) * f(b),
        0.0,
        b_max,
        limit=1000,
        epsabs=1e-13 * scale,
        epsrel=1e-12,
    )
    return val


@pytest.mark.parametrize("n", [0, 1, 2, 3])
@pytest.mark.parametrize("a", [0.05, 0.28, 1.7])
@pytest.mark.parametrize("qT", [0.0, 0.1, 0.9, 3.0])
def test_moment_matches_quadrature(n: int, a: float, qT: float) -> None:
    """n!/(2a^{n+1}) e^{−t} L_n(t) against scipy quad of b^{2n+1} J0(qT b) e^{−a b²}."""
    b_max = math.sqrt((60.0 + 4 * n) / a)  # e^{−a b²} b^{2n} < 1e-20 of its peak beyond
    scale = math.factorial(n) / (2 * a ** (n + 1))  # the qT = 0 value: sets the absolute scale
    ref = quad_hankel(lambda b: b ** (2 * n) * math.exp(-a * b * b), qT, b_max, scale)
    got = float(hankel_gaussian_moment(n, a, qT))
    assert abs(got - ref) <= 1e-10 * scale


def test_moment_gaussian_pair() -> None:
    """n = 0 is the pair of physics.md §6: e^{−qT²/(4a)}/(2a)."""
    a, qT = 0.28, np.array([0.0, 0.5, 2.0])
    np.testing.assert_allclose(
        hankel_gaussian_moment(0, a, qT), np.exp(-(qT**2) / (4 * a)) / (2 * a), rtol=1e-15
    )


def test_moment_is_minus_derivative_in_a() -> None:
    """I_{n+1}(a) = −dI_n/da (how the higher pairs follow from the Gaussian)."""
    qT, a, h = 0.7, 0.4, 1e-5
    for n in range(4):
        deriv = (hankel_gaussian_moment(n, a + h, qT) - hankel_gaussian_moment(n, a - h, qT)) / (
            2 * h
        )
        # central difference: O(h²) truncation, 2e-8 relative at n = 3
        np.testing.assert_allclose(hankel_gaussian_moment(n + 1, a, qT), -deriv, rtol=1e-7)


def test_luminosity_formula_and_shapes() -> None:
    kin = make_kin(5)
    prov = AnalyticProvider({2: [(2.0, 0.3), (0.5, 0.9, 1)], -1: [(0.1, 0.2)]}, width_lnQ2=0.04)
    b = np.geomspace(1e-3, 20, 33)
    L = prov.luminosity(kin, b)
    assert L.shape == (5, len(LUMI_FLAVOURS), 33) and L.dtype == np.float64
    q2 = kin.Q2.numpy()[:, None]
    w = lambda a: a + 0.04 * np.log(q2)  # noqa: E731
    u = LUMI_FLAVOURS.index(2)
    dbar = LUMI_FLAVOURS.index(-1)
    np.testing.assert_allclose(
        L[:, u], 2.0 * np.exp(-w(0.3) * b**2) + 0.5 * b**2 * np.exp(-w(0.9) * b**2), rtol=1e-14
    )
    np.testing.assert_allclose(L[:, dbar], 0.1 * np.exp(-w(0.2) * b**2), rtol=1e-14)
    others = [j for j, p in enumerate(LUMI_FLAVOURS) if p not in (2, -1)]
    assert (L[:, others] == 0).all()  # flavours without terms carry L = 0
    # per-point nodes [N, Nb] give the same values as the shared ones
    L2 = prov.luminosity(kin, np.broadcast_to(b, (5, 33)).copy())
    np.testing.assert_array_equal(L, L2)


def test_exact_transform_matches_numerical_integral_of_luminosity() -> None:
    """exact_transform (per flavour and summed) against ∫ b J0 L of luminosity() itself."""
    kin = make_kin(4)
    prov = AnalyticProvider.toy(width_lnQ2=0.05)
    qT = kin.qT.numpy()
    # dense trapezoid in u = ln b: ∫ db b J0 L = ∫ du b² J0 L; the integrand is smooth
    # and decays at both ends, so the trapezoid converges spectrally
    u = np.linspace(math.log(1e-7), math.log(25.0), 8001)
    b = np.exp(u)
    L = prov.luminosity(kin, b)  # [N, F, Nb]
    g = b**2 * special.j0(qT[:, None] * b)[:, None, :] * L
    numeric = np.trapezoid(g, u, axis=-1)  # [N, F]
    exact_f = prov.exact_transform(kin=kin, per_flavour=True)
    assert exact_f.shape == (4, len(LUMI_FLAVOURS))
    np.testing.assert_allclose(numeric, exact_f, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(prov.exact_transform(qT, kin), exact_f.sum(axis=1), rtol=1e-14)


def test_exact_transform_times_gaussian_fnp() -> None:
    """With extra_width w: the exact transform of L_q · e^{−w b²} (a Gaussian fNP)."""
    prov = AnalyticProvider.gaussian(c={2: 1.3}, a={2: 0.4}, flavours=(2,))
    for w, qT in [(0.0, 0.4), (0.25, 0.4), (0.6, 1.8)]:
        ref = quad_hankel(lambda b, w=w: 1.3 * math.exp(-(0.4 + w) * b * b), qT, 15.0)
        got = prov.exact_transform(qT, extra_width=w)
        np.testing.assert_allclose(got, [ref], rtol=1e-11)
    # one width per point
    got = prov.exact_transform(np.array([0.4, 0.4]), extra_width=np.array([0.0, 0.25]))
    np.testing.assert_allclose(
        got, [prov.exact_transform(0.4)[0], 1.3 / (2 * 0.65) * math.exp(-0.16 / 2.6)]
    )


def test_exact_transform_needs_kin_with_q_dependence() -> None:
    prov = AnalyticProvider.gaussian(width_lnQ2=0.1)
    with pytest.raises(ValueError, match="needs the kinematics"):
        prov.exact_transform(0.5)
    with pytest.raises(ValueError, match="give qT or kin"):
        prov.exact_transform()
    with pytest.raises(ValueError, match="extra_width"):
        AnalyticProvider.gaussian().exact_transform(0.5, extra_width=-0.1)


@pytest.mark.parametrize(
    ("terms", "match"),
    [
        ({2: [(0.0, 0.3)]}, "c must be > 0"),
        ({2: [(-1.0, 0.3)]}, "c must be > 0"),
        ({2: [(1.0, 0.0)]}, "a must be > 0"),
        ({2: [(1.0, float("nan"))]}, "a must be a finite number"),
        ({2: [(1.0, 0.3, -1)]}, r"n = -1 not in"),
        ({2: [(1.0, 0.3, 9)]}, r"n = 9 not in"),
        ({2: [(1.0, 0.3, 1.5)]}, "n must be an integer"),
        ({2: [(1.0,)]}, "expected"),
        ({7: [(1.0, 0.3)]}, "not in flavours"),
        ({}, "non-empty"),
    ],
)
def test_invalid_parameters_rejected(terms, match) -> None:
    with pytest.raises(ValueError, match=match):
        AnalyticProvider(terms)


def test_invalid_width_slope_and_point() -> None:
    with pytest.raises(ValueError, match="width_lnQ2"):
        AnalyticProvider.gaussian(width_lnQ2=-0.1)
    # a point with Q² < 1 GeV² and a large slope makes the width negative: it is named
    data = {"x": [0.1, 0.1, 0.1], "Q2": [4.0, 0.5, 9.0], "z": [0.4] * 3, "PhT": [0.3] * 3}
    kin = from_mapping({"header": {"Vs": 140.0}, "data": data}, qToQcut=100.0)
    prov = AnalyticProvider.gaussian(a=0.05, width_lnQ2=1.0)
    with pytest.raises(ValueError, match="point 1: width"):
        prov.luminosity(kin, np.array([0.1, 1.0]))


def test_fingerprint_json_and_sensitive() -> None:
    p1 = AnalyticProvider.toy()
    fp = p1.fingerprint()
    assert json.loads(json.dumps(fp)) == fp
    assert fp["name"] == "analytic" and fp["flavours"] == list(LUMI_FLAVOURS)
    assert AnalyticProvider.toy().fingerprint() == fp
    assert AnalyticProvider.toy(width_lnQ2=0.06).fingerprint() != fp
    p2 = AnalyticProvider({2: [GaussianTerm(1.0, 0.3)]})
    p3 = AnalyticProvider({2: [{"c": 1.0, "a": 0.3000001}]})
    assert p2.fingerprint() != p3.fingerprint()


def test_picklable() -> None:
    kin = make_kin(3)
    prov = AnalyticProvider.toy()
    clone = pickle.loads(pickle.dumps(prov))
    b = np.geomspace(1e-2, 10, 7)
    np.testing.assert_array_equal(clone.luminosity(kin, b), prov.luminosity(kin, b))
    assert clone.fingerprint() == prov.fingerprint()


def test_toy_is_positive_and_charge_weighted() -> None:
    kin = make_kin(2)
    L = AnalyticProvider.toy().luminosity(kin, np.array([0.01, 0.5, 2.0]))
    assert (L > 0).all()
    u, d = LUMI_FLAVOURS.index(2), LUMI_FLAVOURS.index(1)
    np.testing.assert_allclose(L[:, u] / L[:, d], 4.0)  # e_u²/e_d², same weights
