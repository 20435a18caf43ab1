"""DGLAP kernels (sidislab.tmd.splitting) against eko's Mellin-space anomalous dimensions,
sum rules and the LO kernels inside sidislab.tmd.matching.

Moments γ(N) = ∫_0^1 dy y^{N−1} K(y) are computed here independently of the module:
the regular part with scipy's adaptive quadrature, the plus distribution from
∫_0^1 (y^{N−1} − 1)/(1 − y) dy = −[ψ(N) + γ_E] (itself checked by quadrature), the δ as is.

eko (``ekore.anomalous_dimensions.unpolarized``, γ = −P, a_s = α_s/(4π)) stores the singlet
sector in the (Σ, g) basis. Space-like: [[qq, qg], [gq, gg]] with qq = ns+ + ps, the Σ-row
gluon entry γ_qg = −n_f P_QG (LO: −2n_f × per-flavour "qg"), γ_ps = −n_f P_PS. Time-like
(eko's Mitov–Moch–Vogt naming is transposed): [[qq, gq], [qg, gg]], the Σ-row gluon entry
sitting at [0, 1] is again −n_f P_QG, the gluon row ← Σ entry at [1, 0] is −"gq".

eko evaluates the Mellin transform g3(N) of Li2(x)/(1 + x) (in S_{−2,1}) by a fitted
expansion accurate to ~1e-6 (``ekore.harmonics.g_functions.mellin_g3``); with it the NLO
NS± and gg moments differ from the exact x-space kernels by up to 1.6e-6 relative. We hand
eko the exact g3 (by quadrature) through its harmonic-sum cache, and the agreement is then
at the 1e-14 level: all channels are compared at 1e-9.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import digamma, spence

from sidislab.constants import CA, CF, EULER_GAMMA, ZETA2, ZETA3
from sidislab.tmd import anomalous_dimensions as ad
from sidislab.tmd import matching
from sidislab.tmd.splitting import SPLITTING, Kernel

pytestmark = pytest.mark.filterwarnings("error::scipy.integrate.IntegrationWarning")

NS_MELLIN = (2.0, 3.0, 4.5, 7.0)
NFS = (3, 4, 5)
LO_CHANNELS = ("ns", "qg", "gq", "gg")
NLO_CHANNELS = ("nsp", "nsm", "ps", "qg", "gq", "gg")


def _quad(f, a: float, b: float) -> float:
    val, err = integrate.quad(f, a, b, epsabs=0.0, epsrel=1e-11, limit=400)
    assert err <= 1e-10 * max(abs(val), 1.0), (a, b, val, err)
    return val


def moment(k: Kernel, n: float, nf: int) -> float:
    """∫_0^1 dy y^{N−1} K(y) with K's regular, plus and δ parts (module docstring)."""

    def reg(y: float) -> float:
        return y ** (n - 1.0) * float(k.regular(np.array(y), nf))

    out = _quad(reg, 0.0, 0.5) + _quad(reg, 0.5, 1.0)
    out += float(k.plus(nf)) * -(digamma(n) + EULER_GAMMA) + float(k.delta(nf))
    assert k.log_plus is None
    return out


def test_plus_distribution_moment() -> None:
    for n in NS_MELLIN:
        num = _quad(lambda y, n=n: (y ** (n - 1.0) - 1.0) / (1.0 - y), 0.0, 1.0)
        assert num == pytest.approx(-(digamma(n) + EULER_GAMMA), rel=1e-12)


