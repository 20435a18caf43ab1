"""Bad input through the ``sidislab`` command: one line on stderr, exit status 2, no
traceback, nothing written; the line names the file, the key (or column, line, point) and
the value. One test per defect class of issue 13, several inputs each.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sidislab.cli import main

HERMES = """header:
  Vs: 7.2565449
  target_isoscalarity: 1
  hadron: PI
  charge: 1
data:
  PhT: [0.1030419, 0.2055688, 0.3056045]
  x: [0.03758844, 0.03758844, 0.03758844]
  z: [0.5334359, 0.5370032, 0.5377358]
  Q2: [1.249727, 1.249727, 1.249727]
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A private cache folder and a small kinematics file; returns tmp_path."""
    monkeypatch.setenv("SIDISLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SIDISLAB_MEMORY_LIMIT", raising=False)
    (tmp_path / "kin.yaml").write_text(HERMES)
    return tmp_path


def run(argv: list[str], capsys) -> tuple[int, str]:
    """Run the command in-process; returns (exit status, stderr)."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    return code, err


def assert_one_line_error(code: int, err: str, command: str, *parts: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith(f"sidislab {command}: error: ")]
    assert len(lines) == 1, err
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def nothing_written(tmp_path: Path, *paths: Path) -> None:
    for p in paths:
        assert not p.exists(), p
    cache = tmp_path / "cache"
    assert not cache.exists() or not any(cache.iterdir()), list(cache.iterdir())


# --- YAML: YAML 1.2 numbers, duplicate keys, non-string keys, non-UTF-8 ------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("integrator: {tol: 1}\nintegrator: {tol: 2}\n", ["line 2: duplicate key 'integrator'"]),
        ("bgrid:\n  Nb: 64\n  Nb: 65\n", ["line 3: duplicate key 'Nb' (first defined on line 2)"]),
        ("1.5: x\n", ["line 1: key 1.5 (float) is not a string"]),
        ("TMDscales: {1: 2}\n", ["line 1: key 1 (int) is not a string"]),
        (b"qToQcut: 0.5\n# \xe9t\xe9\n", ["line 2: not UTF-8 text (byte 0xe9"]),
        ("integrator: {tol: [1e-10\n", ["line 2: malformed YAML"]),
    ],
)
def test_yaml_defects_in_the_config(env, capsys, text, parts):
    cfg = write(env, "cfg.yaml", text)
    code, err = run(["lumi", "info", "--config", cfg], capsys)
    assert_one_line_error(code, err, "lumi", str(cfg), *parts)


def test_yaml12_numbers_are_numbers(env, capsys):
    """``1e-10`` is a float (YAML 1.2), not a string rejected as 'expected a number'."""
    cfg = write(env, "cfg.yaml", "integrator: {tol: 1e-10}\nqToQcut: 5e-1\nmemory_limit: 4e9\n")
    assert main(["lumi", "info", "--config", str(cfg)]) == 0
    from sidislab.config import load_config

    c = load_config(cfg)
    assert (c.integrator.tol, c.qToQcut, c.memory_limit) == (1e-10, 0.5, 4e9)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (HERMES + "  PhT: [0.1, 0.2, 0.3]\n", ["kin.yaml: line 11: duplicate key 'PhT'"]),
        (HERMES.replace("0.2055688", ".inf"), ["data.PhT[1] (point 1): inf is not a finite"]),
        (HERMES.replace("  x:", "  xB:"), ["data.xB: unknown column", "allowed: x, Q2, z, PhT"]),
        (HERMES + "  pht: [1, 2, 3]\n", ["data.pht: unknown column", "did you mean PhT?"]),
        (HERMES.replace("Q2: [1.249727", "Q2: [.nan"), ["data.Q2[0] (point 0): nan"]),
        (HERMES.replace("Vs: 7.2565449", "Vs: 7.26\n  Vs: 8"), ["line 3: duplicate key 'Vs'"]),
        (HERMES.encode().replace(b"PI", b"\xff"), ["line 4: not UTF-8 text (byte 0xff"]),
    ],
)
def test_kinematics_defects(env, capsys, text, parts):
    kin = write(env, "kin.yaml", text)
    code, err = run(["lumi", "build", "--kinematics", kin], capsys)
    assert_one_line_error(code, err, "lumi", str(kin), *parts)
    nothing_written(env)


