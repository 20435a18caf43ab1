"""The MAP22 fNP as a ``torch.nn.Module``: parameters, free masks, flavours, evaluation.

:class:`FNP` holds the parameters of the MAP22 TMD PDF (11 per set), TMD FF (9 per set) and
the shared g2 (``physics.md`` §5, arXiv:2206.07598), flavour blind (one set each) or flavour
dependent (one set per flavour group, separately for PDF and FF; :mod:`.flavours`), and
evaluates the formulas of :mod:`.map22` batched over points, flavours and b-nodes.

Parameter vector
----------------
All parameters form one flat vector of physical values (as written in the paper and the
YAML, before the safety transforms of :mod:`.map22`), in the order of
:meth:`FNP.parameter_names`::

    g2, pdf[.<group>].N1 … pdf[.<group>].sigma3 (per PDF group), ff[.<group>].N3 …
    ff[.<group>].gamma2 (per FF group)

with the group part present only for flavour-dependent models, groups in config order.

Free masks
----------
Free parameters are the ``nn.Parameter`` ``free_values``; fixed ones are the buffer
``fixed_values``. A fixed parameter is therefore never seen by an optimiser: it has no
gradient and no optimiser step (momentum, weight decay, …) can move it. Changing the mask
(:meth:`FNP.set_free_mask`, :meth:`FNP.freeze`, :meth:`FNP.unfreeze`, or loading a state
dict with another mask) replaces ``free_values``: build optimisers after it.
"""

from __future__ import annotations

import fnmatch
import os
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from sidislab.errors import ConfigError, KinematicsError
from sidislab.fnp.config import FNPConfig, ParameterSet, load_config, save_config
from sidislab.fnp.flavours import ALL_GROUP, DEFAULT_FLAVOURS, FlavourGroups, check_flavours
from sidislab.fnp.gaussians import PairMap, gaussian_pair_sum, prepare_nodes
from sidislab.fnp.map22 import (
    FF_PARAMETER_NAMES,
    FF_TERM_SLOPES,
    PDF_PARAMETER_NAMES,
    PDF_TERM_SLOPES,
    Q0_SQUARED,
    SIGN_FREE_NAMES,
    evolution_factor,
    evolution_width,
    ff_terms,
    map22_ff,
    map22_pdf,
    pdf_terms,
)

__all__ = ["FNP", "load_fnp", "save_fnp"]

_CONTRACT_BLOCK = 256
"""Points per block in :meth:`FNP.contract` (flavour-dependent models): 256 points × 7
groups × 256 nodes = 3.7 MB per temporary, cache-resident on current CPUs."""
_N_PDF = len(PDF_PARAMETER_NAMES)
_N_FF = len(FF_PARAMETER_NAMES)

ArrayLike = Tensor | Sequence[float] | float


