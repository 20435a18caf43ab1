"""LHAPDF log-bicubic interpolation and extrapolation (sidislab.collinear.interpolation).

Checked against (a) an independent, deliberately plain scalar transcription of LHAPDF 6.4+'s
``LogBicubicInterpolator`` and ``ContinuationExtrapolator`` written here from the C++
sources (hep-mirrors/lhapdf ``src/LogBicubicInterpolator.cc``, ``src/GridPDF.cc``,
``src/ContinuationExtrapolator.cc``, ``include/LHAPDF/KnotArray.h``), on synthetic
multi-block sets, and (b) the independent reader ``pdfxtmd`` (PDFxTMDLib, PyPI) on the real
JAM20-SIDIS sets in ``../shared/lhapdf``.
"""

from __future__ import annotations

import bisect
import math
import os
from pathlib import Path

import numpy as np
import pytest

from sidislab.collinear import load_set
from sidislab.collinear.lhagrid import GridBlock, write_dat, write_info
from sidislab.errors import ExtrapolationError

# --- scalar transcription of LHAPDF (one flavour, joined knot arrays) -------------------------


def _lhapdf_interp(xs, q2s, xf, x, q2):
    """LHAPDF 6.4+ LogBicubicInterpolator::_interpolateXQ2 for one flavour, point by point."""
    lx = [math.log(v) for v in xs]
    lq = [math.log(v) for v in q2s]
    nx, nq = len(xs), len(q2s)

    def below(v, knots):  # KnotArray.h indexbelow
        i = bisect.bisect_right(knots, v)
        if i == len(knots):
            i -= 1
        return i - 1

    ix, iq = below(x, list(xs)), below(q2, list(q2s))

    def ddx(i, j):  # GridPDF.cc _ddx(logspace=true)
        if i == 0:
            return (xf[1, j] - xf[0, j]) / (lx[1] - lx[0])
        if i == nx - 1:
            return (xf[i, j] - xf[i - 1, j]) / (lx[i] - lx[i - 1])
        left = (xf[i, j] - xf[i - 1, j]) / (lx[i] - lx[i - 1])
        right = (xf[i + 1, j] - xf[i, j]) / (lx[i + 1] - lx[i])
        return (left + right) / 2

    def cubic(t, vl, vdl, vh, vdh):
        t2, t3 = t * t, t * t * t
        return (
            (2 * t3 - 3 * t2 + 1) * vl
            + (t3 - 2 * t2 + t) * vdl
            + (-2 * t3 + 3 * t2) * vh
            + (t3 - t2) * vdh
        )

    dlx = lx[ix + 1] - lx[ix]
    tx = (math.log(x) - lx[ix]) / dlx
    lower = iq == 0 or q2s[iq] == q2s[iq - 1]
    upper = iq + 1 == nq - 1 or q2s[iq + 1] == q2s[iq + 2]
    d1 = lq[iq + 1] - lq[iq]
    tq = (math.log(q2) - lq[iq]) / d1
    if lower and upper:  # _interpolateFallback: bilinear in (ln x, ln Q²)
        f_ql = xf[ix, iq] + (math.log(x) - lx[ix]) / dlx * (xf[ix + 1, iq] - xf[ix, iq])
        f_qh = xf[ix, iq + 1] + (math.log(x) - lx[ix]) / dlx * (xf[ix + 1, iq + 1] - xf[ix, iq + 1])
        return f_ql + tq * (f_qh - f_ql)

    def row(j):
        return cubic(tx, xf[ix, j], ddx(ix, j) * dlx, xf[ix + 1, j], ddx(ix + 1, j) * dlx)

    vl, vh = row(iq), row(iq + 1)
    if lower:
        vdl = vh - vl
        vdh = (vdl + (row(iq + 2) - vh) * d1 / (lq[iq + 2] - lq[iq + 1])) / 2
    elif upper:
        vdh = vh - vl
        vdl = (vdh + (vl - row(iq - 1)) * d1 / (lq[iq] - lq[iq - 1])) / 2
    else:
        vdl = ((vh - vl) + (vl - row(iq - 1)) * d1 / (lq[iq] - lq[iq - 1])) / 2
        vdh = ((vh - vl) + (row(iq + 2) - vh) * d1 / (lq[iq + 2] - lq[iq + 1])) / 2
    return cubic(tq, vl, vdl, vh, vdh)


