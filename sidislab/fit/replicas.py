r"""Monte-Carlo replicas of measured data, fitted one by one: central value, spread and the
χ² distribution of the fitted parameters.

Fluctuation (as NangaParbat's active ``DataHandler::FluctuateData``,
``src/data/datahandler.cc``, commit 340fd2f): replica r of the data is

    m⁽ʳ⁾ = m + L ξ,   L Lᵀ = C = diag(σ²) + β βᵀ,   ξ ~ N(0, 1) [N]

an additive Gaussian with the full covariance, multiplicative (``mult``) sources included
with β built from the *central* values (or t₀); β stays that of the central data in every
replica's χ², as in NangaParbat. (NangaParbat keeps a log-normal / multiplicative
variant, m·Π(1 + f ξ), only in commented-out code.) Replica 0 is the central data,
unfluctuated (NangaParbat's ``fluctuation = 0``).

Each replica is a pure function of (replica index, seed, data, model factory, settings):
:func:`fit_replica` takes only plain picklable inputs (a top-level model factory and its
keyword arguments, a :class:`ReplicaData`, a :class:`~sidislab.fit.FitSettings`) so that
it can be shipped to a worker. :func:`sidislab.fit.parallel.run_replicas_on` runs them, serially or on an executor: one
JSON file per replica written atomically, replicas whose file exists are skipped (resume).
:func:`summarise` gives the central value, spread, χ² distribution and failed replicas.
"""

from __future__ import annotations

import json
import logging
import math
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from sidislab.fit.chi2 import CorrelatedTargets, nuisance_chi2
from sidislab.fit.optimise import FitSettings, fit
from sidislab.measurements.dataset import DataSet

__all__ = [
    "ReplicaData",
    "ReplicaSummary",
    "fit_replica",
    "fluctuate",
    "load_replicas",
    "replica_path",
    "summarise",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplicaData:
    """The data a replica needs, as plain lists (picklable, JSON-able): central
    ``values`` [N], uncorrelated ``sigma`` [N], correlated ``beta`` [N][K] (absolute,
    from the central values or t₀), the data set of each point and the source names."""

    values: list[float]
    sigma: list[float]
    beta: list[list[float]]
    datasets: list[str]
    sources: list[str] = field(default_factory=list)

    @classmethod
    def from_dataset(cls, data: DataSet, *, t0: Tensor | None = None) -> ReplicaData:
        return cls(
            data.values.tolist(),
            data.uncorrelated.tolist(),
            data.beta(t0).tolist(),
            list(data.bins.dataset),
            list(data.sources),
        )

    def tensors(self, dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor, Tensor]:
        """(values [N], σ [N], β [N, K])."""
        n = len(self.values)
        k = len(self.beta[0]) if self.beta else 0
        beta = torch.tensor(self.beta, dtype=dtype).reshape(n, k)  # K = 0: no correlations
        return (
            torch.tensor(self.values, dtype=dtype),
            torch.tensor(self.sigma, dtype=dtype),
            beta,
        )

    def covariance(self, dtype: torch.dtype = torch.float64) -> Tensor:
        _, s, b = self.tensors(dtype)
        return torch.diag(s**2) + b @ b.T

    @cached_property
    def cholesky(self) -> Tensor:
        """L with L Lᵀ = C (float64), computed once per object."""
        return torch.linalg.cholesky(self.covariance())

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the fields only: the cached N×N factor is not shipped to workers (170 MB
        at N = 4608); a worker factorises once for its copy."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @cached_property
    def uncorrelated(self) -> bool:
        """True when no point has a correlated source (β ≡ 0): C is diagonal."""
        return not any(v != 0.0 for row in self.beta for v in row)


def _generator(seed: int, replica: int) -> torch.Generator:
    """A generator that depends on (seed, replica) only (numpy SeedSequence mixing)."""
    state = np.random.SeedSequence([int(seed), int(replica)]).generate_state(1, np.uint64)[0]
    return torch.Generator(device="cpu").manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)


def fluctuate(data: ReplicaData, replica: int, seed: int = 0) -> Tensor:
    """Replica ``replica`` of the data: m + L ξ (see the module docstring); replica 0 is
    the central data."""
    values, sigma, _ = data.tensors()
    if replica == 0:
        return values
    xi = torch.randn(len(values), generator=_generator(seed, replica), dtype=values.dtype)
    if data.uncorrelated:
        # diagonal C: its Cholesky factor is diag(√(σ²)) exactly (L_jj = √(C_jj − 0), the
        # other entries 0), and L ξ is then σ ⊙ ξ to the bit. Skips an O(N³) factorisation
        # of a dense N×N matrix (1 s and 170 MB at N = 4608), once per worker.
        return values + (sigma**2).sqrt() * xi
    return values + data.cholesky @ xi


def _per_dataset(residuals: Tensor, sigma: Tensor, beta: Tensor, datasets: list[str]) -> dict:
    out: dict[str, float] = {}
    for name in dict.fromkeys(datasets):
        rows = torch.tensor([d == name for d in datasets])
        b = beta[rows]
        b = b[:, b.ne(0).any(dim=0)]
        d, p, _, _ = nuisance_chi2(residuals[rows], sigma[rows], b)
        out[name] = float(d + p)
    return out


