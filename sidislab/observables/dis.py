r"""The inclusive DIS cross section dσ_DIS/dx dQ², the denominator of a SIDIS multiplicity.

One-photon exchange, massless target and quarks (zero-mass variable-flavour scheme), the
longitudinal structure function kept (physics.md §1.2)::

    dσ_DIS/dx dQ² = 2π α_em(Q)² / (x Q⁴) · [Y₊ F₂(x, Q) − y² F_L(x, Q)]      [GeV⁻⁴]

with y = Q²/(x s), Y₊ = 1 + (1 − y)². NangaParbat builds the same combination
(``FastInterface::ComputeTablesSIDIS``: ``(1 + (1 − (Q/Vs)²/x)²) F₂/x − (Q/Vs)⁴ F_L/x³``,
with ``InitializeF2NCObjectsZM``/``InitializeFLNCObjectsZM`` of APFEL++).

Structure functions in MS-bar at O(α_s), a = α_s(Q)/(2π), μ_R = μ_F = Q, with momentum
densities Φ_i(ξ) = ξ f_i(ξ) (what LHAPDF stores), the sums over the n_f(Q) active quarks
*and* antiquarks (Ellis–Stirling–Webber, "QCD and collider physics", eqs. 4.80–4.82;
Altarelli–Martinelli, Phys. Lett. B76 (1978) 89 for F_L)::

    F₂(x) = Σ_{q,q̄} e_q² { Φ_q(x) + a ∫_x^1 dz [C₂q(z) Φ_q(x/z) + C₂g(z) Φ_g(x/z)] }
    F_L(x) = Σ_{q,q̄} e_q²  a ∫_x^1 dz [C_Lq(z) Φ_q(x/z) + C_Lg(z) Φ_g(x/z)]

    C₂q = C_F [2 (ln(1−z)/(1−z))₊ − (3/2) (1/(1−z))₊ − (1+z) ln(1−z)
               − (1+z²)/(1−z) ln z + 3 + 2z − (9/2 + π²/3) δ(1−z)]
    C₂g = T_R [((1−z)² + z²) ln((1−z)/z) − 1 + 8z(1−z)]
    C_Lq = C_F 2z,    C_Lg = T_R 4z(1−z)

(the x ∫dξ/ξ C(x/ξ) f(ξ) of the textbooks is ∫dz C(z) Φ(x/z) in momentum densities).
Plus distributions: ∫_x^1 dz [g]₊ Φ(x/z) = ∫_x^1 dz g(z)[Φ(x/z) − Φ(x)] − Φ(x) ∫_0^x g.
The z integral is Gauss–Legendre in t with 1 − z = (1 − x) t² (which removes the
logarithmic end-point behaviour at z → 1).

Order: ``order = 0`` (LO: F₂ = Σ e² Φ, F_L = 0) goes with NLL, ``order = 1`` (O(α_s))
with NNLL — NangaParbat's rule (``PerturbativeOrder`` of the structure functions = 0
for NLL, 1 for NNLL/NLL′, 2 for N³LL/NNLL′); O(α_s²) raises
:class:`~sidislab.errors.NotYetImplementedOrder`. Tested against ``yadism`` (NNPDF/yadism,
ZM-VFNS, FONLL off) in ``tests/test_observables_dis.py``.

Target: ``target_isoscalarity`` τ mixes proton and neutron PDFs by isospin (u ↔ d, ū ↔ d̄)
exactly as the numerator (physics.md §1.5; NangaParbat ``tPDFs``).

Everything here is independent of the fNP parameters: it is evaluated once, in numpy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sidislab.constants import charge2
from sidislab.errors import NotYetImplementedOrder

__all__ = [
    "DIS_ORDER_NAMES",
    "dis_order_for",
    "dsigma_dis",
    "structure_functions",
    "target_pdfs",
]

CF = 4.0 / 3.0
TR = 0.5
ZETA2 = math.pi**2 / 6.0
DIS_ORDER_NAMES = {0: "LO", 1: "NLO (O(α_s))"}

_QUARKS = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5)


def dis_order_for(perturbative_order: int) -> int:
    """The collinear order of F₂, F_L that matches a TMD ``PerturbativeOrder``.

    NangaParbat ``FastInterface`` (``ComputeTablesSIDIS``): 0 for LL/NLL (0, 1), 1 for
    NNLL and NLL′ (2, −1), 2 for N³LL and NNLL′ (3, −2).
    """
    p = int(perturbative_order)
    order = 0
    if p > 1 or p < 0:
        order += 1
    if p > 2 or p < -1:
        order += 1
    return order


def _n_active(Q: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Active flavours at Q: the count of quark thresholds at or below Q (≥ 3)."""
    th = np.asarray(thresholds, dtype=np.float64)
    n = (th[None, :] <= np.asarray(Q, dtype=np.float64)[:, None]).sum(1)
    return np.maximum(n, 3)


