r"""The interactive closure fit behind notebook 03: sliders, optimiser steps, live χ².

A :class:`FitExplorer` holds a cross section (:class:`sidislab.observables.xsec.CrossSection`, a copy
of the notebook's), its targets (:class:`sidislab.fit.Targets`) and the controls:

* one slider per free fNP parameter (g2 included when free): moving one sets the
  parameter and redraws σ(qT) against the pseudo-data, one panel per kinematic bin
  (same experiment, x, Q², z; :func:`kinematic_bins`);
* a *Run* button that takes N optimiser steps (LBFGS or Adam) on

      χ²(θ) = Σ_i (σ_i(θ) − t_i)² / δ_i²        (:func:`sidislab.fit.loss_value`)

  redrawing the χ² curve after every step and σ(qT) at the end, and moving the sliders
  to the new parameters;
* a *Reset* button back to the start; a status line that also carries a machine-readable
  marker (``<span class="sidislab-fit-explorer-state" data-draws=… data-steps=…
  data-chi2=… data-sigma=…>``) so a browser test can tell that a redraw really happened.

It follows the two rules of :mod:`sidislab.workbench.widgets`: **static first** (:meth:`show`
displays both figures as ordinary image outputs with display ids, then the controls; a
headless run carries the figures, nothing waits for a user; later redraws replace those
outputs in place) and **debounced** (sliders report on release; a redraw at unchanged
values is skipped; while the optimiser moves the sliders no redraw is triggered).

All of it works without a browser: the callbacks are plain methods
(:meth:`FitExplorer.set_values`, :meth:`FitExplorer.run_steps`, :meth:`FitExplorer.reset`)
and the figures are ``matplotlib.figure.Figure`` objects built without pyplot.

Helpers for the closure test of the notebook: :func:`select_bins` (a small, spread set of
whole bins), :func:`perturbed` (the start θ_true·(1 ± f), as ``sidislab fit --perturb``),
:func:`closure_rows` and :func:`max_relative_deviation` (recovered against true
parameters), :func:`loss_shares` (each bin's share of χ² and of the MSE) and
:func:`correlation_matrix` (of the Hessian covariance C = 2H⁻¹, :mod:`sidislab.fit`).
"""

from __future__ import annotations

import copy
import hashlib
import html
import io
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from sidislab import fit as F
from sidislab.kinematics import Kinematics
from sidislab.observables.xsec import CrossSection
from sidislab.workbench import widgets

log = logging.getLogger(__name__)

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

OPTIMIZERS = ("lbfgs", "adam")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.005}
STATE_CLASS = "sidislab-fit-explorer-state"
"""CSS class of the status marker (see the module docstring)."""


# --- kinematic bins ----------------------------------------------------------------------


@dataclass(frozen=True)
class KinematicBin:
    """Points that share experiment (label), x, Q² and z: one σ(qT) curve.

    ``indices`` index the points of the :class:`Kinematics` the bin was made from,
    ordered by increasing qT.
    """

    label: str
    x: float
    Q2: float
    z: float
    indices: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.indices)

    def title(self) -> str:
        """``HERMES  x=0.04 Q²=1.4 z=0.25`` (label upper-cased)."""
        return f"{self.label.upper()}  x={self.x:g} Q²={self.Q2:g} z={self.z:g}"


def kinematic_bins(kin: Kinematics, *, digits: int = 10) -> list[KinematicBin]:
    """Group the points of ``kin`` by (label, x, Q², z), in order of first appearance.

    Values are compared after rounding to ``digits`` significant digits, so that bins
    written with the same numbers group even after float round trips. Points without a
    label use the file name (``kin.source``).
    """
    labels = kin.labels or (kin.source,) * len(kin)

    def key(v: float) -> float:
        return float(f"{v:.{digits}g}")

    xs, q2s, zs = kin.x.tolist(), kin.Q2.tolist(), kin.z.tolist()
    qT = kin.qT.tolist()
    groups: dict[tuple[str, float, float, float], list[int]] = {}
    for i, (lab, x, q2, z) in enumerate(zip(labels, xs, q2s, zs)):
        groups.setdefault((lab, key(x), key(q2), key(z)), []).append(i)
    return [
        KinematicBin(lab, x, q2, z, tuple(sorted(idx, key=lambda i: qT[i])))
        for (lab, x, q2, z), idx in groups.items()
    ]


