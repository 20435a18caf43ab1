r"""Where measured data files are and which of them a selection means.

A data set's name is its file's stem (``HERMES_Pro_Pip_x_0.2_0.35_z_0.3_0.375``); a
selection is a list of shell-glob patterns on names (``HERMES_Pro_Pi*``). Data folders come
from ``--data DIR`` (explicit), else ``$SIDISLAB_DATA_PATH`` (folders separated by
``os.pathsep``); files are found recursively (``*.yaml``). Where a name is in two folders
the first folder wins, as on a search path.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from sidislab.errors import DataError
from sidislab.measurements.dataset import DataSet
from sidislab.measurements.nangaparbat import read_file

__all__ = ["DATA_ENV", "data_dirs", "find_datasets", "load_datasets"]

log = logging.getLogger(__name__)

DATA_ENV = "SIDISLAB_DATA_PATH"


def data_dirs(explicit: str | Path | Sequence[str | Path] | None = None) -> list[Path]:
    """The data folders: ``explicit`` (``--data``) if given, else ``$SIDISLAB_DATA_PATH``.

    Raises :class:`DataError` when neither is set or a folder does not exist.
    """
    if explicit is not None:
        items = [explicit] if isinstance(explicit, str | Path) else list(explicit)
        origin = "--data"
    else:
        env = os.environ.get(DATA_ENV, "")
        items = [p for p in env.split(os.pathsep) if p]
        origin = f"${DATA_ENV}"
        if not items:
            raise DataError(
                f"no data folder: pass --data DIR or set {DATA_ENV} (e.g. ../shared/data/sidis)"
            )
    dirs = [Path(p).expanduser() for p in items]
    for d in dirs:
        if not d.is_dir():
            raise DataError(f"{origin}: {d} is not a folder")
    return dirs


def find_datasets(patterns: Iterable[str], dirs: Sequence[str | Path]) -> dict[str, Path]:
    """Name → file for the data sets matching any pattern, sorted by name.

    Raises :class:`DataError` when a pattern matches nothing (naming it and the folders).
    """
    patterns = list(patterns)
    if not patterns:
        raise DataError("no data-set pattern given (e.g. 'HERMES_Pro_Pi*')")
    available: dict[str, Path] = {}
    for d in dirs:
        for path in sorted(Path(d).rglob("*.yaml")):
            available.setdefault(path.stem, path)
    chosen: dict[str, Path] = {}
    for pat in patterns:
        hits = [n for n in available if fnmatch.fnmatchcase(n, pat)]
        if not hits:
            raise DataError(
                f"data-set pattern {pat!r} matches no file in {', '.join(map(str, dirs))} "
                f"({len(available)} data sets there)"
            )
        for n in hits:
            chosen[n] = available[n]
    return dict(sorted(chosen.items()))


def load_datasets(
    patterns: Iterable[str],
    data: str | Path | Sequence[str | Path] | None = None,
    *,
    dtype: torch.dtype = torch.float64,
) -> DataSet:
    """The data sets matching ``patterns`` in the data folders (:func:`data_dirs`),
    concatenated in name order into one :class:`DataSet` (files without points skipped)."""
    files = find_datasets(patterns, data_dirs(data))
    log.info("reading %d data files", len(files))
    return DataSet.from_files([read_file(p, dtype=dtype) for p in files.values()])
