r"""The state of the fit explorer: a cross-section copy, its parameters, σ, χ² and steps.

:class:`FitState` knows nothing of widgets or figures; the explorer's controls and
figures read it and call its methods. It holds

* a deep copy of the notebook's cross section (:class:`sidislab.observables.xsec.CrossSection`;
  the read-only luminosity table is shared), so that nothing done here changes the
  notebook's parameters;
* the targets (pseudo-data t_i with uncertainties δ_i, :class:`sidislab.fit.Targets`) and
  the start vector (:meth:`FitState.reset` returns to it);
* σ at the current parameters, remembered until they change (:meth:`FitState.sigma`), and

      χ²(θ) = Σ_i (σ_i(θ) − t_i)² / δ_i²        (:func:`sidislab.fit.loss_value`);

* optimiser steps on χ² (LBFGS with a strong-Wolfe line search, or Adam;
  :meth:`FitState.run_steps`), the χ² history they leave, and the number taken.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from sidislab import fit as F
from sidislab.observables.xsec import CrossSection

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_LR", "OPTIMIZERS", "FitState", "check_optimizer"]

OPTIMIZERS = ("lbfgs", "adam")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.005}
"""Learning rate of each optimiser when none is given (LBFGS: the full quasi-Newton step)."""


def check_optimizer(name: str) -> str:
    """``name`` if it is one of :data:`OPTIMIZERS`, else ``ValueError``."""
    if name not in OPTIMIZERS:
        raise ValueError(
            f"fit explorer: unknown optimizer {name!r} (allowed: {', '.join(OPTIMIZERS)})"
        )
    return name


class FitState:
    """Parameters, σ and χ² of a cross-section copy, and optimiser steps on χ².

    Args:
        xsec: the cross section; the state works on a deep copy (``copy=True``) or on
            ``xsec`` itself (``copy=False``).
        targets: the values to fit (pseudo-data) with their uncertainties δ.
        start: free-parameter vector to start from (default: the current one).
        lbfgs_iterations: LBFGS iterations per step (each with a strong-Wolfe line search).

    Attributes: ``xs`` (the cross section worked on), ``fnp`` (its fNP), ``names`` (free
    parameters), ``start``, ``start_sigma`` (σ at the start), ``targets``, ``history``
    (one dict per recorded χ²: ``step``, ``chi2``), ``n_steps`` (steps taken since the
    start or the last reset).
    """

    def __init__(
        self,
        xsec: CrossSection,
        targets: F.Targets,
        *,
        start: Sequence[float] | Tensor | None = None,
        lbfgs_iterations: int = 5,
        copy: bool = True,
    ) -> None:
        if len(targets.values) != len(xsec.kin):
            raise ValueError(
                f"fit explorer: targets have {len(targets.values)} points, "
                f"the cross section {len(xsec.kin)}"
            )
        self.xs = _copy_module(xsec) if copy else xsec
        self.fnp = self.xs.fnp
        self.names: list[str] = self.fnp.parameter_names()
        if not self.names:
            raise ValueError("fit explorer: no free parameters (every fNP parameter is frozen)")
        if start is not None:
            self.fnp.set_vector(start)
        self.start = self.fnp.get_vector()
        self.targets = targets
        self.lbfgs_iterations = int(lbfgs_iterations)
        self._sigma_cache: tuple[Tensor, Tensor] | None = None
        self.start_sigma = self.sigma()
        self.history: list[dict[str, float]] = []
        self.n_steps = 0
        self._optimizer: torch.optim.Optimizer | None = None
        self._optimizer_kind: tuple[str, float] | None = None

    # --- reading -------------------------------------------------------------------------
    @property
    def values(self) -> dict[str, float]:
        """The current free parameters, name → value."""
        return dict(zip(self.names, self.fnp.get_vector().tolist()))

    def vector(self) -> Tensor:
        """The current free-parameter vector (a copy)."""
        return self.fnp.get_vector()

    def sigma(self) -> Tensor:
        """σ at the current parameters, [N] (no graph; remembered until they change)."""
        key = self.fnp.get_vector(free_only=False)
        if self._sigma_cache is None or not torch.equal(self._sigma_cache[0], key):
            with torch.no_grad():
                self._sigma_cache = (key, self.xs().detach())
        return self._sigma_cache[1]

    def chi2(self) -> float:
        """χ² at the current parameters."""
        return float(F.loss_value(self.sigma(), self.targets, "chi2"))

    # --- changing ------------------------------------------------------------------------
    def set_values(self, values: Mapping[str, float]) -> None:
        """Set free parameters by name (the others keep their values); the optimiser's
        memory is dropped (it no longer applies). Unknown names raise ``ValueError``."""
        unknown = sorted(set(values) - set(self.names))
        if unknown:
            raise ValueError(f"fit explorer: no free parameters {unknown} ({self.names})")
        current = self.values
        current.update({k: float(v) for k, v in values.items()})
        self.fnp.set_vector([current[n] for n in self.names])
        self.forget_optimizer()

    def forget_optimizer(self) -> None:
        """Drop the optimiser (and its memory); the next step builds a new one."""
        self._optimizer = None

    def run_steps(
        self,
        n: int,
        optimizer: str = "lbfgs",
        lr: float | None = None,
        *,
        evaluate: Callable[[], float] | None = None,
        after_step: Callable[[float], Any] | None = None,
    ) -> list[float]:
        """Take ``n`` optimiser steps on χ²; returns the χ² after each.

        Args:
            n: number of steps (≥ 1).
            optimizer: ``lbfgs`` or ``adam``; lr: its learning rate (default
                :data:`DEFAULT_LR`). The optimiser and its memory are kept from one call
                to the next while both stay the same and the parameters are not set.
            evaluate: the χ² read after each step, recorded and checked (default
                :meth:`chi2`; the explorer passes its own, what it reports).
            after_step: called with the χ² after each accepted step.

        χ² before the first step is recorded in ``history`` unless it is already its last
        entry. A step that makes χ² non-finite is undone and stops the run
        (``ValueError``). At the end the fNP is brought to its canonical form where it has
        one (−N and N are the same model: |N|); the optimiser is dropped if that moved it.
        """
        n = int(n)
        if n < 1:
            raise ValueError(f"FitState.run_steps: n must be >= 1, got {n}")
        chi2 = evaluate or self.chi2
        opt = self._get_optimizer(check_optimizer(optimizer), lr)
        if not self.history or self.history[-1]["chi2"] != chi2():
            self.history.append({"step": float(self.n_steps), "chi2": chi2()})

        def closure() -> Tensor:
            opt.zero_grad()
            value = F.loss_value(self.xs(), self.targets, "chi2")
            value.backward()
            return value

        out: list[float] = []
        try:
            for _ in range(n):
                before = self.fnp.get_vector()
                opt.step(closure)
                value = chi2()
                if not math.isfinite(value):
                    self.fnp.set_vector(before)
                    self._optimizer = None
                    raise ValueError(
                        f"step {self.n_steps + 1}: χ² became {value}; step undone "
                        "(lower the learning rate)"
                    )
                self.n_steps += 1
                out.append(value)
                self.history.append({"step": float(self.n_steps), "chi2": value})
                if after_step is not None:
                    after_step(value)
        finally:
            self._canonicalize()
        log.info("fit explorer: %d steps, χ² = %.6g", n, out[-1] if out else math.nan)
        return out

    def reset(self) -> None:
        """Back to the start parameters; the χ² history and the step count are cleared."""
        self.fnp.set_vector(self.start)
        self.history.clear()
        self.n_steps = 0
        self._optimizer = None

    # --- internals -----------------------------------------------------------------------
    def _get_optimizer(self, kind: str, lr: float | None) -> torch.optim.Optimizer:
        key = (kind, float(DEFAULT_LR[kind] if lr is None else lr))
        if self._optimizer is None or self._optimizer_kind != key:
            param = self.fnp.free_values
            if kind == "lbfgs":
                self._optimizer = torch.optim.LBFGS(
                    [param],
                    lr=key[1],
                    max_iter=self.lbfgs_iterations,
                    line_search_fn="strong_wolfe",
                )
            else:
                self._optimizer = torch.optim.Adam([param], lr=key[1])
            self._optimizer_kind = key
        return self._optimizer

    def _canonicalize(self) -> None:
        """The fNP's canonical form (|N| for N), where it has one."""
        if hasattr(self.fnp, "canonicalize"):
            before = self.fnp.get_vector()
            self.fnp.canonicalize()
            if not torch.equal(before, self.fnp.get_vector()):
                self._optimizer = None  # its memory refers to the other sign


def _copy_module(xsec: CrossSection) -> CrossSection:
    """A deep copy of the cross section (parameters and buffers); the read-only
    luminosity table it was built from is shared, not copied."""
    memo: dict[int, Any] = {}
    table = getattr(xsec, "_lumi_source", None)
    if table is not None:
        memo[id(table)] = table
    return copy.deepcopy(xsec, memo)
