"""The integrators' error estimates bound the true error, or the result is flagged.

Property (issue 13, item 2): for every method (trapezoid, Simpson, the old trapz-in-b,
Ogata, the adaptive grids), every grid (tiny ones included) and every qT, on the exact
pairs of physics.md §9.5

    ∫ b J0(qT b) e^{−a b²} db = e^{−qT²/(4a)}/(2a),   ∫ b J0(qT b) e^{−c b} db = c/(c² + qT²)^{3/2},

and on the real integrand (MAP22 fNP × the native luminosity, data/kinematics/sidis_mix.yaml),
``error ≥ |value − exact|`` or ``flagged``. The estimate must also be useful: where a
method is known to be accurate it is small and unflagged.
"""

from __future__ import annotations

import math
import pickle
import warnings
from pathlib import Path

import pytest
import torch

from sidislab.numerics.adaptive import AdaptiveHankel, AdaptiveOptions
from sidislab.numerics.bgrid import BGrid, named_grid
from sidislab.numerics.error_estimates import AccuracyWarning, tail_bound
from sidislab.numerics.integrate import GridHankel, OgataHankel, Transform
from sidislab.workbench.convergence import exponential_pair, gaussian_pair

DATA = Path(__file__).resolve().parents[1] / "data"
EPS = torch.finfo(torch.float64).eps
QT = torch.tensor([0.0, 0.01, 0.1, 0.5, 1.0, 3.0, 10.0, 20.0], dtype=torch.float64)
PAIRS = [gaussian_pair(a) for a in (0.05, 0.28, 2.0)]
PAIRS += [exponential_pair(math.sqrt(a)) for a in (0.05, 0.28, 2.0)]

GRIDS = {
    "default": named_grid("default"),
    "old-default": named_grid("old-default"),
    "wide-log": named_grid("wide-log"),
    "2 nodes": BGrid(1e-3, 20.0, 2, "log"),
    "3 nodes": BGrid(1e-3, 20.0, 3, "loglinear", 3.0),
    "5 nodes": BGrid(1e-3, 20.0, 5, "loglinear", 3.0),
    "9 nodes": BGrid(1e-3, 72.0, 9, "loglinear", 3.0),
    "33 loglinear": BGrid(1e-3, 72.0, 33, "loglinear", 3.0),
    "64 log": BGrid(1e-3, 30.0, 64, "log"),
    "97 linear from 0": BGrid(0.0, 40.0, 97, "linear"),
    "short 385": BGrid(1e-3, 4.0, 385, "loglinear", 1.0),
}


def _check(res: Transform, exact: torch.Tensor, terms: torch.Tensor) -> None:
    """error ≥ true error (up to the float64 rounding of the sum) or flagged."""
    true = (res.value - exact).abs()
    rounding = 64 * EPS * terms
    ok = (res.error + rounding >= true) | res.flagged
    assert bool(ok.all()), (
        f"estimate below the true error, unflagged, at qT = {QT[~ok].tolist()}: "
        f"estimate {res.error[~ok].tolist()}, true {true[~ok].tolist()}"
    )


@pytest.mark.parametrize("rule", ["trapezoid", "simpson", "trapezoid-b"])
@pytest.mark.parametrize("grid", list(GRIDS), ids=str)
def test_grid_estimate_bounds_error_or_flags(rule, grid):
    g = GRIDS[grid]
    gh = GridHankel(QT, g, rule)
    for p in PAIRS:
        F = p.F(gh.b).expand(len(QT), -1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AccuracyWarning)
            res = gh(F)
        _check(res, p.transform(QT), (gh.kernel * F).abs().sum(-1))


@pytest.mark.parametrize("tol", [1e-3, 1e-8])
@pytest.mark.parametrize("b_max", [3.0, 40.0])
def test_ogata_estimate_bounds_error_or_flags(tol, b_max):
    """Ogata's h vs h/2, plus the tail beyond its last node (b_max = 3 cuts the slow pairs)."""
    for p in PAIRS:
        o = OgataHankel(QT, tol=tol, b_scale=min(0.1, p.b_scale), b_max=b_max * p.b_scale)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AccuracyWarning)
            res = o(p.F)
        _check(res, p.transform(QT), (o.weights * p.F(o.nodes)).abs().sum(-1))


