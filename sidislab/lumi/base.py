"""The luminosity-provider interface.

A provider computes the per-flavour luminosity L_q(b) (physics.md §1) for a batch of
kinematic points at requested b-nodes. It is a pure function of its configuration and of
the chunk of points it is given, so that cache builds can be split over processes or a
Dask cluster and merged by :mod:`sidislab.lumi.cache`.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from sidislab.kinematics import Kinematics

LUMI_FLAVOURS: tuple[int, ...] = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5)
"""PDG ids of the rows of a luminosity array [N, F, Nb]: b̄ c̄ s̄ ū d̄ d u s c b.

Flavours above nf(μ = Cf·Q) carry L_q = 0 (physics.md §1: q = ±1..±nf).
"""


class LuminosityProvider(abc.ABC):
    """Computes L_q(b) in GeV⁻³ (times the dimensionless Y₊/x, e_q², …) per flavour.

    Subclasses set ``name`` and implement :meth:`fingerprint` and :meth:`luminosity`.
    Instances must be picklable (scale-out) or document why not.
    """

    name: str = "abstract"
    flavours: tuple[int, ...] = LUMI_FLAVOURS

    @abc.abstractmethod
    def fingerprint(self) -> dict[str, Any]:
        """A JSON-serialisable description of everything the result depends on.

        It enters the cache key: provider name, perturbative order, scales, coupling
        choices, set names with file checksums, numerical settings of the engine.
        """

    @abc.abstractmethod
    def luminosity(self, kin: Kinematics, b: np.ndarray) -> np.ndarray:
        """L_q(b) for every point and flavour.

        ``b``: nodes in GeV⁻¹, shape [Nb] (same for all points) or [N, Nb] (per point,
        e.g. Ogata nodes). Returns float64 ``[N, len(self.flavours), Nb]``.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.fingerprint()!r})"


def as_nodes(kin: Kinematics, b: np.ndarray) -> np.ndarray:
    """Validate b-nodes against a batch and broadcast them to [N, Nb] float64."""
    b = np.asarray(b, dtype=np.float64)
    n = len(kin)
    if b.ndim == 1:
        b = np.broadcast_to(b, (n, b.shape[0]))
    if b.ndim != 2 or b.shape[0] != n:
        raise ValueError(f"b-nodes must have shape [Nb] or [N={n}, Nb], got {b.shape}")
    if not np.isfinite(b).all() or (b <= 0).any():
        raise ValueError("b-nodes must be finite and > 0 (GeV⁻¹)")
    return b
