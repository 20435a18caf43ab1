"""Set objects, backends and discovery (sidislab.collinear.pdfset, .discovery)."""

from __future__ import annotations

import hashlib
import importlib.util
import math
import sys

import numpy as np
import pytest

from sidislab.collinear import PROJECT_DATA, find_set, list_sets, load_set, search_paths
from sidislab.collinear.lhagrid import GridBlock, write_dat, write_info
from sidislab.errors import ExtrapolationError, KinematicsError, SetNotFoundError

JAM_PDF = "JAM20-SIDIS_PDF_proton_nlo"
JAM_FF = "JAM20-SIDIS_FF_pion_nlo"


def _small_set(root, name, desc="small", values_sign=1.0, info_extra=None):
    xs = np.array([1e-3, 1e-2, 0.1, 0.5, 1.0])
    qs = np.array([1.0, 2.0, 5.0, 10.0])
    X, Q = np.meshgrid(xs, qs, indexing="ij")
    xf = np.stack([(1 - X) ** 3 * np.log(3 * Q), values_sign * X * (1 - X) * (X - 0.05)], axis=-1)
    info = {"SetDesc": desc, "Format": "lhagrid1", "NumMembers": 1, "Flavors": [2, 21]}
    info.update(info_extra or {})
    write_info(root / name / f"{name}.info", info)
    write_dat(root / name / f"{name}_0000.dat", [GridBlock(xs=xs, qs=qs, pids=(2, 21), xf=xf)])
    return root / name


def test_shared_sets_metadata(shared_lhapdf):
    s = load_set(JAM_PDF, paths=[shared_lhapdf])
    assert s.name == JAM_PDF and s.path == shared_lhapdf / JAM_PDF and s.member == 0
    assert s.backend == "native" and s.extrapolation == "freeze"
    assert s.flavours == (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 21)
    assert s.thresholds == (0.0, 0.0, 0.0, 1.28, 4.18, 180.0)
    assert (s.xmin, s.xmax) == (1e-6, 1.0)
    assert s.qmin == pytest.approx(1.14018) and s.qmax == pytest.approx(316.228)
    assert s.info["Particle"] == 2212 and s.info["AlphaS_MZ"] == 0.118
    h = hashlib.sha256()
    h.update((s.path / f"{JAM_PDF}.info").read_bytes())
    h.update((s.path / f"{JAM_PDF}_0000.dat").read_bytes())
    assert s.checksum == h.hexdigest()
    f = load_set(JAM_FF, paths=[shared_lhapdf])
    assert f.info["Particle"] == 211 and f.checksum != s.checksum


def test_xfxq_shapes_flavours_and_inputs(shared_lhapdf):
    s = load_set(JAM_PDF, paths=[shared_lhapdf])
    x = np.array([1e-3, 0.1, 0.5])
    q = np.array([[2.0], [10.0]])
    out = s.xfxQ(x, q)
    assert out.shape == (2, 3, 11) and out.dtype == np.float64
    for j, pid in enumerate(s.flavours):  # equal up to the summation order of the contraction
        np.testing.assert_allclose(out[..., j], s.xfxQ_pid(pid, x, q), rtol=1e-14, atol=1e-300)
    np.testing.assert_array_equal(s.xfxQ_pid(0, x, 2.0), s.xfxQ_pid(21, x, 2.0))
    np.testing.assert_array_equal(s.xfxQ_pid(6, x, q), np.zeros((2, 3)))
    assert s.has_flavour(0) and not s.has_flavour(-6)
    assert s.xfxQ(0.2, 5.0).shape == (11,) and s.xfxQ_pid(2, 0.2, 5.0).shape == ()
    np.testing.assert_array_equal(s.xfxQ([1.0, 1.3], 5.0), 0.0)
    with pytest.raises(KinematicsError, match=r"point 1 has x = 0.0, Q = 5.0"):
        s.xfxQ([0.1, 0.0], 5.0)
    with pytest.raises(KinematicsError, match=r"point 0 has x = 0.1, Q = -2.0"):
        s.xfxQ_pid(2, 0.1, -2.0)
    with pytest.raises(KinematicsError, match=r"point 2 has x = nan"):
        s.xfxQ([0.1, 0.2, np.nan], 5.0)
    with pytest.raises(KinematicsError, match=r"do not broadcast"):
        s.xfxQ(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"extrapolation must be one of"):
        load_set(JAM_PDF, paths=[shared_lhapdf], extrapolation="linear")
    with pytest.raises(ValueError, match=r"backend must be one of"):
        load_set(JAM_PDF, paths=[shared_lhapdf], backend="apfel")


