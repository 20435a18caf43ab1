r"""The ``native`` luminosity provider: sidislab's own TMD engine (:mod:`sidislab.tmd`).

Per point (x, z, Q, y) and b-node, physics.md §1–3:

    L_q(b) = Y₊/x · e_q² · [x f_q^TMD(x; μ_b*)] · [z D_q^TMD(z; μ_b*)] / z
             · S(b*; μ, ζ)² · H(μ) · α_em(Q)² / Q³,

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
* PerturbativeOrder 0 (LL), 1 (NLL), 2 (NNLL); 3 (N³LL) and the primed (negative) orders
  raise :class:`sidislab.errors.NotYetImplementedOrder`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sidislab.constants import ALPHA_EM_MZ, B0, LEPTON_MASSES, MZ, charge2
from sidislab.errors import NotYetImplementedOrder
from sidislab.kinematics import Kinematics
from sidislab.lumi.base import LUMI_FLAVOURS, LuminosityProvider, as_nodes
from sidislab.tmd._util import call_vectorised, n_active
from sidislab.tmd.bstar import B_MAX, bstar_min
from sidislab.tmd.evolution import QuarkEvolution
from sidislab.tmd.hard import hard_factor
from sidislab.tmd.matching import QUARKS
from sidislab.tmd.tabulation import TableSpec, TMDTable

log = logging.getLogger(__name__)

ENGINE_VERSION = 1
"""Bumped whenever a change of the engine changes its numbers (enters the fingerprint)."""

ORDER_NAMES = {0: "LL", 1: "NLL", 2: "NNLL", 3: "N3LL", -1: "NLL'", -2: "NNLL'"}

_SWAP_UD = [QUARKS.index({1: 2, 2: 1, -1: -2, -2: -1}.get(q, q)) for q in QUARKS]
_CONJ = [QUARKS.index(-q) for q in QUARKS]
_E2 = np.array([charge2(q) for q in QUARKS])


def check_order(order: int) -> int:
    """Validate a PerturbativeOrder for the native engine (0, 1, 2)."""
    if isinstance(order, bool) or int(order) != order:
        raise ValueError(f"PerturbativeOrder must be an integer, got {order!r}")
    order = int(order)
    if order in (0, 1, 2):
        return order
    if order in ORDER_NAMES:
        raise NotYetImplementedOrder(
            f"PerturbativeOrder {order} ({ORDER_NAMES[order]}) is not yet implemented by the "
            "native TMD engine (available: 0 LL, 1 NLL, 2 NNLL)"
        )
    raise ValueError(f"PerturbativeOrder {order} is not one of {sorted(ORDER_NAMES)}")


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
    order : PerturbativeOrder 0, 1 or 2.
    Ci, Cf : scale factors, μ_b* = C_i b0/b*, μ = C_f Q.
    pdf_member, ff_member : set members (when loading by name).
    alphaem_ref, alphaem_Qref, alphaem_run : α_em(Q_ref) and whether it runs (one-loop
        :class:`sidislab.collinear.AlphaQED` with the PDF set's quark thresholds and lepton
        thresholds (0, 0, 1.777) GeV), else the constant α_em = ``alphaem_ref``.
    alphaem : a callable Q → α_em overriding the above.
    alphas : α_s: ``None`` for the PDF set's own (``set.alphas``), a method name passed to
        ``set.make_alphas`` (e.g. ``"apfel-tab"``, what the APFEL++ reference evaluates,
        see :mod:`sidislab.collinear.alphas`), or a callable μ [GeV] → α_s.
    extrapolation, paths : passed to :func:`sidislab.collinear.load_set`. The tables need
        the sets at μ_b* down to C_i × 1 GeV (b* → b_max), below most sets' Q_min: use
        ``"freeze"`` (the reference's convention) or ``"continuation"``; ``"error"`` raises
        while tabulating.
    q_range : (Q_lo, Q_hi) in GeV that the engine's tables cover; points outside raise.
    spec : :class:`sidislab.tmd.tabulation.TableSpec` (numerical settings of the tables).
    sudakov_step : node spacing in ln μ of the evolution table.
    chunk_size : points processed at once (memory only).
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
        alphaem: Callable | None = None,
        alphas: str | Callable | None = None,
        extrapolation: str = "freeze",
        paths: Sequence[str] | None = None,
        q_range: tuple[float, float] = (1.0, 200.0),
        spec: TableSpec | None = None,
        sudakov_step: float = 0.01,
        chunk_size: int = 256,
    ) -> None:
        self.order = check_order(order)
        if not (Ci > 0 and Cf > 0 and math.isfinite(Ci) and math.isfinite(Cf)):
            raise ValueError(f"NativeProvider: Ci and Cf must be finite and > 0, got {Ci}, {Cf}")
        self.Ci, self.Cf = float(Ci), float(Cf)
        self.extrapolation = extrapolation
        self.pdf = self._load(pdfset, pdf_member, extrapolation, paths)
        self.ff = self._load(ffset, ff_member, extrapolation, paths)
        self.pdf_member = int(getattr(self.pdf, "member", pdf_member))
        self.ff_member = int(getattr(self.ff, "member", ff_member))
        q_lo, q_hi = float(q_range[0]), float(q_range[1])
        if not (0 < q_lo < q_hi and math.isfinite(q_hi)):
            raise ValueError(f"NativeProvider: bad q_range {q_range!r} (GeV)")
        self.q_range = (q_lo, q_hi)
        self.spec = spec or TableSpec()
        self.sudakov_step = float(sudakov_step)
        self.chunk_size = int(chunk_size)

        nf_max = _info_get(getattr(self.pdf, "info", None), "NumFlavors")
        nf_max = int(nf_max) if nf_max is not None else 5
        self.thresholds = tuple(float(m) for m in tuple(self.pdf.thresholds)[:nf_max])
        self._alphas_source = "pdfset" if alphas is None or isinstance(alphas, str) else "custom"
        if alphas is None:
            self.alphas = self.pdf.alphas
        elif isinstance(alphas, str):
            self.alphas = self.pdf.make_alphas(alphas)
        elif callable(alphas):
            self.alphas = alphas
        else:
            raise TypeError(
                f"NativeProvider: alphas must be None, a method name or a callable, got {alphas!r}"
            )
        self.alphaem_ref, self.alphaem_Qref = float(alphaem_ref), float(alphaem_Qref)
        self.alphaem_run = bool(alphaem_run)
        self._alphaem_custom = alphaem is not None
        if alphaem is not None:
            self.alphaem = alphaem
        elif self.alphaem_run:
            self.alphaem = _alpha_qed()(
                self.alphaem_ref, self.alphaem_Qref, self.thresholds, LEPTON_MASSES
            )
        else:
            self.alphaem = _ConstantCoupling(self.alphaem_ref)
        self._tables: dict[str, TMDTable] = {}
        self._evolution: QuarkEvolution | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the built tables (tens of MB); workers rebuild them lazily, and
        identically, since they depend on the configuration only."""
        state = dict(self.__dict__)
        state["_tables"] = {}
        state["_evolution"] = None
        return state

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
            "extrapolation": self.extrapolation,
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
                    "lepton_thresholds": list(LEPTON_MASSES),
                    "quark_thresholds": list(self.thresholds),
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
            cset = self.pdf if kind == "pdf" else self.ff
            bps = self._breakpoints(with_alphas=self.order == 2)
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
        return self._tables[kind]

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
        pref = Yp / x * hard_factor(call_vectorised(self.alphas, mu), self.order, self.Cf)
        pref = pref * call_vectorised(self.alphaem, Q) ** 2 / (Q**3 * z)
        mask = np.abs(np.asarray(QUARKS))[None, :] <= n_active(mu, self.thresholds)[:, None]
        coef = pref[:, None] * _E2[None, :] * mask  # [N, 10]
        out = np.empty((len(x), len(LUMI_FLAVOURS), b.shape[1]))
        evo = self.evolution()
        pdf_tab, ff_tab = self.table("pdf"), self.table("ff")
        step = max(1, self.chunk_size)
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