def _lhapdf_continuation(xs, q2s, xf, x, q2):
    """LHAPDF ContinuationExtrapolator::extrapolateXQ2 for one flavour (x ≤ xmax)."""

    def ip(a, b):
        return _lhapdf_interp(xs, q2s, xf, a, b)

    def lin(v, vl, vh, yl, yh):
        if yl > 1e-3 and yh > 1e-3:
            return math.exp(
                math.log(yl)
                + (math.log(v) - math.log(vl))
                / (math.log(vh) - math.log(vl))
                * (math.log(yh) - math.log(yl))
            )
        return yl + (math.log(v) - math.log(vl)) / (math.log(vh) - math.log(vl)) * (yh - yl)

    xmin, xmin1, xmax = xs[0], xs[1], xs[-1]
    q2min, q2max1, q2max = q2s[0], q2s[-2], q2s[-1]
    if xmin <= x <= xmax and q2min <= q2 <= q2max:
        return ip(x, q2)
    if x < xmin and q2min <= q2 <= q2max:
        return lin(x, xmin, xmin1, ip(xmin, q2), ip(xmin1, q2))
    if xmin <= x <= xmax and q2 > q2max:
        return lin(q2, q2max, q2max1, ip(x, q2max), ip(x, q2max1))
    if x < xmin and q2 > q2max:
        fa = lin(q2, q2max, q2max1, ip(xmin, q2max), ip(xmin, q2max1))
        fb = lin(q2, q2max, q2max1, ip(xmin1, q2max), ip(xmin1, q2max1))
        return lin(x, xmin, xmin1, fa, fb)
    assert q2 < q2min and x <= xmax
    if x < xmin:
        f0 = lin(x, xmin, xmin1, ip(xmin, q2min), ip(xmin1, q2min))
        f1 = lin(x, xmin, xmin1, ip(xmin, 1.01 * q2min), ip(xmin1, 1.01 * q2min))
    else:
        f0, f1 = ip(x, q2min), ip(x, 1.01 * q2min)
    anom = max(-2.5, (f1 - f0) / f0 / 0.01) if abs(f0) >= 1e-5 else 1.0
    r = q2 / q2min
    return f0 * r ** (anom * r + 1.0 - r)


# --- a synthetic multi-block set --------------------------------------------------------------------

FLAV = (-3, -2, -1, 1, 2, 3, 21)
XS = np.concatenate([np.geomspace(1e-5, 0.1, 25, endpoint=False), np.linspace(0.1, 1.0, 19)])
QBLOCKS = ((1.0, 1.2, 1.45, 1.7, 2.0), (2.0, 3.0), (3.0, 4.5, 7.0, 12.0, 30.0, 100.0))


def _synth(x, q, k, block):
    lq = np.log(q * q)
    shape = x ** (0.2 + 0.1 * k) * (1 - x) ** (3 + 0.5 * k) * (1 + 0.2 * np.sin(3 * np.log(x)))
    val = (k + 1) * shape * (1 + 0.3 * lq + 0.05 * lq * lq) * (1 + 0.01 * block)
    if k == 2:  # a flavour that changes sign in x
        val = val * (x - 0.3)
    return val


