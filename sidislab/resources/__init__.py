"""Data shipped with the package, looked up by name: fNP configurations, kinematics files
and the embedded LHAPDF-format sets.

The files live inside the package (``sidislab/resources/<kind>/``) so that an installed
wheel has them; a checkout also keeps ``data/fnp``, ``data/kinematics`` and ``data/lhapdf``
as links to these folders. Names are file stems (``map22_flavour_blind``, ``sidis_mix``)
or set folder names (``sidislab_toy_proton_nlo``); ``sidislab fnp list`` and ``sidislab
sets`` show what is there.

:func:`resolve` turns what a user typed into a file: an existing path as given; else a
shipped file by name (with or without ``.yaml``); else a path written for a checkout
(``data/fnp/map22_flavour_blind.yaml``) mapped to the shipped file of that name, so commands
copied from the README work from any folder.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from sidislab.errors import DataError, SidislabError

__all__ = ["KINDS", "ROOT", "folder", "names", "path_of", "resolve"]

ROOT: Path = Path(__file__).resolve().parent
"""The folder of the shipped data (``sidislab/resources``)."""

KINDS: dict[str, str] = {
    "fnp": "fNP configuration",
    "kinematics": "kinematics file",
    "lhapdf": "LHAPDF-format set",
}
"""Kinds of shipped data and what one item is called in messages."""


def folder(kind: str) -> Path:
    """The folder of one kind of shipped data."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of data {kind!r} (allowed: {', '.join(KINDS)})")
    return ROOT / kind


def names(kind: str) -> list[str]:
    """The names shipped for ``kind``, sorted: YAML stems, or set folder names (lhapdf)."""
    base = folder(kind)
    if not base.is_dir():
        return []
    if kind == "lhapdf":
        return sorted(p.name for p in base.iterdir() if (p / f"{p.name}.info").is_file())
    return sorted(p.stem for p in base.glob("*.yaml"))


def path_of(kind: str, name: str) -> Path | None:
    """The shipped file (or set folder) called ``name``; None if there is none."""
    stem = name[: -len(".yaml")] if name.endswith(".yaml") else name
    if stem not in names(kind):
        return None
    return folder(kind) / (stem if kind == "lhapdf" else f"{stem}.yaml")


def resolve(
    kind: str, given: str | os.PathLike[str], *, error: type[SidislabError] = DataError
) -> Path:
    """The file a user means by ``given`` (see the module docstring).

    Raises ``error`` naming what was given, the places tried and the shipped names (with
    the closest ones first) when nothing matches.
    """
    path = Path(given).expanduser()
    if path.exists():
        return path
    parts = Path(str(given)).parts
    if parts and (len(parts) == 1 or kind in parts[:-1]):  # NAME, or data/<kind>/NAME
        found = path_of(kind, parts[-1])
        if found is not None:
            return found
    available = names(kind)
    close = difflib.get_close_matches(path.stem, available, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise error(
        f"{given}: {KINDS[kind]} not found (no such file, and no shipped {kind} of that "
        f"name; shipped: {', '.join(available) or 'none'}){hint}"
    )
