"""Tests of sidislab.numerics.bessel (J0, J1 with autograd) and sidislab.workbench.accuracy (error scans).

References: scipy.special.j0/j1 (Cephes, double precision) and mpmath (30 digits), as
``physics.md`` §7 prescribes; derivative identities DLMF 10.6.2–10.6.3.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import torch
from torch.autograd import gradcheck, gradgradcheck

from sidislab.numerics import bessel
from sidislab.numerics.bessel import j0, j1
from sidislab.workbench import accuracy

F64 = torch.float64
F32 = torch.float32
REF = {"j0": scipy.special.j0, "j1": scipy.special.j1}
FN = {"j0": j0, "j1": j1}

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
mps = pytest.mark.skipif(not torch.backends.mps.is_available(), reason="MPS is not available")


def _max_err(name: str, method: str | None, x: np.ndarray, dtype: torch.dtype, **kw) -> float:
    xt = torch.as_tensor(x, dtype=F64).to(dtype)
    y = FN[name](xt, method, **kw).to(F64).numpy()
    ref = REF[name](xt.to(F64).numpy())
    return float(np.max(np.abs(y - ref)))


# --------------------------------------------------------------------------------------
# Values against scipy and mpmath
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["j0", "j1"])
@pytest.mark.parametrize(("dtype", "tol"), [(F64, 1e-14), (F32, 1e-6)])
def test_accurate_meets_targets_on_dense_scans(name, dtype, tol):
    """The issue's targets on [0, 1000], ≥ 10⁵ points plus the zeros of J0 and J1."""
    rows = accuracy.bessel_error_table(
        ["accurate"], [dtype], ranges=((0.0, 10.0), (0.0, 40.0), (0.0, 1000.0)),
        n=100_000, functions=[name],
    )  # fmt: skip
    assert len(rows) == 3
    for row in rows:
        assert row.n_points >= 100_000
        assert row.n_nonfinite == 0
        assert row.max_abs_error <= tol, row


@pytest.mark.parametrize("name", ["j0", "j1"])
@pytest.mark.parametrize(("dtype", "tol"), [(F64, 1e-14), (F32, 1e-6)])
def test_accurate_negative_arguments(name, dtype, tol):
    x = -accuracy.scan_points(0.0, 200.0, 20_000, dtype)
    assert _max_err(name, "accurate", x, dtype) <= tol


@pytest.mark.parametrize("name", ["j0", "j1"])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_native_within_1e6(name, dtype):
    """torch.special's kernels: abs error ≈ 4e-7–5e-7 for x > 5 (physics.md §7)."""
    x = accuracy.scan_points(0.0, 1000.0, 20_000, dtype)
    assert _max_err(name, "native", x, dtype) <= 1e-6


@pytest.mark.parametrize("name", ["j0", "j1"])
def test_series_float64_accurate_to_15(name):
    x = accuracy.scan_points(0.0, 15.0, 20_000, F64)
    assert _max_err(name, "series", x, F64) <= 1e-10


@pytest.mark.parametrize("name", ["j0", "j1"])
def test_series_float32_accurate_to_8(name):
    x = accuracy.scan_points(0.0, 8.0, 20_000, F32)
    assert _max_err(name, "series", x, F32) <= 2e-5


def test_series_fails_badly_at_30_in_float32():
    """Teaching invariant (physics.md §7): the old MPS fallback is wrong by orders of
    magnitude at x = 30 — terms reach e^x/(2πx) ≈ 6e10 and 30 terms are not converged."""
    x = torch.tensor([30.0], dtype=F32)
    err = abs(j0(x, "series").item() - scipy.special.j0(30.0))
    assert err > 1e3
    # more terms fix the truncation but not the cancellation in float32
    err_80 = abs(j0(x, "series", n_terms=80).item() - scipy.special.j0(30.0))
    assert err_80 > 1.0
    # while float64 with enough terms converges there
    x64 = torch.tensor([30.0], dtype=F64)
    assert abs(j0(x64, "series", n_terms=80).item() - scipy.special.j0(30.0)) < 1e-6


