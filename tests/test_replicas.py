"""Replicas: the fluctuation's statistics, determinism, the closure test on real
kinematics (pseudo-data at the real HERMES bins with the real covariance), resume and
failure records, picklable inputs."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from sidislab.fit import FitSettings
from sidislab.fit.bin_model import bin_centre_cross_section, bin_centres
from sidislab.fit.parallel import run_replicas_on
from sidislab.fit.replicas import (
    ReplicaData,
    fit_replica,
    fluctuate,
    replica_path,
    summarise,
)
from sidislab.measurements import apply_cuts, load_datasets

D = torch.float64
FNP = Path(__file__).resolve().parents[1] / "data" / "fnp" / "map22_flavour_blind.yaml"
FREE = ("g2", "pdf.N1", "pdf.sigma1")


def toy_data():
    g = torch.Generator().manual_seed(1)
    n = 6
    values = 1 + torch.rand(n, generator=g, dtype=D)
    sigma = 0.05 + 0.05 * torch.rand(n, generator=g, dtype=D)
    beta = torch.zeros(n, 2, dtype=D)
    beta[:3, 0] = 0.08 * values[:3]
    beta[3:, 1] = -0.05 * values[3:]
    return ReplicaData(
        values.tolist(),
        sigma.tolist(),
        beta.tolist(),
        ["A"] * 3 + ["B"] * 3,
        ["A:mult0", "B:mult0"],
    )


def test_fluctuation_has_the_full_covariance_and_is_deterministic():
    data = toy_data()
    central = torch.tensor(data.values, dtype=D)
    assert torch.equal(fluctuate(data, 0, 5), central)
    assert torch.equal(fluctuate(data, 3, 5), fluctuate(data, 3, 5))
    assert not torch.equal(fluctuate(data, 3, 5), fluctuate(data, 4, 5))
    assert not torch.equal(fluctuate(data, 3, 5), fluctuate(data, 3, 6))
    reps = torch.stack([fluctuate(data, r, 0) for r in range(1, 6001)])
    dev = reps - central
    C = data.covariance()
    emp = dev.T @ dev / len(dev)
    # sample covariance of 6000 draws: entries within ~5/sqrt(6000) of their scale
    scale = torch.sqrt(torch.outer(C.diagonal(), C.diagonal()))
    assert float(((emp - C) / scale).abs().max()) < 0.07
    assert float((dev.mean(0) / C.diagonal().sqrt()).abs().max()) < 0.07


@pytest.fixture(scope="module")
def closure(sidis_data, tmp_path_factory):
    """Pseudo-data at the real HERMES π⁺ (proton) bins after MAP22 cuts: theory at the
    true parameters, uncertainties the real relative ones (σ_i/m_i and the mult fractions
    f_ik, scaled by the pseudo-data)."""
    ds = apply_cuts(load_datasets(["HERMES_Pro_Pip*"], sidis_data))
    kwargs = {
        "centres": bin_centres(ds.bins),
        "fnp_file": str(FNP),
        "free": list(FREE),
        "cache_dir": str(tmp_path_factory.mktemp("lumi")),
    }
    xs = bin_centre_cross_section(**kwargs)
    true = xs.fnp.get_vector().clone()
    with torch.no_grad():
        t = xs()
    data = ReplicaData(
        t.tolist(),
        (ds.uncorrelated / ds.values * t).tolist(),
        (ds.corr * t.unsqueeze(1)).tolist(),
        list(ds.bins.dataset),
        list(ds.sources),
    )
    return ds, kwargs, true, data


def test_closure_central_pseudo_data_recovers_truth(closure):
    ds, kwargs, true, data = closure
    assert len(ds) == 45 and len(data.sources) > 0
    settings = FitSettings(optimizer="lbfgs", epochs=30)
    rec = fit_replica(
        0, 0, data, bin_centre_cross_section, kwargs, settings, start=(true * 1.15).tolist()
    )
    assert rec["status"] == "converged", rec.get("reason")
    got = torch.tensor(list(rec["parameters"].values()), dtype=D)
    assert torch.allclose(got, true, rtol=1e-5, atol=0)
    assert rec["chi2"] < 1e-8 and rec["chi2_central"] < 1e-8
    assert set(rec["per_dataset"]) == set(ds.names)


def test_replicas_run_resume_and_summary(closure, tmp_path):
    _, kwargs, true, data = closure
    settings = FitSettings(optimizer="lbfgs", epochs=30)
    # every input of a replica is plain and picklable (a worker can run it)
    blob = pickle.dumps((3, 0, data, bin_centre_cross_section, kwargs, settings))
    assert pickle.loads(blob)[3] is bin_centre_cross_section
    recs = run_replicas_on(
        None, 3, tmp_path, data, bin_centre_cross_section, kwargs, settings, seed=2
    )
    assert [r["replica"] for r in recs] == [1, 2, 3]
    assert all(replica_path(tmp_path, i).exists() for i in range(1, 4))
    assert all(r["status"] == "converged" for r in recs), [r["reason"] for r in recs]
    # replicas fluctuate: χ² against the replica and the central data differ from 0
    assert all(r["chi2_central"] > 1e-3 for r in recs)
    # resume: an existing file is read back, not refitted
    p = replica_path(tmp_path, 2)
    doc = json.loads(p.read_text())
    doc["marker"] = "kept"
    p.write_text(json.dumps(doc))
    again = run_replicas_on(
        None, 3, tmp_path, data, bin_centre_cross_section, kwargs, settings, seed=2
    )
    assert again[1]["marker"] == "kept"
    s = summarise(tmp_path)
    assert s.used == [1, 2, 3] and not s.failed
    assert s.parameter_names == [n for n in recs[0]["parameters"]]
    # the replica mean is near the truth: within 4 spreads/√n + a small margin
    for c, sd, t in zip(s.central, s.spread, true.tolist()):
        assert abs(c - t) <= 4 * sd / len(s.used) ** 0.5 + 1e-6 * abs(t)


def test_failed_replica_is_recorded_and_listed(closure, tmp_path):
    _, kwargs, _, data = closure
    bad = dict(kwargs, fnp_file=str(tmp_path / "missing.yaml"))
    recs = run_replicas_on(
        None, [1], tmp_path, data, bin_centre_cross_section, bad, FitSettings(epochs=2)
    )
    assert recs[0]["status"] == "failed" and "missing.yaml" in recs[0]["error"]
    s = summarise(recs)
    assert s.failed and 1 in s.failed and s.used == []


def test_uncorrelated_replica_data_without_sources():
    """K = 0 (pseudo-data with diagonal uncertainties only) fluctuates by σ alone."""
    data = ReplicaData([1.0, 2.0], [0.1, 0.2], [[], []], ["a", "a"])
    assert data.tensors()[2].shape == (2, 0)
    dev = torch.stack([fluctuate(data, r, 1) for r in range(1, 2001)]) - torch.tensor([1.0, 2.0])
    assert dev.std(0).tolist() == pytest.approx([0.1, 0.2], rel=0.08)


def test_real_data_replica_with_the_multiplicity_model(sidis_data, tmp_path, monkeypatch):
    """A replica of real HERMES data (two bins, MAP22 cuts) fitted with the bin-averaged
    multiplicity (embedded toy sets): the correlated χ² goes down and the record is
    complete. (A physics fit needs the JAM20 sets: notebook 04.)"""
    from sidislab.config import Config
    from sidislab.fit.chi2 import CorrelatedChi2
    from sidislab.fit.data_model import measured_fit_inputs, measured_multiplicity_model

    monkeypatch.setenv("SIDISLAB_CACHE_DIR", str(tmp_path / "cache"))
    sets = ["HERMES_Pro_Pip_x_0.2_0.35_z_0.3_0.375", "HERMES_Pro_Pip_x_0.2_0.35_z_0.375_0.475"]
    ds, rdata, kwargs = measured_fit_inputs(Config(), sets, FNP, ["g2", "pdf.N1"], data=sidis_data)
    assert len(ds) == len(rdata.values) >= 4
    pickle.loads(pickle.dumps((rdata, measured_multiplicity_model, kwargs)))
    model = measured_multiplicity_model(**kwargs)
    with torch.no_grad():
        before = float(CorrelatedChi2(ds)(model()))
    rec = fit_replica(1, 0, rdata, measured_multiplicity_model, kwargs, FitSettings(epochs=15))
    assert rec["status"] in ("converged", "not converged"), rec.get("error")
    assert rec["chi2_central"] < before
    assert set(rec["parameters"]) == set(model.fnp.parameter_names())


def _fresh_replicas(indices, seed, data, model, kwargs, settings, start=None):
    """Each replica on a model built for it alone, on one torch thread (as the driver)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return [fit_replica(i, seed, data, model, kwargs, settings, start) for i in indices]
    finally:
        torch.set_num_threads(threads)


