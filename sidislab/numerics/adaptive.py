r"""Adaptive b-grids: nodes chosen per point for I(qT) = ∫₀^∞ db b J0(qT b) F(b).

A fixed grid serves every point with the same nodes, so it is either too coarse for the
largest qT (the default 193-node grid is off by 13 % on the EIC points, notebook 01) or
wasteful for the smallest. :class:`AdaptiveHankel` gives each point its own log-linear
grid (b = s ln(1 + eᵘ), uniform in u; :mod:`sidislab.numerics.bgrid`), chosen from the
integrand's scales and refined until its error estimate meets the target:

* **b_lo** = min(``b_min``, ``b_scale``/10): below the b* region (b_scale = b0/Q, where
  L(b) leaves its small-b plateau, physics.md §3) the integrand is flat; the head
  [0, b_lo] is added as F(b_lo) b_lo²/2.
* **spacing**: logarithmic (Δu in ln b) below the crossover s, linear above with
  Δb = s Δu. s = min(``scale_max``, 2π/(qT · ``nodes_per_period`` · Δu₀)) puts
  ``nodes_per_period`` nodes in each period 2π/qT of J0 from the start, whatever qT.
* **b_hi**: where b|F(b)| has fallen below ``decay`` × its maximum for good, read from F
  on a probe grid up to ``b_probe`` (F depends on the fNP parameters: the probe is taken
  at the values the grid is built with).
* **refinement**: the estimate of :mod:`sidislab.numerics.error_estimates` (grid halving +
  truncation + head; the halving term is max(|I_h − I_2h|, |I_2h − I_4h|/4), because the
  luminosity's kinks, smoothed over a few knots of its table, can make a single halving
  agree by chance) per point; where it exceeds ``tol`` · max(|I|, ``floor`` · A)
  (A = Σ_j |w_j b_j F_j|, the size of the integral without the oscillation; the floor
  keeps points where I(qT) passes through zero finite) the point's Δu is halved (nodes
  nested: the old nodes stay); if the truncation term dominates, b_hi grows by 1.5; if
  the head term does, b_lo drops tenfold.
  Points still above the target at ``max_nodes`` are flagged and warned about.

Node choice is done without gradients (F is evaluated under ``torch.no_grad``); the
transform itself is a fixed weighted sum Σ_j K_pj F_p(b_pj) with K = w b J0(qT b), so it
is differentiable in every parameter inside F. Grids are padded to the largest node count
(padded nodes repeat b_hi with zero weight): nodes, kernel [N, n_max].

A grid chosen at some parameters is right for parameters near them; a fit that moves far
should rebuild it (the estimate returned with every result, with its flags, tells).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch

from sidislab.numerics.bessel import j0
from sidislab.numerics.error_estimates import (
    AccuracyWarning,
    head_bound,
    tail_bound,
    unresolved,
)
from sidislab.numerics.integrate import Transform, _as_qT, _expand, warn_flagged

log = logging.getLogger(__name__)

ADAPTIVE_RULES = ("trapezoid", "simpson")


@dataclass(frozen=True)
class AdaptiveOptions:
    """Targets and limits of the per-point grid choice (b in GeV⁻¹)."""

    tol: float = 1e-4
    floor: float = 1e-3
    b_min: float = 1e-3
    du0: float = 0.1
    nodes_per_period: int = 8
    scale_max: float = 3.0
    decay: float = 1e-12
    b_probe: float = 400.0
    max_nodes: int = 8193
    max_iter: int = 10

    def __post_init__(self) -> None:
        for name in ("tol", "floor", "b_min", "du0", "scale_max", "decay", "b_probe"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"AdaptiveOptions: {name} must be a finite number > 0, got {v!r}")
        if self.nodes_per_period < 4:
            raise ValueError(
                f"AdaptiveOptions: nodes_per_period must be >= 4, got {self.nodes_per_period}"
            )
        if self.max_nodes < 9 or self.max_iter < 1:
            raise ValueError(
                f"AdaptiveOptions: max_nodes >= 9 and max_iter >= 1 required, got "
                f"{self.max_nodes}, {self.max_iter}"
            )
        if self.b_probe <= self.b_min:
            raise ValueError(f"AdaptiveOptions: b_probe = {self.b_probe} must exceed b_min")


def _log_expm1(t: torch.Tensor) -> torch.Tensor:
    """ln(e^t − 1) for t > 0 (inverse of softplus), stable for small and large t."""
    return t + torch.log(-torch.expm1(-t))


def uniform_weights_batched(n: torch.Tensor, n_max: int, rule: str) -> torch.Tensor:
    """Composite weights on n_p uniform nodes of unit spacing, per point, padded with 0.

    ``n`` [N] (each ≥ 2), result [N, n_max]. Simpson as in :mod:`sidislab.numerics.bgrid`:
    an odd number of intervals ends with Simpson's 3/8 rule; n_p = 2 is the trapezoid.
    """
    dtype = torch.float64
    j = torch.arange(n_max, device=n.device)[None, :]
    nn = n[:, None]
    inside = j < nn
    one = torch.ones((), dtype=dtype, device=n.device)
    zero = torch.zeros((), dtype=dtype, device=n.device)
    trap = torch.where((j == 0) | (j == nn - 1), 0.5 * one, one)
    trap = torch.where(inside, trap, zero)
    if rule == "trapezoid":
        return trap
    if rule != "simpson":
        raise ValueError(f"unknown rule {rule!r} (allowed: {', '.join(ADAPTIVE_RULES)})")
    intervals = nn - 1
    m = torch.where(intervals % 2 == 0, intervals, intervals - 3)
    simp = torch.where((j == 0) | (j == m), one, torch.where(j % 2 == 1, 4 * one, 2 * one)) / 3
    w = torch.where((j <= m) & (m > 0), simp, zero)
    k = j - m
    w38 = torch.tensor([3.0, 9.0, 9.0, 3.0], dtype=dtype, device=n.device) / 8.0
    use38 = (intervals % 2 == 1) & (k >= 0) & (k <= 3)
    w = w + torch.where(use38, w38[k.clamp(0, 3)], zero)
    return torch.where(nn >= 3, w, trap)


@dataclass
class _Grids:
    """Per-point log-linear grids: nodes b, weights w (rule), coarse weights, counts."""

    b: torch.Tensor  # [N, n_max]
    w: torch.Tensor  # [N, n_max]
    w_coarse: torch.Tensor  # [N, (n_max + 1)/2], on the even nodes
    w_quarter: torch.Tensor  # [N, (n_max + 3)/4], on every fourth node
    w_trap: torch.Tensor | None  # [N, n_max] trapezoid weights (Simpson grids only)
    n: torch.Tensor  # [N]


def _build(
    s: torch.Tensor,
    u0: torch.Tensor,
    u1: torch.Tensor,
    n: torch.Tensor,
    rule: str,
    head: torch.Tensor,
) -> _Grids:
    """Grids uniform in u on [u0, u1] with n (odd) nodes, b = s softplus(u)."""
    n_max = int(n.max())
    j = torch.arange(n_max, dtype=torch.float64, device=s.device)[None, :]
    du = ((u1 - u0) / (n - 1).to(torch.float64))[:, None]
    jj = torch.minimum(j, (n - 1)[:, None].to(torch.float64))  # padding repeats the end
    u = u0[:, None] + du * jj
    b = s[:, None] * torch.nn.functional.softplus(u)
    jac = s[:, None] * torch.sigmoid(u)
    w = uniform_weights_batched(n, n_max, rule) * du * jac
    even = torch.arange(0, n_max, 2, device=s.device)
    fourth = torch.arange(0, n_max, 4, device=s.device)
    wc = uniform_weights_batched((n + 1) // 2, len(even), rule) * (2 * du) * jac[:, even]
    wq = uniform_weights_batched((n + 3) // 4, len(fourth), rule) * (4 * du) * jac[:, fourth]
    wt = None
    if rule == "simpson":
        wt = uniform_weights_batched(n, n_max, "trapezoid") * du * jac
    # the head ∫_0^{b_0} b F ≈ b_0 · (b_0/2) F(b_0): half a b_0 on the first weight
    for x in (w, wc, wq, wt):
        if x is not None:
            x[:, 0] += head * b[:, 0] / 2
    return _Grids(b, w, wc, wq, wt, n)


def _node_count(span: torch.Tensor, du: torch.Tensor) -> torch.Tensor:
    """The node count n ≡ 1 (mod 4), n ≥ 9, whose spacing on ``span`` is at most ``du``
    (so that every other and every fourth node are grids of the same kind)."""
    quarter = torch.ceil(span / (4 * du)).to(torch.long)
    return torch.clamp(4 * quarter + 1, min=9)


class AdaptiveHankel:
    """∫ db b J0(qT b) F(b) by trapezoid or Simpson on a grid chosen per point.

    Args:
        qT: [N] GeV.
        F: the integrand used to choose the nodes, F(b [N, n]) → [N, n] (evaluated under
            ``no_grad``; e.g. fNP × luminosity at the current parameters).
        rule: ``trapezoid`` or ``simpson``.
        b_scale: per-point b-scale [N] (GeV⁻¹) below which F is flat (b0/Q for the
            b* region); lowers b_lo below it. None: ``options.b_min``.
        options: :class:`AdaptiveOptions` (targets, limits).

    After construction: ``nodes`` [N, n_max] (padded), ``kernel`` [N, n_max],
    ``n_nodes`` [N], ``converged`` [N] and ``build_error`` [N] (the estimate reached).
    Call with F sampled at ``nodes`` ([N, ..., n_max]).
    """

    def __init__(
        self,
        qT: torch.Tensor,
        F: Callable[[torch.Tensor], torch.Tensor],
        *,
        rule: str = "trapezoid",
        b_scale: float | torch.Tensor | None = None,
        options: AdaptiveOptions | None = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
        bessel_method: str | None = None,
    ) -> None:
        if rule not in ADAPTIVE_RULES:
            raise ValueError(f"unknown rule {rule!r} (allowed: {', '.join(ADAPTIVE_RULES)})")
        opt = options or AdaptiveOptions()
        device = device if device is not None else getattr(qT, "device", "cpu")
        self.qT = _as_qT(qT, dtype, device)
        self.rule, self.options, self.dtype = rule, opt, dtype
        self._bessel = bessel_method
        N = self.qT.shape[0]
        q = self.qT.detach().to(torch.float64)
        b_lo = torch.full((N,), opt.b_min, dtype=torch.float64, device=device)
        if b_scale is not None:
            bs = torch.as_tensor(b_scale, dtype=torch.float64, device=device).expand(N)
            if not bool((bs > 0).all()):
                raise ValueError(f"b_scale must be > 0, got {b_scale}")
            b_lo = torch.minimum(b_lo, bs / 10)
        period = 2 * math.pi / torch.clamp(q, min=1e-300)
        s = torch.clamp(period / (opt.nodes_per_period * opt.du0), max=opt.scale_max)
        with torch.no_grad():
            b_hi = self._probe_extent(F, b_lo, opt)
            du = torch.full((N,), opt.du0, dtype=torch.float64, device=device)
            converged = torch.zeros(N, dtype=torch.bool, device=device)
            capped = torch.zeros(N, dtype=torch.bool, device=device)
            for it in range(opt.max_iter):
                u0, u1 = _log_expm1(b_lo / s), _log_expm1(b_hi / s)
                n = torch.clamp(_node_count(u1 - u0, du), max=4 * (opt.max_nodes // 4) + 1)
                g = _build(s, u0, u1, n, rule, torch.ones(N, dtype=torch.float64, device=device))
                Fb = F(g.b).to(torch.float64)
                kernels = self._kernels(g)
                value = (kernels[0] * Fb).sum(-1)
                disc = self._discretisation(g.b, q, Fb, value, kernels[1:])
                tail, head, _ = self._ends(g, Fb)
                error = disc + tail + head
                size = (g.w.abs() * g.b * Fb.abs()).sum(-1)
                target = opt.tol * torch.maximum(value.abs(), opt.floor * size)
                converged = error <= target
                if bool(converged.all()):
                    break
                bad = ~converged & ~capped
                if not bool(bad.any()):
                    break
                # the largest term decides: head → lower b_lo, tail → raise b_hi, else Δu/2
                head_heavy = bad & (head >= torch.maximum(disc, tail))
                tail_heavy = bad & ~head_heavy & (tail >= disc)
                refine = bad & ~head_heavy & ~tail_heavy
                b_lo = torch.where(head_heavy, b_lo / 10, b_lo)
                b_hi = torch.where(tail_heavy, b_hi * 1.5, b_hi)
                capped |= refine & (2 * n - 1 > opt.max_nodes)
                du = torch.where(refine & ~capped, du / 2, du)
                log.debug(
                    "adaptive grid, pass %d: %d of %d points above target, n_max = %d",
                    it,
                    int((~converged).sum()),
                    N,
                    int(n.max()),
                )
        self._grids = g
        self.n_nodes = g.n
        self.converged = converged
        self.build_error = error
        # the ends of the grids in use (b_lo/b_hi may have moved after the last pass)
        self.b_hi = g.b.gather(1, (g.n - 1)[:, None]).squeeze(1)
        self.b_lo = g.b[:, 0]
        self.scale = s
        self.nodes = g.b.to(dtype=dtype)
        self.kernel = kernels[0].to(dtype=dtype)
        self._aux = tuple(None if k is None else k.to(dtype=dtype) for k in kernels[1:])
        if not bool(converged.all()):
            i = int(torch.nonzero(~converged)[0])
            warnings.warn(
                f"adaptive {rule} grid: {int((~converged).sum())} of {N} points did not reach "
                f"the target {opt.tol:g} within {opt.max_nodes} nodes and {opt.max_iter} "
                f"passes; first: point {i}, "
                f"qT = {float(q[i]):.4g} GeV, estimate {float(error[i]):.3g}, value "
                f"{float(value[i]):.4g}",
                AccuracyWarning,
                stacklevel=2,
            )

    # --- construction helpers -------------------------------------------------------------
    def _kernels(
        self, g: _Grids
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """w b J0(qT b) on the grid, every other node, every fourth node, and (Simpson)
        the trapezoid on the same nodes (J0 once)."""
        with torch.no_grad():
            bj = g.b * j0(self.qT.to(torch.float64)[:, None] * g.b, method=self._bessel)
            n_max = g.b.shape[1]
            even = torch.arange(0, n_max, 2, device=g.b.device)
            fourth = torch.arange(0, n_max, 4, device=g.b.device)
            trap = None if g.w_trap is None else g.w_trap * bj
            return g.w * bj, g.w_coarse * bj[:, even], g.w_quarter * bj[:, fourth], trap

    @staticmethod
    def _probe_extent(
        F: Callable[[torch.Tensor], torch.Tensor], b_lo: torch.Tensor, opt: AdaptiveOptions
    ) -> torch.Tensor:
        """b_hi per point: beyond it b|F(b)| stays below ``decay`` × its maximum."""
        N = b_lo.shape[0]
        n = 1025
        u0 = _log_expm1(b_lo / 3.0)
        u1 = _log_expm1(torch.full_like(b_lo, opt.b_probe / 3.0))
        t = torch.linspace(0.0, 1.0, n, dtype=torch.float64, device=b_lo.device)
        b = 3.0 * torch.nn.functional.softplus(u0[:, None] + (u1 - u0)[:, None] * t)
        e = (b * F(b).to(torch.float64).abs()).reshape(N, n)
        if not bool(torch.isfinite(e).all()):
            i = int(torch.nonzero(~torch.isfinite(e).all(-1))[0])
            raise ValueError(f"adaptive grid: the integrand is not finite at point {i}")
        big = e > opt.decay * e.max(-1, keepdim=True).values
        # last probe node still above the threshold, then one node further
        last = n - 1 - torch.argmax(big.flip(-1).to(torch.int8), dim=-1)
        last = torch.clamp(last + 1, max=n - 1)
        b_hi = b.gather(1, last[:, None]).squeeze(1)
        return torch.maximum(b_hi, 4 * b_lo)

    @staticmethod
    def _discretisation(
        b: torch.Tensor,
        qT: torch.Tensor,
        Fb: torch.Tensor,
        value: torch.Tensor,
        kernels: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None],
    ) -> torch.Tensor:
        """max(|I_h − I_2h|, |I_2h − I_4h|/4): two halvings, so that a kink of F whose
        O(h²) error happens to agree on two grids (its phase) is still seen; the 1/4
        assumes at least second order (trapezoid across a kink). The second only where
        the quartered grid resolves J0 (2 nodes per period) and F. Simpson also takes
        |S_h − T_h| (the trapezoid on the same nodes): where the trapezoid converges
        spectrally it is the better rule, so the difference is Simpson's error."""
        n_max = Fb.shape[-1]
        even = torch.arange(0, n_max, 2, device=Fb.device)
        fourth = torch.arange(0, n_max, 4, device=Fb.device)
        Fc, Fq = Fb.index_select(-1, even), Fb.index_select(-1, fourth)
        coarse = (_expand(kernels[0], Fc) * Fc).sum(-1)
        quarter = (_expand(kernels[1], Fq) * Fq).sum(-1)
        disc = (value - coarse).abs()
        bq = b.index_select(-1, fourth)
        usable = ~unresolved(bq, torch.ones_like(bq), Fq, qT, nodes_per_period=2, check_F=False)
        disc = torch.where(usable, torch.maximum(disc, (coarse - quarter).abs() / 4), 4 * disc)
        if kernels[2] is not None:
            disc = torch.maximum(disc, (value - (_expand(kernels[2], Fb) * Fb).sum(-1)).abs())
        return disc

    def _ends(self, g: _Grids, Fb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Truncation and head bounds and the 'not decaying' flag, [N, ...]."""
        q = self.qT.to(torch.float64)
        last = (g.n - 1)[:, None]
        b_end = g.b.gather(1, last).squeeze(1)
        b_prev = g.b.gather(1, last - 1).squeeze(1)
        idx = last.reshape(last.shape[0], *([1] * (Fb.dim() - 1)))
        idx = idx.expand(*Fb.shape[:-1], 1)
        F_end = Fb.gather(-1, idx).squeeze(-1)
        F_prev = Fb.gather(-1, idx - 1).squeeze(-1)
        tail, not_decaying = tail_bound(b_end, b_prev, F_end, F_prev, q)
        head = head_bound(g.b[:, 0], g.b[:, 1], Fb[..., 0], Fb[..., 1], q)
        return tail, head, not_decaying

    # --- use ------------------------------------------------------------------------------
    @property
    def total_nodes(self) -> int:
        """Σ_p n_p: the nodes actually used (without padding)."""
        return int(self.n_nodes.sum())

    def __call__(self, F: torch.Tensor, with_error: bool = True) -> Transform:
        """Transform F sampled at ``nodes``: [N, ..., n_max] → [N, ...] (differentiable)."""
        value = (_expand(self.kernel, F) * F).sum(-1)
        if not with_error:
            return Transform(value, torch.zeros_like(value))
        t = self.estimate(F, value)
        warn_flagged(t, self.qT, f"adaptive {self.rule} grid")
        return t

    def estimate(self, F: torch.Tensor, value: torch.Tensor) -> Transform:
        """``value`` with its estimate (halving + truncation + head) and flags: points
        not converged when the grid was built, unresolved J0, or a tail not decaying."""
        with torch.no_grad():
            Fd = F.detach()
            disc = self._discretisation(self.nodes, self.qT, Fd, value.detach(), self._aux)
            tail, head, not_decaying = self._ends(self._grids, Fd.to(torch.float64))
            error = disc + (tail + head).to(value.dtype)
            flagged = not_decaying | unresolved(self.nodes, self._grids.w, Fd, self.qT)
            conv = self.converged.reshape(-1, *([1] * (flagged.dim() - 1)))
            flagged = flagged | ~conv
        return Transform(value, error, flagged)
