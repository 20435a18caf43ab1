r"""The differentiable SIDIS cross section for a batch of kinematic points.

    σ(x, z, Q, qT) = ConvFact · 4π · qT/(2 Q z) · ∫₀^∞ db b J0(qT b) Σ_q fNP_q(x, b; ζ) DNP_q(z, b; ζ) L_q(b)

with ζ = Q², ConvFact = 0.3893793721·10⁹ pb GeV² (physics.md §1; the NangaParbat-style
normalisation of the old reference code, whose ``sigma`` values this reproduces). Units follow
from the factors: L_q is in GeV⁻³ (α_em²/Q³), ∫ db b … adds GeV⁻², ConvFact pb GeV², so σ
is in pb GeV⁻³ — the reference's convention, not a fully differential cross section.

The luminosity L_q (per flavour, [N, F, Nb]) comes from a table that interpolates it to
any b-nodes (:class:`sidislab.lumi.cache.LuminosityTable`); it is evaluated once at the
integrator's nodes when the module is built, so a forward pass is: fNP at the nodes →
product with L → one weighted sum. Flavour-blind fNP: the flavour sum of L is taken once
(Σ_q fNP DNP L_q = fNP DNP Σ_q L_q). Flavour-dependent: each L_q gets its own fNP_q DNP_q.
An fNP module with ``integrate`` (:meth:`sidislab.fnp.FNP.integrate`) takes the weighted sum
over the nodes itself, fused with its gradient (the fit's epoch, ``forward``); the error
estimates (``with_error``) and adaptive grids use the integrand at the nodes.
"""

from __future__ import annotations

import math
from typing import Protocol

import torch
from torch import Tensor, nn

from sidislab.config import check_memory
from sidislab.constants import B0, CONV_FACT
from sidislab.errors import ConfigError, KinematicsError
from sidislab.kinematics import Kinematics
from sidislab.numerics.adaptive import AdaptiveHankel, AdaptiveOptions
from sidislab.numerics.bgrid import BGrid, named_grid
from sidislab.numerics.integrate import GridHankel, OgataHankel, Transform, warn_flagged

INTEGRATORS = ("ogata", "trapezoid", "simpson")


class LuminosityLike(Protocol):
    """What the cross section needs of a luminosity table."""

    flavours: tuple[int, ...]

    def interpolate(
        self, b: Tensor, dtype: torch.dtype = ..., device: torch.device | str | None = ...
    ) -> Tensor: ...


def _check_nodes(
    n_points: int,
    n_flavours: int,
    n_nodes: float,
    key: str,
    limit: float | None,
    source: str = "",
) -> None:
    rows = n_flavours + 4  # L at the nodes [N, F, n], fNP, product, kernel, nodes
    what = f"σ's integrand for {n_points} points × {n_nodes:.3g} b-nodes × {n_flavours} flavours"
    check_memory(n_points * n_nodes * rows * 8.0, what, key, limit=limit, source=source)


def check_integrand_size(
    n_points: int,
    n_flavours: int,
    *,
    integrator: str = "ogata",
    grid: BGrid | str | None = None,
    h: float | None = None,
    n_nodes: int | None = None,
    limit: float | None = None,
    source: str = "",
) -> None:
    """Refuse, before anything is allocated, an integrand larger than ``limit`` bytes
    (:func:`sidislab.config.check_memory`), naming the key that drives its size:
    ``bgrid.Nb`` for the grid rules, ``integrator.n_nodes`` or ``integrator.h`` for Ogata
    (whose automatic node count is checked once the nodes are known). ``grid=None`` with a
    grid rule means an adaptive grid (checked once built)."""
    if integrator == "ogata" and n_nodes is not None:
        _check_nodes(n_points, n_flavours, 3 * n_nodes, "integrator.n_nodes", limit, source)
    elif integrator == "ogata" and h is not None:  # ~4/h nodes until h ξ_k ≥ 4; h/2 doubles
        n = 3 * min(4.0 / h + 1, 20000)
        _check_nodes(n_points, n_flavours, n, "integrator.h", limit, source)
    elif integrator != "ogata" and grid is not None:
        g = named_grid(grid) if isinstance(grid, str) else grid
        _check_nodes(n_points, n_flavours, g.Nb, "bgrid.Nb", limit, source)


def prefactor(kin: Kinematics) -> Tensor:
    """ConvFact · 4π · qT/(2 Q z) per point (physics.md §1)."""
    return CONV_FACT * 4.0 * math.pi * kin.qT / (2.0 * kin.Q * kin.z)


