"""sidislab.workbench.fit_explorer: bins, closure helpers and the explorer's controls, no browser.

Invariants: bins group exactly the points of one (experiment, x, Q², z) and order them by
qT; a selection takes whole bins, spread over experiments and z, never more points than
asked; the start of a closure is the CLI's draw; the explorer works on a copy, redraws
once per changed parameter vector (never while the optimiser moves the sliders), keeps
sliders and parameters equal, lowers χ² with its optimiser steps, publishes its figures
as PNG through display handles, and reports failures in its status line.

The luminosity is the analytic toy (fast); notebook 03 runs the native one.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from pathlib import Path

import pytest
import torch

from sidislab import fit as F
from sidislab.fnp import load_fnp
from sidislab.kinematics import load_kinematics
from sidislab.lumi import AnalyticProvider, LuminosityCache
from sidislab.observables.xsec import CrossSection
from sidislab.workbench import fit_explorer as FE

DATA = Path(__file__).resolve().parents[1] / "data"
MIX = DATA / "kinematics" / "sidis_mix.yaml"
FREE = ("g2", "pdf.N1", "ff.N3", "ff.beta1")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def mix():
    return load_kinematics(MIX)


@pytest.fixture(scope="module")
def setup(mix, tmp_path_factory):
    kin = FE.select_bins(mix.tmd_region(), 24)
    table = LuminosityCache(tmp_path_factory.mktemp("lumi")).get_or_build(
        AnalyticProvider.gaussian(1.0, 0.5), kin, progress=False
    )
    return kin, table


def make_xsec(setup) -> CrossSection:
    kin, table = setup
    fnp = load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml")
    fnp.freeze("*")
    fnp.unfreeze(*FREE)
    return CrossSection(kin, table, fnp)


@pytest.fixture
def problem(setup):
    """(cross section at the truth, exact pseudo-data, start 20 % off)."""
    xs = make_xsec(setup)
    targets = F.pseudo_data(xs)
    return xs, targets, FE.perturbed(xs.fnp.get_vector(), 0.2, 0)


def marker(explorer: FE.FitExplorer) -> dict[str, str]:
    html = explorer.status.value
    assert f'class="{FE.STATE_CLASS}"' in html
    return dict(re.findall(r'data-(\w+)="([^"]*)"', html))


# --- bins and selections -------------------------------------------------------------------


def test_bins_of_the_mixed_file(mix):
    bins = FE.kinematic_bins(mix)
    assert len(bins) == 48 and all(len(b) == 6 for b in bins)
    assert sorted(i for b in bins for i in b.indices) == list(range(len(mix)))
    for b in bins:
        idx = list(b.indices)
        assert {mix.labels[i] for i in idx} == {b.label}
        for name, value in (("x", b.x), ("Q2", b.Q2), ("z", b.z)):
            torch.testing.assert_close(
                getattr(mix, name)[idx], torch.full((6,), value, dtype=torch.float64)
            )
        qT = mix.qT[idx]
        assert bool((qT[1:] > qT[:-1]).all()), "points of a bin are ordered by qT"
    assert {b.label for b in bins} == {"hermes", "compass", "eic"}
    assert bins[0].title() == "HERMES  x=0.04 Q²=1.4 z=0.25"
    # inside the TMD region (qT ≤ Q/2) four of the six qT values remain in every bin
    assert [len(b) for b in FE.kinematic_bins(mix.tmd_region())] == [4] * 48


def test_bins_without_labels_use_the_file_name():
    kin = load_kinematics(DATA / "kinematics" / "hermes_7pt.yaml")
    bins = FE.kinematic_bins(kin)
    assert sum(len(b) for b in bins) == len(kin)
    assert all(b.label for b in bins)


@pytest.mark.parametrize("n_points", [4, 7, 24, 48, 100])
def test_selection_takes_whole_spread_bins(mix, n_points):
    tmd = mix.tmd_region()
    kin = FE.select_bins(tmd, n_points)
    assert len(kin) == 4 * (n_points // 4), "as many whole bins of 4 as fit"
    bins = FE.kinematic_bins(kin)
    assert all(len(b) == 4 for b in bins), "whole bins only"
    if n_points >= 24:
        assert {b.label for b in bins} == {"hermes", "compass", "eic"}
        assert len({b.z for b in bins}) >= 3, "the selection spans z"
        assert len({b.Q2 for b in bins}) >= 5, "… and Q²"
    keys = list(zip(tmd.x.tolist(), tmd.Q2.tolist(), tmd.z.tolist(), tmd.PhT.tolist()))
    want = list(zip(kin.x.tolist(), kin.Q2.tolist(), kin.z.tolist(), kin.PhT.tolist()))
    positions = [keys.index(k) for k in want]
    assert positions == sorted(positions), "the points keep the file's order"


def test_selection_edges(mix):
    tmd = mix.tmd_region()
    assert len(FE.select_bins(tmd, 1)) == 4, "at least one bin"
    assert len(FE.select_bins(tmd, 10_000)) == len(tmd)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="n_points"):
            FE.select_bins(tmd, bad)


# --- closure helpers -----------------------------------------------------------------------


def test_perturbed_is_the_cli_start():
    true = torch.tensor([0.1284, 0.28516, 2.9755, 0.17293, 0.21012, 2.12062], dtype=torch.float64)
    start = FE.perturbed(true, 0.2, seed=0)
    # the draw of `sidislab fit --perturb 0.2 --seed 0` (sidislab.cli._prepare_fit)
    gen = torch.Generator().manual_seed(0)
    signs = torch.randint(0, 2, true.shape, generator=gen).to(true) * 2 - 1
    torch.testing.assert_close(start, true * (1 + 0.2 * signs))
    torch.testing.assert_close((start / true - 1).abs(), torch.full_like(true, 0.2))
    torch.testing.assert_close(FE.perturbed(true, 0.0, seed=5), true)
    with pytest.raises(ValueError, match="fraction"):
        FE.perturbed(true, float("nan"))


def _result(final, true, uncertainties=None) -> F.FitResult:
    names = [f"p{i}" for i in range(len(final))]
    return F.FitResult(
        parameter_names=names,
        initial=list(true),
        final=list(final),
        history=[{"epoch": 1, "loss": 0.0, "grad_max": 0.0}],
        converged=True,
        reason="test",
        settings={},
        true=list(true),
        uncertainties=uncertainties,
    )


def test_closure_rows_and_deviation():
    res = _result([1.01, -2.0, 0.5], [1.0, -2.1, 0.5], [0.02, 0.05, 0.1])
    assert FE.max_relative_deviation(res) == pytest.approx(0.1 / 2.1)
    rows = FE.closure_rows(res, [1.2, -1.8, 0.6])
    assert [r["parameter"] for r in rows] == ["p0", "p1", "p2"]
    assert rows[0]["start"] == 1.2 and rows[1]["fit"] == -2.0 and rows[2]["true"] == 0.5
    assert rows[0]["pull"] == pytest.approx(0.5) and rows[1]["pull"] == pytest.approx(2.0)
    assert rows[0]["(fit − true)/true"] == pytest.approx(0.01)
    assert FE.closure_rows(_result([1.0], [1.0]), [1.2])[0]["pull"] is None
    no_truth = _result([1.0], [1.0])
    no_truth.true = None
    for fn in (FE.max_relative_deviation, lambda r: FE.closure_rows(r, [1.0])):
        with pytest.raises(ValueError, match="true"):
            fn(no_truth)


def test_correlation_matrix():
    cov = torch.tensor([[4.0, 1.0, -2.0], [1.0, 1.0, 0.0], [-2.0, 0.0, 9.0]], dtype=torch.float64)
    rho = FE.correlation_matrix(cov)
    torch.testing.assert_close(rho.diagonal(), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(rho, rho.T)
    assert rho[0, 1] == pytest.approx(0.5) and rho[0, 2] == pytest.approx(-1 / 3)
    assert FE.correlation_matrix(cov.tolist()).shape == (3, 3)
    with pytest.raises(ValueError, match="square"):
        FE.correlation_matrix(torch.ones(2, 3))
    with pytest.raises(ValueError, match="variance 1"):
        FE.correlation_matrix(torch.diag(torch.tensor([1.0, 0.0])))


def test_loss_shares_sum_to_one_and_follow_the_definitions(problem):
    xs, targets, start = problem
    xs.fnp.set_vector(start)
    with torch.no_grad():
        sigma = xs()
    bins = FE.kinematic_bins(xs.kin)
    rows = FE.loss_shares(sigma, targets, bins)
    assert [r["bin"] for r in rows] == [b.title() for b in bins]
    assert sum(r["chi2_share"] for r in rows) == pytest.approx(1.0)
    assert sum(r["mse_share"] for r in rows) == pytest.approx(1.0)
    b0 = list(bins[0].indices)
    chi2 = float(F.loss_value(sigma, targets, "chi2"))
    part = ((sigma[b0] - targets.values[b0]) / targets.uncertainties[b0]) ** 2
    assert rows[0]["chi2_share"] == pytest.approx(float(part.sum()) / chi2)
    assert rows[0]["sigma_max"] == pytest.approx(float(sigma[b0].abs().max()))
    # relative δ: the χ² share does not follow the size of σ, the MSE share does
    big = max(rows, key=lambda r: r["sigma_max"])
    assert big["mse_share"] == max(r["mse_share"] for r in rows)


# --- the explorer --------------------------------------------------------------------------


class FakeHandle:
    def __init__(self, log, obj):
        self.log = log
        self.shown = obj
        self.updates: list = []

    def update(self, obj, **kw):
        assert kw.get("raw") is True
        self.updates.append(obj)
        self.shown = obj


@pytest.fixture
def fake_display(monkeypatch):
    """Replace IPython's display: record what is shown, hand out fake display handles."""
    shown: list = []

    def display(obj, **kw):
        handle = FakeHandle(shown, obj) if kw.get("display_id") else None
        shown.append((obj, kw, handle))
        return handle

    monkeypatch.setattr(FE, "_display", display)
    return shown


