"""``sidislab report``: run the notebooks headless into reports/ and check baselines."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from sidislab.cli.base import command
from sidislab.workbench.report import (
    REPO_ROOT,
    NotebookRun,
    find_notebooks,
    format_checks,
    parse_overrides,
    run_report,
    update_baseline,
)


def _default_root() -> Path:
    """The current folder if it holds ``notebooks/``, else this checkout's root."""
    cwd = Path.cwd()
    return cwd if (cwd / "notebooks").is_dir() else REPO_ROOT


def _setup(p: argparse.ArgumentParser) -> None:
    root = _default_root()
    p.add_argument(
        "--notebooks",
        nargs="+",
        default=[],
        metavar="NB",
        help="notebooks to run: paths, names or prefixes such as 01 (default: all)",
    )
    p.add_argument(
        "--notebook-dir", type=Path, default=root / "notebooks", help="where the notebooks are"
    )
    p.add_argument("--out", type=Path, default=Path("reports"), help="output folder (reports)")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        dest="parameters",
        help="override a notebook parameter (VALUE: a Python literal or a string); repeatable",
    )
    p.add_argument(
        "--baselines",
        type=Path,
        default=root / "data" / "baselines",
        help="folder of the baseline files (data/baselines)",
    )
    p.add_argument(
        "--update-baselines",
        action="store_true",
        help="rewrite the baselines from this run (default parameters only); review the diff",
    )
    p.add_argument("--no-html", action="store_true", help="skip the HTML pages")
    p.add_argument(
        "--cell-timeout", type=float, default=900.0, help="seconds per cell before failing (900)"
    )
    p.add_argument("--jobs", type=int, default=1, help="notebooks run in parallel (1)")
    p.add_argument(
        "--sweep",
        metavar="NAME=V1,V2,...",
        help="run one notebook (--notebooks) once per value of parameter NAME, each into "
        "OUT/sweep-NAME/NAME=V/, and an index of the values against the key metrics",
    )
    p.add_argument(
        "--dask",
        metavar="TARGET",
        help="run the sweep's notebooks on Dask: local:N or tcp://HOST:PORT (default: serial)",
    )


def _print_run(run: NotebookRun) -> None:
    verdict = {"ok": "ok", "failed": "FAILED", "skipped": "skipped"}[run.status]
    print(f"{run.name:<32} {verdict:<7} {run.seconds:7.1f} s   {run.baseline_summary()}")
    sys.stdout.flush()


def _sweep(args: argparse.Namespace, notebooks, overrides, command: str) -> int:
    """``--sweep NAME=V1,V2,...``: one notebook over the values, as tasks; index page."""
    from sidislab.compute import Compute, parse_dask
    from sidislab.workbench.sweep import parse_sweep, run_sweep, write_sweep_index

    if not args.sweep:
        raise ValueError("--dask applies to --sweep runs (use --jobs for a plain report)")
    if args.update_baselines:
        raise ValueError("--sweep runs are not baselines; drop --update-baselines")
    if len(notebooks) != 1:
        names = ", ".join(nb.name for nb in notebooks)
        raise ValueError(f"--sweep runs one notebook; --notebooks selected {names}")
    name, values = parse_sweep(args.sweep)
    out = args.out / f"sweep-{name}"
    with Compute(parse_dask(args.dask)) as where:
        print(f"sweep of {name} over {values} on: {where.describe()}")
        if where.dashboard_link:
            print(f"Dask dashboard: {where.dashboard_link}", flush=True)
        print(f"{'value':<16} {'status':<7} {'time':>9}")
        runs = run_sweep(
            notebooks[0],
            name,
            values,
            out,
            overrides,
            executor=where.executor,
            html_page=not args.no_html,
            cell_timeout=args.cell_timeout,
            on_done=lambda v, r: print(f"{v!r:<16} {r.status:<7} {r.seconds:7.1f} s", flush=True),
        )
    index = write_sweep_index(runs, name, values, out, command)
    for value, run in zip(values, runs):
        if run.failure is not None:
            print(f"\n{name} = {value!r}: " + run.failure.format(run.name), file=sys.stderr)
    print(f"\nsweep: {index}")
    return 0 if all(r.ok for r in runs) else 1


@command("report", _setup)
def report(args: argparse.Namespace) -> int:
    """Execute the notebooks headless into HTML reports and check their baselines."""
    overrides = parse_overrides(args.parameters)
    if args.update_baselines and overrides:
        raise ValueError(
            "--update-baselines records the notebooks' default parameters; change the "
            "defaults in the cell tagged 'parameters' instead of passing -p"
        )
    notebooks = find_notebooks(args.notebook_dir, args.notebooks)
    command = "sidislab " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if args.sweep or args.dask:
        return _sweep(args, notebooks, overrides, command)
    print(f"{'notebook':<32} {'status':<7} {'time':>9}   baseline")
    runs = run_report(
        notebooks,
        args.out,
        overrides,
        baseline_dir=None if args.update_baselines else args.baselines,
        html_page=not args.no_html,
        cell_timeout=args.cell_timeout,
        jobs=args.jobs,
        on_done=_print_run,
        command=command,  # keeps args.out/index.html: RUNNING until the run ends
    )
    index = (args.out / "index.html").resolve()
    status = 0
    for run in runs:
        if run.failure is not None:
            status = 1
            print("\n" + run.failure.format(run.name), file=sys.stderr)
            print(f"(executed notebook with the error: {run.executed})", file=sys.stderr)
        elif run.baseline_ok is False:
            status = 1
            print(f"\n{run.name}: metrics outside the baseline tolerance", file=sys.stderr)
            print(format_checks(run.checks or [], only_failures=True), file=sys.stderr)
    if args.update_baselines:
        for run in runs:
            if run.skipped:
                print(f"{run.name}: skipped ({run.skipped}), baseline not updated", file=sys.stderr)
                continue
            if not run.ok:
                print(f"{run.name}: failed, baseline not updated", file=sys.stderr)
                continue
            base, changes = update_baseline(run, args.baselines)
            print(f"\n{base.path}: " + ("unchanged" if not changes else "updated"))
            for line in changes:
                print(f"  {line}")
    print(f"\nreport: {index}")
    return status
