"""Scale-out on Dask, side by side in one run: a luminosity build serial vs a LocalCluster
of 2 workers, and 20 fit replicas on 1 vs 2 workers.

- lumi: the native provider on N random points × 256 b-nodes — the JAM20-SIDIS sets of
  ``../shared/lhapdf`` at N³LL (what a real-data fit builds) where present, else the
  embedded toy sets at NLL (``--lumi-sets``) — with N calibrated so that the serial build
  takes ``--seconds`` = 35 s (≈ 20 kB of table per point: 2–3 GB here), built as
  ``sidislab lumi build`` builds it (:meth:`LuminosityCache.ensure`: the file, not the
  table in memory) into a fresh cache serially and with ``--dask local:2`` (chunks
  balanced over the workers; each task writes its rows into the file itself), in
  ``--lumi-repeat`` = 2 blocks of the order serial, Dask, Dask, serial; the fastest run of
  each side is compared, and the ratio of the medians is printed too (on a VM the first
  large allocation after a while is slower: the host maps the pages in again, 41 s
  against 33 s for the same serial build; the same build ran 36.6–40.6 s on different
  days). All tables must be bit-identical (same stored CRC-32). Cluster start-up is timed
  apart, not in the ratio. Before each block the machine's pure-CPU ceiling is measured.
- replicas: 20 replicas (:func:`sidislab.fit.parallel.run_replicas_on`) of a closure fit
  sized like a real HERMES replica fit: σ at ``--replica-points`` = 4608 random
  HERMES-range points (the luminosity nodes the default bin rule needs for the 180
  HERMES π bins after the MAP22 cuts, so one forward + backward handles as many
  luminosity points as the bin-averaged fit's) with an analytic luminosity, pseudo-data
  with 5 % uncorrelated uncertainties, the 3 free parameters of the notebook-04 fit (g2,
  pdf.N1, ff.N3) started 15 % off, ≤ 30 LBFGS epochs: 0.5–2 s a replica on one core (the
  mean is printed; the earlier 400-point problem took 0.2 s, so per-task costs and each
  worker's first-fit start-up hid the scaling). On ``local:1`` and on ``local:2``, each
  worker first runs a one-epoch fit and one replica fit as a task (a worker's first fit
  imports torch's optimiser machinery, torch._dynamo: 1.7 s, and a new thread's first
  fits run slower until its malloc arena has grown): that start-up is timed apart and
  shown, and the ratio with it included is printed too. What is timed includes
  everything a user's run pays per worker: the inputs sent once per worker, the model
  built once per worker, the replica files and the summary. The breakdown (from Dask's
  task stream) shows each worker's busy time, the mean gap between its tasks (scheduler
  latency), when each worker finished (load imbalance) and the CPU share each worker
  process got (the machine is shared: below 100 % another process took the core). The
  two worker counts run alternately, ``--repeat`` = 3 times each, and the fastest run of
  each is compared (the ratio of the medians is printed too); the CPU the other processes on the machine used meanwhile is printed,
  and so is the ratio of the workers' CPU seconds (what the wall ratio would be had each
  worker had a whole core). Before each pair of runs the machine's ceiling is measured:
  the speed-up pure-CPU work gets from 1 to 2 processes at that moment.

Beside each ratio the bench measures what the same work gets from plain processes at that
moment (:func:`workload_ceiling`: the lumi chunks, or the replica fits, in 1 vs 2 processes
started together, no Dask); the gap between that and the Dask ratio is what Dask and the
build's structure cost. On the 2-vCPU VM this was written on, both ceilings move between
runs (1.36–2.03× for pure-CPU work), so the ratios are best read next to them.

Speed-ups need idle cores: the load average before and after is printed with the table.

    python benchmarks/bench_compute.py [--seconds 35 | --points N] [--replicas 20]
        [--workers 2] [--replica-points 4608] [--repeat 3] [--skip-lumi | --skip-replicas]
        [--lumi-sets auto|jam20|toy] [--lumi-repeat 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
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


def _lumi_provider(sets: str):
    """The provider of the lumi build: the JAM20-SIDIS sets of ``../shared/lhapdf`` at
    N³LL (what a real-data fit builds) when present and ``sets`` is ``auto`` or ``jam20``,
    else the embedded toy sets at NLL; a fresh one each call (the build tabulates)."""
    from sidislab.lumi.native import NativeProvider

    shared = Path(os.environ.get("SIDISLAB_SHARED", REPO.parent / "shared")) / "lhapdf"
    if sets != "toy" and (shared / "JAM20-SIDIS_PDF_proton_nlo").exists():
        return NativeProvider(
            "JAM20-SIDIS_PDF_proton_nlo",
            "JAM20-SIDIS_FF_pion_nlo",
            3,
            paths=[str(shared)],
            q_range=(1.0, 10.0),
        ), "JAM20-SIDIS sets, N³LL"
    if sets == "jam20":
        raise SystemExit(f"bench_compute: --lumi-sets jam20 needs {shared}")
    return NativeProvider(q_range=(1.0, 10.0)), "embedded toy sets, NLL"


def bench_lumi(
    n: int | None,
    seconds: float,
    workers: int,
    tmp: Path,
    sets: str = "auto",
    repeat: int = 1,
) -> tuple[list[tuple[str, float, str]], list[str]]:
    """Serial vs ``local:workers`` builds of one table, ``repeat`` times in the order
    serial, Dask, Dask, serial (each into a fresh cache); the fastest run of each side is
    compared, so that neither side always runs first (on a VM the first large allocation
    after a while costs more: the host maps the pages in again). The ratio of the medians
    is printed too, and the machine's pure-CPU ceiling before each block of four runs."""
    from sidislab.compute import Compute, balanced_chunk_size
    from sidislab.kinematics import random_points
    from sidislab.lumi.cache import (
        DEFAULT_CACHE_GRID,
        DEFAULT_CHUNK_SIZE,
        LuminosityCache,
        build_chunk,
    )

    provider, what = _lumi_provider(sets)
    if n is None:  # as many points as take `seconds` serially (≈ 20 kB of table each)
        probe = random_points(1000, seed=12, Q2=(1.5, 60.0))
        nodes = DEFAULT_CACHE_GRID.nodes().numpy()
        build_chunk(provider, probe, nodes)  # builds the TMD tables
        t0 = time.perf_counter()
        build_chunk(provider, probe, nodes)
        n = min(150_000, int(seconds / ((time.perf_counter() - t0) / 1000)))
    kin = random_points(n, seed=11, Q2=(1.5, 60.0))
    times: dict[str, list[float]] = {"serial": [], "dask": []}
    cpu: dict[str, list[tuple[float, float]]] = {"serial": [], "dask": []}  # (workers, here)
    crcs: set[int] = set()
    starts = []
    bounds, plain = [], []
    for k, mode in enumerate(("serial", "dask", "dask", "serial") * repeat):
        if k % 4 == 0:
            bounds.append(ceiling(workers))
            plain.append(
                workload_ceiling(
                    _lumi_unit,
                    lambda m, i: (
                        sets,
                        kin.subset(slice(0, 4096 * m)),
                        1024,
                        4 * m,
                        str(tmp / f"plain-{i}.bin"),
                    ),
                    workers,
                )
            )
        provider, _ = _lumi_provider(sets)  # fresh: the build tabulates again
        cache = LuminosityCache(tmp / f"lumi-{k}")
        if mode == "serial":
            t0, c0 = time.perf_counter(), time.process_time()
            path = cache.ensure(provider, kin, progress=False)
            times[mode].append(time.perf_counter() - t0)
            cpu[mode].append((0.0, time.process_time() - c0))
        else:
            t0 = time.perf_counter()
            with Compute(f"local:{workers}") as where:
                starts.append(time.perf_counter() - t0)
                chunk = balanced_chunk_size(n, where.n_workers, DEFAULT_CHUNK_SIZE)
                w0 = where.client.run(time.process_time)
                t0, c0 = time.perf_counter(), time.process_time()
                path = cache.ensure(
                    provider, kin, chunk_size=chunk, executor=where.executor, progress=False
                )
                times[mode].append(time.perf_counter() - t0)
                here = time.process_time() - c0
                w1 = where.client.run(time.process_time)
                cpu[mode].append((sum(w1[k] - w0[k] for k in w1), here))
        crcs.add(_crc(path))
        shutil.rmtree(tmp / f"lumi-{k}", ignore_errors=True)
    t_serial, t_dask = min(times["serial"]), min(times["dask"])
    best = {m: cpu[m][times[m].index(min(times[m]))] for m in cpu}
    same = "bit-identical" if len(crcs) == 1 else "DIFFERENT TABLES"
    medians = {m: statistics.median(v) for m, v in times.items()}
    rows = [
        (f"lumi build, {n} points, serial", t_serial, ""),
        (
            f"lumi build, {n} points, local:{workers}",
            t_dask,
            f"{t_serial / t_dask:.2f}× ({same}; medians {medians['serial'] / medians['dask']:.2f}×)",
        ),
        (f"  (LocalCluster start-up, local:{workers})", min(starts), ""),
    ]
    notes = [
        f"  lumi: {what}, {n} points × 256 nodes ({n * 10 * 256 * 8 / 1e9:.2f} GB of table); "
        f"serial runs {', '.join(f'{t:.2f}' for t in times['serial'])} s, "
        f"local:{workers} runs {', '.join(f'{t:.2f}' for t in times['dask'])} s, in the "
        "order S D D S per block; each side's fastest run is compared",
        f"  the machine's ceiling before each block (pure-CPU work, 1 vs {workers} processes): "
        + ", ".join(f"{b:.2f}×" for b in bounds)
        + f"; the build's own work (4 chunks of 1024 points computed and written to a file per "
        f"process) in plain processes, no Dask, 1 vs {workers} at once: "
        + ", ".join(f"{b:.2f}×" for b in plain),
        f"  lumi CPU seconds of those runs: serial {best['serial'][1]:.2f}; local:{workers}: "
        f"workers {best['dask'][0]:.2f}, this process {best['dask'][1]:.2f} (the scheduler, "
        "and combining the chunks' checksums): the cores had "
        f"{workers * t_dask:.2f} s to give",
    ]
    return rows, notes


