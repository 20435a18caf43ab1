"""A member of an LHAPDF set (PDF or FF) evaluated at arrays of (x, Q): native or lhapdf.

``load_set(name, member=0, backend="native", extrapolation="freeze", paths=None)`` finds
the set (:mod:`sidislab.collinear.discovery`) and returns an object with the same interface
for both backends:

* metadata: ``name``, ``path`` (set folder), ``member``, ``info`` (the ``.info`` mapping),
  ``flavours`` (PDG ids, gluon as 21), ``xmin, xmax, qmin, qmax`` (the grid's first and last
  knots, which decide interpolation versus extrapolation, as in LHAPDF), ``thresholds``
  (quark masses d, u, s, c, b, t from ``MDown`` … ``MTop``, 0 if absent), ``checksum``
  (sha256 of the ``.info`` and member ``.dat`` bytes), ``extrapolation``;
* ``xfxQ(x, Q)`` → x·f for every flavour, shape ``broadcast(x, Q).shape + (n_flavours,)``;
* ``xfxQ_pid(pid, x, Q)`` → one flavour (0 if the set lacks it; ``0`` means the gluon);
* ``alphas``: :class:`~sidislab.collinear.alphas.AlphaS` from the ``.info`` table with the
  reference's ``"linear-lnq"`` method (see :meth:`CollinearSet.make_alphas` for others).

Conventions: x ≥ 1 gives 0 (the physical support ends at 1); x ≤ 0, Q ≤ 0 or non-finite
input raise :class:`~sidislab.errors.KinematicsError` naming the point; outside the grid the
``extrapolation`` policy applies (:mod:`sidislab.collinear.interpolation`: ``"freeze"``,
``"continuation"``, ``"error"``). The native backend reproduces LHAPDF's log-bicubic
interpolation; if the set's metadata has ``ForcePositive`` 1 (2), negative values (values
below 1e-10) are replaced by 0 (1e-10), as LHAPDF does.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sidislab.collinear.alphas import AlphaS
from sidislab.collinear.discovery import find_set
from sidislab.collinear.interpolation import EXTRAPOLATIONS, LogBicubicGrid
from sidislab.collinear.lhagrid import (
    InfoFile,
    check_against_info,
    normalise_pid,
    read_dat,
    read_info,
)
from sidislab.errors import ExtrapolationError, GridFileError, KinematicsError

logger = logging.getLogger(__name__)

__all__ = ["BACKENDS", "CollinearSet", "LHAPDFSet", "NativeSet", "load_set"]

BACKENDS: tuple[str, ...] = ("native", "lhapdf")

_THRESHOLD_KEYS = ("MDown", "MUp", "MStrange", "MCharm", "MBottom", "MTop")


class CollinearSet:
    """Common part of the backends: metadata from the ``.info`` file and input handling."""

    backend: str = ""

    def __init__(self, name: str, folder: Path, member: int, extrapolation: str):
        if extrapolation not in EXTRAPOLATIONS:
            raise ValueError(
                f"{name}: extrapolation must be one of {EXTRAPOLATIONS}, got {extrapolation!r}"
            )
        if isinstance(member, bool) or not isinstance(member, (int, np.integer)) or member < 0:
            raise ValueError(f"{name}: member must be an integer ≥ 0, got {member!r}")
        self.name = folder.name
        self.path = folder
        self.member = int(member)
        self.extrapolation = extrapolation
        self.info_path = folder / f"{self.name}.info"
        self._info_file: InfoFile = read_info(self.info_path)
        self.info: dict[str, Any] = self._info_file.data
        fmt = self.info.get("Format", "lhagrid1")
        if fmt != "lhagrid1":
            raise GridFileError(
                f"{self._info_file.where('Format')}: Format {fmt!r} is not supported (only lhagrid1)"
            )
        nmem = self._info_file.integer("NumMembers")
        self.member_path = folder / f"{self.name}_{self.member:04d}.dat"
        if nmem is not None and self.member >= nmem:
            raise GridFileError(
                f"{self.member_path}: member {self.member} requested but {self._info_file.where('NumMembers')} "
                f"declares NumMembers = {nmem}"
            )
        if not self.member_path.is_file():
            raise GridFileError(
                f"{self.member_path}: member data file not found (member {self.member} of {self.name})"
            )
        self.thresholds: tuple[float, ...] = tuple(
            float(self._info_file.number(k, 0.0) or 0.0) for k in _THRESHOLD_KEYS
        )
        h = hashlib.sha256()
        h.update(self.info_path.read_bytes())
        h.update(self.member_path.read_bytes())
        self.checksum: str = h.hexdigest()
        self._alphas: AlphaS | None = None
        self.flavours: tuple[int, ...] = ()
        self.xmin = self.xmax = self.qmin = self.qmax = math.nan

    # --- metadata helpers -------------------------------------------------------------------
    def _info_flavours(self) -> tuple[int, ...] | None:
        flav = self.info.get("Flavors")
        if flav is None:
            return None
        if not isinstance(flav, list) or not flav:
            raise GridFileError(
                f"{self._info_file.where('Flavors')}: Flavors must be a non-empty list of PDG ids"
            )
        if not all(isinstance(p, int) and not isinstance(p, bool) for p in flav):
            raise GridFileError(
                f"{self._info_file.where('Flavors')}: Flavors must be integers, got {flav!r}"
            )
        out = tuple(normalise_pid(p) for p in flav)
        if len(set(out)) != len(out):
            raise GridFileError(f"{self._info_file.where('Flavors')}: repeated flavour in {flav!r}")
        return out

    @property
    def alphas(self) -> AlphaS:
        """α_s from the ``.info`` table, reference convention (``"linear-lnq"``)."""
        if self._alphas is None:
            self._alphas = self.make_alphas("linear-lnq")
        return self._alphas

    def make_alphas(self, method: str = "linear-lnq", **kwargs: Any) -> AlphaS:
        """An :class:`AlphaS` from this set's metadata with any method (``"ipol"``, ``"rge"`` …)."""
        return AlphaS.from_info(self.info, method, source=str(self.info_path), **kwargs)

    def has_flavour(self, pid: int) -> bool:
        """Whether the set holds flavour ``pid`` (0 and 21 both mean the gluon)."""
        return normalise_pid(pid) in self.flavours

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, member={self.member}, "
            f"extrapolation={self.extrapolation!r}, path={str(self.path)!r})"
        )

    # --- evaluation -------------------------------------------------------------------------------
    def _prepare(self, x: Any, Q: Any) -> tuple[tuple[int, ...], np.ndarray, np.ndarray]:
        xa = np.asarray(x, dtype=np.float64)
        qa = np.asarray(Q, dtype=np.float64)
        try:
            shape = np.broadcast_shapes(xa.shape, qa.shape)
        except ValueError:
            raise KinematicsError(
                f"{self.name}: x of shape {xa.shape} and Q of shape {qa.shape} do not broadcast"
            ) from None
        xb = np.broadcast_to(xa, shape).ravel()
        qb = np.broadcast_to(qa, shape).ravel()
        bad = ~np.isfinite(xb) | ~np.isfinite(qb) | (xb <= 0) | (qb <= 0)
        if np.any(bad):
            k = int(np.argmax(bad))
            raise KinematicsError(
                f"{self.name}: point {k} has x = {float(xb[k])}, Q = {float(qb[k])}; need finite x > 0 and Q > 0 GeV"
            )
        return shape, xb, qb

    def _evaluate(self, x: np.ndarray, q: np.ndarray, cols: Sequence[int] | None) -> np.ndarray:
        raise NotImplementedError

    def _check_range(self, shape: tuple[int, ...], xb: np.ndarray, qb: np.ndarray) -> None:
        """Raise for points the policy cannot serve, naming the point (x ≥ 1 is always 0)."""
        if self.extrapolation == "freeze":
            return
        phys = xb < 1.0
        if self.extrapolation == "error":
            bad = phys & ((xb < self.xmin) | (xb > self.xmax) | (qb < self.qmin) | (qb > self.qmax))
            why = (
                f"outside the grid x ∈ [{self.xmin:.6g}, {self.xmax:.6g}], "
                f"Q ∈ [{self.qmin:.6g}, {self.qmax:.6g}] GeV (extrapolation='error')"
            )
        else:  # continuation: LHAPDF does not extrapolate above the last x knot
            bad = phys & (xb > self.xmax)
            why = (
                f"above the last x knot {self.xmax:.6g}, where LHAPDF's continuation "
                "extrapolator raises (use extrapolation='freeze')"
            )
        if np.any(bad):
            k = int(np.argmax(bad))
            idx = np.unravel_index(k, shape) if len(shape) > 1 else (k,)
            where = idx[0] if len(idx) == 1 else tuple(int(i) for i in idx)
            raise ExtrapolationError(
                f"{self.member_path}: point {where} (x = {xb[k]:.6g}, Q = {qb[k]:.6g} GeV) is {why}"
            )

    def _columns(self, pid: int) -> int | None:
        p = normalise_pid(pid)
        return self.flavours.index(p) if p in self.flavours else None

    def xfxQ(self, x: Any, Q: Any) -> np.ndarray:
        """x·f(x, Q) for all :attr:`flavours`: shape ``broadcast(x, Q).shape + (n_flavours,)``.

        x ≥ 1 gives 0; outside the grid the :attr:`extrapolation` policy applies.
        """
        shape, xb, qb = self._prepare(x, Q)
        self._check_range(shape, xb, qb)
        out = np.zeros((xb.size, len(self.flavours)))
        m = xb < 1.0
        if np.any(m):
            out[m] = self._evaluate(xb[m], qb[m], None)
        return out.reshape((*shape, len(self.flavours)))

    def xfxQ_pid(self, pid: int, x: Any, Q: Any) -> np.ndarray:
        """x·f(x, Q) of flavour ``pid`` (PDG id; 0 = gluon); zeros if the set lacks it."""
        shape, xb, qb = self._prepare(x, Q)
        self._check_range(shape, xb, qb)
        out = np.zeros(xb.size)
        col = self._columns(pid)
        m = xb < 1.0
        if col is not None and np.any(m):
            out[m] = self._evaluate(xb[m], qb[m], [col])[:, 0]
        return out.reshape(shape)


