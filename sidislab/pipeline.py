"""From a configuration to a differentiable cross section: config → kinematics →
luminosity (provider + cache) → fNP → :class:`~sidislab.observables.xsec.CrossSection`.

One function per step, each usable alone; :func:`build_cross_section` chains them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from sidislab.config import Config
from sidislab.errors import KinematicsError
from sidislab.kinematics import Kinematics
from sidislab.lumi.base import LuminosityProvider
from sidislab.lumi.cache import LuminosityCache, LuminosityTable
from sidislab.numerics import bgrid
from sidislab.observables.xsec import CrossSection

log = logging.getLogger(__name__)

CACHE_ENV = "SIDISLAB_CACHE_DIR"


def cache_dir(cfg: Config) -> Path:
    """Where luminosity caches live: ``$SIDISLAB_CACHE_DIR`` if set, else the config's
    ``luminosity.cache_dir`` (``~`` expanded; relative paths are relative to the current
    folder)."""
    return Path(os.environ.get(CACHE_ENV) or cfg.luminosity.cache_dir).expanduser()


def select_points(kin: Kinematics, use_cut: bool = True) -> Kinematics:
    """The points to compute: all, or those inside the TMD region (qT ≤ qToQcut·Q).

    Raises :class:`KinematicsError` when nothing is left, naming the file and the cut.
    """
    if len(kin) == 0:
        raise KinematicsError(f"{kin.source}: no kinematic points")
    if not use_cut:
        return kin
    inside = kin.tmd_region()
    if len(inside) == 0:
        raise KinematicsError(
            f"{kin.source}: all {len(kin)} points have qT > qToQcut·Q with qToQcut = "
            f"{kin.qToQcut:g} (largest qT/Q = {float((kin.qT / kin.Q).max()):.3g}); "
            "raise qToQcut or use all points"
        )
    return inside


def luminosity_table(
    cfg: Config,
    kin: Kinematics,
    *,
    provider: LuminosityProvider | None = None,
    paths: Sequence[str | Path] | None = None,
    progress: bool = True,
) -> LuminosityTable:
    """The cached per-flavour luminosity for ``kin`` (built on a miss)."""
    if provider is None:
        from sidislab.lumi.providers import make_provider

        provider = make_provider(cfg, paths=paths)
    return LuminosityCache(cache_dir(cfg)).get_or_build(provider, kin, progress=progress)


def build_cross_section(
    cfg: Config,
    kin: Kinematics,
    fnp,
    *,
    use_cut: bool = True,
    provider: LuminosityProvider | None = None,
    paths: Sequence[str | Path] | None = None,
    progress: bool = True,
) -> CrossSection:
    """σ for the selected points of ``kin`` with the configured integrator and luminosity."""
    points = select_points(kin, use_cut)
    table = luminosity_table(cfg, points, provider=provider, paths=paths, progress=progress)
    fnp = fnp.to(dtype=cfg.torch_dtype, device=cfg.torch_device)
    return CrossSection(
        points,
        table,
        fnp,
        integrator=cfg.integrator.method,
        grid=bgrid.from_config(cfg.bgrid),
        tol=cfg.integrator.tol,
        dtype=cfg.torch_dtype,
        device=cfg.torch_device,
    )
