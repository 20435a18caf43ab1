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
