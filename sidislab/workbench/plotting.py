"""matplotlib helpers for the teaching notebooks.

The notebooks compute with the package and narrate; these helpers keep their plotting
cells short and the figures alike: one style (:func:`setup`), error curves on log axes
that show exact zeros and non-finite values instead of hiding them
(:func:`error_curves`), b-grid nodes as a rug (:func:`rug`), truncated regions shaded
(:func:`shade_outside`), heat maps with contour lines (:func:`heatmap`), Markdown tables
(:func:`md_table`), and the two figures behind the notebooks' sliders
(:func:`grid_explorer_figure`, :func:`series_terms_figure`), which evaluate what they
draw through :mod:`sidislab.workbench.convergence`, :mod:`sidislab.numerics.bessel` and
:mod:`sidislab.workbench.accuracy`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "error_curves",
    "grid_explorer_figure",
    "heatmap",
    "integrand",
    "md_table",
    "rug",
    "series_terms_figure",
    "setup",
    "shade_outside",
    "subplots",
]

FLOOR = 1e-18
"""Where exact zeros are drawn on a log axis (marked, not dropped)."""

_STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "legend.framealpha": 0.85,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "lines.linewidth": 1.5,
}


def setup() -> None:
    """Apply the notebooks' matplotlib style (call once per notebook)."""
    plt.rcParams.update(_STYLE)


def subplots(
    nrows: int = 1, ncols: int = 1, *, width: float | None = None, height: float = 3.6, **kw: Any
) -> tuple[Figure, Any]:
    """``plt.subplots`` with a size that fits a notebook column (4.6 in per panel)."""
    w = width if width is not None else min(4.6 * ncols, 13.0)
    return plt.subplots(nrows, ncols, figsize=(w, height * nrows), squeeze=True, **kw)


def _np(values: Any) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().to("cpu", torch.float64).numpy()
    return np.asarray(values, dtype=np.float64)


def error_curves(
    ax: Axes,
    x: Any,
    errors: Mapping[str, Any],
    *,
    floor: float = FLOOR,
    styles: Mapping[str, Mapping[str, Any]] | None = None,
    xlog: bool = False,
    **kw: Any,
) -> None:
    """Plot |error| per label on a log y-axis.

    Exact zeros are drawn at ``floor``; non-finite values (overflow) are marked with ▲ at
    the top of the axes, so that no failure disappears from the picture.
    """
    xs = _np(x)
    for label, err in errors.items():
        e = np.abs(_np(err))
        bad = ~np.isfinite(e)
        shown = np.where(bad, np.nan, np.maximum(e, floor))
        style = {**kw, **((styles or {}).get(label, {}))}
        (line,) = ax.plot(xs, shown, label=label, **style)
        if bad.any():
            ax.plot(
                xs[bad],
                np.ones(int(bad.sum())),
                "^",
                color=line.get_color(),
                transform=ax.get_xaxis_transform(),
                ms=4,
                clip_on=False,
                label=f"{label}: not finite",
            )
    ax.set_yscale("log")
    if xlog:
        ax.set_xscale("log")


def shade_outside(
    ax: Axes, b_min: float, b_max: float, *, color: str = "0.85", label: str | None = None
) -> None:
    """Shade b < b_min and b > b_max: the parts of the integral a grid does not see."""
    lo, hi = ax.get_xlim()
    ax.axvspan(min(lo, b_min), b_min, color=color, lw=0, label=label, zorder=0)
    ax.axvspan(b_max, max(hi, b_max), color=color, lw=0, zorder=0)
    ax.set_xlim(lo, hi)


def rug(ax: Axes, positions: Any, *, height: float = 0.05, **kw: Any) -> None:
    """Mark node positions as short ticks at the bottom of the axes."""
    pos = _np(positions).ravel()
    style = {"color": "k", "lw": 0.6, "alpha": 0.7, **kw}
    ax.vlines(pos, 0.0, height, transform=ax.get_xaxis_transform(), **style)


