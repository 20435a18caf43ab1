r"""The ``native`` luminosity provider: sidislab's own TMD engine (:mod:`sidislab.tmd`).

Per point (x, z, Q, y) and b-node, physics.md §1–3:

    L_q(b) = Y₊/x · e_q² · [x f_q^TMD(x; μ_b*)] · [z D_q^TMD(z; μ_b*)] / z
             · S(b*; μ, ζ)² · H(Q; μ) · α_em(Q)² / Q³,

b* = b*(b, Q) ("bstarmin", :mod:`sidislab.tmd.bstar`), μ_b* = C_i b0/b*, μ = C_f Q, ζ = Q²,
q = ±1..±n_f(μ) (other flavours give 0). Units: GeV⁻³ for L (b in GeV⁻¹).

* Collinear inputs are read directly from the LHAPDF grids at every μ_b* (:mod:`sidislab.collinear`,
  whose ``extrapolation`` policy applies outside the grids: ``freeze`` below Q_min);
  x ≥ 1 gives 0. α_s is the PDF set's (``set.alphas``); the quark thresholds are the PDF
  set's masses, the first ``NumFlavors`` of them (5 when the set does not say).
* Matched TMDs are tabulated once per (set, order, C_i) on an (x, μ_b*) grid covering
  μ_b* ∈ [C_i Q_lo, C_i Q_hi] (``q_range``) and interpolated by cubic splines
  (:class:`sidislab.tmd.tabulation.TMDTable`); S is evaluated from a dense ln μ table of
  its running integrals (:class:`sidislab.tmd.evolution.QuarkEvolution`). Both depend only
  on the configuration, never on the batch of points, so a luminosity is a pure function
  of (configuration, points) and chunks can be computed anywhere and merged.
* Target (physics.md §1): ``target_isoscalarity`` τ gives the proton fraction |τ| and the
  neutron fraction 1 − |τ| for τ ≥ 0 (roles swapped for τ < 0); the neutron TMD PDFs are
  the proton ones with u ↔ d (and ū ↔ d̄).
* Hadron charge: the FF set is for the positive hadron. ``charge = -1`` uses charge
  conjugation, D_q^{h−} = D_{q̄}^{h+}; ``charge = 0`` uses the average
  (D_q^{h+} + D_{q̄}^{h+})/2, i.e. the mean of h⁺ and h⁻ (e.g. π⁰ from π± by isospin).
* PerturbativeOrder 0 (LL), 1 (NLL), −1 (NLL′), 2 (NNLL), −2 (NNLL′), 3 (N³LL)
  (:mod:`sidislab.tmd.orders`), each with any C_i, C_f > 0; −3 (N³LL′) raises
  :class:`sidislab.errors.NotYetImplementedOrder`.
* Defaults (what an LHAPDF user gets): α_s = the PDF set's ``ipol`` interpolation as
  LHAPDF ``alphasQ`` evaluates it (power-law continuation below the first knot), grids
  continued below Q_min by LHAPDF's ``continuation`` extrapolator, physical α_em running.
  The first APFEL++ reference's conventions (v1) are ``alphas="linear-lnq"``,
  ``extrapolation="freeze"``, ``alphaem_thresholds="swapped"``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sidislab.constants import ALPHA_EM_MZ, B0, LEPTON_MASSES, MZ, charge2
from sidislab.errors import ExtrapolationError
from sidislab.kinematics import Kinematics
from sidislab.lumi.base import LUMI_FLAVOURS, LuminosityProvider, as_nodes
from sidislab.tmd._util import call_vectorised, n_active
from sidislab.tmd.bstar import B_MAX, bstar_min
from sidislab.tmd.evolution import QuarkEvolution
from sidislab.tmd.hard import hard_factor
from sidislab.tmd.matching import QUARKS
from sidislab.tmd.orders import check_order as _check_order
from sidislab.tmd.orders import matching_order
from sidislab.tmd.tabulation import TableSpec, TMDTable

log = logging.getLogger(__name__)

ENGINE_VERSION = 2
"""Bumped whenever a change of the engine changes its numbers (enters the fingerprint).
2: N³LL and primed orders; the two-loop hard factor's ζ4 sign; defaults ipol/continuation."""

