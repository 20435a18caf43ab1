"""The correlated χ² with nuisance parameters: equal to rᵀC⁻¹r, exact shifts,
gradients, per-data-set breakdown, t₀ prescription, and its use as a fit loss."""

from __future__ import annotations

import pytest
import torch

from sidislab.fit.chi2 import CorrelatedChi2, CorrelatedTargets, NuisanceSolver, nuisance_chi2
from sidislab.fit.loss import loss_and_backward, loss_value
from sidislab.measurements import DataSet, MeasuredBins, apply_cuts, load_datasets

D = torch.float64


def random_problem(n=40, k=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    sigma = 0.1 + torch.rand(n, generator=g, dtype=D)
    beta = 0.5 * torch.randn(n, k, generator=g, dtype=D)
    r = torch.randn(n, generator=g, dtype=D) * 2
    return r, sigma, beta


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [0, 1, 7])
def test_nuisance_chi2_equals_rCinvr(seed, k):
    r, sigma, beta = random_problem(k=k, seed=seed)
    d, p, lam, shifts = nuisance_chi2(r, sigma, beta)
    C = torch.diag(sigma**2) + beta @ beta.T
    direct = r @ torch.linalg.solve(C, r)
    assert abs(float(d + p) - float(direct)) <= 1e-10 * float(direct)
    assert lam.shape == (k,) and shifts.shape == r.shape


@pytest.mark.parametrize("k", [0, 3])
def test_precomputed_solver_equals_direct(k):
    """NuisanceSolver (A⁻¹ once, used by fits) gives the same χ², λ and shifts."""
    r, sigma, beta = random_problem(k=k, seed=9)
    solver = NuisanceSolver(sigma, beta)
    for got, want in zip(solver(r), nuisance_chi2(r, sigma, beta)):
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-13)
    t = torch.zeros(len(r), dtype=D, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: sum(solver(r - t)[:2]), (t,))


def test_nuisance_shifts_minimise_chi2_lambda():
    """λ is the exact minimiser: the gradient of χ²(λ) vanishes there, and any other λ
    gives a larger χ²; also λ = βᵀ C⁻¹ r (the closed form)."""
    r, sigma, beta = random_problem(k=4, seed=3)
    _, _, lam, shifts = nuisance_chi2(r, sigma, beta)

    def chi2_of(lmb):
        return (((r - beta @ lmb) / sigma) ** 2).sum() + (lmb**2).sum()

    lm = lam.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(chi2_of(lm), lm)
    assert float(g.abs().max()) < 1e-10
    C = torch.diag(sigma**2) + beta @ beta.T
    assert torch.allclose(lam, beta.T @ torch.linalg.solve(C, r), rtol=0, atol=1e-12)
    assert torch.allclose(shifts, beta @ lam, rtol=0, atol=1e-14)
    for _ in range(5):
        assert chi2_of(lam + 0.01 * torch.randn(4, dtype=D)) > chi2_of(lam)


def test_gradcheck_in_theory_sigma_beta():
    r, sigma, beta = random_problem(n=8, k=3, seed=4)
    theory = torch.randn(8, dtype=D).requires_grad_(True)
    data = theory.detach() + r

    def f(t, s, b):
        d, p, _, _ = nuisance_chi2(data - t, s, b)
        return d + p

    assert torch.autograd.gradcheck(
        f, (theory, sigma.clone().requires_grad_(True), beta.clone().requires_grad_(True))
    )


def _toy_dataset(values, unc, fractions, names):
    n = len(values)
    one = torch.ones(n, dtype=D)
    bins = MeasuredBins(
        dataset=list(names),
        observable=["multiplicity"] * n,
        hadron=["PI"] * n,
        charge=one,
        target_isoscalarity=one,
        prefactor=one,
        Vs=7.0 * one,
        x_lo=0.1 * one,
        x_hi=0.2 * one,
        x=0.15 * one,
        Q_lo=1.0 * one,
        Q_hi=2.0 * one,
        Q=1.5 * one,
        z_lo=0.3 * one,
        z_hi=0.4 * one,
        z=0.35 * one,
        PhT_lo=0.1 * one,
        PhT_hi=0.2 * one,
        PhT=0.15 * one,
        W_min=0 * one,
        y_min=0 * one,
        y_max=one,
        integrate_x=torch.ones(n, dtype=torch.bool),
        integrate_Q=torch.ones(n, dtype=torch.bool),
        integrate_z=torch.ones(n, dtype=torch.bool),
    )
    k = fractions.shape[1]
    return DataSet(
        bins,
        values,
        unc,
        fractions,
        torch.ones(k, dtype=torch.bool),
        [f"{names[int(fractions[:, j].ne(0).nonzero()[0])]}:mult{j}" for j in range(k)],
    )


