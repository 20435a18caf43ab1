"""A notebook's key figures: recorded to JSON, compared with baselines.

Each teaching notebook records the numbers it establishes (the old grid's error at
qT = 0.1 GeV, the default grid's worst error, J0's worst error per method, …) with a
:class:`MetricsRecorder`. A metric carries its tolerance and the reason for it, decided
where the number is computed (the notebook), so that a baseline file made from a run
states for every figure how far it may move and why.

Files (all written atomically, :func:`sidislab.io.atomic_write`):

* metrics file (``<notebook>.metrics.json`` beside the executed notebook)::

      {"format": "sidislab-metrics", "format_version": 1, "notebook": "01_…",
       "metrics": {"name": {"value": …, "rel_tol": …, "abs_tol": …, "why": "…",
                            "unit": "…", "description": "…", "key": true}, …}}

* baseline file (``data/baselines/<notebook>.json``): the same metric entries plus the
  ``parameters`` the baseline run used (regression runs use exactly these) and
  provenance (``created``, ``sidislab_version``, ``torch_version``).

Non-finite values (a float32 power series overflows) are stored as the strings
``"inf"``, ``"-inf"`` and ``"nan"``, so the files stay strict JSON.

A value v agrees with its baseline b when |v − b| ≤ max(abs_tol, rel_tol·|b|) (either
tolerance may be absent, i.e. 0); equal non-finite values agree.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sidislab._version import __version__
from sidislab.io import atomic_write

log = logging.getLogger(__name__)

__all__ = [
    "BASELINE_FORMAT",
    "METRICS_FORMAT",
    "Baseline",
    "Check",
    "Metric",
    "MetricsRecorder",
    "checks_ok",
    "compare",
    "format_checks",
    "load_baseline",
    "load_metrics",
    "write_baseline",
]

METRICS_FORMAT = "sidislab-metrics"
BASELINE_FORMAT = "sidislab-baseline"
FORMAT_VERSION = 1

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")


# --- values ---------------------------------------------------------------------------


def encode_value(value: float) -> float | str:
    """A float as strict JSON: non-finite values become ``"inf"``, ``"-inf"``, ``"nan"``."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def decode_value(value: Any, where: str = "value") -> float:
    """Inverse of :func:`encode_value`; raises ``ValueError`` naming ``where``."""
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _number(value: Any, name: str) -> float:
    """A real number from a Python/numpy/torch scalar (bools rejected)."""
    if isinstance(value, bool):
        raise ValueError(f"metric {name!r}: a bool is not a metric; record 1.0 or 0.0")
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", 0) == 0:
        value = item()
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"metric {name!r}: value {value!r} is not a real number") from None
    return out


@dataclass(frozen=True)
class Metric:
    """One recorded figure with its tolerance.

    Attributes:
        name: identifier (letters, digits, ``_ . -``), unique within a notebook.
        value: the number (may be ±inf or nan: reported, never dropped).
        rel_tol, abs_tol: allowed deviation from a baseline, |v − b| ≤ max(abs_tol,
            rel_tol·|b|); at least one must be given.
        why: the reason for the tolerance (what limits the reproducibility).
        unit: unit of ``value`` ("" for pure numbers).
        description: what the number is, in words.
        key: shown in the report's summary table.
    """

    name: str
    value: float
    rel_tol: float = 0.0
    abs_tol: float = 0.0
    why: str = ""
    unit: str = ""
    description: str = ""
    key: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise ValueError(
                f"metric name {self.name!r}: use letters, digits, '_', '.', '-' "
                "(starting with a letter)"
            )
        object.__setattr__(self, "value", _number(self.value, self.name))
        for tol in ("rel_tol", "abs_tol"):
            t = getattr(self, tol)
            if isinstance(t, bool) or not isinstance(t, (int, float)) or not t >= 0:
                raise ValueError(f"metric {self.name!r}: {tol} must be a number >= 0, got {t!r}")
            object.__setattr__(self, tol, float(t))

    def accepts(self, value: float) -> bool:
        """Whether ``value`` agrees with this (baseline) metric under its tolerances.

        |value − self.value| ≤ max(abs_tol, rel_tol·|self.value|); equal non-finite
        values agree.
        """
        b = self.value
        if not (math.isfinite(value) and math.isfinite(b)):
            return (math.isnan(value) and math.isnan(b)) or value == b
        return abs(value - b) <= max(self.abs_tol, self.rel_tol * abs(b))

    def tolerance_text(self) -> str:
        parts = []
        if self.rel_tol:
            parts.append(f"rel {self.rel_tol:.0e}")
        if self.abs_tol:
            parts.append(f"abs {self.abs_tol:.0e}")
        return " or ".join(parts) or "exact"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("name")
        d["value"] = encode_value(self.value)
        return d

    @classmethod
    def from_json(cls, name: str, entry: Mapping[str, Any], where: str) -> Metric:
        if not isinstance(entry, Mapping) or "value" not in entry:
            raise ValueError(f"{where}: metric {name!r} must be a mapping with a 'value'")
        unknown = set(entry) - {f for f in cls.__dataclass_fields__ if f != "name"}
        if unknown:
            raise ValueError(f"{where}: metric {name!r}: unknown keys {sorted(unknown)}")
        kwargs = dict(entry)
        kwargs["value"] = decode_value(entry["value"], f"{where}: metrics.{name}.value")
        return cls(name=name, **kwargs)