@pytest.mark.parametrize("rule", ["trapezoid", "simpson"])
@pytest.mark.parametrize("max_nodes", [9, 65, 8193])
def test_adaptive_estimate_bounds_error_or_flags(rule, max_nodes):
    """Adaptive grids, including ones capped far below what the target needs."""
    for p in PAIRS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AccuracyWarning)
            ah = AdaptiveHankel(
                QT,
                lambda b, p=p: p.F(b),
                rule=rule,
                options=AdaptiveOptions(tol=1e-6, max_nodes=max_nodes),
            )
            F = p.F(ah.nodes)
            res = ah(F)
        _check(res, p.transform(QT), (ah.kernel * F).abs().sum(-1))
        if max_nodes == 8193:
            assert not bool(res.flagged.any()), p.name


def test_two_node_grid_reports_an_error_and_a_warning():
    """Before: a 2-node grid compared itself with itself and reported 0."""
    p = gaussian_pair(0.28)
    gh = GridHankel(QT, BGrid(1e-3, 20.0, 2, "log"), "trapezoid")
    with pytest.warns(AccuracyWarning, match=r"8 of 8 points"):
        res = gh(p.F(gh.b).expand(len(QT), -1))
    assert bool((res.error > 0).all()) and bool(res.flagged.all())


def test_estimate_is_useful_where_the_method_is_accurate():
    """Default grid, qT ≤ 3 GeV, decayed integrands: unflagged, small, no warning; Ogata
    at tol 1e-10: below 1e-6 relative."""
    qT = QT[QT <= 3.0]
    gh = GridHankel(qT, named_grid("default"), "trapezoid")
    for p in PAIRS:
        exact = p.transform(qT)
        with warnings.catch_warnings():
            warnings.simplefilter("error", AccuracyWarning)
            res = gh(p.F(gh.b).expand(len(qT), -1))
        assert not bool(res.flagged.any())
        big = exact > 1e-3 * p.sigma0
        assert float((res.error / exact)[big].max()) < 1e-2
        o = OgataHankel(qT, tol=1e-10, b_scale=min(0.1, p.b_scale), b_max=40 * p.b_scale)
        r = o(p.F)
        assert float((r.error / exact)[big].max()) < 1e-6


def test_default_grid_at_eic_qT_is_flagged():
    """qT = 14 GeV: the default grid's linear spacing (0.5 GeV⁻¹) has fewer than 4 nodes
    per period 2π/qT — the 13 % error of notebook 01 — so the result is flagged."""
    p = gaussian_pair(0.05)
    qT = torch.tensor([1.0, 14.0], dtype=torch.float64)
    gh = GridHankel(qT, named_grid("default"), "trapezoid")
    with pytest.warns(AccuracyWarning, match=r"point 1, qT = 14"):
        res = gh(p.F(gh.b).expand(2, -1))
    assert res.flagged.tolist() == [False, True]


def test_tail_bound_is_exact_for_an_exponential_at_qT_zero():
    """F = e^{−cb}: λ from two nodes is 1/c, and ∫_B^∞ b e^{−cb} db = e^{−cB}(B/c + 1/c²)."""
    c, B = 0.7, 9.0
    b = torch.tensor([B], dtype=torch.float64)
    bound, flag = tail_bound(
        b, b - 0.3, torch.exp(-c * b), torch.exp(-c * (b - 0.3)), torch.zeros(1)
    )
    exact = math.exp(-c * B) * (B / c + 1 / c**2)
    assert float(bound) == pytest.approx(exact, rel=1e-12)
    assert not bool(flag)
    # a rising or flat tail cannot be bounded from the nodes: flagged
    _, flag = tail_bound(b, b - 0.3, torch.ones(1), torch.ones(1), torch.zeros(1))
    assert bool(flag)


