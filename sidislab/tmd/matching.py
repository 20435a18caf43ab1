r"""Matching of quark TMD PDFs and FFs onto collinear distributions at μ0 = C_i b0/b*.

physics.md §3 and APFEL++ (``src/tmds/matchingfunctionspdf.cc``, ``matchingfunctionsff.cc``,
the log terms of ``tmdbuilder.cc`` ``InitializeTmdObjects`` and ``MatchingFunctionsPDFs``),
with a_s = α_s(μ0)/(4π), ζ0 = μ0², L = ln C_i, per quark flavour q (number densities f, D;
multiply by x, z for the momentum densities x·f, z·D that LHAPDF grids hold):

    f_q^TMD = f_q + a_s [C_qq ⊗ f_q + C_qg ⊗ f_g],   D_q^TMD = D_q + a_s [C^FF_qq ⊗ D_q + C^FF_gq ⊗ D_g]

with (C ⊗ f)(x) = ∫_x^1 (dy/y) C(y) f(x/y) (so x (C ⊗ f)(x) = ∫_x^1 dy C(y) [x f](x/y), which
is how the momentum densities are convolved here) and the one-loop kernels

    C_qq(y)      = 2C_F(1 − y) − C_F ζ2 δ(1 − y) + L [γ_F^{(0)} δ − 2P_qq(y)] − L² C_F γ_K^{(0)}/2 δ
    C_qg(y)      = 4T_R y(1 − y) − 2L P_qg(y)
    C^FF_qq(y)   = C_F[2(1 − y) + 4(1 + y²) ln y/(1 − y)] − C_F ζ2 δ(1 − y)
                   + L [γ_F^{(0)} δ − 2P_qq(y)] − L² C_F γ_K^{(0)}/2 δ
    C^FF_gq(y)   = C_F[2y + 4(1 + (1 − y)²) ln y / y] − 2L P^T_gq(y)     (quark → gluon → hadron)

where, in a_s units, P_qq(y) = 2C_F[(1 + y²)/(1 − y)]_+ = 4C_F/(1 − y)_+ − 2C_F(1 + y) + 3C_F δ,
P_qg(y) = 2T_R[y² + (1 − y)²] (per quark), P^T_gq(y) = 2C_F[1 + (1 − y)²]/y (time-like, per
quark), γ_F^{(0)} = 6C_F, γ_K^{(0)} = 8. The ln y terms of the FF kernels come from the z²
normalisation of TMD FFs. All terms with L vanish at C_i = 1.

Orders (physics.md §4.1; :func:`sidislab.tmd.orders.matching_order`): LL and NLL use the
LO matching (the TMD is the collinear x·f(x, μ0) itself), NLL′ and NNLL the NLO matching
above, NNLL′ and N³LL add the a_s² terms (physics.md §5.1 assembly; their ln C_i terms,
which need P⁽¹⁾ and nested convolutions, are in :mod:`sidislab.tmd.nnlo_scale_logs`)

    T_q^{(2)} = ½ C_NS+ ⊗ q⁺ ± ½ C_NS− ⊗ q⁻ + ½ C_PS ⊗ Σ + ½ C_QG ⊗ g   (+ for q, − for q̄)

with APFEL++'s two-loop coefficients (:mod:`sidislab.tmd.nnlo_matching`: regular parts,
the plus distribution A2/(1 − y)_+ and the δ(1 − y) coefficient A1). Flavours above n_f(μ0) are
inactive: in APFEL++'s evolution basis their TMD vanishes, and so it does here.

Numerics: with y = x^s, s ∈ [0, 1], ∫_x^1 dy C(y) F(x/y) = |ln x| ∫_0^1 ds y C(y) F(x^{1−s}),
done by Gauss–Legendre in s; the plus distribution is written
∫_x^1 dy [F(x/y) − F(x)]/(1 − y) + F(x) ln(1 − x) (APFEL++ ``Operator``: regular, singular
with subtraction, and local parts), which leaves only smooth or integrable-log integrands.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from sidislab.constants import CF, TR, ZETA2
from sidislab.tmd import anomalous_dimensions as ad
from sidislab.tmd import nnlo_matching as nnlo
from sidislab.tmd import nnlo_scale_logs
from sidislab.tmd._util import convolution_nodes, n_active
from sidislab.tmd.orders import matching_order

KINDS = ("pdf", "ff")
QUARKS: tuple[int, ...] = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5)
"""PDG ids of the matched quark TMDs, in the order of ``sidislab.lumi.base.LUMI_FLAVOURS``."""


def _log_ratio(y: np.ndarray, power: int) -> np.ndarray:
    """ln y / (1 − y)^power, continuous at y = 1 (value −1 for power 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(y) / (1.0 - y) ** power
    if power == 1:
        out = np.where(np.abs(1.0 - y) < 1e-8, -1.0 - 0.5 * (1.0 - y), out)
    return out


def kernel_qq_regular(y: np.ndarray, kind: str, log_ci: float = 0.0) -> np.ndarray:
    """Regular part of C_qq (``kind='pdf'``) or C^FF_qq (``'ff'``) in a_s units (module docstring)."""
    if kind == "pdf":
        reg = 2.0 * CF * (1.0 - y)
    else:
        reg = CF * (2.0 * (1.0 - y) + 4.0 * (1.0 + y * y) * _log_ratio(y, 1))
    if log_ci != 0.0:
        reg = reg + log_ci * 4.0 * CF * (1.0 + y)  # −2L × (−2C_F(1 + y)) from −2L P_qq
    return reg


def kernel_qq_singular_coefficient(log_ci: float = 0.0) -> float:
    """Coefficient c of the plus distribution c/(1 − y)_+ in C_qq: −2L × 4C_F = −8C_F L."""
    return -8.0 * CF * log_ci


def kernel_qq_local(log_ci: float = 0.0) -> float:
    """δ(1 − y) coefficient of C_qq and C^FF_qq: −C_F ζ2 + L(γ_F^{(0)} − 6C_F) − 4C_F L².

    γ_F^{(0)} − 2 × 3C_F = 0 (the δ of P_qq cancels γ_F^{(0)}); C_F γ_K^{(0)}/2 = 4C_F.
    """
    return -CF * ZETA2 + log_ci * (ad.gamma_f0() - 6.0 * CF) - 0.5 * CF * ad.gamma_k0() * log_ci**2


def kernel_qg(y: np.ndarray, kind: str, log_ci: float = 0.0) -> np.ndarray:
    """Gluon-channel kernel C_qg (``'pdf'``) or C^FF_gq (``'ff'``), per quark, a_s units."""
    if kind == "pdf":
        reg = 4.0 * TR * y * (1.0 - y)
        if log_ci != 0.0:
            reg = reg - 2.0 * log_ci * 2.0 * TR * (y * y + (1.0 - y) ** 2)
    else:
        reg = CF * (2.0 * y + 4.0 * (1.0 + (1.0 - y) ** 2) * np.log(y) / y)
        if log_ci != 0.0:
            reg = reg - 2.0 * log_ci * 2.0 * CF * (1.0 + (1.0 - y) ** 2) / y
    return reg


def _quark_columns(flavours: Sequence[int]) -> tuple[list[int], list[int]]:
    flav = [21 if f == 0 else int(f) for f in flavours]
    return flav, [flav.index(q) if q in flav else -1 for q in QUARKS]


def _active(mu0: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """[Nm, 1, 10] mask: quark flavours with |id| ≤ n_f(μ0)."""
    nf0 = n_active(mu0, thresholds)
    return (np.abs(np.asarray(QUARKS))[None, :] <= nf0[:, None])[:, None, :]


def _check(order: int, kind: str, Ci: float = 1.0) -> int:
    """Validate; return the matching order (0 LO, 1 NLO, 2 NNLO) of PerturbativeOrder ``order``."""
    if kind not in KINDS:
        raise ValueError(f"matching: kind must be one of {KINDS}, got {kind!r}")
    if not (isinstance(Ci, (int, float)) and math.isfinite(Ci) and Ci > 0.0):
        raise ValueError(f"TMDscales.Ci: {Ci!r} must be a positive finite number")
    return matching_order(order)


def matched_tmd(
    xfx: Callable[[np.ndarray, np.ndarray], np.ndarray],
    flavours: Sequence[int],
    x: np.ndarray,
    mu0: np.ndarray,
    alphas_mu0: np.ndarray,
    thresholds: Sequence[float],
    order: int,
    kind: str = "pdf",
    Ci: float = 1.0,
    n_gauss: int = 48,
) -> np.ndarray:
    """Matched quark TMDs x·f_q^TMD (``kind='pdf'``) or z·D_q^TMD (``'ff'``) at μ0, ζ0 = μ0².

    ``xfx(x, μ)`` returns the collinear momentum densities [..., len(flavours)] (x ≥ 1 must
    give 0); ``flavours`` are their PDG ids (gluon 21 or 0). ``x`` [Nx] and ``mu0`` [Nm]
    (GeV; ``alphas_mu0`` [Nm] is α_s there) span a grid. Returns [Nm, Nx, 10] with the
    quark columns of :data:`QUARKS`. Formulas in the module docstring (physics.md §3).
    It is the sum :func:`local_part` + :func:`convolution_part`.
    """
    out = local_part(xfx, flavours, x, mu0, alphas_mu0, thresholds, order, kind, Ci)
    n = _check(order, kind, Ci)
    if n >= 1:
        out = out + convolution_part(
            xfx, flavours, x, mu0, alphas_mu0, thresholds, kind, Ci, n_gauss, nnlo=n == 2
        )
    return out


def local_part(
    xfx: Callable[[np.ndarray, np.ndarray], np.ndarray],
    flavours: Sequence[int],
    x: np.ndarray,
    mu0: np.ndarray,
    alphas_mu0: np.ndarray,
    thresholds: Sequence[float],
    order: int,
    kind: str = "pdf",
    Ci: float = 1.0,
) -> np.ndarray:
    """The terms proportional to the collinear F_q(x, μ0) itself: [Nm, Nx, 10].

    F_q with LO matching (LL, NLL: exactly the collinear x·f(x, μ0)); with NLO matching
    (NLL′, NNLL) F_q [1 + a_s c_δ] with c_δ = :func:`kernel_qq_local` (the δ(1 − y)
    coefficient); with NNLO matching (NNLL′, N³LL) also + a_s² A1(n_f(μ0)) F_q
    (:func:`sidislab.tmd.nnlo_matching.a1_ns`). Inactive flavours (|q| > n_f(μ0)) are 0.
    """
    n = _check(order, kind, Ci)
    x = np.asarray(x, dtype=np.float64)
    mu0 = np.asarray(mu0, dtype=np.float64)
    _, qcols = _quark_columns(flavours)
    nm, nx = mu0.size, x.size
    F0 = np.asarray(
        xfx(np.broadcast_to(x[None, :], (nm, nx)), np.broadcast_to(mu0[:, None], (nm, nx))),
        dtype=np.float64,
    )
    out = np.zeros((nm, nx, len(QUARKS)))
    for j, c in enumerate(qcols):
        if c >= 0:
            out[..., j] = F0[..., c]
    if n >= 1:
        a = np.broadcast_to(np.asarray(alphas_mu0, dtype=np.float64), mu0.shape) / (4.0 * math.pi)
        fac = 1.0 + a * kernel_qq_local(math.log(Ci))
        if n == 2:
            nf0 = n_active(mu0, thresholds)
            fac = fac + a * a * nnlo.a1_ns(nf0)
            if Ci != 1.0:
                fac = fac + a * a * nnlo_scale_logs.local_coefficient(kind, math.log(Ci), nf0)
        out *= fac[:, None, None]
    return out * _active(mu0, thresholds)


def convolution_part(
    xfx: Callable[[np.ndarray, np.ndarray], np.ndarray],
    flavours: Sequence[int],
    x: np.ndarray,
    mu0: np.ndarray,
    alphas_mu0: np.ndarray,
    thresholds: Sequence[float],
    kind: str = "pdf",
    Ci: float = 1.0,
    n_gauss: int = 48,
    *,
    nnlo: bool = False,
) -> np.ndarray:
    """The convolution terms of the NLO (and with ``nnlo`` the NNLO) matching: [Nm, Nx, 10].

    a_s [∫_x^1 dy C_reg(y) F_q(x/y) + c (∫_x^1 dy [F_q(x/y) − F_q(x)]/(1 − y) + F_q(x) ln(1 − x))
    + ∫_x^1 dy C_qg(y) F_g(x/y)] with the kernels of the module docstring (c = −8 C_F ln C_i,
    the plus-distribution coefficient), and with ``nnlo`` + a_s² × the
    regular, plus-distribution (A2) and ln(1 − x) parts of
    ½ C_NS+ ⊗ q⁺ ± ½ C_NS− ⊗ q⁻ + ½ C_PS ⊗ Σ + ½ C_QG ⊗ g
    (:mod:`sidislab.tmd.nnlo_matching`; Σ over the flavours active at μ0; the δ part A1 is
    in :func:`local_part`), and for C_i ≠ 1 the convolution part of the ln C_i terms
    (:mod:`sidislab.tmd.nnlo_scale_logs`). Inactive flavours are 0.

    With ``nnlo`` the Gauss nodes are s = u² (u Gauss–Legendre): the ln^k(1 − y) of the
    two-loop kernels at y → 1 (s → 0) become integrable-smooth in u.
    """
    _check(3 if nnlo else 2, kind, Ci)
    x = np.asarray(x, dtype=np.float64)
    mu0 = np.asarray(mu0, dtype=np.float64)
    flav, qcols = _quark_columns(flavours)
    log_ci = math.log(Ci)
    nodes = convolution_nodes(x, n_gauss, squared=nnlo)
    y, xy, jac = nodes.y, nodes.xy, nodes.jac  # [Nx, Ng]: y = x^s, x/y, dy = |ln x| y ds
    nm, nx = mu0.size, x.size
    Fy = np.asarray(
        xfx(
            np.broadcast_to(xy[None], (nm, nx, n_gauss)),
            np.broadcast_to(mu0[:, None, None], (nm, nx, n_gauss)),
        ),
        dtype=np.float64,
    )  # [Nm, Nx, Ng, nflav]
    reg_qq = kernel_qq_regular(y, kind, log_ci) * jac  # [Nx, Ng]
    reg_qg = kernel_qg(y, kind, log_ci) * jac
    ig = flav.index(21)
    conv_g = np.einsum("mxk,xk->mx", Fy[..., ig], reg_qg)
    c_sing = kernel_qq_singular_coefficient(log_ci)
    need_f0 = c_sing != 0.0 or nnlo
    if need_f0:
        F0 = np.asarray(
            xfx(np.broadcast_to(x[None, :], (nm, nx)), np.broadcast_to(mu0[:, None], (nm, nx))),
            dtype=np.float64,
        )
        sing_w, ln1mx = nodes.sing, nodes.ln1mx
    corr = np.zeros((nm, nx, len(QUARKS)))
    for j, c in enumerate(qcols):
        if c < 0:
            continue
        conv = np.einsum("mxk,xk->mx", Fy[..., c], reg_qq)
        if c_sing != 0.0:
            sub = Fy[..., c] - F0[..., c][..., None]
            conv += c_sing * (np.einsum("mxk,xk->mx", sub, sing_w) + F0[..., c] * ln1mx[None, :])
        corr[..., j] = conv + conv_g
    a = np.broadcast_to(np.asarray(alphas_mu0, dtype=np.float64), mu0.shape) / (4.0 * math.pi)
    active = _active(mu0, thresholds)
    out = a[:, None, None] * corr
    if nnlo:
        nf0 = n_active(mu0, thresholds)
        out = out + (a * a)[:, None, None] * _nnlo_terms(
            kind, Fy, F0, flav, qcols, y, jac, sing_w, ln1mx, nf0, active
        )
        if Ci != 1.0:
            out = out + (a * a)[:, None, None] * _nnlo_log_terms(
                xfx, flav, qcols, x, mu0, nf0, active, kind, log_ci, n_gauss
            )
    return out * active


def _nnlo_log_terms(
    xfx: Callable[[np.ndarray, np.ndarray], np.ndarray],
    flav: list[int],
    qcols: list[int],
    x: np.ndarray,
    mu0: np.ndarray,
    nf0: np.ndarray,
    active: np.ndarray,
    kind: str,
    log_ci: float,
    n_gauss: int,
) -> np.ndarray:
    """The ln C_i convolution terms of the NNLO matching, a_s² units, [Nm, Nx, 10].

    :func:`sidislab.tmd.nnlo_scale_logs.log_terms` for the scales of each n_f(μ0) at once.
    """
    cols = np.array([*qcols, flav.index(21)])
    out = np.zeros((mu0.size, x.size, len(QUARKS)))
    for nf in np.unique(nf0):
        rows = np.flatnonzero(nf0 == nf)
        mus = mu0[rows]
        mask = np.concatenate([active[rows, 0, :], np.ones((rows.size, 1))], axis=1)

        def X(xs: np.ndarray, mus: np.ndarray = mus, mask: np.ndarray = mask) -> np.ndarray:
            shape = (mus.size, *np.shape(xs))
            mu = np.broadcast_to(mus.reshape((-1,) + (1,) * np.ndim(xs)), shape)
            F = np.asarray(xfx(np.broadcast_to(xs, shape), mu), dtype=np.float64)
            Fc = np.where(cols >= 0, F[..., np.maximum(cols, 0)], 0.0)
            return Fc * mask.reshape((mus.size,) + (1,) * np.ndim(xs) + (-1,))

        out[rows] = nnlo_scale_logs.log_terms(X, x, int(nf), kind, log_ci, n_gauss)
    return out


def _nnlo_terms(
    kind: str,
    Fy: np.ndarray,
    F0: np.ndarray,
    flav: list[int],
    qcols: list[int],
    y: np.ndarray,
    jac: np.ndarray,
    sing_w: np.ndarray,
    ln1mx: np.ndarray,
    nf0: np.ndarray,
    active: np.ndarray,
) -> np.ndarray:
    """The a_s² convolution terms of the NNLO matching, [Nm, Nx, 10] (physics.md §5.1).

    Regular parts are linear in n_f: R(y; n_f) = R(y; 0) + n_f [R(y; 1) − R(y; 0)], so every
    convolution is two einsums over the Gauss nodes, combined per μ0 with n_f(μ0).
    """
    nfm = nf0.astype(np.float64)[:, None]  # [Nm, 1]

    def weights(ch: str) -> tuple[np.ndarray, np.ndarray]:
        fn = nnlo.REGULAR[(kind, ch)]
        r0 = fn(y, 0)
        return r0 * jac, (fn(y, 1) - r0) * jac

    def conv(F: np.ndarray, w: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        return np.einsum("mxk,xk->mx", F, w[0]) + nfm * np.einsum("mxk,xk->mx", F, w[1])

    wp, wm = weights("nsp"), weights("nsm")
    wsum = (wp[0] + wm[0], wp[1] + wm[1])
    wdif = (wp[0] - wm[0], wp[1] - wm[1])
    a2 = nnlo.a2_ns(nfm)  # [Nm, 1]
    # Σ over the flavours active at μ0 (quarks and antiquarks), and the gluon
    act = active[:, 0, :]  # [Nm, 10]
    sigma = np.zeros(Fy.shape[:3])
    for j, c in enumerate(qcols):
        if c >= 0:
            sigma += Fy[..., c] * act[:, j][:, None, None]
    singlet = 0.5 * conv(sigma, weights("ps")) + 0.5 * conv(Fy[..., flav.index(21)], weights("qg"))
    out = np.zeros((*Fy.shape[:2], len(QUARKS)))
    for j, c in enumerate(qcols):
        if c < 0:
            continue
        cbar = qcols[QUARKS.index(-QUARKS[j])]
        t = 0.5 * conv(Fy[..., c], wsum) + singlet
        if cbar >= 0:
            t = t + 0.5 * conv(Fy[..., cbar], wdif)
        sub = Fy[..., c] - F0[..., c][..., None]
        t = t + a2 * (np.einsum("mxk,xk->mx", sub, sing_w) + F0[..., c] * ln1mx[None, :])
        out[..., j] = t
    return out