def test_freeze_below_qmin_matches_the_reference_convention(shared_lhapdf):
    """The reference: "below QMin the distribution is frozen at QMin" (the JAM PDF starts at
    1.14 GeV, μ_b* goes down to 1 GeV)."""
    s = load_set(JAM_PDF, paths=[shared_lhapdf])
    x = np.geomspace(1e-3, 0.8, 7)
    np.testing.assert_array_equal(s.xfxQ(x, 1.0), s.xfxQ(x, s.qmin))
    c = load_set(JAM_PDF, paths=[shared_lhapdf], extrapolation="continuation")
    np.testing.assert_array_equal(c.xfxQ(x, 5.0), s.xfxQ(x, 5.0))
    assert not np.allclose(c.xfxQ(x, 1.0), s.xfxQ(x, 1.0))


def test_force_positive(tmp_path):
    _small_set(tmp_path, "neg", info_extra={"ForcePositive": 1})
    _small_set(tmp_path, "raw")
    neg, raw = load_set("neg", paths=[tmp_path]), load_set("raw", paths=[tmp_path])
    x = np.array([0.02, 0.3])
    assert raw.xfxQ_pid(21, x[0], 2.0) < 0 and neg.xfxQ_pid(21, x[0], 2.0) == 0.0
    assert neg.xfxQ_pid(21, x[1], 2.0) == raw.xfxQ_pid(21, x[1], 2.0) > 0
    _small_set(tmp_path, "floor", info_extra={"ForcePositive": 2})
    assert load_set("floor", paths=[tmp_path]).xfxQ_pid(21, x[0], 2.0) == 1e-10


def test_discovery_order(tmp_path, monkeypatch):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    _small_set(a, "dup", desc="from a")
    _small_set(b, "dup", desc="from b")
    _small_set(c, "only_c", desc="from c")
    monkeypatch.setenv("LHAPDF_DATA_PATH", f"{b}:{tmp_path / 'missing'}::{a}")
    assert find_set("dup") == b / "dup"
    assert load_set("dup").info["SetDesc"] == "from b"
    assert find_set("dup", paths=[a]) == a / "dup"  # explicit paths come first
    assert find_set("only_c", paths=[c]) == c / "only_c"
    with pytest.raises(SetNotFoundError, match=r"'only_c' not found"):
        find_set("only_c")
    paths = search_paths([c])
    assert paths[:3] == [c, b, a] and tmp_path / "missing" not in paths
    if PROJECT_DATA.is_dir():
        assert paths[-1] == PROJECT_DATA
    listed = list_sets([c])
    names = [n for n, _ in listed]
    assert names[:3] == ["only_c", "dup", "dup"] and [p for _, p in listed][1:3] == [
        b / "dup",
        a / "dup",
    ]


def test_shared_sets_found_through_the_environment(shared_lhapdf, monkeypatch):
    monkeypatch.setenv("LHAPDF_DATA_PATH", str(shared_lhapdf))
    s = load_set(JAM_FF)
    assert s.path == shared_lhapdf / JAM_FF
    assert {JAM_PDF, JAM_FF} <= {n for n, _ in list_sets()}


def test_unknown_set_message(tmp_path):
    with pytest.raises(
        SetNotFoundError,
        match=r"'no_such_set' not found \(no no_such_set/no_such_set\.info\) in: .*LHAPDF_DATA_PATH",
    ):
        load_set("no_such_set", paths=[tmp_path])
    with pytest.raises(SetNotFoundError, match=r"non-empty string"):
        find_set("")


@pytest.mark.skipif(importlib.util.find_spec("lhapdf") is not None, reason="lhapdf is installed")
def test_lhapdf_backend_needs_the_module(shared_lhapdf):
    with pytest.raises(ImportError, match=r"backend='lhapdf' needs the lhapdf Python module"):
        load_set(JAM_PDF, paths=[shared_lhapdf], backend="lhapdf")


