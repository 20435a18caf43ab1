"""Reading YAML documents strictly: YAML 1.2 scalars, unique string keys, errors that name
the file and the line.

PyYAML implements YAML 1.1, under which ``1e-10`` is a *string* (its float pattern needs a
decimal point), ``yes``/``no``/``on``/``off`` are booleans, ``010`` is octal and a repeated
key silently replaces the earlier one. Every YAML file sidislab reads (configurations,
kinematics, fNP configurations, LHAPDF ``.info`` files and ``.dat`` headers, measurement
tables) goes through :func:`read_yaml` or :func:`parse_yaml`, which

* resolve plain scalars with the YAML 1.2 core schema (https://yaml.org/spec/1.2.2/,
  §10.3.2): ``null``/``~``/empty, ``true``/``false``, decimal, ``0o`` octal and ``0x``
  hexadecimal integers, floats with or without a decimal point (``1e-10``, ``.5``,
  ``.inf``, ``.nan``); everything else is a string (no timestamps, no sexagesimal numbers,
  no merge keys);
* reject a key that appears twice in one mapping (naming the key and both lines);
* reject keys that are not strings (``1.5: x``, ``null: x``; quote them);
* name the file for unreadable, non-UTF-8 or malformed input.

Only safe construction is done (``yaml.SafeLoader`` underneath): no Python objects.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar

import yaml

from sidislab.errors import DataError, SidislabError

__all__ = ["YAML12Loader", "parse_yaml", "read_text", "read_yaml"]

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class _KeyProblem(yaml.constructor.ConstructorError):
    """A duplicate or non-string key (reported without the "malformed YAML" prefix)."""


class YAML12Loader(yaml.SafeLoader):
    """A safe loader with the YAML 1.2 core schema, unique keys and string keys only."""

    yaml_implicit_resolvers: ClassVar[dict] = {}

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        text = str(self.construct_scalar(node))
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text, 10)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        text = str(self.construct_scalar(node)).lower()
        if text.endswith(".inf"):
            return float("-inf") if text.startswith("-") else float("inf")
        if text == ".nan":
            return float("nan")
        return float(text)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark
            )
        first: dict[str, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                hint = (
                    f" (quote it: '{key_node.value}')"
                    if isinstance(key_node, yaml.ScalarNode)
                    else ""
                )
                raise _KeyProblem(
                    None,
                    None,
                    f"key {key!r} ({type(key).__name__}) is not a string; keys must be "
                    f"strings{hint}",
                    key_node.start_mark,
                )
            if key in first:
                raise _KeyProblem(
                    None,
                    None,
                    f"duplicate key {key!r} (first defined on line {first[key]})",
                    key_node.start_mark,
                )
            first[key] = line
        return super().construct_mapping(node, deep=deep)


for _tag, _regex, _first in (
    ("null", _NULL, ["~", "n", "N", ""]),
    ("bool", _BOOL, list("tTfF")),
    ("int", _INT, list("-+0123456789")),
    ("float", _FLOAT, list("-+0123456789.")),
):
    YAML12Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", _regex, _first)
YAML12Loader.add_constructor("tag:yaml.org,2002:int", YAML12Loader.construct_yaml_int)
YAML12Loader.add_constructor("tag:yaml.org,2002:float", YAML12Loader.construct_yaml_float)
YAML12Loader.add_constructor("tag:yaml.org,2002:map", YAML12Loader.construct_yaml_map)


def parse_yaml(
    text: str,
    source: str = "<string>",
    *,
    error: type[SidislabError] = DataError,
    first_line: int = 1,
) -> Any:
    """Parse one YAML document from ``text``; ``source`` names it in error messages.

    Raises ``error`` (a :class:`~sidislab.errors.SidislabError` subclass, by default
    :class:`~sidislab.errors.DataError`) as ``"SOURCE: line N: problem"``. ``first_line``
    is the file line of the text's first line (for YAML embedded in a larger file).
    """
    try:
        return yaml.load(text, Loader=YAML12Loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}: line {mark.line + first_line}" if mark is not None else source
        problem = exc.problem or ""
        if exc.context and exc.context not in problem:
            problem = f"{exc.context}: {problem}"
        if not isinstance(exc, _KeyProblem):
            problem = f"malformed YAML: {problem}"
        raise error(f"{where}: {problem}") from None
    except yaml.YAMLError as exc:  # e.g. a reader error (a control character)
        raise error(f"{source}: malformed YAML: {exc}") from None
    except RecursionError:
        raise error(f"{source}: YAML nested too deeply") from None


def read_text(
    path: str | os.PathLike[str],
    *,
    what: str = "file",
    error: type[SidislabError] = DataError,
) -> str:
    """The UTF-8 text of ``path``; a missing, unreadable or non-UTF-8 file raises ``error``
    naming the path, ``what`` the file is (``"configuration file"``) and, for bad bytes,
    the line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, expected a {what}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise error(
            f"{path}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
            f"{exc.start}); save the {what} as UTF-8"
        ) from None


def read_yaml(
    path: str | os.PathLike[str],
    *,
    what: str = "YAML file",
    error: type[SidislabError] = DataError,
) -> Any:
    """Read and parse a UTF-8 YAML file (see :func:`parse_yaml`, :func:`read_text`)."""
    text = read_text(path, what=what, error=error)
    return parse_yaml(text, str(Path(path)), error=error)
