"""Tests of sidislab.fnp.gaussians: the fused quadrature sum of Gaussian-sum fNP products.

Checked against closed forms (one term per side, one node), against the plain-torch
definition (values and first and second derivatives, for shared and per-point nodes,
identity and many-to-one flavour → pair → set maps, one and several blocks), and by
gradcheck/gradgradcheck.
"""

from __future__ import annotations

import math

import pytest
import torch

from sidislab.fnp import gaussians
from sidislab.fnp.gaussians import PairMap, gaussian_pair_sum, gaussian_pair_sum_reference
from sidislab.fnp.map22 import FF_TERM_SLOPES, PDF_TERM_SLOPES

F64 = torch.float64
SLOPES = (PDF_TERM_SLOPES, FF_TERM_SLOPES)
# 5 flavours → 3 pairs (flavours 2 and 4 share a pair) → PDF sets (0, 1, 1), FF sets (0, 1, 0)
SHARED = PairMap(
    3,
    torch.tensor([0, 1, 2, 2, 0]),
    torch.tensor([0, 1, 1]),
    torch.tensor([0, 1, 0]),
)


def _inputs(n: int, nb: int, shared_nodes: bool, pairs: PairMap, seed: int = 3):
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.rand(*shape, generator=gen, dtype=F64)

    n_pdf = pairs.n_pairs if pairs.pdf_of_pair is None else int(pairs.pdf_of_pair.max()) + 1
    n_ff = pairs.n_pairs if pairs.ff_of_pair is None else int(pairs.ff_of_pair.max()) + 1
    n_flav = pairs.n_pairs if pairs.pair_of_flavour is None else pairs.pair_of_flavour.numel()
    wp = torch.softmax(rand(n, n_pdf, 3), -1)
    gp = 0.05 + 2.0 * rand(n, n_pdf, 3)
    wf = torch.softmax(rand(n, n_ff, 2), -1)
    gf = 0.05 + 3.0 * rand(n, n_ff, 2)
    v = rand(n, nb)
    b = torch.logspace(-2, math.log10(12.0), nb, dtype=F64)
    b = b[None] if shared_nodes else b * (0.8 + 0.4 * rand(n, 1))
    lumi = rand(n, n_flav, nb)
    return wp, gp, wf, gf, v, b * b / -4.0, lumi


def _shift(n: int, seed: int = 9) -> torch.Tensor:
    return 0.4 * torch.rand(n, generator=torch.Generator().manual_seed(seed), dtype=F64)


def test_one_term_per_side_at_one_node_is_the_product_of_exponentials():
    """w = (1, 0, 0), (1, 0): S = V L e^{(g1 + g3) s}; w on the (1 + t) terms: (1 + g s) e^{g s};
    a shift ω multiplies by e^{ω s}."""
    g1, g3, s, v, lum = 0.7, 1.9, -2.5, 0.3, 4.0
    wp = torch.tensor([[[1.0, 0.0, 0.0]]], dtype=F64)
    gp = torch.tensor([[[g1, 5.0, 9.0]]], dtype=F64)
    wf = torch.tensor([[[1.0, 0.0]]], dtype=F64)
    gf = torch.tensor([[[g3, 7.0]]], dtype=F64)
    args = (torch.tensor([[v]], dtype=F64), torch.tensor([[s]], dtype=F64))
    lumi = torch.tensor([[[lum]]], dtype=F64)
    got = gaussian_pair_sum(wp, gp, wf, gf, *args, lumi, PairMap(1), SLOPES)
    assert got.item() == pytest.approx(v * lum * math.exp((g1 + g3) * s), rel=1e-14)
    wp2 = torch.tensor([[[0.0, 1.0, 0.0]]], dtype=F64)
    wf2 = torch.tensor([[[0.0, 1.0]]], dtype=F64)
    got = gaussian_pair_sum(wp2, gp, wf2, gf, *args, lumi, PairMap(1), SLOPES)
    gb, gfb = 5.0, 7.0
    expected = v * lum * (1 + gb * s) * math.exp(gb * s) * (1 + gfb * s) * math.exp(gfb * s)
    assert got.item() == pytest.approx(expected, rel=1e-13)
    shift = torch.tensor([0.45], dtype=F64)
    got = gaussian_pair_sum(wp2, gp, wf2, gf, *args, lumi, PairMap(1), SLOPES, shift)
    assert got.item() == pytest.approx(expected * math.exp(0.45 * s), rel=1e-13)


