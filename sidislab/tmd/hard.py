r"""The SIDIS hard factor H(Q, μ) (APFEL++ ``HardFactor``, process "SIDIS").

physics.md §3 and APFEL++ ``src/tmds/hardfactors.cc`` / ``tmdbuilder.cc`` (``HardFactor``),
with a_s = α_s(Q)/(4π), μ = C_f Q, L = ln C_f, γ_F^{(0)} = 6 C_F, γ_K^{(0)} = 8:

    H = 1                                                         (LL, NLL)
    H = 1 + a_s [H1 − 2 γ_F^{(0)} L − C_F γ_K^{(0)} L²]           (NLL′, NNLL)
    H = … + a_s² [H2 + (−2H1γ_F0 − 2γ_F1)L + (−g_K0 H1 + 2β0γ_F0 + 2γ_F0² − g_K1)L²
                  + (4β0 g_K0/3 + 2γ_F0 g_K0)L³ + g_K0² L⁴/2]     (NNLL′, N³LL)

    (g_Kn = C_F γ_K^{(n)}; a_s = a_s(Q): with it the L-terms give d ln H/d ln μ =
    −2[γ_F + C_F γ_K ln(μ/Q)] at a_s(μ) through O(a_s²); APFEL++ ``HardFactor`` in
    ``src/tmds/tmdbuilder.cc``)

    H1 = 2 C_F (−8 + ζ2),
    H2 = 2 C_F [C_F (511/8 + 13ζ2 − 30ζ3 − 39ζ4/2)
               + C_A (−51157/648 − 337ζ2/18 + 313ζ3/9 + 22ζ4)
               + T_R n_f (4085/162 + 46ζ2/9 + 4ζ3/9)]
    (physics.md §4.7; APFEL++ ``H1SIDIS``, ``H2SIDIS`` in ``src/tmds/hardfactors.cc``; the
    space-like two-loop quark form factor, Moch, Vermaseren, Vogt hep-ph/0508055, as in
    Becher, Neubert, Pecjak hep-ph/0607228 eq. 21 for DIS)

Dimensionless. Check value (physics.md §3): Q = 1.118 GeV, α_s = 0.40291, NNLL → 0.4566.
"""

from __future__ import annotations

import math

import numpy as np

from sidislab.constants import CA, CF, TR, ZETA2, ZETA3, ZETA4
from sidislab.tmd import anomalous_dimensions as ad
from sidislab.tmd.orders import hard_order


def h1_sidis() -> float:
    """H1 = 2 C_F (−8 + ζ2) (APFEL++ ``H1SIDIS``)."""
    return 2.0 * CF * (-8.0 + ZETA2)


def h2_sidis(nf: int) -> float:
    """H2 for SIDIS (APFEL++ ``H2SIDIS``; formula in the module docstring).

    −116.500549116 (n_f = 3), −70.9568988742 (4), −25.4132486324 (5) (physics.md §4.7).
    """
    return (
        2.0
        * CF
        * (
            CF * (511.0 / 8.0 + 13.0 * ZETA2 - 30.0 * ZETA3 - 39.0 * ZETA4 / 2.0)
            + CA * (-51157.0 / 648.0 - 337.0 * ZETA2 / 18.0 + 313.0 * ZETA3 / 9.0 + 22.0 * ZETA4)
            + TR * nf * (4085.0 / 162.0 + 46.0 * ZETA2 / 9.0 + 4.0 * ZETA3 / 9.0)
        )
    )


def hard_factor(
    alphas_mu: np.ndarray | float, order: int, Cf: float = 1.0, nf: object = 5
) -> np.ndarray:
    """H for SIDIS at any PerturbativeOrder of :mod:`sidislab.tmd.orders` (module docstring).

    ``alphas_mu`` is α_s at Q (array or scalar; APFEL++ ``HardFactor`` evaluates α_s at its
    argument Q and carries μ = C_f Q in the logs: with α_s(C_f Q) the two-loop logs would
    not cancel the running, see tests/test_tmd_hard.py), ``nf`` the active flavours there
    (scalar or array of the same shape; enters at two loops); returns float64 of
    ``alphas_mu``'s shape. Truncation as APFEL++ ``HardFactor``: one loop at NLL′ and NNLL,
    two loops (with the ln C_f terms of its eq. for ``H2``) at NNLL′ and N³LL.
    """
    a = np.asarray(alphas_mu, dtype=np.float64) / (4.0 * math.pi)
    n = hard_order(order)
    out = np.ones_like(a)
    if n == 0:
        return out
    lq = math.log(Cf)
    gf0, gk0 = ad.gamma_f0(), CF * ad.gamma_k0()
    h1 = h1_sidis()
    out = out + a * (h1 - 2.0 * gf0 * lq - gk0 * lq**2)
    if n == 1:
        return out
    nfa = np.broadcast_to(np.asarray(nf), a.shape)
    h2 = np.zeros_like(a)
    for k in np.unique(nfa):
        k = int(k)
        b0, gf1, gk1 = ad.beta0(k), ad.gamma_f1(k), CF * ad.gamma_k1(k)
        c2 = (
            h2_sidis(k)
            + (-2.0 * h1 * gf0 - 2.0 * gf1) * lq
            + (-gk0 * h1 + 2.0 * b0 * gf0 + 2.0 * gf0**2 - gk1) * lq**2
            + (4.0 * b0 * gk0 / 3.0 + 2.0 * gf0 * gk0) * lq**3
            + gk0**2 / 2.0 * lq**4
        )
        h2 = np.where(nfa == k, c2, h2)
    return out + a * a * h2
