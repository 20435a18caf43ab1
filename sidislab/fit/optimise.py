r"""Minimising the loss over the free fNP parameters: LBFGS, Adam, SGD.

Everything here is a function of a :class:`CrossSection` whose ``fnp`` holds the free
parameters as one vector ``fnp.free_values`` (:class:`sidislab.fnp.FNP`), so replicas of
a fit are independent pure jobs.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from sidislab.fit.covariance import covariance
from sidislab.fit.loss import LOSSES, gradient_and_loss, loss_and_backward, loss_of_vector
from sidislab.fit.targets import Targets
from sidislab.io import atomic_write
from sidislab.observables.xsec import CrossSection

log = logging.getLogger(__name__)

OPTIMIZERS = ("lbfgs", "adam", "sgd")
STATUSES = ("converged", "max_epochs", "diverged", "non_finite", "interrupted")
"""What a fit can end as (:attr:`FitResult.status`): ``converged`` (a stopping test met at
a loss not above the start's, parameters finite and not run away), ``max_epochs`` (the epoch
budget ran out first), ``diverged`` (the parameters ran away, or the optimiser stopped at a
loss above the start's: a vanishing gradient of a saturated model is not convergence),
``non_finite`` (the loss or a parameter became NaN/inf), ``interrupted`` (Ctrl-C)."""
FAILED = ("diverged", "non_finite")


@dataclass
class FitSettings:
    """Optimiser and stopping settings. ``epochs``: optimiser steps (for LBFGS each step
    runs up to ``lbfgs_max_iter`` inner iterations with a strong-Wolfe line search)."""

    optimizer: str = "lbfgs"
    loss: str = "chi2"
    lr: float = 1.0
    epochs: int = 50
    seed: int = 0
    ftol: float = 1e-12  # converged when |Δloss| ≤ ftol·max(1, loss) between epochs…
    gtol: float = 1e-7  # …or when max |∂loss/∂θ| ≤ gtol
    lbfgs_max_iter: int = 20
    divergence: float = 1e6  # diverged when max |θ − θ₀| > divergence · max(1, max |θ₀|)
    chunk_size: int | None = 1024  # points per forward/backward chunk (bounded memory)
    progress: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r} (allowed: {', '.join(OPTIMIZERS)})"
            )
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r} (allowed: {', '.join(LOSSES)})")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {self.epochs}")


@dataclass
class FitResult:
    """What a fit did: history, parameters, verdict, covariance."""

    parameter_names: list[str]
    initial: list[float]
    final: list[float]
    history: list[dict[str, float]]
    converged: bool
    reason: str
    settings: dict[str, Any]
    true: list[float] | None = None
    covariance: list[list[float]] | None = None
    uncertainties: list[float] | None = None
    n_points: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    status: str = ""
    """One of :data:`STATUSES`; ``converged`` is ``status == "converged"``."""

    @property
    def failed(self) -> bool:
        """The fit diverged or went non-finite: its parameters mean nothing."""
        return self.status in FAILED

    @property
    def final_loss(self) -> float:
        return self.history[-1]["loss"] if self.history else float("nan")

    def parameter_difference(self) -> tuple[float, float]:
        """‖θ_final − θ_ref‖₂ and the same relative to ‖θ_ref‖₂, θ_ref = true (closure)
        or initial (constant targets)."""
        ref = torch.tensor(
            self.true if self.true is not None else self.initial, dtype=torch.float64
        )
        final = torch.tensor(self.final, dtype=torch.float64)
        diff = float(torch.linalg.vector_norm(final - ref))
        return diff, diff / max(float(torch.linalg.vector_norm(ref)), 1e-300)

    def summary(self) -> str:
        """The closing lines a user reads: parameter distance and the verdict."""
        diff, rel = self.parameter_difference()
        what = "fit − true" if self.true is not None else "fit − start"
        verdict = {
            "converged": "converged",
            "max_epochs": "not converged (max epochs)",
            "diverged": "FAILED: diverged",
            "non_finite": "FAILED: non-finite",
            "interrupted": "not converged (interrupted)",
        }.get(self.status, "converged" if self.converged else "not converged")
        return f"Param L2 diff: {diff:.6g} (rel {rel:.3g}), {what}\n{verdict}: {self.reason}"

    def save(self, path: str | Path, config: dict[str, Any] | None = None) -> Path:
        """Write config, history, parameters and covariance as JSON, atomically."""
        doc = asdict(self)
        doc["config"] = config or {}
        doc["summary"] = self.summary()
        path = Path(path)
        with atomic_write(path) as fh:
            json.dump(doc, fh, indent=1, allow_nan=True)
        return path


def fit(
    xsec: CrossSection,
    targets: Targets,
    settings: FitSettings | None = None,
    *,
    callback: Callable[[int, int, float], None] | None = None,
    with_covariance: bool = True,
) -> FitResult:
    """Minimise the loss over the free fNP parameters of ``xsec``.

    ``callback(epoch, epochs, loss)`` is called after each epoch (the CLI prints
    ``Epoch i/N  chi2 = …`` from it). Ctrl-C stops cleanly: the result so far is returned
    with ``interrupted=True``.
    """
    s = settings or FitSettings()
    torch.manual_seed(s.seed)
    fnp = xsec.fnp
    names = fnp.parameter_names()
    if not names:
        raise ValueError("no free parameters: every fNP parameter is frozen")
    n_model = len(xsec.kin) if hasattr(xsec, "kin") else xsec.n_points  # σ or multiplicity
    if len(targets.values) != n_model:
        raise ValueError(f"targets have {len(targets.values)} points, the cross section {n_model}")
    initial = fnp.get_vector().tolist()
    param = fnp.free_values
    if s.optimizer == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS(
            [param],
            lr=s.lr,
            max_iter=s.lbfgs_max_iter,
            tolerance_grad=s.gtol,
            tolerance_change=s.ftol,
            line_search_fn="strong_wolfe",
        )
    elif s.optimizer == "adam":
        opt = torch.optim.Adam([param], lr=s.lr)
    else:
        opt = torch.optim.SGD([param], lr=s.lr)

    def closure() -> Tensor:
        opt.zero_grad()
        return loss_and_backward(xsec, targets, s.loss, s.chunk_size)

    fn = loss_of_vector(xsec, targets, s.loss)
    history: list[dict[str, float]] = []
    converged, reason, interrupted, status = False, "", False, "max_epochs"
    theta0 = param.detach().clone()
    runaway = s.divergence * max(1.0, float(theta0.abs().max()))
    start_loss, _ = gradient_and_loss(fn, param)
    start = time.perf_counter()
    previous = float("inf")
    bar = None
    if s.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=s.epochs, desc="fit", unit="epoch")
    try:
        for epoch in range(1, s.epochs + 1):
            opt.step(closure)
            if not bool(torch.isfinite(param).all()):
                i = int(torch.nonzero(~torch.isfinite(param.detach()))[0])
                status = "non_finite"
                bad = float(param.detach()[i])
                reason = f"parameter {names[i]} became {bad} at epoch {epoch}"
                history.append({"epoch": epoch, "loss": float("nan"), "grad_max": float("nan")})
                break
            current, grad = gradient_and_loss(fn, param)
            if not math.isfinite(current):
                status = "non_finite"
                reason = f"loss became {current} at epoch {epoch}"
                history.append({"epoch": epoch, "loss": current, "grad_max": float("nan")})
                break
            gmax = float(grad.abs().max())
            history.append({"epoch": epoch, "loss": current, "grad_max": gmax})
            step = (param.detach() - theta0).abs()
            if float(step.max()) > runaway:
                i = int(step.argmax())
                status = "diverged"
                reason = (
                    f"parameter {names[i]} ran away to {float(param.detach()[i]):.3g} (start "
                    f"{float(theta0[i]):.3g}) at epoch {epoch}, {s.loss} = {current:.6g} "
                    f"(start {start_loss:.6g}); lower the learning rate (lr = {s.lr:g})"
                )
                break
            if callback:
                callback(epoch, s.epochs, current)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{current:.6g}")
            change = abs(previous - current)
            stopped = ""
            if gmax <= s.gtol:
                stopped = f"max |∂{s.loss}/∂θ| = {gmax:.2e} ≤ gtol = {s.gtol:g}"
            elif change <= s.ftol * max(1.0, abs(current)):
                stopped = (
                    f"{s.loss} stopped changing: |Δ| = {change:.2e} ≤ ftol·max(1, {s.loss}) "
                    f"(ftol = {s.ftol:g}), max |∂{s.loss}/∂θ| = {gmax:.2e}"
                )
            if stopped and current > start_loss * (1 + 1e-9) + 1e-300:
                status = "diverged"
                reason = (
                    f"{stopped}, but at {s.loss} = {current:.6g} above the start's "
                    f"{start_loss:.6g} (epoch {epoch}): the optimiser left the minimum "
                    f"(lower the learning rate, lr = {s.lr:g})"
                )
                break
            if stopped:
                converged, status, reason = True, "converged", stopped
                break
            previous = current
        else:
            reason = (
                f"reached {s.epochs} epochs; last change {change:.2e}, "
                f"max |∂{s.loss}/∂θ| = {gmax:.2e} > gtol = {s.gtol:g}"
            )
            if current > start_loss * (1 + 1e-9) + 1e-300:
                status = "diverged"
                reason += f"; {s.loss} = {current:.6g} ended above the start's {start_loss:.6g}"
    except KeyboardInterrupt:
        interrupted, status = True, "interrupted"
        reason = f"interrupted by the user after {len(history)} epochs"
        log.warning(reason)
    finally:
        if bar is not None:
            bar.close()

    if hasattr(fnp, "canonicalize"):
        fnp.canonicalize()  # −N and N are the same model: report |N|
    result = FitResult(
        parameter_names=names,
        initial=initial,
        final=fnp.get_vector().tolist(),
        history=history,
        converged=converged,
        reason=reason,
        settings=asdict(s),
        true=(
            targets.true_vector.tolist()
            if targets.true_vector is not None and len(targets.true_vector) == len(names)
            else None
        ),
        n_points=len(targets.values),
        interrupted=interrupted,
        seconds=time.perf_counter() - start,
        status=status,
    )
    result.extra["start_loss"] = start_loss
    if status in FAILED:
        log.warning("fit %s: %s", status.replace("_", "-"), reason)
    if with_covariance and converged and s.loss == "chi2":
        try:
            cov = covariance(xsec, targets)
            result.covariance = cov.tolist()
            result.uncertainties = cov.diagonal().clamp(min=0).sqrt().tolist()
        except ValueError as exc:
            log.warning("no covariance: %s", exc)
            result.extra["covariance_error"] = str(exc)
    return result