@pytest.mark.lhapdf
@pytest.mark.parametrize("name", [JAM_PDF, JAM_FF])
def test_lhapdf_backend_agrees_with_native(shared_lhapdf, name):
    pytest.importorskip("lhapdf")
    nat = load_set(name, paths=[shared_lhapdf])
    lha = load_set(name, paths=[shared_lhapdf], backend="lhapdf")
    assert lha.backend == "lhapdf" and lha.flavours == nat.flavours
    assert lha.checksum == nat.checksum and lha.thresholds == nat.thresholds
    rng = np.random.default_rng(2)
    x = np.exp(rng.uniform(np.log(max(1e-4, nat.xmin)), np.log(0.9), 300))
    q = np.exp(rng.uniform(np.log(nat.qmin), np.log(nat.qmax), 300))
    np.testing.assert_allclose(lha.xfxQ(x, q), nat.xfxQ(x, q), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(lha.xfxQ(x, 0.5), nat.xfxQ(x, 0.5), rtol=1e-10, atol=1e-14)  # freeze
    qs = np.geomspace(nat.qmin, nat.qmax, 50)
    np.testing.assert_allclose(lha.alphas_lhapdf(qs), nat.make_alphas("ipol")(qs), rtol=1e-10)
    assert math.isclose(lha.qmin, nat.qmin, rel_tol=1e-12)


class _FakeLHAPDF:
    """A stand-in for the ``lhapdf`` module (its Python API: paths, pathsPrepend, mkPDF →
    PDF with flavors(), xMin/xMax/q2Min/q2Max, xfxQ(pid, x, q), alphasQ(q)) that serves the
    set with sidislab's own reader, to exercise the wrapper's logic. Not LHAPDF."""

    def __init__(self):
        self._paths: list[str] = []
        self.calls = 0

    def paths(self):
        return list(self._paths)

    def pathsPrepend(self, p):
        self._paths.insert(0, p)

    def mkPDF(self, name, member):
        folder = find_set(name, paths=self._paths)
        native = load_set(str(folder), member=member, extrapolation="continuation")
        fake = self

        class PDF:
            xMin, xMax = native.xmin, native.xmax
            q2Min, q2Max = native.qmin**2, native.qmax**2

            def flavors(self):
                return [0 if p == 21 else p for p in native.flavours]

            def xfxQ(self, pid, x, q):
                fake.calls += 1
                return float(native.xfxQ_pid(pid, x, q))

            def alphasQ(self, q):
                return float(native.make_alphas("ipol")(q))

        return PDF()


def test_lhapdf_wrapper_logic_with_a_stand_in_module(shared_lhapdf, monkeypatch):
    fake = _FakeLHAPDF()
    monkeypatch.setitem(sys.modules, "lhapdf", fake)
    s = load_set(JAM_FF, paths=[shared_lhapdf], backend="lhapdf")
    assert fake.paths()[0] == str(shared_lhapdf.resolve())  # the set's folder was prepended
    nat = load_set(JAM_FF, paths=[shared_lhapdf])
    assert s.flavours == nat.flavours and s.backend == "lhapdf"
    z = np.array([0.05, 0.3, 0.7, 1.0])
    q = np.array([[0.5], [3.0], [20000.0]])  # below and above the Q range: freeze clamps
    np.testing.assert_allclose(s.xfxQ(z, q), nat.xfxQ(z, q), rtol=1e-13)
    np.testing.assert_allclose(s.xfxQ_pid(2, z, 3.0), nat.xfxQ_pid(2, z, 3.0), rtol=1e-13)
    assert fake.calls == 3 * 3 * 11 + 3  # x = 1 is never sent to LHAPDF
    np.testing.assert_allclose(s.alphas_lhapdf([2.0, 10.0]), nat.make_alphas("ipol")([2.0, 10.0]))
    err = load_set(JAM_FF, paths=[shared_lhapdf], backend="lhapdf", extrapolation="error")
    with pytest.raises(ExtrapolationError, match=r"point 1 .* outside the grid"):
        err.xfxQ([0.1, 0.005], 2.0)
