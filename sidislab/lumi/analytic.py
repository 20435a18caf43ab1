"""Closed-form toy luminosities whose Hankel transforms are known exactly.

For tests, benchmarks and teaching: an :class:`AnalyticProvider` gives every flavour a sum
of terms

    L_q(b) = Σ_k c_{q,k} · b^{2 n_k} · e^{−a_{q,k}(Q) b²},   a_{q,k}(Q) = a_{q,k} + κ ln(Q²/Q0²),

(c > 0 in GeV⁻³ by convention, a > 0 in GeV², n = 0, 1, 2, …; Q0 = 1 GeV; κ ≥ 0 in GeV²
mimics the growth of the Sudakov suppression with ln Q², as the MAP22 evolution factor
e^{−g2² b² ln(ζ/Q0²)/4} does, physics.md §5). Its transform is exact (physics.md §6,
differentiating the Gaussian pair n times in a; Gradshteyn–Ryzhik 6.631.10):

    ∫₀^∞ db b J0(qT b) b^{2n} e^{−a b²} = n! / (2 a^{n+1}) · e^{−t} · L_n(t),   t = qT²/(4a),

with L_n the Laguerre polynomial (L_0 = 1, L_1 = 1 − t, …). n = 0 is the Gaussian pair
e^{−qT²/(4a)}/(2a) of physics.md §6.

**Times a Gaussian fNP.** If the non-perturbative factor is a Gaussian common to all
flavours, f_NP(b) · D_NP(b) = e^{−w b²}, the product L_q · f_NP · D_NP is again of the form
above with a → a + w, so :meth:`AnalyticProvider.exact_transform` takes ``extra_width=w``
(a number, or one per point). For MAP22 with λ = λ2 = λF = 0 (single Gaussians,
physics.md §5) at ζ = Q²: w = g1(x)/4 + g3(z)/(4z²) + (g2²/2) ln(Q²/Q0²).

Unlike a real luminosity, these L_q do not saturate at large b (no b*): they decay to 0.
The luminosity cache continues tables flat outside their range, which for these toys is
exact only where L has decayed (b_max² · min a ≳ 40 for 1e-17 relative) and at small b
(L(b) − L(0) = O(a b²)); choose widths accordingly (see :mod:`sidislab.lumi.cache`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sidislab.constants import QUARK_CHARGE2
from sidislab.kinematics import Kinematics
from sidislab.lumi.base import LUMI_FLAVOURS, LuminosityProvider, as_nodes

__all__ = ["MAX_POWER", "AnalyticProvider", "GaussianTerm", "hankel_gaussian_moment"]

MAX_POWER: int = 8
"""Largest n of a b^{2n} e^{−a b²} term (higher ones make a poor test: huge cancellations)."""

FORMAT_VERSION: int = 1
"""Version of the provider's formula; part of its fingerprint (and so of cache keys)."""


@dataclass(frozen=True)
class GaussianTerm:
    """One term c · b^{2n} · e^{−a b²} of an analytic luminosity.

    Attributes:
        c: normalisation (> 0), GeV⁻³ by convention (the units of L_q).
        a: Gaussian width parameter (> 0), GeV².
        n: power of b² (integer, 0 ≤ n ≤ :data:`MAX_POWER`).
    """

    c: float
    a: float
    n: int = 0

    def __post_init__(self) -> None:
        for name in ("c", "a"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"GaussianTerm.{name} must be a finite number, got {v!r}")
            if v <= 0:
                raise ValueError(f"GaussianTerm.{name} must be > 0, got {v!r}")
        if isinstance(self.n, bool) or not isinstance(self.n, int):
            raise ValueError(f"GaussianTerm.n must be an integer, got {self.n!r}")
        if not 0 <= self.n <= MAX_POWER:
            raise ValueError(f"GaussianTerm.n = {self.n} not in [0, {MAX_POWER}]")
        object.__setattr__(self, "c", float(self.c))
        object.__setattr__(self, "a", float(self.a))

    def as_list(self) -> list[float | int]:
        return [self.c, self.a, self.n]