def format_value(value: float, unit: str = "") -> str:
    """A compact rendering: 4 significant digits, the unit appended."""
    if not math.isfinite(value):
        text = str(value)
    elif value == int(value) and abs(value) < 1e6:
        text = str(int(value))
    else:
        text = f"{value:.4g}"
    return f"{text} {unit}".rstrip()


# --- recording --------------------------------------------------------------------------


class MetricsRecorder:
    """Collects a notebook's metrics and writes them to ``path`` after every record.

    Writing after each :meth:`record` (atomically) leaves the figures established so far
    on disk when a later cell fails. With ``path`` empty or None nothing is written
    (interactive use). In a notebook, the recorder displays as a table.

    Args:
        path: the metrics JSON file (the notebook's ``metrics_path`` parameter).
        notebook: the notebook's name (stem), stored in the file.
    """

    def __init__(self, path: str | os.PathLike[str] | None, notebook: str = "") -> None:
        self.path = Path(path) if path else None
        self.notebook = notebook
        self.metrics: dict[str, Metric] = {}
        if self.path is not None:
            self.save()

    def record(
        self,
        name: str,
        value: Any,
        *,
        rel_tol: float = 0.0,
        abs_tol: float = 0.0,
        why: str,
        unit: str = "",
        description: str = "",
        key: bool = False,
    ) -> None:
        """Record a metric (see :class:`Metric`); it is written to the file at once.

        Raises ``ValueError`` if the name is taken, no tolerance or no reason is given.
        """
        if name in self.metrics:
            raise ValueError(f"metric {name!r} recorded twice in {self.notebook or 'notebook'}")
        if not (rel_tol or abs_tol):
            raise ValueError(f"metric {name!r}: give rel_tol and/or abs_tol (> 0)")
        if not why.strip():
            raise ValueError(f"metric {name!r}: say why the tolerance is what it is (why=...)")
        metric = Metric(name, value, rel_tol, abs_tol, why.strip(), unit, description, key)
        self.metrics[name] = metric
        log.info("metric %s = %r %s", name, metric.value, unit)
        if self.path is not None:
            self.save()

    def save(self) -> None:
        """Write the metrics file (atomically)."""
        if self.path is None:
            return
        doc = {
            "format": METRICS_FORMAT,
            "format_version": FORMAT_VERSION,
            "notebook": self.notebook,
            "metrics": {n: m.to_json() for n, m in self.metrics.items()},
        }
        with atomic_write(self.path) as fh:
            json.dump(doc, fh, indent=2, allow_nan=False)
            fh.write("\n")

    def table(self) -> str:
        """The metrics as a Markdown table."""
        lines = ["| metric | value | tolerance | what |", "|---|---|---|---|"]
        for m in self.metrics.values():
            lines.append(
                f"| `{m.name}` | {format_value(m.value, m.unit)} | {m.tolerance_text()} "
                f"| {m.description} |"
            )
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.table()


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: {what} not found") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: malformed JSON ({what}): {exc}") from exc
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: {what} must be a JSON object")
    return doc


def _parse_metrics(doc: Mapping[str, Any], where: str) -> dict[str, Metric]:
    entries = doc.get("metrics", {})
    if not isinstance(entries, Mapping):
        raise ValueError(f"{where}: 'metrics' must be a mapping of name → entry")
    return {name: Metric.from_json(name, e, where) for name, e in entries.items()}


def load_metrics(path: str | os.PathLike[str]) -> dict[str, Metric]:
    """Read a metrics file written by :class:`MetricsRecorder`."""
    p = Path(path)
    doc = _read_json(p, "metrics file")
    if doc.get("format") != METRICS_FORMAT:
        raise ValueError(f"{p}: not a sidislab metrics file (format = {doc.get('format')!r})")
    return _parse_metrics(doc, str(p))


# --- baselines --------------------------------------------------------------------------


@dataclass
class Baseline:
    """The agreed figures of one notebook and the parameters they were made with."""

    notebook: str
    parameters: dict[str, Any]
    metrics: dict[str, Metric]
    provenance: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def load_baseline(path: str | os.PathLike[str]) -> Baseline:
    """Read ``data/baselines/<notebook>.json``.

    A baseline may hold only ``parameters`` (no ``metrics`` yet): the regression
    parameters of a new notebook, to be filled by ``sidislab report --update-baselines``.
    """
    p = Path(path)
    doc = _read_json(p, "baseline")
    if doc.get("format", BASELINE_FORMAT) != BASELINE_FORMAT:
        raise ValueError(f"{p}: not a sidislab baseline (format = {doc.get('format')!r})")
    params = doc.get("parameters", {})
    if not isinstance(params, Mapping):
        raise ValueError(f"{p}: 'parameters' must be a mapping of name → value")
    return Baseline(
        notebook=str(doc.get("notebook", p.stem)),
        parameters=dict(params),
        metrics=_parse_metrics(doc, str(p)),
        provenance=dict(doc.get("provenance", {})),
        path=p,
    )