@pytest.mark.parametrize(
    ("mutate", "parts"),
    [
        (lambda t: t + "g2: 0.2\n", ["duplicate key 'g2'"]),
        (lambda t: t.replace("g2:", "g2x:", 1), ["g2x"]),
        (lambda t: t.replace("flavour_dependent: false", "flavour_dependent: no"), ["'no'"]),
    ],
)
def test_fnp_config_defects(env, capsys, mutate, parts):
    from sidislab.fnp.config import resolve_config_path

    text = resolve_config_path("map22_flavour_blind").read_text()
    fnp = write(env, "fnp.yaml", mutate(text))
    out = env / "fit.json"
    code, err = run(
        ["fit", "--kinematics", env / "kin.yaml", "--fnp", fnp, "--out", out],
        capsys,
    )
    assert_one_line_error(code, err, "fit", str(fnp), *parts)
    nothing_written(env, out)


def test_unknown_fnp_name(env, capsys):
    out = env / "fit.json"
    code, err = run(
        ["fit", "--kinematics", env / "kin.yaml", "--fnp", "map99", "--out", out], capsys
    )
    assert_one_line_error(code, err, "fit", "map99", "not found")
    nothing_written(env, out)


# --- values accepted then ignored: device, integrator keys ------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("device: cuda:7\n", ["key 'device'", "'cuda:7' does not exist on this machine"]),
        ("device: tpu\n", ["key 'device'", "'tpu' is not a torch device"]),
        ("device: 3\n", ["key 'device'", "expected a string, got 3"]),
        ("integrator: {h: 0}\n", ["key 'integrator.h'", "must be > 0"]),
        ("integrator: {n_nodes: 2.5}\n", ["key 'integrator.n_nodes'", "expected an integer"]),
        ("integrator: {step: 0.1}\n", ["key 'integrator.step'", "unknown key", "n_nodes"]),
        ("memory_limit: lots\n", ["key 'memory_limit'", "'lots' is not a size"]),
    ],
)
def test_values_that_cannot_take_effect_are_rejected(env, capsys, text, parts):
    if "cuda:7" in text:
        import torch

        if torch.cuda.is_available() and torch.cuda.device_count() > 7:
            pytest.skip("this machine has a cuda:7")
    cfg = write(env, "cfg.yaml", text)
    out = env / "fit.json"
    code, err = run(
        ["fit", "--config", cfg, "--kinematics", env / "kin.yaml", "--out", out], capsys
    )
    assert_one_line_error(code, err, "fit", str(cfg), *parts)
    nothing_written(env, out)


# --- sizes: refused before allocation, naming the figure and the key -------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "integrator: trapezoid\nbgrid: {b_min: 1e-3, b_max: 50, Nb: 1000000000}\n",
            ["3 points × 1e+09 b-nodes", "313 GiB", "reduce bgrid.Nb"],
        ),
        ("integrator: {n_nodes: 1000000000}\n", ["GiB", "reduce integrator.n_nodes"]),
        ("memory_limit: 1 KiB\n", ["above the memory limit of 1 KiB"]),
    ],
)
def test_sizes_are_checked_before_allocation(env, capsys, text, parts):
    cfg = write(env, "cfg.yaml", text + "luminosity: {provider: analytic}\n")
    out = env / "fit.json"
    code, err = run(
        ["fit", "--config", cfg, "--kinematics", env / "kin.yaml", "--all-points", "--out", out],
        capsys,
    )
    line = assert_one_line_error(code, err, "fit", str(cfg), "would need about", *parts)
    assert "memory_limit" in line
    nothing_written(env, out)


