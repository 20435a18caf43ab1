"""Bin-averaged multiplicities: the node rule against a brute-force bin integral, the
PhT-bin kernel against an exact transform, targets and charges, gradients, missing sets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import REPO, SHARED
from scipy import special

from sidislab.config import from_dict
from sidislab.fnp import load_fnp
from sidislab.kinematics import Kinematics
from sidislab.measurements.bins import MeasuredBins
from sidislab.numerics.bgrid import BGrid, named_grid
from sidislab.observables import dis
from sidislab.observables.binning import BinRule, bin_nodes
from sidislab.observables.multiplicity import cumulative_kernel
from sidislab.observables.normalisation import normalisation_factors
from sidislab.observables.targets import MissingFragmentationSet
from sidislab.pipeline import build_multiplicities, luminosity_table, q_breaks

HERMES_VS = 7.2565449
FNP = REPO / "data" / "fnp" / "map22_flavour_blind.yaml"


def make_bins(rows: list[dict]) -> MeasuredBins:
    """MeasuredBins from plain rows (HERMES-like defaults)."""
    base = dict(
        dataset="test", observable="multiplicity", hadron="PI", charge=1.0,
        target_isoscalarity=1.0, prefactor=1.0, Vs=HERMES_VS, W_min=math.sqrt(10.0),
        y_min=0.1, y_max=0.85, integrate_x=True, integrate_Q=True, integrate_z=True,
        Q_lo=1.0, Q_hi=math.sqrt(15.0),
    )  # fmt: skip
    full = [{**base, **r} for r in rows]
    for r in full:
        r.setdefault("x", 0.5 * (r["x_lo"] + r["x_hi"]))
        r.setdefault("z", 0.5 * (r["z_lo"] + r["z_hi"]))
        r.setdefault("Q", 0.5 * (r["Q_lo"] + r["Q_hi"]))
        r.setdefault("PhT", 0.5 * (r["PhT_lo"] + r["PhT_hi"]))
        per_pht2 = r["observable"] != "multiplicity"  # NangaParbat's factor for COMPASS files
        r.setdefault("PhT_factor", 1.0 / (r["PhT_lo"] + r["PhT_hi"]) if per_pht2 else 1.0)
    kw = {}
    for k in full[0]:
        vals = [r[k] for r in full]
        if k in ("dataset", "observable", "hadron"):
            kw[k] = vals
        elif k.startswith("integrate"):
            kw[k] = torch.tensor(vals, dtype=torch.bool)
        else:
            kw[k] = torch.tensor(vals, dtype=torch.float64)
    return MeasuredBins(**kw)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A configuration at NNLL with the JAM20 sets where ../shared has them, else the
    embedded toy sets; a private luminosity cache."""
    import os

    cache = tmp_path_factory.mktemp("lumi")
    old = os.environ.get("SIDISLAB_CACHE_DIR")
    os.environ["SIDISLAB_CACHE_DIR"] = str(cache)
    jam = SHARED / "lhapdf" / "JAM20-SIDIS_PDF_proton_nlo"
    if jam.exists():
        sets = {
            "pdfset": {"name": "JAM20-SIDIS_PDF_proton_nlo"},
            "ffset": {"name": "JAM20-SIDIS_FF_pion_nlo"},
        }
        paths = [str(SHARED / "lhapdf")]
    else:
        sets, paths = {}, None
    cfg = from_dict({"PerturbativeOrder": 2, **sets})
    yield cfg, paths
    if old is None:
        os.environ.pop("SIDISLAB_CACHE_DIR", None)
    else:
        os.environ["SIDISLAB_CACHE_DIR"] = old


# --- the PhT-bin kernel -----------------------------------------------------------------


@pytest.mark.parametrize("a", [0.1, 0.5, 2.0])
def test_cumulative_kernel_gaussian(a):
    """qT ∫ db J₁(b qT) e^{−a b²} = 1 − e^{−qT²/(4a)} (exact; Gradshteyn 6.631)."""
    g = named_grid("default")
    b = g.nodes().numpy()
    wb = g.weights("simpson").numpy()
    qT = np.array([0.05, 0.3, 1.0, 2.0, 3.0])
    got = cumulative_kernel(b, wb, qT) @ np.exp(-a * b * b)
    want = -np.expm1(-(qT**2) / (4 * a))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-7)