def test_table_keys_and_shapes() -> None:
    expected = {(k, 0, c) for k in ("pdf", "ff") for c in LO_CHANNELS}
    expected |= {(k, 1, c) for k in ("pdf", "ff") for c in NLO_CHANNELS}
    assert set(SPLITTING) == expected
    y = np.array([[1e-4, 0.1, 0.5], [0.7, 0.9, 0.999]])  # [Nx, Ng]
    nf = np.array([3, 4, 5])[:, None, None]  # [Nm, 1, 1]
    for key, k in SPLITTING.items():
        arr = k.regular(y, nf)
        assert arr.shape == (3, 2, 3), key
        for i, n in enumerate((3, 4, 5)):
            np.testing.assert_allclose(arr[i], k.regular(y, n), rtol=1e-15, err_msg=str(key))
            assert float(k.plus(nf)[i, 0, 0]) == float(k.plus(n)), key
            assert float(k.delta(nf)[i, 0, 0]) == float(k.delta(n)), key
        assert np.all(np.isfinite(arr)), key


# --- eko --------------------------------------------------------------------------------------


def _g3_exact(n: float) -> float:
    """g3(N) = ∫_0^1 x^{N−1} Li2(x)/(1 + x) dx (eko's convention, x^{N−1})."""
    return _quad(lambda x: x ** (n - 1.0) * spence(1.0 - x) / (1.0 + x), 0.0, 1.0)


def _eko_cache(n: complex):
    """eko's harmonic-sum cache with the exact g3(N) and S_{−2,1}(N) (η = +1) filled in."""
    c = pytest.importorskip("ekore.harmonics.cache")
    cache = c.reset()
    cache[c.g3] = _g3_exact(n.real)
    sm1 = c.get(c.Sm1, cache, n, is_singlet=True)
    # eko w3.Sm21 with g3(N + 1) exact: −η g3(N + 1) + ζ2 S_{−1} − 5/8 ζ3 + ζ2 ln 2
    cache[c.Sm21] = (
        -_g3_exact(n.real + 1.0) + ZETA2 * sm1 - 5.0 / 8.0 * ZETA3 + ZETA2 * math.log(2.0)
    )
    return cache


def eko_kernels(kind: str, n: float, nf: int) -> dict[tuple[int, str], float]:
    """The moments of every SPLITTING channel from eko, converted to this module's normalisation."""
    if kind == "pdf":
        m = pytest.importorskip("ekore.anomalous_dimensions.unpolarized.space_like")
        s0 = m.as1.gamma_singlet(complex(n), _eko_cache(complex(n)), nf)
    else:
        m = pytest.importorskip("ekore.anomalous_dimensions.unpolarized.time_like")
        s0 = m.as1.gamma_singlet(complex(n), nf, _eko_cache(complex(n)))
    nz = complex(n)
    s1 = m.as2.gamma_singlet(nz, nf, _eko_cache(nz))
    nsp = m.as2.gamma_nsp(nz, nf, _eko_cache(nz))
    nsm = m.as2.gamma_nsm(nz, nf, _eko_cache(nz))
    g = {
        (0, "ns"): -s0[0, 0],
        (0, "qg"): -s0[0, 1] / (2 * nf),  # Σ-row gluon entry = 2 n_f × per-flavour "qg"
        (0, "gq"): -s0[1, 0],
        (0, "gg"): -s0[1, 1],
        (1, "nsp"): -nsp,
        (1, "nsm"): -nsm,
        (1, "ps"): -(s1[0, 0] - nsp) / nf,
        (1, "qg"): -s1[0, 1] / nf,  # = n_f P_QG
        (1, "gq"): -s1[1, 0],
        (1, "gg"): -s1[1, 1],
    }
    return {key: complex(v).real for key, v in g.items()}


# eko's anomalous dimensions are numba functions: compiling them takes about 4 minutes in a
# fresh environment, so the comparisons with eko run with the slow tests (make test-slow)
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["pdf", "ff"])
@pytest.mark.parametrize("nf", NFS)
def test_moments_against_eko(kind: str, nf: int) -> None:
    pytest.importorskip("ekore")
    for n in NS_MELLIN:
        ref = eko_kernels(kind, n, nf)
        for (order, ch), val in ref.items():
            got = moment(SPLITTING[(kind, order, ch)], n, nf)
            assert got == pytest.approx(val, rel=1e-9, abs=1e-12), (kind, nf, n, order, ch)


