"""sidislab.io: atomic writes, the temporaries a killed writer leaves, run locks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from sidislab.io import (
    LockHeldError,
    atomic_path,
    atomic_write,
    exclusive_lock,
    remove_temporaries,
    temporaries,
)


def test_atomic_write_leaves_no_temporary(tmp_path):
    dest = tmp_path / "a.txt"
    with atomic_write(dest) as fh:
        fh.write("x")
    with pytest.raises(RuntimeError), atomic_write(dest) as fh:
        fh.write("half")
        raise RuntimeError
    assert dest.read_text() == "x" and temporaries(tmp_path) == []


def test_temporaries_of_a_killed_writer_by_name_suffix_and_age(tmp_path):
    code = (
        "import os, signal, sys\n"
        "from sidislab.io import atomic_path\n"
        "with atomic_path(sys.argv[1], suffix=sys.argv[2]) as tmp:\n"
        "    tmp.write_bytes(b'x' * 1234)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    for name, suffix in (("index.html", ""), ("01_a.ipynb", ".ipynb")):
        proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / name), suffix])
        assert proc.returncode == -signal.SIGKILL
    (tmp_path / "index.html").write_text("the previous file stays")
    (tmp_path / ".hidden").write_text("not a temporary")
    found = temporaries(tmp_path)
    assert len(found) == 2 and all(t.size == 1234 and t.age >= 0 for t in found)
    assert [t.target for t in temporaries(tmp_path, suffix=".ipynb")] == ["01_a.ipynb"]
    assert [t.target for t in temporaries(tmp_path, target="index.html")] == ["index.html"]
    old = time.time() - 7200
    os.utime(found[0].path, (old, old))
    aged = temporaries(tmp_path)
    assert remove_temporaries(aged, older_than=3600) == [aged[0]]  # only the old one
    assert [t.path for t in temporaries(tmp_path)] == [found[1].path]
    assert len(remove_temporaries(temporaries(tmp_path))) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", "index.html"]


def test_exclusive_lock_is_held_across_processes_and_freed_by_a_kill(tmp_path):
    lock = tmp_path / "run.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom sidislab.io import exclusive_lock\n"
            "with exclusive_lock(sys.argv[1], 'holder'):\n"
            "    print('held', flush=True); time.sleep(600)\n",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeldError, match=r"the test: another process holds .*run\.lock"):
            with exclusive_lock(lock, "the test"):
                pass
        assert isinstance(LockHeldError("x"), OSError)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)
    with exclusive_lock(lock, "the test") as held:  # a killed holder frees it
        assert held == lock
    with atomic_path(tmp_path / "b.bin") as tmp:
        tmp.write_bytes(b"ok")
    assert (tmp_path / "b.bin").read_bytes() == b"ok"
