r"""Matched TMDs tabulated once on an (x, μ0) grid and interpolated smoothly.

μ_b* = C_i b0/b* depends on b* only (physics.md §3, "Efficient evaluation"), so the matched
TMD of every quark flavour, x·f_q^TMD(x; μ0) or z·D_q^TMD(z; μ0) (:mod:`.matching`), is
computed once per (set, kind, order, C_i) on a tensor grid and evaluated for any batch of
points and b-nodes by interpolation. Both directions are piecewise: cubic splines
(not-a-knot, C² inside a segment) on segments whose ends are break points.

* x-direction, variable ln x: the break points are the collinear grid's own x-knots (when
  the set exposes them) between the set's x_min and ``x_hi``. LHAPDF's interpolant is a
  C¹ piecewise cubic in ln x on those knots; with segment ends on the knots and ≥ 4 nodes
  per segment the table reproduces it (to rounding, at LO) instead of smearing its
  second-derivative jumps (an O(h²) error otherwise). Inside a segment nodes are uniform
  in s = ln(x/(1 − x)) with step ≤ ``x_step`` (s resolves both the small-x and the large-x
  power behaviour). For x_hi < x < 1 the TMD is continued linearly in x to 0 at x = 1
  (documented approximation, outside SIDIS data); x ≥ 1 gives 0.
* μ0-direction, variable t = ln μ0: break points are the flavour thresholds (a heavy
  flavour switches on: the TMD jumps there), the scales below which the inputs are frozen
  (the sets' Q_min, the first α_s knot: kinks), and the collinear grid's Q-knots when
  exposed (LHAPDF is cubic in ln Q² between them). Nodes uniform in t with step ≤ ``t_step``
  inside segments. A scale exactly at a break belongs to the lower segment (n_f(μ) counts
  thresholds strictly below μ, as APFEL++ ``NF``).

With NLO or NNLO matching (PerturbativeOrder −1, 2, −2, 3) the TMD is held as two x-tables on common μ0-nodes: the local part
F_q(x, μ0)[1 + a_s c_δ] (cheap: the fine, knot-aligned x-grid) and the convolution part
(expensive but smooth in x: a coarser grid uniform in s); their sum is interpolated in μ0.

Evaluation first interpolates in x for each point at all μ0-nodes, then maps those
per-point columns to μ0-spline coefficients with one sparse product (the spline operator of
the μ0-segments is precomputed) and reads them at the requested μ0 of each (point,
b-node): no Python loop over points.

Measured accuracy (JAM20-SIDIS sets, light flavours, against the direct matching at the
same (x, μ0)): ≤ 1e-10 at LO (the table reproduces the LHAPDF interpolant), ≤ 3e-5 at NLO;
without exposed knots ≤ 1e-4.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import sparse
from scipy.interpolate import CubicSpline

from sidislab.tmd._util import call_vectorised
from sidislab.tmd.matching import QUARKS, convolution_part, local_part
from sidislab.tmd.orders import check_order, matching_order

_MIN_INTERVALS = 3  # ≥ 4 nodes per segment: a cubic is reproduced exactly


@dataclass(frozen=True)
class TableSpec:
    """Numerical settings of the (x, μ0) tabulation (they enter the provider fingerprint).

    Node spacings are maxima, in s = ln(x/(1 − x)) for x and in ln μ0 for μ0:
    ``x_step`` (LO part, segments between the set's x-knots), ``x_step_noknots`` (LO part
    when the set exposes no knots), ``x_step_nlo`` (the smooth NLO convolution part),
    ``t_step`` / ``t_step_noknots`` (μ0, with / without the set's Q-knots as segment ends).
    ``x_hi``: last x-node; ``n_gauss``: Gauss–Legendre points of the NLO convolutions;
    ``use_knots``: use the collinear grids' knots when the sets expose them;
    ``mu_chunk``, ``point_chunk``: batch sizes (memory only).
    """

    x_step: float = 0.05
    x_step_nlo: float = 0.15
    x_step_noknots: float = 0.01
    x_hi: float = 1.0 - 1.0e-4
    t_step: float = 0.05
    t_step_noknots: float = 0.02
    n_gauss: int = 32
    use_knots: bool = True
    mu_chunk: int = 8
    point_chunk: int = 256

    def as_dict(self) -> dict[str, float | int | bool]:
        d = asdict(self)
        d.pop("mu_chunk")
        d.pop("point_chunk")
        return d


def _logit(x: np.ndarray) -> np.ndarray:
    return np.log(x) - np.log1p(-x)


def _segments(breaks: np.ndarray, var: Callable, step: float) -> list[np.ndarray]:
    """Per segment [b_k, b_{k+1}] the node values (in the original variable).

    Nodes are uniform in ``var`` with spacing ≤ ``step`` and at least 3 intervals.
    """
    out = []
    for lo, hi in itertools.pairwise(breaks):
        vlo, vhi = float(var(lo)), float(var(hi))
        n = max(_MIN_INTERVALS, math.ceil((vhi - vlo) / step - 1e-9))
        out.append(np.linspace(vlo, vhi, n + 1))
    return out


def set_knots(cset: object) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The collinear grid's x- and Q-knots (GeV) if the set exposes them, else ``None``.

    Looks for attributes ``x_knots``/``q_knots`` (or ``xknots``/``qknots``).
    """
    out = []
    for names in (("x_knots", "xknots"), ("q_knots", "qknots")):
        val = None
        for name in names:
            v = getattr(cset, name, None)
            if v is not None:
                val = np.unique(np.asarray(v, dtype=np.float64))
                break
        out.append(val)
    return out[0], out[1]


class PiecewiseCubic:
    """Piecewise not-a-knot cubic splines on consecutive segments, along one axis.

    ``segments``: node arrays (the interpolation variable), each ≥ 2 nodes, consecutive
    (a segment starts where the previous one ends). ``values`` hold the node values of all
    segments concatenated along ``axis`` (a shared break node appears twice: left-segment
    and right-segment values may differ, i.e. jumps are allowed). The coefficients have
    shape [4, n_intervals, ...] with the interpolation axis moved to position 1.
    """

    def __init__(self, segments: Sequence[np.ndarray], values: np.ndarray, axis: int) -> None:
        values = np.moveaxis(values, axis, 0)
        coeffs, lefts = [], []
        start = 0
        for nodes in segments:
            n = len(nodes)
            coeffs.append(CubicSpline(nodes, values[start : start + n], axis=0).c)
            lefts.append(nodes[:-1])
            start += n
        if start != values.shape[0]:
            raise ValueError("PiecewiseCubic: values do not match the segment nodes")
        self.c = np.concatenate(coeffs, axis=1)
        self.left = np.concatenate(lefts)
        self.lo = float(segments[0][0])
        self.hi = float(segments[-1][-1])

    @staticmethod
    def operator(segments: Sequence[np.ndarray]) -> tuple[sparse.csr_matrix, np.ndarray]:
        """The linear map from node values to spline coefficients, and the interval edges.

        Returns ``(M, left)``: ``M`` of shape [4 n_intervals, n_nodes] (row 4j + k holds
        coefficient k of interval j, highest power first), block diagonal per segment, so
        that the coefficients of any batch of node columns are one sparse product.
        """
        blocks, lefts = [], []
        for nodes in segments:
            n = len(nodes)
            c = CubicSpline(nodes, np.eye(n), axis=0).c  # [4, n-1, n]
            blocks.append(sparse.csr_matrix(c.transpose(1, 0, 2).reshape(4 * (n - 1), n)))
            lefts.append(nodes[:-1])
        return sparse.block_diag(blocks, format="csr"), np.concatenate(lefts)

    def locate(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Interval index and offset for values ``v``; a break value goes to the lower one."""
        j = np.clip(np.searchsorted(self.left, v, side="left") - 1, 0, len(self.left) - 1)
        return j, v - self.left[j]


class TMDTable:
    """Matched quark TMDs of one collinear set on an (x, μ0) grid (module docstring).

    ``cset`` provides ``xfxQ(x, Q) -> [..., nflav]``, ``flavours``, ``xmin`` and optionally
    its knots (:func:`set_knots`); ``alphas`` maps μ [GeV] to α_s; ``thresholds`` are the
    quark masses (GeV); ``mu_range`` (GeV) the span of μ0 = C_i b0/b* to cover;
    ``breakpoints`` extra scales (GeV) where μ0-segments must end (α_s knots, freeze
    points); ``x_lo`` the first x-node (default: the set's ``xmin``).

    The TMD is held as two x-tables on common μ0-nodes: the local part F_q(x, μ0)[1 + a_s c_δ]
    (:func:`~sidislab.tmd.matching.local_part`; cheap, on the fine knot-aligned x-grid) and,
    with NLO/NNLO matching, the smooth convolution part
    (:func:`~sidislab.tmd.matching.convolution_part`; expensive, on a coarser x-grid uniform
    in s). Their sum is interpolated in μ0.
    """

    def __init__(
        self,
        cset: object,
        kind: str,
        order: int,
        Ci: float,
        alphas: Callable,
        thresholds: Sequence[float],
        mu_range: tuple[float, float],
        *,
        breakpoints: Sequence[float] = (),
        x_lo: float | None = None,
        spec: TableSpec | None = None,
    ) -> None:
        self.kind = kind
        self.order = check_order(order)
        self.Ci = float(Ci)
        self.spec = spec or TableSpec()
        self.thresholds = tuple(float(m) for m in thresholds)
        lo, hi = float(mu_range[0]), float(mu_range[1])
        if not (0 < lo < hi):
            raise ValueError(f"TMDTable: bad mu_range {mu_range!r} (GeV)")
        self.mu_range = (lo, hi)
        x_lo = float(getattr(cset, "xmin", 1e-6) if x_lo is None else x_lo)
        x_hi = self.spec.x_hi
        if not (0 < x_lo < x_hi < 1):
            raise ValueError(f"TMDTable: need 0 < x_lo = {x_lo} < x_hi = {x_hi} < 1")
        self.x_range = (x_lo, x_hi)
        xk, qk = set_knots(cset) if self.spec.use_knots else (None, None)
        sp = self.spec

        # μ0-segments: thresholds, freeze points / α_s knots, the set's Q-knots.
        t_lo, t_hi = math.log(lo), math.log(hi)
        tb = [t_lo, t_hi]
        for m in (*self.thresholds, *breakpoints, *(qk if qk is not None else ())):
            if m > 0 and t_lo + 1e-9 < math.log(m) < t_hi - 1e-9:
                tb.append(math.log(m))
        t_step = sp.t_step if qk is not None else sp.t_step_noknots
        self._seg_t = _segments(np.unique(np.asarray(tb)), lambda v: v, t_step)
        self._t_op, self._t_left = PiecewiseCubic.operator(self._seg_t)
        mus = []
        for k, ts in enumerate(self._seg_t):
            mu = np.exp(ts)
            if k > 0:
                mu[0] *= 1.0 + 1e-12  # upper side of a break: n_f(μ) counts the threshold
            mus.append(mu)
        mu_all = np.concatenate(mus)
        a_all = call_vectorised(alphas, mu_all)

        # Local part on the fine x-grid (segments between the set's knots).
        xb = [x_lo, x_hi]
        if xk is not None:
            xb += [k for k in xk if x_lo * (1 + 1e-9) < k < x_hi * (1 - 1e-9)]
        seg_lnx, x_loc = self._x_segments(xb, sp.x_step if xk is not None else sp.x_step_noknots)
        loc = local_part(
            cset.xfxQ, cset.flavours, x_loc, mu_all, a_all, self.thresholds, order, kind, Ci
        )
        self._px = [PiecewiseCubic(seg_lnx, loc, axis=1)]
        n_x = [len(x_loc)]
        n_match = matching_order(order)
        if n_match >= 1:
            seg_lnx2, x_conv = self._x_segments([x_lo, x_hi], sp.x_step_nlo)
            conv = np.concatenate(
                [
                    convolution_part(
                        cset.xfxQ,
                        cset.flavours,
                        x_conv,
                        mu_all[i : i + sp.mu_chunk],
                        a_all[i : i + sp.mu_chunk],
                        self.thresholds,
                        kind,
                        Ci,
                        sp.n_gauss,
                        nnlo=n_match == 2,
                    )
                    for i in range(0, len(mu_all), max(1, sp.mu_chunk))
                ],
                axis=0,
            )
            self._px.append(PiecewiseCubic(seg_lnx2, conv, axis=1))
            n_x.append(len(x_conv))
        self.n_nodes = (*n_x, len(mu_all))

    @staticmethod
    def _x_segments(breaks: Sequence[float], step: float) -> tuple[list[np.ndarray], np.ndarray]:
        xb = np.unique(np.asarray(breaks, dtype=np.float64))
        seg_s = _segments(xb, lambda v: _logit(np.array(v)), step)
        seg_x = []
        for k, s in enumerate(seg_s):
            xs = 1.0 / (1.0 + np.exp(-s))
            xs[0], xs[-1] = xb[k], xb[k + 1]
            seg_x.append(xs)
        return [np.log(xs) for xs in seg_x], np.concatenate(seg_x)

    def covers(self, x_min: float, mu_lo: float, mu_hi: float) -> bool:
        """True when x ≥ x_min and μ0 ∈ [mu_lo, mu_hi] (GeV) lie inside the table."""
        return (
            x_min >= self.x_range[0]
            and mu_lo >= self.mu_range[0] * (1 - 1e-12)
            and mu_hi <= self.mu_range[1] * (1 + 1e-12)
        )

    def at_x(self, x: np.ndarray) -> np.ndarray:
        """The table interpolated in x: [N, n_μ-nodes, 10] for x [N]."""
        x = np.asarray(x, dtype=np.float64)
        if (x < self.x_range[0] * (1 - 1e-12)).any():
            raise ValueError(
                f"TMDTable: x = {x.min():.6g} below the table's x_lo = {self.x_range[0]:.6g}"
            )
        lnx = np.log(np.clip(x, self.x_range[0], self.x_range[1]))
        v = 0.0
        for px in self._px:
            j, d = px.locate(lnx)
            c = px.c[:, j]  # [4, N, n_mu, 10]
            d = d[:, None, None]
            v = v + ((c[0] * d + c[1]) * d + c[2]) * d + c[3]
        above = x > self.x_range[1]
        if above.any():
            scale = np.clip((1.0 - x) / (1.0 - self.x_range[1]), 0.0, 1.0)
            v = np.where(above[:, None, None], v * scale[:, None, None], v)
        return v

    def evaluate(self, x: np.ndarray, mu0: np.ndarray) -> np.ndarray:
        """Matched TMDs [N, Nb, 10] (columns :data:`QUARKS`) at x [N] and μ0 [N, Nb] (GeV)."""
        x = np.asarray(x, dtype=np.float64)
        mu0 = np.asarray(mu0, dtype=np.float64)
        if mu0.ndim != 2 or mu0.shape[0] != x.shape[0]:
            raise ValueError(f"TMDTable.evaluate: mu0 must be [N, Nb], got {mu0.shape}")
        lo, hi = self.mu_range
        if (mu0 < lo * (1 - 1e-12)).any() or (mu0 > hi * (1 + 1e-12)).any():
            raise ValueError(
                f"TMDTable: μ0 in [{mu0.min():.6g}, {mu0.max():.6g}] GeV outside the table "
                f"[{lo:.6g}, {hi:.6g}] GeV"
            )
        out = np.empty((*mu0.shape, len(QUARKS)))
        n_int = len(self._t_left)
        nq = len(QUARKS)
        step = max(1, self.spec.point_chunk)
        for i in range(0, x.shape[0], step):
            sl = slice(i, i + step)
            vx = self.at_x(x[sl])  # [P, n_mu, 10]
            npt = vx.shape[0]
            cols = np.ascontiguousarray(vx.transpose(1, 0, 2)).reshape(vx.shape[1], npt * nq)
            c = (self._t_op @ cols).reshape(n_int, 4, npt, nq)
            c = np.ascontiguousarray(c.transpose(2, 0, 1, 3)).reshape(npt * n_int, 4, nq)
            t = np.log(mu0[sl])
            j = np.clip(np.searchsorted(self._t_left, t, side="left") - 1, 0, n_int - 1)
            d = (t - self._t_left[j])[..., None]
            cc = c[(np.arange(npt)[:, None] * n_int + j).ravel()].reshape(*j.shape, 4, nq)
            out[sl] = ((cc[..., 0, :] * d + cc[..., 1, :]) * d + cc[..., 2, :]) * d + cc[..., 3, :]
        return out
