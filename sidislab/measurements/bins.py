r"""The kinematic bins of measured points, batched: the contract between the data readers
(:mod:`sidislab.measurements`) and the observables that average over bins
(:mod:`sidislab.observables`).

One row per measured point (N points, all data sets concatenated). For a point the
measurement is the observable averaged over

    x ∈ [x_lo, x_hi],  Q ∈ [Q_lo, Q_hi],  z ∈ [z_lo, z_hi],  |PhT| ∈ [PhT_lo, PhT_hi]

restricted to the phase space of ``PS_reduction`` (W > W_min, y ∈ [y_min, y_max]), as the
NangaParbat data files (HEPData-like qualifiers) define it; a variable whose qualifier has
no ``integrate: true`` is taken at its bin-centre value (``integrate_*`` False). Units: GeV.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch
from torch import Tensor

__all__ = ["BIN_TENSORS", "MeasuredBins"]

BIN_TENSORS = (
    "charge",
    "target_isoscalarity",
    "prefactor",
    "Vs",
    "x_lo",
    "x_hi",
    "x",
    "Q_lo",
    "Q_hi",
    "Q",
    "z_lo",
    "z_hi",
    "z",
    "PhT_lo",
    "PhT_hi",
    "PhT",
    "W_min",
    "y_min",
    "y_max",
    "integrate_x",
    "integrate_Q",
    "integrate_z",
    "PhT_factor",
)
"""The per-point tensor fields ([N] each; float64, the ``integrate_*`` ones bool)."""


@dataclass(frozen=True)
class MeasuredBins:
    """Bins of N measured points.

    Per point, as lists: ``dataset`` (the data set's name, its file's stem),
    ``observable`` (the file's ``observable`` qualifier: ``multiplicity`` is dM/d|PhT|,
    ``(dsigma/dxdzdQ2dPhT2)/dsigmaDIS`` is per PhT²), ``hadron`` (``PI``, ``KA``, ``HD``).
    Per point, as [N] tensors: ``charge`` (+1/−1), ``target_isoscalarity`` (1 proton,
    0.5 deuteron), ``prefactor``, ``Vs`` (√s), the bin limits and centre values of x, Q,
    z and |PhT|, the ``PS_reduction`` cuts ``W_min``, ``y_min``, ``y_max`` (0, 0, 1 when a
    file has none) and the ``integrate_*`` flags.

    ``PhT_factor`` (added by the data readers; default 1): the ``factor`` key of a PhT
    bin in NangaParbat's files (``DataHandler::Kinematics::qTfact``), a factor NangaParbat
    multiplies the prediction of that bin by. The COMPASS files (per-PhT² observable)
    carry 1/(PhT_lo + PhT_hi) = ΔPhT/ΔPhT², which turns the PhT-bin average of a per-|PhT|
    quantity into the bin average per PhT²; HERMES files carry none (1).
    """

    dataset: list[str]
    observable: list[str]
    hadron: list[str]
    charge: Tensor
    target_isoscalarity: Tensor
    prefactor: Tensor
    Vs: Tensor
    x_lo: Tensor
    x_hi: Tensor
    x: Tensor
    Q_lo: Tensor
    Q_hi: Tensor
    Q: Tensor
    z_lo: Tensor
    z_hi: Tensor
    z: Tensor
    PhT_lo: Tensor
    PhT_hi: Tensor
    PhT: Tensor
    W_min: Tensor
    y_min: Tensor
    y_max: Tensor
    integrate_x: Tensor
    integrate_Q: Tensor
    integrate_z: Tensor
    PhT_factor: Tensor | None = None

    def __post_init__(self) -> None:
        n = len(self.dataset)
        if self.PhT_factor is None:  # added field: NangaParbat's per-PhT-bin ``factor``
            like = self.PhT if isinstance(self.PhT, Tensor) else torch.zeros(n)
            object.__setattr__(self, "PhT_factor", torch.ones_like(like))
        for name in ("observable", "hadron"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"MeasuredBins.{name}: {len(getattr(self, name))} entries, {n} points"
                )
        for name in BIN_TENSORS:
            t = getattr(self, name)
            if not isinstance(t, Tensor) or t.shape != (n,):
                shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ValueError(
                    f"MeasuredBins.{name}: expected a tensor of shape ({n},), got {shape}"
                )
            if t.dtype != torch.bool and not torch.isfinite(t).all():
                i = int((~torch.isfinite(t)).nonzero()[0])
                raise ValueError(
                    f"MeasuredBins.{name}: point {i} ({self.dataset[i]}) is {t[i].item()}"
                )
        for lo, hi in (("x_lo", "x_hi"), ("Q_lo", "Q_hi"), ("z_lo", "z_hi"), ("PhT_lo", "PhT_hi")):
            bad = getattr(self, lo) > getattr(self, hi)
            if bad.any():
                i = int(bad.nonzero()[0])
                raise ValueError(
                    f"MeasuredBins: point {i} ({self.dataset[i]}): {lo} = "
                    f"{getattr(self, lo)[i].item()} > {hi} = {getattr(self, hi)[i].item()}"
                )

    def __len__(self) -> int:
        return len(self.dataset)

    def select(self, index: Tensor | Sequence[int] | slice) -> MeasuredBins:
        """The bins of a subset of points (a boolean mask, indices or a slice)."""
        if isinstance(index, slice):
            idx = torch.arange(len(self))[index]
        else:
            idx = torch.as_tensor(index)
            if idx.dtype == torch.bool:
                idx = idx.nonzero().flatten()
        rows = idx.tolist()
        kw = {}
        for f in fields(self):
            v = getattr(self, f.name)
            kw[f.name] = [v[i] for i in rows] if isinstance(v, list) else v[idx]
        return MeasuredBins(**kw)

    @classmethod
    def concatenate(cls, parts: Sequence[MeasuredBins]) -> MeasuredBins:
        """All points of several bin sets, in order."""
        if not parts:
            raise ValueError("MeasuredBins.concatenate: nothing to concatenate")
        kw = {}
        for f in fields(cls):
            vs = [getattr(p, f.name) for p in parts]
            kw[f.name] = [v for p in vs for v in p] if isinstance(vs[0], list) else torch.cat(vs)
        return cls(**kw)
