"""YAML configuration of the MAP22 non-perturbative functions: schema, loading, validation.

A config fixes the model (``MAP22``), whether it is flavour dependent, the starting values
of all parameters and which of them are free in a fit. Files are read with
:func:`sidislab.yamlio.read_yaml` (safe; YAML 1.2 numbers; duplicate keys rejected); every violation raises :class:`sidislab.errors.ConfigError`
naming the file, the key and the allowed values.

Schema (the shipped ``map22_flavour_blind`` is the default; ``sidislab fnp list``)::

    model: MAP22                 # required; the only model so far
    flavour_dependent: false     # required bool
    description: free text       # optional
    g2: 0.1284                   # required parameter entry (GeV)
    pdf:                         # flavour-blind: a parameter set
      N1: 0.28516                #   entry = number (free) or {value: number, free: bool}
      alpha1: {value: 2.9755, free: false}
      ...                        #   all 11 PDF_PARAMETER_NAMES, or a list of 11 entries
    ff:                          # likewise with the 9 FF_PARAMETER_NAMES
      N3: 0.21012
      ...

With ``flavour_dependent: true``, ``pdf`` and ``ff`` are mappings from flavour-group keys
(``u``, ``ubar``, ``s+sbar``, ``sea``; see :mod:`sidislab.fnp.flavours`) to parameter sets,
chosen independently for PDF and FF; ``g2`` stays one shared entry. Numbers may be written
as YAML floats (``1e-3`` included) or as strings that Python's ``float`` reads; NaN and
±inf are rejected.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import sidislab.resources as resources
from sidislab.errors import ConfigError
from sidislab.fnp.flavours import ALL_GROUP, QUARK_NAMES, SEA, FlavourGroups
from sidislab.fnp.map22 import FF_PARAMETER_NAMES, PDF_PARAMETER_NAMES
from sidislab.io import atomic_write
from sidislab.yamlio import read_yaml

__all__ = [
    "DATA_DIR",
    "MODELS",
    "FNPConfig",
    "ParameterSet",
    "config_to_dict",
    "load_config",
    "parse_config",
    "resolve_config_path",
    "save_config",
]

DATA_DIR: Path = resources.folder("fnp")
"""The shipped fNP configs (``sidislab/resources/fnp``), searched for names that do not
exist as paths; ``sidislab fnp list`` shows them."""
MODELS: tuple[str, ...] = ("MAP22",)
"""Allowed values of the ``model`` key."""

_REQUIRED_KEYS = ("model", "flavour_dependent", "g2", "pdf", "ff")
_OPTIONAL_KEYS = ("description",)
_ENTRY_KEYS = ("value", "free")


@dataclass(frozen=True)
class ParameterSet:
    """Values and free flags of one parameter set, in the order of the model's names."""

    values: tuple[float, ...]
    free: tuple[bool, ...]


@dataclass(frozen=True)
class FNPConfig:
    """A validated fNP configuration.

    Attributes:
        flavour_dependent: one parameter set per flavour group (else one for all quarks).
        g2: the shared g2 (GeV) and whether it is free.
        pdf, ff: parameter sets by group key; a flavour-blind config has the single key
            :data:`sidislab.fnp.flavours.ALL_GROUP`.
        model: the model name (``MAP22``).
        source: where the config came from (file path or ``<mapping>``), for messages.
        description: free text.
    """

    flavour_dependent: bool
    g2: float
    g2_free: bool
    pdf: Mapping[str, ParameterSet]
    ff: Mapping[str, ParameterSet]
    model: str = "MAP22"
    source: str = "<mapping>"
    description: str = field(default="", compare=False)


def resolve_config_path(source: str | os.PathLike[str]) -> Path:
    """Find a config file: ``source`` as given, else a shipped config by name
    (``map22_flavour_blind``, with or without ``.yaml``; a checkout path such as
    ``data/fnp/map22_flavour_blind.yaml`` works from any folder), see
    :func:`sidislab.resources.resolve`.

    Raises:
        ConfigError: nothing matches; the message lists the shipped names.
    """
    try:
        return resources.resolve("fnp", source, error=ConfigError)
    except ConfigError as exc:
        shipped = ", ".join(resources.names("fnp"))
        raise ConfigError(
            f"{source}: fNP config file not found; tried {str(source)!r} and the shipped "
            f"configs ({shipped}; `sidislab fnp list`)"
            + (
                f"; did you mean {str(exc).split('did you mean ')[1]}"
                if "did you mean" in str(exc)
                else ""
            )
        ) from None