# --- the node rule ------------------------------------------------------------------------


def _region_area(x_lo, x_hi, Q_lo, Q_hi, s, W2, y_min, y_max, measure):
    """∫ dx dQ (or dQ²) over the cut bin by a dense midpoint rule (independent)."""
    n = 1500
    x = x_lo + (np.arange(n) + 0.5) / n * (x_hi - x_lo)
    Q = Q_lo + (np.arange(n) + 0.5) / n * (Q_hi - Q_lo)
    X, QQ = np.meshgrid(x, Q, indexing="ij")
    Q2 = QQ**2
    y = Q2 / (X * s)
    ok = (y >= y_min) & (y <= y_max) & (Q2 * (1 - X) / X >= W2)
    w = 2 * QQ if measure == "Q2" else 1.0
    return float((ok * w).sum() * (x_hi - x_lo) * (Q_hi - Q_lo) / n**2)


@pytest.mark.parametrize("measure", ["Q", "Q2"])
@pytest.mark.parametrize("x_lo, x_hi", [(0.023, 0.047), (0.12, 0.2), (0.35, 0.6), (0.047, 0.075)])
def test_nodes_integrate_the_cut_region(x_lo, x_hi, measure):
    """Σ w over the (x, Q) nodes = the area of the bin inside W > W_min, y ∈ [y_min,
    y_max] (every panel is a smooth region, so Gauss–Legendre is exact up to the
    curvature of the limits)."""
    bins = make_bins([dict(x_lo=x_lo, x_hi=x_hi, z_lo=0.2, z_hi=0.3, PhT_lo=0.1, PhT_hi=0.2)])
    nodes = bin_nodes(bins, BinRule(q_measure=measure))
    got = nodes.w_xq.sum()
    want = _region_area(x_lo, x_hi, 1.0, math.sqrt(15.0), HERMES_VS**2, 10.0, 0.1, 0.85, measure)
    assert got == pytest.approx(want, rel=3e-3)  # the midpoint rule's own error on the cut edges
    assert np.all(nodes.w > 0) and np.all((nodes.z > 0.2) & (nodes.z < 0.3))
    # the z weights average over the bin: Σ_z w_z = 1 per (x, Q) node
    np.testing.assert_allclose(np.bincount(nodes.node_xq, nodes.w), nodes.w_xq, rtol=1e-13)


def test_points_share_nodes_and_z_above_one():
    rows = [dict(x_lo=0.1, x_hi=0.2, z_lo=0.8, z_hi=1.1, PhT_lo=lo, PhT_hi=lo + 0.1) for lo in
            (0.0, 0.1, 0.2)]  # fmt: skip
    bins = make_bins(rows)
    nodes = bin_nodes(bins, BinRule(n_z=4))
    assert nodes.n_groups == 1 and list(nodes.point_group) == [0, 0, 0]
    assert nodes.z.max() < 1.0
    # z ∈ [0.8, 1.0] of a bin of width 0.3: weights sum to 0.2/0.3 per (x, Q) node
    np.testing.assert_allclose(np.bincount(nodes.node_xq, nodes.w), nodes.w_xq * 2 / 3)


# --- brute force ----------------------------------------------------------------------------


