"""``sidislab integrate-demo``: integrator and J0 accuracy on exact pairs."""

from __future__ import annotations

import argparse

from sidislab.cli.base import command, format_table


def _setup_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--a", type=float, default=0.28, help="Gaussian width a in GeV² (e^{−a b²})")
    p.add_argument(
        "--qT",
        type=float,
        nargs="+",
        default=[0.01, 0.1, 0.5, 1.0, 2.0, 3.0, 5.0],
        help="qT values in GeV",
    )
    p.add_argument("--bessel-points", type=int, default=20_000, help="points per J0 scan")


@command("integrate-demo", _setup_demo)
def integrate_demo(args: argparse.Namespace) -> int:
    """Print the relative error of every integrator on ∫ db b J0(qT b) e^{−a b²}."""
    from sidislab.workbench.convergence import error_table, gaussian_pair

    pair = gaussian_pair(args.a)
    rows = error_table(pair, args.qT)
    print(f"∫ db b J0(qT b) e^(−a b²) = e^(−qT²/4a)/(2a), a = {args.a} GeV²: relative errors\n")
    methods = list(dict.fromkeys(r["method"] for r in rows))
    cells = []
    for q in args.qT:
        row = {"qT [GeV]": f"{q:g}"}
        for m in methods:
            r = next(r for r in rows if r["method"] == m and r["qT"] == q)
            row[m] = f"{r['rel_error']:+.2e}"
        cells.append(row)
    print(format_table(cells, ["qT [GeV]", *methods]))
    import torch

    from sidislab.workbench.accuracy import bessel_error_table, format_error_table

    print("\nJ0 max absolute error against scipy, per method:\n")
    rows = bessel_error_table(
        dtypes=(torch.float64, torch.float32), n=args.bessel_points, functions=("j0",)
    )
    print(format_error_table(rows))
    return 0
