"""b-grids: nodes, quadrature weights, halving, named grids, validation."""

from __future__ import annotations

import math

import pytest
import torch

from sidislab.numerics.bgrid import NAMED_GRIDS, BGrid, named_grid


@pytest.mark.parametrize("spacing", ["log", "linear", "loglinear"])
@pytest.mark.parametrize("rule", ["trapezoid", "simpson", "trapezoid-b"])
def test_weights_integrate_smooth_functions(spacing, rule):
    g = BGrid(0.01, 5.0, 401, spacing, scale=1.0)
    b, w = g.nodes(), g.weights(rule)
    exact = math.exp(-0.01) - math.exp(-5.0)  # ∫ e^{−b} db
    tol = {"trapezoid": 1e-4, "simpson": 1e-8, "trapezoid-b": 1e-4}[rule]
    assert (w * torch.exp(-b)).sum().item() == pytest.approx(exact, rel=tol)


def test_simpson_is_exact_for_cubics_on_linear_grids_even_and_odd():
    for n in (11, 12):  # even number of intervals, and odd (3/8 rule at the end)
        g = BGrid(0.0, 2.0, n, "linear")
        b, w = g.nodes(), g.weights("simpson")
        assert (w * b**3).sum().item() == pytest.approx(4.0, rel=1e-13)


def test_nodes_and_ends():
    g = named_grid("default")
    b = g.nodes()
    assert b[0].item() == g.b_min and b[-1].item() == g.b_max
    assert torch.all(torch.diff(b) > 0)
    assert g.Nb % 2 == 1  # halving keeps both ends
    # log below the scale s, linear above: the spacing tends to a constant at large b
    db = torch.diff(b)
    assert db[-1] / db[-10] == pytest.approx(1.0, rel=1e-3)
    assert (b[1] / b[0]).item() == pytest.approx((b[2] / b[1]).item(), rel=1e-3)


@pytest.mark.parametrize("n", [41, 42])
def test_coarse_weights(n):
    g = BGrid(0.1, 3.0, n, "log")
    idx, w = g.coarse_weights("trapezoid")
    b = g.nodes()[idx]
    assert idx[0] == 0 and idx[-1] == n - 1
    exact = 3.0**2 / 2 - 0.1**2 / 2
    assert (w * b).sum().item() == pytest.approx(exact, rel=2e-2)
    if n % 2:
        half = BGrid(0.1, 3.0, (n + 1) // 2, "log")
        torch.testing.assert_close(b, half.nodes())
        torch.testing.assert_close(w, half.weights("trapezoid"))


def test_named_grids():
    assert set(NAMED_GRIDS) >= {"default", "old-default"}
    old = named_grid("old-default")
    assert (old.b_min, old.b_max, old.Nb, old.spacing) == (0.01, 2.0, 256, "log")
    with pytest.raises(
        ValueError, match="unknown b-grid name 'x' \\(allowed: default, old-default"
    ):
        named_grid("x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"b_min": 0.0, "b_max": 1.0, "Nb": 10, "spacing": "log"},
            "b_min must be > 0 for a log grid",
        ),
        ({"b_min": 1.0, "b_max": 1.0, "Nb": 10}, "must exceed b_min"),
        ({"b_min": 0.1, "b_max": 1.0, "Nb": 1}, "Nb must be an integer >= 2"),
        ({"b_min": 0.1, "b_max": 1.0, "Nb": 10, "spacing": "cubic"}, "spacing 'cubic' not in"),
    ],
)
def test_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BGrid(**kwargs)
    with pytest.raises(ValueError, match="unknown quadrature rule"):
        named_grid("default").weights("gauss")
