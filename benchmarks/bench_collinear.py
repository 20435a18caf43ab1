"""Timing of the collinear layer: loading sets, x·f at 10⁶ (x, Q) points, couplings.

Uses the JAM20-SIDIS sets of ``../shared/lhapdf`` when present and the embedded toy sets of
``data/lhapdf`` otherwise. Prints a table of absolute times and of ratios to the reference
row (native x·f of all flavours at 10⁶ points). Run: ``python benchmarks/bench_collinear.py``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sidislab.collinear import AlphaQED, load_set

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SIDISLAB_SHARED", REPO.parent / "shared")) / "lhapdf"
N = 1_000_000


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    if (SHARED / "JAM20-SIDIS_PDF_proton_nlo").is_dir():
        pdf_name, ff_name, paths = "JAM20-SIDIS_PDF_proton_nlo", "JAM20-SIDIS_FF_pion_nlo", [SHARED]
    else:
        pdf_name, ff_name, paths = "sidislab_toy_proton_nlo", "sidislab_toy_pip_nlo", None
    rows: list[tuple[str, int, float]] = []
    rows.append((f"load {pdf_name}", 1, _best(lambda: load_set(pdf_name, paths=paths))))
    rows.append((f"load {ff_name}", 1, _best(lambda: load_set(ff_name, paths=paths))))
    pdf = load_set(pdf_name, paths=paths)
    cont = load_set(pdf_name, paths=paths, extrapolation="continuation")
    ff = load_set(ff_name, paths=paths)
    rng = np.random.default_rng(0)
    x = np.exp(rng.uniform(np.log(1e-4), np.log(0.95), N))
    q = np.exp(rng.uniform(np.log(1.0), np.log(100.0), N))  # ~3 % below the PDF's QMin
    z = np.exp(rng.uniform(np.log(0.01), np.log(0.95), N))
    ref_label = "PDF xfxQ, all flavours (freeze)"
    rows.append((ref_label, N, _best(lambda: pdf.xfxQ(x, q))))
    rows.append(("PDF xfxQ, all flavours (continuation)", N, _best(lambda: cont.xfxQ(x, q))))
    rows.append(("FF xfxQ, all flavours (freeze)", N, _best(lambda: ff.xfxQ(z, q))))
    rows.append(("PDF xfxQ_pid(2) (freeze)", N, _best(lambda: pdf.xfxQ_pid(2, x, q))))
    for method in ("linear-lnq", "apfel-tab", "ipol", "rge"):
        a = pdf.make_alphas(method)
        rows.append((f"alpha_s {method}", N, _best(lambda a=a: a(q))))
    rows.append(("alpha_s rge: construction", 1, _best(lambda: pdf.make_alphas("rge"))))
    aqed = AlphaQED()
    rows.append(("alpha_em one loop", N, _best(lambda: aqed(q))))

    ref = next(t for label, _, t in rows if label == ref_label)
    print(f"collinear benchmark ({pdf_name}, {ff_name}; best of 3)")
    print(f"{'operation':44s} {'points':>9s} {'time [s]':>10s} {'ns/point':>9s} {'ratio':>7s}")
    for label, n, t in rows:
        per = f"{1e9 * t / n:9.1f}" if n > 1 else f"{'-':>9s}"
        print(f"{label:44s} {n:9d} {t:10.4f} {per} {t / ref:7.3f}")


if __name__ == "__main__":
    main()
