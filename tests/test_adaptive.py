"""Adaptive b-grids (sidislab.numerics.adaptive) against exact pairs, weights, gradients,
and the CrossSection option.

Exact pairs (physics.md §9.5): ∫ b J0(qT b) e^{−a b²} db = e^{−qT²/(4a)}/(2a),
∫ b J0(qT b) e^{−c b} db = c/(c² + qT²)^{3/2}.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest
import torch

from sidislab.numerics.adaptive import AdaptiveHankel, AdaptiveOptions, uniform_weights_batched
from sidislab.numerics.bgrid import _uniform_weights
from sidislab.numerics.error_estimates import AccuracyWarning
from sidislab.workbench.convergence import exponential_pair, gaussian_pair

DATA = Path(__file__).resolve().parents[1] / "data"
QT = torch.tensor([0.0, 0.05, 0.3, 1.0, 3.0, 8.0, 15.0, 25.0], dtype=torch.float64)


def test_batched_weights_match_the_fixed_grid_rules():
    n = torch.tensor([2, 3, 4, 5, 6, 7, 9, 12, 65])
    for rule in ("trapezoid", "simpson"):
        w = uniform_weights_batched(n, 65, rule)
        assert w.dtype == torch.float64
        for i, k in enumerate(n.tolist()):
            torch.testing.assert_close(w[i, :k], _uniform_weights(k, rule, torch.float64))
            assert bool((w[i, k:] == 0).all())


@pytest.mark.parametrize("rule", ["trapezoid", "simpson"])
@pytest.mark.parametrize(
    "pair",
    [gaussian_pair(a) for a in (0.05, 0.28, 2.0)]
    + [exponential_pair(math.sqrt(a)) for a in (0.05, 0.28, 2.0)],
    ids=lambda p: p.name,
)
def test_reaches_the_target_on_exact_pairs(rule, pair):
    """|I − exact| ≤ tol · max(|exact|, 1e-3 · I(0)) for qT from 0 to 25 GeV — where the
    default fixed grid stops at qT ≈ 10 GeV — with no flag and no warning. (Simpson: up
    to 15 GeV; e^{−0.22 b} at 25 GeV needs more than the 8193-node cap, and says so.)"""
    tol = 1e-6
    qT = QT if rule == "trapezoid" else QT[QT <= 15.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", AccuracyWarning)
        ah = AdaptiveHankel(qT, pair.F, rule=rule, options=AdaptiveOptions(tol=tol))
        res = ah(pair.F(ah.nodes))
    exact = pair.transform(qT)
    err = (res.value - exact).abs() / torch.clamp(exact.abs(), min=1e-3 * pair.sigma0)
    assert float(err.max()) <= tol
    assert not bool(res.flagged.any())
    assert bool(ah.converged.all())


def test_nodes_follow_the_integrands_scales():
    """More nodes for larger qT (J0 oscillates faster); b_hi follows the width of F; the
    grids are nested in the sense of the estimate (n ≡ 1 mod 4); padded nodes weigh 0."""
    g = gaussian_pair(0.28)
    ah = AdaptiveHankel(QT, g.F)
    n = ah.n_nodes
    assert int(n[-1]) > 2 * int(n[0])
    assert bool(((n - 1) % 4 == 0).all())
    for i, k in enumerate(n.tolist()):
        assert bool((ah.kernel[i, k:] == 0).all())
        assert bool((torch.diff(ah.nodes[i, :k]) > 0).all())
    wide = AdaptiveHankel(QT[:1], gaussian_pair(0.05).F)
    narrow = AdaptiveHankel(QT[:1], gaussian_pair(2.0).F)
    assert float(wide.b_hi[0]) > 4 * float(narrow.b_hi[0])
    # b_scale (b0/Q) lowers the first node below it
    low = AdaptiveHankel(QT[:2], g.F, b_scale=torch.tensor([1e-3, 1.0]))
    assert float(low.nodes[0, 0]) == pytest.approx(1e-4, rel=1e-6)
    assert float(low.nodes[1, 0]) == pytest.approx(1e-3, rel=1e-12)


def test_differentiable_in_the_parameters_of_F():
    """Nodes fixed at construction; the value is a weighted sum, so gradcheck holds and the
    gradient is the exact d/da [e^{−q²/(4a)}/(2a)]."""
    qT = torch.tensor([0.2, 1.0, 6.0], dtype=torch.float64)
    a0 = 0.3
    ah = AdaptiveHankel(qT, lambda b: torch.exp(-a0 * b * b), options=AdaptiveOptions(tol=1e-8))

    def fn(a):
        return ah(torch.exp(-a * ah.nodes**2), with_error=False).value

    a = torch.tensor(a0, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (a,))
    (g,) = torch.autograd.grad(fn(a).sum(), a)
    exact = (
        torch.exp(-(qT**2) / (4 * a0)) * (qT**2 / (4 * a0**2) / (2 * a0) - 1 / (2 * a0**2))
    ).sum()
    torch.testing.assert_close(g, exact, rtol=1e-6, atol=0)


def test_capped_grid_warns_and_flags():
    """A target out of reach within max_nodes: warning at construction, flagged result."""
    p = exponential_pair(math.sqrt(0.05))
    with pytest.warns(
        AccuracyWarning, match=r"did not reach the target 1e-08 within 33 nodes and 10 passes"
    ):
        ah = AdaptiveHankel(QT, p.F, options=AdaptiveOptions(tol=1e-8, max_nodes=33))
    with pytest.warns(AccuracyWarning):
        res = ah(p.F(ah.nodes))
    assert bool(res.flagged[~ah.converged].all())


def test_bad_options_and_inputs():
    with pytest.raises(ValueError, match="tol must be a finite number > 0"):
        AdaptiveOptions(tol=0.0)
    with pytest.raises(ValueError, match="nodes_per_period must be >= 4"):
        AdaptiveOptions(nodes_per_period=2)
    with pytest.raises(ValueError, match="unknown rule 'gauss'"):
        AdaptiveHankel(QT, gaussian_pair(1.0).F, rule="gauss")
    with pytest.raises(ValueError, match="integrand is not finite at point 0"):
        AdaptiveHankel(QT[:1], lambda b: b / 0.0 * 0.0)


# --- the cross section option --------------------------------------------------------------


def test_cross_section_adaptive_against_exact_sigma(tmp_path):
    """Analytic luminosity × Gaussian fNP (σ known in closed form, tests/test_xsec.py):
    adaptive trapezoid and Simpson within 1e-4 of it (the cached L's spline limits every
    rule to ~1e-5) on every TMD-region point of sidis_mix.yaml — HERMES, COMPASS and EIC,
    qT up to 15 GeV, where the fixed default grid is made for qT ≤ 3 GeV; nodes per point
    [N, n]; gradients flow to the fNP parameters."""
    from test_xsec import exact_sigma, gaussian_fnp

    from sidislab.kinematics import load_kinematics
    from sidislab.lumi import AnalyticProvider, LuminosityCache
    from sidislab.observables.xsec import CrossSection

    kin = load_kinematics(DATA / "kinematics" / "sidis_mix.yaml").tmd_region()
    provider = AnalyticProvider.gaussian(c={2: 1.0, 1: 0.5, -2: 0.2}, a={2: 0.3, 1: 0.4, -2: 0.5})
    table = LuminosityCache(tmp_path).get_or_build(provider, kin, progress=False)
    model = gaussian_fnp()
    exact = exact_sigma(provider, kin, model)
    scale = exact_sigma(provider, kin, model, at_zero=True).abs()
    big = exact.abs() > 1e-3 * scale
    for rule in ("trapezoid", "simpson"):
        xs = CrossSection(kin, table, model, integrator=rule, adaptive=True)
        assert xs.nodes.shape[0] == len(kin) and xs.L.shape[-1] == xs.nodes.shape[1]
        res = xs.with_error()
        rel = (res.value / exact - 1).abs()
        assert float(rel[big].max()) <= 1e-4, rule
        tail = ((res.value - exact).abs() / scale)[~big]
        assert tail.numel() == 0 or float(tail.max()) < 1e-6
        model.zero_grad()
        xs().sum().backward()
        assert torch.isfinite(model.free_values.grad).all()
        assert int((model.free_values.grad != 0).sum()) >= 5
    with pytest.raises(ValueError, match="adaptive b-grids apply to the trapezoid and simpson"):
        CrossSection(kin, table, model, integrator="ogata", adaptive=True)


def test_config_key_reaches_the_cross_section(tmp_path, monkeypatch):
    """``integrator: {method: trapezoid, adaptive: true}`` → per-point grids; with ogata,
    or not a boolean, the key is rejected naming it; a bgrid beside it is reported inert."""
    from sidislab.config import from_dict, method_inert_keys
    from sidislab.errors import ConfigError
    from sidislab.fnp import load_fnp
    from sidislab.kinematics import load_kinematics
    from sidislab.lumi import AnalyticProvider
    from sidislab.pipeline import build_cross_section

    monkeypatch.setenv("SIDISLAB_CACHE_DIR", str(tmp_path))
    cfg = from_dict({"integrator": {"method": "simpson", "adaptive": True}})
    kin = load_kinematics(DATA / "kinematics" / "hermes_7pt.yaml")
    xs = build_cross_section(
        cfg,
        kin,
        load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml"),
        use_cut=False,
        provider=AnalyticProvider.toy(),
        progress=False,
    )
    assert isinstance(xs.transform, AdaptiveHankel) and xs.transform.rule == "simpson"
    assert xs.nodes.shape == (len(kin), int(xs.transform.n_nodes.max()))
    with pytest.raises(ConfigError, match=r"integrator.adaptive.*not ogata"):
        from_dict({"integrator": {"method": "ogata", "adaptive": True}})
    with pytest.raises(ConfigError, match=r"integrator.adaptive.*expected true or false"):
        from_dict({"integrator": {"method": "trapezoid", "adaptive": "yes"}})
    both = from_dict({"integrator": {"method": "trapezoid", "adaptive": True}, "bgrid": "default"})
    assert [k for k, _ in method_inert_keys(both)] == ["bgrid"]