def _warm_worker(model, kwargs, data, settings, start) -> float:
    """A one-epoch fit and a whole replica fit, as a task on this worker's task thread
    (imports torch's optimiser machinery, runs every code path a replica runs, and grows
    the thread's malloc arena to a replica's working set: in a fresh thread the first ten
    replicas took 4.0 s against 2.9 s once warm); returns its seconds."""
    from sidislab.fit.replicas import fit_replica

    t0 = time.perf_counter()
    torch.set_num_threads(1)
    fit_replica(0, 0, data, model, kwargs, dataclasses.replace(settings, epochs=1), start)
    fit_replica(0, 0, data, model, kwargs, settings, start)
    return time.perf_counter() - t0


def _worker_state() -> tuple[int, float]:
    """(torch threads, CPU seconds) of a worker process."""
    return torch.get_num_threads(), time.process_time()


def _replica_problem(tmp: Path, n: int):
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
    xs = bin_centre_cross_section(**kwargs)  # fills the luminosity cache the workers read
    with torch.no_grad():
        sigma = xs()
    data = ReplicaData(sigma.tolist(), (0.05 * sigma).tolist(), [[] for _ in range(n)], ["toy"] * n)
    start = (xs.fnp.get_vector() * 1.15).tolist()
    return bin_centre_cross_section, kwargs, data, FitSettings(epochs=30, chunk_size=None), start


