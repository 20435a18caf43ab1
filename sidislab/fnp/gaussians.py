r"""The b-integral of Σ_q fNP_q DNP_q L_q for MAP22-type fNP, fused, with its gradient.

The MAP22 TMD PDF and FF (``physics.md`` §5, arXiv:2206.07598) are, at each point and for
each parameter set, sums of terms that depend on b only through t = g s, s = −b²/4:

    fNP(x, b) = Σ_k w_k (1 + δ_k t_k) e^{t_k},   t_k = g_k s           (k = 1, B, C)
    DNP(z, b) = Σ_l w'_l (1 + δ'_l t'_l) e^{t'_l},  t'_l = (g'_l/z²) s   (l = 3, B)

with the weights w and widths g functions of x (z) and the parameters only
(:func:`~sidislab.fnp.map22.pdf_terms`, :func:`~sidislab.fnp.map22.ff_terms`; δ marks the
terms with the (1 + t) factor). So is the evolution factor E² = e^{2ω s} for ζ ≥ Q0²
(:func:`~sidislab.fnp.map22.evolution_width`): a width ``shift`` = 2ω added in the
exponents of the PDF terms, e^{t_k} → e^{(g_k + shift) s}. A fit needs, per point n, the
quadrature sum

    S_n = Σ_j V_nj Σ_p L_npj P_{π(p)}(s_nj) D_{φ(p)}(s_nj),

p running over the (PDF set, FF set) pairs the flavours use (π, φ: the set of each pair;
L_p the sum of the luminosities L_q of the pair's flavours), V the quadrature weights (times
E² where it is not folded into the widths). S depends on the parameters only through the
``[N, sets, terms]`` tensors w, g, w', g', the ``[N]`` shift and V, and its derivatives
are moments of the same exponentials. With R = Σ_p V L_p D_φ(p) (the PDF side; likewise
for the FF) and A_k, B_k, C_k = Σ_j R s^m e_k for m = 0, 1, 2, e_k the term's exponential:

    ∂S/∂w_k = A_k + δ_k g_k B_k,      ∂S/∂g_k = w_k [(1 + δ_k) B_k + δ_k g_k C_k],
    ∂S/∂shift = Σ_{PDF terms k} w_k (B_k + δ_k g_k C_k),      ∂S/∂V_nj = Σ_p L_npj P D.

:func:`gaussian_pair_sum` evaluates S and these derivatives in one pass over blocks of
points (no autograd graph over the ``[N, sets, Nb]`` tensors: the backward is a product
with the saved derivatives). On the CPU a block's temporaries stay in the caches and its
exponential buffer is reused from block to block; other devices take all points in one
block. When all points share the nodes the moments are a sum and two matrix-vector
products (with s and s²). The exponentials are computed as 2^{g (s log₂e)}
(``torch.exp2``, several times faster than ``torch.exp`` on the CPU; the same value as
e^{g s} to rounding of the argument). A second derivative (``create_graph=True``, e.g. the
Hessian of :mod:`sidislab.fit.covariance`) differentiates the same expression written in
plain torch operations (:func:`gaussian_pair_sum_reference`), so every order of autograd
is exact.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = ["Nodes", "PairMap", "gaussian_pair_sum", "gaussian_pair_sum_reference", "prepare_nodes"]

_LOG2_E = 1.0 / math.log(2.0)
_BLOCK_ELEMENTS = 1 << 19
"""Elements of one block of exponentials [points, sets × terms, Nb] on the CPU (4 MiB):
the block's temporaries stay in the caches. Other devices take all points at once."""


class Nodes(NamedTuple):
    """What the fused sum needs of the nodes s = −b²/4 ``[1 or N, Nb]``: s itself, s·log₂e
    (the argument of ``exp2``) and, for per-point nodes, (1, s, s²) as ``[N, Nb, 3]``
    (node-major, for the batched moment product). A fit builds it once
    (:func:`prepare_nodes`) and passes it every epoch."""

    s: Tensor
    s2: Tensor
    powers: Tensor | None


