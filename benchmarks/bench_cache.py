"""Benchmark of the luminosity cache: build, hit, spline set-up and interpolation.

With the analytic toy provider (cheap, so the build time is mostly the cache's own
overhead: chunking, checks, HDF5 writing), N = 10⁴ points × 10 flavours × 256 nodes
(205 MB of float64) by default:

- build: a miss, chunk by chunk, written atomically;
- hit: ``get_or_build`` on the existing file (key, read, CRC-32 checks); target < 1 s;
- spline: the second derivatives of the not-a-knot spline in ln b (once per table and
  device, on first interpolation);
- interpolate: to per-point Ogata-like nodes y_k/qT, 200 per point ([N, 200]), and to
  200 shared nodes, float64 and float32.

Run ``python benchmarks/bench_cache.py [--points N] [--ogata K] [--repeat R]``. Times are
the best of R runs (wall clock); the machine's load shows in them.
"""

from __future__ import annotations

import argparse
import logging
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from scipy import special

from sidislab.kinematics import random_points
from sidislab.lumi.analytic import AnalyticProvider
from sidislab.lumi.cache import DEFAULT_CACHE_GRID, LuminosityCache, LuminosityTable


def make_kinematics(n: int, seed: int = 0):
    """N random SIDIS points (√s = 140 GeV, 1.5 < Q² < 50 GeV², qT up to 5 GeV)."""
    return random_points(n, seed=seed, qToQcut=1e3, source="bench")


def ogata_nodes(qT: np.ndarray, k: int, h: float = 0.05) -> np.ndarray:
    """Ogata's (2005) ν = 0 nodes y_k/qT (physics.md §6), shape [N, k]."""
    xi = special.jn_zeros(0, k) / math.pi
    t = h * xi
    psi = t * np.tanh(0.5 * math.pi * np.sinh(t))
    y = math.pi / h * psi
    return y[None, :] / qT[:, None]


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--ogata", type=int, default=200, help="nodes per point")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    kin = make_kinematics(args.points)
    provider = AnalyticProvider.toy()
    grid = DEFAULT_CACHE_GRID
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench_cache_") as tmp:
        cache = LuminosityCache(args.cache_dir or tmp)
        cache.clear()
        t_build, table = best_of(
            lambda: cache.get_or_build(provider, kin, grid, progress=False, force=True), 1
        )
        assert isinstance(table, LuminosityTable)
        size = table.path.stat().st_size if table.path else 0
        rows.append(("build (miss) + atomic write", t_build))
        t_hit, hit = best_of(
            lambda: cache.get_or_build(provider, kin, grid, progress=False), args.repeat
        )
        rows.append(("hit: load + verify", t_hit))
        assert np.array_equal(hit.L, table.L)

        t_spline, _ = best_of(
            lambda: LuminosityTable(hit.b, hit.L, hit.flavours).spline.second_derivatives(),
            args.repeat,
        )
        rows.append(("spline set-up (second derivatives, once)", t_spline))
        hit.spline.second_derivatives()  # set up once before timing interpolation

        qT = kin.qT.numpy()
        nodes = torch.from_numpy(ogata_nodes(qT, args.ogata))
        t_i64, out = best_of(lambda: hit.interpolate(nodes), args.repeat)
        rows.append((f"interpolate [N, {args.ogata}] per-point nodes, f64", t_i64))
        t_i32, _ = best_of(lambda: hit.interpolate(nodes, dtype=torch.float32), args.repeat)
        rows.append((f"interpolate [N, {args.ogata}] per-point nodes, f32", t_i32))
        shared = nodes[0]
        t_sh, _ = best_of(lambda: hit.interpolate(shared), args.repeat)
        rows.append((f"interpolate [{args.ogata}] shared nodes, f64", t_sh))
        t_prov, _ = best_of(lambda: provider.luminosity(kin, nodes.numpy()), 1)
        rows.append((f"(provider itself on [N, {args.ogata}] nodes)", t_prov))
        if args.cache_dir is None:
            cache.clear()

    n, nf, nb = out.shape[0], out.shape[1], grid.Nb
    print(
        f"luminosity cache: N = {n} points × {nf} flavours × {nb} nodes "
        f"({grid.describe()}), file {size / 2**20:.1f} MiB, torch threads {torch.get_num_threads()}"
    )
    print(f"{'step':<48}{'time [s]':>10}{'/ hit':>9}{'ns/value':>10}")
    for name, t in rows:
        values = n * nf * (args.ogata if "interpolate" in name or "provider" in name else nb)
        print(f"{name:<48}{t:>10.3f}{t / t_hit:>9.2f}{1e9 * t / values:>10.2f}")
    print(f"hit target < 1 s: {'met' if t_hit < 1.0 else 'MISSED'}")


if __name__ == "__main__":
    main()