def test_transform_unpacks_as_a_pair_and_pickles():
    t = Transform(torch.ones(3), torch.zeros(3), torch.tensor([False, True, False]))
    value, error = t
    assert value.shape == error.shape == (3,)
    assert t.flagged.tolist() == [False, True, False]
    u = pickle.loads(pickle.dumps(t))
    assert torch.equal(u.value, t.value) and torch.equal(u.flagged, t.flagged)
    assert Transform(torch.ones(2), torch.zeros(2)).flagged.tolist() == [False, False]


# --- the real integrand -------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """MAP22 × native luminosity on one bin (6 qT values) per experiment, with a reference
    (Ogata with 10× finer steps) and its own uncertainty (against a 6145-node trapezoid)."""
    from sidislab.config import Config
    from sidislab.constants import B0
    from sidislab.fnp import load_fnp
    from sidislab.kinematics import load_kinematics
    from sidislab.lumi import LuminosityCache
    from sidislab.lumi.native import NativeProvider
    from sidislab.observables.xsec import CrossSection

    kin = load_kinematics(DATA / "kinematics" / "sidis_mix.yaml")
    first = {}
    for i, lab in enumerate(kin.labels):
        first.setdefault(lab, i)
    idx = torch.cat([torch.arange(i, i + 6) for i in first.values()])
    kin = kin.subset(idx)
    cfg = Config()
    table = LuminosityCache(tmp_path_factory.mktemp("cache")).get_or_build(
        NativeProvider.from_config(cfg), kin, progress=False
    )
    fnp = load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml")
    with torch.no_grad():
        bs = torch.clamp(B0 / (2 * kin.Q), max=0.1) / 10
        ref = CrossSection(kin, table, fnp, integrator="ogata", tol=1e-10, b_scale=bs)()
        fine = CrossSection(
            kin, table, fnp, integrator="trapezoid", grid=BGrid(1e-5, 72.0, 6145, "loglinear", 3.0)
        )()
    return kin, table, fnp, ref, (fine - ref).abs()


@pytest.mark.parametrize(
    "method",
    [
        {"integrator": "ogata", "tol": 1e-10},
        {"integrator": "ogata", "tol": 1e-4},
        {"integrator": "trapezoid"},
        {"integrator": "simpson"},
        {"integrator": "trapezoid", "grid": "wide-log"},
        {"integrator": "trapezoid", "grid": "old-default"},
        {"integrator": "trapezoid", "grid": BGrid(1e-3, 72.0, 9, "loglinear", 3.0)},
        {"integrator": "trapezoid", "adaptive": True},
        {"integrator": "simpson", "adaptive": True},
    ],
    ids=lambda m: "-".join(str(v) if not isinstance(v, BGrid) else f"{v.Nb}" for v in m.values()),
)
def test_real_integrand_estimate_bounds_error_or_flags(real, method):
    from sidislab.observables.xsec import CrossSection

    kin, table, fnp, ref, noise = real
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        with torch.no_grad():
            res = CrossSection(kin, table, fnp, **method).with_error()
    true = (res.value - ref).abs()
    ok = (res.error + noise >= true) | res.flagged
    assert bool(ok.all()), (
        f"points {torch.nonzero(~ok).flatten().tolist()}: estimate "
        f"{res.error[~ok].tolist()} < true {true[~ok].tolist()}"
    )
    if method.get("adaptive"):
        # and the adaptive grids meet the target against the reference
        assert not bool(res.flagged.any())
        assert float((true / ref.abs()).max()) <= 1e-4


def test_values_with_errors_keep_their_gradient():
    """with_error's value is the differentiable one (the estimate is detached)."""
    qT = torch.tensor([0.3, 2.0], dtype=torch.float64)
    a = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    o = OgataHankel(qT, b_max=60)
    gh = GridHankel(qT, named_grid("default"))
    ah = AdaptiveHankel(qT, lambda b: torch.exp(-0.4 * b * b))
    for res in (
        o(lambda b: torch.exp(-a * b * b)),
        gh(torch.exp(-a * gh.b**2).expand(2, -1)),
        ah(torch.exp(-a * ah.nodes**2)),
    ):
        assert res.value.requires_grad and not res.error.requires_grad
        (g,) = torch.autograd.grad(res.value.sum(), a)
        assert torch.isfinite(g) and float(g) != 0.0