def _same_fits(reused, fresh):
    for a, b in zip(reused, fresh, strict=True):
        assert a["replica"] == b["replica"] and a["status"] == b["status"]
        assert a["parameters"] == b["parameters"], a["replica"]  # bit-identical
        assert a["chi2"] == b["chi2"] and a["chi2_central"] == b["chi2_central"]
        assert a["epochs"] == b["epochs"]


def counting_model(count_file: str, **kwargs):
    """bin_centre_cross_section, with one line appended to ``count_file`` per build."""
    with open(count_file, "a") as fh:
        fh.write("built\n")
    return bin_centre_cross_section(**kwargs)


def test_driver_builds_the_model_once_and_reuses_it_bit_identically(closure, tmp_path):
    """run_replicas_on builds the model once per run (not per replica) and puts its
    parameters back before each replica: the records equal fits on fresh builds, with the
    real HERMES covariance (correlated sources: the Cholesky path)."""
    _, kwargs, true, data = closure
    settings = FitSettings(optimizer="lbfgs", epochs=30)
    start = (true * 1.15).tolist()
    count = tmp_path / "builds.txt"
    counted = dict(kwargs, count_file=str(count))
    reused = run_replicas_on(
        None, 4, tmp_path / "run", data, counting_model, counted, settings, seed=7, start=start
    )
    assert count.read_text().count("built") == 1
    assert len({r["chi2"] for r in reused}) == 4  # the replicas differ
    fresh = _fresh_replicas(range(1, 5), 7, data, bin_centre_cross_section, kwargs, settings, start)
    _same_fits(reused, fresh)
    # without start values each replica starts from the values the model was built with
    reused = run_replicas_on(
        None, 2, tmp_path / "nostart", data, counting_model, counted, settings, seed=7
    )
    fresh = _fresh_replicas(range(1, 3), 7, data, bin_centre_cross_section, kwargs, settings)
    _same_fits(reused, fresh)
    assert count.read_text().count("built") == 2
    # a second run builds again (its own model: the files it reads may have changed)
    run_replicas_on(
        None, [5], tmp_path / "run", data, counting_model, counted, settings, seed=7, start=start
    )
    assert count.read_text().count("built") == 3


