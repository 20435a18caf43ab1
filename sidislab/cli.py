"""The ``sidislab`` command line.

    sidislab integrate-demo          Hankel-transform accuracy on an exact pair, per method
    sidislab sets                    LHAPDF-format sets found, and where
    sidislab lumi build|info|clear   the on-disk luminosity cache

Each subcommand is a thin wrapper over library functions; results go to stdout, diagnostics
to the log (``-v`` for more).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

log = logging.getLogger("sidislab")

_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[..., int]]] = {}


def command(name: str, setup: Callable[[argparse.ArgumentParser], None]):
    """Register a subcommand: ``setup`` adds its arguments, the decorated function runs it."""

    def deco(fn: Callable[..., int]) -> Callable[..., int]:
        _COMMANDS[name] = (setup, fn)
        return fn

    return deco


def _table(rows: Sequence[dict], columns: Sequence[str], fmt: dict[str, str] | None = None) -> str:
    fmt = fmt or {}
    cells = [[fmt.get(c, "{}").format(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


# --- integrate-demo ---------------------------------------------------------------------


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
    from sidislab.convergence import error_table, gaussian_pair

    pair = gaussian_pair(args.a)
    rows = error_table(pair, args.qT)
    print(f"∫ db b J0(qT b) e^(−a b²) = e^(−qT²/4a)/(2a), a = {args.a} GeV²: relative errors\n")
    methods = list(dict.fromkeys(r["method"] for r in rows))
    table = []
    for q in args.qT:
        row = {"qT [GeV]": f"{q:g}"}
        for m in methods:
            r = next(r for r in rows if r["method"] == m and r["qT"] == q)
            row[m] = f"{r['rel_error']:+.2e}"
        table.append(row)
    print(_table(table, ["qT [GeV]", *methods]))
    import torch

    from sidislab.accuracy import bessel_error_table, format_error_table

    print("\nJ0 max absolute error against scipy, per method:\n")
    rows = bessel_error_table(
        dtypes=(torch.float64, torch.float32), n=args.bessel_points, functions=("j0",)
    )
    print(format_error_table(rows))
    return 0


# --- sets -------------------------------------------------------------------------------


def _setup_sets(p: argparse.ArgumentParser) -> None:
    p.add_argument("--path", action="append", default=[], help="extra folder to search")


@command("sets", _setup_sets)
def sets(args: argparse.Namespace) -> int:
    """List the LHAPDF-format sets sidislab can find, and where."""
    from sidislab.collinear import list_sets

    found = list_sets(extra_paths=args.path or None)
    if not found:
        print("no LHAPDF-format sets found (LHAPDF_DATA_PATH, lhapdf paths, data/lhapdf)")
        return 1
    print(_table([{"set": n, "path": str(p)} for n, p in found], ["set", "path"]))
    return 0


# --- entry point ------------------------------------------------------------------------


def _register_optional() -> None:
    """Subcommands that live with their layer (lumi, fit, report)."""
    import importlib

    for module in ("sidislab.lumi.commands", "sidislab.fit_commands", "sidislab.report"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.register(command)


def build_parser() -> argparse.ArgumentParser:
    _register_optional()
    parser = argparse.ArgumentParser(prog="sidislab", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (setup, fn) in _COMMANDS.items():
        p = sub.add_parser(name, help=(fn.__doc__ or "").strip().split("\n")[0])
        setup(p)
        p.set_defaults(func=fn)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (ValueError, LookupError, OSError) as exc:
        log.debug("details", exc_info=True)
        print(f"sidislab {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
