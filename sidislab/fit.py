r"""Fitting fNP parameters to cross sections with PyTorch autograd.

The chain is differentiable end to end: free parameters θ → fNP(x, b) → σ(qT)
(:class:`sidislab.xsec.CrossSection`) → loss → ∇θ. Losses:

    χ²(θ) = Σ_i (σ_i(θ) − t_i)² / δ_i²          (``chi2``; δ_i the target uncertainties)
    MSE(θ) = (1/N) Σ_i (σ_i(θ) − t_i)²            (``mse``)

Targets are constants (the old script's job) or pseudo-data generated from known "true"
parameters, optionally with Gaussian noise (a closure test). At the minimum the parameter
covariance is C = 2 H⁻¹ with H = ∂²χ²/∂θ² computed by autograd (χ² = −2 ln 𝓛 + const).

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
from torch.func import functional_call

from sidislab.io import atomic_write
from sidislab.xsec import CrossSection

log = logging.getLogger(__name__)

OPTIMIZERS = ("lbfgs", "adam", "sgd")
LOSSES = ("chi2", "mse")
_PARAM = "fnp.free_values"


# --- targets ----------------------------------------------------------------------------


@dataclass
class Targets:
    """Values t_i to fit and their uncertainties δ_i (both [N], same units as σ)."""

    values: Tensor
    uncertainties: Tensor
    kind: str = "pseudo"
    true_vector: Tensor | None = None  # the parameters that generated pseudo-data

    def __post_init__(self) -> None:
        if self.values.shape != self.uncertainties.shape or self.values.dim() != 1:
            raise ValueError(
                f"targets: values {tuple(self.values.shape)} and uncertainties "
                f"{tuple(self.uncertainties.shape)} must both be [N]"
            )
        for name, t in (("value", self.values), ("uncertainty", self.uncertainties)):
            bad = ~torch.isfinite(t)
            if bad.any():
                i = int(bad.nonzero()[0])
                raise ValueError(f"target point {i}: {name} is {t[i].item()} (not finite)")
        if (self.uncertainties <= 0).any():
            i = int((self.uncertainties <= 0).nonzero()[0])
            raise ValueError(f"target point {i}: uncertainty must be > 0")


def pseudo_data(
    xsec: CrossSection,
    true_vector: Tensor | None = None,
    *,
    rel_uncertainty: float = 0.05,
    noise: float = 0.0,
    seed: int = 0,
) -> Targets:
    """Pseudo-data σ(θ_true) with uncertainties δ = rel_uncertainty·σ and, when ``noise``
    > 0, Gaussian fluctuations of ``noise``·δ (reproducible with ``seed``)."""
    fnp = xsec.fnp
    current = fnp.get_vector()
    true = current if true_vector is None else torch.as_tensor(true_vector, dtype=current.dtype)
    try:
        fnp.set_vector(true)
        with torch.no_grad():
            sigma = xsec()
    finally:
        fnp.set_vector(current)
    delta = rel_uncertainty * sigma.abs()
    values = sigma.clone()
    if noise > 0:
        gen = torch.Generator(device="cpu").manual_seed(seed)
        values = values + noise * delta * torch.randn(
            values.shape, generator=gen, dtype=values.dtype
        ).to(values.device)
    return Targets(values.detach(), delta.detach(), "pseudo", true.detach().clone())


def constant_targets(n: int, value: float, uncertainty: float = 1.0, **like) -> Targets:
    """Constant targets (the old script's): every point should equal ``value``."""
    if not math.isfinite(value):
        raise ValueError(f"constant target must be finite, got {value}")
    v = torch.full((n,), float(value), **like)
    return Targets(v, torch.full_like(v, uncertainty), "constant")


# --- loss -------------------------------------------------------------------------------


def loss_value(sigma: Tensor, targets: Targets, loss: str = "chi2") -> Tensor:
    """χ² or MSE of σ against the targets (see the module docstring)."""
    r = sigma - targets.values
    if loss == "chi2":
        return ((r / targets.uncertainties) ** 2).sum()
    if loss == "mse":
        return (r**2).mean()
    raise ValueError(f"unknown loss {loss!r} (allowed: {', '.join(LOSSES)})")


def loss_and_backward(
    xsec: CrossSection, targets: Targets, loss: str = "chi2", chunk_size: int | None = 1024
) -> Tensor:
    """The loss, with its gradient accumulated into the parameters' ``.grad``.

    Points are processed in chunks of ``chunk_size`` (None: all at once): each chunk's
    part of the loss is back-propagated on its own, so memory stays bounded and the epoch
    time grows linearly with N. Returns the total loss (detached).
    """
    n = len(targets.values)
    if chunk_size is None or chunk_size >= n:
        value = loss_value(xsec(), targets, loss)
        value.backward()
        return value.detach()
    total = torch.zeros((), dtype=targets.values.dtype, device=targets.values.device)
    for start in range(0, n, chunk_size):
        pts = slice(start, min(start + chunk_size, n))
        r = xsec(pts) - targets.values[pts]
        if loss == "chi2":
            part = ((r / targets.uncertainties[pts]) ** 2).sum()
        elif loss == "mse":
            part = (r**2).sum() / n
        else:
            raise ValueError(f"unknown loss {loss!r} (allowed: {', '.join(LOSSES)})")
        part.backward()
        total = total + part.detach()
    return total


def loss_of_vector(xsec: CrossSection, targets: Targets, loss: str = "chi2") -> Callable:
    """θ ↦ loss(σ(θ)) as a pure function of the free-parameter vector (for autograd)."""

    def fn(theta: Tensor) -> Tensor:
        return loss_value(functional_call(xsec, {_PARAM: theta}, ()), targets, loss)

    return fn


# --- the fit ----------------------------------------------------------------------------


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
        verdict = "converged" if self.converged else "not converged"
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


def _gradient_and_loss(fn: Callable[[Tensor], Tensor], theta: Tensor) -> tuple[float, Tensor]:
    t = theta.detach().clone().requires_grad_(True)
    value = fn(t)
    (g,) = torch.autograd.grad(value, t)
    return float(value.detach()), g


def covariance(xsec: CrossSection, targets: Targets) -> Tensor:
    """C = 2 H⁻¹, H = ∂²χ²/∂θ² at the current parameters (autograd Hessian).

    Raises ``ValueError`` when H is not positive definite (a parameter the data do not
    constrain, or not at a minimum), naming the weakest direction.
    """
    fn = loss_of_vector(xsec, targets, "chi2")
    theta = xsec.fnp.get_vector()
    H = torch.autograd.functional.hessian(fn, theta)
    H = 0.5 * (H + H.T)
    evals, evecs = torch.linalg.eigh(H)
    if evals[0] <= 1e-12 * evals[-1].abs():
        names = xsec.fnp.parameter_names()
        weak = names[int(evecs[:, 0].abs().argmax())]
        raise ValueError(
            f"Hessian not positive definite (smallest eigenvalue {evals[0].item():.3g}, "
            f"largest {evals[-1].item():.3g}): the data do not constrain '{weak}' "
            "(freeze it or add data)"
        )
    return 2.0 * torch.linalg.inv(H)


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
    if len(targets.values) != len(xsec.kin):
        raise ValueError(
            f"targets have {len(targets.values)} points, the cross section {len(xsec.kin)}"
        )
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
    converged, reason, interrupted = False, "", False
    start = time.perf_counter()
    previous = float("inf")
    bar = None
    if s.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=s.epochs, desc="fit", unit="epoch")
    try:
        for epoch in range(1, s.epochs + 1):
            opt.step(closure)
            current, grad = _gradient_and_loss(fn, param)
            if not math.isfinite(current):
                reason = f"loss became {current} at epoch {epoch}"
                history.append({"epoch": epoch, "loss": current, "grad_max": float("nan")})
                break
            gmax = float(grad.abs().max())
            history.append({"epoch": epoch, "loss": current, "grad_max": gmax})
            if callback:
                callback(epoch, s.epochs, current)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{current:.6g}")
            change = abs(previous - current)
            if gmax <= s.gtol:
                converged, reason = True, f"max |∂{s.loss}/∂θ| = {gmax:.2e} ≤ gtol = {s.gtol:g}"
                break
            if change <= s.ftol * max(1.0, abs(current)):
                converged = True
                reason = (
                    f"{s.loss} stopped changing: |Δ| = {change:.2e} ≤ ftol·max(1, {s.loss}) "
                    f"(ftol = {s.ftol:g}), max |∂{s.loss}/∂θ| = {gmax:.2e}"
                )
                break
            previous = current
        else:
            reason = (
                f"reached {s.epochs} epochs; last change {change:.2e}, "
                f"max |∂{s.loss}/∂θ| = {gmax:.2e} > gtol = {s.gtol:g}"
            )
    except KeyboardInterrupt:
        interrupted = True
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
    )
    if with_covariance and converged and s.loss == "chi2":
        try:
            cov = covariance(xsec, targets)
            result.covariance = cov.tolist()
            result.uncertainties = cov.diagonal().clamp(min=0).sqrt().tolist()
        except ValueError as exc:
            log.warning("no covariance: %s", exc)
            result.extra["covariance_error"] = str(exc)
    return result