class FNP(nn.Module):
    """MAP22 non-perturbative TMD PDF and FF, flavour blind or flavour dependent.

    Args:
        config: a validated :class:`~sidislab.fnp.config.FNPConfig` (see :func:`load_fnp`).
        dtype: floating dtype of the parameters and results (float64 by default).
        device: device of the parameters; inputs are moved to it.
        check_inputs: validate the kinematic domain (0 < x, z < 1, b ≥ 0, ζ > 0, all
            finite) on every call; costs one host synchronisation per call.

    Shapes: ``x``/``z``/``zeta`` are ``[N]``, ``b`` is ``[Nb]`` (shared) or ``[N, Nb]``;
    results are ``[N, 1, Nb]`` for a flavour-blind model and ``[N, F, Nb]`` for the ``F``
    PDG ids in ``flavours`` (default :data:`~sidislab.fnp.flavours.DEFAULT_FLAVOURS`)
    otherwise.
    """

    def __init__(
        self,
        config: FNPConfig,
        *,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
        check_inputs: bool = True,
    ) -> None:
        super().__init__()
        if not dtype.is_floating_point:
            raise ValueError(f"FNP: dtype must be floating point, got {dtype}")
        dependent = config.flavour_dependent
        self.model_name = config.model
        self.source = config.source
        self.description = config.description
        self.check_inputs = check_inputs
        # tensors already checked or derived, per role, while they live unchanged (a fit
        # passes the same x, z, b, ζ every epoch): (weakref to the owner, layout, value)
        self._seen: dict[str, tuple[weakref.ref, tuple, Any]] = {}
        self.pdf_groups = FlavourGroups(
            list(config.pdf), blind=not dependent, where=f"{config.source}: key 'pdf'"
        )
        self.ff_groups = FlavourGroups(
            list(config.ff), blind=not dependent, where=f"{config.source}: key 'ff'"
        )
        names: list[str] = ["g2"]
        values: list[float] = [config.g2]
        free: list[bool] = [config.g2_free]
        for block, sets, pnames in (
            ("pdf", config.pdf, PDF_PARAMETER_NAMES),
            ("ff", config.ff, FF_PARAMETER_NAMES),
        ):
            for group, pset in sets.items():
                if not len(pset.values) == len(pset.free) == len(pnames):
                    raise ConfigError(
                        f"{config.source}: key '{block}.{group}': expected {len(pnames)} "
                        f"values and free flags {list(pnames)}, got {len(pset.values)} "
                        f"and {len(pset.free)}"
                    )
                prefix = f"{block}.{group}." if dependent else f"{block}."
                names += [prefix + n for n in pnames]
                values += list(pset.values)
                free += list(pset.free)
        self._names: tuple[str, ...] = tuple(names)
        full = torch.tensor(values, dtype=dtype, device=device)
        self.register_buffer("free_mask", torch.tensor(free, dtype=torch.bool, device=device))
        self.free_values = nn.Parameter(full[self.free_mask].clone())
        self.register_buffer("fixed_values", full[~self.free_mask].clone())
        self.register_buffer("_order", self._order_from(self.free_mask), persistent=False)
        self.register_load_state_dict_pre_hook(self._adopt_mask_on_load)

    # ------------------------------------------------------------------ structure
    @property
    def flavour_blind(self) -> bool:
        """True when one parameter set serves all flavours (results have F = 1)."""
        return self.pdf_groups.blind

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of parameters and results."""
        return self.fixed_values.dtype

    @property
    def device(self) -> torch.device:
        """Device of parameters and results."""
        return self.fixed_values.device

    @property
    def n_parameters(self) -> int:
        """Total number of parameters (free and fixed)."""
        return len(self._names)

    def parameter_names(self, free_only: bool = True) -> list[str]:
        """Names of the flat parameter vector, in its order (see the module docstring).

        Args:
            free_only: only the free parameters (the order of :meth:`get_vector` with the
                same flag).
        """
        if not free_only:
            return list(self._names)
        mask = self.free_mask.tolist()
        return [n for n, f in zip(self._names, mask) if f]

    # ------------------------------------------------------------------ vectors
    def full_vector(self) -> Tensor:
        """All parameters as one vector ``[P]``, differentiable w.r.t. ``free_values``."""
        return torch.cat((self.free_values, self.fixed_values))[self._order]

    def get_vector(self, free_only: bool = True) -> Tensor:
        """A detached copy of the parameter vector (physical values).

        Args:
            free_only: only the free parameters, else all (order: :meth:`parameter_names`).
        """
        vec = self.free_values if free_only else self.full_vector()
        return vec.detach().clone()

    def set_vector(self, values: ArrayLike, free_only: bool = True) -> None:
        """Set the parameters in place from a flat vector of physical values.

        In place, so optimisers holding ``free_values`` stay valid.

        Args:
            values: ``[n_free]`` (``free_only=True``) or ``[P]`` values in the order of
                :meth:`parameter_names` with the same flag.
            free_only: which parameters ``values`` holds; with ``False`` the fixed ones
                are overwritten too (they stay fixed).

        Raises:
            ValueError: wrong length (naming expected and got) or non-finite values.
        """
        vec = torch.as_tensor(values, dtype=self.dtype, device=self.device).detach()
        names = self.parameter_names(free_only)
        what = "free parameters" if free_only else "parameters"
        if vec.ndim != 1 or vec.shape[0] != len(names):
            raise ValueError(
                f"FNP.set_vector: expected {len(names)} values ({what}: {names}), "
                f"got shape {tuple(vec.shape)}"
            )
        bad = (~torch.isfinite(vec)).nonzero().flatten().tolist()
        if bad:
            raise ValueError(
                "FNP.set_vector: non-finite values for "
                + ", ".join(f"{names[i]} = {vec[i].item()}" for i in bad)
            )
        with torch.no_grad():
            if free_only:
                self.free_values.copy_(vec)
            else:
                self.free_values.copy_(vec[self.free_mask])
                self.fixed_values.copy_(vec[~self.free_mask])

    def named_vector(self, free_only: bool = True) -> dict[str, float]:
        """The parameter vector as ``{name: value}`` (floats, for logging and reports)."""
        return dict(zip(self.parameter_names(free_only), self.get_vector(free_only).tolist()))

    # ------------------------------------------------------------------ masks
    def set_free_mask(self, mask: Sequence[bool] | Tensor) -> None:
        """Choose the free parameters: ``mask[i]`` is True for the i-th of all parameters.

        Replaces ``free_values`` (values are kept): create optimisers afterwards.

        Raises:
            ValueError: wrong length.
        """
        new = torch.as_tensor(mask, dtype=torch.bool, device=self.device).flatten()
        if new.shape[0] != self.n_parameters:
            raise ValueError(
                f"FNP.set_free_mask: expected {self.n_parameters} flags "
                f"({list(self._names)}), got {new.shape[0]}"
            )
        self._install(self.full_vector().detach(), new)

    def canonicalize(self) -> None:
        """Replace every parameter that enters only through |p| or p² by |p|.

        The model is unchanged (:data:`~sidislab.fnp.map22.SIGN_FREE_NAMES`): an optimiser
        may cross zero and land on −N, which is the same fNP; this reports the
        conventional positive value. In place, like :meth:`set_vector`.
        """
        names = self.parameter_names(free_only=False)
        vec = self.get_vector(free_only=False)
        for i, name in enumerate(names):
            if name.rsplit(".", 1)[-1] in SIGN_FREE_NAMES:
                vec[i] = vec[i].abs()
        self.set_vector(vec, free_only=False)

    def freeze(self, *patterns: str) -> None:
        """Fix the parameters whose names match any of the shell-style ``patterns``.

        Example: ``model.freeze("g2", "pdf.*.lambda2")``. Replaces ``free_values``.

        Raises:
            ValueError: a pattern that matches no name (the message lists the names).
        """
        self._set_free(patterns, False)

    def unfreeze(self, *patterns: str) -> None:
        """Free the parameters whose names match any of the shell-style ``patterns``."""
        self._set_free(patterns, True)

    def _set_free(self, patterns: Iterable[str], free: bool) -> None:
        mask = self.free_mask.clone()
        for pattern in patterns:
            hits = [i for i, n in enumerate(self._names) if fnmatch.fnmatchcase(n, pattern)]
            if not hits:
                raise ValueError(
                    f"FNP: pattern {pattern!r} matches no parameter; names: {list(self._names)}"
                )
            mask[hits] = free
        self.set_free_mask(mask)

    @staticmethod
    def _order_from(mask: Tensor) -> Tensor:
        """Permutation taking ``cat(free, fixed)`` to the full parameter order."""
        positions = torch.cat((mask.nonzero().flatten(), (~mask).nonzero().flatten()))
        order = torch.empty_like(positions)
        order[positions] = torch.arange(positions.numel(), device=positions.device)
        return order

    def _install(self, full: Tensor, mask: Tensor) -> None:
        """Split ``full`` into ``free_values``/``fixed_values`` according to ``mask``."""
        self.free_mask = mask.clone()
        self.free_values = nn.Parameter(full[mask].clone())
        self.fixed_values = full[~mask].clone()
        self._order = self._order_from(mask)

    def _adopt_mask_on_load(
        self, module: nn.Module, state_dict: Mapping[str, Any], prefix: str, *args: Any
    ) -> None:
        """Load-state-dict pre-hook: adopt the saved free mask before values are copied."""
        mask = state_dict.get(prefix + "free_mask")
        if not isinstance(mask, Tensor) or mask.shape != self.free_mask.shape:
            return  # absent or wrong size: torch reports it
        mask = mask.to(device=self.device, dtype=torch.bool)
        if not torch.equal(mask, self.free_mask):
            self._install(self.full_vector().detach(), mask)

    # ------------------------------------------------------------------ parameter views
    def _split(self, full: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        n_pdf = self.pdf_groups.n_groups * _N_PDF
        g2 = full[0]
        pdf = full[1 : 1 + n_pdf].reshape(self.pdf_groups.n_groups, _N_PDF)
        ff = full[1 + n_pdf :].reshape(self.ff_groups.n_groups, _N_FF)
        return g2, pdf, ff

    @property
    def g2(self) -> Tensor:
        """The shared g2 (GeV), differentiable."""
        return self._split(self.full_vector())[0]

    @property
    def pdf_params(self) -> Tensor:
        """PDF parameter sets ``[n_pdf_groups, 11]`` (order of ``pdf_groups.keys``)."""
        return self._split(self.full_vector())[1]

    @property
    def ff_params(self) -> Tensor:
        """FF parameter sets ``[n_ff_groups, 9]`` (order of ``ff_groups.keys``)."""
        return self._split(self.full_vector())[2]

    # ------------------------------------------------------------------ evaluation
    def pdf(
        self,
        x: ArrayLike,
        b: ArrayLike,
        zeta: ArrayLike,
        flavours: Sequence[int] | Tensor | None = None,
    ) -> Tensor:
        """MAP22 TMD PDF fNP_q(x, b; ζ) including the g2 evolution factor (physics.md §5).

        Args:
            x: ``[N]`` momentum fractions.
            b: ``[Nb]`` or ``[N, Nb]`` impact parameters in GeV⁻¹.
            zeta: ``[N]`` rapidity scales in GeV² (ζ = Q²).
            flavours: PDG ids; ignored (but validated) by a flavour-blind model.

        Returns:
            ``[N, 1, Nb]`` (flavour blind) or ``[N, F, Nb]``.
        """
        g2, pdf, _ = self._split(self.full_vector())
        return self._pdf(pdf, g2, *self._kinematics(x, b, zeta, "x", "pdf"), flavours)

    def ff(
        self,
        z: ArrayLike,
        b: ArrayLike,
        zeta: ArrayLike,
        flavours: Sequence[int] | Tensor | None = None,
    ) -> Tensor:
        """MAP22 TMD FF DNP_q(z, b; ζ) including the g2 evolution factor (physics.md §5).

        Args:
            z: ``[N]`` hadron momentum fractions.
            b: ``[Nb]`` or ``[N, Nb]`` impact parameters in GeV⁻¹.
            zeta: ``[N]`` rapidity scales in GeV².
            flavours: PDG ids of the fragmenting quarks; ignored (validated) when blind.

        Returns:
            ``[N, 1, Nb]`` (flavour blind) or ``[N, F, Nb]``.
        """
        g2, _, ff = self._split(self.full_vector())
        return self._ff(ff, g2, *self._kinematics(z, b, zeta, "z", "ff"), flavours)

    def forward(
        self,
        x: ArrayLike,
        z: ArrayLike,
        b: ArrayLike,
        zeta: ArrayLike,
        flavours: Sequence[int] | Tensor | None = None,
    ) -> Tensor:
        """The product fNP_q(x, b; ζ) · DNP_q(z, b; ζ) that multiplies L_q(b) (physics.md §1).

        Each factor carries the evolution factor, as in the reference. Shapes as
        :meth:`pdf`: ``[N, 1, Nb]`` (flavour blind) or ``[N, F, Nb]``.
        """
        g2, pdf, ff = self._split(self.full_vector())
        xk, bk, zk = self._kinematics(x, b, zeta, "x", "forward")
        zz = self._points(z, "z", "FNP.forward", xk.shape[0])
        # both factors carry the same flavour-independent evolution factor: apply it once
        evo = evolution_factor(bk, zk[:, None, None], g2)
        shapes = self._pdf(pdf, g2, xk, bk, zk, flavours, False) * self._ff(
            ff, g2, zz, bk, zk, flavours, False
        )
        return shapes * (evo * evo)

    def contract(
        self,
        x: ArrayLike,
        z: ArrayLike,
        b: ArrayLike,
        zeta: ArrayLike,
        lumi: Tensor,
        flavours: Sequence[int] | Tensor | None = None,
    ) -> Tensor:
        """Σ_q fNP_q(x, b; ζ) DNP_q(z, b; ζ) L_q(b) → ``[N, Nb]``: :meth:`forward` times a
        luminosity ``lumi`` ``[N, F, Nb]`` (``[N, 1, Nb]`` summed over flavours for a
        flavour-blind model), summed over flavours — without the ``[N, F, Nb]`` product.

        Evaluated per parameter set rather than per flavour (physics.md §5): flavours that
        share a (PDF group, FF group) pair share fNP·DNP, so their luminosities are added
        first (``lumi`` is data: no gradient flows to it); the PDF and FF shapes are
        computed once per group used; the flavour-independent evolution factor E² is
        applied once after the flavour sum. Equal to ``(forward(...) * lumi).sum(1)`` up
        to rounding, at a fraction of the memory and time for flavour-dependent models.
        """
        g2, pdf, ff = self._split(self.full_vector())
        xk, bk, zk = self._kinematics(x, b, zeta, "x", "contract")
        zz = self._points(z, "z", "FNP.contract", xk.shape[0])
        lumi = torch.as_tensor(lumi, dtype=self.dtype, device=self.device)
        evo = evolution_factor(bk, zk[:, None, None], g2)  # [N|1, 1, Nb]
        if self.flavour_blind:
            if lumi.dim() != 3 or lumi.shape[0] != xk.shape[0]:
                raise ValueError(f"FNP.contract: lumi must be [N, F, Nb], got {tuple(lumi.shape)}")
            lsum = lumi.sum(1) if lumi.shape[1] != 1 else lumi[:, 0]
            shape = self._pdf(pdf, g2, xk, bk, zk, None, False) * self._ff(
                ff, g2, zz, bk, zk, None, False
            )
            return shape[:, 0] * lsum * (evo * evo)[:, 0]
        ids = self._ids(flavours)
        if lumi.dim() != 3 or lumi.shape[:2] != (xk.shape[0], len(ids)):
            raise ValueError(
                f"FNP.contract: lumi must be [{xk.shape[0]}, {len(ids)}, Nb] for flavours "
                f"{list(ids)}, got {tuple(lumi.shape)}"
            )
        plan = self._pair_plan(ids)
        lpair = lumi.new_zeros((lumi.shape[0], plan.n_pairs, lumi.shape[2]))
        lpair.index_add_(1, plan.pair_of_flavour, lumi.detach())
        p_sets = pdf.index_select(0, plan.pdf_groups)[None, :, None, :]
        f_sets = ff.index_select(0, plan.ff_groups)[None, :, None, :]
        n, parts = xk.shape[0], []
        # blocks of points whose [n, groups, Nb] temporaries stay in the CPU caches: the
        # evaluation is memory-bound (≈ 60 elementwise passes forward + backward)
        for lo in range(0, n, _CONTRACT_BLOCK):
            sl = slice(lo, min(lo + _CONTRACT_BLOCK, n))
            bs = bk if bk.shape[0] == 1 else bk[sl]
            p = map22_pdf(xk[sl, None, None], bs, zk[sl, None, None], p_sets, g2, False)
            d = map22_ff(zz[sl, None, None], bs, zk[sl, None, None], f_sets, g2, False)
            if plan.pdf_of_pair is not None:
                p = p.index_select(1, plan.pdf_of_pair)
            if plan.ff_of_pair is not None:
                d = d.index_select(1, plan.ff_of_pair)
            parts.append((p * d * lpair[sl]).sum(1))
        shape = parts[0] if len(parts) == 1 else torch.cat(parts)
        return shape * (evo * evo)[:, 0]

    def integrate(
        self,
        x: ArrayLike,
        z: ArrayLike,
        b: ArrayLike,
        zeta: ArrayLike,
        lumi: Tensor,
        weights: Tensor,
        flavours: Sequence[int] | Tensor | None = None,
    ) -> Tensor:
        """Σ_j weights_nj Σ_q fNP_q DNP_q L_q (b_nj) → ``[N]``: the quadrature sum of
        :meth:`contract` with the weights ``weights`` ``[N or 1, Nb]`` (I = Σ_j w_j F(b_j)),
        fused (:func:`sidislab.fnp.gaussians.gaussian_pair_sum`).

        The MAP22 shapes depend on b only through −b²/4 times widths that are functions of
        x, z and the parameters, so the sum is evaluated per (point, parameter set, term)
        with its derivatives in one pass, without an autograd graph over the ``[N, sets,
        Nb]`` tensors; higher derivatives (``create_graph``) differentiate the plain
        expression. The evolution factor E² is a Gaussian in b too where ζ ≥ Q0²
        (:func:`~sidislab.fnp.map22.evolution_width`): its width is added to the PDF
        widths; below Q0² (saturated exponent) it multiplies the weights, which costs one
        host synchronisation to find out. Equal to ``(weights * contract(...)).sum(-1)``
        up to rounding, with the same gradients. ``lumi`` and ``weights`` are data
        (``lumi`` as in :meth:`contract`); when ``b`` requires a gradient the plain
        :meth:`contract` is used.
        """
        weights = torch.as_tensor(weights, dtype=self.dtype, device=self.device)
        if isinstance(b, Tensor) and b.requires_grad:
            return (weights * self.contract(x, z, b, zeta, lumi, flavours)).sum(-1)
        if isinstance(b, Tensor) and b.dim() == 2 and b.shape[0] > 1 and b.stride(0) == 0:
            b = b[0]  # nodes expanded from one row: shared (one matrix product per block)
        g2, pdf, ff = self._split(self.full_vector())
        xk, bk, zk = self._kinematics(x, b, zeta, "x", "integrate")
        zz = self._points(z, "z", "FNP.integrate", xk.shape[0])
        n, nb = xk.shape[0], bk.shape[-1]
        lumi = torch.as_tensor(lumi, dtype=self.dtype, device=self.device).detach()
        if weights.dim() != 2 or weights.shape[0] not in (1, n) or weights.shape[1] != nb:
            raise ValueError(
                f"FNP.integrate: weights must be [{n} or 1, {nb}], got {tuple(weights.shape)}"
            )
        ids = self._ids(flavours)
        if lumi.dim() != 3 or lumi.shape[0] != n or lumi.shape[2] != nb:
            raise ValueError(f"FNP.integrate: lumi must be [{n}, F, {nb}], got {tuple(lumi.shape)}")
        if self.flavour_blind:
            lumi = lumi.sum(1, keepdim=True) if lumi.shape[1] != 1 else lumi
            p_sets, f_sets, pairs = pdf, ff, PairMap(1)
        else:
            if lumi.shape[1] != len(ids):
                raise ValueError(
                    f"FNP.integrate: lumi must be [{n}, {len(ids)}, {nb}] for flavours "
                    f"{list(ids)}, got {tuple(lumi.shape)}"
                )
            plan = self._pair_plan(ids)
            p_sets = pdf.index_select(0, plan.pdf_groups)
            f_sets = ff.index_select(0, plan.ff_groups)
            pairs = plan.pair_map
        # E² = e^{−2ω b²/4} for ζ ≥ Q0²: a width 2ω in the exponents (no [N, Nb] factor);
        # below Q0² (saturated exponent) E² stays a factor of the weights
        shift = 2.0 * evolution_width(zk, g2)  # [N]
        below = zk < Q0_SQUARED
        v = weights.expand(n, nb)
        if bool(below.any()):  # (one host synchronisation)
            evo = evolution_factor(bk[:, 0], zk[:, None], g2)  # [N|1, Nb]
            v = (weights * torch.where(below[:, None], evo * evo, 1.0)).expand(n, nb)
            shift = torch.where(below, 0.0, shift)
        wp, gp = (torch.stack(t, -1) for t in pdf_terms(xk[:, None], p_sets[None]))  # [N, Gp, 3]
        wf, gf = (torch.stack(t, -1) for t in ff_terms(zz[:, None], f_sets[None]))  # [N, Gf, 2]
        gf = gf / (zz * zz)[:, None, None]  # widths of b (ff_terms: of b/z)
        nodes = self._seen["nodes"][2] if self._known("nodes", bk) else None
        if nodes is None:  # s = −b²/4 [N|1, Nb] and its derived tensors, kept for the next epoch
            nodes = prepare_nodes((bk * bk / -4.0)[:, 0])
            self._remember("nodes", bk, nodes)
        slopes = (PDF_TERM_SLOPES, FF_TERM_SLOPES)
        return gaussian_pair_sum(wp, gp, wf, gf, v, nodes, lumi, pairs, slopes, shift)

    def _pair_plan(self, ids: tuple[int, ...]) -> _PairPlan:
        """Which (PDF group, FF group) pairs the flavours ``ids`` use (cached per ids)."""
        key = (ids, self.device)
        cache = self.__dict__.setdefault("_pair_plans", {})
        plan = cache.get(key)
        if plan is None:
            plan = _PairPlan.build(
                [self.pdf_groups.group_of(q) for q in ids],
                [self.ff_groups.group_of(q) for q in ids],
                self.device,
            )
            cache[key] = plan
        return plan

    def _ids(self, flavours: Sequence[int] | Tensor | None) -> tuple[int, ...]:
        if flavours is None:
            return (0,) if self.flavour_blind else DEFAULT_FLAVOURS
        ids = check_flavours(flavours)
        return (0,) if self.flavour_blind else ids

    def _pdf(
        self,
        params: Tensor,
        g2: Tensor,
        x: Tensor,
        b: Tensor,
        zeta: Tensor,
        flavours: Any,
        evolution: bool = True,
    ) -> Tensor:
        idx = self.pdf_groups.indices(self._ids(flavours), self.device)
        sets = params.index_select(0, idx)[None, :, None, :]  # [1, F, 1, 11]
        return map22_pdf(x[:, None, None], b, zeta[:, None, None], sets, g2, evolution)

    def _ff(
        self,
        params: Tensor,
        g2: Tensor,
        z: Tensor,
        b: Tensor,
        zeta: Tensor,
        flavours: Any,
        evolution: bool = True,
    ) -> Tensor:
        idx = self.ff_groups.indices(self._ids(flavours), self.device)
        sets = params.index_select(0, idx)[None, :, None, :]  # [1, F, 1, 9]
        return map22_ff(z[:, None, None], b, zeta[:, None, None], sets, g2, evolution)

    def _kinematics(
        self, v: ArrayLike, b: ArrayLike, zeta: ArrayLike, name: str, caller: str
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Inputs as tensors of the module's dtype/device: v ``[N]``, b ``[1|N, 1, Nb]``, ζ ``[N]``."""
        where = f"FNP.{caller}"
        v = self._points(v, name, where, None)
        n = v.shape[0]
        b = torch.as_tensor(b, dtype=self.dtype, device=self.device)
        zeta = torch.as_tensor(zeta, dtype=self.dtype, device=self.device)
        if zeta.ndim == 0:
            zeta = zeta.expand(n)
        if zeta.shape != (n,):
            raise ValueError(f"{where}: zeta must have shape [{n}], got {tuple(zeta.shape)}")
        if b.ndim == 1:
            b3 = b[None, None, :]
        elif b.ndim == 2 and b.shape[0] == n:
            b3 = b[:, None, :]
        else:
            raise ValueError(f"{where}: b must have shape [Nb] or [{n}, Nb], got {tuple(b.shape)}")
        if self.check_inputs:
            if not self._known("zeta", zeta):
                _check_domain(where, "zeta", zeta, lambda t: t > 0, "{} > 0")
                self._remember("zeta", zeta)
            if not self._known("b", b):
                _check_domain(where, "b", b, lambda t: t >= 0, "{} >= 0")
                self._remember("b", b)
        return v, b3, zeta

    def _known(self, role: str, t: Tensor) -> bool:
        """``t`` views the same memory as the tensor last remembered for ``role`` (same
        owner, still alive, same offset, shape and strides) and nothing wrote to it since
        (views share their base's version counter)."""
        seen = self._seen.get(role)
        return seen is not None and seen[0]() is _owner(t) and seen[1] == _layout(t)

    def _remember(self, role: str, t: Tensor, value: Any = None) -> None:
        self._seen[role] = (weakref.ref(_owner(t)), _layout(t), value)

    def _points(self, v: ArrayLike, name: str, where: str, n: int | None) -> Tensor:
        """A momentum fraction ``[N]`` (x or z) as a tensor, checked for 0 < v < 1."""
        v = torch.as_tensor(v, dtype=self.dtype, device=self.device)
        if v.ndim == 0:
            v = v.reshape(1)
        if v.ndim != 1 or (n is not None and v.shape[0] != n):
            expected = "[N]" if n is None else f"[{n}] (as x)"
            raise ValueError(f"{where}: {name} must have shape {expected}, got {tuple(v.shape)}")
        if self.check_inputs and not self._known(name, v):
            _check_domain(where, name, v, lambda t: (t > 0) & (t < 1), "0 < {} < 1")
            self._remember(name, v)
        return v

    # ------------------------------------------------------------------ config
    def to_config(self) -> FNPConfig:
        """The current values and free flags as an :class:`FNPConfig` (for saving)."""
        values = self.get_vector(free_only=False).tolist()
        free = self.free_mask.tolist()
        pos = 1

        def take(keys: Sequence[str], n: int) -> dict[str, ParameterSet]:
            nonlocal pos
            out = {}
            for key in keys:
                out[key] = ParameterSet(
                    values=tuple(values[pos : pos + n]), free=tuple(free[pos : pos + n])
                )
                pos += n
            return out

        pdf = take(self.pdf_groups.keys, _N_PDF)
        ff = take(self.ff_groups.keys, _N_FF)
        return FNPConfig(
            flavour_dependent=not self.flavour_blind,
            g2=values[0],
            g2_free=free[0],
            pdf=pdf,
            ff=ff,
            model=self.model_name,
            source=self.source,
            description=self.description,
        )

    def extra_repr(self) -> str:
        groups = (
            ALL_GROUP
            if self.flavour_blind
            else f"pdf={list(self.pdf_groups.keys)}, ff={list(self.ff_groups.keys)}"
        )
        return (
            f"model={self.model_name}, flavour_blind={self.flavour_blind}, groups: {groups}, "
            f"free={int(self.free_mask.sum())}/{self.n_parameters}, dtype={self.dtype}"
        )