def load_config(source: str | os.PathLike[str] | Mapping[str, Any]) -> FNPConfig:
    """Load and validate an fNP config from a YAML file (path or name) or a mapping.

    Args:
        source: a path, a name under :data:`DATA_DIR` (``"map22_flavour_blind"``), or an
            already-parsed mapping.

    Returns:
        The validated :class:`FNPConfig`.

    Raises:
        ConfigError: unreadable or malformed YAML, or any schema violation (see the module
            docstring); the message names the file and the key.
    """
    if isinstance(source, Mapping):
        return parse_config(source, source="<mapping>")
    path = resolve_config_path(source)
    data = read_yaml(path, what="fNP config", error=ConfigError)
    return parse_config(data, source=str(path))


def parse_config(data: Any, *, source: str = "<mapping>") -> FNPConfig:
    """Validate a parsed config mapping (see the module docstring for the schema).

    Raises:
        ConfigError: naming ``source``, the key and the allowed values.
    """
    if data is None:
        raise ConfigError(f"{source}: empty fNP config; required keys: {list(_REQUIRED_KEYS)}")
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{source}: the fNP config must be a mapping with keys {list(_REQUIRED_KEYS)}, "
            f"got {type(data).__name__}"
        )
    allowed = [*_REQUIRED_KEYS, *_OPTIONAL_KEYS]
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{source}: unknown key '{key}'; allowed: {allowed}")
    for key in _REQUIRED_KEYS:
        if key not in data:
            raise ConfigError(f"{source}: missing key '{key}'; required: {list(_REQUIRED_KEYS)}")
    model = data["model"]
    if model not in MODELS:
        raise ConfigError(f"{source}: key 'model' = {model!r}; allowed: {list(MODELS)}")
    dependent = data["flavour_dependent"]
    if not isinstance(dependent, bool):
        raise ConfigError(
            f"{source}: key 'flavour_dependent' = {dependent!r}; allowed: [true, false]"
        )
    description = data.get("description", "")
    if description is None:
        description = ""
    if not isinstance(description, str):
        raise ConfigError(f"{source}: key 'description' must be a string, got {description!r}")
    g2, g2_free = _parse_entry(data["g2"], source, "g2")
    pdf = _parse_block(data["pdf"], PDF_PARAMETER_NAMES, dependent, source, "pdf")
    ff = _parse_block(data["ff"], FF_PARAMETER_NAMES, dependent, source, "ff")
    return FNPConfig(
        flavour_dependent=dependent,
        g2=g2,
        g2_free=g2_free,
        pdf=pdf,
        ff=ff,
        model=str(model),
        source=source,
        description=description,
    )


