"""``sidislab fit`` and ``sidislab check-gradients``."""

from __future__ import annotations

import argparse
import sys

from sidislab.cli.base import command, common_physics_args, load_inputs


def _setup_fit(p: argparse.ArgumentParser) -> None:
    common_physics_args(p)
    p.add_argument(
        "--fnp",
        default="map22_flavour_blind",
        help="fNP YAML: a path or a shipped name (`sidislab fnp list`; default: %(default)s)",
    )
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
    p.add_argument(
        "--datasets",
        nargs="+",
        metavar="PATTERN",
        help="fit measured multiplicities instead of pseudo-data: data sets by name pattern "
        "(file stems, shell globs such as 'HERMES_Pro_Pi*'), MAP22 cuts, correlated χ²",
    )
    p.add_argument(
        "--data",
        action="append",
        metavar="DIR",
        help="folder of NangaParbat-format data files (default: $SIDISLAB_DATA_PATH)",
    )
    p.add_argument(
        "--replicas",
        type=int,
        metavar="N",
        help="fit N Monte-Carlo replicas of the targets (Gaussian noise of width δ drawn "
        "from (--seed, replica)), one file each in --replica-dir; a rerun resumes",
    )
    p.add_argument(
        "--replica-dir",
        help="folder of the replica files (default: <--out without .json>_replicas)",
    )
    p.add_argument(
        "--dask",
        metavar="TARGET",
        help="run replicas on Dask: local:N or tcp://HOST:PORT (default: the config's "
        "compute.dask, else serial)",
    )


def _prepare_fit(args: argparse.Namespace):
    import torch

    from sidislab import fit as F
    from sidislab.fnp import load_fnp
    from sidislab.fnp.config import resolve_config_path
    from sidislab.pipeline import build_cross_section

    cfg, kin = load_inputs(args)
    args.fnp = str(resolve_config_path(args.fnp))  # a shipped name → its path (records)
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


def _run_replicas(args: argparse.Namespace, cfg, data, model, kwargs, settings, start=None) -> int:
    """``--replicas N``: each replica a task of (replica, seed, data, settings) run serially
    or on Dask (``--dask``/``compute.dask``), one file each in ``--replica-dir`` (a rerun
    resumes), then the summary. Exit status 1 when a replica failed."""
    from pathlib import Path

    from sidislab.compute import Compute, resolve_target
    from sidislab.fit.parallel import run_replicas_on
    from sidislab.fit.replicas import summarise

    if args.replicas < 1:
        raise ValueError(f"--replicas must be >= 1, got {args.replicas}")
    out = Path(args.replica_dir or Path(args.out).with_suffix("").as_posix() + "_replicas")
    fitted: list[int] = []  # the replicas fitted now (the others were read back)

    def report(r: dict) -> None:
        fitted.append(r["replica"])
        chi2 = r.get("chi2", float("nan"))
        print(f"replica {r['replica']:>4}: {r['status']:<14} χ² = {chi2:.6g}", flush=True)

    with Compute(resolve_target(args.dask, cfg.compute.dask, cfg.source)) as where:
        print(
            f"{len(data.values)} points; {args.replicas} replicas on: {where.describe()}; "
            f"files in {out}"
        )
        if where.dashboard_link:
            print(f"Dask dashboard: {where.dashboard_link}", flush=True)
        records = run_replicas_on(
            where.executor,
            args.replicas,
            out,
            data,
            model,
            kwargs,
            settings,
            seed=args.seed,
            start=start,
            share=where.share,
            callback=report,
        )
    if len(fitted) < len(records):
        print(
            f"{len(records) - len(fitted)} of {len(records)} replicas already done there: "
            "read back, not refitted"
        )
    summary = summarise(records)
    print(summary.table())
    print(f"summary: {out / 'summary.json'}")
    return 0 if not summary.failed else 1


def _fit_replicas(args: argparse.Namespace, cfg, xs, targets, settings) -> int:
    """``--replicas N`` of pseudo-data or constant targets (uncorrelated δ)."""
    from pathlib import Path

    from sidislab.fit.parallel import config_cross_section
    from sidislab.fit.replicas import ReplicaData

    n = len(targets.values)
    data = ReplicaData(
        targets.values.tolist(),
        targets.uncertainties.tolist(),
        [[] for _ in range(n)],
        [targets.kind] * n,
    )
    kwargs = {
        "config": cfg.to_dict(),
        "kinematics": str(Path(args.kinematics).resolve()),
        "fnp": str(Path(args.fnp).resolve()),
        "free": list(args.free) if args.free else None,
        "use_cut": not args.all_points,
        "paths": [str(Path(p).resolve()) for p in args.lhapdf_path] or None,
    }
    start = xs.fnp.get_vector().tolist()
    return _run_replicas(args, cfg, data, config_cross_section, kwargs, settings, start)


