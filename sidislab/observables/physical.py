r"""The SIDIS cross section of TMD factorisation in physical units, and how sidislab's
historical normalisation (:mod:`sidislab.observables.xsec`) relates to it.

Derivation (one-photon exchange, unpolarised, leading power; physics.md §1.2–1.3)
-------------------------------------------------------------------------------------
Bacchetta et al., JHEP 02 (2007) 093, hep-ph/0611265, eq. (2.7), integrated over the
lepton azimuth ψ and the hadron azimuth φ_h, with γ = 2Mx/Q → 0 (so that
y²/(2(1 − ε)) = Y₊/2, Y₊ = 1 + (1 − y)²) and F_UU,L dropped (power suppressed)::

    dσ/dx dy dz dPhT² = 2π² α² /(x y Q²) · Y₊ F_UU,T
    dσ/dx dQ² dz dPhT² = 2π² α² /(x Q⁴) · Y₊ F_UU,T          (dy = dQ²/(x s), x y s = Q²)

and, in b space (MAP22, arXiv:2206.07598, its SIDIS structure function F_UU,T; PV17,
arXiv:1703.10157 — equation numbers not re-checked here: the papers could not be read on
this machine; physics.md §1.2 writes them out)::

    F_UU,T = x H(Q; μ) Σ_q e_q² ∫₀^∞ db b/(2π) J₀(b qT) f̃_q(x, b; μ, Q²) D̃_{h/q}(z, b; μ, Q²),
    qT = |PhT|/z,  z² ∫ d²k_T D = d(z)  ⇒  D̃ → d(z)/z² at lowest order.

With sidislab's luminosity L(b) = Y₊ α² H z² Σ_q e_q² f̃_q D̃_q / Q³ (physics.md §2.2,
GeV⁻³; evaluated at b*, times fNP at b: F(b) = Σ_q fNP_q DNP_q L_q) this is::

    dσ/dx dQ² dz dPhT²  = π /(Q z²)  ∫₀^∞ db b J₀(b qT) F(b)             [GeV⁻⁶]
    dσ/dx dQ² dz d|PhT| = 2|PhT| × (the above)
                        = 2π |PhT| /(Q z²) ∫₀^∞ db b J₀(b qT) F(b)      [GeV⁻⁵]

**This module's choice:** d|PhT| (what HERMES publishes); per PhT² (COMPASS) divide by
2|PhT| — :func:`from_legacy` does both.

Relation to the historical normalisation. :class:`~sidislab.observables.xsec.CrossSection`
computes σ_legacy = ConvFact · 4π · qT/(2Qz) · ∫db b J₀(b qT) F(b) (ConvFact =
0.3893793721·10⁹ pb GeV²). Since 4π qT/(2Qz) = 2π|PhT|/(Q z²),

    σ_legacy = ConvFact × dσ/dx dQ² dz d|PhT|        exactly, in pb GeV⁻³,

i.e. the old number *is* the physical cross section differential in |PhT| (and in x, Q²,
z), expressed in pb GeV⁻³ (its docstring's "not a fully differential cross section" only
means "not per PhT²"); per PhT²: σ_legacy/(2|PhT|) pb GeV⁻⁴; in GeV units divide by ConvFact.
The multiplicity at a point is M = (σ_legacy/ConvFact)/(dσ_DIS/dx dQ²) with
:func:`sidislab.observables.dis.dsigma_dis` in GeV⁻⁴ (per GeV of |PhT|).
"""

from __future__ import annotations

from torch import Tensor

from sidislab.constants import CONV_FACT

__all__ = ["PER", "UNITS", "from_legacy", "multiplicity_at_point"]

PER = ("PhT", "PhT2")
UNITS = ("pb", "GeV")


def from_legacy(sigma_legacy: Tensor, PhT: Tensor, *, per: str = "PhT", unit: str = "pb") -> Tensor:
    """The physical dσ/dx dQ² dz d|PhT| (``per="PhT"``) or dσ/dx dQ² dz dPhT²
    (``per="PhT2"``) from σ_legacy (pb GeV⁻³), in pb (GeV⁻³ or GeV⁻⁴) or GeV (GeV⁻⁵ or
    GeV⁻⁶) units (module docstring)."""
    if per not in PER:
        raise ValueError(f"per = {per!r} (allowed: {', '.join(PER)})")
    if unit not in UNITS:
        raise ValueError(f"unit = {unit!r} (allowed: {', '.join(UNITS)})")
    out = sigma_legacy if per == "PhT" else sigma_legacy / (2.0 * PhT)
    return out if unit == "pb" else out / CONV_FACT


def multiplicity_at_point(sigma_legacy: Tensor, dsigma_dis_gev: Tensor) -> Tensor:
    """dM/d|PhT| = (σ_legacy/ConvFact)/(dσ_DIS/dx dQ²) in GeV⁻¹, at one (x, Q, z, PhT)."""
    return sigma_legacy / CONV_FACT / dsigma_dis_gev