def test_uncorrelated_fluctuation_equals_the_cholesky_one():
    """β ≡ 0 (K = 0, or sources that are zero everywhere): fluctuate skips the Cholesky
    factorisation and gives exactly m + chol(C) ξ."""
    from sidislab.fit.replicas import _generator

    g = torch.Generator().manual_seed(4)
    n = 50
    values = (
        torch.rand(n, generator=g, dtype=D) * 10.0 ** torch.randint(-8, 8, (n,), generator=g).to(D)
    ).tolist()
    sigma = (0.1 * torch.rand(n, generator=g, dtype=D) * torch.tensor(values, dtype=D)).tolist()
    for beta in ([[] for _ in range(n)], [[0.0, 0.0] for _ in range(n)]):
        data = ReplicaData(values, sigma, beta, ["a"] * n)
        assert data.uncorrelated
        L = torch.linalg.cholesky(data.covariance())
        for r in (1, 2, 17):
            xi = torch.randn(n, generator=_generator(3, r), dtype=D)
            assert torch.equal(fluctuate(data, r, 3), torch.tensor(values, dtype=D) + L @ xi)
    assert not toy_data().uncorrelated


def test_replica_data_pickles_without_its_cached_factor():
    data = toy_data()
    L = data.cholesky  # cached on the object
    back = pickle.loads(pickle.dumps(data))
    assert back == data and "cholesky" not in back.__dict__
    assert torch.equal(back.cholesky, L)
    assert torch.equal(fluctuate(back, 3, 1), fluctuate(data, 3, 1))
