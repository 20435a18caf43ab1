r"""MAP22's normalisation of SIDIS predictions — an explicit option, off by default.

What MAP22 does (arXiv:2206.07598, the SIDIS part of its "theoretical framework" section;
the equation number is not checked here: the arXiv text could not be read on this
machine): each SIDIS bin's TMD prediction is multiplied by a factor that does not depend
on the fNP parameters,

    ω = ∫_bin dσ^{coll}_{O(α_s^n)}/dx dQ dz  /  ∫_bin dσ^{W, b→b_min}/dx dQ dz,

the ratio of the collinear SIDIS cross section at fixed order (the |PhT|-integrated,
O(α_s) for NNLL, O(α_s²) for N³LL) to the |PhT| integral of the TMD (W-term) formula with
the TMDs at b = b_min (i.e. collinear matched, fNP = 1), both integrated over the bin's
x, Q, z. NangaParbat: ``FastInterface::NormalisationFactorsSIDIS`` (``CrossSectionFO`` /
``CrossSectionAsy``), written into the tables as ``prefactor2`` and applied in
``ConvolutionTable::GetPredictions`` (``_prefact * _prefact2 * …``). At NLL the factor is 1
by construction (``if (PerturbativeOrder == 0) NormFacts[i] = 1``).

Default: **off** (``normalisation="none"``). Reasons: (i) it is not part of TMD
factorisation but a phenomenological correction for the known mismatch between the
W-term's |PhT| integral and the collinear cross section at HERMES/COMPASS energies;
(ii) it needs the collinear SIDIS coefficient functions at O(α_s) — a double convolution
in x and z — which sidislab does not implement yet; (iii) at NLL it is exactly 1, so
turning it on changes nothing there. ``"map22"`` is accepted: at NLL it returns ω = 1;
at NNLL and above it raises :class:`~sidislab.errors.NotYetImplementedOrder` naming what is
missing, rather than silently returning 1.
"""

from __future__ import annotations

import numpy as np

from sidislab.errors import NotYetImplementedOrder

__all__ = ["NORMALISATIONS", "normalisation_factors"]

NORMALISATIONS = ("none", "map22")


def normalisation_factors(name: str, n_groups: int, collinear_order: int) -> np.ndarray | None:
    """The factors ω per bin for option ``name`` (None when ``none``)."""
    if name not in NORMALISATIONS:
        raise ValueError(
            f"normalisation = {name!r} (allowed: {', '.join(NORMALISATIONS)}; see "
            "sidislab.observables.normalisation)"
        )
    if name == "none":
        return None
    if collinear_order == 0:
        return np.ones(n_groups)
    raise NotYetImplementedOrder(
        "normalisation 'map22' at NNLL or above needs the collinear SIDIS cross section at "
        f"O(α_s^{collinear_order}) (NangaParbat FastInterface::NormalisationFactorsSIDIS), "
        "which sidislab does not implement yet; use normalisation='none'"
    )
