r"""Targets and hadrons of measured points: which luminosity each point needs.

* Target: ``target_isoscalarity`` τ (1 proton, 0.5 deuteron per nucleon, 0 neutron, −1
  antiproton). The neutron TMD PDFs are the proton ones with u ↔ d, ū ↔ d̄ (isospin);
  NangaParbat ``FastInterface::ComputeTablesSIDIS`` (``isTMDPDFs``), physics.md §1.5.
* Hadron: the FF set is for the positive hadron h⁺; h⁻ by charge conjugation,
  D_q^{h−} = D_{q̄}^{h+} (π⁻ from the π⁺ set).

Why this is done by the provider and not on finished luminosities: L_q(b) =
c_q · f_q^target(x; b*) · D_q^h(z; b*) · S² … is a product *per flavour q*, and isospin
(f_u^n = f_d^p) and charge conjugation (D_u^{π−} = D_ū^{π+}) act on the flavour index of
*one* factor only: f_d^p D_u^{π+} is no proton/π⁺ luminosity. So a (τ, charge) pair needs
its own luminosity table; :mod:`sidislab.lumi.native` applies both maps at the flavour
level of its PDF and FF tables (the Kinematics' ``target_isoscalarity`` and ``charge``),
and the pipeline requests one table per distinct (τ, charge) of the measured bins.

Kaons (``KA``) and unidentified hadrons (``HD``: π + K + p, NangaParbat sums a second FF
set) need FF sets that sidislab does not ship: :func:`check_hadrons` raises
:class:`MissingFragmentationSet` naming the set.
"""

from __future__ import annotations

from collections.abc import Sequence

from sidislab.errors import SetError

__all__ = ["HADRON_SETS", "MissingFragmentationSet", "check_hadrons"]

HADRON_SETS = {
    "PI": "a π⁺ FF set (e.g. JAM20-SIDIS_FF_pion_nlo, MAPFF10NNLOPIp)",
    "KA": "a K⁺ FF set (e.g. JAM20-SIDIS_FF_kaon_nlo, MAPFF10NNLOKAp)",
    "HD": "π⁺ and K⁺ FF sets (unidentified hadrons = π + K; NangaParbat sums both)",
}
"""What each ``hadron`` qualifier of the data files needs."""


class MissingFragmentationSet(SetError, LookupError):
    """A measured point needs a fragmentation-function set that is not configured."""


def check_hadrons(
    hadrons: Sequence[str],
    datasets: Sequence[str],
    *,
    available: str = "PI",
    ffset: str = "?",
) -> None:
    """Raise :class:`MissingFragmentationSet` for the first point whose hadron is not the
    one the configured FF set describes (``available``, its ``hadron`` code)."""
    for i, h in enumerate(hadrons):
        if h != available:
            need = HADRON_SETS.get(h, f"an FF set for hadron {h!r}")
            raise MissingFragmentationSet(
                f"{datasets[i]}: point {i}: hadron {h!r} needs {need}; the configured FF "
                f"set {ffset!r} is for {available!r} only (select other data sets, or "
                "configure the missing set)"
            )
