"""SIDIS kinematic points as batched tensors.

Reads the old reference code's kinematics YAML (quantom-collab/tmd, ``map/inputs/
kinematics.yaml``)::

    header:
      Vs: 7.2565449            # √s in GeV (not s)
      target_isoscalarity: 1   # τ ∈ [−1, 1]: proton fraction |τ|, τ < 0 swaps u ↔ d
      hadron: PI
      charge: 1
      PS_reduction: {W: 3.16, ymin: 0.1, ymax: 0.85}   # optional, recorded only
    data:
      x:   [...]
      Q2:  [...]               # GeV²
      z:   [...]
      PhT: [...]               # GeV
      y:   [...]               # optional; derived from Q²/(x s) when absent

Derived per point (physics.md §1): Q = √Q², qT = PhT/z, y = Q²/(x s),
Y₊ = 1 + (1 − y)². Points with qT > qToQcut · Q are *flagged* (``in_tmd_region`` is
False) and reported in the log, never dropped.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

import sidislab.resources as resources
from sidislab.errors import KinematicsError
from sidislab.yamlio import read_yaml

log = logging.getLogger(__name__)

_FIELDS = ("x", "Q2", "z", "PhT")
_OPTIONAL = ("y",)
_HEADER_KEYS = (
    "Vs",
    "target_isoscalarity",
    "hadron",
    "charge",
    "PS_reduction",
    "process",
    "observable",
    "label",
)


@dataclass(frozen=True)
class Kinematics:
    """A batch of N SIDIS points (float64 tensors of shape [N] unless stated).

    Attributes: ``x``, ``Q2``, ``z``, ``PhT``, ``Vs`` (√s per point), ``y``; derived
    ``Q``, ``qT``, ``Yp``; ``in_tmd_region`` (bool, qT ≤ qToQcut·Q); header fields
    ``target_isoscalarity``, ``hadron``, ``charge``, ``ps_reduction``; ``labels``
    (one string per point, e.g. the data set it came from); ``source`` (file name).
    """

    x: torch.Tensor
    Q2: torch.Tensor
    z: torch.Tensor
    PhT: torch.Tensor
    Vs: torch.Tensor
    y: torch.Tensor
    qToQcut: float
    target_isoscalarity: float = 1.0
    hadron: str = "PI"
    charge: int = 1
    ps_reduction: Mapping[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    source: str = "<memory>"

    # --- derived quantities -------------------------------------------------------------
    @property
    def Q(self) -> torch.Tensor:
        return torch.sqrt(self.Q2)

    @property
    def qT(self) -> torch.Tensor:
        """Partonic transverse momentum qT = PhT/z (GeV)."""
        return self.PhT / self.z

    @property
    def Yp(self) -> torch.Tensor:
        """Y₊ = 1 + (1 − y)²."""
        return 1.0 + (1.0 - self.y) ** 2

    @property
    def in_tmd_region(self) -> torch.Tensor:
        """True where qT ≤ qToQcut · Q (TMD factorisation applies)."""
        return self.qT <= self.qToQcut * self.Q

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def dtype(self) -> torch.dtype:
        return self.x.dtype

    @property
    def device(self) -> torch.device:
        return self.x.device

    # --- batching -----------------------------------------------------------------------
    def _map(self, fn) -> Kinematics:
        return replace(self, **{k: fn(getattr(self, k)) for k in (*_FIELDS, "Vs", "y")})

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None):
        """Move all tensors to ``device`` and/or ``dtype``."""
        return self._map(lambda t: t.to(device=device, dtype=dtype))

    def subset(self, index: torch.Tensor | slice | Sequence[int]) -> Kinematics:
        """Points selected by a boolean mask, an index tensor or a slice."""
        if isinstance(index, torch.Tensor) and index.dtype == torch.bool:
            idx = torch.nonzero(index.cpu(), as_tuple=False).flatten()
        elif isinstance(index, slice):
            idx = torch.arange(len(self))[index]
        else:
            idx = torch.as_tensor(index, dtype=torch.long).flatten()
        labels = tuple(self.labels[i] for i in idx.tolist()) if self.labels else ()
        dev_idx = idx.to(self.device)
        return replace(self._map(lambda t: t[dev_idx]), labels=labels)

    def chunks(self, size: int) -> Iterator[Kinematics]:
        """Consecutive chunks of at most ``size`` points (for scale-out jobs)."""
        if size < 1:
            raise ValueError(f"chunks: size must be >= 1, got {size}")
        for start in range(0, len(self), size):
            yield self.subset(slice(start, start + size))

    def tmd_region(self) -> Kinematics:
        """The points inside the TMD region, logging how many were flagged outside."""
        mask = self.in_tmd_region
        n_out = int((~mask).sum())
        if n_out:
            log.info(
                "%s: %d of %d points have qT > %g·Q and are outside the TMD region",
                self.source,
                n_out,
                len(self),
                self.qToQcut,
            )
        return self.subset(mask)

    # --- identity -----------------------------------------------------------------------
    def fingerprint(self) -> str:
        """SHA-256 of the point values and header (float64 bytes): a cache key part."""
        h = hashlib.sha256()
        for name in (*_FIELDS, "Vs", "y"):
            h.update(name.encode())
            h.update(getattr(self, name).detach().to("cpu", torch.float64).numpy().tobytes())
        h.update(repr((self.target_isoscalarity, self.hadron, self.charge)).encode())
        return h.hexdigest()

    def as_dict(self) -> dict[str, Any]:
        """Plain lists, in the YAML file's layout (round-trips through from_mapping)."""
        vs = self.Vs.tolist()
        header: dict[str, Any] = {
            "Vs": vs[0] if len(set(vs)) == 1 else vs,
            "target_isoscalarity": self.target_isoscalarity,
            "hadron": self.hadron,
            "charge": self.charge,
        }
        if self.ps_reduction:
            header["PS_reduction"] = dict(self.ps_reduction)
        data = {k: getattr(self, k).tolist() for k in (*_FIELDS, "y")}
        if self.labels:
            data["label"] = list(self.labels)
        return {"header": header, "data": data}


