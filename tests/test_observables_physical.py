"""Physical units: the historical σ is ConvFact × dσ/dx dQ² dz d|PhT|, checked against the
multiplicity's own (independent) b integral at a point."""

from __future__ import annotations

import math

import pytest
import torch
from test_observables_multiplicity import FNP, make_bins, setup  # noqa: F401 (fixture)

from sidislab.constants import CONV_FACT
from sidislab.fnp import load_fnp
from sidislab.kinematics import Kinematics
from sidislab.observables.physical import from_legacy, multiplicity_at_point
from sidislab.pipeline import build_cross_section, build_multiplicities


def test_unit_conversions():
    s, p = torch.tensor([3.0]), torch.tensor([0.5])
    assert from_legacy(s, p) == s
    assert from_legacy(s, p, per="PhT2") == pytest.approx(3.0)  # 3/(2·0.5)
    assert from_legacy(s, p, unit="GeV") == pytest.approx(3.0 / CONV_FACT)
    assert multiplicity_at_point(s, torch.tensor([2.0])) == pytest.approx(1.5 / CONV_FACT)
    with pytest.raises(ValueError, match="allowed: PhT, PhT2"):
        from_legacy(s, p, per="qT")


@pytest.mark.slow
@pytest.mark.parametrize("tau, charge", [(1.0, 1), (0.5, -1)])
def test_legacy_sigma_is_the_physical_cross_section(setup, tau, charge):  # noqa: F811
    """σ_legacy/ConvFact (Ogata, xsec.CrossSection) = the multiplicity's numerator at the
    same point (fixed b-grid, J₀), for proton π⁺ and deuteron π⁻."""
    cfg, paths = setup
    fnp = load_fnp(FNP)
    x, Q, z, P, Vs = 0.15, math.sqrt(2.5), 0.35, 0.3, 7.2565449

    def t(v):
        return torch.tensor([v], dtype=torch.float64)

    kin = Kinematics(
        x=t(x), Q2=t(Q * Q), z=t(z), PhT=t(P), Vs=t(Vs), y=t(Q * Q / (x * Vs * Vs)),
        qToQcut=10.0, target_isoscalarity=tau, charge=charge,
    )  # fmt: skip
    xs = build_cross_section(cfg, kin, fnp, use_cut=False, paths=paths, progress=False)
    with torch.no_grad():
        sigma = xs()
    bins = make_bins(
        [dict(x_lo=0.1, x_hi=0.2, x=x, Q=Q, z_lo=0.3, z_hi=0.4, z=z, PhT_lo=0.25, PhT_hi=0.35,
              PhT=P, integrate_x=False, integrate_Q=False, integrate_z=False,
              target_isoscalarity=tau, charge=float(charge))]
    )  # fmt: skip
    m = build_multiplicities(cfg, bins, fnp, paths=paths, progress=False, pht_mode="centre")
    with torch.no_grad():
        num = m.numerator()
        M = m()
    assert float(num[0]) == pytest.approx(
        float(from_legacy(sigma, kin.PhT, unit="GeV")[0]), rel=5e-4
    )
    assert float(M[0]) == pytest.approx(float(num[0] / m.denominator[0]), rel=1e-14)
