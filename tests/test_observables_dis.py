"""The DIS denominator: F₂, F_L at LO and O(α_s) against yadism, and its invariants."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pytest

from sidislab.errors import NotYetImplementedOrder
from sidislab.observables.dis import dis_order_for, dsigma_dis, structure_functions, target_pdfs

PIDS = (-5, -4, -3, -2, -1, 21, 1, 2, 3, 4, 5)


class ToyPDF:
    """Analytic momentum densities, different per flavour (so isospin and charges matter)."""

    flavours = PIDS
    shapes: ClassVar[dict[int, tuple[float, float]]] = {
        21: (2.0, 5.0),
        1: (0.6, 3.5),
        2: (1.0, 3.0),
        -1: (0.15, 7.0),
        -2: (0.12, 7.5),
    }

    def phi(self, pid: int, x: np.ndarray) -> np.ndarray:
        n, p = self.shapes.get(pid, (0.08, 8.0))
        return n * x**0.6 * (1.0 - x) ** p

    def xfxQ(self, x, Q):
        x = np.asarray(x, dtype=np.float64)
        return np.stack([self.phi(p, x) for p in PIDS], axis=-1)

    # the lhapdf-like interface yadism reads
    def xfxQ2(self, pid, x, Q2):
        return float(self.phi(21 if pid == 0 else pid, np.float64(x)))

    def hasFlavor(self, pid):
        return True


ALPHAS = 0.25
THRESHOLDS = (0.0, 0.0, 0.0, 1.51, 4.92)


def _alphas(Q):
    return np.full(np.shape(Q), ALPHAS)


def test_orders_follow_nangaparbat():
    assert [dis_order_for(p) for p in (0, 1, 2, 3, -1, -2)] == [0, 0, 1, 2, 1, 2]


def test_lo_is_the_parton_model():
    pdf = ToyPDF()
    x, Q = np.array([0.05, 0.3]), np.array([1.2, 2.0])
    F2, FL = structure_functions(pdf, _alphas, x, Q, order=0, thresholds=THRESHOLDS)
    e2 = {1: 1 / 9, 2: 4 / 9, 3: 1 / 9, 4: 4 / 9}
    want = sum(e2[q] * (pdf.phi(q, x) + pdf.phi(-q, x)) for q in (1, 2, 3))
    want = want + (Q >= 1.51) * e2[4] * (pdf.phi(4, x) + pdf.phi(-4, x))  # charm above m_c
    np.testing.assert_allclose(F2, want, rtol=1e-14)
    assert np.all(FL == 0)
    with pytest.raises(NotYetImplementedOrder, match="O\\(α_s²\\)"):
        structure_functions(pdf, _alphas, x, Q, order=2, thresholds=THRESHOLDS)


def test_isospin_neutron_and_deuteron():
    phi = ToyPDF().xfxQ(np.array([0.1]), 2.0)
    n = target_pdfs(phi, np.array([0.0]))
    d = target_pdfs(phi, np.array([0.5]))
    col = {p: i for i, p in enumerate(PIDS)}
    assert n[0, col[2]] == phi[0, col[1]] and n[0, col[-1]] == phi[0, col[-2]]
    assert n[0, col[3]] == phi[0, col[3]] and n[0, col[21]] == phi[0, col[21]]
    np.testing.assert_allclose(d[0, col[1]], 0.5 * (phi[0, col[1]] + phi[0, col[2]]))
    anti = target_pdfs(phi, np.array([-1.0]))
    assert anti[0, col[2]] == phi[0, col[-2]]


def test_cross_section_formula():
    """dσ/dx dQ² = 2πα²/(xQ⁴)[Y₊F₂ − y²F_L] with y = Q²/(xs)."""
    pdf = ToyPDF()
    x, Q, Vs = np.array([0.1]), np.array([2.0]), 7.2565449
    F2, FL = structure_functions(pdf, _alphas, x, Q, order=1, thresholds=THRESHOLDS)
    got = dsigma_dis(
        pdf,
        _alphas,
        lambda q: np.full(np.shape(q), 1 / 137.0),
        x,
        Q,
        Vs,
        order=1,
        thresholds=THRESHOLDS,
    )
    y = 4.0 / (0.1 * Vs**2)
    want = 2 * math.pi / 137.0**2 / (0.1 * 16.0) * ((1 + (1 - y) ** 2) * F2 - y * y * FL)
    np.testing.assert_allclose(got, want, rtol=1e-14)


@pytest.mark.slow
def test_nlo_against_yadism():
    """F₂ and F_L at O(α_s), ZM-VFNS, the same PDF and α_s: ≤ 1e-3 (measured ~1e-6)."""
    yadism = pytest.importorskip("yadism")
    from eko import interpolation

    points = [(0.03, 1.5), (0.1, 2.5), (0.3, 3.5), (0.6, 1.2)]  # (x, Q): nf = 3 and 4
    theory = dict(
        PTO=1, FNS="ZM-VFNS", DAMP=0, IC=0, ModEv="TRN", XIR=1.0, XIF=1.0, NfFF=3,
        MaxNfAs=5, MaxNfPdf=5, Q0=1.0, alphas=0.118, Qref=91.2, QED=0, alphaqed=0.007496,
        Qedref=1.777, SxRes=0, SxOrd="LL", HQ="POLE", mc=1.51, Qmc=1.51, kcThr=1.0, mb=4.92,
        Qmb=4.92, kbThr=1.0, mt=172.5, Qmt=172.5, ktThr=1.0,
        CKM="0.97428 0.22530 0.003470 0.22520 0.97345 0.041000 0.00862 0.04030 0.999152",
        MZ=91.1876, MW=80.398, GF=1.1663787e-05, SIN2TW=0.23126, TMC=0, MP=0.938,
        Comments="", global_nx=0, EScaleVar=1, nfref=5, nf0=3, fact_to_ren_scale_ratio=1.0,
        kDIScThr=1.0, kDISbThr=1.0, kDIStThr=1.0, IB=0, ZMc=True, ZMb=True, ZMt=True,
        n3lo_cf_variation=0,
    )  # fmt: skip
    kin = [dict(x=x, Q2=Q * Q, y=0) for x, Q in points]
    obs = dict(
        interpolation_xgrid=interpolation.make_grid(60, 40, x_min=1e-3).tolist(),
        interpolation_polynomial_degree=4,
        interpolation_is_log=True,
        prDIS="EM",
        ProjectileDIS="electron",
        PolarizationDIS=0,
        PropagatorCorrection=0,
        TargetDIS="proton",
        NCPositivityCharge=None,
        n3lo_cf_variation=(0, 0, 0, 0),
        observables={"F2_total": kin, "FL_total": kin},
    )
    out = yadism.run_yadism(theory, obs)
    pdf = ToyPDF()
    res = out.apply_pdf_alphas_alphaqed_xir_xif(
        pdf, lambda mu: ALPHAS, lambda mu: 1 / 137.0, 1.0, 1.0
    )
    ref_F2 = np.array([r["result"] for r in res["F2_total"]])
    ref_FL = np.array([r["result"] for r in res["FL_total"]])
    x, Q = np.array(points).T
    F2, FL = structure_functions(pdf, _alphas, x, Q, order=1, thresholds=(0, 0, 0, 1.51, 4.92))
    np.testing.assert_allclose(F2, ref_F2, rtol=1e-3)
    np.testing.assert_allclose(FL, ref_FL, rtol=1e-3)
    # and the O(α_s) terms themselves are large enough for the check to mean something
    F2_lo, _ = structure_functions(pdf, _alphas, x, Q, order=0, thresholds=(0, 0, 0, 1.51, 4.92))
    assert np.max(np.abs(F2 / F2_lo - 1)) > 0.03
    print(
        "max rel. diff F2", np.max(np.abs(F2 / ref_F2 - 1)), "FL", np.max(np.abs(FL / ref_FL - 1))
    )