class CrossSection(nn.Module):
    """σ for N points as a function of the parameters of an fNP module.

    Args:
        kin: the kinematic points (moved to ``device``/``dtype``).
        lumi: per-flavour luminosity table for exactly these points (same order).
        fnp: an fNP module (:class:`sidislab.fnp.FNP`): ``fnp(x, z, b, zeta, flavours)``
            gives fNP_q·DNP_q as [N, 1 or F, Nb].
        integrator: ``ogata`` (default), ``trapezoid`` or ``simpson``.
        grid: b-grid for the grid rules (default: the package default grid).
        h, n_nodes: Ogata step and node count (config ``integrator.h``/``n_nodes``; None:
            chosen from ``tol`` and qT); an error with the grid rules.
        memory_limit: bytes the nodes × luminosity tensors may take (default
            :func:`sidislab.config.memory_limit_bytes`); above it
            :class:`~sidislab.errors.ResourceLimitError` names the key to reduce.
        tol, b_scale, b_max: Ogata resolution (see :class:`OgataHankel`). By default
            b_scale = min(0.1, b0/(2Q)) GeV⁻¹ per point: L(b) changes shape where b*
            leaves b_min = b0/Q, so the nodes must resolve that region at high Q.
        adaptive: trapezoid/Simpson on a grid chosen per point
            (:class:`sidislab.numerics.adaptive.AdaptiveHankel`, nodes [N, n]) from qT, b0/Q
            and the integrand at the fNP parameters of construction, refined until the
            error estimate is below ``adaptive_options.tol`` (default 1e-4) relative;
            ``grid`` is then not used.

    ``forward()`` returns σ [N]; :meth:`with_error` returns σ and the integrator's error
    estimate (grid halving or h vs h/2).
    """

    def __init__(
        self,
        kin: Kinematics,
        lumi: LuminosityLike,
        fnp: nn.Module,
        *,
        integrator: str = "ogata",
        grid: BGrid | str | None = None,
        tol: float = 1e-8,
        b_scale: float | None = None,
        b_max: float = 40.0,
        h: float | None = None,
        n_nodes: int | None = None,
        memory_limit: float | None = None,
        adaptive: bool = False,
        adaptive_options: AdaptiveOptions | None = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        if adaptive and integrator == "ogata":
            raise ValueError("adaptive b-grids apply to the trapezoid and simpson integrators")
        if integrator not in INTEGRATORS:
            raise ValueError(
                f"unknown integrator {integrator!r} (allowed: {', '.join(INTEGRATORS)})"
            )
        if len(kin) == 0:
            raise KinematicsError(f"{kin.source}: no kinematic points to compute")
        if integrator != "ogata" and (h is not None or n_nodes is not None):
            raise ConfigError(
                f"integrator.h/n_nodes set Ogata's nodes; integrator {integrator!r} uses the "
                "bgrid (give bgrid.Nb instead)"
            )
        check_integrand_size(
            len(kin),
            len(tuple(lumi.flavours)),
            integrator=integrator,
            grid=None if adaptive else grid,
            h=h,
            n_nodes=n_nodes,
            limit=memory_limit,
        )
        device = torch.device(device) if device is not None else kin.device
        self.kin = kin.to(device=device, dtype=dtype)
        self.fnp = fnp
        self.integrator = integrator
        self.flavours = tuple(lumi.flavours)
        self.flavour_blind = bool(getattr(fnp, "flavour_blind", True))
        self.register_buffer("prefactor", prefactor(self.kin))
        self.register_buffer("zeta", self.kin.Q2)
        qT = self.kin.qT
        if integrator == "ogata":
            if b_scale is None:
                b_scale = torch.clamp(B0 / (2.0 * self.kin.Q), max=0.1)
            self.transform = OgataHankel(
                qT,
                tol=tol,
                b_scale=b_scale,
                b_max=b_max,
                h=h,
                n_nodes=n_nodes,
                dtype=dtype,
                device=device,
            )
            nodes, half = self.transform.nodes, self.transform.half_step_nodes
        elif adaptive:
            self.transform = AdaptiveHankel(
                qT,
                lambda b: self.integrand(b, self._lumi_at(lumi, b, dtype, device)),
                rule=integrator,
                b_scale=B0 / self.kin.Q,
                options=adaptive_options,
                dtype=dtype,
                device=device,
            )
            nodes, half = self.transform.nodes, None
        else:
            g = named_grid(grid) if isinstance(grid, str) else (grid or named_grid("default"))
            self.transform = GridHankel(qT, g, integrator, dtype=dtype, device=device)
            nodes, half = self.transform.b.expand(len(self.kin), -1), None
        n_total = nodes.shape[-1] + (half.shape[-1] if half is not None else 0)
        key = "integrator.tol/h/n_nodes" if integrator == "ogata" else "bgrid.Nb"
        _check_nodes(len(kin), len(self.flavours), n_total, key, memory_limit)
        self.register_buffer("nodes", nodes)
        self.register_buffer("L", self._lumi_at(lumi, nodes, dtype, device))
        self._lumi_source = lumi
        self._half_nodes = half
        self._L_half: Tensor | None = None
        self._L_quarter: Tensor | None = None

    def _lumi_at(self, lumi: LuminosityLike, b: Tensor, dtype, device) -> Tensor:
        L = lumi.interpolate(b, dtype=dtype, device=device)
        if L.shape[0] != len(self.kin) or L.shape[1] != len(self.flavours):
            raise ValueError(
                f"luminosity table has shape {tuple(L.shape)}, expected "
                f"[{len(self.kin)}, {len(self.flavours)}, …] for these points"
            )
        if not torch.isfinite(L).all():
            i = int(torch.nonzero(~torch.isfinite(L))[0, 0])
            raise ValueError(f"{self.kin.source}: point {i}: luminosity is not finite")
        # flavour-blind: Σ_q L_q once, keep a flavour axis of 1
        return L.sum(1, keepdim=True) if self.flavour_blind else L

    def integrand(self, b: Tensor, L: Tensor, points: slice = slice(None)) -> Tensor:
        """Σ_q fNP_q DNP_q L_q at nodes b [n_pts, n] of ``points`` → [n_pts, n]."""
        flavours = None if self.flavour_blind else self.flavours
        kin = self.kin
        args = (kin.x[points], kin.z[points], b, self.zeta[points])
        if hasattr(self.fnp, "contract"):  # per parameter set, no [N, F, Nb] product
            return self.fnp.contract(*args, L, flavours)
        return (self.fnp(*args, flavours) * L).sum(1)

    def _weights(self) -> Tensor:
        """The quadrature weights per point and node, [N, n]: I = Σ weights · F(nodes)."""
        if self.integrator == "ogata":
            return self.transform.weights
        return self.transform.kernel.expand(len(self.kin), -1)

    def _integrate(self, with_error: bool) -> Transform:
        if self.integrator == "ogata":
            main = self.transform.weights
            F = self.integrand(self.nodes, self.L)
            value = (main * F).sum(-1)
            if not with_error:
                return Transform(value, torch.zeros_like(value))
            if self._L_half is None:
                self._L_half = self._lumi_at(
                    self._lumi_source, self._half_nodes, self.L.dtype, self.L.device
                )
            with torch.no_grad():
                half = self.transform.sum(lambda b: self.integrand(b, self._L_half), half=True)
                if self._L_quarter is None:
                    self._L_quarter = self._lumi_at(
                        self._lumi_source,
                        self.transform.quarter_step_nodes,
                        self.L.dtype,
                        self.L.device,
                    )
                quarter = self.transform.sum(
                    lambda b: self.integrand(b, self._L_quarter), quarter=True
                )
            t = self.transform.estimate(F, value, half, quarter)
            warn_flagged(t, self.kin.qT, f"{self.kin.source}: Ogata quadrature")
            return t
        return self.transform(self.integrand(self.nodes, self.L), with_error=with_error)

    def forward(self, points: slice | None = None) -> Tensor:
        """σ for every point, shape [N]; or for the contiguous ``points`` only (a slice),
        so that a loss can be accumulated chunk by chunk with bounded memory.

        An fNP module with ``integrate`` (:meth:`sidislab.fnp.FNP.integrate`) evaluates
        the weighted sum over the nodes itself, fused with its gradient."""
        if hasattr(self.fnp, "integrate"):
            pts = slice(None) if points is None else points
            flavours = None if self.flavour_blind else self.flavours
            kin, weights = self.kin, self._weights()[pts]
            args = (kin.x[pts], kin.z[pts], self.nodes[pts], self.zeta[pts], self.L[pts])
            return self.prefactor[pts] * self.fnp.integrate(*args, weights, flavours)
        if points is None:
            return self.prefactor * self._integrate(with_error=False).value
        F = self.integrand(self.nodes[points], self.L[points], points)
        return self.prefactor[points] * (self._weights()[points] * F).sum(-1)

    def with_error(self) -> Transform:
        """σ and the integrator's error estimate, both [N]."""
        t = self._integrate(with_error=True)
        return Transform(self.prefactor * t.value, self.prefactor * t.error, t.flagged)
