r"""The quark TMD evolution factor S(b*; μ, ζ) (APFEL++ ``QuarkEvolutionFactor``).

physics.md §3 (APFEL++ ``src/tmds/tmdbuilder.cc``, ``QuarkEvolutionFactor``), with
μ0 = C_i b0/b*, ζ0 = μ0², a_s = α_s/(4π):

    ln S(b*; μ, ζ) = C_F { ½ [K(μ0) ln(ζ/ζ0) − ln ζ ∫_{μ0}^{μ} γ_K(μ′) dμ′/μ′]
                           + ∫_{μ0}^{μ} γ_K(μ′) ln μ′ dμ′/μ′ } + ∫_{μ0}^{μ} γ_F(μ′) dμ′/μ′,

γ_K = Σ_n a_s^{n+1} γ_K^{(n)}(n_f), γ_F = Σ_n a_s^{n+1} γ_F^{(n)}(n_f) and
K = Σ_n a_s^{n+1} K^{(n)}(n_f, ln C_i) truncated per PerturbativeOrder as in the table of
physics.md §3; n_f(μ′) changes at the quark thresholds inside the integrals. S is
dimensionless; μ, μ0 in GeV, ζ in GeV².

Numerics: with t = ln μ, the three running integrals A(t) = ∫ γ_F dt, B(t) = ∫ γ_K dt,
C(t) = ∫ γ_K t dt are tabulated once on a dense t-grid whose nodes include the flavour
thresholds and any further break points (e.g. the knots of an α_s table), by
Gauss–Legendre quadrature on every grid interval (so thresholds are integration break
points). They are then evaluated by cubic Hermite interpolation with their *exact*
derivatives γ_F, γ_K, γ_K t (one-sided at thresholds), so that ∫_{μ0}^{μ} = A(μ) − A(μ0)
etc. for any batch of (μ0, μ) at the cost of a table lookup. The interpolation error is
far below 1e-6 in ln S for the default step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from sidislab.constants import CF
from sidislab.tmd import anomalous_dimensions as ad
from sidislab.tmd._util import call_vectorised, gauss_legendre, n_active, segment_nodes
from sidislab.tmd.orders import check_order

FOUR_PI = 4.0 * math.pi
_NF_MAX = 6


class QuarkEvolution:
    """Tabulated quark evolution factor for one α_s, set of thresholds, order and C_i.

    Parameters: ``alphas`` (callable μ [GeV] → α_s, vectorised or scalar), ``thresholds``
    (quark masses in GeV; n_f(μ) counts those below μ), ``order`` (any PerturbativeOrder of
    :mod:`sidislab.tmd.orders`; a primed order evolves as its unprimed partner), ``Ci`` (the factor in μ0 = C_i b0/b*), ``mu_range`` (GeV; the table's span,
    which must contain every μ0 and μ asked for), ``breakpoints`` (extra scales in GeV
    made grid nodes, e.g. α_s table knots), ``step`` (maximal node spacing in ln μ),
    ``n_gauss`` (Gauss–Legendre points per grid interval).
    """

    def __init__(
        self,
        alphas: Callable,
        thresholds: Sequence[float],
        order: int,
        Ci: float = 1.0,
        *,
        mu_range: tuple[float, float] = (0.5, 1000.0),
        breakpoints: Sequence[float] = (),
        step: float = 0.01,
        n_gauss: int = 6,
    ) -> None:
        order = check_order(order)
        lo, hi = float(mu_range[0]), float(mu_range[1])
        if not (0 < lo < hi and math.isfinite(hi)):
            raise ValueError(f"QuarkEvolution: bad mu_range {mu_range!r} (GeV)")
        self.order = int(order)
        self.alphas = alphas
        self.Ci = float(Ci)
        self.thresholds = tuple(float(m) for m in thresholds)
        self.mu_range = (lo, hi)
        self.step = float(step)
        self.n_gauss = int(n_gauss)
        log_ci = math.log(self.Ci)
        nfs = range(_NF_MAX + 1)
        self._gk = np.array([[*ad.gamma_k_coefficients(order, nf)] for nf in nfs])
        # LL keeps no γ_F and no K: a single zero coefficient keeps the arrays 2-D
        self._gf = np.array([[*ad.gamma_f_coefficients(order, nf)] or [0.0] for nf in nfs])
        self._kcs = np.array([[*ad.kcs_coefficients(order, nf, log_ci)] or [0.0] for nf in nfs])

        t_lo, t_hi = math.log(lo), math.log(hi)
        breaks = [t_lo, t_hi]
        for m in (*self.thresholds, *breakpoints):
            if m > 0 and t_lo < math.log(m) < t_hi:
                breaks.append(math.log(m))
        t = segment_nodes(breaks, self.step)
        self._t = t
        # α_s at the nodes (continuous) and n_f inside each interval (constant there).
        mid = 0.5 * (t[:-1] + t[1:])
        nf_int = n_active(np.exp(mid), self.thresholds)
        a_nodes = call_vectorised(alphas, np.exp(t)) / FOUR_PI
        gx, gw = gauss_legendre(self.n_gauss)
        h = np.diff(t)
        tg = t[:-1, None] + h[:, None] * gx[None, :]
        ag = call_vectorised(alphas, np.exp(tg)) / FOUR_PI
        gk_g = self._series(ag, self._gk[nf_int][:, None, :])
        gf_g = self._series(ag, self._gf[nf_int][:, None, :])
        dA = h * (gf_g * gw).sum(axis=1)
        dB = h * (gk_g * gw).sum(axis=1)
        dC = h * (gk_g * tg * gw).sum(axis=1)
        self._A = np.concatenate([[0.0], np.cumsum(dA)])
        self._B = np.concatenate([[0.0], np.cumsum(dB)])
        self._C = np.concatenate([[0.0], np.cumsum(dC)])
        # One-sided derivatives at both ends of every interval.
        gk0 = self._series(a_nodes[:-1], self._gk[nf_int])
        gk1 = self._series(a_nodes[1:], self._gk[nf_int])
        gf0 = self._series(a_nodes[:-1], self._gf[nf_int])
        gf1 = self._series(a_nodes[1:], self._gf[nf_int])
        self._dA = (gf0, gf1)
        self._dB = (gk0, gk1)
        self._dC = (gk0 * t[:-1], gk1 * t[1:])

    @staticmethod
    def _series(a: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
        """Σ_n a^{n+1} c_n with coefficients on the last axis of ``coeffs``."""
        out = np.zeros(np.broadcast_shapes(a.shape, coeffs.shape[:-1]))
        for n in range(coeffs.shape[-1] - 1, -1, -1):
            out = (out + coeffs[..., n]) * a
        return out

    def covers(self, mu_lo: float, mu_hi: float) -> bool:
        """True when [mu_lo, mu_hi] (GeV) lies inside the tabulated range."""
        return self.mu_range[0] <= mu_lo and mu_hi <= self.mu_range[1]

    def _hermite(self, t: np.ndarray, f: np.ndarray, d: tuple[np.ndarray, np.ndarray]):
        tn = self._t
        if t.size and (t.min() < tn[0] - 1e-12 or t.max() > tn[-1] + 1e-12):
            raise ValueError(
                f"QuarkEvolution: scale outside the tabulated range {self.mu_range} GeV "
                f"(asked for [{math.exp(t.min()):.6g}, {math.exp(t.max()):.6g}])"
            )
        i = np.clip(np.searchsorted(tn, t, side="right") - 1, 0, len(tn) - 2)
        h = tn[i + 1] - tn[i]
        s = (t - tn[i]) / h
        s2 = s * s
        s3 = s2 * s
        return (
            (2 * s3 - 3 * s2 + 1) * f[i]
            + (s3 - 2 * s2 + s) * h * d[0][i]
            + (-2 * s3 + 3 * s2) * f[i + 1]
            + (s3 - s2) * h * d[1][i]
        )

    def a_s(self, mu: np.ndarray) -> np.ndarray:
        """a_s(μ) = α_s(μ)/(4π) (the coupling called directly)."""
        return call_vectorised(self.alphas, mu) / FOUR_PI

    def integrals(self, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(A, B, C)(ln μ): running integrals of γ_F, γ_K, γ_K ln μ′ over d ln μ′."""
        t = np.log(np.asarray(mu, dtype=np.float64))
        return (
            self._hermite(t, self._A, self._dA),
            self._hermite(t, self._B, self._dB),
            self._hermite(t, self._C, self._dC),
        )

    def kcs(self, mu0: np.ndarray) -> np.ndarray:
        """K(μ0) = Σ_n a_s(μ0)^{n+1} K^{(n)}(n_f(μ0), ln C_i) (to be multiplied by C_F)."""
        mu0 = np.asarray(mu0, dtype=np.float64)
        nf = n_active(mu0, self.thresholds)
        return self._series(self.a_s(mu0), self._kcs[nf])

    def log_sudakov(self, mu0: np.ndarray, mu: np.ndarray, zeta: np.ndarray) -> np.ndarray:
        """ln S(b*; μ, ζ) for broadcastable μ0 = C_i b0/b* (GeV), μ (GeV), ζ (GeV²).

        Formula in the module docstring (physics.md §3).
        """
        mu0, mu, zeta = np.broadcast_arrays(
            *(np.asarray(v, dtype=np.float64) for v in (mu0, mu, zeta))
        )
        a0, b0_, c0 = self.integrals(mu0)
        a1, b1_, c1 = self.integrals(mu)
        lz = np.log(zeta)
        klz = 0.5 * (self.kcs(mu0) * (lz - 2.0 * np.log(mu0)) - lz * (b1_ - b0_)) + (c1 - c0)
        return CF * klz + (a1 - a0)

    def sudakov(self, mu0: np.ndarray, mu: np.ndarray, zeta: np.ndarray) -> np.ndarray:
        """S(b*; μ, ζ) = exp(ln S) (physics.md §3)."""
        return np.exp(self.log_sudakov(mu0, mu, zeta))