def test_explorer_starts_at_start_and_leaves_the_notebooks_xsec_alone(problem):
    xs, targets, start = problem
    true = xs.fnp.get_vector()
    ex = FE.FitExplorer(xs, targets, start=start)
    torch.testing.assert_close(ex.fnp.get_vector(), start)
    torch.testing.assert_close(xs.fnp.get_vector(), true)  # the explorer works on a copy
    assert ex.fnp is not xs.fnp
    assert ex.xs._lumi_source is xs._lumi_source, "the read-only table is shared"
    assert list(ex.sliders) == list(FREE) == ex.names
    for name, slider in ex.sliders.items():
        assert slider.value == pytest.approx(ex.values[name], rel=0, abs=0)
        assert slider.min < slider.value < slider.max
        assert not slider.continuous_update, "sliders act on release"
    assert ex.chi2() == pytest.approx(float(F.loss_value(ex.sigma(), targets)))
    assert ex.chi2() > 10.0, "20 % off: far from the pseudo-data"
    m = marker(ex)
    assert m["draws"] == "0" and m["steps"] == "0"
    assert float(m["chi2"]) == pytest.approx(ex.chi2(), rel=1e-15)
    ex.set_values({"ff.N3": 0.3})
    ex.run_steps(2)
    torch.testing.assert_close(xs.fnp.get_vector(), true)