def fit_replica(
    replica: int,
    seed: int,
    data: ReplicaData,
    model: Callable[..., Any],
    model_kwargs: Mapping[str, Any],
    settings: FitSettings,
    start: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Fit one replica; a pure function of its inputs, all plain and picklable.

    ``model(**model_kwargs)`` builds the differentiable theory (an ``nn.Module`` with
    ``fnp`` and ``kin`` as :func:`sidislab.fit.fit` expects, e.g.
    :func:`sidislab.fit.bin_model.bin_centre_cross_section`); ``start`` sets its free
    parameters first. Returns a JSON-able record: ``replica``, ``seed``, ``status``
    (``converged``, ``not converged`` or ``failed``), ``parameters`` (name → value),
    ``chi2`` (against the replica), ``chi2_central`` (against the central data),
    ``per_dataset`` (χ² against the central data), ``n_points``, ``reason``, ``seconds``
    and, for a failure, ``error`` and ``traceback``. A failure is recorded, logged and
    returned, not raised, so that one bad replica does not stop a run.
    """
    t_start = time.perf_counter()
    record: dict[str, Any] = {"replica": int(replica), "seed": int(seed)}
    try:
        xsec = model(**dict(model_kwargs))
        if start is not None:
            xsec.fnp.set_vector(torch.tensor(list(start), dtype=torch.float64))
        central, sigma, beta = data.tensors()
        values = fluctuate(data, replica, seed)
        total = (sigma**2 + (beta**2).sum(dim=1)).sqrt()
        targets = CorrelatedTargets(values, total, "replica", None, sigma, beta)
        result = fit(xsec, targets, settings, with_covariance=False)
        with torch.no_grad():
            theory = xsec()
        d, p, _, _ = nuisance_chi2(values - theory, sigma, beta)
        dc, pc, lam, _ = nuisance_chi2(central - theory, sigma, beta)
        status = getattr(result, "status", None) or (
            "converged" if result.converged else "not converged"
        )
        finite = math.isfinite(float(d + p))
        record.update(
            status=status if finite else "failed",
            parameters=dict(zip(result.parameter_names, result.final)),
            chi2=float(d + p),
            chi2_central=float(dc + pc),
            per_dataset=_per_dataset(central - theory, sigma, beta, data.datasets),
            nuisances_central=dict(zip(data.sources, lam.tolist())),
            n_points=len(central),
            epochs=len(result.history),
            reason=result.reason if finite else f"χ² is {float(d + p)}",
        )
    except Exception as exc:  # recorded as a failed replica (status, error, traceback)
        log.exception("replica %d (seed %d) failed", replica, seed)
        record.update(
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
            reason=str(exc),
        )
    record["seconds"] = time.perf_counter() - t_start
    return record


def replica_path(out_dir: str | Path, replica: int) -> Path:
    """The file of one replica's result."""
    return Path(out_dir) / f"replica_{int(replica):04d}.json"


def load_replicas(out_dir: str | Path) -> list[dict[str, Any]]:
    """The records of every ``replica_*.json`` in ``out_dir``, by replica index."""
    recs = [json.loads(p.read_text()) for p in sorted(Path(out_dir).glob("replica_*.json"))]
    return sorted(recs, key=lambda r: r["replica"])


@dataclass
class ReplicaSummary:
    """Replicas in numbers: per parameter the mean (central value), standard deviation
    (spread), median and 68% interval (16th–84th percentiles) over the usable replicas;
    their χ² (against their replica and against the central data); the failed and the
    not-converged replicas."""

    parameter_names: list[str]
    central: list[float]
    spread: list[float]
    median: list[float]
    interval68: list[tuple[float, float]]
    chi2: list[float]
    chi2_central: list[float]
    n_points: int
    used: list[int]
    failed: dict[int, str]
    not_converged: list[int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> str:
        lines = [f"{'parameter':<14} {'central':>12} {'spread':>12} {'median':>12}"]
        for n, c, s, m in zip(self.parameter_names, self.central, self.spread, self.median):
            lines.append(f"{n:<14} {c:>12.6g} {s:>12.6g} {m:>12.6g}")
        if self.chi2:
            c2 = np.asarray(self.chi2_central) / max(self.n_points, 1)
            lines.append(
                f"χ²/N (central data): mean {c2.mean():.4g}, sd {c2.std():.3g}, "
                f"{len(self.used)} replicas used, {len(self.failed)} failed, "
                f"{len(self.not_converged)} not converged"
            )
        return "\n".join(lines)


def summarise(
    records: Iterable[Mapping[str, Any]] | str | Path, *, include_not_converged: bool = False
) -> ReplicaSummary:
    """Summary of replica records (or of the files in a folder). Replica 0 (the central
    data) is left out of the statistics; failed replicas are listed with their reason, and
    not-converged ones are listed and, unless ``include_not_converged``, left out."""
    if isinstance(records, str | Path):
        records = load_replicas(records)
    records = [r for r in records if r["replica"] != 0]
    failed = {
        int(r["replica"]): str(r.get("reason", "")) for r in records if r["status"] == "failed"
    }
    not_conv = [int(r["replica"]) for r in records if r["status"] not in ("converged", "failed")]
    usable = [
        r
        for r in records
        if r["status"] == "converged" or (include_not_converged and r["status"] != "failed")
    ]
    if not usable:
        return ReplicaSummary([], [], [], [], [], [], [], 0, [], failed, not_conv)
    names = list(usable[0]["parameters"])
    P = np.array([[r["parameters"][n] for n in names] for r in usable], dtype=float)
    lo, hi = np.percentile(P, [16, 84], axis=0)
    return ReplicaSummary(
        parameter_names=names,
        central=P.mean(axis=0).tolist(),
        spread=(P.std(axis=0, ddof=1) if len(P) > 1 else np.zeros(len(names))).tolist(),
        median=np.median(P, axis=0).tolist(),
        interval68=list(zip(lo.tolist(), hi.tolist())),
        chi2=[float(r["chi2"]) for r in usable],
        chi2_central=[float(r["chi2_central"]) for r in usable],
        n_points=int(usable[0]["n_points"]),
        used=[int(r["replica"]) for r in usable],
        failed=failed,
        not_converged=not_conv,
    )
