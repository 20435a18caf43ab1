"""The ``apfel`` luminosity provider: L_q(b) computed with APFEL++ through ``apfelpy``.

Computes the per-flavour luminosity of physics.md §1,

    L_q(b) = Y₊/x · e_q² · [x f_q(x, b*)] · [z D_q(z, b*)] / z · S(b*; μ, ζ)² · H(μ) · α_em(Q)² / Q³,

μ = Cf·Q, ζ = Q², following the recipe of the APFEL++ reference numbers
(``../shared/reference/README.md``; NangaParbat / quantom-collab/tmd ``map/`` style):

- collinear PDFs and FFs are read from the LHAPDF grids (``lhapdf.mkPDF``) at every scale,
  no re-evolution; outside [QMin, QMax] LHAPDF's extrapolator continues them
  (``extrapolation="continuation"``, the default) or they are frozen (``"freeze"``, the v1
  reference); x ≥ 1 gives 0;
- they are put on APFEL++ x-space grids (``xgridpdf``/``xgridff``, default as the old
  reference ``config.yaml``), rotated to the QCD evolution basis and matched at
  μ_b* = Ci·b0/b*, ζ = μ_b*² with ``apfelpy.tmd.MatchTmdPDFs`` / ``MatchTmdFFs``;
- the matched TMDs are tabulated in b* (``bstar_table``: APFEL++ ``QGrid`` semantics,
  ``nQ`` log intervals on [lo, hi], default 200 on [0.02, 2] GeV⁻¹) and interpolated in
  ln b*: ``linear`` as the reference, or ``cubic`` (scipy ``CubicSpline``, not-a-knot),
  which is smooth (physics.md §3, "A kinked (linear) tabulation breaks Ogata's accuracy");
- S: ``apfelpy.tmd.QuarkEvolutionFactor``, H: ``apfelpy.tmd.HardFactor("SIDIS", …)``,
  α_em: ``apfelpy.AlphaQED`` (one loop, lepton thresholds 0, 0, 1.777 GeV, quark
  thresholds of the PDF set; ``alphaem_thresholds="swapped"`` exchanges them as the
  reference did) tabulated with ``apfelpy.TabulateObject``;
- α_s: LHAPDF's ``alphasQ`` (``alphas="ipol"``, the default) or linear interpolation in
  ln Q of the PDF set's ``AlphaS_Qs``/``AlphaS_Vals`` frozen outside (``"linear-lnq"``, the
  v1 reference), tabulated with ``apfelpy.TabulateObject`` from 0.9 GeV;
- every PerturbativeOrder APFEL++ has (−2 … 3, N³LL included) is passed through;
- b* "bstarmin" (physics.md §2, :func:`sidislab.tmd.bstar.bstar_min`), thresholds and
  nf(μ) from the PDF set.

Target isoscalarity and hadron charge are applied to the tabulated proton TMD PDFs and
π⁺-like TMD FFs (physics.md §1): proton fraction |τ|, neutron by isospin (u ↔ d), τ < 0
swaps the roles of proton and neutron; charge −1 takes the charge conjugate of the FF set
(D_q → D_q̄), charge 0 the average of both.

``apfelpy`` and ``lhapdf`` are imported lazily: this module imports without them, and
constructing :class:`ApfelProvider` without them raises an :class:`ImportError` that says
how to install them (``environment.yml``). APFEL++ objects keep C++ references to the
x-space grids, distributions and TMD objects they were built from; the provider holds all
of them (``_Engine``) for its whole lifetime. The provider pickles as its constructor
arguments and rebuilds the APFEL++ objects lazily in the receiving process.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sidislab.constants import ALPHA_EM_MZ, B0, LEPTON_MASSES, MZ, QUARK_CHARGE2
from sidislab.errors import ConfigError
from sidislab.kinematics import Kinematics
from sidislab.lumi.base import LUMI_FLAVOURS, LuminosityProvider, as_nodes
from sidislab.tmd.bstar import bstar_min

if TYPE_CHECKING:
    from sidislab.config import Config

log = logging.getLogger(__name__)

XGridSpec = tuple[tuple[int, float, int], ...]

DEFAULT_XGRID_PDF: XGridSpec = ((100, 1.0e-4, 3), (60, 1.0e-1, 3), (50, 6.0e-1, 3), (50, 8.0e-1, 3))
"""APFEL++ sub-grids (points, x_min, interpolation degree) for TMD PDFs: the old reference
``config.yaml`` (quantom-collab/tmd ``map/inputs/config.yaml``, key ``xgridpdf``)."""

DEFAULT_XGRID_FF: XGridSpec = ((60, 1.0e-2, 3), (50, 6.0e-1, 3), (50, 8.0e-1, 3))
"""APFEL++ sub-grids for TMD FFs: the old reference ``config.yaml`` (key ``xgridff``)."""

DEFAULT_BSTAR_TABLE: tuple[float, float, int] = (0.02, 2.0, 200)
"""(lo, hi, nQ) of the b* tabulation in GeV⁻¹: nQ log-spaced intervals (nQ + 1 nodes), as
APFEL++ ``QGrid(nQ, lo, hi, 1, {}, log, exp)`` in the reference (README: [0.02, 2], 200)."""

BSTAR_INTERPOLATIONS: tuple[str, ...] = ("linear", "cubic")

ALPHAS_TABLE: tuple[int, float, int] = (100, 0.9, 3)
"""(nQ, QMin GeV, degree) of ``apfelpy.TabulateObject`` for α_s; QMax is the PDF set's QMax,
thresholds d..b of the set (as the old reference ``sidis_computation.py``; the reference
README: "from 0.9 GeV"). A numpy replica of this QGrid (``sidislab.collinear.alphas``,
method ``apfel-tab``) with these settings reproduces the reference ``alphas`` exactly."""

ALPHAEM_TABLE: tuple[int, float, float, int] = (100, 0.9, 1001.0, 3)
"""(nQ, QMin, QMax, degree) of ``apfelpy.TabulateObject`` for α_em (old reference code)."""

_INSTALL_HINT = (
    "Install them with conda: `conda env create -f environment.yml` (packages `apfelxx` "
    "from the hep-forge channel and `lhapdf` from conda-forge), or build APFEL++ "
    "(github.com/vbertone/apfelxx, with pybind11 for apfelpy) and LHAPDF from source. "
    "Without them, use `luminosity: {provider: native}`."
)

_QUARK_NAMES = ("Down", "Up", "Strange", "Charm", "Bottom", "Top")
_PHYS_IDS = tuple(range(-6, 7))  # APFEL++ physical basis: 0 = gluon
_E2 = np.array([QUARK_CHARGE2[abs(q)] for q in LUMI_FLAVOURS], dtype=np.float64)
_ABS_FLAV = np.array([abs(q) for q in LUMI_FLAVOURS])
# u <-> d (and ubar <-> dbar) in LUMI_FLAVOURS order: the neutron from the proton by isospin.
_ISOSPIN = np.array(
    [LUMI_FLAVOURS.index({1: 2, 2: 1, -1: -2, -2: -1}.get(q, q)) for q in LUMI_FLAVOURS]
)
# q <-> qbar in LUMI_FLAVOURS order: charge conjugation.
_CONJ = np.array([LUMI_FLAVOURS.index(-q) for q in LUMI_FLAVOURS])


# --- optional back-ends ----------------------------------------------------------------------
def _import_backends() -> tuple[Any, Any]:
    """Import ``apfelpy`` and ``lhapdf`` or raise an ImportError naming what is missing."""
    mods: dict[str, Any] = {}
    missing: list[str] = []
    for name in ("apfelpy", "lhapdf"):
        try:
            mods[name] = importlib.import_module(name)
        except ImportError as exc:
            missing.append(f"{name} ({exc})")
    if missing:
        raise ImportError(
            "the 'apfel' luminosity provider needs the Python modules apfelpy (APFEL++ "
            "bindings) and lhapdf; not importable here: "
            + "; ".join(missing)
            + ". "
            + _INSTALL_HINT
        )
    ap = mods["apfelpy"]
    if not hasattr(ap, "tmd"):
        raise ImportError(
            f"apfelpy ({getattr(ap, '__file__', '?')}) has no 'tmd' submodule: it predates "
            "APFEL++'s Python TMD bindings (InitializeTmdObjects, MatchTmdPDFs, "
            "QuarkEvolutionFactor, HardFactor in pywrap/pywrap.cc). " + _INSTALL_HINT
        )
    return ap, mods["lhapdf"]


def _module_version(mod: Any, dist_names: Sequence[str]) -> str:
    """Version of an imported module: its ``version()``/``__version__`` or package metadata."""
    fn = getattr(mod, "version", None)
    if callable(fn):
        try:
            return str(fn())
        except Exception as exc:  # a foreign extension: report and fall back
            log.debug("%s.version() failed: %s", getattr(mod, "__name__", mod), exc)
    v = getattr(mod, "__version__", None)
    if v:
        return str(v)
    from importlib import metadata

    for dist in dist_names:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


# --- pure helpers (no back-end needed) -------------------------------------------------------
def parse_xgrid(value: Any, key: str, source: str = "<config>") -> XGridSpec:
    """Validate APFEL++ sub-grid specs ``[[n, x_min, degree], ...]`` (old ``config.yaml``).

    Raises :class:`~sidislab.errors.ConfigError` naming ``source``, the key and the entry.
    """
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(
            f"{source}: key '{key}': expected a list of [n, x_min, degree], got {value!r}"
        )
    out = []
    for i, sg in enumerate(value):
        where = f"{source}: key '{key}[{i}]'"
        if not isinstance(sg, (list, tuple)) or len(sg) != 3:
            raise ConfigError(f"{where}: expected [n, x_min, degree], got {sg!r}")
        n, xmin, deg = sg
        if isinstance(xmin, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
            try:
                xmin = float(xmin)
            except ValueError:
                raise ConfigError(f"{where}: x_min must be a number, got {xmin!r}") from None
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise ConfigError(f"{where}: number of points must be an integer ≥ 2, got {n!r}")
        if isinstance(xmin, bool) or not isinstance(xmin, (int, float)) or not 0 < xmin < 1:
            raise ConfigError(f"{where}: x_min must lie in (0, 1), got {xmin!r}")
        if isinstance(deg, bool) or not isinstance(deg, int) or not 1 <= deg < n:
            raise ConfigError(
                f"{where}: interpolation degree must be an integer in [1, n), got {deg!r}"
            )
        out.append((int(n), float(xmin), int(deg)))
    xmins = [s[1] for s in out]
    if any(b <= a for a, b in itertools.pairwise(xmins)):
        raise ConfigError(f"{source}: key '{key}': sub-grid x_min must increase, got {xmins}")
    return tuple(out)


def _nf(mu: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Active flavours at μ as APFEL++ ``NF`` (src/kernel/tools.cc): count Q > threshold."""
    nf = np.zeros(np.shape(mu), dtype=np.int64)
    alive = np.ones(np.shape(mu), dtype=bool)
    for thr in thresholds:  # ordered; APFEL++ stops at the first threshold not passed
        alive &= np.asarray(mu) > thr
        nf += alive
    return nf