MPMATH_POINTS = [
    0.0,
    1e-6,
    0.5,
    2.404825557695773,  # first zero of J0
    3.8317059702075125,  # first zero of J1
    4.999999,
    5.0,
    5.000001,
    12.3,
    100.1,
    314.159,
    999.5,
    12345.678,
    1.0e6 + 0.7,
    3.3e7,
]


@pytest.mark.parametrize("name", ["j0", "j1"])
def test_accurate_against_mpmath(name):
    """Spot values to 30 digits; the Cody-Waite reduction keeps 4e-16 even at x = 3.3e7,
    where scipy's plain x − π/4 is off by ≈ 1e-13."""
    pytest.importorskip("mpmath")
    xs = MPMATH_POINTS + [-v for v in MPMATH_POINTS[1:]]
    assert accuracy.mpmath_max_error("accurate", xs, F64, function=name) <= 4e-16
    assert accuracy.mpmath_max_error("accurate", xs[:12], F32, function=name) <= 1e-6


def test_mpmath_spot_values_known():
    """A few classic values: J0(1) = 0.7651976865579666, J1(1) = 0.4400505857449335."""
    x = torch.tensor([0.0, 1.0], dtype=F64)
    assert j0(x).tolist() == pytest.approx([1.0, 0.7651976865579666], abs=2.3e-16)
    assert j1(x).tolist() == pytest.approx([0.0, 0.4400505857449335], abs=2.3e-16)


def test_infinities_and_nan():
    x = torch.tensor([math.inf, -math.inf, math.nan], dtype=F64)
    for fn in (j0, j1):
        y = fn(x)
        assert y[:2].tolist() == [0.0, 0.0]
        assert math.isnan(y[2].item())


# --------------------------------------------------------------------------------------
# Autograd
# --------------------------------------------------------------------------------------
GRAD_POINTS = [0.0, 1e-8, -1e-3, 0.3, -2.5, 4.99, 5.0, 5.01, 7.3, -33.0, 120.5, 999.0]


@pytest.mark.parametrize("fn", [j0, j1], ids=["j0", "j1"])
def test_gradcheck_accurate(fn):
    x = torch.tensor(GRAD_POINTS, dtype=F64, requires_grad=True)
    assert gradcheck(lambda t: fn(t, "accurate"), (x,))
    assert gradgradcheck(lambda t: fn(t, "accurate"), (x,))


@pytest.mark.parametrize("fn", [j0, j1], ids=["j0", "j1"])
def test_gradgradcheck_of_gradient_third_order(fn):
    """Backward of backward of backward: each derivative is built from the same Functions."""
    x = torch.tensor(GRAD_POINTS, dtype=F64, requires_grad=True)

    def first(t):
        (g,) = torch.autograd.grad(fn(t).sum(), t, create_graph=True)
        return g

    assert gradgradcheck(first, (x,))


@pytest.mark.parametrize("fn", [j0, j1], ids=["j0", "j1"])
def test_gradcheck_native_and_series_in_their_regimes(fn):
    # native jumps by ≈ 4e-7 at its x = 5 branch switch: finite differences across it fail
    x_native = torch.tensor([0.0, 1e-8, -1e-3, 0.3, -2.5, 7.3, -33.0, 120.5], dtype=F64)
    x_series = torch.tensor([0.0, 1e-8, -1e-3, 0.3, -2.5, 4.99, 7.3], dtype=F64)
    for method, x in (("native", x_native), ("series", x_series)):
        x = x.requires_grad_()
        assert gradcheck(lambda t, m=method: fn(t, m), (x,))
        assert gradgradcheck(lambda t, m=method: fn(t, m), (x,))


def test_gradient_of_j0_is_minus_j1_numerically():
    x = torch.linspace(-60.0, 60.0, 12_001, dtype=F64, requires_grad=True)
    (g,) = torch.autograd.grad(j0(x).sum(), x)
    assert torch.equal(g, -j1(x.detach()))
    h = 1e-5
    xd = x.detach()
    fd = (j0(xd + h) - j0(xd - h)) / (2 * h)
    assert (fd - g).abs().max().item() < 1e-9


