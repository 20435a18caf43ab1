"""Finding LHAPDF sets on disk (``physics.md`` §4).

A set ``NAME`` is a folder ``NAME/`` holding ``NAME.info``. Search order, first match wins:

1. the explicit ``paths``/``extra_paths`` given by the caller, in order;
2. the folders of the ``LHAPDF_DATA_PATH`` environment variable (colon-separated), in
   order, as LHAPDF itself reads it;
3. the search paths of the ``lhapdf`` Python module (``lhapdf.paths()``), when it imports;
4. the sets shipped with the package (``sidislab/resources/lhapdf``; a checkout links
   ``data/lhapdf`` there), so they are found from an installed wheel too.

Folders that do not exist are skipped; the same folder is searched once.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import sidislab.resources as resources
from sidislab.errors import SetNotFoundError

logger = logging.getLogger(__name__)

__all__ = ["PROJECT_DATA", "find_set", "list_sets", "search_paths"]

PROJECT_DATA: Path = resources.folder("lhapdf")
"""The embedded sets shipped with the package (``sidislab/resources/lhapdf``, linked from
the checkout's ``data/lhapdf``; ``make data`` regenerates them)."""


@functools.lru_cache(maxsize=1)
def _lhapdf_module_paths() -> tuple[str, ...]:
    """``lhapdf.paths()`` if the ``lhapdf`` module imports, else ``()`` (looked up once)."""
    try:
        import lhapdf  # type: ignore[import-not-found]
    except ImportError:
        return ()
    try:
        return tuple(str(p) for p in lhapdf.paths())
    except Exception as exc:  # the module imported but misbehaves: say so, continue
        logger.warning("lhapdf.paths() failed (%s); ignoring the lhapdf module's paths", exc)
        return ()


def search_paths(extra_paths: Iterable[str | os.PathLike[str]] | None = None) -> list[Path]:
    """The existing folders searched for sets, in order (see the module docstring)."""
    candidates: list[Path] = [Path(p) for p in (extra_paths or [])]
    env = os.environ.get("LHAPDF_DATA_PATH", "")
    candidates += [Path(p) for p in env.split(os.pathsep) if p.strip()]
    candidates += [Path(p) for p in _lhapdf_module_paths()]
    candidates.append(PROJECT_DATA)
    out: list[Path] = []
    seen: set[Path] = set()
    for c in candidates:
        c = c.expanduser()
        try:
            key = c.resolve()
        except OSError:  # pragma: no cover - unresolvable path
            continue
        if key in seen or not c.is_dir():
            continue
        seen.add(key)
        out.append(c)
    return out


def _is_set(folder: Path, name: str) -> bool:
    return (folder / f"{name}.info").is_file()


def find_set(name: str, paths: Iterable[str | os.PathLike[str]] | None = None) -> Path:
    """The folder of set ``name`` (first match along :func:`search_paths`).

    ``name`` may also be a path to a set folder (``.../NAME``). Raises
    :class:`~sidislab.errors.SetNotFoundError` naming the folders searched (and close
    names, if any) when the set is not found.
    """
    if not isinstance(name, str) or not name.strip():
        raise SetNotFoundError(f"set name must be a non-empty string, got {name!r}")
    as_path = Path(name).expanduser()
    if os.sep in name or (os.altsep and os.altsep in name):
        if _is_set(as_path, as_path.name):
            return as_path
        raise SetNotFoundError(
            f"{as_path}: not an LHAPDF set folder (no {as_path.name}.info in it)"
        )
    if name in (".", ".."):
        raise SetNotFoundError(f"invalid set name {name!r}")
    searched = search_paths(paths)
    for folder in searched:
        if _is_set(folder / name, name):
            return folder / name
    known = sorted({n for n, _ in list_sets(paths)})
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    where = ", ".join(str(p) for p in searched) or "(no existing search folder)"
    raise SetNotFoundError(
        f"LHAPDF set {name!r} not found (no {name}/{name}.info) in: {where}{hint}. "
        "Add its parent folder to LHAPDF_DATA_PATH or pass paths=[...]"
    )


def list_sets(
    extra_paths: Iterable[str | os.PathLike[str]] | None = None,
) -> list[tuple[str, Path]]:
    """Every set found, as ``(name, set folder)``, folder by folder in search order.

    A name found in several folders is listed each time; :func:`find_set` uses the first.
    """
    out: list[tuple[str, Path]] = []
    for folder in search_paths(extra_paths):
        try:
            entries = sorted(folder.iterdir())
        except OSError as exc:
            logger.warning("cannot list %s: %s", folder, exc)
            continue
        for entry in entries:
            if entry.is_dir() and _is_set(entry, entry.name):
                out.append((entry.name, entry))
    return out
