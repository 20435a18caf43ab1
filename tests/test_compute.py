"""Where work runs (:mod:`sidislab.compute`): targets, maps in task order or as tasks
finish, one file per task with resume, and the missing-extra error."""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sidislab import compute
from sidislab.compute import (
    Compute,
    DaskTarget,
    balanced_chunk_size,
    chunk_slices,
    map_tasks,
    map_unordered,
    parse_dask,
    resolve_target,
    run_tasks_to_files,
)
from sidislab.config import from_dict
from sidislab.errors import ConfigError, MissingDependencyError


def test_parse_dask() -> None:
    assert parse_dask(None) is None and parse_dask("") is None and parse_dask("serial") is None
    assert parse_dask("local:3") == DaskTarget("local", n_workers=3)
    assert parse_dask("local").n_workers >= 1
    assert parse_dask("tcp://10.0.0.5:8786") == DaskTarget(
        "scheduler", address="tcp://10.0.0.5:8786"
    )
    assert parse_dask("tls://[::1]:8786").address == "tls://[::1]:8786"
    for bad in ("local:0", "local:x", "tcp://host", "tcp://", "8786", "locl:2"):
        with pytest.raises(ValueError, match="--dask"):
            parse_dask(bad)


def test_resolve_target_and_config_key() -> None:
    cfg = from_dict({"compute": {"dask": "local:2"}}, "c.yaml")
    assert cfg.compute.dask == "local:2"
    assert resolve_target(None, cfg.compute.dask) == DaskTarget("local", n_workers=2)
    assert resolve_target("serial", cfg.compute.dask) is None  # the option wins
    assert resolve_target(None, None) is None
    assert from_dict(cfg.to_dict()).compute == cfg.compute
    with pytest.raises(ConfigError, match=r"c.yaml: key 'compute.dask'"):
        from_dict({"compute": {"dask": "local:-1"}}, "c.yaml")
    with pytest.raises(ConfigError, match="compute"):
        from_dict({"compute": {"workers": 2}}, "c.yaml")


def test_chunk_sizes() -> None:
    assert chunk_slices(5, 2) == [slice(0, 2), slice(2, 4), slice(4, 5)]
    assert balanced_chunk_size(1000, 1, 1024) == 1024
    assert balanced_chunk_size(1000, 2, 1024) == 125  # 8 chunks: 4 per worker
    assert balanced_chunk_size(10**6, 2, 1024) == 1024
    assert balanced_chunk_size(3, 4, 1024) == 1


def _slow_square(i: int, delay: float) -> int:
    time.sleep(delay)
    return i * i


def test_map_unordered_places_by_index() -> None:
    delays = [0.3, 0.0, 0.15, 0.0]
    serial = list(map_unordered(_slow_square, range(4), [0.0] * 4))
    assert serial == [(0, 0), (1, 1), (2, 4), (3, 9)]
    with ThreadPoolExecutor(4) as pool:
        got = list(map_unordered(_slow_square, range(4), delays, executor=pool))
        assert sorted(got) == serial
        assert got[-1][0] == 0  # the slowest task came last: results arrive as they finish
        assert list(map_tasks(_slow_square, range(4), delays, executor=pool)) == [0, 1, 4, 9]


class _Big:
    """A result that can be watched with a weak reference."""

    def __init__(self, i: int):
        self.i = i


def test_map_unordered_keeps_no_result_it_has_handed_on() -> None:
    """A consumed result is freed before the next one arrives (a Dask executor's futures
    hold their fetched results: kept, they would hold a whole luminosity table)."""
    import gc
    import weakref

    refs = []
    with ThreadPoolExecutor(2) as pool:
        for i, res in map_unordered(_Big, range(6), executor=pool):
            assert res.i == i
            refs.append(weakref.ref(res))
            del res
            gc.collect()
            assert [r() for r in refs[:-1]] == [None] * (len(refs) - 1)


def _fail_on_two(i: int, started: list) -> int:
    started.append(i)
    if i == 2:
        raise ValueError("task 2 is bad")
    time.sleep(0.2)
    return i


def test_map_unordered_failure_cancels_the_rest() -> None:
    started: list[int] = []
    with ThreadPoolExecutor(1) as pool, pytest.raises(ValueError, match="task 2"):
        for _ in map_unordered(_fail_on_two, range(8), [started] * 8, executor=pool):
            pass
    assert 2 in started and len(started) < 8  # tasks after the failure never started


def _record(x: float, calls: list) -> dict:
    calls.append(x)
    if x < 0:
        raise ValueError(f"negative {x}")
    return {"x": x, "y": 2 * x}


def test_run_tasks_to_files_resumes(tmp_path: Path) -> None:
    calls: list[float] = []
    tasks = {"t1": (1.0, calls), "t2": (-1.0, calls)}
    docs = run_tasks_to_files(_record, tasks, tmp_path)
    assert docs["t1"] == {"x": 1.0, "y": 2.0}
    assert docs["t2"]["status"] == "failed" and "negative -1.0" in docs["t2"]["error"]
    assert json.loads((tmp_path / "t1.json").read_text()) == docs["t1"]
    more = {**tasks, "t3": (3.0, calls)}
    done: list[str] = []
    docs = run_tasks_to_files(_record, more, tmp_path, on_done=lambda t, d: done.append(t))
    assert calls == [1.0, -1.0, 3.0] and done == ["t3"]  # t1 and t2 were not run again
    assert list(docs) == ["t1", "t2", "t3"] and docs["t3"]["y"] == 6.0
    (tmp_path / "t1.json").write_text("{truncated")  # an unreadable file is run again
    run_tasks_to_files(_record, more, tmp_path)
    assert calls[-1] == 1.0 and json.loads((tmp_path / "t1.json").read_text())["y"] == 2.0
    with pytest.raises(ValueError, match="plain file name"):
        run_tasks_to_files(_record, {"../x": (1.0, calls)}, tmp_path)


def test_run_tasks_to_files_on_an_executor(tmp_path: Path) -> None:
    lock = threading.Lock()
    calls: list[float] = []

    def task(x: float) -> dict:
        with lock:
            calls.append(x)
        return {"x": x}

    tasks = {f"t{i}": (float(i),) for i in range(6)}
    with ThreadPoolExecutor(3) as pool:
        docs = run_tasks_to_files(task, tasks, tmp_path, pool)
    assert [d["x"] for d in docs.values()] == [float(i) for i in range(6)]
    assert sorted(calls) == [float(i) for i in range(6)]


def test_serial_compute_is_a_no_op() -> None:
    with Compute(None) as where:
        assert where.executor is None and where.client is None and where.dashboard_link is None
        obj = object()
        assert where.share(obj) is obj and where.n_workers == 1


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'sidislab\[dask\]'"):
        Compute("local:2").__enter__()
    with pytest.raises(ImportError):  # also an ImportError for generic handlers
        compute.require_distributed()
    with Compute("serial") as where:  # serial needs no Dask
        assert where.executor is None


def test_cli_missing_extra(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from sidislab.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)
    repo = Path(__file__).resolve().parents[1]
    status = main(
        [
            "lumi",
            "build",
            "--kinematics",
            str(repo / "data" / "kinematics" / "hermes_7pt.yaml"),
            "--dask",
            "local:2",
        ]
    )
    assert status == 2
    assert "pip install 'sidislab[dask]'" in capsys.readouterr().err
