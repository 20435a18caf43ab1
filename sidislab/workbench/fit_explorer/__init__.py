r"""The interactive closure fit behind notebook 03: sliders, optimiser steps, live χ².

A :class:`FitExplorer` is three pieces put together:

* :mod:`~sidislab.workbench.fit_explorer.state` — :class:`~.state.FitState`: a copy of the
  notebook's cross section, its parameters, σ (cached), χ², optimiser steps (LBFGS or
  Adam) on

      χ²(θ) = Σ_i (σ_i(θ) − t_i)² / δ_i²        (:func:`sidislab.fit.loss_value`),

  the χ² history and the reset to the start;
* :mod:`~sidislab.workbench.fit_explorer.drawing` — :class:`~.drawing.FitFigures`: σ(qT)
  against the pseudo-data, one panel per kinematic bin, and χ²/N per step, as
  ``matplotlib.figure.Figure`` objects built without pyplot;
* :mod:`~sidislab.workbench.fit_explorer.controls` — :class:`~.controls.FitControls`: one
  slider per free parameter, optimiser, steps, learning rate, *Run* and *Reset*, a status
  line with a machine-readable marker (``<span class="sidislab-fit-explorer-state"
  data-draws=… data-steps=… data-chi2=… data-sigma=…>``).

The explorer itself only wires them and owns the display: **static first** (:meth:`show`
displays both figures as ordinary image outputs with display ids, then the controls; a
headless run carries the figures, nothing waits for a user; later redraws replace those
outputs in place) and **debounced** (a redraw at unchanged values is skipped; while the
optimiser moves the sliders no redraw is triggered). Everything works without a browser:
the callbacks are plain methods (:meth:`FitExplorer.set_values`,
:meth:`FitExplorer.run_steps`, :meth:`FitExplorer.reset`).

The closure-test helpers of the notebook (:func:`kinematic_bins`, :func:`select_bins`,
:func:`perturbed`, :func:`closure_rows`, :func:`max_relative_deviation`,
:func:`loss_shares`, :func:`correlation_matrix`) live in
:mod:`~sidislab.workbench.fit_explorer.closure` and are exported here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from matplotlib.figure import Figure
from torch import Tensor

from sidislab import fit as F
from sidislab.observables.xsec import CrossSection
from sidislab.workbench.fit_explorer.closure import (
    KinematicBin,
    closure_rows,
    correlation_matrix,
    kinematic_bins,
    loss_shares,
    max_relative_deviation,
    perturbed,
    select_bins,
)
from sidislab.workbench.fit_explorer.controls import STATE_CLASS as STATE_CLASS
from sidislab.workbench.fit_explorer.controls import FitControls, Status, checksum
from sidislab.workbench.fit_explorer.drawing import FitFigures, figure_bundle
from sidislab.workbench.fit_explorer.state import DEFAULT_LR as DEFAULT_LR
from sidislab.workbench.fit_explorer.state import OPTIMIZERS as OPTIMIZERS
from sidislab.workbench.fit_explorer.state import FitState, check_optimizer

__all__ = [
    "FitExplorer",
    "KinematicBin",
    "closure_rows",
    "correlation_matrix",
    "figure_bundle",
    "kinematic_bins",
    "loss_shares",
    "max_relative_deviation",
    "perturbed",
    "select_bins",
]


class FitExplorer:
    """Sliders and optimiser steps on a copy of a cross section, with live figures.

    Args:
        xsec: the cross section; the explorer works on a deep copy (``copy=True``), so
            the notebook's ``xsec`` and its parameters are never changed by the controls.
        targets: the values to fit (pseudo-data) with their uncertainties δ.
        start: free-parameter vector to start from (default: the current one).
        optimizer: ``lbfgs`` (default) or ``adam``, selectable in the controls.
        steps: the default number of steps of the *Run* button.
        lbfgs_iterations: LBFGS iterations per step (each with a strong-Wolfe line search).
        span: slider ranges are start·(1 ± span) (±span around 0 for a zero start); the
            optimiser may leave them, the range then grows.
        max_panels, ncols: how many bins are drawn (spread over all), panels per row.
        copy: work on a deep copy of ``xsec`` (default) or on ``xsec`` itself.

    Pieces: ``state`` (:class:`FitState`), ``figures`` (:class:`FitFigures`),
    ``controls`` (:class:`FitControls`). Attributes kept for notebooks and tests:
    ``sliders``, ``run_button``, ``reset_button``, ``steps``, ``optimizer``, ``lr``,
    ``status`` (HTML with the marker), ``widget`` (all controls), ``history``,
    ``sigma_figure``/``chi2_figure`` (the last figures drawn), ``n_draws`` (σ redraws),
    ``n_steps`` (optimiser steps taken), ``last_error``.
    """

    def __init__(
        self,
        xsec: CrossSection,
        targets: F.Targets,
        *,
        start: Sequence[float] | Tensor | None = None,
        optimizer: str = "lbfgs",
        steps: int = 5,
        lbfgs_iterations: int = 5,
        span: float = 0.75,
        max_panels: int = 12,
        ncols: int = 4,
        copy: bool = True,
    ) -> None:
        check_optimizer(optimizer)
        self.state = FitState(
            xsec, targets, start=start, lbfgs_iterations=lbfgs_iterations, copy=copy
        )
        self.figures = FitFigures(self.state, max_panels=max_panels, ncols=ncols)
        self.controls = FitControls(
            self.state.values,
            optimizer=optimizer,
            steps=steps,
            span=span,
            on_values=self._sliders_moved,
            on_run=lambda: self.run_steps(),
            on_reset=lambda: self.reset(),
            on_optimizer=self.state.forget_optimizer,
            describe=self._status,
        )
        c = self.controls
        self.sliders = c.sliders
        self.optimizer, self.steps, self.lr = c.optimizer, c.steps, c.lr
        self.run_button, self.reset_button = c.run_button, c.reset_button
        self.status, self.widget = c.status, c.widget

        self.n_draws = 0
        self.sigma_figure: Figure | None = None
        self.chi2_figure: Figure | None = None
        self._drawn_vector: Tensor | None = None
        self._sigma_handle: Any = None
        self._chi2_handle: Any = None
        c.show_status()

    # --- the state, as the notebook reads it ---------------------------------------------
    xs = property(lambda self: self.state.xs, doc="The cross section worked on (a copy).")
    fnp = property(lambda self: self.state.fnp, doc="Its fNP.")
    names = property(lambda self: self.state.names, doc="The free parameters.")
    start = property(lambda self: self.state.start, doc="The start vector.")
    targets = property(lambda self: self.state.targets, doc="Pseudo-data and δ.")
    history = property(lambda self: self.state.history, doc="χ² per step (``step``, ``chi2``).")
    n_steps = property(lambda self: self.state.n_steps, doc="Optimiser steps taken.")
    bins = property(lambda self: self.figures.bins, doc="All kinematic bins.")
    panels = property(lambda self: self.figures.panels, doc="The bins drawn.")
    last_error = property(lambda self: self.controls.last_error, doc="Last callback error.")

    @property
    def values(self) -> dict[str, float]:
        """The current free parameters, name → value."""
        return self.state.values

    def sigma(self) -> Tensor:
        """σ at the current parameters, [N] (no graph; remembered until they change)."""
        return self.state.sigma()

    def chi2(self) -> float:
        """χ² at the current parameters."""
        return self.state.chi2()

    def draw_sigma(self) -> Figure:
        """σ(qT) per bin at the current parameters (a new figure, no pyplot state)."""
        return self.figures.draw_sigma()

    def draw_chi2(self) -> Figure:
        """χ²/N against the optimiser step (a new figure)."""
        return self.figures.draw_chi2()

    # --- display -------------------------------------------------------------------------
    def show(self) -> None:
        """Display σ(qT) (static PNG, display id), the controls, then the χ² curve.

        The figures are published as PNG data (:func:`figure_bundle`), independent of the
        matplotlib backend, so that an executed notebook and its HTML page carry them. An
        exception of this first draw propagates (a headless run must fail on it).
        """
        t0 = time.perf_counter()
        self.sigma_figure = self.draw_sigma()
        self.chi2_figure = self.draw_chi2()
        self._drawn_vector = self.state.vector()
        self.n_draws += 1
        self._sigma_handle = _display(figure_bundle(self.sigma_figure), raw=True, display_id=True)
        _display(self.widget)
        self._chi2_handle = _display(figure_bundle(self.chi2_figure), raw=True, display_id=True)
        self.controls.show_status(time.perf_counter() - t0)

    def redraw(self, *, force: bool = False) -> bool:
        """Redraw σ(qT) at the current parameters (skipped when unchanged unless ``force``);
        replaces the displayed figure in place. Returns whether it drew."""
        vector = self.state.vector()
        if not force and self._drawn_vector is not None and torch.equal(vector, self._drawn_vector):
            return False
        t0 = time.perf_counter()
        fig = self.draw_sigma()
        self.sigma_figure, self._drawn_vector = fig, vector
        self.n_draws += 1
        if self._sigma_handle is not None:
            self._sigma_handle.update(figure_bundle(fig), raw=True)
        self.controls.show_status(time.perf_counter() - t0)
        return True

    def _redraw_chi2(self) -> None:
        """Redraw the χ² curve in place; nothing to do while it is not displayed."""
        if self._chi2_handle is None:
            return
        fig = self.draw_chi2()
        self.chi2_figure = fig
        self._chi2_handle.update(figure_bundle(fig), raw=True)

    # --- actions -------------------------------------------------------------------------
    def set_values(self, values: Mapping[str, float] | None = None, **kw: float) -> None:
        """Set free parameters by name (as a user moving sliders would), move the sliders
        and redraw once. Names with dots go in ``values`` (``{"pdf.N1": 0.3}``)."""
        self.state.set_values({**(values or {}), **kw})
        self.controls.sync(self.state.values)
        self.redraw()

    def run_steps(self, n: int | None = None) -> list[float]:
        """Take ``n`` optimiser steps (default: the *steps* control) with the optimiser and
        learning rate of the controls; returns the χ² after each. The χ² curve is
        redrawn after every step, σ(qT) and the sliders at the end. A step that makes χ²
        non-finite is undone and stops the run (``ValueError``)."""
        n = int(self.steps.value if n is None else n)
        if n < 1:
            raise ValueError(f"FitExplorer.run_steps: n must be >= 1, got {n}")
        try:
            return self.state.run_steps(
                n,
                str(self.optimizer.value),
                float(self.lr.value),
                evaluate=self.chi2,
                after_step=self._stepped,
            )
        finally:
            self.controls.sync(self.state.values)
            self.redraw()

    def reset(self) -> None:
        """Back to the start parameters; the χ² history is cleared."""
        self.state.reset()
        self.controls.sync(self.state.values)
        self._redraw_chi2()
        self.redraw()

    # --- wiring --------------------------------------------------------------------------
    def _sliders_moved(self, values: dict[str, float]) -> None:
        self.state.set_values(values)
        self.redraw()

    def _stepped(self, _chi2: float) -> None:
        self._redraw_chi2()
        self.controls.show_status()

    def _status(self) -> Status:
        sigma = self.state.sigma()
        return Status(
            chi2=self.state.chi2(),
            n_points=len(sigma),
            n_steps=self.state.n_steps,
            n_draws=self.n_draws,
            sigma_checksum=checksum(sigma),
        )


def _display(obj: Any, **kwargs: Any) -> Any:
    """``IPython.display.display`` (one place, so that tests can replace it)."""
    from IPython.display import display

    return display(obj, **kwargs)
