r"""The ln C_i terms of the NNLO matching of quark TMD PDFs and FFs (scale variations, C_i ≠ 1).

At μ0 = C_i b0/b*, ζ0 = μ0², with a_s = a_s(μ0), n_f = n_f(μ0), β0 = β0(n_f), ℓ = ln C_i and
the collinear F = F(μ0) (PDFs or FFs), the two-loop matching coefficient of the TMD
T = C ⊗ F is C^{(2)} = Σ_{k=0}^{4} ℓ^k C^{(2,k)}, with C^{(2,0)} the C_i = 1 coefficient
(:mod:`sidislab.tmd.nnlo_matching`) and, as matrices in parton space acting on F
(APFEL++ ``InitializeTmdObjects``, ``src/tmds/tmdbuilder.cc``, the operators C21, C22, C23,
C24; physics.md §5):

    C^{(2,1)} = (γ_F^{(1)} + C_F K^{(1,0)}) δ − 2 P^{(1)} + (γ_F^{(0)} + 2β0) C^{(1)} − 2 C^{(1)} ⊗ P^{(0)}
    C^{(2,2)} = (β0 γ_F^{(0)} + (γ_F^{(0)})²/2 − C_F γ_K^{(1)}/2) δ − 2(β0 + γ_F^{(0)}) P^{(0)}
                − C_F γ_K^{(0)}/2 C^{(1)} + 2 P^{(0)} ⊗ P^{(0)}
    C^{(2,3)} = C_F γ_K^{(0)} (−γ_F^{(0)}/2 − 2β0/3) δ + C_F γ_K^{(0)} P^{(0)}
    C^{(2,4)} = (C_F γ_K^{(0)})²/8 δ

(quark rows; C^{(1)} the ℓ = 0 one-loop coefficient of :mod:`.matching`, P^{(n)} the
DGLAP kernels of :mod:`.splitting` — space-like for PDFs, time-like for FFs — and
K^{(1,0)} the two-loop Collins–Soper constant :func:`~sidislab.tmd.anomalous_dimensions.kcs1`).

They follow from renormalisation-group consistency, which is how they are checked
(``tests/test_tmd_nnlo_scale_logs.py``): T(μ0, μ0²) must equal T(μ_b, μ_b²) evolved from
μ_b = μ0/C_i, d ln T/d ln μ = γ_F + K along ζ = μ², with C(a_s(μ_b)) and F(μ_b) re-expanded
in a_s(μ0) and F(μ0) (da_s/d ln μ = −2β0 a_s², dF/d ln μ² = a_s P^{(0)} ⊗ F + a_s² P^{(1)} ⊗ F).
Expanding to a_s² gives exactly the four coefficients above (the matrix products are
C^{(1)} ⊗ (P^{(0)} ⊗ F) and P^{(0)} ⊗ (P^{(0)} ⊗ F), with the gluon row of P^{(0)} ⊗ F
entering the quark rows through C^{(1)}_{qg} and P^{(0)}_{qg}).

Numerics. Every convolution works on momentum densities X = x·F:
x (K ⊗ F)(x) = ∫_x^1 dy R(y) X(x/y) + A [∫_x^1 dy (X(x/y) − X(x))/(1 − y) + X(x) ln(1 − x)]
+ D X(x) for K = R + A/(1 − y)_+ + D δ(1 − y), by Gauss–Legendre in u with y = x^{u²} (as
:func:`.matching.convolution_part` with NNLO). The double convolutions are nested:
G = P^{(0)} ⊗ F is computed by its own quadrature on nodes uniform in ln(x/(1 − x)) and read
at every outer node x/y from a cubic spline (:func:`p0_spline`). The terms
proportional to F(x) itself (products of δ coefficients) are returned apart
(:func:`local_coefficient`) so that the tabulation keeps them on its fine, knot-aligned grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sidislab.constants import CF, ZETA2
from sidislab.tmd import anomalous_dimensions as ad
from sidislab.tmd._util import ConvolutionNodes, convolution_nodes
from sidislab.tmd.splitting import SPLITTING

NQ = 10  # quark columns (sidislab.tmd.matching.QUARKS order); column NQ is the gluon
PARTNER = np.arange(NQ)[::-1].copy()
"""Column of the antiparticle of each quark column (QUARKS = −5 … −1, 1 … 5 is symmetric)."""


# --- kernels ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lin:
    """K = Σ c_i(n_f) K_i: a linear combination of kernels with n_f-dependent coefficients."""

    terms: tuple[tuple[Callable[[int], float], object], ...]

    def regular(self, y: np.ndarray, nf: int) -> np.ndarray:
        return sum(c(nf) * k.regular(y, nf) for c, k in self.terms)

    def plus(self, nf: int) -> float:
        return sum(c(nf) * k.plus(nf) for c, k in self.terms)

    def delta(self, nf: int) -> float:
        return sum(c(nf) * k.delta(nf) for c, k in self.terms)

    def log_plus(self, nf: int) -> float:
        return sum(c(nf) * _log_plus(k, nf) for c, k in self.terms)


def _log_plus(k: object, nf: int) -> float:
    lp = getattr(k, "log_plus", None)
    return 0.0 if lp is None else float(lp(nf))


def _const(c: float) -> Callable[[int], float]:
    return lambda nf: c


def lin(*terms: tuple[float | Callable[[int], float], object]) -> _Lin:
    """Σ c_i K_i; a coefficient is a number or a function of n_f; zero kernels are None."""
    out = []
    for c, k in terms:
        if k is None:
            continue
        out.append((c if callable(c) else _const(float(c)), k))
    return _Lin(tuple(out))


@dataclass(frozen=True)
class _C1Kernel:
    """One-loop matching kernel at ℓ = 0 (:mod:`.matching`): diagonal or gluon channel."""

    kind: str
    channel: str  # "ns" or "qg"

    def regular(self, y: np.ndarray, nf: int) -> np.ndarray:
        from sidislab.tmd.matching import kernel_qg, kernel_qq_regular

        if self.channel == "ns":
            return kernel_qq_regular(y, self.kind)
        return kernel_qg(y, self.kind)

    def plus(self, nf: int) -> float:
        return 0.0

    def delta(self, nf: int) -> float:
        return -CF * ZETA2 if self.channel == "ns" else 0.0

    log_plus = None


@dataclass(frozen=True)
class QuarkRowOperator:
    """(O F)_q = diag ⊗ F_q + partner ⊗ F_q̄ + sigma ⊗ Σ + gluon ⊗ F_g, for every quark column q.

    Σ is the sum of the active quark and antiquark columns. Any kernel may be ``None``.
    """

    diag: object | None = None
    partner: object | None = None
    sigma: object | None = None
    gluon: object | None = None


def _row(op: str, kind: str) -> QuarkRowOperator:
    if op == "C1":
        return QuarkRowOperator(diag=_C1Kernel(kind, "ns"), gluon=_C1Kernel(kind, "qg"))
    if op == "P0":
        return QuarkRowOperator(diag=SPLITTING[(kind, 0, "ns")], gluon=SPLITTING[(kind, 0, "qg")])
    if op == "P1":
        nsp, nsm = SPLITTING[(kind, 1, "nsp")], SPLITTING[(kind, 1, "nsm")]
        return QuarkRowOperator(
            diag=lin((0.5, nsp), (0.5, nsm)),
            partner=lin((0.5, nsp), (-0.5, nsm)),
            sigma=lin((0.5, SPLITTING[(kind, 1, "ps")])),
            gluon=lin((0.5, SPLITTING[(kind, 1, "qg")])),
        )
    raise ValueError(op)


def combine(*terms: tuple[float | Callable[[int], float], QuarkRowOperator]) -> QuarkRowOperator:
    """Σ c_i O_i, channel by channel."""
    fields = ("diag", "partner", "sigma", "gluon")
    return QuarkRowOperator(
        **{
            f: lin(*[(c, getattr(o, f)) for c, o in terms if getattr(o, f) is not None])
            for f in fields
        }
    )


# --- coefficients ------------------------------------------------------------------------


def _coefficients(log_ci: float) -> dict[str, Callable[[int], float]]:
    """The n_f-dependent scalar coefficients of the module docstring, already × ℓ^k."""
    L = log_ci
    gf0, gk0 = ad.gamma_f0(), ad.gamma_k0()
    b0 = ad.beta0
    return {
        # single convolutions of F
        "P1": lambda nf: -2.0 * L,
        "C1": lambda nf: L * (gf0 + 2.0 * b0(nf)) - L * L * CF * gk0 / 2.0,
        "P0": lambda nf: -2.0 * L * L * (b0(nf) + gf0) + L**3 * CF * gk0,
        # outer kernels of the nested terms, acting on G = P0 ⊗ F
        "C1P0": lambda nf: -2.0 * L,
        "P0P0": lambda nf: 2.0 * L * L,
        # pure δ terms
        "delta": lambda nf: (
            L * (ad.gamma_f1(nf) + CF * ad.kcs1(nf))
            + L * L * (b0(nf) * gf0 + gf0 * gf0 / 2.0 - CF * ad.gamma_k1(nf) / 2.0)
            + L**3 * CF * gk0 * (-gf0 / 2.0 - 2.0 * b0(nf) / 3.0)
            + L**4 * (CF * gk0) ** 2 / 8.0
        ),
    }


def single_operator(kind: str, log_ci: float) -> QuarkRowOperator:
    """The ℓ-dependent single convolutions −2ℓP⁽¹⁾ + [ℓ(γ_F⁽⁰⁾+2β0) − ℓ²C_Fγ_K⁽⁰⁾/2]C⁽¹⁾ + … P⁽⁰⁾."""
    c = _coefficients(log_ci)
    return combine(
        (c["P1"], _row("P1", kind)), (c["C1"], _row("C1", kind)), (c["P0"], _row("P0", kind))
    )


def outer_operator(kind: str, log_ci: float) -> QuarkRowOperator:
    """The outer kernel −2ℓ C⁽¹⁾ + 2ℓ² P⁽⁰⁾ of the nested terms, applied to G = P⁽⁰⁾ ⊗ F."""
    c = _coefficients(log_ci)
    return combine((c["C1P0"], _row("C1", kind)), (c["P0P0"], _row("P0", kind)))


def local_coefficient(kind: str, log_ci: float, nf: int | np.ndarray) -> np.ndarray:
    """δ(1 − y) coefficient of Σ_k ℓ^k C^{(2,k)} (a_s² units), per n_f: it multiplies F_q(x).

    The pure δ terms, the δ parts of the single convolutions, and the products of the δ
    parts of the nested ones (outer δ × δ of P⁽⁰⁾_qq). Zero at ℓ = 0.
    """
    nf_arr = np.atleast_1d(np.asarray(nf))
    out = np.zeros(nf_arr.shape)
    if log_ci == 0.0:
        return out.reshape(np.shape(nf))
    c = _coefficients(log_ci)
    single, outer = single_operator(kind, log_ci), outer_operator(kind, log_ci)
    p0 = SPLITTING[(kind, 0, "ns")]
    for i, n in enumerate(nf_arr.ravel()):
        n = int(n)
        if single.partner is not None and abs(single.partner.delta(n)) > 1e-12:
            raise ValueError("nnlo_scale_logs: the q̄ → q kernel has a δ(1 − y) part")
        out.ravel()[i] = c["delta"](n) + single.diag.delta(n) + outer.diag.delta(n) * p0.delta(n)
    return out.reshape(np.shape(nf))


# --- convolutions ------------------------------------------------------------------------


def _nodes(x: np.ndarray, n_gauss: int) -> ConvolutionNodes:
    """The quadrature of :func:`.matching.convolution_part` with NNLO (y = x^{u²})."""
    return convolution_nodes(x, n_gauss, squared=True)


def _apply(
    k: object, nodes: ConvolutionNodes, Xn: np.ndarray, X0: np.ndarray, nf: int
) -> np.ndarray:
    """x (K ⊗ F)(x) from X = x·F at the nodes (Xn [..., Ng, C]) and at x (X0 [..., C])."""
    out = np.einsum("...kc,...k->...c", Xn, k.regular(nodes.y, nf) * nodes.jac)
    a, d, lp = float(k.plus(nf)), float(k.delta(nf)), _log_plus(k, nf)
    if a != 0.0 or lp != 0.0:
        sub = Xn - X0[..., None, :]
        if a != 0.0:
            out += a * (
                np.einsum("...kc,...k->...c", sub, nodes.sing) + X0 * nodes.ln1mx[..., None]
            )
        if lp != 0.0:
            out += lp * (
                np.einsum("...kc,...k->...c", sub, nodes.lsing)
                + X0 * (0.5 * nodes.ln1mx**2)[..., None]
            )
    if d != 0.0:
        out += d * X0
    return out


def apply_quark_rows(
    op: QuarkRowOperator, nodes: ConvolutionNodes, Xn: np.ndarray, X0: np.ndarray, nf: int
) -> np.ndarray:
    """(O F) for the 10 quark columns, momentum densities; X has 11 columns (gluon last)."""
    out = np.zeros((*X0.shape[:-1], NQ))
    if op.diag is not None:
        out += _apply(op.diag, nodes, Xn[..., :NQ], X0[..., :NQ], nf)
    if op.partner is not None:
        out += _apply(op.partner, nodes, Xn[..., PARTNER], X0[..., PARTNER], nf)
    if op.sigma is not None:
        s = _apply(
            op.sigma,
            nodes,
            Xn[..., :NQ].sum(-1, keepdims=True),
            X0[..., :NQ].sum(-1, keepdims=True),
            nf,
        )
        out += s
    if op.gluon is not None:
        out += _apply(op.gluon, nodes, Xn[..., NQ:], X0[..., NQ:], nf)
    return out


def apply_p0(
    kind: str, nodes: ConvolutionNodes, Xn: np.ndarray, X0: np.ndarray, nf: int
) -> np.ndarray:
    """x (P⁽⁰⁾ ⊗ F)(x) for all 11 columns (quark rows and the gluon row)."""
    quarks = apply_quark_rows(_row("P0", kind), nodes, Xn, X0, nf)
    sig_n = Xn[..., :NQ].sum(-1, keepdims=True)
    sig_0 = X0[..., :NQ].sum(-1, keepdims=True)
    g = _apply(SPLITTING[(kind, 0, "gq")], nodes, sig_n, sig_0, nf)
    g += _apply(SPLITTING[(kind, 0, "gg")], nodes, Xn[..., NQ:], X0[..., NQ:], nf)
    return np.concatenate([quarks, g], axis=-1)


G_STEP = 0.08
"""Node spacing in s = ln(x/(1 − x)) of the tabulated G = P⁽⁰⁾ ⊗ F (cubic spline)."""
G_TOP = 1.0 - 1.0e-7
"""Last node of G; above it G is continued linearly to 0 at x = 1."""


def p0_spline(
    kind: str,
    X: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    nf: int,
    n_gauss: int = 24,
    step: float = G_STEP,
) -> Callable[[np.ndarray], np.ndarray]:
    """x·(P⁽⁰⁾ ⊗ F)(x) for all 11 columns as a function of any array of x ≥ min(x).

    ``X`` as in :func:`log_terms` (a leading axis of R scales). Computed by :func:`apply_p0`
    on nodes uniform in s = ln(x/(1 − x)) (spacing ``step``) from below min(x) to
    :data:`G_TOP` and interpolated by a cubic spline in s: one evaluation of F per node and
    Gauss point instead of one per outer node and Gauss point of the nested convolution.
    The returned function maps q [...] to [R, ..., 11]. Against the direct nesting the
    spline is within 4e-7 (relative to the column's largest value; tests/test_tmd_nnlo_scale_logs.py).
    """
    from scipy.interpolate import CubicSpline

    xs = np.asarray(x, dtype=np.float64)
    xs = xs[(xs > 0.0) & (xs < 1.0)]
    x_lo = float(xs.min()) if xs.size else 0.5
    s_lo = math.log(x_lo) - math.log1p(-x_lo) - step
    s_hi = math.log(G_TOP) - math.log1p(-G_TOP)
    s = np.linspace(s_lo, s_hi, max(4, math.ceil((s_hi - s_lo) / step)) + 1)
    xa = 1.0 / (1.0 + np.exp(-s))
    nodes = _nodes(xa, n_gauss)
    Ga = apply_p0(kind, nodes, X(nodes.xy), X(xa), nf)  # [R, Na, 11]
    spline = CubicSpline(s, Ga, axis=1)
    top = Ga[:, -1, :] / (1.0 - xa[-1])  # [R, 11]: G continued linearly to 0 at x = 1

    def G(q: np.ndarray) -> np.ndarray:
        q = np.asarray(q, dtype=np.float64)
        inside = (q > 0.0) & (q < xa[-1])
        qc = np.where(inside, q, 0.5)
        val = spline(np.log(qc) - np.log1p(-qc))  # [R, ..., 11]
        shape = (top.shape[0],) + (1,) * q.ndim + (top.shape[1],)
        lin = np.clip(1.0 - q, 0.0, None)[None, ..., None] * top.reshape(shape)
        below = (q < 1.0)[None, ..., None]
        return np.where(inside[None, ..., None], val, np.where(below, lin, 0.0))

    return G


def log_terms(
    X: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    nf: int,
    kind: str,
    log_ci: float,
    n_gauss: int = 32,
) -> np.ndarray:
    r"""Σ_k ℓ^k x(C^{(2,k)} ⊗ F)(x) without its δ(1 − y) × F(x) part, a_s² units: [R, ..., 10].

    ``X(xs)`` returns the momentum densities x·F at an array of momentum fractions ``xs``
    (any shape; x ≥ 1 must give 0) for R scales μ0 that share ``nf`` = n_f(μ0) active
    flavours, as [R, ..., 11]: the 10 quark columns in the order of
    :data:`sidislab.tmd.matching.QUARKS` (inactive flavours already 0) and the gluon last.
    The parts proportional to F_q(x) are left out: the sum of this and
    ``local_coefficient(kind, log_ci, nf) · X(x)`` (which the local table holds) is the
    whole. Zero at ℓ = 0.
    """
    x = np.asarray(x, dtype=np.float64)
    X0 = X(x)
    if log_ci == 0.0:
        return np.zeros((*X0.shape[:-1], NQ))
    nodes = _nodes(x, n_gauss)
    Xn = X(nodes.xy)
    out = apply_quark_rows(single_operator(kind, log_ci), nodes, Xn, X0, nf)
    # nested: G = P0 ⊗ F, tabulated once and read at the outer nodes and at x
    G = p0_spline(kind, X, x, nf)
    out += apply_quark_rows(outer_operator(kind, log_ci), nodes, G(nodes.xy), G(x), nf)
    # the δ × F(x) parts inside the convolutions move to the local table (the pure δ
    # constants are only there)
    in_conv = local_coefficient(kind, log_ci, nf) - _coefficients(log_ci)["delta"](nf)
    return out - in_conv * X0[..., :NQ]


__all__ = [
    "QuarkRowOperator",
    "apply_p0",
    "apply_quark_rows",
    "combine",
    "lin",
    "local_coefficient",
    "log_terms",
    "outer_operator",
    "p0_spline",
    "single_operator",
]
