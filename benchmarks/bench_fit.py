"""One fit epoch (forward + backward) for N points × 256 b-nodes: batched vs a loop.

Measures, in one run and on the same machine: the batched :class:`CrossSection` epoch
(loss = χ², backward to all MAP22 parameters: 21 blind, 141 flavour dependent) for
N = 10², 10³, 10⁴, flavour blind and flavour dependent; and the old script's structure — a
Python loop over points, each point's fNP and trapezoid computed on its own — for the same
computation (kept here only, as the baseline). Each case runs in a fresh process so that
the peak-memory figure (peak of the resident set during the epochs, warm-up included, over
the set before them; the peak is reset after the setup) belongs to that case alone. The ratio is
also given in CPU time (``time.process_time``, all threads of the case's process), which
is less disturbed than wall time when other processes share the cores; the load average
is printed before and after.

The batched epoch (both fNP kinds) is :meth:`sidislab.fnp.FNP.integrate`, called by
``CrossSection.forward``: the MAP22 shapes depend on b only through Gaussians in b², so
the sum over nodes and flavours is evaluated per (point, parameter set, term) with its
first derivatives in one pass over cache-sized blocks of points, with the evolution factor
folded into the Gaussian widths (:mod:`sidislab.fnp.gaussians`); the backward pass is a
product with the saved derivatives. The flavour-dependent model
(``map22_flavour_dependent``: 7 PDF and 7 FF sets, 7 (PDF, FF) pairs for the 10 flavours)
does about 7 times the exponentials of the blind one. Times are minima: of at least 7
batched epochs and 1 s of them, of 2 loop epochs (other processes share the cores).

    python benchmarks/bench_fit.py [--device cuda] [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
NB = 256


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _reset_peak() -> bool:
    """Reset the process's peak resident set (VmHWM; Linux ≥ 4.0), so that the peak read
    after the epochs is theirs and not the setup's. False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_mib(reset: bool) -> float:
    """The peak resident set since :func:`_reset_peak` (else over the process's life)."""
    if reset:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB → MiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB → MiB (Linux)


def _points(n: int, seed: int = 0):
    """N random SIDIS points in HERMES–EIC-like ranges (qT/Q ≤ 0.5)."""
    from sidislab.kinematics import from_mapping

    rng = np.random.default_rng(seed)
    x = 10 ** rng.uniform(-2.5, -0.5, n)
    q2 = 10 ** rng.uniform(0.2, 2.0, n)
    z = rng.uniform(0.2, 0.8, n)
    pht = rng.uniform(0.02, 0.5, n) * np.sqrt(q2) * z
    vs = np.sqrt(q2 / (x * rng.uniform(0.2, 0.8, n)))
    doc = {
        "header": {"Vs": vs.tolist()},
        "data": {"x": x.tolist(), "Q2": q2.tolist(), "z": z.tolist(), "PhT": pht.tolist()},
    }
    return from_mapping(doc, qToQcut=10.0, source="bench")