def _parse_number(value: Any, source: str, key: str) -> float:
    """A finite float from a YAML scalar (int, float or numeric string; never bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(
            f"{source}: key '{key}' = {value!r}: expected a finite number "
            "or a mapping {value: number, free: bool}"
        )
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(
            f"{source}: key '{key}' = {value!r}: not a number; expected a finite number"
        ) from None
    if not math.isfinite(number):
        raise ConfigError(
            f"{source}: key '{key}' = {value!r}: NaN/inf not allowed; expected a finite number"
        )
    return number


def _parse_entry(entry: Any, source: str, key: str) -> tuple[float, bool]:
    """One parameter entry: ``number`` (free) or ``{value: number, free: bool}``."""
    if isinstance(entry, Mapping):
        for k in entry:
            if k not in _ENTRY_KEYS:
                raise ConfigError(
                    f"{source}: key '{key}.{k}': unknown entry key; allowed: {list(_ENTRY_KEYS)}"
                )
        if "value" not in entry:
            raise ConfigError(
                f"{source}: key '{key}': missing 'value'; allowed keys: {list(_ENTRY_KEYS)}"
            )
        free = entry.get("free", True)
        if not isinstance(free, bool):
            raise ConfigError(f"{source}: key '{key}.free' = {free!r}; allowed: [true, false]")
        return _parse_number(entry["value"], source, f"{key}.value"), free
    return _parse_number(entry, source, key), True


def _parse_set(obj: Any, names: tuple[str, ...], source: str, key: str) -> ParameterSet:
    """A parameter set: mapping by parameter name, or a list in the order of ``names``."""
    if isinstance(obj, (list, tuple)):
        if len(obj) != len(names):
            raise ConfigError(
                f"{source}: key '{key}': expected {len(names)} parameters {list(names)}, "
                f"got {len(obj)}"
            )
        entries = [_parse_entry(e, source, f"{key}.{n}") for e, n in zip(obj, names)]
    elif isinstance(obj, Mapping):
        for name in obj:
            if name not in names:
                raise ConfigError(
                    f"{source}: key '{key}': unknown parameter '{name}'; allowed: {list(names)}"
                )
        missing = [n for n in names if n not in obj]
        if missing:
            raise ConfigError(
                f"{source}: key '{key}': expected {len(names)} parameters, got {len(obj)}; "
                f"missing {missing}; allowed: {list(names)}"
            )
        entries = [_parse_entry(obj[n], source, f"{key}.{n}") for n in names]
    else:
        raise ConfigError(
            f"{source}: key '{key}': expected a mapping of the parameters {list(names)} "
            f"or a list of {len(names)} entries, got {obj!r}"
        )
    return ParameterSet(values=tuple(v for v, _ in entries), free=tuple(f for _, f in entries))


def _parse_block(
    obj: Any, names: tuple[str, ...], dependent: bool, source: str, key: str
) -> dict[str, ParameterSet]:
    """The ``pdf`` or ``ff`` block: one set, or (flavour dependent) one set per group key."""
    if not dependent:
        return {ALL_GROUP: _parse_set(obj, names, source, key)}
    if not isinstance(obj, Mapping) or not obj:
        raise ConfigError(
            f"{source}: key '{key}': a flavour-dependent config maps flavour-group keys "
            f"(e.g. u, ubar, s+sbar, sea) to parameter sets, got {obj!r}"
        )
    keys = list(obj)
    for k in keys:
        if not isinstance(k, str):
            raise ConfigError(
                f"{source}: key '{key}': group key {k!r} is not a flavour name; allowed: "
                f"{[*QUARK_NAMES, SEA]} or '+'-joined quark names"
            )
    FlavourGroups(keys, where=f"{source}: key '{key}'")  # validates names and overlaps
    return {k: _parse_set(obj[k], names, source, f"{key}.{k}") for k in keys}


def config_to_dict(config: FNPConfig) -> dict[str, Any]:
    """The YAML-ready mapping of ``config`` (inverse of :func:`parse_config`).

    Free parameters are written as plain numbers, fixed ones as ``{value, free: false}``.
    """

    def entry(value: float, free: bool) -> Any:
        return float(value) if free else {"value": float(value), "free": False}

    def pset(ps: ParameterSet, names: tuple[str, ...]) -> dict[str, Any]:
        return {n: entry(v, f) for n, v, f in zip(names, ps.values, ps.free)}

    def block(sets: Mapping[str, ParameterSet], names: tuple[str, ...]) -> dict[str, Any]:
        if not config.flavour_dependent:
            return pset(sets[ALL_GROUP], names)
        return {k: pset(ps, names) for k, ps in sets.items()}

    out: dict[str, Any] = {"model": config.model, "flavour_dependent": config.flavour_dependent}
    if config.description:
        out["description"] = config.description
    out["g2"] = entry(config.g2, config.g2_free)
    out["pdf"] = block(config.pdf, PDF_PARAMETER_NAMES)
    out["ff"] = block(config.ff, FF_PARAMETER_NAMES)
    return out


def save_config(config: FNPConfig, path: str | os.PathLike[str]) -> Path:
    """Write ``config`` as YAML to ``path`` atomically (``sidislab.io.atomic_write``)."""
    dest = Path(path)
    with atomic_write(dest) as fh:
        yaml.safe_dump(config_to_dict(config), fh, sort_keys=False, allow_unicode=True)
    return dest
