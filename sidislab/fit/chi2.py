r"""χ² with correlated uncertainties and nuisance parameters (MAP/NangaParbat).

With residuals r = m − t (data minus theory), uncorrelated uncertainties σ [N] and
correlated ones β [N, K] (:meth:`sidislab.measurements.DataSet.beta`), NangaParbat
(``ChiSquare::GetSystematicShifts``, ``src/chi2/chisquare.cc``; arXiv:2206.07598 Eq. 3.3)
writes

    χ²(λ) = Σ_i (r_i − Σ_k λ_k β_ik)² / σ_i²  +  Σ_k λ_k²  =  χ²_D + χ²_λ

and solves the nuisance parameters exactly, A λ = ρ with
A = 1 + βᵀ diag(σ⁻²) β and ρ = βᵀ (r/σ²). At that λ, χ² = rᵀ C⁻¹ r with
C = diag(σ²) + β βᵀ (Woodbury identity). The shifts s = β λ are what the correlated
uncertainties move the data by (the shifted data m − s are compared with t by σ alone).
Everything is torch (float64 in, float64 out) and differentiable in t.

The t₀ prescription (NangaParbat ``t0prescription``; Ball et al., arXiv:0912.2276): the
multiplicative sources are scaled by a fixed theory t₀ instead of the data, which avoids
the d'Agostini bias of a χ² whose normalisation uncertainties scale with the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from sidislab.fit.targets import Targets
from sidislab.measurements.dataset import DataSet

__all__ = ["Chi2Result", "CorrelatedChi2", "CorrelatedTargets", "NuisanceSolver", "nuisance_chi2"]


def nuisance_chi2(
    residuals: Tensor, sigma: Tensor, beta: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """χ²_D, χ²_λ, λ [K] and the shifts β λ [N] for residuals r = data − theory (see the
    module docstring). Differentiable in every input."""
    w = residuals / sigma**2
    if beta.shape[1] == 0:
        zero = residuals.new_zeros(())
        return (
            (residuals**2 / sigma**2).sum(),
            zero,
            residuals.new_zeros(0),
            torch.zeros_like(residuals),
        )
    bs = beta / sigma.unsqueeze(1)
    A = torch.eye(beta.shape[1], dtype=beta.dtype, device=beta.device) + bs.T @ bs
    rho = beta.T @ w
    L = torch.linalg.cholesky(A)
    lam = torch.cholesky_solve(rho.unsqueeze(1), L).squeeze(1)
    shifts = beta @ lam
    chi2_d = ((residuals - shifts) ** 2 / sigma**2).sum()
    chi2_l = (lam**2).sum()
    return chi2_d, chi2_l, lam, shifts


class NuisanceSolver:
    """:func:`nuisance_chi2` for fixed σ and β: A⁻¹ (K×K) is computed once, so that each
    call costs three matrix-vector products (differentiable in the residuals). A depends
    on σ and β only, which a fit keeps fixed."""

    def __init__(self, sigma: Tensor, beta: Tensor) -> None:
        self.sigma = sigma.detach()
        self.beta = beta.detach()
        k = beta.shape[1]
        bs = self.beta / self.sigma.unsqueeze(1)
        A = torch.eye(k, dtype=beta.dtype, device=beta.device) + bs.T @ bs
        self.A_inv = torch.cholesky_inverse(torch.linalg.cholesky(A)) if k else A

    def __call__(self, residuals: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """χ²_D, χ²_λ, λ, shifts (as :func:`nuisance_chi2`)."""
        if self.beta.shape[1] == 0:
            return nuisance_chi2(residuals, self.sigma, self.beta)
        lam = self.A_inv @ (self.beta.T @ (residuals / self.sigma**2))
        shifts = self.beta @ lam
        chi2_d = ((residuals - shifts) ** 2 / self.sigma**2).sum()
        return chi2_d, (lam**2).sum(), lam, shifts


@dataclass
class Chi2Result:
    """A χ² evaluation: total, its two parts, λ [K], shifts [N], per data set, N."""

    chi2: Tensor
    chi2_data: Tensor
    chi2_penalty: Tensor
    lambdas: Tensor
    shifts: Tensor
    per_dataset: dict[str, float] = field(default_factory=dict)
    points_per_dataset: dict[str, int] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    @property
    def n_points(self) -> int:
        return len(self.shifts)

    def as_dict(self) -> dict:
        """Plain numbers (JSON)."""
        return {
            "chi2": float(self.chi2),
            "chi2_data": float(self.chi2_data),
            "chi2_penalty": float(self.chi2_penalty),
            "n_points": self.n_points,
            "chi2_per_point": float(self.chi2) / max(self.n_points, 1),
            "per_dataset": dict(self.per_dataset),
            "points_per_dataset": dict(self.points_per_dataset),
            "nuisances": dict(zip(self.sources, self.lambdas.tolist())),
        }


class CorrelatedChi2:
    """The correlated χ² of a :class:`DataSet` as a function of the theory [N].

    β is fixed at construction: f·m with m the data set's central values, or f·t₀ for the
    multiplicative sources when ``t0`` is given (the t₀ prescription). ``values`` of a
    call replace the data (a replica) without changing β, as NangaParbat does.
    """

    def __init__(self, data: DataSet, *, t0: Tensor | None = None) -> None:
        self.data = data
        self.values = data.values
        self.sigma = data.uncorrelated
        self.beta = data.beta(t0)
        self.solver = NuisanceSolver(self.sigma, self.beta)
        self.t0 = None if t0 is None else torch.as_tensor(t0, dtype=data.values.dtype)
        self.names = data.names
        self._point_set = data.dataset_index()
        pos = {n: i for i, n in enumerate(self.names)}
        self._source_set = torch.tensor(
            [pos[s.rsplit(":", 1)[0]] for s in data.sources], dtype=torch.long
        )

    def __len__(self) -> int:
        return len(self.values)

    def covariance(self) -> Tensor:
        """C = diag(σ²) + β βᵀ [N, N]."""
        return torch.diag(self.sigma**2) + self.beta @ self.beta.T

    def __call__(self, theory: Tensor, values: Tensor | None = None) -> Tensor:
        """χ² (a differentiable scalar)."""
        d, p, _, _ = self.solver(self._residuals(theory, values))
        return d + p

    def _residuals(self, theory: Tensor, values: Tensor | None) -> Tensor:
        m = self.values if values is None else values
        if theory.shape != m.shape:
            raise ValueError(f"theory has shape {tuple(theory.shape)}, the data {tuple(m.shape)}")
        return m - theory

    def evaluate(self, theory: Tensor, values: Tensor | None = None) -> Chi2Result:
        """χ², its parts, λ, shifts and the χ² per data set: each data set's points'
        χ²_D plus the λ² of its sources (files are uncorrelated with each other, so this
        is each data set's own rᵀC⁻¹r and the parts add up to the total)."""
        r = self._residuals(theory, values)
        d, p, lam, shifts = self.solver(r)
        per_point = ((r - shifts) / self.sigma) ** 2
        n_sets = len(self.names)
        per_set = torch.zeros(n_sets, dtype=r.dtype).index_add(
            0, self._point_set, per_point.detach()
        )
        if len(lam):
            per_set = per_set.index_add(0, self._source_set, lam.detach() ** 2)
        counts = torch.bincount(self._point_set, minlength=n_sets).tolist()
        return Chi2Result(
            chi2=d + p,
            chi2_data=d,
            chi2_penalty=p,
            lambdas=lam,
            shifts=shifts,
            per_dataset=dict(zip(self.names, per_set.tolist())),
            points_per_dataset=dict(zip(self.names, counts)),
            sources=list(self.data.sources),
        )


@dataclass
class CorrelatedTargets(Targets):
    """Targets whose ``chi2`` loss is the correlated χ² (a drop-in for :class:`Targets`
    in :func:`sidislab.fit.fit`): ``values`` the (possibly fluctuated) data,
    ``uncertainties`` √C_ii (used only by diagnostics), ``uncorrelated`` σ and ``beta``
    β [N, K] fixed (see :class:`CorrelatedChi2`)."""

    uncorrelated: Tensor | None = None
    beta: Tensor | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        n = len(self.values)
        if self.uncorrelated is None or self.uncorrelated.shape != (n,):
            raise ValueError("CorrelatedTargets.uncorrelated: a tensor of shape [N] is needed")
        if self.beta is None or self.beta.dim() != 2 or self.beta.shape[0] != n:
            raise ValueError("CorrelatedTargets.beta: a tensor of shape [N, K] is needed")
        if not (self.uncorrelated > 0).all():
            raise ValueError("CorrelatedTargets.uncorrelated: every σ_i must be > 0")
        self._solver = NuisanceSolver(self.uncorrelated, self.beta)

    correlated = True

    def chi2(self, theory: Tensor) -> Tensor:
        """The correlated χ² of ``theory`` [N] against these targets."""
        d, p, _, _ = self._solver(self.values - theory)
        return d + p

    @classmethod
    def from_chi2(
        cls,
        chi2: CorrelatedChi2,
        values: Tensor | None = None,
        *,
        kind: str = "data",
        true_vector: Tensor | None = None,
    ) -> CorrelatedTargets:
        """Targets for the data of ``chi2`` (or other ``values``, e.g. a replica)."""
        v = chi2.values if values is None else values
        total = (chi2.sigma**2 + (chi2.beta**2).sum(dim=1)).sqrt()
        return cls(v.detach(), total, kind, true_vector, chi2.sigma, chi2.beta)
