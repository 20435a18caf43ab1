"""The architecture, as a test: which parts of ``sidislab`` may import which.

The package is layered top-down. A module may import

* modules of its own unit (a unit is a sub-package such as ``lumi`` or a top-level module
  such as ``config``), and
* modules of any unit in a **lower** layer;

never a unit of its own layer or of a higher one. Imports inside functions count too (a
lazy import is still a dependency). ``sidislab/__init__.py`` is the facade that exposes
the entry points lazily and is not part of any layer; no module may import from it (use
``sidislab._version`` for the version).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sidislab"

# Top to bottom. Units in one row are siblings: neither imports the other.
LAYERS: list[tuple[str, ...]] = [
    ("cli",),  # the `sidislab` command
    ("workbench",),  # notebooks and reports: report, metrics, plotting, widgets, fit_explorer
    ("fit",),  # losses, optimisers, covariance, replicas
    ("pipeline",),  # config → kinematics → luminosity (cache) → observables
    ("lumi", "observables"),  # L_q(b) providers + cache; σ and what is measured
    ("tmd", "measurements"),  # b*, matching, Sudakov, hard factor; experimental tables
    ("collinear", "fnp", "kinematics", "config"),  # LHAPDF grids, α_s, α_em; fNP; inputs
    ("numerics", "compute", "yamlio", "resources"),  # J0, b-grids, Hankel; where work runs;
    # strict YAML; shipped data by name
    ("constants", "errors", "io", "_version"),  # leaves
]

RANK = {unit: i for i, row in enumerate(LAYERS) for unit in row}


def _unit(module: str) -> str | None:
    """``sidislab.lumi.cache`` → ``lumi``; ``sidislab`` itself → None (the facade)."""
    parts = module.split(".")
    if parts[0] != "sidislab":
        raise ValueError(module)
    return parts[1] if len(parts) > 1 else None


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported sidislab module) for every import in the file, at any depth."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("sidislab")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the package
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("sidislab"):
                continue
            if target == "sidislab":  # `from sidislab import lumi` names sub-modules
                found += [(node.lineno, f"sidislab.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, target))
    return found


def _files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_unit_has_a_layer():
    units = {_unit(_module_name(p)) for p in _files()} - {None}
    missing = sorted(units - set(RANK))
    assert not missing, f"units without a layer in LAYERS (add them): {missing}"
    stale = sorted(set(RANK) - units)
    assert not stale, f"LAYERS names units that do not exist: {stale}"


def test_imports_only_go_down():
    violations = []
    for path in _files():
        here = _unit(_module_name(path))
        if here is None:
            continue  # the facade
        for line, target in _imports(path):
            there = _unit(target)
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            if there is None:
                violations.append(f"{where}: imports the facade 'sidislab' ({target})")
            elif there == here:
                continue
            elif there not in RANK:
                violations.append(f"{where}: imports unknown unit {target}")
            elif RANK[there] == RANK[here]:
                violations.append(f"{where}: {here} imports its sibling {target}")
            elif RANK[there] < RANK[here]:
                violations.append(f"{where}: {here} imports {target}, a higher layer")
    assert not violations, "layer violations:\n" + "\n".join(violations)


@pytest.mark.parametrize(
    "source, ok",
    [
        ("from sidislab.numerics.bessel import j0", True),
        ("from sidislab.workbench import report", False),
        ("import sidislab.cli", False),
        ("from sidislab import fit", False),
        ("from sidislab.config import Config", False),  # sibling of kinematics
    ],
)
def test_checker_sees_violations(tmp_path, monkeypatch, source, ok):
    """The checker itself: a kinematics-level file with each import is judged as expected."""
    fake = tmp_path / "sidislab"
    fake.mkdir()
    (fake / "kinematics.py").write_text(f"def f():\n    {source}\n", encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    if ok:
        test_imports_only_go_down()
    else:
        with pytest.raises(AssertionError, match="layer violations"):
            test_imports_only_go_down()
