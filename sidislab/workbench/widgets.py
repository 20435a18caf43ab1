"""ipywidgets helpers for the teaching notebooks: debounced controls and live figures.

Two rules make the notebooks work both in JupyterLab and headless (papermill, nbconvert):

* **Static first.** :meth:`LiveFigure.show` draws the figure once at the controls' values
  and displays it as an ordinary image output (with a display id); the controls come
  after it. An executed notebook and its HTML page therefore carry the figure, and
  nothing waits for a user. Moving a control replaces that same output in place
  (``update_display_data``), so no second figure appears.
* **Debounced.** Sliders are built with ``continuous_update=False``: a redraw happens when
  the slider is released, not at every intermediate value; a redraw whose values equal
  the last drawn ones is skipped. ``manual=True`` adds a *Redraw* button instead of
  redrawing on every change, for expensive figures.

A failing redraw is logged (``logging``) and shown in the status line under the controls;
the figure keeps its last good state.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets

log = logging.getLogger(__name__)

__all__ = ["LiveFigure", "dropdown", "float_slider", "int_slider", "log_slider"]

_LAYOUT = {"width": "28em"}
_STYLE = {"description_width": "8em"}


def float_slider(
    description: str,
    value: float,
    min: float,
    max: float,
    step: float | None = None,
    *,
    readout_format: str = ".3g",
) -> widgets.FloatSlider:
    """A linear float slider that reports its value on release (``continuous_update=False``)."""
    if not min <= value <= max:
        raise ValueError(f"float_slider {description!r}: value {value} not in [{min}, {max}]")
    return widgets.FloatSlider(
        value=value,
        min=min,
        max=max,
        step=step if step is not None else (max - min) / 200,
        description=description,
        readout_format=readout_format,
        continuous_update=False,
        layout=_LAYOUT,
        style=_STYLE,
    )


def log_slider(
    description: str,
    value: float,
    min: float,
    max: float,
    *,
    steps_per_decade: int = 20,
    readout_format: str = ".3g",
) -> widgets.FloatLogSlider:
    """A logarithmic slider between ``min`` and ``max`` (> 0), reporting on release."""
    if not 0 < min <= value <= max:
        raise ValueError(f"log_slider {description!r}: need 0 < {min} <= {value} <= {max}")
    return widgets.FloatLogSlider(
        value=value,
        base=10,
        min=math.log10(min),
        max=math.log10(max),
        step=1.0 / steps_per_decade,
        description=description,
        readout_format=readout_format,
        continuous_update=False,
        layout=_LAYOUT,
        style=_STYLE,
    )


def int_slider(
    description: str,
    value: int,
    min: int,
    max: int,
    step: int = 1,
) -> widgets.IntSlider:
    """An integer slider that reports its value on release."""
    if not min <= value <= max:
        raise ValueError(f"int_slider {description!r}: value {value} not in [{min}, {max}]")
    return widgets.IntSlider(
        value=value,
        min=min,
        max=max,
        step=step,
        description=description,
        continuous_update=False,
        layout=_LAYOUT,
        style=_STYLE,
    )


def dropdown(
    description: str, options: Sequence[Any], value: Any | None = None
) -> widgets.Dropdown:
    """A drop-down menu (reports on selection)."""
    opts = list(options)
    if not opts:
        raise ValueError(f"dropdown {description!r}: no options")
    chosen = opts[0] if value is None else value
    if chosen not in opts and not any(isinstance(o, tuple) and o[1] == chosen for o in opts):
        raise ValueError(f"dropdown {description!r}: value {chosen!r} not among the options")
    return widgets.Dropdown(
        options=opts, value=chosen, description=description, layout=_LAYOUT, style=_STYLE
    )


class LiveFigure:
    """A matplotlib figure drawn by ``draw(**values)`` from named controls.

    Args:
        draw: returns a new ``matplotlib.figure.Figure`` for the given control values
            (keyword arguments named as in ``controls``).
        controls: name → value widget (use the factories of this module).
        manual: redraw only when the *Redraw* button is pressed.

    Use :meth:`show` in a notebook cell; :meth:`set` changes values programmatically
    (as a user would), :attr:`figure` is the last figure drawn.
    """

    def __init__(
        self,
        draw: Callable[..., Any],
        controls: Mapping[str, widgets.ValueWidget],
        *,
        manual: bool = False,
    ) -> None:
        if not controls:
            raise ValueError("LiveFigure: give at least one control")
        self._draw = draw
        self.controls = dict(controls)
        self.manual = manual
        self.figure: Any = None
        self.n_draws = 0
        self.last_error: BaseException | None = None
        self._drawn_values: dict[str, Any] | None = None
        self._handle: Any = None
        self.status = widgets.HTML(value="")
        children: list[widgets.Widget] = list(self.controls.values())
        if manual:
            self.button = widgets.Button(description="Redraw", button_style="primary")
            self.button.on_click(lambda _b: self.redraw())
            children.append(self.button)
        children.append(self.status)
        self.widget = widgets.VBox(children)
        for w in self.controls.values():
            w.observe(self._changed, names="value")

    @property
    def values(self) -> dict[str, Any]:
        """The controls' current values."""
        return {name: w.value for name, w in self.controls.items()}

    def _changed(self, _change: Mapping[str, Any]) -> None:
        if self.manual:
            self.status.value = "<i>changed: press Redraw</i>"
        else:
            self.redraw()

    def _render(self) -> Any:
        import matplotlib.pyplot as plt

        fig = self._draw(**self.values)
        plt.close(fig)  # shown through the display handle only, not again at cell end
        return fig

    def show(self) -> None:
        """Draw at the current values, display the figure (static output), then the controls.

        An exception of this first draw propagates (a headless run must fail on it).
        """
        from IPython.display import display

        t0 = time.perf_counter()
        self.figure = self._render()
        self._drawn_values = self.values
        self.n_draws += 1
        self._handle = display(self.figure, display_id=True)
        self.status.value = f"<small>drawn in {time.perf_counter() - t0:.2f} s</small>"
        display(self.widget)

    def redraw(self) -> None:
        """Redraw at the current values, replacing the displayed figure in place."""
        values = self.values
        if values == self._drawn_values:
            return
        t0 = time.perf_counter()
        try:
            fig = self._render()
        except Exception as exc:  # shown to the user and logged; the last figure stays
            self.last_error = exc
            log.exception("LiveFigure: redraw failed at %s", values)
            self.status.value = (
                f'<span style="color:#b00020">redraw failed: {type(exc).__name__}: {exc}</span>'
            )
            return
        self.last_error = None
        self.figure, self._drawn_values = fig, values
        self.n_draws += 1
        if self._handle is not None:
            self._handle.update(fig)
        self.status.value = f"<small>drawn in {time.perf_counter() - t0:.2f} s</small>"

    def set(self, **values: Any) -> None:
        """Set control values (each change redraws unless ``manual``)."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"LiveFigure.set: no controls named {sorted(unknown)}")
        for name, v in values.items():
            self.controls[name].value = v
