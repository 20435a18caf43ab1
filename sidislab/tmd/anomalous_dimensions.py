r"""Perturbative coefficients of TMD evolution: β, γ_K, γ_F, the Collins–Soper kernel K.

All in powers of a_s = α_s/(4π) and for n_f active flavours, as APFEL++ (vbertone/apfelxx,
``src/tmds/gammak.cc``, ``gammaf.cc``, ``kcs.cc``; ``src/kernel/betaqcd.cc``) and
``physics.md`` §3:

    γ_K(μ) = Σ_n a_s^{n+1} γ_K^{(n)}       (C_F γ_K is twice the quark cusp anomalous dimension)
    γ_F(μ) = Σ_n a_s^{n+1} γ_F^{(n)}       (quark, non-cusp)
    K(μ0)  = Σ_n a_s^{n+1} Σ_k K^{(n,k)} ln^k(C_i)   (Collins–Soper kernel at μ0 = C_i b0/b*,
                                                       to be multiplied by C_F for quarks)

Dimensionless. Every coefficient up to N³LL (γ_K^{(3)}, γ_F^{(2)}, K^{(2,k)}) is given;
which of them an order keeps is decided by :mod:`sidislab.tmd.orders` (the truncation of
APFEL++ ``QuarkEvolutionFactor``: NLL′ evolves as NLL, NNLL′ as NNLL).
"""

from __future__ import annotations

import math

from sidislab.constants import CA, CF, TR, ZETA2, ZETA3, ZETA4, ZETA5
from sidislab.tmd.orders import evolution_loops

PI2 = math.pi**2


def beta0(nf: int) -> float:
    """β0 = 11/3 C_A − 4/3 T_R n_f (da_s/d ln μ² = −β0 a_s² − …; APFEL++ ``beta0qcd``)."""
    return 11.0 / 3.0 * CA - 4.0 / 3.0 * TR * nf


def beta1(nf: int) -> float:
    """β1 = 34/3 C_A² − 4 C_F T_R n_f − 20/3 C_A T_R n_f (APFEL++ ``beta1qcd``)."""
    return 34.0 / 3.0 * CA**2 - 4.0 * CF * TR * nf - 20.0 / 3.0 * CA * TR * nf


def beta2(nf: int) -> float:
    """β2 = 2857/54 C_A³ + (2C_F² − 205/9 C_F C_A − 1415/27 C_A²) T_R n_f + (44/9 C_F + 158/27 C_A) T_R² n_f².

    physics.md §4.2 (Tarasov, Vladimirov, Zharkov 1980; APFEL++ ``beta2qcd``):
    2857/2 − 5033 n_f/18 + 325 n_f²/54 for SU(3).
    """
    return (
        2857.0 / 54.0 * CA**3
        + (2.0 * CF**2 - 205.0 / 9.0 * CF * CA - 1415.0 / 27.0 * CA**2) * TR * nf
        + (44.0 / 9.0 * CF + 158.0 / 27.0 * CA) * TR**2 * nf**2
    )


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


