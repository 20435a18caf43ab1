"""The on-disk luminosity cache: L_q(b) per point on a dense b-grid, in HDF5.

The luminosity (physics.md §1) is the expensive, parameter-free part of every cross
section: it is computed once per (provider, kinematics, b-grid) and kept on disk.
:meth:`LuminosityCache.get_or_build` returns a :class:`LuminosityTable` — b [Nb],
L [N, F, Nb] — loading it when a valid file exists and building it chunk by chunk
otherwise; :meth:`LuminosityTable.interpolate` evaluates it at arbitrary nodes.

**Key.** A table is identified by the SHA-256 of a canonical JSON document
(:func:`cache_key_document`): the provider (class, name, flavours, ``fingerprint()``),
the b-grid (spacing, b_min, b_max, Nb, scale), the kinematics (``Kinematics.fingerprint``,
a SHA-256 of the point values, and N), the sidislab version and the cache format version.
Any change of any of them is a different file; nothing is ever looked up by name alone.

**Default grid** (:data:`DEFAULT_CACHE_GRID`): 256 nodes uniform in ln b on
[1e-4, 50] GeV⁻¹. L depends on b only through b* (physics.md §2), which saturates:

- b → 0: b* → b_min = b0/Q with relative deviation (bQ/b0)⁴/8: below 1e-9 at b = 1e-4
  for Q ≤ 100 GeV and 1e-5 for Q ≤ 1 TeV, so L is constant below the grid.
- b → ∞: b* → b_max = b0 GeV⁻¹ with deviation e^{−(b/b0)⁴}/4, which underflows to 0
  beyond b ≈ 6.5 GeV⁻¹; 50 GeV⁻¹ also lets toy Gaussians e^{−a b²} (no b*, see
  :mod:`sidislab.lumi.analytic`) decay to e^{−2500 a}, i.e. below 1e-17 for a ≥ 0.016 GeV².

Outside the table L is therefore continued *flat* (its end values): for a b*-based
provider this is exact, not a guess; integrators may ask for any b > 0 (Ogata nodes
reach b ≫ 50 at small qT). Node spacing: h = ln(5e5)/255 ≈ 0.051 in ln b. The not-a-knot
spline (:mod:`sidislab.lumi.interpolate`) is then accurate to ~5e-8 on a smooth function
of ln b with O(1) derivatives, and to 1e-6 (Q ≈ 1 GeV) … 4e-6 (Q = 100 GeV) relative on a
b*-saturated Sudakov-like toy, ln L = −0.4 ln²(Q b*/b0) − …; ask for Nb = 384 (≤ 7e-7)
or 512 (≤ 2e-7) if that matters (the error falls as Nb⁻⁴; time and size grow as Nb).

**File layout** (one file ``lumi-<key>.h5`` per table; see :class:`_TableFile`):

- root attributes: ``format`` (``"sidislab-lumi-cache"``), ``format_version``, ``key``,
  ``key_document`` (the canonical JSON hashed into the key), ``created`` (ISO 8601 UTC),
  ``sidislab_version``, ``provider_name``, ``provider_class``, ``n_points``, ``Nb``,
  ``n_flavours``, ``build_seconds``, ``kinematics_source``, ``units``;
- ``/b`` float64 [Nb] (GeV⁻¹), ``/L`` float64 [N, F, Nb], ``/flavours`` int32 [F] (PDG ids),
  ``/kinematics/{x,Q2,z,PhT,Vs,y}`` float64 [N] (for inspection; the key covers them);
- every dataset carries a ``crc32`` attribute: zlib's CRC-32 of its little-endian C-order
  bytes, verified on every load of ``/b``, ``/L`` and ``/flavours``.

Why a stored digest and not HDF5's Fletcher-32 filter: the filter needs chunked storage
and checksums in HDF5's byte-wise loop, which measured 0.55–0.65 s for a 205 MB table
(10⁴ points × 10 flavours × 256 nodes) against 0.19–0.27 s for a plain contiguous read,
and CRC-32 adds 0.11 s (loaded 2-core machine). CRC-32 detects every burst error up to
32 bits and misses random corruption with probability 2⁻³²; it guards against accidents
(disk, copies, truncation), not against a forger.

**Robustness.** Files are written to a temporary file beside the destination and moved
into place (:func:`sidislab.io.atomic_path`), so a reader never sees a partial file.
Builders of the same key serialise on an advisory lock file (``lumi-<key>.lock``,
``fcntl.flock``): the second waits, then finds the first one's file and loads it. A file
that cannot be opened (truncated, not HDF5), is not ours (``format``), has another format
version, holds another key (stale), has the wrong shapes, flavours or nodes, or fails a
checksum is logged (warning, with the reason) and rebuilt — never trusted. (Values are
checked finite when built, and the checksum covers them from then on.)

**Scale-out.** Builds are a map of the pure function :func:`build_chunk` over chunks of
points, merged here: each chunk is placed by its index as it finishes
(:func:`sidislab.compute.map_unordered`), so the table is bit-identical to a serial build
whatever the executor and the chunk size. ``/L`` is allocated in full when the temporary
file is created, so with an executor each task writes its rows into it itself
(:func:`build_chunk_into`; on a local cluster or a shared folder) and returns only their
CRC-32, which this process combines (:func:`crc32_combine`); a task that does not see the
file returns its rows instead. :meth:`LuminosityCache.ensure` (``sidislab lumi build``)
stops there; :meth:`LuminosityCache.get_or_build` then reads the table back and verifies it.
Pass any :class:`concurrent.futures.Executor`
(a process pool, or ``sidislab.compute.Compute("local:4").executor`` for Dask) to run the
chunks elsewhere; the provider and the kinematics chunks must then be picklable (the
native provider pickles its set paths, not its grids). A chunk that fails fails the build,
and its temporary file is removed: no table is left.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import functools
import hashlib
import json
import logging
import os
import re
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from tqdm.auto import tqdm

from sidislab._version import __version__
from sidislab.compute import map_unordered
from sidislab.errors import SidislabError
from sidislab.io import Temporary, atomic_path, remove_temporaries, temporaries
from sidislab.kinematics import Kinematics
from sidislab.lumi.base import LuminosityProvider
from sidislab.lumi.interpolate import LogBSpline
from sidislab.numerics.bgrid import BGrid

try:  # POSIX advisory locks; absent on Windows
    import fcntl
except ImportError:  # pragma: no cover - not on our platforms
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

__all__ = [
    "CACHE_FORMAT",
    "CACHE_FORMAT_VERSION",
    "DEFAULT_CACHE_GRID",
    "DEFAULT_CHUNK_SIZE",
    "InvalidCacheFile",
    "LuminosityCache",
    "LuminosityTable",
    "build_chunk",
    "build_chunk_into",
    "cache_key",
    "cache_key_document",
    "crc32_combine",
    "key_of_file",
]

CACHE_FORMAT: str = "sidislab-lumi-cache"
"""Value of the ``format`` attribute of every cache file."""
CACHE_FORMAT_VERSION: int = 1
"""Layout version; a file with another version is rebuilt."""
DEFAULT_CACHE_GRID: BGrid = BGrid(b_min=1e-4, b_max=50.0, Nb=256, spacing="log")
"""Dense grid of the cache: 256 log nodes on [1e-4, 50] GeV⁻¹ (module docstring)."""
DEFAULT_CHUNK_SIZE: int = 1024
"""Points per build chunk (≈ 20 MB of L at 10 flavours × 256 nodes)."""

_FILE_RE = re.compile(r"^lumi-([0-9a-f]{64})\.h5$")


def key_of_file(path: str | os.PathLike[str]) -> str:
    """The cache key of a table file ``lumi-<key>.h5``; ``ValueError`` for another name."""
    m = _FILE_RE.match(Path(path).name)
    if m is None:
        raise ValueError(f"{path}: not a luminosity cache file name (lumi-<64 hex digits>.h5)")
    return m.group(1)


_KIN_FIELDS = ("x", "Q2", "z", "PhT", "Vs", "y")


class InvalidCacheFile(SidislabError):
    """A cache file that must not be trusted (the message says why); it is rebuilt.

    Raised and caught inside the cache (never escapes ``get``/``get_or_build``)."""


# --- keys -------------------------------------------------------------------------------


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def _canonical_json(doc: Any) -> str:
    return json.dumps(
        doc,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
        default=_json_default,
    )


def _grid_document(grid: BGrid) -> dict[str, Any]:
    return {
        "spacing": grid.spacing,
        "b_min": float(grid.b_min),
        "b_max": float(grid.b_max),
        "Nb": int(grid.Nb),
        "scale": float(grid.scale),
    }


def cache_key_document(
    provider: LuminosityProvider, kin: Kinematics, grid: BGrid = DEFAULT_CACHE_GRID
) -> dict[str, Any]:
    """Everything a table depends on, as a JSON-able dict (hashed by :func:`cache_key`)."""
    cls = type(provider)
    return {
        "cache_format": CACHE_FORMAT,
        "cache_format_version": CACHE_FORMAT_VERSION,
        "sidislab_version": __version__,
        "provider": {
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "name": provider.name,
            "flavours": [int(p) for p in provider.flavours],
            "fingerprint": provider.fingerprint(),
        },
        "bgrid": _grid_document(grid),
        "kinematics": {"fingerprint": kin.fingerprint(), "n_points": len(kin)},
    }


def _key_of_document(doc: dict[str, Any], provider: LuminosityProvider) -> tuple[str, str]:
    try:
        text = _canonical_json(doc)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"cache key: {type(provider).__name__}.fingerprint() of provider "
            f"{provider.name!r} is not canonical JSON (no NaN/inf, JSON types only): {exc}"
        ) from exc
    return hashlib.sha256(text.encode("ascii")).hexdigest(), text


def cache_key(
    provider: LuminosityProvider, kin: Kinematics, grid: BGrid = DEFAULT_CACHE_GRID
) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`cache_key_document`."""
    return _key_of_document(cache_key_document(provider, kin, grid), provider)[0]