def _spread(n_items: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n_items)`` (first and last included)."""
    if k >= n_items:
        return list(range(n_items))
    return sorted({round(float(v)) for v in np.linspace(0, n_items - 1, k)})


def select_bins(kin: Kinematics, n_points: int) -> Kinematics:
    """Whole bins of ``kin`` (:func:`kinematic_bins`), at most ``n_points`` points.

    The bins are spread evenly over the file's order (experiment, then x–Q², then z), so
    that a small selection still spans experiments, Q² and z — what the free parameters
    need to be constrained (a single z cannot fix the z-dependence of the TMD FF). At
    least one bin is taken. The points keep the order of ``kin``.

    Raises ``ValueError`` for ``n_points`` < 1.
    """
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 1:
        raise ValueError(f"select_bins: n_points must be a positive integer, got {n_points!r}")
    bins = kinematic_bins(kin)
    if not bins:
        raise ValueError(f"{kin.source}: no kinematic points to select from")
    chosen = _spread(len(bins), 1)
    for k in range(2, len(bins) + 1):
        trial = _spread(len(bins), k)
        if sum(len(bins[j]) for j in trial) > n_points:
            break
        chosen = trial
    index = sorted(i for j in chosen for i in bins[j].indices)
    log.info(
        "%s: %d of %d bins selected, %d points", kin.source, len(chosen), len(bins), len(index)
    )
    return kin.subset(index)


# --- closure-test helpers ----------------------------------------------------------------


def perturbed(vector: Tensor, fraction: float = 0.2, seed: int = 0) -> Tensor:
    """The start of a closure test: ``vector·(1 ± fraction)``, signs drawn with ``seed``.

    The same draw as ``sidislab fit --perturb fraction --seed seed`` (a
    ``torch.Generator`` seeded with ``seed``, one ``randint(0, 2)`` per parameter).
    """
    if not (math.isfinite(fraction) and fraction >= 0):
        raise ValueError(f"perturbed: fraction must be a finite number >= 0, got {fraction}")
    gen = torch.Generator().manual_seed(int(seed))
    signs = torch.randint(0, 2, vector.shape, generator=gen).to(vector) * 2 - 1
    return vector * (1 + fraction * signs)


def max_relative_deviation(result: F.FitResult) -> float:
    """max_p |θ_fit − θ_true| / |θ_true| of a closure fit (the true values must be known)."""
    if result.true is None:
        raise ValueError("max_relative_deviation: the fit has no true parameters (not a closure)")
    fit = torch.tensor(result.final, dtype=torch.float64)
    true = torch.tensor(result.true, dtype=torch.float64)
    return float(((fit - true).abs() / true.abs().clamp(min=1e-300)).max())


def closure_rows(result: F.FitResult, start: Sequence[float] | Tensor) -> list[dict[str, Any]]:
    """One row per free parameter: true, start, fit, uncertainty, relative deviation and
    pull (fit − true)/uncertainty (None where no covariance was computed)."""
    if result.true is None:
        raise ValueError("closure_rows: the fit has no true parameters (not a closure)")
    start_values = torch.as_tensor(start, dtype=torch.float64).tolist()
    errors = result.uncertainties or [None] * len(result.final)
    rows = []
    for name, true, s, fit, err in zip(
        result.parameter_names, result.true, start_values, result.final, errors
    ):
        rows.append(
            {
                "parameter": name,
                "true": true,
                "start": s,
                "fit": fit,
                "uncertainty": err,
                "(fit − true)/true": (fit - true) / true if true else math.nan,
                "pull": (fit - true) / err if err else None,
            }
        )
    return rows


def correlation_matrix(covariance: Sequence[Sequence[float]] | Tensor) -> Tensor:
    """ρ_ij = C_ij / √(C_ii C_jj) of a covariance matrix (float64)."""
    cov = torch.as_tensor(covariance, dtype=torch.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"correlation_matrix: expected a square matrix, got {tuple(cov.shape)}")
    d = cov.diagonal()
    if (d <= 0).any():
        i = int((d <= 0).nonzero()[0])
        raise ValueError(f"correlation_matrix: variance {i} is {d[i].item()} (must be > 0)")
    s = d.sqrt()
    return cov / (s[:, None] * s[None, :])


def loss_shares(
    sigma: Tensor, targets: F.Targets, bins: Sequence[KinematicBin]
) -> list[dict[str, Any]]:
    """How much each bin contributes to χ² and to the MSE at the given σ.

    Per point, χ² adds ((σ_i − t_i)/δ_i)² and the MSE (σ_i − t_i)²/N
    (:func:`sidislab.fit.loss_value`). Returns one row per bin: ``bin`` (its title),
    ``points``, ``sigma_max`` (the bin's largest |σ|), ``chi2_share`` and ``mse_share``
    (fractions of the totals over all points): an unweighted loss sees only the bins with
    the largest cross sections.
    """
    r = (sigma - targets.values).detach()
    chi2_terms = (r / targets.uncertainties) ** 2
    mse_terms = r**2
    chi2_total = float(chi2_terms.sum()) or 1.0
    mse_total = float(mse_terms.sum()) or 1.0
    rows = []
    for b in bins:
        if max(b.indices) >= len(sigma):
            raise ValueError(f"loss_shares: bin {b.title()} indexes beyond {len(sigma)} points")
        i = torch.tensor(b.indices, device=r.device)
        rows.append(
            {
                "bin": b.title(),
                "points": len(b),
                "sigma_max": float(sigma.detach()[i].abs().max()),
                "chi2_share": float(chi2_terms[i].sum()) / chi2_total,
                "mse_share": float(mse_terms[i].sum()) / mse_total,
            }
        )
    return rows


# --- the explorer ------------------------------------------------------------------------


def _checksum(t: Tensor) -> str:
    """A short hash of a tensor's float64 bytes: changes whenever any value changes."""
    data = t.detach().to("cpu", torch.float64).contiguous().numpy().tobytes()
    return hashlib.sha1(data).hexdigest()[:16]


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

    Attributes: ``sliders`` (name → slider), ``run_button``, ``reset_button``,
    ``steps``, ``optimizer``, ``lr`` (controls), ``status`` (HTML with the marker),
    ``widget`` (all controls), ``history`` (one dict per recorded χ²: ``step``, ``chi2``),
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
        if optimizer not in OPTIMIZERS:
            raise ValueError(
                f"FitExplorer: unknown optimizer {optimizer!r} (allowed: {', '.join(OPTIMIZERS)})"
            )
        if len(targets.values) != len(xsec.kin):
            raise ValueError(
                f"FitExplorer: targets have {len(targets.values)} points, "
                f"the cross section {len(xsec.kin)}"
            )
        if not (span > 0 and math.isfinite(span)):
            raise ValueError(f"FitExplorer: span must be a positive number, got {span}")
        self.xs = _copy_module(xsec) if copy else xsec
        self.fnp = self.xs.fnp
        self.names = self.fnp.parameter_names()
        if not self.names:
            raise ValueError("FitExplorer: no free parameters (every fNP parameter is frozen)")
        if start is not None:
            self.fnp.set_vector(start)
        self.start = self.fnp.get_vector()
        self.targets = targets
        self.lbfgs_iterations = int(lbfgs_iterations)
        self._sigma_cache: tuple[Tensor, Tensor] | None = None
        self.bins = kinematic_bins(self.xs.kin)
        self.panels = [self.bins[j] for j in _spread(len(self.bins), max_panels)]
        self.ncols = max(1, min(ncols, len(self.panels)))
        self.start_sigma = self.sigma()

        self.history: list[dict[str, float]] = []
        self.n_steps = 0
        self.n_draws = 0
        self.last_error: BaseException | None = None
        self.sigma_figure: Figure | None = None
        self.chi2_figure: Figure | None = None
        self._optimizer: torch.optim.Optimizer | None = None
        self._optimizer_kind: tuple[str, float] | None = None
        self._syncing = False
        self._drawn_vector: Tensor | None = None
        self._sigma_handle: Any = None
        self._chi2_handle: Any = None

        self.sliders: dict[str, ipywidgets.FloatSlider] = {}
        for name, value in zip(self.names, self.start.tolist()):
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
        self._update_status()

    # --- state ---------------------------------------------------------------------------
    @property
    def values(self) -> dict[str, float]:
        """The current free parameters, name → value."""
        return dict(zip(self.names, self.fnp.get_vector().tolist()))

    def sigma(self) -> Tensor:
        """σ at the current parameters, [N] (no graph; remembered until they change)."""
        key = self.fnp.get_vector(free_only=False)
        if self._sigma_cache is None or not torch.equal(self._sigma_cache[0], key):
            with torch.no_grad():
                self._sigma_cache = (key, self.xs().detach())
        return self._sigma_cache[1]

    def chi2(self) -> float:
        """χ² at the current parameters."""
        return float(F.loss_value(self.sigma(), self.targets, "chi2"))

    # --- figures -------------------------------------------------------------------------
    def draw_sigma(self) -> Figure:
        """σ(qT) per bin at the current parameters, with the pseudo-data (±δ) and the
        start (dotted); a new figure (no pyplot state)."""
        sigma_t = self.sigma()
        chi2 = float(F.loss_value(sigma_t, self.targets, "chi2"))
        sigma = sigma_t.cpu().numpy()
        start = self.start_sigma.cpu().numpy()
        values = self.targets.values.detach().cpu().numpy()
        delta = self.targets.uncertainties.detach().cpu().numpy()
        qT = self.xs.kin.qT.detach().cpu().numpy()
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
        fig = Figure(figsize=(6.0, 2.8), layout="constrained")
        ax = fig.subplots()
        n_points = len(self.targets.values)
        if self.history:
            steps = [h["step"] for h in self.history]
            chi2 = [max(h["chi2"], 1e-300) / n_points for h in self.history]
            ax.plot(steps, chi2, "o-", color="C3", ms=3)
            ax.set_yscale("log")
            ax.set_title(f"χ²/N = {chi2[-1]:.3g} after {self.n_steps} steps", fontsize=10)
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
            ax.set_title(f"χ²/N = {self.chi2() / n_points:.3g} at the start", fontsize=10)
        ax.set_xlabel("optimiser step")
        ax.set_ylabel("χ²/N")
        ax.grid(True, alpha=0.3)
        return fig

    def show(self) -> None:
        """Display σ(qT) (static PNG, display id), the controls, then the χ² curve.

        The figures are published as PNG data (:func:`figure_bundle`), independent of the
        matplotlib backend, so that an executed notebook and its HTML page carry them. An
        exception of this first draw propagates (a headless run must fail on it).
        """
        t0 = time.perf_counter()
        self.sigma_figure = self.draw_sigma()
        self.chi2_figure = self.draw_chi2()
        self._drawn_vector = self.fnp.get_vector()
        self.n_draws += 1
        self._sigma_handle = _display(figure_bundle(self.sigma_figure), raw=True, display_id=True)
        _display(self.widget)
        self._chi2_handle = _display(figure_bundle(self.chi2_figure), raw=True, display_id=True)
        self._update_status(time.perf_counter() - t0)

    def redraw(self, *, force: bool = False) -> bool:
        """Redraw σ(qT) at the current parameters (skipped when unchanged unless ``force``);
        replaces the displayed figure in place. Returns whether it drew."""
        vector = self.fnp.get_vector()
        if not force and self._drawn_vector is not None and torch.equal(vector, self._drawn_vector):
            return False
        t0 = time.perf_counter()
        fig = self.draw_sigma()
        self.sigma_figure, self._drawn_vector = fig, vector
        self.n_draws += 1
        if self._sigma_handle is not None:
            self._sigma_handle.update(figure_bundle(fig), raw=True)
        self._update_status(time.perf_counter() - t0)
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
        new = {**(values or {}), **kw}
        unknown = sorted(set(new) - set(self.names))
        if unknown:
            raise ValueError(f"FitExplorer.set_values: no free parameters {unknown} ({self.names})")
        current = self.values
        current.update({k: float(v) for k, v in new.items()})
        self.fnp.set_vector([current[n] for n in self.names])
        self._parameters_moved()
        self._sync_sliders()
        self.redraw()

    def run_steps(self, n: int | None = None) -> list[float]:
        """Take ``n`` optimiser steps (default: the *steps* control) on χ²; returns the χ²
        after each. The χ² curve is redrawn after every step, σ(qT) and the sliders at
        the end. A step that makes χ² non-finite is undone and stops the run
        (``ValueError``)."""
        n = int(self.steps.value if n is None else n)
        if n < 1:
            raise ValueError(f"FitExplorer.run_steps: n must be >= 1, got {n}")
        opt = self._get_optimizer()
        if not self.history or self.history[-1]["chi2"] != self.chi2():
            self.history.append({"step": float(self.n_steps), "chi2": self.chi2()})

        def closure() -> Tensor:
            opt.zero_grad()
            value = F.loss_value(self.xs(), self.targets, "chi2")
            value.backward()
            return value

        out: list[float] = []
        try:
            for _ in range(n):
                before = self.fnp.get_vector()
                opt.step(closure)
                value = self.chi2()
                if not math.isfinite(value):
                    self.fnp.set_vector(before)
                    self._optimizer = None
                    raise ValueError(
                        f"step {self.n_steps + 1}: χ² became {value}; step undone "
                        "(lower the learning rate)"
                    )
                self.n_steps += 1
                out.append(value)
                self.history.append({"step": float(self.n_steps), "chi2": value})
                self._redraw_chi2()
                self._update_status()
        finally:
            if hasattr(self.fnp, "canonicalize"):
                before = self.fnp.get_vector()
                self.fnp.canonicalize()  # −N and N are the same model: show |N|
                if not torch.equal(before, self.fnp.get_vector()):
                    self._optimizer = None  # its memory refers to the other sign
            self._sync_sliders()
            self.redraw()
        log.info("FitExplorer: %d steps, χ² = %.6g", n, out[-1] if out else math.nan)
        return out

    def reset(self) -> None:
        """Back to the start parameters; the χ² history is cleared."""
        self.fnp.set_vector(self.start)
        self.history.clear()
        self.n_steps = 0
        self._optimizer = None
        self._sync_sliders()
        self._redraw_chi2()
        self.redraw()

    # --- callbacks -----------------------------------------------------------------------
    def _slider_changed(self, _change: Mapping[str, Any]) -> None:
        if self._syncing:
            return
        try:
            self.fnp.set_vector([float(self.sliders[n].value) for n in self.names])
            self._parameters_moved()
            self.redraw()
        except Exception as exc:  # shown to the user and logged; the last figure stays
            self._fail("redraw", exc)

    def _run_clicked(self) -> None:
        self.run_button.disabled = True
        self.run_button.description = "running…"
        try:
            self.run_steps()
        except Exception as exc:  # shown to the user and logged
            self._fail("run", exc)
        finally:
            self.run_button.disabled = False
            self.run_button.description = "Run steps"

    def _reset_clicked(self) -> None:
        try:
            self.reset()
        except Exception as exc:  # shown to the user and logged
            self._fail("reset", exc)

    def _optimizer_changed(self, change: Mapping[str, Any]) -> None:
        self.lr.value = DEFAULT_LR[change["new"]]
        self._optimizer = None

    def _fail(self, what: str, exc: BaseException) -> None:
        self.last_error = exc
        log.exception("FitExplorer: %s failed", what)
        self._update_status(error=f"{what} failed: {type(exc).__name__}: {exc}")

    # --- internals -----------------------------------------------------------------------
    def _parameters_moved(self) -> None:
        """Parameters changed by hand: the optimiser's memory no longer applies."""
        self._optimizer = None

    def _get_optimizer(self) -> torch.optim.Optimizer:
        kind = (str(self.optimizer.value), float(self.lr.value))
        if self._optimizer is None or self._optimizer_kind != kind:
            param = self.fnp.free_values
            if kind[0] == "lbfgs":
                self._optimizer = torch.optim.LBFGS(
                    [param],
                    lr=kind[1],
                    max_iter=self.lbfgs_iterations,
                    line_search_fn="strong_wolfe",
                )
            else:
                self._optimizer = torch.optim.Adam([param], lr=kind[1])
            self._optimizer_kind = kind
        return self._optimizer

    def _sync_sliders(self) -> None:
        """Move the sliders to the parameters without triggering redraws; a range that no
        longer contains its value is widened."""
        self._syncing = True
        try:
            for name, value in self.values.items():
                s = self.sliders[name]
                if value < s.min:
                    s.min = value - 0.1 * (s.max - value)
                if value > s.max:
                    s.max = value + 0.1 * (value - s.min)
                s.value = value
        finally:
            self._syncing = False

    def _update_status(self, seconds: float | None = None, *, error: str = "") -> None:
        sigma = self.sigma()
        chi2 = float(F.loss_value(sigma, self.targets, "chi2"))
        n = len(sigma)
        text = f"χ² = {chi2:.6g} for {n} points (χ²/N = {chi2 / n:.3g}); {self.n_steps} steps"
        if seconds is not None:
            text += f"; drawn in {seconds:.2f} s"
        marker = (
            f'<span class="{STATE_CLASS}" data-draws="{self.n_draws}" '
            f'data-steps="{self.n_steps}" data-chi2="{chi2:.17g}" '
            f'data-sigma="{_checksum(sigma)}">{html.escape(text)}</span>'
        )
        if error:
            marker += f'<br><span style="color:#b00020">{html.escape(error)}</span>'
        self.status.value = f"<small>{marker}</small>"


def figure_bundle(fig: Figure) -> dict[str, Any]:
    """A figure as a display bundle: PNG bytes (``image/png``) and a text description.

    Rendered with the Agg canvas, whatever the backend: the inline backend's formatter is
    only installed once pyplot has made a figure, and these figures bypass pyplot.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    text = fig.get_suptitle() or ""
    return {"image/png": buf.getvalue(), "text/plain": f"<figure: {text or 'sidislab'}>"}


def _display(obj: Any, **kwargs: Any) -> Any:
    """``IPython.display.display`` (one place, so that tests can replace it)."""
    from IPython.display import display

    return display(obj, **kwargs)


def _css_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)


def _copy_module(xsec: CrossSection) -> CrossSection:
    """A deep copy of the cross section (parameters and buffers), for the explorer; the
    read-only luminosity table it was built from is shared, not copied."""
    memo: dict[int, Any] = {}
    table = getattr(xsec, "_lumi_source", None)
    if table is not None:
        memo[id(table)] = table
    return copy.deepcopy(xsec, memo)
