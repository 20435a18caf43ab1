r"""Quadrature nodes that average an observable over measured bins (x, Q, z and the cuts).

A measured multiplicity is a ratio of bin integrals (NangaParbat
``FastInterface::ComputeTablesSIDIS``, the numerator, and its ``IncQIntegrand``, the
denominator)::

    M = ∫_Q ∫_{x ∈ PS(Q)} [ (1/Δz) ∫_z  ∫_{PhT bin} dσ/dx dQ² dz d|PhT| ] / ΔPhT
        ─────────────────────────────────────────────────────────────────
                    ∫_Q ∫_{x ∈ PS(Q)}  dσ_DIS/dx dQ²

over the bin's Q ∈ [Q_lo, Q_hi], x ∈ [x_lo, x_hi] ∩ PS(Q) and z ∈ [z_lo, z_hi], with the
phase space of ``PS_reduction`` (massless, as NangaParbat):

    y = Q²/(x s) ∈ [y_min, y_max],   W² = Q² (1 − x)/x > W_min²
    ⇔  Q²/(s y_max) ≤ x ≤ min(Q²/(s y_min), Q²/(Q² + W_min²)).

The Q measure: NangaParbat integrates ``dQ`` over densities in Q² in both numerator and
denominator (its Q integrands carry 1/(2Q) on both sides): ``q_measure="Q"`` (the default,
to reproduce MAP22). The phase-space-exact average uses dQ² = 2Q dQ: ``q_measure="Q2"``.
The two differ only through the Q dependence of the multiplicity inside a bin.

A variable whose ``integrate_*`` flag is False sits at its centre value with weight 1;
without x integration NangaParbat applies no phase-space cut (neither here). The z average
divides by the full width z_hi − z_lo, also where the bin reaches beyond z = 1 (HERMES'
last bin 0.8–1.1): the integrand vanishes for z ≥ 1 and the nodes stop at 1.

The rule (vectorised over bins, no loops over points): the (x, Q) region is cut into
x panels at every x where a limit switches branch — the bin edges and Q_{lo,hi}²/(s y_{max,min}),
Q_{lo,hi}²/(Q_{lo,hi}² + W²), 1 − W²/(s y_min) — so that on each panel the Q limits are
smooth functions of x; Gauss–Legendre with ``n_x`` nodes per panel, ``n_Q`` nodes in Q
between the limits at each x (split at ``q_breaks``: the quark thresholds, where n_f of
the hard scale jumps and L_q with it, and the sets' Q_min), ``n_z`` nodes in z. Nodes with zero weight (empty panels,
a z bin above 1) are dropped. Points that share a bin (the PhT bins of one (x, Q, z) bin)
share all nodes: luminosities are needed per node, not per point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sidislab.measurements.bins import MeasuredBins

__all__ = ["BinNodes", "BinRule", "bin_nodes"]

Q_MEASURES = ("Q", "Q2")


@dataclass(frozen=True)
class BinRule:
    """Node counts of the bin average: per x panel, in Q, in z; and the Q measure."""

    n_x: int = 3
    n_Q: int = 4
    n_z: int = 3
    q_measure: str = "Q"
    q_breaks: tuple[float, ...] = ()
    """Scales (GeV) where the integrand is not smooth in Q — the quark thresholds (n_f(Q)
    of the hard scale jumps there) and the collinear sets' Q_min (frozen below): each
    Q interval is split there, with ``n_Q`` nodes per piece."""

    def __post_init__(self) -> None:
        for name in ("n_x", "n_Q", "n_z"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"BinRule.{name} must be an integer ≥ 1, got {v!r}")
        if self.q_measure not in Q_MEASURES:
            raise ValueError(
                f"BinRule.q_measure = {self.q_measure!r} (allowed: {', '.join(Q_MEASURES)})"
            )


@dataclass(frozen=True)
class BinNodes:
    """Quadrature nodes of G distinct bins for N points (numpy, float64 unless stated).

    ``point_group`` [N]: the bin of each point. Per bin [G]: ``Vs``, ``tau``
    (target isoscalarity), ``charge``. Collinear nodes [M] (the denominator):
    ``xq_group``, ``x``, ``Q``, ``w_xq`` (∫dx dQ or ∫dx dQ² weights). Full nodes [K] (the
    numerator): ``node_xq`` (its collinear node), ``node_group``, ``z``, ``w`` (the
    product w_xq · w_z, w_z including 1/Δz).
    """

    point_group: np.ndarray
    Vs: np.ndarray
    tau: np.ndarray
    charge: np.ndarray
    xq_group: np.ndarray
    x: np.ndarray
    Q: np.ndarray
    w_xq: np.ndarray
    node_xq: np.ndarray
    node_group: np.ndarray
    z: np.ndarray
    w: np.ndarray

    @property
    def n_groups(self) -> int:
        return int(self.Vs.shape[0])

    @property
    def n_nodes(self) -> int:
        """Kinematic points (x, Q, z) at which the luminosity is needed."""
        return int(self.z.shape[0])

    def node_x(self) -> np.ndarray:
        return self.x[self.node_xq]

    def node_Q(self) -> np.ndarray:
        return self.Q[self.node_xq]


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float64)


def _gauss(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [0, 1]."""
    t, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (t + 1.0), 0.5 * w


