"""Matching of quark TMD PDFs and FFs (physics.md §3, APFEL++ matching functions)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from sidislab.constants import CF, TR, ZETA2
from sidislab.tmd.matching import (
    QUARKS,
    convolution_part,
    kernel_qg,
    kernel_qq_local,
    kernel_qq_regular,
    kernel_qq_singular_coefficient,
    local_part,
    matched_tmd,
)

THRESHOLDS = (0.0, 0.0, 0.0, 1.28, 4.18)
FLAVOURS = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 21)


def toy_xfx(x, Q):
    """Analytic momentum densities x f_i = N_i x^{a_i} (1 − x)^{b_i} (1 + 0.1 i ln Q); 0 for x ≥ 1."""
    x, Q = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(Q, dtype=np.float64))
    xs = np.clip(x, 1e-300, 1.0)
    out = np.empty((*x.shape, len(FLAVOURS)))
    for k in range(len(FLAVOURS)):
        a, b, n = 0.3 + 0.05 * k, 2.0 + 0.3 * k, 1.0 + 0.1 * k
        out[..., k] = n * xs**a * (1 - xs) ** b * (1 + 0.1 * (k % 3) * np.log(Q))
    out[x >= 1] = 0.0
    return out


def test_order1_is_collinear_exactly() -> None:
    x = np.array([1e-4, 0.01, 0.2, 0.7, 0.95])
    mu = np.array([1.1, 1.5, 3.0, 10.0])
    a = np.full(4, 0.3)
    for order in (0, 1):
        t = matched_tmd(toy_xfx, FLAVOURS, x, mu, a, THRESHOLDS, order)
        f = toy_xfx(x[None, :], mu[:, None])
        for j, q in enumerate(QUARKS):
            active = abs(q) <= np.array([3, 4, 4, 5])
            expect = f[..., FLAVOURS.index(q)] * active[:, None]
            assert np.array_equal(t[..., j], expect)


def _quad_convolution(kind: str, x: float, mu: float, q: int, Ci: float) -> float:
    """∫_x^1 dy C(y) F(x/y) (plus distribution subtracted) by adaptive quadrature."""
    L = math.log(Ci)
    iq, ig = FLAVOURS.index(q), FLAVOURS.index(21)

    def F(v, i):
        return float(toy_xfx(np.array(v), np.array(mu))[i])

    reg = integrate.quad(
        lambda y: (
            kernel_qq_regular(np.array(y), kind, L) * F(x / y, iq)
            + kernel_qg(np.array(y), kind, L) * F(x / y, ig)
        ),
        x,
        1.0,
        epsabs=1e-13,
        epsrel=1e-11,
        limit=400,
    )[0]
    c = kernel_qq_singular_coefficient(L)
    sing = 0.0
    if c:
        sing = c * (
            integrate.quad(
                lambda y: (F(x / y, iq) - F(x, iq)) / (1 - y),
                x,
                1.0,
                epsabs=1e-13,
                epsrel=1e-11,
                limit=400,
            )[0]
            + F(x, iq) * math.log1p(-x)
        )
    return reg + sing + kernel_qq_local(L) * F(x, iq)


@pytest.mark.parametrize("kind", ["pdf", "ff"])
@pytest.mark.parametrize("Ci", [1.0, 2.0, 0.5])
def test_nlo_convolution_against_quadrature(kind: str, Ci: float) -> None:
    x = np.array([1e-3, 0.05, 0.3, 0.8])
    mu = np.array([2.0, 5.0])
    a = np.array([0.25, 0.2])
    got = matched_tmd(toy_xfx, FLAVOURS, x, mu, a, THRESHOLDS, 2, kind, Ci, n_gauss=32)
    lo = local_part(toy_xfx, FLAVOURS, x, mu, a, THRESHOLDS, 2, kind, Ci)
    conv = convolution_part(toy_xfx, FLAVOURS, x, mu, a, THRESHOLDS, kind, Ci, n_gauss=32)
    assert np.array_equal(got, lo + conv)
    f0 = toy_xfx(x[None, :], mu[:, None])
    for m in range(len(mu)):
        for i, xv in enumerate(x):
            for q in (2, -1, 3):
                j = QUARKS.index(q)
                exact = f0[m, i, FLAVOURS.index(q)] + a[m] / (4 * math.pi) * _quad_convolution(
                    kind, xv, mu[m], q, Ci
                )
                assert got[m, i, j] == pytest.approx(exact, rel=2e-7, abs=1e-12)


def test_kernels() -> None:
    """The one-loop kernels of physics.md §3 at C_i = 1."""
    y = np.array([0.1, 0.5, 0.9])
    assert np.allclose(kernel_qq_regular(y, "pdf"), 2 * CF * (1 - y))
    assert np.allclose(kernel_qg(y, "pdf"), 4 * TR * y * (1 - y))
    assert np.allclose(
        kernel_qq_regular(y, "ff"), CF * (2 * (1 - y) + 4 * (1 + y**2) * np.log(y) / (1 - y))
    )
    assert np.allclose(kernel_qg(y, "ff"), CF * (2 * y + 4 * (1 + (1 - y) ** 2) * np.log(y) / y))
    assert kernel_qq_local() == pytest.approx(-CF * ZETA2)
    assert kernel_qq_singular_coefficient() == 0.0
    # continuous at y → 1
    assert kernel_qq_regular(np.array([1.0]), "ff")[0] == pytest.approx(-8 * CF)


def test_inactive_flavours_vanish() -> None:
    x = np.array([0.1])
    mu = np.array([1.2, 2.0, 5.0])
    t = matched_tmd(toy_xfx, FLAVOURS, x, mu, np.full(3, 0.3), THRESHOLDS, 2)
    for j, q in enumerate(QUARKS):
        nf = np.array([3, 4, 5])
        assert np.all((t[:, 0, j] == 0) == (abs(q) > nf))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="PerturbativeOrder: 7"):
        matched_tmd(
            toy_xfx, FLAVOURS, np.array([0.1]), np.array([2.0]), np.array([0.2]), THRESHOLDS, 7
        )
    with pytest.raises(ValueError, match=r"TMDscales\.Ci: -2.0 must be a positive"):
        matched_tmd(
            toy_xfx,
            FLAVOURS,
            np.array([0.1]),
            np.array([2.0]),
            np.array([0.2]),
            THRESHOLDS,
            3,
            Ci=-2.0,
        )
    with pytest.raises(ValueError):
        matched_tmd(
            toy_xfx,
            FLAVOURS,
            np.array([0.1]),
            np.array([2.0]),
            np.array([0.2]),
            THRESHOLDS,
            2,
            "tmd",
        )


def _load_jam(apfel_reference: dict):
    collinear = pytest.importorskip("sidislab.collinear")
    if not hasattr(collinear, "load_set"):
        pytest.skip("sidislab.collinear.load_set is not available")
    from conftest import SHARED

    paths = [str(SHARED / "lhapdf")]
    return (
        collinear.load_set(apfel_reference["pdfset"], paths=paths),
        collinear.load_set(apfel_reference["ffset"], paths=paths),
    )


def test_reference_matched_tmds(apfel_reference: dict, shared_lhapdf) -> None:
    """Matched TMD PDF and FF (u, d, s, ū, d̄, s̄) at every probe b: 0.5 % (order 1), 1 % (order 2)."""
    from sidislab.tmd.bstar import bstar_min, mu_bstar

    pdf, ff = _load_jam(apfel_reference)
    order = apfel_reference["order"]
    tol = 5e-3 if order == 1 else 1e-2
    for p in apfel_reference["points"]:
        Q = math.sqrt(p["Q2"])
        mu = np.array([float(mu_bstar(bstar_min(ing["b"], Q))) for ing in p["ingredients"]])
        a = pdf.alphas(mu)
        tp = matched_tmd(
            pdf.xfxQ, pdf.flavours, np.array([p["x"]]), mu, a, THRESHOLDS, order, "pdf"
        )
        tf = matched_tmd(ff.xfxQ, ff.flavours, np.array([p["z"]]), mu, a, THRESHOLDS, order, "ff")
        for k, ing in enumerate(p["ingredients"]):
            for q in (2, 1, 3, -2, -1, -3):
                j = QUARKS.index(q)
                # floor: 1 % of the u value (tiny, steep flavours; see test_lumi_native.close)
                for got, ref in ((tp[k, 0, j], ing["xf_tmd"]), (tf[k, 0, j], ing["zD_tmd"])):
                    assert abs(got - ref[str(q)]) <= tol * max(
                        abs(ref[str(q)]), 0.01 * abs(ref["2"])
                    )


# --- NNLO matching against physics.md §11.5 (toy inputs of its Appendix B) ------------------


def _les_houches(x, Q):
    """Les Houches toy PDFs (hep-ph/0204316; physics.md App. B), momentum densities."""
    x = np.asarray(x, dtype=np.float64)
    xs = np.clip(x, 1e-300, 1.0)
    uv = 5.1072 * xs**0.8 * (1 - xs) ** 3
    dv = 3.06432 * xs**0.8 * (1 - xs) ** 4
    g = 1.7 * xs**-0.1 * (1 - xs) ** 5
    db = 0.1939875 * xs**-0.1 * (1 - xs) ** 6
    ub = (1 - xs) * db
    s = 0.2 * (db + ub)
    z = np.zeros_like(xs)
    out = np.stack([z, z, s, ub, db, dv + db, uv + ub, s, z, z, g], -1)
    out[x >= 1] = 0.0
    return out


def _toy_pion_ff(z, Q):
    """The toy π⁺ FFs of physics.md App. B (favoured u, d̄; unfavoured d, ū, s, s̄; gluon)."""
    from scipy.special import beta

    z = np.asarray(z, dtype=np.float64)
    zs = np.clip(z, 1e-300, 1.0)

    def shape(a, b, m):
        return m / beta(a + 2, b + 1) * zs ** (a + 1) * (1 - zs) ** b

    fav, unf, g = shape(-0.963, 1.37, 0.401), shape(0.718, 6.266, 0.094), shape(1.943, 8.0, 0.238)
    o = np.zeros_like(zs)
    out = np.stack([o, o, unf, unf, fav, unf, fav, unf, o, o, g], -1)
    out[z >= 1] = 0.0
    return out


# physics.md §11.5: thresholds (0, 0, 0, 1.4, 4.75); b = 0.5 → n_f = 4, b = 1 → n_f = 3
_TH = (0.0, 0.0, 0.0, 1.4, 4.75)
_MU = np.array([1.1229189671337703 / 0.5, 1.1229189671337703])
_AS = np.array([0.285543019603, 0.423756722126])
_PDF_NNLO = {  # (x, b): u, d, ū, s
    (0.1, 0.5): (6.57822944e-1, 4.14521491e-1, 1.06835898e-1, 4.57429156e-2),
    (0.1, 1.0): (6.12988929e-1, 3.83366049e-1, 9.58933815e-2, 3.99382538e-2),
    (0.4, 0.5): (4.81777727e-1, 1.79553096e-1, 5.10260863e-3, 2.65074373e-3),
    (0.4, 1.0): (4.38847314e-1, 1.62727206e-1, 4.27760270e-3, 2.08400775e-3),
}
_FF_NNLO = {  # (z, b): u, d, s
    (0.2, 0.5): (5.06395217e-1, 1.71728556e-1, 1.71736469e-1),
    (0.2, 1.0): (3.68294010e-1, 9.24151686e-2, 9.24325953e-2),
    (0.5, 0.5): (3.24031765e-1, 6.17605184e-2, 6.17641965e-2),
    (0.5, 1.0): (2.86926816e-1, 5.62650475e-2, 5.62731481e-2),
}


@pytest.mark.parametrize("order", [3, -2], ids=["N3LL", "NNLLp"])
def test_nnlo_matching_reference_values(order: int) -> None:
    """NNLO-matched TMDs (all channels: NS±, PS, QG, the plus and δ parts) within 5e-6 of
    physics.md §11.5 (converged quadrature, 9 digits); 64 Gauss nodes in u are off by
    ≤ 2.1e-6 (s at x = 0.1, b = 1), 128 by ≤ 2e-7."""
    col = {q: QUARKS.index(q) for q in (2, 1, -2, 3)}
    for xs, table, fn, kind, flav in (
        ((0.1, 0.4), _PDF_NNLO, _les_houches, "pdf", (2, 1, -2, 3)),
        ((0.2, 0.5), _FF_NNLO, _toy_pion_ff, "ff", (2, 1, 3)),
    ):
        t = matched_tmd(fn, FLAVOURS, np.array(xs), _MU, _AS, _TH, order, kind, n_gauss=64)
        for (x, b), want in table.items():
            m, i = (0 if b == 0.5 else 1), xs.index(x)
            for q, w in zip(flav, want):
                assert t[m, i, col[q]] == pytest.approx(w, rel=5e-6), (kind, x, b, q)
    # NNLO: s ≠ d with equal collinear inputs (C_NS+ ≠ C_NS−), ū ≠ d at FF level
    t = matched_tmd(_toy_pion_ff, FLAVOURS, np.array([0.2]), _MU, _AS, _TH, order, "ff")
    assert t[0, 0, QUARKS.index(3)] != t[0, 0, QUARKS.index(1)]


def test_nlo_matching_reference_values() -> None:
    """NLO (NNLL, NLL′) against physics.md §11.5: u at x = 0.1, b = 0.5 and z = 0.2."""
    for order in (2, -1):
        t = matched_tmd(_les_houches, FLAVOURS, np.array([0.1]), _MU, _AS, _TH, order, "pdf")
        assert t[0, 0, QUARKS.index(2)] == pytest.approx(6.90453328e-1, rel=2e-8)
        f = matched_tmd(_toy_pion_ff, FLAVOURS, np.array([0.2]), _MU, _AS, _TH, order, "ff")
        assert f[1, 0, QUARKS.index(2)] == pytest.approx(5.01017322e-1, rel=2e-8)
