"""Adaptive vs fixed b-grids on the real integrand: nodes and time per point, and error.

σ for the 288 points of data/kinematics/sidis_mix.yaml (HERMES, COMPASS, EIC; MAP22
flavour-blind fNP × the native luminosity of the embedded sets, through the cache), by
trapezoid and Simpson on the fixed default grid (193 nodes) and on adaptive per-point
grids (``CrossSection(..., adaptive=True)``, target 1e-4). Per experiment: mean and largest
node count, worst relative error against a converged reference (Ogata with ten times finer
steps, checked against a 6145-node trapezoid); then the set-up (grid choice + luminosity
at the nodes), forward and forward + backward times per point, absolute and relative to
the fixed trapezoid.

    python benchmarks/bench_adaptive.py
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import torch

from sidislab.config import Config
from sidislab.constants import B0
from sidislab.fnp import load_fnp
from sidislab.kinematics import load_kinematics
from sidislab.numerics.bgrid import BGrid
from sidislab.numerics.error_estimates import AccuracyWarning
from sidislab.observables.xsec import CrossSection
from sidislab.pipeline import luminosity_table

ROOT = Path(__file__).resolve().parents[1]


ROUNDS = 15
THREADS = 1  # one thread: a shared machine's load distorts the ratios less


def main() -> None:
    torch.set_num_threads(THREADS)
    warnings.simplefilter("ignore", AccuracyWarning)  # the fixed grids at EIC qT: flagged
    kin = load_kinematics(ROOT / "data" / "kinematics" / "sidis_mix.yaml")
    table = luminosity_table(Config(), kin, progress=False)
    fnp = load_fnp(ROOT / "data" / "fnp" / "map22_flavour_blind.yaml")
    N = len(kin)
    with torch.no_grad():
        b_scale = torch.clamp(B0 / (2 * kin.Q), max=0.1) / 10
        ref = CrossSection(kin, table, fnp, integrator="ogata", tol=1e-10, b_scale=b_scale)()
        fine = CrossSection(
            kin, table, fnp, integrator="trapezoid", grid=BGrid(1e-5, 72.0, 6145, "loglinear", 3.0)
        )()
    print(
        f"σ for {N} points (sidis_mix.yaml), float64, {torch.get_num_threads()} threads; "
        f"reference: Ogata h/10, within {float(((fine - ref) / ref).abs().max()):.1e} of a "
        "6145-node trapezoid"
    )
    labels = list(dict.fromkeys(kin.labels))
    masks = {lab: torch.tensor([x == lab for x in kin.labels]) for lab in labels}
    built = []
    for name, kw in (
        ("fixed trapezoid", {"integrator": "trapezoid"}),
        ("fixed simpson", {"integrator": "simpson"}),
        ("adaptive trapezoid", {"integrator": "trapezoid", "adaptive": True}),
        ("adaptive simpson", {"integrator": "simpson", "adaptive": True}),
    ):
        t0 = time.perf_counter()
        xs = CrossSection(kin, table, fnp, **kw)
        setup = time.perf_counter() - t0
        with torch.no_grad():
            res = xs.with_error()
        n = xs.transform.n_nodes if kw.get("adaptive") else torch.full((N,), xs.nodes.shape[1])
        rel = ((res.value - ref) / ref).abs()
        per = {
            lab: (float(n[m].double().mean()), int(n[m].max()), float(rel[m].max()))
            for lab, m in masks.items()
        }
        built.append((name, xs, setup, int(xs.nodes.shape[1]), int(res.flagged.sum()), per))

    def fwd(xs) -> None:
        with torch.no_grad():
            xs()

    def fwd_bwd(xs) -> None:
        fnp.zero_grad()
        xs().sum().backward()

    # interleaved rounds (the machine is shared): the best of ROUNDS per method
    times = {name: [math.inf, math.inf] for name, *_ in built}
    for _ in range(ROUNDS):
        for name, xs, *_ in built:
            for k, fn in enumerate((fwd, fwd_bwd)):
                t0 = time.perf_counter()
                fn(xs)
                times[name][k] = min(times[name][k], time.perf_counter() - t0)
    rows = [
        (name, setup, *times[name], n_pad, flagged, per)
        for name, _, setup, n_pad, flagged, per in built
    ]

    print(
        f"\n{'method':<20}"
        + "".join(f"{lab + ': nodes mean/max, worst rel':>38}" for lab in labels)
    )
    for name, *_, per in rows:
        cells = "".join(
            f"{f'{m:.0f}/{mx}':>26}{e:>12.1e}" for m, mx, e in (per[lab] for lab in labels)
        )
        print(f"{name:<20}{cells}")
    base_f, base_fb = rows[0][2], rows[0][3]
    print(
        f"\n{'method':<20} {'padded n':>9} {'flagged':>8} {'set-up [s]':>11} "
        f"{'fwd/pt [µs]':>12} {'fwd+bwd/pt [µs]':>16} {'fwd / fixed trap':>17} {'fwd+bwd / fixed':>16}"
    )
    for name, setup, t_f, t_fb, n_pad, flagged, _ in rows:
        print(
            f"{name:<20} {n_pad:>9} {flagged:>8} {setup:>11.2f} {t_f / N * 1e6:>12.1f} "
            f"{t_fb / N * 1e6:>16.1f} {t_f / base_f:>17.2f} {t_fb / base_fb:>16.2f}"
        )


if __name__ == "__main__":
    main()
