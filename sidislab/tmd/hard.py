r"""The SIDIS hard factor H(Q, μ) (APFEL++ ``HardFactor``, process "SIDIS").

physics.md §3 and APFEL++ ``src/tmds/hardfactors.cc`` / ``tmdbuilder.cc`` (``HardFactor``),
with a_s = α_s(μ)/(4π), μ = C_f Q, L = ln C_f, γ_F^{(0)} = 6 C_F, γ_K^{(0)} = 8:

    H = 1                                                         (PerturbativeOrder 0, 1)
    H = 1 + a_s [H1 − 2 γ_F^{(0)} L − C_F γ_K^{(0)} L²]           (PerturbativeOrder 2)

    H1 = 2 C_F (−8 + ζ2),
    H2 = 2 C_F [C_F (511/8 + 13ζ2 − 30ζ3 + 39ζ4/2)
               + C_A (−51157/648 − 337ζ2/18 + 313ζ3/9 + 22ζ4)
               + T_R n_f (4085/162 + 46ζ2/9 + 4ζ3/9)]            (enters at N³LL, not used yet)

Dimensionless. Check value (physics.md §3): Q = 1.118 GeV, α_s = 0.40291, NNLL → 0.4566.
"""

from __future__ import annotations

import math

import numpy as np

from sidislab.constants import CA, CF, TR, ZETA2, ZETA3, ZETA4
from sidislab.tmd import anomalous_dimensions as ad


def h1_sidis() -> float:
    """H1 = 2 C_F (−8 + ζ2) (APFEL++ ``H1SIDIS``)."""
    return 2.0 * CF * (-8.0 + ZETA2)


def h2_sidis(nf: int) -> float:
    """H2 for SIDIS (APFEL++ ``H2SIDIS``; formula in the module docstring)."""
    return (
        2.0
        * CF
        * (
            CF * (511.0 / 8.0 + 13.0 * ZETA2 - 30.0 * ZETA3 + 39.0 * ZETA4 / 2.0)
            + CA * (-51157.0 / 648.0 - 337.0 * ZETA2 / 18.0 + 313.0 * ZETA3 / 9.0 + 22.0 * ZETA4)
            + TR * nf * (4085.0 / 162.0 + 46.0 * ZETA2 / 9.0 + 4.0 * ZETA3 / 9.0)
        )
    )


def hard_factor(alphas_mu: np.ndarray | float, order: int, Cf: float = 1.0) -> np.ndarray:
    """H for SIDIS at PerturbativeOrder 0, 1 or 2 (module docstring).

    ``alphas_mu`` is α_s at μ = C_f Q (array or scalar); returns float64 of its shape.
    """
    a = np.asarray(alphas_mu, dtype=np.float64) / (4.0 * math.pi)
    if order in (0, 1):
        return np.ones_like(a)
    if order == 2:
        lq = math.log(Cf)
        c1 = h1_sidis() - 2.0 * ad.gamma_f0() * lq - CF * ad.gamma_k0() * lq**2
        return 1.0 + a * c1
    raise ValueError(f"hard_factor: PerturbativeOrder {order} is not 0, 1 or 2")
