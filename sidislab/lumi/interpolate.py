"""Smooth interpolation of tabulated luminosities in u = ln b, flat outside the table.

A luminosity table holds L_q(b_j) on a dense grid b_j (GeV⁻¹); the Fourier-Bessel
integrators need L at other nodes (Ogata's nodes y_k/qT differ per point, physics.md §6).
:class:`LogBSpline` is a cubic spline in u = ln b through the tabulated values:

- **C² everywhere, 4th order.** The second derivatives M_j at the knots solve the usual
  tridiagonal system (de Boor, *A Practical Guide to Splines*, ch. IV; Press et al.,
  *Numerical Recipes* §3.3). The default end condition is *not-a-knot* (third derivative
  continuous at the second and the penultimate knot): the error is O(h⁴) up to the ends
  for any smooth L (the classical bound of the clamped spline, (5/384) h⁴ max|d⁴L/du⁴|,
  has the same order; measured: 5e-8 relative at h = 0.051 on 2 + tanh u + 0.3 sin u,
  matching scipy's ``CubicSpline`` to 1e-15). The *natural*
  condition (M = 0 at the ends) is available; it is O(h²) near an end unless L'' = 0
  there — true for luminosities (b* saturates, below), not for an arbitrary test
  function. Ogata's rule needs a smooth integrand; a kinked (linear) interpolant spoils
  its exponential convergence (physics.md §3, "Efficient evaluation").
- **Flat outside the table.** A query below b_0 or above b_{Nb−1} returns the end value.
  The luminosity depends on b only through b* (physics.md §2), which saturates:
  b* → b_min = b0/Q for b ≪ b0/Q (relative deviation (b Q/b0)⁴/8) and b* → b_max = b0 GeV⁻¹
  for b ≫ b0 (deviation ∝ e^{−(b/b0)⁴}). A table whose range covers both saturation
  regions therefore *is* constant outside it, and the flat continuation is exact to that
  accuracy, not an approximation of convenience. (For a b-dependence without b*, e.g. the
  analytic Gaussians of :mod:`sidislab.lumi.analytic`, the range must reach where L has
  decayed to zero.)
- **Vectorised.** Evaluation finds each query's interval (arithmetically on a uniform
  ln b grid, else by ``searchsorted``) and makes four ``gather``s of values and second
  derivatives: no Python loop over points, flavours or nodes (only over blocks of
  points, to bound the memory of the temporaries).

The second derivatives are computed once per device, in float64: M = Y · K with the
[Nb, Nb] matrix K that maps values to second derivatives (obtained from a Thomas sweep
on the unit vectors; one BLAS matmul beats row-by-row sweeps over a 10⁵ × 256 table),
on the GPU when the nodes live there, else on the CPU (then kept), and cast to the
requested dtype on first use.
"""

from __future__ import annotations

import numpy as np
import torch

BOUNDARY_CONDITIONS: tuple[str, ...] = ("not-a-knot", "natural")
"""End conditions of the cubic spline (see the module docstring)."""

_BLOCK_ELEMENTS = 1 << 22
"""Output elements evaluated per block (≈ 32 MB of float64 per temporary)."""
_SWEEP_BLOCK = 4096
"""Series solved together in the Thomas sweep (rows of 32 kB stay in cache)."""


def _as_float64_array(a: np.ndarray | torch.Tensor, what: str) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        arr = a.detach().to("cpu", torch.float64).numpy()
    else:
        arr = np.asarray(a, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"LogBSpline: {what} must be finite")
    return arr