def _breakdown(stream: list[dict], wall: float, cpu: dict[str, float]) -> str:
    """Per worker: tasks, busy seconds, mean gap between tasks, finish time, CPU share."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for t in stream:
        for ss in t["startstops"]:
            if ss["action"] == "compute":
                spans.setdefault(t["worker"], []).append((ss["start"], ss["stop"]))
    if not spans:
        return "    (no task stream)"
    t0 = min(a for v in spans.values() for a, _ in v)
    lines = []
    for i, (w, v) in enumerate(sorted(spans.items())):
        v.sort()
        gaps = [v[k + 1][0] - v[k][1] for k in range(len(v) - 1)]
        lines.append(
            f"    worker {i}: {len(v)} tasks, busy {sum(b - a for a, b in v):.2f} s, mean gap "
            f"{1e3 * sum(gaps) / max(1, len(gaps)):.1f} ms, done at {v[-1][1] - t0:.2f} s, "
            f"CPU {cpu.get(w, float('nan')):.2f} s ({100 * cpu.get(w, 0) / wall:.0f} % of a core)"
        )
    return "\n".join(lines)


def _spin(n: int) -> int:
    """Pure CPU work that touches no memory to speak of."""
    x = 0
    for i in range(n):
        x += i * i % 7
    return x


def ceiling(workers: int, n: int = 10_000_000) -> float:
    """The speed-up the machine gives right now to ``2·workers`` equal pure-CPU units in 1
    vs ``workers`` processes: the upper bound for any workload at the current load."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    times = []
    for w in (1, workers):
        with ctx.Pool(w) as pool:
            pool.map(_spin, [1000] * w)  # processes started before timing
            t0 = time.perf_counter()
            pool.map(_spin, [n] * (2 * workers), chunksize=1)
            times.append(time.perf_counter() - t0)
    return times[0] / times[1]