def _fit_measured(args: argparse.Namespace) -> int:
    """``--datasets``: bin-averaged multiplicities of measured points (MAP22 cuts) fitted
    with the correlated χ² (nuisance parameters), or ``--replicas N`` of those data."""
    from dataclasses import asdict
    from pathlib import Path

    import torch

    from sidislab import fit as F
    from sidislab.config import Config, load_config
    from sidislab.fit.chi2 import CorrelatedChi2, CorrelatedTargets
    from sidislab.fit.data_model import measured_fit_inputs, measured_multiplicity_model
    from sidislab.fnp.config import resolve_config_path

    if args.loss != "chi2":
        raise ValueError(
            f"--loss {args.loss}: a fit to measured data minimises the correlated chi2"
        )
    if args.targets != "pseudo" or args.check_gradients:
        raise ValueError(
            "--datasets fits the measured values: --targets and --check-gradients do not apply"
        )
    cfg = load_config(args.config) if args.config else Config()
    fnp_path = str(resolve_config_path(args.fnp))
    paths = [str(Path(p).resolve()) for p in args.lhapdf_path] or None
    data, rdata, kwargs = measured_fit_inputs(
        cfg, args.datasets, fnp_path, args.free, data=args.data, paths=paths
    )
    settings = F.FitSettings(
        optimizer=args.optimizer,
        lr=args.lr,
        epochs=args.epochs,
        seed=args.seed,
        progress=not args.no_progress and args.replicas is None,
    )
    if args.replicas is not None:
        return _run_replicas(args, cfg, rdata, measured_multiplicity_model, kwargs, settings)
    model = measured_multiplicity_model(**kwargs)
    chi2 = CorrelatedChi2(data)
    names = model.fnp.parameter_names()
    print(
        f"{len(data)} measured points after cuts, {len(names)} free parameters: {', '.join(names)}"
    )
    with torch.no_grad():
        before = chi2.evaluate(model())
    print(f"start: χ²/N = {float(before.chi2) / len(data):.6g}")
    result = F.fit(
        model,
        CorrelatedTargets.from_chi2(chi2),
        settings,
        callback=lambda e, n, v: print(f"Epoch {e}/{n}  chi2 = {v:.10g}", flush=True),
    )
    with torch.no_grad():
        after = chi2.evaluate(model())
    for name, value, err in zip(
        result.parameter_names, result.final, result.uncertainties or [None] * len(result.final)
    ):
        print(f"  {name:<18} {value:.6g}" + (f" ± {err:.2g}" if err is not None else ""))
    print(
        f"χ²/N = {float(after.chi2) / len(data):.6g} (χ²_D {float(after.chi2_data):.6g}, "
        f"nuisance penalty {float(after.chi2_penalty):.6g}) for {len(data)} points"
    )
    print(result.summary())
    result.extra["chi2"] = after.as_dict()
    config = {
        "physics": cfg.to_dict(),
        "datasets": list(args.datasets),
        "data": args.data,
        "fnp": fnp_path,
        "cli": {k: v for k, v in vars(args).items() if k != "func"},
        "settings": asdict(settings),
    }
    print(f"results: {result.save(args.out, config=config)}")
    if result.failed:
        print(f"sidislab fit: the fit {result.status.replace('_', '-')}", file=sys.stderr)
        return 1
    return 0 if result.converged else 1


@command("fit", _setup_fit)
def fit(args: argparse.Namespace) -> int:
    """Fit fNP parameters to measured multiplicities (--datasets), pseudo-data (closure
    test) or constant targets."""
    from dataclasses import asdict

    from sidislab import fit as F

    if getattr(args, "datasets", None):
        return _fit_measured(args)
    if getattr(args, "data", None):
        raise ValueError("--data names where the data sets are: give --datasets PATTERN... too")
    cfg, xs, targets = _prepare_fit(args)
    settings = F.FitSettings(
        optimizer=args.optimizer,
        loss=args.loss,
        lr=args.lr,
        epochs=args.epochs,
        seed=args.seed,
        progress=not args.no_progress and args.replicas is None,
    )
    if args.replicas is not None:
        return _fit_replicas(args, cfg, xs, targets, settings)
    print(
        f"{len(xs.kin)} points, {len(xs.fnp.parameter_names())} free parameters: "
        f"{', '.join(xs.fnp.parameter_names())}"
    )
    if args.check_gradients:
        print(F.check_gradients(xs, targets, loss=args.loss).table())
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
    if result.failed:  # diverged or non-finite: never a success, whatever the targets
        print(f"sidislab fit: the fit {result.status.replace('_', '-')}", file=sys.stderr)
        return 1
    return 0 if result.converged or args.targets == "constant" else 1


@command("check-gradients", _setup_fit)
def check_gradients(args: argparse.Namespace) -> int:
    """Autograd against finite differences for every free parameter (and gradcheck)."""
    from sidislab import fit as F

    if args.datasets or args.data or args.replicas is not None:
        raise ValueError(
            "check-gradients works on pseudo-data: --datasets, --data and --replicas do not apply"
        )
    _, xs, targets = _prepare_fit(args)
    check = F.check_gradients(xs, targets, loss=args.loss)
    print(check.table())
    return 0 if check.max_relative_difference <= 1e-6 and check.gradcheck is not False else 1
