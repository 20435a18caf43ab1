r"""Parameter covariance at the minimum: C = 2 H⁻¹, H = ∂²χ²/∂θ² by autograd
(χ² = −2 ln 𝓛 + const)."""

from __future__ import annotations

import torch
from torch import Tensor

from sidislab.fit.loss import loss_of_vector
from sidislab.fit.targets import Targets
from sidislab.observables.xsec import CrossSection


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
