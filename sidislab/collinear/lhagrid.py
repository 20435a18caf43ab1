"""Reading and writing LHAPDF ``lhagrid1`` sets (``.info`` metadata and member ``.dat`` grids).

Format (LHAPDF 6, Buckley et al., arXiv:1412.7420, §3; ``../shared/physics.md`` §4): a set
is a folder ``NAME/`` holding ``NAME.info`` (YAML metadata) and one ``NAME_nnnn.dat`` per
member. A ``.dat`` file starts with a YAML header (``PdfType``, ``Format``) closed by a
``---`` line, followed by one or more *blocks* (subgrids), each made of

1. a line of x knots (strictly increasing),
2. a line of Q knots in GeV (strictly increasing),
3. a line of PDG flavour ids (``21`` or ``0`` for the gluon),
4. ``n_x · n_Q`` rows, x major and Q minor, each holding x·f for every flavour,

and closed by a ``---`` line. Blocks usually span the Q ranges between quark thresholds and
share their edge knots. Lines starting with ``#`` are comments (as in LHAPDF's
``GridPDF::_loadData``).

The reader validates everything it reads and raises :class:`~sidislab.errors.GridFileError`
with the file name and line number of the first problem. The writer produces files that
LHAPDF reads, atomically (:func:`sidislab.io.atomic_write`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sidislab.errors import GridFileError
from sidislab.io import atomic_write
from sidislab.yamlio import parse_yaml, read_text

logger = logging.getLogger(__name__)

__all__ = [
    "RANGE_TOLERANCE",
    "DatFile",
    "GridBlock",
    "InfoFile",
    "check_against_info",
    "format_info",
    "normalise_pid",
    "read_dat",
    "read_info",
    "write_dat",
    "write_info",
]


def normalise_pid(pid: int) -> int:
    """PDG id with the LHAPDF gluon alias ``0`` mapped to ``21``."""
    return 21 if int(pid) == 0 else int(pid)


def _key_line(text: str, key: str) -> int | None:
    """1-based line number where ``key:`` is defined in a YAML text, if found."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*:")
    for i, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return i
    return None


