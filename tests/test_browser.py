"""Notebook 03 in a real JupyterLab, driven by a real Chromium (Playwright).

What a user does, checked end to end: open ``03_synthetic_fit.ipynb``, *Run All*, wait
for the interactive explorer, move a slider with the keyboard and press *Run steps*.
Each action must change what is on the screen:

* the explorer's status marker (``.sidislab-fit-explorer-state``, written by the kernel,
  :mod:`sidislab.workbench.fit_explorer`) counts redraws and carries a hash of σ — it must change;
* the σ(qT) image shown in the notebook (a PNG replaced in place through its display id)
  must change: its ``src`` and its pixels;
* *Run steps* must add optimiser steps and replace the χ² image.

Screenshots go to ``reports/browser/``. JupyterLab runs on 127.0.0.1 with a random token
and port, from a temporary root holding a copy of the notebook and the data it reads,
with temporary Jupyter config/data/runtime/settings/workspace folders and the session's
luminosity cache as ``SIDISLAB_CACHE_DIR`` (``lumi_cache_dir`` in conftest); it is shut down (REST call, then SIGTERM/SIGKILL of its process
group) when the test ends, and it would stop by itself after 15 idle minutes.
Skipped, with the reason, when ``/usr/bin/chromium`` or Playwright is missing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = "03_synthetic_fit.ipynb"
CHROMIUM = Path(os.environ.get("SIDISLAB_CHROMIUM", "/usr/bin/chromium"))  # as conftest
SHOTS = REPO / "reports" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_S = 180  # a loaded 2-core machine: JupyterLab may take a while to answer
RUN_ALL_S = 420  # kernel start + the notebook's cells (≈ 30 s headless on 2 cores)
ACTION_S = 180  # one redraw or a few optimiser steps, after the kernel is free

STATE = ".sidislab-fit-explorer-state"


def _playwright():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (apt-get install -y chromium)")
    return pytest.importorskip(
        "playwright.sync_api", reason="Python Playwright is not installed (pip install playwright)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lab:
    """A JupyterLab server started for this test (see the module docstring)."""

    def __init__(self, base: Path, cache_dir: Path) -> None:
        self.base = base
        self.cache_dir = cache_dir
        self.root = base / "root"
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "jupyterlab.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def prepare(self) -> None:
        """The server's root (notebook + the data it reads) and private Jupyter folders."""
        (self.root / "notebooks").mkdir(parents=True)
        shutil.copy2(REPO / "notebooks" / NOTEBOOK, self.root / "notebooks" / NOTEBOOK)
        for sub in ("kinematics", "fnp"):
            shutil.copytree(REPO / "data" / sub, self.root / "data" / sub)
        settings = self.base / "lab-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
        )  # no "Jupyter news?" toast over the notebook
        spec = self.base / "jupyter-data" / "kernels" / "python3"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    "display_name": "Python 3 (ipykernel)",
                    "language": "python",
                }
            ),
            encoding="utf-8",
        )

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        folders = {
            "JUPYTER_CONFIG_DIR": "jupyter-config",
            "JUPYTER_DATA_DIR": "jupyter-data",
            "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
            "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
            "IPYTHONDIR": "ipython",
            "MPLCONFIGDIR": "matplotlib",
        }
        for var, name in folders.items():
            path = self.base / name
            path.mkdir(parents=True, exist_ok=True)
            env[var] = str(path)
        env["SIDISLAB_CACHE_DIR"] = str(self.cache_dir)  # the session's tables
        env.pop("JUPYTER_PATH", None)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.shutdown_no_activity_timeout=900",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.news_url=None",
            "--ServerApp.terminals_enabled=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # CI containers run as root
        with open(self.log_path, "wb") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                cmd,
                cwd=self.root,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stopped as a whole
            )
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(
                    f"{self.url}/api/status?token={self.token}", timeout=5
                ) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)  # polling a server that is not up yet: no event to wait for
        raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_S} s:\n{self.log()}")

    def stop(self) -> None:
        """Shut the server (and its kernels) down; kill its process group if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            req = urllib.request.Request(
                f"{self.url}/api/shutdown",
                method="POST",
                headers={"Authorization": f"token {self.token}"},
            )
            urllib.request.urlopen(req, timeout=10).close()
            self.proc.wait(timeout=30)
        except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
            pass
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)  # the group this test started
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue

    def log(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no log)"


@pytest.fixture(scope="module")
def lab(tmp_path_factory, lumi_cache_dir):
    _playwright()
    server = Lab(tmp_path_factory.mktemp("lab"), lumi_cache_dir)
    server.prepare()
    try:
        server.start()
        yield server
    finally:
        server.stop()


# JavaScript run in the page (JupyterLab exposes its application as window.jupyterapp)
_NOTEBOOK_READY = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
    && panel.sessionContext.session.kernel;
  return !!(panel && panel.content && panel.content.widgets && kernel
    && kernel.status === 'idle' && panel.context.isReady);
}"""

