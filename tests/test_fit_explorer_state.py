"""sidislab.workbench.fit_explorer.state: the explorer's state, without any widget or figure.

Invariants: the state works on a copy (the caller's parameters never move, the read-only
luminosity table is shared); σ is the cross section's at the current parameters and is
recomputed exactly when they change; χ² is Σ((σ − t)/δ)²; LBFGS steps never raise χ² and
leave a history that continues from call to call; a non-finite step is undone; −N and N
(the same model) end as |N|; reset returns to the start.

The luminosity is the analytic toy (fast).
"""

from __future__ import annotations

import ast
import itertools
import math
from pathlib import Path

import pytest
import torch

from sidislab import fit as F
from sidislab.fnp import load_fnp
from sidislab.kinematics import load_kinematics
from sidislab.lumi import AnalyticProvider, LuminosityCache
from sidislab.observables.xsec import CrossSection
from sidislab.workbench.fit_explorer import closure, state

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
FREE = ("g2", "pdf.N1", "ff.N3")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    mix = load_kinematics(DATA / "kinematics" / "sidis_mix.yaml")
    kin = closure.select_bins(mix.tmd_region(), 24)
    table = LuminosityCache(tmp_path_factory.mktemp("lumi")).get_or_build(
        AnalyticProvider.gaussian(1.0, 0.5), kin, progress=False
    )
    return kin, table


@pytest.fixture
def problem(setup):
    """(cross section at the truth, exact pseudo-data, start 20 % off)."""
    kin, table = setup
    fnp = load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml")
    fnp.freeze("*")
    fnp.unfreeze(*FREE)
    xs = CrossSection(kin, table, fnp)
    targets = F.pseudo_data(xs)
    return xs, targets, closure.perturbed(xs.fnp.get_vector(), 0.2, 0)


def sigma_at(xs: CrossSection, vector: torch.Tensor) -> torch.Tensor:
    """σ of the caller's cross section at ``vector`` (its parameters restored after)."""
    saved = xs.fnp.get_vector()
    xs.fnp.set_vector(vector)
    try:
        with torch.no_grad():
            return xs().detach()
    finally:
        xs.fnp.set_vector(saved)


def test_the_module_knows_no_widgets_or_figures():
    tree = ast.parse((ROOT / "sidislab/workbench/fit_explorer/state.py").read_text("utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    for forbidden in ("ipywidgets", "matplotlib", "IPython"):
        assert not any(m and m.split(".")[0] == forbidden for m in imported), forbidden


def test_copy_start_sigma_and_chi2(problem):
    xs, targets, start = problem
    true = xs.fnp.get_vector()
    st = state.FitState(xs, targets, start=start)
    assert st.names == list(FREE) and list(st.values) == list(FREE)
    torch.testing.assert_close(st.vector(), start)
    torch.testing.assert_close(xs.fnp.get_vector(), true)  # a copy: the caller's stay
    assert st.fnp is not xs.fnp and st.xs._lumi_source is xs._lumi_source
    torch.testing.assert_close(st.start_sigma, sigma_at(xs, start), rtol=1e-14, atol=0.0)
    by_hand = float((((st.sigma() - targets.values) / targets.uncertainties) ** 2).sum())
    assert st.chi2() == pytest.approx(by_hand, rel=1e-14)
    assert st.chi2() > 10.0, "20 % off: far from the pseudo-data"
    same = state.FitState(xs, targets, start=start, copy=False)
    assert same.xs is xs
    xs.fnp.set_vector(true)


def test_sigma_is_cached_until_the_parameters_change(problem):
    xs, targets, start = problem
    st = state.FitState(xs, targets, start=start)
    first = st.sigma()
    assert st.sigma() is first, "unchanged parameters: the remembered σ"
    st.set_values({"ff.N3": 0.3})
    assert st.values["ff.N3"] == 0.3
    assert st.values["g2"] == pytest.approx(float(start[0]), rel=0, abs=0), "others stay"
    moved = st.sigma()
    assert moved is not first and not torch.equal(moved, first)
    torch.testing.assert_close(moved, sigma_at(xs, st.vector()), rtol=1e-14, atol=0.0)
    with pytest.raises(ValueError, match=r"no free parameters \['pdf.lambda'\]"):
        st.set_values({"pdf.lambda": 1.0})


def test_lbfgs_steps_lower_chi2_and_continue_the_history(problem):
    xs, targets, start = problem
    st = state.FitState(xs, targets, start=start)
    chi2_start = st.chi2()
    seen: list[float] = []
    out = st.run_steps(3, after_step=seen.append)
    assert seen == out and len(out) == 3 and st.n_steps == 3
    assert out[-1] == st.chi2()
    assert all(b <= a for a, b in itertools.pairwise([chi2_start, *out])), "LBFGS never raises χ²"
    assert out[-1] < 0.1 * chi2_start
    assert st.history == [
        {"step": float(k), "chi2": c} for k, c in enumerate([pytest.approx(chi2_start), *out])
    ]
    more = st.run_steps(2)
    assert [h["step"] for h in st.history] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "no repeated entry"
    assert more[-1] <= out[-1]
    with pytest.raises(ValueError, match="n must be >= 1"):
        st.run_steps(0)
    with pytest.raises(ValueError, match="unknown optimizer 'newton'"):
        st.run_steps(1, "newton")


def test_adam_steps_and_reset(problem):
    xs, targets, start = problem
    st = state.FitState(xs, targets, start=start)
    chi2_start = st.chi2()
    out = st.run_steps(3, "adam", lr=state.DEFAULT_LR["adam"])
    assert min(out) < chi2_start
    assert not torch.equal(st.vector(), start)
    st.reset()
    torch.testing.assert_close(st.vector(), start, rtol=0.0, atol=0.0)
    assert st.history == [] and st.n_steps == 0
    assert st.chi2() == pytest.approx(chi2_start, rel=1e-14)


def test_a_non_finite_step_is_undone(problem):
    xs, targets, start = problem
    st = state.FitState(xs, targets, start=start)
    chi2_start = st.chi2()
    calls: list[float] = []
    with pytest.raises(ValueError, match="step 1: χ² became nan; step undone"):
        st.run_steps(2, evaluate=lambda: math.nan, after_step=calls.append)
    torch.testing.assert_close(st.vector(), start, rtol=0.0, atol=0.0)
    assert st.n_steps == 0 and calls == []
    assert st.run_steps(1)[0] < chi2_start, "a new optimiser carries on"


def test_a_negative_sign_free_parameter_ends_positive(problem):
    xs, targets, start = problem
    st = state.FitState(xs, targets, start=start)
    g2 = st.values["g2"]
    chi2 = st.chi2()
    st.set_values({"g2": -g2})
    assert st.chi2() == pytest.approx(chi2, rel=1e-12), "g2 enters as g2²: the same model"
    st.run_steps(1)
    assert st.values["g2"] > 0


def test_bad_arguments(setup, problem):
    xs, targets, _ = problem
    kin, table = setup
    short = F.Targets(targets.values[:3], targets.uncertainties[:3])
    with pytest.raises(ValueError, match="targets have 3 points"):
        state.FitState(xs, short)
    frozen = CrossSection(kin, table, load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml"))
    frozen.fnp.freeze("*")
    with pytest.raises(ValueError, match="no free parameters"):
        state.FitState(frozen, targets)
    assert state.check_optimizer("adam") == "adam"
    with pytest.raises(ValueError, match="allowed: lbfgs, adam"):
        state.check_optimizer("sgd")
