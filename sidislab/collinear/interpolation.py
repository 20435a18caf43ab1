"""LHAPDF's log-bicubic grid interpolation and its extrapolations, vectorised with numpy.

This is a re-implementation, for arrays of points, of LHAPDF 6.4+'s default
``LogBicubicInterpolator`` (``src/LogBicubicInterpolator.cc``), its coefficient
pre-computation (``GridPDF::_computePolynomialCoefficients(logspace=true)`` and ``_ddx`` in
``src/GridPDF.cc``), its knot look-up (``indexbelow`` in ``include/LHAPDF/KnotArray.h``) and
its ``ContinuationExtrapolator`` (``src/ContinuationExtrapolator.cc``, the MSTW
extrapolation of G. Watt); see Buckley et al., arXiv:1412.7420, §4. In formulas, with
``u = ln x`` and ``v = ln Q²``:

* the blocks of a member are joined into one knot array in Q² whose repeated knots mark
  block edges; the point's cell is ``ix = upper_bound(x_knots, x) − 1`` and
  ``iq = upper_bound(Q²_knots, Q²) − 1`` (clamped so that ``i + 1`` is a knot); a Q on a
  block edge therefore uses the upper block;
* along x, on each knot row ``iq``, a cubic Hermite polynomial in ``t = (u − u_i)/Δu`` with
  the values at the two knots and derivatives ``∂f/∂u`` from finite differences: the mean
  of the left and right difference quotients inside, one-sided at the first/last x knot;
* along Q², a cubic Hermite polynomial in ``s = (v − v_j)/Δv_j`` through the x-interpolated
  values ``v_l, v_h`` at knots ``j, j+1``, with derivatives (times ``Δv_j``)
  ``½[(v_h − v_l) + (v_l − v_ll) Δv_j/Δv_{j−1}]`` at ``j`` and
  ``½[(v_h − v_l) + (v_hh − v_h) Δv_j/Δv_{j+1}]`` at ``j+1``, replaced by the one-sided
  ``v_h − v_l`` at a block's first/last knot;
* a block with only two Q knots falls back to bilinear interpolation in (ln x, ln Q²).

Extrapolation policies (chosen by the caller, see :data:`EXTRAPOLATIONS`):

``"freeze"``
    Outside the grid, x and Q are clamped to the nearest grid edge and the grid is
    interpolated there (LHAPDF's ``nearest`` extrapolator). Below ``QMin`` the distribution
    is frozen at ``QMin`` (the convention of the APFEL++ reference); below ``XMin`` it is
    frozen at ``XMin``.
``"continuation"``
    LHAPDF's default ``ContinuationExtrapolator``: linear extrapolation in ln x (of ln xf
    when both anchor values exceed 1e-3, else of xf) below ``XMin``, the same in ln Q²
    above ``QMax``, and below ``QMin`` the "anomalous dimension" power law
    ``xf(Q²) = xf(Q²_min) (Q²/Q²_min)^{γ Q²/Q²_min + 1 − Q²/Q²_min}`` with
    ``γ = max(−2.5, d ln xf/d ln Q²)`` from a 1 % finite difference (γ = 1 when
    ``|xf(Q²_min)| < 1e-5``), which makes xf vanish as Q² → 0. x above the last knot is
    an error, as in LHAPDF.
``"error"``
    Any point outside the grid raises :class:`~sidislab.errors.ExtrapolationError`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from sidislab.errors import ExtrapolationError, GridFileError

logger = logging.getLogger(__name__)

__all__ = ["EXTRAPOLATIONS", "LogBicubicGrid", "hermite_cubic"]

EXTRAPOLATIONS: tuple[str, ...] = ("freeze", "continuation", "error")
"""Extrapolation policies understood by :meth:`LogBicubicGrid.evaluate`."""

_CHUNK = 4096
"""Points per vectorised chunk: keeps the gathered (chunk × 16 × flavours) block in cache."""

_ROWS = np.arange(-1, 3)[None, :]
"""Q rows used around a cell: j − 1, j, j + 1, j + 2."""


def hermite_cubic(t: np.ndarray, vl: np.ndarray, vdl: np.ndarray, vh: np.ndarray, vdh: np.ndarray):
    """Cubic Hermite polynomial on [0, 1] (LHAPDF ``_interpolateCubic``).

    ``vl, vh`` are the values at t = 0, 1 and ``vdl, vdh`` the derivatives times the
    interval length (Numerical Recipes 3rd ed., §3.6).
    """
    t2 = t * t
    t3 = t * t2
    p0 = (2 * t3 - 3 * t2 + 1) * vl
    m0 = (t3 - 2 * t2 + t) * vdl
    p1 = (-2 * t3 + 3 * t2) * vh
    m1 = (t3 - t2) * vdh
    return p0 + m0 + p1 + m1


def _ddlogx(xf: np.ndarray, logxs: np.ndarray) -> np.ndarray:
    """∂xf/∂ln x at every knot, as LHAPDF's ``_ddx(logspace=true)``: central mean inside."""
    nx = logxs.size
    d = np.empty_like(xf)
    dl = np.diff(logxs)[:, None, None]
    slopes = np.diff(xf, axis=0) / dl  # (nx-1, nq, nf): forward quotient at ix
    d[0] = slopes[0]
    d[nx - 1] = slopes[nx - 2]
    if nx > 2:
        d[1 : nx - 1] = (slopes[:-1] + slopes[1:]) / 2.0
    return d