# torch's forward-mode AD warns about its own use of torch.jit.script (torch 2.13)
_JIT_WARNING = "ignore:`torch.jit.script` is deprecated:DeprecationWarning"


@pytest.mark.filterwarnings(_JIT_WARNING)
def test_gradient_of_j1_and_its_limit_at_zero():
    """dJ1/dx = J0 − J1/x (DLMF 10.6.2) → 1/2 at x = 0; d²J0/dx² = −1/2 at 0."""
    x = torch.tensor([0.0, 1e-300, 1e-9, 0.7, 5.0, 17.0, -250.0], dtype=F64, requires_grad=True)
    (g,) = torch.autograd.grad(j1(x).sum(), x, create_graph=True)
    xd = x.detach().numpy()
    expected = scipy.special.j0(xd) - np.divide(
        scipy.special.j1(xd), xd, out=np.full_like(xd, 0.5), where=xd != 0
    )
    assert g.detach().numpy() == pytest.approx(expected, abs=1e-15)
    assert g[0].item() == 0.5
    (h,) = torch.autograd.grad(g.sum(), x)
    assert h[0].item() == 0.0  # J1 is odd: J1''(0) = 0
    hess = torch.func.hessian(lambda t: j0(t).sum())(torch.zeros(1, dtype=F64))
    assert hess.item() == -0.5


def test_native_wrapper_has_grad_fn_and_gradient():
    x = torch.linspace(0.1, 30.0, 1000, dtype=F64, requires_grad=True)
    # torch.special.bessel_j0(x) itself returns no grad_fn in torch 2.13 (physics.md §7)
    y = j0(x, "native")
    assert y.grad_fn is not None
    (g,) = torch.autograd.grad(y.sum(), x)
    assert torch.equal(g, -torch.special.bessel_j1(x.detach()))
    assert torch.equal(y.detach(), torch.special.bessel_j0(x.detach()))


@pytest.mark.filterwarnings(_JIT_WARNING)
def test_torch_func_transforms():
    xs = torch.linspace(0.0, 20.0, 9, dtype=F64)
    g = torch.func.vmap(torch.func.grad(lambda t: j0(t)))(xs)
    assert torch.allclose(g, -j1(xs), rtol=0, atol=1e-16)
    jf = torch.func.jacfwd(j1)(xs).diagonal()
    jr = torch.func.jacrev(j1)(xs).diagonal()
    assert torch.allclose(jf, jr, rtol=0, atol=1e-16)


# --------------------------------------------------------------------------------------
# Symmetry, dtype, device, shapes
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", bessel.methods())
@pytest.mark.parametrize("dtype", [F64, F32])
def test_parity(method, dtype):
    x = torch.linspace(0.0, 12.0, 2001, dtype=dtype)
    assert torch.equal(j0(-x, method), j0(x, method))
    assert torch.equal(j1(-x, method), -j1(x, method))


@pytest.mark.parametrize("method", bessel.methods())
@pytest.mark.parametrize("dtype", [F64, F32, torch.float16, torch.bfloat16])
def test_dtype_shape_preserved(method, dtype):
    for x in (torch.tensor(2.0, dtype=dtype), torch.zeros(0, dtype=dtype), torch.rand(3, 4, 5)):
        x = x.to(dtype)
        for fn in (j0, j1):
            y = fn(x, method)
            assert y.dtype == dtype and y.shape == x.shape and y.device == x.device


def test_large_cpu_tensor_piecewise_matches_and_keeps_layout():
    x = torch.rand(300, 700, dtype=F64).mul_(200.0).t()  # non-contiguous, > 2 pieces
    y = j0(x)
    assert y.shape == x.shape
    ref = torch.from_numpy(scipy.special.j0(x.numpy()))
    assert (y - ref).abs().max().item() < 1e-14
    assert torch.equal(y[5], j0(x[5].clone()))


