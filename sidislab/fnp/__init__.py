"""Non-perturbative TMD functions (fNP): the MAP22 parametrisation as torch modules.

``physics.md`` §5, arXiv:2206.07598. :func:`load_fnp` builds an :class:`FNP` from a YAML
config in ``data/fnp/``; :mod:`.map22` holds the formulas, :mod:`.flavours` the flavour
groups, :mod:`.config` the YAML schema and its validation, :mod:`.gaussians` the fused
quadrature sum with its gradient that a fit epoch uses (:meth:`FNP.integrate`).
"""

from __future__ import annotations

from sidislab.fnp.config import FNPConfig, ParameterSet, load_config, parse_config, save_config
from sidislab.fnp.flavours import DEFAULT_FLAVOURS, FlavourGroups
from sidislab.fnp.map22 import (
    FF_PARAMETER_NAMES,
    PDF_PARAMETER_NAMES,
    evolution_factor,
    map22_ff,
    map22_pdf,
)
from sidislab.fnp.model import FNP, load_fnp, save_fnp

__all__ = [
    "DEFAULT_FLAVOURS",
    "FF_PARAMETER_NAMES",
    "FNP",
    "PDF_PARAMETER_NAMES",
    "FNPConfig",
    "FlavourGroups",
    "ParameterSet",
    "evolution_factor",
    "load_config",
    "load_fnp",
    "map22_ff",
    "map22_pdf",
    "parse_config",
    "save_config",
    "save_fnp",
]
