"""Collinear inputs: LHAPDF ``lhagrid1`` sets, set discovery, α_s and α_em (``physics.md`` §3–4).

Public interface (used by the TMD engine)::

    from sidislab.collinear import load_set, find_set, list_sets, AlphaS, AlphaQED
    s = load_set("JAM20-SIDIS_PDF_proton_nlo", member=0, backend="native",
                 extrapolation="freeze", paths=None)
    s.xfxQ(x, Q)            # (…, n_flavours) x·f for s.flavours
    s.xfxQ_pid(2, x, Q)     # one flavour
    s.alphas(Q)             # α_s from the set's table, linear in ln Q, frozen outside
    AlphaQED()(Q)           # one-loop α_em as APFEL++ AlphaQED

Modules: :mod:`.lhagrid` (file format), :mod:`.interpolation` (LHAPDF log-bicubic and
extrapolators), :mod:`.pdfset` (set objects and backends), :mod:`.discovery` (search
paths), :mod:`.alphas`, :mod:`.alphaem`.
"""

from __future__ import annotations

from sidislab.collinear.alphaem import AlphaQED
from sidislab.collinear.alphas import ALPHAS_METHODS, AlphaS
from sidislab.collinear.discovery import PROJECT_DATA, find_set, list_sets, search_paths
from sidislab.collinear.interpolation import EXTRAPOLATIONS
from sidislab.collinear.pdfset import BACKENDS, CollinearSet, LHAPDFSet, NativeSet, load_set

__all__ = [
    "ALPHAS_METHODS",
    "BACKENDS",
    "EXTRAPOLATIONS",
    "PROJECT_DATA",
    "AlphaQED",
    "AlphaS",
    "CollinearSet",
    "LHAPDFSet",
    "NativeSet",
    "find_set",
    "list_sets",
    "load_set",
    "search_paths",
]
