"""Scale-out on a real Dask LocalCluster of 2 worker processes (small problems).

Invariants: a luminosity table built on the cluster is bit-identical to the serial build
(same stored CRC-32), also when a worker is killed mid-build; a failed build leaves no
file; replicas equal the serial ones for the same seeds and a rerun resumes.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

pytest.importorskip("distributed")

from sidislab.compute import Compute
from sidislab.fit import FitSettings
from sidislab.fit.bin_model import bin_centre_cross_section
from sidislab.fit.parallel import SUMMARY_NAME, run_replicas_on
from sidislab.fit.replicas import ReplicaData
from sidislab.kinematics import random_points
from sidislab.lumi.cache import LuminosityCache
from sidislab.lumi.native import NativeProvider
from sidislab.numerics.bgrid import BGrid

REPO = Path(__file__).resolve().parents[1]
GRID = BGrid(b_min=1e-4, b_max=50.0, Nb=24, spacing="log")


@pytest.fixture(scope="module")
def cluster():
    with Compute("local:2") as where:
        assert where.n_workers == 2
        yield where


@pytest.fixture(scope="module")
def native() -> NativeProvider:
    # the embedded toy sets of data/lhapdf, read from their folders (pickled as paths)
    return NativeProvider(q_range=(1.0, 10.0))


def _crc(path: Path) -> int:
    with h5py.File(path, "r") as f:
        return int(f["L"].attrs["crc32"])


def test_provider_pickles_set_paths_not_grids(native: NativeProvider) -> None:
    import pickle

    blob = pickle.dumps(native)
    assert len(blob) < 20_000  # the grids are MBs; the references a few hundred bytes
    clone = pickle.loads(blob)
    assert clone.pdf.checksum == native.pdf.checksum and clone.fingerprint() == native.fingerprint()


def test_lumi_build_bit_identical_to_serial(cluster, native, tmp_path: Path) -> None:
    kin = random_points(36, seed=1, Q2=(1.5, 60.0))
    serial = LuminosityCache(tmp_path / "serial").get_or_build(
        native, kin, GRID, chunk_size=1024, progress=False
    )
    par = LuminosityCache(tmp_path / "dask").get_or_build(
        native, kin, GRID, chunk_size=4, executor=cluster.executor, progress=False
    )
    assert par.key == serial.key and par.path.name == serial.path.name
    assert np.array_equal(par.L, serial.L)
    assert _crc(par.path) == _crc(serial.path)


def test_killed_worker_chunk_is_rerun(cluster, native, tmp_path: Path) -> None:
    kin = random_points(60, seed=2, Q2=(1.5, 60.0))
    serial = LuminosityCache(tmp_path / "serial").get_or_build(native, kin, GRID, progress=False)
    client = cluster.client
    out: dict = {}

    def build() -> None:
        try:
            out["table"] = LuminosityCache(tmp_path / "dask").get_or_build(
                native, kin, GRID, chunk_size=2, executor=cluster.executor, progress=False
            )
        except BaseException as exc:  # reported by the assertion below
            out["error"] = exc

    thread = threading.Thread(target=build)
    thread.start()
    deadline = time.monotonic() + 120
    busy: list[str] = []
    while not busy and time.monotonic() < deadline:  # wait until a worker runs a chunk
        busy = [w for w, keys in client.processing().items() if keys]
        time.sleep(0.02)
    assert busy, "no worker started a chunk"
    pids = client.run(os.getpid)
    os.kill(pids[busy[0]], signal.SIGKILL)  # the nanny starts a new worker process
    thread.join(timeout=300)
    assert "error" not in out, out.get("error")
    assert np.array_equal(out["table"].L, serial.L)
    assert _crc(out["table"].path) == _crc(serial.path)
    # the worker really died and came back
    deadline = time.monotonic() + 60
    while len(client.scheduler_info(n_workers=-1)["workers"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(client.run(os.getpid).values()) != set(pids.values())


def test_failed_build_leaves_no_table(cluster, native, tmp_path: Path) -> None:
    kin = random_points(12, seed=3, Q2=(1.5, 60.0))  # Q up to 7.7 GeV
    narrow = NativeProvider(q_range=(1.0, 3.0))  # a chunk with Q > 3 GeV raises
    cache = LuminosityCache(tmp_path)
    with pytest.raises(ValueError, match="outside the native engine's q_range"):
        cache.get_or_build(narrow, kin, GRID, chunk_size=2, executor=cluster.executor)
    assert not list(tmp_path.glob("lumi-*.h5"))
    assert cache.get(narrow, kin, GRID) is None


def _replica_problem(tmp: Path) -> tuple[ReplicaData, dict, FitSettings, list[float]]:
    """A closure problem: σ at 24 random points (analytic luminosity), 2 free parameters,
    pseudo-data at the published values with 5 % uncertainties."""
    kin = random_points(24, seed=5, PhT=(0.05, 0.8), Q2=(1.5, 20.0))
    centres = {
        "x": kin.x.tolist(),
        "Q2": kin.Q2.tolist(),
        "z": kin.z.tolist(),
        "PhT": kin.PhT.tolist(),
        "Vs": [140.0] * len(kin),
        "target_isoscalarity": 1.0,
        "hadron": "pi",
        "charge": 1,
    }
    kwargs = {
        "centres": centres,
        "fnp_file": str(REPO / "data" / "fnp" / "map22_flavour_blind.yaml"),
        "free": ["g2", "pdf.N1"],
        "cache_dir": str(tmp / "lumi"),
    }
    xs = bin_centre_cross_section(**kwargs)
    with torch.no_grad():
        sigma = xs()
    n = len(kin)
    data = ReplicaData(sigma.tolist(), (0.05 * sigma).tolist(), [[] for _ in range(n)], ["toy"] * n)
    start = (xs.fnp.get_vector() * torch.tensor([1.2, 0.8], dtype=torch.float64)).tolist()
    return data, kwargs, FitSettings(epochs=8, chunk_size=None), start


def test_replicas_identical_to_serial_and_resumable(cluster, tmp_path: Path) -> None:
    data, kwargs, settings, start = _replica_problem(tmp_path)
    model = bin_centre_cross_section
    serial = run_replicas_on(
        None, 3, tmp_path / "serial", data, model, kwargs, settings, seed=3, start=start
    )
    assert [r["status"] for r in serial] == ["converged"] * 3
    # an interrupted run: replicas 1 and 2 finished before it stopped
    out = tmp_path / "dask"
    run_replicas_on(
        cluster.executor,
        [1, 2],
        out,
        data,
        model,
        kwargs,
        settings,
        seed=3,
        start=start,
        share=cluster.share,
    )
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("replica_*.json")}
    assert sorted(before) == ["replica_0001.json", "replica_0002.json"]
    ran: list[int] = []
    full = run_replicas_on(
        cluster.executor,
        3,
        out,
        data,
        model,
        kwargs,
        settings,
        seed=3,
        start=start,
        share=cluster.share,
        callback=lambda rec: ran.append(rec["replica"]),
    )
    assert sorted(ran) == [3]  # the finished ones were skipped, not refitted
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("replica_000[12].json")} == before
    for a, b in zip(serial, full):
        assert a["replica"] == b["replica"]
        assert a["parameters"] == b["parameters"] and a["chi2"] == b["chi2"]  # bit-identical
    assert len({r["chi2"] for r in full}) == 3  # the replicas do fluctuate
    summary = json.loads((out / SUMMARY_NAME).read_text())
    assert summary["used"] == [1, 2, 3] and summary["failed"] == []
    p = np.array([[r["parameters"][n] for n in summary["parameter_names"]] for r in full])
    np.testing.assert_allclose(summary["central"], p.mean(0), rtol=1e-15)
    np.testing.assert_allclose(summary["spread"], p.std(0, ddof=1), rtol=1e-12)


def test_replicas_on_reused_worker_models_identical_to_serial(cluster, tmp_path: Path) -> None:
    """Each worker builds the model once and reuses it for its replicas, with its parameters
    put back before each one: without start values (each replica starts from the built
    model) and with a correlated source (the Cholesky path), the Dask replicas equal the
    serial ones."""
    data, kwargs, settings, _ = _replica_problem(tmp_path)
    n = len(data.values)
    corr = ReplicaData(
        data.values, data.sigma, [[0.08 * v] for v in data.values], data.datasets, ["norm"]
    )
    assert not corr.uncorrelated and n == 24
    args = (corr, bin_centre_cross_section, kwargs, settings)
    serial = run_replicas_on(None, 6, tmp_path / "serial", *args, seed=4)
    ran: list[int] = []
    par = run_replicas_on(
        cluster.executor,
        6,
        tmp_path / "dask",
        *args,
        seed=4,
        share=cluster.share,
        callback=lambda rec: ran.append(rec["replica"]),
    )
    assert sorted(ran) == [1, 2, 3, 4, 5, 6]
    for a, b in zip(serial, par, strict=True):
        assert a["status"] == b["status"] == "converged", (a.get("reason"), b.get("reason"))
        assert a["parameters"] == b["parameters"] and a["chi2"] == b["chi2"]  # bit-identical
    assert len({r["chi2"] for r in par}) == 6