@pytest.mark.slow
def test_lo_qg_factor_against_eko_singlet() -> None:
    """P_QG^{(0)} (evolution basis) = 2 × per-flavour "qg": eko's Σ-row gluon entry is 2 n_f "qg"."""
    m = pytest.importorskip("ekore.anomalous_dimensions.unpolarized.space_like")
    c = pytest.importorskip("ekore.harmonics.cache")
    nf, n = 4, 2.0
    gamma_qg = complex(m.as1.gamma_singlet(complex(n), c.reset(), nf)[0, 1]).real
    per_flavour = moment(SPLITTING[("pdf", 0, "qg")], n, nf)
    assert per_flavour == pytest.approx(2.0 * 0.5 * (1 / 3), rel=1e-12)  # 2T_R ∫ y[y² + (1−y)²]
    assert -gamma_qg == pytest.approx(nf * 2.0 * per_flavour, rel=1e-12)


# --- sum rules --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pdf", "ff"])
@pytest.mark.parametrize("nf", NFS)
def test_quark_number_lo(kind: str, nf: int) -> None:
    """∫ P_qq^{(0)} = 0: [(1 + y²)/(1 − y)]_+ integrates to zero."""
    assert moment(SPLITTING[(kind, 0, "ns")], 1.0, nf) == pytest.approx(0.0, abs=1e-11)


@pytest.mark.parametrize("nf", NFS)
def test_quark_number_nlo_pdf(nf: int) -> None:
    """∫_0^1 P_NS−^{(1)} = 0 (valence number conservation); P_NS+ does not vanish there."""
    assert moment(SPLITTING[("pdf", 1, "nsm")], 1.0, nf) == pytest.approx(0.0, abs=1e-10)
    assert abs(moment(SPLITTING[("pdf", 1, "nsp")], 1.0, nf)) > 1.0


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("nf", NFS)
def test_momentum_sum_rule_pdf(order: int, nf: int) -> None:
    """Σ_i ∫ y P_ij = 0 per column j of dΣ = P_qΣ Σ + P_qg^Σ g, dg = P_gq Σ + P_gg g."""
    k = {
        ch: moment(v, 2.0, nf)
        for (kind, o, ch), v in SPLITTING.items()
        if kind == "pdf" and o == order
    }
    if order == 0:
        quark_col = k["ns"] + k["gq"]
        gluon_col = 2 * nf * k["qg"] + k["gg"]
    else:
        quark_col = k["nsp"] + nf * k["ps"] + k["gq"]
        gluon_col = nf * k["qg"] + k["gg"]
    scale = max(abs(v) for v in k.values())
    assert quark_col == pytest.approx(0.0, abs=1e-10 * scale)
    assert gluon_col == pytest.approx(0.0, abs=1e-10 * scale)


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("nf", NFS)
def test_momentum_sum_rule_ff(order: int, nf: int) -> None:
    """Σ_h ∫ z D_i^h = 1 for every parton i: the N = 2 moments of each ROW sum to zero.

    Quark row with all moments 1 (q⁺ = 2, q⁻ = 0, Σ = 2n_f, g = 1):
    P_NS+ + n_f P_PS + ½ P_QG = 0; gluon row: 2n_f "gq" + "gg" = 0.
    """
    k = {
        ch: moment(v, 2.0, nf)
        for (kind, o, ch), v in SPLITTING.items()
        if kind == "ff" and o == order
    }
    if order == 0:
        quark_row = k["ns"] + k["qg"]
    else:
        quark_row = k["nsp"] + nf * k["ps"] + 0.5 * k["qg"]
    gluon_row = 2 * nf * k["gq"] + k["gg"]
    scale = max(abs(v) for v in k.values())
    assert quark_row == pytest.approx(0.0, abs=1e-10 * scale)
    assert gluon_row == pytest.approx(0.0, abs=1e-10 * scale)


# --- consistency with sidislab.tmd.matching and nnlo_matching ---------------------------------

