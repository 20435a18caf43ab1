"""The cross section against exact results (analytic luminosity × Gaussian fNP), flavour
structure, integrator agreement and bad inputs. The native-provider σ against the APFEL++
reference is in tests/test_xsec_reference.py."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from sidislab.constants import CONV_FACT
from sidislab.errors import KinematicsError
from sidislab.fnp import load_fnp
from sidislab.fnp.config import load_config
from sidislab.kinematics import from_mapping, load_kinematics
from sidislab.lumi import AnalyticProvider, LuminosityCache
from sidislab.observables.xsec import CrossSection

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def kin():
    return load_kinematics(DATA / "kinematics" / "sidis_mix.yaml").tmd_region()


def gaussian_fnp(flavour_dependent: bool = False):
    """MAP22 with λ = λ2 = λF = 0: single Gaussians, so σ is known exactly."""
    name = "map22_flavour_dependent" if flavour_dependent else "map22_flavour_blind"
    cfg = load_config(DATA / "fnp" / f"{name}.yaml")
    model = load_fnp(cfg)
    for p in ("lambda", "lambda2", "lambdaF"):
        names = model.parameter_names(free_only=False)
        vec = model.get_vector(free_only=False)
        for i, n in enumerate(names):
            if n.endswith("." + p):
                vec[i] = 0.0
        model.set_vector(vec, free_only=False)
    return model


def exact_sigma(provider, kin, model, at_zero=False):
    """prefactor × ∫ b J0 L e^{−w b²}, w = g1/4 + g3/(4z²) + (g2²/2) ln(Q²/Q0²).

    ``at_zero``: the transform at qT = 0 (the scale of each point's integrand)."""
    with torch.no_grad():
        b = torch.tensor([2.0], dtype=torch.float64)
        # read g1(x), g3(z) off the model: fNP = e^{−g1 b²/4}·evo, so −4 ln(fNP/evo)/b²
        evo = torch.exp(-(model.g2**2) * b**2 * torch.log(kin.Q2) / 4)
        g1 = -4 * torch.log(model.pdf(kin.x, b, kin.Q2)[:, 0, 0] / evo) / 4.0
        g3 = -4 * torch.log(model.ff(kin.z, b, kin.Q2)[:, 0, 0] / evo) / 4.0 * kin.z**2
        w = g1 / 4 + g3 / (4 * kin.z**2) + model.g2**2 / 2 * torch.log(kin.Q2)
    qT = torch.zeros_like(kin.qT) if at_zero else kin.qT
    transform = provider.exact_transform(qT=qT.numpy(), kin=kin, extra_width=w.numpy())
    pref = CONV_FACT * 4 * math.pi * kin.qT / (2 * kin.Q * kin.z)
    return pref * torch.as_tensor(transform)


@pytest.mark.parametrize("integrator", ["ogata", "simpson", "trapezoid"])
def test_sigma_equals_exact_result(tmp_path, kin, integrator):
    provider = AnalyticProvider.gaussian(c={2: 1.0, 1: 0.5, -2: 0.2}, a={2: 0.3, 1: 0.4, -2: 0.5})
    if integrator != "ogata":
        kin = kin.subset(kin.qT <= 3.0)  # the default grid is made for qT ≤ 3 GeV
    table = LuminosityCache(tmp_path).get_or_build(provider, kin, progress=False)
    model = gaussian_fnp()
    xs = CrossSection(kin, table, model, integrator=integrator)
    res = xs.with_error()
    exact = exact_sigma(provider, kin, model)
    scale = exact_sigma(provider, kin, model, at_zero=True)
    # relative error where σ is not tiny against its integrand's scale (Gaussian tails at
    # qT ≫ √a are e^{−100} of it); the spline of the cached L (≤ 1e-6 of L) limits Ogata
    tol = 1e-5 if integrator == "ogata" else 1e-4
    big = exact.abs() > 1e-3 * scale.abs()
    assert big.sum() > 50
    rel = (res.value / exact - 1).abs()
    assert rel[big].max() < tol, rel[big].max()
    tail = ((res.value - exact).abs() / scale.abs())[~big]
    assert tail.numel() == 0 or tail.max() < 1e-6
    assert torch.all(res.error >= 0)


def test_flavour_dependent_matches_blind_when_equal_and_differs_otherwise(tmp_path, kin):
    provider = AnalyticProvider.toy()
    table = LuminosityCache(tmp_path).get_or_build(provider, kin, progress=False)
    blind = load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml")
    dep = load_fnp(DATA / "fnp" / "map22_flavour_dependent.yaml")
    s_blind = CrossSection(kin, table, blind)()
    xs_dep = CrossSection(kin, table, dep)
    # same numbers, summed in another order (Σ_q f L_q vs f Σ_q L_q): rounding only,
    # amplified where σ is a small difference of large terms (large qT/Q)
    torch.testing.assert_close(xs_dep(), s_blind, rtol=1e-7, atol=0)
    # change the u-quark PDF width only: σ changes, and by the u share of L only
    names = dep.parameter_names()
    vec = dep.get_vector()
    vec[names.index("pdf.u.N1")] *= 1.5
    dep.set_vector(vec)
    s_dep = xs_dep()
    assert (s_dep / s_blind - 1).abs().max() > 1e-3
    # the old code's bug — the u-quark fNP applied to the summed luminosity — is different
    only_u = load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml")
    v = only_u.get_vector()
    v[only_u.parameter_names().index("pdf.N1")] *= 1.5
    only_u.set_vector(v)
    assert (CrossSection(kin, table, only_u)() / s_dep - 1).abs().max() > 1e-3


def test_integrators_agree_on_realistic_integrand(tmp_path, kin):
    table = LuminosityCache(tmp_path).get_or_build(AnalyticProvider.toy(), kin, progress=False)
    model = load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml")
    small = kin.subset(kin.qT < 3.0)
    t2 = LuminosityCache(tmp_path).get_or_build(AnalyticProvider.toy(), small, progress=False)
    o = CrossSection(small, t2, model, integrator="ogata", tol=1e-10).with_error()
    s = CrossSection(small, t2, model, integrator="simpson").with_error()
    big = o.value.abs() > 1e-3 * o.value.abs().max()
    assert ((o.value - s.value).abs() / o.value.abs())[big].max() < 1e-4
    assert table.L.shape[0] == len(kin)


def test_gradient_flows_to_fnp_parameters(tmp_path, kin):
    table = LuminosityCache(tmp_path).get_or_build(AnalyticProvider.toy(), kin, progress=False)
    model = load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml")
    xs = CrossSection(kin, table, model)
    xs().sum().backward()
    assert torch.isfinite(model.free_values.grad).all()
    assert (model.free_values.grad != 0).sum() >= 15


def test_bad_inputs(tmp_path, kin):
    table = LuminosityCache(tmp_path).get_or_build(AnalyticProvider.toy(), kin, progress=False)
    model = load_fnp(DATA / "fnp" / "map22_flavour_blind.yaml")
    with pytest.raises(ValueError, match="unknown integrator 'romberg'"):
        CrossSection(kin, table, model, integrator="romberg")
    with pytest.raises(ValueError, match=r"shape|N=192"):
        CrossSection(kin.subset(slice(0, 5)), table, model)
    empty = kin.subset(torch.zeros(len(kin), dtype=torch.bool))
    with pytest.raises(KinematicsError, match="no kinematic points"):
        CrossSection(empty, table, model)


def test_prefactor_units():
    one = from_mapping(
        {"header": {"Vs": 10.0}, "data": {"x": [0.1], "Q2": [4.0], "z": [0.5], "PhT": [0.5]}}
    )
    from sidislab.observables.xsec import prefactor

    assert prefactor(one).item() == pytest.approx(CONV_FACT * 4 * math.pi * 1.0 / (2 * 2.0 * 0.5))


@pytest.mark.parametrize("integrator", ["ogata", "trapezoid"])
@pytest.mark.parametrize("name", ["map22_flavour_blind", "map22_flavour_dependent"])
def test_fused_quadrature_equals_the_integrand_path(tmp_path, kin, monkeypatch, integrator, name):
    """σ from FNP.integrate (the fused sum over nodes, used by forward) equals the sum of the
    integrand over the nodes (contract), with the same chunked gradient and Hessian."""
    from sidislab.fit import Targets, loss_and_backward
    from sidislab.fit.loss import loss_of_vector
    from sidislab.fnp.model import FNP

    small = kin.subset(slice(0, 24))
    table = LuminosityCache(tmp_path).get_or_build(AnalyticProvider.toy(), small, progress=False)
    model = load_fnp(DATA / "fnp" / f"{name}.yaml")
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():  # distinct flavour groups
        model.free_values.mul_(1 + 0.2 * torch.rand(model.free_values.shape, generator=gen))
    # a few parameters of every kind (the Hessian costs one double backward per parameter)
    free = ["pdf.u.N1", "pdf.sea.lambda", "pdf.d.N1B", "ff.u.N3B", "ff.sea.beta1", "ff.d.lambdaF"]
    model.freeze("*")
    model.unfreeze(
        "g2",
        *(f if not model.flavour_blind else f.replace(f.split(".")[1] + ".", "") for f in free),
    )
    xs = CrossSection(small, table, model, integrator=integrator, b_max=20.0)
    fused = xs().detach()
    with torch.no_grad():  # the integrand path: contract, then Σ weights
        plain = xs.with_error().value
    scale = float(fused.abs().max())
    torch.testing.assert_close(fused, plain, rtol=1e-11, atol=1e-13 * scale)
    targets = Targets(plain * 1.1, 0.05 * plain.abs() + 1e-3 * scale)
    theta = model.get_vector()

    def grad_and_hessian():
        model.zero_grad()
        loss_and_backward(xs, targets, "chi2", chunk_size=10)
        hess = torch.autograd.functional.hessian(loss_of_vector(xs, targets), theta)
        return model.free_values.grad.clone(), hess

    g_fused, h_fused = grad_and_hessian()
    monkeypatch.delattr(FNP, "integrate")
    g_plain, h_plain = grad_and_hessian()
    torch.testing.assert_close(g_fused, g_plain, rtol=1e-9, atol=1e-12 * float(g_plain.abs().max()))
    torch.testing.assert_close(h_fused, h_plain, rtol=1e-9, atol=1e-12 * float(h_plain.abs().max()))