def _laguerre(n: int, t: np.ndarray) -> np.ndarray:
    """Laguerre polynomial L_n(t) by the three-term recurrence (k+1)L_{k+1} = (2k+1−t)L_k − k L_{k−1}."""
    prev = np.ones_like(t)
    if n == 0:
        return prev
    cur = 1.0 - t
    for k in range(1, n):
        prev, cur = cur, ((2 * k + 1 - t) * cur - k * prev) / (k + 1)
    return cur


def hankel_gaussian_moment(n: int, a: np.ndarray | float, qT: np.ndarray | float) -> np.ndarray:
    """∫₀^∞ db b J0(qT b) b^{2n} e^{−a b²} = n!/(2 a^{n+1}) e^{−t} L_n(t), t = qT²/(4a).

    Exact (physics.md §6; Gradshteyn–Ryzhik 6.631.10). ``a`` > 0 (GeV²) and ``qT`` ≥ 0
    (GeV) broadcast together; the result is in GeV^{−2−2n}.
    """
    a = np.asarray(a, dtype=np.float64)
    qT = np.asarray(qT, dtype=np.float64)
    if (a <= 0).any() or not np.isfinite(a).all():
        raise ValueError("hankel_gaussian_moment: a must be finite and > 0")
    if (qT < 0).any() or not np.isfinite(qT).all():
        raise ValueError("hankel_gaussian_moment: qT must be finite and >= 0")
    t = qT**2 / (4.0 * a)
    return math.factorial(n) / (2.0 * a ** (n + 1)) * np.exp(-t) * _laguerre(n, t)


def _as_terms(spec: Any, pid: int) -> tuple[GaussianTerm, ...]:
    if isinstance(spec, GaussianTerm):
        return (spec,)
    if not isinstance(spec, Iterable) or isinstance(spec, (str, bytes)):
        raise ValueError(f"AnalyticProvider: terms[{pid}] must be a list of (c, a, n) terms")
    out = []
    for k, term in enumerate(spec):
        if isinstance(term, GaussianTerm):
            out.append(term)
        elif isinstance(term, Mapping):
            try:
                out.append(GaussianTerm(**term))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"AnalyticProvider: terms[{pid}][{k}]: {exc}") from exc
        elif isinstance(term, Sequence) and len(term) in (2, 3):
            try:
                out.append(GaussianTerm(*term))
            except ValueError as exc:
                raise ValueError(f"AnalyticProvider: terms[{pid}][{k}]: {exc}") from exc
        else:
            raise ValueError(
                f"AnalyticProvider: terms[{pid}][{k}] = {term!r}: expected (c, a) or (c, a, n)"
            )
    return tuple(out)


