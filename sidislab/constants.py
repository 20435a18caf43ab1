"""Physical and numerical constants used across sidislab.

One place for every constant, each with its source. Units: GeV, GeV⁻¹ for b, pb for
cross sections (``../shared/physics.md``, header and §1–3).
"""

from __future__ import annotations

import math

# --- QCD colour factors (SU(3)) -------------------------------------------------------
CF: float = 4.0 / 3.0
"""Casimir of the fundamental representation, C_F = (N_c² − 1)/(2 N_c)."""
CA: float = 3.0
"""Casimir of the adjoint representation, C_A = N_c."""
TR: float = 0.5
"""Normalisation of the fundamental generators, T_R = 1/2."""

# --- Riemann zeta values and Euler's constant -----------------------------------------
ZETA2: float = math.pi**2 / 6.0
ZETA3: float = 1.2020569031595942
ZETA4: float = math.pi**4 / 90.0
ZETA5: float = 1.0369277551433699
EULER_GAMMA: float = 0.5772156649015329

B0: float = 2.0 * math.exp(-EULER_GAMMA)
"""b0 = 2 e^{−γ_E} ≈ 1.1229, the natural scale μ_b = b0/b (physics.md §2)."""

# --- Conversion and electroweak ----------------------------------------------------------
CONV_FACT: float = 0.3893793721e9
"""(ħc)² in pb GeV²: converts GeV⁻² to pb (physics.md §1)."""

MZ: float = 91.1876
"""Z boson mass in GeV, reference scale of α_em (physics.md §3)."""
ALPHA_EM_MZ: float = 0.0072973525693
"""α_em at the reference scale used by the reference computation (physics.md §3).

This is numerically the Thomson-limit value; the reference (APFEL++ ``AlphaQED``) runs it
from M_Z with one-loop QED, so we do the same to reproduce its numbers.
"""
LEPTON_MASSES: tuple[float, float, float] = (0.0, 0.0, 1.777)
"""Lepton thresholds (e, μ, τ) for α_em running as in the reference (physics.md §3)."""

# --- Quark electric charges squared, by PDG id (|id| = 1 d, 2 u, 3 s, 4 c, 5 b, 6 t) -------
QUARK_CHARGE2: dict[int, float] = {1: 1 / 9, 2: 4 / 9, 3: 1 / 9, 4: 4 / 9, 5: 1 / 9, 6: 4 / 9}

FLAVOUR_NAMES: dict[int, str] = {
    1: "d",
    2: "u",
    3: "s",
    4: "c",
    5: "b",
    6: "t",
    -1: "dbar",
    -2: "ubar",
    -3: "sbar",
    -4: "cbar",
    -5: "bbar",
    -6: "tbar",
    21: "g",
}
"""Short names of partons by PDG id (gluon = 21)."""

FLAVOUR_IDS: dict[str, int] = {v: k for k, v in FLAVOUR_NAMES.items()}


def charge2(pid: int) -> float:
    """Squared electric charge e_q² of quark ``pid`` (PDG id, sign ignored)."""
    try:
        return QUARK_CHARGE2[abs(pid)]
    except KeyError:
        raise ValueError(f"charge2: {pid} is not a quark PDG id (±1..±6)") from None
