"""Tests of sidislab.lumi.cache and sidislab.lumi.interpolate.

Invariants checked: a cached table equals the provider evaluated on the grid; the spline
reproduces cubics in ln b exactly, agrees with scipy's not-a-knot spline and interpolates
smooth functions of ln b to ≤ 1e-6 relative; tables continue flat outside their range;
the analytic provider's exact Hankel transform (physics.md §6) survives cache +
interpolation + quadrature; damaged, foreign and stale files are rebuilt, never trusted;
concurrent builders produce one file.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import multiprocessing
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from scipy import special
from scipy.interpolate import CubicSpline

from sidislab.constants import B0
from sidislab.kinematics import random_points
from sidislab.lumi import cache as cache_mod
from sidislab.lumi.analytic import AnalyticProvider
from sidislab.lumi.base import LUMI_FLAVOURS
from sidislab.lumi.cache import (
    CACHE_FORMAT,
    DEFAULT_CACHE_GRID,
    LuminosityCache,
    LuminosityTable,
    build_chunk,
    cache_key,
    cache_key_document,
    key_of_file,
)
from sidislab.lumi.interpolate import LogBSpline
from sidislab.numerics.bgrid import BGrid

SMALL_GRID = BGrid(1e-4, 50.0, 64, "log")


def make_kin(n: int = 37, seed: int = 3, vs: float = 140.0):
    return random_points(n, seed=seed, sqrt_s=vs)


class CountingProvider(AnalyticProvider):
    """The toy provider, counting luminosity() calls and optionally sleeping in them."""

    def __init__(self, *args, delay: float = 0.0, marker_dir: str | None = None, **kw):
        super().__init__(*args, **kw)
        self.delay = delay
        self.marker_dir = marker_dir
        self.calls = 0
        self._lock = threading.Lock()

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def luminosity(self, kin, b):
        with self._lock:
            self.calls += 1
        if self.marker_dir is not None:  # visible across processes
            Path(self.marker_dir, f"call-{os.getpid()}-{time.monotonic_ns()}").touch()
        time.sleep(self.delay)
        return super().luminosity(kin, b)


def toy_terms():
    return AnalyticProvider.toy().terms


@pytest.fixture
def kin():
    return make_kin()


@pytest.fixture
def provider():
    return AnalyticProvider.toy(width_lnQ2=0.05)


@pytest.fixture
def cache(tmp_path):
    return LuminosityCache(tmp_path / "cache")


def reference_L(provider, kin, grid=SMALL_GRID):
    return provider.luminosity(kin, grid.nodes().numpy())


# --- keys -------------------------------------------------------------------------------


def test_key_is_deterministic_and_covers_its_inputs(provider, kin) -> None:
    key = cache_key(provider, kin, SMALL_GRID)
    assert len(key) == 64 and key == cache_key(
        AnalyticProvider.toy(width_lnQ2=0.05), kin, SMALL_GRID
    )
    doc = cache_key_document(provider, kin, SMALL_GRID)
    assert doc["sidislab_version"] and doc["cache_format_version"] == 1
    assert doc["bgrid"] == {"spacing": "log", "b_min": 1e-4, "b_max": 50.0, "Nb": 64, "scale": 1.0}
    assert doc["kinematics"] == {"fingerprint": kin.fingerprint(), "n_points": len(kin)}
    assert doc["provider"]["fingerprint"] == provider.fingerprint()
    others = [
        cache_key(AnalyticProvider.toy(width_lnQ2=0.06), kin, SMALL_GRID),  # provider
        cache_key(provider, kin, BGrid(1e-4, 50.0, 65, "log")),  # Nb
        cache_key(provider, kin, BGrid(1e-4, 40.0, 64, "log")),  # range
        cache_key(provider, kin, BGrid(1e-4, 50.0, 64, "loglinear", 3.0)),  # spacing
        cache_key(provider, make_kin(seed=4), SMALL_GRID),  # kinematics
        cache_key(provider, kin.subset(slice(0, 36)), SMALL_GRID),  # N
        cache_key(provider, kin),  # default grid
    ]
    assert len({key, *others}) == len(others) + 1
    # an int and a float b_max are the same grid, hence the same key
    assert cache_key(provider, kin, BGrid(1e-4, 50, 64, "log")) == key


def test_key_rejects_non_json_fingerprint(kin) -> None:
    class Bad(AnalyticProvider):
        def fingerprint(self):
            return {"x": float("nan")}

    with pytest.raises(ValueError, match="not canonical JSON"):
        cache_key(Bad.toy(), kin)


# --- build and hit ----------------------------------------------------------------------


def test_build_then_hit(cache, kin, caplog) -> None:
    prov = CountingProvider(toy_terms())
    table = cache.get_or_build(prov, kin, SMALL_GRID, progress=False, chunk_size=8)
    assert prov.calls == math.ceil(37 / 8)
    prov.calls = 0
    assert isinstance(table, LuminosityTable)
    assert table.L.shape == (37, len(LUMI_FLAVOURS), 64) and table.flavours == LUMI_FLAVOURS
    np.testing.assert_array_equal(table.L, reference_L(AnalyticProvider(toy_terms()), kin))
    np.testing.assert_array_equal(table.b, SMALL_GRID.nodes().numpy())
    assert table.path == cache.path_for_key(table.key) and table.path.exists()
    for k in ("created", "sidislab_version", "key_document", "provider_name", "build_seconds"):
        assert k in table.metadata
    with caplog.at_level(logging.WARNING, logger="sidislab.lumi.cache"):
        again = cache.get_or_build(prov, kin, SMALL_GRID, progress=False)
    assert prov.calls == 0  # a hit: nothing rebuilt
    assert not caplog.records
    np.testing.assert_array_equal(again.L, table.L)
    assert again.key == table.key and again.metadata["created"] == table.metadata["created"]
    assert cache.get(prov, kin, SMALL_GRID) is not None
    leftovers = [p.name for p in cache.cache_dir.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers


def test_chunking_and_executor_do_not_change_the_result(tmp_path, provider, kin) -> None:
    ref = reference_L(provider, kin)
    a = LuminosityCache(tmp_path / "a").get_or_build(
        provider, kin, SMALL_GRID, progress=False, chunk_size=1000
    )
    b = LuminosityCache(tmp_path / "b").get_or_build(
        provider, kin, SMALL_GRID, progress=False, chunk_size=5
    )
    with ThreadPoolExecutor(3) as ex:
        c = LuminosityCache(tmp_path / "c").get_or_build(
            provider, kin, SMALL_GRID, progress=True, chunk_size=4, executor=ex
        )
    for t in (a, b, c):
        np.testing.assert_array_equal(t.L, ref)
    assert a.key == b.key == c.key


def test_build_chunk_is_pure_and_validates(provider, kin) -> None:
    b = SMALL_GRID.nodes().numpy()
    chunk = kin.subset(slice(3, 9))
    np.testing.assert_array_equal(build_chunk(provider, chunk, b), reference_L(provider, kin)[3:9])

    class NaNProvider(AnalyticProvider):
        def luminosity(self, kin, b):
            out = super().luminosity(kin, b)
            out[2, 4, 7] = np.nan
            return out

    with pytest.raises(ValueError, match=r"point 2 of the chunk, flavour -1"):
        build_chunk(NaNProvider.toy(), chunk, b)


def test_failed_build_leaves_nothing_and_releases_the_lock(cache, kin) -> None:
    class Broken(AnalyticProvider):
        def luminosity(self, kin, b):
            raise RuntimeError("engine exploded")

    with pytest.raises(RuntimeError, match="engine exploded"):
        cache.get_or_build(Broken.toy(), kin, SMALL_GRID, progress=False)
    assert not list(cache.cache_dir.glob("*.h5")) and not list(cache.cache_dir.glob("*.tmp"))
    # the same key builds afterwards (the lock was released)
    prov = AnalyticProvider.toy()
    cache.get_or_build(prov, kin, SMALL_GRID, progress=False)
    assert len(cache.files()) == 1


def test_build_failing_after_rows_were_written_leaves_nothing(cache, kin) -> None:
    """The file is streamed while the build runs: a chunk failing after others were
    written to the temporary still leaves neither a table nor a temporary."""
    calls = []

    class FailsLate(AnalyticProvider):
        def luminosity(self, kin, b):
            calls.append(len(kin))
            if len(calls) == 3:
                raise RuntimeError("chunk 3 exploded")
            return super().luminosity(kin, b)

    with pytest.raises(RuntimeError, match="chunk 3 exploded"):
        cache.get_or_build(FailsLate.toy(), kin, SMALL_GRID, progress=False, chunk_size=4)
    assert len(calls) == 3
    assert not list(cache.cache_dir.glob("*.h5")) and not list(cache.cache_dir.glob("*.tmp"))


def test_crc32_combine_matches_zlib() -> None:
    import zlib

    rng = np.random.default_rng(7)
    data = rng.bytes(5000)
    for cut in (0, 1, 7, 64, 2500, 4999, 5000):
        a, b = data[:cut], data[cut:]
        assert cache_mod.crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(data)
    crc = 0
    for k in range(0, 5000, 333):  # chunk by chunk, as a build combines them
        part = data[k : k + 333]
        crc = cache_mod.crc32_combine(crc, zlib.crc32(part), len(part))
    assert crc == zlib.crc32(data)


def test_streamed_file_is_the_table_whatever_order_the_rows_come_in(tmp_path) -> None:
    """Rows put by this process or written by tasks, in any order, give the bytes and the
    CRC-32 of the whole array; a file whose rows are not all written, or that is not
    finished, is never moved into place."""
    rng = np.random.default_rng(3)
    L = rng.standard_normal((23, 3, 5))
    table = cache_mod.LuminosityTable(
        b=np.geomspace(0.1, 2.0, 5), L=L, flavours=(1, 2, 3), key="k", path=None
    )
    kin = random_points(23, seed=1)
    starts = [(0, 4), (4, 7), (11, 0), (11, 9), (20, 3)]
    path = tmp_path / "t.h5"
    with cache_mod._table_file(path, L.shape) as out:
        for k in (3, 0, 4, 2, 1):
            start, m = starts[k]
            if k % 2:  # as a task that sees the file does it (chunks 1 and 3: not empty)
                done = cache_mod.build_chunk_into(
                    _Rows(L), _Slice(start, m), np.zeros(5), out.target(), start
                )
                assert isinstance(done, cache_mod._RowsWritten)
                out.written(start, done)
            else:
                out.put(start, L[start : start + m])
        out.finish(table.b, table.flavours, kin, {"format": "x"})
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["L"][...], L)
        assert f["L"].chunks is None  # contiguous
        assert int(f["L"].attrs["crc32"]) == cache_mod._crc32(L)
        assert f.attrs["format"] == "x" and f["kinematics/x"].shape == (23,)
    for rows, match in (
        (starts[:4], r"rows 20\.\.22 of /L were never written"),
        (starts, "did not finish it"),
    ):
        dest = tmp_path / f"u{len(rows)}.h5"
        with pytest.raises(RuntimeError, match=match), cache_mod._table_file(dest, L.shape) as out:
            for start, m in rows:
                out.put(start, L[start : start + m])
            if len(rows) < len(starts):
                out.finish(table.b, table.flavours, kin, {})
        assert not dest.exists() and not list(tmp_path.glob(".u*.tmp"))


class _Slice:
    """A stand-in chunk of kinematics: rows start … start + m of a fixed array."""

    source = "<test>"

    def __init__(self, start: int, m: int):
        self.start, self.m = start, m

    def __len__(self) -> int:
        return self.m


class _Rows:
    """A stand-in provider returning rows of a fixed array."""

    flavours = (1, 2, 3)

    def __init__(self, L: np.ndarray):
        self.L = L

    def luminosity(self, kin: _Slice, b: np.ndarray) -> np.ndarray:
        return self.L[kin.start : kin.start + kin.m]


def test_a_task_that_does_not_see_the_file_returns_its_rows(tmp_path) -> None:
    """Where a worker cannot open the temporary (another machine) or finds another file
    under its name, the task returns the rows and writes nothing."""
    L = np.random.default_rng(4).standard_normal((6, 3, 5))
    path = tmp_path / "t.h5"
    with cache_mod._table_file(path, L.shape) as out:
        target = out.target()
        for other in (
            dataclasses.replace(target, path=str(tmp_path / "absent.h5")),
            dataclasses.replace(target, inode=target.inode + 1),
        ):
            got = cache_mod.build_chunk_into(_Rows(L), _Slice(2, 3), np.zeros(5), other, 2)
            np.testing.assert_array_equal(got, L[2:5])
        out.put(0, L)
        out.finish(np.geomspace(0.1, 2.0, 5), (1, 2, 3), random_points(6, seed=2), {})
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["L"][...], L)


def test_executor_tasks_write_their_rows_into_the_file(
    tmp_path, provider, kin, monkeypatch
) -> None:
    """With an executor the tasks write their rows themselves (nothing but a CRC comes
    back), and the table read back is the serial one, bit for bit."""
    returned = []
    real = cache_mod.build_chunk_into

    def spy(*args):
        out = real(*args)
        returned.append(type(out).__name__)
        return out

    monkeypatch.setattr(cache_mod, "build_chunk_into", spy)
    serial = LuminosityCache(tmp_path / "s").get_or_build(
        provider, kin, SMALL_GRID, progress=False, chunk_size=6
    )
    assert set(returned) == {"ndarray"}
    returned.clear()
    with ThreadPoolExecutor(2) as ex:
        par = LuminosityCache(tmp_path / "p").get_or_build(
            provider, kin, SMALL_GRID, progress=False, chunk_size=6, executor=ex
        )
    assert set(returned) == {"_RowsWritten"} and len(returned) == -(-len(kin) // 6)
    np.testing.assert_array_equal(par.L, serial.L)
    with h5py.File(serial.path, "r") as a, h5py.File(par.path, "r") as b:
        assert int(a["L"].attrs["crc32"]) == int(b["L"].attrs["crc32"])


def test_ensure_builds_the_file_without_keeping_the_table(tmp_path, provider, kin) -> None:
    """ensure() = get_or_build() without the table in memory: the same file and bytes,
    serially and on an executor; a second call only verifies the file."""
    ref = LuminosityCache(tmp_path / "ref").get_or_build(provider, kin, SMALL_GRID, progress=False)
    for name, ex in (("serial", None), ("pool", ThreadPoolExecutor(2))):
        cache = LuminosityCache(tmp_path / name)
        path = cache.ensure(provider, kin, SMALL_GRID, progress=False, chunk_size=5, executor=ex)
        assert path == cache.path_for_key(ref.key) and path.exists()
        assert key_of_file(path) == ref.key
        stamp = path.stat().st_mtime_ns
        assert cache.ensure(provider, kin, SMALL_GRID, progress=False) == path
        assert path.stat().st_mtime_ns == stamp  # verified, not rebuilt
        np.testing.assert_array_equal(cache.get(provider, kin, SMALL_GRID).L, ref.L)
        if ex is not None:
            ex.shutdown()


def test_key_of_file_refuses_other_names() -> None:
    with pytest.raises(ValueError, match="not a luminosity cache file name"):
        key_of_file("lumi-xyz.h5")
    with pytest.raises(ValueError, match="not a luminosity cache file name"):
        key_of_file(".lumi-" + "0" * 64 + ".h5.tmp")


def test_default_grid_and_parameter_validation(cache, provider, kin) -> None:
    assert DEFAULT_CACHE_GRID == BGrid(1e-4, 50.0, 256, "log")
    with pytest.raises(ValueError, match="chunk_size"):
        cache.get_or_build(provider, kin, SMALL_GRID, chunk_size=0)
    with pytest.raises(ValueError, match="b_min > 0"):
        cache.get_or_build(provider, kin, BGrid(0.0, 10.0, 64, "linear"))


# --- damaged, foreign, stale files ------------------------------------------------------


def build_reference(cache, provider, kin):
    table = cache.get_or_build(provider, kin, SMALL_GRID, progress=False)
    return table, table.path


def assert_rebuilt(cache, provider, kin, caplog, reason: str) -> None:
    # count luminosity() calls through a patched method (the key stays the provider's)
    calls = []
    orig = type(provider).luminosity

    def counting(self, k, b):
        calls.append(len(k))
        return orig(self, k, b)

    caplog.clear()
    with (
        caplog.at_level(logging.WARNING, logger="sidislab.lumi.cache"),
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.setattr(type(provider), "luminosity", counting)
        table = cache.get_or_build(provider, kin, SMALL_GRID, progress=False)
    assert calls, "the damaged file was trusted"
    np.testing.assert_array_equal(table.L, reference_L(provider, kin))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings  # logged once, not again under the lock
    assert "not valid" in warnings[0] and reason in warnings[0]
    # and the rewritten file is a hit again
    assert cache.get(provider, kin, SMALL_GRID) is not None


def test_truncated_file_is_rebuilt(cache, provider, kin, caplog) -> None:
    _, path = build_reference(cache, provider, kin)
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)
    assert_rebuilt(cache, provider, kin, caplog, "unreadable")


def test_flipped_bytes_in_the_data_are_detected(cache, provider, kin, caplog) -> None:
    _, path = build_reference(cache, provider, kin)
    with h5py.File(path, "r") as f:
        offset = f["L"].id.get_offset()  # contiguous dataset: its bytes start here
        nbytes = f["L"].id.get_storage_size()
    with open(path, "r+b") as fh:
        fh.seek(offset + nbytes // 3)
        byte = fh.read(1)
        fh.seek(offset + nbytes // 3)
        fh.write(bytes([byte[0] ^ 0x10]))  # one bit: a plausible float, caught by CRC-32
    assert_rebuilt(cache, provider, kin, caplog, "checksum")


@pytest.mark.parametrize("fraction", [0.0005, 0.002, 0.01, 0.05, 0.3, 0.7, 0.9999])
def test_flipped_bytes_anywhere_never_give_wrong_data(cache, provider, kin, fraction) -> None:
    """Damage anywhere in the file: the result is either a verified load or a rebuild."""
    _, path = build_reference(cache, provider, kin)
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        pos = int(fraction * size)
        fh.seek(pos)
        chunk = fh.read(8)
        fh.seek(pos)
        fh.write(bytes(c ^ 0xA5 for c in chunk))
    table = cache.get_or_build(provider, kin, SMALL_GRID, progress=False)
    np.testing.assert_array_equal(table.L, reference_L(provider, kin))
    np.testing.assert_array_equal(table.b, SMALL_GRID.nodes().numpy())


def test_foreign_hdf5_under_the_expected_name_is_rebuilt(cache, provider, kin, caplog) -> None:
    path = cache.path_for_key(cache.key(provider, kin, SMALL_GRID))
    path.parent.mkdir(parents=True)
    with h5py.File(path, "w") as f:  # plausible, but not ours
        f["L"] = np.zeros((37, 10, 64))
        f["b"] = SMALL_GRID.nodes().numpy()
    assert_rebuilt(cache, provider, kin, caplog, "foreign")


def test_non_hdf5_file_is_rebuilt(cache, provider, kin, caplog) -> None:
    path = cache.path_for_key(cache.key(provider, kin, SMALL_GRID))
    path.parent.mkdir(parents=True)
    path.write_text("not an HDF5 file\n")
    assert_rebuilt(cache, provider, kin, caplog, "unreadable")


def test_other_format_version_is_rebuilt(cache, provider, kin, caplog) -> None:
    _, path = build_reference(cache, provider, kin)
    with h5py.File(path, "r+") as f:
        assert f.attrs["format"] == CACHE_FORMAT
        f.attrs["format_version"] = 99
    assert_rebuilt(cache, provider, kin, caplog, "format version 99")


def test_stale_file_with_another_key_is_rebuilt(cache, provider, kin, caplog) -> None:
    other = AnalyticProvider.toy(width_lnQ2=0.07)
    _, other_path = build_reference(cache, other, kin)
    path = cache.path_for_key(cache.key(provider, kin, SMALL_GRID))
    shutil.copy(other_path, path)  # right name, wrong contents
    assert_rebuilt(cache, provider, kin, caplog, "stale")


def test_tampered_metadata_is_rebuilt(cache, provider, kin, caplog) -> None:
    _, path = build_reference(cache, provider, kin)
    with h5py.File(path, "r+") as f:
        del f["flavours"]
        f["flavours"] = np.array(LUMI_FLAVOURS[::-1], dtype=np.int32)
    assert_rebuilt(cache, provider, kin, caplog, "crc32")


def test_new_provider_parameters_make_a_new_file(cache, kin) -> None:
    p1 = AnalyticProvider.toy(width_lnQ2=0.05)
    p2 = AnalyticProvider.toy(width_lnQ2=0.06)
    t1 = cache.get_or_build(p1, kin, SMALL_GRID, progress=False)
    t2 = cache.get_or_build(p2, kin, SMALL_GRID, progress=False)
    assert t1.key != t2.key and t1.path != t2.path
    assert not np.array_equal(t1.L, t2.L)
    assert {e["key"] for e in cache.info()} == {t1.key, t2.key}
    # both remain valid hits
    np.testing.assert_array_equal(cache.get(p1, kin, SMALL_GRID).L, t1.L)


# --- concurrency ------------------------------------------------------------------------


def test_concurrent_threads_build_once(cache, kin) -> None:
    prov = CountingProvider(toy_terms(), delay=0.3)
    results: list[LuminosityTable] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(cache.get_or_build(prov, kin, SMALL_GRID, progress=False))
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert prov.calls == 1  # one chunk, built by one thread; the others waited and loaded
    assert len(results) == 4
    for r in results:
        np.testing.assert_array_equal(r.L, reference_L(AnalyticProvider(toy_terms()), kin))
    assert len(cache.files()) == 1 and not list(cache.cache_dir.glob("*.tmp"))


def _process_builder(cache_dir: str, marker_dir: str, seed: int) -> str:
    prov = CountingProvider(toy_terms(), delay=1.0, marker_dir=marker_dir)
    table = LuminosityCache(cache_dir).get_or_build(
        prov, make_kin(seed=seed), SMALL_GRID, progress=False
    )
    return table.key


def test_concurrent_processes_build_once(tmp_path) -> None:
    cache_dir, markers = tmp_path / "cache", tmp_path / "markers"
    markers.mkdir()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        keys = pool.starmap(_process_builder, [(str(cache_dir), str(markers), 3)] * 2)
    assert keys[0] == keys[1]
    assert len(list(markers.iterdir())) == 1  # one luminosity() call in all
    cache = LuminosityCache(cache_dir)
    assert len(cache.files()) == 1
    prov = AnalyticProvider(toy_terms())
    kin = make_kin(seed=3)
    table = cache.get(CountingProvider(toy_terms()), kin, SMALL_GRID)
    assert table is not None
    np.testing.assert_array_equal(table.L, reference_L(prov, kin))


def test_lock_timeout(cache, provider, kin) -> None:
    key = cache.key(provider, kin, SMALL_GRID)
    with cache_mod._locked(cache._lock_path(key), None, "test"):
        slow = LuminosityCache(cache.cache_dir, lock_timeout=0.2)
        with pytest.raises(TimeoutError, match="lock held"):
            slow.get_or_build(provider, kin, SMALL_GRID, progress=False)


# --- info / clear -----------------------------------------------------------------------


def test_info_and_clear(cache, kin) -> None:
    assert cache.info() == [] and cache.clear() == 0  # folder absent
    p1, p2 = AnalyticProvider.toy(width_lnQ2=0.05), AnalyticProvider.toy(width_lnQ2=0.06)
    t1 = cache.get_or_build(p1, kin, SMALL_GRID, progress=False)
    t2 = cache.get_or_build(p2, kin, SMALL_GRID, progress=False)
    info = {e["key"]: e for e in cache.info()}
    e = info[t1.key]
    assert e["valid"] and e["error"] is None
    assert (e["provider"], e["n_points"], e["Nb"], e["n_flavours"]) == ("analytic", 37, 64, 10)
    assert e["size"] == t1.path.stat().st_size and e["path"] == str(t1.path)
    assert e["created"] == t1.metadata["created"] and (e["b_min"], e["b_max"]) == (1e-4, 50.0)
    # a damaged file is listed, flagged
    (cache.cache_dir / f"lumi-{'0' * 64}.h5").write_text("junk")
    bad = {x["key"]: x for x in cache.info()}["0" * 64]
    assert not bad["valid"] and bad["error"]
    # clear by prefix, then everything; temporary leftovers go too
    with pytest.raises(ValueError, match="hexadecimal"):
        cache.clear("not-a-key")
    assert cache.clear(t1.key[:12]) == 1
    assert {x["key"] for x in cache.info()} == {t2.key, "0" * 64}
    (cache.cache_dir / f".lumi-{t2.key}.h5.abc123.tmp").write_bytes(b"partial")
    assert cache.clear() == 2
    assert list(cache.cache_dir.iterdir()) == []


def test_clear_rejects_ambiguous_prefix(cache) -> None:
    cache.cache_dir.mkdir(parents=True)
    k1, k2 = "ab" + "0" * 62, "ab" + "1" * 62
    for k in (k1, k2):
        cache.path_for_key(k).write_bytes(b"x")
    with pytest.raises(ValueError, match="ambiguous"):
        cache.clear("ab")
    assert cache.clear("ab1") == 1
    assert cache.clear("ffff") == 0
    assert [p.name for p in cache.files()] == [f"lumi-{k1}.h5"]


# --- interpolation ----------------------------------------------------------------------


def smooth(u: np.ndarray) -> np.ndarray:
    """A smooth function of u = ln b with O(1) derivatives, positive."""
    return 2.0 + np.tanh(u) + 0.3 * np.sin(u)


def table_of(fun, grid=DEFAULT_CACHE_GRID, n=3, nf=2) -> LuminosityTable:
    b = grid.nodes().numpy()
    scale = np.arange(1, n * nf + 1, dtype=np.float64).reshape(n, nf, 1)
    return LuminosityTable(b=b, L=scale * fun(np.log(b)), flavours=tuple(range(1, nf + 1)))


def test_interpolation_accuracy_smooth_function() -> None:
    """≤ 1e-6 relative (measured 5e-8) on the default 256-node grid, shared and per point."""
    table = table_of(smooth)
    rng = np.random.default_rng(0)
    u_lo, u_hi = math.log(1e-4), math.log(50.0)
    bq = np.exp(rng.uniform(u_lo, u_hi, size=(3, 5000)))
    out = table.interpolate(bq).numpy()
    assert out.shape == (3, 2, 5000)
    exact = np.arange(1, 7, dtype=np.float64).reshape(3, 2, 1) * smooth(np.log(bq))[:, None, :]
    assert np.abs(out / exact - 1).max() <= 1e-6
    shared = table.interpolate(torch.from_numpy(bq[0])).numpy()
    np.testing.assert_allclose(
        shared[1], np.array([[3.0], [4.0]]) * smooth(np.log(bq[0])), rtol=1e-6
    )


def bstar(b: np.ndarray, Q: float) -> np.ndarray:
    """b* of physics.md §2 (b_max = b0, b_min = b0/Q)."""
    bmax, bmin = B0, B0 / Q
    return bmax * (np.expm1(-((b / bmax) ** 4)) / np.expm1(-((b / bmin) ** 4))) ** 0.25


def sudakov_like(b: np.ndarray, Q: float) -> np.ndarray:
    lg = np.log(Q * bstar(b, Q) / B0)
    return np.exp(-0.4 * lg**2 - 0.3 * lg) * (1.0 + 0.2 * np.log(B0 / bstar(b, Q)))


@pytest.mark.parametrize(("Q", "tol"), [(1.1, 1.5e-6), (10.0, 3e-6), (100.0, 5e-6)])
def test_interpolation_of_bstar_saturated_luminosity(Q: float, tol: float) -> None:
    """A luminosity-like function of b*: documented accuracy of the default grid, and exact
    flat continuation outside it (b* saturates, physics.md §2)."""
    b = DEFAULT_CACHE_GRID.nodes().numpy()
    table = LuminosityTable(b=b, L=sudakov_like(b, Q)[None, None, :], flavours=(2,))
    bq = np.exp(np.linspace(math.log(1e-6), math.log(1e3), 100001))
    out = table.interpolate(bq).numpy()[0, 0]
    assert np.abs(out / sudakov_like(bq, Q) - 1).max() <= tol


def test_flat_outside_the_table() -> None:
    table = table_of(smooth, grid=SMALL_GRID)
    lo, hi = table.L[..., 0], table.L[..., -1]
    out = table.interpolate(np.array([1e-9, 1e-5, 1e-4, 50.0, 60.0, 1e4])).numpy()
    for k in range(3):
        np.testing.assert_array_equal(out[..., k], lo)
    for k in range(3, 6):
        np.testing.assert_array_equal(out[..., k], hi)
    # knots are reproduced exactly, inside too
    np.testing.assert_allclose(table.interpolate(table.b).numpy(), table.L, rtol=1e-14)


def test_spline_matches_scipy_and_reproduces_cubics() -> None:
    rng = np.random.default_rng(5)
    b = np.sort(np.exp(rng.uniform(-6, 3, 40)))  # non-uniform knots: the searchsorted path
    y = rng.normal(size=(4, 3, 40))
    bq = np.exp(rng.uniform(-7, 4, size=(4, 300)))
    for bc in ("not-a-knot", "natural"):
        spline = LogBSpline(b, y, bc=bc)
        ref = CubicSpline(np.log(b), y, axis=-1, bc_type=bc)
        uq = np.clip(np.log(bq), np.log(b[0]), np.log(b[-1]))
        expected = np.stack([ref(uq[i])[i] for i in range(4)])
        np.testing.assert_allclose(spline(bq).numpy(), expected, rtol=0, atol=1e-12)
    # not-a-knot reproduces a cubic in ln b exactly (uniform knots: the arithmetic path)
    bu = np.geomspace(1e-3, 10.0, 30)
    cubic = lambda u: 0.5 - u + 0.25 * u**2 - 0.03 * u**3  # noqa: E731
    sp = LogBSpline(bu, cubic(np.log(bu))[None, None, :])
    uq = np.linspace(math.log(1e-3), math.log(10.0), 777)
    np.testing.assert_allclose(sp(np.exp(uq)).numpy()[0, 0], cubic(uq), rtol=0, atol=1e-12)


def test_interpolate_dtype_device_and_errors() -> None:
    table = table_of(smooth, grid=SMALL_GRID)
    out = table.interpolate(np.array([0.1, 1.0]), dtype=torch.float32, device="cpu")
    assert out.dtype == torch.float32 and out.device.type == "cpu" and out.shape == (3, 2, 2)
    np.testing.assert_allclose(
        out.numpy(), table.interpolate(np.array([0.1, 1.0])).numpy(), rtol=1e-6
    )
    with pytest.raises(ValueError, match="finite and > 0"):
        table.interpolate(np.array([0.1, -1.0]))
    with pytest.raises(ValueError, match="N=3"):
        table.interpolate(np.ones((2, 5)))
    with pytest.raises(ValueError, match="shape"):
        LuminosityTable(b=table.b, L=table.L[:, :, :-1], flavours=(1, 2))
    assert table.flavour_index(2) == 1
    with pytest.raises(ValueError, match="not in the table"):
        table.flavour_index(5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_interpolate_on_cuda() -> None:
    table = table_of(smooth)
    bq = torch.exp(torch.empty(3, 1000, dtype=torch.float64).uniform_(-9, 4)).cuda()
    out = table.interpolate(bq)
    assert out.device.type == "cuda"
    np.testing.assert_allclose(out.cpu().numpy(), table.interpolate(bq.cpu()).numpy(), rtol=1e-13)


def test_exact_transform_through_cache_and_interpolation(cache) -> None:
    """Analytic provider → cache (default grid) → spline at dense per-point nodes →
    quadrature: reproduces the exact Hankel transform (physics.md §6) to 1e-6."""
    kin = make_kin(n=8, seed=11)
    prov = AnalyticProvider.toy(width_lnQ2=0.05)
    table = cache.get_or_build(prov, kin, progress=False)
    qT = kin.qT.numpy()
    # per-point nodes (as Ogata's are): a dense log grid scaled by 1/qT, trapezoid in ln b
    u = np.linspace(math.log(1e-6), math.log(40.0), 6001)
    nodes = np.exp(u)[None, :] * (1.0 / np.maximum(qT, 0.2))[:, None] * 0.5
    nodes = np.clip(nodes, 1e-7, None)
    L = table.interpolate(nodes).numpy()  # [N, F, M]
    lnb = np.log(nodes)
    g = nodes[:, None, :] ** 2 * special.j0(qT[:, None] * nodes)[:, None, :] * L
    numeric = np.trapezoid(g, lnb[:, None, :], axis=-1)
    exact = prov.exact_transform(kin=kin, per_flavour=True)
    np.testing.assert_allclose(numeric, exact, rtol=1e-6, atol=1e-9 * np.abs(exact).max())


# --- leftovers of killed builds ---------------------------------------------------------

_KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from sidislab.io import atomic_path
from sidislab.lumi import cache as cache_mod
cache = cache_mod.LuminosityCache(sys.argv[1])
key = sys.argv[2]
with cache_mod._locked(cache._lock_path(key), None, "killed build"):
    with atomic_path(cache.path_for_key(key)) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(os.urandom(3 * 2**20))  # a partial table
            fh.flush()
            os.kill(os.getpid(), signal.SIGKILL)  # kill -9 in the middle of the write
"""