def prepare_nodes(s: Tensor) -> Nodes:
    """:class:`Nodes` of s = −b²/4 (no gradient flows to it)."""
    s = s.detach()
    powers = None
    if s.shape[0] != 1:
        powers = torch.stack((torch.ones_like(s), s, s * s), 1).transpose(1, 2)
    return Nodes(s, s * _LOG2_E, powers)


class PairMap(NamedTuple):
    """Which (PDF set, FF set) pair each flavour uses, for :func:`gaussian_pair_sum`.

    ``pair_of_flavour`` [F] (None: flavour f is pair f), ``pdf_of_pair`` and ``ff_of_pair``
    [P] (None: pair p uses set p), and the number of pairs P.
    """

    n_pairs: int
    pair_of_flavour: Tensor | None = None
    pdf_of_pair: Tensor | None = None
    ff_of_pair: Tensor | None = None


def _shape(e: Tensor, w: Tensor, g: Tensor, s: Tensor, slopes: tuple[bool, ...]) -> Tensor:
    """Σ_k w_k (1 + δ_k g_k s) e_k [b, G, Nb] from e = e^{g s} [b, G, K, Nb] (no graph)."""
    shape = None
    for k, slope in enumerate(slopes):
        coef = w[..., k, None]
        if slope:  # w_k (1 + t_k) = w_k + (w_k g_k) s
            coef = torch.addcmul(coef, coef * g[..., k, None], s[:, None, :])
        if shape is None:
            shape = coef * e[..., k, :]
        else:
            shape.addcmul_(coef, e[..., k, :])
    return shape


def _to_sets(r: Tensor, of_pair: Tensor | None, n_sets: int) -> Tensor:
    """Per-pair [b, P, Nb] → per-set [b, G, Nb] (sum over the pairs that use each set)."""
    if of_pair is None:
        return r
    return r.new_zeros((r.shape[0], n_sets, r.shape[2])).index_add_(1, of_pair, r)


def _pairs(t: Tensor, of_pair: Tensor | None) -> Tensor:
    return t if of_pair is None else t.index_select(1, of_pair)


def _pair_lumi(lumi: Tensor, pairs: PairMap, out: Tensor | None = None) -> Tensor:
    """L_p = Σ_{q in p} L_q: [b, F, Nb] → [b, P, Nb] (into ``out`` when given)."""
    if pairs.pair_of_flavour is None:
        return lumi
    if out is None:
        out = lumi.new_zeros((lumi.shape[0], pairs.n_pairs, lumi.shape[2]))
    else:
        out.zero_()
    return out.index_add_(1, pairs.pair_of_flavour, lumi)