@dataclass(frozen=True)
class InfoFile:
    """A parsed ``.info`` file: its path, its mapping and its text (for line look-ups)."""

    path: Path
    data: dict[str, Any]
    text: str

    def where(self, key: str) -> str:
        """``"PATH, line N"`` for the line defining ``key`` (``"PATH"`` if not found)."""
        line = _key_line(self.text, key)
        return f"{self.path}, line {line}" if line else f"{self.path}"

    def number(self, key: str, default: float | None = None) -> float | None:
        """Entry ``key`` as a float (``default`` if absent); errors name the file and line."""
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            raise GridFileError(
                f"{self.where(key)}: info key {key!r} must be a number, got {value!r}"
            )
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise GridFileError(
                f"{self.where(key)}: info key {key!r} must be a number, got {value!r}"
            ) from None
        if not np.isfinite(out):
            raise GridFileError(f"{self.where(key)}: info key {key!r} is not finite ({value!r})")
        return out

    def integer(self, key: str, default: int | None = None) -> int | None:
        """Entry ``key`` as an int (``default`` if absent); errors name the file and line."""
        value = self.number(key, None)
        if value is None:
            return default
        if value != int(value):
            raise GridFileError(f"{self.where(key)}: info key {key!r} must be an integer")
        return int(value)

    def number_list(self, key: str) -> np.ndarray | None:
        """Entry ``key`` as a float64 array (None if absent); errors name the file and line."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise GridFileError(
                f"{self.where(key)}: info key {key!r} must be a list, got {value!r}"
            )
        try:
            arr = np.array([float(v) for v in value], dtype=np.float64)
        except (TypeError, ValueError):
            raise GridFileError(
                f"{self.where(key)}: info key {key!r} must be a list of numbers"
            ) from None
        if not np.all(np.isfinite(arr)):
            raise GridFileError(f"{self.where(key)}: info key {key!r} holds a non-finite number")
        return arr


def read_info(path: str | Path) -> InfoFile:
    """Read an LHAPDF ``.info`` file.

    Raises :class:`GridFileError` naming the file (and the line, for YAML syntax errors)
    if the file is missing, unreadable, not YAML, or not a mapping.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GridFileError(f"{path}: info file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GridFileError(f"{path}: cannot read info file ({exc})") from exc
    data = parse_yaml(text, str(path), error=GridFileError)
    if not isinstance(data, dict):
        raise GridFileError(f"{path}, line 1: info file is not a YAML mapping of keys to values")
    return InfoFile(path=path, data=data, text=text)


@dataclass(frozen=True)
class GridBlock:
    """One ``.dat`` subgrid: knots, flavours and values ``xf[ix, iq, iflavour]``.

    ``line`` is the 1-based line of the block's x-knot line in its file.
    """

    xs: np.ndarray
    qs: np.ndarray
    pids: tuple[int, ...]
    xf: np.ndarray
    line: int = 0


@dataclass(frozen=True)
class DatFile:
    """A parsed member ``.dat`` file: its header mapping and its blocks."""

    path: Path
    header: dict[str, Any]
    blocks: list[GridBlock] = field(default_factory=list)


def _parse_floats(tokens: Sequence[str], path: Path, lineno: int, what: str) -> np.ndarray:
    try:
        arr = np.array([float(t) for t in tokens], dtype=np.float64)
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        raise GridFileError(f"{path}, line {lineno}: {what}: {bad!r} is not a number") from None
    if not np.all(np.isfinite(arr)):
        raise GridFileError(f"{path}, line {lineno}: {what}: non-finite value (NaN or inf)")
    return arr


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _check_knots(arr: np.ndarray, path: Path, lineno: int, what: str) -> None:
    if arr.size == 0:
        raise GridFileError(f"{path}, line {lineno}: empty {what} line")
    if np.any(arr <= 0):
        raise GridFileError(f"{path}, line {lineno}: {what} must be positive")
    if arr.size > 1 and np.any(np.diff(arr) <= 0):
        raise GridFileError(f"{path}, line {lineno}: {what} must be strictly increasing")


def read_dat(path: str | Path, expected_nflav: int | None = None) -> DatFile:
    """Parse one member ``.dat`` file of format ``lhagrid1``.

    Checks, each failure raising :class:`GridFileError` with the file and line: header and
    block separators present and the file terminated by ``---`` (truncation), knots
    positive and strictly increasing, flavour ids integers and equal in every block (and
    ``expected_nflav`` of them, the length of the ``.info`` ``Flavors``), every data row
    holding one finite number per flavour, ``n_x · n_Q`` rows per block, the same x knots
    in every block (as LHAPDF ≥ 6.4 requires), and blocks ordered in Q.
    """
    path = Path(path)
    text = read_text(path, what="member data file", error=GridFileError)
    lines = text.splitlines()

    # --- header (block 0): YAML up to the first '---' ----------------------------------------
    header_lines: list[str] = []
    i = 0
    while i < len(lines) and lines[i].strip() != "---":
        header_lines.append(lines[i])
        i += 1
    if i == len(lines):
        raise GridFileError(
            f"{path}, line {len(lines)}: no '---' line closing the header: not an lhagrid1 file"
        )
    header = parse_yaml("\n".join(header_lines), str(path), error=GridFileError) or {}
    if not isinstance(header, dict):
        raise GridFileError(f"{path}, line 1: header is not a YAML mapping")
    fmt = header.get("Format", "lhagrid1")
    if fmt != "lhagrid1":
        raise GridFileError(f"{path}: Format {fmt!r} is not supported (only 'lhagrid1')")
    i += 1  # past the header separator

    blocks: list[GridBlock] = []
    pids_ref: tuple[int, ...] | None = None
    xs_ref: np.ndarray | None = None
    last_sep_line = i  # 1-based line number of the last '---' seen
    n = len(lines)

    def next_content(j: int) -> int:
        while j < n and (not lines[j].strip() or lines[j].lstrip().startswith("#")):
            j += 1
        return j

    while True:
        i = next_content(i)
        if i >= n:
            break
        # x knots
        x_line = i + 1
        if lines[i].strip() == "---":
            raise GridFileError(
                f"{path}, line {x_line}: empty block (a '---' line right after '---')"
            )
        xs = _parse_floats(lines[i].split(), path, x_line, "x knots")
        _check_knots(xs, path, x_line, "x knots")
        if np.any(xs > 1.0):
            raise GridFileError(f"{path}, line {x_line}: x knots must not exceed 1")
        i = next_content(i + 1)
        if i >= n or lines[i].strip() == "---":
            raise GridFileError(
                f"{path}, line {min(i + 1, n)}: block starting on line {x_line} ends before its "
                "Q-knot line (truncated file?)"
            )
        q_line = i + 1
        qs = _parse_floats(lines[i].split(), path, q_line, "Q knots")
        _check_knots(qs, path, q_line, "Q knots")
        i = next_content(i + 1)
        if i >= n or lines[i].strip() == "---":
            raise GridFileError(
                f"{path}, line {min(i + 1, n)}: block starting on line {x_line} ends before its "
                "flavour line (truncated file?)"
            )
        f_line = i + 1
        try:
            pids = tuple(normalise_pid(int(t)) for t in lines[i].split())
        except ValueError:
            raise GridFileError(
                f"{path}, line {f_line}: flavour ids must be integers, got {lines[i].strip()!r}"
            ) from None
        if not pids:
            raise GridFileError(f"{path}, line {f_line}: empty flavour line")
        if len(set(pids)) != len(pids):
            raise GridFileError(f"{path}, line {f_line}: repeated flavour id in {pids}")
        if pids_ref is None:
            pids_ref = pids
            if expected_nflav is not None and len(pids) != expected_nflav:
                raise GridFileError(
                    f"{path}, line {f_line}: {len(pids)} flavours declared but {expected_nflav} "
                    "expected from the .info Flavors"
                )
        elif pids != pids_ref:
            raise GridFileError(
                f"{path}, line {f_line}: flavour ids {pids} differ from those of the first block "
                f"{pids_ref}"
            )
        if xs_ref is None:
            xs_ref = xs
        elif xs.shape != xs_ref.shape or np.any(xs != xs_ref):
            raise GridFileError(
                f"{path}, line {x_line}: x knots differ from those of the first block "
                "(LHAPDF requires the same x knots in every block)"
            )
        if blocks and qs[0] < blocks[-1].qs[-1]:
            raise GridFileError(
                f"{path}, line {q_line}: block starts at Q = {qs[0]:g} below the end of the "
                f"previous block (Q = {blocks[-1].qs[-1]:g}): blocks must be ordered in Q"
            )
        nf = len(pids)
        nrows = xs.size * qs.size
        # data rows up to the closing '---'
        tokens: list[str] = []
        row = 0
        i += 1
        while True:
            if i >= n:
                raise GridFileError(
                    f"{path}, line {n}: file ends inside the block starting on line {x_line} "
                    f"after {row} of {nrows} data rows, without a closing '---' (truncated file?)"
                )
            s = lines[i].strip()
            if not s or s.startswith("#"):
                i += 1
                continue
            if s == "---":
                break
            parts = s.split()
            if len(parts) != nf:
                raise GridFileError(
                    f"{path}, line {i + 1}: {len(parts)} values in a data row but {nf} flavours "
                    f"declared on line {f_line}"
                )
            row += 1
            if row > nrows:
                raise GridFileError(
                    f"{path}, line {i + 1}: more data rows than the {xs.size} x {qs.size} = "
                    f"{nrows} knots of the block starting on line {x_line}"
                )
            tokens.extend(parts)
            i += 1
        if row != nrows:
            raise GridFileError(
                f"{path}, line {i + 1}: block starting on line {x_line} has {row} data rows but "
                f"{xs.size} x {qs.size} = {nrows} expected"
            )
        last_sep_line = i + 1
        try:
            vals = np.array(tokens, dtype=np.float64)
        except ValueError:
            vals = None
        if vals is None or not np.all(np.isfinite(vals)):
            # locate the first bad entry for the message
            for k, tok in enumerate(tokens):
                bad = not _is_float(tok) or not np.isfinite(float(tok))
                if bad:
                    bad_row, bad_col = divmod(k, nf)
                    bad_line = _data_line_number(lines, f_line, bad_row)
                    raise GridFileError(
                        f"{path}, line {bad_line}: value {tok!r} for flavour {pids[bad_col]} is "
                        "not a finite number"
                    )
        assert vals is not None
        xf = vals.reshape(xs.size, qs.size, nf)
        blocks.append(GridBlock(xs=xs, qs=qs, pids=pids, xf=xf, line=x_line))
        i += 1

    if not blocks:
        raise GridFileError(f"{path}, line {last_sep_line}: no data block after the header")
    return DatFile(path=path, header=header, blocks=blocks)


RANGE_TOLERANCE = 1e-2
"""Relative tolerance of the ``.info`` ranges against the grid's knots: producers round
``QMin``/``QMax``/``XMin``/``XMax`` in the ``.info`` (JAM20 writes ``QMax: 3.16e+02`` for a
last knot of 316.228 GeV), so 1 % passes them while a grid cut at a subgrid boundary (the
next knot is a quark threshold, a factor ≥ 1.5 away) fails."""


def check_against_info(dat: DatFile, info: InfoFile, tolerance: float = RANGE_TOLERANCE) -> None:
    """Check a member grid against its set's ``.info``, as LHAPDF's metadata promise it.

    * the Q range of the knots (first knot of the first block, last knot of the last block)
      equals ``QMin``/``QMax`` and the x range equals ``XMin``/``XMax``, to ``tolerance``
      relative (a ``.dat`` cut after a complete block is a valid file on its own: only the
      ``.info`` range shows that Q above the cut is missing, where the grid would freeze);
    * the flavours of the blocks are those of ``Flavors`` (in any order), and
      ``NumFlavors`` does not exceed the number of quark flavours present.

    Keys absent from the ``.info`` are not checked. Raises :class:`GridFileError` naming
    the ``.dat`` file and line, the ``.info`` key and line, and both values.
    """
    first, last = dat.blocks[0], dat.blocks[-1]
    for key, grid_value, line, what in (
        ("QMin", float(first.qs[0]), first.line + 1, "first Q knot"),
        ("QMax", float(last.qs[-1]), last.line + 1, "last Q knot"),
        ("XMin", float(first.xs[0]), first.line, "first x knot"),
        ("XMax", float(first.xs[-1]), first.line, "last x knot"),
    ):
        declared = info.number(key)
        if declared is None:
            continue
        if abs(grid_value - declared) > tolerance * abs(declared):
            hint = (
                f" (the grid stops {len(dat.blocks)} block(s) in: file cut short?)"
                if key == "QMax" and grid_value < declared
                else ""
            )
            raise GridFileError(
                f"{dat.path}, line {line}: {what} = {grid_value:g} but "
                f"{info.where(key)} declares {key} = {declared:g}{hint}; the grid must span "
                f"the .info range (to {tolerance:.0%})"
            )
    flavors = info.data.get("Flavors")
    if isinstance(flavors, list) and all(isinstance(p, int) for p in flavors):
        declared_pids = {normalise_pid(p) for p in flavors}
        if declared_pids != set(first.pids):
            raise GridFileError(
                f"{dat.path}, line {first.line + 2}: flavours {first.pids} differ from "
                f"{info.where('Flavors')} Flavors {sorted(declared_pids)}"
            )
    nf = info.integer("NumFlavors")
    quarks = sum(1 for p in first.pids if 0 < p <= 6)
    if nf is not None and not 0 <= nf <= 6:
        raise GridFileError(f"{info.where('NumFlavors')}: NumFlavors = {nf} not in 0..6")
    if nf is not None and quarks and nf > quarks:
        raise GridFileError(
            f"{info.where('NumFlavors')}: NumFlavors = {nf} but {dat.path} holds only "
            f"{quarks} quark flavours {first.pids}"
        )


def _data_line_number(lines: list[str], flavour_line: int, row: int) -> int:
    """1-based line number of data row ``row`` (0-based) after the flavour line."""
    count = -1
    for j in range(flavour_line, len(lines)):
        s = lines[j].strip()
        if not s or s.startswith("#"):
            continue
        count += 1
        if count == row:
            return j + 1
    return len(lines)  # pragma: no cover


# --- writing ------------------------------------------------------------------------------


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.8g}" if abs(float(value)) >= 1e-4 or value == 0 else f"{value:.6e}"
    if isinstance(value, str):
        return yaml.safe_dump(value, default_style='"', width=10**6).strip()
    raise TypeError(f"cannot format {value!r} for an info file")


