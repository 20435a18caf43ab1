"""sidislab.workbench.widgets: debounced controls and live figures that also work headless.

Invariants: every slider reports on release (``continuous_update=False``); a LiveFigure
draws once when shown, once per changed value, never for an unchanged one, only on the
button in manual mode; a failing redraw keeps the last figure and says why (logged and
shown), while a failing first draw raises.
"""

from __future__ import annotations

import logging

import matplotlib.pyplot as plt
import pytest

from sidislab.workbench import widgets


def test_sliders_report_on_release():
    f = widgets.float_slider("a", 0.5, 0.0, 1.0)
    i = widgets.int_slider("n", 3, 1, 10)
    lg = widgets.log_slider("b", 1e-3, 1e-4, 0.1)
    assert not (f.continuous_update or i.continuous_update or lg.continuous_update)
    assert lg.min == pytest.approx(-4) and lg.max == pytest.approx(-1)
    assert lg.value == pytest.approx(1e-3)
    assert widgets.dropdown("d", ["x", "y"]).value == "x"


@pytest.mark.parametrize(
    "make",
    [
        lambda: widgets.float_slider("a", 2.0, 0.0, 1.0),
        lambda: widgets.int_slider("n", 0, 1, 10),
        lambda: widgets.log_slider("b", 1.0, 0.0, 2.0),
        lambda: widgets.dropdown("d", ["x"], "z"),
        lambda: widgets.dropdown("d", []),
    ],
)
def test_bad_controls(make):
    with pytest.raises(ValueError):
        make()


class Recorder:
    """A draw function that counts its calls."""

    def __init__(self, fail_when=None):
        self.calls = []
        self.fail_when = fail_when

    def __call__(self, **values):
        self.calls.append(values)
        if self.fail_when is not None and self.fail_when(values):
            raise RuntimeError(f"cannot draw {values}")
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, values.get("a", 0)])
        return fig


def test_live_figure_draws_once_per_change(capsys):
    open_before = set(plt.get_fignums())  # other tests may leave pyplot figures open
    draw = Recorder()
    live = widgets.LiveFigure(draw, {"a": widgets.float_slider("a", 0.5, 0.0, 1.0)})
    live.show()
    assert draw.calls == [{"a": 0.5}] and live.n_draws == 1
    assert "Figure" in capsys.readouterr().out  # displayed (plain-text display outside IPython)
    first = live.figure
    live.set(a=0.75)
    assert draw.calls[-1] == {"a": 0.75} and live.n_draws == 2 and live.figure is not first
    live.set(a=0.75)  # unchanged: no redraw
    live.redraw()
    assert live.n_draws == 2
    # figures are shown through the handle, never left open
    assert set(plt.get_fignums()) == open_before
    with pytest.raises(ValueError, match="no controls named"):
        live.set(b=1.0)


def test_manual_mode_waits_for_the_button():
    draw = Recorder()
    live = widgets.LiveFigure(draw, {"a": widgets.float_slider("a", 0.5, 0.0, 1.0)}, manual=True)
    live.show()
    live.set(a=0.25)
    assert live.n_draws == 1 and "Redraw" in live.status.value
    live.button.click()
    assert live.n_draws == 2 and draw.calls[-1] == {"a": 0.25}


def test_failing_redraw_keeps_the_figure_and_says_why(caplog):
    draw = Recorder(fail_when=lambda v: v["a"] > 0.9)
    live = widgets.LiveFigure(draw, {"a": widgets.float_slider("a", 0.5, 0.0, 1.0)})
    live.show()
    good = live.figure
    with caplog.at_level(logging.ERROR, logger="sidislab.workbench.widgets"):
        live.set(a=1.0)
    assert live.figure is good
    assert isinstance(live.last_error, RuntimeError)
    assert "redraw failed: RuntimeError" in live.status.value
    assert "redraw failed" in caplog.text
    live.set(a=0.2)  # recovers
    assert live.last_error is None and live.figure is not good


def test_failing_first_draw_raises():
    draw = Recorder(fail_when=lambda v: True)
    live = widgets.LiveFigure(draw, {"a": widgets.float_slider("a", 0.5, 0.0, 1.0)})
    with pytest.raises(RuntimeError, match="cannot draw"):
        live.show()
    with pytest.raises(ValueError, match="at least one control"):
        widgets.LiveFigure(draw, {})
