"""Convergence-study helpers against the exact pairs."""

from __future__ import annotations

import math

import pytest
import torch

from sidislab.numerics.bgrid import BGrid, named_grid
from sidislab.workbench.convergence import error_table, exponential_pair, gaussian_pair, grid_scan


def test_pairs_sigma0():
    assert gaussian_pair(0.25).sigma0 == pytest.approx(2.0)
    assert exponential_pair(0.5).sigma0 == pytest.approx(4.0)


def test_error_table_rows():
    rows = error_table(gaussian_pair(0.28), [0.1, 2.0])
    by = {(r["method"], r["qT"]): r for r in rows}
    assert by[("ogata (tol 1e-10)", 0.1)]["rel_error"] == pytest.approx(0, abs=1e-12)
    assert by[("trapz-b (old [0.01,2]×256)", 2.0)]["rel_error"] == pytest.approx(1.20, abs=0.02)
    for r in rows:
        assert r["exact"] == pytest.approx(math.exp(-(r["qT"] ** 2) / 1.12) / 0.56)


def test_grid_scan_orders_grids():
    qT = torch.logspace(-2, math.log10(3), 20, dtype=torch.float64)
    pairs = [gaussian_pair(a) for a in (0.1, 1.0)]
    rows = grid_scan(
        pairs,
        [named_grid("old-default"), named_grid("default"), BGrid(1e-3, 72, 49, "loglinear", 3.0)],
        qT,
    )
    assert rows[0]["max_rel_error"] > 0.3
    assert rows[1]["max_rel_error"] < 1e-4
    assert rows[1]["max_rel_error"] < rows[2]["max_rel_error"]
