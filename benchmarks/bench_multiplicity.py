"""Bin-averaged multiplicities for all HERMES π bins after the MAP22 cuts.

Prints: the luminosity points (bin-integration nodes) the default rule needs, the accuracy
that node count buys against denser rules, how far the bin average is from the value at
the bin centre, and the epoch time (forward + backward of all predictions).

Needs ``../shared`` (data and JAM20 sets); prints why and returns where they are absent.
``python benchmarks/bench_multiplicity.py [--threads 2]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _timed(fn, repeat: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--order", type=int, default=2, help="PerturbativeOrder (2 = NNLL)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from sidislab.config import from_dict
    from sidislab.fnp import load_fnp
    from sidislab.lumi.providers import make_provider
    from sidislab.measurements.cuts import apply_cuts
    from sidislab.measurements.discovery import load_datasets
    from sidislab.observables.binning import BinRule
    from sidislab.pipeline import build_multiplicities, q_breaks

    data_dir, sets_dir = SHARED / "data" / "sidis", SHARED / "lhapdf"
    if not (data_dir.exists() and (sets_dir / "JAM20-SIDIS_PDF_proton_nlo").exists()):
        print(f"skipped: {data_dir} or the JAM20 sets in {sets_dir} are absent")
        return
    data = apply_cuts(load_datasets(["HERMES_*_Pi*"], [data_dir]))
    bins = data.bins
    cfg = from_dict(
        {
            "PerturbativeOrder": args.order,
            "pdfset": {"name": "JAM20-SIDIS_PDF_proton_nlo"},
            "ffset": {"name": "JAM20-SIDIS_FF_pion_nlo"},
        }
    )
    paths = [str(sets_dir)]
    provider = make_provider(cfg, paths=paths)
    fnp = load_fnp(REPO / "data" / "fnp" / "map22_flavour_blind.yaml")
    breaks = q_breaks(provider)
    print(f"HERMES π after MAP22 cuts: {len(bins)} points, {len(set(bins.dataset))} files")
    print(f"order {args.order}, JAM20 sets, {args.threads} threads, Q breaks {breaks} GeV\n")

    rules = {
        "light (2,3,2)": BinRule(n_x=2, n_Q=3, n_z=2),
        "default (3,4,3)": BinRule(),
        "dense (6,8,6)": BinRule(n_x=6, n_Q=8, n_z=6),
    }
    results, models = {}, {}
    for name, rule in rules.items():
        t0 = time.perf_counter()
        m = build_multiplicities(
            cfg, bins, fnp, rule=dataclasses.replace(rule, q_breaks=breaks),
            provider=provider, progress=False,
        )  # fmt: skip
        t_build = time.perf_counter() - t0
        with torch.no_grad():
            results[name] = m().numpy()
        models[name] = m
        print(
            f"{name:16s} luminosity points {m.x.shape[0]:7d}   (node, PhT-edge) pairs "
            f"{m.n_pairs:8d}   kernel {m.kernel.numel() * 8 / 2**20:7.1f} MiB   "
            f"build {t_build:6.2f} s (luminosity cache included)"
        )
    ref = results["dense (6,8,6)"]
    print("\naccuracy against the dense rule (max |M/M_dense − 1| over all points):")
    for name in ("light (2,3,2)", "default (3,4,3)"):
        d = np.abs(results[name] / ref - 1)
        print(f"  {name:16s} max {d.max():.2e}   median {np.median(d):.2e}")

    centre = build_multiplicities(
        cfg, bins, fnp, rule=BinRule(q_breaks=breaks), provider=provider, progress=False,
        pht_mode="centre",
    )  # fmt: skip
    with torch.no_grad():
        mc = centre().numpy()
    r = results["default (3,4,3)"] / mc - 1
    print(
        "\nbin average vs value at the PhT centre (x, Q, z averaged): median "
        f"{np.median(r):+.2e}, range [{r.min():+.2e}, {r.max():+.2e}]"
    )

    false = torch.zeros(len(bins), dtype=torch.bool)
    at_centre = dataclasses.replace(bins, integrate_x=false, integrate_Q=false, integrate_z=false)
    point = build_multiplicities(
        cfg, at_centre, fnp, rule=BinRule(q_breaks=breaks), provider=provider, progress=False,
        pht_mode="centre",
    )  # fmt: skip
    with torch.no_grad():
        mp = point().numpy()
    r = results["default (3,4,3)"] / mp - 1
    print(
        "bin average vs value at the bin centre (x, Q, z, PhT all at the centres): median "
        f"{np.median(r):+.2e}, median |·| {np.median(np.abs(r)):.2e}, range "
        f"[{r.min():+.2e}, {r.max():+.2e}]"
    )

    m = models["default (3,4,3)"]
    values = data.values.to(torch.float64)
    sigma = data.uncorrelated.to(torch.float64)

    def epoch() -> None:
        fnp.zero_grad(set_to_none=True)
        chi2 = (((m() - values) / sigma) ** 2).sum()
        chi2.backward()

    def forward() -> None:
        with torch.no_grad():
            m()

    ref = torch.rand(1_000_000, dtype=torch.float64) + 0.5

    def reference() -> None:  # a machine-speed yardstick: exp·log of 10⁶ doubles
        torch.exp(ref) * torch.log(ref)

    t_r = _timed(reference, 20)
    t_f = _timed(forward, args.repeat)
    t_e = _timed(epoch, args.repeat)
    print(
        f"\nepoch (all {len(bins)} predictions, forward + backward of a diagonal χ²): "
        f"{t_e:.3f} s   forward only {t_f:.3f} s   ratio {t_e / t_f:.2f}\n"
        f"yardstick exp·log of 10⁶ doubles {t_r * 1e3:.2f} ms: epoch = {t_e / t_r:.0f} "
        f"yardsticks (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
