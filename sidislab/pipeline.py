"""From a configuration to a differentiable cross section: config → kinematics →
luminosity (provider + cache) → fNP → :class:`~sidislab.observables.xsec.CrossSection`.

One function per step, each usable alone; :func:`build_cross_section` chains them.
:func:`build_multiplicities` does the same for measured bins: bin-integration nodes →
luminosity tables (one per target and hadron charge) → DIS denominator →
:class:`~sidislab.observables.multiplicity.Multiplicity`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from sidislab.config import Config, check_memory, memory_limit_bytes, method_inert_keys
from sidislab.errors import KinematicsError
from sidislab.kinematics import Kinematics
from sidislab.lumi.base import LuminosityProvider
from sidislab.lumi.cache import DEFAULT_CACHE_GRID, LuminosityCache, LuminosityTable
from sidislab.numerics import bgrid
from sidislab.observables.xsec import CrossSection, check_integrand_size

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
    """The cached per-flavour luminosity for ``kin`` (built on a miss).

    Refuses (:class:`~sidislab.errors.ResourceLimitError`) a table larger than the
    configuration's ``memory_limit`` before building it: L and its spline coefficients,
    2 × N × 10 flavours × Nb float64.
    """
    nb = DEFAULT_CACHE_GRID.Nb
    check_memory(
        2.0 * len(kin) * 10 * nb * 8,
        f"the luminosity table of {kin.source} ({len(kin)} points × 10 flavours × {nb} b)",
        "the number of kinematic points (split the kinematics file)",
        limit=memory_limit_bytes(cfg),
        source=cfg.source,
    )
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
    """σ for the selected points of ``kin`` with the configured integrator and luminosity.

    Every integrator key takes effect (``integrator.h``/``n_nodes`` reach Ogata); keys the
    chosen method does not use are reported (:func:`sidislab.config.method_inert_keys`);
    the device must exist and the sizes fit ``memory_limit`` before anything is built.
    """
    device = cfg.torch_device  # a device that does not exist here: ConfigError, now
    for key, why in method_inert_keys(cfg):
        log.warning("%s: key '%s' has no effect: %s", cfg.source, key, why)
    points = select_points(kin, use_cut)
    ogata = cfg.integrator.method == "ogata"
    grid = bgrid.from_config(cfg.bgrid)
    limit = memory_limit_bytes(cfg)
    check_integrand_size(
        len(points),
        10,
        integrator=cfg.integrator.method,
        grid=grid,
        h=cfg.integrator.h if ogata else None,
        n_nodes=cfg.integrator.n_nodes if ogata else None,
        limit=limit,
        source=cfg.source,
    )
    table = luminosity_table(cfg, points, provider=provider, paths=paths, progress=progress)
    fnp = fnp.to(dtype=cfg.torch_dtype, device=device)
    return CrossSection(
        points,
        table,
        fnp,
        integrator=cfg.integrator.method,
        grid=grid,
        tol=cfg.integrator.tol,
        h=cfg.integrator.h if ogata else None,
        n_nodes=cfg.integrator.n_nodes if ogata else None,
        memory_limit=limit,
        adaptive=cfg.integrator.adaptive,
        dtype=cfg.torch_dtype,
        device=device,
    )


def q_breaks(provider: LuminosityProvider) -> tuple[float, ...]:
    """Scales where L_q and dσ_DIS are not smooth in Q: the provider's quark thresholds
    (n_f of the hard scale) and its sets' Q_min (frozen below)."""
    qs = [float(m) for m in getattr(provider, "thresholds", ()) if m > 0]
    for s in (getattr(provider, "pdf", None), getattr(provider, "ff", None)):
        if s is not None and getattr(s, "qmin", 0) > 0:
            qs.append(float(s.qmin))
    return tuple(sorted(set(qs)))


