"""Two-loop matching coefficients (sidislab.tmd.nnlo_matching) against physics.md Appendix A.

physics.md tabulates APFEL++'s parametrisations term by term (regular part as
Σ [c⁽⁰⁾ + n_f c⁽¹⁾] · term(y), terms y^i ln^j y and (1 − y)^m ln^k(1 − y)); the module
transcribes the C++ expressions of ``matchingfunctionspdf.cc``/``matchingfunctionsff.cc``.
The two are independent write-ups of the same functions: they must agree to rounding.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from sidislab.constants import CF
from sidislab.tmd import anomalous_dimensions as ad
from sidislab.tmd import nnlo_matching as nm

Y = np.array([1e-4, 1e-3, 0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.97, 0.99, 0.999])
SECTIONS = {
    ("pdf", "nsp"): "C2_NS+ (PDF)",
    ("pdf", "nsm"): "C2_NS- (PDF)",
    ("pdf", "ps"): "C2_PS (PDF)",
    ("pdf", "qg"): "C2_QG (PDF)",
    ("ff", "nsp"): "C2_NS+ (FF)",
    ("ff", "nsm"): "C2_NS- (FF)",
    ("ff", "ps"): "C2_PS (FF)",
    ("ff", "qg"): "C2_QG (FF)",
}


def _term(name: str, y: np.ndarray) -> np.ndarray:
    """A term of Appendix A: '1', 'x^2 L^3', '1/x L', 'L1^2', 'xb^3 L1' (x ≡ y)."""
    val = np.ones_like(y)
    for f in name.split():
        m = re.fullmatch(r"(1/x|x|xb|L|L1|1)(?:\^(\d))?", f)
        assert m, name
        base, p = m.group(1), int(m.group(2) or 1)
        v = {"1": 1.0, "1/x": 1 / y, "x": y, "xb": 1 - y, "L": np.log(y), "L1": np.log1p(-y)}
        val = val * v[base] ** p
    return val


@pytest.fixture(scope="module")
def tables(shared_dir) -> dict:
    text = (shared_dir / "physics.md").read_text(encoding="utf-8")
    out = {}
    for key, title in SECTIONS.items():
        start = text.index(f"#### {title}")
        end = text.find("####", start + 5)
        block = text[start : end if end > 0 else None]
        rows = re.findall(r"^\| ([^|]+?) \| ([-+0-9.e]+) \| ([-+0-9.e]+) \|$", block, re.M)
        out[key] = [(t.strip(), float(c0), float(c1)) for t, c0, c1 in rows if t.strip() != "term"]
        assert out[key], title
    return out


@pytest.mark.parametrize("key", list(SECTIONS), ids=["-".join(k) for k in SECTIONS])
@pytest.mark.parametrize("nf", [3, 4, 5])
def test_regular_parts_match_appendix_a(tables: dict, key, nf: int) -> None:
    want = sum((c0 + nf * c1) * _term(t, Y) for t, c0, c1 in tables[key])
    got = nm.REGULAR[key](Y, nf)
    assert np.allclose(got, want, rtol=1e-11, atol=1e-9 * np.abs(want).max())


@pytest.mark.parametrize("nf", [3, 4, 5])
def test_plus_and_delta_coefficients(nf: int) -> None:
    """A2 = C_F d10 (the two-loop CS constant, physics.md §5.3); A1 as in APFEL++."""
    assert nm.a2_ns(nf) == pytest.approx(CF * ad.kcs1(nf), rel=1e-14)
    assert nm.a2_ns(nf) == pytest.approx(14.926669450170854 + 5.530864197530864 * nf, rel=1e-13)
    assert nm.a1_ns(nf) == pytest.approx(-30.608535416484305 + 3.4489756184793317 * nf)
    assert {3: 31.519, 4: 37.050, 5: 42.581}[nf] == pytest.approx(nm.a2_ns(nf), abs=1e-3)


def test_small_y_behaviour() -> None:
    """The 1/y terms of the singlet kernels (physics.md App. A: 1/x coefficients)."""
    y = np.array([1e-14])
    assert (y * nm.c2_ps_pdf(y))[0] == pytest.approx(5.2903454011780449, rel=1e-6)
    assert (y * nm.c2_qg_pdf(y))[0] == pytest.approx(11.903277152650601, rel=1e-6)
    assert math.isfinite(float(nm.c2_nsp_ff(np.array([0.999999]), 5)[0]))
