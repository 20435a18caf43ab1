"""The synthetic fit: closure, gradients, covariance, interruption, results, bad inputs.

Fast tests use the analytic luminosity; the closure on the native provider with the
embedded sets is in tests/test_fit_native.py.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import torch

from sidislab import fit as F
from sidislab.config import Config
from sidislab.errors import KinematicsError
from sidislab.fnp import load_fnp
from sidislab.kinematics import load_kinematics
from sidislab.lumi import AnalyticProvider, LuminosityCache
from sidislab.observables.xsec import CrossSection
from sidislab.pipeline import select_points

DATA = Path(__file__).resolve().parents[1] / "data"
FREE = ("g2", "pdf.N1", "pdf.alpha1", "pdf.sigma1", "ff.N3", "ff.beta1")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    kin = load_kinematics(DATA / "kinematics" / "sidis_mix.yaml").tmd_region()
    kin = kin.subset(kin.qT < 3.0)
    table = LuminosityCache(tmp_path_factory.mktemp("lumi")).get_or_build(
        AnalyticProvider.gaussian(1.0, 0.5), kin, progress=False
    )
    return kin, table


def make_xsec(setup, free=FREE):
    kin, table = setup
    fnp = load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml")
    fnp.freeze("*")
    fnp.unfreeze(*free)
    return CrossSection(kin, table, fnp)


def test_closure_lbfgs_recovers_true_parameters(setup, tmp_path):
    xs = make_xsec(setup)
    assert len(xs.kin) >= 50
    targets = F.pseudo_data(xs)
    true = xs.fnp.get_vector()
    xs.fnp.set_vector(true * 1.2)
    lines = []
    result = F.fit(
        xs,
        targets,
        F.FitSettings(optimizer="lbfgs", epochs=40),
        callback=lambda e, n, loss: lines.append(f"Epoch {e}/{n}  chi2 = {loss:.6g}"),
    )
    assert result.converged, result.reason
    assert result.status == "converged" and not result.failed
    final = torch.tensor(result.final, dtype=torch.float64)
    assert ((final - true) / true).abs().max() < 1e-3
    assert lines[0].startswith("Epoch 1/40  chi2 = ")
    assert "Param L2 diff: " in result.summary() and "fit − true" in result.summary()
    # covariance from the Hessian: positive, and δ = 5 % pseudo-data constrain these well
    assert result.uncertainties is not None
    assert all(u > 0 for u in result.uncertainties)
    cov = torch.tensor(result.covariance, dtype=torch.float64)
    torch.testing.assert_close(cov, cov.T)
    path = result.save(tmp_path / "fit.json", config={"free": list(FREE)})
    doc = json.loads(path.read_text())
    assert doc["parameter_names"] == list(FREE) and doc["converged"] is True
    assert doc["config"]["free"] == list(FREE) and len(doc["history"]) == len(result.history)


@pytest.mark.parametrize(
    ("optimizer", "lr", "epochs"),
    [("sgd", 1e3, 10), ("sgd", 1e8, 10), ("adam", 1e4, 10), ("sgd", 3e1, 4)],
)
def test_divergent_fit_is_never_reported_converged(setup, optimizer, lr, epochs):
    """SGD/Adam with a huge rate: the parameters run away (the model saturates, so the
    gradient vanishes at a χ² far above the start's); the status says so, not 'converged'."""
    xs = make_xsec(setup)
    targets = F.pseudo_data(xs)
    xs.fnp.set_vector(xs.fnp.get_vector() * 1.2)
    result = F.fit(xs, targets, F.FitSettings(optimizer=optimizer, lr=lr, epochs=epochs))
    assert not result.converged, result.reason
    assert result.status in ("diverged", "non_finite") and result.failed, result.status
    assert result.summary().splitlines()[1].startswith("FAILED: "), result.summary()
    assert result.covariance is None  # no Hessian at a meaningless point
    finite = [h["loss"] for h in result.history if h["loss"] == h["loss"]]
    assert not finite or finite[-1] > result.extra["start_loss"] or "ran away" in result.reason


def test_noise_is_reproducible_and_chi2_is_sensible(setup):
    xs = make_xsec(setup)
    a = F.pseudo_data(xs, noise=1.0, seed=3)
    b = F.pseudo_data(xs, noise=1.0, seed=3)
    c = F.pseudo_data(xs, noise=1.0, seed=4)
    torch.testing.assert_close(a.values, b.values)
    assert not torch.equal(a.values, c.values)
    # at the true parameters χ²/N ≈ 1 for unit-variance noise
    chi2 = F.loss_value(xs().detach(), a) / len(a.values)
    assert 0.6 < float(chi2) < 1.5


def test_gradients_autograd_vs_finite_differences(setup):
    xs = make_xsec(setup, free=("*",))
    targets = F.pseudo_data(xs)
    xs.fnp.set_vector(xs.fnp.get_vector() * 1.1)  # away from the minimum: gradients ≠ 0
    check = F.check_gradients(xs, targets)
    assert len(check.names) == 21
    assert check.max_relative_difference <= 1e-6, check.table()
    assert check.gradcheck is True


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_first_order_optimisers_reduce_the_loss(setup, optimizer):
    xs = make_xsec(setup, free=("pdf.N1", "ff.N3"))
    targets = F.pseudo_data(xs)
    xs.fnp.set_vector(xs.fnp.get_vector() * 1.2)
    lr = {"adam": 1e-2, "sgd": 2e-7}[optimizer]
    result = F.fit(xs, targets, F.FitSettings(optimizer=optimizer, lr=lr, epochs=15))
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.8 * losses[0]
    if optimizer == "sgd":  # small steps along −∇: monotone (Adam's momentum may overshoot)
        assert all(b <= a for a, b in itertools.pairwise(losses))
    assert not result.converged and "reached 15 epochs" in result.reason


def test_constant_targets_mse(setup):
    xs = make_xsec(setup, free=("pdf.N1",))
    target = float(xs().detach().mean())
    targets = F.constant_targets(len(xs.kin), target, dtype=torch.float64)
    result = F.fit(xs, targets, F.FitSettings(loss="mse", epochs=5))
    assert result.history[-1]["loss"] <= result.history[0]["loss"]
    assert "fit − start" in result.summary()


def test_ctrl_c_keeps_results(setup):
    xs = make_xsec(setup)
    targets = F.pseudo_data(xs)
    xs.fnp.set_vector(xs.fnp.get_vector() * 1.2)

    def interrupt(epoch, epochs, loss):
        if epoch == 2:
            raise KeyboardInterrupt

    result = F.fit(xs, targets, F.FitSettings(epochs=30), callback=interrupt)
    assert result.interrupted and not result.converged
    assert len(result.history) == 2 and "interrupted" in result.reason


def test_bad_inputs(setup):
    xs = make_xsec(setup)
    n = len(xs.kin)
    values = torch.ones(n, dtype=torch.float64)
    values[3] = float("nan")
    with pytest.raises(ValueError, match=r"target point 3: value is nan \(not finite\)"):
        F.Targets(values, torch.ones(n, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"FNP.set_vector: expected 6 values"):
        F.pseudo_data(xs, true_vector=torch.ones(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="targets have 3 points, the cross section"):
        F.fit(xs, F.constant_targets(3, 1.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="unknown optimizer 'newton'"):
        F.FitSettings(optimizer="newton")
    xs.fnp.freeze("*")
    with pytest.raises(ValueError, match="no free parameters"):
        F.fit(xs, F.pseudo_data(xs))
    kin = load_kinematics(DATA / "kinematics" / "hermes_7pt.yaml", qToQcut=0.1)
    with pytest.raises(
        KinematicsError, match=r"all 7 points have qT > qToQcut·Q with qToQcut = 0.1"
    ):
        select_points(kin)
    with pytest.raises(KinematicsError, match="no kinematic points"):
        select_points(kin.subset(torch.zeros(7, dtype=torch.bool)))
    assert Config().qToQcut == 0.5


@pytest.mark.parametrize("loss", ["chi2", "mse"])
def test_chunked_loss_and_gradient_equal_the_whole_batch(setup, loss):
    xs = make_xsec(setup, free=("*",))
    targets = F.pseudo_data(xs)
    xs.fnp.set_vector(xs.fnp.get_vector() * 1.1)
    whole = F.loss_and_backward(xs, targets, loss, chunk_size=None)
    g_whole = xs.fnp.free_values.grad.clone()
    xs.fnp.free_values.grad = None
    chunked = F.loss_and_backward(xs, targets, loss, chunk_size=7)
    torch.testing.assert_close(chunked, whole, rtol=1e-12, atol=0)
    torch.testing.assert_close(xs.fnp.free_values.grad, g_whole, rtol=1e-10, atol=0)
    kin, table = setup
    grid_xs = CrossSection(kin, table, xs.fnp, integrator="simpson")
    with torch.no_grad():
        torch.testing.assert_close(xs(slice(3, 9)), xs()[3:9], rtol=1e-14, atol=0)
        torch.testing.assert_close(grid_xs(slice(3, 9)), grid_xs()[3:9], rtol=1e-14, atol=0)
