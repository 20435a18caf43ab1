"""sidislab.yamlio: YAML 1.2 scalars, unique string keys, file and line in every error."""

from __future__ import annotations

import math

import pytest

from sidislab.errors import ConfigError, DataError, SidislabError
from sidislab.yamlio import parse_yaml, read_yaml


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-10", 1e-10),  # YAML 1.1 (PyYAML) reads this as the string '1e-10'
        ("-2E+3", -2000.0),
        ("1.", 1.0),
        (".5", 0.5),
        ("+3", 3),
        ("010", 10),  # decimal in 1.2, octal 8 in 1.1
        ("0o17", 15),
        ("0x1F", 31),
        ("true", True),
        ("False", False),
        ("yes", "yes"),  # a boolean in 1.1, a string in 1.2
        ("off", "off"),
        ("~", None),
        ("null", None),
        ("2020-01-02", "2020-01-02"),  # no timestamps
        ("1_000", "1_000"),
        ("1:30", "1:30"),  # no sexagesimal numbers
        ("'1e-3'", "1e-3"),  # quoted stays a string
    ],
)
def test_core_schema_scalars(text, value):
    got = parse_yaml(f"k: {text}\n")["k"]
    assert got == value and type(got) is type(value)


def test_special_floats_and_nesting():
    doc = parse_yaml("a: .inf\nb: -.Inf\nc: .nan\nd: [1, 2.5, 3e2, {e: 4e-1}]\n")
    assert doc["a"] == math.inf and doc["b"] == -math.inf and math.isnan(doc["c"])
    assert doc["d"] == [1, 2.5, 300.0, {"e": 0.4}]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("a: 1\nb: 2\na: 3\n", r"f\.yaml: line 3: duplicate key 'a' \(first defined on line 1\)"),
        ("x:\n  tol: 1\n  h: 2\n  tol: 3\n", r"line 4: duplicate key 'tol' \(first .* line 2\)"),
        ("- {a: 1, a: 2}\n", r"line 1: duplicate key 'a'"),
        ("1.5: x\n", r"line 1: key 1.5 \(float\) is not a string.*quote it: '1.5'"),
        ("a:\n  3: x\n", r"line 2: key 3 \(int\) is not a string"),
        ("null: x\n", r"line 1: key None \(NoneType\) is not a string"),
        ("true: x\n", r"line 1: key True \(bool\) is not a string"),
        ("? [1, 2]\n: x\n", r"line 1: key \[1, 2\] \(list\) is not a string"),
        ("a: [1, 2\n", r"f\.yaml: line 2: malformed YAML"),
        ("a: !!python/object/apply:os.system ['true']\n", r"line 1: malformed YAML.*constructor"),
        ("a: 1\n---\nb: 2\n", r"malformed YAML"),  # one document only
    ],
)
def test_bad_documents_name_file_line_and_key(text, pattern):
    with pytest.raises(DataError, match=pattern):
        parse_yaml(text, "f.yaml")


def test_error_class_is_the_callers(tmp_path):
    with pytest.raises(ConfigError, match=r"c\.yaml: line 2: duplicate key 'a'"):
        parse_yaml("a: 1\na: 2\n", "c.yaml", error=ConfigError)
    assert issubclass(ConfigError, SidislabError) and issubclass(DataError, SidislabError)


def test_files_missing_folder_non_utf8_and_bom(tmp_path):
    with pytest.raises(DataError, match=r"nope\.yaml: kinematics file not found"):
        read_yaml(tmp_path / "nope.yaml", what="kinematics file")
    with pytest.raises(DataError, match=r": is a folder, expected a YAML file"):
        read_yaml(tmp_path)
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("a: 1\nlabel: 'Müller'\n".encode("latin-1"))
    with pytest.raises(
        DataError, match=r"latin1\.yaml: line 2: not UTF-8 text \(byte 0xfc at offset 14\)"
    ):
        read_yaml(latin)
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffa: 1e-3\n".encode())
    assert read_yaml(bom) == {"a": 1e-3}