def build_multiplicities(
    cfg: Config,
    bins,
    fnp,
    *,
    rule=None,
    normalisation: str = "none",
    pht_mode: str = "bin",
    ff_hadron: str = "PI",
    provider: LuminosityProvider | None = None,
    paths: Sequence[str | Path] | None = None,
    progress: bool = True,
):
    """Bin-averaged SIDIS multiplicities of measured points, differentiable in ``fnp``.

    ``bins``: :class:`sidislab.measurements.bins.MeasuredBins`. The bins' quadrature
    nodes (:func:`sidislab.observables.binning.bin_nodes`, node counts ``rule``) are
    kinematic points for the luminosity cache: one table per distinct (target
    isoscalarity, hadron charge) of the bins (isospin and charge conjugation act on the
    flavours of the PDF or FF alone, so each pair needs its own L_q;
    :mod:`sidislab.observables.targets`). The DIS denominator uses the provider's PDF set,
    α_s, α_em and quark thresholds at the collinear order that matches
    ``cfg.PerturbativeOrder`` (:mod:`sidislab.observables.dis`). ``normalisation``:
    ``none`` (default) or ``map22`` (:mod:`sidislab.observables.normalisation`);
    ``pht_mode``: ``bin`` (PhT-bin average) or ``centre`` (value at the PhT centre);
    ``ff_hadron``: the hadron the configured FF set describes (``PI``): points of other
    hadrons raise :class:`~sidislab.observables.targets.MissingFragmentationSet`.

    Returns a :class:`~sidislab.observables.multiplicity.Multiplicity` (``m()`` → [N]).
    """
    import numpy as np
    import torch

    from sidislab.observables import binning, dis, multiplicity
    from sidislab.observables import normalisation as norm
    from sidislab.observables.targets import check_hadrons

    if len(bins) == 0:
        raise KinematicsError("build_multiplicities: no measured points")
    check_hadrons(bins.hadron, bins.dataset, available=ff_hadron, ffset=str(cfg.ffset.name))
    for i, obs in enumerate(bins.observable):  # before any luminosity is built
        multiplicity.observable_power(obs, bins.dataset[i], i)
    if provider is None:
        from sidislab.lumi.providers import make_provider

        provider = make_provider(cfg, paths=paths)
    for attr in ("pdf", "alphas", "alphaem", "thresholds"):
        if not hasattr(provider, attr):
            raise ValueError(
                f"build_multiplicities: the {provider.name!r} luminosity provider has no "
                f"'{attr}' (the DIS denominator needs the provider's PDF set and couplings; "
                "use the native provider)"
            )
    rule = rule or binning.BinRule()
    if not rule.q_breaks:
        import dataclasses

        rule = dataclasses.replace(rule, q_breaks=q_breaks(provider))
    nodes = binning.bin_nodes(bins, rule)
    grid = bgrid.from_config(cfg.bgrid)
    b = grid.nodes(torch.float64)
    x_k, Q_k, z_k = nodes.node_x(), nodes.node_Q(), nodes.z
    tau_k, ch_k = nodes.tau[nodes.node_group], nodes.charge[nodes.node_group]
    Vs_k = nodes.Vs[nodes.node_group]
    check_memory(  # L at the bin nodes, before it is allocated
        3.0 * nodes.n_nodes * len(provider.flavours) * grid.Nb * 8,
        f"the luminosity at {nodes.n_nodes} bin nodes × {grid.Nb} b",
        "bgrid.Nb (or the bin rule's node counts)",
        limit=memory_limit_bytes(cfg),
        source=cfg.source,
    )
    L = torch.empty((nodes.n_nodes, len(provider.flavours), grid.Nb), dtype=torch.float64)
    pairs = np.unique(np.stack([tau_k, ch_k], 1), axis=0)
    for tau, charge in pairs:  # one luminosity table per (target, charge): ≤ a few
        sel = np.nonzero((tau_k == tau) & (ch_k == charge))[0]

        def t(a, sel=sel):
            return torch.as_tensor(a[sel], dtype=torch.float64)

        kin = Kinematics(
            x=t(x_k),
            Q2=t(Q_k**2),
            z=t(z_k),
            PhT=torch.zeros(len(sel), dtype=torch.float64),
            Vs=t(Vs_k),
            y=t(Q_k**2 / (x_k * Vs_k**2)),
            qToQcut=cfg.qToQcut,
            target_isoscalarity=float(tau),
            charge=int(charge),
            hadron=ff_hadron,
            source=f"bin nodes (target_isoscalarity {tau:g}, charge {int(charge):+d})",
        )
        table = luminosity_table(cfg, kin, provider=provider, progress=progress)
        L[torch.as_tensor(sel)] = table.interpolate(b, dtype=torch.float64)
    order = dis.dis_order_for(cfg.PerturbativeOrder)
    g = nodes.xq_group
    dsig = dis.dsigma_dis(
        provider.pdf,
        provider.alphas,
        provider.alphaem,
        nodes.x,
        nodes.Q,
        nodes.Vs[g],
        order=order,
        thresholds=provider.thresholds,
        target_isoscalarity=nodes.tau[g],
    )
    den = np.bincount(g, weights=nodes.w_xq * dsig, minlength=nodes.n_groups)
    omega = norm.normalisation_factors(normalisation, nodes.n_groups, order)
    fnp = fnp.to(dtype=cfg.torch_dtype, device=cfg.torch_device)
    return multiplicity.Multiplicity(
        bins,
        nodes,
        L,
        tuple(provider.flavours),
        den,
        fnp,
        grid=grid,
        normalisation=omega,
        pht_mode=pht_mode,
        dtype=cfg.torch_dtype,
        device=cfg.torch_device,
    )