def _brute_force(cfg, paths, bins, fnp, provider):
    """The same physics integrated differently: Q outer (panels split where an x limit
    switches branch), x inner between the cut limits, dense Gauss–Legendre in Q, x, z and
    PhT, and the PhT integrand dσ/d|PhT| = 2π P/(Q z²) ∫db b J₀(bP/z) F(b) point by point
    on a denser b-grid (no J₁ kernel, no node sharing)."""
    grid = BGrid(1e-3, 72.0, 385, "loglinear", 3.0)
    b = grid.nodes().numpy()
    wb = grid.weights("simpson").numpy()
    out = []
    for i in range(len(bins)):
        r = {k: (v[i].item() if torch.is_tensor(v) else v[i]) for k, v in vars(bins).items()}
        s, W2 = r["Vs"] ** 2, r["W_min"] ** 2
        cands = np.array(
            [r["x_lo"] * s * r["y_max"], r["x_hi"] * s * r["y_max"], r["x_lo"] * s * r["y_min"],
             r["x_hi"] * s * r["y_min"], W2 * r["x_lo"] / (1 - r["x_lo"]),
             W2 * r["x_hi"] / (1 - r["x_hi"]), s * r["y_min"] - W2]
        )  # fmt: skip
        cands = np.r_[cands, np.square(q_breaks(provider))]  # thresholds, sets' Q_min
        q2 = np.clip(np.sort(np.r_[r["Q_lo"] ** 2, r["Q_hi"] ** 2, cands]), r["Q_lo"] ** 2,
                     r["Q_hi"] ** 2)  # fmt: skip
        qb = np.unique(np.sqrt(q2))
        tq, wq = np.polynomial.legendre.leggauss(10)
        tq, wq = 0.5 * (tq + 1), 0.5 * wq
        Qn = (qb[:-1, None] + np.diff(qb)[:, None] * tq).ravel()
        wQ = (np.diff(qb)[:, None] * wq).ravel()
        xlo = np.maximum(r["x_lo"], Qn**2 / (s * r["y_max"]))
        xhi = np.minimum.reduce([np.full_like(Qn, r["x_hi"]), Qn**2 / (s * r["y_min"]),
                                 Qn**2 / (Qn**2 + W2)])  # fmt: skip
        ok = xhi > xlo
        Qn, wQ, xlo, xhi = Qn[ok], wQ[ok], xlo[ok], xhi[ok]
        tx, wx = np.polynomial.legendre.leggauss(12)
        tx, wx = 0.5 * (tx + 1), 0.5 * wx
        X = xlo[:, None] + (xhi - xlo)[:, None] * tx
        WX = wQ[:, None] * (xhi - xlo)[:, None] * wx
        QX = np.broadcast_to(Qn[:, None], X.shape)
        tz, wz = np.polynomial.legendre.leggauss(6)
        tz, wz = 0.5 * (tz + 1), 0.5 * wz
        zt = min(r["z_hi"], 1.0)
        Z = r["z_lo"] + (zt - r["z_lo"]) * tz
        WZ = (zt - r["z_lo"]) * wz / (r["z_hi"] - r["z_lo"])
        xs = np.repeat(X.ravel(), len(Z))
        Qs = np.repeat(QX.ravel(), len(Z))
        zs = np.tile(Z, X.size)
        ws = np.repeat(WX.ravel(), len(Z)) * np.tile(WZ, X.size)
        kin = Kinematics(
            x=torch.as_tensor(xs), Q2=torch.as_tensor(Qs**2), z=torch.as_tensor(zs),
            PhT=torch.zeros(len(xs), dtype=torch.float64), Vs=torch.full((len(xs),), r["Vs"]),
            y=torch.as_tensor(Qs**2 / (xs * s)), qToQcut=cfg.qToQcut,
            target_isoscalarity=r["target_isoscalarity"], charge=int(r["charge"]),
        )  # fmt: skip
        L = luminosity_table(cfg, kin, provider=provider, progress=False).interpolate(b).sum(1)
        with torch.no_grad():
            f = fnp(kin.x, kin.z, torch.as_tensor(b).expand(len(xs), -1), kin.Q2)[:, 0]
        F = (f * L).numpy()  # [n, Nb]
        tp, wp = np.polynomial.legendre.leggauss(8)
        tp, wp = 0.5 * (tp + 1), 0.5 * wp
        P = r["PhT_lo"] + (r["PhT_hi"] - r["PhT_lo"]) * tp
        num = 0.0
        for Pj, wj in zip(P, wp, strict=True):
            qT = Pj / zs
            hank = (F * b * wb * special.j0(b[None, :] * qT[:, None])).sum(1)
            dsig = 2 * math.pi * Pj / (Qs * zs**2) * hank
            num += wj * (ws * dsig).sum()  # (1/ΔP) ∫ dP = Σ w_j over [0, 1]
        den_pts = dis.dsigma_dis(
            provider.pdf, provider.alphas, provider.alphaem, X.ravel(), QX.ravel(), r["Vs"],
            order=dis.dis_order_for(cfg.PerturbativeOrder), thresholds=provider.thresholds,
            target_isoscalarity=r["target_isoscalarity"],
        )  # fmt: skip
        if r["observable"] != "multiplicity":  # per PhT²: ∫dP dσ/d|P| / (P_hi² − P_lo²)
            num /= r["PhT_hi"] + r["PhT_lo"]
        out.append(r["prefactor"] * num / (WX.ravel() * den_pts).sum())
    return np.array(out)


