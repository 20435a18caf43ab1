"""Closure test on real physics: the native luminosity with the embedded sets.

Pseudo-data from the published MAP22 parameters on the 192 points of sidis_mix.yaml inside
the TMD region (HERMES, COMPASS, EIC); start 20 % off (random signs, fixed seed); LBFGS.

Which parameters the data constrain: with all 21 free the χ² Hessian at the published
point has 4 zero eigenvalues — there N1 = N1B = N1C, α1 = α2 = α3 and σ1 = σ2 = σ3, so
the three PDF Gaussians have the same width and only their weighted sum is seen (likewise
the two FF terms nearly so). The main widths and their x, z slopes are constrained:
g2, N1, α1, σ1 (PDF) and N3, β1 (FF). Those are fitted here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sidislab import fit as F
from sidislab.config import Config
from sidislab.fnp import load_fnp
from sidislab.kinematics import load_kinematics
from sidislab.pipeline import build_cross_section

DATA = Path(__file__).resolve().parents[1] / "data"
FREE = ("g2", "pdf.N1", "pdf.alpha1", "pdf.sigma1", "ff.N3", "ff.beta1")


@pytest.fixture(scope="module")
def xsec(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SIDISLAB_CACHE_DIR", str(tmp_path_factory.mktemp("lumi")))
    cfg = Config()
    assert cfg.luminosity.provider == "native" and cfg.pdfset.name == "sidislab_toy_proton_nlo"
    kin = load_kinematics(DATA / "kinematics" / "sidis_mix.yaml", qToQcut=cfg.qToQcut)
    fnp = load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml")
    fnp.freeze("*")
    fnp.unfreeze(*FREE)
    xs = build_cross_section(cfg, kin, fnp, progress=False)
    yield xs
    mp.undo()


@pytest.mark.slow
def test_closure_native_lbfgs(xsec):
    assert len(xsec.kin) >= 50
    targets = F.pseudo_data(xsec)
    true = xsec.fnp.get_vector()
    gen = torch.Generator().manual_seed(0)
    signs = torch.randint(0, 2, true.shape, generator=gen).to(true) * 2 - 1
    xsec.fnp.set_vector(true * (1 + 0.2 * signs))
    result = F.fit(xsec, targets, F.FitSettings(optimizer="lbfgs", epochs=60))
    assert result.converged, result.reason
    final = torch.tensor(result.final, dtype=torch.float64)
    assert ((final - true) / true).abs().max() <= 1e-3
    assert result.uncertainties is not None and all(u > 0 for u in result.uncertainties)
    xsec.fnp.set_vector(true)


def test_gradients_native(xsec):
    """Autograd against fourth-order differences, all free parameters, ≤ 1e-6; gradcheck."""
    targets = F.pseudo_data(xsec)
    true = xsec.fnp.get_vector()
    xsec.fnp.set_vector(true * 1.1)
    try:
        check = F.check_gradients(xsec, targets)
    finally:
        xsec.fnp.set_vector(true)
    assert check.max_relative_difference <= 1e-6, check.table()
    assert check.gradcheck is True


def test_sigma_positive_and_finite_at_low_qT(xsec):
    with torch.no_grad():
        sigma = xsec()
    low = xsec.kin.qT / xsec.kin.Q < 0.2
    assert torch.isfinite(sigma).all()
    assert (sigma[low] > 0).all()
