"""Headless execution of the teaching notebooks, HTML reports and baseline checks.

``sidislab report`` executes every notebook of ``notebooks/`` with papermill and writes,
per notebook, into the output folder (default ``reports/``):

* ``<name>.ipynb`` — the executed notebook (parameters injected, outputs kept),
* ``<name>.html`` — the same as a static page (nbconvert, ``lab`` template),
* ``<name>.metrics.json`` — the figures the notebook recorded (:mod:`sidislab.workbench.metrics`),

and ``index.html`` + ``summary.json``: one row per notebook with status, run time, key
metrics and the check of the metrics against ``data/baselines/<name>.json``. Every file
is written atomically (:mod:`sidislab.io`). A failing notebook makes the command exit
with status 1 and print the failing cell (index, source excerpt, traceback); so does a
metric outside its baseline tolerance.

Parameters. A notebook's defaults are its cell tagged ``parameters``; ``-p NAME VALUE``
overrides them (VALUE is read as a Python literal, else kept as a string). The defaults
are the small, fast regression parameters; the baseline stores them, and a run is
checked against the baseline only when its parameters equal the baseline's (parameters
named ``*_path``, ``*_paths`` or ``*_dir`` are locations and are not compared). The
runner sets ``metrics_path`` itself.

Kernel. Notebooks run in a ``python3`` kernel started with the Python that runs this
module (the project's ``.venv``): :func:`kernel_environment` puts a kernelspec naming
``sys.executable`` first on ``JUPYTER_PATH`` for the duration of the run, so that no other
``python3`` kernelspec on the machine can be picked up. The working directory of a
notebook is its own folder, as in JupyterLab.

Refreshing baselines on purpose: ``sidislab report --update-baselines`` (``make
baselines``) runs the notebooks with their defaults and rewrites each baseline from the
recorded metrics (values, tolerances, reasons), printing what changed. Review the diff
before committing it.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import datetime as _dt
import html
import json
import logging
import os
import platform
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sidislab._version import __version__
from sidislab.io import (
    atomic_path,
    atomic_write,
    exclusive_lock,
    remove_temporaries,
    temporaries,
)
from sidislab.workbench.metrics import (
    Baseline,
    Check,
    Metric,
    checks_ok,
    compare,
    format_checks,
    format_value,
    load_baseline,
    load_metrics,
    write_baseline,
)

log = logging.getLogger(__name__)

__all__ = [
    "CellFailure",
    "NotebookRun",
    "check_baseline",
    "comparable_parameters",
    "find_notebooks",
    "kernel_environment",
    "notebook_parameters",
    "parse_overrides",
    "run_notebook",
    "run_report",
    "update_baseline",
    "write_index",
]

KERNEL_NAME = "python3"
"""The kernel the notebooks declare and run in."""
METRICS_PARAMETER = "metrics_path"
"""The parameter through which the runner tells a notebook where to write its metrics."""
LOCATION_SUFFIXES = ("_path", "_paths", "_dir")
"""Parameters with these suffixes name places, not physics: not compared with baselines."""
REPO_ROOT = Path(__file__).resolve().parents[2]

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PAPERMILL_TAGS = ("injected-parameters", "papermill-error-cell-tag")
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


# --- kernel -----------------------------------------------------------------------------


@contextlib.contextmanager
def kernel_environment(python: str | None = None) -> Iterator[Path]:
    """A ``python3`` kernelspec running ``python`` (default: this interpreter), first on
    ``JUPYTER_PATH`` while the block runs; yields the folder holding ``kernels/``.

    ``JUPYTER_PATH`` is searched before the user's and the system's data folders, so the
    notebooks cannot be executed by another Python; the previous value is restored.
    """
    exe = python or sys.executable
    with tempfile.TemporaryDirectory(prefix="sidislab-kernel-") as tmp:
        spec_dir = Path(tmp) / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        spec = {
            "argv": [exe, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (sidislab)",
            "language": "python",
            "metadata": {"debugger": True},
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
        old = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (tmp, old) if p)
        try:
            yield Path(tmp)
        finally:
            if old is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = old


# --- notebooks and parameters ------------------------------------------------------------


def find_notebooks(folder: str | os.PathLike[str], selection: Sequence[str] = ()) -> list[Path]:
    """The notebooks to run: every ``*.ipynb`` of ``folder`` (sorted), or the selection.

    A selection entry is a path to a notebook, a file name, a stem (``01_bgrid_convergence``)
    or a unique prefix of one (``01``). Raises ``ValueError`` naming an entry that matches
    nothing or more than one notebook.
    """
    root = Path(folder)
    available = sorted(
        p for p in root.glob("*.ipynb") if not p.name.startswith(".") and p.is_file()
    )
    if not selection:
        if not available:
            raise ValueError(f"{root}: no notebooks (*.ipynb) found")
        return available
    chosen: list[Path] = []
    for entry in selection:
        path = Path(entry)
        if path.suffix == ".ipynb" and path.is_file():
            chosen.append(path.resolve())
            continue
        stem = path.name.removesuffix(".ipynb")
        matches = [p for p in available if p.stem == stem] or [
            p for p in available if p.stem.startswith(stem)
        ]
        if len(matches) != 1:
            names = ", ".join(p.stem for p in available) or "none"
            what = "matches no notebook" if not matches else "is ambiguous"
            raise ValueError(f"--notebooks {entry!r} {what} in {root} (available: {names})")
        chosen.append(matches[0].resolve())
    return list(dict.fromkeys(chosen))


def parse_value(text: str) -> Any:
    """A command-line parameter value: a Python literal (``50``, ``1e-3``, ``[1, 2]``,
    ``None``, ``'x'``) or, failing that, the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_overrides(pairs: Sequence[Sequence[str]] | None) -> dict[str, Any]:
    """``-p NAME VALUE`` pairs → {name: value} (values by :func:`parse_value`)."""
    out: dict[str, Any] = {}
    for name, value in pairs or ():
        if not name.isidentifier():
            raise ValueError(f"-p {name!r}: a parameter name must be a Python identifier")
        out[name] = parse_value(value)
    return out