# --- building ---------------------------------------------------------------------------


def build_chunk(provider: LuminosityProvider, kin_chunk: Kinematics, b: np.ndarray) -> np.ndarray:
    """L_q(b) for one chunk of points: a pure function (no I/O), for local or remote maps.

    Returns a C-contiguous float64 array [n, F, Nb]; raises ``ValueError`` naming the
    point (index within the chunk) and flavour of a non-finite value or a wrong shape.
    """
    out = provider.luminosity(kin_chunk, b)
    out = np.ascontiguousarray(np.asarray(out), dtype=np.float64)
    shape = (len(kin_chunk), len(provider.flavours), int(np.shape(b)[-1]))
    if out.shape != shape:
        raise ValueError(
            f"{type(provider).__name__}.luminosity returned shape {out.shape}, expected {shape}"
        )
    bad = ~np.isfinite(out)
    if bad.any():
        i, j, k = (int(v) for v in np.argwhere(bad)[0])
        nodes = np.asarray(b)
        bk = float(nodes[k] if nodes.ndim == 1 else nodes[i, k])
        raise ValueError(
            f"{type(provider).__name__} ({kin_chunk.source}): point {i} of the chunk, "
            f"flavour {provider.flavours[j]}, b = {bk!r} GeV⁻¹: L = {out[i, j, k]!r} is not "
            f"finite ({int(bad.sum())} values in all)"
        )
    return out


