r"""What a fit aims at: target values t_i with uncertainties δ_i.

Targets are constants (the old script's job) or pseudo-data generated from known "true"
parameters, optionally with Gaussian noise (a closure test).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from sidislab.observables.xsec import CrossSection


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