def test_slider_moves_parameter_and_redraws_once(problem, fake_display):
    xs, targets, start = problem
    ex = FE.FitExplorer(xs, targets, start=start)
    ex.show()
    assert [kw.get("display_id") for _, kw, _ in fake_display] == [True, None, True]
    sigma_bundle = fake_display[0][0]
    assert sigma_bundle["image/png"].startswith(PNG)
    assert fake_display[1][0] is ex.widget
    sigma_handle, chi2_handle = fake_display[0][2], fake_display[2][2]
    before = marker(ex)
    assert before["draws"] == "1"
    sigma0 = ex.sigma().clone()

    ex.sliders["ff.N3"].value = 0.3  # what the browser does on release
    assert ex.values["ff.N3"] == 0.3
    assert ex.n_draws == 2 and len(sigma_handle.updates) == 1
    assert sigma_handle.updates[0]["image/png"] != sigma_bundle["image/png"]
    assert not torch.equal(ex.sigma(), sigma0)
    after = marker(ex)
    assert after["draws"] == "2" and after["sigma"] != before["sigma"]
    assert after["chi2"] != before["chi2"]
    assert chi2_handle.updates == [], "a slider does not touch the χ² curve"

    ex.sliders["ff.N3"].value = 0.3  # unchanged: no redraw
    assert ex.n_draws == 2
    ex.redraw()
    assert ex.n_draws == 2
    ex.redraw(force=True)
    assert ex.n_draws == 3


def test_run_steps_lower_chi2_and_move_the_sliders(problem, fake_display):
    xs, targets, start = problem
    ex = FE.FitExplorer(xs, targets, start=start, steps=3)
    ex.show()
    chi2_handle = fake_display[2][2]
    chi2_start = ex.chi2()
    draws = ex.n_draws
    out = ex.run_steps()  # the "steps" control: 3
    assert len(out) == 3 and ex.n_steps == 3
    chi2s = [chi2_start, *out]
    assert all(b <= a for a, b in itertools.pairwise(chi2s)), "LBFGS steps never raise χ²"
    assert out[-1] < 0.1 * chi2_start
    assert [h["step"] for h in ex.history] == [0.0, 1.0, 2.0, 3.0]
    assert ex.history[0]["chi2"] == pytest.approx(chi2_start)
    assert len(chi2_handle.updates) == 3, "χ² curve redrawn after every step"
    assert ex.n_draws == draws + 1, "σ redrawn once, not once per slider"
    for name, value in ex.values.items():
        assert ex.sliders[name].value == value
    assert marker(ex)["steps"] == "3"
    # more steps continue the same history; the closure comes back to the truth
    ex._chi2_handle = None  # (not displayed: no χ² figure per step, faster)
    ex.run_steps(27)
    torch.testing.assert_close(ex.fnp.get_vector(), targets.true_vector, rtol=1e-4, atol=0.0)
    assert ex.history[-1]["step"] == 30.0


