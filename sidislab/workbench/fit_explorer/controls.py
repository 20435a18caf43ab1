r"""The fit explorer's controls: sliders, optimiser settings, buttons and a status line.

:class:`FitControls` builds the ipywidgets and turns what a user does into calls of
plain callables given by the explorer; it holds no physics. It follows the rules of
:mod:`sidislab.workbench.widgets`:

* **debounced**: sliders report on release (``continuous_update=False``), and moving the
  sliders to new parameters (:meth:`FitControls.sync`, while the optimiser runs) reports
  nothing;
* a failing callback is logged and shown in the status line (``last_error`` keeps it);
  the figures keep their last state.

The status line carries a machine-readable marker for browser tests
(``<span class="sidislab-fit-explorer-state" data-draws=… data-steps=… data-chi2=…
data-sigma=…>``, :func:`status_html`): a test can tell that a redraw really happened. The
CSS classes (``sidislab-fit-explorer``, ``-slider``, ``-<parameter>``, ``-steps``,
``-run``, ``-reset``, ``-status``) are how ``tests/test_browser.py`` finds the controls.
"""

from __future__ import annotations

import hashlib
import html
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ipywidgets
import torch
from torch import Tensor

from sidislab.workbench import widgets
from sidislab.workbench.fit_explorer.state import DEFAULT_LR, OPTIMIZERS, check_optimizer

log = logging.getLogger(__name__)

__all__ = ["STATE_CLASS", "FitControls", "Status", "checksum", "status_html"]

STATE_CLASS = "sidislab-fit-explorer-state"
"""CSS class of the status marker (see the module docstring)."""


@dataclass(frozen=True)
class Status:
    """What the status line reports: χ² at the current parameters, the number of
    points, optimiser steps and σ redraws, and a checksum of σ (:func:`checksum`)."""

    chi2: float
    n_points: int
    n_steps: int
    n_draws: int
    sigma_checksum: str


def checksum(t: Tensor) -> str:
    """A short hash of a tensor's float64 bytes: changes whenever any value changes."""
    data = t.detach().to("cpu", torch.float64).contiguous().numpy().tobytes()
    return hashlib.sha1(data).hexdigest()[:16]


def status_html(status: Status, seconds: float | None = None, error: str = "") -> str:
    """The status line: a readable summary inside the marker span, then ``error``."""
    chi2, n = status.chi2, status.n_points
    text = f"χ² = {chi2:.6g} for {n} points (χ²/N = {chi2 / n:.3g}); {status.n_steps} steps"
    if seconds is not None:
        text += f"; drawn in {seconds:.2f} s"
    marker = (
        f'<span class="{STATE_CLASS}" data-draws="{status.n_draws}" '
        f'data-steps="{status.n_steps}" data-chi2="{chi2:.17g}" '
        f'data-sigma="{status.sigma_checksum}">{html.escape(text)}</span>'
    )
    if error:
        marker += f'<br><span style="color:#b00020">{html.escape(error)}</span>'
    return f"<small>{marker}</small>"