# --- tables -----------------------------------------------------------------------------


@dataclass
class LuminosityTable:
    """Tabulated luminosities of N points on a common b-grid.

    Attributes:
        b: nodes in GeV⁻¹, float64 [Nb], strictly increasing and > 0.
        L: L_q(b_j) per point and flavour, float64 [N, F, Nb] (units of physics.md §1).
        flavours: PDG ids of the F rows.
        key: the cache key ("" for a table built in memory).
        metadata: the file's attributes (format, versions, provider, created, …).
        path: the file it was loaded from or written to, if any.
    """

    b: np.ndarray
    L: np.ndarray
    flavours: tuple[int, ...]
    key: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def __post_init__(self) -> None:
        self.b = np.ascontiguousarray(self.b, dtype=np.float64)
        self.L = np.ascontiguousarray(self.L, dtype=np.float64)
        self.flavours = tuple(int(p) for p in self.flavours)
        if self.b.ndim != 1 or self.b.shape[0] < 4:
            raise ValueError(f"LuminosityTable: b must have shape [Nb ≥ 4], got {self.b.shape}")
        if (self.b <= 0).any() or (np.diff(self.b) <= 0).any():
            raise ValueError("LuminosityTable: b must be > 0 and strictly increasing")
        if self.L.ndim != 3 or self.L.shape[1:] != (len(self.flavours), self.b.shape[0]):
            raise ValueError(
                f"LuminosityTable: L must have shape [N, F={len(self.flavours)}, "
                f"Nb={self.b.shape[0]}], got {self.L.shape}"
            )

    def __len__(self) -> int:
        return int(self.L.shape[0])

    @property
    def n_points(self) -> int:
        return int(self.L.shape[0])

    @property
    def Nb(self) -> int:
        return int(self.b.shape[0])

    def flavour_index(self, pid: int) -> int:
        """Row of flavour ``pid`` (PDG id) in L."""
        try:
            return self.flavours.index(pid)
        except ValueError:
            raise ValueError(f"flavour {pid} not in the table's flavours {self.flavours}") from None

    @functools.cached_property
    def spline(self) -> LogBSpline:
        """The not-a-knot cubic spline in ln b through L (built on first use, then kept)."""
        return LogBSpline(self.b, self.L, bc="not-a-knot")

    def interpolate(
        self,
        b: np.ndarray | torch.Tensor,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """L_q at nodes ``b`` (GeV⁻¹): [Nb′] shared or [N, Nb′] per point → [N, F, Nb′].

        C² cubic spline in ln b, flat outside [b_0, b_{Nb−1}] (b* saturation; module
        docstring of :mod:`sidislab.lumi.interpolate`). ``device`` defaults to that of
        ``b`` (tensor) or the CPU.
        """
        return self.spline(b, dtype=dtype, device=device)

    def as_tensor(
        self, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """L on the grid nodes as a tensor [N, F, Nb]."""
        return torch.from_numpy(self.L).to(device=device, dtype=dtype)


# --- locking ----------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(lock_path: Path, timeout: float | None, what: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created if needed) for the block."""
    if fcntl is None:  # pragma: no cover - not on our platforms
        log.warning("no fcntl on this platform: %s is built without a lock", what)
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            log.info("waiting for %s: another builder holds %s", what, lock_path)
            t0 = time.monotonic()
            if timeout is None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except OSError as exc2:
                        if exc2.errno not in (errno.EAGAIN, errno.EACCES):
                            raise
                        if time.monotonic() - t0 > timeout:
                            raise TimeoutError(
                                f"{lock_path}: lock held by another builder for more than "
                                f"{timeout:g} s (remove the lock file only if no build runs)"
                            ) from None
                        time.sleep(0.05)
            log.info("got %s after %.1f s", lock_path, time.monotonic() - t0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _try_lock_nb(lock_path: Path) -> int | None:
    """An fd holding ``lock_path`` exclusively, or None if another process holds it."""
    if fcntl is None:  # pragma: no cover
        return None
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


# --- file I/O ---------------------------------------------------------------------------


def _signature(path: Path) -> tuple[int, int, int] | None:
    """(inode, mtime ns, size) of a file, or None if absent: has it been replaced?"""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _crc32(arr: np.ndarray) -> int:
    """zlib CRC-32 of the little-endian, C-order bytes of ``arr`` (no copy on x86/ARM)."""
    if arr.size == 0:
        return 0
    le = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
    return zlib.crc32(memoryview(le).cast("B"))


def _read_verified(ds: h5py.Dataset, name: str, out: np.ndarray) -> np.ndarray:
    """Read ``ds`` into ``out`` and check it against the dataset's ``crc32`` attribute."""
    if "crc32" not in ds.attrs:
        raise InvalidCacheFile(f"/{name} has no crc32 attribute")
    if ds.shape != out.shape:
        raise InvalidCacheFile(f"/{name} has shape {ds.shape}, expected {out.shape}")
    if out.size:
        ds.read_direct(out)
    stored, actual = int(ds.attrs["crc32"]), _crc32(out)
    if stored != actual:
        raise InvalidCacheFile(
            f"/{name} fails its checksum (crc32 {actual:#010x} != {stored:#010x})"
        )
    return out


def _read_attrs(f: h5py.File) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in f.attrs.items():
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, np.generic):
            v = v.item()
        out[k] = v
    return out


def _check_header(f: h5py.File) -> dict[str, Any]:
    attrs = _read_attrs(f)
    if attrs.get("format") != CACHE_FORMAT:
        raise InvalidCacheFile(f"foreign file (format attribute {attrs.get('format')!r})")
    if attrs.get("format_version") != CACHE_FORMAT_VERSION:
        raise InvalidCacheFile(
            f"format version {attrs.get('format_version')!r}, expected {CACHE_FORMAT_VERSION}"
        )
    return attrs


def _read_table(
    path: Path, key: str, flavours: tuple[int, ...], nodes: np.ndarray, n_points: int
) -> LuminosityTable:
    """Load and verify a cache file; raise :class:`InvalidCacheFile` saying what is wrong."""
    try:
        with h5py.File(path, "r", locking=False) as f:
            attrs = _check_header(f)
            if attrs.get("key") != key:
                raise InvalidCacheFile(f"stale: key {attrs.get('key')!r} != {key}")
            for name in ("b", "L", "flavours"):
                if not isinstance(f.get(name), h5py.Dataset):
                    raise InvalidCacheFile(f"dataset /{name} missing")
            ds_b, ds_l, ds_f = f["b"], f["L"], f["flavours"]
            shape = (n_points, len(flavours), nodes.shape[0])
            if ds_b.dtype != np.float64 or ds_l.dtype != np.float64 or ds_f.dtype != np.int32:
                raise InvalidCacheFile(
                    f"dtypes b {ds_b.dtype}, L {ds_l.dtype}, flavours {ds_f.dtype}; "
                    "expected float64, float64, int32"
                )
            flav = _read_verified(ds_f, "flavours", np.empty(len(flavours), dtype=np.int32))
            if tuple(int(p) for p in flav) != tuple(flavours):
                raise InvalidCacheFile(f"flavours {tuple(flav.tolist())} != {tuple(flavours)}")
            b = _read_verified(ds_b, "b", np.empty(nodes.shape, dtype=np.float64))
            if not np.allclose(b, nodes, rtol=1e-12, atol=0.0):
                raise InvalidCacheFile("b-nodes differ from the grid's")
            L = _read_verified(ds_l, "L", np.empty(shape, dtype=np.float64))
    except InvalidCacheFile:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise InvalidCacheFile(f"unreadable: {type(exc).__name__}: {exc}") from exc
    return LuminosityTable(b=b, L=L, flavours=flavours, key=key, metadata=attrs, path=path)


def _gf2_times(mat: tuple[int, ...], vec: int) -> int:
    """The 32×32 GF(2) matrix ``mat`` (one column per bit) times the bit vector ``vec``."""
    out, i = 0, 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def _gf2_compose(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """The operator "b, then a" (the matrix product a·b)."""
    return tuple(_gf2_times(a, column) for column in b)


@functools.lru_cache(maxsize=64)
def _crc32_zeros_operator(nbytes: int) -> tuple[int, ...]:
    """The GF(2) operator that appending ``nbytes`` zero bytes applies to a CRC-32
    register (zlib's ``crc32_combine``): the one-zero-byte operator raised to ``nbytes``
    by squaring."""
    power = (0xEDB88320, *(1 << k for k in range(31)))  # one zero bit
    for _ in range(3):  # 2, 4, 8 zero bits: one byte
        power = _gf2_compose(power, power)
    total = tuple(1 << k for k in range(32))
    while nbytes:
        if nbytes & 1:
            total = _gf2_compose(power, total)
        nbytes >>= 1
        if nbytes:
            power = _gf2_compose(power, power)
    return total


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A + B from crc1 = CRC-32(A), crc2 = CRC-32(B) and len2 = len(B) in bytes
    (zlib's ``crc32_combine``, which Python's zlib does not expose)."""
    if len2 <= 0:
        return crc1
    return _gf2_times(_crc32_zeros_operator(len2), crc1) ^ crc2


@dataclass(frozen=True)
class _RowsTarget:
    """Where a build task may write its rows of ``/L`` itself: the temporary file (as
    identified by device and inode, so that a task never writes into another file of the
    same name), the byte offset of the contiguous dataset and the bytes per point."""

    path: str
    device: int
    inode: int
    offset: int
    row_bytes: int

    def write(self, start: int, rows: np.ndarray) -> bool:
        """Write ``rows`` at point ``start``; False (nothing written) where this process
        does not see the file (a worker on another machine without the shared folder)."""
        try:
            fd = os.open(self.path, os.O_WRONLY)
        except OSError:
            return False
        try:
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) != (self.device, self.inode):
                return False
            data = memoryview(np.ascontiguousarray(rows, "<f8")).cast("B")
            pos, done = self.offset + start * self.row_bytes, 0
            while done < len(data):
                done += os.pwrite(fd, data[done:], pos + done)
        finally:
            os.close(fd)
        return True


@dataclass(frozen=True)
class _RowsWritten:
    """What a task that wrote its rows returns: how many, and their CRC-32."""

    rows: int
    crc: int


def build_chunk_into(
    provider: LuminosityProvider,
    kin_chunk: Kinematics,
    b: np.ndarray,
    target: _RowsTarget | None,
    start: int,
) -> np.ndarray | _RowsWritten:
    """:func:`build_chunk`, and the rows written into the table file by the task itself
    when it sees the file (``target``), so that they do not travel back to the process
    that builds the table; otherwise the rows are returned and that process writes them."""
    rows = build_chunk(provider, kin_chunk, b)
    if target is not None and target.write(start, rows):
        return _RowsWritten(len(rows), _crc32(rows))
    return rows


class _TableFile:
    """The cache file of one build, written while the build runs (:func:`_table_file`).

    ``/L`` is a contiguous float64 dataset allocated in full when the file is created, so
    that its rows are a plain byte range: each chunk's rows are written there as soon as
    they exist — by this process (:meth:`put`) or by the task that computed them
    (:meth:`target`, :meth:`written`) — and writing overlaps the computing of the other
    chunks instead of following it. The CRC-32 of ``/L`` is combined from the chunks'
    CRCs in row order (:func:`crc32_combine`): the bytes and the checksum are those of a
    table written at once. :meth:`finish` adds ``/b``, ``/flavours``, ``/kinematics`` and
    the attributes; a file that was not finished is never moved into place.
    """

    def __init__(self, f: h5py.File, path: Path, shape: tuple[int, int, int]):
        self._f = f
        self.n = shape[0]
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)  # the byte range exists from now on
        self._ds = f.create_dataset("L", shape=shape, dtype="<f8", dcpl=dcpl, fill_time="never")
        f.flush()
        st = path.stat()
        self._target = _RowsTarget(
            str(path.resolve()),
            st.st_dev,
            st.st_ino,
            int(self._ds.id.get_offset()),
            int(np.prod(shape[1:])) * 8,
        )
        self._crcs: dict[int, tuple[int, int]] = {}  # start row → (rows, CRC-32)
        self.finished = False

    def target(self) -> _RowsTarget:
        """Where a task may write rows itself (:func:`build_chunk_into`)."""
        return self._target

    def put(self, start: int, rows: np.ndarray) -> None:
        """Write ``rows`` (points ``start`` …) to the file."""
        if len(rows) == 0:
            return
        if not self._target.write(start, rows):
            raise OSError(f"luminosity table file {self._target.path} is gone or replaced")
        self._crcs[start] = (len(rows), _crc32(rows))

    def written(self, start: int, done: _RowsWritten) -> None:
        """Rows ``start`` … that a task wrote itself."""
        if done.rows:
            self._crcs[start] = (done.rows, done.crc)

    def _crc(self) -> int:
        crc, row = 0, 0
        while row < self.n:
            if row not in self._crcs:
                raise RuntimeError(
                    f"luminosity table file: rows {row}..{self.n - 1} of /L were never written"
                )
            m, c = self._crcs[row]
            crc = crc32_combine(crc, c, m * self._target.row_bytes)
            row += m
        return crc

    def finish(
        self, b: np.ndarray, flavours: tuple[int, ...], kin: Kinematics, attrs: dict[str, Any]
    ) -> None:
        """The rest of the file; every row of ``/L`` must have been written."""
        self._ds.attrs["crc32"] = np.uint32(self._crc())

        def put(group: h5py.Group, name: str, data: np.ndarray) -> None:
            ds = group.create_dataset(name, data=data)  # contiguous: the fastest read
            ds.attrs["crc32"] = np.uint32(_crc32(np.ascontiguousarray(data)))

        for k, v in attrs.items():
            self._f.attrs[k] = v
        put(self._f, "b", b)
        put(self._f, "flavours", np.asarray(flavours, dtype=np.int32))
        g = self._f.create_group("kinematics")
        for name in _KIN_FIELDS:
            put(g, name, getattr(kin, name).detach().to("cpu", torch.float64).numpy())
        self.finished = True


@contextlib.contextmanager
def _table_file(path: Path, shape: tuple[int, int, int]) -> Iterator[_TableFile]:
    """Write the table file of shape ``shape`` atomically (temporary file + rename) as its
    rows are computed; the temporary is removed if the block raises or does not finish it."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w", locking=False) as f:
        out = _TableFile(f, tmp, shape)
        yield out
        if not out.finished:
            raise RuntimeError(f"luminosity table file {path.name}: the build did not finish it")


# --- the cache --------------------------------------------------------------------------


class LuminosityCache:
    """A folder of luminosity tables, one HDF5 file per key (module docstring).

    Args:
        cache_dir: the folder (created on first write).
        lock_timeout: seconds to wait for another builder of the same key before raising
            ``TimeoutError``; ``None`` waits as long as it takes.
    """

    def __init__(self, cache_dir: str | os.PathLike[str], *, lock_timeout: float | None = None):
        self.cache_dir = Path(cache_dir)
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"LuminosityCache({str(self.cache_dir)!r})"

    # --- naming -------------------------------------------------------------------------
    def key(self, provider: LuminosityProvider, kin: Kinematics, grid: BGrid | None = None) -> str:
        """The cache key of a table (:func:`cache_key`)."""
        return cache_key(provider, kin, grid or DEFAULT_CACHE_GRID)

    def path_for_key(self, key: str) -> Path:
        """File of a key: ``<cache_dir>/lumi-<key>.h5``."""
        return self.cache_dir / f"lumi-{key}.h5"

    def _lock_path(self, key: str) -> Path:
        return self.cache_dir / f"lumi-{key}.lock"

    # --- lookup and build ---------------------------------------------------------------
    def _load(
        self, path: Path, key: str, provider: LuminosityProvider, nodes: np.ndarray, n: int
    ) -> LuminosityTable | None:
        if not path.exists():
            return None
        t0 = time.perf_counter()
        try:
            table = _read_table(path, key, tuple(provider.flavours), nodes, n)
        except InvalidCacheFile as exc:
            log.warning("luminosity cache file %s is not valid (%s): rebuilding it", path, exc)
            return None
        log.info("loaded %s (%d points) in %.2f s", path, n, time.perf_counter() - t0)
        return table

    def _check_grid(self, grid: BGrid | None) -> BGrid:
        grid = grid or DEFAULT_CACHE_GRID
        if not isinstance(grid, BGrid):
            raise ValueError(f"LuminosityCache: grid must be a BGrid, got {type(grid).__name__}")
        if grid.b_min <= 0 or grid.Nb < 4:
            raise ValueError(
                f"LuminosityCache: the cache grid needs b_min > 0 (interpolation in ln b) "
                f"and Nb ≥ 4, got {grid.describe()}"
            )
        return grid

    def get(
        self, provider: LuminosityProvider, kin: Kinematics, grid: BGrid | None = None
    ) -> LuminosityTable | None:
        """The cached table if a valid file exists, else ``None`` (never builds)."""
        grid = self._check_grid(grid)
        key = self.key(provider, kin, grid)
        nodes = grid.nodes().numpy()
        return self._load(self.path_for_key(key), key, provider, nodes, len(kin))

    def get_or_build(
        self,
        provider: LuminosityProvider,
        kin: Kinematics,
        grid: BGrid | None = None,
        *,
        progress: bool = True,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        executor: Executor | None = None,
        force: bool = False,
    ) -> LuminosityTable:
        """Load the table of (provider, kin, grid), building and writing it if needed.

        Args:
            provider: the luminosity provider.
            kin: the points (all of them; the key covers their values and order).
            grid: the dense b-grid; default :data:`DEFAULT_CACHE_GRID`.
            progress: show a tqdm bar while building.
            chunk_size: points per :func:`build_chunk` call.
            executor: run the chunks with ``executor.map`` (process pool, Dask client
                executor, …); default: in this process, one after the other.
            force: rebuild even if a valid file exists.

        Returns:
            The :class:`LuminosityTable`; ``table.path`` is the cache file.
        """
        table, _ = self._obtain(provider, kin, grid, progress, chunk_size, executor, force, True)
        assert table is not None
        return table

    def ensure(
        self,
        provider: LuminosityProvider,
        kin: Kinematics,
        grid: BGrid | None = None,
        *,
        progress: bool = True,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        executor: Executor | None = None,
        force: bool = False,
    ) -> Path:
        """Make sure the cache holds a valid table of (provider, kin, grid); return its file.

        :meth:`get_or_build` without the table in memory afterwards (``sidislab lumi
        build``): the rows of a build go from the tasks (or this process) to the file and
        are not read back, so a table larger than this machine's memory can be built on a
        cluster. An existing file is verified as :meth:`get_or_build` verifies it.
        Arguments as for :meth:`get_or_build`.
        """
        return self._obtain(provider, kin, grid, progress, chunk_size, executor, force, False)[1]

    def _obtain(
        self,
        provider: LuminosityProvider,
        kin: Kinematics,
        grid: BGrid | None,
        progress: bool,
        chunk_size: int,
        executor: Executor | None,
        force: bool,
        load: bool,
    ) -> tuple[LuminosityTable | None, Path]:
        """(the table if ``load`` else None, its file), building the file if needed."""
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(
                f"get_or_build: chunk_size must be an integer >= 1, got {chunk_size!r}"
            )
        if len(kin) == 0:
            raise ValueError("get_or_build: no kinematic points")
        grid = self._check_grid(grid)
        doc = cache_key_document(provider, kin, grid)
        key, key_text = _key_of_document(doc, provider)
        path = self.path_for_key(key)
        nodes = grid.nodes().numpy()
        n = len(kin)
        seen = None  # the file as found invalid (or absent) before taking the lock
        if not force:
            seen = _signature(path)
            table = self._load(path, key, provider, nodes, n)
            if table is not None:
                return (table if load else None), path
        with _locked(self._lock_path(key), self.lock_timeout, f"luminosity table {key[:12]}"):
            self.clean_temporaries(holding=key)  # leftovers of killed builds
            # another builder may have written the file while we waited: load it, unless it
            # is still the very file already found invalid
            if not force and _signature(path) not in (None, seen):
                table = self._load(path, key, provider, nodes, n)
                if table is not None:
                    return (table if load else None), path
            table = self._build(
                provider,
                kin,
                grid,
                nodes,
                key,
                key_text,
                path,
                progress,
                chunk_size,
                executor,
                load,
            )
            return table, path

    def _build(
        self,
        provider: LuminosityProvider,
        kin: Kinematics,
        grid: BGrid,
        nodes: np.ndarray,
        key: str,
        key_text: str,
        path: Path,
        progress: bool,
        chunk_size: int,
        executor: Executor | None,
        load: bool = True,
    ) -> LuminosityTable | None:
        n, nf, nb = len(kin), len(provider.flavours), nodes.shape[0]
        log.info(
            "building luminosity table %s: provider %s, %d points × %d flavours on %s",
            key[:12],
            provider.name,
            n,
            nf,
            grid.describe(),
        )
        t0 = time.perf_counter()
        chunks = list(kin.chunks(chunk_size))
        starts = np.cumsum([0] + [len(c) for c in chunks]).tolist()
        # In this process the rows are placed in the table in memory and written; with an
        # executor each task writes its rows into the file itself where it sees the file
        # (a local cluster, a shared folder), else returns them to be written here. Either
        # way chunks arrive in any order and go to their rows: the table is the same bytes.
        local = executor is None
        L = np.empty((n, nf, nb), dtype=np.float64) if local and load else None
        with (
            _table_file(path, (n, nf, nb)) as out,
            tqdm(
                total=n, unit="pt", desc=f"lumi {provider.name}", disable=not progress, leave=False
            ) as bar,
        ):
            results: Iterator[tuple[int, np.ndarray | _RowsWritten]] = map_unordered(
                build_chunk_into,
                [provider] * len(chunks),
                chunks,
                [nodes] * len(chunks),
                [None if local else out.target()] * len(chunks),
                starts[:-1],
                executor=executor,
            )
            for i, res in results:
                start, m = starts[i], len(chunks[i])
                if isinstance(res, _RowsWritten):
                    if res.rows != m:
                        raise ValueError(
                            f"a build task wrote {res.rows} rows for points {start}..{start + m - 1}"
                        )
                    out.written(start, res)
                else:
                    if res.shape != (m, nf, nb):
                        raise ValueError(
                            f"build_chunk returned shape {res.shape} for points "
                            f"{start}..{start + m - 1}, expected {(m, nf, nb)}"
                        )
                    if L is not None:
                        L[start : start + m] = res
                    out.put(start, res)
                bar.update(m)
            seconds = time.perf_counter() - t0
            cls = type(provider)
            attrs = {
                "format": CACHE_FORMAT,
                "format_version": CACHE_FORMAT_VERSION,
                "key": key,
                "key_document": key_text,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "sidislab_version": __version__,
                "provider_name": provider.name,
                "provider_class": f"{cls.__module__}.{cls.__qualname__}",
                "n_points": n,
                "Nb": nb,
                "n_flavours": nf,
                "build_seconds": seconds,
                "kinematics_source": kin.source,
                "units": "b: GeV^-1; L: as physics.md §1 (GeV^-3 times Y+/x e_q^2 ...)",
            }
            out.finish(nodes, tuple(provider.flavours), kin, attrs)
        log.info("wrote %s in %.2f s (build %.2f s)", path, time.perf_counter() - t0, seconds)
        if not load:
            return None
        if L is None:  # the rows are in the file only: read them (and check the checksums)
            return _read_table(path, key, tuple(provider.flavours), nodes, n)
        return LuminosityTable(
            b=nodes.copy(),
            L=L,
            flavours=tuple(provider.flavours),
            key=key,
            metadata=attrs,
            path=path,
        )

    # --- housekeeping (CLI: sidislab lumi info | clear) -----------------------------------
    def files(self) -> list[Path]:
        """The cache files (``lumi-<key>.h5``) in the folder, sorted by name."""
        if not self.cache_dir.is_dir():
            return []
        return sorted(p for p in self.cache_dir.iterdir() if _FILE_RE.match(p.name))

    def info(self) -> list[dict[str, Any]]:
        """One dict per cache file, from its header (the data are not read or verified).

        Keys: ``key``, ``provider``, ``n_points``, ``Nb``, ``n_flavours``, ``b_min``,
        ``b_max``, ``size`` (bytes), ``created``, ``sidislab_version``, ``path``, ``valid``
        (the header is ours and readable) and ``error`` (why not, else ``None``).
        """
        out = []
        for path in self.files():
            key = key_of_file(path)
            entry: dict[str, Any] = {
                "key": key,
                "provider": None,
                "n_points": None,
                "Nb": None,
                "n_flavours": None,
                "b_min": None,
                "b_max": None,
                "size": path.stat().st_size,
                "created": None,
                "sidislab_version": None,
                "path": str(path),
                "valid": False,
                "error": None,
            }
            try:
                with h5py.File(path, "r", locking=False) as f:
                    attrs = _check_header(f)
                    grid = json.loads(attrs["key_document"])["bgrid"]
                    entry.update(
                        provider=attrs["provider_name"],
                        n_points=int(attrs["n_points"]),
                        Nb=int(attrs["Nb"]),
                        n_flavours=int(attrs["n_flavours"]),
                        b_min=grid["b_min"],
                        b_max=grid["b_max"],
                        created=attrs["created"],
                        sidislab_version=attrs["sidislab_version"],
                    )
                    if attrs.get("key") != key:
                        raise InvalidCacheFile(f"key attribute {attrs.get('key')!r} != file name")
                entry["valid"] = True
            except (
                InvalidCacheFile,
                OSError,
                KeyError,
                ValueError,
                TypeError,
                RuntimeError,
            ) as exc:
                entry["error"] = f"{type(exc).__name__}: {exc}"
            out.append(entry)
        return out

    def clear(self, key: str | None = None) -> int:
        """Remove cache files; return how many ``.h5`` files were removed.

        ``key``: a full key or an unambiguous prefix (as ``info`` shows); ``None`` clears
        everything. Leftover temporary files of crashed builds and lock files are removed
        too when no builder holds the key's lock; a file under construction is left alone.
        """
        if not self.cache_dir.is_dir():
            return 0
        if key is not None:
            if not re.fullmatch(r"[0-9a-f]{1,64}", key):
                raise ValueError(
                    f"clear: key must be hexadecimal (a cache key or prefix), got {key!r}"
                )
            keys = sorted({k for k in self._all_keys() if k.startswith(key)})
            if len(keys) > 1:
                raise ValueError(f"clear: key prefix {key!r} is ambiguous: {', '.join(keys)}")
        else:
            keys = sorted(self._all_keys())
        removed = 0
        for k in keys:
            h5 = self.path_for_key(k)
            lock = self._lock_path(k)
            fd = _try_lock_nb(lock)
            try:
                if h5.exists():
                    h5.unlink()
                    removed += 1
                if fd is None:
                    log.info(
                        "clear: a build of %s is running; its lock and temporary files stay", k
                    )
                    continue
                for tmp in self.cache_dir.glob(f".lumi-{k}.h5.*.tmp"):
                    tmp.unlink(missing_ok=True)
                lock.unlink(missing_ok=True)  # while holding it (a racing builder re-creates it)
            finally:
                if fd is not None:
                    os.close(fd)
        log.info("cleared %d luminosity table(s) from %s", removed, self.cache_dir)
        return removed

    # --- leftovers of killed builds ------------------------------------------------------
    def temporaries(self) -> list[dict[str, Any]]:
        """Temporary files of builds in the folder (``.lumi-<key>.h5.<random>.tmp``).

        One dict per file: ``path``, ``key`` (None for a name that is not a cache file's),
        ``size`` (bytes), ``age`` (seconds since last written) and ``state``: ``"orphaned"``
        when no builder holds the key's lock (its builder was killed: nothing else removes
        it) or ``"being written"``. Listing takes no lock and changes nothing.
        """
        out = []
        for t in temporaries(self.cache_dir):
            m = _FILE_RE.match(t.target)
            key = m.group(1) if m else None
            state = "orphaned"
            if key is not None and fcntl is not None and self._lock_path(key).exists():
                fd = os.open(self._lock_path(key), os.O_RDONLY)
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except OSError:
                    state = "being written"
                finally:
                    os.close(fd)
            out.append({"path": t.path, "key": key, "size": t.size, "age": t.age, "state": state})
        return out

    def clean_temporaries(self, *, holding: str | None = None) -> int:
        """Remove the temporaries of killed builds; return the bytes freed.

        A key's temporaries are removed while holding its lock (a live builder keeps them);
        ``holding``: a key whose lock the caller holds already (its temporaries are then
        orphans by construction). Temporaries of names that are not cache files are left.
        """
        freed = 0
        by_key: dict[str, list[Temporary]] = {}
        for t in temporaries(self.cache_dir):
            m = _FILE_RE.match(t.target)
            if m is not None:
                by_key.setdefault(m.group(1), []).append(t)
        for key, found in by_key.items():
            fd = None if key == holding else _try_lock_nb(self._lock_path(key))
            if key != holding and fd is None:
                continue  # a builder of this key is running
            try:
                freed += sum(t.size for t in remove_temporaries(found))
            finally:
                if fd is not None:
                    os.close(fd)
        if freed:
            log.warning(
                "removed %.1f MiB of temporary files left by killed builds in %s",
                freed / 2**20,
                self.cache_dir,
            )
        return freed

    def _all_keys(self) -> set[str]:
        pat = re.compile(r"^\.?lumi-([0-9a-f]{64})(?:\.h5|\.lock|\.h5\..*\.tmp)$")
        return {m.group(1) for p in self.cache_dir.iterdir() if (m := pat.match(p.name))}
