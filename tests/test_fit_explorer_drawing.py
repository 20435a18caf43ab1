"""sidislab.workbench.fit_explorer.drawing: the explorer's figures, from a state alone.

Invariants: the panels are bins spread over all (first and last included); each panel
draws exactly the state's σ, the start and the pseudo-data of its bin against qT; the
title reports the state's χ²; the χ² figure plots χ²/N of the history on a log scale; no
figure goes through pyplot; a bundle is PNG.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from sidislab import fit as F
from sidislab.fnp import load_fnp
from sidislab.kinematics import load_kinematics
from sidislab.lumi import AnalyticProvider, LuminosityCache
from sidislab.observables.xsec import CrossSection
from sidislab.workbench.fit_explorer import closure, drawing, state

DATA = Path(__file__).resolve().parents[1] / "data"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def fit_state(tmp_path_factory):
    mix = load_kinematics(DATA / "kinematics" / "sidis_mix.yaml")
    kin = closure.select_bins(mix.tmd_region(), 24)
    table = LuminosityCache(tmp_path_factory.mktemp("lumi")).get_or_build(
        AnalyticProvider.gaussian(1.0, 0.5), kin, progress=False
    )
    fnp = load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml")
    fnp.freeze("*")
    fnp.unfreeze("g2", "ff.N3")
    xs = CrossSection(kin, table, fnp)
    targets = F.pseudo_data(xs)
    return state.FitState(xs, targets, start=closure.perturbed(fnp.get_vector(), 0.2, 0))


def lines(ax) -> dict[str, np.ndarray]:
    return {ln.get_label(): ln.get_ydata() for ln in ax.get_lines()}


def test_sigma_panels_draw_the_state(fit_state):
    st = fit_state
    st.reset()
    figs = drawing.FitFigures(st, max_panels=3, ncols=2)
    assert len(figs.bins) == 6 and figs.ncols == 2
    assert figs.panels == [figs.bins[j] for j in (0, 2, 5)], "spread, first and last"
    n_figs = plt.get_fignums()
    st.set_values({"ff.N3": 0.3})
    fig = figs.draw_sigma()
    assert plt.get_fignums() == n_figs, "no pyplot figure"
    visible = [a for a in fig.axes if a.get_visible()]
    assert len(visible) == 3 and len(fig.axes) == 4, "2×2 grid, the last one hidden"
    qT = st.xs.kin.qT.numpy()
    for ax, b in zip(visible, figs.panels):
        i = list(b.indices)
        assert ax.get_title() == b.title()
        drawn = lines(ax)
        np.testing.assert_array_equal(drawn["model"], st.sigma().numpy()[i])
        np.testing.assert_array_equal(drawn["start"], st.start_sigma.numpy()[i])
        np.testing.assert_array_equal(ax.get_lines()[-1].get_xdata(), qT[i])
    assert f"χ² = {st.chi2():.4g} for 24 points" in fig.get_suptitle()
    assert "3 of 6 bins shown" in fig.get_suptitle()
    bundle = drawing.figure_bundle(fig)
    assert bundle["image/png"].startswith(PNG)
    assert fig.get_suptitle() in bundle["text/plain"]


def test_more_panels_than_bins(fit_state):
    figs = drawing.FitFigures(fit_state, max_panels=50, ncols=10)
    assert figs.panels == figs.bins and figs.ncols == 6


def test_chi2_curve_follows_the_history(fit_state):
    st = fit_state
    st.reset()
    figs = drawing.FitFigures(st)
    empty = figs.draw_chi2()
    assert "no optimiser steps yet" in empty.axes[0].texts[0].get_text()
    assert f"{st.chi2() / 24:.3g} at the start" in empty.axes[0].get_title()
    st.run_steps(2)
    ax = figs.draw_chi2().axes[0]
    assert ax.get_yscale() == "log"
    (curve,) = ax.get_lines()
    np.testing.assert_array_equal(curve.get_xdata(), [0.0, 1.0, 2.0])
    np.testing.assert_allclose(
        curve.get_ydata(), [h["chi2"] / 24 for h in st.history], rtol=1e-15, atol=0.0
    )
    assert "after 2 steps" in ax.get_title()