def heatmap(
    ax: Axes,
    x: Sequence[float],
    y: Sequence[float],
    values: Any,
    *,
    target: float | None = None,
    marks: Sequence[tuple[float, float, str]] = (),
    xlabel: str = "",
    ylabel: str = "",
    clabel: str = "",
    vmin: float = 1e-10,
    vmax: float = 1.0,
) -> Any:
    """A log-colour map of ``values[len(y), len(x)]`` on category axes.

    Each cell is labelled by its value's exponent (log10, rounded down); cells with a value
    ≤ ``target`` are outlined in red; ``marks`` are (x, y, text) labels put on the cells
    of those coordinates (e.g. the default grid). Returns the colour bar.
    """
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    z = np.abs(_np(values))
    shown = np.clip(np.where(np.isfinite(z), z, vmax), vmin, vmax)
    im = ax.imshow(shown, origin="lower", aspect="auto", norm=LogNorm(vmin, vmax), cmap="viridis_r")
    ax.set_xticks(range(len(x)), [f"{v:g}" for v in x])
    ax.set_yticks(range(len(y)), [f"{v:g}" for v in y])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(False)
    mid = 0.5 * (math.log10(vmin) + math.log10(vmax))
    for i in range(shown.shape[0]):
        for j in range(shown.shape[1]):
            v = z[i, j]
            text = (
                "inf" if not np.isfinite(v) else ("0" if v == 0 else f"{math.floor(math.log10(v))}")
            )
            dark = math.log10(shown[i, j]) > mid
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="w" if dark else "k")
            if target is not None and v <= target:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="r", lw=1.5))
    xs, ys = list(x), list(y)
    for mx, my, text in marks:
        if mx in xs and my in ys:
            ax.annotate(
                text,
                (xs.index(mx), ys.index(my)),
                xytext=(0, 9),
                textcoords="offset points",
                ha="center",
                fontsize=7.5,
                color="r",
                fontweight="bold",
            )
    return ax.figure.colorbar(im, ax=ax, label=clabel)


def md_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    formats: Mapping[str, str] | None = None,
) -> Any:
    """Rows of dicts as an IPython Markdown table (``formats``: column → format spec)."""
    from IPython.display import Markdown

    if not rows:
        return Markdown("*(no rows)*")
    cols = list(columns or rows[0].keys())
    fmts = formats or {}

    def cell(row: Mapping[str, Any], c: str) -> str:
        v = row.get(c, "")
        spec = fmts.get(c)
        if spec and isinstance(v, (int, float, np.floating)):
            return format(v, spec)
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r, c) for c in cols) + " |" for r in rows]
    return Markdown("\n".join(lines))


# --- figures behind the sliders ---------------------------------------------------------


def integrand(F: Callable[[torch.Tensor], torch.Tensor], qT: float, b: Any) -> np.ndarray:
    """b J0(qT b) F(b) on the points ``b`` (GeV⁻¹), float64 (physics.md §6)."""
    from sidislab.numerics.bessel import j0

    bt = torch.as_tensor(_np(b))
    with torch.no_grad():
        return (bt * j0(qT * bt) * F(bt)).numpy()


