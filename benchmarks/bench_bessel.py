"""Throughput of sidislab.numerics.bessel.j0 per method: forward and forward + backward.

The workload of one cross-section evaluation: 10⁴ kinematic points × 256 b-nodes, a
[10⁴, 256] float64 tensor (``DEVELOPERS.md``: tensors batch over points N and b-nodes Nb).
Prints absolute times (best of ``--repeat``) and ratios to ``native``
(``torch.special.bessel_j0``), plus the max abs error of each method on the same tensor
against scipy, so speed and accuracy are read together.

Run: ``python benchmarks/bench_bessel.py [--points N] [--nodes NB] [--dtype float32]
[--device cuda] [--threads T]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import scipy.special
import torch

from sidislab.numerics import bessel


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _best_time(fn: Callable[[], object], device: torch.device, repeat: int) -> float:
    fn()  # warm-up (allocator, cached coefficient tensors, kernels)
    _sync(device)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def run(
    points: int = 10_000,
    nodes: int = 256,
    dtype: torch.dtype = torch.float64,
    device: str = "cpu",
    repeat: int = 5,
) -> list[dict[str, float | str]]:
    """Time every method on a [points, nodes] tensor of x = qT·b ∈ [0, 60); returns rows."""
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(points, nodes, generator=gen, dtype=torch.float64) * 60.0).to(dev, dtype)
    ref = scipy.special.j0(x.to("cpu", torch.float64).numpy())
    rows: list[dict[str, float | str]] = []
    for method in bessel.methods():

        def forward(m: str = method) -> torch.Tensor:
            return bessel.j0(x, m)

        def forward_backward(m: str = method) -> torch.Tensor:
            xg = x.detach().requires_grad_()
            (g,) = torch.autograd.grad(bessel.j0(xg, m).sum(), xg)
            return g

        with torch.no_grad():
            err = np.abs(forward().to("cpu", torch.float64).numpy() - ref)
        rows.append(
            {
                "method": method,
                "forward_s": _best_time(forward, dev, repeat),
                "fwd_bwd_s": _best_time(forward_backward, dev, repeat),
                "max_abs_err": float(np.max(np.where(np.isfinite(err), err, np.inf))),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Print the benchmark table (times in ms, ratios to ``native``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=256)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    rows = run(args.points, args.nodes, dtype, args.device, args.repeat)
    native = next(r for r in rows if r["method"] == "native")
    print(
        f"bessel.j0 on [{args.points}, {args.nodes}] {args.dtype}, device {args.device}, "
        f"{torch.get_num_threads()} CPU threads, best of {args.repeat}"
    )
    print(
        f"{'method':<9} {'forward ms':>11} {'x native':>9} {'fwd+bwd ms':>11} {'x native':>9} "
        f"{'max abs err':>12}"
    )
    for r in rows:
        print(
            f"{r['method']:<9} {1e3 * r['forward_s']:>11.1f} "
            f"{r['forward_s'] / native['forward_s']:>9.2f} {1e3 * r['fwd_bwd_s']:>11.1f} "
            f"{r['fwd_bwd_s'] / native['fwd_bwd_s']:>9.2f} {r['max_abs_err']:>12.3g}"
        )


if __name__ == "__main__":
    main()
