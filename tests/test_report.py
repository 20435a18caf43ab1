"""sidislab.workbench.report and ``sidislab report``: headless runs, HTML, index, baselines.

Fast tests check the pieces on hand-made runs (parameter parsing, notebook selection,
failure formatting, the index, baseline updates, the pinned kernel). Tests marked
``notebook`` execute two tiny notebooks through the command line: a good one (parameters,
a metric, a figure, a live widget) and one that raises in a known cell; they check the
exit status, the files written, the failing cell shown, the baseline round trip and the
diff table when a metric moves.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from sidislab import cli
from sidislab.cli import report as cli_report
from sidislab.workbench import report
from sidislab.workbench.metrics import Metric, load_baseline, write_baseline
from sidislab.workbench.report import (
    CellFailure,
    NotebookRun,
    check_baseline,
    comparable_parameters,
    find_notebooks,
    kernel_environment,
    notebook_parameters,
    parameter_differences,
    parse_overrides,
    run_report,
    update_baseline,
    write_index,
)


def _cli(argv: list[str]) -> int:
    return cli.main(argv)


# --- tiny notebooks -----------------------------------------------------------------------


def _notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def _params(source: str):
    cell = new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    return cell


GOOD = [
    new_markdown_cell("# good"),
    _params('n = 3\nscale = 0.5\ncache_dir = "somewhere"\nmetrics_path = ""'),
    new_code_cell(
        "import sys, os\n"
        "from sidislab.workbench.metrics import MetricsRecorder\n"
        "rec = MetricsRecorder(metrics_path, notebook='good')\n"
        "rec.record('n_times_scale', n * scale, rel_tol=1e-12, why='exact arithmetic', key=True)\n"
        "print('python', sys.executable)\n"
        "print('cwd', os.getcwd())"
    ),
    new_code_cell(
        "import matplotlib.pyplot as plt\n"
        "from sidislab.workbench import widgets\n"
        "def draw(a):\n"
        "    fig, ax = plt.subplots()\n"
        "    ax.plot([0, 1], [0, a])\n"
        "    return fig\n"
        "live = widgets.LiveFigure(draw, {'a': widgets.float_slider('a', 0.5, 0.0, 1.0)})\n"
        "live.show()"
    ),
]

BAD = [
    _params("n = 1\nmetrics_path = ''"),
    new_code_cell("x = 1"),
    new_code_cell("def f():\n    raise ValueError('boom at the third cell')\n\nf()"),
    new_code_cell("never = True"),
]


@pytest.fixture
def books(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    out = {}
    for name, cells in (("10_good", GOOD), ("20_bad", BAD)):
        path = folder / f"{name}.ipynb"
        nbformat.write(_notebook(cells), path)
        out[name] = path
    return out


# --- pieces -------------------------------------------------------------------------------


def test_parse_overrides():
    got = parse_overrides(
        [
            ["n_points", "50"],
            ["tol", "1e-3"],
            ["name", "native"],
            ["grid", "[1, 2]"],
            ["flag", "None"],
            ["text", "'x y'"],
        ]
    )
    assert got == {
        "n_points": 50,
        "tol": 1e-3,
        "name": "native",
        "grid": [1, 2],
        "flag": None,
        "text": "x y",
    }
    with pytest.raises(ValueError, match="identifier"):
        parse_overrides([["bad-name", "1"]])


def test_find_notebooks(books, tmp_path):
    folder = books["10_good"].parent
    assert [p.name for p in find_notebooks(folder)] == ["10_good.ipynb", "20_bad.ipynb"]
    assert find_notebooks(folder, ["20"]) == [books["20_bad"].resolve()]
    assert find_notebooks(folder, ["10_good.ipynb", "10"]) == [books["10_good"].resolve()]
    assert find_notebooks(folder, [str(books["20_bad"])]) == [books["20_bad"].resolve()]
    nbformat.write(_notebook([]), folder / "11_other.ipynb")
    with pytest.raises(ValueError, match="'1' is ambiguous"):
        find_notebooks(folder, ["1"])
    with pytest.raises(ValueError, match=r"'99' matches no notebook.*available: 10_good"):
        find_notebooks(folder, ["99"])
    with pytest.raises(ValueError, match="no notebooks"):
        find_notebooks(tmp_path / "empty")


def test_notebook_parameters(books, tmp_path):
    assert notebook_parameters(books["10_good"]) == {
        "n": 3,
        "scale": 0.5,
        "cache_dir": "somewhere",
        "metrics_path": "",
    }
    plain = tmp_path / "plain.ipynb"
    nbformat.write(_notebook([new_code_cell("x = 1")]), plain)
    with pytest.raises(ValueError, match="no cell tagged 'parameters'"):
        notebook_parameters(plain)


def test_comparable_parameters_and_differences():
    params = {
        "n": 3,
        "cache_dir": "a",
        "lhapdf_paths": [],
        "out_path": "x",
        "metrics_path": "m",
        "kinematics_file": "k.yaml",
    }
    assert comparable_parameters(params) == {"n": 3, "kinematics_file": "k.yaml"}
    diffs = parameter_differences({"n": 4, "new": 1, "cache_dir": "b"}, {"n": 3, "old": 2})
    assert diffs == [
        "n = 4 (baseline 3)",
        "new = 1 (not in the baseline)",
        "old (baseline 2) is no longer a parameter",
    ]


def test_cell_failure_format():
    failure = CellFailure(
        ename="ValueError",
        evalue="boom",
        traceback=["\x1b[0;31mValueError\x1b[0m: boom", "  line two"],
        cell_index=4,
        execution_count=3,
        source="\n".join(f"line {i}" for i in range(30)),
    )
    text = failure.format("nb", max_source_lines=5)
    assert text.splitlines()[0] == "nb: failed in cell 4 (In [3]): ValueError: boom"
    assert "   1  line 0" in text and "… 25 more lines" in text
    assert "\x1b" not in text and "ValueError: boom\n  line two" in text
    assert "outside any cell" in CellFailure("DeadKernelError", "died").format("nb")


def _run(tmp_path: Path, name: str = "nb", value: float = 1.0, **kw) -> NotebookRun:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    metrics = {"m": Metric("m", value, 1e-6, 0.0, "exact", "GeV", "a number", True)}
    defaults = {
        "name": name,
        "source": tmp_path / f"{name}.ipynb",
        "executed": out / f"{name}.ipynb",
        "html": out / f"{name}.html",
        "metrics_path": None,
        "parameters": {"n": 3, "metrics_path": "x", "cache_dir": "c"},
        "overrides": {},
        "seconds": 1.5,
        "metrics": metrics,
    }
    defaults.update(kw)
    return NotebookRun(**defaults)


def test_baseline_update_and_check(tmp_path):
    bdir = tmp_path / "baselines"
    run = _run(tmp_path)
    base, changes = update_baseline(run, bdir)
    assert changes == ["new baseline with 1 metrics"]
    assert base.parameters == {"n": 3}  # locations and metrics_path are not recorded
    assert load_baseline(bdir / "nb.json").metrics["m"].value == 1.0
    check_baseline(run, bdir)
    assert run.baseline_ok is True and run.baseline_summary() == "1/1 within tolerance"

    moved = _run(tmp_path, value=1.1)
    check_baseline(moved, bdir)
    assert moved.baseline_ok is False and moved.baseline_summary() == "1 of 1 outside"
    _, changes = update_baseline(moved, bdir)
    assert changes == ["~ m: 1.0 → 1.1 (OUTSIDE tolerance)"]
    before = (bdir / "nb.json").read_text()
    _, changes = update_baseline(moved, bdir)  # nothing moved: the file stays as it is
    assert changes == [] and (bdir / "nb.json").read_text() == before

    other = _run(tmp_path, parameters={"n": 4, "metrics_path": "y"})
    check_baseline(other, bdir)
    assert other.checks is None and "n = 4 (baseline 3)" in other.check_note

    failed = _run(tmp_path, failure=CellFailure("E", "e"))
    check_baseline(failed, bdir)
    assert failed.checks is None and failed.check_note == "the notebook failed"
    with pytest.raises(ValueError, match="failed notebook"):
        update_baseline(failed, bdir)
    lonely = _run(tmp_path, name="lonely")
    check_baseline(lonely, bdir)
    assert "no baseline" in lonely.check_note


def test_write_index(tmp_path):
    bdir = tmp_path / "baselines"
    good = _run(tmp_path, name="good")
    write_baseline(bdir / "good.json", "good", {"n": 3}, {"m": Metric("m", 2.0, 1e-6, 0.0, "r")})
    check_baseline(good, bdir)
    bad = _run(
        tmp_path,
        name="bad",
        failure=CellFailure(
            "ValueError", "boom <x>", cell_index=2, execution_count=2, source="f()"
        ),
    )
    index = write_index([good, bad], tmp_path / "out", "sidislab report")
    page = index.read_text()
    assert '<a href="good.html">good</a>' in page and 'href="good.ipynb"' in page
    assert "FAILED" in page and "boom &lt;x&gt;" in page  # escaped
    assert "1 of 1 outside" in page and "OUTSIDE" in page
    assert "<code>m</code> = 1 GeV" in page
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["ok"] is False
    assert [n["status"] for n in summary["notebooks"]] == ["ok", "failed"]
    assert summary["notebooks"][0]["parameters"] == {"n": 3}


def test_kernel_environment_pins_this_python(monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", "/elsewhere")
    with kernel_environment() as root:
        spec = json.loads((root / "kernels" / "python3" / "kernel.json").read_text())
        assert spec["argv"][0] == sys.executable
        assert os.environ["JUPYTER_PATH"].split(os.pathsep) == [str(root), "/elsewhere"]
        from jupyter_client.kernelspec import KernelSpecManager

        found = KernelSpecManager().get_kernel_spec("python3")
        assert found.argv[0] == sys.executable
    assert os.environ["JUPYTER_PATH"] == "/elsewhere"
    assert not root.exists()


def test_html_copy_replaces_widget_views():
    nb = _notebook([new_code_cell("x")])
    nb.cells[0].outputs = [
        nbformat.v4.new_output(
            "display_data", data={report._WIDGET_MIME: {"model_id": "1"}, "text/plain": "VBox()"}
        )
    ]
    nb.metadata["widgets"] = {"state": {}}
    out = report._html_copy(nb)
    assert "widgets" not in out.metadata and "widgets" in nb.metadata
    assert "live in JupyterLab" in out.cells[0].outputs[0]["data"]["text/html"]


def test_cli_registers_report():
    """`sidislab report` comes from sidislab.cli loading sidislab.workbench.report (register(command))."""
    parser = cli.build_parser()
    args = parser.parse_args(
        ["report", "--notebooks", "01", "-p", "n_points", "50", "-p", "x", "y"]
    )
    assert args.parameters == [["n_points", "50"], ["x", "y"]]
    assert args.func is cli_report.report


def test_update_baselines_refuses_overrides(books, tmp_path, capsys):
    code = _cli(
        [
            "report",
            "--notebook-dir",
            str(books["10_good"].parent),
            "--out",
            str(tmp_path / "out"),
            "--update-baselines",
            "-p",
            "n",
            "4",
        ]
    )
    assert code == 2
    assert "records the notebooks' default parameters" in capsys.readouterr().err


def test_unknown_override_is_an_error(books, tmp_path, capsys):
    code = _cli(
        [
            "report",
            "--notebook-dir",
            str(books["10_good"].parent),
            "--out",
            str(tmp_path / "out"),
            "-p",
            "n_pointz",
            "4",
        ]
    )
    assert code == 2
    assert "n_pointz: no selected notebook has such a parameter" in capsys.readouterr().err


# --- end to end ---------------------------------------------------------------------------


@pytest.mark.notebook
def test_report_end_to_end(books, tmp_path, capsys):
    folder = books["10_good"].parent
    out, bdir = tmp_path / "reports", tmp_path / "baselines"
    common = ["report", "--notebook-dir", str(folder), "--out", str(out), "--baselines", str(bdir)]

    # 1. make the good notebook's baseline
    assert _cli([*common, "--notebooks", "10", "--update-baselines"]) == 0
    base = load_baseline(bdir / "10_good.json")
    assert base.parameters == {"n": 3, "scale": 0.5}
    assert base.metrics["n_times_scale"].value == 1.5
    assert base.metrics["n_times_scale"].why == "exact arithmetic"
    capsys.readouterr()

    # 2. both notebooks, two at a time: the good one checks, the bad one fails loudly
    assert _cli([*common, "--jobs", "2"]) == 1
    io = capsys.readouterr()
    assert "10_good" in io.out and "1/1 within tolerance" in io.out
    err = io.err
    # cell 2 of the source notebook; its In [n] counts papermill's injected cell too
    assert "20_bad: failed in cell 2 (In [4]): ValueError: boom at the third cell" in err
    assert "   4  f()" in err  # the source excerpt, numbered
    assert "Traceback" in err or "ValueError" in err.split("--- traceback")[1]
    for name in ("10_good", "20_bad"):
        assert (out / f"{name}.ipynb").is_file() and (out / f"{name}.html").is_file()
    assert list(out.glob(".*tmp")) == []
    executed = nbformat.read(out / "10_good.ipynb", as_version=4)
    stdout = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert f"python {sys.executable}" in stdout  # the project's interpreter
    assert f"cwd {folder}" in stdout  # run in the notebook's own folder, as in JupyterLab
    widget_cell = executed.cells[-1]
    kinds = [set(o.get("data", {})) for o in widget_cell.outputs]
    assert any("image/png" in k for k in kinds)  # the static figure
    assert any(report._WIDGET_MIME in k for k in kinds)  # the controls
    html = (out / "10_good.html").read_text()
    assert "data:image/png;base64" in html and "live in JupyterLab" in html
    assert (out / "_static" / "mathjax" / "MathJax.js").is_file()  # maths renders offline
    assert 'src="_static/mathjax/MathJax.js?config=' in html and "libs/mathjax" not in html
    index = (out / "index.html").read_text()
    assert "FAILED" in index and "1/1 within tolerance" in index
    assert json.loads((out / "10_good.metrics.json").read_text())["metrics"]["n_times_scale"]

    # 3. an override makes the run incomparable, not failing
    assert _cli([*common, "--notebooks", "10", "--no-html", "-p", "n", "4"]) == 0
    assert "parameters differ from the baseline's: n = 4 (baseline 3)" in capsys.readouterr().out

    # 4. a metric that moved beyond its tolerance fails with a diff table
    doc = json.loads((bdir / "10_good.json").read_text())
    doc["metrics"]["n_times_scale"]["value"] = 1.6
    (bdir / "10_good.json").write_text(json.dumps(doc))
    assert _cli([*common, "--notebooks", "10", "--no-html"]) == 1
    err = capsys.readouterr().err
    assert "10_good: metrics outside the baseline tolerance" in err
    assert "n_times_scale" in err and "OUTSIDE" in err and "exact arithmetic" in err


# --- a run killed halfway -----------------------------------------------------------------


def _finished_run_index(out: Path, tmp_path: Path) -> None:
    """The index a previous, green run left in ``out``."""
    write_index([_run(tmp_path, name="10_good")], out, "sidislab report (the previous run)")
    assert "all ok" in (out / "index.html").read_text()


def test_index_of_an_unfinished_run_never_passes(tmp_path):
    out = tmp_path / "out"
    write_index(
        [_run(tmp_path, name="a")],
        out,
        "sidislab report",
        pending=["b", "c"],
        finished=False,
        started="2026-01-01T00:00:00+00:00",
        note="stopped by KeyboardInterrupt",
    )
    page = (out / "index.html").read_text()
    assert "RUNNING — NOT FINISHED" in page and "all ok" not in page
    assert "1 of 3 notebook(s) done" in page and "stopped by KeyboardInterrupt" in page
    assert page.count("not run yet") == 2 and 'http-equiv="refresh"' in page
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["state"], summary["ok"], summary["pending"]) == ("running", False, ["b", "c"])


def test_report_run_holds_its_folder_and_removes_leftovers(tmp_path):
    from sidislab.io import LockHeldError, exclusive_lock

    out = tmp_path / "out"
    _finished_run_index(out, tmp_path)
    leftover = out / ".10_good.ipynb.k1ll3d00.ipynb.tmp"
    leftover.write_bytes(b"{half a notebook")
    half_copied = out / "_static" / ".mathjax.x7y8z9.tmp"
    (half_copied / "t").mkdir(parents=True)
    with (
        exclusive_lock(out / ".report.lock", "another run"),
        pytest.raises(LockHeldError, match=r"sidislab report into .*out.*holds"),
    ):
        report.run_report([], out, command="sidislab report")
    assert leftover.exists() and "all ok" in (out / "index.html").read_text()
    assert report.run_report([], out, command="sidislab report") == []
    assert not leftover.exists() and not half_copied.exists()
    assert json.loads((out / "summary.json").read_text())["state"] == "finished"


SLEEPER = [
    _params("metrics_path = ''"),
    new_code_cell(
        "import pathlib, time\n"
        "pathlib.Path('started.marker').write_text('in the long cell')\n"
        "time.sleep(600)"
    ),
]


@pytest.mark.notebook
def test_killed_report_leaves_an_index_that_says_not_finished(tmp_path):
    """`sidislab report` killed (SIGKILL) while a notebook runs: the previous green index is
    gone; the one left says RUNNING — NOT FINISHED, and its summary is not ok."""
    import signal
    import subprocess
    import time

    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(_notebook(SLEEPER), folder / "30_sleeper.ipynb")
    out = tmp_path / "reports"
    _finished_run_index(out, tmp_path)
    main = "import sys; from sidislab.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", main, "report", "--notebook-dir", str(folder)]
    cmd += ["--out", str(out), "--baselines", str(tmp_path / "baselines")]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    marker = folder / "started.marker"
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():  # the notebook's long cell has started
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the notebook did not start within 300 s"
            time.sleep(0.2)
        page = (out / "index.html").read_text()
        assert "RUNNING — NOT FINISHED" in page and "all ok" not in page
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the command and its kernel, as kill -9 would
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    page = (out / "index.html").read_text()
    assert "RUNNING — NOT FINISHED" in page and "all ok" not in page
    assert "0 of 1 notebook(s) done" in page and "30_sleeper" in page
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["state"], summary["ok"], summary["pending"]) == (
        "running",
        False,
        ["30_sleeper"],
    )


# --- offline pages ------------------------------------------------------------------------


def test_offline_assets_and_pages_load_no_remote_script(tmp_path, monkeypatch, caplog):
    import re

    nb = _notebook([new_markdown_cell("Display maths: $$\\sigma = \\int d^2b\\, L(b)$$")])
    # without the npm assets: MathJax still local, a warning names what is missing
    monkeypatch.setenv(report.WEB_ASSETS_ENV, str(tmp_path / "nowhere"))
    urls = report.offline_assets(tmp_path / "a")
    assert urls == {"mathjax_url": f"_static/mathjax/MathJax.js?config={report.MATHJAX_CONFIG}"}
    assert (
        "html-manager" in caplog.text and (tmp_path / "a" / "_static/mathjax/MathJax.js").is_file()
    )
    for sub in (
        "config/TeX-AMS-MML_HTMLorMML-full.js",
        "jax/output/HTML-CSS/fonts/STIX-Web/fontdata.js",
        "config/local/sidislab.js",
        "LICENSE",
    ):
        assert (tmp_path / "a" / "_static/mathjax" / sub).is_file(), sub
    monkeypatch.delenv(report.WEB_ASSETS_ENV)
    if not (report._web_assets() / "html-manager" / "dist" / "embed-amd.js").is_file():
        pytest.skip(f"npm assets absent from {report._web_assets()} (make venv installs them)")
    page = tmp_path / "b" / "page.html"
    report.export_html(nb, page)
    text = page.read_text()
    srcs = re.findall(r'<script[^>]*\bsrc="([^"]+)"', text)
    assert any(s.startswith("_static/mathjax/MathJax.js") for s in srcs)
    assert "_static/requirejs/require.js" in srcs
    assert not [s for s in srcs if "://" in s], srcs  # nothing from a CDN
    # the widget manager for pages that carry widget state (ours replace live views by a note)
    urls = report.offline_assets(page.parent)
    assert urls["widget_renderer_url"] == "_static/html-manager/embed-amd.js"
    for rel in ("requirejs/require.js", "html-manager/embed-amd.js"):
        assert (page.parent / "_static" / rel).is_file(), rel


# --- notebooks that need inputs from outside the repository -------------------------------


def test_notebook_with_absent_inputs_is_skipped_with_the_reason(tmp_path, capsys):
    """A notebook whose metadata requires a path parameter that does not exist (04 without
    ../shared) is reported as skipped, with the parameter and the path, never as failed or
    passed; it is not executed, and the exit status is 0. With the path present it runs."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    cells = [
        _params('data_dir = "../absent"\nmetrics_path = ""'),
        new_code_cell("ran = True\nprint('executed')"),
    ]
    nb = _notebook(cells)
    nb.metadata["sidislab"] = {"requires": ["data_dir"]}
    path = folder / "30_needs_data.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "out"
    code = _cli(
        [
            "report",
            "--notebook-dir",
            str(folder),
            "--out",
            str(out),
            "--no-html",
            "--baselines",
            str(tmp_path / "b"),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "30_needs_data" in text and "skipped" in text and "FAILED" not in text
    summary = json.loads((out / "summary.json").read_text())
    (entry,) = summary["notebooks"]
    assert entry["status"] == "skipped"
    assert "data_dir = ../absent" in entry["baseline"] and "is absent" in entry["baseline"]
    assert not (out / "30_needs_data.ipynb").exists()  # not executed
    index = (out / "index.html").read_text()
    assert "skipped" in index and "data_dir" in index

    (tmp_path / "absent").mkdir()  # the inputs appear: the notebook runs
    runs = run_report([path], tmp_path / "out2", html_page=False)
    assert runs[0].status == "ok" and not runs[0].skipped