def grid_explorer_figure(
    pair: Any,
    grid: Any,
    qT: float,
    *,
    rule: str = "trapezoid",
    qT_range: tuple[float, float] = (0.01, 10.0),
    n_qT: int = 150,
    threshold: float = 1e-3,
) -> Figure:
    """Left: the integrand b J0(qT b) F(b) of an exact pair with the grid's nodes and the
    region it does not cover; right: the grid's error against the exact transform over qT.

    ``pair`` is a :class:`sidislab.workbench.convergence.ExactPair`, ``grid`` a
    :class:`sidislab.numerics.bgrid.BGrid`. The error is |I_grid − I|/max(|I|, threshold·I(0)):
    relative where the transform is not tiny, relative to the peak elsewhere.
    """
    from sidislab.workbench.convergence import transform

    fig, (ax1, ax2) = subplots(1, 2, width=11.0, height=3.8)
    b_lo = min(grid.b_min, 1e-3) / 3
    b_hi = max(grid.b_max * 2, 30 * pair.b_scale)
    b = np.geomspace(b_lo, b_hi, 4000)
    ax1.plot(b, integrand(pair.F, qT, b), color="C0", label=f"b J0(qT b) F(b), qT = {qT:.3g} GeV")
    nodes = grid.nodes().numpy()
    ax1.plot(nodes, integrand(pair.F, qT, nodes), ".", color="C3", ms=3, label=f"{grid.Nb} nodes")
    ax1.set_xscale("log")
    ax1.set_xlim(b_lo, b_hi)
    shade_outside(ax1, grid.b_min, grid.b_max, label="not covered")
    rug(ax1, nodes, color="C3")
    ax1.set_xlabel("b [GeV⁻¹]")
    ax1.set_title(pair.name)
    ax1.legend(loc="upper left")

    q = torch.tensor(np.geomspace(*qT_range, n_qT), dtype=torch.float64)
    exact = pair.transform(q)
    value = transform(pair, q, "grid", grid=grid, rule=rule)
    err = (value - exact).abs() / torch.clamp(exact.abs(), min=threshold * pair.sigma0)
    error_curves(ax2, q, {f"{rule}": err}, xlog=True, color="C3")
    q0 = torch.tensor([qT], dtype=torch.float64)
    e0 = float(
        (
            (transform(pair, q0, "grid", grid=grid, rule=rule) - pair.transform(q0)).abs()
            / torch.clamp(pair.transform(q0).abs(), min=threshold * pair.sigma0)
        )[0]
    )
    ax2.axvline(qT, color="0.5", lw=0.8)
    ax2.plot([qT], [max(e0, FLOOR)], "o", color="C3")
    ax2.set_xlabel("qT [GeV]")
    ax2.set_ylabel("error (relative, or to 1e-3·peak)")
    memory = 1e4 * 10 * grid.Nb * 8 / 2**20
    ax2.set_title(f"error {e0:.1e} at qT = {qT:.3g}; L for 10⁴ pts × 10 fl.: {memory:.0f} MiB")
    fig.suptitle(grid.describe(), fontsize=10)
    return fig


def series_terms_figure(
    n_terms: int, x_max: float = 40.0, n: int = 2001, *, show_accurate: bool = True
) -> Figure:
    """|J0_series(x) − J0(x)| with ``n_terms`` terms in float32 and float64 over [0, x_max],
    against scipy (:func:`sidislab.workbench.accuracy.bessel_error_curve`), with the accurate
    fallback's float32 error for scale and the catastrophic-cancellation estimate
    ε·e^x/(2πx) per dtype (physics.md §7)."""
    from sidislab.workbench.accuracy import bessel_error_curve

    fig, ax = subplots(1, 1, width=8.0, height=3.8)
    curves = {}
    for dtype, label in ((torch.float32, "series, float32"), (torch.float64, "series, float64")):
        x, err = bessel_error_curve("series", dtype, (0.0, x_max), n, n_terms=n_terms)
        curves[label] = err
    if show_accurate:
        xa, ea = bessel_error_curve("accurate", torch.float32, (0.0, x_max), n)
        error_curves(ax, xa, {"accurate, float32": ea}, color="0.6", lw=1)
    error_curves(
        ax,
        x,
        curves,
        styles={"series, float32": {"color": "C1"}, "series, float64": {"color": "C0"}},
    )
    xs = np.linspace(1.0, x_max, 400)
    for eps, color in ((np.finfo(np.float32).eps, "C1"), (np.finfo(np.float64).eps, "C0")):
        ax.plot(xs, eps * np.exp(xs) / (2 * np.pi * xs), ":", color=color, lw=1)
    ax.plot([], [], ":", color="k", lw=1, label="ε·eˣ/(2πx): cancellation estimate")
    ax.set_ylim(1e-18, 1e6)
    ax.set_xlim(0, x_max)
    ax.set_xlabel("x")
    ax.set_ylabel("|J0 error|")
    ax.set_title(f"power series with {n_terms} terms")
    ax.legend(loc="upper left", ncols=2)
    return fig