@pytest.mark.slow
def test_multiplicity_against_brute_force(setup):
    """Default node rule vs a dense, differently ordered bin integral: ≤ 1e-3."""
    from sidislab.lumi.providers import make_provider

    cfg, paths = setup
    provider = make_provider(cfg, paths=paths)
    fnp = load_fnp(FNP)
    bins = make_bins(
        [
            # low x: the y_max cut bounds Q; proton π⁺
            dict(x_lo=0.023, x_hi=0.047, z_lo=0.3, z_hi=0.375, PhT_lo=0.15, PhT_hi=0.25),
            # high x: the W cut removes most of the bin; deuteron π⁻
            dict(x_lo=0.35, x_hi=0.6, z_lo=0.2, z_hi=0.25, PhT_lo=0.25, PhT_hi=0.35,
                 target_isoscalarity=0.5, charge=-1.0),
            # middle, large PhT and the last z bin (beyond z = 1), per PhT²
            dict(x_lo=0.12, x_hi=0.2, z_lo=0.6, z_hi=0.8, PhT_lo=0.45, PhT_hi=0.6,
                 observable="(dsigma/dxdzdQ2dPhT2)/dsigmaDIS"),
        ]
    )  # fmt: skip
    m = build_multiplicities(cfg, bins, fnp, provider=provider, progress=False)
    with torch.no_grad():
        got = m().numpy()
    want = _brute_force(cfg, paths, bins, fnp, provider)
    assert np.all(want > 0)
    np.testing.assert_allclose(got, want, rtol=1e-3)


# --- targets, charges, normalisation, errors ---------------------------------------------------


@pytest.mark.slow
def test_deuteron_is_the_nucleon_average(setup):
    """Numerator and denominator are linear in the target's proton fraction: the deuteron
    (τ = 0.5) numerator and denominator are the means of proton (τ = 1) and neutron (τ = 0);
    π⁻ differs from π⁺."""
    cfg, paths = setup
    fnp = load_fnp(FNP)
    row = dict(x_lo=0.12, x_hi=0.2, z_lo=0.3, z_hi=0.375, PhT_lo=0.15, PhT_hi=0.25)
    bins = make_bins([{**row, "target_isoscalarity": t} for t in (1.0, 0.0, 0.5)]
                     + [{**row, "charge": -1.0}])  # fmt: skip
    m = build_multiplicities(cfg, bins, fnp, paths=paths, progress=False)
    with torch.no_grad():
        num = m.numerator().numpy()
    den = m.denominator[m.point_group].numpy()
    assert num[2] == pytest.approx(0.5 * (num[0] + num[1]), rel=1e-10)
    assert den[2] == pytest.approx(0.5 * (den[0] + den[1]), rel=1e-10)
    assert abs(num[3] / num[0] - 1) > 0.05  # proton: π⁺ ≠ π⁻ (u dominance)


