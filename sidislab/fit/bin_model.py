r"""A differentiable stand-in theory at measured bins: the existing
:class:`~sidislab.observables.xsec.CrossSection` evaluated at the bins' centre values
(⟨x⟩, ⟨Q⟩², ⟨z⟩, |PhT|), with a luminosity from the analytic Gaussian provider.

It is not a multiplicity (no bin averaging, no DIS denominator, arbitrary normalisation):
it serves closure tests of the correlated fit and of the replica machinery on real
kinematics, and a top-level factory whose inputs are plain (picklable) values so that a
replica can build it on a worker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from sidislab.fnp import load_fnp
from sidislab.kinematics import from_mapping
from sidislab.lumi import AnalyticProvider, LuminosityCache
from sidislab.measurements.bins import MeasuredBins
from sidislab.observables.xsec import CrossSection

__all__ = ["bin_centre_cross_section", "bin_centres"]


def bin_centres(bins: MeasuredBins) -> dict[str, list]:
    """The plain kinematics of the bins' centres: x, Q2, z, PhT, Vs per point, and the
    (common) target, hadron and charge of the first point."""
    return {
        "x": bins.x.tolist(),
        "Q2": (bins.Q**2).tolist(),
        "z": bins.z.tolist(),
        "PhT": bins.PhT.tolist(),
        "Vs": bins.Vs.tolist(),
        "target_isoscalarity": float(bins.target_isoscalarity[0]),
        "hadron": bins.hadron[0],
        "charge": int(bins.charge[0]),
    }


def bin_centre_cross_section(
    centres: Mapping[str, object],
    fnp_file: str | Path,
    free: Sequence[str],
    cache_dir: str | Path,
    *,
    c: float = 1.0,
    a: float = 0.5,
) -> CrossSection:
    """σ at the bin centres (:func:`bin_centres`) with the fNP of ``fnp_file`` (only
    ``free`` parameters free) and the analytic luminosity c·e^{−a b²} per flavour."""
    doc = {
        "header": {
            "Vs": list(centres["Vs"]),
            "target_isoscalarity": centres["target_isoscalarity"],
            "hadron": centres["hadron"],
            "charge": centres["charge"],
        },
        "data": {k: list(centres[k]) for k in ("x", "Q2", "z", "PhT")},
    }
    kin = from_mapping(doc, qToQcut=10.0, source="<measured bins>")
    table = LuminosityCache(Path(cache_dir)).get_or_build(
        AnalyticProvider.gaussian(c, a), kin, progress=False
    )
    fnp = load_fnp(fnp_file)
    fnp.freeze("*")
    fnp.unfreeze(*free)
    return CrossSection(kin, table, fnp)
