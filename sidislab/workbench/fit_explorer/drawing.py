r"""The fit explorer's figures: σ(qT) per kinematic bin and the χ² curve of the steps.

:class:`FitFigures` reads a :class:`~sidislab.workbench.fit_explorer.state.FitState` and
draws new ``matplotlib.figure.Figure`` objects without pyplot (no global figure state, no
backend needed): σ(qT) at the current parameters against the pseudo-data t_i ± δ_i and
the start, one panel per bin (:func:`~sidislab.workbench.fit_explorer.closure.kinematic_bins`),
and χ²/N against the optimiser step. :func:`figure_bundle` turns a figure into PNG display
data.
"""

from __future__ import annotations

import io
import math
from typing import Any

from matplotlib.figure import Figure

from sidislab import fit as F
from sidislab.workbench.fit_explorer.closure import kinematic_bins, spread
from sidislab.workbench.fit_explorer.state import FitState

__all__ = ["FitFigures", "figure_bundle"]


class FitFigures:
    """The figures of a fit state.

    Args:
        state: what is drawn (read only).
        max_panels: how many bins are drawn, spread over all (first and last included).
        ncols: panels per row.

    Attributes: ``bins`` (all bins of the state's points), ``panels`` (those drawn),
    ``ncols``.
    """

    def __init__(self, state: FitState, *, max_panels: int = 12, ncols: int = 4) -> None:
        self.state = state
        self.bins = kinematic_bins(state.xs.kin)
        self.panels = [self.bins[j] for j in spread(len(self.bins), max_panels)]
        self.ncols = max(1, min(ncols, len(self.panels)))

    def draw_sigma(self) -> Figure:
        """σ(qT) per bin at the current parameters, with the pseudo-data (±δ) and the
        start (dotted); a new figure (no pyplot state)."""
        st = self.state
        sigma_t = st.sigma()
        chi2 = float(F.loss_value(sigma_t, st.targets, "chi2"))
        sigma = sigma_t.cpu().numpy()
        start = st.start_sigma.cpu().numpy()
        values = st.targets.values.detach().cpu().numpy()
        delta = st.targets.uncertainties.detach().cpu().numpy()
        qT = st.xs.kin.qT.detach().cpu().numpy()
        n = len(self.panels)
        nrows = math.ceil(n / self.ncols)
        fig = Figure(figsize=(3.3 * self.ncols, 2.5 * nrows + 0.5), layout="constrained")
        axes = fig.subplots(nrows, self.ncols, squeeze=False).ravel()
        for ax, b in zip(axes, self.panels):
            i = list(b.indices)
            ax.errorbar(
                qT[i],
                values[i],
                delta[i],
                fmt="o",
                color="k",
                ms=3,
                lw=1,
                capsize=2,
                label="pseudo-data ± δ",
            )
            ax.plot(qT[i], start[i], ":", color="0.55", lw=1.2, label="start")
            ax.plot(qT[i], sigma[i], "-", color="C0", marker=".", lw=1.6, label="model")
            ax.set_title(b.title(), fontsize=8.5)
            ax.tick_params(labelsize=7.5)
            ax.yaxis.get_offset_text().set_fontsize(7)
        for ax in axes[n:]:
            ax.set_visible(False)
        for ax in axes[(nrows - 1) * self.ncols :]:
            ax.set_xlabel("qT [GeV]", fontsize=8.5)
        for ax in axes[:: self.ncols]:
            ax.set_ylabel("σ", fontsize=8.5)
        axes[0].legend(fontsize=7, loc="best")
        n_points = len(values)
        fig.suptitle(
            f"χ² = {chi2:.4g} for {n_points} points (χ²/N = {chi2 / n_points:.3g}); "
            f"{n} of {len(self.bins)} bins shown",
            fontsize=10,
        )
        return fig

    def draw_chi2(self) -> Figure:
        """χ²/N against the optimiser step (log scale); a new figure."""
        st = self.state
        fig = Figure(figsize=(6.0, 2.8), layout="constrained")
        ax = fig.subplots()
        n_points = len(st.targets.values)
        if st.history:
            steps = [h["step"] for h in st.history]
            chi2 = [max(h["chi2"], 1e-300) / n_points for h in st.history]
            ax.plot(steps, chi2, "o-", color="C3", ms=3)
            ax.set_yscale("log")
            ax.set_title(f"χ²/N = {chi2[-1]:.3g} after {st.n_steps} steps", fontsize=10)
        else:
            ax.text(
                0.5,
                0.5,
                "no optimiser steps yet: press “Run steps”",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="0.4",
            )
            ax.set_title(f"χ²/N = {st.chi2() / n_points:.3g} at the start", fontsize=10)
        ax.set_xlabel("optimiser step")
        ax.set_ylabel("χ²/N")
        ax.grid(True, alpha=0.3)
        return fig


def figure_bundle(fig: Figure) -> dict[str, Any]:
    """A figure as a display bundle: PNG bytes (``image/png``) and a text description.

    Rendered with the Agg canvas, whatever the backend: the inline backend's formatter is
    only installed once pyplot has made a figure, and these figures bypass pyplot.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    text = fig.get_suptitle() or ""
    return {"image/png": buf.getvalue(), "text/plain": f"<figure: {text or 'sidislab'}>"}
