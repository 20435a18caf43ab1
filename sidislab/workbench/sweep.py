"""Notebook sweeps: one notebook run headless over values of one parameter, each run a
task (serially or on Dask, :mod:`sidislab.compute`) writing its own report, and an index
page that shows the sweep side by side.

``sidislab report --notebooks 03 --sweep lr=0.5,1.0,2.0 [--dask local:2]`` writes::

    reports/sweep-lr/lr=0.5/03_synthetic_fit.{ipynb,html,metrics.json}
    reports/sweep-lr/lr=1.0/…
    reports/sweep-lr/index.html    the swept value against the key metrics: table + plot
    reports/sweep-lr/sweep.json    the same numbers, machine-readable

Each task is :func:`sweep_task` — (notebook, folder, parameters) → :class:`NotebookRun`
— which pins the kernel to the worker's own interpreter (:func:`kernel_environment`), so
a worker needs the package with its ``notebooks`` extra and read access to the notebook.
A failing notebook is a result (reported in the index), not an exception.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from sidislab.compute import map_unordered
from sidislab.io import atomic_write
from sidislab.workbench.report import (
    METRICS_PARAMETER,
    NotebookRun,
    kernel_environment,
    notebook_parameters,
    parse_value,
    run_notebook,
)

__all__ = [
    "parse_sweep",
    "run_sweep",
    "sweep_folder",
    "sweep_task",
    "write_sweep_index",
]

log = logging.getLogger(__name__)

MAX_PLOTTED_METRICS = 8
"""At most this many metrics are plotted (all key metrics are tabulated)."""


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """``NAME=V1,V2,...`` → (name, [values]); each value a Python literal or a string
    (:func:`sidislab.workbench.report.parse_value`). Lists are not sweepable values here."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ValueError(f"--sweep {text!r}: expected NAME=V1,V2,... with NAME a parameter name")
    if name == METRICS_PARAMETER:
        raise ValueError(f"--sweep {name}: set by the runner, not sweepable")
    parts = [p.strip() for p in rest.split(",")]
    if not rest.strip() or any(not p for p in parts):
        raise ValueError(f"--sweep {text!r}: give one or more comma-separated values")
    values = [parse_value(p) for p in parts]
    if len({repr(v) for v in values}) != len(values):
        raise ValueError(f"--sweep {text!r}: a value is repeated")
    return name, values


def sweep_folder(out_dir: str | os.PathLike[str], name: str, value: Any) -> Path:
    """The folder of one point of the sweep: ``<out_dir>/<name>=<value>`` (unsafe characters
    of the value replaced by ``_``)."""
    text = re.sub(r"[^A-Za-z0-9_.+-]", "_", str(value)) or "_"
    return Path(out_dir) / f"{name}={text}"


def sweep_task(
    notebook: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    parameters: Mapping[str, Any],
    html_page: bool = True,
    cell_timeout: float | None = 900.0,
) -> NotebookRun:
    """Run one notebook with ``parameters`` into ``out_dir`` (a pure task: its inputs are
    paths and plain values; the kernel runs this process's interpreter)."""
    with kernel_environment():
        return run_notebook(
            notebook, out_dir, parameters, html_page=html_page, cell_timeout=cell_timeout
        )


def run_sweep(
    notebook: str | os.PathLike[str],
    name: str,
    values: Sequence[Any],
    out_dir: str | os.PathLike[str],
    overrides: Mapping[str, Any] | None = None,
    *,
    executor: Executor | None = None,
    html_page: bool = True,
    cell_timeout: float | None = 900.0,
    on_done: Callable[[Any, NotebookRun], None] | None = None,
) -> list[NotebookRun]:
    """Run ``notebook`` once per value of parameter ``name`` (with the other ``overrides``),
    each into :func:`sweep_folder`, on ``executor`` (``None``: one after the other here).

    Returns the runs in the order of ``values``. Raises ``ValueError`` if the notebook has
    no parameter ``name`` (or one of the overrides).
    """
    nb = Path(notebook).resolve()
    known = notebook_parameters(nb)
    overrides = dict(overrides or {})
    for key in (name, *overrides):
        if key not in known:
            raise ValueError(
                f"{nb.name}: no parameter {key!r} to sweep or set (parameters: {sorted(known)})"
            )
    if name in overrides:
        raise ValueError(f"--sweep {name} and -p {name} both set {name!r}")
    out = Path(out_dir).resolve()
    folders = [sweep_folder(out, name, v) for v in values]
    if len(set(folders)) != len(folders):
        raise ValueError(f"--sweep {name}: two values map to the same folder name")
    params = [{**overrides, name: v} for v in values]
    runs: list[NotebookRun | None] = [None] * len(values)
    n = len(values)
    for i, run in map_unordered(
        sweep_task,
        [nb] * n,
        folders,
        params,
        [html_page] * n,
        [cell_timeout] * n,
        executor=executor,
    ):
        runs[i] = run
        if on_done is not None:
            on_done(values[i], run)
    return [r for r in runs if r is not None]


