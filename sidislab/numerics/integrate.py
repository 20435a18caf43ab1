r"""Differentiable Fourier–Bessel (Hankel) transforms for batches of points.

    I(qT) = ∫₀^∞ db b J0(qT b) F(b)                                  (physics.md §6)

Two families, both differentiable in any parameter inside F, both returning the value
and an error estimate:

* :class:`GridHankel` — trapezoid or Simpson on a :class:`sidislab.numerics.bgrid.BGrid`; F is a
  tensor ``[N, ..., Nb]`` sampled on the grid's nodes. The kernel w_j b_j J0(qT b_j) is
  computed once per qT set. Error estimate: the same rule on the halved grid, plus bounds
  of the truncation beyond b_max and of the head [0, b_min]
  (:mod:`sidislab.numerics.error_estimates`).
* :class:`sidislab.numerics.adaptive.AdaptiveHankel` — the same rules on a grid chosen per
  point (nodes [N, n]).
* :class:`OgataHankel` — Ogata's quadrature for ν = 0 (H. Ogata, Publ. RIMS 41 (2005)
  949; as used for TMDs by Kang, Prokudin, Sato, Terry, arXiv:1906.05949); F is a callable
  evaluated at the nodes ``b [N, n]`` of each qT. Nodes and weights are computed once per
  qT set. Error estimate: the same sum with h/2, plus the truncation bound beyond the last
  node.

Every error estimate comes with ``flagged`` points (:class:`Transform`): where the estimate
is not known to bound the error, and an :class:`AccuracyWarning` says so.

Units: qT in GeV, b in GeV⁻¹; I has the units of F times GeV⁻².
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import torch
from scipy import special

from sidislab.numerics.bessel import j0
from sidislab.numerics.bgrid import BGrid
from sidislab.numerics.error_estimates import (
    MIN_NODES,
    NODES_PER_PERIOD,
    AccuracyWarning,
    absolute_sum,
    head_bound,
    tail_bound,
    unresolved,
)

RULES = ("trapezoid", "simpson", "trapezoid-b")
OGATA_SAFETY = 2.0
# second halving of a fixed grid: the quartered grid must have this many nodes per J0
# period to be used, else the halving difference is multiplied by FALLBACK (measured on
# the 288 real points of sidis_mix.yaml and the APFEL++ reference points: Simpson's own
# |S − T| term lets it use a stricter test and a smaller factor)
QUARTER_NODES_PER_PERIOD = {"trapezoid": 2, "trapezoid-b": 2, "simpson": 3}
FALLBACK = {"trapezoid": 4.0, "trapezoid-b": 4.0, "simpson": 2.0}


class Transform(tuple):
    """A transform's value and its error estimate (same shape, ≥ 0), and which points are
    ``flagged``: their estimate is not known to bound the error
    (:mod:`sidislab.numerics.error_estimates`). Unpacks as the pair ``value, error``."""

    def __new__(
        cls, value: torch.Tensor, error: torch.Tensor, flagged: torch.Tensor | None = None
    ) -> Transform:
        obj = super().__new__(cls, (value, error))
        if flagged is None:
            flagged = torch.zeros(value.shape, dtype=torch.bool, device=value.device)
        obj.flagged = flagged
        return obj

    def __getnewargs__(self) -> tuple[torch.Tensor, torch.Tensor]:
        return (self[0], self[1])

    @property
    def value(self) -> torch.Tensor:
        return self[0]

    @property
    def error(self) -> torch.Tensor:
        return self[1]

    def __repr__(self) -> str:
        return f"Transform(value={self[0]!r}, error={self[1]!r}, flagged={self.flagged!r})"


def warn_flagged(t: Transform, qT: torch.Tensor, what: str, stacklevel: int = 3) -> None:
    """Warn (:class:`AccuracyWarning`) when any point of ``t`` is flagged."""
    flagged = t.flagged
    while flagged.dim() > 1:
        flagged = flagged.any(-1)
    if bool(flagged.any()):
        idx = torch.nonzero(flagged).flatten()
        i = int(idx[0])
        warnings.warn(
            f"{what}: {len(idx)} of {len(flagged)} points have an error estimate that is "
            f"not known to bound the error (too few nodes, fewer than "
            f"{NODES_PER_PERIOD} nodes per period of J0, an unresolved integrand, sums "
            f"that do not converge as the step is halved, or an integrand not decaying at "
            f"the last node; sidislab.numerics.error_estimates); first: point {i}, "
            f"qT = {float(qT[i]):.4g} GeV, value "
            f"{float(t.value.reshape(len(flagged), -1)[i, 0]):.4g}, estimate "
            f"{float(t.error.reshape(len(flagged), -1)[i].max()):.3g}",
            AccuracyWarning,
            stacklevel=stacklevel,
        )


def _as_qT(qT: torch.Tensor | float, dtype: torch.dtype, device) -> torch.Tensor:
    q = torch.as_tensor(qT, dtype=dtype, device=device)
    if q.dim() == 0:
        q = q.reshape(1)
    if q.dim() != 1:
        raise ValueError(f"qT must be a 1-D tensor of points, got shape {tuple(q.shape)}")
    if not torch.isfinite(q).all():
        i = int(torch.nonzero(~torch.isfinite(q))[0])
        raise ValueError(f"qT[{i}] = {q[i].item()} is not finite")
    if (q < 0).any():
        i = int(torch.nonzero(q < 0)[0])
        raise ValueError(f"qT[{i}] = {q[i].item()} is negative")
    return q


def _expand(kernel: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
    """Reshape a [N, n] kernel to broadcast against F [N, ..., n]."""
    if F.dim() < 2 or F.shape[0] != kernel.shape[0] or F.shape[-1] != kernel.shape[-1]:
        raise ValueError(
            f"F must have shape [N, ..., n] = [{kernel.shape[0]}, ..., {kernel.shape[-1]}], "
            f"got {tuple(F.shape)}"
        )
    return kernel.reshape(kernel.shape[0], *([1] * (F.dim() - 2)), kernel.shape[-1])


def _trapz_b_weights(b: torch.Tensor) -> torch.Tensor:
    """Weights of the plain trapezoid in b on the nodes ``b`` [n]."""
    db = torch.diff(b)
    w = torch.zeros_like(b)
    w[:-1] += db / 2
    w[1:] += db / 2
    return w


class GridHankel:
    """∫ db b J0(qT b) F(b) by a quadrature rule on a b-grid, for N points at once.

    ``head=True`` adds the contribution of [0, b_min] assuming F constant there
    (≈ F(b_min) b_min²/2; exact to O(b_min³ F′)), except for the ``trapezoid-b`` rule,
    which reproduces the old reference code (plain ``trapz`` in b, no head).
    """

    def __init__(
        self,
        qT: torch.Tensor,
        grid: BGrid,
        rule: str = "trapezoid",
        *,
        head: bool = True,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
        bessel_method: str | None = None,
    ) -> None:
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r} (allowed: {', '.join(RULES)})")
        device = device if device is not None else getattr(qT, "device", "cpu")
        self.qT = _as_qT(qT, dtype, device)
        self.grid, self.rule = grid, rule
        self.b = grid.nodes(dtype, device)
        head = head and rule != "trapezoid-b"
        self.head = head
        self.weights = grid.weights(rule, dtype, device)

        def kernel(b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            if head:
                w = w.clone()
                w[0] = w[0] + b[0] / 2
            with torch.no_grad():
                return w * b * j0(self.qT[:, None] * b, method=bessel_method)

        self.kernel = kernel(self.b, grid.weights(rule, dtype, device))
        if rule == "simpson":
            self._trap = kernel(self.b, grid.weights("trapezoid", dtype, device))
        coarse_rule = "trapezoid" if rule == "trapezoid-b" else rule
        idx, wc = grid.coarse_weights(coarse_rule, dtype, device)
        if rule == "trapezoid-b":  # the same rule on the halved nodes: trapz in b
            wc = _trapz_b_weights(self.b[idx])
        self._coarse_idx = idx
        self.coarse_kernel = kernel(self.b[idx], wc)
        # every fourth node, when the halved grid is itself a grid of odd size
        self._quarter_idx: torch.Tensor | None = None
        n = int(grid.Nb)
        if n % 2 == 1 and ((n + 1) // 2) % 2 == 1 and (n + 1) // 2 >= 3:
            half = BGrid(grid.b_min, grid.b_max, (n + 1) // 2, grid.spacing, grid.scale)
            qidx, wq = half.coarse_weights(coarse_rule, dtype, device)
            self._quarter_idx = idx[qidx.to(idx.device)]
            if rule == "trapezoid-b":
                wq = _trapz_b_weights(self.b[self._quarter_idx])
            self.quarter_kernel = kernel(self.b[self._quarter_idx], wq)

    def __call__(self, F: torch.Tensor, with_error: bool = True) -> Transform:
        """Transform F sampled on the grid nodes, F: [N, ..., Nb] → [N, ...].

        With ``with_error`` the estimate is grid halving + truncation beyond b_max + head
        (:mod:`sidislab.numerics.error_estimates`); points whose estimate is not known to
        bound the error are ``flagged`` and an :class:`AccuracyWarning` is issued.
        """
        value = (_expand(self.kernel, F) * F).sum(-1)
        if not with_error:
            return Transform(value, torch.zeros_like(value))
        t = self.estimate(F, value)
        warn_flagged(t, self.qT, f"{self.rule} on the {self.grid.describe()}")
        return t

    def estimate(self, F: torch.Tensor, value: torch.Tensor) -> Transform:
        """``value`` (the sum for F [N, ..., Nb]) with its error estimate and flags."""
        with torch.no_grad():
            F = F.detach()
            Fc = F.index_select(-1, self._coarse_idx)
            coarse = (_expand(self.coarse_kernel, Fc) * Fc).sum(-1)
            disc = (value.detach() - coarse).abs()
            if self._quarter_idx is not None:
                # a second halving, /4 (at least second order): a kink of F can make one
                # halving agree by chance (see sidislab.numerics.adaptive)
                Fq = F.index_select(-1, self._quarter_idx)
                quarter = (_expand(self.quarter_kernel, Fq) * Fq).sum(-1)
                bq = self.b[self._quarter_idx][None, :]
                usable = ~unresolved(
                    bq,
                    torch.ones_like(bq),
                    Fq,
                    self.qT,
                    nodes_per_period=QUARTER_NODES_PER_PERIOD[self.rule],
                    check_F=False,
                )
                disc = torch.where(
                    usable,
                    torch.maximum(disc, (coarse - quarter).abs() / 4),
                    FALLBACK[self.rule] * disc,
                )
            if self.rule == "simpson":
                # the trapezoid on the same nodes: spectrally better where F is smooth,
                # so |S − T| is Simpson's error there (sidislab.numerics.adaptive)
                disc = torch.maximum(
                    disc, (value.detach() - (_expand(self._trap, F) * F).sum(-1)).abs()
                )
            n = self.b.shape[0]
            N = self.qT.shape[0]
            flagged = torch.zeros(disc.shape, dtype=torch.bool, device=disc.device)
            if n < MIN_NODES:
                disc = torch.maximum(disc, absolute_sum(self.kernel, F))
                flagged |= True
            b_end = self.b[-1].expand(N)
            b_prev = self.b[-2].expand(N)
            tail, not_decaying = tail_bound(b_end, b_prev, F[..., -1], F[..., -2], self.qT)
            head = head_bound(
                self.b[0].expand(N),
                self.b[1].expand(N),
                F[..., 0],
                F[..., 1],
                self.qT,
                head_added=self.head,
            )
            flagged |= not_decaying
            flagged |= unresolved(self.b[None, :], self.weights[None, :], F, self.qT)
        return Transform(value, disc + tail + head, flagged)


# --- Ogata quadrature ------------------------------------------------------------------


def _psi(t: np.ndarray) -> np.ndarray:
    """ψ(t) = t tanh(π sinh(t)/2) (Ogata's double-exponential map)."""
    return t * np.tanh(0.5 * np.pi * np.sinh(np.minimum(t, 40.0)))


def _dpsi(t: np.ndarray) -> np.ndarray:
    """ψ′(t) = (π t cosh t + sinh(π sinh t)) / (1 + cosh(π sinh t)), overflow-safe.

    Rewritten as tanh(s/2) + π t cosh t · e^{−s} · 2/(1 + e^{−s})², s = π sinh t, with t
    capped (ψ′ = 1 to double precision beyond t ≈ 4), so that nothing overflows.
    """
    tc = np.minimum(t, 20.0)
    s = np.pi * np.sinh(tc)
    e = np.exp(-s)
    return np.tanh(0.5 * s) + np.pi * tc * np.cosh(tc) * 2.0 * e / (1.0 + e) ** 2


_ZERO_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _bessel_zeros(n: int) -> tuple[np.ndarray, np.ndarray]:
    """First n zeros j_{0,k} of J0 and Ogata's weights w_k = Y0(j_{0,k})/J1(j_{0,k})."""
    size = 1 << max(6, math.ceil(math.log2(n)))
    if size not in _ZERO_CACHE:
        zeros = special.jn_zeros(0, size)
        _ZERO_CACHE[size] = (zeros, special.y0(zeros) / special.j1(zeros))
    zeros, w = _ZERO_CACHE[size]
    return zeros[:n], w[:n]


def ogata_nodes_per_scale(tol: float) -> int:
    """Nodes M per b-scale needed for a relative accuracy ``tol``.

    Measured on the Gaussian and exponential pairs of physics.md §6 (widths a ∈ [0.05, 2]
    GeV², qT ∈ [0.01, 10] GeV): M = 3 → 3e-3, 4 → 2e-6, 5 → 7e-9, 6 → 1e-9 (the float64
    floor for values 1e-10 below the peak). One node of margin is added.
    """
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    for m, reached in ((3, 3e-3), (4, 2e-6), (5, 7e-9)):
        if tol >= reached:
            return m + 1
    return 7


class OgataHankel:
    r"""Ogata quadrature for ∫₀^∞ db b J0(qT b) F(b), one step size per point.

        I ≈ (π/qT²) Σ_k w_k y_k J0(y_k) F(y_k/qT) ψ′(h ξ_k),  y_k = (π/h) ψ(h ξ_k),
        ξ_k = j_{0,k}/π,  w_k = Y0(j_{0,k})/J1(j_{0,k})                (physics.md §6)

    Choice of h and of the number of nodes (per point, from qT and ``tol``): for
    h ξ ≲ 1 the nodes are b_k ≈ π² h ξ_k²/(2 qT), so h = 2 qT b_s/(π² M²) puts M nodes
    below the smallest scale b_s = min(b_scale, 1/qT) on which the integrand varies (at
    large qT the transform probes b ~ 1/qT; ``b_scale`` may differ per point, [N]); M
    follows from ``tol``
    (:func:`ogata_nodes_per_scale`). Nodes run until b_k ≥ ``b_max`` (where F must have
    decayed) or until the double-exponential regime h ξ_k ≥ 4 (J0(y_k) ≈ 0 there). One
    node count serves all points (the largest needed); extra nodes carry zero weight.

    qT below ``qT_floor`` (default 1e-8 GeV) is evaluated at qT_floor: J0 = 1 − (qT b)²/4
    + …, so the relative error is below (qT_floor b_max)²/4.

    Explicit ``h`` (one value for all points) and ``n_nodes`` override the choice.
    """

    def __init__(
        self,
        qT: torch.Tensor,
        *,
        tol: float = 1e-10,
        b_scale: float | torch.Tensor = 0.1,
        b_max: float = 40.0,
        h: float | None = None,
        n_nodes: int | None = None,
        qT_floor: float = 1e-8,
        max_nodes: int = 20000,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> None:
        device = device if device is not None else getattr(qT, "device", "cpu")
        self.qT = _as_qT(qT, dtype, device)
        q = np.maximum(self.qT.detach().cpu().numpy().astype(np.float64), qT_floor)
        scale = np.broadcast_to(
            np.asarray(torch.as_tensor(b_scale).detach().cpu(), dtype=np.float64), q.shape
        )
        if not (np.all(scale > 0) and b_max > 0):
            raise ValueError(f"b_scale and b_max must be > 0, got {b_scale}, {b_max}")
        self.tol, self.b_scale, self.b_max = tol, scale, b_max
        if h is None:
            m = ogata_nodes_per_scale(tol)
            bs = np.minimum(scale, 1.0 / q)
            hs = 2.0 * q * bs / (math.pi**2 * m**2)
        else:
            if h <= 0:
                raise ValueError(f"h must be > 0, got {h}")
            hs = np.full_like(q, h)
        self.h = torch.as_tensor(hs, dtype=dtype, device=device)
        self._main = self._build(q, hs, b_max, n_nodes, max_nodes, dtype, device)
        n_half = None if n_nodes is None else 2 * n_nodes
        self._half = self._build(q, hs / 2, b_max, n_half, 2 * max_nodes, dtype, device)
        n_quarter = None if n_nodes is None else 4 * n_nodes
        self._quarter_args = (q, hs / 4, b_max, n_quarter, 4 * max_nodes, dtype, device)
        self._quarter: tuple[torch.Tensor, torch.Tensor] | None = None

    @staticmethod
    def _build(
        q: np.ndarray,
        hs: np.ndarray,
        b_max: float,
        n_nodes: int | None,
        max_nodes: int,
        dtype,
        device,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if n_nodes is None:
            # nodes needed: b_k = y_k/q ≥ b_max, or h ξ_k ≥ 4; grow until every point is covered
            n = 64
            while True:
                zeros, _ = _bessel_zeros(n)
                t = hs[:, None] * zeros[None, :] / math.pi
                b = (math.pi / hs[:, None]) * _psi(t) / q[:, None]
                done = (b[:, -1] >= b_max) | (t[:, -1] >= 4.0)
                if done.all() or n >= max_nodes:
                    break
                n *= 2
            need = np.argmax((b >= b_max) | (t >= 4.0), axis=1) + 1
            need[~done] = n
            n_nodes = int(need.max())
        zeros, w = _bessel_zeros(int(n_nodes))
        t = hs[:, None] * zeros[None, :] / math.pi
        y = (math.pi / hs[:, None]) * _psi(t)
        weights = (math.pi / q[:, None] ** 2) * w[None, :] * y * special.j0(y) * _dpsi(t)
        b = y / q[:, None]
        return (
            torch.as_tensor(b, dtype=dtype, device=device),
            torch.as_tensor(weights, dtype=dtype, device=device),
        )

    @property
    def nodes(self) -> torch.Tensor:
        """Node positions b [N, n] (GeV⁻¹) at which F is evaluated."""
        return self._main[0]

    @property
    def weights(self) -> torch.Tensor:
        """Weights [N, n]: I ≈ Σ weights · F(nodes)."""
        return self._main[1]

    @property
    def half_step_nodes(self) -> torch.Tensor:
        """Nodes of the h/2 sum used for the error estimate, [N, n′]."""
        return self._half[0]

    def __call__(
        self, F: Callable[[torch.Tensor], torch.Tensor], with_error: bool = True
    ) -> Transform:
        """Transform a callable: F(b [N, n]) → [N, ..., n]; returns [N, ...]."""
        b, w = self._main
        Fb = F(b)
        value = (_expand(w, Fb) * Fb).sum(-1)
        if not with_error:
            return Transform(value, torch.zeros_like(value))
        with torch.no_grad():
            half = self.sum(F, half=True)
            quarter = self.sum(F, quarter=True)
        t = self.estimate(Fb, value, half, quarter)
        warn_flagged(t, self.qT, "Ogata quadrature")
        return t

    def estimate(
        self,
        Fb: torch.Tensor,
        value: torch.Tensor,
        half: torch.Tensor,
        quarter: torch.Tensor | None = None,
    ) -> Transform:
        """``value`` (the sum at h, F at the main nodes ``Fb`` [N, ..., n]) with its error
        estimate and flags.

        With the h/4 sum: d1 = |S_h − S_{h/2}|, d2 = |S_{h/2} − S_{h/4}|, ρ = d2/d1 the
        observed convergence ratio, and |S_h − I| ≤ d1 + d2 + … = d1/(1 − ρ) for a
        geometric tail (on the real integrand the sums converge only algebraically:
        h/2 alone underestimates by up to 2.5×), times ``OGATA_SAFETY`` = 2 (the
        geometric model alone fell short by up to 10 % on the EIC points of
        data/kinematics/sidis_mix.yaml, tests/test_error_estimates.py). ρ ≥ 0.9 (not
        converging) is flagged where 10·max(d1, d2) exceeds ``tol``·|value|,
        unless both differences are at the float64 rounding floor of the sum. Without it:
        d1. Plus the truncation bound beyond the last node; a tail not decaying there is
        flagged.
        """
        with torch.no_grad():
            b, w = self._main
            Fb = Fb.detach()
            v = value.detach()
            tail, not_decaying = tail_bound(b[:, -1], b[:, -2], Fb[..., -1], Fb[..., -2], self.qT)
            d1 = (v - half).abs()
            flagged = not_decaying
            if quarter is None:
                disc = d1
            else:
                d2 = (half - quarter).abs()
                floor = 64 * torch.finfo(v.dtype).eps * absolute_sum(w, Fb)
                rho = d2 / torch.maximum(d1, floor)
                at_floor = torch.maximum(d1, d2) <= floor
                converging = (rho < 0.9) | at_floor
                disc = torch.where(
                    converging,
                    OGATA_SAFETY * d1 / (1 - torch.clamp(rho, max=0.9)) + floor,
                    10 * torch.maximum(d1, d2),
                )
                # not converging, but at a level below the tolerance asked for (e.g. the
                # kink of a tabulated L at its first knot, 1e-8 of σ): not flagged
                negligible = 10 * torch.maximum(d1, d2) <= self.tol * v.abs()
                flagged = flagged | (~converging & ~negligible)
            error = disc + tail
        return Transform(value, error, flagged)

    @property
    def quarter_step_nodes(self) -> torch.Tensor:
        """Nodes of the h/4 sum (built on first use), [N, n″]."""
        if self._quarter is None:
            self._quarter = self._build(*self._quarter_args)
        return self._quarter[0]

    def sum(
        self, F: Callable[[torch.Tensor], torch.Tensor], half: bool = False, quarter: bool = False
    ) -> torch.Tensor:
        """The bare Ogata sum at step h (or h/2, or h/4)."""
        if quarter:
            self.quarter_step_nodes  # noqa: B018 - builds the h/4 nodes
            b, w = self._quarter
        else:
            b, w = self._half if half else self._main
        Fb = F(b)
        return (_expand(w, Fb) * Fb).sum(-1)
