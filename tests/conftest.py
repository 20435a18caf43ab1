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
def map22_reference(shared_dir: Path) -> dict:
    return json.loads(_need(shared_dir / "reference" / "map22_values.json").read_text())


@pytest.fixture(scope="session", params=[1, 2], ids=["order1", "order2"])
def apfel_reference(request, shared_dir: Path) -> dict:
    """The APFEL++ reference at PerturbativeOrder 1 and 2."""
    path = _need(shared_dir / "reference" / f"apfel_order{request.param}.json")
    return json.loads(path.read_text())


def load_apfel_reference(order: int) -> dict:
    """The APFEL++ reference for one order (skips when absent)."""
    path = _need(SHARED / "reference" / f"apfel_order{order}.json")
    return json.loads(path.read_text())
