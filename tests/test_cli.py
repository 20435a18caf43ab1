"""The command line: subcommands run and print what they promise."""

from __future__ import annotations

import pytest

from sidislab.cli import main


def test_integrate_demo(capsys):
    assert main(["integrate-demo", "--qT", "0.1", "2.0", "--bessel-points", "2000"]) == 0
    out = capsys.readouterr().out
    assert "ogata" in out and "trapz-b (old [0.01,2]×256)" in out
    # the old grid's −32 % at qT = 0.1 GeV shows up in the table
    assert "-3.23e-01" in out
    assert "accurate" in out and "series" in out


def test_bad_subcommand_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as err:
        main(["no-such-command"])
    assert err.value.code == 2


def test_lumi_build_info_clear_and_fit(tmp_path, monkeypatch, capsys):
    """The cache commands and a short fit on the analytic luminosity (fast)."""
    monkeypatch.delenv("SIDISLAB_CACHE_DIR", raising=False)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"luminosity: {{provider: analytic, cache_dir: {tmp_path / 'cache'}}}\n")
    assert main(["lumi", "build", "--config", str(cfg)]) == 0
    assert "192 points × 10 flavours × 256 b-nodes" in capsys.readouterr().out
    assert main(["lumi", "info", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "analytic" in out and "192" in out and "True" in out
    result = tmp_path / "fit.json"
    code = main(
        [
            "fit",
            "--config",
            str(cfg),
            "--free",
            "pdf.N1",
            "ff.N3",
            "--epochs",
            "5",
            "--no-progress",
            "--out",
            str(result),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Epoch 1/5  chi2 = " in out and "Param L2 diff: " in out
    assert "converged" in out and result.exists()
    assert main(["lumi", "clear", "--config", str(cfg)]) == 0
    assert "removed 1 cache file(s)" in capsys.readouterr().out


def test_errors_are_reported_not_raised(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("PerturbativeOrder: 9\n")
    assert main(["lumi", "build", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "sidislab lumi: error:" in err and "'PerturbativeOrder': 9 is not allowed" in err


def test_sets_lists_embedded_and_extra_folders(shared_lhapdf, capsys):
    assert main(["sets", "--path", str(shared_lhapdf)]) == 0
    out = capsys.readouterr().out
    assert "sidislab_toy_proton_nlo" in out and "sidislab_toy_pip_nlo" in out
    assert "JAM20-SIDIS_PDF_proton_nlo" in out and str(shared_lhapdf) in out


def test_fit_to_measured_data_and_its_replicas(sidis_data, tmp_path, monkeypatch, capsys):
    """`sidislab fit --data DIR --datasets PATTERN`: the correlated χ² of the bin-averaged
    multiplicities goes down, the result file records it, and `--replicas 2` writes one file
    per replica and a summary; a rerun resumes (no replica refitted)."""
    import json

    monkeypatch.setenv("SIDISLAB_CACHE_DIR", str(tmp_path / "cache"))
    common = [
        "fit",
        "--data",
        str(sidis_data),
        "--datasets",
        "HERMES_Pro_Pip_x_0.12*",
        "--free",
        "ff.N3",
        "--epochs",
        "3",
        "--no-progress",
    ]
    out = tmp_path / "fit.json"
    assert main([*common, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    start = float(text.split("start: χ²/N = ")[1].split()[0])
    doc = json.loads(out.read_text())
    end = doc["extra"]["chi2"]["chi2_per_point"]
    assert doc["parameter_names"] == ["ff.N3"] and end < start
    assert doc["extra"]["chi2"]["n_points"] == doc["n_points"] > 0

    rdir = tmp_path / "replicas"
    assert main([*common, "--replicas", "2", "--replica-dir", str(rdir)]) == 0
    assert sorted(p.name for p in rdir.glob("replica_*.json")) == [
        "replica_0001.json",
        "replica_0002.json",
    ]
    assert (rdir / "summary.json").is_file()
    capsys.readouterr()
    assert main([*common, "--replicas", "2", "--replica-dir", str(rdir)]) == 0
    text = capsys.readouterr().out
    assert "replica    1:" not in text  # resumed: nothing refitted
    assert "2 of 2 replicas already done there" in text


def test_fit_data_options_are_checked(capsys):
    assert main(["fit", "--data", "somewhere"]) == 2
    assert "--datasets" in capsys.readouterr().err
    assert main(["check-gradients", "--datasets", "HERMES*"]) == 2
    assert "do not apply" in capsys.readouterr().err


@pytest.mark.parametrize("order", [3, -2])
def test_lumi_build_with_scale_variation_at_nnlo_matching(tmp_path, capsys, order):
    """N³LL and NNLL′ with C_i ≠ 1 build through the CLI (embedded sets, the HERMES points in
    the TMD region);
    the table differs from the C_i = 1 one (the ln C_i terms are there)."""
    import h5py
    import numpy as np

    tables = []
    for ci in (1.0, 2.0):
        cfg = tmp_path / f"cfg{ci:g}.yaml"
        cfg.write_text(
            f"PerturbativeOrder: {order}\nTMDscales: {{Ci: {ci}, Cf: 1.0}}\n"
            f"luminosity: {{cache_dir: {tmp_path / 'cache'}}}\n"
        )
        assert main(["lumi", "build", "--config", str(cfg), "--kinematics", "hermes_7pt"]) == 0
        out = capsys.readouterr().out
        assert "2 points × 10 flavours × 256 b-nodes" in out, out  # qT ≤ qToQcut·Q
    files = sorted((tmp_path / "cache").rglob("*.h5"))
    assert len(files) == 2
    for f in files:
        with h5py.File(f, "r") as h:
            tables.append(np.asarray(h["L"]))
    assert all(np.isfinite(t).all() for t in tables)
    assert np.abs(tables[0] / np.where(tables[1] == 0, 1, tables[1]) - 1).max() > 1e-3