def notebook_parameters(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Defaults of the notebook's cell tagged ``parameters`` (literals evaluated).

    Raises ``ValueError`` when the notebook has no such cell.
    """
    from papermill.inspection import _infer_parameters
    from papermill.iorw import load_notebook_node

    nb = load_notebook_node(os.fspath(path))  # also gives every cell a ``tags`` list
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        raise ValueError(f"{path}: no cell tagged 'parameters' (papermill needs one)")
    out: dict[str, Any] = {}
    for p in _infer_parameters(nb):
        out[p.name] = parse_value(p.default)
    return out


def comparable_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that decide a run's numbers (locations and ``metrics_path`` dropped)."""
    return {
        k: v
        for k, v in parameters.items()
        if k != METRICS_PARAMETER and not k.endswith(LOCATION_SUFFIXES)
    }


def parameter_differences(run: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[str]:
    """``name: run value ≠ baseline value`` for every comparable parameter that differs."""
    a, b = comparable_parameters(run), comparable_parameters(baseline)
    out = []
    for k in sorted(set(a) | set(b)):
        if k not in b:
            out.append(f"{k} = {a[k]!r} (not in the baseline)")
        elif k not in a:
            out.append(f"{k} (baseline {b[k]!r}) is no longer a parameter")
        elif a[k] != b[k]:
            out.append(f"{k} = {a[k]!r} (baseline {b[k]!r})")
    return out


# --- one notebook -----------------------------------------------------------------------


@dataclass
class CellFailure:
    """Where and how a notebook failed.

    ``cell_index`` counts the cells of the source notebook (papermill's injected cells
    excluded); None when the kernel failed outside a cell (start-up, death, timeout).
    """

    ename: str
    evalue: str
    traceback: list[str] = field(default_factory=list)
    cell_index: int | None = None
    execution_count: int | None = None
    source: str = ""

    def format(self, notebook: str = "", max_source_lines: int = 20, max_tb_lines: int = 40) -> str:
        """A readable account: cell, source excerpt, traceback (ANSI colours removed)."""
        where = (
            f"cell {self.cell_index} (In [{self.execution_count}])"
            if self.cell_index is not None
            else "outside any cell"
        )
        lines = [f"{notebook}: failed in {where}: {self.ename}: {self.evalue}".strip()]
        if self.source:
            src = self.source.splitlines()
            lines.append("--- cell source" + (" (excerpt)" if len(src) > max_source_lines else ""))
            lines += [f"{i + 1:4d}  {s}" for i, s in enumerate(src[:max_source_lines])]
            if len(src) > max_source_lines:
                lines.append(f"      … {len(src) - max_source_lines} more lines")
        tb = "\n".join(_ANSI_RE.sub("", t) for t in self.traceback).splitlines()
        if tb:
            lines.append("--- traceback" + (" (last lines)" if len(tb) > max_tb_lines else ""))
            lines += tb[-max_tb_lines:]
        return "\n".join(lines)


@dataclass
class NotebookRun:
    """The outcome of executing one notebook (picklable, for process pools)."""

    name: str
    source: Path
    executed: Path
    html: Path | None
    metrics_path: Path | None
    parameters: dict[str, Any]
    overrides: dict[str, Any]
    seconds: float
    failure: CellFailure | None = None
    metrics: dict[str, Metric] = field(default_factory=dict)
    checks: list[Check] | None = None
    check_note: str = ""
    skipped: str = ""  # why the notebook was not run (inputs it requires are absent)

    @property
    def ok(self) -> bool:
        """Not failed: a notebook that ran cleanly, or one skipped for absent inputs."""
        return self.failure is None

    @property
    def status(self) -> str:
        if self.skipped:
            return "skipped"
        return "ok" if self.ok else "failed"

    @property
    def baseline_ok(self) -> bool | None:
        """True/False after a check; None when not checked."""
        return None if self.checks is None else checks_ok(self.checks)

    def baseline_summary(self) -> str:
        if self.checks is None:
            return f"not checked: {self.check_note}" if self.check_note else "not checked"
        bad = [c for c in self.checks if not c.ok]
        n = len(self.checks)
        return f"{n}/{n} within tolerance" if not bad else f"{len(bad)} of {n} outside"


def _source_cell_index(nb: Any, execution_count: int | None, fallback: int | None) -> int | None:
    """Index of the failing cell among the source notebook's cells."""
    k = 0
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if any(t in tags for t in _PAPERMILL_TAGS):
            continue
        if execution_count is not None and cell.get("execution_count") == execution_count:
            return k
        k += 1
    return fallback


def _failure_from(exc: BaseException, executed: Path) -> CellFailure:
    import nbformat
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        failure = CellFailure(
            ename=str(exc.ename),
            evalue=str(exc.evalue),
            traceback=list(exc.traceback or []),
            cell_index=exc.cell_index,
            execution_count=exc.exec_count,
            source=str(exc.source or ""),
        )
        with contextlib.suppress(Exception):  # the index is a nicety; the error is reported
            nb = nbformat.read(os.fspath(executed), as_version=4)
            failure.cell_index = _source_cell_index(nb, exc.exec_count, exc.cell_index)
        return failure
    return CellFailure(ename=type(exc).__name__, evalue=str(exc))


# --- offline pages ----------------------------------------------------------------------

STATIC_DIR = "_static"
"""Folder beside the HTML pages holding the scripts they load (no CDN)."""
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe,local/sidislab"
"""MathJax 2.7 configuration of the pages: the one jupyter-server-mathjax ships, and ours
(:data:`MATHJAX_LOCAL_CONFIG`)."""
MATHJAX_LOCAL_CONFIG = """\
/* sidislab: jupyter-server-mathjax ships the STIX-Web fonts only (as the classic notebook
   configures them); without this, MathJax would look for its TeX fonts. */
MathJax.Hub.Config({
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null}
});
MathJax.Ajax.loadComplete("[MathJax]/config/local/sidislab.js");
"""
WEB_ASSETS_ENV = "SIDISLAB_WEB_ASSETS"
"""Folder holding ``requirejs/require.js`` and ``html-manager/dist/embed-amd.js`` (npm
packages ``requirejs`` and ``@jupyter-widgets/html-manager``); default
``<sys.prefix>/share/sidislab/web`` (``make venv`` puts them there)."""


def _web_assets() -> Path:
    return Path(os.environ.get(WEB_ASSETS_ENV) or Path(sys.prefix) / "share" / "sidislab" / "web")


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # same file system: no copy (the sources are never modified)
    except OSError:
        shutil.copy2(src, dst)


def _place_tree(src: Path, dest: Path) -> None:
    """Copy folder ``src`` to ``dest`` unless it is there: built beside it, then renamed
    into place, so a killed or concurrent run never leaves a half-copied folder."""
    if dest.exists():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        shutil.copytree(
            src,
            tmp / "t",
            copy_function=_link_or_copy,
            ignore=shutil.ignore_patterns("*.py", "*.map", "__pycache__", "tests"),
        )
        with contextlib.suppress(FileExistsError, OSError):  # another run placed it first
            os.rename(tmp / "t", dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def offline_assets(out_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Put the pages' scripts into ``<out_dir>/_static`` and return nbconvert's URL
    settings pointing at them (relative to ``out_dir``).

    * MathJax 2.7 from the ``jupyter-server-mathjax`` package (Apache-2.0), always;
    * require.js and the widget HTML manager (``embed-amd.js``) from the npm packages
      ``requirejs`` (MIT) and ``@jupyter-widgets/html-manager`` (BSD-3-Clause) found in
      :func:`_web_assets` — when absent, a warning, and the pages load those two from
      the CDN (maths still renders offline).
    """
    try:
        import jupyter_server_mathjax
    except ImportError as exc:
        raise ImportError(
            "sidislab report needs jupyter-server-mathjax (MathJax for offline pages): "
            "pip install 'sidislab[notebooks]'"
        ) from exc
    static = Path(out_dir) / STATIC_DIR
    _place_tree(Path(jupyter_server_mathjax.__file__).parent / "static", static / "mathjax")
    local = static / "mathjax" / "config" / "local" / "sidislab.js"
    if not local.is_file() or local.read_text(encoding="utf-8") != MATHJAX_LOCAL_CONFIG:
        with atomic_write(local) as fh:
            fh.write(MATHJAX_LOCAL_CONFIG)
    urls = {"mathjax_url": f"{STATIC_DIR}/mathjax/MathJax.js?config={MATHJAX_CONFIG}"}
    web = _web_assets()
    require = web / "requirejs" / "require.js"
    manager = web / "html-manager" / "dist"
    if require.is_file() and (manager / "embed-amd.js").is_file():
        _place_tree(require.parent, static / "requirejs")
        _place_tree(manager, static / "html-manager")
        urls["require_js_url"] = f"{STATIC_DIR}/requirejs/require.js"
        urls["widget_renderer_url"] = f"{STATIC_DIR}/html-manager/embed-amd.js"
    else:
        log.warning(
            "%s: no require.js / widget HTML manager (npm requirejs, @jupyter-widgets/"
            "html-manager; `make venv` installs them): the pages load those from the CDN",
            web,
        )
    return urls


def _html_copy(nb: Any) -> Any:
    """A copy for the static page: widget views replaced by a note, widget state dropped."""
    out = copy.deepcopy(nb)
    out.metadata.pop("widgets", None)
    note = (
        '<p style="color:#666"><em>Interactive controls: live in JupyterLab '
        "(<code>make lab</code>); the figure above is drawn at the default values.</em></p>"
    )
    for cell in out.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if _WIDGET_MIME in data:
                o["data"] = {"text/html": note, "text/plain": "[interactive controls]"}
    return out


def export_html(nb: Any, dest: Path) -> None:
    """Write ``nb`` as an HTML page (images inlined), atomically; the scripts it loads
    (MathJax, require.js, the widget manager) lie in ``_static/`` beside it
    (:func:`offline_assets`), so it renders without a network."""
    from nbconvert import HTMLExporter

    quiet = logging.getLogger(f"{__name__}.nbconvert")  # its "alt text missing" notes
    quiet.setLevel(logging.ERROR)
    urls = offline_assets(dest.parent)  # scripts beside the page, no CDN
    exporter = HTMLExporter(template_name="lab", log=quiet, **urls)
    body, _ = exporter.from_notebook_node(_html_copy(nb))
    with atomic_write(dest) as fh:
        fh.write(body)


REQUIRES_KEY = "requires"
"""Notebook metadata ``{"sidislab": {"requires": [parameter, ...]}}``: parameters whose
values are paths (relative to the notebook's folder) that must exist for the notebook to
run — data or sets outside the repository. Where one is absent the notebook is reported
as *skipped* with the reason, never as failed or passed."""


def missing_requirements(source: str | os.PathLike[str], parameters: Mapping[str, Any]) -> str:
    """Why ``source`` cannot run with ``parameters`` (its required paths that are absent),
    or "" when it can."""
    import nbformat

    src = Path(source).resolve()
    meta = nbformat.read(str(src), as_version=4).metadata.get("sidislab", {})
    missing = []
    for name in meta.get(REQUIRES_KEY, []):
        value = parameters.get(name)
        if value is None:
            raise ValueError(f"{src.name}: metadata requires parameter {name!r}, which it lacks")
        path = Path(str(value))
        path = path if path.is_absolute() else src.parent / path
        if not path.exists():
            missing.append(f"{name} = {value} ({path.resolve()}) is absent")
    return "; ".join(missing)


def run_notebook(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    overrides: Mapping[str, Any] | None = None,
    *,
    html_page: bool = True,
    cell_timeout: float | None = 900.0,
    start_timeout: float = 120.0,
) -> NotebookRun:
    """Execute one notebook with papermill into ``out_dir``; never raises for a failing cell.

    ``overrides`` are applied to the parameters the notebook has (others are ignored,
    logged); ``metrics_path`` is set to ``out_dir/<name>.metrics.json`` when the notebook
    has that parameter (a stale file is removed first). The executed notebook is written
    in place atomically, failed or not, and rendered to HTML. Run inside
    :func:`kernel_environment` to pin the kernel's interpreter (``run_report`` does).
    """
    import nbformat
    import papermill as pm

    src = Path(source).resolve()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    name = src.stem
    defaults = notebook_parameters(src)
    given = dict(overrides or {})
    applied = {k: v for k, v in given.items() if k in defaults}
    for k in sorted(set(given) - set(applied)):
        log.info("%s: no parameter %r; override ignored for this notebook", name, k)
    metrics_path = None
    if METRICS_PARAMETER in defaults:
        metrics_path = out / f"{name}.metrics.json"
        metrics_path.unlink(missing_ok=True)
        applied[METRICS_PARAMETER] = str(metrics_path)
    parameters = {**defaults, **applied}
    executed = out / f"{name}.ipynb"
    why = missing_requirements(src, parameters)
    if why:
        log.warning("%s: skipped: %s", name, why)
        return NotebookRun(name, src, executed, None, None, parameters, applied, 0.0, skipped=why)
    failure: CellFailure | None = None
    log.info("%s: executing with %s", name, applied or "its defaults")
    t0 = time.perf_counter()
    with atomic_path(executed, suffix=".ipynb") as tmp:
        try:
            with warnings.catch_warnings():
                # papermill warns that the temporary name does not end in .ipynb
                warnings.filterwarnings("ignore", "The specified file", UserWarning)
                pm.execute_notebook(
                    str(src),
                    str(tmp),
                    parameters=applied,
                    kernel_name=KERNEL_NAME,
                    cwd=str(src.parent),
                    progress_bar=False,
                    request_save_on_cell_execute=False,
                    execution_timeout=cell_timeout,
                    start_timeout=start_timeout,
                )
        except Exception as exc:  # a failed notebook is a result, reported in full below
            failure = _failure_from(exc, tmp)
            log.debug("%s failed", name, exc_info=True)
        if tmp.stat().st_size == 0:  # the kernel died before papermill wrote anything
            nbformat.write(nbformat.read(os.fspath(src), as_version=4), os.fspath(tmp))
    seconds = time.perf_counter() - t0
    page = None
    if html_page:
        page = out / f"{name}.html"
        export_html(nbformat.read(os.fspath(executed), as_version=4), page)
    metrics: dict[str, Metric] = {}
    if metrics_path is not None and metrics_path.exists():
        metrics = load_metrics(metrics_path)
    return NotebookRun(
        name=name,
        source=src,
        executed=executed,
        html=page,
        metrics_path=metrics_path,
        parameters=parameters,
        overrides=applied,
        seconds=seconds,
        failure=failure,
        metrics=metrics,
    )


# --- baselines --------------------------------------------------------------------------


def baseline_path(baseline_dir: str | os.PathLike[str], name: str) -> Path:
    """``<baseline_dir>/<name>.json``."""
    return Path(baseline_dir) / f"{name}.json"


def check_baseline(run: NotebookRun, baseline_dir: str | os.PathLike[str]) -> None:
    """Compare ``run.metrics`` with ``<baseline_dir>/<name>.json`` (fills ``run.checks``).

    Left unchecked (with ``run.check_note`` saying why) when the notebook failed, has no
    baseline, or ran with other parameters than the baseline's.
    """
    path = baseline_path(baseline_dir, run.name)
    if run.skipped:
        run.check_note = f"skipped: {run.skipped}"
        return
    if not run.ok:
        run.check_note = "the notebook failed"
        return
    if not path.exists():
        run.check_note = f"no baseline {path} (sidislab report --update-baselines)"
        return
    base = load_baseline(path)
    diffs = parameter_differences(run.parameters, base.parameters)
    if diffs:
        run.check_note = "parameters differ from the baseline's: " + "; ".join(diffs)
        return
    run.checks = compare(run.metrics, base)


def update_baseline(
    run: NotebookRun, baseline_dir: str | os.PathLike[str]
) -> tuple[Baseline, list[str]]:
    """Rewrite ``<baseline_dir>/<name>.json`` from a successful run; returns what changed.

    The file is left untouched when nothing changed (values, tolerances, reasons,
    parameters), so that a refresh produces no diff.
    """
    if run.skipped:
        raise ValueError(f"{run.name}: skipped ({run.skipped}); baseline not updated")
    if not run.ok:
        raise ValueError(f"{run.name}: not updating the baseline of a failed notebook")
    if not run.metrics:
        raise ValueError(f"{run.name}: the notebook recorded no metrics ({METRICS_PARAMETER})")
    path = baseline_path(baseline_dir, run.name)
    old = load_baseline(path) if path.exists() else None
    params = comparable_parameters(run.parameters)
    changes: list[str] = []
    if old is None:
        changes.append(f"new baseline with {len(run.metrics)} metrics")
    else:
        changes += [f"parameter {d}" for d in parameter_differences(params, old.parameters)]
        for n in sorted(set(old.metrics) | set(run.metrics)):
            a, b = old.metrics.get(n), run.metrics.get(n)
            if a is None:
                changes.append(f"+ {n} = {b.value!r}")  # type: ignore[union-attr]
            elif b is None:
                changes.append(f"- {n} (was {a.value!r})")
            else:
                if a.value != b.value:
                    verdict = "within" if a.accepts(b.value) else "OUTSIDE"
                    changes.append(f"~ {n}: {a.value!r} → {b.value!r} ({verdict} tolerance)")
                if (a.rel_tol, a.abs_tol, a.why) != (b.rel_tol, b.abs_tol, b.why):
                    changes.append(f"~ {n}: tolerance {a.tolerance_text()} → {b.tolerance_text()}")
                elif (a.unit, a.description, a.key) != (b.unit, b.description, b.key):
                    changes.append(f"~ {n}: unit, description or key flag")
    if old is not None and not changes:
        return old, changes  # nothing moved: keep the file (and its provenance) as it is
    import torch

    prov = {
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    base = write_baseline(path, run.name, params, run.metrics, prov)
    return base, changes


# --- the report -------------------------------------------------------------------------


def _rel(path: Path | None, start: Path) -> str:
    if path is None:
        return ""
    try:
        return os.path.relpath(path, start)
    except ValueError:
        return str(path)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.35em 0.7em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.time { white-space: nowrap; }
.ok { color: #176f2c; font-weight: bold; } .bad { color: #b00020; font-weight: bold; }
.muted { color: #777; } pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; }
ul { margin: 0; padding-left: 1.2em; }
"""


def write_index(
    runs: Sequence[NotebookRun],
    out_dir: str | os.PathLike[str],
    command: str = "",
    *,
    pending: Sequence[str] = (),
    finished: bool = True,
    started: str = "",
    note: str = "",
) -> Path:
    """Write ``index.html`` and ``summary.json`` for ``runs`` into ``out_dir`` (atomically).

    ``finished=False`` writes the page of a run in progress (``pending``: the notebooks not
    done yet; ``started``: when the run began; ``note``: why it stopped, if it did): it
    says RUNNING / NOT FINISHED in place of the verdict, reloads itself, and its
    ``summary.json`` has ``"state": "running"`` and ``"ok": false`` — an interrupted run
    can never pass for a finished one (:func:`run_report` writes it first).
    """
    import torch

    out = Path(out_dir).resolve()
    stamp = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    esc = html.escape
    rows = []
    for r in runs:
        links = [f'<a href="{esc(_rel(r.html, out))}">{esc(r.name)}</a>' if r.html else esc(r.name)]
        if not r.skipped:
            links.append(f'<a class="muted" href="{esc(_rel(r.executed, out))}">ipynb</a>')
        if r.metrics_path is not None and r.metrics_path.exists():
            links.append(f'<a class="muted" href="{esc(_rel(r.metrics_path, out))}">metrics</a>')
        if r.skipped:
            status = (
                f'<span class="muted">skipped</span><br><span class="muted">{esc(r.skipped)}</span>'
            )
        else:
            status = '<span class="ok">ok</span>' if r.ok else '<span class="bad">FAILED</span>'
        key = [m for m in r.metrics.values() if m.key] or list(r.metrics.values())[:4]
        metrics_html = (
            "<ul>"
            + "".join(
                f"<li><code>{esc(m.name)}</code> = {esc(format_value(m.value, m.unit))}"
                + (f' <span class="muted">— {esc(m.description)}</span>' if m.description else "")
                + "</li>"
                for m in key
            )
            + "</ul>"
        )
        if r.baseline_ok is None:
            check = f'<span class="muted">{esc(r.baseline_summary())}</span>'
        else:
            cls = "ok" if r.baseline_ok else "bad"
            check = f'<span class="{cls}">{esc(r.baseline_summary())}</span>'
            if not r.baseline_ok:
                check += f"<pre>{esc(format_checks(r.checks or [], only_failures=True))}</pre>"
        detail = ""
        if r.failure is not None:
            detail = f"<pre>{esc(r.failure.format(r.name))}</pre>"
        params = ", ".join(f"{k} = {v!r}" for k, v in comparable_parameters(r.parameters).items())
        rows.append(
            f"<tr><td>{' · '.join(links)}</td><td>{status}{detail}</td>"
            f'<td class="time">{r.seconds:.1f} s</td><td>{metrics_html}</td><td>{check}</td>'
            f'<td class="muted"><small>{esc(params)}</small></td></tr>'
        )
    for name in pending:
        rows.append(
            f'<tr><td>{esc(name)}</td><td><span class="bad">not run yet</span></td>'
            "<td></td><td></td><td></td><td></td></tr>"
        )
    all_ok = finished and all(r.ok and r.baseline_ok is not False for r in runs)
    verdict = '<span class="ok">all ok</span>' if all_ok else '<span class="bad">failures</span>'
    refresh = ""
    if not finished:
        refresh = '<meta http-equiv="refresh" content="20">'
        verdict = (
            f'<span class="bad" id="run-state">RUNNING — NOT FINISHED</span> (started {esc(started)}'
            f"; {len(runs)} of {len(runs) + len(pending)} notebook(s) done). "
            + (f"<b>{esc(note)}</b>. " if note else "")
            + "This page is replaced when the run ends; if no <code>sidislab report</code> is "
            "running, the run was interrupted and these results are incomplete.</p><p>"
        )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{refresh}<title>sidislab notebook report</title>
<style>{_CSS}</style></head><body>
<h1>sidislab notebook report</h1>
<p>{verdict} — {len(runs)} notebook(s), {stamp}; sidislab {esc(__version__)}, torch
{esc(torch.__version__)}, Python {esc(platform.python_version())}.
<span class="muted">{esc(command)}</span></p>
<table><tr><th>notebook</th><th>status</th><th>run time</th><th>key metrics</th>
<th>baseline check</th><th>parameters</th></tr>
{"".join(rows)}
</table>
<p class="muted">Baselines: <code>data/baselines/&lt;notebook&gt;.json</code>; refresh on purpose
with <code>sidislab report --update-baselines</code> (<code>make baselines</code>) and review
the diff.</p>
</body></html>
"""
    index = out / "index.html"
    with atomic_write(index) as fh:
        fh.write(page)
    summary = {
        "created": stamp,
        "command": command,
        "sidislab_version": __version__,
        "state": "finished" if finished else "running",
        "started": started,
        "note": note,
        "ok": all_ok,
        "pending": list(pending),
        "notebooks": [
            {
                "name": r.name,
                "status": r.status,
                "seconds": round(r.seconds, 3),
                "html": _rel(r.html, out),
                "executed": _rel(r.executed, out),
                "metrics": _rel(r.metrics_path, out),
                "parameters": comparable_parameters(r.parameters),
                "overrides": comparable_parameters(r.overrides),
                "baseline": r.baseline_summary(),
                "baseline_ok": r.baseline_ok,
                "failure": None if r.failure is None else r.failure.format(r.name),
            }
            for r in runs
        ],
    }
    with atomic_write(out / "summary.json") as fh:
        json.dump(summary, fh, indent=2, default=str)
        fh.write("\n")
    return index


def run_report(
    notebooks: Sequence[Path],
    out_dir: str | os.PathLike[str],
    overrides: Mapping[str, Any] | None = None,
    *,
    baseline_dir: str | os.PathLike[str] | None = None,
    html_page: bool = True,
    cell_timeout: float | None = 900.0,
    jobs: int = 1,
    on_done: Callable[[NotebookRun], None] | None = None,
    command: str | None = None,
) -> list[NotebookRun]:
    """Execute ``notebooks`` (in a pinned kernel, :func:`kernel_environment`), check them
    against ``baseline_dir`` when given; ``jobs`` > 1 runs notebooks in parallel processes.

    With ``command`` (the command line, for the page), the run also keeps the index of
    ``out_dir``: it holds ``out_dir/.report.lock`` for the whole run (a second run into the
    same folder fails at once with :class:`sidislab.io.LockHeldError`), removes the
    temporaries of killed runs, replaces the previous index with a RUNNING one before the
    first notebook and after each (:func:`write_index` ``finished=False``) and writes the
    final index at the end — so an index left by a killed run says it did not finish.

    Raises ``ValueError`` if an override names a parameter that no notebook has.
    """
    overrides = dict(overrides or {})
    if overrides:
        known: set[str] = set()
        for nb in notebooks:
            known |= set(notebook_parameters(nb))
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"-p {', '.join(unknown)}: no selected notebook has such a parameter")
        if METRICS_PARAMETER in overrides:
            raise ValueError(f"-p {METRICS_PARAMETER}: set by the runner, not overridable")
    if command is not None:
        return _run_keeping_index(
            notebooks,
            out_dir,
            overrides,
            command,
            baseline_dir=baseline_dir,
            html_page=html_page,
            cell_timeout=cell_timeout,
            jobs=jobs,
            on_done=on_done,
        )
    runs: list[NotebookRun] = []
    kwargs = {"html_page": html_page, "cell_timeout": cell_timeout}
    with kernel_environment():
        if jobs <= 1 or len(notebooks) <= 1:
            for nb in notebooks:
                run = run_notebook(nb, out_dir, overrides, **kwargs)
                if baseline_dir is not None:
                    check_baseline(run, baseline_dir)
                runs.append(run)
                if on_done:
                    on_done(run)
        else:
            import multiprocessing

            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
                futures = [
                    pool.submit(run_notebook, nb, out_dir, overrides, **kwargs) for nb in notebooks
                ]
                for fut in futures:
                    run = fut.result()
                    if baseline_dir is not None:
                        check_baseline(run, baseline_dir)
                    runs.append(run)
                    if on_done:
                        on_done(run)
    return runs


def _run_keeping_index(
    notebooks: Sequence[Path],
    out_dir: str | os.PathLike[str],
    overrides: Mapping[str, Any],
    command: str,
    *,
    on_done: Callable[[NotebookRun], None] | None,
    **kwargs: Any,
) -> list[NotebookRun]:
    """:func:`run_report` with the index kept honest (its docstring)."""
    out = Path(out_dir)
    started = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    done: list[NotebookRun] = []

    def progress(note: str = "") -> None:
        finished_names = {r.name for r in done}
        pending = [nb.stem for nb in notebooks if nb.stem not in finished_names]
        write_index(done, out, command, pending=pending, finished=False, started=started, note=note)

    def record(run: NotebookRun) -> None:
        done.append(run)
        progress()
        if on_done:
            on_done(run)

    with exclusive_lock(out / ".report.lock", f"sidislab report into {out}"):
        for t in remove_temporaries(temporaries(out)):
            log.warning("removed %s, left by a killed report run", t.path)
        for d in (out / STATIC_DIR).glob(".*.tmp"):  # a half-copied asset folder
            shutil.rmtree(d, ignore_errors=True)
        progress()
        try:
            runs = run_report(notebooks, out, overrides, on_done=record, **kwargs)
        except BaseException as exc:
            progress(f"stopped by {type(exc).__name__}: {exc}".rstrip(": "))
            raise
        write_index(runs, out, command)
    return runs


# --- command line -----------------------------------------------------------------------
