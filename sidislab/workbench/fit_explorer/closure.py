r"""The bins and closure-test helpers of notebook 03 (no widgets, no figures).

* :class:`KinematicBin`, :func:`kinematic_bins`: the points that share experiment, x, Q²
  and z — one σ(qT) curve each; :func:`select_bins` takes a small, spread set of whole
  bins; :func:`spread` picks evenly spread indices (also the explorer's panels).
* :func:`perturbed`: the start θ_true·(1 ± f) of a closure test, as ``sidislab fit
  --perturb``.
* :func:`closure_rows`, :func:`max_relative_deviation`: recovered against true
  parameters; :func:`correlation_matrix` of the Hessian covariance C = 2H⁻¹
  (:mod:`sidislab.fit`); :func:`loss_shares`: each bin's share of χ² and of the MSE.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from sidislab import fit as F
from sidislab.kinematics import Kinematics

log = logging.getLogger(__name__)

__all__ = [
    "KinematicBin",
    "closure_rows",
    "correlation_matrix",
    "kinematic_bins",
    "loss_shares",
    "max_relative_deviation",
    "perturbed",
    "select_bins",
    "spread",
]


# --- kinematic bins ----------------------------------------------------------------------


@dataclass(frozen=True)
class KinematicBin:
    """Points that share experiment (label), x, Q² and z: one σ(qT) curve.

    ``indices`` index the points of the :class:`Kinematics` the bin was made from,
    ordered by increasing qT.
    """

    label: str
    x: float
    Q2: float
    z: float
    indices: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.indices)

    def title(self) -> str:
        """``HERMES  x=0.04 Q²=1.4 z=0.25`` (label upper-cased)."""
        return f"{self.label.upper()}  x={self.x:g} Q²={self.Q2:g} z={self.z:g}"


def kinematic_bins(kin: Kinematics, *, digits: int = 10) -> list[KinematicBin]:
    """Group the points of ``kin`` by (label, x, Q², z), in order of first appearance.

    Values are compared after rounding to ``digits`` significant digits, so that bins
    written with the same numbers group even after float round trips. Points without a
    label use the file name (``kin.source``).
    """
    labels = kin.labels or (kin.source,) * len(kin)

    def key(v: float) -> float:
        return float(f"{v:.{digits}g}")

    xs, q2s, zs = kin.x.tolist(), kin.Q2.tolist(), kin.z.tolist()
    qT = kin.qT.tolist()
    groups: dict[tuple[str, float, float, float], list[int]] = {}
    for i, (lab, x, q2, z) in enumerate(zip(labels, xs, q2s, zs)):
        groups.setdefault((lab, key(x), key(q2), key(z)), []).append(i)
    return [
        KinematicBin(lab, x, q2, z, tuple(sorted(idx, key=lambda i: qT[i])))
        for (lab, x, q2, z), idx in groups.items()
    ]


def spread(n_items: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n_items)`` (first and last included)."""
    if k >= n_items:
        return list(range(n_items))
    return sorted({round(float(v)) for v in np.linspace(0, n_items - 1, k)})


def select_bins(kin: Kinematics, n_points: int) -> Kinematics:
    """Whole bins of ``kin`` (:func:`kinematic_bins`), at most ``n_points`` points.

    The bins are spread evenly over the file's order (experiment, then x–Q², then z), so
    that a small selection still spans experiments, Q² and z — what the free parameters
    need to be constrained (a single z cannot fix the z-dependence of the TMD FF). At
    least one bin is taken. The points keep the order of ``kin``.

    Raises ``ValueError`` for ``n_points`` < 1.
    """
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 1:
        raise ValueError(f"select_bins: n_points must be a positive integer, got {n_points!r}")
    bins = kinematic_bins(kin)
    if not bins:
        raise ValueError(f"{kin.source}: no kinematic points to select from")
    chosen = spread(len(bins), 1)
    for k in range(2, len(bins) + 1):
        trial = spread(len(bins), k)
        if sum(len(bins[j]) for j in trial) > n_points:
            break
        chosen = trial
    index = sorted(i for j in chosen for i in bins[j].indices)
    log.info(
        "%s: %d of %d bins selected, %d points", kin.source, len(chosen), len(bins), len(index)
    )
    return kin.subset(index)