Y = np.array([1e-4, 1e-3, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999999])


@pytest.mark.parametrize("kind", ["pdf", "ff"])
def test_lo_kernels_equal_matching_log_terms(kind: str) -> None:
    """matching.py's L = ln C_i terms are −2L P^{(0)} with these kernels (its docstring)."""
    L = 0.37
    ns = SPLITTING[(kind, 0, "ns")]
    qg = SPLITTING[(kind, 0, "qg")]
    d_qq = matching.kernel_qq_regular(Y, kind, L) - matching.kernel_qq_regular(Y, kind, 0.0)
    np.testing.assert_allclose(d_qq, -2 * L * ns.regular(Y, 4), rtol=1e-13)
    assert matching.kernel_qq_singular_coefficient(L) == pytest.approx(
        -2 * L * ns.plus(4), rel=1e-14
    )
    d_loc = matching.kernel_qq_local(L) - matching.kernel_qq_local(0.0)
    expect = L * (ad.gamma_f0() - 2 * ns.delta(4)) - 0.5 * CF * ad.gamma_k0() * L * L
    assert d_loc == pytest.approx(expect, rel=1e-14, abs=1e-14)
    d_qg = matching.kernel_qg(Y, kind, L) - matching.kernel_qg(Y, kind, 0.0)
    np.testing.assert_allclose(d_qg, -2 * L * qg.regular(Y, 4), rtol=1e-13)


def test_lo_ns_is_2cf_one_plus_y2_over_one_minus_y() -> None:
    """P_qq^{(0)} = 2C_F[(1 + y²)/(1 − y)]_+ (matching.py's docstring): y < 1 values and δ."""
    ns = SPLITTING[("pdf", 0, "ns")]
    yy = Y[Y < 0.999]
    np.testing.assert_allclose(
        ns.regular(yy, 3) + ns.plus(3) / (1 - yy), 2 * CF * (1 + yy**2) / (1 - yy), rtol=1e-13
    )
    assert ns.delta(3) == pytest.approx(3 * CF, rel=1e-15)  # = γ_F^{(0)}/2
    assert ns.delta(3) == pytest.approx(ad.gamma_f0() / 2, rel=1e-15)


@pytest.mark.parametrize("kind", ["pdf", "ff"])
def test_nlo_regular_parts_smooth_near_one(kind: str) -> None:
    """The 1/(1 − y) poles are cancelled analytically: no blow-up as y → 1 (only ln(1 − y))."""
    y = 1.0 - np.logspace(-3, -12, 10)
    for ch in ("nsp", "nsm"):
        r = SPLITTING[(kind, 1, ch)].regular(y, 5)
        assert np.all(np.abs(r) < 50 * (1 + np.abs(np.log1p(-y)))), (kind, ch, r)


@pytest.mark.parametrize("nf", NFS)
def test_large_y_and_delta_coefficients(nf: int) -> None:
    """Plus coefficients are the cusp C_R γ_K/2 (LO and NLO); the gg δ at LO is β0."""
    for kind in ("pdf", "ff"):
        assert SPLITTING[(kind, 0, "ns")].plus(nf) == pytest.approx(
            CF * ad.gamma_k0() / 2, rel=1e-15
        )
        assert SPLITTING[(kind, 0, "gg")].plus(nf) == pytest.approx(
            CA * ad.gamma_k0() / 2, rel=1e-15
        )
        for ch in ("nsp", "nsm"):
            k = SPLITTING[(kind, 1, ch)]
            assert k.plus(nf) == pytest.approx(CF * ad.gamma_k1(nf) / 2, rel=1e-14)
        assert SPLITTING[(kind, 1, "gg")].plus(nf) == pytest.approx(
            CA * ad.gamma_k1(nf) / 2, rel=1e-14
        )
        assert SPLITTING[(kind, 0, "gg")].delta(nf) == pytest.approx(ad.beta0(nf), rel=1e-15)