@pytest.mark.parametrize("shared_nodes", [True, False], ids=["shared-nodes", "per-point-nodes"])
@pytest.mark.parametrize("pairs", [PairMap(2), SHARED], ids=["identity", "shared-pairs"])
@pytest.mark.parametrize("block", [None, 4 * 5 * 3 * 16], ids=["one-block", "blocks"])
@pytest.mark.parametrize(
    "shift, v_grad", [(False, True), (True, True), (True, False)], ids=["v", "shift+v", "shift"]
)
def test_equals_the_plain_definition_with_gradients(
    monkeypatch, shared_nodes, pairs, block, shift, v_grad
):
    """Also with V as data (no ∂S/∂V: S is then taken from the PDF-weight moments)."""
    if block is not None:  # several blocks of points, the last one partial
        monkeypatch.setattr(gaussians, "_BLOCK_ELEMENTS", block)
    inputs = _inputs(11, 16, shared_nodes, pairs)
    params = [t.clone().requires_grad_(i < 4 or v_grad) for i, t in enumerate(inputs[:5])]
    if shift:
        params.append(_shift(11).requires_grad_(True))
    extra = (params[5],) if shift else ()
    ref = gaussian_pair_sum_reference(*params[:5], *inputs[5:], pairs, SLOPES, *extra)
    got = gaussian_pair_sum(*params[:5], *inputs[5:], pairs, SLOPES, *extra)
    torch.testing.assert_close(got, ref, rtol=1e-13, atol=0.0)
    weights = torch.linspace(0.5, 2.0, 11, dtype=F64)  # a loss that is not a plain sum
    wanted = [t for t in params if t.requires_grad]
    g_ref = torch.autograd.grad((weights * ref.square()).sum(), wanted)
    g_got = torch.autograd.grad((weights * got.square()).sum(), wanted)
    for a, b in zip(g_got, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-15 * float(b.abs().max()))
    with torch.no_grad():  # the no-gradient path gives the same values
        plain = gaussian_pair_sum(*inputs, pairs, SLOPES, *extra)
    torch.testing.assert_close(plain, got.detach(), rtol=1e-13, atol=0)


@pytest.mark.parametrize("shared_nodes", [True, False], ids=["shared-nodes", "per-point-nodes"])
def test_gradcheck_and_gradgradcheck(shared_nodes):
    inputs = _inputs(3, 5, shared_nodes, SHARED, seed=5)
    params = tuple(t.clone().requires_grad_(True) for t in (*inputs[:5], _shift(3)))

    def fn(*p):
        return gaussian_pair_sum(*p[:5], *inputs[5:], SHARED, SLOPES, p[5])

    assert torch.autograd.gradcheck(fn, params, eps=1e-6, atol=1e-9, rtol=1e-7)
    assert torch.autograd.gradgradcheck(fn, params, eps=1e-6, atol=1e-9, rtol=1e-7)


def test_hessian_equals_the_plain_definition():
    """Second derivatives (create_graph) through the fused op equal the plain ones."""
    inputs = _inputs(4, 9, True, SHARED, seed=8)
    params = (*inputs[:5], _shift(4))
    sizes = [t.numel() for t in params]

    def loss(fn):
        def of(flat: torch.Tensor) -> torch.Tensor:
            parts = [p.view_as(t) for p, t in zip(flat.split(sizes), params)]
            return fn(*parts[:5], *inputs[5:], SHARED, SLOPES, parts[5]).square().sum()

        return of

    flat = torch.cat([t.flatten() for t in params])
    h_got = torch.autograd.functional.hessian(loss(gaussian_pair_sum), flat)
    h_ref = torch.autograd.functional.hessian(loss(gaussian_pair_sum_reference), flat)
    torch.testing.assert_close(h_got, h_ref, rtol=1e-11, atol=1e-13 * float(h_ref.abs().max()))


def test_bad_shapes_raise():
    wp, gp, wf, gf, v, s, lumi = _inputs(3, 5, True, SHARED)
    with pytest.raises(ValueError, match=r"wp must be \[3, sets, 3\]"):
        gaussian_pair_sum(wp[:, :, :2], gp, wf, gf, v, s, lumi, SHARED, SLOPES)
    with pytest.raises(ValueError, match=r"s must be \[1 or 3, 5\]"):
        gaussian_pair_sum(wp, gp, wf, gf, v, s[:, :4], lumi, SHARED, SLOPES)
    with pytest.raises(ValueError, match="lumi must be"):
        gaussian_pair_sum(wp, gp, wf, gf, v, s, lumi[:2], SHARED, SLOPES)
    with pytest.raises(ValueError, match=r"shift must be \[3\]"):
        gaussian_pair_sum(wp, gp, wf, gf, v, s, lumi, SHARED, SLOPES, v[:, 0:2])
    with pytest.raises(ValueError, match="pair_of_flavour must map 5 entries onto 3"):
        gaussian_pair_sum(wp, gp, wf, gf, v, s, lumi, PairMap(3), SLOPES)