def format_info(info: Mapping[str, Any]) -> str:
    """The text of an LHAPDF ``.info`` file: one ``Key: value`` line per entry, lists inline."""
    out = []
    for key, value in info.items():
        if key.startswith("_"):
            continue
        if isinstance(value, (list, tuple, np.ndarray)):
            items = [_yaml_scalar(v) for v in value]
            out.append(f"{key}: [{', '.join(items)}]")
        else:
            out.append(f"{key}: {_yaml_scalar(value)}")
    return "\n".join(out) + "\n"


def write_info(path: str | Path, info: Mapping[str, Any]) -> Path:
    """Write an ``.info`` file atomically; returns its path."""
    path = Path(path)
    with atomic_write(path) as fh:
        fh.write(format_info(info))
    return path


def write_dat(
    path: str | Path,
    blocks: Sequence[GridBlock],
    header: Mapping[str, Any] | None = None,
    digits: int = 8,
) -> Path:
    """Write a member ``.dat`` file (``lhagrid1``) atomically; returns its path.

    ``digits`` digits after the point are written for x·f values (the knots get at least 8;
    16 round-trips float64 exactly). Values are written x major, Q minor, as LHAPDF reads them.
    """
    path = Path(path)
    hdr = {"PdfType": "central", "Format": "lhagrid1"}
    if header:
        hdr.update(header)
    fmt_v = f"%.{digits}e"
    kd = max(digits, 8)
    with atomic_write(path) as fh:
        for key, value in hdr.items():
            fh.write(f"{key}: {value}\n")
        fh.write("---\n")
        for b in blocks:
            fh.write(" ".join(f"{v:.{kd}e}" for v in b.xs) + "\n")
            fh.write(" ".join(f"{v:.{kd}e}" for v in b.qs) + "\n")
            fh.write(" ".join(str(int(p)) for p in b.pids) + "\n")
            rows = np.asarray(b.xf, dtype=np.float64).reshape(b.xs.size * b.qs.size, len(b.pids))
            # '-0.00000000e+00' → '0.00000000e+00' for stable files
            rows = np.where(rows == 0.0, 0.0, rows)
            np.savetxt(fh, rows, fmt=fmt_v, delimiter=" ")
            fh.write("---\n")
    return path
