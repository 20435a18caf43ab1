r"""A batched measured data set: bins, values and the uncertainty model of N points
(one or many files concatenated).

Uncertainty model (NangaParbat ``DataHandler``, ``src/data/datahandler.cc``):

    C_ij = δ_ij σ_i² + Σ_k β_ik β_jk,     β_ik = f_ik · m_i

with σ_i the uncorrelated uncertainty (the ``unc`` entries added in quadrature), f_ik the
correlated fractions (``add`` and ``mult`` entries; k runs over the sources of all files,
block-diagonal: files are uncorrelated with each other) and m_i the measured value, or,
for the multiplicative (``mult``) sources under the t₀ prescription, the theory t₀_i of a
reference fit (NangaParbat scales ``mult`` by t₀_i/m_i, ``ChiSquare::GetSystematicShifts``).
Columns whose fractions are all zero are dropped (they carry no uncertainty).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from sidislab.errors import DataError
from sidislab.measurements.bins import MeasuredBins
from sidislab.measurements.nangaparbat import DataFile

__all__ = ["DataSet"]


@dataclass(frozen=True)
class DataSet:
    """N measured points: ``bins`` (:class:`MeasuredBins`), ``values`` [N], ``uncorrelated``
    σ [N], correlated fractions ``corr`` [N, K], ``multiplicative`` [K] (bool: a ``mult``
    source, scaled by t₀ under the t₀ prescription) and ``sources`` [K] (names
    ``<data set>:<label><j>``)."""

    bins: MeasuredBins
    values: Tensor
    uncorrelated: Tensor
    corr: Tensor
    multiplicative: Tensor
    sources: list[str]

    def __post_init__(self) -> None:
        n, k = len(self.bins), len(self.sources)
        for name, shape in (
            ("values", (n,)),
            ("uncorrelated", (n,)),
            ("corr", (n, k)),
            ("multiplicative", (k,)),
        ):
            got = tuple(getattr(self, name).shape)
            if got != shape:
                raise DataError(f"DataSet.{name}: shape {got}, expected {shape}")
        if n and not (self.uncorrelated > 0).all():
            i = int((self.uncorrelated <= 0).nonzero()[0])
            raise DataError(
                f"DataSet: point {i} ({self.bins.dataset[i]}) has uncorrelated uncertainty "
                f"{self.uncorrelated[i].item()} (must be > 0)"
            )

    # --- construction --------------------------------------------------------------------
    @classmethod
    def from_files(cls, files: Sequence[DataFile]) -> DataSet:
        """Concatenate files (in the given order); correlated sources stay per file."""
        files = [f for f in files if len(f.values)]
        if not files:
            raise DataError("DataSet.from_files: no measured points in the selected files")
        n = sum(len(f.values) for f in files)
        cols, mult, names = [], [], []
        start = 0
        dtype = files[0].values.dtype
        for f in files:
            m = len(f.values)
            n_add = int((~f.multiplicative).sum())
            for j in range(f.corr.shape[1]):
                c = f.corr[:, j]
                if not c.any():
                    continue
                col = torch.zeros(n, dtype=dtype)
                col[start : start + m] = c
                cols.append(col)
                is_mult = bool(f.multiplicative[j])
                mult.append(is_mult)
                names.append(
                    f"{f.name}:{'mult' if is_mult else 'add'}{j - (n_add if is_mult else 0)}"
                )
            start += m
        corr = torch.stack(cols, dim=1) if cols else torch.zeros(n, 0, dtype=dtype)
        return cls(
            bins=MeasuredBins.concatenate([f.bins for f in files]),
            values=torch.cat([f.values for f in files]),
            uncorrelated=torch.cat([f.uncorrelated for f in files]),
            corr=corr,
            multiplicative=torch.tensor(mult, dtype=torch.bool),
            sources=names,
        )

    # --- views ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.bins)

    @property
    def names(self) -> list[str]:
        """The data sets, in order of first appearance."""
        return list(dict.fromkeys(self.bins.dataset))

    def dataset_index(self) -> Tensor:
        """[N] integer index of each point's data set in :attr:`names`."""
        pos = {name: i for i, name in enumerate(self.names)}
        return torch.tensor([pos[d] for d in self.bins.dataset], dtype=torch.long)

    def select(self, mask: Tensor | Sequence[int]) -> DataSet:
        """The points of a boolean mask or index list; sources left without points go."""
        idx = torch.as_tensor(mask)
        if idx.dtype == torch.bool:
            if idx.shape != (len(self),):
                raise DataError(
                    f"DataSet.select: mask of shape {tuple(idx.shape)}, N = {len(self)}"
                )
            idx = idx.nonzero().flatten()
        corr = self.corr[idx]
        keep = corr.ne(0).any(dim=0)
        return DataSet(
            bins=self.bins.select(idx),
            values=self.values[idx],
            uncorrelated=self.uncorrelated[idx],
            corr=corr[:, keep],
            multiplicative=self.multiplicative[keep],
            sources=[s for s, k in zip(self.sources, keep.tolist()) if k],
        )

    def with_values(self, values: Tensor) -> DataSet:
        """The same points and uncertainties with other central values (replicas,
        pseudo-data). The fractions f stay; β = f·m then follows the new values unless a
        t₀ is given."""
        values = torch.as_tensor(values, dtype=self.values.dtype)
        return DataSet(
            self.bins, values, self.uncorrelated, self.corr, self.multiplicative, self.sources
        )

    # --- uncertainty model ---------------------------------------------------------------
    def beta(self, t0: Tensor | None = None, reference: Tensor | None = None) -> Tensor:
        """Absolute correlated uncertainties β [N, K]: β_ik = f_ik·m_i, with m the
        ``reference`` values (default: the measured :attr:`values`) and, for the ``mult``
        sources when ``t0`` is given, m_i = t0_i (the t₀ prescription)."""
        ref = self.values if reference is None else reference
        scale = ref.unsqueeze(1).expand_as(self.corr)
        if t0 is not None:
            t0 = torch.as_tensor(t0, dtype=self.values.dtype)
            if t0.shape != self.values.shape:
                raise DataError(f"t0: shape {tuple(t0.shape)}, expected ({len(self)},)")
            scale = torch.where(self.multiplicative.unsqueeze(0), t0.unsqueeze(1), scale)
        return self.corr * scale

    def covariance(self, t0: Tensor | None = None) -> Tensor:
        """C = diag(σ²) + β βᵀ [N, N] (see the module docstring)."""
        b = self.beta(t0)
        return torch.diag(self.uncorrelated**2) + b @ b.T

    def total_uncertainty(self, t0: Tensor | None = None) -> Tensor:
        """√C_ii [N]: uncorrelated and correlated uncertainties in quadrature."""
        return (self.uncorrelated**2 + (self.beta(t0) ** 2).sum(dim=1)).sqrt()

    def counts(self) -> dict[str, int]:
        """Points per data set."""
        out: dict[str, int] = {}
        for d in self.bins.dataset:
            out[d] = out.get(d, 0) + 1
        return out
