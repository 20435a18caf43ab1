r"""LO and NLO DGLAP splitting functions, space-like (PDFs) and time-like (FFs), as APFEL++ uses them.

The ln C_i terms of the NNLO matching of quark TMDs (APFEL++ ``src/tmds/tmdbuilder.cc``,
``C21``/``C22``/``C23``) need the collinear evolution kernels; this module provides them in
the normalisation of :mod:`sidislab.tmd.matching` and :mod:`sidislab.tmd.nnlo_matching`.

Normalisation: a_s = α_s/(4π) and dF/d ln μ² = Σ_n a_s^{n+1} P^{(n)} ⊗ F with
(P ⊗ F)(x) = ∫_x^1 (dy/y) P(y) F(x/y), acting on the vector of NUMBER densities F (f for
PDFs, D for FFs; multiply by x, z for the momentum densities of LHAPDF grids, as in
:mod:`sidislab.tmd.matching`). Each kernel is a :class:`Kernel`,

    K(y) = regular(y, n_f) + plus(n_f) [1/(1 − y)]_+ + delta(n_f) δ(1 − y)
           (+ log_plus(n_f) [ln(1 − y)/(1 − y)]_+, unused here: ``None``),

with [ ]_+ on [0, 1]. ``plus`` and ``delta`` are APFEL++'s ``Singular`` coefficient and the
y-independent part of its ``Local`` (APFEL++ ``Local`` adds plus × ln(1 − x), the ∫_0^x of
the plus distribution, because its convolutions start at x). ``regular`` is APFEL++'s
``Regular``, with the 1/(1 − y) pole of the constant terms cancelled analytically instead
of numerically (same function; no cancellation of large terms as y → 1). T_R = 1/2 is built
into the n_f terms exactly as in APFEL++ (``- 40/9 CF nf`` means −80/9 C_F T_R n_f).

Rows, columns and flavour factors. ``SPLITTING[(kind, order, channel)]``, kind ∈
{"pdf", "ff"}, the row being the evolved distribution and the column the one it multiplies:

order 0 (per flavour, all rows)
    "ns"  quark row ← the same quark flavour: P_qq = 2C_F[(1 + y²)/(1 − y)]_+
          = −2C_F(1 + y) + 4C_F/(1 − y)_+ + 3C_F δ (space- and time-like alike);
    "qg"  quark row ← gluon, per quark flavour: PDF 2T_R[y² + (1 − y)²] (g → q);
          FF 2C_F[1 + (1 − y)²]/y (the time-like q → g splitting: D_q gets D_g from a
          quark that radiates the fragmenting gluon), as in ``matching.kernel_qg``;
    "gq"  gluon row ← each quark (and antiquark) flavour: PDF 2C_F[1 + (1 − y)²]/y (q → g);
          FF 2T_R[y² + (1 − y)²] (time-like g → q);
    "gg"  gluon row ← gluon: 4C_A[1/y − 2 + y − y²] + 4C_A/(1 − y)_+ + β0 δ,
          β0 = 11C_A/3 − 4T_R n_f/3 (same for PDFs and FFs).

    So dF_q = P_ns ⊗ F_q + "qg" ⊗ F_g and dF_g = Σ_{q, q̄ active} "gq" ⊗ F_q + "gg" ⊗ F_g.

order 1 (NLO), APFEL++'s evolution-basis normalisation, the one :mod:`.nnlo_matching` uses:

    (P^{(1)} F)_q = ½ P_NS+ ⊗ q⁺ ± ½ P_NS− ⊗ q⁻ + ½ P_PS ⊗ Σ + ½ P_QG ⊗ g   (+ q, − q̄),

    q^± = F_q ± F_q̄, Σ = Σ_active (F_q + F_q̄), and dΣ = (P_NS+ + n_f P_PS) ⊗ Σ + n_f P_QG ⊗ g.
    Channels "nsp", "nsm", "ps", "qg" are P_NS+, P_NS−, P_PS, P_QG; the gluon row "gq"
    (× each quark flavour, i.e. ⊗ Σ) and "gg" is also given (sum rules; C·P products).

    Relation to APFEL++ and to the per-flavour LO kernels: APFEL++'s ``P1ps``/``P1qg``
    (``P1Tps``/``P1Tqg``) carry an overall n_f (the Σ-row entries); P_PS and P_QG here are
    those divided by n_f. The same normalisation at LO gives P_QG^{(0)} = ``P0qg``/n_f
    = 4T_R[y² + (1 − y)²] = 2 × SPLITTING["pdf", 0, "qg"] (FF: ``P0Tqg``/n_f
    = 4C_F[1 + (1 − y)²]/y = 2 × SPLITTING["ff", 0, "qg"]): ½ P_QG ⊗ g in the formula above
    is "qg" ⊗ g, the gluon feeds q and q̄ alike. At LO P_NS± = "ns" and P_PS = 0. The gluon
    row entries are per flavour in both orders (APFEL++ ``P0gq``, ``P1gq``, ``P0Tgq``,
    ``P1Tgq`` have no n_f prefactor).

Sources. Transcribed from vbertone/apfelxx (commit 567aeb9), ``src/evolution/
splittingfunctionsunp_sl.cc`` (classes ``P0ns``, ``P0qg``, ``P0gq``, ``P0gg``, ``P1nsp``,
``P1nsm``, ``P1ps``, ``P1qg``, ``P1gq``, ``P1gg``) and ``splittingfunctionsunp_tl.cc``
(``P0Tns``, ``P0Tqg``, ``P0Tgq``, ``P0Tgg``, ``P1Tnsp``, ``P1Tnsm``, ``P1Tps``, ``P1Tqg``,
``P1Tgq``, ``P1Tgg``); the n_f factors per channel from ``InitializeDglapObjectsQCD``/
``InitializeDglapObjectsQCDT`` (``src/evolution/dglapbuilder.cc``). Physics: LO Altarelli,
Parisi, Nucl. Phys. B126 (1977) 298; space-like NLO Curci, Furmanski, Petronzio,
Nucl. Phys. B175 (1980) 27 (non-singlet) and Furmanski, Petronzio, Phys. Lett. B97 (1980) 437
(singlet), in the x-space form of Ellis, Stirling, Webber, *QCD and Collider Physics* (1996)
ch. 4 and Ellis, Vogelsang hep-ph/9602356 (S2(x), p_qq(−x) notation); time-like NLO
Curci, Furmanski, Petronzio (1980) and Floratos, Kounnas, Lacaze, Nucl. Phys. B192 (1981) 417
(singlet); see also Stratmann, Vogelsang hep-ph/9612250 and Mitov, Moch, Vogt hep-ph/0604053.
Checked (tests/test_tmd_splitting.py) against the Mellin-space anomalous
dimensions of eko (``ekore.anomalous_dimensions.unpolarized``; Glück, Reya, Vogt PRD 48 (1993)
116, Mitov, Moch, Vogt hep-ph/0604053), γ(N) = −∫_0^1 dy y^{N−1} K(y).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import spence

from sidislab.constants import CA, CF, TR, ZETA2, ZETA3

__all__ = ["KINDS", "SPLITTING", "Kernel"]

KINDS = ("pdf", "ff")
PI2 = 6.0 * ZETA2
"""π², APFEL++ ``Pi2``."""

NfLike = int | float | np.ndarray


@dataclass(frozen=True)
class Kernel:
    """K(y) = regular(y, n_f) + plus(n_f) [1/(1 − y)]_+ + delta(n_f) δ(1 − y) (+ log_plus …).

    ``regular(y, nf)`` broadcasts y against nf (arrays); ``plus``/``delta``/``log_plus``
    take nf (int or array) and return a float or an array of nf's shape. ``log_plus`` is
    the coefficient of [ln(1 − y)/(1 − y)]_+, ``None`` when absent (all kernels here).
    """

    regular: Callable[[np.ndarray, NfLike], np.ndarray]
    plus: Callable[[NfLike], float | np.ndarray]
    delta: Callable[[NfLike], float | np.ndarray]
    log_plus: Callable[[NfLike], float | np.ndarray] | None = None


def _const(c: float) -> Callable[[NfLike], float | np.ndarray]:
    """An n_f-independent coefficient, shaped like nf."""
    return lambda nf: c + 0.0 * np.asarray(nf, dtype=np.float64)


def _shaped(r: np.ndarray, nf: NfLike) -> np.ndarray:
    """r broadcast against nf (for kernels without n_f dependence)."""
    return r + 0.0 * np.asarray(nf, dtype=np.float64)


def _li2_minus(y: np.ndarray) -> np.ndarray:
    """Li2(−y) (scipy ``spence(z)`` = Li2(1 − z))."""
    return spence(1.0 + y)


def _s2(y: np.ndarray, lnx: np.ndarray) -> np.ndarray:
    """S2(y) = −2 Li2(−y) + ln²y/2 − 2 ln y ln(1 + y) − π²/6 (APFEL++ ``S2x``; ESW ch. 4)."""
    return -2.0 * _li2_minus(y) + 0.5 * lnx * lnx - 2.0 * lnx * np.log1p(y) - PI2 / 6.0


def _logs(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return y, np.log(y), np.log1p(-y)


# --- LO (APFEL++ P0ns, P0qg, P0gq, P0gg; P0Tns, P0Tqg, P0Tgq, P0Tgg) -------------------------


def p0_ns_regular(y: np.ndarray, nf: NfLike = 0) -> np.ndarray:
    """Regular part of P_qq^{(0)}: −2C_F(1 + y) (``P0ns``/``P0Tns::Regular``); plus 4C_F, δ 3C_F."""
    return _shaped(-2.0 * CF * (1.0 + np.asarray(y, dtype=np.float64)), nf)


def p0_gq2q(y: np.ndarray, nf: NfLike = 0) -> np.ndarray:
    """2T_R[y² + (1 − y)²], per quark flavour: space-like quark row ← gluon (``P0qg``/(2n_f)),
    time-like gluon row ← quark (``P0Tgq``)."""
    y = np.asarray(y, dtype=np.float64)
    return _shaped(2.0 * TR * (1.0 - 2.0 * y + 2.0 * y * y), nf)


def p0_q2g(y: np.ndarray, nf: NfLike = 0) -> np.ndarray:
    """2C_F[1 + (1 − y)²]/y, per quark flavour: space-like gluon row ← quark (``P0gq``),
    time-like quark row ← gluon (``P0Tqg``/(2n_f))."""
    y = np.asarray(y, dtype=np.float64)
    return _shaped(4.0 * CF * (-1.0 + 0.5 * y + 1.0 / y), nf)


def p0_gg_regular(y: np.ndarray, nf: NfLike = 0) -> np.ndarray:
    """Regular part of P_gg^{(0)}: 4C_A(1/y − 2 + y − y²) (``P0gg``/``P0Tgg::Regular``)."""
    y = np.asarray(y, dtype=np.float64)
    return _shaped(4.0 * CA * (-2.0 + y - y * y + 1.0 / y), nf)


def p0_gg_delta(nf: NfLike) -> float | np.ndarray:
    """δ(1 − y) coefficient of P_gg^{(0)}: β0 = 11C_A/3 − 4T_R n_f/3 (APFEL++ −2/3 n_f + 11/3 C_A)."""
    return 11.0 / 3.0 * CA - 4.0 / 3.0 * TR * np.asarray(nf, dtype=np.float64)


# --- NLO space-like (APFEL++ P1nsp, P1nsm, P1ps, P1qg, P1gq, P1gg) -----------------------------


def p1_ns_plus(nf: NfLike) -> float | np.ndarray:
    """Plus-distribution coefficient of P_NS±^{(1)} (space- and time-like), APFEL++ ``_a2``:
    −40/9 C_F n_f + (268/9 − 8ζ2) C_A C_F, the two-loop cusp anomalous dimension C_F γ_K^{(1)}/2."""
    return (
        -40.0 / 9.0 * CF * np.asarray(nf, dtype=np.float64) + (268.0 / 9.0 - 8.0 * ZETA2) * CA * CF
    )


def p1_ns_delta(nf: NfLike) -> float | np.ndarray:
    """δ(1 − y) coefficient of P_NS±^{(1)} (space- and time-like), APFEL++ ``p1delta``."""
    nf = np.asarray(nf, dtype=np.float64)
    return (
        -1.0 / 3.0 * CF * nf
        + 1.5 * CF * CF
        + 17.0 / 6.0 * CA * CF
        + 24.0 * ZETA3 * CF * CF
        - 12.0 * ZETA3 * CA * CF
        - 8.0 / 3.0 * ZETA2 * CF * nf
        - 12.0 * ZETA2 * CF * CF
        + 44.0 / 3.0 * ZETA2 * CA * CF
    )


def _p1_ns_regular(y: np.ndarray, nf: NfLike, sign: float, timelike: bool) -> np.ndarray:
    """APFEL++ ``P1nsp``/``P1nsm`` (``P1Tnsp``/``P1Tnsm``) ``Regular``: gqq1 − _a2/(1 − y).

    gqq1 = Σ c(y) p_qq(y) + …, p_qq = 2/(1 − y) − 1 − y; the y-independent part c0 of c has
    2 c0 = _a2, so c0 p_qq − _a2/(1 − y) = −c0 (1 + y): done here analytically.
    ``sign`` = +1 (NS+) or −1 (NS−) multiplies the C_F(C_F − C_A/2) p_qq(−y) S2(y) term.
    """
    y, lnx, ln1mx = _logs(y)
    nf = np.asarray(nf, dtype=np.float64)
    lnx2 = lnx * lnx
    pqq = 2.0 / (1.0 - y) - 1.0 - y
    pqqmx = 2.0 / (1.0 + y) - 1.0 + y
    c0 = 0.5 * p1_ns_plus(nf)
    c_var = 2.0 * CF * nf * (-2.0 * lnx / 3.0) + 4.0 * CA * CF * (11.0 * lnx / 6.0 + lnx2 / 2.0)
    if timelike:
        c_var = c_var + 4.0 * CF * CF * (1.5 * lnx + 2.0 * ln1mx * lnx - 2.0 * lnx2)
        cfcf = 4.0 * CF * CF * (-5.0 * (1.0 - y) + lnx2 * (1.0 + y) / 2.0 - lnx * (3.5 + 1.5 * y))
    else:
        c_var = c_var + 4.0 * CF * CF * (-1.5 * lnx - 2.0 * ln1mx * lnx)
        cfcf = 4.0 * CF * CF * (-5.0 * (1.0 - y) - lnx2 * (1.0 + y) / 2.0 - lnx * (1.5 + 3.5 * y))
    return (
        c_var * pqq
        - c0 * (1.0 + y)
        + 2.0 * CF * nf * (-4.0 * (1.0 - y) / 3.0)
        + 4.0 * CA * CF * (20.0 * (1.0 - y) / 3.0 + lnx * (1.0 + y))
        + cfcf
        + sign
        * 4.0
        * CF
        * (CF - CA / 2.0)
        * (2.0 * pqqmx * _s2(y, lnx) + 4.0 * (1.0 - y) + 2.0 * lnx * (1.0 + y))
    )


def p1_nsp_regular(y: np.ndarray, nf: NfLike) -> np.ndarray:
    """Regular part of the space-like P_NS+^{(1)} (APFEL++ ``P1nsp::Regular``; CFP 1980)."""
    return _p1_ns_regular(y, nf, +1.0, timelike=False)


def p1_nsm_regular(y: np.ndarray, nf: NfLike) -> np.ndarray:
    """Regular part of the space-like P_NS−^{(1)} (APFEL++ ``P1nsm::Regular``; CFP 1980)."""
    return _p1_ns_regular(y, nf, -1.0, timelike=False)


def p1_ps(y: np.ndarray, nf: NfLike = 0) -> np.ndarray:
    """Space-like P_PS^{(1)} per flavour = APFEL++ ``P1ps``/n_f (Furmanski–Petronzio 1980):
    C_F[−8 + 24y − 224y²/9 + 80/(9y) + (4 + 20y) ln y + 32y² ln y/3 − 4(1 + y) ln²y]."""
    y, lnx, _ = _logs(y)
    lnx2 = lnx * lnx
    r = CF * (
        -8.0
        + 24.0 * y
        - 224.0 / 9.0 * y * y
        + 80.0 / 9.0 / y
        + (4.0 + 20.0 * y) * lnx
        + 32.0 / 3.0 * y * y * lnx
        - (4.0 + 4.0 * y) * lnx2
    )
    return _shaped(r, nf)


def p1_qg(y: np.ndarray, nf: NfLike = 0) -> np.ndarray:
    """Space-like P_QG^{(1)} = APFEL++ ``P1qg``/n_f (quark row ← gluon, evolution-basis
    normalisation: ½ P_QG per quark flavour; Furmanski–Petronzio 1980)."""
    y, lnx, ln1mx = _logs(y)
    lnx2 = lnx * lnx
    pqg = y * y + (1.0 - y) ** 2
    pqgmx = y * y + (1.0 + y) ** 2
    r = 2.0 * CF * (
        4.0
        + 4.0 * ln1mx
        + (10.0 - 4.0 * (ln1mx - lnx) + 2.0 * (lnx - ln1mx) ** 2 - 2.0 * PI2 / 3.0) * pqg
        - lnx * (1.0 - 4.0 * y)
        - lnx2 * (1.0 - 2.0 * y)
        - 9.0 * y
    ) + 2.0 * CA * (
        182.0 / 9.0
        - 4.0 * ln1mx
        + (-218.0 / 9.0 + 4.0 * ln1mx - 2.0 * ln1mx * ln1mx + 44.0 * lnx / 3.0 - lnx2 + PI2 / 3.0)
        * pqg
        + 2.0 * pqgmx * _s2(y, lnx)
        + 40.0 / (9.0 * y)
        + 14.0 * y / 9.0
        - lnx2 * (2.0 + 8.0 * y)
        + lnx * (-38.0 / 3.0 + 136.0 * y / 3.0)
    )
    return _shaped(r, nf)


def p1_gq(y: np.ndarray, nf: NfLike) -> np.ndarray:
    """Space-like P_gq^{(1)}, gluon row ← each quark flavour (APFEL++ ``P1gq::Regular``)."""
    y, lnx, ln1mx = _logs(y)
    nf = np.asarray(nf, dtype=np.float64)
    lnx2 = lnx * lnx
    pgq = (1.0 + (1.0 - y) ** 2) / y
    pgqmx = -(1.0 + (1.0 + y) ** 2) / y
    return (
        2.0 * CF * nf * (-(20.0 / 9.0 + 4.0 * ln1mx / 3.0) * pgq - 4.0 * y / 3.0)
        + 4.0
        * CF
        * CF
        * (
            -2.5
            - (3.0 * ln1mx + ln1mx * ln1mx) * pgq
            - lnx2 * (1.0 - y / 2.0)
            - 7.0 * y / 2.0
            - 2.0 * ln1mx * y
            + lnx * (2.0 + 7.0 * y / 2.0)
        )
        + 4.0
        * CA
        * CF
        * (
            28.0 / 9.0
            + pgq
            * (
                0.5
                + 11.0 * ln1mx / 3.0
                + ln1mx * ln1mx
                - 2.0 * ln1mx * lnx
                + lnx2 / 2.0
                - PI2 / 6.0
            )
            + pgqmx * _s2(y, lnx)
            + 65.0 * y / 18.0
            + 2.0 * ln1mx * y
            + 44.0 * y * y / 9.0
            + lnx2 * (4.0 + y)
            - lnx * (12.0 + 5.0 * y + 8.0 * y * y / 3.0)
        )
    )


def p1_gg_plus(nf: NfLike) -> float | np.ndarray:
    """Plus-distribution coefficient of P_gg^{(1)} (space- and time-like), APFEL++ ``_a2g``:
    −40/9 C_A n_f + (268/9 − 8ζ2) C_A² = C_A γ_K^{(1)}/2 (Casimir scaling of the cusp)."""
    return (
        -40.0 / 9.0 * CA * np.asarray(nf, dtype=np.float64) + (268.0 / 9.0 - 8.0 * ZETA2) * CA * CA
    )


def p1_gg_delta(nf: NfLike) -> float | np.ndarray:
    """δ(1 − y) coefficient of P_gg^{(1)} (space- and time-like), APFEL++ ``p1delta``:
    (−2C_F − 8C_A/3) n_f + (32/3 + 12ζ3) C_A²."""
    return (-2.0 * CF - 8.0 / 3.0 * CA) * np.asarray(nf, dtype=np.float64) + (
        32.0 / 3.0 + 12.0 * ZETA3
    ) * CA * CA


def p1_gg_regular(y: np.ndarray, nf: NfLike) -> np.ndarray:
    """Regular part of the space-like P_gg^{(1)} (APFEL++ ``P1gg::Regular``: ggg1 − _a2g/(1 − y);
    the constant coefficient of p_gg = 1/(1 − y) + 1/y − 2 + y(1 − y) is _a2g, subtracted
    analytically)."""
    y, lnx, ln1mx = _logs(y)
    nf = np.asarray(nf, dtype=np.float64)
    lnx2 = lnx * lnx
    pgg = 1.0 / (1.0 - y) + 1.0 / y - 2.0 + y * (1.0 - y)
    pgg_reg = 1.0 / y - 2.0 + y * (1.0 - y)
    pggmx = 1.0 / (1.0 + y) - 1.0 / y - 2.0 - y * (1.0 + y)
    return (
        2.0
        * CF
        * nf
        * (
            -16.0
            + 4.0 / (3.0 * y)
            + 8.0 * y
            + 20.0 * y * y / 3.0
            - lnx2 * (2.0 + 2.0 * y)
            - lnx * (6.0 + 10.0 * y)
        )
        + 2.0
        * CA
        * nf
        * (2.0 - 2.0 * y - 4.0 * lnx * (1.0 + y) / 3.0 + 26.0 * (-1.0 / y + y * y) / 9.0)
        + p1_gg_plus(nf) * pgg_reg
        + 4.0
        * CA
        * CA
        * (
            pgg * (-4.0 * ln1mx * lnx + lnx2)
            + 2.0 * pggmx * _s2(y, lnx)
            + 27.0 * (1.0 - y) / 2.0
            + 4.0 * lnx2 * (1.0 + y)
            + 67.0 * (-1.0 / y + y * y) / 9.0
            - lnx * (25.0 / 3.0 - 11.0 * y / 3.0 + 44.0 * y * y / 3.0)
        )
    )


# --- NLO time-like (APFEL++ P1Tnsp, P1Tnsm, P1Tps, P1Tqg, P1Tgq, P1Tgg) -----------------------


def p1t_nsp_regular(y: np.ndarray, nf: NfLike) -> np.ndarray:
    """Regular part of the time-like P_NS+^{T(1)} (APFEL++ ``P1Tnsp::Regular``; CFP 1980)."""
    return _p1_ns_regular(y, nf, +1.0, timelike=True)


def p1t_nsm_regular(y: np.ndarray, nf: NfLike) -> np.ndarray:
    """Regular part of the time-like P_NS−^{T(1)} (APFEL++ ``P1Tnsm::Regular``; CFP 1980)."""
    return _p1_ns_regular(y, nf, -1.0, timelike=True)


def p1t_ps(y: np.ndarray, nf: NfLike = 0) -> np.ndarray:
    """Time-like P_PS^{T(1)} per flavour = APFEL++ ``P1Tps``/n_f:
    C_F[−32 + 16y + 224y²/9 − 80/(9y) − (20 + 36y) ln y − 32y² ln y/3 + 4(1 + y) ln²y]."""
    y, lnx, _ = _logs(y)
    lnx2 = lnx * lnx
    r = CF * (
        -32.0
        + 16.0 * y
        + 224.0 * y * y / 9.0
        - 80.0 / 9.0 / y
        - (20.0 + 36.0 * y) * lnx
        - 32.0 * y * y * lnx / 3.0
        + (4.0 + 4.0 * y) * lnx2
    )
    return _shaped(r, nf)


def p1t_qg(y: np.ndarray, nf: NfLike = 0) -> np.ndarray:
    """Time-like P_QG^{T(1)} = APFEL++ ``P1Tqg``/n_f: quark row ← gluon (the q → g splitting),
    evolution-basis normalisation (½ P_QG per quark flavour)."""
    y, lnx, ln1mx = _logs(y)
    lnx2 = lnx * lnx
    ln1mx2 = ln1mx * ln1mx
    pgq = (1.0 + (1.0 - y) ** 2) / y
    pgqmx = -(1.0 + (1.0 + y) ** 2) / y
    s1x = -spence(y)  # −Li2(1 − y)
    r = 2.0 * (
        4.0
        * CF
        * CF
        * (
            -0.5
            + 9.0 * y / 2.0
            + (-8.0 + y / 2.0) * lnx
            + 2.0 * y * ln1mx
            + (1.0 - y / 2.0) * lnx2
            + (ln1mx2 + 4.0 * lnx * ln1mx - 8.0 * s1x - 4.0 * PI2 / 3.0) * pgq
        )
        + 4.0
        * CF
        * CA
        * (
            62.0 / 9.0
            - 35.0 * y / 18.0
            - 44.0 * y * y / 9.0
            + (2.0 + 12.0 * y + 8.0 * y * y / 3.0) * lnx
            - 2.0 * y * ln1mx
            - (4.0 + y) * lnx2
            + pgqmx * _s2(y, lnx)
            + (
                -2.0 * lnx * ln1mx
                - 3.0 * lnx
                - 1.5 * lnx2
                - ln1mx2
                + 8.0 * s1x
                + 7.0 * PI2 / 6.0
                + 17.0 / 18.0
            )
            * pgq
        )
    )
    return _shaped(r, nf)


def p1t_gq(y: np.ndarray, nf: NfLike) -> np.ndarray:
    """Time-like P_gq^{T(1)}, gluon row ← each quark flavour (the g → q splitting; APFEL++
    ``P1Tgq::Regular``)."""
    y, lnx, ln1mx = _logs(y)
    nf = np.asarray(nf, dtype=np.float64)
    lnx2 = lnx * lnx
    ln1mx2 = ln1mx * ln1mx
    pqg = y * y + (1.0 - y) ** 2
    pqgmx = y * y + (1.0 + y) ** 2
    s1x = -spence(y)
    return (
        nf * (-8.0 / 6.0 - (16.0 / 18.0 + 8.0 * lnx / 6.0 + 8.0 * ln1mx / 6.0) * pqg)
        + CF
        * (
            -2.0
            + 3.0 * y
            + (-7.0 + 8.0 * y) * lnx
            - 4.0 * ln1mx
            + (1.0 - 2.0 * y) * lnx2
            + (-2.0 * (lnx + ln1mx) ** 2 - 2.0 * (ln1mx - lnx) + 16.0 * s1x + 2.0 * PI2 - 10.0)
            * pqg
        )
        + CA
        * (
            -152.0 / 9.0
            + 166.0 * y / 9.0
            - 40.0 / 9.0 / y
            + (-4.0 / 3.0 - 76.0 * y / 3.0) * lnx
            + 4.0 * ln1mx
            + (2.0 + 8.0 * y) * lnx2
            + (
                8.0 * lnx * ln1mx
                - lnx2
                - 4.0 * lnx / 3.0
                + 10.0 * ln1mx / 3.0
                + 2.0 * ln1mx2
                - 16.0 * s1x
                - 7.0 * PI2 / 3.0
                + 178.0 / 9.0
            )
            * pqg
            + 2.0 * pqgmx * _s2(y, lnx)
        )
    )


def p1t_gg_regular(y: np.ndarray, nf: NfLike) -> np.ndarray:
    """Regular part of the time-like P_gg^{T(1)} (APFEL++ ``P1Tgg::Regular``: ggg1 − _a2g/(1 − y),
    the constant coefficient of p_gg subtracted analytically)."""
    y, lnx, ln1mx = _logs(y)
    nf = np.asarray(nf, dtype=np.float64)
    y2 = y * y
    lnx2 = lnx * lnx
    pgg = 1.0 / (1.0 - y) + 1.0 / y - 2.0 + y * (1.0 - y)
    pgg_reg = 1.0 / y - 2.0 + y * (1.0 - y)
    pggmx = 1.0 / (1.0 + y) - 1.0 / y - 2.0 - y * (1.0 + y)
    return (
        2.0
        * CF
        * nf
        * (
            -4.0
            + 12.0 * y
            - 164.0 * y2 / 9.0
            + (10.0 + 14.0 * y + 16.0 * y2 / 3.0 + 16.0 / 3.0 / y) * lnx
            + 92.0 / 9.0 / y
            + 2.0 * (1.0 + y) * lnx2
        )
        + 2.0
        * CA
        * nf
        * (
            2.0
            - 2.0 * y
            + 26.0 * (y2 - 1.0 / y) / 9.0
            - 4.0 * (1.0 + y) * lnx / 3.0
            - (8.0 * lnx / 3.0) * pgg
        )
        + p1_gg_plus(nf) * pgg_reg
        + 4.0
        * CA
        * CA
        * (
            27.0 * (1.0 - y) / 2.0
            + 67.0 * (y2 - 1.0 / y) / 9.0
            + (11.0 / 3.0 - 25.0 * y / 3.0 - 44.0 / 3.0 / y) * lnx
            - 4.0 * (1.0 + y) * lnx2
            + (4.0 * lnx * ln1mx - 3.0 * lnx2 + 22.0 * lnx / 3.0) * pgg
            + 2.0 * pggmx * _s2(y, lnx)
        )
    )


# --- the table ---------------------------------------------------------------------------------

_ZERO = _const(0.0)
_NS0 = Kernel(p0_ns_regular, _const(4.0 * CF), _const(3.0 * CF))
_GG0 = Kernel(p0_gg_regular, _const(4.0 * CA), p0_gg_delta)

SPLITTING: dict[tuple[str, int, str], Kernel] = {
    # LO, per flavour
    ("pdf", 0, "ns"): _NS0,
    ("pdf", 0, "qg"): Kernel(p0_gq2q, _ZERO, _ZERO),
    ("pdf", 0, "gq"): Kernel(p0_q2g, _ZERO, _ZERO),
    ("pdf", 0, "gg"): _GG0,
    ("ff", 0, "ns"): _NS0,
    ("ff", 0, "qg"): Kernel(p0_q2g, _ZERO, _ZERO),
    ("ff", 0, "gq"): Kernel(p0_gq2q, _ZERO, _ZERO),
    ("ff", 0, "gg"): _GG0,
    # NLO, evolution-basis normalisation (quark row) and per-flavour gluon row
    ("pdf", 1, "nsp"): Kernel(p1_nsp_regular, p1_ns_plus, p1_ns_delta),
    ("pdf", 1, "nsm"): Kernel(p1_nsm_regular, p1_ns_plus, p1_ns_delta),
    ("pdf", 1, "ps"): Kernel(p1_ps, _ZERO, _ZERO),
    ("pdf", 1, "qg"): Kernel(p1_qg, _ZERO, _ZERO),
    ("pdf", 1, "gq"): Kernel(p1_gq, _ZERO, _ZERO),
    ("pdf", 1, "gg"): Kernel(p1_gg_regular, p1_gg_plus, p1_gg_delta),
    ("ff", 1, "nsp"): Kernel(p1t_nsp_regular, p1_ns_plus, p1_ns_delta),
    ("ff", 1, "nsm"): Kernel(p1t_nsm_regular, p1_ns_plus, p1_ns_delta),
    ("ff", 1, "ps"): Kernel(p1t_ps, _ZERO, _ZERO),
    ("ff", 1, "qg"): Kernel(p1t_qg, _ZERO, _ZERO),
    ("ff", 1, "gq"): Kernel(p1t_gq, _ZERO, _ZERO),
    ("ff", 1, "gg"): Kernel(p1t_gg_regular, p1_gg_plus, p1_gg_delta),
}
"""(kind, order, channel) → :class:`Kernel`; normalisations in the module docstring."""