def _block_points(n: int, width: int, device: torch.device) -> int:
    """Points per block: all on non-CPU devices, else ≈ :data:`_BLOCK_ELEMENTS` / width."""
    if device.type != "cpu":
        return n
    return max(1, min(n, _BLOCK_ELEMENTS // max(1, width)))


class _GaussianPairSum(torch.autograd.Function):
    """S_n (module docstring) with the derivatives computed in the forward pass.

    The PDF terms [Gp, Kp] and the FF terms [Gf, Kf] of a point are flattened into one
    term axis T = Gp·Kp + Gf·Kf (``w``, ``g``: [N, T]; ``delta``: [T], 1 for the terms with
    the (1 + t) factor), so that the exponentials and their moments are one operation each.
    """

    @staticmethod
    def forward(ctx, w, g, v, shift, nodes, lumi, pairs, layout, delta, need, need_v):
        (gp_n, p_slopes), (gf_n, f_slopes) = layout
        tp = gp_n * len(p_slopes)
        n, nb = v.shape
        ge = g  # widths in the exponents: the PDF ones + shift (the folded evolution factor)
        if shift is not None:
            ge = g.clone()
            ge[:, :tp] += shift[:, None]
        s, s2, powers = nodes
        shared = powers is None
        if shared:  # moments: a sum and two matrix-vector products with s and s²
            s_vec, ss_vec = s[0], s[0] * s[0]
        # else one batched product per point with (1, s, s²) [N, Nb, 3], node-major
        out = v.new_empty(n)
        # Σ_p L P D per node: for ∂S/∂V, and for S itself when no derivative is computed
        direct = need_v or not need
        shape_sum = v.new_empty((n, nb) if need_v else (0, nb))
        dw, dg, dshift = torch.empty_like(w), torch.empty_like(g), v.new_empty(n)
        step = _block_points(n, w.shape[1] * nb, v.device)
        e_buf = v.new_empty((step, w.shape[1], nb))
        l_buf = None if pairs.pair_of_flavour is None else v.new_empty((step, pairs.n_pairs, nb))
        for lo in range(0, n, step):
            sl = slice(lo, min(lo + step, n))
            m = sl.stop - lo
            sb, s2b = (s, s2) if shared else (s[sl], s2[sl])
            wb, gb = w[sl], g[sl]
            e = torch.mul(ge[sl, :, None], s2b[:, None, :], out=e_buf[:m]).exp2_()  # e^{g s}
            ep = e[:, :tp].view(m, gp_n, -1, nb)
            ef = e[:, tp:].view(m, gf_n, -1, nb)
            wp, gp = wb[:, :tp].view(m, gp_n, -1), gb[:, :tp].view(m, gp_n, -1)
            wf, gf = wb[:, tp:].view(m, gf_n, -1), gb[:, tp:].view(m, gf_n, -1)
            pp = _pairs(_shape(ep, wp, gp, sb, p_slopes), pairs.pdf_of_pair)
            dd = _pairs(_shape(ef, wf, gf, sb, f_slopes), pairs.ff_of_pair)
            lb = _pair_lumi(lumi[sl], pairs, None if l_buf is None else l_buf[:m])
            if direct:
                f = (lb * (pp * dd)).sum(1)
                out[sl] = (v[sl] * f).sum(-1)
                if need_v:
                    shape_sum[sl] = f
            if not need:
                continue
            # moments A, B, C of e against r = Σ_pairs V L × (the other side)
            lv = lb * v[sl, None, :]
            ep.mul_(_to_sets(lv * dd, pairs.pdf_of_pair, gp_n)[:, :, None, :])
            ef.mul_(_to_sets(lv * pp, pairs.ff_of_pair, gf_n)[:, :, None, :])
            if shared:
                flat = e.view(-1, nb)
                a, bm, c = (t.view(m, -1) for t in (flat.sum(-1), flat @ s_vec, flat @ ss_vec))
            else:
                a, bm, c = torch.bmm(e, powers[sl]).unbind(-1)
            x = bm + delta * gb * c  # ∂/∂(exponent width) = w x; ∂/∂(slope width) = w δ B
            dwb = a + delta * gb * bm
            dw[sl] = dwb
            dg[sl] = wb * (x + delta * bm)
            dshift[sl] = (wb[:, :tp] * x[:, :tp]).sum(-1)
            if not direct:  # S = Σ_PDF terms w ∂S/∂w (S is linear in the PDF weights)
                out[sl] = (wb[:, :tp] * dwb[:, :tp]).sum(-1)
        ctx.save_for_backward(w, g, v, shift, s, lumi, shape_sum, dw, dg, dshift)
        ctx.plan = (pairs, layout)
        return out

    @staticmethod
    def backward(ctx, grad):
        w, g, v, shift, s, lumi, shape_sum, dw, dg, dshift = ctx.saved_tensors
        pairs, layout = ctx.plan
        needs = ctx.needs_input_grad[:4]
        if torch.is_grad_enabled():  # create_graph: differentiate the plain expression
            (gp_n, p_slopes), (gf_n, f_slopes) = layout
            tp, n = gp_n * len(p_slopes), w.shape[0]
            with torch.enable_grad():
                value = gaussian_pair_sum_reference(
                    w[:, :tp].view(n, gp_n, -1),
                    g[:, :tp].view(n, gp_n, -1),
                    w[:, tp:].view(n, gf_n, -1),
                    g[:, tp:].view(n, gf_n, -1),
                    v,
                    s,
                    lumi,
                    pairs,
                    (p_slopes, f_slopes),
                    shift,
                )
            wanted = [t for t, nd in zip((w, g, v, shift), needs) if nd]
            got = iter(torch.autograd.grad(value, wanted, grad, create_graph=True))
            grads = [next(got) if nd else None for nd in needs]
        else:
            grads = [
                grad[:, None] * dw if needs[0] else None,
                grad[:, None] * dg if needs[1] else None,
                grad[:, None] * shape_sum if needs[2] else None,
                grad * dshift if needs[3] else None,
            ]
        return (*grads, None, None, None, None, None, None, None)  # nodes … need_v


def _check(wp, gp, wf, gf, v, s, lumi, pairs, slopes, shift) -> None:
    if v.dim() != 2:
        raise ValueError(f"gaussian_pair_sum: v must be [N, Nb], got {tuple(v.shape)}")
    n, nb = v.shape
    if shift is not None and shift.shape != (n,):
        raise ValueError(f"gaussian_pair_sum: shift must be [{n}], got {tuple(shift.shape)}")
    for side, (w, g), sl in (("p", (wp, gp), slopes[0]), ("f", (wf, gf), slopes[1])):
        for name, t in (("w" + side, w), ("g" + side, g)):
            if t.dim() != 3 or t.shape[0] != n or t.shape[2] != len(sl) or t.shape != w.shape:
                raise ValueError(
                    f"gaussian_pair_sum: {name} must be [{n}, sets, {len(sl)}], "
                    f"got {tuple(t.shape)}"
                )
    if s.dim() != 2 or s.shape[0] not in (1, n) or s.shape[1] != nb:
        raise ValueError(f"gaussian_pair_sum: s must be [1 or {n}, {nb}], got {tuple(s.shape)}")
    if lumi.dim() != 3 or lumi.shape[0] != n or lumi.shape[2] != nb:
        raise ValueError(
            f"gaussian_pair_sum: lumi must be [{n}, flavours, {nb}], got {tuple(lumi.shape)}"
        )
    n_pairs = pairs.n_pairs
    checks = (
        ("pair_of_flavour", pairs.pair_of_flavour, lumi.shape[1], n_pairs),
        ("pdf_of_pair", pairs.pdf_of_pair, n_pairs, wp.shape[1]),
        ("ff_of_pair", pairs.ff_of_pair, n_pairs, wf.shape[1]),
    )
    for name, idx, size, targets in checks:
        if (idx is None and size != targets) or (idx is not None and idx.shape != (size,)):
            raise ValueError(
                f"gaussian_pair_sum: {name} must map {size} entries onto {targets}, got "
                f"{None if idx is None else tuple(idx.shape)}"
            )


def gaussian_pair_sum(
    wp: Tensor,
    gp: Tensor,
    wf: Tensor,
    gf: Tensor,
    v: Tensor,
    s: Tensor | Nodes,
    lumi: Tensor,
    pairs: PairMap,
    slopes: tuple[tuple[bool, ...], tuple[bool, ...]],
    shift: Tensor | None = None,
) -> Tensor:
    """S_n = Σ_j V_nj Σ_p L_npj P_π(p)(s_nj) D_φ(p)(s_nj) → ``[N]`` (module docstring).

    Args:
        wp, gp: PDF weights and widths (GeV²) ``[N, Gp, K]`` per point and PDF set.
        wf, gf: FF weights and widths of b (i.e. g'/z², GeV²) ``[N, Gf, K']``.
        v: quadrature weights × evolution factor ``[N, Nb]`` (differentiable).
        s: −b²/4 at the nodes, ``[1 or N, Nb]`` (data: no gradient), or its
            :class:`Nodes` (:func:`prepare_nodes`), which a fit builds once.
        lumi: luminosities ``[N, F, Nb]`` of the flavours (data: no gradient).
        pairs: the (PDF set, FF set) pair of each flavour (:class:`PairMap`).
        slopes: which PDF and which FF terms carry the factor (1 + t), e.g.
            (:data:`~sidislab.fnp.map22.PDF_TERM_SLOPES`,
            :data:`~sidislab.fnp.map22.FF_TERM_SLOPES`).
        shift: ``[N]`` (GeV²) or None: a width added in the exponent of every PDF term,
            e^{g s} → e^{(g + shift) s} (not in its (1 + g s) factor), i.e. a factor
            e^{shift·s} common to all flavours; :meth:`sidislab.fnp.FNP.integrate` puts
            the evolution factor E² there.

    Gradients flow to wp, gp, wf, gf, v and shift, to every order (see the module
    docstring); equal to :func:`gaussian_pair_sum_reference` to rounding.
    """
    nodes = s if isinstance(s, Nodes) else prepare_nodes(s)
    _check(wp, gp, wf, gf, v, nodes.s, lumi, pairs, slopes, shift)
    # the ∂S/∂(w, g, shift) moments only when a gradient can be asked for
    grads = (wp, gp, wf, gf) if shift is None else (wp, gp, wf, gf, shift)
    need = torch.is_grad_enabled() and any(t.requires_grad for t in grads)
    need_v = torch.is_grad_enabled() and v.requires_grad
    n = wp.shape[0]
    w = torch.cat((wp.reshape(n, -1), wf.reshape(n, -1)), 1)
    g = torch.cat((gp.reshape(n, -1), gf.reshape(n, -1)), 1)
    layout = ((wp.shape[1], tuple(slopes[0])), (wf.shape[1], tuple(slopes[1])))
    flags = [float(x) for x in slopes[0]] * wp.shape[1] + [float(x) for x in slopes[1]] * wf.shape[
        1
    ]
    delta = v.new_tensor(flags)
    return _GaussianPairSum.apply(
        w, g, v, shift, nodes, lumi.detach(), pairs, layout, delta, need, need_v
    )


def _reference_side(
    w: Tensor, g: Tensor, s: Tensor, slopes: tuple[bool, ...], shift: Tensor | None = None
) -> Tensor:
    t = g[..., None] * s[:, None, None, :]  # [N, G, K, Nb]
    delta = torch.tensor(slopes, dtype=t.dtype, device=t.device)[:, None]
    te = t if shift is None else (g + shift[:, None, None])[..., None] * s[:, None, None, :]
    return (w[..., None] * (1.0 + delta * t) * torch.exp(te)).sum(-2)


def gaussian_pair_sum_reference(
    wp: Tensor,
    gp: Tensor,
    wf: Tensor,
    gf: Tensor,
    v: Tensor,
    s: Tensor,
    lumi: Tensor,
    pairs: PairMap,
    slopes: tuple[tuple[bool, ...], tuple[bool, ...]],
    shift: Tensor | None = None,
) -> Tensor:
    """:func:`gaussian_pair_sum` in plain, differentiable torch operations (all points at
    once, autograd through every ``[N, sets, terms, Nb]`` temporary): the definition the
    fused version is tested against, and what its higher derivatives differentiate."""
    nodes = s if isinstance(s, Nodes) else prepare_nodes(s)
    _check(wp, gp, wf, gf, v, nodes.s, lumi, pairs, slopes, shift)
    pdf = _pairs(_reference_side(wp, gp, s, slopes[0], shift), pairs.pdf_of_pair)
    ff = _pairs(_reference_side(wf, gf, s, slopes[1]), pairs.ff_of_pair)
    return (v * (_pair_lumi(lumi.detach(), pairs) * pdf * ff).sum(1)).sum(-1)