class AnalyticProvider(LuminosityProvider):
    """Sums of b^{2n} Gaussians per flavour, with exact Hankel transforms (module docstring).

    Args:
        terms: ``{pdg_id: [(c, a, n), ...]}`` (or :class:`GaussianTerm` / ``{"c", "a", "n"}``
            entries; n defaults to 0). Flavours of ``flavours`` without terms have L_q = 0
            (like flavours above nf in a real provider).
        width_lnQ2: κ ≥ 0 (GeV²): every width grows as a + κ ln(Q²/Q0²) with Q0 = 1 GeV.
            With κ > 0 a point with Q < 1 GeV may make a width ≤ 0, which is rejected
            when that point is evaluated.
        flavours: PDG ids of the rows of the luminosity array (default ``LUMI_FLAVOURS``).

    Picklable (plain attributes), so chunks can be built in other processes.
    """

    name = "analytic"

    def __init__(
        self,
        terms: Mapping[int, Any],
        *,
        width_lnQ2: float = 0.0,
        flavours: Sequence[int] = LUMI_FLAVOURS,
    ) -> None:
        flav = tuple(flavours)
        for i, pid in enumerate(flav):
            if isinstance(pid, bool) or not isinstance(pid, (int, np.integer)):
                raise ValueError(f"AnalyticProvider: flavours[{i}] = {pid!r} is not a PDG id")
        if len(set(flav)) != len(flav) or not flav:
            raise ValueError(f"AnalyticProvider: flavours must be distinct and non-empty: {flav}")
        self.flavours = tuple(int(p) for p in flav)
        if not isinstance(terms, Mapping) or not terms:
            raise ValueError("AnalyticProvider: terms must be a non-empty {pdg_id: [...]} mapping")
        parsed: dict[int, tuple[GaussianTerm, ...]] = {}
        for pid, spec in terms.items():
            if isinstance(pid, bool) or not isinstance(pid, (int, np.integer)):
                raise ValueError(f"AnalyticProvider: terms key {pid!r} is not a PDG id")
            if int(pid) not in self.flavours:
                raise ValueError(
                    f"AnalyticProvider: terms[{pid}]: flavour not in flavours {self.flavours}"
                )
            parsed[int(pid)] = _as_terms(spec, int(pid))
        self.terms: dict[int, tuple[GaussianTerm, ...]] = parsed
        if (
            isinstance(width_lnQ2, bool)
            or not isinstance(width_lnQ2, (int, float))
            or not math.isfinite(width_lnQ2)
            or width_lnQ2 < 0
        ):
            raise ValueError(
                f"AnalyticProvider: width_lnQ2 must be finite and >= 0, got {width_lnQ2!r}"
            )
        self.width_lnQ2 = float(width_lnQ2)

    # --- constructors ---------------------------------------------------------------------
    @classmethod
    def gaussian(
        cls,
        c: float | Mapping[int, float] = 1.0,
        a: float | Mapping[int, float] = 0.25,
        *,
        width_lnQ2: float = 0.0,
        flavours: Sequence[int] = LUMI_FLAVOURS,
    ) -> AnalyticProvider:
        """One Gaussian c_q e^{−a_q b²} per flavour; ``c`` and ``a`` are numbers or per-flavour maps.

        With mappings, flavours missing from ``c`` get L_q = 0; ``a`` must cover them all.
        """
        flav = tuple(flavours)
        cs = c if isinstance(c, Mapping) else dict.fromkeys(flav, c)
        as_ = a if isinstance(a, Mapping) else dict.fromkeys(flav, a)
        missing = [pid for pid in cs if pid not in as_]
        if missing:
            raise ValueError(f"AnalyticProvider.gaussian: a has no width for flavours {missing}")
        terms = {pid: [(cs[pid], as_[pid], 0)] for pid in cs}
        return cls(terms, width_lnQ2=width_lnQ2, flavours=flav)

    @classmethod
    def toy(cls, *, width_lnQ2: float = 0.05) -> AnalyticProvider:
        """A luminosity-like default: e_q²-weighted, valence-like u, d larger than the sea.

        Per flavour c_q = e_q² · (1 for u, d; 0.3 for ū, d̄, s, s̄; 0.1 for c, c̄, b, b̄)
        GeV⁻³, a Gaussian of width a = 0.3 GeV² plus a b² e^{−0.6 b²} term of weight 0.1 c_q
        (a shoulder, so that the shape is not a pure Gaussian). Used by the benchmarks.
        """
        weight = {1: 1.0, 2: 1.0, -1: 0.3, -2: 0.3, 3: 0.3, -3: 0.3}
        terms = {}
        for pid in LUMI_FLAVOURS:
            cq = QUARK_CHARGE2[abs(pid)] * weight.get(pid, 0.1)
            terms[pid] = [(cq, 0.3, 0), (0.1 * cq, 0.6, 1)]
        return cls(terms, width_lnQ2=width_lnQ2)

    # --- provider interface ---------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any]:
        """Name, formula version, flavours, every term (c, a, n) and κ."""
        return {
            "name": self.name,
            "format_version": FORMAT_VERSION,
            "flavours": list(self.flavours),
            "terms": {
                str(pid): [t.as_list() for t in ts] for pid, ts in sorted(self.terms.items())
            },
            "width_lnQ2": self.width_lnQ2,
            "Q0": 1.0,
        }

    def widths(self, kin: Kinematics | None, a: float) -> np.ndarray:
        """The point-dependent width a + κ ln(Q²/Q0²) (GeV²), shape [N] (or [1] without kin).

        Raises ``ValueError`` naming the first point where it is ≤ 0.
        """
        if kin is None:
            if self.width_lnQ2 != 0.0:
                raise ValueError("AnalyticProvider: width_lnQ2 > 0 needs the kinematics (Q²)")
            return np.array([a])
        q2 = kin.Q2.detach().to("cpu", torch.float64).numpy()
        w = a + self.width_lnQ2 * np.log(q2)
        bad = ~(w > 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"AnalyticProvider ({kin.source}): point {i}: width a + κ ln(Q²) = {w[i]!r} "
                f"<= 0 (a = {a}, κ = {self.width_lnQ2}, Q² = {q2[i]!r} GeV²)"
            )
        return w

    def luminosity(self, kin: Kinematics, b: np.ndarray) -> np.ndarray:
        """L_q(b) = Σ_k c b^{2n} e^{−a(Q) b²} per point and flavour, float64 [N, F, Nb]."""
        nodes = as_nodes(kin, b)  # [N, Nb]
        b2 = nodes * nodes
        out = np.zeros((len(kin), len(self.flavours), nodes.shape[1]), dtype=np.float64)
        for j, pid in enumerate(self.flavours):
            for term in self.terms.get(pid, ()):
                w = self.widths(kin, term.a)[:, None]
                contrib = term.c * np.exp(-w * b2)
                if term.n:
                    contrib *= b2**term.n
                out[:, j, :] += contrib
        return out

    # --- exact results --------------------------------------------------------------------
    def exact_transform(
        self,
        qT: np.ndarray | float | None = None,
        kin: Kinematics | None = None,
        *,
        per_flavour: bool = False,
        extra_width: np.ndarray | float = 0.0,
    ) -> np.ndarray:
        """∫₀^∞ db b J0(qT b) L_q(b) e^{−w b²}, exactly (module docstring).

        Args:
            qT: transverse momenta in GeV, shape [N] (or a number); defaults to ``kin.qT``.
            kin: the points (needed when κ > 0, for Q², and as the default of ``qT``).
            per_flavour: return [N, F] (rows of ``self.flavours``) instead of Σ_q, [N].
            extra_width: w ≥ 0 in GeV² (a number or one per point): the transform of L_q
                times a flavour-blind Gaussian fNP e^{−w b²}. 0 gives the bare transform.

        Returns:
            float64 array in GeV⁻⁵ (c in GeV⁻³ times GeV⁻²): [N] or [N, F].
        """
        if qT is None:
            if kin is None:
                raise ValueError("exact_transform: give qT or kin")
            qT = kin.qT.detach().to("cpu", torch.float64).numpy()
        q = np.atleast_1d(np.asarray(qT, dtype=np.float64))
        if q.ndim != 1:
            raise ValueError(f"exact_transform: qT must be a number or shape [N], got {q.shape}")
        if kin is not None and q.shape[0] not in (1, len(kin)):
            raise ValueError(f"exact_transform: qT has {q.shape[0]} values, kin has {len(kin)}")
        w = np.asarray(extra_width, dtype=np.float64)
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("exact_transform: extra_width must be finite and >= 0 (GeV²)")
        n = max(q.shape[0], 1 if kin is None else len(kin))
        out = np.zeros((n, len(self.flavours)), dtype=np.float64)
        for j, pid in enumerate(self.flavours):
            for term in self.terms.get(pid, ()):
                a = self.widths(kin, term.a) + w
                out[:, j] += term.c * hankel_gaussian_moment(term.n, a, q)
        return out if per_flavour else out.sum(axis=1)
