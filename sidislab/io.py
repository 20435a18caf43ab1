"""Atomic file writing.

Files written by the workbench (caches, reports, generated data sets) are written to a
temporary file in the destination folder and moved into place with ``os.replace``, which
is atomic on POSIX and Windows: a crash or a concurrent writer never leaves a partially
written file under the final name.

A writer killed with SIGKILL leaves its temporary (``.<name>.<random><suffix>.tmp``)
behind: :func:`temporaries` finds them and :func:`remove_temporaries` removes those known
to be orphaned — by a free lock (:func:`exclusive_lock`, the cache's per-key locks) or by
age.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

try:  # POSIX advisory locks; absent on Windows
    import fcntl
except ImportError:  # pragma: no cover - not on our platforms
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` on success.

    The temporary file is removed if the block raises. Use this when a library (h5py,
    nbconvert, numpy) wants to open the file itself.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix + ".tmp", dir=dest.parent)
    os.close(fd)
    # mkstemp makes 0600 files; give the result the permissions a plain open() would
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO]:
    """Open a temporary file for writing and atomically move it onto ``path`` on success."""
    if "w" not in mode:
        raise ValueError(f"atomic_write: mode must be a write mode, got {mode!r}")
    with atomic_path(path) as tmp:
        kwargs = {} if "b" in mode else {"encoding": encoding}
        with open(tmp, mode, **kwargs) as fh:
            yield fh


# --- leftover temporaries and run locks ---------------------------------------------------


@dataclass(frozen=True)
class Temporary:
    """A temporary file of :func:`atomic_path` found in a folder.

    Attributes:
        path: the temporary file.
        target: the name of the file it would have replaced (``lumi-<key>.h5``, …).
        size: bytes.
        age: seconds since it was last written.
    """

    path: Path
    target: str
    size: int
    age: float


def temporaries(
    folder: str | os.PathLike[str], target: str | None = None, suffix: str = ""
) -> list[Temporary]:
    """The temporaries of :func:`atomic_path` in ``folder`` (of ``target`` only, if given):
    files named ``.<target>.<random><suffix>.tmp``, as ``atomic_path(…, suffix)`` makes them.

    A temporary outlives its writer only when the writer was killed (SIGKILL, power loss):
    :func:`atomic_path` removes it on every exception.
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    pattern = re.compile(rf"^\.(?P<target>.+)\.[A-Za-z0-9_]+{re.escape(suffix)}\.tmp$")
    now = time.time()
    out = []
    for p in sorted(root.iterdir()):
        m = pattern.match(p.name)
        if m is None or (target is not None and m.group("target") != target):
            continue
        try:
            st = p.stat()
        except FileNotFoundError:  # its writer finished meanwhile
            continue
        out.append(Temporary(p, m.group("target"), st.st_size, max(0.0, now - st.st_mtime)))
    return out


def remove_temporaries(found: list[Temporary], older_than: float = 0.0) -> list[Temporary]:
    """Remove those of ``found`` not written for ``older_than`` seconds; return them.

    Only for temporaries known to be orphaned (their writer's lock is free or held by the
    caller) or old enough that no live writer can own them.
    """
    removed = []
    for t in found:
        if t.age < older_than:
            continue
        try:
            t.path.unlink()
        except FileNotFoundError:
            continue
        log.info("removed a leftover temporary %s (%.1f MiB)", t.path, t.size / 2**20)
        removed.append(t)
    return removed


class LockHeldError(BlockingIOError):
    """Another process holds a lock file (:func:`exclusive_lock`); an ``OSError``, so the
    ``sidislab`` command reports it in one line."""


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike[str], what: str) -> Iterator[Path]:
    """Hold an exclusive advisory lock (``flock``) on ``path`` for the block, or raise
    :class:`LockHeldError` naming ``what`` and the lock file at once if another process holds
    it. The lock goes with the process: a killed holder frees it."""
    lock = Path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                raise LockHeldError(
                    f"{what}: another process holds {lock} (wait for it to finish)"
                ) from None
        yield lock
    finally:
        os.close(fd)  # releases the lock