def _parse_float_list(text: Any) -> list[float]:
    """A YAML flow list of numbers as LHAPDF ``get_entry`` returns it (``"[1.0, 2.0, ]"``)."""
    if isinstance(text, (list, tuple)):
        return [float(v) for v in text]
    parts = str(text).strip().strip("[]").split(",")
    return [float(p) for p in (s.strip() for s in parts) if p]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _to_numpy(t: Any) -> np.ndarray:
    if hasattr(t, "detach"):
        t = t.detach().to("cpu").double().numpy()
    return np.asarray(t, dtype=np.float64)


# --- the APFEL++/LHAPDF objects, kept alive together ------------------------------------------
class _CollinearSet:
    """One LHAPDF member on an APFEL++ x-grid in the QCD evolution basis, at any scale.

    ``__call__(mu)`` returns an ``apfelpy.SetD`` with map ``EvolutionBasisQCD(nf(mu))`` (as
    NangaParbat's ``DistributionMap(g, PhysToQCDEv(xfxQ), mu)``): x·f from the LHAPDF grid
    at Q = clip(mu, QMin, QMax) (frozen outside the set), 0 for x ≥ 1.
    """

    def __init__(
        self,
        ap: Any,
        pdf: Any,
        grid: Any,
        thresholds: list[float],
        rot: np.ndarray,
        extrapolation: str = "freeze",
    ):
        self._ap, self._pdf, self._grid = ap, pdf, grid  # the grid must outlive every Distribution
        self.extrapolation = extrapolation
        self._thresholds = thresholds
        self._rot = rot
        self.qmin = math.sqrt(float(pdf.q2Min))
        self.qmax = math.sqrt(float(pdf.q2Max))
        joint = np.asarray(grid.GetJointGrid().GetGrid(), dtype=np.float64)
        subs = [np.asarray(sg.GetGrid(), dtype=np.float64) for sg in grid.GetSubGrids()]
        self._xs, inv = np.unique(np.concatenate([joint, *subs]), return_inverse=True)
        bounds = np.cumsum([0, len(joint), *[len(s) for s in subs]])
        self._i_joint = inv[bounds[0] : bounds[1]]
        self._i_subs = [inv[bounds[k + 1] : bounds[k + 2]] for k in range(len(subs))]
        self._inside = self._xs < 1.0
        self._flavours = [int(p) for p in pdf.flavors()]

    def physical(self, mu: float) -> np.ndarray:
        """x·f at the unique grid x-values, [13 (pid −6..6, 0 = gluon), n_x].

        ``freeze``: Q clamped to [QMin, QMax]; ``continuation``: LHAPDF's own extrapolator
        (the set's ``Extrapolator``, by default continuation); ``error``: raise outside.
        """
        q = float(mu)
        if self.extrapolation == "freeze":
            q = min(max(q, self.qmin), self.qmax)
        elif self.extrapolation == "error" and not self.qmin <= q <= self.qmax:
            raise ValueError(
                f"apfel: Q = {q:.6g} GeV outside the set's [{self.qmin:.6g}, {self.qmax:.6g}] "
                "GeV under extrapolation 'error'"
            )
        xs = self._xs[self._inside].tolist()
        qs = [q] * len(xs)
        out = np.zeros((len(_PHYS_IDS), len(self._xs)))
        for pid in self._flavours:
            key = 0 if pid in (0, 21) else pid
            if key not in _PHYS_IDS:
                continue
            out[key + 6, self._inside] = self._pdf.xfxQ(pid, xs, qs)  # lhapdf zips x, q lists
        return out

    def __call__(self, mu: float) -> Any:
        ev = self._rot @ self.physical(mu)
        dists = {
            k: self._ap.Distribution(
                self._grid, [ev[k, i].tolist() for i in self._i_subs], ev[k, self._i_joint].tolist()
            )
            for k in range(ev.shape[0])
        }
        nf = int(self._ap.utilities.NF(float(mu), self._thresholds))
        return self._ap.SetD(self._ap.EvolutionBasisQCD(nf), dists)