def _tridiagonal_system(h: np.ndarray, bc: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sub-, main and super-diagonal for the interior second derivatives M_1..M_{n−2}.

    Interior rows (i = 1..n−2): h_{i−1} M_{i−1} + 2(h_{i−1} + h_i) M_i + h_i M_{i+1} = r_i,
    r_i = 6[(y_{i+1} − y_i)/h_i − (y_i − y_{i−1})/h_{i−1}]. Natural: M_0 = M_{n−1} = 0.
    Not-a-knot: M_0 = (1 + h_0/h_1) M_1 − (h_0/h_1) M_2 (and its mirror) substituted into
    the first and last rows, which stay tridiagonal and diagonally dominant.
    """
    hl, hr = h[:-1], h[1:]  # h_{i−1}, h_i for i = 1..n−2
    sub = hl.copy()
    diag = 2.0 * (hl + hr)
    sup = hr.copy()
    if bc == "not-a-knot":
        h0, h1 = h[0], h[1]
        diag[0] += h0 + h0 * h0 / h1
        sup[0] -= h0 * h0 / h1
        hm, hn = h[-2], h[-1]  # h_{n−3}, h_{n−2}
        diag[-1] += hn + hn * hn / hm
        sub[-1] -= hn * hn / hm
    sub[0] = 0.0
    sup[-1] = 0.0
    return sub, diag, sup


def second_derivatives(u: np.ndarray, y: np.ndarray, bc: str = "not-a-knot") -> np.ndarray:
    """Second derivatives d²y/du² at the knots of the cubic spline through (u_j, y_j).

    Args:
        u: strictly increasing knots, shape [n], n ≥ 4, float64.
        y: values, shape [S, n] (S independent series), float64.
        bc: ``"not-a-knot"`` or ``"natural"``.

    Returns:
        M, float64 array [S, n].
    """
    if bc not in BOUNDARY_CONDITIONS:
        raise ValueError(f"spline end condition {bc!r} not in {BOUNDARY_CONDITIONS}")
    u = np.asarray(u, dtype=np.float64)
    n = u.shape[0]
    if n < 4:
        raise ValueError(f"second_derivatives: need at least 4 knots, got {n}")
    h = np.diff(u)
    sub, diag, sup = _tridiagonal_system(h, bc)
    # Thomas algorithm. The matrix is shared by all series, so its factorisation is scalar
    # work; the per-series work is two sweeps over contiguous rows of length S (numpy:
    # single-threaded and predictable, unlike many small torch kernels on a busy CPU).
    m = n - 2
    cprime = np.empty(m)
    inv = np.empty(m)
    inv[0] = 1.0 / diag[0]
    cprime[0] = sup[0] * inv[0]
    for i in range(1, m):
        inv[i] = 1.0 / (diag[i] - sub[i] * cprime[i - 1])
        cprime[i] = sup[i] * inv[i]
    y = np.asarray(y, dtype=np.float64)
    out = np.empty_like(y)
    r0 = h[0] / h[1]
    rn = h[-1] / h[-2]
    for s in range(0, y.shape[0], _SWEEP_BLOCK):  # blocks keep the temporaries in cache
        yt = np.ascontiguousarray(y[s : s + _SWEEP_BLOCK].T)  # [n, S_block]
        slope = np.diff(yt, axis=0) / h[:, None]  # [n−1, S_block]
        rhs = 6.0 * (slope[1:] - slope[:-1])  # [m, S_block]
        rhs[0] *= inv[0]
        for i in range(1, m):
            rhs[i] -= sub[i] * rhs[i - 1]
            rhs[i] *= inv[i]
        for i in range(m - 2, -1, -1):
            rhs[i] -= cprime[i] * rhs[i + 1]
        blk = out[s : s + _SWEEP_BLOCK]
        blk[:, 1:-1] = rhs.T
        if bc == "not-a-knot":
            blk[:, 0] = (1.0 + r0) * blk[:, 1] - r0 * blk[:, 2]
            blk[:, -1] = (1.0 + rn) * blk[:, -2] - rn * blk[:, -3]
        else:
            blk[:, 0] = 0.0
            blk[:, -1] = 0.0
    return out


class LogBSpline:
    """C² cubic spline in u = ln b through tabulated values, constant outside the knots.

    Args:
        b: knots in GeV⁻¹, shape [Nb], strictly increasing, > 0, Nb ≥ 4.
        values: tabulated values, shape [N, *rest, Nb] (e.g. [N, F, Nb] luminosities).
        bc: end condition, ``"not-a-knot"`` (default) or ``"natural"``.

    Calling the spline with nodes ``b`` of shape [Nb′] (shared) or [N, Nb′] (per point,
    e.g. Ogata nodes) returns a tensor [N, *rest, Nb′] on the requested device and dtype.
    """

    def __init__(
        self,
        b: np.ndarray | torch.Tensor,
        values: np.ndarray | torch.Tensor,
        bc: str = "not-a-knot",
    ) -> None:
        if bc not in BOUNDARY_CONDITIONS:
            raise ValueError(f"LogBSpline: end condition {bc!r} not in {BOUNDARY_CONDITIONS}")
        knots = _as_float64_array(b, "knots b")
        if knots.ndim != 1 or knots.shape[0] < 4:
            raise ValueError(f"LogBSpline: knots b must have shape [Nb ≥ 4], got {knots.shape}")
        if (knots <= 0).any():
            raise ValueError("LogBSpline: knots b must be > 0 (GeV⁻¹) for a spline in ln b")
        u = np.log(knots)
        if (np.diff(u) <= 0).any():
            raise ValueError("LogBSpline: knots b must be strictly increasing")
        vals = _as_float64_array(values, "values")
        nb = knots.shape[0]
        if vals.ndim < 2 or vals.shape[-1] != nb:
            raise ValueError(
                f"LogBSpline: values must have shape [N, ..., Nb={nb}], got {vals.shape}"
            )
        self.bc = bc
        self.shape: tuple[int, ...] = tuple(vals.shape)
        self._u = u
        self._h = np.diff(u)
        self._y = np.ascontiguousarray(vals).reshape(vals.shape[0], -1, nb)  # [N, R, Nb]
        # M = Y · K: K [Nb, Nb] maps values to second derivatives (row i: the response to
        # the unit vector e_i, from the Thomas sweep). One dense matmul (BLAS, threaded, or
        # on the GPU) beats the sweep's row-by-row passes over a [N·F, Nb] table.
        self._k = second_derivatives(u, np.eye(nb), bc)
        self._m: np.ndarray | None = None
        self._on: dict[tuple[str, torch.dtype], tuple[torch.Tensor, ...]] = {}
        du = (u[-1] - u[0]) / (nb - 1)
        uniform = np.allclose(self._h, du, rtol=1e-9, atol=0.0)
        self._uniform: tuple[float, float] | None = (float(u[0]), float(du)) if uniform else None

    @property
    def n_points(self) -> int:
        return self.shape[0]

    @property
    def knots(self) -> torch.Tensor:
        """The knots b_j (GeV⁻¹), float64 CPU tensor [Nb]."""
        return torch.from_numpy(np.exp(self._u))

    def _second_derivatives_on(self, device: torch.device) -> torch.Tensor:
        """M [N, R, Nb] in float64, computed on ``device`` (CUDA) or on the CPU (kept)."""
        nb = self._u.shape[0]
        if device.type == "cuda":
            y = torch.from_numpy(self._y).to(device)
            k = torch.from_numpy(self._k).to(device)
            return (y.reshape(-1, nb) @ k).reshape(y.shape)
        if self._m is None:
            y = torch.from_numpy(self._y).reshape(-1, nb)
            self._m = (y @ torch.from_numpy(self._k)).reshape(self._y.shape).numpy()
        return torch.from_numpy(self._m)

    def second_derivatives(self) -> np.ndarray:
        """d²L/d(ln b)² at the knots, float64 array of the values' shape."""
        return self._second_derivatives_on(torch.device("cpu")).numpy().reshape(self.shape)

    def _coefficients(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
        key = (str(device), dtype)
        if key not in self._on:
            m = self._second_derivatives_on(device)
            self._on[key] = (
                *(
                    torch.from_numpy(t).to(device=device, dtype=dtype)
                    for t in (self._u, self._h, self._y)
                ),
                m.to(device=device, dtype=dtype),
            )
        return self._on[key]

    def __call__(
        self,
        b: np.ndarray | torch.Tensor,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """Interpolated values at nodes ``b`` (GeV⁻¹), shape [N, *rest, Nb′].

        ``b``: [Nb′] (the same nodes for every point) or [N, Nb′]; finite and > 0.
        ``device`` defaults to the device of ``b`` when it is a tensor, else the CPU.
        """
        if device is None:
            device = b.device if isinstance(b, torch.Tensor) else torch.device("cpu")
        device = torch.device(device)
        q = b.detach() if isinstance(b, torch.Tensor) else torch.as_tensor(np.asarray(b))
        if not q.is_floating_point():
            q = q.to(torch.float64)
        q = q.to(device=device)
        if q.ndim not in (1, 2) or (q.ndim == 2 and q.shape[0] != self.n_points):
            raise ValueError(
                f"LogBSpline: nodes b must have shape [Nb'] or [N={self.n_points}, Nb'], "
                f"got {tuple(q.shape)}"
            )
        bad = ~(torch.isfinite(q) & (q > 0))
        if bad.any():
            where = tuple(int(i) for i in torch.nonzero(bad)[0].tolist())
            raise ValueError(
                f"LogBSpline: nodes b must be finite and > 0, bad node at index {where}"
            )
        q = torch.log(q).to(dtype)  # ln b in the input's precision, then the working dtype
        u, h, y, m = self._coefficients(device, dtype)
        n, r, nb = y.shape
        nq = q.shape[-1]
        uq = q.clamp(min=u[0], max=u[-1])  # flat continuation outside the table
        if self._uniform is not None:
            # uniform knots in ln b (the cache's log grid): the interval index is arithmetic
            u0, du = self._uniform
            idx = torch.floor((uq - u0) / du).to(torch.long).clamp(0, nb - 2)
        else:
            idx = (torch.searchsorted(u, uq.contiguous(), right=True) - 1).clamp(0, nb - 2)
        hq = h[idx]
        a = (u[idx + 1] - uq) / hq
        bw = 1.0 - a
        h26 = hq * hq / 6.0
        ca = (a * a - 1.0) * a * h26
        cb = (bw * bw - 1.0) * bw * h26
        if q.ndim == 1:  # shared nodes: the same weights for every point (views, no copies)
            idx, a, bw, ca, cb = (t.expand(n, -1) for t in (idx, a, bw, ca, cb))
        out = torch.empty((n, r, nq), dtype=dtype, device=device)
        step = max(1, _BLOCK_ELEMENTS // max(1, r * nq))
        for s in range(0, n, step):  # blocks of points bound the temporaries
            sl = slice(s, s + step)
            ys, ms, o = y[sl], m[sl], out[sl]
            i0 = idx[sl].unsqueeze(1).expand(-1, r, -1)
            i1 = i0 + 1
            torch.gather(ys, 2, i0, out=o)
            o.mul_(a[sl].unsqueeze(1))
            o.addcmul_(torch.gather(ys, 2, i1), bw[sl].unsqueeze(1))
            o.addcmul_(torch.gather(ms, 2, i0), ca[sl].unsqueeze(1))
            o.addcmul_(torch.gather(ms, 2, i1), cb[sl].unsqueeze(1))
        return out.reshape((n, *self.shape[1:-1], nq))