def _dumps(doc: Any, indent: int = 0) -> str:
    """Indented JSON with lists of scalars kept on one line (readable diffs)."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(doc, Mapping) and doc:
        items = [f"{inner}{json.dumps(str(k))}: {_dumps(v, indent + 2)}" for k, v in doc.items()]
        body = "{\n" + ",\n".join(items) + f"\n{pad}}}"
    elif isinstance(doc, (list, tuple)) and any(isinstance(v, (Mapping, list, tuple)) for v in doc):
        body = "[\n" + ",\n".join(f"{inner}{_dumps(v, indent + 2)}" for v in doc) + f"\n{pad}]"
    else:
        body = json.dumps(doc, allow_nan=False, ensure_ascii=False)
    return body + ("\n" if indent == 0 else "")


def write_baseline(
    path: str | os.PathLike[str],
    notebook: str,
    parameters: Mapping[str, Any],
    metrics: Mapping[str, Metric],
    provenance: Mapping[str, Any] | None = None,
) -> Baseline:
    """Write a baseline file atomically (metrics sorted by name, for readable diffs)."""
    prov = {
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "sidislab_version": __version__,
        **(provenance or {}),
    }
    doc = {
        "format": BASELINE_FORMAT,
        "format_version": FORMAT_VERSION,
        "notebook": notebook,
        "refresh": "sidislab report --update-baselines (make baselines); review the diff",
        "parameters": dict(sorted(parameters.items())),
        "provenance": prov,
        "metrics": {n: metrics[n].to_json() for n in sorted(metrics)},
    }
    with atomic_write(path) as fh:
        fh.write(_dumps(doc))
    return Baseline(notebook, dict(parameters), dict(metrics), prov, Path(path))


@dataclass(frozen=True)
class Check:
    """The comparison of one metric with its baseline.

    ``status``: ``ok``, ``outside`` (beyond tolerance), ``missing`` (in the baseline, not
    recorded by the run) or ``new`` (recorded, not in the baseline).
    """

    name: str
    status: str
    value: float | None
    baseline: float | None
    tolerance: str
    why: str
    unit: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def deviation(self) -> tuple[float, float] | None:
        """(|v − b|, |v − b|/|b|), or None when either side is absent."""
        if self.value is None or self.baseline is None:
            return None
        d = abs(self.value - self.baseline) if self.value != self.baseline else 0.0
        rel = d / abs(self.baseline) if self.baseline else math.inf if d else 0.0
        return d, rel


def compare(metrics: Mapping[str, Metric], baseline: Baseline) -> list[Check]:
    """Each metric of the run and of the baseline, checked with the baseline's tolerance."""
    out: list[Check] = []
    for name, ref in baseline.metrics.items():
        got = metrics.get(name)
        if got is None:
            out.append(Check(name, "missing", None, ref.value, ref.tolerance_text(), ref.why))
            continue
        status = "ok" if ref.accepts(got.value) else "outside"
        out.append(
            Check(name, status, got.value, ref.value, ref.tolerance_text(), ref.why, ref.unit)
        )
    for name, got in metrics.items():
        if name not in baseline.metrics:
            out.append(Check(name, "new", got.value, None, got.tolerance_text(), got.why, got.unit))
    return out


def checks_ok(checks: Iterable[Check]) -> bool:
    """True when every check passed."""
    return all(c.ok for c in checks)


def format_checks(checks: Iterable[Check], only_failures: bool = False) -> str:
    """A fixed-width table: metric, value, baseline, |Δ|, relative Δ, tolerance, status."""
    rows = [c for c in checks if not (only_failures and c.ok)]
    header = ("metric", "value", "baseline", "|Δ|", "|Δ|/|b|", "tolerance", "status")
    cells = []
    for c in rows:
        dev = c.deviation
        cells.append(
            (
                c.name,
                "—" if c.value is None else f"{c.value:.6g}",
                "—" if c.baseline is None else f"{c.baseline:.6g}",
                "—" if dev is None else f"{dev[0]:.2e}",
                "—" if dev is None else f"{dev[1]:.2e}",
                c.tolerance,
                c.status.upper() if not c.ok else "ok",
            )
        )
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    bad = [c for c in rows if not c.ok]
    for c in bad:
        hint = {
            "outside": f"tolerance reason: {c.why}",
            "missing": "the notebook no longer records it",
            "new": "not in the baseline",
        }[c.status]
        lines.append(f"  {c.name}: {hint}")
    if bad:
        lines.append(
            "If the change is intended: sidislab report --update-baselines (make baselines), "
            "then review and commit the baseline diff."
        )
    return "\n".join(lines)
