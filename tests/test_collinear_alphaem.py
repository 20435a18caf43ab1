"""One-loop running α_em (sidislab.collinear.alphaem.AlphaQED, as APFEL++ AlphaQED)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sidislab.collinear import AlphaQED
from sidislab.collinear.alphaem import beta0_qed
from sidislab.errors import NotYetImplementedOrder

QUARKS = (0.0, 0.0, 0.0, 1.28, 4.18)
LEPTONS = (0.0, 0.0, 1.777)


def _independent(q, quarks=QUARKS, leptons=LEPTONS, alpha_ref=0.0072973525693, mu_ref=91.1876):
    """scipy DOP853 solution of dα/d ln μ² = −β₀ α²/(4π) with eko's β₀ (Surguladze,
    hep-ph/9602213, eq. 7), stopping at every threshold between μ_ref and Q."""
    beta = pytest.importorskip("eko.beta")
    from scipy.integrate import solve_ivp

    def nf_nl(mu):
        return sum(1 for m in quarks if mu > m), sum(1 for m in leptons if mu > m)

    out = []
    for v in np.atleast_1d(q):
        edges = sorted({m for m in (*quarks, *leptons) if min(v, mu_ref) < m < max(v, mu_ref)})
        if v < mu_ref:
            edges = edges[::-1]
        a, t = alpha_ref, 2 * math.log(mu_ref)
        for stop in [*edges, v]:
            t1 = 2 * math.log(stop)
            mid = math.exp((t + t1) / 4)
            b0 = beta.beta_qed_aem2(*nf_nl(mid))
            sol = solve_ivp(
                lambda _t, y, b0=b0: [-b0 * y[0] ** 2 / (4 * math.pi)],
                (t, t1),
                [a],
                method="DOP853",
                rtol=1e-13,
                atol=1e-18,
            )
            a, t = float(sol.y[0, -1]), t1
        out.append(a)
    return np.array(out)


def test_matches_an_independent_solution():
    aqed = AlphaQED()
    q = np.concatenate([np.geomspace(0.3, 1e3, 60), [1.28, 1.777, 4.18, 91.1876]])
    np.testing.assert_allclose(aqed(q), _independent(q), rtol=1e-11)
    assert aqed(91.1876) == pytest.approx(0.0072973525693, rel=1e-15)
    # continuous at the thresholds, growing with Q
    for m in (1.28, 1.777, 4.18):
        assert aqed(m * (1 - 1e-12)) == pytest.approx(aqed(m * (1 + 1e-12)), rel=1e-12)
    assert np.all(np.diff(aqed(q[:60])) > 0)
    assert aqed(np.ones((3, 2))).shape == (3, 2)


def test_beta0():
    assert beta0_qed(5, 3) == pytest.approx(-4 / 3 * (3 * 11 / 9 + 3))
    assert beta0_qed(3, 2) == pytest.approx(-4 / 3 * (2 + 2))


def test_reference_alphaem_has_swapped_thresholds(apfel_reference):
    """The reference α_em is APFEL++ AlphaQED called through its Python binding, whose argument
    labels (LeptThresholds, QuarkThresholds) are the reverse of the C++ constructor's order:
    the reference numbers are reproduced (to 1e-6, in fact ~1e-9) only with the two lists
    swapped. The physical assignment (sidislab's default) is 0.15 % higher at 1 GeV."""
    ref = apfel_reference["alphaem"]
    q = np.array([float(k) for k in ref])
    want = np.array(list(ref.values()))
    swapped = AlphaQED(quark_thresholds=LEPTONS, lepton_thresholds=QUARKS)(q)
    np.testing.assert_allclose(swapped, want, rtol=1e-6)
    assert np.max(np.abs(swapped / want - 1)) < 1e-8
    physical = AlphaQED(quark_thresholds=QUARKS, lepton_thresholds=LEPTONS)(q)
    rel = physical / want - 1
    assert rel[q == 91.1876] == pytest.approx(0.0, abs=1e-8)
    assert 1.4e-3 < rel[q == 1.0][0] < 1.6e-3


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"point 2 has Q = 0.0"):
        AlphaQED()([1.0, 2.0, 0.0])
    with pytest.raises(NotYetImplementedOrder):
        AlphaQED(order=1)
    with pytest.raises(ValueError, match=r"alpha_ref"):
        AlphaQED(alpha_ref=2.0)