class NativeSet(CollinearSet):
    """An LHAPDF set member read and interpolated by sidislab (numpy, vectorised)."""

    backend = "native"

    def __init__(self, name: str, folder: Path, member: int = 0, extrapolation: str = "freeze"):
        super().__init__(name, folder, member, extrapolation)
        info_flav = self._info_flavours()
        dat = read_dat(self.member_path, expected_nflav=len(info_flav) if info_flav else None)
        check_against_info(dat, self._info_file)  # Q/x range and flavours vs the .info
        self.member_header = dat.header
        dat_pids = dat.blocks[0].pids
        if info_flav is not None and set(info_flav) != set(dat_pids):
            raise GridFileError(
                f"{self.member_path}, line {dat.blocks[0].line + 2}: flavours {dat_pids} differ from "
                f"{self._info_file.where('Flavors')} Flavors {info_flav}"
            )
        self.flavours = info_flav if info_flav is not None else dat_pids
        perm = [dat_pids.index(p) for p in self.flavours]
        xs = dat.blocks[0].xs
        qs = np.concatenate([b.qs for b in dat.blocks])
        xf = np.concatenate([b.xf for b in dat.blocks], axis=1)[:, :, perm]
        self.grid = LogBicubicGrid(xs, qs, xf, label=str(self.member_path))
        self.n_blocks = len(dat.blocks)
        self.x_knots = xs
        self.q_knots = qs
        self.xmin, self.xmax = float(xs[0]), float(xs[-1])
        self.qmin, self.qmax = float(qs[0]), float(qs[-1])
        fp = self.member_header.get("ForcePositive", self.info.get("ForcePositive", 0))
        try:
            self.force_positive = int(fp)
        except (TypeError, ValueError):
            raise GridFileError(
                f"{self.info_path}: ForcePositive must be 0, 1 or 2, got {fp!r}"
            ) from None
        if self.force_positive not in (0, 1, 2):
            raise GridFileError(f"{self.info_path}: ForcePositive must be 0, 1 or 2, got {fp!r}")
        logger.debug(
            "loaded %s member %d: %d blocks, %d x %d knots",
            self.name,
            member,
            self.n_blocks,
            xs.size,
            qs.size,
        )

    def _evaluate(self, x: np.ndarray, q: np.ndarray, cols: Sequence[int] | None) -> np.ndarray:
        out = self.grid.evaluate(x, q * q, self.extrapolation, cols)
        if self.force_positive == 1:
            np.maximum(out, 0.0, out=out)
        elif self.force_positive == 2:
            np.maximum(out, 1e-10, out=out)
        return out


