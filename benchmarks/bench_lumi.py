"""Benchmark of the native luminosity provider: 10⁴ kinematic points × 256 b-nodes on 2 cores.

Run: ``python benchmarks/bench_lumi.py [--points N] [--nodes NB] [--cores C] [--orders 1,2,3]
[--ci 1,2]``.
Uses the JAM20-SIDIS sets of ``../shared/lhapdf`` when present, else the embedded default
sets of ``data/lhapdf``, with the package defaults (α_s ipol, continuation below Q_min).
Prints a table of wall times (tabulation and evaluation, per order), their ratio to the
target (30 s for tabulation + evaluation) and each order's total relative to NNLL at the
same C_i (the issue's target for N³LL: ≤ 2× NNLL). With C_i ≠ 1 the orders with NNLO
matching also tabulate the ln C_i terms (nested convolutions, :mod:`sidislab.tmd.nnlo_scale_logs`).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SIDISLAB_SHARED", REPO.parent / "shared"))
TARGET_S = 30.0


def _limit_cores(cores: int) -> str:
    """Pin the process to ``cores`` CPUs (and the thread pools to as many threads)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(cores)
    try:
        avail = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(avail[:cores]))
        return f"{min(cores, len(avail))} of {len(avail)} CPUs (affinity)"
    except (AttributeError, OSError):
        return f"{cores} threads (no affinity control)"


def _points(n: int, seed: int = 11):
    import numpy as np

    from sidislab.kinematics import from_mapping

    rng = np.random.default_rng(seed)
    vs = 17.35
    q2 = np.exp(rng.uniform(np.log(1.2), np.log(60.0), n))
    x_lo = q2 / (0.9 * vs**2)
    x = np.exp(rng.uniform(np.log(x_lo), np.log(0.6)))
    z = rng.uniform(0.2, 0.8, n)
    pht = rng.uniform(0.05, 1.0, n) * z
    doc = {
        "header": {"Vs": vs},
        "data": {"x": x.tolist(), "Q2": q2.tolist(), "z": z.tolist(), "PhT": pht.tolist()},
    }
    return from_mapping(doc, qToQcut=100.0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--nodes", type=int, default=256)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--orders", default="1,2,3")
    ap.add_argument(
        "--ci",
        default="1,2",
        help="C_i values (each order at each; C_i ≠ 1 at N3LL tabulates "
        "the ln C_i terms of the NNLO matching)",
    )
    args = ap.parse_args(argv)
    where = _limit_cores(args.cores)

    import numpy as np
    import torch

    torch.set_num_threads(args.cores)
    from sidislab.collinear import load_set
    from sidislab.lumi.native import NativeProvider

    if (SHARED / "lhapdf" / "JAM20-SIDIS_PDF_proton_nlo").exists():
        names = ("JAM20-SIDIS_PDF_proton_nlo", "JAM20-SIDIS_FF_pion_nlo")
        paths = [str(SHARED / "lhapdf")]
    else:
        names, paths = ("sidislab_toy_proton_nlo", "sidislab_toy_pip_nlo"), None
    t0 = time.perf_counter()
    pdf, ff = (load_set(n, paths=paths, extrapolation="continuation") for n in names)
    t_load = time.perf_counter() - t0
    kin = _points(args.points)
    b = np.logspace(-3, np.log10(20.0), args.nodes)

    print(f"native luminosity: {args.points} points × {args.nodes} b-nodes, {where}")
    print(f"sets: {names[0]}, {names[1]} (loaded in {t_load:.2f} s)")
    header = (
        f"{'order':>5}  {'C_i':>4}  {'tabulate [s]':>12}  {'evaluate [s]':>12}  {'total [s]':>9}  "
        f"{'µs/point':>9}  {'total/target':>12}  {'total/NNLL':>10}"
    )
    print(header)
    print("-" * len(header))
    orders = [int(o) for o in args.orders.split(",")]
    if 2 in orders:  # NNLL first: the reference of the ratio column
        orders = [2] + [o for o in orders if o != 2]
    cis = [float(c) for c in args.ci.split(",")]
    totals: dict[tuple[int, float], float] = {}
    for ci in cis:
        for order in orders:
            prov = NativeProvider(pdf, ff, order, Ci=ci)
            t0 = time.perf_counter()
            prov.table("pdf")
            prov.table("ff")
            prov.evolution()
            t_tab = time.perf_counter() - t0
            t0 = time.perf_counter()
            L = prov.luminosity(kin, b)
            t_eval = time.perf_counter() - t0
            assert L.shape == (args.points, 10, args.nodes) and np.isfinite(L).all()
            total = t_tab + t_eval
            totals[order, ci] = total
            ref = totals.get((2, ci))
            ratio = f"{total / ref:10.2f}" if ref else f"{'-':>10}"
            print(
                f"{order:>5}  {ci:4g}  {t_tab:12.2f}  {t_eval:12.2f}  {total:9.2f}  "
                f"{1e6 * t_eval / args.points:9.1f}  {total / TARGET_S:12.2f}  {ratio}"
            )
        if (2, ci) in totals and (3, ci) in totals:
            r = totals[3, ci] / totals[2, ci]
            print(
                f"C_i = {ci:g}: N3LL / NNLL = {r:.2f} (target ≤ 2: {'met' if r <= 2 else 'missed'})"
            )


if __name__ == "__main__":
    main()