_RUN_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const errors = [];
  let pending = 0;
  for (const cell of panel.content.widgets) {
    if (cell.model.type !== 'code') continue;
    if (cell.model.executionCount === null) pending += 1;
    const outputs = cell.model.outputs;
    for (let i = 0; i < outputs.length; i++) {
      const out = outputs.get(i).toJSON();
      if (out.output_type === 'error') errors.push(out.ename + ': ' + out.evalue);
    }
  }
  const kernel = panel.sessionContext.session.kernel;
  if (errors.length) return {done: true, errors: errors};
  return {done: pending === 0 && kernel.status === 'idle', errors: [], pending: pending};
}"""


def _marker(page) -> dict[str, str]:
    return page.eval_on_selector(
        STATE,
        "el => ({draws: el.dataset.draws, steps: el.dataset.steps, chi2: el.dataset.chi2,"
        " sigma: el.dataset.sigma})",
    )


def _wait_marker(page, key: str, old: str, timeout_s: float) -> None:
    page.wait_for_function(
        "([sel, key, old]) => { const el = document.querySelector(sel);"
        " return el && el.dataset[key] !== old; }",
        arg=[STATE, key, old],
        timeout=timeout_s * 1000,
    )


def _wait_src_change(image, old: str, timeout_s: float) -> None:
    image.page.wait_for_function(
        "([el, old]) => el.isConnected && el.getAttribute('src') !== old",
        arg=[image.element_handle(), old],
        timeout=timeout_s * 1000,
    )


def test_notebook_03_sliders_and_run_button_redraw_in_jupyterlab(lab, tmp_path):
    sync_api = _playwright()
    SHOTS.mkdir(parents=True, exist_ok=True)
    shots = {
        "executed": SHOTS / "03_synthetic_fit_1_executed.png",
        "slider": SHOTS / "03_synthetic_fit_2_slider_moved.png",
        "run": SHOTS / "03_synthetic_fit_3_run_steps.png",
        "failure": SHOTS / "03_synthetic_fit_failure.png",
    }
    for p in shots.values():
        p.unlink(missing_ok=True)
    t0 = time.monotonic()
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh --user-data-dir
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1500, "height": 1900},  # the explorer cell fits
        )
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(ACTION_S * 1000)
        try:
            page.goto(
                f"{lab.url}/lab/tree/notebooks/{NOTEBOOK}?reset&token={lab.token}",
                wait_until="domcontentloaded",
                timeout=SERVER_START_S * 1000,
            )
            page.wait_for_function(_NOTEBOOK_READY, timeout=SERVER_START_S * 1000, polling=500)

            # Run All (JupyterLab's own command), then wait until every cell has run
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(
                f"() => ({_RUN_STATE})().done", timeout=RUN_ALL_S * 1000, polling=1000
            )
            state = page.evaluate(f"() => ({_RUN_STATE})()")
            assert not state["errors"], f"notebook cells failed: {state['errors']}"
            t_run = time.monotonic() - t0

            explorer = page.locator(".jp-CodeCell", has=page.locator(STATE))
            explorer.wait_for(state="visible")
            images = explorer.locator(".jp-OutputArea-output img")
            assert images.count() == 2, "the explorer shows the σ(qT) figure and the χ² curve"
            sigma_img, chi2_img = images.nth(0), images.nth(1)
            explorer.scroll_into_view_if_needed()
            before = _marker(page)
            assert int(before["steps"]) > 0, "the cell after the explorer ran optimiser steps"
            src_before = sigma_img.get_attribute("src")
            pixels_before = sigma_img.screenshot()
            explorer.screenshot(path=str(shots["executed"]))

            # move the ff.N3 slider with the keyboard: focus its handle, jump to the end
            slider = page.locator(".sidislab-fit-explorer-ff-N3")
            readout = slider.locator(".widget-readout")
            value_before = readout.inner_text()
            handle = slider.locator(".noUi-handle")
            handle.focus()
            handle.press("End")
            _wait_marker(page, "draws", before["draws"], ACTION_S)
            _wait_src_change(sigma_img, src_before, ACTION_S)
            after = _marker(page)
            assert int(after["draws"]) > int(before["draws"])
            assert after["sigma"] != before["sigma"], "σ must change with the parameter"
            assert after["chi2"] != before["chi2"]
            assert readout.inner_text() != value_before
            pixels_after = sigma_img.screenshot()
            assert pixels_after != pixels_before, "the σ(qT) figure on screen did not change"
            explorer.screenshot(path=str(shots["slider"]))

            # press "Run steps": the optimiser moves, the χ² curve is replaced
            chi2_src = chi2_img.get_attribute("src")
            steps = int(explorer.locator(".sidislab-fit-explorer-steps input").input_value())
            explorer.locator(".sidislab-fit-explorer-run").click()
            page.wait_for_function(
                "([sel, n]) => { const el = document.querySelector(sel);"
                " return el && Number(el.dataset.steps) >= n; }",
                arg=[STATE, int(after["steps"]) + steps],
                timeout=ACTION_S * 1000,
            )
            _wait_src_change(chi2_img, chi2_src, ACTION_S)
            final = _marker(page)
            assert float(final["chi2"]) < float(after["chi2"]), "the optimiser lowers χ²"
            explorer.locator(".sidislab-fit-explorer-run:not([disabled])").wait_for()
            explorer.screenshot(path=str(shots["run"]))
        except Exception:
            try:
                page.screenshot(path=str(shots["failure"]), full_page=True)
            finally:
                print(f"JupyterLab log (tail):\n{lab.log()}")
            raise
        finally:
            context.close()
    print(
        f"browser test: Run All done after {t_run:.0f} s, whole test {time.monotonic() - t0:.0f} s; "
        f"screenshots in {SHOTS}"
    )


# --- a report page, offline ---------------------------------------------------------------

_MATHS_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": "The cross section:\n\n$$\\sigma(q_T) = \\int_0^\\infty "
            "\\frac{b\\,db}{2\\pi} J_0(b q_T)\\, L(b)$$\n\nand inline $b_* = b_0/Q$.",
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {"tags": ["parameters"]},
            "outputs": [],
            "source": "metrics_path = ''",
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": "from IPython.display import Math\nMath(r'\\int_0^1 x\\,dx = \\tfrac12')",
        },
    ],
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}

_MATHS_STATE = """() => {
  const jax = document.querySelectorAll('.MathJax, .MathJax_Display, .MathJax_CHTML, .katex');
  const text = Array.from(document.querySelectorAll('.jp-MarkdownOutput, .jp-OutputArea-output'))
    .map(e => e.innerText).join('\\n');  // rendered text (the code cell shows its source)
  return {rendered: jax.length, raw: text.includes('$$') || text.includes('\\\\int'),
          idle: !!(window.MathJax && window.MathJax.Hub && window.MathJax.Hub.queue
                   && window.MathJax.Hub.queue.pending === 0 && window.MathJax.isReady)};
}"""


def test_report_page_renders_maths_with_the_network_blocked(tmp_path):
    """A page written by `sidislab report`, opened from disk with every request that is not
    file:// or localhost aborted: MathJax (bundled in reports/_static) typesets the
    equations — no raw $$ or \\int is left — and the page asks for nothing remote."""
    sync_api = _playwright()
    from sidislab.workbench import report

    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "40_maths.ipynb").write_text(json.dumps(_MATHS_NOTEBOOK), encoding="utf-8")
    out = tmp_path / "reports"
    main = "import sys; from sidislab.cli import main; sys.exit(main())"
    args = ["report", "--notebook-dir", str(folder), "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-c", main, *args, "--baselines", str(tmp_path / "baselines")],
        capture_output=True,
        text=True,
        timeout=RUN_ALL_S,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = out / "40_maths.html"
    assert "$$" in page.read_text(encoding="utf-8")  # the TeX is there for MathJax to typeset
    npm_assets = (report._web_assets() / "html-manager" / "dist" / "embed-amd.js").is_file()
    blocked: list[str] = []

    def guard(route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "http://127.0.0.1", "http://localhost")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("internetdisconnected")

    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            offline=True,
        )
        try:
            context.route("**/*", guard)
            tab = context.pages[0] if context.pages else context.new_page()
            tab.goto(page.as_uri(), wait_until="load", timeout=ACTION_S * 1000)
            tab.wait_for_function(
                f"() => {{ const s = ({_MATHS_STATE})(); return s.idle && s.rendered >= 3; }}",
                timeout=ACTION_S * 1000,
                polling=250,
            )
            state = tab.evaluate(f"() => ({_MATHS_STATE})()")
            SHOTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(SHOTS / "report_offline_maths.png"), full_page=True)
        finally:
            context.close()
    assert state["rendered"] >= 3, state  # display, inline and the Math() output
    assert not state["raw"], "raw TeX left on the page"
    if npm_assets:
        assert blocked == [], f"the page asked for remote files: {blocked}"
    else:  # require.js comes from the CDN without the npm assets; the maths does not
        assert not [u for u in blocked if "mathjax" in u.lower()], blocked