class _PairPlan:
    """The distinct (PDF group, FF group) pairs of a flavour list, for :meth:`FNP.contract`:
    ``pair_of_flavour`` [F]; the PDF and FF groups to evaluate; the group of each pair
    among them (``None`` when it is the identity: no gather needed)."""

    def __init__(
        self,
        n_pairs: int,
        pair_of_flavour: Tensor,
        pdf_groups: Tensor,
        ff_groups: Tensor,
        pdf_of_pair: Tensor | None,
        ff_of_pair: Tensor | None,
    ) -> None:
        self.n_pairs = n_pairs
        self.pair_of_flavour = pair_of_flavour
        self.pdf_groups, self.ff_groups = pdf_groups, ff_groups
        self.pdf_of_pair, self.ff_of_pair = pdf_of_pair, ff_of_pair
        identity = torch.equal(pair_of_flavour.cpu(), torch.arange(pair_of_flavour.numel()))
        self.pair_map = PairMap(
            n_pairs, None if identity else pair_of_flavour, pdf_of_pair, ff_of_pair
        )

    @classmethod
    def build(cls, pdf: list[int], ff: list[int], device: torch.device) -> _PairPlan:
        pairs = list(dict.fromkeys(zip(pdf, ff)))
        pdf_used = list(dict.fromkeys(p for p, _ in pairs))
        ff_used = list(dict.fromkeys(f for _, f in pairs))
        pdf_pos = [pdf_used.index(p) for p, _ in pairs]
        ff_pos = [ff_used.index(f) for _, f in pairs]

        def idx(v: list[int]) -> Tensor:
            return torch.tensor(v, dtype=torch.long, device=device)

        identity = list(range(len(pairs)))
        return cls(
            len(pairs),
            idx([pairs.index(pf) for pf in zip(pdf, ff)]),
            idx(pdf_used),
            idx(ff_used),
            None if pdf_pos == identity else idx(pdf_pos),
            None if ff_pos == identity else idx(ff_pos),
        )


