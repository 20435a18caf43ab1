r"""Kinematic cuts on measured points: one small class per cut (as NangaParbat's
``src/cuts/``), a :class:`Cuts` rule made of them, MAP22's values as the default.

MAP22 (arXiv:2206.07598, Sec. 3; NangaParbat ``FitResults/MAP22_N3LL``): SIDIS points
with ⟨Q⟩ > 1.4 GeV, 0.2 < ⟨z⟩ < 0.7 and

    q_T/Q < min( min(c₁/z, c₂) + c₃/(Q z), 1 ),   q_T = |PhT|/z,   (c₁, c₂, c₃) = (0.2, 0.5, 0.3)

How NangaParbat evaluates them (read from its sources, commit 340fd2f):

- ``ChiSquare::AddBlock`` (``src/chi2/chisquare.cc``) takes z and Q at the *lower edges*
  of the file's z and Q bins (``var3b.first``, ``var1b.first``: the qualifiers' ``low``)
  and counts the PhT bins whose lower edge passes, minus one: for contiguous PhT bins that
  keeps the bins whose *upper* edge passes. :class:`QTOverQCut` does the same by default
  (``z_at="low"``, ``Q_at="low"``, ``PhT_at="high"``).
- The Q and z cuts of MAP22 were applied by listing files in ``data/datasets.yaml``; the
  rule that reproduces that list is on the averages ⟨Q⟩ = √⟨Q²⟩ and ⟨z⟩ of the points
  (``QCut`` in ``src/cuts/qcut.cc`` also uses ``Qav``); ``ZCut`` in ``src/cuts/zcut.cc``
  would use the bin edges. Both are offered (``at="average"`` or ``at="edges"``).

With these defaults on the 242 files MAP22 lists, the qT/Q cut leaves exactly the
published 344 HERMES and 1203 COMPASS points. Applied per point to all files the rule keeps
three HERMES z ∈ [0.6, 0.8] files that MAP22 dropped by hand.

Intervals are open (``>``/``<``), as in NangaParbat.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor

from sidislab.errors import ConfigError
from sidislab.measurements.bins import MeasuredBins
from sidislab.measurements.dataset import DataSet

__all__ = ["CUTS", "Cuts", "QCut", "QTOverQCut", "XCut", "ZCut", "apply_cuts", "map22_cuts"]

_AT = ("average", "edges")


@dataclass(frozen=True)
class _RangeCut:
    """min < v < max for one variable, on the point's average (``at="average"``) or on
    the whole bin (``at="edges"``: min < v_lo and v_hi < max)."""

    min: float = -math.inf
    max: float = math.inf
    at: str = "average"
    variable = ""

    def __post_init__(self) -> None:
        if self.at not in _AT:
            raise ConfigError(f"cuts.{self.variable}.at: {self.at!r} (allowed: {', '.join(_AT)})")
        if not self.min < self.max:
            raise ConfigError(f"cuts.{self.variable}: min = {self.min} ≥ max = {self.max}")

    def mask(self, bins: MeasuredBins) -> Tensor:
        v = self.variable
        if self.at == "average":
            value = getattr(bins, v)
            return (value > self.min) & (value < self.max)
        return (getattr(bins, f"{v}_lo") > self.min) & (getattr(bins, f"{v}_hi") < self.max)

    def describe(self) -> str:
        v = f"⟨{self.variable}⟩" if self.at == "average" else f"{self.variable} bin"
        return f"{self.min:g} < {v} < {self.max:g}"


@dataclass(frozen=True)
class QCut(_RangeCut):
    """Q_min < Q < Q_max (GeV); NangaParbat ``QCut`` (on ⟨Q⟩)."""

    variable = "Q"


@dataclass(frozen=True)
class ZCut(_RangeCut):
    """z_min < z < z_max; NangaParbat ``ZCut`` (bin edges when integrated)."""

    variable = "z"


@dataclass(frozen=True)
class XCut(_RangeCut):
    """x_min < x < x_max; NangaParbat ``XCut`` (bin edges when integrated)."""

    variable = "x"


_WHERE = ("low", "high", "average")


@dataclass(frozen=True)
class QTOverQCut:
    r"""q_T/Q < min(min(c₁/z, c₂) + c₃/(Q z), cap), q_T = |PhT|/z (MAP22,
    arXiv:2206.07598 Sec. 3; NangaParbat ``ChiSquare::AddBlock``).

    ``z_at``/``Q_at``: the z and Q used on both sides (``low`` edge, as NangaParbat, or
    ``average``); ``PhT_at``: the |PhT| (``high`` edge, NangaParbat's effective choice;
    ``low``; ``average`` = the bin's value).
    """

    c1: float = 0.2
    c2: float = 0.5
    c3: float = 0.3
    cap: float = 1.0
    z_at: str = "low"
    Q_at: str = "low"
    PhT_at: str = "high"

    def __post_init__(self) -> None:
        for name in ("z_at", "Q_at", "PhT_at"):
            if getattr(self, name) not in _WHERE:
                raise ConfigError(
                    f"cuts.qT_over_Q.{name}: {getattr(self, name)!r} (allowed: {', '.join(_WHERE)})"
                )

    @staticmethod
    def _pick(bins: MeasuredBins, var: str, where: str) -> Tensor:
        return getattr(bins, {"low": f"{var}_lo", "high": f"{var}_hi", "average": var}[where])

    def limit(self, bins: MeasuredBins) -> Tensor:
        """The largest q_T/Q allowed per point."""
        z = self._pick(bins, "z", self.z_at)
        Q = self._pick(bins, "Q", self.Q_at)
        c2 = torch.full_like(z, self.c2)
        return torch.clamp(torch.minimum(self.c1 / z, c2) + self.c3 / (Q * z), max=self.cap)

    def qT_over_Q(self, bins: MeasuredBins) -> Tensor:
        z = self._pick(bins, "z", self.z_at)
        Q = self._pick(bins, "Q", self.Q_at)
        return self._pick(bins, "PhT", self.PhT_at) / (z * Q)

    def mask(self, bins: MeasuredBins) -> Tensor:
        return self.qT_over_Q(bins) < self.limit(bins)

    def describe(self) -> str:
        return (
            f"PhT/(zQ) < min(min({self.c1:g}/z, {self.c2:g}) + {self.c3:g}/(Qz), {self.cap:g}) "
            f"[PhT {self.PhT_at}, z {self.z_at}, Q {self.Q_at}]"
        )


CUTS: dict[str, type] = {"Q": QCut, "z": ZCut, "x": XCut, "qT_over_Q": QTOverQCut}
"""The cut names of a ``cuts:`` mapping and their classes."""


@dataclass(frozen=True)
class Cuts:
    """A rule: a point passes when it passes every cut."""

    cuts: tuple = field(default_factory=tuple)

    def mask(self, bins: MeasuredBins) -> Tensor:
        keep = torch.ones(len(bins), dtype=torch.bool)
        for cut in self.cuts:
            keep &= cut.mask(bins)
        return keep

    def apply(self, data: DataSet) -> DataSet:
        """The points of ``data`` that pass."""
        return data.select(self.mask(data.bins))

    def report(self, data: DataSet) -> dict[str, tuple[int, int]]:
        """Data set → (points before, points after)."""
        keep = self.mask(data.bins).tolist()
        out: dict[str, list[int]] = {}
        for name, k in zip(data.bins.dataset, keep):
            row = out.setdefault(name, [0, 0])
            row[0] += 1
            row[1] += int(k)
        return {k: (v[0], v[1]) for k, v in out.items()}

    def describe(self) -> list[str]:
        return [c.describe() for c in self.cuts]

    def as_mapping(self) -> dict[str, dict[str, Any]]:
        """The ``cuts:`` mapping that :meth:`from_mapping` reads back."""
        names = {cls: name for name, cls in CUTS.items()}
        return {names[type(c)]: asdict(c) for c in self.cuts}

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any] | None, *, source: str = "cuts") -> Cuts:
        """Cuts from a mapping such as (YAML)::

            Q: {min: 1.4}
            z: {min: 0.2, max: 0.7}
            qT_over_Q: {c1: 0.2, c2: 0.5, c3: 0.3}

        ``None`` gives MAP22's cuts; an empty mapping no cuts."""
        if doc is None:
            return map22_cuts()
        if not isinstance(doc, Mapping):
            raise ConfigError(f"{source}: expected a mapping of cut name → settings")
        out = []
        for name, settings in doc.items():
            if name not in CUTS:
                raise ConfigError(f"{source}.{name}: unknown cut (allowed: {', '.join(CUTS)})")
            if settings is None:
                settings = {}
            if not isinstance(settings, Mapping):
                raise ConfigError(f"{source}.{name}: expected a mapping of settings")
            try:
                out.append(CUTS[name](**settings))
            except TypeError as exc:
                raise ConfigError(f"{source}.{name}: {exc}") from exc
        return cls(tuple(out))


def map22_cuts() -> Cuts:
    """MAP22's SIDIS cuts (see the module docstring)."""
    return Cuts((QCut(min=1.4), ZCut(min=0.2, max=0.7), QTOverQCut()))


def apply_cuts(data: DataSet, cuts: Cuts | Sequence | None = None) -> DataSet:
    """``data`` after ``cuts`` (default MAP22's)."""
    if cuts is None:
        cuts = map22_cuts()
    elif not isinstance(cuts, Cuts):
        cuts = Cuts(tuple(cuts))
    return cuts.apply(data)
