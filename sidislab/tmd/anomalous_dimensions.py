r"""Perturbative coefficients of TMD evolution: β, γ_K, γ_F, the Collins–Soper kernel K.

All in powers of a_s = α_s/(4π) and for n_f active flavours, as APFEL++ (vbertone/apfelxx,
``src/tmds/gammak.cc``, ``gammaf.cc``, ``kcs.cc``; ``src/kernel/betaqcd.cc``) and
``physics.md`` §3:

    γ_K(μ) = Σ_n a_s^{n+1} γ_K^{(n)}       (C_F γ_K is twice the quark cusp anomalous dimension)
    γ_F(μ) = Σ_n a_s^{n+1} γ_F^{(n)}       (quark, non-cusp)
    K(μ0)  = Σ_n a_s^{n+1} Σ_k K^{(n,k)} ln^k(C_i)   (Collins–Soper kernel at μ0 = C_i b0/b*,
                                                       to be multiplied by C_F for quarks)

Dimensionless. Only the coefficients that PerturbativeOrder 0–2 (LL, NLL, NNLL) need are
given; the N³LL ones (γ_K^{(3)}, γ_F^{(2)}, K^{(2,k)}) are not implemented yet.
"""

from __future__ import annotations

import math

from sidislab.constants import CA, CF, TR, ZETA3

PI2 = math.pi**2


def beta0(nf: int) -> float:
    """β0 = 11/3 C_A − 4/3 T_R n_f (da_s/d ln μ² = −β0 a_s² − …; APFEL++ ``beta0qcd``)."""
    return 11.0 / 3.0 * CA - 4.0 / 3.0 * TR * nf


def beta1(nf: int) -> float:
    """β1 = 34/3 C_A² − 4 C_F T_R n_f − 20/3 C_A T_R n_f (APFEL++ ``beta1qcd``)."""
    return 34.0 / 3.0 * CA**2 - 4.0 * CF * TR * nf - 20.0 / 3.0 * CA * TR * nf


def gamma_k0() -> float:
    """γ_K^{(0)} = 8 (physics.md §3; APFEL++ ``gammaK0``)."""
    return 8.0


def gamma_k1(nf: int) -> float:
    """γ_K^{(1)} = 8[(67/9 − π²/3) C_A − 20 T_R n_f/9] (physics.md §3; APFEL++ ``gammaK1``)."""
    return 8.0 * ((67.0 / 9.0 - PI2 / 3.0) * CA - 20.0 * TR * nf / 9.0)


def gamma_k2(nf: int) -> float:
    """γ_K^{(2)} (physics.md §3; APFEL++ ``gammaK2``).

    8[(245/6 − 134π²/27 + 11π⁴/45 + 22ζ3/3) C_A² + (−418/27 + 40π²/27 − 56ζ3/3) C_A T_R n_f
      + (−55/3 + 16ζ3) C_F T_R n_f − 16 T_R² n_f²/27].
    """
    return 8.0 * (
        (245.0 / 6.0 - 134.0 * PI2 / 27.0 + 11.0 * PI2**2 / 45.0 + 22.0 * ZETA3 / 3.0) * CA**2
        + (-418.0 / 27.0 + 40.0 * PI2 / 27.0 - 56.0 * ZETA3 / 3.0) * CA * TR * nf
        + (-55.0 / 3.0 + 16.0 * ZETA3) * CF * TR * nf
        - 16.0 * TR**2 * nf**2 / 27.0
    )


def gamma_f0() -> float:
    """Quark γ_F^{(0)} = 6 C_F (physics.md §3; APFEL++ ``gammaFq0``)."""
    return 6.0 * CF


def gamma_f1(nf: int) -> float:
    """Quark γ_F^{(1)} (physics.md §3; APFEL++ ``gammaFq1``).

    −[C_F²(−3 + 4π² − 48ζ3) + C_F C_A(−961/27 − 11π²/3 + 52ζ3) + C_F T_R n_f(260/27 + 4π²/3)].
    """
    return -(
        CF**2 * (-3.0 + 4.0 * PI2 - 48.0 * ZETA3)
        + CF * CA * (-961.0 / 27.0 - 11.0 * PI2 / 3.0 + 52.0 * ZETA3)
        + CF * TR * nf * (260.0 / 27.0 + 4.0 * PI2 / 3.0)
    )


def kcs0(log_ci: float = 0.0) -> float:
    """One-loop Collins–Soper kernel coefficient K^{(0)} = 0 − γ_K^{(0)} ln C_i.

    physics.md §3; APFEL++ ``KCS00`` = 0, ``KCS01`` = −γ_K^{(0)}. Multiply by C_F for quarks.
    """
    return 0.0 - gamma_k0() * log_ci


def kcs1(nf: int, log_ci: float = 0.0) -> float:
    """Two-loop Collins–Soper kernel coefficient K^{(1)} with its ln C_i terms.

    K^{(1)} = C_A(28ζ3 − 808/27) + 224 T_R n_f/27 − γ_K^{(1)} L − β0 γ_K^{(0)} L², L = ln C_i
    (physics.md §3; APFEL++ ``KCS10``, ``KCS11``). Multiply by C_F for quarks.

    The L² term follows from dK/d ln μ = −γ_K with a_s(μ0) running at one loop
    (da_s/d ln μ = −2β0 a_s²): K(C_i μ_b) = K(μ_b) − ∫_{μ_b}^{C_i μ_b} γ_K d ln μ gives
    −γ_K^{(0)}(a L + β0 a² L²) − γ_K^{(1)} a² L. APFEL++ ``KCS12`` has +β0 γ_K^{(0)}; with that
    sign the C_i-dependence of the evolved CS kernel is O(a_s²) instead of O(a_s³)
    (tests/test_tmd_anomalous_dimensions.py checks the scaling). Irrelevant at C_i = 1.
    """
    k10 = CA * (28.0 * ZETA3 - 808.0 / 27.0) + 224.0 * TR * nf / 27.0
    return k10 + log_ci * (-gamma_k1(nf) - log_ci * beta0(nf) * gamma_k0())


def gamma_k_coefficients(order: int, nf: int) -> tuple[float, ...]:
    """(γ_K^{(0)}, …) kept at PerturbativeOrder ``order`` ∈ {0, 1, 2} (physics.md §3 table)."""
    coeffs = (gamma_k0(), gamma_k1(nf), gamma_k2(nf))
    return coeffs[: order + 1]


def gamma_f_coefficients(order: int, nf: int) -> tuple[float, ...]:
    """Quark (γ_F^{(0)}, …) kept at PerturbativeOrder ``order`` ∈ {0, 1, 2} (physics.md §3)."""
    coeffs = (gamma_f0(), gamma_f1(nf))
    return coeffs[:order]


def kcs_coefficients(order: int, nf: int, log_ci: float = 0.0) -> tuple[float, ...]:
    """(K^{(0)}, …) kept at PerturbativeOrder ``order`` ∈ {0, 1, 2} (physics.md §3 table)."""
    coeffs = (kcs0(log_ci), kcs1(nf, log_ci))
    return coeffs[:order]
