"""Matched TMDs on an (x, μ0) grid with piecewise cubic interpolation (physics.md §3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sidislab.tmd.matching import QUARKS, matched_tmd
from sidislab.tmd.tabulation import PiecewiseCubic, TableSpec, TMDTable

THRESHOLDS = (0.0, 0.0, 0.0, 1.28, 4.18)
FLAVOURS = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 21)


class ToySet:
    """Analytic stand-in for a collinear set (no grid knots exposed)."""

    flavours = FLAVOURS
    xmin = 1e-5

    def xfxQ(self, x, Q):
        x, Q = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(Q, dtype=np.float64))
        xs = np.clip(x, 1e-300, 1.0)
        out = np.empty((*x.shape, len(FLAVOURS)))
        for k in range(len(FLAVOURS)):
            out[..., k] = (1 + 0.1 * k) * xs ** (0.3 + 0.05 * k) * (1 - xs) ** (2 + 0.3 * k)
            out[..., k] *= 1 + 0.1 * (k % 3) * np.log(Q)
        out[x >= 1] = 0.0
        return out


def toy_alphas(mu):
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 1.0)
    return 4 * math.pi / (25 / 3 * np.log(mu**2 / 0.25**2))


@pytest.fixture(scope="module", params=[1, 2])
def table(request) -> TMDTable:
    return TMDTable(ToySet(), "pdf", request.param, 1.0, toy_alphas, THRESHOLDS, (1.0, 50.0))


def test_interpolation_accuracy(table: TMDTable) -> None:
    rng = np.random.default_rng(7)
    x = np.exp(rng.uniform(math.log(1e-4), math.log(0.95), 60))
    mu = np.exp(rng.uniform(0.0, math.log(50.0), (60, 7)))
    got = table.evaluate(x, mu)
    s = ToySet()
    for i in range(len(x)):
        exact = matched_tmd(
            s.xfxQ, FLAVOURS, x[i : i + 1], mu[i], toy_alphas(mu[i]), THRESHOLDS, table.order
        )
        scale = np.abs(exact).max()
        assert np.abs(got[i] - exact[:, 0, :]).max() < 2e-5 * scale


def test_thresholds_are_segment_ends(table: TMDTable) -> None:
    """Charm switches on at μ0 > m_c: 0 at and just below, the matched value just above."""
    x = np.array([0.1, 0.1, 0.1])
    mu = np.array([[1.28 * (1 - 1e-9), 1.28, 1.28 * (1 + 1e-9)]] * 3)
    got = table.evaluate(x, mu)[0]
    c = QUARKS.index(4)
    assert got[0, c] == 0.0 and got[1, c] == 0.0
    s = ToySet()
    above = matched_tmd(
        s.xfxQ,
        FLAVOURS,
        x[:1],
        np.array([1.28 * (1 + 1e-9)]),
        toy_alphas(1.28),
        THRESHOLDS,
        table.order,
    )
    assert got[2, c] == pytest.approx(above[0, 0, c], rel=1e-6)


def test_large_x_and_ranges(table: TMDTable) -> None:
    x_hi = table.x_range[1]
    v = table.evaluate(np.array([x_hi, 0.5 * (1 + x_hi), 1.0]), np.full((3, 1), 2.0))
    assert np.allclose(v[1], 0.5 * v[0], rtol=1e-12)
    assert np.all(v[2] == 0.0)
    with pytest.raises(ValueError, match="outside the table"):
        table.evaluate(np.array([0.1]), np.array([[60.0]]))
    with pytest.raises(ValueError, match="below the table"):
        table.evaluate(np.array([1e-7]), np.array([[2.0]]))


def test_piecewise_cubic_reproduces_cubics_with_jumps() -> None:
    segs = [np.linspace(0.0, 1.0, 4), np.linspace(1.0, 3.0, 7)]
    f = [lambda t: 1 + 2 * t - t**3, lambda t: 5 - t + 0.5 * t**2 + 0.1 * t**3]
    vals = np.concatenate([f[0](segs[0]), f[1](segs[1])])
    pc = PiecewiseCubic(segs, vals[:, None], axis=0)
    t = np.array([0.0, 0.3, 1.0, 1.0 + 1e-12, 2.2, 3.0])
    j, d = pc.locate(t)
    c = pc.c[:, j, 0]
    got = ((c[0] * d + c[1]) * d + c[2]) * d + c[3]
    expect = np.array([f[0](0.0), f[0](0.3), f[0](1.0), f[1](1.0 + 1e-12), f[1](2.2), f[1](3.0)])
    assert np.allclose(got, expect, rtol=1e-12, atol=1e-12)


def test_spec_fingerprint_fields() -> None:
    d = TableSpec().as_dict()
    assert "mu_chunk" not in d and "point_chunk" not in d and d["n_gauss"] > 0
