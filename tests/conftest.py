"""Shared fixtures: the ``../shared`` folder beside the checkout, and its reference data.

Tests that need ``../shared`` skip cleanly when it is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SIDISLAB_SHARED", REPO.parent / "shared"))


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared not beside the checkout)")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _need(SHARED)


@pytest.fixture(scope="session")
def shared_lhapdf(shared_dir: Path) -> Path:
    """Folder holding the JAM20-SIDIS LHAPDF sets."""
    return _need(shared_dir / "lhapdf")


@pytest.fixture(scope="session")
def sidis_data(shared_dir: Path) -> Path:
    """Folder holding the HERMES/COMPASS multiplicity tables (NangaParbat YAML)."""
    return _need(shared_dir / "data" / "sidis")


@pytest.fixture(scope="session")
def map22_reference(shared_dir: Path) -> dict:
    return json.loads(_need(shared_dir / "reference" / "map22_values.json").read_text())


@pytest.fixture(scope="session", params=[1, 2], ids=["order1", "order2"])
def apfel_reference(request, shared_dir: Path) -> dict:
    """The APFEL++ reference at PerturbativeOrder 1 and 2."""
    path = _need(shared_dir / "reference" / f"apfel_order{request.param}.json")
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def lumi_cache_dir(tmp_path_factory) -> Path:
    """One luminosity-cache folder for the whole run, shared by the pytest-xdist workers:
    the cache serialises the builders of a key on its lock and the others load the file,
    so a table (same provider, points and grid) is built once per run."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # pytest-N/, common to the workers' popen-gwK/
    path = root / "shared-lumi-cache"
    path.mkdir(exist_ok=True)
    return path


def load_apfel_reference(order: int) -> dict:
    """The APFEL++ reference for one order (skips when absent)."""
    path = _need(SHARED / "reference" / f"apfel_order{order}.json")
    return json.loads(path.read_text())


BROWSER_TESTS = "tests/test_browser.py"
CHROMIUM = Path(os.environ.get("SIDISLAB_CHROMIUM", "/usr/bin/chromium"))
"""Debian's chromium, which the browser tests drive (``SIDISLAB_CHROMIUM`` overrides)."""


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One line at the end of the run (after pytest's short summary) when the browser tests
    were skipped, with the command that installs what they need."""
    yield
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if BROWSER_TESTS in r.nodeid]
    if not skipped:
        return
    if not CHROMIUM.exists():
        why, fix = f"{CHROMIUM} is absent", "sudo apt-get install -y chromium"
    else:
        why, fix = "Python Playwright is absent", ".venv/bin/pip install -e '.[dev]'"
    terminalreporter.write_line(
        f"browser tests: {len(skipped)} skipped, {why}; install it with: {fix}",
        yellow=True,
        bold=True,
    )
