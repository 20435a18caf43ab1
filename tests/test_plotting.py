"""sidislab.workbench.plotting: the notebooks' figure helpers.

Invariants: errors are drawn on a log axis with zeros at the floor and non-finite values
marked (never dropped); the integrand helper is b J0(qT b) F(b); the slider figures
draw with the package's own numbers (the default grid's error at qT = 1 GeV on the
Gaussian a = 0.28 is tiny, the old grid's is of order one).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import torch

from sidislab.numerics.bgrid import named_grid
from sidislab.workbench import plotting
from sidislab.workbench.convergence import gaussian_pair


def test_error_curves_mark_zeros_and_overflow():
    _fig, ax = plotting.subplots()
    plotting.error_curves(ax, [1, 2, 3, 4], {"m": [0.0, 1e-3, float("inf"), float("nan")]})
    line, marks = ax.get_lines()
    y = line.get_ydata()
    assert y[0] == plotting.FLOOR and y[1] == 1e-3 and np.isnan(y[2])
    assert list(marks.get_xdata()) == [3, 4]  # inf and nan are shown as markers
    assert ax.get_yscale() == "log"
    assert "not finite" in marks.get_label()


def test_integrand_is_b_j0_f():
    b = np.array([0.5, 1.0, 4.0])
    got = plotting.integrand(lambda t: torch.exp(-0.3 * t * t), 2.0, b)
    np.testing.assert_allclose(got, b * scipy.special.j0(2 * b) * np.exp(-0.3 * b * b), rtol=1e-14)


def test_md_table():
    md = plotting.md_table([{"a": 1.23456, "b": "x"}], formats={"a": ".2f"})
    assert md.data.splitlines() == ["| a | b |", "|---|---|", "| 1.23 | x |"]
    assert "no rows" in plotting.md_table([]).data


def test_heatmap_outlines_cells_meeting_the_target():
    _fig, ax = plotting.subplots()
    plotting.heatmap(
        ax,
        [1, 2],
        [10, 20],
        [[1e-2, 1e-6], [1e-7, float("inf")]],
        target=1e-5,
        marks=[(2, 10, "here")],
    )
    assert len(ax.patches) == 2  # the two cells ≤ 1e-5
    assert any(t.get_text() == "here" for t in ax.texts)
    assert any(t.get_text() == "inf" for t in ax.texts)


@pytest.mark.parametrize(("grid", "small"), [("default", True), ("old-default", False)])
def test_grid_explorer_figure(grid, small):
    fig = plotting.grid_explorer_figure(gaussian_pair(0.28), named_grid(grid), 1.0, n_qT=20)
    title = fig.axes[1].get_title()
    err = float(title.split()[1])
    assert (err < 1e-6) is small
    assert "MiB" in title


def test_series_terms_figure():
    fig = plotting.series_terms_figure(10, x_max=20.0, n=201)
    assert "10 terms" in fig.axes[0].get_title()
