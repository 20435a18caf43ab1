"""Flavour groups of the non-perturbative functions: which parameter set each quark uses.

A flavour-blind fNP has one parameter set for every quark; a flavour-dependent one has one
set per flavour or flavour group (``physics.md`` §5, "Flavour-dependent variant"), chosen
separately for the TMD PDF and the TMD FF. A group is named by a key:

- a quark name from :data:`sidislab.constants.FLAVOUR_NAMES` (``u``, ``ubar``, ``d``, …);
- several quark names joined by ``+`` (``s+sbar``): one set shared by those flavours;
- ``sea``: every quark (±1..±6) not named by another key.

Flavours are PDG ids (1 d, 2 u, 3 s, 4 c, 5 b, 6 t; negative = antiquark). Gluons have no
quark fNP and are rejected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from sidislab.constants import FLAVOUR_IDS, FLAVOUR_NAMES
from sidislab.errors import ConfigError

__all__ = [
    "ALL_GROUP",
    "DEFAULT_FLAVOURS",
    "QUARK_IDS",
    "QUARK_NAMES",
    "SEA",
    "FlavourGroups",
    "check_flavours",
]

QUARK_IDS: tuple[int, ...] = (-6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6)
"""PDG ids of the quarks and antiquarks that can carry an fNP."""
QUARK_NAMES: tuple[str, ...] = tuple(FLAVOUR_NAMES[pid] for pid in QUARK_IDS)
"""Their names (``tbar`` … ``t``), the flavour names allowed in a group key."""
DEFAULT_FLAVOURS: tuple[int, ...] = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5)
"""Flavours evaluated by a flavour-dependent model when none are given (bbar … b)."""
SEA: str = "sea"
"""Group key covering every quark not named by another key."""
ALL_GROUP: str = "all"
"""Name of the single group of a flavour-blind model."""


def check_flavours(flavours: Iterable[int] | torch.Tensor) -> tuple[int, ...]:
    """Return ``flavours`` as a tuple of quark PDG ids, or raise ``ValueError``.

    Args:
        flavours: PDG ids (a sequence of ints or an integer tensor).

    Raises:
        ValueError: an id that is not a quark (±1..±6), naming it, its position and the
            allowed ids.
    """
    if isinstance(flavours, torch.Tensor):
        if flavours.dtype.is_floating_point or flavours.dtype.is_complex:
            raise ValueError(f"flavours: expected integer PDG ids, got dtype {flavours.dtype}")
        ids = tuple(int(v) for v in flavours.reshape(-1).tolist())
    else:
        ids = tuple(flavours)
    for i, pid in enumerate(ids):
        if isinstance(pid, bool) or not isinstance(pid, int) or pid not in QUARK_IDS:
            raise ValueError(
                f"flavours[{i}] = {pid!r} is not a quark PDG id; allowed: {list(QUARK_IDS)}"
            )
    if not ids:
        raise ValueError("flavours: empty; give at least one quark PDG id")
    return ids


class FlavourGroups:
    """Map quark PDG ids onto parameter-set indices, from the group keys of a config.

    Args:
        keys: group keys in parameter-set order (see the module docstring). An empty
            sequence is not allowed; ``(ALL_GROUP,)`` with ``blind=True`` gives the single
            group of a flavour-blind model.
        blind: a flavour-blind model: every quark uses group 0.
        where: location used in error messages (file and key, e.g. ``"x.yaml: pdf"``).

    Raises:
        ConfigError: an unknown flavour name, a name in two keys, an empty or malformed key.
    """

    def __init__(self, keys: Sequence[str], *, blind: bool = False, where: str = "groups"):
        self.keys: tuple[str, ...] = tuple(keys)
        self.blind = blind
        if blind:
            if len(self.keys) != 1:
                raise ConfigError(f"{where}: a flavour-blind model has one group, got {keys!r}")
            self._index = dict.fromkeys(QUARK_IDS, 0)
            return
        if not self.keys:
            raise ConfigError(
                f"{where}: no flavour groups; allowed keys: {[*QUARK_NAMES, SEA]} "
                "or '+'-joined quark names"
            )
        index: dict[int, int] = {}
        owner: dict[int, str] = {}
        sea_group: int | None = None
        for g, key in enumerate(self.keys):
            if key == SEA:
                sea_group = g
                continue
            for name in _split_key(key, where):
                pid = FLAVOUR_IDS[name]
                if pid in owner:
                    raise ConfigError(
                        f"{where}: flavour '{name}' appears in groups '{owner[pid]}' and "
                        f"'{key}'; each flavour may belong to one group"
                    )
                owner[pid] = key
                index[pid] = g
        if sea_group is not None:
            for pid in QUARK_IDS:
                index.setdefault(pid, sea_group)
        self._index = index
        self._cache: dict[tuple[tuple[int, ...], torch.device], torch.Tensor] = {}

    @property
    def n_groups(self) -> int:
        """Number of parameter sets."""
        return len(self.keys)

    def covered(self) -> tuple[int, ...]:
        """PDG ids that have a parameter set (all quarks when a ``sea`` group exists)."""
        return tuple(pid for pid in QUARK_IDS if pid in self._index)

    def group_of(self, pid: int) -> int:
        """Index of the parameter set of flavour ``pid``.

        Raises:
            ValueError: ``pid`` has no group (no key names it and there is no ``sea``).
        """
        try:
            return self._index[pid]
        except KeyError:
            name = FLAVOUR_NAMES.get(pid, str(pid))
            raise ValueError(
                f"flavour {pid} ({name}) has no parameter set: groups are {list(self.keys)} "
                f"(add it to a group or add a '{SEA}' group); covered: {list(self.covered())}"
            ) from None

    def indices(self, flavours: tuple[int, ...], device: torch.device) -> torch.Tensor:
        """Parameter-set indices of ``flavours`` (validated PDG ids) as a long tensor [F]."""
        key = (flavours, device)
        if self.blind:
            return torch.zeros(1, dtype=torch.long, device=device)
        cached = self._cache.get(key)
        if cached is None:
            cached = torch.tensor(
                [self.group_of(pid) for pid in flavours], dtype=torch.long, device=device
            )
            self._cache[key] = cached
        return cached

    def __repr__(self) -> str:
        return f"FlavourGroups({list(self.keys)!r}, blind={self.blind})"


def _split_key(key: str, where: str) -> list[str]:
    """Split a group key ``"s+sbar"`` into quark names, validating each."""
    if not isinstance(key, str):
        raise ConfigError(f"{where}: group key {key!r} is not a string")
    names = [n.strip() for n in key.split("+")]
    allowed = [*QUARK_NAMES, SEA]
    for name in names:
        if name == SEA:
            raise ConfigError(
                f"{where}: key '{key}': '{SEA}' cannot be combined with other flavours"
            )
        if name not in QUARK_NAMES:
            raise ConfigError(
                f"{where}: key '{key}': unknown flavour '{name}'; allowed: {allowed} "
                "or '+'-joined quark names"
            )
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: key '{key}' names a flavour twice")
    return names