@pytest.fixture(scope="module")
def synth_set(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lhapdf")
    name = "synthetic_multiblock"
    folder = root / name
    blocks = []
    for b, qs in enumerate(QBLOCKS):
        qa = np.array(qs)
        X, Q = np.meshgrid(XS, qa, indexing="ij")
        xf = np.stack([_synth(X, Q, k, b) for k in range(len(FLAV))], axis=-1)
        xf[XS >= 1.0] = 0.0
        blocks.append(GridBlock(xs=XS, qs=qa, pids=tuple(0 if p == 21 else p for p in FLAV), xf=xf))
    write_info(
        folder / f"{name}.info",
        {
            "SetDesc": "synthetic",
            "Format": "lhagrid1",
            "NumMembers": 1,
            "Flavors": list(FLAV),
            "MCharm": 2.0,
            "MBottom": 3.0,
            "AlphaS_Qs": [1.0, 2.0, 2.0, 3.0, 3.0, 100.0],
            "AlphaS_Vals": [0.5, 0.3, 0.3, 0.25, 0.25, 0.12],
        },
    )
    write_dat(folder / f"{name}_0000.dat", blocks, digits=16)
    return root


def _joined(s):
    return s.grid.xs, s.grid.q2s, s.grid.xf


def test_interpolation_matches_scalar_lhapdf_transcription(synth_set):
    s = load_set("synthetic_multiblock", paths=[synth_set])
    assert s.n_blocks == 3
    rng = np.random.default_rng(11)
    x = np.exp(rng.uniform(np.log(1e-5), np.log(0.999), 400))
    q = np.exp(rng.uniform(0.0, np.log(100.0), 400))
    got = s.xfxQ(x, q)
    xs, q2s, xf = _joined(s)
    worst = 0.0
    for j in range(len(s.flavours)):
        ref = np.array([_lhapdf_interp(xs, q2s, xf[:, :, j], a, b * b) for a, b in zip(x, q)])
        scale = np.abs(ref) + 1e-12 * np.max(np.abs(ref))
        worst = max(worst, float(np.max(np.abs(got[:, j] - ref) / scale)))
    assert worst < 1e-12, worst


def test_two_knot_block_is_bilinear_and_block_edges_use_upper_block(synth_set):
    s = load_set("synthetic_multiblock", paths=[synth_set])
    j = s.flavours.index(2)
    # inside the two-knot block [2, 3]: LHAPDF's linear fallback (bilinear in ln x, ln Q²)
    x, q = 0.0137, 2.4
    xs, q2s, xf = _joined(s)
    assert s.xfxQ_pid(2, x, q) == pytest.approx(
        _lhapdf_interp(xs, q2s, xf[:, :, j], x, q * q), rel=1e-13
    )
    # on an x knot of the 2-knot block: linear in ln Q² between the block's two rows
    X = s.x_knots[10]
    i2, i3 = 4, 6  # joined Q knots: 1, 1.2, 1.45, 1.7, 2 | 2, 3 | 3, 4.5, ...
    assert s.grid.qs[i2 : i3 + 2].tolist() == [2.0, 2.0, 3.0, 3.0]
    lo, hi = xf[10, i2 + 1, j], xf[10, i3, j]
    t = (math.log(q * q) - math.log(4.0)) / (math.log(9.0) - math.log(4.0))
    assert s.xfxQ_pid(2, X, q) == pytest.approx(lo + t * (hi - lo), rel=1e-13)
    # a Q on a block edge is served by the upper block (LHAPDF: upper_bound − 1); the
    # synthetic blocks differ by 1 % there
    assert s.xfxQ_pid(2, X, 3.0) == xf[10, i3 + 1, j] != xf[10, i3, j]
    assert s.xfxQ_pid(2, X, 2.0) == xf[10, i2 + 1, j] != xf[10, i2, j]
    assert xf[10, i3 + 1, j] == pytest.approx(_synth(X, 3.0, j, 2), rel=1e-15)


def test_values_at_knots_are_the_file_values(synth_set):
    s = load_set("synthetic_multiblock", paths=[synth_set])
    xs, _, xf = _joined(s)
    qs = s.grid.qs
    X, Q = np.meshgrid(xs[:-1], qs, indexing="ij")  # x = 1 gives 0 by convention
    got = s.xfxQ(X, Q)
    # a repeated (block-edge) knot takes the upper block's row: drop the lower copy
    keep = np.ones(qs.size, dtype=bool)
    keep[:-1] = qs[:-1] != qs[1:]
    np.testing.assert_array_equal(got[:, keep], xf[:-1][:, keep])
    assert np.all(s.xfxQ(1.0, 5.0) == 0.0) and np.all(s.xfxQ(1.5, 5.0) == 0.0)


@pytest.mark.parametrize(
    "x,q",
    [
        (3e-6, 5.0),
        (1e-7, 50.0),
        (0.02, 150.0),
        (0.5, 1e3),
        (3e-6, 500.0),
        (0.02, 0.8),
        (0.4, 0.3),
        (2e-6, 0.9),
        (0.0137, 0.99),
    ],
)
def test_continuation_matches_scalar_lhapdf_transcription(synth_set, x, q):
    s = load_set("synthetic_multiblock", paths=[synth_set], extrapolation="continuation")
    xs, q2s, xf = _joined(s)
    got = s.xfxQ(x, q)
    ref = np.array(
        [_lhapdf_continuation(xs, q2s, xf[:, :, j], x, q * q) for j in range(len(s.flavours))]
    )
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-300)


