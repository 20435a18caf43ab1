"""The ``sidislab`` command line.

    sidislab integrate-demo          Hankel-transform accuracy on an exact pair, per method
    sidislab sets                    LHAPDF-format sets found, and where
    sidislab lumi build|info|clear   the on-disk luminosity cache
    sidislab fit                     fit fNP parameters (closure test or constant targets)
    sidislab check-gradients         autograd against finite differences
    sidislab report                  run the notebooks headless into reports/ (HTML, metrics)

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


# --- lumi ---------------------------------------------------------------------------------


def _common_physics_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="physics/numerics YAML (default: built-in defaults)")
    p.add_argument(
        "--kinematics",
        default="data/kinematics/sidis_mix.yaml",
        help="kinematics YAML (default: %(default)s)",
    )
    p.add_argument("--all-points", action="store_true", help="also points beyond qT > qToQcut·Q")
    p.add_argument("--lhapdf-path", action="append", default=[], help="extra set folder")


def _setup_lumi(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    build = sub.add_parser("build", help="compute and cache L_q(b) for a kinematics file")
    _common_physics_args(build)
    for name, helptext in (("info", "list cache files"), ("clear", "remove cache files")):
        q = sub.add_parser(name, help=helptext)
        q.add_argument("--config", help="physics/numerics YAML (for luminosity.cache_dir)")
        if name == "clear":
            q.add_argument("key", nargs="?", help="a key or unambiguous key prefix")


def _load(args: argparse.Namespace):
    from sidislab.config import Config, load_config
    from sidislab.kinematics import load_kinematics

    cfg = load_config(args.config) if args.config else Config()
    kin = load_kinematics(args.kinematics, qToQcut=cfg.qToQcut) if "kinematics" in args else None
    return cfg, kin


@command("lumi", _setup_lumi)
def lumi(args: argparse.Namespace) -> int:
    """The luminosity cache: build, info, clear."""
    from sidislab.lumi.cache import LuminosityCache
    from sidislab.pipeline import cache_dir, luminosity_table, select_points

    cfg, kin = _load(args)
    if args.action == "build":
        points = select_points(kin, use_cut=not args.all_points)
        table = luminosity_table(cfg, points, paths=args.lhapdf_path or None)
        print(
            f"L_q(b): {table.n_points} points × {len(table.flavours)} flavours × {table.Nb} "
            f"b-nodes, key {table.key[:16]}…\n{table.path}"
        )
        return 0
    cache = LuminosityCache(cache_dir(cfg))
    if args.action == "info":
        rows = cache.info()
        if not rows:
            print(f"no luminosity caches in {cache_dir(cfg)}")
            return 0
        cols = ["key", "provider", "n_points", "Nb", "size", "created", "valid"]
        shown = [{**r, "key": r["key"][:16], "size": f"{r['size'] / 2**20:.1f} MiB"} for r in rows]
        print(_table(shown, cols))
        return 0
    removed = cache.clear(args.key)
    print(f"removed {removed} cache file(s) from {cache_dir(cfg)}")
    return 0


# --- fit ----------------------------------------------------------------------------------


def _setup_fit(p: argparse.ArgumentParser) -> None:
    _common_physics_args(p)
    p.add_argument("--fnp", default="data/fnp/map22_flavour_blind.yaml", help="fNP YAML")
    p.add_argument(
        "--free",
        nargs="+",
        help="free parameters (names or patterns, e.g. g2 'pdf.N1' 'ff.*'); default: the "
        "fNP file's free flags",
    )
    p.add_argument("--targets", choices=("pseudo", "constant"), default="pseudo")
    p.add_argument("--constant", type=float, default=1.0, help="value of constant targets")
    p.add_argument("--rel-uncertainty", type=float, default=0.05, help="δ/σ of pseudo-data")
    p.add_argument("--noise", type=float, default=0.0, help="Gaussian noise in units of δ")
    p.add_argument("--perturb", type=float, default=0.2, help="start = true·(1 ± perturb)")
    p.add_argument("--optimizer", choices=("lbfgs", "adam", "sgd"), default="lbfgs")
    p.add_argument("--loss", choices=("chi2", "mse"), default="chi2")
    p.add_argument("--lr", type=float, default=1.0)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="fit_result.json", help="results file (JSON)")
    p.add_argument("--check-gradients", action="store_true", help="autograd vs differences")
    p.add_argument("--no-progress", action="store_true")


def _prepare_fit(args: argparse.Namespace):
    import torch

    from sidislab import fit as F
    from sidislab.fnp import load_fnp
    from sidislab.pipeline import build_cross_section

    cfg, kin = _load(args)
    fnp = load_fnp(args.fnp)
    if args.free:
        fnp.freeze("*")
        fnp.unfreeze(*args.free)
    xs = build_cross_section(
        cfg,
        kin,
        fnp,
        use_cut=not args.all_points,
        paths=args.lhapdf_path or None,
        progress=not args.no_progress,
    )
    if args.targets == "pseudo":
        targets = F.pseudo_data(
            xs, rel_uncertainty=args.rel_uncertainty, noise=args.noise, seed=args.seed
        )
        true = fnp.get_vector()
        gen = torch.Generator().manual_seed(args.seed)
        signs = torch.randint(0, 2, true.shape, generator=gen).to(true) * 2 - 1
        fnp.set_vector(true * (1 + args.perturb * signs))
    else:
        targets = F.constant_targets(len(xs.kin), args.constant, dtype=cfg.torch_dtype)
    return cfg, xs, targets


@command("fit", _setup_fit)
def fit(args: argparse.Namespace) -> int:
    """Fit fNP parameters to pseudo-data (closure test) or constant targets."""
    from dataclasses import asdict

    from sidislab import fit as F

    cfg, xs, targets = _prepare_fit(args)
    print(
        f"{len(xs.kin)} points, {len(xs.fnp.parameter_names())} free parameters: "
        f"{', '.join(xs.fnp.parameter_names())}"
    )
    if args.check_gradients:
        print(F.check_gradients(xs, targets, loss=args.loss).table())
    settings = F.FitSettings(
        optimizer=args.optimizer,
        loss=args.loss,
        lr=args.lr,
        epochs=args.epochs,
        seed=args.seed,
        progress=not args.no_progress,
    )
    result = F.fit(
        xs,
        targets,
        settings,
        callback=lambda e, n, v: print(f"Epoch {e}/{n}  {args.loss} = {v:.10g}", flush=True),
    )
    for name, value, err in zip(
        result.parameter_names, result.final, result.uncertainties or [None] * len(result.final)
    ):
        print(f"  {name:<18} {value:.6g}" + (f" ± {err:.2g}" if err is not None else ""))
    print(result.summary())
    config = {
        "physics": cfg.to_dict(),
        "kinematics": args.kinematics,
        "fnp": args.fnp,
        "cli": {k: v for k, v in vars(args).items() if k != "func"},
    }
    config["settings"] = asdict(settings)
    print(f"results: {result.save(args.out, config=config)}")
    return 0 if result.converged or args.targets == "constant" else 1


@command("check-gradients", _setup_fit)
def check_gradients(args: argparse.Namespace) -> int:
    """Autograd against finite differences for every free parameter (and gradcheck)."""
    from sidislab import fit as F

    _, xs, targets = _prepare_fit(args)
    check = F.check_gradients(xs, targets, loss=args.loss)
    print(check.table())
    return 0 if check.max_relative_difference <= 1e-6 and check.gradcheck is not False else 1


# --- entry point ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from sidislab import report

    report.register(command)  # `sidislab report`: lives with the report code
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
