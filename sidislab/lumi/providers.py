"""Choosing a luminosity provider from the configuration.

``luminosity.provider`` in the configuration (:mod:`sidislab.config`) names one of:

* ``native`` — sidislab's own TMD engine (:mod:`sidislab.lumi.native`), the default;
* ``apfel`` — APFEL++ through ``apfelpy`` and ``lhapdf`` (:mod:`sidislab.lumi.apfel`),
  where those are installed;
* ``analytic`` — closed-form toy luminosities (:mod:`sidislab.lumi.analytic`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sidislab.config import Config
from sidislab.errors import SidislabError
from sidislab.lumi.base import LuminosityProvider


def make_provider(cfg: Config, *, paths: Sequence[str | Path] | None = None) -> LuminosityProvider:
    """The provider named by ``cfg.luminosity.provider``, built from the configuration.

    ``paths`` are extra folders searched for LHAPDF-format sets. An error raised while
    building it (an order or scale the provider lacks, a missing set) names the
    configuration file.
    """
    try:
        return _make_provider(cfg, paths)
    except (SidislabError, ValueError) as exc:
        if cfg.source in str(exc) or cfg.source.startswith("<"):  # named, or no file
            raise
        try:
            named = type(exc)(f"{cfg.source}: {exc}")
        except TypeError:  # an exception type with other arguments: keep it as it is
            raise exc from None
        raise named from exc


def _make_provider(cfg: Config, paths: Sequence[str | Path] | None) -> LuminosityProvider:
    name = cfg.luminosity.provider
    if name == "native":
        from sidislab.lumi.native import NativeProvider

        return NativeProvider.from_config(cfg, paths=paths)
    if name == "apfel":
        from sidislab.lumi.apfel import ApfelProvider

        return ApfelProvider.from_config(cfg, lhapdf_paths=tuple(str(p) for p in paths or ()))
    if name == "analytic":
        from sidislab.lumi.analytic import AnalyticProvider

        return AnalyticProvider.toy()
    raise ValueError(
        f"{cfg.source}: key 'luminosity.provider': {name!r} is not allowed "
        "(allowed: native, apfel, analytic)"
    )