def _group_key(bins: MeasuredBins) -> np.ndarray:
    ix, iq, iz = (_np(getattr(bins, f"integrate_{v}")) for v in ("x", "Q", "z"))
    cols = [
        _np(bins.x_lo),
        _np(bins.x_hi),
        _np(bins.Q_lo),
        _np(bins.Q_hi),
        _np(bins.z_lo),
        _np(bins.z_hi),
        np.where(ix > 0, 0.0, _np(bins.x)),
        np.where(iq > 0, 0.0, _np(bins.Q)),
        np.where(iz > 0, 0.0, _np(bins.z)),
        _np(bins.Vs),
        _np(bins.W_min),
        _np(bins.y_min),
        _np(bins.y_max),
        _np(bins.target_isoscalarity),
        _np(bins.charge),
        ix,
        iq,
        iz,
    ]
    return np.stack(cols, axis=1)


def bin_nodes(bins: MeasuredBins, rule: BinRule | None = None) -> BinNodes:
    """The nodes and weights of every distinct bin of ``bins`` (module docstring)."""
    rule = rule or BinRule()
    key = _group_key(bins)
    uniq, point_group = np.unique(key, axis=0, return_inverse=True)
    point_group = point_group.reshape(-1)
    (x_lo, x_hi, Q_lo, Q_hi, z_lo, z_hi, x_c, Q_c, z_c, Vs, W, y_min, y_max, tau, charge) = (
        uniq[:, i] for i in range(15)
    )
    ix, iq, iz = (uniq[:, i] > 0 for i in (15, 16, 17))
    G = uniq.shape[0]
    s = Vs**2
    W2 = W**2
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_ymin = np.where(y_min > 0, 1.0 / np.where(y_min > 0, y_min, 1.0), np.inf)
        # --- x panels -------------------------------------------------------------------
        ql2 = np.where(iq, Q_lo, Q_c) ** 2
        qh2 = np.where(iq, Q_hi, Q_c) ** 2
        bps = np.stack(
            [
                x_lo,
                x_hi,
                ql2 / (s * y_max),
                qh2 / (s * y_max),
                ql2 * inv_ymin / s,
                qh2 * inv_ymin / s,
                ql2 / (ql2 + W2),
                qh2 / (qh2 + W2),
                1.0 - W2 * inv_ymin / s,
            ],
            axis=1,
        )
    bps = np.where(np.isfinite(bps), bps, x_hi[:, None])
    bps = np.clip(bps, x_lo[:, None], x_hi[:, None])
    bps = np.sort(bps, axis=1)  # [G, 9] → 8 panels
    tx, wx = _gauss(rule.n_x)
    width = np.diff(bps, axis=1)  # [G, 8]
    xs = bps[:, :-1, None] + width[:, :, None] * tx  # [G, 8, n_x]
    wxs = width[:, :, None] * wx
    xs = xs.reshape(G, -1)
    wxs = wxs.reshape(G, -1)
    # not integrated in x: one node at the centre, weight 1
    xs = np.where(ix[:, None], xs, x_c[:, None])
    first = np.zeros_like(wxs)
    first[:, 0] = 1.0
    wxs = np.where(ix[:, None], wxs, first)
    # --- Q limits at each x (PS cuts only with x integration, as NangaParbat) -----------
    with np.errstate(divide="ignore", invalid="ignore"):
        cut_lo = np.maximum(xs * s[:, None] * y_min[:, None], W2[:, None] * xs / (1.0 - xs))
        cut_hi = xs * s[:, None] * y_max[:, None]
    cut_lo = np.where(ix[:, None], cut_lo, 0.0)
    cut_hi = np.where(ix[:, None], cut_hi, np.inf)
    lo2 = np.maximum(ql2[:, None], cut_lo)
    hi2 = np.minimum(qh2[:, None], cut_hi)
    tq, wq = _gauss(rule.n_Q)
    qa, qb = np.sqrt(lo2), np.sqrt(np.maximum(hi2, lo2))
    brk = np.asarray(sorted(float(q) for q in rule.q_breaks if q > 0), dtype=np.float64)
    qe = np.concatenate(
        [qa[..., None], np.broadcast_to(brk, qa.shape + brk.shape), qb[..., None]], axis=-1
    )
    qe = np.sort(np.clip(qe, qa[..., None], qb[..., None]), axis=-1)  # [G, X, n_breaks + 2]
    qw = np.diff(qe, axis=-1)
    Qs = (qe[..., :-1, None] + qw[..., None] * tq).reshape(*qa.shape, -1)  # [G, X, P·n_Q]
    wQs = (qw[..., None] * wq).reshape(*qa.shape, -1)
    if rule.q_measure == "Q2":
        wQs = wQs * 2.0 * Qs
    # not integrated in Q: the centre, weight 1 where the cuts allow it
    qc = Q_c[:, None, None]
    allowed = (qc**2 >= cut_lo[..., None]) & (qc**2 <= cut_hi[..., None])
    first_q = np.zeros_like(wQs)
    first_q[..., 0] = 1.0
    Qs = np.where(iq[:, None, None], Qs, qc)
    wQs = np.where(iq[:, None, None], wQs, first_q * allowed)
    w_xq = wxs[..., None] * wQs  # [G, X, n_Q]
    g_xq = np.broadcast_to(np.arange(G)[:, None, None], w_xq.shape)
    keep = w_xq.reshape(-1) > 0
    x_flat = np.broadcast_to(xs[..., None], w_xq.shape).reshape(-1)[keep]
    Q_flat = Qs.reshape(-1)[keep]
    g_flat = g_xq.reshape(-1)[keep]
    w_flat = w_xq.reshape(-1)[keep]
    # --- z nodes (per collinear node) ----------------------------------------------------
    tz, wz = _gauss(rule.n_z)
    z_top = np.minimum(z_hi, 1.0)
    zw = np.maximum(z_top - z_lo, 0.0)
    dz = np.where(z_hi > z_lo, z_hi - z_lo, 1.0)
    zs = z_lo[:, None] + zw[:, None] * tz  # [G, n_z]
    wzs = zw[:, None] * wz / dz[:, None]
    first_z = np.zeros_like(wzs)
    first_z[:, 0] = 1.0
    zs = np.where(iz[:, None], zs, z_c[:, None])
    wzs = np.where(iz[:, None], wzs, first_z * (z_c[:, None] < 1.0))
    zk = zs[g_flat]  # [M, n_z]
    wk = w_flat[:, None] * wzs[g_flat]
    xq_idx = np.broadcast_to(np.arange(len(g_flat))[:, None], zk.shape)
    keep_z = wk.reshape(-1) > 0
    node_xq = xq_idx.reshape(-1)[keep_z]
    return BinNodes(
        point_group=point_group.astype(np.int64),
        Vs=Vs,
        tau=tau,
        charge=charge,
        xq_group=g_flat.astype(np.int64),
        x=x_flat,
        Q=Q_flat,
        w_xq=w_flat,
        node_xq=node_xq.astype(np.int64),
        node_group=g_flat[node_xq].astype(np.int64),
        z=zk.reshape(-1)[keep_z],
        w=wk.reshape(-1)[keep_z],
    )