def _column(data: Mapping[str, Any], key: str, source: str) -> np.ndarray:
    raw = data[key]
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = [raw]
    if not isinstance(raw, (list, tuple)):
        raise KinematicsError(f"{source}: data.{key}: expected a list of numbers, got {raw!r}")
    out = np.empty(len(raw), dtype=np.float64)
    for i, v in enumerate(raw):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise KinematicsError(f"{source}: data.{key}[{i}] (point {i}): not a number: {v!r}")
        if not math.isfinite(v):
            raise KinematicsError(
                f"{source}: data.{key}[{i}] (point {i}): {v!r} is not a finite number"
            )
        out[i] = v
    return out


def _check(source: str, key: str, values: np.ndarray, ok: np.ndarray, rule: str) -> None:
    nan = np.isnan(values)
    if nan.any():
        i = int(np.argmax(nan))
        raise KinematicsError(f"{source}: point {i}: {key} is NaN")
    bad = ~ok
    if bad.any():
        i = int(np.argmax(bad))
        raise KinematicsError(
            f"{source}: point {i}: {key} = {float(values[i])!r} violates {rule}"
            + (f" ({int(bad.sum())} points in all)" if bad.sum() > 1 else "")
        )


def from_mapping(
    doc: Any,
    *,
    qToQcut: float = 0.5,
    source: str = "<mapping>",
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
    y_tolerance: float = 1e-3,
) -> Kinematics:
    """Validate a kinematics document (``{header: ..., data: ...}``) and build tensors.

    Rejects x ∉ (0,1), z ∉ (0,1], Q² ≤ 0, PhT < 0, y ∉ (0,1], unequal column lengths, NaN,
    ±inf and non-numbers, and unknown columns (a typo such as ``pht``), naming the point
    index and the field. When ``y`` is given it must
    agree with Q²/(x s) to ``y_tolerance`` relative (else the header's √s is wrong).
    """
    if not isinstance(doc, Mapping):
        raise KinematicsError(f"{source}: expected a mapping with 'header' and 'data'")
    for key in ("header", "data"):
        if key not in doc:
            raise KinematicsError(f"{source}: missing top-level key '{key}'")
    header, data = doc["header"], doc["data"]
    if not isinstance(header, Mapping):
        raise KinematicsError(f"{source}: 'header' must be a mapping")
    if not isinstance(data, Mapping):
        raise KinematicsError(f"{source}: 'data' must be a mapping")
    if "Vs" not in header:
        raise KinematicsError(f"{source}: header.Vs (√s in GeV) is missing")
    unknown = sorted(set(header) - set(_HEADER_KEYS))
    if unknown:
        raise KinematicsError(
            f"{source}: header.{unknown[0]}: unknown key (allowed: {', '.join(_HEADER_KEYS)})"
        )
    known = (*_FIELDS, *_OPTIONAL, "label")
    for key in data:
        if key not in known:
            lower = {k.lower(): k for k in known}
            close = difflib.get_close_matches(str(key).lower(), list(lower), n=1, cutoff=0.5)
            hint = f"; did you mean {lower[close[0]]}?" if close else ""
            raise KinematicsError(
                f"{source}: data.{key}: unknown column (allowed: {', '.join(known)}){hint}"
            )
    for key in _FIELDS:
        if key not in data:
            raise KinematicsError(
                f"{source}: data.{key} is missing (required: {', '.join(_FIELDS)})"
            )

    cols = {k: _column(data, k, source) for k in (*_FIELDS, *[k for k in _OPTIONAL if k in data])}
    n = len(cols["x"])
    if n == 0:
        raise KinematicsError(f"{source}: data holds no points")
    for k, v in cols.items():
        if len(v) != n:
            raise KinematicsError(f"{source}: data.{k} has {len(v)} values but data.x has {n}")
    labels: tuple[str, ...] = ()
    if "label" in data:
        lab = data["label"]
        if not isinstance(lab, (list, tuple)) or len(lab) != n:
            raise KinematicsError(f"{source}: data.label must be a list of {n} strings")
        labels = tuple(str(s) for s in lab)

    vs_raw = header["Vs"]
    if isinstance(vs_raw, (list, tuple)):
        vs = _column({"Vs": vs_raw}, "Vs", source)
    elif isinstance(vs_raw, (int, float)) and not isinstance(vs_raw, bool):
        if not math.isfinite(vs_raw):
            raise KinematicsError(f"{source}: header.Vs = {vs_raw!r} is not a finite number")
        vs = np.full(n, float(vs_raw))
    else:
        raise KinematicsError(f"{source}: header.Vs: expected √s in GeV, got {vs_raw!r}")
    if len(vs) != n:
        raise KinematicsError(f"{source}: header.Vs has {len(vs)} values but data.x has {n}")
    _check(source, "Vs", vs, vs > 0, "√s > 0")

    x, q2, z, pht = cols["x"], cols["Q2"], cols["z"], cols["PhT"]
    _check(source, "x", x, (x > 0) & (x < 1), "0 < x < 1")
    _check(source, "Q2", q2, q2 > 0, "Q² > 0")
    _check(source, "z", z, (z > 0) & (z <= 1), "0 < z ≤ 1")
    _check(source, "PhT", pht, pht >= 0, "PhT ≥ 0")
    y_from_s = q2 / (x * vs**2)
    if "y" in cols:
        y = cols["y"]
        _check(source, "y", y, (y > 0) & (y <= 1), "0 < y ≤ 1")
        rel = np.abs(y / y_from_s - 1.0)
        _check(
            source,
            "y",
            y,
            rel <= y_tolerance,
            f"y = Q²/(x s) (with √s = header.Vs) to {y_tolerance:g} relative",
        )
    else:
        y = y_from_s
        _check(source, "y = Q²/(x s)", y, (y > 0) & (y <= 1), "0 < y ≤ 1 (check header.Vs)")

    tau = header.get("target_isoscalarity", 1)
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not (-1 <= tau <= 1):
        raise KinematicsError(f"{source}: header.target_isoscalarity = {tau!r} not in [-1, 1]")
    charge = header.get("charge", 1)
    if charge not in (-1, 0, 1):
        raise KinematicsError(f"{source}: header.charge = {charge!r} not in (-1, 0, 1)")
    hadron = header.get("hadron", "PI")
    if not isinstance(hadron, str):
        raise KinematicsError(f"{source}: header.hadron must be a string, got {hadron!r}")
    ps = header.get("PS_reduction") or {}
    if not isinstance(ps, Mapping):
        raise KinematicsError(f"{source}: header.PS_reduction must be a mapping")
    if not (isinstance(qToQcut, (int, float)) and qToQcut > 0 and math.isfinite(qToQcut)):
        raise KinematicsError(f"{source}: qToQcut must be a positive number, got {qToQcut!r}")

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=dtype, device=device)

    kin = Kinematics(
        x=t(x),
        Q2=t(q2),
        z=t(z),
        PhT=t(pht),
        Vs=t(vs),
        y=t(y),
        qToQcut=float(qToQcut),
        target_isoscalarity=float(tau),
        hadron=hadron,
        charge=int(charge),
        ps_reduction=dict(ps),
        labels=labels,
        source=source,
    )
    n_out = int((~kin.in_tmd_region).sum())
    if n_out:
        log.warning(
            "%s: %d of %d points have qT/Q > qToQcut = %g (flagged, kept)",
            source,
            n_out,
            n,
            qToQcut,
        )
    return kin