def _killed_build(cache: LuminosityCache, key: str) -> None:
    """A builder of ``key`` killed (SIGKILL) while writing its temporary file."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(cache.cache_dir), key], timeout=120
    )
    assert proc.returncode == -9


def test_killed_build_leaves_an_orphan_that_info_shows_and_the_next_build_removes(
    cache, provider, kin, tmp_path, monkeypatch, capsys
) -> None:
    from sidislab.cli import main

    other = AnalyticProvider.toy(width_lnQ2=0.07)
    k_self, k_other = cache.key(provider, kin, SMALL_GRID), cache.key(other, kin, SMALL_GRID)
    _killed_build(cache, k_self)
    _killed_build(cache, k_other)
    temps = cache.temporaries()
    assert [t["state"] for t in temps] == ["orphaned", "orphaned"]
    assert {t["key"] for t in temps} == {k_self, k_other}
    assert all(t["size"] == 3 * 2**20 and t["path"].name.endswith(".tmp") for t in temps)
    # the command shows them, with their size and what removes them
    monkeypatch.setenv("SIDISLAB_CACHE_DIR", str(cache.cache_dir))
    assert main(["lumi", "info"]) == 0
    out = capsys.readouterr().out
    assert "2 temporary file(s) of builds" in out and out.count("orphaned") == 3
    assert "2 orphaned by killed builds (6.0 MiB)" in out
    # the next build (of either key) removes every orphan, and its own file is sound
    table = cache.get_or_build(provider, kin, SMALL_GRID, progress=False)
    assert cache.temporaries() == []
    assert sorted(p.name for p in cache.cache_dir.iterdir()) == sorted(
        [table.path.name, f"lumi-{k_self}.lock", f"lumi-{k_other}.lock"]
    )
    np.testing.assert_array_equal(table.L, reference_L(provider, kin))


def test_temporary_of_a_running_build_is_kept(cache, provider, kin) -> None:
    """A temporary whose key's lock is held belongs to a live builder: shown, never removed."""
    other = AnalyticProvider.toy(width_lnQ2=0.07)
    busy = cache.key(other, kin, SMALL_GRID)
    with cache_mod._locked(cache._lock_path(busy), None, "running build"):
        tmp = cache.cache_dir / f".lumi-{busy}.h5.a1b2c3d4.tmp"
        tmp.write_bytes(b"x" * 1000)
        assert [(t["key"], t["state"], t["size"]) for t in cache.temporaries()] == [
            (busy, "being written", 1000)
        ]
        assert cache.clean_temporaries() == 0
        cache.get_or_build(provider, kin, SMALL_GRID, progress=False)  # another key's build
        assert tmp.exists()
    assert cache.temporaries()[0]["state"] == "orphaned"  # its builder is gone
    assert cache.clean_temporaries() == 1000 and not tmp.exists()
