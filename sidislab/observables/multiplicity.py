r"""SIDIS multiplicities averaged over measured bins, differentiable in the fNP parameters.

Formula chain (units GeV; physics.md §1.2–1.3, :mod:`sidislab.observables.physical`):

1. The TMD cross section per |PhT| (MAP22, arXiv:2206.07598, the F_UU,T of its SIDIS
   section in b space; physics.md §1.2), with F(b) = Σ_q fNP_q DNP_q L_q(b):

       dσ/dx dQ² dz d|PhT| = 2π |PhT| / (Q z²) ∫₀^∞ db b J₀(b qT) F(b),   qT = |PhT|/z.

2. Its integral from 0 to |PhT| = P (∫₀^q dq′ q′ J₀(bq′) = q J₁(bq)/b):

       C(P) = ∫₀^P d|P′| dσ/dx dQ² dz d|P′| = (2π/Q) qT ∫₀^∞ db J₁(b qT) F(b)     [GeV⁻⁴],

   so a PhT bin needs C at its two edges (NangaParbat does the same with an order-1
   Ogata rule: ``OgataQuadrature{IntqT ? 1 : 0}`` in ``FastInterface::ComputeTablesSIDIS``,
   ``(pred(hi) − pred(lo))/(hi − lo)`` in ``ConvolutionTable::GetPredictions``).
   The b integral is a fixed-grid rule (``grid``, Simpson in the grid variable) shared by
   all nodes: fNP is evaluated once per node and b-node, and the Bessel kernels are
   constants computed at construction.

3. Bin average (:mod:`sidislab.observables.binning`): numerator N = Σ_k w_k [C_k(P_hi) −
   C_k(P_lo)] over the (x, Q, z) nodes of the bin, denominator D = Σ_m w_m dσ_DIS/dx dQ²
   over its (x, Q) nodes (:mod:`sidislab.observables.dis`), and

       M = prefactor · f_PhT · ω · N / (D · (P_hi − P_lo)),

   exactly NangaParbat's ``_prefact * _qTfact[i] * (pred(hi) − pred(lo))/(hi − lo)``:
   f_PhT is the file's per-PhT-bin ``factor`` (``MeasuredBins.PhT_factor``), 1 for the
   per-|PhT| HERMES ``multiplicity`` and 1/(P_hi + P_lo) for the per-PhT² COMPASS
   ``(dsigma/dxdzdQ2dPhT2)/dsigmaDIS`` (so that the result is the average over the bin in
   PhT²: [C(P_hi) − C(P_lo)]/(P_hi² − P_lo²)). ω is the optional normalisation of
   :mod:`sidislab.observables.normalisation` (1 when off).

``pht_mode="centre"`` gives instead the point value at the bin centres of PhT (and, with
bins whose ``integrate_*`` flags are off, of x, Q, z): 2π P/(Q z²) ∫db b J₀ F / D — for
"what bin averaging changes".

Flavour-blind fNP: Σ_q L_q is taken once. Flavour-dependent fNP multiply each L_q of the
*target* (isospin-mixed) flavour: for a deuteron the neutron's u carries fNP_u although it
is the proton's d (a choice, stated; exact for flavour-blind fNP).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
from scipy import special
from torch import Tensor, nn

from sidislab.errors import DataError
from sidislab.fnp.map22 import Q0_SQUARED, evolution_factor
from sidislab.measurements.bins import MeasuredBins
from sidislab.numerics.bgrid import BGrid, named_grid
from sidislab.observables.binning import BinNodes

log = logging.getLogger(__name__)

__all__ = ["OBSERVABLES", "PHT_MODES", "Multiplicity", "cumulative_kernel", "observable_power"]

OBSERVABLES = {"multiplicity": 1, "(dsigma/dxdzdQ2dPhT2)/dsigmaDIS": 2}
"""The ``observable`` qualifiers understood, and the power of PhT they are differential in."""
PHT_MODES = ("bin", "centre")


def cumulative_kernel(b: np.ndarray, wb: np.ndarray, qT: np.ndarray) -> np.ndarray:
    """Weights K [n, Nb] with Σ_j K_j F(b_j) ≈ qT ∫₀^∞ db J₁(b qT) F(b) = ∫₀^qT dq q F̃(q),
    F̃(q) = ∫ db b J₀(bq) F(b): the 2D transform integrated over a disc of radius qT
    (``b``, ``wb``: a b-grid and its weights; ``qT`` [n] in GeV)."""
    qT = np.asarray(qT, dtype=np.float64)
    return qT[:, None] * special.j1(b[None, :] * qT[:, None]) * wb[None, :]


def observable_power(observable: str, dataset: str, index: int) -> int:
    """1 for dM/d|PhT|, 2 for dM/dPhT²; a clear error otherwise."""
    try:
        return OBSERVABLES[observable]
    except KeyError:
        raise DataError(
            f"{dataset}: point {index}: observable {observable!r} is not a SIDIS "
            f"multiplicity sidislab computes (allowed: {', '.join(OBSERVABLES)})"
        ) from None


class Multiplicity(nn.Module):
    """Bin-averaged multiplicities of N measured points as a function of an fNP module.

    Args:
        bins: the measured bins (N points).
        nodes: their quadrature nodes (:func:`sidislab.observables.binning.bin_nodes`).
        lumi: L_q(b) at the K nodes and the grid's b-nodes, [K, F, Nb] (GeV⁻³).
        flavours: PDG ids of the F rows of ``lumi``.
        denominator: Σ_m w_m dσ_DIS/dx dQ² per bin, [G] (GeV⁻⁴ × the measure).
        fnp: an fNP module (``fnp(x, z, b, zeta, flavours)`` → [K, 1 or F, Nb]).
        grid: the b-grid of ``lumi`` (default: the package default grid).
        rule: ``simpson`` (default) or ``trapezoid`` in the grid variable.
        normalisation: per-bin factors ω [G] (None: 1).
        pht_mode: ``bin`` (average over the PhT bin) or ``centre`` (value at PhT).

    ``forward()`` returns M [N]; :meth:`parts` returns numerator, denominator and ω.
    """

    def __init__(
        self,
        bins: MeasuredBins,
        nodes: BinNodes,
        lumi: Tensor,
        flavours: tuple[int, ...],
        denominator: Tensor | np.ndarray,
        fnp: nn.Module,
        *,
        grid: BGrid | None = None,
        rule: str = "simpson",
        normalisation: Tensor | np.ndarray | None = None,
        pht_mode: str = "bin",
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        if pht_mode not in PHT_MODES:
            raise ValueError(f"pht_mode = {pht_mode!r} (allowed: {', '.join(PHT_MODES)})")
        device = torch.device(device) if device is not None else torch.device("cpu")
        grid = grid or named_grid("default")
        K, G = nodes.n_nodes, nodes.n_groups
        if lumi.shape[0] != K or lumi.shape[1] != len(flavours) or lumi.shape[2] != grid.Nb:
            raise ValueError(
                f"Multiplicity: luminosity has shape {tuple(lumi.shape)}, expected "
                f"[{K}, {len(flavours)}, {grid.Nb}] (nodes, flavours, b-nodes)"
            )
        if not torch.isfinite(lumi).all():
            k = int(torch.nonzero(~torch.isfinite(lumi))[0, 0])
            raise ValueError(f"Multiplicity: node {k}: luminosity is not finite")
        self.fnp = fnp
        self.flavours = tuple(int(f) for f in flavours)
        self.flavour_blind = bool(getattr(fnp, "flavour_blind", True))
        self.pht_mode = pht_mode
        self.n_points = len(bins)
        lumi = lumi.to(dtype=dtype, device=device)
        self.register_buffer("L", lumi.sum(1, keepdim=True) if self.flavour_blind else lumi)
        b = grid.nodes(torch.float64).numpy()
        wb = grid.weights(rule, torch.float64).numpy()
        self.register_buffer("b", torch.as_tensor(b, dtype=dtype, device=device))
        x_k, Q_k, z_k = nodes.node_x(), nodes.node_Q(), nodes.z
        self.register_buffer("x", torch.as_tensor(x_k, dtype=dtype, device=device))
        self.register_buffer("z", torch.as_tensor(z_k, dtype=dtype, device=device))
        self.register_buffer("zeta", torch.as_tensor(Q_k**2, dtype=dtype, device=device))
        self.register_buffer("xq_x", torch.as_tensor(nodes.x, dtype=dtype, device=device))
        self.register_buffer("xq_zeta", torch.as_tensor(nodes.Q**2, dtype=dtype, device=device))
        self.register_buffer("node_xq", torch.as_tensor(nodes.node_xq, device=device))

        # --- PhT edges per bin, and the (node, edge) pairs -------------------------------
        power = np.array(
            [observable_power(o, bins.dataset[i], i) for i, o in enumerate(bins.observable)]
        )
        g_pt = nodes.point_group
        lo = bins.PhT_lo.detach().cpu().numpy().astype(np.float64)
        hi = bins.PhT_hi.detach().cpu().numpy().astype(np.float64)
        pc = bins.PhT.detach().cpu().numpy().astype(np.float64)
        if pht_mode == "bin":
            edges = np.concatenate(
                [np.stack([g_pt, lo], 1), np.stack([g_pt, hi], 1)], axis=0
            )  # rows: (group, P)
        else:
            edges = np.stack([g_pt, pc], 1)
        uniq, inv = np.unique(edges, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        e_group = uniq[:, 0].astype(np.int64)
        e_P = uniq[:, 1]
        # nodes sorted by group → pairs (node, edge) for every node of the edge's group
        order = np.argsort(nodes.node_group, kind="stable")
        counts = np.bincount(nodes.node_group, minlength=G)
        start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        n_per_edge = counts[e_group]
        pair_edge = np.repeat(np.arange(len(e_P)), n_per_edge)
        offset = np.arange(pair_edge.size) - np.repeat(
            np.cumsum(n_per_edge) - n_per_edge, n_per_edge
        )
        pair_node = order[start[e_group][pair_edge] + offset]
        P = e_P[pair_edge]
        qT = P / z_k[pair_node]
        wq = nodes.w[pair_node] * 2.0 * math.pi / Q_k[pair_node]
        if pht_mode == "bin":
            # C(P) = (2π/Q) qT ∫ db J₁(b qT) F(b)
            kern = wq[:, None] * cumulative_kernel(b, wb, qT)
        else:
            arg = b[None, :] * qT[:, None]
            # dσ/d|PhT| = 2π P/(Q z²) ∫ db b J₀(b qT) F(b)
            kern = (wq * P / z_k[pair_node] ** 2)[:, None] * special.j0(arg) * (b * wb)[None, :]
        log.info(
            "Multiplicity: %d points, %d bins, %d nodes, %d PhT edges, %d (node, edge) "
            "pairs × %d b-nodes (%.0f MiB kernel)",
            len(bins),
            G,
            K,
            len(e_P),
            pair_node.size,
            len(b),
            kern.nbytes / 2**20,
        )
        self.n_edges = len(e_P)
        self.n_pairs = int(pair_node.size)
        # dense per-node layout [K, E_max, Nb] (zero padding), so that a forward pass is one
        # batched matrix-vector product and no gather/scatter over b-nodes is needed
        srt = np.lexsort((pair_edge, pair_node))
        pn, pe = pair_node[srt], pair_edge[srt]
        first = np.searchsorted(pn, pn, side="left")
        slot = np.arange(pn.size) - first
        e_max = int(slot.max()) + 1 if pn.size else 1
        dense = np.zeros((K, e_max, len(b)))
        dense[pn, slot] = kern[srt]
        edge_idx = np.full((K, e_max), self.n_edges, dtype=np.int64)  # pads → a dummy edge
        edge_idx[pn, slot] = pe
        self.register_buffer("kernel", torch.as_tensor(dense, dtype=dtype, device=device))
        self.register_buffer("edge_idx", torch.as_tensor(edge_idx.reshape(-1), device=device))
        counts_xq = np.bincount(nodes.node_xq, minlength=len(nodes.x))
        c = int(counts_xq[0]) if counts_xq.size else 0
        # the z nodes of a collinear node are contiguous: share its PDF factor by expand
        self._z_per_xq = (
            c
            if c > 0 and np.array_equal(nodes.node_xq, np.repeat(np.arange(len(nodes.x)), c))
            else 0
        )
        self._map22 = getattr(fnp, "model_name", None) == "MAP22" and hasattr(fnp, "g2")
        zu, zinv = np.unique(z_k, return_inverse=True)
        onehot = np.zeros((K, len(zu)))
        onehot[np.arange(K), zinv.reshape(-1)] = 1.0
        self.register_buffer("z_unique", torch.as_tensor(zu, dtype=dtype, device=device))
        self.register_buffer("z_onehot", torch.as_tensor(onehot, dtype=dtype, device=device))
        n = len(bins)
        factor = np.ones(n)
        if pht_mode == "bin":
            e_lo, e_hi = inv[:n], inv[n:]
            width = hi - lo
            # NangaParbat's per-PhT-bin ``factor`` (MeasuredBins.PhT_factor): 1/(P_hi + P_lo)
            # for the per-PhT² files, turning the |PhT| average into the PhT² average
            pf = getattr(bins, "PhT_factor", None)
            if pf is not None:
                factor = pf.detach().cpu().numpy().astype(np.float64)
            if (width <= 0).any():
                i = int(np.argmax(width <= 0))
                raise DataError(
                    f"{bins.dataset[i]}: point {i}: empty PhT bin [{lo[i]}, {hi[i]}] GeV"
                )
        else:
            e_lo = e_hi = inv
            # a point value per PhT²: divide by 2|PhT|
            width = np.where(power == 2, 2.0 * pc, 1.0)
        self.register_buffer("e_lo", torch.as_tensor(e_lo, device=device))
        self.register_buffer("e_hi", torch.as_tensor(e_hi, device=device))
        self.register_buffer("point_group", torch.as_tensor(g_pt, device=device))
        pref = bins.prefactor.detach().cpu().numpy().astype(np.float64) * factor / width
        self.register_buffer("point_factor", torch.as_tensor(pref, dtype=dtype, device=device))
        den = torch.as_tensor(np.asarray(denominator, dtype=np.float64), dtype=dtype, device=device)
        if den.shape != (G,) or not bool((den > 0).all()):
            raise ValueError(
                f"Multiplicity: denominator must be > 0 with shape ({G},), got "
                f"{tuple(den.shape)} (min {float(den.min()) if den.numel() else 'n/a'})"
            )
        self.register_buffer("denominator", den)
        omega = (
            torch.ones(G, dtype=dtype, device=device)
            if normalisation is None
            else torch.as_tensor(
                np.asarray(normalisation, dtype=np.float64), dtype=dtype, device=device
            )
        )
        self.register_buffer("omega", omega)

    def integrand(self) -> Tensor:
        """Σ_q fNP_q DNP_q L_q at every node and b-node, [K, Nb].

        fNP_q(x, b; ζ) DNP_q(z, b; ζ) factorises: the PDF factor is evaluated once per
        collinear (x, Q) node and shared by that node's z nodes (MAP22's functions, each
        with its evolution factor, as ``FNP.forward`` multiplies them). For MAP22 the FF
        depends on ζ only through the shared evolution factor E(b, ζ) (physics.md §8):
        DNP(z, b; ζ) = DNP(z, b; Q0²) E(b, ζ), so the FF shape is evaluated once per
        distinct z node (a few dozen) and E² once per collinear node."""
        flavours = None if self.flavour_blind else self.flavours
        c = self._z_per_xq
        if c and self._map22:
            g2 = self.fnp.g2
            f_pdf = self.fnp.pdf(self.xq_x, self.b, self.xq_zeta, flavours)  # [M, ·, Nb]
            evo = evolution_factor(self.b, self.xq_zeta[:, None], g2)[:, None, :]
            f_pdf = f_pdf * evo
            f_pdf = f_pdf[:, None].expand(-1, c, -1, -1).reshape(-1, *f_pdf.shape[1:])
            q0 = torch.full_like(self.z_unique, Q0_SQUARED)
            shape = self.fnp.ff(self.z_unique, self.b, q0, flavours)  # [U, ·, Nb]
            f_ff = torch.einsum("ku,ufb->kfb", self.z_onehot, shape)
            return (f_pdf * f_ff * self.L).sum(1)
        if hasattr(self.fnp, "pdf") and hasattr(self.fnp, "ff"):
            f_pdf = self.fnp.pdf(self.xq_x, self.b, self.xq_zeta, flavours)  # [M, ·, Nb]
            f_ff = self.fnp.ff(self.z, self.b, self.zeta, flavours)  # [K, ·, Nb]
            c = self._z_per_xq
            if c:
                f_pdf = f_pdf[:, None].expand(-1, c, -1, -1).reshape(-1, *f_pdf.shape[1:])
            else:
                f_pdf = f_pdf.index_select(0, self.node_xq)
            f = f_pdf * f_ff
        else:
            f = self.fnp(self.x, self.z, self.b, self.zeta, flavours)  # b shared: [Nb]
        return (f * self.L).sum(1)

    def edges(self) -> Tensor:
        """C at every (bin, PhT edge) — or the point values in ``centre`` mode — [E]."""
        F = self.integrand()
        per = torch.bmm(self.kernel, F[:, :, None]).reshape(-1)  # [K·E_max]
        out = torch.zeros(self.n_edges + 1, dtype=per.dtype, device=per.device)
        return out.index_add(0, self.edge_idx, per)[: self.n_edges]

    def numerator(self) -> Tensor:
        """The bin-averaged TMD cross section per point (before the denominator), [N]."""
        C = self.edges()
        if self.pht_mode == "bin":
            return (C[self.e_hi] - C[self.e_lo]) * self.point_factor
        return C[self.e_lo] * self.point_factor

    def forward(self) -> Tensor:
        """The multiplicities M [N]."""
        g = self.point_group
        return self.numerator() * self.omega[g] / self.denominator[g]
