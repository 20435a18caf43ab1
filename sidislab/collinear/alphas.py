"""The strong coupling α_s(Q) of a PDF set: from its table or by RGE running.

Methods (``AlphaS(method=...)``, recorded in ``.method``; ``../shared/physics.md`` §3):

``"linear-lnq"``
    Linear interpolation in ln Q of the set's ``AlphaS_Qs``/``AlphaS_Vals`` table, frozen
    at the first/last value outside it. This is the convention the APFEL++ reference
    states (``../shared/reference/README.md``).
``"apfel-tab"``
    What the reference actually evaluates: ``"linear-lnq"`` sampled by APFEL++
    ``TabulateObject<double>`` on its ``QGrid`` (``src/kernel/qgrid.cc``: 100 intervals
    uniform in ln(2 ln(Q/Λ)), Λ = 0.25 GeV, from 0.9 GeV to the set's ``QMax``, nodes
    doubled at the quark thresholds) and interpolated with cubic Lagrange polynomials that
    do not cross a threshold. It differs from ``"linear-lnq"`` by up to ~1e-4 relative
    between table knots. Outside [0.9 GeV, QMax] (where APFEL++ returns 0) it falls back to
    ``"linear-lnq"``.
``"ipol"``
    LHAPDF's ``AlphaS_Ipol`` (``src/AlphaS_Ipol.cc``, LHAPDF ≥ 6.2): the table is split into
    subgrids at repeated Q knots; inside a subgrid, cubic Hermite interpolation in ln Q²
    with derivatives from forward/central/backward differences; above the last knot frozen;
    below the first knot the power law α_s(Q²) = α_s(Q²_0) (Q²/Q²_0)^g with the log-log
    slope g of the first two distinct knots.
``"rge"``
    Numerical solution of the QCD renormalisation-group equation from ``AlphaS_MZ`` at
    ``MZ``, da/d ln μ² = −Σ_{k<loops} β_k a^{k+2}, a = α_s/(4π), with β_0…β_3 in the
    MS-bar scheme (van Ritbergen, Vermaseren, Larin, hep-ph/9701390, eq. 8; as
    ``eko.beta``), nf changing at the quark masses (μ_threshold = m_q; the set's
    ``FlavorScheme``/``NumFlavors`` fix or cap nf, as LHAPDF does). The number of loops
    is ``AlphaS_OrderQCD + 1`` (the perturbative-order convention of the producers of LHAPDF
    files, e.g. eko's ``ekobox.info_file``: 0 = LO = 1 loop; note that LHAPDF's own ODE
    solver reads the same key as a number of loops). Matching is continuous up to 2 loops;
    from 3 loops the O(a_s²) and from 4 loops also the O(a_s³) decoupling constants of the
    chosen ``mass_scheme`` are applied at μ = m (:func:`_decoupling`, as eko:
    a^(nf+1) = a^(nf)(1 + c₂ a² + c₃ a³) upwards, the truncated inverse downwards). The
    solution is tabulated once (RK4, 400 steps per unit of ln μ²) and interpolated with
    cubic Hermite polynomials using the exact derivative: relative error < 1e-10,
    vectorised over the scales. Valid for ``q_low ≤ Q ≤ 10⁶ GeV``; outside, the value is frozen (``q_low`` defaults to 1 GeV, the
    lowest μ_b* of the b* prescription; a Landau pole above ``q_low`` is an error).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sidislab.collinear.interpolation import hermite_cubic
from sidislab.constants import MZ, ZETA3
from sidislab.errors import ConfigError

logger = logging.getLogger(__name__)

__all__ = ["ALPHAS_METHODS", "AlphaS", "beta_coefficients"]

ALPHAS_METHODS: tuple[str, ...] = ("linear-lnq", "apfel-tab", "ipol", "rge")

_THRESHOLD_KEYS = ("MDown", "MUp", "MStrange", "MCharm", "MBottom", "MTop")


def beta_coefficients(nf: int) -> np.ndarray:
    """β_0…β_3 of the QCD β function for a = α_s/(4π), MS-bar, ``nf`` light flavours.

    β(a) = −a² Σ_k β_k a^k with (hep-ph/9701390, eq. 8, with T_F = 1/2):
    β_0 = 11 − 2nf/3, β_1 = 102 − 38nf/3, β_2 = 2857/2 − 5033nf/18 + 325nf²/54,
    β_3 = 149753/6 + 3564ζ3 − (1078361/162 + 6508ζ3/27)nf + (50065/162 + 6472ζ3/81)nf²
    + 1093nf³/729.
    """
    b0 = 11.0 - 2.0 * nf / 3.0
    b1 = 102.0 - 38.0 * nf / 3.0
    b2 = 2857.0 / 2.0 - 5033.0 * nf / 18.0 + 325.0 * nf**2 / 54.0
    b3 = (
        149753.0 / 6.0
        + 3564.0 * ZETA3
        - (1078361.0 / 162.0 + 6508.0 * ZETA3 / 27.0) * nf
        + (50065.0 / 162.0 + 6472.0 * ZETA3 / 81.0) * nf**2
        + 1093.0 * nf**3 / 729.0
    )
    return np.array([b0, b1, b2, b3])


def _decoupling(mass_scheme: str, nf_low: int) -> tuple[float, float]:
    """Decoupling coefficients (c₂, c₃) at μ = m_q for a = α_s/(4π).

    a^(nf+1) = a^(nf) (1 + c₂ a² + c₃ a³), nf = ``nf_low`` light flavours (and the truncated
    inverse downwards). Pole mass: c₂ = 14/3, c₃ = 340.729 − 16.7981 nf; MS-bar mass:
    c₂ = −22/9, c₃ = −62.2116 + 5.4177 nf (Chetyrkin, Kniehl, Steinhauser, hep-ph/9706430;
    Schröder, Steinhauser, hep-ph/0512058; the values of ``eko.couplings``).
    """
    if mass_scheme == "pole":
        return 14.0 / 3.0, 340.729 - 16.7981 * nf_low
    if mass_scheme == "msbar":
        return -22.0 / 9.0, -62.2116 + 5.4177 * nf_low
    raise ConfigError(f"AlphaS: mass_scheme must be 'pole' or 'msbar', got {mass_scheme!r}")


class AlphaS:
    """α_s(Q) from a PDF set's metadata; call with Q in GeV (array-like) → ndarray.

    Build it with :meth:`from_info` (the usual way) or directly. Parameters:

    method : one of :data:`ALPHAS_METHODS` (see the module docstring).
    qs, values : the α_s table (``AlphaS_Qs``, ``AlphaS_Vals``), needed by the table methods.
    alphas_ref, mu_ref : α_s(μ_ref) for ``"rge"`` (``AlphaS_MZ``, ``MZ``).
    loops : number of loops of the β function for ``"rge"`` (1–4).
    thresholds : flavour thresholds (d, u, s, c, b, t) in GeV for ``"rge"`` and the APFEL++
        grid: the quark masses, ``inf`` for a flavour never active (:meth:`from_info` applies
        the set's ``FlavorScheme``/``NumFlavors``).
    mass_scheme : ``"pole"`` or ``"msbar"``, decoupling from 3 loops (``"rge"``).
    q_low : lower end of the ``"rge"`` solution in GeV (default 1 GeV; frozen below).
    q_max : upper end of the APFEL++ tabulation (``"apfel-tab"``; the set's ``QMax``).
    source : text naming where the inputs came from, for messages.
    """

    def __init__(
        self,
        method: str = "linear-lnq",
        *,
        qs: Sequence[float] | np.ndarray | None = None,
        values: Sequence[float] | np.ndarray | None = None,
        alphas_ref: float | None = None,
        mu_ref: float = MZ,
        loops: int | None = None,
        thresholds: Sequence[float] = (0.0, 0.0, 0.0, 1.28, 4.18, 173.0),
        mass_scheme: str = "pole",
        q_low: float = 1.0,
        q_max: float | None = None,
        source: str = "AlphaS",
    ):
        if method not in ALPHAS_METHODS:
            raise ConfigError(
                f"{source}: α_s method must be one of {ALPHAS_METHODS}, got {method!r}"
            )
        self.method = method
        self.source = source
        self.thresholds = tuple(float(t) for t in thresholds)
        if len(self.thresholds) != 6:
            raise ConfigError(f"{source}: thresholds must be 6 quark masses (d, u, s, c, b, t)")
        self.qs: np.ndarray | None = None
        self.values: np.ndarray | None = None
        self.alphas_ref = alphas_ref
        self.mu_ref = float(mu_ref)
        self.loops = loops
        self.mass_scheme = mass_scheme
        self.q_low = float(q_low)
        if method in ("linear-lnq", "apfel-tab", "ipol"):
            if qs is None or values is None:
                raise ConfigError(
                    f"{source}: method {method!r} needs the AlphaS_Qs and AlphaS_Vals table"
                )
            q = np.asarray(qs, dtype=np.float64)
            v = np.asarray(values, dtype=np.float64)
            if q.ndim != 1 or q.shape != v.shape or q.size < 2:
                raise ConfigError(
                    f"{source}: AlphaS_Qs and AlphaS_Vals must be lists of equal length ≥ 2 "
                    f"(got {q.size} and {v.size})"
                )
            if np.any(q <= 0) or np.any(np.diff(q) < 0):
                raise ConfigError(f"{source}: AlphaS_Qs must be positive and non-decreasing")
            if np.any(v <= 0) or not np.all(np.isfinite(v)):
                raise ConfigError(f"{source}: AlphaS_Vals must be positive and finite")
            self.qs, self.values = q, v
            self.qmin, self.qmax = float(q[0]), float(q[-1])
        if method == "apfel-tab":
            self._apfel = _ApfelQGrid(
                self._linear_lnq,
                n_q=100,
                q_min=0.9,
                q_max=float(q_max) if q_max is not None else self.qmax,
                degree=3,
                thresholds=sorted(t for t in self.thresholds if math.isfinite(t)),
                lam=0.25,
            )
        if method == "rge":
            if alphas_ref is None or not (0 < float(alphas_ref) < 2):
                raise ConfigError(
                    f"{source}: method 'rge' needs AlphaS_MZ in (0, 2), got {alphas_ref!r}"
                )
            if loops is None or int(loops) not in (1, 2, 3, 4):
                raise ConfigError(f"{source}: method 'rge' needs loops in 1..4, got {loops!r}")
            self.loops = int(loops)
            _decoupling(mass_scheme, 3)  # validate
            self._setup_rge()

    # --- construction from a set ---------------------------------------------------------------
    @classmethod
    def from_info(
        cls,
        info: Mapping[str, Any],
        method: str = "linear-lnq",
        *,
        loops: int | None = None,
        mass_scheme: str = "pole",
        q_low: float = 1.0,
        source: str | None = None,
    ) -> AlphaS:
        """α_s as the set's ``.info`` metadata defines it (``AlphaS_Qs``/``AlphaS_Vals`` for the
        table methods; ``AlphaS_MZ``, ``MZ``, ``AlphaS_OrderQCD`` (loops = order + 1) and the
        quark masses for ``"rge"``). ``loops`` overrides the number of loops."""
        src = source or str(info.get("SetDesc", "info"))

        def num(key: str, default: float | None = None) -> float | None:
            val = info.get(key, default)
            if val is None:
                return None
            try:
                return float(val)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"{src}: info key {key!r} must be a number, got {val!r}"
                ) from None

        masses = [num(k, 0.0) or 0.0 for k in _THRESHOLD_KEYS]
        # LHAPDF (Factories.cc mkAlphaS): FlavorScheme FIXED → NumFlavors flavours at every
        # scale; VARIABLE → at most NumFlavors. A flavour that never becomes active gets an
        # infinite threshold.
        scheme = str(info.get("FlavorScheme", "variable")).lower()
        nf_max = info.get("NumFlavors")
        if nf_max is not None:
            try:
                nf_max = int(nf_max)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"{src}: info key 'NumFlavors' must be an integer, got {nf_max!r}"
                ) from None
            if not 0 <= nf_max <= 6:
                raise ConfigError(f"{src}: NumFlavors must be in 0..6, got {nf_max}")
            if scheme == "fixed":
                masses = [0.0] * nf_max + [math.inf] * (6 - nf_max)
            else:
                masses = masses[:nf_max] + [math.inf] * (6 - nf_max)
        thresholds = tuple(masses)
        kwargs: dict[str, Any] = {
            "thresholds": thresholds,
            "source": src,
            "mass_scheme": mass_scheme,
            "q_low": q_low,
        }
        if method in ("linear-lnq", "apfel-tab", "ipol"):
            for key in ("AlphaS_Qs", "AlphaS_Vals"):
                if key not in info:
                    raise ConfigError(f"{src}: info key {key!r} is missing (needed by {method!r})")
            try:
                kwargs["qs"] = [float(v) for v in info["AlphaS_Qs"]]
                kwargs["values"] = [float(v) for v in info["AlphaS_Vals"]]
            except (TypeError, ValueError):
                raise ConfigError(
                    f"{src}: AlphaS_Qs/AlphaS_Vals must be lists of numbers"
                ) from None
            if method == "apfel-tab":
                kwargs["q_max"] = num("QMax")
        if method == "rge":
            if "AlphaS_MZ" not in info:
                raise ConfigError(f"{src}: info key 'AlphaS_MZ' is missing (needed by 'rge')")
            kwargs["alphas_ref"] = num("AlphaS_MZ")
            kwargs["mu_ref"] = num("MZ", MZ)
            if loops is None:
                order = info.get("AlphaS_OrderQCD", info.get("OrderQCD"))
                if order is None:
                    raise ConfigError(
                        f"{src}: info key 'AlphaS_OrderQCD' is missing (needed by 'rge')"
                    )
                loops = int(order) + 1
            kwargs["loops"] = loops
        return cls(method, **kwargs)

    # --- evaluation ---------------------------------------------------------------------------------
    def __call__(self, Q: Any) -> np.ndarray:
        """α_s at scales ``Q`` (GeV, array-like, > 0); returns float64 of Q's shape."""
        q = np.asarray(Q, dtype=np.float64)
        if not np.all(np.isfinite(q)) or np.any(q <= 0):
            k = int(np.argmax(~np.isfinite(q.ravel()) | (q.ravel() <= 0)))
            raise ValueError(
                f"{self.source}: α_s needs finite Q > 0; point {k} has Q = {float(q.ravel()[k])}"
            )
        flat = q.ravel()
        if self.method == "linear-lnq":
            out = self._linear_lnq(flat)
        elif self.method == "apfel-tab":
            out = self._apfel(flat)
        elif self.method == "ipol":
            out = self._ipol(flat)
        else:
            out = self._rge(flat)
        return out.reshape(q.shape)

    def nf(self, Q: Any) -> np.ndarray:
        """Number of active flavours at Q: quark masses strictly below Q (as LHAPDF)."""
        q = np.asarray(Q, dtype=np.float64)
        th = np.asarray(self.thresholds)
        return (q[..., None] > th).sum(axis=-1)

    def __repr__(self) -> str:
        extra = f", loops={self.loops}" if self.method == "rge" else ""
        return f"AlphaS(method={self.method!r}{extra}, source={self.source!r})"

    # --- table methods -------------------------------------------------------------------------
    def _linear_lnq(self, q: np.ndarray) -> np.ndarray:
        """Linear in ln Q between table knots, frozen outside (the reference's statement)."""
        assert self.qs is not None and self.values is not None
        qs, vs = self.qs, self.values
        i = np.clip(np.searchsorted(qs, q, side="right") - 1, 0, qs.size - 2)
        # skip the zero-length interval at a repeated knot (a Q on it uses the upper subgrid)
        lq = np.log(qs)
        w = np.divide(
            np.log(q) - lq[i], lq[i + 1] - lq[i], out=np.zeros_like(q), where=qs[i + 1] > qs[i]
        )
        out = vs[i] + w * (vs[i + 1] - vs[i])
        out = np.where(q <= qs[0], vs[0], out)
        return np.where(q >= qs[-1], vs[-1], out)

    def _ipol(self, q: np.ndarray) -> np.ndarray:
        """LHAPDF ``AlphaS_Ipol::alphasQ2`` (subgrids at repeated knots, Hermite in ln Q²)."""
        assert self.qs is not None and self.values is not None
        q2s = self.qs * self.qs
        vs = self.values
        q2 = q * q
        out = np.empty_like(q2)
        low = q2 < q2s[0]
        high = q2 > q2s[-1]
        if np.any(low):
            nxt = 1
            while nxt < q2s.size - 1 and q2s[nxt] == q2s[0]:
                nxt += 1
            grad = math.log10(vs[nxt] / vs[0]) / math.log10(q2s[nxt] / q2s[0])
            out[low] = vs[0] * np.power(q2[low] / q2s[0], grad)
        out[high] = vs[-1]
        mid = ~low & ~high
        if np.any(mid):
            out[mid] = self._ipol_inside(q2[mid], q2s, vs)
        return out

    @staticmethod
    def _ipol_inside(q2: np.ndarray, q2s: np.ndarray, vs: np.ndarray) -> np.ndarray:
        """Hermite interpolation in ln Q² inside the table (``AlphaSArray`` subgrids)."""
        nk = q2s.size
        lq = np.log(q2s)
        # subgrids start at index 0 and at the second copy of every repeated knot
        starts = np.concatenate([[0], np.nonzero(q2s[1:] == q2s[:-1])[0] + 1])
        ends = np.concatenate([starts[1:], [nk]])  # exclusive
        sg = np.clip(np.searchsorted(q2s[starts], q2, side="right") - 1, 0, starts.size - 1)
        s0 = starts[sg]
        n = ends[sg] - s0
        if np.any(n < 2):
            raise ValueError("AlphaS ipol: a subgrid of the α_s table has a single knot")
        i_glob = np.searchsorted(q2s, q2, side="right") - 1
        i = np.clip(i_glob - s0, 0, n - 2)  # AlphaSArray::iq2below, local index
        j = s0 + i
        dl = lq[1:] - lq[:-1]
        fwd = np.divide(vs[1:] - vs[:-1], dl, out=np.zeros(nk - 1), where=dl > 0)
        f_j = fwd[j]
        f_jm = fwd[np.maximum(j - 1, 0)]
        f_jp = fwd[np.minimum(j + 1, nk - 2)]
        first = i == 0
        last = i == n - 2
        # LHAPDF: i == 0 → forward at i, central at i+1; i == n-2 → central at i, backward
        # at i+1 (= forward at i); a two-knot subgrid (i == 0 == n-2) is linear here, where
        # LHAPDF would read past the subgrid.
        d_i = np.where(first, f_j, 0.5 * (f_j + f_jm))
        d_i1 = np.where(last, f_j, 0.5 * (f_jp + f_j))
        h = lq[j + 1] - lq[j]
        t = (np.log(q2) - lq[j]) / h
        res = hermite_cubic(t, vs[j], d_i * h, vs[j + 1], d_i1 * h)
        # LHAPDF returns DBL_MAX when |α_s| ≥ 2 (an unusable table); we raise instead
        if np.any(np.abs(res) >= 2.0):
            raise ValueError("AlphaS ipol: interpolated |α_s| ≥ 2 (the table is unusable)")
        return res

    # --- RGE -----------------------------------------------------------------------------------------
    def _beta(self, a: np.ndarray | float, nf: int) -> np.ndarray | float:
        """da/d ln μ² = −a² Σ_{k<loops} β_k a^k (a = α_s/4π)."""
        assert self.loops is not None
        poly = 0.0
        for b in beta_coefficients(nf)[: self.loops][::-1]:
            poly = poly * a + b
        return -a * a * poly

    def _rk4_path(self, a0: float, ts: np.ndarray, nf: int, substeps: int = 4) -> np.ndarray:
        """a at the successive points ``ts`` (ts[0] is the start, a(ts[0]) = a0), RK4."""
        out = np.empty(ts.size)
        out[0] = a = a0
        for k in range(1, ts.size):
            h = (ts[k] - ts[k - 1]) / substeps
            for _ in range(substeps):
                k1 = self._beta(a, nf)
                k2 = self._beta(a + 0.5 * h * k1, nf)
                k3 = self._beta(a + 0.5 * h * k2, nf)
                k4 = self._beta(a + h * k3, nf)
                a = a + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6.0
                if not np.isfinite(a) or a <= 0 or 4 * math.pi * a > 5.0:
                    raise ConfigError(
                        f"{self.source}: α_s from the RGE exceeds 5 (Landau pole) between "
                        f"μ_ref and q_low = {self.q_low} GeV; raise q_low"
                    )
            out[k] = a
        return out

    def _match_factor(self, a: float, nf_low: int, up: bool) -> float:
        """1 + Σ c_n a^n of the decoupling at a threshold, to the order of the running:
        none below 3 loops, c₂ from 3 loops, c₃ from 4; downwards the coefficients change sign
        (the truncated inverse, as ``eko.couplings.invert_matching_coeffs`` at μ = m)."""
        assert self.loops is not None
        if self.loops < 3:
            return 1.0
        c2, c3 = _decoupling(self.mass_scheme, nf_low)
        sign = 1.0 if up else -1.0
        fact = 1.0 + sign * c2 * a * a
        if self.loops >= 4:
            fact += sign * c3 * a**3
        return fact

    def _setup_rge(self, q_high: float = 1.0e6, nodes_per_unit: int = 100) -> None:
        """Tabulate the RGE solution on a fine grid in t = ln μ², per flavour segment.

        Segments are bounded by the quark masses in (q_low, q_high); a segment (t_k, t_k+1]
        has nf = number of masses below it (a scale equal to a mass takes the lower nf, as
        LHAPDF's ``numFlavorsQ2``). Values come from RK4 (4 sub-steps per node spacing of
        1/100 in t) starting at μ_ref and crossing thresholds with the decoupling relation;
        evaluation is cubic Hermite with the exact derivative β(a) at the nodes (relative error
        < 1e-11 for α_s ≤ 0.5).
        """
        t_lo, t_hi = 2 * math.log(self.q_low), 2 * math.log(q_high)
        t_ref = 2 * math.log(self.mu_ref)
        if not t_lo < t_ref < t_hi:
            raise ConfigError(f"{self.source}: μ_ref = {self.mu_ref} outside [q_low, 1e6] GeV")
        masses = sorted({m for m in self.thresholds if self.q_low < m < q_high})
        bounds = [t_lo, *[2 * math.log(m) for m in masses], t_hi]
        nf_of = [
            sum(1 for m in self.thresholds if m < math.exp((bounds[k] + bounds[k + 1]) / 4))
            for k in range(len(bounds) - 1)
        ]
        s_ref = int(np.searchsorted(bounds, t_ref, side="left")) - 1
        s_ref = min(max(s_ref, 0), len(bounds) - 2)

        def nodes(ta: float, tb: float) -> np.ndarray:
            n = max(2, math.ceil(abs(tb - ta) * nodes_per_unit))
            return np.linspace(ta, tb, n + 1)

        seg_t: dict[int, np.ndarray] = {}
        seg_a: dict[int, np.ndarray] = {}
        a_ref = float(self.alphas_ref) / (4 * math.pi)
        # reference segment: from t_ref down to its lower bound and up to its upper bound
        down = nodes(t_ref, bounds[s_ref])
        up = nodes(t_ref, bounds[s_ref + 1])
        a_down = self._rk4_path(a_ref, down, nf_of[s_ref])
        a_up = self._rk4_path(a_ref, up, nf_of[s_ref])
        seg_t[s_ref] = np.concatenate([down[::-1], up[1:]])
        seg_a[s_ref] = np.concatenate([a_down[::-1], a_up[1:]])
        # upwards through the thresholds
        a = float(a_up[-1])
        for s in range(s_ref + 1, len(bounds) - 1):
            a = a * self._match_factor(a, nf_of[s - 1], up=True)
            ts = nodes(bounds[s], bounds[s + 1])
            seg_t[s] = ts
            seg_a[s] = self._rk4_path(a, ts, nf_of[s])
            a = float(seg_a[s][-1])
        # downwards: a_dn = a_up (1 − c2 a_up²), the truncated inverse (as eko)
        a = float(a_down[-1])
        for s in range(s_ref - 1, -1, -1):
            a = a * self._match_factor(a, nf_of[s], up=False)
            ts = nodes(bounds[s + 1], bounds[s])
            vals = self._rk4_path(a, ts, nf_of[s])
            seg_t[s] = ts[::-1]
            seg_a[s] = vals[::-1]
            a = float(vals[-1])
        order = sorted(seg_t)
        self._rge_bounds = np.array(bounds)
        self._rge_t = np.concatenate([seg_t[s] for s in order])
        self._rge_a = np.concatenate([seg_a[s] for s in order])
        self._rge_da = np.concatenate([self._beta(seg_a[s], nf_of[s]) for s in order])
        sizes = [seg_t[s].size for s in order]
        self._rge_start = np.cumsum([0, *sizes[:-1]])
        self._rge_stop = np.cumsum(sizes)  # exclusive
        self._rge_q_high = q_high

    def _rge(self, q: np.ndarray) -> np.ndarray:
        t = 2 * np.log(np.clip(q, self.q_low, self._rge_q_high))
        nseg = self._rge_bounds.size - 1
        s = np.clip(np.searchsorted(self._rge_bounds, t, side="left") - 1, 0, nseg - 1)
        lo, hi = self._rge_start[s], self._rge_stop[s] - 2
        j = np.clip(np.searchsorted(self._rge_t, t, side="right") - 1, lo, hi)
        tt, aa, dd = self._rge_t, self._rge_a, self._rge_da
        h = tt[j + 1] - tt[j]
        u = (t - tt[j]) / h
        return 4 * math.pi * hermite_cubic(u, aa[j], dd[j] * h, aa[j + 1], dd[j + 1] * h)


class _ApfelQGrid:
    """APFEL++ ``QGrid<double>`` tabulation of a function of Q, evaluated as APFEL++ does.

    Nodes uniform in f(Q) = ln(2 ln(Q/Λ)) between ``q_min`` and ``q_max`` (``n_q``
    intervals), re-distributed so that each threshold inside the range is a (doubled, split
    by 1e-12 relative) node; interpolation by Lagrange polynomials of ``degree`` in f(Q)
    on nodes of one subgrid only (``src/kernel/qgrid.cc``, ``QGrid::Evaluate``). Outside
    [q_min, q_max] the wrapped function is returned (APFEL++ would return 0).
    """

    def __init__(
        self, func, n_q: int, q_min: float, q_max: float, degree: int, thresholds, lam: float
    ):
        if q_max <= q_min:
            raise ConfigError(f"apfel-tab: QMax = {q_max} must exceed {q_min} GeV")
        self.func = func
        self.lam = lam
        eps12 = 1e-12

        def tf(Q):
            return np.log(2 * np.log(np.asarray(Q, dtype=np.float64) / lam))

        def itf(fq):
            return lam * np.exp(np.exp(fq) / 2)

        self.tf = tf
        th = list(thresholds)
        nfin = sum(1 for t in th if q_min > t)
        nffi = sum(1 for t in th if q_max > t)
        fq0 = [float(tf(q_min))]
        step = (float(tf(q_max)) - float(tf(q_min))) / n_q
        for _ in range(n_q):
            fq0.append(fq0[-1] + step)
        nqg = [0]
        fqth = [float(tf(q_min))]
        for isg in range(nfin + 1, nffi + 1):
            fqth.append(float(tf(th[isg - 1])))
            nqg.append(int(np.searchsorted(np.asarray(fq0[1:]), fqth[-1], side="left")) + 1)
        nqg.append(n_q)
        fqth.append(float(tf(q_max)))
        deg = degree
        for isg in range(len(nqg) - 1):
            if nqg[isg + 1] - nqg[isg] < 2:
                nqg[isg + 1] = nqg[isg] + 2
            if nqg[isg + 1] - nqg[isg] < deg + 2:
                deg = nqg[isg + 1] - nqg[isg] - 1
        fqg = [float(tf(q_min))]
        for isg in range(len(nqg) - 1):
            st = (fqth[isg + 1] - fqth[isg]) / (nqg[isg + 1] - nqg[isg] - 1)
            for _ in range(nqg[isg] + 1, nqg[isg + 1]):
                fqg.append(fqg[-1] + st)
            fqg.append(fqg[-1])
        qg = [float(itf(v)) for v in fqg]
        for isg in range(1, len(nqg) - 1):
            qg[nqg[isg] - 1] *= 1 - eps12
            qg[nqg[isg]] *= 1 + eps12
            fqg[nqg[isg] - 1] = float(tf(qg[nqg[isg] - 1]))
            fqg[nqg[isg]] = float(tf(qg[nqg[isg]]))
        self.qg = np.array(qg)
        self.fqg = np.array(fqg)
        self.nqg = np.array(nqg)
        self.deg = deg
        self.values = np.asarray(func(self.qg), dtype=np.float64)

    def __call__(self, q: np.ndarray) -> np.ndarray:
        qg, fqg, nqg, deg = self.qg, self.fqg, self.nqg, self.deg
        eps12 = 1e-12
        out = np.asarray(self.func(q), dtype=np.float64).copy()
        inside = (q >= qg[0] - eps12) & (q <= qg[-1] + eps12)
        if not np.any(inside):
            return out
        k = np.nonzero(inside)[0]
        qk = q[k]
        res = np.empty(qk.size)
        done = np.zeros(qk.size, dtype=bool)
        # threshold gaps: node below the threshold
        for isg in range(1, nqg.size - 1):
            gap = ~done & (qk > qg[nqg[isg] - 1]) & (qk <= qg[nqg[isg]])
            res[gap] = self.values[nqg[isg] - 1]
            done |= gap
        low = np.searchsorted(qg[1:], qk, side="left") + 1
        low = np.minimum(low, qg.size - 1)
        on_node = ~done & (np.abs(qk / qg[low] - 1) <= eps12)
        res[on_node] = self.values[low[on_node]]
        done |= on_node
        rest = ~done
        if np.any(rest):
            qr = qk[rest]
            lr = low[rest]
            # subgrid iQ with qg[nqg[iQ]] < Q <= qg[nqg[iQ+1]] (last one if none)
            sub = np.searchsorted(qg[nqg[1:]], qr, side="left")
            sub = np.minimum(sub, nqg.size - 2)
            end = nqg[sub + 1]
            start = np.minimum(lr - 1, end - 1 - deg)
            fq = self.tf(qr)
            idx = start[:, None] + np.arange(deg + 1)[None, :]
            nodes = fqg[idx]
            acc = np.zeros(qr.size)
            for a in range(deg + 1):
                w = np.ones(qr.size)
                for b in range(deg + 1):
                    if b != a:
                        w *= (fq - nodes[:, b]) / (nodes[:, a] - nodes[:, b])
                acc += w * self.values[idx[:, a]]
            res[rest] = acc
        out[k] = res
        return out