def _metric_table(runs: Sequence[NotebookRun]) -> list[str]:
    """Names of the metrics to show: the key metrics of any run, else every metric."""
    names: dict[str, bool] = {}
    for run in runs:
        for m in run.metrics.values():
            names.setdefault(m.name, False)
            names[m.name] |= bool(m.key)
    keys = [n for n, k in names.items() if k]
    return keys or list(names)


def _numeric(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v)


def _plot_png(
    name: str, values: Sequence[Any], runs: Sequence[NotebookRun], metrics: list[str]
) -> str:
    """The sweep plot (one panel per metric against the swept value) as base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    shown = metrics[:MAX_PLOTTED_METRICS]
    xs_num = [_numeric(v) for v in values]
    numeric_x = all(x is not None for x in xs_num)
    xs = xs_num if numeric_x else list(range(len(values)))
    ncol = min(3, len(shown))
    nrow = math.ceil(len(shown) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False)
    for ax, metric in zip(axes.flat, shown):
        pts = [
            (x, run.metrics[metric].value)
            for x, run in zip(xs, runs)
            if metric in run.metrics and math.isfinite(run.metrics[metric].value)
        ]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-")
            ys = [p[1] for p in pts]
            if all(y > 0 for y in ys) and max(ys) > 100 * min(ys):
                ax.set_yscale("log")
        unit = next((r.metrics[metric].unit for r in runs if metric in r.metrics), "")
        ax.set_title(metric + (f" [{unit}]" if unit else ""), fontsize=9)
        ax.set_xlabel(name)
        if not numeric_x:
            ax.set_xticks(xs, [str(v) for v in values])
        if numeric_x and all(x > 0 for x in xs) and max(xs) > 20 * min(xs):
            ax.set_xscale("log")
    for ax in list(axes.flat)[len(shown) :]:
        ax.set_visible(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def write_sweep_index(
    runs: Sequence[NotebookRun],
    name: str,
    values: Sequence[Any],
    out_dir: str | os.PathLike[str],
    command: str = "",
) -> Path:
    """Write ``index.html`` (table and plot: the swept value against the key metrics, with
    links to each report) and ``sweep.json`` into ``out_dir``; return the page's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if len(runs) != len(values):
        raise ValueError(f"write_sweep_index: {len(runs)} runs for {len(values)} values")
    metrics = _metric_table(runs)
    doc = {
        "notebook": runs[0].name if runs else "",
        "parameter": name,
        "command": command,
        "points": [
            {
                "value": v,
                "status": r.status,
                "seconds": r.seconds,
                "report": os.path.relpath(r.html or r.executed, out),
                "metrics": {m: r.metrics[m].value for m in metrics if m in r.metrics},
                "error": None if r.ok else r.failure.format(r.name).splitlines()[0],
            }
            for v, r in zip(values, runs)
        ],
    }
    with atomic_write(out / "sweep.json") as fh:
        json.dump(doc, fh, indent=1, allow_nan=True, default=str)
    e = html.escape
    head = "".join(f"<th>{e(m)}</th>" for m in metrics)
    rows = []
    for point in doc["points"]:
        cells = "".join(
            f"<td>{point['metrics'][m]:.6g}</td>" if m in point["metrics"] else "<td>—</td>"
            for m in metrics
        )
        status = (
            '<span class="ok">ok</span>'
            if point["status"] == "ok"
            else f'<span class="bad">failed</span> {e(point["error"] or "")}'
        )
        rows.append(
            f"<tr><td>{e(repr(point['value']))}</td><td>{status}</td>"
            f"<td>{point['seconds']:.1f} s</td>{cells}"
            f'<td><a href="{e(point["report"])}">report</a></td></tr>'
        )
    plot = ""
    if metrics and any(r.metrics for r in runs):
        png = _plot_png(name, values, runs, metrics)
        plot = f'<img alt="{e(name)} against the key metrics" src="data:image/png;base64,{png}">'
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>sweep of {e(name)}: {e(doc["notebook"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.35em 0.7em; text-align: left; }}
th {{ background: #f3f3f3; }} .ok {{ color: #176f2c; font-weight: bold; }}
.bad {{ color: #b00020; font-weight: bold; }} code {{ background: #f7f7f7; }}
</style></head><body>
<h1>Sweep of <code>{e(name)}</code> — {e(doc["notebook"])}</h1>
<p><code>{e(command)}</code></p>
<table><tr><th>{e(name)}</th><th>status</th><th>time</th>{head}<th></th></tr>
{"".join(rows)}
</table>
{plot}
<p>Numbers: <a href="sweep.json">sweep.json</a>.</p>
</body></html>
"""
    path = out / "index.html"
    with atomic_write(path) as fh:
        fh.write(page)
    return path