def target_pdfs(phi: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Isospin mixture of proton momentum densities ``phi`` [..., 11] (columns
    b̄ c̄ s̄ ū d̄ g d u s c b) for target isoscalarity τ [...] (physics.md §1.5):
    proton fraction |τ|, neutron (u ↔ d) 1 − |τ|, quark ↔ antiquark for τ < 0."""
    cols = {pid: i for i, pid in enumerate((-5, -4, -3, -2, -1, 21, 1, 2, 3, 4, 5))}
    tau = np.asarray(tau, dtype=np.float64)[..., None]
    fp = np.abs(tau)
    sign = np.where(tau >= 0, 1, -1)
    out = np.empty_like(phi)
    swap = {1: 2, 2: 1, -1: -2, -2: -1}
    for pid, i in cols.items():
        if pid == 21:
            out[..., i] = phi[..., i]
            continue
        p_col = phi[..., cols[pid]]
        p_conj = phi[..., cols[-pid]]
        n_pid = swap.get(pid, pid)
        n_col = phi[..., cols[n_pid]]
        n_conj = phi[..., cols[-n_pid]]
        proton = np.where(sign > 0, p_col[..., None], p_conj[..., None])[..., 0]
        neutron = np.where(sign > 0, n_col[..., None], n_conj[..., None])[..., 0]
        out[..., i] = fp[..., 0] * proton + (1.0 - fp[..., 0]) * neutron
    return out


def _phi(pdf: Any, x: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Momentum densities [..., 11] (b̄…b̄, g, d…b) from ``pdf.xfxQ`` (any shape of x, Q);
    x ≥ 1 gives 0."""
    shape = np.broadcast(x, Q).shape
    xf = np.broadcast_to(x, shape).reshape(-1)
    qf = np.broadcast_to(Q, shape).reshape(-1)
    out = np.zeros((xf.size, 11))
    ok = xf < 1.0
    if ok.any():
        vals = np.asarray(pdf.xfxQ(xf[ok], qf[ok]), dtype=np.float64)
        flav = tuple(int(f) for f in pdf.flavours)
        for j, pid in enumerate((-5, -4, -3, -2, -1, 21, 1, 2, 3, 4, 5)):
            key = 21 if pid == 21 and 21 in flav else (0 if pid == 21 and 0 in flav else pid)
            if key in flav:
                out[ok, j] = vals[..., flav.index(key)]
    return out.reshape(*shape, 11)


def structure_functions(
    pdf: Any,
    alphas: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    Q: np.ndarray,
    *,
    order: int,
    thresholds: Sequence[float],
    target_isoscalarity: np.ndarray | float = 1.0,
    n_gauss: int = 96,
) -> tuple[np.ndarray, np.ndarray]:
    """F₂ and F_L (module docstring) at points (x [N], Q [N] GeV).

    ``pdf``: a collinear set (``xfxQ(x, Q)`` → momentum densities [N, F], ``flavours``);
    ``alphas``: Q → α_s (the PDF set's, as the numerator); ``thresholds``: quark masses
    (n_f(Q) = number at or below Q); ``order``: 0 (LO) or 1 (O(α_s)).
    """
    if order not in DIS_ORDER_NAMES:
        if order == 2:
            raise NotYetImplementedOrder(
                "DIS denominator at O(α_s²) (matching N³LL/NNLL′) is not implemented: "
                "the two-loop F₂/F_L coefficient functions are missing"
            )
        raise ValueError(f"DIS order must be 0 or 1, got {order!r}")
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    Q = np.atleast_1d(np.asarray(Q, dtype=np.float64))
    x, Q = np.broadcast_arrays(x, Q)
    tau = np.broadcast_to(np.asarray(target_isoscalarity, dtype=np.float64), x.shape)
    nf = _n_active(Q, thresholds)
    pids = np.array((-5, -4, -3, -2, -1, 1, 2, 3, 4, 5))
    qcols = np.array([0, 1, 2, 3, 4, 6, 7, 8, 9, 10])
    e2 = np.array([charge2(int(q)) for q in pids])
    active = np.abs(pids)[None, :] <= nf[:, None]  # [N, 10]
    w_e2 = e2[None, :] * active  # [N, 10]
    phi_x = target_pdfs(_phi(pdf, x, Q), tau)  # [N, 11]
    F2 = (w_e2 * phi_x[:, qcols]).sum(1)
    FL = np.zeros_like(F2)
    if order == 0:
        return F2, FL
    a = np.asarray(alphas(Q), dtype=np.float64) / (2.0 * math.pi)
    # z = 1 − (1 − x) t², t ∈ (0, 1): Gauss–Legendre
    t, wt = np.polynomial.legendre.leggauss(n_gauss)
    t = 0.5 * (t + 1.0)
    wt = 0.5 * wt
    omx = (1.0 - x)[:, None]
    one_m_z = omx * t[None, :] ** 2  # [N, G]
    z = 1.0 - one_m_z
    wz = wt[None, :] * 2.0 * omx * t[None, :]  # dz
    phi_z = target_pdfs(_phi(pdf, x[:, None] / z, Q[:, None]), tau[:, None])  # [N, G, 11]
    q_z = (w_e2[:, None, :] * phi_z[..., qcols]).sum(-1)  # Σ e² Φ_q(x/z)
    g_z = phi_z[..., 5] * w_e2.sum(1)[:, None]  # Σ_{q,q̄} e² · Φ_g(x/z)
    q_x = F2[:, None]
    lz, l1z = np.log(z), np.log(one_m_z)
    # C₂q regular part and plus distributions
    reg = -(1.0 + z) * l1z - (1.0 + z * z) / one_m_z * lz + 3.0 + 2.0 * z
    plus = 2.0 * l1z / one_m_z - 1.5 / one_m_z
    c2q = (wz * (reg * q_z + plus * (q_z - q_x))).sum(1)
    lx = np.log1p(-x)
    # −Φ(x) ∫_0^x g:  ∫_0^x ln(1−z)/(1−z) = −ln²(1−x)/2,  ∫_0^x 1/(1−z) = −ln(1−x)
    c2q += F2 * (2.0 * (-0.5 * lx**2) * -1.0 - 1.5 * (-lx) * -1.0)
    c2q += F2 * -(4.5 + 2.0 * ZETA2)
    c2q *= CF
    c2g = TR * (wz * (((1 - z) ** 2 + z * z) * (l1z - lz) - 1.0 + 8.0 * z * (1 - z)) * g_z).sum(1)
    F2 = F2 + a * (c2q + c2g)
    cLq = CF * (wz * 2.0 * z * q_z).sum(1)
    cLg = TR * (wz * 4.0 * z * (1 - z) * g_z).sum(1)
    FL = a * (cLq + cLg)
    return F2, FL


def dsigma_dis(
    pdf: Any,
    alphas: Callable[[np.ndarray], np.ndarray],
    alphaem: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    Q: np.ndarray,
    Vs: np.ndarray | float,
    *,
    order: int,
    thresholds: Sequence[float],
    target_isoscalarity: np.ndarray | float = 1.0,
    n_gauss: int = 96,
) -> np.ndarray:
    """dσ_DIS/dx dQ² = 2πα²/(xQ⁴)[Y₊F₂ − y²F_L] in GeV⁻⁴ at points (x, Q, √s) [N]."""
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    Q = np.atleast_1d(np.asarray(Q, dtype=np.float64))
    F2, FL = structure_functions(
        pdf,
        alphas,
        x,
        Q,
        order=order,
        thresholds=thresholds,
        target_isoscalarity=target_isoscalarity,
        n_gauss=n_gauss,
    )
    s = np.asarray(Vs, dtype=np.float64) ** 2
    y = Q**2 / (x * s)
    Yp = 1.0 + (1.0 - y) ** 2
    aem = np.asarray(alphaem(Q), dtype=np.float64)
    return 2.0 * math.pi * aem**2 / (x * Q**4) * (Yp * F2 - y**2 * FL)