def load_kinematics(path: str | Path, **kwargs: Any) -> Kinematics:
    """Read a kinematics YAML file (see the module docstring) with :func:`from_mapping`.

    ``path``: a file, or the name of a shipped kinematics file (``sidis_mix``,
    ``hermes_7pt``; :func:`sidislab.resources.resolve`)."""
    path = resources.resolve("kinematics", path, error=KinematicsError)
    doc = read_yaml(path, what="kinematics file", error=KinematicsError)
    return from_mapping(doc, source=str(path), **kwargs)


def concatenate(parts: Sequence[Kinematics]) -> Kinematics:
    """Join batches (same header physics) into one."""
    if not parts:
        raise KinematicsError("concatenate: no kinematics given")
    first = parts[0]
    for p in parts[1:]:
        if (p.target_isoscalarity, p.hadron, p.charge) != (
            first.target_isoscalarity,
            first.hadron,
            first.charge,
        ):
            raise KinematicsError(
                f"concatenate: {p.source} has a different target/hadron/charge than {first.source}"
            )
    cat = {k: torch.cat([getattr(p, k) for p in parts]) for k in (*_FIELDS, "Vs", "y")}
    labels = tuple(lab for p in parts for lab in (p.labels or (p.source,) * len(p)))
    return replace(first, **cat, labels=labels, source="+".join(p.source for p in parts))


def random_points(
    n: int,
    *,
    seed: int = 0,
    sqrt_s: float = 140.0,
    x: tuple[float, float] = (0.01, 0.5),
    Q2: tuple[float, float] = (1.5, 50.0),
    z: tuple[float, float] = (0.2, 0.8),
    PhT: tuple[float, float] = (0.05, 1.0),
    qToQcut: float = 100.0,
    source: str = "random",
) -> Kinematics:
    """n points drawn uniformly in the given ranges at one √s (reproducible with ``seed``).

    Synthetic kinematics for benchmarks, tests and sweeps; validated like a file (the
    default ranges give 0 < y ≤ 1 at √s = 140 GeV).
    """
    rng = np.random.default_rng(seed)
    data = {
        name: rng.uniform(lo, hi, n).tolist()
        for name, (lo, hi) in (("x", x), ("Q2", Q2), ("z", z), ("PhT", PhT))
    }
    return from_mapping({"header": {"Vs": sqrt_s}, "data": data}, qToQcut=qToQcut, source=source)