ALPHAEM_THRESHOLDS = ("physical", "swapped")
"""α_em running: ``physical`` (quarks at the PDF set's thresholds, leptons at (0, 0, 1.777)
GeV) or ``swapped`` (the two lists exchanged, as the APFEL++ reference's Python binding
call evaluates AlphaQED; 1.1–1.5e-3 lower at 1–10 GeV; see :mod:`sidislab.collinear.alphaem`)."""

BLOCK_ELEMENTS = 1 << 14
"""Points × b-nodes evaluated at once by default (``chunk_size``): 64 points at 256 nodes,
[64, 256, 10] float64 temporaries of 1.3 MB, within a core's L2 cache."""

_SWAP_UD = [QUARKS.index({1: 2, 2: 1, -1: -2, -2: -1}.get(q, q)) for q in QUARKS]
_CONJ = [QUARKS.index(-q) for q in QUARKS]
_E2 = np.array([charge2(q) for q in QUARKS])


def check_order(order: int) -> int:
    """Validate a PerturbativeOrder for the native engine (:data:`ORDER_NAMES`)."""
    return _check_order(order)


def _info_get(info: Any, key: str) -> Any:
    if info is None:
        return None
    for getter in (lambda: info.get(key), lambda: info[key]):
        try:
            return getter()
        except (AttributeError, KeyError, TypeError):
            continue
    data = getattr(info, "data", None)
    if isinstance(data, dict):
        return data.get(key)
    return None


def _as_numpy(t: Any) -> np.ndarray:
    if hasattr(t, "detach"):
        t = t.detach().cpu()
    return np.asarray(t, dtype=np.float64)