# --- LHAPDF sets, orders and optional back ends -------------------------------------------------


def test_cut_lhapdf_set_is_refused(env, capsys):
    import shutil

    from sidislab.collinear.discovery import find_set

    name = "sidislab_toy_pip_nlo"
    folder = shutil.copytree(find_set(name), env / "sets" / name)
    dat = folder / f"{name}_0000.dat"
    lines = dat.read_text().splitlines()
    seps = [i for i, s in enumerate(lines) if s.strip() == "---"]
    dat.write_text("\n".join(lines[: seps[2] + 1]) + "\n")  # two of three blocks
    cfg = write(env, "cfg.yaml", f"ffset: {name}\n")
    code, err = run(
        ["lumi", "build", "--config", cfg, "--kinematics", env / "kin.yaml", "--all-points",
         "--lhapdf-path", env / "sets"],
        capsys,
    )  # fmt: skip
    assert_one_line_error(code, err, "lumi", str(dat), "last Q knot = 4.5", "QMax = 150")
    nothing_written(env)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("PerturbativeOrder: -3\n", ["PerturbativeOrder", "-3 is not allowed"]),
        ("pdfset: no_such_set\n", ["LHAPDF set 'no_such_set' not found"]),
        ("luminosity: {provider: apfel}\n", ["apfelpy"]),
    ],
    ids=["not-yet-implemented-order", "unknown-set", "apfel-import"],
)
def test_orders_sets_and_optional_back_ends(env, capsys, text, parts):
    cfg = write(env, "cfg.yaml", text)
    code, err = run(
        ["lumi", "build", "--config", cfg, "--kinematics", env / "kin.yaml", "--all-points",
        ],
        capsys,
    )  # fmt: skip
    assert_one_line_error(code, err, "lumi", *parts)
    nothing_written(env)


ENTRY = "import sys; from sidislab.cli import main; sys.exit(main())"


def test_no_traceback_from_the_installed_command(env):
    """The real entry point in a subprocess: stderr holds one line, exit status 2."""
    cfg = write(env, "cfg.yaml", "device: cuda:7\nbgrid: {Nb: 1e9}\n")
    for argv in (
        ["lumi", "info", "--config", str(write(env, "d.yaml", "a: 1\na: 2\n"))],
        ["lumi", "build", "--config", str(cfg), "--kinematics", str(env / "kin.yaml")],
        ["fit", "--fnp", "map99", "--kinematics", str(env / "kin.yaml")],
    ):
        proc = subprocess.run(
            [sys.executable, "-c", ENTRY, *argv],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            timeout=300,
            cwd=env,
        )
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        errors = [ln for ln in proc.stderr.splitlines() if ": error: " in ln]
        assert len(errors) == 1, proc.stderr
    assert not (env / "fit_result.json").exists()


# --- honest fit status -----------------------------------------------------------------------


def test_diverging_fit_exits_non_zero(env, capsys):
    """SGD with a huge rate: the parameters run away; the fit says so and exits 1."""
    cfg = write(env, "cfg.yaml", "luminosity: {provider: analytic}\n")
    out = env / "fit.json"
    for targets in ("pseudo", "constant"):
        code = main(
            ["fit", "--config", str(cfg), "--kinematics", str(env / "kin.yaml"), "--all-points",
             "--free", "pdf.N1", "ff.N3", "--optimizer", "sgd", "--lr", "1e8", "--epochs", "5",
             "--targets", targets, "--no-progress", "--out", str(out)]
        )  # fmt: skip
        captured = capsys.readouterr()
        assert code == 1, captured.out
        assert "FAILED: diverged" in captured.out or "FAILED: non-finite" in captured.out
        assert "sidislab fit: the fit" in captured.err and "Traceback" not in captured.err
        import json

        doc = json.loads(out.read_text())
        assert doc["status"] in ("diverged", "non_finite") and doc["converged"] is False


# --- data by name, from any folder -----------------------------------------------------------