def test_dataset_covariance_and_t0():
    """β = f·m (data) by default and f·t₀ for mult sources under t₀ (NangaParbat)."""
    values = torch.tensor([1.0, 2.0, 4.0], dtype=D)
    unc = torch.tensor([0.1, 0.2, 0.3], dtype=D)
    f = torch.tensor([[0.05], [0.05], [0.05]], dtype=D)
    ds = _toy_dataset(values, unc, f, ["A", "A", "A"])
    C = ds.covariance()
    assert C[0, 2].item() == pytest.approx(0.05**2 * 1.0 * 4.0, rel=1e-14)
    assert C[1, 1].item() == pytest.approx(0.2**2 + (0.05 * 2) ** 2, rel=1e-14)
    t0 = torch.tensor([2.0, 2.0, 2.0], dtype=D)
    assert ds.covariance(t0)[0, 2].item() == pytest.approx(0.05**2 * 4.0, rel=1e-14)
    theory = torch.tensor([1.1, 1.8, 4.4], dtype=D)
    r = values - theory
    for t in (None, t0):
        chi = CorrelatedChi2(ds, t0=t)
        Cm = ds.covariance(t)
        assert float(chi(theory)) == pytest.approx(float(r @ torch.linalg.solve(Cm, r)), rel=1e-12)


def test_per_dataset_breakdown_adds_up_and_is_each_sets_own_chi2():
    g = torch.Generator().manual_seed(7)
    names = ["A"] * 4 + ["B"] * 3
    values = 1 + torch.rand(7, generator=g, dtype=D)
    unc = 0.05 + 0.05 * torch.rand(7, generator=g, dtype=D)
    f = torch.zeros(7, 3, dtype=D)
    f[:4, 0] = 0.04
    f[:4, 1] = -0.02
    f[4:, 2] = 0.07
    ds = _toy_dataset(values, unc, f, names)
    theory = values * (1 + 0.05 * torch.randn(7, generator=g, dtype=D))
    res = CorrelatedChi2(ds).evaluate(theory)
    assert sum(res.per_dataset.values()) == pytest.approx(float(res.chi2), rel=1e-12)
    for name, rows in (("A", slice(0, 4)), ("B", slice(4, 7))):
        sub = ds.select(torch.arange(7)[rows])
        own = float(CorrelatedChi2(sub)(theory[rows]))
        assert res.per_dataset[name] == pytest.approx(own, rel=1e-12)
    assert res.points_per_dataset == {"A": 4, "B": 3}
    assert set(res.as_dict()["nuisances"]) == set(ds.sources)


def test_correlated_targets_as_fit_loss():
    """loss_value/loss_and_backward use the correlated χ² for CorrelatedTargets."""
    r, sigma, beta = random_problem(n=12, k=2, seed=5)
    theory = torch.randn(12, dtype=D)
    data = theory + r
    tg = CorrelatedTargets(data, (sigma**2 + (beta**2).sum(1)).sqrt(), "data", None, sigma, beta)
    C = torch.diag(sigma**2) + beta @ beta.T
    expect = float(r @ torch.linalg.solve(C, r))
    assert float(loss_value(theory, tg)) == pytest.approx(expect, rel=1e-12)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros((), dtype=D))

        def forward(self, pts=None):
            return theory + self.p

    m = Model()
    value = loss_and_backward(m, tg, "chi2", chunk_size=5)
    assert float(value) == pytest.approx(expect, rel=1e-12)
    one = torch.ones(12, dtype=D)
    assert float(m.p.grad) == pytest.approx(float(-2 * one @ torch.linalg.solve(C, r)), rel=1e-10)


@pytest.fixture(scope="module")
def hermes_pions(sidis_data):
    return apply_cuts(load_datasets(["HERMES_Pro_Pi*"], sidis_data))


def test_real_chi2_matches_dense_covariance_and_gradcheck(hermes_pions):
    """On the real HERMES π (proton) points after cuts: χ² with nuisances = rᵀC⁻¹r to
    1e-10 and autograd gradients against finite differences."""
    ds = hermes_pions
    assert len(ds) == 90 and ds.corr.shape[1] > 0
    chi = CorrelatedChi2(ds)
    g = torch.Generator().manual_seed(11)
    theory = ds.values * (1 + 0.1 * torch.randn(len(ds), generator=g, dtype=D))
    r = ds.values - theory
    direct = float(r @ torch.linalg.solve(ds.covariance(), r))
    assert abs(float(chi(theory)) - direct) <= 1e-10 * direct
    t = theory[:]
    scale = torch.ones(3, dtype=D, requires_grad=True)

    def f(s):  # a 3-parameter theory, so that gradcheck stays small
        return chi(t * (s[0] + s[1] * ds.bins.z + s[2] * ds.bins.PhT))

    assert torch.autograd.gradcheck(f, (scale,))
