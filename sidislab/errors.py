"""Exceptions raised by sidislab for bad input.

Every error names what was wrong, where (file, key or field) and, for kinematic data,
which point. They subclass ``ValueError`` so that callers may catch them generically.
"""

from __future__ import annotations


class SidislabError(Exception):
    """Base class of sidislab's own errors."""


class ConfigError(SidislabError, ValueError):
    """A configuration file or mapping is malformed or holds a forbidden value."""


class KinematicsError(SidislabError, ValueError):
    """Kinematic data are malformed or outside the physical region."""


class GridFileError(SidislabError, ValueError):
    """An LHAPDF-format file is malformed, truncated or missing."""


class SetNotFoundError(SidislabError, LookupError):
    """A PDF/FF set name could not be found on any search path."""


class ExtrapolationError(SidislabError, ValueError):
    """A value was requested outside a grid under the ``error`` extrapolation policy."""


class NotYetImplementedOrder(SidislabError, NotImplementedError):
    """A perturbative order that sidislab does not provide yet."""
