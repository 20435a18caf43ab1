"""sidislab.workbench.fit_explorer.controls: the explorer's widgets, with plain callbacks.

Invariants: a slider spans value·(1 ± span) and reports on release, once per move, with
all the values; moving the sliders from code reports nothing and widens a range that no
longer holds its value; the run button is disabled while its callback runs and restored
after, even when it fails; a failure is logged and shown under an intact marker; choosing
another optimiser resets its learning rate; the marker carries exactly what the status
says, and the CSS classes the browser test looks for are present.
"""

from __future__ import annotations

import logging
import re

import pytest
import torch

from sidislab.workbench.fit_explorer import controls, state

VALUES = {"pdf.N1": 0.25, "g2": 0.0, "ff.beta1": -2.0}
STATUS = controls.Status(chi2=12.5, n_points=5, n_steps=3, n_draws=7, sigma_checksum="abc")


class Recorder:
    """The explorer's side, as plain callables that record what the controls ask."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.fail_run: Exception | None = None
        self.run_button_during_run: tuple | None = None
        self.controls: controls.FitControls | None = None

    def on_run(self) -> None:
        b = self.controls.run_button
        self.run_button_during_run = (b.disabled, b.description)
        self.calls.append(("run",))
        if self.fail_run is not None:
            raise self.fail_run

    def make(self, **kw) -> controls.FitControls:
        self.controls = controls.FitControls(
            VALUES,
            on_values=lambda v: self.calls.append(("values", v)),
            on_run=self.on_run,
            on_reset=lambda: self.calls.append(("reset",)),
            on_optimizer=lambda: self.calls.append(("optimizer",)),
            describe=lambda: STATUS,
            **kw,
        )
        return self.controls


def marker(html: str) -> dict[str, str]:
    assert f'class="{controls.STATE_CLASS}"' in html
    return dict(re.findall(r'data-(\w+)="([^"]*)"', html))


def test_sliders_span_and_css_classes():
    c = Recorder().make(span=0.5, steps=4)
    assert list(c.sliders) == list(VALUES)
    ranges = {n: (s.min, s.value, s.max) for n, s in c.sliders.items()}
    assert ranges["pdf.N1"] == pytest.approx((0.125, 0.25, 0.375))
    assert ranges["g2"] == pytest.approx((-0.5, 0.0, 0.5)), "a zero value: ±span"
    assert ranges["ff.beta1"] == pytest.approx((-3.0, -2.0, -1.0))
    assert not any(s.continuous_update for s in c.sliders.values()), "report on release"
    classes = {
        "sidislab-fit-explorer": c.widget,
        "sidislab-fit-explorer-ff-beta1": c.sliders["ff.beta1"],
        "sidislab-fit-explorer-pdf-N1": c.sliders["pdf.N1"],
        "sidislab-fit-explorer-slider": c.sliders["g2"],
        "sidislab-fit-explorer-steps": c.steps,
        "sidislab-fit-explorer-run": c.run_button,
        "sidislab-fit-explorer-reset": c.reset_button,
        "sidislab-fit-explorer-status": c.status,
    }
    for css, w in classes.items():
        assert css in w._dom_classes, css
    assert c.steps.value == 4 and c.optimizer.value == "lbfgs"
    assert c.lr.value == state.DEFAULT_LR["lbfgs"]


def test_a_slider_reports_all_values_once_sync_reports_nothing():
    rec = Recorder()
    c = rec.make()
    c.sliders["g2"].value = 0.3
    assert rec.calls == [("values", {"pdf.N1": 0.25, "g2": 0.3, "ff.beta1": -2.0})]
    c.sliders["g2"].value = 0.3  # unchanged: no report
    assert len(rec.calls) == 1
    c.sync({"pdf.N1": 10.0, "g2": -4.0, "ff.beta1": -2.5})
    assert len(rec.calls) == 1, "moved from code: nothing reported"
    n1, g2 = c.sliders["pdf.N1"], c.sliders["g2"]
    assert n1.value == 10.0 and n1.max == pytest.approx(10.0 + 0.1 * (10.0 - n1.min))
    assert g2.value == -4.0 and g2.min == pytest.approx(-4.0 - 0.1 * (g2.max + 4.0))
    assert c.sliders["ff.beta1"].value == -2.5


def test_buttons_and_optimizer_choice():
    rec = Recorder()
    c = rec.make()
    c.run_button.click()
    assert rec.run_button_during_run == (True, "running…")
    assert not c.run_button.disabled and c.run_button.description == "Run steps"
    c.reset_button.click()
    assert rec.calls == [("run",), ("reset",)]
    c.optimizer.value = "adam"
    assert c.lr.value == state.DEFAULT_LR["adam"] and rec.calls[-1] == ("optimizer",)


def test_a_failure_is_logged_and_shown_under_the_marker(caplog):
    rec = Recorder()
    c = rec.make()
    c.show_status(0.25)
    assert "drawn in 0.25 s" in c.status.value
    rec.fail_run = RuntimeError("bad <step>")
    with caplog.at_level(logging.ERROR, logger="sidislab.workbench.fit_explorer"):
        c.run_button.click()
    assert c.last_error is rec.fail_run
    assert "run failed: RuntimeError: bad &lt;step&gt;" in c.status.value, "escaped"
    assert marker(c.status.value)["draws"] == "7", "the marker stays"
    assert "drawn in" not in c.status.value
    assert not c.run_button.disabled and c.run_button.description == "Run steps"
    assert any("run failed" in r.getMessage() for r in caplog.records)


def test_status_html_carries_the_status():
    html = controls.status_html(STATUS, 1.234)
    assert marker(html) == {"draws": "7", "steps": "3", "chi2": "12.5", "sigma": "abc"}
    assert "χ² = 12.5 for 5 points (χ²/N = 2.5); 3 steps; drawn in 1.23 s" in html
    odd = controls.Status(0.1 + 0.2, 3, 0, 0, "x")
    assert float(marker(controls.status_html(odd))["chi2"]) == 0.1 + 0.2, "round trip"


def test_checksum_follows_every_value():
    t = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)
    u = t.clone()
    assert controls.checksum(t) == controls.checksum(u)
    u[7] = torch.nextafter(u[7], torch.tensor(2.0, dtype=torch.float64))
    assert controls.checksum(t) != controls.checksum(u), "one ulp changes it"
    assert len(controls.checksum(t)) == 16


def test_bad_arguments():
    with pytest.raises(ValueError, match="span"):
        Recorder().make(span=float("inf"))
    with pytest.raises(ValueError, match="unknown optimizer"):
        Recorder().make(optimizer="sgd")