def gamma_k3(nf: int) -> float:
    """γ_K^{(3)}, the four-loop cusp in APFEL++'s normalisation (Γ_3 = C_F γ_K^{(3)}/2).

    physics.md §4.3; Henn, Korchemsky, Mistlberger arXiv:1911.10174 (eq. 4.5 and the
    quartic Casimirs), von Manteuffel, Panzer, Schabinger arXiv:2002.04617 (eq. 3); APFEL++
    ``gammaK3`` (src/tmds/gammak.cc), with d_F^{abcd}d_F^{abcd}/N_F = 5/36 and
    d_F^{abcd}d_A^{abcd}/N_F = 5/2 for SU(3). Values 10552.73 (n_f = 3), 5030.03 (4), 211.87 (5).
    """
    d_ff, d_fa = 5.0 / 36.0, 5.0 / 2.0
    z2, z3, z5 = ZETA2, ZETA3, ZETA5
    return 2.0 * (
        nf**3 * (64.0 / 27.0 * z3 - 32.0 / 81.0)
        + nf**2
        * CA
        * (-224.0 / 15.0 * z2**2 + 2240.0 / 27.0 * z3 - 608.0 / 81.0 * z2 + 923.0 / 81.0)
        + nf**2 * CF * (64.0 / 5.0 * z2**2 - 640.0 / 9.0 * z3 + 2392.0 / 81.0)
        + nf
        * CA**2
        * (
            2096.0 / 9.0 * z5
            + 448.0 / 3.0 * z3 * z2
            - 352.0 / 15.0 * z2**2
            - 23104.0 / 27.0 * z3
            + 20320.0 / 81.0 * z2
            - 24137.0 / 81.0
        )
        + nf
        * CA
        * CF
        * (
            160.0 * z5
            - 128.0 * z3 * z2
            - 352.0 / 5.0 * z2**2
            + 3712.0 / 9.0 * z3
            + 440.0 / 3.0 * z2
            - 34066.0 / 81.0
        )
        + nf * CF**2 * (-320.0 * z5 + 592.0 / 3.0 * z3 + 572.0 / 9.0)
        + nf * d_ff / CF * (-1280.0 / 3.0 * z5 - 256.0 / 3.0 * z3 + 256.0 * z2)
        + d_fa
        / CF
        * (
            -384.0 * z3**2
            - 7936.0 / 35.0 * z2**3
            + 3520.0 / 3.0 * z5
            + 128.0 / 3.0 * z3
            - 128.0 * z2
        )
        + CA**3
        * (
            -16.0 * z3**2
            - 20032.0 / 105.0 * z2**3
            - 3608.0 / 9.0 * z5
            - 352.0 / 3.0 * z3 * z2
            + 3608.0 / 5.0 * z2**2
            + 20944.0 / 27.0 * z3
            - 88400.0 / 81.0 * z2
            + 84278.0 / 81.0
        )
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


def gamma_f2(nf: int) -> float:
    """Quark γ_F^{(2)} = −γ_V^{(2)} (three loops).

    physics.md §4.4; Moch, Vermaseren, Vogt hep-ph/0508055 (eq. 3.9, γ^q_3 there, in
    Becher–Neubert's γ^V = 2γ^q normalisation); APFEL++ ``gammaFq2`` (src/tmds/gammaf.cc).
    Values 738.256 (n_f = 3), 491.966 (4), 249.388 (5).
    """
    p2, z3, z5 = PI2, ZETA3, ZETA5
    return -(
        CF**3
        * (-29.0 - 6.0 * p2 - 16.0 * p2**2 / 5.0 - 136.0 * z3 + 32.0 * p2 * z3 / 3.0 + 480.0 * z5)
        + CF**2
        * CA
        * (
            -151.0 / 2.0
            + 410.0 * p2 / 9.0
            + 494.0 * p2**2 / 135.0
            - 1688.0 * z3 / 3.0
            - 16.0 * p2 * z3 / 3.0
            - 240.0 * z5
        )
        + CF
        * CA**2
        * (
            -139345.0 / 1458.0
            - 7163.0 * p2 / 243.0
            - 83.0 * p2**2 / 45.0
            + 7052.0 * z3 / 9.0
            - 88.0 * p2 * z3 / 9.0
            - 272.0 * z5
        )
        + CF**2
        * TR
        * nf
        * (5906.0 / 27.0 - 52.0 * p2 / 9.0 - 56.0 * p2**2 / 27.0 + 1024.0 * z3 / 9.0)
        + CF
        * CA
        * TR
        * nf
        * (-34636.0 / 729.0 + 5188.0 * p2 / 243.0 + 44.0 * p2**2 / 45.0 - 3856.0 * z3 / 27.0)
        + CF * TR**2 * nf**2 * (19336.0 / 729.0 - 80.0 * p2 / 27.0 - 64.0 * z3 / 27.0)
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


def kcs2(nf: int, log_ci: float = 0.0) -> float:
    """Three-loop Collins–Soper kernel coefficient K^{(2)} with its ln C_i terms (× C_F for quarks).

    K^{(2)} = d20 + d21 L + d22 L² + d23 L³, L = ln C_i (physics.md §4.5): the constant d20 is
    the three-loop rapidity anomalous dimension (Li, Zhu arXiv:1604.01404 eq. 8; Vladimirov
    arXiv:1610.05791 eq. 5.8; APFEL++ ``KCS20``); the logarithms follow from
    dK/d ln μ = −γ_K with da_s/d ln μ = −2(β0 a_s² + β1 a_s³):
    d21 = −γ_K^{(2)} + 4β0 d10, d22 = −β1 γ_K^{(0)} − 2β0 γ_K^{(1)}, d23 = −(4/3)β0² γ_K^{(0)}
    (APFEL++ ``KCS21``–``KCS23``; d22 and d23 use the RG-consistent d12 = −β0 γ_K^{(0)}).
    Values of d20: 390.80 (n_f = 3), 458.75 (4), 513.07 (5).
    """
    d20 = 2.0 * (
        0.5
        * CA**2
        * (
            -176.0 * ZETA3 * ZETA2 / 3.0
            + 6392.0 * ZETA2 / 81.0
            + 12328.0 * ZETA3 / 27.0
            + 154.0 * ZETA4 / 3.0
            - 192.0 * ZETA5
            - 297029.0 / 729.0
        )
        + CA
        * TR
        * nf
        * (-824.0 * ZETA2 / 81.0 - 904.0 * ZETA3 / 27.0 + 20.0 * ZETA4 / 3.0 + 62626.0 / 729.0)
        + 2.0 * TR**2 * nf**2 * (-32.0 * ZETA3 / 9.0 - 1856.0 / 729.0)
        + CF * TR * nf * (-304.0 * ZETA3 / 9.0 - 16.0 * ZETA4 + 1711.0 / 27.0)
    )
    if log_ci == 0.0:
        return d20
    b0, b1 = beta0(nf), beta1(nf)
    d10 = kcs1(nf)
    d21 = -gamma_k2(nf) + 4.0 * b0 * d10
    d22 = -b1 * gamma_k0() - 2.0 * b0 * gamma_k1(nf)
    d23 = -4.0 / 3.0 * b0**2 * gamma_k0()
    return d20 + log_ci * (d21 + log_ci * (d22 + log_ci * d23))


def gamma_k_coefficients(order: int, nf: int) -> tuple[float, ...]:
    """(γ_K^{(0)}, …) kept at PerturbativeOrder ``order`` (physics.md §4.1 table).

    LL: 1 loop; NLL, NLL′: 2; NNLL, NNLL′: 3; N³LL: 4 (:func:`~sidislab.tmd.orders.evolution_loops`).
    """
    n = evolution_loops(order)
    coeffs = (gamma_k0, gamma_k1, gamma_k2, gamma_k3)
    return tuple(c() if k == 0 else c(nf) for k, c in enumerate(coeffs[: n + 1]))


def gamma_f_coefficients(order: int, nf: int) -> tuple[float, ...]:
    """Quark (γ_F^{(0)}, …) kept at PerturbativeOrder ``order``: LL none, then 1, 2, 3 loops."""
    n = evolution_loops(order)
    coeffs = (gamma_f0(), gamma_f1(nf), gamma_f2(nf))
    return coeffs[:n]


def kcs_coefficients(order: int, nf: int, log_ci: float = 0.0) -> tuple[float, ...]:
    """(K^{(0)}, …) kept at PerturbativeOrder ``order``: LL none, then 1, 2, 3 loops."""
    n = evolution_loops(order)
    coeffs = (kcs0(log_ci), kcs1(nf, log_ci), kcs2(nf, log_ci))
    return coeffs[:n]