def test_freeze_clamps_to_the_grid_edges(synth_set):
    s = load_set("synthetic_multiblock", paths=[synth_set], extrapolation="freeze")
    x = np.array([0.05, 1e-7, 0.05, 1e-7])
    q = np.array([0.5, 3.0, 500.0, 0.2])
    got = s.xfxQ(x, q)
    want = s.xfxQ(np.array([0.05, 1e-5, 0.05, 1e-5]), np.array([1.0, 3.0, 100.0, 1.0]))
    np.testing.assert_array_equal(got, want)
    # "below QMin the distribution is frozen at QMin"
    np.testing.assert_array_equal(
        s.xfxQ(0.2, np.array([0.3, 0.7, 1.0])), np.repeat(s.xfxQ(0.2, 1.0)[None], 3, 0)
    )


def test_error_policy_names_the_point(synth_set):
    s = load_set("synthetic_multiblock", paths=[synth_set], extrapolation="error")
    s.xfxQ(np.array([1e-5, 0.5, 0.999]), np.array([1.0, 100.0, 7.0]))  # edges are inside
    with pytest.raises(
        ExtrapolationError,
        match=r"synthetic_multiblock_0000\.dat: point 2 .*Q = 0\.5 GeV.*outside the grid",
    ):
        s.xfxQ(np.array([0.1, 0.2, 0.3]), np.array([5.0, 5.0, 0.5]))
    with pytest.raises(ExtrapolationError, match=r"point \(1, 0\) \(x = 1e-06"):
        s.xfxQ(np.array([[0.1, 0.2], [1e-6, 0.3]]), 5.0)
    with pytest.raises(ExtrapolationError, match=r"point 0 \(x = 0\.1, Q = 200 GeV\)"):
        s.xfxQ_pid(21, 0.1, 200.0)
    assert np.all(s.xfxQ(1.2, 1e5) == 0.0)  # x ≥ 1 is 0 under every policy


def test_continuation_refuses_x_above_last_knot(tmp_path):
    name = "xmax_below_one"
    folder = tmp_path / name
    xs = np.geomspace(1e-3, 0.8, 12)
    qs = np.array([1.0, 2.0, 4.0, 8.0])
    X, Q = np.meshgrid(xs, qs, indexing="ij")
    xf = (X**0.5 * (1 - X) ** 3 * np.log(Q * 3))[..., None]
    write_info(folder / f"{name}.info", {"Format": "lhagrid1", "Flavors": [21], "NumMembers": 1})
    write_dat(folder / f"{name}_0000.dat", [GridBlock(xs=xs, qs=qs, pids=(21,), xf=xf)])
    cont = load_set(name, paths=[tmp_path], extrapolation="continuation")
    with pytest.raises(ExtrapolationError, match=r"point 1 \(x = 0\.9.*above the last x knot 0\.8"):
        cont.xfxQ([0.5, 0.9], 2.0)
    frozen = load_set(name, paths=[tmp_path], extrapolation="freeze")
    np.testing.assert_array_equal(frozen.xfxQ(0.9, 2.0), frozen.xfxQ(0.8, 2.0))