def test_shipped_data_by_name_from_another_folder(env, capsys, monkeypatch):
    monkeypatch.chdir(env)  # no data/ here: names and checkout paths resolve to the package
    assert main(["fnp", "list"]) == 0
    out = capsys.readouterr().out
    assert "map22_flavour_blind" in out and "map22_flavour_dependent" in out
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    for name in ("hermes_7pt", "sidis_mix", "sidislab_toy_proton_nlo", "sidislab_toy_pip_nlo"):
        assert name in out
    assert main(["fnp", "show", "data/fnp/map22_flavour_blind.yaml"]) == 0
    assert "model: MAP22" in capsys.readouterr().out
    cfg = write(env, "cfg.yaml", "luminosity: {provider: analytic}\n")
    for fnp, kin in (
        ("map22_flavour_blind", "hermes_7pt"),
        ("data/fnp/map22_flavour_blind.yaml", "data/kinematics/hermes_7pt.yaml"),
    ):
        out_file = env / "fit.json"
        code = main(
            ["fit", "--config", str(cfg), "--fnp", fnp, "--kinematics", kin, "--all-points",
             "--free", "pdf.N1", "--epochs", "2", "--no-progress", "--out", str(out_file)]
        )  # fmt: skip
        assert code in (0, 1), capsys.readouterr().err
        import json

        doc = json.loads(out_file.read_text())
        assert doc["config"]["fnp"].endswith("resources/fnp/map22_flavour_blind.yaml")
        assert doc["config"]["kinematics"].endswith("resources/kinematics/hermes_7pt.yaml")
    code, err = run(["lumi", "build", "--kinematics", "sidis_mixx"], capsys)
    assert_one_line_error(code, err, "lumi", "sidis_mixx: kinematics file not found", "sidis_mix")


@pytest.mark.slow
def test_wheel_ships_the_data(tmp_path):
    """`pip wheel .` holds the shipped data under sidislab/resources/."""
    import shutil
    import zipfile

    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"  # a copy: an in-tree build would leave build/ in the checkout
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(root / "sidislab", src / "sidislab", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, src / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "-w", str(tmp_path), "--no-deps",
         "--no-build-isolation", "-q"],
        check=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("sidislab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in (
        "sidislab/resources/fnp/map22_flavour_blind.yaml",
        "sidislab/resources/kinematics/sidis_mix.yaml",
        "sidislab/resources/lhapdf/sidislab_toy_proton_nlo/sidislab_toy_proton_nlo.info",
        "sidislab/resources/lhapdf/sidislab_toy_pip_nlo/sidislab_toy_pip_nlo_0000.dat",
    ):
        assert f in names, f


def test_user_message_names_optional_packages_and_folds_lines():
    from sidislab.cli import user_message
    from sidislab.errors import ConfigError

    msg = user_message(ModuleNotFoundError("No module named 'papermill'", name="papermill"))
    assert msg == "No module named 'papermill' [papermill: pip install 'sidislab[notebooks]']"
    msg = user_message(ImportError("cannot import", name="eko.io"))
    assert "eko" in msg and "sidislab[data]" in msg
    assert user_message(ConfigError("a.yaml: key 'x':\n  bad\n")) == "a.yaml: key 'x': bad"
    assert user_message(FileNotFoundError(2, "No such file or directory", "k.yaml")) == (
        "k.yaml: No such file or directory"
    )


def test_predict_cuts_file_is_read_strictly(env, capsys):
    """``predict --cuts``: a duplicate key names the file and the line, before any data are read."""
    cuts = write(env, "cuts.yaml", "cuts:\n  Q2_min: 1.0\n  Q2_min: 2.0\n")
    out = env / "prediction.json"
    code, err = run(
        ["predict", "--datasets", "HERMES_*", "--data", env / "no-such-folder", "--cuts", cuts,
         "--out", out],
        capsys,
    )  # fmt: skip
    assert_one_line_error(code, err, "predict", str(cuts), "line 3", "duplicate key 'Q2_min'")
    nothing_written(env, out)
