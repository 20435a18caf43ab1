r"""Losses of σ against targets, and their gradients by autograd.

    χ²(θ) = Σ_i (σ_i(θ) − t_i)² / δ_i²          (``chi2``; δ_i the target uncertainties)
    MSE(θ) = (1/N) Σ_i (σ_i(θ) − t_i)²            (``mse``)

The chain is differentiable end to end: free parameters θ → fNP(x, b) → σ(qT)
(:class:`sidislab.observables.xsec.CrossSection`) → loss → ∇θ. The free parameters are
one vector ``fnp.free_values`` (:class:`sidislab.fnp.FNP`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.func import functional_call

from sidislab.fit.targets import Targets
from sidislab.observables.xsec import CrossSection

LOSSES = ("chi2", "mse")
PARAM = "fnp.free_values"


def loss_value(sigma: Tensor, targets: Targets, loss: str = "chi2") -> Tensor:
    """χ² or MSE of σ against the targets (see the module docstring)."""
    if loss == "chi2" and getattr(targets, "correlated", False):
        return targets.chi2(sigma)  # correlated χ² with nuisances (sidislab.fit.chi2)
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
    whole = loss == "chi2" and getattr(targets, "correlated", False)  # not a sum over points
    if chunk_size is None or chunk_size >= n or whole:
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
        return loss_value(functional_call(xsec, {PARAM: theta}, ()), targets, loss)

    return fn


def gradient_and_loss(fn: Callable[[Tensor], Tensor], theta: Tensor) -> tuple[float, Tensor]:
    t = theta.detach().clone().requires_grad_(True)
    value = fn(t)
    (g,) = torch.autograd.grad(value, t)
    return float(value.detach()), g