class NativeProvider(LuminosityProvider):
    """Per-flavour SIDIS luminosity L_q(b) from sidislab's own TMD engine (module docstring).

    Parameters
    ----------
    pdfset, ffset : LHAPDF set names (loaded with :func:`sidislab.collinear.load_set`) or
        already-loaded set objects (with ``name``, ``flavours``, ``xmin``, ``qmin``,
        ``thresholds``, ``checksum``, ``xfxQ``, ``alphas``; the FF set for the positive
        hadron).
    order : PerturbativeOrder (:data:`ORDER_NAMES`: 0, 1, −1, 2, −2, 3).
    Ci, Cf : scale factors, μ_b* = C_i b0/b*, μ = C_f Q.
    pdf_member, ff_member : set members (when loading by name).
    alphaem_ref, alphaem_Qref, alphaem_run : α_em(Q_ref) and whether it runs (one-loop
        :class:`sidislab.collinear.AlphaQED` with the PDF set's quark thresholds and lepton
        thresholds (0, 0, 1.777) GeV), else the constant α_em = ``alphaem_ref``.
    alphaem_thresholds : :data:`ALPHAEM_THRESHOLDS` (``"physical"``, the default, or
        ``"swapped"``, the APFEL++ reference's evaluation).
    alphaem : a callable Q → α_em overriding the above.
    alphas : α_s: a method name passed to ``set.make_alphas`` (default ``"ipol"``, LHAPDF's
        ``alphasQ``; ``"linear-lnq"`` the v1 reference's statement, ``"apfel-tab"`` what it
        evaluates, ``"rge"``; see :mod:`sidislab.collinear.alphas`), ``None`` for the set's
        ``alphas`` attribute, or a callable μ [GeV] → α_s.
    extrapolation, paths : passed to :func:`sidislab.collinear.load_set`. The tables need
        the sets at μ_b* down to C_i × 1 GeV (b* → b_max), below most sets' Q_min:
        ``"continuation"`` (the default, LHAPDF's), ``"freeze"`` (the v1 reference's
        convention); ``"error"`` raises while tabulating.
    q_range : (Q_lo, Q_hi) in GeV that the engine's tables cover; points outside raise.
    spec : :class:`sidislab.tmd.tabulation.TableSpec` (numerical settings of the tables).
    sudakov_step : node spacing in ln μ of the evolution table.
    chunk_size : points processed at once (speed and memory only: the values are the same
        bits for any size). Default: :data:`BLOCK_ELEMENTS` / Nb points (64 at 256 nodes),
        so that a block's [points, Nb, 10] float64 temporaries (1.3 MB) stay in a core's
        own cache: 1000 points × 256 nodes at N³LL (JAM20 sets, one core) take 0.175 s
        this way against 0.253 s in blocks of 256 points (5.2 MB), and two processes
        building at once no longer slow each other down (+20 % each with blocks of 256).
    """

    name = "native"

    def __init__(
        self,
        pdfset: Any = "sidislab_toy_proton_nlo",
        ffset: Any = "sidislab_toy_pip_nlo",
        order: int = 1,
        Ci: float = 1.0,
        Cf: float = 1.0,
        *,
        pdf_member: int = 0,
        ff_member: int = 0,
        alphaem_ref: float = ALPHA_EM_MZ,
        alphaem_Qref: float = MZ,
        alphaem_run: bool = True,
        alphaem_thresholds: str = "physical",
        alphaem: Callable | None = None,
        alphas: str | Callable | None = "ipol",
        extrapolation: str = "continuation",
        paths: Sequence[str] | None = None,
        q_range: tuple[float, float] = (1.0, 200.0),
        spec: TableSpec | None = None,
        sudakov_step: float = 0.01,
        chunk_size: int | None = None,
    ) -> None:
        self.order = check_order(order)
        if not (Ci > 0 and Cf > 0 and math.isfinite(Ci) and math.isfinite(Cf)):
            raise ValueError(f"NativeProvider: Ci and Cf must be finite and > 0, got {Ci}, {Cf}")
        self.Ci, self.Cf = float(Ci), float(Cf)
        self.extrapolation = extrapolation
        # Under ``error`` the tables are still built over the engine's whole (x, μ) range
        # (their nodes reach beyond any set's grid); what is refused is a *point* that
        # needs a set outside its grid (:meth:`_check_inside_sets`, before any work).
        table_policy = "continuation" if extrapolation == "error" else extrapolation
        self.pdf = self._load(pdfset, pdf_member, table_policy, paths)
        self.ff = self._load(ffset, ff_member, table_policy, paths)
        self.pdf_member = int(getattr(self.pdf, "member", pdf_member))
        self.ff_member = int(getattr(self.ff, "member", ff_member))
        q_lo, q_hi = float(q_range[0]), float(q_range[1])
        if not (0 < q_lo < q_hi and math.isfinite(q_hi)):
            raise ValueError(f"NativeProvider: bad q_range {q_range!r} (GeV)")
        self.q_range = (q_lo, q_hi)
        self.spec = spec or TableSpec()
        self.sudakov_step = float(sudakov_step)
        if chunk_size is not None and (isinstance(chunk_size, bool) or int(chunk_size) < 1):
            raise ValueError(f"NativeProvider: chunk_size must be >= 1, got {chunk_size!r}")
        self.chunk_size = None if chunk_size is None else int(chunk_size)

        nf_max = _info_get(getattr(self.pdf, "info", None), "NumFlavors")
        nf_max = int(nf_max) if nf_max is not None else 5
        self.thresholds = tuple(float(m) for m in tuple(self.pdf.thresholds)[:nf_max])
        self._alphas_source = "pdfset" if alphas is None or isinstance(alphas, str) else "custom"
        if alphas is None:
            self.alphas = self.pdf.alphas
        elif isinstance(alphas, str):
            maker = getattr(self.pdf, "make_alphas", None)
            if maker is not None:
                self.alphas = maker(alphas)
            elif alphas == "ipol":  # a set object without LHAPDF metadata: its own α_s
                self.alphas = self.pdf.alphas
            else:
                raise TypeError(
                    f"alphas: {alphas!r} needs a set with make_alphas (an LHAPDF set), "
                    f"got {type(self.pdf).__name__}"
                )
        elif callable(alphas):
            self.alphas = alphas
        else:
            raise TypeError(
                f"NativeProvider: alphas must be None, a method name or a callable, got {alphas!r}"
            )
        self.alphaem_ref, self.alphaem_Qref = float(alphaem_ref), float(alphaem_Qref)
        self.alphaem_run = bool(alphaem_run)
        if alphaem_thresholds not in ALPHAEM_THRESHOLDS:
            raise ValueError(
                f"alphaem.thresholds: {alphaem_thresholds!r} is not allowed "
                f"(allowed: {', '.join(ALPHAEM_THRESHOLDS)})"
            )
        self.alphaem_thresholds = alphaem_thresholds
        quarks, leptons = tuple(self.thresholds), tuple(LEPTON_MASSES)
        if alphaem_thresholds == "swapped":
            quarks, leptons = leptons, quarks
        self._alphaem_lists = (quarks, leptons)
        self._alphaem_custom = alphaem is not None
        if alphaem is not None:
            self.alphaem = alphaem
        elif self.alphaem_run:
            self.alphaem = _alpha_qed()(self.alphaem_ref, self.alphaem_Qref, quarks, leptons)
        else:
            self.alphaem = _ConstantCoupling(self.alphaem_ref)
        self._tables: dict[str, TMDTable] = {}
        self._evolution: QuarkEvolution | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the configuration, not what it loaded or built (for Dask workers).

        The matched-TMD tables (tens of MB) are dropped: they depend on the configuration
        only and are rebuilt lazily, identically, where the object is unpickled. Sets read
        from files travel as a :class:`_SetReference` (class, folder, name, member,
        extrapolation, checksum), not as their grids: :meth:`__setstate__` reads them again
        on the worker — which must see the same files (the checksum is compared)."""
        state = dict(self.__dict__)
        state["_tables"] = {}
        state["_evolution"] = None
        for attr in ("pdf", "ff"):
            state[attr] = _SetReference.of(state[attr]) or state[attr]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Re-read referenced sets (once per process) and share the built tables between
        the copies of one configuration in this process (a worker builds them once)."""
        state = dict(state)
        for attr in ("pdf", "ff"):
            if isinstance(state[attr], _SetReference):
                state[attr] = state[attr].load()
        self.__dict__.update(state)
        if self._alphas_source == "pdfset" and not self._alphaem_custom:
            key = json.dumps(self.fingerprint(), sort_keys=True, default=str)
            self._tables = _PROCESS_TABLES.setdefault(key, {})

    # --- construction helpers --------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: Any, paths: Sequence[str] | None = None, **kwargs: Any):
        """Build from a :class:`sidislab.config.Config` (sets, order, scales, α_em, extrapolation)."""
        return cls(
            cfg.pdfset.name,
            cfg.ffset.name,
            cfg.PerturbativeOrder,
            cfg.Ci,
            cfg.Cf,
            pdf_member=cfg.pdfset.member,
            ff_member=cfg.ffset.member,
            alphaem_ref=cfg.alphaem_ref,
            alphaem_Qref=cfg.alphaem_Qref,
            alphaem_run=cfg.alphaem_run,
            alphaem_thresholds=getattr(cfg, "alphaem_thresholds", "physical"),
            alphas=getattr(cfg, "alphas", "ipol"),
            extrapolation=cfg.luminosity.extrapolation,
            paths=paths,
            **kwargs,
        )

    @staticmethod
    def _load(choice: Any, member: int, extrapolation: str, paths: Sequence[str] | None):
        if hasattr(choice, "xfxQ"):
            return choice
        name = getattr(choice, "name", choice)
        member = int(getattr(choice, "member", member))
        if not isinstance(name, str):
            raise TypeError(f"NativeProvider: expected a set name or a loaded set, got {choice!r}")
        from sidislab.collinear import load_set

        kwargs: dict[str, Any] = {"member": member, "extrapolation": extrapolation}
        if paths is not None:
            kwargs["paths"] = list(paths)
        return load_set(name, **kwargs)

    # --- identity ----------------------------------------------------------------------------
    @staticmethod
    def _set_id(s: Any, member: int) -> dict[str, Any]:
        return {
            "name": str(getattr(s, "name", "?")),
            "member": member,
            "checksum": str(getattr(s, "checksum", "")),
        }

    def fingerprint(self) -> dict[str, Any]:
        """Everything the luminosity depends on (JSON-serialisable): see the class docstring."""
        return {
            "provider": self.name,
            "engine_version": ENGINE_VERSION,
            "order": self.order,
            "Ci": self.Ci,
            "Cf": self.Cf,
            "scales": {"mu": "Cf*Q", "zeta": "Q^2", "mu_b": "Ci*b0/bstar"},
            "bstar": {"prescription": "bstarmin", "b_max": B_MAX, "b_min": "b_max/Q"},
            "pdfset": self._set_id(self.pdf, self.pdf_member),
            "ffset": self._set_id(self.ff, self.ff_member),
            "extrapolation": {
                "policy": self.extrapolation,
                "pdf": str(getattr(self.pdf, "extrapolation", self.extrapolation)),
                "ff": str(getattr(self.ff, "extrapolation", self.extrapolation)),
            },
            "thresholds": list(self.thresholds),
            "alphas": {
                "source": self._alphas_source,
                "method": str(getattr(self.alphas, "method", _callable_name(self.alphas))),
            },
            "alphaem": (
                {"custom": _callable_name(self.alphaem)}
                if self._alphaem_custom
                else {
                    "ref": self.alphaem_ref,
                    "Qref": self.alphaem_Qref,
                    "run": self.alphaem_run,
                    "order": 0,
                    "thresholds": self.alphaem_thresholds,
                    "quark_thresholds": list(self._alphaem_lists[0]),
                    "lepton_thresholds": list(self._alphaem_lists[1]),
                }
            ),
            "engine": {
                "q_range": list(self.q_range),
                "table": self.spec.as_dict(),
                "sudakov_step": self.sudakov_step,
            },
        }

    # --- engine pieces (built once, lazily) --------------------------------------------------
    def _mu0_range(self) -> tuple[float, float]:
        q_lo, q_hi = self.q_range
        # b* ∈ [min(b_min, b_max), max(b_min, b_max)] ⇒ μ_b* ∈ C_i [min(1, Q), max(1, Q)] GeV.
        return self.Ci * min(1.0, q_lo) * (1 - 1e-9), self.Ci * max(1.0, q_hi) * (1 + 1e-9)

    def _breakpoints(self, with_alphas: bool = True) -> list[float]:
        """Scales (GeV) where the inputs stop being smooth: the sets' Q_min (frozen below)
        and, with ``with_alphas``, the knots of the PDF set's α_s table (α_s is linear or
        cubic between them and frozen below the first)."""
        bps = [float(getattr(self.pdf, "qmin", 0.0)), float(getattr(self.ff, "qmin", 0.0))]
        if with_alphas:
            knots = getattr(self.alphas, "qs", None)
            if knots is None:
                knots = _info_get(getattr(self.pdf, "info", None), "AlphaS_Qs")
            if knots is not None:
                bps += [float(k) for k in knots]
        return sorted({b for b in bps if b > 0})

    def table(self, kind: str) -> TMDTable:
        """The matched-TMD table of the PDF (``'pdf'``) or FF (``'ff'``) set (built once)."""
        if kind not in self._tables:
            key = self._table_key(kind)
            shared = _SHARED_TABLES.get(key) if key is not None else None
            if shared is not None:  # same matching, set, C_i, α_s, μ0-range: same numbers
                self._tables[kind] = shared
                return shared
            cset = self.pdf if kind == "pdf" else self.ff
            bps = self._breakpoints(with_alphas=matching_order(self.order) >= 1)
            log.info(
                "native: tabulating %s TMDs of %s (order %d)",
                kind,
                getattr(cset, "name", "?"),
                self.order,
            )
            self._tables[kind] = TMDTable(
                cset,
                kind,
                self.order,
                self.Ci,
                self.alphas,
                self.thresholds,
                self._mu0_range(),
                breakpoints=bps,
                spec=self.spec,
            )
            if key is not None:
                _SHARED_TABLES[key] = self._tables[kind]
                while len(_SHARED_TABLES) > _SHARED_TABLES_MAX:
                    _SHARED_TABLES.pop(next(iter(_SHARED_TABLES)))
        return self._tables[kind]

    def _table_key(self, kind: str) -> str | None:
        """What a matched-TMD table depends on, or None when that cannot be stated (a custom
        α_s callable): the set, the *matching* order (NLL = LL, NNLL = NLL′, N³LL = NNLL′),
        C_i, α_s, thresholds, μ0-range and the table spec. C_f does not enter: scale
        variations in C_f and the orders that share a matching reuse one table."""
        if self._alphas_source != "pdfset":
            return None
        cset, member = (self.pdf, self.pdf_member) if kind == "pdf" else (self.ff, self.ff_member)
        doc = {
            "kind": kind,
            "set": self._set_id(cset, member),
            "extrapolation": str(getattr(cset, "extrapolation", self.extrapolation)),
            "matching": matching_order(self.order),
            "Ci": self.Ci,
            "alphas": str(getattr(self.alphas, "method", "")),
            "alphas_set": self._set_id(self.pdf, self.pdf_member),
            "thresholds": list(self.thresholds),
            "mu0": list(self._mu0_range()),
            "spec": self.spec.as_dict(),
            "engine": ENGINE_VERSION,
        }
        return json.dumps(doc, sort_keys=True, default=str)

    def _check_inside_sets(
        self, x: np.ndarray, z: np.ndarray, Q: np.ndarray, b: np.ndarray, src: str
    ) -> None:
        """``luminosity.extrapolation: error``: refuse the first point whose luminosity needs
        a collinear set outside its grid. A point needs the PDF at x and the FF at z for
        μ_b* = C_i b0/b*(b, Q) over its b-nodes (physics.md §3): from its largest b-node
        (smallest μ_b*) to its smallest (largest μ_b*)."""
        mu = self.Ci * B0 / bstar_min(b, Q[:, None])
        mu_lo, mu_hi = mu.min(axis=1), mu.max(axis=1)
        eps = 1e-9
        for what, var, cset, v in (("PDF", "x", self.pdf, x), ("FF", "z", self.ff, z)):
            lim = [float(getattr(cset, k, math.nan)) for k in ("xmin", "xmax", "qmin", "qmax")]
            if any(math.isnan(val) for val in lim):
                continue  # a set that does not publish its grid: nothing to compare with
            xmin, xmax, qmin, qmax = lim
            tests = (
                (v < xmin * (1 - eps), var, v, f"< XMin = {xmin:.6g}"),
                (v > xmax * (1 + eps), var, v, f"> XMax = {xmax:.6g}"),
                (mu_lo < qmin * (1 - eps), "lowest μ_b*", mu_lo, f"GeV < QMin = {qmin:.6g} GeV"),
                (mu_hi > qmax * (1 + eps), "highest μ_b*", mu_hi, f"GeV > QMax = {qmax:.6g} GeV"),
            )
            for bad, name, values, limit in tests:
                if bad.any():
                    i = int(np.argmax(bad))
                    raise ExtrapolationError(
                        f"{src}: point {i} (x = {x[i]:.6g}, z = {z[i]:.6g}, Q = {Q[i]:.6g} GeV) "
                        f"needs the {what} set {getattr(cset, 'name', '?')} outside its grid: "
                        f"{name} = {values[i]:.6g} {limit} (luminosity.extrapolation: error; "
                        "allowed: continuation, freeze, error)"
                    )

    def evolution(self) -> QuarkEvolution:
        """The tabulated quark evolution factor (built once)."""
        if self._evolution is None:
            lo = min(self._mu0_range()[0], self.Cf * self.q_range[0]) * 0.999
            hi = max(self._mu0_range()[1], self.Cf * self.q_range[1]) * 1.001
            self._evolution = QuarkEvolution(
                self.alphas,
                self.thresholds,
                self.order,
                self.Ci,
                mu_range=(lo, hi),
                breakpoints=self._breakpoints(),
                step=self.sudakov_step,
            )
        return self._evolution

    # --- the luminosity --------------------------------------------------------------------------
    def luminosity(self, kin: Kinematics, b: np.ndarray) -> np.ndarray:
        """L_q(b) [N, 10, Nb] float64 (GeV⁻³) for flavours :data:`LUMI_FLAVOURS` (module docstring)."""
        b = as_nodes(kin, b)
        x, z, Q, Yp = (_as_numpy(v) for v in (kin.x, kin.z, kin.Q, kin.Yp))
        src = getattr(kin, "source", "<kinematics>")
        q_lo, q_hi = self.q_range
        bad = (Q < q_lo * (1 - 1e-12)) | (Q > q_hi * (1 + 1e-12))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"{src}: point {i}: Q = {Q[i]:.6g} GeV outside the native engine's q_range "
                f"[{q_lo:g}, {q_hi:g}] GeV (set NativeProvider(q_range=...))"
            )
        if self.extrapolation == "error":
            self._check_inside_sets(x, z, Q, b, src)
        for name, v, tab in (("x", x, self.table("pdf")), ("z", z, self.table("ff"))):
            low = v < tab.x_range[0]
            if low.any():
                i = int(np.argmax(low))
                raise ValueError(
                    f"{src}: point {i}: {name} = {v[i]:.6g} below the collinear set's "
                    f"x_min = {tab.x_range[0]:.6g}"
                )
        tau = float(getattr(kin, "target_isoscalarity", 1.0))
        charge = int(getattr(kin, "charge", 1))
        if charge not in (-1, 0, 1):
            raise ValueError(f"{src}: charge = {charge!r} not in (-1, 0, 1)")
        w_p = abs(tau) if tau >= 0 else 1.0 - abs(tau)
        # Per point: Y₊/x · H · α_em² / (Q³ z), and the flavour mask n_f(μ = C_f Q).
        mu = self.Cf * Q
        nf_mu = n_active(mu, self.thresholds)
        # H(Q; μ = C_f Q): α_s and n_f at Q, the scale in the logs (APFEL++ HardFactor)
        hard = hard_factor(
            call_vectorised(self.alphas, Q), self.order, self.Cf, n_active(Q, self.thresholds)
        )
        pref = Yp / x * hard
        pref = pref * call_vectorised(self.alphaem, Q) ** 2 / (Q**3 * z)
        mask = np.abs(np.asarray(QUARKS))[None, :] <= nf_mu[:, None]
        coef = pref[:, None] * _E2[None, :] * mask  # [N, 10]
        out = np.empty((len(x), len(LUMI_FLAVOURS), b.shape[1]))
        evo = self.evolution()
        pdf_tab, ff_tab = self.table("pdf"), self.table("ff")
        step = self.chunk_size or max(1, BLOCK_ELEMENTS // b.shape[1])
        for i in range(0, len(x), step):
            sl = slice(i, i + step)
            bstar = bstar_min(b[sl], Q[sl, None])
            mu0 = self.Ci * B0 / bstar
            f = pdf_tab.evaluate(x[sl], mu0)  # [n, Nb, 10]
            if w_p != 1.0:
                f = w_p * f + (1.0 - w_p) * f[..., _SWAP_UD]
            d = ff_tab.evaluate(z[sl], mu0)
            if charge == -1:
                d = d[..., _CONJ]
            elif charge == 0:
                d = 0.5 * (d + d[..., _CONJ])
            s2 = np.exp(2.0 * evo.log_sudakov(mu0, mu[sl, None], (Q[sl] ** 2)[:, None]))
            lum = (f * d).transpose(0, 2, 1) * s2[:, None, :]
            out[sl] = lum * coef[sl, :, None]
        return out


_PROCESS_SETS: dict[tuple[Any, ...], Any] = {}
"""Sets re-read by unpickled providers in this process, by :class:`_SetReference` key."""
_PROCESS_TABLES: dict[str, dict[str, TMDTable]] = {}
_SHARED_TABLES: dict[str, TMDTable] = {}
"""Matched-TMD tables shared between providers of this process (:meth:`NativeProvider._table_key`)."""
_SHARED_TABLES_MAX = 8
"""Matched-TMD tables shared by the unpickled providers of one configuration (by fingerprint)."""


class _SetReference:
    """How to read a collinear set again elsewhere: its class, folder, name, member,
    extrapolation and checksum (what a provider pickles instead of the grids)."""

    def __init__(
        self, cls: type, folder: str, name: str, member: int, extrapolation: str, checksum: str
    ) -> None:
        self.cls, self.folder, self.name = cls, folder, name
        self.member, self.extrapolation, self.checksum = member, extrapolation, checksum

    @classmethod
    def of(cls, s: Any) -> _SetReference | None:
        """The reference of a set read from a folder, else ``None`` (pickled as it is)."""
        folder = getattr(s, "path", None)
        needed = ("name", "member", "extrapolation", "checksum")
        if folder is None or not all(hasattr(s, a) for a in needed):
            return None
        return cls(type(s), str(folder), s.name, int(s.member), s.extrapolation, str(s.checksum))

    def key(self) -> tuple[Any, ...]:
        return (self.cls, self.folder, self.name, self.member, self.extrapolation, self.checksum)

    def load(self) -> Any:
        """The set, read from its folder (once per process); raises
        :class:`sidislab.errors.SetError` when the files there are not the pickled ones."""
        key = self.key()
        if key not in _PROCESS_SETS:
            from pathlib import Path

            from sidislab.errors import SetError

            loaded = self.cls(self.name, Path(self.folder), self.member, self.extrapolation)
            if str(getattr(loaded, "checksum", "")) != self.checksum:
                raise SetError(
                    f"{self.folder}: set {self.name} member {self.member} has checksum "
                    f"{getattr(loaded, 'checksum', '?')} here but {self.checksum} where the "
                    "provider was built: every worker must see the same set files"
                )
            _PROCESS_SETS[key] = loaded
        return _PROCESS_SETS[key]


def _callable_name(fn: Any) -> str:
    """A stable name for a user-supplied callable (no memory address)."""
    mod = getattr(fn, "__module__", None) or type(fn).__module__
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{mod}.{name}"


def _alpha_qed() -> type:
    """:class:`sidislab.collinear.AlphaQED` (from its module while the package does not export it)."""
    try:
        from sidislab.collinear import AlphaQED
    except ImportError:
        from sidislab.collinear.alphaem import AlphaQED
    return AlphaQED


class _ConstantCoupling:
    """A constant coupling, callable like a running one (α_em with ``run: false``)."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def __call__(self, Q: Any) -> np.ndarray:
        return np.full(np.shape(Q), self.value)

    def __repr__(self) -> str:
        return f"constant({self.value})"