# --- closure-test helpers ----------------------------------------------------------------


def perturbed(vector: Tensor, fraction: float = 0.2, seed: int = 0) -> Tensor:
    """The start of a closure test: ``vector·(1 ± fraction)``, signs drawn with ``seed``.

    The same draw as ``sidislab fit --perturb fraction --seed seed`` (a
    ``torch.Generator`` seeded with ``seed``, one ``randint(0, 2)`` per parameter).
    """
    if not (math.isfinite(fraction) and fraction >= 0):
        raise ValueError(f"perturbed: fraction must be a finite number >= 0, got {fraction}")
    gen = torch.Generator().manual_seed(int(seed))
    signs = torch.randint(0, 2, vector.shape, generator=gen).to(vector) * 2 - 1
    return vector * (1 + fraction * signs)


def max_relative_deviation(result: F.FitResult) -> float:
    """max_p |θ_fit − θ_true| / |θ_true| of a closure fit (the true values must be known)."""
    if result.true is None:
        raise ValueError("max_relative_deviation: the fit has no true parameters (not a closure)")
    fit = torch.tensor(result.final, dtype=torch.float64)
    true = torch.tensor(result.true, dtype=torch.float64)
    return float(((fit - true).abs() / true.abs().clamp(min=1e-300)).max())


def closure_rows(result: F.FitResult, start: Sequence[float] | Tensor) -> list[dict[str, Any]]:
    """One row per free parameter: true, start, fit, uncertainty, relative deviation and
    pull (fit − true)/uncertainty (None where no covariance was computed)."""
    if result.true is None:
        raise ValueError("closure_rows: the fit has no true parameters (not a closure)")
    start_values = torch.as_tensor(start, dtype=torch.float64).tolist()
    errors = result.uncertainties or [None] * len(result.final)
    rows = []
    for name, true, s, fit, err in zip(
        result.parameter_names, result.true, start_values, result.final, errors
    ):
        rows.append(
            {
                "parameter": name,
                "true": true,
                "start": s,
                "fit": fit,
                "uncertainty": err,
                "(fit − true)/true": (fit - true) / true if true else math.nan,
                "pull": (fit - true) / err if err else None,
            }
        )
    return rows


def correlation_matrix(covariance: Sequence[Sequence[float]] | Tensor) -> Tensor:
    """ρ_ij = C_ij / √(C_ii C_jj) of a covariance matrix (float64)."""
    cov = torch.as_tensor(covariance, dtype=torch.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"correlation_matrix: expected a square matrix, got {tuple(cov.shape)}")
    d = cov.diagonal()
    if (d <= 0).any():
        i = int((d <= 0).nonzero()[0])
        raise ValueError(f"correlation_matrix: variance {i} is {d[i].item()} (must be > 0)")
    s = d.sqrt()
    return cov / (s[:, None] * s[None, :])


def loss_shares(
    sigma: Tensor, targets: F.Targets, bins: Sequence[KinematicBin]
) -> list[dict[str, Any]]:
    """How much each bin contributes to χ² and to the MSE at the given σ.

    Per point, χ² adds ((σ_i − t_i)/δ_i)² and the MSE (σ_i − t_i)²/N
    (:func:`sidislab.fit.loss_value`). Returns one row per bin: ``bin`` (its title),
    ``points``, ``sigma_max`` (the bin's largest |σ|), ``chi2_share`` and ``mse_share``
    (fractions of the totals over all points): an unweighted loss sees only the bins with
    the largest cross sections.
    """
    r = (sigma - targets.values).detach()
    chi2_terms = (r / targets.uncertainties) ** 2
    mse_terms = r**2
    chi2_total = float(chi2_terms.sum()) or 1.0
    mse_total = float(mse_terms.sum()) or 1.0
    rows = []
    for b in bins:
        if max(b.indices) >= len(sigma):
            raise ValueError(f"loss_shares: bin {b.title()} indexes beyond {len(sigma)} points")
        i = torch.tensor(b.indices, device=r.device)
        rows.append(
            {
                "bin": b.title(),
                "points": len(b),
                "sigma_max": float(sigma.detach()[i].abs().max()),
                "chi2_share": float(chi2_terms[i].sum()) / chi2_total,
                "mse_share": float(mse_terms[i].sum()) / mse_total,
            }
        )
    return rows
