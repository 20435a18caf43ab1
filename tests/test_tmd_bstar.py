"""b* ("bstarmin") and μ_b* (physics.md §2): limits, robustness, reference values."""

from __future__ import annotations

import numpy as np
import pytest

from sidislab.constants import B0
from sidislab.tmd.bstar import B_MAX, bstar_min, mu_bstar


@pytest.mark.parametrize("Q", [1.1, 3.0, 10.0, 91.0])
def test_limits(Q: float) -> None:
    b_min = B_MAX / Q
    tiny = np.array([0.0, 1e-300, 1e-100, 1e-30, 1e-8, 1e-6])
    assert np.allclose(bstar_min(tiny, Q), b_min, rtol=1e-12, atol=0)
    huge = np.array([1e2, 1e4, 1e30, 1e200, np.inf])
    assert np.allclose(bstar_min(huge, Q), B_MAX, rtol=1e-12, atol=0)


def test_no_nan_and_monotonic() -> None:
    b = np.concatenate([[0.0], np.logspace(-320, 3, 4000)])
    for Q in (1.0, 1.118, 5.0, 200.0):
        bs = bstar_min(b, Q)
        assert np.isfinite(bs).all()
        assert (np.diff(bs) >= -1e-15 * bs[1:]).all()
        mu = mu_bstar(bs)
        assert (mu >= 1.0 - 1e-12).all() and (mu <= Q * (1 + 1e-12)).all()


def test_analytic_value_and_broadcast() -> None:
    b = np.array([[0.3, 1.0, 2.0]])
    Q = np.array([[2.0], [5.0]])
    bs = bstar_min(b, Q)
    assert bs.shape == (2, 3)
    b_min = B_MAX / Q
    direct = B_MAX * ((1 - np.exp(-((b / B_MAX) ** 4))) / (1 - np.exp(-((b / b_min) ** 4)))) ** 0.25
    assert np.allclose(bs, direct, rtol=1e-14)


def test_mu_bstar_and_errors() -> None:
    assert mu_bstar(B0) == pytest.approx(1.0)
    assert mu_bstar(B0 / 3.0, Ci=2.0) == pytest.approx(6.0)
    with pytest.raises(ValueError):
        bstar_min(-1.0, 2.0)
    with pytest.raises(ValueError):
        bstar_min(1.0, 0.0)


def test_reference_values(apfel_reference: dict) -> None:
    """b* and μ_b* of the APFEL++ reference at every probe b: essentially exact."""
    worst = 0.0
    for p in apfel_reference["points"]:
        Q = np.sqrt(p["Q2"])
        for ing in p["ingredients"]:
            bs = bstar_min(ing["b"], Q)
            worst = max(worst, abs(bs / ing["bstar"] - 1), abs(mu_bstar(bs) / ing["mub"] - 1))
    assert worst < 1e-12