def test_factorised_fnp_equals_the_module_forward(setup):
    """The shared-factor evaluation of fNP·DNP (PDF per (x, Q) node, FF shape per z, E²)
    equals FNP.forward at every node, also for ζ < Q0² (saturated evolution)."""
    cfg, paths = setup
    fnp = load_fnp(FNP)
    bins = make_bins(
        [dict(x_lo=0.1, x_hi=0.2, z_lo=0.2, z_hi=0.3, PhT_lo=0.1, PhT_hi=0.2),
         dict(x_lo=0.023, x_hi=0.047, z_lo=0.6, z_hi=0.8, PhT_lo=0.3, PhT_hi=0.4)]
    )  # fmt: skip
    m = build_multiplicities(cfg, bins, fnp, paths=paths, progress=False)
    assert m._map22 and m._z_per_xq == 3
    m.xq_zeta[:2] = 0.8  # below Q0² = 1 GeV² (saturated evolution factor)
    m.zeta[:6] = 0.8
    with torch.no_grad():
        got = m.integrand()
        want = (fnp(m.x, m.z, m.b, m.zeta) * m.L).sum(1)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=0)


@pytest.mark.slow
def test_gradient_matches_finite_differences(setup):
    cfg, paths = setup
    fnp = load_fnp(FNP)
    bins = make_bins(
        [dict(x_lo=0.047, x_hi=0.075, z_lo=0.25, z_hi=0.3, PhT_lo=lo, PhT_hi=lo + 0.1)
         for lo in (0.05, 0.15, 0.35)]
    )  # fmt: skip
    m = build_multiplicities(cfg, bins, fnp, paths=paths, progress=False)
    weights = torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64)
    v0 = fnp.get_vector().detach().clone()
    loss = (weights * m()).sum()
    (grad,) = torch.autograd.grad(loss, fnp.free_values)
    names = fnp.parameter_names()
    for name in ("g2", "pdf.N1", "ff.N3", "ff.beta1"):
        k = names.index(name)
        h = 1e-5 * max(1.0, abs(float(v0[k])))
        vals = []
        for sign in (1, -1):
            v = v0.clone()
            v[k] += sign * h
            fnp.set_vector(v)
            with torch.no_grad():
                vals.append(float((weights * m()).sum()))
        fnp.set_vector(v0)
        fd = (vals[0] - vals[1]) / (2 * h)
        assert float(grad[k]) == pytest.approx(fd, rel=1e-6, abs=1e-10), name


@pytest.mark.parametrize("hadron, match", [("KA", "K⁺ FF set"), ("HD", "π⁺ and K⁺ FF sets")])
def test_missing_fragmentation_sets(hadron, match):
    cfg = from_dict({})
    bins = make_bins(
        [dict(x_lo=0.1, x_hi=0.2, z_lo=0.2, z_hi=0.3, PhT_lo=0.1, PhT_hi=0.2),
         dict(x_lo=0.1, x_hi=0.2, z_lo=0.2, z_hi=0.3, PhT_lo=0.1, PhT_hi=0.2, hadron=hadron,
              dataset="HERMES_Pro_Kp_x")]
    )  # fmt: skip
    with pytest.raises(MissingFragmentationSet, match=match) as err:
        build_multiplicities(cfg, bins, load_fnp(FNP), progress=False)
    assert "HERMES_Pro_Kp_x: point 1" in str(err.value)
    assert "sidislab_toy_pip_nlo" in str(err.value)


def test_unknown_observable_is_a_data_error():
    from sidislab.errors import DataError

    bins = make_bins(
        [dict(x_lo=0.1, x_hi=0.2, z_lo=0.2, z_hi=0.3, PhT_lo=0.1, PhT_hi=0.2, observable="A_UT",
              dataset="HERMES_Pro_Pip_x")]
    )  # fmt: skip
    with pytest.raises(DataError, match="HERMES_Pro_Pip_x: point 0: observable 'A_UT'"):
        build_multiplicities(from_dict({}), bins, load_fnp(FNP), progress=False)


def test_normalisation_option():
    assert normalisation_factors("none", 3, 1) is None
    np.testing.assert_array_equal(normalisation_factors("map22", 3, 0), np.ones(3))
    from sidislab.errors import NotYetImplementedOrder

    with pytest.raises(NotYetImplementedOrder, match="O\\(α_s\\^1\\)"):
        normalisation_factors("map22", 3, 1)
    with pytest.raises(ValueError, match="allowed: none, map22"):
        normalisation_factors("bin", 3, 0)