def _call(mod: Any, name: str) -> str:
    fn = getattr(mod, name, None)
    return str(fn()) if callable(fn) else "unknown"


def needs_cache_guard(version: str) -> bool:
    """Whether an LHAPDF build may carry the static interpolator-cache bug (:func:`cache_primers`).

    True for versions 6.2.3 to 6.3.0: the cache was committed after the 6.2.3 tag while the
    sources still said 6.2.3 (builds from the repository report "6.2.3"), and is assumed
    present up to 6.3.0 (not verified for 6.3.0); False for other or unparsable versions.
    """
    try:
        parts = tuple(int(p) for p in str(version).split(".")[:3])
    except ValueError:
        return False
    return (6, 2, 3) <= parts <= (6, 3, 0)


def cache_primers(
    blocks: Sequence[tuple[np.ndarray, np.ndarray]], x: np.ndarray, q: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per query (x, Q) a "primer" point of the same subgrid in another x- and Q-interval.

    LHAPDF's ``LogBicubicInterpolator`` gained a per-thread static cache (hep-mirrors/lhapdf
    commits 2d242e5…94805a2, 2020-05-27/28, made after the 6.2.3 tag on a branch that still
    reports version 6.2.3; later releases replaced it by keyed ``XCaches``/``Q2Caches``):
    it recomputes the knot spacings Δln x, Δln Q² only when the interval *index* ix or iq2
    changes, not when the subgrid or the PDF object does. A query whose indices equal the
    previous call's in another subgrid or set (typically the first intervals, ix = 0 or
    iq2 = 0) is then interpolated with the wrong spacings. Calling a point whose ix *and*
    iq2 both differ just before each query forces the recomputation on every version
    (an extra call per point on correct versions, the same values).

    ``blocks``: (x knots, Q knots in GeV) per subgrid, as in the member file. The subgrid
    is LHAPDF's (the last whose first Q² ≤ Q², clamped to the grid), the indices the
    largest knot ≤ value but at most n − 2. Returns (x_primer, Q_primer) arrays.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    q = np.asarray(q, dtype=np.float64).ravel()
    firsts = np.array([b[1][0] for b in blocks])
    k = np.clip(np.searchsorted(firsts, q, side="right") - 1, 0, len(blocks) - 1)
    xp, qp = np.empty_like(x), np.empty_like(q)
    for kb, (xs, qs) in enumerate(blocks):
        sel = k == kb
        if not sel.any():
            continue
        ix = np.clip(np.searchsorted(xs, x[sel], side="right") - 1, 0, xs.size - 2)
        iq = np.clip(np.searchsorted(qs, q[sel], side="right") - 1, 0, qs.size - 2)
        jx = np.where(ix + 1 <= xs.size - 2, ix + 1, ix - 1)
        jq = np.where(iq + 1 <= qs.size - 2, iq + 1, iq - 1)
        jq = np.clip(jq, 0, qs.size - 2)  # a one-interval subgrid: no other interval
        xp[sel] = np.sqrt(xs[jx] * xs[jx + 1])
        qp[sel] = np.sqrt(qs[jq] * qs[jq + 1])
    return xp, qp