# --- gradient validation ----------------------------------------------------------------


@dataclass
class GradientCheck:
    """Autograd against central finite differences, per free parameter."""

    names: list[str]
    autograd: list[float]
    finite_difference: list[float]
    relative_difference: list[float]
    gradcheck: bool | None = None

    @property
    def max_relative_difference(self) -> float:
        return max(self.relative_difference) if self.relative_difference else 0.0

    def table(self) -> str:
        lines = [f"{'parameter':<22} {'autograd':>14} {'finite diff':>14} {'rel diff':>9}"]
        for n, a, f, r in zip(
            self.names, self.autograd, self.finite_difference, self.relative_difference
        ):
            lines.append(f"{n:<22} {a:>14.6e} {f:>14.6e} {r:>9.1e}")
        lines.append(f"max relative difference: {self.max_relative_difference:.2e}")
        if self.gradcheck is not None:
            lines.append(f"torch.autograd.gradcheck: {'passed' if self.gradcheck else 'FAILED'}")
        return "\n".join(lines)


def check_gradients(
    xsec: CrossSection,
    targets: Targets,
    *,
    loss: str = "chi2",
    rel_step: float = 1e-3,
    gradcheck: bool = True,
) -> GradientCheck:
    """Compare ∂loss/∂θ by autograd with finite differences for every free parameter.

    The difference quotient is the fourth-order central one, step h = rel_step·max(|θ|,
    1e-2): σ(θ) carries a rounding noise of ~1e-10 relative (Ogata sums of cancelling
    terms), so a second-order quotient with a tiny step is limited by that noise, not by
    autograd. Optionally runs ``torch.autograd.gradcheck`` on θ ↦ σ(θ) (float64 only).
    """
    fn = loss_of_vector(xsec, targets, loss)
    theta = xsec.fnp.get_vector()
    _, g = _gradient_and_loss(fn, theta)
    fd = torch.empty_like(theta)
    with torch.no_grad():
        for i in range(len(theta)):
            h = rel_step * max(abs(float(theta[i])), 1e-2)

            def at(k: int, i: int = i, h: float = h) -> Tensor:
                shifted = theta.clone()
                shifted[i] += k * h
                return fn(shifted)

            # fourth-order central difference: error O(h⁴) + O(ε_loss/h)
            fd[i] = (8 * (at(1) - at(-1)) - (at(2) - at(-2))) / (12 * h)
    scale = torch.maximum(g.abs(), fd.abs()).clamp(min=1e-300)
    rel = ((g - fd).abs() / scale).tolist()
    ok = None
    if gradcheck and theta.dtype == torch.float64:
        sub = min(len(xsec.kin), 8)

        def sigma_of(t: Tensor) -> Tensor:
            return functional_call(xsec, {_PARAM: t}, ())[:sub]

        ok = bool(
            torch.autograd.gradcheck(
                sigma_of, (theta.clone().requires_grad_(True),), eps=1e-6, atol=1e-8, rtol=1e-5
            )
        )
    return GradientCheck(xsec.fnp.parameter_names(), g.tolist(), fd.tolist(), rel, ok)