class LogBicubicGrid:
    """A member's grid (all blocks joined) with LHAPDF's pre-computed x-cubic coefficients.

    Parameters
    ----------
    xs : (nx,) x knots, strictly increasing, shared by all blocks.
    qs : (nq,) Q knots of all blocks joined (GeV), non-decreasing; a repeated knot marks
        the edge between two blocks.
    xf : (nx, nq, nf) x·f values.
    label : text naming the grid (file) in error messages.
    """

    def __init__(self, xs: np.ndarray, qs: np.ndarray, xf: np.ndarray, label: str = "grid"):
        xs = np.ascontiguousarray(xs, dtype=np.float64)
        qs = np.ascontiguousarray(qs, dtype=np.float64)
        xf = np.ascontiguousarray(xf, dtype=np.float64)
        self.label = label
        if xs.ndim != 1 or xs.size < 2:
            raise GridFileError(f"{label}: at least 2 x knots are needed, got {xs.size}")
        if qs.ndim != 1 or qs.size < 2:
            raise GridFileError(f"{label}: at least 2 Q knots are needed, got {qs.size}")
        if xf.shape[:2] != (xs.size, qs.size):
            raise GridFileError(f"{label}: values of shape {xf.shape} do not match the knots")
        if np.any(np.diff(qs) < 0):
            raise GridFileError(f"{label}: Q knots must be non-decreasing across blocks")
        q2s = qs * qs  # LHAPDF squares the Q knots read from the file
        dup = q2s[1:] == q2s[:-1]
        if np.any(dup[1:] & dup[:-1]):
            raise GridFileError(f"{label}: a Q knot appears three times (empty block)")
        if dup[0] or dup[-1]:
            raise GridFileError(f"{label}: a block with a single Q knot")
        self.xs = xs
        self.qs = qs
        self.q2s = q2s
        self.logxs = np.log(xs)
        self.logq2s = np.log(q2s)
        self.nx, self.nq, self.nf = xf.shape
        self.xf = xf
        self.xmin, self.xmax = float(xs[0]), float(xs[-1])
        self.q2min, self.q2max = float(q2s[0]), float(q2s[-1])

        # x-direction cubic per (ix, iq, flavour), GridPDF::_computePolynomialCoefficients
        dlogx = np.diff(self.logxs)[:, None, None]
        ddx = _ddlogx(xf, self.logxs)
        vl, vh = xf[:-1], xf[1:]
        vdl, vdh = ddx[:-1] * dlogx, ddx[1:] * dlogx
        # powers t^0..t^3 on axis 2: [d, c, b, a] = [VL, VDL, 3VH−3VL−2VDL−VDH, VDH+VDL−2VH+2VL]
        coeffs = np.stack(
            [vl, vdl, 3 * vh - 3 * vl - 2 * vdl - vdh, vdh + vdl - 2 * vh + 2 * vl], axis=2
        )  # (nx-1, nq, 4, nf)
        self._coeffs = np.ascontiguousarray(coeffs.reshape((self.nx - 1) * self.nq, 4 * self.nf))
        self._xf_rows = np.ascontiguousarray(xf.reshape(self.nx * self.nq, self.nf))
        self._subsets: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}

        # Q-direction interval data, per lower knot index iq of an interval [iq, iq+1]
        nq = self.nq
        iq = np.arange(nq - 1)
        lower = np.ones(nq - 1, dtype=bool)
        lower[1:] = q2s[1:-1] == q2s[:-2]
        upper = np.ones(nq - 1, dtype=bool)
        upper[:-1] = q2s[1:-1] == q2s[2:]
        lq = self.logq2s
        d1 = lq[iq + 1] - lq[iq]
        d0 = np.zeros(nq - 1)
        d0[1:] = lq[1:-1] - lq[:-2]
        d2 = np.zeros(nq - 1)
        d2[:-1] = lq[2:] - lq[1:-1]
        inv0 = np.divide(1.0, d0, out=np.zeros_like(d0), where=~lower)
        inv2 = np.divide(1.0, d2, out=np.zeros_like(d2), where=~upper)
        self._q_lower = lower
        self._q_upper = upper
        self._q_fallback = lower & upper
        self._q_d1 = d1
        self._q_inv0 = inv0
        self._q_inv2 = inv2

    # --- tables for a subset of flavour columns -----------------------------------------
    def _tables(self, cols: Sequence[int] | None) -> tuple[np.ndarray, np.ndarray, int]:
        if cols is None:
            return self._coeffs, self._xf_rows, self.nf
        key = tuple(int(c) for c in cols)
        if key not in self._subsets:
            c4 = self._coeffs.reshape(-1, 4, self.nf)[:, :, list(key)]
            xr = self._xf_rows[:, list(key)]
            self._subsets[key] = (
                np.ascontiguousarray(c4.reshape(c4.shape[0], -1)),
                np.ascontiguousarray(xr),
            )
        c, r = self._subsets[key]
        return c, r, len(key)

    # --- in-range interpolation -----------------------------------------------------------
    def interpolate(
        self, x: np.ndarray, q2: np.ndarray, cols: Sequence[int] | None = None
    ) -> np.ndarray:
        """Log-bicubic interpolation at 1-D arrays ``x, q2`` assumed inside the grid.

        Returns an array ``(len(x), n_cols)``. Points outside the grid are not checked here
        (the cell index is clamped): use :meth:`evaluate` for a policy.
        """
        x = np.asarray(x, dtype=np.float64).ravel()
        q2 = np.asarray(q2, dtype=np.float64).ravel()
        coeffs, xf_rows, nc = self._tables(cols)
        out = np.empty((x.size, nc))
        for s in range(0, x.size, _CHUNK):
            sl = slice(s, s + _CHUNK)
            out[sl] = self._interpolate_chunk(x[sl], q2[sl], coeffs, xf_rows, nc)
        return out

    def _interpolate_chunk(self, x, q2, coeffs, xf_rows, nc):
        """One chunk: the four Q rows around each point, weights folded into one contraction.

        With h00…h11 the Hermite basis in t_Q and P_r(t_x) the x-cubic on Q row r (r = −1…2
        around the cell), LHAPDF's Q step is linear in the rows:
        f = Σ_r W_r P_r, W = (−h10 βl, h00 − h10 αl + h10 βl − h11 αh,
        h01 + h10 αl + h11 αh − h11 βh, h11 βh), where the derivative at the lower (upper)
        knot is αl (v_h − v_l) + βl (v_l − v_ll) (αh (v_h − v_l) + βh (v_hh − v_h)):
        α = 1, β = 0 at a block edge, α = ½, β = ½ Δv_j/Δv_{j∓1} inside.
        """
        nq = self.nq
        n = x.size
        ix = np.searchsorted(self.xs, x, side="right") - 1
        np.clip(ix, 0, self.nx - 2, out=ix)
        iq = np.searchsorted(self.q2s, q2, side="right") - 1
        np.clip(iq, 0, nq - 2, out=iq)
        tx = (np.log(x) - self.logxs[ix]) / (self.logxs[ix + 1] - self.logxs[ix])
        d1 = self._q_d1[iq]
        tq = (np.log(q2) - self.logq2s[iq]) / d1
        lower = self._q_lower[iq]
        upper = self._q_upper[iq]
        al = np.where(lower, 1.0, 0.5)
        bl = np.where(lower, 0.0, 0.5 * d1 * self._q_inv0[iq])
        ah = np.where(upper, 1.0, 0.5)
        bh = np.where(upper, 0.0, 0.5 * d1 * self._q_inv2[iq])
        t2 = tq * tq
        t3 = t2 * tq
        h00 = 2 * t3 - 3 * t2 + 1
        h10 = t3 - 2 * t2 + tq
        h01 = -2 * t3 + 3 * t2
        h11 = t3 - t2
        w = np.empty((n, 4))
        w[:, 0] = -h10 * bl
        w[:, 1] = h00 - h10 * al + h10 * bl - h11 * ah
        w[:, 2] = h01 + h10 * al + h11 * ah - h11 * bh
        w[:, 3] = h11 * bh
        txp = np.empty((n, 4))
        txp[:, 0] = 1.0
        txp[:, 1] = tx
        txp[:, 2] = tx * tx
        txp[:, 3] = txp[:, 2] * tx
        m = (w[:, :, None] * txp[:, None, :]).reshape(n, 1, 16)
        rows = ix[:, None] * nq + np.clip(iq[:, None] + _ROWS, 0, nq - 1)
        g = coeffs[rows.ravel()].reshape(n, 16, nc)
        res = np.matmul(m, g)[:, 0, :]

        fb = self._q_fallback[iq]
        if np.any(fb):  # two-knot block: bilinear in (ln x, ln Q²), LHAPDF _interpolateFallback
            k = np.nonzero(fb)[0]
            r00 = xf_rows[ix[k] * nq + iq[k]]
            r10 = xf_rows[(ix[k] + 1) * nq + iq[k]]
            r01 = xf_rows[ix[k] * nq + iq[k] + 1]
            r11 = xf_rows[(ix[k] + 1) * nq + iq[k] + 1]
            txk, tqk = tx[k, None], tq[k, None]
            f_ql = r00 + txk * (r10 - r00)
            f_qh = r01 + txk * (r11 - r01)
            res[k] = f_ql + tqk * (f_qh - f_ql)
        return res

    # --- policies ----------------------------------------------------------------------------
    def evaluate(
        self,
        x: np.ndarray,
        q2: np.ndarray,
        extrapolation: str = "freeze",
        cols: Sequence[int] | None = None,
    ) -> np.ndarray:
        """x·f at 1-D arrays ``x`` (0 < x < 1 assumed) and ``q2`` under an extrapolation policy.

        See the module docstring for the policies. Returns ``(len(x), n_cols)``.
        """
        x = np.asarray(x, dtype=np.float64).ravel()
        q2 = np.asarray(q2, dtype=np.float64).ravel()
        if extrapolation not in EXTRAPOLATIONS:
            raise ValueError(
                f"extrapolation must be one of {EXTRAPOLATIONS}, got {extrapolation!r}"
            )
        inside = (x >= self.xmin) & (x <= self.xmax) & (q2 >= self.q2min) & (q2 <= self.q2max)
        if extrapolation == "freeze" or bool(np.all(inside)):
            if not np.all(inside):
                x = np.clip(x, self.xmin, self.xmax)
                q2 = np.clip(q2, self.q2min, self.q2max)
            return self.interpolate(x, q2, cols)
        if extrapolation == "error":
            k = int(np.argmin(inside))
            raise ExtrapolationError(
                f"{self.label}: point {k} (x = {x[k]:.6g}, Q = {np.sqrt(q2[k]):.6g} GeV) is "
                f"outside the grid x ∈ [{self.xmin:.6g}, {self.xmax:.6g}], "
                f"Q ∈ [{np.sqrt(self.q2min):.6g}, {np.sqrt(self.q2max):.6g}] GeV "
                "(extrapolation='error')"
            )
        return self._continuation(x, q2, inside, cols)

    def _continuation(self, x, q2, inside, cols) -> np.ndarray:
        """LHAPDF ``ContinuationExtrapolator::extrapolateXQ2``, case by case, vectorised."""
        ncol = self.nf if cols is None else len(cols)
        out = np.empty((x.size, ncol))
        if np.any(inside):
            out[inside] = self.interpolate(x[inside], q2[inside], cols)
        xmin, xmin1, xmax = self.xmin, float(self.xs[1]), self.xmax
        q2min, q2max = self.q2min, self.q2max
        q2max1 = float(self.q2s[-2])
        small_x = x < xmin
        big_x = x > xmax
        in_x = ~small_x & ~big_x
        in_q = (q2 >= q2min) & (q2 <= q2max)
        high_q = q2 > q2max
        low_q = q2 < q2min

        def ip(xv, q2v):
            return self.interpolate(np.broadcast_to(xv, q2v.shape), q2v, cols)

        lin = _extrapolate_linear
        # 1. small x only
        k = np.nonzero(small_x & in_q)[0]
        if k.size:
            n = k.size
            f0 = ip(np.full(n, xmin), q2[k])
            f1 = ip(np.full(n, xmin1), q2[k])
            out[k] = lin(x[k], xmin, xmin1, f0, f1)
        # 2. large Q² only
        k = np.nonzero(in_x & high_q)[0]
        if k.size:
            n = k.size
            f0 = self.interpolate(x[k], np.full(n, q2max), cols)
            f1 = self.interpolate(x[k], np.full(n, q2max1), cols)
            out[k] = lin(q2[k], q2max, q2max1, f0, f1)
        # 3. small x and large Q²
        k = np.nonzero(small_x & high_q)[0]
        if k.size:
            n = k.size
            qa, qb = np.full(n, q2max), np.full(n, q2max1)
            xa, xb = np.full(n, xmin), np.full(n, xmin1)
            fa = lin(q2[k], q2max, q2max1, ip(xa, qa), ip(xa, qb))
            fb = lin(q2[k], q2max, q2max1, ip(xb, qa), ip(xb, qb))
            out[k] = lin(x[k], xmin, xmin1, fa, fb)
        # 4. small Q² (x ≤ xmax)
        k = np.nonzero(low_q & ~big_x)[0]
        if k.size:
            n = k.size
            qa, qb = np.full(n, q2min), np.full(n, 1.01 * q2min)
            xk = x[k]
            f0 = np.empty((n, ncol))
            f1 = np.empty((n, ncol))
            sx = xk < xmin
            if np.any(sx):
                m = int(sx.sum())
                xa, xb = np.full(m, xmin), np.full(m, xmin1)
                f0[sx] = lin(xk[sx], xmin, xmin1, ip(xa, qa[sx]), ip(xb, qa[sx]))
                f1[sx] = lin(xk[sx], xmin, xmin1, ip(xa, qb[sx]), ip(xb, qb[sx]))
            if np.any(~sx):
                f0[~sx] = self.interpolate(xk[~sx], qa[~sx], cols)
                f1[~sx] = self.interpolate(xk[~sx], qb[~sx], cols)
            big = np.abs(f0) >= 1e-5
            ratio = np.divide(f1 - f0, f0, out=np.zeros_like(f0), where=big) / 0.01
            anom = np.where(big, np.maximum(-2.5, ratio), 1.0)
            r = (q2[k] / q2min)[:, None]
            out[k] = f0 * np.power(r, anom * r + 1.0 - r)
        # 5. x above the last knot: LHAPDF raises a RangeError
        if np.any(big_x):
            j = int(np.argmax(big_x))
            raise ExtrapolationError(
                f"{self.label}: point {j} has x = {x[j]:.6g} above the last x knot "
                f"{xmax:.6g}; LHAPDF's continuation extrapolator does not extrapolate there "
                "(use extrapolation='freeze')"
            )
        return out


def _extrapolate_linear(x, xl: float, xh: float, yl: np.ndarray, yh: np.ndarray) -> np.ndarray:
    """LHAPDF ``_extrapolateLinear``: linear in ln x, of ln y if both y > 1e-3, else of y."""
    x = np.asarray(x, dtype=np.float64)[:, None]
    w = (np.log(x) - np.log(xl)) / (np.log(xh) - np.log(xl))
    pos = (yl > 1e-3) & (yh > 1e-3)
    lyl = np.log(np.where(pos, yl, 1.0))
    lyh = np.log(np.where(pos, yh, 1.0))
    return np.where(pos, np.exp(lyl + w * (lyh - lyl)), yl + w * (yh - yl))