_BARRIER = None


def _init_unit(barrier) -> None:
    global _BARRIER
    _BARRIER = barrier
    torch.set_num_threads(1)


def _replica_unit(args) -> float:
    """``k`` replica fits (:func:`~sidislab.fit.parallel.replica_task`, as a Dask task runs
    them) in this plain process, after building the model and two warm-up fits; the
    processes of one measurement start together (a barrier). Returns the seconds."""
    from sidislab.fit.parallel import ReplicaJob, replica_task

    (model, kwargs, data, settings, start), k = args
    job = ReplicaJob(data, model, kwargs, settings, tuple(start), "plain-process")
    replica_task(0, 0, job)
    replica_task(0, 1, job)
    _BARRIER.wait()
    t0 = time.perf_counter()
    for r in range(1, k + 1):
        replica_task(r, 1, job)
    return time.perf_counter() - t0


def _lumi_unit(args) -> float:
    """The rows of ``chunks`` chunks of a luminosity build computed
    (:func:`~sidislab.lumi.cache.build_chunk`) and written to a file of their own in this
    plain process, after the provider has tabulated its TMDs; the processes of one
    measurement start together. Returns the seconds."""
    from sidislab.lumi.cache import DEFAULT_CACHE_GRID, build_chunk

    sets, kin, chunk, chunks, path = args
    provider, _ = _lumi_provider(sets)
    nodes = DEFAULT_CACHE_GRID.nodes().numpy()
    build_chunk(provider, kin.subset(slice(0, chunk)), nodes)  # tabulates the TMDs, warms
    _BARRIER.wait()
    t0 = time.perf_counter()
    with open(path, "wb") as fh:
        for c in range(chunks):
            part = kin.subset(slice(c * chunk, (c + 1) * chunk))
            build_chunk(provider, part, nodes).tofile(fh)
    elapsed = time.perf_counter() - t0
    os.unlink(path)
    return elapsed