class _Engine:
    """Every APFEL++ and LHAPDF object of one provider, built once and held together."""

    def __init__(self, p: ApfelProvider) -> None:
        ap, lh = p._ap, p._lhapdf
        self.ap, self.lhapdf = ap, lh
        if p.quiet:
            ap.SetVerbosityLevel(0)
        self.pdf = lh.mkPDF(p.pdfset, p.pdf_member)
        self.ff = lh.mkPDF(p.ffset, p.ff_member)
        self.thresholds = _thresholds(self.pdf)
        self.alphas_qs, self.alphas_vals = _alphas_table(self.pdf, p.pdfset)
        self.ln_alphas_qs = np.log(self.alphas_qs)

        # Rotation physical -> QCD evolution basis, read off APFEL++'s own PhysToQCDEv.
        rot = np.zeros((13, 13))
        for j, pid in enumerate(_PHYS_IDS):
            ev = ap.utilities.PhysToQCDEv({q: float(q == pid) for q in _PHYS_IDS})
            rot[:, j] = [ev[k] for k in range(13)]
        self.rot = rot

        # x-space grids (referenced by every Operator and Distribution built on them).
        self.grid_pdf = ap.Grid([ap.SubGrid(*sg) for sg in p.xgridpdf])
        self.grid_ff = ap.Grid([ap.SubGrid(*sg) for sg in p.xgridff])

        # Couplings.
        nq, qmin, deg = ALPHAS_TABLE
        qmax_as = math.sqrt(float(self.pdf.q2Max))
        self.alphas_fn: Callable[[float], float] = (
            self._alphas_linear if p.alphas_method == "linear-lnq" else self._alphas_lhapdf
        )
        self.tab_alphas = ap.TabulateObject(
            self.alphas_fn, nq, min(qmin, qmin * p.Ci), qmax_as, deg, self.thresholds
        )
        self.alphas = self.tab_alphas.Evaluate if p.alphas_tabulated else self.alphas_fn
        if p.alphaem_run:
            # Positional: the C++ constructor (src/evolution/alphaqed.cc) takes the quark
            # thresholds third and the lepton ones fourth; pywrap.cc names them the other way
            # round ("LeptThresholds", "QuarkThresholds"), so keywords would swap them.
            quarks, leptons = list(self.thresholds), list(LEPTON_MASSES)
            if p.alphaem_thresholds == "swapped":
                quarks, leptons = leptons, quarks
            self.alphaem_obj = ap.AlphaQED(p.alphaem_ref, p.alphaem_Qref, quarks, leptons, 0)
            nq, q0, q1, deg = ALPHAEM_TABLE
            self.tab_alphaem = ap.TabulateObject(self.alphaem_obj, nq, q0, q1, deg)
            self.alphaem: Callable[[float], float] = self.tab_alphaem.Evaluate
        else:
            self.alphaem = lambda _q: p.alphaem_ref

        # TMD objects, matching, evolution and hard factor.
        self.tmd_pdf_obj = ap.tmd.InitializeTmdObjects(
            self.grid_pdf, self.thresholds, p.int_eps_matching
        )
        self.tmd_ff_obj = ap.tmd.InitializeTmdObjects(
            self.grid_ff, self.thresholds, p.int_eps_matching
        )
        self.coll_pdf = _CollinearSet(
            ap, self.pdf, self.grid_pdf, self.thresholds, rot, p.extrapolation
        )
        self.coll_ff = _CollinearSet(
            ap, self.ff, self.grid_ff, self.thresholds, rot, p.extrapolation
        )
        order = p.perturbative_order
        self.match_pdf = ap.tmd.MatchTmdPDFs(
            self.tmd_pdf_obj, self.coll_pdf, self.alphas, order, p.Ci
        )
        self.match_ff = ap.tmd.MatchTmdFFs(self.tmd_ff_obj, self.coll_ff, self.alphas, order, p.Ci)
        self.sudakov = ap.tmd.QuarkEvolutionFactor(
            self.tmd_pdf_obj, self.alphas, order, p.Ci, p.int_eps_evolution
        )
        self.hard = ap.tmd.HardFactor("SIDIS", self.tmd_pdf_obj, self.alphas, order, p.Cf)

        # Lazily filled tables (each holds Distributions that reference the grids above).
        self.tables: dict[str, list[dict[int, Any]]] = {}

    def _alphas_lhapdf(self, mu: float) -> float:
        """α_s: LHAPDF's ``alphasQ`` of the PDF set (its AlphaS_Type, ``ipol`` for tables)."""
        return float(self.pdf.alphasQ(float(mu)))

    def _alphas_linear(self, mu: float) -> float:
        """α_s: linear in ln Q through the set's AlphaS table, frozen outside (reference)."""
        return float(np.interp(math.log(mu), self.ln_alphas_qs, self.alphas_vals))

    def matched(self, kind: str, bstar: float) -> dict[int, Any]:
        """Matched TMDs at μ_b* in the physical basis: {pid: apfelpy.Distribution}."""
        match = self.match_pdf if kind == "pdf" else self.match_ff
        ev = match(float(bstar))
        phys = self.ap.utilities.QCDEvToPhys(ev.GetObjects())
        return {q: phys[q] for q in LUMI_FLAVOURS}

    def table(self, kind: str, nodes: np.ndarray) -> list[dict[int, Any]]:
        if kind not in self.tables:
            log.info("apfel: tabulating matched TMD %ss at %d b* nodes", kind.upper(), len(nodes))
            self.tables[kind] = [self.matched(kind, bs) for bs in nodes]
        return self.tables[kind]


