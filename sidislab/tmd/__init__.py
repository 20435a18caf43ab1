"""The native TMD engine: b*, anomalous dimensions, evolution, hard factor, matching.

Modules follow the physics objects (``physics.md`` §2–3; APFEL++ conventions):

* :mod:`.bstar` — the "bstarmin" prescription b*(b, Q) and μ_b* = C_i b0/b*;
* :mod:`.anomalous_dimensions` — β, γ_K, γ_F and the Collins–Soper kernel per order;
* :mod:`.evolution` — the quark evolution factor S(b*; μ, ζ), tabulated in ln μ;
* :mod:`.hard` — the SIDIS hard factor H (to two loops);
* :mod:`.orders` — PerturbativeOrder codes (LL … N³LL, NLL′, NNLL′) and what each keeps;
* :mod:`.matching` — LO/NLO/NNLO matching of quark TMD PDFs and FFs onto collinear sets;
* :mod:`.nnlo_matching` — the two-loop matching coefficients (APFEL++'s parametrisations);
* :mod:`.nnlo_scale_logs` — their ln C_i terms (scale variations with NNLO matching);
* :mod:`.splitting` — LO and NLO DGLAP kernels, space-like (PDFs) and time-like (FFs);
* :mod:`.tabulation` — matched TMDs on an (x, μ0) grid with cubic interpolation.

The luminosity provider that assembles them is :class:`sidislab.lumi.native.NativeProvider`.
"""

from __future__ import annotations

from sidislab.tmd.bstar import B_MAX, bstar_min, mu_bstar
from sidislab.tmd.evolution import QuarkEvolution
from sidislab.tmd.hard import h1_sidis, h2_sidis, hard_factor
from sidislab.tmd.matching import QUARKS, matched_tmd
from sidislab.tmd.tabulation import TableSpec, TMDTable

__all__ = [
    "B_MAX",
    "QUARKS",
    "QuarkEvolution",
    "TMDTable",
    "TableSpec",
    "bstar_min",
    "h1_sidis",
    "h2_sidis",
    "hard_factor",
    "matched_tmd",
    "mu_bstar",
]