def workload_ceiling(unit, args_of, workers: int) -> float:
    """The speed-up the workload itself gets right now from ``workers`` plain processes (no
    Dask): ``workers`` units of ``unit`` in one process vs one unit in each of ``workers``
    processes at once. ``args_of(n, i)``: the arguments of process ``i`` doing ``n`` units.
    What Dask adds on top (scheduler, nannies, worker event loops, task hand-offs, each
    worker's start) is the gap between this and the Dask ratio."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    times = []
    for w in (1, workers):
        barrier = ctx.Barrier(w)
        with ctx.Pool(w, initializer=_init_unit, initargs=(barrier,)) as pool:
            n = workers if w == 1 else 1
            times.append(max(pool.map(unit, [args_of(n, i) for i in range(w)])))
    return times[0] / times[1]


def _cpu_now() -> tuple[float, float, float]:
    """(CPU seconds busy on the whole machine, of it VM steal, used by this process and
    its children: the cluster's scheduler, nannies and workers)."""
    import psutil

    t = psutil.cpu_times()
    busy = t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
    ours = 0.0
    me = psutil.Process()
    for proc in [me, *me.children(recursive=True)]:
        try:
            c = proc.cpu_times()
        except psutil.Error:
            continue
        ours += c.user + c.system
    return busy, getattr(t, "steal", 0.0), ours


def _replica_run(w, problem, n_rep, tmp, run) -> dict:
    """One timed run of ``n_rep`` replicas on ``local:w`` (after each worker's warm-up)."""
    import distributed

    from sidislab.compute import Compute
    from sidislab.fit.parallel import run_replicas_on

    model, kwargs, data, settings, start = problem
    with Compute(f"local:{w}") as where:
        futures = [  # one on each worker, in its task thread (client.run uses another)
            where.client.submit(
                _warm_worker, model, kwargs, data, settings, start, workers=[a], pure=False
            )
            for a in where.client.scheduler_info()["workers"]
        ]
        warm = max(where.client.gather(futures))
        del futures
        state0 = where.client.run(_worker_state)
        load = os.getloadavg()[0]
        busy0, steal0, ours0 = _cpu_now()
        with distributed.get_task_stream(where.client) as ts:
            t0 = time.perf_counter()
            records = run_replicas_on(
                where.executor,
                n_rep,
                tmp / f"replicas-{w}-{run}",
                data,
                model,
                kwargs,
                settings,
                seed=1,
                start=start,
                share=where.share,
            )
            wall = time.perf_counter() - t0
        busy1, steal1, ours1 = _cpu_now()
        state1 = where.client.run(_worker_state)
    cpu = {k: state1[k][1] - state0[k][1] for k in state1}
    return {
        "wall": wall,
        "warm": warm,
        "load": load,
        "threads": sorted({n for n, _ in state1.values()}),
        "cpu": cpu,
        "others": max(0.0, (busy1 - busy0) - (ours1 - ours0)) / wall,
        "steal": (steal1 - steal0) / wall,
        "records": records,
        "stream": ts.data,
    }


def bench_replicas(
    n_rep: int, workers: int, n_points: int, tmp: Path, repeat: int = 1
) -> tuple[list[tuple[str, float, str]], list[str]]:
    """Runs on local:1 and local:``workers`` alternately, ``repeat`` times each; the
    fastest run of each is the one compared (the others' load varies from run to run)."""
    problem = _replica_problem(tmp, n_points)
    runs: dict[int, list[dict]] = {1: [], workers: []}
    bounds = []
    plain = []
    for k in range(repeat):
        bounds.append(ceiling(workers))
        plain.append(workload_ceiling(_replica_unit, lambda m, i: (problem, 5 * m), workers))
        for w in (1, workers):
            runs[w].append(_replica_run(w, problem, n_rep, tmp, k))
    best = {w: min(v, key=lambda r: r["wall"]) for w, v in runs.items()}
    notes = []
    for w, r in best.items():
        fit_s = sum(rec["seconds"] for rec in r["records"])
        others = ", ".join(f"{x['wall']:.2f}" for x in runs[w])
        notes.append(
            f"  local:{w}: best {r['wall']:.2f} s wall of [{others}], at load {r['load']:.2f}; "
            f"other processes used {r['others']:.2f} cores meanwhile (VM steal "
            f"{r['steal']:.2f}); torch threads per worker {r['threads']}; Σ replica seconds "
            f"{fit_s:.2f} (mean {fit_s / n_rep:.2f} s); first-fit start-up {r['warm']:.2f} s "
            "per worker (not in the wall time)\n" + _breakdown(r["stream"], r["wall"], r["cpu"])
        )
    t1, tw = best[1]["wall"], best[workers]["wall"]
    same = all(
        a["parameters"] == b["parameters"] and a["chi2"] == b["chi2"]
        for a, b in zip(best[1]["records"], best[workers]["records"])
    )
    ok = sum(rec["status"] == "converged" for rec in best[workers]["records"])
    with_start = (t1 + best[1]["warm"]) / (tw + best[workers]["warm"])
    cpu1, cpuw = sum(best[1]["cpu"].values()), sum(best[workers]["cpu"].values())
    med = statistics.median(r["wall"] for r in runs[1]) / statistics.median(
        r["wall"] for r in runs[workers]
    )
    note = (
        f"{t1 / tw:.2f}× ({'identical' if same else 'DIFFERENT'}, {ok} converged; "
        f"medians {med:.2f}×; {with_start:.2f}× with the workers' start-up)"
    )
    notes.append(
        f"  CPU-time view: the workers used {cpu1:.2f} s of CPU on local:1 and {cpuw:.2f} s "
        f"on local:{workers} for the same replicas; the wall ratio had each worker had a "
        f"whole core (busy time at the CPU it used) would be {workers * cpu1 / cpuw:.2f}×"
    )
    notes.append(
        f"  the machine's ceiling before each pair of runs (pure-CPU work, 1 vs {workers} "
        f"processes): {', '.join(f'{b:.2f}×' for b in bounds)}; the same replica fits in "
        f"plain processes, no Dask (5 per process, 1 vs {workers} at once): "
        f"{', '.join(f'{b:.2f}×' for b in plain)}"
    )
    epochs = sorted(rec["epochs"] for rec in best[workers]["records"])
    notes.append(f"  LBFGS epochs per replica: {epochs}")
    rows = [
        (f"{n_rep} replicas × {n_points} points, local:1", t1, ""),
        (f"{n_rep} replicas × {n_points} points, local:{workers}", tw, note),
    ]
    return rows, notes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, help="lumi build points (default: --seconds' worth)")
    ap.add_argument("--seconds", type=float, default=35.0, help="serial lumi build time (35)")
    ap.add_argument("--replicas", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--replica-points", type=int, default=4608, help="points per replica fit")
    ap.add_argument("--skip-lumi", action="store_true", help="the replica part only")
    ap.add_argument("--skip-replicas", action="store_true", help="the lumi part only")
    ap.add_argument(
        "--lumi-sets",
        choices=("auto", "jam20", "toy"),
        default="auto",
        help="sets of the lumi build: JAM20-SIDIS at N3LL where ../shared has them (auto)",
    )
    ap.add_argument("--repeat", type=int, default=3, help="replica runs per worker count (3)")
    ap.add_argument("--lumi-repeat", type=int, default=2, help="blocks of lumi runs S D D S (2)")
    args = ap.parse_args()
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("bench_compute: skipped (Dask not installed: pip install 'sidislab[dask]')")
        return
    print(f"Dask scale-out, {args.workers} workers; before: {_load()}")
    tmp = Path(tempfile.mkdtemp(prefix="sidislab-bench-compute-"))
    try:
        rows, notes = [], []
        if not args.skip_lumi:
            lumi_rows, lumi_notes = bench_lumi(
                args.points, args.seconds, args.workers, tmp, args.lumi_sets, args.lumi_repeat
            )
            rows += lumi_rows
            notes += lumi_notes
        if not args.skip_replicas:
            replica_rows, replica_notes = bench_replicas(
                args.replicas, args.workers, args.replica_points, tmp, args.repeat
            )
            rows += replica_rows
            notes += replica_notes
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'case':<48} {'time [s]':>9}   speed-up")
    for name, t, note in rows:
        print(f"{name:<48} {t:>9.2f}   {note}")
    print("\n".join(notes))
    print(f"after: {_load()}")


if __name__ == "__main__":
    main()
