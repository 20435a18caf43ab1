"""α_s from a set (sidislab.collinear.alphas): table methods, RGE running, reference values."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from sidislab.collinear import AlphaS, load_set
from sidislab.collinear.alphas import beta_coefficients
from sidislab.errors import ConfigError

JAM_PDF = "JAM20-SIDIS_PDF_proton_nlo"


@pytest.fixture(scope="module")
def jam(shared_lhapdf):
    return load_set(JAM_PDF, paths=[shared_lhapdf])


def _table(s):
    return np.array(s.info["AlphaS_Qs"], float), np.array(s.info["AlphaS_Vals"], float)


@pytest.mark.parametrize("method", ["linear-lnq", "ipol"])
def test_table_methods_reproduce_the_table_at_its_knots(jam, method):
    qs, vals = _table(jam)
    a = jam.make_alphas(method)
    assert a.method == method
    np.testing.assert_allclose(a(qs), vals, rtol=1e-15)


def test_default_alphas_is_linear_in_lnq_and_frozen_outside(jam):
    a = jam.alphas
    assert a.method == "linear-lnq"
    qs, vals = _table(jam)
    q = math.sqrt(qs[3] * qs[4])  # midpoint in ln Q
    assert a(q) == pytest.approx(0.5 * (vals[3] + vals[4]), rel=1e-14)
    np.testing.assert_array_equal(a([0.3, 0.9, qs[0]]), vals[0])
    np.testing.assert_array_equal(a([qs[-1], 1e3, 1e5]), vals[-1])
    assert a(np.ones((2, 3))).shape == (2, 3)
    with pytest.raises(ValueError, match=r"point 1 has Q = -1"):
        a([1.0, -1.0])


def test_reference_alphas_is_apfel_tabulation_of_linear_lnq(jam, apfel_reference):
    """The reference's ``alphas`` (APFEL++ on the JAM PDF table).

    Its README says "linear interpolation in ln Q, frozen outside"; that alone is off by up to
    8.4e-5. APFEL++ then re-tabulates it (TabulateObject: 100 intervals in ln ln Q between
    0.9 GeV and QMax = 316 GeV, cubic Lagrange, thresholds 1.28 and 4.18 GeV): the
    ``"apfel-tab"`` method reproduces the reference to rounding.
    """
    ref = apfel_reference["alphas"]
    q = np.array([float(k) for k in ref])
    want = np.array(list(ref.values()))
    tab = jam.make_alphas("apfel-tab")(q)
    np.testing.assert_allclose(tab, want, rtol=1e-12)
    lin = jam.make_alphas("linear-lnq")(q)
    np.testing.assert_allclose(lin, want, rtol=1e-4)
    assert np.max(np.abs(lin / want - 1)) > 1e-5  # the README's statement alone is not exact


def test_ipol_agrees_with_pdfxtmd_inside_the_table(shared_lhapdf, tmp_path):
    """pdfxtmd (PDFxTMDLib) implements LHAPDF's AlphaS_Ipol inside the table. (Below the first
    knot it departs from LHAPDF ≥ 6.2's power-law continuation.)"""
    (tmp_path / ".PDFxTMDLib").mkdir()
    (tmp_path / ".PDFxTMDLib" / "config.yaml").write_text(f"paths:\n  - {shared_lhapdf}\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(tmp_path))  # before the import: pdfxtmd writes to $HOME
        pdfxtmd = pytest.importorskip("pdfxtmd")
        for name in (JAM_PDF, "JAM20-SIDIS_FF_pion_nlo"):
            c = pdfxtmd.CouplingFactory().mkCoupling(name)
            a = load_set(name, paths=[shared_lhapdf]).make_alphas("ipol")
            q = np.geomspace(a.qmin, a.qmax, 300)
            ref = np.array([c.AlphaQCDMu2(v * v) for v in q])
            np.testing.assert_allclose(a(q), ref, rtol=1e-13)
    assert os.environ.get("HOME") != str(tmp_path)


def test_ipol_outside_the_table_follows_lhapdf(jam):
    """LHAPDF ≥ 6.2 AlphaS_Ipol: power law with the first log-log slope below, frozen above."""
    qs, vals = _table(jam)
    a = jam.make_alphas("ipol")
    g = math.log10(vals[1] / vals[0]) / math.log10(qs[1] ** 2 / qs[0] ** 2)
    assert a(1.0) == pytest.approx(vals[0] * (1.0 / qs[0] ** 2) ** g, rel=1e-14)
    assert a(1e4) == vals[-1]


def test_ipol_subgrids_at_repeated_knots():
    qs = [1.0, 1.5, 2.0, 2.0, 3.0, 5.0, 5.0, 10.0]
    vals = [0.45, 0.38, 0.33, 0.34, 0.29, 0.24, 0.245, 0.2]
    a = AlphaS("ipol", qs=qs, values=vals)
    np.testing.assert_array_equal(
        a(np.array(qs)[[0, 1, 3, 4, 6, 7]]), np.array(vals)[[0, 1, 3, 4, 6, 7]]
    )
    assert a(2.0) == 0.34  # a Q on a repeated knot takes the upper subgrid
    below, above = a(2.0 * (1 - 1e-9)), a(2.0 * (1 + 1e-9))
    assert below == pytest.approx(0.33, abs=1e-7) and above == pytest.approx(0.34, abs=1e-7)
    # the two-knot subgrid [5, 10] is interpolated linearly in ln Q²
    assert a(math.sqrt(50.0)) == pytest.approx(0.5 * (0.245 + 0.2), rel=1e-14)
    lin = AlphaS("linear-lnq", qs=qs, values=vals)
    assert lin(2.0) == 0.34 and lin(math.sqrt(2.0 * 3.0)) == pytest.approx(0.315, rel=1e-14)


def _eko_alphas(alphas_mz, loops, masses, q, scheme="POLE"):
    couplings = pytest.importorskip("eko.couplings")
    from eko.quantities.couplings import CouplingEvolutionMethod, CouplingsInfo
    from eko.quantities.heavy_quarks import QuarkMassScheme

    info = CouplingsInfo(alphas=alphas_mz, alphaem=0.007496252, ref=(91.1876, 5), em_running=False)
    sc = couplings.Couplings(
        info,
        (loops, 0),
        CouplingEvolutionMethod.EXACT,
        [m * m for m in masses],
        hqm_scheme=QuarkMassScheme[scheme],
        thresholds_ratios=[1.0, 1.0, 1.0],
    )
    return np.array([4 * math.pi * sc.a_s(v * v) for v in q])


def _precise_alphas(alphas_mz, loops, masses, q, scheme="POLE"):
    """Independent high-precision solution: scipy DOP853 (rtol 1e-13) with eko's β and
    decoupling coefficients, thresholds at the masses."""
    beta = pytest.importorskip("eko.beta")
    from eko.couplings import compute_matching_coeffs_down, compute_matching_coeffs_up
    from scipy.integrate import solve_ivp

    def run(a, t0, t1, nf):
        if t0 == t1:
            return a
        bs = [beta.beta_qcd((k + 2, 0), nf) for k in range(loops)]
        sol = solve_ivp(
            lambda t, y: [-(y[0] ** 2) * sum(b * y[0] ** k for k, b in enumerate(bs))],
            (t0, t1),
            [a],
            method="DOP853",
            rtol=1e-13,
            atol=1e-16,
        )
        return float(sol.y[0, -1])

    out = []
    for v in q:
        a, t, nf = alphas_mz / (4 * math.pi), 2 * math.log(91.1876), 5
        t_end = 2 * math.log(v)
        edges = sorted(masses[:2])  # m_c, m_b (the top is above 91 GeV)
        if v > 91.1876:
            if v > masses[2]:
                a = run(a, t, 2 * math.log(masses[2]), 5)
                c = compute_matching_coeffs_up(scheme, 5)
                a *= 1 + sum(c[n, 0] * a**n for n in range(2, loops))
                t, nf = 2 * math.log(masses[2]), 6
        else:
            for m in reversed(edges):
                if v < m:
                    a = run(a, t, 2 * math.log(m), nf)
                    c = compute_matching_coeffs_down(scheme, nf - 1)
                    a *= 1 + sum(c[n, 0] * a**n for n in range(2, loops))
                    t, nf = 2 * math.log(m), nf - 1
        out.append(4 * math.pi * run(a, t, t_end, nf))
    return np.array(out)


@pytest.mark.parametrize("loops", [1, 2, 3, 4])
@pytest.mark.parametrize("scheme", ["pole", "msbar"])
def test_rge_agrees_with_eko(loops, scheme):
    if loops < 3 and scheme == "msbar":
        pytest.skip("matching is continuous below 3 loops: scheme irrelevant")
    masses = (1.28, 4.18, 173.0)
    info = {
        "AlphaS_MZ": 0.118,
        "MZ": 91.1876,
        "AlphaS_OrderQCD": loops - 1,
        "MCharm": masses[0],
        "MBottom": masses[1],
        "MTop": masses[2],
    }
    a = AlphaS.from_info(info, "rge", mass_scheme=scheme)
    assert a.loops == loops and a.method == "rge"
    q = np.concatenate(
        [np.geomspace(1.0, 1e3, 70), [1.2799, 1.2801, 4.1799, 4.1801, 91.1876, 172.0, 174.0]]
    )
    got = a(q)
    # eko solves the RGE with rtol = 1e-6 (eko.couplings), hence the tolerance
    np.testing.assert_allclose(got, _eko_alphas(0.118, loops, masses, q, scheme.upper()), rtol=2e-6)
    np.testing.assert_allclose(
        got, _precise_alphas(0.118, loops, masses, q, scheme.upper()), rtol=1e-10
    )


def test_rge_on_the_jam_set_is_two_loop(jam):
    """AlphaS_OrderQCD = 1 (NLO) → 2 loops from AlphaS_MZ = 0.118 with thresholds 1.28, 4.18
    and NumFlavors = 5 (no top although MTop = 180): JAM's own table to 4e-6."""
    qs, vals = _table(jam)
    a = jam.make_alphas("rge")
    assert a.loops == 2 and math.isinf(a.thresholds[5])
    assert a(91.1876) == pytest.approx(0.118, rel=1e-12)
    np.testing.assert_allclose(a(qs), vals, rtol=1e-5)
    assert jam.make_alphas("rge", loops=1)(qs[0]) < 0.95 * vals[0]  # one loop is far off


@pytest.mark.parametrize("nf", [3, 4, 5, 6])
def test_beta_coefficients_match_eko(nf):
    beta = pytest.importorskip("eko.beta")
    b = beta_coefficients(nf)
    ref = [beta.beta_qcd((k + 2, 0), nf) for k in range(4)]
    np.testing.assert_allclose(b, ref, rtol=1e-14)
    if nf == 5:
        assert b[0] == pytest.approx(23 / 3) and b[1] == pytest.approx(116 / 3)


def test_bad_inputs():
    with pytest.raises(ConfigError, match=r"α_s method must be one of"):
        AlphaS("cubic", qs=[1, 2], values=[0.3, 0.2])
    with pytest.raises(ConfigError, match=r"needs the AlphaS_Qs and AlphaS_Vals table"):
        AlphaS("linear-lnq")
    with pytest.raises(ConfigError, match=r"info key 'AlphaS_MZ' is missing"):
        AlphaS.from_info({"AlphaS_OrderQCD": 1}, "rge", source="x.info")
    with pytest.raises(ConfigError, match=r"info key 'AlphaS_Qs' is missing"):
        AlphaS.from_info({"AlphaS_MZ": 0.118}, "ipol", source="x.info")
    with pytest.raises(ConfigError, match=r"Landau pole"):
        AlphaS.from_info(
            {"AlphaS_MZ": 0.3, "AlphaS_OrderQCD": 1, "MCharm": 1.3, "MBottom": 4.5}, "rge"
        )
