r"""Reader of one NangaParbat/HEPData-like YAML data file (a SIDIS multiplicity table).

Follows NangaParbat's own reader, ``DataHandler::DataHandler`` in
``MapCollaboration/NangaParbat`` ``src/data/datahandler.cc`` (commit 340fd2f):

- ``dependent_variables[0].qualifiers``: ``process`` (must be SIDIS), ``observable``,
  ``target_isoscalarity``, ``hadron``, ``charge``, ``prefactor``, ``Vs`` and the bins of
  ``Q``, ``x``, ``z`` (``low``, ``high``, ``integrate``), ``PS_reduction`` (``W``, ``ymin``,
  ``ymax``).
- ``dependent_variables[0].values[i]``: the measured ``value`` and its ``errors``:
  ``unc`` are absolute and uncorrelated, added in quadrature; ``mult`` (multiplicative)
  and ``add`` (additive) are fully correlated *fractions*: NangaParbat's covariance is
  C_ij = δ_ij σ_i² + Σ_k f_ik f_jk m_i m_j with m the measured values (the t₀ values
  for ``mult`` under the t₀ prescription). The k-th ``mult`` of every point of a file is
  one source (one nuisance parameter); files are uncorrelated with each other.
- ``independent_variables``: the first holds the PhT bins (``low``, ``high``, ``value``;
  optional ``factor``, :attr:`MeasuredBins.PhT_factor`); the ones named ``x``, ``z`` and
  ``Q2`` hold per-point averages (``value``) and bin limits.

Per point the bin limits of x, Q, z are the qualifier's ``low``/``high`` (the integration
range), falling back to the independent variable's limits; the centre values are the
averages ⟨x⟩, ⟨z⟩, √⟨Q²⟩ of the independent variables (what NangaParbat's cuts use,
``Binning::xav`` etc.), falling back to the middle of the bin.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from sidislab.errors import DataError
from sidislab.measurements.bins import MeasuredBins

__all__ = ["ERROR_LABELS", "DataFile", "read_file"]

ERROR_LABELS = ("unc", "mult", "add")
"""The uncertainty labels NangaParbat knows; others are rejected (NangaParbat ignores
them silently, which would drop an uncertainty without a word)."""

log = logging.getLogger(__name__)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class DataFile:
    """The content of one file: its bins, values [N], uncorrelated uncertainty σ [N]
    (quadrature sum of ``unc``), correlated fractions ``corr`` [N, K] (``add`` columns
    first, then ``mult``, NangaParbat's order) and which columns are multiplicative."""

    name: str
    path: Path
    bins: MeasuredBins
    values: torch.Tensor
    uncorrelated: torch.Tensor
    corr: torch.Tensor
    multiplicative: torch.Tensor


def _num(value: Any, where: str) -> float:
    if isinstance(value, str):  # YAML 1.1 reads "1e-05" (no dot) as a string; yaml-cpp
        try:  # as NangaParbat uses it converts it: do the same
            value = float(value)
        except ValueError:
            raise DataError(f"{where}: expected a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{where}: expected a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise DataError(f"{where}: expected a finite number, got {value!r}")
    return out


def _get(node: Any, key: str, where: str) -> Any:
    if not isinstance(node, Mapping):
        raise DataError(f"{where}: expected a mapping, got {type(node).__name__}")
    if key not in node:
        raise DataError(f"{where}.{key}: missing")
    return node[key]


def _qualifiers(dv: Mapping, where: str) -> dict[str, Mapping]:
    quals = _get(dv, "qualifiers", where)
    if not isinstance(quals, list):
        raise DataError(f"{where}.qualifiers: expected a list")
    out: dict[str, Mapping] = {}
    for j, q in enumerate(quals):
        name = _get(q, "name", f"{where}.qualifiers[{j}]")
        out[str(name)] = q
    return out


def _qualifier_value(quals: dict, name: str, where: str, default: Any = None) -> Any:
    if name not in quals:
        if default is None:
            raise DataError(f"{where}.qualifiers: '{name}' is missing")
        return default
    return _get(quals[name], "value", f"{where}.qualifiers[{name}]")


def _independent(doc: Mapping, where: str) -> tuple[list, dict[str, list]]:
    ivs = _get(doc, "independent_variables", where)
    if not isinstance(ivs, list) or not ivs:
        raise DataError(f"{where}.independent_variables: expected a non-empty list")
    named: dict[str, list] = {}
    for j, iv in enumerate(ivs):
        w = f"{where}.independent_variables[{j}]"
        name = str(_get(_get(iv, "header", w), "name", f"{w}.header"))
        values = _get(iv, "values", w)
        if not isinstance(values, list):
            raise DataError(f"{w}.values: expected a list")
        named[name] = values
    return ivs[0]["values"], named


def read_file(path: str | Path, *, dtype: torch.dtype = torch.float64) -> DataFile:
    """Read one data file; the data set's name is the file's stem.

    Raises :class:`DataError` naming the file, the field and the point for anything
    malformed (missing keys, non-numbers, mismatched lengths, non-positive uncertainties
    sums, an unknown uncertainty label, a process other than SIDIS).
    """
    path = Path(path)
    name = path.stem
    try:
        doc = yaml.load(path.read_text(), Loader=_Loader)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({exc})") from exc
    where = str(path)
    dvs = _get(doc, "dependent_variables", where)
    if not isinstance(dvs, list) or len(dvs) != 1:
        raise DataError(f"{where}.dependent_variables: expected a list with one entry")
    dv = dvs[0]
    w_dv = f"{where}.dependent_variables[0]"
    quals = _qualifiers(dv, w_dv)

    process = _qualifier_value(quals, "process", w_dv)
    if process != "SIDIS":
        raise DataError(f"{w_dv}.qualifiers[process]: {process!r}, only SIDIS is read here")
    observable = str(_qualifier_value(quals, "observable", w_dv))
    hadron = str(_qualifier_value(quals, "hadron", w_dv))
    charge = _num(_qualifier_value(quals, "charge", w_dv), f"{w_dv}.qualifiers[charge]")
    iso = _num(
        _qualifier_value(quals, "target_isoscalarity", w_dv, 1),
        f"{w_dv}.qualifiers[target_isoscalarity]",
    )
    prefactor = _num(_qualifier_value(quals, "prefactor", w_dv, 1), f"{w_dv}.qualifiers[prefactor]")
    Vs = _num(_qualifier_value(quals, "Vs", w_dv), f"{w_dv}.qualifiers[Vs]")
    if Vs <= 0:
        raise DataError(f"{w_dv}.qualifiers[Vs]: must be > 0, got {Vs}")

    # --- values and uncertainties ------------------------------------------------------
    values = _get(dv, "values", w_dv)
    if not isinstance(values, list):
        raise DataError(f"{w_dv}.values: expected a list of points")
    n = len(values)
    if n == 0:  # NangaParbat's HERMES_Deu_Km_x_0.35_0.6_z_0.8_1.1 is such a table
        log.info("%s: no measured points", path)
    means, uncor, add_rows, mult_rows = [], [], [], []
    for i, vl in enumerate(values):
        w = f"{w_dv}.values[{i}]"
        means.append(_num(_get(vl, "value", w), f"{w}.value"))
        errors = _get(vl, "errors", w)
        if not isinstance(errors, list):
            raise DataError(f"{w}.errors: expected a list")
        u2, a, m = 0.0, [], []
        for j, err in enumerate(errors):
            we = f"{w}.errors[{j}]"
            label = _get(err, "label", we)
            v = _num(_get(err, "value", we), f"{we}.value")
            if label == "unc":
                u2 += v * v
            elif label == "add":
                a.append(v)
            elif label == "mult":
                m.append(v)
            else:
                raise DataError(
                    f"{we}.label: unknown uncertainty label {label!r} "
                    f"(allowed: {', '.join(ERROR_LABELS)})"
                )
        if u2 <= 0:
            raise DataError(
                f"{w}.errors: the uncorrelated ('unc') uncertainties add up to 0; the "
                "covariance would be singular"
            )
        uncor.append(math.sqrt(u2))
        add_rows.append(a)
        mult_rows.append(m)
    for rows, label in ((add_rows, "add"), (mult_rows, "mult")):
        k = len(rows[0]) if rows else 0
        for i, r in enumerate(rows):
            if len(r) != k:
                raise DataError(
                    f"{w_dv}.values[{i}].errors: {len(r)} '{label}' uncertainties, point 0 "
                    f"has {k} (each '{label}' entry is one correlated source)"
                )

    # --- PhT bins (the first independent variable) --------------------------------------
    pht_values, named = _independent(doc, where)
    if len(pht_values) != n:
        raise DataError(
            f"{where}.independent_variables[0].values: {len(pht_values)} PhT bins, "
            f"{n} measured values"
        )
    pht_lo, pht_hi, pht, factor = [], [], [], []
    for i, vl in enumerate(pht_values):
        w = f"{where}.independent_variables[0].values[{i}]"
        lo = _num(_get(vl, "low", w), f"{w}.low")
        hi = _num(_get(vl, "high", w), f"{w}.high")
        if not 0 <= lo < hi:
            raise DataError(f"{w}: PhT bin must have 0 ≤ low < high, got [{lo}, {hi}]")
        val = _num(vl["value"], f"{w}.value") if "value" in vl else 0.5 * (lo + hi)
        pht_lo.append(lo)
        pht_hi.append(hi)
        pht.append(val)
        factor.append(_num(vl["factor"], f"{w}.factor") if "factor" in vl else 1.0)

    # --- x, Q, z: qualifier limits, per-point averages ----------------------------------
    def variable(qname: str, iname: str, sqrt: bool) -> tuple[list, list, list, bool]:
        col = named.get(iname)
        if col is not None and len(col) != n:
            raise DataError(
                f"{where}.independent_variables[{iname}]: {len(col)} values, {n} points"
            )
        f = math.sqrt if sqrt else (lambda v: v)
        q = quals.get(qname)
        integrate = False
        if q is not None:
            wq = f"{w_dv}.qualifiers[{qname}]"
            qlo = _num(_get(q, "low", wq), f"{wq}.low")
            qhi = _num(_get(q, "high", wq), f"{wq}.high")
            integrate = bool(q.get("integrate", False))
        lo, hi, av = [], [], []
        for i in range(n):
            wi = f"{where}.independent_variables[{iname}].values[{i}]"
            row = col[i] if col is not None else {}
            if not isinstance(row, Mapping):
                raise DataError(f"{wi}: expected a mapping")
            if q is not None:
                lo_i, hi_i = qlo, qhi
            elif "low" in row and "high" in row:
                lo_i = f(_num(row["low"], f"{wi}.low"))
                hi_i = f(_num(row["high"], f"{wi}.high"))
            else:
                raise DataError(
                    f"{w_dv}.qualifiers: '{qname}' is missing and "
                    f"independent_variables[{iname}] has no bin limits"
                )
            if "value" in row:
                v = _num(row["value"], f"{wi}.value")
                if v <= 0:
                    raise DataError(f"{wi}.value: must be > 0, got {v}")
                av_i = f(v)
            else:
                av_i = 0.5 * (lo_i + hi_i)
            lo.append(lo_i)
            hi.append(hi_i)
            av.append(av_i)
        return lo, hi, av, integrate

    x_lo, x_hi, x, int_x = variable("x", "x", False)
    Q_lo, Q_hi, Q, int_Q = variable("Q", "Q2", True)
    z_lo, z_hi, z, int_z = variable("z", "z", False)

    ps = quals.get("PS_reduction")
    if ps is not None:
        wp = f"{w_dv}.qualifiers[PS_reduction]"
        W_min = _num(_get(ps, "W", wp), f"{wp}.W")
        y_min = _num(_get(ps, "ymin", wp), f"{wp}.ymin")
        y_max = _num(_get(ps, "ymax", wp), f"{wp}.ymax")
    else:
        W_min, y_min, y_max = 0.0, 0.0, 1.0

    def t(vals: list | float) -> torch.Tensor:
        if not isinstance(vals, list):
            vals = [vals] * n
        return torch.tensor(vals, dtype=dtype)

    def flag(v: bool) -> torch.Tensor:
        return torch.full((n,), bool(v), dtype=torch.bool)

    try:
        bins = MeasuredBins(
            dataset=[name] * n,
            observable=[observable] * n,
            hadron=[hadron] * n,
            charge=t(charge),
            target_isoscalarity=t(iso),
            prefactor=t(prefactor),
            Vs=t(Vs),
            x_lo=t(x_lo),
            x_hi=t(x_hi),
            x=t(x),
            Q_lo=t(Q_lo),
            Q_hi=t(Q_hi),
            Q=t(Q),
            z_lo=t(z_lo),
            z_hi=t(z_hi),
            z=t(z),
            PhT_lo=t(pht_lo),
            PhT_hi=t(pht_hi),
            PhT=t(pht),
            W_min=t(W_min),
            y_min=t(y_min),
            y_max=t(y_max),
            integrate_x=flag(int_x),
            integrate_Q=flag(int_Q),
            integrate_z=flag(int_z),
            PhT_factor=t(factor),
        )
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from exc

    ka = len(add_rows[0]) if n else 0
    km = len(mult_rows[0]) if n else 0
    corr = torch.tensor([a + m for a, m in zip(add_rows, mult_rows)], dtype=dtype).reshape(
        n, ka + km
    )
    multiplicative = torch.tensor([False] * ka + [True] * km, dtype=torch.bool)
    return DataFile(name, path, bins, t(means), t(uncor), corr, multiplicative)