# --- against pdfxtmd on the real sets ----------------------------------------------------------------

JAM = ("JAM20-SIDIS_PDF_proton_nlo", "JAM20-SIDIS_FF_pion_nlo")


@pytest.fixture(scope="module")
def pdfxtmd_factory(shared_lhapdf, tmp_path_factory):
    """pdfxtmd's collinear factory reading ``../shared/lhapdf``.

    pdfxtmd reads (and on first import creates) ``$HOME/.PDFxTMDLib/config.yaml``: $HOME points
    to a temporary folder before the import so the user's home is never touched."""
    home = tmp_path_factory.mktemp("pdfxtmd_home")
    (home / ".PDFxTMDLib").mkdir()
    (home / ".PDFxTMDLib" / "config.yaml").write_text(f"paths:\n  - {shared_lhapdf}\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        pdfxtmd = pytest.importorskip("pdfxtmd")
        yield pdfxtmd, pdfxtmd.GenericCPDFFactory()


def _pdfxtmd_flavour(pdfxtmd, pid):
    names = {1: "d", 2: "u", 3: "s", 4: "c", 5: "b", 6: "t", 21: "g"}
    return getattr(pdfxtmd, names[abs(pid)] + ("bar" if pid < 0 else ""))


def _compare(s, ref_pdf, pdfxtmd, x, q):
    got = s.xfxQ(x, q)
    worst = 0.0
    for j, pid in enumerate(s.flavours):
        ref = ref_pdf.pdf_batch(_pdfxtmd_flavour(pdfxtmd, pid), x, q * q)
        atol = 1e-12 * max(np.max(np.abs(ref)), 1e-300)
        rel = np.abs(got[:, j] - ref) / (np.abs(ref) + atol)
        worst = max(worst, float(np.max(rel)))
    return worst


@pytest.mark.parametrize("name", JAM)
def test_agrees_with_pdfxtmd_at_knots(pdfxtmd_factory, shared_lhapdf, name):
    pdfxtmd, factory = pdfxtmd_factory
    s = load_set(name, paths=[shared_lhapdf])
    ref = factory.mkCPDF(name, 0)
    xk = s.x_knots[(s.x_knots >= 1e-4) & (s.x_knots <= 0.9)]
    X, Q = np.meshgrid(xk, np.unique(s.q_knots), indexing="ij")
    worst = _compare(s, ref, pdfxtmd, X.ravel(), Q.ravel())
    assert worst <= 1e-12, f"{name}: max relative deviation at knots {worst:.2e}"


@pytest.mark.parametrize("name", JAM)
def test_agrees_with_pdfxtmd_between_knots(pdfxtmd_factory, shared_lhapdf, name):
    """Between knots, for x ∈ [1e-4, 0.9] and Q away from the first and last Q interval.

    In the first and last Q interval of a block pdfxtmd 2.0.1 departs from LHAPDF's algorithm
    (by up to ~6e-4 relative on u at x = 0.05, Q = 1.18 GeV for the proton set); there the
    next test checks sidislab against the scalar transcription of LHAPDF instead.
    """
    pdfxtmd, factory = pdfxtmd_factory
    s = load_set(name, paths=[shared_lhapdf])
    ref = factory.mkCPDF(name, 0)
    rng = np.random.default_rng(5)
    n = 20000
    x = np.exp(rng.uniform(np.log(max(1e-4, s.xmin)), np.log(0.9), n))
    q = np.exp(rng.uniform(np.log(s.q_knots[1]), np.log(s.q_knots[-2]), n))
    worst = _compare(s, ref, pdfxtmd, x, q)
    assert worst <= 1e-10, f"{name}: max relative deviation between knots {worst:.2e}"


@pytest.mark.parametrize("name", JAM)
def test_edge_q_intervals_follow_lhapdf(shared_lhapdf, name):
    s = load_set(name, paths=[shared_lhapdf])
    xs, q2s, xf = _joined(s)
    rng = np.random.default_rng(3)
    x = np.exp(rng.uniform(np.log(max(1e-4, s.xmin)), np.log(0.9), 60))
    edges = [(s.q_knots[0], s.q_knots[1]), (s.q_knots[-2], s.q_knots[-1])]
    for qa, qb in edges:
        q = np.exp(rng.uniform(np.log(qa), np.log(qb), 60))
        got = s.xfxQ(x, q)
        for j in range(len(s.flavours)):
            ref = np.array([_lhapdf_interp(xs, q2s, xf[:, :, j], a, b * b) for a, b in zip(x, q)])
            np.testing.assert_allclose(
                got[:, j], ref, rtol=1e-12, atol=1e-14 * np.max(np.abs(ref) + 1e-300)
            )


def test_vectorised_shapes_and_speed_smoke(shared_lhapdf):
    s = load_set("JAM20-SIDIS_FF_pion_nlo", paths=[shared_lhapdf])
    z = np.linspace(0.05, 0.8, 6)[:, None]
    q = np.geomspace(1.0, 50.0, 4)[None, :]
    out = s.xfxQ(z, q)
    assert out.shape == (6, 4, len(s.flavours)) and out.dtype == np.float64
    assert s.xfxQ(0.3, 2.0).shape == (len(s.flavours),)
    np.testing.assert_array_equal(out[2, 3], s.xfxQ(z[2, 0], q[0, 3]))
    assert os.environ.get("HOME")  # the pdfxtmd fixture restored it


# --- LHAPDF's interpolator-cache guard (sidislab.collinear.pdfset.cache_primers) -------------


def test_cache_primers_change_both_interval_indices(shared_lhapdf):
    """Each primer lies in the query's subgrid with a different x- *and* Q-interval index,
    so LHAPDF builds whose static cache keys on the indices only (6.2.3–6.3.0 snapshots)
    recompute Δln x and Δln Q² for the query."""
    from sidislab.collinear.lhagrid import read_dat
    from sidislab.collinear.pdfset import cache_primers, needs_cache_guard

    path = shared_lhapdf / "JAM20-SIDIS_PDF_proton_nlo" / "JAM20-SIDIS_PDF_proton_nlo_0000.dat"
    blocks = [(b.xs, b.qs) for b in read_dat(path).blocks]
    rng = np.random.default_rng(5)
    x = np.exp(rng.uniform(np.log(blocks[0][0][0]), np.log(0.95), 400))
    lo, hi = blocks[0][1][0], blocks[-1][1][-1]
    q = np.exp(rng.uniform(np.log(lo), np.log(hi), 400))
    q[:10] = [b[1][0] for b in blocks][:1] * 10  # first knots: the affected intervals
    xp, qp = cache_primers(blocks, x, q)
    firsts = np.array([b[1][0] for b in blocks])

    def where(xv, qv):
        k = np.clip(np.searchsorted(firsts, qv, side="right") - 1, 0, len(blocks) - 1)
        xs, qs = blocks[k]
        ix = min(max(np.searchsorted(xs, xv, side="right") - 1, 0), xs.size - 2)
        iq = min(max(np.searchsorted(qs, qv, side="right") - 1, 0), qs.size - 2)
        return k, ix, iq

    for i in range(x.size):
        k, ix, iq = where(x[i], q[i])
        kp, ixp, iqp = where(xp[i], qp[i])
        assert kp == k and ixp != ix
        assert iqp != iq or blocks[k][1].size == 2
    assert needs_cache_guard("6.2.3") and needs_cache_guard("6.3.0")
    assert not needs_cache_guard("6.5.4") and not needs_cache_guard("6.2.1")
    assert not needs_cache_guard("unknown")