class FitControls:
    """One slider per free parameter, optimiser settings, *Run*/*Reset*, a status line.

    Args:
        values: the free parameters (name → value) the sliders start at.
        optimizer, steps: the initial optimiser (``lbfgs``/``adam``; its learning rate is
            :data:`~sidislab.workbench.fit_explorer.state.DEFAULT_LR`) and step count.
        span: slider ranges are value·(1 ± span) (±span around 0 for a zero value).
        on_values: called with all slider values (name → value) when a slider is moved.
        on_run, on_reset: called by the buttons (the run button is disabled meanwhile).
        on_optimizer: called when another optimiser is chosen (its learning rate is set
            to the default first).
        describe: the current :class:`Status` (read for every status line).

    Attributes: ``sliders`` (name → slider), ``optimizer``, ``steps``, ``lr``,
    ``run_button``, ``reset_button``, ``status`` (HTML), ``widget`` (all of them),
    ``last_error`` (the last exception of a callback).
    """

    def __init__(
        self,
        values: Mapping[str, float],
        *,
        optimizer: str = "lbfgs",
        steps: int = 5,
        span: float = 0.75,
        on_values: Callable[[dict[str, float]], Any],
        on_run: Callable[[], Any],
        on_reset: Callable[[], Any],
        on_optimizer: Callable[[], Any],
        describe: Callable[[], Status],
    ) -> None:
        check_optimizer(optimizer)
        if not (span > 0 and math.isfinite(span)):
            raise ValueError(f"fit explorer: span must be a positive number, got {span}")
        self._on_values, self._on_run, self._on_reset = on_values, on_run, on_reset
        self._on_optimizer, self._describe = on_optimizer, describe
        self._syncing = False
        self.last_error: BaseException | None = None

        self.sliders: dict[str, ipywidgets.FloatSlider] = {}
        for name, value in values.items():
            width = span * abs(value) if value else span
            slider = widgets.float_slider(name, value, value - width, value + width)
            slider.add_class("sidislab-fit-explorer-slider")
            slider.add_class("sidislab-fit-explorer-" + _css_name(name))
            slider.observe(self._slider_changed, names="value")
            self.sliders[name] = slider
        self.optimizer = widgets.dropdown("optimiser", list(OPTIMIZERS), optimizer)
        self.optimizer.observe(self._optimizer_changed, names="value")
        self.steps = ipywidgets.BoundedIntText(
            value=int(steps),
            min=1,
            max=1000,
            description="steps",
            style={"description_width": "8em"},
        )
        self.steps.add_class("sidislab-fit-explorer-steps")
        self.lr = ipywidgets.BoundedFloatText(
            value=DEFAULT_LR[optimizer],
            min=1e-6,
            max=10.0,
            step=0.01,
            description="learning rate",
            style={"description_width": "8em"},
        )
        self.run_button = ipywidgets.Button(
            description="Run steps", button_style="primary", tooltip="take N optimiser steps"
        )
        self.run_button.add_class("sidislab-fit-explorer-run")
        self.run_button.on_click(lambda _b: self._run_clicked())
        self.reset_button = ipywidgets.Button(description="Reset to start")
        self.reset_button.add_class("sidislab-fit-explorer-reset")
        self.reset_button.on_click(lambda _b: self._reset_clicked())
        self.status = ipywidgets.HTML(value="")
        self.status.add_class("sidislab-fit-explorer-status")
        run_box = ipywidgets.VBox(
            [
                self.optimizer,
                self.steps,
                self.lr,
                ipywidgets.HBox([self.run_button, self.reset_button]),
            ]
        )
        self.widget = ipywidgets.VBox(
            [ipywidgets.HBox([ipywidgets.VBox(list(self.sliders.values())), run_box]), self.status]
        )
        self.widget.add_class("sidislab-fit-explorer")

    def show_status(self, seconds: float | None = None, *, error: str = "") -> None:
        """Rewrite the status line from ``describe()``, with the drawing time and an error."""
        self.status.value = status_html(self._describe(), seconds, error)

    def sync(self, values: Mapping[str, float]) -> None:
        """Move the sliders to ``values`` without reporting it; a range that no longer
        contains its value is widened."""
        self._syncing = True
        try:
            for name, value in values.items():
                s = self.sliders[name]
                if value < s.min:
                    s.min = value - 0.1 * (s.max - value)
                if value > s.max:
                    s.max = value + 0.1 * (value - s.min)
                s.value = value
        finally:
            self._syncing = False

    def fail(self, what: str, exc: BaseException) -> None:
        """Log a failed callback and show it in the status line."""
        self.last_error = exc
        log.exception("fit explorer: %s failed", what)
        self.show_status(error=f"{what} failed: {type(exc).__name__}: {exc}")

    # --- callbacks -----------------------------------------------------------------------
    def _slider_changed(self, _change: Mapping[str, Any]) -> None:
        if self._syncing:
            return
        try:
            self._on_values({n: float(s.value) for n, s in self.sliders.items()})
        except Exception as exc:  # shown to the user and logged; the last figure stays
            self.fail("redraw", exc)

    def _run_clicked(self) -> None:
        self.run_button.disabled = True
        self.run_button.description = "running…"
        try:
            self._on_run()
        except Exception as exc:  # shown to the user and logged
            self.fail("run", exc)
        finally:
            self.run_button.disabled = False
            self.run_button.description = "Run steps"

    def _reset_clicked(self) -> None:
        try:
            self._on_reset()
        except Exception as exc:  # shown to the user and logged
            self.fail("reset", exc)

    def _optimizer_changed(self, change: Mapping[str, Any]) -> None:
        self.lr.value = DEFAULT_LR[change["new"]]
        self._on_optimizer()


def _css_name(name: str) -> str:
    """A parameter name as a CSS class suffix (``ff.N3`` → ``ff-N3``)."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)