@cuda
@pytest.mark.parametrize(("dtype", "tol"), [(F64, 1e-14), (F32, 1e-6)])
def test_cuda_accurate(dtype, tol):
    x = accuracy.scan_points(0.0, 1000.0, 100_000, dtype)
    for name in ("j0", "j1"):
        xt = torch.as_tensor(x).to(dtype).cuda()
        y = FN[name](xt)
        assert y.device.type == "cuda" and y.dtype == dtype
        assert np.max(np.abs(y.cpu().double().numpy() - REF[name](x))) <= tol
    xg = torch.tensor(GRAD_POINTS, dtype=F64, device="cuda", requires_grad=True)
    assert gradgradcheck(j0, (xg,)) and gradgradcheck(j1, (xg,))


@mps
def test_mps_float32_accurate():
    x = accuracy.scan_points(0.0, 1000.0, 100_000, F32)
    for name in ("j0", "j1"):
        y = FN[name](torch.as_tensor(x, dtype=F32, device="mps"))
        assert y.device.type == "mps"
        assert np.max(np.abs(y.cpu().double().numpy() - REF[name](x))) <= 1e-6


# --------------------------------------------------------------------------------------
# API and errors
# --------------------------------------------------------------------------------------
def test_methods_and_default():
    assert bessel.methods() == ("accurate", "native", "series")
    for dtype in (F32, F64):
        assert bessel.default_method("cpu", dtype) == "accurate"
    assert bessel.default_method() == "accurate"
    x = torch.linspace(0, 50, 101, dtype=F64)
    assert torch.equal(j0(x), j0(x, "accurate"))


def test_bad_method_name_lists_allowed():
    x = torch.ones(3)
    with pytest.raises(ValueError, match="unknown method 'cephes'") as info:
        j0(x, "cephes")
    for name in bessel.methods():
        assert repr(name) in str(info.value)
    with pytest.raises(ValueError, match="allowed"):
        j1(x, "Accurate")


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_terms applies to method 'series' only"):
        j0(torch.ones(2), "accurate", n_terms=10)
    with pytest.raises(ValueError, match="n_terms must be an integer"):
        j0(torch.ones(2), "series", n_terms=0)
    with pytest.raises(ValueError, match="floating dtype"):
        j0(torch.ones(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="floating dtype"):
        j1(torch.ones(2, dtype=torch.complex128))
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        j0(1.0)  # type: ignore[arg-type]


def test_series_n_terms_is_used():
    x = torch.tensor([12.0], dtype=F64)
    assert j0(x, "series").item() == j0(x, "series", n_terms=30).item()
    assert abs(j0(x, "series", n_terms=5).item() - scipy.special.j0(12.0)) > 1.0


# --------------------------------------------------------------------------------------
# sidislab.workbench.accuracy
# --------------------------------------------------------------------------------------
def test_error_table_reports_series_failure_honestly():
    rows = accuracy.bessel_error_table(
        None, [F32], ranges=((0.0, 10.0), (0.0, 1000.0)), n=5_000, functions=["j0"]
    )
    by_key = {(r.method, r.x_range): r for r in rows}
    assert set(by_key) == {(m, rng) for m in bessel.methods() for rng in ((0, 10), (0, 1000))}
    bad = by_key[("series", (0.0, 1000.0))]
    assert bad.max_abs_error == math.inf and bad.n_nonfinite > 0
    assert by_key[("series", (0.0, 10.0))].max_abs_error < 1e-3
    assert by_key[("accurate", (0.0, 1000.0))].max_abs_error < 1e-6
    text = accuracy.format_error_table(rows)
    assert "series" in text and "inf" in text


def test_error_curve_and_scan_points():
    x = accuracy.scan_points(0.0, 40.0, 1001, F32)
    assert x.dtype == np.float64 and np.all(np.diff(x) > 0)
    assert np.all(x.astype(np.float32).astype(np.float64) == x)  # rounded to float32
    zeros = scipy.special.jn_zeros(0, 12).astype(np.float32).astype(np.float64)
    assert np.isin(zeros, x).all()
    xc, err = accuracy.bessel_error_curve("series", F32, (0.0, 30.0), 2001)
    assert xc.shape == err.shape and err[xc < 5].max() < 1e-5 and err.max() > 1e3
    with pytest.raises(ValueError, match="unknown function"):
        accuracy.bessel_error_curve("accurate", function="j2")
