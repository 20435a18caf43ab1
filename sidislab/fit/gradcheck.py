r"""Gradient validation: autograd against finite differences, per free parameter."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import functional_call

from sidislab.fit.loss import PARAM, gradient_and_loss, loss_of_vector
from sidislab.fit.targets import Targets
from sidislab.observables.xsec import CrossSection


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
    _, g = gradient_and_loss(fn, theta)
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
            return functional_call(xsec, {PARAM: t}, ())[:sub]

        ok = bool(
            torch.autograd.gradcheck(
                sigma_of, (theta.clone().requires_grad_(True),), eps=1e-6, atol=1e-8, rtol=1e-5
            )
        )
    return GradientCheck(xsec.fnp.parameter_names(), g.tolist(), fd.tolist(), rel, ok)