def _owner(t: Tensor) -> Tensor:
    """The tensor that owns ``t``'s memory (its base for a view)."""
    return t if t._base is None else t._base


def _layout(t: Tensor) -> tuple:
    return (t.data_ptr(), tuple(t.shape), t.stride(), t._version, t.dtype, t.device)


def _check_domain(where: str, name: str, t: Tensor, ok: Any, rule: str) -> None:
    """Raise KinematicsError at the first element of ``t`` that is non-finite or breaks ``ok``."""
    good = torch.isfinite(t) & ok(t)
    if not bool(good.all()):
        flat = (~good).flatten().nonzero()[0, 0].item()
        idx = torch.unravel_index(torch.tensor(flat), t.shape)
        index = ", ".join(str(int(i)) for i in idx)
        raise KinematicsError(
            f"{where}: {name}[{index}] = {t.flatten()[flat].item()!r} violates "
            f"{rule.format(name)} (finite)"
        )


def load_fnp(
    source: str | os.PathLike[str] | Mapping[str, Any] | FNPConfig,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    check_inputs: bool = True,
) -> FNP:
    """Build an :class:`FNP` from a YAML config (path or name in ``data/fnp``), a mapping
    or an :class:`FNPConfig`.

    Example: ``load_fnp("data/fnp/map22_flavour_blind.yaml")`` gives the published MAP22
    flavour-blind fNP (arXiv:2206.07598).

    Raises:
        ConfigError: the config is missing, malformed or invalid.
    """
    config = source if isinstance(source, FNPConfig) else load_config(source)
    return FNP(config, dtype=dtype, device=device, check_inputs=check_inputs)


def save_fnp(model: FNP, path: str | os.PathLike[str]) -> Path:
    """Write the model's current values and free flags as a YAML config (atomically)."""
    return save_config(model.to_config(), path)