def test_run_button_reset_and_adam(problem, fake_display):
    xs, targets, start = problem
    ex = FE.FitExplorer(xs, targets, start=start, steps=2)
    ex.show()
    ex.run_button.click()
    assert ex.n_steps == 2 and not ex.run_button.disabled
    assert ex.run_button.description == "Run steps"
    ex.reset()
    torch.testing.assert_close(ex.fnp.get_vector(), start)
    assert ex.history == [] and ex.n_steps == 0
    assert all(ex.sliders[n].value == v for n, v in ex.values.items())
    ex.reset_button.click()
    assert ex.n_steps == 0

    ex.optimizer.value = "adam"
    assert ex.lr.value == FE.DEFAULT_LR["adam"]
    chi2_start = ex.chi2()
    out = ex.run_steps(3)
    assert out[0] < chi2_start and min(out) < chi2_start
    with pytest.raises(ValueError, match="n must be"):
        ex.run_steps(0)


def test_values_beyond_the_slider_range_widen_it(problem):
    xs, targets, start = problem
    ex = FE.FitExplorer(xs, targets, start=start, span=0.1)
    s = ex.sliders["pdf.N1"]
    far = s.max * 3
    ex.set_values({"pdf.N1": far})
    assert s.value == far and s.max > far and ex.values["pdf.N1"] == far
    ex.set_values({"pdf.N1": -1.0})
    assert s.value == -1.0 and s.min < -1.0
    with pytest.raises(ValueError, match="no free parameters"):
        ex.set_values({"pdf.lambda": 1.0})


def test_failures_are_shown_and_logged(problem, fake_display, monkeypatch, caplog):
    xs, targets, start = problem
    ex = FE.FitExplorer(xs, targets, start=start)
    ex.show()

    def boom(n=None):
        raise RuntimeError("optimiser exploded")

    monkeypatch.setattr(ex, "run_steps", boom)
    with caplog.at_level(logging.ERROR, logger="sidislab.workbench.fit_explorer"):
        ex.run_button.click()
    assert isinstance(ex.last_error, RuntimeError)
    assert "run failed: RuntimeError: optimiser exploded" in ex.status.value
    assert FE.STATE_CLASS in ex.status.value, "the marker stays"
    assert not ex.run_button.disabled
    assert any("run failed" in r.getMessage() for r in caplog.records)


def test_a_non_finite_step_is_undone(problem, monkeypatch):
    xs, targets, start = problem
    ex = FE.FitExplorer(xs, targets, start=start)
    before = ex.fnp.get_vector()
    monkeypatch.setattr(ex, "chi2", lambda: math.nan)
    with pytest.raises(ValueError, match="became nan; step undone"):
        ex.run_steps(1)
    torch.testing.assert_close(ex.fnp.get_vector(), before)
    assert ex.n_steps == 0


def test_bad_arguments(problem):
    xs, targets, _ = problem
    with pytest.raises(ValueError, match="optimizer"):
        FE.FitExplorer(xs, targets, optimizer="newton")
    with pytest.raises(ValueError, match="span"):
        FE.FitExplorer(xs, targets, span=0.0)
    short = F.Targets(targets.values[:3], targets.uncertainties[:3])
    with pytest.raises(ValueError, match="3 points"):
        FE.FitExplorer(xs, short)


def test_figures(problem):
    xs, targets, start = problem
    ex = FE.FitExplorer(xs, targets, start=start, max_panels=4, ncols=2)
    assert len(ex.panels) == 4 and ex.panels[0] is ex.bins[0] and ex.panels[-1] is ex.bins[-1]
    fig = ex.draw_sigma()
    visible = [a for a in fig.axes if a.get_visible()]
    assert len(visible) == 4
    assert "χ² =" in fig.get_suptitle() and f"4 of {len(ex.bins)} bins" in fig.get_suptitle()
    assert FE.figure_bundle(fig)["image/png"].startswith(PNG)
    assert "no optimiser steps yet" in ex.draw_chi2().axes[0].texts[0].get_text()
    ex.run_steps(1)
    assert ex.draw_chi2().axes[0].get_yscale() == "log"
