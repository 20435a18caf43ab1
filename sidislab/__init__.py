"""sidislab: a workbench for TMD physics in semi-inclusive DIS.

The package follows the data, in layers that only import downwards (enforced by
``tests/test_layers.py``)::

    cli                                     the ``sidislab`` command
    workbench                               notebooks and reports
    fit                                     losses, optimisers, covariance
    pipeline                                config → kinematics → luminosity → σ
    lumi, observables                       L_q(b) providers + cache; σ and what is measured
    tmd, measurements                       b*, matching, Sudakov, hard factor; data readers, cuts
    collinear, fnp, kinematics, config      LHAPDF grids and couplings; fNP; inputs
    numerics, compute, yamlio, resources    J0, b-grids, Hankel transforms; where work runs;
                                            YAML 1.2 reading; shipped data by name
    constants, errors, io, _version         shared leaves

The handful of entry points a notebook needs are importable from here
(``from sidislab import Config, load_kinematics, load_fnp, build_cross_section``); they are
loaded on first use so that ``import sidislab`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from sidislab._version import __version__

_ENTRY_POINTS = {
    "Config": "sidislab.config",
    "load_config": "sidislab.config",
    "load_kinematics": "sidislab.kinematics",
    "Kinematics": "sidislab.kinematics",
    "load_fnp": "sidislab.fnp",
    "build_cross_section": "sidislab.pipeline",
    "CrossSection": "sidislab.observables.xsec",
    "LuminosityCache": "sidislab.lumi.cache",
}

__all__ = ["__version__", *_ENTRY_POINTS]


def __getattr__(name: str) -> Any:
    module = _ENTRY_POINTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sidislab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_ENTRY_POINTS))
