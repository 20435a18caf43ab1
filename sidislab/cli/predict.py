"""``sidislab predict``: bin-averaged multiplicities of measured points against the data,
with the correlated χ² (per point, per data set, total) as JSON and a table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sidislab.cli.base import command, format_table


def _setup_predict(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="physics/numerics YAML (default: built-in defaults)")
    p.add_argument(
        "--data",
        action="append",
        help="folder of the data files (repeatable; default: $SIDISLAB_DATA_PATH)",
    )
    p.add_argument(
        "--datasets",
        nargs="+",
        required=True,
        metavar="PATTERN",
        help="data-set names or shell globs, e.g. 'HERMES_Pro_Pi*' (quote them)",
    )
    p.add_argument("--fnp", default="data/fnp/map22_flavour_blind.yaml", help="fNP YAML")
    p.add_argument("--out", default="prediction.json", help="results file (JSON)")
    p.add_argument("--lhapdf-path", action="append", default=[], help="extra set folder")
    p.add_argument(
        "--cuts",
        help="YAML with the kinematic cuts (a 'cuts:' mapping, see "
        "sidislab.measurements.cuts; default: MAP22's)",
    )
    p.add_argument("--no-cuts", action="store_true", help="keep every point")
    p.add_argument(
        "--normalisation", choices=("none", "map22"), default="none", help="SIDIS normalisation"
    )
    p.add_argument(
        "--pht-mode", choices=("bin", "centre"), default="bin", help="PhT-bin average or centre"
    )
    p.add_argument("--ff-hadron", default="PI", help="the hadron the configured FF set describes")
    p.add_argument("--no-points", action="store_true", help="print only the per-data-set table")


def _cuts(args: argparse.Namespace):
    from sidislab.measurements import Cuts, map22_cuts
    from sidislab.yamlio import read_yaml

    if args.no_cuts:
        return Cuts(())
    if not args.cuts:
        return map22_cuts()
    doc = read_yaml(args.cuts, what="cuts file")
    if isinstance(doc, dict) and "cuts" in doc:
        doc = doc["cuts"]
    return Cuts.from_mapping(doc or {}, source=f"{args.cuts}: cuts")


def prediction_document(data, theory, result) -> dict:
    """The JSON document: ``points`` (dataset, x, z, Q2 = ⟨Q⟩², PhT, data, theory, unc =
    √C_ii, ``unc_uncorrelated`` σ_i and ``shift`` s_i: data − shift is the data moved by the
    fitted nuisance parameters) and the χ² totals."""
    b = data.bins
    unc = data.total_uncertainty()
    points = [
        {
            "dataset": b.dataset[i],
            "x": float(b.x[i]),
            "z": float(b.z[i]),
            "Q2": float(b.Q[i] ** 2),
            "PhT": float(b.PhT[i]),
            "data": float(data.values[i]),
            "theory": float(theory[i]),
            "unc": float(unc[i]),
            "unc_uncorrelated": float(data.uncorrelated[i]),
            "shift": float(result.shifts[i]),
        }
        for i in range(len(data))
    ]
    doc = result.as_dict()
    return {
        "points": points,
        "chi2": doc["chi2"],
        "n_points": doc["n_points"],
        "chi2_per_point": doc["chi2_per_point"],
        "chi2_per_dataset": doc["per_dataset"],
        "points_per_dataset": doc["points_per_dataset"],
        "chi2_data": doc["chi2_data"],
        "chi2_penalty": doc["chi2_penalty"],
        "nuisances": doc["nuisances"],
    }


@command("predict", _setup_predict)
def predict(args: argparse.Namespace) -> int:
    """Predict measured multiplicities and their correlated χ² against the data."""
    import torch

    from sidislab.config import Config, load_config
    from sidislab.fit.chi2 import CorrelatedChi2
    from sidislab.fnp import load_fnp
    from sidislab.io import atomic_write
    from sidislab.measurements import load_datasets
    from sidislab.pipeline import build_multiplicities

    cfg = load_config(args.config) if args.config else Config()
    cuts = _cuts(args)  # a bad cuts file fails before the data are read
    data = load_datasets(args.datasets, args.data)
    before = len(data)
    data = cuts.apply(data)
    if len(data) == 0:
        raise ValueError(
            f"no point of {before} passes the cuts ({'; '.join(cuts.describe())}); "
            "use --no-cuts or other --cuts"
        )
    model = build_multiplicities(
        cfg,
        data.bins,
        load_fnp(args.fnp),
        normalisation=args.normalisation,
        pht_mode=args.pht_mode,
        ff_hadron=args.ff_hadron,
        paths=args.lhapdf_path or None,
    )
    with torch.no_grad():
        theory = model()
    result = CorrelatedChi2(data).evaluate(theory)
    doc = prediction_document(data, theory, result)
    doc["settings"] = {
        "config": args.config,
        "datasets": list(args.datasets),
        "fnp": args.fnp,
        "cuts": cuts.describe(),
        "normalisation": args.normalisation,
        "pht_mode": args.pht_mode,
    }
    out = Path(args.out)
    with atomic_write(out) as fh:
        json.dump(doc, fh, indent=1, allow_nan=True)
    if not args.no_points:
        cols = ["dataset", "x", "z", "Q2", "PhT", "data", "theory", "unc"]
        fmt = {c: "{:.4g}" for c in cols[1:]}
        print(format_table(doc["points"], cols, fmt))
        print()
    rows = [
        {
            "dataset": name,
            "points": doc["points_per_dataset"][name],
            "chi2": chi2,
            "chi2/N": chi2 / doc["points_per_dataset"][name],
        }
        for name, chi2 in doc["chi2_per_dataset"].items()
    ]
    print(
        format_table(
            rows, ["dataset", "points", "chi2", "chi2/N"], {"chi2": "{:.4g}", "chi2/N": "{:.3g}"}
        )
    )
    print(
        f"\nχ² = {doc['chi2']:.6g} for {doc['n_points']} points (χ²/N = "
        f"{doc['chi2_per_point']:.4g}; of which nuisance penalty {doc['chi2_penalty']:.4g})\n{out}"
    )
    return 0