def _thresholds(pdf: Any) -> list[float]:
    """Quark thresholds of an LHAPDF member, d..(heaviest flavour), as the reference."""
    nq = max([abs(f) for f in pdf.flavors() if 0 < abs(f) <= 6] or [5])
    out = []
    for i in range(1, nq + 1):
        if hasattr(pdf, "quarkThreshold"):
            out.append(float(pdf.quarkThreshold(i)))
            continue
        info = pdf.info()
        name = _QUARK_NAMES[i - 1]
        val = info.get_entry(f"Threshold{name}", None) or info.get_entry(f"M{name}", None)
        if val is None:
            raise ValueError(f"LHAPDF set: no Threshold{name}/M{name} in its metadata")
        out.append(float(val))
    return out


def _alphas_table(pdf: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The set's ``AlphaS_Qs``/``AlphaS_Vals`` (LHAPDF ``ipol`` table), sorted in Q."""
    info = pdf.info()
    qs_raw, vals_raw = info.get_entry("AlphaS_Qs", None), info.get_entry("AlphaS_Vals", None)
    if qs_raw is None or vals_raw is None:
        raise ValueError(
            f"{name}.info: no AlphaS_Qs/AlphaS_Vals table; the apfel provider takes α_s from "
            "the PDF set's table as the reference does"
        )
    qs, vals = np.array(_parse_float_list(qs_raw)), np.array(_parse_float_list(vals_raw))
    if len(qs) != len(vals) or len(qs) < 2:
        raise ValueError(
            f"{name}.info: AlphaS_Qs and AlphaS_Vals differ in length or are too short"
        )
    order = np.argsort(qs, kind="stable")
    return qs[order], vals[order]


# --- the provider -----------------------------------------------------------------------------
class ApfelProvider(LuminosityProvider):
    """Per-flavour L_q(b) from APFEL++ (``apfelpy``) and LHAPDF (``lhapdf``).

    Parameters
    ----------
    pdfset, ffset:
        LHAPDF set names (proton PDF; π⁺-like FF), members ``pdf_member``/``ff_member``.
    perturbative_order:
        APFEL++ ``PerturbativeOrder`` (0 LL, 1 NLL, 2 NNLL, 3 N³LL, −1 NLL′, −2 NNLL′).
    Ci, Cf:
        Scale factors: μ_b* = Ci·b0/b*, μ = Cf·Q (physics.md §1–2).
    alphaem_ref, alphaem_Qref, alphaem_run:
        α_em(Qref) and whether it runs (one-loop ``AlphaQED``); otherwise constant.
    alphaem_thresholds:
        ``"physical"`` (quark thresholds of the PDF set, leptons 0, 0, 1.777 GeV) or
        ``"swapped"`` (the two lists exchanged: what the reference's keyword call of the
        binding evaluates).
    alphas:
        ``"ipol"`` (LHAPDF ``alphasQ``, the default) or ``"linear-lnq"`` (linear in ln Q
        through the set's table, frozen outside: the v1 reference).
    extrapolation:
        Collinear sets below QMin/above QMax: ``"continuation"`` (LHAPDF's extrapolator,
        the default), ``"freeze"`` (clamped: the v1 reference) or ``"error"``.
    xgridpdf, xgridff:
        APFEL++ sub-grids ``((n, x_min, degree), ...)``.
    bstar_table:
        ``(lo, hi, nQ)`` of the b* tabulation in GeV⁻¹ (nQ log intervals). Points whose b*
        falls below ``lo`` (Q > b0/lo) raise ``ValueError``: widen the table.
    bstar_interpolation:
        ``"linear"`` in ln b* (the reference) or ``"cubic"`` (smooth, for Ogata).
    alphas_tabulated:
        Use α_s through ``apfelpy.TabulateObject`` as the reference (True) or the linear
        ln Q interpolation of the set's table directly (False).
    int_eps_matching, int_eps_evolution:
        ``IntEps`` of ``InitializeTmdObjects`` and of ``QuarkEvolutionFactor``.
    lhapdf_paths:
        Folders prepended to LHAPDF's search path (``lhapdf.pathsPrepend``).
    quiet:
        Set APFEL++'s verbosity to 0 (``apfelpy.SetVerbosityLevel``; global).

    Raises
    ------
    ImportError
        If ``apfelpy`` (with its ``tmd`` bindings) or ``lhapdf`` cannot be imported.
    """

    name = "apfel"

    def __init__(
        self,
        pdfset: str,
        ffset: str,
        *,
        pdf_member: int = 0,
        ff_member: int = 0,
        perturbative_order: int = 1,
        Ci: float = 1.0,
        Cf: float = 1.0,
        alphaem_ref: float = ALPHA_EM_MZ,
        alphaem_Qref: float = MZ,
        alphaem_run: bool = True,
        alphaem_thresholds: str = "physical",
        alphas: str = "ipol",
        extrapolation: str = "continuation",
        xgridpdf: Sequence[Sequence[float]] = DEFAULT_XGRID_PDF,
        xgridff: Sequence[Sequence[float]] = DEFAULT_XGRID_FF,
        bstar_table: tuple[float, float, int] = DEFAULT_BSTAR_TABLE,
        bstar_interpolation: str = "linear",
        alphas_tabulated: bool = True,
        int_eps_matching: float = 1e-5,
        int_eps_evolution: float = 1e-7,
        lhapdf_paths: Sequence[str | Path] = (),
        quiet: bool = True,
    ) -> None:
        kwargs = dict(locals())
        kwargs.pop("self")
        self._kwargs = kwargs
        # Validate everything that needs no back-end first.
        if perturbative_order not in (-2, -1, 0, 1, 2, 3):
            raise ValueError(
                f"ApfelProvider: PerturbativeOrder {perturbative_order!r} not in -2..3"
            )
        for key, v in (
            ("Ci", Ci),
            ("Cf", Cf),
            ("alphaem_ref", alphaem_ref),
            ("alphaem_Qref", alphaem_Qref),
        ):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"ApfelProvider: {key} must be a positive number, got {v!r}")
        for key, v, allowed in (
            ("alphaem.thresholds", alphaem_thresholds, ("physical", "swapped")),
            ("alphas", alphas, ("ipol", "linear-lnq")),
            ("luminosity.extrapolation", extrapolation, ("continuation", "freeze", "error")),
        ):
            if v not in allowed:
                raise ValueError(
                    f"ApfelProvider: {key}: {v!r} is not allowed (allowed: {', '.join(allowed)})"
                )
        if bstar_interpolation not in BSTAR_INTERPOLATIONS:
            raise ValueError(
                f"ApfelProvider: bstar_interpolation {bstar_interpolation!r} not in {BSTAR_INTERPOLATIONS}"
            )
        lo, hi, nq = bstar_table
        if not (0 < lo < hi and int(nq) == nq and nq >= 3):
            raise ValueError(
                f"ApfelProvider: bstar_table must be (lo, hi, nQ) with 0 < lo < hi, nQ ≥ 3; got {bstar_table!r}"
            )
        self.pdfset, self.ffset = str(pdfset), str(ffset)
        self.pdf_member, self.ff_member = int(pdf_member), int(ff_member)
        self.perturbative_order = int(perturbative_order)
        self.Ci, self.Cf = float(Ci), float(Cf)
        self.alphaem_ref, self.alphaem_Qref = float(alphaem_ref), float(alphaem_Qref)
        self.alphaem_run = bool(alphaem_run)
        self.alphaem_thresholds, self.alphas_method, self.extrapolation = (
            alphaem_thresholds,
            alphas,
            extrapolation,
        )
        self.xgridpdf = parse_xgrid([list(s) for s in xgridpdf], "xgridpdf", "ApfelProvider")
        self.xgridff = parse_xgrid([list(s) for s in xgridff], "xgridff", "ApfelProvider")
        self.bstar_table = (float(lo), float(hi), int(nq))
        self.bstar_nodes = np.exp(np.linspace(math.log(lo), math.log(hi), int(nq) + 1))
        self.bstar_interpolation = bstar_interpolation
        self.alphas_tabulated = bool(alphas_tabulated)
        self.int_eps_matching, self.int_eps_evolution = (
            float(int_eps_matching),
            float(int_eps_evolution),
        )
        self.lhapdf_paths = tuple(str(Path(pth)) for pth in lhapdf_paths)
        self.quiet = bool(quiet)

        self._ap, self._lhapdf = _import_backends()
        for pth in reversed(self.lhapdf_paths):
            self._lhapdf.pathsPrepend(pth)
        self._engine: _Engine | None = None
        self._files: dict[str, dict[str, str] | None] | None = None
        self._pdf_cache: dict[float, np.ndarray] = {}
        self._ff_cache: dict[float, np.ndarray] = {}
        self._sudakov_cache: dict[tuple[float, float, float], float] = {}
        self._hard_cache: dict[float, float] = {}

    # --- construction from the workbench configuration -----------------------------------
    @classmethod
    def from_config(cls, cfg: Config, **overrides: Any) -> ApfelProvider:
        """Build from a :class:`~sidislab.config.Config` (its ``apfel`` keys included).

        ``xgridpdf``/``xgridff`` come from the config's APFEL++ keys when present (else the
        old reference defaults); ``Qgrid``, ``xbgrid``, ``zgrid`` (collinear re-evolution
        and bin integration of the old code) are not used by this recipe and are logged.
        ``overrides`` are passed to the constructor (e.g. ``lhapdf_paths``).
        """
        apfel = dict(cfg.apfel)
        kw: dict[str, Any] = {
            "pdf_member": cfg.pdfset.member,
            "ff_member": cfg.ffset.member,
            "perturbative_order": cfg.PerturbativeOrder,
            "Ci": cfg.Ci,
            "Cf": cfg.Cf,
            "alphaem_ref": cfg.alphaem_ref,
            "alphaem_Qref": cfg.alphaem_Qref,
            "alphaem_run": cfg.alphaem_run,
            "alphaem_thresholds": getattr(cfg, "alphaem_thresholds", "physical"),
            "alphas": getattr(cfg, "alphas", "ipol"),
            "extrapolation": cfg.luminosity.extrapolation,
        }
        for key in ("xgridpdf", "xgridff"):
            if key in apfel:
                kw[key] = parse_xgrid(apfel[key], key, cfg.source)
        unused = sorted(set(apfel) - {"xgridpdf", "xgridff"})
        if unused:
            log.info(
                "%s: APFEL++ keys %s are not used by the apfel provider's recipe",
                cfg.source,
                unused,
            )
        kw.update(overrides)
        return cls(cfg.pdfset.name, cfg.ffset.name, **kw)

    # --- pickling: constructor arguments only, APFEL++ objects are rebuilt lazily ---------
    def __getstate__(self) -> dict[str, Any]:
        return {"kwargs": dict(self._kwargs)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        kwargs = dict(state["kwargs"])
        self.__init__(kwargs.pop("pdfset"), kwargs.pop("ffset"), **kwargs)

    # --- identity ---------------------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any]:
        """Provider, engine versions, order, scales, couplings, sets (+ checksums), grids."""
        files = self._set_files()
        return {
            "provider": self.name,
            "engine": {
                "apfelpy": _module_version(self._ap, ("apfelpy", "apfelxx")),
                "lhapdf": _module_version(self._lhapdf, ("lhapdf",)),
            },
            "PerturbativeOrder": self.perturbative_order,
            "scales": {
                "Ci": self.Ci,
                "Cf": self.Cf,
                "mu": "Cf*Q",
                "zeta": "Q^2",
                "mub": "Ci*b0/bstar",
            },
            "bstar": {"prescription": "bstarmin", "bmax": B0, "bmin": "bmax/Q"},
            "alphas": {
                "source": (
                    "pdfset AlphaS_Qs/AlphaS_Vals, linear in ln Q, frozen outside"
                    if self.alphas_method == "linear-lnq"
                    else "LHAPDF alphasQ of the PDF set"
                ),
                "method": self.alphas_method,
                "tabulated": self.alphas_tabulated,
                "table": list(ALPHAS_TABLE),
            },
            "alphaem": {
                "aref": self.alphaem_ref,
                "Qref": self.alphaem_Qref,
                "run": self.alphaem_run,
                "thresholds": self.alphaem_thresholds,
                "lepton_thresholds": list(LEPTON_MASSES),
                "table": list(ALPHAEM_TABLE),
            },
            "pdfset": {"name": self.pdfset, "member": self.pdf_member, "files": files["pdf"]},
            "ffset": {"name": self.ffset, "member": self.ff_member, "files": files["ff"]},
            "collinear": "LHAPDF grids at every scale, x >= 1 -> 0",
            "extrapolation": self.extrapolation,
            "xgridpdf": [list(s) for s in self.xgridpdf],
            "xgridff": [list(s) for s in self.xgridff],
            "bstar_table": list(self.bstar_table),
            "bstar_interpolation": self.bstar_interpolation,
            "int_eps": {"matching": self.int_eps_matching, "evolution": self.int_eps_evolution},
        }

    def _set_files(self) -> dict[str, dict[str, str] | None]:
        if self._files is None:
            self._files = {
                "pdf": self._find_set_files(self.pdfset, self.pdf_member),
                "ff": self._find_set_files(self.ffset, self.ff_member),
            }
        return self._files

    def _find_set_files(self, name: str, member: int) -> dict[str, str] | None:
        """SHA-256 of ``NAME.info`` and ``NAME_MMMM.dat`` on LHAPDF's search path."""
        try:
            paths = list(self._lhapdf.paths())
        except Exception as exc:
            log.warning("apfel: lhapdf.paths() failed (%s); no checksums for %s", exc, name)
            return None
        for root in paths:
            folder = Path(root) / name
            info, dat = folder / f"{name}.info", folder / f"{name}_{member:04d}.dat"
            if info.is_file() and dat.is_file():
                return {info.name: _sha256(info), dat.name: _sha256(dat)}
        log.warning(
            "apfel: %s member %d not found on LHAPDF paths %s; no checksums", name, member, paths
        )
        return None

    # --- the engine -------------------------------------------------------------------------
    @property
    def engine(self) -> _Engine:
        """The APFEL++/LHAPDF objects (built on first use; slow: TMD operators)."""
        if self._engine is None:
            log.info(
                "apfel: building APFEL++ objects for %s / %s at PerturbativeOrder %d",
                self.pdfset,
                self.ffset,
                self.perturbative_order,
            )
            self._engine = _Engine(self)
        return self._engine

    # --- single ingredients (for checks against the reference) ----------------------------
    def tmd_pdf(self, x: float, bstar: float) -> dict[int, float]:
        """Matched proton x·f_q(x, b*; μ_b*, μ_b*²) per flavour, computed at b* directly."""
        return {
            q: float(d.Evaluate(float(x))) for q, d in self.engine.matched("pdf", bstar).items()
        }

    def tmd_ff(self, z: float, bstar: float) -> dict[int, float]:
        """Matched z·D_q(z, b*; μ_b*, μ_b*²) of the FF set per flavour, at b* directly."""
        return {q: float(d.Evaluate(float(z))) for q, d in self.engine.matched("ff", bstar).items()}

    def sudakov(self, bstar: float, Q: float) -> float:
        """Quark evolution factor S(b*; μ = Cf·Q, ζ = Q²) (enters L squared)."""
        key = (float(bstar), self.Cf * float(Q), float(Q) ** 2)
        val = self._sudakov_cache.get(key)
        if val is None:
            val = float(self.engine.sudakov(*key))
            self._sudakov_cache[key] = val
        return val

    def hard(self, Q: float) -> float:
        """SIDIS hard factor H at μ = Cf·Q (APFEL++ ``HardFactor("SIDIS", …)``)."""
        mu = self.Cf * float(Q)
        val = self._hard_cache.get(mu)
        if val is None:
            val = float(self.engine.hard(mu))
            self._hard_cache[mu] = val
        return val

    def alphas(self, Q: float) -> float:
        """α_s(Q) as used by matching, evolution and hard factor."""
        return float(self.engine.alphas(float(Q)))

    def alphaem(self, Q: float) -> float:
        """α_em(Q)."""
        return float(self.engine.alphaem(float(Q)))

    # --- tabulated TMDs per distinct x / z ------------------------------------------------
    def _node_values(self, kind: str, x: float) -> np.ndarray:
        """[F, nQ+1]: matched TMD of every LUMI_FLAVOURS flavour at the b* nodes, at x."""
        cache = self._pdf_cache if kind == "pdf" else self._ff_cache
        val = cache.get(x)
        if val is None:
            table = self.engine.table(kind, self.bstar_nodes)
            val = np.array(
                [[node[q].Evaluate(x) for node in table] for q in LUMI_FLAVOURS], dtype=np.float64
            )
            cache[x] = val
        return val

    def _interpolate(self, tab: np.ndarray, group: np.ndarray, bstar: np.ndarray) -> np.ndarray:
        """Interpolate ``tab`` [G, F, nodes] in ln b* at ``bstar`` [N, Nb] → [N, F, Nb]."""
        lnodes = np.log(self.bstar_nodes)
        lnb = np.log(bstar)
        n_int = len(lnodes) - 1
        h = (lnodes[-1] - lnodes[0]) / n_int
        i = np.clip(np.floor((lnb - lnodes[0]) / h).astype(np.int64), 0, n_int - 1)
        g = group[:, None]
        if self.bstar_interpolation == "linear":
            w = (lnb - lnodes[i]) / (lnodes[i + 1] - lnodes[i])
            lo, hi = tab[g, :, i], tab[g, :, i + 1]  # [N, Nb, F]
            out = lo + (hi - lo) * w[..., None]
        else:
            from scipy.interpolate import CubicSpline

            c = CubicSpline(lnodes, tab, axis=2).c  # [4, n_int, G, F]
            dx = (lnb - lnodes[i])[..., None]
            cc = c[:, i, g]  # [4, N, Nb, F]
            out = ((cc[0] * dx + cc[1]) * dx + cc[2]) * dx + cc[3]
        return np.moveaxis(out, -1, 1)

    def _check_bstar_range(self, bstar: np.ndarray, Q: np.ndarray) -> None:
        lo, hi, _ = self.bstar_table
        bad = (bstar < lo * (1 - 1e-12)) | (bstar > hi * (1 + 1e-12))
        if bad.any():
            n = int(np.argmax(bad.any(axis=1)))
            raise ValueError(
                f"ApfelProvider: point {n} (Q = {Q[n]:.6g} GeV) has b* down to "
                f"{bstar[n].min():.6g} GeV⁻¹, outside the b* table [{lo}, {hi}]; "
                f"pass bstar_table=(lo, hi, nQ) with lo ≤ b0/Q = {B0 / Q.max():.6g}"
            )

    # --- the luminosity ---------------------------------------------------------------------
    def luminosity(self, kin: Kinematics, b: np.ndarray) -> np.ndarray:
        """L_q(b) [N, len(LUMI_FLAVOURS), Nb] in GeV⁻³, float64 (physics.md §1).

        Flavours above nf(μ = Cf·Q) carry 0. The matched TMDs are tabulated once per set and
        evaluated once per distinct x (PDF) and z (FF); S is cached per distinct (b*, μ, ζ),
        H per distinct μ.
        """
        bn = as_nodes(kin, b)
        x, z, Q, Yp = (_to_numpy(t) for t in (kin.x, kin.z, kin.Q, kin.Yp))
        bstar = bstar_min(bn, Q[:, None])
        self._check_bstar_range(bstar, Q)
        eng = self.engine
        qmax = math.sqrt(float(eng.pdf.q2Max))
        if (self.Cf * Q > qmax).any():
            n = int(np.argmax(self.Cf * Q > qmax))
            raise ValueError(
                f"ApfelProvider: point {n}: mu = Cf*Q = {self.Cf * Q[n]:.6g} GeV above the PDF "
                f"set's QMax = {qmax:.6g} GeV (end of the alpha_s tabulation)"
            )

        # TMD PDFs of the target: proton fraction |τ|, neutron by isospin; τ < 0 swaps them.
        ux, gx = np.unique(x, return_inverse=True)
        proton = np.stack([self._node_values("pdf", float(v)) for v in ux])
        neutron = proton[:, _ISOSPIN, :]
        tau = float(kin.target_isoscalarity)
        wp = abs(tau)
        first, second = (proton, neutron) if tau >= 0 else (neutron, proton)
        pdf_tab = wp * first + (1.0 - wp) * second

        # TMD FFs of the hadron: charge +1 as the set, -1 its conjugate, 0 their average.
        uz, gz = np.unique(z, return_inverse=True)
        ff_tab = np.stack([self._node_values("ff", float(v)) for v in uz])
        if kin.charge == -1:
            ff_tab = ff_tab[:, _CONJ, :]
        elif kin.charge == 0:
            ff_tab = 0.5 * (ff_tab + ff_tab[:, _CONJ, :])
        elif kin.charge != 1:
            raise ValueError(
                f"ApfelProvider: {kin.source}: hadron charge {kin.charge!r} not in (-1, 0, 1)"
            )

        xf = self._interpolate(pdf_tab, gx, bstar)
        zd = self._interpolate(ff_tab, gz, bstar)

        mu = self.Cf * Q
        pairs = np.stack([bstar.ravel(), np.repeat(Q, bstar.shape[1])], axis=1)
        upairs, inv = np.unique(pairs, axis=0, return_inverse=True)
        usud = np.array([self.sudakov(bs, q) for bs, q in upairs])  # cached per (b*, mu, zeta)
        sud = usud[inv.ravel()].reshape(bstar.shape)
        uq, iq = np.unique(Q, return_inverse=True)
        hard = np.array([self.hard(q) for q in uq])[iq]
        aem = np.array([self.alphaem(q) for q in uq])[iq]

        active = _ABS_FLAV[None, :] <= _nf(mu, eng.thresholds)[:, None]  # [N, F]
        pref = Yp / x * hard * aem**2 / Q**3 / z  # [N]
        lumi = (
            pref[:, None, None]
            * (_E2[None, :] * active)[:, :, None]
            * xf
            * zd
            * (sud**2)[:, None, :]
        )
        return np.ascontiguousarray(lumi, dtype=np.float64)


__all__ = [
    "BSTAR_INTERPOLATIONS",
    "DEFAULT_BSTAR_TABLE",
    "DEFAULT_XGRID_FF",
    "DEFAULT_XGRID_PDF",
    "ApfelProvider",
    "parse_xgrid",
]