class LHAPDFSet(CollinearSet):
    """The same interface over the ``lhapdf`` Python module (``lhapdf.mkPDF(name, member)``).

    Written against LHAPDF's Python API (``wrappers/python/lhapdf.pyx``: ``mkPDF``,
    ``PDF.xfxQ(pid, x, q)``, ``PDF.alphasQ``, ``PDF.flavors``, ``xMin``/``xMax``/``q2Min``/
    ``q2Max``, ``paths``/``pathsPrepend``). LHAPDF evaluates one point at a time, so this
    backend loops in Python: use it to cross-check, not in hot paths. ``"freeze"`` clamps
    (x, Q) into LHAPDF's range before calling it and ``"error"`` checks the range here;
    ``"continuation"`` leaves extrapolation to LHAPDF (its ``Extrapolator`` setting, by
    default the continuation extrapolator). The set's folder is prepended to LHAPDF's
    search paths when LHAPDF would not find it. On LHAPDF 6.2.3–6.3.0
    (:func:`needs_cache_guard`) every query is preceded by a call that invalidates the
    interpolator's static cache (:func:`cache_primers`), so the values are LHAPDF's
    interpolant there too.
    """

    backend = "lhapdf"

    def __init__(self, name: str, folder: Path, member: int = 0, extrapolation: str = "freeze"):
        try:
            import lhapdf  # type: ignore[import-not-found]
        except ImportError as exc:
            raise ImportError("backend='lhapdf' needs the lhapdf Python module (LHAPDF 6)") from exc
        super().__init__(name, folder, member, extrapolation)
        parent = folder.parent.resolve()
        first = next(
            (
                Path(p).resolve()
                for p in lhapdf.paths()
                if (Path(p) / self.name / f"{self.name}.info").is_file()
            ),
            None,
        )
        if first != parent:  # LHAPDF would not find this set, or would find another copy first
            logger.info("prepending %s to LHAPDF's search paths", parent)
            lhapdf.pathsPrepend(str(parent))
        self._pdf = lhapdf.mkPDF(self.name, self.member)
        self.lhapdf_version = str(getattr(lhapdf, "__version__", None) or _call(lhapdf, "version"))
        self.cache_guard = needs_cache_guard(self.lhapdf_version)
        # the grid's knots per subgrid (for the interpolator-cache guard, see _evaluate)
        self._blocks = (
            [(b.xs, b.qs) for b in read_dat(self.member_path).blocks] if self.cache_guard else []
        )
        self.flavours = tuple(normalise_pid(p) for p in self._pdf.flavors())
        self.xmin, self.xmax = float(self._pdf.xMin), float(self._pdf.xMax)
        self.qmin, self.qmax = math.sqrt(self._pdf.q2Min), math.sqrt(self._pdf.q2Max)

    def _evaluate(self, x: np.ndarray, q: np.ndarray, cols: Sequence[int] | None) -> np.ndarray:
        if self.extrapolation == "freeze":
            x = np.clip(x, self.xmin, self.xmax)
            q = np.clip(q, self.qmin, self.qmax)
        pids = self.flavours if cols is None else tuple(self.flavours[c] for c in cols)
        xfxq = self._pdf.xfxQ
        out = np.empty((x.size, len(pids)))
        if self.cache_guard:
            xp, qp = cache_primers(self._blocks, x, q)
        for i in range(x.size):
            xi, qi = float(x[i]), float(q[i])
            if self.cache_guard:  # invalidate the buggy interpolator cache (cache_primers)
                xfxq(pids[0], float(xp[i]), float(qp[i]))
            for j, pid in enumerate(pids):
                out[i, j] = xfxq(pid, xi, qi)
        return out

    def alphas_lhapdf(self, Q: Any) -> np.ndarray:
        """α_s(Q) from LHAPDF's own ``PDF.alphasQ`` (its ``AlphaS_Type``, usually ipol)."""
        q = np.asarray(Q, dtype=np.float64)
        return np.array([self._pdf.alphasQ(float(v)) for v in q.ravel()]).reshape(q.shape)


def load_set(
    name: str,
    member: int = 0,
    backend: str = "native",
    extrapolation: str = "freeze",
    paths: Iterable[str | os.PathLike[str]] | None = None,
) -> CollinearSet:
    """Find and load member ``member`` of LHAPDF set ``name``.

    ``backend``: ``"native"`` (sidislab's vectorised reader) or ``"lhapdf"`` (the LHAPDF
    Python module, if installed). ``extrapolation``: ``"freeze"`` (default: clamp to the
    grid edges; below QMin the distribution is frozen at QMin, as the reference),
    ``"continuation"`` (LHAPDF's default extrapolator) or ``"error"``. ``paths``: folders
    searched before ``LHAPDF_DATA_PATH``, LHAPDF's paths and ``data/lhapdf``.

    Raises :class:`~sidislab.errors.SetNotFoundError` for an unknown set and
    :class:`~sidislab.errors.GridFileError` (naming file and line) for a malformed one.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    folder = find_set(name, paths)
    if backend == "lhapdf":
        return LHAPDFSet(name, folder, member, extrapolation)
    return NativeSet(name, folder, member, extrapolation)
