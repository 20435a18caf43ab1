"""Integrator throughput: 10⁴ points × 256 b-nodes, forward and forward + backward.

Grid rules (the kernel w_j b_j J0(qT b_j) built once per qT set, then one weighted sum per
call) against Ogata with 256 nodes per point (explicit n_nodes), on a Gaussian integrand
with a differentiable width; the set-up cost (kernel / nodes and weights) is listed apart.

    python benchmarks/bench_integrate.py
"""

from __future__ import annotations

import time

import torch

from sidislab.numerics.bgrid import BGrid
from sidislab.numerics.integrate import GridHankel, OgataHankel

N, NB = 10_000, 256


def best(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    torch.manual_seed(0)
    qT = torch.rand(N, dtype=torch.float64) * 3 + 0.01
    width = torch.rand(N, dtype=torch.float64) * 0.5 + 0.1
    grid = BGrid(1e-3, 72.0, NB, "loglinear", 3.0)
    rows = []

    t0 = time.perf_counter()
    gh = GridHankel(qT, grid, "trapezoid")
    setup_grid = time.perf_counter() - t0
    t0 = time.perf_counter()
    og = OgataHankel(qT, h=None, n_nodes=NB, b_max=40.0)
    setup_ogata = time.perf_counter() - t0

    a = width.clone().requires_grad_(True)

    def grid_fwd() -> torch.Tensor:
        return gh(torch.exp(-a[:, None] * gh.b**2), with_error=False).value

    def ogata_fwd() -> torch.Tensor:
        return og(lambda b: torch.exp(-a[:, None] * b**2), with_error=False).value

    for name, fwd, setup in (
        ("trapezoid", grid_fwd, setup_grid),
        ("ogata", ogata_fwd, setup_ogata),
    ):
        with torch.no_grad():
            t_f = best(fwd)

        def fwd_bwd(fwd=fwd) -> None:
            a.grad = None
            fwd().sum().backward()

        t_fb = best(fwd_bwd)
        rows.append((name, setup, t_f, t_fb))

    base = rows[0][2]
    print(f"Hankel transforms, {N} points × {NB} nodes, float64, {torch.get_num_threads()} threads")
    print(
        f"{'method':<10} {'set-up [s]':>11} {'forward [s]':>12} {'fwd+bwd [s]':>12} "
        f"{'Mnodes/s fwd':>13} {'fwd / trapezoid':>16}"
    )
    for name, setup, t_f, t_fb in rows:
        print(
            f"{name:<10} {setup:>11.3f} {t_f:>12.4f} {t_fb:>12.4f} "
            f"{N * NB / t_f / 1e6:>13.1f} {t_f / base:>16.2f}"
        )


if __name__ == "__main__":
    main()
