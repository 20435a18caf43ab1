"""Tests of sidislab.fnp: MAP22 fNP values, flavours, masks, vectors, safety, configs.

Reference values: ``../shared/reference/map22_values.json`` (the published MAP22 formula at
the published parameters, physics.md §5, arXiv:2206.07598), compared to 1e-12.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path

import pytest
import torch
import yaml

from sidislab.errors import ConfigError, KinematicsError
from sidislab.fnp import (
    DEFAULT_FLAVOURS,
    FF_PARAMETER_NAMES,
    FNP,
    PDF_PARAMETER_NAMES,
    ParameterSet,
    evolution_factor,
    load_config,
    load_fnp,
    map22_ff,
    map22_pdf,
    save_fnp,
)

REPO = Path(__file__).resolve().parents[1]
BLIND = REPO / "data" / "fnp" / "map22_flavour_blind.yaml"
DEPENDENT = REPO / "data" / "fnp" / "map22_flavour_dependent.yaml"
F64 = torch.float64

# a small kinematic sample: N = 4 points, Nb = 6 b-nodes
X = torch.tensor([0.003, 0.05, 0.2, 0.6], dtype=F64)
Z = torch.tensor([0.15, 0.35, 0.55, 0.8], dtype=F64)
B = torch.tensor([0.0, 0.05, 0.4, 1.3, 3.0, 8.0], dtype=F64)
ZETA = torch.tensor([1.0, 4.0, 30.0, 500.0], dtype=F64)


@pytest.fixture
def blind() -> FNP:
    return load_fnp(BLIND)


@pytest.fixture
def dependent() -> FNP:
    return load_fnp(DEPENDENT)


def _blind_dict() -> dict:
    return yaml.safe_load(BLIND.read_text())


# ------------------------------------------------------------------------ reference values
def _reference_points(ref: dict, kind: str) -> tuple[torch.Tensor, ...]:
    rows = [r for r in ref["values"] if r["kind"] == kind]
    key = "x" if kind == "pdf" else "z"
    v = torch.tensor([r[key] for r in rows], dtype=F64)
    b = torch.tensor([r["b"] for r in rows], dtype=F64)
    zeta = torch.tensor([r["zeta"] for r in rows], dtype=F64)
    expected = torch.tensor([r["value"] for r in rows], dtype=F64)
    return v, b, zeta, expected


def test_default_yaml_holds_the_published_parameters(map22_reference):
    cfg = load_config(BLIND)
    assert not cfg.flavour_dependent
    assert cfg.g2 == map22_reference["g2"]
    assert list(PDF_PARAMETER_NAMES) == map22_reference["pdf_param_names"]
    assert list(FF_PARAMETER_NAMES) == map22_reference["ff_param_names"]
    assert list(cfg.pdf["all"].values) == map22_reference["pdf_params"]
    assert list(cfg.ff["all"].values) == map22_reference["ff_params"]


@pytest.mark.parametrize("kind", ["pdf", "ff"])
def test_values_match_reference(blind, map22_reference, kind):
    v, b, zeta, expected = _reference_points(map22_reference, kind)
    fn = blind.pdf if kind == "pdf" else blind.ff
    got = fn(v, b[:, None], zeta)  # per-point b: [N, Nb = 1]
    assert got.shape == (len(v), 1, 1)
    assert got.dtype == F64
    torch.testing.assert_close(got[:, 0, 0], expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["pdf", "ff"])
def test_values_match_reference_on_a_shared_b_grid(blind, map22_reference, kind):
    """Same numbers through the shared-b ([Nb]) path and for every flavour of the
    flavour-dependent example, which starts at the flavour-blind values."""
    v, b, zeta, expected = _reference_points(map22_reference, kind)
    nodes = torch.unique(b)
    table = {(float(a), float(c), float(d)): e for a, c, d, e in zip(v, b, zeta, expected)}
    pts = sorted({(float(a), float(d)) for a, d in zip(v, zeta)})
    vv = torch.tensor([p[0] for p in pts], dtype=F64)
    zz = torch.tensor([p[1] for p in pts], dtype=F64)
    want = torch.stack([torch.stack([table[(p[0], float(n), p[1])] for n in nodes]) for p in pts])
    dep = load_fnp(DEPENDENT)
    for model, flavours in ((blind, None), (dep, DEFAULT_FLAVOURS)):
        fn = model.pdf if kind == "pdf" else model.ff
        got = fn(vv, nodes, zz, flavours)
        assert got.shape == (len(pts), 1 if flavours is None else len(flavours), len(nodes))
        torch.testing.assert_close(got, want[:, None, :].expand_as(got), rtol=0, atol=1e-12)


def test_functions_agree_with_a_direct_transcription():
    """map22_pdf / map22_ff equal a plain transcription of physics.md §5 off the
    published point too (random physical parameters)."""
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(50, generator=gen, dtype=F64) * 0.9 + 0.001
    b = torch.rand(50, generator=gen, dtype=F64) * 6
    zeta = 1 + torch.rand(50, generator=gen, dtype=F64) * 100
    p = 0.05 + torch.rand(11, generator=gen, dtype=F64)
    q = 0.05 + torch.rand(9, generator=gen, dtype=F64)
    g2 = torch.tensor(0.2, dtype=F64)
    n1, a1, s1, lam, n1b, n1c, lam2, a2, a3, s2, s3 = p

    def g(n, s, a):
        return n * (x / 0.1) ** s * ((1 - x) / 0.9) ** (a * a)

    g1, gb, gc = g(n1, s1, a1), g(n1b, s2, a2), g(n1c, s3, a3)
    u = b * b / 4
    evo = torch.exp(-(g2**2) * b * b * torch.log(zeta) / 4)
    num = g1 * torch.exp(-g1 * u) + lam**2 * gb**2 * (1 - gb * u) * torch.exp(-gb * u)
    num = num + lam2**2 * gc * torch.exp(-gc * u)
    want = num / (g1 + lam**2 * gb**2 + lam2**2 * gc) * evo
    torch.testing.assert_close(map22_pdf(x, b, zeta, p, g2), want, rtol=1e-13, atol=1e-14)

    n3, b1, d1, c1, lf, n3b, b2, d2, c2 = q
    z = x

    def gf(n, be, de, ga):
        return n * (z**be + de * de) / (0.5**be + de * de) * ((1 - z) / 0.5) ** (ga * ga)

    g3, g3b = gf(n3, b1, d1, c1), gf(n3b, b2, d2, c2)
    uz = b * b / (4 * z * z)
    num = g3 * torch.exp(-g3 * uz) + lf / z**2 * g3b**2 * (1 - g3b * uz) * torch.exp(-g3b * uz)
    want = num / (g3 + lf / z**2 * g3b**2) * evo
    torch.testing.assert_close(map22_ff(z, b, zeta, q, g2), want, rtol=1e-13, atol=1e-14)
    torch.testing.assert_close(evolution_factor(b, zeta, g2), evo, rtol=1e-15, atol=0)


def test_single_gaussian_limit_and_b_zero():
    """λ = λ2 = 0 leaves exp(−g1 b²/4) E(b, ζ); fNP(b = 0) = 1 for any parameters."""
    p = torch.tensor([0.3, 2.0, 0.2, 0.0, 0.4, 0.5, 0.0, 1.0, 1.0, 0.1, 0.1], dtype=F64)
    x = torch.tensor([0.01, 0.3], dtype=F64)[:, None]
    b = torch.tensor([0.0, 1.0, 4.0], dtype=F64)
    zeta = torch.tensor(10.0, dtype=F64)
    g2 = torch.tensor(0.13, dtype=F64)
    g1 = 0.3 * (x / 0.1) ** 0.2 * ((1 - x) / 0.9) ** 4.0
    want = torch.exp(-g1 * b * b / 4) * torch.exp(-(0.13**2) * b * b * math.log(10.0) / 4)
    torch.testing.assert_close(map22_pdf(x, b, zeta, p, g2), want, rtol=1e-13, atol=1e-15)
    gen = torch.Generator().manual_seed(5)
    for _ in range(20):
        p = torch.randn(11, generator=gen, dtype=F64) * 5
        q = torch.randn(9, generator=gen, dtype=F64) * 5
        one = map22_pdf(x, torch.zeros(1, dtype=F64), zeta, p, g2)
        assert torch.allclose(one, torch.ones_like(one), rtol=0, atol=1e-14)
        one = map22_ff(x, torch.zeros(1, dtype=F64), zeta, q, g2)
        assert torch.allclose(one, torch.ones_like(one), rtol=0, atol=1e-14)


# ------------------------------------------------------------------------ shapes and dtypes
def test_shapes_and_forward_is_the_product(blind, dependent):
    n, nb = len(X), len(B)
    assert blind.flavour_blind and not dependent.flavour_blind
    assert blind.pdf(X, B, ZETA).shape == (n, 1, nb)
    assert blind.ff(Z, B, ZETA, [2, -1]).shape == (n, 1, nb)  # flavours ignored when blind
    b2 = B[None, :].expand(n, nb) * torch.linspace(0.5, 1.5, n, dtype=F64)[:, None]
    assert blind.pdf(X, b2, ZETA).shape == (n, 1, nb)
    flavours = [2, -2, 1, 4]
    assert dependent.pdf(X, B, ZETA, flavours).shape == (n, 4, nb)
    assert dependent.pdf(X, B, ZETA).shape == (n, len(DEFAULT_FLAVOURS), nb)
    for model, fl in ((blind, None), (dependent, flavours)):
        prod = model(X, Z, b2, ZETA, fl)
        torch.testing.assert_close(
            prod, model.pdf(X, b2, ZETA, fl) * model.ff(Z, b2, ZETA, fl), rtol=1e-15, atol=0
        )  # forward applies the shared evolution factor once: rounding differs
    # per-point b equals the shared-b result row by row
    row = blind.pdf(X, b2, ZETA)[1, 0]
    torch.testing.assert_close(row, blind.pdf(X[1:2], b2[1], ZETA[1:2])[0, 0])
    # plain Python inputs and a flavour tensor work
    out = dependent.pdf([0.1, 0.2], [0.5, 1.0], [4.0, 4.0], torch.tensor([1, 2]))
    assert out.shape == (2, 2, 2) and out.dtype == F64


def test_flavour_axis_is_vectorised_like_a_loop(dependent):
    gen = torch.Generator().manual_seed(11)
    v = dependent.get_vector()
    dependent.set_vector(v * (1 + 0.2 * torch.rand(v.shape, generator=gen, dtype=F64)))
    flavours = list(DEFAULT_FLAVOURS)
    together = dependent(X, Z, B, ZETA, flavours)
    for i, pid in enumerate(flavours):
        alone = dependent(X, Z, B, ZETA, [pid])
        torch.testing.assert_close(together[:, i : i + 1], alone, rtol=1e-14, atol=1e-15)


def test_dtype_and_device_follow_the_module(blind):
    f32 = blind.to(torch.float32)
    out = f32.pdf(X.float(), B.float(), ZETA.float())
    assert out.dtype == torch.float32 and f32.dtype == torch.float32
    ref = load_fnp(BLIND).pdf(X, B, ZETA)
    torch.testing.assert_close(out.double(), ref, rtol=1e-5, atol=1e-6)
    # float64 inputs to a float32 module are cast to the module's dtype
    assert f32.ff(Z, B, ZETA).dtype == torch.float32
    assert f32.to(F64).pdf(X, B, ZETA).dtype == F64
    assert load_fnp(BLIND, dtype=torch.float32).dtype == torch.float32


def test_inputs_checked_once_are_checked_again_after_a_change(blind):
    """The domain checks are remembered per unchanged tensor (a fit's epochs): writing into
    a checked tensor, or a new tensor at the same values, is checked again."""
    x, b = X.clone(), B.clone()
    blind.pdf(x, b, ZETA)
    blind.pdf(x, b, ZETA)  # remembered: no check, same result path
    b[1] = -0.5  # in place: the version counter moves
    with pytest.raises(KinematicsError, match=r"b\[1\] = -0\.5 violates b >= 0"):
        blind.pdf(x, b, ZETA)
    x[2] = 1.0
    with pytest.raises(KinematicsError, match=r"x\[2\] = 1\.0 violates 0 < x < 1"):
        blind.pdf(x, B, ZETA)
    xv = X.clone()
    blind.pdf(xv[:2], B[:3], ZETA[:2])  # a view: remembered by its owner and layout
    xv[1] = 0.0
    with pytest.raises(KinematicsError, match=r"x\[1\] = 0\.0"):
        blind.pdf(xv[:2], B[:3], ZETA[:2])


def test_bad_inputs_raise(blind, dependent):
    with pytest.raises(KinematicsError, match=r"x\[2\] = 1\.0 violates 0 < x < 1"):
        blind.pdf(torch.tensor([0.1, 0.2, 1.0], dtype=F64), B, torch.ones(3, dtype=F64))
    with pytest.raises(KinematicsError, match=r"z\[0\] = 0\.0"):
        blind.ff(torch.tensor([0.0], dtype=F64), B, torch.ones(1, dtype=F64))
    with pytest.raises(KinematicsError, match=r"b\[1\] = -0\.5 violates b >= 0"):
        blind.pdf(X[:1], torch.tensor([0.0, -0.5], dtype=F64), ZETA[:1])
    with pytest.raises(KinematicsError, match=r"zeta\[0\] = nan"):
        blind.pdf(X[:1], B, torch.tensor([float("nan")], dtype=F64))
    with pytest.raises(ValueError, match=r"b must have shape \[Nb\] or \[4, Nb\], got \(3, 6\)"):
        blind.pdf(X, torch.ones(3, 6, dtype=F64), ZETA)
    with pytest.raises(ValueError, match=r"zeta must have shape \[4\]"):
        blind.pdf(X, B, ZETA[:2])
    with pytest.raises(ValueError, match=r"z must have shape \[4\] \(as x\)"):
        blind(X, Z[:3], B, ZETA)
    with pytest.raises(ValueError, match=r"flavours\[1\] = 21 is not a quark PDG id"):
        dependent.pdf(X, B, ZETA, [2, 21])
    with pytest.raises(ValueError, match=r"flavours\[0\] = 7"):
        blind.pdf(X, B, ZETA, [7])
    unchecked = load_fnp(BLIND, check_inputs=False)
    assert unchecked.pdf(X, B, ZETA).shape == (4, 1, 6)


# ------------------------------------------------------------------------ flavours
def test_flavour_dependent_with_equal_parameters_equals_blind(blind, dependent):
    fl = [*DEFAULT_FLAVOURS, 6, -6]
    want = blind(X, Z, B, ZETA)
    got = dependent(X, Z, B, ZETA, fl)
    torch.testing.assert_close(got, want.expand_as(got), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(
    ("name", "kind", "pid"),
    [("pdf.u.N1", "pdf", 2), ("pdf.sbar.lambda", "pdf", -3), ("ff.dbar.beta1", "ff", -1)],
)
def test_changing_one_flavour_changes_only_its_slice(dependent, name, kind, pid):
    fl = list(DEFAULT_FLAVOURS)
    before = {k: getattr(dependent, k)(v, B, ZETA, fl) for k, v in (("pdf", X), ("ff", Z))}
    prod_before = dependent(X, Z, B, ZETA, fl)
    names = dependent.parameter_names()
    v = dependent.get_vector()
    v[names.index(name)] *= 1.7
    dependent.set_vector(v)
    after = {k: getattr(dependent, k)(v, B, ZETA, fl) for k, v in (("pdf", X), ("ff", Z))}
    prod_after = dependent(X, Z, B, ZETA, fl)
    i = fl.index(pid)
    others = [j for j in range(len(fl)) if j != i]
    changed = (after[kind][:, i] - before[kind][:, i]).abs()
    assert changed[:, 1:].min() > 0  # every b > 0 node moves
    torch.testing.assert_close(after[kind][:, others], before[kind][:, others], rtol=0, atol=0)
    other_kind = "ff" if kind == "pdf" else "pdf"
    torch.testing.assert_close(after[other_kind], before[other_kind], rtol=0, atol=0)
    torch.testing.assert_close(prod_after[:, others], prod_before[:, others], rtol=0, atol=0)
    assert not torch.equal(prod_after[:, i], prod_before[:, i])


def test_sea_and_joined_groups():
    cfg = _blind_dict()
    pdf, ff = cfg["pdf"], cfg["ff"]
    cfg["flavour_dependent"] = True
    cfg["pdf"] = {"u": dict(pdf), "s+sbar": dict(pdf), "sea": dict(pdf)}
    cfg["ff"] = {"u+dbar": dict(ff), "sea": dict(ff)}
    cfg["pdf"]["s+sbar"]["N1"] = 0.5
    cfg["pdf"]["sea"]["N1"] = 0.6
    model = load_fnp(cfg)
    assert model.parameter_names()[1] == "pdf.u.N1"
    assert "pdf.s+sbar.N1" in model.parameter_names()
    assert "ff.u+dbar.N3" in model.parameter_names()
    assert model.n_parameters == 1 + 3 * 11 + 2 * 9
    out = model.pdf(X, B, ZETA, [3, -3, 1, 4, 2])
    torch.testing.assert_close(out[:, 0], out[:, 1], rtol=0, atol=0)  # s, sbar share
    torch.testing.assert_close(out[:, 2], out[:, 3], rtol=0, atol=0)  # d, c are sea
    assert not torch.equal(out[:, 0], out[:, 2]) and not torch.equal(out[:, 2], out[:, 4])
    # no sea: an uncovered flavour is an error naming it and the groups
    cfg["pdf"] = {"u": dict(pdf), "d": dict(pdf)}
    model = load_fnp(cfg)
    model.pdf(X, B, ZETA, [1, 2])
    with pytest.raises(ValueError, match=r"flavour 3 \(s\) has no parameter set.*\['u', 'd'\]"):
        model.pdf(X, B, ZETA, [1, 3])
    with pytest.raises(ValueError, match="no parameter set"):
        model.pdf(X, B, ZETA)  # default flavours include s


# ------------------------------------------------------------------------ masks
def _masked_config() -> dict:
    cfg = _blind_dict()
    cfg["g2"] = {"value": cfg["g2"], "free": False}
    cfg["pdf"]["lambda2"] = {"value": cfg["pdf"]["lambda2"], "free": False}
    cfg["ff"]["N3B"] = {"value": cfg["ff"]["N3B"], "free": False}
    return cfg


def test_masks_from_config_and_names():
    model = load_fnp(_masked_config())
    assert model.n_parameters == 21
    assert len(model.parameter_names()) == 18 == model.get_vector().numel()
    assert model.parameter_names(free_only=False)[0] == "g2"
    fixed = set(model.parameter_names(free_only=False)) - set(model.parameter_names())
    assert fixed == {"g2", "pdf.lambda2", "ff.N3B"}
    assert model.free_values.requires_grad and not model.fixed_values.requires_grad
    assert [n for n, _ in model.named_parameters()] == ["free_values"]


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda p: torch.optim.Adam(p, lr=0.05, weight_decay=0.3),
        lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.3),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.3),
    ],
    ids=["adam-wd", "adamw", "sgd-momentum-wd"],
)
def test_frozen_parameters_never_move(make_opt):
    model = load_fnp(_masked_config())
    names = model.parameter_names(free_only=False)
    frozen = [names.index(n) for n in ("g2", "pdf.lambda2", "ff.N3B")]
    free = [i for i in range(len(names)) if i not in frozen]
    start = model.get_vector(free_only=False)
    opt = make_opt(model.parameters())
    for _ in range(5):
        opt.zero_grad()
        loss = model(X, Z, B, ZETA).square().sum()
        loss.backward()
        opt.step()
    end = model.get_vector(free_only=False)
    assert torch.equal(end[frozen], start[frozen])
    assert (end[free] != start[free]).all()


def test_gradient_of_frozen_parameters_is_zero():
    """d(output)/d(full vector) through the module's own path is zero on frozen entries."""
    model = load_fnp(_masked_config())
    full = model.get_vector(free_only=False).requires_grad_(True)
    mask = model.free_mask
    # rebuild the full vector the way the module does, from a leaf covering all entries
    free = full[mask]
    out = torch.func.functional_call(model, {"free_values": free}, (X, Z, B, ZETA))
    (grad,) = torch.autograd.grad(out.sum(), full)
    assert torch.equal(grad[~mask], torch.zeros_like(grad[~mask]))
    assert (grad[mask] != 0).all()


def test_freeze_unfreeze_and_set_free_mask(dependent):
    dependent.freeze("g2", "pdf.*.lambda2", "ff.sea.*")
    names = dependent.parameter_names()
    assert "g2" not in names and "pdf.u.lambda2" not in names and "ff.sea.N3" not in names
    assert len(names) == 141 - 1 - 7 - 9
    values = dependent.get_vector(free_only=False)
    dependent.unfreeze("ff.sea.N3")
    assert "ff.sea.N3" in dependent.parameter_names()
    assert torch.equal(dependent.get_vector(free_only=False), values)  # values kept
    dependent.set_free_mask([False] * 141)
    assert dependent.get_vector().numel() == 0 and dependent.parameter_names() == []
    with pytest.raises(ValueError, match=r"pattern 'pdf\.x\.N1' matches no parameter"):
        dependent.freeze("pdf.x.N1")
    with pytest.raises(ValueError, match="expected 141 flags"):
        dependent.set_free_mask([True] * 3)


# ------------------------------------------------------------------------ vectors, state
def test_vector_round_trip_and_errors(blind):
    names = blind.parameter_names()
    assert names[:2] == ["g2", "pdf.N1"] and names[-1] == "ff.gamma2" and len(names) == 21
    v = blind.get_vector()
    assert blind.named_vector()["ff.lambdaF"] == v[names.index("ff.lambdaF")].item()
    new = v * 1.1 + 0.01
    blind.set_vector(new)
    assert torch.equal(blind.get_vector(), new)
    blind.set_vector(new.tolist(), free_only=False)
    assert torch.equal(blind.get_vector(free_only=False), new)
    with pytest.raises(
        ValueError, match=r"expected 21 values \(free parameters.*got shape \(20,\)"
    ):
        blind.set_vector(v[:20])
    with pytest.raises(ValueError, match=r"expected 21 values \(parameters.*got shape \(2, 21\)"):
        blind.set_vector(torch.stack([v, v]), free_only=False)
    bad = v.clone()
    bad[3] = float("inf")
    with pytest.raises(ValueError, match=r"non-finite values for pdf.sigma1 = inf"):
        blind.set_vector(bad)
    masked = load_fnp(_masked_config())
    with pytest.raises(ValueError, match=r"expected 18 values.*got shape \(21,\)"):
        masked.set_vector(v)
    full = masked.get_vector(free_only=False) + 0.5
    masked.set_vector(full, free_only=False)
    assert torch.equal(masked.get_vector(free_only=False), full)
    assert "g2" not in masked.parameter_names()  # still fixed


def test_set_vector_is_in_place_for_optimisers(blind):
    param = blind.free_values
    blind.set_vector(blind.get_vector() * 0.9)
    assert blind.free_values is param


def test_state_dict_round_trip(dependent):
    v = dependent.get_vector()
    dependent.set_vector(v * torch.linspace(0.8, 1.2, v.numel(), dtype=F64))
    dependent.freeze("g2", "ff.u.*")
    state = copy.deepcopy(dependent.state_dict())
    assert set(state) == {"free_mask", "free_values", "fixed_values"}
    fresh = load_fnp(DEPENDENT)  # all free: adopts the saved mask on load
    fresh.load_state_dict(state)
    assert fresh.parameter_names() == dependent.parameter_names()
    assert torch.equal(fresh.get_vector(free_only=False), dependent.get_vector(free_only=False))
    torch.testing.assert_close(fresh(X, Z, B, ZETA), dependent(X, Z, B, ZETA), rtol=0, atol=0)
    with pytest.raises(RuntimeError):
        load_fnp(BLIND).load_state_dict(state)  # another structure


def test_deepcopy_is_independent(blind):
    twin = copy.deepcopy(blind)
    twin.freeze("g2")
    twin.set_vector(twin.get_vector() * 2)
    assert "g2" in blind.parameter_names()
    assert torch.equal(blind.get_vector(), load_fnp(BLIND).get_vector())
    state = twin.state_dict()
    blind.load_state_dict(state)  # the hook acts on the module that loads
    assert "g2" not in blind.parameter_names() and "g2" not in twin.parameter_names()


def test_save_and_reload_yaml(tmp_path, dependent):
    dependent.freeze("pdf.sea.*")
    v = dependent.get_vector()
    dependent.set_vector(v + 0.123456789)
    path = save_fnp(dependent, tmp_path / "fit.yaml")
    again = load_fnp(path)
    assert again.parameter_names(free_only=False) == dependent.parameter_names(free_only=False)
    assert torch.equal(again.free_mask, dependent.free_mask)
    assert torch.equal(again.get_vector(free_only=False), dependent.get_vector(free_only=False))


# ------------------------------------------------------------------------ parameter safety
def _adversarial_vectors(n: int) -> list[torch.Tensor]:
    vecs = [torch.full((n,), s, dtype=F64) for s in (0.0, -1.0, 1e-300, -1e-8, 1e6, 1e300)]
    vecs.append(torch.full((n,), -1e300, dtype=F64))
    gen = torch.Generator().manual_seed(7)
    for _ in range(25):
        mag = 10 ** (torch.rand(n, generator=gen, dtype=F64) * 40 - 20)
        sign = torch.randint(-1, 2, (n,), generator=gen).to(F64)
        vecs.append(mag * sign)
    return vecs


@pytest.mark.parametrize("path", [BLIND, DEPENDENT], ids=["blind", "dependent"])
def test_adversarial_parameters_give_finite_values_and_gradients(path):
    model = load_fnp(path)
    x = torch.tensor([1e-7, 1e-3, 0.1, 0.5, 0.999], dtype=F64)
    z = torch.tensor([1e-4, 0.02, 0.5, 0.9, 0.999], dtype=F64)
    b = torch.tensor([0.0, 1e-9, 0.1, 1.0, 10.0, 80.0], dtype=F64)
    zeta = torch.tensor([0.3, 1.0, 10.0, 1e4, 1e8], dtype=F64)  # includes ζ < Q0²
    published = model.get_vector()
    vectors = _adversarial_vectors(model.n_parameters)
    gen = torch.Generator().manual_seed(9)
    for _ in range(20):  # published values with a few entries wrecked
        v = published.clone()
        idx = torch.randint(0, v.numel(), (3,), generator=gen)
        v[idx] = torch.tensor([0.0, -1e300, 1e300], dtype=F64)
        vectors.append(v)
    for v in vectors:
        model.set_vector(v)
        model.zero_grad()
        out = torch.cat([model(x, z, b, zeta).flatten(), model.pdf(x, b, zeta).flatten()])
        out = torch.cat([out, model.ff(z, b, zeta).flatten()])
        assert torch.isfinite(out).all(), v
        out.sum().backward()
        assert torch.isfinite(model.free_values.grad).all(), v
        # |fNP| ≤ E(b, ζ) ≤ 1 for ζ ≥ Q0², and fNP(b = 0) = 1
        pdf = model.pdf(x, b, zeta[1:2].expand(5)).detach()
        assert pdf.abs().max() <= 1 + 1e-12
        torch.testing.assert_close(pdf[..., 0], torch.ones_like(pdf[..., 0]), rtol=0, atol=1e-12)


def test_adversarial_parameters_in_float32():
    model = load_fnp(DEPENDENT, dtype=torch.float32)
    x = torch.tensor([1e-6, 0.1, 0.99], dtype=torch.float32)
    z = torch.tensor([1e-3, 0.5, 0.99], dtype=torch.float32)
    b = torch.tensor([0.0, 0.5, 5.0, 50.0], dtype=torch.float32)
    zeta = torch.tensor([0.5, 10.0, 1e6], dtype=torch.float32)
    for v in _adversarial_vectors(model.n_parameters)[:20]:
        model.set_vector(v.clamp(-3e38, 3e38).float())
        model.zero_grad()
        out = model(x, z, b, zeta)
        assert torch.isfinite(out).all()
        out.sum().backward()
        assert torch.isfinite(model.free_values.grad).all()


def test_zero_normalisation_and_couplings_are_harmless(blind):
    names = blind.parameter_names()
    v = blind.get_vector()
    for name in ("pdf.N1", "pdf.N1B", "pdf.N1C", "ff.N3", "ff.N3B", "ff.lambdaF"):
        w = v.clone()
        w[names.index(name)] = 0.0
        blind.set_vector(w)
        out = blind(X, Z, B, ZETA)
        assert torch.isfinite(out).all()
    # λ = λ2 = 0 switches the second and third terms off (single Gaussian)
    w = v.clone()
    w[names.index("pdf.lambda")] = 0.0
    w[names.index("pdf.lambda2")] = 0.0
    blind.set_vector(w)
    p = w[1:12]
    g1 = p[0] * (X / 0.1) ** p[2] * ((1 - X) / 0.9) ** (p[1] ** 2)
    evo = torch.exp(-(w[0] ** 2) * B**2 * torch.log(ZETA[:, None]) / 4)
    want = torch.exp(-g1[:, None] * B**2 / 4) * evo
    torch.testing.assert_close(blind.pdf(X, B, ZETA)[:, 0], want, rtol=1e-13, atol=1e-15)
    # a negative normalisation acts as its absolute value
    w = v.clone()
    w[names.index("pdf.N1")] *= -1
    blind.set_vector(w)
    neg = blind.pdf(X, B, ZETA)
    blind.set_vector(v)
    torch.testing.assert_close(neg, blind.pdf(X, B, ZETA), rtol=0, atol=1e-15)


# ------------------------------------------------------------------------ gradcheck
@pytest.mark.parametrize("path", [BLIND, DEPENDENT], ids=["blind", "dependent"])
@pytest.mark.parametrize("where", ["published", "perturbed"])
def test_gradcheck(path, where):
    model = load_fnp(path)
    if where == "perturbed":  # off the symmetric published point, some signs flipped
        gen = torch.Generator().manual_seed(13)
        v = model.get_vector()
        factor = 0.7 + 0.6 * torch.rand(v.shape, generator=gen, dtype=F64)
        sign = torch.where(torch.rand(v.shape, generator=gen, dtype=F64) < 0.2, -1.0, 1.0)
        model.set_vector(v * factor * sign)
    x, z = X[1:3], Z[1:3]
    b = torch.tensor([0.0, 0.7, 2.5], dtype=F64)
    zeta = ZETA[1:3]
    flavours = None if model.flavour_blind else [2, -3, 4]

    def fn(free: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(model, {"free_values": free}, (x, z, b, zeta, flavours))

    free = model.get_vector().requires_grad_(True)
    assert torch.autograd.gradcheck(fn, (free,), eps=1e-6, atol=1e-8, rtol=1e-6)


# ------------------------------------------------------------------------ config errors
def _write(tmp_path: Path, data: object, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def _mutate(fn) -> dict:
    cfg = _blind_dict()
    fn(cfg)
    return cfg


def _dependent_dict() -> dict:
    return yaml.safe_load(DEPENDENT.read_text())


PDF_ALLOWED = r"allowed: \['N1', 'alpha1', 'sigma1', 'lambda', 'N1B'"
FLAVOURS_ALLOWED = r"allowed: \['tbar', 'bbar', 'cbar', 'sbar', 'ubar', 'dbar', 'd', 'u'"
BAD_CONFIGS = {
    "malformed-yaml": ("pdf: [1, 2\nff: {", r"malformed YAML"),
    "not-a-mapping": ("- 1\n- 2\n", r"must be a mapping with keys \['model'"),
    "empty": ("", r"empty fNP config; required keys: \['model', 'flavour_dependent'"),
    "missing-key": (
        _mutate(lambda c: c.pop("ff")),
        r"missing key 'ff'; required: \['model', 'flavour_dependent', 'g2', 'pdf', 'ff'\]",
    ),
    "unknown-key": (
        _mutate(lambda c: c.update(gg2=1.0)),
        r"unknown key 'gg2'; allowed: \['model', 'flavour_dependent', 'g2', 'pdf', 'ff', "
        r"'description'\]",
    ),
    "bad-model": (
        _mutate(lambda c: c.update(model="MAP24")),
        r"key 'model' = 'MAP24'; allowed: \['MAP22'\]",
    ),
    "flag-not-bool": (
        _mutate(lambda c: c.update(flavour_dependent="yes please")),
        r"key 'flavour_dependent' = 'yes please'; allowed: \[true, false\]",
    ),
    "wrong-count-list": (
        _mutate(lambda c: c.update(pdf=list(c["pdf"].values())[:10])),
        r"key 'pdf': expected 11 parameters \['N1', .*'sigma3'\], got 10",
    ),
    "missing-parameter": (
        _mutate(lambda c: c["ff"].pop("gamma2")),
        r"key 'ff': expected 9 parameters, got 8; missing \['gamma2'\]; allowed: \['N3'",
    ),
    "unknown-parameter": (
        _mutate(lambda c: c["pdf"].update(N2=0.1)),
        r"key 'pdf': unknown parameter 'N2'; " + PDF_ALLOWED,
    ),
    "nan": (
        _mutate(lambda c: c["pdf"].update(alpha1=float("nan"))),
        r"key 'pdf.alpha1' = nan: NaN/inf not allowed",
    ),
    "inf": (_mutate(lambda c: c.update(g2=float("-inf"))), r"key 'g2' = -inf: NaN/inf not allowed"),
    "nan-in-entry": (
        "model: MAP22\nflavour_dependent: false\ng2: {value: .nan, free: false}\npdf: []\nff: []\n",
        r"key 'g2.value' = nan: NaN/inf not allowed",
    ),
    "string-value": (
        _mutate(lambda c: c["ff"].update(N3="big")),
        r"key 'ff.N3' = 'big': not a number; expected a finite number",
    ),
    "bool-value": (
        _mutate(lambda c: c["ff"].update(N3=True)),
        r"key 'ff.N3' = True: expected a finite number",
    ),
    "entry-unknown-key": (
        _mutate(lambda c: c["pdf"].update(N1={"value": 0.3, "fixed": True})),
        r"key 'pdf.N1.fixed': unknown entry key; allowed: \['value', 'free'\]",
    ),
    "entry-missing-value": (
        _mutate(lambda c: c["pdf"].update(N1={"free": False})),
        r"key 'pdf.N1': missing 'value'; allowed keys: \['value', 'free'\]",
    ),
    "free-not-bool": (
        _mutate(lambda c: c["pdf"].update(N1={"value": 0.3, "free": "no"})),
        r"key 'pdf.N1.free' = 'no'; allowed: \[true, false\]",
    ),
    "block-not-mapping": (
        _mutate(lambda c: c.update(ff=3.0)),
        r"key 'ff': expected a mapping of the parameters \['N3'",
    ),
}


def _dep_mutate(fn) -> dict:
    cfg = _dependent_dict()
    fn(cfg)
    return cfg


BAD_DEPENDENT = {
    "unknown-flavour": (
        _dep_mutate(lambda c: c["pdf"].update(x=c["pdf"]["u"])),
        r"key 'pdf': key 'x': unknown flavour 'x'; " + FLAVOURS_ALLOWED + r".*'sea'\]",
    ),
    "gluon": (
        _dep_mutate(lambda c: c["ff"].update(g=c["ff"]["u"])),
        r"key 'ff': key 'g': unknown flavour 'g'; " + FLAVOURS_ALLOWED,
    ),
    "flavour-twice": (
        _dep_mutate(lambda c: c["pdf"].update({"s+c": c["pdf"]["u"]})),
        r"key 'pdf': flavour 's' appears in groups 's' and 's\+c'",
    ),
    "sea-combined": (
        _dep_mutate(lambda c: c["pdf"].update({"c+sea": c["pdf"]["u"]})),
        r"key 'c\+sea': 'sea' cannot be combined",
    ),
    "not-groups": (
        _dep_mutate(lambda c: c.update(ff=[1.0] * 9)),
        r"key 'ff': a flavour-dependent config maps flavour-group keys",
    ),
    "numeric-group-key": (
        _dep_mutate(lambda c: c["ff"].update({1: c["ff"]["u"]})),
        r"line \d+: key 1 \(int\) is not a string; keys must be strings",  # sidislab.yamlio
    ),
    "group-unknown-parameter": (
        _dep_mutate(lambda c: c["ff"]["dbar"].update(N4=1.0)),
        r"key 'ff.dbar': unknown parameter 'N4'; allowed: \['N3', 'beta1'",
    ),
    "group-wrong-count": (
        _dep_mutate(lambda c: c["pdf"].update(s=[0.1] * 12)),
        r"key 'pdf.s': expected 11 parameters .* got 12",
    ),
    "group-nan": (
        _dep_mutate(lambda c: c["pdf"]["sea"].update(lambda2=float("inf"))),
        r"key 'pdf.sea.lambda2' = inf: NaN/inf not allowed",
    ),
}


@pytest.mark.parametrize(("data", "message"), BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_bad_config_files(tmp_path, data, message):
    path = _write(tmp_path, data, "bad_fnp.yaml")
    with pytest.raises(ConfigError, match=message) as info:
        load_fnp(path)
    assert str(info.value).startswith(str(path) + ":")  # names the file


@pytest.mark.parametrize(("data", "message"), BAD_DEPENDENT.values(), ids=BAD_DEPENDENT.keys())
def test_bad_flavour_dependent_configs(tmp_path, data, message):
    path = _write(tmp_path, data, "bad_dep.yaml")
    with pytest.raises(ConfigError, match=message) as info:
        load_fnp(path)
    assert str(info.value).startswith(str(path) + ":")


def test_missing_file_and_mapping_source(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: fNP config file not found; tried"):
        load_fnp(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"^<mapping>: missing key 'model'"):
        load_fnp({"flavour_dependent": False})


def test_programmatic_config_is_checked():
    cfg = load_config(BLIND)
    short = dataclasses.replace(cfg, ff={"all": ParameterSet(values=(1.0,) * 8, free=(True,) * 8)})
    with pytest.raises(ConfigError, match=r"key 'ff.all': expected 9 values and free flags"):
        FNP(short)
    assert FNP(cfg).n_parameters == 21


def test_config_conveniences(tmp_path):
    # names under data/fnp, list form, numeric strings, optional description
    assert load_fnp("map22_flavour_blind").parameter_names() == load_fnp(BLIND).parameter_names()
    cfg = _blind_dict()
    cfg["pdf"] = list(cfg["pdf"].values())
    cfg["ff"]["N3"] = "2.1012e-1"
    model = load_fnp(_write(tmp_path, cfg))
    assert model.named_vector()["ff.N3"] == 0.21012
    torch.testing.assert_close(model.pdf(X, B, ZETA), load_fnp(BLIND).pdf(X, B, ZETA))


def test_canonicalize_keeps_the_model_and_flips_signs():
    from sidislab.fnp import load_fnp

    model = load_fnp("data/fnp/map22_flavour_blind.yaml")
    x = torch.tensor([0.05, 0.3], dtype=torch.float64)
    z = torch.tensor([0.4, 0.6], dtype=torch.float64)
    zeta = torch.tensor([2.0, 20.0], dtype=torch.float64)
    b = torch.linspace(0.0, 5.0, 11, dtype=torch.float64)
    before = model(x, z, b, zeta)
    names = model.parameter_names()
    vec = model.get_vector()
    for n in ("g2", "pdf.N1", "ff.delta1", "ff.lambdaF", "pdf.sigma1"):
        vec[names.index(n)] *= -1
    model.set_vector(vec)
    torch.testing.assert_close(model(x, z, b, zeta)[..., :].shape, before.shape)
    model.canonicalize()
    after = model.get_vector()
    assert after[names.index("pdf.N1")] > 0 and after[names.index("g2")] > 0
    assert after[names.index("pdf.sigma1")] < 0  # linear: its sign is physics
    vec[names.index("pdf.sigma1")] *= -1
    model.set_vector(vec)
    model.canonicalize()
    torch.testing.assert_close(model(x, z, b, zeta), before, rtol=1e-14, atol=0)


@pytest.mark.parametrize("path", [BLIND, DEPENDENT], ids=["blind", "dependent"])
def test_contract_equals_forward_times_lumi(path) -> None:
    """FNP.contract (per parameter set, E² after the flavour sum) is Σ_q forward_q L_q, with
    the same gradients, also for distinct groups, shared (PDF, FF) pairs and > 1 block."""
    from sidislab.fnp.flavours import DEFAULT_FLAVOURS

    model = load_fnp(path)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():  # distinct parameter sets per group
        model.free_values.mul_(1 + 0.2 * torch.rand(model.free_values.shape, generator=gen))
    n = 300  # > one block of 256 points
    x = 0.01 + 0.6 * torch.rand(n, generator=gen, dtype=torch.float64)
    z = 0.2 + 0.6 * torch.rand(n, generator=gen, dtype=torch.float64)
    zeta = 1.0 + 50 * torch.rand(n, generator=gen, dtype=torch.float64)
    b = torch.logspace(-3, 1.3, 40, dtype=torch.float64).expand(n, -1)
    lumi = torch.rand(n, len(DEFAULT_FLAVOURS), 40, generator=gen, dtype=torch.float64)
    flav = None if model.flavour_blind else DEFAULT_FLAVOURS
    ref = (model(x, z, b, zeta, flav) * lumi).sum(1)
    (g_ref,) = torch.autograd.grad(ref.square().sum(), model.free_values)
    got = model.contract(x, z, b, zeta, lumi, flav)
    (g_got,) = torch.autograd.grad(got.square().sum(), model.free_values)
    torch.testing.assert_close(got, ref, rtol=1e-13, atol=0.0)
    torch.testing.assert_close(g_got, g_ref, rtol=1e-11, atol=1e-300)


@pytest.mark.parametrize("path", [BLIND, DEPENDENT], ids=["blind", "dependent"])
@pytest.mark.parametrize("nodes", ["shared", "expanded", "per-point"])
def test_integrate_equals_weighted_contract(path, nodes) -> None:
    """FNP.integrate (fused, analytic first derivatives) is Σ_j w_j contract_j, with the
    same gradients, for distinct groups, shared (PDF, FF) pairs, nodes shared by the points
    (given as [Nb] or expanded to [N, Nb]) or per point, and several blocks of points."""
    model = load_fnp(path)
    gen = torch.Generator().manual_seed(11)
    with torch.no_grad():  # distinct parameter sets per group
        model.free_values.mul_(1 + 0.2 * torch.rand(model.free_values.shape, generator=gen))
    n, nb = 300, 40
    x = 0.01 + 0.6 * torch.rand(n, generator=gen, dtype=F64)
    z = 0.2 + 0.6 * torch.rand(n, generator=gen, dtype=F64)
    zeta = 0.5 + 50 * torch.rand(n, generator=gen, dtype=F64)  # some below Q0² (saturation)
    b = torch.logspace(-3, 1.3, nb, dtype=F64)
    if nodes == "expanded":
        b = b.expand(n, -1)
    elif nodes == "per-point":
        b = b * (0.8 + 0.4 * torch.rand(n, 1, generator=gen, dtype=F64))
    weights = torch.rand(n, nb, generator=gen, dtype=F64)
    lumi = torch.rand(n, len(DEFAULT_FLAVOURS), nb, generator=gen, dtype=F64)
    flav = None if model.flavour_blind else DEFAULT_FLAVOURS
    ref = (weights * model.contract(x, z, b, zeta, lumi, flav)).sum(-1)
    (g_ref,) = torch.autograd.grad(ref.square().sum(), model.free_values)
    got = model.integrate(x, z, b, zeta, lumi, weights, flav)
    (g_got,) = torch.autograd.grad(got.square().sum(), model.free_values)
    torch.testing.assert_close(got, ref, rtol=1e-13, atol=0.0)
    torch.testing.assert_close(g_got, g_ref, rtol=1e-11, atol=1e-14 * float(g_ref.abs().max()))


@pytest.mark.parametrize("path", [BLIND, DEPENDENT], ids=["blind", "dependent"])
def test_integrate_gradcheck_and_hessian(path) -> None:
    """First derivatives by gradcheck; second derivatives (the fit's Hessian) equal those of
    the weighted contract and pass gradgradcheck."""
    model = load_fnp(path)
    gen = torch.Generator().manual_seed(4)
    with torch.no_grad():
        model.free_values.mul_(1 + 0.3 * torch.rand(model.free_values.shape, generator=gen))
    x, z, zeta = X[1:3], Z[1:3], ZETA[1:3]
    b = torch.tensor([0.0, 0.7, 2.5, 6.0], dtype=F64)
    weights = torch.rand(2, 4, generator=gen, dtype=F64)
    flav = None if model.flavour_blind else [2, -3, 4, 1]
    lumi = torch.rand(2, 1 if model.flavour_blind else 4, 4, generator=gen, dtype=F64)

    def call(method: str):
        class Call(torch.nn.Module):  # the model's `method` as a module's forward
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self) -> torch.Tensor:
                if method == "integrate":
                    return model.integrate(x, z, b, zeta, lumi, weights, flav)
                return (weights * model.contract(x, z, b, zeta, lumi, flav)).sum(-1)

        wrapper = Call()
        return lambda free: torch.func.functional_call(wrapper, {"model.free_values": free}, ())

    fused_integrate, plain = call("integrate"), call("contract")
    free = model.get_vector().requires_grad_(True)
    assert torch.autograd.gradcheck(fused_integrate, (free,), eps=1e-6, atol=1e-8, rtol=1e-6)
    assert torch.autograd.gradgradcheck(fused_integrate, (free,), eps=1e-6, atol=1e-8, rtol=1e-5)
    theta = model.get_vector()
    h_got = torch.autograd.functional.hessian(lambda t: fused_integrate(t).square().sum(), theta)
    h_ref = torch.autograd.functional.hessian(lambda t: plain(t).square().sum(), theta)
    torch.testing.assert_close(h_got, h_ref, rtol=1e-10, atol=1e-12 * float(h_ref.abs().max()))


def test_integrate_bad_inputs(blind, dependent) -> None:
    lumi = torch.ones(4, len(DEFAULT_FLAVOURS), 6, dtype=F64)
    weights = torch.ones(4, 6, dtype=F64)
    with pytest.raises(ValueError, match=r"weights must be \[4 or 1, 6\], got \(4, 5\)"):
        blind.integrate(X, Z, B, ZETA, lumi, weights[:, :5])
    with pytest.raises(ValueError, match=r"lumi must be \[4, 10, 6\] for flavours"):
        dependent.integrate(X, Z, B, ZETA, lumi[:, :3], weights)
    with pytest.raises(KinematicsError, match="z"):
        dependent.integrate(X, Z * 2, B, ZETA, lumi, weights)
