"""Scale-out on Dask, side by side in one run: a luminosity build serial vs a LocalCluster
of 2 workers, and 20 fit replicas on 1 vs 2 workers.

- lumi: the native provider (embedded toy sets, NLL) on N random points × 256 b-nodes
  (N calibrated so that the serial build takes ``--seconds`` = 35 s; ≈ 20 kB of table
  per point, so 1–2 GB of memory on a fast machine), built into a fresh cache serially,
  then with ``--dask local:2`` (chunks balanced over the workers); the two tables must be
  bit-identical (same stored CRC-32). Cluster start-up is timed apart, not in the ratio.
- replicas: 20 replicas (:func:`sidislab.fit.parallel.run_replicas_on`) of a closure fit
  (σ at 400 random bin centres with an analytic luminosity, 3 free parameters, ≤ 30
  LBFGS epochs) on ``local:1`` and on ``local:2``, after each worker has imported and
  built the model once (a worker's first task otherwise pays 2–4 s of start-up).

Speed-ups need idle cores: the load average before and after is printed with the table.

    python benchmarks/bench_compute.py [--seconds 35 | --points N] [--replicas 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import h5py
import torch

REPO = Path(__file__).resolve().parents[1]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def _crc(path: Path) -> int:
    with h5py.File(path, "r") as f:
        return int(f["L"].attrs["crc32"])


def bench_lumi(
    n: int | None, seconds: float, workers: int, tmp: Path
) -> list[tuple[str, float, str]]:
    from sidislab.compute import Compute, balanced_chunk_size
    from sidislab.kinematics import random_points
    from sidislab.lumi.cache import (
        DEFAULT_CACHE_GRID,
        DEFAULT_CHUNK_SIZE,
        LuminosityCache,
        build_chunk,
    )
    from sidislab.lumi.native import NativeProvider

    provider = NativeProvider(q_range=(1.0, 10.0))
    if n is None:  # as many points as take `seconds` serially (≈ 20 kB of table each)
        probe = random_points(1000, seed=12, Q2=(1.5, 60.0))
        nodes = DEFAULT_CACHE_GRID.nodes().numpy()
        build_chunk(provider, probe, nodes)  # builds the TMD tables
        t0 = time.perf_counter()
        build_chunk(provider, probe, nodes)
        n = min(100_000, int(seconds / ((time.perf_counter() - t0) / 1000)))
        provider = NativeProvider(q_range=(1.0, 10.0))  # fresh: the build tabulates again
    kin = random_points(n, seed=11, Q2=(1.5, 60.0))
    t0 = time.perf_counter()
    serial = LuminosityCache(tmp / "serial").get_or_build(provider, kin, progress=False)
    t_serial = time.perf_counter() - t0
    crc_serial = _crc(serial.path)
    del serial
    t0 = time.perf_counter()
    with Compute(f"local:{workers}") as where:
        t_start = time.perf_counter() - t0
        chunk = balanced_chunk_size(n, where.n_workers, DEFAULT_CHUNK_SIZE)
        t0 = time.perf_counter()
        par = LuminosityCache(tmp / "dask").get_or_build(
            provider, kin, chunk_size=chunk, executor=where.executor, progress=False
        )
        t_dask = time.perf_counter() - t0
    same = "bit-identical" if _crc(par.path) == crc_serial else "DIFFERENT TABLES"
    return [
        (f"lumi build, {n} points, serial", t_serial, ""),
        (f"lumi build, {n} points, local:{workers}", t_dask, f"{t_serial / t_dask:.2f}× ({same})"),
        (f"  (LocalCluster start-up, local:{workers})", t_start, ""),
    ]


def _warm_worker(model, kwargs) -> None:
    """Import and build the model once on a worker (its first replica would pay it)."""
    model(**kwargs)


def _replica_problem(tmp: Path, n: int = 400):
    from sidislab.fit import FitSettings
    from sidislab.fit.bin_model import bin_centre_cross_section
    from sidislab.fit.replicas import ReplicaData
    from sidislab.kinematics import random_points

    kin = random_points(n, seed=5, PhT=(0.05, 0.8), Q2=(1.5, 20.0))
    centres = {
        "x": kin.x.tolist(),
        "Q2": kin.Q2.tolist(),
        "z": kin.z.tolist(),
        "PhT": kin.PhT.tolist(),
        "Vs": [140.0] * n,
        "target_isoscalarity": 1.0,
        "hadron": "pi",
        "charge": 1,
    }
    kwargs = {
        "centres": centres,
        "fnp_file": str(REPO / "data" / "fnp" / "map22_flavour_blind.yaml"),
        "free": ["g2", "pdf.N1", "ff.N3"],
        "cache_dir": str(tmp / "lumi-replicas"),
    }
    xs = bin_centre_cross_section(**kwargs)
    with torch.no_grad():
        sigma = xs()
    data = ReplicaData(sigma.tolist(), (0.05 * sigma).tolist(), [[] for _ in range(n)], ["toy"] * n)
    start = (xs.fnp.get_vector() * 1.15).tolist()
    return bin_centre_cross_section, kwargs, data, FitSettings(epochs=30, chunk_size=None), start


def bench_replicas(n_rep: int, workers: int, tmp: Path) -> list[tuple[str, float, str]]:
    from sidislab.compute import Compute
    from sidislab.fit.parallel import run_replicas_on

    model, kwargs, data, settings, start = _replica_problem(tmp)
    times = {}
    results = {}
    for w in (1, workers):
        with Compute(f"local:{w}") as where:
            where.client.run(_warm_worker, model, kwargs)  # start-up is not what we time
            t0 = time.perf_counter()
            results[w] = run_replicas_on(
                where.executor,
                n_rep,
                tmp / f"replicas-{w}",
                data,
                model,
                kwargs,
                settings,
                seed=1,
                start=start,
                share=where.share,
            )
            times[w] = time.perf_counter() - t0
    same = all(a["parameters"] == b["parameters"] for a, b in zip(results[1], results[workers]))
    ok = sum(r["status"] == "converged" for r in results[workers])
    note = (
        f"{times[1] / times[workers]:.2f}× ({'identical' if same else 'DIFFERENT'}, {ok} converged)"
    )
    return [
        (f"{n_rep} replicas, local:1", times[1], ""),
        (f"{n_rep} replicas, local:{workers}", times[workers], note),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, help="lumi build points (default: --seconds' worth)")
    ap.add_argument("--seconds", type=float, default=35.0, help="serial lumi build time (35)")
    ap.add_argument("--replicas", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("bench_compute: skipped (Dask not installed: pip install 'sidislab[dask]')")
        return
    print(f"Dask scale-out, {args.workers} workers; before: {_load()}")
    tmp = Path(tempfile.mkdtemp(prefix="sidislab-bench-compute-"))
    try:
        rows = bench_lumi(args.points, args.seconds, args.workers, tmp)
        rows += bench_replicas(args.replicas, args.workers, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'case':<44} {'time [s]':>9}   speed-up")
    for name, t, note in rows:
        print(f"{name:<44} {t:>9.2f}   {note}")
    print(f"after: {_load()}")


if __name__ == "__main__":
    main()
