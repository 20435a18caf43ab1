"""LHAPDF file reading and writing (sidislab.collinear.lhagrid) and its error messages.

Every malformed input must raise an error that names the file and the line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sidislab.collinear import list_sets, load_set
from sidislab.collinear.lhagrid import GridBlock, read_dat, read_info, write_dat, write_info
from sidislab.errors import GridFileError, SetNotFoundError

NAME = "tiny"
XS = (1e-3, 1e-2, 0.1, 1.0)
QS = (1.0, 2.0, 4.0)
PIDS = (-1, 2, 0)  # 0 is LHAPDF's alias of the gluon


def _rows() -> list[str]:
    rows = []
    for i, x in enumerate(XS):
        for j, _q in enumerate(QS):
            vals = [(k + 1) * (1 - x) ** 3 * (1 + 0.1 * j) * (1 + 0.01 * i) for k in range(3)]
            rows.append(" ".join(f"{v:.6e}" for v in vals))
    return rows


def dat_lines() -> list[str]:
    """A valid one-block member: header on lines 1–3, x knots line 4, Q line 5, pids line 6,
    data rows on lines 7–18, terminator line 19."""
    return [
        "PdfType: central",
        "Format: lhagrid1",
        "---",
        " ".join(f"{x:.6e}" for x in XS),
        " ".join(f"{q:.6e}" for q in QS),
        " ".join(str(p) for p in PIDS),
        *_rows(),
        "---",
    ]


INFO = """SetDesc: "tiny test set"
Format: lhagrid1
NumMembers: 1
Flavors: [-1, 2, 21]
QMin: 1.0
MCharm: 1.3
MBottom: 4.75
AlphaS_Qs: [1.0, 2.0, 4.0]
AlphaS_Vals: [0.4, 0.3, 0.25]
"""


def make_set(
    root: Path, lines: list[str] | None = None, info: str = INFO, name: str = NAME
) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.info").write_text(info)
    if lines is not None:
        (folder / f"{name}_0000.dat").write_text("\n".join(lines) + "\n")
    return folder


def test_valid_tiny_set_loads(tmp_path):
    make_set(tmp_path, dat_lines())
    s = load_set(NAME, paths=[tmp_path])
    assert s.flavours == (-1, 2, 21)
    assert s.thresholds == (0.0, 0.0, 0.0, 1.3, 4.75, 0.0)
    assert (s.xmin, s.xmax, s.qmin, s.qmax) == (1e-3, 1.0, 1.0, 4.0)
    assert s.xfxQ_pid(21, 0.01, 2.0) == pytest.approx(3 * 0.99**3 * 1.1 * 1.01, rel=1e-6)
    assert s.xfxQ_pid(0, 0.01, 2.0) == s.xfxQ_pid(21, 0.01, 2.0)
    np.testing.assert_array_equal(s.xfxQ_pid(3, [0.01, 0.1], 2.0), 0.0)  # absent flavour
    assert len(s.checksum) == 64


@pytest.mark.parametrize(
    "mutate,line,pattern",
    [
        (
            lambda ls: ls[:12],
            12,
            r"file ends inside the block starting on line 4 after 6 of 12 data rows",
        ),
        (
            lambda ls: [*ls[:12], ls[12][:20]],
            13,
            r"2 values in a data row but 3 flavours declared on line 6",
        ),
        (
            lambda ls: ls[:-1],
            18,
            r"file ends inside the block starting on line 4 after 12 of 12 data rows, without a closing '---' \(truncated file\?\)",
        ),
        (lambda ls: [*ls[:9], "1.0 2.0", *ls[10:]], 10, r"2 values in a data row but 3 flavours"),
        (
            lambda ls: [*ls[:9], "1.0 nan 2.0", *ls[10:]],
            10,
            r"value 'nan' for flavour 2 is not a finite number",
        ),
        (
            lambda ls: [*ls[:9], "1.0 abc 2.0", *ls[10:]],
            10,
            r"value 'abc' for flavour 2 is not a finite number",
        ),
        (
            lambda ls: [*ls[:9], "1.0 inf 2.0", *ls[10:]],
            10,
            r"value 'inf' for flavour 2 is not a finite number",
        ),
        (
            lambda ls: [*ls[:17], *ls[18:]],
            18,
            r"block starting on line 4 has 11 data rows but 4 x 3 = 12 expected",
        ),
        (lambda ls: [*ls[:18], "1 2 3", *ls[18:]], 19, r"more data rows than the 4 x 3 = 12 knots"),
        (
            lambda ls: [*ls[:3], "1e-3 1e-2 1e-2 1.0", *ls[4:]],
            4,
            r"x knots must be strictly increasing",
        ),
        (lambda ls: [*ls[:3], "1e-3 1e-2 0.1 1.5", *ls[4:]], 4, r"x knots must not exceed 1"),
        (lambda ls: [*ls[:4], "1.0 -2.0 4.0", *ls[5:]], 5, r"Q knots must be positive"),
        (lambda ls: [*ls[:4], "1.0 x 4.0", *ls[5:]], 5, r"Q knots: 'x' is not a number"),
        (lambda ls: [*ls[:5], "-1 2.5 21", *ls[6:]], 6, r"flavour ids must be integers"),
        (
            lambda ls: [*ls[:5], "-1 2 21 1", *ls[6:]],
            6,
            r"4 flavours declared but 3 expected from the \.info Flavors",
        ),
        (lambda ls: [*ls[:5], "-1 -1 21", *ls[6:]], 6, r"repeated flavour id"),
        (lambda ls: ls[:6], 6, r"file ends inside the block starting on line 4 after 0 of 12"),
        (
            lambda ls: ls[:5],
            5,
            r"block starting on line 4 ends before its flavour line \(truncated file\?\)",
        ),
        (lambda ls: [ls[0], ls[1]], 2, r"no '---' line closing the header"),
        (lambda ls: ls[:3], 3, r"no data block after the header"),
        (lambda ls: [*ls[:3], "---", *ls[3:]], 4, r"empty block"),
    ],
    ids=[
        "truncated-rows",
        "truncated-mid-line",
        "missing-terminator",
        "wrong-columns",
        "nan",
        "text",
        "inf",
        "too-few-rows",
        "too-many-rows",
        "x-not-increasing",
        "x-above-1",
        "q-negative",
        "q-text",
        "pid-float",
        "pid-count",
        "pid-repeated",
        "no-rows",
        "no-pid-line",
        "no-header-end",
        "no-block",
        "empty-block",
    ],
)
def test_malformed_dat_names_file_and_line(tmp_path, mutate, line, pattern):
    make_set(tmp_path, mutate(dat_lines()))
    with pytest.raises(GridFileError, match=rf"{NAME}_0000\.dat, line {line}: {pattern}"):
        load_set(NAME, paths=[tmp_path])


def test_second_block_checks(tmp_path):
    lines = dat_lines()
    block = lines[3:]
    # second block with other x knots (LHAPDF ≥ 6.4 requires the same ones): its line 20
    other_x = [" ".join(f"{x:.6e}" for x in (2e-3, 1e-2, 0.1, 1.0)), *block[1:]]
    make_set(tmp_path, [*lines, *other_x])
    with pytest.raises(
        GridFileError,
        match=rf"{NAME}_0000\.dat, line 20: x knots differ from those of the first block",
    ):
        load_set(NAME, paths=[tmp_path])
    # second block starting below the end of the first: its Q line 21
    lower_q = [block[0], "2.0 3.0 5.0", *block[2:]]
    make_set(tmp_path, [*lines, *lower_q])
    with pytest.raises(
        GridFileError, match=r"line 21: block starts at Q = 2 below the end of the previous block"
    ):
        load_set(NAME, paths=[tmp_path])
    # other flavour order in the second block: its pid line 22
    other_pids = [block[0], "4.0 8.0 16.0", "2 -1 0", *block[3:]]
    make_set(tmp_path, [*lines, *other_pids])
    with pytest.raises(
        GridFileError,
        match=r"line 22: flavour ids \(2, -1, 21\) differ from those of the first block",
    ):
        load_set(NAME, paths=[tmp_path])
    # a proper second block sharing the edge knot Q = 4 loads, with two blocks
    good = [block[0], "4.0 8.0 16.0", *block[2:]]
    make_set(tmp_path, [*lines, *good])
    s = load_set(NAME, paths=[tmp_path])
    assert s.n_blocks == 2 and s.qmax == 16.0


def test_comments_and_blank_lines_are_skipped(tmp_path):
    lines = dat_lines()
    make_set(
        tmp_path, [*lines[:3], "# a comment", "", *lines[3:9], "# mid-block comment", *lines[9:]]
    )
    s = load_set(NAME, paths=[tmp_path])
    make_set(tmp_path, lines, name="tiny_ref")
    ref = load_set("tiny_ref", paths=[tmp_path])
    np.testing.assert_array_equal(
        s.xfxQ([0.02, 0.5], [1.5, 3.0]), ref.xfxQ([0.02, 0.5], [1.5, 3.0])
    )


def test_flavours_disagreeing_with_info(tmp_path):
    lines = dat_lines()
    lines[5] = "-1 2 3"
    make_set(tmp_path, lines)
    with pytest.raises(
        GridFileError,
        match=r"tiny_0000\.dat, line 6: flavours \(-1, 2, 3\) differ from .*tiny\.info, line 4 Flavors",
    ):
        load_set(NAME, paths=[tmp_path])


@pytest.mark.parametrize(
    "info,pattern",
    [
        (INFO.replace("MCharm: 1.3", "MCharm: [1.3"), r"tiny\.info: line \d+: malformed YAML"),
        (
            INFO.replace("MCharm: 1.3", "MCharm: heavy"),
            r"tiny\.info, line 6: info key 'MCharm' must be a number",
        ),
        (
            INFO.replace("Flavors: [-1, 2, 21]", "Flavors: [-1, u, 21]"),
            r"tiny\.info, line 4: Flavors must be integers",
        ),
        (
            INFO.replace("Format: lhagrid1", "Format: lhagrid2"),
            r"tiny\.info, line 2: Format 'lhagrid2' is not supported",
        ),
        ("- just\n- a list\n", r"tiny\.info, line 1: info file is not a YAML mapping"),
    ],
    ids=["yaml-syntax", "number", "flavours", "format", "not-mapping"],
)
def test_malformed_info_names_file_and_line(tmp_path, info, pattern):
    make_set(tmp_path, dat_lines(), info=info)
    with pytest.raises(GridFileError, match=pattern):
        load_set(NAME, paths=[tmp_path])


def test_missing_member_and_unknown_set(tmp_path):
    make_set(tmp_path, dat_lines())
    with pytest.raises(
        GridFileError,
        match=r"tiny_0001\.dat: member 1 requested but .*tiny\.info, line 3 declares NumMembers = 1",
    ):
        load_set(NAME, member=1, paths=[tmp_path])
    make_set(tmp_path, None, info=INFO.replace("NumMembers: 1", "NumMembers: 3"), name="nodata")
    with pytest.raises(
        GridFileError, match=r"nodata_0002\.dat: member data file not found \(member 2 of nodata\)"
    ):
        load_set("nodata", member=2, paths=[tmp_path])
    with pytest.raises(
        SetNotFoundError,
        match=rf"LHAPDF set 'tiyn' not found .* in: {tmp_path}.*did you mean tiny\?",
    ):
        load_set("tiyn", paths=[tmp_path])
    with pytest.raises(SetNotFoundError, match=r"not an LHAPDF set folder"):
        load_set(str(tmp_path / "elsewhere" / "tiny"))
    with pytest.raises(ValueError, match=r"member must be an integer"):
        load_set(NAME, member=-1, paths=[tmp_path])


def test_paths_as_set_folder_and_list_sets(tmp_path):
    make_set(tmp_path, dat_lines())
    s = load_set(str(tmp_path / NAME))
    assert s.name == NAME and s.path == tmp_path / NAME
    found = list_sets([tmp_path])
    assert (NAME, tmp_path / NAME) in found


def test_writer_round_trip(tmp_path):
    xs = np.array([1e-4, 1e-3, 1e-2, 0.1, 0.5, 1.0])
    blocks = []
    for qs in ((1.0, 1.5, 2.0), (2.0, 5.0, 10.0, 20.0)):
        qa = np.array(qs)
        X, Q = np.meshgrid(xs, qa, indexing="ij")
        xf = np.stack([X ** (0.1 * k) * (1 - X) ** 3 * np.log(Q * 3) for k in range(4)], axis=-1)
        blocks.append(GridBlock(xs=xs, qs=qa, pids=(-2, 1, 2, 21), xf=-xf if len(blocks) else xf))
    info = {
        "SetDesc": "round trip, 'quoted' \"text\"",
        "Flavors": [-2, 1, 2, 21],
        "NumMembers": 1,
        "AlphaS_Qs": [1.0, 20.0],
        "AlphaS_Vals": [0.3, 0.15],
        "XMin": 1e-4,
        "ForcePositive": 0,
    }
    write_info(tmp_path / "rt" / "rt.info", info)
    write_dat(tmp_path / "rt" / "rt_0000.dat", blocks, digits=16)
    back = read_info(tmp_path / "rt" / "rt.info").data
    assert back == info
    dat = read_dat(tmp_path / "rt" / "rt_0000.dat", expected_nflav=4)
    assert len(dat.blocks) == 2 and dat.header["Format"] == "lhagrid1"
    for a, b in zip(dat.blocks, blocks):
        np.testing.assert_array_equal(a.xs, b.xs)
        np.testing.assert_array_equal(a.qs, b.qs)
        np.testing.assert_array_equal(a.xf, b.xf)
        assert a.pids == b.pids
    # no temporary file left behind by the atomic writer
    assert sorted(p.name for p in (tmp_path / "rt").iterdir()) == ["rt.info", "rt_0000.dat"]


def test_info_numbers_without_decimal_point_are_numbers(tmp_path):
    make_set(tmp_path, dat_lines(), info=INFO + "XMin: 1e-03\nAlphaS_MZ: 1.18E-1\n")
    s = load_set(NAME, paths=[tmp_path])
    assert s.info["XMin"] == 1e-3 and s.info["AlphaS_MZ"] == pytest.approx(0.118)


# --- validation of each member against its .info: cut, padded and corrupted copies -----------


def _embedded_copy(tmp_path: Path, name: str = "sidislab_toy_proton_nlo") -> tuple[Path, Path]:
    """A copy of an embedded set in tmp_path; returns (set folder, member .dat)."""
    import shutil

    from sidislab.collinear.discovery import find_set

    folder = shutil.copytree(find_set(name), tmp_path / name)
    return folder, folder / f"{name}_0000.dat"


def _separators(lines: list[str]) -> list[int]:
    return [i for i, s in enumerate(lines) if s.strip() == "---"]


@pytest.mark.parametrize("name", ["sidislab_toy_proton_nlo", "sidislab_toy_pip_nlo"])
@pytest.mark.parametrize("keep_blocks", [1, 2])
def test_dat_cut_at_a_subgrid_boundary_is_an_error(tmp_path, name, keep_blocks):
    """A .dat ending after a complete block is a valid file on its own; only the .info QMax
    shows that Q above the cut is missing (the grid would freeze there silently)."""
    _folder, dat = _embedded_copy(tmp_path, name)
    lines = dat.read_text().splitlines()
    cut = _separators(lines)[keep_blocks]  # header '---' is separator 0
    dat.write_text("\n".join(lines[: cut + 1]) + "\n")
    last_q = float(lines[_separators(lines)[keep_blocks - 1] + 2].split()[-1])
    with pytest.raises(GridFileError) as err:
        load_set(name, paths=[tmp_path])
    msg = str(err.value)
    assert f"{name}_0000.dat, line " in msg and f"last Q knot = {last_q:g}" in msg
    assert f"{name}.info, line 17 declares QMax = 150" in msg and "file cut short?" in msg


def test_info_range_and_flavours_must_match_the_grid(tmp_path):
    folder, _ = _embedded_copy(tmp_path)
    info = folder / "sidislab_toy_proton_nlo.info"
    text = info.read_text()
    cases = [
        ("QMax: 150", "QMax: 1000", r"last Q knot = 150 but .*line 17 declares QMax = 1000"),
        ("QMin: 1", "QMin: 2", r"first Q knot = 1 but .*line 16 declares QMin = 2"),
        ("XMin: 0.0001", "XMin: 1e-06", r"first x knot = 0.0001 but .*declares XMin = 1e-06"),
        ("NumFlavors: 5", "NumFlavors: 9", r"NumFlavors = 9 not in 0..6"),
    ]
    for old, new, pattern in cases:
        info.write_text(text.replace(old, new))
        with pytest.raises(GridFileError, match=pattern):
            load_set("sidislab_toy_proton_nlo", paths=[tmp_path])
    # rounded .info values (as JAM20 writes them: QMax 3.16e+02 for 316.228) pass
    info.write_text(text.replace("QMax: 150", "QMax: 1.5e+02").replace("QMin: 1", "QMin: 1.00"))
    assert load_set("sidislab_toy_proton_nlo", paths=[tmp_path]).qmax == 150.0


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        # padded: an extra data row in the last block
        (lambda ls, sep: [*ls[: sep[-1]], ls[sep[-1] - 1], *ls[sep[-1] :]], r"more data rows"),
        # padded: an extra value in one row
        (
            lambda ls, sep: [*ls[:10], ls[10] + " 0.0", *ls[11:]],
            r"line 11: 12 values in a data row but 11 flavours",
        ),
        # padded: a fourth block above the .info QMax
        (
            lambda ls, sep: (
                [
                    *ls,
                    ls[sep[2] + 1],
                    "150.0 300.0",
                    ls[sep[2] + 3],
                    *ls[sep[3] - 180 : sep[3]],
                    "---",
                ]
            ),
            r"last Q knot = 300 but .*declares QMax = 150",
        ),
        # truncated inside a block
        (lambda ls, sep: ls[: sep[2] - 7], r"file ends inside the block .* \(truncated file\?\)"),
        # corrupted values, knots and flavours
        (lambda ls, sep: [*ls[:20], ls[20].replace(ls[20].split()[3], "nan"), *ls[21:]], "line 21"),
        (
            lambda ls, sep: [*ls[:20], ls[20].replace(ls[20].split()[0], "1.0e+0x"), *ls[21:]],
            r"line 21: value '1.0e\+0x' .* not a finite number",
        ),
        (
            lambda ls, sep: [*ls[:4], " ".join(ls[4].split()[::-1]), *ls[5:]],
            r"line 5: Q knots must be strictly increasing",
        ),
        (
            lambda ls, sep: [*ls[:5], ls[5].replace("21", "22"), *ls[6:]],
            r"line 640: flavour ids .* differ from those of the first block",
        ),
        (lambda ls, sep: ls[:3], r"no data block after the header"),
    ],
    ids=[
        "padded-row",
        "padded-value",
        "padded-block",
        "truncated",
        "nan",
        "garbage",
        "q-order",
        "flavour",
        "empty",
    ],
)
def test_padded_truncated_and_corrupted_members(tmp_path, mutate, pattern):
    _, dat = _embedded_copy(tmp_path)
    lines = dat.read_text().splitlines()
    dat.write_text("\n".join(mutate(lines, _separators(lines))) + "\n")
    with pytest.raises(GridFileError, match=pattern) as err:
        load_set("sidislab_toy_proton_nlo", paths=[tmp_path])
    assert "sidislab_toy_proton_nlo" in str(err.value)


def test_real_sets_pass_the_info_checks(shared_lhapdf):
    """JAM20 rounds QMin/QMax to 3 digits in its .info: within the 1 % tolerance."""
    for name in ("JAM20-SIDIS_PDF_proton_nlo", "JAM20-SIDIS_FF_pion_nlo"):
        s = load_set(name, paths=[shared_lhapdf])
        assert s.qmax > 100