def _case(n: int, mode: str, flavour: str, device: str, queue) -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    from sidislab.fit import Targets, loss_and_backward
    from sidislab.fnp import load_fnp
    from sidislab.lumi import LUMI_FLAVOURS, AnalyticProvider
    from sidislab.lumi.cache import build_chunk
    from sidislab.numerics.bgrid import BGrid
    from sidislab.observables.xsec import CrossSection

    kin = _points(n).to(device=device)
    grid = BGrid(1e-3, 72.0, NB, "loglinear", 3.0)
    b = grid.nodes()
    L = torch.as_tensor(
        build_chunk(AnalyticProvider.toy(), kin.to("cpu"), b.numpy()), device=device
    )  # [N, F, Nb]
    name = "map22_flavour_dependent" if flavour == "dependent" else "map22_flavour_blind"
    fnp = load_fnp(REPO / "data" / "fnp" / f"{name}.yaml", device=device, check_inputs=False)

    class Table:  # the luminosity already on the grid nodes
        flavours = LUMI_FLAVOURS

        def interpolate(self, nodes, dtype=torch.float64, device=None):
            return L.to(dtype)

    xs = CrossSection(kin, Table(), fnp, integrator="trapezoid", grid=grid, device=device)
    with torch.no_grad():
        target = xs() * 1.05
    targets = Targets(target, 0.05 * target.abs())
    if mode == "batched":

        def epoch() -> None:  # what the fit's closure does: chunks of 1024 points
            fnp.zero_grad()
            loss_and_backward(xs, targets, "chi2", chunk_size=1024)
    else:
        kern = xs.transform.kernel  # w_j b_j J0(qT b_j), [N, Nb]
        flav = None if fnp.flavour_blind else LUMI_FLAVOURS
        Lp = L.sum(1, keepdim=True) if fnp.flavour_blind else L

        def epoch() -> None:
            fnp.zero_grad()
            loss = torch.zeros((), dtype=torch.float64, device=device)
            for i in range(n):  # the old structure: one point at a time
                f = fnp(kin.x[i : i + 1], kin.z[i : i + 1], b.to(device), kin.Q2[i : i + 1], flav)
                s = xs.prefactor[i] * (kern[i] * (f[0] * Lp[i]).sum(0)).sum()
                loss = loss + ((s - target[i]) / (0.05 * target[i].abs())) ** 2
            loss.backward()

    rss0 = _rss_mib()
    reset = _reset_peak()
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    epoch()  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    times, cpu = [], []
    # the fastest epoch: of ≥ 7 and ≥ 1 s of them (batched), of 2 (loop); the cores are
    # shared, so a single epoch can land in a busy moment
    least, budget = (7, 1.0) if mode == "batched" else (2, 0.0)
    while len(times) < least or (sum(times) < budget and len(times) < 200):
        t0, c0 = time.perf_counter(), time.process_time()
        epoch()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    peak = _peak_mib(reset)
    gpu = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
    queue.put(
        {
            "time": min(times),
            "cpu": min(cpu),
            "peak_growth_mib": max(0.0, peak - rss0),
            "gpu_mib": gpu,
        }
    )


def run(n: int, mode: str, flavour: str, device: str) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_case, args=(n, mode, flavour, device, q))
    p.start()
    out = q.get()
    p.join()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true", help="N = 10², 10³ only")
    args = ap.parse_args()
    sizes = (100, 1000) if args.quick else (100, 1000, 10000)
    print(
        f"one epoch (χ² forward + backward, all parameters: 21 blind, 141 dependent), {NB} "
        f"b-nodes, {args.device}, "
        f"{torch.get_num_threads()} threads"
    )
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(
        f"{'fNP':<10} {'N':>6} {'batched [s]':>12} {'(CPU [s])':>10} {'loop [s]':>10} "
        f"{'loop/batched':>13} {'(CPU time)':>11} {'batched/N [ms]':>15} "
        f"{'peak growth [MiB]':>18}"
    )
    for flavour in ("blind", "dependent"):
        for n in sizes:
            b = run(n, "batched", flavour, args.device)
            loop = run(n, "loop", flavour, "cpu") if n <= 1000 else None
            ratio = f"{loop['time'] / b['time']:.0f}×" if loop else "—"
            cratio = f"{loop['cpu'] / b['cpu']:.0f}×" if loop and args.device == "cpu" else "—"
            lt = f"{loop['time']:.3f}" if loop else "(skipped)"
            mem = b["gpu_mib"] if b["gpu_mib"] is not None else b["peak_growth_mib"]
            print(
                f"{flavour:<10} {n:>6} {b['time']:>12.4f} {b['cpu']:>10.4f} {lt:>10} "
                f"{ratio:>13} {cratio:>11} {1e3 * b['time'] / n:>15.3f} {mem:>18.0f}"
            )

    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
